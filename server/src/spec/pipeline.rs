//! Pipeline specs: steps (job templates or sweeps) joined by `needs`, checked whole before
//! anything runs, and the job or sweep each step resolves to once the steps it needs are done.

use super::plan::{check_project, problem, JobRequest, PlanInput, Problem};
use super::sweep::{self as sweep_spec, JobTemplate, Objective, SweepSpec};
use super::{Command, JobSpec, Metrics, Resources};
use crate::sweep::{Algorithm, EarlyStopping, Space};
use app::model::Name;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// Longest pipeline name: its jobs are named `PIPELINE-STEP-INDEX`, within a job name's limit.
pub const MAX_PIPELINE_NAME: usize = 40;
/// Longest step name.
pub const MAX_STEP_NAME: usize = 40;
/// Most steps in one pipeline.
pub const MAX_STEPS: usize = 1_000;
/// Most jobs one `for_each` step fans out to.
pub const MAX_FAN_OUT: usize = 1_000;
/// Most jobs (step instances) in one run of a pipeline.
pub const MAX_JOBS: usize = 10_000;

/// A pipeline spec as written in YAML (`millrace apply -f pipeline.yaml`): named steps, each
/// a job (or a sweep) that starts once the steps it needs have succeeded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelineSpec {
    /// Names the pipeline within its project; applying a spec of that name again compares it
    /// with the pipeline's last run.
    pub pipeline: String,
    /// The project to run in, as `owner/name`.
    pub project: String,
    /// Parameters every step may use (`{{epochs}}`); a step's own `params` override them.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    #[schemars(with = "BTreeMap<String, Value>")]
    pub params: Map<String, Value>,
    /// The steps, by name (letters, digits, `-` and `_`).
    pub steps: BTreeMap<String, Step>,
}

/// One step: a job spec's fields but `name` and `project`, and how it joins the others.
// Written out rather than flattening `JobTemplate`: serde cannot combine flatten with
// `deny_unknown_fields`, which gives misspelt fields their "did you mean".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The steps that must succeed before this one starts; their outputs appear under
    /// `inputs/STEP/` in this step's directory (`inputs/STEP/INDEX/` for a `for_each` step).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<String>,
    /// The command: one string run by `sh -c`, or a list run as is. `{{name}}` is replaced by
    /// a parameter, a `for_each` value, or `{{steps.SWEEP.best.PARAM}}` and
    /// `{{steps.SWEEP.best.value}}` from a sweep step this one needs.
    pub command: Command,
    /// A directory on the runner's machine to run in (instead of a code snapshot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workdir: Option<String>,
    /// A directory to snapshot and upload, relative to the spec file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Environment variables for the command (write-only, as for jobs).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Parameters of this step, over the pipeline's.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    #[schemars(with = "BTreeMap<String, Value>")]
    pub params: Map<String, Value>,
    /// What the step's job needs of a runner.
    #[serde(default)]
    pub resources: Resources,
    /// Metrics to pick out of the output; the first is the step's key metric in the DAG view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Metrics>,
    /// Longest run time, e.g. `45m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Times the job is requeued when its runner is lost (0 to 10).
    #[serde(default)]
    pub retries: u32,
    /// Files to keep and pass on: paths or globs relative to the step's directory; `data/`
    /// keeps everything under `data`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<String>,
    /// One job per value, or per combination of several keys' values, run side by side:
    /// `{split: [val, test]}` makes `{{split}}` `val` in one job and `test` in the other.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub for_each: BTreeMap<String, Vec<Value>>,
    /// Makes the step a sweep of its job; its best trial's outputs are the step's outputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<StepSweep>,
    /// Whether an unchanged step reuses the job of an earlier run (default true).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub cache: bool,
}

fn yes() -> bool {
    true
}

fn is_true(value: &bool) -> bool {
    *value
}

