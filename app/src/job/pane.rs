//! The job pane: one job's overview, metrics, logs, artifacts and config, each tab's data
//! fetched beside the job's.

use crate::artifacts::server_fns::get_artifacts;
use crate::components::error_notice::ErrorNotice;
use crate::components::local_time::LocalTime;
use crate::error::AppError;
use crate::format::{duration, full_number, number};
use crate::hooks::use_page_events::use_job_revisions;
use crate::job::logs::JobLogs;
use crate::job::runs::get_logs;
use crate::job::server_fns::get_job;
use crate::metrics::server_fns::get_metric_panels;
use crate::miller::browse::Browse;
use crate::model::{JobDetail, MetricSummary, HIDDEN_VALUE};
use crate::split;
use crate::view_query::JobTab;
use leptos::prelude::*;

/// The level right of the jobs column when a job is open.
#[component]
pub fn JobPane() -> impl IntoView {
    let browse = expect_context::<Browse>();
    let key = Memo::new(move |previous: Option<&(String, String, String)>| {
        match browse
            .path
            .with(|p| (p.user.clone(), p.project.clone(), p.job.clone()))
        {
            (Some(owner), Some(project), Some(job)) => (owner, project, job),
            // The pane is being closed: keep the job shown rather than fetch a missing one.
            _ => previous.cloned().unwrap_or_default(),
        }
    });
    let job_id = Memo::new(move |_| key.with(|(_, _, job)| (!job.is_empty()).then(|| job.clone())));
    let live = use_job_revisions(job_id);
    let tab = Memo::new(move |_| browse.query.with(|q| q.tab));
    // The Overview shows the metrics' summaries too: there, points revalidate the job as well.
    let summaries = Memo::new(move |_| match tab.get() {
        JobTab::Overview => live.metrics.get(),
        _ => 0,
    });
    let job = Resource::new(
        move || (key.get(), live.status.get(), summaries.get()),
        |((owner, project, job), _, _)| get_job(owner, project, job),
    );
    // The logs tab's own data, fetched beside the job (never after it) and only on that tab.
    let chart = Memo::new(move |_| browse.query.with(|q| q.chart.clone()));
    // The metrics tab's panels, fetched beside the job and only on that tab; live points are
    // applied by the panels themselves, so only a resync reads them again.
    let panels = Resource::new(
        move || {
            (
                key.get(),
                tab.get() == JobTab::Metrics,
                chart.get(),
                live.resync.get(),
            )
        },
        |((owner, project, job), wanted, chart, _)| async move {
            match wanted {
                true => get_metric_panels(owner, project, job, chart)
                    .await
                    .map(Some),
                false => Ok(None),
            }
        },
    );
    let logs = Resource::new(
        move || (key.get(), tab.get() == JobTab::Logs),
        |((owner, project, job), wanted)| async move {
            match wanted {
                true => get_logs(owner, project, job, None).await.map(Some),
                false => Ok(None),
            }
        },
    );
    // The artifacts tab's folders and open file, read again when the job's files change.
    let file = Memo::new(move |_| browse.query.with(|q| q.file.clone()));
    let artifacts = Resource::new(
        move || {
            (
                key.get(),
                tab.get() == JobTab::Artifacts,
                file.get(),
                live.artifacts.get(),
            )
        },
        |((owner, project, job), wanted, file, _)| async move {
            match wanted {
                true => get_artifacts(owner, project, job, file).await.map(Some),
                false => Ok(None),
            }
        },
    );

    view! {
        <section
            class="level pane"
            class:deepest=move || browse.is_deepest(3)
            data-index="3"
            role="region"
            aria-label="Job"
            tabindex="-1"
        >
            <header class="column-header">
                <a class="back" href=move || browse.parent_href()>"‹ Back"</a>
                <nav class="tabs" role="tablist" aria-label="Job views">
                    {JobTab::ALL.into_iter().map(|t| {
                        let href = move || browse.href_with(|q| {
                            q.tab = t;
                            q.file.clear();
                        });
                        view! {
                            <a role="tab" href=href aria-selected=move || (tab.get() == t).to_string()>
                                {t.word()}
                            </a>
                        }
                    }).collect_view()}
                </nav>
            </header>
            <div class="pane-body">
                <Transition fallback=|| view! { <div class="skeleton-pane"></div> }>
                    <ErrorBoundary fallback=|errors| view! { <ErrorNotice errors/> }>
                        {move || Suspend::new(async move {
                            job.await.map(|job| view! { <JobBody job tab/> })
                        })}
                    </ErrorBoundary>
                </Transition>
                // Outside the job's own data, so the panels (with the live points they took
                // on) and the log view (its scroll, search and lines) live on when the job is
                // revalidated.
                {move || (tab.get() == JobTab::Metrics).then(|| view! {
                    <Transition fallback=|| view! { <div class="skeleton-pane"></div> }>
                        <ErrorBoundary fallback=|errors| view! { <ErrorNotice errors/> }>
                            {move || Suspend::new(async move {
                                let page = panels.await?.unwrap_or_default();
                                Ok::<_, AppError>(split::metric_panels(page, live.metrics).await)
                            })}
                        </ErrorBoundary>
                    </Transition>
                })}
                {move || (tab.get() == JobTab::Artifacts).then(|| view! {
                    <Transition fallback=|| view! { <div class="skeleton-pane"></div> }>
                        <ErrorBoundary fallback=|errors| view! { <ErrorNotice errors/> }>
                            {move || Suspend::new(async move {
                                let page = artifacts.await?.unwrap_or_default();
                                Ok::<_, AppError>(split::artifacts_tab(page).await)
                            })}
                        </ErrorBoundary>
                    </Transition>
                })}
                {move || (tab.get() == JobTab::Logs).then(|| view! {
                    <Transition fallback=|| view! { <div class="skeleton-pane"></div> }>
                        <ErrorBoundary fallback=|errors| view! { <ErrorNotice errors/> }>
                            {move || Suspend::new(async move {
                                let first = logs.await?.unwrap_or_default();
                                let (owner, project, job) = key.get_untracked();
                                Ok::<_, AppError>(view! { <JobLogs owner project job first revision=live.logs/> })
                            })}
                        </ErrorBoundary>
                    </Transition>
                })}
            </div>
        </section>
    }
    .into_any()
}

