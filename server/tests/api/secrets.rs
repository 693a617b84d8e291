//! Spec `env` values are write-only: stored and handed to runners with their leases, shown to
//! people (API, pages) as names with hidden values, and kept by reruns and sweep clones.

use super::helpers::TestApp;
use app::db;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::{json, Value};

/// The value no one may read back.
const SECRET: &str = "sk-live-4242";

struct Lab {
    app: TestApp,
    auth: String,
    project: i64,
}

impl Lab {
    async fn new() -> Self {
        let app = TestApp::new().await;
        let (_, token) = app.token().await;
        let ann = db::users::find_by_name(&app.db, "ann")
            .await
            .unwrap()
            .unwrap();
        let project = db::projects::create(&app.db, ann.id, "lab", "", false)
            .await
            .unwrap();
        Self {
            app,
            auth: format!("Bearer {token}"),
            project,
        }
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        kind: &str,
        body: String,
    ) -> (StatusCode, String) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, &self.auth)
            .header(header::CONTENT_TYPE, kind)
            .body(Body::from(body))
            .unwrap();
        let (status, _, text) = self.app.send(request).await;
        (status, text)
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let (status, text) = self
            .send("POST", path, "application/json", body.to_string())
            .await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// The body of `GET path` (API or page), which must answer 200.
    async fn text(&self, path: &str) -> String {
        let (status, _, text) = self.app.get(path, Some(&self.auth)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {text}");
        text
    }

    /// The `job.env` of sweep `id` as stored.
    async fn stored_env(&self, id: i64) -> Value {
        let sweep = db::sweeps::find(&self.app.db, id).await.unwrap().unwrap();
        serde_json::from_str::<Value>(&sweep.spec).unwrap()["job"]["env"].clone()
    }
}

const SWEEP: &str = "\
sweep: keyed
project: ann/lab
job:
  command: train --x {{x}}
  env: {API_KEY: sk-live-4242, MODE: fast}
space: {x: {uniform: [0, 1]}}
objective: {metric: loss, goal: minimize}
trials: 4
";

async fn start_sweep(lab: &Lab) -> i64 {
    let spec = server::spec::parse_sweep("sweep.yaml", SWEEP).unwrap();
    let (status, answer) = lab
        .post("/api/v1/projects/ann/lab/sweeps", json!({ "spec": spec }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    answer["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_sweep_shows_its_env_names_but_not_their_values_in_the_api_and_the_page() {
    let lab = Lab::new().await;
    let id = start_sweep(&lab).await;
    let shown = lab.text(&format!("/api/v1/sweeps/{id}")).await;
    assert!(!shown.contains(SECRET), "{shown}");
    let shown: Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(
        shown["spec"]["job"]["env"],
        json!({ "API_KEY": "•••", "MODE": "•••" })
    );

    let page = lab
        .text(&format!("/u/ann/p/lab?pview=sweeps&sweep={id}"))
        .await;
    assert!(
        page.contains("Run it again, wider"),
        "the sweep view: {page}"
    );
    assert!(!page.contains(SECRET), "{page}");
    assert_eq!(
        lab.stored_env(id).await["API_KEY"],
        SECRET,
        "stored for the runners"
    );
}

#[tokio::test]
async fn a_clone_keeps_the_hidden_values_unless_a_change_sets_one() {
    let lab = Lab::new().await;
    let id = start_sweep(&lab).await;
    let path = format!("/api/v1/sweeps/{id}/clones");

    let (status, kept) = lab.post(&path, json!({ "changes": ["trials=2"] })).await;
    assert_eq!(status, StatusCode::CREATED, "{kept}");
    assert_eq!(kept["cloned_from"], id);
    let kept = kept["id"].as_i64().unwrap();
    assert_eq!(
        lab.stored_env(kept).await,
        json!({ "API_KEY": SECRET, "MODE": "fast" })
    );

    let changes = json!({ "changes": ["job.env.API_KEY=sk-new"] });
    let (status, changed) = lab.post(&path, changes).await;
    assert_eq!(status, StatusCode::CREATED, "{changed}");
    let changed = lab.stored_env(changed["id"].as_i64().unwrap()).await;
    assert_eq!(changed, json!({ "API_KEY": "sk-new", "MODE": "fast" }));

    // The web app's form takes the same path through the stored spec.
    let (status, _) = lab
        .send(
            "POST",
            &format!("/api/v1/sweeps/{id}/clone"),
            "application/x-www-form-urlencoded",
            "changes=trials%3D3".into(),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let newest = db::sweeps::list_for_project(&lab.app.db, lab.project, 1)
        .await
        .unwrap();
    assert_eq!(lab.stored_env(newest[0].id).await["API_KEY"], SECRET);

    let (status, refused) = lab
        .post(&path, json!({ "changes": ["job.env.MODE=•••"] }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["error"]["field"], "changes");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.contains("stands for a hidden value"), "{message}");
}

#[tokio::test]
async fn a_spec_that_copies_the_hidden_placeholder_is_refused() {
    let lab = Lab::new().await;
    let mut spec = server::spec::parse_sweep("sweep.yaml", SWEEP).unwrap();
    spec.job.env.insert("API_KEY".into(), "•••".into());
    let (status, refused) = lab
        .post("/api/v1/projects/ann/lab/sweeps", json!({ "spec": spec }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["error"]["field"], "spec.job.env.API_KEY");
}

#[tokio::test]
async fn a_job_shows_env_names_only_and_its_lease_and_rerun_carry_the_values() {
    let lab = Lab::new().await;
    let plan = json!({ "command": { "shell": "train" }, "env": { "API_KEY": SECRET } });
    let (status, job) = lab
        .post(
            "/api/v1/projects/ann/lab/apply",
            json!({ "name": "keyed", "plan": plan }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    let uid = job["uid"].as_str().unwrap();

    let shown = lab.text(&format!("/api/v1/jobs/{uid}")).await;
    assert!(!shown.contains(SECRET), "{shown}");
    let shown: Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["env"], json!({ "API_KEY": "•••" }));
    let page = lab.text("/u/ann/p/lab/j/1?tab=config").await;
    assert!(page.contains("API_KEY") && page.contains("•••"), "{page}");
    assert!(!page.contains(SECRET), "{page}");

    let (status, rerun) = lab
        .post(&format!("/api/v1/jobs/{uid}/rerun"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{rerun}");

    let secret = app::auth::new_secret();
    db::runners::create_token(&lab.app.db, "r", &app::auth::hash_secret(&secret))
        .await
        .unwrap();
    let runner = format!("Bearer {secret}");
    let as_runner = |path: &'static str, body: Value| {
        let request = Request::post(path)
            .header(header::AUTHORIZATION, &runner)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let app = &lab.app;
        async move {
            let (_, _, text) = app.send(request).await;
            serde_json::from_str::<Value>(&text).unwrap()
        }
    };
    let registered = as_runner("/api/v1/runner/register", json!({ "name": "r1" })).await;
    let lease = json!({ "runner_id": registered["runner_id"], "wait_ms": 0 });
    for number in [1, 2] {
        let leased = as_runner("/api/v1/runner/lease", lease.clone()).await;
        assert_eq!(leased["number"], number, "{leased}");
        assert_eq!(
            leased["plan"]["env"]["API_KEY"], SECRET,
            "the runner gets the value"
        );
    }
}
