//! `POST runs/search`: runs of some experiments, filtered, ordered and paged; in SQL when the
//! filter and order allow (see `condition`), else in Rust over every run.

use super::args::Args;
use super::error::MlflowError;
use super::experiments::project_for_id;
use super::filter::{self, Field, Literal, RunView};
use super::inputs::links_of;
use super::like::Budget;
use super::runs::{mlflow_status, run_value, text};
use app::auth::access::Act;
use app::auth::Caller;
use app::db::run_search::{RunCondition, RunKey, RunOrder};
use app::db::{self, jobs::Job, metrics::Summary};
use app::state::AppState;
use serde_json::{json, Map, Value};
use std::cmp::Ordering;
use std::collections::HashMap;

/// MLflow's default and largest page of a run search.
const DEFAULT_RESULTS: i64 = 1000;
const MAX_RESULTS: i64 = 50_000;
/// Most `order_by` terms, and the longest one: a key of 250 characters with its prefix,
/// backquotes and direction fits.
const MAX_ORDER_TERMS: usize = 20;
const MAX_ORDER_TERM_LENGTH: usize = 300;

/// Most experiments one search may name: each is looked up and checked for access.
const MAX_EXPERIMENT_IDS: usize = 1_000;

/// A run loaded for searching: its job, summaries, tags and the view the filter reads.
struct Candidate {
    job: Job,
    summaries: Vec<Summary>,
    tags: Vec<(String, String)>,
    view: RunView,
}

/// The projects a search's `experiment_ids` names, each readable by the caller.
pub(super) async fn searched_projects(
    state: &AppState,
    caller: &Caller,
    args: &Args,
) -> Result<Vec<i64>, MlflowError> {
    let ids = args.list("experiment_ids");
    if ids.len() > MAX_EXPERIMENT_IDS {
        return Err(MlflowError::invalid(format!(
            "experiment_ids names {} experiments; at most {MAX_EXPERIMENT_IDS} may be searched at once",
            ids.len()
        )));
    }
    let mut projects = Vec::new();
    for id in ids {
        let id = id.as_str().map_or_else(|| id.to_string(), str::to_owned);
        projects.push(project_for_id(state, caller, &id, Act::Read).await?.id);
    }
    Ok(projects)
}

/// `POST runs/search`.
pub async fn runs(state: &AppState, caller: &Caller, args: &Args) -> Result<Value, MlflowError> {
    let projects = searched_projects(state, caller, args).await?;
    let filter = filter::parse(args.opt_str("filter").unwrap_or_default())
        .map_err(|e| MlflowError::invalid(format!("invalid filter: {e}")))?;
    let order = order_by(args.list("order_by"))?;
    let max = args.max_results(DEFAULT_RESULTS, MAX_RESULTS)?;
    let offset = args.offset()?;

    let archived = view_type(args.0.get("run_view_type"))?;
    // No filter, or one SQL can evaluate: SQL answers the page; otherwise Rust reads every run.
    let condition = match &filter {
        None => Some(None),
        Some(expr) => condition::condition(expr).map(Some),
    };
    if let (Some(condition), Some(order)) = (condition, in_sql(&order)) {
        let condition = condition.as_ref();
        return ordered_page(state, &projects, archived, condition, &order, offset, max).await;
    }
    let mut runs = load(state, &projects, archived).await?;
    if let Some(filter) = &filter {
        let mut budget = Budget::for_search();
        let mut kept = Vec::new();
        for run in runs {
            if filter
                .matches(&run.view, &mut budget)
                .map_err(|_| too_costly())?
            {
                kept.push(run);
            }
        }
        runs = kept;
    }
    runs.sort_by(|a, b| compare(&order, a, b));
    let shown: Vec<&Candidate> = runs.iter().skip(offset).take(max as usize).collect();
    let ids: Vec<i64> = shown.iter().map(|c| c.job.id).collect();
    let mut links = links_of(state, &ids).await?;
    let page: Vec<Value> = shown
        .iter()
        .map(|c| {
            let links = links.remove(&c.job.id).unwrap_or_default();
            run_value(&c.job, &c.summaries, &c.tags, &links)
        })
        .collect();
    let mut answer = json!({ "runs": page });
    if offset + (max as usize) < runs.len() {
        answer["next_page_token"] = json!((offset + max as usize).to_string());
    }
    Ok(answer)
}

