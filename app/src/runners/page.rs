//! `/runners`: the runners registered with this server, their GPUs, labels, load and last
//! heartbeat, and the pools that create machines, read again every few seconds while the page
//! is in view.

use crate::components::error_notice::ErrorNotice;
use crate::components::local_time::LocalTime;
use crate::components::page_bar::PageBar;
use crate::job::runs::list_runners;
use crate::model::RunnerInfo;
use crate::runners::pool::{PoolInfo, PoolSettings};
use crate::runners::server_fns::list_pools;
use leptos::prelude::*;
use std::time::Duration;

/// How often the page reads the runners again while it is in view. What it shows changes
/// with every heartbeat (each runner's every few seconds), which writes no event to follow.
const REFRESH_EVERY: Duration = Duration::from_secs(5);

/// The runners page.
#[component]
pub fn RunnersPage() -> impl IntoView {
    let reads = RwSignal::new(0u64);
    // In the browser only (effects do not run on the server); a hidden tab reads nothing.
    Effect::new(move |_| {
        let again = move || {
            if !document().hidden() {
                reads.update(|n| *n += 1);
            }
        };
        if let Ok(handle) = set_interval_with_handle(again, REFRESH_EVERY) {
            on_cleanup(move || handle.clear());
        }
    });
    let runners = Resource::new(move || reads.get(), |_| list_runners());
    let pools = Resource::new(move || reads.get(), |_| list_pools());
    view! {
        <PageBar/>
        <main class="runners-page">
            <h1>"Runners"</h1>
            <Transition fallback=|| view! { <div class="skeleton-pane"></div> }>
                <ErrorBoundary fallback=|errors| view! { <ErrorNotice errors/> }>
                    {move || Suspend::new(async move { runners.await.map(|list| view! { <RunnerTable list/> }) })}
                </ErrorBoundary>
            </Transition>
            <h2>"Pools"</h2>
            <Transition fallback=|| view! { <div class="skeleton-pane"></div> }>
                <ErrorBoundary fallback=|errors| view! { <ErrorNotice errors/> }>
                    {move || Suspend::new(async move { pools.await.map(|list| view! { <Pools list/> }) })}
                </ErrorBoundary>
            </Transition>
            <p class="hint">
                "To add a runner, on a GPU machine: "
                <code>"millrace runner --server URL --token TOKEN"</code>
                " (a token from " <code>"millrace runner-token create"</code>
                "; it finds its GPUs with nvidia-smi, or give them with "
                <code>"--gpus 0,1"</code> ")."
            </p>
        </main>
    }
}

