//! dLocal's settlement report for pay-ins, read into [`ReportLine`]s.
//!
//! dLocal delivers its settlement reports as CSV by SFTP or e-mail (set up with their
//! technical account manager, <https://docs.dlocal.com/docs/reporting-payouts>); the public
//! documentation does not list the pay-in report's columns. The columns read here are the ones
//! named in public mappings of the "Settlement - Cross-border Payins Model" CSV report
//! (`ROW_TYPE`, `TRANSACTION_ID` = the merchant's order id, `DLOCAL_TRANSACTION_ID`,
//! `CREATION_DATE`) plus the amount, currency, method, fee, approval and settlement columns
//! any settlement line needs; ASSUMPTION: their exact names are ours, and the simulator's
//! dialect writes the same. Columns are found by header name, in any order; unknown columns
//! are ignored.

use std::collections::HashMap;

use cajero_domain::money::Amount;
use jiff::civil::Date;

use super::signing::parse_date;
use super::wire::{network_for, whole_pesos_text};
use crate::report::{REPORT_PROBLEMS_MAX, ReportLine, ReportProblem, ReportResult};
use crate::{NetworkStatus, OrderKind};

/// The columns of the report, in the order the simulator writes them.
pub const COLUMNS: [&str; 10] = [
    "ROW_TYPE",
    "TRANSACTION_ID",
    "DLOCAL_TRANSACTION_ID",
    "PAYMENT_METHOD_ID",
    "CURRENCY",
    "AMOUNT",
    "FEE",
    "CREATION_DATE",
    "APPROVED_DATE",
    "SETTLEMENT_DATE",
];
/// How many of [`COLUMNS`], from the first, every report must have.
const REQUIRED_COUNT: usize = 6;
/// The one row type that settles a voucher.
pub const ROW_TYPE_PAYMENT: &str = "PAYMENT";

struct Problems(Vec<ReportProblem>);

impl Problems {
    fn add(&mut self, line: u32, field: &str, message: impl Into<String>) {
        if self.0.len() < REPORT_PROBLEMS_MAX {
            self.0.push(ReportProblem {
                line,
                field: field.to_owned(),
                message: message.into(),
            });
        }
    }
}

/// Every payment line of a dLocal settlement report, or every problem found (each with its
/// line and column, at most [`REPORT_PROBLEMS_MAX`]).
pub fn parse_report(bytes: &[u8]) -> ReportResult {
    let mut problems = Problems(Vec::new());
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let columns: HashMap<String, usize> = match reader.headers() {
        Ok(headers) => headers
            .iter()
            .enumerate()
            .map(|(i, h)| (h.to_ascii_uppercase(), i))
            .collect(),
        Err(e) => {
            problems.add(1, "header", e.to_string());
            return Err(problems.0);
        }
    };
    for name in COLUMNS.iter().take(REQUIRED_COUNT) {
        if !columns.contains_key(*name) {
            problems.add(1, name, "missing column");
        }
    }
    if !problems.0.is_empty() {
        return Err(problems.0);
    }
    let mut lines = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e
                    .position()
                    .map_or(0, |p| u32::try_from(p.line()).unwrap_or(u32::MAX));
                problems.add(line, "record", e.to_string());
                continue;
            }
        };
        let line = record
            .position()
            .map_or(0, |p| u32::try_from(p.line()).unwrap_or(u32::MAX));
        let field = |name: &str| {
            columns
                .get(name)
                .and_then(|i| record.get(*i))
                .filter(|v| !v.is_empty())
        };
        if let Some(parsed) = parse_line(line, &field, &mut problems) {
            lines.push(parsed);
        }
    }
    if problems.0.is_empty() {
        Ok(lines)
    } else {
        Err(problems.0)
    }
}

fn parse_line<'r>(
    line: u32,
    field: &dyn Fn(&str) -> Option<&'r str>,
    problems: &mut Problems,
) -> Option<ReportLine> {
    let before = problems.0.len();
    let mut required = |name: &str| {
        let value = field(name);
        if value.is_none() {
            problems.add(line, name, "empty");
        }
        value
    };
    let row_type = required("ROW_TYPE");
    let reference = required("TRANSACTION_ID");
    let network_order_id = required("DLOCAL_TRANSACTION_ID");
    let method = required("PAYMENT_METHOD_ID");
    let currency = required("CURRENCY");
    let amount_text = required("AMOUNT");
    if let Some(row_type) = row_type
        && row_type != ROW_TYPE_PAYMENT
    {
        problems.add(
            line,
            "ROW_TYPE",
            format!("{row_type:?} is not handled (only {ROW_TYPE_PAYMENT} rows settle a voucher)"),
        );
    }
    let network = method.and_then(|m| {
        let network = network_for(m);
        if network.is_none() {
            problems.add(
                line,
                "PAYMENT_METHOD_ID",
                format!("{m:?} is not a cash network of ours"),
            );
        }
        network
    });
    if let Some(currency) = currency
        && currency != "COP"
    {
        problems.add(line, "CURRENCY", format!("{currency:?} is not COP"));
    }
    let amount = amount_text.and_then(|text| pesos(line, "AMOUNT", text, problems));
    let fee = field("FEE").and_then(|text| pesos(line, "FEE", text, problems));
    let paid_at = field("APPROVED_DATE").and_then(|text| {
        let at = parse_date(text);
        if at.is_none() {
            problems.add(
                line,
                "APPROVED_DATE",
                format!("{text:?} is not a date and time"),
            );
        }
        at
    });
    let settlement_date = field("SETTLEMENT_DATE").and_then(|text| {
        let date = text.parse::<Date>().ok();
        if date.is_none() {
            problems.add(
                line,
                "SETTLEMENT_DATE",
                format!("{text:?} is not YYYY-MM-DD"),
            );
        }
        date
    });
    if problems.0.len() != before {
        return None;
    }
    Some(ReportLine {
        line,
        kind: OrderKind::Collection,
        network: network?.to_owned(),
        network_order_id: network_order_id?.to_owned(),
        reference: reference.map(str::to_owned),
        code: None,
        status: NetworkStatus::Paid,
        amount: amount?,
        fee,
        paid_at,
        settlement_date,
    })
}

fn pesos(line: u32, column: &str, text: &str, problems: &mut Problems) -> Option<Amount> {
    let amount = whole_pesos_text(text).and_then(|p| Amount::new(p).ok());
    if amount.is_none() {
        problems.add(line, column, format!("{text:?} is not whole pesos"));
    }
    amount
}
