//! The pipelines feature's logic on the server: a run's summary, and its graph laid out in
//! layers (a step one layer right of the deepest step it needs) with its edges as SVG paths.

use super::server_fns::{InstanceView, RunPage, RunSummary, StepNode, NODE_HEIGHT, NODE_WIDTH};
use crate::db::pipelines::{self, Run, StepRow};
use crate::db::{metrics, Db};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

/// Room between layers, for the edges.
const LAYER_GAP: f64 = 56.0;
/// Room between the nodes of a layer.
const ROW_GAP: f64 = 16.0;
/// Room around the graph.
const MARGIN: f64 = 8.0;

/// The list's facts about `run`.
pub fn summary(run: &Run) -> RunSummary {
    RunSummary {
        id: run.id,
        name: run.name.clone(),
        state: run.state.clone(),
        reason: run.reason.clone(),
        steps: run.step_count,
        ended: run.ended_count,
        cost_usd: run.cost_usd,
        created_ms: run.created_ms,
        finished_ms: run.finished_ms,
        rerun_of: run.rerun_of.zip(run.from_step.clone()),
    }
}

/// What the view reads of a stored spec; the server checked the rest.
#[derive(Debug, Default, Deserialize)]
struct StoredSpec {
    #[serde(default)]
    steps: BTreeMap<String, StoredStep>,
}

#[derive(Debug, Default, Deserialize)]
struct StoredStep {
    #[serde(default)]
    needs: Vec<String>,
    #[serde(default)]
    metrics: Option<StoredMetrics>,
    #[serde(default)]
    sweep: Option<StoredSweep>,
}

