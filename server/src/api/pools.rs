//! `/api/v1/pools`: apply a pool (an administrator's call: its commands run on the server) and
//! list the pools with their machines.

use super::access::{Admin, Signed};
use super::error::{ApiError, ApiJson, ApiQuery};
use app::db::{self, pools};
use app::runners::pool::{Applied, PoolApplied, PoolInfo, PoolSettings};
use app::state::AppState;
use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;

/// `?dry_run=true`: check and say what would happen, change nothing.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyQuery {
    #[serde(default)]
    dry_run: bool,
}

/// Creates pool `{name}` or gives it new settings; refused (400) when the server runs no pool
/// commands or a command's program is not in its pool scripts folder.
pub async fn apply(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(name): Path<String>,
    ApiQuery(query): ApiQuery<ApplyQuery>,
    ApiJson(settings): ApiJson<PoolSettings>,
) -> Result<Json<PoolApplied>, ApiError> {
    PoolSettings::check_name(&name).map_err(|e| ApiError::invalid("pool", e))?;
    settings
        .check()
        .map_err(|(field, message)| ApiError::invalid(field, message))?;
    let Some(scripts) = &state.runs.pool_scripts else {
        return Err(ApiError::invalid(
            "pool",
            "this server runs no pool commands: start it with --pool-scripts DIR (docs/pools.md)",
        ));
    };
    for (field, command) in [("create", &settings.create), ("delete", &settings.delete)] {
        let program = command[0].strip_prefix("./").unwrap_or(&command[0]);
        if !is_program(&scripts.join(program)) {
            return Err(ApiError::invalid(
                field,
                format!("there is no program '{program}' in the server's pool scripts folder"),
            ));
        }
    }
    let result = if query.dry_run {
        match pools::all(&state.db)
            .await?
            .into_iter()
            .find(|p| p.name == name)
        {
            None => Applied::Created,
            Some(pool) if pool.settings == settings => Applied::Unchanged,
            Some(_) => Applied::Changed,
        }
    } else {
        pools::apply(&state.db, &name, &settings).await?
    };
    if result != Applied::Unchanged && !query.dry_run {
        tracing::info!(pool = %name, result = ?result, "a pool was applied");
    }
    Ok(Json(PoolApplied { pool: name, result }))
}

/// Whether `path` is an executable file.
fn is_program(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Every pool with its machines, spend and latest changes.
pub async fn list(
    State(state): State<AppState>,
    Signed(_): Signed,
) -> Result<Json<Vec<PoolInfo>>, ApiError> {
    Ok(Json(
        app::runners::fleet::list(&state.db, db::now_ms()).await?,
    ))
}
