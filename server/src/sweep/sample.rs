//! Drawing values: the numeric view of a distribution that random search and TPE share, and
//! random search itself.

use super::space::{Assignment, Distribution, Space};
use rand::Rng;
use serde_json::Value;

/// A distribution as the samplers see it.
pub(super) enum Dim<'a> {
    /// Unordered values, picked by index.
    Choice(&'a [Value]),
    /// A range, sampled in its own coordinates.
    Numeric(Numeric),
}

/// Sees `distribution` as the samplers do.
pub(super) fn dim(distribution: &Distribution) -> Dim<'_> {
    let numeric = match *distribution {
        Distribution::Choice(ref values) => return Dim::Choice(values),
        Distribution::Uniform { low, high, q } => Numeric::new(low, high, q, Scale::Linear),
        Distribution::LogUniform { low, high, q } => Numeric::new(low, high, q, Scale::Log),
        Distribution::IntUniform { low, high, q } => {
            let step = q.unwrap_or(1) as f64;
            Numeric::new(low as f64, high as f64, Some(step), Scale::Integer)
        }
    };
    Dim::Numeric(numeric)
}

/// A range in sampling coordinates `[lo, hi]`: the logarithm for `log_uniform`, and half a step
/// wider on each side for a quantised range, so its end values are as likely as the others.
pub(super) struct Numeric {
    /// Lowest sampling coordinate.
    pub lo: f64,
    /// Highest sampling coordinate.
    pub hi: f64,
    low: f64,
    high: f64,
    /// The step and the number of steps from `low` to the last value.
    step: Option<(f64, f64)>,
    scale: Scale,
}

#[derive(Clone, Copy, PartialEq)]
enum Scale {
    Linear,
    Log,
    Integer,
}

impl Numeric {
    fn new(low: f64, high: f64, q: Option<f64>, scale: Scale) -> Self {
        // The epsilon keeps `high` on the lattice when (high - low) / q rounds down: 0.3 / 0.1.
        let step = q.map(|q| (q, ((high - low) / q + 1e-9).floor()));
        let (lo, hi) = match step {
            _ if scale == Scale::Log => (low.ln(), high.ln()),
            Some((q, steps)) => (low - q / 2.0, low + steps * q + q / 2.0),
            None => (low, high),
        };
        Self {
            lo,
            hi,
            low,
            high,
            step,
            scale,
        }
    }

    /// The parameter value at sampling coordinate `x`, snapped to the step.
    pub fn value(&self, x: f64) -> Value {
        let raw = if self.scale == Scale::Log { x.exp() } else { x };
        let Some((q, steps)) = self.step else {
            return Value::from(raw.clamp(self.low, self.high));
        };
        let snapped = self.low + ((raw - self.low) / q).round().clamp(0.0, steps) * q;
        if self.scale == Scale::Integer {
            Value::from(snapped.round() as i64)
        } else {
            Value::from(tidy(snapped).clamp(self.low, self.high))
        }
    }

    /// The sampling coordinate of a parameter value, if it is a number within the range.
    pub fn coordinate(&self, value: &Value) -> Option<f64> {
        let v = value
            .as_f64()
            .filter(|v| self.low <= *v && *v <= self.high)?;
        Some(if self.scale == Scale::Log { v.ln() } else { v })
    }
}

/// `v` rounded to 15 significant digits, so `0.05 * 3` reads 0.15 and not 0.15000000000000002.
fn tidy(v: f64) -> f64 {
    format!("{v:.14e}").parse().unwrap_or(v)
}

/// A value drawn from `distribution` itself.
pub(super) fn prior(distribution: &Distribution, rng: &mut impl Rng) -> Value {
    match dim(distribution) {
        Dim::Choice(values) => values[rng.gen_range(0..values.len())].clone(),
        Dim::Numeric(numeric) => numeric.value(rng.gen_range(numeric.lo..numeric.hi)),
    }
}

