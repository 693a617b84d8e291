//! `millrace runner`: register with the server, lease jobs that fit this machine's free GPUs,
//! run them, heartbeat, and carry on through server restarts.

mod artifacts;
mod environment;
pub mod gpus;
mod inputs;
mod job;
mod metrics;
mod output;
pub(crate) mod system;
pub mod token;

use crate::client::{CallError, Client};
use crate::secret::Secret;
use anyhow::{bail, Context};
use job::{Control, JobContext, Leased};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// How a runner is set up (from `millrace runner` flags).
#[derive(Clone, Debug)]
pub struct Settings {
    /// The server, `http://host:port`.
    pub server: String,
    /// The runner token.
    pub token: Secret,
    /// Unique name; the host name by default.
    pub name: String,
    /// GPU ids this runner hands out.
    pub gpus: Vec<String>,
    /// What those GPUs are, when nvidia-smi told (`--gpus auto`).
    pub gpu_models: Vec<app::model::Gpu>,
    /// Labels jobs can ask for.
    pub labels: Vec<String>,
    /// Where job directories are made.
    pub workdir: PathBuf,
    /// Jobs at once at most.
    pub max_jobs: usize,
    /// Time between SIGTERM and SIGKILL when a job is stopped.
    pub grace: Duration,
    /// Variables of the runner's environment handed on to jobs beyond the allow-list.
    pub pass_env: Vec<String>,
    /// How often a running job's system metrics are sampled; `None`: never.
    pub system_metrics: Option<Duration>,
}

#[derive(Debug, Deserialize)]
struct Registered {
    runner_id: i64,
    heartbeat_ms: u64,
}

/// A job in progress: its GPUs and the line to tell it to stop.
struct Active {
    gpus: Vec<String>,
    control: watch::Sender<Control>,
}

/// The runner's jobs in progress, shared by the lease loop, the heartbeat and the jobs.
#[derive(Clone, Default)]
struct Jobs {
    active: Arc<Mutex<HashMap<String, Active>>>,
    ended: Arc<Notify>,
}

impl Jobs {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Active>> {
        self.active
            .lock()
            .expect("no job panics while holding the lock")
    }

    fn free_gpus(&self, all: &[String]) -> Vec<String> {
        let active = self.lock();
        all.iter()
            .filter(|g| !active.values().any(|a| a.gpus.contains(g)))
            .cloned()
            .collect()
    }

    fn tell_all(&self, control: Control) {
        for job in self.lock().values() {
            let _ = job.control.send(control);
        }
    }
}

/// Runs the runner until Ctrl-C (jobs are then stopped) or until its token is refused.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    std::fs::create_dir_all(&settings.workdir).with_context(|| {
        format!(
            "cannot create the work directory {}",
            settings.workdir.display()
        )
    })?;
    let client = Client::new(&settings.server, settings.token.expose())?;
    let registered = register(&client, &settings).await?;
    println!(
        "runner {} registered with {} (GPUs: {}; labels: {}); waiting for jobs",
        settings.name,
        settings.server,
        match (settings.gpus.is_empty(), settings.gpu_models.is_empty()) {
            (true, _) => "none".to_owned(),
            (false, true) => settings.gpus.join(","),
            (false, false) => format!(
                "{}, {}",
                settings.gpus.join(","),
                app::format::gpus(&settings.gpu_models)
            ),
        },
        if settings.labels.is_empty() {
            "none".to_owned()
        } else {
            settings.labels.join(",")
        },
    );
    let jobs = Jobs::default();
    let context = JobContext {
        client: client.clone(),
        runner_id: registered.runner_id,
        workdir: settings.workdir.clone(),
        grace: settings.grace,
        system_metrics: settings.system_metrics,
        inherited_env: Arc::new(environment::inherited(
            std::env::vars_os(),
            &settings.pass_env,
        )),
    };
    let beat = Duration::from_millis(registered.heartbeat_ms.max(100));
    let heartbeat = heartbeat(client.clone(), registered.runner_id, jobs.clone(), beat);
    let leasing = lease_loop(&settings, context, jobs.clone());
    let result = tokio::select! {
        result = heartbeat => result,
        result = leasing => result,
        _ = tokio::signal::ctrl_c() => {
            println!("stopping: cancelling the jobs in progress");
            Ok(())
        }
    };
    jobs.tell_all(Control::Cancel);
    while !jobs.lock().is_empty() {
        let _ = tokio::time::timeout(Duration::from_secs(1), jobs.ended.notified()).await;
    }
    result
}

