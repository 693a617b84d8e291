//! Queries on `projects` and `project_members`.

use super::cursor::SortKey;
use super::sql::{into_page, Arg, Order, Sql};
use super::users::{User, USER_COLUMNS};
use super::{now_ms, Db, PageError};
use crate::model::{Filter, Name, Page, ProjectSort, ProjectSummary, SortDir};
use sqlx::AnyConnection;

/// A project as the server sees it.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Project {
    /// Database id.
    pub id: i64,
    /// The owner's user id.
    pub owner_id: i64,
    /// The owner's name.
    pub owner: String,
    /// Unique for its owner.
    pub name: String,
    /// The name as given where it is not a valid project name (an MLflow experiment called
    /// `xray segmentation v2`, named by its slug); empty when it is `name`.
    pub title: String,
    /// Free text.
    pub description: String,
    /// 1 when only the owner and members may see it.
    pub private: i64,
    /// How many jobs it holds.
    pub job_count: i64,
    /// Milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// Last activity.
    pub updated_ms: i64,
    /// 1 when archived (an MLflow "deleted" experiment).
    pub archived: i64,
    /// What its jobs cost in all, USD, with the idle time of pool machines they ran on.
    pub cost_usd: f64,
    /// The part of `cost_usd` that is pool machines' idle time.
    pub idle_cost_usd: f64,
}

impl Project {
    /// The name people know it by: its title if it has one, else its name.
    pub fn shown_name(&self) -> &str {
        if self.title.is_empty() {
            &self.name
        } else {
            &self.title
        }
    }
}

impl From<Project> for ProjectSummary {
    fn from(p: Project) -> Self {
        Self {
            owner: p.owner,
            name: p.name,
            title: p.title,
            description: p.description,
            private: p.private != 0,
            job_count: p.job_count,
            created_ms: p.created_ms,
            updated_ms: p.updated_ms,
            cost_usd: p.cost_usd,
            idle_cost_usd: p.idle_cost_usd,
        }
    }
}

const COLUMNS: &str = "p.id, p.owner_id, u.name AS owner, p.name, p.title, p.description, \
                       p.private, p.archived, p.job_count, p.created_ms, p.updated_ms, p.cost_usd, \
                       p.idle_cost_usd";

/// Who may see a project: everyone, unless it is private; then its owner, its members and the
/// instance's admins.
const VISIBLE_TO: &str = "(p.private = 0 OR p.owner_id = {v} OR EXISTS \
     (SELECT 1 FROM project_members m WHERE m.project_id = p.id AND m.user_id = {v}) OR EXISTS \
     (SELECT 1 FROM users a WHERE a.id = {v} AND a.admin = 1))";

/// Creates a project for `owner`; fails with a unique violation if the owner has one of that name.
pub async fn create(
    db: &Db,
    owner: i64,
    name: &str,
    description: &str,
    private: bool,
) -> sqlx::Result<i64> {
    let mut conn = db.pool().acquire().await?;
    let row = NewRow {
        name,
        title: "",
        description,
        private,
    };
    create_at(&mut conn, owner, &row, now_ms()).await
}

/// Creates a public project for `owner` named `name` and shown as `title` (an MLflow
/// experiment with a free-text name); fails with a unique violation as [`create`] does.
pub async fn create_titled(db: &Db, owner: i64, name: &str, title: &str) -> sqlx::Result<i64> {
    let mut conn = db.pool().acquire().await?;
    let row = NewRow {
        name,
        title,
        description: "",
        private: false,
    };
    create_at(&mut conn, owner, &row, now_ms()).await
}

/// What a new project row holds.
#[derive(Clone, Copy, Debug, Default)]
pub struct NewRow<'a> {
    /// Its name, unique for its owner.
    pub name: &'a str,
    /// What it is shown as, if not its name (see [`Project::title`]).
    pub title: &'a str,
    /// Free text.
    pub description: &'a str,
    /// Seen only by its owner, members and admins.
    pub private: bool,
}

/// Creates a project made at `created_ms`, on `conn` (the demo backdates its projects and
/// writes them inside its own transaction).
pub async fn create_at(
    conn: &mut AnyConnection,
    owner: i64,
    row: &NewRow<'_>,
    created_ms: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO projects (owner_id, name, title, description, private, created_ms,
         updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
    )
    .bind(owner)
    .bind(row.name)
    .bind(row.title)
    .bind(row.description)
    .bind(i64::from(row.private))
    .bind(created_ms)
    .fetch_one(conn)
    .await
}

/// Archives a project (MLflow's experiment delete) or brings it back.
pub async fn set_archived(db: &Db, project: i64, archived: bool) -> sqlx::Result<()> {
    sqlx::query("UPDATE projects SET archived = $1 WHERE id = $2")
        .bind(i64::from(archived))
        .bind(project)
        .execute(db.pool())
        .await
        .map(|_| ())
}

