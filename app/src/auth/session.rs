//! Browser sessions: passwords, signing in, and the session cookie.

use super::{hash_secret, new_secret};
use crate::db::{self, users::User, Db};
use crate::error::AppError;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use http::header::COOKIE;
use http::HeaderMap;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "millrace_session";
/// How long a browser session lasts.
pub const SESSION_DAYS: i64 = 30;

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
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            COOKIE,
            HeaderValue::from_static("theme=dark; millrace_session=mr_1"),
        );
        assert_eq!(session_secret(&headers), Some("mr_1"));
        assert!(session_cookie(Some("s")).contains("HttpOnly; SameSite=Lax"));
    }
}
