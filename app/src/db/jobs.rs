//! Queries on `jobs` and `job_tags`.

use super::cursor::SortKey;
use super::project_keys::KeyKind;
use super::sql::{into_page, Arg, BindsOptionalFloat, Order, Sql};
use super::{now_ms, Db, PageError, Tx};
use crate::model::{Filter, JobSort, JobStatus, JobSummary, Page, SortDir};
use sqlx::AnyConnection;

/// Everything a new job is created with; the demo fills the timing fields, live jobs leave them.
#[derive(Clone, Debug, Default)]
pub struct NewJob {
    /// Human name of the run.
    pub name: String,
    /// Initial state; `None` means queued.
    pub status: Option<JobStatus>,
    /// The command line it runs.
    pub command: String,
    /// Its parameters, a JSON object.
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Tag keys and values.
    pub tags: Vec<(String, String)>,
    /// GPUs it asks for.
    pub gpus: i64,
    /// The user who created it.
    pub created_by: Option<i64>,
    /// The job token it was created with (a run a job started for itself), if any.
    pub created_token: Option<i64>,
    /// Creation time; `None` means now.
    pub created_ms: Option<i64>,
    /// When it started running.
    pub started_ms: Option<i64>,
    /// When it ended.
    pub finished_ms: Option<i64>,
    /// The runner it ran on.
    pub runner: Option<String>,
    /// What it cost.
    pub cost_usd: Option<f64>,
    /// How millrace runs it, for a job a runner will lease; `None` for a tracked job.
    pub run: Option<RunSpec>,
}

/// What the queue needs of a job that millrace runs itself.
#[derive(Clone, Debug, Default)]
pub struct RunSpec {
    /// The spec's name, under which `apply` finds the job again.
    pub spec_name: String,
    /// Hash of the resolved spec: equal hashes mean an unchanged spec.
    pub spec_hash: String,
    /// The resolved spec as JSON, handed to the runner with the lease.
    pub spec_json: String,
    /// Runner labels it needs.
    pub labels: Vec<String>,
    /// The least memory each of its GPUs must have, MiB.
    pub gpu_memory_mib: Option<i64>,
    /// The model its GPUs must be, as [`crate::model::model_words`] writes it.
    pub gpu_model: Option<String>,
    /// Times it is requeued when its runner is lost.
    pub retries: i64,
}

/// How a created job is addressed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRef {
    /// Database id.
    pub id: i64,
    /// Number within its project.
    pub number: i64,
    /// Global id, 32 hex characters.
    pub uid: String,
}

/// Creates jobs in `project` in one transaction, numbering them in order; returns their refs.
pub async fn insert_many(tx: &mut Tx, project: i64, jobs: &[NewJob]) -> sqlx::Result<Vec<JobRef>> {
    let count = i64::try_from(jobs.len()).expect("a batch of jobs fits in i64");
    let now = now_ms();
    let last: i64 = sqlx::query_scalar(
        "UPDATE projects SET next_job_number = next_job_number + $1, job_count = job_count + $1,
         updated_ms = $2, cost_usd = cost_usd + $4 WHERE id = $3 RETURNING next_job_number",
    )
    .bind(count)
    .bind(now)
    .bind(project)
    .bind(jobs.iter().filter_map(|j| j.cost_usd).sum::<f64>())
    .fetch_one(&mut **tx)
    .await?;
    let mut refs = Vec::with_capacity(jobs.len());
    for (i, job) in jobs.iter().enumerate() {
        let number = last - count + i as i64;
        refs.push(insert_one(tx, project, number, job, now).await?);
    }
    Ok(refs)
}

/// Creates one job in `project` with the `job.created` event live views follow.
pub async fn create(tx: &mut Tx, project: i64, job: &NewJob) -> sqlx::Result<JobRef> {
    let created = insert_many(tx, project, std::slice::from_ref(job))
        .await?
        .remove(0);
    let payload = serde_json::json!({ "number": created.number, "uid": created.uid });
    super::events::append(tx, "job.created", Some(project), Some(created.id), &payload).await?;
    Ok(created)
}

