//! How each network is doing, measured from real traffic and a periodic probe, and the
//! circuit breaker that lets creates skip a network that is down.
//!
//! Per route to a network (a breaker per `(mode, route, network)`): every create's outcome
//! and latency ([`Health::record_create`]), every probe's ([`Health::record_probe`]), every
//! callback's delay ([`Health::record_callback_delay`]). The state lives in this instance's
//! memory, as a breaker must (it decides in microseconds, on the create path); each instance
//! judges by what it sees and publishes a snapshot to the database
//! ([`crate::workers::probe`]) for the operator (`cajero networks health`). Alerts are
//! de-duplicated in the database, so two instances seeing one outage raise one alert.
//!
//! Counters are judged from the attempts networks report ([`counters`]): a drawer found empty
//! raises `counter_out_of_cash` for that counter.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use cajero_domain::merchant::Mode;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub mod alerting;
pub mod breaker;
pub mod counters;
pub mod signals;

pub use breaker::{BreakerSettings, Permit, State};

use crate::networks::Network;

/// `[health]`: the breaker, the probe and the alert thresholds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthConfig {
    /// The sliding window create outcomes are judged over, seconds.
    pub window_s: u32,
    /// Fewer outcomes than this in the window never open a breaker.
    pub min_requests: u32,
    /// A breaker opens at this failure rate over the window, basis points (5000 = 50 %).
    pub failure_rate_bps: u32,
    /// How long an open breaker waits before letting probes through, seconds.
    pub open_s: u32,
    /// Successes in a row, half-open, that close a breaker.
    pub half_open_successes: u32,
    /// How often each route is probed with a harmless authenticated call, seconds; 0: never
    /// (the next real create is then the half-open probe).
    pub probe_interval_s: u32,
    /// A failure-rate spike (`network_degraded`) below the breaker's threshold, basis points;
    /// it is resolved when the rate falls under half of it.
    pub degraded_failure_rate_bps: u32,
    /// The poller finding a change no callback announced, this long after it happened, raises
    /// `callbacks_late` for the network, seconds.
    pub callback_late_s: u32,
    /// Failed counter attempts the network blames on itself (`system_unavailable`) at one
    /// counter within `counter_window_s` that raise `counter_failure_spike`.
    pub counter_failures_max: u32,
    /// The counter window, seconds.
    pub counter_window_s: u32,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            window_s: 60,
            min_requests: 10,
            failure_rate_bps: 5_000,
            open_s: 30,
            half_open_successes: 2,
            probe_interval_s: 30,
            degraded_failure_rate_bps: 2_000,
            callback_late_s: 900,
            counter_failures_max: 3,
            counter_window_s: 900,
        }
    }
}

impl HealthConfig {
    /// Checks the values; the error names the key.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let positive = [
            ("health.window_s", self.window_s),
            ("health.min_requests", self.min_requests),
            ("health.open_s", self.open_s),
            ("health.half_open_successes", self.half_open_successes),
            ("health.callback_late_s", self.callback_late_s),
            ("health.counter_failures_max", self.counter_failures_max),
            ("health.counter_window_s", self.counter_window_s),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err((key, "must be at least 1".into()));
            }
        }
        for (key, value) in [
            ("health.failure_rate_bps", self.failure_rate_bps),
            (
                "health.degraded_failure_rate_bps",
                self.degraded_failure_rate_bps,
            ),
        ] {
            if !(1..=10_000).contains(&value) {
                return Err((key, "must be between 1 and 10000 basis points".into()));
            }
        }
        if self.degraded_failure_rate_bps > self.failure_rate_bps {
            return Err((
                "health.degraded_failure_rate_bps",
                "must not exceed health.failure_rate_bps (a spike is below an outage)".into(),
            ));
        }
        if self.window_s > 3_600 || self.open_s > 3_600 {
            return Err((
                "health.window_s",
                "window_s and open_s must be at most 3600".into(),
            ));
        }
        Ok(())
    }

    fn breaker(&self) -> BreakerSettings {
        BreakerSettings {
            window_ms: i64::from(self.window_s) * 1_000,
            min_requests: self.min_requests,
            failure_rate_bps: self.failure_rate_bps,
            open_ms: i64::from(self.open_s) * 1_000,
            half_open_successes: self.half_open_successes,
            // A probe gets as long as the slowest create may take before another goes.
            probe_timeout_ms: 30_000,
        }
    }
}

