//! TPE (Bergstra et al. 2011), one parameter at a time as in Optuna's default sampler: split
//! the trials into good and bad, fit a density to each, and draw the candidate where good is
//! most likely relative to bad.

use super::parzen::{Histogram, Parzen};
use super::sample::{self, dim, Dim};
use super::space::{same_value, Assignment, Distribution, Space};
use super::{Direction, Observation, Outcome, Problem};
use rand::Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::cmp::Reverse;

/// Most trials taken as good, however many there are (Optuna's default split).
const MAX_GOOD: usize = 25;

/// TPE's settings, each with a default.
///
/// Completed trials rank by their value; trials stopped early rank below every completed one,
/// those that got further first. Failed trials, pending ones and non-finite values are left
/// out: parallel trials still differ, because each trial index draws its own candidates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TpeSettings {
    /// Completed or stopped trials drawn at random before TPE takes over (default 10).
    pub startup_trials: u32,
    /// Candidates drawn for each parameter, of which the most promising wins (default 24).
    pub candidates: u32,
    /// Fraction of the trials taken as good, at most 25 of them (default 0.1).
    pub gamma: f64,
}

impl Default for TpeSettings {
    fn default() -> Self {
        Self {
            startup_trials: 10,
            candidates: 24,
            gamma: 0.1,
        }
    }
}

impl TpeSettings {
    /// What is wrong with the settings; empty when they are usable.
    pub fn check(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        if self.candidates == 0 {
            problems.push(Problem::at("candidates", "needs at least 1 candidate"));
        }
        if !(self.gamma > 0.0 && self.gamma < 1.0) {
            problems.push(Problem::at(
                "gamma",
                format!("must lie between 0 and 1, got {}", self.gamma),
            ));
        }
        problems
    }
}

/// The next trial's parameters: at random until there are `startup_trials` ranked trials.
pub(super) fn suggest(
    space: &Space,
    settings: &TpeSettings,
    direction: Direction,
    history: &[Observation],
    rng: &mut impl Rng,
) -> Assignment {
    let ranked = rank(history, direction);
    if ranked.len() < settings.startup_trials as usize {
        return sample::random(space, rng);
    }
    let good = ((settings.gamma * ranked.len() as f64).ceil() as usize).clamp(1, MAX_GOOD);
    let (good, bad) = ranked.split_at(good.min(ranked.len()));
    let mut chosen = Assignment::new();
    for (name, param) in space.order() {
        if Space::is_active(param, &chosen) {
            let value = pick(
                name,
                &param.distribution,
                good,
                bad,
                settings.candidates,
                rng,
            );
            chosen.insert(name.to_owned(), value);
        }
    }
    chosen
}

/// The parameters of the usable trials, best first (see [`TpeSettings`]).
fn rank(history: &[Observation], direction: Direction) -> Vec<&Assignment> {
    let mut usable: Vec<_> = history
        .iter()
        .filter_map(|o| {
            let standing = match o.outcome {
                Outcome::Completed(value) => (false, Reverse(0), direction.loss(value)),
                Outcome::Stopped { value, step } => (true, Reverse(step), direction.loss(value)),
                Outcome::Failed | Outcome::Pending => return None,
            };
            standing.2.is_finite().then_some((standing, &o.params))
        })
        .collect();
    usable.sort_by(|(a, _), (b, _)| (a.0, a.1).cmp(&(b.0, b.1)).then(a.2.total_cmp(&b.2)));
    usable.into_iter().map(|(_, params)| params).collect()
}

/// A value for parameter `name`, fitted only to the trials where it was active.
fn pick(
    name: &str,
    distribution: &Distribution,
    good: &[&Assignment],
    bad: &[&Assignment],
    candidates: u32,
    rng: &mut impl Rng,
) -> Value {
    let observed = |group: &[&Assignment]| -> Vec<Value> {
        group.iter().filter_map(|a| a.get(name).cloned()).collect()
    };
    let (good, bad) = (observed(good), observed(bad));
    match dim(distribution) {
        Dim::Choice(values) => {
            let picks = |seen: &[Value]| -> Vec<usize> {
                seen.iter()
                    .filter_map(|v| values.iter().position(|c| same_value(c, v)))
                    .collect()
            };
            let l = Histogram::fit(&picks(&good), values.len());
            let g = Histogram::fit(&picks(&bad), values.len());
            let best = best_of(candidates, rng, |rng| {
                let i = l.sample(rng);
                (i, l.log_probability(i) - g.log_probability(i))
            });
            values[best].clone()
        }
        Dim::Numeric(numeric) => {
            let points = |seen: &[Value]| -> Vec<f64> {
                seen.iter().filter_map(|v| numeric.coordinate(v)).collect()
            };
            let l = Parzen::fit(&points(&good), numeric.lo, numeric.hi);
            let g = Parzen::fit(&points(&bad), numeric.lo, numeric.hi);
            best_of(candidates, rng, |rng| {
                let x = l.sample(rng);
                let value = numeric.value(x);
                // Scored where the value really lands once snapped to its step.
                let at = numeric.coordinate(&value).unwrap_or(x);
                (value, l.log_density(at) - g.log_density(at))
            })
        }
    }
}

