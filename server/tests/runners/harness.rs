//! A real server, real runners and the real CLI, as separate `millrace` processes on loopback.

use serde_json::Value;
use server::client::Client;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A process killed when dropped, so a failing test leaves nothing running.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A server on a temporary SQLite file with a user `ann`, her API token and a runner token.
pub struct Cluster {
    /// Holds the database, the files and the runners' work directories.
    pub dir: tempfile::TempDir,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    port: u16,
    lease: String,
    server: Option<Process>,
    /// Ann's API token.
    pub token: String,
    /// A runner token.
    pub runner_token: String,
    runners: Vec<(String, Process)>,
    /// More `serve` flags and environment, for every start of the server.
    serve_args: Vec<String>,
    serve_env: Vec<(String, String)>,
}

/// The `millrace` binary, logging warnings only, with no database from the environment.
pub fn millrace() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_millrace"));
    command
        .env_remove("MILLRACE_DATABASE_URL")
        .env("MILLRACE_LOG", "warn");
    command
}

impl Cluster {
    /// Starts a server with ann's project `ann/lab`; runners that are silent for `lease`
    /// (e.g. `2s`: short, so lost runners are noticed quickly) lose their jobs.
    pub async fn start(lease: &str) -> Self {
        Self::start_with(lease, &[], &[]).await
    }

    /// As [`Cluster::start`], the server started with `serve_args` more and `serve_env` in its
    /// environment.
    pub async fn start_with(lease: &str, serve_args: &[&str], serve_env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cluster = Self {
            url: format!("http://127.0.0.1:{port}"),
            port,
            lease: lease.to_owned(),
            server: None,
            token: String::new(),
            runner_token: String::new(),
            runners: Vec::new(),
            serve_args: serve_args.iter().map(|a| (*a).to_owned()).collect(),
            serve_env: serve_env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            dir,
        };
        cluster.admin(&["user", "create", "ann"]);
        cluster.token = cluster
            .admin(&["token", "create", "--user", "ann"])
            .trim()
            .to_owned();
        cluster.runner_token = cluster.admin(&["runner-token", "create"]).trim().to_owned();
        cluster.start_server().await;
        let _: Value = cluster
            .client()
            .post(
                "/api/2.0/mlflow/experiments/create",
                &serde_json::json!({ "name": "lab" }),
            )
            .await
            .unwrap();
        cluster
    }

    fn database(&self) -> String {
        format!("sqlite://{}", self.dir.path().join("m.db").display())
    }

