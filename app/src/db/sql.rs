//! A small builder for the queries whose shape depends on sort and filter: text plus numbered binds.

use super::cursor::{after_op, order_word, BadCursor, Cursor, SortKey};
use crate::model::Page;
use sqlx::any::AnyArguments;
use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::Any;

/// A value bound to a `$N` placeholder.
#[derive(Clone, Debug)]
pub enum Arg {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// Text.
    Text(String),
}

impl From<SortKey> for Arg {
    fn from(key: SortKey) -> Self {
        match key {
            SortKey::Int(v) => Arg::Int(v),
            SortKey::Float(v) => Arg::Float(v),
            SortKey::Text(v) => Arg::Text(v),
        }
    }
}

/// SQL text being assembled, with its arguments in placeholder order.
#[derive(Debug, Default)]
pub struct Sql {
    text: String,
    args: Vec<Arg>,
}

impl Sql {
    /// Starts with fixed text.
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            args: Vec::new(),
        }
    }

    /// Appends fixed text (never user input).
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Adds an argument and returns its placeholder, `$N`.
    pub fn arg(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    /// Adds `AND lower(column) LIKE '%text%'`, case-insensitive, with `%` and `_` taken literally.
    pub fn contains(&mut self, column: &str, text: &str) {
        let escaped = text
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let p = self.arg(Arg::Text(format!("%{escaped}%")));
        self.push(&format!(" AND lower({column}) LIKE {p} ESCAPE '\\'"));
    }

    /// Adds the keyset condition after `cursor` and the `ORDER BY ... LIMIT` of one page of
    /// `limit` rows plus one, which tells whether another page follows.
    pub fn keyset(
        &mut self,
        order: &Order,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<(), BadCursor> {
        if let Some(text) = cursor {
            let cursor = Cursor::decode(text, &order.name)?;
            let key = self.arg(cursor.key.into());
            let id = self.arg(Arg::Int(cursor.id));
            let op = after_op(order.desc);
            self.push(&format!(
                " AND ({}, {}) {op} ({key}, {id})",
                order.key, order.id
            ));
        }
        let dir = order_word(order.desc);
        let limit = self.arg(Arg::Int(i64::from(limit) + 1));
        self.push(&format!(
            " ORDER BY {} {dir}, {} {dir} LIMIT {limit}",
            order.key, order.id
        ));
        Ok(())
    }

    /// The query, ready to run, decoding rows as `O`.
    pub fn query_as<O>(&self) -> QueryAs<'_, Any, O, AnyArguments<'_>>
    where
        O: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        let mut query = sqlx::query_as::<_, O>(&self.text);
        for arg in &self.args {
            query = match arg {
                Arg::Int(v) => query.bind(*v),
                Arg::Float(v) => query.bind(*v),
                Arg::Text(v) => query.bind(v.as_str()),
            };
        }
        query
    }
}

/// For a statement that binds an `Option<f64>`: keeps calls with a null out of the statement
/// cache, so PostgreSQL reads its values right whichever came first, a null or a number.
///
/// sqlx 0.8's Any driver declares a null `f64` to PostgreSQL as a 4-byte float (sqlx#4290, fixed
/// in sqlx 0.9), and a cached statement keeps the parameter types of its first call: a null
/// first and a number later fails with "incorrect binary data format in bind parameter N".
/// A call with a null is prepared afresh (a round trip more); calls without one, the common
/// case on hot paths such as metric summaries, keep the cache, always prepared with 8 bytes.
pub trait BindsOptionalFloat {
    /// The statement, not cached when `null` (one of its floats is null).
    fn uncached_if_null(self, null: bool) -> Self;
}

impl<'q> BindsOptionalFloat for Query<'q, Any, AnyArguments<'q>> {
    fn uncached_if_null(self, null: bool) -> Self {
        self.persistent(!null)
    }
}

impl<'q, O> BindsOptionalFloat for QueryScalar<'q, Any, O, AnyArguments<'q>> {
    fn uncached_if_null(self, null: bool) -> Self {
        self.persistent(!null)
    }
}

/// The order of a column: its name (for cursors), key and tie-breaker expressions, direction.
#[derive(Clone, Debug)]
pub struct Order {
    /// Names the sort in cursors, e.g. `created-desc`.
    pub name: String,
    /// The SQL expression ordered by.
    pub key: &'static str,
    /// The unique tie-breaker, an id column.
    pub id: &'static str,
    /// Largest first.
    pub desc: bool,
}

/// Cuts the extra row fetched by [`Sql::keyset`] and makes the cursor for the next page.
pub fn into_page<R, T>(
    mut rows: Vec<R>,
    limit: u32,
    order: &Order,
    cursor_of: impl Fn(&R) -> (SortKey, i64),
    item: impl FnMut(R) -> T,
) -> Page<T> {
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next = match rows.last() {
        Some(last) if more => {
            let (key, id) = cursor_of(last);
            Some(
                Cursor {
                    sort: order.name.clone(),
                    key,
                    id,
                }
                .encode(),
            )
        }
        _ => None,
    };
    Page {
        items: rows.into_iter().map(item).collect(),
        next,
    }
}
