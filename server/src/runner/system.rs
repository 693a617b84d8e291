//! System metrics of a running job: its GPUs (from nvidia-smi) and its process group's CPU and
//! memory (from /proc), sampled every `--system-metrics-interval` and stored as the job's
//! `system/...` series under MLflow's own names, so runs whose MLflow client samples them too
//! line up with runs of millrace's runner.

use crate::client::Client;
use app::model::SYSTEM_METRIC_PREFIX;
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

/// A wedged driver can leave nvidia-smi hanging; a sample should not wait for it.
const NVIDIA_SMI_TIME: Duration = Duration::from_secs(10);

/// What the job's GPUs are asked for, in this order.
const GPU_QUERY: &str = "--query-gpu=index,utilization.gpu,memory.used,memory.total,\
                         power.draw,power.limit,temperature.gpu";

/// One sample: metric keys (`system/...`) and values.
pub type Sample = Vec<(String, f64)>;

/// Samples the job in process group `group` using `gpus` every `every` and uploads each sample
/// through `client` (the job's own token) as job `uid`'s metrics, step by step, until aborted.
/// A sample that cannot be stored is dropped with a warning: these series are a view of the
/// machine, not the job's results, and must never hold the job back.
pub async fn watch(client: Client, uid: String, group: i32, gpus: Vec<String>, every: Duration) {
    let path = format!("/api/v1/jobs/{uid}/metrics");
    let mut cpu = CpuMeter::new(group);
    let mut gpus_readable = !gpus.is_empty();
    let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    // A sample that overran (a slow nvidia-smi) delays the next rather than bunching them.
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for step in 0_i64.. {
        interval.tick().await;
        let mut sample = cpu.sample();
        if gpus_readable {
            match gpu_sample(&gpus).await {
                Ok(values) => sample.extend(values),
                Err(error) => {
                    tracing::warn!(%error, uid, "no GPU metrics for this job");
                    gpus_readable = false;
                }
            }
        }
        let wall_ms = app::db::now_ms();
        let points: Vec<Value> = sample
            .iter()
            .filter(|(_, value)| value.is_finite())
            .map(|(key, value)| json!({ "key": key, "step": step, "value": value, "wall_ms": wall_ms }))
            .collect();
        if points.is_empty() {
            continue;
        }
        if let Err(error) = client
            .post::<_, Value>(&path, &json!({ "points": points }))
            .await
        {
            tracing::warn!(%error, uid, "a system metrics sample was not stored");
        }
    }
}

/// The metric key of a system metric `name` (`gpu_0_utilization_percentage`).
pub(crate) fn key(name: &str) -> String {
    format!("{SYSTEM_METRIC_PREFIX}{name}")
}

/// The CPU time and memory of one process group, as a share of the machine between samples.
struct CpuMeter {
    group: i32,
    ticks_per_s: f64,
    page_bytes: u64,
    cores: f64,
    memory_total_bytes: Option<u64>,
    last: (u64, Instant),
}

impl CpuMeter {
    fn new(group: i32) -> Self {
        use nix::unistd::{sysconf, SysconfVar};
        let conf = |var, default: i64| sysconf(var).ok().flatten().unwrap_or(default);
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        Self {
            group,
            ticks_per_s: conf(SysconfVar::CLK_TCK, 100) as f64,
            page_bytes: u64::try_from(conf(SysconfVar::PAGE_SIZE, 4096)).unwrap_or(4096),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()) as f64,
            memory_total_bytes: memory_total(&meminfo),
            last: (0, Instant::now()),
        }
    }

    /// `system/cpu_utilization_percentage` (of the whole machine, as MLflow's sampler
    /// reports it) since the last sample, and the group's resident memory.
    fn sample(&mut self) -> Sample {
        let usage = group_usage(Path::new("/proc"), self.group);
        let now = Instant::now();
        let (last_ticks, last_at) = std::mem::replace(&mut self.last, (usage.ticks, now));
        let seconds = now.duration_since(last_at).as_secs_f64();
        let mut sample = Vec::new();
        if seconds > 0.0 {
            // Processes that ended since the last sample take their ticks with them.
            let ticks = usage.ticks.saturating_sub(last_ticks) as f64;
            let percent = 100.0 * ticks / self.ticks_per_s / seconds / self.cores;
            sample.push((key("cpu_utilization_percentage"), percent.min(100.0)));
        }
        let bytes = usage.rss_pages.saturating_mul(self.page_bytes);
        sample.push((key("system_memory_usage_megabytes"), bytes as f64 / 1e6));
        if let Some(total) = self.memory_total_bytes.filter(|t| *t > 0) {
            sample.push((
                key("system_memory_usage_percentage"),
                100.0 * bytes as f64 / total as f64,
            ));
        }
        sample
    }
}

/// What the processes of one group use, summed.
#[derive(Debug, Default, PartialEq, Eq)]
struct GroupUsage {
    ticks: u64,
    rss_pages: u64,
}

/// Sums the CPU ticks and resident pages of every process in `group` under `proc`.
fn group_usage(proc: &Path, group: i32) -> GroupUsage {
    let mut usage = GroupUsage::default();
    let Ok(entries) = std::fs::read_dir(proc) else {
        return usage;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        // A process may end between the listing and the read: it is simply not counted.
        let Ok(text) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        if let Some(stat) = parse_stat(&text).filter(|s| s.group == group) {
            usage.ticks += stat.ticks;
            usage.rss_pages += stat.rss_pages;
        }
    }
    usage
}

