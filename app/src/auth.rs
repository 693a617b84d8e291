//! Sign-in: password hashing, API tokens, session cookies and finding the caller of a request.

use crate::db::{self, users::User, Db};
use crate::error::AppError;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::{engine::general_purpose::STANDARD, Engine};
use http::header::{AUTHORIZATION, COOKIE};
use http::HeaderMap;
use sha2::{Digest, Sha256};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "millrace_session";
/// How long a browser session lasts.
pub const SESSION_DAYS: i64 = 30;

/// The user a request was made by; the auth middleware puts it in the request's extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrentUser(pub User);

/// The argon2id hash (PHC string, salt included) of a password.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters accepts any password")
        .to_string()
}

/// Whether `password` matches a hash made by [`hash_password`].
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

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

/// Checks a name and password; on success opens a session and returns its cookie secret.
pub async fn login(db: &Db, name: &str, password: &str) -> Result<(User, String), AppError> {
    let found = db::users::with_password_hash(db, name).await?;
    let Some((user, hash)) = found.filter(|(_, hash)| verify_password(password, hash)) else {
        // Same answer for an unknown user and a wrong password: names are not revealed.
        return Err(AppError::Invalid("wrong user name or password".into()));
    };
    drop(hash);
    let secret = new_secret();
    let expires = db::now_ms() + SESSION_DAYS * 24 * 3600 * 1000;
    db::sessions::insert(db, &hash_secret(&secret), user.id, expires).await?;
    db::sessions::purge_expired(db).await?;
    Ok((user, secret))
}

/// The `Set-Cookie` value that stores a session secret (or, with `None`, removes it).
pub fn session_cookie(secret: Option<&str>) -> String {
    match secret {
        Some(secret) => format!(
            "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}",
            SESSION_DAYS * 24 * 3600
        ),
        None => format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    }
}

/// The session secret in a request's cookies, if any.
pub fn session_secret(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
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
    use http::HeaderValue;

    #[test]
    fn passwords_verify_only_against_their_own_salted_hash() {
        let hash = hash_password("correct horse");
        assert!(hash.starts_with("$argon2id$"));
        assert!(!hash.contains("correct horse"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("Correct horse", &hash));
        assert_ne!(
            hash,
            hash_password("correct horse"),
            "each hash has its own salt"
        );
        assert!(!verify_password("x", "not a hash"));
    }

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
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            COOKIE,
            HeaderValue::from_static("theme=dark; millrace_session=mr_1"),
        );
        assert_eq!(session_secret(&headers), Some("mr_1"));
        assert!(session_cookie(Some("s")).contains("HttpOnly; SameSite=Lax"));
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
