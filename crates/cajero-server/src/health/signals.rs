//! What a change in a network's health tells the operator and the merchants: a breaker that
//! opens raises `network_down`, one that closes resolves it; a failure rate above
//! `health.degraded_failure_rate_bps` (breaker still closed) raises `network_degraded`.

use super::RouteKey;
use super::breaker::{State, Transition, WindowCounts};
use crate::AppState;

/// A change worth telling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    /// A breaker changed state.
    Breaker {
        /// Which route.
        key: RouteKey,
        /// From, to, and the window that decided.
        transition: Transition,
        /// The last failure's message.
        last_error: Option<String>,
    },
    /// A failure-rate spike began (`on`) or ended.
    Degraded {
        /// Which route.
        key: RouteKey,
        /// The window.
        counts: WindowCounts,
        /// Began or ended.
        on: bool,
    },
}

/// The breaker gauge's value for `state`.
pub fn gauge(state: State) -> crate::metrics::BreakerGauge {
    match state {
        State::Closed => crate::metrics::BreakerGauge::Closed,
        State::HalfOpen => crate::metrics::BreakerGauge::HalfOpen,
        State::Open => crate::metrics::BreakerGauge::Open,
    }
}

fn rate(counts: &WindowCounts) -> String {
    let bps = counts.failure_rate_bps().unwrap_or(0);
    format!(
        "{} of {} calls failed ({}.{:02} %)",
        counts.failures,
        counts.requests,
        bps / 100,
        bps % 100
    )
}

/// Logs `signals` and raises or resolves their alerts, in a unit of work of its own started
/// in the background (the create that noticed does not wait for it).
pub fn publish(state: &AppState, signals: Vec<Signal>) {
    if signals.is_empty() {
        return;
    }
    for signal in &signals {
        match signal {
            Signal::Breaker {
                key,
                transition,
                last_error,
            } => match transition.to {
                State::Open => tracing::error!(
                    network = %key.network, route = %key.route, mode = %key.mode,
                    window = %rate(&transition.window), last_error = last_error.as_deref().unwrap_or(""),
                    "ALERT network_down: circuit open, creates skip this network"
                ),
                State::HalfOpen => tracing::info!(
                    network = %key.network, route = %key.route, mode = %key.mode,
                    "circuit half-open: probing"
                ),
                State::Closed => tracing::warn!(
                    network = %key.network, route = %key.route, mode = %key.mode,
                    "network recovered: circuit closed"
                ),
            },
            Signal::Degraded { key, counts, on } => {
                if *on {
                    tracing::warn!(network = %key.network, route = %key.route, mode = %key.mode, window = %rate(counts), "ALERT network_degraded: failure-rate spike");
                } else {
                    tracing::info!(network = %key.network, route = %key.route, mode = %key.mode, window = %rate(counts), "failure-rate spike over");
                }
            }
        }
    }
    super::alerting::publish(state, signals);
}
