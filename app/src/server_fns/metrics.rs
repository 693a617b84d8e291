//! The metric panels of a job, downsampled on the server to what each panel can show.

use crate::chart::downsample::Downsampled;
use crate::chart::settings::ChartSettings;
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

/// Most panels one call returns.
pub const MAX_PANELS: usize = 24;

/// One metric key's chart data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricPanel {
    /// The metric key.
    pub key: String,
    /// The series, downsampled to the panel's width.
    pub raw: Downsampled,
    /// The smoothed series, downsampled alike; empty without smoothing.
    pub smoothed: Vec<(f64, f64)>,
}

/// The panels asked for, and how many keys there are.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PanelPage {
    /// Panels in key order.
    pub panels: Vec<MetricPanel>,
    /// Keys that match the settings' filter.
    pub matching: usize,
    /// Keys the job has.
    pub total: usize,
}

/// The panels of job `job` (number or global id) of `owner/project` for `chart`: keys
/// containing `chart.keys`, from the `offset`th, at most [`MAX_PANELS`].
#[server(input = Json, endpoint = "get_metric_panels")]
pub async fn get_metric_panels(
    owner: String,
    project: String,
    job: String,
    chart: ChartSettings,
    offset: usize,
) -> Result<PanelPage, AppError> {
    use crate::server_fns::{jobs::ssr as jobs, with_status};
    use crate::state::AppState;

    with_status(
        async {
            let state = expect_context::<AppState>();
            let project = jobs::visible_project(&state, &owner, &project).await?;
            let job = crate::db::jobs::find_in_project(&state.db, project.id, &job)
                .await?
                .ok_or(AppError::NotFound)?;
            Ok(ssr::panels(&state.db, job.id, &chart, offset).await?)
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
    use crate::server_fns::{jobs::ssr as job_fns, with_status};
    use crate::state::AppState;

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
            Ok(ssr::compare(&state.db, project.id, &numbers, &chart).await?)
        }
        .await,
    )
}

/// Reading panels from the store (server only; public for the chart benchmark).
#[cfg(feature = "ssr")]
pub mod ssr {
    use super::{
        ComparePage, ComparePanel, ComparedJob, MetricPanel, PanelPage, ParamRow, MAX_PANELS,
    };
    use crate::chart::downsample::{downsample, Downsampled};
    use crate::chart::settings::{ChartSettings, XAxis};
    use crate::chart::smooth::ema;
    use crate::db::rollups::{self, Rollup};
    use crate::db::{metrics, Db};

    /// Series up to this many points are read whole and downsampled here (LTTB); longer ones
    /// are drawn from their rollups (sums per 1,024 steps kept as points arrive), because
    /// reading millions of rows takes seconds (10,000,000 points: 20 s through the driver, 3.3 s
    /// even aggregated by SQLite) where their rollups are ten thousand rows.
    const READ_ALL_UP_TO: i64 = 200_000;

    /// A panel of about `width` pixel groups of consecutive rollups: the mean line, and each
    /// group's min and max as the band. `None` when the rollups are too few to fill the width
    /// (a zoomed range), where reading the points themselves is cheap.
    pub fn from_rollups(
        key: &str,
        rollups: &[Rollup],
        width: usize,
        smooth: f64,
    ) -> Option<MetricPanel> {
        if rollups.len() < width {
            return None;
        }
        let per_group = rollups.len().div_ceil(width);
        let groups: Vec<(f64, f64, f64, f64, i64)> = rollups
            .chunks(per_group)
            .map(|group| {
                let count: i64 = group.iter().map(|r| r.count).sum();
                let steps: f64 = group.iter().map(|r| r.step_sum).sum();
                let values: f64 = group.iter().map(|r| r.value_sum).sum();
                let min = group.iter().map(|r| r.min).fold(f64::INFINITY, f64::min);
                let max = group
                    .iter()
                    .map(|r| r.max)
                    .fold(f64::NEG_INFINITY, f64::max);
                let n = count.max(1) as f64;
                (steps / n, values / n, min, max, count)
            })
            .collect();
        let line: Vec<(f64, f64)> = groups.iter().map(|g| (g.0, g.1)).collect();
        let smoothed = if smooth > 0.0 {
            let means: Vec<f64> = line.iter().map(|p| p.1).collect();
            line.iter()
                .zip(ema(&means, smooth))
                .map(|(p, v)| (p.0, v))
                .collect()
        } else {
            Vec::new()
        };
        Some(MetricPanel {
            key: key.to_owned(),
            raw: Downsampled {
                envelope: groups.iter().map(|g| (g.0, g.2, g.3)).collect(),
                line,
                total: usize::try_from(groups.iter().map(|g| g.4).sum::<i64>()).unwrap_or(0),
            },
            smoothed,
        })
    }

