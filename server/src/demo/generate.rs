//! The demo workspace as data: deterministic for a seed, with believable runs and curves.

use super::names::{MODELS, OPTIMIZERS, PROJECTS, RUNNERS, TAGS, USERS};
use crate::runner::system::key as system_key;
use app::db::jobs::NewJob;
use app::db::metrics::Point;
use app::model::JobStatus;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map, Value};

/// A job to create and the curves it logged.
pub struct JobPlan {
    /// The job's row.
    pub job: NewJob,
    /// How many steps it logged (0 for jobs that never ran).
    pub steps: u32,
    /// Where its curves come from, so they are made only when written.
    pub curve_seed: u64,
    /// Whether its loss blew up to NaN (some failed runs).
    pub diverged: bool,
}

/// The status mix of a busy team: mostly finished runs, some in flight.
fn pick_status(rng: &mut ChaCha8Rng) -> JobStatus {
    match rng.gen_range(0..100) {
        0..=67 => JobStatus::Succeeded,
        68..=77 => JobStatus::Failed,
        78..=82 => JobStatus::Cancelled,
        83..=84 => JobStatus::Lost,
        85..=93 => JobStatus::Running,
        94..=95 => JobStatus::Starting,
        _ => JobStatus::Queued,
    }
}

/// Demo user `i`: a listed name, or a numbered one past the list.
pub fn user(i: usize) -> (String, String) {
    match USERS.get(i) {
        Some((name, display)) => ((*name).to_owned(), (*display).to_owned()),
        None => (format!("user{i}"), format!("User {i}")),
    }
}

/// Demo project `i`: a listed name, with a number once the list is used up.
pub fn project(i: usize) -> String {
    let base = PROJECTS[i % PROJECTS.len()];
    match i / PROJECTS.len() {
        0 => base.to_owned(),
        n => format!("{base}-{n}"),
    }
}

/// How many jobs each project gets: a few busy projects, a long tail (Zipf-like).
pub fn jobs_per_project(projects: usize, jobs: u32, seed: u64) -> Vec<u32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6a0b5);
    let weights: Vec<f64> = (0..projects)
        .map(|i| 1.0 / (i as f64 + 1.0).powf(0.8) * rng.gen_range(0.7..1.3))
        .collect();
    let total: f64 = weights.iter().sum();
    let mut counts: Vec<u32> = weights
        .iter()
        .map(|w| (w / total * f64::from(jobs)).floor() as u32)
        .collect();
    let missing = jobs - counts.iter().sum::<u32>();
    for i in 0..missing as usize {
        counts[i % projects] += 1;
    }
    counts
}

/// The jobs of one project, oldest first, spread over the 60 days before `anchor_ms`.
pub fn jobs(
    seed: u64,
    project: usize,
    count: u32,
    owner: i64,
    steps: u32,
    anchor_ms: i64,
) -> Vec<JobPlan> {
    let mut rng =
        ChaCha8Rng::seed_from_u64(seed.wrapping_mul(1_000_003).wrapping_add(project as u64));
    let span_ms: i64 = 60 * 24 * 3600 * 1000;
    let mut created = anchor_ms - span_ms;
    let gap = span_ms / i64::from(count.max(1));
    (0..count)
        .map(|i| {
            created += rng
                .gen_range(gap / 2..=gap.max(1) * 3 / 2)
                .min(anchor_ms - created - 1)
                .max(1);
            // The first jobs of the first project show every status at least once.
            let status = match (project, JobStatus::ALL.get(i as usize)) {
                (0, Some(status)) => *status,
                _ => pick_status(&mut rng),
            };
            job(&mut rng, i, status, owner, created, steps, anchor_ms)
        })
        .collect()
}

