//! The metrics tab: chart settings (kept in the URL) and a panel per metric key, each drawn to
//! SVG by the same function on the server and in the browser.

use crate::chart::settings::{ChartSettings, PanelSize, XAxis};
use crate::chart::svg::{Frame, Line};
use crate::hooks::use_on_screen::OnScreen;
use crate::hooks::use_width::use_width;
use crate::metrics::chart_view::{Chart, Series};
use crate::metrics::panel_order::PanelOrder;
use crate::metrics::server_fns::{
    get_panel_changes, get_panels, Drawn, KeyCount, MetricPanel, PanelChange, PanelPage,
    MAX_FOLLOWED, MAX_PANELS,
};
use crate::miller::browse::Browse;
use crate::model::SYSTEM_METRIC_PREFIX;
use crate::view_query::{ViewPath, ViewQuery};
use leptos::prelude::*;
use std::collections::{HashMap, HashSet};

/// The settings bar and a panel per metric key of `page`'s job. Panels are fetched and drawn
/// only while on screen, so a job with thousands of keys costs what the screen shows; live
/// points (each `revision`) go onto the ends of the lines on screen.
#[component]
pub fn MetricPanels(
    /// The keys and first panels for the current settings.
    page: PanelPage,
    /// Goes up when the job logs metric points.
    revision: Signal<u64>,
) -> impl IntoView {
    // Data that lands after its view was closed (a tab switched meanwhile) finds no context:
    // then there is nothing to draw.
    let Some(browse) = use_context::<Browse>() else {
        return ().into_any();
    };
    let chart = browse.query.with_untracked(|q| q.chart.clone());
    let job = browse.path.with_untracked(|p| {
        (
            p.user.clone().unwrap_or_default(),
            p.project.clone().unwrap_or_default(),
            p.job.clone().unwrap_or_default(),
        )
    });
    let on_screen = OnScreen::new();
    let store = PanelStore::new(page.panels, job, chart.clone());
    let keys = RwSignal::new(page.keys);
    let total = RwSignal::new(page.total);

    // Panels that come on screen without data are fetched, a call per screenful.
    Effect::new(move |_| {
        let Some(shown) = on_screen.shown() else {
            return;
        };
        let wanted: Vec<String> = keys.with(|keys| {
            keys.iter()
                .filter(|k| shown.contains(&k.key))
                .map(|k| k.key.clone())
                .collect()
        });
        store.fetch(wanted);
    });
    Effect::new(move |seen: Option<u64>| {
        let now = revision.get();
        if seen.is_some_and(|seen| seen != now) {
            store.follow(on_screen, keys, total);
        }
        now
    });

    let panels = Signal::derive(move || {
        keys.get()
            .into_iter()
            .map(|k| store.view_of(k))
            .collect::<Vec<_>>()
    });
    let filter = chart.keys.clone();
    let summary = move || counts(total.get(), keys.with(Vec::len), &filter);
    view! {
        <ChartBar chart=chart.clone()/>
        <p class="panels-summary" role="status">{summary}</p>
        {filter_note(page.filter_error)}
        <PanelGrid panels on_screen chart/>
    }
    .into_any()
}

/// The panels' data by key, fetched as they come on screen and kept up to date while there.
#[derive(Clone, Copy)]
struct PanelStore {
    /// (owner, project, job) of the job.
    job: StoredValue<(String, String, String)>,
    chart: StoredValue<ChartSettings>,
    /// Arc signals, not owned by whichever view first asked for one.
    data: StoredValue<HashMap<String, ArcRwSignal<Option<MetricPanel>>>>,
    /// Keys being fetched.
    asked: StoredValue<HashSet<String>>,
    /// Whether changes are being read, and whether more came meanwhile.
    following: StoredValue<(bool, bool)>,
}

impl PanelStore {
    fn new(first: Vec<MetricPanel>, job: (String, String, String), chart: ChartSettings) -> Self {
        let data = first
            .into_iter()
            .map(|panel| (panel.key.clone(), ArcRwSignal::new(Some(panel))))
            .collect();
        Self {
            job: StoredValue::new(job),
            chart: StoredValue::new(chart),
            data: StoredValue::new(data),
            asked: StoredValue::new(HashSet::new()),
            following: StoredValue::new((false, false)),
        }
    }

    /// The data of `key`'s panel, `None` until fetched.
    fn slot(&self, key: &str) -> ArcRwSignal<Option<MetricPanel>> {
        let mut slot = None;
        self.data.update_value(|data| {
            slot = Some(data.entry(key.to_owned()).or_default().clone());
        });
        slot.unwrap_or_default()
    }

    /// What the grid draws of `key`.
    fn view_of(&self, key: KeyCount) -> PanelView {
        let slot = self.slot(&key.key);
        let caption = {
            let slot = slot.clone();
            let (name, points) = (key.key.clone(), key.points);
            ArcSignal::derive(move || {
                slot.with(|panel| match panel {
                    Some(panel) => caption(panel),
                    None => format!("{name} · {points} points"),
                })
            })
        };
        let series = ArcSignal::derive(move || {
            slot.with(|panel| {
                panel
                    .as_ref()
                    .map(|panel| vec![series(panel, 0, panel.key.clone())])
            })
        });
        PanelView {
            key: key.key,
            caption,
            series,
        }
    }

