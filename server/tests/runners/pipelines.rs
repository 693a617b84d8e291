//! Pipelines end to end: `millrace apply -f pipeline.yaml` on a real server with a real runner,
//! files flowing between steps, caching, failure and `rerun --from`, a sweep step, a server
//! killed mid-run, and spec errors.

use super::harness::Cluster;
use super::stdout;
use serde_json::Value;
use std::time::{Duration, Instant};

/// A diamond, a → (b, c) → d, where `c` fans out to four jobs; `d` reads every file.
const DIAMOND: &str = "\
pipeline: diamond
project: ann/lab
steps:
  a:
    command: mkdir -p out && echo from-a > out/a.txt
    outputs: [out/]
  b:
    needs: [a]
    command: cat inputs/a/out/a.txt > b.txt && echo b >> b.txt
    outputs: [b.txt]
  c:
    needs: [a]
    for_each: {k: [1, 2, 3, 4]}
    command: echo \"c{{k}} $(cat inputs/a/out/a.txt)\" > c.txt
    outputs: [c.txt]
  d:
    needs: [b, c]
    command: cat inputs/b/b.txt inputs/c/0/c.txt inputs/c/1/c.txt inputs/c/2/c.txt inputs/c/3/c.txt > all.txt && ls $MILLRACE_INPUTS
    outputs: [all.txt]
";

/// Run `id` once it has ended.
async fn wait_ended(cluster: &Cluster, id: i64, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let run: Value = cluster
            .client()
            .get(&format!("/api/v1/pipelines/{id}"))
            .await
            .unwrap();
        if run["state"] != "running" {
            return run;
        }
        assert!(Instant::now() < deadline, "run {id} still running: {run}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The states of a run's step instances as `step[instance]=state`, in step order.
fn states(run: &Value) -> Vec<String> {
    run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{}[{}]={}",
                text(&s["step"]),
                s["instance"],
                text(&s["state"])
            )
        })
        .collect()
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

/// The job uid of step `step` instance 0 of `run`.
fn job_of(run: &Value, step: &str) -> String {
    let found = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == step)
        .unwrap();
    text(&found["job"]["uid"]).to_owned()
}

async fn project_jobs(cluster: &Cluster) -> usize {
    let mut count = 0;
    while cluster
        .client()
        .get::<Value>(&format!("/api/v1/projects/ann/lab/jobs/{}", count + 1))
        .await
        .is_ok()
    {
        count += 1;
    }
    count
}

#[tokio::test]
async fn a_diamond_passes_files_along_and_a_changed_last_step_alone_runs_again() {
    let mut cluster = Cluster::start("5s").await;
    cluster.runner("r1", "", &["--max-jobs", "4"]);
    let dir = cluster.project_dir("diamond", &[("pipeline.yaml", DIAMOND)]);

    let dry = stdout(&cluster.cli(&["apply", "-f", "pipeline.yaml", "--dry-run"], &dir));
    assert!(
        dry.contains("diamond: would start a new run of 7 jobs"),
        "{dry}"
    );
    let applied = stdout(&cluster.cli(&["apply", "-f", "pipeline.yaml"], &dir));
    assert!(
        applied.contains("diamond: started run 1 of 7 jobs"),
        "{applied}"
    );
    let run = wait_ended(&cluster, 1, Duration::from_secs(60)).await;
    assert_eq!(run["state"], "succeeded", "{run}");

    let d = job_of(&run, "d");
    let all = cluster
        .client()
        .get_bytes(&format!("/api/v1/jobs/{d}/artifacts/all.txt"))
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8(all).unwrap(),
        "from-a\nb\nc1 from-a\nc2 from-a\nc3 from-a\nc4 from-a\n"
    );
    let (log, _) = cluster.output(&d).await;
    assert!(
        log.starts_with("b\nc\n"),
        "MILLRACE_INPUTS holds one folder per needed step: {log}"
    );
    let job = cluster.job(&d).await;
    let tags = job["tags"].to_string();
    assert!(
        tags.contains("diamond") && tags.contains("pipeline.step"),
        "the step's job carries the pipeline and step as tags: {tags}"
    );

    let again = stdout(&cluster.cli(&["apply", "-f", "pipeline.yaml"], &dir));
    assert!(
        again.contains("diamond: unchanged, run 1 is succeeded"),
        "{again}"
    );

    let changed = DIAMOND.replace("&& ls $MILLRACE_INPUTS", "&& echo v2");
    std::fs::write(dir.join("pipeline.yaml"), changed).unwrap();
    let applied = stdout(&cluster.cli(&["apply", "-f", "pipeline.yaml"], &dir));
    assert!(
        applied.contains(
            "diamond: started run 2 of 7 jobs (the spec changed since run 1); cached: a, b, c"
        ),
        "{applied}"
    );
    let run = wait_ended(&cluster, 2, Duration::from_secs(60)).await;
    assert_eq!(
        states(&run),
        [
            "a[0]=cached",
            "b[0]=cached",
            "c[0]=cached",
            "c[1]=cached",
            "c[2]=cached",
            "c[3]=cached",
            "d[0]=succeeded"
        ]
    );
    let (log, _) = cluster.output(&job_of(&run, "d")).await;
    assert!(log.starts_with("v2\n"), "{log}");
    assert_eq!(
        project_jobs(&cluster).await,
        8,
        "seven jobs, then only d again"
    );

    let shown = stdout(&cluster.cli(&["pipeline", "show", "2"], &dir));
    assert!(
        shown.contains("run 2 of pipeline diamond in ann/lab: succeeded\n7/7 steps ended, $"),
        "{shown}"
    );
    assert!(shown.contains("d[0]\tsucceeded\tjob #8"), "{shown}");
    let listed = stdout(&cluster.cli(&["pipeline", "list", "ann/lab"], &dir));
    assert!(
        listed.contains("2\tdiamond\tsucceeded\t7/7 steps ended"),
        "{listed}"
    );
}

