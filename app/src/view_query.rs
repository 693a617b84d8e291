//! The view state that lives in the query string: each column's sort and filter and the job
//! tab. Values equal to their default are left out, and a value that does not parse is
//! ignored (the default is used), so a hand-edited or truncated URL still opens.

use crate::chart::settings::ChartSettings;
use crate::model::{Filter, JobSort, JobStatus, ProjectSort, SortDir, UserSort};
use crate::project_query::ProjectQuery;
use serde::{Deserialize, Serialize};

/// A column's sort key, spelled in URLs as `name` (ascending) or `-name` (descending).
pub trait SortKey: Clone + PartialEq + Sized {
    /// The sort a column shows when the URL names none.
    const DEFAULT: (Self, SortDir);
    /// The key's word in the URL.
    fn word(&self) -> String;
    /// The key named by `word`, if it is one.
    fn from_word(word: &str) -> Option<Self>;
}

impl SortKey for UserSort {
    const DEFAULT: (Self, SortDir) = (Self::Name, SortDir::Asc);

    fn word(&self) -> String {
        match self {
            Self::Name => "name",
            Self::Created => "created",
        }
        .into()
    }

    fn from_word(word: &str) -> Option<Self> {
        match word {
            "name" => Some(Self::Name),
            "created" => Some(Self::Created),
            _ => None,
        }
    }
}

impl SortKey for ProjectSort {
    const DEFAULT: (Self, SortDir) = (Self::Updated, SortDir::Desc);

    fn word(&self) -> String {
        match self {
            Self::Name => "name",
            Self::Created => "created",
            Self::Updated => "updated",
        }
        .into()
    }

    fn from_word(word: &str) -> Option<Self> {
        match word {
            "name" => Some(Self::Name),
            "created" => Some(Self::Created),
            "updated" => Some(Self::Updated),
            _ => None,
        }
    }
}

impl SortKey for JobSort {
    const DEFAULT: (Self, SortDir) = (Self::Created, SortDir::Desc);

    fn word(&self) -> String {
        match self {
            Self::Created => "created".into(),
            Self::Name => "name".into(),
            Self::Status => "status".into(),
            Self::Duration => "duration".into(),
            Self::Metric(key) => format!("metric:{key}"),
        }
    }

    fn from_word(word: &str) -> Option<Self> {
        match word {
            "created" => Some(Self::Created),
            "name" => Some(Self::Name),
            "status" => Some(Self::Status),
            "duration" => Some(Self::Duration),
            _ => word
                .strip_prefix("metric:")
                .filter(|key| !key.is_empty() && key.len() <= 250)
                .map(|key| Self::Metric(key.to_owned())),
        }
    }
}

/// One column's sort and filter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColumnQuery<S> {
    /// What the rows are ordered by.
    pub sort: S,
    /// Which way.
    pub dir: SortDir,
    /// Which rows are shown.
    pub filter: Filter,
}

impl<S: SortKey> Default for ColumnQuery<S> {
    fn default() -> Self {
        Self {
            sort: S::DEFAULT.0,
            dir: S::DEFAULT.1,
            filter: Filter::default(),
        }
    }
}

/// Longest filter text kept from a URL; longer text is cut, not refused.
const MAX_FILTER_TEXT: usize = 200;

