//! How a failed load is shown.

use leptos::prelude::*;

/// The messages of the errors an `ErrorBoundary` caught.
#[component]
pub fn ErrorNotice(
    /// The caught errors.
    errors: ArcRwSignal<Errors>,
) -> impl IntoView {
    let messages = move || {
        errors
            .get()
            .into_iter()
            .map(|(_, e)| view! { <li>{e.to_string()}</li> })
            .collect_view()
    };
    view! {
        <div class="error-notice" role="alert">
            <ul>{messages}</ul>
        </div>
    }
}