#[component]
fn JobBody(job: JobDetail, tab: Memo<JobTab>) -> impl IntoView {
    let title = format!("{} #{}", job.name, job.number);
    let job = StoredValue::new(job);
    view! {
        <h2 class="job-title">{title}</h2>
            {move || match tab.get() {
                JobTab::Overview => job.with_value(overview).into_any(),
                JobTab::Metrics | JobTab::Logs | JobTab::Artifacts => ().into_any(),
                JobTab::Config => job.with_value(config).into_any(),
            }}
    }
}

fn overview(job: &JobDetail) -> impl IntoView {
    let status = job.status.as_str();
    // `mlflow.*` tags are the MLflow client's bookkeeping (run name, source, user).
    let tags: Vec<&(String, String)> = job
        .tags
        .iter()
        .filter(|(k, _)| !k.starts_with("mlflow."))
        .collect();
    let text = |value: String| value.into_any();
    let when = |ms: Option<i64>| {
        ms.map_or_else(|| "—".into_any(), |ms| view! { <LocalTime ms/> }.into_any())
    };
    let facts = [
        ("Status", text(status.to_owned())),
        ("ID", text(job.uid.clone())),
        ("Project", text(format!("{}/{}", job.owner, job.project))),
        ("Created", when(Some(job.created_ms))),
        ("Started", when(job.started_ms)),
        ("Finished", when(job.finished_ms)),
        (
            "Duration",
            text(if job.duration_ms > 0 {
                duration(job.duration_ms)
            } else {
                "—".into()
            }),
        ),
        (
            "GPUs",
            text(if job.gpu_models.is_empty() {
                crate::format::gpu_need(job.gpus, job.gpu_memory_mib, job.gpu_model.as_deref())
            } else {
                crate::format::gpus(&job.gpu_models)
            }),
        ),
        (
            "Runner",
            text(job.runner.clone().unwrap_or_else(|| "—".into())),
        ),
        (
            "Exit code",
            text(job.exit_code.map_or_else(|| "—".into(), |c| c.to_string())),
        ),
        (
            "Cost",
            text(
                job.cost_usd
                    .map(|c| format!("${c:.2}"))
                    .unwrap_or_else(|| "—".into()),
            ),
        ),
    ];
    let problem = job.error.clone();
    view! {
        <dl class="facts">
            {facts.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
        </dl>
        {problem.map(|text| view! { <p class="job-error" role="status">{text}</p> })}
        <h3>"Tags"</h3>
        {if tags.is_empty() {
            view! { <p class="empty">"No tags."</p> }.into_any()
        } else {
            view! {
                <ul class="tags">
                    {tags.into_iter().map(|(k, v)| {
                        let text = if v.is_empty() { k.clone() } else { format!("{k}={v}") };
                        view! { <li class="tag">{text}</li> }
                    }).collect_view()}
                </ul>
            }.into_any()
        }}
        <h3>"Metrics"</h3>
        {metric_table(&job.metrics)}
    }
}

fn metric_table(metrics: &[MetricSummary]) -> impl IntoView {
    if metrics.is_empty() {
        return view! { <p class="empty">"No metrics logged."</p> }.into_any();
    }
    // The table shows four significant digits; the tooltip and a copy carry every digit.
    let cell = |value: Option<f64>| {
        let (shown, full) = value.map_or_else(
            || ("NaN".to_owned(), "NaN".to_owned()),
            |v| (number(v), full_number(v)),
        );
        view! { <td class="num" title=full>{shown}</td> }
    };
    view! {
        <table class="metrics">
            <thead><tr><th>"Key"</th><th>"Last"</th><th>"Min"</th><th>"Max"</th><th>"Points"</th></tr></thead>
            <tbody>
                {metrics.iter().map(|m| view! {
                    <tr>
                        <td>{m.key.clone()}</td>
                        {cell(m.last)}
                        {cell(m.min)}
                        {cell(m.max)}
                        <td>{m.count}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

fn config(job: &JobDetail) -> impl IntoView {
    view! {
        <h3>"Command"</h3>
        <pre class="command">{if job.command.is_empty() { "—".to_owned() } else { job.command.clone() }}</pre>
        <h3>"Parameters"</h3>
        {if job.params.is_empty() {
            view! { <p class="empty">"No parameters."</p> }.into_any()
        } else {
            view! {
                <table class="params">
                    <tbody>
                        {job.params.iter().map(|(k, v)| view! { <tr><th>{k.clone()}</th><td>{v.clone()}</td></tr> }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
        {environment(&job.env)}
    }
}

/// The spec's environment variables: names only, the values are write-only.
fn environment(names: &[String]) -> impl IntoView {
    (!names.is_empty()).then(|| view! {
        <h3>"Environment"</h3>
        <table class="params" data-test="env">
            <tbody>
                {names.iter().map(|name| view! {
                    <tr><th>{name.clone()}</th><td title="write-only: runners get the value, no one sees it">{HIDDEN_VALUE}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
    })
}
