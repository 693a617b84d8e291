//! The logs tab: a job's output, server-rendered as its tail, then followed live, searchable,
//! and virtualised (only the lines near the viewport are in the DOM).

use crate::job::runs::get_logs;
use crate::model::{JobStatus, LogPage};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::time::Duration;

/// Height of one log line in pixels; the stylesheet sets the same.
const LINE_PX: i32 = 18;
/// Lines rendered above and below the viewport.
const OVERSCAN: usize = 100;
/// Lines rendered before the viewport's height is known (server render, first frame).
const FIRST_WINDOW: usize = 300;
/// How often a running job's output is asked for.
const POLL: Duration = Duration::from_millis(3000);

/// One line of output.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Line {
    stderr: bool,
    text: String,
}

fn lines_of(page: &LogPage) -> Vec<Line> {
    page.chunks
        .iter()
        .flat_map(|chunk| {
            chunk.text.lines().map(move |text| Line {
                stderr: chunk.stderr,
                text: text.to_owned(),
            })
        })
        .collect()
}

/// The output of job `job` of `owner/project`, starting from `first` (its server-rendered tail).
#[component]
pub fn JobLogs(
    /// The project's owner.
    owner: String,
    /// The project.
    project: String,
    /// The job's number or global id.
    job: String,
    /// The tail the page was rendered with.
    first: LogPage,
    /// Goes up when the server reports new output: read it now rather than at the next poll.
    revision: Signal<u64>,
) -> impl IntoView {
    let hint = format!("millrace logs {owner}/{project}/{job}");
    let lines = RwSignal::new(lines_of(&first));
    let next = StoredValue::new(first.next);
    let status = RwSignal::new(first.status);
    let query = RwSignal::new(String::new());
    let follow = RwSignal::new(true);
    let scroll_top = RwSignal::new(0);
    let viewport = RwSignal::new(0);
    let view_ref = NodeRef::<leptos::html::Div>::new();

    let shown = Memo::new(move |_| {
        let needle = query.get().to_lowercase();
        lines.with(|all| {
            (0..all.len())
                .filter(|&i| needle.is_empty() || all[i].text.to_lowercase().contains(&needle))
                .collect::<Vec<usize>>()
        })
    });
    let window = move || {
        let count = shown.with(Vec::len);
        let height = viewport.get();
        if height == 0 {
            return (count.saturating_sub(FIRST_WINDOW), count);
        }
        let top = usize::try_from(scroll_top.get() / LINE_PX).unwrap_or(0);
        let visible = usize::try_from(height / LINE_PX).unwrap_or(0) + 1;
        let start = top.saturating_sub(OVERSCAN).min(count);
        (start, (top + visible + OVERSCAN).min(count))
    };

    // One read at a time (two reads from the same position would add the same lines twice);
    // a poll asked for meanwhile runs right after, and so does the next page while the server
    // says more is waiting (each answer is bounded in bytes).
    let (busy, again) = (StoredValue::new(false), StoredValue::new(false));
    let behind = StoredValue::new(first.more);
    let poll = move || {
        if status.get_untracked().is_finished() && !behind.get_value() {
            return;
        }
        if busy.get_value() {
            again.set_value(true);
            return;
        }
        busy.set_value(true);
        let (owner, project, job) = (owner.clone(), project.clone(), job.clone());
        spawn_local(async move {
            loop {
                let asked = get_logs(
                    owner.clone(),
                    project.clone(),
                    job.clone(),
                    Some(next.get_value()),
                );
                match asked.await {
                    Ok(page) => {
                        next.set_value(page.next);
                        status.set(page.status);
                        behind.set_value(page.more);
                        let more = lines_of(&page);
                        if !more.is_empty() {
                            lines.update(|all| all.extend(more));
                        }
                    }
                    // Stop here, not in a tight loop; the next poll tries again.
                    Err(_) => behind.set_value(false),
                }
                if !again.get_value() && !behind.get_value() {
                    break;
                }
                again.set_value(false);
            }
            busy.set_value(false);
        });
    };
    // New output reported by the server: read it at once.
    Effect::new({
        let poll = poll.clone();
        move |previous: Option<u64>| {
            let now = revision.get();
            if previous.is_some_and(|p| p != now) {
                poll();
            }
            now
        }
    });
    // In the browser only (effects do not run on the server): poll while the job runs, in
    // case the stream is down.
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(poll.clone(), POLL) {
            on_cleanup(move || handle.clear());
        }
    });
    let to_end = move || {
        if let Some(el) = view_ref.get_untracked() {
            el.set_scroll_top(el.scroll_height());
        }
    };
    // Measure once mounted, and keep the newest line in view while following.
    Effect::new(move |_| {
        shown.track();
        if let Some(el) = view_ref.get() {
            viewport.set(el.client_height());
            if follow.get_untracked() {
                el.set_scroll_top(el.scroll_height());
            }
        }
    });
    let on_scroll = move |_| {
        if let Some(el) = view_ref.get_untracked() {
            scroll_top.set(el.scroll_top());
            viewport.set(el.client_height());
            follow.set(el.scroll_height() - (el.scroll_top() + el.client_height()) < LINE_PX * 2);
        }
    };

    view! {
        <div class="logs">
            <div class="logs-bar">
                <input
                    type="search"
                    class="logs-search"
                    placeholder="Search the output"
                    aria-label="Search the output"
                    on:input=move |ev| query.set(event_target_value(&ev))
                />
                <span class="logs-state" aria-live="polite">
                    {move || log_state(status.get(), shown.with(Vec::len), lines.with(Vec::len), query.with(String::is_empty))}
                </span>
                <button on:click=move |_| { follow.set(true); to_end() }>"Jump to end"</button>
            </div>
            {first.cut.then(|| view! {
                <p class="logs-cut">"Earlier output is left out here: " <code>{hint}</code> " prints all of it."</p>
            })}
            <div class="log-view" node_ref=view_ref on:scroll=on_scroll role="log" aria-label="Job output" tabindex="0">
                <div class="log-space" style=move || format!("height: {}px", shown.with(Vec::len) as i32 * LINE_PX)>
                    {move || {
                        let (start, end) = window();
                        let rows = shown.with(|s| s[start..end].to_vec());
                        let top = start as i32 * LINE_PX;
                        lines.with(|all| view! {
                            <pre class="log-lines" style=format!("top: {top}px")>
                                {rows.into_iter().map(|i| {
                                    let line = &all[i];
                                    view! { <span class="log-line" class:stderr=line.stderr>{line.text.clone()}</span> }
                                }).collect_view()}
                            </pre>
                        })
                    }}
                </div>
            </div>
        </div>
    }
}

fn log_state(status: JobStatus, shown: usize, total: usize, unfiltered: bool) -> String {
    let count = if unfiltered {
        format!("{total} lines")
    } else {
        format!("{shown} of {total} lines match")
    };
    if status.is_finished() {
        format!("{count} · {}", status.as_str())
    } else {
        format!("{count} · following ({})", status.as_str())
    }
}
