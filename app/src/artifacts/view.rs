//! The Artifacts tab: the folders down to the open path as a tree whose folders open in place
//! (links, so it works without JavaScript and the URL names the open file), and the open file's
//! preview beside it.

use super::server_fns::{
    ArtifactsPage, Entry, Folder, ModelSummary, Node, OpenFile, Preview, MAX_ROWS, MAX_TEXT_KB,
};
use crate::components::local_time::LocalTime;
use crate::format::bytes;
use crate::miller::browse::Browse;
use crate::url::encode_component;
use crate::view_query::{ViewPath, ViewQuery};
use leptos::prelude::*;

/// The tab for `page`.
#[component]
pub fn ArtifactsTab(page: ArtifactsPage) -> impl IntoView {
    // Data that lands after the pane was closed finds no context: nothing to draw then.
    let Some(browse) = use_context::<Browse>() else {
        return ().into_any();
    };
    // Read once: the tab is drawn again from new data whenever the URL changes.
    let links = Links {
        here: browse.path.with_untracked(ViewPath::href),
        query: browse.query.get_untracked(),
        uid: page.uid.clone(),
        open: page
            .file
            .as_ref()
            .map(|f| f.path.clone())
            .or_else(|| page.folders.last().map(|f| f.path.clone()))
            .unwrap_or_default(),
    };
    let missing = page.missing.clone().map(|path| {
        view! {
            <p class="notice" role="status">
                "This job has no file or folder " <code>{path}</code> "."
            </p>
        }
    });
    let empty = page
        .folders
        .first()
        .is_none_or(|top| top.entries.is_empty());
    if empty {
        return view! {
            {missing}
            <p class="empty">
                "No artifacts yet. A runner keeps the files its spec's " <code>"artifacts"</code>
                " patterns match; a training script logs them with "
                <code>"mlflow.log_artifact(path)"</code> " or "
                <code>"millrace artifacts put JOB FILE"</code> "."
            </p>
        }
        .into_any();
    }
    let tree = folder_list(&page.folders, "", &links);
    let zip = links.zip("");
    let preview = page.file.map(|file| preview_section(file, &links));
    view! {
        {missing}
        <div class="artifacts">
            <nav class="artifact-tree" aria-label="Artifacts">
                <a class="download-all" href=zip download>"Download all (zip)"</a>
                {tree}
            </nav>
            {preview}
        </div>
    }
    .into_any()
}

/// What the tab's links need: the URL, the job, and the open path.
struct Links {
    here: String,
    query: ViewQuery,
    uid: String,
    open: String,
}

impl Links {
    /// The tab opened at `path`.
    fn open(&self, path: &str) -> String {
        let query = ViewQuery {
            file: path.to_owned(),
            ..self.query.clone()
        };
        format!("{}{}", self.here, query.to_query_string())
    }

    /// Whether folder `path` is open: the open path is in it.
    fn is_open(&self, path: &str) -> bool {
        self.open == path || self.open.starts_with(&format!("{path}/"))
    }

    /// The download of file `path`.
    fn file(&self, path: &str) -> String {
        format!("/api/v1/jobs/{}/artifacts/{}", self.uid, encode_path(path))
    }

    /// The zip of folder `path` (`""`: everything).
    fn zip(&self, path: &str) -> String {
        match path {
            "" => format!("/api/v1/jobs/{}/zip", self.uid),
            path => format!("/api/v1/jobs/{}/zip/{}", self.uid, encode_path(path)),
        }
    }
}

fn encode_path(path: &str) -> String {
    path.split('/')
        .map(encode_component)
        .collect::<Vec<_>>()
        .join("/")
}

fn join(folder: &str, name: &str) -> String {
    match folder {
        "" => name.to_owned(),
        folder => format!("{folder}/{name}"),
    }
}

/// Folder `path`'s entries, with each open folder's own entries below it.
fn folder_list(folders: &[Folder], path: &str, links: &Links) -> AnyView {
    let Some(folder) = folders.iter().find(|f| f.path == path) else {
        return ().into_any();
    };
    let rows = folder
        .entries
        .iter()
        .map(|entry| entry_row(folders, path, entry, links))
        .collect_view();
    let hidden = (folder.hidden > 0).then(|| {
        view! {
            <li class="artifact-hidden">
                {format!("{} more not listed: ", folder.hidden)}
                <a href=links.zip(path) download>"download the folder"</a>
            </li>
        }
    });
    view! { <ul role="list">{rows}{hidden}</ul> }.into_any()
}

fn entry_row(folders: &[Folder], folder: &str, entry: &Entry, links: &Links) -> impl IntoView {
    let path = join(folder, &entry.name);
    let ms = entry.modified_ms;
    let when = view! { <span class="when"><LocalTime ms/></span> };
    if entry.is_dir {
        let open = links.is_open(&path);
        // An open folder's link closes it: it opens its parent instead.
        let href = links.open(if open { folder } else { &path });
        let children = open.then(|| folder_list(folders, &path, links));
        view! {
            <li class="artifact-dir">
                <div class="artifact-row">
                    <a class="artifact-name" href=href aria-expanded=open.to_string()>
                        <span class="twisty" aria-hidden="true">{if open { "▾" } else { "▸" }}</span>
                        {format!("{}/", entry.name)}
                    </a>
                    <span class="size"></span>
                    {when}
                    <a class="download" href=links.zip(&path) download
                        aria-label=format!("Download {} as zip", entry.name)>"zip"</a>
                </div>
                {children}
            </li>
        }
        .into_any()
    } else {
        let current = (links.open == path).then_some("true");
        view! {
            <li class="artifact-file">
                <div class="artifact-row">
                    <a class="artifact-name" href=links.open(&path) aria-current=current>
                        {entry.name.clone()}
                    </a>
                    <span class="size">{bytes(entry.bytes)}</span>
                    {when}
                    <a class="download" href=links.file(&path) download
                        aria-label=format!("Download {}", entry.name)>"↓"</a>
                </div>
            </li>
        }
        .into_any()
    }
}

