//! Sign-in: API tokens, browser sessions (in [`session`]) and finding the caller of a request.

pub mod session;

pub use session::{
    hash_password, login, session_cookie, session_secret, verify_password, SESSION_COOKIE,
    SESSION_DAYS,
};

use crate::db::{self, users::User, Db};
use crate::error::AppError;
use base64::{engine::general_purpose::STANDARD, Engine};
use http::header::AUTHORIZATION;
use http::HeaderMap;
use sha2::{Digest, Sha256};

/// The user a request was made by; the auth middleware puts it in the request's extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrentUser(pub User);

/// A new 256-bit secret for a token or session, as `mr_` and 64 hex characters.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("mr_{hex}")
}

/// What is stored for a secret: its SHA-256, hex. Secrets are random, so no salt or slow hash
/// is needed, and a lookup by hash stays one index probe.
pub fn hash_secret(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Creates an API token for `user`; the secret is returned once and only its hash is kept.
pub async fn create_token(db: &Db, user: i64, name: &str) -> sqlx::Result<(i64, String)> {
    let secret = new_secret();
    let id = db::tokens::insert(db, user, name, &hash_secret(&secret)).await?;
    Ok((id, secret))
}

/// The user behind a request: a Bearer token, Basic auth with a user name and a token (what
/// MLflow clients send), or a session cookie. `None` when none is present and valid.
pub async fn user_from_headers(db: &Db, headers: &HeaderMap) -> sqlx::Result<Option<User>> {
    let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    if let Some(token) = authorization.and_then(|v| v.strip_prefix("Bearer ")) {
        return db::tokens::user_for_hash(db, &hash_secret(token.trim())).await;
    }
    if let Some(encoded) = authorization.and_then(|v| v.strip_prefix("Basic ")) {
        let Some((name, token)) = decode_basic(encoded.trim()) else {
            return Ok(None);
        };
        let user = db::tokens::user_for_hash(db, &hash_secret(&token)).await?;
        return Ok(user.filter(|u| u.name == name));
    }
    match session_secret(headers) {
        Some(secret) => db::sessions::user_for_hash(db, &hash_secret(secret)).await,
        None => Ok(None),
    }
}

fn decode_basic(encoded: &str) -> Option<(String, String)> {
    let text = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
    let (name, token) = text.split_once(':')?;
    Some((name.to_owned(), token.to_owned()))
}

/// The signed-in user of the current request, for server functions and SSR.
pub fn current_user() -> Option<User> {
    leptos::prelude::use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<CurrentUser>().map(|c| c.0.clone()))
}

/// Like [`current_user`], but an error when nobody is signed in.
pub fn require_user() -> Result<User, AppError> {
    current_user().ok_or(AppError::Unauthorized)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_stored_as_sha256() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!(a.len(), 3 + 64);
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn basic_auth_carries_a_name_and_a_token() {
        assert_eq!(
            decode_basic(&STANDARD.encode("ann:mr_x")),
            Some(("ann".into(), "mr_x".into()))
        );
        assert_eq!(decode_basic("!!"), None);
    }
}
