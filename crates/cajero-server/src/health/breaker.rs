//! A circuit breaker and the rolling window it decides on, for one route to one network.
//!
//! Closed: every create goes through and its outcome is counted over a sliding window. When
//! at least `min_requests` outcomes in the window fail at `failure_rate_bps` or more, the
//! breaker opens: creates skip the network at once instead of waiting for its timeout. After
//! `open_s` it lets probes through (half-open: a periodic probe or the next real create, one
//! at a time); `half_open_successes` successes in a row close it, one failure opens it again.
//!
//! Pure: time comes in as milliseconds, nothing here sleeps or does I/O.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// The breaker's settings (`[health]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// The sliding window outcomes are counted over.
    pub window_ms: i64,
    /// Fewer outcomes than this in the window never open the breaker.
    pub min_requests: u32,
    /// The failure rate, in basis points, at which it opens.
    pub failure_rate_bps: u32,
    /// How long it stays open before letting probes through.
    pub open_ms: i64,
    /// Successes in a row, half-open, that close it.
    pub half_open_successes: u32,
    /// How long one half-open probe may be outstanding before another is let through (a
    /// probe whose outcome never came, e.g. a request cut off, must not wedge the breaker).
    pub probe_timeout_ms: i64,
}

/// Where a breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Traffic flows.
    Closed,
    /// Traffic skips the network.
    Open,
    /// Probes go through; the rest still skips.
    HalfOpen,
}

impl State {
    /// `closed`, `open`, `half_open`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half_open",
        }
    }
}

/// Whether a create may call the network now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permit {
    /// Closed: go.
    Allow,
    /// Half-open: go, as the probe.
    Probe,
    /// Open (or half-open with its probe out): skip this network.
    Reject {
        /// When it opened.
        since_ms: i64,
    },
}

/// A change of state, for alerts, metrics and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// Before.
    pub from: State,
    /// After.
    pub to: State,
    /// The window when it changed: why.
    pub window: WindowCounts,
}

/// What the window holds now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WindowCounts {
    /// Outcomes counted.
    pub requests: u32,
    /// Of which failures.
    pub failures: u32,
}

impl WindowCounts {
    /// Failures per 10,000 outcomes; `None` with no outcome.
    pub fn failure_rate_bps(&self) -> Option<u32> {
        (self.requests > 0).then(|| {
            u32::try_from(u64::from(self.failures) * 10_000 / u64::from(self.requests))
                .unwrap_or(10_000)
        })
    }
}

/// One route's breaker.
#[derive(Debug, Clone)]
pub struct Breaker {
    settings: BreakerSettings,
    state: State,
    /// When the current state began.
    since_ms: i64,
    /// (at, failed), oldest first, within the window.
    window: VecDeque<(i64, bool)>,
    failures: u32,
    /// Half-open: successes in a row so far, and when the outstanding probe went out.
    probe_successes: u32,
    probe_out_ms: Option<i64>,
}

/// The most outcomes a window keeps; older ones are dropped first (at high rates the window
/// is then shorter than configured, which still measures the recent rate).
pub const WINDOW_OUTCOMES_MAX: usize = 4_096;

impl Breaker {
    /// A closed breaker.
    pub fn new(settings: BreakerSettings, now_ms: i64) -> Breaker {
        Breaker {
            settings,
            state: State::Closed,
            since_ms: now_ms,
            window: VecDeque::new(),
            failures: 0,
            probe_successes: 0,
            probe_out_ms: None,
        }
    }

    /// Where it stands, moving an open breaker whose wait is over to half-open first.
    pub fn state(&mut self, now_ms: i64) -> State {
        if self.state == State::Open && now_ms - self.since_ms >= self.settings.open_ms {
            self.state = State::HalfOpen;
            self.since_ms = now_ms;
            self.probe_successes = 0;
            self.probe_out_ms = None;
        }
        self.state
    }

    /// When the current state began.
    pub fn since_ms(&self) -> i64 {
        self.since_ms
    }

    /// The window's counts now.
    pub fn counts(&mut self, now_ms: i64) -> WindowCounts {
        self.expire(now_ms);
        WindowCounts {
            requests: u32::try_from(self.window.len()).unwrap_or(u32::MAX),
            failures: self.failures,
        }
    }

    /// Whether a create may go now; a half-open breaker lets one probe out at a time.
    pub fn permit(&mut self, now_ms: i64) -> Permit {
        match self.state(now_ms) {
            State::Closed => Permit::Allow,
            State::Open => Permit::Reject {
                since_ms: self.since_ms,
            },
            State::HalfOpen => match self.probe_out_ms {
                Some(out) if now_ms - out < self.settings.probe_timeout_ms => Permit::Reject {
                    since_ms: self.since_ms,
                },
                _ => {
                    self.probe_out_ms = Some(now_ms);
                    Permit::Probe
                }
            },
        }
    }

