//! Pool specs: the YAML an administrator applies to let the server create machines when jobs
//! wait and delete them when idle, checked with errors that point at the line.

use super::plan::{parse_gpu_memory, parse_timeout, problem, Problem};
use super::Command;
use app::runners::pool::PoolSettings;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A pool spec as written in YAML (`millrace apply -f pool.yaml`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolSpec {
    /// Names the pool: lowercase letters, digits and `-`; its machines are named `POOL-xxxxxx`.
    pub pool: String,
    /// Labels each machine's runner gets: jobs whose labels the pool has all of run there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// GPUs each machine has (0 for CPU machines).
    #[serde(default)]
    pub gpus_per_machine: u32,
    /// What its GPUs are, for jobs that ask for a model or memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<PoolGpu>,
    /// What one machine costs an hour; it is charged from its request to its deletion.
    #[serde(default)]
    pub price_per_hour: f64,
    /// Machines kept even when idle (default 0).
    #[serde(default)]
    pub min: u32,
    /// Machines at most, booting ones included.
    pub max: u32,
    /// An idle machine is deleted after this long, e.g. `10m` (the default).
    #[serde(default = "ten_minutes")]
    pub idle_timeout: String,
    /// A machine whose runner has not registered this long after it was asked for has failed
    /// and is deleted (default `10m`).
    #[serde(default = "ten_minutes")]
    pub boot_timeout: String,
    /// Longest a create or delete command may run (default `5m`).
    #[serde(default = "five_minutes")]
    pub command_timeout: String,
    /// No new machine once the pool has cost this much today (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cost_per_day: Option<f64>,
    /// Creates a machine that starts `millrace runner`: a program in the server's pool scripts
    /// folder and its arguments, split as a shell would but run without one. `{{name}}` is the
    /// machine's name, `{{pool}}` the pool's; the environment holds `MILLRACE_SERVER`,
    /// `MILLRACE_TOKEN` (a runner token for this machine alone), `MILLRACE_POOL`,
    /// `MILLRACE_MACHINE` and `MILLRACE_LABELS`.
    pub create: Command,
    /// Deletes machine `{{name}}`, as `create`.
    pub delete: Command,
}

/// What a pool's GPUs are.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolGpu {
    /// Their name, as `nvidia-smi` says it (`NVIDIA A100-SXM4-80GB`) or in short (`A100`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Memory of each, e.g. `80GB`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::text_or_number"
    )]
    pub memory: Option<String>,
}

fn ten_minutes() -> String {
    "10m".into()
}

fn five_minutes() -> String {
    "5m".into()
}

impl PoolSpec {
    /// Checks what the YAML shape cannot: the name, ranges, durations and commands.
    pub fn check(&self) -> Result<(), Problem> {
        self.settings().map(|_| ())
    }

    /// The settings the server keeps for this spec, or what is wrong with it.
    pub fn settings(&self) -> Result<PoolSettings, Problem> {
        PoolSettings::check_name(&self.pool).map_err(|e| problem(&["pool"], e))?;
        let seconds = |field: &str, text: &str| {
            parse_timeout(text)
                .map(|d| d.as_secs().max(1))
                .map_err(|e| problem(&[field], e))
        };
        let gpu_memory_mib = match self.gpu.as_ref().and_then(|g| g.memory.as_deref()) {
            Some(text) => Some(parse_gpu_memory(text).map_err(|e| problem(&["gpu", "memory"], e))?),
            None => None,
        };
        let settings = PoolSettings {
            labels: self.labels.clone(),
            gpus_per_machine: self.gpus_per_machine,
            gpu_model: self.gpu.as_ref().and_then(|g| g.model.clone()),
            gpu_memory_mib,
            price_per_hour: self.price_per_hour,
            min: self.min,
            max: self.max,
            idle_timeout_s: seconds("idle_timeout", &self.idle_timeout)?,
            boot_timeout_s: seconds("boot_timeout", &self.boot_timeout)?,
            command_timeout_s: seconds("command_timeout", &self.command_timeout)?,
            max_cost_per_day: self.max_cost_per_day,
            create: argv("create", &self.create)?,
            delete: argv("delete", &self.delete)?,
        };
        settings
            .check()
            .map_err(|(field, message)| (field.split('.').map(str::to_owned).collect(), message))?;
        Ok(settings)
    }
}

