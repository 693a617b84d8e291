//! The project table view's rows: a project's jobs with chosen attribute, parameter and metric
//! columns, ordered by any of them, read as a page at an offset so the view can jump to any row.

use super::jobs::push_filter;
use super::sql::{Arg, Sql};
use super::{Backend, Db};
use crate::format::{duration, number, time};
use crate::model::{Filter, JobStatus, SortDir, TablePage, TableRow};
use crate::project_query::{Attr, Stat, TableColumn, TableQuery};
use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::collections::HashMap;

/// Most rows one read returns.
pub const MAX_ROWS: u32 = 500;

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    number: i64,
    name: String,
    status: i64,
    created_ms: i64,
    duration_ms: i64,
    gpus: i64,
    runner: Option<String>,
    cost_usd: Option<f64>,
    params: String,
}

const COLUMNS: &str = "j.id, j.number, j.name, j.status, j.created_ms, j.duration_ms, j.gpus, \
                       j.runner, j.cost_usd, j.params";

/// `limit` rows of `project`'s jobs kept by `filter`, from row `offset` in `table`'s order,
/// with a cell per chosen column. Jobs without a value in the sort column come last either way.
pub async fn page(
    db: &Db,
    project: i64,
    filter: &Filter,
    table: &TableQuery,
    offset: u32,
    limit: u32,
) -> sqlx::Result<TablePage> {
    let limit = limit.min(MAX_ROWS);
    let mut count = Sql::new("SELECT COUNT(*) FROM jobs j WHERE j.project_id = ");
    let p = count.arg(Arg::Int(project));
    count.push(&p);
    push_filter(&mut count, filter);
    let (total,): (i64,) = count.query_as().fetch_one(db.pool()).await?;
    let rows = match &table.sort {
        TableColumn::Param(key) => {
            by_param(db, project, filter, key, table.dir, offset, limit).await?
        }
        TableColumn::Metric(key, stat) => {
            by_metric(db, project, filter, key, *stat, table.dir, offset, limit).await?
        }
        TableColumn::Attr(attr) => {
            by_attr(db, project, filter, *attr, table.dir, offset, limit).await?
        }
    };
    let metrics = metric_cells(db, &rows, &table.columns).await?;
    let rows = rows
        .into_iter()
        .map(|row| {
            let params: Map<String, Value> = serde_json::from_str(&row.params).unwrap_or_default();
            let cells = table
                .columns
                .iter()
                .map(|column| cell(&row, &params, &metrics, column))
                .collect();
            TableRow {
                number: row.number,
                name: row.name,
                status: JobStatus::from_code(row.status).unwrap_or(JobStatus::Lost),
                cells,
                created_ms: row.created_ms,
            }
        })
        .collect();
    Ok(TablePage {
        total: u64::try_from(total).unwrap_or(0),
        offset,
        rows,
    })
}

/// A page ordered by an attribute, from the index the jobs column sorts by where there is one.
async fn by_attr(
    db: &Db,
    project: i64,
    filter: &Filter,
    attr: Attr,
    dir: SortDir,
    offset: u32,
    limit: u32,
) -> sqlx::Result<Vec<Row>> {
    let (key, nullable) = match attr {
        Attr::Name => ("j.name", false),
        Attr::Status => ("j.status", false),
        Attr::Created => ("j.created_ms", false),
        Attr::Duration => ("j.duration_ms", false),
        Attr::Gpus => ("j.gpus", false),
        Attr::Runner => ("j.runner", true),
        Attr::Cost => ("j.cost_usd", true),
    };
    let mut sql = Sql::new(&format!(
        "SELECT {COLUMNS} FROM jobs j WHERE j.project_id = "
    ));
    let p = sql.arg(Arg::Int(project));
    sql.push(&p);
    push_filter(&mut sql, filter);
    // SQLite puts NULLs first and PostgreSQL last: say which, the same on both.
    let nulls_last = if nullable {
        format!("({key} IS NULL), ")
    } else {
        String::new()
    };
    push_page(
        &mut sql,
        &format!("{nulls_last}{key}"),
        "j.id",
        dir,
        offset,
        limit,
    );
    sql.query_as().fetch_all(db.pool()).await
}