impl<S: SortKey> ColumnQuery<S> {
    /// Reads the column whose keys start with `prefix` from query pairs, [`clamped`](Self::clamped).
    fn read<'a>(prefix: &str, pairs: impl Iterator<Item = (&'a str, &'a str)> + Clone) -> Self {
        let mut query = Self::default();
        let get = |name: &str| {
            pairs
                .clone()
                .find(|(key, _)| key.strip_prefix(prefix) == Some(name))
                .map(|(_, value)| value)
        };
        if let Some((sort, dir)) = get("sort").and_then(parse_sort::<S>) {
            query.sort = sort;
            query.dir = dir;
        }
        query.filter.text = get("q").map(str::to_owned);
        query.filter.statuses = get("status")
            .map(|list| {
                list.split(',')
                    .filter_map(|word| word.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        query.filter.tag = get("tag").map(str::to_owned);
        query.filter.archived = get("archived") == Some("1");
        query.clamped()
    }

    /// The query as a URL would give it: a sort the URL can name (else the default) and a
    /// [`clamp_filter`]ed filter. Server functions pass the queries they are sent through here.
    pub fn clamped(mut self) -> Self {
        if S::from_word(&self.sort.word()).as_ref() != Some(&self.sort) {
            (self.sort, self.dir) = S::DEFAULT;
        }
        self.filter = clamp_filter(self.filter);
        self
    }

    /// Appends this column's non-default values as query pairs.
    fn write(&self, prefix: &str, pairs: &mut Vec<(String, String)>) {
        if (self.sort.clone(), self.dir) != S::DEFAULT {
            pairs.push((format!("{prefix}sort"), sort_word(&self.sort, self.dir)));
        }
        if let Some(text) = &self.filter.text {
            pairs.push((format!("{prefix}q"), text.clone()));
        }
        if !self.filter.statuses.is_empty() {
            let words: Vec<&str> = self.filter.statuses.iter().map(|s| s.as_str()).collect();
            pairs.push((format!("{prefix}status"), words.join(",")));
        }
        if let Some(tag) = &self.filter.tag {
            pairs.push((format!("{prefix}tag"), tag.clone()));
        }
        if self.filter.archived {
            pairs.push((format!("{prefix}archived"), "1".into()));
        }
    }
}

/// A filter as a URL would give it: texts trimmed, cut to [`MAX_FILTER_TEXT`] characters and
/// dropped when empty; statuses once each, in code order.
pub fn clamp_filter(filter: Filter) -> Filter {
    // Trimmed again after the cut, which may end in spaces: reading the result once more
    // must change nothing.
    let text = |text: Option<String>| {
        text.map(|t| {
            let cut: String = t.trim().chars().take(MAX_FILTER_TEXT).collect();
            cut.trim_end().to_owned()
        })
        .filter(|t| !t.is_empty())
    };
    let mut statuses: Vec<JobStatus> = Vec::new();
    for status in filter.statuses {
        if !statuses.contains(&status) {
            statuses.push(status);
        }
    }
    statuses.sort_by_key(|s| s.code());
    Filter {
        text: text(filter.text),
        statuses,
        tag: text(filter.tag),
        archived: filter.archived,
    }
}

fn parse_sort<S: SortKey>(text: &str) -> Option<(S, SortDir)> {
    match text.strip_prefix('-') {
        Some(word) => S::from_word(word).map(|sort| (sort, SortDir::Desc)),
        None => S::from_word(text).map(|sort| (sort, SortDir::Asc)),
    }
}

/// The tabs of the job pane.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobTab {
    /// Status, times, tags and the metric keys with their last/min/max.
    #[default]
    Overview,
    /// Charts (a later issue).
    Metrics,
    /// The log (a later issue).
    Logs,
    /// The files it produced.
    Artifacts,
    /// Command and parameters.
    Config,
}

impl JobTab {
    /// Every tab, in the order shown.
    pub const ALL: [JobTab; 5] = [
        Self::Overview,
        Self::Metrics,
        Self::Logs,
        Self::Artifacts,
        Self::Config,
    ];

    /// The tab's word in the URL and its label.
    pub fn word(self) -> &'static str {
        match self {
            Self::Overview => "overview",
            Self::Metrics => "metrics",
            Self::Logs => "logs",
            Self::Artifacts => "artifacts",
            Self::Config => "config",
        }
    }
}

