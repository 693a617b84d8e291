//! Queries on `users` and `passwords`.

use super::cursor::SortKey;
use super::sql::{into_page, Order, Sql};
use super::{now_ms, Db, PageError};
use crate::model::{Filter, Page, SortDir, UserSort, UserSummary};

/// A user as the server sees it.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct User {
    /// Database id.
    pub id: i64,
    /// Login and URL name.
    pub name: String,
    /// Name shown to people.
    pub display_name: String,
    /// Milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// 1 for an instance admin, who may read and write everything.
    pub admin: i64,
}

impl User {
    /// Whether this is an instance admin.
    pub fn is_admin(&self) -> bool {
        self.admin != 0
    }
}

/// The columns of [`User`], from `users` aliased `u`.
pub(crate) const USER_COLUMNS: &str = "u.id, u.name, u.display_name, u.created_ms, u.admin";

impl From<User> for UserSummary {
    fn from(user: User) -> Self {
        Self {
            name: user.name,
            display_name: user.display_name,
            created_ms: user.created_ms,
        }
    }
}

/// Creates a user; fails with a unique violation if the name is taken.
pub async fn create(db: &Db, name: &str, display_name: &str) -> sqlx::Result<User> {
    create_at(db, name, display_name, now_ms()).await
}

/// Creates a user who signed up at `created_ms` (the demo backdates its users).
pub async fn create_at(
    db: &Db,
    name: &str,
    display_name: &str,
    created_ms: i64,
) -> sqlx::Result<User> {
    sqlx::query_as::<_, User>(
        "INSERT INTO users (name, display_name, created_ms) VALUES ($1, $2, $3)
         RETURNING id, name, display_name, created_ms, admin",
    )
    .bind(name)
    .bind(display_name)
    .bind(created_ms)
    .fetch_one(db.pool())
    .await
}

/// The user called `name`, if any.
pub async fn find_by_name(db: &Db, name: &str) -> sqlx::Result<Option<User>> {
    sqlx::query_as::<_, User>(&format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.name = $1"
    ))
    .bind(name)
    .fetch_optional(db.pool())
    .await
}

/// Makes `user` an instance admin, or an ordinary user again.
pub async fn set_admin(db: &Db, user: i64, admin: bool) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET admin = $1 WHERE id = $2")
        .bind(i64::from(admin))
        .bind(user)
        .execute(db.pool())
        .await
        .map(|_| ())
}

/// Whether the instance has any user yet (an empty database gets the demo with `serve --demo`).
pub async fn any(db: &Db) -> sqlx::Result<bool> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM users LIMIT 1")
        .fetch_optional(db.pool())
        .await?;
    Ok(found.is_some())
}

/// Stores (or replaces) the argon2 hash of a user's password.
pub async fn set_password_hash(db: &Db, user: i64, hash: &str) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO passwords (user_id, hash) VALUES ($1, $2)
         ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash",
    )
    .bind(user)
    .bind(hash)
    .execute(db.pool())
    .await
    .map(|_| ())
}

/// The user called `name` and their password hash, if both exist.
pub async fn with_password_hash(db: &Db, name: &str) -> sqlx::Result<Option<(User, String)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        user: User,
        hash: String,
    }
    let row = sqlx::query_as::<_, Row>(&format!(
        "SELECT {USER_COLUMNS}, p.hash FROM users u JOIN passwords p ON p.user_id = u.id
         WHERE u.name = $1"
    ))
    .bind(name)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|r| (r.user, r.hash)))
}

