//! Queries on `logged_models` and what hangs off them: MLflow 3's logged models, each produced
//! by a run, with params, tags, linked metric points, and the runs that output or read them.

use super::{Db, Tx};
use std::collections::HashMap;

/// A logged model as the store keeps it.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct LoggedModel {
    /// Database id.
    pub id: i64,
    /// Global id, `m-` and 32 hex digits.
    pub uid: String,
    /// The project (MLflow experiment) it belongs to.
    pub project_id: i64,
    /// The run that produced it, if any.
    pub job_id: Option<i64>,
    /// That run's global id.
    pub job_uid: Option<String>,
    /// Its name.
    pub name: String,
    /// What kind of model it is ("Agent", "Classifier"...), or empty.
    pub model_type: String,
    /// MLflow's status name: `LOGGED_MODEL_PENDING`, `_READY` or `_UPLOAD_FAILED`.
    pub status: String,
    /// Why it has that status, if said.
    pub status_message: String,
    /// The user who created it.
    pub creator_id: i64,
    /// When it was created, in ms.
    pub created_ms: i64,
    /// When it last changed, in ms.
    pub updated_ms: i64,
    /// 1 once deleted.
    pub deleted: i64,
}

/// A model about to be created.
pub struct NewModel<'a> {
    /// Its global id.
    pub uid: &'a str,
    /// Its project.
    pub project: i64,
    /// The run that produced it, if any.
    pub job: Option<i64>,
    /// Its name.
    pub name: &'a str,
    /// Its type, or empty.
    pub model_type: &'a str,
    /// Who creates it.
    pub creator: i64,
    /// Its params.
    pub params: &'a [(String, String)],
    /// Its tags.
    pub tags: &'a [(String, String)],
}

/// A metric point linked to a model.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelMetric {
    /// The metric's key.
    pub key: String,
    /// Its step.
    pub step: i64,
    /// When it was logged, in ms.
    pub wall_ms: i64,
    /// Its value (NaN kept as NaN).
    pub value: f64,
    /// The run it was logged to.
    pub job_uid: String,
    /// The dataset it was measured on, or empty.
    pub dataset_name: String,
    /// That dataset's digest, or empty.
    pub dataset_digest: String,
}

/// A model's params, tags and metrics.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Details {
    /// Params by key, in key order.
    pub params: Vec<(String, String)>,
    /// Tags by key, in key order.
    pub tags: Vec<(String, String)>,
    /// Linked metric points.
    pub metrics: Vec<ModelMetric>,
}

/// Status of a model whose files are still being uploaded.
pub const PENDING: &str = "LOGGED_MODEL_PENDING";

const COLUMNS: &str = "m.id, m.uid, m.project_id, m.job_id, j.uid AS job_uid, m.name, m.model_type,
     m.status, m.status_message, m.creator_id, m.created_ms, m.updated_ms, m.deleted";

/// Creates a pending model with its params and tags; answers its id.
pub async fn create(tx: &mut Tx, new: &NewModel<'_>) -> sqlx::Result<i64> {
    let now = super::now_ms();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO logged_models
             (uid, project_id, job_id, name, model_type, status, creator_id, created_ms, updated_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
    )
    .bind(new.uid)
    .bind(new.project)
    .bind(new.job)
    .bind(new.name)
    .bind(new.model_type)
    .bind(PENDING)
    .bind(new.creator)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    add_params(tx, id, new.params).await?;
    set_tags(tx, id, new.tags).await?;
    Ok(id)
}

/// The model `uid`, deleted or not.
pub async fn find(db: &Db, uid: &str) -> sqlx::Result<Option<LoggedModel>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM logged_models m LEFT JOIN jobs j ON j.id = m.job_id WHERE m.uid = $1"
    ))
    .bind(uid)
    .fetch_optional(db.pool())
    .await
}

