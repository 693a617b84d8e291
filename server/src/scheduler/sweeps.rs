//! The sweep driver: for each running sweep, record the trials whose jobs ended, stop the
//! hopeless ones, and queue new ones up to the sweep's parallelism and budget. It reads
//! everything from the store on each pass, so a restarted server carries on where it was.

use crate::spec::sweep::{ObjectiveValue, SweepSpec};
use crate::sweep::{self, Algorithm, Assignment, Observation, Outcome, Space};
use app::db::sweeps::{self, Sweep, SweepState, Trial, TrialEnd, TrialState};
use app::db::{metrics, queue, Db};
use app::model::JobStatus;
use app::state::AppState;
use std::collections::BTreeMap;
use std::time::Duration;

/// Drives every running sweep every `every`, and at once when a job changes status, until
/// `stop` resolves; failures are logged and retried on the next pass.
pub async fn run(state: AppState, every: Duration, stop: impl std::future::Future<Output = ()>) {
    let kinds = &["job.status"];
    super::drive_on(
        state,
        every,
        kinds,
        "driving sweeps",
        stop,
        |state| async move { tick(&state).await },
    )
    .await;
}

/// One pass over every running sweep; a sweep that fails is logged and the others go on.
pub async fn tick(state: &AppState) -> sqlx::Result<()> {
    for id in sweeps::running(&state.db).await? {
        if let Err(error) = drive(state, id).await {
            tracing::warn!(sweep = id, %error, "driving a sweep failed; trying again");
        }
    }
    Ok(())
}

