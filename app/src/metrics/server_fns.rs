//! The metric panels of a job, downsampled on the server to what each panel can show.

use crate::chart::downsample::Downsampled;
use crate::chart::settings::ChartSettings;
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

/// Most panels one call returns.
pub const MAX_PANELS: usize = 24;

/// Most live panels one call reports changes of: more than a screen holds, however large.
pub const MAX_FOLLOWED: usize = 96;

/// One metric key's chart data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricPanel {
    /// The metric key.
    pub key: String,
    /// The series, downsampled to the panel's width.
    pub raw: Downsampled,
    /// The smoothed series, downsampled alike; empty without smoothing.
    pub smoothed: Vec<(f64, f64)>,
    /// Points the series had when read, non-finite ones included: live updates continue from
    /// here.
    pub count: i64,
    /// The latest step read.
    pub last_step: Option<i64>,
}

impl MetricPanel {
    /// Appends points logged after the ones drawn (finite, in x order), smoothing them as the
    /// continuation of the smoothed line, so a live panel grows without reading it again.
    pub fn extend(&mut self, update: &Appended, smooth: f64) {
        let values: Vec<f64> = update.points.iter().map(|p| p.1).collect();
        if smooth > 0.0 {
            let before = self.smoothed.last().map(|p| (p.1, self.raw.total));
            let smoothed = crate::chart::smooth::ema_after(before, &values, smooth);
            self.smoothed
                .extend(update.points.iter().zip(smoothed).map(|(p, v)| (p.0, v)));
        }
        // The band goes on where there is one, so it does not stop short of the line.
        if !self.raw.envelope.is_empty() {
            self.raw
                .envelope
                .extend(update.points.iter().map(|&(x, y)| (x, y, y)));
        }
        self.raw.line.extend_from_slice(&update.points);
        self.raw.total += update.points.len();
        self.count = update.count;
        self.last_step = update.last_step;
    }
}

/// A metric key of a job and its number of points.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyCount {
    /// The metric key.
    pub key: String,
    /// Points logged.
    pub points: i64,
}

/// The keys of a job's panels and the data of the first of them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PanelPage {
    /// Keys that match the settings' filter, in key order: a panel each.
    pub keys: Vec<KeyCount>,
    /// The first [`MAX_PANELS`] of those panels.
    pub panels: Vec<MetricPanel>,
    /// Keys the job has.
    pub total: usize,
    /// Why the filter is matched as plain text: it is not a valid regular expression.
    pub filter_error: Option<String>,
}

/// What a live panel has drawn of its series, so the server sends only what came after.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Drawn {
    /// The metric key.
    pub key: String,
    /// [`MetricPanel::count`].
    pub count: i64,
    /// [`MetricPanel::last_step`].
    pub last_step: Option<i64>,
    /// Points in its line.
    pub line: usize,
}

/// Points logged after those a panel drew.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Appended {
    /// The metric key.
    pub key: String,
    /// The panel's [`MetricPanel::count`] these points follow.
    pub after: i64,
    /// The new finite points as (x, y), in x order.
    pub points: Vec<(f64, f64)>,
    /// Points the series has now.
    pub count: i64,
    /// Its latest step now.
    pub last_step: Option<i64>,
}

/// How a live panel changes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PanelChange {
    /// New points go on the end of the line.
    Append(Appended),
    /// The panel is drawn again: its line outgrew the panel, points came in out of step order,
    /// or the view is zoomed.
    Redraw(MetricPanel),
}

/// What changed in a job's panels since a page drew them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PanelChanges {
    /// The panels' keys again when the job has gained keys: (keys matching, keys in all).
    pub keys: Option<(Vec<KeyCount>, usize)>,
    /// Changes of the panels asked about, only of those that changed.
    pub panels: Vec<PanelChange>,
}

/// The job named `job` (number or global id) of `owner/project`, as the signed-in user may see it.
#[cfg(feature = "ssr")]
async fn visible_job(
    owner: &str,
    project: &str,
    job: &str,
) -> Result<(crate::state::AppState, crate::db::jobs::Job), AppError> {
    use crate::job::service as jobs;
    let state = expect_context::<crate::state::AppState>();
    let project = jobs::visible_project(&state, owner, project).await?;
    let job = crate::db::jobs::find_in_project(&state.db, project.id, job)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((state, job))
}

/// The panels of job `job` (number or global id) of `owner/project` for `chart`: the keys
/// matching `chart.keys` and the data of the first [`MAX_PANELS`] of them.
#[server(input = Json, endpoint = "get_metric_panels")]
pub async fn get_metric_panels(
    owner: String,
    project: String,
    job: String,
    chart: ChartSettings,
) -> Result<PanelPage, AppError> {
    let chart = chart.clamped();
    crate::server_fns::with_status(
        async {
            let (state, job) = visible_job(&owner, &project, &job).await?;
            Ok(super::service::panels(&state.db, job.id, &chart).await?)
        }
        .await,
    )
}

/// The data of the panels `keys` (at most [`MAX_PANELS`]; keys the job lacks are left out):
/// the panels scrolled into view.
#[server(input = Json, endpoint = "get_panels")]
pub async fn get_panels(
    owner: String,
    project: String,
    job: String,
    chart: ChartSettings,
    keys: Vec<String>,
) -> Result<Vec<MetricPanel>, AppError> {
    let chart = chart.clamped();
    crate::server_fns::with_status(
        async {
            let (state, job) = visible_job(&owner, &project, &job).await?;
            Ok(super::service::panels_of(&state.db, job.id, &chart, &keys).await?)
        }
        .await,
    )
}