#[derive(Debug, Deserialize)]
struct StoredMetrics {
    #[serde(default)]
    names: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct StoredSweep {
    objective: StoredObjective,
}

#[derive(Debug, Deserialize)]
struct StoredObjective {
    metric: String,
    goal: String,
}

/// Run `id` of `project` with its graph laid out; `None` if the project has no such run.
pub async fn page(db: &Db, project: i64, id: i64) -> sqlx::Result<Option<RunPage>> {
    let Some(run) = pipelines::find(db, id)
        .await?
        .filter(|r| r.project_id == project)
    else {
        return Ok(None);
    };
    let spec: StoredSpec = serde_json::from_str(&run.spec).unwrap_or_default();
    let rows = pipelines::steps(db, id).await?;
    let jobs: Vec<i64> = rows.iter().filter_map(|r| r.job_id).collect();
    let summaries = metrics::summaries_of_jobs(db, &jobs).await?;
    let mut best = HashMap::new();
    for row in rows.iter().filter(|r| r.sweep_id.is_some()) {
        if let (Some(sweep), Some(step)) = (row.sweep_id, spec.steps.get(&row.step)) {
            if let Some(search) = &step.sweep {
                let outcome = crate::db::sweeps::outcomes_for_sweep(db, sweep).await?;
                let value = match search.objective.goal.as_str() {
                    "maximize" => outcome.1,
                    _ => outcome.0,
                };
                best.insert(row.step.clone(), value);
            }
        }
    }
    let needs: BTreeMap<&str, &[String]> = spec
        .steps
        .iter()
        .map(|(name, step)| (name.as_str(), step.needs.as_slice()))
        .collect();
    let places = layout(&needs);
    let mut nodes: Vec<StepNode> = Vec::with_capacity(spec.steps.len());
    for (name, step) in &spec.steps {
        let own: Vec<&StepRow> = rows.iter().filter(|r| &r.step == name).collect();
        let metric = match &step.sweep {
            Some(search) => best
                .get(name)
                .copied()
                .flatten()
                .map(|v| (search.objective.metric.clone(), v)),
            None => step
                .metrics
                .as_ref()
                .and_then(|m| m.names.first())
                .and_then(|key| {
                    let job = own.first()?.job_id?;
                    let summary = summaries.get(&job)?.iter().find(|s| &s.key == key)?;
                    Some((key.clone(), summary.last?))
                }),
        };
        let (x, y) = places.get(name.as_str()).copied().unwrap_or((0.0, 0.0));
        nodes.push(StepNode {
            name: name.clone(),
            state: overall(&own),
            kind: if step.sweep.is_some() { "sweep" } else { "job" }.to_owned(),
            instances: own
                .iter()
                .map(|r| InstanceView {
                    instance: r.instance,
                    state: r.state.clone(),
                    job: r.job_number,
                })
                .collect(),
            duration_ms: own.iter().filter_map(|r| r.duration_ms).max(),
            metric,
            reason: own.iter().find_map(|r| r.reason.clone()),
            job: own.first().and_then(|r| r.job_number),
            sweep: own.first().and_then(|r| r.sweep_id),
            x,
            y,
        });
    }
    let edges = needs
        .iter()
        .flat_map(|(name, needs)| needs.iter().map(move |need| (need.as_str(), *name)))
        .filter_map(|(from, to)| Some(edge(*places.get(from)?, *places.get(to)?)))
        .collect();
    let width = nodes.iter().map(|n| n.x).fold(0.0, f64::max) + NODE_WIDTH + MARGIN;
    let height = nodes.iter().map(|n| n.y).fold(0.0, f64::max) + NODE_HEIGHT + MARGIN;
    Ok(Some(RunPage {
        summary: summary(&run),
        nodes,
        edges,
        width,
        height,
    }))
}

/// A step's state over its instances: a failure or a run in progress shows first; `cached`
/// only when every instance was.
fn overall(instances: &[&StepRow]) -> String {
    const ORDER: [&str; 7] = [
        "failed",
        "cancelled",
        "running",
        "waiting",
        "skipped",
        "succeeded",
        "cached",
    ];
    ORDER
        .iter()
        .find(|state| instances.iter().any(|r| r.state == **state))
        .map_or("waiting", |s| s)
        .to_owned()
}

/// The depth of each step of `needs` (step → the steps it needs): 0 for those that need
/// nothing, else one more than the deepest step they need. Steps on a cycle or after one, which
/// a checked spec has none of, are left out. Linear in steps and edges: a pass of the driver
/// reads it for a 1,000-step pipeline.
pub fn depths<'a>(needs: &BTreeMap<&'a str, &'a [String]>) -> BTreeMap<&'a str, usize> {
    let mut unplaced: HashMap<&str, usize> = needs.iter().map(|(n, ns)| (*n, ns.len())).collect();
    let mut needed_by: HashMap<&str, Vec<&str>> = HashMap::new();
    for (name, step_needs) in needs {
        for need in step_needs.iter() {
            needed_by.entry(need.as_str()).or_default().push(name);
        }
    }
    let mut ready: std::collections::VecDeque<&str> = needs
        .iter()
        .filter(|(_, ns)| ns.is_empty())
        .map(|(n, _)| *n)
        .collect();
    let mut depths = BTreeMap::new();
    while let Some(name) = ready.pop_front() {
        let depth = needs[name]
            .iter()
            .filter_map(|n| depths.get(n.as_str()))
            .max()
            .map_or(0, |d| d + 1);
        depths.insert(name, depth);
        for dependent in needed_by.get(name).into_iter().flatten() {
            let left = unplaced.get_mut(dependent).expect("a step");
            *left -= 1;
            if *left == 0 {
                ready.push_back(dependent);
            }
        }
    }
    depths
}

/// The top-left corner of each step's node: a column per depth, and in each column the steps
/// ordered by where the steps they need sit (so edges cross less), then by name.
fn layout<'a>(needs: &BTreeMap<&'a str, &'a [String]>) -> HashMap<&'a str, (f64, f64)> {
    let depths = depths(needs);
    let mut layers: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for (name, depth) in &depths {
        layers.entry(*depth).or_default().push(name);
    }
    let mut rows: HashMap<&str, f64> = HashMap::new();
    let mut places = HashMap::new();
    for (depth, mut layer) in layers {
        let key = |name: &str| -> f64 {
            let above: Vec<f64> = needs[name]
                .iter()
                .filter_map(|n| rows.get(n.as_str()).copied())
                .collect();
            if above.is_empty() {
                0.0
            } else {
                above.iter().sum::<f64>() / above.len() as f64
            }
        };
        layer.sort_by(|a, b| key(a).total_cmp(&key(b)).then(a.cmp(b)));
        for (row, name) in layer.into_iter().enumerate() {
            rows.insert(name, row as f64);
            places.insert(
                name,
                (
                    MARGIN + depth as f64 * (NODE_WIDTH + LAYER_GAP),
                    MARGIN + row as f64 * (NODE_HEIGHT + ROW_GAP),
                ),
            );
        }
    }
    places
}

/// The SVG path of an edge from the right side of the node at `from` to the left side of the
/// node at `to`: a curve that leaves and arrives level.
fn edge(from: (f64, f64), to: (f64, f64)) -> String {
    let (x1, y1) = (from.0 + NODE_WIDTH, from.1 + NODE_HEIGHT / 2.0);
    let (x2, y2) = (to.0, to.1 + NODE_HEIGHT / 2.0);
    let middle = (x1 + x2) / 2.0;
    format!("M{x1:.0} {y1:.0}C{middle:.0} {y1:.0} {middle:.0} {y2:.0} {x2:.0} {y2:.0}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needs(pairs: &[(&'static str, &[&str])]) -> BTreeMap<&'static str, Vec<String>> {
        pairs
            .iter()
            .map(|(name, needs)| (*name, needs.iter().map(|n| (*n).to_owned()).collect()))
            .collect()
    }

    #[test]
    fn a_diamond_lays_out_in_three_layers_with_its_middle_stacked() {
        let owned = needs(&[("a", &[]), ("b", &["a"]), ("c", &["a"]), ("d", &["b", "c"])]);
        let borrowed: BTreeMap<&str, &[String]> =
            owned.iter().map(|(k, v)| (*k, v.as_slice())).collect();
        let depths = depths(&borrowed);
        assert_eq!(depths.values().copied().collect::<Vec<_>>(), [0, 1, 1, 2]);
        let places = layout(&borrowed);
        assert_eq!(places["b"].0, places["c"].0, "one layer");
        assert!(places["b"].1 < places["c"].1, "stacked by name");
        assert!(places["d"].0 > places["b"].0 && places["b"].0 > places["a"].0);
        let path = edge(places["a"], places["b"]);
        assert!(
            path.starts_with(&format!("M{:.0} ", MARGIN + NODE_WIDTH)),
            "{path}"
        );
    }

    #[test]
    fn a_cycle_is_left_out_rather_than_looping() {
        let owned = needs(&[("a", &["b"]), ("b", &["a"]), ("c", &[])]);
        let borrowed: BTreeMap<&str, &[String]> =
            owned.iter().map(|(k, v)| (*k, v.as_slice())).collect();
        assert_eq!(
            depths(&borrowed).into_iter().collect::<Vec<_>>(),
            [("c", 0)]
        );
    }
}
