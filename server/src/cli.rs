//! The command line: one clap struct, every flag with an environment fallback where it helps.

use crate::secret::Secret;
use clap::parser::ValueSource;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;

/// millrace runs ML training jobs on your GPU machines, tracks their parameters, metrics,
/// logs and cost, and shows them in a fast web app.
#[derive(Debug, Parser)]
#[command(name = "millrace", version, about, long_about = None)]
pub struct Cli {
    /// Database URL: sqlite://millrace.db (a file, created if missing) or
    /// postgres://USER@HOST:PORT/DATABASE.
    #[arg(
        long,
        global = true,
        env = "MILLRACE_DATABASE_URL",
        default_value = "sqlite://millrace.db"
    )]
    pub database: String,

    /// Log lines on stderr as text for people, or as JSON objects (one a line, with the
    /// request's id and path) for a log collector.
    #[arg(
        long,
        global = true,
        env = "MILLRACE_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text
    )]
    pub log_format: LogFormat,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Readable lines.
    Text,
    /// One JSON object a line.
    Json,
}

impl Cli {
    /// Parses `args` (the program name first) as [`Cli::try_parse_from`] does, and notes
    /// whether the runner token was given on the command line.
    pub fn parse_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let matches = Self::command().try_get_matches_from(args)?;
        let mut cli = Self::from_arg_matches(&matches)?;
        if let (Command::Runner(runner), Some(("runner", found))) =
            (&mut cli.command, matches.subcommand())
        {
            runner.token_in_argv = found.value_source("token") == Some(ValueSource::CommandLine);
        }
        Ok(cli)
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web app and the APIs (migrates the database first).
    Serve(ServeArgs),
    /// Fill the database with a realistic demo workspace.
    Demo(DemoArgs),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens (for scripts and the MLflow client).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Queue the job a YAML spec describes, unless the same spec already made one.
    Apply(ApplyArgs),
    /// Snapshot this directory, queue a command on a runner and follow its output.
    Run(RunArgs),
    /// Print a job's output; -f follows it as it runs.
    Logs(LogsArgs),
    /// Stop a job: a queued one at once, a running one within seconds.
    Cancel(CancelArgs),
    /// Run jobs on this machine: lease them from the server, run them, report back.
    Runner(RunnerArgs),
    /// Manage runner tokens (what `millrace runner` takes, through MILLRACE_RUNNER_TOKEN or
    /// --token-file).
    #[command(subcommand, name = "runner-token")]
    RunnerToken(RunnerTokenCommand),
    /// Hyperparameter sweeps: list, show, cancel, clone wider (`apply -f` starts one).
    Sweep(SweepArgs),
    /// Pipelines of steps: list runs, show one, cancel one, rerun one from a step (`apply -f`
    /// starts one).
    Pipeline(PipelineArgs),
    /// Pools of machines the server creates and deletes: list them (`apply -f` makes one).
    Pool(PoolArgs),
    /// Projects: choose who may write to them.
    Project(ProjectArgs),
    /// A job's artifacts: list, download, upload.
    Artifacts(ArtifactsArgs),
    /// Registered models (MLflow's model registry): list, show, point an alias at a version.
    Model(ModelArgs),
    /// Spec tools: check a spec file, print a kind's JSON Schema.
    #[command(subcommand)]
    Spec(SpecCommand),
}

/// `millrace pipeline [--server URL --token TOKEN] ...`
#[derive(Debug, Args)]
pub struct PipelineArgs {
    /// What to do with pipeline runs.
    #[command(subcommand)]
    pub command: PipelineCommand,
    #[command(flatten)]
    pub remote: Remote,
}

/// `millrace pipeline ...`
#[derive(Debug, Subcommand)]
pub enum PipelineCommand {
    /// List a project's pipeline runs, newest first.
    List {
        /// The project, owner/name.
        project: String,
    },
    /// Show a run: each step's state, job, duration and why it failed or was skipped.
    Show {
        /// The run's id, as `pipeline list` shows it.
        run: i64,
    },
    /// Stop a run: nothing more starts, and its running jobs are cancelled.
    Cancel {
        /// The run's id.
        run: i64,
    },
    /// Start a new run of an ended run's spec that reuses its steps upstream of STEP and runs
    /// STEP and everything after it again.
    Rerun {
        /// The run's id.
        run: i64,
        /// The step to run again from.
        #[arg(long)]
        from: String,
    },
}

