//! Runners keep their secrets: a job starts from a clean environment, the runner token comes
//! from the environment or a file and stays out of jobs' reach, and no token reaches the
//! runner's own output.

use super::harness::{millrace, Cluster};
use super::queue;
use serde_json::json;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Command;
use std::time::Duration;

/// What the job prints: its environment twice (`env`, and `/proc/self/environ`), then whether
/// it can read its runner's environment.
const DUMP: &str = "env; echo '--- environ'; tr '\\0' '\\n' < /proc/self/environ; \
    if cat /proc/$PPID/environ > /dev/null 2>&1; then echo 'runner environ: readable'; \
    else echo 'runner environ: refused'; fi";

/// `millrace` as a user other than root, for whom the runner's non-dumpable flag is what keeps
/// its own processes out (root may read any process). As root: `nobody`, through a link to the
/// binary outside root's home, which `nobody` cannot enter.
fn unprivileged_millrace(cluster: &Cluster, runner: &str) -> Command {
    let dir = cluster.dir.path();
    let workdir = dir.join(format!("runner-{runner}"));
    std::fs::create_dir_all(&workdir).unwrap();
    std::fs::set_permissions(&workdir, std::fs::Permissions::from_mode(0o777)).unwrap();
    if std::fs::metadata("/proc/self").unwrap().uid() != 0 {
        return millrace();
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let binary = dir.join("millrace");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_millrace"), &binary).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_millrace"), &binary).unwrap();
    }
    let mut command = Command::new("setpriv");
    command
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(binary)
        .env_remove("MILLRACE_DATABASE_URL")
        .env("MILLRACE_LOG", "warn");
    command
}

#[tokio::test]
async fn a_job_sees_the_allow_list_and_its_own_variables_but_never_the_runner_token() {
    let mut cluster = Cluster::start("5s").await;
    let mut runner = unprivileged_millrace(&cluster, "clean");
    runner
        .env("MILLRACE_RUNNER_TOKEN", &cluster.runner_token)
        .env("RUNNER_ONLY", "kept-from-jobs")
        .env("HF_HOME", "/data/hf")
        .env("LC_TIME", "C");
    cluster.start_runner(runner, "clean", "", &["--pass-env", "HF_HOME"]);
    let plan = json!({ "command": { "shell": DUMP }, "env": { "FROM_SPEC": "spec-value" } });
    let uid = queue(&cluster, "dump", "", json!({ "plan": plan })).await;
    cluster
        .wait_status(&uid, &["succeeded"], Duration::from_secs(30))
        .await;
    let (log, _) = cluster.output(&uid).await;
    let (env, rest) = log.split_once("--- environ\n").unwrap();
    let (environ, runner_side) = rest.split_once("runner environ:").unwrap();
    for seen in [env, environ] {
        let names: Vec<&str> = seen
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|p| p.0)
            .collect();
        for name in [
            "PATH",
            "HOME",
            "LC_TIME",
            "HF_HOME",
            "FROM_SPEC",
            "MILLRACE_JOB_ID",
        ] {
            assert!(names.contains(&name), "{name} is missing: {seen}");
        }
        for name in ["MILLRACE_RUNNER_TOKEN", "RUNNER_ONLY"] {
            assert!(!names.contains(&name), "{name} reached the job: {seen}");
        }
        assert!(seen.contains("HF_HOME=/data/hf\n") && seen.contains("FROM_SPEC=spec-value\n"));
        assert!(
            !seen.contains(&cluster.runner_token),
            "the token's value: {seen}"
        );
    }
    assert_eq!(
        runner_side.trim(),
        "refused",
        "another process of the runner's user cannot read its environment"
    );
    let printed = cluster.runner_log("clean");
    assert!(!printed.contains(&cluster.runner_token), "{printed}");
    assert!(!printed.contains("warning"), "{printed}");
}

#[tokio::test]
async fn the_token_comes_from_a_file_and_on_the_command_line_earns_a_warning() {
    let mut cluster = Cluster::start("5s").await;
    let file = cluster.dir.path().join("runner.token");
    std::fs::write(&file, format!("\n  {}  \n", cluster.runner_token)).unwrap();
    let filed = ["--token-file", file.to_str().unwrap()];
    cluster.start_runner(millrace(), "filed", "", &filed);
    let uid = queue(&cluster, "hello", "echo hello", json!({})).await;
    cluster
        .wait_status(&uid, &["succeeded"], Duration::from_secs(30))
        .await;
    let printed = cluster.runner_log("filed");
    assert!(printed.contains("runner filed registered"), "{printed}");
    assert!(!printed.contains("warning"), "{printed}");

    let token = cluster.runner_token.clone();
    cluster.start_runner(millrace(), "argv", "", &["--token", token.as_str()]);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !cluster.runner_log("argv").contains("registered") {
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            cluster.runner_log("argv")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let printed = cluster.runner_log("argv");
    assert!(
        printed.contains("warning: --token on the command line is visible to every user")
            && printed.contains("pass it through MILLRACE_RUNNER_TOKEN or --token-file"),
        "{printed}"
    );
    assert!(
        !printed.contains(&token),
        "the warning does not repeat it: {printed}"
    );

    let empty = cluster.dir.path().join("empty.token");
    std::fs::write(&empty, " \n").unwrap();
    cluster.start_runner(
        millrace(),
        "empty",
        "",
        &["--token-file", empty.to_str().unwrap()],
    );
    let status = cluster.wait_runner("empty", Duration::from_secs(10));
    assert!(!status.success());
    let printed = cluster.runner_log("empty");
    assert!(
        printed.contains(&format!(
            "the runner token file {} is empty",
            empty.display()
        )),
        "{printed}"
    );
}

#[tokio::test]
async fn a_runner_cannot_take_the_name_of_another_tokens_runner() {
    let mut cluster = Cluster::start("5s").await;
    cluster.runner("gpu-box", "", &[]);
    let uid = queue(&cluster, "first", "echo first", json!({})).await;
    cluster
        .wait_status(&uid, &["succeeded"], Duration::from_secs(30))
        .await;
    // Its row stays registered to the first token after it is gone.
    cluster.kill_runner("gpu-box");
    let other = cluster.admin(&["runner-token", "create", "--name", "other"]);
    let mut command = millrace();
    command.env("MILLRACE_RUNNER_TOKEN", other.trim());
    cluster.start_runner(command, "gpu-box", "", &[]);
    let status = cluster.wait_runner("gpu-box", Duration::from_secs(10));
    assert!(!status.success());
    let printed = cluster.runner_log("gpu-box");
    assert!(
        printed.contains("the runner name 'gpu-box' belongs to a runner of another runner token"),
        "{printed}"
    );
}
