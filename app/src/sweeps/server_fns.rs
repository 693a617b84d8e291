//! The sweeps view's data: a project's sweeps, and everything one sweep's view shows, each in
//! one call. The stored spec is read here, on the server; the browser gets small typed structs.

use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

/// Whether the objective should go down or up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Goal {
    /// Lower is better (a loss).
    Minimize,
    /// Higher is better (an accuracy).
    Maximize,
}

impl Goal {
    /// Whether `a` is a better result than `b`.
    pub fn better(self, a: f64, b: f64) -> bool {
        match self {
            Self::Minimize => a < b,
            Self::Maximize => a > b,
        }
    }

    /// The word a spec uses.
    pub fn word(self) -> &'static str {
        match self {
            Self::Minimize => "minimize",
            Self::Maximize => "maximize",
        }
    }
}

/// One sweep as the sweeps list shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepSummary {
    /// Its id, used in URLs.
    pub id: i64,
    /// The spec's name.
    pub name: String,
    /// `running`, `finished`, `failed` or `stopped`.
    pub state: String,
    /// Why it failed or stopped.
    pub reason: Option<String>,
    /// Trials that ended.
    pub ended: i64,
    /// Trials it may run in all.
    pub budget: i64,
    /// The best result of a completed trial.
    pub best: Option<f64>,
    /// The objective's metric key.
    pub metric: String,
    /// The objective's goal.
    pub goal: Goal,
    /// Milliseconds since the Unix epoch.
    pub created_ms: i64,
}

/// How a parameter's values are laid out on an axis.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ParamKind {
    /// A number between the bounds, linearly.
    Linear(f64, f64),
    /// A positive number between the bounds, on a log scale.
    Log(f64, f64),
    /// One of these values, spread evenly.
    Choice(Vec<String>),
}

/// One parameter of a sweep's search space.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepParam {
    /// Its name.
    pub name: String,
    /// Its distribution's shape.
    pub kind: ParamKind,
}

/// A trial's value of one parameter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ParamValue {
    /// A number (of a range parameter).
    Number(f64),
    /// A choice, as text.
    Text(String),
}

/// One trial as the sweep view shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrialView {
    /// Its place in the sweep, from 0.
    pub index: i64,
    /// `queued`, `running`, `completed`, `stopped` or `failed`.
    pub state: String,
    /// Its value of each of the page's parameters, in their order; `None` when inactive.
    pub params: Vec<Option<ParamValue>>,
    /// The objective's result (completed) or last value (stopped).
    pub value: Option<f64>,
    /// The step of `value`.
    pub step: Option<i64>,
    /// Why it was stopped or failed.
    pub reason: Option<String>,
    /// Its job's number in the project.
    pub job: i64,
}

impl TrialView {
    /// Whether it ended (completed, stopped or failed).
    pub fn ended(&self) -> bool {
        !matches!(self.state.as_str(), "queued" | "running")
    }

    /// Its result, if it completed with a finite one: what "best" and importance compare.
    pub fn result(&self) -> Option<f64> {
        self.value
            .filter(|v| v.is_finite() && self.state == "completed")
    }
}

/// (x, y) points of a chart line.
pub type Points = Vec<(f64, f64)>;

/// Everything the sweep view shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepPage {
    /// The list's facts about it.
    pub summary: SweepSummary,
    /// `grid`, `random` or `tpe`.
    pub algorithm: String,
    /// Trials run at once.
    pub parallel: i64,
    /// Which of a trial's values counts: `last`, `min` or `max`.
    pub value_of: String,
    /// The search space, by name.
    pub params: Vec<SweepParam>,
    /// Every trial, in index order.
    pub trials: Vec<TrialView>,
    /// The "run it again, wider" form's starting text: the spec's bounds, choices and budget
    /// as the `PATH=VALUE` lines a clone takes.
    pub clone_text: String,
}

impl SweepPage {
    /// The completed trial with the best result (the earliest of equals).
    pub fn best(&self) -> Option<&TrialView> {
        let goal = self.summary.goal;
        self.trials
            .iter()
            .filter_map(|t| t.result().map(|v| (t, v)))
            .reduce(|a, b| if goal.better(b.1, a.1) { b } else { a })
            .map(|(t, _)| t)
    }

