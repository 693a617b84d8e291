//! Early stopping of bad trials from their live metric curves: the median stopping rule and
//! ASHA. A curve is a trial's `(step, value)` points in step order; non-finite values are
//! skipped, so a NaN loss never stops (or saves) a trial by itself.

use super::{Direction, Problem};
use app::format::number;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How a sweep stops bad trials early: in YAML `median: {…}` or `asha: {…}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "EarlyStoppingSpec", into = "EarlyStoppingSpec")]
pub enum EarlyStopping {
    /// The median stopping rule.
    Median(MedianRule),
    /// Asynchronous successive halving.
    Asha(Asha),
}

/// The YAML shape of [`EarlyStopping`]: a map with one rule's key. (`serde_yaml_ng` reads
/// externally tagged enums only from `!tags`, so the enum cannot be read directly.)
#[derive(Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "EarlyStopping")]
struct EarlyStoppingSpec {
    /// The median stopping rule: `median: {min_trials, warmup_steps}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    median: Option<MedianRule>,
    /// Asynchronous successive halving: `asha: {min_resource, max_resource, reduction_factor}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    asha: Option<Asha>,
}

impl TryFrom<EarlyStoppingSpec> for EarlyStopping {
    type Error = &'static str;

    fn try_from(spec: EarlyStoppingSpec) -> Result<Self, Self::Error> {
        match (spec.median, spec.asha) {
            (Some(rule), None) => Ok(Self::Median(rule)),
            (None, Some(asha)) => Ok(Self::Asha(asha)),
            _ => Err("give exactly one of `median`, `asha`"),
        }
    }
}

impl From<EarlyStopping> for EarlyStoppingSpec {
    fn from(rule: EarlyStopping) -> Self {
        match rule {
            EarlyStopping::Median(rule) => Self {
                median: Some(rule),
                asha: None,
            },
            EarlyStopping::Asha(asha) => Self {
                median: None,
                asha: Some(asha),
            },
        }
    }
}

// By hand because schemars does not follow `#[serde(try_from)]`: the schema is the YAML shape's.
impl JsonSchema for EarlyStopping {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "EarlyStopping".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        EarlyStoppingSpec::json_schema(generator)
    }
}

/// The median stopping rule (Golovin et al. 2017, Google Vizier): stop a trial whose best
/// value so far is worse than the median of the other trials' running averages (the mean of
/// their values up to the same step), counting only trials that have reached that step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MedianRule {
    /// Other trials that must have reached the step before the rule applies (default 5).
    #[serde(default = "default_min_trials")]
    pub min_trials: usize,
    /// Steps before which no trial is stopped (default 0).
    #[serde(default)]
    pub warmup_steps: i64,
}

fn default_min_trials() -> usize {
    5
}

/// ASHA's stopping variant (Li et al. 2018), as Optuna's successive halving: rungs at steps
/// `min_resource × reduction_factor^k` below `max_resource`. On reaching a rung, a trial goes
/// on only if its value there (that of its first point at or past the rung's step) is among the
/// best `1/reduction_factor` of the values recorded at that rung so far, its own included;
/// ties go on. With fewer than `reduction_factor` values at a rung, every trial goes on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Asha {
    /// Step of the first rung (default 1).
    #[serde(default = "default_min_resource")]
    pub min_resource: i64,
    /// The step a full trial reaches; rungs lie below it.
    pub max_resource: i64,
    /// Each rung is this many times further than the last and keeps this fraction (default 3).
    #[serde(default = "default_reduction_factor")]
    pub reduction_factor: u32,
}

fn default_min_resource() -> i64 {
    1
}

fn default_reduction_factor() -> u32 {
    3
}

/// Why a rule stopped a trial; its `Display` is the sentence shown with the trial.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The median rule fired.
    Median {
        /// The trial's latest step.
        step: i64,
        /// Its best value up to then.
        best: f64,
        /// The median of the other trials' running averages at that step.
        median: f64,
        /// How many other trials that median is of.
        trials: usize,
    },
    /// ASHA did not promote the trial past a rung.
    Asha {
        /// The rung, from 0.
        rung: usize,
        /// The rung's step.
        step: i64,
        /// The trial's value at the rung.
        value: f64,
        /// The worst value that went on.
        cutoff: f64,
        /// The values at the rung, the trial's included.
        trials: usize,
        /// The rule's reduction factor.
        reduction_factor: u32,
    },
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Median {
                step,
                best,
                median,
                trials,
            } => write!(
                f,
                "median rule at step {step}: best {} is worse than the median {} of {trials} \
                 other trials",
                number(best),
                number(median)
            ),
            Self::Asha {
                rung,
                step,
                value,
                cutoff,
                trials,
                reduction_factor,
            } => write!(
                f,
                "ASHA rung {rung} (step {step}): {} is not in the best 1/{reduction_factor} of \
                 {trials} trials at that rung (cutoff {})",
                number(value),
                number(cutoff)
            ),
        }
    }
}

