//! One Miller column: a sorted, filtered list with infinite scroll, a context menu and
//! multi-select; folded into a spine when it is left of the last two.

use crate::components::error_notice::ErrorNotice;
use crate::hooks::use_page_events::use_job_revisions;
use crate::job::runs::{rerun_jobs, stop_jobs};
use crate::job::server_fns::{archive_jobs, rename_job, tag_jobs};
use crate::miller::browse::{Browse, SignedIn};
use crate::miller::row_actions::{prompt, BulkBar, ContextMenu, MenuAt};
use crate::miller::rows::{fetch_rows, merge_fresh, reorder_fresh, ColumnKind, Row};
use crate::miller::widths::{ResizeHandle, Widths};
use crate::model::{JobSort, JobStatus};
use crate::project::members_dialog::MembersDialog;
use crate::project::server_fns::{archive_projects, rename_project};
use crate::project_query::ProjectView;
use crate::view_query::{ViewPath, ViewQuery};
use leptos::ev::{KeyboardEvent, MouseEvent};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::NavigateOptions;
use wasm_bindgen::JsCast;

/// Rows drawn as placeholders while a page loads, so nothing moves when it arrives.
const SKELETON_ROWS: usize = 8;

/// Load the next page when fewer than this many pixels of rows are left below the view.
const PREFETCH_PX: i32 = 800;

/// The column at `index` (0 users, 1 projects, 2 jobs) showing `kind`.
#[component]
pub fn Column(
    /// Which list; changes when the path above it changes.
    kind: Memo<ColumnKind>,
    /// Its position from the left.
    index: usize,
) -> impl IntoView {
    let browse = expect_context::<Browse>();
    let key = Memo::new(move |_| (kind.get(), browse.query.get().only(index)));
    let first = Resource::new(
        move || key.get(),
        |(kind, view)| fetch_rows(kind, view, None),
    );
    // A column keeps its kind of rows while the path above it changes.
    let label = kind.with_untracked(ColumnKind::label);
    let folded = move || browse.is_folded(index);
    let current = move || browse.path.with(|path| browse.segment(path, index));

    let widths = expect_context::<Widths>();
    let width = move || widths.css(index);

    view! {
        <section
            class="level column"
            class:folded=folded
            class:deepest=move || browse.is_deepest(index)
            data-index=index
            tabindex="-1"
            style:width=width
            style:flex-basis=width
        >
            <button
                class="spine"
                aria-label=format!("Show {label}")
                on:click=move |_| browse.unfold(index)
                on:focus=move |_| browse.unfold(index)
            >
                <span class="spine-text">{move || current().unwrap_or_else(|| label.to_owned())}</span>
            </button>
            <ColumnHeader kind index/>
            <Suspense fallback=move || view! { <Skeleton label/> }>
                <ErrorBoundary fallback=|errors| view! { <ErrorNotice errors/> }>
                    {move || Suspend::new(async move {
                        first.await.map(|page| view! {
                            <ColumnBody kind index rows=page.items next=page.next first/>
                        })
                    })}
                </ErrorBoundary>
            </Suspense>
            <ResizeHandle index label/>
        </section>
    }
    .into_any()
}

/// Placeholder rows of the final size.
#[component]
fn Skeleton(label: &'static str) -> impl IntoView {
    view! {
        <div class="rows" role="listbox" aria-label=label aria-busy="true">
            {(0..SKELETON_ROWS).map(|_| view! { <div class="row skeleton"></div> }).collect_view()}
        </div>
    }
}

