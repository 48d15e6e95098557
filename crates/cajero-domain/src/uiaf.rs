//! Which cash operations go into the UIAF's monthly report (Colombia's financial intelligence
//! unit; `reference/colombia.md`): a single cash operation of at least
//! [`SINGLE_OPERATION_COP`], and every operation of a person (by identity document) whose
//! operations in the calendar month (Bogotá) add up to at least [`MONTHLY_PERSON_COP`] —
//! across every merchant of the instance, pay-ins and payouts together. The report is due by
//! the 10th of the next month ([`due_by`]).
//!
//! Pure: the caller gathers the month's completed live operations ([`Operation`]); this module
//! decides which are reported and why.

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
            let single = op.amount >= SINGLE_OPERATION_COP;
            let multiple = person(op)
                .and_then(|p| totals.get(&p).copied())
                .is_some_and(|t| t >= MONTHLY_PERSON_COP);
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
    fn the_report_is_due_by_the_tenth_of_the_next_month() {
        let nov = jiff::civil::date(2026, 11, 1);
        assert_eq!(due_by(nov), Some(jiff::civil::date(2026, 12, 10)));
        let dec = jiff::civil::date(2026, 12, 15);
        assert_eq!(due_by(dec), Some(jiff::civil::date(2027, 1, 10)));
    }
}
