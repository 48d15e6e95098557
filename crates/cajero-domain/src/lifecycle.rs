//! Lifecycles of pay-ins, payouts and refunds: each a status enum, an event enum and one
//! transition function.
//!
//! A transition answers one of three things: the object moves to a new status
//! ([`Step::To`]), the event was already applied and nothing changes ([`Step::Stay`], what a
//! duplicate network callback gets), or the event is not allowed in this status
//! ([`TransitionError`]). The store applies a `Step::To` as a compare-and-set on the old
//! status, so two racing transitions cannot both win.
//!
//! Statuses are persisted and shown by the API with the fixed codes of [`as_str`]; never
//! rename one.
//!
//! [`as_str`]: PayinStatus::as_str

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a transition does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<S> {
    /// Move to this status.
    To(S),
    /// Already there: a repeated event changes nothing.
    Stay,
}

/// An event that the current status does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {event} a {object} that is {from}")]
pub struct TransitionError {
    /// `payin`, `payout` or `refund`.
    pub object: &'static str,
    /// The current status code.
    pub from: &'static str,
    /// The event's name.
    pub event: &'static str,
}

/// An unknown status code read back from storage or input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {object} status {}", crate::shown_text(.got))]
pub struct ParseStatusError {
    /// `payin`, `payout` or `refund`.
    pub object: &'static str,
    /// What was read (at most 32 characters of it).
    pub got: String,
}

macro_rules! status_enum {
    ($(#[$doc:meta])* $name:ident, $object:literal { $($(#[$vdoc:meta])* $variant:ident = $code:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant),*
        }

        impl $name {
            /// Every status, for exhaustive tests.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The fixed code stored and shown by the API.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $code),*
                }
            }

            fn error(self, event: &'static str) -> TransitionError {
                TransitionError { object: $object, from: self.as_str(), event }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ParseStatusError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($code => Ok($name::$variant),)*
                    _ => Err(ParseStatusError { object: $object, got: s.chars().take(32).collect() }),
                }
            }
        }
    };
}

status_enum! {
    /// Where a pay-in (cash voucher) stands.
    PayinStatus, "payin" {
        /// Voucher issued, waiting for the customer to pay at a counter.
        Pending = "pending",
        /// The network confirmed the payment. Final.
        Paid = "paid",
        /// Not paid before `expires_at`. Final, except that a payment the network confirms
        /// was made at or before `expires_at` wins over the local expiry (`PayInTime`); a
        /// later payment is an exception, not a move.
        Expired = "expired",
        /// Canceled by the merchant while pending, or refused by an operator while held.
        /// Final.
        Canceled = "canceled",
        /// Held by the risk checks for an operator's review: no voucher was issued. Released,
        /// it becomes `pending` with its voucher; refused, `canceled`.
        OnHold = "on_hold",
    }
}

/// What can happen to a pay-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayinEvent {
    /// The network confirmed that the customer paid (after `expires_at`, or at a time
    /// unknown).
    Pay,
    /// The network confirmed a payment made at or before `expires_at`: it wins over a local
    /// expiry that got there first (a callback slower than the expiry sweep).
    PayInTime,
    /// `expires_at` passed.
    Expire,
    /// The merchant canceled, or an operator refused a held pay-in.
    Cancel,
    /// An operator released a held pay-in: its voucher is issued.
    Release,
}

impl PayinEvent {
    /// Every event, for exhaustive tests.
    pub const ALL: &'static [PayinEvent] = &[
        PayinEvent::Pay,
        PayinEvent::PayInTime,
        PayinEvent::Expire,
        PayinEvent::Cancel,
        PayinEvent::Release,
    ];

    /// The event's name in errors.
    pub const fn as_str(self) -> &'static str {
        match self {
            PayinEvent::Pay => "pay",
            PayinEvent::PayInTime => "pay in time",
            PayinEvent::Expire => "expire",
            PayinEvent::Cancel => "cancel",
            PayinEvent::Release => "release",
        }
    }
}

