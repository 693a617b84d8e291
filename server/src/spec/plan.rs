//! The checks on a parsed spec, and the plan it resolves to: what the runner executes.

use super::{Command, JobSpec, Metrics};
use app::db::jobs::{NewJob, RunSpec};
use app::model::{model_words, Gpu, JobStatus, Name, HIDDEN_VALUE};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::Duration;

/// Longest spec name (it becomes the job's name).
pub const MAX_SPEC_NAME: usize = 100;
/// Most GPUs one job may ask for.
pub const MAX_GPUS: u32 = 64;
/// Most requeues after a lost runner.
pub const MAX_RETRIES: u32 = 10;
/// Longest timeout.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(30 * 24 * 3600);
/// Longest command (or argument) once parameters are filled in: Linux's limit on one argument
/// (`MAX_ARG_STRLEN`), so any longer command could not start anyway.
pub const MAX_COMMAND: usize = 128 << 10;

/// How a runner reads metrics from output lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MetricFormat {
    /// `key=value` pairs and JSON objects, whichever a line is.
    #[default]
    Auto,
    /// Only `key=value` (or `key: value`) pairs.
    Kv,
    /// Only lines that are JSON objects.
    Json,
}

/// The command a runner starts, parameters already substituted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CommandLine {
    /// Run by `sh -c`.
    Shell(String),
    /// Program and arguments.
    Argv(Vec<String>),
}

/// A resolved spec: everything a runner needs to run the job, stored with the job as JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// What to start.
    pub command: CommandLine,
    /// Extra environment variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Directory on the runner's machine to run in, if not a snapshot.
    #[serde(default)]
    pub workdir: Option<String>,
    /// SHA-256 of the uploaded code snapshot (a .tar.gz) to unpack and run in.
    #[serde(default)]
    pub snapshot: Option<String>,
    /// Metrics to pick out of output.
    #[serde(default)]
    pub metrics: Option<Metrics>,
    /// Longest run time, seconds.
    #[serde(default)]
    pub timeout_s: Option<u64>,
    /// Files to keep, globs relative to the job's directory.
    #[serde(default)]
    pub artifacts: Vec<String>,
    /// Other jobs' artifacts to fetch before the command starts (a pipeline step's inputs).
    // Left out when empty, so the hashes of plain jobs stay what they were.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<PlanInput>,
}

/// The artifacts of an earlier job, fetched into a folder of the job's directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    /// The folder, relative to the job's directory (`inputs/prep`).
    pub dir: String,
    /// The global id of the job whose artifacts fill it.
    pub job: String,
}

/// A job to queue as `apply` and `run` send it to the server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobRequest {
    /// The spec's name, which `apply` finds the job by.
    pub name: String,
    /// The plan.
    pub plan: Plan,
    /// Parameters recorded with the job.
    #[serde(default)]
    pub params: Map<String, Value>,
    /// GPUs.
    #[serde(default)]
    pub gpus: u32,
    /// Runner labels needed.
    #[serde(default)]
    pub labels: Vec<String>,
    /// The least memory of each GPU, MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_memory_mib: Option<u64>,
    /// The GPU model, as [`app::model::model_words`] writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_model: Option<String>,
    /// Requeues after a lost runner.
    #[serde(default)]
    pub retries: u32,
}

