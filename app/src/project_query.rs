//! The project views' state as the URL holds it: which view (`pview`), the compared jobs
//! (`cmp`), whether the compare table lists every parameter (`pall`), the table view's
//! columns and sort (`tcols`, `tsort`), the sweeps view's open sweep (`sweep`), the
//! parameters its parallel plot hides (`shide`) and its objective chart's log scale (`slog`),
//! and the pipelines view's open run and step (`prun`, `pstep`).
//! Defaults are left out, bad values ignored.

use crate::model::SortDir;
use serde::{Deserialize, Serialize};

/// The views of a project shown right of its jobs column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProjectView {
    /// A panel per metric key with the jobs' lines overlaid.
    Charts,
    /// A row per job, columns of attributes, parameters and metric values.
    Table,
    /// The project's hyperparameter sweeps, and one sweep's results.
    Sweeps,
    /// The project's pipeline runs, and one run's graph of steps.
    Pipelines,
    /// The model registry's models whose versions came from the project's jobs.
    Models,
}

impl ProjectView {
    /// Every view, in tab order.
    pub const ALL: [ProjectView; 5] = [
        Self::Charts,
        Self::Table,
        Self::Sweeps,
        Self::Pipelines,
        Self::Models,
    ];

    /// The word in the URL and the tab's label.
    pub fn word(self) -> &'static str {
        match self {
            Self::Charts => "charts",
            Self::Table => "table",
            Self::Sweeps => "sweeps",
            Self::Pipelines => "pipelines",
            Self::Models => "models",
        }
    }
}

/// A job attribute the table can show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Attr {
    /// The job's name (the pinned column; listed here to sort by it).
    Name,
    /// Lifecycle state.
    Status,
    /// Creation time.
    Created,
    /// Run time.
    Duration,
    /// GPUs asked for.
    Gpus,
    /// The runner it ran on.
    Runner,
    /// What it cost.
    Cost,
}

impl Attr {
    /// The attributes the chooser offers (the name is always shown).
    pub const CHOOSABLE: [Attr; 6] = [
        Self::Status,
        Self::Created,
        Self::Duration,
        Self::Gpus,
        Self::Runner,
        Self::Cost,
    ];

    /// The word in the URL.
    pub fn word(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Status => "status",
            Self::Created => "created",
            Self::Duration => "duration",
            Self::Gpus => "gpus",
            Self::Runner => "runner",
            Self::Cost => "cost",
        }
    }

    /// The column heading.
    pub fn label(self) -> &'static str {
        match self {
            Self::Name => "Name",
            Self::Status => "Status",
            Self::Created => "Created",
            Self::Duration => "Duration",
            Self::Gpus => "GPUs",
            Self::Runner => "Runner",
            Self::Cost => "Cost",
        }
    }
}

/// Which value of a metric series a column shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stat {
    /// The value at the latest step.
    Last,
    /// The smallest value.
    Min,
    /// The largest value.
    Max,
}

impl Stat {
    /// Every statistic, in chooser order.
    pub const ALL: [Stat; 3] = [Self::Last, Self::Min, Self::Max];

    /// The prefix of the column's word in the URL.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Last => "m:",
            Self::Min => "min:",
            Self::Max => "max:",
        }
    }

    /// The column of the metric summaries it reads.
    pub fn column(self) -> &'static str {
        match self {
            Self::Last => "last",
            Self::Min => "min",
            Self::Max => "max",
        }
    }
}

/// A column of the table view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TableColumn {
    /// An attribute of the job.
    Attr(Attr),
    /// A parameter, by key.
    Param(String),
    /// A metric's last, min or max value, by key.
    Metric(String, Stat),
}

/// Longest parameter or metric key a column names.
const MAX_KEY: usize = 250;

impl TableColumn {
    /// The column's word in the URL: `status`, `p:lr`, `m:loss`, `min:loss`, `max:acc`.
    pub fn word(&self) -> String {
        match self {
            Self::Attr(attr) => attr.word().to_owned(),
            Self::Param(key) => format!("p:{key}"),
            Self::Metric(key, stat) => format!("{}{key}", stat.prefix()),
        }
    }

