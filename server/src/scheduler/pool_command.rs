//! Running a pool's create and delete commands: a program from the operator's scripts folder,
//! without a shell, with a clean environment, a time limit, and the end of its output kept.

use std::io::{PipeReader, PipeWriter};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

/// How much of a command's output is kept: its end, where errors are.
pub const KEPT_OUTPUT: usize = 16 << 10;

/// The variables of the server's own environment a command gets (so cloud CLIs find their
/// configuration); everything else, the server's secrets among them, is left out.
const PASSED_ON: [&str; 6] = ["PATH", "HOME", "USER", "LANG", "TMPDIR", "XDG_CONFIG_HOME"];

/// How a command ended, with the end of its output (standard output and error interleaved).
#[derive(Debug)]
pub struct Ran {
    /// `None` when it exited 0, else why it failed (exit code, signal, time limit, not found).
    pub failure: Option<String>,
    /// The last [`KEPT_OUTPUT`] bytes of what it printed.
    pub output: String,
}

/// Runs `argv` (its program looked up in `scripts`) with `env` added to a clean environment,
/// in `scripts`; after `timeout` it is killed with every process it started in its group.
pub async fn run(
    scripts: &Path,
    argv: &[String],
    env: &[(&str, String)],
    timeout: Duration,
) -> Ran {
    let Some((program, args)) = argv.split_first() else {
        return failed("no command", String::new());
    };
    let bare = program.strip_prefix("./").unwrap_or(program);
    // Standard output and error share one pipe, as `2>&1` would: the output kept reads in the
    // order the command wrote it, and a failure's last line is the one it printed last.
    let (reader, out, err) = match one_pipe_for_both() {
        Ok(pipe) => pipe,
        Err(error) => {
            return failed(
                &format!("cannot make a pipe for {program}: {error}"),
                String::new(),
            )
        }
    };
    let mut command = Command::new(scripts.join(bare));
    command
        .args(args)
        .current_dir(scripts)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        // Its own group, so a time limit stops what it started too.
        .process_group(0)
        .kill_on_drop(true);
    for name in PASSED_ON {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let spawned = command.spawn();
    // Our copies of the pipe's writing end go with the command, so the reader sees its end
    // once the command (and whatever it left running with the pipe) has closed it.
    drop(command);
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => return failed(&format!("cannot start {program}: {error}"), String::new()),
    };
    let output = Arc::new(Mutex::new(Vec::new()));
    let reader = tokio::net::unix::pipe::Receiver::from_owned_fd(OwnedFd::from(reader))
        .ok()
        .map(|from| keep(from, output.clone()));
    let status = tokio::time::timeout(timeout, child.wait()).await;
    if status.is_err() {
        if let Some(pid) = child.id().and_then(|id| i32::try_from(id).ok()) {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = child.wait().await;
    }
    // A command may leave a process behind that holds its output open (a create script that
    // starts a runner in the background): what came within a moment of its exit is enough.
    if let Some(reader) = reader {
        let _ = tokio::time::timeout(Duration::from_secs(1), reader).await;
    }
    let output = {
        let bytes = output.lock().expect("output lock");
        String::from_utf8_lossy(&bytes).into_owned()
    };
    match status {
        Err(_) => failed(
            &format!(
                "{program} did not finish within {}s and was killed",
                timeout.as_secs()
            ),
            output,
        ),
        Ok(Err(error)) => failed(
            &format!("{program} could not be waited for: {error}"),
            output,
        ),
        Ok(Ok(status)) if status.success() => Ran {
            failure: None,
            output,
        },
        Ok(Ok(status)) => {
            let how = match status.code() {
                Some(code) => format!("exited with {code}"),
                None => "was killed by a signal".to_owned(),
            };
            let last = output.lines().rev().find(|l| !l.trim().is_empty());
            let said = last.map(|l| format!(": {}", l.trim())).unwrap_or_default();
            failed(&format!("{program} {how}{said}"), output)
        }
    }
}

/// A pipe whose writing end is given twice, for a command's standard output and error.
fn one_pipe_for_both() -> std::io::Result<(PipeReader, PipeWriter, PipeWriter)> {
    let (reader, out) = std::io::pipe()?;
    let err = out.try_clone()?;
    Ok((reader, out, err))
}

fn failed(reason: &str, output: String) -> Ran {
    Ran {
        failure: Some(reason.to_owned()),
        output,
    }
}

/// Reads `from` to its end into `into`, keeping only the last [`KEPT_OUTPUT`] bytes.
fn keep(
    mut from: impl AsyncRead + Unpin + Send + 'static,
    into: Arc<Mutex<Vec<u8>>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut chunk = [0u8; 4096];
        while let Ok(read @ 1..) = from.read(&mut chunk).await {
            let mut kept = into.lock().expect("output lock");
            kept.extend_from_slice(&chunk[..read]);
            if kept.len() > KEPT_OUTPUT {
                let extra = kept.len() - KEPT_OUTPUT;
                kept.drain(..extra);
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &Path, name: &str, body: &str) {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[tokio::test]
    async fn a_command_gets_its_arguments_whole_and_a_clean_environment() {
        let dir = tempfile::tempdir().unwrap();
        script(
            dir.path(),
            "show.sh",
            r#"echo "arg=[$1] pool=[$MILLRACE_POOL] secret=[$SECRET_OF_THE_SERVER]""#,
        );
        std::env::set_var("SECRET_OF_THE_SERVER", "hunter2");
        let argv = ["./show.sh".to_owned(), "a b; rm -rf /".to_owned()];
        let env = [("MILLRACE_POOL", "gpus".to_owned())];
        let ran = run(dir.path(), &argv, &env, Duration::from_secs(10)).await;
        assert_eq!(ran.failure, None);
        assert_eq!(ran.output, "arg=[a b; rm -rf /] pool=[gpus] secret=[]\n");
    }

    #[tokio::test]
    async fn a_failure_says_how_with_the_last_line_it_printed() {
        let dir = tempfile::tempdir().unwrap();
        script(
            dir.path(),
            "fail.sh",
            "echo starting; echo 'quota exceeded' >&2; exit 3",
        );
        let argv = ["fail.sh".to_owned()];
        let ran = run(dir.path(), &argv, &[], Duration::from_secs(10)).await;
        assert_eq!(
            ran.failure.as_deref(),
            Some("fail.sh exited with 3: quota exceeded")
        );
        let missing = run(
            dir.path(),
            &["nope.sh".to_owned()],
            &[],
            Duration::from_secs(10),
        )
        .await;
        assert!(missing.failure.unwrap().starts_with("cannot start nope.sh"));
    }

    #[tokio::test]
    async fn output_and_errors_are_kept_in_the_order_they_were_written() {
        let dir = tempfile::tempdir().unwrap();
        script(
            dir.path(),
            "both.sh",
            "for i in 1 2 3 4 5 6 7 8; do echo out$i; echo err$i >&2; done; exit 1",
        );
        let ran = run(
            dir.path(),
            &["both.sh".to_owned()],
            &[],
            Duration::from_secs(10),
        )
        .await;
        let expected: String = (1..=8).map(|i| format!("out{i}\nerr{i}\n")).collect();
        assert_eq!(ran.output, expected);
        assert_eq!(ran.failure.as_deref(), Some("both.sh exited with 1: err8"));
    }

    #[tokio::test]
    async fn a_command_over_its_time_is_killed_with_what_it_started() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("still-running");
        script(
            dir.path(),
            "hang.sh",
            &format!("(sleep 3; touch {}) & sleep 30", marker.display()),
        );
        let started = std::time::Instant::now();
        let ran = run(
            dir.path(),
            &["hang.sh".to_owned()],
            &[],
            Duration::from_millis(300),
        )
        .await;
        assert!(ran.failure.unwrap().contains("did not finish within"));
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert!(
            !marker.exists(),
            "the process it started in the background was killed too"
        );
    }

    #[tokio::test]
    async fn a_background_process_holding_the_output_open_does_not_hold_the_command() {
        let dir = tempfile::tempdir().unwrap();
        script(dir.path(), "detach.sh", "sleep 20 & echo started");
        let started = std::time::Instant::now();
        let ran = run(
            dir.path(),
            &["detach.sh".to_owned()],
            &[],
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(ran.failure, None);
        assert_eq!(ran.output, "started\n");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }
}
