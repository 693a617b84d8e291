//! The search space as written in a sweep spec, its checks, and which parameters are active.

use super::Problem;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// One trial's parameters: only the active ones, integers as JSON integers.
pub type Assignment = BTreeMap<String, Value>;

/// Parameter name → distribution. Kept sorted by name, so reordering the lines of a spec does
/// not change what a seed suggests.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Space {
    /// The parameters.
    pub params: BTreeMap<String, Param>,
}

/// One parameter: its distribution and when it is active.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawParam", into = "RawParam")]
pub struct Param {
    /// The values it takes.
    pub distribution: Distribution,
    /// Active only when every named parameter is active and takes one of the allowed values.
    pub when: BTreeMap<String, Allowed>,
}

/// The values a parameter takes. `q` makes a range quantised: `low`, `low + q`, … up to `high`.
#[derive(Clone, Debug, PartialEq)]
pub enum Distribution {
    /// One of these values (numbers, strings, booleans, …), equally likely a priori.
    Choice(Vec<Value>),
    /// A real number in `[low, high]`.
    Uniform {
        /// Lowest value.
        low: f64,
        /// Highest value.
        high: f64,
        /// Step, if quantised.
        q: Option<f64>,
    },
    /// A real number in `[low, high]` whose logarithm is uniform; both bounds above 0.
    LogUniform {
        /// Lowest value.
        low: f64,
        /// Highest value.
        high: f64,
        /// Step, if quantised.
        q: Option<f64>,
    },
    /// An integer in `[low, high]`, both included.
    IntUniform {
        /// Lowest value.
        low: i64,
        /// Highest value.
        high: i64,
        /// Step, if not 1.
        q: Option<i64>,
    },
}

/// The values a `when` condition allows: one, or a list of them. A list always means "any
/// of", so a choice of lists is matched by writing `[[64, 64]]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Allowed {
    /// Any of these values.
    AnyOf(Vec<Value>),
    /// Exactly this value.
    One(Value),
}

/// A parameter as YAML spells it: exactly one of the distribution keys, plus `q` and `when`.
#[derive(Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Param")]
struct RawParam {
    /// One of these values: `{choice: [sgd, adam]}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    choice: Option<Vec<Value>>,
    /// A real number between the bounds: `{uniform: [0.0, 0.5]}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    uniform: Option<[f64; 2]>,
    /// A real number whose logarithm is uniform between the bounds: `{log_uniform: [1e-5, 0.1]}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    log_uniform: Option<[f64; 2]>,
    /// An integer between the bounds, both included: `{int_uniform: [1, 8]}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    int_uniform: Option<[i64; 2]>,
    /// Step of a range: values `low`, `low + q`, … up to `high` (a whole number for integers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    q: Option<f64>,
    /// Active only when these parameters take these values (or any value of a list).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    when: BTreeMap<String, Allowed>,
}

impl TryFrom<RawParam> for Param {
    type Error = String;

    fn try_from(raw: RawParam) -> Result<Self, String> {
        let q = raw.q;
        let distribution = match (raw.choice, raw.uniform, raw.log_uniform, raw.int_uniform) {
            (Some(values), None, None, None) if q.is_none() => Distribution::Choice(values),
            (Some(_), None, None, None) => return Err("`q` does not apply to `choice`".into()),
            (None, Some([low, high]), None, None) => Distribution::Uniform { low, high, q },
            (None, None, Some([low, high]), None) => Distribution::LogUniform { low, high, q },
            (None, None, None, Some([low, high])) => Distribution::IntUniform {
                low,
                high,
                q: q.map(whole_step).transpose()?,
            },
            _ => {
                return Err("give exactly one of `choice`, `uniform`, `log_uniform`, \
                            `int_uniform`"
                    .into())
            }
        };
        Ok(Self {
            distribution,
            when: raw.when,
        })
    }
}

fn whole_step(q: f64) -> Result<i64, String> {
    if q.fract() == 0.0 && q.abs() < 1e15 {
        Ok(q as i64)
    } else {
        Err(format!("int_uniform needs a whole-number q, got {q}"))
    }
}

