//! Job specs: the YAML a person writes, its checks with errors that point at the line, and the
//! resolved plan the server stores and a runner follows.

mod locate;
pub mod pipeline;
mod plan;
pub mod pool;
pub mod sweep;

pub use pipeline::{PipelineRequest, PipelineSpec};
pub use plan::{
    check_project, parse_timeout, CommandLine, JobRequest, MetricFormat, Plan, PlanInput,
};
pub use pool::PoolSpec;
pub use sweep::{SweepRequest, SweepSpec};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// A job spec as written in YAML (`millrace apply -f spec.yaml`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    /// Names the job within its project; applying a spec of the same name again finds it.
    pub name: String,
    /// The project to run in, as `owner/name`.
    pub project: String,
    /// The command: one string run by `sh -c`, or a list run as is. `{{name}}` is replaced by
    /// the parameter `name`.
    pub command: Command,
    /// A directory on the runner's machine to run in (instead of a code snapshot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workdir: Option<String>,
    /// A directory to snapshot and upload, relative to the spec file; the job runs in a fresh
    /// copy of it. Files that .gitignore excludes are left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Environment variables for the command. Their values are write-only: runners get them,
    /// the API and the web app show only the names.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Parameters: recorded with the job and substituted into the command.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    #[schemars(with = "BTreeMap<String, Value>")]
    pub params: Map<String, Value>,
    /// What the job needs of a runner.
    #[serde(default)]
    pub resources: Resources,
    /// Metrics to pick out of the job's standard output and error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Metrics>,
    /// Longest run time, e.g. `90s`, `45m`, `2h`; the job fails when it is over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Times the job is requeued when its runner is lost (0 to 10).
    #[serde(default)]
    pub retries: u32,
    /// Files to keep after the run: paths or glob patterns relative to the job's directory.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<String>,
}

/// The command line of a job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Command {
    /// Run by `sh -c`, so pipes and `&&` work.
    Shell(String),
    /// Program and arguments, run without a shell.
    Argv(Vec<String>),
}

/// What a job needs of a runner.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// GPUs (0 to 64).
    #[serde(default)]
    pub gpus: u32,
    /// Labels the runner must have, every one of them (e.g. `a100`, `spot`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// The least memory each GPU must have, e.g. `40GB` (GB = 10⁹ bytes, as cards are sold) or
    /// `40GiB`; only runners that found their GPUs themselves (`--gpus auto`) know it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "text_or_number"
    )]
    pub gpu_memory: Option<String>,
    /// The GPU model, as words of its name: `A100` matches `NVIDIA A100-SXM4-80GB`, `RTX 4090`
    /// matches `NVIDIA GeForce RTX 4090` (case and punctuation do not matter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_model: Option<String>,
}

/// A text field that a person may write as a bare number (`gpu_memory: 40`): kept as text so
/// the check can say what unit is missing instead of "expected a string".
fn text_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum TextOrNumber {
        Text(String),
        Number(serde_json::Number),
    }
    Ok(
        Option::<TextOrNumber>::deserialize(d)?.map(|value| match value {
            TextOrNumber::Text(text) => text,
            TextOrNumber::Number(number) => number.to_string(),
        }),
    )
}

/// Metrics picked out of output lines such as `loss=0.31 step=10` or `{"loss": 0.31}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    /// The keys to record; other keys on the line are ignored.
    pub names: Vec<String>,
    /// Which lines to read: `auto` (both kinds), `kv` or `json`.
    #[serde(default)]
    pub format: MetricFormat,
    /// The key that holds the step; without it on a line, each key counts its own steps.
    #[serde(default = "default_step_key")]
    pub step: String,
}

fn default_step_key() -> String {
    "step".to_owned()
}

/// A spec that cannot be used, with where and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError {
    /// The file, as the user named it.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// The field, dotted (`resources.gpus`), when known.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        match &self.field {
            Some(field) => write!(f, ": {field}: {}", self.message),
            None => write!(f, ": {}", self.message),
        }
    }
}

impl std::error::Error for SpecError {}

/// Longest spec file read (a spec is a page of YAML, not data).
pub const MAX_SPEC_BYTES: usize = 1 << 20;

/// A spec file's content: a job, a sweep or a pool.
#[derive(Clone, Debug, PartialEq)]
pub enum AnySpec {
    /// A job spec (top-level `name`).
    Job(Box<JobSpec>),
    /// A sweep spec (top-level `sweep`).
    Sweep(Box<SweepSpec>),
    /// A pool spec (top-level `pool`).
    Pool(Box<PoolSpec>),
    /// A pipeline spec (top-level `pipeline`).
    Pipeline(Box<PipelineSpec>),
}

/// Reads and checks the spec file at `path`, a job, a sweep, a pool or a pipeline as its
/// top-level key says.
pub fn load_any(path: &Path) -> Result<AnySpec, SpecError> {
    let file = path.display().to_string();
    let text = read(path)?;
    if has_top_level_key(&text, "sweep") {
        parse_sweep(&file, &text).map(|spec| AnySpec::Sweep(Box::new(spec)))
    } else if has_top_level_key(&text, "pool") {
        parse_pool(&file, &text).map(|spec| AnySpec::Pool(Box::new(spec)))
    } else if has_top_level_key(&text, "pipeline") {
        parse_pipeline(&file, &text).map(|spec| AnySpec::Pipeline(Box::new(spec)))
    } else {
        parse(&file, &text).map(|spec| AnySpec::Job(Box::new(spec)))
    }
}

