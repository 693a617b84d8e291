//! The metrics tab: chart settings (kept in the URL) and a panel per metric key, each drawn to
//! SVG by the same function on the server and in the browser.

use crate::chart::settings::{ChartSettings, PanelSize, XAxis};
use crate::chart::svg::{Frame, Line};
use crate::components::browse::Browse;
use crate::components::chart_view::{Chart, Series};
use crate::components::panel_order::PanelOrder;
use crate::server_fns::metrics::{get_metric_panels, MetricPanel, PanelPage, MAX_PANELS};
use crate::view_query::{ViewPath, ViewQuery};
use leptos::prelude::*;

/// The settings bar and the panels of `page`.
#[component]
pub fn MetricPanels(
    /// The panels fetched for the current settings.
    page: PanelPage,
) -> impl IntoView {
    // Data that lands after its view was closed (a tab switched meanwhile) finds no context:
    // then there is nothing to draw.
    let Some(browse) = use_context::<Browse>() else {
        return ().into_any();
    };
    let chart = browse.query.with_untracked(|q| q.chart.clone());
    let (summary, _) = counts(page.total, page.matching, page.panels.len(), &chart.keys);
    let panels = RwSignal::new(page.panels.into_iter().map(panel_view).collect::<Vec<_>>());
    let loading = RwSignal::new(false);
    // Further panels are read when asked for, a page at a time, so a job with thousands of
    // keys opens as fast as one with a few.
    let more = {
        let chart = chart.clone();
        move |_| {
            if loading.get_untracked() {
                return;
            }
            loading.set(true);
            let path = browse.path.get_untracked();
            let (owner, project, job) = (
                path.user.unwrap_or_default(),
                path.project.unwrap_or_default(),
                path.job.unwrap_or_default(),
            );
            let (chart, offset) = (chart.clone(), panels.with_untracked(Vec::len));
            leptos::task::spawn_local(async move {
                if let Ok(page) = get_metric_panels(owner, project, job, chart, offset).await {
                    panels.try_update(|p| p.extend(page.panels.into_iter().map(panel_view)));
                }
                loading.try_set(false);
            });
        }
    };
    let matching = page.matching;
    let rest = move || {
        let shown = panels.with(Vec::len);
        (matching > shown).then(|| {
            let more = more.clone();
            view! {
                <p class="panels-more">
                    {format!("Showing {shown} of {matching}. ")}
                    <button on:click=more disabled=move || loading.get()>
                        {format!("Show {} more", (matching - shown).min(MAX_PANELS))}
                    </button>
                </p>
            }
        })
    };
    view! {
        <ChartBar chart=chart.clone()/>
        <p class="panels-summary" role="status">{summary}</p>
        <PanelGrid panels=panels.into() chart/>
        {rest}
    }
    .into_any()
}

fn panel_view(panel: MetricPanel) -> PanelView {
    PanelView {
        caption: caption(&panel),
        series: vec![series(&panel, 0, panel.key.clone())],
        key: panel.key,
    }
}

/// What the panels line says (`3 of 40 metric keys`), and a note when not all that match are
/// shown.
pub fn counts(
    total: usize,
    matching: usize,
    shown: usize,
    filter: &str,
) -> (String, Option<String>) {
    let summary = match (total, matching) {
        (0, _) => "No metrics logged.".to_owned(),
        (_, 0) => format!("No metric key contains “{filter}”."),
        (total, matching) if matching == total => format!("{total} metric keys"),
        (total, matching) => format!("{matching} of {total} metric keys"),
    };
    let more = (matching > shown)
        .then(|| format!("Showing the first {shown}; filter by key to find the others."));
    (summary, more)
}

/// A panel to draw: its metric key, caption and lines.
#[derive(Clone, Debug, PartialEq)]
pub struct PanelView {
    /// The metric key, which also names the panel in the arranged order.
    pub key: String,
    /// The text above the chart.
    pub caption: String,
    /// The lines.
    pub series: Vec<Series>,
}

