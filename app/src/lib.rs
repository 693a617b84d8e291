//! millrace's web app: the page shell, the routes, a folder per feature (views and server
//! functions) and, on the server, the store.

// Views are nested static types; the release build (without `erase_components`) needs more
// depth than the default 128 to lay out the graph view's.
#![recursion_limit = "256"]

pub mod artifacts;
pub mod chart;
pub mod components;
pub mod error;
pub mod format;
pub mod home;
pub mod hooks;
pub mod job;
pub mod limits;
pub mod metrics;
pub mod miller;
pub mod model;
pub mod pipelines;
pub mod project;
pub mod project_query;
pub mod registry;
pub mod routes;
pub mod runners;
pub mod server_fns;
pub mod session;
pub mod settings;
pub mod split;
pub mod sweeps;
pub mod table;
pub mod url;
pub mod view_query;

#[cfg(feature = "ssr")]
pub mod auth;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod file_store;
#[cfg(feature = "ssr")]
pub mod state;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};

/// Follows a link the MLflow client printed (`/#/experiments/3/runs/ID`) to the path the server
/// resolves (`/experiments/3/runs/ID`), on loading and when only the fragment changes; on the
/// sign-in page, keeps it as where to go after.
const MLFLOW_LINKS: &str = r#"(function(){function go(){var h=location.hash,p=location.pathname;
if(!/^#\/experiments\/[^\/?#]+(\/runs\/[^\/?#]+)?\/?$/.test(h))return;
var t=h.slice(1).replace(/\/$/,"");
if(p==="/")location.replace(t);
else if(p==="/login")location.replace("/login?next="+encodeURIComponent(t));}
go();addEventListener("hashchange",go);})()"#;

/// Notes in the page when back or forward moved it before the app loaded. Entries the app
/// pushed stay in a reloaded document's history, so such a move changes the URL without
/// loading the HTML that belongs to it, and [`hydrate`] must not take this HTML for that URL.
const EARLY_MOVES: &str =
    r#"addEventListener("popstate",function(){window.__millraceMoved=true});"#;

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let css = stylesheet(&options);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                // An empty icon, so browsers do not ask for a favicon that does not exist.
                <link rel="icon" href="data:,"/>
                // Inline, so the first paint does not wait for a second request: across a
                // 250 ms round trip a linked sheet held it back by about 800 ms.
                {match css {
                    Some(css) => view! { <style inner_html=css></style> }.into_any(),
                    None => view! { <link rel="stylesheet" href="/pkg/millrace.css"/> }.into_any(),
                }}
                // Before anything else loads: the MLflow client's links carry their target in
                // the fragment, which only the page itself can read.
                <script inner_html=MLFLOW_LINKS></script>
                <script inner_html=EARLY_MOVES></script>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The built stylesheet, read from disk once per process; `None` when the site has none.
pub fn stylesheet(options: &LeptosOptions) -> Option<String> {
    static CSS: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    CSS.get_or_init(|| std::fs::read_to_string(css_file(options)).ok())
        .clone()
}

/// Where the built stylesheet is: `pkg/millrace.HASH.css` when cargo-leptos hashed the names
/// (the hash is in the `hash.txt` it leaves beside the binary, where Leptos reads it too).
fn css_file(options: &LeptosOptions) -> std::path::PathBuf {
    let plain = options.css_file_path();
    if !options.hash_files {
        return plain;
    }
    let hashes = std::env::current_exe()
        .ok()
        .and_then(|exe| std::fs::read_to_string(exe.with_file_name(&*options.hash_file)).ok())
        .unwrap_or_default();
    let hash = hashes
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(kind, _)| kind.trim() == "css")
        .map(|(_, hash)| hash.trim().to_owned());
    match hash {
        Some(hash) => plain.with_file_name(format!("{}.{hash}.css", options.output_name)),
        None => plain,
    }
}

/// The app: title and routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text="millrace"/>
        <routes::AppRoutes/>
    }
}

/// Entry point of the browser bundle: loads the chunks of the views the URL opens, then
/// hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Not Leptos's own spawner: hydration is what starts it.
    wasm_bindgen_futures::spawn_local(async {
        split::preload_for_location().await;
        if moved_before_hydration() {
            // The HTML is another URL's: load the page where the person went instead.
            let _ = leptos::prelude::window().location().reload();
            return;
        }
        leptos::mount::hydrate_body(App);
    });
}

/// Whether back or forward changed the URL since the server rendered this page (see
/// [`EARLY_MOVES`]).
#[cfg(feature = "hydrate")]
fn moved_before_hydration() -> bool {
    let window = leptos::prelude::window();
    js_sys::Reflect::get(&window, &"__millraceMoved".into()).is_ok_and(|moved| moved.is_truthy())
}