    /// (trial index, value) of each ended trial with a finite value, and the best result so
    /// far after each completed trial.
    pub fn objective_points(&self) -> (Points, Points) {
        let goal = self.summary.goal;
        let mut best: Option<f64> = None;
        let mut points = Vec::new();
        let mut so_far = Vec::new();
        for trial in &self.trials {
            if let Some(value) = trial.value.filter(|v| trial.ended() && v.is_finite()) {
                points.push((trial.index as f64, value));
            }
            if let Some(value) = trial.result() {
                if best.is_none_or(|b| goal.better(value, b)) {
                    best = Some(value);
                }
                so_far.push((trial.index as f64, best.unwrap_or(value)));
            }
        }
        (points, so_far)
    }
}

/// The sweeps of `owner/project`, newest first (at most 200).
#[server(input = Json, endpoint = "get_sweeps")]
pub async fn get_sweeps(owner: String, project: String) -> Result<Vec<SweepSummary>, AppError> {
    use crate::state::AppState;
    use crate::{db, job::service::visible_project, server_fns::with_status};

    with_status(
        async {
            let state = expect_context::<AppState>();
            let project = visible_project(&state, &owner, &project).await?;
            let sweeps = db::sweeps::list_for_project(&state.db, project.id, 200).await?;
            let outcomes = db::sweeps::outcomes_for_project(&state.db, project.id).await?;
            Ok(sweeps
                .iter()
                .map(|sweep| {
                    let outcome = outcomes.iter().find(|o| o.0 == sweep.id);
                    super::service::summary(
                        sweep,
                        outcome.map_or((0, None, None), |o| (o.1, o.2, o.3)),
                    )
                })
                .collect())
        }
        .await,
    )
}

/// Sweep `id` of `owner/project` with its trials; `None` if the project has no such sweep, so
/// a stale or mistyped link is a message in the view rather than a failed request.
#[server(input = Json, endpoint = "get_sweep")]
pub async fn get_sweep(
    owner: String,
    project: String,
    id: i64,
) -> Result<Option<SweepPage>, AppError> {
    use crate::state::AppState;
    use crate::{db, job::service::visible_project, server_fns::with_status};

    with_status(
        async {
            let state = expect_context::<AppState>();
            let project = visible_project(&state, &owner, &project).await?;
            let sweep = db::sweeps::find(&state.db, id)
                .await?
                .filter(|s| s.project_id == project.id);
            let Some(sweep) = sweep else {
                return Ok(None);
            };
            let trials = db::sweeps::trials(&state.db, sweep.id).await?;
            Ok(Some(super::service::page(&sweep, &trials)))
        }
        .await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trial(index: i64, state: &str, value: Option<f64>) -> TrialView {
        TrialView {
            index,
            state: state.into(),
            params: Vec::new(),
            value,
            step: None,
            reason: None,
            job: index + 1,
        }
    }

    #[test]
    fn the_best_trial_and_the_best_so_far_line_follow_the_goal_and_skip_nan() {
        let mut page = SweepPage {
            summary: SweepSummary {
                id: 1,
                name: "s".into(),
                state: "running".into(),
                reason: None,
                ended: 4,
                budget: 9,
                best: None,
                metric: "loss".into(),
                goal: Goal::Minimize,
                created_ms: 0,
            },
            algorithm: "tpe".into(),
            parallel: 1,
            value_of: "last".into(),
            params: Vec::new(),
            trials: vec![
                trial(0, "completed", Some(3.0)),
                trial(1, "stopped", Some(0.1)),
                trial(2, "completed", Some(f64::NAN)),
                trial(3, "completed", Some(2.0)),
                trial(4, "running", Some(0.5)),
            ],
            clone_text: String::new(),
        };
        assert_eq!(page.best().map(|t| t.index), Some(3));
        let (points, so_far) = page.objective_points();
        assert_eq!(points, vec![(0.0, 3.0), (1.0, 0.1), (3.0, 2.0)]);
        assert_eq!(so_far, vec![(0.0, 3.0), (3.0, 2.0)]);
        page.summary.goal = Goal::Maximize;
        assert_eq!(page.best().map(|t| t.index), Some(0));
        page.trials.clear();
        assert_eq!(page.best(), None);
    }
}