impl JobRequest {
    /// Identifies the job's content: the same request always has the same hash.
    pub fn hash(&self) -> String {
        let text = serde_json::to_string(self).expect("a request serialises");
        Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl JobRequest {
    /// The queued job this request makes, created by `user`: what `apply` and a sweep's
    /// trials insert.
    pub fn new_job(&self, user: i64) -> NewJob {
        let command = match &self.plan.command {
            CommandLine::Shell(text) => text.clone(),
            CommandLine::Argv(argv) => argv.join(" "),
        };
        NewJob {
            name: self.name.clone(),
            status: Some(JobStatus::Queued),
            command,
            params: self.params.clone(),
            gpus: i64::from(self.gpus),
            created_by: Some(user),
            run: Some(RunSpec {
                spec_name: self.name.clone(),
                spec_hash: self.hash(),
                spec_json: serde_json::to_string(&self.plan).expect("a plan serialises"),
                labels: self.labels.clone(),
                gpu_memory_mib: self
                    .gpu_memory_mib
                    .map(|mib| i64::try_from(mib).unwrap_or(i64::MAX)),
                gpu_model: self.gpu_model.clone(),
                retries: i64::from(self.retries),
            }),
            ..NewJob::default()
        }
    }

    /// The checks of [`JobSpec::check`] on a request that did not come from a spec file (or
    /// from a client we do not trust): the server runs them before it queues anything.
    pub fn check(&self) -> Result<(), Problem> {
        Name::parse(&self.name, MAX_SPEC_NAME).map_err(|e| problem(&["name"], e.to_string()))?;
        match &self.plan.command {
            CommandLine::Shell(text) if text.trim().is_empty() => {
                return Err(problem(&["plan", "command"], "the command is empty"))
            }
            CommandLine::Argv(argv) if argv.first().is_none_or(|p| p.is_empty()) => {
                return Err(problem(
                    &["plan", "command"],
                    "the command list needs a program first",
                ))
            }
            _ => {}
        }
        check_params(&self.params)?;
        if !self.plan.inputs.is_empty() {
            return Err(problem(
                &["plan", "inputs"],
                "inputs are given to pipeline steps by the server, not by a request",
            ));
        }
        for (key, value) in &self.plan.env {
            check_env(key, value).map_err(|m| problem(&["plan", "env", key], m))?;
        }
        if let Some(metrics) = &self.plan.metrics {
            check_metrics(metrics)?;
        }
        for (i, pattern) in self.plan.artifacts.iter().enumerate() {
            check_artifact(pattern)
                .map_err(|m| problem(&["plan", "artifacts", &i.to_string()], m))?;
        }
        check_gpus_and_labels(self.gpus, &self.labels)?;
        check_gpu_needs(self.gpus, self.gpu_memory_mib, self.gpu_model.as_deref())?;
        if self
            .gpu_model
            .as_deref()
            .is_some_and(|m| m != model_words(m))
        {
            return Err(problem(
                &["gpu_model"],
                "the model is sent as lower-case words, one space apart",
            ));
        }
        if self.retries > MAX_RETRIES {
            return Err(problem(
                &["retries"],
                format!("retries is 0 to {MAX_RETRIES}"),
            ));
        }
        Ok(())
    }
}

/// A field path and what is wrong with it.
pub type Problem = (Vec<String>, String);

/// A problem at the field `path`.
pub(super) fn problem(path: &[&str], message: impl Into<String>) -> Problem {
    (
        path.iter().map(|p| (*p).to_owned()).collect(),
        message.into(),
    )
}

impl JobSpec {
    /// Checks what the YAML shape cannot: names, ranges, placeholders, paths.
    pub fn check(&self) -> Result<(), Problem> {
        Name::parse(&self.name, MAX_SPEC_NAME).map_err(|e| problem(&["name"], e.to_string()))?;
        check_project(&self.project)?;
        check_params(&self.params)?;
        self.check_command()?;
        if self.workdir.is_some() && self.code.is_some() {
            return Err(problem(&["workdir"], "give workdir or code, not both"));
        }
        if let Some(dir) = &self.workdir {
            if !dir.starts_with('/') {
                return Err(problem(
                    &["workdir"],
                    "workdir is an absolute path on the runner",
                ));
            }
        }
        for (key, value) in &self.env {
            check_env(key, value).map_err(|m| problem(&["env", key], m))?;
        }
        check_resources(self)?;
        if let Some(metrics) = &self.metrics {
            check_metrics(metrics)?;
        }
        if let Some(timeout) = &self.timeout {
            parse_timeout(timeout).map_err(|m| problem(&["timeout"], m))?;
        }
        if self.retries > MAX_RETRIES {
            return Err(problem(
                &["retries"],
                format!("retries is 0 to {MAX_RETRIES}"),
            ));
        }
        for (i, pattern) in self.artifacts.iter().enumerate() {
            check_artifact(pattern).map_err(|m| problem(&["artifacts", &i.to_string()], m))?;
        }
        Ok(())
    }

    fn check_command(&self) -> Result<(), Problem> {
        let parts: Vec<&String> = match &self.command {
            Command::Shell(text) if text.trim().is_empty() => {
                return Err(problem(&["command"], "the command is empty"))
            }
            Command::Argv(argv) if argv.first().is_none_or(|p| p.is_empty()) => {
                return Err(problem(
                    &["command"],
                    "the command list needs a program first",
                ))
            }
            Command::Shell(text) => vec![text],
            Command::Argv(argv) => argv.iter().collect(),
        };
        for part in parts {
            substitute(part, &self.params).map_err(|m| problem(&["command"], m))?;
        }
        Ok(())
    }

    /// The plan this spec resolves to, with the uploaded snapshot's hash if it has code.
    pub fn plan(&self, snapshot: Option<String>) -> Plan {
        let sub = |text: &String| substitute(text, &self.params).expect("checked by check()");
        let command = match &self.command {
            Command::Shell(text) => CommandLine::Shell(sub(text)),
            Command::Argv(argv) => CommandLine::Argv(argv.iter().map(sub).collect()),
        };
        Plan {
            command,
            env: self.env.clone(),
            workdir: self.workdir.clone(),
            snapshot,
            metrics: self.metrics.clone(),
            timeout_s: self
                .timeout
                .as_deref()
                .map(|t| parse_timeout(t).expect("checked by check()").as_secs()),
            artifacts: self.artifacts.clone(),
            inputs: Vec::new(),
        }
    }

    /// What `apply` sends to the server.
    pub fn request(&self, snapshot: Option<String>) -> JobRequest {
        JobRequest {
            name: self.name.clone(),
            plan: self.plan(snapshot),
            params: self.params.clone(),
            gpus: self.resources.gpus,
            labels: self.resources.labels.clone(),
            gpu_memory_mib: self
                .resources
                .gpu_memory
                .as_deref()
                .map(|text| parse_gpu_memory(text).expect("checked by check()")),
            gpu_model: self.resources.gpu_model.as_deref().map(model_words),
            retries: self.retries,
        }
    }
}

/// Parameter keys and values within MLflow's limits (a value as the text MLflow would store).
fn check_params(params: &Map<String, Value>) -> Result<(), Problem> {
    use app::limits::{check_length, MAX_KEY, MAX_PARAM_VALUE};
    for (key, value) in params {
        let short: String = key.chars().take(MAX_KEY).collect();
        let path = ["params", short.as_str()];
        check_length("a parameter name", key, MAX_KEY, false).map_err(|m| problem(&path, m))?;
        let text = value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_owned);
        check_length("a parameter value", &text, MAX_PARAM_VALUE, true)
            .map_err(|m| problem(&path, m))?;
    }
    Ok(())
}

/// `owner/name`, both valid names.
pub fn check_project(project: &str) -> Result<(), Problem> {
    let bad = |m: String| problem(&["project"], m);
    let (owner, name) = project
        .split_once('/')
        .ok_or_else(|| bad(format!("'{project}' is not owner/name")))?;
    Name::parse(owner, Name::MAX_USER).map_err(|e| bad(format!("owner '{owner}': {e}")))?;
    Name::parse(name, Name::MAX_PROJECT).map_err(|e| bad(format!("project '{name}': {e}")))?;
    Ok(())
}

fn check_resources(spec: &JobSpec) -> Result<(), Problem> {
    let resources = &spec.resources;
    let memory_mib = resources
        .gpu_memory
        .as_deref()
        .map(parse_gpu_memory)
        .transpose()
        .map_err(|m| problem(&["resources", "gpu_memory"], m))?;
    let model = resources.gpu_model.as_deref().map(model_words);
    check_gpus_and_labels(resources.gpus, &resources.labels)
        .and_then(|()| check_gpu_needs(resources.gpus, memory_mib, model.as_deref()))
        .map_err(|(mut path, m)| {
            if let Some(field) = path.first_mut().filter(|f| *f == "gpu_memory_mib") {
                *field = "gpu_memory".to_owned();
            }
            path.insert(0, "resources".to_owned());
            (path, m)
        })
}

/// The most memory a job may ask of one GPU: 1 TiB, far above any card sold.
const MAX_GPU_MEMORY_MIB: u64 = 1 << 20;

/// `40GB` (10⁹ bytes, as cards are sold: a "40 GB" A100 reports 40,536 MiB) or `40GiB` in MiB,
/// rounded up; MB, MiB, TB and TiB too, any case, a space allowed before the unit.
pub fn parse_gpu_memory(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = (&text[..split], text[split..].trim());
    let amount: f64 = number
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite() && *n > 0.0)
        .ok_or_else(|| format!("'{text}' is not an amount of memory such as 40GB"))?;
    let bytes_per_unit = match unit.to_ascii_lowercase().as_str() {
        "" => {
            return Err(format!(
                "'{text}' has no unit: write {number}GB or {number}GiB"
            ))
        }
        "mb" => 1e6,
        "mib" => 1_048_576.0,
        "gb" => 1e9,
        "gib" => 1_073_741_824.0,
        "tb" => 1e12,
        "tib" => 1_099_511_627_776.0,
        _ => {
            return Err(format!(
                "unknown unit '{unit}': use MB, MiB, GB, GiB, TB or TiB"
            ))
        }
    };
    let mib = (amount * bytes_per_unit / 1_048_576.0).ceil();
    if mib > MAX_GPU_MEMORY_MIB as f64 {
        return Err("gpu_memory is at most 1TiB, per GPU".to_owned());
    }
    // In range by the check above, and at least 1: the amount is positive.
    Ok(mib as u64)
}