/// The best of `count` scored draws (the first among equals).
fn best_of<T, R: Rng>(count: u32, rng: &mut R, mut draw: impl FnMut(&mut R) -> (T, f64)) -> T {
    let mut best = draw(rng);
    for _ in 1..count {
        let next = draw(rng);
        if next.1 > best.1 {
            best = next;
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::super::{suggest as suggest_trial, Algorithm};
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use serde_json::json;

    fn space(yaml: &str) -> Space {
        serde_yaml_ng::from_str(yaml).expect("the space parses")
    }

    fn tpe() -> Algorithm {
        Algorithm::Tpe(TpeSettings::default())
    }

    fn completed(params: Value, value: f64) -> Observation {
        let params = serde_json::from_value(params).unwrap();
        Observation {
            params,
            outcome: Outcome::Completed(value),
        }
    }

    /// Runs a sweep of `trials` on `objective`, returning every observation in order.
    fn run(
        space: &Space,
        algorithm: &Algorithm,
        seed: u64,
        trials: u64,
        objective: impl Fn(&Assignment, &mut ChaCha8Rng) -> f64,
    ) -> Vec<Observation> {
        let mut noise = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
        let mut history = Vec::new();
        for index in 0..trials {
            let params =
                suggest_trial(space, algorithm, Direction::Minimize, &history, seed, index)
                    .unwrap()
                    .unwrap();
            assert!(
                space.contains(&params),
                "suggested outside the space: {params:?}"
            );
            let value = objective(&params, &mut noise);
            history.push(Observation {
                params,
                outcome: Outcome::Completed(value),
            });
        }
        history
    }

    fn best(history: &[Observation]) -> f64 {
        history
            .iter()
            .filter_map(|o| match o.outcome {
                Outcome::Completed(v) => Some(v),
                _ => None,
            })
            .fold(f64::INFINITY, f64::min)
    }

    #[test]
    fn tpe_beats_random_search_on_a_noisy_quadratic() {
        let space = space("x: {uniform: [-1, 1]}\ny: {uniform: [-1, 1]}");
        let quadratic = |a: &Assignment, noise: &mut ChaCha8Rng| {
            let (x, y) = (a["x"].as_f64().unwrap(), a["y"].as_f64().unwrap());
            (x - 0.3).powi(2) + (y + 0.2).powi(2) + noise.gen_range(-0.005..0.005)
        };
        let mean_best = |algorithm: &Algorithm| {
            (0..10)
                .map(|seed| best(&run(&space, algorithm, seed, 60, quadratic)))
                .sum::<f64>()
                / 10.0
        };
        let (tpe, random) = (mean_best(&tpe()), mean_best(&Algorithm::Random));
        println!("mean best of 60 trials over 10 seeds: TPE {tpe:.5}, random {random:.5}");
        assert!(tpe < random, "TPE {tpe} is not better than random {random}");
    }

    #[test]
    fn tpe_respects_and_learns_conditional_parameters() {
        let space = space(
            "optimizer: {choice: [sgd, adam]}\n\
             momentum: {uniform: [0.0, 1.0], q: 0.05, when: {optimizer: sgd}}\n\
             nesterov: {choice: [true, false], when: {momentum: [0.85, 0.9, 0.95]}}\n\
             lr: {log_uniform: [1.0e-4, 1.0]}",
        );
        // sgd with momentum near 0.9 is best; adam is flat and worse.
        let objective = |a: &Assignment, _: &mut ChaCha8Rng| match a.get("momentum") {
            Some(m) => (m.as_f64().unwrap() - 0.9).abs(),
            None => 0.5,
        };
        let history = run(&space, &tpe(), 3, 60, objective);
        let late = &history[30..];
        let sgd: Vec<f64> = late
            .iter()
            .filter_map(|o| o.params.get("momentum")?.as_f64())
            .collect();
        assert!(
            sgd.len() > 20,
            "only {} of 30 late trials chose sgd",
            sgd.len()
        );
        let distance = sgd.iter().map(|m| (m - 0.9).abs()).sum::<f64>() / sgd.len() as f64;
        assert!(
            distance < 0.15,
            "late sgd trials are {distance} from momentum 0.9 on average"
        );
        assert!(
            late.iter().any(|o| o.params.contains_key("nesterov")),
            "the chained parameter never ran"
        );
    }

    #[test]
    fn suggestions_repeat_for_the_same_inputs_and_differ_across_seeds_and_indices() {
        let space =
            space("x: {uniform: [-1, 1]}\nk: {choice: [a, b, c]}\nn: {int_uniform: [1, 100]}");
        let history = run(&space, &tpe(), 0, 15, |a, _| a["x"].as_f64().unwrap().abs());
        for algorithm in [tpe(), Algorithm::Random] {
            let at = |seed, index| {
                suggest_trial(
                    &space,
                    &algorithm,
                    Direction::Minimize,
                    &history,
                    seed,
                    index,
                )
                .unwrap()
            };
            assert_eq!(at(1, 15), at(1, 15));
            assert_ne!(at(1, 15), at(2, 15));
            assert_ne!(at(1, 15), at(1, 16));
        }
    }

    #[test]
    fn stopped_trials_rank_below_completed_ones_deeper_first_and_unusable_ones_are_dropped() {
        let observation = |id: i64, outcome| Observation {
            params: serde_json::from_value(json!({ "id": id })).unwrap(),
            outcome,
        };
        let history = [
            observation(1, Outcome::Completed(5.0)),
            observation(
                2,
                Outcome::Stopped {
                    value: 0.1,
                    step: 10,
                },
            ),
            observation(
                3,
                Outcome::Stopped {
                    value: 0.2,
                    step: 50,
                },
            ),
            observation(4, Outcome::Failed),
            observation(5, Outcome::Completed(f64::NAN)),
            observation(6, Outcome::Pending),
            observation(7, Outcome::Completed(3.0)),
            observation(
                8,
                Outcome::Stopped {
                    value: 0.05,
                    step: 50,
                },
            ),
            observation(9, Outcome::Completed(f64::NEG_INFINITY)),
        ];
        let ids = |direction| -> Vec<i64> {
            rank(&history, direction)
                .iter()
                .map(|a| a["id"].as_i64().unwrap())
                .collect()
        };
        assert_eq!(ids(Direction::Minimize), [7, 1, 8, 3, 2]);
        assert_eq!(ids(Direction::Maximize), [1, 7, 3, 8, 2]);
    }

    #[test]
    fn maximising_steers_towards_high_values() {
        let space = space("x: {uniform: [0, 1]}");
        let mut history = Vec::new();
        for index in 0..40 {
            let params = suggest_trial(&space, &tpe(), Direction::Maximize, &history, 9, index)
                .unwrap()
                .unwrap();
            let x = params["x"].as_f64().unwrap();
            history.push(Observation {
                params,
                outcome: Outcome::Completed(x),
            });
        }
        let late: f64 = history[20..]
            .iter()
            .map(|o| o.params["x"].as_f64().unwrap())
            .sum::<f64>()
            / 20.0;
        assert!(late > 0.75, "late trials average x = {late}");
    }

    #[test]
    fn broken_values_and_foreign_parameters_in_history_do_not_disturb_tpe() {
        let space =
            space("x: {uniform: [0, 1]}\nk: {choice: [a, b]}\nn: {int_uniform: [1, 4], q: 1}");
        let mut history: Vec<Observation> = (0..30)
            .map(|i| completed(json!({"x": i as f64 / 30.0, "k": "a", "n": 2}), i as f64))
            .collect();
        history.push(completed(json!({"x": 0.5, "k": "a", "n": 2}), f64::NAN));
        history.push(completed(
            json!({"x": 7.0, "k": "zzz", "n": 2.5, "old": 1}),
            0.0,
        ));
        history.push(Observation {
            params: Assignment::new(),
            outcome: Outcome::Stopped {
                value: f64::INFINITY,
                step: 3,
            },
        });
        for index in 0..20 {
            let params = suggest_trial(&space, &tpe(), Direction::Minimize, &history, 4, index)
                .unwrap()
                .unwrap();
            assert!(space.contains(&params), "{params:?}");
        }
    }

    #[test]
    fn bad_settings_are_reported() {
        let settings = TpeSettings {
            candidates: 0,
            gamma: 1.5,
            ..TpeSettings::default()
        };
        let found: Vec<String> = settings.check().iter().map(Problem::to_string).collect();
        assert_eq!(
            found,
            [
                "candidates: needs at least 1 candidate",
                "gamma: must lie between 0 and 1, got 1.5"
            ]
        );
        let space = space("x: {uniform: [0, 1]}");
        let error = suggest_trial(
            &space,
            &Algorithm::Tpe(settings),
            Direction::Minimize,
            &[],
            0,
            0,
        );
        assert!(matches!(error, Err(super::super::SweepError::Invalid(p)) if p.len() == 2));
    }
}
