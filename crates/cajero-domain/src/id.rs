//! Typed, prefixed, time-sortable identifiers: `pi_01jh3…`, `po_…`, `mer_…`.
//!
//! An id is a type prefix, an underscore and 26 characters of Crockford base32 (lower case)
//! encoding 128 bits: 48 bits of Unix milliseconds, then 80 random bits. Ids of one kind sort
//! by creation time as plain strings, which is what cursor pagination and the databases'
//! text indexes rely on. The kind is part of the Rust type (`Id<Payin>`), so a payout id can
//! never be passed where a pay-in id is expected.
//!
//! The domain reads no clock and no random source: callers hand both in
//! ([`Id::from_parts`]).

use std::fmt;
use std::hash::Hash;
use std::marker::PhantomData;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Crockford's base32 alphabet (no I, L, O, U), lower case.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// 128 bits in 5-bit groups: 26 characters (the first carries only 3 bits).
const ENCODED_LEN: usize = 26;
/// The timestamp occupies the top 48 bits, enough for dates until the year 10889.
const TIMESTAMP_BITS: u32 = 48;
const RANDOM_BITS: u32 = 128 - TIMESTAMP_BITS;

/// A kind of object that has ids; implemented by the marker types below.
pub trait IdKind: Copy + Eq + Hash + fmt::Debug + Send + Sync + 'static {
    /// The prefix before the underscore, as in API.md.
    const PREFIX: &'static str;
}

macro_rules! id_kinds {
    ($($(#[$doc:meta])* $marker:ident = $prefix:literal, $alias:ident;)*) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
            pub enum $marker {}

            impl IdKind for $marker {
                const PREFIX: &'static str = $prefix;
            }

            $(#[$doc])*
            pub type $alias = Id<$marker>;
        )*

        /// Every prefix in use, so that tests can check they are distinct.
        pub const ALL_PREFIXES: &[&str] = &[$($prefix),*];
    };
}

id_kinds! {
    /// A pay-in (cash voucher).
    Payin = "pi", PayinId;
    /// A payout (cash pick-up).
    Payout = "po", PayoutId;
    /// A refund of a pay-in.
    Refund = "re", RefundId;
    /// An event delivered by webhook.
    Event = "evt", EventId;
    /// A webhook endpoint.
    WebhookEndpoint = "we", WebhookEndpointId;
    /// A raw message exchanged with a network.
    Message = "msg", MessageId;
    /// A merchant.
    Merchant = "mer", MerchantId;
    /// An API key.
    ApiKey = "key", ApiKeyId;
    /// A ledger transfer.
    Transfer = "txn", TransferId;
    /// A settlement batch.
    Settlement = "set", SettlementId;
    /// A reconciliation run.
    Reconciliation = "rec", ReconciliationId;
    /// An HTTP request (the `Request-Id` header).
    Request = "req", RequestId;
    /// A balance top-up.
    Topup = "tu", TopupId;
    /// A test clock (test mode's simulated time, per merchant).
    TestClock = "clock", TestClockId;
    /// An alert (a problem the operator and the merchants concerned are told about).
    Alert = "alr", AlertId;
    /// A dashboard user (a person working for a merchant).
    User = "usr", UserId;
    /// An entry of the audit log.
    Audit = "aud", AuditId;
    /// An invitation to become a dashboard user.
    Invitation = "inv", InvitationId;
    /// A document of a merchant's KYC application.
    KycDocument = "doc", KycDocumentId;
    /// An operator (the platform's staff, who run the console).
    Operator = "opr", OperatorId;
    /// A sanctions list as loaded (one publisher's files).
    SanctionsList = "sal", SanctionsListId;
    /// A risk decision that held or refused an operation.
    RiskDecision = "rdc", RiskDecisionId;
    /// An entry of a blocklist.
    BlockEntry = "rbl", BlockEntryId;
}

/// An identifier of kind `K`.
pub struct Id<K: IdKind> {
    bits: u128,
    kind: PhantomData<K>,
}

// Manual impls: derives would demand the bounds of `K` that PhantomData already satisfies.
impl<K: IdKind> Clone for Id<K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K: IdKind> Copy for Id<K> {}
impl<K: IdKind> PartialEq for Id<K> {
    fn eq(&self, other: &Self) -> bool {
        self.bits == other.bits
    }
}
impl<K: IdKind> Eq for Id<K> {}
impl<K: IdKind> PartialOrd for Id<K> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<K: IdKind> Ord for Id<K> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.bits.cmp(&other.bits)
    }
}
impl<K: IdKind> Hash for Id<K> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bits.hash(state);
    }
}

