//! Webhook rules: the event types of API.md, the `enabled_events` patterns an endpoint
//! subscribes with, and the retry schedule.
//!
//! Pure: the jitter comes in as an argument, so the schedule is tested exactly.

use std::fmt;
use std::str::FromStr;

use jiff::SignedDuration;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! event_types {
    ($($(#[$doc:meta])* $variant:ident = $code:literal,)*) => {
        /// A type of event (API.md, "Webhooks"). The codes are part of the public contract.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventType {
            $($(#[$doc])* $variant,)*
        }

        impl EventType {
            /// Every event type, in API.md's order.
            pub const ALL: &[EventType] = &[$(EventType::$variant,)*];

            /// The fixed code (`payout.paid`).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(EventType::$variant => $code,)*
                }
            }
        }
    };
}

event_types! {
    /// A voucher was issued.
    PayinCreated = "payin.created",
    /// The customer paid at a counter.
    PayinPaid = "payin.paid",
    /// The voucher expired unpaid.
    PayinExpired = "payin.expired",
    /// The merchant canceled the voucher.
    PayinCanceled = "payin.canceled",
    /// The pay-in is held for compliance review: no voucher until an operator releases it
    /// (then `payin.created`) or refuses it (then `payin.canceled`).
    PayinOnHold = "payin.on_hold",
    /// A refund was requested.
    RefundCreated = "refund.created",
    /// A refund was paid out.
    RefundSucceeded = "refund.succeeded",
    /// A refund failed.
    RefundFailed = "refund.failed",
    /// A payout was accepted.
    PayoutCreated = "payout.created",
    /// The pick-up code was issued.
    PayoutAvailable = "payout.available",
    /// A counter refused a collection attempt.
    PayoutAttemptFailed = "payout.attempt_failed",
    /// The beneficiary collected the cash.
    PayoutPaid = "payout.paid",
    /// The pick-up code expired.
    PayoutExpired = "payout.expired",
    /// The merchant canceled the payout.
    PayoutCanceled = "payout.canceled",
    /// The payout failed.
    PayoutFailed = "payout.failed",
    /// The payout is held for compliance review.
    PayoutOnHold = "payout.on_hold",
    /// An operator released a held payout: its code is asked for next (`payout.available`).
    PayoutReleased = "payout.released",
    /// A top-up reached the balance.
    TopupSucceeded = "topup.succeeded",
    /// A settlement was paid to the merchant.
    SettlementPaid = "settlement.paid",
    /// A payment exception was recorded: reconciliation (or a callback) found a difference.
    ReconciliationExceptionCreated = "reconciliation.exception.created",
    /// An operator resolved a payment exception.
    ReconciliationExceptionResolved = "reconciliation.exception.resolved",
    /// An alert was raised.
    AlertRaised = "alert.raised",
    /// An alert was resolved.
    AlertResolved = "alert.resolved",
    /// A webhook endpoint was disabled (410 Gone, or five days of only failures).
    WebhookEndpointDisabled = "webhook_endpoint.disabled",
    /// The merchant submitted its KYC application.
    MerchantKycSubmitted = "merchant.kyc.submitted",
    /// An operator started reviewing it.
    MerchantKycInReview = "merchant.kyc.in_review",
    /// An operator asked for more information.
    MerchantKycNeedsInfo = "merchant.kyc.needs_info",
    /// An operator approved it: live mode is open.
    MerchantKycApproved = "merchant.kyc.approved",
    /// An operator rejected it.
    MerchantKycRejected = "merchant.kyc.rejected",
}

impl EventType {
    /// The object family before the dot (`payout` for `payout.paid`).
    pub fn family(self) -> &'static str {
        let code = self.as_str();
        code.split_once('.').map_or(code, |(family, _)| family)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A code that is not an event type of API.md.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event type {}", crate::shown_text(.0))]
pub struct ParseEventTypeError(pub String);

impl FromStr for EventType {
    type Err = ParseEventTypeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventType::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| ParseEventTypeError(s.chars().take(64).collect()))
    }
}