/// Everything of the Miller view that the query string holds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ViewQuery {
    /// The users column (`usort`, `uq`).
    pub users: ColumnQuery<UserSort>,
    /// The projects column (`psort`, `pq`, `parchived`).
    pub projects: ColumnQuery<ProjectSort>,
    /// The jobs column (`jsort`, `jq`, `jstatus`, `jtag`, `jarchived`).
    pub jobs: ColumnQuery<JobSort>,
    /// The job pane's tab (`tab`).
    pub tab: JobTab,
    /// The Artifacts tab's open file or folder (`file`), a path in the job's files.
    pub file: String,
    /// The metric charts (`keys`, `smooth`, `x`, `logy`, `ymin`, `ymax`, `psize`, `from`, `to`).
    pub chart: ChartSettings,
    /// The project views (`pview`, `cmp`, `pall`, `tcols`, `tsort`).
    pub project: ProjectQuery,
}

impl ViewQuery {
    /// Reads the view from decoded query pairs; unknown keys and bad values are ignored.
    pub fn from_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)> + Clone) -> Self {
        let tab = pairs
            .clone()
            .find(|(key, _)| *key == "tab")
            .and_then(|(_, word)| JobTab::ALL.into_iter().find(|tab| tab.word() == word))
            .unwrap_or_default();
        Self {
            users: ColumnQuery::read("u", pairs.clone()),
            projects: ColumnQuery::read("p", pairs.clone()),
            jobs: ColumnQuery::read("j", pairs.clone()),
            tab,
            file: pairs
                .clone()
                .find(|(key, _)| *key == "file")
                .map(|(_, path)| path.to_owned())
                .unwrap_or_default(),
            chart: ChartSettings::read(pairs.clone()),
            project: ProjectQuery::read(pairs),
        }
    }

    /// Reads the view from the router's query map (the browser's URL, or the request's).
    pub fn from_params(params: &leptos_router::params::ParamsMap) -> Self {
        let pairs: Vec<(&str, &str)> = params.into_iter().map(|(k, v)| (k.as_ref(), v)).collect();
        Self::from_pairs(pairs.into_iter())
    }

    /// The part of the view that one column's rows depend on (the rest left at defaults), so a
    /// column refetches only when its own sort or filter changes.
    pub fn only(&self, column: usize) -> Self {
        let mut only = Self::default();
        match column {
            0 => only.users = self.users.clone(),
            1 => only.projects = self.projects.clone(),
            _ => only.jobs = self.jobs.clone(),
        }
        only
    }

    /// The non-default values as query pairs, in a fixed order.
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        self.users.write("u", &mut pairs);
        self.projects.write("p", &mut pairs);
        self.jobs.write("j", &mut pairs);
        if self.tab != JobTab::default() {
            pairs.push(("tab".into(), self.tab.word().into()));
        }
        if !self.file.is_empty() {
            pairs.push(("file".into(), self.file.clone()));
        }
        self.chart.write(&mut pairs);
        self.project.write(&mut pairs);
        pairs
    }

    /// The query string with its `?`, or nothing when every value is the default.
    pub fn to_query_string(&self) -> String {
        let pairs = self.pairs();
        if pairs.is_empty() {
            return String::new();
        }
        let encoded: Vec<String> = pairs
            .iter()
            .map(|(key, value)| format!("{key}={}", crate::url::encode_component(value)))
            .collect();
        format!("?{}", encoded.join("&"))
    }
}

/// What the column headers change: each column addressed by its index (0 users, 1 projects,
/// 2 jobs).
impl ViewQuery {
    /// The sort word of column `index`, as in the URL (`-created`).
    pub fn sort_word(&self, index: usize) -> String {
        match index {
            0 => sort_word(&self.users.sort, self.users.dir),
            1 => sort_word(&self.projects.sort, self.projects.dir),
            _ => sort_word(&self.jobs.sort, self.jobs.dir),
        }
    }

    /// Sets column `index`'s sort from a sort word; an unknown word leaves it unchanged.
    pub fn set_sort_word(&mut self, index: usize, word: &str) {
        fn set<S: SortKey>(column: &mut ColumnQuery<S>, word: &str) {
            if let Some((sort, dir)) = parse_sort::<S>(word) {
                column.sort = sort;
                column.dir = dir;
            }
        }
        match index {
            0 => set(&mut self.users, word),
            1 => set(&mut self.projects, word),
            _ => set(&mut self.jobs, word),
        }
    }

