//! The route tree, nothing else.

use crate::pages::{home::Home, login::Login, not_found::NotFound};
use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

/// Every URL of the app. Pages stream in order: each Suspense's data is written where it
/// belongs before what follows it, so the page is complete without JavaScript too.
#[component]
pub fn AppRoutes() -> impl IntoView {
    view! {
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/") view=Home ssr=SsrMode::InOrder/>
                <Route path=path!("/login") view=Login/>
            </Routes>
        </Router>
    }
}
