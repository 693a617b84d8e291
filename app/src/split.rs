//! The views and pages a first visit does not need, each in a chunk of the browser bundle of
//! its own that is loaded when it opens (cargo-leptos `--split`), and which of them a URL opens:
//! the browser loads those before it hydrates, because a view still loading would hydrate as
//! nothing over the markup the server sent for it.

use crate::artifacts::server_fns::ArtifactsPage;
use crate::artifacts::view::ArtifactsTab;
use crate::metrics::compare::CompareView;
use crate::metrics::panels::MetricPanels;
use crate::metrics::server_fns::PanelPage;
use crate::pipelines::view::PipelinesView;
use crate::project::new_page::NewProjectPage;
use crate::project_query::ProjectView;
use crate::registry::view::ModelsView;
use crate::runners::page::RunnersPage;
use crate::settings::tokens_page::TokensPage;
use crate::sweeps::list::SweepsView;
use crate::table::view::JobTable;
use leptos::prelude::*;

/// The project view `open` of `project` (owner, name), once its chunk is loaded.
pub async fn project_view(open: ProjectView, project: Memo<(String, String)>) -> AnyView {
    match open {
        ProjectView::Charts => charts(project).await,
        ProjectView::Table => table(project).await,
        ProjectView::Sweeps => sweeps(project).await,
        ProjectView::Pipelines => pipelines(project).await,
        ProjectView::Models => models(project).await,
    }
}

/// A job's metrics tab: its chart settings and panels, once their chunk is loaded.
#[lazy]
pub fn metric_panels(page: PanelPage, revision: Signal<u64>) -> AnyView {
    view! { <MetricPanels page revision/> }.into_any()
}

/// A job's artifacts tab: its file tree and previews, once their chunk is loaded.
#[lazy]
pub fn artifacts_tab(page: ArtifactsPage) -> AnyView {
    view! { <ArtifactsTab page/> }.into_any()
}

/// `/runners`, once its chunk is loaded.
#[component]
pub fn Runners() -> impl IntoView {
    page(OtherPage::Runners)
}

/// `/settings/tokens`, once its chunk is loaded.
#[component]
pub fn Tokens() -> impl IntoView {
    page(OtherPage::Tokens)
}

/// `/projects/new`, once its chunk is loaded.
#[component]
pub fn NewProject() -> impl IntoView {
    page(OtherPage::NewProject)
}

/// The pages outside the Miller view. One chunk holds them all: each split point adds chunks
/// for the code it shares with the others, and a page opened by URL waits for all of its
/// chunks (a split point per page doubled the chunks of the table view, and its cold load).
#[derive(Clone, Copy)]
enum OtherPage {
    Runners,
    Tokens,
    NewProject,
}

/// A whole page that loads with its chunk; nothing shows meanwhile (for a moment, in the
/// browser only: the server's HTML has the page).
fn page(which: OtherPage) -> impl IntoView {
    view! { <Suspense fallback=|| ()>{move || Suspend::new(other_page(which))}</Suspense> }
}

#[lazy]
fn other_page(which: OtherPage) -> AnyView {
    match which {
        OtherPage::Runners => view! { <RunnersPage/> }.into_any(),
        OtherPage::Tokens => view! { <TokensPage/> }.into_any(),
        OtherPage::NewProject => view! { <NewProjectPage/> }.into_any(),
    }
}

#[lazy]
fn charts(project: Memo<(String, String)>) -> AnyView {
    view! { <CompareView project/> }.into_any()
}

#[lazy]
fn table(project: Memo<(String, String)>) -> AnyView {
    view! { <JobTable project/> }.into_any()
}

#[lazy]
fn sweeps(project: Memo<(String, String)>) -> AnyView {
    view! { <SweepsView project/> }.into_any()
}

#[lazy]
fn pipelines(project: Memo<(String, String)>) -> AnyView {
    view! { <PipelinesView project/> }.into_any()
}

#[lazy]
fn models(project: Memo<(String, String)>) -> AnyView {
    view! { <ModelsView project/> }.into_any()
}

/// The chunks the page at the browser's URL shows, loaded before hydration needs them.
#[cfg(feature = "hydrate")]
pub async fn preload_for_location() {
    use crate::view_query::{JobTab, ViewPath, ViewQuery};
    use leptos_router::location::{BrowserUrl, LocationProvider};

    let Ok(url) = BrowserUrl::current() else {
        return;
    };
    // As the router matches: with or without a trailing slash.
    match url.path().trim_end_matches('/') {
        "/runners" | "/settings/tokens" | "/projects/new" => return __preload_other_page().await,
        _ => {}
    }
    let Some(path) = ViewPath::from_pathname(url.path()) else {
        return;
    };
    let query = ViewQuery::from_params(url.search_params());
    match (&path.project, &path.job, query.project.view) {
        (Some(_), None, Some(ProjectView::Charts)) => __preload_charts().await,
        (Some(_), None, Some(ProjectView::Table)) => __preload_table().await,
        (Some(_), None, Some(ProjectView::Sweeps)) => __preload_sweeps().await,
        (Some(_), None, Some(ProjectView::Pipelines)) => __preload_pipelines().await,
        (Some(_), None, Some(ProjectView::Models)) => __preload_models().await,
        (Some(_), Some(_), _) if query.tab == JobTab::Metrics => __preload_metric_panels().await,
        (Some(_), Some(_), _) if query.tab == JobTab::Artifacts => __preload_artifacts_tab().await,
        _ => {}
    }
}
