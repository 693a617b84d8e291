//! Server-sent events of the page, turned into revision counters that views read to
//! revalidate. One stream per tab: the page opens it for the project in its URL (or, on the
//! home view, for the signed-in person's own jobs) and every view (jobs column, job pane,
//! project views, home) reads the counters it needs from it.

use leptos::prelude::*;
use std::collections::HashMap;

/// Coalesces bursts of events into one revalidation.
const SETTLE_MS: u64 = 80;

/// The kinds of change views revalidate on.
const KINDS: usize = 5;
const STATUS: usize = 0;
const METRICS: usize = 1;
const LOGS: usize = 2;
const ARTIFACTS: usize = 3;
const REGISTRY: usize = 4;

/// Counters that go up when the server reports a change to a job: its status, its metrics,
/// its output; all of them on reconnect, when the window regains focus and when the browser is
/// back online, when anything may have been missed. Views read the one they show, to revalidate
/// just that.
#[derive(Clone, Copy, Debug)]
pub struct JobRevisions {
    /// Status, runner, anything of the job itself (and jobs created).
    pub status: Signal<u64>,
    /// Metric points.
    pub metrics: Signal<u64>,
    /// Output lines.
    pub logs: Signal<u64>,
    /// Files kept or removed.
    pub artifacts: Signal<u64>,
    /// The project's registered models (of no job: read it with `None` for the job).
    pub registry: Signal<u64>,
    /// Only the times anything may have been missed: views that apply changes themselves
    /// re-read everything on these.
    pub resync: Signal<u64>,
}

/// The page's event stream (its project's, or the signed-in person's own jobs') as counters:
/// per kind for any job, and per job (by number and by global id). Provided by the page.
#[derive(Clone, Copy)]
pub struct PageEvents {
    any: RwSignal<[u64; KINDS]>,
    by_job: RwSignal<HashMap<String, [u64; KINDS]>>,
    /// Times everything may have changed (reconnect, focus, back online, resync).
    all: RwSignal<u64>,
}

/// Which events the page follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventScope {
    /// Those of a project, `owner/name`.
    Project(String),
    /// Those that change the state of the signed-in person's own jobs, wherever they are.
    MyJobs,
}

impl EventScope {
    /// The URL of the stream.
    fn url(&self) -> String {
        match self {
            Self::Project(project) => format!(
                "/api/v1/events?project={}",
                crate::url::encode_component(project)
            ),
            Self::MyJobs => "/api/v1/events/mine".to_owned(),
        }
    }
}

impl PageEvents {
    /// Opens the stream of `scope` while it is set, for the views below.
    pub fn provide(scope: Memo<Option<EventScope>>) {
        let events = Self {
            any: RwSignal::new([0; KINDS]),
            by_job: RwSignal::new(HashMap::new()),
            all: RwSignal::new(0),
        };
        Effect::new(move |_| {
            let Some(scope) = scope.get() else {
                return;
            };
            let stream = browser::ProjectStream::open(&scope.url(), events);
            let stream = send_wrapper::SendWrapper::new(stream);
            on_cleanup(move || drop(stream));
        });
        // Back on the page, or back online: anything may have been missed (a fetch made while
        // offline failed), so revalidate all.
        let focus = window_event_listener(leptos::ev::focus, move |_| events.bump_all());
        let online = window_event_listener(
            leptos::ev::Custom::<web_sys::Event>::new("online"),
            move |_| events.bump_all(),
        );
        on_cleanup(move || {
            focus.remove();
            online.remove();
        });
        provide_context(events);
    }

    /// Counts one burst of changes: `kinds` of any job, and of each job named in `jobs`.
    fn bump(&self, kinds: [bool; KINDS], jobs: &[(String, [bool; KINDS])]) {
        self.any.update(|any| add(any, kinds));
        if !jobs.is_empty() {
            self.by_job.update(|by_job| {
                for (job, kinds) in jobs {
                    add(by_job.entry(job.clone()).or_default(), *kinds);
                }
            });
        }
    }

    /// Counts a change of every kind to every job.
    fn bump_all(&self) {
        self.all.update(|all| *all += 1);
    }
}

fn add(revisions: &mut [u64; KINDS], kinds: [bool; KINDS]) {
    for (revision, changed) in revisions.iter_mut().zip(kinds) {
        *revision += u64::from(changed);
    }
}

/// The revisions of job `job` (its number or global id) of the open project, or of any of its
/// jobs with `None`. They stay 0 during server rendering and without a provided stream.
pub fn use_job_revisions(job: Memo<Option<String>>) -> JobRevisions {
    let events = use_context::<PageEvents>();
    // Memos, so a view revalidates only when its own count moves, not on every event.
    let revision = move |index: usize| -> Signal<u64> {
        Memo::new(move |_| {
            let Some(events) = events else { return 0 };
            let own = match job.get() {
                None => events.any.with(|any| any[index]),
                Some(job) => events
                    .by_job
                    .with(|by_job| by_job.get(&job).map_or(0, |r| r[index])),
            };
            own + events.all.get()
        })
        .into()
    };
    JobRevisions {
        status: revision(STATUS),
        metrics: revision(METRICS),
        logs: revision(LOGS),
        artifacts: revision(ARTIFACTS),
        registry: revision(REGISTRY),
        resync: Signal::derive(move || events.map_or(0, |events| events.all.get())),
    }
}

