//! Settlement-file faults aimed at one order (or one file), so a test can inject exactly one
//! discrepancy of each kind and expect exactly one exception from reconciliation.
//!
//! The share-based knobs of [`crate::config::Faults`] make a long-running simulator noisy;
//! these name their victims. Both change only the *files*: the state (orders, attempts,
//! callbacks) stays what it was. The set is replaced whole (`PUT /sim/v1/settlement_faults`),
//! persisted with the other knobs, and checked against the state when it is put, so a typo in
//! an order id is a 400 that names it rather than a fault that silently never shows.

use std::collections::BTreeMap;
use std::fmt;

use cajero_domain::Amount;
use cajero_domain::asobancaria::REFERENCE_DIGITS;
use cajero_domain::calendar::bogota_date;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::engine::State;
use crate::model::{Order, OrderKind, OrderStatus};

/// Every targeted settlement fault in force. Empty by default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SettlementFaults {
    /// Paid orders whose line is left out.
    pub missing_line: Vec<OrderFault>,
    /// Paid orders whose line carries another amount.
    pub changed_amount: Vec<ChangedAmount>,
    /// Paid orders whose line appears twice.
    pub duplicate_line: Vec<OrderFault>,
    /// Lines for orders nobody created.
    pub extra_line: Vec<ExtraLine>,
    /// Expired orders that appear as paid.
    pub paid_after_expiry: Vec<PaidAfterExpiry>,
    /// Asobancaria control records (08, 09) that disagree with the details.
    pub broken_control_totals: Option<BrokenControlTotals>,
}

/// A fault on one order, by the network's order id (`col_…`, `giro_…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderFault {
    /// The simulator's order id (cajero's network order id).
    pub order_id: String,
}

/// A paid order's line with its amount changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangedAmount {
    /// The simulator's order id.
    pub order_id: String,
    /// Pesos added to the amount (negative: taken off); never 0, and the line stays positive.
    pub delta: i64,
}

/// A line for an order the network says it collected and nobody created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraLine {
    /// The Bogotá day whose file carries it.
    pub date: Date,
    /// Network; the default network when absent.
    #[serde(default)]
    pub network: Option<String>,
    /// The merchant whose file (and batch of the whole-network file) carries it.
    pub merchant_id: String,
    /// `collection` (both formats) or `payout` (CSV only: Asobancaria carries pay-ins).
    #[serde(default = "collection")]
    pub kind: OrderKind,
    /// Payment or pick-up code: digits, as many as the network's codes of that kind, and no
    /// order's code.
    pub code: LineCode,
    /// Pesos, more than 0.
    pub amount: Amount,
}

fn collection() -> OrderKind {
    OrderKind::Collection
}

/// An expired order that a file shows paid, as when a counter took cash on an expired
/// voucher and no callback came.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaidAfterExpiry {
    /// The simulator's order id; the order must be `expired`.
    pub order_id: String,
    /// The Bogotá day whose file shows it; absent: every file asked for, from the day it
    /// expired on.
    #[serde(default)]
    pub date: Option<Date>,
}

/// Control records that disagree with the details: the first batch's 08 and the file's 09
/// are shifted by the same deltas (so they agree with each other, not with the details).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokenControlTotals {
    /// Only the file of this Bogotá day; absent: every Asobancaria file.
    #[serde(default)]
    pub date: Option<Date>,
    /// Pesos added to the totals (08-3, 09-3).
    #[serde(default = "one_peso")]
    pub total_delta: u32,
    /// Details added to the counts (08-2, 09-2).
    #[serde(default)]
    pub count_delta: u32,
}

fn one_peso() -> u32 {
    1
}

impl BrokenControlTotals {
    /// Whether the file of `date` is broken.
    pub fn applies_to(&self, date: Date) -> bool {
        self.date.is_none_or(|d| d == date)
    }
}

/// A code of an extra line: ASCII digits, at most the width of an Asobancaria reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LineCode(String);