impl Serialize for EventType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One entry of an endpoint's `enabled_events`: an event type, a family wildcard
/// (`payout.*`) or everything (`*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventPattern {
    /// Every event type, including those added later.
    All,
    /// Every event type of one family (`payout.*`); holds an event type of that family.
    Family(&'static str),
    /// One event type.
    Exact(EventType),
}

impl EventPattern {
    /// Whether events of type `t` match.
    pub fn matches(self, t: EventType) -> bool {
        match self {
            EventPattern::All => true,
            EventPattern::Family(family) => t.family() == family,
            EventPattern::Exact(exact) => exact == t,
        }
    }

    /// Whether any pattern of `patterns` matches `t`.
    pub fn any_matches(patterns: &[EventPattern], t: EventType) -> bool {
        patterns.iter().any(|p| p.matches(t))
    }
}

impl fmt::Display for EventPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventPattern::All => f.write_str("*"),
            EventPattern::Family(family) => write!(f, "{family}.*"),
            EventPattern::Exact(t) => f.write_str(t.as_str()),
        }
    }
}

/// Neither an event type, a known family's wildcard, nor `*`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} is not an event type, a wildcard like payout.* or *", crate::shown_text(.0))]
pub struct ParseEventPatternError(pub String);

impl FromStr for EventPattern {
    type Err = ParseEventPatternError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "*" {
            return Ok(EventPattern::All);
        }
        if let Some(family) = s.strip_suffix(".*") {
            return EventType::ALL
                .iter()
                .map(|t| t.family())
                .find(|f| *f == family)
                .map(EventPattern::Family)
                .ok_or_else(|| ParseEventPatternError(s.chars().take(64).collect()));
        }
        s.parse()
            .map(EventPattern::Exact)
            .map_err(|_| ParseEventPatternError(s.chars().take(64).collect()))
    }
}

