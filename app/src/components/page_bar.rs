//! The top bar of the pages outside the Miller view: the way back to the projects and to the
//! other pages.

use leptos::prelude::*;

/// The top bar of the runners, tokens and new-project pages.
#[component]
pub fn PageBar() -> impl IntoView {
    view! {
        <header class="top-bar">
            <a class="brand" href="/">"millrace"</a>
            <a class="nav" href="/">"Projects"</a>
            <a class="nav" href="/runners">"Runners"</a>
            <a class="nav" href="/settings/tokens">"Tokens"</a>
        </header>
    }
}
