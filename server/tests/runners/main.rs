//! Running jobs end to end: a real server, runners and CLI as processes, real shell and Python
//! jobs, on this machine.

mod gpus;
mod harness;
mod pipelines;
mod pools;
mod secrets;
mod sweep;
mod system;
mod tokens;

use harness::{spec, uid_of, Cluster};
use serde_json::{json, Value};
use std::time::Duration;

const TRAIN: &str = r#"
import json, os, sys, time
lr = float(sys.argv[1])
for step in range(5):
    print(f"step={step} loss={lr / (step + 1):.4f}")
    print(json.dumps({"acc": step / 10, "step": step}))
    time.sleep(0.05)
print("a warning", file=sys.stderr)
os.makedirs("out", exist_ok=True)
with open("out/model.txt", "w") as f:
    f.write(os.environ["MILLRACE_JOB_ID"] + " " + os.environ["CUDA_VISIBLE_DEVICES"])
"#;

const TRAIN_SPEC: &str = "\
name: train
project: ann/lab
command: python3 train.py {{lr}}
code: .
params:
  lr: 0.5
resources:
  gpus: 1
metrics:
  names: [loss, acc]
artifacts: [out/*.txt]
";

fn stdout(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Queues a shell command as spec `name` through the API; returns the job's uid.
async fn queue(cluster: &Cluster, name: &str, command: &str, extra: Value) -> String {
    let mut request = json!({
        "name": name,
        "plan": { "command": { "shell": command } },
    });
    for (key, value) in extra.as_object().unwrap() {
        request[key] = value.clone();
    }
    let answer: Value = cluster
        .client()
        .post("/api/v1/projects/ann/lab/apply", &request)
        .await
        .unwrap();
    answer["uid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_spec_runs_once_on_one_of_two_runners_with_its_metrics_logs_and_artifact() {
    let mut cluster = Cluster::start("5s").await;
    cluster.runner("r1", "0,1", &[]);
    cluster.runner("r2", "0,1", &[]);
    let code = cluster.project_dir("code", &[("train.py", TRAIN)]);
    let file = spec(&code, TRAIN_SPEC);

    let dry = stdout(&cluster.cli(&["apply", "-f", file.to_str().unwrap(), "--dry-run"], &code));
    assert!(dry.contains("train: would queue a new job"), "{dry}");
    let applied = stdout(&cluster.cli(&["apply", "-f", "job.yaml"], &code));
    assert!(applied.contains("train: queued job #1"), "{applied}");
    let again = stdout(&cluster.cli(&["apply", "-f", "job.yaml"], &code));
    assert!(again.contains("train: unchanged, job #1"), "{again}");

    let uid = uid_of(&cluster, 1).await;
    let job = cluster
        .wait_status(&uid, &["succeeded", "failed"], Duration::from_secs(60))
        .await;
    let (log, end) = cluster.output(&uid).await;
    assert_eq!(job["status"], "succeeded", "{log}");
    assert!(
        log.contains("step=4 loss=0.1000\n") && log.contains("a warning\n"),
        "{log}"
    );
    let runner = end["runner"].as_str().unwrap();
    assert!(["r1", "r2"].contains(&runner));
    let metrics: Vec<(String, i64, i64)> = job["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["key"].as_str().unwrap().to_owned(),
                m["count"].as_i64().unwrap(),
                m["last_step"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(metrics, [("acc".into(), 5, 4), ("loss".into(), 5, 4)]);
    assert!(
        job["cost_usd"].as_f64().unwrap() > 0.0,
        "1 GPU at $3.60/h: {}",
        job["cost_usd"]
    );

    let listed: Value = cluster
        .client()
        .get(&format!("/api/v1/jobs/{uid}/artifacts"))
        .await
        .unwrap();
    assert_eq!(listed["artifacts"][0]["path"], "out/model.txt");
    let kept = cluster
        .client()
        .get_bytes(&format!("/api/v1/jobs/{uid}/artifacts/out/model.txt"))
        .await
        .unwrap();
    let kept = String::from_utf8(kept).unwrap();
    assert!(
        kept == format!("{uid} 0") || kept == format!("{uid} 1"),
        "{kept}"
    );

    // Only one job ever existed: the second apply changed nothing.
    let second: Result<Value, _> = cluster
        .client()
        .get("/api/v1/projects/ann/lab/jobs/2")
        .await;
    assert!(second.is_err());
    let other = if runner == "r1" { "r2" } else { "r1" };
    assert!(
        !cluster.runner_log(other).contains(&uid),
        "the job ran on {runner} only"
    );

    // The runners page lists both, server-rendered.
    let page = cluster.page("/runners").await;
    assert!(
        page.contains("<td>r1<") && page.contains("<td>r2<"),
        "{page}"
    );
    assert!(
        page.contains("0 of 2 (0, 1)"),
        "no GPU busy any more: {page}"
    );
}

#[tokio::test]
async fn a_failing_command_fails_with_its_exit_code_and_the_runner_goes_on() {
    let mut cluster = Cluster::start("5s").await;
    cluster.runner("r1", "", &[]);
    let failing = queue(&cluster, "failing", "echo boom >&2; exit 3", json!({})).await;
    let missing = queue(
        &cluster,
        "missing",
        "x",
        json!({ "plan": { "command": { "argv": ["no-such-program-8d1f"] } } }),
    )
    .await;
    let after = queue(&cluster, "after", "echo fine", json!({})).await;

    cluster
        .wait_status(&failing, &["failed"], Duration::from_secs(30))
        .await;
    let (log, end) = cluster.output(&failing).await;
    assert_eq!(
        (end["exit_code"].as_i64(), end["error"].as_str()),
        (Some(3), Some("exited with code 3")),
        "{log}"
    );
    assert!(log.contains("boom\n"));

    cluster
        .wait_status(&missing, &["failed"], Duration::from_secs(30))
        .await;
    let (log, end) = cluster.output(&missing).await;
    assert!(
        end["error"]
            .as_str()
            .unwrap()
            .contains("cannot start `no-such-program-8d1f`"),
        "{end}"
    );
    assert!(log.contains("millrace: cannot start"), "{log}");

    cluster
        .wait_status(&after, &["succeeded"], Duration::from_secs(30))
        .await;
}

#[tokio::test]
async fn cancel_stops_a_long_job_within_seconds() {
    let mut cluster = Cluster::start("5s").await;
    cluster.runner("r1", "", &[]);
    let uid = queue(&cluster, "long", "echo started; sleep 600", json!({})).await;
    cluster
        .wait_status(&uid, &["running"], Duration::from_secs(30))
        .await;
    let column = cluster.page("/u/ann/p/lab").await;
    assert!(
        column.contains("#1 · on r1"),
        "the jobs column names the runner: {column}"
    );
    let started = std::time::Instant::now();
    let said = stdout(&cluster.cli(&["cancel", &uid], cluster.dir.path()));
    assert!(said.contains("stopping"), "{said}");
    cluster
        .wait_status(&uid, &["cancelled"], Duration::from_secs(10))
        .await;
    println!("cancel took {:?}", started.elapsed());
    let (log, _) = cluster.output(&uid).await;
    assert!(
        log.contains("started\n") && log.contains("cancelled; stopping the job"),
        "{log}"
    );
}

#[tokio::test]
async fn a_killed_runner_loses_its_job_or_hands_it_to_another_when_retries_remain() {
    let mut cluster = Cluster::start("2s").await;
    cluster.runner("doomed", "", &[]);
    let lost = queue(&cluster, "lost", "sleep 600", json!({})).await;
    cluster
        .wait_status(&lost, &["running"], Duration::from_secs(30))
        .await;
    let retried = queue(&cluster, "retried", "sleep 600", json!({ "retries": 1 })).await;
    cluster.kill_runner("doomed");
    cluster.runner("doomed-2", "", &["--max-jobs", "2"]);
    // `retried` waited in the queue while `doomed` was busy: the second runner takes it first.
    cluster
        .wait_status(&retried, &["running"], Duration::from_secs(30))
        .await;
    let job = cluster
        .wait_status(&lost, &["lost"], Duration::from_secs(15))
        .await;
    let (_, end) = cluster.output(&lost).await;
    assert_eq!(end["error"], "runner doomed stopped reporting", "{job}");

    // Now the runner running `retried` dies; its retry puts it on the next runner.
    cluster.kill_runner("doomed-2");
    cluster.runner("rescuer", "", &[]);
    cluster
        .wait_status(
            &retried,
            &["queued", "starting", "running"],
            Duration::from_secs(15),
        )
        .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (_, end) = cluster.output(&retried).await;
        if end["runner"] == "rescuer" && end["status"] == "running" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{end}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_server_restart_in_the_middle_of_a_job_loses_no_log_line() {
    let mut cluster = Cluster::start("20s").await;
    cluster.runner("r1", "", &[]);
    let uid = queue(
        &cluster,
        "chatty",
        "for i in $(seq 1 60); do echo line $i; sleep 0.05; done",
        json!({}),
    )
    .await;
    cluster
        .wait_status(&uid, &["running"], Duration::from_secs(30))
        .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    cluster.kill_server();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    cluster.start_server().await;
    cluster
        .wait_status(&uid, &["succeeded"], Duration::from_secs(60))
        .await;
    let (log, _) = cluster.output(&uid).await;
    let expected: String = (1..=60).map(|i| format!("line {i}\n")).collect();
    assert_eq!(log, expected);
}

#[tokio::test]
async fn twenty_jobs_on_two_runners_never_share_a_gpu() {
    let mut cluster = Cluster::start("5s").await;
    cluster.runner("a", "a0,a1", &["--max-jobs", "4"]);
    cluster.runner("b", "b0,b1", &["--max-jobs", "4"]);
    let record = cluster.dir.path().join("gpus.log");
    let script = format!(
        "echo \"$CUDA_VISIBLE_DEVICES start $(date +%s%N)\" >> {0}; sleep 0.3; echo \"$CUDA_VISIBLE_DEVICES end $(date +%s%N)\" >> {0}",
        record.display()
    );
    let mut uids = Vec::new();
    for i in 0..20 {
        uids.push(queue(&cluster, &format!("gpu-{i}"), &script, json!({ "gpus": 1 })).await);
    }
    for uid in &uids {
        cluster
            .wait_status(uid, &["succeeded"], Duration::from_secs(120))
            .await;
    }
    let text = std::fs::read_to_string(&record).unwrap();
    let mut busy: std::collections::HashMap<String, bool> = Default::default();
    let mut events: Vec<(u128, String, bool)> = text
        .lines()
        .map(|line| {
            let parts: Vec<&str> = line.split(' ').collect();
            (
                parts[2].parse().unwrap(),
                parts[0].to_owned(),
                parts[1] == "start",
            )
        })
        .collect();
    events.sort_by_key(|(at, _, start)| (*at, *start));
    assert_eq!(events.len(), 40);
    for (_, gpu, start) in events {
        assert!(!gpu.contains(','), "one GPU per job: {gpu}");
        let was = busy.insert(gpu.clone(), start).unwrap_or(false);
        assert!(was != start, "GPU {gpu} was given to two jobs at once");
    }
}

#[tokio::test]
async fn a_revoked_runner_token_stops_the_runner_and_its_job_is_lost() {
    let mut cluster = Cluster::start("2s").await;
    cluster.runner("r1", "", &[]);
    let uid = queue(&cluster, "orphan", "sleep 600", json!({})).await;
    cluster
        .wait_status(&uid, &["running"], Duration::from_secs(30))
        .await;
    cluster.admin(&["runner-token", "revoke", "1"]);
    let status = cluster.wait_runner("r1", Duration::from_secs(15));
    assert!(!status.success());
    assert!(
        cluster
            .runner_log("r1")
            .contains("refused the runner token"),
        "{}",
        cluster.runner_log("r1")
    );
    cluster
        .wait_status(&uid, &["lost"], Duration::from_secs(15))
        .await;
}

#[tokio::test]
async fn a_50_mb_line_and_invalid_utf8_are_cut_and_replaced_and_the_job_goes_on() {
    let mut cluster = Cluster::start("5s").await;
    cluster.runner("r1", "", &[]);
    let script = "python3 -c \"import sys; w = sys.stdout.buffer; w.write(b'x' * (50 << 20) + b'\\n'); w.write(b'bad \\xff byte\\n'); w.write(b'after\\n')\"";
    let uid = queue(&cluster, "wide", script, json!({})).await;
    let next = queue(&cluster, "next", "echo next", json!({})).await;
    cluster
        .wait_status(&uid, &["succeeded"], Duration::from_secs(60))
        .await;
    let (log, _) = cluster.output(&uid).await;
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 3, "{}", &log[log.len().saturating_sub(300)..]);
    assert!(lines[0].ends_with(&format!(
        "line cut at 65536 bytes, {} more bytes dropped]",
        (50 << 20) - 65536
    )));
    assert_eq!(&lines[1..], ["bad \u{fffd} byte", "after"]);
    cluster
        .wait_status(&next, &["succeeded"], Duration::from_secs(30))
        .await;
}

#[tokio::test]
async fn spec_errors_and_oversized_snapshots_are_refused_before_anything_is_queued() {
    let cluster = Cluster::start("5s").await;
    let code = cluster.project_dir("bad", &[("weights.bin", &"w".repeat(5000))]);
    spec(&code, &TRAIN_SPEC.replace("command:", "comand:"));
    let output = cluster.cli(&["apply", "-f", "job.yaml"], &code);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("job.yaml:3:1: unknown field `comand`"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `command`?"), "{stderr}");

    spec(&code, TRAIN_SPEC);
    let output = cluster.cli(&["apply", "-f", "job.yaml", "--max-snapshot", "1KB"], &code);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("over the snapshot limit of 1.0 KB")
            && stderr.contains("weights.bin (5.0 KB)"),
        "{stderr}"
    );
    let none: Result<Value, _> = cluster
        .client()
        .get("/api/v1/projects/ann/lab/jobs/1")
        .await;
    assert!(none.is_err(), "nothing was queued");
}

#[tokio::test]
async fn millrace_run_snapshots_the_directory_queues_and_follows_the_output() {
    let mut cluster = Cluster::start("5s").await;
    cluster.runner("r1", "", &[]);
    let code = cluster.project_dir(
        "here",
        &[(
            "hello.sh",
            "echo \"hello from $(pwd | xargs basename)\"; echo loss=0.5 step=1\n",
        )],
    );
    let output = cluster.cli(
        &[
            "run",
            "--project",
            "ann/lab",
            "--metric",
            "loss",
            "--",
            "sh",
            "hello.sh",
        ],
        &code,
    );
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        printed.contains("hello from "),
        "the job's output is followed: {printed}"
    );
    let uid = uid_of(&cluster, 1).await;
    let job = cluster.job(&uid).await;
    assert_eq!(
        (job["status"].as_str(), job["metrics"][0]["key"].as_str()),
        (Some("succeeded"), Some("loss"))
    );

    // A second run of the same command is a new job; `logs` replays it, a failure exits non-zero.
    let failing = cluster.cli(
        &[
            "run",
            "--project",
            "ann/lab",
            "--",
            "sh",
            "-c",
            "echo bye; exit 4",
        ],
        &code,
    );
    assert_eq!(
        failing.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&failing.stderr)
    );
    let replay = cluster.cli(&["logs", "ann/lab/2"], &code);
    assert_eq!(String::from_utf8_lossy(&replay.stdout), "bye\n");
}
