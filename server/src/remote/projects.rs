//! The project commands: `millrace project create|list|show|member`, and making a missing
//! project of your own when a job or sweep is sent to it.

use super::{client, text};
use crate::cli::{MemberCommand, ProjectArgs, ProjectCommand};
use crate::client::{CallError, Client};
use anyhow::{bail, Context};
use app::model::{Me, NewProject, Page, ProjectSummary};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Runs a `millrace project` subcommand.
pub async fn run(args: ProjectArgs) -> anyhow::Result<()> {
    let client = client(&args.remote)?;
    match args.command {
        ProjectCommand::Create {
            name,
            description,
            private,
        } => {
            let me = me(&client).await?;
            let name = match name.split_once('/') {
                Some((owner, name)) if owner == me.name => name.to_owned(),
                Some((owner, _)) => {
                    bail!(
                        "you can create projects only as {}/NAME, not as {owner}",
                        me.name
                    )
                }
                None => name,
            };
            let new = NewProject {
                name,
                description,
                private,
            };
            let made: ProjectSummary = client
                .post("/api/v1/projects", &new)
                .await
                .with_context(|| format!("creating the project {}", new.name))?;
            let seen = if made.private { "private" } else { "public" };
            println!("created the {seen} project {}/{}", made.owner, made.name);
        }
        ProjectCommand::List { owner } => {
            let owner = match owner {
                Some(owner) => owner,
                None => me(&client).await?.name,
            };
            let mut cursor: Option<String> = None;
            loop {
                let mut path = format!(
                    "/api/v1/users/{}/projects?limit=200",
                    app::url::encode_component(&owner)
                );
                if let Some(cursor) = &cursor {
                    path.push_str(&format!("&cursor={}", app::url::encode_component(cursor)));
                }
                let page: Page<ProjectSummary> = client
                    .get(&path)
                    .await
                    .with_context(|| format!("listing the projects of {owner}"))?;
                for project in &page.items {
                    println!("{}", project_line(project));
                }
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
        }
        ProjectCommand::Show { project } => {
            let (owner, name) = owner_and_name(&project)?;
            let shown: ProjectSummary = client
                .get(&format!("/api/v1/projects/{owner}/{name}"))
                .await
                .with_context(|| format!("reading {project}"))?;
            println!("{}/{}", shown.owner, shown.name);
            if !shown.description.is_empty() {
                println!("  {}", shown.description);
            }
            println!("  {}", project_line(&shown));
        }
        ProjectCommand::Member(command) => member(&client, command).await?,
    }
    Ok(())
}

/// One project as a line: name, visibility, jobs, cost and last activity.
fn project_line(project: &ProjectSummary) -> String {
    let jobs = if project.job_count == 1 {
        "job"
    } else {
        "jobs"
    };
    format!(
        "{}\t{}\t{} {jobs}\t{}\tactive {}",
        project.name,
        if project.private { "private" } else { "public" },
        project.job_count,
        app::format::project_cost(project.cost_usd, project.idle_cost_usd),
        app::format::time(project.updated_ms)
    )
}

/// Who the token belongs to.
pub(super) async fn me(client: &Client) -> anyhow::Result<Me> {
    client
        .get("/api/v1/me")
        .await
        .context("asking the server who you are")
}

/// Answers whether `error` came from sending to `project` (owner/name) that does not exist
/// and, when it is the caller's own, creates it and says so, as `mlflow.set_experiment` does.
/// The caller sends again after `true`.
pub async fn created_missing(
    client: &Client,
    project: &str,
    error: &CallError,
) -> anyhow::Result<bool> {
    if error.status() != Some(StatusCode::NOT_FOUND) {
        return Ok(false);
    }
    let (owner, name) = owner_and_name(project)?;
    let me = me(client).await?;
    if owner != me.name {
        bail!(
            "there is no project {project} that you may see (you can create projects only \
             as {}/NAME)",
            me.name
        );
    }
    let new = NewProject {
        name: name.to_owned(),
        ..NewProject::default()
    };
    match client
        .post::<_, ProjectSummary>("/api/v1/projects", &new)
        .await
    {
        Ok(_) => eprintln!("created the project {project}"),
        // Made meanwhile by another command: send again all the same.
        Err(e) if e.status() == Some(StatusCode::CONFLICT) => {}
        Err(e) => return Err(e).with_context(|| format!("creating the project {project}")),
    }
    Ok(true)
}

/// Runs a `millrace project member` subcommand.
async fn member(client: &Client, command: MemberCommand) -> anyhow::Result<()> {
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

/// `project` split into owner and name, if it is OWNER/PROJECT.
fn owner_and_name(project: &str) -> anyhow::Result<(&str, &str)> {
    project
        .split_once('/')
        .filter(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'))
        .with_context(|| format!("'{project}' is not OWNER/PROJECT"))
}

/// The API path of `project`'s members (or of one of them), after checking it is owner/name.
fn members(project: &str, user: Option<&str>) -> anyhow::Result<String> {
    let (owner, name) = owner_and_name(project)?;
    let base = format!("/api/v1/projects/{owner}/{name}/members");
    Ok(match user {
        Some(user) => format!("{base}/{}", app::url::encode_component(user)),
        None => base,
    })
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
