//! Sweep suggestion speed, printing its figures (run by bench/sweep.sh): how long TPE takes to
//! suggest the next trial of a sweep with 1,000 finished trials over six parameters of mixed
//! kinds, one of them conditional. The scheduler makes one such call per queued trial.

use server::sweep::{
    suggest, Algorithm, Assignment, Direction, Observation, Outcome, Space, TpeSettings,
};
use std::time::Instant;

const PAST: u64 = 1_000;
const RUNS: u64 = 100;
const SEED: u64 = 42;

const SPACE: &str = "
optimizer: {choice: [sgd, adam, adamw]}
lr: {log_uniform: [1.0e-5, 1.0e-1]}
momentum: {uniform: [0.0, 0.99], when: {optimizer: sgd}}
layers: {int_uniform: [1, 8]}
dropout: {uniform: [0.0, 0.5], q: 0.05}
batch: {int_uniform: [16, 256], q: 16}
";

fn main() {
    let space: Space = serde_yaml_ng::from_str(SPACE).expect("the bench space parses");
    let history = history(&space);
    let tpe = Algorithm::Tpe(TpeSettings::default());
    let mut times = Vec::new();
    for index in PAST..PAST + RUNS {
        let started = Instant::now();
        let next = suggest(&space, &tpe, Direction::Minimize, &history, SEED, index)
            .expect("the bench space is valid")
            .expect("TPE always suggests");
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        assert!(
            space.contains(&next),
            "TPE suggested outside the space: {next:?}"
        );
    }
    times.sort_by(f64::total_cmp);
    let p99 = times[(times.len() * 99).div_ceil(100) - 1];
    println!(
        "TPE suggestion after {PAST} trials over 6 parameters (one conditional): median {:.2} ms, \
         p99 {p99:.2} ms of {RUNS} (aim: under 50 ms)",
        times[times.len() / 2]
    );
}

/// 1,000 random trials scored by a made-up loss: mostly completed, some stopped early by a
/// rule, a few failed, as a real sweep's history looks.
fn history(space: &Space) -> Vec<Observation> {
    (0..PAST)
        .map(|index| {
            let params = suggest(
                space,
                &Algorithm::Random,
                Direction::Minimize,
                &[],
                SEED,
                index,
            )
            .expect("the bench space is valid")
            .expect("random always suggests");
            let value = loss(&params);
            let outcome = match index % 10 {
                0 => Outcome::Failed,
                1..=3 => Outcome::Stopped {
                    value: value + 0.5,
                    step: 10 * (index as i64 % 7 + 1),
                },
                _ => Outcome::Completed(value),
            };
            Observation { params, outcome }
        })
        .collect()
}

fn loss(params: &Assignment) -> f64 {
    let number = |name: &str| {
        params
            .get(name)
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(0.0)
    };
    (number("lr").log10() + 3.0).powi(2)
        + (number("dropout") - 0.2).abs()
        + (number("layers") - 4.0).abs() * 0.1
        + (number("momentum") - 0.9).abs()
}
