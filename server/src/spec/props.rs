//! Property tests of the job and sweep spec parsers: generated specs, valid and near-valid
//! (a line dropped, doubled or shifted, YAML anchors, deep nesting, long values, many
//! placeholders), and sweep changes (`PATH=VALUE`): never a panic, always within time, and a
//! spec that parses always yields its jobs.

use super::sweep::SweepSpec;
use super::*;
use crate::sweep::Distribution;
use proptest::prelude::*;
use serde_json::json;
use std::time::{Duration, Instant};

/// Longest any one input may take in a debug build.
const PER_INPUT: Duration = Duration::from_millis(1_000);

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(10_000)
}

/// A scalar as YAML writes it: plain words, numbers, quoted text, long text.
fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,8}",
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| format!("{n:e}")),
        "[ -~]{0,12}".prop_map(|s| format!("{s:?}")),
        (5_990usize..6_010).prop_map(|n| "v".repeat(n)),
        Just("[1, [2, {a: 3}]]".to_owned()),
        Just("~".to_owned()),
    ]
}

/// A command with placeholders, some naming parameters that exist, some many times over.
fn command() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("python train.py --lr {{lr}}".to_owned()),
        Just("run {{ epochs }} {{missing}}".to_owned()),
        (1usize..3_000).prop_map(|n| "{{lr}}".repeat(n)),
        Just("[python, train.py, \"{{lr}}\"]".to_owned()),
        Just("\"\"".to_owned()),
        Just("{{".to_owned()),
    ]
}

fn job_yaml() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            "[a-z][a-z0-9-]{0,12}",
            Just("x".repeat(101)),
            Just("bad name".to_owned())
        ],
        prop_oneof![Just("alice/vision"), Just("alice"), Just("a/b/c")],
        command(),
        prop::collection::vec(("[a-z]{1,4}", scalar()), 0..4),
        prop_oneof![
            Just(""),
            Just("code: ."),
            Just("workdir: /data"),
            Just("workdir: rel")
        ],
        (0u32..100, prop::collection::vec("[a-z0-9]{1,4}", 0..3)),
        prop_oneof![
            Just(""),
            Just("timeout: 2h"),
            Just("timeout: 0s"),
            Just("timeout: forever")
        ],
        prop_oneof![
            Just(""),
            Just("metrics: {names: [loss]}"),
            Just("metrics: {names: []}")
        ],
        prop_oneof![
            Just(""),
            Just("artifacts: ['*.pt']"),
            Just("artifacts: ['../x']"),
            Just("artifacts: ['[']")
        ],
    )
        .prop_map(
            |(
                name,
                project,
                command,
                params,
                place,
                (gpus, labels),
                timeout,
                metrics,
                artifacts,
            )| {
                let params: Vec<String> = [
                    ("lr".to_owned(), "0.01".to_owned()),
                    ("epochs".to_owned(), "3".to_owned()),
                ]
                .into_iter()
                .chain(params)
                .map(|(k, v)| format!("  {k}: {v}"))
                .collect();
                format!(
                    "name: {name}\nproject: {project}\ncommand: {command}\nparams:\n{}\n{place}\n\
                 resources:\n  gpus: {gpus}\n  labels: [{}]\n{timeout}\n{metrics}\n{artifacts}\n",
                    params.join("\n"),
                    labels.join(", ")
                )
            },
        )
}

fn distribution() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(scalar(), 0..5)
            .prop_map(|v| format!("{{choice: [{}]}}", v.join(", "))),
        (any::<f64>(), any::<f64>()).prop_map(|(a, b)| format!("{{uniform: [{a:e}, {b:e}]}}")),
        (0.0f64..1.0, 1.0f64..10.0)
            .prop_map(|(a, b)| format!("{{log_uniform: [{a}, {b}], q: 0.5}}")),
        (any::<i64>(), any::<i64>()).prop_map(|(a, b)| format!("{{int_uniform: [{a}, {b}]}}")),
        (-5i64..5, 5i64..50).prop_map(|(a, b)| format!("{{int_uniform: [{a}, {b}], q: 2}}")),
        Just("{uniform: [1]}".to_owned()),
        Just("{uniform: [0, 1], when: {opt: sgd}}".to_owned()),
    ]
}