/// A page of runs filtered, ordered and cut in SQL, when no filter needs every run looked at.
async fn ordered_page(
    state: &AppState,
    projects: &[i64],
    archived: Option<bool>,
    condition: Option<&RunCondition>,
    order: &[RunOrder],
    offset: usize,
    max: i64,
) -> Result<Value, MlflowError> {
    let offset = i64::try_from(offset).map_err(|_| MlflowError::invalid("invalid page_token"))?;
    // One more than the page, to know whether another follows.
    let mut jobs = db::run_search::page(
        &state.db,
        projects,
        archived,
        condition,
        order,
        offset,
        max + 1,
    )
    .await?;
    let more = jobs.len() as i64 > max;
    jobs.truncate(max as usize);
    let ids: Vec<i64> = jobs.iter().map(|j| j.id).collect();
    let mut summaries = db::metrics::summaries_of_jobs(&state.db, &ids).await?;
    let mut tags = db::jobs::tags_of(&state.db, &ids).await?;
    let mut links = links_of(state, &ids).await?;
    let page: Vec<Value> = jobs
        .iter()
        .map(|job| {
            let summaries = summaries.remove(&job.id).unwrap_or_default();
            let tags = tags.remove(&job.id).unwrap_or_default();
            let links = links.remove(&job.id).unwrap_or_default();
            run_value(job, &summaries, &tags, &links)
        })
        .collect();
    let mut answer = json!({ "runs": page });
    if more {
        answer["next_page_token"] = json!((offset + max).to_string());
    }
    Ok(answer)
}

/// The order as SQL can apply it: metrics and the times and name, not parameters or tags.
fn in_sql(order: &[(Field, bool)]) -> Option<Vec<RunOrder>> {
    order
        .iter()
        .map(|(field, descending)| {
            let key = match field {
                Field::Metric(key) => RunKey::Metric(key.clone()),
                Field::Attribute(name) => match name.as_str() {
                    "start_time" => RunKey::StartTime,
                    "end_time" => RunKey::EndTime,
                    "run_name" => RunKey::Name,
                    "created" => RunKey::Created,
                    _ => return None,
                },
                Field::Param(_) | Field::Tag(_) => return None,
            };
            Some(RunOrder {
                key,
                descending: *descending,
            })
        })
        .collect()
}

/// MLflow's ViewType (by name or number) as "archived?": active only (the default), deleted
/// only, or all.
pub fn view_type(value: Option<&Value>) -> Result<Option<bool>, MlflowError> {
    let name = match value {
        None | Some(Value::Null) => return Ok(Some(false)),
        Some(Value::String(name)) => name.clone(),
        Some(other) => other.to_string(),
    };
    match name.as_str() {
        "ACTIVE_ONLY" | "1" => Ok(Some(false)),
        "DELETED_ONLY" | "2" => Ok(Some(true)),
        "ALL" | "3" => Ok(None),
        other => Err(MlflowError::invalid(format!("unknown view type '{other}'"))),
    }
}

async fn load(
    state: &AppState,
    projects: &[i64],
    archived: Option<bool>,
) -> Result<Vec<Candidate>, MlflowError> {
    let jobs = db::jobs::in_projects(&state.db, projects, archived).await?;
    let mut summaries: HashMap<i64, Vec<Summary>> = HashMap::new();
    for (job, summary) in db::metrics::summaries_in_projects(&state.db, projects).await? {
        summaries.entry(job).or_default().push(summary);
    }
    let mut tags: HashMap<i64, Vec<(String, String)>> = HashMap::new();
    for (job, key, value) in db::jobs::tags_in_projects(&state.db, projects).await? {
        tags.entry(job).or_default().push((key, value));
    }
    Ok(jobs
        .into_iter()
        .map(|job| {
            let summaries = summaries.remove(&job.id).unwrap_or_default();
            let tags = tags.remove(&job.id).unwrap_or_default();
            let view = view(&job, &summaries, &tags);
            Candidate {
                job,
                summaries,
                tags,
                view,
            }
        })
        .collect())
}

