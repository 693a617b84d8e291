//! The project table view: rows with the chosen columns, and the keys the column chooser offers.

use crate::error::AppError;
use crate::model::{Filter, KeyMatches, TablePage};
use crate::project_query::TableQuery;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// Rows of the table view of `owner/project`: jobs kept by the jobs column's `filter`, in
/// `table`'s order, `limit` (at most 500) from row `offset`.
#[server(input = Json, endpoint = "get_job_table")]
pub async fn get_job_table(
    owner: String,
    project: String,
    filter: Filter,
    table: TableQuery,
    offset: u32,
    limit: u32,
) -> Result<TablePage, AppError> {
    use crate::state::AppState;
    use crate::{job::service::visible_project, server_fns::with_status};

    let (filter, table) = (crate::view_query::clamp_filter(filter), table.clamped());
    with_status(
        async {
            let state = expect_context::<AppState>();
            let project = visible_project(&state, &owner, &project).await?;
            let page =
                crate::db::job_table::page(&state.db, project.id, &filter, &table, offset, limit)
                    .await?;
            Ok(page)
        }
        .await,
    )
}

/// How many keys of each kind the chooser lists for one search.
pub const KEYS_SHOWN: u32 = 50;

/// The parameter and metric keys of `owner/project` containing `text` (case-insensitive): the
/// first [`KEYS_SHOWN`] of each and how many match.
#[server(input = Json, endpoint = "find_table_keys")]
pub async fn find_table_keys(
    owner: String,
    project: String,
    text: String,
) -> Result<KeyMatches, AppError> {
    use crate::db::project_keys::{search, KeyKind};
    use crate::state::AppState;
    use crate::{job::service::visible_project, server_fns::with_status};

    with_status(
        async {
            let state = expect_context::<AppState>();
            let project = visible_project(&state, &owner, &project).await?;
            let text: String = text.trim().chars().take(200).collect();
            let (params, param_count) =
                search(&state.db, project.id, KeyKind::Param, &text, KEYS_SHOWN).await?;
            let (metrics, metric_count) =
                search(&state.db, project.id, KeyKind::Metric, &text, KEYS_SHOWN).await?;
            Ok(KeyMatches {
                params,
                param_count,
                metrics,
                metric_count,
            })
        }
        .await,
    )
}