/// Labels as the `labels` column keeps them: sorted, each once, joined by ',' (labels are
/// names, so they hold no ','), so jobs that need the same labels store the same text.
pub fn joined_labels(labels: &[String]) -> String {
    let mut sorted: Vec<&str> = labels.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    sorted.join(",")
}

async fn insert_one(
    conn: &mut AnyConnection,
    project: i64,
    number: i64,
    job: &NewJob,
    now: i64,
) -> sqlx::Result<JobRef> {
    let uid = new_uid();
    let duration = match (job.started_ms, job.finished_ms) {
        (Some(start), Some(end)) => (end - start).max(0),
        _ => 0,
    };
    let run = job.run.as_ref();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO jobs (project_id, number, uid, name, status, command, params, created_by,
            created_ms, started_ms, finished_ms, duration_ms, gpus, runner, cost_usd, spec_name,
            spec_hash, spec, retries, retries_left, created_token, gpu_memory_mib, gpu_model,
            labels)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
            $19, $19, $20, $21, $22, $23) RETURNING id",
    )
    .bind(project)
    .bind(number)
    .bind(&uid)
    .bind(&job.name)
    .bind(job.status.unwrap_or(JobStatus::Queued).code())
    .bind(&job.command)
    .bind(serde_json::Value::Object(job.params.clone()).to_string())
    .bind(job.created_by)
    .bind(job.created_ms.unwrap_or(now))
    .bind(job.started_ms)
    .bind(job.finished_ms)
    .bind(duration)
    .bind(job.gpus)
    .bind(job.runner.as_deref())
    .bind(job.cost_usd)
    .bind(run.map(|r| r.spec_name.as_str()))
    .bind(run.map(|r| r.spec_hash.as_str()))
    .bind(run.map(|r| r.spec_json.as_str()))
    .bind(run.map_or(0, |r| r.retries))
    .bind(job.created_token)
    .bind(run.and_then(|r| r.gpu_memory_mib))
    .bind(run.and_then(|r| r.gpu_model.as_deref()))
    .bind(run.map(|r| joined_labels(&r.labels)).unwrap_or_default())
    .uncached_if_null(job.cost_usd.is_none())
    .fetch_one(&mut *conn)
    .await?;
    for label in run.map(|r| r.labels.as_slice()).unwrap_or_default() {
        sqlx::query("INSERT INTO job_labels (job_id, label) VALUES ($1, $2)")
            .bind(id)
            .bind(label)
            .execute(&mut *conn)
            .await?;
    }
    let param_keys: Vec<&String> = job.params.keys().collect();
    super::project_keys::add(conn, project, KeyKind::Param, &param_keys).await?;
    for (key, value) in &job.tags {
        sqlx::query("INSERT INTO job_tags (job_id, key, value) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(key)
            .bind(value)
            .execute(&mut *conn)
            .await?;
    }
    Ok(JobRef { id, number, uid })
}

