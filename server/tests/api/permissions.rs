//! The route-table permission test: every route of the REST API (`server::api::routes`), of the
//! MLflow API (`server::mlflow::ENDPOINTS`) and every server function the app registers is
//! called as every kind of caller, and each answer must be what the route's declared policy
//! says. A route added without a policy fails here (server functions need an entry in
//! [`server_fn_policy`]); a route whose handler forgets its check fails because someone who
//! should be refused gets through.

use super::helpers::{TestApp, PASSWORD};
use app::auth::access::{Act, Policy};
use app::auth::SESSION_COOKIE;
use app::db::{self, jobs::NewJob, jobs::RunSpec, sweeps::NewSweep, Db};
use app::model::{JobSort, JobStatus, ProjectSort, TokenScope, UserSort};
use app::view_query::ColumnQuery;
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::{json, Value};
use tower::ServiceExt;

/// Who calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    /// ann, the owner, signed in.
    Owner,
    /// ben, a member, with a write token.
    Member,
    /// cat, signed in, neither owner nor member, on the public project.
    Viewer,
    /// cat again, with a write token, on the private project she cannot see.
    Stranger,
    /// ann's read-only token.
    ReadToken,
    /// root, an instance admin, signed in, on the private project.
    Admin,
    /// Nobody.
    Anonymous,
    /// The token of the job the route names.
    OwnJob,
    /// The token of another job in the same project.
    SiblingJob,
    /// The token of a job in another project.
    ElsewhereJob,
    /// A runner token.
    Runner,
}

const EVERYONE: [Who; 11] = [
    Who::Owner,
    Who::Member,
    Who::Viewer,
    Who::Stranger,
    Who::ReadToken,
    Who::Admin,
    Who::Anonymous,
    Who::OwnJob,
    Who::SiblingJob,
    Who::ElsewhereJob,
    Who::Runner,
];

impl Who {
    /// Whether this caller works on the private project (else on the public one).
    fn on_private(self) -> bool {
        matches!(self, Who::Stranger | Who::Admin | Who::Anonymous)
    }

    fn is_job(self) -> bool {
        matches!(self, Who::OwnJob | Who::SiblingJob | Who::ElsewhereJob)
    }
}

/// Which API a route belongs to: the answers differ only in how job tokens are turned away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Api {
    Rest,
    Mlflow,
    ServerFn,
}

/// What a caller should get: let through (any answer below 500 but 401, 403 and 404), or refused
/// with this status.
fn expected(api: Api, policy: Policy, who: Who) -> Option<u16> {
    use Who::*;
    let refused = |status| Some(status);
    match (policy, who) {
        // The web app's server functions are for people: the middleware keeps job tokens to the
        // tracking APIs.
        (_, w) if w.is_job() && api == Api::ServerFn => refused(403),
        (Policy::Public, _) => None,
        (Policy::Runner, Runner) => None,
        // Runner routes take runner tokens only; the middleware keeps job tokens to the
        // tracking APIs.
        (Policy::Runner, w) if w.is_job() => refused(403),
        (Policy::Runner, _) => refused(401),
        (_, Anonymous | Runner) => refused(401),
        (Policy::Signed, _) => None,
        (Policy::Admin, Admin) => None,
        (Policy::Admin, _) => refused(403),
        (Policy::Writer, ReadToken | OwnJob | SiblingJob | ElsewhereJob) => refused(403),
        (Policy::Writer, _) => None,
        (Policy::Session, Owner | Viewer | Admin) => None,
        (Policy::Session, _) => refused(403),
        (Policy::Project(_), Stranger | ElsewhereJob) => refused(404),
        (Policy::Project(_), Owner | Admin) => None,
        (Policy::Project(Act::Manage), _) => refused(403),
        (Policy::Project(_), Member) => None,
        (Policy::Project(Act::Read), _) => None,
        (Policy::Project(Act::CreateRun), OwnJob | SiblingJob) => None,
        (Policy::Project(Act::WriteJob), OwnJob) => None,
        (Policy::Project(_), _) => refused(403),
    }
}