/// `millrace pool [--server URL --token TOKEN] ...`
#[derive(Debug, Args)]
pub struct PoolArgs {
    /// What to do with pools.
    #[command(subcommand)]
    pub command: PoolCommand,
    #[command(flatten)]
    pub remote: Remote,
}

/// `millrace pool ...`
#[derive(Debug, Subcommand)]
pub enum PoolCommand {
    /// List the pools with their machines and what they cost today and this month.
    List,
}

/// `millrace sweep [--server URL --token TOKEN] ...`
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// What to do with sweeps.
    #[command(subcommand)]
    pub command: SweepCommand,
    #[command(flatten)]
    pub remote: Remote,
}

/// `millrace sweep ...`
#[derive(Debug, Subcommand)]
pub enum SweepCommand {
    /// List a project's sweeps, newest first.
    List {
        /// The project, owner/name.
        project: String,
    },
    /// Show a sweep: its state, best trial and every trial.
    Show {
        /// The sweep's id, as `sweep list` shows it.
        sweep: i64,
    },
    /// Stop a sweep: no new trials, and its queued and running trials are cancelled.
    Cancel {
        /// The sweep's id.
        sweep: i64,
    },
    /// Run a sweep again with changes, learning from its trials that the new space contains
    /// (they do not count against the new budget).
    Clone {
        /// The sweep to start from.
        sweep: i64,
        /// A change to its spec as PATH=VALUE, VALUE in YAML (repeat it):
        /// `space.lr.high=1e-1`, `trials=50`, `space.depth={int_uniform: [2, 12]}`.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        changes: Vec<String>,
    },
}

/// `millrace artifacts [--server URL --token TOKEN] ...`
#[derive(Debug, Args)]
pub struct ArtifactsArgs {
    /// What to do with the artifacts.
    #[command(subcommand)]
    pub command: ArtifactsCommand,
    #[command(flatten)]
    pub remote: Remote,
}

/// `millrace artifacts ...`; JOB is a job's global id, its URL path or owner/project/number.
#[derive(Debug, Subcommand)]
pub enum ArtifactsCommand {
    /// List a job's artifacts, or those under PATH: size in bytes and path.
    Ls {
        /// The job.
        job: String,
        /// A folder (or file) of its artifacts.
        path: Option<String>,
    },
    /// Download an artifact, or every artifact under a folder, keeping the folder's layout.
    Get {
        /// The job.
        job: String,
        /// The file or folder, as `ls` shows it.
        path: String,
        /// Where to put it: a folder, made if missing.
        #[arg(short, long, default_value = ".")]
        output: PathBuf,
    },
    /// Upload files, and folders with everything in them, as artifacts of a job.
    Put {
        /// The job.
        job: String,
        /// The files and folders.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The artifact folder to put them in (default: the top).
        #[arg(long, default_value = "")]
        to: String,
    },
}

/// `millrace model [--server URL --token TOKEN] ...`
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// What to do with registered models.
    #[command(subcommand)]
    pub command: ModelCommand,
    #[command(flatten)]
    pub remote: Remote,
}

/// `millrace model ...`; models are registered from training code (`mlflow.register_model`).
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// List the registered models you may see: name, latest version, aliases, description.
    Ls {
        /// Only models whose name contains this text.
        name: Option<String>,
    },
    /// Show a registered model: its versions, newest first, with stage, aliases and the run
    /// that produced each.
    Show {
        /// The model's name.
        name: String,
    },
    /// Point ALIAS at VERSION of a model, so `models:/NAME@ALIAS` loads it; `--delete` removes
    /// the alias.
    Alias {
        /// The model's name.
        name: String,
        /// The alias: letters, digits, '_' and '-' (`champion`).
        alias: String,
        /// The version it names from now on.
        #[arg(required_unless_present = "delete")]
        version: Option<String>,
        /// Remove the alias instead.
        #[arg(long, conflicts_with = "version")]
        delete: bool,
    },
}

