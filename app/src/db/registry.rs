//! Queries on MLflow's model registry: registered models, their numbered versions, tags and
//! aliases. A registered model belongs to the project of its versions' runs (none until its
//! first version), which decides who reads and changes it. Every change the Models view shows
//! appends a `registry` event of that project.

use super::{Db, Tx};
use std::collections::HashMap;

/// A registered model as the store keeps it.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct RegisteredModel {
    /// Database id.
    pub id: i64,
    /// Its name, unique on the instance.
    pub name: String,
    /// The project it belongs to; `None` until its first version.
    pub project_id: Option<i64>,
    /// Who created it.
    pub creator_id: i64,
    /// That user's name.
    pub creator: String,
    /// What it is, as its users wrote it.
    pub description: String,
    /// When it was created, in ms.
    pub created_ms: i64,
    /// When it or one of its versions last changed, in ms.
    pub updated_ms: i64,
}

/// One version of a registered model.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct ModelVersion {
    /// Database id.
    pub id: i64,
    /// The registered model's id.
    pub model_id: i64,
    /// The registered model's name.
    pub name: String,
    /// Its number, from 1.
    pub version: i64,
    /// Where the client said the model came from.
    pub source: String,
    /// Where its files are.
    pub storage_location: String,
    /// The run that produced it, by global id, as the client gave it.
    pub run_uid: Option<String>,
    /// That run's database id, if it is a run of this server.
    pub run_job_id: Option<i64>,
    /// That run's number in its project.
    pub run_number: Option<i64>,
    /// That run's name.
    pub run_name: Option<String>,
    /// The logged model it registers, by global id.
    pub logged_model_uid: Option<String>,
    /// A link to the run, as the client gave it.
    pub run_link: String,
    /// What it is.
    pub description: String,
    /// MLflow's legacy stage: `None`, `Staging`, `Production` or `Archived`.
    pub stage: String,
    /// Who created it.
    pub creator: String,
    /// When it was created, in ms.
    pub created_ms: i64,
    /// When it last changed, in ms.
    pub updated_ms: i64,
}

/// A version about to be created.
pub struct NewVersion<'a> {
    /// Where the client said the model came from.
    pub source: &'a str,
    /// Where its files are.
    pub storage_location: &'a str,
    /// The run id as the client gave it, or empty.
    pub run_id: &'a str,
    /// The run of this server that produced it.
    pub job: Option<i64>,
    /// The logged model it registers.
    pub logged_model: Option<i64>,
    /// A link to the run.
    pub run_link: &'a str,
    /// What it is.
    pub description: &'a str,
    /// Who creates it.
    pub creator: i64,
    /// Its tags.
    pub tags: &'a [(String, String)],
}

/// The stage a new version has.
pub const NO_STAGE: &str = "None";
/// The stage `archive_existing_versions` moves versions to.
pub const ARCHIVED: &str = "Archived";

const MODEL_COLUMNS: &str = "r.id, r.name, r.project_id, r.creator_id, u.name AS creator,
     r.description, r.created_ms, r.updated_ms";
const MODEL_FROM: &str = "registered_models r JOIN users u ON u.id = r.creator_id";
const VERSION_COLUMNS: &str = "v.id, v.model_id, r.name, v.version, v.source, v.storage_location,
     NULLIF(v.run_id, '') AS run_uid, j.id AS run_job_id, j.number AS run_number, j.name AS run_name,
     l.uid AS logged_model_uid, v.run_link, v.description, v.stage,
     u.name AS creator, v.created_ms, v.updated_ms";
const VERSION_FROM: &str = "model_versions v JOIN registered_models r ON r.id = v.model_id
     JOIN users u ON u.id = v.creator_id LEFT JOIN jobs j ON j.id = v.job_id
     LEFT JOIN logged_models l ON l.id = v.logged_model_id";

/// Creates model `name` with its tags; `None` when the name is taken.
pub async fn create(
    tx: &mut Tx,
    name: &str,
    creator: i64,
    description: &str,
    tags: &[(String, String)],
) -> sqlx::Result<Option<i64>> {
    let now = super::now_ms();
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO registered_models (name, creator_id, description, created_ms, updated_ms)
         VALUES ($1, $2, $3, $4, $4) ON CONFLICT (name) DO NOTHING RETURNING id",
    )
    .bind(name)
    .bind(creator)
    .bind(description)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(id) = id {
        set_tags(tx, Tagged::Model, id, tags).await?;
    }
    Ok(id)
}

