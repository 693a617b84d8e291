//! MLflow's artifact proxy on the real router: files land in the job's artifact folder (the one
//! runners upload to), count against the job's creator, come back whole or by range, and bad
//! paths and bodies are refused in MLflow's error shape with nothing stored.

use crate::helpers::TestApp;
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::{json, Value};

/// ann's run in a new experiment, with her token, and the proxy path of its artifact root.
pub struct Run {
    pub token: String,
    pub run_id: String,
    root: String,
}

pub async fn new_run(app: &TestApp) -> Run {
    let (_, token) = app.token().await;
    let call = |path: &str, body: Value| {
        Request::post(format!("/api/2.0/mlflow/{path}"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let (_, _, created) = app
        .send(call("experiments/create", json!({ "name": "xray" })))
        .await;
    let experiment: Value = serde_json::from_str(&created).unwrap();
    let experiment = experiment["experiment_id"].as_str().unwrap().to_owned();
    let (_, _, run) = app
        .send(call("runs/create", json!({ "experiment_id": experiment })))
        .await;
    let run: Value = serde_json::from_str(&run).unwrap();
    let info = &run["run"]["info"];
    let run_id = info["run_id"].as_str().unwrap().to_owned();
    let uri = info["artifact_uri"].as_str().unwrap();
    assert_eq!(
        uri,
        format!("mlflow-artifacts:/{experiment}/{run_id}/artifacts")
    );
    Run {
        token,
        root: uri.trim_start_matches("mlflow-artifacts:/").to_owned(),
        run_id,
    }
}

impl Run {
    pub fn request(&self, method: Method, path: &str, body: impl Into<Body>) -> Request<Body> {
        Request::builder()
            .method(method)
            .uri(format!("/api/2.0/mlflow-artifacts/artifacts/{}", path))
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .body(body.into())
            .unwrap()
    }

    pub fn put(&self, path: &str, body: impl Into<Body>) -> Request<Body> {
        self.request(Method::PUT, &format!("{}/{path}", self.root), body)
    }

    pub fn get(&self, path: &str) -> Request<Body> {
        self.request(Method::GET, &format!("{}/{path}", self.root), Body::empty())
    }

    pub fn delete(&self, path: &str) -> Request<Body> {
        self.request(
            Method::DELETE,
            &format!("{}/{path}", self.root),
            Body::empty(),
        )
    }

    pub fn list(&self, path: &str) -> Request<Body> {
        Request::get(format!(
            "/api/2.0/mlflow-artifacts/artifacts?path={}/{path}",
            self.root
        ))
        .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
        .body(Body::empty())
        .unwrap()
    }
}

async fn usage(app: &TestApp) -> i64 {
    app::db::storage::usage(&app.db, app.user_id("ann").await)
        .await
        .unwrap()
}

async fn json_of(app: &TestApp, request: Request<Body>) -> (StatusCode, Value) {
    let (status, _, body) = app.send(request).await;
    let value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON: {body}"));
    (status, value)
}

#[tokio::test]
async fn artifacts_go_through_the_proxy_into_the_jobs_folder_and_count_against_its_creator() {
    let app = TestApp::new().await;
    let run = new_run(&app).await;
    let model: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    for (path, body) in [
        ("model/model.pkl", model.clone()),
        ("model/MLmodel", b"flavors: {}\n".to_vec()),
        ("notes.txt", b"first".to_vec()),
    ] {
        let (status, answer) = json_of(&app, run.put(path, body)).await;
        assert_eq!((status, &answer), (StatusCode::OK, &json!({})));
    }
    let on_disk = app.artifacts_dir(&run.run_id).join("model/model.pkl");
    assert_eq!(
        std::fs::read(on_disk).unwrap(),
        model,
        "the runner's folder"
    );
    assert_eq!(usage(&app).await, 300_000 + 12 + 5);

    let (status, replaced) = json_of(&app, run.put("notes.txt", &b"second!"[..])).await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(
        usage(&app).await,
        300_000 + 12 + 7,
        "a replaced file counts once"
    );

    let (status, listed) = json_of(&app, run.list("")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        listed,
        json!({ "files": [
            { "path": "model", "is_dir": true },
            { "path": "notes.txt", "is_dir": false, "file_size": 7 },
        ] })
    );
    let (_, nested) = json_of(&app, run.list("model")).await;
    assert_eq!(nested["files"][0]["path"], "MLmodel");
    assert_eq!(nested["files"][1]["file_size"], 300_000);
    // The tracking API's listing names entries from the run's root.
    let (status, tracked) = json_of(
        &app,
        Request::get(format!(
            "/api/2.0/mlflow/artifacts/list?run_id={}&path=model",
            run.run_id
        ))
        .header(header::AUTHORIZATION, format!("Bearer {}", run.token))
        .body(Body::empty())
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tracked}");
    assert_eq!(tracked["files"][0]["path"], "model/MLmodel");
    assert_eq!(
        tracked["root_uri"],
        format!("mlflow-artifacts:/{}", run.root)
    );
    // millrace's own API sees the same files.
    let (_, _, own) = app
        .get(
            &format!("/api/v1/jobs/{}/artifacts", run.run_id),
            Some(&format!("Bearer {}", run.token)),
        )
        .await;
    assert!(own.contains("model/model.pkl"), "{own}");

    let (status, headers, body) = app.send(run.get("notes.txt")).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "second!"));
    assert_eq!(headers[header::CONTENT_TYPE], "application/octet-stream");
    assert_eq!(
        headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"notes.txt\"; filename*=UTF-8''notes.txt"
    );
    assert_eq!(headers[header::CONTENT_SECURITY_POLICY], "sandbox");
    let mut ranged = run.get("notes.txt");
    ranged
        .headers_mut()
        .insert(header::RANGE, "bytes=2-4".parse().unwrap());
    let (status, _, body) = app.send(ranged).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::PARTIAL_CONTENT, "con")
    );

    let (status, answer) = json_of(&app, run.delete("model")).await;
    assert_eq!((status, answer), (StatusCode::OK, json!({})));
    assert_eq!(
        usage(&app).await,
        7,
        "a removed folder gives its bytes back"
    );
    let (status, gone) = json_of(&app, run.get("model/model.pkl")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(gone["error_code"], "RESOURCE_DOES_NOT_EXIST");
}