/// A job's GPU memory and model needs: only with GPUs, in range, a model of 1 to 4 words.
fn check_gpu_needs(gpus: u32, memory_mib: Option<u64>, model: Option<&str>) -> Result<(), Problem> {
    if gpus == 0 {
        for (field, given) in [
            ("gpu_memory_mib", memory_mib.is_some()),
            ("gpu_model", model.is_some()),
        ] {
            if given {
                return Err(problem(&[field], "ask for gpus: 1 or more with it"));
            }
        }
    }
    if memory_mib.is_some_and(|mib| mib == 0 || mib > MAX_GPU_MEMORY_MIB) {
        return Err(problem(&["gpu_memory_mib"], "1 MiB to 1 TiB per GPU"));
    }
    if let Some(model) = model {
        let words = model.split(' ').filter(|w| !w.is_empty()).count();
        if words == 0 || words > Gpu::MAX_MODEL_WORDS || model.len() > Gpu::MAX_TEXT {
            return Err(problem(
                &["gpu_model"],
                format!(
                    "name the model in 1 to {} words of its name, e.g. A100 or RTX 4090",
                    Gpu::MAX_MODEL_WORDS
                ),
            ));
        }
    }
    Ok(())
}

fn check_gpus_and_labels(gpus: u32, labels: &[String]) -> Result<(), Problem> {
    if gpus > MAX_GPUS {
        return Err(problem(&["gpus"], format!("gpus is 0 to {MAX_GPUS}")));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, label) in labels.iter().enumerate() {
        let path = ["labels", &i.to_string()];
        Name::parse(label, Name::MAX_PROJECT).map_err(|e| problem(&path, e.to_string()))?;
        if !seen.insert(label) {
            return Err(problem(&path, format!("label '{label}' is listed twice")));
        }
    }
    Ok(())
}

