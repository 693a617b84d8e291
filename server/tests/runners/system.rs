//! System metrics: while a job runs, its runner samples the job's GPUs (a stub nvidia-smi here)
//! and its process group's CPU and memory, and stores them as the job's `system/...` series.

use super::gpus::{start_auto, stub_nvidia_smi};
use super::harness::Cluster;
use super::queue;
use serde_json::{json, Value};
use std::time::Duration;

/// Answers discovery as a one-A100 machine and each sample as that card at 87% and 64 °C.
const ONE_BUSY_A100: &str = r#"case "$1" in
  --query-gpu=index,name,memory.total,uuid) echo "0, NVIDIA A100-SXM4-80GB, 81920, GPU-aaaa" ;;
  --query-gpu=index,utilization.gpu,*) [ "$3" = "-i" ] && [ "$4" = "0" ] || exit 3
    echo "0, 87, 40000, 81920, 300.5, 400.00, 64" ;;
  *) exit 2 ;;
esac"#;

/// The job's metric summaries by key: (count, last value).
fn summaries(job: &Value) -> Vec<(String, i64, f64)> {
    job["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["key"].as_str().unwrap().to_owned(),
                m["count"].as_i64().unwrap(),
                m["last"].as_f64().unwrap_or(f64::NAN),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_running_job_gets_system_metrics_of_its_gpus_cpu_and_memory() {
    let mut cluster = Cluster::start("5s").await;
    let path = stub_nvidia_smi(&cluster, "busy-a100", ONE_BUSY_A100);
    start_auto(
        &mut cluster,
        "sampled",
        &path,
        &["--system-metrics-interval", "1s"],
    );
    // Busy on one core for 4 s, holding 50 MB: what the samples must see.
    let burn = "python3 -c \"import time; b = bytearray(50_000_000); end = time.time() + 4\n\
                while time.time() < end: pass\"";
    let uid = queue(&cluster, "burn", burn, json!({ "gpus": 1 })).await;
    let job = cluster
        .wait_status(&uid, &["succeeded", "failed"], Duration::from_secs(60))
        .await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let job = cluster.job(&uid).await;
    let metrics = summaries(&job);
    let get = |key: &str| {
        metrics
            .iter()
            .find(|(k, _, _)| k == key)
            .unwrap_or_else(|| panic!("no {key} in {metrics:?}"))
    };
    let (_, samples, utilization) = get("system/gpu_0_utilization_percentage");
    assert!(
        (2..=5).contains(samples),
        "about one a second for 4 s: {samples}"
    );
    assert_eq!(*utilization, 87.0);
    assert_eq!(get("system/gpu_0_temperature_celsius").2, 64.0);
    assert_eq!(get("system/gpu_0_power_usage_percentage").2, 75.125);
    let cores = std::thread::available_parallelism().unwrap().get() as f64;
    let cpu = get("system/cpu_utilization_percentage").2;
    assert!(
        cpu > 50.0 / cores && cpu <= 100.0 / cores + 5.0,
        "one busy core of {cores}: {cpu}%"
    );
    let memory = get("system/system_memory_usage_megabytes").2;
    assert!(
        (50.0..500.0).contains(&memory),
        "50 MB and Python: {memory} MB"
    );
    assert!(get("system/system_memory_usage_percentage").2 > 0.0);
}

#[tokio::test]
async fn sampling_is_off_with_an_interval_of_0() {
    let mut cluster = Cluster::start("5s").await;
    let path = stub_nvidia_smi(&cluster, "busy-a100", ONE_BUSY_A100);
    start_auto(
        &mut cluster,
        "quiet",
        &path,
        &["--system-metrics-interval", "0"],
    );
    let uid = queue(&cluster, "sleep", "sleep 2.5", json!({ "gpus": 1 })).await;
    cluster
        .wait_status(&uid, &["succeeded"], Duration::from_secs(60))
        .await;
    let job = cluster.job(&uid).await;
    assert_eq!(summaries(&job), [], "{job}");
}
