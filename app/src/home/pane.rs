//! The home view's pane, right of the users column.

use super::recent::remembered;
use super::{get_home, Capacity, Home, HomeJob};
use crate::components::error_notice::ErrorNotice;
use crate::components::local_time::LocalTime;
use crate::hooks::use_page_events::use_job_revisions;
use crate::url::encode_component as encode;
use leptos::prelude::*;

/// `/`: the signed-in person's jobs that run or wait and that failed lately, the projects this
/// browser opened lately, and the runners' capacity; read again whenever one of their jobs
/// changes state.
#[component]
pub fn HomePane() -> impl IntoView {
    let changes = use_job_revisions(Memo::new(|_| None)).status;
    let home = Resource::new(move || changes.get(), |_| get_home());
    view! {
        <section class="pane home" role="region" aria-label="Home">
            <div class="pane-body">
                <Transition fallback=|| view! { <div class="skeleton-pane"></div> }>
                    <ErrorBoundary fallback=|errors| view! { <ErrorNotice errors/> }>
                        {move || Suspend::new(async move { home.await.map(|home| view! { <Lists home/> }) })}
                    </ErrorBoundary>
                </Transition>
                <RecentProjects/>
            </div>
        </section>
    }
}

#[component]
fn Lists(home: Home) -> impl IntoView {
    view! {
        <h2>"Your running and queued jobs"</h2>
        <JobList jobs=home.in_progress empty="None of your jobs runs or waits."/>
        <h2>"Failed in the last day"</h2>
        <JobList jobs=home.failed empty="None of your jobs failed in the last day."/>
        <h2>"Runners"</h2>
        <p class="capacity"><a href="/runners">{capacity_text(home.capacity)}</a></p>
    }
}

#[component]
fn JobList(jobs: Vec<HomeJob>, empty: &'static str) -> impl IntoView {
    if jobs.is_empty() {
        return view! { <p class="empty">{empty}</p> }.into_any();
    }
    view! {
        <ul class="home-jobs">
            {jobs.into_iter().map(|job| {
                let (status, href) = (job.status.as_str(), job.href());
                view! {
                    <li>
                        <a href=href>
                            <span class=format!("status {status}")>{status}</span>
                            <span class="where">{format!("{}/{} #{}", job.owner, job.project, job.number)}</span>
                            <span class="name">{job.name}</span>
                            <LocalTime ms=job.since_ms/>
                        </a>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

/// `2 runners · 3 of 8 GPUs busy · 5 jobs waiting`.
fn capacity_text(c: Capacity) -> String {
    let plural = |n: i64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    if c.runners == 0 {
        return format!(
            "No runner is connected · {}",
            plural(c.waiting, "job waiting", "jobs waiting")
        );
    }
    format!(
        "{} · {} of {} GPUs busy · {}",
        plural(c.runners.into(), "runner", "runners"),
        c.busy_gpus,
        c.gpus,
        plural(c.waiting, "job waiting", "jobs waiting")
    )
}

/// The projects this browser opened lately: known only in the browser, so shown once the page
/// has hydrated (the server's HTML and the first render agree on nothing shown).
#[component]
fn RecentProjects() -> impl IntoView {
    let recent = RwSignal::new(Vec::new());
    // Effects run only in the browser, after hydration.
    Effect::new(move |_| recent.set(remembered()));
    move || {
        let projects = recent.get();
        (!projects.is_empty()).then(|| {
            view! {
                <h2>"Recently opened"</h2>
                <ul class="home-projects">
                    {projects.into_iter().map(|(owner, name)| {
                        let href = format!("/u/{}/p/{}", encode(&owner), encode(&name));
                        view! { <li><a href=href>{format!("{owner}/{name}")}</a></li> }
                    }).collect_view()}
                </ul>
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_reads_as_a_sentence_with_its_plurals() {
        let idle = Capacity::default();
        assert_eq!(
            capacity_text(idle),
            "No runner is connected · 0 jobs waiting"
        );
        let busy = Capacity {
            runners: 1,
            gpus: 8,
            busy_gpus: 3,
            waiting: 1,
        };
        assert_eq!(
            capacity_text(busy),
            "1 runner · 3 of 8 GPUs busy · 1 job waiting"
        );
        let many = Capacity { runners: 2, ..busy };
        assert!(capacity_text(many).starts_with("2 runners"));
    }
}
