//! Building the HTTP app and serving it until SIGINT or SIGTERM.

use crate::cli::ServeArgs;
use crate::leader;
use crate::monitoring::Monitor;
use anyhow::Context;
use app::db::queue::GpuPrices;
use app::db::Db;
use app::file_store::FileStore;
use app::state::{AppState, RunSettings};
use app::{shell, App};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Extension, Router};
use leptos::config::{get_config_from_str, get_configuration, LeptosOptions};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// The runtime configuration file `serve` reads when it exists in the working directory.
pub const LEPTOS_TOML: &str = "Leptos.toml";

/// How often running sweeps are driven when no job changes status in between: the delay
/// before an early-stopping decision, at worst.
const SWEEP_EVERY: Duration = Duration::from_millis(300);
/// How often the leader looks at pools: a queued job waits at most this long for a machine to
/// be asked for.
const POOLS_EVERY: Duration = Duration::from_millis(500);

/// The same file as built, for a binary started elsewhere.
const BUILT_LEPTOS_TOML: &str = include_str!("../../Leptos.toml");

/// Runs the server on `db` until a shutdown signal, then lets requests in flight finish.
pub async fn serve(db: Db, args: ServeArgs, database: &str) -> anyhow::Result<()> {
    let options = leptos_options(&args)?;
    // Bind before the demo fill, so a port in use is reported at once; requests that arrive
    // during the fill wait in the backlog.
    let listener = TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    let mut runs = run_settings(&args, database)?;
    runs.runner_url = args.public_url.clone().unwrap_or_else(|| {
        let mut addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        format!("http://{addr}")
    });
    if args.demo && !app::db::users::any(&db).await? {
        let demo = crate::cli::DemoArgs::defaults();
        let summary = crate::demo::run(&db, &demo, &runs.files).await?;
        println!("{summary}");
    }
    let state = AppState {
        leptos_options: options,
        db,
        runs: Arc::new(runs),
        events: app::state::event_channel(),
    };
    let monitor = Monitor::new(args.metrics_token.as_ref());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    };
    let duties = leader::Duties {
        leases_every: (args.lease_timeout / 4).max(Duration::from_millis(100)),
        sweeps_every: SWEEP_EVERY,
        pools_every: POOLS_EVERY,
    };
    let leader = tokio::spawn(leader::run(
        state.clone(),
        monitor.clone(),
        duties,
        until_stopped(),
    ));
    let pump = crate::events::start_pump(state.clone(), until_stopped()).await;
    println!("millrace is serving on http://{}", listener.local_addr()?);
    let closing = crate::events::Closing::default();
    let app = router(state, monitor).layer(Extension(closing.clone()));
    // The peer address is what sign-in throttling counts failures by.
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            closing.0.cancel();
        })
        .await?;
    let _ = stop.send(true);
    let _ = leader.await;
    let _ = pump.await;
    Ok(())
}

/// Where files go, how long leases last and GPU prices, from the flags.
pub fn run_settings(args: &ServeArgs, database: &str) -> anyhow::Result<RunSettings> {
    let mut settings = RunSettings::new(file_store(args.files.as_deref(), database)?);
    settings.lease_ms = i64::try_from(args.lease_timeout.as_millis()).unwrap_or(i64::MAX);
    settings.prices = GpuPrices(args.gpu_prices.iter().cloned().collect());
    settings.quota = (args.quota > 0).then_some(args.quota);
    settings.public_origin.clone_from(&args.public_url);
    settings.pool_scripts.clone_from(&args.pool_scripts);
    Ok(settings)
}

/// The file store at `location`, or in the default directory for `database`.
pub fn file_store(location: Option<&str>, database: &str) -> anyhow::Result<FileStore> {
    let location = location.map_or_else(
        || default_files_dir(database).display().to_string(),
        str::to_owned,
    );
    Ok(FileStore::open(&location)?)
}

/// `NAME-files` beside a SQLite database file, so its data stays together; else
/// `millrace-files` in the working directory.
pub fn default_files_dir(database: &str) -> PathBuf {
    let sqlite_file = database
        .strip_prefix("sqlite:")
        .map(|rest| rest.trim_start_matches("//"))
        .map(|rest| rest.split('?').next().unwrap_or_default())
        .filter(|path| !path.is_empty());
    match sqlite_file.map(Path::new) {
        Some(file) => {
            let stem = file
                .file_stem()
                .map_or_else(|| "millrace".into(), |s| s.to_string_lossy());
            file.with_file_name(format!("{stem}-files"))
        }
        None => PathBuf::from("millrace-files"),
    }
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

/// The whole HTTP app: probes, metrics, REST API, server functions, pages and static files,
/// compressed; `monitor` counts its requests.
pub fn router(state: AppState, monitor: Arc<Monitor>) -> Router {
    let routes = generate_route_list(App);
    let context_state = state.clone();
    let options = state.leptos_options.clone();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(crate::monitoring::scrape))
        .nest("/pkg", crate::site_files::router(&options))
        .nest("/api/v1", crate::api::router())
        .merge(crate::mlflow::router())
        .merge(crate::mlflow::links::router())
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(context_state.clone()),
            move || shell(options.clone()),
        )
        .route_layer(axum::middleware::from_fn(crate::monitoring::mark_route))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::middleware::authenticate,
        ))
        // A forged request is refused before anything reads its credentials.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::csrf::guard,
        ))
        .layer(axum::middleware::from_fn(crate::compression::compress))
        .layer(axum::middleware::from_fn(crate::monitoring::count))
        .layer(Extension(monitor))
        // Outermost, so every log line of a request, refusals included, carries its id.
        .layer(axum::middleware::from_fn(crate::request_id::assign))
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

/// 200 when the server can do its work: the database answers and the file store takes a
/// write; 503 naming what does not, for a load balancer to route elsewhere meanwhile.
async fn readyz(State(state): State<AppState>) -> (StatusCode, String) {
    let mut missing = Vec::new();
    if let Err(error) = state.db.ping().await {
        tracing::warn!(%error, "readiness: database unavailable");
        missing.push("database unavailable");
    }
    if let Err(error) = state.runs.files.probe().await {
        let files = state.runs.files.location();
        tracing::warn!(%error, files, "readiness: file store unavailable");
        missing.push("file store unavailable");
    }
    match missing.is_empty() {
        true => (StatusCode::OK, "ready\n".into()),
        false => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{}\n", missing.join(", ")),
        ),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quota_of_0_means_no_limit() {
        use clap::Parser;
        let dir = tempfile::tempdir().unwrap();
        let files = dir.path().display().to_string();
        let settings = |quota: &str| {
            let cli = crate::cli::Cli::parse_from([
                "millrace", "serve", "--files", &files, "--quota", quota,
            ]);
            let crate::cli::Command::Serve(args) = cli.command else {
                unreachable!("parsed as serve")
            };
            run_settings(&args, "sqlite://x.db").unwrap()
        };
        assert_eq!(settings("20GB").quota, Some(20_000_000_000));
        assert_eq!(settings("0").quota, None);
    }

    #[test]
    fn files_live_beside_the_sqlite_file_by_default() {
        assert_eq!(
            default_files_dir("sqlite:///srv/millrace.db?mode=rwc"),
            PathBuf::from("/srv/millrace-files")
        );
        assert_eq!(
            default_files_dir("sqlite://data/m.db"),
            PathBuf::from("data/m-files")
        );
        assert_eq!(
            default_files_dir("postgres://db/millrace"),
            PathBuf::from("millrace-files")
        );
    }
}