fn job(
    rng: &mut ChaCha8Rng,
    i: u32,
    status: JobStatus,
    owner: i64,
    created: i64,
    steps: u32,
    anchor_ms: i64,
) -> JobPlan {
    let model = MODELS[rng.gen_range(0..MODELS.len())];
    let optimizer = OPTIMIZERS[rng.gen_range(0..OPTIMIZERS.len())];
    let lr = 10f64.powf(rng.gen_range(-4.5..-1.5));
    let batch = [16, 32, 64, 128, 256][rng.gen_range(0..5)];
    let gpus = [0, 1, 1, 2, 4, 8][rng.gen_range(0..6)];
    let seed: u32 = rng.gen_range(0..10_000);
    let mut params = Map::new();
    params.insert("model".into(), json!(model));
    params.insert("optimizer".into(), json!(optimizer));
    params.insert("lr".into(), json!(format!("{lr:.2e}")));
    params.insert("batch_size".into(), json!(batch));
    params.insert("epochs".into(), json!(rng.gen_range(5..120)));
    params.insert(
        "weight_decay".into(),
        json!([0.0, 0.01, 0.05, 0.1][rng.gen_range(0..4)]),
    );
    params.insert("dropout".into(), json!((rng.gen_range(0..6) as f64) * 0.1));
    params.insert("seed".into(), Value::from(seed));

    // Nothing starts after the anchor ("now"), so nothing ends before it starts or costs less
    // than nothing.
    let started = (!matches!(status, JobStatus::Queued))
        .then(|| (created + rng.gen_range(5_000..600_000)).min(anchor_ms));
    let hours: f64 = rng.gen_range(0.05..14.0);
    let finished = started
        .filter(|_| status.is_finished())
        .map(|s| (s + (hours * 3.6e6) as i64).min(anchor_ms));
    let (logged, diverged) = match status {
        JobStatus::Succeeded => (steps, false),
        JobStatus::Failed => (rng.gen_range(steps / 10..=steps.max(1)), rng.gen_bool(0.5)),
        JobStatus::Cancelled | JobStatus::Lost | JobStatus::Running => {
            (rng.gen_range(steps / 10..=steps.max(1)), false)
        }
        JobStatus::Queued | JobStatus::Starting => (0, false),
    };
    let gpu_hours = finished
        .zip(started)
        .map(|(f, s)| (f - s) as f64 / 3.6e6 * gpus as f64);
    let mut tags: Vec<(String, String)> = Vec::new();
    for _ in 0..rng.gen_range(0..3) {
        let tag = TAGS[rng.gen_range(0..TAGS.len())].to_owned();
        if !tags.iter().any(|(k, _)| *k == tag) {
            tags.push((tag, String::new()));
        }
    }
    tags.sort();
    JobPlan {
        job: NewJob {
            name: format!("{model}-{optimizer}-lr{lr:.0e}-{i}"),
            status: Some(status),
            command: format!(
                "python train.py --model {model} --lr {lr:.2e} --batch-size {batch} --seed {seed}"
            ),
            params,
            tags,
            gpus,
            created_by: Some(owner),
            created_token: None,
            created_ms: Some(created),
            started_ms: started,
            finished_ms: finished,
            runner: started.map(|_| RUNNERS[rng.gen_range(0..RUNNERS.len())].to_owned()),
            cost_usd: gpu_hours.map(|h| (h * 2.10 * 100.0).round() / 100.0),
            // Demo jobs are history: nothing will run them.
            run: None,
        },
        steps: logged,
        curve_seed: rng.gen(),
        diverged,
    }
}