/// What the callers work on: one public and one private project of ann, each with a job millrace
/// runs, a tracked job, a sweep, a pipeline run, an artifact; and every credential.
struct World {
    app: TestApp,
    public: Target,
    private: Target,
    sessions: [(Who, String); 3],
    tokens: Vec<(Who, String)>,
    runner_token: String,
    runner_id: i64,
    snapshot: String,
    /// A token id of each user, for revoking one's own.
    token_ids: Vec<(&'static str, i64)>,
}

/// One project and what its routes name.
struct Target {
    project: String,
    project_id: i64,
    job_uid: String,
    job_number: i64,
    sweep: i64,
    /// A running pipeline run.
    pipeline: i64,
    /// A logged model its job produced.
    model_uid: String,
    /// A registered model of the project, with version 1 from its job, aliased `champion`.
    registered: String,
}

impl World {
    async fn new() -> Self {
        let app = TestApp::new().await;
        let db = app.db.clone();
        let ann = app.user_id("ann").await;
        let mut ids = Vec::new();
        for name in ["ben", "cat", "root", "dan"] {
            let user = db::users::create(&db, name, name).await.unwrap();
            db::users::set_password_hash(&db, user.id, &app::auth::hash_password(PASSWORD))
                .await
                .unwrap();
            ids.push(user.id);
        }
        let [ben, cat, root, _] = ids[..] else {
            unreachable!()
        };
        db::users::set_admin(&db, root, true).await.unwrap();
        let public = target(&db, ann, "open", false).await;
        let private = target(&db, ann, "secret", true).await;
        for project in [public.project_id, private.project_id] {
            db::projects::add_member(&db, project, ben).await.unwrap();
        }
        let other = target(&db, root, "other", false).await;
        let sibling = job(&db, public.project_id, ann).await;

        let mut token_ids = Vec::new();
        let token = |name: &'static str, user: i64, scope| {
            let db = db.clone();
            let made = async move {
                app::auth::create_token(&db, user, "t", scope, None)
                    .await
                    .unwrap()
            };
            async move {
                let (id, secret) = made.await;
                (name, id, secret)
            }
        };
        let mut secret_of = |(name, id, secret): (&'static str, i64, String)| {
            token_ids.push((name, id));
            secret
        };
        let tokens = vec![
            (
                Who::Member,
                secret_of(token("ben", ben, TokenScope::Write).await),
            ),
            (
                Who::Stranger,
                secret_of(token("cat", cat, TokenScope::Write).await),
            ),
            (
                Who::ReadToken,
                secret_of(token("ann", ann, TokenScope::Read).await),
            ),
            (Who::OwnJob, job_token(&db, ann, &public.job_uid).await),
            (Who::SiblingJob, job_token(&db, ann, &sibling).await),
            (
                Who::ElsewhereJob,
                job_token(&db, root, &other.job_uid).await,
            ),
        ];
        secret_of(token("root", root, TokenScope::Write).await);
        let session = |name: &'static str| {
            let db = db.clone();
            async move {
                let attempt = app::auth::SignIn {
                    name,
                    password: PASSWORD,
                    address: "127.0.0.1",
                    user_agent: "test",
                };
                app::auth::login(&db, attempt).await.unwrap().1
            }
        };
        let sessions = [
            (Who::Owner, session("ann").await),
            (Who::Viewer, session("cat").await),
            (Who::Admin, session("root").await),
        ];
        let runner_token = app::auth::new_secret();
        let token_id =
            db::runners::create_token(&db, "runners", &app::auth::hash_secret(&runner_token))
                .await
                .unwrap();
        let registration = db::runners::Registration {
            name: "r1".into(),
            max_jobs: 1,
            ..Default::default()
        };
        let runner_id = db::runners::register(&db, token_id, &registration)
            .await
            .unwrap()
            .expect("a free name")
            .id;
        let snapshot_bytes = [0x1f, 0x8b, 0, 0];
        let snapshot = server::files::sha256_hex(&snapshot_bytes);
        keep(&app.snapshot_file(&snapshot), &snapshot_bytes);
        for target in [&public, &private] {
            keep(
                &app.artifacts_dir(&target.job_uid).join("out.txt"),
                b"result",
            );
        }
        Self {
            app,
            public,
            private,
            sessions,
            tokens,
            runner_token,
            runner_id,
            snapshot,
            token_ids,
        }
    }

    /// The id of one of the tokens of the user `who` acts as.
    fn own_token(&self, who: Who) -> i64 {
        let name = match who {
            Who::Owner | Who::ReadToken => "ann",
            Who::Member => "ben",
            Who::Admin => "root",
            _ => "cat",
        };
        self.token_ids.iter().find(|(n, _)| *n == name).unwrap().1
    }

    /// The id of `who`'s own browser session (an unknown one for callers without a session).
    fn own_session(&self, who: Who) -> String {
        self.sessions.iter().find(|(w, _)| *w == who).map_or_else(
            || "none".to_owned(),
            |(_, secret)| app::auth::hash_secret(secret),
        )
    }

    fn target(&self, who: Who) -> &Target {
        if who.on_private() {
            &self.private
        } else {
            &self.public
        }
    }

    /// `call` with `who`'s credentials.
    fn request(&self, who: Who, call: &Call) -> Request<Body> {
        let mut request = Request::builder()
            .method(call.method.clone())
            .uri(&call.uri)
            // A same-site request, as a browser on the page sends it.
            .header(header::HOST, "localhost")
            .header(header::ORIGIN, "http://localhost");
        if let Some((_, secret)) = self.sessions.iter().find(|(w, _)| *w == who) {
            request = request.header(header::COOKIE, format!("{SESSION_COOKIE}={secret}"));
        }
        if let Some((_, secret)) = self.tokens.iter().find(|(w, _)| *w == who) {
            request = request.header(header::AUTHORIZATION, format!("Bearer {secret}"));
        }
        if who == Who::Runner {
            let bearer = format!("Bearer {}", self.runner_token);
            request = request.header(header::AUTHORIZATION, bearer);
        }
        let body = match &call.body {
            Payload::None => Body::empty(),
            Payload::Json(value) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(value.to_string())
            }
            Payload::Form(text) => {
                request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                Body::from(text.clone())
            }
            Payload::Bytes(bytes) => {
                request = request.header(header::CONTENT_TYPE, "application/octet-stream");
                Body::from(bytes.clone())
            }
        };
        request.body(body).unwrap()
    }
}

