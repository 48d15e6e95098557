//! Which cash operations go into the UIAF's monthly report (Colombia's financial intelligence
//! unit; `reference/colombia.md`): a single cash operation of at least
//! [`SINGLE_OPERATION_COP`], and every operation of a person (by identity document) whose
//! operations in the calendar month (Bogotá) add up to at least [`MONTHLY_PERSON_COP`] —
//! across every merchant of the instance, pay-ins and payouts together. The report is due by
//! the 10th of the next month ([`due_by`]).
//!
//! Pure: the caller gathers the month's completed live operations ([`Operation`]); this module
//! decides which are reported and why. The same thresholds decide, one operation at a time,
//! which are flagged as they happen ([`flagging`]): the flags of a complete month are the
//! report's rows ([`Why::flag`]).

use std::collections::BTreeMap;

use jiff::civil::Date;

/// A single cash operation of at least this many pesos is reported.
pub const SINGLE_OPERATION_COP: i64 = 10_000_000;
/// A person whose operations in a calendar month add up to at least this many pesos has all of
/// them reported.
pub const MONTHLY_PERSON_COP: i64 = 50_000_000;
/// The report of month M is due by this day of month M + 1.
pub const DUE_DAY: i8 = 10;

/// Which way the cash went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Direction {
    /// Paid in at a counter (a pay-in).
    CashIn,
    /// Collected at a counter (a payout).
    CashOut,
}

impl Direction {
    /// `cash_in` or `cash_out`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Direction::CashIn => "cash_in",
            Direction::CashOut => "cash_out",
        }
    }
}

/// A completed live cash operation of the month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// The order (`pi_…`, `po_…`).
    pub order_id: String,
    /// Whose order.
    pub merchant_id: String,
    /// When the cash changed hands, as a Bogotá date and time (`YYYY-MM-DD HH:MM`).
    pub at: String,
    /// Pesos.
    pub amount: i64,
    /// In or out.
    pub direction: Direction,
    /// The person's document type (`CC`, `CE`, …), when known.
    pub document_type: Option<String>,
    /// Its number, when known.
    pub document_number: Option<String>,
    /// The person's name, when known.
    pub name: Option<String>,
    /// The counter where it happened, when the network said.
    pub counter: Option<String>,
    /// The counter's municipality (DANE code), when known.
    pub municipality: Option<String>,
    /// The cash network.
    pub network: String,
}

/// Why an operation is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// It alone reaches [`SINGLE_OPERATION_COP`].
    Single,
    /// Its person's month reaches [`MONTHLY_PERSON_COP`].
    Multiple,
    /// Both.
    SingleAndMultiple,
}

impl Why {
    /// `single`, `multiple`, `single_and_multiple`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Why::Single => "single",
            Why::Multiple => "multiple",
            Why::SingleAndMultiple => "single_and_multiple",
        }
    }

    /// The flag an operation reported for this reason carries: an operation that is single is
    /// flagged as such the moment it completes, before its person's month can add up.
    pub const fn flag(self) -> FlagWhy {
        match self {
            Why::Single | Why::SingleAndMultiple => FlagWhy::Single,
            Why::Multiple => FlagWhy::MonthlyAggregate,
        }
    }
}

/// Whether an operation of `amount` pesos is reported on its own.
pub const fn is_single(amount: i64) -> bool {
    amount >= SINGLE_OPERATION_COP
}

/// Whether a person whose operations of a month add up to `total` pesos has all of them
/// reported.
pub const fn reaches_month(total: i64) -> bool {
    total >= MONTHLY_PERSON_COP
}

/// Why an operation is flagged as it happens: the first reason found, kept (an operation is
/// flagged once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagWhy {
    /// It alone reaches [`SINGLE_OPERATION_COP`].
    Single,
    /// It is not single, and its person's month reaches [`MONTHLY_PERSON_COP`].
    MonthlyAggregate,
}

impl FlagWhy {
    /// `single` or `monthly_aggregate`, as stored.
    pub const fn as_str(self) -> &'static str {
        match self {
            FlagWhy::Single => "single",
            FlagWhy::MonthlyAggregate => "monthly_aggregate",
        }
    }

    /// The stored text back; `None` for anything else.
    pub fn parse(text: &str) -> Option<FlagWhy> {
        match text {
            "single" => Some(FlagWhy::Single),
            "monthly_aggregate" => Some(FlagWhy::MonthlyAggregate),
            _ => None,
        }
    }
}

