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

/// `GET /metrics`: the Prometheus text format.
pub async fn render() -> impl IntoResponse {
    let body = handle().map(PrometheusHandle::render).unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
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