/// One pass over sweep `id`: results, early stopping, failures, new trials, the end.
pub async fn drive(state: &AppState, id: i64) -> sqlx::Result<()> {
    let db = &state.db;
    let Some(sweep) = sweeps::find(db, id).await?.filter(|s| s.state == "running") else {
        return Ok(());
    };
    let spec: SweepSpec = match serde_json::from_str(&sweep.spec) {
        Ok(spec) => spec,
        Err(error) => {
            let reason = format!("its stored spec cannot be read: {error}");
            return end(db, id, SweepState::Failed, &reason).await;
        }
    };
    for trial in sweeps::trials(db, id).await? {
        record(db, id, &spec, &trial).await?;
    }
    if let Some(rule) = &spec.early_stopping {
        stop_hopeless(db, id, &spec, rule).await?;
    }
    let trials = sweeps::trials(db, id).await?;
    if let Some(reason) = too_many_failures(&trials, spec.max_failures) {
        return end(db, id, SweepState::Failed, &reason).await;
    }
    let queued = queue_trials(state, &sweep, &spec, &trials).await?;
    if queued > 0 {
        state.runs.queued.notify_waiters();
    }
    let active = trials.iter().filter(|t| t.state().is_active()).count() + queued;
    if active == 0 && trials.len() + queued >= budget(&spec) {
        let mut tx = db.begin().await?;
        sweeps::end(&mut tx, id, SweepState::Finished, None).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// Ends the sweep before its budget, and its active trials with it.
async fn end(db: &Db, id: i64, state: SweepState, reason: &str) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    sweeps::end_with_trials(&mut tx, id, state, reason).await?;
    tx.commit().await
}

/// Follows an active trial's job: running, or ended with a result or a failure.
async fn record(db: &Db, sweep: i64, spec: &SweepSpec, trial: &Trial) -> sqlx::Result<()> {
    if !trial.state().is_active() {
        return Ok(());
    }
    let job = format!("job #{}", trial.job_number);
    let failed = |reason: String| TrialEnd {
        state: TrialState::Failed,
        value: None,
        step: None,
        reason: Some(reason),
    };
    let end = match JobStatus::from_code(trial.job_status).unwrap_or(JobStatus::Lost) {
        JobStatus::Queued | JobStatus::Starting => return Ok(()),
        JobStatus::Running => {
            sweeps::mark_running(db, sweep, trial.trial_index).await?;
            return Ok(());
        }
        JobStatus::Succeeded => objective(db, spec, trial).await?,
        JobStatus::Failed => {
            let code = trial.exit_code.map(|c| format!(" with exit code {c}"));
            let error = trial.job_error.as_deref().map(|e| format!(": {e}"));
            failed(format!(
                "{job} failed{}{}",
                code.unwrap_or_default(),
                error.unwrap_or_default()
            ))
        }
        JobStatus::Cancelled => failed(format!("{job} was cancelled")),
        JobStatus::Lost => failed(format!("{job} was lost with its runner")),
    };
    let mut tx = db.begin().await?;
    sweeps::end_trial(&mut tx, sweep, trial.trial_index, &end).await?;
    tx.commit().await
}

/// A succeeded trial's result: its objective value, or a failure if it never reported one.
async fn objective(db: &Db, spec: &SweepSpec, trial: &Trial) -> sqlx::Result<TrialEnd> {
    let metric = &spec.objective.metric;
    let mut conn = db.pool().acquire().await?;
    let summary = metrics::summaries(&mut conn, trial.job_id)
        .await?
        .into_iter()
        .find(|s| &s.key == metric);
    let value = summary.as_ref().and_then(|s| match spec.objective.value {
        ObjectiveValue::Last => s.last,
        ObjectiveValue::Min => s.min,
        ObjectiveValue::Max => s.max,
    });
    Ok(match value.filter(|v| v.is_finite()) {
        Some(value) => TrialEnd {
            state: TrialState::Completed,
            value: Some(value),
            step: summary.and_then(|s| s.last_step),
            reason: None,
        },
        None => TrialEnd {
            state: TrialState::Failed,
            value: None,
            step: None,
            reason: Some(format!(
                "job #{} succeeded but never reported a finite `{metric}`",
                trial.job_number
            )),
        },
    })
}

/// Applies the early-stopping rule to each running trial with new points, cancelling the
/// trials it condemns (as the API cancels a job) and recording why.
async fn stop_hopeless(
    db: &Db,
    sweep: i64,
    spec: &SweepSpec,
    rule: &sweep::EarlyStopping,
) -> sqlx::Result<()> {
    // Most passes find nothing new to judge: then no curve is read.
    let due = sweeps::unjudged(db, sweep, &spec.objective.metric).await?;
    if due.is_empty() {
        return Ok(());
    }
    let trials = sweeps::trials(db, sweep).await?;
    let mut curves: BTreeMap<i64, Vec<(i64, f64)>> = BTreeMap::new();
    for (index, step, value) in sweeps::curves(db, sweep, &spec.objective.metric).await? {
        curves.entry(index).or_default().push((step, value));
    }
    for trial in trials.iter().filter(|t| due.contains(&t.trial_index)) {
        let Some(curve) = curves.get(&trial.trial_index) else {
            continue;
        };
        let Some(&(last_step, last_value)) = curve.iter().rev().find(|(_, v)| v.is_finite()) else {
            continue;
        };
        if trial.judged_to == Some(last_step) {
            continue;
        }
        // Failed trials may have crashed anywhere: only healthy curves set the bar.
        let others: Vec<&[(i64, f64)]> = trials
            .iter()
            .filter(|t| t.trial_index != trial.trial_index && t.state() != TrialState::Failed)
            .filter_map(|t| curves.get(&t.trial_index).map(Vec::as_slice))
            .collect();
        let direction = spec.objective.goal;
        match rule.decide(direction, curve, &others, trial.judged_to) {
            Some(reason) => {
                let end = TrialEnd {
                    state: TrialState::Stopped,
                    value: Some(last_value),
                    step: Some(last_step),
                    reason: Some(reason.to_string()),
                };
                let mut tx = db.begin().await?;
                if sweeps::end_trial(&mut tx, sweep, trial.trial_index, &end).await? {
                    queue::cancel(&mut tx, trial.job_id).await?;
                }
                tx.commit().await?;
            }
            None => sweeps::set_judged_to(db, sweep, trial.trial_index, last_step).await?,
        }
    }
    Ok(())
}

/// Why the sweep must stop: its last `max` trials to end (in the order they ended) failed.
pub fn too_many_failures(trials: &[Trial], max: u32) -> Option<String> {
    let mut ended: Vec<&Trial> = trials.iter().filter(|t| !t.state().is_active()).collect();
    ended.sort_by_key(|t| (t.finished_ms, t.trial_index));
    let failed = ended
        .iter()
        .rev()
        .take_while(|t| t.state() == TrialState::Failed)
        .count();
    (failed >= max as usize).then(|| {
        let last = ended.last().and_then(|t| t.reason.as_deref()).unwrap_or("");
        format!("{failed} trials in a row failed (max_failures is {max}); the last: {last}")
    })
}

/// The most trials the sweep runs: its budget, or its whole grid if that is smaller.
fn budget(spec: &SweepSpec) -> usize {
    let trials = spec.trials as usize;
    match spec.algorithm {
        Algorithm::Grid => sweep::grid_size(&spec.space).map_or(trials, |size| {
            trials.min(usize::try_from(size).unwrap_or(usize::MAX))
        }),
        _ => trials,
    }
}

/// Queues trials while fewer than `parallel` are active and the budget allows; each trial
/// row goes in with its job in one transaction. Returns how many were queued.
async fn queue_trials(
    state: &AppState,
    sweep: &Sweep,
    spec: &SweepSpec,
    trials: &[Trial],
) -> sqlx::Result<usize> {
    let active = trials.iter().filter(|t| t.state().is_active()).count();
    let room = (spec.parallel as usize)
        .saturating_sub(active)
        .min(budget(spec).saturating_sub(trials.len()));
    if room == 0 {
        return Ok(0);
    }
    let mut history = match sweep.cloned_from {
        Some(old) => priors(&spec.space, &sweeps::trials(&state.db, old).await?),
        None => Vec::new(),
    };
    history.extend(trials.iter().map(observation));
    let user = sweep.created_by.unwrap_or_default();
    for offset in 0..room {
        let index = (trials.len() + offset) as u64;
        let params = match sweep::suggest(
            &spec.space,
            &spec.algorithm,
            spec.objective.goal,
            &history,
            sweep.seed as u64,
            index,
        ) {
            Ok(Some(params)) => params,
            Ok(None) => return Ok(offset),
            Err(error) => {
                end(&state.db, sweep.id, SweepState::Failed, &error.to_string()).await?;
                return Ok(offset);
            }
        };
        let mut request = spec.trial_request(index, &params, sweep.snapshot.clone());
        request.plan.inputs = serde_json::from_str(&sweep.inputs).unwrap_or_default();
        let mut job = request.new_job(user);
        job.tags = serde_json::from_str(&sweep.tags).unwrap_or_default();
        let mut tx = state.db.begin().await?;
        let job = app::db::jobs::create(&mut tx, sweep.project_id, &job).await?;
        let recorded = params.clone().into_iter().collect();
        if !sweeps::add_trial(&mut tx, sweep.id, index as i64, job.id, &recorded).await? {
            // The sweep ended meanwhile: its job goes with the transaction.
            tx.rollback().await?;
            return Ok(offset);
        }
        tx.commit().await?;
        history.push(Observation {
            params,
            outcome: Outcome::Pending,
        });
    }
    Ok(room)
}

/// The best completed trial among `trials` by `goal`: the first of equals.
pub fn best(trials: &[Trial], goal: sweep::Direction) -> Option<&Trial> {
    trials
        .iter()
        .filter(|t| t.state() == TrialState::Completed)
        .filter_map(|t| t.value.map(|v| (t, v)))
        .reduce(|a, b| if goal.better(b.1, a.1) { b } else { a })
        .map(|(t, _)| t)
}

/// What the algorithm learns from a trial of this sweep.
fn observation(trial: &Trial) -> Observation {
    let outcome = match (trial.state(), trial.value) {
        (TrialState::Queued | TrialState::Running, _) => Outcome::Pending,
        (TrialState::Completed, Some(value)) => Outcome::Completed(value),
        (TrialState::Stopped, Some(value)) => Outcome::Stopped {
            value,
            step: trial.step.unwrap_or_default(),
        },
        _ => Outcome::Failed,
    };
    Observation {
        params: params(trial),
        outcome,
    }
}

fn params(trial: &Trial) -> Assignment {
    serde_json::from_str(&trial.params).unwrap_or_default()
}

/// The trials of an earlier sweep that a clone learns from: those that ended with a value and
/// whose parameters the new space could have suggested.
pub fn priors(space: &Space, old: &[Trial]) -> Vec<Observation> {
    old.iter()
        .filter(|t| matches!(t.state(), TrialState::Completed | TrialState::Stopped))
        .map(observation)
        .filter(|o| !matches!(o.outcome, Outcome::Failed) && space.contains(&o.params))
        .collect()
}
