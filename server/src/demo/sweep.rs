//! The demo's finished sweep, `hpo-demo` in the first user's project of that name: trials of a
//! known function, each a succeeded job with its parameters and a validation-loss curve, so
//! the sweep views (and their benchmark) have data without runners.

use super::artifacts;
use crate::spec::{parse_sweep, SweepRequest};
use anyhow::Context;
use app::db::jobs::NewJob;
use app::db::metrics::{self, Point};
use app::db::sweeps::{self, NewSweep, SweepState, TrialEnd, TrialState};
use app::db::{self, Db};
use app::file_store::FileStore;
use app::model::JobStatus;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map, Value};

/// The demo sweep's project and sweep name.
pub const NAME: &str = "hpo-demo";

/// Steps each trial logged.
const STEPS: i64 = 10;

const OPTIMIZERS: [&str; 3] = ["sgd", "adam", "adamw"];

/// Creates project `owner_name/hpo-demo` with a finished random sweep of `trials` trials
/// ending at `anchor_ms`, its two best trials registered with their files under `files`;
/// returns the number of jobs it made.
pub async fn create(
    db: &Db,
    (owner, owner_name): (i64, &str),
    trials: u32,
    seed: u64,
    anchor_ms: i64,
    files: &FileStore,
) -> anyhow::Result<u64> {
    let yaml = format!(
        "sweep: {NAME}\nproject: {owner_name}/{NAME}\njob:\n  command: python train.py --lr {{{{lr}}}}\n\
         space:\n  lr: {{log_uniform: [1.0e-5, 1.0e-1]}}\n  dropout: {{uniform: [0, 0.5]}}\n\
         \x20 layers: {{int_uniform: [1, 8]}}\n  optimizer: {{choice: [sgd, adam, adamw]}}\n\
         objective: {{metric: val_loss, goal: minimize}}\nalgorithm: random\nseed: {seed}\n\
         trials: {trials}\nparallel: 8\n"
    );
    let request = SweepRequest {
        spec: parse_sweep("demo-sweep.yaml", &yaml).context("the demo sweep spec")?,
        snapshot: None,
        cloned_from: None,
    };
    let started = anchor_ms - i64::from(trials) * 60_000;
    let mut tx = db.begin().await?;
    let row = db::projects::NewRow {
        name: NAME,
        description: "A finished hyperparameter sweep.",
        ..Default::default()
    };
    let project = db::projects::create_at(&mut tx, owner, &row, started - 60_000).await?;
    let sweep = sweeps::create(
        &mut tx,
        &NewSweep {
            project,
            name: NAME.into(),
            spec: serde_json::to_string(&request.spec)?,
            spec_hash: request.hash(),
            snapshot: None,
            seed: seed as i64,
            cloned_from: None,
            created_by: Some(owner),
            ..NewSweep::default()
        },
    )
    .await?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let plans: Vec<(Map<String, Value>, f64)> = (0..trials).map(|_| trial(&mut rng)).collect();
    let jobs: Vec<NewJob> = plans
        .iter()
        .enumerate()
        .map(|(i, (params, _))| {
            let start = started + i as i64 * 60_000;
            NewJob {
                name: format!("{NAME}-{i}"),
                status: Some(JobStatus::Succeeded),
                command: "python train.py".into(),
                params: params.clone(),
                created_by: Some(owner),
                created_ms: Some(start),
                started_ms: Some(start),
                finished_ms: Some(start + 55_000),
                ..NewJob::default()
            }
        })
        .collect();
    let refs = db::jobs::insert_many(&mut tx, project, &jobs).await?;
    for (i, ((params, loss), job)) in plans.iter().zip(&refs).enumerate() {
        let index = i as i64;
        sweeps::add_trial(&mut tx, sweep, index, job.id, params).await?;
        let curve = curve(started + index * 60_000, *loss);
        metrics::append_many(&mut tx, project, job.id, &[("val_loss", &curve)]).await?;
        let end = TrialEnd {
            state: TrialState::Completed,
            value: curve.last().map(|p| p.value),
            step: Some(STEPS - 1),
            reason: None,
        };
        sweeps::end_trial(&mut tx, sweep, index, &end).await?;
    }
    sweeps::end(&mut tx, sweep, SweepState::Finished, None).await?;
    let mut ranked: Vec<usize> = (0..plans.len()).collect();
    ranked.sort_by(|&a, &b| plans[a].1.total_cmp(&plans[b].1));
    let best: Vec<usize> = ranked.into_iter().take(2).rev().collect();
    let best_jobs: Vec<&db::jobs::JobRef> = best.iter().map(|&i| &refs[i]).collect();
    register_best(&mut tx, project, owner, &best_jobs).await?;
    for i in best {
        let (params, loss) = &plans[i];
        let curve = curve(started + i as i64 * 60_000, *loss);
        let name = format!("{NAME}-{i}");
        let kept = artifacts::of_trial(&name, &refs[i].uid, params, &curve);
        artifacts::keep(&mut tx, files, owner, &refs[i].uid, &kept).await?;
    }
    tx.commit().await?;
    Ok(refs.len() as u64)
}