/// `millrace project [--server URL --token TOKEN] ...`
#[derive(Debug, Args)]
pub struct ProjectArgs {
    /// What to do with a project.
    #[command(subcommand)]
    pub command: ProjectCommand,
    #[command(flatten)]
    pub remote: Remote,
}

/// `millrace project ...`
#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Create a project of your own.
    Create {
        /// Its name (NAME or YOU/NAME): letters, digits, '-', '_' and '.'.
        name: String,
        /// Free text shown under the name.
        #[arg(long, short, default_value = "")]
        description: String,
        /// Only you, its members and admins see it.
        #[arg(long)]
        private: bool,
    },
    /// List a user's projects you may see (yours by default), most recently active first.
    List {
        /// Whose projects.
        owner: Option<String>,
    },
    /// Show a project: owner, description, jobs, cost.
    Show {
        /// The project, owner/name.
        project: String,
    },
    /// A project's members: they read and write it like its owner (private projects are seen
    /// only by the owner, the members and admins). Only the owner or an admin changes them.
    #[command(subcommand)]
    Member(MemberCommand),
}

/// `millrace project member ...`
#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Make USER a member of OWNER/PROJECT.
    Add {
        /// The project, owner/name.
        project: String,
        /// The user's name.
        user: String,
    },
    /// End USER's membership of OWNER/PROJECT.
    Remove {
        /// The project, owner/name.
        project: String,
        /// The user's name.
        user: String,
    },
    /// List the owner and members of OWNER/PROJECT.
    List {
        /// The project, owner/name.
        project: String,
    },
}

/// Where the server is and who is calling: flags of the commands that talk to a server.
#[derive(Debug, Args, Clone)]
pub struct Remote {
    /// The millrace server.
    #[arg(long, env = "MILLRACE_SERVER", default_value = "http://127.0.0.1:3000")]
    pub server: String,
    /// An API token (`millrace token create`); a job's own token inside a job.
    #[arg(long, env = "MILLRACE_TOKEN", hide_env_values = true)]
    pub token: Secret,
}

/// Flags of `millrace apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The spec file (YAML): a job (top-level `name`), a sweep (`sweep`), a pool (`pool`) or a
    /// pipeline (`pipeline`); each kind's JSON Schema: `millrace spec schema KIND`.
    #[arg(short = 'f', long = "file")]
    pub file: PathBuf,
    /// Say what would happen, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Largest code snapshot, e.g. 100MB.
    #[arg(long, default_value = "100MB", value_parser = parse_size)]
    pub max_snapshot: u64,
    #[command(flatten)]
    pub remote: Remote,
}

/// Flags of `millrace run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The project, owner/name (default: your project named after this directory).
    #[arg(long)]
    pub project: Option<String>,
    /// The job's name (default: the program's name).
    #[arg(long)]
    pub name: Option<String>,
    /// GPUs it needs.
    #[arg(long, default_value_t = 0)]
    pub gpus: u32,
    /// The least memory each of its GPUs must have, e.g. 40GB or 40GiB.
    #[arg(long)]
    pub gpu_memory: Option<String>,
    /// The GPU model, as words of its name, e.g. A100 or "RTX 4090".
    #[arg(long)]
    pub gpu_model: Option<String>,
    /// A runner label it needs (repeat it).
    #[arg(long = "label")]
    pub labels: Vec<String>,
    /// A metric to pick out of its output, as `key=value` or JSON lines (repeat it).
    #[arg(long = "metric")]
    pub metrics: Vec<String>,
    /// Files to keep after the run, globs relative to the job's directory (repeat it).
    #[arg(long = "artifact")]
    pub artifacts: Vec<String>,
    /// Longest run time, e.g. 2h.
    #[arg(long)]
    pub timeout: Option<String>,
    /// Largest code snapshot, e.g. 100MB.
    #[arg(long, default_value = "100MB", value_parser = parse_size)]
    pub max_snapshot: u64,
    /// Queue it and return, without following its output.
    #[arg(long, short = 'd')]
    pub detach: bool,
    #[command(flatten)]
    pub remote: Remote,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// Flags of `millrace logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The job: its global id, or its URL path (`/u/ann/p/vision/j/12` or `ann/vision/12`).
    pub job: String,
    /// Follow the output until the job ends.
    #[arg(short = 'f', long)]
    pub follow: bool,
    #[command(flatten)]
    pub remote: Remote,
}

