//! The rows of the users, projects and jobs columns in one shape, and the single server call
//! that fetches a page of any of them.

use crate::error::AppError;
use crate::format::duration;
use crate::job::server_fns::list_jobs;
use crate::miller::users::list_users;
use crate::model::{JobStatus, Page};
use crate::project::server_fns::list_projects;
use crate::view_query::{ViewPath, ViewQuery};
use serde::{Deserialize, Serialize};

/// Which column a list is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ColumnKind {
    /// Every user.
    Users,
    /// A user's projects.
    Projects {
        /// The user.
        owner: String,
    },
    /// A project's jobs.
    Jobs {
        /// The project's owner.
        owner: String,
        /// The project.
        project: String,
    },
}

impl ColumnKind {
    /// The column's accessible name, also its heading.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Users => "Users",
            Self::Projects { .. } => "Projects",
            Self::Jobs { .. } => "Jobs",
        }
    }

    /// The view that opens row `id` of this column.
    pub fn open(&self, id: &str) -> ViewPath {
        match self {
            Self::Users => ViewPath {
                user: Some(id.into()),
                ..ViewPath::default()
            },
            Self::Projects { owner } => ViewPath {
                user: Some(owner.clone()),
                project: Some(id.into()),
                job: None,
            },
            Self::Jobs { owner, project } => ViewPath {
                user: Some(owner.clone()),
                project: Some(project.clone()),
                job: Some(id.into()),
            },
        }
    }

    /// The sorts its menu offers: the URL word (with `-` for descending) and the label.
    pub fn sorts(&self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::Users => &[
                ("name", "Name A–Z"),
                ("-name", "Name Z–A"),
                ("-created", "Newest"),
                ("created", "Oldest"),
            ],
            Self::Projects { .. } => &[
                ("-updated", "Recently active"),
                ("name", "Name A–Z"),
                ("-name", "Name Z–A"),
                ("-created", "Newest"),
                ("created", "Oldest"),
            ],
            Self::Jobs { .. } => &[
                ("-created", "Newest"),
                ("created", "Oldest"),
                ("name", "Name A–Z"),
                ("-name", "Name Z–A"),
                ("status", "Status"),
                ("-duration", "Longest"),
                ("duration", "Shortest"),
            ],
        }
    }

    /// Whether its rows can be renamed and archived from the app (users cannot).
    pub fn editable(&self) -> bool {
        !matches!(self, Self::Users)
    }

    /// Whether its rows take tags (jobs do).
    pub fn taggable(&self) -> bool {
        matches!(self, Self::Jobs { .. })
    }
}

/// One row of a column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Its segment in the URL: user name, project name or job number.
    pub id: String,
    /// What "Copy ID" copies: user name, `owner/project` or the job's global id.
    pub uid: String,
    /// The line in bold.
    pub title: String,
    /// The line under it.
    pub detail: String,
    /// Jobs only.
    pub status: Option<JobStatus>,
}

/// Applies a freshly read first page to the rows shown: rows already there take their new
/// values in place, and rows above the first of them are new and go on top. With nothing in
/// common (more new rows than a page) the list is left for a reload to bring.
pub fn merge_fresh(rows: &mut Vec<Row>, fresh: Vec<Row>) {
    if rows.is_empty() {
        *rows = fresh;
        return;
    }
    let Some(first_known) = fresh.iter().position(|f| rows.iter().any(|r| r.id == f.id)) else {
        return;
    };
    let mut on_top = Vec::new();
    for (i, row) in fresh.into_iter().enumerate() {
        match rows.iter_mut().find(|r| r.id == row.id) {
            Some(shown) => *shown = row,
            None if i < first_known => on_top.push(row),
            None => {}
        }
    }
    rows.splice(0..0, on_top);
}

/// Applies a freshly read first page to the rows shown when changes move rows (a sort by
/// status, run time or a metric): the fresh page, in its order, goes on top, and the rows
/// shown beyond it follow in the order they had, so no row goes missing.
pub fn reorder_fresh(rows: &mut Vec<Row>, fresh: Vec<Row>) {
    let rest: Vec<Row> = rows
        .drain(..)
        .filter(|row| !fresh.iter().any(|f| f.id == row.id))
        .collect();
    *rows = fresh;
    rows.extend(rest);
}

/// A page of rows and the cursor after it.
pub type RowPage = Page<Row>;

