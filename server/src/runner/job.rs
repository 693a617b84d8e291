//! One leased job on the runner: prepare its directory, run its command in its own process
//! group, stream its output, stop it when asked, keep its artifacts, report how it ended.

use super::metrics::MetricReader;
use super::output::{self, Line, UploadEnd};
use crate::client::Client;
use crate::secret::Secret;
use crate::spec::{CommandLine, Plan};
use app::model::JobStatus;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use serde::Deserialize;
use serde_json::{json, Value};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tokio::process::Command;
use tokio::sync::{mpsc, watch};

/// A job as the server leases it.
#[derive(Clone, Debug, Deserialize)]
pub struct Leased {
    /// Global id.
    pub uid: String,
    /// Number in its project.
    pub number: i64,
    /// `owner/name`.
    pub project: String,
    /// What to run.
    pub plan: Plan,
    /// GPU ids leased to it.
    pub gpus: Vec<String>,
    /// Which try this is.
    pub attempt: i64,
    /// Output lines the server already holds.
    pub log_lines: i64,
    /// The job's own API token, for its tracking code.
    pub token: Option<Secret>,
}

/// What the runner's heartbeat tells a running job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Keep going.
    Run,
    /// Someone cancelled it: stop it gracefully and report `cancelled`.
    Cancel,
    /// The runner lost the lease or its token: stop it, report nothing.
    Abandon,
}

/// The runner's settings a job needs.
#[derive(Clone, Debug)]
pub struct JobContext {
    /// The server.
    pub client: Client,
    /// This runner's id.
    pub runner_id: i64,
    /// Where job directories are made.
    pub workdir: PathBuf,
    /// How long a stopped job gets between SIGTERM and SIGKILL.
    pub grace: Duration,
    /// How often its system metrics are sampled; `None`: never.
    pub system_metrics: Option<Duration>,
    /// The variables of the runner's environment a job starts with (see `environment`).
    pub inherited_env: Arc<Vec<(OsString, OsString)>>,
}

/// How the process ended, before it is reported.
struct Ended {
    status: JobStatus,
    exit_code: Option<i64>,
    error: Option<String>,
}

/// Runs a leased job to its end and reports it; never fails (failures become the job's).
pub async fn run(context: JobContext, job: Leased, control: watch::Receiver<Control>) {
    let dir = context
        .workdir
        .join("jobs")
        .join(format!("{}-{}", job.uid, job.attempt));
    let (lines_tx, lines_rx) = mpsc::channel::<Line>(10_000);
    let metrics = job.plan.metrics.clone().map(MetricReader::new);
    let uploader = tokio::spawn(output::upload(
        context.client.clone(),
        context.runner_id,
        job.uid.clone(),
        job.log_lines,
        metrics,
        lines_rx,
    ));
    let ended = execute(&context, &job, &dir, lines_tx.clone(), control.clone()).await;
    if let Some(ended) = &ended {
        if ended.status != JobStatus::Cancelled {
            keep_artifacts(&context, &job, &dir, &lines_tx).await;
        }
    }
    drop(lines_tx);
    let upload_end = uploader.await.unwrap_or(UploadEnd::Done);
    let abandoned = *control.borrow() == Control::Abandon || upload_end != UploadEnd::Done;
    if let (Some(ended), false) = (ended, abandoned) {
        report(&context, &job.uid, ended).await;
    }
    if let Err(error) = tokio::fs::remove_dir_all(&dir).await {
        if error.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(%error, dir = %dir.display(), "could not remove a job directory");
        }
    }
}

