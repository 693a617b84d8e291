//! The metrics feature's logic on the server: panels drawn from stored series (downsampled, or
//! from rollups when long), live changes to drawn panels, and the graph view's comparison.

use crate::chart::downsample::{downsample, Downsampled};
use crate::chart::key_filter::KeyFilter;
use crate::chart::settings::{ChartSettings, XAxis};
use crate::chart::smooth::ema;
use crate::db::rollups::{self, Rollup};
use crate::db::{metrics, Db};
use crate::metrics::server_fns::{
    Appended, ComparePage, ComparePanel, ComparedJob, Drawn, KeyCount, MetricPanel, PanelChange,
    PanelChanges, PanelPage, ParamRow, MAX_FOLLOWED, MAX_PANELS,
};

/// Series up to this many points are read whole and downsampled here (LTTB); longer ones
/// are drawn from their rollups (sums per 1,024 steps kept as points arrive), because
/// reading millions of rows takes seconds (10,000,000 points: 20 s through the driver, 3.3 s
/// even aggregated by SQLite) where their rollups are ten thousand rows.
const READ_ALL_UP_TO: i64 = 200_000;

/// A panel of about `width` pixel groups of consecutive rollups: the mean line, and each
/// group's min and max as the band, at the group's mean step or wall time on axis `x`
/// (`start_ms` is where relative time starts). `None` when the rollups are too few to fill
/// the width (a zoomed range), where reading the points themselves is cheap.
pub fn from_rollups(
    key: &str,
    rollups: &[Rollup],
    width: usize,
    smooth: f64,
    x: XAxis,
    start_ms: i64,
) -> Option<MetricPanel> {
    if rollups.len() < width {
        return None;
    }
    let per_group = rollups.len().div_ceil(width);
    let groups: Vec<(f64, f64, f64, f64, i64)> = rollups
        .chunks(per_group)
        .map(|group| {
            let count: i64 = group.iter().map(|r| r.count).sum();
            let n = count.max(1) as f64;
            let at = match x {
                XAxis::Step => group.iter().map(|r| r.step_sum).sum::<f64>() / n,
                XAxis::Wall => group.iter().map(|r| r.wall_sum).sum::<f64>() / n / 1000.0,
                XAxis::Relative => {
                    let wall = group.iter().map(|r| r.wall_sum).sum::<f64>() / n;
                    (wall - start_ms as f64) / 1000.0
                }
            };
            let values: f64 = group.iter().map(|r| r.value_sum).sum();
            let min = group.iter().map(|r| r.min).fold(f64::INFINITY, f64::min);
            let max = group
                .iter()
                .map(|r| r.max)
                .fold(f64::NEG_INFINITY, f64::max);
            (at, values / n, min, max, count)
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
    let count = groups.iter().map(|g| g.4).sum::<i64>();
    Some(MetricPanel {
        key: key.to_owned(),
        raw: Downsampled {
            envelope: groups.iter().map(|g| (g.0, g.2, g.3)).collect(),
            line,
            total: usize::try_from(count).unwrap_or(0),
        },
        smoothed,
        count,
        // Rollups do not keep it; the caller knows it from the series' summary.
        last_step: None,
    })
}

/// The keys matching `settings` and the first [`MAX_PANELS`] panels of them.
pub async fn panels(db: &Db, job: i64, settings: &ChartSettings) -> sqlx::Result<PanelPage> {
    let mut conn = db.pool().acquire().await?;
    let summaries = metrics::summaries(&mut conn, job).await?;
    let filter = KeyFilter::new(&settings.keys);
    let matching: Vec<&metrics::Summary> = summaries
        .iter()
        .filter(|s| filter.matches(&s.key))
        .collect();
    let mut panels = Vec::new();
    for summary in matching.iter().take(MAX_PANELS) {
        panels.push(series_panel(&mut conn, summary, settings).await?);
    }
    Ok(PanelPage {
        keys: key_counts(&matching),
        panels,
        total: summaries.len(),
        filter_error: filter.error(),
    })
}

/// The panels of `keys` that the job has, at most [`MAX_PANELS`].
pub async fn panels_of(
    db: &Db,
    job: i64,
    settings: &ChartSettings,
    keys: &[String],
) -> sqlx::Result<Vec<MetricPanel>> {
    let mut conn = db.pool().acquire().await?;
    let summaries = metrics::summaries(&mut conn, job).await?;
    let mut panels = Vec::new();
    for key in keys.iter().take(MAX_PANELS) {
        if let Some(summary) = summaries.iter().find(|s| s.key == *key) {
            panels.push(series_panel(&mut conn, summary, settings).await?);
        }
    }
    Ok(panels)
}

/// What changed in the panels `drawn` since they were read: the points after the drawn
/// ones where they simply go on the end, else the panel drawn again.
pub async fn changes(
    db: &Db,
    job: i64,
    settings: &ChartSettings,
    known_keys: usize,
    drawn: &[Drawn],
) -> sqlx::Result<PanelChanges> {
    let mut conn = db.pool().acquire().await?;
    let summaries = metrics::summaries(&mut conn, job).await?;
    let mut changes = PanelChanges::default();
    if summaries.len() != known_keys {
        let filter = KeyFilter::new(&settings.keys);
        let matching: Vec<&metrics::Summary> = summaries
            .iter()
            .filter(|s| filter.matches(&s.key))
            .collect();
        changes.keys = Some((key_counts(&matching), summaries.len()));
    }
    for drawn in drawn.iter().take(MAX_FOLLOWED) {
        let Some(summary) = summaries.iter().find(|s| s.key == drawn.key) else {
            continue;
        };
        if summary.count == drawn.count {
            continue;
        }
        let change = match appended(&mut conn, summary, drawn, settings).await? {
            Some(appended) => PanelChange::Append(appended),
            None => PanelChange::Redraw(series_panel(&mut conn, summary, settings).await?),
        };
        changes.panels.push(change);
    }
    Ok(changes)
}

/// The points of `summary` after those `drawn` has, when they all come after its last step
/// and its line stays within twice the panel's width; `None` when the panel should be
/// drawn again instead (also when zoomed: a range is read whole, and cheaply).
async fn appended(
    conn: &mut sqlx::AnyConnection,
    summary: &metrics::Summary,
    drawn: &Drawn,
    settings: &ChartSettings,
) -> sqlx::Result<Option<Appended>> {
    let width = settings.size.pixels().0 as usize;
    let new = summary.count - drawn.count;
    let zoomed = settings.from.is_some() || settings.to.is_some();
    let (Some(last_step), Ok(wanted)) = (drawn.last_step, usize::try_from(new)) else {
        return Ok(None);
    };
    if zoomed || wanted == 0 || wanted > width || drawn.line + wanted > 2 * width {
        return Ok(None);
    }
    let limit = i64::try_from(wanted + 1).unwrap_or(i64::MAX);
    let after = metrics::points_after(conn, summary.id, Some((last_step, i64::MAX)), limit).await?;
    // Fewer than logged: some came in at earlier steps, which the line cannot take on its end.
    if after.len() != wanted {
        return Ok(None);
    }
    let start_ms = match settings.x {
        XAxis::Relative => match metrics::points_after(conn, summary.id, None, 1)
            .await?
            .first()
        {
            Some((_, first)) => first.wall_ms,
            None => return Ok(None),
        },
        _ => 0,
    };
    let points = after
        .iter()
        .map(|(_, p)| (x_of(p, settings.x, start_ms), p.value))
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    Ok(Some(Appended {
        key: summary.key.clone(),
        after: drawn.count,
        points,
        count: summary.count,
        last_step: after.last().map(|(_, p)| p.step).or(Some(last_step)),
    }))
}

fn key_counts(summaries: &[&metrics::Summary]) -> Vec<KeyCount> {
    summaries
        .iter()
        .map(|s| KeyCount {
            key: s.key.clone(),
            points: s.count,
        })
        .collect()
}

/// Where a point lies on the x axis; `start_ms` is the series' first point's wall time.
fn x_of(point: &metrics::Point, axis: XAxis, start_ms: i64) -> f64 {
    match axis {
        XAxis::Step => point.step as f64,
        XAxis::Wall => point.wall_ms as f64 / 1000.0,
        XAxis::Relative => (point.wall_ms - start_ms) as f64 / 1000.0,
    }
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
    let filter = KeyFilter::new(&settings.keys);
    page.filter_error = filter.error();
    let matching: Vec<&str> = keys.into_iter().filter(|k| filter.matches(k)).collect();
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

/// The wall time of the series' first point from step `first` on: where relative time starts.
async fn first_wall_ms(
    conn: &mut sqlx::AnyConnection,
    series: i64,
    first: i64,
) -> sqlx::Result<i64> {
    let after = (first > i64::MIN).then(|| (first - 1, i64::MAX));
    let found = metrics::points_after(conn, series, after, 1).await?;
    Ok(found.first().map_or(0, |(_, p)| p.wall_ms))
}

/// One series drawn for `settings`: from its rollups when long (on any x axis), else every
/// point in range downsampled to the panel's width.
pub async fn series_panel(
    conn: &mut sqlx::AnyConnection,
    summary: &metrics::Summary,
    settings: &ChartSettings,
) -> sqlx::Result<MetricPanel> {
    let width = settings.size.pixels().0 as usize;
    let first = settings.from.unwrap_or(i64::MIN);
    let last = settings.to.unwrap_or(i64::MAX);
    if summary.count > READ_ALL_UP_TO {
        let rollups = rollups::read(conn, summary.id, first, last).await?;
        let start_ms = match settings.x {
            XAxis::Relative => first_wall_ms(conn, summary.id, first).await?,
            _ => 0,
        };
        let panel = from_rollups(
            &summary.key,
            &rollups,
            width,
            settings.smooth,
            settings.x,
            start_ms,
        );
        if let Some(mut panel) = panel {
            panel.count = summary.count;
            panel.last_step = summary.last_step;
            return Ok(panel);
        }
    }
    let points = metrics::points_in_steps(conn, summary.id, first, last).await?;
    let start_ms = points.first().map_or(0, |p| p.wall_ms);
    let xy: Vec<(f64, f64)> = points
        .iter()
        .map(|p| (x_of(p, settings.x, start_ms), p.value))
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
        count: summary.count,
        last_step: summary.last_step,
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
            wall_sum: 1_000.0 * steps,
            value_sum: value * 1024.0,
            min: value - 1.0,
            max: value + 1.0,
        }
    }

    /// Logs `steps` of `key` with value = step, committed.
    async fn log(db: &Db, project: i64, job: i64, key: &str, steps: std::ops::Range<i64>) {
        let points: Vec<metrics::Point> = steps
            .map(|step| metrics::Point {
                step,
                wall_ms: 1_000 + step,
                value: step as f64,
            })
            .collect();
        let mut tx = db.begin().await.unwrap();
        metrics::append(&mut tx, project, job, key, &points)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    fn drawn_of(panel: &MetricPanel) -> Drawn {
        Drawn {
            key: panel.key.clone(),
            count: panel.count,
            last_step: panel.last_step,
            line: panel.raw.line.len(),
        }
    }

    #[tokio::test]
    async fn live_panels_get_new_points_on_their_ends_or_are_drawn_again() {
        crate::db::testing::each_backend(|db| async move {
            let (project, job) = crate::db::testing::project_with_job(&db).await;
            log(&db, project, job, "loss", 0..10).await;
            let settings = ChartSettings::default();
            let page = panels(&db, job, &settings).await.unwrap();
            let drawn = vec![drawn_of(&page.panels[0])];
            let unchanged = changes(&db, job, &settings, 1, &drawn).await.unwrap();
            assert_eq!(
                unchanged,
                PanelChanges::default(),
                "nothing new, nothing sent"
            );

            log(&db, project, job, "loss", 10..15).await;
            log(&db, project, job, "acc", 0..3).await;
            let got = changes(&db, job, &settings, 1, &drawn).await.unwrap();
            let (keys, total) = got.keys.clone().expect("a new key: the keys again");
            assert_eq!((keys.len(), total), (2, 2));
            let [PanelChange::Append(appended)] = got.panels.as_slice() else {
                panic!("{got:?}");
            };
            let xs: Vec<f64> = appended.points.iter().map(|p| p.0).collect();
            assert_eq!(xs, [10.0, 11.0, 12.0, 13.0, 14.0]);
            assert_eq!(
                (appended.after, appended.count, appended.last_step),
                (10, 15, Some(14))
            );

            // A point at an earlier step cannot go on the end: the panel is drawn again.
            log(&db, project, job, "loss", 3..4).await;
            let late = Drawn {
                count: 15,
                last_step: Some(14),
                ..drawn[0].clone()
            };
            let got = changes(&db, job, &settings, 2, std::slice::from_ref(&late))
                .await
                .unwrap();
            let [PanelChange::Redraw(panel)] = got.panels.as_slice() else {
                panic!("{got:?}");
            };
            assert_eq!((panel.count, panel.raw.total), (16, 16));

            // A line about to outgrow twice the panel's width is drawn again, downsampled.
            let wide = Drawn {
                count: 16,
                line: 2 * 480 - 2,
                ..late
            };
            log(&db, project, job, "loss", 15..20).await;
            let got = changes(&db, job, &settings, 2, &[wide]).await.unwrap();
            assert!(
                matches!(got.panels.as_slice(), [PanelChange::Redraw(_)]),
                "{got:?}"
            );
        })
        .await;
    }

    #[tokio::test]
    async fn long_series_are_drawn_from_their_rollups_on_every_x_axis() {
        crate::db::testing::each_backend(|db| async move {
            let (project, job) = crate::db::testing::project_with_job(&db).await;
            let start_ms = 1_700_000_000_000;
            // Over READ_ALL_UP_TO points, over 600 buckets: the wall clock ticks 1 s a step.
            let points: Vec<metrics::Point> = (0..210_000)
                .map(|i| metrics::Point {
                    step: 3 * i,
                    wall_ms: start_ms + 3_000 * i,
                    value: ((i * 7) % 13) as f64,
                })
                .collect();
            let mut tx = db.begin().await.unwrap();
            metrics::append(&mut tx, project, job, "loss", &points)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            let drawn = |x| {
                let db = db.clone();
                async move {
                    let settings = ChartSettings {
                        x,
                        ..ChartSettings::default()
                    };
                    panels(&db, job, &settings).await.unwrap().panels.remove(0)
                }
            };
            let by_step = drawn(XAxis::Step).await;
            // 616 rollups in pairs for a 480-pixel panel; every point read would make 480.
            assert_eq!(by_step.raw.line.len(), 308);
            for (axis, offset) in [
                (XAxis::Wall, start_ms as f64 / 1000.0),
                (XAxis::Relative, 0.0),
            ] {
                let panel = drawn(axis).await;
                assert_eq!(panel.raw.line.len(), 308, "{axis:?} from rollups");
                assert_eq!((panel.count, panel.raw.total), (210_000, 210_000));
                for (got, want) in panel.raw.line.iter().zip(&by_step.raw.line) {
                    assert!((got.0 - (want.0 + offset)).abs() < 1e-3, "{axis:?}");
                    assert_eq!(got.1, want.1);
                }
                assert_eq!(panel.raw.envelope.len(), 308);
            }
        })
        .await;
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
        let panel = from_rollups("loss", &rollups, 2_000, 0.0, XAxis::Step, 0).unwrap();
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
            from_rollups("loss", &rollups[..100], 2_000, 0.0, XAxis::Step, 0).is_none(),
            "zoomed in: read points"
        );
    }
}
