//! `/projects/new`: a project of your own, named and described, public or private; the form
//! works without JavaScript too.

use crate::components::page_bar::PageBar;
use crate::limits::MAX_PROJECT_DESCRIPTION;
use crate::model::Name;
use crate::project::server_fns::{project_href, CreateProject};
use leptos::prelude::*;

/// The new-project page.
#[component]
pub fn NewProjectPage() -> impl IntoView {
    let create = ServerAction::<CreateProject>::new();
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(project)) = create.value().get() {
            navigate(&project_href(&project), Default::default());
        }
    });
    let failed = move || match create.value().get() {
        Some(Err(error)) => Some(error.to_string()),
        _ => None,
    };

    view! {
        <PageBar/>
        <main class="settings-page">
            <h1>"New project"</h1>
            <p>
                "A project holds jobs: runs you track from a training script, start with "
                <code>"millrace run"</code> " or sweep. Its name is part of its URL."
            </p>
            <ActionForm action=create attr:class="new-project" attr:aria-label="New project">
                <label>
                    "Name"
                    <input
                        type="text"
                        name="name"
                        required
                        autofocus
                        maxlength=Name::MAX_PROJECT
                        pattern="[A-Za-z0-9][A-Za-z0-9._\\-]*"
                        title="letters, digits, '-', '_' and '.', starting with a letter or digit"
                        placeholder="xray-segmentation"
                        autocomplete="off"
                    />
                </label>
                <label>
                    "Description"
                    <textarea name="description" rows="3" maxlength=MAX_PROJECT_DESCRIPTION></textarea>
                </label>
                <label class="check">
                    <input type="checkbox" name="private" value="true"/>
                    "Private: only you, the members you add and admins see it"
                </label>
                <button type="submit">"Create project"</button>
            </ActionForm>
            <p class="form-error" role="alert">{failed}</p>
        </main>
    }
}
