//! The route tree, nothing else.

use crate::components::not_found::NotFound;
use crate::home::pane::HomePane;
use crate::job::pane::JobPane;
use crate::miller::page::{Browser, JobsLevel, ProjectsLevel};
use crate::project::pane::ProjectPane;
use crate::session::login::Login;
use crate::split::{NewProject, Runners, Tokens};
use leptos::prelude::*;
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{path, SsrMode};

/// Every URL of the app. Pages stream in order: each Suspense's data is written where it
/// belongs before what follows it, so the page is complete without JavaScript too.
#[component]
pub fn AppRoutes() -> impl IntoView {
    view! {
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/login") view=Login/>
                <Route path=path!("/runners") view=Runners ssr=SsrMode::InOrder/>
                // In order, as every page whose code is split off: out of order, a page without
                // JavaScript would show only the fallback that the script never replaces.
                <Route path=path!("/projects/new") view=NewProject ssr=SsrMode::InOrder/>
                // Async: the page may clear the cookie that carried a new token's secret, and
                // headers go out only once its data is read.
                <Route path=path!("/settings/tokens") view=Tokens ssr=SsrMode::Async/>
                <ParentRoute path=path!("") view=Browser ssr=SsrMode::InOrder>
                    <Route path=path!("") view=HomePane/>
                    <ParentRoute path=path!("u/:user") view=ProjectsLevel>
                        <Route path=path!("") view=|| ()/>
                        <ParentRoute path=path!("p/:project") view=JobsLevel>
                            <Route path=path!("") view=ProjectPane/>
                            <Route path=path!("j/:job") view=JobPane/>
                        </ParentRoute>
                    </ParentRoute>
                </ParentRoute>
            </Routes>
        </Router>
    }
}
