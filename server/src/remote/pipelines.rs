//! The pipeline commands: `apply -f pipeline.yaml`, `pipeline list`, `show`, `cancel` and
//! `rerun`.

use super::{client, code_snapshot, text};
use crate::cli::{ApplyArgs, PipelineArgs, PipelineCommand};
use crate::client::Client;
use crate::spec::{PipelineRequest, PipelineSpec};
use anyhow::Context;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Runs a `millrace pipeline` subcommand.
pub async fn run(args: PipelineArgs) -> anyhow::Result<()> {
    let client = client(&args.remote)?;
    match args.command {
        PipelineCommand::List { project } => {
            let listed: Value = client
                .get(&format!("/api/v1/projects/{project}/pipelines"))
                .await
                .with_context(|| format!("listing the pipeline runs of {project}"))?;
            for run in listed["runs"].as_array().into_iter().flatten() {
                println!(
                    "{}\t{}\t{}\t{}/{} steps ended\t{}",
                    run["id"],
                    text(&run["name"]),
                    text(&run["state"]),
                    run["ended"],
                    run["step_count"],
                    cost(&run["cost_usd"]),
                );
            }
        }
        PipelineCommand::Show { run } => {
            let shown: Value = client
                .get(&format!("/api/v1/pipelines/{run}"))
                .await
                .with_context(|| format!("reading pipeline run {run}"))?;
            print!("{}", describe(&shown));
        }
        PipelineCommand::Cancel { run } => {
            let answer: Value = client
                .post(&format!("/api/v1/pipelines/{run}/cancel"), &json!({}))
                .await
                .with_context(|| format!("cancelling pipeline run {run}"))?;
            match text(&answer["result"]) {
                "cancelled" => println!("run {run}: cancelled; its running jobs are stopped"),
                _ => println!("run {run}: had already {}", text(&answer["state"])),
            }
        }
        PipelineCommand::Rerun { run, from } => {
            let answer: Value = client
                .post(
                    &format!("/api/v1/pipelines/{run}/rerun"),
                    &json!({ "from": from }),
                )
                .await
                .with_context(|| format!("rerunning pipeline run {run} from {from}"))?;
            let reused = names(&answer["reused"]);
            println!(
                "started run {} from run {run}: {from} and what needs it run again{}: \
                 millrace pipeline show {}",
                answer["id"],
                if reused.is_empty() {
                    String::new()
                } else {
                    format!(", {reused} reused")
                },
                answer["id"]
            );
        }
    }
    Ok(())
}

/// `millrace apply -f pipeline.yaml [--dry-run]`: uploads each code directory the steps name
/// once, then asks the server to start a run.
pub async fn apply(args: &ApplyArgs, spec: PipelineSpec) -> anyhow::Result<()> {
    let client = client(&args.remote)?;
    let mut snapshots = BTreeMap::new();
    for code in spec.steps.values().filter_map(|s| s.code.as_ref()) {
        if !snapshots.contains_key(code) {
            snapshots.insert(code.clone(), code_snapshot(&client, args, code).await?);
        }
    }
    let request = PipelineRequest { spec, snapshots };
    let answer = submit(&client, &request, args.dry_run).await?;
    let name = &request.spec.pipeline;
    let previous = answer["previous"].as_i64().map_or(String::new(), |p| {
        format!(" (the spec changed since run {p})")
    });
    let cached = match names(&answer["cached"]) {
        none if none.is_empty() => String::new(),
        some => format!("; cached: {some}"),
    };
    let id = &answer["id"];
    match (text(&answer["action"]), args.dry_run) {
        ("unchanged", _) => println!(
            "{name}: unchanged, run {id} is {}; change the spec to run it again: millrace \
             pipeline show {id}",
            text(&answer["state"])
        ),
        (_, true) => println!(
            "{name}: would start a new run of {} jobs{previous}{cached}",
            answer["jobs"]
        ),
        (_, false) => println!(
            "{name}: started run {id} of {} jobs{previous}{cached}: millrace pipeline show {id}",
            answer["jobs"]
        ),
    }
    Ok(())
}

async fn submit(
    client: &Client,
    request: &PipelineRequest,
    dry_run: bool,
) -> anyhow::Result<Value> {
    let project = &request.spec.project;
    let query = if dry_run { "?dry_run=true" } else { "" };
    let path = format!("/api/v1/projects/{project}/pipelines{query}");
    let context = || format!("starting pipeline {} in {project}", request.spec.pipeline);
    match client.post(&path, request).await {
        Err(error)
            if !dry_run && super::projects::created_missing(client, project, &error).await? =>
        {
            client.post(&path, request).await.with_context(context)
        }
        answer => answer.with_context(context),
    }
}

/// A JSON list of names as `a, b, c`.
fn names(list: &Value) -> String {
    let names: Vec<&str> = list
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    names.join(", ")
}

fn cost(value: &Value) -> String {
    value
        .as_f64()
        .map_or_else(|| "-".to_owned(), |c| format!("${c:.2}"))
}

/// A run as `pipeline show` prints it: a header, then one line per step instance in the
/// order the steps run.
fn describe(run: &Value) -> String {
    let reason = run["reason"]
        .as_str()
        .map(|r| format!(" ({r})"))
        .unwrap_or_default();
    let rerun = match (run["rerun_of"].as_i64(), run["from_step"].as_str()) {
        (Some(old), Some(from)) => format!(", rerun of run {old} from {from}"),
        _ => String::new(),
    };
    let mut out = format!(
        "run {} of pipeline {} in {}: {}{reason}{rerun}\n{}/{} steps ended, {}\n",
        run["id"],
        text(&run["name"]),
        text(&run["project"]),
        text(&run["state"]),
        run["ended"],
        run["step_count"],
        cost(&run["cost_usd"]),
    );
    let depth = |step: &str| {
        run["graph"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|n| n["name"] == step)
            .and_then(|n| n["depth"].as_u64())
            .unwrap_or(0)
    };
    let mut steps: Vec<&Value> = run["steps"].as_array().into_iter().flatten().collect();
    steps.sort_by_key(|s| (depth(text(&s["step"])), text(&s["step"]).to_owned()));
    for step in steps {
        let job = match step["job"]["number"].as_i64() {
            Some(number) => format!("job #{number}"),
            None => step["sweep"]
                .as_i64()
                .map_or_else(|| "-".to_owned(), |s| format!("sweep {s}")),
        };
        let reason = step["reason"]
            .as_str()
            .map(|r| format!("  {r}"))
            .unwrap_or_default();
        out += &format!(
            "{}[{}]\t{}\t{job}{reason}\n",
            text(&step["step"]),
            step["instance"],
            text(&step["state"]),
        );
    }
    out
}
