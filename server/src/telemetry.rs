//! Logging: `RUST_LOG`-style filtering, human-readable lines on stderr.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; `MILLRACE_LOG` (or `RUST_LOG`) sets the filter, default `info`.
pub fn init() {
    let filter = std::env::var("MILLRACE_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info,sqlx=warn".to_owned());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .try_init();
}