/// A random 128-bit id as 32 lowercase hex characters, like MLflow's run ids.
fn new_uid() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Moves a job to `status` at `at_ms`, recording start and end times and the run time.
pub async fn set_status(
    tx: &mut Tx,
    job: i64,
    status: JobStatus,
    at_ms: i64,
) -> sqlx::Result<bool> {
    let started = matches!(status, JobStatus::Running).then_some(at_ms);
    let finished = status.is_finished().then_some(at_ms);
    let done = sqlx::query(
        "UPDATE jobs SET status = $1,
            started_ms = COALESCE(started_ms, $2),
            finished_ms = COALESCE($3, finished_ms),
            duration_ms = CASE WHEN $3 IS NOT NULL AND started_ms IS NOT NULL
                               THEN $3 - started_ms ELSE duration_ms END
         WHERE id = $4",
    )
    .bind(status.code())
    .bind(started)
    .bind(finished)
    .bind(job)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The columns of [`Job`], read from [`JOB_TABLES`]: jobs `j`, their project `p` and its owner
/// `u`.
pub(super) const SELECT_JOB: &str = "SELECT j.id, j.project_id, u.name || '/' || p.name AS project,
            j.number, j.uid, j.name, j.status, j.command, j.params, j.created_ms, j.started_ms,
            j.finished_ms, j.duration_ms, j.gpus, j.cost_usd, j.archived,
            CAST(CASE WHEN j.spec IS NULL THEN 0 ELSE 1 END AS BIGINT) AS run_here, j.created_token";

/// The tables a job is read from, with its project and its owner.
pub(super) const JOB_TABLES: &str =
    " FROM jobs j JOIN projects p ON p.id = j.project_id JOIN users u ON u.id = p.owner_id";

/// A job with what its API summary shows.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Job {
    /// Database id.
    pub id: i64,
    /// Its project's id.
    pub project_id: i64,
    /// Its project as `owner/name`.
    pub project: String,
    /// Number within its project.
    pub number: i64,
    /// Global id, 32 hex characters.
    pub uid: String,
    /// Human name of the run.
    pub name: String,
    /// Status code, see [`JobStatus::code`].
    pub status: i64,
    /// The command line it runs.
    pub command: String,
    /// Its parameters, a JSON object.
    pub params: String,
    /// Milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// When it started running.
    pub started_ms: Option<i64>,
    /// When it ended.
    pub finished_ms: Option<i64>,
    /// Run time in milliseconds; 0 until it finishes.
    pub duration_ms: i64,
    /// GPUs it asked for.
    pub gpus: i64,
    /// What it cost.
    pub cost_usd: Option<f64>,
    /// 1 when archived (an MLflow "deleted" run).
    pub archived: i64,
    /// 1 when millrace runs it on a runner (it has a spec), 0 for a tracked job.
    pub run_here: i64,
    /// The job token it was created with, if a job created it.
    pub created_token: Option<i64>,
}

impl Job {
    /// The user name of the project's owner.
    pub fn owner(&self) -> &str {
        self.project.split('/').next().unwrap_or_default()
    }
}

/// The job with global id `uid`, if it exists and `viewer` may see its project.
pub async fn find_visible(db: &Db, viewer: i64, uid: &str) -> sqlx::Result<Option<Job>> {
    let mut sql = Sql::new(&format!("{SELECT_JOB}{JOB_TABLES} WHERE j.uid = "));
    let uid = sql.arg(Arg::Text(uid.to_owned()));
    sql.push(&format!("{uid} AND "));
    super::projects::visible_to(&mut sql, viewer);
    sql.query_as::<Job>().fetch_optional(db.pool()).await
}

/// A visible job with its project and whether `viewer` is a member of it: what a permission
/// check needs, in one query rather than three (job, project, membership).
pub async fn find_visible_with_project(
    db: &Db,
    viewer: i64,
    uid: &str,
) -> sqlx::Result<Option<(Job, super::projects::Project, bool)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        job: Job,
        p_owner_id: i64,
        p_owner: String,
        p_name: String,
        p_title: String,
        p_description: String,
        p_private: i64,
        p_archived: i64,
        p_job_count: i64,
        p_created_ms: i64,
        p_updated_ms: i64,
        p_cost_usd: f64,
        p_idle_cost_usd: f64,
        is_member: i64,
    }
    let project_columns = ", p.owner_id AS p_owner_id, u.name AS p_owner, p.name AS p_name,
        p.title AS p_title, p.description AS p_description, p.private AS p_private, p.archived AS p_archived,
        p.job_count AS p_job_count, p.created_ms AS p_created_ms, p.updated_ms AS p_updated_ms,
        p.cost_usd AS p_cost_usd, p.idle_cost_usd AS p_idle_cost_usd, CAST(CASE WHEN EXISTS (SELECT 1 FROM project_members m
        WHERE m.project_id = p.id AND m.user_id = {v}) THEN 1 ELSE 0 END AS BIGINT) AS is_member";
    let mut sql = Sql::new(SELECT_JOB);
    let v = sql.arg(Arg::Int(viewer));
    sql.push(&project_columns.replace("{v}", &v));
    sql.push(&format!("{JOB_TABLES} WHERE j.uid = "));
    let uid = sql.arg(Arg::Text(uid.to_owned()));
    sql.push(&format!("{uid} AND "));
    super::projects::visible_to(&mut sql, viewer);
    let row = sql.query_as::<Row>().fetch_optional(db.pool()).await?;
    Ok(row.map(|r| {
        let project = super::projects::Project {
            id: r.job.project_id,
            owner_id: r.p_owner_id,
            owner: r.p_owner,
            name: r.p_name,
            title: r.p_title,
            description: r.p_description,
            private: r.p_private,
            archived: r.p_archived,
            job_count: r.p_job_count,
            created_ms: r.p_created_ms,
            updated_ms: r.p_updated_ms,
            cost_usd: r.p_cost_usd,
            idle_cost_usd: r.p_idle_cost_usd,
        };
        (r.job, project, r.is_member != 0)
    }))
}

