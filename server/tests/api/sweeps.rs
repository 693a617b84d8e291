//! Sweeps through the REST API and the scheduler's sweep driver, on a real SQLite store whose
//! trial jobs the test runs itself: it plays the runner, moving jobs and logging metrics.

use super::helpers::TestApp;
use app::db::sweeps::{self, TrialState};
use app::db::{self, events, metrics::Point, Db};
use app::model::JobStatus;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::{json, Value};
use server::scheduler::sweeps::{drive, priors};
use server::spec::{parse_sweep, SweepRequest};

/// A sweep of `trials` trials, `parallel` at a time, over `x` in [0, 1]; `extra` is more YAML.
fn spec(trials: u32, parallel: u32, extra: &str) -> String {
    format!(
        "sweep: quad\nproject: ann/lab\njob:\n  command: run {{{{x}}}}\n\
         space: {{x: {{uniform: [0, 1]}}}}\nobjective: {{metric: loss, goal: minimize}}\n\
         algorithm: random\nseed: 3\ntrials: {trials}\nparallel: {parallel}\n{extra}"
    )
}

struct Lab {
    app: TestApp,
    token: String,
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
            token,
            project,
        }
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::CONTENT_TYPE, "application/json");
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        let (status, _, text) = self.app.send(request.body(body).unwrap()).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Starts the sweep `yaml` describes through the API; returns its id.
    async fn start(&self, yaml: &str, cloned_from: Option<i64>) -> i64 {
        let request = SweepRequest {
            spec: parse_sweep("sweep.yaml", yaml).unwrap(),
            snapshot: None,
            cloned_from,
        };
        let body = serde_json::to_value(&request).unwrap();
        let (status, answer) = self
            .call("POST", "/api/v1/projects/ann/lab/sweeps", Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        answer["id"].as_i64().unwrap()
    }

    async fn drive(&self, sweep: i64) {
        drive(&self.app.state, sweep).await.unwrap();
    }

    async fn trials(&self, sweep: i64) -> Vec<sweeps::Trial> {
        sweeps::trials(&self.app.db, sweep).await.unwrap()
    }

    async fn state(&self, sweep: i64) -> (String, Option<String>) {
        let sweep = sweeps::find(&self.app.db, sweep).await.unwrap().unwrap();
        (sweep.state, sweep.reason)
    }

    /// Plays the runner for `job`: running, the objective `loss` at steps 1, 2, …, then `end`.
    async fn run_job(&self, job: i64, losses: &[f64], end: Option<JobStatus>) {
        set_status(&self.app.db, job, JobStatus::Running).await;
        let points: Vec<Point> = (1..)
            .zip(losses)
            .map(|(step, value)| Point {
                step,
                wall_ms: step,
                value: *value,
            })
            .collect();
        let mut tx = self.app.db.begin().await.unwrap();
        db::metrics::append(&mut tx, self.project, job, "loss", &points)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        if let Some(end) = end {
            set_status(&self.app.db, job, end).await;
        }
    }
}

