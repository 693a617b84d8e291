//! The commands that talk to a server: `apply`, `run`, `logs`, `cancel`, `sweep`, `pipeline`,
//! `pool`, `project`, `artifacts` and `model`.

pub mod artifacts;
pub mod models;
pub mod pipelines;
pub mod pools;
pub mod projects;
pub mod sweeps;

use crate::cli::{ApplyArgs, CancelArgs, LogsArgs, Remote, RunArgs};
use crate::client::Client;
use crate::spec::{self, AnySpec, JobRequest, JobSpec, MetricFormat, Metrics};
use anyhow::{bail, Context};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::io::Write;
use std::path::Path;

/// `millrace apply -f spec.yaml [--dry-run]`, for a job, sweep, pool or pipeline spec.
pub async fn apply(args: ApplyArgs) -> anyhow::Result<()> {
    let spec = match spec::load_any(&args.file)? {
        AnySpec::Job(spec) => *spec,
        AnySpec::Sweep(spec) => return sweeps::apply(&args, *spec).await,
        AnySpec::Pool(spec) => return pools::apply(&args, *spec).await,
        AnySpec::Pipeline(spec) => return pipelines::apply(&args, *spec).await,
    };
    let client = client(&args.remote)?;
    let snapshot = match &spec.code {
        Some(code) => Some(code_snapshot(&client, &args, code).await?),
        None => None,
    };
    let request = spec.request(snapshot);
    let how = if args.dry_run {
        Submit::DryRun
    } else {
        Submit::Apply
    };
    let answer = submit(&client, &spec.project, &request, how).await?;
    println!("{}", describe_apply(&answer, &spec, client.base()));
    Ok(())
}

/// The snapshot of a spec's `code` directory (relative to the spec file), uploaded unless this
/// is a dry run; a dry run packs it too, as its hash tells whether the job would change.
async fn code_snapshot(client: &Client, args: &ApplyArgs, code: &str) -> anyhow::Result<String> {
    let base = args
        .file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    snapshot(client, &base.join(code), args.max_snapshot, !args.dry_run).await
}

#[derive(Debug, Deserialize)]
struct Applied {
    action: String,
    #[serde(default)]
    dry_run: bool,
    uid: Option<String>,
    number: Option<i64>,
    previous: Option<i64>,
    status: Option<String>,
    url: Option<String>,
}

/// What `apply` asks of the server besides the job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Submit {
    /// Queue it unless the same spec already made a job.
    Apply,
    /// Say what `Apply` would do.
    DryRun,
    /// Queue it whatever came before (`millrace run`).
    Always,
}

async fn submit(
    client: &Client,
    project: &str,
    request: &JobRequest,
    how: Submit,
) -> anyhow::Result<Applied> {
    let query = match how {
        Submit::Apply => "",
        Submit::DryRun => "?dry_run=true",
        Submit::Always => "?always=true",
    };
    let path = format!("/api/v1/projects/{project}/apply{query}");
    let context = || format!("queueing {} in {project}", request.name);
    match client.post(&path, request).await {
        Err(error)
            if how != Submit::DryRun
                && projects::created_missing(client, project, &error).await? =>
        {
            client.post(&path, request).await.with_context(context)
        }
        answer => answer.with_context(context),
    }
}

fn describe_apply(answer: &Applied, spec: &JobSpec, server: &str) -> String {
    let name = &spec.name;
    let url = answer
        .url
        .as_deref()
        .map(|u| format!(" {server}{u}"))
        .unwrap_or_default();
    let number = answer.number.map_or(String::new(), |n| format!("#{n}"));
    let previous = answer.previous.map_or(String::new(), |n| {
        format!(" (the spec changed since job #{n})")
    });
    match (answer.action.as_str(), answer.dry_run) {
        ("unchanged", _) => format!(
            "{name}: unchanged, job {number} is {}{url}; change the spec to run it again",
            answer.status.as_deref().unwrap_or("there")
        ),
        ("created", true) => format!("{name}: would queue a new job"),
        ("changed", true) => format!("{name}: would queue a new job{previous}"),
        (_, _) => format!("{name}: queued job {number}{previous}{url}"),
    }
}

/// Packs `dir` and, if `upload`, sends it to the server; answers the snapshot's hash.
async fn snapshot(client: &Client, dir: &Path, limit: u64, upload: bool) -> anyhow::Result<String> {
    if !dir.is_dir() {
        bail!("the code directory {} does not exist", dir.display());
    }
    let owned = dir.to_owned();
    let bytes = tokio::task::spawn_blocking(move || crate::snapshot::pack(&owned, limit, true))
        .await
        .expect("packing does not panic")?;
    if !upload {
        return Ok(crate::files::sha256_hex(&bytes));
    }
    eprintln!(
        "uploading the code snapshot ({})",
        app::format::bytes(bytes.len() as u64)
    );
    #[derive(Deserialize)]
    struct Stored {
        sha256: String,
    }
    let stored: Stored = client
        .send_bytes(reqwest::Method::POST, "/api/v1/snapshots", bytes)
        .await
        .context("uploading the code snapshot")?;
    Ok(stored.sha256)
}

/// `millrace run [...] -- COMMAND ARGS`.
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let client = client(&args.remote)?;
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let project = match &args.project {
        Some(project) => project.clone(),
        None => default_project(&client, &cwd).await?,
    };
    let spec = run_spec(&args, &project)?;
    let snapshot = snapshot(&client, &cwd, args.max_snapshot, true).await?;
    // A repeat of the same command is a new run, not "unchanged".
    let answer = submit(
        &client,
        &project,
        &spec.request(Some(snapshot)),
        Submit::Always,
    )
    .await?;
    let uid = answer.uid.clone().context("the server named no job")?;
    eprintln!("{}", describe_apply(&answer, &spec, client.base()));
    if args.detach {
        println!("{uid}");
        return Ok(());
    }
    eprintln!("following its output; Ctrl-C detaches (the job goes on): millrace logs {uid} -f");
    follow(&client, &uid, true).await
}

