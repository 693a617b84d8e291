//! The real `millrace` binary: clear one-line errors for bad input, and a clean shutdown.

use std::io::Write;
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn millrace(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_millrace"))
        .args(args)
        .env_remove("MILLRACE_DATABASE_URL")
        .env("MILLRACE_LOG", "error")
        .output()
        .expect("the millrace binary runs")
}

/// Asserts a failed run printed exactly one line, containing `text`, and no panic.
fn assert_one_line_error(output: &Output, text: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "expected failure, got {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.starts_with("millrace: ") && stderr.contains(text),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_malformed_database_url_is_named_in_one_line() {
    let output = millrace(&["token", "list", "--user", "x", "--database", "mysql://h/db"]);
    assert_one_line_error(
        &output,
        "invalid database URL 'mysql://h/db': unsupported scheme 'mysql'",
    );
}

#[test]
fn an_unreachable_postgres_is_named_in_one_line() {
    let output = millrace(&[
        "token",
        "list",
        "--user",
        "x",
        "--database",
        "postgres://u:secret@127.0.0.1:1/db",
    ]);
    assert_one_line_error(
        &output,
        "cannot reach the database at postgres://u:***@127.0.0.1:1/db",
    );
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("secret"),
        "the password is not printed"
    );
}

#[test]
fn a_port_in_use_is_named_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let database = format!("sqlite://{}", dir.path().join("p.db").display());
    let output = millrace(&["serve", "--addr", &addr, "--database", &database]);
    assert_one_line_error(&output, &format!("cannot listen on {addr}"));
}

#[tokio::test]
async fn a_locked_sqlite_file_is_named_in_one_line() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.db");
    let mut holder =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .unwrap();
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut holder)
        .await
        .unwrap();
    let database = format!("sqlite://{}", path.display());
    let output = tokio::task::spawn_blocking(move || {
        millrace(&["token", "list", "--user", "x", "--database", &database])
    })
    .await
    .unwrap();
    assert_one_line_error(&output, "is locked by another process");
}

#[test]
fn users_and_tokens_are_made_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("c.db").display());
    let mut create = Command::new(env!("CARGO_BIN_EXE_millrace"))
        .args([
            "user",
            "create",
            "ann",
            "--password-stdin",
            "--database",
            &database,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    create
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long password\n")
        .unwrap();
    let created = create.wait_with_output().unwrap();
    assert!(created.status.success());
    assert!(
        String::from_utf8_lossy(&created.stdout).contains("ann is an instance admin"),
        "the first user administers the instance"
    );
    assert_one_line_error(
        &millrace(&["user", "create", "ann", "--database", &database]),
        "already exists",
    );
    assert_one_line_error(
        &millrace(&["user", "create", "<b>", "--database", &database]),
        "user name '<b>'",
    );

    let token = millrace(&["token", "create", "--user", "ann", "--database", &database]);
    let secret = String::from_utf8(token.stdout).unwrap();
    assert!(
        secret.trim().starts_with("mr_") && secret.trim().len() == 67,
        "{secret}"
    );
    let listed = String::from_utf8(
        millrace(&["token", "list", "--user", "ann", "--database", &database]).stdout,
    )
    .unwrap();
    assert_eq!(listed, "1\tcli\twrite\tlive\n");
    let read = millrace(&[
        "token",
        "create",
        "--user",
        "ann",
        "--name",
        "dash",
        "--scope",
        "read",
        "--expires",
        "30d",
        "--database",
        &database,
    ]);
    assert!(read.status.success());
    let bad_scope = millrace(&[
        "token",
        "create",
        "--user",
        "ann",
        "--scope",
        "admin",
        "--database",
        &database,
    ]);
    assert!(!bad_scope.status.success());
    assert!(String::from_utf8_lossy(&bad_scope.stderr).contains("unknown token scope 'admin'"));
    assert!(millrace(&[
        "token",
        "revoke",
        "--user",
        "ann",
        "1",
        "--database",
        &database
    ])
    .status
    .success());
    let listed = String::from_utf8(
        millrace(&["token", "list", "--user", "ann", "--database", &database]).stdout,
    )
    .unwrap();
    assert_eq!(
        listed,
        "2\tdash\tread\tlive, 29 days left\n1\tcli\twrite\trevoked\n"
    );
}

#[tokio::test]
async fn only_the_first_user_and_those_made_with_admin_administer_the_instance() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("a.db").display());
    for args in [&["ann"][..], &["ben"], &["cat", "--admin"]] {
        let mut all = vec!["user", "create"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--database", &database]);
        assert!(millrace(&all).status.success(), "{args:?}");
    }
    let store = app::db::Db::open(&database).await.unwrap();
    let admins: Vec<String> =
        sqlx::query_scalar("SELECT name FROM users WHERE admin = 1 ORDER BY name")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(admins, ["ann", "cat"]);
}

