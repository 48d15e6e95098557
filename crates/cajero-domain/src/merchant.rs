//! Merchants: who may use cajero, and in which mode.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a merchant stands with the platform operator.
///
/// A merchant starts in `onboarding` with test keys only; live keys need `active` (KYC
/// approved). A `suspended` merchant's keys authenticate nothing that moves money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MerchantStatus {
    /// Signed up; test mode only until KYC is approved.
    Onboarding,
    /// Approved: may hold live keys.
    Active,
    /// Stopped by the operator.
    Suspended,
}

impl MerchantStatus {
    /// Every status.
    pub const ALL: [MerchantStatus; 3] = [
        MerchantStatus::Onboarding,
        MerchantStatus::Active,
        MerchantStatus::Suspended,
    ];

    /// The fixed code stored and shown.
    pub const fn as_str(self) -> &'static str {
        match self {
            MerchantStatus::Onboarding => "onboarding",
            MerchantStatus::Active => "active",
            MerchantStatus::Suspended => "suspended",
        }
    }

    /// Whether the merchant may hold and use live keys.
    pub const fn allows_live_mode(self) -> bool {
        matches!(self, MerchantStatus::Active)
    }
}

impl fmt::Display for MerchantStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown merchant status code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown merchant status {0:?}: use onboarding, active or suspended")]
pub struct ParseMerchantStatusError(pub String);

impl FromStr for MerchantStatus {
    type Err = ParseMerchantStatusError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MerchantStatus::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| ParseMerchantStatusError(s.chars().take(32).collect()))
    }
}

/// The mode a key and every object it touches belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Test data, served by the simulator only.
    Test,
    /// Real money.
    Live,
}

impl Mode {
    /// `true` for live.
    pub const fn is_live(self) -> bool {
        matches!(self, Mode::Live)
    }

    /// From the stored `livemode` flag.
    pub const fn from_livemode(livemode: bool) -> Mode {
        if livemode { Mode::Live } else { Mode::Test }
    }

    /// `test` or `live`, as in key prefixes.
    pub const fn as_str(self) -> &'static str {
        match self {
            Mode::Test => "test",
            Mode::Live => "live",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown mode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown mode {0:?}: use test or live")]
pub struct ParseModeError(pub String);

impl FromStr for Mode {
    type Err = ParseModeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "test" => Ok(Mode::Test),
            "live" => Ok(Mode::Live),
            other => Err(ParseModeError(other.chars().take(16).collect())),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_active_merchants_may_go_live() {
        assert!(MerchantStatus::Active.allows_live_mode());
        assert!(!MerchantStatus::Onboarding.allows_live_mode());
        assert!(!MerchantStatus::Suspended.allows_live_mode());
    }

    #[test]
    fn codes_round_trip() {
        for s in MerchantStatus::ALL {
            assert_eq!(s.as_str().parse::<MerchantStatus>().unwrap(), s);
        }
        assert!("Active".parse::<MerchantStatus>().is_err());
        assert_eq!("live".parse::<Mode>().unwrap(), Mode::Live);
        assert_eq!(Mode::from_livemode(false), Mode::Test);
        assert!("prod".parse::<Mode>().is_err());
    }
}