impl EarlyStopping {
    /// What is wrong with the settings; empty when they are usable.
    pub fn check(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        match self {
            Self::Median(rule) => {
                if rule.min_trials == 0 {
                    problems.push(Problem::at("min_trials", "must be at least 1"));
                }
                if rule.warmup_steps < 0 {
                    let message = format!("must be 0 or more, got {}", rule.warmup_steps);
                    problems.push(Problem::at("warmup_steps", message));
                }
            }
            Self::Asha(asha) => {
                if asha.min_resource < 1 {
                    let message = format!("must be at least 1, got {}", asha.min_resource);
                    problems.push(Problem::at("min_resource", message));
                }
                if asha.max_resource <= asha.min_resource {
                    let message = format!(
                        "must be above min_resource ({}), got {}",
                        asha.min_resource, asha.max_resource
                    );
                    problems.push(Problem::at("max_resource", message));
                }
                if asha.reduction_factor < 2 {
                    let message = format!("must be at least 2, got {}", asha.reduction_factor);
                    problems.push(Problem::at("reduction_factor", message));
                }
            }
        }
        problems
    }

    /// Whether to stop `trial` now, given the curves of the sweep's other trials (running or
    /// finished). `judged_to` is the last step of `trial` an earlier call saw (`None` on the
    /// first call), so points may arrive in batches: ASHA judges each rung once, at the first
    /// point past it; the median rule judges the latest point.
    pub fn decide(
        &self,
        direction: Direction,
        trial: &[(i64, f64)],
        others: &[&[(i64, f64)]],
        judged_to: Option<i64>,
    ) -> Option<StopReason> {
        match self {
            Self::Median(rule) => rule.decide(direction, trial, others),
            Self::Asha(asha) => asha.decide(direction, trial, others, judged_to),
        }
    }
}

fn finite(curve: &[(i64, f64)]) -> impl Iterator<Item = (i64, f64)> + '_ {
    curve.iter().copied().filter(|(_, v)| v.is_finite())
}

impl MedianRule {
    /// The median rule's decision for `trial` at its latest step.
    pub fn decide(
        &self,
        direction: Direction,
        trial: &[(i64, f64)],
        others: &[&[(i64, f64)]],
    ) -> Option<StopReason> {
        let (step, _) = finite(trial).last()?;
        if step < self.warmup_steps {
            return None;
        }
        let best =
            finite(trial)
                .map(|(_, v)| v)
                .reduce(|a, b| if direction.better(b, a) { b } else { a })?;
        let mut averages: Vec<f64> = others
            .iter()
            .filter_map(|c| running_average(c, step))
            .collect();
        if averages.len() < self.min_trials.max(1) {
            return None;
        }
        averages.sort_by(f64::total_cmp);
        let middle = averages.len() / 2;
        let median = match averages.len() % 2 {
            1 => averages[middle],
            _ => f64::midpoint(averages[middle - 1], averages[middle]),
        };
        let trials = averages.len();
        direction
            .better(median, best)
            .then_some(StopReason::Median {
                step,
                best,
                median,
                trials,
            })
    }
}

/// The mean of `curve`'s values up to `step`, if it has reached `step`.
fn running_average(curve: &[(i64, f64)], step: i64) -> Option<f64> {
    if !finite(curve).any(|(s, _)| s >= step) {
        return None;
    }
    let (sum, count) = finite(curve)
        .filter(|(s, _)| *s <= step)
        .fold((0.0, 0), |(sum, count), (_, v)| (sum + v, count + 1));
    (count > 0).then(|| sum / count as f64)
}

impl Asha {
    /// The steps of the rungs, lowest first.
    pub fn rungs(&self) -> Vec<i64> {
        if self.min_resource < 1 || self.reduction_factor < 2 {
            return Vec::new();
        }
        std::iter::successors(Some(self.min_resource), |r| {
            r.checked_mul(self.reduction_factor.into())
        })
        .take_while(|r| *r < self.max_resource)
        .collect()
    }

