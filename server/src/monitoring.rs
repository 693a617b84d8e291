//! `GET /metrics` for Prometheus: requests by route, open event streams, the queue, runners,
//! points ingested, the database pool, and whether this replica leads.

use crate::secret::Secret;
use app::db;
use app::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Instant;

/// Upper bounds, in seconds, of the request latency buckets: from a cached read to a slow
/// upload.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The route label of a request no route matched (static files, 404s): one series, not one
/// per path someone tried.
const UNMATCHED: &str = "unmatched";

/// A request's method, route pattern and status class.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: String,
}

/// A request's method and route pattern.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

/// A runner label of queued jobs (empty for jobs that need none).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    label: String,
}

/// A state: of runners (`idle`, `busy`, `offline`) or pool connections (`idle`, `in_use`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// The process's instruments, shared by the request middleware, the handlers that count and
/// the scrape. Each replica reports its own; Prometheus sums them.
pub struct Monitor {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    streams: Gauge,
    points: Counter,
    queued: Family<QueueLabels, Gauge>,
    runners: Family<StateLabels, Gauge>,
    connections: Family<StateLabels, Gauge>,
    database_up: Gauge,
    leader: Gauge,
    /// Scrapes set the store's gauges afresh; one at a time, so none sees another's half.
    scrape: tokio::sync::Mutex<()>,
    token: Option<[u8; 32]>,
}

impl Monitor {
    /// Instruments at zero; `token`, when set, is what a scrape must send as a bearer token.
    pub fn new(token: Option<&Secret>) -> Arc<Self> {
        let mut registry = Registry::with_prefix("millrace");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route pattern and status",
            requests.clone(),
        );
        let latency = LatencyFamily::new_with_constructor(|| Histogram::new(LATENCY_BUCKETS));
        registry.register(
            "http_request_duration_seconds",
            "Time until a request's answer starts (headers sent), by method and route pattern",
            latency.clone(),
        );
        let streams = Gauge::default();
        registry.register(
            "event_streams_open",
            "Server-sent event streams open on this replica",
            streams.clone(),
        );
        let points = Counter::default();
        registry.register(
            "points_ingested",
            "Metric points stored through the REST API, MLflow's API and runners' output",
            points.clone(),
        );
        let queued = Family::<QueueLabels, Gauge>::default();
        registry.register(
            "queue_depth",
            "Queued jobs by runner label they need (label=\"\" counts jobs that need none)",
            queued.clone(),
        );
        let runners = Family::<StateLabels, Gauge>::default();
        registry.register(
            "runners",
            "Registered runners: busy (holding a lease), idle, or offline (silent past the lease timeout)",
            runners.clone(),
        );
        let connections = Family::<StateLabels, Gauge>::default();
        registry.register(
            "db_connections",
            "Database pool connections of this replica, idle or in use",
            connections.clone(),
        );
        let database_up = Gauge::default();
        registry.register(
            "database_up",
            "1 when the last scrape could read the store, 0 when it could not",
            database_up.clone(),
        );
        let leader = Gauge::default();
        registry.register(
            "leader",
            "1 on the replica that runs the scheduler and sweeps, 0 elsewhere",
            leader.clone(),
        );
        Arc::new(Self {
            registry,
            requests,
            latency,
            streams,
            points,
            queued,
            runners,
            connections,
            database_up,
            leader,
            scrape: tokio::sync::Mutex::new(()),
            token: token.map(|t| digest(t.expose())),
        })
    }

    fn ingested(&self, n: usize) {
        self.points.inc_by(n as u64);
    }

    /// Counts an event stream open until the guard drops.
    pub fn stream_opened(self: &Arc<Self>) -> StreamGuard {
        self.streams.inc();
        StreamGuard(self.clone())
    }

    /// Records whether this replica leads now.
    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    fn observe(&self, method: &Method, route: &str, status: StatusCode, seconds: f64) {
        let method = match *method {
            Method::GET
            | Method::POST
            | Method::PUT
            | Method::DELETE
            | Method::HEAD
            | Method::PATCH
            | Method::OPTIONS => method.as_str().to_owned(),
            _ => "other".to_owned(),
        };
        let route = route.to_owned();
        self.latency
            .get_or_create(&RouteLabels {
                method: method.clone(),
                route: route.clone(),
            })
            .observe(seconds);
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status: status.as_u16().to_string(),
            })
            .inc();
    }

    /// Reads the store's gauges (queue, runners) and the pool's, then writes the text.
    async fn render(&self, state: &AppState) -> String {
        let _one = self.scrape.lock().await;
        match read_store(state).await {
            Ok((queue, runners)) => {
                self.database_up.set(1);
                self.queued.clear();
                for (label, jobs) in queue {
                    self.queued.get_or_create(&QueueLabels { label }).set(jobs);
                }
                self.runners.clear();
                for (state, count) in runners {
                    self.runners
                        .get_or_create(&StateLabels {
                            state: state.to_owned(),
                        })
                        .set(count);
                }
            }
            Err(error) => {
                tracing::warn!(%error, "metrics: reading the store failed");
                self.database_up.set(0);
            }
        }
        let pool = state.db.pool();
        let idle = i64::try_from(pool.num_idle()).unwrap_or(i64::MAX);
        let open = i64::from(pool.size());
        for (state, count) in [("idle", idle), ("in_use", (open - idle).max(0))] {
            self.connections
                .get_or_create(&StateLabels {
                    state: state.to_owned(),
                })
                .set(count);
        }
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }

    fn admits(&self, headers: &HeaderMap) -> bool {
        let Some(token) = &self.token else {
            return true;
        };
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        // Digests compared, so the time a wrong guess takes says nothing about the token.
        sent.is_some_and(|sent| digest(sent) == *token)
    }
}