    /// The column a word names, if it names one.
    pub fn from_word(word: &str) -> Option<Self> {
        let key = |rest: &str| (!rest.is_empty() && rest.len() <= MAX_KEY).then(|| rest.to_owned());
        if let Some(rest) = word.strip_prefix("p:") {
            return key(rest).map(Self::Param);
        }
        for stat in Stat::ALL {
            if let Some(rest) = word.strip_prefix(stat.prefix()) {
                return key(rest).map(|k| Self::Metric(k, stat));
            }
        }
        [Attr::Name]
            .into_iter()
            .chain(Attr::CHOOSABLE)
            .find(|a| a.word() == word)
            .map(Self::Attr)
    }

    /// Whether a word in a URL names exactly this column (its key is not empty or too long).
    fn is_nameable(&self) -> bool {
        Self::from_word(&self.word()).as_ref() == Some(self)
    }

    /// The column heading.
    pub fn label(&self) -> String {
        match self {
            Self::Attr(attr) => attr.label().to_owned(),
            Self::Param(key) => key.clone(),
            Self::Metric(key, Stat::Last) => key.clone(),
            Self::Metric(key, Stat::Min) => format!("{key} (min)"),
            Self::Metric(key, Stat::Max) => format!("{key} (max)"),
        }
    }
}

/// The table view's columns (besides the pinned name) and sort.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableQuery {
    /// Shown columns, in order.
    pub columns: Vec<TableColumn>,
    /// What rows are ordered by.
    pub sort: TableColumn,
    /// Which way.
    pub dir: SortDir,
}

/// Most columns a table shows.
pub const MAX_COLUMNS: usize = 40;

/// Most jobs compared at once.
pub const MAX_COMPARED: usize = 20;

/// A column list longer than this stays out of the URL (local storage keeps it).
const MAX_COLUMNS_IN_URL: usize = 1_000;

impl Default for TableQuery {
    fn default() -> Self {
        Self {
            columns: Self::default_columns(),
            sort: TableColumn::Attr(Attr::Created),
            dir: SortDir::Desc,
        }
    }
}

impl TableQuery {
    /// What a table shows before anyone chooses.
    pub fn default_columns() -> Vec<TableColumn> {
        [Attr::Status, Attr::Created, Attr::Duration]
            .map(TableColumn::Attr)
            .to_vec()
    }

    /// Parses a `tcols` list; unknown words and repeats are dropped, at most [`MAX_COLUMNS`].
    pub fn parse_columns(list: &str) -> Vec<TableColumn> {
        Self::clamp_columns(list.split(',').filter_map(TableColumn::from_word))
    }

    /// The first [`MAX_COLUMNS`] distinct columns a URL could name, the pinned name left out.
    fn clamp_columns(all: impl Iterator<Item = TableColumn>) -> Vec<TableColumn> {
        let mut columns: Vec<TableColumn> = Vec::new();
        for column in all.filter(TableColumn::is_nameable) {
            if columns.len() == MAX_COLUMNS {
                break;
            }
            if column != TableColumn::Attr(Attr::Name) && !columns.contains(&column) {
                columns.push(column);
            }
        }
        columns
    }

    /// The table as a URL would give it: its columns clamped like a `tcols` list and a sort a
    /// `tsort` word can name (else the default). Server functions pass the tables they are
    /// sent through here.
    pub fn clamped(self) -> Self {
        let default = Self::default();
        let (sort, dir) = if self.sort.is_nameable() {
            (self.sort, self.dir)
        } else {
            (default.sort, default.dir)
        };
        Self {
            columns: Self::clamp_columns(self.columns.into_iter()),
            sort,
            dir,
        }
    }

    /// The columns as a `tcols` list.
    pub fn columns_word(&self) -> String {
        let words: Vec<String> = self.columns.iter().map(TableColumn::word).collect();
        words.join(",")
    }

    /// The sort as a `tsort` word: the column's word, `-` first when descending.
    pub fn sort_word(&self) -> String {
        let word = self.sort.word();
        match self.dir {
            SortDir::Desc => format!("-{word}"),
            SortDir::Asc => word,
        }
    }