impl From<Param> for RawParam {
    fn from(param: Param) -> Self {
        let mut raw = RawParam {
            choice: None,
            uniform: None,
            log_uniform: None,
            int_uniform: None,
            q: None,
            when: param.when,
        };
        match param.distribution {
            Distribution::Choice(values) => raw.choice = Some(values),
            Distribution::Uniform { low, high, q } => (raw.uniform, raw.q) = (Some([low, high]), q),
            Distribution::LogUniform { low, high, q } => {
                (raw.log_uniform, raw.q) = (Some([low, high]), q);
            }
            Distribution::IntUniform { low, high, q } => {
                (raw.int_uniform, raw.q) = (Some([low, high]), q.map(|q| q as f64));
            }
        }
        raw
    }
}

// By hand because schemars does not follow `#[serde(try_from)]`: the schema is the YAML shape's.
impl JsonSchema for Param {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Param".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        RawParam::json_schema(generator)
    }
}

impl Distribution {
    /// The distribution's name as YAML spells it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Choice(_) => "choice",
            Self::Uniform { .. } => "uniform",
            Self::LogUniform { .. } => "log_uniform",
            Self::IntUniform { .. } => "int_uniform",
        }
    }

    /// Whether `value` is one this distribution can produce.
    pub fn admits(&self, value: &Value) -> bool {
        match self {
            Self::Choice(values) => values.iter().any(|v| same_value(v, value)),
            Self::Uniform { low, high, q } | Self::LogUniform { low, high, q } => value
                .as_f64()
                .is_some_and(|v| *low <= v && v <= *high && on_step(v, *low, *q)),
            Self::IntUniform { low, high, q } => value.as_i64().is_some_and(|v| {
                // Wide arithmetic and the sign test, because unchecked spaces reach here too.
                let on_step =
                    |q: i64| q > 0 && (i128::from(v) - i128::from(*low)) % i128::from(q) == 0;
                *low <= v && v <= *high && q.is_none_or(on_step)
            }),
        }
    }

    fn problems(&self, name: &str) -> Vec<Problem> {
        let kind = self.kind();
        let mut problems = Vec::new();
        let mut problem = |message: String| problems.push(Problem::at(name, message));
        match *self {
            Self::Choice(ref values) if values.is_empty() => {
                problem("choice needs at least one value".into());
            }
            Self::Choice(_) => {}
            Self::Uniform { low, high, q } | Self::LogUniform { low, high, q } => {
                if !low.is_finite() || !high.is_finite() {
                    problem(format!("{kind} needs finite bounds, got [{low}, {high}]"));
                } else if matches!(self, Self::LogUniform { .. }) && low <= 0.0 {
                    problem(format!("{kind} needs both bounds above 0, got low = {low}"));
                } else if low >= high {
                    problem(format!("{kind} needs low < high, got [{low}, {high}]"));
                } else if let Some(message) = q.and_then(|q| step_problem(q, high - low)) {
                    problem(message);
                }
            }
            Self::IntUniform { low, high, q } => {
                if low >= high {
                    problem(format!("{kind} needs low < high, got [{low}, {high}]"));
                } else if let Some(message) =
                    q.and_then(|q| step_problem(q as f64, high as f64 - low as f64))
                {
                    problem(message);
                }
            }
        }
        problems
    }
}

fn step_problem(q: f64, range: f64) -> Option<String> {
    if q.is_nan() || q <= 0.0 {
        Some(format!("q must be above 0, got {q}"))
    } else if q > range {
        Some(format!("q = {q} is larger than the range ({range})"))
    } else {
        None
    }
}

/// Whether `v` lies on the lattice `low + k q` (always, without a step). The tolerance absorbs
/// the rounding of values written in decimal.
fn on_step(v: f64, low: f64, q: Option<f64>) -> bool {
    q.is_none_or(|q| {
        let k = (v - low) / q;
        (k - k.round()).abs() <= 1e-6
    })
}