/// A page ordered by a metric's last, min or max: first the jobs that have the value, walked
/// in the summaries' index for `last` (a sort of every job took 350 ms at 100,000 jobs), then
/// the jobs without it, in id order.
#[allow(clippy::too_many_arguments)]
async fn by_metric(
    db: &Db,
    project: i64,
    filter: &Filter,
    key: &str,
    stat: Stat,
    dir: SortDir,
    offset: u32,
    limit: u32,
) -> sqlx::Result<Vec<Row>> {
    let value = format!("s.{}", stat.column());
    let with_value = |select: &str| {
        let mut sql = Sql::new(&format!(
            "{select} FROM metric_series s JOIN jobs j ON j.id = s.job_id WHERE s.project_id = "
        ));
        let p = sql.arg(Arg::Int(project));
        let k = sql.arg(Arg::Text(key.to_owned()));
        sql.push(&format!("{p} AND s.key = {k} AND {value} IS NOT NULL"));
        push_filter(&mut sql, filter);
        sql
    };
    let (having,): (i64,) = with_value("SELECT COUNT(*)")
        .query_as()
        .fetch_one(db.pool())
        .await?;
    let having = u32::try_from(having).unwrap_or(u32::MAX);
    let mut rows = Vec::new();
    if offset < having {
        let mut sql = with_value(&format!("SELECT {COLUMNS}"));
        // The summaries' own job id, so the index on (project, key, last, job) gives the order.
        push_page(&mut sql, &value, "s.job_id", dir, offset, limit);
        rows = sql.query_as().fetch_all(db.pool()).await?;
    }
    let wanted = limit.saturating_sub(rows.len() as u32);
    if wanted > 0 {
        let mut sql = Sql::new(&format!(
            "SELECT {COLUMNS} FROM jobs j WHERE j.project_id = "
        ));
        let p = sql.arg(Arg::Int(project));
        let k = sql.arg(Arg::Text(key.to_owned()));
        sql.push(&format!(
            "{p} AND NOT EXISTS (SELECT 1 FROM metric_series s WHERE s.job_id = j.id \
             AND s.key = {k} AND {value} IS NOT NULL)"
        ));
        push_filter(&mut sql, filter);
        let l = sql.arg(Arg::Int(i64::from(wanted)));
        let o = sql.arg(Arg::Int(i64::from(offset.saturating_sub(having))));
        let word = dir_word(dir);
        sql.push(&format!(" ORDER BY j.id {word} LIMIT {l} OFFSET {o}"));
        rows.extend(sql.query_as::<Row>().fetch_all(db.pool()).await?);
    }
    Ok(rows)
}

fn dir_word(dir: SortDir) -> &'static str {
    match dir {
        SortDir::Asc => "ASC",
        SortDir::Desc => "DESC",
    }
}

/// Adds `ORDER BY key, id` in `dir` and the page's `LIMIT` and `OFFSET`.
fn push_page(sql: &mut Sql, key: &str, id: &str, dir: SortDir, offset: u32, limit: u32) {
    let word = dir_word(dir);
    let l = sql.arg(Arg::Int(i64::from(limit)));
    let o = sql.arg(Arg::Int(i64::from(offset)));
    sql.push(&format!(
        " ORDER BY {key} {word}, {id} {word} LIMIT {l} OFFSET {o}"
    ));
}