    /// Runs an administration command on the database and returns its standard output.
    pub fn admin(&self, args: &[&str]) -> String {
        let output = millrace()
            .args(args)
            .args(["--database", &self.database()])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// Starts (or restarts) the server on the cluster's port and waits until it is healthy.
    pub async fn start_server(&mut self) {
        let files = self.dir.path().join("files");
        let child = millrace()
            .args([
                "serve",
                "--addr",
                &format!("127.0.0.1:{}", self.port),
                "--database",
                &self.database(),
            ])
            .args(["--lease-timeout", &self.lease, "--gpu-price", "default=3.6"])
            .arg("--files")
            .arg(&files)
            .args(&self.serve_args)
            .envs(self.serve_env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.server = Some(Process(child));
        let deadline = Instant::now() + Duration::from_secs(60);
        let http = reqwest::Client::new();
        while http
            .get(format!("{}/healthz", self.url))
            .send()
            .await
            .map_or(true, |r| !r.status().is_success())
        {
            assert!(Instant::now() < deadline, "the server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills the server at once (SIGKILL).
    pub fn kill_server(&mut self) {
        self.server = None;
    }

    /// An API client as ann.
    pub fn client(&self) -> Client {
        Client::new(&self.url, &self.token).unwrap()
    }

    /// Starts a runner called `name` with `gpus` (comma-separated) and extra flags, its token
    /// in MILLRACE_RUNNER_TOKEN.
    pub fn runner(&mut self, name: &str, gpus: &str, extra: &[&str]) {
        let mut command = millrace();
        command.env("MILLRACE_RUNNER_TOKEN", &self.runner_token);
        self.start_runner(command, name, gpus, extra);
    }

    /// Starts `command` (`millrace`, or a program that runs it) as runner `name` with `gpus`
    /// and extra flags; the caller gives it its token. Its work directory is
    /// `runner-NAME` in the cluster's directory.
    pub fn start_runner(&mut self, mut command: Command, name: &str, gpus: &str, extra: &[&str]) {
        let workdir = self.dir.path().join(format!("runner-{name}"));
        let log =
            std::fs::File::create(self.dir.path().join(format!("runner-{name}.log"))).unwrap();
        let child = command
            .args(["runner", "--server", &self.url, "--name", name])
            .args(["--gpus", gpus, "--grace", "1s"])
            .arg("--workdir")
            .arg(&workdir)
            .args(extra)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.runners.push((name.to_owned(), Process(child)));
    }

    /// Kills runner `name` with SIGKILL.
    pub fn kill_runner(&mut self, name: &str) {
        self.runners.retain(|(n, _)| n != name);
    }

    /// Waits for runner `name` to exit by itself; its exit status.
    pub fn wait_runner(&mut self, name: &str, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        let index = self.runners.iter().position(|(n, _)| n == name).unwrap();
        loop {
            if let Some(status) = self.runners[index].1 .0.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "runner {name} did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What runner `name` printed.
    pub fn runner_log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("runner-{name}.log")))
            .unwrap_or_default()
    }

    /// Runs a client command (`apply`, `logs`, `cancel`) against the server as ann.
    pub fn cli(&self, args: &[&str], cwd: &Path) -> Output {
        // The remote flags go right after the subcommand: `run` takes everything after `--`.
        millrace()
            .arg(args[0])
            .args(["--server", &self.url, "--token", &self.token])
            .args(&args[1..])
            .current_dir(cwd)
            .output()
            .unwrap()
    }

    /// Writes `files` (name, content) into a fresh directory and returns it.
    pub fn project_dir(&self, name: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = self.dir.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        for (file, content) in files {
            std::fs::write(dir.join(file), content).unwrap();
        }
        dir
    }

    /// The server-rendered HTML of a page, as ann.
    pub async fn page(&self, path: &str) -> String {
        let response = reqwest::Client::new()
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        response.text().await.unwrap()
    }

    /// The job as the API shows it.
    pub async fn job(&self, uid: &str) -> Value {
        self.client()
            .get(&format!("/api/v1/jobs/{uid}"))
            .await
            .unwrap()
    }

    /// Waits until job `uid` has one of `statuses`; returns the job.
    pub async fn wait_status(&self, uid: &str, statuses: &[&str], within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let job = self.job(uid).await;
            if statuses.contains(&job["status"].as_str().unwrap_or_default()) {
                return job;
            }
            assert!(
                Instant::now() < deadline,
                "job {uid} is {} after {within:?}, not {statuses:?}",
                job["status"]
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The job's whole output, and its final status, exit code and error.
    pub async fn output(&self, uid: &str) -> (String, Value) {
        let mut after = 0;
        let mut text = String::new();
        loop {
            let page: Value = self
                .client()
                .get(&format!("/api/v1/jobs/{uid}/logs?after={after}"))
                .await
                .unwrap();
            let chunks = page["chunks"].as_array().unwrap();
            if chunks.is_empty() {
                return (text, page);
            }
            for chunk in chunks {
                text.push_str(chunk["text"].as_str().unwrap());
            }
            after = page["next"].as_i64().unwrap();
        }
    }
}

/// Writes a spec file into `dir` and returns its path.
pub fn spec(dir: &Path, yaml: &str) -> PathBuf {
    let path = dir.join("job.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

/// The uid that `apply` printed in its job URL line, via the API: the newest job named `name`.
pub async fn uid_of(cluster: &Cluster, number: i64) -> String {
    let job: Value = cluster
        .client()
        .get(&format!("/api/v1/projects/ann/lab/jobs/{number}"))
        .await
        .unwrap();
    job["uid"].as_str().unwrap().to_owned()
}
