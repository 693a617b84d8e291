//! The page for URLs that lead nowhere.

use leptos::prelude::*;

/// A real 404: the status is set during server rendering, and there is a way back.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <main class="not-found">
            <h1>"Not found"</h1>
            <p>"Nothing lives at this address."</p>
            <a href="/">"Back to the start"</a>
        </main>
    }
}