fn check_metrics(metrics: &Metrics) -> Result<(), Problem> {
    if metrics.names.is_empty() {
        return Err(problem(
            &["metrics", "names"],
            "name at least one metric to capture",
        ));
    }
    for (i, name) in metrics.names.iter().enumerate() {
        if name.is_empty() || name.len() > 250 || name.contains(char::is_whitespace) {
            let path = ["metrics", "names", &i.to_string()];
            return Err(problem(
                &path,
                "a metric name has 1 to 250 characters and no spaces",
            ));
        }
    }
    Ok(())
}

/// A variable of the spec's `env`: a name a shell accepts, not one the runner sets, and not the
/// placeholder shown for hidden values (copied from what the API shows, it would run as is).
fn check_env(key: &str, value: &str) -> Result<(), String> {
    check_env_name(key)?;
    if value == HIDDEN_VALUE {
        return Err(format!(
            "`{HIDDEN_VALUE}` stands for a hidden value; give {key} its real value (a sweep \
             clone keeps the old values by itself)"
        ));
    }
    Ok(())
}

/// Environment variable names a shell accepts; the runner's own variables are reserved.
fn check_env_name(key: &str) -> Result<(), String> {
    let mut chars = key.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!("'{key}' is not an environment variable name"));
    }
    if key.starts_with("MILLRACE_") || key == "CUDA_VISIBLE_DEVICES" {
        return Err(format!("{key} is set by the runner"));
    }
    Ok(())
}

fn check_artifact(pattern: &str) -> Result<(), String> {
    if pattern.starts_with('/') || pattern.split('/').any(|part| part == "..") {
        return Err(format!("'{pattern}' must stay inside the job's directory"));
    }
    globset::Glob::new(pattern)
        .map(|_| ())
        .map_err(|e| format!("'{pattern}' is not a glob pattern: {e}"))
}

/// `90s`, `45m`, `2h 30m`: a positive duration of at most 30 days.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text)
        .map_err(|e| format!("'{text}' is not a duration such as 90s, 45m or 2h ({e})"))?;
    if duration.is_zero() || duration > MAX_TIMEOUT {
        return Err("a timeout is more than 0 and at most 30 days".into());
    }
    Ok(duration)
}

fn too_long_command() -> String {
    format!(
        "with its parameters filled in the command is over {} KiB, the most a process takes",
        MAX_COMMAND >> 10
    )
}

/// `text` with each `{{name}}` replaced by parameter `name` (strings as they are, other values
/// as JSON); an unknown name is an error.
pub fn substitute(text: &str, params: &Map<String, Value>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| "a '{{' has no closing '}}'".to_owned())?;
        let name = after[..end].trim();
        let value = params.get(name).ok_or_else(|| {
            let known: Vec<&str> = params.keys().map(String::as_str).collect();
            format!(
                "{{{{{name}}}}} names no parameter (params: {})",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            )
        })?;
        match value {
            Value::String(s) => out.push_str(s),
            other => out.push_str(&other.to_string()),
        }
        if out.len() > MAX_COMMAND {
            return Err(too_long_command());
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    if out.len() > MAX_COMMAND {
        return Err(too_long_command());
    }
    Ok(out)
}
