//! The project table view: a row per job, columns chosen from attributes, parameters and metric
//! values, sorted by any column. Only the rows in view are in the page, read 100 at a time by
//! offset, so 100,000 jobs scroll like 100; live events re-read the rows in view and change
//! their cells in place, keeping the scroll position, the selection and the columns.

use crate::components::error_notice::ErrorNotice;
use crate::components::local_time::LocalTime;
use crate::hooks::use_page_events::{use_job_revisions, JobRevisions};
use crate::miller::browse::Browse;
use crate::model::{Filter, TablePage, TableRow};
use crate::project_query::{Attr, ProjectView, Stat, TableColumn, TableQuery, MAX_COLUMNS};
use crate::table::server_fns::{find_table_keys, get_job_table};
use crate::view_query::ViewPath;
use gloo_storage::{LocalStorage, Storage};
use leptos::ev::{DragEvent, PointerEvent};
use leptos::prelude::*;
use std::collections::{BTreeMap, HashMap};
use wasm_bindgen::JsCast;

/// Height of a row in pixels; the stylesheet's `.trow` agrees.
const ROW_PX: f64 = 30.0;
/// Rows read at once.
const PAGE_ROWS: u32 = 100;
/// Rows drawn above and below the visible ones, so a fast scroll does not show gaps.
const OVERSCAN: u32 = 15;
/// The viewport assumed before the browser measures it (and on the server).
const FIRST_VIEWPORT_PX: f64 = 900.0;
/// A column's width before anyone resizes it.
const DEFAULT_WIDTH: i32 = 140;
/// The pinned name column's width.
const NAME_WIDTH: i32 = 240;
/// The selection checkbox's column.
const CHECK_WIDTH: i32 = 36;

