//! Bytes on the wire: pages and JSON compressed by `Accept-Encoding`, event streams left alone,
//! the site's files sent as their build-time `.br`/`.gz` twins and cached by hashed name.

use crate::helpers::TestApp;
use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use std::io::Read;
use tower::ServiceExt;

/// Sends `request` and returns status, headers and the raw (still encoded) body.
async fn raw(router: &axum::Router, request: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
    let response = router.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes().to_vec();
    (parts.status, parts.headers, bytes)
}

fn get(path: &str, accept_encoding: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path);
    if let Some(value) = accept_encoding {
        request = request.header(header::ACCEPT_ENCODING, value);
    }
    request.body(Body::empty()).unwrap()
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(bytes, 4096)
        .read_to_end(&mut out)
        .expect("valid brotli");
    out
}

fn ungzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

fn encoding(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn pages_are_compressed_as_the_browser_allows_and_say_they_vary() {
    let app = TestApp::new().await;
    let (status, headers, plain) = raw(&app.router, get("/login", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(encoding(&headers), None, "no Accept-Encoding, no encoding");
    assert!(String::from_utf8_lossy(&plain).contains("<html"));

    let (_, headers, br) = raw(&app.router, get("/login", Some("gzip, deflate, br"))).await;
    assert_eq!(encoding(&headers), Some("br"));
    assert_eq!(headers[header::VARY], "accept-encoding");
    assert!(headers.get(header::CONTENT_LENGTH).is_none());
    // The same page, decoded (each answer has its own script nonce, of the same length).
    let page = String::from_utf8(unbrotli(&br)).unwrap();
    assert_eq!(page.len(), plain.len());
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("aria-label=\"Sign in\""));
    assert!(
        br.len() * 2 < plain.len(),
        "{} of {} bytes",
        br.len(),
        plain.len()
    );

    let (_, headers, gz) = raw(&app.router, get("/login", Some("gzip"))).await;
    assert_eq!(encoding(&headers), Some("gzip"));
    assert_eq!(ungzip(&gz).len(), plain.len());

    let head = Request::head("/login")
        .header(header::ACCEPT_ENCODING, "br")
        .body(Body::empty())
        .unwrap();
    let (_, headers, _) = raw(&app.router, head).await;
    assert_eq!(encoding(&headers), None, "HEAD has no body to encode");
}

#[tokio::test]
async fn json_is_compressed_and_event_streams_are_not() {
    let app = TestApp::new().await;
    let ann = app.user_id("ann").await;
    for n in 0..6 {
        let name = format!("wire-{n}");
        app::db::projects::create(&app.db, ann, &name, "", false)
            .await
            .unwrap();
    }
    let (_, token) = app.token().await;
    let bearer = format!("Bearer {token}");
    let request = |path: &str| {
        Request::get(path)
            .header(header::AUTHORIZATION, &bearer)
            .header(header::ACCEPT_ENCODING, "br")
            .body(Body::empty())
            .unwrap()
    };
    let (status, headers, br) = raw(&app.router, request("/api/v1/users/ann/projects")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(encoding(&headers), Some("br"));
    let page: serde_json::Value = serde_json::from_slice(&unbrotli(&br)).unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 6, "{page}");

    let response = app
        .router
        .clone()
        .oneshot(request("/api/v1/events?project=ann/wire-0"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/event-stream"
    );
    assert_eq!(
        encoding(response.headers()),
        None,
        "each event must reach the browser when it happens, not wait in an encoder"
    );
}

#[tokio::test]
async fn site_files_come_precompressed_and_hashed_names_are_cached_for_a_year() {
    let app = TestApp::new().await;
    let site = tempfile::tempdir().unwrap();
    let pkg = site.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    let wasm = b"\0asm pretend module ".repeat(100);
    std::fs::write(pkg.join("millrace.abc123.wasm"), &wasm).unwrap();
    // A twin that differs from what compressing on the fly would give: proof it was sent.
    let mut twin = brotli::CompressorWriter::new(Vec::new(), 4096, 11, 22);
    std::io::Write::write_all(&mut twin, &wasm).unwrap();
    let twin = twin.into_inner();
    std::fs::write(pkg.join("millrace.abc123.wasm.br"), &twin).unwrap();
    std::fs::write(
        pkg.join("millrace.abc123.js"),
        "export default 1;\n".repeat(50),
    )
    .unwrap();

    let mut state = app.state.clone();
    state.leptos_options.site_root = site.path().to_string_lossy().as_ref().into();
    state.leptos_options.hash_files = true;
    let router = server::startup::router(state.clone(), server::monitoring::Monitor::new(None));

    let (status, headers, body) =
        raw(&router, get("/pkg/millrace.abc123.wasm", Some("gzip, br"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(encoding(&headers), Some("br"));
    assert_eq!(body, twin, "the build-time twin, not a fresh compression");
    let vary: Vec<_> = headers.get_all(header::VARY).iter().collect();
    assert_eq!(
        vary,
        ["accept-encoding"],
        "a shared cache must not give br to others"
    );
    assert_eq!(
        headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );

    let (_, headers, body) = raw(&router, get("/pkg/millrace.abc123.wasm", None)).await;
    assert_eq!(encoding(&headers), None);
    assert_eq!(body, wasm);

    let (_, headers, body) = raw(&router, get("/pkg/millrace.abc123.js", Some("gzip"))).await;
    assert_eq!(
        encoding(&headers),
        Some("gzip"),
        "no twin: compressed on the way"
    );
    assert_eq!(headers.get_all(header::VARY).iter().count(), 1, "said once");
    assert_eq!(ungzip(&body), "export default 1;\n".repeat(50).as_bytes());

    let (status, headers, _) = raw(&router, get("/pkg/missing.js", Some("br"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        headers.get(header::CACHE_CONTROL).is_none(),
        "a miss is not kept"
    );

    state.leptos_options.hash_files = false;
    let unhashed = server::startup::router(state, server::monitoring::Monitor::new(None));
    let (_, headers, _) = raw(&unhashed, get("/pkg/millrace.abc123.js", None)).await;
    assert_eq!(
        headers[header::CACHE_CONTROL],
        "no-cache",
        "a name that stays must be checked each time"
    );
    assert!(headers.contains_key(header::LAST_MODIFIED));
}