/// Title, back control (narrow screens), sort menu, filter and status chips.
#[component]
fn ColumnHeader(kind: Memo<ColumnKind>, index: usize) -> impl IntoView {
    let browse = expect_context::<Browse>();
    let navigate = leptos_router::hooks::use_navigate();
    let label = kind.with_untracked(ColumnKind::label);
    let lower = label.to_lowercase();
    let sort_word = move || browse.query.with(|q| q.sort_word(index));
    let filter_text = move || {
        browse
            .query
            .with(|q| q.filter(index).text.clone().unwrap_or_default())
    };
    let pending = StoredValue::new(None::<TimeoutHandle>);

    let set_sort = {
        let navigate = navigate.clone();
        move |ev: leptos::ev::Event| {
            let word = event_target_value(&ev);
            let href = untrack(|| browse.href_with(|q| q.set_sort_word(index, &word)));
            navigate(&href, Default::default());
        }
    };
    let set_filter = {
        let navigate = navigate.clone();
        move |text: String| {
            let href = untrack(|| {
                browse.href_with(|q| {
                    q.filter_mut(index).text =
                        Some(text.trim().to_owned()).filter(|t| !t.is_empty())
                })
            });
            navigate(
                &href,
                NavigateOptions {
                    replace: true,
                    ..Default::default()
                },
            );
        }
    };
    let on_input = {
        let set_filter = set_filter.clone();
        move |ev: leptos::ev::Event| {
            let text = event_target_value(&ev);
            if let Some(handle) = pending.get_value() {
                handle.clear();
            }
            let set_filter = set_filter.clone();
            let handle = set_timeout_with_handle(
                move || set_filter(text),
                std::time::Duration::from_millis(250),
            );
            pending.set_value(handle.ok());
        }
    };
    let on_submit = {
        let set_filter = set_filter.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            if let Some(handle) = pending.get_value() {
                handle.clear();
            }
            let text = ev
                .target()
                .and_then(|form| form.dyn_into::<web_sys::Element>().ok())
                .and_then(|form| form.query_selector("input.filter").ok().flatten())
                .and_then(|input| input.dyn_into::<web_sys::HtmlInputElement>().ok())
                .map(|input| input.value())
                .unwrap_or_default();
            set_filter(text);
        }
    };
    let on_filter_key = move |ev: KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.stop_propagation();
            if let Some(input) = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            {
                input.set_value("");
                let _ = input.blur();
            }
            set_filter(String::new());
        }
    };
    let prefix = ["u", "p", "j"][index.min(2)];
    let hidden_fields = move || {
        let own = [format!("{prefix}sort"), format!("{prefix}q")];
        browse
            .query
            .with(ViewQuery::pairs)
            .into_iter()
            .filter(|(key, _)| !own.contains(key))
            .map(|(key, value)| view! { <input type="hidden" name=key value=value/> })
            .collect_view()
    };
    let chips = move || {
        kind.with(|k| matches!(k, ColumnKind::Jobs { .. })).then(|| {
            let statuses = JobStatus::ALL.into_iter().filter(|s| *s != JobStatus::Starting);
            view! {
                <nav class="project-views" aria-label="Project views">
                    {ProjectView::ALL.into_iter().map(|v| {
                        let on = move || browse.query.with(|q| q.project.view == Some(v));
                        view! {
                            <a href=move || browse.project_view_href(Some(v), None) aria-current=move || on().then_some("page")>
                                {v.word()}
                            </a>
                        }
                    }).collect_view()}
                </nav>
                <div class="chips" role="group" aria-label="Status">
                    {statuses.map(|status| {
                        let on = move || browse.query.with(|q| q.jobs.filter.statuses.contains(&status));
                        let href = move || browse.href_with(|q| q.toggle_status(status));
                        view! {
                            <a class=format!("chip {}", status.as_str()) href=href aria-pressed=move || on().to_string()>
                                {status.as_str()}
                            </a>
                        }
                    }).collect_view()}
                </div>
            }
        })
    };

    // Your own projects column starts with the way to make another.
    let signed_in = use_context::<SignedIn>();
    let new_project = kind
        .with_untracked(|k| matches!(k, ColumnKind::Projects { .. }))
        .then(|| {
            view! {
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let me = signed_in?.0.await.ok()?;
                        let own = kind.with(|k| matches!(k, ColumnKind::Projects { owner } if *owner == me.name));
                        own.then(|| view! { <a class="new-project" href="/projects/new">"+ New project"</a> })
                    })}
                </Suspense>
            }
        });

    view! {
        <header class="column-header">
            <a class="back" href=move || browse.parent_href()>"‹ Back"</a>
            <h2>{label}</h2>
            {new_project}
            // A GET form, so Enter in the filter works without JavaScript too: the other
            // columns' state rides along in hidden fields.
            <form method="get" action=move || browse.path.with(ViewPath::href) on:submit=on_submit>
            {hidden_fields}
            <select class="sort" name=format!("{prefix}sort") aria-label=format!("Sort {lower}") on:change=set_sort prop:value=sort_word>
                {move || kind.with(|k| k.sorts()).iter().map(|(word, text)| {
                    view! { <option value=*word selected=move || sort_word() == *word>{*text}</option> }
                }).collect_view()}
                {move || {
                    let word = sort_word();
                    (!kind.with(|k| k.sorts()).iter().any(|(w, _)| *w == word))
                        .then(|| view! { <option value=word.clone() selected=true>{word.clone()}</option> })
                }}
            </select>
            <input
                class="filter"
                type="search"
                name=format!("{prefix}q")
                placeholder="Filter"
                aria-label=format!("Filter {lower}")
                prop:value=filter_text
                value=filter_text
                on:input=on_input
                on:keydown=on_filter_key
            />
            </form>
            {chips}
        </header>
    }
    .into_any()
}