/// Prepares and runs the process; `None` when the job was abandoned before it could end.
async fn execute(
    context: &JobContext,
    job: &Leased,
    dir: &Path,
    lines: mpsc::Sender<Line>,
    mut control: watch::Receiver<Control>,
) -> Option<Ended> {
    let say = |text: String| {
        let lines = lines.clone();
        async move {
            let line = Line {
                stream: "stderr",
                text: format!("millrace: {text}"),
                wall_ms: app::db::now_ms(),
            };
            let _ = lines.send(line).await;
        }
    };
    let cwd = match prepare(context, job, dir).await {
        Ok(cwd) => cwd,
        Err(error) => {
            say(format!("{error:#}")).await;
            return Some(failed(None, format!("{error:#}")));
        }
    };
    let mut command = command(context, job, &cwd, dir);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => {
            let message = format!("cannot start {}: {error}", describe(&job.plan.command));
            say(message.clone()).await;
            return Some(failed(None, message));
        }
    };
    let group = child.id().map(|id| Pid::from_raw(id as i32));
    tokio::spawn(say_started(context.clone(), job.uid.clone()));
    let sampler = system_metrics(context, job, group).map(tokio::spawn);
    let readers = [
        tokio::spawn(output::read_lines(
            child.stdout.take().expect("piped"),
            "stdout",
            lines.clone(),
        )),
        tokio::spawn(output::read_lines(
            child.stderr.take().expect("piped"),
            "stderr",
            lines.clone(),
        )),
    ];
    let timeout = job.plan.timeout_s.map(Duration::from_secs);
    let deadline = async {
        match timeout {
            Some(limit) => tokio::time::sleep(limit).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);
    let mut stop_reason: Option<Control> = None;
    let mut timed_out = false;
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            () = &mut deadline, if !timed_out => {
                timed_out = true;
                say(format!("the job ran over its timeout of {}s; stopping it", timeout.unwrap_or_default().as_secs())).await;
                terminate(group, context.grace, &mut child).await;
            }
            changed = control.changed(), if stop_reason.is_none() => {
                let wanted = if changed.is_ok() { *control.borrow() } else { Control::Abandon };
                if wanted != Control::Run {
                    stop_reason = Some(wanted);
                    if wanted == Control::Cancel {
                        say("cancelled; stopping the job".into()).await;
                    }
                    terminate(group, context.grace, &mut child).await;
                }
            }
        }
    };
    if let Some(sampler) = sampler {
        sampler.abort();
    }
    // Whatever the job started and left behind goes with it.
    if let Some(group) = group {
        let _ = killpg(group, Signal::SIGKILL);
    }
    for reader in readers {
        let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
    }
    match stop_reason {
        Some(Control::Abandon) => None,
        Some(_) => Some(Ended {
            status: JobStatus::Cancelled,
            exit_code: None,
            error: Some("cancelled".into()),
        }),
        None if timed_out => Some(failed(
            None,
            format!("timed out after {}s", timeout.unwrap_or_default().as_secs()),
        )),
        None => Some(from_exit(status)),
    }
}

/// The task that samples the job's system metrics, when the runner samples them and the job
/// has a token to store them with (its own: it may write only to this job).
fn system_metrics(
    context: &JobContext,
    job: &Leased,
    group: Option<Pid>,
) -> Option<impl std::future::Future<Output = ()>> {
    let every = context.system_metrics?;
    let client = Client::new(context.client.base(), job.token.as_ref()?.expose()).ok()?;
    Some(super::system::watch(
        client,
        job.uid.clone(),
        group?.as_raw(),
        job.gpus.clone(),
        every,
    ))
}

fn failed(exit_code: Option<i64>, error: String) -> Ended {
    Ended {
        status: JobStatus::Failed,
        exit_code,
        error: Some(error),
    }
}

fn from_exit(status: std::io::Result<ExitStatus>) -> Ended {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Ok(s) if s.success() => Ended {
            status: JobStatus::Succeeded,
            exit_code: Some(0),
            error: None,
        },
        Ok(s) => match (s.code(), s.signal()) {
            (Some(code), _) => failed(Some(i64::from(code)), format!("exited with code {code}")),
            (None, Some(signal)) => {
                let name = Signal::try_from(signal)
                    .map_or_else(|_| signal.to_string(), |s| s.as_str().to_owned());
                failed(None, format!("killed by {name}"))
            }
            (None, None) => failed(None, "ended without an exit code".into()),
        },
        Err(error) => failed(None, format!("could not wait for the process: {error}")),
    }
}

/// SIGTERM to the job's process group, SIGKILL after `grace` if it is still there.
async fn terminate(group: Option<Pid>, grace: Duration, child: &mut tokio::process::Child) {
    let Some(group) = group else {
        return;
    };
    let _ = killpg(group, Signal::SIGTERM);
    if tokio::time::timeout(grace, child.wait()).await.is_err() {
        let _ = killpg(group, Signal::SIGKILL);
    }
}

/// Makes the job's fresh directory, unpacks its code and fetches its inputs there; answers
/// where to run.
async fn prepare(context: &JobContext, job: &Leased, dir: &Path) -> anyhow::Result<PathBuf> {
    use anyhow::Context;
    if tokio::fs::try_exists(dir).await.unwrap_or(false) {
        tokio::fs::remove_dir_all(dir).await.ok();
    }
    tokio::fs::create_dir_all(dir)
        .await
        .with_context(|| format!("cannot create the job directory {}", dir.display()))?;
    if let Some(sha) = &job.plan.snapshot {
        let bytes = context
            .client
            .get_bytes(&format!("/api/v1/runner/snapshots/{sha}"))
            .await
            .context("cannot download the code snapshot")?;
        let dest = dir.to_owned();
        tokio::task::spawn_blocking(move || crate::snapshot::unpack(&bytes, &dest))
            .await
            .expect("unpacking does not panic")?;
    }
    super::inputs::fetch(context, job, dir).await?;
    match &job.plan.workdir {
        Some(workdir) if !Path::new(workdir).is_dir() => {
            anyhow::bail!("the workdir {workdir} does not exist on this runner")
        }
        Some(workdir) => Ok(PathBuf::from(workdir)),
        None => Ok(dir.to_owned()),
    }
}

