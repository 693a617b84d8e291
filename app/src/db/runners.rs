//! Queries on `runner_tokens` and `runners`: who may run jobs, and the runners that registered.

use super::{now_ms, Db};
use crate::model::Gpu;

/// A runner token as listed (never the secret).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct RunnerToken {
    /// Database id, used to revoke it.
    pub id: i64,
    /// What the administrator called it.
    pub name: String,
    /// Milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// When it was revoked, if it was.
    pub revoked_ms: Option<i64>,
}

/// A registered runner.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Runner {
    /// Database id.
    pub id: i64,
    /// The token it registered with.
    pub token_id: i64,
    /// Unique name (the host name unless given).
    pub name: String,
    /// The machine it runs on.
    pub hostname: String,
    /// Its GPU ids, a JSON array of strings.
    pub gpus: String,
    /// What its GPUs are, a JSON array of [`Gpu`]s (empty unless it found them itself).
    pub gpu_models: String,
    /// Its labels, a JSON array of strings.
    pub labels: String,
    /// Jobs it runs at once at most.
    pub max_jobs: i64,
    /// When it last registered.
    pub registered_ms: i64,
    /// When it last heartbeat or leased.
    pub last_seen_ms: i64,
}

impl Runner {
    /// Its labels as a list.
    pub fn label_list(&self) -> Vec<String> {
        serde_json::from_str(&self.labels).unwrap_or_default()
    }

    /// Its GPU ids as a list.
    pub fn gpu_list(&self) -> Vec<String> {
        serde_json::from_str(&self.gpus).unwrap_or_default()
    }

    /// What its GPUs are, as a list.
    pub fn gpu_model_list(&self) -> Vec<Gpu> {
        gpu_models_of(&self.gpu_models)
    }
}

/// The GPUs described by a `runners.gpu_models` text; none if it cannot be read.
pub fn gpu_models_of(text: &str) -> Vec<Gpu> {
    serde_json::from_str(text).unwrap_or_default()
}

/// What a runner says about itself when it registers.
#[derive(Clone, Debug, Default)]
pub struct Registration {
    /// Unique name.
    pub name: String,
    /// The machine it runs on.
    pub hostname: String,
    /// Its GPU ids.
    pub gpus: Vec<String>,
    /// What those GPUs are, when it knows.
    pub gpu_models: Vec<Gpu>,
    /// Its labels.
    pub labels: Vec<String>,
    /// Jobs it runs at once at most.
    pub max_jobs: i64,
}

/// Stores a new runner token's hash; returns its id.
pub async fn create_token(db: &Db, name: &str, token_hash: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO runner_tokens (name, token_hash, created_ms) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(name)
    .bind(token_hash)
    .bind(now_ms())
    .fetch_one(db.pool())
    .await
}

/// The id of the live (not revoked) runner token with this hash.
pub async fn token_for_hash(db: &Db, token_hash: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT id FROM runner_tokens WHERE token_hash = $1 AND revoked_ms IS NULL")
        .bind(token_hash)
        .fetch_optional(db.pool())
        .await
}

/// Revokes runner token `id` at once; false if there is no such live token.
pub async fn revoke_token(db: &Db, id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE runner_tokens SET revoked_ms = $1 WHERE id = $2 AND revoked_ms IS NULL",
    )
    .bind(now_ms())
    .bind(id)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Every runner token, oldest first.
pub async fn tokens(db: &Db) -> sqlx::Result<Vec<RunnerToken>> {
    sqlx::query_as::<_, RunnerToken>(
        "SELECT id, name, created_ms, revoked_ms FROM runner_tokens ORDER BY id",
    )
    .fetch_all(db.pool())
    .await
}

/// Registers a runner under its name, taking over the row of an earlier process of that name;
/// `None` when the name belongs to a runner of another live token (a name is held by the token
/// that registered it, so one token cannot take over another's runner).
pub async fn register(db: &Db, token: i64, runner: &Registration) -> sqlx::Result<Option<Runner>> {
    let now = now_ms();
    let gpus = serde_json::to_string(&runner.gpus).expect("strings serialise");
    let gpu_models = serde_json::to_string(&runner.gpu_models).expect("GPUs serialise");
    let labels = serde_json::to_string(&runner.labels).expect("strings serialise");
    sqlx::query_as::<_, Runner>(
        "INSERT INTO runners (token_id, name, hostname, gpus, labels, max_jobs, registered_ms,
            last_seen_ms, gpu_models)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)
         ON CONFLICT (name) DO UPDATE SET token_id = excluded.token_id,
            hostname = excluded.hostname, gpus = excluded.gpus,
            gpu_models = excluded.gpu_models, labels = excluded.labels,
            max_jobs = excluded.max_jobs, registered_ms = excluded.registered_ms,
            last_seen_ms = excluded.last_seen_ms
         WHERE runners.token_id = excluded.token_id
            OR runners.token_id IN (SELECT id FROM runner_tokens WHERE revoked_ms IS NOT NULL)
         RETURNING id, token_id, name, hostname, gpus, gpu_models, labels, max_jobs,
            registered_ms, last_seen_ms",
    )
    .bind(token)
    .bind(&runner.name)
    .bind(&runner.hostname)
    .bind(gpus)
    .bind(labels)
    .bind(runner.max_jobs)
    .bind(now)
    .bind(gpu_models)
    .fetch_optional(db.pool())
    .await
}