/// How a create (or probe) ended, as far as the network's health goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The network created the order.
    Created,
    /// The network refused it for good: it is up, the request was not to its liking.
    Rejected,
    /// Down, 5xx, or nothing created.
    Unavailable,
    /// No answer in time.
    Timeout,
    /// An answer that made no sense.
    Protocol,
    /// Not called: its breaker was open.
    Skipped,
}

impl Outcome {
    /// The outcome of a connector's error.
    pub fn of(error: &cajero_connect::ConnectError) -> Outcome {
        use cajero_connect::ConnectError as E;
        match error {
            E::Rejected { .. } | E::NotFound | E::NotCancelable => Outcome::Rejected,
            E::Unavailable(_) => Outcome::Unavailable,
            E::Timeout => Outcome::Timeout,
            E::Protocol(_) => Outcome::Protocol,
        }
    }

    /// Whether it counts against the network.
    pub fn failed(self) -> bool {
        matches!(
            self,
            Outcome::Unavailable | Outcome::Timeout | Outcome::Protocol
        )
    }

    /// For metrics and logs: `created`, `rejected`, `unavailable`, `timeout`, `protocol`,
    /// `skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Rejected => "rejected",
            Outcome::Unavailable => "unavailable",
            Outcome::Timeout => "timeout",
            Outcome::Protocol => "protocol",
            Outcome::Skipped => "skipped",
        }
    }
}

/// A route to a network, as health knows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteKey {
    /// Test or live.
    pub mode: Mode,
    /// The route's name.
    pub route: String,
    /// The cash network.
    pub network: String,
}

impl RouteKey {
    /// The key of `network`.
    pub fn of(network: &Network) -> RouteKey {
        RouteKey {
            mode: network.mode,
            route: network.route.clone(),
            network: network.code.clone(),
        }
    }

    /// What alerts name it by: the network's code, with the route when it is not the
    /// simulator (`dlocal/efecty`).
    pub fn subject(&self) -> String {
        if self.route == crate::networks::SIMULATOR_ROUTE {
            self.network.clone()
        } else {
            format!("{}/{}", self.route, self.network)
        }
    }
}

/// Samples kept per route for latency percentiles.
const LATENCY_SAMPLES_MAX: usize = 1_024;

/// One route's health.
#[derive(Debug)]
struct RouteHealth {
    breaker: breaker::Breaker,
    /// (at ms, latency ms) of answered calls, oldest first.
    latency: VecDeque<(i64, u32)>,
    /// (at ms, delay s) of callbacks, oldest first.
    callback_delay: VecDeque<(i64, u32)>,
    /// A `network_degraded` alert is up (hysteresis).
    degraded: bool,
    last_error: Option<String>,
    probed_at: Option<Timestamp>,
    created: u64,
    failed: u64,
    /// When a timely callback last looked for an open `callbacks_late` alert.
    late_checked_ms: Option<i64>,
}

/// How often a timely callback looks for an open `callbacks_late` alert to resolve.
const LATE_CHECK_EVERY_MS: i64 = 60_000;

/// Every route's health on this instance.
#[derive(Debug)]
pub struct Health {
    config: HealthConfig,
    routes: Mutex<HashMap<RouteKey, RouteHealth>>,
}

impl Default for Health {
    fn default() -> Self {
        Health::new(HealthConfig::default())
    }
}