/// Random search: each active parameter drawn from its distribution, in dependency order.
pub(super) fn random(space: &Space, rng: &mut impl Rng) -> Assignment {
    let mut chosen = Assignment::new();
    for (name, param) in space.order() {
        if Space::is_active(param, &chosen) {
            chosen.insert(name.to_owned(), prior(&param.distribution, rng));
        }
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::super::{suggest, Algorithm, Direction};
    use super::*;
    use std::collections::BTreeSet;

    fn space(yaml: &str) -> Space {
        serde_yaml_ng::from_str(yaml).expect("the space parses")
    }

    fn draws(space: &Space, count: u64) -> Vec<Assignment> {
        (0..count)
            .map(|i| {
                suggest(space, &Algorithm::Random, Direction::Minimize, &[], 7, i)
                    .unwrap()
                    .expect("random never runs out")
            })
            .collect()
    }

    #[test]
    fn sampled_values_stay_within_bounds_with_the_right_types() {
        let space = space(
            "lr: {log_uniform: [1.0e-5, 1.0e-1]}\nlayers: {int_uniform: [1, 8]}\n\
             dropout: {uniform: [0.0, 0.5], q: 0.05}\nwidth: {log_uniform: [16, 1024], q: 16}\n\
             batch: {int_uniform: [8, 64], q: 8}\nw: {uniform: [-2, 3]}",
        );
        for a in draws(&space, 2000) {
            assert!(space.contains(&a), "{a:?}");
            let lr = a["lr"].as_f64().unwrap();
            assert!(lr > 0.0 && (1e-5..=0.1).contains(&lr));
            assert!(a["layers"].is_i64() && (1..=8).contains(&a["layers"].as_i64().unwrap()));
            assert_eq!(a["batch"].as_i64().unwrap() % 8, 0);
            // On the step and free of float noise: 0.15, not 0.15000000000000002.
            assert!(a["dropout"].to_string().len() <= 4, "{}", a["dropout"]);
            let width = a["width"].as_f64().unwrap();
            assert!(
                width % 16.0 == 0.0 && (16.0..=1024.0).contains(&width),
                "{width}"
            );
        }
    }

    #[test]
    fn every_integer_and_step_value_is_reached_including_the_ends() {
        let space = space("layers: {int_uniform: [1, 4]}\ndropout: {uniform: [0.0, 0.2], q: 0.05}");
        let all = draws(&space, 400);
        let layers: BTreeSet<i64> = all.iter().map(|a| a["layers"].as_i64().unwrap()).collect();
        assert_eq!(layers, BTreeSet::from([1, 2, 3, 4]));
        let dropout: BTreeSet<String> = all.iter().map(|a| a["dropout"].to_string()).collect();
        assert_eq!(
            dropout,
            BTreeSet::from(["0.0", "0.05", "0.1", "0.15", "0.2"].map(String::from))
        );
    }

    #[test]
    fn log_uniform_spreads_evenly_over_the_decades() {
        let space = space("lr: {log_uniform: [1.0e-4, 1.0]}");
        let small = draws(&space, 4000)
            .iter()
            .filter(|a| a["lr"].as_f64().unwrap() < 1e-2)
            .count();
        // Half the decades lie below 1e-2; a uniform draw would put 1% there.
        assert!((1800..2200).contains(&small), "{small} of 4000 below 1e-2");
    }

    #[test]
    fn conditional_parameters_are_drawn_exactly_when_active() {
        let space = space(
            "opt: {choice: [sgd, adam]}\n\
             momentum: {uniform: [0, 1], when: {opt: sgd}}\n\
             beta: {choice: [0.9, 0.99], when: {opt: adam}}\n\
             beta2: {uniform: [0, 1], when: {beta: 0.99}}",
        );
        let all = draws(&space, 300);
        for a in &all {
            assert!(space.contains(a), "{a:?}");
        }
        assert!(all.iter().any(|a| a.contains_key("momentum")));
        assert!(all.iter().any(|a| a.contains_key("beta2")));
        assert!(all
            .iter()
            .any(|a| a.contains_key("beta") && !a.contains_key("beta2")));
    }
}
