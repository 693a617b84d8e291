//! Who may read and write what. A project's owner and members read and write it; every other
//! signed-in user reads it, unless it is private: then it does not exist for them (404, so its
//! name is not revealed). An instance admin may do everything. Credentials narrow this: a
//! read-scoped token only reads, and a job's token reads its own project and writes only its own
//! job and the runs it started.
//!
//! Every handler that reads or writes a project or a job asks here, with the [`Act`] it is
//! about to do; the route-table test (`server/tests/api/permissions.rs`) calls every route as
//! every kind of caller to prove that each one asks.

use super::{Caller, Grant};
use crate::db::{self, jobs::Job, projects::Project, Db};
use crate::error::AppError;
use crate::model::TokenScope;

/// What a caller asks to do to a project or one of its jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    /// Read it.
    Read,
    /// Create a tracked run in it: what a job's token may do in its own project, so MLflow's
    /// nested runs work.
    CreateRun,
    /// Change one job: log to it, tag it, end it. A job's token may, for itself and its runs.
    WriteJob,
    /// Change the project's jobs or sweeps, or queue work in it.
    Write,
    /// Rename or archive the project, or choose its members: its owner's (or an admin's) call.
    Manage,
}

/// Who may call a route, as the route tables (REST, MLflow, server functions) declare it: the
/// permission test calls every route as every kind of caller and checks the answers match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// No credentials needed.
    Public,
    /// Any signed-in caller, whatever the credential.
    Signed,
    /// A signed-in caller who may write at all: not with a read-only token or a job's token.
    Writer,
    /// A person in their browser session: managing their own tokens and sessions, which no
    /// token may do (a token must not mint a longer-lived one).
    Session,
    /// Those who may do this to the project (or the job) the route names.
    Project(Act),
    /// Runners, with a runner token; no user credential.
    Runner,
    /// An instance admin who may write (not with a read-only token): what changes the whole
    /// server, such as pools that run commands on it.
    Admin,
}

/// A caller's standing in a project, weakest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Sees it (a public project), may not change it.
    Viewer,
    /// Added by the owner: reads and writes it.
    Member,
    /// Owns it.
    Owner,
    /// Administers the instance.
    Admin,
}

/// `caller`'s role in the project with id `project` owned by `owner`.
pub async fn role(db: &Db, caller: &Caller, project: i64, owner: i64) -> sqlx::Result<Role> {
    let member = !caller.is_admin()
        && owner != caller.user.id
        && db::projects::is_member(db, project, caller.user.id).await?;
    Ok(known_role(caller, owner, member))
}

/// `caller`'s role on a project owned by `owner`, given whether they are a member.
fn known_role(caller: &Caller, owner: i64, member: bool) -> Role {
    if caller.is_admin() {
        Role::Admin
    } else if owner == caller.user.id {
        Role::Owner
    } else if member {
        Role::Member
    } else {
        Role::Viewer
    }
}

/// The project `owner/name`, if `caller` may `act` on it: 404 when they may not see it, 403 when
/// they see it but may not do this.
pub async fn project(
    db: &Db,
    caller: &Caller,
    owner: &str,
    name: &str,
    act: Act,
) -> Result<Project, AppError> {
    let project = db::projects::find_visible(db, caller.user.id, owner, name)
        .await?
        .ok_or(AppError::NotFound)?;
    allow(db, caller, &project, act, None).await?;
    Ok(project)
}