/// One page of the users column.
pub async fn page(
    db: &Db,
    sort: UserSort,
    dir: SortDir,
    filter: &Filter,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<UserSummary>, PageError> {
    let desc = dir == SortDir::Desc;
    let (name, key) = match sort {
        UserSort::Name => ("name", "u.name"),
        UserSort::Created => ("created", "u.created_ms"),
    };
    let order = Order {
        name: format!("{name}-{}", if desc { "desc" } else { "asc" }),
        key,
        id: "u.id",
        desc,
    };
    let mut sql = Sql::new(&format!("SELECT {USER_COLUMNS} FROM users u WHERE 1 = 1"));
    if let Some(text) = filter.text.as_deref().filter(|t| !t.is_empty()) {
        sql.contains("u.name || ' ' || u.display_name", text);
    }
    sql.keyset(&order, cursor, limit)?;
    let rows = sql.query_as::<User>().fetch_all(db.pool()).await?;
    Ok(into_page(
        rows,
        limit,
        &order,
        |u| cursor_key(sort, u),
        UserSummary::from,
    ))
}

fn cursor_key(sort: UserSort, user: &User) -> (SortKey, i64) {
    let key = match sort {
        UserSort::Name => SortKey::Text(user.name.clone()),
        UserSort::Created => SortKey::Int(user.created_ms),
    };
    (key, user.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::each_backend;

    #[tokio::test]
    async fn users_are_found_by_name_and_names_are_unique() {
        each_backend(|db| async move {
            let alice = create(&db, "alice", "Alice Liddell").await.unwrap();
            assert_eq!(find_by_name(&db, "alice").await.unwrap(), Some(alice));
            assert_eq!(find_by_name(&db, "bob").await.unwrap(), None);
            assert!(create(&db, "alice", "Another").await.is_err());
        })
        .await;
    }

    #[tokio::test]
    async fn the_users_filter_matches_names_case_insensitively_and_literally() {
        each_backend(|db| async move {
            for (name, display) in [
                ("ada", "Ada Lovelace"),
                ("grace", "Grace Hopper"),
                ("x_1", "X"),
            ] {
                create(&db, name, display).await.unwrap();
            }
            let find = |text: &str| {
                let filter = Filter {
                    text: Some(text.into()),
                    ..Filter::default()
                };
                let db = db.clone();
                async move {
                    let page = page(&db, UserSort::Name, SortDir::Asc, &filter, None, 10)
                        .await
                        .unwrap();
                    page.items.into_iter().map(|u| u.name).collect::<Vec<_>>()
                }
            };
            assert_eq!(find("HOPP").await, ["grace"]);
            assert_eq!(find("_").await, ["x_1"]);
            assert_eq!(find("%").await, Vec::<String>::new());
        })
        .await;
    }

    #[tokio::test]
    async fn walking_the_users_column_returns_everyone_once_in_order_for_every_sort() {
        each_backend(|db| async move {
            let mut all = Vec::new();
            for i in 0..53 {
                // Ties on created_ms, and names whose byte order differs from a locale's.
                let name = format!("{}{i}", ["Zed", "amy", "Bob", "x"][i % 4]);
                all.push(
                    create_at(&db, &name, "", 1_000 + (i as i64 % 5))
                        .await
                        .unwrap(),
                );
            }
            let mut late = 0;
            for sort in [UserSort::Name, UserSort::Created] {
                for dir in [SortDir::Asc, SortDir::Desc] {
                    let mut want: Vec<(String, i64, String)> = all
                        .iter()
                        .map(|u| match sort {
                            UserSort::Name => (u.name.clone(), u.id, u.name.clone()),
                            UserSort::Created => {
                                (format!("{:08}", u.created_ms), u.id, u.name.clone())
                            }
                        })
                        .collect();
                    want.sort();
                    if dir == SortDir::Desc {
                        want.reverse();
                    }
                    let mut seen = Vec::new();
                    let mut cursor: Option<String> = None;
                    loop {
                        let page = page(&db, sort, dir, &Filter::default(), cursor.as_deref(), 6)
                            .await
                            .unwrap();
                        seen.extend(page.items.into_iter().map(|u| u.name));
                        // A newcomer between pages must not disturb the walk.
                        late += 1;
                        create_at(&db, &format!("late{late}"), "", 999_999)
                            .await
                            .unwrap();
                        match page.next {
                            Some(next) => cursor = Some(next),
                            None => break,
                        }
                    }
                    seen.retain(|n| !n.starts_with("late"));
                    let want: Vec<String> = want.into_iter().map(|(_, _, name)| name).collect();
                    assert_eq!(seen, want, "{sort:?} {dir:?}");
                }
            }
        })
        .await;
    }
}