fn preview_section(file: OpenFile, links: &Links) -> impl IntoView {
    let download = links.file(&file.path);
    let name = file.path.rsplit('/').next().unwrap_or_default().to_owned();
    let ms = file.modified_ms;
    let body = match file.preview {
        Preview::Image => view! { <img class="artifact-image" src=download.clone() alt=name/> }
            .into_any(),
        Preview::Text { text, cut } => view! {
            <pre class="artifact-text">{text}</pre>
            {cut.then(|| view! {
                <p class="hint">{format!("The first {MAX_TEXT_KB} KB; download the file for the rest.")}</p>
            })}
        }
        .into_any(),
        Preview::Markdown { html } => view! { <div class="markdown" inner_html=html></div> }.into_any(),
        Preview::Tree(node) => view! { <div class="json-tree">{tree(node, 0)}</div> }.into_any(),
        Preview::Table {
            columns,
            rows,
            more,
        } => table(columns, rows, more).into_any(),
        Preview::Model(summary) => model(summary).into_any(),
        Preview::None { reason } => view! { <p class="empty">{reason}</p> }.into_any(),
    };
    view! {
        <section class="artifact-preview" aria-label="Preview">
            <header class="artifact-head">
                <strong class="path">{file.path}</strong>
                <span class="size">{bytes(file.bytes)}</span>
                <LocalTime ms/>
                <a href=download download>"Download"</a>
            </header>
            {body}
        </section>
    }
}

/// A document's value; maps and lists fold, the first two levels open.
fn tree(node: Node, depth: usize) -> AnyView {
    let branch = |label: AnyView, summary: String, child: Node| {
        view! {
            <details open=depth < 2>
                <summary>{label}<span class="fold">{summary}</span></summary>
                {tree(child, depth + 1)}
            </details>
        }
        .into_any()
    };
    let item = move |label: AnyView, child: Node| match child {
        Node::Leaf(text) => view! { <li>{label}<span class="leaf">{text}</span></li> }.into_any(),
        Node::List(ref items) => {
            let summary = format!("[{}]", items.len());
            view! { <li>{branch(label, summary, child)}</li> }.into_any()
        }
        Node::Map(ref fields) => {
            let summary = format!("{{{}}}", fields.len());
            view! { <li>{branch(label, summary, child)}</li> }.into_any()
        }
    };
    match node {
        Node::Leaf(text) => view! { <span class="leaf">{text}</span> }.into_any(),
        Node::List(items) => view! {
            <ol class="tree-list" start="0">
                {items.into_iter().map(|child| item(().into_any(), child)).collect_view()}
            </ol>
        }
        .into_any(),
        Node::Map(fields) => view! {
            <ul class="tree-map">
                {fields.into_iter().map(|(key, child)| {
                    item(view! { <span class="key">{key}": "</span> }.into_any(), child)
                }).collect_view()}
            </ul>
        }
        .into_any(),
    }
}

fn table(columns: Vec<String>, rows: Vec<Vec<String>>, more: bool) -> impl IntoView {
    let count = rows.len();
    view! {
        <div class="artifact-table">
            <table>
                <thead><tr>{columns.into_iter().map(|c| view! { <th scope="col">{c}</th> }).collect_view()}</tr></thead>
                <tbody>
                    {rows.into_iter().map(|row| view! {
                        <tr>{row.into_iter().map(|c| view! { <td>{c}</td> }).collect_view()}</tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <p class="hint">
            {if more {
                format!("The first {MAX_ROWS} rows; download the file for the rest.")
            } else {
                format!("{count} rows.")
            }}
        </p>
    }
}

fn model(summary: ModelSummary) -> impl IntoView {
    let pairs = |rows: Vec<(String, String)>| {
        rows.into_iter()
            .map(|(k, v)| view! { <tr><td>{k}</td><td>{v}</td></tr> })
            .collect_view()
    };
    let signature = |title: &'static str, rows: Vec<(String, String)>| {
        (!rows.is_empty()).then(|| {
            view! {
                <h4>{title}</h4>
                <table class="params"><thead><tr><th>"Name"</th><th>"Type"</th></tr></thead>
                    <tbody>{pairs(rows)}</tbody></table>
            }
        })
    };
    let requirements = (!summary.requirements.is_empty()).then(|| {
        view! {
            <h4>"Requirements"</h4>
            <ul class="requirements">
                {summary.requirements.into_iter().map(|r| view! { <li><code>{r}</code></li> }).collect_view()}
            </ul>
        }
    });
    view! {
        <div class="model-summary">
            <dl class="facts">
                {summary.facts.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
            </dl>
            <h4>"Flavors"</h4>
            {summary.flavors.into_iter().map(|(name, settings)| view! {
                <details open>
                    <summary><code>{name}</code></summary>
                    <table class="params"><tbody>{pairs(settings)}</tbody></table>
                </details>
            }).collect_view()}
            {signature("Inputs", summary.inputs)}
            {signature("Outputs", summary.outputs)}
            {requirements}
        </div>
    }
}