/// Where a route stands now ([`Health::snapshot`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteSnapshot {
    /// Which route.
    pub mode: Mode,
    /// The route's name.
    pub route: String,
    /// The cash network.
    pub network: String,
    /// The breaker.
    pub state: State,
    /// Since when.
    pub since: Timestamp,
    /// Outcomes in the window, and failures among them.
    pub window_requests: u32,
    /// Failures in the window.
    pub window_failures: u32,
    /// Latency percentiles of answered calls in the window, ms.
    pub latency_ms: Percentiles,
    /// Callback delay percentiles in the window, seconds.
    pub callback_delay_s: Percentiles,
    /// The last failure's message.
    pub last_error: Option<String>,
    /// When it was last probed.
    pub probed_at: Option<Timestamp>,
    /// Orders created through it since this instance started.
    pub created_total: u64,
    /// Failed calls since this instance started.
    pub failed_total: u64,
}

/// p50, p95, p99 of a window's samples; `None` without samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50: Option<u32>,
    /// 95th.
    pub p95: Option<u32>,
    /// 99th.
    pub p99: Option<u32>,
}

impl Percentiles {
    fn of(samples: &VecDeque<(i64, u32)>, since_ms: i64) -> Percentiles {
        let mut values: Vec<u32> = samples
            .iter()
            .filter(|(at, _)| *at >= since_ms)
            .map(|(_, v)| *v)
            .collect();
        if values.is_empty() {
            return Percentiles::default();
        }
        values.sort_unstable();
        let at =
            |per_mille: usize| values[(values.len() * per_mille / 1_000).min(values.len() - 1)];
        Percentiles {
            p50: Some(at(500)),
            p95: Some(at(950)),
            p99: Some(at(990)),
        }
    }
}

fn ms(at: Timestamp) -> i64 {
    at.as_millisecond()
}

fn push_sample(samples: &mut VecDeque<(i64, u32)>, at_ms: i64, value: u32) {
    if samples.len() == LATENCY_SAMPLES_MAX {
        samples.pop_front();
    }
    samples.push_back((at_ms, value));
}

impl Health {
    /// Empty: every breaker closed.
    pub fn new(config: HealthConfig) -> Health {
        Health {
            config,
            routes: Mutex::new(HashMap::new()),
        }
    }

    /// The settings.
    pub fn config(&self) -> &HealthConfig {
        &self.config
    }

    fn with<T>(&self, key: RouteKey, now: Timestamp, f: impl FnOnce(&mut RouteHealth) -> T) -> T {
        let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        let route = routes.entry(key).or_insert_with(|| RouteHealth {
            breaker: breaker::Breaker::new(self.config.breaker(), ms(now)),
            latency: VecDeque::new(),
            callback_delay: VecDeque::new(),
            degraded: false,
            last_error: None,
            probed_at: None,
            created: 0,
            failed: 0,
            late_checked_ms: None,
        });
        f(route)
    }

    /// Whether a create may call `network` now; a half-open breaker hands out one probe at a
    /// time.
    pub fn permit(&self, network: &Network, now: Timestamp) -> Permit {
        self.with(RouteKey::of(network), now, |r| r.breaker.permit(ms(now)))
    }

    /// The breaker's state without taking a probe (routing ranks by it).
    pub fn state(&self, network: &Network, now: Timestamp) -> State {
        self.with(RouteKey::of(network), now, |r| r.breaker.state(ms(now)))
    }

    /// Since when the breaker of `network` has been in its state.
    pub fn since(&self, network: &Network, now: Timestamp) -> Timestamp {
        self.with(RouteKey::of(network), now, |r| {
            r.breaker.state(ms(now));
            Timestamp::from_millisecond(r.breaker.since_ms()).unwrap_or(now)
        })
    }

    /// Counts a create's outcome; returns what it changed (for alerts).
    pub fn record_create(
        &self,
        network: &Network,
        now: Timestamp,
        outcome: Outcome,
        elapsed: Duration,
        error: Option<&str>,
    ) -> Vec<signals::Signal> {
        crate::metrics::network_create(&network.code, &network.route, outcome.as_str(), elapsed);
        if outcome == Outcome::Skipped {
            return Vec::new();
        }
        self.record(RouteKey::of(network), now, outcome, elapsed, error)
    }