/// A command as a program and its arguments: a string is split as a shell splits words
/// (quotes keep spaces in one argument), but no shell ever runs it.
fn argv(field: &str, command: &Command) -> Result<Vec<String>, Problem> {
    match command {
        Command::Argv(argv) => Ok(argv.clone()),
        Command::Shell(line) => shlex::split(line)
            .ok_or_else(|| problem(&[field], "unbalanced quotes or a trailing backslash")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::parse_pool;

    const SPEC: &str = "pool: a100-spot
labels: [a100, spot]
gpus_per_machine: 8
gpu: {model: NVIDIA A100-SXM4-80GB, memory: 80GB}
price_per_hour: 14.50
max: 4
idle_timeout: 10m
max_cost_per_day: 300
create: ./gcp-create.sh {{name}} --zone 'europe west'
delete: [gcp-delete.sh, '{{name}}']
";

    #[test]
    fn a_pool_spec_becomes_the_settings_the_server_keeps() {
        let settings = parse_pool("pool.yaml", SPEC).unwrap().settings().unwrap();
        assert_eq!(settings.labels, ["a100", "spot"]);
        assert_eq!(settings.gpu_memory_mib, Some(76_294));
        assert_eq!((settings.min, settings.max), (0, 4));
        assert_eq!(
            (
                settings.idle_timeout_s,
                settings.boot_timeout_s,
                settings.command_timeout_s
            ),
            (600, 600, 300)
        );
        assert_eq!(
            settings.create,
            ["./gcp-create.sh", "{{name}}", "--zone", "europe west"]
        );
        assert_eq!(
            PoolSettings::argv(&settings.delete, "a100-spot", "a100-spot-1a2b3c"),
            ["gcp-delete.sh", "a100-spot-1a2b3c"]
        );
        assert!(settings.fits(8, Some(70_000), Some("a100"), &["spot".into()]));
        assert!(
            !settings.fits(1, Some(80_000), None, &[]),
            "80 GB is 76,294 MiB"
        );
        assert!(
            !settings.fits(9, None, None, &[]),
            "more GPUs than a machine has"
        );
        assert!(!settings.fits(1, None, Some("h100"), &[]), "another model");
        assert!(
            !settings.fits(1, None, None, &["h100".into()]),
            "a label it lacks"
        );
    }

    #[test]
    fn mistakes_are_refused_where_they_are() {
        let cases = [
            ("pool: a100-spot", "pool: A100_Spot", 1, "pool", "lowercase"),
            ("max: 4", "max: 4\nmin: 5", 7, "min", "at most max (4)"),
            (
                "idle_timeout: 10m",
                "idle_timeout: soon",
                7,
                "idle_timeout",
                "not a duration",
            ),
            ("memory: 80GB", "memory: 80", 4, "gpu.memory", "has no unit"),
            (
                "./gcp-create.sh {{name}}",
                "/usr/bin/curl {{name}}",
                9,
                "create",
                "not a file name",
            ),
            (
                "./gcp-create.sh {{name}}",
                "../up.sh {{name}}",
                9,
                "create",
                "not a file name",
            ),
            (
                "'{{name}}'",
                "'{{nmae}}'",
                10,
                "delete",
                "unknown placeholder '{{nmae}}'",
            ),
            (
                " --zone 'europe west'",
                " --zone 'europe",
                9,
                "create",
                "unbalanced quotes",
            ),
            (
                "price_per_hour: 14.50",
                "price_per_hour: -1",
                5,
                "price_per_hour",
                "0 or more",
            ),
        ];
        for (from, to, line, field, message) in cases {
            let text = SPEC.replace(from, to);
            let error = parse_pool("pool.yaml", &text).unwrap_err();
            assert_eq!(error.line, Some(line), "{to}: {error}");
            assert_eq!(error.field.as_deref(), Some(field), "{to}: {error}");
            assert!(error.message.contains(message), "{to}: {error}");
        }
        let typo = parse_pool("pool.yaml", &SPEC.replace("max:", "maxx:")).unwrap_err();
        assert!(typo.message.contains("did you mean `max`"), "{typo}");
    }
}