    /// Fetches the panels of `keys` that have no data and are not being fetched.
    fn fetch(&self, keys: Vec<String>) {
        let missing: Vec<String> = keys
            .into_iter()
            .filter(|key| {
                self.slot(key).with_untracked(Option::is_none)
                    && self.asked.with_value(|asked| !asked.contains(key))
            })
            .collect();
        for chunk in missing.chunks(MAX_PANELS) {
            let chunk = chunk.to_vec();
            self.asked
                .update_value(|asked| asked.extend(chunk.iter().cloned()));
            let store = *self;
            let (owner, project, job) = self.job.get_value();
            let chart = self.chart.get_value();
            leptos::task::spawn_local(async move {
                let fetched = get_panels(owner, project, job, chart, chunk.clone()).await;
                // The view may be gone: its stored values with it.
                if store
                    .asked
                    .try_update_value(|asked| {
                        for key in &chunk {
                            asked.remove(key);
                        }
                    })
                    .is_none()
                {
                    return;
                }
                for panel in fetched.unwrap_or_default() {
                    store.slot(&panel.key).set(Some(panel));
                }
            });
        }
    }

    /// Reads what changed in the panels on screen and applies it; panels off screen forget
    /// their data and are fetched again when scrolled back. Bursts that come while a read is
    /// under way make one more read after it.
    fn follow(&self, on_screen: OnScreen, keys: RwSignal<Vec<KeyCount>>, total: RwSignal<usize>) {
        let busy = self.following.try_update_value(|(busy, again)| {
            *again = *busy;
            std::mem::replace(busy, true)
        });
        if busy != Some(false) {
            return;
        }
        let shown = untrack(|| on_screen.shown());
        let slots: Vec<(String, ArcRwSignal<Option<MetricPanel>>)> = self
            .data
            .with_value(|data| data.iter().map(|(k, s)| (k.clone(), s.clone())).collect());
        let mut drawn = Vec::new();
        for (key, slot) in slots {
            if !shown.as_ref().is_none_or(|shown| shown.contains(&key)) {
                // Only panels that hold data: setting the others would redraw them for nothing.
                if slot.with_untracked(Option::is_some) {
                    slot.set(None);
                }
                continue;
            }
            slot.with_untracked(|panel| {
                if let Some(panel) = panel {
                    drawn.push(Drawn {
                        key,
                        count: panel.count,
                        last_step: panel.last_step,
                        line: panel.raw.line.len(),
                    });
                }
            });
        }
        drawn.truncate(MAX_FOLLOWED);
        let store = *self;
        let (owner, project, job) = self.job.get_value();
        let chart = self.chart.get_value();
        let known = total.get_untracked();
        leptos::task::spawn_local(async move {
            let smooth = chart.smooth;
            let changes = get_panel_changes(owner, project, job, chart, known, drawn).await;
            let Some((_, again)) = store.following.try_update_value(std::mem::take) else {
                return;
            };
            if let Ok(changes) = changes {
                if let Some((new_keys, new_total)) = changes.keys {
                    keys.try_set(new_keys);
                    total.try_set(new_total);
                }
                for change in changes.panels {
                    store.apply(change, smooth);
                }
            }
            if again {
                store.follow(on_screen, keys, total);
            }
        });
    }

    fn apply(&self, change: PanelChange, smooth: f64) {
        match change {
            PanelChange::Append(appended) => {
                self.slot(&appended.key).update(|panel| {
                    // Only onto the line the points continue: a redraw may have landed since.
                    if let Some(panel) = panel.as_mut().filter(|p| p.count == appended.after) {
                        panel.extend(&appended, smooth);
                    }
                });
            }
            PanelChange::Redraw(panel) => self.slot(&panel.key.clone()).set(Some(panel)),
        }
    }
}

/// What the panels line says: `3 of 40 metric keys`.
pub fn counts(total: usize, matching: usize, filter: &str) -> String {
    match (total, matching) {
        (0, _) => "No metrics logged.".to_owned(),
        (_, 0) => format!("No metric key matches “{filter}”."),
        (total, matching) if matching == total => format!("{total} metric keys"),
        (total, matching) => format!("{matching} of {total} metric keys"),
    }
}

/// The note under the panels line when the key filter is not a valid regular expression.
pub fn filter_note(error: Option<String>) -> impl IntoView {
    error.map(|error| {
        view! { <p class="panels-more" role="note">{format!("Not a regular expression ({error}); matched as plain text.")}</p> }
    })
}