/// The project with database id `id`, if `caller` may `act` on it (as [`project`]).
pub async fn project_by_id(
    db: &Db,
    caller: &Caller,
    id: i64,
    act: Act,
) -> Result<Project, AppError> {
    let project = db::projects::find_visible_by_id(db, caller.user.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    allow(db, caller, &project, act, None).await?;
    Ok(project)
}

/// The job with global id `uid`, if `caller` may `act` on it (as [`project`]).
pub async fn job(db: &Db, caller: &Caller, uid: &str, act: Act) -> Result<Job, AppError> {
    // One query for the job, its project and the caller's membership: every metric and log
    // write goes through here, so the check must cost no more than finding the job did.
    let (job, project, member) = db::jobs::find_visible_with_project(db, caller.user.id, uid)
        .await?
        .ok_or(AppError::NotFound)?;
    decide(caller, &project, act, Some(&job), member)?;
    Ok(job)
}

/// The job `id` (its number or global id) of `project`, which `caller` may read, if they may
/// `act` on the job.
pub async fn job_in(
    db: &Db,
    caller: &Caller,
    project: &Project,
    id: &str,
    act: Act,
) -> Result<Job, AppError> {
    let job = db::jobs::find_in_project(db, project.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    allow(db, caller, project, act, Some(&job)).await?;
    Ok(job)
}

/// Every project `caller` may read (what an MLflow experiment search walks).
pub async fn readable_projects(db: &Db, caller: &Caller) -> sqlx::Result<Vec<Project>> {
    let mut projects = db::projects::all_visible(db, caller.user.id).await?;
    if let Grant::Job { project, .. } = caller.grant {
        projects.retain(|p| p.id == project);
    }
    Ok(projects)
}

/// Whether `caller` may `act` on `project` (which they can see), and on `job` in it if the act
/// is about one job: `Ok`, 404 (a job's token outside its project) or 403 saying what is needed.
pub async fn allow(
    db: &Db,
    caller: &Caller,
    project: &Project,
    act: Act,
    job: Option<&Job>,
) -> Result<(), AppError> {
    let needs_membership = matches!(
        caller.grant,
        Grant::Session
            | Grant::Token {
                scope: TokenScope::Write,
                ..
            }
    ) && act != Act::Read
        && !caller.is_admin()
        && project.owner_id != caller.user.id;
    let member =
        needs_membership && db::projects::is_member(db, project.id, caller.user.id).await?;
    decide(caller, project, act, job, member)
}

/// [`allow`] once the caller's membership of the project is known.
fn decide(
    caller: &Caller,
    project: &Project,
    act: Act,
    job: Option<&Job>,
    member: bool,
) -> Result<(), AppError> {
    let full_name = format!("{}/{}", project.owner, project.name);
    match caller.grant {
        Grant::Job {
            token,
            job: own,
            project: own_project,
        } => {
            if project.id != own_project {
                return Err(AppError::NotFound);
            }
            let own_work = job.is_some_and(|j| j.id == own || j.created_token == Some(token));
            match act {
                Act::Read | Act::CreateRun => Ok(()),
                Act::WriteJob if own_work => Ok(()),
                Act::WriteJob => Err(AppError::Forbidden(
                    "a job's token writes only to its own job and the runs it started".into(),
                )),
                Act::Write | Act::Manage => Err(AppError::Forbidden(format!(
                    "a job's token cannot change {full_name}; use your own token"
                ))),
            }
        }
        _ if act == Act::Read => Ok(()),
        Grant::Token {
            scope: TokenScope::Read,
            ..
        } => Err(AppError::Forbidden(
            "this token is read-only; create one with --scope write to change things".into(),
        )),
        Grant::Session | Grant::Token { .. } => {
            let role = known_role(caller, project.owner_id, member);
            let needed = if act == Act::Manage {
                Role::Owner
            } else {
                Role::Member
            };
            if role >= needed {
                return Ok(());
            }
            Err(AppError::Forbidden(match needed {
                Role::Owner => format!("only the owner of {full_name} can do this"),
                _ => format!("only the owner and members of {full_name} can change it"),
            }))
        }
    }
}

/// An error unless `caller` signed in with a browser session.
pub fn session_only(caller: &Caller) -> Result<(), AppError> {
    match caller.grant {
        Grant::Session => Ok(()),
        _ => Err(AppError::Forbidden(
            "tokens and sessions are managed from a browser session, not with a token".into(),
        )),
    }
}

/// An error unless `caller` is an instance admin who may write.
pub fn admin_only(caller: &Caller) -> Result<(), AppError> {
    may_write(caller)?;
    if caller.is_admin() {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only an administrator of this server can do this".into(),
        ))
    }
}

