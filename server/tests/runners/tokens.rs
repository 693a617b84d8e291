//! A job's own token, used by a real job on a real runner: it writes to its job and the runs it
//! starts, reads its project, and nothing else; it dies when the job ends.

use crate::harness::Cluster;
use serde_json::{json, Value};
use std::time::Duration;

/// Tries what a job's token may and may not do, printing `what=STATUS` lines, and keeps the
/// token as an artifact so the test can try it after the job ended.
const PROBE: &str = r#"
import json, os, urllib.request, urllib.error
server, token = os.environ["MILLRACE_SERVER"], os.environ["MILLRACE_TOKEN"]
me, other = os.environ["MILLRACE_JOB_ID"], os.environ["OTHER_JOB"]

def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(server + path, data=data, method=method, headers={
        "Authorization": "Bearer " + token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None

point = {"points": [{"key": "probe", "value": 1}]}
print("own=%d" % call("POST", f"/api/v1/jobs/{me}/metrics", point)[0])
print("sibling=%d" % call("POST", f"/api/v1/jobs/{other}/metrics", point)[0])
print("read_sibling=%d" % call("GET", f"/api/v1/jobs/{other}")[0])
status, experiment = call("GET", "/api/2.0/mlflow/experiments/get-by-name?experiment_name=lab")
status, run = call("POST", "/api/2.0/mlflow/runs/create",
                   {"experiment_id": experiment["experiment"]["experiment_id"]})
nested = run["run"]["info"]["run_id"]
print("nested=%d" % call("POST", "/api/2.0/mlflow/runs/log-metric",
      {"run_id": nested, "key": "loss", "value": 0.5, "timestamp": 1, "step": 0})[0])
print("private=%d" % call("GET", "/api/v1/projects/ann/vault/jobs/1")[0])
print("queue=%d" % call("POST", "/api/v1/projects/ann/lab/apply",
      {"name": "spawned", "plan": {"command": {"shell": "true"}}})[0])
print("runner=%d" % call("POST", "/api/v1/runner/lease", {"runner_id": 1})[0])
print("page=%d" % call("GET", "/u/ann")[0])
with open("token.txt", "w") as f:
    f.write(token)
"#;

#[tokio::test]
async fn a_jobs_token_acts_only_for_its_job_and_dies_with_it() {
    let mut cluster = Cluster::start("5s").await;
    let client = cluster.client();
    let _: Value = client
        .post(
            "/api/2.0/mlflow/experiments/create",
            &json!({ "name": "vault" }),
        )
        .await
        .unwrap();
    let sibling: Value = client
        .post(
            "/api/v1/projects/ann/lab/jobs",
            &json!({ "name": "sibling" }),
        )
        .await
        .unwrap();
    let _: Value = client
        .post(
            "/api/v1/projects/ann/vault/jobs",
            &json!({ "name": "secret" }),
        )
        .await
        .unwrap();
    let code = cluster.project_dir("probe", &[("probe.py", PROBE)]);
    let request = json!({
        "name": "probe",
        "plan": {
            "command": { "shell": "python3 probe.py" },
            "env": { "OTHER_JOB": sibling["uid"] },
            "artifacts": ["token.txt"],
        },
    });
    let snapshot = server::snapshot::pack(&code, u64::MAX, false).unwrap();
    let uploaded: Value = client
        .send_bytes(reqwest::Method::POST, "/api/v1/snapshots", snapshot)
        .await
        .unwrap();
    let mut request = request;
    request["plan"]["snapshot"] = uploaded["sha256"].clone();
    let queued: Value = client
        .post("/api/v1/projects/ann/lab/apply", &request)
        .await
        .unwrap();
    let uid = queued["uid"].as_str().unwrap().to_owned();
    cluster.runner("r1", "0", &[]);
    let job = cluster
        .wait_status(&uid, &["succeeded", "failed"], Duration::from_secs(60))
        .await;
    let (log, _) = cluster.output(&uid).await;
    assert_eq!(job["status"], "succeeded", "{log}");
    for line in [
        "own=200",
        "sibling=403",
        "read_sibling=200",
        "nested=200",
        "private=404",
        "queue=403",
        "runner=403",
        "page=403",
    ] {
        assert!(log.contains(line), "{line} in:\n{log}");
    }

    let token = client
        .get_bytes(&format!("/api/v1/jobs/{uid}/artifacts/token.txt"))
        .await
        .unwrap();
    let token = String::from_utf8(token).unwrap();
    let after = reqwest::Client::new()
        .get(format!("{}/api/v1/me", cluster.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401, "the job ended, so its token died");
}
