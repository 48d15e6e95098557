//! Network health as alerts: `network_down` / recovered from the breakers, `network_degraded`
//! from failure-rate spikes, `callbacks_late` from the poller. Platform-wide alerts (no
//! merchant): the alerts service tells the merchants concerned and the operator, and keeps one
//! open alert per network however many instances notice.

use std::time::Duration;

use cajero_store::StoreError;
use jiff::Timestamp;
use serde_json::json;

use super::signals::Signal;
use super::{RouteKey, State};
use crate::AppState;
use crate::alerts::{self, AlertSpec, Severity, codes};

/// The name merchants know a network by (`SuRed`), with the route when not the simulator's.
pub fn display(key: &RouteKey) -> String {
    let name = cajero_domain::network::spec(&key.network)
        .map_or(key.network.as_str(), |s| s.display_name)
        .to_string();
    if key.route == crate::networks::SIMULATOR_ROUTE {
        name
    } else {
        format!("{name} (through {})", key.route)
    }
}

fn window(config: &super::HealthConfig, requests: u32, failures: u32) -> String {
    format!(
        "{failures} of {requests} calls failed in the last {} s",
        config.window_s
    )
}

/// Raises or resolves the alerts `signals` call for, in the background.
pub fn publish(state: &AppState, signals: Vec<Signal>) {
    let config = state.networks.health().config().clone();
    let (store, clock) = (state.store.clone(), state.clock.clone());
    tokio::spawn(async move {
        let written = store
            .write(move |mut c| {
                Box::pin(async move {
                    let now = clock.now();
                    for signal in &signals {
                        apply(&mut c, now, &config, signal).await?;
                    }
                    Ok::<_, StoreError>(())
                })
            })
            .await;
        if let Err(error) = written {
            tracing::error!(%error, "could not record a network health alert");
        }
    });
}

async fn apply(
    c: &mut cajero_store::Conn<'_>,
    now: Timestamp,
    config: &super::HealthConfig,
    signal: &Signal,
) -> Result<(), StoreError> {
    match signal {
        Signal::Breaker {
            key,
            transition,
            last_error,
        } => match transition.to {
            State::Open if transition.from == State::Closed => {
                let name = display(key);
                alerts::raise(
                    c,
                    now,
                    AlertSpec {
                        mode: key.mode,
                        code: codes::NETWORK_DOWN,
                        subject: key.subject(),
                        merchant: None,
                        severity: Severity::Critical,
                        message: format!(
                            "{name} is down ({}); new orders go to other networks until it recovers.",
                            window(config, transition.window.requests, transition.window.failures)
                        ),
                        details: json!({
                            "network": key.network,
                            "route": key.route,
                            "window_s": config.window_s,
                            "window_requests": transition.window.requests,
                            "window_failures": transition.window.failures,
                            "last_error": last_error,
                        }),
                    },
                )
                .await?;
            }
            State::Closed => {
                alerts::resolve(
                    c,
                    now,
                    key.mode,
                    codes::NETWORK_DOWN,
                    &key.subject(),
                    None,
                    &format!("{} recovered: its probes succeed again.", display(key)),
                )
                .await?;
            }
            // Half-open, or open again after a failed probe: the alert stays as it is.
            _ => {}
        },
        Signal::Degraded { key, counts, on } => {
            if *on {
                alerts::raise(
                    c,
                    now,
                    AlertSpec {
                        mode: key.mode,
                        code: codes::NETWORK_DEGRADED,
                        subject: key.subject(),
                        merchant: None,
                        severity: Severity::Warning,
                        message: format!(
                            "{} is failing more than usual ({}).",
                            display(key),
                            window(config, counts.requests, counts.failures)
                        ),
                        details: json!({
                            "network": key.network,
                            "route": key.route,
                            "window_requests": counts.requests,
                            "window_failures": counts.failures,
                        }),
                    },
                )
                .await?;
            } else {
                alerts::resolve(
                    c,
                    now,
                    key.mode,
                    codes::NETWORK_DEGRADED,
                    &key.subject(),
                    None,
                    &format!("{} fails no more than usual.", display(key)),
                )
                .await?;
            }
        }
    }
    Ok(())
}

/// The poller found `late` orders of `key` paid or collected at the network with no callback
/// for longer than `health.callback_late_s`: raises `callbacks_late` (in the poller's unit).
pub async fn callbacks_late(
    c: &mut cajero_store::Conn<'_>,
    now: Timestamp,
    key: &RouteKey,
    late_by: Duration,
) -> Result<(), StoreError> {
    alerts::raise(
        c,
        now,
        AlertSpec {
            mode: key.mode,
            code: codes::CALLBACKS_LATE,
            subject: key.subject(),
            merchant: None,
            severity: Severity::Warning,
            message: format!(
                "{} did not call back about a payment it recorded {} min ago; cajero found it by asking.",
                display(key),
                late_by.as_secs() / 60
            ),
            details: json!({
                "network": key.network,
                "route": key.route,
                "late_by_s": late_by.as_secs(),
            }),
        },
    )
    .await?;
    Ok(())
}

/// A callback came in time: resolves `callbacks_late` for `key` (in the background).
pub fn callbacks_on_time(state: &AppState, key: RouteKey) {
    let (store, clock) = (state.store.clone(), state.clock.clone());
    tokio::spawn(async move {
        let written = store
            .write(move |mut c| {
                Box::pin(async move {
                    let message = format!("{} calls back in time again.", display(&key));
                    alerts::resolve(
                        &mut c,
                        clock.now(),
                        key.mode,
                        codes::CALLBACKS_LATE,
                        &key.subject(),
                        None,
                        &message,
                    )
                    .await
                })
            })
            .await;
        if let Err(error) = written {
            tracing::error!(%error, "could not resolve a callbacks_late alert");
        }
    });
}
