//! The sweep commands: `apply -f sweep.yaml`, `sweep list`, `show`, `cancel` and `clone`.

use super::{client, code_snapshot, text};
use crate::cli::{ApplyArgs, SweepArgs, SweepCommand};
use crate::client::Client;
use crate::spec::{SweepRequest, SweepSpec};
use anyhow::Context;
use serde_json::{json, Value};

/// Runs a `millrace sweep` subcommand.
pub async fn run(args: SweepArgs) -> anyhow::Result<()> {
    let client = client(&args.remote)?;
    match args.command {
        SweepCommand::List { project } => {
            let listed: Value = client
                .get(&format!("/api/v1/projects/{project}/sweeps"))
                .await
                .with_context(|| format!("listing the sweeps of {project}"))?;
            for sweep in listed["sweeps"].as_array().into_iter().flatten() {
                println!(
                    "{}\t{}\t{}\t{}/{} trials",
                    sweep["id"],
                    text(&sweep["name"]),
                    text(&sweep["state"]),
                    sweep["trial_count"],
                    sweep["budget"]
                );
            }
        }
        SweepCommand::Show { sweep } => {
            let shown = fetch(&client, sweep).await?;
            print!("{}", describe(&shown));
        }
        SweepCommand::Cancel { sweep } => {
            let answer: Value = client
                .post(&format!("/api/v1/sweeps/{sweep}/cancel"), &json!({}))
                .await
                .with_context(|| format!("cancelling sweep {sweep}"))?;
            match text(&answer["result"]) {
                "stopped" => println!("sweep {sweep}: stopped; its running trials are cancelled"),
                _ => println!("sweep {sweep}: had already {}", text(&answer["state"])),
            }
        }
        SweepCommand::Clone { sweep, changes } => {
            // The server applies the changes to the spec it holds: the spec's env values,
            // which it never sends back, carry over.
            let answer: Value = client
                .post(
                    &format!("/api/v1/sweeps/{sweep}/clones"),
                    &json!({ "changes": changes }),
                )
                .await
                .with_context(|| format!("cloning sweep {sweep}"))?;
            println!(
                "started sweep {} from sweep {sweep}, learning from its trials the new space \
                 contains",
                answer["id"]
            );
        }
    }
    Ok(())
}

/// `millrace apply -f sweep.yaml [--dry-run]`.
pub async fn apply(args: &ApplyArgs, spec: SweepSpec) -> anyhow::Result<()> {
    let client = client(&args.remote)?;
    let snapshot = match &spec.job.code {
        Some(code) => Some(code_snapshot(&client, args, code).await?),
        None => None,
    };
    let request = SweepRequest {
        spec,
        snapshot,
        cloned_from: None,
    };
    let answer = submit(&client, &request, args.dry_run).await?;
    let name = &request.spec.sweep;
    let previous = answer["previous"].as_i64().map_or(String::new(), |p| {
        format!(" (the spec changed since sweep {p})")
    });
    let id = &answer["id"];
    match (text(&answer["action"]), args.dry_run) {
        ("unchanged", _) => println!(
            "{name}: unchanged, sweep {id}; change the spec to run it again: millrace sweep show {id}"
        ),
        (_, true) => println!("{name}: would start a new sweep{previous}"),
        (_, false) => println!(
            "{name}: started sweep {id}{previous} of {} trials, {} at a time: millrace sweep show {id}",
            request.spec.trials, request.spec.parallel
        ),
    }
    Ok(())
}

async fn submit(client: &Client, request: &SweepRequest, dry_run: bool) -> anyhow::Result<Value> {
    let project = &request.spec.project;
    let query = if dry_run { "?dry_run=true" } else { "" };
    let path = format!("/api/v1/projects/{project}/sweeps{query}");
    let context = || format!("starting sweep {} in {project}", request.spec.sweep);
    match client.post(&path, request).await {
        Err(error)
            if !dry_run && super::projects::created_missing(client, project, &error).await? =>
        {
            client.post(&path, request).await.with_context(context)
        }
        answer => answer.with_context(context),
    }
}

async fn fetch(client: &Client, sweep: i64) -> anyhow::Result<Value> {
    client
        .get(&format!("/api/v1/sweeps/{sweep}"))
        .await
        .with_context(|| format!("reading sweep {sweep}"))
}

/// A sweep as `sweep show` prints it: a header, the best trial, then one line per trial.
fn describe(sweep: &Value) -> String {
    let objective = &sweep["objective"];
    let mut out = format!(
        "sweep {} {} in {}: {}{}\n{} {} of {}, {}/{} trials\n",
        sweep["id"],
        text(&sweep["name"]),
        text(&sweep["project"]),
        text(&sweep["state"]),
        sweep["reason"]
            .as_str()
            .filter(|r| !r.is_empty())
            .map(|r| format!(" ({r})"))
            .unwrap_or_default(),
        text(&objective["goal"]),
        text(&objective["value"]),
        text(&objective["metric"]),
        sweep["trial_count"],
        sweep["budget"],
    );
    if let Some(best) = sweep["best"].as_object() {
        out += &format!(
            "best: trial {} = {} (job #{}) {}\n",
            best["index"], best["value"], best["job"]["number"], best["params"]
        );
    }
    for trial in sweep["trials"].as_array().into_iter().flatten() {
        let reason = trial["reason"]
            .as_str()
            .map(|r| format!("  {r}"))
            .unwrap_or_default();
        out += &format!(
            "{}\t{}\t{}\tjob #{}\t{}{reason}\n",
            trial["index"],
            text(&trial["state"]),
            trial["value"],
            trial["job"]["number"],
            trial["params"],
        );
    }
    out
}
