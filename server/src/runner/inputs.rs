//! A pipeline step's inputs: the artifacts of the jobs it needs, fetched into its directory
//! before its command starts.

use super::job::{JobContext, Leased};
use anyhow::{bail, Context};
use app::url::encode_component;
use serde::Deserialize;
use std::path::{Component, Path, PathBuf};

/// What the server lists of a leased job's inputs.
#[derive(Debug, Deserialize)]
struct Listed {
    inputs: Vec<Input>,
}

/// One input folder and the files that fill it.
#[derive(Debug, Deserialize)]
struct Input {
    index: usize,
    dir: String,
    files: Vec<File>,
}

/// One file of an input.
#[derive(Debug, Deserialize)]
struct File {
    path: String,
}

/// The folder below a job's directory that holds its inputs (`MILLRACE_INPUTS`).
pub const FOLDER: &str = "inputs";

/// Fetches every input of `job` into `dir`; how many files came. A job without inputs asks
/// the server nothing.
pub async fn fetch(context: &JobContext, job: &Leased, dir: &Path) -> anyhow::Result<usize> {
    if job.plan.inputs.is_empty() {
        return Ok(0);
    }
    let query = format!("?runner_id={}", context.runner_id);
    let base = format!("/api/v1/runner/jobs/{}/inputs", job.uid);
    let listed: Listed = context
        .client
        .get(&format!("{base}{query}"))
        .await
        .context("cannot list the step's inputs")?;
    let mut fetched = 0;
    for input in listed.inputs {
        let folder = below(dir, &input.dir)?;
        tokio::fs::create_dir_all(&folder)
            .await
            .with_context(|| format!("cannot create {}", folder.display()))?;
        for file in input.files {
            let dest = below(&folder, &file.path)?;
            if let Some(parent) = dest.parent() {
                tokio::fs::create_dir_all(parent)
                    .await
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            let path = format!(
                "{base}/{}/{}{query}",
                input.index,
                encode_component(&file.path)
            );
            context
                .client
                .download(&path, &dest)
                .await
                .with_context(|| format!("cannot fetch input {}/{}", input.dir, file.path))?;
            fetched += 1;
        }
    }
    Ok(fetched)
}

/// `relative` below `root`, refused if it is absolute or climbs out with `..`: the server's
/// lists are trusted no further than the job's own directory.
fn below(root: &Path, relative: &str) -> anyhow::Result<PathBuf> {
    let path = Path::new(relative);
    let plain = path
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if relative.is_empty() || !plain {
        bail!("the input path '{relative}' leaves the job's directory");
    }
    Ok(root.join(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_paths_stay_below_the_job_directory() {
        let root = Path::new("/jobs/j1");
        assert_eq!(
            below(root, "inputs/prep/data/a.csv").unwrap(),
            root.join("inputs/prep/data/a.csv")
        );
        for bad in ["../x", "inputs/../../x", "/etc/passwd", ""] {
            assert!(below(root, bad).is_err(), "{bad}");
        }
    }
}