    /// Counts a probe's outcome (a failed probe counts like a failed create).
    pub fn record_probe(
        &self,
        key: RouteKey,
        now: Timestamp,
        result: Result<(), &cajero_connect::ConnectError>,
        elapsed: Duration,
    ) -> Vec<signals::Signal> {
        let (outcome, error) = match result {
            Ok(()) => (Outcome::Created, None),
            Err(e) => (Outcome::of(e), Some(e.to_string())),
        };
        self.with(key.clone(), now, |r| r.probed_at = Some(now));
        self.record(key, now, outcome, elapsed, error.as_deref())
    }

    fn record(
        &self,
        key: RouteKey,
        now: Timestamp,
        outcome: Outcome,
        elapsed: Duration,
        error: Option<&str>,
    ) -> Vec<signals::Signal> {
        let degraded_bps = self.config.degraded_failure_rate_bps;
        let min_requests = self.config.min_requests;
        let (signals, state) = self.with(key.clone(), now, |r| {
            let at = ms(now);
            let failed = outcome.failed();
            if failed {
                r.failed += 1;
                r.last_error = error.map(|e| e.chars().take(300).collect());
            } else {
                push_sample(
                    &mut r.latency,
                    at,
                    u32::try_from(elapsed.as_millis()).unwrap_or(u32::MAX),
                );
                if outcome == Outcome::Created {
                    r.created += 1;
                }
            }
            let mut out = Vec::new();
            if let Some(t) = r.breaker.record(at, failed) {
                out.push(signals::Signal::Breaker {
                    key: key.clone(),
                    transition: t,
                    last_error: r.last_error.clone(),
                });
            }
            let counts = r.breaker.counts(at);
            let state = r.breaker.state(at);
            if let Some(rate) = counts.failure_rate_bps()
                && state == State::Closed
            {
                if !r.degraded && counts.requests >= min_requests && rate >= degraded_bps {
                    r.degraded = true;
                    out.push(signals::Signal::Degraded {
                        key: key.clone(),
                        counts,
                        on: true,
                    });
                } else if r.degraded && rate < degraded_bps / 2 {
                    r.degraded = false;
                    out.push(signals::Signal::Degraded {
                        key: key.clone(),
                        counts,
                        on: false,
                    });
                }
            }
            (out, state)
        });
        crate::metrics::breaker_state(
            key.mode.as_str(),
            &key.network,
            &key.route,
            signals::gauge(state),
        );
        signals
    }

    /// Counts how long a network took to call back about a change. Returns true when a
    /// callback `in_time` should look whether a `callbacks_late` alert is open (at most once a
    /// minute per route).
    pub fn record_callback_delay(
        &self,
        key: RouteKey,
        now: Timestamp,
        delay: Duration,
        in_time: bool,
    ) -> bool {
        crate::metrics::callback_delay(&key.network, delay.as_secs_f64());
        let seconds = u32::try_from(delay.as_secs()).unwrap_or(u32::MAX);
        self.with(key, now, |r| {
            push_sample(&mut r.callback_delay, ms(now), seconds);
            let look = in_time
                && r.late_checked_ms
                    .is_none_or(|at| ms(now) - at >= LATE_CHECK_EVERY_MS);
            if look {
                r.late_checked_ms = Some(ms(now));
            }
            look
        })
    }

