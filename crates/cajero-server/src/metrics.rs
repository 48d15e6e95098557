//! Prometheus metrics on `GET /metrics`.
//!
//! One process-wide recorder (the `metrics` facade allows one), installed on first use so that
//! several servers in one test process share it. Histograms get fixed buckets; upkeep (which
//! drains histogram samples and refreshes the gauges read from the database, [`gauges`]) runs
//! on a timer started by the server.
//!
//! Labels are bounded sets only — network codes, route names, outcome codes, job names, modes,
//! webhook endpoint ids — never a merchant id, a reference, a name or a document: a label value
//! is one time series for as long as the process lives, and `/metrics` may be read by people
//! who must not see customers. Every metric is listed in `docs/metrics.md`.

pub mod gauges;

use std::sync::OnceLock;
use std::time::Duration;

use axum::http::header;
use axum::response::IntoResponse;
use cajero_domain::id::WebhookEndpointId;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::webhook::send::SendResult;

/// How often histograms are drained.
pub const UPKEEP_INTERVAL_MS: u64 = 5_000;
/// Buckets for delivery latency, in seconds: 5 ms to the 15 s timeout.
const LATENCY_BUCKETS_S: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0,
];
/// Buckets for a network's callback delay (from the change at the counter to its callback
/// reaching us), in seconds: networks call back within seconds when well, retry for minutes
/// to hours when not (the simulator's schedule: 5 s, 15 s, 1 min, … then hourly).
const CALLBACK_DELAY_BUCKETS_S: &[f64] = &[
    1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1_800.0, 3_600.0, 7_200.0, 21_600.0, 86_400.0,
];
/// The histogram that takes [`CALLBACK_DELAY_BUCKETS_S`].
const CALLBACK_DELAY: &str = "cajero_network_callback_delay_seconds";
/// Longest label value taken as given; a longer one (or one with other characters than
/// `[A-Za-z0-9_.-]`) is counted as [`LABEL_OTHER`], so that a network answering garbage
/// cannot grow the series without bound.
const LABEL_CHARS_MAX: usize = 40;
/// The label value that stands for anything unexpected.
pub const LABEL_OTHER: &str = "other";

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's recorder handle; `None` when another recorder was installed first.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS_S)
                .ok()?
                // A full match wins over the suffix.
                .set_buckets_for_metric(
                    Matcher::Full(CALLBACK_DELAY.into()),
                    CALLBACK_DELAY_BUCKETS_S,
                )
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .as_ref()
}

/// `[metrics]`: `GET /metrics` is served on the API's address to holders of `token`, or
/// without one on its own address `listen` (an internal network). Neither set: not served.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// A bearer token (at least 32 characters) that `GET /metrics` on the API's address asks
    /// for: `Authorization: Bearer <token>`.
    pub token: Option<crate::config::Secret>,
    /// An address of its own where `GET /metrics` answers without a token.
    pub listen: Option<std::net::SocketAddr>,
}

/// The shortest metrics token.
pub const TOKEN_CHARS_MIN: usize = 32;

impl MetricsConfig {
    /// Checks the values; the error names the key.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if let Some(token) = &self.token
            && token.expose().chars().count() < TOKEN_CHARS_MIN
        {
            return Err((
                "metrics.token",
                format!("must be at least {TOKEN_CHARS_MIN} characters"),
            ));
        }
        Ok(())
    }
}

