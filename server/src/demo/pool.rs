//! The demo's pool: an A100 spot pool at rest, with the last days of its machines behind it (one
//! drained when idle, one preempted, one whose create command hit a quota), so `/runners` shows
//! what a pool looks like before anyone has a cloud to try it with.

use crate::spec::parse_pool;
use anyhow::Context;
use app::db::{pools, Db};
use app::runners::pool::MachineState::{
    Booting, Busy, Deleting, Draining, Failed, Gone, Idle, Lost, Ready, Requested,
};

/// The pool, as its administrator would apply it.
const SPEC: &str = "pool: a100-spot
labels: [a100, spot]
gpus_per_machine: 8
gpu: {model: A100, memory: 80GB}
price_per_hour: 14.50
min: 0
max: 4
idle_timeout: 10m
max_cost_per_day: 500
create: gcp-create.sh {{name}}
delete: gcp-delete.sh {{name}}
";

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

/// Applies the demo pool and writes its machines' past lives, ending before `anchor`.
pub async fn create(db: &Db, anchor: i64) -> anyhow::Result<()> {
    let settings = parse_pool("demo pool", SPEC)
        .context("the demo pool spec")?
        .settings()
        .map_err(|(field, message)| anyhow::anyhow!("{}: {message}", field.join(".")))?;
    pools::apply(db, "a100-spot", &settings).await?;
    let pool = pools::all(db)
        .await?
        .into_iter()
        .find(|p| p.name == "a100-spot")
        .context("the demo pool was just applied")?;
    let booted = |at: i64| {
        [
            (Requested, at, ""),
            (Booting, at + 4_000, ""),
            (Ready, at + 3 * MINUTE, ""),
            (Busy, at + 3 * MINUTE + 2_000, ""),
        ]
    };
    let drained = |at: i64, busy_for: i64| {
        let idle = at + busy_for;
        let mut life = booted(at).to_vec();
        life.extend([
            (Idle, idle, ""),
            (Draining, idle + 10 * MINUTE, "idle for 600s"),
            (Deleting, idle + 10 * MINUTE, ""),
            (Gone, idle + 11 * MINUTE, ""),
        ]);
        life
    };
    let deleted = "Deleted [https://compute.googleapis.com/compute/v1/projects/lab/zones/\
                   us-central1-a/instances/{name}].";
    let quota = "ERROR: (gcloud.compute.instances.create) Quota 'PREEMPTIBLE_NVIDIA_A100_GPUS' \
                 exceeded. Limit: 16.0 in region us-central1.";

    let name = "a100-spot-7kq2xd";
    let life = drained(anchor - 74 * HOUR, 6 * HOUR);
    pools::past_machine(db, &pool, name, &life, &deleted.replace("{name}", name)).await?;

    let name = "a100-spot-m3v9tc";
    let mut life = booted(anchor - 60 * HOUR).to_vec();
    let preempted = anchor - 58 * HOUR;
    let lost = "its runner stopped reporting (preempted or down); its jobs are requeued";
    life.extend([
        (Lost, preempted, lost),
        (Deleting, preempted, ""),
        (Lost, preempted + MINUTE, "deleted"),
    ]);
    pools::past_machine(db, &pool, name, &life, &deleted.replace("{name}", name)).await?;

    let name = "a100-spot-c81hwz";
    let at = anchor - 26 * HOUR;
    let reason = format!("gcp-create.sh exited with 1: {quota}");
    let life = [
        (Requested, at, ""),
        (Failed, at + 9_000, reason.as_str()),
        (Deleting, at + 9_000, ""),
        (Failed, at + 14_000, "deleted"),
    ];
    pools::past_machine(db, &pool, name, &life, quota).await?;

    let name = "a100-spot-p05rjn";
    let life = drained(anchor - 5 * HOUR, 2 * HOUR + 20 * MINUTE);
    pools::past_machine(db, &pool, name, &life, &deleted.replace("{name}", name)).await?;
    Ok(())
}
