//! The injected clock: production reads the system time; tests and the simulator move a
//! manual one. Nothing else in cajero reads the time.

use std::fmt;
use std::sync::{Arc, Mutex};

use cajero_domain::id::{Id, IdKind};
use jiff::{SignedDuration, Timestamp};
use rand::RngExt;

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Now.
    fn now(&self) -> Timestamp;
}

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
}

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: Timestamp) -> ManualClock {
        ManualClock {
            now: Arc::new(Mutex::new(start)),
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
}

/// A new id of kind `K`, created now.
pub fn new_id<K: IdKind>(clock: &dyn Clock) -> Id<K> {
    let unix_ms = u64::try_from(clock.now().as_millisecond()).unwrap_or(0);
    Id::from_parts(unix_ms, rand::rng().random::<u128>())
}
