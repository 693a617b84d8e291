//! Sweep specs: a job template, a search space and how to search it, checked as strictly as
//! job specs, and the job request of each trial.

use super::plan::{check_project, problem, JobRequest, Problem, MAX_SPEC_NAME};
use super::{Command, JobSpec, Metrics, Resources};
use crate::sweep::{
    self, Algorithm, Assignment, Direction, Distribution, EarlyStopping, Space, SweepError,
};
use app::model::Name;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Longest sweep name: its trial jobs are named `NAME-INDEX`, within a job name's limit.
pub const MAX_SWEEP_NAME: usize = MAX_SPEC_NAME - 10;
/// Most trials one sweep may run.
pub const MAX_TRIALS: u32 = 100_000;
/// Most trials one sweep may run at once.
pub const MAX_PARALLEL: u32 = 1_000;

/// A sweep spec as written in YAML (`millrace apply -f sweep.yaml`): what each trial runs,
/// the space its parameters come from, and how the search goes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// Names the sweep within its project; trial jobs are named `NAME-0`, `NAME-1`, …
    pub sweep: String,
    /// The project to run in, as `owner/name`.
    pub project: String,
    /// What each trial runs: a job spec without `name` and `project`. `{{param}}` in the
    /// command is replaced by the trial's value (empty for an inactive conditional one).
    pub job: JobTemplate,
    /// Parameter name → distribution: `choice`, `uniform`, `log_uniform`, `int_uniform`, with
    /// `q` to quantise a range and `when` to make a parameter conditional.
    pub space: Space,
    /// The metric the search optimises.
    pub objective: Objective,
    /// `grid`, `random`, `tpe` (the default) or `{tpe: {startup_trials, candidates, gamma}}`.
    #[serde(default = "default_algorithm")]
    pub algorithm: Algorithm,
    /// Seed of the suggestions: the same seed and results give the same trials (default 0).
    #[serde(default)]
    pub seed: u64,
    /// Trials to run in all (a grid smaller than this ends the sweep early).
    pub trials: u32,
    /// Trials queued or running at once (default 1).
    #[serde(default = "default_parallel")]
    pub parallel: u32,
    /// Stops hopeless trials from their live objective: `{median: {…}}` or `{asha: {…}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_stopping: Option<EarlyStopping>,
    /// Consecutive failed trials after which the sweep stops, failed (default 3).
    #[serde(default = "default_max_failures")]
    pub max_failures: u32,
}

pub(super) fn default_algorithm() -> Algorithm {
    Algorithm::Tpe(sweep::TpeSettings::default())
}

pub(super) fn default_parallel() -> u32 {
    1
}

pub(super) fn default_max_failures() -> u32 {
    3
}

/// A job spec's fields but `name` and `project`: the job every trial runs.
// Its own struct rather than a `#[serde(flatten)]` part of `JobSpec`: serde cannot combine
// flatten with `deny_unknown_fields`, which gives misspelt fields their "did you mean".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobTemplate {
    /// The command: one string run by `sh -c`, or a list run as is.
    pub command: Command,
    /// A directory on the runner's machine to run in (instead of a code snapshot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workdir: Option<String>,
    /// A directory to snapshot and upload once, relative to the spec file; every trial runs in
    /// a fresh copy of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Environment variables for the command. Their values are write-only: runners get them,
    /// the API and the web app show only the names.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Fixed parameters, the same for every trial; recorded with each job.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    #[schemars(with = "BTreeMap<String, Value>")]
    pub params: Map<String, Value>,
    /// What each trial needs of a runner.
    #[serde(default)]
    pub resources: Resources,
    /// Metrics to pick out of each trial's output; must include the objective's metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Metrics>,
    /// Longest run time of one trial, e.g. `30m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Times a trial is requeued when its runner is lost (0 to 10).
    #[serde(default)]
    pub retries: u32,
    /// Files to keep after each trial.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<String>,
}

/// What the search optimises: one metric of each trial.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Objective {
    /// The metric key the trials report.
    pub metric: String,
    /// `minimize` or `maximize`.
    pub goal: Direction,
    /// Which of a trial's values counts: `last` (the default), `min` or `max`.
    #[serde(default)]
    pub value: ObjectiveValue,
}

/// Which of a trial's metric values is its result.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ObjectiveValue {
    /// The value at the last step.
    #[default]
    Last,
    /// The smallest value.
    Min,
    /// The largest value.
    Max,
}