    /// ASHA's decision for `trial`, judged at each rung whose first point at or past it lies
    /// after step `judged_to` (at every rung reached, for `None`), lowest rung first.
    pub fn decide(
        &self,
        direction: Direction,
        trial: &[(i64, f64)],
        others: &[&[(i64, f64)]],
        judged_to: Option<i64>,
    ) -> Option<StopReason> {
        self.rungs().into_iter().enumerate().find_map(|(rung, at)| {
            let (step, value) = finite(trial).find(|(s, _)| *s >= at)?;
            if judged_to.is_some_and(|judged| step <= judged) {
                return None;
            }
            self.judge(direction, rung, at, value, others)
        })
    }

    fn judge(
        &self,
        direction: Direction,
        rung: usize,
        at: i64,
        value: f64,
        others: &[&[(i64, f64)]],
    ) -> Option<StopReason> {
        let mut values: Vec<f64> = others
            .iter()
            .filter_map(|c| finite(c).find(|(s, _)| *s >= at).map(|(_, v)| v))
            .collect();
        values.push(value);
        let reduction_factor = self.reduction_factor as usize;
        if values.len() < reduction_factor {
            return None;
        }
        values.sort_by(|a, b| direction.loss(*a).total_cmp(&direction.loss(*b)));
        let cutoff = values[values.len() / reduction_factor - 1];
        direction.better(cutoff, value).then_some(StopReason::Asha {
            rung,
            step: at,
            value,
            cutoff,
            trials: values.len(),
            reduction_factor: self.reduction_factor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::{Maximize, Minimize};

    /// A curve reporting `values` at steps 10, 20, 30, …
    fn every_ten(values: &[f64]) -> Vec<(i64, f64)> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (10 * (i as i64 + 1), *v))
            .collect()
    }

    fn flat(value: f64, steps: usize) -> Vec<(i64, f64)> {
        every_ten(&vec![value; steps])
    }

    fn refs(curves: &[Vec<(i64, f64)>]) -> Vec<&[(i64, f64)]> {
        curves.iter().map(Vec::as_slice).collect()
    }

    fn median(min_trials: usize, warmup_steps: i64) -> EarlyStopping {
        EarlyStopping::Median(MedianRule {
            min_trials,
            warmup_steps,
        })
    }

    #[test]
    fn the_median_rule_stops_trials_worse_than_the_median_when_minimising() {
        // Six other trials flat at 0.1 … 0.6 to step 40: the median is 0.35.
        let others: Vec<_> = (1..=6).map(|i| flat(i as f64 / 10.0, 4)).collect();
        let rule = median(5, 0);
        let decide =
            |values: &[f64]| rule.decide(Minimize, &every_ten(values), &refs(&others), None);
        let stopped = decide(&[0.9, 0.8, 0.7, 0.6]).expect("0.6 is worse than 0.35");
        assert_eq!(
            stopped.to_string(),
            "median rule at step 40: best 0.6 is worse than the median 0.35 of 6 other trials"
        );
        assert_eq!(decide(&[0.5, 0.4, 0.3, 0.2]), None);
        assert_eq!(decide(&[0.9, 0.35]), None, "equal to the median goes on");
    }

    #[test]
    fn the_median_rule_stops_trials_worse_than_the_median_when_maximising() {
        let others: Vec<_> = (1..=6).map(|i| flat(i as f64 / 10.0, 4)).collect();
        let rule = median(5, 0);
        let decide =
            |values: &[f64]| rule.decide(Maximize, &every_ten(values), &refs(&others), None);
        let stopped = decide(&[0.1, 0.2, 0.3, 0.25]).expect("0.3 is below 0.35");
        assert!(matches!(
            stopped,
            StopReason::Median {
                best: 0.3,
                step: 40,
                trials: 6,
                ..
            }
        ));
        assert_eq!(decide(&[0.1, 0.2, 0.3, 0.5]), None);
    }

    #[test]
    fn the_median_rule_compares_with_running_averages_not_best_values() {
        // Each other trial averages 0.55 by step 20, though its best is 0.1.
        let others = vec![every_ten(&[1.0, 0.1]); 5];
        let rule = median(5, 0);
        assert_eq!(
            rule.decide(Minimize, &every_ten(&[0.6, 0.5]), &refs(&others), None),
            None
        );
        assert!(rule
            .decide(Minimize, &every_ten(&[0.6, 0.56]), &refs(&others), None)
            .is_some());
    }

    #[test]
    fn the_median_rule_waits_for_enough_trials_and_for_the_warmup() {
        let mut others: Vec<_> = (1..=5).map(|i| flat(i as f64 / 10.0, 4)).collect();
        others.push(flat(0.0, 2)); // stopped at step 20, so it does not count at step 40
        let bad = every_ten(&[0.9, 0.9, 0.9, 0.9]);
        assert_eq!(
            median(6, 0).decide(Minimize, &bad, &refs(&others), None),
            None
        );
        let stopped = median(5, 0)
            .decide(Minimize, &bad, &refs(&others), None)
            .expect("five trials reached step 40");
        assert!(matches!(
            stopped,
            StopReason::Median {
                trials: 5,
                median: 0.3,
                ..
            }
        ));
        assert_eq!(
            median(5, 50).decide(Minimize, &bad, &refs(&others), None),
            None
        );
        assert!(median(5, 40)
            .decide(Minimize, &bad, &refs(&others), None)
            .is_some());
    }

    fn asha() -> EarlyStopping {
        EarlyStopping::Asha(Asha {
            min_resource: 1,
            max_resource: 100,
            reduction_factor: 3,
        })
    }

    /// A curve reporting every step from 0 to `last`, at `value` from step 3 on and 1.0 before.
    fn reaching(last: i64, value: f64) -> Vec<(i64, f64)> {
        (0..=last)
            .map(|s| (s, if s >= 3 { value } else { 1.0 }))
            .collect()
    }

    #[test]
    fn asha_places_rungs_at_powers_of_the_reduction_factor() {
        let EarlyStopping::Asha(rule) = asha() else {
            unreachable!()
        };
        assert_eq!(rule.rungs(), [1, 3, 9, 27, 81]);
    }

    #[test]
    fn asha_stops_trials_outside_the_best_third_at_a_rung_when_minimising() {
        // Six trials at rung 1 (step 3) with 0.1 … 0.6; with the newcomer, 7 values keep 2.
        let others: Vec<_> = (1..=6).map(|i| reaching(10, i as f64 / 10.0)).collect();
        let decide = |value| asha().decide(Minimize, &reaching(3, value), &refs(&others), Some(2));
        let stopped = decide(0.41).expect("0.41 is not among the best two");
        assert_eq!(
            stopped.to_string(),
            "ASHA rung 1 (step 3): 0.41 is not in the best 1/3 of 7 trials at that rung \
             (cutoff 0.2)"
        );
        assert_eq!(decide(0.15), None);
        assert_eq!(decide(0.2), None, "a tie with the cutoff goes on");
        // Past the rung, the decision is not taken again.
        assert_eq!(
            asha().decide(Minimize, &reaching(4, 0.9), &refs(&others), Some(3)),
            None
        );
    }

    #[test]
    fn asha_judges_a_rung_crossed_inside_a_batch_of_points_once() {
        let others: Vec<_> = (1..=6).map(|i| reaching(10, i as f64 / 10.0)).collect();
        // Steps 2 to 6 arrive together: rung 1 is judged on the value at step 3.
        let batch = asha().decide(Minimize, &reaching(6, 0.41), &refs(&others), Some(1));
        assert!(matches!(
            batch,
            Some(StopReason::Asha {
                rung: 1,
                step: 3,
                value: 0.41,
                ..
            })
        ));
        let later = asha().decide(Minimize, &reaching(8, 0.41), &refs(&others), Some(6));
        assert_eq!(
            later, None,
            "rung 1 was judged already and rung 2 (step 9) is not reached"
        );
    }

    #[test]
    fn asha_stops_trials_outside_the_best_third_at_a_rung_when_maximising() {
        let others: Vec<_> = (1..=6).map(|i| reaching(10, i as f64 / 10.0)).collect();
        let decide = |value| asha().decide(Maximize, &reaching(3, value), &refs(&others), None);
        assert!(matches!(
            decide(0.41),
            Some(StopReason::Asha {
                cutoff: 0.5,
                rung: 1,
                ..
            })
        ));
        assert_eq!(decide(0.55), None);
    }

    #[test]
    fn asha_lets_trials_on_while_a_rung_has_fewer_values_than_the_factor() {
        let others = vec![reaching(10, 0.1)];
        assert_eq!(
            asha().decide(Minimize, &reaching(3, 0.9), &refs(&others), None),
            None
        );
        let others = vec![reaching(10, 0.1), reaching(10, 0.2)];
        assert!(asha()
            .decide(Minimize, &reaching(3, 0.9), &refs(&others), None)
            .is_some());
    }

    #[test]
    fn asha_judges_every_rung_a_jump_crosses_and_reads_others_at_their_first_point_past_it() {
        // Others report at steps 0, 2, 4, …: their rung-1 value is the one at step 4.
        let others: Vec<Vec<(i64, f64)>> = (1..=5)
            .map(|i| {
                (0..=5)
                    .map(|k| (2 * k, if k >= 2 { i as f64 } else { 0.0 }))
                    .collect()
            })
            .collect();
        // Jumping from step 0 to step 5 crosses rungs 0 (step 1) and 1 (step 3); the first fails.
        let jump = [(0, 0.0), (5, 9.0)];
        let stopped = asha()
            .decide(Minimize, &jump, &refs(&others), None)
            .expect("9 is the worst");
        assert!(
            matches!(
                stopped,
                StopReason::Asha {
                    rung: 0,
                    step: 1,
                    cutoff: 0.0,
                    ..
                }
            ),
            "{stopped:?}"
        );
        // Past rung 0 already, these reach rung 1, where the others stand at 1 … 5 (at step 4).
        let reach = |value| {
            asha().decide(
                Minimize,
                &[(0, 0.0), (2, 0.0), (5, value)],
                &refs(&others),
                Some(2),
            )
        };
        assert_eq!(reach(1.5), None);
        assert!(matches!(
            reach(2.5),
            Some(StopReason::Asha {
                rung: 1,
                step: 3,
                cutoff: 2.0,
                ..
            })
        ));
    }

    #[test]
    fn non_finite_values_are_ignored() {
        let others: Vec<_> = (1..=6).map(|i| reaching(10, i as f64 / 10.0)).collect();
        let mut trial = reaching(3, 0.9);
        trial.push((4, f64::NAN));
        assert!(asha()
            .decide(Minimize, &trial, &refs(&others), None)
            .is_some());
        let nan_only = vec![(10, f64::NAN)];
        assert_eq!(
            median(1, 0).decide(Minimize, &nan_only, &refs(&others), None),
            None
        );
    }

    #[test]
    fn settings_parse_with_defaults_and_bad_ones_are_reported() {
        let parse = |yaml| serde_yaml_ng::from_str::<EarlyStopping>(yaml).unwrap();
        assert_eq!(parse("median: {}"), median(5, 0));
        assert_eq!(
            parse("asha: {max_resource: 100}"),
            EarlyStopping::Asha(Asha {
                min_resource: 1,
                max_resource: 100,
                reduction_factor: 3
            })
        );
        let bad = EarlyStopping::Asha(Asha {
            min_resource: 10,
            max_resource: 10,
            reduction_factor: 1,
        });
        let found: Vec<String> = bad.check().iter().map(Problem::to_string).collect();
        assert_eq!(
            found,
            [
                "max_resource: must be above min_resource (10), got 10",
                "reduction_factor: must be at least 2, got 1"
            ]
        );
        assert_eq!(median(0, -1).check().len(), 2);
        let error = |yaml| {
            serde_yaml_ng::from_str::<EarlyStopping>(yaml)
                .unwrap_err()
                .to_string()
        };
        assert!(error("median: {min_trail: 3}").contains("unknown field `min_trail`"));
        assert!(error("{median: {}, asha: {max_resource: 9}}").contains("exactly one of"));
        let json = serde_json::to_value(asha()).unwrap();
        assert_eq!(json["asha"]["max_resource"], 100);
        assert_eq!(
            serde_json::from_value::<EarlyStopping>(json).unwrap(),
            asha()
        );
    }

    #[test]
    fn numbers_in_reasons_are_short() {
        assert_eq!(number(0.41), "0.41");
        assert_eq!(number(0.313_333_3), "0.3133");
        assert_eq!(number(1234.56), "1235");
        assert_eq!(number(0.000_012_345_6), "1.235e-5");
        assert_eq!(number(-2.5), "-2.5");
    }
}
