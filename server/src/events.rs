//! Live updates: one pump reads new events from the store and fans them out to every open
//! server-sent-event stream, which sends those of its project (after a backlog on reconnect)
//! or of its caller's own jobs.

use crate::api::access::Signed;
use crate::api::error::{ApiError, ApiQuery};
use crate::monitoring::{Monitor, StreamGuard};
use app::auth::access::{self, Act};
use app::db::{self, events::Event};
use app::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::Extension;
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::{self, error::RecvError};

/// How often the pump looks for new events on SQLite, where the only writer is this process
/// (and the command line on the same file). PostgreSQL wakes the pump instead.
pub const PUMP_EVERY: Duration = Duration::from_millis(50);
/// How long the pump waits before opening its PostgreSQL listener again after a failure.
const RELISTEN_AFTER: Duration = Duration::from_secs(1);
/// Events read at most per look.
const BATCH: i64 = 5_000;
/// Events a reconnecting stream is sent at most from before it reconnected.
const BACKLOG: i64 = 10_000;

/// Starts the pump: reads where the event sequence stands now (so every later write is
/// broadcast, even one made before the task first runs), then spawns [`pump`].
pub async fn start_pump(
    state: AppState,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let last = loop {
        match newest(&state).await {
            Ok(last) => break last,
            Err(error) => tracing::warn!(%error, "reading the event sequence failed; retrying"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    tokio::spawn(pump(state, last, stop))
}

/// Broadcasts the events after `last` as they are written, until `stop` resolves: on
/// PostgreSQL when a commit (of any replica) notifies, on SQLite every [`PUMP_EVERY`].
pub async fn pump(state: AppState, last: i64, stop: impl std::future::Future<Output = ()>) {
    tokio::pin!(stop);
    let mut reader = Reader { state, last };
    if reader.state.db.backend() == db::Backend::Sqlite {
        let mut ticks = tokio::time::interval(PUMP_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = &mut stop => return,
                // A failed read is logged and tried again at the next tick.
                _ = ticks.tick() => {
                    reader.read().await;
                }
            }
        }
    }
    loop {
        let listening = tokio::select! {
            () = &mut stop => return,
            listening = db::events::listen(&reader.state.db) => listening,
        };
        let mut listener = match listening {
            Ok(Some(listener)) => listener,
            Ok(None) => unreachable!("PostgreSQL listens"),
            Err(error) => {
                tracing::warn!(%error, "listening for new events failed; retrying");
                tokio::select! {
                    () = &mut stop => return,
                    () = tokio::time::sleep(RELISTEN_AFTER) => continue,
                }
            }
        };
        // What was committed while nobody listened.
        let mut read = reader.read().await;
        while read {
            let woken = tokio::select! {
                () = &mut stop => return,
                woken = listener.try_recv() => woken,
            };
            read = match woken {
                Ok(Some(_)) => {
                    // One read for every commit that notified meanwhile.
                    while listener.next_buffered().is_some() {}
                    reader.read().await
                }
                // The connection dropped; the next call reconnects, then catch up.
                Ok(None) => reader.read().await,
                Err(error) => {
                    tracing::warn!(%error, "the event listener failed; listening again");
                    false
                }
            };
        }
        // Listening again reads everything missed, once the database answers.
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep(RELISTEN_AFTER) => {}
        }
    }
}

/// Reads the events after `last` and broadcasts them.
struct Reader {
    state: AppState,
    last: i64,
}

impl Reader {
    /// Whether everything committed so far was read (a failure is logged).
    async fn read(&mut self) -> bool {
        loop {
            match read_after(&self.state, self.last).await {
                Ok(events) if !events.is_empty() => {
                    self.last = events.last().map_or(self.last, |e| e.id);
                    let more = events.len() as i64 == BATCH;
                    wake_runners(&self.state, &events);
                    // No listener is fine: nobody has a page open.
                    let _ = self.state.events.send(events.into());
                    if !more {
                        return true;
                    }
                }
                Ok(_) => return true,
                Err(error) => {
                    tracing::warn!(%error, "reading new events failed; retrying");
                    return false;
                }
            }
        }
    }
}

/// Wakes this replica's waiting runners when a job may have joined the queue, wherever it was
/// written.
fn wake_runners(state: &AppState, events: &[Event]) {
    if events
        .iter()
        .any(|e| matches!(e.kind.as_str(), "job.created" | "job.status"))
    {
        state.runs.queued.notify_waiters();
    }
}

async fn newest(state: &AppState) -> sqlx::Result<i64> {
    let mut conn = state.db.pool().acquire().await?;
    db::events::last_id(&mut conn).await
}

async fn read_after(state: &AppState, last: i64) -> sqlx::Result<Vec<Event>> {
    let mut conn = state.db.pool().acquire().await?;
    db::events::after(&mut conn, last, BATCH).await
}

/// Query of `GET /api/v1/events`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// The project, `owner/name`.
    project: String,
    /// Only this job's events (its global id).
    #[serde(default)]
    job: Option<String>,
    /// Resume after this event id (the `Last-Event-ID` header wins).
    #[serde(default)]
    after: Option<i64>,
}

/// What a stream sends next: its backlog, then what the pump broadcasts.
struct Listener {
    pending: VecDeque<Event>,
    live: broadcast::Receiver<Arc<[Event]>>,
    scope: Scope,
    last: i64,
    closing: Option<Closing>,
    _open: StreamGuard,
}

