//! The real server process over real HTTP: acknowledged writes survive `kill -9` (SQLite), the
//! same binary serves from PostgreSQL, SIGTERM does not wait for event streams, and replicas on
//! one PostgreSQL and one S3 bucket share files, live events and runners' wake-ups and elect
//! one leader.

mod common;

use app::db::{self, Db};
use common::FreshSchema;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One HTTP/1.1 request on a fresh connection; returns the status code and the body.
fn http(port: u16, method: &str, path: &str, token: &str, body: &Value) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("the server listens");
    let body = body.to_string();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// A `millrace serve` process, killed when dropped so that a failing test leaves no server.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `millrace serve` on a free port; returns the process and the port.
fn spawn_server(database: &str) -> (Server, u16) {
    spawn_server_with(database, &[])
}

/// Starts `millrace serve` with more flags on a free port; returns the process and the port.
fn spawn_server_with(database: &str, flags: &[&str]) -> (Server, u16) {
    spawn_server_env(database, flags, &[])
}

/// The AWS variables that reach the S3 test server `scripts/s3.sh` starts.
fn s3_env() -> Vec<(&'static str, String)> {
    let endpoint =
        std::env::var("MILLRACE_TEST_S3").unwrap_or_else(|_| "http://127.0.0.1:8014".to_owned());
    vec![
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", "millrace-test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "millrace-test-secret".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
    ]
}

/// Starts `millrace serve` with more flags and environment variables on a free port.
fn spawn_server_env(
    database: &str,
    flags: &[&str],
    env: &[(&'static str, String)],
) -> (Server, u16) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = Command::new(env!("CARGO_BIN_EXE_millrace"))
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--database",
            database,
        ])
        .args(flags)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("MILLRACE_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (Server(server), port)
}

