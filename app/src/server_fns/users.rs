//! The users column.

use crate::error::AppError;
use crate::model::{Filter, Page, SortDir, UserSort, UserSummary};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// Rows in one page of a column.
pub const PAGE_SIZE: u32 = 50;

/// One page of the users column, after `cursor`.
#[server(input = Json)]
pub async fn list_users(
    sort: UserSort,
    dir: SortDir,
    filter: Filter,
    cursor: Option<String>,
) -> Result<Page<UserSummary>, AppError> {
    use crate::{auth::require_user, db, server_fns::with_status, state::AppState};

    with_status(
        async {
            let state = expect_context::<AppState>();
            require_user()?;
            Ok(
                db::users::page(&state.db, sort, dir, &filter, cursor.as_deref(), PAGE_SIZE)
                    .await?,
            )
        }
        .await,
    )
}
