//! The Miller view's shared state: where it is opened, its query, which columns fold; and the
//! keys that move between columns.

use crate::project_query::ProjectView;
use crate::view_query::{ViewPath, ViewQuery};
use leptos::ev::KeyboardEvent;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// Who is signed in, read once by the page for the top bar and the columns.
#[derive(Clone, Copy)]
pub struct SignedIn(pub Resource<Result<crate::model::Me, crate::error::AppError>>);

/// What every column and the job pane read from the URL, provided by the page.
#[derive(Clone, Copy)]
pub struct Browse {
    /// The opened path.
    pub path: Memo<ViewPath>,
    /// Sorts, filters and the job tab.
    pub query: Memo<ViewQuery>,
    /// A folded column the person opened again; reset by navigation.
    pub unfolded: RwSignal<Option<usize>>,
    /// Whether the shortcuts sheet is open.
    pub shortcuts: RwSignal<bool>,
}

impl Browse {
    /// Reads the view from the router's location.
    pub fn from_location() -> Self {
        let location = leptos_router::hooks::use_location();
        let path = Memo::new(move |_| {
            location
                .pathname
                .with(|p| ViewPath::from_pathname(p).unwrap_or_default())
        });
        let query = Memo::new(move |_| location.query.with(ViewQuery::from_params));
        let unfolded = RwSignal::new(None);
        // A folded column opened by hand closes again when the view moves on.
        Effect::new(move |previous: Option<ViewPath>| {
            let now = path.get();
            if previous.is_some_and(|p| p != now) {
                unfolded.set(None);
            }
            now
        });
        Self {
            path,
            query,
            unfolded,
            shortcuts: RwSignal::new(false),
        }
    }

    /// How many levels are shown: users, then projects, jobs and the job pane as opened, or
    /// a project view right of the jobs.
    pub fn levels(&self) -> usize {
        let depth = self.path.with(ViewPath::depth);
        let project_view = depth == 2 && self.query.with(|q| q.project.view.is_some());
        depth + 1 + usize::from(project_view)
    }

    /// Whether level `index` folds into a spine: all left of the last two do.
    pub fn is_folded(&self, index: usize) -> bool {
        index + 2 < self.levels() && self.unfolded.get() != Some(index)
    }

    /// Whether level `index` is the one a narrow screen shows.
    pub fn is_deepest(&self, index: usize) -> bool {
        index + 1 == self.levels()
    }

    /// Opens folded level `index` again.
    pub fn unfold(&self, index: usize) {
        if self.unfolded.get_untracked() != Some(index) {
            self.unfolded.set(Some(index));
        }
    }

    /// The id of the row of level `index` whose children are open to its right.
    pub fn segment(&self, path: &ViewPath, index: usize) -> Option<String> {
        match index {
            0 => path.user.clone(),
            1 => path.project.clone(),
            _ => path.job.clone(),
        }
    }

    /// The URL of `path` keeping the current sorts, filters and tab; the open artifact only
    /// while the job stays the same, as another job's files differ.
    pub fn href_to(&self, path: &ViewPath) -> String {
        let mut query = self.query.get();
        if self.path.with(|now| now.job != path.job) {
            query.file.clear();
        }
        format!("{}{}", path.href(), query.to_query_string())
    }

    /// The current path with the query changed by `change` (tracked: links stay current).
    pub fn href_with(&self, change: impl FnOnce(&mut ViewQuery)) -> String {
        let mut query = self.query.get();
        change(&mut query);
        format!(
            "{}{}",
            self.path.with(ViewPath::href),
            query.to_query_string()
        )
    }

    /// The project's page with the project view `view` (none closes it), keeping the rest of
    /// the query; with `compare`, comparing those job numbers.
    pub fn project_view_href(
        &self,
        view: Option<ProjectView>,
        compare: Option<Vec<i64>>,
    ) -> String {
        let mut query = self.query.get();
        query.project.view = view;
        if let Some(compare) = compare {
            query.project.compare = compare;
        }
        let path = self.path.with(|p| ViewPath {
            job: None,
            ..p.clone()
        });
        format!("{}{}", path.href(), query.to_query_string())
    }

