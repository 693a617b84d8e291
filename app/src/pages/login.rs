//! The sign-in page.

use crate::server_fns::session::Login as LoginFn;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// Name and password form; on success the server sets the session cookie and redirects.
#[component]
pub fn Login() -> impl IntoView {
    let login = ServerAction::<LoginFn>::new();
    let next = move || use_query_map().read().get("next").unwrap_or_default();
    let error = move || {
        login
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.to_string())
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
