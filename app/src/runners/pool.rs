//! Pools: what a pool is (its checked settings), the states its machines go through, and
//! what the runners page and the API show of them. Typed once for the server, its API and the
//! command line.

use serde::{Deserialize, Serialize};

/// A pool's settings as the server keeps them: a pool spec with its durations, sizes and
/// commands resolved (`PUT /api/v1/pools/{name}` takes exactly this).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolSettings {
    /// Labels each machine's runner gets; jobs asking for labels fit when the pool has them all.
    pub labels: Vec<String>,
    /// GPUs each machine has.
    pub gpus_per_machine: u32,
    /// The name of its machines' GPUs (`NVIDIA A100-SXM4-80GB`, or just `A100`), matched
    /// against the model a job asks for as a runner's GPU names are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_model: Option<String>,
    /// Memory of each GPU in MiB, for jobs that ask for at least so much.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_memory_mib: Option<u64>,
    /// What one machine costs an hour, charged from its request to its end.
    pub price_per_hour: f64,
    /// Machines kept even when idle.
    pub min: u32,
    /// Machines at most, booting ones included.
    pub max: u32,
    /// An idle machine is deleted after this long (never below `min`).
    pub idle_timeout_s: u64,
    /// A machine whose runner has not registered this long after its request has failed.
    pub boot_timeout_s: u64,
    /// Longest a create or delete command may run.
    pub command_timeout_s: u64,
    /// No new machine once the pool has cost this much today (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cost_per_day: Option<f64>,
    /// The create command: a program in the server's pool scripts folder and its arguments;
    /// `{{name}}` and `{{pool}}` in an argument become the machine's and the pool's name.
    pub create: Vec<String>,
    /// The delete command, as `create`.
    pub delete: Vec<String>,
}

impl PoolSettings {
    /// Most machines one pool may have.
    pub const MAX_MACHINES: u32 = 1000;
    /// Longest pool name: its machines are named `POOL-xxxxxx`, and clouds limit VM names.
    pub const MAX_NAME: usize = 40;
    /// Most labels, and most arguments of a command.
    const MAX_ITEMS: usize = 32;
    /// Longest argument of a command.
    const MAX_ARGUMENT: usize = 1024;
    /// Longest timeout: a day.
    const MAX_TIMEOUT_S: u64 = 86_400;

    /// Checks a pool name: lowercase letters, digits and `-`, starting with a letter (what
    /// cloud providers accept in a VM name), at most [`Self::MAX_NAME`] characters.
    pub fn check_name(name: &str) -> Result<(), String> {
        let fine = name.len() <= Self::MAX_NAME
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if fine {
            Ok(())
        } else {
            Err(format!(
                "a pool name has 1 to {} lowercase letters, digits and '-', starting with a letter",
                Self::MAX_NAME
            ))
        }
    }

    /// Checks the settings; the error names the field (as a pool spec writes it) and says why.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.labels.len() > Self::MAX_ITEMS {
            return Err(("labels", format!("at most {} labels", Self::MAX_ITEMS)));
        }
        for label in &self.labels {
            crate::model::Name::parse(label, crate::model::Name::MAX_PROJECT)
                .map_err(|e| ("labels", format!("label '{label}': {e}")))?;
        }
        if self.gpus_per_machine > 64 {
            return Err(("gpus_per_machine", "at most 64".into()));
        }
        if let Some(model) = &self.gpu_model {
            let fine = model.len() <= crate::model::Gpu::MAX_TEXT
                && !crate::model::model_words(model).is_empty();
            if !fine {
                return Err((
                    "gpu.model",
                    format!(
                        "a GPU name of at most {} bytes, with letters or digits",
                        crate::model::Gpu::MAX_TEXT
                    ),
                ));
            }
        }
        if self.gpu_memory_mib == Some(0) {
            return Err(("gpu.memory", "more than 0".into()));
        }
        if (self.gpu_model.is_some() || self.gpu_memory_mib.is_some()) && self.gpus_per_machine == 0
        {
            return Err(("gpu", "a pool without GPUs cannot say what they are".into()));
        }
        if !self.price_per_hour.is_finite() || self.price_per_hour < 0.0 {
            return Err(("price_per_hour", "a price of 0 or more".into()));
        }
        if self
            .max_cost_per_day
            .is_some_and(|cost| !cost.is_finite() || cost <= 0.0)
        {
            return Err(("max_cost_per_day", "more than 0".into()));
        }
        if self.max > Self::MAX_MACHINES {
            return Err(("max", format!("at most {}", Self::MAX_MACHINES)));
        }
        if self.min > self.max {
            return Err(("min", format!("at most max ({})", self.max)));
        }
        for (field, seconds) in [
            ("idle_timeout", self.idle_timeout_s),
            ("boot_timeout", self.boot_timeout_s),
            ("command_timeout", self.command_timeout_s),
        ] {
            if !(1..=Self::MAX_TIMEOUT_S).contains(&seconds) {
                return Err((field, "from 1s to 24h".into()));
            }
        }
        check_command("create", &self.create)?;
        check_command("delete", &self.delete)
    }

    /// `command` (the create or delete command) for machine `machine` of pool `pool`: `{{name}}`
    /// and `{{pool}}` replaced in each argument, which stays one argument whatever it holds.
    pub fn argv(command: &[String], pool: &str, machine: &str) -> Vec<String> {
        command
            .iter()
            .map(|arg| arg.replace("{{name}}", machine).replace("{{pool}}", pool))
            .collect()
    }

    /// Whether a job needing `gpus` GPUs of at least `memory_mib` and of `model`, and runner
    /// labels `labels`, could run on a machine of this pool. A pool that does not say what its
    /// GPUs are takes only jobs that do not ask.
    pub fn fits(
        &self,
        gpus: i64,
        memory_mib: Option<i64>,
        model: Option<&str>,
        labels: &[String],
    ) -> bool {
        self.fit().takes(gpus, memory_mib, model, labels)
    }

    /// The pool ready to be matched against many jobs: its GPU name's phrases worked out once.
    pub fn fit(&self) -> Fit<'_> {
        Fit {
            settings: self,
            phrases: self
                .gpu_model
                .as_deref()
                .map(crate::model::Gpu::model_phrases)
                .unwrap_or_default(),
        }
    }

    /// What one GPU of a machine of this pool costs an hour: a job pays its share of the
    /// machine by GPUs (a machine without GPUs is one share).
    pub fn price_per_gpu_hour(&self) -> f64 {
        self.price_per_hour / f64::from(self.gpus_per_machine.max(1))
    }
}