/// The curves of a job: noisy falling train loss, validation loss and AUC every 10 steps, and
/// a warm-up then cosine learning-rate schedule. Times run from `start_ms`, a step per second.
pub fn curves(
    seed: u64,
    steps: u32,
    diverged: bool,
    start_ms: i64,
) -> Vec<(&'static str, Vec<Point>)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let floor = rng.gen_range(0.05..0.6);
    let speed = rng.gen_range(2.0..8.0) / f64::from(steps.max(1));
    let auc_top = rng.gen_range(0.80..0.99);
    let n = steps as usize;
    let (mut train, mut val_loss, mut auc, mut lr) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n / 10 + 1),
        Vec::with_capacity(n / 10 + 1),
        Vec::with_capacity(n),
    );
    let blow_up = if diverged { steps * 4 / 5 } else { u32::MAX };
    for step in 0..steps {
        let wall_ms = start_ms + i64::from(step) * 1000;
        let x = f64::from(step);
        let clean = floor + (2.5 - floor) * (-speed * x).exp();
        let noise = 1.0 + rng.gen_range(-0.08..0.08);
        let value = if step >= blow_up {
            f64::NAN
        } else {
            clean * noise
        };
        train.push(Point {
            step: i64::from(step),
            wall_ms,
            value,
        });
        let warmup = (x / (f64::from(steps) * 0.05).max(1.0)).min(1.0);
        let cosine = 0.5 * (1.0 + (std::f64::consts::PI * x / f64::from(steps.max(1))).cos());
        lr.push(Point {
            step: i64::from(step),
            wall_ms,
            value: 3e-4 * warmup * cosine,
        });
        if step % 10 == 9 {
            let v = clean * 1.12 + rng.gen_range(-0.03..0.03);
            val_loss.push(Point {
                step: i64::from(step),
                wall_ms,
                value: if step >= blow_up { f64::NAN } else { v },
            });
            let a =
                auc_top - (auc_top - 0.5) * (-speed * 1.3 * x).exp() + rng.gen_range(-0.01..0.01);
            auc.push(Point {
                step: i64::from(step),
                wall_ms,
                value: a.min(1.0),
            });
        }
    }
    vec![
        ("train/loss", train),
        ("val/loss", val_loss),
        ("val/auc", auc),
        ("lr", lr),
    ]
}

/// A long noisy falling loss curve, a step a second from `start_ms`.
pub fn loss_curve(seed: u64, steps: u32, start_ms: i64) -> Vec<Point> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let speed = 5.0 / f64::from(steps.max(1));
    (0..steps)
        .map(|step| {
            let clean = 0.15 + 3.0 * (-speed * f64::from(step)).exp();
            let value = clean * (1.0 + rng.gen_range(-0.05..0.05));
            Point {
                step: i64::from(step),
                wall_ms: start_ms + i64::from(step) * 1000,
                value,
            }
        })
        .collect()
}

/// The most samples of a job's machine the demo stores for one job: a real runner takes one
/// every 10 s, which over the long pre-training run would be more points than everything else.
const SYSTEM_SAMPLES: u32 = 500;

/// What a runner's sampler stores for a job on `gpus` busy H100s over `seconds` from
/// `start_ms` (see `runner::system`), a sample every 10 s or [`SYSTEM_SAMPLES`] in all.
pub fn system_series(
    seed: u64,
    gpus: u32,
    seconds: u32,
    start_ms: i64,
) -> Vec<(String, Vec<Point>)> {
    const GPU_MEMORY_MB: f64 = 85_520.0;
    const POWER_LIMIT_W: f64 = 700.0;
    const HOST_MEMORY_MB: f64 = 2_063_000.0;
    let samples = (seconds / 10).min(SYSTEM_SAMPLES);
    let every_ms = i64::from(seconds) * 1000 / i64::from(samples.max(1));
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut series: Vec<(String, Vec<Point>)> = Vec::new();
    let mut put = |name: String, step: u32, value: f64| {
        let point = Point {
            step: i64::from(step),
            wall_ms: start_ms + i64::from(step) * every_ms,
            value,
        };
        match series.iter_mut().find(|(key, _)| *key == name) {
            Some((_, points)) => points.push(point),
            None => series.push((name, vec![point])),
        }
    };
    for step in 0..samples {
        for gpu in 0..gpus {
            let gpu_key = |name: &str| system_key(&format!("gpu_{gpu}_{name}"));
            let memory = 71_000.0 + rng.gen_range(-600.0..600.0);
            let watts = rng.gen_range(560.0..690.0);
            put(
                gpu_key("utilization_percentage"),
                step,
                rng.gen_range(88.0..99.0),
            );
            put(gpu_key("memory_usage_megabytes"), step, memory);
            put(
                gpu_key("memory_usage_percentage"),
                step,
                100.0 * memory / GPU_MEMORY_MB,
            );
            put(gpu_key("power_usage_watts"), step, watts);
            put(
                gpu_key("power_usage_percentage"),
                step,
                100.0 * watts / POWER_LIMIT_W,
            );
            put(
                gpu_key("temperature_celsius"),
                step,
                rng.gen_range(62.0..74.0),
            );
        }
        let host_memory = 96_000.0 + f64::from(step) * 20.0 + rng.gen_range(-300.0..300.0);
        put(
            system_key("cpu_utilization_percentage"),
            step,
            rng.gen_range(18.0..30.0),
        );
        put(
            system_key("system_memory_usage_megabytes"),
            step,
            host_memory,
        );
        put(
            system_key("system_memory_usage_percentage"),
            step,
            100.0 * host_memory / HOST_MEMORY_MB,
        );
    }
    series
}

