//! Reading a job's output: answers bounded in bytes that follow a cursor, every line once.

use crate::helpers::TestApp;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::{json, Value};

async fn send(app: &TestApp, request: Request<Body>) -> (StatusCode, Value) {
    let (status, _, text) = app.send(request).await;
    let value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, value)
}

#[tokio::test]
async fn a_log_read_is_bounded_in_bytes_and_continues_from_its_cursor() {
    let app = TestApp::new().await;
    let (_, token) = app.token().await;
    let ann = app::db::users::find_by_name(&app.db, "ann")
        .await
        .unwrap()
        .unwrap();
    app::db::projects::create(&app.db, ann.id, "xray", "", false)
        .await
        .unwrap();
    let create = Request::post("/api/v1/projects/ann/xray/jobs")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({"name": "chatty"}).to_string()))
        .unwrap();
    let (_, created) = send(&app, create).await;
    let uid = created["uid"].as_str().unwrap().to_owned();
    // 3 requests of 5,000 lines of 200 bytes: 3 MB in 3 chunks of 1 MB each.
    let mut sent = String::new();
    for batch in 0..3 {
        let lines: Vec<Value> = (0..5_000)
            .map(|i| json!({"text": format!("{:0>199}", batch * 5_000 + i)}))
            .collect();
        for line in &lines {
            sent.push_str(line["text"].as_str().unwrap());
            sent.push('\n');
        }
        let append = Request::post(format!("/api/v1/jobs/{uid}/logs"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({"lines": lines}).to_string()))
            .unwrap();
        let (status, answer) = send(&app, append).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }

    let (mut after, mut offset, mut read) = (0, 0, String::new());
    let mut answers = 0;
    loop {
        let get = Request::get(format!(
            "/api/v1/jobs/{uid}/logs?after={after}&offset={offset}"
        ))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
        let (status, page) = send(&app, get).await;
        assert_eq!(status, StatusCode::OK);
        let chunks = page["chunks"].as_array().unwrap();
        if chunks.is_empty() {
            assert_eq!(page["more"], false);
            break;
        }
        let text: String = chunks.iter().map(|c| c["text"].as_str().unwrap()).collect();
        assert!(text.len() <= 1 << 20, "{} bytes in one answer", text.len());
        assert!(text.ends_with('\n'), "whole lines only");
        read.push_str(&text);
        (after, offset) = (
            page["next"].as_i64().unwrap(),
            page["offset"].as_i64().unwrap(),
        );
        answers += 1;
    }
    assert_eq!(read, sent, "every line once, in order");
    assert_eq!(answers, 3, "3 MB in answers of at most 1 MiB");
}