/// A sweep to start, as `apply` and `sweep clone` send it to the server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepRequest {
    /// The spec, which the server checks again.
    pub spec: SweepSpec,
    /// SHA-256 of the uploaded code snapshot, when the template has `code`.
    #[serde(default)]
    pub snapshot: Option<String>,
    /// The sweep whose trials the new one learns from ("run it again, wider").
    #[serde(default)]
    pub cloned_from: Option<i64>,
}

impl SweepRequest {
    /// Identifies what the sweep runs: the same spec and code always hash the same.
    pub fn hash(&self) -> String {
        let text = serde_json::to_string(&(&self.spec, &self.snapshot)).expect("a spec serialises");
        Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl SweepSpec {
    /// Checks what the YAML shape cannot; the first problem found, with its field path.
    pub fn check(&self) -> Result<(), Problem> {
        Name::parse(&self.sweep, MAX_SWEEP_NAME).map_err(|e| problem(&["sweep"], e.to_string()))?;
        check_project(&self.project)?;
        if let Some(first) = self.space.check().into_iter().next() {
            return Err(at("space", first));
        }
        self.check_template()?;
        self.check_objective()?;
        self.check_algorithm()?;
        self.check_budget()?;
        if let Some(rule) = &self.early_stopping {
            let key = match rule {
                EarlyStopping::Median(_) => "median",
                EarlyStopping::Asha(_) => "asha",
            };
            if let Some(first) = rule.check().into_iter().next() {
                return Err(at(&format!("early_stopping.{key}"), first));
            }
        }
        Ok(())
    }

    fn check_template(&self) -> Result<(), Problem> {
        if let Some(name) = self
            .space
            .params
            .keys()
            .find(|n| self.job.params.contains_key(*n))
        {
            return Err(problem(
                &["space", name],
                format!("`{name}` is also a fixed parameter in job.params; keep one of them"),
            ));
        }
        // Each parameter stands in at the longest text a trial can give it, so a template that
        // passes holds for every trial: parameter values and the filled-in command stay within
        // their limits whatever the search picks.
        let placeholders = self
            .space
            .params
            .iter()
            .map(|(name, param)| (name.clone(), longest(&param.distribution)));
        self.job_spec(0, placeholders.collect())
            .check()
            .map_err(|(mut path, message)| {
                path.insert(0, "job".to_owned());
                (path, message)
            })
    }

    fn check_objective(&self) -> Result<(), Problem> {
        let metric = &self.objective.metric;
        if metric.is_empty() || metric.len() > 250 || metric.contains(char::is_whitespace) {
            return Err(problem(
                &["objective", "metric"],
                "a metric name has 1 to 250 characters and no spaces",
            ));
        }
        match &self.job.metrics {
            Some(metrics) if !metrics.names.contains(metric) => Err(problem(
                &["objective", "metric"],
                format!(
                    "job.metrics.names does not list `{metric}`, so no trial would record it; \
                     add it there"
                ),
            )),
            _ => Ok(()),
        }
    }

    fn check_algorithm(&self) -> Result<(), Problem> {
        if let Some(first) = self.algorithm.check().into_iter().next() {
            return Err(at("algorithm.tpe", first));
        }
        if self.algorithm == Algorithm::Grid {
            match sweep::grid_size(&self.space) {
                Ok(_) => {}
                Err(SweepError::GridNeedsSteps(name)) => {
                    return Err(problem(
                        &["space", &name],
                        format!(
                            "grid search needs a finite set of values for `{name}`: give it `q`"
                        ),
                    ))
                }
                Err(error) => return Err(problem(&["algorithm"], error.to_string())),
            }
        }
        Ok(())
    }

    fn check_budget(&self) -> Result<(), Problem> {
        if !(1..=MAX_TRIALS).contains(&self.trials) {
            return Err(problem(&["trials"], format!("trials is 1 to {MAX_TRIALS}")));
        }
        if !(1..=MAX_PARALLEL).contains(&self.parallel) {
            return Err(problem(
                &["parallel"],
                format!("parallel is 1 to {MAX_PARALLEL}"),
            ));
        }
        if self.max_failures == 0 {
            return Err(problem(
                &["max_failures"],
                "max_failures is at least 1: the sweep stops after that many failed trials in a row",
            ));
        }
        Ok(())
    }

    /// The job spec of trial `index`, its command filled from `params`.
    fn job_spec(&self, index: u64, params: Map<String, Value>) -> JobSpec {
        let mut all = self.job.params.clone();
        all.extend(params);
        let job = self.job.clone();
        JobSpec {
            name: format!("{}-{index}", self.sweep),
            project: self.project.clone(),
            command: job.command,
            workdir: job.workdir,
            code: job.code,
            env: job.env,
            params: all,
            resources: job.resources,
            metrics: job.metrics,
            timeout: job.timeout,
            retries: job.retries,
            artifacts: job.artifacts,
        }
    }

    /// The job of trial `index` with parameters `params` (the active ones), running in the
    /// code `snapshot`. Only a checked spec has one.
    pub fn trial_request(
        &self,
        index: u64,
        params: &Assignment,
        snapshot: Option<String>,
    ) -> JobRequest {
        // Inactive conditional parameters fill their placeholders with nothing.
        let filled = self.space.params.keys().map(|name| {
            let value = params.get(name).cloned();
            (
                name.clone(),
                value.unwrap_or_else(|| Value::String(String::new())),
            )
        });
        let spec = self.job_spec(index, filled.collect());
        let mut request = spec.request(snapshot);
        request.params = self.job.params.clone();
        request.params.extend(params.clone());
        request
    }
}

impl SweepSpec {
    /// This spec with `PATH=VALUE` changes (VALUE in YAML), checked again: `trials=50`,
    /// `space.lr.high=1e-1` (`low` and `high` name a range's bounds), `space.depth={…}`.
    pub fn with_changes(&self, changes: &[String]) -> Result<SweepSpec, String> {
        let mut json = serde_json::to_value(self).expect("a spec serialises");
        for change in changes {
            let (path, text) = change
                .split_once('=')
                .ok_or_else(|| format!("'{change}' is not PATH=VALUE, e.g. space.lr.high=0.1"))?;
            let value: Value = serde_yaml_ng::from_str(text)
                .map_err(|e| format!("{path}: '{text}' is not a YAML value ({e})"))?;
            *slot(&mut json, path)? = value;
        }
        let spec: SweepSpec =
            serde_json::from_value(json).map_err(|e| format!("the changed spec: {e}"))?;
        spec.check()
            .map_err(|(path, message)| format!("{}: {message}", path.join(".")))?;
        Ok(spec)
    }
}

/// The value at dotted `path` in `json`, created if its last key is missing from an object.
/// Never panics: a path that leads nowhere (a bound of a range written with one value, an
/// index past a list's end) is an error naming it.
fn slot<'a>(json: &'a mut Value, path: &str) -> Result<&'a mut Value, String> {
    let keys: Vec<&str> = path.split('.').collect();
    let mut here = json;
    for (i, &key) in keys.iter().enumerate() {
        let last = i == keys.len() - 1;
        let bound = match key {
            "low" => Some(0),
            "high" => Some(1),
            _ => None,
        };
        let range = ["uniform", "log_uniform", "int_uniform"]
            .into_iter()
            .find(|kind| here.get(*kind).is_some_and(Value::is_array));
        here = match (here, bound, range) {
            (Value::Object(map), Some(bound), Some(kind)) => map
                .get_mut(kind)
                .and_then(Value::as_array_mut)
                .and_then(|range| range.get_mut(bound))
                .ok_or_else(|| {
                    format!("{path}: this {kind} has no {key} bound; write {kind}: [LOW, HIGH]")
                })?,
            (Value::Object(map), _, _) if last || map.contains_key(key) => {
                map.entry(key).or_insert(Value::Null)
            }
            (Value::Array(items), _, _) => key
                .parse::<usize>()
                .ok()
                .and_then(|index| items.get_mut(index))
                .ok_or_else(|| format!("{path}: `{key}` is not an index of the list"))?,
            _ => return Err(format!("{path}: the spec has no `{key}` there")),
        };
    }
    Ok(here)
}

/// ASCII text as long, in bytes, as the longest value `distribution` gives a trial (bytes, not
/// characters: the command's limit is in bytes, and the stand-in is then never shorter).
fn longest(distribution: &Distribution) -> Value {
    let chars = match distribution {
        Distribution::Choice(values) => values
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string().len(), str::len))
            .max()
            .unwrap_or(0),
        // A float prints in at most 24 characters (-2.2250738585072014e-308), an integer in 20.
        _ => 24,
    };
    Value::String("x".repeat(chars))
}

/// A problem the sweep module found, placed under `prefix` (dotted).
fn at(prefix: &str, found: sweep::Problem) -> Problem {
    let mut path: Vec<String> = prefix.split('.').map(str::to_owned).collect();
    path.extend(found.field);
    (path, found.message)
}

#[cfg(test)]
mod tests;
