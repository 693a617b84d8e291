//! The Models view: a section per registered model, a row per version with its stage, aliases,
//! the job that produced it and that job's latest metrics.

use crate::components::error_notice::ErrorNotice;
use crate::components::local_time::LocalTime;
use crate::format::number;
use crate::hooks::use_page_events::use_job_revisions;
use crate::miller::browse::Browse;
use crate::registry::server_fns::{get_registry, RegisteredModelView, VersionView};
use crate::view_query::ViewPath;
use leptos::prelude::*;

/// The registered models of `project` (owner, name).
#[component]
pub fn ModelsView(project: Memo<(String, String)>) -> impl IntoView {
    // Registered, aliased, described, staged or deleted anywhere: read again.
    let live = use_job_revisions(Memo::new(|_| None));
    let models = Resource::new(
        move || (project.get(), live.registry.get()),
        |((owner, name), _)| get_registry(owner, name),
    );
    view! {
        <Transition fallback=|| view! { <div class="skeleton-pane"></div> }>
            <ErrorBoundary fallback=|errors| view! { <ErrorNotice errors/> }>
                {move || Suspend::new(async move {
                    models.await.map(|models| view! { <ModelList project models/> })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn ModelList(project: Memo<(String, String)>, models: Vec<RegisteredModelView>) -> impl IntoView {
    // Data that lands after the view was closed finds no context: nothing to draw then.
    let Some(browse) = use_context::<Browse>() else {
        return ().into_any();
    };
    if models.is_empty() {
        return view! {
            <p class="empty">
                "No registered models yet. Register one from training code with "
                <code>"mlflow.register_model(\"runs:/RUN/model\", \"NAME\")"</code>
                " or " <code>"log_model(..., registered_model_name=\"NAME\")"</code> "."
            </p>
        }
        .into_any();
    }
    let (owner, name) = project.get_untracked();
    // Read once: the list is drawn again from new data, also when it changes live.
    let job_href = move |number: i64| {
        untrack(|| {
            browse.href_to(&ViewPath {
                user: Some(owner.clone()),
                project: Some(name.clone()),
                job: Some(number.to_string()),
            })
        })
    };
    models
        .into_iter()
        .map(|model| {
            let rows = model
                .versions
                .into_iter()
                .map(|version| version_row(version, &job_href))
                .collect_view();
            view! {
                <section class="registered-model" data-test="registered-model">
                    <h3>{model.name.clone()}</h3>
                    {(!model.description.is_empty()).then(|| view! { <p class="description">{model.description.clone()}</p> })}
                    <table class="params versions" aria-label=format!("Versions of {}", model.name)>
                        <thead>
                            <tr>
                                <th scope="col">"Version"</th>
                                <th scope="col">"Aliases"</th>
                                <th scope="col">"Stage"</th>
                                <th scope="col">"Job"</th>
                                <th scope="col">"Metrics"</th>
                                <th scope="col">"Registered"</th>
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                </section>
            }
        })
        .collect_view()
        .into_any()
}

fn version_row(version: VersionView, job_href: &impl Fn(i64) -> String) -> impl IntoView {
    let job = version.job.map(|job| {
        let href = job_href(job.number);
        view! { <a href=href>{format!("#{} {}", job.number, job.name)}</a> }
    });
    let aliases = version
        .aliases
        .into_iter()
        .map(|alias| view! { <span class="alias">{format!("@{alias}")}</span> })
        .collect_view();
    let metrics = version
        .metrics
        .into_iter()
        .map(|(key, value)| view! { <span class="metric">{key}" "<b>{number(value)}</b></span> })
        .collect_view();
    view! {
        <tr data-test="model-version" title=version.description>
            <th scope="row" class="num">{format!("v{}", version.version)}</th>
            <td>{aliases}</td>
            <td>{version.stage}</td>
            <td>{job}</td>
            <td class="metrics">{metrics}</td>
            <td><LocalTime ms=version.created_ms/>" · "{version.creator}</td>
        </tr>
    }
}
