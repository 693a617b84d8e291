//! Validators for JSON reads: a GET answered with JSON carries an ETag of its body, and a
//! client that sends the tag back in `If-None-Match` gets `304 Not Modified` without the body,
//! so a script polling an unchanged job or sweep moves a few hundred bytes instead of the
//! whole answer. The handler still runs (access rules and freshness are its own); what is
//! saved is the network.

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::Body as _;
use sha2::{Digest, Sha256};

/// Bodies larger than this go out untagged: hashing them would mean holding them whole.
const MAX_TAGGED: u64 = 8 * 1024 * 1024;

/// Tags JSON answers to GET and HEAD, and answers 304 when the client's tag still matches.
pub async fn etag(request: Request, next: Next) -> Response {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let known = request.headers().get(IF_NONE_MATCH).cloned();
    let response = next.run(request).await;
    if !taggable(&response) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_TAGGED as usize).await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::warn!(%error, "reading a JSON answer to tag it");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let tag = tag_of(&bytes);
    // Private: these answers depend on who asks. no-cache: a copy may be kept but must be
    // checked with the tag before each use.
    parts
        .headers
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("private, no-cache"));
    parts.headers.insert(ETAG, tag.clone());
    if known.is_some_and(|known| matches(&known, &tag)) {
        let mut headers = HeaderMap::new();
        for name in [ETAG, CACHE_CONTROL, axum::http::header::VARY] {
            if let Some(value) = parts.headers.get(&name) {
                headers.insert(name, value.clone());
            }
        }
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// A successful JSON answer of known, bounded size that has no validator of its own.
fn taggable(response: &Response) -> bool {
    let json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            let essence = crate::middleware::media_type(value);
            essence == "application/json" || essence.ends_with("+json")
        });
    response.status() == StatusCode::OK
        && json
        && !response.headers().contains_key(ETAG)
        && response
            .body()
            .size_hint()
            .exact()
            .is_some_and(|size| size <= MAX_TAGGED)
}

/// A strong tag of `bytes`: 128 bits of their SHA-256, so no two answers share one by chance.
fn tag_of(bytes: &[u8]) -> HeaderValue {
    let digest = Sha256::digest(bytes);
    let hex: String = digest[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    HeaderValue::from_str(&format!("\"{hex}\"")).expect("hex is a valid header value")
}

/// `If-None-Match` compares weakly (RFC 9110 13.1.2): the compressed answer's `W/` tag names
/// the same content as the strong one.
fn matches(if_none_match: &HeaderValue, tag: &HeaderValue) -> bool {
    let Ok(list) = if_none_match.to_str() else {
        return false;
    };
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let ours = opaque(tag.to_str().unwrap_or_default());
    list.split(',')
        .any(|candidate| candidate.trim() == "*" || opaque(candidate) == ours)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_match_weakly_in_a_list_and_the_star_matches_any() {
        let tag = tag_of(b"{\"a\":1}");
        let text = tag.to_str().unwrap().to_owned();
        let header = |s: &str| HeaderValue::from_str(s).unwrap();
        assert!(matches(&header(&text), &tag));
        assert!(matches(&header(&format!("W/{text}")), &tag));
        assert!(matches(&header(&format!("\"other\", W/{text}")), &tag));
        assert!(matches(&header("*"), &tag));
        assert!(!matches(&header("\"other\""), &tag));
        assert!(!matches(&header(""), &tag));
    }

    #[test]
    fn different_bodies_have_different_tags_and_equal_ones_the_same() {
        assert_eq!(tag_of(b"[1,2]"), tag_of(b"[1,2]"));
        assert_ne!(tag_of(b"[1,2]"), tag_of(b"[1,3]"));
    }
}
