//! Types shared by the browser and the server: names, ids, rows of the columns, sort and filter.

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// A user's or project's name that passed [`Name::parse`]: safe in URLs and unique per scope.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Name(String);

/// Why a name was refused; the message is shown to the person who typed it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing was given.
    #[error("a name cannot be empty")]
    Empty,
    /// More characters than the kind of name allows.
    #[error("a name can have at most {max} characters")]
    TooLong {
        /// The limit that was exceeded.
        max: usize,
    },
    /// A character outside `a-z A-Z 0-9 - _ .`, or a leading `-`, `_` or `.`.
    #[error("use letters, digits, '-', '_' and '.', starting with a letter or digit")]
    BadCharacter,
}

impl Name {
    /// User names: short, because they appear in every URL.
    pub const MAX_USER: usize = 39;
    /// Project names, as in `alice/xray-segmentation`.
    pub const MAX_PROJECT: usize = 64;

    /// Checks a user or project name of at most `max` characters.
    pub fn parse(text: &str, max: usize) -> Result<Self, NameError> {
        let first = text.chars().next().ok_or(NameError::Empty)?;
        if text.chars().count() > max {
            return Err(NameError::TooLong { max });
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if !first.is_ascii_alphanumeric() || !text.chars().all(allowed) {
            return Err(NameError::BadCharacter);
        }
        Ok(Self(text.to_owned()))
    }

    /// A project name made from free text (an MLflow experiment name such as `xray
    /// segmentation v2`): each run of other characters becomes one `-`, and it starts with a
    /// letter or digit and keeps within [`Name::MAX_PROJECT`]; `experiment` when nothing is
    /// left. `suffix` (for uniqueness) is appended as `-N` within the limit.
    pub fn slug(text: &str, suffix: Option<u32>) -> Self {
        let mut slug = String::new();
        for c in text.chars() {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.') {
                slug.push(c);
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        let trimmed = slug
            .trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
            .trim_end_matches('-');
        let base = if trimmed.is_empty() {
            "experiment"
        } else {
            trimmed
        };
        let tail = suffix.map(|n| format!("-{n}")).unwrap_or_default();
        // ASCII only, so bytes are characters.
        let room = Self::MAX_PROJECT - tail.len();
        let base = base[..base.len().min(room)].trim_end_matches('-');
        Self(format!("{base}{tail}"))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The lifecycle state of a job.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    /// Waiting for a runner.
    #[default]
    Queued,
    /// Leased by a runner, preparing to run.
    Starting,
    /// Running.
    Running,
    /// Finished with exit code 0.
    Succeeded,
    /// Finished with an error.
    Failed,
    /// Stopped by a person.
    Cancelled,
    /// Its runner stopped reporting.
    Lost,
}

impl JobStatus {
    /// Every status, in the order the status sort uses (work in progress first).
    pub const ALL: [JobStatus; 7] = [
        Self::Queued,
        Self::Starting,
        Self::Running,
        Self::Succeeded,
        Self::Failed,
        Self::Cancelled,
        Self::Lost,
    ];

    /// The number stored in the database; its order is the status sort order.
    pub fn code(self) -> i64 {
        Self::ALL
            .iter()
            .position(|s| *s == self)
            .expect("ALL lists every status") as i64
    }

    /// The status stored as `code`, if the code is known.
    pub fn from_code(code: i64) -> Option<Self> {
        usize::try_from(code)
            .ok()
            .and_then(|i| Self::ALL.get(i))
            .copied()
    }

    /// The lowercase word used in URLs, the API and the UI.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Lost => "lost",
        }
    }

    /// Whether the job has ended and will not change state again.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::Failed | Self::Cancelled | Self::Lost
        )
    }

    /// Whether a client (the REST or MLflow API, not the runner protocol) may move a job from
    /// this status to `to`. A job millrace runs (`run_here`) belongs to the queue and its runner:
    /// clients may say it runs or end it, but not put it back in the queue (where a second runner
    /// would lease it while its process still runs) nor change how it ended.
    pub fn client_may_set(self, to: JobStatus, run_here: bool) -> bool {
        !run_here || (!self.is_finished() && !matches!(to, Self::Queued | Self::Starting))
    }
}

impl FromStr for JobStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| format!("unknown job status '{s}'"))
    }
}

/// What an API token may do: read only, or read and write (what its user may).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenScope {
    /// Reads only: for dashboards and notebooks that look.
    Read,
    /// Reads and writes whatever its user may.
    #[default]
    Write,
}

impl TokenScope {
    /// The word stored and shown: `read` or `write`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }
}

