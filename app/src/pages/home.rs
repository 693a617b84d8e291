//! The start page: who is signed in and the instance's users (the Miller columns replace it).

use crate::components::error_notice::ErrorNotice;
use crate::model::{Filter, SortDir, UserSort};
use crate::server_fns::session::{get_me, Logout};
use crate::server_fns::users::list_users;
use leptos::prelude::*;

/// Lists the users, rendered on the server with the data in the first response.
#[component]
pub fn Home() -> impl IntoView {
    let me = Resource::new(|| (), |_| get_me());
    let users = Resource::new(
        || (),
        |_| list_users(UserSort::Name, SortDir::Asc, Filter::default(), None),
    );
    let logout = ServerAction::<Logout>::new();

    view! {
        <header class="top-bar">
            <a class="brand" href="/">"millrace"</a>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    me.await.ok().map(|me| view! { <span class="me">{me.display_name}</span> })
                })}
            </Suspense>
            <ActionForm action=logout>
                <button type="submit">"Sign out"</button>
            </ActionForm>
        </header>
        <main class="home">
            <h2 id="users-heading">"Users"</h2>
            <Suspense fallback=|| view! { <p class="loading">"Loading users…"</p> }>
                <ErrorBoundary fallback=|errors| view! { <ErrorNotice errors/> }>
                    {move || Suspend::new(async move {
                        users.await.map(|page| {
                            view! {
                                <ul class="users" aria-labelledby="users-heading">
                                    {page.items.into_iter().map(|u| view! {
                                        <li>
                                            <span class="user-name">{u.name}</span>
                                            <span class="user-display">{u.display_name}</span>
                                        </li>
                                    }).collect_view()}
                                </ul>
                            }
                        })
                    })}
                </ErrorBoundary>
            </Suspense>
        </main>
    }
}
