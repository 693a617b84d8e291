//! Signing in and out, and who is signed in.

use crate::error::AppError;
use crate::model::Me;
use leptos::prelude::*;

/// The signed-in user.
#[server]
pub async fn get_me() -> Result<Me, AppError> {
    let user = crate::server_fns::with_status(crate::auth::require_caller())?.user;
    Ok(Me {
        name: user.name,
        display_name: user.display_name,
    })
}

/// Checks the password, sets the session cookie and goes to `next` (a local path) or home.
#[server]
pub async fn login(name: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use crate::{auth, state::AppState};
    use http::{header::SET_COOKIE, HeaderValue};

    let state = expect_context::<AppState>();
    let address = client_address();
    let user_agent = use_context::<http::request::Parts>()
        .and_then(|parts| {
            let agent = parts.headers.get(http::header::USER_AGENT)?;
            agent.to_str().ok().map(str::to_owned)
        })
        .unwrap_or_default();
    let attempt = auth::SignIn {
        name: name.trim(),
        password: &password,
        address: &address,
        user_agent: &user_agent,
    };
    let (_, secret) = match auth::login(&state.db, attempt).await {
        Ok(found) => found,
        Err(error) => {
            if let AppError::Throttled(wait_s) = &error {
                let options = expect_context::<leptos_axum::ResponseOptions>();
                options.insert_header(http::header::RETRY_AFTER, HeaderValue::from(*wait_s));
            }
            // A plain form post (no JavaScript) cannot show the error: send the browser back
            // to the form, which reads `failed` (and `wait`) from its URL.
            if crate::server_fns::is_plain_form_post() {
                let mut to = "/login?failed=1".to_owned();
                if let AppError::Throttled(wait_s) = &error {
                    to.push_str(&format!("&wait={wait_s}"));
                }
                if let Some(next) = &next {
                    to.push_str(&format!("&next={}", crate::url::encode_component(next)));
                }
                leptos_axum::redirect(&to);
                return Err(error);
            }
            return crate::server_fns::with_status(Err(error));
        }
    };
    let cookie = auth::session_cookie(Some(&secret), state.runs.secure_cookies());
    let cookie = HeaderValue::from_str(&cookie).map_err(|_| AppError::Internal)?;
    expect_context::<leptos_axum::ResponseOptions>().insert_header(SET_COOKIE, cookie);
    leptos_axum::redirect(&safe_next(next.as_deref()));
    Ok(())
}

/// Ends the session at once and goes to the login page.
#[server]
pub async fn logout() -> Result<(), AppError> {
    use crate::{auth, db, state::AppState};
    use http::{header::SET_COOKIE, HeaderValue};

    let state = expect_context::<AppState>();
    let parts = expect_context::<http::request::Parts>();
    if let Some(secret) = auth::session_secret(&parts.headers) {
        db::sessions::delete(&state.db, &auth::hash_secret(secret)).await?;
    }
    let cookie = auth::session_cookie(None, state.runs.secure_cookies());
    let cookie = HeaderValue::from_str(&cookie).map_err(|_| AppError::Internal)?;
    expect_context::<leptos_axum::ResponseOptions>().insert_header(SET_COOKIE, cookie);
    leptos_axum::redirect("/login");
    Ok(())
}

/// The peer address of the current request, which sign-in throttling counts by. Behind a
/// proxy every client shares the proxy's address (and its, more generous, limit).
#[cfg(feature = "ssr")]
fn client_address() -> String {
    use_context::<http::request::Parts>()
        .and_then(|parts| {
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|info| info.0.ip().to_string())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// `next` if it is a path on this site, else `/`: a login link must not send people elsewhere.
/// Browsers drop tabs and newlines from URLs and read a backslash as `/`, so `/\t/evil.example`
/// would become `//evil.example`: any control character, space or backslash refuses it.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path
                    .chars()
                    .any(|c| c.is_control() || c.is_whitespace() || c == '\\') =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn login_redirects_only_to_local_paths() {
        assert_eq!(safe_next(Some("/u/ann?sort=name")), "/u/ann?sort=name");
        let bad = [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "u/ann",
            "/\t/evil.example",
            "/\n/evil.example",
            "/ /evil.example",
            "/\u{85}/evil.example",
        ];
        for bad in bad {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
