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
use std::sync::LazyLock;
use tokio::sync::Semaphore;

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

/// A session ends after this long without a request, whatever its age.
pub const IDLE_MS: i64 = 7 * 24 * 3600 * 1000;
/// Failed sign-ins are counted over this window.
const THROTTLE_WINDOW_MS: i64 = 15 * 60 * 1000;
/// Failures in the window after which an account name takes no more tries.
const FAILURES_PER_ACCOUNT: i64 = 5;
/// Failures in the window after which an address takes no more tries: more than one
/// account's worth, for offices behind one address.
const FAILURES_PER_ADDRESS: i64 = 20;

/// One sign-in attempt: what was typed and where it came from.
#[derive(Debug, Clone, Copy)]
pub struct SignIn<'a> {
    /// The user name, as typed.
    pub name: &'a str,
    /// The password, as typed.
    pub password: &'a str,
    /// The client's address (`unknown` when the server cannot tell).
    pub address: &'a str,
    /// The browser's `User-Agent`, kept with the session so its owner can recognise it.
    pub user_agent: &'a str,
}

/// Checks a name and password; on success opens a session and returns its cookie secret.
/// Too many recent failures for the name or the address refuse the attempt unchecked.
pub async fn login(db: &Db, attempt: SignIn<'_>) -> Result<(User, String), AppError> {
    let now = db::now_ms();
    // Long names would only fill the table: what is kept is enough to tell real names apart.
    let account: String = attempt.name.chars().take(200).collect();
    check_throttle(db, &account, attempt.address, now).await?;
    let found = db::users::with_password_hash(db, attempt.name).await?;
    let (user, hash) = found.map_or((None, None), |(user, hash)| (Some(user), Some(hash)));
    // An unknown name is checked against a stand-in hash, so it takes as long as a wrong
    // password and timing does not tell which names exist.
    let matches = verify_off_workers(attempt.password.to_owned(), hash).await;
    let Some(user) = user.filter(|_| matches) else {
        db::sign_ins::record(db, &account, attempt.address, now, now - THROTTLE_WINDOW_MS).await?;
        // Same answer for an unknown user and a wrong password: names are not revealed.
        return Err(AppError::Invalid("wrong user name or password".into()));
    };
    db::sign_ins::forget_account(db, &account).await?;
    let secret = new_secret();
    let expires = now + SESSION_DAYS * 24 * 3600 * 1000;
    let from = db::sessions::Origin {
        user_agent: attempt.user_agent,
        address: attempt.address,
    };
    db::sessions::insert(db, &hash_secret(&secret), user.id, expires, &from).await?;
    db::sessions::purge_expired(db).await?;
    Ok((user, secret))
}

/// Refuses an attempt while the account name or the address has used up its failures.
async fn check_throttle(db: &Db, account: &str, address: &str, now: i64) -> Result<(), AppError> {
    let since = now - THROTTLE_WINDOW_MS;
    let limits = [
        (db::sign_ins::Key::Account(account), FAILURES_PER_ACCOUNT),
        (db::sign_ins::Key::Address(address), FAILURES_PER_ADDRESS),
    ];
    for (key, limit) in limits {
        let failures = db::sign_ins::since(db, key, since).await?;
        if failures.count >= limit {
            let wait_ms = (failures.oldest_ms + THROTTLE_WINDOW_MS - now).max(1_000);
            let wait_s = u64::try_from((wait_ms + 999) / 1_000).unwrap_or(1);
            return Err(AppError::Throttled(wait_s));
        }
    }
    Ok(())
}

/// Verifies a password on the blocking pool, a few at a time: argon2 takes tens of
/// milliseconds of CPU and 19 MiB each, which on the async workers would stall every other
/// request. `None` checks against a stand-in hash and answers false.
async fn verify_off_workers(password: String, hash: Option<String>) -> bool {
    static HASHING: LazyLock<Semaphore> = LazyLock::new(|| {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Semaphore::new((cores / 2).max(1))
    });
    static STAND_IN: LazyLock<String> = LazyLock::new(|| hash_password("no such user"));
    let Ok(_permit) = HASHING.acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || match hash {
        Some(hash) => verify_password(&password, &hash),
        None => {
            verify_password(&password, &STAND_IN);
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// The `Set-Cookie` value that stores a session secret (or, with `None`, removes it); `secure`
/// (a site served over https) keeps browsers from ever sending it unencrypted.
pub fn session_cookie(secret: Option<&str>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match secret {
        Some(secret) => format!(
            "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            SESSION_DAYS * 24 * 3600
        ),
        None => format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    }
}

/// The session secret in a request's cookies, if any.
pub fn session_secret(headers: &HeaderMap) -> Option<&str> {
    cookie(headers, SESSION_COOKIE)
}

/// The value of the cookie called `name` in a request, if any.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(found, _)| *found == name)
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
        assert!(session_cookie(Some("s"), false).contains("HttpOnly; SameSite=Lax"));
        assert!(!session_cookie(Some("s"), false).contains("Secure"));
        assert!(session_cookie(Some("s"), true).ends_with("; Secure"));
        assert!(session_cookie(None, true).ends_with("; Secure"));
    }
}