/// A panel to draw: its metric key, caption and lines. Arc signals: a list keeps the views
/// it made first, which must outlive the reactive scope that computed the list.
#[derive(Clone)]
pub struct PanelView {
    /// The metric key, which also names the panel in the arranged order.
    pub key: String,
    /// The text above the chart.
    pub caption: ArcSignal<String>,
    /// The lines, `None` until fetched.
    pub series: ArcSignal<Option<Vec<Series>>>,
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
        dots: false,
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

/// A panel's padding and border across (`.panel` in the style sheet): what its chart does not get.
const PANEL_CHROME: u32 = 14;

/// The drag data type of a dragged panel: its metric key.
const DRAG_TYPE: &str = "application/x-millrace-panel";

/// Panels in the order the person arranged for this project; each can be dragged before
/// another. Only panels on screen (as `on_screen` tells) are drawn.
#[component]
pub fn PanelGrid(
    panels: Signal<Vec<PanelView>>,
    on_screen: OnScreen,
    chart: ChartSettings,
) -> impl IntoView {
    let browse = expect_context::<Browse>();
    let project = browse.path.with_untracked(|p| {
        format!(
            "{}/{}",
            p.user.clone().unwrap_or_default(),
            p.project.clone().unwrap_or_default()
        )
    });
    let order = PanelOrder::for_project(&project);
    let chosen = Frame {
        width: chart.size.pixels().0,
        height: chart.size.pixels().1,
        log_y: chart.log_y,
        y_range: chart.y_range(),
    };
    let grid = NodeRef::<leptos::html::Div>::new();
    let room = use_width(grid);
    let frame = Memo::new(move |_| chosen.fit_to(room.get().saturating_sub(PANEL_CHROME)));
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
    // The job's own metrics first, then the runner's samples of the machine under "System".
    let arranged = Signal::derive(move || {
        let (mut own, system): (Vec<PanelView>, Vec<PanelView>) = order
            .arrange(panels.get(), |p| p.key.as_str())
            .into_iter()
            .partition(|p| !p.key.starts_with(SYSTEM_METRIC_PREFIX));
        let first_system = own.len();
        own.extend(system);
        (own, first_system)
    });
    let shown = Signal::derive(move || {
        arranged.with(|(panels, _)| panels.iter().map(|p| p.key.clone()).collect::<Vec<_>>())
    });
    let group = move |system: bool| {
        move || {
            let (mut panels, first_system) = arranged.get();
            if system {
                panels.split_off(first_system)
            } else {
                panels.truncate(first_system);
                panels
            }
        }
    };
    let figure = move |panel| view! { <PanelFigure panel on_screen frame=frame.into() x_label zoom order shown/> };
    let has_system = move || arranged.with(|(panels, first_system)| panels.len() > *first_system);
    view! {
        <div class="panels" node_ref=grid>
            <For each=group(false) key=|panel| panel.key.clone() children=figure/>
        </div>
        <Show when=has_system>
            <h3 class="panels-group">"System"</h3>
            <div class="panels">
                <For each=group(true) key=|panel| panel.key.clone() children=figure/>
            </div>
        </Show>
    }
}

/// One panel: a drag handle over its chart, or over a placeholder of the chart's size while
/// it is off screen or not fetched.
#[component]
fn PanelFigure(
    panel: PanelView,
    on_screen: OnScreen,
    frame: Signal<Frame>,
    x_label: &'static str,
    zoom: Option<Callback<(f64, f64)>>,
    order: PanelOrder,
    /// The keys in the order shown, for placing a dropped panel.
    shown: Signal<Vec<String>>,
) -> impl IntoView {
    let figure = NodeRef::<leptos::html::Figure>::new();
    Effect::new(move |_| {
        if let Some(element) = figure.get() {
            on_screen.watch(&element);
            let element = send_wrapper::SendWrapper::new(element);
            on_cleanup(move || on_screen.unwatch(&element));
        }
    });
    let (key, dragged, target) = (panel.key.clone(), panel.key.clone(), panel.key.clone());
    let (series, caption) = (panel.series, panel.caption);
    let drawing = move || {
        let drawn = on_screen.shows(&key);
        let frame = frame.get();
        match series.get().filter(|_| drawn) {
            Some(series) => view! { <Chart series frame x_label zoom/> }.into_any(),
            None => {
                let placeholder = format!(
                    "width: {}px; aspect-ratio: {} / {}",
                    frame.width, frame.width, frame.height
                );
                view! { <div class="chart-placeholder" style=placeholder></div> }.into_any()
            }
        }
    };
    view! {
        <figure
            class="panel"
            node_ref=figure
            data-key=panel.key.clone()
            aria-label=panel.key
            on:dragover=|ev: leptos::ev::DragEvent| ev.prevent_default()
            on:drop=move |ev: leptos::ev::DragEvent| {
                ev.prevent_default();
                let key = ev.data_transfer().and_then(|d| d.get_data(DRAG_TYPE).ok());
                if let Some(key) = key {
                    shown.with_untracked(|shown| order.drop_before(&key, &target, shown));
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
            >{move || caption.get()}</figcaption>
            {drawing}
        </figure>
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
    let chips = chart
        .chips()
        .into_iter()
        .map(|chip| view! { <span class="chip">{chip}</span> })
        .collect_view();
    // On a phone the bar folds into one line of chips that opens it; wider screens always show
    // it open (the style sheet hides the summary there).
    view! {
        <form method="get" action=action on:submit=on_submit>
            <details class="chart-settings">
                <summary title="Chart settings">{chips}</summary>
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
            </details>
        </form>
    }
}
