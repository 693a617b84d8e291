//! The pipelines view's data: a project's runs, and one run's graph laid out on the server, each
//! in one call. The browser gets positions and shapes to draw, not the spec.

use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

/// One run as the runs list shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Its id, used in URLs.
    pub id: i64,
    /// The pipeline's name.
    pub name: String,
    /// `running`, `succeeded`, `failed` or `cancelled`.
    pub state: String,
    /// Why it failed or was cancelled.
    pub reason: Option<String>,
    /// Step instances in all.
    pub steps: i64,
    /// Those that ended.
    pub ended: i64,
    /// What its jobs cost, US dollars.
    pub cost_usd: Option<f64>,
    /// Milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// When it ended.
    pub finished_ms: Option<i64>,
    /// The run it reran, and from which step.
    pub rerun_of: Option<(i64, String)>,
}

/// One instance of a step (a `for_each` step has several), as its node shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceView {
    /// Its index.
    pub instance: i64,
    /// `waiting`, `running`, `succeeded`, `failed`, `skipped`, `cached` or `cancelled`.
    pub state: String,
    /// Its job's number in the project.
    pub job: Option<i64>,
}

/// A step of the graph, placed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepNode {
    /// The step's name.
    pub name: String,
    /// Its state over its instances: the worst of them, `cached` when all were.
    pub state: String,
    /// `job` or `sweep`.
    pub kind: String,
    /// Its instances.
    pub instances: Vec<InstanceView>,
    /// The longest run time of its jobs so far, milliseconds.
    pub duration_ms: Option<i64>,
    /// Its key metric (the first the step captures; a sweep's objective) and its last value
    /// (a sweep's best).
    pub metric: Option<(String, f64)>,
    /// Why it failed or was skipped.
    pub reason: Option<String>,
    /// The job a click opens: its first instance's.
    pub job: Option<i64>,
    /// Its sweep, for a sweep step.
    pub sweep: Option<i64>,
    /// Left edge, in the graph's units.
    pub x: f64,
    /// Top edge.
    pub y: f64,
}

/// Everything one run's view shows: its facts and its graph, laid out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunPage {
    /// The list's facts about it.
    pub summary: RunSummary,
    /// Its steps, placed in layers from left to right by how deep they are.
    pub nodes: Vec<StepNode>,
    /// The edges from each needed step to the step that needs it, as SVG path data.
    pub edges: Vec<String>,
    /// The graph's width.
    pub width: f64,
    /// The graph's height.
    pub height: f64,
}

/// A node's width and height in the graph's units.
pub const NODE_WIDTH: f64 = 168.0;
/// See [`NODE_WIDTH`].
pub const NODE_HEIGHT: f64 = 60.0;

/// The pipeline runs of `owner/project`, newest first (at most 200).
#[server(input = Json, endpoint = "get_pipeline_runs")]
pub async fn get_pipeline_runs(
    owner: String,
    project: String,
) -> Result<Vec<RunSummary>, AppError> {
    use crate::state::AppState;
    use crate::{db, job::service::visible_project, server_fns::with_status};

    with_status(
        async {
            let state = expect_context::<AppState>();
            let project = visible_project(&state, &owner, &project).await?;
            let runs = db::pipelines::list_for_project(&state.db, project.id, 200).await?;
            Ok(runs.iter().map(super::service::summary).collect())
        }
        .await,
    )
}

/// Run `id` of `owner/project` with its graph; `None` if the project has no such run, so a
/// stale or mistyped link is a message in the view rather than a failed request.
#[server(input = Json, endpoint = "get_pipeline_run")]
pub async fn get_pipeline_run(
    owner: String,
    project: String,
    id: i64,
) -> Result<Option<RunPage>, AppError> {
    use crate::state::AppState;
    use crate::{job::service::visible_project, server_fns::with_status};

    with_status(
        async {
            let state = expect_context::<AppState>();
            let project = visible_project(&state, &owner, &project).await?;
            Ok(super::service::page(&state.db, project.id, id).await?)
        }
        .await,
    )
}
