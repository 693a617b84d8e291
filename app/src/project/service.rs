//! The project feature's logic on the server: which projects a caller may manage, and their
//! members.

use crate::auth::access::{self, Act, Role};
use crate::auth::require_caller;
use crate::db;
use crate::db::projects::Project;
use crate::error::AppError;
use crate::model::Members;
use crate::state::AppState;
use leptos::prelude::expect_context;

/// The project `owner/name`, if the signed-in user may rename or archive it (its owner, or
/// an admin).
pub async fn managed_project(
    state: &AppState,
    owner: &str,
    name: &str,
) -> Result<Project, AppError> {
    access::project(&state.db, &require_caller()?, owner, name, Act::Manage).await
}

/// The members of `owner/name` and whether the caller may change them (any reader sees them).
pub async fn members(owner: &str, name: &str) -> Result<Members, AppError> {
    let state = expect_context::<AppState>();
    let caller = require_caller()?;
    let project = access::project(&state.db, &caller, owner, name, Act::Read).await?;
    let role = access::role(&state.db, &caller, project.id, project.owner_id).await?;
    let members = db::projects::members(&state.db, project.id).await?;
    Ok(Members {
        owner: project.owner,
        members: members.into_iter().map(|u| u.name).collect(),
        can_manage: role >= Role::Owner,
    })
}

/// Makes `user` a member of `owner/name` or not (its owner or an admin only); the members after.
pub async fn set(owner: &str, name: &str, user: &str, member: bool) -> Result<Members, AppError> {
    let state = expect_context::<AppState>();
    let caller = require_caller()?;
    let project = access::project(&state.db, &caller, owner, name, Act::Manage).await?;
    let user = user.trim();
    let found = db::users::find_by_name(&state.db, user)
        .await?
        .ok_or_else(|| AppError::Invalid(format!("there is no user '{user}'")))?;
    if found.id == project.owner_id {
        return Err(AppError::Invalid(format!("{user} owns {owner}/{name}")));
    }
    if member {
        db::projects::add_member(&state.db, project.id, found.id).await?;
    } else {
        db::projects::remove_member(&state.db, project.id, found.id).await?;
    }
    members(owner, name).await
}