/// The live models of `projects`, newest first.
pub async fn in_projects(db: &Db, projects: &[i64]) -> sqlx::Result<Vec<LoggedModel>> {
    let mut found = Vec::new();
    for chunk in projects.chunks(1000) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {COLUMNS} FROM logged_models m LEFT JOIN jobs j ON j.id = m.job_id
             WHERE m.deleted = 0 AND m.project_id IN ({})",
            marks.join(", ")
        );
        let mut query = sqlx::query_as::<_, LoggedModel>(&sql);
        for id in chunk {
            query = query.bind(id);
        }
        found.extend(query.fetch_all(db.pool()).await?);
    }
    found.sort_by_key(|m| std::cmp::Reverse((m.created_ms, m.id)));
    Ok(found)
}

/// Sets the status of model `id` and why.
pub async fn set_status(db: &Db, id: i64, status: &str, message: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE logged_models SET status = $2, status_message = $3, updated_ms = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(message)
    .bind(super::now_ms())
    .execute(db.pool())
    .await
    .map(|_| ())
}

/// Marks model `id` deleted; its files stay.
pub async fn delete(db: &Db, id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE logged_models SET deleted = 1, updated_ms = $2 WHERE id = $1")
        .bind(id)
        .bind(super::now_ms())
        .execute(db.pool())
        .await
        .map(|_| ())
}

