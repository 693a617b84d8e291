//! `/runners`: the runners registered with this server, their GPUs, labels, load and last
//! heartbeat, read again every few seconds while the page is in view.

use crate::components::error_notice::ErrorNotice;
use crate::components::page_bar::PageBar;
use crate::job::runs::list_runners;
use crate::model::RunnerInfo;
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
    view! {
        <PageBar/>
        <main class="runners-page">
            <h1>"Runners"</h1>
            <Transition fallback=|| view! { <div class="skeleton-pane"></div> }>
                <ErrorBoundary fallback=|errors| view! { <ErrorNotice errors/> }>
                    {move || Suspend::new(async move { runners.await.map(|list| view! { <RunnerTable list/> }) })}
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