impl PayinStatus {
    /// The one transition function of pay-ins.
    ///
    /// A payment made in time always ends `paid`, even when the local expiry closed the
    /// voucher first: the customer paid while it was valid, and nothing moved in the ledger
    /// when it expired. A payment confirmed for a canceled voucher, or made after expiry, is
    /// refused here: that money is recorded as an exception by the caller, never by reopening
    /// the voucher.
    pub fn apply(self, event: PayinEvent) -> Result<Step<PayinStatus>, TransitionError> {
        use PayinEvent as E;
        use PayinStatus as S;
        match (self, event) {
            (S::Pending, E::Pay | E::PayInTime) => Ok(Step::To(S::Paid)),
            (S::Expired, E::PayInTime) => Ok(Step::To(S::Paid)),
            (S::Paid, E::PayInTime) => Ok(Step::Stay),
            (S::Pending, E::Expire) => Ok(Step::To(S::Expired)),
            (S::Pending | S::OnHold, E::Cancel) => Ok(Step::To(S::Canceled)),
            (S::OnHold, E::Release) => Ok(Step::To(S::Pending)),
            (S::OnHold, E::Pay | E::PayInTime | E::Expire) | (_, E::Release) => {
                Err(self.error(event.as_str()))
            }
            (S::Paid, E::Pay) | (S::Expired, E::Expire) | (S::Canceled, E::Cancel) => {
                Ok(Step::Stay)
            }
            (S::Paid | S::Expired | S::Canceled, _) => Err(self.error(event.as_str())),
        }
    }

    /// Whether this pay-in is closed: only a payment made in time can still move an expired
    /// one (to `paid`).
    pub const fn is_final(self) -> bool {
        !matches!(self, PayinStatus::Pending | PayinStatus::OnHold)
    }
}

status_enum! {
    /// Where a payout (cash pick-up) stands.
    PayoutStatus, "payout" {
        /// Accepted; the pick-up code is not issued yet.
        Pending = "pending",
        /// Held for compliance review before a code is issued.
        OnHold = "on_hold",
        /// The code is issued and the funds are reserved.
        Available = "available",
        /// Collected at a counter. Final.
        Paid = "paid",
        /// Not collected before `expires_at`; the reservation is voided. Final.
        Expired = "expired",
        /// Canceled before collection; the reservation is voided. Final.
        Canceled = "canceled",
        /// Refused (by the network, compliance, limits or the balance). Final.
        Failed = "failed",
    }
}

/// What can happen to a payout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayoutEvent {
    /// Compliance wants a review before issuing.
    Hold,
    /// Compliance cleared a held payout.
    Release,
    /// The network issued the pick-up code.
    Issue,
    /// A counter attempt failed (wrong code, document mismatch, no cash, …).
    AttemptFail,
    /// The beneficiary collected the cash (after `expires_at`, or at a time unknown).
    Collect,
    /// The beneficiary collected the cash at or before `expires_at`: it wins over a local
    /// expiry that got there first.
    CollectInTime,
    /// `expires_at` passed.
    Expire,
    /// The merchant canceled.
    Cancel,
    /// The network, compliance, limits or the balance refused it.
    Fail,
}

impl PayoutEvent {
    /// Every event, for exhaustive tests.
    pub const ALL: &'static [PayoutEvent] = &[
        PayoutEvent::Hold,
        PayoutEvent::Release,
        PayoutEvent::Issue,
        PayoutEvent::AttemptFail,
        PayoutEvent::Collect,
        PayoutEvent::CollectInTime,
        PayoutEvent::Expire,
        PayoutEvent::Cancel,
        PayoutEvent::Fail,
    ];

    /// The event's name in errors.
    pub const fn as_str(self) -> &'static str {
        match self {
            PayoutEvent::Hold => "hold",
            PayoutEvent::Release => "release",
            PayoutEvent::Issue => "issue",
            PayoutEvent::AttemptFail => "record a failed attempt on",
            PayoutEvent::Collect => "collect",
            PayoutEvent::CollectInTime => "collect in time",
            PayoutEvent::Expire => "expire",
            PayoutEvent::Cancel => "cancel",
            PayoutEvent::Fail => "fail",
        }
    }
}

