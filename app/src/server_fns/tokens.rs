//! The signed-in person's own API tokens: list, create, revoke. Only from a browser session:
//! a token may not mint or revoke tokens.

use crate::error::AppError;
use crate::model::{NewToken, TokenRow, TokenScope};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// Longest a token made in the web app may live, in days (a token without an end is made with
/// `millrace token create` on the server).
pub const MAX_TOKEN_DAYS: u32 = 366;

/// The signed-in user's tokens, newest first.
#[server(input = Json, endpoint = "list_tokens")]
pub async fn list_tokens() -> Result<Vec<TokenRow>, AppError> {
    crate::server_fns::with_status(ssr::list().await)
}

/// Creates a token called `name` with `scope` that works for `days` days; its secret is in the
/// answer and nowhere else.
#[server(input = Json, endpoint = "create_token")]
pub async fn create_token(
    name: String,
    scope: TokenScope,
    days: u32,
) -> Result<NewToken, AppError> {
    crate::server_fns::with_status(ssr::create(&name, scope, days).await)
}

/// Revokes the signed-in user's token `id` at once.
#[server(input = Json, endpoint = "revoke_token")]
pub async fn revoke_token(id: i64) -> Result<(), AppError> {
    crate::server_fns::with_status(ssr::revoke(id).await)
}

/// What the token server functions do, beside the data they serve.
#[cfg(feature = "ssr")]
mod ssr {
    use super::MAX_TOKEN_DAYS;
    use crate::auth::{access::session_only, require_caller};
    use crate::db;
    use crate::error::AppError;
    use crate::model::{NewToken, TokenRow, TokenScope};
    use crate::state::AppState;
    use leptos::prelude::expect_context;

    pub async fn list() -> Result<Vec<TokenRow>, AppError> {
        let caller = require_caller()?;
        session_only(&caller)?;
        let state = expect_context::<AppState>();
        Ok(db::tokens::list(&state.db, caller.user.id)
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
            .collect())
    }

    pub async fn create(name: &str, scope: TokenScope, days: u32) -> Result<NewToken, AppError> {
        let caller = require_caller()?;
        session_only(&caller)?;
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
            crate::auth::create_token(&state.db, caller.user.id, name, scope, Some(expires))
                .await?;
        Ok(NewToken { id, secret })
    }

    pub async fn revoke(id: i64) -> Result<(), AppError> {
        let caller = require_caller()?;
        session_only(&caller)?;
        let state = expect_context::<AppState>();
        if !db::tokens::revoke(&state.db, caller.user.id, id).await? {
            return Err(AppError::NotFound);
        }
        Ok(())
    }
}
