//! Logging: `RUST_LOG`-style filtering, on stderr as readable lines or as JSON objects.

use crate::cli::LogFormat;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; `MILLRACE_LOG` (or `RUST_LOG`) sets the filter, default `info`.
/// JSON lines carry the fields of the span they are in (a request's id, method and path).
pub fn init(format: LogFormat) {
    let filter = std::env::var("MILLRACE_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info,sqlx=warn".to_owned());
    let lines = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => lines.try_init(),
        LogFormat::Json => lines
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}