/// The fields of `/proc/PID/stat` a sample needs.
#[derive(Debug, PartialEq, Eq)]
struct Stat {
    group: i32,
    ticks: u64,
    rss_pages: u64,
}

/// Reads `/proc/PID/stat` (proc(5)): the command name in parentheses may hold spaces and
/// parentheses itself, so the fields are counted from the last `)`.
fn parse_stat(text: &str) -> Option<Stat> {
    let fields: Vec<&str> = text[text.rfind(')')? + 1..].split_whitespace().collect();
    // Field n of proc(5) is at n - 3 here: state (3), pgrp (5), utime (14), stime (15), rss (24).
    let number = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(Stat {
        group: fields.get(2)?.parse().ok()?,
        ticks: number(14)? + number(15)?,
        rss_pages: number(24)?,
    })
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
fn memory_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Asks nvidia-smi about `gpus` now.
async fn gpu_sample(gpus: &[String]) -> anyhow::Result<Sample> {
    let query = tokio::process::Command::new("nvidia-smi")
        .args([
            GPU_QUERY,
            "--format=csv,noheader,nounits",
            "-i",
            &gpus.join(","),
        ])
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(NVIDIA_SMI_TIME, query)
        .await
        .map_err(|_| anyhow::anyhow!("nvidia-smi did not answer within {NVIDIA_SMI_TIME:?}"))??;
    if !output.status.success() {
        anyhow::bail!(
            "nvidia-smi failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(parse_gpu_sample(&String::from_utf8_lossy(&output.stdout)))
}

/// Reads the answer to [`GPU_QUERY`] as MLflow names its GPU metrics (`system/gpu_0_...`;
/// megabytes are 10⁶ bytes, as MLflow's), with the temperature beside them. A value a card
/// does not report (`[N/A]`, `[Not Supported]`) is left out.
fn parse_gpu_sample(csv: &str) -> Sample {
    let mut sample = Vec::new();
    for line in csv.lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let Some(index) = fields
            .first()
            .filter(|i| i.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let value = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
        let mut put = |name: &str, value: Option<f64>| {
            if let Some(value) = value {
                sample.push((key(&format!("gpu_{index}_{name}")), value));
            }
        };
        let ratio = |part: Option<f64>, whole: Option<f64>| match (part, whole) {
            (Some(part), Some(whole)) if whole > 0.0 => Some(100.0 * part / whole),
            _ => None,
        };
        let (used_mib, total_mib, watts, limit) = (value(2), value(3), value(4), value(5));
        put("utilization_percentage", value(1));
        put(
            "memory_usage_megabytes",
            used_mib.map(|mib| mib * 1.048_576),
        );
        put("memory_usage_percentage", ratio(used_mib, total_mib));
        put("power_usage_watts", watts);
        put("power_usage_percentage", ratio(watts, limit));
        put("temperature_celsius", value(6));
    }
    sample
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_is_read_past_a_command_name_with_spaces_and_parentheses() {
        let line = "4242 (python (train) x) S 1 4240 4240 0 -1 4194560 1000 0 0 0 \
                    250 50 0 0 20 0 8 0 12345 1000000000 5000 18446744073709551615";
        assert_eq!(
            parse_stat(line),
            Some(Stat {
                group: 4240,
                ticks: 300,
                rss_pages: 5000
            })
        );
        assert_eq!(parse_stat("12 (cut"), None);
    }

    #[test]
    fn this_process_is_found_in_its_own_group() {
        let group = nix::unistd::getpgrp().as_raw();
        let usage = group_usage(Path::new("/proc"), group);
        assert!(usage.rss_pages > 0, "{usage:?}");
        assert_eq!(group_usage(Path::new("/proc"), -7), GroupUsage::default());
    }

    #[test]
    fn gpu_answers_become_mlflow_named_series_and_unreported_values_are_left_out() {
        let sample = parse_gpu_sample(
            "0, 87, 40000, 81920, 300.5, 400.00, 64\n\
             3, 0, 0, 15360, [N/A], [N/A], 41\n",
        );
        let get = |key: &str| sample.iter().find(|(k, _)| k == key).map(|(_, v)| *v);
        assert_eq!(get("system/gpu_0_utilization_percentage"), Some(87.0));
        let megabytes = get("system/gpu_0_memory_usage_megabytes").unwrap();
        assert!(
            (megabytes - 41_943.04).abs() < 1e-6,
            "MiB as 10⁶ bytes: {megabytes}"
        );
        assert_eq!(get("system/gpu_0_power_usage_percentage"), Some(75.125));
        assert_eq!(get("system/gpu_0_temperature_celsius"), Some(64.0));
        assert_eq!(get("system/gpu_3_memory_usage_percentage"), Some(0.0));
        assert_eq!(get("system/gpu_3_power_usage_watts"), None);
        assert_eq!(sample.len(), 6 + 4);
    }

    #[test]
    fn memory_total_is_read_in_bytes() {
        let meminfo = "MemFree:  100 kB\nMemTotal:       24576000 kB\n";
        assert_eq!(memory_total(meminfo), Some(24_576_000 * 1024));
        assert_eq!(memory_total(""), None);
    }
}