/// Flags of `millrace cancel`.
#[derive(Debug, Args)]
pub struct CancelArgs {
    /// The job: its global id, or its URL path (`/u/ann/p/vision/j/12` or `ann/vision/12`).
    pub job: String,
    #[command(flatten)]
    pub remote: Remote,
}

/// Flags of `millrace runner`.
#[derive(Debug, Args)]
pub struct RunnerArgs {
    /// The millrace server.
    #[arg(long, env = "MILLRACE_SERVER", default_value = "http://127.0.0.1:3000")]
    pub server: String,
    /// A runner token (`millrace runner-token create`). Pass it through MILLRACE_RUNNER_TOKEN
    /// or --token-file, not --token: every local user sees a command line (`ps`).
    #[arg(long, env = TOKEN_VAR, hide_env_values = true)]
    pub token: Option<Secret>,
    /// A file holding the runner token, read once at start (surrounding whitespace ignored).
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// Whether `--token` was on the command line (set by [`Cli::parse_args`]), which earns a
    /// warning.
    #[arg(skip)]
    pub token_in_argv: bool,
    /// A variable of the runner's environment to hand on to jobs (repeat it), e.g. HF_HOME.
    /// Jobs start from a clean environment: of the runner's, they see only PATH, HOME, LANG,
    /// LC_*, TZ, TMPDIR, CUDA_* and NVIDIA_* and the variables named here.
    #[arg(long = "pass-env", value_name = "NAME", value_parser = parse_pass_env)]
    pub pass_env: Vec<String>,
    /// This runner's name, unique among runners (default: the host name).
    #[arg(long)]
    pub name: Option<String>,
    /// GPU ids it hands to jobs, comma-separated (e.g. 0,1,2,3); `auto` finds them with
    /// nvidia-smi (none without it), `none` runs CPU jobs only.
    #[arg(long, value_delimiter = ',', default_value = "auto")]
    pub gpus: Vec<String>,
    /// Labels jobs can ask for, comma-separated (e.g. a100,spot).
    #[arg(long, value_delimiter = ',')]
    pub labels: Vec<String>,
    /// Where job directories are made.
    #[arg(long, default_value = "millrace-runner")]
    pub workdir: PathBuf,
    /// Jobs run at once at most.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub max_jobs: u16,
    /// Time a stopped job gets between SIGTERM and SIGKILL, e.g. 10s.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub grace: std::time::Duration,
    /// How often a running job's GPUs, CPU and memory are sampled into its `system/...`
    /// metrics, e.g. 10s (at least 1s); 0 turns sampling off.
    #[arg(long, default_value = "10s", value_parser = parse_sample_interval)]
    pub system_metrics_interval: std::time::Duration,
}

/// The variable the runner reads its token from.
pub const TOKEN_VAR: &str = "MILLRACE_RUNNER_TOKEN";

/// A `--pass-env` name: a shell variable name, not one of the runner's own `MILLRACE_*`.
fn parse_pass_env(name: &str) -> Result<String, String> {
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!("'{name}' is not an environment variable name"));
    }
    if name.starts_with("MILLRACE_") {
        return Err(format!(
            "{name} cannot be passed: the runner sets the jobs' MILLRACE_* variables itself, \
             and its token never reaches a job"
        ));
    }
    Ok(name.to_owned())
}