/// Renames a project, with the `title` it is shown by (empty: its name); fails with a unique
/// violation if the owner has one of that name.
pub async fn rename(db: &Db, project: i64, name: &str, title: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE projects SET name = $1, title = $2 WHERE id = $3")
        .bind(name)
        .bind(title)
        .bind(project)
        .execute(db.pool())
        .await
        .map(|_| ())
}

/// The project `owner` knows as `shown` (its title, or its name when it has none), if it
/// exists and `viewer` may see it: how MLflow finds an experiment by name.
pub async fn find_visible_by_shown_name(
    db: &Db,
    viewer: i64,
    owner: &str,
    shown: &str,
) -> sqlx::Result<Option<Project>> {
    let mut sql = Sql::new(&format!(
        "SELECT {COLUMNS} FROM projects p JOIN users u ON u.id = p.owner_id WHERE u.name = "
    ));
    let owner = sql.arg(Arg::Text(owner.to_owned()));
    let shown = sql.arg(Arg::Text(shown.to_owned()));
    sql.push(&format!(
        "{owner} AND (p.title = {shown} OR (p.title = '' AND p.name = {shown})) AND "
    ));
    visible_to(&mut sql, viewer);
    sql.query_as::<Project>().fetch_optional(db.pool()).await
}

/// The first of `base`, `base-2`, `base-3`, ... that none of `owner`'s projects is named
/// (the slug [`Name::slug`] makes of `text`).
pub async fn free_name(db: &Db, owner: i64, text: &str) -> sqlx::Result<Name> {
    let mut suffix = None;
    loop {
        let name = Name::slug(text, suffix);
        let taken: Option<i64> =
            sqlx::query_scalar("SELECT id FROM projects WHERE owner_id = $1 AND name = $2")
                .bind(owner)
                .bind(name.as_str())
                .fetch_optional(db.pool())
                .await?;
        if taken.is_none() {
            return Ok(name);
        }
        suffix = Some(suffix.map_or(2, |n| n + 1));
    }
}

/// Every project `viewer` may see, by id: what an experiment search filters.
pub async fn all_visible(db: &Db, viewer: i64) -> sqlx::Result<Vec<Project>> {
    let mut sql = Sql::new(&format!(
        "SELECT {COLUMNS} FROM projects p JOIN users u ON u.id = p.owner_id WHERE "
    ));
    visible_to(&mut sql, viewer);
    sql.push(" ORDER BY p.id");
    sql.query_as::<Project>().fetch_all(db.pool()).await
}

/// Makes `user` a member of `project`: they read and write it, private or not.
pub async fn add_member(db: &Db, project: i64, user: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO project_members (project_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(project)
    .bind(user)
    .execute(db.pool())
    .await
    .map(|_| ())
}

/// Ends `user`'s membership of `project`; false if they were not a member.
pub async fn remove_member(db: &Db, project: i64, user: i64) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM project_members WHERE project_id = $1 AND user_id = $2")
        .bind(project)
        .bind(user)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether `user` is a member of `project`.
pub async fn is_member(db: &Db, project: i64, user: i64) -> sqlx::Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT user_id FROM project_members WHERE project_id = $1 AND user_id = $2",
    )
    .bind(project)
    .bind(user)
    .fetch_optional(db.pool())
    .await?;
    Ok(found.is_some())
}

/// The members of `project`, by name.
pub async fn members(db: &Db, project: i64) -> sqlx::Result<Vec<User>> {
    sqlx::query_as::<_, User>(&format!(
        "SELECT {USER_COLUMNS} FROM project_members m JOIN users u ON u.id = m.user_id
         WHERE m.project_id = $1 ORDER BY u.name"
    ))
    .bind(project)
    .fetch_all(db.pool())
    .await
}

/// The project `owner/name`, if it exists and `viewer` may see it.
pub async fn find_visible(
    db: &Db,
    viewer: i64,
    owner: &str,
    name: &str,
) -> sqlx::Result<Option<Project>> {
    let mut sql = Sql::new(&format!(
        "SELECT {COLUMNS} FROM projects p JOIN users u ON u.id = p.owner_id WHERE u.name = "
    ));
    let owner = sql.arg(Arg::Text(owner.to_owned()));
    let name = sql.arg(Arg::Text(name.to_owned()));
    sql.push(&format!("{owner} AND p.name = {name} AND "));
    visible_to(&mut sql, viewer);
    sql.query_as::<Project>().fetch_optional(db.pool()).await
}

