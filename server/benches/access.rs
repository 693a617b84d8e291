//! What the permission check costs a request (run by bench/access.sh): finding the caller of a
//! bearer token and the job a write names with its role check (`access::job` for a write, what
//! `POST /jobs/{uid}/metrics` does), against the lookups the same route made before roles
//! existed (the token's user, then the job if visible). Both on one SQLite store of 100,000 jobs
//! in 1,000 projects with members; the added median is the figure (target: under 0.1 ms).

use app::auth::access::{self, Act};
use app::auth::{caller_from_headers, create_token, hash_secret};
use app::db::jobs::{self, NewJob};
use app::db::{projects, users, Db};
use app::model::{JobStatus, TokenScope};
use axum::http::{header, HeaderMap, HeaderValue};
use std::time::{Duration, Instant};

const PROJECTS: i64 = 1_000;
const JOBS_PER_PROJECT: i64 = 100;
const SAMPLES: usize = 20_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = Db::open(&format!(
        "sqlite://{}",
        dir.path().join("access.db").display()
    ))
    .await?;
    db.migrate().await?;
    let (secret, uids) = fill(&db).await?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {secret}"))?,
    );
    let hash = hash_secret(&secret);

    // Alternate the two paths, sample by sample, so the machine's noise hits both alike.
    let (mut before, mut after) = (Vec::new(), Vec::new());
    for i in 0..SAMPLES {
        let uid = &uids[i * 7919 % uids.len()];
        let started = Instant::now();
        let token = app::db::tokens::live(&db, &hash)
            .await?
            .expect("a live token");
        let job = jobs::find_visible(&db, token.user.id, uid).await?;
        before.push(started.elapsed());
        assert!(job.is_some());

        let started = Instant::now();
        let caller = caller_from_headers(&db, &headers).await?.expect("a caller");
        let job = access::job(&db, &caller, uid, Act::WriteJob).await;
        after.push(started.elapsed());
        assert!(job.is_ok(), "the member may write");
    }
    let (before, after) = (median(&mut before), median(&mut after));
    println!("{SAMPLES} samples, median per request:");
    println!("  lookups before roles (token's user, visible job): {before:>9.1?}");
    println!("  caller and write check (access::job, WriteJob):    {after:>9.1?}");
    println!(
        "  the permission check adds {:.3} ms (target < 0.1 ms)",
        after.saturating_sub(before).as_secs_f64() * 1000.0
    );
    Ok(())
}

/// Projects of an owner, each with a member; the member's token and every job's uid. The member
/// is neither owner nor admin, so the check walks the whole role lookup.
async fn fill(db: &Db) -> anyhow::Result<(String, Vec<String>)> {
    let owner = users::create(db, "owner", "Owner").await?;
    let member = users::create(db, "member", "Member").await?;
    let mut uids = Vec::new();
    for p in 0..PROJECTS {
        let project = projects::create(db, owner.id, &format!("p{p}"), "", p % 3 == 0).await?;
        projects::add_member(db, project, member.id).await?;
        let specs: Vec<NewJob> = (0..JOBS_PER_PROJECT)
            .map(|i| NewJob {
                name: format!("run-{i}"),
                status: Some(JobStatus::Running),
                ..NewJob::default()
            })
            .collect();
        let mut tx = db.begin().await?;
        uids.extend(
            jobs::insert_many(&mut tx, project, &specs)
                .await?
                .into_iter()
                .map(|r| r.uid),
        );
        tx.commit().await?;
    }
    let (_, secret) = create_token(db, member.id, "bench", TokenScope::Write, None).await?;
    Ok((secret, uids))
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}