/// Why an operation of `amount` is flagged when its person's month has `reached` the
/// threshold (false without a document); `None`: not (or not yet).
pub const fn flag_why(amount: i64, reached: bool) -> Option<FlagWhy> {
    if is_single(amount) {
        Some(FlagWhy::Single)
    } else if reached {
        Some(FlagWhy::MonthlyAggregate)
    } else {
        None
    }
}

/// What one newly completed operation decides ([`flagging`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flagging {
    /// Flag it, and why; `None`: not yet (a later operation of its person's month may).
    pub why: Option<FlagWhy>,
    /// Its person's month reaches the threshold with it: the month's earlier operations of
    /// that person are flagged too.
    pub month_reached_now: bool,
}

/// The decision for an operation of `amount` whose person's operations of the month added up
/// to `month_total_before` before it (`None`: no document, so nothing adds up).
pub const fn flagging(amount: i64, month_total_before: Option<i64>) -> Flagging {
    let (before, after) = match month_total_before {
        Some(before) => (
            reaches_month(before),
            reaches_month(before.saturating_add(amount)),
        ),
        None => (false, false),
    };
    Flagging {
        why: flag_why(amount, after),
        month_reached_now: after && !before,
    }
}

/// The person an operation is counted for: its document, upper-cased, without spaces, dots
/// or dashes (`1.020.304-050` and `1020304050` are one person); `None` without a document.
pub fn person(op: &Operation) -> Option<(String, String)> {
    let kind = op.document_type.as_deref()?.trim().to_uppercase();
    let number: String = op
        .document_number
        .as_deref()?
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (!kind.is_empty() && !number.is_empty()).then_some((kind, number))
}

/// The month's reportable operations with why, in the order given. Operations without a
/// document are reported only when single; each person's total is the sum of all its
/// operations of the month, in and out.
pub fn reportable(ops: &[Operation]) -> Vec<(&Operation, Why)> {
    let mut totals: BTreeMap<(String, String), i64> = BTreeMap::new();
    for op in ops {
        if let Some(p) = person(op) {
            let total = totals.entry(p).or_insert(0);
            *total = total.saturating_add(op.amount);
        }
    }
    ops.iter()
        .filter_map(|op| {
            let single = is_single(op.amount);
            let multiple = person(op)
                .and_then(|p| totals.get(&p).copied())
                .is_some_and(reaches_month);
            match (single, multiple) {
                (true, true) => Some((op, Why::SingleAndMultiple)),
                (true, false) => Some((op, Why::Single)),
                (false, true) => Some((op, Why::Multiple)),
                (false, false) => None,
            }
        })
        .collect()
}

