//! `millrace model ls|show|alias`: the model registry from the command line, through the same
//! MLflow registry API the training code registers models with.

use super::client;
use crate::cli::{ModelArgs, ModelCommand};
use crate::client::Client;
use anyhow::Context;
use app::url::encode_component;
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

/// A registered model as MLflow's API answers it (the fields shown here).
#[derive(Debug, Deserialize)]
struct Registered {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    latest_versions: Vec<Version>,
    #[serde(default)]
    aliases: Vec<Alias>,
}

/// An alias and the version it names.
#[derive(Debug, Deserialize)]
struct Alias {
    alias: String,
    version: String,
}

/// A model version as MLflow's API answers it (the fields shown here).
#[derive(Debug, Deserialize)]
struct Version {
    version: String,
    #[serde(default)]
    current_stage: String,
    #[serde(default)]
    aliases: Vec<String>,
    run_id: Option<String>,
    model_id: Option<String>,
    #[serde(default)]
    source: String,
    #[serde(default)]
    description: String,
}

#[derive(Debug, Deserialize)]
struct ModelPage {
    #[serde(default)]
    registered_models: Vec<Registered>,
    next_page_token: Option<String>,
}

#[derive(Debug, Deserialize)]
struct VersionPage {
    #[serde(default)]
    model_versions: Vec<Version>,
    next_page_token: Option<String>,
}

#[derive(Debug, Deserialize)]
struct OneModel {
    registered_model: Registered,
}

/// The registry calls' path prefix.
const API: &str = "/api/2.0/mlflow";

/// Runs a `millrace model` subcommand.
pub async fn run(args: ModelArgs) -> anyhow::Result<()> {
    let client = client(&args.remote)?;
    match args.command {
        ModelCommand::Ls { name } => {
            for model in list(&client, name.as_deref()).await? {
                println!("{}", model_line(&model));
            }
        }
        ModelCommand::Show { name } => {
            let path = format!(
                "{API}/registered-models/get?name={}",
                encode_component(&name)
            );
            let shown: OneModel = client
                .get(&path)
                .await
                .with_context(|| format!("reading model {name}"))?;
            println!("{}", shown.registered_model.name);
            if !shown.registered_model.description.is_empty() {
                println!("  {}", shown.registered_model.description);
            }
            for version in versions(&client, &name).await? {
                println!("{}", version_line(&version));
            }
        }
        ModelCommand::Alias {
            name,
            alias,
            version,
            delete,
        } => {
            let body = json!({ "name": name, "alias": alias, "version": version });
            let path = format!("{API}/registered-models/alias");
            if delete {
                client
                    .send_json::<_, serde_json::Value>(Method::DELETE, &path, &body)
                    .await
                    .with_context(|| format!("removing alias {alias} of {name}"))?;
                println!("{name}@{alias} removed");
            } else {
                let _: serde_json::Value = client
                    .post(&path, &body)
                    .await
                    .with_context(|| format!("setting alias {alias} of {name}"))?;
                let version = version.unwrap_or_default();
                println!("{name}@{alias} -> version {version}");
            }
        }
    }
    Ok(())
}

/// Every registered model the caller may see, by name, page by page; only those whose name
/// contains `part`, if given.
async fn list(client: &Client, part: Option<&str>) -> anyhow::Result<Vec<Registered>> {
    // MLflow's filter language has no escape for a quote: a quote matches any one character.
    let filter = part.map(|p| format!("name ILIKE '%{}%'", p.replace('\'', "_")));
    let mut found = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut path = format!("{API}/registered-models/search?max_results=1000");
        if let Some(filter) = &filter {
            path.push_str(&format!("&filter={}", encode_component(filter)));
        }
        if let Some(token) = &token {
            path.push_str(&format!("&page_token={}", encode_component(token)));
        }
        let page: ModelPage = client
            .get(&path)
            .await
            .context("listing registered models")?;
        found.extend(page.registered_models);
        match page.next_page_token.filter(|t| !t.is_empty()) {
            Some(next) => token = Some(next),
            None => return Ok(found),
        }
    }
}

/// Every version of model `name`, newest first.
async fn versions(client: &Client, name: &str) -> anyhow::Result<Vec<Version>> {
    let filter = format!("name = '{}'", name.replace('\'', "_"));
    let mut found = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut path = format!(
            "{API}/model-versions/search?filter={}&order_by={}&max_results=10000",
            encode_component(&filter),
            encode_component("version_number DESC")
        );
        if let Some(token) = &token {
            path.push_str(&format!("&page_token={}", encode_component(token)));
        }
        let page: VersionPage = client
            .get(&path)
            .await
            .with_context(|| format!("listing the versions of {name}"))?;
        found.extend(page.model_versions);
        match page.next_page_token.filter(|t| !t.is_empty()) {
            Some(next) => token = Some(next),
            None => return Ok(found),
        }
    }
}

/// `name  vN  @alias=N ...  description` for `ls`.
fn model_line(model: &Registered) -> String {
    let latest = model
        .latest_versions
        .iter()
        .filter_map(|v| v.version.parse::<i64>().ok())
        .max()
        .map_or_else(|| "-".to_owned(), |v| format!("v{v}"));
    let aliases: Vec<String> = model
        .aliases
        .iter()
        .map(|a| format!("@{}=v{}", a.alias, a.version))
        .collect();
    let mut line = format!("{:<30}  {latest:>5}", model.name);
    if !aliases.is_empty() {
        line.push_str(&format!("  {}", aliases.join(" ")));
    }
    if !model.description.is_empty() {
        line.push_str(&format!("  {}", first_line(&model.description)));
    }
    line
}

/// `  vN  stage  @alias ...  run RUN  model M  source` for `show`.
fn version_line(version: &Version) -> String {
    let mut line = format!("  v{:<4} {:<10}", version.version, version.current_stage);
    for alias in &version.aliases {
        line.push_str(&format!(" @{alias}"));
    }
    if let Some(run) = version.run_id.as_deref().filter(|r| !r.is_empty()) {
        line.push_str(&format!("  run {run}"));
    }
    match version.model_id.as_deref().filter(|m| !m.is_empty()) {
        Some(model) => line.push_str(&format!("  model {model}")),
        None => line.push_str(&format!("  {}", version.source)),
    }
    if !version.description.is_empty() {
        line.push_str(&format!("  {}", first_line(&version.description)));
    }
    line
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_show_the_latest_version_aliases_and_where_a_version_came_from() {
        let model: Registered = serde_json::from_value(json!({
            "name": "churn", "description": "weekly\nretrained",
            "latest_versions": [{ "version": "2" }, { "version": "10" }],
            "aliases": [{ "alias": "champion", "version": "2" }],
        }))
        .unwrap();
        let line = model_line(&model);
        assert!(line.starts_with("churn "), "{line}");
        assert!(line.ends_with("v10  @champion=v2  weekly"), "{line}");
        let version: Version = serde_json::from_value(json!({
            "version": "2", "current_stage": "None", "aliases": ["champion"],
            "run_id": "r1", "model_id": "m-1", "source": "models:/m-1",
        }))
        .unwrap();
        assert_eq!(
            version_line(&version),
            "  v2    None       @champion  run r1  model m-1"
        );
    }
}