/// `GET /metrics` on the API's address: the Prometheus text format, for the configured token.
pub async fn render(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    headers: axum::http::HeaderMap,
) -> Result<axum::response::Response, crate::error::ApiError> {
    use subtle::ConstantTimeEq as _;
    let Some(token) = &state.config.metrics.token else {
        let where_ = match state.config.metrics.listen {
            Some(addr) => format!("Metrics are served on their own address ({addr})."),
            None => "Metrics are not served: set `metrics.token` or `metrics.listen`.".into(),
        };
        return Err(crate::error::ApiError::not_found(where_));
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !bool::from(presented.as_bytes().ct_eq(token.expose().as_bytes())) {
        return Err(crate::error::ApiError::unauthenticated(
            "metrics_token_invalid",
            "GET /metrics needs `Authorization: Bearer <metrics.token>`.",
        ));
    }
    Ok(exposition().into_response())
}

/// The Prometheus text format.
fn exposition() -> impl IntoResponse {
    let body = handle().map(PrometheusHandle::render).unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}

/// Serves `GET /metrics` without a token on `listener` until `shutdown` completes.
pub async fn serve_own(
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(|| async { exposition().into_response() }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Counts an HTTP request by route template (`/v1/payouts/{id}`), method and status, and its
/// duration by route.
pub fn http_request(method: &str, route: &str, status: u16, elapsed: Duration) {
    metrics::counter!(
        "cajero_http_requests_total",
        "method" => method.to_string(),
        "route" => route.to_string(),
        "status" => status.to_string()
    )
    .increment(1);
    metrics::histogram!(
        "cajero_http_request_duration_seconds",
        "route" => route.to_string()
    )
    .record(elapsed.as_secs_f64());
}

/// Every [`UPKEEP_INTERVAL_MS`] until the task is aborted: drains histograms and refreshes
/// the gauges read from the database ([`gauges::refresh`]; the first refresh at once).
pub fn spawn_upkeep(state: &crate::AppState) -> tokio::task::JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(UPKEEP_INTERVAL_MS));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Some(handle) = handle() {
                handle.run_upkeep();
            }
            if let Err(error) = gauges::refresh(&state).await {
                tracing::warn!(error = %error, "refreshing the metrics gauges failed");
            }
        }
    })
}

/// Counts a webhook attempt and its latency, per endpoint.
pub fn webhook_attempt(endpoint: &WebhookEndpointId, result: &SendResult) {
    let endpoint = endpoint.to_string();
    let outcome = if result.succeeded() {
        "succeeded"
    } else {
        "failed"
    };
    metrics::counter!(
        "cajero_webhook_deliveries_total",
        "endpoint" => endpoint.clone(),
        "outcome" => outcome
    )
    .increment(1);
    #[allow(clippy::cast_precision_loss)] // milliseconds to seconds for a histogram
    let seconds = result.duration_ms as f64 / 1_000.0;
    metrics::histogram!("cajero_webhook_delivery_duration_seconds", "endpoint" => endpoint)
        .record(seconds);
}

/// `label` when it is a short `[A-Za-z0-9_.-]` word, else [`LABEL_OTHER`]: for label values
/// that come from outside (a network's outcome codes).
fn bounded(label: &str) -> String {
    let plain = !label.is_empty()
        && label.len() <= LABEL_CHARS_MAX
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if plain {
        label.to_owned()
    } else {
        LABEL_OTHER.to_owned()
    }
}

/// The `outcome` values of [`network_create`].
pub mod create_outcome {
    /// The network created the order.
    pub const CREATED: &str = "created";
    /// The network refused it (amount, beneficiary, …): nothing was created.
    pub const REJECTED: &str = "rejected";
    /// The network was unavailable (answered 5xx, or could not be reached): nothing created.
    pub const UNAVAILABLE: &str = "unavailable";
    /// No answer in time: the order may exist (it is looked up by reference).
    pub const TIMEOUT: &str = "timeout";
    /// Not tried: the network's breaker was open, or routing passed it over.
    pub const SKIPPED: &str = "skipped";
    /// An answer that made no sense (counts against the network's health).
    pub const PROTOCOL: &str = "protocol";
}