impl LineCode {
    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a string is not a line code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseLineCodeError {
    /// Empty, or something other than ASCII digits.
    #[error("a code is digits only, got {0:?}")]
    NotDigits(String),
    /// Wider than an Asobancaria reference.
    #[error("a code has at most {REFERENCE_DIGITS} digits, got {0}")]
    TooLong(usize),
}

impl TryFrom<String> for LineCode {
    type Error = ParseLineCodeError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseLineCodeError::NotDigits(
                value.chars().take(60).collect(),
            ));
        }
        if value.len() > REFERENCE_DIGITS {
            return Err(ParseLineCodeError::TooLong(value.len()));
        }
        Ok(LineCode(value))
    }
}

impl From<LineCode> for String {
    fn from(value: LineCode) -> Self {
        value.0
    }
}

/// A fault that cannot be put, and where in the body it is (`changed_amount[0].order_id`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{param}: {problem}")]
pub struct SettlementFaultError {
    /// Path of the offending field in the body.
    pub param: String,
    /// What is wrong with it.
    pub problem: FaultProblem,
}

/// What is wrong with one fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultProblem {
    /// No order has this id.
    #[error("no order {0:?}")]
    UnknownOrder(String),
    /// Two faults name one order: which one would show is not obvious, so neither is taken.
    #[error("order {order_id} is already named by {other}; one fault per order")]
    OrderNamedTwice { order_id: String, other: String },
    /// `paid_after_expiry` of an order the network does not hold as expired.
    #[error("order {order_id} is {status}, not expired")]
    NotExpired {
        order_id: String,
        status: &'static str,
    },
    /// `paid_after_expiry` on a day before the order's expiry.
    #[error("order {order_id} expires on {expiry}; it cannot be paid after expiry on {date}")]
    BeforeExpiry {
        order_id: String,
        expiry: Date,
        date: Date,
    },
    /// A delta of zero.
    #[error("a delta of 0 changes nothing")]
    ZeroDelta,
    /// The changed amount would not be positive.
    #[error(
        "order {order_id} is {amount} pesos; {delta:+} would leave the line at {result}, and a line is more than 0"
    )]
    AmountNotPositive {
        order_id: String,
        amount: i64,
        delta: i64,
        result: i64,
    },
    /// An extra line of 0 pesos.
    #[error("the amount must be more than 0")]
    ZeroAmount,
    /// No such network profile.
    #[error("no network {0:?}")]
    UnknownNetwork(String),
    /// No such merchant.
    #[error("no merchant {0:?}")]
    UnknownMerchant(String),
    /// A code of the wrong length for the network.
    #[error("{network} {kind} codes have {expected} digits, got {got}")]
    CodeLength {
        network: String,
        kind: &'static str,
        expected: u8,
        got: usize,
    },
    /// The code is a real order's.
    #[error("code {code} is order {order_id}'s; an extra line is for an order nobody created")]
    CodeTaken { code: String, order_id: String },
    /// Both deltas of `broken_control_totals` are zero.
    #[error("total_delta and count_delta are both 0: nothing would break")]
    NothingBroken,
}

impl SettlementFaults {
    /// Whether no fault is set.
    pub fn is_empty(&self) -> bool {
        self == &SettlementFaults::default()
    }

    /// Checks every fault against the state: orders exist (and are expired where that is the
    /// point), one fault per order, amounts stay positive, extra codes fit the network and are
    /// nobody's.
    pub fn check(&self, state: &State) -> Result<(), SettlementFaultError> {
        let mut named: BTreeMap<&str, String> = BTreeMap::new();
        let mut name = |param: String, order_id: &str| -> Result<&Order, SettlementFaultError> {
            let order = state
                .order_any(order_id)
                .ok_or_else(|| SettlementFaultError {
                    param: param.clone(),
                    problem: FaultProblem::UnknownOrder(order_id.to_owned()),
                })?;
            if let Some(other) = named.insert(&order.id, param.clone()) {
                return Err(SettlementFaultError {
                    param,
                    problem: FaultProblem::OrderNamedTwice {
                        order_id: order_id.to_owned(),
                        other,
                    },
                });
            }
            Ok(order)
        };
        for (i, f) in self.missing_line.iter().enumerate() {
            name(format!("missing_line[{i}].order_id"), &f.order_id)?;
        }
        for (i, f) in self.duplicate_line.iter().enumerate() {
            name(format!("duplicate_line[{i}].order_id"), &f.order_id)?;
        }
        for (i, f) in self.changed_amount.iter().enumerate() {
            let order = name(format!("changed_amount[{i}].order_id"), &f.order_id)?;
            check_delta(order, f.delta).map_err(|problem| SettlementFaultError {
                param: format!("changed_amount[{i}].delta"),
                problem,
            })?;
        }
        for (i, f) in self.paid_after_expiry.iter().enumerate() {
            let order = name(format!("paid_after_expiry[{i}].order_id"), &f.order_id)?;
            check_expired(order, f.date).map_err(|problem| SettlementFaultError {
                param: format!("paid_after_expiry[{i}]"),
                problem,
            })?;
        }
        for (i, line) in self.extra_line.iter().enumerate() {
            check_extra_line(state, line).map_err(|(field, problem)| SettlementFaultError {
                param: format!("extra_line[{i}].{field}"),
                problem,
            })?;
        }
        if let Some(b) = &self.broken_control_totals
            && b.total_delta == 0
            && b.count_delta == 0
        {
            return Err(SettlementFaultError {
                param: "broken_control_totals".into(),
                problem: FaultProblem::NothingBroken,
            });
        }
        Ok(())
    }