/// Keeps the open-streams gauge up while an event stream lives.
pub struct StreamGuard(Arc<Monitor>);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.streams.dec();
    }
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// Queued jobs by label and runners by state, from the store.
async fn read_store(
    state: &AppState,
) -> sqlx::Result<(Vec<(String, i64)>, Vec<(&'static str, i64)>)> {
    let queue = db::queue::depth_by_label(&state.db).await?;
    let now = db::now_ms();
    let silent_since = now - state.runs.lease_ms;
    let mut counts = [("busy", 0), ("idle", 0), ("offline", 0)];
    for row in db::runners::list(&state.db).await? {
        let slot = match (row.runner.last_seen_ms < silent_since, row.active_jobs > 0) {
            (true, _) => 2,
            (false, true) => 0,
            (false, false) => 1,
        };
        counts[slot].1 += 1;
    }
    Ok((queue, counts.to_vec()))
}

/// `GET /metrics`: the Prometheus text format; with `--metrics-token`, only for a scrape that
/// sends it as a bearer token.
pub async fn scrape(
    State(state): State<AppState>,
    Extension(monitor): Extension<Arc<Monitor>>,
    headers: HeaderMap,
) -> Response {
    if !monitor.admits(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "GET /metrics needs the metrics token as a bearer token\n",
        )
            .into_response();
    }
    let text = monitor.render(&state).await;
    (
        [(
            header::CONTENT_TYPE,
            prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
        )],
        text,
    )
        .into_response()
}

/// The route pattern a request matched, carried on its answer to [`count`].
#[derive(Clone, Debug)]
pub struct Route(pub String);

/// Metric points an answered request stored, carried on its answer to [`count`].
#[derive(Clone, Copy, Debug)]
pub struct Ingested(pub usize);

/// Marks the answer with the route pattern the request matched. Layered on every router with
/// `route_layer`, so the innermost mark (a nested router's full pattern, or a handler's own)
/// wins over its mount point's.
pub async fn mark_route(request: Request, next: Next) -> Response {
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(request).await;
    if let Some(matched) = matched {
        if response.extensions().get::<Route>().is_none() {
            response
                .extensions_mut()
                .insert(Route(matched.as_str().to_owned()));
        }
    }
    response
}

/// Counts every request and times it until its answer starts, by the route [`mark_route`]
/// found.
pub async fn count(
    Extension(monitor): Extension<Arc<Monitor>>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    let route = response
        .extensions()
        .get::<Route>()
        .map_or(UNMATCHED, |route| route.0.as_str());
    if let Some(Ingested(points)) = response.extensions().get::<Ingested>() {
        monitor.ingested(*points);
    }
    monitor.observe(
        &method,
        route,
        response.status(),
        started.elapsed().as_secs_f64(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_admits_only_the_scrape_that_sends_it() {
        let open = Monitor::new(None);
        assert!(open.admits(&HeaderMap::new()));
        let guarded = Monitor::new(Some(&Secret::new("s3cret")));
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, value.parse().unwrap());
            headers
        };
        assert!(guarded.admits(&with("Bearer s3cret")));
        assert!(!guarded.admits(&with("Bearer s3cre")));
        assert!(!guarded.admits(&with("s3cret")));
        assert!(!guarded.admits(&HeaderMap::new()));
    }

    #[test]
    fn methods_outside_the_standard_ones_share_one_series() {
        let monitor = Monitor::new(None);
        let odd = Method::from_bytes(b"BREW").unwrap();
        monitor.observe(&odd, "/x", StatusCode::NOT_FOUND, 0.001);
        monitor.observe(&Method::GET, "/x", StatusCode::OK, 0.001);
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &monitor.registry).unwrap();
        assert!(
            text.contains(r#"method="other",route="/x",status="404""#),
            "{text}"
        );
        assert!(
            text.contains(r#"method="GET",route="/x",status="200""#),
            "{text}"
        );
        assert!(!text.contains("BREW"), "{text}");
    }
}
