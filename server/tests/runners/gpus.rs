//! `--gpus auto`: a runner finds its GPUs with nvidia-smi (a stub on PATH here, answering as a
//! two-A100 machine would), reports what they are, and hands them to jobs.

use super::harness::{millrace, Cluster};
use super::queue;
use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

/// A folder holding an `nvidia-smi` that runs `script`, to put first on a runner's PATH.
fn stub_nvidia_smi(cluster: &Cluster, name: &str, script: &str) -> String {
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

fn start_auto(cluster: &mut Cluster, name: &str, path: &str) {
    let mut command = millrace();
    command
        .env("MILLRACE_RUNNER_TOKEN", &cluster.runner_token)
        .env("PATH", path);
    cluster.start_runner(command, name, "auto", &[]);
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
    start_auto(&mut cluster, "a100-box", &path);
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
    start_auto(&mut cluster, "broken-box", &path);
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
    start_auto(&mut cluster, "cpu-box", "/usr/bin:/bin");
    let cpu = queue(&cluster, "cpu", "echo cpu", json!({})).await;
    cluster
        .wait_status(&cpu, &["succeeded"], Duration::from_secs(30))
        .await;
    let printed = cluster.runner_log("cpu-box");
    assert!(printed.contains("GPUs: none"), "{printed}");
}