fn wait_healthy(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err()
        || http(port, "GET", "/healthz", "", &Value::Null).0 != 200
    {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A SQLite file `name` in `dir` with the user `ann`, her project `ann/xray` and her write
/// token; its URL and the token.
async fn ann_with_project(dir: &tempfile::TempDir, name: &str) -> (String, String) {
    let url = format!("sqlite://{}", dir.path().join(name).display());
    let store = Db::open(&url).await.unwrap();
    store.migrate().await.unwrap();
    let ann = db::users::create(&store, "ann", "Ann").await.unwrap();
    db::projects::create(&store, ann.id, "xray", "", false)
        .await
        .unwrap();
    let (_, token) =
        app::auth::create_token(&store, ann.id, "test", app::model::TokenScope::Write, None)
            .await
            .unwrap();
    store.close().await;
    (url, token)
}

#[tokio::test]
async fn acknowledged_points_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let (url, token) = ann_with_project(&dir, "durable.db").await;

    let (mut server, port) = spawn_server(&url);
    let acknowledged = tokio::task::spawn_blocking(move || {
        wait_healthy(port);
        let (status, created) = http(
            port,
            "POST",
            "/api/v1/projects/ann/xray/jobs",
            &token,
            &json!({"name": "durable"}),
        );
        assert_eq!(status, 201, "{created}");
        let uid = serde_json::from_str::<Value>(&created).unwrap()["uid"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut acknowledged = 0;
        for batch in 0..20 {
            let points: Vec<Value> = (0..500)
                .map(|i| json!({"key": "loss", "step": batch * 500 + i, "value": 0.5}))
                .collect();
            let (status, body) = http(
                port,
                "POST",
                &format!("/api/v1/jobs/{uid}/metrics"),
                &token,
                &json!({"points": points}),
            );
            assert_eq!(status, 200, "{body}");
            acknowledged += 500;
        }
        acknowledged
    })
    .await
    .unwrap();
    // SIGKILL right after the last acknowledgment: no shutdown, no checkpoint.
    server.0.kill().unwrap();
    server.0.wait().unwrap();

    let store = Db::open(&url).await.unwrap();
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM metric_points")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let summary: i64 = sqlx::query_scalar("SELECT count FROM metric_series WHERE key = 'loss'")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!((stored, summary), (acknowledged, acknowledged));
}

/// Runs a `millrace` command on `database`, which must succeed; its standard output.
fn cli(database: &str, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_millrace"))
        .args(args)
        .args(["--database", database])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn the_same_binary_serves_from_postgresql() {
    let schema = FreshSchema::new("millrace_cli").await;
    let url = schema.url.clone();
    let cli = |args: &[&str]| cli(&url, args);
    cli(&["user", "create", "pat"]);
    let token = cli(&["token", "create", "--user", "pat"]).trim().to_owned();

    let (mut server, port) = spawn_server(&url);
    let me = tokio::task::spawn_blocking(move || {
        wait_healthy(port);
        http(port, "GET", "/api/v1/me", &token, &Value::Null)
    })
    .await
    .unwrap();
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    schema.remove().await;
    assert_eq!(me.0, 200, "{}", me.1);
    assert_eq!(serde_json::from_str::<Value>(&me.1).unwrap()["name"], "pat");
}

/// Streams a fake .tar.gz of `total` bytes to `POST /api/v1/snapshots`, 1 MiB at a time, never
/// holding it whole; returns the status, the answer and the SHA-256 of what was sent.
fn upload_snapshot(port: u16, token: &str, total: usize) -> (u16, String, String) {
    use sha2::{Digest, Sha256};
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("the server listens");
    let head = format!(
        "POST /api/v1/snapshots HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/gzip\r\nContent-Length: {total}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut hasher = Sha256::new();
    let mut piece = vec![0u8; 1 << 20];
    let mut sent = 0;
    while sent < total {
        let n = piece.len().min(total - sent);
        for (i, byte) in piece[..n].iter_mut().enumerate() {
            *byte = ((sent + i) % 251) as u8;
        }
        if sent == 0 {
            piece[..2].copy_from_slice(&[0x1f, 0x8b]);
        }
        hasher.update(&piece[..n]);
        stream.write_all(&piece[..n]).unwrap();
        sent += n;
    }
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    let sha: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    (status, body, sha)
}

/// A field of `/proc/PID/status` in kB (`VmHWM`: the peak resident set).
fn proc_status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

#[tokio::test]
async fn a_400_mb_upload_streams_to_disk_in_little_memory_and_survives_kill_9() {
    const BODY: usize = 400 << 20;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("files.db").display());
    let store = Db::open(&url).await.unwrap();
    store.migrate().await.unwrap();
    let ann = db::users::create(&store, "ann", "Ann").await.unwrap();
    let (_, token) =
        app::auth::create_token(&store, ann.id, "test", app::model::TokenScope::Write, None)
            .await
            .unwrap();
    store.close().await;

    let (mut server, port) = spawn_server(&url);
    let pid = server.0.id();
    let (status, answer, sha, peak_kb) = tokio::task::spawn_blocking(move || {
        wait_healthy(port);
        let (status, answer, sha) = upload_snapshot(port, &token, BODY);
        (status, answer, sha, proc_status_kb(pid, "VmHWM"))
    })
    .await
    .unwrap();
    // SIGKILL right after the 201: the file and its count must already be on disk.
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    assert_eq!(status, 201, "{answer}");
    assert!(answer.contains(&sha), "{answer}");
    println!(
        "server peak RSS (VmHWM) {} MB while receiving a {} MB upload",
        peak_kb / 1024,
        BODY >> 20
    );
    assert!(
        peak_kb * 1024 < (BODY / 4) as u64,
        "the server held {peak_kb} kB at its peak for a {BODY}-byte body"
    );

    let kept = dir
        .path()
        .join("files-files/snapshots")
        .join(format!("{sha}.tar.gz"));
    assert_eq!(std::fs::metadata(&kept).unwrap().len(), BODY as u64);
    let store = Db::open(&url).await.unwrap();
    let used = db::storage::usage(&store, ann.id).await.unwrap();
    assert_eq!(used, BODY as i64, "the count survives with the file");
}

#[tokio::test]
async fn millrace_logs_prints_output_larger_than_one_answer_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (url, token) = ann_with_project(&dir, "logs.db").await;

    let (server, port) = spawn_server(&url);
    let (sent, printed) = tokio::task::spawn_blocking(move || {
        wait_healthy(port);
        let (_, created) = http(
            port,
            "POST",
            "/api/v1/projects/ann/xray/jobs",
            &token,
            &json!({"name": "chatty"}),
        );
        let uid = serde_json::from_str::<Value>(&created).unwrap()["uid"]
            .as_str()
            .unwrap()
            .to_owned();
        // 3 MB of output in 3 chunks: 3 answers of at most 1 MiB, cut between lines.
        let mut sent = String::new();
        for batch in 0..3 {
            let lines: Vec<String> = (0..10_000)
                .map(|i| format!("{:0>99}", batch * 10_000 + i))
                .collect();
            let body =
                json!({"lines": lines.iter().map(|t| json!({"text": t})).collect::<Vec<_>>()});
            let (status, answer) = http(
                port,
                "POST",
                &format!("/api/v1/jobs/{uid}/logs"),
                &token,
                &body,
            );
            assert_eq!(status, 200, "{answer}");
            sent.extend(lines.iter().map(|l| format!("{l}\n")));
        }
        let output = Command::new(env!("CARGO_BIN_EXE_millrace"))
            .args([
                "logs",
                &uid,
                "--server",
                &format!("http://127.0.0.1:{port}"),
            ])
            .env("MILLRACE_TOKEN", &token)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        (sent, String::from_utf8(output.stdout).unwrap())
    })
    .await
    .unwrap();
    drop(server);
    assert_eq!(printed.len(), sent.len());
    assert!(printed == sent, "every line once, in order");
}

/// Two `millrace serve` replicas on one fresh PostgreSQL schema and one files directory, with
/// the user `pat`, her token and her project `pat/live`.
struct Replicas {
    schema: Option<FreshSchema>,
    servers: Vec<(Server, u16)>,
    token: String,
    url: String,
}

impl Replicas {
    async fn start(prefix: &str) -> Self {
        let schema = FreshSchema::new(prefix).await;
        let url = schema.url.clone();
        cli(&url, &["user", "create", "pat"]);
        let token = cli(&url, &["token", "create", "--user", "pat"])
            .trim()
            .to_owned();
        // One bucket prefix for both, as replicas share one object store.
        let files = format!("s3://millrace-test/{prefix}-{:016x}", rand::random::<u64>());
        let servers: Vec<(Server, u16)> = (0..2)
            .map(|_| spawn_server_env(&url, &["--files", &files], &s3_env()))
            .collect();
        let ports: Vec<u16> = servers.iter().map(|(_, port)| *port).collect();
        let bearer = token.clone();
        tokio::task::spawn_blocking(move || {
            for port in &ports {
                wait_healthy(*port);
            }
            let (status, made) = http(
                ports[0],
                "POST",
                "/api/v1/projects",
                &bearer,
                &json!({"name": "live"}),
            );
            assert_eq!(status, 201, "{made}");
        })
        .await
        .unwrap();
        Self {
            schema: Some(schema),
            servers,
            token,
            url,
        }
    }

    fn port(&self, replica: usize) -> u16 {
        self.servers[replica].1
    }

    async fn remove(mut self) {
        self.servers.clear();
        self.schema.take().unwrap().remove().await;
    }
}

/// Whether the server on `port` says it leads, in its `/metrics`.
fn leads(port: u16) -> bool {
    let (status, text) = http(port, "GET", "/metrics", "", &Value::Null);
    status == 200 && text.lines().any(|line| line == "millrace_leader 1")
}

/// Waits until exactly one of the replicas leads; its index.
fn the_leader(ports: &[u16], within: Duration) -> usize {
    let deadline = Instant::now() + within;
    loop {
        let leading: Vec<usize> = (0..ports.len()).filter(|&i| leads(ports[i])).collect();
        if let [one] = leading[..] {
            return one;
        }
        assert!(Instant::now() < deadline, "leaders: {leading:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test]
async fn replicas_elect_one_leader_and_another_takes_over_within_15_s_when_it_dies() {
    let mut replicas = Replicas::start("millrace_leader").await;
    let ports = [replicas.port(0), replicas.port(1)];
    let first = tokio::task::spawn_blocking(move || {
        let first = the_leader(&ports, Duration::from_secs(10));
        // Followers keep trying; none may take the lock while the leader holds it.
        std::thread::sleep(Duration::from_secs(5));
        assert_eq!(the_leader(&ports, Duration::ZERO), first);
        first
    })
    .await
    .unwrap();

    let mut dead = replicas.servers.remove(first).0;
    dead.0.kill().unwrap();
    dead.0.wait().unwrap();
    let killed = Instant::now();
    let survivor = [replicas.port(0)];
    tokio::task::spawn_blocking(move || the_leader(&survivor, Duration::from_secs(15)))
        .await
        .unwrap();
    println!(
        "the other replica led {} ms after the leader was killed",
        killed.elapsed().as_millis()
    );
    replicas.remove().await;
}

/// An event stream read on its own thread, which sends the arrival time and id of each event
/// of one kind.
struct Watch {
    arrivals: std::sync::mpsc::Receiver<(Instant, i64)>,
    socket: TcpStream,
}

impl Watch {
    /// Opens `GET /api/v1/events?QUERY` (resuming after `last_event_id` when given) and follows
    /// the events called `name`.
    fn open(port: u16, token: &str, query: &str, name: &str, last_event_id: Option<i64>) -> Self {
        use std::io::BufRead;
        let mut socket = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let resume = last_event_id.map_or(String::new(), |id| format!("Last-Event-ID: {id}\r\n"));
        let request = format!(
            "GET /api/v1/events?{query} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n\
             {resume}\r\n"
        );
        socket.write_all(request.as_bytes()).unwrap();
        let mut lines = std::io::BufReader::new(socket.try_clone().unwrap()).lines();
        // The answer's head: the stream is open once it has been read.
        for line in lines.by_ref() {
            let line = line.unwrap();
            if line.starts_with("HTTP/1.1") {
                assert!(line.contains(" 200 "), "{line}");
            }
            if line.is_empty() {
                break;
            }
        }
        let (arrived, arrivals) = std::sync::mpsc::channel();
        let name = name.to_owned();
        std::thread::spawn(move || {
            // Fields of the message being read; a blank line ends it. Chunk-size lines of the
            // chunked body have no field name and are passed over.
            let (mut event, mut id) = (None::<String>, None::<i64>);
            for line in lines.map_while(Result::ok) {
                if let Some(kind) = line.strip_prefix("event: ") {
                    event = Some(kind.to_owned());
                } else if let Some(number) = line.strip_prefix("id: ") {
                    id = number.trim().parse().ok();
                } else if line.is_empty() {
                    if let (Some(kind), Some(id)) = (event.take(), id.take()) {
                        if kind == name && arrived.send((Instant::now(), id)).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Self { arrivals, socket }
    }

    /// The next event's arrival and id, waiting at most 5 s.
    fn next(&self) -> (Instant, i64) {
        self.arrivals
            .recv_timeout(Duration::from_secs(5))
            .expect("an event within 5 s")
    }

    /// Hangs up, as a browser tab that closes.
    fn close(self) {
        let _ = self.socket.shutdown(std::net::Shutdown::Both);
    }
}

/// Creates a job in `pat/live` through the replica on `port`; its uid.
fn watched_job(port: u16, token: &str) -> String {
    let (status, job) = http(
        port,
        "POST",
        "/api/v1/projects/pat/live/jobs",
        token,
        &json!({"name": "watched"}),
    );
    assert_eq!(status, 201, "{job}");
    serde_json::from_str::<Value>(&job).unwrap()["uid"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Logs one point at `step` of the job `uid` through the replica on `port`.
fn log_point(port: u16, token: &str, uid: &str, step: i64) {
    let points = json!({"points": [{"key": "loss", "step": step, "value": 0.5}]});
    let path = format!("/api/v1/jobs/{uid}/metrics");
    assert_eq!(http(port, "POST", &path, token, &points).0, 200);
}

#[tokio::test]
async fn a_write_through_one_replica_reaches_a_stream_on_another_within_300_ms() {
    let replicas = Replicas::start("millrace_fanout").await;
    let (a, b, token) = (replicas.port(0), replicas.port(1), replicas.token.clone());
    let delays = tokio::task::spawn_blocking(move || {
        let uid = watched_job(a, &token);
        let watch = Watch::open(b, &token, "project=pat/live", "metrics", None);
        let mut delays = Vec::new();
        for step in 0..21 {
            let sent = Instant::now();
            log_point(a, &token, &uid, step);
            delays.push(watch.next().0 - sent);
        }
        delays
    })
    .await
    .unwrap();
    let mut sorted = delays.clone();
    sorted.sort();
    let median = sorted[sorted.len() / 2];
    println!(
        "write on replica A to event on replica B: median {} ms, max {} ms ({} writes)",
        median.as_millis(),
        sorted[sorted.len() - 1].as_millis(),
        sorted.len()
    );
    assert!(median < Duration::from_millis(300), "{delays:?}");
    replicas.remove().await;
}

#[tokio::test]
async fn a_stream_that_reconnects_to_another_replica_misses_nothing() {
    let replicas = Replicas::start("millrace_resume").await;
    let (a, b, token) = (replicas.port(0), replicas.port(1), replicas.token.clone());
    let (seen, resumed, extra) = tokio::task::spawn_blocking(move || {
        let uid = watched_job(a, &token);
        let first = Watch::open(a, &token, "project=pat/live", "metrics", None);
        for step in 0..3 {
            log_point(b, &token, &uid, step);
        }
        let seen: Vec<i64> = (0..3).map(|_| first.next().1).collect();
        first.close();
        // Written while the page is away, on both replicas.
        let before = seen[2];
        for step in 3..8 {
            log_point(if step % 2 == 0 { a } else { b }, &token, &uid, step);
        }
        let again = Watch::open(b, &token, "project=pat/live", "metrics", Some(before));
        let resumed: Vec<i64> = (0..5).map(|_| again.next().1).collect();
        let extra = again.arrivals.recv_timeout(Duration::from_millis(500)).ok();
        (seen, resumed, extra)
    })
    .await
    .unwrap();
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    assert!(resumed.windows(2).all(|w| w[0] < w[1]), "{resumed:?}");
    assert!(
        resumed[0] > seen[2],
        "nothing sent twice: {seen:?} {resumed:?}"
    );
    assert_eq!(extra, None, "five writes, five events");
    replicas.remove().await;
}

#[tokio::test]
async fn a_runner_waiting_on_one_replica_gets_a_job_queued_through_another_at_once() {
    let replicas = Replicas::start("millrace_wake").await;
    let (a, b, token) = (replicas.port(0), replicas.port(1), replicas.token.clone());
    let output = Command::new(env!("CARGO_BIN_EXE_millrace"))
        .args(["runner-token", "create", "--database", &replicas.url])
        .output()
        .unwrap();
    assert!(output.status.success());
    let runner_token = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    let (leased, waited) = tokio::task::spawn_blocking(move || {
        let (status, registered) = http(
            b,
            "POST",
            "/api/v1/runner/register",
            &runner_token,
            &json!({"name": "r1"}),
        );
        assert_eq!(status, 200, "{registered}");
        let runner = serde_json::from_str::<Value>(&registered).unwrap()["runner_id"].clone();
        let waiting = std::thread::spawn(move || {
            let body = json!({"runner_id": runner, "wait_ms": 20_000});
            let answer = http(b, "POST", "/api/v1/runner/lease", &runner_token, &body);
            (answer, Instant::now())
        });
        std::thread::sleep(Duration::from_millis(500));
        let spec = "name: woken\nproject: pat/live\ncommand: echo hi\n";
        let request = server::spec::parse("job.yaml", spec).unwrap().request(None);
        let queued_at = Instant::now();
        let body = serde_json::to_value(request).unwrap();
        let (status, applied) = http(a, "POST", "/api/v1/projects/pat/live/apply", &token, &body);
        assert_eq!(status, 201, "{applied}");
        let (leased, answered_at) = waiting.join().unwrap();
        (leased, answered_at - queued_at)
    })
    .await
    .unwrap();
    assert_eq!(leased.0, 200, "{}", leased.1);
    assert_eq!(
        serde_json::from_str::<Value>(&leased.1).unwrap()["name"],
        "woken"
    );
    println!(
        "a job queued on replica A was leased on replica B after {} ms",
        waited.as_millis()
    );
    assert!(waited < Duration::from_secs(1), "{waited:?}");
    replicas.remove().await;
}

/// A trial that takes about a second: three steps of an objective that only depends on `x`.
const TRIAL: &str = r#"
import sys, time
x = float(sys.argv[1])
for step in range(1, 4):
    print(f"step={step} objective={(x - 0.5) ** 2 + 0.1 * (3 - step):.6f}", flush=True)
    time.sleep(0.3)
"#;

/// Eight trials, two at a time.
const EIGHT_TRIALS: &str = "\
sweep: failover
project: pat/live
job:
  command: python3 trial.py {{x}}
  code: .
  metrics: {names: [objective]}
space:
  x: {uniform: [0, 1]}
objective: {metric: objective, goal: minimize}
algorithm: random
seed: 3
trials: 8
parallel: 2
";

/// The sweep's JSON as replica `port` shows it.
fn sweep(port: u16, token: &str) -> Value {
    let (status, text) = http(port, "GET", "/api/v1/sweeps/1", token, &Value::Null);
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn an_artifact_uploaded_through_one_replica_downloads_byte_identical_through_another() {
    let replicas = Replicas::start("millrace_files").await;
    let (a, b, token) = (replicas.port(0), replicas.port(1), replicas.token.clone());
    let uid = tokio::task::spawn_blocking(move || watched_job(a, &token))
        .await
        .unwrap();
    // 20 MiB: sent to the bucket as a multipart upload by replica A.
    let artifact: Vec<u8> = (0..20usize << 20).map(|i| (i * 7 % 253) as u8).collect();
    let client = reqwest::Client::new();
    let url = |port: u16, path: &str| format!("http://127.0.0.1:{port}/api/v1/jobs/{uid}/{path}");
    let bearer = format!("Bearer {}", replicas.token);
    let put = client
        .put(url(a, "artifacts/model/weights.bin"))
        .header("Authorization", &bearer)
        .body(artifact.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 201, "{}", put.text().await.unwrap());

    let whole = client
        .get(url(b, "artifacts/model/weights.bin"))
        .header("Authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(whole.status(), 200);
    let body = whole.bytes().await.unwrap();
    assert!(body == artifact, "byte-identical through the other replica");
    let part = client
        .get(url(b, "artifacts/model/weights.bin"))
        .header("Authorization", &bearer)
        .header("Range", "bytes=-1000")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(
        &part.bytes().await.unwrap()[..],
        &artifact[artifact.len() - 1000..]
    );
    let listed: Value = client
        .get(url(b, "artifacts"))
        .header("Authorization", &bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["artifacts"],
        json!([{"path": "model/weights.bin", "bytes": artifact.len()}])
    );
    replicas.remove().await;
}

#[tokio::test]
async fn a_sweep_runs_exactly_its_budget_when_the_leader_is_killed_in_the_middle() {
    let mut replicas = Replicas::start("millrace_sweep_failover").await;
    let ports = [replicas.port(0), replicas.port(1)];
    let leader = tokio::task::spawn_blocking(move || the_leader(&ports, Duration::from_secs(10)))
        .await
        .unwrap();
    let follower = ports[1 - leader];
    let work = tempfile::tempdir().unwrap();
    let code = work.path().join("code");
    std::fs::create_dir_all(&code).unwrap();
    std::fs::write(code.join("trial.py"), TRIAL).unwrap();
    std::fs::write(code.join("sweep.yaml"), EIGHT_TRIALS).unwrap();
    let server = format!("http://127.0.0.1:{follower}");
    let runner_token = cli(&replicas.url, &["runner-token", "create"])
        .trim()
        .to_owned();
    let runner = Command::new(env!("CARGO_BIN_EXE_millrace"))
        .args(["runner", "--server", &server, "--name", "r1", "--gpus", "0"])
        .args(["--max-jobs", "2", "--grace", "1s", "--workdir"])
        .arg(work.path().join("runner"))
        .env("MILLRACE_RUNNER_TOKEN", &runner_token)
        .env("MILLRACE_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Killed when dropped, as the servers are.
    let _runner = Server(runner);
    let applied = Command::new(env!("CARGO_BIN_EXE_millrace"))
        .args(["apply", "--server", &server, "--token", &replicas.token])
        .args(["-f", "sweep.yaml"])
        .current_dir(&code)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&applied.stdout);
    assert!(said.contains("started sweep 1 of 8 trials"), "{said}");

    let token = replicas.token.clone();
    let ended_before = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let shown = sweep(follower, &token);
            let trials = shown["trials"].as_array().unwrap();
            let ended = trials.iter().filter(|t| t["state"] == "completed").count();
            if ended >= 2 {
                return ended;
            }
            assert!(Instant::now() < deadline, "no trial ended: {shown}");
            std::thread::sleep(Duration::from_millis(100));
        }
    })
    .await
    .unwrap();
    assert!(ended_before < 8, "the leader dies mid-sweep");
    let mut dead = replicas.servers.remove(leader).0;
    dead.0.kill().unwrap();
    dead.0.wait().unwrap();

    let token = replicas.token.clone();
    let finished = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let shown = sweep(follower, &token);
            if shown["state"] != "running" {
                return shown;
            }
            assert!(Instant::now() < deadline, "the sweep stalled: {shown}");
            std::thread::sleep(Duration::from_millis(200));
        }
    })
    .await
    .unwrap();
    assert!(leads(follower), "the survivor leads");
    assert_eq!(finished["state"], "finished", "{finished}");
    let trials = finished["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 8, "exactly the budget: {finished}");
    assert!(
        trials.iter().all(|t| t["state"] == "completed"),
        "{finished}"
    );
    let store = Db::open(&replicas.url).await.unwrap();
    let jobs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs")
        .fetch_one(store.pool())
        .await
        .unwrap();
    store.close().await;
    assert_eq!(jobs, 8, "one job per trial, none queued twice");
    println!(
        "sweep of 8 trials finished under the new leader ({ended_before} ended before the kill)"
    );
    replicas.remove().await;
}

#[tokio::test]
async fn sigterm_ends_open_event_streams_so_the_server_exits_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (url, token) = ann_with_project(&dir, "closing.db").await;

    let (mut server, port) = spawn_server(&url);
    let (exit, took) = tokio::task::spawn_blocking(move || {
        wait_healthy(port);
        let _watch = Watch::open(port, &token, "project=ann/xray", "metrics", None);
        let pid = nix::unistd::Pid::from_raw(server.0.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let sent = Instant::now();
        let exit = loop {
            if let Some(status) = server.0.try_wait().unwrap() {
                break status;
            }
            assert!(
                sent.elapsed() < Duration::from_secs(10),
                "an open event stream held the server"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        (exit, sent.elapsed())
    })
    .await
    .unwrap();
    assert!(exit.success(), "a graceful exit: {exit:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}
