//! Test clocks: a merchant's own frozen time, on which some of its orders live.
//!
//! The network runs on its own clock; an order created with a test clock lives on that clock
//! instead: its creation, its expiry, the counters' opening hours when someone pays or collects
//! it, and the autopilot's visits all read the test clock. A test clock moves only when its
//! merchant advances it (forward only, to an absolute time), and then only its orders see time
//! pass. Keyed by the merchant's clock id; one merchant cannot see or move another's.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{SimError, State};
use crate::model::Order;

/// Longest test clock id, in bytes.
pub const TEST_CLOCK_ID_BYTES_MAX: usize = 64;

/// A test clock as the network keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestClock {
    /// The merchant that owns it.
    pub merchant_id: String,
    /// Its time: it stands still between advances.
    pub now: Timestamp,
}

/// A test clock as named on a create: the id, and its time as the merchant knows it (the
/// network takes the later of that and what it knew, so a create after an advance it missed
/// still brings it up to date).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestClockRef {
    /// The merchant's clock id.
    pub id: String,
    /// The clock's time.
    pub frozen_time: Timestamp,
}

/// Instants at which something happens to open orders (expiry, autopilot visits), one ordered
/// set per timeline: the network's own (`None`) and each test clock's.
#[derive(Debug, Default)]
pub(crate) struct Timelines(BTreeMap<Option<String>, BTreeSet<(Timestamp, String)>>);

impl Timelines {
    pub(crate) fn insert(&mut self, clock: Option<&str>, at: Timestamp, id: &str) {
        self.0
            .entry(clock.map(str::to_owned))
            .or_default()
            .insert((at, id.to_owned()));
    }

    pub(crate) fn remove(&mut self, clock: Option<&str>, at: Timestamp, id: &str) {
        let key = clock.map(str::to_owned);
        if let Some(set) = self.0.get_mut(&key) {
            set.remove(&(at, id.to_owned()));
            if set.is_empty() {
                self.0.remove(&key);
            }
        }
    }

    /// The earliest instant at or before `now` on one timeline.
    pub(crate) fn first_due(
        &self,
        clock: Option<&str>,
        now: Timestamp,
    ) -> Option<(Timestamp, String)> {
        self.0
            .get(&clock.map(str::to_owned))
            .and_then(|set| set.first())
            .filter(|(t, _)| *t <= now)
            .cloned()
    }

    /// Whether anything is scheduled on this timeline.
    pub(crate) fn has(&self, clock: Option<&str>) -> bool {
        self.0.contains_key(&clock.map(str::to_owned))
    }
}

impl State {
    /// The time an order lives on: its test clock's, or the network's.
    pub fn order_now(&self, order: &Order) -> Timestamp {
        self.clock_now(order.test_clock.as_deref())
    }

    /// The time on a timeline: a test clock's (when it exists), or the network's.
    pub fn clock_now(&self, clock: Option<&str>) -> Timestamp {
        clock
            .and_then(|id| self.meta.test_clocks.get(id))
            .map_or_else(|| self.now(), |c| c.now)
    }

    /// A merchant's test clock.
    pub fn test_clock(&self, merchant_id: &str, id: &str) -> Result<&TestClock, SimError> {
        self.meta
            .test_clocks
            .get(id)
            .filter(|c| c.merchant_id == merchant_id)
            .ok_or(SimError::NotFound)
    }

    /// Creates a merchant's test clock at `to`, or moves it forward to `to` (never back: an
    /// earlier time leaves it where it is), then runs what falls due on it, each at its own
    /// instant. Answers the clock.
    pub fn advance_test_clock(
        &mut self,
        merchant_id: &str,
        id: &str,
        to: Timestamp,
    ) -> Result<TestClock, SimError> {
        if !self.merchants.contains_key(merchant_id) {
            return Err(SimError::UnknownMerchant);
        }
        if id.is_empty() || id.len() > TEST_CLOCK_ID_BYTES_MAX {
            return Err(SimError::InvalidRequest {
                param: "test_clock",
                message: format!("an id of 1 to {TEST_CLOCK_ID_BYTES_MAX} bytes"),
            });
        }
        let clock = match self.meta.test_clocks.get_mut(id) {
            Some(c) if c.merchant_id != merchant_id => return Err(SimError::NotFound),
            Some(c) => {
                c.now = c.now.max(to);
                c.clone()
            }
            None => {
                let clock = TestClock {
                    merchant_id: merchant_id.to_owned(),
                    now: to,
                };
                self.meta.test_clocks.insert(id.to_owned(), clock.clone());
                clock
            }
        };
        self.dirty.meta = true;
        self.sweep_timeline(Some(id), clock.now);
        Ok(clock)
    }

    /// Forgets a merchant's test clock; refused while an order on it is still open (its time
    /// would be lost).
    pub fn delete_test_clock(&mut self, merchant_id: &str, id: &str) -> Result<(), SimError> {
        self.test_clock(merchant_id, id)?;
        if self.expiries.has(Some(id)) {
            return Err(SimError::InvalidRequest {
                param: "test_clock",
                message: "orders on this test clock are still open".into(),
            });
        }
        self.meta.test_clocks.remove(id);
        self.dirty.meta = true;
        Ok(())
    }
}