    /// The sort after a click on `column`'s heading: the other way if it is the sort already,
    /// else that column, largest first for numbers and A–Z for names.
    pub fn toggled_sort(&self, column: &TableColumn) -> (TableColumn, SortDir) {
        if self.sort == *column {
            let dir = match self.dir {
                SortDir::Asc => SortDir::Desc,
                SortDir::Desc => SortDir::Asc,
            };
            return (column.clone(), dir);
        }
        let dir = match column {
            TableColumn::Attr(Attr::Name | Attr::Runner | Attr::Status) | TableColumn::Param(_) => {
                SortDir::Asc
            }
            _ => SortDir::Desc,
        };
        (column.clone(), dir)
    }
}

/// Everything of the project views that the URL holds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectQuery {
    /// The open view; `None` shows only the jobs column.
    pub view: Option<ProjectView>,
    /// Numbers of the jobs compared; empty: the jobs column's first few.
    pub compare: Vec<i64>,
    /// The compare table lists every parameter, not only those that differ.
    pub all_params: bool,
    /// The table view.
    pub table: TableQuery,
    /// The sweeps view.
    pub sweeps: SweepQuery,
    /// The pipelines view.
    pub pipelines: PipelineQuery,
}

/// The pipelines view's settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PipelineQuery {
    /// The run open in the view (its id); `None` lists the project's runs.
    pub run: Option<i64>,
    /// The step picked in its graph, by name.
    pub step: Option<String>,
}

/// Longest step name read from a URL (a step name has at most 40 characters).
const MAX_STEP_NAME: usize = 40;

/// The sweeps view's settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SweepQuery {
    /// The sweep open in the view (its id); `None` lists the project's sweeps.
    pub open: Option<i64>,
    /// Parameters the parallel-coordinates plot leaves out; empty shows them all.
    pub hidden: Vec<String>,
    /// Logarithmic y axis on the objective chart.
    pub log_y: bool,
    /// Why the last "run it again, wider" form was refused (`cerr`). Read, never written into
    /// links: it describes one form post, which the server answers with this URL.
    pub clone_error: Option<String>,
    /// The changes that form held, to show them again (`cset`); read only, like `cerr`.
    pub clone_changes: Option<String>,
}

/// Longest clone error or changes text read from a URL.
const MAX_CLONE_TEXT: usize = 10_000;

/// Most parameters a sweep view hides by name.
const MAX_HIDDEN: usize = 40;

impl SweepQuery {
    /// The settings with parameter `name` shown if it was hidden, hidden if it was shown.
    pub fn toggled(&self, name: &str) -> Self {
        let mut next = self.clone();
        match next.hidden.iter().position(|n| n == name) {
            Some(at) => {
                next.hidden.remove(at);
            }
            None => next.hidden.push(name.to_owned()),
        }
        next
    }

    fn read_hidden(list: &str) -> Vec<String> {
        let mut hidden: Vec<String> = Vec::new();
        for name in list
            .split(',')
            .filter(|n| !n.is_empty() && n.len() <= MAX_KEY)
        {
            if !hidden.iter().any(|h| h == name) {
                hidden.push(name.to_owned());
            }
        }
        hidden.truncate(MAX_HIDDEN);
        hidden
    }
}

impl ProjectQuery {
    /// Reads the project views' keys from decoded query pairs.
    pub fn read<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Self {
        let mut query = Self::default();
        for (key, value) in pairs {
            match key {
                "pview" => query.view = ProjectView::ALL.into_iter().find(|v| v.word() == value),
                "cmp" => {
                    query.compare = Vec::new();
                    for number in value
                        .split(',')
                        .filter_map(|n| n.trim().parse::<i64>().ok())
                    {
                        if number > 0 && !query.compare.contains(&number) {
                            query.compare.push(number);
                        }
                    }
                    query.compare.truncate(MAX_COMPARED);
                }
                "pall" => query.all_params = value == "1",
                "tcols" => query.table.columns = TableQuery::parse_columns(value),
                "tsort" => {
                    let (word, dir) = match value.strip_prefix('-') {
                        Some(word) => (word, SortDir::Desc),
                        None => (value, SortDir::Asc),
                    };
                    if let Some(column) = TableColumn::from_word(word) {
                        query.table.sort = column;
                        query.table.dir = dir;
                    }
                }
                "sweep" => query.sweeps.open = value.parse::<i64>().ok().filter(|id| *id > 0),
                "shide" => query.sweeps.hidden = SweepQuery::read_hidden(value),
                "slog" => query.sweeps.log_y = value == "1",
                "prun" => query.pipelines.run = value.parse::<i64>().ok().filter(|id| *id > 0),
                "pstep" => {
                    query.pipelines.step = Some(value)
                        .filter(|v| !v.is_empty() && v.chars().count() <= MAX_STEP_NAME)
                        .map(str::to_owned)
                }
                "cerr" => {
                    query.sweeps.clone_error = Some(value.chars().take(MAX_CLONE_TEXT).collect())
                }
                "cset" => {
                    query.sweeps.clone_changes = Some(value.chars().take(MAX_CLONE_TEXT).collect())
                }
                _ => {}
            }
        }
        query
    }

