//! Queries on `project_tags`: MLflow's experiment tags, free key-value pairs on a project.

use super::Db;
use std::collections::HashMap;

/// Sets tag `key` of `project` to `value`, replacing its old value.
pub async fn set(db: &Db, project: i64, key: &str, value: &str) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO project_tags (project_id, key, value) VALUES ($1, $2, $3)
         ON CONFLICT (project_id, key) DO UPDATE SET value = excluded.value",
    )
    .bind(project)
    .bind(key)
    .bind(value)
    .execute(db.pool())
    .await
    .map(|_| ())
}

/// Removes tag `key` of `project`; false if it had none.
pub async fn delete(db: &Db, project: i64, key: &str) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM project_tags WHERE project_id = $1 AND key = $2")
        .bind(project)
        .bind(key)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The tags of each of `projects` that has any, by key; one query for a whole search.
pub async fn of(db: &Db, projects: &[i64]) -> sqlx::Result<HashMap<i64, Vec<(String, String)>>> {
    let mut found: HashMap<i64, Vec<(String, String)>> = HashMap::new();
    // Bound in chunks: SQLite takes at most 32,766 parameters a statement.
    for chunk in projects.chunks(1000) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT project_id, key, value FROM project_tags WHERE project_id IN ({})
             ORDER BY project_id, key",
            marks.join(", ")
        );
        let mut query = sqlx::query_as::<_, (i64, String, String)>(&sql);
        for id in chunk {
            query = query.bind(id);
        }
        for (project, key, value) in query.fetch_all(db.pool()).await? {
            found.entry(project).or_default().push((key, value));
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{projects, testing::each_backend, users};

    #[tokio::test]
    async fn tags_are_set_replaced_read_per_project_and_deleted() {
        each_backend(|db| async move {
            let ann = users::create(&db, "ann", "Ann").await.unwrap();
            let xray = projects::create(&db, ann.id, "xray", "", false)
                .await
                .unwrap();
            let audio = projects::create(&db, ann.id, "audio", "", false)
                .await
                .unwrap();
            set(&db, xray, "team", "vision").await.unwrap();
            set(&db, xray, "stage", "draft").await.unwrap();
            set(&db, xray, "stage", "final").await.unwrap();
            let tags = of(&db, &[xray, audio]).await.unwrap();
            assert_eq!(
                tags[&xray],
                [
                    ("stage".into(), "final".into()),
                    ("team".into(), "vision".into())
                ]
            );
            assert!(!tags.contains_key(&audio));
            assert!(delete(&db, xray, "team").await.unwrap());
            assert!(!delete(&db, xray, "team").await.unwrap());
            assert_eq!(of(&db, &[xray]).await.unwrap()[&xray].len(), 1);
        })
        .await;
    }
}
