//! Probes every route to every network with a harmless authenticated call, and publishes this
//! instance's view of their health.
//!
//! Every `health.probe_interval_s`: each route whose breaker lets a call through (closed, or
//! half-open with no probe out) is asked [`cajero_connect::Connector::probe`] for that
//! network; the outcome counts like a create's, so a half-open breaker closes after
//! `health.half_open_successes` good probes even when no order comes. A route whose breaker is
//! open and still waiting is left alone. Then the snapshot of every route is written to
//! `network_health` (`cajero networks health`). With `probe_interval_s = 0` nothing is probed
//! (the next real create is the half-open probe) and the snapshot is published every 30 s.

use std::time::{Duration, Instant};

use cajero_store::network_health::{self, HealthRow};

use crate::AppState;
use crate::health::{Permit, RouteKey};

/// How often the snapshot is published when probing is off.
const PUBLISH_EVERY_S: u64 = 30;

/// The probe.
#[derive(Debug)]
pub struct ProbeWorker {
    /// Shared state.
    pub state: AppState,
}

/// Sleeps between rounds.
pub fn pacing(state: &AppState) -> super::LoopPacing {
    let every = match state.networks.health().config().probe_interval_s {
        0 => PUBLISH_EVERY_S,
        s => u64::from(s),
    };
    super::LoopPacing {
        idle_sleep: Duration::from_secs(every),
        error_backoff: Duration::from_secs(every),
    }
}

impl super::Worker for ProbeWorker {
    fn name(&self) -> &'static str {
        "probe"
    }

    async fn step(&self) -> anyhow::Result<usize> {
        if self.state.networks.health().config().probe_interval_s > 0 {
            probe_once(&self.state).await;
        }
        publish(&self.state).await?;
        Ok(0)
    }
}

/// Probes each route its breaker lets through; returns how many were probed.
pub async fn probe_once(state: &AppState) -> usize {
    let health = state.networks.health();
    let mut probed = 0;
    for network in state.networks.all() {
        if let Permit::Reject { .. } = health.permit(&network, state.clock.now()) {
            continue;
        }
        let started = Instant::now();
        let exchange = network.connector.probe(&network.code).await;
        let signals = health.record_probe(
            RouteKey::of(&network),
            state.clock.now(),
            exchange.result.as_ref().map(|_| ()),
            started.elapsed(),
        );
        crate::health::signals::publish(state, signals);
        probed += 1;
    }
    probed
}

/// Writes this instance's snapshot of every route it has seen.
pub async fn publish(state: &AppState) -> anyhow::Result<()> {
    let now = state.clock.now();
    let instance = state.instance.id().to_string();
    let rows: Vec<HealthRow> = state
        .networks
        .health()
        .snapshot(now)
        .into_iter()
        .map(|s| HealthRow {
            instance_id: instance.clone(),
            livemode: s.mode.is_live(),
            route: s.route,
            network: s.network,
            state: s.state.as_str().to_string(),
            since: s.since,
            window_requests: i64::from(s.window_requests),
            window_failures: i64::from(s.window_failures),
            latency_ms: [s.latency_ms.p50, s.latency_ms.p95, s.latency_ms.p99]
                .map(|v| v.map(i64::from)),
            callback_delay_s: [s.callback_delay_s.p50, s.callback_delay_s.p95]
                .map(|v| v.map(i64::from)),
            last_error: s.last_error,
            probed_at: s.probed_at,
            created_total: i64::try_from(s.created_total).unwrap_or(i64::MAX),
            failed_total: i64::try_from(s.failed_total).unwrap_or(i64::MAX),
            updated_at: now,
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                for row in &rows {
                    network_health::upsert(&mut c, row).await?;
                }
                Ok::<_, cajero_store::StoreError>(())
            })
        })
        .await?;
    Ok(())
}