/// Adds params to model `id`; a key it has keeps its value (callers check for changes).
pub async fn add_params(tx: &mut Tx, id: i64, params: &[(String, String)]) -> sqlx::Result<()> {
    for (key, value) in params {
        sqlx::query(
            "INSERT INTO logged_model_params (model_id, key, value) VALUES ($1, $2, $3)
             ON CONFLICT (model_id, key) DO NOTHING",
        )
        .bind(id)
        .bind(key)
        .bind(value)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Sets tags of model `id`, replacing old values.
pub async fn set_tags(tx: &mut Tx, id: i64, tags: &[(String, String)]) -> sqlx::Result<()> {
    for (key, value) in tags {
        sqlx::query(
            "INSERT INTO logged_model_tags (model_id, key, value) VALUES ($1, $2, $3)
             ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value",
        )
        .bind(id)
        .bind(key)
        .bind(value)
        .execute(&mut **tx)
        .await?;
    }
    touch(tx, id).await
}

/// Removes tag `key` of model `id`; false if it had none.
pub async fn delete_tag(db: &Db, id: i64, key: &str) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM logged_model_tags WHERE model_id = $1 AND key = $2")
        .bind(id)
        .bind(key)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

async fn touch(tx: &mut Tx, id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE logged_models SET updated_ms = $2 WHERE id = $1")
        .bind(id)
        .bind(super::now_ms())
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// Links metric points of run `job` to model `id`; a point linked before is left as it is.
pub async fn link_metrics(
    tx: &mut Tx,
    id: i64,
    job: i64,
    metrics: &[ModelMetric],
) -> sqlx::Result<()> {
    for m in metrics {
        sqlx::query(
            "INSERT INTO logged_model_metrics
                 (model_id, key, step, wall_ms, value, job_id, dataset_name, dataset_digest)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(&m.key)
        .bind(m.step)
        .bind(m.wall_ms)
        .bind((!m.value.is_nan()).then_some(m.value))
        .bind(job)
        .bind(&m.dataset_name)
        .bind(&m.dataset_digest)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The params, tags and metrics of each of `models`.
pub async fn details(db: &Db, models: &[i64]) -> sqlx::Result<HashMap<i64, Details>> {
    let mut found: HashMap<i64, Details> = HashMap::new();
    if models.is_empty() {
        return Ok(found);
    }
    // Ids are integers read from the database, so listing them inline is safe.
    let ids: Vec<String> = models.iter().map(i64::to_string).collect();
    let ids = ids.join(", ");
    for (table, is_tag) in [("logged_model_params", false), ("logged_model_tags", true)] {
        let rows = sqlx::query_as::<_, (i64, String, String)>(&format!(
            "SELECT model_id, key, value FROM {table} WHERE model_id IN ({ids})
             ORDER BY model_id, key"
        ))
        .fetch_all(db.pool())
        .await?;
        for (model, key, value) in rows {
            let details = found.entry(model).or_default();
            let list = if is_tag {
                &mut details.tags
            } else {
                &mut details.params
            };
            list.push((key, value));
        }
    }
    type MetricRow = (i64, String, i64, i64, Option<f64>, String, String, String);
    let rows = sqlx::query_as::<_, MetricRow>(&format!(
        "SELECT l.model_id, l.key, l.step, l.wall_ms, l.value, j.uid, l.dataset_name,
                l.dataset_digest
         FROM logged_model_metrics l JOIN jobs j ON j.id = l.job_id
         WHERE l.model_id IN ({ids}) ORDER BY l.model_id, l.key, l.step, l.wall_ms"
    ))
    .fetch_all(db.pool())
    .await?;
    for (model, key, step, wall_ms, value, job_uid, dataset_name, dataset_digest) in rows {
        found.entry(model).or_default().metrics.push(ModelMetric {
            key,
            step,
            wall_ms,
            value: value.unwrap_or(f64::NAN),
            job_uid,
            dataset_name,
            dataset_digest,
        });
    }
    Ok(found)
}

/// Which runs link to a model: the ones that output it, or the ones that read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// `run_outputs`, with the step the model was produced at.
    Output,
    /// `run_model_inputs`.
    Input,
}

impl Link {
    fn table(self) -> &'static str {
        match self {
            Link::Output => "run_outputs",
            Link::Input => "run_model_inputs",
        }
    }
}

/// Records that run `job` output (at a step) or read each of `models`; a link it has stays.
pub async fn link_run(
    tx: &mut Tx,
    link: Link,
    job: i64,
    models: &[(i64, i64)],
) -> sqlx::Result<()> {
    for (model, step) in models {
        let sql = match link {
            Link::Output => {
                "INSERT INTO run_outputs (job_id, model_id, step) VALUES ($1, $2, $3)
                             ON CONFLICT (job_id, model_id) DO NOTHING"
            }
            Link::Input => {
                "INSERT INTO run_model_inputs (job_id, model_id) VALUES ($1, $2)
                            ON CONFLICT (job_id, model_id) DO NOTHING"
            }
        };
        let mut query = sqlx::query(sql).bind(job).bind(*model);
        if link == Link::Output {
            query = query.bind(*step);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// The models each of `jobs` links to, as (model uid, step), in the order they were linked.
pub async fn linked_to_runs(
    db: &Db,
    link: Link,
    jobs: &[i64],
) -> sqlx::Result<HashMap<i64, Vec<(String, i64)>>> {
    let mut found: HashMap<i64, Vec<(String, i64)>> = HashMap::new();
    if jobs.is_empty() {
        return Ok(found);
    }
    let ids: Vec<String> = jobs.iter().map(i64::to_string).collect();
    let step = match link {
        Link::Output => "l.step",
        Link::Input => "0",
    };
    let rows = sqlx::query_as::<_, (i64, String, i64)>(&format!(
        "SELECT l.job_id, m.uid, {step} FROM {} l JOIN logged_models m ON m.id = l.model_id
         WHERE l.job_id IN ({}) ORDER BY l.job_id, m.id",
        link.table(),
        ids.join(", ")
    ))
    .fetch_all(db.pool())
    .await?;
    for (job, uid, step) in rows {
        found.entry(job).or_default().push((uid, step));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::jobs::{self, NewJob};
    use crate::db::{projects, testing::each_backend, users};

    #[tokio::test]
    async fn a_model_keeps_its_params_tags_metrics_and_the_runs_linked_to_it() {
        each_backend(|db| async move {
            let ann = users::create(&db, "ann", "Ann").await.unwrap();
            let project = projects::create(&db, ann.id, "xray", "", false)
                .await
                .unwrap();
            let mut tx = db.begin().await.unwrap();
            let made = jobs::insert_many(&mut tx, project, &[NewJob::default(), NewJob::default()])
                .await
                .unwrap();
            let (train, evaluate) = (&made[0], &made[1]);
            let params = [("depth".to_owned(), "3".to_owned())];
            let tags = [("stage".to_owned(), "draft".to_owned())];
            let id = create(
                &mut tx,
                &NewModel {
                    uid: "m-1",
                    project,
                    job: Some(train.id),
                    name: "forest",
                    model_type: "",
                    creator: ann.id,
                    params: &params,
                    tags: &tags,
                },
            )
            .await
            .unwrap();
            // A param logged again keeps its first value; a tag takes the new one.
            add_params(&mut tx, id, &[("depth".into(), "9".into())])
                .await
                .unwrap();
            set_tags(&mut tx, id, &[("stage".into(), "final".into())])
                .await
                .unwrap();
            let point = ModelMetric {
                key: "acc".into(),
                step: 2,
                wall_ms: 10,
                value: f64::NAN,
                job_uid: train.uid.clone(),
                dataset_name: String::new(),
                dataset_digest: String::new(),
            };
            link_metrics(&mut tx, id, train.id, &[point.clone(), point.clone()])
                .await
                .unwrap();
            link_run(&mut tx, Link::Output, train.id, &[(id, 2)])
                .await
                .unwrap();
            link_run(&mut tx, Link::Input, evaluate.id, &[(id, 0), (id, 0)])
                .await
                .unwrap();
            tx.commit().await.unwrap();

            let model = find(&db, "m-1").await.unwrap().unwrap();
            assert_eq!(
                (model.status.as_str(), model.job_uid.as_deref()),
                (PENDING, Some(train.uid.as_str()))
            );
            let details = details(&db, &[id]).await.unwrap().remove(&id).unwrap();
            assert_eq!(details.params, params);
            assert_eq!(details.tags, [("stage".to_owned(), "final".to_owned())]);
            assert_eq!(details.metrics.len(), 1, "one point, linked once");
            assert!(details.metrics[0].value.is_nan());
            let outputs = linked_to_runs(&db, Link::Output, &[train.id, evaluate.id])
                .await
                .unwrap();
            assert_eq!(outputs[&train.id], [("m-1".to_owned(), 2)]);
            assert!(!outputs.contains_key(&evaluate.id));
            let inputs = linked_to_runs(&db, Link::Input, &[evaluate.id])
                .await
                .unwrap();
            assert_eq!(inputs[&evaluate.id], [("m-1".to_owned(), 0)]);

            set_status(&db, id, "LOGGED_MODEL_READY", "").await.unwrap();
            assert_eq!(in_projects(&db, &[project]).await.unwrap().len(), 1);
            assert!(delete_tag(&db, id, "stage").await.unwrap());
            assert!(!delete_tag(&db, id, "stage").await.unwrap());
            delete(&db, id).await.unwrap();
            assert!(in_projects(&db, &[project]).await.unwrap().is_empty());
            assert_eq!(find(&db, "m-1").await.unwrap().unwrap().deleted, 1);

            // A model logged without a run keeps its files under its own uid, paid by its creator.
            let mut tx = db.begin().await.unwrap();
            let alone = NewModel {
                uid: "m-2",
                project,
                job: None,
                name: "alone",
                model_type: "",
                creator: ann.id,
                params: &[],
                tags: &[],
            };
            create(&mut tx, &alone).await.unwrap();
            tx.commit().await.unwrap();
            assert_eq!(find(&db, "m-2").await.unwrap().unwrap().job_uid, None);
            assert_eq!(
                crate::db::storage::artifact_owner(&db, "m-2")
                    .await
                    .unwrap(),
                Some((ann.id, "ann".to_owned()))
            );
            assert_eq!(
                crate::db::storage::artifact_owner(&db, "m-1")
                    .await
                    .unwrap(),
                None,
                "a model made in a run keeps its files in the run's folder"
            );
        })
        .await;
    }
}