fn sweep_yaml() -> impl Strategy<Value = String> {
    (
        command(),
        prop::collection::vec(("lr|opt|epochs|[a-z]{1,3}", distribution()), 1..4),
        prop_oneof![Just("random"), Just("grid"), Just("tpe"), Just("{tpe: {startup_trials: 0}}")],
        (0u32..200_000, 0u32..2_000),
        prop_oneof![Just(""), Just("early_stopping: {median: {min_trials: 3}}"), Just("early_stopping: {asha: {}}")],
    )
        .prop_map(|(command, space, algorithm, (trials, parallel), stopping)| {
            let space: Vec<String> = space.iter().map(|(k, d)| format!("  {k}: {d}")).collect();
            format!(
                "sweep: s\nproject: alice/vision\njob:\n  command: {command}\n  params: {{fixed: 1}}\n\
                 space:\n{}\nobjective: {{metric: loss, goal: minimize}}\nalgorithm: {algorithm}\n\
                 trials: {trials}\nparallel: {parallel}\n{stopping}\n",
                space.join("\n")
            )
        })
}

/// `text` broken at one line: dropped, doubled, shifted right, or cut in the middle.
fn near_miss(text: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    (text, any::<prop::sample::Index>(), 0..5usize).prop_map(|(text, at, how)| {
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let at = at.index(lines.len());
        match how {
            0 => {
                lines.remove(at);
            }
            1 => lines.insert(at, lines[at].clone()),
            2 => lines[at] = format!("   {}", lines[at]),
            3 => {
                lines[at] = lines[at]
                    .chars()
                    .take(lines[at].chars().count() / 2)
                    .collect()
            }
            _ => lines.insert(at, "params: &p {a: 1}\nenv: *p".to_owned()),
        }
        lines.join("\n")
    })
}

/// YAML that stresses the parser itself: deep nesting and nested aliases (a "billion laughs").
fn hostile_yaml() -> impl Strategy<Value = String> {
    prop_oneof![
        (1usize..400).prop_map(|n| format!(
            "name: x\nparams: {}1{}\n",
            "[".repeat(n),
            "]".repeat(n)
        )),
        (1usize..400).prop_map(|n| format!(
            "params:\n{}",
            (0..n)
                .map(|i| format!("{}a:\n", " ".repeat(i * 2)))
                .collect::<String>()
        )),
        (2usize..10).prop_map(|depth| {
            let mut text = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n".to_owned();
            for i in 1..depth {
                let prior = format!("*a{}", i - 1);
                text.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prior; 9].join(", ")));
            }
            format!(
                "{text}name: x\nproject: a/b\ncommand: run\nparams: {{p: *a{}}}\n",
                depth - 1
            )
        }),
    ]
}

/// The values a trial may give each parameter at the edges of its space.
fn edge_assignments(spec: &SweepSpec) -> Vec<crate::sweep::Assignment> {
    let mut all = Vec::new();
    for pick in 0..4usize {
        let assignment = spec
            .space
            .params
            .iter()
            .map(|(name, param)| {
                let value = match &param.distribution {
                    Distribution::Choice(values) => values[pick % values.len()].clone(),
                    Distribution::Uniform { low, high, .. }
                    | Distribution::LogUniform { low, high, .. } => {
                        json!(if pick % 2 == 0 { *low } else { *high })
                    }
                    Distribution::IntUniform { low, high, .. } => {
                        json!(if pick % 2 == 0 { *low } else { *high })
                    }
                };
                (name.clone(), value)
            })
            .collect();
        all.push(assignment);
    }
    all
}

