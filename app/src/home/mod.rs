//! The home view at `/`: beside the users column, what a researcher wants first — their jobs
//! that run or wait, those that failed in the last day, the projects they opened lately, and
//! how much the runners can take.

pub mod pane;
mod recent;
#[cfg(feature = "ssr")]
pub mod service;

pub use recent::remember_project;

use crate::error::AppError;
use crate::model::JobStatus;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What the home view shows of the signed-in person's work and the runners.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Home {
    /// Their jobs that run, start or wait: running first.
    pub in_progress: Vec<HomeJob>,
    /// Their jobs that failed or were lost in the last day, the latest first.
    pub failed: Vec<HomeJob>,
    /// The runners and the queue.
    pub capacity: Capacity,
}

/// One job of the home view.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HomeJob {
    /// The project's owner.
    pub owner: String,
    /// The project's name.
    pub project: String,
    /// The job's number in the project.
    pub number: i64,
    /// The job's name.
    pub name: String,
    /// Its status.
    pub status: JobStatus,
    /// When it last changed state (finished, else started, else created), ms since the epoch.
    pub since_ms: i64,
}

impl HomeJob {
    /// The URL of the job in the columns.
    pub fn href(&self) -> String {
        use crate::url::encode_component as encode;
        format!(
            "/u/{}/p/{}/j/{}",
            encode(&self.owner),
            encode(&self.project),
            self.number
        )
    }
}

/// What the runners can take now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Capacity {
    /// Runners heard from lately.
    pub runners: u32,
    /// Their GPUs.
    pub gpus: u32,
    /// Those of their GPUs that jobs hold.
    pub busy_gpus: u32,
    /// Jobs (anyone's) waiting for a runner.
    pub waiting: i64,
}

/// The signed-in person's home view.
#[server(endpoint = "get_home")]
pub async fn get_home() -> Result<Home, AppError> {
    use crate::{auth::require_caller, server_fns::with_status, state::AppState};

    with_status(
        async {
            let caller = require_caller()?;
            let state = expect_context::<AppState>();
            service::home(&state.db, caller.user.id, crate::db::now_ms()).await
        }
        .await,
    )
}
