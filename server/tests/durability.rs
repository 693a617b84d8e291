//! An acknowledged write survives `kill -9` of the server, on a real SQLite file over real HTTP.

use app::db::{self, Db};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One HTTP/1.1 request on a fresh connection; returns the status code and the body.
fn http(port: u16, method: &str, path: &str, token: &str, body: &Value) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("the server listens");
    let body = body.to_string();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn wait_healthy(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err()
        || http(port, "GET", "/healthz", "", &Value::Null).0 != 200
    {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn acknowledged_points_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("durable.db").display());
    let store = Db::open(&url).await.unwrap();
    store.migrate().await.unwrap();
    let ann = db::users::create(&store, "ann", "Ann").await.unwrap();
    db::projects::create(&store, ann.id, "xray", "", false)
        .await
        .unwrap();
    let (_, token) = app::auth::create_token(&store, ann.id, "test")
        .await
        .unwrap();
    store.close().await;

    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_millrace"))
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--database",
            &url,
        ])
        .env("MILLRACE_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let acknowledged = tokio::task::spawn_blocking(move || {
        wait_healthy(port);
        let (status, created) = http(
            port,
            "POST",
            "/api/v1/projects/ann/xray/jobs",
            &token,
            &json!({"name": "durable"}),
        );
        assert_eq!(status, 201, "{created}");
        let uid = serde_json::from_str::<Value>(&created).unwrap()["uid"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut acknowledged = 0;
        for batch in 0..20 {
            let points: Vec<Value> = (0..500)
                .map(|i| json!({"key": "loss", "step": batch * 500 + i, "value": 0.5}))
                .collect();
            let (status, body) = http(
                port,
                "POST",
                &format!("/api/v1/jobs/{uid}/metrics"),
                &token,
                &json!({"points": points}),
            );
            assert_eq!(status, 200, "{body}");
            acknowledged += 500;
        }
        acknowledged
    })
    .await
    .unwrap();
    // SIGKILL right after the last acknowledgment: no shutdown, no checkpoint.
    server.kill().unwrap();
    server.wait().unwrap();

    let store = Db::open(&url).await.unwrap();
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM metric_points")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let summary: i64 = sqlx::query_scalar("SELECT count FROM metric_series WHERE key = 'loss'")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!((stored, summary), (acknowledged, acknowledged));
}