/// A pool's settings with what matching a job needs worked out: see [`PoolSettings::fit`].
pub struct Fit<'a> {
    settings: &'a PoolSettings,
    phrases: Vec<String>,
}

impl Fit<'_> {
    /// Whether a job of `gpus` GPUs, each of at least `memory_mib` and of `model` (as
    /// [`crate::model::model_words`] writes it), needing runner labels `labels`, fits a machine.
    pub fn takes(
        &self,
        gpus: i64,
        memory_mib: Option<i64>,
        model: Option<&str>,
        labels: &[String],
    ) -> bool {
        let settings = self.settings;
        let memory = settings
            .gpu_memory_mib
            .and_then(|m| i64::try_from(m).ok())
            .unwrap_or(0);
        gpus <= i64::from(settings.gpus_per_machine)
            && (gpus == 0
                || (memory_mib.is_none_or(|need| memory >= need)
                    && model.is_none_or(|model| self.phrases.iter().any(|p| p == model))))
            && labels.iter().all(|label| settings.labels.contains(label))
    }
}

/// A command runs a program from the server's pool scripts folder, named bare (`create.sh` or
/// `./create.sh`), never a path elsewhere: an administrator's spec chooses among programs the
/// server's operator put there, and cannot make the server run anything else.
fn check_command(field: &'static str, argv: &[String]) -> Result<(), (&'static str, String)> {
    let Some(program) = argv.first() else {
        return Err((field, "a command is needed".into()));
    };
    let bare = program.strip_prefix("./").unwrap_or(program);
    if bare.is_empty() || bare.contains('/') || bare == "." || bare == ".." {
        return Err((
            field,
            format!(
                "'{program}' is not a file name: a command runs a program from the server's pool \
                 scripts folder (millrace serve --pool-scripts DIR), named without a path"
            ),
        ));
    }
    if argv.len() > PoolSettings::MAX_ITEMS {
        return Err((
            field,
            format!("at most {} arguments", PoolSettings::MAX_ITEMS),
        ));
    }
    for arg in argv {
        if arg.len() > PoolSettings::MAX_ARGUMENT || arg.contains('\0') {
            return Err((
                field,
                format!(
                    "arguments have at most {} bytes and no NUL",
                    PoolSettings::MAX_ARGUMENT
                ),
            ));
        }
        let mut rest = arg.as_str();
        while let Some(at) = rest.find("{{") {
            rest = &rest[at..];
            if !(rest.starts_with("{{name}}") || rest.starts_with("{{pool}}")) {
                let end = rest.find("}}").map_or(rest.len(), |e| e + 2);
                return Err((
                    field,
                    format!(
                        "unknown placeholder '{}': a command may use {{{{name}}}} and {{{{pool}}}}",
                        &rest[..end]
                    ),
                ));
            }
            rest = &rest[8..];
        }
    }
    Ok(())
}

/// What machines cost since `since_ms`, at `price_per_hour` each, from their lives (requested,
/// ended or `None` while they may exist) as of `now_ms`: only the part of each life after
/// `since_ms` counts.
pub fn spent(lives: &[(i64, Option<i64>)], since_ms: i64, now_ms: i64, price_per_hour: f64) -> f64 {
    let ms: i64 = lives
        .iter()
        .map(|&(start, end)| (end.unwrap_or(now_ms).min(now_ms) - start.max(since_ms)).max(0))
        .sum();
    ms as f64 / 3_600_000.0 * price_per_hour
}

