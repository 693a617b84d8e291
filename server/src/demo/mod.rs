//! `millrace demo`: fills a database with a realistic workspace, with progress bars.

mod artifacts;
pub mod generate;
mod names;
mod pipeline;
mod pool;
pub mod sweep;

use crate::cli::DemoArgs;
use anyhow::{bail, Context};
use app::auth::hash_password;
use app::db::{self, metrics, Db};
use app::file_store::FileStore;
use app::model::JobStatus;
use indicatif::{ProgressBar, ProgressStyle};
use std::fmt;
use std::time::{Duration, Instant};

/// The password every demo user signs in with.
pub const DEMO_PASSWORD: &str = "millrace-demo";

/// Points written per transaction: big enough to amortise the commit, small enough that the
/// WAL stays modest and progress shows.
const POINTS_PER_COMMIT: usize = 200_000;
/// GPUs of the long pre-training job, whose runner's samples fill its System group.
const LONG_SERIES_GPUS: u32 = 8;

/// What the demo created, printed when it is done.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Users created.
    pub users: usize,
    /// Projects created.
    pub projects: usize,
    /// Jobs created.
    pub jobs: u64,
    /// Metric points written.
    pub points: u64,
    /// Time spent writing metric points.
    pub points_time: Duration,
    /// A user to sign in as.
    pub login: String,
}

impl Summary {
    /// Metric points written per second.
    pub fn points_per_second(&self) -> f64 {
        self.points as f64 / self.points_time.as_secs_f64().max(1e-9)
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "demo workspace: {} users, {} projects, {} jobs, {} metric points ({:.0} points/s)",
            self.users,
            self.projects,
            self.jobs,
            self.points,
            self.points_per_second()
        )?;
        write!(
            f,
            "sign in as '{}' with password '{DEMO_PASSWORD}' (every demo user has it)",
            self.login
        )
    }
}

impl DemoArgs {
    /// The flags' defaults, as `millrace demo` with no flags would use them.
    pub fn defaults() -> Self {
        use clap::{Args, FromArgMatches};
        let command = Self::augment_args(clap::Command::new("demo"));
        Self::from_arg_matches(&command.get_matches_from(["demo"])).expect("the defaults parse")
    }
}

/// Creates the demo workspace in `db`, which must have no user of the demo's names, with its
/// jobs' files under `files`.
pub async fn run(db: &Db, args: &DemoArgs, files: &FileStore) -> anyhow::Result<Summary> {
    if args.users == 0 || args.projects == 0 {
        bail!("the demo needs at least one user and one project");
    }
    let anchor = args.anchor_ms.unwrap_or_else(db::now_ms);
    let users = create_users(db, args, anchor).await?;
    let counts = generate::jobs_per_project(args.projects as usize, args.jobs, args.seed);
    let mut writer = Writer::new(db, args, &counts)?;
    for (i, jobs) in counts.iter().enumerate() {
        let owner = users[i % users.len()];
        let name = generate::project(i);
        let created = anchor - 90 * 24 * 3600 * 1000 + i as i64 * 60_000;
        let plans = generate::jobs(args.seed, i, *jobs, owner, args.points, anchor);
        let row = db::projects::NewRow {
            name: &name,
            description: &description(&name),
            private: i % 9 == 8,
            ..Default::default()
        };
        let project = db::projects::create_at(writer.tx().await?, owner, &row, created)
            .await
            .with_context(|| format!("creating project {name}"))?;
        writer
            .project(project, plans, (i == 0).then_some(anchor))
            .await?;
    }
    writer.finish().await?;
    pool::create(db, anchor)
        .await
        .context("creating the demo pool")?;
    let first = (users[0], generate::user(0).0);
    writer.jobs += pipeline::create(db, (first.0, &first.1), anchor)
        .await
        .context("creating the demo pipeline")?;
    let mut projects = counts.len() + 1;
    if args.sweep_trials > 0 {
        let owner = (users[0], generate::user(0).0);
        writer.jobs += sweep::create(
            db,
            (owner.0, &owner.1),
            args.sweep_trials,
            args.seed,
            anchor,
            files,
        )
        .await
        .context("creating the demo sweep")?;
        projects += 1;
    }
    db.analyze()
        .await
        .context("refreshing the planner's statistics")?;
    Ok(Summary {
        users: users.len(),
        projects,
        jobs: writer.jobs,
        points: writer.points,
        points_time: writer.points_time,
        login: generate::user(0).0,
    })
}

fn description(project: &str) -> String {
    format!("Experiments for {}.", project.replace('-', " "))
}

async fn create_users(db: &Db, args: &DemoArgs, anchor: i64) -> anyhow::Result<Vec<i64>> {
    // One hash for all: argon2 is slow on purpose, and demo users share the password anyway.
    let hash = hash_password(DEMO_PASSWORD);
    let mut ids = Vec::new();
    for i in 0..args.users as usize {
        let (name, display) = generate::user(i);
        let joined = anchor - 120 * 24 * 3600 * 1000 + i as i64 * 3_600_000;
        let user = db::users::create_at(db, &name, &display, joined)
            .await
            .with_context(|| {
                format!("creating demo user {name} (is this database already filled?)")
            })?;
        db::users::set_password_hash(db, user.id, &hash).await?;
        ids.push(user.id);
    }
    // The first user (alice, whom the demo signs in as) administers the instance, as the first
    // user of any instance does.
    if let Some(first) = ids.first() {
        db::users::set_admin(db, *first, true).await?;
    }
    Ok(ids)
}