/// A series' line as drawn: smoothed over its faint raw self when smoothing is on.
pub fn series(panel: &MetricPanel, color: usize, label: String) -> Series {
    let smoothed = !panel.smoothed.is_empty();
    let line = Line {
        points: if smoothed {
            panel.smoothed.clone()
        } else {
            panel.raw.line.clone()
        },
        raw: if smoothed {
            panel.raw.line.clone()
        } else {
            Vec::new()
        },
        envelope: panel.raw.envelope.clone(),
        color,
    };
    Series { label, line }
}

/// How many points a series drew from: `loss · 1,000 points, 480 drawn`.
fn caption(panel: &MetricPanel) -> String {
    match panel.raw.total {
        0 => format!("{} · no finite values", panel.key),
        n if panel.raw.envelope.is_empty() => format!("{} · {n} points", panel.key),
        n => format!("{} · {n} points, {} drawn", panel.key, panel.raw.line.len()),
    }
}

/// The drag data type of a dragged panel: its metric key.
const DRAG_TYPE: &str = "application/x-millrace-panel";

/// Panels in the order the person arranged for this project; each can be dragged before
/// another.
#[component]
pub fn PanelGrid(panels: Signal<Vec<PanelView>>, chart: ChartSettings) -> impl IntoView {
    let browse = expect_context::<Browse>();
    let project = browse.path.with_untracked(|p| {
        format!(
            "{}/{}",
            p.user.clone().unwrap_or_default(),
            p.project.clone().unwrap_or_default()
        )
    });
    let order = PanelOrder::for_project(&project);
    let frame = Frame {
        width: chart.size.pixels().0,
        height: chart.size.pixels().1,
        log_y: chart.log_y,
        y_range: chart.y_range(),
    };
    let x_label = chart.x.word();
    // Zooming is by step: the `from`/`to` the server reads at full resolution where it fits.
    let navigate = StoredValue::new(leptos_router::hooks::use_navigate());
    let zoom = (chart.x == XAxis::Step).then(|| {
        Callback::new(move |(from, to): (f64, f64)| {
            let href = untrack(|| {
                browse.href_with(|q| {
                    q.chart.from = Some(from.floor() as i64);
                    q.chart.to = Some(to.ceil() as i64);
                })
            });
            navigate.with_value(|navigate| navigate(&href, Default::default()));
        })
    });
    view! {
        <div class="panels">
            {move || {
                let arranged = order.arrange(panels.get(), |p| p.key.as_str());
                let shown: Vec<String> = arranged.iter().map(|p| p.key.clone()).collect();
                let shown = StoredValue::new(shown);
                arranged.into_iter().map(|panel| {
                    let (dragged, target) = (panel.key.clone(), panel.key.clone());
                    view! {
                        <figure
                            class="panel"
                            aria-label=panel.key.clone()
                            on:dragover=|ev: leptos::ev::DragEvent| ev.prevent_default()
                            on:drop=move |ev: leptos::ev::DragEvent| {
                                ev.prevent_default();
                                let key = ev.data_transfer().and_then(|d| d.get_data(DRAG_TYPE).ok());
                                if let Some(key) = key {
                                    shown.with_value(|shown| order.drop_before(&key, &target, shown));
                                }
                            }
                        >
                            // The caption is the handle, so a drag across the chart zooms.
                            // The dragged key travels with the drag, not in this view's state:
                            // live data may redraw the panels while one is being dragged.
                            <figcaption
                                draggable="true"
                                title="Drag onto another panel to move it"
                                on:dragstart=move |ev: leptos::ev::DragEvent| {
                                    if let Some(data) = ev.data_transfer() {
                                        let _ = data.set_data(DRAG_TYPE, &dragged);
                                    }
                                }
                            >{panel.caption}</figcaption>
                            <Chart series=panel.series frame x_label zoom/>
                        </figure>
                    }
                }).collect_view()
            }}
        </div>
    }
}

/// The URL keys of the chart settings.
const OWN: [&str; 9] = [
    "keys", "smooth", "x", "logy", "psize", "ymin", "ymax", "from", "to",
];

