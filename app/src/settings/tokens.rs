//! The signed-in person's own credentials, for the settings page: API tokens (list, create,
//! revoke) and browser sessions (list, end). Only from a browser session: a token may not mint
//! or revoke tokens. Changes are form posts, so the page works without JavaScript too.

use crate::error::AppError;
use crate::model::{CredentialsPage, NewToken, TokenScope};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// Longest a token made in the web app may live, in days (a token without an end is made with
/// `millrace token create` on the server).
pub const MAX_TOKEN_DAYS: u32 = 366;

/// Where the settings page lives.
pub const SETTINGS_PATH: &str = "/settings/tokens";

/// The signed-in user's tokens and sessions.
#[server(input = Json, endpoint = "get_credentials")]
pub async fn get_credentials() -> Result<CredentialsPage, AppError> {
    crate::server_fns::with_status(super::service::page().await)
}

/// Creates a token called `name` with `scope` that works for `days` days; its secret is in the
/// answer (or, for a form posted without JavaScript, on the page it returns to) and nowhere else.
#[server(endpoint = "create_token")]
pub async fn create_token(
    name: String,
    scope: TokenScope,
    days: u32,
) -> Result<NewToken, AppError> {
    crate::server_fns::with_status(super::service::create(&name, scope, days).await)
}

/// Revokes the signed-in user's token `id` at once.
#[server(endpoint = "revoke_token")]
pub async fn revoke_token(id: i64) -> Result<(), AppError> {
    crate::server_fns::with_status(super::service::revoke(id).await)
}

/// Ends the signed-in user's session `id` (another browser of theirs) at once.
#[server(endpoint = "end_session")]
pub async fn end_session(id: String) -> Result<(), AppError> {
    crate::server_fns::with_status(super::service::end_session(&id).await)
}