/// The page after `cursor` of column `kind` as `view` sorts and filters it: one server call.
pub async fn fetch_rows(
    kind: ColumnKind,
    view: ViewQuery,
    cursor: Option<String>,
) -> Result<RowPage, AppError> {
    Ok(match kind {
        ColumnKind::Users => {
            let page = list_users(view.users, cursor).await?;
            map_page(page, |u| Row {
                id: u.name.clone(),
                uid: u.name,
                title: u.display_name,
                detail: String::new(),
                status: None,
            })
        }
        ColumnKind::Projects { owner } => {
            let page = list_projects(owner, view.projects, cursor).await?;
            map_page(page, |p| Row {
                id: p.name.clone(),
                uid: format!("{}/{}", p.owner, p.name),
                detail: project_detail(p.job_count, p.cost_usd, p.idle_cost_usd),
                title: if p.title.is_empty() { p.name } else { p.title },
                status: None,
            })
        }
        ColumnKind::Jobs { owner, project } => {
            let page = list_jobs(owner, project, view.jobs, cursor).await?;
            map_page(page, |j| Row {
                id: j.number.to_string(),
                uid: j.uid,
                detail: match (j.sort_metric, &j.runner) {
                    (Some(value), _) => format!("#{} · {}", j.number, value),
                    (None, Some(runner)) if !j.status.is_finished() => {
                        format!("#{} · on {runner}", j.number)
                    }
                    _ if j.duration_ms > 0 => match j.cost_usd {
                        Some(cost) => {
                            format!("#{} · {} · ${cost:.2}", j.number, duration(j.duration_ms))
                        }
                        None => format!("#{} · {}", j.number, duration(j.duration_ms)),
                    },
                    _ => format!("#{}", j.number),
                },
                title: j.name,
                status: Some(j.status),
            })
        }
    })
}

/// A project row's second line: its jobs, and what they cost with the idle pool machine time
/// charged to it.
fn project_detail(jobs: i64, cost: f64, idle: f64) -> String {
    let jobs = if jobs == 1 {
        "1 job".to_owned()
    } else {
        format!("{jobs} jobs")
    };
    if cost > 0.0 {
        format!("{jobs} · {}", crate::format::project_cost(cost, idle))
    } else {
        jobs
    }
}

fn map_page<T>(page: Page<T>, row: impl Fn(T) -> Row) -> RowPage {
    Page {
        items: page.items.into_iter().map(row).collect(),
        next: page.next,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_row_says_what_its_jobs_and_idle_machines_cost() {
        assert_eq!(project_detail(1, 0.0, 0.0), "1 job");
        assert_eq!(project_detail(3, 12.4, 0.0), "3 jobs · $12.40");
        assert_eq!(project_detail(3, 12.4, 1.2), "3 jobs · $12.40 ($1.20 idle)");
    }

    #[test]
    fn a_fresh_first_page_updates_rows_in_place_and_puts_new_ones_on_top() {
        let row = |id: &str, status: JobStatus| Row {
            id: id.into(),
            uid: id.into(),
            title: id.into(),
            detail: String::new(),
            status: Some(status),
        };
        let mut rows = vec![
            row("3", JobStatus::Running),
            row("2", JobStatus::Running),
            row("1", JobStatus::Succeeded),
        ];
        let fresh = vec![
            row("5", JobStatus::Queued),
            row("4", JobStatus::Queued),
            row("3", JobStatus::Failed),
            row("2", JobStatus::Running),
        ];
        merge_fresh(&mut rows, fresh);
        let view: Vec<(&str, Option<JobStatus>)> =
            rows.iter().map(|r| (r.id.as_str(), r.status)).collect();
        assert_eq!(
            view,
            vec![
                ("5", Some(JobStatus::Queued)),
                ("4", Some(JobStatus::Queued)),
                ("3", Some(JobStatus::Failed)),
                ("2", Some(JobStatus::Running)),
                ("1", Some(JobStatus::Succeeded)),
            ]
        );
        let mut shown = vec![row("1", JobStatus::Running)];
        merge_fresh(&mut shown, vec![row("9", JobStatus::Queued)]);
        assert_eq!(shown.len(), 1, "nothing in common: left for a reload");
        let mut empty = Vec::new();
        merge_fresh(&mut empty, vec![row("1", JobStatus::Queued)]);
        assert_eq!(empty.len(), 1);
    }

    #[test]
    fn a_fresh_first_page_in_a_moving_sort_takes_its_order_and_keeps_the_rest() {
        let row = |id: &str| Row {
            id: id.into(),
            uid: id.into(),
            title: id.into(),
            detail: String::new(),
            status: None,
        };
        let ids = |rows: &[Row]| rows.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
        let mut rows = vec![row("a"), row("b"), row("c"), row("d")];
        // b overtook a; d, shown from a later page, moved into the first page; e is new.
        reorder_fresh(&mut rows, vec![row("b"), row("d"), row("e")]);
        assert_eq!(ids(&rows), ["b", "d", "e", "a", "c"]);
        let mut empty = Vec::new();
        reorder_fresh(&mut empty, vec![row("x")]);
        assert_eq!(ids(&empty), ["x"]);
    }

    #[test]
    fn rows_open_the_next_level() {
        let jobs = ColumnKind::Jobs {
            owner: "alice".into(),
            project: "seg".into(),
        };
        assert_eq!(jobs.open("7").href(), "/u/alice/p/seg/j/7");
        assert_eq!(ColumnKind::Users.open("bob").href(), "/u/bob");
    }
}