/// The process to start: its own process group, output piped, a clean environment (the
/// allow-list of the runner's, the spec's `env`, then the job's own variables).
fn command(context: &JobContext, job: &Leased, cwd: &Path, dir: &Path) -> Command {
    let mut command = match &job.plan.command {
        CommandLine::Shell(text) => {
            let mut c = Command::new("sh");
            c.arg("-c").arg(text);
            c
        }
        CommandLine::Argv(argv) => {
            let mut c = Command::new(&argv[0]);
            c.args(&argv[1..]);
            c
        }
    };
    let server = context.client.base();
    command
        .current_dir(cwd)
        .env_clear()
        // CUDA numbers GPUs fastest first unless told otherwise; nvidia-smi, and so the ids
        // the runner hands out, by PCI bus. The runner's own environment may still say else.
        .env("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
        .envs(context.inherited_env.iter().cloned())
        .envs(&job.plan.env)
        .env("CUDA_VISIBLE_DEVICES", job.gpus.join(","))
        .env("MILLRACE_JOB_ID", &job.uid)
        .env("MILLRACE_JOB_NUMBER", job.number.to_string())
        .env("MILLRACE_PROJECT", &job.project)
        .env("MILLRACE_SERVER", server)
        .env("MLFLOW_TRACKING_URI", server)
        .env("MLFLOW_RUN_ID", &job.uid)
        // Python buffers stdout into a pipe; unbuffered, its prints reach the log as they happen.
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    if !job.plan.inputs.is_empty() {
        // Absolute, so a step that runs in a `workdir` finds them too.
        command.env("MILLRACE_INPUTS", dir.join(super::inputs::FOLDER));
    }
    if let Some(token) = &job.token {
        command
            .env("MILLRACE_TOKEN", token.expose())
            .env("MLFLOW_TRACKING_TOKEN", token.expose());
    }
    command
}

fn describe(command: &CommandLine) -> String {
    match command {
        CommandLine::Shell(text) => format!("`sh -c {text}`"),
        CommandLine::Argv(argv) => format!("`{}`", argv[0]),
    }
}

/// Uploads the files the spec's artifact patterns match; problems are written to the log.
async fn keep_artifacts(
    context: &JobContext,
    job: &Leased,
    dir: &Path,
    lines: &mpsc::Sender<Line>,
) {
    if job.plan.artifacts.is_empty() {
        return;
    }
    let root = job
        .plan
        .workdir
        .as_ref()
        .map_or_else(|| dir.to_owned(), PathBuf::from);
    let patterns = job.plan.artifacts.clone();
    let found = tokio::task::spawn_blocking(move || super::artifacts::matching(&root, &patterns))
        .await
        .expect("matching does not panic");
    let note = |text: String| Line {
        stream: "stderr",
        text: format!("millrace: {text}"),
        wall_ms: app::db::now_ms(),
    };
    if found.files.is_empty() {
        let _ = lines
            .send(note(format!(
                "no file matches the artifacts {:?}",
                job.plan.artifacts
            )))
            .await;
    }
    for (relative, absolute) in found.files {
        let path = format!(
            "/api/v1/runner/jobs/{}/artifacts/{relative}?runner_id={}",
            job.uid, context.runner_id
        );
        let result = match tokio::fs::read(&absolute).await {
            Ok(bytes) => context
                .client
                .send_bytes::<Value>(reqwest::Method::PUT, &path, bytes)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let text = match result {
            Ok(_) => format!("kept artifact {relative}"),
            Err(error) => format!("could not keep artifact {relative}: {error}"),
        };
        let _ = lines.send(note(text)).await;
    }
}

/// Tells the server the process started (the job is `running`), retrying while it is away;
/// the job runs meanwhile.
async fn say_started(context: JobContext, uid: String) {
    let path = format!("/api/v1/runner/jobs/{uid}/started");
    let body = json!({ "runner_id": context.runner_id });
    let mut backoff = Duration::from_millis(200);
    while let Err(error) = context.client.post::<_, Value>(&path, &body).await {
        if !error.is_transient() {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Tells the server how the job ended, retrying while it is away.
async fn report(context: &JobContext, uid: &str, ended: Ended) {
    let body = json!({ "runner_id": context.runner_id, "status": ended.status.as_str(),
                       "exit_code": ended.exit_code, "error": ended.error });
    let path = format!("/api/v1/runner/jobs/{uid}/finish");
    let mut backoff = Duration::from_millis(200);
    loop {
        match context.client.post::<_, Value>(&path, &body).await {
            Ok(_) => return,
            Err(error) if error.is_transient() => {
                tracing::warn!(%error, uid, "reporting the end of a job failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Err(error) => {
                tracing::warn!(%error, uid, "the server did not take the job's end");
                return;
            }
        }
    }
}