#[component]
fn RunnerTable(list: Vec<RunnerInfo>) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="empty">"No runner has registered."</p> }.into_any();
    }
    view! {
        <table class="runners">
            <thead>
                <tr><th>"Runner"</th><th>"Host"</th><th>"GPUs busy"</th><th>"Labels"</th><th>"Jobs"</th><th>"Last heartbeat"</th></tr>
            </thead>
            <tbody>
                {list.into_iter().map(|r| {
                    let silent = r.seen_ago_s > RunnerInfo::SILENT_AFTER_S;
                    let gpus = if r.gpus.is_empty() { "none".to_owned() } else { format!("{} of {} ({})", r.busy_gpus, r.gpus.len(), r.gpus.join(", ")) };
                    view! {
                        <tr class:silent=silent>
                            <td>{r.name}</td>
                            <td>{r.hostname}</td>
                            <td>
                                {gpus}
                                {(!r.gpu_models.is_empty()).then(|| view! {
                                    <div class="gpu-models">{crate::format::gpus(&r.gpu_models)}</div>
                                })}
                            </td>
                            <td>{if r.labels.is_empty() { "—".to_owned() } else { r.labels.join(", ") }}</td>
                            <td>{format!("{} of {}", r.active_jobs, r.max_jobs)}</td>
                            <td>{ago(r.seen_ago_s)}{silent.then_some(" (silent)")}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn Pools(list: Vec<PoolInfo>) -> impl IntoView {
    if list.is_empty() {
        return view! {
            <p class="empty">
                "No pools. An administrator adds one with " <code>"millrace apply -f pool.yaml"</code>
                ": machines created when jobs wait, deleted when idle."
            </p>
        }
        .into_any();
    }
    list.into_iter()
        .map(|pool| view! { <Pool pool/> })
        .collect_view()
        .into_any()
}

/// One pool: what it is, what it costs, its machines and their latest changes.
#[component]
fn Pool(pool: PoolInfo) -> impl IntoView {
    let PoolInfo {
        name,
        settings,
        machines,
        spent_today,
        spent_this_month,
        held,
        history,
    } = pool;
    let facts = pool_facts(&settings, machines.len());
    view! {
        <section class="pool" aria-label=format!("Pool {name}")>
            <h3>{name.clone()}</h3>
            <p class="pool-facts">{facts}</p>
            <p class="pool-spend">
                {format!("Spent ${spent_today:.2} today, ${spent_this_month:.2} this month")}
                {settings.max_cost_per_day.map(|max| format!(" (at most ${max:.2} a day)"))}
            </p>
            {held.map(|why| view! { <p class="pool-held" role="status">{why}</p> })}
            {if machines.is_empty() {
                view! { <p class="empty">"No machines."</p> }.into_any()
            } else {
                view! {
                    <table class="machines" aria-label=format!("Machines of {name}")>
                        <thead><tr><th>"Machine"</th><th>"State"</th><th>"For"</th></tr></thead>
                        <tbody>
                            {machines.into_iter().map(|m| view! {
                                <tr>
                                    <td>{m.name}</td>
                                    <td class=format!("machine-state {}", m.state.as_str())>{m.state.as_str()}</td>
                                    <td>{crate::format::duration(m.state_for_s * 1000)}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
            <details class="pool-history">
                <summary>"History"</summary>
                <ol>
                    {history.into_iter().map(|change| view! {
                        <li>
                            <LocalTime ms=change.at_ms/>
                            " " {change.machine} " " <strong>{change.state.as_str()}</strong>
                            {(!change.reason.is_empty()).then(|| format!(": {}", change.reason))}
                        </li>
                    }).collect_view()}
                </ol>
            </details>
        </section>
    }
}

/// `a100, spot · 8 GPUs per machine (A100, 80.0 GB) · $14.50 an hour · 2 of at most 4
/// machines, at least 0 · idle ones go after 10 min`.
fn pool_facts(settings: &PoolSettings, machines: usize) -> String {
    let labels = if settings.labels.is_empty() {
        "no labels".to_owned()
    } else {
        settings.labels.join(", ")
    };
    let gpu = match (&settings.gpu_model, settings.gpu_memory_mib) {
        (Some(model), Some(mib)) => format!(" ({model}, {:.1} GB)", mib as f64 * 1_048_576.0 / 1e9),
        (Some(model), None) => format!(" ({model})"),
        (None, Some(mib)) => format!(" ({:.1} GB)", mib as f64 * 1_048_576.0 / 1e9),
        (None, None) => String::new(),
    };
    format!(
        "{labels} · {} GPUs per machine{gpu} · ${:.2} an hour · {machines} of at most {} machines, \
         at least {} · idle ones go after {}",
        settings.gpus_per_machine,
        settings.price_per_hour,
        settings.max,
        settings.min,
        crate::format::duration(i64::try_from(settings.idle_timeout_s).unwrap_or(0) * 1000)
    )
}

/// `12 s ago`, `5 min ago`, `3 h ago`, `2 d ago`.
fn ago(seconds: i64) -> String {
    match seconds.max(0) {
        s if s < 60 => format!("{s} s ago"),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 86_400 => format!("{} h ago", s / 3600),
        s => format!("{} d ago", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::ago;

    #[test]
    fn heartbeat_ages_read_in_the_largest_whole_unit() {
        assert_eq!(ago(-3), "0 s ago");
        assert_eq!(ago(59), "59 s ago");
        assert_eq!(ago(61), "1 min ago");
        assert_eq!(ago(7200), "2 h ago");
        assert_eq!(ago(200_000), "2 d ago");
    }
}
