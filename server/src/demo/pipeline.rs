//! The demo's pipeline, `train-eval` in the first user's project `vision-pipeline`: a run whose
//! training step failed (so its evaluation was skipped), then its rerun from that step, which
//! reused the data preparation and finished, so the pipelines view has graphs to show without
//! runners.

use crate::spec::pipeline::{input_dir, BestValues, PipelineRequest};
use crate::spec::{parse_pipeline, PlanInput};
use anyhow::Context;
use app::db::jobs::{JobRef, NewJob};
use app::db::metrics::{self, Point};
use app::db::pipelines::{self, NewRun, RunState, Start, StepState};
use app::db::{self, Db, Tx};
use app::model::JobStatus;

/// The demo pipeline's project.
pub const PROJECT: &str = "vision-pipeline";

const MINUTE: i64 = 60_000;

/// Creates project `owner_name/vision-pipeline` with two runs of the `train-eval` pipeline
/// ending before `anchor_ms`; returns the number of jobs it made.
pub async fn create(
    db: &Db,
    (owner, owner_name): (i64, &str),
    anchor_ms: i64,
) -> anyhow::Result<u64> {
    let yaml = format!(
        "pipeline: train-eval\nproject: {owner_name}/{PROJECT}\nsteps:\n  prep:\n    \
         command: python prep.py --out data/\n    outputs: [data/]\n  train:\n    needs: [prep]\n    \
         command: python train.py --data inputs/prep/data --epochs 3\n    outputs: [model.pt]\n    \
         resources: {{gpus: 1}}\n    metrics: {{names: [loss]}}\n  evaluate:\n    needs: [train]\n    \
         for_each: {{split: [val, test]}}\n    \
         command: python eval.py --model inputs/train/model.pt --split {{{{split}}}}\n    \
         metrics: {{names: [acc]}}\n"
    );
    let request = PipelineRequest {
        spec: parse_pipeline("demo-pipeline.yaml", &yaml).context("the demo pipeline spec")?,
        snapshots: Default::default(),
    };
    let first = anchor_ms - 6 * 60 * MINUTE;
    let mut tx = db.begin().await?;
    let row = db::projects::NewRow {
        name: PROJECT,
        description: "A pipeline: prepare data, train, evaluate on two splits.",
        ..Default::default()
    };
    let project = db::projects::create_at(&mut tx, owner, &row, first - MINUTE).await?;
    let demo = Demo {
        request: &request,
        project,
        owner,
    };

    // Run 1: the data is prepared, training runs out of GPU memory, evaluation never runs.
    let failed = demo.run(&mut tx, None, first).await?;
    let prep = demo
        .job(
            &mut tx,
            failed,
            "prep",
            0,
            (first, 12),
            JobStatus::Succeeded,
            &[],
        )
        .await?;
    let inputs = vec![PlanInput {
        dir: input_dir("prep", None),
        job: prep.uid.clone(),
    }];
    let oom = demo
        .job(
            &mut tx,
            failed,
            "train",
            0,
            (first + 12 * MINUTE, 3),
            JobStatus::Failed,
            &inputs,
        )
        .await?;
    metrics::append_many(
        &mut tx,
        project,
        oom.id,
        &[("loss", &curve(first + 12 * MINUTE, 3, 2.3, 1.9))],
    )
    .await?;
    for instance in 0..2 {
        let skipped = Start {
            state: StepState::Skipped,
            cache_key: None,
            job: None,
            sweep: None,
            reason: Some("it needs `train`, which failed"),
        };
        pipelines::start(&mut tx, failed, "evaluate", instance, &skipped).await?;
    }
    pipelines::end(
        &mut tx,
        failed,
        RunState::Failed,
        Some("step `train` failed"),
    )
    .await?;

    // Run 2, rerun from `train` with a smaller batch: preparation is reused, the rest runs.
    let second = first + 30 * MINUTE;
    let rerun = demo.run(&mut tx, Some(failed), second).await?;
    let reused = Start {
        state: StepState::Cached,
        cache_key: None,
        job: Some(prep.id),
        sweep: None,
        reason: None,
    };
    pipelines::start(&mut tx, rerun, "prep", 0, &reused).await?;
    let train = demo
        .job(
            &mut tx,
            rerun,
            "train",
            0,
            (second, 95),
            JobStatus::Succeeded,
            &inputs,
        )
        .await?;
    metrics::append_many(
        &mut tx,
        project,
        train.id,
        &[("loss", &curve(second, 95, 2.3, 0.41))],
    )
    .await?;
    let model = vec![PlanInput {
        dir: input_dir("train", None),
        job: train.uid.clone(),
    }];
    for (instance, acc) in [(0, 0.871), (1, 0.862)] {
        let start = second + 95 * MINUTE;
        let eval = demo
            .job(
                &mut tx,
                rerun,
                "evaluate",
                instance,
                (start, 4),
                JobStatus::Succeeded,
                &model,
            )
            .await?;
        let point = Point {
            step: 0,
            wall_ms: start + 4 * MINUTE,
            value: acc,
        };
        metrics::append_many(&mut tx, project, eval.id, &[("acc", &[point])]).await?;
    }
    pipelines::end(&mut tx, rerun, RunState::Succeeded, None).await?;
    tx.commit().await?;
    Ok(5)
}

