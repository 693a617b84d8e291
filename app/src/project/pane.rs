//! The project views right of the jobs column, each at its own URL (`?pview=`): the graph view
//! (the jobs' metrics overlaid, and how their parameters differ), the table view, the sweeps
//! view and the models view.

use crate::miller::browse::Browse;
use crate::project_query::ProjectView;
use crate::split;
use leptos::prelude::*;

/// The open project view, if any (the leaf of the project's route).
#[component]
pub fn ProjectPane() -> impl IntoView {
    let browse = expect_context::<Browse>();
    let view = Memo::new(move |_| browse.query.with(|q| q.project.view));
    let project = Memo::new(move |previous: Option<&(String, String)>| {
        match browse.path.with(|p| (p.user.clone(), p.project.clone())) {
            (Some(owner), Some(project)) => (owner, project),
            // The route is being left: keep the project shown rather than fetch a missing one.
            _ => previous.cloned().unwrap_or_default(),
        }
    });
    let close = move || browse.project_view_href(None, None);
    move || {
        view.get().map(|open| {
            view! {
                <section
                    class="level pane project-pane"
                    class:deepest=move || browse.is_deepest(3)
                    data-index="3"
                    role="region"
                    aria-label="Project view"
                    tabindex="-1"
                >
                    <header class="column-header">
                        <a class="back" href=close>"‹ Back"</a>
                        <nav class="tabs" role="tablist" aria-label="Project views">
                            {ProjectView::ALL.into_iter().map(|v| view! {
                                <a role="tab" href=move || browse.project_view_href(Some(v), None) aria-selected=(v == open).to_string()>
                                    {v.word()}
                                </a>
                            }).collect_view()}
                        </nav>
                        <a class="close" href=close aria-label="Close the project view">"×"</a>
                    </header>
                    <div class="pane-body">
                        <Suspense fallback=|| view! { <div class="skeleton-pane"></div> }>
                            {move || Suspend::new(split::project_view(open, project))}
                        </Suspense>
                    </div>
                </section>
            }
        })
    }
}