impl FromStr for TokenScope {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "read" => Ok(Self::Read),
            "write" => Ok(Self::Write),
            other => Err(format!("unknown token scope '{other}': use read or write")),
        }
    }
}

/// Sort direction of a column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortDir {
    /// Smallest first.
    Asc,
    /// Largest (or newest) first: the default everywhere.
    #[default]
    Desc,
}

/// What the users column is ordered by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserSort {
    /// By name: the default.
    #[default]
    Name,
    /// By sign-up time.
    Created,
}

/// What a user's projects column is ordered by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProjectSort {
    /// By name.
    Name,
    /// By creation time.
    Created,
    /// By last activity (a job created or changed): the default.
    #[default]
    Updated,
}

/// What a project's jobs column is ordered by.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobSort {
    /// By creation time: the default.
    #[default]
    Created,
    /// By name.
    Name,
    /// By status, work in progress first.
    Status,
    /// By run time; unfinished jobs count as 0.
    Duration,
    /// By the last value of this metric; lists only jobs that logged it.
    Metric(String),
}

/// A column's filter: the same shape for every column, unused parts ignored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    /// Case-insensitive substring of the name.
    pub text: Option<String>,
    /// Jobs only: keep jobs in one of these states (empty: all).
    pub statuses: Vec<JobStatus>,
    /// Jobs only: keep jobs with this tag key.
    pub tag: Option<String>,
    /// Show archived items instead of live ones.
    pub archived: bool,
}

/// One page of a column and the cursor for the page after it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The rows, in the column's order.
    pub items: Vec<T>,
    /// Opaque; pass it back to get the next page. `None` on the last page.
    pub next: Option<String>,
}

/// A row of the users column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    /// Login and URL name.
    pub name: String,
    /// Name shown to people.
    pub display_name: String,
    /// Milliseconds since the Unix epoch.
    pub created_ms: i64,
}

/// A row of the projects column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProjectSummary {
    /// The owner's user name.
    pub owner: String,
    /// The project's name, unique for its owner.
    pub name: String,
    /// The name as given where it is not a valid project name (see `Project::title`).
    #[serde(default)]
    pub title: String,
    /// Free text shown under the name.
    pub description: String,
    /// Visible only to the owner and members.
    pub private: bool,
    /// How many jobs it holds.
    pub job_count: i64,
    /// Milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// Last activity, milliseconds since the Unix epoch.
    pub updated_ms: i64,
    /// What its jobs cost in all, USD, with the idle time of pool machines they ran on.
    pub cost_usd: f64,
    /// The part of `cost_usd` that is pool machines' idle time.
    #[serde(default)]
    pub idle_cost_usd: f64,
}

/// What creating a project asks for, from the web app, the CLI or `POST /api/v1/projects`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewProject {
    /// Its name, unique among the caller's projects.
    pub name: String,
    /// Free text shown under the name.
    #[serde(default)]
    pub description: String,
    /// Visible only to the owner, its members and admins.
    #[serde(default)]
    pub private: bool,
}

/// A row of the jobs column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobSummary {
    /// Number within its project: `#1234`.
    pub number: i64,
    /// Global id, 32 hex characters (the MLflow run id).
    pub uid: String,
    /// Human name of the run.
    pub name: String,
    /// Lifecycle state.
    pub status: JobStatus,
    /// Milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// Run time in milliseconds; 0 until it finishes.
    pub duration_ms: i64,
    /// GPUs it asked for.
    pub gpus: i64,
    /// Tag keys (and values where set), in key order.
    pub tags: Vec<(String, String)>,
    /// With a metric sort: the job's last value of that metric.
    pub sort_metric: Option<f64>,
    /// What it cost, once priced.
    pub cost_usd: Option<f64>,
    /// The runner it runs (or ran) on, for jobs millrace runs.
    pub runner: Option<String>,
}

/// What the API and the web app show in place of a spec's `env` value: the values are
/// write-only, stored for runners and shown to no one.
pub const HIDDEN_VALUE: &str = "•••";