/// A `millrace serve` process and its port, killed when dropped so that a failing test leaves no
/// server.
struct Server(std::process::Child, u16);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `millrace serve` with `extra` flags and waits until `/healthz` answers 200.
fn start_server(database: &str, extra: &[&str]) -> Server {
    start_server_logging(database, extra, Stdio::null())
}

/// [`start_server`] with its warnings and errors written to `logs`.
fn start_server_logging(database: &str, extra: &[&str], logs: Stdio) -> Server {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let server = Server(
        Command::new(env!("CARGO_BIN_EXE_millrace"))
            .args(["serve", "--addr", &addr, "--database", database])
            .args(extra)
            .env("MILLRACE_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(logs)
            .spawn()
            .unwrap(),
        port,
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut answer = String::new();
            let _ = std::io::Read::read_to_string(&mut stream, &mut answer);
            if answer.starts_with("HTTP/1.1 200") {
                return server;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the server did not become healthy"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A server on a new database in `dir` whose one user, ann, has the token returned.
fn serving_ann(dir: &std::path::Path) -> (Server, String) {
    let database = format!("sqlite://{}", dir.join("ann.db").display());
    assert!(
        millrace(&["user", "create", "ann", "--database", &database])
            .status
            .success()
    );
    let made = millrace(&["token", "create", "--user", "ann", "--database", &database]);
    let token = String::from_utf8(made.stdout).unwrap().trim().to_owned();
    (start_server(&database, &[]), token)
}

/// Sends SIGTERM and waits for the exit status.
fn stop(mut server: Server) -> std::process::ExitStatus {
    Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    server.0.wait().unwrap()
}

#[test]
fn serve_answers_healthz_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("s.db").display());
    let server = start_server(&database, &[]);
    let status = stop(server);
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
}

#[test]
fn json_logs_carry_the_request_id_the_answer_names() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("logs.db").display());
    let files = dir.path().join("files");
    let flags = ["--log-format", "json", "--files", files.to_str().unwrap()];
    let mut server = start_server_logging(&database, &flags, Stdio::piped());
    // The disk goes away under the server, so /readyz logs a warning inside the request.
    std::fs::remove_dir_all(&files).unwrap();
    std::fs::write(&files, b"not a directory").unwrap();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.1)).unwrap();
    stream
        .write_all(
            b"GET /readyz HTTP/1.1\r\nHost: x\r\nX-Request-Id: probe-1\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut stream, &mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("x-request-id: probe-1"),
        "{answer}"
    );
    let mut stderr = server.0.stderr.take().unwrap();
    assert!(stop(server).success());
    let mut logs = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut logs).unwrap();
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let warning = lines
        .iter()
        .find(|line| {
            line["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("file store unavailable"))
        })
        .unwrap_or_else(|| panic!("{logs}"));
    assert_eq!(warning["level"], "WARN");
    assert_eq!(warning["span"]["request_id"], "probe-1");
    assert_eq!(warning["span"]["path"], "/readyz");
}

#[test]
fn serve_demo_fills_an_empty_database_once() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("d.db").display());
    assert!(stop(start_server(&database, &["--demo"])).success());
    let listed = millrace(&["token", "list", "--user", "alice", "--database", &database]);
    assert!(
        listed.status.success(),
        "the demo user exists: {}",
        String::from_utf8_lossy(&listed.stderr)
    );
    // A second start keeps the workspace as it is instead of failing on the taken names.
    assert!(stop(start_server(&database, &["--demo"])).success());
}

/// Sends one HTTP/1.1 request to the server on `port` with a bearer `token`; status and body.
fn http(port: u16, method: &str, path: &str, token: &str, body: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut stream, &mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
}

