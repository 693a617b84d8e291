//! The project's pipelines view (`?pview=pipelines`): its runs, newest first, and one run's
//! graph of steps (`&prun=ID`), drawn as SVG from the layout the server made, each node a link
//! to its step's job; the picked step (`&pstep=NAME`) lists its instances below. Revalidated
//! when a job or a run changes.

use crate::components::error_notice::ErrorNotice;
use crate::components::local_time::LocalTime;
use crate::format::{duration, number};
use crate::hooks::use_page_events::use_job_revisions;
use crate::miller::browse::Browse;
use crate::pipelines::server_fns::{
    get_pipeline_run, get_pipeline_runs, RunPage, RunSummary, StepNode, NODE_HEIGHT, NODE_WIDTH,
};
use crate::project_query::ProjectView;
use crate::view_query::ViewPath;
use leptos::prelude::*;

/// The pipeline runs of `project` (owner, name), or the one run the URL opens.
#[component]
pub fn PipelinesView(project: Memo<(String, String)>) -> impl IntoView {
    let browse = expect_context::<Browse>();
    let open = Memo::new(move |_| browse.query.with(|q| q.project.pipelines.run));
    move || match open.get() {
        Some(id) => view! { <RunView project id/> }.into_any(),
        None => view! { <RunList project/> }.into_any(),
    }
}

