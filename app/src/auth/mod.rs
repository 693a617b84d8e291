//! Sign-in: API tokens, browser sessions (in [`session`]), finding the caller of a request, and
//! what each caller may do (in [`access`]).

pub mod access;
pub mod session;

pub use session::{
    hash_password, login, session_cookie, session_secret, verify_password, SignIn, IDLE_MS,
    SESSION_COOKIE, SESSION_DAYS,
};

use crate::db::tokens::TokenKind;
use crate::db::{self, users::User, Db};
use crate::error::AppError;
use crate::model::TokenScope;
use base64::{engine::general_purpose::STANDARD, Engine};
use http::header::AUTHORIZATION;
use http::HeaderMap;
use sha2::{Digest, Sha256};

/// Who made a request and with what credential; the auth middleware puts it in the request's
/// extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The user the request acts as.
    pub user: User,
    /// What the credential allows.
    pub grant: Grant,
}

/// The credential a request came with, which bounds what its user may do through it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grant {
    /// A browser session: whatever the user may do.
    Session,
    /// One of the user's API tokens.
    Token {
        /// Its database id.
        id: i64,
        /// Read only, or read and write.
        scope: TokenScope,
    },
    /// A job's token: reads the job's project, writes the job and the runs it creates.
    Job {
        /// The token's database id (runs it creates remember it).
        token: i64,
        /// The job's database id.
        job: i64,
        /// Its project's database id.
        project: i64,
    },
}

impl Caller {
    /// Whether the caller acts with an admin's powers: an admin's session or token, never a
    /// job's token (a job acts for itself, whoever started it).
    pub fn is_admin(&self) -> bool {
        self.user.is_admin() && !matches!(self.grant, Grant::Job { .. })
    }

    /// The job token's id, when a job is calling.
    pub fn job_token(&self) -> Option<i64> {
        match self.grant {
            Grant::Job { token, .. } => Some(token),
            _ => None,
        }
    }
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

/// Creates an API token for `user` with `scope`, ending at `expires_ms` if given; the secret is
/// returned once and only its hash is kept.
pub async fn create_token(
    db: &Db,
    user: i64,
    name: &str,
    scope: TokenScope,
    expires_ms: Option<i64>,
) -> sqlx::Result<(i64, String)> {
    let secret = new_secret();
    let id = db::tokens::insert(db, user, name, &hash_secret(&secret), scope, expires_ms).await?;
    Ok((id, secret))
}

/// The caller of a request: a Bearer token, Basic auth with a user name and a token (what
/// MLflow clients send), or a session cookie. `None` when none is present and valid.
pub async fn caller_from_headers(db: &Db, headers: &HeaderMap) -> sqlx::Result<Option<Caller>> {
    let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    if let Some(token) = authorization.and_then(|v| v.strip_prefix("Bearer ")) {
        return token_caller(db, token.trim(), None).await;
    }
    if let Some(encoded) = authorization.and_then(|v| v.strip_prefix("Basic ")) {
        let Some((name, token)) = decode_basic(encoded.trim()) else {
            return Ok(None);
        };
        return token_caller(db, &token, Some(&name)).await;
    }
    let Some(secret) = session_secret(headers) else {
        return Ok(None);
    };
    let hash = hash_secret(secret);
    let Some((user, last_seen_ms)) = db::sessions::user_for_hash(db, &hash, IDLE_MS).await? else {
        return Ok(None);
    };
    // Written at most once a minute per session, so page loads do not each cost a write.
    if db::now_ms() - last_seen_ms > 60_000 {
        db::sessions::touch(db, &hash).await?;
    }
    Ok(Some(Caller {
        user,
        grant: Grant::Session,
    }))
}

/// The caller behind an API token, if it is live (and belongs to `name`, when one is given).
async fn token_caller(db: &Db, secret: &str, name: Option<&str>) -> sqlx::Result<Option<Caller>> {
    let Some(token) = db::tokens::live(db, &hash_secret(secret)).await? else {
        return Ok(None);
    };
    if name.is_some_and(|name| name != token.user.name) {
        return Ok(None);
    }
    let grant = match token.kind {
        TokenKind::User(scope) => Grant::Token {
            id: token.id,
            scope,
        },
        TokenKind::Job { job, project } => Grant::Job {
            token: token.id,
            job,
            project,
        },
    };
    Ok(Some(Caller {
        user: token.user,
        grant,
    }))
}

fn decode_basic(encoded: &str) -> Option<(String, String)> {
    let text = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
    let (name, token) = text.split_once(':')?;
    Some((name.to_owned(), token.to_owned()))
}

/// The caller of the current request, for server functions and SSR.
pub fn current_caller() -> Option<Caller> {
    leptos::prelude::use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Caller>().cloned())
}

/// Like [`current_caller`], but an error when nobody is signed in.
pub fn require_caller() -> Result<Caller, AppError> {
    current_caller().ok_or(AppError::Unauthorized)
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
