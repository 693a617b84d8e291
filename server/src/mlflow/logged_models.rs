//! MLflow 3's logged models. millrace does not keep them yet (`logged-models` create answers
//! `ENDPOINT_NOT_FOUND`), so a search finds none; the 3.x client searches them on every
//! `list_artifacts` and `download_artifacts` of a run, so the search is answered, after the
//! same checks as any read of the experiments it names.

use super::args::Args;
use super::error::MlflowError;
use super::experiments::project_for_id;
use app::auth::access::Act;
use app::auth::Caller;
use app::state::AppState;
use serde_json::{json, Value};

/// `POST logged-models/search`: the logged models of `experiment_ids`, of which there are none.
pub async fn search(state: &AppState, caller: &Caller, args: &Args) -> Result<Value, MlflowError> {
    let ids = args.list("experiment_ids");
    if ids.is_empty() {
        return Err(MlflowError::invalid(
            "missing value for required parameter 'experiment_ids'",
        ));
    }
    for id in ids {
        let id = id
            .as_str()
            .ok_or_else(|| MlflowError::invalid(format!("experiment_ids holds {id}, not an id")))?;
        project_for_id(state, caller, id, Act::Read).await?;
    }
    Ok(json!({ "models": [] }))
}