/// The longest string of a command: the limit is on each argument.
fn longest_part(command: &CommandLine) -> usize {
    match command {
        CommandLine::Shell(text) => text.len(),
        CommandLine::Argv(argv) => argv.iter().map(String::len).max().unwrap_or(0),
    }
}

/// Parses `text` both ways; a spec that parses yields its jobs without panicking.
fn exercise(text: &str) -> Result<(), TestCaseError> {
    let start = Instant::now();
    let _ = is_sweep(text);
    if let Ok(spec) = parse("spec.yaml", text) {
        let request = spec.request(None);
        prop_assert!(longest_part(&request.plan.command) <= plan::MAX_COMMAND);
        let _ = request.check();
    }
    if let Ok(spec) = parse_sweep("sweep.yaml", text) {
        for params in edge_assignments(&spec) {
            let request = spec.trial_request(7, &params, None);
            prop_assert!(longest_part(&request.plan.command) <= plan::MAX_COMMAND);
        }
    }
    prop_assert!(
        start.elapsed() < PER_INPUT,
        "{:?} for {} bytes",
        start.elapsed(),
        text.len()
    );
    Ok(())
}

/// A `PATH=VALUE` change of a sweep, aimed at the places that have structure.
fn change() -> impl Strategy<Value = String> {
    let path = prop_oneof![
        Just("space.lr.high"),
        Just("space.lr.low"),
        Just("space.lr.uniform"),
        Just("space.lr.log_uniform"),
        Just("space.lr"),
        Just("space.new"),
        Just("space.lr.uniform.0"),
        Just("space.lr.uniform.9"),
        Just("job.command.0"),
        Just("job.params.fixed"),
        Just("trials"),
        Just("parallel"),
        Just(""),
        Just("."),
        Just("a.b.c"),
    ];
    let value = prop_oneof![
        Just("[1]".to_owned()),
        Just("[]".to_owned()),
        Just("[0, 1]".to_owned()),
        Just("{uniform: [0, 1]}".to_owned()),
        Just("{choice: [a, b]}".to_owned()),
        scalar(),
        Just("[".to_owned()),
    ];
    prop_oneof![
        (path, value).prop_map(|(p, v)| format!("{p}={v}")),
        "[ -~]{0,20}",
    ]
}

const SWEEP: &str =
    "sweep: s\nproject: alice/vision\njob:\n  command: run {{lr}}\n  params: {fixed: 1}\n\
                     space:\n  lr: {log_uniform: [1.0e-5, 1.0e-1]}\n\
                     objective: {metric: loss, goal: minimize}\ntrials: 10\n";

proptest! {
    #![proptest_config(config())]

    #[test]
    fn job_specs_and_their_near_misses_never_panic(text in prop_oneof![job_yaml(), near_miss(job_yaml())]) {
        exercise(&text)?;
    }

    #[test]
    fn sweep_specs_and_their_near_misses_never_panic(text in prop_oneof![sweep_yaml(), near_miss(sweep_yaml())]) {
        exercise(&text)?;
    }


    #[test]
    fn any_sequence_of_sweep_changes_gives_an_error_or_a_valid_spec(
        changes in prop::collection::vec(change(), 0..5),
    ) {
        let start = Instant::now();
        let spec = parse_sweep("sweep.yaml", SWEEP).unwrap();
        if let Ok(changed) = spec.with_changes(&changes) {
            prop_assert!(changed.check().is_ok());
            for params in edge_assignments(&changed) {
                let _ = changed.trial_request(1, &params, None);
            }
        }
        prop_assert!(start.elapsed() < PER_INPUT);
    }
}

proptest! {
    // Few distinct shapes, each large and slow to parse: two hundred cover them.
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn hostile_yaml_is_refused_quickly(text in hostile_yaml()) {
        exercise(&text)?;
    }
}
