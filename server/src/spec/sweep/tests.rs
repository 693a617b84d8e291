//! Sweep spec parsing: a full spec round-trips and each bad input names its field and line.

use super::super::{is_sweep, parse_sweep, CommandLine, SpecError};
use super::*;
use serde_json::json;

const SWEEP: &str = "\
sweep: lr-search
project: alice/vision
job:
  command: python train.py --lr {{lr}} --opt {{optimizer}} --momentum={{momentum}} --epochs {{epochs}}
  code: .
  params:
    epochs: 3
  metrics:
    names: [loss]
space:
  optimizer: {choice: [sgd, adam]}
  lr: {log_uniform: [1.0e-5, 1.0e-1]}
  momentum: {uniform: [0.0, 0.99], when: {optimizer: sgd}}
objective: {metric: loss, goal: minimize}
algorithm: {tpe: {startup_trials: 5}}
seed: 7
trials: 30
parallel: 4
early_stopping:
  median: {min_trials: 3}
";

fn error(text: &str) -> SpecError {
    parse_sweep("sweep.yaml", text).expect_err("the sweep spec is wrong")
}

#[test]
fn a_full_sweep_spec_parses_with_defaults_and_round_trips_through_json() {
    let spec = parse_sweep("sweep.yaml", SWEEP).unwrap();
    assert_eq!((spec.trials, spec.parallel, spec.seed), (30, 4, 7));
    assert_eq!(spec.max_failures, 3, "the default");
    assert_eq!(spec.objective.value, ObjectiveValue::Last);
    assert_eq!(spec.objective.goal, Direction::Minimize);
    let json = serde_json::to_string(&spec).unwrap();
    assert_eq!(serde_json::from_str::<SweepSpec>(&json).unwrap(), spec);
    let minimal = parse_sweep(
        "s.yaml",
        "sweep: s\nproject: a/b\njob:\n  command: run {{x}}\nspace: {x: {int_uniform: [1, 3]}}\n\
         objective: {metric: acc, goal: maximize, value: max}\ntrials: 2\n",
    )
    .unwrap();
    assert_eq!(minimal.algorithm, Algorithm::Tpe(Default::default()));
    assert_eq!((minimal.parallel, minimal.early_stopping), (1, None));
}

#[test]
fn a_trial_runs_the_template_with_its_parameters_and_records_only_active_ones() {
    let spec = parse_sweep("sweep.yaml", SWEEP).unwrap();
    let params: Assignment =
        serde_json::from_value(json!({"optimizer": "adam", "lr": 0.01})).unwrap();
    let request = spec.trial_request(12, &params, Some("abc".into()));
    assert_eq!(request.name, "lr-search-12");
    assert_eq!(
        request.plan.command,
        CommandLine::Shell("python train.py --lr 0.01 --opt adam --momentum= --epochs 3".into())
    );
    assert_eq!(request.plan.snapshot.as_deref(), Some("abc"));
    assert_eq!(
        serde_json::Value::Object(request.params.clone()),
        json!({"optimizer": "adam", "lr": 0.01, "epochs": 3})
    );
    assert!(request.check().is_ok());
}

#[test]
fn sweep_files_are_told_from_job_files_by_their_top_level_key() {
    assert!(is_sweep(SWEEP));
    assert!(!is_sweep("name: x\nproject: a/b\ncommand: run\n"));
    assert!(!is_sweep("job: [unclosed"));
}

#[test]
fn each_bad_input_is_refused_with_its_field_line_and_reason() {
    let cases = [
        (
            "  lr: {log_uniform: [1.0e-5, 1.0e-1]}",
            "  lr: {log_uniform: [0, 1.0e-1]}",
            "space.lr",
            12,
            "log_uniform needs both bounds above 0, got low = 0",
        ),
        (
            "parallel: 4",
            "parallel: 0",
            "parallel",
            18,
            "parallel is 1 to 1000",
        ),
        (
            "trials: 30",
            "trials: 0",
            "trials",
            17,
            "trials is 1 to 100000",
        ),
        (
            "seed: 7",
            "seed: 7\nmax_failures: 0",
            "max_failures",
            17,
            "at least 1",
        ),
        (
            "objective: {metric: loss,",
            "objective: {metric: accuracy,",
            "objective.metric",
            14,
            "job.metrics.names does not list `accuracy`",
        ),
        (
            "--epochs {{epochs}}",
            "--epochs {{epoch}}",
            "job.command",
            4,
            "{{epoch}} names no parameter",
        ),
        (
            "    epochs: 3",
            "    epochs: 3\n    lr: 0.1",
            "space.lr",
            13,
            "also a fixed parameter",
        ),
        (
            "  median: {min_trials: 3}",
            "  median: {min_trials: 0}",
            "early_stopping.median.min_trials",
            20,
            "must be at least 1",
        ),
        (
            "algorithm: {tpe: {startup_trials: 5}}",
            "algorithm: {tpe: {gamma: 2}}",
            "algorithm.tpe.gamma",
            15,
            "between 0 and 1",
        ),
        (
            "algorithm: {tpe: {startup_trials: 5}}",
            "algorithm: grid",
            "space.lr",
            12,
            "grid search needs a finite set of values for `lr`: give it `q`",
        ),
        (
            "sweep: lr-search",
            "sweep: lr search",
            "sweep",
            1,
            "letters, digits",
        ),
        (
            "project: alice/vision",
            "project: vision",
            "project",
            2,
            "owner/name",
        ),
    ];
    for (from, to, field, line, words) in cases {
        assert!(SWEEP.contains(from), "{from}");
        let e = error(&SWEEP.replace(from, to));
        assert_eq!(e.field.as_deref(), Some(field), "{e}");
        assert_eq!(e.line, Some(line), "{e}");
        assert!(e.message.contains(words), "{e}");
    }
}