/// The status of job `id`, if it exists.
pub async fn status(db: &Db, id: i64) -> sqlx::Result<Option<JobStatus>> {
    let code: Option<i64> = sqlx::query_scalar("SELECT status FROM jobs WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    Ok(code.map(|c| JobStatus::from_code(c).unwrap_or(JobStatus::Lost)))
}

/// The job of `project` named in a URL by its number there (`12`) or by its global id.
pub async fn find_in_project(db: &Db, project: i64, id: &str) -> sqlx::Result<Option<Job>> {
    let mut sql = Sql::new(&format!("{SELECT_JOB}{JOB_TABLES} WHERE j.project_id = "));
    let project = sql.arg(Arg::Int(project));
    // A global id has 32 hex digits, which may all be decimal; numbers never get that long.
    let number = id
        .parse::<i64>()
        .ok()
        .filter(|_| id.len() < 32 && !id.starts_with('+'));
    let key = match number {
        Some(number) => {
            let number = sql.arg(Arg::Int(number));
            format!("j.number = {number}")
        }
        None => {
            let uid = sql.arg(Arg::Text(id.to_owned()));
            format!("j.uid = {uid}")
        }
    };
    sql.push(&format!("{project} AND {key}"));
    sql.query_as::<Job>().fetch_optional(db.pool()).await
}

/// Every job of `projects` that is archived (`Some(true)`), live (`Some(false)`) or either
/// (`None`), oldest first: what a run search filters.
pub async fn in_projects(
    db: &Db,
    projects: &[i64],
    archived: Option<bool>,
) -> sqlx::Result<Vec<Job>> {
    if projects.is_empty() {
        return Ok(Vec::new());
    }
    // Ids are integers the caller resolved from the database, so listing them inline is safe.
    let ids: Vec<String> = projects.iter().map(i64::to_string).collect();
    sqlx::query_as::<_, Job>(&format!(
        "{SELECT_JOB}{JOB_TABLES} WHERE j.project_id IN ({}){} ORDER BY j.id",
        ids.join(", "),
        archived.map_or(String::new(), |a| format!(
            " AND j.archived = {}",
            i64::from(a)
        ))
    ))
    .fetch_all(db.pool())
    .await
}

/// The tags of every job of `projects`, as (job id, key, value).
pub async fn tags_in_projects(
    db: &Db,
    projects: &[i64],
) -> sqlx::Result<Vec<(i64, String, String)>> {
    if projects.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = projects.iter().map(i64::to_string).collect();
    sqlx::query_as(&format!(
        "SELECT t.job_id, t.key, t.value FROM job_tags t JOIN jobs j ON j.id = t.job_id
         WHERE j.project_id IN ({}) ORDER BY t.job_id, t.key",
        ids.join(", ")
    ))
    .fetch_all(db.pool())
    .await
}

/// Tells the pages following job `uid` that its artifacts changed at `path` (an upload or a
/// removal), in the writer's transaction; nothing for the files of a logged model kept
/// without a run, which no page follows.
pub async fn artifacts_changed(tx: &mut Tx, uid: &str, path: &str) -> sqlx::Result<()> {
    let job: Option<(i64, i64)> = sqlx::query_as("SELECT id, project_id FROM jobs WHERE uid = $1")
        .bind(uid)
        .fetch_optional(&mut **tx)
        .await?;
    if let Some((job, project)) = job {
        let payload = serde_json::json!({ "path": path });
        super::events::append(tx, "artifacts", Some(project), Some(job), &payload).await?;
    }
    Ok(())
}

/// Sets tag `key` of `job` to `value`, replacing an old value.
pub async fn set_tag(tx: &mut Tx, job: i64, key: &str, value: &str) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO job_tags (job_id, key, value) VALUES ($1, $2, $3)
         ON CONFLICT (job_id, key) DO UPDATE SET value = excluded.value",
    )
    .bind(job)
    .bind(key)
    .bind(value)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Removes tag `key` of `job`; false if it had none.