/// Cancelled when the server starts shutting down: open streams then end, so the shutdown is
/// not held up by pages that would listen forever, and browsers reconnect (with
/// `Last-Event-ID`) to another replica.
#[derive(Clone, Debug, Default)]
pub struct Closing(pub tokio_util::sync::CancellationToken);

/// Which events a stream sends.
enum Scope {
    /// Those of one project, or of one job in it (its global id).
    Project { id: i64, job: Option<String> },
    /// Those that change whether this user's jobs wait, run or ended, in any project, without
    /// their details: what the home view follows to know when to read itself again.
    CreatedBy(i64),
}

/// The kinds of event a [`Scope::CreatedBy`] stream sends.
const JOB_STATE_KINDS: [&str; 3] = ["job.created", "job.status", "job.cancel"];

/// `GET /api/v1/events?project=owner/name[&job=UID]`: server-sent events of one project (one
/// job), resuming after `Last-Event-ID` with what the stream missed.
pub async fn stream(
    State(state): State<AppState>,
    Extension(monitor): Extension<Arc<Monitor>>,
    closing: Option<Extension<Closing>>,
    Signed(caller): Signed,
    ApiQuery(query): ApiQuery<EventQuery>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let (owner, name) = query
        .project
        .split_once('/')
        .ok_or_else(|| ApiError::invalid("project", "project is owner/name"))?;
    let project = access::project(&state.db, &caller, owner, name, Act::Read).await?;
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .or(query.after);
    // Subscribe before reading the backlog, so nothing falls between the two.
    let live = state.events.subscribe();
    let mut conn = state.db.pool().acquire().await?;
    let (pending, last) = match resume {
        Some(after) => {
            let missed =
                db::events::after_in_project(&mut conn, project.id, after, BACKLOG).await?;
            (missed.into_iter().collect(), after)
        }
        None => (VecDeque::new(), db::events::last_id(&mut conn).await?),
    };
    let scope = Scope::Project {
        id: project.id,
        job: query.job,
    };
    Ok(send(Listener {
        pending,
        live,
        scope,
        last,
        closing: closing.map(|Extension(c)| c),
        _open: monitor.stream_opened(),
    }))
}

/// `GET /api/v1/events/mine`: server-sent events when a job the caller created is created,
/// changes status or is asked to stop, in any project; with the event's id and kind only. A
/// reconnecting page reads its view afresh, so there is no backlog.
pub async fn stream_mine(
    State(state): State<AppState>,
    Extension(monitor): Extension<Arc<Monitor>>,
    closing: Option<Extension<Closing>>,
    Signed(caller): Signed,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let live = state.events.subscribe();
    let mut conn = state.db.pool().acquire().await?;
    let last = db::events::last_id(&mut conn).await?;
    Ok(send(Listener {
        pending: VecDeque::new(),
        live,
        scope: Scope::CreatedBy(caller.user.id),
        last,
        closing: closing.map(|Extension(c)| c),
        _open: monitor.stream_opened(),
    }))
}

/// The stream of what `listener` hears, kept open with comments while quiet.
fn send(listener: Listener) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let events = stream::unfold(listener, |mut listener| async move {
        let event = listener.next().await?;
        Some((Ok(event), listener))
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}

impl Listener {
    /// The next event for this stream, or `resync` when it fell too far behind to know; `None`
    /// once the server is shutting down.
    async fn next(&mut self) -> Option<SseEvent> {
        loop {
            while let Some(event) = self.pending.pop_front() {
                if event.id > self.last && self.wants(&event) {
                    self.last = event.id;
                    return Some(match self.scope {
                        Scope::Project { .. } => to_sse(&event),
                        Scope::CreatedBy(_) => SseEvent::default()
                            .id(event.id.to_string())
                            .event(event.kind.clone())
                            .data("{}"),
                    });
                }
            }
            let received = match &self.closing {
                Some(Closing(closing)) => tokio::select! {
                    () = closing.cancelled() => return None,
                    received = self.live.recv() => received,
                },
                None => self.live.recv().await,
            };
            match received {
                Ok(batch) => self.pending.extend(batch.iter().cloned()),
                Err(RecvError::Lagged(_)) => {
                    // The page revalidates with one call instead of replaying what it missed.
                    return Some(SseEvent::default().event("resync").data("{}"));
                }
                Err(RecvError::Closed) => std::future::pending::<()>().await,
            }
        }
    }

    fn wants(&self, event: &Event) -> bool {
        match &self.scope {
            Scope::Project { id, job } => {
                event.project_id == Some(*id)
                    && job
                        .as_ref()
                        .is_none_or(|job| event.job_uid.as_ref() == Some(job))
            }
            Scope::CreatedBy(user) => {
                event.job_creator == Some(*user) && JOB_STATE_KINDS.contains(&event.kind.as_str())
            }
        }
    }
}

fn to_sse(event: &Event) -> SseEvent {
    let mut data: serde_json::Value =
        serde_json::from_str(&event.payload).unwrap_or_else(|_| serde_json::json!({}));
    if let Some(object) = data.as_object_mut() {
        object.insert("job".into(), event.job_uid.clone().into());
        object.insert("number".into(), event.job_number.into());
        object.insert("at_ms".into(), event.at_ms.into());
    }
    SseEvent::default()
        .id(event.id.to_string())
        .event(event.kind.clone())
        .data(data.to_string())
}
