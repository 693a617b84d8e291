//! Pipeline specs: the issue's example parses and resolves; each mistake is refused at its place.

use super::*;
use crate::spec::{parse_pipeline, CommandLine, SpecError};

const TRAIN_EVAL: &str = "\
pipeline: train-eval
project: ann/vision
params: {epochs: 3, lr: 0.01}
steps:
  prep:
    command: python prep.py --out data/
    code: .
    outputs: [data/]
  train:
    needs: [prep]
    command: python train.py --data inputs/prep/data --epochs {{epochs}} --lr {{lr}}
    code: .
    outputs: [model.pt]
    resources: {gpus: 1}
    metrics: {names: [loss]}
  evaluate:
    needs: [train]
    for_each: {split: [val, test]}
    command: python eval.py --model inputs/train/model.pt --split {{split}}
    code: .
    metrics: {names: [acc]}
";

const TUNED: &str = "\
pipeline: tuned
project: ann/vision
steps:
  tune:
    command: python train.py --lr {{lr}} --depth {{depth}}
    metrics: {names: [loss]}
    sweep:
      space:
        lr: {log_uniform: [0.0001, 0.1]}
        depth: {choice: [2, 4]}
      objective: {metric: loss, goal: minimize}
      trials: 8
      parallel: 2
  final:
    needs: [tune]
    command: python train.py --lr {{steps.tune.best.lr}} --epochs 50 --best {{steps.tune.best.value}}
";

fn error(text: &str) -> SpecError {
    parse_pipeline("p.yaml", text).expect_err("the spec is wrong")
}

#[test]
fn the_issues_example_parses_and_each_step_resolves_to_its_job() {
    let spec = parse_pipeline("p.yaml", TRAIN_EVAL).unwrap();
    assert_eq!(spec.order(), ["prep", "train", "evaluate"]);
    let depths: Vec<(&str, usize)> = spec.depths().into_iter().collect();
    assert_eq!(depths, [("evaluate", 2), ("prep", 0), ("train", 1)]);
    assert_eq!(spec.fan_out("evaluate").len(), 2);
    assert_eq!(spec.fan_out("train").len(), 1);

    let inputs = vec![PlanInput {
        dir: input_dir("prep", None),
        job: "job-a".into(),
    }];
    let train = spec.job_request("train", 0, &BestValues::new(), Some("sha".into()), inputs);
    assert_eq!(train.name, "train-eval-train");
    assert_eq!(
        train.plan.command,
        CommandLine::Shell("python train.py --data inputs/prep/data --epochs 3 --lr 0.01".into())
    );
    assert_eq!(train.plan.artifacts, ["model.pt"]);
    assert_eq!(train.plan.inputs[0].dir, "inputs/prep");
    assert_eq!(train.gpus, 1);

    let prep = spec.job_request("prep", 0, &BestValues::new(), None, Vec::new());
    assert_eq!(
        prep.plan.artifacts,
        ["data/**"],
        "a folder output keeps what is under it"
    );

    let test = spec.job_request("evaluate", 1, &BestValues::new(), None, Vec::new());
    assert_eq!(test.name, "train-eval-evaluate-1");
    assert_eq!(
        test.plan.command,
        CommandLine::Shell("python eval.py --model inputs/train/model.pt --split test".into())
    );
    assert_eq!(test.params["split"], "test");
}

#[test]
fn for_each_runs_every_combination_with_the_last_key_fastest() {
    let text = TRAIN_EVAL.replace(
        "for_each: {split: [val, test]}",
        "for_each: {split: [val, test], seed: [1, 2, 3]}",
    );
    let spec = parse_pipeline("p.yaml", &text.replace("{{split}}", "{{split}} {{seed}}")).unwrap();
    let runs: Vec<String> = spec
        .fan_out("evaluate")
        .iter()
        .map(|c| format!("{}-{}", c["seed"], c["split"].as_str().unwrap()))
        .collect();
    // Keys in name order (seed before split), the last one changing fastest.
    assert_eq!(
        runs,
        ["1-val", "1-test", "2-val", "2-test", "3-val", "3-test"]
    );
}

#[test]
fn a_sweep_steps_best_values_reach_the_step_that_needs_it() {
    let spec = parse_pipeline("p.yaml", TUNED).unwrap();
    let sweep = spec.sweep_spec("tune", &BestValues::new()).unwrap();
    assert_eq!((sweep.sweep.as_str(), sweep.trials), ("tuned-tune", 8));
    let mut best = BestValues::new();
    best.insert("steps.tune.best.lr".into(), 0.0123.into());
    best.insert("steps.tune.best.depth".into(), 4.into());
    best.insert("steps.tune.best.value".into(), 0.25.into());
    let job = spec.job_request("final", 0, &best, None, Vec::new());
    assert_eq!(
        job.plan.command,
        CommandLine::Shell("python train.py --lr 0.0123 --epochs 50 --best 0.25".into())
    );
    assert_eq!(job.params["steps.tune.best.lr"], 0.0123);
}

#[test]
fn a_cycle_is_refused_naming_it_where_it_closes() {
    let text = TRAIN_EVAL.replace("  prep:\n", "  prep:\n    needs: [evaluate]\n");
    let e = error(&text);
    assert_eq!(e.field.as_deref(), Some("steps.evaluate.needs.0"));
    assert!(
        e.message.contains("evaluate → train → prep → evaluate"),
        "{}",
        e.message
    );
    assert_eq!((e.line, e.column), (Some(18), Some(13)), "{e}");
}