fn run_spec(args: &RunArgs, project: &str) -> anyhow::Result<JobSpec> {
    let program = Path::new(&args.command[0])
        .file_name()
        .map_or_else(|| "job".to_owned(), |n| n.to_string_lossy().into_owned());
    let name: String = args
        .name
        .clone()
        .unwrap_or(program)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    let spec = JobSpec {
        name: if name.is_empty() { "job".into() } else { name },
        project: project.to_owned(),
        command: spec::Command::Argv(args.command.clone()),
        workdir: None,
        code: Some(".".into()),
        env: Default::default(),
        params: Map::new(),
        resources: spec::Resources {
            gpus: args.gpus,
            labels: args.labels.clone(),
            gpu_memory: args.gpu_memory.clone(),
            gpu_model: args.gpu_model.clone(),
        },
        metrics: (!args.metrics.is_empty()).then(|| Metrics {
            names: args.metrics.clone(),
            format: MetricFormat::Auto,
            step: "step".into(),
        }),
        timeout: args.timeout.clone(),
        retries: 0,
        artifacts: args.artifacts.clone(),
    };
    spec.check().map_err(|(path, message)| {
        let flag = path
            .last()
            .map_or(String::new(), |field| field.replace('_', "-"));
        anyhow::anyhow!("--{flag}: {message}")
    })?;
    Ok(spec)
}

/// The caller's project named after `dir` (`ann/my-dir`).
async fn default_project(client: &Client, dir: &Path) -> anyhow::Result<String> {
    let me = projects::me(client).await?;
    let base: String = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    if base.is_empty() {
        bail!("name the project: --project owner/name");
    }
    Ok(format!("{}/{base}", me.name))
}

/// `millrace logs JOB [-f]`.
pub async fn logs(args: LogsArgs) -> anyhow::Result<()> {
    let client = client(&args.remote)?;
    let uid = resolve(&client, &args.job).await?;
    follow(&client, &uid, args.follow).await
}

/// Prints the job's output from the start; with `wait`, until it ends (then its status).
async fn follow(client: &Client, uid: &str, wait: bool) -> anyhow::Result<()> {
    #[derive(Deserialize)]
    struct Chunk {
        stream: String,
        text: String,
    }
    #[derive(Deserialize)]
    struct Page {
        chunks: Vec<Chunk>,
        next: i64,
        offset: i64,
        status: String,
        exit_code: Option<i64>,
        error: Option<String>,
    }
    let (mut after, mut offset) = (0, 0);
    let mut backoff = std::time::Duration::from_millis(500);
    loop {
        let wait_ms = if wait { 20_000 } else { 0 };
        let page: Page = match client
            .get(&format!(
                "/api/v1/jobs/{uid}/logs?after={after}&offset={offset}&wait_ms={wait_ms}"
            ))
            .await
        {
            Ok(page) => page,
            Err(error) if wait && error.is_transient() => {
                eprintln!("millrace: {error}; trying again");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(std::time::Duration::from_secs(5));
                continue;
            }
            Err(error) => return Err(error).context("reading the job's output"),
        };
        for chunk in &page.chunks {
            if chunk.stream == "stderr" {
                eprint!("{}", chunk.text);
            } else {
                print!("{}", chunk.text);
            }
        }
        std::io::stdout().flush().ok();
        let finished = !matches!(page.status.as_str(), "queued" | "starting" | "running");
        if page.chunks.is_empty() && (finished || !wait) {
            if finished && wait {
                let detail = page.error.map(|e| format!(": {e}")).unwrap_or_default();
                eprintln!("job {uid} {}{detail}", page.status);
                if page.status != "succeeded" {
                    std::process::exit(page.exit_code.map_or(1, |c| c.clamp(1, 255) as i32));
                }
            }
            return Ok(());
        }
        (after, offset) = (page.next, page.offset);
    }
}

/// `millrace cancel JOB`.
pub async fn cancel(args: CancelArgs) -> anyhow::Result<()> {
    let client = client(&args.remote)?;
    let uid = resolve(&client, &args.job).await?;
    let answer: Value = client
        .post(&format!("/api/v1/jobs/{uid}/cancel"), &json!({}))
        .await?;
    println!(
        "job {uid}: {} ({})",
        answer["result"].as_str().unwrap_or("?"),
        answer["message"].as_str().unwrap_or("")
    );
    Ok(())
}

/// The global id of a job named by global id, by URL path or by `owner/project/number`.
async fn resolve(client: &Client, job: &str) -> anyhow::Result<String> {
    let path = job
        .split("://")
        .nth(1)
        .map_or(job, |rest| rest.find('/').map_or("", |i| &rest[i..]));
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let (owner, project, number) = match parts.as_slice() {
        [uid] => return Ok((*uid).to_owned()),
        ["u", owner, "p", project, "j", number, ..] => (*owner, *project, *number),
        [owner, project, number] => (*owner, *project, *number),
        _ => bail!("'{job}' names no job: give its id, its URL or owner/project/number"),
    };
    let found: Value = client
        .get(&format!("/api/v1/projects/{owner}/{project}/jobs/{number}"))
        .await
        .with_context(|| format!("finding job {number} of {owner}/{project}"))?;
    found["uid"]
        .as_str()
        .map(str::to_owned)
        .context("the server named no job")
}

fn client(remote: &Remote) -> anyhow::Result<Client> {
    Client::new(&remote.server, remote.token.expose())
}

/// A JSON string's text, or nothing.
fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}
