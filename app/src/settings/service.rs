//! The settings feature's logic on the server: the signed-in person's tokens and sessions,
//! listed, made, revoked and ended.

use crate::auth::{self, access::session_only, require_caller, Caller};
use crate::db;
use crate::error::AppError;
use crate::model::{CredentialsPage, NewToken, SessionRow, TokenRow, TokenScope};
use crate::settings::tokens::{MAX_TOKEN_DAYS, SETTINGS_PATH};
use crate::state::AppState;
use http::header::SET_COOKIE;
use http::HeaderValue;
use leptos::prelude::{expect_context, use_context};

/// Carries a new token's secret from a form post made without JavaScript to the page it
/// returns to: HttpOnly, for this page only, gone after a minute or the first showing.
const NEW_TOKEN_COOKIE: &str = "millrace_new_token";

/// The caller, when they came with a browser session.
fn session_caller() -> Result<Caller, AppError> {
    let caller = require_caller()?;
    session_only(&caller)?;
    Ok(caller)
}

/// The caller's tokens and sessions, and a new token's secret if a form post just made one.
pub async fn page() -> Result<CredentialsPage, AppError> {
    let caller = session_caller()?;
    let state = expect_context::<AppState>();
    let parts = use_context::<http::request::Parts>();
    let response = use_context::<leptos_axum::ResponseOptions>();
    let current = parts
        .as_ref()
        .and_then(|parts| auth::session_secret(&parts.headers))
        .map(auth::hash_secret);
    let tokens = db::tokens::list(&state.db, caller.user.id)
        .await?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            scope: t.scope.parse().unwrap_or(TokenScope::Read),
            name: t.name,
            created_ms: t.created_ms,
            expires_ms: t.expires_ms,
            revoked_ms: t.revoked_ms,
        })
        .collect();
    let sessions = db::sessions::list(&state.db, caller.user.id, auth::IDLE_MS)
        .await?
        .into_iter()
        .map(|s| SessionRow {
            current: current.as_deref() == Some(s.token_hash.as_str()),
            id: s.token_hash,
            user_agent: s.user_agent,
            address: s.address,
            created_ms: s.created_ms,
            last_seen_ms: s.last_seen_ms,
        })
        .collect();
    let new_secret = parts
        .as_ref()
        .and_then(|parts| auth::session::cookie(&parts.headers, NEW_TOKEN_COOKIE))
        .filter(|secret| !secret.is_empty())
        .map(str::to_owned);
    // Shown once: the cookie goes with this answer (it lasts a minute anyway).
    if let (Some(_), Some(response)) = (&new_secret, &response) {
        set_new_token_cookie(&state, response, None)?;
    }
    Ok(CredentialsPage {
        tokens,
        sessions,
        new_secret,
    })
}

/// A new token of the caller's: `name` (1 to 100 characters), `scope`, good for `days`.
pub async fn create(name: &str, scope: TokenScope, days: u32) -> Result<NewToken, AppError> {
    let caller = session_caller()?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::Invalid(
            "a token's name has 1 to 100 characters".into(),
        ));
    }
    if !(1..=MAX_TOKEN_DAYS).contains(&days) {
        return Err(AppError::Invalid(format!(
            "a token works for 1 to {MAX_TOKEN_DAYS} days"
        )));
    }
    let state = expect_context::<AppState>();
    let expires = db::now_ms() + i64::from(days) * 86_400_000;
    let (id, secret) =
        auth::create_token(&state.db, caller.user.id, name, scope, Some(expires)).await?;
    if crate::server_fns::is_plain_form_post() {
        let response = expect_context::<leptos_axum::ResponseOptions>();
        set_new_token_cookie(&state, &response, Some(&secret))?;
        leptos_axum::redirect(SETTINGS_PATH);
    }
    Ok(NewToken { id, secret })
}

/// Revokes the caller's own token `id`.
pub async fn revoke(id: i64) -> Result<(), AppError> {
    let caller = session_caller()?;
    let state = expect_context::<AppState>();
    if !db::tokens::revoke(&state.db, caller.user.id, id).await? {
        return Err(AppError::NotFound);
    }
    back_to_the_page();
    Ok(())
}

/// Ends the caller's own browser session `id` (signs that browser out).
pub async fn end_session(id: &str) -> Result<(), AppError> {
    let caller = session_caller()?;
    let state = expect_context::<AppState>();
    if !db::sessions::end_for_user(&state.db, caller.user.id, id).await? {
        return Err(AppError::NotFound);
    }
    back_to_the_page();
    Ok(())
}

/// Without JavaScript, a form post returns to the settings page, which shows the change.
fn back_to_the_page() {
    if crate::server_fns::is_plain_form_post() {
        leptos_axum::redirect(SETTINGS_PATH);
    }
}

/// Sets (or, with `None`, removes) the cookie that carries a new token's secret. Both contexts
/// come from the caller, read before its first await: a page's data loads while the page
/// streams, where the request's context is no longer at hand.
fn set_new_token_cookie(
    state: &AppState,
    response: &leptos_axum::ResponseOptions,
    secret: Option<&str>,
) -> Result<(), AppError> {
    let secure = if state.runs.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    let value = format!(
        "{NEW_TOKEN_COOKIE}={}; Path={SETTINGS_PATH}; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        secret.unwrap_or_default(),
        if secret.is_some() { 60 } else { 0 },
    );
    let value = HeaderValue::from_str(&value).map_err(|_| AppError::Internal)?;
    response.append_header(SET_COOKIE, value);
    Ok(())
}