pub async fn delete_tag(tx: &mut Tx, job: i64, key: &str) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM job_tags WHERE job_id = $1 AND key = $2")
        .bind(job)
        .bind(key)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// `job`'s parameters (a JSON object), read inside a write transaction.
pub async fn params(
    tx: &mut Tx,
    job: i64,
) -> sqlx::Result<serde_json::Map<String, serde_json::Value>> {
    let text: String = sqlx::query_scalar("SELECT params FROM jobs WHERE id = $1")
        .bind(job)
        .fetch_one(&mut **tx)
        .await?;
    Ok(serde_json::from_str(&text).unwrap_or_default())
}

/// Replaces the parameters of `job` (of `project`).
pub async fn set_params(
    tx: &mut Tx,
    project: i64,
    job: i64,
    params: &serde_json::Map<String, serde_json::Value>,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE jobs SET params = $1 WHERE id = $2")
        .bind(serde_json::Value::Object(params.clone()).to_string())
        .bind(job)
        .execute(&mut **tx)
        .await?;
    let keys: Vec<&String> = params.keys().collect();
    super::project_keys::add(tx, project, KeyKind::Param, &keys).await
}

/// Archives `job` (MLflow's delete) or brings it back.
pub async fn set_archived(tx: &mut Tx, job: i64, archived: bool) -> sqlx::Result<()> {
    sqlx::query("UPDATE jobs SET archived = $1 WHERE id = $2")
        .bind(i64::from(archived))
        .bind(job)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// Renames `job`.
pub async fn rename(tx: &mut Tx, job: i64, name: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE jobs SET name = $1 WHERE id = $2")
        .bind(name)
        .bind(job)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// The tags of `job`, in key order.
pub async fn tags(db: &Db, job: i64) -> sqlx::Result<Vec<(String, String)>> {
    Ok(tags_of(db, &[job]).await?.remove(&job).unwrap_or_default())
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    number: i64,
    uid: String,
    name: String,
    status: i64,
    created_ms: i64,
    duration_ms: i64,
    gpus: i64,
    cost_usd: Option<f64>,
    runner: Option<String>,
    sort_metric: Option<f64>,
}

/// One page of `project`'s jobs. With a metric sort only jobs that logged that metric (with a
/// number, not NaN) are listed: the sort is answered from the metric summaries' index.
pub async fn page(
    db: &Db,
    project: i64,
    sort: &JobSort,
    dir: SortDir,
    filter: &Filter,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<JobSummary>, PageError> {
    let desc = dir == SortDir::Desc;
    let (order, mut sql) = select_for(sort, desc, project);
    push_filter(&mut sql, filter);
    sql.keyset(&order, cursor, limit)?;
    let rows = sql.query_as::<Row>().fetch_all(db.pool()).await?;
    let ids: Vec<i64> = rows.iter().take(limit as usize).map(|r| r.id).collect();
    let mut tags = tags_of(db, &ids).await?;
    let page = into_page(
        rows,
        limit,
        &order,
        |r| cursor_key(sort, r),
        |r| summary(r, &mut tags),
    );
    Ok(page)
}

/// Adds the conditions of the jobs column's `filter` on jobs aliased `j`.
pub(super) fn push_filter(sql: &mut Sql, filter: &Filter) {
    if let Some(text) = filter.text.as_deref().filter(|t| !t.is_empty()) {
        sql.contains("j.name", text);
    }
    if !filter.statuses.is_empty() {
        let codes: Vec<String> = filter
            .statuses
            .iter()
            .map(|s| s.code().to_string())
            .collect();
        sql.push(&format!(" AND j.status IN ({})", codes.join(", ")));
    }
    if let Some(tag) = filter.tag.as_deref().filter(|t| !t.is_empty()) {
        let tag = sql.arg(Arg::Text(tag.to_owned()));
        sql.push(&format!(
            " AND EXISTS (SELECT 1 FROM job_tags t WHERE t.job_id = j.id AND t.key = {tag})"
        ));
    }
    sql.push(&format!(" AND j.archived = {}", i64::from(filter.archived)));
}

/// The SELECT and its order for a sort: a metric sort reads from the metric summaries.
fn select_for(sort: &JobSort, desc: bool, project: i64) -> (Order, Sql) {
    let columns =
        "j.id, j.number, j.uid, j.name, j.status, j.created_ms, j.duration_ms, j.gpus, j.cost_usd, \
         j.runner";
    let dir = if desc { "desc" } else { "asc" };
    let plain = |name: &str, key: &'static str| {
        let order = Order {
            name: format!("{name}-{dir}"),
            key,
            id: "j.id",
            desc,
        };
        let mut sql = Sql::new(&format!(
            "SELECT {columns}, CAST(NULL AS DOUBLE PRECISION) AS sort_metric FROM jobs j WHERE j.project_id = "
        ));
        let p = sql.arg(Arg::Int(project));
        sql.push(&p);
        (order, sql)
    };
    match sort {
        JobSort::Created => plain("created", "j.created_ms"),
        JobSort::Name => plain("name", "j.name"),
        JobSort::Status => plain("status", "j.status"),
        JobSort::Duration => plain("duration", "j.duration_ms"),
        JobSort::Metric(key) => {
            let order = Order {
                name: format!("metric:{key}-{dir}"),
                key: "s.last",
                id: "s.job_id",
                desc,
            };
            let mut sql = Sql::new(&format!(
                "SELECT {columns}, s.last AS sort_metric FROM metric_series s JOIN jobs j ON j.id = s.job_id \
                 WHERE s.last IS NOT NULL AND s.project_id = "
            ));
            let p = sql.arg(Arg::Int(project));
            let k = sql.arg(Arg::Text(key.clone()));
            sql.push(&format!("{p} AND s.key = {k}"));
            (order, sql)
        }
    }
}

fn cursor_key(sort: &JobSort, row: &Row) -> (SortKey, i64) {
    let key = match sort {
        JobSort::Created => SortKey::Int(row.created_ms),
        JobSort::Name => SortKey::Text(row.name.clone()),
        JobSort::Status => SortKey::Int(row.status),
        JobSort::Duration => SortKey::Int(row.duration_ms),
        JobSort::Metric(_) => SortKey::Float(row.sort_metric.unwrap_or(f64::NAN)),
    };
    (key, row.id)
}

fn summary(
    row: Row,
    tags: &mut std::collections::HashMap<i64, Vec<(String, String)>>,
) -> JobSummary {
    JobSummary {
        number: row.number,
        uid: row.uid,
        name: row.name,
        // Codes come only from JobStatus::code; an unknown one means a newer server wrote it.
        status: JobStatus::from_code(row.status).unwrap_or(JobStatus::Lost),
        created_ms: row.created_ms,
        duration_ms: row.duration_ms,
        gpus: row.gpus,
        tags: tags.remove(&row.id).unwrap_or_default(),
        sort_metric: row.sort_metric,
        cost_usd: row.cost_usd,
        runner: row.runner,
    }
}

/// The tags of `jobs`, by job id, in key order.
pub async fn tags_of(
    db: &Db,
    jobs: &[i64],
) -> sqlx::Result<std::collections::HashMap<i64, Vec<(String, String)>>> {
    let mut by_job = std::collections::HashMap::new();
    if jobs.is_empty() {
        return Ok(by_job);
    }
    // Ids are integers we read from the database, so listing them inline is safe.
    let ids: Vec<String> = jobs.iter().map(i64::to_string).collect();
    let sql = format!(
        "SELECT job_id, key, value FROM job_tags WHERE job_id IN ({}) ORDER BY job_id, key",
        ids.join(", ")
    );
    let rows = sqlx::query_as::<_, (i64, String, String)>(&sql)
        .fetch_all(db.pool())
        .await?;
    for (job, key, value) in rows {
        by_job
            .entry(job)
            .or_insert_with(Vec::new)
            .push((key, value));
    }
    Ok(by_job)
}

#[cfg(test)]
mod tests;
