//! What every request handler and server function shares: options and the store.

use crate::db::Db;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;

/// Shared server state, provided as context to SSR and server functions.
#[derive(Clone, Debug, FromRef)]
pub struct AppState {
    /// Site settings (address, output name, site root).
    pub leptos_options: LeptosOptions,
    /// The store.
    pub db: Db,
}
