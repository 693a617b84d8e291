//! The Models view's data: a project's registered models with their versions, in one call.

use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

/// A registered model as the Models view shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegisteredModelView {
    /// Its name, as `models:/NAME/...` URIs use it.
    pub name: String,
    /// What it is.
    pub description: String,
    /// When it or a version last changed, in ms since the Unix epoch.
    pub updated_ms: i64,
    /// Its versions, newest first.
    pub versions: Vec<VersionView>,
}

/// One version of a registered model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionView {
    /// Its number.
    pub version: i64,
    /// MLflow's legacy stage (`None`, `Staging`, `Production`, `Archived`).
    pub stage: String,
    /// The aliases that name it (`champion`).
    pub aliases: Vec<String>,
    /// The job that produced it, if it came from one of the project's jobs.
    pub job: Option<JobLink>,
    /// That job's latest value of each metric, by key.
    pub metrics: Vec<(String, f64)>,
    /// Who registered it.
    pub creator: String,
    /// When, in ms since the Unix epoch.
    pub created_ms: i64,
    /// What it is.
    pub description: String,
}

/// A job of the project, as a link names it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobLink {
    /// Its number in the project.
    pub number: i64,
    /// Its name.
    pub name: String,
}

/// The registered models of `owner/project`, by name.
#[server(input = Json, endpoint = "get_registry")]
pub async fn get_registry(
    owner: String,
    project: String,
) -> Result<Vec<RegisteredModelView>, AppError> {
    use crate::state::AppState;
    use crate::{job::service::visible_project, server_fns::with_status};

    with_status(
        async {
            let state = expect_context::<AppState>();
            let project = visible_project(&state, &owner, &project).await?;
            super::service::models_of(&state.db, project.id).await
        }
        .await,
    )
}
