//! The pool commands: `apply -f pool.yaml` and `pool list`.

use super::client;
use crate::cli::{ApplyArgs, PoolArgs, PoolCommand};
use crate::spec::PoolSpec;
use anyhow::Context;
use app::runners::pool::{Applied, PoolApplied, PoolInfo};
use reqwest::Method;

/// `millrace apply -f pool.yaml [--dry-run]`: an administrator's call.
pub async fn apply(args: &ApplyArgs, spec: PoolSpec) -> anyhow::Result<()> {
    let settings = spec.settings().map_err(|(path, message)| {
        anyhow::anyhow!("{}: {}: {message}", args.file.display(), path.join("."))
    })?;
    let client = client(&args.remote)?;
    let query = if args.dry_run { "?dry_run=true" } else { "" };
    let answer: PoolApplied = client
        .send_json(
            Method::PUT,
            &format!("/api/v1/pools/{}{query}", spec.pool),
            &settings,
        )
        .await
        .with_context(|| format!("applying pool {}", spec.pool))?;
    let name = &answer.pool;
    let said = match (answer.result, args.dry_run) {
        (Applied::Unchanged, _) => "unchanged".to_owned(),
        (Applied::Created, true) => "would be created".to_owned(),
        (Applied::Changed, true) => "would change".to_owned(),
        (Applied::Created, false) => format!(
            "created; it makes machines when jobs it fits wait: {}/runners",
            client.base()
        ),
        (Applied::Changed, false) => "changed; its machines follow the new settings".to_owned(),
    };
    println!("pool {name}: {said}");
    Ok(())
}

/// Runs a `millrace pool` subcommand.
pub async fn run(args: PoolArgs) -> anyhow::Result<()> {
    let client = client(&args.remote)?;
    match args.command {
        PoolCommand::List => {
            let pools: Vec<PoolInfo> = client
                .get("/api/v1/pools")
                .await
                .context("listing the pools")?;
            for pool in pools {
                let states: Vec<String> = pool
                    .machines
                    .iter()
                    .map(|m| format!("{} {}", m.name, m.state.as_str()))
                    .collect();
                println!(
                    "{}\t{} of {} machines\t{:.2} today\t{:.2} this month\t{}{}",
                    pool.name,
                    pool.machines.len(),
                    pool.settings.max,
                    pool.spent_today,
                    pool.spent_this_month,
                    if states.is_empty() {
                        "-".into()
                    } else {
                        states.join(", ")
                    },
                    pool.held
                        .map(|why| format!("\t({why})"))
                        .unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}