/// Counts one create at a network through a route (`outcome`: one of [`create_outcome`]), and
/// its duration: `cajero_network_creates_total{network,route,outcome}` and
/// `cajero_network_create_duration_seconds{network,route}`.
pub fn network_create(network: &str, route: &str, outcome: &str, elapsed: Duration) {
    let (network, route) = (bounded(network), bounded(route));
    metrics::counter!(
        "cajero_network_creates_total",
        "network" => network.clone(),
        "route" => route.clone(),
        "outcome" => bounded(outcome)
    )
    .increment(1);
    metrics::histogram!(
        "cajero_network_create_duration_seconds",
        "network" => network,
        "route" => route
    )
    .record(elapsed.as_secs_f64());
}

/// A circuit breaker's state, as the value of `cajero_network_breaker_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerGauge {
    /// Creates go through (0).
    Closed,
    /// A few probes go through to see whether the network is back (1).
    HalfOpen,
    /// Creates skip the network (2).
    Open,
}

impl BreakerGauge {
    /// The gauge's value: 0 closed, 1 half-open, 2 open.
    pub fn value(self) -> f64 {
        match self {
            BreakerGauge::Closed => 0.0,
            BreakerGauge::HalfOpen => 1.0,
            BreakerGauge::Open => 2.0,
        }
    }
}

/// Sets `cajero_network_breaker_state{mode,network,route}` (`mode`: `test` or `live`).
pub fn breaker_state(mode: &str, network: &str, route: &str, state: BreakerGauge) {
    metrics::gauge!(
        "cajero_network_breaker_state",
        "mode" => bounded(mode),
        "network" => bounded(network),
        "route" => bounded(route)
    )
    .set(state.value());
}

/// Records how long after the change at the counter a network's callback reached us:
/// `cajero_network_callback_delay_seconds{network}` (buckets from 1 s to a day).
pub fn callback_delay(network: &str, seconds: f64) {
    metrics::histogram!(CALLBACK_DELAY, "network" => bounded(network)).record(seconds.max(0.0));
}

/// Counts one counter attempt a network reported (`outcome`: the network's code, e.g.
/// `approved`, `counter_out_of_cash`, `document_mismatch`, `system_unavailable`):
/// `cajero_counter_attempts_total{network,outcome}`. No counter id: there are thousands.
pub fn counter_attempt(network: &str, outcome: &str) {
    metrics::counter!(
        "cajero_counter_attempts_total",
        "network" => bounded(network),
        "outcome" => bounded(outcome)
    )
    .increment(1);
}

/// The background jobs whose runs are counted ([`job_run`]).
pub mod job {
    /// Settlement of due pay-ins.
    pub const SETTLEMENT: &str = "settlement";
    /// The daily reconciliation of the networks' files.
    pub const RECONCILIATION: &str = "reconciliation";
    /// The periodic check of the books.
    pub const LEDGER_CHECK: &str = "ledger_check";
}

/// How a job's run ended (the `result` label of `cajero_job_runs_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobResult {
    /// It did its work.
    Succeeded,
    /// It ran and found something wrong (the ledger check's problems).
    Problems,
    /// It failed (an error: database, network).
    Failed,
}

impl JobResult {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            JobResult::Succeeded => "succeeded",
            JobResult::Problems => "problems",
            JobResult::Failed => "failed",
        }
    }
}

/// Counts a run of `job` (one of [`job`]) in `cajero_job_runs_total{job,result}`; a success
/// also sets `cajero_job_last_success_timestamp_seconds{job}` to `now`.
pub fn job_run(job: &'static str, result: JobResult, now: jiff::Timestamp) {
    metrics::counter!("cajero_job_runs_total", "job" => job, "result" => result.as_str())
        .increment(1);
    if result == JobResult::Succeeded {
        #[allow(clippy::cast_precision_loss)] // Unix seconds fit a gauge's f64 exactly
        let seconds = now.as_second() as f64;
        metrics::gauge!("cajero_job_last_success_timestamp_seconds", "job" => job).set(seconds);
    }
}