/// Everything the job pane shows, fetched in one call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobDetail {
    /// The project's owner.
    pub owner: String,
    /// The project's name.
    pub project: String,
    /// Number within its project.
    pub number: i64,
    /// Global id.
    pub uid: String,
    /// Human name of the run.
    pub name: String,
    /// Lifecycle state.
    pub status: JobStatus,
    /// The command line it runs.
    pub command: String,
    /// Parameters as key and value text, in key order.
    pub params: Vec<(String, String)>,
    /// Tags, in key order.
    pub tags: Vec<(String, String)>,
    /// Milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// When it started running.
    pub started_ms: Option<i64>,
    /// When it ended.
    pub finished_ms: Option<i64>,
    /// Run time in milliseconds; 0 until it finishes.
    pub duration_ms: i64,
    /// GPUs it asked for.
    pub gpus: i64,
    /// The GPUs it was given, as its runner described them (`--gpus auto`).
    pub gpu_models: Vec<Gpu>,
    /// The least memory it asked of each GPU, MiB.
    pub gpu_memory_mib: Option<i64>,
    /// The GPU model it asked for, as words.
    pub gpu_model: Option<String>,
    /// What it cost, when known.
    pub cost_usd: Option<f64>,
    /// Archived (an MLflow "deleted" run).
    pub archived: bool,
    /// Its metric keys with their summaries, in key order.
    pub metrics: Vec<MetricSummary>,
    /// The runner it runs or ran on, for jobs millrace runs.
    pub runner: Option<String>,
    /// The process's exit code, once it exited.
    pub exit_code: Option<i64>,
    /// Why it failed, was cancelled or lost.
    pub error: Option<String>,
    /// Whether millrace runs it (from a spec), so it can be stopped and rerun.
    pub runs_here: bool,
    /// The names of the environment variables its spec sets; their values are write-only
    /// (runners get them, the app shows [`HIDDEN_VALUE`]).
    pub env: Vec<String>,
}

/// A metric key of a job and what lists show of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricSummary {
    /// Metric name.
    pub key: String,
    /// Points logged.
    pub count: i64,
    /// Value at the latest step; `None` if NaN or nothing logged.
    pub last: Option<f64>,
    /// Step of `last`.
    pub last_step: Option<i64>,
    /// Smallest value, NaN ignored.
    pub min: Option<f64>,
    /// Largest value, NaN ignored.
    pub max: Option<f64>,
}

/// The signed-in user, as the app shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    /// Login and URL name.
    pub name: String,
    /// Name shown to people.
    pub display_name: String,
}

/// One of the signed-in user's API tokens, as their tokens page lists it (never the secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRow {
    /// Its id, to revoke it.
    pub id: i64,
    /// What its owner called it.
    pub name: String,
    /// What it may do.
    pub scope: TokenScope,
    /// Milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// When it stops working, if ever.
    pub expires_ms: Option<i64>,
    /// When it was revoked, if it was.
    pub revoked_ms: Option<i64>,
}

/// A token just created: its secret is shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewToken {
    /// Its id.
    pub id: i64,
    /// The secret to copy now.
    pub secret: String,
}

/// One of the signed-in user's browser sessions, as their settings page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRow {
    /// What names it to end it: the hash of its secret (the secret stays in its browser).
    pub id: String,
    /// The browser it was opened from, as it names itself.
    pub user_agent: String,
    /// The address it was opened from.
    pub address: String,
    /// Milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// When it was last used, to the minute.
    pub last_seen_ms: i64,
    /// Whether it is the session of the browser asking.
    pub current: bool,
}

/// The settings page's data: the signed-in user's tokens and sessions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialsPage {
    /// API tokens, newest first, revoked ones included.
    pub tokens: Vec<TokenRow>,
    /// Live browser sessions, most recently used first.
    pub sessions: Vec<SessionRow>,
    /// The secret of the token this browser just created without JavaScript, shown this once.
    pub new_secret: Option<String>,
}

/// Who reads and writes a project beside its owner.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Members {
    /// The owner's user name.
    pub owner: String,
    /// The members' user names, sorted.
    pub members: Vec<String>,
    /// Whether the caller may change the list (the owner, or an admin).
    pub can_manage: bool,
}

/// A piece of a job's output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogChunk {
    /// Position in the job's log, from 1.
    pub seq: i64,
    /// True for standard error.
    pub stderr: bool,
    /// The text, each line ending in a newline.
    pub text: String,
}

/// A place in a job's output: the chunks after chunk `after`, from byte `offset` of the first
/// of them. The offset is not 0 only where a read stopped inside a chunk, and is always the
/// start of a line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogCursor {
    /// The last chunk read whole (0: none).
    pub after: i64,
    /// Bytes of the next chunk already read.
    pub offset: i64,
}

/// Output of a job after a position, and whether more can come.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogPage {
    /// The chunks, oldest first; the first and last may be parts of chunks (whole lines).
    pub chunks: Vec<LogChunk>,
    /// The position to ask from next time.
    pub next: LogCursor,
    /// Whether output before the first chunk was left out (the tail was asked for).
    pub cut: bool,
    /// Whether output after `next` is there already: the page stopped at its size bound.
    pub more: bool,
    /// The job's status now.
    pub status: JobStatus,
}

