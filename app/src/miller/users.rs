//! The users column.

use crate::error::AppError;
use crate::model::{Page, UserSort, UserSummary};
use crate::view_query::ColumnQuery;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// One page of the users column, after `cursor`.
#[server(input = Json, endpoint = "list_users")]
pub async fn list_users(
    query: ColumnQuery<UserSort>,
    cursor: Option<String>,
) -> Result<Page<UserSummary>, AppError> {
    use crate::{auth::require_caller, db, server_fns::with_status, state::AppState};

    let query = query.clamped();
    with_status(
        async {
            let state = expect_context::<AppState>();
            require_caller()?;
            let page = db::users::page(
                &state.db,
                query.sort,
                query.dir,
                &query.filter,
                cursor.as_deref(),
                crate::server_fns::PAGE_SIZE,
            )
            .await?;
            Ok(page)
        }
        .await,
    )
}