/// `millrace runner-token ...`
#[derive(Debug, Subcommand)]
pub enum RunnerTokenCommand {
    /// Create a runner token and print it (it is shown only this once).
    Create {
        /// A label to recognise it by, e.g. the machines that use it.
        #[arg(long, default_value = "runners")]
        name: String,
    },
    /// List runner tokens.
    List,
    /// Revoke a runner token at once: its runners stop and their jobs are requeued or lost.
    Revoke {
        /// Its id, as `runner-token list` shows.
        id: i64,
    },
}

/// `millrace spec ...`
#[derive(Debug, Subcommand)]
pub enum SpecCommand {
    /// Print the JSON Schema of a kind of spec (for editors: yaml-language-server).
    Schema {
        /// Which kind: job (the default), sweep, pool or pipeline.
        #[arg(value_enum, default_value_t = crate::spec::SpecKind::Job)]
        kind: crate::spec::SpecKind,
    },
    /// Check a job, sweep, pool or pipeline spec file without a server.
    Check {
        /// The spec file.
        file: PathBuf,
    },
}

/// `100MB`, `1.5GB`, `2TB`, `5000`: a size in bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let factor: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "KB" | "K" => 1_000,
        "MB" | "M" => 1_000_000,
        "GB" | "G" => 1_000_000_000,
        "TB" | "T" => 1_000_000_000_000,
        "KIB" => 1 << 10,
        "MIB" => 1 << 20,
        "GIB" => 1 << 30,
        "TIB" => 1 << 40,
        _ => return Err(format!("'{text}' is not a size such as 100MB")),
    };
    let number: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a size such as 100MB"))?;
    Ok((number * factor as f64) as u64)
}

/// Flags of `millrace serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "MILLRACE_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// Directory with the built site (pkg/ with wasm, JS and CSS); default from Leptos.toml.
    #[arg(long, env = "MILLRACE_SITE_ROOT")]
    pub site_root: Option<PathBuf>,
    /// Create the demo workspace first if the database has no users.
    #[arg(long)]
    pub demo: bool,
    /// Where code snapshots and job artifacts are kept: a directory, created if missing
    /// (default: beside the SQLite file, `NAME-files`; with PostgreSQL, `millrace-files`), or
    /// `s3://BUCKET/PREFIX` on S3-compatible storage set up by the standard AWS variables
    /// (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION).
    #[arg(long, env = "MILLRACE_FILES")]
    pub files: Option<String>,
    /// How long a runner may stay silent before its jobs are lost (or requeued), e.g. 30s.
    #[arg(long, env = "MILLRACE_LEASE_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub lease_timeout: std::time::Duration,
    /// Price of a GPU-hour on runners with a label, as LABEL=USD (repeat it); the label
    /// `default` prices runners whose labels have none. Jobs' cost is computed from it.
    #[arg(long = "gpu-price", value_name = "LABEL=USD", value_parser = parse_price)]
    pub gpu_prices: Vec<(String, f64)>,
    /// Most bytes of code snapshots and artifacts each user may keep, e.g. 20GB; 0 for no
    /// limit. A snapshot counts once against each user who uploads it, an artifact against the
    /// creator of its job; an upload that would go over is refused (413) and stores nothing.
    #[arg(long, env = "MILLRACE_QUOTA", default_value = "1TB", value_parser = parse_size)]
    pub quota: u64,
    /// The address people open millrace at, e.g. `https://ml.example.com`, when it is served
    /// behind a proxy: signed-in requests must then come from this origin, and an https
    /// address makes the session cookie `Secure`.
    #[arg(long, env = "MILLRACE_PUBLIC_URL", value_parser = parse_origin)]
    pub public_url: Option<String>,
    /// A token Prometheus must send (`Authorization: Bearer TOKEN`) to read `GET /metrics`;
    /// without it the figures are open to anyone who reaches the server.
    #[arg(long, env = "MILLRACE_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<Secret>,
    /// A folder of programs that create and delete pool machines (docs/pools.md): a pool spec
    /// may run only these. Without it pool specs are refused and no machine is created.
    #[arg(long, env = "MILLRACE_POOL_SCRIPTS")]
    pub pool_scripts: Option<PathBuf>,
}

