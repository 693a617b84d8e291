//! Server-sent events of one project, turned into a revision counter that views read to
//! revalidate: one stream per tab (per open project), resumed by the browser after a drop.

use leptos::prelude::*;

/// Coalesces bursts of events into one revalidation.
const SETTLE_MS: u64 = 80;

/// Counters that go up when the server reports a change to a job: its status, its metrics,
/// its output; all of them on reconnect, when the window regains focus and when the browser is
/// back online, when anything may have been missed. Views read the one they show, to revalidate just that.
#[derive(Clone, Copy, Debug)]
pub struct JobRevisions {
    /// Status, runner, anything of the job itself.
    pub status: ReadSignal<u64>,
    /// Metric points.
    pub metrics: ReadSignal<u64>,
    /// Output lines.
    pub logs: ReadSignal<u64>,
}

/// The revisions of the job `job` (its number or global id) of `project` (`owner/name`), from
/// the project's server-sent events. They stay 0 during server rendering.
pub fn use_job_revisions(project: Memo<Option<String>>, job: Memo<Option<String>>) -> JobRevisions {
    let (status, set_status) = signal(0u64);
    let (metrics, set_metrics) = signal(0u64);
    let (logs, set_logs) = signal(0u64);
    Effect::new(move |_| {
        let Some(project) = project.get() else {
            return;
        };
        let stream = browser::JobStream::open(&project, job, [set_status, set_metrics, set_logs]);
        let stream = send_wrapper::SendWrapper::new(stream);
        on_cleanup(move || drop(stream));
    });
    // Back on the page, or back online: anything may have been missed (a fetch made while
    // offline failed), so revalidate all.
    let all = move || [set_status, set_metrics, set_logs].map(|r| r.update(|r| *r += 1));
    let focus = window_event_listener(leptos::ev::focus, move |_| {
        all();
    });
    let online = window_event_listener(
        leptos::ev::Custom::<web_sys::Event>::new("online"),
        move |_| {
            all();
        },
    );
    on_cleanup(move || {
        focus.remove();
        online.remove();
    });
    JobRevisions {
        status,
        metrics,
        logs,
    }
}

mod browser {
    use super::SETTLE_MS;
    use leptos::prelude::*;
    use std::cell::Cell;
    use std::rc::Rc;
    use std::time::Duration;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    use web_sys::{EventSource, MessageEvent};

    /// An open `EventSource` and its handlers; dropping it closes the stream.
    pub struct JobStream {
        source: Option<EventSource>,
        _handlers: Vec<Closure<dyn FnMut(web_sys::Event)>>,
    }

    impl Drop for JobStream {
        fn drop(&mut self) {
            if let Some(source) = &self.source {
                source.close();
            }
        }
    }

    impl JobStream {
        /// Opens the project's stream; events of `job` bump the revision of their kind
        /// (`[status, metrics, logs]`).
        pub fn open(
            project: &str,
            job: Memo<Option<String>>,
            revisions: [WriteSignal<u64>; 3],
        ) -> Self {
            let url = format!(
                "/api/v1/events?project={}",
                crate::url::encode_component(project)
            );
            let Ok(source) = EventSource::new(&url) else {
                return Self {
                    source: None,
                    _handlers: Vec::new(),
                };
            };
            let bumps = revisions.map(settled_bump);
            let on_event = {
                let bumps = bumps.clone();
                Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
                    let Some(message) = event.dyn_ref::<MessageEvent>() else {
                        return;
                    };
                    let data = message.data().as_string().unwrap_or_default();
                    if !concerns(&data, job.get_untracked().as_deref()) {
                        return;
                    }
                    match event.type_().as_str() {
                        "metrics" => bumps[1](),
                        "logs" => bumps[2](),
                        _ => bumps.iter().for_each(|bump| bump()),
                    }
                })
            };
            // A reconnect may have missed more than the browser's Last-Event-ID resume brings:
            // revalidate everything.
            let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
                bumps.iter().for_each(|bump| bump())
            });
            for kind in [
                "metrics",
                "logs",
                "job.status",
                "job.created",
                "job.cancel",
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

    /// A function that bumps `revision` once per burst: the first call schedules the bump, the
    /// calls before it lands are absorbed.
    fn settled_bump(revision: WriteSignal<u64>) -> Rc<dyn Fn()> {
        let pending = Rc::new(Cell::new(false));
        Rc::new(move || {
            if pending.replace(true) {
                return;
            }
            let pending = pending.clone();
            set_timeout(
                move || {
                    pending.set(false);
                    revision.update(|r| *r += 1);
                },
                Duration::from_millis(SETTLE_MS),
            );
        })
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

    /// Whether an event's data names `job` (by global id or number); `resync` data names none
    /// and concerns everyone.
    fn concerns(data: &str, job: Option<&str>) -> bool {
        let Ok(event) = serde_json::from_str::<EventJob>(data) else {
            return false;
        };
        let Some(job) = job else {
            return true;
        };
        let number = event.number.map(|n| n.to_string());
        (event.job.is_none() && number.is_none())
            || event.job.as_deref() == Some(job)
            || number.as_deref() == Some(job)
    }

    #[cfg(test)]
    mod tests {
        use super::concerns;

        #[test]
        fn an_event_concerns_its_job_by_id_or_number_and_resync_concerns_all() {
            let data = r#"{"job": "ab12", "number": 7, "status": "running", "at_ms": 1}"#;
            assert!(
                concerns(data, Some("ab12")) && concerns(data, Some("7")) && concerns(data, None)
            );
            assert!(!concerns(data, Some("8")));
            assert!(concerns("{}", Some("8")), "resync");
            assert!(concerns(r#"{"job": null, "number": null}"#, Some("8")));
            assert!(!concerns("not json", Some("7")));
        }
    }
}
