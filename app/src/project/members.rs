//! A project's members, for its "Members…" dialog: anyone who reads the project sees them; its
//! owner (or an admin) adds and removes them.

use crate::error::AppError;
use crate::model::Members;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// The owner and members of `owner/project`, and whether the caller may change them.
#[server(input = Json, endpoint = "get_members")]
pub async fn get_members(owner: String, project: String) -> Result<Members, AppError> {
    crate::server_fns::with_status(ssr::members(&owner, &project).await)
}

/// Adds (`member` true) or removes user `user` as a member of `owner/project`; answers the list.
#[server(input = Json, endpoint = "set_member")]
pub async fn set_member(
    owner: String,
    project: String,
    user: String,
    member: bool,
) -> Result<Members, AppError> {
    crate::server_fns::with_status(ssr::set(&owner, &project, &user, member).await)
}

/// What the member server functions do, beside the data they serve.
#[cfg(feature = "ssr")]
mod ssr {
    use crate::auth::access::{self, Act, Role};
    use crate::auth::require_caller;
    use crate::db;
    use crate::error::AppError;
    use crate::model::Members;
    use crate::state::AppState;
    use leptos::prelude::expect_context;

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

    pub async fn set(
        owner: &str,
        name: &str,
        user: &str,
        member: bool,
    ) -> Result<Members, AppError> {
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
}