/// The day the report of the month starting `month` is due by.
pub fn due_by(month: Date) -> Option<Date> {
    let next = month
        .first_of_month()
        .checked_add(jiff::Span::new().months(1))
        .ok()?;
    next.with().day(DUE_DAY).build().ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn op(id: &str, amount: i64, document: Option<&str>) -> Operation {
        Operation {
            order_id: id.into(),
            merchant_id: "mer_1".into(),
            at: "2026-11-03 10:00".into(),
            amount,
            direction: Direction::CashOut,
            document_type: document.map(|_| "CC".into()),
            document_number: document.map(str::to_owned),
            name: Some("Luis Pérez".into()),
            counter: None,
            municipality: None,
            network: "efecty".into(),
        }
    }

    #[test]
    fn a_single_operation_is_reported_from_ten_million() {
        let ops = [
            op("a", SINGLE_OPERATION_COP - 1, None),
            op("b", SINGLE_OPERATION_COP, None),
            op("c", SINGLE_OPERATION_COP + 1, Some("1")),
        ];
        let ids: Vec<_> = reportable(&ops)
            .iter()
            .map(|(o, why)| (o.order_id.as_str(), *why))
            .collect();
        assert_eq!(ids, [("b", Why::Single), ("c", Why::Single)]);
    }

    #[test]
    fn a_persons_month_is_reported_from_fifty_million_in_and_out_together() {
        // Just below: 49,999,995 in five operations, none single.
        let below: Vec<_> = (0..5)
            .map(|i| op(&format!("b{i}"), 9_999_999, Some("1020304050")))
            .collect();
        assert_eq!(below.iter().map(|o| o.amount).sum::<i64>(), 49_999_995);
        assert!(reportable(&below).is_empty());
        // Just above with a sixth: every operation of the person.
        let mut above = below.clone();
        above.push(op("b5", 10, Some("1020304050")));
        assert_eq!(reportable(&above).len(), 6);
        // At: 50,000,000 in ten operations of 5,000,000, written in different ways, one in.
        let mut at: Vec<_> = (0..10)
            .map(|i| {
                op(
                    &format!("a{i}"),
                    5_000_000,
                    Some(if i % 2 == 0 {
                        "1020304050"
                    } else {
                        "1.020.304.050"
                    }),
                )
            })
            .collect();
        at[3].direction = Direction::CashIn;
        let reported = reportable(&at);
        assert_eq!(reported.len(), 10);
        assert!(reported.iter().all(|(_, why)| *why == Why::Multiple));
        // Another person's operations are not pulled in.
        at.push(op("other", 5_000_000, Some("79876543")));
        assert_eq!(reportable(&at).len(), 10);
        // Without a document nothing adds up.
        let anonymous: Vec<_> = (0..11)
            .map(|i| op(&format!("n{i}"), 5_000_000, None))
            .collect();
        assert!(reportable(&anonymous).is_empty());
    }

    #[test]
    fn an_operation_is_flagged_once_single_or_once_its_persons_month_adds_up() {
        let at = |amount, before| flagging(amount, before);
        // Single, at and just below, with or without a document.
        assert_eq!(at(SINGLE_OPERATION_COP, None).why, Some(FlagWhy::Single));
        assert_eq!(at(SINGLE_OPERATION_COP - 1, None).why, None);
        assert_eq!(at(SINGLE_OPERATION_COP - 1, Some(0)).why, None);
        // The operation that takes the month to the threshold: flagged, and the earlier ones.
        let reaching = at(5_000_000, Some(MONTHLY_PERSON_COP - 5_000_000));
        assert_eq!(reaching.why, Some(FlagWhy::MonthlyAggregate));
        assert!(reaching.month_reached_now);
        // Just below it: nothing yet.
        let below = at(4_999_999, Some(MONTHLY_PERSON_COP - 5_000_000));
        assert_eq!((below.why, below.month_reached_now), (None, false));
        // After it: each one flagged, the earlier ones already are.
        let after = at(1, Some(MONTHLY_PERSON_COP));
        assert_eq!(after.why, Some(FlagWhy::MonthlyAggregate));
        assert!(!after.month_reached_now);
        // A single one that reaches the month is flagged as single; the earlier ones too.
        let both = at(SINGLE_OPERATION_COP, Some(MONTHLY_PERSON_COP - 1));
        assert_eq!(both.why, Some(FlagWhy::Single));
        assert!(both.month_reached_now);
        // The earlier ones of a reached month: single ones keep their reason.
        assert_eq!(flag_why(SINGLE_OPERATION_COP, true), Some(FlagWhy::Single));
        assert_eq!(flag_why(1, true), Some(FlagWhy::MonthlyAggregate));
        assert_eq!(flag_why(1, false), None);
    }

    #[test]
    fn a_reported_operation_carries_the_flag_its_reason_gives() {
        assert_eq!(Why::Single.flag(), FlagWhy::Single);
        assert_eq!(Why::SingleAndMultiple.flag(), FlagWhy::Single);
        assert_eq!(Why::Multiple.flag(), FlagWhy::MonthlyAggregate);
        for why in [FlagWhy::Single, FlagWhy::MonthlyAggregate] {
            assert_eq!(FlagWhy::parse(why.as_str()), Some(why));
        }
        assert_eq!(FlagWhy::parse("multiple"), None);
    }

    #[test]
    fn the_report_is_due_by_the_tenth_of_the_next_month() {
        let nov = jiff::civil::date(2026, 11, 1);
        assert_eq!(due_by(nov), Some(jiff::civil::date(2026, 12, 10)));
        let dec = jiff::civil::date(2026, 12, 15);
        assert_eq!(due_by(dec), Some(jiff::civil::date(2027, 1, 10)));
    }
}
