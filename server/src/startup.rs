//! Building the HTTP app and serving it until SIGINT or SIGTERM.

use crate::cli::ServeArgs;
use anyhow::Context;
use app::db::Db;
use app::state::AppState;
use app::{shell, App};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use leptos::config::{get_config_from_str, get_configuration, LeptosOptions};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::path::Path;
use tokio::net::TcpListener;

/// The runtime configuration file `serve` reads when it exists in the working directory.
pub const LEPTOS_TOML: &str = "Leptos.toml";

/// The same file as built, for a binary started elsewhere.
const BUILT_LEPTOS_TOML: &str = include_str!("../../Leptos.toml");

/// Runs the server on `db` until a shutdown signal, then lets requests in flight finish.
pub async fn serve(db: Db, args: ServeArgs) -> anyhow::Result<()> {
    let options = leptos_options(&args)?;
    // Bind before the demo fill, so a port in use is reported at once; requests that arrive
    // during the fill wait in the backlog.
    let listener = TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    if args.demo && !app::db::users::any(&db).await? {
        let summary = crate::demo::run(&db, &crate::cli::DemoArgs::defaults()).await?;
        println!("{summary}");
    }
    let state = AppState {
        leptos_options: options,
        db,
    };
    println!("millrace is serving on http://{}", listener.local_addr()?);
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

/// Leptos site options: Leptos.toml from the working directory (else the copy built in),
/// overlaid by cargo-leptos's `LEPTOS_*` variables, then by our flags.
pub fn leptos_options(args: &ServeArgs) -> anyhow::Result<LeptosOptions> {
    let mut options = if Path::new(LEPTOS_TOML).exists() {
        get_configuration(Some(LEPTOS_TOML))
            .context("reading Leptos.toml")?
            .leptos_options
    } else {
        get_config_from_str(BUILT_LEPTOS_TOML).context("reading the built-in Leptos.toml")?
    };
    options.site_addr = args.addr;
    if let Some(root) = &args.site_root {
        options.site_root = root.to_string_lossy().as_ref().into();
    }
    let pkg = Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    if !pkg.is_dir() {
        tracing::warn!(
            "no built site at {}: pages will have no styles or scripts; build with \
             `cargo leptos build` or pass --site-root",
            pkg.display()
        );
    }
    Ok(options)
}

/// The whole HTTP app: health check, REST API, server functions, pages and static files.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let context_state = state.clone();
    let options = state.leptos_options.clone();
    Router::new()
        .route("/healthz", get(healthz))
        .nest("/api/v1", crate::api::router())
        .merge(crate::mlflow::router())
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(context_state.clone()),
            move || shell(options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::middleware::authenticate,
        ))
        .with_state(state)
}

/// 200 once the database answers, 503 while it does not.
async fn healthz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ok\n"),
        Err(error) => {
            tracing::warn!(%error, "health check: database unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
        }
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