async fn register(client: &Client, settings: &Settings) -> anyhow::Result<Registered> {
    let body = json!({
        "name": settings.name, "hostname": hostname(), "gpus": settings.gpus,
        "gpu_models": settings.gpu_models,
        "labels": settings.labels, "max_jobs": settings.max_jobs,
    });
    let mut backoff = Duration::from_millis(500);
    loop {
        match client
            .post::<_, Registered>("/api/v1/runner/register", &body)
            .await
        {
            Ok(registered) => return Ok(registered),
            Err(error) if error.is_transient() => {
                eprintln!(
                    "millrace runner: {error}; trying again in {}s",
                    backoff.as_secs_f32()
                );
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
            Err(error) => bail!("the server refused to register this runner: {error}"),
        }
    }
}

/// The machine's host name, for the runners page.
pub fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Leases jobs while there is room, and starts each in its own task.
async fn lease_loop(settings: &Settings, context: JobContext, jobs: Jobs) -> anyhow::Result<()> {
    let mut backoff = Duration::from_millis(500);
    loop {
        if jobs.lock().len() >= settings.max_jobs {
            jobs.ended.notified().await;
            continue;
        }
        let free = jobs.free_gpus(&settings.gpus);
        // An idle runner waits long at the server (which wakes it when a job is queued); a busy
        // one asks again each second, so GPUs a finished job frees are offered soon.
        let wait_ms = if jobs.lock().is_empty() {
            20_000
        } else {
            1_000
        };
        let body = json!({ "runner_id": context.runner_id, "free_gpus": free, "wait_ms": wait_ms });
        let leased = context
            .client
            .post_maybe::<_, Leased>("/api/v1/runner/lease", &body, Duration::from_secs(40))
            .await;
        match leased {
            Ok(Some(job)) => {
                backoff = Duration::from_millis(500);
                start(&context, &jobs, job);
            }
            Ok(None) => {}
            Err(error) => {
                fatal_or_wait(&error, &mut backoff).await?;
            }
        }
    }
}

fn start(context: &JobContext, jobs: &Jobs, job: Leased) {
    println!(
        "job {} (#{} of {}) started, attempt {}",
        job.uid, job.number, job.project, job.attempt
    );
    let (control, watch) = watch::channel(Control::Run);
    jobs.lock().insert(
        job.uid.clone(),
        Active {
            gpus: job.gpus.clone(),
            control,
        },
    );
    let (context, jobs, uid) = (context.clone(), jobs.clone(), job.uid.clone());
    tokio::spawn(async move {
        job::run(context, job, watch).await;
        jobs.lock().remove(&uid);
        jobs.ended.notify_waiters();
        println!("job {uid} ended");
    });
}

/// Renews the leases of the jobs in progress and passes on cancels; a refused token stops the
/// runner (its jobs cannot report any more), a server that is away is waited for.
async fn heartbeat(
    client: Client,
    runner_id: i64,
    jobs: Jobs,
    every: Duration,
) -> anyhow::Result<()> {
    #[derive(Deserialize)]
    struct Answer {
        jobs: HashMap<String, String>,
    }
    let mut backoff = Duration::from_millis(500);
    loop {
        tokio::time::sleep(every).await;
        let uids: Vec<String> = jobs.lock().keys().cloned().collect();
        let body = json!({ "runner_id": runner_id, "jobs": uids });
        match client
            .post::<_, Answer>("/api/v1/runner/heartbeat", &body)
            .await
        {
            Ok(answer) => {
                backoff = Duration::from_millis(500);
                let active = jobs.lock();
                for (uid, word) in answer.jobs {
                    let control = match word.as_str() {
                        "cancel" => Control::Cancel,
                        "gone" => Control::Abandon,
                        _ => continue,
                    };
                    if let Some(job) = active.get(&uid) {
                        if control == Control::Abandon {
                            eprintln!("millrace runner: job {uid} is no longer leased to this runner; stopping it");
                        }
                        let _ = job.control.send(control);
                    }
                }
            }
            Err(error) => {
                if let Err(fatal) = fatal_or_wait(&error, &mut backoff).await {
                    jobs.tell_all(Control::Abandon);
                    return Err(fatal);
                }
            }
        }
    }
}

/// Waits out a transient failure; a refused token (401) or a forgotten runner is fatal.
async fn fatal_or_wait(error: &CallError, backoff: &mut Duration) -> anyhow::Result<()> {
    match error.status().map(|s| s.as_u16()) {
        Some(401) => bail!("the server refused the runner token (revoked?): {error}"),
        Some(400) => bail!("the server no longer knows this runner: {error}"),
        _ => {
            eprintln!(
                "millrace runner: {error}; trying again in {:.1}s",
                backoff.as_secs_f32()
            );
            tokio::time::sleep(*backoff).await;
            *backoff = (*backoff * 2).min(Duration::from_secs(5));
            Ok(())
        }
    }
}