/// The validation loss a trial that ends at `loss` logged, one point a step from `start`.
fn curve(start: i64, loss: f64) -> Vec<Point> {
    (0..STEPS)
        .map(|step| Point {
            step,
            wall_ms: start + step * 5_000,
            value: loss + (2.0 - loss) * (-0.5 * step as f64).exp(),
        })
        .collect()
}

/// Registers the runs of `jobs` as versions of model `hpo-demo-model`, in order, the last one
/// aliased `champion`, so the Models view and `millrace model` have something to show.
async fn register_best(
    tx: &mut db::Tx,
    project: i64,
    owner: i64,
    jobs: &[&db::jobs::JobRef],
) -> anyhow::Result<()> {
    let name = format!("{NAME}-model");
    let description = "The sweep's best configurations.";
    let model = db::registry::create(tx, &name, owner, description, &[])
        .await?
        .with_context(|| format!("the demo's registered model {name} exists already"))?;
    db::registry::place(tx, model, project).await?;
    let mut champion = None;
    for job in jobs {
        let source = format!("runs:/{}/model", job.uid);
        let version = db::registry::NewVersion {
            source: &source,
            storage_location: &source,
            run_id: &job.uid,
            job: Some(job.id),
            logged_model: None,
            run_link: "",
            description: "",
            creator: owner,
            tags: &[],
        };
        champion = Some(db::registry::create_version(tx, model, &version).await?.id);
    }
    if let Some(version) = champion {
        db::registry::set_alias(tx, model, "champion", version).await?;
    }
    Ok(())
}

/// A trial's parameters and final loss: a bowl around lr 3e-5 (near the low end, so the loss
/// mostly rises with lr), dropout 0.2 and 4 layers, with adam best, plus noise, so importance
/// and the parallel plot have something to find.
fn trial(rng: &mut ChaCha8Rng) -> (Map<String, Value>, f64) {
    let lr = 10f64.powf(rng.gen_range(-5.0..-1.0));
    let dropout: f64 = rng.gen_range(0.0..0.5);
    let layers: i64 = rng.gen_range(1..=8);
    let optimizer = rng.gen_range(0..OPTIMIZERS.len());
    let loss = 0.1
        + 0.05 * (lr.log10() + 4.5).powi(2)
        + 0.6 * (dropout - 0.2).powi(2)
        + 0.01 * (layers - 4).abs() as f64
        + [0.05, 0.0, 0.02][optimizer]
        + rng.gen_range(0.0..0.02);
    let params = json!({
        "lr": lr, "dropout": dropout, "layers": layers, "optimizer": OPTIMIZERS[optimizer],
    });
    (params.as_object().cloned().unwrap_or_default(), loss)
}