/// The model named `name`.
pub async fn find(db: &Db, name: &str) -> sqlx::Result<Option<RegisteredModel>> {
    sqlx::query_as(&format!(
        "SELECT {MODEL_COLUMNS} FROM {MODEL_FROM} WHERE r.name = $1"
    ))
    .bind(name)
    .fetch_optional(db.pool())
    .await
}

/// Which models without a project (without versions yet) a listing includes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unplaced {
    /// None of them.
    No,
    /// Those the user with this id created.
    MadeBy(i64),
    /// Every one.
    All,
}

/// The models of `projects`, and the `unplaced` ones, by name.
pub async fn visible(
    db: &Db,
    projects: &[i64],
    unplaced: Unplaced,
) -> sqlx::Result<Vec<RegisteredModel>> {
    // Ids are integers read from the database, so listing them inline is safe.
    let ids: Vec<String> = projects.iter().map(i64::to_string).collect();
    let placed = if ids.is_empty() {
        "FALSE".to_owned()
    } else {
        format!("r.project_id IN ({})", ids.join(", "))
    };
    let unplaced = match unplaced {
        Unplaced::No => "FALSE".to_owned(),
        Unplaced::MadeBy(user) => format!("r.project_id IS NULL AND r.creator_id = {user}"),
        Unplaced::All => "r.project_id IS NULL".to_owned(),
    };
    models_where(db, &format!("({placed}) OR ({unplaced})")).await
}

/// The models of project `project`, by name.
pub async fn of_project(db: &Db, project: i64) -> sqlx::Result<Vec<RegisteredModel>> {
    models_where(db, &format!("r.project_id = {project}")).await
}

async fn models_where(db: &Db, condition: &str) -> sqlx::Result<Vec<RegisteredModel>> {
    sqlx::query_as(&format!(
        "SELECT {MODEL_COLUMNS} FROM {MODEL_FROM} WHERE {condition} ORDER BY r.name"
    ))
    .fetch_all(db.pool())
    .await
}

/// Gives model `id` to `project` if it has none; answers the project it now belongs to.
pub async fn place(tx: &mut Tx, id: i64, project: i64) -> sqlx::Result<i64> {
    let placed = sqlx::query(
        "UPDATE registered_models SET project_id = $2 WHERE id = $1 AND project_id IS NULL",
    )
    .bind(id)
    .bind(project)
    .execute(&mut **tx)
    .await?;
    // Every version is placed on its way in: only the first placing shows anything new.
    if placed.rows_affected() == 1 {
        changed(tx, id).await?;
    }
    sqlx::query_scalar("SELECT project_id FROM registered_models WHERE id = $1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await
}

/// Tells the pages of model `id`'s project that the registry changed, in the writer's
/// transaction; a model no version placed yet is on no page.
async fn changed(tx: &mut Tx, id: i64) -> sqlx::Result<()> {
    let project: Option<Option<i64>> =
        sqlx::query_scalar("SELECT project_id FROM registered_models WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    if let Some(Some(project)) = project {
        let payload = serde_json::json!({ "model": id });
        super::events::append(tx, "registry", Some(project), None, &payload).await?;
    }
    Ok(())
}

/// Renames model `id`; false when `name` is taken.
pub async fn rename(db: &Db, id: i64, name: &str) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "UPDATE registered_models SET name = $2, updated_ms = $3
         WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM registered_models WHERE name = $2)",
    )
    .bind(id)
    .bind(name)
    .bind(super::now_ms())
    .execute(&mut *tx)
    .await;
    match done {
        Ok(done) if done.rows_affected() == 1 => {
            changed(&mut tx, id).await?;
            tx.commit().await?;
            Ok(true)
        }
        Ok(_) => Ok(false),
        // Two renames to one name at once: the unique index refuses the second.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e),
    }
}

