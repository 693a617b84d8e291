//! The Miller view, one route level per column: `/` users, `/u/{user}` + projects,
//! `/u/{user}/p/{project}` + jobs, `.../j/{job}` + the job pane. Each level renders its column
//! and an outlet for the next, so every column of a deep URL starts loading at once.

use crate::home::remember_project;
use crate::hooks::use_page_events::{EventScope, PageEvents};
use crate::miller::browse::{on_view_key, Browse, ShortcutsSheet, SignedIn};
use crate::miller::column::Column;
use crate::miller::rows::ColumnKind;
use crate::miller::widths::Widths;
use crate::session::server_fns::{get_me, Logout};
use leptos::prelude::*;
use leptos_router::components::Outlet;

/// The page: top bar, the users column and the levels opened to its right.
#[component]
pub fn Browser() -> impl IntoView {
    let browse = Browse::from_location();
    provide_context(browse);
    // One event stream per tab, for the project in the URL (or the home view's own jobs);
    // every view reads from it.
    let scope = Memo::new(move |_| {
        browse.path.with(|p| match (&p.user, &p.project) {
            (Some(owner), Some(project)) => Some(EventScope::Project(format!("{owner}/{project}"))),
            (None, _) => Some(EventScope::MyJobs),
            _ => None,
        })
    });
    PageEvents::provide(scope);
    Effect::new(move |_| {
        if let Some(EventScope::Project(project)) = scope.get() {
            remember_project(&project);
        }
    });
    provide_context(Widths::load());
    let me = Resource::new(|| (), |_| get_me());
    provide_context(SignedIn(me));
    let logout = ServerAction::<Logout>::new();
    let users = Memo::new(|_| ColumnKind::Users);
    // On the window, so `?` and `/` work wherever focus is.
    let keys = window_event_listener(leptos::ev::keydown, move |ev| on_view_key(browse, ev));
    on_cleanup(move || keys.remove());
    // Effects run only in the browser, after hydration: tests and scripts wait for this mark.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    view! {
        <header class="top-bar">
            <a class="brand" href="/">"millrace"</a>
            <a class="nav" href="/runners">"Runners"</a>
            <a class="nav" href="/settings/tokens">"Tokens"</a>
            <button class="help" aria-label="Keyboard shortcuts" on:click=move |_| browse.shortcuts.update(|o| *o = !*o)>"?"</button>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    me.await.ok().map(|me| view! { <span class="me">{me.display_name}</span> })
                })}
            </Suspense>
            <ActionForm action=logout>
                <button type="submit">"Sign out"</button>
            </ActionForm>
        </header>
        <main class="miller" data-levels=move || browse.levels() data-hydrated=move || hydrated.get().then_some("true")>
            <Column kind=users index=0/>
            <Outlet/>
        </main>
        <ShortcutsSheet/>
    }
    .into_any()
}

/// `/u/{user}`: the user's projects.
#[component]
pub fn ProjectsLevel() -> impl IntoView {
    let browse = expect_context::<Browse>();
    let kind = Memo::new(move |previous: Option<&ColumnKind>| {
        match browse.path.with(|p| p.user.clone()) {
            Some(owner) => ColumnKind::Projects { owner },
            // The route is being left: keep the last list rather than fetch one for nobody.
            None => previous.cloned().unwrap_or(ColumnKind::Users),
        }
    });
    view! {
        <Column kind index=1/>
        <Outlet/>
    }
}

/// `/u/{user}/p/{project}`: the project's jobs.
#[component]
pub fn JobsLevel() -> impl IntoView {
    let browse = expect_context::<Browse>();
    let kind = Memo::new(move |previous: Option<&ColumnKind>| {
        match browse.path.with(|p| (p.user.clone(), p.project.clone())) {
            (Some(owner), Some(project)) => ColumnKind::Jobs { owner, project },
            // The route is being left: keep the last list rather than fetch a missing one.
            _ => previous.cloned().unwrap_or(ColumnKind::Users),
        }
    });
    view! {
        <Column kind index=2/>
        <Outlet/>
    }
}
