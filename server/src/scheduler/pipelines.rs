//! The pipeline driver: for each running pipeline run, follow the steps that run, start those
//! whose needs are done (or reuse an earlier run's job for them), skip those whose needs
//! failed, and end the run once every step has. Like the sweep driver it reads everything from
//! the store on each pass, so a restarted server carries on; a step's job is made in the
//! transaction that moves the step out of `waiting`, so no step runs twice.

use crate::spec::pipeline::{input_dir, BestValues, PipelineRequest, PipelineSpec};
use crate::spec::sweep::SweepRequest;
use crate::spec::PlanInput;
use app::db::pipelines::{self, Reused, Run, RunState, Start, StepRow, StepState};
use app::db::sweeps::{self, NewSweep, SweepState};
use app::db::{jobs, Db};
use app::model::JobStatus;
use app::state::AppState;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Drives every running pipeline every `every`, and at once when a job or sweep changes or a
/// run is applied, until `stop` resolves; failures are logged and retried on the next pass.
pub async fn run(state: AppState, every: Duration, stop: impl std::future::Future<Output = ()>) {
    let kinds = &["job.status", "sweep", "pipeline"];
    super::drive_on(
        state,
        every,
        kinds,
        "driving pipelines",
        stop,
        |state| async move { tick(&state).await },
    )
    .await;
}

/// One pass over every running run; a run that fails is logged and the others go on.
pub async fn tick(state: &AppState) -> sqlx::Result<()> {
    for id in pipelines::running(&state.db).await? {
        if let Err(error) = drive(state, id).await {
            tracing::warn!(run = id, %error, "driving a pipeline failed; trying again");
        }
    }
    Ok(())
}