    /// Counts an outcome (a create, or a probe); returns the change of state it caused.
    pub fn record(&mut self, now_ms: i64, failed: bool) -> Option<Transition> {
        self.expire(now_ms);
        if self.window.len() == WINDOW_OUTCOMES_MAX
            && let Some((_, old_failed)) = self.window.pop_front()
            && old_failed
        {
            self.failures -= 1;
        }
        self.window.push_back((now_ms, failed));
        if failed {
            self.failures += 1;
        }
        let from = self.state(now_ms);
        let to = match from {
            State::Closed => {
                let counts = self.counts(now_ms);
                let opens = counts.requests >= self.settings.min_requests
                    && counts
                        .failure_rate_bps()
                        .is_some_and(|r| r >= self.settings.failure_rate_bps);
                if opens { State::Open } else { State::Closed }
            }
            State::HalfOpen if failed => State::Open,
            State::HalfOpen => {
                self.probe_successes += 1;
                self.probe_out_ms = None;
                if self.probe_successes >= self.settings.half_open_successes {
                    State::Closed
                } else {
                    State::HalfOpen
                }
            }
            // Outcomes of calls that went out before it opened change nothing.
            State::Open => State::Open,
        };
        if to == from {
            return None;
        }
        self.state = to;
        self.since_ms = now_ms;
        self.probe_successes = 0;
        self.probe_out_ms = None;
        if to == State::Closed {
            // A fresh start: the failures that opened it are history.
            self.window.clear();
            self.failures = 0;
        }
        Some(Transition {
            from,
            to,
            window: WindowCounts {
                requests: u32::try_from(self.window.len()).unwrap_or(u32::MAX),
                failures: self.failures,
            },
        })
    }

    fn expire(&mut self, now_ms: i64) {
        while let Some(&(at, failed)) = self.window.front() {
            if now_ms - at < self.settings.window_ms {
                break;
            }
            self.window.pop_front();
            if failed {
                self.failures -= 1;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const SETTINGS: BreakerSettings = BreakerSettings {
        window_ms: 60_000,
        min_requests: 5,
        failure_rate_bps: 5_000,
        open_ms: 30_000,
        half_open_successes: 2,
        probe_timeout_ms: 10_000,
    };

    #[test]
    fn opens_at_the_failure_rate_once_enough_requests_are_counted() {
        let mut b = Breaker::new(SETTINGS, 0);
        // Four failures are not enough requests to judge by.
        for t in 0..4 {
            assert_eq!(b.record(t, true), None);
        }
        assert_eq!(b.permit(5), Permit::Allow);
        let opened = b.record(5, true).expect("the fifth failure opens it");
        assert_eq!((opened.from, opened.to), (State::Closed, State::Open));
        assert_eq!(
            opened.window,
            WindowCounts {
                requests: 5,
                failures: 5
            }
        );
        assert_eq!(b.permit(6), Permit::Reject { since_ms: 5 });
    }

    #[test]
    fn stays_closed_below_the_rate_and_forgets_outside_the_window() {
        let mut b = Breaker::new(SETTINGS, 0);
        // 3 of 10 fail (never half of those counted so far, once five are).
        for t in 0..10 {
            assert_eq!(b.record(t, matches!(t, 4 | 7 | 9)), None);
        }
        // A minute later the old outcomes are gone: 4 new failures alone are too few.
        for t in 0..4 {
            assert_eq!(b.record(70_000 + t, true), None);
        }
        assert_eq!(
            b.counts(70_004),
            WindowCounts {
                requests: 4,
                failures: 4
            }
        );
    }

    #[test]
    fn half_open_after_the_wait_one_probe_at_a_time_and_closes_after_successes() {
        let mut b = Breaker::new(SETTINGS, 0);
        for t in 0..5 {
            b.record(t, true);
        }
        assert_eq!(b.permit(29_000), Permit::Reject { since_ms: 4 });
        assert_eq!(b.permit(30_004), Permit::Probe);
        // Its probe is out: the next create skips.
        assert_eq!(b.permit(30_005), Permit::Reject { since_ms: 30_004 });
        assert_eq!(b.record(30_100, false), None);
        assert_eq!(b.permit(30_101), Permit::Probe);
        let closed = b.record(30_200, false).expect("two successes close it");
        assert_eq!((closed.from, closed.to), (State::HalfOpen, State::Closed));
        assert_eq!(b.permit(30_201), Permit::Allow);
        assert_eq!(b.counts(30_201), WindowCounts::default());
    }

    #[test]
    fn a_failed_probe_opens_it_again_and_a_lost_probe_does_not_wedge_it() {
        let mut b = Breaker::new(SETTINGS, 0);
        for t in 0..5 {
            b.record(t, true);
        }
        assert_eq!(b.permit(30_004), Permit::Probe);
        let again = b.record(30_050, true).expect("a failed probe reopens it");
        assert_eq!((again.from, again.to), (State::HalfOpen, State::Open));
        assert_eq!(b.permit(60_049), Permit::Reject { since_ms: 30_050 });
        assert_eq!(b.permit(60_050), Permit::Probe);
        // That probe never reports back: after the probe timeout another goes.
        assert_eq!(b.permit(65_000), Permit::Reject { since_ms: 60_050 });
        assert_eq!(b.permit(70_050), Permit::Probe);
    }

    #[test]
    fn outcomes_of_calls_made_before_it_opened_change_nothing() {
        let mut b = Breaker::new(SETTINGS, 0);
        for t in 0..5 {
            b.record(t, true);
        }
        assert_eq!(b.record(10, false), None);
        assert_eq!(b.state(10), State::Open);
    }

    #[test]
    fn the_window_is_bounded() {
        let mut b = Breaker::new(SETTINGS, 0);
        for t in 0..(WINDOW_OUTCOMES_MAX as i64 + 100) {
            b.record(t / 1_000, false);
        }
        assert_eq!(b.counts(50).requests as usize, WINDOW_OUTCOMES_MAX);
    }
}