    /// Reads and downsamples the panels `settings` asks for.
    pub async fn panels(
        db: &Db,
        job: i64,
        settings: &ChartSettings,
        offset: usize,
    ) -> sqlx::Result<PanelPage> {
        let mut conn = db.pool().acquire().await?;
        let summaries = metrics::summaries(&mut conn, job).await?;
        let matching: Vec<_> = summaries
            .iter()
            .filter(|s| key_matches(&s.key, &settings.keys))
            .collect();
        let mut panels = Vec::new();
        for summary in matching.iter().skip(offset).take(MAX_PANELS) {
            panels.push(series_panel(&mut conn, summary, settings).await?);
        }
        Ok(PanelPage {
            panels,
            matching: matching.len(),
            total: summaries.len(),
        })
    }

    /// The graph view of the jobs numbered `numbers` in `project`.
    pub async fn compare(
        db: &Db,
        project: i64,
        numbers: &[i64],
        settings: &ChartSettings,
    ) -> sqlx::Result<ComparePage> {
        let mut page = ComparePage::default();
        let mut found = Vec::new();
        for number in numbers {
            match crate::db::jobs::find_in_project(db, project, &number.to_string()).await? {
                Some(job) if !found.iter().any(|j: &crate::db::jobs::Job| j.id == job.id) => {
                    found.push(job)
                }
                Some(_) => {}
                None => page.missing.push(*number),
            }
        }
        page.jobs = found
            .iter()
            .map(|j| ComparedJob {
                number: j.number,
                name: j.name.clone(),
            })
            .collect();
        page.params = param_rows(found.iter().map(|j| j.params.as_str()));
        let mut conn = db.pool().acquire().await?;
        let mut by_job = Vec::new();
        for job in &found {
            by_job.push(metrics::summaries(&mut conn, job.id).await?);
        }
        let mut keys: Vec<&str> = by_job.iter().flatten().map(|s| s.key.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        page.total = keys.len();
        let matching: Vec<&str> = keys
            .into_iter()
            .filter(|k| key_matches(k, &settings.keys))
            .collect();
        page.matching = matching.len();
        for key in matching.into_iter().take(MAX_PANELS) {
            let mut lines = Vec::new();
            for (index, summaries) in by_job.iter().enumerate() {
                if let Some(summary) = summaries.iter().find(|s| s.key == key) {
                    lines.push((index, series_panel(&mut conn, summary, settings).await?));
                }
            }
            page.panels.push(ComparePanel {
                key: key.to_owned(),
                lines,
            });
        }
        Ok(page)
    }

    /// The parameters of jobs (their JSON objects), a row per key of any of them.
    pub fn param_rows<'a>(params: impl Iterator<Item = &'a str>) -> Vec<ParamRow> {
        use serde_json::{Map, Value};
        let maps: Vec<Map<String, Value>> = params
            .map(|text| serde_json::from_str(text).unwrap_or_default())
            .collect();
        let mut keys: Vec<&String> = maps.iter().flat_map(|m| m.keys()).collect();
        keys.sort_unstable();
        keys.dedup();
        keys.into_iter()
            .map(|key| {
                let values: Vec<String> = maps
                    .iter()
                    .map(|m| match m.get(key) {
                        Some(Value::String(text)) => text.clone(),
                        Some(Value::Null) | None => String::new(),
                        Some(other) => other.to_string(),
                    })
                    .collect();
                ParamRow {
                    key: key.clone(),
                    differs: values.iter().any(|v| *v != values[0]),
                    values,
                }
            })
            .collect()
    }

    /// Whether a metric key passes the panel filter: it contains `filter`, case-insensitive.
    pub fn key_matches(key: &str, filter: &str) -> bool {
        filter.is_empty() || key.to_lowercase().contains(&filter.to_lowercase())
    }

