//! Hyperparameter sweeps, the pure part: search spaces, the suggestion algorithms (grid,
//! random, TPE) and the early-stopping rules. Nothing here touches the database or the network,
//! so every decision can be replayed from stored history.

mod grid;
mod parzen;
mod sample;
mod space;
mod stopping;
mod tpe;

pub use grid::grid_size;
pub use space::{Allowed, Assignment, Distribution, Param, Space};
pub use stopping::{Asha, EarlyStopping, MedianRule, StopReason};
pub use tpe::TpeSettings;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Whether the sweep's metric should go down or up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Lower is better (a loss).
    Minimize,
    /// Higher is better (an accuracy).
    Maximize,
}

impl Direction {
    /// The value turned into a loss: the algorithms always minimise.
    pub fn loss(self, value: f64) -> f64 {
        match self {
            Self::Minimize => value,
            Self::Maximize => -value,
        }
    }

    /// Whether `a` is strictly better than `b`.
    pub fn better(self, a: f64, b: f64) -> bool {
        self.loss(a) < self.loss(b)
    }
}

/// How trials are suggested: in YAML `grid`, `random`, `tpe` or `{tpe: {startup_trials: 20}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "AlgorithmSpec", into = "AlgorithmSpec")]
pub enum Algorithm {
    /// Every combination of the space's values, in order; continuous parameters need `q`.
    Grid,
    /// Each parameter drawn independently from its distribution.
    Random,
    /// Tree-structured Parzen estimators (Bergstra et al. 2011).
    Tpe(TpeSettings),
}

/// The YAML shapes of [`Algorithm`]: a bare name, or `tpe` with settings.
#[derive(Clone, Serialize, Deserialize, JsonSchema)]
#[serde(
    untagged,
    expecting = "`grid`, `random`, `tpe`, or `{tpe: {startup_trials, candidates, gamma}}`"
)]
enum AlgorithmSpec {
    /// An algorithm with its default settings.
    Name(AlgorithmName),
    /// TPE with settings.
    Tpe {
        /// TPE's settings; each has a default.
        tpe: TpeSettings,
    },
}

#[derive(Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum AlgorithmName {
    Grid,
    Random,
    Tpe,
}

impl From<AlgorithmSpec> for Algorithm {
    fn from(spec: AlgorithmSpec) -> Self {
        match spec {
            AlgorithmSpec::Name(AlgorithmName::Grid) => Self::Grid,
            AlgorithmSpec::Name(AlgorithmName::Random) => Self::Random,
            AlgorithmSpec::Name(AlgorithmName::Tpe) => Self::Tpe(TpeSettings::default()),
            AlgorithmSpec::Tpe { tpe } => Self::Tpe(tpe),
        }
    }
}

impl From<Algorithm> for AlgorithmSpec {
    fn from(algorithm: Algorithm) -> Self {
        match algorithm {
            Algorithm::Grid => Self::Name(AlgorithmName::Grid),
            Algorithm::Random => Self::Name(AlgorithmName::Random),
            Algorithm::Tpe(tpe) if tpe == TpeSettings::default() => Self::Name(AlgorithmName::Tpe),
            Algorithm::Tpe(tpe) => Self::Tpe { tpe },
        }
    }
}

// By hand because schemars does not follow `#[serde(from)]`: the schema is the YAML shape's.
impl JsonSchema for Algorithm {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Algorithm".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        AlgorithmSpec::json_schema(generator)
    }
}

impl Algorithm {
    /// What is wrong with the algorithm's settings; empty when they are usable.
    pub fn check(&self) -> Vec<Problem> {
        match self {
            Self::Tpe(settings) => settings.check(),
            Self::Grid | Self::Random => Vec::new(),
        }
    }
}

/// One finished, stopped or running trial, as the algorithms learn from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// The parameters the trial ran with.
    pub params: Assignment,
    /// How it went.
    pub outcome: Outcome,
}

/// How a trial went. Non-finite values count as [`Outcome::Failed`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Ran to the end with this final metric value.
    Completed(f64),
    /// Stopped early by a rule at `step`, its metric then at `value`.
    Stopped {
        /// The metric's last value.
        value: f64,
        /// The last step it reported.
        step: i64,
    },
    /// Crashed, or reported no usable metric.
    Failed,
    /// Still running.
    Pending,
}

/// One thing wrong with a space or a setting, and the field it concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The parameter (in a space) or setting (in early stopping) at fault; `None` for the whole.
    pub field: Option<String>,
    /// What is wrong, in words for the person who wrote the spec.
    pub message: String,
}