/// The origin (`scheme://host[:port]`) of an http or https URL.
fn parse_origin(text: &str) -> Result<String, String> {
    let uri: axum::http::Uri = text.parse().map_err(|_| format!("{text:?} is not a URL"))?;
    match (uri.scheme_str(), uri.authority()) {
        (Some(scheme @ ("http" | "https")), Some(authority)) => Ok(format!(
            "{scheme}://{}",
            authority.as_str().to_ascii_lowercase()
        )),
        _ => Err(format!(
            "{text:?} is not an http or https URL like https://ml.example.com"
        )),
    }
}

fn parse_scope(text: &str) -> Result<app::model::TokenScope, String> {
    text.parse()
}

/// `30s`, `2m`: a duration as people write it.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("'{text}' is not a duration like 30s ({e})"))
}

/// `10s`, or `0` (zero) for never: a sampling interval of at least a second, since each
/// sample lists the machine's processes and may start nvidia-smi.
fn parse_sample_interval(text: &str) -> Result<std::time::Duration, String> {
    if text.trim() == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    let every = parse_duration(text)?;
    if every < std::time::Duration::from_secs(1) {
        return Err(format!(
            "'{text}' is too often: sample at most once a second, or 0 for never"
        ));
    }
    Ok(every)
}

fn parse_price(text: &str) -> Result<(String, f64), String> {
    let (label, price) = text
        .split_once('=')
        .ok_or_else(|| format!("'{text}' is not LABEL=USD, e.g. a100=2.40"))?;
    let price: f64 = price
        .parse()
        .ok()
        .filter(|p: &f64| p.is_finite() && *p >= 0.0)
        .ok_or_else(|| format!("'{price}' is not a price in USD, e.g. 2.40"))?;
    Ok((label.to_owned(), price))
}

/// Flags of `millrace demo`.
#[derive(Debug, Args, Clone)]
pub struct DemoArgs {
    /// Number of users.
    #[arg(long, default_value_t = 12)]
    pub users: u32,
    /// Number of projects, spread over the users.
    #[arg(long, default_value_t = 40)]
    pub projects: u32,
    /// Number of jobs, spread over the projects (some projects are much busier).
    #[arg(long, default_value_t = 2000)]
    pub jobs: u32,
    /// Steps logged per metric of a finished job.
    #[arg(long, default_value_t = 200)]
    pub points: u32,
    /// Points in the one very long series (a job that logged every step).
    #[arg(long, default_value_t = 1_000_000)]
    pub long_series: u32,
    /// Seed: the same seed gives the same workspace.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Trials of the finished sweep in the first user's project `hpo-demo` (0: no sweep).
    #[arg(long, default_value_t = 1000)]
    pub sweep_trials: u32,
    /// Time the demo's history ends at, in ms since the Unix epoch (default: now).
    #[arg(long, hide = true)]
    pub anchor_ms: Option<i64>,
    /// Where the jobs' files go, as `serve --files` (default: beside the SQLite file,
    /// `NAME-files`; with PostgreSQL, `millrace-files`).
    #[arg(long, env = "MILLRACE_FILES")]
    pub files: Option<String>,
}

/// `millrace user ...`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. Without --password-stdin it can sign in only with API tokens.
    Create {
        /// Login and URL name: letters, digits, '-', '_' and '.'.
        name: String,
        /// Name shown to people (default: NAME).
        #[arg(long)]
        display_name: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Make them an instance admin, who may read and change everything (the first user
        /// of an instance always is one).
        #[arg(long)]
        admin: bool,
    },
}