    /// Appends the values that differ from the defaults.
    pub fn write(&self, pairs: &mut Vec<(String, String)>) {
        let default = TableQuery::default();
        if let Some(view) = self.view {
            pairs.push(("pview".into(), view.word().into()));
        }
        if !self.compare.is_empty() {
            let numbers: Vec<String> = self.compare.iter().map(i64::to_string).collect();
            pairs.push(("cmp".into(), numbers.join(",")));
        }
        if self.all_params {
            pairs.push(("pall".into(), "1".into()));
        }
        let columns = self.table.columns_word();
        if self.table.columns != default.columns && columns.len() <= MAX_COLUMNS_IN_URL {
            pairs.push(("tcols".into(), columns));
        }
        if (&self.table.sort, self.table.dir) != (&default.sort, default.dir) {
            pairs.push(("tsort".into(), self.table.sort_word()));
        }
        if let Some(id) = self.sweeps.open {
            pairs.push(("sweep".into(), id.to_string()));
        }
        if !self.sweeps.hidden.is_empty() {
            pairs.push(("shide".into(), self.sweeps.hidden.join(",")));
        }
        if self.sweeps.log_y {
            pairs.push(("slog".into(), "1".into()));
        }
        if let Some(run) = self.pipelines.run {
            pairs.push(("prun".into(), run.to_string()));
        }
        if let Some(step) = &self.pipelines.step {
            pairs.push(("pstep".into(), step.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(query: &str) -> ProjectQuery {
        ProjectQuery::read(query.split('&').filter_map(|p| p.split_once('=')))
    }

    #[test]
    fn the_pipelines_view_keeps_its_run_and_step_and_drops_garbage() {
        let query = read("pview=pipelines&prun=7&pstep=train");
        assert_eq!(query.view, Some(ProjectView::Pipelines));
        assert_eq!(
            query.pipelines,
            PipelineQuery {
                run: Some(7),
                step: Some("train".into())
            }
        );
        let mut pairs = Vec::new();
        query.write(&mut pairs);
        let written: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(written, ["pview=pipelines", "prun=7", "pstep=train"]);
        let bad = read(&format!("prun=-1&pstep={}", "s".repeat(41)));
        assert_eq!(bad.pipelines, PipelineQuery::default());
        assert_eq!(read("prun=x&pstep=").pipelines, PipelineQuery::default());
    }

    #[test]
    fn project_views_round_trip_and_defaults_stay_out() {
        let query =
            read("pview=table&cmp=3,1,7&pall=1&tcols=p:lr,m:loss,min:loss,status&tsort=-max:acc");
        assert_eq!(query.view, Some(ProjectView::Table));
        assert_eq!(query.compare, vec![3, 1, 7]);
        assert_eq!(
            query.table.columns,
            vec![
                TableColumn::Param("lr".into()),
                TableColumn::Metric("loss".into(), Stat::Last),
                TableColumn::Metric("loss".into(), Stat::Min),
                TableColumn::Attr(Attr::Status),
            ]
        );
        assert_eq!(
            (query.table.sort.clone(), query.table.dir),
            (TableColumn::Metric("acc".into(), Stat::Max), SortDir::Desc)
        );
        let mut pairs = Vec::new();
        query.write(&mut pairs);
        let again = ProjectQuery::read(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(again, query);
        let mut none = Vec::new();
        ProjectQuery::default().write(&mut none);
        assert!(none.is_empty());
    }

    #[test]
    fn garbage_is_ignored_and_lists_are_bounded() {
        let query =
            read("pview=pie&cmp=2,x,-4,2,0,9&tcols=bogus,,p:,name,status,status&tsort=-what");
        assert_eq!(query.view, None);
        assert_eq!(query.compare, vec![2, 9]);
        assert_eq!(query.table.columns, vec![TableColumn::Attr(Attr::Status)]);
        assert_eq!(query.table.sort, TableColumn::Attr(Attr::Created));
        let many: Vec<String> = (0..100).map(|i| i.to_string()).collect();
        assert_eq!(
            read(&format!("cmp={}", many.join(","))).compare.len(),
            MAX_COMPARED
        );
        let columns: Vec<String> = (0..100).map(|i| format!("p:k{i}")).collect();
        let query = read(&format!("tcols={}", columns.join(",")));
        assert_eq!(query.table.columns.len(), MAX_COLUMNS);
        let long_key = format!("p:{}", "k".repeat(300));
        assert!(read(&format!("tcols={long_key}")).table.columns.is_empty());
    }

    #[test]
    fn sweep_settings_round_trip_and_garbage_is_ignored() {
        let query = read("pview=sweeps&sweep=12&shide=lr,depth,lr&slog=1");
        assert_eq!(query.view, Some(ProjectView::Sweeps));
        assert_eq!(
            query.sweeps,
            SweepQuery {
                open: Some(12),
                hidden: vec!["lr".into(), "depth".into()],
                log_y: true,
                ..SweepQuery::default()
            }
        );
        let mut pairs = Vec::new();
        query.write(&mut pairs);
        let again = ProjectQuery::read(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(again, query);
        assert_eq!(query.sweeps.toggled("lr").hidden, vec!["depth".to_owned()]);
        assert_eq!(query.sweeps.toggled("wd").hidden.len(), 3);
        let bad = read("sweep=abc&shide=,,&slog=yes");
        assert_eq!(bad.sweeps, SweepQuery::default());
        assert_eq!(read("sweep=-3").sweeps.open, None);
        assert_eq!(read("sweep=99999999999999999999").sweeps.open, None);
    }

    #[test]
    fn a_refused_clone_form_comes_back_in_the_url_once() {
        let query = read("pview=sweeps&sweep=4&cerr=parallel is 1 to 1000&cset=parallel=0");
        assert_eq!(
            query.sweeps.clone_error.as_deref(),
            Some("parallel is 1 to 1000")
        );
        assert_eq!(query.sweeps.clone_changes.as_deref(), Some("parallel=0"));
        let mut pairs = Vec::new();
        query.write(&mut pairs);
        assert!(
            pairs.iter().all(|(k, _)| k != "cerr" && k != "cset"),
            "{pairs:?}"
        );
        let long = read(&format!("cset={}", "x".repeat(50_000)));
        assert_eq!(
            long.sweeps.clone_changes.map(|c| c.len()),
            Some(MAX_CLONE_TEXT)
        );
    }

    #[test]
    fn a_table_sent_as_json_is_clamped_like_a_url() {
        let sent = TableQuery {
            columns: (0..10_000)
                .map(|i| TableColumn::Param(format!("k{}", i % 100)))
                .chain([
                    TableColumn::Param("k".repeat(1_000)),
                    TableColumn::Attr(Attr::Name),
                ])
                .collect(),
            sort: TableColumn::Metric(String::new(), Stat::Max),
            dir: SortDir::Asc,
        };
        let clamped = sent.clamped();
        assert_eq!(clamped.columns.len(), MAX_COLUMNS);
        assert_eq!(clamped.columns[0], TableColumn::Param("k0".into()));
        assert_eq!(
            (clamped.sort.clone(), clamped.dir),
            (TableQuery::default().sort, TableQuery::default().dir)
        );
        let from_url = read(&format!(
            "tcols={}&tsort={}",
            clamped.columns_word(),
            clamped.sort_word()
        ));
        assert_eq!(from_url.table, clamped);
    }

    #[test]
    fn a_click_on_the_sorted_heading_turns_the_order_around() {
        let table = TableQuery::default();
        let created = TableColumn::Attr(Attr::Created);
        assert_eq!(table.toggled_sort(&created), (created, SortDir::Asc));
        let loss = TableColumn::Metric("loss".into(), Stat::Last);
        assert_eq!(table.toggled_sort(&loss), (loss, SortDir::Desc));
        let lr = TableColumn::Param("lr".into());
        assert_eq!(table.toggled_sort(&lr), (lr, SortDir::Asc));
    }
}