fn view(job: &Job, summaries: &[Summary], tags: &[(String, String)]) -> RunView {
    let params: Map<String, Value> = serde_json::from_str(&job.params).unwrap_or_default();
    let mut view = RunView {
        metrics: summaries
            .iter()
            .map(|s| (s.key.clone(), s.last.unwrap_or(f64::NAN)))
            .collect(),
        params: params.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
        tags: tags.iter().cloned().collect(),
        attributes: HashMap::new(),
        missing_tag_differs: false,
    };
    let attributes: [(&'static str, Literal); 8] = [
        (
            "status",
            Literal::Text(mlflow_status(job.status).to_owned()),
        ),
        ("run_name", Literal::Text(job.name.clone())),
        ("run_id", Literal::Text(job.uid.clone())),
        ("user_id", Literal::Text(job.owner().to_owned())),
        (
            "lifecycle_stage",
            Literal::Text(super::runs::lifecycle_stage(job.archived).to_owned()),
        ),
        (
            "start_time",
            Literal::Number(job.started_ms.unwrap_or(job.created_ms) as f64),
        ),
        (
            "end_time",
            Literal::Number(job.finished_ms.unwrap_or_default() as f64),
        ),
        ("created", Literal::Number(job.created_ms as f64)),
    ];
    view.attributes.extend(attributes);
    view
}

/// The search's `LIKE` patterns needed more work than one request may spend.
pub fn too_costly() -> MlflowError {
    MlflowError::invalid(format!(
        "the filter's LIKE patterns need more than {} character comparisons over these runs; \
         use shorter patterns or search fewer runs",
        super::like::MAX_WORK
    ))
}

/// The `order_by` terms, at most [`MAX_ORDER_TERMS`] of at most [`MAX_ORDER_TERM_LENGTH`]
/// characters each.
fn order_by(terms: &[Value]) -> Result<Vec<(Field, bool)>, MlflowError> {
    if terms.len() > MAX_ORDER_TERMS {
        return Err(MlflowError::invalid(format!(
            "order_by has {} terms; the limit is {MAX_ORDER_TERMS}",
            terms.len()
        )));
    }
    terms
        .iter()
        .map(|term| order_term(term.as_str().unwrap_or_default()))
        .collect()
}

/// One `order_by` term: a field and a direction (ascending unless `DESC`).
fn order_term(text: &str) -> Result<(Field, bool), MlflowError> {
    let length = text.chars().count();
    if length > MAX_ORDER_TERM_LENGTH {
        return Err(MlflowError::invalid(format!(
            "an order_by term has {length} characters; the limit is {MAX_ORDER_TERM_LENGTH}"
        )));
    }
    let mut words = text.split_whitespace();
    let name = words
        .next()
        .ok_or_else(|| MlflowError::invalid("an empty order_by term"))?;
    let descending = match words.next().map(str::to_ascii_uppercase).as_deref() {
        None | Some("ASC") => false,
        Some("DESC") => true,
        Some(other) => {
            return Err(MlflowError::invalid(format!(
                "order_by direction must be ASC or DESC, not '{other}'"
            )))
        }
    };
    // A whole name in backquotes (`start_time`); a key alone may be too (metrics.`val loss`),
    // which the filter parser reads.
    let name = match name.strip_prefix('`').and_then(|n| n.strip_suffix('`')) {
        Some(inner) if !inner.contains('`') => inner,
        _ => name,
    };
    // A bare key is an attribute, as MLflow reads `run_name DESC`.
    let qualified = if name.contains('.') {
        name.to_owned()
    } else {
        format!("attributes.{name}")
    };
    let field = match filter::parse(&format!("{qualified} = 0")) {
        Ok(Some(filter::Expr::Compare(field, _, _))) => field,
        _ => return Err(MlflowError::invalid(format!("cannot order by '{name}'"))),
    };
    Ok((field, descending))
}

/// Orders by the terms in turn (runs without a value last), then newest first by start time,
/// then by run id, as MLflow breaks ties.
fn compare(order: &[(Field, bool)], a: &Candidate, b: &Candidate) -> Ordering {
    for (field, descending) in order {
        let (x, y) = (
            filter::value_of(field, &a.view),
            filter::value_of(field, &b.view),
        );
        let ordering = match (x, y) {
            (Some(x), Some(y)) => {
                let ordering = literal_cmp(&x, &y);
                if *descending {
                    ordering.reverse()
                } else {
                    ordering
                }
            }
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    let start = |c: &Candidate| c.job.started_ms.unwrap_or(c.job.created_ms);
    start(b)
        .cmp(&start(a))
        .then_with(|| a.job.uid.cmp(&b.job.uid))
}

/// Orders two literals: numbers before text, -0 equal to 0.
pub(super) fn literal_cmp(a: &Literal, b: &Literal) -> Ordering {
    match (a, b) {
        // -0 and 0 are one value, as SQL has them on the ordered-in-SQL path.
        (Literal::Number(x), Literal::Number(y)) => (x + 0.0).total_cmp(&(y + 0.0)),
        (Literal::Text(x), Literal::Text(y)) => x.cmp(y),
        (Literal::Number(_), Literal::Text(_)) => Ordering::Less,
        (Literal::Text(_), Literal::Number(_)) => Ordering::Greater,
    }
}

mod condition;
#[cfg(test)]
mod props;