impl<K: IdKind> Id<K> {
    /// The id created at `unix_ms` (milliseconds since 1970, truncated to 48 bits) with the
    /// low 80 bits of `random`.
    pub fn from_parts(unix_ms: u64, random: u128) -> Id<K> {
        let time = u128::from(unix_ms) & ((1u128 << TIMESTAMP_BITS) - 1);
        let random = random & ((1u128 << RANDOM_BITS) - 1);
        Id {
            bits: (time << RANDOM_BITS) | random,
            kind: PhantomData,
        }
    }

    /// The creation time in Unix milliseconds.
    pub fn unix_ms(self) -> u64 {
        // The shifted value has at most 48 bits.
        u64::try_from(self.bits >> RANDOM_BITS).unwrap_or(u64::MAX)
    }

    /// The smallest id of this kind created at `unix_ms`: a bound for time-range queries.
    pub fn min_at(unix_ms: u64) -> Id<K> {
        Id::from_parts(unix_ms, 0)
    }

    /// A deterministic id of this kind derived from another object's id and a purpose
    /// (`derived(payout_id, "reserve")`): the same inputs always give the same id, so a retry
    /// recomputes it, and it sorts with its source's creation time.
    pub fn derived<S: IdKind>(source: Id<S>, purpose: &str) -> Id<K> {
        // FNV-1a (64-bit) of the purpose, mixed into the random low bits only.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in purpose.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        Id {
            bits: source.bits ^ u128::from(hash),
            kind: PhantomData,
        }
    }

    /// The id with these 128 bits (as [`Id::to_u128`] gave them).
    pub fn from_u128(bits: u128) -> Id<K> {
        Id {
            bits,
            kind: PhantomData,
        }
    }

    /// The 128 bits.
    pub fn to_u128(self) -> u128 {
        self.bits
    }

    /// The prefix of this kind.
    pub fn prefix() -> &'static str {
        K::PREFIX
    }

    fn encode(self) -> [u8; ENCODED_LEN] {
        let mut out = [0u8; ENCODED_LEN];
        for (i, slot) in out.iter_mut().enumerate() {
            let shift = 5 * (ENCODED_LEN - 1 - i);
            let index = ((self.bits >> shift) & 0x1f) as usize;
            *slot = ALPHABET[index];
        }
        out
    }
}

impl<K: IdKind> fmt::Display for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let encoded = self.encode();
        // The alphabet is ASCII, so this never fails.
        let text = std::str::from_utf8(&encoded).map_err(|_| fmt::Error)?;
        write!(f, "{}_{}", K::PREFIX, text)
    }
}

impl<K: IdKind> fmt::Debug for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Why a string is not an id of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseIdError {
    /// The prefix is missing or belongs to another kind.
    #[error("expected an id starting with {expected}_")]
    WrongPrefix { expected: &'static str },
    /// The part after the prefix is not 26 characters long.
    #[error("an id has 26 characters after its prefix, not {got}")]
    WrongLength { got: usize },
    /// A character outside the lower-case Crockford base32 alphabet.
    #[error(
        "character {} at position {position} is not allowed in an id",
        crate::shown_char(.character)
    )]
    InvalidCharacter { position: usize, character: char },
    /// The first character encodes more than 128 bits.
    #[error("the id is out of range")]
    Overflow,
}