impl PayoutStatus {
    /// The one transition function of payouts.
    ///
    /// A failed counter attempt does not end a payout by itself: it stays `available`.
    /// Expiry and cancelation are possible in every open status; collection only once a
    /// code is out. A collection made in time wins over a local expiry (the caller posts the
    /// money again, as the reservation was voided).
    pub fn apply(self, event: PayoutEvent) -> Result<Step<PayoutStatus>, TransitionError> {
        use PayoutEvent as E;
        use PayoutStatus as S;
        match (self, event) {
            (S::Pending, E::Hold) => Ok(Step::To(S::OnHold)),
            (S::OnHold, E::Hold) => Ok(Step::Stay),
            (S::OnHold, E::Release) => Ok(Step::To(S::Pending)),
            (S::Pending | S::OnHold, E::Issue) => Ok(Step::To(S::Available)),
            (S::Available, E::Issue) => Ok(Step::Stay),
            (S::Available, E::AttemptFail) => Ok(Step::Stay),
            (S::Available, E::Collect | E::CollectInTime) => Ok(Step::To(S::Paid)),
            (S::Expired, E::CollectInTime) => Ok(Step::To(S::Paid)),
            (S::Paid, E::Collect | E::CollectInTime) => Ok(Step::Stay),
            (S::Pending | S::OnHold | S::Available, E::Expire) => Ok(Step::To(S::Expired)),
            (S::Expired, E::Expire) => Ok(Step::Stay),
            (S::Pending | S::OnHold | S::Available, E::Cancel) => Ok(Step::To(S::Canceled)),
            (S::Canceled, E::Cancel) => Ok(Step::Stay),
            (S::Pending | S::OnHold, E::Fail) => Ok(Step::To(S::Failed)),
            (S::Failed, E::Fail) => Ok(Step::Stay),
            _ => Err(self.error(event.as_str())),
        }
    }

    /// Whether this payout is closed: only a collection made in time can still move an expired
    /// one (to `paid`).
    pub const fn is_final(self) -> bool {
        matches!(
            self,
            PayoutStatus::Paid
                | PayoutStatus::Expired
                | PayoutStatus::Canceled
                | PayoutStatus::Failed
        )
    }

    /// Whether funds are reserved on the merchant's balance in this status.
    pub const fn holds_funds(self) -> bool {
        matches!(self, PayoutStatus::Available)
    }
}

status_enum! {
    /// Where a refund of a pay-in stands.
    RefundStatus, "refund" {
        /// Created; the money has not reached the customer yet.
        Pending = "pending",
        /// The customer got the money (pick-up collected or transfer recorded). Final.
        Succeeded = "succeeded",
        /// The refund could not be paid. Final.
        Failed = "failed",
        /// Canceled before it was paid. Final.
        Canceled = "canceled",
    }
}

/// What can happen to a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefundEvent {
    /// The money reached the customer.
    Succeed,
    /// The refund could not be paid (its pick-up expired or was refused).
    Fail,
    /// Canceled before it was paid.
    Cancel,
}

impl RefundEvent {
    /// Every event, for exhaustive tests.
    pub const ALL: &'static [RefundEvent] =
        &[RefundEvent::Succeed, RefundEvent::Fail, RefundEvent::Cancel];

    /// The event's name in errors.
    pub const fn as_str(self) -> &'static str {
        match self {
            RefundEvent::Succeed => "succeed",
            RefundEvent::Fail => "fail",
            RefundEvent::Cancel => "cancel",
        }
    }
}

impl RefundStatus {
    /// The one transition function of refunds.
    pub fn apply(self, event: RefundEvent) -> Result<Step<RefundStatus>, TransitionError> {
        use RefundEvent as E;
        use RefundStatus as S;
        match (self, event) {
            (S::Pending, E::Succeed) => Ok(Step::To(S::Succeeded)),
            (S::Pending, E::Fail) => Ok(Step::To(S::Failed)),
            (S::Pending, E::Cancel) => Ok(Step::To(S::Canceled)),
            (S::Succeeded, E::Succeed) | (S::Failed, E::Fail) | (S::Canceled, E::Cancel) => {
                Ok(Step::Stay)
            }
            (S::Succeeded | S::Failed | S::Canceled, _) => Err(self.error(event.as_str())),
        }
    }