async fn set_status(db: &Db, job: i64, status: JobStatus) {
    let mut tx = db.begin().await.unwrap();
    db::jobs::set_status(&mut tx, job, status, db::now_ms())
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// The trial's `x`, and the loss of a bowl with its bottom at x = 0.3.
fn loss(trial: &sweeps::Trial) -> f64 {
    let params: Value = serde_json::from_str(&trial.params).unwrap();
    (params["x"].as_f64().unwrap() - 0.3).powi(2)
}

#[tokio::test]
async fn a_sweep_runs_exactly_its_budget_never_more_than_parallel_at_once() {
    let lab = Lab::new().await;
    let id = lab.start(&spec(7, 3, ""), None).await;
    for _ in 0..20 {
        lab.drive(id).await;
        let trials = lab.trials(id).await;
        let active: Vec<_> = trials.iter().filter(|t| t.state().is_active()).collect();
        assert!(active.len() <= 3, "{} trials at once", active.len());
        if active.is_empty() {
            break;
        }
        // Finish one trial per pass, so each pass has room for exactly one more.
        lab.run_job(
            active[0].job_id,
            &[1.0, loss(active[0])],
            Some(JobStatus::Succeeded),
        )
        .await;
    }
    let trials = lab.trials(id).await;
    assert_eq!(trials.len(), 7);
    assert!(trials.iter().all(|t| t.state() == TrialState::Completed));
    assert_eq!(lab.state(id).await.0, "finished");
    let project = db::projects::find_visible_by_id(&lab.app.db, 1, lab.project)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(project.job_count, 7, "one job per trial, no more");

    let (status, shown) = lab.call("GET", &format!("/api/v1/sweeps/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    let best = trials
        .iter()
        .min_by(|a, b| a.value.unwrap().total_cmp(&b.value.unwrap()))
        .unwrap();
    assert_eq!(shown["best"]["index"], best.trial_index);
    assert_eq!(shown["trials"].as_array().unwrap().len(), 7);
    assert_eq!(shown["trials"][0]["job"]["status"], "succeeded");
    let command = db::jobs::find_in_project(&lab.app.db, lab.project, "1")
        .await
        .unwrap()
        .unwrap()
        .command;
    assert_eq!(
        command,
        format!(
            "run {}",
            json!(serde_json::from_str::<Value>(&trials[0].params).unwrap()["x"])
        )
    );
    let (_, listed) = lab
        .call("GET", "/api/v1/projects/ann/lab/sweeps", None)
        .await;
    assert_eq!(listed["sweeps"][0]["trial_count"], 7);
}

#[tokio::test]
async fn a_hopeless_trial_is_stopped_with_its_reason_and_its_job_cancelled() {
    let lab = Lab::new().await;
    let rule = "early_stopping: {median: {min_trials: 2}}\n";
    let id = lab.start(&spec(3, 3, rule), None).await;
    lab.drive(id).await;
    let trials = lab.trials(id).await;
    assert_eq!(trials.len(), 3);
    lab.run_job(trials[0].job_id, &[1.0, 1.0, 1.0], None).await;
    lab.run_job(trials[1].job_id, &[1.0, 0.9, 0.8], None).await;
    lab.run_job(trials[2].job_id, &[5.0, 5.0, 5.0], None).await;
    lab.drive(id).await;

    let trials = lab.trials(id).await;
    let states: Vec<TrialState> = trials.iter().map(sweeps::Trial::state).collect();
    assert_eq!(
        states,
        [
            TrialState::Running,
            TrialState::Running,
            TrialState::Stopped
        ]
    );
    let stopped = &trials[2];
    assert_eq!((stopped.value, stopped.step), (Some(5.0), Some(3)));
    let reason = stopped.reason.as_deref().unwrap();
    assert!(
        reason == "median rule at step 3: best 5 is worse than the median 0.95 of 2 other trials",
        "{reason}"
    );
    assert_eq!(
        trials[0].judged_to,
        Some(3),
        "the others were judged and went on"
    );

    let mut conn = lab.app.db.pool().acquire().await.unwrap();
    let cancels: Vec<_> = events::after(&mut conn, 0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "job.cancel")
        .map(|e| e.job_id)
        .collect();
    assert_eq!(
        cancels,
        [Some(stopped.job_id)],
        "cancelled as the API cancels a job"
    );
}

#[tokio::test]
async fn consecutive_failures_stop_the_sweep_instead_of_burning_the_budget() {
    let lab = Lab::new().await;
    let id = lab.start(&spec(20, 2, "max_failures: 3\n"), None).await;
    lab.drive(id).await;
    let trials = lab.trials(id).await;
    lab.run_job(trials[0].job_id, &[0.5], Some(JobStatus::Succeeded))
        .await;
    lab.run_job(trials[1].job_id, &[], Some(JobStatus::Failed))
        .await;
    lab.drive(id).await;
    let trials = lab.trials(id).await;
    assert_eq!(trials.len(), 4);
    // Succeeded without ever reporting the objective: a failure too.
    lab.run_job(trials[2].job_id, &[], Some(JobStatus::Succeeded))
        .await;
    lab.drive(id).await;
    assert_eq!(
        lab.state(id).await.0,
        "running",
        "two in a row is not three"
    );
    let trials = lab.trials(id).await;
    assert_eq!(
        trials[2].reason.as_deref(),
        Some("job #3 succeeded but never reported a finite `loss`")
    );
    lab.run_job(trials[3].job_id, &[], Some(JobStatus::Failed))
        .await;
    lab.drive(id).await;

    let (state, reason) = lab.state(id).await;
    assert_eq!(state, "failed");
    let reason = reason.unwrap();
    assert!(
        reason.starts_with("3 trials in a row failed (max_failures is 3)"),
        "{reason}"
    );
    let trials = lab.trials(id).await;
    assert_eq!(
        trials.len(),
        5,
        "no trial was queued after the third failure"
    );
    assert_eq!(
        trials[4].state(),
        TrialState::Failed,
        "the queued trial ended with the sweep"
    );
    let job = db::jobs::status(&lab.app.db, trials[4].job_id)
        .await
        .unwrap();
    assert_eq!(job, Some(JobStatus::Cancelled));
}

#[tokio::test]
async fn a_restarted_driver_finishes_with_exactly_the_budget_even_when_two_race() {
    let lab = Lab::new().await;
    let id = lab.start(&spec(9, 4, ""), None).await;
    lab.drive(id).await;
    for trial in lab.trials(id).await.iter().take(3) {
        lab.run_job(trial.job_id, &[loss(trial)], Some(JobStatus::Succeeded))
            .await;
    }
    // The server restarts: a new store handle and state, nothing carried over in memory; and a
    // second replica drives the same sweep at the same moment.
    let restarted = restarted_state(&lab.app).await;
    let (a, b) = tokio::join!(drive(&restarted, id), drive(&lab.app.state, id));
    assert!(a.is_ok() || b.is_ok());
    loop {
        let trials = lab.trials(id).await;
        let active: Vec<_> = trials.iter().filter(|t| t.state().is_active()).collect();
        assert!(active.len() <= 4);
        if active.is_empty() {
            break;
        }
        for trial in active {
            lab.run_job(trial.job_id, &[loss(trial)], Some(JobStatus::Succeeded))
                .await;
        }
        drive(&restarted, id).await.unwrap();
    }
    let trials = lab.trials(id).await;
    let indexes: Vec<i64> = trials.iter().map(|t| t.trial_index).collect();
    assert_eq!(indexes, (0..9).collect::<Vec<_>>());
    assert_eq!(lab.state(id).await.0, "finished");
}

/// The same store opened anew, as a restarted server has it.
async fn restarted_state(app: &TestApp) -> app::state::AppState {
    let (state, file) = (&app.state, app.files_dir().with_file_name("api.db"));
    let db = Db::open(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    app::state::AppState {
        db,
        ..state.clone()
    }
}

#[tokio::test]
async fn a_wider_clone_learns_from_exactly_the_old_trials_its_space_contains() {
    let lab = Lab::new().await;
    let old = lab.start(&spec(6, 6, ""), None).await;
    lab.drive(old).await;
    for trial in lab.trials(old).await {
        lab.run_job(trial.job_id, &[loss(&trial)], Some(JobStatus::Succeeded))
            .await;
    }
    lab.drive(old).await;
    let old_trials = lab.trials(old).await;
    let x = |t: &sweeps::Trial| {
        serde_json::from_str::<Value>(&t.params).unwrap()["x"]
            .as_f64()
            .unwrap()
    };

    let wider = parse_sweep("sweep.yaml", &spec(4, 2, ""))
        .unwrap()
        .with_changes(&["space.x.low=0.5".into(), "space.x.high=2".into()])
        .unwrap();
    let yaml = serde_yaml_ng::to_string(&wider).unwrap();
    let clone = lab.start(&yaml, Some(old)).await;
    let stored = sweeps::find(&lab.app.db, clone).await.unwrap().unwrap();
    assert_eq!(stored.cloned_from, Some(old));

    let learned = priors(&wider.space, &old_trials);
    let mut want: Vec<f64> = old_trials.iter().map(x).filter(|x| *x >= 0.5).collect();
    let mut got: Vec<f64> = learned
        .iter()
        .map(|o| o.params["x"].as_f64().unwrap())
        .collect();
    want.sort_by(f64::total_cmp);
    got.sort_by(f64::total_cmp);
    assert_eq!(got, want, "every old trial inside [0.5, 2], none outside");
    assert!(
        want.len() < old_trials.len(),
        "the test needs trials on both sides"
    );

    lab.drive(clone).await;
    let trials = lab.trials(clone).await;
    assert_eq!(
        trials.len(),
        2,
        "priors do not count against the new budget"
    );
    assert!(trials.iter().all(|t| (0.5..=2.0).contains(&x(t))));
}

#[tokio::test]
async fn bad_sweeps_are_refused_and_cancel_ends_a_running_one() {
    let lab = Lab::new().await;
    let mut request = serde_json::to_value(SweepRequest {
        spec: parse_sweep("sweep.yaml", &spec(4, 2, "")).unwrap(),
        snapshot: None,
        cloned_from: None,
    })
    .unwrap();
    request["spec"]["parallel"] = json!(0);
    let path = "/api/v1/projects/ann/lab/sweeps";
    let (status, answer) = lab.call("POST", path, Some(request.clone())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["error"]["field"], "spec.parallel");
    request["spec"]["parallel"] = json!(2);
    request["spec"]["space"]["x"] = json!({"log_uniform": [0, 1]});
    let (status, answer) = lab.call("POST", path, Some(request.clone())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["error"]["field"], "spec.space.x");
    request["spec"]["space"]["x"] = json!({"uniform": [0, 1]});
    request["cloned_from"] = json!(999);
    let (status, answer) = lab.call("POST", path, Some(request)).await;
    assert_eq!(
        (status, &answer["error"]["field"]),
        (StatusCode::BAD_REQUEST, &json!("cloned_from"))
    );
    assert!(sweeps::list_for_project(&lab.app.db, lab.project, 10)
        .await
        .unwrap()
        .is_empty());
    let (status, _) = lab.call("GET", "/api/v1/sweeps/999", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let yaml = spec(4, 2, "");
    let id = lab.start(&yaml, None).await;
    let again = serde_json::to_value(SweepRequest {
        spec: parse_sweep("sweep.yaml", &yaml).unwrap(),
        snapshot: None,
        cloned_from: None,
    })
    .unwrap();
    let (status, answer) = lab.call("POST", path, Some(again)).await;
    assert_eq!(
        (status, &answer["action"]),
        (StatusCode::OK, &json!("unchanged"))
    );
    lab.drive(id).await;
    let (status, answer) = lab
        .call(
            "POST",
            &format!("/api/v1/sweeps/{id}/cancel"),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (status, &answer["result"]),
        (StatusCode::OK, &json!("stopped"))
    );
    let (state, reason) = lab.state(id).await;
    assert_eq!(
        (state.as_str(), reason.as_deref()),
        ("stopped", Some("cancelled by ann"))
    );
    for trial in lab.trials(id).await {
        assert_eq!(trial.state(), TrialState::Failed);
        let job = db::jobs::status(&lab.app.db, trial.job_id).await.unwrap();
        assert_eq!(job, Some(JobStatus::Cancelled));
    }
    lab.drive(id).await;
    assert_eq!(
        lab.trials(id).await.len(),
        2,
        "a stopped sweep queues nothing more"
    );
}