impl Problem {
    /// A problem with `field`.
    pub fn at(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Why no suggestion could be made.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SweepError {
    /// The space or the algorithm's settings failed their checks.
    #[error("{}", join(.0))]
    Invalid(Vec<Problem>),
    /// Grid search met a continuous parameter without a step.
    #[error("grid needs a finite set of values for `{0}`: give it `q`")]
    GridNeedsSteps(String),
    /// Grid search over more points than can be counted or listed.
    #[error("the grid is too large: {0}")]
    GridTooLarge(String),
}

fn join(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(Problem::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The parameters for trial `index` of a sweep, or `None` when a grid is used up.
///
/// The answer depends only on the arguments, so a restarted server that replays the stored
/// `history` makes the same suggestion. Grid ignores `seed` and `history` (trial `index` gets
/// grid point `index`); random ignores `history`; TPE ignores failed and pending trials (see
/// [`TpeSettings`]).
pub fn suggest(
    space: &Space,
    algorithm: &Algorithm,
    direction: Direction,
    history: &[Observation],
    seed: u64,
    index: u64,
) -> Result<Option<Assignment>, SweepError> {
    let mut problems = space.check();
    problems.extend(algorithm.check());
    if !problems.is_empty() {
        return Err(SweepError::Invalid(problems));
    }
    let mut rng = trial_rng(seed, index);
    match algorithm {
        Algorithm::Grid => grid::point(space, index),
        Algorithm::Random => Ok(Some(sample::random(space, &mut rng))),
        Algorithm::Tpe(settings) => Ok(Some(tpe::suggest(
            space, settings, direction, history, &mut rng,
        ))),
    }
}

/// One ChaCha stream per trial: trials draw independent numbers whatever order they are
/// suggested in.
fn trial_rng(seed: u64, index: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index);
    rng
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithms_parse_by_name_or_with_tpe_settings() {
        let parse = |yaml| serde_yaml_ng::from_str::<Algorithm>(yaml);
        assert_eq!(parse("grid").unwrap(), Algorithm::Grid);
        assert_eq!(parse("random").unwrap(), Algorithm::Random);
        assert_eq!(
            parse("tpe").unwrap(),
            Algorithm::Tpe(TpeSettings::default())
        );
        let custom = parse("tpe: {startup_trials: 20, gamma: 0.25}").unwrap();
        let want = TpeSettings {
            startup_trials: 20,
            gamma: 0.25,
            ..TpeSettings::default()
        };
        assert_eq!(custom, Algorithm::Tpe(want));
        let error = parse("bayes").unwrap_err().to_string();
        assert!(error.contains("`grid`, `random`, `tpe`"), "{error}");
        assert!(parse("tpe: {startup: 3}").is_err());
    }

    #[test]
    fn algorithms_and_directions_serialise_as_they_are_written() {
        assert_eq!(
            serde_json::to_value(Algorithm::Tpe(TpeSettings::default())).unwrap(),
            "tpe"
        );
        let tuned = Algorithm::Tpe(TpeSettings {
            candidates: 48,
            ..TpeSettings::default()
        });
        let json = serde_json::to_value(&tuned).unwrap();
        assert_eq!(json["tpe"]["candidates"], 48);
        assert_eq!(serde_json::from_value::<Algorithm>(json).unwrap(), tuned);
        assert_eq!(
            serde_json::to_value(Direction::Maximize).unwrap(),
            "maximize"
        );
    }

    #[test]
    fn an_invalid_space_is_refused_with_every_problem() {
        let space: Space =
            serde_yaml_ng::from_str("a: {uniform: [1, 0]}\nb: {choice: []}").unwrap();
        let error =
            suggest(&space, &Algorithm::Random, Direction::Minimize, &[], 0, 0).unwrap_err();
        assert_eq!(
            error.to_string(),
            "a: uniform needs low < high, got [1, 0]; b: choice needs at least one value"
        );
    }

    #[test]
    fn the_json_schema_of_an_algorithm_offers_names_and_tpe_settings() {
        let schema = serde_json::to_string(&schemars::schema_for!(Algorithm)).unwrap();
        for key in [
            "\"grid\"",
            "\"random\"",
            "startup_trials",
            "candidates",
            "gamma",
        ] {
            assert!(schema.contains(key), "{key} missing from {schema}");
        }
    }
}