/// Sets the description of model `id`.
pub async fn describe_model(db: &Db, id: i64, description: &str) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE registered_models SET description = $2, updated_ms = $3 WHERE id = $1")
        .bind(id)
        .bind(description)
        .bind(super::now_ms())
        .execute(&mut *tx)
        .await?;
    changed(&mut tx, id).await?;
    tx.commit().await
}

/// Deletes model `id` with its versions, tags and aliases; the files stay with their runs.
pub async fn delete(db: &Db, id: i64) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    // Told first, while the model still names its project.
    changed(&mut tx, id).await?;
    // Deleted child by child: SQLite enforces ON DELETE CASCADE only with foreign keys on.
    for sql in [
        "DELETE FROM registered_model_aliases WHERE model_id = $1",
        "DELETE FROM model_version_tags WHERE version_id IN
             (SELECT id FROM model_versions WHERE model_id = $1)",
        "DELETE FROM model_versions WHERE model_id = $1",
        "DELETE FROM registered_model_tags WHERE model_id = $1",
        "DELETE FROM registered_models WHERE id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut *tx).await?;
    }
    tx.commit().await
}

/// What a tag belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tagged {
    /// A registered model, by id.
    Model,
    /// A model version, by id.
    Version,
}

impl Tagged {
    fn table(self) -> (&'static str, &'static str) {
        match self {
            Tagged::Model => ("registered_model_tags", "model_id"),
            Tagged::Version => ("model_version_tags", "version_id"),
        }
    }
}