/// The project with id `id`, if `viewer` may see it.
pub async fn find_visible_by_id(db: &Db, viewer: i64, id: i64) -> sqlx::Result<Option<Project>> {
    let mut sql = Sql::new(&format!(
        "SELECT {COLUMNS} FROM projects p JOIN users u ON u.id = p.owner_id WHERE p.id = "
    ));
    let id = sql.arg(Arg::Int(id));
    sql.push(&format!("{id} AND "));
    visible_to(&mut sql, viewer);
    sql.query_as::<Project>().fetch_optional(db.pool()).await
}

/// One page of `owner`'s projects that `viewer` may see.
pub async fn page_for_owner(
    db: &Db,
    viewer: i64,
    owner: i64,
    sort: ProjectSort,
    dir: SortDir,
    filter: &Filter,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<ProjectSummary>, PageError> {
    let desc = dir == SortDir::Desc;
    let (name, key) = match sort {
        ProjectSort::Name => ("name", "p.name"),
        ProjectSort::Created => ("created", "p.created_ms"),
        ProjectSort::Updated => ("updated", "p.updated_ms"),
    };
    let order = Order {
        name: format!("{name}-{}", if desc { "desc" } else { "asc" }),
        key,
        id: "p.id",
        desc,
    };
    let mut sql = Sql::new(&format!(
        "SELECT {COLUMNS} FROM projects p JOIN users u ON u.id = p.owner_id WHERE p.owner_id = "
    ));
    let owner = sql.arg(Arg::Int(owner));
    sql.push(&format!(
        "{owner} AND p.archived = {} AND ",
        i64::from(filter.archived)
    ));
    visible_to(&mut sql, viewer);
    if let Some(text) = filter.text.as_deref().filter(|t| !t.is_empty()) {
        // A free-text title is what people remember, so the filter reads it beside the name.
        sql.contains("(p.name || ' ' || p.title)", text);
    }
    sql.keyset(&order, cursor, limit)?;
    let rows = sql.query_as::<Project>().fetch_all(db.pool()).await?;
    Ok(into_page(
        rows,
        limit,
        &order,
        |p| cursor_key(sort, p),
        ProjectSummary::from,
    ))
}

/// Appends the condition that `viewer` may see project `p`.
pub(crate) fn visible_to(sql: &mut Sql, viewer: i64) {
    let v = sql.arg(Arg::Int(viewer));
    sql.push(&VISIBLE_TO.replace("{v}", &v));
}

fn cursor_key(sort: ProjectSort, p: &Project) -> (SortKey, i64) {
    let key = match sort {
        ProjectSort::Name => SortKey::Text(p.name.clone()),
        ProjectSort::Created => SortKey::Int(p.created_ms),
        ProjectSort::Updated => SortKey::Int(p.updated_ms),
    };
    (key, p.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{testing::each_backend, users};

    #[tokio::test]
    async fn projects_are_found_by_the_name_they_are_shown_by() {
        each_backend(|db| async move {
            let ann = users::create(&db, "ann", "Ann").await.unwrap();
            let given = "xray segmentation v2";
            let slug = free_name(&db, ann.id, given).await.unwrap();
            assert_eq!(slug.as_str(), "xray-segmentation-v2");
            let titled = create_titled(&db, ann.id, slug.as_str(), given)
                .await
                .unwrap();
            let plain = create(&db, ann.id, "audio", "", false).await.unwrap();
            let found = |shown: &'static str| {
                let db = db.clone();
                async move {
                    find_visible_by_shown_name(&db, ann.id, "ann", shown)
                        .await
                        .unwrap()
                        .map(|p| (p.id, p.shown_name().to_owned()))
                }
            };
            assert_eq!(found(given).await, Some((titled, given.to_owned())));
            assert_eq!(found("audio").await, Some((plain, "audio".to_owned())));
            assert_eq!(
                found("xray-segmentation-v2").await,
                None,
                "shown by its title"
            );
            assert_eq!(
                free_name(&db, ann.id, "xray segmentation v2!")
                    .await
                    .unwrap()
                    .as_str(),
                "xray-segmentation-v2-2"
            );
            let filter = Filter {
                text: Some("SEGMENTATION v2".into()),
                ..Filter::default()
            };
            let sort = (ProjectSort::Name, SortDir::Asc);
            let page = page_for_owner(&db, ann.id, ann.id, sort.0, sort.1, &filter, None, 10)
                .await
                .unwrap();
            let names: Vec<String> = page.items.into_iter().map(|p| p.name).collect();
            assert_eq!(
                names,
                ["xray-segmentation-v2"],
                "the filter reads titles too"
            );
            rename(&db, titled, "xray", "").await.unwrap();
            assert_eq!(found("xray").await.map(|p| p.0), Some(titled));
        })
        .await;
    }

    #[tokio::test]
    async fn private_projects_are_seen_only_by_owner_and_members() {
        each_backend(|db| async move {
            let ann = users::create(&db, "ann", "Ann").await.unwrap();
            let ben = users::create(&db, "ben", "Ben").await.unwrap();
            let cat = users::create(&db, "cat", "Cat").await.unwrap();
            create(&db, ann.id, "open", "", false).await.unwrap();
            let secret = create(&db, ann.id, "secret", "", true).await.unwrap();
            add_member(&db, secret, cat.id).await.unwrap();

            let names = |viewer: i64| {
                let db = db.clone();
                async move {
                    let filter = Filter::default();
                    let page = page_for_owner(
                        &db,
                        viewer,
                        ann.id,
                        ProjectSort::Name,
                        SortDir::Asc,
                        &filter,
                        None,
                        10,
                    )
                    .await
                    .unwrap();
                    page.items.into_iter().map(|p| p.name).collect::<Vec<_>>()
                }
            };
            assert_eq!(names(ann.id).await, ["open", "secret"]);
            assert_eq!(names(ben.id).await, ["open"]);
            assert_eq!(names(cat.id).await, ["open", "secret"]);
            assert!(find_visible(&db, ben.id, "ann", "secret")
                .await
                .unwrap()
                .is_none());
            assert_eq!(
                find_visible(&db, cat.id, "ann", "secret")
                    .await
                    .unwrap()
                    .unwrap()
                    .id,
                secret
            );

            let dan = users::create(&db, "dan", "Dan").await.unwrap();
            users::set_admin(&db, dan.id, true).await.unwrap();
            assert_eq!(names(dan.id).await, ["open", "secret"], "admins see all");
            assert_eq!(
                members(&db, secret).await.unwrap(),
                [users::find_by_name(&db, "cat").await.unwrap().unwrap()]
            );
            assert!(is_member(&db, secret, cat.id).await.unwrap());
            assert!(remove_member(&db, secret, cat.id).await.unwrap());
            assert!(!remove_member(&db, secret, cat.id).await.unwrap());
            assert!(!is_member(&db, secret, cat.id).await.unwrap());
            assert_eq!(
                names(cat.id).await,
                ["open"],
                "a former member no longer sees it"
            );
        })
        .await;
    }

    #[tokio::test]
    async fn project_names_are_unique_per_owner_only() {
        each_backend(|db| async move {
            let ann = users::create(&db, "ann", "Ann").await.unwrap();
            let ben = users::create(&db, "ben", "Ben").await.unwrap();
            create(&db, ann.id, "xray", "", false).await.unwrap();
            create(&db, ben.id, "xray", "", false).await.unwrap();
            assert!(create(&db, ann.id, "xray", "", false).await.is_err());
        })
        .await;
    }

    #[tokio::test]
    async fn walking_a_users_projects_returns_each_once_in_order_for_every_sort() {
        each_backend(|db| async move {
            let ann = users::create(&db, "ann", "Ann").await.unwrap();
            let mut conn = db.pool().acquire().await.unwrap();
            let mut made = Vec::new();
            for i in 0..31_i64 {
                let name = format!("{}-{i}", ["xray", "Beta", "alpha"][i as usize % 3]);
                let row = NewRow {
                    name: &name,
                    ..NewRow::default()
                };
                let id = create_at(&mut conn, ann.id, &row, 5_000 + i % 4)
                    .await
                    .unwrap();
                made.push((id, name, 5_000 + i % 4));
            }
            drop(conn);
            for sort in [
                ProjectSort::Name,
                ProjectSort::Created,
                ProjectSort::Updated,
            ] {
                for dir in [SortDir::Asc, SortDir::Desc] {
                    let mut want: Vec<(String, i64, String)> = made
                        .iter()
                        .map(|(id, name, ms)| match sort {
                            ProjectSort::Name => (name.clone(), *id, name.clone()),
                            _ => (format!("{ms:08}"), *id, name.clone()),
                        })
                        .collect();
                    want.sort();
                    if dir == SortDir::Desc {
                        want.reverse();
                    }
                    let mut seen = Vec::new();
                    let mut cursor: Option<String> = None;
                    loop {
                        let page = page_for_owner(
                            &db,
                            ann.id,
                            ann.id,
                            sort,
                            dir,
                            &Filter::default(),
                            cursor.as_deref(),
                            4,
                        )
                        .await
                        .unwrap();
                        seen.extend(page.items.into_iter().map(|p| p.name));
                        match page.next {
                            Some(next) => cursor = Some(next),
                            None => break,
                        }
                    }
                    let want: Vec<String> = want.into_iter().map(|(_, _, name)| name).collect();
                    assert_eq!(seen, want, "{sort:?} {dir:?}");
                }
            }
        })
        .await;
    }
}