#[tokio::test]
async fn a_failed_step_skips_what_needs_it_and_rerun_from_it_finishes_the_work() {
    let mut cluster = Cluster::start("5s").await;
    cluster.runner("r1", "", &["--max-jobs", "2"]);
    let dir = cluster.project_dir("flaky", &[]);
    let marker = dir.join("fixed");
    let yaml = format!(
        "pipeline: flaky\nproject: ann/lab\nsteps:\n  a: {{command: echo a}}\n  \
         b: {{needs: [a], command: test -f {} || exit 3}}\n  \
         c: {{needs: [b], command: echo c}}\n  side: {{needs: [a], command: echo side}}\n",
        marker.display()
    );
    std::fs::write(dir.join("p.yaml"), yaml).unwrap();
    stdout(&cluster.cli(&["apply", "-f", "p.yaml"], &dir));
    let run = wait_ended(&cluster, 1, Duration::from_secs(60)).await;
    assert_eq!(run["state"], "failed", "{run}");
    assert_eq!(run["reason"], "step `b` failed");
    assert_eq!(
        states(&run),
        [
            "a[0]=succeeded",
            "b[0]=failed",
            "c[0]=skipped",
            "side[0]=succeeded"
        ]
    );
    let c = &run["steps"][2];
    assert_eq!(c["reason"], "it needs `b`, which failed");
    assert!(
        text(&run["steps"][1]["reason"]).contains("exit code 3"),
        "{run}"
    );

    std::fs::write(&marker, "").unwrap();
    let rerun = stdout(&cluster.cli(&["pipeline", "rerun", "1", "--from", "b"], &dir));
    assert!(
        rerun.contains("started run 2 from run 1: b and what needs it run again, a, side reused"),
        "{rerun}"
    );
    let run = wait_ended(&cluster, 2, Duration::from_secs(60)).await;
    assert_eq!(
        states(&run),
        [
            "a[0]=cached",
            "b[0]=succeeded",
            "c[0]=succeeded",
            "side[0]=cached"
        ]
    );
    assert_eq!(
        project_jobs(&cluster).await,
        5,
        "a, b, side, then b and c again"
    );

    let unknown = cluster.cli(&["pipeline", "rerun", "1", "--from", "z"], &dir);
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(stderr.contains("run 1 has no step `z`"), "{stderr}");
}

