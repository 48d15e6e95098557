//! Instants as stored: Unix microseconds in a BIGINT, the same on both engines.

use jiff::Timestamp;

/// An instant in Unix microseconds, UTC, as stored in every `*_at` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Micros(pub i64);

impl From<Timestamp> for Micros {
    fn from(value: Timestamp) -> Self {
        Micros(value.as_microsecond())
    }
}

impl Micros {
    /// Back to a timestamp; values outside jiff's range clamp to its bounds (they can only
    /// come from a corrupted row).
    pub fn to_timestamp(self) -> Timestamp {
        Timestamp::from_microsecond(self.0).unwrap_or(if self.0 < 0 {
            Timestamp::MIN
        } else {
            Timestamp::MAX
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_round_trip_at_microsecond_precision() {
        let t = Timestamp::from_microsecond(1_764_100_000_123_456).unwrap_or(Timestamp::UNIX_EPOCH);
        assert_eq!(Micros::from(t).to_timestamp(), t);
        assert_eq!(Micros(i64::MAX).to_timestamp(), Timestamp::MAX);
    }
}
