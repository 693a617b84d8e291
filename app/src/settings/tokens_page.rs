//! `/settings/tokens`: the signed-in person's API tokens (create, copy once, revoke) and browser
//! sessions (see where they are signed in, sign other browsers out). Every change is a form
//! post, so the page works without JavaScript as well.

use crate::components::error_notice::ErrorNotice;
use crate::components::local_time::LocalTime;
use crate::components::page_bar::PageBar;
use crate::model::{CredentialsPage, SessionRow, TokenRow, TokenScope};
use crate::settings::tokens::{get_credentials, CreateToken, EndSession, RevokeToken};
use leptos::prelude::*;

/// How long a new token may work, as the form offers it: (days, label).
const LIFETIMES: [(u32, &str); 4] = [
    (7, "7 days"),
    (30, "30 days"),
    (90, "90 days"),
    (366, "a year"),
];

/// The settings page.
#[component]
pub fn TokensPage() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let end = ServerAction::<EndSession>::new();
    // Read again after each change, so the lists show it.
    let page = Resource::new(
        move || {
            (
                create.version().get(),
                revoke.version().get(),
                end.version().get(),
            )
        },
        |_| get_credentials(),
    );
    let created = move || match create.value().get() {
        Some(Ok(token)) => Some(Ok(token.secret)),
        Some(Err(error)) => Some(Err(error.to_string())),
        None => None,
    };
    let failed = move || {
        [revoke.value().get(), end.value().get()]
            .into_iter()
            .flatten()
            .find_map(Result::err)
            .map(|error| error.to_string())
    };

    view! {
        <PageBar/>
        <main class="settings-page">
            <h1>"API tokens"</h1>
            <p>
                "A token lets a script, a notebook or the " <code>"millrace"</code>
                " command act as you: set it as " <code>"MLFLOW_TRACKING_TOKEN"</code>
                " or pass it with " <code>"--token"</code> ". A read token can only look."
            </p>
            <ActionForm action=create attr:class="new-token" attr:aria-label="New token">
                <label>"Name" <input type="text" name="name" required maxlength="100" placeholder="laptop"/></label>
                <label>
                    "Scope"
                    <select name="scope">
                        <option value="write" selected>"read and write"</option>
                        <option value="read">"read only"</option>
                    </select>
                </label>
                <label>
                    "Works for"
                    <select name="days">
                        {LIFETIMES.iter().map(|(days, label)| view! {
                            <option value=days.to_string() selected=*days == 30>{*label}</option>
                        }).collect_view()}
                    </select>
                </label>
                <button type="submit">"Create token"</button>
            </ActionForm>
            {move || created().map(|answer| match answer {
                Ok(secret) => view! { <NewSecret secret/> }.into_any(),
                Err(error) => view! { <p class="form-error" role="alert">{error}</p> }.into_any(),
            })}
            <p class="form-error" role="alert">{failed}</p>
            <Suspense fallback=|| view! { <div class="skeleton-pane"></div> }>
                <ErrorBoundary fallback=|errors| view! { <ErrorNotice errors/> }>
                    {move || Suspend::new(async move {
                        page.await.map(|data| view! { <Credentials data revoke end/> })
                    })}
                </ErrorBoundary>
            </Suspense>
        </main>
    }
}

/// The secret of a token just made, with what to do with it.
#[component]
fn NewSecret(secret: String) -> impl IntoView {
    view! {
        <div class="new-secret" role="status">
            <p>"Copy the new token now: it is not shown again."</p>
            <input type="text" readonly aria-label="New token" value=secret.clone() prop:value=secret/>
        </div>
    }
}

/// The token and session tables.
#[component]
fn Credentials(
    data: CredentialsPage,
    revoke: ServerAction<RevokeToken>,
    end: ServerAction<EndSession>,
) -> impl IntoView {
    let CredentialsPage {
        tokens,
        sessions,
        new_secret,
    } = data;
    view! {
        {new_secret.map(|secret| view! { <NewSecret secret/> })}
        <TokenTable tokens revoke/>
        <h2>"Sessions"</h2>
        <p>"The browsers you are signed in on. A session ends after a week without use."</p>
        <SessionTable sessions end/>
    }
}

#[component]
fn TokenTable(tokens: Vec<TokenRow>, revoke: ServerAction<RevokeToken>) -> impl IntoView {
    if tokens.is_empty() {
        return view! { <p class="empty">"You have no tokens yet."</p> }.into_any();
    }
    view! {
        <table class="credentials" aria-label="Tokens">
            <thead>
                <tr><th>"Name"</th><th>"Scope"</th><th>"Created"</th><th>"Works until"</th><th></th></tr>
            </thead>
            <tbody>
                {tokens.into_iter().map(|token| {
                    let scope = match token.scope {
                        TokenScope::Read => "read only",
                        TokenScope::Write => "read and write",
                    };
                    let until = match (token.revoked_ms, token.expires_ms) {
                        (Some(revoked), _) => view! { "revoked " <LocalTime ms=revoked/> }.into_any(),
                        (None, Some(expires)) => view! { <LocalTime ms=expires/> }.into_any(),
                        (None, None) => "no end".into_any(),
                    };
                    let name = token.name.clone();
                    view! {
                        <tr class:revoked=token.revoked_ms.is_some()>
                            <td>{token.name}</td>
                            <td>{scope}</td>
                            <td><LocalTime ms=token.created_ms/></td>
                            <td>{until}</td>
                            <td>
                                {token.revoked_ms.is_none().then(|| view! {
                                    <ActionForm action=revoke>
                                        <input type="hidden" name="id" value=token.id.to_string()/>
                                        <button type="submit" aria-label=format!("Revoke {name}")>"Revoke"</button>
                                    </ActionForm>
                                })}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn SessionTable(sessions: Vec<SessionRow>, end: ServerAction<EndSession>) -> impl IntoView {
    view! {
        <table class="credentials" aria-label="Sessions">
            <thead>
                <tr><th>"Browser"</th><th>"Address"</th><th>"Signed in"</th><th>"Last used"</th><th></th></tr>
            </thead>
            <tbody>
                {sessions.into_iter().map(|session| {
                    let browser = if session.user_agent.is_empty() {
                        "unknown".to_owned()
                    } else {
                        session.user_agent.clone()
                    };
                    view! {
                        <tr>
                            <td class="agent">{browser}</td>
                            <td>{session.address.clone()}</td>
                            <td><LocalTime ms=session.created_ms/></td>
                            <td><LocalTime ms=session.last_seen_ms/></td>
                            <td>
                                {if session.current {
                                    view! { <span class="current">"this browser"</span> }.into_any()
                                } else {
                                    view! {
                                        <ActionForm action=end>
                                            <input type="hidden" name="id" value=session.id/>
                                            <button type="submit">"Sign out"</button>
                                        </ActionForm>
                                    }
                                    .into_any()
                                }}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}
