//! `--gpus auto`: a runner finds its GPUs with nvidia-smi (a stub on PATH here, answering as a
//! two-A100 machine would), reports what they are, and hands them to jobs.

use super::harness::{millrace, Cluster};
use super::queue;
use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

/// A folder holding an `nvidia-smi` that runs `script`, to put first on a runner's PATH.
pub(super) fn stub_nvidia_smi(cluster: &Cluster, name: &str, script: &str) -> String {
    let folder = cluster.dir.path().join(name);
    std::fs::create_dir_all(&folder).unwrap();
    let program = folder.join("nvidia-smi");
    std::fs::write(&program, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!(
        "{}:{}",
        folder.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Starts runner `name` with `--gpus auto` and `extra` flags, finding programs on `path`.
pub(super) fn start_auto(cluster: &mut Cluster, name: &str, path: &str, extra: &[&str]) {
    let mut command = millrace();
    command
        .env("MILLRACE_RUNNER_TOKEN", &cluster.runner_token)
        .env("PATH", path);
    cluster.start_runner(command, name, "auto", extra);
}

#[tokio::test]
async fn a_runner_finds_its_gpus_with_nvidia_smi_and_hands_them_to_jobs() {
    let mut cluster = Cluster::start("5s").await;
    // It must be asked for exactly these fields, or the columns would not be what it reads.
    let path = stub_nvidia_smi(
        &cluster,
        "two-a100s",
        r#"[ "$1" = "--query-gpu=index,name,memory.total,uuid" ] || exit 2
echo "0, NVIDIA A100-SXM4-80GB, 81920, GPU-aaaa"
echo "1, NVIDIA A100-SXM4-80GB, 81920, GPU-bbbb""#,
    );
    start_auto(&mut cluster, "a100-box", &path, &[]);
    let uid = queue(
        &cluster,
        "gpus",
        "echo \"devices=$CUDA_VISIBLE_DEVICES order=$CUDA_DEVICE_ORDER\"",
        json!({ "gpus": 2 }),
    )
    .await;
    cluster
        .wait_status(&uid, &["succeeded"], Duration::from_secs(30))
        .await;
    let (output, _) = cluster.output(&uid).await;
    assert!(output.contains("devices=0,1 order=PCI_BUS_ID"), "{output}");
    let number = cluster.job(&uid).await["number"].as_i64().unwrap();
    let pane = cluster.page(&format!("/u/ann/p/lab/j/{number}")).await;
    assert!(
        pane.contains("2 × NVIDIA A100-SXM4-80GB (80 GiB)"),
        "the job pane shows the GPUs it was given: {pane}"
    );
    let page = cluster.page("/runners").await;
    assert!(
        page.contains("2 × NVIDIA A100-SXM4-80GB (80 GiB)"),
        "the runners page shows the models: {page}"
    );
    let printed = cluster.runner_log("a100-box");
    assert!(
        printed.contains("GPUs: 0,1, 2 × NVIDIA A100-SXM4-80GB (80 GiB)"),
        "{printed}"
    );
}

#[tokio::test]
async fn a_failing_nvidia_smi_stops_the_runner_with_what_to_do_instead() {
    let mut cluster = Cluster::start("5s").await;
    let path = stub_nvidia_smi(
        &cluster,
        "broken",
        "echo 'Failed to initialize NVML: Driver/library version mismatch' >&2; exit 18",
    );
    start_auto(&mut cluster, "broken-box", &path, &[]);
    let status = cluster.wait_runner("broken-box", Duration::from_secs(15));
    assert!(!status.success());
    let printed = cluster.runner_log("broken-box");
    assert!(
        printed.contains("nvidia-smi failed")
            && printed.contains("Driver/library version mismatch")
            && printed.contains("--gpus none"),
        "{printed}"
    );
}

#[tokio::test]
async fn without_nvidia_smi_a_runner_runs_cpu_jobs_only() {
    if Path::new("/usr/bin/nvidia-smi").exists() {
        eprintln!("skipped: this machine has /usr/bin/nvidia-smi, so PATH cannot hide it");
        return;
    }
    let mut cluster = Cluster::start("5s").await;
    start_auto(&mut cluster, "cpu-box", "/usr/bin:/bin", &[]);
    let cpu = queue(&cluster, "cpu", "echo cpu", json!({})).await;
    cluster
        .wait_status(&cpu, &["succeeded"], Duration::from_secs(30))
        .await;
    let printed = cluster.runner_log("cpu-box");
    assert!(printed.contains("GPUs: none"), "{printed}");
}

#[tokio::test]
async fn jobs_asking_for_gpu_memory_or_a_model_run_on_the_runner_that_has_it() {
    let mut cluster = Cluster::start("5s").await;
    let a100 = stub_nvidia_smi(
        &cluster,
        "one-a100",
        r#"echo "0, NVIDIA A100-SXM4-80GB, 81920, GPU-aaaa""#,
    );
    let t4 = stub_nvidia_smi(&cluster, "one-t4", r#"echo "0, Tesla T4, 15360, GPU-tttt""#);
    start_auto(&mut cluster, "t4-box", &t4, &[]);
    start_auto(&mut cluster, "a100-box", &a100, &[]);
    // Queued in the order that would put each on the wrong runner if needs were ignored.
    let (big, small) = (38_147, "t4");
    let mut jobs = Vec::new();
    for round in 0..2 {
        let memory = json!({ "gpus": 1, "gpu_memory_mib": big });
        let model = json!({ "gpus": 1, "gpu_model": small });
        jobs.push((
            "a100-box",
            queue(&cluster, &format!("big-{round}"), "sleep 1", memory).await,
        ));
        jobs.push((
            "t4-box",
            queue(&cluster, &format!("small-{round}"), "sleep 1", model).await,
        ));
    }
    for (runner, uid) in &jobs {
        cluster
            .wait_status(uid, &["succeeded"], Duration::from_secs(60))
            .await;
        let (_, end) = cluster.output(uid).await;
        assert_eq!(end["runner"], json!(runner), "{uid}");
    }
    let waiting = json!({ "gpus": 2, "gpu_memory_mib": 38_147, "gpu_model": "h100" });
    let uid = queue(&cluster, "waiting", "true", waiting).await;
    let number = cluster.job(&uid).await["number"].as_i64().unwrap();
    let pane = cluster.page(&format!("/u/ann/p/lab/j/{number}")).await;
    assert!(
        pane.contains("2 × h100, ≥ 40.0 GB each"),
        "a queued job's pane says what it waits for: {pane}"
    );
    let refused = cluster
        .client()
        .post::<_, serde_json::Value>(
            "/api/v1/projects/ann/lab/apply",
            &json!({
                "name": "no-gpus",
                "plan": { "command": { "shell": "true" } },
                "gpu_model": "a100",
            }),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("gpus: 1 or more"),
        "a model without GPUs is refused: {refused}"
    );
    let code = cluster.project_dir("here", &[("a.txt", "a")]);
    for (flags, said) in [
        (
            &["--gpu-model", "A100"][..],
            "--gpu-model: ask for gpus: 1 or more",
        ),
        (
            &["--gpus", "1", "--gpu-memory", "40"][..],
            "--gpu-memory: '40' has no unit",
        ),
    ] {
        let args: Vec<&str> = ["run", "--project", "ann/lab"]
            .iter()
            .chain(flags)
            .chain(&["--", "true"])
            .copied()
            .collect();
        let output = cluster.cli(&args, &code);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success() && stderr.contains(said),
            "{stderr}"
        );
    }
}

#[tokio::test]
async fn a_real_nvidia_smi_is_read_when_this_machine_has_one() {
    let found = std::process::Command::new("nvidia-smi")
        .arg("-L")
        .output()
        .is_ok_and(|out| out.status.success() && !out.stdout.is_empty());
    if !found {
        eprintln!("skipped: no working nvidia-smi on this machine, so no real GPUs to discover");
        return;
    }
    let mut cluster = Cluster::start("5s").await;
    let path = std::env::var("PATH").unwrap_or_default();
    start_auto(&mut cluster, "real-box", &path, &[]);
    let uid = queue(&cluster, "real", "nvidia-smi -L", json!({ "gpus": 1 })).await;
    cluster
        .wait_status(&uid, &["succeeded"], Duration::from_secs(60))
        .await;
    let page = cluster.page("/runners").await;
    assert!(
        page.contains(" × "),
        "the runners page names the models: {page}"
    );
    let (output, _) = cluster.output(&uid).await;
    assert!(output.contains("GPU 0:"), "the job saw a GPU: {output}");
}
