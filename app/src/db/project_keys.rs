//! The parameter and metric keys used in each project, kept as they are first written, so the
//! table view's column chooser finds keys among thousands without reading every job.

use super::sql::{Arg, Sql};
use super::Db;
use sqlx::AnyConnection;

/// What a key names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// A job parameter.
    Param,
    /// A metric series.
    Metric,
}

impl KeyKind {
    fn word(self) -> &'static str {
        match self {
            Self::Param => "param",
            Self::Metric => "metric",
        }
    }
}

/// Records `keys` of `kind` as used in `project`; keys already known are left alone.
pub async fn add<K: AsRef<str>>(
    conn: &mut AnyConnection,
    project: i64,
    kind: KeyKind,
    keys: &[K],
) -> sqlx::Result<()> {
    // In statements of at most 1,000 keys: both engines cap the arguments of one statement.
    for chunk in keys.chunks(1_000) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("($1, $2, ${})", i + 3))
            .collect();
        let sql = format!(
            "INSERT INTO project_keys (project_id, kind, key) VALUES {} ON CONFLICT DO NOTHING",
            values.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(project).bind(kind.word());
        for key in chunk {
            query = query.bind(key.as_ref());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The first `limit` keys of `kind` in `project` containing `text` (case-insensitive), in key
/// order, and how many match in all.
pub async fn search(
    db: &Db,
    project: i64,
    kind: KeyKind,
    text: &str,
    limit: u32,
) -> sqlx::Result<(Vec<String>, i64)> {
    let filtered = |select: &str| {
        let mut sql = Sql::new(select);
        let p = sql.arg(Arg::Int(project));
        let k = sql.arg(Arg::Text(kind.word().to_owned()));
        sql.push(&format!(" WHERE project_id = {p} AND kind = {k}"));
        if !text.is_empty() {
            sql.contains("key", text);
        }
        sql
    };
    let mut page = filtered("SELECT key FROM project_keys");
    let l = page.arg(Arg::Int(i64::from(limit)));
    page.push(&format!(" ORDER BY key LIMIT {l}"));
    let keys: Vec<(String,)> = page.query_as().fetch_all(db.pool()).await?;
    let count: (i64,) = filtered("SELECT COUNT(*) FROM project_keys")
        .query_as()
        .fetch_one(db.pool())
        .await?;
    Ok((keys.into_iter().map(|(k,)| k).collect(), count.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::each_backend;

    #[tokio::test]
    async fn keys_are_recorded_once_and_searched_by_substring() {
        each_backend(|db| async move {
            let project = crate::db::testing::project(&db, "keys").await;
            let mut tx = db.begin().await.unwrap();
            add(
                &mut tx,
                project,
                KeyKind::Metric,
                &["train/loss", "val/loss", "acc"],
            )
            .await
            .unwrap();
            add(&mut tx, project, KeyKind::Metric, &["acc", "lr_scale"])
                .await
                .unwrap();
            add(&mut tx, project, KeyKind::Param, &["lr"])
                .await
                .unwrap();
            tx.commit().await.unwrap();
            let (keys, count) = search(&db, project, KeyKind::Metric, "LOSS", 10)
                .await
                .unwrap();
            assert_eq!(
                (keys, count),
                (vec!["train/loss".into(), "val/loss".into()], 2)
            );
            let (keys, count) = search(&db, project, KeyKind::Metric, "", 2).await.unwrap();
            assert_eq!((keys.len(), count), (2, 4));
            let (keys, _) = search(&db, project, KeyKind::Param, "", 10).await.unwrap();
            assert_eq!(keys, vec!["lr".to_owned()], "kinds are kept apart");
            let (keys, count) = search(&db, project, KeyKind::Metric, "_", 10)
                .await
                .unwrap();
            assert_eq!(
                (keys, count),
                (vec!["lr_scale".to_owned()], 1),
                "_ is literal"
            );
        })
        .await;
    }
}
