//! One sweep's view: its state and settings, the best trial so far, the objective over trials,
//! a parallel-coordinates plot of parameters against the objective, parameter importance and
//! every trial. One server call, repeated when a trial job changes status; the plot's hidden
//! parameters (`shide`) and the objective chart's log scale (`slog`) live in the URL.

use crate::chart::parallel::{self, Axis, Scale, Trace};
use crate::chart::svg::{Frame, Line};
use crate::components::error_notice::ErrorNotice;
use crate::format::number;
use crate::hooks::use_page_events::use_job_revisions;
use crate::hooks::use_width::use_width;
use crate::metrics::chart_view::{Chart, Series};
use crate::miller::browse::Browse;
use crate::sweeps::server_fns::{get_sweep, Goal, ParamKind, ParamValue, SweepPage, TrialView};
use crate::sweeps::stats::{importance, Method};
use crate::view_query::{ViewPath, ViewQuery};
use leptos::prelude::*;

/// Sweep `id` of `project` (owner, name), revalidated when its trial jobs change status.
#[component]
pub fn SweepView(
    /// The project, as (owner, name).
    project: Memo<(String, String)>,
    /// The sweep's id.
    id: i64,
) -> impl IntoView {
    let live = use_job_revisions(Memo::new(|_| None));
    let page = Resource::new(
        move || (project.get(), live.status.get()),
        move |((owner, name), _)| get_sweep(owner, name, id),
    );
    view! {
        <Transition fallback=|| view! { <div class="skeleton-pane"></div> }>
            <ErrorBoundary fallback=|errors| view! { <ErrorNotice errors/> }>
                {move || Suspend::new(async move {
                    page.await.map(|page| match page {
                        Some(page) => view! { <SweepBody page/> }.into_any(),
                        None => view! {
                            <p class="empty" role="status">{format!("No such sweep (#{id}) in this project.")}</p>
                        }.into_any(),
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn SweepBody(page: SweepPage) -> impl IntoView {
    // Data that lands after the view was closed finds no context: nothing to draw then.
    let Some(browse) = use_context::<Browse>() else {
        return ().into_any();
    };
    let list = untrack(|| browse.href_with(|q| q.project.sweeps.open = None));
    let s = &page.summary;
    let reason = s.reason.clone().map(|r| format!(" — {r}"));
    let facts = view! {
        <dl class="sweep-facts">
            <dt>"State"</dt><dd data-test="sweep-state">{s.state.clone()}{reason}</dd>
            <dt>"Algorithm"</dt><dd>{page.algorithm.clone()}</dd>
            <dt>"Objective"</dt><dd>{format!("{} {} ({} value)", s.goal.word(), s.metric, page.value_of)}</dd>
            <dt>"Trials"</dt><dd data-test="sweep-trials">{format!("{} of {} done, {} at a time", s.ended, s.budget, page.parallel)}</dd>
        </dl>
    };
    let page = StoredValue::new(page);
    view! {
        <a class="back-link" href=list>"‹ All sweeps"</a>
        <h2 class="job-title">{page.with_value(|p| p.summary.name.clone())}</h2>
        {facts}
        {page.with_value(|p| best_trial(&browse, p))}
        <ObjectiveChart page/>
        <ParallelPlot page/>
        {page.with_value(importance_table)}
        {page.with_value(|p| trials_table(&browse, p))}
        {page.with_value(|p| clone_form(&browse, p))}
    }
    .into_any()
}

/// "Run it again, wider": the spec's bounds, choices and budget as editable `PATH=VALUE`
/// lines, posted as a plain form (it works without JavaScript). The server starts the clone and
/// opens it, or sends this view back with the error and the lines as typed.
fn clone_form(browse: &Browse, page: &SweepPage) -> impl IntoView {
    let (error, typed) = browse.query.with_untracked(|q| {
        (
            q.project.sweeps.clone_error.clone(),
            q.project.sweeps.clone_changes.clone(),
        )
    });
    let text = typed.unwrap_or_else(|| page.clone_text.clone());
    let rows = text.lines().count().clamp(3, 16).to_string();
    let open = error.is_some();
    let action = format!("/api/v1/sweeps/{}/clone", page.summary.id);
    view! {
        <details class="sweep-clone" open=open>
            <summary>"Run it again, wider"</summary>
            <p class="hint">
                "A new sweep with these changes to this one's spec (one PATH=VALUE a line, e.g. "
                <code>"space.lr.high=0.5"</code>" or "<code>"trials=50"</code>
                "); it learns from this sweep's trials that its space still contains."
            </p>
            {error.map(|e| view! { <p class="job-error" role="alert">{e}</p> })}
            <form method="post" action=action>
                <textarea name="changes" rows=rows aria-label="Changes to the spec" spellcheck="false">{text}</textarea>
                <button type="submit">"Start the clone"</button>
            </form>
        </details>
    }
}

fn job_href(browse: &Browse, query: &str, number: i64) -> String {
    let path = browse.path.with_untracked(|p| ViewPath {
        job: Some(number.to_string()),
        ..p.clone()
    });
    format!("{}{query}", path.href())
}

fn param_text(value: &Option<ParamValue>) -> String {
    match value {
        Some(ParamValue::Number(n)) => number(*n),
        Some(ParamValue::Text(t)) => t.clone(),
        None => "—".to_owned(),
    }
}

fn best_trial(browse: &Browse, page: &SweepPage) -> impl IntoView {
    let body = match page.best() {
        None => view! { <p class="empty">"No trial has completed yet."</p> }.into_any(),
        Some(best) => {
            let query = browse.query.with_untracked(ViewQuery::to_query_string);
            let params = page
                .params
                .iter()
                .zip(&best.params)
                .map(|(p, v)| view! { <dt>{p.name.clone()}</dt><dd>{param_text(v)}</dd> })
                .collect_view();
            view! {
                <p>
                    <span class="best-value" data-test="best-value">{best.value.map(number)}</span>
                    " from trial " {best.index} ", "
                    <a href=job_href(browse, &query, best.job)>{format!("job #{}", best.job)}</a>
                </p>
                <dl class="best-params">{params}</dl>
            }
            .into_any()
        }
    };
    view! { <section class="sweep-best" aria-label="Best trial"><h3>"Best trial so far"</h3>{body}</section> }
}

#[component]
fn ObjectiveChart(page: StoredValue<SweepPage>) -> impl IntoView {
    let browse = expect_context::<Browse>();
    let log_y = Memo::new(move |_| browse.query.with(|q| q.project.sweeps.log_y));
    let toggle = move || browse.href_with(|q| q.project.sweeps.log_y = !log_y.get());
    let metric = page.with_value(|p| p.summary.metric.clone());
    let drawing = NodeRef::<leptos::html::Div>::new();
    let room = use_width(drawing);
    let chart = move || {
        let (points, so_far) = page.with_value(SweepPage::objective_points);
        if points.is_empty() {
            return view! { <p class="empty">"No trial has ended with a value yet."</p> }
                .into_any();
        }
        let series = vec![
            Series {
                label: "trial".into(),
                line: Line {
                    points,
                    dots: true,
                    ..Line::default()
                },
            },
            Series {
                label: "best so far".into(),
                line: Line {
                    points: so_far,
                    color: 2,
                    ..Line::default()
                },
            },
        ];
        let frame = Frame {
            width: 640,
            height: 240,
            log_y: log_y.get(),
            y_range: None,
        }
        .fit_to(room.get());
        view! { <Chart series frame x_label="trial" zoom=None/> }.into_any()
    };
    view! {
        <section class="sweep-objective" aria-label="Objective over trials">
            <h3>{format!("{metric} over trials")}</h3>
            <a class="toggle" href=toggle>{move || if log_y.get() { "Linear scale" } else { "Log scale" }}</a>
            <div node_ref=drawing>{chart}</div>
        </section>
    }
}

#[component]
fn ParallelPlot(page: StoredValue<SweepPage>) -> impl IntoView {
    let browse = expect_context::<Browse>();
    let settings = Memo::new(move |_| browse.query.with(|q| q.project.sweeps.clone()));
    let toggles = page.with_value(|p| {
        p.params
            .iter()
            .map(|param| {
                let name = param.name.clone();
                let shown = {
                    let name = name.clone();
                    move || !settings.with(|s| s.hidden.contains(&name))
                };
                let href = {
                    let name = name.clone();
                    move || browse.href_with(|q| q.project.sweeps = settings.with(|s| s.toggled(&name)))
                };
                view! { <a class="toggle" href=href aria-pressed=move || shown().to_string()>{name}</a> }
            })
            .collect_view()
    });
    let plot = move || {
        let (axes, traces) =
            settings.with(|s| page.with_value(|p| parallel_input(p, &s.hidden, s.log_y)));
        parallel::render(&axes, &traces, 720, 300)
    };
    view! {
        <section class="sweep-parallel" aria-label="Parameters against the objective">
            <h3>"Parameters against the objective"</h3>
            <p class="param-toggles">"Axes: " {toggles}</p>
            <div class="parallel-svg" role="img" aria-label="Parallel coordinates" inner_html=plot></div>
        </section>
    }
}

/// The plot's axes (the shown parameters, then the objective) and a trace per trial.
fn parallel_input(page: &SweepPage, hidden: &[String], log_y: bool) -> (Vec<Axis>, Vec<Trace>) {
    let shown: Vec<usize> = (0..page.params.len())
        .filter(|i| !hidden.contains(&page.params[*i].name))
        .collect();
    let value = |t: &TrialView| t.value.filter(|v| t.ended() && v.is_finite());
    let values: Vec<f64> = page.trials.iter().filter_map(value).collect();
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        });
    let objective = if values.is_empty() {
        Scale::Linear(0.0, 1.0)
    } else if log_y && lo > 0.0 {
        Scale::Log(lo, hi)
    } else {
        Scale::Linear(lo, hi)
    };
    let mut axes: Vec<Axis> = shown
        .iter()
        .map(|&i| {
            let param = &page.params[i];
            let scale = match &param.kind {
                ParamKind::Linear(lo, hi) => Scale::Linear(*lo, *hi),
                ParamKind::Log(lo, hi) => Scale::Log(*lo, *hi),
                ParamKind::Choice(names) => Scale::Categories(names.clone()),
            };
            Axis {
                label: param.name.clone(),
                scale,
            }
        })
        .collect();
    axes.push(Axis {
        label: page.summary.metric.clone(),
        scale: objective,
    });
    let (results_lo, results_hi) = page
        .trials
        .iter()
        .filter_map(TrialView::result)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    let goal = page.summary.goal;
    let best = page.best().map(|t| t.index);
    let traces = page
        .trials
        .iter()
        .map(|trial| {
            let mut values: Vec<Option<f64>> = shown
                .iter()
                .map(
                    |&i| match (&page.params[i].kind, trial.params.get(i)?.as_ref()?) {
                        (ParamKind::Choice(names), ParamValue::Text(t)) => {
                            names.iter().position(|n| n == t).map(|p| p as f64)
                        }
                        (_, ParamValue::Number(n)) => Some(*n),
                        _ => None,
                    },
                )
                .collect();
            values.push(value(trial));
            let quality = trial.result().map_or(f64::NAN, |v| {
                let span = results_hi - results_lo;
                let up = if span > 0.0 {
                    (v - results_lo) / span
                } else {
                    1.0
                };
                match goal {
                    Goal::Minimize => 1.0 - up,
                    Goal::Maximize => up,
                }
            });
            Trace {
                values,
                quality,
                best: best == Some(trial.index),
            }
        })
        .collect();
    (axes, traces)
}

fn importance_table(page: &SweepPage) -> impl IntoView {
    let found = importance(page);
    let rows = found
        .into_iter()
        .map(|imp| {
            let score = imp
                .score
                .map_or_else(|| "—".to_owned(), |s| format!("{s:.2}"));
            let width = format!("width: {:.0}%", imp.score.unwrap_or(0.0) * 100.0);
            view! {
                <tr>
                    <th scope="row">{imp.name}</th>
                    <td class="num">{score}</td>
                    <td class="bar"><span style=width></span></td>
                    <td>{imp.method.label()}</td>
                    <td class="num">{imp.trials}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="sweep-importance" aria-label="Parameter importance">
            <h3>"Parameter importance"</h3>
            <p class="note">{format!(
                "Measured on completed trials: {} with the objective for numeric parameters, {} for categorical ones. 0 means no relation, 1 that the objective follows the parameter; — when it cannot be told (fewer than 3 trials, or one value).",
                Method::Spearman.label(), Method::CorrelationRatio.label()
            )}</p>
            <table class="params importance">
                <thead><tr><th>"Parameter"</th><th>"Score"</th><th></th><th>"Method"</th><th>"Trials"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
}

fn trials_table(browse: &Browse, page: &SweepPage) -> impl IntoView {
    let query = browse.query.with_untracked(ViewQuery::to_query_string);
    let heads = page
        .params
        .iter()
        .map(|p| view! { <th scope="col">{p.name.clone()}</th> })
        .collect_view();
    let rows = page
        .trials
        .iter()
        .map(|t| {
            let cells = t
                .params
                .iter()
                .map(|v| view! { <td>{param_text(v)}</td> })
                .collect_view();
            view! {
                <tr class=format!("trial {}", t.state)>
                    <td class="num">{t.index}</td>
                    <td>{t.state.clone()}</td>
                    {cells}
                    <td class="num">{t.value.map(number)}</td>
                    <td class="num">{t.step}</td>
                    <td>{t.reason.clone()}</td>
                    <td><a href=job_href(browse, &query, t.job)>{format!("#{}", t.job)}</a></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="sweep-trials" aria-label="Trials">
            <h3>"Trials"</h3>
            <table class="params trials" aria-label="Trials">
                <thead><tr><th scope="col">"Trial"</th><th scope="col">"State"</th>{heads}<th scope="col">"Value"</th><th scope="col">"Step"</th><th scope="col">"Stopped because"</th><th scope="col">"Job"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
}