/// The chart settings as a GET form: without JavaScript the browser submits it (the rest of the
/// view rides along in hidden fields); with it, submitting navigates in place to the URL with
/// only the non-default settings, and every control submits when changed.
#[component]
pub fn ChartBar(chart: ChartSettings) -> impl IntoView {
    use wasm_bindgen::JsCast;
    let browse = expect_context::<Browse>();
    let hidden = browse
        .query
        .with_untracked(ViewQuery::pairs)
        .into_iter()
        .filter(|(key, _)| !OWN.contains(&key.as_str()))
        .map(|(key, value)| view! { <input type="hidden" name=key value=value/> })
        .collect_view();
    let action = browse.path.with_untracked(ViewPath::href);
    let navigate = StoredValue::new(leptos_router::hooks::use_navigate());
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        let Some(form) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlFormElement>().ok())
        else {
            return;
        };
        let Ok(data) = web_sys::FormData::new_with_form(&form) else {
            return;
        };
        ev.prevent_default();
        let pairs: Vec<(&str, String)> = OWN
            .iter()
            .filter_map(|key| data.get(key).as_string().map(|value| (*key, value)))
            .collect();
        let settings = ChartSettings::read(pairs.iter().map(|(k, v)| (*k, v.as_str())));
        let href = untrack(|| browse.href_with(|q| q.chart = settings));
        let options = leptos_router::NavigateOptions {
            replace: true,
            ..Default::default()
        };
        navigate.with_value(|navigate| navigate(&href, options));
    };
    let submit = |ev: leptos::ev::Event| {
        if let Some(form) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|e| e.closest("form").ok().flatten())
            .and_then(|f| f.dyn_into::<web_sys::HtmlFormElement>().ok())
        {
            let _ = form.request_submit();
        }
    };
    let number = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    view! {
        <form method="get" action=action on:submit=on_submit>
            <div class="chart-bar" role="group" aria-label="Chart settings">
                {hidden}
                // The zoomed range rides along, so changing a setting keeps it.
                {chart.from.map(|v| view! { <input type="hidden" name="from" value=v.to_string()/> })}
                {chart.to.map(|v| view! { <input type="hidden" name="to" value=v.to_string()/> })}
                <input type="search" name="keys" value=chart.keys.clone() placeholder="Filter keys" aria-label="Filter metric keys"/>
                <label>"Smoothing "
                    <input type="number" name="smooth" min="0" max="0.99" step="0.05" value=chart.smooth.to_string() on:change=submit/>
                </label>
                <label>"X "
                    <select name="x" on:change=submit>
                        {XAxis::ALL.into_iter().map(|x| view! { <option value=x.word() selected=chart.x == x>{x.word()}</option> }).collect_view()}
                    </select>
                </label>
                <label><input type="checkbox" name="logy" value="1" checked=chart.log_y on:change=submit/>" log y"</label>
                <label>"Y "
                    <input type="number" name="ymin" step="any" value=number(chart.y_min) aria-label="Lowest y" class="bound"/>
                    "–"
                    <input type="number" name="ymax" step="any" value=number(chart.y_max) aria-label="Highest y" class="bound"/>
                </label>
                <label>"Size "
                    <select name="psize" on:change=submit>
                        {PanelSize::ALL.into_iter().map(|s| view! { <option value=s.word() selected=chart.size == s>{s.word()}</option> }).collect_view()}
                    </select>
                </label>
                {(chart.from.is_some() || chart.to.is_some()).then(|| {
                    let whole = untrack(|| browse.href_with(|q| {
                        q.chart.from = None;
                        q.chart.to = None;
                    }));
                    let range = format!(
                        "Steps {}–{}",
                        chart.from.map(|f| f.to_string()).unwrap_or_default(),
                        chart.to.map(|t| t.to_string()).unwrap_or_default()
                    );
                    view! { <span class="zoomed">{range}" "<a href=whole>"Whole range"</a></span> }
                })}
                <button type="submit">"Apply"</button>
            </div>
        </form>
    }
}
