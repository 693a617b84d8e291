//! A project's members, for its "Members…" dialog: anyone who reads the project sees them; its
//! owner (or an admin) adds and removes them.

use crate::error::AppError;
use crate::model::Members;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// The owner and members of `owner/project`, and whether the caller may change them.
#[server(input = Json, endpoint = "get_members")]
pub async fn get_members(owner: String, project: String) -> Result<Members, AppError> {
    crate::server_fns::with_status(super::service::members(&owner, &project).await)
}

/// Adds (`member` true) or removes user `user` as a member of `owner/project`; answers the list.
#[server(input = Json, endpoint = "set_member")]
pub async fn set_member(
    owner: String,
    project: String,
    user: String,
    member: bool,
) -> Result<Members, AppError> {
    crate::server_fns::with_status(super::service::set(&owner, &project, &user, member).await)
}