#[test]
fn owners_choose_members_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("m.db").display());
    let token_of = |name: &str| {
        assert!(millrace(&["user", "create", name, "--database", &database])
            .status
            .success());
        let made = millrace(&["token", "create", "--user", name, "--database", &database]);
        String::from_utf8(made.stdout).unwrap().trim().to_owned()
    };
    let (ann, ben, cat) = (token_of("ann"), token_of("ben"), token_of("cat"));
    let server = start_server(&database, &[]);
    let url = format!("http://127.0.0.1:{}", server.1);
    let port = server.1;
    let (status, body) = http(
        port,
        "POST",
        "/api/2.0/mlflow/experiments/create",
        &ann,
        r#"{"name": "xray"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let member = |token: &str, args: &[&str]| {
        let mut all = vec!["project", "--server", &url, "--token", token, "member"];
        all.extend_from_slice(args);
        millrace(&all)
    };
    let new_job = |token: &str| {
        http(
            port,
            "POST",
            "/api/v1/projects/ann/xray/jobs",
            token,
            r#"{"name": "run"}"#,
        )
        .0
    };
    assert_eq!(new_job(&ben), 403, "a viewer may not write");

    let added = member(&ann, &["add", "ann/xray", "ben"]);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    assert_eq!(new_job(&ben), 201, "a member writes");
    assert_eq!(new_job(&cat), 403);
    let listed = member(&cat, &["list", "ann/xray"]);
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout),
        "ann\towner\nben\tmember\n"
    );
    assert_one_line_error(&member(&ben, &["add", "ann/xray", "cat"]), "only the owner");
    assert_one_line_error(
        &member(&ann, &["add", "ann/xray", "nobody"]),
        "no user 'nobody'",
    );

    assert!(member(&ann, &["remove", "ann/xray", "ben"])
        .status
        .success());
    assert_eq!(new_job(&ben), 403, "a former member may not write");
    assert!(stop(server).success());
}

#[test]
fn projects_are_made_from_the_command_line_and_by_sending_work_to_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let (server, token) = serving_ann(dir.path());
    let url = format!("http://127.0.0.1:{}", server.1);
    let remote = ["--server", url.as_str(), "--token", token.as_str()];
    let project = |args: &[&str]| {
        let mut all = vec!["project"];
        all.extend_from_slice(&remote);
        all.extend_from_slice(args);
        millrace(&all)
    };
    let stdout = |output: &Output| String::from_utf8_lossy(&output.stdout).into_owned();

    let created = project(&["create", "vision", "-d", "cats and dogs", "--private"]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    assert_eq!(stdout(&created), "created the private project ann/vision\n");
    assert_one_line_error(
        &project(&["create", "ann/vision"]),
        "already have a project called vision",
    );
    assert_one_line_error(&project(&["create", "x ray"]), "use letters, digits");
    assert_one_line_error(&project(&["create", "ben/x"]), "only as ann/NAME");
    let listed = stdout(&project(&["list"]));
    assert!(
        listed.starts_with("vision\tprivate\t0 jobs\t$0.00\tactive "),
        "{listed}"
    );
    assert!(stdout(&project(&["show", "ann/vision"])).contains("cats and dogs"));

    // A job sent to a project of one's own that does not exist yet makes it, and says so.
    let spec = dir.path().join("job.yaml");
    std::fs::write(&spec, "name: first\nproject: ann/fresh\ncommand: echo hi\n").unwrap();
    let spec = spec.to_str().unwrap();
    let mut apply = vec!["apply", "-f", spec];
    apply.extend_from_slice(&remote);
    let dry = millrace(&[&apply[..], &["--dry-run"]].concat());
    assert!(!dry.status.success(), "a dry run creates nothing");
    let applied = millrace(&apply);
    let stderr = String::from_utf8_lossy(&applied.stderr);
    assert!(applied.status.success(), "{stderr}");
    assert!(stderr.contains("created the project ann/fresh"), "{stderr}");
    assert!(
        stdout(&applied).contains("queued job #1"),
        "{}",
        stdout(&applied)
    );
    assert!(stdout(&project(&["list"])).contains("fresh\tpublic\t1 job\t"));

    std::fs::write(spec, "name: first\nproject: ben/theirs\ncommand: echo hi\n").unwrap();
    assert_one_line_error(&millrace(&apply), "no project ben/theirs that you may see");
    assert!(stop(server).success());
}