#[tokio::test]
async fn a_sweep_steps_best_value_reaches_the_step_after_it() {
    let mut cluster = Cluster::start("5s").await;
    cluster.runner("r1", "", &["--max-jobs", "3"]);
    let dir = cluster.project_dir("tuned", &[]);
    let yaml = "\
pipeline: tuned
project: ann/lab
steps:
  tune:
    command: 'case {{lr}} in 0.3) echo loss=0.1;; *) echo loss=0.9;; esac; echo {{lr}} > lr.txt'
    metrics: {names: [loss]}
    outputs: [lr.txt]
    sweep:
      space: {lr: {choice: [0.1, 0.3, 0.5]}}
      objective: {metric: loss, goal: minimize}
      algorithm: grid
      trials: 3
      parallel: 3
  final:
    needs: [tune]
    command: 'echo best lr {{steps.tune.best.lr}} at {{steps.tune.best.value}} from $(cat inputs/tune/lr.txt)'
";
    std::fs::write(dir.join("p.yaml"), yaml).unwrap();
    stdout(&cluster.cli(&["apply", "-f", "p.yaml"], &dir));
    let run = wait_ended(&cluster, 1, Duration::from_secs(90)).await;
    assert_eq!(run["state"], "succeeded", "{run}");
    let (log, _) = cluster.output(&job_of(&run, "final")).await;
    assert_eq!(log, "best lr 0.3 at 0.1 from 0.3\n");
    let sweep: Value = cluster
        .client()
        .get(&format!("/api/v1/sweeps/{}", run["steps"][1]["sweep"]))
        .await
        .unwrap();
    assert_eq!(sweep["state"], "finished", "{sweep}");
}

#[tokio::test]
async fn a_server_killed_mid_pipeline_resumes_and_runs_each_step_once() {
    let mut cluster = Cluster::start("10s").await;
    cluster.runner("r1", "", &[]);
    let dir = cluster.project_dir("chain", &[]);
    let yaml = "pipeline: chain\nproject: ann/lab\nsteps:\n  a: {command: echo a}\n  \
                b: {needs: [a], command: sleep 2}\n  c: {needs: [b], command: echo c}\n  \
                d: {needs: [c], command: echo d}\n";
    std::fs::write(dir.join("p.yaml"), yaml).unwrap();
    stdout(&cluster.cli(&["apply", "-f", "p.yaml"], &dir));
    // Kill the server while b runs.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let run: Value = cluster.client().get("/api/v1/pipelines/1").await.unwrap();
        if run["steps"][1]["state"] == "running" {
            break;
        }
        assert!(Instant::now() < deadline, "{run}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cluster.kill_server();
    tokio::time::sleep(Duration::from_millis(500)).await;
    cluster.start_server().await;
    let run = wait_ended(&cluster, 1, Duration::from_secs(60)).await;
    assert_eq!(run["state"], "succeeded", "{run}");
    assert_eq!(
        project_jobs(&cluster).await,
        4,
        "each step ran exactly once"
    );
}

#[tokio::test]
async fn spec_errors_are_refused_with_their_place_before_anything_runs() {
    let cluster = Cluster::start("5s").await;
    let dir = cluster.project_dir("bad", &[]);
    let cyclic = "pipeline: loop\nproject: ann/lab\nsteps:\n  prep:\n    needs: [train]\n    \
                  command: echo p\n  train:\n    needs: [prep]\n    command: echo t\n";
    std::fs::write(dir.join("p.yaml"), cyclic).unwrap();
    let output = cluster.cli(&["apply", "-f", "p.yaml"], &dir);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("p.yaml:5:13: steps.prep.needs.0: the steps need each other in a cycle: prep → train → prep"),
        "{stderr}"
    );
    let unknown = cyclic
        .replace("needs: [train]", "needs: [trian]")
        .replace("    needs: [prep]\n", "");
    std::fs::write(dir.join("p.yaml"), unknown).unwrap();
    let output = cluster.cli(&["apply", "-f", "p.yaml"], &dir);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "p.yaml:5:13: steps.prep.needs.0: there is no step `trian`; did you mean `train`?"
        ),
        "{stderr}"
    );
    let listed: Value = cluster
        .client()
        .get("/api/v1/projects/ann/lab/pipelines")
        .await
        .unwrap();
    assert_eq!(listed["runs"], serde_json::json!([]), "nothing was started");
}