impl<K: IdKind> FromStr for Id<K> {
    type Err = ParseIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let body = s
            .strip_prefix(K::PREFIX)
            .and_then(|rest| rest.strip_prefix('_'))
            .ok_or(ParseIdError::WrongPrefix {
                expected: K::PREFIX,
            })?;
        let count = body.chars().count();
        if count != ENCODED_LEN {
            return Err(ParseIdError::WrongLength { got: count });
        }
        let mut bits: u128 = 0;
        for (i, c) in body.chars().enumerate() {
            let value = ALPHABET.iter().position(|&a| char::from(a) == c).ok_or(
                ParseIdError::InvalidCharacter {
                    position: K::PREFIX.len() + 1 + i,
                    character: c,
                },
            )?;
            if i == 0 && value > 0b111 {
                return Err(ParseIdError::Overflow);
            }
            bits = (bits << 5) | value as u128;
        }
        Ok(Id {
            bits,
            kind: PhantomData,
        })
    }
}

impl<K: IdKind> Serialize for Id<K> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de, K: IdKind> Deserialize<'de> for Id<K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ids_carry_their_prefix_and_26_characters() {
        let id = PayinId::from_parts(1_764_100_000_000, 42);
        let text = id.to_string();
        assert!(text.starts_with("pi_"), "{text}");
        assert_eq!(text.len(), 3 + 26);
        assert_eq!(text.parse::<PayinId>().unwrap(), id);
        assert_eq!(id.unix_ms(), 1_764_100_000_000);
    }

    #[test]
    fn an_id_of_another_kind_is_refused() {
        let payout = PayoutId::from_parts(1, 1).to_string();
        assert_eq!(
            payout.parse::<PayinId>(),
            Err(ParseIdError::WrongPrefix { expected: "pi" })
        );
        // "pi" is not a prefix of "pin_…": the underscore is required.
        assert!("pix_01".parse::<PayinId>().is_err());
    }

    #[test]
    fn malformed_ids_get_specific_errors() {
        assert_eq!(
            "pi_abc".parse::<PayinId>(),
            Err(ParseIdError::WrongLength { got: 3 })
        );
        assert_eq!(
            "pi_0000000000000000000000000u".parse::<PayinId>(),
            Err(ParseIdError::InvalidCharacter {
                position: 28,
                character: 'u'
            })
        );
        assert_eq!(
            "pi_80000000000000000000000000".parse::<PayinId>(),
            Err(ParseIdError::Overflow)
        );
        assert!("PI_00000000000000000000000000".parse::<PayinId>().is_err());
    }

    #[test]
    fn derived_ids_are_deterministic_per_purpose_and_keep_the_time() {
        let payout = PayoutId::from_parts(1_764_100_000_000, 99);
        let reserve = TransferId::derived(payout, "reserve");
        assert_eq!(reserve, TransferId::derived(payout, "reserve"));
        assert_ne!(reserve, TransferId::derived(payout, "post"));
        assert_eq!(reserve.unix_ms(), payout.unix_ms());
        assert!(reserve.to_string().starts_with("txn_"));
    }

    #[test]
    fn prefixes_are_distinct() {
        let mut all = ALL_PREFIXES.to_vec();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), ALL_PREFIXES.len());
    }

    #[test]
    fn ids_serialize_as_strings() {
        let id = MerchantId::from_parts(5, 6);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<MerchantId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<MerchantId>("\"po_00000000000000000000000000\"").is_err());
    }

    proptest! {
        #[test]
        fn text_order_is_time_order(t1 in 0u64..(1 << 48), t2 in 0u64..(1 << 48), r1: u128, r2: u128) {
            let a = PayoutId::from_parts(t1, r1);
            let b = PayoutId::from_parts(t2, r2);
            if t1 < t2 {
                prop_assert!(a.to_string() < b.to_string());
            }
            prop_assert_eq!(a.cmp(&b), a.to_string().cmp(&b.to_string()));
        }

        #[test]
        fn parsing_round_trips(t in 0u64..(1 << 48), r: u128) {
            let id = EventId::from_parts(t, r);
            prop_assert_eq!(id.to_string().parse::<EventId>().unwrap(), id);
        }

        #[test]
        fn parsing_never_panics(s in "\\PC{0,40}") {
            let _ = s.parse::<PayinId>();
        }
    }
}