/// The metric keys a runner samples of a job's machine (`system/gpu_0_utilization_percentage`),
/// as MLflow's own system metrics are named, shown apart from the job's own metrics.
pub const SYSTEM_METRIC_PREFIX: &str = "system/";

/// One GPU of a runner as `nvidia-smi` describes it: what the runner reports when it registers
/// and the runners page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gpu {
    /// The id jobs get in `CUDA_VISIBLE_DEVICES` (nvidia-smi's index).
    pub id: String,
    /// The model, e.g. `NVIDIA A100-SXM4-80GB`.
    pub name: String,
    /// Its memory in MiB.
    pub memory_mib: u64,
    /// Its UUID, `GPU-...`: the same card whatever order the driver numbers them in.
    #[serde(default)]
    pub uuid: String,
}

impl Gpu {
    /// The longest model name or UUID a runner may report, in bytes.
    pub const MAX_TEXT: usize = 200;

    /// The most words a job's `gpu_model` may have.
    pub const MAX_MODEL_WORDS: usize = 4;

    /// The most words (as [`model_words`] counts them) a runner's GPU name may have: real names
    /// have four or five, and each word adds [`Self::MAX_MODEL_WORDS`] phrases to every lease's
    /// query, so a runner cannot make leases bind thousands of parameters.
    pub const MAX_NAME_WORDS: usize = 12;

    /// Every `gpu_model` a GPU called `name` answers to: each run of up to
    /// [`Self::MAX_MODEL_WORDS`] consecutive words of it, written as [`model_words`] writes them.
    pub fn model_phrases(name: &str) -> Vec<String> {
        let words: Vec<String> = model_words(name)
            .split(' ')
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        let mut phrases = Vec::new();
        for start in 0..words.len() {
            for end in start + 1..=words.len().min(start + Self::MAX_MODEL_WORDS) {
                phrases.push(words[start..end].join(" "));
            }
        }
        phrases
    }

    /// Whether a job needing GPUs of at least `memory_mib` and of `model` (as [`model_words`]
    /// writes it) may be given this one.
    pub fn fits(&self, memory_mib: Option<i64>, model: Option<&str>) -> bool {
        let memory = i64::try_from(self.memory_mib).unwrap_or(i64::MAX);
        memory_mib.is_none_or(|need| memory >= need)
            && model.is_none_or(|model| Self::model_phrases(&self.name).iter().any(|p| p == model))
    }
}