    /// One level up, keeping the query: the back control.
    pub fn parent_href(&self) -> String {
        self.href_to(&self.path.with(ViewPath::parent))
    }
}

/// Keys handled for the whole view: ←/→ between levels, `/` to filter, `?` for the sheet.
pub fn on_view_key(browse: Browse, ev: KeyboardEvent) {
    let typing = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "SELECT" | "TEXTAREA"));
    if typing || ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
        return;
    }
    match ev.key().as_str() {
        "ArrowLeft" | "ArrowRight" => {
            let Some(from) = focused_level() else { return };
            let to = if ev.key() == "ArrowLeft" {
                from.checked_sub(1)
            } else {
                Some(from + 1)
            };
            if let Some(to) = to.filter(|to| *to < browse.levels()) {
                ev.prevent_default();
                if browse.is_folded(to) {
                    browse.unfold(to);
                }
                // The level may have just unfolded, or its rows may still be on their way.
                request_animation_frame(move || focus_level(to, FOCUS_TRIES));
            }
        }
        "/" => {
            ev.prevent_default();
            let level = focused_level().unwrap_or(browse.levels().saturating_sub(1).min(2));
            let selector = format!(".level[data-index='{level}'] input.filter");
            if let Some(input) = query_html(&selector) {
                let _ = input.focus();
            }
        }
        "?" => {
            ev.prevent_default();
            browse.shortcuts.update(|open| *open = !*open);
        }
        "Escape" => browse.shortcuts.set(false),
        _ => {}
    }
}

/// The index of the level holding keyboard focus.
fn focused_level() -> Option<usize> {
    document()
        .active_element()?
        .closest(".level")
        .ok()??
        .get_attribute("data-index")?
        .parse()
        .ok()
}

/// How often, 50 ms apart, focus waits for a level's rows to arrive.
const FOCUS_TRIES: u32 = 40;

/// Focuses level `index`: its open row, else its first row; while a column has no rows yet,
/// tries again `tries` more times, then focuses the level itself.
fn focus_level(index: usize, tries: u32) {
    let level = format!(".level[data-index='{index}']");
    let row = query_html(&format!("{level} [role=option][aria-current=true]"))
        .or_else(|| query_html(&format!("{level} [role=option]")));
    match row {
        Some(row) => {
            let _ = row.focus();
        }
        // The job pane has no rows: it takes focus itself.
        None if tries > 0 && query_html(&format!("{level}.column")).is_some() => set_timeout(
            move || focus_level(index, tries - 1),
            std::time::Duration::from_millis(50),
        ),
        None => {
            if let Some(level) = query_html(&level) {
                let _ = level.focus();
            }
        }
    }
}

fn query_html(selector: &str) -> Option<web_sys::HtmlElement> {
    document()
        .query_selector(selector)
        .ok()??
        .dyn_into::<web_sys::HtmlElement>()
        .ok()
}

/// The sheet `?` opens.
#[component]
pub fn ShortcutsSheet() -> impl IntoView {
    let browse = expect_context::<Browse>();
    const KEYS: [(&str, &str); 9] = [
        ("↑ ↓", "Move within a column"),
        ("← →", "Move between columns"),
        ("Enter", "Open"),
        ("Space", "Select or unselect"),
        ("Shift ↑ ↓", "Extend the selection"),
        ("Ctrl/⌘-click, Shift-click", "Select several, a range"),
        ("/", "Filter the column"),
        ("Esc", "Clear the selection or the filter"),
        ("?", "Show or hide these shortcuts"),
    ];
    move || {
        browse.shortcuts.get().then(|| {
            view! {
                <div class="sheet" role="dialog" aria-label="Keyboard shortcuts">
                    <h2>"Keyboard shortcuts"</h2>
                    <dl>
                        {KEYS.iter().map(|(key, what)| view! { <dt><kbd>{*key}</kbd></dt><dd>{*what}</dd> }).collect_view()}
                    </dl>
                    <button on:click=move |_| browse.shortcuts.set(false)>"Close"</button>
                </div>
            }
        })
    }
}