/// Whether `text` is a sweep spec: a mapping with a top-level `sweep` key. Anything else,
/// broken YAML included, is read as a job spec, whose errors then say what is wrong.
pub fn is_sweep(text: &str) -> bool {
    has_top_level_key(text, "sweep")
}

/// Whether `text` is a YAML mapping with `key` at its top level.
fn has_top_level_key(text: &str, key: &str) -> bool {
    serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text)
        .ok()
        .and_then(|value| value.as_mapping().map(|m| m.contains_key(key)))
        .unwrap_or(false)
}

/// The text of the spec file at `path`, refused when it is too large or not UTF-8.
fn read(path: &Path) -> Result<String, SpecError> {
    let file = path.display().to_string();
    let error = |message: String| SpecError {
        file: file.clone(),
        line: None,
        column: None,
        field: None,
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| error(format!("cannot read it: {e}")))?;
    if bytes.len() > MAX_SPEC_BYTES {
        return Err(error(format!(
            "it is {} bytes; a spec has at most {MAX_SPEC_BYTES}",
            bytes.len()
        )));
    }
    String::from_utf8(bytes).map_err(|_| error("it is not UTF-8 text".into()))
}

/// Parses and checks job spec `text`; `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<JobSpec, SpecError> {
    parse_checked(file, text, JobSpec::check)
}

/// Parses and checks sweep spec `text`; `file` names it in errors.
pub fn parse_sweep(file: &str, text: &str) -> Result<SweepSpec, SpecError> {
    parse_checked(file, text, SweepSpec::check)
}

/// Parses and checks pool spec `text`; `file` names it in errors.
pub fn parse_pool(file: &str, text: &str) -> Result<PoolSpec, SpecError> {
    parse_checked(file, text, PoolSpec::check)
}

/// Parses and checks pipeline spec `text`; `file` names it in errors.
pub fn parse_pipeline(file: &str, text: &str) -> Result<PipelineSpec, SpecError> {
    parse_checked(file, text, PipelineSpec::check)
}

/// Parses `text` as a `T` and runs `check` on it, placing either's error in the text.
fn parse_checked<T: serde::de::DeserializeOwned>(
    file: &str,
    text: &str,
    check: impl Fn(&T) -> Result<(), plan::Problem>,
) -> Result<T, SpecError> {
    let spec: T = serde_yaml_ng::from_str(text).map_err(|e| from_yaml(file, &e))?;
    check(&spec).map_err(|(path, message)| {
        let (line, column) = locate::field(text, &path).unzip();
        SpecError {
            file: file.to_owned(),
            line,
            column,
            field: Some(path.join(".")),
            message,
        }
    })?;
    Ok(spec)
}

/// A YAML or shape error, with its place and, for a misspelt field, the nearest right name.
fn from_yaml(file: &str, error: &serde_yaml_ng::Error) -> SpecError {
    let location = error.location();
    let mut message = error.to_string();
    // The crate appends " at line L column C"; we print the place in front instead.
    if let Some(at) = message.rfind(" at line ") {
        message.truncate(at);
    }
    let (field, mut message) = match message.split_once(": ") {
        Some((path, rest)) if is_field_path(path) => (Some(path.to_owned()), rest.to_owned()),
        _ => (None, message),
    };
    if let Some(hint) = suggestion(&message) {
        message.push_str(&hint);
    }
    SpecError {
        file: file.to_owned(),
        line: location.as_ref().map(|l| l.line()),
        column: location.as_ref().map(|l| l.column()),
        field,
        message,
    }
}

fn is_field_path(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '[' | ']' | '-'))
}

/// "; did you mean `command`?" for serde's "unknown field `comand`, expected one of ..." text.
fn suggestion(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (unknown, expected) = rest.split_once('`')?;
    let best = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|name| (strsim::damerau_levenshtein(unknown, name), name))
        .filter(|(distance, name)| *distance <= 2.max(name.len() / 3))
        .min_by_key(|(distance, _)| *distance)?;
    Some(format!("; did you mean `{}`?", best.1))
}

/// The kinds of spec `millrace apply` takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SpecKind {
    /// A job (top-level `name`).
    Job,
    /// A sweep (top-level `sweep`).
    Sweep,
    /// A pool of machines (top-level `pool`).
    Pool,
    /// A pipeline of steps (top-level `pipeline`).
    Pipeline,
}

/// The JSON Schema of one kind of spec, for editors and for `millrace spec schema`.
pub fn json_schema(kind: SpecKind) -> String {
    let schema = match kind {
        SpecKind::Job => schemars::schema_for!(JobSpec),
        SpecKind::Sweep => schemars::schema_for!(SweepSpec),
        SpecKind::Pool => schemars::schema_for!(PoolSpec),
        SpecKind::Pipeline => schemars::schema_for!(PipelineSpec),
    };
    serde_json::to_string_pretty(&schema).expect("a schema serialises") + "\n"
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod props;