async fn target(db: &Db, owner: i64, name: &str, private: bool) -> Target {
    let project_id = db::projects::create(db, owner, name, "", private)
        .await
        .unwrap();
    db::project_tags::set(db, project_id, "fixture-tag", "")
        .await
        .unwrap();
    let job_uid = job(db, project_id, owner).await;
    let job_row = db::jobs::find_in_project(db, project_id, &job_uid)
        .await
        .unwrap()
        .unwrap();
    let job_number = job_row.number;
    let owner_name: String = sqlx::query_scalar("SELECT name FROM users WHERE id = $1")
        .bind(owner)
        .fetch_one(db.pool())
        .await
        .unwrap();
    let yaml = format!(
        "sweep: s\nproject: {owner_name}/{name}\njob:\n  command: run {{{{x}}}}\n\
         space: {{x: {{uniform: [0, 1]}}}}\nobjective: {{metric: loss, goal: minimize}}\n\
         algorithm: random\nseed: 3\ntrials: 4\nparallel: 1\n"
    );
    let spec = server::spec::parse_sweep("sweep.yaml", &yaml).unwrap();
    let sweep = NewSweep {
        project: project_id,
        name: "s".into(),
        spec: serde_json::to_string(&spec).unwrap(),
        spec_hash: "h".into(),
        snapshot: None,
        seed: 3,
        cloned_from: None,
        created_by: Some(owner),
        ..NewSweep::default()
    };
    let mut tx = db.begin().await.unwrap();
    let sweep = db::sweeps::create(&mut tx, &sweep).await.unwrap();
    let pipeline = db::pipelines::create(
        &mut tx,
        &db::pipelines::NewRun {
            project: project_id,
            name: "p".into(),
            spec: format!(
                r#"{{"pipeline":"p","project":"{owner_name}/{name}","steps":{{"a":{{"command":"x"}}}}}}"#
            ),
            snapshots: "{}".into(),
            spec_hash: "h".into(),
            created_by: Some(owner),
            ..Default::default()
        },
        &[db::pipelines::NewStep {
            step: "a".into(),
            instance: 0,
            definition: "d".into(),
        }],
    )
    .await
    .unwrap();
    let model_uid = format!("m-{name}");
    let model_tags = [("fixture-tag".to_owned(), String::new())];
    db::logged_models::create(
        &mut tx,
        &db::logged_models::NewModel {
            uid: &model_uid,
            project: project_id,
            job: Some(job_row.id),
            name: "forest",
            model_type: "",
            creator: owner,
            params: &[],
            tags: &model_tags,
        },
    )
    .await
    .unwrap();
    let registered = format!("registered-{name}");
    let id = db::registry::create(&mut tx, &registered, owner, "", &model_tags)
        .await
        .unwrap()
        .unwrap();
    db::registry::place(&mut tx, id, project_id).await.unwrap();
    let version = db::registry::create_version(
        &mut tx,
        id,
        &db::registry::NewVersion {
            source: "runs:/r/model",
            storage_location: "mlflow-artifacts:/r/model",
            run_id: "",
            job: Some(job_row.id),
            logged_model: None,
            run_link: "",
            description: "",
            creator: owner,
            tags: &model_tags,
        },
    )
    .await
    .unwrap();
    db::registry::set_alias(&mut tx, id, "champion", version.id)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    Target {
        project: name.to_owned(),
        project_id,
        job_uid,
        job_number,
        sweep,
        pipeline,
        model_uid,
        registered,
    }
}

