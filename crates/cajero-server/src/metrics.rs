//! Prometheus metrics on `GET /metrics`.
//!
//! One process-wide recorder (the `metrics` facade allows one), installed on first use so that
//! several servers in one test process share it. Histograms get fixed buckets; upkeep (which
//! drains histogram samples) runs on a timer started by the server.

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

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's recorder handle; `None` when another recorder was installed first.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS_S)
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

/// Drains histograms every [`UPKEEP_INTERVAL_MS`] until the task is aborted.
pub fn spawn_upkeep() -> tokio::task::JoinHandle<()> {
    tokio::spawn(async {
        let mut tick = tokio::time::interval(Duration::from_millis(UPKEEP_INTERVAL_MS));
        loop {
            tick.tick().await;
            if let Some(handle) = handle() {
                handle.run_upkeep();
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

/// A create at a network: `outcome` is `created`, `rejected`, `unavailable`, `timeout`,
/// `protocol` or `skipped` (its breaker was open).
pub fn network_create(network: &str, route: &str, outcome: &str, elapsed: Duration) {
    metrics::counter!(
        "cajero_network_creates_total",
        "network" => network.to_string(),
        "route" => route.to_string(),
        "outcome" => outcome.to_string()
    )
    .increment(1);
    if outcome != "skipped" {
        metrics::histogram!(
            "cajero_network_create_duration_seconds",
            "network" => network.to_string(),
            "route" => route.to_string()
        )
        .record(elapsed.as_secs_f64());
    }
}

/// A route's circuit breaker: 0 closed, 1 half-open, 2 open.
pub fn breaker_state(mode: &str, network: &str, route: &str, state: i64) {
    metrics::gauge!(
        "cajero_network_breaker_state",
        "mode" => mode.to_string(),
        "network" => network.to_string(),
        "route" => route.to_string()
    )
    .set(state as f64);
}

/// How long after a payment or collection its callback came.
pub fn callback_delay(network: &str, seconds: f64) {
    metrics::histogram!("cajero_network_callback_delay_seconds", "network" => network.to_string())
        .record(seconds);
}

/// A counter attempt a network reported (no counter label: unbounded).
pub fn counter_attempt(network: &str, outcome: &str) {
    metrics::counter!(
        "cajero_counter_attempts_total",
        "network" => network.to_string(),
        "outcome" => outcome.to_string()
    )
    .increment(1);
}
