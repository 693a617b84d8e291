//! The sign-in page.

use crate::session::server_fns::Login as LoginFn;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// Name and password form; on success the server sets the session cookie and redirects.
#[component]
pub fn Login() -> impl IntoView {
    let login = ServerAction::<LoginFn>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    // Without JavaScript a failed login comes back as `?failed=1` (and `&wait=S` when
    // throttled); with it, as the action's value.
    let failed_before = move || {
        let query = query.read();
        query.get("failed")?;
        Some(
            match query.get("wait").and_then(|s| s.parse::<u64>().ok()) {
                Some(wait_s) => crate::error::AppError::Throttled(wait_s).to_string(),
                None => "wrong user name or password".to_owned(),
            },
        )
    };
    let error = move || match login.value().get() {
        Some(Err(e)) => Some(e.to_string()),
        Some(Ok(())) => None,
        None => failed_before(),
    };

    view! {
        <main class="login">
            <h1>"millrace"</h1>
            <ActionForm action=login attr:aria-label="Sign in">
                <label>"User name" <input type="text" name="name" autocomplete="username" required/></label>
                <label>
                    "Password"
                    <input type="password" name="password" autocomplete="current-password" required/>
                </label>
                <input type="hidden" name="next" value=next/>
                <button type="submit">"Sign in"</button>
                <p class="form-error" role="alert">{error}</p>
            </ActionForm>
        </main>
    }
}
