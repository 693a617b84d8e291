//! Queries on `datasets` and `run_inputs`: MLflow's dataset inputs, the datasets a run read.

use super::{Db, Tx};
use std::collections::HashMap;

/// A dataset as MLflow describes it, kept once per project by name and digest.
#[derive(Clone, Debug, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Dataset {
    /// Its name.
    pub name: String,
    /// A short hash of its contents.
    pub digest: String,
    /// Where it comes from, as a kind: `local`, `http`, `delta_table`...
    pub source_type: String,
    /// Where it comes from (JSON, as the client wrote it).
    pub source: String,
    /// Its schema (JSON), if given.
    pub schema: Option<String>,
    /// Its profile (JSON), if given.
    pub profile: Option<String>,
}

/// One input of a run: the dataset and the input's tags, by key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunInput {
    /// What was read.
    pub dataset: Dataset,
    /// How (`mlflow.data.context` = `training`...).
    pub tags: Vec<(String, String)>,
}

/// Records in `tx` that `job` of `project` read each of `inputs`. A dataset already kept in the
/// project is reused, and an input the run already has is left as it is, as MLflow does.
pub async fn log(tx: &mut Tx, project: i64, job: i64, inputs: &[RunInput]) -> sqlx::Result<()> {
    for input in inputs {
        let d = &input.dataset;
        sqlx::query(
            "INSERT INTO datasets (project_id, name, digest, source_type, source, schema, profile)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (project_id, name, digest) DO NOTHING",
        )
        .bind(project)
        .bind(&d.name)
        .bind(&d.digest)
        .bind(&d.source_type)
        .bind(&d.source)
        .bind(&d.schema)
        .bind(&d.profile)
        .execute(&mut **tx)
        .await?;
        let dataset: i64 = sqlx::query_scalar(
            "SELECT id FROM datasets WHERE project_id = $1 AND name = $2 AND digest = $3",
        )
        .bind(project)
        .bind(&d.name)
        .bind(&d.digest)
        .fetch_one(&mut **tx)
        .await?;
        let tags: serde_json::Map<String, serde_json::Value> = input
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        sqlx::query(
            "INSERT INTO run_inputs (job_id, dataset_id, tags) VALUES ($1, $2, $3)
             ON CONFLICT (job_id, dataset_id) DO NOTHING",
        )
        .bind(job)
        .bind(dataset)
        .bind(serde_json::Value::Object(tags).to_string())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The inputs of each of `jobs` that has any, in the order their datasets were first kept.
pub async fn of(db: &Db, jobs: &[i64]) -> sqlx::Result<HashMap<i64, Vec<RunInput>>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        job_id: i64,
        tags: String,
        #[sqlx(flatten)]
        dataset: Dataset,
    }
    let mut by_job: HashMap<i64, Vec<RunInput>> = HashMap::new();
    if jobs.is_empty() {
        return Ok(by_job);
    }
    // Ids are integers read from the database, so listing them inline is safe.
    let ids: Vec<String> = jobs.iter().map(i64::to_string).collect();
    let rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT i.job_id, i.tags, d.name, d.digest, d.source_type, d.source, d.schema, d.profile
         FROM run_inputs i JOIN datasets d ON d.id = i.dataset_id
         WHERE i.job_id IN ({}) ORDER BY i.job_id, d.id",
        ids.join(", ")
    ))
    .fetch_all(db.pool())
    .await?;
    for row in rows {
        let tags: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&row.tags).unwrap_or_default();
        let tags = tags
            .into_iter()
            .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_owned()))
            .collect();
        by_job.entry(row.job_id).or_default().push(RunInput {
            dataset: row.dataset,
            tags,
        });
    }
    Ok(by_job)
}

/// The tag of an input that says what the run used the dataset for (`training`, `eval`...).
pub const CONTEXT_TAG: &str = "mlflow.data.context";

