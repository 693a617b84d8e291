//! A request id for every request: taken from the caller's `X-Request-Id` when it is a sane
//! one (a proxy in front may have assigned it), else made here. It names the span every log
//! line of the request is in, comes back in the `X-Request-Id` header, and is in every error
//! answer of the REST API, so a user's report can be matched with the server's log.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The header that carries the id both ways.
pub static HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Longest id taken from a caller.
const MAX_LENGTH: usize = 64;

tokio::task_local! {
    static CURRENT: String;
}

/// Gives `request` its id, runs it inside a `request` span naming it, and returns the id in
/// the answer.
pub async fn assign(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| acceptable(id))
        .map_or_else(new_id, str::to_owned);
    // At error level, so it is on whatever the filter lets through: a warning logged with the
    // filter at `warn` still names its request.
    let span = tracing::error_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    let mut response = CURRENT
        .scope(id.clone(), next.run(request).instrument(span))
        .await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER.clone(), value);
    }
    response
}

/// The id of the request being answered, inside [`assign`].
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Whether a caller's id may be used as given: short, and only characters that need no
/// quoting in a header or a log line.
fn acceptable(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LENGTH
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn new_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callers_id_is_kept_only_when_it_is_short_and_plain() {
        assert!(acceptable("4bf92f3577b34da6-a3ce929d0e0e4736"));
        assert!(acceptable("req_1.2"));
        for bad in ["", "a b", "x\ny", "ünï", "a\"b", &"x".repeat(65)] {
            assert!(!acceptable(bad), "{bad:?}");
        }
        assert_eq!(new_id().len(), 16);
        assert_ne!(new_id(), new_id());
    }
}