#[test]
fn artifacts_go_up_and_come_back_whole_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let (server, token) = serving_ann(dir.path());
    let url = format!("http://127.0.0.1:{}", server.1);
    for (path, body) in [
        ("/api/v1/projects", r#"{"name": "xray"}"#),
        ("/api/v1/projects/ann/xray/jobs", r#"{"name": "train"}"#),
    ] {
        let (status, answer) = http(server.1, "POST", path, &token, body);
        assert_eq!(status, 201, "{answer}");
    }

    let up = dir.path().join("run out");
    std::fs::create_dir_all(up.join("plots")).unwrap();
    let weights: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(up.join("model.pt"), &weights).unwrap();
    std::fs::write(up.join("plots/loss #1.png"), b"png").unwrap();
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, b"best so far").unwrap();
    let artifacts = |args: &[&str]| {
        let mut all = vec!["artifacts", "--server", &url, "--token", &token];
        all.extend_from_slice(args);
        millrace(&all)
    };
    let (up_arg, notes_arg) = (up.to_str().unwrap(), notes.to_str().unwrap());
    let put = artifacts(&["put", "ann/xray/1", up_arg, notes_arg, "--to", "final"]);
    assert!(
        put.status.success(),
        "{}",
        String::from_utf8_lossy(&put.stderr)
    );

    let listed = artifacts(&["ls", "ann/xray/1", "final/run out"]);
    let listed = String::from_utf8(listed.stdout).unwrap();
    let paths: Vec<&str> = listed
        .lines()
        .map(|l| l.trim_start().split_once("  ").unwrap().1)
        .collect();
    assert_eq!(
        paths,
        ["final/run out/model.pt", "final/run out/plots/loss #1.png"]
    );
    assert!(
        listed.contains(" 3000000  final/run out/model.pt"),
        "{listed}"
    );

    let back = dir.path().join("back");
    let got = artifacts(&[
        "get",
        "/u/ann/p/xray/j/1",
        "final/run out",
        "-o",
        back.to_str().unwrap(),
    ]);
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    assert_eq!(
        std::fs::read(back.join("run out/model.pt")).unwrap(),
        weights
    );
    assert_eq!(
        std::fs::read(back.join("run out/plots/loss #1.png")).unwrap(),
        b"png"
    );

    assert_one_line_error(
        &artifacts(&["get", "ann/xray/1", "final/nothing"]),
        "has no artifact 'final/nothing'",
    );
    // A file cannot become a folder: nothing is stored, and the error says why.
    assert_one_line_error(
        &artifacts(&["put", "ann/xray/1", notes_arg, "--to", "final/notes.txt"]),
        "notes.txt is a file, not a folder",
    );
    assert!(stop(server).success());
}

#[test]
fn registered_models_are_listed_shown_and_aliased_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let (server, token) = serving_ann(dir.path());
    let url = format!("http://127.0.0.1:{}", server.1);
    let call = |path: &str, body: &str| {
        let (status, answer) = http(server.1, "POST", path, &token, body);
        assert!(status < 300, "{path}: {answer}");
        answer
    };
    call("/api/v1/projects", r#"{"name": "xray"}"#);
    let job = call("/api/v1/projects/ann/xray/jobs", r#"{"name": "train"}"#);
    let run = serde_json::from_str::<serde_json::Value>(&job).unwrap()["uid"]
        .as_str()
        .unwrap()
        .to_owned();
    call(
        "/api/2.0/mlflow/registered-models/create",
        r#"{"name": "churn", "description": "weekly retrain"}"#,
    );
    let version =
        format!(r#"{{"name": "churn", "source": "runs:/{run}/model", "run_id": "{run}"}}"#);
    call("/api/2.0/mlflow/model-versions/create", &version);
    call("/api/2.0/mlflow/model-versions/create", &version);
    let model = |args: &[&str]| {
        let mut all = vec!["model", "--server", &url, "--token", &token];
        all.extend_from_slice(args);
        let output = millrace(&all);
        let said = String::from_utf8(output.stdout.clone()).unwrap();
        (output.status.success(), said, output)
    };

    let (ok, said, _) = model(&["alias", "churn", "champion", "1"]);
    assert!(ok && said.contains("churn@champion -> version 1"), "{said}");
    let (_, listed, _) = model(&["ls"]);
    let line = listed.lines().find(|l| l.starts_with("churn ")).unwrap();
    assert!(
        line.contains("v2  @champion=v1  weekly retrain"),
        "{listed}"
    );
    let (_, none, _) = model(&["ls", "nothing-like-it"]);
    assert_eq!(none, "");
    let (_, shown, _) = model(&["show", "churn"]);
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines[..2], ["churn", "  weekly retrain"]);
    assert!(lines[2].starts_with("  v2 "), "{shown}");
    assert!(
        lines[3].starts_with("  v1 ") && lines[3].contains("@champion") && lines[3].contains(&run),
        "{shown}"
    );

    let (ok, _, _) = model(&["alias", "churn", "champion", "--delete"]);
    assert!(ok);
    let (_, shown, _) = model(&["show", "churn"]);
    assert!(!shown.contains("@champion"), "{shown}");
    let (_, _, missing) = model(&["show", "nope"]);
    assert_one_line_error(&missing, "Registered Model with name=nope not found");
    let (_, _, reserved) = model(&["alias", "churn", "latest", "1"]);
    assert_one_line_error(&reserved, "'latest' alias name");
    assert!(stop(server).success());
}