#[tokio::test]
async fn bad_paths_and_unknown_routes_get_mlflows_json_errors_and_store_nothing() {
    let app = TestApp::new().await;
    let run = new_run(&app).await;
    let (status, _) = json_of(&app, run.put("a.txt", &b"x"[..])).await;
    assert_eq!(status, StatusCode::OK);
    for (path, why) in [
        ("..%2F..%2Fescape.txt", "inside the run's artifact folder"),
        ("a.txt/inner.txt", "a.txt is a file, not a folder"),
    ] {
        let (status, refused) = json_of(&app, run.put(path, &b"evil"[..])).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {refused}");
        assert_eq!(refused["error_code"], "INVALID_PARAMETER_VALUE");
        assert!(
            refused["message"].as_str().unwrap().contains(why),
            "{refused}"
        );
    }
    assert_eq!(usage(&app).await, 1);
    let files = app.files_dir().join("artifacts");
    assert!(!files.join("escape.txt").exists());

    // Another experiment's id with this run's id is not this run.
    let elsewhere = run.request(
        Method::GET,
        &format!("999/{}/artifacts/a.txt", run.run_id),
        Body::empty(),
    );
    let (status, refused) = json_of(&app, elsewhere).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{refused}");

    // Multipart uploads are declined the way MLflow's client falls back from.
    let mpu = Request::post(format!(
        "/api/2.0/mlflow-artifacts/mpu/create/{}/big.bin",
        run.root
    ))
    .header(header::AUTHORIZATION, format!("Bearer {}", run.token))
    .header(header::CONTENT_TYPE, "application/json")
    .body(Body::from(
        json!({ "path": "big.bin", "num_parts": 2 }).to_string(),
    ))
    .unwrap();
    let (status, declined) = json_of(&app, mpu).await;
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED, "{declined}");
    assert!(declined["message"]
        .as_str()
        .unwrap()
        .starts_with("Multipart upload is not supported"));

    for unknown in [
        "/api/2.0/mlflow-artifacts/presigned/1/x",
        "/api/3.0/mlflow/logged-models/nope",
        "/ajax-api/2.0/mlflow/no-such-call",
    ] {
        let (status, answer) = json_of(
            &app,
            Request::get(unknown)
                .header(header::AUTHORIZATION, format!("Bearer {}", run.token))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{unknown}");
        assert_eq!(answer["error_code"], "ENDPOINT_NOT_FOUND", "{unknown}");
    }
}
