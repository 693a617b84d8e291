//! `/runners`: the runners registered with this server, their GPUs, labels, load and last
//! heartbeat.

use crate::components::error_notice::ErrorNotice;
use crate::components::page_bar::PageBar;
use crate::model::RunnerInfo;
use crate::server_fns::runs::list_runners;
use leptos::prelude::*;

/// The runners page.
#[component]
pub fn RunnersPage() -> impl IntoView {
    let runners = Resource::new(|| (), |_| list_runners());
    view! {
        <PageBar/>
        <main class="runners-page">
            <h1>"Runners"</h1>
            <Suspense fallback=|| view! { <div class="skeleton-pane"></div> }>
                <ErrorBoundary fallback=|errors| view! { <ErrorNotice errors/> }>
                    {move || Suspend::new(async move { runners.await.map(|list| view! { <RunnerTable list/> }) })}
                </ErrorBoundary>
            </Suspense>
        </main>
    }
}

#[component]
fn RunnerTable(list: Vec<RunnerInfo>) -> impl IntoView {
    if list.is_empty() {
        return view! {
            <p class="empty">
                "No runner has registered. On a GPU machine: "
                <code>"millrace runner --server URL --token TOKEN --gpus 0,1"</code>
                " (a token from " <code>"millrace runner-token create"</code> ")."
            </p>
        }
        .into_any();
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
                            <td>{gpus}</td>
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