/// What every demo run and job is made with.
struct Demo<'a> {
    request: &'a PipelineRequest,
    project: i64,
    owner: i64,
}

impl Demo<'_> {
    /// A new running run of the pipeline, every step waiting; a rerun names the run it reuses.
    async fn run(&self, tx: &mut Tx, rerun_of: Option<i64>, at_ms: i64) -> anyhow::Result<i64> {
        let spec = &self.request.spec;
        let new = NewRun {
            project: self.project,
            name: spec.pipeline.clone(),
            spec: serde_json::to_string(spec)?,
            snapshots: "{}".into(),
            spec_hash: self.request.hash(),
            rerun_of,
            from_step: rerun_of.map(|_| "train".to_owned()),
            created_by: Some(self.owner),
        };
        let id = pipelines::create(tx, &new, &self.request.new_steps()).await?;
        sqlx::query("UPDATE pipeline_runs SET created_ms = $1 WHERE id = $2")
            .bind(at_ms)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(id)
    }

    /// The ended job of step `name`'s `instance` in `run`, started at `(start, minutes)` long,
    /// as the driver would have made it; the step ends as its job did.
    #[allow(clippy::too_many_arguments)]
    async fn job(
        &self,
        tx: &mut Tx,
        run: i64,
        name: &str,
        instance: i64,
        (start, minutes): (i64, i64),
        status: JobStatus,
        inputs: &[PlanInput],
    ) -> anyhow::Result<JobRef> {
        let spec = &self.request.spec;
        let index = instance as usize;
        let request = spec.job_request(name, index, &BestValues::new(), None, inputs.to_vec());
        let end = start + minutes * MINUTE;
        let job = NewJob {
            status: Some(status),
            created_ms: Some(start),
            started_ms: Some(start),
            finished_ms: Some(end),
            runner: Some("gpu-box-1".into()),
            cost_usd: Some(request.gpus as f64 * 3.6 * minutes as f64 / 60.0),
            tags: vec![
                ("pipeline".into(), spec.pipeline.clone()),
                ("pipeline.step".into(), name.to_owned()),
            ],
            ..request.new_job(self.owner)
        };
        let job = db::jobs::insert_many(tx, self.project, std::slice::from_ref(&job))
            .await?
            .remove(0);
        let state = match status {
            JobStatus::Succeeded => StepState::Succeeded,
            _ => StepState::Failed,
        };
        let reason = (state == StepState::Failed)
            .then_some("its job failed with exit code 1: CUDA out of memory");
        let started = Start {
            state,
            cache_key: None,
            job: Some(job.id),
            sweep: None,
            reason,
        };
        pipelines::start(tx, run, name, instance, &started).await?;
        Ok(job)
    }
}

/// A loss falling from `from` to `to` over `minutes`, a point a minute.
fn curve(start: i64, minutes: i64, from: f64, to: f64) -> Vec<Point> {
    (0..minutes)
        .map(|step| Point {
            step,
            wall_ms: start + step * MINUTE,
            value: to + (from - to) * (-4.0 * step as f64 / minutes as f64).exp(),
        })
        .collect()
}