/// An error unless `caller` may write at all (creating projects, uploading snapshots): not with
/// a read-only token or a job's token.
pub fn may_write(caller: &Caller) -> Result<(), AppError> {
    match caller.grant {
        Grant::Session
        | Grant::Token {
            scope: TokenScope::Write,
            ..
        } => Ok(()),
        Grant::Token { .. } => Err(AppError::Forbidden(
            "this token is read-only; create one with --scope write to change things".into(),
        )),
        Grant::Job { .. } => Err(AppError::Forbidden(
            "a job's token cannot do this; use your own token".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::each_backend;
    use crate::db::{jobs::NewJob, users};
    use crate::model::JobStatus;

    /// A public and a private project of `ann`, a job in the public one, and callers.
    struct World {
        db: Db,
        public: Project,
        private: Project,
    }

    async fn world(db: Db) -> World {
        let ann = users::create(&db, "ann", "Ann").await.unwrap();
        let ben = users::create(&db, "ben", "Ben").await.unwrap();
        users::create(&db, "cat", "Cat").await.unwrap();
        let admin = users::create(&db, "root", "Root").await.unwrap();
        users::set_admin(&db, admin.id, true).await.unwrap();
        let public = db::projects::create(&db, ann.id, "open", "", false)
            .await
            .unwrap();
        let private = db::projects::create(&db, ann.id, "secret", "", true)
            .await
            .unwrap();
        db::projects::add_member(&db, public, ben.id).await.unwrap();
        let found = |id| {
            let db = db.clone();
            async move {
                db::projects::find_visible_by_id(&db, ann.id, id)
                    .await
                    .unwrap()
                    .unwrap()
            }
        };
        World {
            public: found(public).await,
            private: found(private).await,
            db,
        }
    }

    async fn session(db: &Db, name: &str) -> Caller {
        Caller {
            user: users::find_by_name(db, name).await.unwrap().unwrap(),
            grant: Grant::Session,
        }
    }

    async fn new_job(db: &Db, project: i64, created_token: Option<i64>) -> Job {
        let mut tx = db.begin().await.unwrap();
        let spec = NewJob {
            name: "run".into(),
            status: Some(JobStatus::Running),
            created_token,
            ..NewJob::default()
        };
        let made = db::jobs::create(&mut tx, project, &spec).await.unwrap();
        tx.commit().await.unwrap();
        db::jobs::find_in_project(db, project, &made.uid)
            .await
            .unwrap()
            .unwrap()
    }

    fn status(result: Result<impl Sized, AppError>) -> u16 {
        result.map_or_else(|e| e.status(), |_| 200)
    }

    #[tokio::test]
    async fn owners_and_members_write_viewers_read_and_strangers_see_no_private_project() {
        each_backend(|db| async move {
            let w = world(db).await;
            let cases = [
                ("ann", "open", Act::Manage, 200),
                ("ann", "secret", Act::Write, 200),
                ("ben", "open", Act::Write, 200),
                ("ben", "open", Act::Manage, 403),
                ("cat", "open", Act::Read, 200),
                ("cat", "open", Act::WriteJob, 403),
                ("cat", "open", Act::CreateRun, 403),
                ("cat", "secret", Act::Read, 404),
                ("cat", "secret", Act::Write, 404),
                ("root", "secret", Act::Manage, 200),
            ];
            for (who, name, act, want) in cases {
                let caller = session(&w.db, who).await;
                let got = status(project(&w.db, &caller, "ann", name, act).await);
                assert_eq!(got, want, "{who} {act:?} ann/{name}");
            }
            assert_eq!(w.private.private, 1);
        })
        .await;
    }

    #[tokio::test]
    async fn a_read_token_only_reads_even_for_the_owner_or_an_admin() {
        each_backend(|db| async move {
            let w = world(db).await;
            for who in ["ann", "root"] {
                let mut caller = session(&w.db, who).await;
                caller.grant = Grant::Token {
                    id: 1,
                    scope: TokenScope::Read,
                };
                assert_eq!(
                    status(project(&w.db, &caller, "ann", "open", Act::Read).await),
                    200
                );
                let write = project(&w.db, &caller, "ann", "open", Act::WriteJob).await;
                assert!(
                    matches!(write, Err(AppError::Forbidden(ref m)) if m.contains("read-only"))
                );
                assert_eq!(status(may_write(&caller)), 403);
            }
        })
        .await;
    }

    #[tokio::test]
    async fn a_job_token_writes_its_job_and_its_runs_and_reads_only_its_project() {
        each_backend(|db| async move {
            let w = world(db).await;
            let own = new_job(&w.db, w.public.id, None).await;
            let other = new_job(&w.db, w.public.id, None).await;
            let nested = new_job(&w.db, w.public.id, Some(77)).await;
            let elsewhere = new_job(&w.db, w.private.id, None).await;
            // Even the job of an admin acts only for itself.
            let mut caller = session(&w.db, "root").await;
            caller.grant = Grant::Job {
                token: 77,
                job: own.id,
                project: w.public.id,
            };
            let db = &w.db;
            assert_eq!(status(job(db, &caller, &own.uid, Act::WriteJob).await), 200);
            assert_eq!(
                status(job(db, &caller, &nested.uid, Act::WriteJob).await),
                200
            );
            assert_eq!(
                status(job(db, &caller, &other.uid, Act::WriteJob).await),
                403
            );
            assert_eq!(status(job(db, &caller, &other.uid, Act::Read).await), 200);
            assert_eq!(
                status(job(db, &caller, &elsewhere.uid, Act::Read).await),
                404
            );
            assert_eq!(
                status(project(db, &caller, "ann", "open", Act::CreateRun).await),
                200
            );
            assert_eq!(
                status(project(db, &caller, "ann", "open", Act::Write).await),
                403
            );
            assert_eq!(
                status(project(db, &caller, "ann", "secret", Act::Read).await),
                404
            );
            let readable = readable_projects(db, &caller).await.unwrap();
            assert_eq!(
                readable.iter().map(|p| p.id).collect::<Vec<_>>(),
                [w.public.id]
            );
            assert_eq!(status(may_write(&caller)), 403);
        })
        .await;
    }
}