/// The table of `project` (owner, name) for the URL's columns, sort and the jobs column's filter.
#[component]
pub fn JobTable(project: Memo<(String, String)>) -> impl IntoView {
    let browse = expect_context::<Browse>();
    let table = Memo::new(move |_| browse.query.with(|q| q.project.table.clone()));
    let filter = Memo::new(move |_| browse.query.with(|q| q.jobs.filter.clone()));
    let name = Memo::new(move |_| {
        project.with(|(owner, name)| (!owner.is_empty()).then(|| format!("{owner}/{name}")))
    });
    let live = use_job_revisions(Memo::new(|_| None));
    let first = Resource::new(
        move || (project.get(), filter.get(), table.get()),
        |((owner, name), filter, table)| get_job_table(owner, name, filter, table, 0, PAGE_ROWS),
    );
    let stored = StoredValue::new(name.get_untracked().unwrap_or_default());
    restore_columns(stored, table);
    let navigate = leptos_router::hooks::use_navigate();
    let choose = Callback::new(move |columns: Vec<TableColumn>| {
        let chosen = TableQuery {
            columns: columns.clone(),
            ..TableQuery::default()
        };
        save(&columns_key(&stored.get_value()), &chosen.columns_word());
        let href = untrack(|| browse.href_with(|q| q.project.table.columns = columns));
        navigate(&href, replace());
    });
    view! {
        <ColumnChooser project table choose stored/>
        <Transition fallback=|| view! { <div class="skeleton-pane"></div> }>
            <ErrorBoundary fallback=|errors| view! { <ErrorNotice errors/> }>
                {move || Suspend::new(async move {
                    first.await.map(|page| view! { <TableBody page project filter table live stored choose/> })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

/// Opens the columns chosen last time in this project when the URL names none: the URL wins
/// when it has them, local storage fills in otherwise (after hydration, so the first frame
/// matches the server's).
fn restore_columns(project: StoredValue<String>, table: Memo<TableQuery>) {
    let browse = expect_context::<Browse>();
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |done: Option<()>| {
        if done.is_some() || table.with_untracked(|t| t.columns != TableQuery::default_columns()) {
            return;
        }
        let saved = load(&columns_key(&project.get_value()));
        let Some(saved) = saved.map(|text| TableQuery::parse_columns(&text)) else {
            return;
        };
        if saved != TableQuery::default_columns() {
            let href = untrack(|| browse.href_with(|q| q.project.table.columns = saved));
            navigate(&href, replace());
        }
    });
}

fn replace() -> leptos_router::NavigateOptions {
    leptos_router::NavigateOptions {
        replace: true,
        scroll: false,
        ..Default::default()
    }
}

fn columns_key(project: &str) -> String {
    format!("millrace.table-columns:{project}")
}

fn widths_key(project: &str) -> String {
    format!("millrace.table-widths:{project}")
}

fn load(key: &str) -> Option<String> {
    LocalStorage::get(key).ok()
}

fn save(key: &str, value: &str) {
    // A full or disabled storage only loses the preference.
    let _ = LocalStorage::set(key, value);
}

/// The loaded rows and everything that acts on them.
#[component]
fn TableBody(
    page: TablePage,
    project: Memo<(String, String)>,
    filter: Memo<Filter>,
    table: Memo<TableQuery>,
    live: JobRevisions,
    stored: StoredValue<String>,
    /// Shows other columns (and remembers them for the project).
    choose: Callback<Vec<TableColumn>>,
) -> impl IntoView {
    // Rows that land after the view was closed find no context: nothing to draw then.
    let Some(browse) = use_context::<Browse>() else {
        return ().into_any();
    };
    let total = RwSignal::new(page.total);
    let pages = RwSignal::new(BTreeMap::from([(0u32, page.rows)]));
    // Pages being read, and those asked for again meanwhile (read once more when it lands).
    let loading = StoredValue::new(Vec::<u32>::new());
    let dirty = StoredValue::new(Vec::<u32>::new());
    let scroll_top = RwSignal::new(0.0f64);
    let viewport = RwSignal::new(FIRST_VIEWPORT_PX);
    let selected = RwSignal::new(Vec::<i64>::new());
    let widths = RwSignal::new(HashMap::<String, i32>::new());
    let scroller = NodeRef::<leptos::html::Div>::new();
    let columns = table.get_untracked().columns;
    let created_at = columns
        .iter()
        .position(|c| *c == TableColumn::Attr(Attr::Created));
    let columns = StoredValue::new(columns);

    // The rows in view, with some above and below.
    let window_rows = Memo::new(move |_| {
        let first = (scroll_top.get() / ROW_PX) as u32;
        let shown = (viewport.get() / ROW_PX).ceil() as u32;
        let start = first.saturating_sub(OVERSCAN);
        let end = (first + shown + OVERSCAN).min(total.get() as u32);
        (start, end.max(start))
    });
    let fetch = move |index: u32| {
        if loading.with_value(|l| l.contains(&index)) {
            dirty.update_value(|d| d.push(index));
            return;
        }
        loading.update_value(|l| l.push(index));
        let (owner, name) = project.get_untracked();
        let (filter, table) = (filter.get_untracked(), table.get_untracked());
        leptos::task::spawn_local(async move {
            loop {
                let (owner, name, filter, table) =
                    (owner.clone(), name.clone(), filter.clone(), table.clone());
                let result =
                    get_job_table(owner, name, filter, table, index * PAGE_ROWS, PAGE_ROWS).await;
                if let Ok(page) = result {
                    // The table may have been closed meanwhile: then nothing is left to update.
                    total.try_set(page.total);
                    pages.try_update(|p| p.insert(index, page.rows));
                }
                let again = dirty
                    .try_update_value(|d| {
                        let asked = d.contains(&index);
                        d.retain(|i| *i != index);
                        asked
                    })
                    .unwrap_or(false);
                if !again {
                    loading.try_update_value(|l| l.retain(|i| *i != index));
                    break;
                }
            }
        });
    };
    let needed = move || {
        let (start, end) = window_rows.get();
        (start / PAGE_ROWS..=end.saturating_sub(1) / PAGE_ROWS).collect::<Vec<u32>>()
    };
    // Read the pages the window needs that are not here yet.
    Effect::new(move |_| {
        for index in needed() {
            if !pages.with_untracked(|p| p.contains_key(&index)) {
                fetch(index);
            }
        }
    });
    // A change in the project: re-read the pages in view (their rows change in place) and drop
    // the others, which would be stale when scrolled to.
    Effect::new(move |previous: Option<(u64, u64)>| {
        let now = (live.status.get(), live.metrics.get());
        if previous.is_some_and(|p| p != now) {
            let keep = untrack(needed);
            pages.update(|p| p.retain(|index, _| keep.contains(index)));
            for index in keep {
                fetch(index);
            }
        }
        now
    });
    // Measure the viewport once in the browser, and again when the window is resized.
    let measure = move || {
        if let Some(el) = scroller.get_untracked() {
            viewport.set(f64::from(el.client_height().max(1)));
        }
    };
    Effect::new(move |_| {
        measure();
        if let Some(saved) = load(&widths_key(&stored.get_value())) {
            widths.set(parse_widths(&saved));
        }
    });
    let resize = window_event_listener(leptos::ev::resize, move |_| measure());
    on_cleanup(move || resize.remove());

    let width_of = move |word: &str| {
        widths
            .with(|w| w.get(word).copied())
            .unwrap_or(DEFAULT_WIDTH)
    };
    let template = move || {
        let name = widths
            .with(|w| w.get("name").copied())
            .unwrap_or(NAME_WIDTH);
        let rest: Vec<String> = columns.with_value(|c| {
            c.iter()
                .map(|column| format!("{}px", width_of(&column.word())))
                .collect()
        });
        format!(
            "--cols: {CHECK_WIDTH}px {name}px {}; --rows: {}",
            rest.join(" "),
            total.get()
        )
    };
    let rows = move || {
        let (start, end) = window_rows.get();
        pages.with(|p| {
            (start..end)
                .filter_map(|i| {
                    p.get(&(i / PAGE_ROWS))
                        .and_then(|rows| rows.get((i % PAGE_ROWS) as usize))
                        .map(|row| (i, row.clone()))
                })
                .collect::<Vec<_>>()
        })
    };
    let dragged = StoredValue::new(None::<usize>);
    let headers = columns
        .with_value(|c| c.clone())
        .into_iter()
        .enumerate()
        .map(|(i, column)| {
            let word = column.word();
            let label = column.label();
            let (sort_column, sort_dir) = table.with_untracked(|t| t.toggled_sort(&column));
            let href = untrack(|| {
                browse.href_with(|q| {
                    q.project.table.sort = sort_column;
                    q.project.table.dir = sort_dir;
                })
            });
            let sorted = table.with_untracked(|t| (t.sort == column).then_some(t.dir));
            let arrow = match sorted {
                Some(crate::model::SortDir::Asc) => " ▲",
                Some(crate::model::SortDir::Desc) => " ▼",
                None => "",
            };
            let aria_sort = match sorted {
                Some(crate::model::SortDir::Asc) => "ascending",
                Some(crate::model::SortDir::Desc) => "descending",
                None => "none",
            };
            let on_drop = move |ev: DragEvent| {
                ev.prevent_default();
                let Some(from) = dragged.get_value() else {
                    return;
                };
                dragged.set_value(None);
                let mut order = columns.get_value();
                if from != i && from < order.len() {
                    let moved = order.remove(from);
                    order.insert(i.min(order.len()), moved);
                    choose.run(order);
                }
            };
            view! {
                <div
                    class="th"
                    role="columnheader"
                    aria-sort=aria_sort
                    draggable="true"
                    on:dragstart=move |ev: DragEvent| {
                        if let Some(data) = ev.data_transfer() {
                            let _ = data.set_data("text/plain", &i.to_string());
                        }
                        dragged.set_value(Some(i));
                    }
                    on:dragover=|ev: DragEvent| ev.prevent_default()
                    on:drop=on_drop
                >
                    <a href=href title=format!("Sort by {label}")>{format!("{label}{arrow}")}</a>
                    <ColumnResize word stored widths/>
                </div>
            }
        })
        .collect_view();
    let name_sort = {
        let name = TableColumn::Attr(Attr::Name);
        let (sort_column, sort_dir) = table.with_untracked(|t| t.toggled_sort(&name));
        untrack(|| {
            browse.href_with(|q| {
                q.project.table.sort = sort_column;
                q.project.table.dir = sort_dir;
            })
        })
    };
    let on_scroll = move |ev: leptos::ev::Event| {
        if let Some(el) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        {
            scroll_top.set(f64::from(el.scroll_top()));
        }
    };
    let toggle = move |number: i64| {
        selected.update(|s| match s.iter().position(|n| *n == number) {
            Some(i) => {
                s.remove(i);
            }
            None => s.push(number),
        })
    };
    let job_href = move |number: i64| {
        let path = browse.path.with(|p| ViewPath {
            job: Some(number.to_string()),
            ..p.clone()
        });
        browse.href_to(&path)
    };
    view! {
        <p class="panels-summary" role="status">
            {move || match total.get() {
                0 => "No jobs match.".to_owned(),
                1 => "1 job".to_owned(),
                n => format!("{n} jobs"),
            }}
        </p>
        {move || {
            let count = selected.with(Vec::len);
            (count > 0).then(|| {
                let compare = browse.project_view_href(Some(ProjectView::Charts), Some(selected.get()));
                view! {
                    <div class="bulk-bar" role="toolbar" aria-label="Table selection">
                        <span>{format!("{count} selected")}</span>
                        <a class="button" href=compare>"Compare"</a>
                        <button on:click=move |_| selected.set(Vec::new())>"Clear"</button>
                    </div>
                }
            })
        }}
        <div class="table-scroll" node_ref=scroller on:scroll=on_scroll style=template role="grid" aria-label="Jobs table" aria-rowcount=move || total.get().to_string()>
            <div class="trow thead" role="row">
                <div class="th check" role="columnheader"></div>
                <div class="th name" role="columnheader">
                    <a href=name_sort>"Name"</a>
                    <ColumnResize word="name".to_owned() stored widths/>
                </div>
                {headers}
            </div>
            <div class="tbody">
                <For each=rows key=|(i, row)| (*i, row.clone()) let((index, row))>
                    <TableRowView index row created_at selected toggle job_href/>
                </For>
            </div>
        </div>
    }
    .into_any()
}

/// One row, placed at its index.
#[component]
fn TableRowView(
    index: u32,
    row: TableRow,
    /// Which cell is the Created column, shown in the viewer's zone.
    created_at: Option<usize>,
    selected: RwSignal<Vec<i64>>,
    toggle: impl Fn(i64) + Copy + Send + Sync + 'static,
    job_href: impl Fn(i64) -> String + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let number = row.number;
    let is_selected = move || selected.with(|s| s.contains(&number));
    view! {
        <div
            class="trow"
            role="row"
            aria-rowindex=(index + 2).to_string()
            aria-selected=move || is_selected().to_string()
            data-number=number.to_string()
            style=format!("top: {}px", f64::from(index) * ROW_PX)
        >
            <div class="td check" role="gridcell">
                <input type="checkbox" aria-label=format!("Select #{number}") prop:checked=is_selected on:change=move |_| toggle(number)/>
            </div>
            <div class="td name" role="gridcell">
                <span class=format!("dot {}", row.status.as_str()) title=row.status.as_str()></span>
                <a href=move || job_href(number)>{format!("#{number} {}", row.name)}</a>
            </div>
            {row.cells.into_iter().enumerate().map(|(i, cell)| {
                let shown = if Some(i) == created_at {
                    view! { <LocalTime ms=row.created_ms/> }.into_any()
                } else {
                    cell.into_any()
                };
                view! { <div class="td" role="gridcell">{shown}</div> }
            }).collect_view()}
        </div>
    }
}

/// The draggable right edge of the header of the column named `word`.
#[component]
fn ColumnResize(
    word: String,
    stored: StoredValue<String>,
    widths: RwSignal<HashMap<String, i32>>,
) -> impl IntoView {
    let start = StoredValue::new(None::<(i32, i32)>);
    let word = StoredValue::new(word);
    let on_down = move |ev: PointerEvent| {
        ev.prevent_default();
        ev.stop_propagation();
        let Some(handle) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        else {
            return;
        };
        let _ = handle.set_pointer_capture(ev.pointer_id());
        let width = handle
            .parent_element()
            .and_then(|h| h.dyn_into::<web_sys::HtmlElement>().ok())
            .map_or(DEFAULT_WIDTH, |h| h.offset_width());
        start.set_value(Some((ev.client_x(), width)));
    };
    let on_move = move |ev: PointerEvent| {
        if let Some((x, width)) = start.get_value() {
            let px = (width + ev.client_x() - x).clamp(60, 800);
            widths.update(|w| {
                w.insert(word.get_value(), px);
            });
        }
    };
    let on_up = move |_: PointerEvent| {
        if start.get_value().is_some() {
            start.set_value(None);
            save(
                &widths_key(&stored.get_value()),
                &widths_text(&widths.get_untracked()),
            );
        }
    };
    view! {
        <div
            class="resize"
            role="separator"
            aria-orientation="vertical"
            aria-label=move || format!("Resize {}", word.get_value())
            on:pointerdown=on_down
            on:pointermove=on_move
            on:pointerup=on_up
            on:dragstart=|ev: DragEvent| ev.prevent_default()
        ></div>
    }
}

/// Column widths as `word=px` lines (keys may hold anything but a newline).
fn widths_text(widths: &HashMap<String, i32>) -> String {
    let mut lines: Vec<String> = widths.iter().map(|(k, v)| format!("{k}={v}")).collect();
    lines.sort();
    lines.join("\n")
}

fn parse_widths(text: &str) -> HashMap<String, i32> {
    text.lines()
        .filter_map(|line| {
            let (key, px) = line.rsplit_once('=')?;
            Some((key.to_owned(), px.parse::<i32>().ok()?.clamp(60, 800)))
        })
        .collect()
}

/// The searchable column chooser: the chosen columns (remove, move) and the project's
/// attributes, parameters and metrics to add, searched on the server among any number of keys.
#[component]
fn ColumnChooser(
    project: Memo<(String, String)>,
    table: Memo<TableQuery>,
    choose: Callback<Vec<TableColumn>>,
    stored: StoredValue<String>,
) -> impl IntoView {
    let open = RwSignal::new(false);
    let search = RwSignal::new(String::new());
    let matches = Resource::new(
        move || (open.get(), project.get(), search.get()),
        |(open, (owner, name), text)| async move {
            match open {
                true => find_table_keys(owner, name, text).await.map(Some),
                false => Ok(None),
            }
        },
    );
    let pending = StoredValue::new(None::<TimeoutHandle>);
    let on_input = move |ev: leptos::ev::Event| {
        let text = event_target_value(&ev);
        if let Some(handle) = pending.get_value() {
            handle.clear();
        }
        let handle = set_timeout_with_handle(
            move || search.set(text),
            std::time::Duration::from_millis(150),
        );
        pending.set_value(handle.ok());
    };
    let chosen = move || table.with(|t| t.columns.clone());
    let set = move |columns: Vec<TableColumn>| choose.run(columns);
    let add = move |column: TableColumn| {
        let mut columns = chosen();
        if !columns.contains(&column) && columns.len() < MAX_COLUMNS {
            columns.push(column);
            set(columns);
        }
    };
    let remove = move |column: TableColumn| {
        let mut columns = chosen();
        columns.retain(|c| *c != column);
        set(columns);
    };
    let shift = move |from: usize, by: isize| {
        let mut columns = chosen();
        let to = from as isize + by;
        if (0..columns.len() as isize).contains(&to) {
            columns.swap(from, to as usize);
            set(columns);
        }
    };
    let option = move |column: TableColumn| {
        let label = column.label();
        let on = {
            let column = column.clone();
            move || table.with(|t| t.columns.contains(&column))
        };
        view! {
            <label class="choice">
                <input type="checkbox" prop:checked=on.clone() on:change=move |_| {
                    if on() { remove(column.clone()) } else { add(column.clone()) }
                }/>
                {label}
            </label>
        }
    };
    let browse = expect_context::<Browse>();
    let reset = move || browse.href_with(|q| q.project.table = TableQuery::default());
    view! {
        <div class="table-bar">
            <button aria-expanded=move || open.get().to_string() on:click=move |_| open.update(|o| *o = !*o)>"Columns"</button>
            // The link resets the URL; the remembered columns are forgotten with it.
            <a class="button" href=reset on:click=move |_| {
                save(&columns_key(&stored.get_value()), &TableQuery::default().columns_word())
            }>"Reset"</a>
        </div>
        {move || open.get().then(|| view! {
            <div class="chooser" role="dialog" aria-label="Choose columns">
                <ol class="chosen" aria-label="Shown columns">
                    {chosen().into_iter().enumerate().map(|(i, column)| {
                        let label = column.label();
                        view! {
                            <li>
                                <span>{label.clone()}</span>
                                <button aria-label=format!("Move {label} left") on:click=move |_| shift(i, -1)>"◀"</button>
                                <button aria-label=format!("Move {label} right") on:click=move |_| shift(i, 1)>"▶"</button>
                                <button aria-label=format!("Remove {label}") on:click=move |_| remove(column.clone())>"×"</button>
                            </li>
                        }
                    }).collect_view()}
                </ol>
                <input type="search" placeholder="Search parameters and metrics" aria-label="Search columns" on:input=on_input/>
                <fieldset>
                    <legend>"Attributes"</legend>
                    {Attr::CHOOSABLE.into_iter().map(|a| option(TableColumn::Attr(a))).collect_view()}
                </fieldset>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let Ok(Some(found)) = matches.await else {
                            return view! { <p class="empty">"Could not read the keys."</p> }.into_any();
                        };
                        let more = |shown: usize, count: i64| (count > shown as i64).then(|| {
                            view! { <p class="panels-more">{format!("{shown} of {count}; search to narrow.")}</p> }
                        });
                        view! {
                            <fieldset>
                                <legend>{format!("Parameters ({})", found.param_count)}</legend>
                                {found.params.iter().map(|k| option(TableColumn::Param(k.clone()))).collect_view()}
                                {more(found.params.len(), found.param_count)}
                            </fieldset>
                            <fieldset>
                                <legend>{format!("Metrics ({})", found.metric_count)}</legend>
                                {found.metrics.iter().map(|k| view! {
                                    <div class="metric-choice">
                                        {Stat::ALL.into_iter().map(|s| option(TableColumn::Metric(k.clone(), s))).collect_view()}
                                    </div>
                                }).collect_view()}
                                {more(found.metrics.len(), found.metric_count)}
                            </fieldset>
                        }.into_any()
                    })}
                </Transition>
            </div>
        })}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_round_trip_and_are_clamped() {
        let widths = HashMap::from([("m:loss".to_owned(), 200), ("p:a=b".to_owned(), 90)]);
        assert_eq!(parse_widths(&widths_text(&widths)), widths);
        assert_eq!(
            parse_widths("name=5\nbad\nx=wide"),
            HashMap::from([("name".to_owned(), 60)])
        );
    }
}
