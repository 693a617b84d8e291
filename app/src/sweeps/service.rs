//! The sweeps feature's logic on the server: a sweep's summary and the page its view shows,
//! built from the stored spec and trials.

use crate::db::sweeps::{Sweep, Trial};
use crate::sweeps::server_fns::{
    Goal, ParamKind, ParamValue, SweepPage, SweepParam, SweepSummary, TrialView,
};
use serde_json::Value;

/// The list's facts about `sweep`, with (trials ended, lowest, highest completed result).
pub fn summary(sweep: &Sweep, outcome: (i64, Option<f64>, Option<f64>)) -> SweepSummary {
    let spec = spec_of(sweep);
    let goal = goal_of(&spec);
    let (ended, low, high) = outcome;
    SweepSummary {
        id: sweep.id,
        name: sweep.name.clone(),
        state: sweep.state.clone(),
        reason: sweep.reason.clone(),
        ended,
        budget: spec["trials"].as_i64().unwrap_or(sweep.trial_count),
        best: match goal {
            Goal::Minimize => low,
            Goal::Maximize => high,
        },
        metric: spec["objective"]["metric"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        goal,
        created_ms: sweep.created_ms,
    }
}

/// The sweep view's data for `sweep` and its `trials`.
pub fn page(sweep: &Sweep, trials: &[Trial]) -> SweepPage {
    let spec = spec_of(sweep);
    let params = params_of(&spec["space"]);
    let trials: Vec<TrialView> = trials.iter().map(|t| trial(t, &params)).collect();
    let ended = trials.iter().filter(|t| t.ended()).count() as i64;
    let goal = goal_of(&spec);
    let results = trials.iter().filter_map(TrialView::result);
    let best = results.reduce(|a, b| if goal.better(b, a) { b } else { a });
    SweepPage {
        summary: summary(sweep, (ended, best, best)),
        algorithm: match &spec["algorithm"] {
            Value::String(name) => name.clone(),
            Value::Object(map) => map.keys().next().cloned().unwrap_or_default(),
            _ => "tpe".to_owned(),
        },
        parallel: spec["parallel"].as_i64().unwrap_or(1),
        value_of: spec["objective"]["value"]
            .as_str()
            .unwrap_or("last")
            .to_owned(),
        params,
        trials,
        clone_text: clone_lines(&spec),
    }
}

/// A line per range bound and choice list of the stored spec's space, then its budget and
/// parallelism, each as `PATH=VALUE` (VALUE in YAML, which JSON text is).
pub fn clone_lines(spec: &Value) -> String {
    let mut lines = Vec::new();
    if let Some(space) = spec["space"].as_object() {
        for (name, param) in space {
            if let Some(choices) = param.get("choice") {
                lines.push(format!("space.{name}.choice={choices}"));
            }
            for kind in ["uniform", "log_uniform", "int_uniform"] {
                if let Some([low, high]) = param[kind].as_array().map(Vec::as_slice) {
                    lines.push(format!("space.{name}.low={low}"));
                    lines.push(format!("space.{name}.high={high}"));
                }
            }
        }
    }
    for key in ["trials", "parallel"] {
        if let Some(value) = spec[key].as_u64() {
            lines.push(format!("{key}={value}"));
        }
    }
    lines.join("\n")
}

fn spec_of(sweep: &Sweep) -> Value {
    serde_json::from_str(&sweep.spec).unwrap_or(Value::Null)
}

fn goal_of(spec: &Value) -> Goal {
    match spec["objective"]["goal"].as_str() {
        Some("maximize") => Goal::Maximize,
        _ => Goal::Minimize,
    }
}

/// The parameters of a stored space (`{name: {choice|uniform|log_uniform|int_uniform}}`);
/// one of a shape this server does not know is left out.
pub fn params_of(space: &Value) -> Vec<SweepParam> {
    let Some(space) = space.as_object() else {
        return Vec::new();
    };
    let bounds = |v: &Value| Some((v.get(0)?.as_f64()?, v.get(1)?.as_f64()?));
    space
        .iter()
        .filter_map(|(name, param)| {
            let kind = if let Some(choices) = param["choice"].as_array() {
                ParamKind::Choice(choices.iter().map(text).collect())
            } else if let Some((low, high)) = bounds(&param["log_uniform"]) {
                ParamKind::Log(low, high)
            } else {
                let (low, high) =
                    bounds(&param["uniform"]).or_else(|| bounds(&param["int_uniform"]))?;
                ParamKind::Linear(low, high)
            };
            Some(SweepParam {
                name: name.clone(),
                kind,
            })
        })
        .collect()
}

fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn trial(trial: &Trial, params: &[SweepParam]) -> TrialView {
    let values: Value = serde_json::from_str(&trial.params).unwrap_or(Value::Null);
    TrialView {
        index: trial.trial_index,
        state: trial.state.clone(),
        params: params
            .iter()
            .map(|p| {
                let value = values.get(&p.name).filter(|v| !v.is_null())?;
                Some(match p.kind {
                    ParamKind::Choice(_) => ParamValue::Text(text(value)),
                    _ => ParamValue::Number(value.as_f64()?),
                })
            })
            .collect(),
        value: trial.value,
        step: trial.step,
        reason: trial.reason.clone(),
        job: trial.job_number,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_stored_space_becomes_typed_axes_and_unknown_shapes_are_left_out() {
        let space = json!({
            "lr": {"log_uniform": [1e-5, 0.1]},
            "opt": {"choice": ["sgd", 3, true]},
            "depth": {"int_uniform": [1, 8], "q": 2.0},
            "drop": {"uniform": [0.0, 0.5]},
            "odd": {"beta": [1, 2]},
        });
        let params = params_of(&space);
        let kinds: Vec<(&str, &ParamKind)> =
            params.iter().map(|p| (p.name.as_str(), &p.kind)).collect();
        assert_eq!(
            kinds,
            vec![
                ("depth", &ParamKind::Linear(1.0, 8.0)),
                ("drop", &ParamKind::Linear(0.0, 0.5)),
                ("lr", &ParamKind::Log(1e-5, 0.1)),
                (
                    "opt",
                    &ParamKind::Choice(vec!["sgd".into(), "3".into(), "true".into()])
                ),
            ]
        );
        assert!(params_of(&Value::Null).is_empty());
    }

    #[test]
    fn the_clone_form_starts_from_the_spec_bounds_choices_and_budget() {
        let spec = json!({
            "space": {"lr": {"log_uniform": [1e-5, 0.1]}, "opt": {"choice": ["sgd", "adam"]}},
            "trials": 30,
            "parallel": 4,
        });
        assert_eq!(
            clone_lines(&spec),
            "space.lr.low=0.00001\nspace.lr.high=0.1\nspace.opt.choice=[\"sgd\",\"adam\"]\n\
             trials=30\nparallel=4"
        );
        assert_eq!(clone_lines(&Value::Null), "");
    }
}
