//! A sweep end to end: `millrace apply -f sweep.yaml` on a real server with real runners
//! running a Python script, then `sweep show`, `list`, `clone` and `cancel` from the CLI.

use super::harness::Cluster;
use super::stdout;
use serde_json::Value;
use std::time::{Duration, Instant};

/// A noisy bowl with its bottom, 0, at (0.3, -0.2): each step prints the objective, which
/// falls towards the bowl's value as the "training" goes on.
const QUAD: &str = r#"
import random, sys, time
x, y = float(sys.argv[1]), float(sys.argv[2])
bowl = (x - 0.3) ** 2 + (y + 0.2) ** 2
for step in range(1, 6):
    noise = random.gauss(0, 0.002)
    print(f"step={step} objective={bowl + 0.2 * (5 - step) + noise:.6f}", flush=True)
    time.sleep(0.02)
"#;

const SWEEP: &str = "\
sweep: quad
project: ann/lab
job:
  command: python3 quad.py {{x}} {{y}}
  code: .
  metrics: {names: [objective]}
space:
  x: {uniform: [-1, 1]}
  y: {uniform: [-1, 1]}
objective: {metric: objective, goal: minimize}
algorithm: {tpe: {startup_trials: 8}}
seed: 11
trials: 30
parallel: 4
early_stopping: {median: {min_trials: 4, warmup_steps: 3}}
";

/// How close to the optimum (0) the best trial must come.
const TOLERANCE: f64 = 0.1;

async fn wait_ended(cluster: &Cluster, id: i64, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let sweep: Value = cluster
            .client()
            .get(&format!("/api/v1/sweeps/{id}"))
            .await
            .unwrap();
        if sweep["state"] != "running" {
            return sweep;
        }
        assert!(
            Instant::now() < deadline,
            "sweep {id} still running: {sweep}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_30_trial_tpe_sweep_on_runners_finds_the_bottom_of_a_noisy_bowl() {
    let mut cluster = Cluster::start("5s").await;
    cluster.runner("r1", "0", &["--max-jobs", "2"]);
    cluster.runner("r2", "0", &["--max-jobs", "2"]);
    let code = cluster.project_dir("quad", &[("quad.py", QUAD), ("sweep.yaml", SWEEP)]);
    let started = Instant::now();
    let applied = stdout(&cluster.cli(&["apply", "-f", "sweep.yaml"], &code));
    assert!(
        applied.contains("quad: started sweep 1 of 30 trials, 4 at a time"),
        "{applied}"
    );
    let again = stdout(&cluster.cli(&["apply", "-f", "sweep.yaml"], &code));
    assert!(again.contains("quad: unchanged, sweep 1"), "{again}");

    let sweep = wait_ended(&cluster, 1, Duration::from_secs(300)).await;
    let elapsed = started.elapsed();
    assert_eq!(sweep["state"], "finished", "{sweep}");
    let trials = sweep["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 30, "exactly the budget");
    let count = |state: &str| trials.iter().filter(|t| t["state"] == state).count();
    let (completed, stopped, failed) = (count("completed"), count("stopped"), count("failed"));
    assert_eq!(completed + stopped, 30, "no trial failed: {sweep}");
    for trial in trials.iter().filter(|t| t["state"] == "stopped") {
        let reason = trial["reason"].as_str().unwrap();
        assert!(reason.starts_with("median rule at step"), "{reason}");
    }
    let best = &sweep["best"];
    let value = best["value"].as_f64().unwrap();
    println!(
        "sweep of 30 trials (4 at a time, 2 runners) in {elapsed:.1?}: best objective {value:.4} \
         at x = {:.3}, y = {:.3} (optimum 0 at x = 0.3, y = -0.2; tolerance {TOLERANCE}); \
         {completed} completed, {stopped} stopped early by the median rule, {failed} failed",
        best["params"]["x"].as_f64().unwrap(),
        best["params"]["y"].as_f64().unwrap(),
    );
    assert!(
        value < TOLERANCE,
        "best {value} is not within {TOLERANCE} of 0"
    );

    let shown = stdout(&cluster.cli(&["sweep", "show", "1"], &code));
    assert!(
        shown.contains("sweep 1 quad in ann/lab: finished"),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("best: trial {}", best["index"])),
        "{shown}"
    );
    let listed = stdout(&cluster.cli(&["sweep", "list", "ann/lab"], &code));
    assert!(
        listed.contains("1\tquad\tfinished\t30/30 trials"),
        "{listed}"
    );

    // Run it again, wider; then stop the clone.
    let cloned = stdout(&cluster.cli(
        &[
            "sweep",
            "clone",
            "1",
            "--set",
            "space.x.high=2",
            "--set",
            "trials=8",
        ],
        &code,
    ));
    assert!(cloned.contains("started sweep 2 from sweep 1"), "{cloned}");
    let clone: Value = cluster.client().get("/api/v1/sweeps/2").await.unwrap();
    assert_eq!(clone["cloned_from"], 1);
    assert_eq!(clone["spec"]["space"]["x"]["uniform"][1], 2.0);
    let cancelled = stdout(&cluster.cli(&["sweep", "cancel", "2"], &code));
    assert!(cancelled.contains("sweep 2: stopped"), "{cancelled}");
    let clone = wait_ended(&cluster, 2, Duration::from_secs(5)).await;
    assert_eq!(clone["state"], "stopped");
    let bad = cluster.cli(&["sweep", "clone", "1", "--set", "parallel=0"], &code);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("parallel: parallel is 1 to 1000"));
}

