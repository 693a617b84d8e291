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