/// Writes `bytes` at `path`, making its directories.
fn keep(path: &std::path::Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// A queued job millrace runs, with a tag and a metric; its uid.
async fn job(db: &Db, project: i64, owner: i64) -> String {
    let spec = NewJob {
        name: "train".into(),
        created_by: Some(owner),
        tags: vec![("fixture-tag".into(), String::new())],
        run: Some(RunSpec {
            spec_name: "train".into(),
            spec_hash: "h".into(),
            spec_json: r#"{"command": "true"}"#.into(),
            ..RunSpec::default()
        }),
        ..NewJob::default()
    };
    let mut tx = db.begin().await.unwrap();
    let made = db::jobs::create(&mut tx, project, &spec).await.unwrap();
    let point = db::metrics::Point {
        step: 0,
        wall_ms: 1,
        value: 0.5,
    };
    db::metrics::append(&mut tx, project, made.id, "loss", &[point])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    made.uid
}

/// A live token of the job `uid`, as a lease mints it.
async fn job_token(db: &Db, owner: i64, uid: &str) -> String {
    let id: i64 = sqlx::query_scalar("SELECT id FROM jobs WHERE uid = $1")
        .bind(uid)
        .fetch_one(db.pool())
        .await
        .unwrap();
    let secret = app::auth::new_secret();
    let mut tx = db.begin().await.unwrap();
    let hash = app::auth::hash_secret(&secret);
    db::tokens::insert_for_job(&mut tx, owner, id, &hash, db::now_ms())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    secret
}

/// A request to make, before credentials.
struct Call {
    method: Method,
    uri: String,
    body: Payload,
    /// The answer is an endless event stream: read only its status.
    stream: bool,
}

enum Payload {
    None,
    Json(Value),
    Form(String),
    Bytes(Vec<u8>),
}

/// The call of REST route `method path` on `t`.
fn rest_call(w: &World, method: &Method, path: &str, t: &Target) -> Call {
    let member = if *method == Method::PUT { "dan" } else { "ben" };
    let id = match path.starts_with("/pipelines/") {
        true => t.pipeline,
        false => t.sweep,
    };
    let filled = path
        .replace("{owner}", "ann")
        .replace("{project}", &t.project)
        .replace("{job}", &t.job_number.to_string())
        .replace("{uid}", &t.job_uid)
        .replace("{id}", &id.to_string())
        .replace("{index}", "0")
        .replace("{user}", member)
        .replace("{*path}", "out.txt")
        .replace("{sha}", &w.snapshot)
        .replace("{name}", "gpus");
    let mut uri = format!("/api/v1{filled}");
    let runner = w.runner_id;
    let job_spec = format!("name: t\nproject: ann/{}\ncommand: echo hi\n", t.project);
    let body = match (method.as_str(), path) {
        ("POST", "/projects") => Payload::Json(json!({ "name": "made" })),
        ("POST", "/projects/{owner}/{project}/jobs") => Payload::Json(json!({ "name": "t" })),
        ("POST", "/jobs/{uid}/status") => Payload::Json(json!({ "status": "succeeded" })),
        ("POST", "/jobs/{uid}/metrics") => {
            Payload::Json(json!({ "points": [{ "key": "loss", "value": 1.0 }] }))
        }
        ("POST", "/jobs/{uid}/logs") => Payload::Json(json!({ "lines": [{ "text": "hi" }] })),
        ("POST", "/projects/{owner}/{project}/apply") => {
            let request = server::spec::parse("job.yaml", &job_spec)
                .unwrap()
                .request(None);
            Payload::Json(serde_json::to_value(request).unwrap())
        }
        ("POST", "/projects/{owner}/{project}/sweeps") => Payload::Json(json!({})),
        ("POST", "/sweeps/{id}/clone") => Payload::Form("changes=trials%3D2".into()),
        ("POST", "/sweeps/{id}/clones") => Payload::Json(json!({ "changes": ["trials=2"] })),
        ("POST", "/snapshots") => Payload::Bytes(vec![0x1f, 0x8b, 1, 2]),
        ("PUT", "/jobs/{uid}/artifacts/{*path}") => Payload::Bytes(b"new".to_vec()),
        ("POST", "/runner/register") => Payload::Json(json!({ "name": "r2" })),
        ("PUT", "/pools/{name}") => Payload::Json(json!({})),
        ("POST", "/runner/lease") => Payload::Json(json!({ "runner_id": runner })),
        ("POST", "/runner/heartbeat") => Payload::Json(json!({ "runner_id": runner })),
        ("POST", "/runner/jobs/{uid}/started") => Payload::Json(json!({ "runner_id": runner })),
        ("POST", "/runner/jobs/{uid}/output") => {
            Payload::Json(json!({ "runner_id": runner, "from": 0, "lines": [] }))
        }
        ("POST", "/runner/jobs/{uid}/finish") => {
            Payload::Json(json!({ "runner_id": runner, "status": "succeeded" }))
        }
        ("PUT", "/runner/jobs/{uid}/artifacts/{*path}") => {
            uri.push_str(&format!("?runner_id={runner}"));
            Payload::Bytes(b"x".to_vec())
        }
        ("GET", "/runner/jobs/{uid}/inputs" | "/runner/jobs/{uid}/inputs/{index}/{*path}") => {
            uri.push_str(&format!("?runner_id={runner}"));
            Payload::None
        }
        ("POST", "/projects/{owner}/{project}/pipelines") => Payload::Json(json!({})),
        ("POST", "/pipelines/{id}/rerun") => Payload::Json(json!({ "from": "a" })),
        ("GET", "/events") => {
            uri.push_str(&format!("?project=ann/{}", t.project));
            Payload::None
        }
        _ => Payload::None,
    };
    Call {
        method: method.clone(),
        uri,
        body,
        stream: path.starts_with("/events"),
    }
}

/// The call of MLflow endpoint `call` on `t`.
fn mlflow_call(method: Option<&Method>, call: &str, t: &Target) -> Call {
    let (run, experiment) = (t.job_uid.as_str(), t.project_id.to_string());
    let reg = t.registered.as_str();
    let args = match call {
        "experiments/get-by-name" => json!({ "experiment_name": format!("ann/{}", t.project) }),
        "experiments/get" | "experiments/delete" | "experiments/restore" | "runs/create" => {
            json!({ "experiment_id": experiment })
        }
        "experiments/create" => json!({ "name": "fresh" }),
        "experiments/set-experiment-tag" => {
            json!({ "experiment_id": experiment, "key": "team", "value": "vision" })
        }
        "experiments/delete-experiment-tag" => {
            json!({ "experiment_id": experiment, "key": "fixture-tag" })
        }
        "experiments/update" => json!({ "experiment_id": experiment, "new_name": "renamed" }),
        "experiments/search" => json!({}),
        "runs/search" | "logged-models/search" | "experiments/search-datasets" => {
            json!({ "experiment_ids": [experiment] })
        }
        "runs/update" => json!({ "run_id": run, "status": "FINISHED" }),
        "runs/log-metric" => {
            json!({ "run_id": run, "key": "loss", "value": 1, "timestamp": 1, "step": 1 })
        }
        "runs/log-parameter" | "runs/set-tag" => json!({ "run_id": run, "key": "k", "value": "v" }),
        "runs/delete-tag" => json!({ "run_id": run, "key": "fixture-tag" }),
        "runs/log-batch" => json!({ "run_id": run,
            "metrics": [{ "key": "loss", "value": 1, "timestamp": 1, "step": 2 }] }),
        "runs/log-inputs" => json!({ "run_id": run, "datasets": [{ "dataset": {
            "name": "scans", "digest": "abc", "source_type": "local", "source": "{}" } }] }),
        "metrics/get-history" => json!({ "run_id": run, "metric_key": "loss" }),
        "metrics/get-history-bulk-interval" => json!({ "run_ids": run, "metric_key": "loss" }),
        "metrics/get-history-bulk" => json!({ "run_id": run, "metric_key": "loss" }),
        "runs/outputs" => {
            json!({ "run_id": run, "models": [{ "model_id": t.model_uid, "step": 1 }] })
        }
        "logged-models" => json!({ "experiment_id": experiment, "source_run_id": run }),
        "logged-models/{model_id}/tags" => json!({ "tags": [{ "key": "k", "value": "v" }] }),
        "logged-models/{model_id}/params" => json!({ "params": [{ "key": "k", "value": "v" }] }),
        "registered-models/create" => json!({ "name": "fresh-model" }),
        "registered-models/rename" => json!({ "name": reg, "new_name": "renamed-model" }),
        "registered-models/update" => json!({ "name": reg, "description": "d" }),
        "registered-models/search" | "model-versions/search" => json!({}),
        "registered-models/set-tag" => json!({ "name": reg, "key": "k", "value": "v" }),
        "registered-models/delete-tag" => json!({ "name": reg, "key": "fixture-tag" }),
        "registered-models/alias" if method == Some(&Method::POST) => {
            json!({ "name": reg, "alias": "best", "version": "1" })
        }
        "registered-models/alias" => json!({ "name": reg, "alias": "champion" }),
        "model-versions/create" => {
            json!({ "name": reg, "source": format!("runs:/{run}/model"), "run_id": run })
        }
        "model-versions/update" => json!({ "name": reg, "version": "1", "description": "d" }),
        "model-versions/transition-stage" => {
            json!({ "name": reg, "version": "1", "stage": "Staging" })
        }
        "model-versions/set-tag" => {
            json!({ "name": reg, "version": "1", "key": "k", "value": "v" })
        }
        "model-versions/delete-tag" => {
            json!({ "name": reg, "version": "1", "key": "fixture-tag" })
        }
        _ if call.starts_with("model-versions/") => json!({ "name": reg, "version": "1" }),
        _ if call.starts_with("registered-models/") => json!({ "name": reg }),
        _ if method == Some(&Method::PATCH) => json!({ "status": "LOGGED_MODEL_READY" }),
        _ if call.starts_with("logged-models/{") => json!({}),
        _ => json!({ "run_id": run }),
    };
    let method = method.cloned().unwrap_or(Method::POST);
    let call = call
        .replace("{model_id}", &t.model_uid)
        .replace("{tag_key}", "fixture-tag");
    let path = format!("/api/2.0/mlflow/{call}");
    if method == Method::GET {
        let query: Vec<String> = args
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
            .collect();
        return Call {
            method,
            uri: format!("{path}?{}", query.join("&")),
            body: Payload::None,
            stream: false,
        };
    }
    Call {
        method,
        uri: path,
        body: Payload::Json(args),
        stream: false,
    }
}

/// The call of an artifact proxy route on the target's run, whose `out.txt` the world keeps.
fn artifact_call(method: &Method, call: &str, t: &Target) -> Call {
    let root = format!("{}/{}/artifacts", t.project_id, t.job_uid);
    let prefix = "/api/2.0/mlflow-artifacts";
    let (uri, body) = match call {
        "list" => (format!("{prefix}/artifacts?path={root}"), Payload::None),
        "download" | "delete" => (format!("{prefix}/artifacts/{root}/out.txt"), Payload::None),
        "upload" => (
            format!("{prefix}/artifacts/{root}/new.txt"),
            Payload::Bytes(b"new".to_vec()),
        ),
        mpu => (
            format!("{prefix}/{mpu}/{root}/big.bin"),
            Payload::Json(json!({ "path": "big.bin", "num_parts": 2, "upload_id": "u" })),
        ),
    };
    Call {
        method: method.clone(),
        uri,
        body,
        stream: false,
    }
}

/// Who may call each server function. A server function missing here fails the test: declare
/// its policy when you add one.
fn server_fn_policy(name: &str) -> Option<Policy> {
    let read = Policy::Project(Act::Read);
    let write = Policy::Project(Act::Write);
    Some(match name {
        "list_users" | "list_projects" | "list_runners" | "list_pools" | "get_me" | "get_home" => {
            Policy::Signed
        }
        // Signing out without a session only clears the cookie.
        "login" | "logout" => Policy::Public,
        "list_jobs" | "get_job" | "get_metric_panels" | "get_panels" | "get_panel_changes"
        | "get_compare" | "get_logs" | "get_sweeps" | "get_sweep" | "get_registry"
        | "get_artifacts" | "get_job_table" | "find_table_keys" | "get_pipeline_runs"
        | "get_pipeline_run" => read,
        "tag_jobs" | "archive_jobs" | "rename_job" | "stop_jobs" | "rerun_jobs" => write,
        "rename_project" | "archive_projects" | "set_member" => Policy::Project(Act::Manage),
        "get_members" => read,
        "get_credentials" | "create_token" | "revoke_token" | "end_session" => Policy::Session,
        "create_project" => Policy::Writer,
        _ => return None,
    })
}

/// The call of server function `name` (at `path`) on `t`, by `who`.
fn server_fn_call(w: &World, who: Who, path: &str, method: &Method, name: &str) -> Call {
    let t = w.target(who);
    let (owner, project) = ("ann", t.project.as_str());
    let (uid, number) = (t.job_uid.as_str(), t.job_number.to_string());
    let chart = serde_json::to_value(app::chart::settings::ChartSettings::default()).unwrap();
    let jobs_query = serde_json::to_value(ColumnQuery::<JobSort>::default()).unwrap();
    let args = match name {
        "list_users" => json!({
            "query": ColumnQuery::<UserSort>::default(), "cursor": null }),
        "list_projects" => json!({ "owner": owner,
            "query": ColumnQuery::<ProjectSort>::default(), "cursor": null }),
        "list_jobs" => json!({ "owner": owner, "project": project,
            "query": jobs_query, "cursor": null }),
        "get_job" => json!({ "owner": owner, "project": project, "job": number }),
        "tag_jobs" => json!({ "owner": owner, "project": project, "jobs": [uid],
            "key": "k", "value": "v" }),
        "archive_jobs" => json!({ "owner": owner, "project": project, "jobs": [uid],
            "archived": true }),
        "rename_job" => json!({ "owner": owner, "project": project, "job": uid,
            "name": "renamed" }),
        "stop_jobs" | "rerun_jobs" => json!({ "owner": owner, "project": project, "jobs": [uid] }),
        "get_metric_panels" => json!({ "owner": owner, "project": project, "job": number,
            "chart": chart }),
        "get_panels" => json!({ "owner": owner, "project": project, "job": number,
            "chart": chart, "keys": ["loss"] }),
        "get_panel_changes" => json!({ "owner": owner, "project": project, "job": number,
            "chart": chart, "known_keys": 0, "drawn": [] }),
        "get_compare" => json!({ "owner": owner, "project": project, "jobs": [t.job_number],
            "top": jobs_query, "chart": chart }),
        "get_logs" => json!({ "owner": owner, "project": project, "job": number,
            "after": null }),
        "get_artifacts" => json!({ "owner": owner, "project": project, "job": number,
            "path": "out.txt" }),
        "get_sweeps" | "get_registry" | "get_pipeline_runs" => {
            json!({ "owner": owner, "project": project })
        }
        "get_pipeline_run" => json!({ "owner": owner, "project": project, "id": t.pipeline }),
        "get_sweep" => json!({ "owner": owner, "project": project, "id": t.sweep }),
        "get_job_table" => json!({ "owner": owner, "project": project,
            "filter": app::model::Filter::default(),
            "table": app::project_query::TableQuery::default(), "offset": 0, "limit": 10 }),
        "find_table_keys" => json!({ "owner": owner, "project": project, "text": "lo" }),
        "rename_project" => json!({ "owner": owner, "project": project, "name": "renamed" }),
        "archive_projects" => json!({ "owner": owner, "projects": [project],
            "archived": true }),
        "get_members" => json!({ "owner": owner, "project": project }),
        "set_member" => json!({ "owner": owner, "project": project, "user": "dan",
            "member": true }),
        _ => json!({}),
    };
    let body = match name {
        "login" => Payload::Form(format!("name=ann&password={}", PASSWORD.replace(' ', "+"))),
        "get_me" | "get_home" | "logout" => Payload::Form(String::new()),
        // The settings page's forms post without JavaScript too.
        "create_token" => Payload::Form("name=laptop&scope=read&days=30".into()),
        "create_project" => Payload::Form("name=made&description=".into()),
        "revoke_token" => Payload::Form(format!("id={}", w.own_token(who))),
        "end_session" => Payload::Form(format!("id={}", w.own_session(who))),
        _ => Payload::Json(args),
    };
    Call {
        method: method.clone(),
        uri: path.to_owned(),
        body,
        stream: false,
    }
}

/// One route as the test calls it.
struct Case {
    api: Api,
    label: String,
    policy: Policy,
    call: CallFor,
}

/// Makes a route's call for a caller.
type CallFor = Box<dyn Fn(&World, Who) -> Call>;

/// Every route of every API, with its policy.
fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for route in server::api::routes() {
        let (method, path) = (route.method.clone(), route.path);
        cases.push(Case {
            api: Api::Rest,
            label: format!("{method} /api/v1{path}"),
            policy: route.policy,
            call: Box::new(move |w, who| rest_call(w, &method, path, w.target(who))),
        });
    }
    for endpoint in server::mlflow::ENDPOINTS {
        let (method, call) = (endpoint.method.clone(), endpoint.call);
        cases.push(Case {
            api: Api::Mlflow,
            label: format!("MLflow {call}"),
            policy: endpoint.policy,
            call: Box::new(move |w, who| mlflow_call(method.as_ref(), call, w.target(who))),
        });
    }
    for route in server::mlflow::artifacts::ARTIFACT_ROUTES {
        let (method, call) = (route.method.clone(), route.call);
        cases.push(Case {
            api: Api::Mlflow,
            label: format!("MLflow artifacts {call}"),
            policy: route.policy(),
            call: Box::new(move |w, who| artifact_call(&method, call, w.target(who))),
        });
    }
    let mut server_fns: Vec<(&'static str, Method)> =
        leptos::server_fn::axum::server_fn_paths().collect();
    server_fns.sort_by_key(|(path, _)| *path);
    assert!(
        server_fns.len() > 20,
        "the app's server functions are registered"
    );
    for (path, method) in server_fns {
        let name = path
            .trim_start_matches("/api/")
            .trim_end_matches(|c: char| c.is_ascii_digit());
        let policy = server_fn_policy(name).unwrap_or_else(|| {
            panic!("server function {path} has no policy: add it to server_fn_policy")
        });
        let name = name.to_owned();
        cases.push(Case {
            api: Api::ServerFn,
            label: format!("server fn {path}"),
            policy,
            call: Box::new(move |w, who| server_fn_call(w, who, path, &method, &name)),
        });
    }
    cases
}

/// Status of `who`'s call on a copy of the world.
async fn answer(world: &World, app: &TestApp, case: &Case, who: Who) -> (u16, String) {
    let call = (case.call)(world, who);
    let request = world.request(who, &call);
    if call.stream {
        let response = app.router.clone().oneshot(request).await.unwrap();
        return (response.status().as_u16(), String::new());
    }
    let (status, _, body) = app.send(request).await;
    (status.as_u16(), body)
}

/// Let through: 501 too, which MLflow's multipart routes answer once the caller may use them.
fn ok(status: u16) -> bool {
    (status < 500 || status == 501) && !matches!(status, 401 | 403 | 404)
}

#[tokio::test]
async fn every_route_answers_every_kind_of_caller_as_its_policy_says() {
    let world = World::new().await;
    let mut wrong = Vec::new();
    let mut calls = 0;
    for case in cases() {
        // Refusals change nothing, so they share one copy; each caller let through gets its own,
        // so one caller's change (a deleted tag, an archived project) does not meet the next.
        let shared = world.app.copy().await;
        for who in EVERYONE {
            let want = expected(case.api, case.policy, who);
            let fresh;
            let app = match want {
                Some(_) => &shared,
                None => {
                    fresh = world.app.copy().await;
                    &fresh
                }
            };
            let (status, body) = answer(&world, app, &case, who).await;
            calls += 1;
            let right = match want {
                Some(refusal) => status == refusal,
                None => ok(status),
            };
            if !right {
                let want = want.map_or("let through".to_owned(), |s| s.to_string());
                let body: String = body.chars().take(200).collect();
                wrong.push(format!(
                    "{} as {who:?}: got {status}, want {want}: {body}",
                    case.label
                ));
            }
        }
    }
    assert!(calls > 500, "{calls} calls");
    assert!(
        wrong.is_empty(),
        "{} wrong answers:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[tokio::test]
async fn metrics_are_open_without_a_metrics_token_and_only_for_it_with_one() {
    let world = World::new().await;
    let scrape = Call {
        method: Method::GET,
        uri: "/metrics".into(),
        body: Payload::None,
        stream: false,
    };
    let metrics_token = "scrape-only-7f3a";
    let guarded = server::startup::router(
        world.app.state.clone(),
        server::monitoring::Monitor::new(Some(&server::secret::Secret::new(metrics_token))),
    );
    let mut wrong = Vec::new();
    for who in EVERYONE {
        let (open, _, _) = world.app.send(world.request(who, &scrape)).await;
        let refused = guarded
            .clone()
            .oneshot(world.request(who, &scrape))
            .await
            .unwrap()
            .status();
        if (open, refused) != (StatusCode::OK, StatusCode::UNAUTHORIZED) {
            wrong.push(format!(
                "{who:?}: {open} without a metrics token, {refused} with one"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let with_token = Request::get("/metrics")
        .header(header::AUTHORIZATION, format!("Bearer {metrics_token}"))
        .body(Body::empty())
        .unwrap();
    let answer = guarded.oneshot(with_token).await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_job_cannot_be_sent_back_to_the_queue_by_its_own_token() {
    let world = World::new().await;
    let own = world
        .tokens
        .iter()
        .find(|(w, _)| *w == Who::OwnJob)
        .unwrap();
    let call = |status: &str| {
        Request::post(format!("/api/v1/jobs/{}/status", world.public.job_uid))
            .header(header::AUTHORIZATION, format!("Bearer {}", own.1))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({ "status": status }).to_string()))
            .unwrap()
    };
    let id = job_id(&world.app.db, &world.public.job_uid).await;
    sqlx::query("UPDATE jobs SET status = $1 WHERE id = $2")
        .bind(JobStatus::Running.code())
        .bind(id)
        .execute(world.app.db.pool())
        .await
        .unwrap();
    for status in ["queued", "starting"] {
        let (answer, _, body) = world.app.send(call(status)).await;
        assert_eq!(answer, StatusCode::CONFLICT, "{body}");
        assert!(body.contains("its runner reports its status"), "{body}");
    }
    let stored = db::jobs::status(&world.app.db, id).await.unwrap();
    assert_eq!(stored, Some(JobStatus::Running), "unchanged");
    let (answer, _, body) = world.app.send(call("succeeded")).await;
    assert_eq!(answer, StatusCode::OK, "a job may say it ended: {body}");
}

async fn job_id(db: &Db, uid: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM jobs WHERE uid = $1")
        .bind(uid)
        .fetch_one(db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn pages_are_for_people_not_for_jobs_and_private_ones_do_not_exist_for_strangers() {
    let world = World::new().await;
    let page = |who: Who, path: &str| {
        let call = Call {
            method: Method::GET,
            uri: path.to_owned(),
            body: Payload::None,
            stream: false,
        };
        world.request(who, &call)
    };
    // The MLflow client's links (`/#/experiments/ID/runs/RUN`, made paths by the page) are
    // pages too: they send people on to the project or job, if they may see it.
    let (secret, open) = (&world.private, &world.public);
    let secret_run = format!("/experiments/{}/runs/{}", secret.project_id, secret.job_uid);
    let open_experiment = format!("/experiments/{}", open.project_id);
    for (who, path, want) in [
        (Who::Owner, "/u/ann/p/secret", 200),
        (Who::Admin, "/u/ann/p/secret", 200),
        (Who::Viewer, "/u/ann/p/open", 200),
        (Who::Viewer, "/u/ann/p/secret", 404),
        (Who::ReadToken, "/u/ann/p/open", 200),
        (Who::OwnJob, "/u/ann/p/open", 403),
        (Who::Runner, "/u/ann/p/open", 303),
        (Who::Owner, secret_run.as_str(), 303),
        (Who::Member, secret_run.as_str(), 303),
        (Who::Viewer, secret_run.as_str(), 404),
        (Who::Viewer, open_experiment.as_str(), 303),
        (Who::Anonymous, open_experiment.as_str(), 303),
        (Who::OwnJob, open_experiment.as_str(), 403),
        (Who::Runner, secret_run.as_str(), 303),
        (Who::Owner, "/experiments/999999", 404),
        // Experiment 0 is the caller's Default project, which a followed link must not make.
        (Who::Viewer, "/experiments/0", 404),
    ] {
        let (status, headers, body) = world.app.send(page(who, path)).await;
        if status.as_u16() == 303 {
            let to = headers[axum::http::header::LOCATION].to_str().unwrap();
            let signed_in = !matches!(who, Who::Anonymous | Who::Runner);
            assert_eq!(
                to.starts_with("/login?next="),
                !signed_in,
                "{who:?} {path}: {to}"
            );
            if signed_in && path == secret_run {
                assert_eq!(to, format!("/u/ann/p/secret/j/{}", secret.job_number));
            }
        }
        let body: String = body.chars().take(200).collect();
        assert_eq!(status.as_u16(), want, "{who:?} {path}: {body}");
    }
    let cat = world.app.user_id("cat").await;
    let made = app::db::projects::find_visible(&world.app.db, cat, "cat", "Default").await;
    assert!(made.unwrap().is_none(), "a GET made a project");
}

#[tokio::test]
async fn a_registered_model_without_versions_is_its_creators_and_not_her_jobs() {
    let world = World::new().await;
    let ann = world.app.user_id("ann").await;
    let mut tx = world.app.db.begin().await.unwrap();
    db::registry::create(&mut tx, "unplaced", ann, "", &[])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let token = |who: Who| &world.tokens.iter().find(|(w, _)| *w == who).unwrap().1;
    let read_token = token(Who::ReadToken);
    let get = |secret: &str, path: &str| {
        Request::get(format!("/api/2.0/mlflow/{path}"))
            .header(header::AUTHORIZATION, format!("Bearer {secret}"))
            .body(Body::empty())
            .unwrap()
    };
    let (status, _, body) = world
        .app
        .send(get(read_token, "registered-models/get?name=unplaced"))
        .await;
    assert_eq!(status, StatusCode::OK, "ann's own token reads it: {body}");
    for who in [Who::OwnJob, Who::Stranger] {
        let (status, _, body) = world
            .app
            .send(get(token(who), "registered-models/get?name=unplaced"))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{who:?}: {body}");
        let (_, _, listed) = world
            .app
            .send(get(token(who), "registered-models/search"))
            .await;
        assert!(!listed.contains("unplaced"), "{who:?}: {listed}");
    }
}