/// Runner `id` if it registered with `token` (a runner cannot act as another token's runner).
pub async fn find(db: &Db, token: i64, id: i64) -> sqlx::Result<Option<Runner>> {
    sqlx::query_as::<_, Runner>(
        "SELECT id, token_id, name, hostname, gpus, gpu_models, labels, max_jobs, registered_ms,
            last_seen_ms
         FROM runners WHERE id = $1 AND token_id = $2",
    )
    .bind(id)
    .bind(token)
    .fetch_optional(db.pool())
    .await
}

/// Records that runner `id` was heard from now.
pub async fn touch(db: &Db, id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE runners SET last_seen_ms = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(id)
        .execute(db.pool())
        .await
        .map(|_| ())
}

/// A runner as the runners page lists it.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct RunnerRow {
    /// The runner.
    #[sqlx(flatten)]
    pub runner: Runner,
    /// Jobs it holds a lease on now.
    pub active_jobs: i64,
    /// GPUs those jobs hold.
    pub busy_gpus: i64,
}

/// Every runner with its current load, most recently seen first; runners of pool machines that
/// are gone are left out (their pool's history shows them), or autoscaling would pile them up.
pub async fn list(db: &Db) -> sqlx::Result<Vec<RunnerRow>> {
    sqlx::query_as::<_, RunnerRow>(
        "SELECT r.id, r.token_id, r.name, r.hostname, r.gpus, r.gpu_models, r.labels, r.max_jobs,
                r.registered_ms, r.last_seen_ms,
                COUNT(j.id) AS active_jobs,
                CAST(COALESCE(SUM(j.gpus), 0) AS BIGINT) AS busy_gpus
         FROM runners r LEFT JOIN jobs j ON j.runner_id = r.id AND j.lease_expires_ms IS NOT NULL
         WHERE NOT EXISTS (SELECT 1 FROM pool_machines m
                           WHERE m.runner_id = r.id AND m.ended_ms IS NOT NULL)
         GROUP BY r.id, r.token_id, r.name, r.hostname, r.gpus, r.gpu_models, r.labels, r.max_jobs,
                  r.registered_ms, r.last_seen_ms
         ORDER BY r.last_seen_ms DESC, r.id",
    )
    .fetch_all(db.pool())
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::each_backend;

    fn named(name: &str, hostname: &str) -> Registration {
        Registration {
            name: name.to_owned(),
            hostname: hostname.to_owned(),
            gpus: vec!["0".into()],
            gpu_models: vec![Gpu {
                id: "0".into(),
                name: format!("NVIDIA {hostname}"),
                memory_mib: 81_920,
                uuid: format!("GPU-{hostname}"),
            }],
            labels: Vec::new(),
            max_jobs: 1,
        }
    }

    #[tokio::test]
    async fn a_runner_name_belongs_to_the_token_that_registered_it() {
        each_backend(|db| async move {
            let mine = create_token(&db, "mine", "hash-mine").await.unwrap();
            let theirs = create_token(&db, "theirs", "hash-theirs").await.unwrap();
            let first = register(&db, mine, &named("gpu-1", "a")).await.unwrap();
            let first = first.expect("a free name registers");

            let taken = register(&db, theirs, &named("gpu-1", "b")).await.unwrap();
            assert_eq!(taken, None, "another token cannot take the name");
            let kept = find(&db, mine, first.id).await.unwrap().unwrap();
            assert_eq!((kept.token_id, kept.hostname.as_str()), (mine, "a"));

            let again = register(&db, mine, &named("gpu-1", "c")).await.unwrap();
            let again = again.expect("the same token takes its row back");
            assert_eq!((again.id, again.hostname.as_str()), (first.id, "c"));
            assert_eq!(
                again.gpu_model_list(),
                named("gpu-1", "c").gpu_models,
                "what the GPUs are is registered again too"
            );
        })
        .await;
    }

    #[tokio::test]
    async fn a_name_held_by_a_revoked_token_can_be_registered_by_another() {
        each_backend(|db| async move {
            let old = create_token(&db, "old", "hash-old").await.unwrap();
            let new = create_token(&db, "new", "hash-new").await.unwrap();
            let first = register(&db, old, &named("gpu-1", "a"))
                .await
                .unwrap()
                .unwrap();
            assert!(revoke_token(&db, old).await.unwrap());

            let taken = register(&db, new, &named("gpu-1", "a")).await.unwrap();
            let taken = taken.expect("a revoked token holds no name");
            assert_eq!((taken.id, taken.token_id), (first.id, new));
            assert_eq!(find(&db, old, first.id).await.unwrap(), None);
        })
        .await;
    }
}