/// A dataset as a project's runs used it: which project, its name and digest, and the
/// context of the use, if tagged.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DatasetUse {
    /// The project.
    pub project: i64,
    /// The dataset's name.
    pub name: String,
    /// Its digest.
    pub digest: String,
    /// Its input's [`CONTEXT_TAG`], if any.
    pub context: Option<String>,
}

/// The distinct uses of datasets by the runs of `projects`, at most `limit`, in order.
pub async fn uses(db: &Db, projects: &[i64], limit: usize) -> sqlx::Result<Vec<DatasetUse>> {
    if projects.is_empty() {
        return Ok(Vec::new());
    }
    // Ids are integers read from the database, so listing them inline is safe.
    let ids: Vec<String> = projects.iter().map(i64::to_string).collect();
    let rows = sqlx::query_as::<_, (i64, String, String, String)>(&format!(
        "SELECT DISTINCT d.project_id, d.name, d.digest, i.tags
         FROM datasets d JOIN run_inputs i ON i.dataset_id = d.id
         WHERE d.project_id IN ({})",
        ids.join(", ")
    ))
    .fetch_all(db.pool())
    .await?;
    let mut found = std::collections::BTreeSet::new();
    for (project, name, digest, tags) in rows {
        let tags: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&tags).unwrap_or_default();
        let context = tags
            .get(CONTEXT_TAG)
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        found.insert(DatasetUse {
            project,
            name,
            digest,
            context,
        });
    }
    Ok(found.into_iter().take(limit).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::jobs::{self, NewJob};
    use crate::db::{projects, testing::each_backend, users};

    #[tokio::test]
    async fn a_dataset_is_kept_once_per_project_and_each_run_lists_its_inputs() {
        each_backend(|db| async move {
            let ann = users::create(&db, "ann", "Ann").await.unwrap();
            let project = projects::create(&db, ann.id, "xray", "", false)
                .await
                .unwrap();
            let mut tx = db.begin().await.unwrap();
            let made = jobs::insert_many(&mut tx, project, &[NewJob::default(), NewJob::default()])
                .await
                .unwrap();
            let (first, second) = (made[0].id, made[1].id);
            let train = RunInput {
                dataset: Dataset {
                    name: "scans".into(),
                    digest: "abc123".into(),
                    source_type: "local".into(),
                    source: r#"{"uri": "/data/scans"}"#.into(),
                    schema: Some("{}".into()),
                    profile: None,
                },
                tags: vec![("mlflow.data.context".into(), "training".into())],
            };
            let eval = RunInput {
                dataset: Dataset {
                    digest: "def456".into(),
                    ..train.dataset.clone()
                },
                tags: Vec::new(),
            };
            log(&mut tx, project, first, &[train.clone(), eval.clone()])
                .await
                .unwrap();
            let retagged = RunInput {
                tags: vec![("mlflow.data.context".into(), "eval".into())],
                ..train.clone()
            };
            log(&mut tx, project, first, &[retagged]).await.unwrap();
            log(&mut tx, project, second, std::slice::from_ref(&train))
                .await
                .unwrap();
            tx.commit().await.unwrap();

            let inputs = of(&db, &[first, second]).await.unwrap();
            assert_eq!(
                inputs[&first],
                [train.clone(), eval],
                "logged again, left as it was"
            );
            assert_eq!(inputs[&second], [train]);
            let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM datasets")
                .fetch_one(db.pool())
                .await
                .unwrap();
            assert_eq!(kept, 2, "one row per name and digest in the project");
            let used = uses(&db, &[project], 1000).await.unwrap();
            let contexts: Vec<(&str, Option<&str>)> = used
                .iter()
                .map(|u| (u.digest.as_str(), u.context.as_deref()))
                .collect();
            assert_eq!(
                contexts,
                [("abc123", Some("training")), ("def456", None)],
                "each use once, whichever run"
            );
            assert_eq!(uses(&db, &[project], 1).await.unwrap().len(), 1);
        })
        .await;
    }
}
