//! The runner's token: read once at start, then kept out of reach of jobs and of other
//! processes of the same user.

use crate::cli::{RunnerArgs, TOKEN_VAR};
use crate::secret::Secret;
use anyhow::{bail, Context};
use std::path::Path;

/// Settles `args.token` from `--token`, MILLRACE_RUNNER_TOKEN or `--token-file`, warns when it
/// was on the command line, removes MILLRACE_RUNNER_TOKEN from this process's environment and
/// makes the process non-dumpable, so that other processes of its user cannot read its
/// `/proc/PID/environ` or memory.
///
/// Call it while the process has a single thread: changing the environment while another
/// thread may read it is undefined behaviour.
pub fn secure(args: &mut RunnerArgs) -> anyhow::Result<()> {
    let token = match (args.token.take(), &args.token_file) {
        (Some(_), Some(_)) => bail!(
            "the runner token is given twice: give --token-file or the token itself \
             (MILLRACE_RUNNER_TOKEN), not both"
        ),
        (Some(token), None) => token,
        (None, Some(path)) => read(path)?,
        (None, None) => bail!(
            "give the runner token through MILLRACE_RUNNER_TOKEN or --token-file \
             (`millrace runner-token create` makes one)"
        ),
    };
    if token.expose().trim().is_empty() {
        bail!("the runner token is empty");
    }
    if args.token_in_argv {
        eprintln!(
            "millrace runner: warning: --token on the command line is visible to every user of \
             this machine (ps, /proc/PID/cmdline); pass it through MILLRACE_RUNNER_TOKEN or \
             --token-file instead"
        );
    }
    std::env::remove_var(TOKEN_VAR);
    forbid_dumps()?;
    args.token = Some(token);
    args.token_file = None;
    Ok(())
}

/// The token in the file at `path`, without surrounding whitespace.
fn read(path: &Path) -> anyhow::Result<Secret> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the runner token file {}", path.display()))?;
    let token = text.trim();
    if token.is_empty() {
        bail!("the runner token file {} is empty", path.display());
    }
    Ok(Secret::new(token))
}

/// Marks the process non-dumpable: its `/proc/PID/environ` and memory become readable by root
/// only, and it leaves no core dump holding the token.
#[cfg(target_os = "linux")]
fn forbid_dumps() -> anyhow::Result<()> {
    nix::sys::prctl::set_dumpable(false).context("cannot make the runner process non-dumpable")
}

#[cfg(not(target_os = "linux"))]
fn forbid_dumps() -> anyhow::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_file_is_read_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "  mr_abc\n").unwrap();
        assert_eq!(read(&path).unwrap(), Secret::new("mr_abc"));
    }

    #[test]
    fn an_empty_or_missing_token_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n \n").unwrap();
        let error = format!("{:#}", read(&empty).unwrap_err());
        assert!(error.ends_with("empty is empty"), "{error}");
        let missing = dir.path().join("missing");
        let error = format!("{:#}", read(&missing).unwrap_err());
        assert!(
            error.starts_with(&format!(
                "cannot read the runner token file {}: ",
                missing.display()
            )),
            "{error}"
        );
    }
}