    /// One series drawn for `settings`: from its rollups when long, else every point in range
    /// downsampled to the panel's width.
    pub async fn series_panel(
        conn: &mut sqlx::AnyConnection,
        summary: &metrics::Summary,
        settings: &ChartSettings,
    ) -> sqlx::Result<MetricPanel> {
        let width = settings.size.pixels().0 as usize;
        let first = settings.from.unwrap_or(i64::MIN);
        let last = settings.to.unwrap_or(i64::MAX);
        if summary.count > READ_ALL_UP_TO && settings.x == XAxis::Step {
            let rollups = rollups::read(conn, summary.id, first, last).await?;
            if let Some(panel) = from_rollups(&summary.key, &rollups, width, settings.smooth) {
                return Ok(panel);
            }
        }
        let points = metrics::points_in_steps(conn, summary.id, first, last).await?;
        let start_ms = points.first().map_or(0, |p| p.wall_ms);
        let xy: Vec<(f64, f64)> = points
            .iter()
            .map(|p| {
                let x = match settings.x {
                    XAxis::Step => p.step as f64,
                    XAxis::Wall => p.wall_ms as f64 / 1000.0,
                    XAxis::Relative => (p.wall_ms - start_ms) as f64 / 1000.0,
                };
                (x, p.value)
            })
            .filter(|(_, y)| y.is_finite())
            .collect();
        let smoothed = if settings.smooth > 0.0 {
            let values: Vec<f64> = xy.iter().map(|p| p.1).collect();
            let curve: Vec<(f64, f64)> = xy
                .iter()
                .zip(ema(&values, settings.smooth))
                .map(|(p, v)| (p.0, v))
                .collect();
            downsample(&curve, width).line
        } else {
            Vec::new()
        };
        Ok(MetricPanel {
            key: summary.key.clone(),
            raw: downsample(&xy, width),
            smoothed,
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn rollup(bucket: i64, value: f64) -> Rollup {
            let steps = (bucket * 1024..(bucket + 1) * 1024).map(|s| s as f64).sum();
            Rollup {
                bucket,
                count: 1024,
                step_sum: steps,
                value_sum: value * 1024.0,
                min: value - 1.0,
                max: value + 1.0,
            }
        }

        #[test]
        fn parameter_rows_cover_every_key_and_mark_those_that_differ() {
            let rows = param_rows(
                [
                    r#"{"lr": "0.1", "seed": 1, "opt": "adam"}"#,
                    r#"{"lr": "0.1", "seed": 2}"#,
                ]
                .into_iter(),
            );
            let view: Vec<(&str, Vec<&str>, bool)> = rows
                .iter()
                .map(|r| {
                    (
                        r.key.as_str(),
                        r.values.iter().map(String::as_str).collect(),
                        r.differs,
                    )
                })
                .collect();
            assert_eq!(
                view,
                vec![
                    ("lr", vec!["0.1", "0.1"], false),
                    ("opt", vec!["adam", ""], true),
                    ("seed", vec!["1", "2"], true),
                ]
            );
            assert!(param_rows(["not json"].into_iter()).is_empty());
        }

        #[test]
        fn rollups_are_merged_into_one_group_per_pixel_with_their_extremes() {
            let rollups: Vec<Rollup> = (0..10_000).map(|b| rollup(b, (b % 7) as f64)).collect();
            let panel = from_rollups("loss", &rollups, 2_000, 0.0).unwrap();
            assert_eq!(
                (panel.raw.line.len(), panel.raw.envelope.len()),
                (2_000, 2_000)
            );
            assert_eq!(panel.raw.total, 10_000 * 1024);
            // The first group is buckets 0..5: values 0..4, so min -1, max 5, mean 2.
            assert_eq!(
                (panel.raw.envelope[0].1, panel.raw.envelope[0].2),
                (-1.0, 5.0)
            );
            assert!((panel.raw.line[0].1 - 2.0).abs() < 1e-9);
            assert!((panel.raw.line[0].0 - (5.0 * 1024.0 - 1.0) / 2.0).abs() < 1e-6);
            assert!(
                from_rollups("loss", &rollups[..100], 2_000, 0.0).is_none(),
                "zoomed in: read points"
            );
        }
    }
}