mod browser {
    use super::{PageEvents, ARTIFACTS, KINDS, LOGS, METRICS, REGISTRY, SETTLE_MS, STATUS};
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::time::Duration;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    use web_sys::{EventSource, MessageEvent};

    /// An open `EventSource` and its handlers; dropping it closes the stream.
    pub struct ProjectStream {
        source: Option<EventSource>,
        _handlers: Vec<Closure<dyn FnMut(web_sys::Event)>>,
    }

    impl Drop for ProjectStream {
        fn drop(&mut self) {
            if let Some(source) = &self.source {
                source.close();
            }
        }
    }

    /// Changes seen since the last bump: kinds for any job, and per job.
    #[derive(Default)]
    struct Burst {
        pending: bool,
        kinds: [bool; KINDS],
        jobs: Vec<(String, [bool; KINDS])>,
        all: bool,
    }

    impl ProjectStream {
        /// Opens the stream at `url`; its events bump `events` once per burst.
        pub fn open(url: &str, events: PageEvents) -> Self {
            let Ok(source) = EventSource::new(url) else {
                return Self {
                    source: None,
                    _handlers: Vec::new(),
                };
            };
            let burst = Rc::new(RefCell::new(Burst::default()));
            let note = {
                let burst = burst.clone();
                move |change: Option<(Vec<String>, [bool; KINDS])>| {
                    let mut now = burst.borrow_mut();
                    match change {
                        Some((jobs, kinds)) => {
                            for (any, changed) in now.kinds.iter_mut().zip(kinds) {
                                *any |= changed;
                            }
                            for job in jobs {
                                match now.jobs.iter_mut().find(|(j, _)| *j == job) {
                                    Some((_, seen)) => {
                                        for (seen, changed) in seen.iter_mut().zip(kinds) {
                                            *seen |= changed;
                                        }
                                    }
                                    None => now.jobs.push((job, kinds)),
                                }
                            }
                        }
                        None => now.all = true,
                    }
                    if std::mem::replace(&mut now.pending, true) {
                        return;
                    }
                    let burst = burst.clone();
                    leptos::prelude::set_timeout(
                        move || {
                            let done = std::mem::take(&mut *burst.borrow_mut());
                            if done.all {
                                events.bump_all();
                            } else {
                                events.bump(done.kinds, &done.jobs);
                            }
                        },
                        Duration::from_millis(SETTLE_MS),
                    );
                }
            };
            let on_event = {
                let note = note.clone();
                Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
                    let Some(message) = event.dyn_ref::<MessageEvent>() else {
                        return;
                    };
                    let data = message.data().as_string().unwrap_or_default();
                    let Ok(job) = serde_json::from_str::<EventJob>(&data) else {
                        return;
                    };
                    let mut kinds = [false; KINDS];
                    match event.type_().as_str() {
                        "metrics" => kinds[METRICS] = true,
                        "logs" => kinds[LOGS] = true,
                        "artifacts" => kinds[ARTIFACTS] = true,
                        "registry" => kinds[REGISTRY] = true,
                        "resync" => return note(None),
                        _ => kinds[STATUS] = true,
                    }
                    note(Some((job.names(), kinds)));
                })
            };
            // A reconnect may have missed more than the browser's Last-Event-ID resume brings:
            // revalidate everything. Not on the first open: the page's data is a moment old and
            // redrawing it all then would only disturb a hover or a drag just begun; a change
            // made in that moment shows with the next event of its kind.
            let opened = std::cell::Cell::new(false);
            let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
                if opened.replace(true) {
                    note(None);
                }
            });
            for kind in [
                "metrics",
                "logs",
                "artifacts",
                "registry",
                "job.status",
                "job.created",
                "job.cancel",
                // A sweep's trial or state, or a pipeline run's step, changed: counted as a
                // status change of no job in particular, which those views follow.
                "sweep",
                "pipeline",
                "resync",
            ] {
                let _ = source
                    .add_event_listener_with_callback(kind, on_event.as_ref().unchecked_ref());
            }
            let _ =
                source.add_event_listener_with_callback("open", on_open.as_ref().unchecked_ref());
            Self {
                source: Some(source),
                _handlers: vec![on_event, on_open],
            }
        }
    }

    /// What the page reads of an event's data: the job it concerns. A typed struct rather than a
    /// `serde_json::Value` keeps the JSON tree's code out of the browser bundle.
    #[derive(serde::Deserialize)]
    struct EventJob {
        #[serde(default)]
        job: Option<String>,
        #[serde(default)]
        number: Option<i64>,
    }

    impl EventJob {
        /// The names the event's job goes by in URLs: its global id and its number.
        fn names(&self) -> Vec<String> {
            self.job
                .iter()
                .cloned()
                .chain(self.number.map(|n| n.to_string()))
                .collect()
        }
    }

    #[cfg(test)]
    mod tests {
        use super::EventJob;

        #[test]
        fn an_event_names_its_job_by_id_and_number() {
            let data = r#"{"job": "ab12", "number": 7, "status": "running", "at_ms": 1}"#;
            let job: EventJob = serde_json::from_str(data).unwrap();
            assert_eq!(job.names(), vec!["ab12".to_owned(), "7".to_owned()]);
            let none: EventJob = serde_json::from_str("{}").unwrap();
            assert!(none.names().is_empty());
            assert!(serde_json::from_str::<EventJob>("not json").is_err());
        }
    }
}