    /// What the targeted faults do to one order's line (`None`: nothing).
    pub fn fault_on(&self, order_id: &str) -> Option<LineFault> {
        let named = |list: &[OrderFault]| list.iter().any(|f| f.order_id == order_id);
        if named(&self.missing_line) {
            return Some(LineFault::Missing);
        }
        if named(&self.duplicate_line) {
            return Some(LineFault::Duplicated);
        }
        self.changed_amount
            .iter()
            .find(|f| f.order_id == order_id)
            .map(|f| LineFault::AmountChanged { delta: f.delta })
    }
}

/// What a targeted fault does to a paid order's line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineFault {
    /// Left out.
    Missing,
    /// Written twice.
    Duplicated,
    /// Written with its amount plus `delta` pesos.
    AmountChanged { delta: i64 },
}

fn check_delta(order: &Order, delta: i64) -> Result<(), FaultProblem> {
    if delta == 0 {
        return Err(FaultProblem::ZeroDelta);
    }
    let amount = order.amount.minor();
    let result = amount.saturating_add(delta);
    if result <= 0 || Amount::new(result).is_err() {
        return Err(FaultProblem::AmountNotPositive {
            order_id: order.id.clone(),
            amount,
            delta,
            result,
        });
    }
    Ok(())
}

fn check_expired(order: &Order, date: Option<Date>) -> Result<(), FaultProblem> {
    if order.status != OrderStatus::Expired {
        return Err(FaultProblem::NotExpired {
            order_id: order.id.clone(),
            status: order.status.as_str(),
        });
    }
    let expiry = bogota_date(order.expires_at);
    match date {
        Some(date) if date < expiry => Err(FaultProblem::BeforeExpiry {
            order_id: order.id.clone(),
            expiry,
            date,
        }),
        _ => Ok(()),
    }
}

fn check_extra_line(state: &State, line: &ExtraLine) -> Result<(), (&'static str, FaultProblem)> {
    let network = line.network.as_deref().unwrap_or(&state.default_network);
    let profile = state
        .profile(network)
        .map_err(|_| ("network", FaultProblem::UnknownNetwork(network.to_owned())))?;
    if state.merchant(&line.merchant_id).is_none() {
        return Err((
            "merchant_id",
            FaultProblem::UnknownMerchant(line.merchant_id.clone()),
        ));
    }
    if line.amount.minor() == 0 {
        return Err(("amount", FaultProblem::ZeroAmount));
    }
    let expected = match line.kind {
        OrderKind::Collection => profile.payment_code_digits,
        OrderKind::Payout => profile.pickup_code_digits,
    };
    let code = line.code.as_str();
    if code.len() != usize::from(expected) {
        return Err((
            "code",
            FaultProblem::CodeLength {
                network: network.to_owned(),
                kind: line.kind.as_str(),
                expected,
                got: code.len(),
            },
        ));
    }
    let key = (network.to_owned(), line.kind, code.to_owned());
    if let Some(order_id) = state.by_code.get(&key) {
        return Err((
            "code",
            FaultProblem::CodeTaken {
                code: code.to_owned(),
                order_id: order_id.clone(),
            },
        ));
    }
    Ok(())
}

impl fmt::Display for LineCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