/// A page ordered by a parameter. Parameters are JSON text, numbers or strings (MLflow logs
/// every value as a string), so they are ordered here, numbers by value before text: reading one
/// value per job is cheap next to a sort that gets `"1e-3"` against `"0.01"` wrong.
async fn by_param(
    db: &Db,
    project: i64,
    filter: &Filter,
    key: &str,
    dir: SortDir,
    offset: u32,
    limit: u32,
) -> sqlx::Result<Vec<Row>> {
    let mut sql = Sql::new("SELECT j.id, ");
    let k = sql.arg(Arg::Text(key.to_owned()));
    let value = match db.backend() {
        Backend::Sqlite => {
            format!("(SELECT CAST(p.value AS TEXT) FROM json_each(j.params) p WHERE p.key = {k})")
        }
        Backend::Postgres => format!("(CAST(j.params AS jsonb) ->> {k})"),
    };
    let p = sql.arg(Arg::Int(project));
    sql.push(&format!(
        "{value} AS value FROM jobs j WHERE j.project_id = {p}"
    ));
    push_filter(&mut sql, filter);
    let mut values: Vec<(i64, Option<String>)> = sql.query_as().fetch_all(db.pool()).await?;
    values.sort_by(|a, b| {
        let order = match (&a.1, &b.1) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => return Ordering::Greater,
            (Some(_), None) => return Ordering::Less,
            (Some(x), Some(y)) => compare_values(x, y),
        };
        let order = order.then(a.0.cmp(&b.0));
        match dir {
            SortDir::Asc => order,
            SortDir::Desc => order.reverse(),
        }
    });
    let ids: Vec<String> = values
        .iter()
        .skip(offset as usize)
        .take(limit as usize)
        .map(|(id, _)| id.to_string())
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Ids are integers read from the database, so listing them inline is safe.
    let sql = format!(
        "SELECT {COLUMNS} FROM jobs j WHERE j.id IN ({})",
        ids.join(", ")
    );
    let mut rows: Vec<Row> = sqlx::query_as(&sql).fetch_all(db.pool()).await?;
    rows.sort_by_key(|row| ids.iter().position(|id| *id == row.id.to_string()));
    Ok(rows)
}

/// Numbers by value before any text, text by its characters.
fn compare_values(a: &str, b: &str) -> Ordering {
    let number = |text: &str| text.trim().parse::<f64>().ok().filter(|v| !v.is_nan());
    match (number(a), number(b)) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// The metric values the chosen columns show: (job id, key) to (last, min, max).
type MetricCells = HashMap<(i64, String), [Option<f64>; 3]>;

async fn metric_cells(db: &Db, rows: &[Row], columns: &[TableColumn]) -> sqlx::Result<MetricCells> {
    let mut keys: Vec<&str> = columns
        .iter()
        .filter_map(|c| match c {
            TableColumn::Metric(key, _) => Some(key.as_str()),
            _ => None,
        })
        .collect();
    keys.dedup();
    if keys.is_empty() || rows.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<String> = rows.iter().map(|r| r.id.to_string()).collect();
    let mut sql = Sql::new(&format!(
        "SELECT job_id, key, last, min, max FROM metric_series WHERE job_id IN ({}) AND key IN (",
        ids.join(", ")
    ));
    let placeholders: Vec<String> = keys
        .iter()
        .map(|k| sql.arg(Arg::Text((*k).to_owned())))
        .collect();
    sql.push(&placeholders.join(", "));
    sql.push(")");
    let found: Vec<(i64, String, Option<f64>, Option<f64>, Option<f64>)> =
        sql.query_as().fetch_all(db.pool()).await?;
    Ok(found
        .into_iter()
        .map(|(job, key, last, min, max)| ((job, key), [last, min, max]))
        .collect())
}

fn cell(
    row: &Row,
    params: &Map<String, Value>,
    metrics: &MetricCells,
    column: &TableColumn,
) -> String {
    match column {
        TableColumn::Attr(attr) => match attr {
            Attr::Name => row.name.clone(),
            Attr::Status => JobStatus::from_code(row.status)
                .unwrap_or(JobStatus::Lost)
                .as_str()
                .to_owned(),
            Attr::Created => time(row.created_ms),
            Attr::Duration if row.duration_ms > 0 => duration(row.duration_ms),
            Attr::Duration => String::new(),
            Attr::Gpus => row.gpus.to_string(),
            Attr::Runner => row.runner.clone().unwrap_or_default(),
            Attr::Cost => row.cost_usd.map(|c| format!("${c:.2}")).unwrap_or_default(),
        },
        TableColumn::Param(key) => match params.get(key) {
            Some(Value::String(text)) => text.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        },
        TableColumn::Metric(key, stat) => {
            let index = match stat {
                Stat::Last => 0,
                Stat::Min => 1,
                Stat::Max => 2,
            };
            metrics
                .get(&(row.id, key.clone()))
                .and_then(|values| values[index])
                .map(number)
                .unwrap_or_default()
        }
    }
}

#[cfg(test)]
mod tests;
