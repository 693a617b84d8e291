//! The built site's files under `/pkg`: the `.br` and `.gz` twins made at build time when the
//! browser takes them, and, when names carry a content hash, cached for a year.

use axum::http::header::{HeaderValue, CACHE_CONTROL, VARY};
use axum::response::Response;
use axum::Router;
use leptos::config::LeptosOptions;
use std::path::Path;
use tower_http::services::ServeDir;

/// For files whose name changes with their content: any copy is good forever.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// For files whose name stays: ask the server each time (it answers 304 when unchanged).
const REVALIDATE: &str = "no-cache";

/// The router of `/pkg` for the site `options` describes.
pub fn router<S: Clone + Send + Sync + 'static>(options: &LeptosOptions) -> Router<S> {
    let dir = Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    let policy = HeaderValue::from_static(if options.hash_files {
        IMMUTABLE
    } else {
        REVALIDATE
    });
    Router::new()
        .fallback_service(files)
        .layer(axum::middleware::map_response(
            move |mut response: Response| {
                let policy = policy.clone();
                async move {
                    // Served by a fallback, which matches no route pattern of its own.
                    response
                        .extensions_mut()
                        .insert(crate::monitoring::Route("/pkg/{file}".into()));
                    if response.status().is_success() || response.status().is_redirection() {
                        let headers = response.headers_mut();
                        headers.insert(CACHE_CONTROL, policy);
                        // Which twin is sent depends on Accept-Encoding: a shared cache must
                        // keep them apart.
                        headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
                    }
                    response
                }
            },
        ))
}