/// A GPU model as jobs ask for it and names are matched: the words (runs of letters and
/// digits) in lower case, one space apart, so `RTX 4090` matches `NVIDIA GeForce RTX 4090` and
/// `a100` matches `NVIDIA A100-SXM4-80GB`, but `A10` does not match `A100`.
pub fn model_words(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A runner as the runners page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunnerInfo {
    /// Unique name.
    pub name: String,
    /// The machine it runs on.
    pub hostname: String,
    /// Its GPU ids.
    pub gpus: Vec<String>,
    /// What those GPUs are, when the runner found them itself (`--gpus auto`).
    pub gpu_models: Vec<Gpu>,
    /// Its labels.
    pub labels: Vec<String>,
    /// Jobs it runs at once at most.
    pub max_jobs: i64,
    /// Jobs it holds now.
    pub active_jobs: i64,
    /// GPUs those jobs hold.
    pub busy_gpus: i64,
    /// Seconds since it was last heard from, as the server counted when it answered (so the
    /// server's and the browser's render agree).
    pub seen_ago_s: i64,
}

impl RunnerInfo {
    /// A runner not heard from for this long is silent: shown so, and not counted as capacity.
    pub const SILENT_AFTER_S: i64 = 60;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_names_longer_than_64_chars_are_rejected() {
        assert!(Name::parse(&"a".repeat(64), Name::MAX_PROJECT).is_ok());
        assert_eq!(
            Name::parse(&"a".repeat(65), Name::MAX_PROJECT),
            Err(NameError::TooLong { max: 64 })
        );
    }

    #[test]
    fn free_text_becomes_a_project_name_that_parses() {
        let slug = |text: &str, n| Name::slug(text, n).as_str().to_owned();
        assert_eq!(slug("xray segmentation v2", None), "xray-segmentation-v2");
        assert_eq!(
            slug("/Users/ann@lab.org/Run #4 (final)", None),
            "Users-ann-lab.org-Run-4-final"
        );
        assert_eq!(slug("..été!", None), "t");
        assert_eq!(slug("éé", None), "experiment");
        assert_eq!(slug("a b", Some(2)), "a-b-2");
        let long = slug(&"word ".repeat(40), Some(12));
        assert!(
            long.len() <= Name::MAX_PROJECT && long.ends_with("-w-12"),
            "{long}"
        );
        for text in ["xray segmentation v2", "--", "é", &"x".repeat(300), "a-/-b"] {
            for n in [None, Some(99)] {
                let made = Name::slug(text, n);
                assert_eq!(
                    Name::parse(made.as_str(), Name::MAX_PROJECT),
                    Ok(made.clone())
                );
            }
        }
    }

    #[test]
    fn names_with_markup_slashes_or_leading_dots_are_rejected() {
        for bad in ["<b>", "a/b", ".hidden", "-x", "a b", "é"] {
            assert_eq!(Name::parse(bad, 39), Err(NameError::BadCharacter), "{bad}");
        }
        assert_eq!(Name::parse("", 39), Err(NameError::Empty));
        assert_eq!(
            Name::parse("resnet-50_v2.1", 39).unwrap().as_str(),
            "resnet-50_v2.1"
        );
    }

    #[test]
    fn a_gpu_fits_a_model_by_whole_words_and_memory_by_mib() {
        let gpu = |name: &str, memory_mib| Gpu {
            id: "0".into(),
            name: name.into(),
            memory_mib,
            uuid: String::new(),
        };
        let a100 = gpu("NVIDIA A100-SXM4-80GB", 81_920);
        assert_eq!(model_words(" RTX_4090 (GeForce) "), "rtx 4090 geforce");
        for model in ["a100", "nvidia a100", "a100 sxm4 80gb"] {
            assert!(a100.fits(None, Some(model)), "{model}");
        }
        for model in ["a10", "a100 80gb", "h100", "nvidia a100 sxm4 80gb x"] {
            assert!(!a100.fits(None, Some(model)), "{model}");
        }
        assert!(a100.fits(Some(81_920), None));
        assert!(!a100.fits(Some(81_921), Some("a100")));
        assert!(gpu("NVIDIA GeForce RTX 4090", 24_564).fits(Some(22_889), Some("rtx 4090")));
        assert!(!gpu("", 0).fits(Some(1), None));
        assert!(gpu("", 0).fits(None, None));
    }

    #[test]
    fn status_codes_round_trip_in_sort_order() {
        for (i, status) in JobStatus::ALL.into_iter().enumerate() {
            assert_eq!(status.code(), i as i64);
            assert_eq!(JobStatus::from_code(status.code()), Some(status));
            assert_eq!(status.as_str().parse::<JobStatus>(), Ok(status));
        }
        assert_eq!(JobStatus::from_code(7), None);
        assert!("done".parse::<JobStatus>().is_err());
    }

    #[test]
    fn clients_never_send_a_job_millrace_runs_back_to_the_queue() {
        use JobStatus::*;
        assert!(Running.client_may_set(Succeeded, true));
        assert!(Queued.client_may_set(Running, true));
        assert!(
            !Running.client_may_set(Queued, true),
            "no requeue while it runs"
        );
        assert!(!Running.client_may_set(Starting, true));
        assert!(!Succeeded.client_may_set(Running, true), "no revival");
        assert!(
            !Failed.client_may_set(Succeeded, true),
            "the runner's word is final"
        );
        assert!(
            Succeeded.client_may_set(Running, false),
            "a tracked run may resume"
        );
    }

    #[test]
    fn token_scopes_are_read_or_write() {
        assert_eq!("read".parse::<TokenScope>(), Ok(TokenScope::Read));
        assert_eq!(TokenScope::Write.as_str().parse(), Ok(TokenScope::Write));
        assert!("admin".parse::<TokenScope>().is_err());
    }
}

/// A row of the project table view: the pinned job columns and the chosen cells as text.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TableRow {
    /// Number within its project.
    pub number: i64,
    /// Human name of the run.
    pub name: String,
    /// Lifecycle state.
    pub status: JobStatus,
    /// One text per chosen column, empty where the job has no value.
    pub cells: Vec<String>,
    /// When it was made: the Created column shows it in the viewer's time zone.
    pub created_ms: i64,
}

/// Rows of the project table view from `offset`, and how many jobs the filter keeps.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TablePage {
    /// Jobs matching the filter.
    pub total: u64,
    /// Index of the first row.
    pub offset: u32,
    /// The rows, in the table's order.
    pub rows: Vec<TableRow>,
}

/// Keys of a project's parameters and metrics that match a search, for the column chooser.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyMatches {
    /// Parameter keys, in key order (the first few).
    pub params: Vec<String>,
    /// How many parameter keys match.
    pub param_count: i64,
    /// Metric keys, in key order (the first few).
    pub metrics: Vec<String>,
    /// How many metric keys match.
    pub metric_count: i64,
}
