//! What acts on a column's rows: the bulk bar for the selection and the context menu of one
//! row, with the browser calls they make (new tab, clipboard, prompts).

use crate::miller::browse::Browse;
use crate::miller::rows::{ColumnKind, Row};
use crate::project_query::ProjectView;
use leptos::ev::{KeyboardEvent, MouseEvent};
use leptos::prelude::*;

/// A context menu opened on a row: which row, and where.
#[derive(Clone, Debug, PartialEq)]
pub struct MenuAt {
    /// The row.
    pub row: Row,
    /// Viewport x of the menu's corner.
    pub x: i32,
    /// Viewport y of the menu's corner.
    pub y: i32,
}

/// The actions for the selected rows.
#[component]
pub fn BulkBar(
    kind: Memo<ColumnKind>,
    selected: RwSignal<Vec<String>>,
    tag: impl Fn(Vec<String>) + Copy + Send + Sync + 'static,
    archive: impl Fn(Vec<String>) + Copy + Send + Sync + 'static,
    stop: impl Fn(Vec<String>) + Copy + Send + Sync + 'static,
    rerun: impl Fn(Vec<String>) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let browse = expect_context::<Browse>();
    // Job rows are named by number: the compared jobs' URL lists them.
    let compare = move || {
        let numbers: Vec<i64> =
            selected.with(|s| s.iter().filter_map(|id| id.parse().ok()).collect());
        browse.project_view_href(Some(ProjectView::Charts), Some(numbers))
    };
    let editable = move || kind.with(ColumnKind::editable);
    let taggable = move || kind.with(ColumnKind::taggable);
    move || {
        let count = selected.with(Vec::len);
        (count > 0).then(|| view! {
            <div class="bulk-bar" role="toolbar" aria-label="Selection">
                <span>{format!("{count} selected")}</span>
                <button disabled=move || !taggable() on:click=move |_| tag(selected.get_untracked())>"Tag"</button>
                <button disabled=move || !editable() on:click=move |_| archive(selected.get_untracked())>"Archive"</button>
                {move || taggable().then(|| view! { <a class="button" href=compare>"Compare"</a> })}
                <button disabled=move || !taggable() on:click=move |_| stop(selected.get_untracked())>"Stop"</button>
                <button disabled=move || !taggable() on:click=move |_| rerun(selected.get_untracked())>"Rerun"</button>
                <button on:click=move |_| selected.set(Vec::new())>"Clear"</button>
            </div>
        })
    }
}

/// The menu of one row, opened by right-click, the ⋯ button or the context-menu key.
#[component]
pub fn ContextMenu(
    kind: Memo<ColumnKind>,
    menu: RwSignal<Option<MenuAt>>,
    tag: impl Fn(Vec<String>) + Copy + Send + Sync + 'static,
    archive: impl Fn(Vec<String>) + Copy + Send + Sync + 'static,
    rename: impl Fn(Row) + Copy + Send + Sync + 'static,
    stop: impl Fn(Vec<String>) + Copy + Send + Sync + 'static,
    rerun: impl Fn(Vec<String>) + Copy + Send + Sync + 'static,
    members: impl Fn(Row) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let browse = expect_context::<Browse>();
    let close = move || menu.set(None);
    move || {
        menu.get().map(|at| {
            let is_jobs = kind.with(|k| matches!(k, ColumnKind::Jobs { .. }));
            let is_projects = kind.with(|k| matches!(k, ColumnKind::Projects { .. }));
            let editable = kind.with(ColumnKind::editable);
            let taggable = kind.with(ColumnKind::taggable);
            let href = browse.href_to(&kind.with(|k| k.open(&at.row.id)));
            let (new_tab, link) = (href.clone(), href);
            let (uid, row) = (at.row.uid.clone(), at.row.clone());
            let project_row = at.row.clone();
            let (tag_id, archive_id) = (at.row.id.clone(), at.row.id.clone());
            let (stop_id, rerun_id) = (at.row.id.clone(), at.row.id.clone());
            view! {
                <div class="menu-backdrop" on:click=move |_| close() on:contextmenu=move |ev: MouseEvent| { ev.prevent_default(); close() }></div>
                <div
                    class="menu"
                    role="menu"
                    aria-label=format!("Actions for {}", at.row.title)
                    style=format!("left: {}px; top: {}px", at.x, at.y)
                    on:keydown=move |ev: KeyboardEvent| if ev.key() == "Escape" { close() }
                >
                    <button role="menuitem" autofocus on:click=move |_| { open_tab(&new_tab); close() }>"Open in new tab"</button>
                    <button role="menuitem" on:click=move |_| { copy(&absolute(&link)); close() }>"Copy link"</button>
                    <button role="menuitem" on:click=move |_| { copy(&uid); close() }>"Copy ID"</button>
                    <button role="menuitem" disabled=!editable on:click=move |_| { close(); rename(row.clone()) }>"Rename…"</button>
                    <button role="menuitem" disabled=!taggable on:click=move |_| { close(); tag(vec![tag_id.clone()]) }>"Tag…"</button>
                    <button role="menuitem" disabled=!editable on:click=move |_| { close(); archive(vec![archive_id.clone()]) }>"Archive"</button>
                    {is_projects.then(|| view! {
                        <button role="menuitem" on:click=move |_| { close(); members(project_row.clone()) }>"Members…"</button>
                    })}
                    {is_jobs.then(|| view! {
                        <button role="menuitem" on:click=move |_| { close(); stop(vec![stop_id.clone()]) }>"Stop"</button>
                        <button role="menuitem" on:click=move |_| { close(); rerun(vec![rerun_id.clone()]) }>"Rerun"</button>
                    })}
                </div>
            }
        })
    }
}

/// Asks for a line of text; `None` when cancelled or blank.
pub fn prompt(message: &str, default: &str) -> Option<String> {
    window()
        .prompt_with_message_and_default(message, default)
        .ok()
        .flatten()
        .filter(|text| !text.trim().is_empty())
}

fn open_tab(href: &str) {
    let _ = window().open_with_url_and_target(href, "_blank");
}

fn copy(text: &str) {
    // The promise is dropped: a refused clipboard leaves nothing to undo.
    let _ = window().navigator().clipboard().write_text(text);
}

fn absolute(href: &str) -> String {
    let origin = window().location().origin().unwrap_or_default();
    format!("{origin}{href}")
}