impl Serialize for EventPattern {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EventPattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The waits before each attempt of a delivery (API.md): the first attempt at once, then
/// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h after each failure. Eight attempts in all,
/// spread over about 28 hours.
pub const RETRY_SCHEDULE_S: [i64; 8] = [0, 5, 300, 1_800, 7_200, 18_000, 36_000, 36_000];
/// Attempts a delivery gets in one round before it is marked failed.
pub const ATTEMPTS_MAX: u32 = RETRY_SCHEDULE_S.len() as u32;
/// Each wait varies by up to ±20 % (in per mille), so that retries after an outage spread out
/// instead of arriving together.
pub const JITTER_PERMILLE_MAX: i32 = 200;
/// Longest wait a receiver's `Retry-After` can impose: the longest step of the schedule.
pub const RETRY_AFTER_S_MAX: i64 = 36_000;
/// An endpoint that has only failed for this long is disabled.
pub const FAILING_DISABLE_AFTER_S: i64 = 5 * 24 * 3_600;

/// The wait before the next attempt after `attempts_made` attempts of this round failed, or
/// `None` when the schedule is exhausted.
///
/// `jitter_permille` (clamped to ±[`JITTER_PERMILLE_MAX`]) scales the scheduled wait;
/// `retry_after_s` is the receiver's `Retry-After`: it may lengthen the wait (up to
/// [`RETRY_AFTER_S_MAX`]) but never shorten it, so a receiver cannot make us hammer it.
pub fn next_attempt_delay(
    attempts_made: u32,
    jitter_permille: i32,
    retry_after_s: Option<i64>,
) -> Option<SignedDuration> {
    let scheduled_s = *RETRY_SCHEDULE_S.get(usize::try_from(attempts_made).ok()?)?;
    let jitter = i64::from(jitter_permille.clamp(-JITTER_PERMILLE_MAX, JITTER_PERMILLE_MAX));
    let scheduled_ms = scheduled_s * 1_000 + scheduled_s * jitter;
    let retry_after_ms = retry_after_s.map_or(0, |s| s.clamp(0, RETRY_AFTER_S_MAX) * 1_000);
    Some(SignedDuration::from_millis(
        scheduled_ms.max(retry_after_ms),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_round_trips_through_its_code() {
        for t in EventType::ALL {
            assert_eq!(t.as_str().parse::<EventType>(), Ok(*t));
            let json = serde_json::to_string(t).unwrap();
            assert_eq!(serde_json::from_str::<EventType>(&json).unwrap(), *t);
        }
        assert_eq!(EventType::ALL.len(), 29);
        assert!("payout.exploded".parse::<EventType>().is_err());
    }

    #[test]
    fn patterns_match_exactly_by_family_or_everything() {
        let table: &[(&str, EventType, bool)] = &[
            ("*", EventType::PayinPaid, true),
            ("payout.*", EventType::PayoutPaid, true),
            ("payout.*", EventType::PayoutAttemptFailed, true),
            ("payout.*", EventType::PayinPaid, false),
            ("payin.paid", EventType::PayinPaid, true),
            ("payin.paid", EventType::PayinExpired, false),
            (
                "webhook_endpoint.*",
                EventType::WebhookEndpointDisabled,
                true,
            ),
            ("merchant.*", EventType::MerchantKycApproved, true),
            ("merchant.*", EventType::PayinPaid, false),
        ];
        for (pattern, t, expected) in table {
            let p: EventPattern = pattern.parse().unwrap();
            assert_eq!(p.matches(*t), *expected, "{pattern} vs {t}");
            assert_eq!(p.to_string(), *pattern);
        }
    }

    #[test]
    fn unknown_patterns_are_refused() {
        for bad in [
            "",
            "payouts.*",
            "payout.",
            "payout.paid.*",
            "**",
            "PAYOUT.PAID",
            ".*",
        ] {
            assert!(bad.parse::<EventPattern>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_schedule_is_api_md_s_without_jitter() {
        let waits: Vec<i64> = (0..ATTEMPTS_MAX)
            .map(|n| next_attempt_delay(n, 0, None).unwrap().as_secs())
            .collect();
        assert_eq!(waits, RETRY_SCHEDULE_S.to_vec());
        assert_eq!(next_attempt_delay(ATTEMPTS_MAX, 0, None), None);
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        for n in 0..ATTEMPTS_MAX {
            let base = RETRY_SCHEDULE_S[n as usize] * 1_000;
            for jitter in [-1_000, -200, -137, 0, 55, 200, 999] {
                let ms = next_attempt_delay(n, jitter, None).unwrap().as_millis() as i64;
                assert!(
                    ms >= base * 8 / 10 && ms <= base * 12 / 10,
                    "{n} {jitter} {ms}"
                );
            }
        }
        // The extremes are reached: ±20 % of 5 minutes.
        assert_eq!(next_attempt_delay(2, -200, None).unwrap().as_secs(), 240);
        assert_eq!(next_attempt_delay(2, 200, None).unwrap().as_secs(), 360);
    }

    #[test]
    fn retry_after_lengthens_the_wait_within_bounds_but_never_shortens_it() {
        // After the first failure the schedule says 5 s; the receiver asks for 120 s.
        assert_eq!(next_attempt_delay(1, 0, Some(120)).unwrap().as_secs(), 120);
        // Asking for less than the schedule changes nothing.
        assert_eq!(next_attempt_delay(2, 0, Some(1)).unwrap().as_secs(), 300);
        // Asking for a week is capped at the longest step.
        assert_eq!(
            next_attempt_delay(1, 0, Some(7 * 86_400))
                .unwrap()
                .as_secs(),
            RETRY_AFTER_S_MAX
        );
        assert_eq!(next_attempt_delay(1, 0, Some(-5)).unwrap().as_secs(), 5);
        // The schedule's end is the end, whatever the receiver says.
        assert_eq!(next_attempt_delay(ATTEMPTS_MAX, 0, Some(10)), None);
    }
}
