//! `millrace artifacts ls|get|put`: a job's artifacts from the command line, streamed both
//! ways, through the REST API a runner's uploads and MLflow's proxy share a folder with.

use super::{client, resolve};
use crate::cli::{ArtifactsArgs, ArtifactsCommand};
use crate::client::Client;
use anyhow::{bail, Context};
use app::url::encode_component;
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// One artifact as the API lists it.
#[derive(Debug, Deserialize)]
struct Artifact {
    path: String,
    bytes: u64,
}

/// Runs a `millrace artifacts` subcommand.
pub async fn run(args: ArtifactsArgs) -> anyhow::Result<()> {
    let client = client(&args.remote)?;
    match args.command {
        ArtifactsCommand::Ls { job, path } => {
            let uid = resolve(&client, &job).await?;
            let all = list(&client, &uid).await?;
            for artifact in under(&all, path.as_deref().unwrap_or("")) {
                println!("{:>12}  {}", artifact.bytes, artifact.path);
            }
        }
        ArtifactsCommand::Get { job, path, output } => {
            let uid = resolve(&client, &job).await?;
            let all = list(&client, &uid).await?;
            let wanted = under(&all, &path);
            if wanted.is_empty() {
                bail!("job {job} has no artifact '{path}' (`millrace artifacts ls` lists them)");
            }
            // A folder keeps its own name: `get JOB plots` writes ./plots/...
            let parent = Path::new(path.trim_end_matches('/'))
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            for artifact in wanted {
                let relative = Path::new(&artifact.path)
                    .strip_prefix(&parent)
                    .unwrap_or(Path::new(&artifact.path));
                let dest = output.join(relative);
                if let Some(dir) = dest.parent() {
                    tokio::fs::create_dir_all(dir)
                        .await
                        .with_context(|| format!("cannot make {}", dir.display()))?;
                }
                let url = format!("/api/v1/jobs/{uid}/artifacts/{}", url_path(&artifact.path));
                let bytes = client
                    .download(&url, &dest)
                    .await
                    .with_context(|| format!("downloading {}", artifact.path))?;
                println!("{}  ({bytes} bytes)", dest.display());
            }
        }
        ArtifactsCommand::Put { job, files, to } => {
            let uid = resolve(&client, &job).await?;
            for (local, remote) in uploads(&files, &to)? {
                let url = format!("/api/v1/jobs/{uid}/artifacts/{}", url_path(&remote));
                let kept: Value = client
                    .put_file(&url, &local)
                    .await
                    .with_context(|| format!("uploading {}", local.display()))?;
                println!("kept {remote}  ({} bytes)", kept["bytes"]);
            }
        }
    }
    Ok(())
}

async fn list(client: &Client, uid: &str) -> anyhow::Result<Vec<Artifact>> {
    #[derive(Deserialize)]
    struct Listing {
        artifacts: Vec<Artifact>,
    }
    let listing: Listing = client
        .get(&format!("/api/v1/jobs/{uid}/artifacts"))
        .await
        .context("listing the job's artifacts")?;
    Ok(listing.artifacts)
}

/// The artifacts that are `path` or lie under the folder `path` (all for an empty one).
fn under<'a>(all: &'a [Artifact], path: &str) -> Vec<&'a Artifact> {
    let path = path.trim_matches('/');
    all.iter()
        .filter(|a| {
            path.is_empty()
                || a.path == path
                || a.path
                    .strip_prefix(path)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
        .collect()
}

/// Each local file to upload with its artifact path: a file goes to `to/NAME`, a folder's files
/// to `to/FOLDER/...`.
fn uploads(paths: &[PathBuf], to: &str) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let to = to.trim_matches('/');
    let join = |rest: &str| {
        if to.is_empty() {
            rest.to_owned()
        } else {
            format!("{to}/{rest}")
        }
    };
    let mut found = Vec::new();
    for path in paths {
        let name = path
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .with_context(|| format!("cannot read {}", path.display()))?;
        if path.is_dir() {
            for relative in
                files_below(path).with_context(|| format!("cannot read {}", path.display()))?
            {
                found.push((path.join(&relative), join(&format!("{name}/{relative}"))));
            }
        } else {
            found.push((path.clone(), join(&name)));
        }
    }
    Ok(found)
}

/// Every file at or below local folder `dir`, as a path relative to it, in path order; links
/// are not followed.
fn files_below(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file() {
                let path = entry.path();
                let relative = path.strip_prefix(dir).expect("walked from dir");
                found.push(relative.to_string_lossy().into_owned());
            }
        }
    }
    found.sort();
    Ok(found)
}

/// An artifact path in a URL: each segment encoded, the slashes kept.
fn url_path(path: &str) -> String {
    path.split('/')
        .map(encode_component)
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_takes_what_lies_under_it_and_nothing_that_merely_starts_alike() {
        let all = [
            Artifact {
                path: "plots/a.png".into(),
                bytes: 1,
            },
            Artifact {
                path: "plots/train/b.png".into(),
                bytes: 2,
            },
            Artifact {
                path: "plots2/c.png".into(),
                bytes: 3,
            },
            Artifact {
                path: "model.pt".into(),
                bytes: 4,
            },
        ];
        let paths = |p: &str| {
            under(&all, p)
                .iter()
                .map(|a| a.path.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(paths("plots"), ["plots/a.png", "plots/train/b.png"]);
        assert_eq!(paths("plots/"), ["plots/a.png", "plots/train/b.png"]);
        assert_eq!(paths("model.pt"), ["model.pt"]);
        assert_eq!(paths("").len(), 4);
        assert!(paths("plot").is_empty());
        assert_eq!(url_path("a b/c#d.txt"), "a%20b/c%23d.txt");
    }
}
