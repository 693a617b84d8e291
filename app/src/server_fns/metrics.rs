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

#[cfg(feature = "ssr")]
mod ssr {
    use super::{MetricPanel, PanelPage, MAX_PANELS};
    use crate::chart::downsample::downsample;
    use crate::chart::settings::{ChartSettings, XAxis};
    use crate::chart::smooth::ema;
    use crate::db::{metrics, Db};

    /// Reads and downsamples the panels `settings` asks for.
    pub async fn panels(
        db: &Db,
        job: i64,
        settings: &ChartSettings,
        offset: usize,
    ) -> sqlx::Result<PanelPage> {
        let mut conn = db.pool().acquire().await?;
        let summaries = metrics::summaries(&mut conn, job).await?;
        let needle = settings.keys.to_lowercase();
        let matching: Vec<_> = summaries
            .iter()
            .filter(|s| needle.is_empty() || s.key.to_lowercase().contains(&needle))
            .collect();
        let width = settings.size.pixels().0 as usize;
        let mut panels = Vec::new();
        for summary in matching.iter().skip(offset).take(MAX_PANELS) {
            let first = settings.from.unwrap_or(i64::MIN);
            let last = settings.to.unwrap_or(i64::MAX);
            let points = metrics::points_in_steps(&mut conn, summary.id, first, last).await?;
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
            panels.push(MetricPanel {
                key: summary.key.clone(),
                raw: downsample(&xy, width),
                smoothed,
            });
        }
        Ok(PanelPage {
            panels,
            matching: matching.len(),
            total: summaries.len(),
        })
    }
}
