//! The Models view's logic on the server: the registry's models of a project, with each
//! version's aliases and its job's latest metrics, read in a fixed number of queries.

use crate::db::{metrics, registry, Db};
use crate::error::AppError;
use crate::registry::server_fns::{JobLink, RegisteredModelView, VersionView};
use std::collections::HashMap;

/// Most metrics shown per version: the rest are a click away in the job's metrics tab.
const MAX_METRICS: usize = 8;

/// The registered models of `project`, by name, versions newest first.
pub async fn models_of(db: &Db, project: i64) -> Result<Vec<RegisteredModelView>, AppError> {
    let models = registry::of_project(db, project).await?;
    let ids: Vec<i64> = models.iter().map(|m| m.id).collect();
    let versions = registry::versions(db, &ids).await?;
    let aliases = registry::aliases(db, &ids).await?;
    let jobs: Vec<i64> = versions.iter().filter_map(|v| v.run_job_id).collect();
    let summaries = metrics::summaries_of_jobs(db, &jobs).await?;
    let mut by_model: HashMap<i64, Vec<VersionView>> = HashMap::new();
    for version in versions {
        let named = aliases
            .get(&version.model_id)
            .map_or(&[][..], Vec::as_slice);
        let metrics = version
            .run_job_id
            .and_then(|job| summaries.get(&job))
            .map(|list| {
                list.iter()
                    .filter_map(|s| s.last.map(|value| (s.key.clone(), value)))
                    .take(MAX_METRICS)
                    .collect()
            })
            .unwrap_or_default();
        let job = match (version.run_number, version.run_name) {
            (Some(number), Some(name)) => Some(JobLink { number, name }),
            _ => None,
        };
        by_model
            .entry(version.model_id)
            .or_default()
            .push(VersionView {
                version: version.version,
                stage: version.stage,
                aliases: registry::naming(named, version.version),
                job,
                metrics,
                creator: version.creator,
                created_ms: version.created_ms,
                description: version.description,
            });
    }
    Ok(models
        .into_iter()
        .map(|model| RegisteredModelView {
            versions: by_model.remove(&model.id).unwrap_or_default(),
            name: model.name,
            description: model.description,
            updated_ms: model.updated_ms,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::jobs::{self, NewJob};
    use crate::db::metrics::Point;
    use crate::db::registry::NewVersion;
    use crate::db::{projects, testing::each_backend, users};

    #[tokio::test]
    async fn a_projects_models_show_their_versions_aliases_jobs_and_metrics() {
        each_backend(|db| async move {
            let ann = users::create(&db, "ann", "Ann").await.unwrap();
            let xray = projects::create(&db, ann.id, "xray", "", false)
                .await
                .unwrap();
            let other = projects::create(&db, ann.id, "other", "", false)
                .await
                .unwrap();
            let mut tx = db.begin().await.unwrap();
            let new = NewJob {
                name: "train".into(),
                ..NewJob::default()
            };
            let job = jobs::insert_many(&mut tx, xray, &[new])
                .await
                .unwrap()
                .remove(0);
            let point = Point {
                step: 1,
                wall_ms: 5,
                value: 0.25,
            };
            metrics::append_keyed(&mut tx, xray, job.id, &[("loss", point)])
                .await
                .unwrap();
            let mut made = Vec::new();
            for (name, project) in [("churn", xray), ("elsewhere", other)] {
                let id = registry::create(&mut tx, name, ann.id, "weekly", &[])
                    .await
                    .unwrap()
                    .unwrap();
                registry::place(&mut tx, id, project).await.unwrap();
                made.push(id);
            }
            let version = NewVersion {
                source: "runs:/r/model",
                storage_location: "x",
                run_id: "",
                job: Some(job.id),
                logged_model: None,
                run_link: "",
                description: "",
                creator: ann.id,
                tags: &[],
            };
            registry::create_version(&mut tx, made[0], &version)
                .await
                .unwrap();
            let two = registry::create_version(&mut tx, made[0], &version)
                .await
                .unwrap();
            registry::set_alias(&mut tx, made[0], "champion", two.id)
                .await
                .unwrap();
            tx.commit().await.unwrap();

            let shown = models_of(&db, xray).await.unwrap();
            assert_eq!(shown.len(), 1, "only the project's models");
            let churn = &shown[0];
            assert_eq!(
                (churn.name.as_str(), churn.description.as_str()),
                ("churn", "weekly")
            );
            let versions: Vec<(i64, Vec<String>)> = churn
                .versions
                .iter()
                .map(|v| (v.version, v.aliases.clone()))
                .collect();
            assert_eq!(versions, [(2, vec!["champion".to_owned()]), (1, vec![])]);
            assert_eq!(
                churn.versions[0].job,
                Some(JobLink {
                    number: job.number,
                    name: "train".into()
                })
            );
            assert_eq!(churn.versions[0].metrics, [("loss".to_owned(), 0.25)]);
        })
        .await;
    }
}