#[component]
fn RunList(project: Memo<(String, String)>) -> impl IntoView {
    let live = use_job_revisions(Memo::new(|_| None));
    let runs = Resource::new(
        move || (project.get(), live.status.get()),
        |((owner, name), _)| get_pipeline_runs(owner, name),
    );
    view! {
        <Transition fallback=|| view! { <div class="skeleton-pane"></div> }>
            <ErrorBoundary fallback=|errors| view! { <ErrorNotice errors/> }>
                {move || Suspend::new(async move {
                    runs.await.map(|runs| view! { <RunTable runs/> })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn RunTable(runs: Vec<RunSummary>) -> impl IntoView {
    // Data that lands after the view was closed finds no context: nothing to draw then.
    let Some(browse) = use_context::<Browse>() else {
        return ().into_any();
    };
    if runs.is_empty() {
        return view! {
            <p class="empty">"No pipeline runs yet. Start one with " <code>"millrace apply -f pipeline.yaml"</code> "."</p>
        }
        .into_any();
    }
    let rows = runs
        .into_iter()
        .map(|run| {
            let id = run.id;
            let href = untrack(|| browse.href_with(|q| q.project.pipelines.run = Some(id)));
            let took = run.finished_ms.map(|end| duration(end - run.created_ms));
            view! {
                <tr data-test="pipeline-row">
                    <th scope="row"><a href=href>{format!("{} · run {id}", run.name)}</a></th>
                    <td class=format!("state {}", run.state) title=run.reason>{run.state.clone()}</td>
                    <td class="num">{format!("{} / {}", run.ended, run.steps)}</td>
                    <td class="num">{took.unwrap_or_else(|| "—".to_owned())}</td>
                    <td class="num">{cost(run.cost_usd)}</td>
                    <td><LocalTime ms=run.created_ms/></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="params pipelines" aria-label="Pipeline runs">
            <thead>
                <tr>
                    <th scope="col">"Run"</th>
                    <th scope="col">"State"</th>
                    <th scope="col">"Steps done"</th>
                    <th scope="col">"Took"</th>
                    <th scope="col">"Cost"</th>
                    <th scope="col">"Started"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

fn cost(usd: Option<f64>) -> String {
    usd.map_or_else(|| "—".to_owned(), |c| format!("${c:.2}"))
}

#[component]
fn RunView(project: Memo<(String, String)>, id: i64) -> impl IntoView {
    let live = use_job_revisions(Memo::new(|_| None));
    let run = Resource::new(
        move || (project.get(), live.status.get()),
        move |((owner, name), _)| get_pipeline_run(owner, name, id),
    );
    view! {
        <Transition fallback=|| view! { <div class="skeleton-pane"></div> }>
            <ErrorBoundary fallback=|errors| view! { <ErrorNotice errors/> }>
                {move || Suspend::new(async move {
                    run.await.map(|page| match page {
                        Some(page) => view! { <RunGraph page/> }.into_any(),
                        None => view! { <p class="empty">{format!("There is no pipeline run {id} in this project.")}</p> }.into_any(),
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn RunGraph(page: RunPage) -> impl IntoView {
    let Some(browse) = use_context::<Browse>() else {
        return ().into_any();
    };
    let summary = page.summary;
    let list = untrack(|| {
        browse.href_with(|q| {
            q.project.pipelines.run = None;
            q.project.pipelines.step = None;
        })
    });
    let picked = untrack(|| browse.query.with(|q| q.project.pipelines.step.clone()));
    let rerun = summary
        .rerun_of
        .map(|(old, from)| format!(" · rerun of run {old} from {from}"));
    let edges = page
        .edges
        .into_iter()
        .map(|d| view! { <path d=d/> })
        .collect_view();
    let detail = picked
        .as_ref()
        .and_then(|name| page.nodes.iter().find(|n| &n.name == name).cloned());
    let nodes = page
        .nodes
        .into_iter()
        .map(|node| {
            let selected = picked.as_deref() == Some(node.name.as_str());
            view! { <Node node selected/> }
        })
        .collect_view();
    let (width, height) = (page.width, page.height);
    view! {
        <div class="pipeline-run" data-test="pipeline-run" data-state=summary.state.clone()>
            <p class="run-head">
                <a href=list>"‹ Runs"</a>
                " "
                <strong>{format!("{} · run {}", summary.name, summary.id)}</strong>
                " "
                <span class=format!("state {}", summary.state)>{summary.state.clone()}</span>
                {summary.reason.map(|r| format!(" ({r})"))}
                {rerun}
                {format!(" · {} of {} steps done · {}", summary.ended, summary.steps, cost(summary.cost_usd))}
            </p>
            <div class="dag-scroll">
                <svg
                    class="dag"
                    viewBox=format!("0 0 {width:.0} {height:.0}")
                    width=format!("{width:.0}")
                    height=format!("{height:.0}")
                    role="img"
                    aria-label=format!("The steps of run {}", summary.id)
                >
                    <g class="edges">{edges}</g>
                    {nodes}
                </svg>
            </div>
            {detail.map(|node| view! { <StepDetail node/> })}
        </div>
    }
    .into_any()
}

/// One step's node: its name and fan-out, state and run time, key metric, a `cached` mark.
#[component]
fn Node(node: StepNode, selected: bool) -> impl IntoView {
    let browse = expect_context::<Browse>();
    let name = node.name.clone();
    let href = untrack(|| step_href(&browse, &node));
    let fan_out = (node.instances.len() > 1).then(|| format!(" ×{}", node.instances.len()));
    let cached = node.state == "cached";
    // A cached step ran in an earlier run: its job says which, its run time is not this run's.
    let second = match (node.duration_ms, node.job) {
        (_, Some(job)) if cached => format!("reuses job #{job}"),
        (Some(ms), _) if !cached => format!("{} · {}", node.state, duration(ms)),
        _ => node.state.clone(),
    };
    let metric = node
        .metric
        .as_ref()
        .map(|(key, value)| format!("{key} {}", number(*value)));
    let title = node
        .reason
        .clone()
        .unwrap_or_else(|| format!("{name}: {}", node.state));
    // Each instance's state as a small square, so a fan-out shows how far it got.
    let squares = (node.instances.len() > 1).then(|| {
        node.instances
            .iter()
            .take(24)
            .enumerate()
            .map(|(i, instance)| {
                view! {
                    <rect class=format!("instance {}", instance.state) x=format!("{}", 8 + i * 6) y="50" width="4" height="4"/>
                }
            })
            .collect_view()
    });
    // An SVG group at the root: the macro makes the `a` and `title` inside it SVG elements,
    // which a browser draws when it renders them itself (an HTML `a` in an SVG is not drawn).
    view! {
        <g class="step" data-step=name.clone()>
            <a href=href aria-label=format!("step {name}: {}", node.state)>
                <g
                    class=format!("node {}", node.state)
                    class:selected=selected
                    transform=format!("translate({:.0} {:.0})", node.x, node.y)
                >
                    <title>{title}</title>
                    <rect class="box" width=format!("{NODE_WIDTH:.0}") height=format!("{NODE_HEIGHT:.0}") rx="6"/>
                    <text class="step-name" x="8" y="17">{name.clone()}{fan_out}</text>
                    <text class="step-state" x="8" y="32">{second}</text>
                    <text class="step-metric" x="8" y="46">{metric}</text>
                    {cached.then(|| view! { <text class="cached-mark" x=format!("{:.0}", NODE_WIDTH - 8.0) y="17" text-anchor="end">"cached"</text> })}
                    {squares}
                </g>
            </a>
        </g>
    }
}

/// Where a click on `node` goes: its job in the columns (the pipelines view and the step stay
/// in the URL), or its sweep in the sweeps view; a step with neither yet is picked in place.
fn step_href(browse: &Browse, node: &StepNode) -> String {
    let mut query = browse.query.get();
    query.project.pipelines.step = Some(node.name.clone());
    if let Some(sweep) = node.sweep {
        query.project.view = Some(ProjectView::Sweeps);
        query.project.sweeps.open = Some(sweep);
    }
    let path = browse.path.with(|p| ViewPath {
        job: match node.sweep {
            Some(_) => None,
            None => node.job.map(|n| n.to_string()),
        },
        ..p.clone()
    });
    format!("{}{}", path.href(), query.to_query_string())
}

/// The picked step's instances: state, job and why it failed or was skipped.
#[component]
fn StepDetail(node: StepNode) -> impl IntoView {
    let browse = expect_context::<Browse>();
    let rows = node
        .instances
        .into_iter()
        .map(|instance| {
            let job = instance.job.map(|number| {
                let href = untrack(|| {
                    browse.href_to(&browse.path.with(|p| ViewPath {
                        job: Some(number.to_string()),
                        ..p.clone()
                    }))
                });
                view! { <a href=href>{format!("job #{number}")}</a> }
            });
            view! {
                <tr>
                    <td class="num">{instance.instance}</td>
                    <td class=format!("state {}", instance.state)>{instance.state.clone()}</td>
                    <td>{job}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="step-detail" aria-label=format!("Step {}", node.name)>
            <h3>{format!("Step {}", node.name)}</h3>
            {node.reason.map(|r| view! { <p class="reason">{r}</p> })}
            <table class="params">
                <thead><tr><th scope="col">"Instance"</th><th scope="col">"State"</th><th scope="col">"Job"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
}