/// What applying a pool spec did (or, in a dry run, would do).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Applied {
    /// A new pool.
    Created,
    /// A pool of that name with other settings: it has these now.
    Changed,
    /// A pool of that name with these very settings.
    Unchanged,
}

/// The answer to `PUT /api/v1/pools/{name}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PoolApplied {
    /// The pool.
    pub pool: String,
    /// What applying did.
    pub result: Applied,
}

/// Where a pool's machine is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MachineState {
    /// Its create command is running.
    Requested,
    /// Created; its runner has not registered yet.
    Booting,
    /// Its runner registered.
    Ready,
    /// Its runner holds jobs.
    Busy,
    /// Its runner holds none.
    Idle,
    /// Idle too long (or beyond the pool's needs): taking no new jobs, about to be deleted.
    Draining,
    /// Its delete command is running.
    Deleting,
    /// Deleted.
    Gone,
    /// Its create command failed, or its runner never registered.
    Failed,
    /// Its runner stopped reporting (a preempted spot machine): deleted, its jobs requeued.
    Lost,
}

impl MachineState {
    /// Every state, in the order of a machine's life.
    pub const ALL: [Self; 10] = [
        Self::Requested,
        Self::Booting,
        Self::Ready,
        Self::Busy,
        Self::Idle,
        Self::Draining,
        Self::Deleting,
        Self::Gone,
        Self::Failed,
        Self::Lost,
    ];

    /// The lowercase word stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Booting => "booting",
            Self::Ready => "ready",
            Self::Busy => "busy",
            Self::Idle => "idle",
            Self::Draining => "draining",
            Self::Deleting => "deleting",
            Self::Gone => "gone",
            Self::Failed => "failed",
            Self::Lost => "lost",
        }
    }

    /// The state a stored word names.
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == word)
    }

    /// Whether the machine may still exist (and cost money): not gone, failed or lost. A
    /// failed or lost machine is one whose delete command has run.
    pub fn is_live(self) -> bool {
        !matches!(self, Self::Gone | Self::Failed | Self::Lost)
    }
}

/// A pool as the runners page and `GET /api/v1/pools` show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PoolInfo {
    /// Its name.
    pub name: String,
    /// Its settings.
    pub settings: PoolSettings,
    /// Its machines that may still exist, oldest first.
    pub machines: Vec<MachineInfo>,
    /// What it cost since midnight UTC, machines' whole lives counted.
    pub spent_today: f64,
    /// What it cost since the first of this month, UTC.
    pub spent_this_month: f64,
    /// Why it creates no machine now, when it cannot (backing off, over its daily cost).
    pub held: Option<String>,
    /// The latest changes of its machines, newest first.
    pub history: Vec<MachineChange>,
}

/// One machine of a pool.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MachineInfo {
    /// Its name, also its runner's.
    pub name: String,
    /// Where it is in its life.
    pub state: MachineState,
    /// Seconds it has been in that state, as the server counted when it answered.
    pub state_for_s: i64,
}

/// One change of a machine's state, as kept in the pool's history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MachineChange {
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// The machine.
    pub machine: String,
    /// Its new state.
    pub state: MachineState,
    /// Why, when there is more to say (a failed command's last line, say).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_reads_back_from_its_word() {
        for state in MachineState::ALL {
            assert_eq!(MachineState::parse(state.as_str()), Some(state));
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
        }
        assert_eq!(MachineState::parse("Gone"), None);
    }

    #[test]
    fn a_machine_costs_its_life_since_the_start_counted() {
        const H: i64 = 3_600_000;
        let lives = [(0, Some(2 * H)), (3 * H, None), (-5 * H, Some(-H))];
        // Since 1 h: one hour of the first, two of the second (still alive at 5 h).
        assert_eq!(spent(&lives, H, 5 * H, 10.0), 30.0);
        assert_eq!(spent(&lives, -10 * H, 5 * H, 1.0), 2.0 + 2.0 + 4.0);
        assert_eq!(spent(&[], 0, H, 10.0), 0.0);
    }

    #[test]
    fn a_job_pays_its_share_of_a_machine_by_gpus() {
        let mut settings = PoolSettings {
            labels: vec![],
            gpus_per_machine: 8,
            gpu_model: None,
            gpu_memory_mib: None,
            price_per_hour: 14.5,
            min: 0,
            max: 4,
            idle_timeout_s: 600,
            boot_timeout_s: 600,
            command_timeout_s: 300,
            max_cost_per_day: None,
            create: vec!["create.sh".into()],
            delete: vec!["delete.sh".into()],
        };
        assert_eq!(settings.price_per_gpu_hour(), 14.5 / 8.0);
        settings.gpus_per_machine = 0;
        assert_eq!(settings.price_per_gpu_hour(), 14.5);
    }
}
