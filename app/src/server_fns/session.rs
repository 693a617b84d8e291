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
    let (_, secret) = match auth::login(&state.db, name.trim(), &password).await {
        Ok(found) => found,
        Err(error) => {
            // A plain form post (no JavaScript) cannot show the error: send the browser back
            // to the form, which reads `failed` from its URL.
            if is_plain_form_post() {
                let next = next
                    .as_deref()
                    .map(|n| format!("&next={}", crate::url::encode_component(n)))
                    .unwrap_or_default();
                leptos_axum::redirect(&format!("/login?failed=1{next}"));
                return Err(error);
            }
            return crate::server_fns::with_status(Err(error));
        }
    };
    let cookie = HeaderValue::from_str(&auth::session_cookie(Some(&secret)))
        .map_err(|_| AppError::Internal)?;
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
    let cookie =
        HeaderValue::from_str(&auth::session_cookie(None)).map_err(|_| AppError::Internal)?;
    expect_context::<leptos_axum::ResponseOptions>().insert_header(SET_COOKIE, cookie);
    leptos_axum::redirect("/login");
    Ok(())
}

/// Whether the current request is a browser's own form submission rather than the app's fetch.
#[cfg(feature = "ssr")]
fn is_plain_form_post() -> bool {
    use_context::<http::request::Parts>()
        .and_then(|parts| {
            parts
                .headers
                .get(http::header::ACCEPT)?
                .to_str()
                .ok()
                .map(|a| a.contains("text/html"))
        })
        .unwrap_or(false)
}

/// `next` if it is a path on this site, else `/`: a login link must not send people elsewhere.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
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
        for bad in ["//evil.example", "https://evil.example", "/\\evil", "u/ann"] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
