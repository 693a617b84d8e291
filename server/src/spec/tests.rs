//! Spec parsing: valid specs round-trip; each kind of error names its line, column and field.

use super::*;

const FULL: &str = "\
name: resnet-baseline
project: alice/vision
command: python train.py --lr {{lr}} --epochs {{ epochs }}
code: .
env:
  WANDB_MODE: disabled
params:
  lr: 0.01
  epochs: 3
resources:
  gpus: 2
  labels: [a100, spot]
metrics:
  names: [loss, accuracy]
  format: kv
timeout: 2h 30m
retries: 1
artifacts:
  - checkpoints/*.pt
  - results.json
";

fn error(text: &str) -> SpecError {
    parse("spec.yaml", text).expect_err("the spec is wrong")
}

#[test]
fn a_full_spec_parses_and_round_trips_through_yaml() {
    let spec = parse("spec.yaml", FULL).unwrap();
    assert_eq!(spec.resources.gpus, 2);
    assert_eq!(spec.metrics.as_ref().unwrap().step, "step");
    let again = parse("again.yaml", &serde_yaml_ng::to_string(&spec).unwrap()).unwrap();
    assert_eq!(again, spec);
    let plan = spec.plan(Some("abc".into()));
    assert_eq!(
        plan.command,
        CommandLine::Shell("python train.py --lr 0.01 --epochs 3".into())
    );
    assert_eq!(
        (plan.timeout_s, plan.snapshot.as_deref()),
        (Some(9000), Some("abc"))
    );
}

#[test]
fn the_same_spec_hashes_the_same_and_a_changed_one_differently() {
    let spec = parse("spec.yaml", FULL).unwrap();
    assert_eq!(spec.request(None).hash(), spec.request(None).hash());
    let changed = parse("spec.yaml", &FULL.replace("lr: 0.01", "lr: 0.02")).unwrap();
    assert_ne!(spec.request(None).hash(), changed.request(None).hash());
    assert_ne!(
        spec.request(None).hash(),
        spec.request(Some("x".into())).hash()
    );
}

#[test]
fn a_misspelt_field_is_placed_and_the_nearest_field_suggested() {
    let e = error(&FULL.replace("command:", "comand:"));
    assert_eq!((e.line, e.column), (Some(3), Some(1)));
    assert!(e.message.contains("did you mean `command`?"), "{e}");
    let e = error(&FULL.replace("  gpus: 2", "  gpu: 2"));
    assert_eq!(e.line, Some(11));
    assert!(e.to_string().contains("did you mean `gpus`?"), "{e}");
    assert!(e.to_string().starts_with("spec.yaml:11:"), "{e}");
}

#[test]
fn a_wrong_type_names_the_field_with_its_place() {
    let e = error(&FULL.replace("gpus: 2", "gpus: two"));
    assert_eq!(e.field.as_deref(), Some("resources.gpus"), "{e}");
    assert_eq!((e.line, e.column), (Some(11), Some(9)));
    let e = error(&FULL.replace("retries: 1", "retries: -1"));
    assert_eq!(
        (e.field.as_deref(), e.line),
        (Some("retries"), Some(17)),
        "{e}"
    );
}

#[test]
fn checks_after_parsing_point_at_the_field() {
    let cases = [
        ("{{lr}}", "{{rate}}", "command", 3, "names no parameter"),
        ("gpus: 2", "gpus: 65", "resources.gpus", 11, "0 to 64"),
        (
            "timeout: 2h 30m",
            "timeout: soon",
            "timeout",
            16,
            "not a duration",
        ),
        (
            "project: alice/vision",
            "project: vision",
            "project",
            2,
            "owner/name",
        ),
        (
            "labels: [a100, spot]",
            "labels: [a100, a100]",
            "resources.labels.1",
            12,
            "twice",
        ),
        (
            "  - results.json",
            "  - ../secrets",
            "artifacts.1",
            20,
            "inside",
        ),
        (
            "  WANDB_MODE: disabled",
            "  MILLRACE_TOKEN: x",
            "env.MILLRACE_TOKEN",
            6,
            "set by",
        ),
        (
            "  WANDB_MODE: disabled",
            "  WANDB_API_KEY: •••",
            "env.WANDB_API_KEY",
            6,
            "stands for a hidden value",
        ),
        ("retries: 1", "retries: 11", "retries", 17, "0 to 10"),
        (
            "code: .",
            "code: .\nworkdir: /srv",
            "workdir",
            5,
            "not both",
        ),
    ];
    for (from, to, field, line, words) in cases {
        let e = error(&FULL.replace(from, to));
        assert_eq!(e.field.as_deref(), Some(field), "{e}");
        assert_eq!(e.line, Some(line), "{e}");
        assert!(e.message.contains(words), "{e}");
    }
    let e = error(&FULL.replace("labels: [a100, spot]", "labels: [a100, a100]"));
    assert_eq!(e.column, Some(18), "the second label: {e}");
}

#[test]
fn malformed_yaml_and_missing_fields_are_reported_with_a_place() {
    let e = error("name: [unclosed\nproject: a/b\n");
    assert!(e.line.is_some(), "{e}");
    let e = error("name: x\nproject: a/b\n");
    assert!(e.message.contains("missing field `command`"), "{e}");
    let e = error("");
    assert!(!e.message.is_empty());
}

#[test]
fn a_command_list_is_run_without_a_shell() {
    let spec = parse(
        "s.yaml",
        "name: x\nproject: a/b\ncommand: [python, -c, 'print({{n}})']\nparams: {n: 5}\n",
    )
    .unwrap();
    assert_eq!(
        spec.plan(None).command,
        CommandLine::Argv(vec!["python".into(), "-c".into(), "print(5)".into()])
    );
    let e = error("name: x\nproject: a/b\ncommand: []\n");
    assert_eq!(e.field.as_deref(), Some("command"));
}

#[test]
fn the_published_schemas_are_the_ones_the_code_describes() {
    let job = include_str!("../../../docs/job-spec.schema.json");
    assert_eq!(
        job,
        json_schema(SpecKind::Job),
        "regenerate it: millrace spec schema > docs/job-spec.schema.json"
    );
    assert!(job.contains("\"resources\""));
    let pipeline = include_str!("../../../docs/pipeline-spec.schema.json");
    assert_eq!(
        pipeline,
        json_schema(SpecKind::Pipeline),
        "regenerate it: millrace spec schema pipeline > docs/pipeline-spec.schema.json"
    );
    assert!(pipeline.contains("\"for_each\"") && pipeline.contains("\"objective\""));
}

#[test]
fn gpu_memory_reads_as_cards_are_sold_and_a_model_as_its_words() {
    let spec = parse(
        "spec.yaml",
        &FULL.replace(
            "  gpus: 2\n",
            "  gpus: 2\n  gpu_memory: 40GB\n  gpu_model: GeForce  RTX-4090\n",
        ),
    )
    .unwrap();
    let request = spec.request(None);
    assert_eq!(
        request.gpu_memory_mib,
        Some(38_147),
        "40·10⁹ bytes, rounded up"
    );
    assert_eq!(request.gpu_model.as_deref(), Some("geforce rtx 4090"));
    assert_eq!(request.check(), Ok(()));
    let plain = parse("spec.yaml", FULL).unwrap().request(None);
    let sent = serde_json::to_string(&plain).unwrap();
    assert!(
        !sent.contains("gpu_memory") && !sent.contains("gpu_model"),
        "specs without the needs hash as before, so apply finds them unchanged: {sent}"
    );
    for (text, mib) in [
        ("40GiB", 40_960),
        ("80 gb", 76_294),
        ("512MiB", 512),
        ("1TB", 953_675),
    ] {
        assert_eq!(plan::parse_gpu_memory(text), Ok(mib), "{text}");
    }
}

#[test]
fn bad_gpu_needs_are_placed_and_say_what_to_write() {
    let with = |lines: &str| FULL.replace("  gpus: 2\n", &format!("  gpus: 2\n{lines}"));
    let cases = [
        (
            with("  gpu_memory: 40\n"),
            "resources.gpu_memory",
            "write 40GB or 40GiB",
            12,
        ),
        (
            with("  gpu_memory: 40 furlongs\n"),
            "resources.gpu_memory",
            "unknown unit",
            12,
        ),
        (
            with("  gpu_memory: lots\n"),
            "resources.gpu_memory",
            "such as 40GB",
            12,
        ),
        (
            with("  gpu_memory: 0GB\n"),
            "resources.gpu_memory",
            "such as 40GB",
            12,
        ),
        (
            with("  gpu_memory: 2TiB\n"),
            "resources.gpu_memory",
            "at most 1TiB",
            12,
        ),
        (
            with("  gpu_model: NVIDIA GeForce RTX 4090 Ti\n"),
            "resources.gpu_model",
            "1 to 4 words",
            12,
        ),
        (
            with("  gpu_model: '--'\n"),
            "resources.gpu_model",
            "1 to 4 words",
            12,
        ),
        (
            FULL.replace("  gpus: 2\n", "  gpu_memory: 40GB\n"),
            "resources.gpu_memory",
            "gpus: 1 or more",
            11,
        ),
    ];
    for (text, field, words, line) in cases {
        let e = error(&text);
        assert_eq!(e.field.as_deref(), Some(field), "{e}");
        assert_eq!(e.line, Some(line), "{e}");
        assert!(e.message.contains(words), "{e}");
    }
    let mut request = parse("spec.yaml", FULL).unwrap().request(None);
    request.gpu_model = Some("A100".into());
    let (path, message) = request.check().unwrap_err();
    assert_eq!(
        (path, message.contains("lower-case")),
        (vec!["gpu_model".to_owned()], true)
    );
}