#[test]
fn a_long_chain_is_checked_without_deep_recursion() {
    let mut text = String::from("pipeline: chain\nproject: a/b\nsteps:\n");
    for i in 0..MAX_STEPS {
        text.push_str(&format!("  s{i}:\n    command: echo {i}\n"));
        if i > 0 {
            text.push_str(&format!("    needs: [s{}]\n", i - 1));
        }
    }
    let spec = parse_pipeline("p.yaml", &text).unwrap();
    assert_eq!(spec.depths()["s999"], 999);
    let cyclic = text.replace("  s0:\n", "  s0:\n    needs: [s999]\n");
    assert!(error(&cyclic).message.contains("cycle"));
}

#[test]
fn an_unknown_step_in_needs_is_refused_with_the_nearest_name() {
    let e = error(&TRAIN_EVAL.replace("needs: [prep]", "needs: [perp]"));
    assert_eq!(e.field.as_deref(), Some("steps.train.needs.0"));
    assert_eq!(e.message, "there is no step `perp`; did you mean `prep`?");
    assert_eq!((e.line, e.column), (Some(10), Some(13)), "{e}");
}

#[test]
fn a_reference_to_a_step_that_is_not_a_sweep_is_refused() {
    let text = TRAIN_EVAL.replace("--lr {{lr}}", "--lr {{steps.prep.best.lr}}");
    let e = error(&text);
    assert_eq!(e.field.as_deref(), Some("steps.train.command"));
    assert!(
        e.message.contains("step `prep` is not a sweep"),
        "{}",
        e.message
    );
    assert_eq!(e.line, Some(11), "{e}");

    let unknown = error(&TUNED.replace("best.lr}}", "best.momentum}}"));
    assert!(
        unknown.message.contains("searches no `momentum`"),
        "{}",
        unknown.message
    );
    let not_needed = error(&TUNED.replace("    needs: [tune]\n", ""));
    assert!(
        not_needed
            .message
            .contains("add `tune` to this step's needs"),
        "{}",
        not_needed.message
    );
}

#[test]
fn reading_the_inputs_of_a_step_not_needed_is_refused() {
    let e = error(&TRAIN_EVAL.replace("--model inputs/train/", "--model inputs/prep/"));
    assert_eq!(e.field.as_deref(), Some("steps.evaluate.command"));
    assert!(e.message.contains("does not need `prep`"), "{}", e.message);
    // A longer path that merely holds the word is not an input.
    let spec = TRAIN_EVAL.replace("--out data/", "--out /scratch/inputs/prep");
    parse_pipeline("p.yaml", &spec).unwrap();
}

#[test]
fn step_level_mistakes_point_into_the_step() {
    let e = error(&TRAIN_EVAL.replace("resources: {gpus: 1}", "resources: {gpus: 100}"));
    assert_eq!(e.field.as_deref(), Some("steps.train.resources.gpus"));
    let e = error(&TRAIN_EVAL.replace("outputs: [model.pt]", "outputs: [../model.pt]"));
    assert_eq!(e.field.as_deref(), Some("steps.train.outputs.0"));
    let e = error(&TRAIN_EVAL.replace("--epochs {{epochs}}", "--epochs {{epochz}}"));
    assert_eq!(e.field.as_deref(), Some("steps.train.command"));
    let e = error(&TRAIN_EVAL.replace(
        "    code: .\n    outputs: [model.pt]",
        "    code: .\n    outputz: [model.pt]",
    ));
    assert!(
        e.message.contains("did you mean `outputs`"),
        "{}",
        e.message
    );
    let e = error(&TUNED.replace("trials: 8", "trials: 0"));
    assert_eq!(e.field.as_deref(), Some("steps.tune.sweep.trials"));
    let e = error(&TRAIN_EVAL.replace("for_each: {split: [val, test]}", "for_each: {split: []}"));
    assert_eq!(e.field.as_deref(), Some("steps.evaluate.for_each.split"));
    let e = error(
        &TRAIN_EVAL
            .replace("  prep:\n", "  pre.p:\n")
            .replace("[prep]", "[pre.p]"),
    );
    assert!(e.message.contains("cannot hold a '.'"), "{}", e.message);
}

#[test]
fn the_hash_follows_the_spec_and_code_and_a_steps_definition_only_its_own() {
    let spec = parse_pipeline("p.yaml", TRAIN_EVAL).unwrap();
    let request = |spec: &PipelineSpec, sha: &str| PipelineRequest {
        spec: spec.clone(),
        snapshots: [(".".to_owned(), sha.to_owned())].into(),
    };
    let a = request(&spec, "one");
    assert_eq!(a.hash(), request(&spec, "one").hash());
    assert_ne!(a.hash(), request(&spec, "two").hash());
    let changed = parse_pipeline(
        "p.yaml",
        &TRAIN_EVAL.replace("--split {{split}}", "--split {{split}} --fast"),
    )
    .unwrap();
    let b = request(&changed, "one");
    assert_ne!(a.hash(), b.hash());
    assert_eq!(a.definition_hash("train"), b.definition_hash("train"));
    assert_ne!(a.definition_hash("evaluate"), b.definition_hash("evaluate"));
}