/// A trial of a few steps that takes long enough to be caught mid-sweep.
const SLOW: &str = r#"
import sys, time
x = float(sys.argv[1])
for step in range(1, 4):
    print(f"step={step} objective={x * x / step:.6f}", flush=True)
    time.sleep(0.15)
"#;

const RESTARTED: &str = "\
sweep: restarted
project: ann/lab
job:
  command: python3 slow.py {{x}}
  code: .
  metrics: {names: [objective]}
space:
  x: {uniform: [-1, 1]}
objective: {metric: objective, goal: minimize}
algorithm: random
seed: 5
trials: 12
parallel: 3
";

#[tokio::test]
async fn a_server_killed_mid_sweep_resumes_it_and_runs_exactly_its_budget() {
    let mut cluster = Cluster::start("5s").await;
    cluster.runner("r1", "0", &["--max-jobs", "3"]);
    let code = cluster.project_dir("slow", &[("slow.py", SLOW), ("sweep.yaml", RESTARTED)]);
    let applied = stdout(&cluster.cli(&["apply", "-f", "sweep.yaml"], &code));
    assert!(
        applied.contains("started sweep 1 of 12 trials"),
        "{applied}"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let before = loop {
        let sweep: Value = cluster.client().get("/api/v1/sweeps/1").await.unwrap();
        let trials = sweep["trials"].as_array().unwrap().len();
        if trials >= 4 {
            break trials;
        }
        assert!(Instant::now() < deadline, "no trials started: {sweep}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(before < 12, "caught too late: {before} trials");
    cluster.kill_server();
    cluster.start_server().await;

    let sweep = wait_ended(&cluster, 1, Duration::from_secs(120)).await;
    assert_eq!(sweep["state"], "finished", "{sweep}");
    let trials = sweep["trials"].as_array().unwrap();
    let indices: Vec<i64> = trials
        .iter()
        .map(|t| t["index"].as_i64().unwrap())
        .collect();
    assert_eq!(
        indices,
        (0..12).collect::<Vec<_>>(),
        "exactly the budget, each index once"
    );
    let mut jobs: Vec<i64> = trials
        .iter()
        .map(|t| t["job"]["number"].as_i64().unwrap())
        .collect();
    jobs.sort_unstable();
    jobs.dedup();
    assert_eq!(jobs, (1..=12).collect::<Vec<_>>(), "a job per trial");
    let thirteenth = cluster
        .client()
        .get::<Value>("/api/v1/projects/ann/lab/jobs/13")
        .await;
    assert!(
        thirteenth.is_err(),
        "no job beyond the trials': {thirteenth:?}"
    );
    println!("sweep killed after {before} of 12 trials started: resumed and finished with 12");
}

/// Worse `a`, worse curve at every step: ASHA should stop the trials of larger `a` at the
/// first rung where enough others have reported.
const CURVES: &str = r#"
import sys, time
a = float(sys.argv[1])
for step in range(1, 9):
    print(f"step={step} objective={a * (1 + 1 / step):.6f}", flush=True)
    time.sleep(0.25)
"#;

const ASHA: &str = "\
sweep: asha
project: ann/lab
job:
  command: python3 curves.py {{a}}
  code: .
  metrics: {names: [objective]}
space:
  a: {choice: [1, 2, 3, 4, 5, 6]}
objective: {metric: objective, goal: minimize}
algorithm: grid
trials: 6
parallel: 2
early_stopping: {asha: {min_resource: 2, max_resource: 8, reduction_factor: 2}}
";

#[tokio::test]
async fn asha_stops_the_trials_whose_curves_fall_behind_on_a_live_sweep() {
    let mut cluster = Cluster::start("5s").await;
    cluster.runner("r1", "0", &["--max-jobs", "2"]);
    let code = cluster.project_dir("asha", &[("curves.py", CURVES), ("sweep.yaml", ASHA)]);
    stdout(&cluster.cli(&["apply", "-f", "sweep.yaml"], &code));
    let sweep = wait_ended(&cluster, 1, Duration::from_secs(120)).await;
    assert_eq!(sweep["state"], "finished", "{sweep}");
    let trials = sweep["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 6);
    let of = |a: i64| {
        trials
            .iter()
            .find(|t| t["params"]["a"] == a)
            .unwrap_or_else(|| panic!("no trial of a = {a}: {sweep}"))
    };
    assert_eq!(
        of(1)["state"],
        "completed",
        "the best curve runs to the end"
    );
    for a in 3..=6 {
        let trial = of(a);
        assert_eq!(trial["state"], "stopped", "a = {a}: {trial}");
        let reason = trial["reason"].as_str().unwrap();
        assert!(reason.starts_with("ASHA rung"), "{reason}");
        // The sweep may end before the runner has killed the last stopped trial's job.
        let uid = trial["job"]["uid"].as_str().unwrap();
        cluster
            .wait_status(uid, &["cancelled"], Duration::from_secs(20))
            .await;
        assert!(
            trial["step"].as_i64().unwrap() < 8,
            "stopped before the end: {trial}"
        );
    }
    println!(
        "ASHA: {}",
        trials
            .iter()
            .map(|t| format!(
                "a={} {} at step {}",
                t["params"]["a"], t["state"], t["step"]
            ))
            .collect::<Vec<_>>()
            .join("; ")
    );
}