/// `millrace token ...`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (it is shown only this once).
    Create {
        /// The user the token acts as.
        #[arg(long)]
        user: String,
        /// A label to recognise it by.
        #[arg(long, default_value = "cli")]
        name: String,
        /// `read` (looks only: dashboards, notebooks) or `write` (also logs and changes what
        /// the user may change).
        #[arg(long, default_value = "write", value_parser = parse_scope)]
        scope: app::model::TokenScope,
        /// How long it works, e.g. 30d or 12h (default: until revoked).
        #[arg(long, value_parser = parse_duration)]
        expires: Option<std::time::Duration>,
    },
    /// List a user's tokens.
    List {
        /// Whose tokens.
        #[arg(long)]
        user: String,
    },
    /// Revoke a token at once.
    Revoke {
        /// Whose token.
        #[arg(long)]
        user: String,
        /// Its id, as `token list` shows.
        id: i64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use std::time::Duration;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_quota_takes_a_size_and_defaults_to_a_terabyte() {
        let quota = |args: &[&str]| match Cli::parse_from(args).command {
            Command::Serve(serve) => serve.quota,
            other => panic!("{other:?}"),
        };
        assert_eq!(quota(&["millrace", "serve"]), 1_000_000_000_000);
        assert_eq!(
            quota(&["millrace", "serve", "--quota", "20GB"]),
            20_000_000_000
        );
        assert_eq!(quota(&["millrace", "serve", "--quota", "0"]), 0);
        assert!(Cli::try_parse_from(["millrace", "serve", "--quota", "lots"]).is_err());
    }

    #[test]
    fn the_public_url_is_kept_as_its_origin() {
        assert_eq!(
            parse_origin("https://ML.example.com/some/path").as_deref(),
            Ok("https://ml.example.com")
        );
        assert_eq!(
            parse_origin("http://10.0.0.5:3000").as_deref(),
            Ok("http://10.0.0.5:3000")
        );
        for bad in ["ml.example.com", "ftp://ml.example.com", "https://", ""] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_database_flag_works_after_any_subcommand() {
        let cli = Cli::parse_from([
            "millrace",
            "token",
            "create",
            "--user",
            "ann",
            "--database",
            "sqlite://x.db",
        ]);
        assert_eq!(cli.database, "sqlite://x.db");
    }

    fn runner(args: &[&str]) -> Result<RunnerArgs, clap::Error> {
        let all = ["millrace", "runner"].iter().chain(args);
        match Cli::parse_args(all)?.command {
            Command::Runner(runner) => Ok(runner),
            other => panic!("not the runner: {other:?}"),
        }
    }

    #[test]
    fn a_runner_token_on_the_command_line_is_noted_and_a_token_file_is_not() {
        let argv = runner(&["--token", "mr_x"]).unwrap();
        assert!(argv.token_in_argv);
        assert_eq!(argv.token, Some(Secret::new("mr_x")));
        let file = runner(&["--token-file", "/etc/millrace/token"]).unwrap();
        assert!(!file.token_in_argv);
    }

    #[test]
    fn pass_env_takes_variable_names_but_not_the_runners_own() {
        let passed = runner(&["--pass-env", "HF_HOME", "--pass-env", "WANDB_API_KEY"]).unwrap();
        assert_eq!(passed.pass_env, ["HF_HOME", "WANDB_API_KEY"]);
        let own = runner(&["--pass-env", "MILLRACE_RUNNER_TOKEN"]).unwrap_err();
        assert!(
            own.to_string().contains("its token never reaches a job"),
            "{own}"
        );
        let bad = runner(&["--pass-env", "A-B"]).unwrap_err();
        assert!(
            bad.to_string()
                .contains("'A-B' is not an environment variable name"),
            "{bad}"
        );
    }

    #[test]
    fn system_metrics_are_sampled_every_10s_unless_told_otherwise_or_0() {
        let every = |args: &[&str]| runner(args).map(|r| r.system_metrics_interval);
        assert_eq!(every(&[]).unwrap(), Duration::from_secs(10));
        assert_eq!(
            every(&["--system-metrics-interval", "2m"]).unwrap(),
            Duration::from_secs(120)
        );
        assert_eq!(
            every(&["--system-metrics-interval", "0"]).unwrap(),
            Duration::ZERO
        );
        let fast = every(&["--system-metrics-interval", "100ms"]).unwrap_err();
        assert!(fast.to_string().contains("at most once a second"), "{fast}");
    }
}