/// One pass over run `id`.
pub async fn drive(state: &AppState, id: i64) -> sqlx::Result<()> {
    let db = &state.db;
    let Some(run) = pipelines::find(db, id).await? else {
        return Ok(());
    };
    if run.state() != RunState::Running {
        return Ok(());
    }
    let request = match stored_request(&run) {
        Ok(request) => request,
        Err(error) => {
            let reason = format!("its stored spec cannot be read: {error}");
            return end(db, id, RunState::Failed, &reason).await;
        }
    };
    let mut rows: BTreeMap<(String, i64), StepRow> = pipelines::steps(db, id)
        .await?
        .into_iter()
        .map(|row| ((row.step.clone(), row.instance), row))
        .collect();
    for row in rows.values_mut() {
        follow(db, id, row).await?;
    }
    let mut queued = false;
    let reused = reused_steps(db, &run, &request.spec).await?;
    for name in request.spec.order() {
        queued |= advance(state, &run, &request, name, &mut rows, &reused).await?;
    }
    if queued {
        state.runs.queued.notify_waiters();
    }
    if rows.values().all(|r| r.state().is_final()) {
        let failed = rows.values().find(|r| r.state() == StepState::Failed);
        let (state, reason) = match failed {
            None => (RunState::Succeeded, None),
            Some(row) => (
                RunState::Failed,
                Some(format!("step `{}` failed", row.step)),
            ),
        };
        let mut tx = db.begin().await?;
        pipelines::end(&mut tx, id, state, reason.as_deref()).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// The request a run was applied with.
fn stored_request(run: &Run) -> serde_json::Result<PipelineRequest> {
    Ok(PipelineRequest {
        spec: serde_json::from_str(&run.spec)?,
        snapshots: serde_json::from_str(&run.snapshots)?,
    })
}

/// Ends the run before its steps did, cancelling the jobs and sweeps still running.
pub async fn end(db: &Db, id: i64, state: RunState, reason: &str) -> sqlx::Result<()> {
    let active: Vec<StepRow> = pipelines::steps(db, id)
        .await?
        .into_iter()
        .filter(|row| row.state() == StepState::Running)
        .collect();
    let mut tx = db.begin().await?;
    if !pipelines::end(&mut tx, id, state, Some(reason)).await? {
        return Ok(());
    }
    for row in active {
        if let Some(sweep) = row.sweep_id {
            sweeps::end_with_trials(&mut tx, sweep, SweepState::Stopped, reason).await?;
        } else if let Some(job) = row.job_id {
            app::db::queue::cancel(&mut tx, job).await?;
        }
    }
    tx.commit().await
}

/// Ends a running step instance whose job or sweep ended.
async fn follow(db: &Db, run: i64, row: &mut StepRow) -> sqlx::Result<()> {
    if row.state() != StepState::Running {
        return Ok(());
    }
    let ended = match (&row.sweep_state, row.job_status) {
        (Some(sweep), _) => match SweepState::parse(sweep) {
            Some(SweepState::Running) => None,
            Some(SweepState::Finished) => match best_trial(db, row.sweep_id).await? {
                Some(_) => Some((StepState::Succeeded, None)),
                None => Some((
                    StepState::Failed,
                    Some("its sweep ended without a completed trial".to_owned()),
                )),
            },
            _ => Some((StepState::Failed, Some(format!("its sweep {sweep}")))),
        },
        (None, Some(status)) => match JobStatus::from_code(status).unwrap_or(JobStatus::Lost) {
            JobStatus::Succeeded => Some((StepState::Succeeded, None)),
            JobStatus::Failed => Some((StepState::Failed, Some(job_failure(row)))),
            JobStatus::Cancelled => Some((StepState::Failed, Some("its job was cancelled".into()))),
            JobStatus::Lost => Some((
                StepState::Failed,
                Some("its job was lost with its runner".into()),
            )),
            JobStatus::Queued | JobStatus::Starting | JobStatus::Running => None,
        },
        // Its job was deleted.
        (None, None) => Some((StepState::Failed, Some("its job is gone".to_owned()))),
    };
    let Some((state, reason)) = ended else {
        return Ok(());
    };
    let mut tx = db.begin().await?;
    if pipelines::end_step(
        &mut tx,
        run,
        &row.step,
        row.instance,
        state,
        reason.as_deref(),
    )
    .await?
    {
        row.state = state.as_str().to_owned();
        row.reason = reason;
    }
    tx.commit().await
}

fn job_failure(row: &StepRow) -> String {
    let code = row.exit_code.map(|c| format!(" with exit code {c}"));
    let error = row.job_error.as_deref().map(|e| format!(": {e}"));
    format!(
        "its job failed{}{}",
        code.unwrap_or_default(),
        error.unwrap_or_default()
    )
}

/// Starts, caches or skips the waiting instances of step `name` whose needs have all ended;
/// whether a job was queued.
async fn advance(
    state: &AppState,
    run: &Run,
    request: &PipelineRequest,
    name: &str,
    rows: &mut BTreeMap<(String, i64), StepRow>,
    reused: &BTreeMap<(String, i64), StepRow>,
) -> sqlx::Result<bool> {
    let spec = &request.spec;
    let step = &spec.steps[name];
    let waiting: Vec<i64> = rows
        .values()
        .filter(|r| r.step == name && r.state() == StepState::Waiting)
        .map(|r| r.instance)
        .collect();
    if waiting.is_empty() {
        return Ok(false);
    }
    let needed: Vec<&StepRow> = rows
        .values()
        .filter(|r| step.needs.contains(&r.step))
        .collect();
    let failed = needed.iter().find_map(|r| match r.state() {
        StepState::Failed => Some((r.step.clone(), "failed")),
        StepState::Skipped => Some((r.step.clone(), "was skipped")),
        StepState::Cancelled => Some((r.step.clone(), "was cancelled")),
        _ => None,
    });
    if let Some((need, what)) = failed {
        let reason = format!("it needs `{need}`, which {what}");
        return skip(&state.db, run.id, name, rows, &reason)
            .await
            .map(|()| false);
    }
    if !needed.iter().all(|r| r.state().is_done()) {
        return Ok(false);
    }
    let inputs = inputs(&state.db, spec, step.needs.as_slice(), &needed).await?;
    let best = best_values(&state.db, spec, &needed).await?;
    let mut queued = false;
    for instance in waiting {
        let key = cache_key(request, name, instance, &inputs, &best);
        let start = match reused.get(&(name.to_owned(), instance)) {
            Some(old) => Begun::Cached(Reused {
                job_id: old.job_id,
                job_uid: old.job_uid.clone(),
                sweep_id: old.sweep_id,
            }),
            None if step.cache => {
                match pipelines::cached(&state.db, run.project_id, &run.name, &key).await? {
                    Some(reused) => Begun::Cached(reused),
                    None => Begun::Fresh,
                }
            }
            None => Begun::Fresh,
        };
        let begun = begin(
            state, run, request, name, instance, &key, &inputs, &best, start,
        )
        .await?;
        if let Some((state, now)) = begun {
            queued |= state == StepState::Running;
            // The steps after it in this pass read its job (their inputs) and sweep from here.
            let row = rows
                .get_mut(&(name.to_owned(), instance))
                .expect("a waiting row");
            row.state = state.as_str().to_owned();
            (row.job_id, row.job_uid, row.sweep_id) = (now.job_id, now.job_uid, now.sweep_id);
        }
    }
    Ok(queued)
}

/// How a step instance begins: as an earlier job (or sweep) again, or afresh.
enum Begun {
    Cached(Reused),
    Fresh,
}

/// Moves one waiting instance on, making its job or sweep in the same transaction; its new
/// state and its job or sweep, or `None` if another pass moved it first.
#[allow(clippy::too_many_arguments)]
async fn begin(
    state: &AppState,
    run: &Run,
    request: &PipelineRequest,
    name: &str,
    instance: i64,
    key: &str,
    inputs: &[PlanInput],
    best: &BestValues,
    begun: Begun,
) -> sqlx::Result<Option<(StepState, Reused)>> {
    let spec = &request.spec;
    let user = run.created_by.unwrap_or_default();
    let mut tx = state.db.begin().await?;
    let mut start = Start {
        state: StepState::Running,
        cache_key: Some(key),
        job: None,
        sweep: None,
        reason: None,
    };
    let mut now = Reused {
        job_id: None,
        job_uid: None,
        sweep_id: None,
    };
    match begun {
        Begun::Cached(reused) => {
            start.state = StepState::Cached;
            (start.job, start.sweep) = (reused.job_id, reused.sweep_id);
            now = reused;
        }
        Begun::Fresh => match spec.sweep_spec(name, best) {
            Some(sweep) => {
                let snapshot = request.snapshot(name);
                let hash = SweepRequest {
                    spec: sweep.clone(),
                    snapshot: snapshot.clone(),
                    cloned_from: None,
                }
                .hash();
                let new = NewSweep {
                    project: run.project_id,
                    name: sweep.sweep.clone(),
                    spec: serde_json::to_string(&sweep).expect("a spec serialises"),
                    spec_hash: hash,
                    snapshot,
                    seed: sweep.seed as i64,
                    cloned_from: None,
                    created_by: run.created_by,
                    inputs: serde_json::to_string(inputs).expect("inputs serialise"),
                    tags: tags(spec, name),
                };
                start.sweep = Some(sweeps::create(&mut tx, &new).await?);
                now.sweep_id = start.sweep;
            }
            None => {
                let index = usize::try_from(instance).unwrap_or_default();
                let job =
                    spec.job_request(name, index, best, request.snapshot(name), inputs.to_vec());
                let mut new = job.new_job(user);
                new.tags = tags(spec, name);
                let made = jobs::create(&mut tx, run.project_id, &new).await?;
                start.job = Some(made.id);
                (now.job_id, now.job_uid) = (Some(made.id), Some(made.uid));
            }
        },
    }
    if !pipelines::start(&mut tx, run.id, name, instance, &start).await? {
        tx.rollback().await?;
        return Ok(None);
    }
    tx.commit().await?;
    Ok(Some((start.state, now)))
}

/// The tags a step's jobs carry, so filters and comparisons find a pipeline's jobs.
fn tags(spec: &PipelineSpec, step: &str) -> Vec<(String, String)> {
    vec![
        ("pipeline".to_owned(), spec.pipeline.clone()),
        ("pipeline.step".to_owned(), step.to_owned()),
    ]
}

/// Marks every waiting instance of step `name` skipped for `reason`.
async fn skip(
    db: &Db,
    run: i64,
    name: &str,
    rows: &mut BTreeMap<(String, i64), StepRow>,
    reason: &str,
) -> sqlx::Result<()> {
    let skipped = Start {
        state: StepState::Skipped,
        cache_key: None,
        job: None,
        sweep: None,
        reason: Some(reason),
    };
    for row in rows
        .values_mut()
        .filter(|r| r.step == name && r.state() == StepState::Waiting)
    {
        let mut tx = db.begin().await?;
        if pipelines::start(&mut tx, run, name, row.instance, &skipped).await? {
            row.state = StepState::Skipped.as_str().to_owned();
        }
        tx.commit().await?;
    }
    Ok(())
}

/// The folders a step's instances get from the steps it needs: each needed job's outputs, a
/// sweep step's best trial's.
async fn inputs(
    db: &Db,
    spec: &PipelineSpec,
    needs: &[String],
    needed: &[&StepRow],
) -> sqlx::Result<Vec<PlanInput>> {
    let mut inputs = Vec::new();
    for need in needs {
        let fans_out = !spec.steps[need].for_each.is_empty();
        for row in needed.iter().filter(|r| &r.step == need) {
            let job = match row.sweep_id {
                Some(_) => best_trial(db, row.sweep_id).await?.map(|t| t.job_uid),
                None => row.job_uid.clone(),
            };
            if let Some(job) = job {
                let index = fans_out.then_some(usize::try_from(row.instance).unwrap_or_default());
                inputs.push(PlanInput {
                    dir: input_dir(need, index),
                    job,
                });
            }
        }
    }
    Ok(inputs)
}

/// `steps.NAME.best.PARAM` and `steps.NAME.best.value` of each sweep step among `needed`.
async fn best_values(
    db: &Db,
    spec: &PipelineSpec,
    needed: &[&StepRow],
) -> sqlx::Result<BestValues> {
    let mut best = BestValues::new();
    for row in needed.iter().filter(|r| r.sweep_id.is_some()) {
        if spec.steps[&row.step].sweep.is_none() {
            continue;
        }
        if let Some(trial) = best_trial(db, row.sweep_id).await? {
            let params: BTreeMap<String, Value> =
                serde_json::from_str(&trial.params).unwrap_or_default();
            for (param, value) in params {
                best.insert(format!("steps.{}.best.{param}", row.step), value);
            }
            best.insert(
                format!("steps.{}.best.value", row.step),
                trial.value.map_or(Value::Null, Value::from),
            );
        }
    }
    Ok(best)
}

/// The best completed trial of `sweep`, by its objective's goal.
async fn best_trial(db: &Db, sweep: Option<i64>) -> sqlx::Result<Option<sweeps::Trial>> {
    let Some(sweep) = sweep else {
        return Ok(None);
    };
    let Some(found) = sweeps::find(db, sweep).await? else {
        return Ok(None);
    };
    let goal = serde_json::from_str::<crate::spec::SweepSpec>(&found.spec)
        .map(|s| s.objective.goal)
        .unwrap_or(crate::sweep::Direction::Minimize);
    let trials = sweeps::trials(db, sweep).await?;
    Ok(super::sweeps::best(&trials, goal).cloned())
}

/// What a step instance starts with, hashed: its definition, its place in a fan-out, the jobs
/// its inputs come from and the sweep values it is given. Equal keys mean the same work.
fn cache_key(
    request: &PipelineRequest,
    name: &str,
    instance: i64,
    inputs: &[PlanInput],
    best: &BestValues,
) -> String {
    let text = serde_json::to_string(&(request.definition_hash(name), instance, inputs, best))
        .expect("a key serialises");
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// For a rerun, the old run's done step instances it reuses: every step but the one it runs
/// again from and those downstream of it.
async fn reused_steps(
    db: &Db,
    run: &Run,
    spec: &PipelineSpec,
) -> sqlx::Result<BTreeMap<(String, i64), StepRow>> {
    let (Some(old), Some(from)) = (run.rerun_of, run.from_step.as_deref()) else {
        return Ok(BTreeMap::new());
    };
    let again = downstream(spec, from);
    Ok(pipelines::steps(db, old)
        .await?
        .into_iter()
        .filter(|row| row.state().is_done() && !again.contains(row.step.as_str()))
        .map(|row| ((row.step.clone(), row.instance), row))
        .collect())
}

/// Step `from` and every step that needs it, directly or not.
pub fn downstream<'a>(spec: &'a PipelineSpec, from: &'a str) -> BTreeSet<&'a str> {
    let mut found = BTreeSet::from([from]);
    for name in spec.order() {
        if spec.steps[name]
            .needs
            .iter()
            .any(|n| found.contains(n.as_str()))
        {
            found.insert(name);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downstream_follows_needs_through_the_graph() {
        let spec: PipelineSpec = serde_yaml_ng::from_str(
            "pipeline: d\nproject: a/b\nsteps:\n  a: {command: x}\n  b: {command: x, needs: [a]}\n  \
             c: {command: x, needs: [a]}\n  d: {command: x, needs: [b, c]}\n",
        )
        .unwrap();
        assert_eq!(downstream(&spec, "b"), BTreeSet::from(["b", "d"]));
        assert_eq!(downstream(&spec, "a").len(), 4);
        assert_eq!(downstream(&spec, "d"), BTreeSet::from(["d"]));
    }
}
