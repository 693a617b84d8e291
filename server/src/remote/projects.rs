//! The project commands: `millrace project member add|remove|list`.

use super::client;
use crate::cli::{MemberCommand, ProjectArgs, ProjectCommand};
use anyhow::Context;
use reqwest::Method;
use serde_json::Value;

/// Runs a `millrace project` subcommand.
pub async fn run(args: ProjectArgs) -> anyhow::Result<()> {
    let client = client(&args.remote)?;
    let ProjectCommand::Member(command) = args.command;
    match command {
        MemberCommand::Add { project, user } => {
            let _: Value = client
                .call(Method::PUT, &members(&project, Some(&user))?)
                .await
                .with_context(|| format!("adding {user} to {project}"))?;
            println!("{user} is a member of {project}: they read and write it");
        }
        MemberCommand::Remove { project, user } => {
            let _: Value = client
                .call(Method::DELETE, &members(&project, Some(&user))?)
                .await
                .with_context(|| format!("removing {user} from {project}"))?;
            println!("{user} is no longer a member of {project}");
        }
        MemberCommand::List { project } => {
            let listed: Value = client
                .get(&members(&project, None)?)
                .await
                .with_context(|| format!("listing the members of {project}"))?;
            println!("{}\towner", text(&listed["owner"]));
            for member in listed["members"].as_array().into_iter().flatten() {
                println!("{}\tmember", text(&member["name"]));
            }
        }
    }
    Ok(())
}

/// The API path of `project`'s members (or of one of them), after checking it is owner/name.
fn members(project: &str, user: Option<&str>) -> anyhow::Result<String> {
    let (owner, name) = project
        .split_once('/')
        .filter(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'))
        .with_context(|| format!("'{project}' is not OWNER/PROJECT"))?;
    let base = format!("/api/v1/projects/{owner}/{name}/members");
    Ok(match user {
        Some(user) => format!("{base}/{}", app::url::encode_component(user)),
        None => base,
    })
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::members;

    #[test]
    fn member_paths_need_an_owner_and_a_project() {
        assert_eq!(
            members("ann/xray", Some("ben")).unwrap(),
            "/api/v1/projects/ann/xray/members/ben"
        );
        assert!(members("xray", None).is_err());
        assert!(members("ann/x/y", None).is_err());
    }
}