#[test]
fn an_empty_space_is_refused() {
    let e = error(
        &SWEEP
            .replace(
                "  optimizer: {choice: [sgd, adam]}\n  lr: {log_uniform: [1.0e-5, 1.0e-1]}\n  \
         momentum: {uniform: [0.0, 0.99], when: {optimizer: sgd}}\n",
                "",
            )
            .replace("space:\n", "space: {}\n"),
    );
    assert_eq!(e.field.as_deref(), Some("space"), "{e}");
    assert!(e.message.contains("an empty space"), "{e}");
}

#[test]
fn misspelt_fields_are_placed_with_the_nearest_name_suggested() {
    let e = error(&SWEEP.replace("parallel: 4", "paralel: 4"));
    assert_eq!(e.line, Some(18), "{e}");
    assert!(e.message.contains("did you mean `parallel`?"), "{e}");
    let e = error(&SWEEP.replace("early_stopping:", "early_stoping:"));
    assert!(e.message.contains("did you mean `early_stopping`?"), "{e}");
    let e = error(&SWEEP.replace("goal: minimize", "goal: smallest"));
    assert!(e.message.contains("minimize"), "{e}");
    let e = error(&SWEEP.replace("  code: .", "  name: x\n  code: ."));
    assert!(e.message.contains("unknown field `name`"), "{e}");
}

#[test]
fn the_same_spec_and_code_hash_the_same() {
    let spec = parse_sweep("sweep.yaml", SWEEP).unwrap();
    let request = |snapshot: Option<&str>| SweepRequest {
        spec: spec.clone(),
        snapshot: snapshot.map(str::to_owned),
        cloned_from: None,
    };
    assert_eq!(request(None).hash(), request(None).hash());
    assert_ne!(request(None).hash(), request(Some("x")).hash());
}

#[test]
fn changes_widen_a_range_replace_a_parameter_and_are_checked_again() {
    let spec = parse_sweep("sweep.yaml", SWEEP).unwrap();
    let changes = [
        "space.lr.high=1e-0".to_owned(),
        "trials=50".to_owned(),
        "space.depth={int_uniform: [2, 12]}".to_owned(),
    ];
    let wider = spec.with_changes(&changes).unwrap();
    assert_eq!(
        wider.space.params["lr"].distribution,
        sweep::Distribution::LogUniform {
            low: 1e-5,
            high: 1.0,
            q: None
        }
    );
    assert_eq!(wider.trials, 50);
    assert!(wider.space.params.contains_key("depth"));
    assert_eq!(wider.job, spec.job, "what is not changed stays");

    let refused = |change: &str| spec.with_changes(&[change.to_owned()]).unwrap_err();
    assert!(refused("space.lr.low=0").contains("space.lr: log_uniform needs both bounds above 0"));
    assert!(refused("trials").contains("not PATH=VALUE"));
    assert!(refused("space.nope.high=1").contains("the spec has no `nope` there"));
    assert!(refused("parallel=0").contains("parallel is 1 to 1000"));
}

#[test]
fn a_bound_of_a_range_cut_to_one_value_is_an_error_not_a_panic() {
    let spec = parse_sweep("sweep.yaml", SWEEP).unwrap();
    let changes = [
        "space.lr.uniform=[1]".to_owned(),
        "space.lr.high=2".to_owned(),
    ];
    let error = spec.with_changes(&changes).unwrap_err();
    assert!(
        error.contains("space.lr.high: this uniform has no high bound"),
        "{error}"
    );
    let error = spec
        .with_changes(&[
            "space.lr.log_uniform=[]".to_owned(),
            "space.lr.low=1".to_owned(),
        ])
        .unwrap_err();
    assert!(error.contains("has no low bound"), "{error}");
}
