//! Validators: JSON reads carry an ETag, a client sending it back gets 304 until the answer
//! changes, and nothing else is tagged.

use crate::helpers::TestApp;
use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};

/// `GET path` as `token`, with `If-None-Match: tag` when given.
async fn read(
    app: &TestApp,
    token: &str,
    path: &str,
    tag: Option<&str>,
) -> (StatusCode, HeaderMap, String) {
    let mut request = Request::get(path).header(header::AUTHORIZATION, format!("Bearer {token}"));
    if let Some(tag) = tag {
        request = request.header(header::IF_NONE_MATCH, tag);
    }
    app.send(request.body(Body::empty()).unwrap()).await
}

async fn post(
    app: &TestApp,
    token: &str,
    path: &str,
    body: &str,
) -> (StatusCode, HeaderMap, String) {
    let request = Request::post(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    app.send(request).await
}

fn tag(headers: &HeaderMap) -> String {
    headers
        .get(header::ETAG)
        .expect("an ETag")
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_polled_job_answers_304_until_it_changes() {
    let app = TestApp::new().await;
    let (_, token) = app.token().await;
    let (status, _, _) = post(&app, &token, "/api/v1/projects", r#"{"name": "xray"}"#).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, headers, created) = post(
        &app,
        &token,
        "/api/v1/projects/ann/xray/jobs",
        r#"{"name": "resnet"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(headers.get(header::ETAG).is_none(), "writes are not tagged");
    let uid = serde_json::from_str::<serde_json::Value>(&created).unwrap()["uid"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/jobs/{uid}");

    let (status, headers, body) = read(&app, &token, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    let first = tag(&headers);
    assert!(
        first.starts_with('"') && first.len() > 20,
        "a strong tag: {first}"
    );
    assert_eq!(headers[header::CACHE_CONTROL], "private, no-cache");
    assert!(body.contains("resnet"));

    let (status, headers, body) = read(&app, &token, &path, Some(&first)).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert_eq!(tag(&headers), first);
    assert_eq!(body, "", "a 304 has no body");
    // The tag a compressed answer carried (weak) and a list of tags match too.
    let weak = format!("\"old\", W/{first}");
    let (status, _, _) = read(&app, &token, &path, Some(&weak)).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);

    let (status, _, _) = post(
        &app,
        &token,
        &format!("/api/v1/jobs/{uid}/status"),
        r#"{"status": "succeeded"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, headers, body) = read(&app, &token, &path, Some(&first)).await;
    assert_eq!(status, StatusCode::OK, "changed: the whole answer again");
    assert_ne!(tag(&headers), first);
    assert!(body.contains("succeeded"));
}

#[tokio::test]
async fn errors_and_other_callers_answers_are_not_matched() {
    let app = TestApp::new().await;
    let (_, token) = app.token().await;
    let (status, headers, _) = read(&app, &token, "/api/v1/jobs/nope", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(headers.get(header::ETAG).is_none(), "errors are not tagged");

    // A tag does not stand in for access: without a credential the answer is 401, tag or not.
    let (status, headers, _) = read(&app, &token, "/api/v1/me", None).await;
    assert_eq!(status, StatusCode::OK);
    let me = tag(&headers);
    let request = Request::get("/api/v1/me")
        .header(header::IF_NONE_MATCH, &me)
        .body(Body::empty())
        .unwrap();
    let (status, _, _) = app.send(request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn mlflow_reads_are_tagged_too() {
    let app = TestApp::new().await;
    let (_, token) = app.token().await;
    let (status, _, _) = post(
        &app,
        &token,
        "/api/2.0/mlflow/experiments/create",
        r#"{"name": "tagged"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let path = "/api/2.0/mlflow/experiments/get-by-name?experiment_name=tagged";
    let (status, headers, _) = read(&app, &token, path, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, body) = read(&app, &token, path, Some(&tag(&headers))).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert_eq!(body, "");
}
