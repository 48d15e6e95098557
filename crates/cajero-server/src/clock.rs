//! The injected clock: production reads the system time; tests move a manual one. Nothing
//! else in cajero reads the time, except [`wall_now`] for what another party checks against
//! its own clock (the `webhook-timestamp` a receiver verifies).
//!
//! The instance's clock never moves by request: test mode's simulated time is per merchant and
//! per object ([`crate::test_clocks`]), never global.

use std::fmt;
use std::sync::{Arc, Mutex};

use cajero_domain::id::{Id, IdKind};
use jiff::{SignedDuration, Timestamp};
use rand::RngExt;

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Now.
    fn now(&self) -> Timestamp;

    /// Whether time stands still between advances (a test clock).
    fn is_frozen(&self) -> bool {
        false
    }

    /// The last id [`new_id`] made with this clock, which the next one must follow. The
    /// process's own by default: one clock per process in production. A manual clock keeps its
    /// own, so that a test whose clock is far ahead does not reset the ids of another test in
    /// the same process. A clock that wraps another must pass this on with `now`.
    fn last_id(&self) -> &Mutex<u128> {
        &PROCESS_LAST_ID
    }
}

/// The last id made with a clock that keeps none of its own.
static PROCESS_LAST_ID: Mutex<u128> = Mutex::new(0);

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that moves only when told to.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<Timestamp>>,
    /// Shared by its clones, as the time is.
    last_id: Arc<Mutex<u128>>,
}

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: Timestamp) -> ManualClock {
        ManualClock {
            now: Arc::new(Mutex::new(start)),
            last_id: Arc::new(Mutex::new(0)),
        }
    }

    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: SignedDuration) {
        let mut now = self
            .now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *now = now.checked_add(by).unwrap_or(*now);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self
            .now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn is_frozen(&self) -> bool {
        true
    }

    fn last_id(&self) -> &Mutex<u128> {
        &self.last_id
    }
}

/// A new id of kind `K`, created now. Ids made with one clock only grow: within one
/// millisecond the next id is the last one plus one (as ULID's monotonic mode), so what one
/// change records (`payout.created`, then `payout.failed`) lists in the order it happened.
pub fn new_id<K: IdKind>(clock: &dyn Clock) -> Id<K> {
    let unix_ms = u64::try_from(clock.now().as_millisecond()).unwrap_or(0);
    let fresh: Id<K> = Id::from_parts(unix_ms, rand::rng().random::<u128>());
    let mut last = clock
        .last_id()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // A clock that went back more than a second (the system's time stepped back, or a test
    // moved its clock back) starts afresh rather than pinning every later id to that time.
    let behind_ms = Id::<K>::from_u128(*last).unix_ms().saturating_sub(unix_ms);
    let bits = if fresh.to_u128() > *last || behind_ms > 1_000 {
        fresh.to_u128()
    } else {
        last.saturating_add(1)
    };
    *last = bits;
    Id::from_u128(bits)
}

/// The real time, whatever clock is injected: for what another party checks against its own
/// clock (Standard Webhooks receivers refuse a `webhook-timestamp` more than minutes away).
pub fn wall_now() -> Timestamp {
    Timestamp::now()
}

#[cfg(test)]
mod tests {
    use cajero_domain::id::EventId;

    use super::*;

    #[test]
    fn ids_made_in_one_millisecond_keep_the_order_they_were_made_in() {
        let clock = ManualClock::new(Timestamp::from_second(1_764_000_000).unwrap_or_default());
        let ids: Vec<EventId> = (0..1_000).map(|_| new_id(&clock)).collect();
        let mut sorted = ids.clone();
        sorted.sort_by_key(|id| id.to_string());
        assert_eq!(ids, sorted);
        assert!(ids.iter().all(|id| id.unix_ms() == 1_764_000_000_000));
    }

    /// Tests share the process, each with its own manual clock: one far ahead in time must not
    /// make another's next id start afresh, below its last one in the same millisecond.
    #[test]
    fn a_clock_far_ahead_does_not_reorder_another_clocks_ids() {
        let start = Timestamp::from_second(1_764_000_000).unwrap_or_default();
        let here = ManualClock::new(start);
        let ahead = ManualClock::new(start);
        ahead.advance(SignedDuration::from_hours(49));
        for _ in 0..64 {
            let first: EventId = new_id(&here);
            let _: EventId = new_id(&ahead);
            let second: EventId = new_id(&here);
            assert!(second > first, "{second} made after {first}");
        }
        let clone = here.clone();
        for _ in 0..64 {
            let (before, after): (EventId, EventId) = (new_id(&here), new_id(&clone));
            let _: EventId = new_id(&ahead);
            assert!(after > before, "a clone shares its clock's last id");
        }
    }
}