    /// Every route seen so far, sorted.
    pub fn snapshot(&self, now: Timestamp) -> Vec<RouteSnapshot> {
        let window_start = ms(now) - i64::from(self.config.window_s) * 1_000;
        let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        let mut all: Vec<RouteSnapshot> = routes
            .iter_mut()
            .map(|(key, r)| {
                let counts = r.breaker.counts(ms(now));
                let state = r.breaker.state(ms(now));
                RouteSnapshot {
                    mode: key.mode,
                    route: key.route.clone(),
                    network: key.network.clone(),
                    state,
                    since: Timestamp::from_millisecond(r.breaker.since_ms()).unwrap_or(now),
                    window_requests: counts.requests,
                    window_failures: counts.failures,
                    latency_ms: Percentiles::of(&r.latency, window_start),
                    callback_delay_s: Percentiles::of(&r.callback_delay, window_start),
                    last_error: r.last_error.clone(),
                    probed_at: r.probed_at,
                    created_total: r.created,
                    failed_total: r.failed,
                }
            })
            .collect();
        all.sort_by(|a, b| (a.mode, &a.route, &a.network).cmp(&(b.mode, &b.route, &b.network)));
        all
    }
}

/// How long a published snapshot counts as current ([`published`]): an instance that stopped
/// publishing that long ago is gone or stuck.
pub const PUBLISHED_FRESH_S: i64 = 300;

/// The snapshots every instance published in the last [`PUBLISHED_FRESH_S`] seconds, by
/// mode, route, network and instance (`cajero networks health`, the dashboard).
pub async fn published(
    state: &crate::AppState,
) -> Result<Vec<cajero_store::network_health::HealthRow>, cajero_store::StoreError> {
    let now = state.clock.now();
    let since = now
        .checked_sub(jiff::SignedDuration::from_secs(PUBLISHED_FRESH_S))
        .unwrap_or(now);
    state
        .store
        .read(move |mut c| {
            Box::pin(async move { cajero_store::network_health::list(&mut c, since).await })
        })
        .await
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::networks::Networks;

    fn sured() -> (Networks, Network) {
        let networks = Networks::simulator("http://127.0.0.1:9", "m", "s", "http://127.0.0.1:9")
            .unwrap()
            .with_health(HealthConfig {
                min_requests: 10,
                ..HealthConfig::default()
            });
        let sured = networks
            .all()
            .into_iter()
            .find(|n| n.code == "sured")
            .unwrap();
        (networks, sured)
    }

    #[test]
    fn a_failure_rate_spike_below_the_breakers_is_raised_once_and_ends_under_half_of_it() {
        let (networks, net) = sured();
        let health = networks.health();
        let t0 = Timestamp::from_second(1_764_000_000).unwrap();
        let at = |s: i64| t0.checked_add(jiff::SignedDuration::from_secs(s)).unwrap();
        let record = |s: i64, outcome: Outcome| {
            health.record_create(&net, at(s), outcome, Duration::from_millis(5), Some("down"))
        };
        // 8 good, 2 failed: 20 % over 10 calls, the spike threshold; the breaker stays closed.
        for s in 0..8 {
            assert!(record(s, Outcome::Created).is_empty());
        }
        assert!(record(8, Outcome::Unavailable).is_empty());
        let spike = record(9, Outcome::Timeout);
        assert!(
            matches!(&spike[..], [signals::Signal::Degraded { on: true, counts, .. }] if counts.failures == 2),
            "{spike:?}"
        );
        assert_eq!(health.state(&net, at(9)), State::Closed);
        // A refusal is an answer, not a failure; more failures do not raise it again.
        assert!(record(10, Outcome::Rejected).is_empty());
        assert!(record(11, Outcome::Unavailable).is_empty());
        // Good calls dilute it: at 3 of 31 (9.7 %) it is under half the threshold: over.
        let mut over = Vec::new();
        for s in 12..32 {
            over.extend(record(s, Outcome::Created));
        }
        assert!(
            matches!(&over[..], [signals::Signal::Degraded { on: false, .. }]),
            "{over:?}"
        );
        let snapshot = health.snapshot(at(32));
        let sured = snapshot.iter().find(|r| r.network == "sured").unwrap();
        assert_eq!((sured.state, sured.failed_total), (State::Closed, 3));
        assert_eq!(sured.latency_ms.p50, Some(5));
    }
}