/// Sets tags of the model or version `id`, replacing old values.
pub async fn set_tags(
    tx: &mut Tx,
    what: Tagged,
    id: i64,
    tags: &[(String, String)],
) -> sqlx::Result<()> {
    let (table, owner) = what.table();
    for (key, value) in tags {
        sqlx::query(&format!(
            "INSERT INTO {table} ({owner}, key, value) VALUES ($1, $2, $3)
             ON CONFLICT ({owner}, key) DO UPDATE SET value = excluded.value"
        ))
        .bind(id)
        .bind(key)
        .bind(value)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Removes tag `key` of the model or version `id`; false if it had none.
pub async fn delete_tag(db: &Db, what: Tagged, id: i64, key: &str) -> sqlx::Result<bool> {
    let (table, owner) = what.table();
    let done = sqlx::query(&format!(
        "DELETE FROM {table} WHERE {owner} = $1 AND key = $2"
    ))
    .bind(id)
    .bind(key)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The tags of each of `ids` (models or versions), in key order.
pub async fn tags(
    db: &Db,
    what: Tagged,
    ids: &[i64],
) -> sqlx::Result<HashMap<i64, Vec<(String, String)>>> {
    let mut found: HashMap<i64, Vec<(String, String)>> = HashMap::new();
    let (table, owner) = what.table();
    for chunk in ids.chunks(1000) {
        let list: Vec<String> = chunk.iter().map(i64::to_string).collect();
        let rows = sqlx::query_as::<_, (i64, String, String)>(&format!(
            "SELECT {owner}, key, value FROM {table} WHERE {owner} IN ({}) ORDER BY {owner}, key",
            list.join(", ")
        ))
        .fetch_all(db.pool())
        .await?;
        for (id, key, value) in rows {
            found.entry(id).or_default().push((key, value));
        }
    }
    Ok(found)
}

/// Adds the next version of model `model`; answers it.
pub async fn create_version(
    tx: &mut Tx,
    model: i64,
    new: &NewVersion<'_>,
) -> sqlx::Result<ModelVersion> {
    let now = super::now_ms();
    // The counter row is locked by the update, so two versions made at once get two numbers.
    let version: i64 = sqlx::query_scalar(
        "UPDATE registered_models SET last_version = last_version + 1, updated_ms = $2
         WHERE id = $1 RETURNING last_version",
    )
    .bind(model)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO model_versions (model_id, version, source, storage_location, run_id, job_id,
             logged_model_id, run_link, description, stage, creator_id, created_ms, updated_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
    )
    .bind(model)
    .bind(version)
    .bind(new.source)
    .bind(new.storage_location)
    .bind(new.run_id)
    .bind(new.job)
    .bind(new.logged_model)
    .bind(new.run_link)
    .bind(new.description)
    .bind(NO_STAGE)
    .bind(new.creator)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    set_tags(tx, Tagged::Version, id, new.tags).await?;
    changed(tx, model).await?;
    sqlx::query_as(&format!(
        "SELECT {VERSION_COLUMNS} FROM {VERSION_FROM} WHERE v.id = $1"
    ))
    .bind(id)
    .fetch_one(&mut **tx)
    .await
}

/// Version `version` of model `model`.
pub async fn version(db: &Db, model: i64, version: i64) -> sqlx::Result<Option<ModelVersion>> {
    sqlx::query_as(&format!(
        "SELECT {VERSION_COLUMNS} FROM {VERSION_FROM} WHERE v.model_id = $1 AND v.version = $2"
    ))
    .bind(model)
    .bind(version)
    .fetch_optional(db.pool())
    .await
}

/// The versions of `models`, newest first within each.
pub async fn versions(db: &Db, models: &[i64]) -> sqlx::Result<Vec<ModelVersion>> {
    let mut found = Vec::new();
    for chunk in models.chunks(1000) {
        let list: Vec<String> = chunk.iter().map(i64::to_string).collect();
        found.extend(
            sqlx::query_as::<_, ModelVersion>(&format!(
                "SELECT {VERSION_COLUMNS} FROM {VERSION_FROM} WHERE v.model_id IN ({})
                 ORDER BY v.model_id, v.version DESC",
                list.join(", ")
            ))
            .fetch_all(db.pool())
            .await?,
        );
    }
    Ok(found)
}

/// Sets the description of version `id`.
pub async fn describe_version(db: &Db, id: i64, description: &str) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    let model: Option<i64> = sqlx::query_scalar(
        "UPDATE model_versions SET description = $2, updated_ms = $3 WHERE id = $1
         RETURNING model_id",
    )
    .bind(id)
    .bind(description)
    .bind(super::now_ms())
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(model) = model {
        changed(&mut tx, model).await?;
    }
    tx.commit().await
}

/// Moves version `id` of model `model` to `stage`; with `archive_others`, the model's other
/// versions in that stage move to `Archived`.
pub async fn set_stage(
    db: &Db,
    model: i64,
    id: i64,
    stage: &str,
    archive_others: bool,
) -> sqlx::Result<()> {
    let now = super::now_ms();
    let mut tx = db.begin().await?;
    if archive_others && stage != NO_STAGE && stage != ARCHIVED {
        sqlx::query(
            "UPDATE model_versions SET stage = $3, updated_ms = $4
             WHERE model_id = $1 AND id != $2 AND stage = $5",
        )
        .bind(model)
        .bind(id)
        .bind(ARCHIVED)
        .bind(now)
        .bind(stage)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("UPDATE model_versions SET stage = $2, updated_ms = $3 WHERE id = $1")
        .bind(id)
        .bind(stage)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    touch_model(&mut tx, model, now).await?;
    changed(&mut tx, model).await?;
    tx.commit().await
}

/// Marks model `id` changed at `now`: a version's stage, creation or deletion changes it.
async fn touch_model(tx: &mut Tx, id: i64, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE registered_models SET updated_ms = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// Deletes version `id` of model `model` with its tags and the aliases that name it; its number
/// is not reused.
pub async fn delete_version(db: &Db, model: i64, id: i64) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    for sql in [
        "DELETE FROM registered_model_aliases WHERE version_id = $1",
        "DELETE FROM model_version_tags WHERE version_id = $1",
        "DELETE FROM model_versions WHERE id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut *tx).await?;
    }
    touch_model(&mut tx, model, super::now_ms()).await?;
    changed(&mut tx, model).await?;
    tx.commit().await
}

/// Points `alias` of model `model` at version id `version`, wherever it pointed before.
pub async fn set_alias(tx: &mut Tx, model: i64, alias: &str, version: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO registered_model_aliases (model_id, alias, version_id) VALUES ($1, $2, $3)
         ON CONFLICT (model_id, alias) DO UPDATE SET version_id = excluded.version_id",
    )
    .bind(model)
    .bind(alias)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    changed(tx, model).await
}

/// Removes `alias` of model `model`; false if it had none.
pub async fn delete_alias(db: &Db, model: i64, alias: &str) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    let done =
        sqlx::query("DELETE FROM registered_model_aliases WHERE model_id = $1 AND alias = $2")
            .bind(model)
            .bind(alias)
            .execute(&mut *tx)
            .await?;
    changed(&mut tx, model).await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}

/// The aliases of each of `models`, as (alias, version number), in alias order.
pub async fn aliases(db: &Db, models: &[i64]) -> sqlx::Result<HashMap<i64, Vec<(String, i64)>>> {
    let mut found: HashMap<i64, Vec<(String, i64)>> = HashMap::new();
    for chunk in models.chunks(1000) {
        let list: Vec<String> = chunk.iter().map(i64::to_string).collect();
        let rows = sqlx::query_as::<_, (i64, String, i64)>(&format!(
            "SELECT a.model_id, a.alias, v.version FROM registered_model_aliases a
             JOIN model_versions v ON v.id = a.version_id
             WHERE a.model_id IN ({}) ORDER BY a.model_id, a.alias",
            list.join(", ")
        ))
        .fetch_all(db.pool())
        .await?;
        for (model, alias, version) in rows {
            found.entry(model).or_default().push((alias, version));
        }
    }
    Ok(found)
}

/// The aliases among a model's `aliases` (as [`aliases`] lists them) that name version `number`.
pub fn naming(aliases: &[(String, i64)], number: i64) -> Vec<String> {
    aliases
        .iter()
        .filter(|(_, named)| *named == number)
        .map(|(alias, _)| alias.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::jobs::{self, NewJob};
    use crate::db::{projects, testing::each_backend, users};

    fn new_version<'a>(job: i64, creator: i64, tags: &'a [(String, String)]) -> NewVersion<'a> {
        NewVersion {
            source: "runs:/r/model",
            storage_location: "runs:/r/model",
            run_id: "r",
            job: Some(job),
            logged_model: None,
            run_link: "",
            description: "",
            creator,
            tags,
        }
    }

    #[tokio::test]
    async fn versions_count_up_keep_their_numbers_and_take_aliases_tags_and_stages() {
        each_backend(|db| async move {
            let ann = users::create(&db, "ann", "Ann").await.unwrap();
            let project = projects::create(&db, ann.id, "xray", "", false)
                .await
                .unwrap();
            let mut tx = db.begin().await.unwrap();
            let job = jobs::insert_many(&mut tx, project, &[NewJob::default()])
                .await
                .unwrap()
                .remove(0);
            let team = [("team".to_owned(), "vision".to_owned())];
            let id = create(&mut tx, "churn", ann.id, "first", &team)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                create(&mut tx, "churn", ann.id, "", &[]).await.unwrap(),
                None,
                "a name is taken once"
            );
            assert_eq!(place(&mut tx, id, project).await.unwrap(), project);
            let one = create_version(&mut tx, id, &new_version(job.id, ann.id, &team))
                .await
                .unwrap();
            let two = create_version(&mut tx, id, &new_version(job.id, ann.id, &[]))
                .await
                .unwrap();
            tx.commit().await.unwrap();
            assert_eq!((one.version, two.version), (1, 2));
            // The run id is kept as given; the link is to the run of this server.
            assert_eq!(
                (one.run_uid.as_deref(), one.run_job_id),
                (Some("r"), Some(job.id))
            );
            assert_eq!((one.name.as_str(), one.stage.as_str()), ("churn", NO_STAGE));

            // Unplaced models show only to their creator; placed ones with their project.
            let found = visible(&db, &[project], Unplaced::MadeBy(ann.id))
                .await
                .unwrap();
            assert_eq!(found.len(), 1);
            assert_eq!(of_project(&db, project).await.unwrap(), found);
            assert_eq!(one.run_number, Some(job.number));
            assert_eq!(found[0].creator, "ann");
            assert!(visible(&db, &[], Unplaced::All).await.unwrap().is_empty());

            let mut tx = db.begin().await.unwrap();
            set_alias(&mut tx, id, "champion", one.id).await.unwrap();
            set_alias(&mut tx, id, "champion", two.id).await.unwrap();
            tx.commit().await.unwrap();
            assert_eq!(
                aliases(&db, &[id]).await.unwrap()[&id],
                [("champion".to_owned(), 2)]
            );
            set_stage(&db, id, one.id, "Production", false)
                .await
                .unwrap();
            set_stage(&db, id, two.id, "Production", true)
                .await
                .unwrap();
            let stages: Vec<(i64, String)> = versions(&db, &[id])
                .await
                .unwrap()
                .into_iter()
                .map(|v| (v.version, v.stage))
                .collect();
            assert_eq!(
                stages,
                [(2, "Production".to_owned()), (1, ARCHIVED.to_owned())]
            );

            // A deleted version takes its aliases with it and its number is not given again.
            let before = find(&db, "churn").await.unwrap().unwrap().updated_ms;
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            delete_version(&db, id, two.id).await.unwrap();
            assert!(find(&db, "churn").await.unwrap().unwrap().updated_ms > before);
            assert!(aliases(&db, &[id]).await.unwrap().is_empty());
            let mut tx = db.begin().await.unwrap();
            let three = create_version(&mut tx, id, &new_version(job.id, ann.id, &[]))
                .await
                .unwrap();
            tx.commit().await.unwrap();
            assert_eq!(three.version, 3);
            assert_eq!(
                tags(&db, Tagged::Version, &[one.id]).await.unwrap()[&one.id],
                team
            );
            assert!(delete_tag(&db, Tagged::Model, id, "team").await.unwrap());
            assert!(!delete_tag(&db, Tagged::Model, id, "team").await.unwrap());

            let mut tx = db.begin().await.unwrap();
            create(&mut tx, "other", ann.id, "", &[]).await.unwrap();
            tx.commit().await.unwrap();
            assert!(
                !rename(&db, id, "other").await.unwrap(),
                "the name is taken"
            );
            assert!(rename(&db, id, "churn-v2").await.unwrap());
            assert_eq!(find(&db, "churn-v2").await.unwrap().unwrap().id, id);
            delete(&db, id).await.unwrap();
            assert_eq!(find(&db, "churn-v2").await.unwrap(), None);
            assert_eq!(version(&db, id, 1).await.unwrap(), None);
        })
        .await;
    }

    #[tokio::test]
    async fn every_change_the_models_view_shows_is_an_event_of_the_models_project() {
        each_backend(|db| async move {
            let ann = users::create(&db, "ann", "Ann").await.unwrap();
            let project = projects::create(&db, ann.id, "xray", "", false)
                .await
                .unwrap();
            let mut conn = db.pool().acquire().await.unwrap();
            let registry_events = |events: Vec<crate::db::events::Event>| {
                events
                    .into_iter()
                    .filter(|e| e.kind == "registry")
                    .map(|e| e.project_id)
                    .collect::<Vec<_>>()
            };
            let mut tx = db.begin().await.unwrap();
            let job = jobs::insert_many(&mut tx, project, &[NewJob::default()])
                .await
                .unwrap()
                .remove(0);
            let id = create(&mut tx, "churn", ann.id, "", &[])
                .await
                .unwrap()
                .unwrap();
            tx.commit().await.unwrap();
            let start = crate::db::events::last_id(&mut conn).await.unwrap();
            // Not placed yet: on no page, so nothing to tell.
            describe_model(&db, id, "unplaced").await.unwrap();
            let seen = crate::db::events::after(&mut conn, start, 100)
                .await
                .unwrap();
            assert!(registry_events(seen).is_empty());

            let mut tx = db.begin().await.unwrap();
            place(&mut tx, id, project).await.unwrap();
            let one = create_version(&mut tx, id, &new_version(job.id, ann.id, &[]))
                .await
                .unwrap();
            set_alias(&mut tx, id, "champion", one.id).await.unwrap();
            tx.commit().await.unwrap();
            describe_model(&db, id, "placed").await.unwrap();
            describe_version(&db, one.id, "first").await.unwrap();
            set_stage(&db, id, one.id, "Staging", false).await.unwrap();
            assert!(delete_alias(&db, id, "champion").await.unwrap());
            assert!(rename(&db, id, "churn-v2").await.unwrap());
            delete_version(&db, id, one.id).await.unwrap();
            delete(&db, id).await.unwrap();
            let seen = crate::db::events::after(&mut conn, start, 100)
                .await
                .unwrap();
            assert_eq!(registry_events(seen), vec![Some(project); 10]);
        })
        .await;
    }
}