/// The search of a sweep step: a sweep spec's fields but its job, name and project.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepSweep {
    /// Parameter name → distribution, as in sweep specs.
    pub space: Space,
    /// The metric the search optimises.
    pub objective: Objective,
    /// `grid`, `random` or `tpe` (the default).
    #[serde(default = "sweep_spec::default_algorithm")]
    pub algorithm: Algorithm,
    /// Seed of the suggestions (default 0).
    #[serde(default)]
    pub seed: u64,
    /// Trials to run in all.
    pub trials: u32,
    /// Trials queued or running at once (default 1).
    #[serde(default = "sweep_spec::default_parallel")]
    pub parallel: u32,
    /// Stops hopeless trials: `{median: {…}}` or `{asha: {…}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_stopping: Option<EarlyStopping>,
    /// Consecutive failed trials after which the sweep, and so the step, fails (default 3).
    #[serde(default = "sweep_spec::default_max_failures")]
    pub max_failures: u32,
}

/// A pipeline to run, as `apply` sends it to the server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineRequest {
    /// The spec, which the server checks again.
    pub spec: PipelineSpec,
    /// SHA-256 of each uploaded code snapshot, by the `code` directory the steps name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub snapshots: BTreeMap<String, String>,
}

impl PipelineRequest {
    /// Identifies what the pipeline runs: the same spec and code always hash the same.
    pub fn hash(&self) -> String {
        hex_sha256(&serde_json::to_string(self).expect("a request serialises"))
    }

    /// The snapshot step `name` runs in, if it has code.
    pub fn snapshot(&self, name: &str) -> Option<String> {
        let code = self.spec.steps.get(name)?.code.as_ref()?;
        self.snapshots.get(code).cloned()
    }

    /// The step instances a new run of this request stores, every one waiting: one per step,
    /// one per combination of a `for_each` step.
    pub fn new_steps(&self) -> Vec<app::db::pipelines::NewStep> {
        let spec = &self.spec;
        spec.steps
            .keys()
            .flat_map(|name| {
                let definition = self.definition_hash(name);
                (0..spec.fan_out(name).len()).map(move |instance| app::db::pipelines::NewStep {
                    step: name.clone(),
                    instance: instance as i64,
                    definition: definition.clone(),
                })
            })
            .collect()
    }

    /// Identifies step `name` as written, with its code and the pipeline's parameters: a
    /// step whose definition and inputs are unchanged may reuse an earlier run's job.
    pub fn definition_hash(&self, name: &str) -> String {
        let step = self.spec.steps.get(name);
        let text = serde_json::to_string(&(name, step, &self.spec.params, self.snapshot(name)))
            .expect("a step serialises");
        hex_sha256(&text)
    }
}

/// Lower-case hex SHA-256 of `text`.
fn hex_sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What a step's job is given of a sweep step it needs: `steps.NAME.best.PARAM` and
/// `steps.NAME.best.value`, by those keys.
pub type BestValues = Map<String, Value>;

impl PipelineSpec {
    /// Checks what the YAML shape cannot; the first problem found, with its field path.
    pub fn check(&self) -> Result<(), Problem> {
        Name::parse(&self.pipeline, MAX_PIPELINE_NAME)
            .map_err(|e| problem(&["pipeline"], e.to_string()))?;
        check_project(&self.project)?;
        if self.steps.is_empty() {
            return Err(problem(&["steps"], "a pipeline has at least one step"));
        }
        if self.steps.len() > MAX_STEPS {
            return Err(problem(
                &["steps"],
                format!("a pipeline has at most {MAX_STEPS} steps"),
            ));
        }
        for name in self.steps.keys() {
            check_step_name(name).map_err(|m| problem(&["steps", name], m))?;
        }
        for (name, step) in &self.steps {
            self.check_needs(name, step)?;
        }
        self.check_acyclic()?;
        let mut jobs = 0;
        for (name, step) in &self.steps {
            self.check_step(name, step)?;
            jobs += self.fan_out(name).len();
        }
        if jobs > MAX_JOBS {
            return Err(problem(
                &["steps"],
                format!("the pipeline would run {jobs} jobs; one run has at most {MAX_JOBS}"),
            ));
        }
        Ok(())
    }