    /// Column `index`'s filter.
    pub fn filter(&self, index: usize) -> &Filter {
        match index {
            0 => &self.users.filter,
            1 => &self.projects.filter,
            _ => &self.jobs.filter,
        }
    }

    /// Column `index`'s filter, to change.
    pub fn filter_mut(&mut self, index: usize) -> &mut Filter {
        match index {
            0 => &mut self.users.filter,
            1 => &mut self.projects.filter,
            _ => &mut self.jobs.filter,
        }
    }

    /// Adds or removes `status` from the jobs column's status filter.
    pub fn toggle_status(&mut self, status: JobStatus) {
        let statuses = &mut self.jobs.filter.statuses;
        match statuses.iter().position(|s| *s == status) {
            Some(i) => {
                statuses.remove(i);
            }
            None => {
                statuses.push(status);
                statuses.sort_by_key(|s| s.code());
            }
        }
    }
}

fn sort_word<S: SortKey>(sort: &S, dir: SortDir) -> String {
    let sign = if dir == SortDir::Desc { "-" } else { "" };
    format!("{sign}{}", sort.word())
}

/// Where the Miller view is opened: the path part of its URL.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewPath {
    /// `/u/{user}`.
    pub user: Option<String>,
    /// `/u/{user}/p/{project}`.
    pub project: Option<String>,
    /// `/u/{user}/p/{project}/j/{job}`: the job's number in its project or its global id.
    pub job: Option<String>,
}

impl ViewPath {
    /// The path of this view.
    pub fn href(&self) -> String {
        let enc = crate::url::encode_component;
        match (&self.user, &self.project, &self.job) {
            (Some(u), Some(p), Some(j)) => format!("/u/{}/p/{}/j/{}", enc(u), enc(p), enc(j)),
            (Some(u), Some(p), None) => format!("/u/{}/p/{}", enc(u), enc(p)),
            (Some(u), None, _) => format!("/u/{}", enc(u)),
            _ => "/".into(),
        }
    }

    /// The view at `pathname`, if it is a view's path (`/`, `/u/{user}`, ... `/j/{job}`).
    pub fn from_pathname(pathname: &str) -> Option<Self> {
        let segments: Vec<&str> = pathname
            .trim_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        let name = |i: usize| segments.get(i).map(|s| (*s).to_owned());
        match segments.as_slice() {
            [] => Some(Self::default()),
            ["u", _] | ["u", _, "p", _] | ["u", _, "p", _, "j", _] => Some(Self {
                user: name(1),
                project: name(3),
                job: name(5),
            }),
            _ => None,
        }
    }

    /// How many levels are open below the users column (0 to 3).
    pub fn depth(&self) -> usize {
        [&self.user, &self.project, &self.job]
            .iter()
            .take_while(|part| part.is_some())
            .count()
    }