/// The rows of a loaded column with everything that acts on them.
#[component]
fn ColumnBody(
    kind: Memo<ColumnKind>,
    index: usize,
    rows: Vec<Row>,
    next: Option<String>,
    first: Resource<Result<crate::miller::rows::RowPage, crate::error::AppError>>,
) -> impl IntoView {
    let browse = expect_context::<Browse>();
    let rows = RwSignal::new(rows);
    let next = RwSignal::new(next);
    let loading = RwSignal::new(false);
    let load_error = RwSignal::new(None::<String>);
    let selected = RwSignal::new(Vec::<String>::new());
    let anchor = RwSignal::new(None::<String>);
    let menu = RwSignal::new(None::<MenuAt>);
    let list = NodeRef::<leptos::html::Div>::new();
    let label = kind.get_untracked().label();

    let load_more = move || {
        let Some(cursor) = next.get_untracked() else {
            return;
        };
        if loading.get_untracked() {
            return;
        }
        loading.set(true);
        let view = browse.query.get_untracked().only(index);
        spawn_local(async move {
            match fetch_rows(kind.get_untracked(), view, Some(cursor)).await {
                Ok(page) => {
                    rows.update(|r| r.extend(page.items));
                    next.set(page.next);
                    load_error.set(None);
                }
                Err(error) => load_error.set(Some(error.to_string())),
            }
            loading.set(false);
        });
    };
    let near_end = move || {
        list.get_untracked().is_some_and(|el| {
            el.scroll_height() - (el.scroll_top() + el.client_height()) < PREFETCH_PX
        })
    };
    // After each page lands (and once after hydration) keep loading while the list does not
    // yet reach past the prefetch distance: a tall screen must not wait for a scroll event.
    Effect::new(move |_| {
        rows.track();
        if !loading.get() && next.with(Option::is_some) && near_end() {
            load_more();
        }
    });

    // Live: a job created or changed in the project re-reads the first page; rows shown take
    // their new values in place and new jobs at its top appear on top (when the sort puts them
    // there), keeping the scroll position and the selection. Sorted by a metric, new points
    // move rows too.
    let live = use_job_revisions(Memo::new(|_| None));
    let by_metric = Memo::new(move |_| {
        browse
            .query
            .with(|q| matches!(q.jobs.sort, JobSort::Metric(_)))
    });
    // Sorted by something events change, rows move; by creation or name they stay put.
    let moving = move || {
        browse.query.with_untracked(|q| {
            matches!(
                q.jobs.sort,
                JobSort::Metric(_) | JobSort::Status | JobSort::Duration
            )
        })
    };
    Effect::new(move |previous: Option<(u64, u64)>| {
        let metrics = if by_metric.get() {
            live.metrics.get()
        } else {
            0
        };
        let now = (live.status.get(), metrics);
        let jobs = kind.with_untracked(|k| matches!(k, ColumnKind::Jobs { .. }));
        if jobs && previous.is_some_and(|p| p != now) {
            let view = browse.query.get_untracked().only(index);
            spawn_local(async move {
                if let Ok(page) = fetch_rows(kind.get_untracked(), view, None).await {
                    let apply = if moving() { reorder_fresh } else { merge_fresh };
                    rows.try_update(|rows| apply(rows, page.items));
                }
            });
        }
        now
    });

    let position = move |id: &str| rows.with_untracked(|r| r.iter().position(|row| row.id == id));
    let toggle = move |id: String| {
        selected.update(|s| match s.iter().position(|x| *x == id) {
            Some(i) => {
                s.remove(i);
            }
            None => s.push(id.clone()),
        });
        anchor.set(Some(id));
    };
    let select_range = move |id: String| {
        let from = anchor
            .get_untracked()
            .and_then(|a| position(&a))
            .unwrap_or(0);
        let Some(to) = position(&id) else { return };
        let (lo, hi) = (from.min(to), from.max(to));
        let ids: Vec<String> =
            rows.with_untracked(|r| r[lo..=hi].iter().map(|row| row.id.clone()).collect());
        selected.update(|s| {
            for id in ids {
                if !s.contains(&id) {
                    s.push(id);
                }
            }
        });
    };

    let on_key = move |ev: KeyboardEvent| {
        let Some(option) = focused_option() else {
            return;
        };
        let id = option.get_attribute("data-id").unwrap_or_default();
        match ev.key().as_str() {
            "ArrowDown" | "ArrowUp" => {
                ev.prevent_default();
                let sibling = if ev.key() == "ArrowDown" {
                    option.next_element_sibling()
                } else {
                    option.previous_element_sibling()
                };
                // The row after the last may be the placeholder of the page being loaded.
                let sibling =
                    sibling.filter(|s| s.get_attribute("role").as_deref() == Some("option"));
                if let Some(target) =
                    sibling.and_then(|s| s.dyn_into::<web_sys::HtmlElement>().ok())
                {
                    let _ = target.focus();
                    if ev.shift_key() {
                        let target_id = target.get_attribute("data-id").unwrap_or_default();
                        selected.update(|s| {
                            for id in [id, target_id] {
                                if !s.contains(&id) {
                                    s.push(id);
                                }
                            }
                        });
                    }
                }
            }
            " " => {
                ev.prevent_default();
                toggle(id);
            }
            "Enter" => {
                ev.prevent_default();
                if let Ok(Some(link)) = option.query_selector("a") {
                    if let Ok(link) = link.dyn_into::<web_sys::HtmlElement>() {
                        link.click();
                    }
                }
            }
            "Escape" => {
                selected.set(Vec::new());
                menu.set(None);
            }
            "ContextMenu" => {
                ev.prevent_default();
                let (x, y) = option
                    .dyn_ref::<web_sys::HtmlElement>()
                    .map_or((0, 0), |el| {
                        (el.offset_left() + 24, el.offset_top() + el.offset_height())
                    });
                if let Some(row) =
                    rows.with_untracked(|r| r.iter().find(|row| row.id == id).cloned())
                {
                    menu.set(Some(MenuAt { row, x, y }));
                }
            }
            _ => {}
        }
    };

    let uids_of = move |ids: &[String]| -> Vec<String> {
        rows.with_untracked(|r| {
            r.iter()
                .filter(|row| ids.contains(&row.id))
                .map(|row| row.uid.clone())
                .collect()
        })
    };
    let after_action = move |result: Result<(), crate::error::AppError>| match result {
        Ok(()) => first.refetch(),
        Err(error) => load_error.set(Some(error.to_string())),
    };
    let tag = move |ids: Vec<String>| {
        let Some(text) = prompt("Tag (key or key=value)", "") else {
            return;
        };
        let (key, value) = text.split_once('=').unwrap_or((&text, ""));
        let (key, value) = (key.trim().to_owned(), value.trim().to_owned());
        let ColumnKind::Jobs { owner, project } = kind.get_untracked() else {
            return;
        };
        let uids = uids_of(&ids);
        spawn_local(async move { after_action(tag_jobs(owner, project, uids, key, value).await) });
    };
    let archive = move |ids: Vec<String>| match kind.get_untracked() {
        ColumnKind::Jobs { owner, project } => {
            let uids = uids_of(&ids);
            spawn_local(
                async move { after_action(archive_jobs(owner, project, uids, true).await) },
            );
        }
        ColumnKind::Projects { owner } => {
            spawn_local(async move { after_action(archive_projects(owner, ids, true).await) });
        }
        ColumnKind::Users => {}
    };
    let stop = move |ids: Vec<String>| {
        if let ColumnKind::Jobs { owner, project } = kind.get_untracked() {
            let uids = uids_of(&ids);
            spawn_local(
                async move { after_action(stop_jobs(owner, project, uids).await.map(|_| ())) },
            );
        }
    };
    let rerun = move |ids: Vec<String>| {
        if let ColumnKind::Jobs { owner, project } = kind.get_untracked() {
            let uids = uids_of(&ids);
            spawn_local(
                async move { after_action(rerun_jobs(owner, project, uids).await.map(|_| ())) },
            );
        }
    };
    // Stored, so the rename closure stays `Copy` for the menu and the bulk bar.
    let navigate = StoredValue::new(leptos_router::hooks::use_navigate());
    let rename = move |row: Row| {
        let Some(name) = prompt("New name", &row.title) else {
            return;
        };
        match kind.get_untracked() {
            ColumnKind::Jobs { owner, project } => {
                spawn_local(async move {
                    after_action(rename_job(owner, project, row.uid, name).await)
                });
            }
            ColumnKind::Projects { owner } => {
                spawn_local(async move {
                    let renamed = rename_project(owner, row.id.clone(), name).await;
                    // The open project's URL named it: follow it to its new name.
                    if let Ok(new_name) = &renamed {
                        let open = browse.path.get_untracked();
                        if open.project.as_deref() == Some(row.id.as_str()) {
                            let moved = ViewPath {
                                project: Some(new_name.clone()),
                                ..open
                            };
                            let href = untrack(|| browse.href_to(&moved));
                            let replace = NavigateOptions {
                                replace: true,
                                ..Default::default()
                            };
                            navigate.with_value(|navigate| navigate(&href, replace));
                        }
                    }
                    after_action(renamed.map(|_| ()));
                });
            }
            ColumnKind::Users => {}
        }
    };

    // The project whose "Members…" dialog is open.
    let members_of = RwSignal::new(None::<String>);
    let members = move |row: Row| members_of.set(Some(row.id));
    let members_dialog = move || {
        let ColumnKind::Projects { owner } = kind.get() else {
            return None;
        };
        members_of.get().map(|project| {
            view! { <MembersDialog owner project close=move || members_of.set(None)/> }
        })
    };

    let row_view = move |row: Row| {
        let id = row.id.clone();
        let href = {
            let path = kind.with_untracked(|k| k.open(&row.id));
            move || browse.href_to(&path)
        };
        let is_current = {
            let id = id.clone();
            move || {
                browse
                    .path
                    .with(|p| browse.segment(p, index))
                    .is_some_and(|c| c == id)
            }
        };
        let is_selected = {
            let id = id.clone();
            move || selected.with(|s| s.contains(&id))
        };
        let on_click = {
            let id = id.clone();
            move |ev: MouseEvent| {
                if ev.ctrl_key() || ev.meta_key() {
                    ev.prevent_default();
                    toggle(id.clone());
                } else if ev.shift_key() {
                    ev.prevent_default();
                    select_range(id.clone());
                } else {
                    selected.set(Vec::new());
                    anchor.set(Some(id.clone()));
                }
            }
        };
        let open_menu = {
            let row = row.clone();
            move |ev: MouseEvent| {
                ev.prevent_default();
                menu.set(Some(MenuAt {
                    row: row.clone(),
                    x: ev.client_x(),
                    y: ev.client_y(),
                }));
            }
        };
        let open_menu_button = open_menu.clone();
        let first_row = rows.with_untracked(|r| r.first().is_some_and(|f| f.id == id));
        let tabindex = {
            let is_current = is_current.clone();
            move || {
                let none_current = browse.path.with(|p| browse.segment(p, index)).is_none();
                if is_current() || (none_current && first_row) {
                    0
                } else {
                    -1
                }
            }
        };
        view! {
            <div
                class="row"
                role="option"
                data-id=id.clone()
                tabindex=tabindex
                aria-selected=move || is_selected().to_string()
                aria-current=move || is_current().then_some("true")
                on:contextmenu=open_menu
            >
                <a class="row-link" href=href tabindex="-1" on:click=on_click>
                    <span class="row-title">{row.title.clone()}</span>
                    <span class="row-detail">
                        {row.status.map(|s| view! { <span class=format!("status {}", s.as_str())>{s.as_str()}</span> })}
                        {row.detail.clone()}
                    </span>
                </a>
                <button class="row-menu" aria-label=format!("Actions for {}", row.title) tabindex="-1" on:click=open_menu_button>"⋯"</button>
            </div>
        }
    };

    view! {
        <div
            class="rows"
            role="listbox"
            aria-label=label
            aria-multiselectable="true"
            node_ref=list
            on:scroll=move |_| if near_end() { load_more() }
            on:keydown=on_key
        >
            // Keyed by what a row shows too, so a row whose job changed is drawn again.
            <For each=move || rows.get() key=|row| (row.id.clone(), row.status, row.title.clone(), row.detail.clone()) children=row_view/>
            {move || loading.get().then(|| view! { <div class="row skeleton" aria-hidden="true"></div> })}
            {move || rows.with(Vec::is_empty).then(|| view! { <p class="empty">"Nothing here."</p> })}
        </div>
        {move || load_error.get().map(|e| view! { <p class="error-notice" role="alert">{e}</p> })}
        <BulkBar kind selected tag archive stop rerun/>
        <ContextMenu kind menu tag archive rename stop rerun members/>
        {members_dialog}
    }
    .into_any()
}

/// The row that has keyboard focus, if any.
fn focused_option() -> Option<web_sys::Element> {
    document()
        .active_element()?
        .closest("[role=option]")
        .ok()
        .flatten()
}
