//! The project's graph view: a panel per metric key with the compared jobs overlaid (the chosen
//! ones, or the jobs column's first few), a legend, and the parameters that differ.

use crate::chart::svg::PALETTE;
use crate::components::error_notice::ErrorNotice;
use crate::hooks::use_on_screen::OnScreen;
use crate::hooks::use_page_events::use_job_revisions;
use crate::metrics::panels::{counts, filter_note, series, ChartBar, PanelGrid, PanelView};
use crate::metrics::server_fns::{get_compare, ComparePage};
use crate::miller::browse::Browse;
use crate::model::JobSort;
use crate::project_query::ProjectView;
use crate::view_query::{ColumnQuery, ViewPath};
use leptos::prelude::*;

/// The graph view of `project` (owner, name), revalidated when its jobs change.
#[component]
pub fn CompareView(project: Memo<(String, String)>) -> impl IntoView {
    let browse = expect_context::<Browse>();
    let live = use_job_revisions(Memo::new(|_| None));
    let wanted = Memo::new(move |_| {
        browse.query.with(|q| {
            let compare = q.project.compare.clone();
            // The jobs column's order matters only when it picks the jobs.
            let top = if compare.is_empty() {
                q.jobs.clone()
            } else {
                ColumnQuery::<JobSort>::default()
            };
            (compare, top, q.chart.clone())
        })
    });
    let page = Resource::new(
        move || {
            (
                project.get(),
                wanted.get(),
                live.metrics.get(),
                live.status.get(),
            )
        },
        |((owner, name), (jobs, top, chart), _, _)| get_compare(owner, name, jobs, top, chart),
    );
    view! {
        <Transition fallback=|| view! { <div class="skeleton-pane"></div> }>
            <ErrorBoundary fallback=|errors| view! { <ErrorNotice errors/> }>
                {move || Suspend::new(async move {
                    page.await.map(|page| view! { <CompareBody page/> })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn CompareBody(page: ComparePage) -> impl IntoView {
    // Data that lands after the view was closed finds no context: nothing to draw then.
    let Some(browse) = use_context::<Browse>() else {
        return ().into_any();
    };
    let chosen = browse.query.with_untracked(|q| q.project.compare.clone());
    let chart = browse.query.with_untracked(|q| q.chart.clone());
    if page.jobs.is_empty() && page.missing.is_empty() {
        return view! {
            <p class="empty">"No jobs to compare yet. Select jobs in the list and choose Compare."</p>
        }
        .into_any();
    }
    let heading = if chosen.is_empty() {
        format!("The first {} jobs of the list", page.jobs.len())
    } else {
        format!("Comparing {} jobs", page.jobs.len())
    };
    let missing = (!page.missing.is_empty()).then(|| {
        let numbers: Vec<String> = page.missing.iter().map(|n| format!("#{n}")).collect();
        view! { <p class="job-error" role="status">{format!("Not in this project: {}.", numbers.join(", "))}</p> }
    });
    let labels: Vec<String> = page
        .jobs
        .iter()
        .map(|j| format!("#{} {}", j.number, j.name))
        .collect();
    let legend = page
        .jobs
        .iter()
        .enumerate()
        .map(|(i, job)| {
            let (r, g, b) = PALETTE[i % PALETTE.len()];
            let open = browse.path.with_untracked(|p| ViewPath {
                job: Some(job.number.to_string()),
                ..p.clone()
            });
            let href = untrack(|| browse.href_to(&open));
            let number = job.number;
            let without: Vec<i64> = chosen.iter().copied().filter(|n| *n != number).collect();
            let remove = (!chosen.is_empty()).then(|| {
                let href = untrack(|| browse.project_view_href(Some(ProjectView::Charts), Some(without)));
                view! { <a class="remove" href=href aria-label=format!("Stop comparing #{number}")>"×"</a> }
            });
            view! {
                <li>
                    <span class="swatch" style=format!("background: rgb({r}, {g}, {b})")></span>
                    <a href=href>{labels[i].clone()}</a>
                    {remove}
                </li>
            }
        })
        .collect_view();
    let summary = counts(page.total, page.matching, &chart.keys);
    let more = (page.matching > page.panels.len()).then(|| {
        format!(
            "Showing the first {}; filter by key to find the others.",
            page.panels.len()
        )
    });
    let panels: Vec<PanelView> = page
        .panels
        .into_iter()
        .map(|panel| PanelView {
            caption: ArcSignal::stored(format!(
                "{} · {} of {} jobs",
                panel.key,
                panel.lines.len(),
                labels.len()
            )),
            series: ArcSignal::stored(Some(
                panel
                    .lines
                    .iter()
                    .map(|(job, line)| series(line, *job, labels[*job].clone()))
                    .collect(),
            )),
            key: panel.key,
        })
        .collect();
    // Which parameters show is a view of data already here: switching refetches nothing.
    let all_params = Memo::new(move |_| browse.query.with(|q| q.project.all_params));
    let toggle = move || browse.href_with(|q| q.project.all_params = !all_params.get());
    let (rows, labels) = (StoredValue::new(page.params), StoredValue::new(labels));
    let params = move || {
        let all = all_params.get();
        let rows: Vec<_> = rows.with_value(|rows| {
            rows.iter()
                .filter(|row| all || row.differs)
                .cloned()
                .collect()
        });
        if rows.is_empty() {
            let text = if all {
                "No parameters."
            } else {
                "The parameters are the same for all."
            };
            return view! { <p class="empty">{text}</p> }.into_any();
        }
        view! {
            <table class="params compare-params">
                <thead>
                    <tr><th>"Parameter"</th>{labels.get_value().into_iter().map(|l| view! { <th>{l}</th> }).collect_view()}</tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|row| view! {
                        <tr class:same=!row.differs>
                            <th>{row.key}</th>
                            {row.values.into_iter().map(|v| view! { <td>{v}</td> }).collect_view()}
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        }
        .into_any()
    };
    view! {
        <h2 class="job-title">{heading}</h2>
        {missing}
        <ul class="legend" aria-label="Jobs">{legend}</ul>
        <ChartBar chart=chart.clone()/>
        <p class="panels-summary" role="status">{summary}</p>
        {filter_note(page.filter_error)}
        <PanelGrid panels=Signal::stored(panels) on_screen=OnScreen::new() chart/>
        {more.map(|text| view! { <p class="panels-more">{text}</p> })}
        <h3>"Parameters"</h3>
        <a class="toggle" href=toggle>{move || if all_params.get() { "Only differences" } else { "All parameters" }}</a>
        {params}
    }
    .into_any()
}