    /// The view one level up (the back control on narrow screens).
    pub fn parent(&self) -> Self {
        let mut up = self.clone();
        if up.job.take().is_none() && up.project.take().is_none() {
            up.user = None;
        }
        up
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> ViewQuery {
        let pairs: Vec<(String, String)> = form_pairs(query);
        ViewQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    fn form_pairs(query: &str) -> Vec<(String, String)> {
        query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_owned(), v.replace("%20", " ").replace("%3A", ":"))
            })
            .collect()
    }

    #[test]
    fn defaults_leave_the_query_string_empty() {
        assert_eq!(ViewQuery::default().to_query_string(), "");
        assert_eq!(parse("").to_query_string(), "");
        // Naming the default sort explicitly is the same as naming none.
        assert_eq!(
            parse("usort=name&psort=-updated&jsort=-created").to_query_string(),
            ""
        );
    }

    #[test]
    fn every_column_round_trips_through_the_query_string() {
        let mut view = ViewQuery::default();
        view.users.sort = UserSort::Created;
        view.projects.dir = SortDir::Asc;
        view.projects.filter.text = Some("seg net".into());
        view.jobs.sort = JobSort::Metric("val/loss".into());
        view.jobs.dir = SortDir::Asc;
        view.jobs.filter.statuses = vec![JobStatus::Running, JobStatus::Failed];
        view.jobs.filter.tag = Some("best".into());
        view.jobs.filter.archived = true;
        view.tab = JobTab::Config;
        let query = view.to_query_string();
        assert_eq!(
            query,
            "?usort=created&psort=updated&pq=seg%20net&jsort=metric:val/loss\
             &jstatus=running,failed&jtag=best&jarchived=1&tab=config"
        );
        assert_eq!(parse(query.trim_start_matches('?')), view);
    }

    #[test]
    fn the_open_artifact_round_trips_through_the_query_string() {
        let view = ViewQuery {
            tab: JobTab::Artifacts,
            file: "plots/loss curve.png".into(),
            ..ViewQuery::default()
        };
        let pairs = view.pairs();
        assert_eq!(
            pairs,
            [
                ("tab".to_owned(), "artifacts".to_owned()),
                ("file".to_owned(), "plots/loss curve.png".to_owned())
            ]
        );
        let read = ViewQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(read, view);
    }

    #[test]
    fn garbage_values_fall_back_to_defaults() {
        let view = parse("usort=<script>&psort=--name&jsort=metric:&jstatus=bogus,running,running&tab=x&jarchived=yes");
        assert_eq!(view.users, ColumnQuery::default());
        assert_eq!(view.projects, ColumnQuery::default());
        assert_eq!(view.jobs.sort, JobSort::Created);
        assert_eq!(view.jobs.filter.statuses, vec![JobStatus::Running]);
        assert!(!view.jobs.filter.archived);
        assert_eq!(view.tab, JobTab::Overview);
        let long = parse(&format!("jq={}", "x".repeat(5000)));
        assert_eq!(long.jobs.filter.text.unwrap().len(), MAX_FILTER_TEXT);
        assert_eq!(parse("jq=%20%20").jobs.filter.text, None);
    }

    #[test]
    fn headers_change_one_column_and_resetting_removes_the_parameter() {
        let mut view = ViewQuery::default();
        view.set_sort_word(2, "-name");
        assert_eq!(view.to_query_string(), "?jsort=-name");
        view.set_sort_word(2, "nonsense");
        assert_eq!(view.sort_word(2), "-name");
        view.set_sort_word(2, "-created");
        view.toggle_status(JobStatus::Failed);
        view.toggle_status(JobStatus::Queued);
        assert_eq!(view.to_query_string(), "?jstatus=queued,failed");
        view.toggle_status(JobStatus::Failed);
        view.toggle_status(JobStatus::Queued);
        view.filter_mut(1).text = Some("net".into());
        assert_eq!(view.to_query_string(), "?pq=net");
        assert_eq!(view.only(2), ViewQuery::default());
        assert_eq!(view.only(1).projects.filter.text.as_deref(), Some("net"));
    }

    #[test]
    fn paths_nest_and_go_up_one_level() {
        let job = ViewPath {
            user: Some("alice".into()),
            project: Some("x-ray".into()),
            job: Some("12".into()),
        };
        assert_eq!(job.href(), "/u/alice/p/x-ray/j/12");
        assert_eq!(job.depth(), 3);
        assert_eq!(job.parent().href(), "/u/alice/p/x-ray");
        assert_eq!(job.parent().parent().href(), "/u/alice");
        assert_eq!(job.parent().parent().parent().href(), "/");
        assert_eq!(ViewPath::default().parent().depth(), 0);
        assert_eq!(ViewPath::from_pathname("/u/alice/p/x-ray/j/12/"), Some(job));
        assert_eq!(ViewPath::from_pathname("/"), Some(ViewPath::default()));
        assert_eq!(ViewPath::from_pathname("/u/alice/x"), None);
        assert_eq!(ViewPath::from_pathname("/login"), None);
    }
}

#[cfg(test)]
mod props;