    fn check_needs(&self, name: &str, step: &Step) -> Result<(), Problem> {
        let mut seen = BTreeSet::new();
        for (i, need) in step.needs.iter().enumerate() {
            let path = ["steps", name, "needs", &i.to_string()];
            if need == name {
                return Err(problem(&path, format!("step `{name}` cannot need itself")));
            }
            if !self.steps.contains_key(need) {
                return Err(problem(&path, self.no_step(need)));
            }
            if !seen.insert(need) {
                return Err(problem(&path, format!("`{need}` is listed twice")));
            }
        }
        Ok(())
    }

    /// "there is no step `x`", with the nearest name or the list of names.
    fn no_step(&self, name: &str) -> String {
        let nearest = self
            .steps
            .keys()
            .map(|known| (strsim::damerau_levenshtein(name, known), known))
            .filter(|(distance, known)| *distance <= 2.max(known.len() / 3))
            .min_by_key(|(distance, _)| *distance);
        match nearest {
            Some((_, known)) => format!("there is no step `{name}`; did you mean `{known}`?"),
            None => {
                let names: Vec<&str> = self.steps.keys().map(String::as_str).collect();
                format!("there is no step `{name}` (steps: {})", names.join(", "))
            }
        }
    }

    /// Refuses a cycle of `needs`, naming it: `prep → train → prep`.
    fn check_acyclic(&self) -> Result<(), Problem> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            Open,
            Done,
        }
        let mut marks: BTreeMap<&str, Mark> = BTreeMap::new();
        for start in self.steps.keys() {
            if marks.contains_key(start.as_str()) {
                continue;
            }
            // Depth-first without recursion (1,000 steps in a chain): the path and, for each
            // step on it, how many of its needs were followed.
            let mut path: Vec<(&str, usize)> = vec![(start, 0)];
            marks.insert(start, Mark::Open);
            while let Some((name, next)) = path.last_mut() {
                let needs = &self.steps[*name].needs;
                let Some(need) = needs.get(*next) else {
                    marks.insert(name, Mark::Done);
                    path.pop();
                    continue;
                };
                *next += 1;
                match marks.get(need.as_str()) {
                    Some(Mark::Done) => {}
                    Some(Mark::Open) => {
                        let from = path.iter().position(|(n, _)| *n == need).unwrap_or(0);
                        let mut cycle: Vec<&str> = path[from..].iter().map(|(n, _)| *n).collect();
                        cycle.push(need);
                        let first = cycle[0];
                        let at = self.steps[first]
                            .needs
                            .iter()
                            .position(|n| n == cycle[1])
                            .unwrap_or(0);
                        return Err(problem(
                            &["steps", first, "needs", &at.to_string()],
                            format!(
                                "the steps need each other in a cycle: {}",
                                cycle.join(" → ")
                            ),
                        ));
                    }
                    None => {
                        marks.insert(need, Mark::Open);
                        path.push((need, 0));
                    }
                }
            }
        }
        Ok(())
    }

    fn check_step(&self, name: &str, step: &Step) -> Result<(), Problem> {
        if step.sweep.is_some() && !step.for_each.is_empty() {
            return Err(problem(
                &["steps", name, "for_each"],
                "a step is a sweep or a for_each, not both",
            ));
        }
        self.check_for_each(name, step)?;
        for (i, output) in step.outputs.iter().enumerate() {
            if output.trim().is_empty() {
                return Err(problem(
                    &["steps", name, "outputs", &i.to_string()],
                    "an output is a path or glob pattern, not empty",
                ));
            }
        }
        let texts = command_texts(&step.command);
        for text in &texts {
            self.check_references(name, step, text)?;
            self.check_inputs(name, step, text)?;
        }
        let placeholders = self.placeholders(step);
        let Some(sweep) = self.sweep_spec(name, &placeholders) else {
            return self
                .job_spec(name, 0, placeholders)
                .check()
                .map_err(|(path, message)| self.step_problem(name, step, path, message));
        };
        sweep
            .check()
            .map_err(|(path, message)| match path.split_first() {
                // The sweep spec's `job` is the step's own fields.
                Some((first, rest)) if first == "job" => {
                    self.step_problem(name, step, rest.to_vec(), message)
                }
                _ => {
                    let mut full = vec!["steps".to_owned(), name.to_owned(), "sweep".to_owned()];
                    full.extend(path);
                    (full, message)
                }
            })
    }

    /// A problem the job spec of step `name` has at `path`, placed where the pipeline spec
    /// writes that field.
    fn step_problem(
        &self,
        name: &str,
        step: &Step,
        mut path: Vec<String>,
        message: String,
    ) -> Problem {
        match path.first().map(String::as_str) {
            // A parameter of the pipeline's, not the step's, is wrong where it is written.
            Some("params")
                if path.get(1).is_some_and(|k| {
                    !step.params.contains_key(k) && self.params.contains_key(k)
                }) =>
            {
                return (path, message);
            }
            // The job spec's `artifacts` are the step's `outputs`.
            Some("artifacts") => path[0] = "outputs".to_owned(),
            _ => {}
        }
        path.splice(0..0, ["steps".to_owned(), name.to_owned()]);
        (path, message)
    }

    fn check_for_each(&self, name: &str, step: &Step) -> Result<(), Problem> {
        let mut combinations: usize = 1;
        for (key, values) in &step.for_each {
            let path = ["steps", name, "for_each", key];
            if values.is_empty() {
                return Err(problem(&path, format!("`{key}` has no values to run")));
            }
            if step.params.contains_key(key) || self.params.contains_key(key) {
                return Err(problem(
                    &path,
                    format!("`{key}` is also a parameter; name the for_each key differently"),
                ));
            }
            combinations = combinations.saturating_mul(values.len());
        }
        if combinations > MAX_FAN_OUT {
            return Err(problem(
                &["steps", name, "for_each"],
                format!("{combinations} combinations; a step fans out to at most {MAX_FAN_OUT}"),
            ));
        }
        Ok(())
    }

    /// Each `{{steps.X.…}}` in `text` names a sweep step this one needs, and its best
    /// parameter or `value`.
    fn check_references(&self, name: &str, step: &Step, text: &str) -> Result<(), Problem> {
        let command = ["steps", name, "command"];
        for reference in placeholder_names(text).filter(|n| n.starts_with("steps.")) {
            let parts: Vec<&str> = reference.split('.').collect();
            let [_, other, "best", what] = parts[..] else {
                return Err(problem(
                    &command,
                    format!(
                        "`{{{{{reference}}}}}` is not a step's result: write \
                         {{{{steps.SWEEP.best.PARAM}}}} or {{{{steps.SWEEP.best.value}}}}"
                    ),
                ));
            };
            let Some(target) = self.steps.get(other) else {
                return Err(problem(&command, self.no_step(other)));
            };
            let Some(sweep) = &target.sweep else {
                return Err(problem(
                    &command,
                    format!(
                        "`{{{{{reference}}}}}`: step `{other}` is not a sweep, so it has no best \
                         trial"
                    ),
                ));
            };
            if !step.needs.iter().any(|n| n == other) {
                return Err(problem(
                    &command,
                    format!("`{{{{{reference}}}}}`: add `{other}` to this step's needs"),
                ));
            }
            if what != "value" && !sweep.space.params.contains_key(what) {
                let known: Vec<&str> = sweep.space.params.keys().map(String::as_str).collect();
                return Err(problem(
                    &command,
                    format!(
                        "`{{{{{reference}}}}}`: sweep `{other}` searches no `{what}` (it \
                         searches {}; or use `value`)",
                        known.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Each `inputs/STEP` the command reads names a step this one needs.
    fn check_inputs(&self, name: &str, step: &Step, text: &str) -> Result<(), Problem> {
        for input in input_names(text) {
            if step.needs.iter().any(|n| n == input) {
                continue;
            }
            let message = if self.steps.contains_key(input) {
                format!(
                    "the command reads inputs/{input} but the step does not need `{input}`; \
                     add it to needs"
                )
            } else {
                format!("the command reads inputs/{input}: {}", self.no_step(input))
            };
            return Err(problem(&["steps", name, "command"], message));
        }
        Ok(())
    }

    /// Stand-ins for every name step `name`'s command may use, each as long as its longest
    /// value can be, so that a command that passes the check passes it whatever runs.
    fn placeholders(&self, step: &Step) -> Map<String, Value> {
        let mut params = Map::new();
        for (key, values) in &step.for_each {
            let longest = values.iter().map(value_text_len).max().unwrap_or(0);
            params.insert(key.clone(), Value::String("x".repeat(longest)));
        }
        for need in &step.needs {
            if let Some(sweep) = &self.steps[need].sweep {
                for param in sweep
                    .space
                    .params
                    .keys()
                    .map(String::as_str)
                    .chain(["value"])
                {
                    // A float prints in at most 24 characters; a choice may be longer.
                    params.insert(
                        format!("steps.{need}.best.{param}"),
                        Value::String("x".repeat(64)),
                    );
                }
            }
        }
        params
    }

    /// The steps in an order where each comes after the steps it needs: by depth, then name
    /// (a checked spec; steps on a cycle are left out).
    pub fn order(&self) -> Vec<&str> {
        let depths = self.depths();
        let mut order: Vec<&str> = depths.keys().copied().collect();
        order.sort_by_key(|name| (depths[name], *name));
        order
    }

    /// The depth of each step: 0 for those that need nothing, else one more than the deepest
    /// step it needs. The DAG view draws a layer per depth.
    pub fn depths(&self) -> BTreeMap<&str, usize> {
        let needs = self
            .steps
            .iter()
            .map(|(name, step)| (name.as_str(), step.needs.as_slice()))
            .collect();
        app::pipelines::service::depths(&needs)
    }

    /// The values of each job step `name` fans out to: one empty map without `for_each`, else
    /// every combination of its keys' values (the last key changing fastest).
    pub fn fan_out(&self, name: &str) -> Vec<Map<String, Value>> {
        let mut combinations = vec![Map::new()];
        let Some(step) = self.steps.get(name) else {
            return combinations;
        };
        for (key, values) in &step.for_each {
            combinations = combinations
                .iter()
                .flat_map(|base| {
                    values.iter().map(move |value| {
                        let mut next = base.clone();
                        next.insert(key.clone(), value.clone());
                        next
                    })
                })
                .collect();
        }
        combinations
    }

    /// The name of the job of step `name`'s instance `index`.
    pub fn job_name(&self, name: &str, index: usize) -> String {
        match self.steps.get(name).is_some_and(|s| !s.for_each.is_empty()) {
            true => format!("{}-{name}-{index}", self.pipeline),
            false => format!("{}-{name}", self.pipeline),
        }
    }

    /// The job spec of step `name`'s instance `index`, its parameters the pipeline's, the
    /// step's and `extra` (a `for_each` combination, a sweep's best values).
    fn job_spec(&self, name: &str, index: usize, extra: Map<String, Value>) -> JobSpec {
        let step = &self.steps[name];
        let mut params = self.params.clone();
        params.extend(step.params.clone());
        params.extend(extra);
        JobSpec {
            name: self.job_name(name, index),
            project: self.project.clone(),
            command: step.command.clone(),
            workdir: step.workdir.clone(),
            code: step.code.clone(),
            env: step.env.clone(),
            params,
            resources: step.resources.clone(),
            metrics: step.metrics.clone(),
            timeout: step.timeout.clone(),
            retries: step.retries,
            artifacts: step.outputs.iter().map(|o| output_pattern(o)).collect(),
        }
    }

    /// The job of step `name`'s instance `index`: its `for_each` values, the best values of
    /// the sweeps it needs, its code `snapshot` and the folders its `inputs` fill. Only a
    /// checked spec has one.
    pub fn job_request(
        &self,
        name: &str,
        index: usize,
        best: &BestValues,
        snapshot: Option<String>,
        inputs: Vec<PlanInput>,
    ) -> JobRequest {
        let mut extra = self.fan_out(name).swap_remove(index);
        extra.extend(best.clone());
        let mut request = self.job_spec(name, index, extra).request(snapshot);
        request.plan.inputs = inputs;
        request
    }

    /// The sweep of sweep step `name`, its template's references filled from `best`.
    pub fn sweep_spec(&self, name: &str, best: &BestValues) -> Option<SweepSpec> {
        let step = self.steps.get(name)?;
        let search = step.sweep.clone()?;
        let job = self.job_spec(name, 0, best.clone());
        Some(SweepSpec {
            sweep: self.job_name(name, 0),
            project: self.project.clone(),
            job: JobTemplate {
                command: job.command,
                workdir: job.workdir,
                code: job.code,
                env: job.env,
                params: job.params,
                resources: job.resources,
                metrics: job.metrics,
                timeout: job.timeout,
                retries: job.retries,
                artifacts: job.artifacts,
            },
            space: search.space,
            objective: search.objective,
            algorithm: search.algorithm,
            seed: search.seed,
            trials: search.trials,
            parallel: search.parallel,
            early_stopping: search.early_stopping,
            max_failures: search.max_failures,
        })
    }
}

/// Step names are names without `.`, which separates the parts of `{{steps.NAME.best.lr}}`.
fn check_step_name(name: &str) -> Result<(), String> {
    Name::parse(name, MAX_STEP_NAME).map_err(|e| format!("step name '{name}': {e}"))?;
    if name.contains('.') {
        return Err(format!("step name '{name}' cannot hold a '.'"));
    }
    Ok(())
}

/// The texts of a command in which placeholders are filled.
fn command_texts(command: &Command) -> Vec<&str> {
    match command {
        Command::Shell(text) => vec![text.as_str()],
        Command::Argv(argv) => argv.iter().map(String::as_str).collect(),
    }
}

/// The names between `{{` and `}}` in `text`, trimmed.
fn placeholder_names(text: &str) -> impl Iterator<Item = &str> {
    text.split("{{")
        .skip(1)
        .filter_map(|rest| rest.split_once("}}").map(|(name, _)| name.trim()))
}

/// The step names a command reads as `inputs/STEP`: where a word, an `=` value or a quoted
/// text starts with `inputs/` (a longer path such as `/data/inputs/x` is not an input).
fn input_names(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices("inputs/").filter_map(move |(at, _)| {
        let before = text[..at].chars().next_back();
        let starts_word = before.is_none_or(|c| c.is_whitespace() || "='\":,([".contains(c));
        let rest = &text[at + "inputs/".len()..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(rest.len());
        (starts_word && end > 0).then(|| &rest[..end])
    })
}

/// An output as the runner's artifact glob: `data/` (a folder) keeps everything below it.
pub fn output_pattern(output: &str) -> String {
    match output.strip_suffix('/') {
        Some(folder) => format!("{folder}/**"),
        None => output.to_owned(),
    }
}

/// The length of `value` as a command shows it.
fn value_text_len(value: &Value) -> usize {
    value
        .as_str()
        .map_or_else(|| value.to_string().len(), str::len)
}

/// The folder step `need`'s instance `index` fills in a dependent's directory.
pub fn input_dir(need: &str, index: Option<usize>) -> String {
    match index {
        Some(index) => format!("inputs/{need}/{index}"),
        None => format!("inputs/{need}"),
    }
}

#[cfg(test)]
mod tests;
