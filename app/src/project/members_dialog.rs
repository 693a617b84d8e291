//! The "Members…" dialog of a project, opened from its context menu: everyone who may read the
//! project sees who belongs to it; its owner (or an admin) adds and removes members.

use crate::model::Members;
use crate::project::members::{get_members, set_member};
use leptos::ev::{KeyboardEvent, SubmitEvent};
use leptos::prelude::*;
use leptos::task::spawn_local;

/// The dialog for `owner/project`; `close` hides it.
#[component]
pub fn MembersDialog(
    owner: String,
    project: String,
    close: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let full_name = format!("{owner}/{project}");
    let members = RwSignal::new(None::<Members>);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let names = StoredValue::new((owner, project));
    let answered = move |result: Result<Members, crate::error::AppError>| {
        match result {
            Ok(list) => {
                members.set(Some(list));
                error.set(None);
            }
            Err(e) => error.set(Some(e.to_string())),
        }
        busy.set(false);
    };
    // Opened by a click, never on the server: the list is read once the dialog shows.
    Effect::new(move |_| {
        let (owner, project) = names.get_value();
        spawn_local(async move { answered(get_members(owner, project).await) });
    });
    let change = move |user: String, member: bool| {
        let user = user.trim().to_owned();
        if user.is_empty() || busy.get_untracked() {
            return;
        }
        busy.set(true);
        let (owner, project) = names.get_value();
        spawn_local(async move { answered(set_member(owner, project, user, member).await) });
    };
    let new_member = NodeRef::<leptos::html::Input>::new();
    let on_add = move |ev: SubmitEvent| {
        ev.prevent_default();
        if let Some(input) = new_member.get_untracked() {
            change(input.value(), true);
            input.set_value("");
        }
    };

    view! {
        <div class="menu-backdrop" on:click=move |_| close()></div>
        <div
            class="sheet members"
            role="dialog"
            aria-modal="true"
            aria-label=format!("Members of {full_name}")
            on:keydown=move |ev: KeyboardEvent| if ev.key() == "Escape" { close() }
        >
            <h2>{format!("Members of {full_name}")}</h2>
            {move || match members.get() {
                None => view! { <p aria-busy="true">"Loading…"</p> }.into_any(),
                Some(list) => view! { <MemberList list change busy/> }.into_any(),
            }}
            {move || members.with(|m| m.as_ref().is_some_and(|m| m.can_manage)).then(|| view! {
                <form class="add-member" on:submit=on_add>
                    <input type="text" node_ref=new_member aria-label="User name" placeholder="user name" required/>
                    <button type="submit" disabled=move || busy.get()>"Add member"</button>
                </form>
            })}
            <p class="form-error" role="alert">{move || error.get()}</p>
            <button class="close" autofocus on:click=move |_| close()>"Close"</button>
        </div>
    }
}

/// The owner and the members, each with a Remove button for those who manage the project.
#[component]
fn MemberList(
    list: Members,
    change: impl Fn(String, bool) + Copy + Send + Sync + 'static,
    busy: RwSignal<bool>,
) -> impl IntoView {
    let manage = list.can_manage;
    view! {
        <ul class="member-list" aria-label="Members">
            <li>{list.owner}<span class="role">"owner"</span></li>
            {list.members.into_iter().map(|name| {
                let remove = name.clone();
                view! {
                    <li>
                        {name.clone()}
                        {manage.then(|| view! {
                            <button
                                disabled=move || busy.get()
                                aria-label=format!("Remove {name}")
                                on:click=move |_| change(remove.clone(), false)
                            >"Remove"</button>
                        })}
                    </li>
                }
            }).collect_view()}
        </ul>
        {(!manage).then(|| view! { <p class="hint">"Only the project's owner changes its members."</p> })}
    }
}
