//! Pools with the local provider of docs/pools: the server runs its create and delete scripts,
//! which start and kill real `millrace runner` processes on this machine, each finding two
//! GPUs through a stub `nvidia-smi`.

use super::harness::Cluster;
use super::queue;
use app::runners::pool::{MachineState, PoolInfo};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A pool scripts folder; dropping it kills the runners its local machines still run, so a
/// test leaves no process behind whatever the server did.
struct Scripts {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Scripts {
    fn join(&self, path: impl AsRef<Path>) -> PathBuf {
        self.path.join(path)
    }
}

impl Drop for Scripts {
    fn drop(&mut self) {
        let Ok(machines) = std::fs::read_dir(self.join("machines")) else {
            return;
        };
        for machine in machines.flatten() {
            if let Ok(pid) = std::fs::read_to_string(machine.path().join("pid")) {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", pid.trim()])
                    .status();
            }
        }
    }
}

/// A server whose pool scripts folder holds the local provider's scripts and `extra` ones
/// (name, body), with `millrace` and a two-GPU `nvidia-smi` on its PATH.
async fn cluster_with_scripts(lease: &str, extra: &[(&str, &str)]) -> (Cluster, Scripts) {
    let dir = tempfile::tempdir().unwrap();
    let scripts = dir.path().join("pool-scripts");
    std::fs::create_dir_all(&scripts).unwrap();
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/pools");
    for name in ["local-create.sh", "local-delete.sh"] {
        std::fs::copy(docs.join(name), scripts.join(name)).unwrap();
    }
    for (name, body) in extra {
        let path = scripts.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let bin = Path::new(env!("CARGO_BIN_EXE_millrace")).parent().unwrap();
    let gpus = dir.path().join("gpus");
    std::fs::create_dir_all(&gpus).unwrap();
    let smi = gpus.join("nvidia-smi");
    std::fs::write(
        &smi,
        "#!/bin/sh\ncase \"$1\" in --query-gpu=index,name,*) \
         echo '0, NVIDIA L4, 23034, GPU-a'; echo '1, NVIDIA L4, 23034, GPU-b';; *) exit 9;; esac\n",
    )
    .unwrap();
    std::fs::set_permissions(&smi, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}:{}",
        gpus.display(),
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let scripts_arg = scripts.display().to_string();
    let cluster =
        Cluster::start_with(lease, &["--pool-scripts", &scripts_arg], &[("PATH", &path)]).await;
    (
        cluster,
        Scripts {
            path: scripts,
            _dir: dir,
        },
    )
}

/// Applies pool spec `yaml` with the CLI as ann; what it printed.
fn apply(cluster: &Cluster, yaml: &str) -> String {
    let dir = cluster.project_dir("pool-spec", &[("pool.yaml", yaml)]);
    let output = cluster.cli(&["apply", "-f", "pool.yaml"], &dir);
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

async fn pools(cluster: &Cluster) -> Vec<PoolInfo> {
    cluster.client().get("/api/v1/pools").await.unwrap()
}

/// Polls the pools until `done` holds of them.
async fn wait_pools(
    cluster: &Cluster,
    within: Duration,
    what: &str,
    done: impl Fn(&[PoolInfo]) -> bool,
) -> Vec<PoolInfo> {
    let deadline = Instant::now() + within;
    loop {
        let pools = pools(cluster).await;
        if done(&pools) {
            return pools;
        }
        assert!(
            Instant::now() < deadline,
            "{what} within {within:?}: {pools:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every machine a pool's history names.
fn machines_ever(pool: &PoolInfo) -> BTreeSet<String> {
    pool.history.iter().map(|c| c.machine.clone()).collect()
}

const POOL: &str = "pool: local
labels: [local]
gpus_per_machine: 2
price_per_hour: 7.2
max: 2
idle_timeout: 3s
boot_timeout: 60s
create: ./local-create.sh {{name}}
delete: ./local-delete.sh {{name}}
";

#[tokio::test]
async fn six_waiting_jobs_get_two_machines_which_go_when_idle() {
    let (cluster, scripts) = cluster_with_scripts("5s", &[]).await;
    let said = apply(&cluster, POOL);
    assert!(said.contains("pool local: created"), "{said}");
    assert!(apply(&cluster, POOL).contains("pool local: unchanged"));

    let mut uids = Vec::new();
    for i in 0..6 {
        // A local machine's runner works under machines/NAME/work in the scripts folder.
        let command = "sleep 1; echo \"in $PWD\"";
        let extra = json!({ "gpus": 1, "labels": ["local"] });
        uids.push(queue(&cluster, &format!("job-{i}"), command, extra).await);
    }
    let mut most_live = 0;
    for uid in &uids {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let live = pools(&cluster).await[0].machines.len();
            most_live = most_live.max(live);
            let job = cluster.job(uid).await;
            if job["status"] == "succeeded" {
                break;
            }
            assert!(Instant::now() < deadline, "job {uid} is {}", job["status"]);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert!(most_live <= 2, "never more than max machines: {most_live}");
    let done = wait_pools(
        &cluster,
        Duration::from_secs(30),
        "both machines deleted",
        |p| p[0].machines.is_empty(),
    )
    .await;
    let ever = machines_ever(&done[0]);
    assert_eq!(
        ever.len(),
        2,
        "6 one-GPU jobs on two-GPU machines take two: {ever:?}"
    );
    for machine in &ever {
        assert!(machine.starts_with("local-"), "{machine}");
        let states: Vec<MachineState> = done[0]
            .history
            .iter()
            .rev()
            .filter(|c| &c.machine == machine)
            .map(|c| c.state)
            .collect();
        assert_eq!(
            states.first(),
            Some(&MachineState::Requested),
            "{machine}: {states:?}"
        );
        for state in [
            MachineState::Ready,
            MachineState::Busy,
            MachineState::Idle,
            MachineState::Draining,
        ] {
            assert!(
                states.contains(&state),
                "{machine} went through {state:?}: {states:?}"
            );
        }
        assert_eq!(
            states.last(),
            Some(&MachineState::Gone),
            "{machine}: {states:?}"
        );
    }
    let deleted = std::fs::read_to_string(scripts.join("machines/deleted")).unwrap();
    assert_eq!(
        deleted.lines().collect::<BTreeSet<_>>().len(),
        2,
        "{deleted}"
    );

    // Each job ran on a pool machine and paid its share: half a machine's 7.20 an hour.
    for uid in &uids {
        let job = cluster.job(uid).await;
        let (cost, ms) = (
            job["cost_usd"].as_f64().unwrap(),
            job["duration_ms"].as_f64().unwrap(),
        );
        let expected = 3.6 * ms / 3_600_000.0;
        assert!((cost - expected).abs() < 1e-9, "{uid}: {cost} for {ms} ms");
        let (output, _) = cluster.output(uid).await;
        assert!(output.contains("/machines/local-"), "{output}");
    }
    let pool = &done[0];
    assert!(pool.spent_today > 0.0, "{pool:?}");
    assert!(pool.spent_today <= pool.spent_this_month + 1e-9, "{pool:?}");
    // Both machines ran only this project's jobs, so it pays for their whole lives: its jobs'
    // shares, and the idle time around them.
    let project: Value = cluster
        .client()
        .get("/api/v1/projects/ann/lab")
        .await
        .unwrap();
    let (cost, idle) = (
        project["cost_usd"].as_f64().unwrap(),
        project["idle_cost_usd"].as_f64().unwrap(),
    );
    let mut jobs_cost = 0.0;
    for uid in &uids {
        jobs_cost += cluster.job(uid).await["cost_usd"].as_f64().unwrap();
    }
    assert!(
        idle > 0.0 && (cost - jobs_cost - idle).abs() < 1e-6,
        "{project}"
    );
    assert!(
        (cost - pool.spent_this_month).abs() < 1e-6,
        "{cost} for the pool's {}",
        pool.spent_this_month
    );
    let page = cluster.page("/runners").await;
    assert!(
        page.contains("Pool local") && page.contains("idle ones go after"),
        "{page}"
    );
    let listed = cluster.cli(&["pool", "list"], cluster.dir.path());
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.starts_with("local\t0 of 2 machines\t"), "{listed}");
}

#[tokio::test]
async fn a_machine_killed_mid_job_is_lost_and_its_job_finishes_on_a_new_one() {
    let (cluster, scripts) = cluster_with_scripts("2s", &[]).await;
    let said = apply(&cluster, &POOL.replace("max: 2", "max: 1"));
    assert!(said.contains("pool local: created"), "{said}");
    let extra = json!({ "gpus": 1, "labels": ["local"], "retries": 1 });
    let uid = queue(
        &cluster,
        "preempted",
        "sleep 4; echo \"finished in $PWD\"",
        extra,
    )
    .await;
    cluster
        .wait_status(&uid, &["running"], Duration::from_secs(60))
        .await;
    let first = pools(&cluster).await[0].machines[0].name.clone();
    // The cloud takes the machine away: its runner dies without a word.
    let pid = std::fs::read_to_string(scripts.join(format!("machines/{first}/pid"))).unwrap();
    std::process::Command::new("kill")
        .args(["-KILL", pid.trim()])
        .status()
        .unwrap();

    cluster
        .wait_status(&uid, &["succeeded"], Duration::from_secs(90))
        .await;
    let (output, _) = cluster.output(&uid).await;
    assert!(
        output.contains("finished in") && !output.contains(&first),
        "{output}"
    );
    let pools = wait_pools(
        &cluster,
        Duration::from_secs(10),
        "the lost machine recorded",
        |p| {
            p[0].history
                .iter()
                .any(|c| c.machine == first && c.state == MachineState::Lost)
        },
    )
    .await;
    let ever = machines_ever(&pools[0]);
    assert_eq!(
        ever.len(),
        2,
        "a new machine took the requeued job: {ever:?}"
    );
    let lost = pools[0]
        .history
        .iter()
        .rev()
        .find(|c| c.state == MachineState::Lost)
        .unwrap();
    assert!(lost.reason.contains("stopped reporting"), "{lost:?}");
}

#[tokio::test]
async fn a_failing_create_command_backs_off_and_leaves_nothing_behind() {
    let (cluster, scripts) = cluster_with_scripts(
        "5s",
        &[(
            "broken-create.sh",
            "echo asking the cloud; echo 'quota exceeded for L4' >&2; exit 3",
        )],
    )
    .await;
    let said = apply(
        &cluster,
        &POOL.replace("./local-create.sh", "broken-create.sh"),
    );
    assert!(said.contains("pool local: created"), "{said}");
    queue(
        &cluster,
        "waits",
        "true",
        json!({ "gpus": 1, "labels": ["local"] }),
    )
    .await;
    let pools = wait_pools(&cluster, Duration::from_secs(20), "a failed machine", |p| {
        p[0].history
            .iter()
            .any(|c| c.state == MachineState::Gone || c.state == MachineState::Failed)
            && p[0].machines.is_empty()
    })
    .await;
    let pool = &pools[0];
    // The history is newest first: the first change to failed says why.
    let failed = pool
        .history
        .iter()
        .rev()
        .find(|c| c.state == MachineState::Failed)
        .unwrap();
    assert!(
        failed
            .reason
            .contains("broken-create.sh exited with 3: quota exceeded for L4"),
        "{failed:?}"
    );
    let held = pool.held.clone().unwrap_or_default();
    assert!(held.contains("1 create command failed in a row"), "{held}");
    // Within the backoff (10 s) no second machine is asked for.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let later = self::pools(&cluster).await;
    assert_eq!(machines_ever(&later[0]).len(), 1, "{later:#?}");
    // Nothing leaked: the delete script ran for it, and its runner token is revoked.
    let deleted = std::fs::read_to_string(scripts.join("machines/deleted")).unwrap();
    assert_eq!(deleted.trim(), failed.machine, "{deleted}");
    let tokens = cluster.admin(&["runner-token", "list"]);
    let line = tokens
        .lines()
        .find(|l| l.contains(&failed.machine))
        .unwrap();
    assert!(line.ends_with("revoked"), "{tokens}");
}

#[tokio::test]
async fn a_pool_over_its_daily_cost_creates_no_more_machines_and_says_so() {
    let (cluster, _scripts) = cluster_with_scripts("5s", &[]).await;
    // 3,600,000 an hour is 1 a millisecond: the first machine passes the day's 5 at once.
    let spec = POOL
        .replace(
            "price_per_hour: 7.2",
            "price_per_hour: 3600000\nmax_cost_per_day: 5",
        )
        .replace("idle_timeout: 3s", "idle_timeout: 1m");
    let said = apply(&cluster, &spec);
    assert!(said.contains("pool local: created"), "{said}");
    let extra = json!({ "gpus": 2, "labels": ["local"] });
    let first = queue(&cluster, "first", "sleep 5", extra.clone()).await;
    cluster
        .wait_status(&first, &["running"], Duration::from_secs(60))
        .await;
    let second = queue(&cluster, "second", "true", extra).await;
    let pools = wait_pools(&cluster, Duration::from_secs(10), "the pool held", |p| {
        p[0].held.is_some()
    })
    .await;
    let held = pools[0].held.clone().unwrap();
    assert!(held.contains("max_cost_per_day is 5.00"), "{held}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let later = self::pools(&cluster).await;
    assert_eq!(
        machines_ever(&later[0]).len(),
        1,
        "no second machine: {later:#?}"
    );
    // The second job runs once the first machine is free again.
    cluster
        .wait_status(&second, &["succeeded"], Duration::from_secs(30))
        .await;
    let page = cluster.page("/runners").await;
    assert!(
        page.contains("max_cost_per_day is 5.00"),
        "the page says why: {page}"
    );
}

#[tokio::test]
async fn pool_specs_are_an_administrators_and_run_only_the_servers_scripts() {
    let (cluster, _scripts) = cluster_with_scripts("5s", &[]).await;
    let missing = apply(
        &cluster,
        &POOL.replace("./local-create.sh", "gcp-create.sh"),
    );
    assert!(
        missing.contains("there is no program 'gcp-create.sh' in the server's pool scripts folder"),
        "{missing}"
    );
    let path = apply(&cluster, &POOL.replace("./local-create.sh", "/bin/sh -c"));
    assert!(
        path.contains("pool.yaml:8:9: create: '/bin/sh' is not a file name"),
        "{path}"
    );
    assert!(pools(&cluster).await.is_empty());

    // Someone who is not an administrator cannot add one.
    cluster.admin(&["user", "create", "bob"]);
    let bob = cluster
        .admin(&["token", "create", "--user", "bob"])
        .trim()
        .to_owned();
    let refused = reqwest::Client::new()
        .put(format!("{}/api/v1/pools/local", cluster.url))
        .bearer_auth(&bob)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
}

#[tokio::test]
async fn a_machines_token_registers_that_machines_runner_alone_with_the_pools_labels() {
    // A create script that keeps the token instead of starting a runner.
    let (cluster, scripts) = cluster_with_scripts(
        "5s",
        &[(
            "keep-token.sh",
            "echo \"$MILLRACE_MACHINE $MILLRACE_TOKEN\" > \"$(dirname \"$0\")/kept\"",
        )],
    )
    .await;
    let said = apply(
        &cluster,
        &POOL.replace("./local-create.sh", "keep-token.sh"),
    );
    assert!(said.contains("pool local: created"), "{said}");
    queue(
        &cluster,
        "waits",
        "true",
        json!({ "gpus": 1, "labels": ["local"] }),
    )
    .await;
    let kept = scripts.join("kept");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !kept.exists() {
        assert!(Instant::now() < deadline, "the create script did not run");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let text = std::fs::read_to_string(&kept).unwrap();
    let (machine, token) = text.trim().split_once(' ').unwrap();
    let register = |name: &str| {
        reqwest::Client::new()
            .post(format!("{}/api/v1/runner/register", cluster.url))
            .bearer_auth(token)
            .json(&json!({ "name": name, "gpus": ["0", "1"], "labels": ["mine"] }))
            .send()
    };
    let other = register("someone-else").await.unwrap();
    assert_eq!(other.status(), 400);
    let said = other.text().await.unwrap();
    assert!(
        said.contains(&format!("start its runner with --name {machine}")),
        "{said}"
    );
    assert_eq!(register(machine).await.unwrap().status(), 200);
    let listed = pools(&cluster).await;
    let state = listed[0].machines[0].state;
    assert!(
        matches!(state, MachineState::Ready | MachineState::Idle),
        "{listed:#?}"
    );
    let page = cluster.page("/runners").await;
    assert!(
        page.contains("mine, local"),
        "the pool's labels were added: {page}"
    );
}