/// Writes jobs and their curves in large transactions, counting what it wrote.
struct Writer<'a> {
    db: &'a Db,
    args: &'a DemoArgs,
    tx: Option<db::Tx>,
    pending: usize,
    jobs: u64,
    points: u64,
    points_time: Duration,
    bar: ProgressBar,
}

impl<'a> Writer<'a> {
    fn new(db: &'a Db, args: &'a DemoArgs, counts: &[u32]) -> anyhow::Result<Self> {
        let expected: u64 = counts
            .iter()
            .map(|c| u64::from(*c) * generate::point_count(args.points))
            .sum::<u64>()
            + u64::from(args.long_series)
            + generate::system_point_count(LONG_SERIES_GPUS, args.long_series);
        let bar = ProgressBar::new(expected);
        bar.set_style(
            ProgressStyle::with_template(
                "{msg:>12} [{bar:40}] {human_pos}/{human_len} points {per_sec}",
            )?
            .progress_chars("=> "),
        );
        bar.set_message("demo");
        Ok(Self {
            db,
            args,
            tx: None,
            pending: 0,
            jobs: 0,
            points: 0,
            points_time: Duration::ZERO,
            bar,
        })
    }

    async fn tx(&mut self) -> anyhow::Result<&mut db::Tx> {
        if self.tx.is_none() {
            self.tx = Some(self.db.begin().await?);
        }
        Ok(self.tx.as_mut().expect("just opened"))
    }

    async fn project(
        &mut self,
        project: i64,
        plans: Vec<generate::JobPlan>,
        long_series_ending: Option<i64>,
    ) -> anyhow::Result<()> {
        let specs: Vec<_> = plans.iter().map(|p| p.job.clone()).collect();
        let refs = db::jobs::insert_many(self.tx().await?, project, &specs).await?;
        self.jobs += refs.len() as u64;
        for (plan, job) in plans.iter().zip(&refs) {
            let start = plan.job.started_ms.unwrap_or_default();
            let curves = generate::curves(plan.curve_seed, plan.steps, plan.diverged, start);
            let batches: Vec<(&str, &[metrics::Point])> =
                curves.iter().map(|(k, p)| (*k, p.as_slice())).collect();
            self.append(project, job.id, &batches).await?;
        }
        if let Some(anchor_ms) = long_series_ending.filter(|_| self.args.long_series > 0) {
            self.long_series(project, anchor_ms).await?;
        }
        Ok(())
    }

    /// One job that logged every step of a long pre-training run, a step a second, ending at
    /// `anchor_ms`.
    async fn long_series(&mut self, project: i64, anchor_ms: i64) -> anyhow::Result<()> {
        let steps = self.args.long_series;
        let started = anchor_ms - i64::from(steps) * 1000;
        let spec = db::jobs::NewJob {
            name: "long-pretrain-1m-steps".into(),
            status: Some(JobStatus::Succeeded),
            command: "python pretrain.py --log-every-step".into(),
            gpus: i64::from(LONG_SERIES_GPUS),
            created_ms: Some(started - 60_000),
            started_ms: Some(started),
            finished_ms: Some(anchor_ms),
            runner: Some("gpu-h100-01".into()),
            cost_usd: Some((f64::from(steps) / 3600.0 * 8.0 * 2.10).round()),
            ..db::jobs::NewJob::default()
        };
        let job = db::jobs::insert_many(self.tx().await?, project, &[spec])
            .await?
            .remove(0);
        self.jobs += 1;
        let loss = generate::loss_curve(self.args.seed, steps, started);
        for chunk in loss.chunks(POINTS_PER_COMMIT) {
            self.append(project, job.id, &[("train/loss", chunk)])
                .await?;
        }
        // What its runner sampled of its eight GPUs and its processes: the System group.
        let system = generate::system_series(self.args.seed, LONG_SERIES_GPUS, steps, started);
        for (key, points) in &system {
            self.append(project, job.id, &[(key.as_str(), points)])
                .await?;
        }
        Ok(())
    }

    /// Appends a job's batches of points, committing when enough are pending.
    async fn append(
        &mut self,
        project: i64,
        job: i64,
        batches: &[(&str, &[metrics::Point])],
    ) -> anyhow::Result<()> {
        let started = Instant::now();
        let count: usize = batches.iter().map(|(_, p)| p.len()).sum();
        metrics::append_many(self.tx().await?, project, job, batches).await?;
        self.pending += count;
        if self.pending >= POINTS_PER_COMMIT {
            self.commit().await?;
        }
        self.points_time += started.elapsed();
        self.points += count as u64;
        self.bar.inc(count as u64);
        Ok(())
    }

    async fn commit(&mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.tx.take() {
            tx.commit().await?;
        }
        self.pending = 0;
        Ok(())
    }

    async fn finish(&mut self) -> anyhow::Result<()> {
        self.commit().await?;
        self.bar.finish_and_clear();
        Ok(())
    }
}