/// JSON equality, except that numbers compare by value (`1` matches `1.0`).
pub fn same_value(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

impl Allowed {
    /// The allowed values.
    pub fn values(&self) -> &[Value] {
        match self {
            Self::AnyOf(values) => values,
            Self::One(value) => std::slice::from_ref(value),
        }
    }

    /// Whether `value` is allowed.
    pub fn matches(&self, value: &Value) -> bool {
        self.values().iter().any(|v| same_value(v, value))
    }
}

impl Space {
    /// Everything wrong with the space; empty when it is usable.
    pub fn check(&self) -> Vec<Problem> {
        if self.params.is_empty() {
            let message = "an empty space: give at least one parameter".to_owned();
            return vec![Problem {
                field: None,
                message,
            }];
        }
        let mut problems: Vec<Problem> = self
            .params
            .iter()
            .flat_map(|(name, param)| param.distribution.problems(name))
            .collect();
        for (name, param) in &self.params {
            problems.extend(self.condition_problems(name, param));
        }
        problems.extend(self.cycle_problem());
        problems
    }

    fn condition_problems(&self, name: &str, param: &Param) -> Vec<Problem> {
        let mut problems = Vec::new();
        for (parent, allowed) in &param.when {
            let Some(other) = self.params.get(parent) else {
                problems.push(Problem::at(
                    name,
                    format!("when names an unknown parameter `{parent}`"),
                ));
                continue;
            };
            if allowed.values().is_empty() {
                problems.push(Problem::at(
                    name,
                    format!("when gives no values for `{parent}`"),
                ));
            }
            for value in allowed.values() {
                if !other.distribution.admits(value) {
                    problems.push(Problem::at(
                        name,
                        format!("when needs `{parent}` to be {value}, a value it cannot take"),
                    ));
                }
            }
        }
        problems
    }

    /// The parameters whose conditions depend on each other in a loop, as one problem.
    fn cycle_problem(&self) -> Option<Problem> {
        let ordered: BTreeSet<&str> = self.order().into_iter().map(|(name, _)| name).collect();
        let mut stuck: BTreeSet<&str> = self
            .params
            .keys()
            .map(String::as_str)
            .filter(|n| !ordered.contains(n))
            .collect();
        // Left over are the loops and whatever depends on them; drop the latter, which no
        // leftover parameter depends on, until only the loops remain.
        while let Some(leaf) = stuck.iter().copied().find(|&n| {
            !stuck
                .iter()
                .any(|&other| self.params[other].when.contains_key(n))
        }) {
            stuck.remove(leaf);
        }
        let first = *stuck.first()?;
        let names: Vec<String> = stuck.iter().map(|n| format!("`{n}`")).collect();
        let message = format!("when conditions form a cycle among {}", names.join(", "));
        Some(Problem::at(first, message))
    }

    /// The parameters with each one after those its `when` names, ties by name. Parameters on
    /// a condition cycle are left out, which [`Space::check`] reports.
    pub fn order(&self) -> Vec<(&str, &Param)> {
        let mut placed: BTreeSet<&str> = BTreeSet::new();
        let mut order = Vec::with_capacity(self.params.len());
        while let Some((name, param)) = self.params.iter().find(|(name, param)| {
            !placed.contains(name.as_str())
                && param
                    .when
                    .keys()
                    .all(|parent| placed.contains(parent.as_str()))
        }) {
            placed.insert(name);
            order.push((name.as_str(), param));
        }
        order
    }

    /// Whether `param` is active given the parameters chosen so far, which must include every
    /// parameter its `when` names that is active.
    pub fn is_active(param: &Param, chosen: &Assignment) -> bool {
        param
            .when
            .iter()
            .all(|(parent, allowed)| chosen.get(parent).is_some_and(|v| allowed.matches(v)))
    }

    /// Whether `assignment` is one this space could suggest: exactly the active parameters,
    /// each with a value its distribution can take.
    pub fn contains(&self, assignment: &Assignment) -> bool {
        let order = self.order();
        order.len() == self.params.len()
            && assignment.keys().all(|name| self.params.contains_key(name))
            && order.iter().all(|(name, param)| {
                match (Self::is_active(param, assignment), assignment.get(*name)) {
                    (true, Some(value)) => param.distribution.admits(value),
                    (false, None) => true,
                    _ => false,
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(yaml: &str) -> Space {
        serde_yaml_ng::from_str(yaml).expect("the space parses")
    }

    fn messages(yaml: &str) -> Vec<String> {
        parse(yaml).check().iter().map(Problem::to_string).collect()
    }

    fn assignment(value: Value) -> Assignment {
        serde_json::from_value(value).expect("an object")
    }

    const EXAMPLE: &str = "
optimizer: {choice: [sgd, adam]}
lr: {log_uniform: [1.0e-5, 1.0e-1]}
momentum: {uniform: [0.0, 0.99], when: {optimizer: sgd}}
layers: {int_uniform: [1, 8]}
dropout: {uniform: [0.0, 0.5], q: 0.05}
";

    #[test]
    fn the_spec_example_parses_into_the_five_distributions() {
        let space = parse(EXAMPLE);
        assert!(space.check().is_empty(), "{:?}", space.check());
        let p = &space.params;
        assert_eq!(
            p["optimizer"].distribution,
            Distribution::Choice(vec![json!("sgd"), json!("adam")])
        );
        assert_eq!(
            p["lr"].distribution,
            Distribution::LogUniform {
                low: 1e-5,
                high: 0.1,
                q: None
            }
        );
        assert_eq!(
            p["layers"].distribution,
            Distribution::IntUniform {
                low: 1,
                high: 8,
                q: None
            }
        );
        assert_eq!(
            p["dropout"].distribution,
            Distribution::Uniform {
                low: 0.0,
                high: 0.5,
                q: Some(0.05)
            }
        );
        assert_eq!(p["momentum"].when["optimizer"], Allowed::One(json!("sgd")));
    }

    #[test]
    fn a_space_survives_a_round_trip_through_json() {
        let space = parse(EXAMPLE);
        let json = serde_json::to_string(&space).unwrap();
        assert_eq!(serde_json::from_str::<Space>(&json).unwrap(), space);
    }

    #[test]
    fn malformed_parameters_fail_to_parse_with_a_reason() {
        let error = |yaml: &str| {
            serde_yaml_ng::from_str::<Space>(yaml)
                .unwrap_err()
                .to_string()
        };
        assert!(error("a: {uniform: [0, 1], choice: [1]}").contains("exactly one of"));
        assert!(error("a: {}").contains("exactly one of"));
        assert!(error("a: {choice: [1, 2], q: 1}").contains("`q` does not apply"));
        assert!(error("a: {int_uniform: [1, 8], q: 0.5}").contains("whole-number q, got 0.5"));
        assert!(error("a: {uniform: [0, 1], wehn: {b: 1}}").contains("unknown field `wehn`"));
    }

    #[test]
    fn each_bad_space_names_the_parameter_and_the_problem() {
        assert_eq!(
            messages("{}"),
            ["an empty space: give at least one parameter"]
        );
        assert_eq!(
            messages("lr: {log_uniform: [0, 0.1]}"),
            ["lr: log_uniform needs both bounds above 0, got low = 0"]
        );
        assert_eq!(
            messages("a: {uniform: [1, 1]}"),
            ["a: uniform needs low < high, got [1, 1]"]
        );
        assert_eq!(
            messages("a: {int_uniform: [5, 2]}"),
            ["a: int_uniform needs low < high, got [5, 2]"]
        );
        assert_eq!(
            messages("a: {choice: []}"),
            ["a: choice needs at least one value"]
        );
        assert_eq!(
            messages("a: {uniform: [0, 1], q: 0}"),
            ["a: q must be above 0, got 0"]
        );
        assert_eq!(
            messages("a: {int_uniform: [0, 4], q: 0}\nb: {choice: [1], when: {a: 2}}"),
            [
                "a: q must be above 0, got 0",
                "b: when needs `a` to be 2, a value it cannot take"
            ]
        );
        assert_eq!(
            messages("a: {uniform: [0, 1], q: 2}"),
            ["a: q = 2 is larger than the range (1)"]
        );
        assert_eq!(
            messages("a: {uniform: [0, .inf]}"),
            ["a: uniform needs finite bounds, got [0, inf]"]
        );
        assert_eq!(
            messages("a: {uniform: [0, 1], when: {b: 1}}"),
            ["a: when names an unknown parameter `b`"]
        );
        assert_eq!(
            messages("o: {choice: [sgd]}\nm: {uniform: [0, 1], when: {o: [sgd, rmsprop]}}"),
            ["m: when needs `o` to be \"rmsprop\", a value it cannot take"]
        );
    }

    #[test]
    fn all_problems_are_reported_at_once() {
        let found =
            messages("a: {choice: []}\nb: {uniform: [2, 1]}\nc: {uniform: [0, 1], when: {z: 1}}");
        assert_eq!(found.len(), 3, "{found:?}");
    }

    #[test]
    fn condition_cycles_are_reported_without_their_dependants() {
        let found = messages(
            "a: {choice: [1], when: {b: 1}}\nb: {choice: [1], when: {a: 1}}\n\
             c: {choice: [1], when: {a: 1}}\nd: {choice: [1]}",
        );
        assert_eq!(found, ["a: when conditions form a cycle among `a`, `b`"]);
        assert_eq!(
            messages("a: {choice: [1], when: {a: 1}}"),
            ["a: when conditions form a cycle among `a`"]
        );
    }

    #[test]
    fn parameters_come_after_the_ones_their_conditions_name() {
        let space = parse(
            "a: {choice: [1], when: {z: 1}}\nz: {choice: [1], when: {y: 1}}\ny: {choice: [1]}",
        );
        let names: Vec<&str> = space.order().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["y", "z", "a"]);
    }

    #[test]
    fn contains_accepts_assignments_the_space_can_make() {
        let space = parse(EXAMPLE);
        let base = json!({"optimizer": "adam", "lr": 0.001, "layers": 3, "dropout": 0.15});
        assert!(space.contains(&assignment(base.clone())));
        let mut sgd = base.clone();
        sgd["optimizer"] = json!("sgd");
        sgd["momentum"] = json!(0.9);
        assert!(space.contains(&assignment(sgd)));
        let mut edges = base;
        (edges["lr"], edges["layers"], edges["dropout"]) = (json!(1e-5), json!(8), json!(0.5));
        assert!(space.contains(&assignment(edges)));
    }

    #[test]
    fn contains_rejects_values_out_of_range_or_off_the_step() {
        let space = parse(EXAMPLE);
        let base = json!({"optimizer": "adam", "lr": 0.001, "layers": 3, "dropout": 0.15});
        for (name, value) in [
            ("lr", json!(0.2)),
            ("lr", json!(0.0)),
            ("layers", json!(9)),
            ("layers", json!(3.0)),
            ("dropout", json!(0.12)),
            ("dropout", json!(-0.05)),
            ("optimizer", json!("rmsprop")),
            ("optimizer", json!(1)),
        ] {
            let mut bad = base.clone();
            bad[name] = value.clone();
            assert!(
                !space.contains(&assignment(bad)),
                "{name} = {value} was accepted"
            );
        }
    }

    #[test]
    fn contains_rejects_a_wrong_set_of_active_parameters() {
        let space = parse(EXAMPLE);
        let inactive_given =
            json!({"optimizer": "adam", "momentum": 0.9, "lr": 0.001, "layers": 3, "dropout": 0.1});
        let active_missing = json!({"optimizer": "sgd", "lr": 0.001, "layers": 3, "dropout": 0.1});
        let unknown =
            json!({"optimizer": "adam", "lr": 0.001, "layers": 3, "dropout": 0.1, "x": 1});
        let missing = json!({"optimizer": "adam", "lr": 0.001, "layers": 3});
        for bad in [inactive_given, active_missing, unknown, missing] {
            assert!(
                !space.contains(&assignment(bad.clone())),
                "{bad} was accepted"
            );
        }
    }

    #[test]
    fn conditions_on_a_list_allow_any_of_its_values_and_numbers_match_by_value() {
        let space = parse(
            "o: {choice: [sgd, adam, rmsprop]}\n\
             b: {choice: [1.0, 2.0], when: {o: [sgd, rmsprop]}}\n\
             c: {uniform: [0, 1], when: {b: 2}}",
        );
        assert!(space.check().is_empty(), "{:?}", space.check());
        assert!(space.contains(&assignment(json!({"o": "rmsprop", "b": 1}))));
        assert!(space.contains(&assignment(json!({"o": "sgd", "b": 2, "c": 0.5}))));
        assert!(!space.contains(&assignment(json!({"o": "adam", "b": 1}))));
        assert!(!space.contains(&assignment(json!({"o": "sgd", "b": 1, "c": 0.5}))));
    }

    #[test]
    fn the_json_schema_describes_the_yaml_shape() {
        let schema = serde_json::to_string(&schemars::schema_for!(Space)).unwrap();
        for key in ["log_uniform", "int_uniform", "choice", "when", "\"q\""] {
            assert!(schema.contains(key), "{key} missing from {schema}");
        }
    }
}
