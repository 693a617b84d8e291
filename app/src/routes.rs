//! The route tree, nothing else.

use crate::pages::{home::Home, login::Login, not_found::NotFound};
use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

/// Every URL of the app.
#[component]
pub fn AppRoutes() -> impl IntoView {
    view! {
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/") view=Home/>
                <Route path=path!("/login") view=Login/>
            </Routes>
        </Router>
    }
}
