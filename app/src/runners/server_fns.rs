//! What the runners page reads of the pools.

use crate::error::AppError;
use crate::runners::pool::PoolInfo;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// Every pool with its machines, spend and latest changes.
#[server(input = Json, endpoint = "list_pools")]
pub async fn list_pools() -> Result<Vec<PoolInfo>, AppError> {
    use crate::{auth::require_caller, db, server_fns::with_status, state::AppState};

    with_status(
        async {
            require_caller()?;
            let state = expect_context::<AppState>();
            Ok(crate::runners::fleet::list(&state.db, db::now_ms()).await?)
        }
        .await,
    )
}