/// Points [`system_series`] makes, for the progress bar.
pub fn system_point_count(gpus: u32, seconds: u32) -> u64 {
    u64::from((seconds / 10).min(SYSTEM_SAMPLES)) * (u64::from(gpus) * 6 + 3)
}

/// Points a job's curves hold, for the progress bar.
pub fn point_count(steps: u32) -> u64 {
    u64::from(steps) * 2 + u64::from(steps / 10) * 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_runs_system_series_are_the_runners_names_and_bounded() {
        let series = system_series(7, 8, 1_000_000, 0);
        assert_eq!(series.len(), 8 * 6 + 3);
        assert!(series
            .iter()
            .all(|(key, points)| key.starts_with("system/")
                && points.len() == SYSTEM_SAMPLES as usize));
        assert_eq!(
            system_point_count(8, 1_000_000),
            series.iter().map(|(_, p)| p.len() as u64).sum::<u64>()
        );
        let short = system_series(7, 1, 95, 1_000);
        let utilization = &short
            .iter()
            .find(|(k, _)| k == "system/gpu_0_utilization_percentage")
            .unwrap()
            .1;
        let walls: Vec<i64> = utilization.iter().map(|p| p.wall_ms).collect();
        assert_eq!(
            walls,
            (0..9).map(|i| 1_000 + i * 10_555).collect::<Vec<_>>(),
            "every 10 s or so"
        );
        assert_eq!(
            system_series(7, 1, 95, 1_000),
            short,
            "the same seed, the same samples"
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_jobs_and_another_seed_does_not() {
        let a = jobs(7, 1, 50, 1, 100, 1_700_000_000_000);
        let b = jobs(7, 1, 50, 1, 100, 1_700_000_000_000);
        let c = jobs(8, 1, 50, 1, 100, 1_700_000_000_000);
        let names =
            |plans: &[JobPlan]| plans.iter().map(|p| p.job.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&a), names(&b));
        assert_ne!(names(&a), names(&c));
        assert!(a
            .windows(2)
            .all(|w| w[0].job.created_ms < w[1].job.created_ms));
        assert!(a
            .iter()
            .all(|p| p.job.created_ms.unwrap() < 1_700_000_000_000));
    }

    #[test]
    fn loss_falls_and_auc_rises_like_training() {
        let curves = curves(3, 2000, false, 0);
        let series = |key: &str| curves.iter().find(|(k, _)| *k == key).unwrap().1.clone();
        let (loss, auc) = (series("train/loss"), series("val/auc"));
        let mean = |p: &[Point]| p.iter().map(|p| p.value).sum::<f64>() / p.len() as f64;
        assert!(mean(&loss[..100]) > 2.0 * mean(&loss[1900..]));
        assert!(mean(&auc[..10]) < mean(&auc[190..]));
        assert_eq!(
            curves.iter().map(|(_, p)| p.len() as u64).sum::<u64>(),
            point_count(2000)
        );
    }

    #[test]
    fn every_status_appears_in_the_first_project_and_job_counts_add_up() {
        let plans = jobs(1, 0, 20, 1, 10, 1_700_000_000_000);
        for status in JobStatus::ALL {
            assert!(
                plans.iter().any(|p| p.job.status == Some(status)),
                "{status:?}"
            );
        }
        let counts = jobs_per_project(40, 2000, 7);
        assert_eq!(counts.iter().sum::<u32>(), 2000);
        assert!(
            counts[0] > counts[39] * 3,
            "a few busy projects, a long tail"
        );
    }
}