/// What changed in the panels `drawn` (at most [`MAX_FOLLOWED`]) since they were read, and the
/// keys again when there are more than `known_keys`: one call per burst of live points.
#[server(input = Json, endpoint = "get_panel_changes")]
pub async fn get_panel_changes(
    owner: String,
    project: String,
    job: String,
    chart: ChartSettings,
    known_keys: usize,
    drawn: Vec<Drawn>,
) -> Result<PanelChanges, AppError> {
    let chart = chart.clamped();
    crate::server_fns::with_status(
        async {
            let (state, job) = visible_job(&owner, &project, &job).await?;
            Ok(super::service::changes(&state.db, job.id, &chart, known_keys, &drawn).await?)
        }
        .await,
    )
}

/// Jobs the project's graph view overlays when none are chosen: the jobs column's first few.
pub const TOP_JOBS: u32 = 5;

/// A job overlaid in the project's graph view, its colour by its index.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComparedJob {
    /// Number within its project.
    pub number: i64,
    /// Human name of the run.
    pub name: String,
}

/// One metric key across the compared jobs: a line per job that logged it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComparePanel {
    /// The metric key.
    pub key: String,
    /// (index into [`ComparePage::jobs`], that job's series).
    pub lines: Vec<(usize, MetricPanel)>,
}

/// A parameter of the compared jobs: one value per job (empty where unset).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamRow {
    /// The parameter's key.
    pub key: String,
    /// Values in the order of [`ComparePage::jobs`].
    pub values: Vec<String>,
    /// Whether the values are not all the same.
    pub differs: bool,
}

/// The project's graph view: the jobs overlaid, a panel per key, and their parameters.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ComparePage {
    /// The jobs, in the order asked for.
    pub jobs: Vec<ComparedJob>,
    /// Numbers asked for that are not jobs of the project.
    pub missing: Vec<i64>,
    /// Panels in key order.
    pub panels: Vec<ComparePanel>,
    /// Keys (of any of the jobs) that match the settings' filter.
    pub matching: usize,
    /// Distinct keys of the jobs.
    pub total: usize,
    /// Why the filter is matched as plain text: it is not a valid regular expression.
    pub filter_error: Option<String>,
    /// Every parameter of any of the jobs, in key order.
    pub params: Vec<ParamRow>,
}

/// The graph view of `owner/project`: the jobs numbered `jobs` (at most 20), or with none the
/// first [`TOP_JOBS`] of the jobs column in its order `top`, a panel per metric key matching
/// `chart.keys` (at most [`MAX_PANELS`]) with a line per job.
#[server(input = Json, endpoint = "get_compare")]
pub async fn get_compare(
    owner: String,
    project: String,
    jobs: Vec<i64>,
    top: crate::view_query::ColumnQuery<crate::model::JobSort>,
    chart: ChartSettings,
) -> Result<ComparePage, AppError> {
    use crate::state::AppState;
    use crate::{job::service as job_fns, server_fns::with_status};

    let (top, chart) = (top.clamped(), chart.clamped());
    with_status(
        async {
            let state = expect_context::<AppState>();
            let project = job_fns::visible_project(&state, &owner, &project).await?;
            let numbers = if jobs.is_empty() {
                let page = crate::db::jobs::page(
                    &state.db,
                    project.id,
                    &top.sort,
                    top.dir,
                    &top.filter,
                    None,
                    TOP_JOBS,
                )
                .await?;
                page.items.iter().map(|j| j.number).collect()
            } else {
                jobs.into_iter()
                    .take(crate::project_query::MAX_COMPARED)
                    .collect::<Vec<_>>()
            };
            Ok(super::service::compare(&state.db, project.id, &numbers, &chart).await?)
        }
        .await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::downsample::downsample;
    use crate::chart::smooth::ema;

    /// A panel of `points` drawn with smoothing `weight`, as the server reads it.
    fn panel(points: &[(f64, f64)], weight: f64) -> MetricPanel {
        let values: Vec<f64> = points.iter().map(|p| p.1).collect();
        MetricPanel {
            key: "loss".to_owned(),
            raw: downsample(points, 480),
            smoothed: points
                .iter()
                .zip(ema(&values, weight))
                .map(|(p, v)| (p.0, v))
                .collect(),
            count: points.len() as i64,
            last_step: points.last().map(|p| p.0 as i64),
        }
    }

    #[test]
    fn extending_a_panel_draws_what_reading_it_whole_would() {
        let points: Vec<(f64, f64)> = (0..60).map(|i| (i as f64, ((i * 5) % 7) as f64)).collect();
        let mut live = panel(&points[..25], 0.7);
        live.extend(
            &Appended {
                key: "loss".to_owned(),
                after: 25,
                points: points[25..].to_vec(),
                count: 60,
                last_step: Some(59),
            },
            0.7,
        );
        let whole = panel(&points, 0.7);
        assert_eq!(live.raw, whole.raw);
        assert_eq!((live.count, live.last_step), (60, Some(59)));
        for (got, want) in live.smoothed.iter().zip(&whole.smoothed) {
            assert!(
                (got.1 - want.1).abs() < 1e-9 && got.0 == want.0,
                "{got:?} {want:?}"
            );
        }
        assert_eq!(live.smoothed.len(), 60);
    }
}
