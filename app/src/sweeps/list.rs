//! The project's sweeps view (`?pview=sweeps`): its sweeps, newest first, each linking to the
//! sweep's own view in the same pane (`&sweep=ID`). Revalidated when a trial job changes.

use crate::components::error_notice::ErrorNotice;
use crate::components::local_time::LocalTime;
use crate::format::number;
use crate::hooks::use_page_events::use_job_revisions;
use crate::miller::browse::Browse;
use crate::sweeps::server_fns::{get_sweeps, SweepSummary};
use crate::sweeps::view::SweepView;
use leptos::prelude::*;

/// The sweeps of `project` (owner, name), or the one sweep the URL opens.
#[component]
pub fn SweepsView(project: Memo<(String, String)>) -> impl IntoView {
    let browse = expect_context::<Browse>();
    let open = Memo::new(move |_| browse.query.with(|q| q.project.sweeps.open));
    move || match open.get() {
        Some(id) => view! { <SweepView project id/> }.into_any(),
        None => view! { <SweepList project/> }.into_any(),
    }
}

#[component]
fn SweepList(project: Memo<(String, String)>) -> impl IntoView {
    let live = use_job_revisions(Memo::new(|_| None));
    let sweeps = Resource::new(
        move || (project.get(), live.status.get()),
        |((owner, name), _)| get_sweeps(owner, name),
    );
    view! {
        <Transition fallback=|| view! { <div class="skeleton-pane"></div> }>
            <ErrorBoundary fallback=|errors| view! { <ErrorNotice errors/> }>
                {move || Suspend::new(async move {
                    sweeps.await.map(|sweeps| view! { <SweepTable sweeps/> })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn SweepTable(sweeps: Vec<SweepSummary>) -> impl IntoView {
    // Data that lands after the view was closed finds no context: nothing to draw then.
    let Some(browse) = use_context::<Browse>() else {
        return ().into_any();
    };
    if sweeps.is_empty() {
        return view! {
            <p class="empty">"No sweeps yet. Start one with " <code>"millrace apply -f sweep.yaml"</code> "."</p>
        }
        .into_any();
    }
    let rows = sweeps
        .into_iter()
        .map(|sweep| {
            let id = sweep.id;
            let href = untrack(|| browse.href_with(|q| q.project.sweeps.open = Some(id)));
            let best = sweep.best.map_or_else(|| "—".to_owned(), number);
            view! {
                <tr data-test="sweep-row">
                    <th scope="row"><a href=href>{sweep.name}</a></th>
                    <td class=format!("state {}", sweep.state) title=sweep.reason>{sweep.state.clone()}</td>
                    <td class="num">{format!("{} / {}", sweep.ended, sweep.budget)}</td>
                    <td class="num" title=format!("{} {}", sweep.goal.word(), sweep.metric)>{best}</td>
                    <td><LocalTime ms=sweep.created_ms/></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="params sweeps" aria-label="Sweeps">
            <thead>
                <tr>
                    <th scope="col">"Sweep"</th>
                    <th scope="col">"State"</th>
                    <th scope="col">"Trials done"</th>
                    <th scope="col">"Best"</th>
                    <th scope="col">"Created"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}