    /// Whether no event can move this refund any more.
    pub const fn is_final(self) -> bool {
        !matches!(self, RefundStatus::Pending)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Expected outcome: `Some(Some(to))` moves, `Some(None)` stays, `None` is refused.
    type Table<S, E> = &'static [(S, E, Option<Option<S>>)];

    fn check_table<S, E>(
        states: &[S],
        events: &[E],
        table: Table<S, E>,
        apply: impl Fn(S, E) -> Result<Step<S>, TransitionError>,
    ) where
        S: Copy + Eq + std::hash::Hash + fmt::Debug,
        E: Copy + Eq + std::hash::Hash + fmt::Debug,
    {
        let expected: HashMap<(S, E), Option<Option<S>>> =
            table.iter().map(|(s, e, o)| ((*s, *e), *o)).collect();
        assert_eq!(expected.len(), table.len(), "the table lists a pair twice");
        for &s in states {
            for &e in events {
                let want = expected
                    .get(&(s, e))
                    .unwrap_or_else(|| panic!("the table misses ({s:?}, {e:?})"));
                let got = apply(s, e);
                match (want, got) {
                    (Some(Some(to)), Ok(Step::To(t))) => assert_eq!(*to, t, "({s:?}, {e:?})"),
                    (Some(None), Ok(Step::Stay)) => {}
                    (None, Err(_)) => {}
                    (w, g) => panic!("({s:?}, {e:?}): expected {w:?}, got {g:?}"),
                }
            }
        }
    }

    #[test]
    fn every_payin_state_and_event_pair_behaves_as_specified() {
        use PayinEvent as E;
        use PayinStatus as S;
        const T: Table<S, E> = &[
            (S::Pending, E::Pay, Some(Some(S::Paid))),
            (S::Pending, E::PayInTime, Some(Some(S::Paid))),
            (S::Pending, E::Expire, Some(Some(S::Expired))),
            (S::Pending, E::Cancel, Some(Some(S::Canceled))),
            (S::Paid, E::Pay, Some(None)),
            (S::Paid, E::PayInTime, Some(None)),
            (S::Paid, E::Expire, None),
            (S::Paid, E::Cancel, None),
            (S::Expired, E::Pay, None),
            (S::Expired, E::PayInTime, Some(Some(S::Paid))),
            (S::Expired, E::Expire, Some(None)),
            (S::Expired, E::Cancel, None),
            (S::Canceled, E::Pay, None),
            (S::Canceled, E::PayInTime, None),
            (S::Canceled, E::Expire, None),
            (S::Canceled, E::Cancel, Some(None)),
            (S::Pending, E::Release, None),
            (S::Paid, E::Release, None),
            (S::Expired, E::Release, None),
            (S::Canceled, E::Release, None),
            (S::OnHold, E::Pay, None),
            (S::OnHold, E::PayInTime, None),
            (S::OnHold, E::Expire, None),
            (S::OnHold, E::Cancel, Some(Some(S::Canceled))),
            (S::OnHold, E::Release, Some(Some(S::Pending))),
        ];
        check_table(S::ALL, E::ALL, T, S::apply);
    }

    #[test]
    fn every_payout_state_and_event_pair_behaves_as_specified() {
        use PayoutEvent as E;
        use PayoutStatus as S;
        const T: Table<S, E> = &[
            (S::Pending, E::Hold, Some(Some(S::OnHold))),
            (S::Pending, E::Release, None),
            (S::Pending, E::Issue, Some(Some(S::Available))),
            (S::Pending, E::AttemptFail, None),
            (S::Pending, E::Collect, None),
            (S::Pending, E::CollectInTime, None),
            (S::Pending, E::Expire, Some(Some(S::Expired))),
            (S::Pending, E::Cancel, Some(Some(S::Canceled))),
            (S::Pending, E::Fail, Some(Some(S::Failed))),
            (S::OnHold, E::Hold, Some(None)),
            (S::OnHold, E::Release, Some(Some(S::Pending))),
            (S::OnHold, E::Issue, Some(Some(S::Available))),
            (S::OnHold, E::AttemptFail, None),
            (S::OnHold, E::Collect, None),
            (S::OnHold, E::CollectInTime, None),
            (S::OnHold, E::Expire, Some(Some(S::Expired))),
            (S::OnHold, E::Cancel, Some(Some(S::Canceled))),
            (S::OnHold, E::Fail, Some(Some(S::Failed))),
            (S::Available, E::Hold, None),
            (S::Available, E::Release, None),
            (S::Available, E::Issue, Some(None)),
            (S::Available, E::AttemptFail, Some(None)),
            (S::Available, E::Collect, Some(Some(S::Paid))),
            (S::Available, E::CollectInTime, Some(Some(S::Paid))),
            (S::Available, E::Expire, Some(Some(S::Expired))),
            (S::Available, E::Cancel, Some(Some(S::Canceled))),
            (S::Available, E::Fail, None),
            (S::Paid, E::Hold, None),
            (S::Paid, E::Release, None),
            (S::Paid, E::Issue, None),
            (S::Paid, E::AttemptFail, None),
            (S::Paid, E::Collect, Some(None)),
            (S::Paid, E::CollectInTime, Some(None)),
            (S::Paid, E::Expire, None),
            (S::Paid, E::Cancel, None),
            (S::Paid, E::Fail, None),
            (S::Expired, E::Hold, None),
            (S::Expired, E::Release, None),
            (S::Expired, E::Issue, None),
            (S::Expired, E::AttemptFail, None),
            (S::Expired, E::Collect, None),
            (S::Expired, E::CollectInTime, Some(Some(S::Paid))),
            (S::Expired, E::Expire, Some(None)),
            (S::Expired, E::Cancel, None),
            (S::Expired, E::Fail, None),
            (S::Canceled, E::Hold, None),
            (S::Canceled, E::Release, None),
            (S::Canceled, E::Issue, None),
            (S::Canceled, E::AttemptFail, None),
            (S::Canceled, E::Collect, None),
            (S::Canceled, E::CollectInTime, None),
            (S::Canceled, E::Expire, None),
            (S::Canceled, E::Cancel, Some(None)),
            (S::Canceled, E::Fail, None),
            (S::Failed, E::Hold, None),
            (S::Failed, E::Release, None),
            (S::Failed, E::Issue, None),
            (S::Failed, E::AttemptFail, None),
            (S::Failed, E::Collect, None),
            (S::Failed, E::CollectInTime, None),
            (S::Failed, E::Expire, None),
            (S::Failed, E::Cancel, None),
            (S::Failed, E::Fail, Some(None)),
        ];
        check_table(S::ALL, E::ALL, T, S::apply);
    }

    #[test]
    fn every_refund_state_and_event_pair_behaves_as_specified() {
        use RefundEvent as E;
        use RefundStatus as S;
        const T: Table<S, E> = &[
            (S::Pending, E::Succeed, Some(Some(S::Succeeded))),
            (S::Pending, E::Fail, Some(Some(S::Failed))),
            (S::Pending, E::Cancel, Some(Some(S::Canceled))),
            (S::Succeeded, E::Succeed, Some(None)),
            (S::Succeeded, E::Fail, None),
            (S::Succeeded, E::Cancel, None),
            (S::Failed, E::Succeed, None),
            (S::Failed, E::Fail, Some(None)),
            (S::Failed, E::Cancel, None),
            (S::Canceled, E::Succeed, None),
            (S::Canceled, E::Fail, None),
            (S::Canceled, E::Cancel, Some(None)),
        ];
        check_table(S::ALL, E::ALL, T, S::apply);
    }

    #[test]
    fn final_statuses_accept_no_move_but_an_in_time_payment() {
        for &s in PayoutStatus::ALL {
            let moves = PayoutEvent::ALL
                .iter()
                .filter(|&&e| e != PayoutEvent::CollectInTime)
                .any(|&e| matches!(s.apply(e), Ok(Step::To(_))));
            assert_eq!(moves, !s.is_final(), "{s:?}");
        }
        for &s in PayinStatus::ALL {
            let moves = PayinEvent::ALL
                .iter()
                .filter(|&&e| e != PayinEvent::PayInTime)
                .any(|&e| matches!(s.apply(e), Ok(Step::To(_))));
            assert_eq!(moves, !s.is_final(), "{s:?}");
        }
        for &s in RefundStatus::ALL {
            let moves = RefundEvent::ALL
                .iter()
                .any(|&e| matches!(s.apply(e), Ok(Step::To(_))));
            assert_eq!(moves, !s.is_final(), "{s:?}");
        }
    }

    #[test]
    fn status_codes_round_trip_and_match_serde() {
        for &s in PayoutStatus::ALL {
            assert_eq!(s.as_str().parse::<PayoutStatus>().unwrap(), s);
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        for &s in PayinStatus::ALL {
            assert_eq!(s.as_str().parse::<PayinStatus>().unwrap(), s);
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        for &s in RefundStatus::ALL {
            assert_eq!(s.as_str().parse::<RefundStatus>().unwrap(), s);
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert!("PAID".parse::<PayinStatus>().is_err());
    }

    #[test]
    fn refusals_say_what_was_refused() {
        let err = PayinStatus::Expired.apply(PayinEvent::Pay).unwrap_err();
        assert_eq!(err.to_string(), "cannot pay a payin that is expired");
    }
}