/// Sets `cajero_ledger_check_problems` to what the last check of the books found.
pub fn ledger_problems(count: usize) {
    #[allow(clippy::cast_precision_loss)] // a count of problems
    metrics::gauge!("cajero_ledger_check_problems").set(count as f64);
}

/// Sets `cajero_reconciliation_unexplained_difference_cop{mode,network,kind}` after an import
/// (`kind`: `collection` or `payout`): the pesos that neither the file, the orders nor the
/// ledger explain for the day imported last.
pub fn reconciliation_difference(mode: &str, network: &str, kind: &str, unexplained_cop: i64) {
    #[allow(clippy::cast_precision_loss)] // pesos far below 2^53
    let value = unexplained_cop as f64;
    metrics::gauge!(
        "cajero_reconciliation_unexplained_difference_cop",
        "mode" => bounded(mode),
        "network" => bounded(network),
        "kind" => bounded(kind)
    )
    .set(value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_from_outside_are_bounded() {
        assert_eq!(bounded("counter_out_of_cash"), "counter_out_of_cash");
        assert_eq!(bounded("sured"), "sured");
        assert_eq!(bounded(""), LABEL_OTHER);
        assert_eq!(bounded("María Pérez"), LABEL_OTHER);
        assert_eq!(bounded(&"x".repeat(LABEL_CHARS_MAX + 1)), LABEL_OTHER);
        assert_eq!(bounded("a\"b"), LABEL_OTHER);
    }

    /// The line of `text` for `name` that has every one of `parts`.
    fn line<'t>(text: &'t str, name: &str, parts: &[&str]) -> Option<&'t str> {
        text.lines()
            .find(|l| l.starts_with(name) && parts.iter().all(|p| l.contains(p)))
    }

    #[test]
    fn the_network_series_render_with_their_labels_and_buckets() {
        let Some(handle) = handle() else {
            panic!("no recorder")
        };
        network_create(
            "sured",
            "sim",
            create_outcome::UNAVAILABLE,
            Duration::from_millis(3),
        );
        breaker_state("live", "sured", "sim", BreakerGauge::Open);
        callback_delay("sured", 42.0);
        counter_attempt("sured", "counter_out_of_cash");
        counter_attempt("sured", "Ana María 1020304050");

        let text = handle.render();

        let created = line(
            &text,
            "cajero_network_creates_total{",
            &[
                "network=\"sured\"",
                "route=\"sim\"",
                "outcome=\"unavailable\"",
            ],
        );
        assert!(created.is_some_and(|l| l.ends_with(" 1")), "{text}");
        assert!(
            line(
                &text,
                "cajero_network_create_duration_seconds_bucket{",
                &["le=\"0.005\""]
            )
            .is_some(),
            "{text}"
        );
        let breaker = line(&text, "cajero_network_breaker_state{", &["mode=\"live\""]);
        assert!(breaker.is_some_and(|l| l.ends_with(" 2")), "{text}");
        let within_a_minute = line(
            &text,
            "cajero_network_callback_delay_seconds_bucket{",
            &["network=\"sured\"", "le=\"60\""],
        );
        assert!(within_a_minute.is_some_and(|l| l.ends_with(" 1")), "{text}");
        assert!(
            line(
                &text,
                "cajero_network_callback_delay_seconds_bucket{",
                &["le=\"86400\""]
            )
            .is_some(),
            "buckets up to a day: {text}"
        );
        assert!(
            line(
                &text,
                "cajero_counter_attempts_total{",
                &["outcome=\"other\""]
            )
            .is_some(),
            "{text}"
        );
        assert!(!text.contains("1020304050"), "{text}");
    }

    #[test]
    fn breaker_states_read_zero_one_two() {
        let values: Vec<f64> = [
            BreakerGauge::Closed,
            BreakerGauge::HalfOpen,
            BreakerGauge::Open,
        ]
        .iter()
        .map(|s| s.value())
        .collect();
        assert_eq!(values, [0.0, 1.0, 2.0]);
    }
}
