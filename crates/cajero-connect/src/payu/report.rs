//! PayU Latam's Sales Report (PayU module, Transactions > Sales Report) read into report lines.
//!
//! PayU documents the report's columns — Order ("the identifier of the order along with the
//! date of the sale"), Reference, Buyer, Amount, Payment method, Status ("current status of
//! the order") — but no download layout and no API to fetch it. We read it as CSV with a
//! header row naming those columns, the order's id and its date in two columns (`Order`,
//! `Date`, `YYYY-MM-DD HH:MM:SS` in Colombia's time), columns in any order, others ignored;
//! Status holds PayU's order status codes ([`codes::ORDER_STATUSES`]).

use std::collections::BTreeMap;

use crate::OrderKind;
use crate::report::{REPORT_PROBLEMS_MAX, ReportLine, ReportProblem, ReportResult};

use super::codes;
use super::wire::pesos_text;

/// The columns read, as they head the file.
pub const COLUMNS: [&str; 7] = [
    "Order",
    "Date",
    "Reference",
    "Buyer",
    "Amount",
    "Payment method",
    "Status",
];

/// Columns without which a line cannot be matched (`Buyer` is optional).
const REQUIRED: [&str; 6] = [
    "Order",
    "Date",
    "Reference",
    "Amount",
    "Payment method",
    "Status",
];

/// The problems kept (at most [`REPORT_PROBLEMS_MAX`]) and how many were found.
struct Problems(Vec<ReportProblem>, usize);

impl Problems {
    fn add(&mut self, line: u32, field: &str, message: String) {
        self.1 += 1;
        if self.0.len() < REPORT_PROBLEMS_MAX {
            self.0.push(ReportProblem {
                line,
                field: field.into(),
                message,
            });
        }
    }
}

/// Every line of a Sales Report, or every problem found in it (each with its line and column).
pub fn parse_report(bytes: &[u8]) -> ReportResult {
    let mut problems = Problems(Vec::new(), 0);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h
            .iter()
            .map(|c| c.trim().trim_start_matches('\u{feff}').to_owned())
            .collect(),
        Err(e) => {
            problems.add(1, "header", e.to_string());
            return Err(problems.0);
        }
    };
    let index: BTreeMap<&str, usize> = COLUMNS
        .iter()
        .filter_map(|c| {
            header
                .iter()
                .position(|h| h.eq_ignore_ascii_case(c))
                .map(|i| (*c, i))
        })
        .collect();
    for column in REQUIRED {
        if !index.contains_key(column) {
            problems.add(1, column, "column missing from the header".into());
        }
    }
    if !problems.0.is_empty() {
        return Err(problems.0);
    }
    let mut lines = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let line = u32::try_from(n + 2).unwrap_or(u32::MAX);
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.add(line, "line", e.to_string());
                continue;
            }
        };
        let fields: BTreeMap<&str, &str> = index
            .iter()
            .map(|(column, i)| (*column, record.get(*i).map(str::trim).unwrap_or_default()))
            .collect();
        if let Some(read) = read_line(line, &fields, &mut problems) {
            lines.push(read);
        }
    }
    if problems.0.is_empty() {
        Ok(lines)
    } else {
        Err(problems.0)
    }
}

fn read_line(
    line: u32,
    fields: &BTreeMap<&str, &str>,
    problems: &mut Problems,
) -> Option<ReportLine> {
    let get = |column: &str| fields.get(column).copied().unwrap_or_default();
    let before = problems.1;
    let order = get("Order");
    if order.is_empty() {
        problems.add(line, "Order", "empty".into());
    }
    let reference = get("Reference");
    if reference.is_empty() {
        problems.add(line, "Reference", "empty".into());
    }
    let amount = pesos_text(get("Amount"));
    if amount.is_none() {
        problems.add(
            line,
            "Amount",
            format!("{:?} is not whole pesos", get("Amount")),
        );
    }
    let method = codes::method_for_payment_method(get("Payment method"));
    if method.is_none() {
        problems.add(
            line,
            "Payment method",
            format!("{:?} is not a cash method we use", get("Payment method")),
        );
    }
    let date = get("Date");
    let at = date
        .parse::<jiff::civil::DateTime>()
        .ok()
        .and_then(|d| cajero_domain::calendar::bogota().to_timestamp(d).ok());
    if at.is_none() {
        problems.add(line, "Date", format!("{date:?} is not YYYY-MM-DD HH:MM:SS"));
    }
    // An undocumented status is not a problem of the file: the line is kept, Unrecognized.
    let status = codes::order_status(get("Status"));
    if problems.1 > before {
        return None;
    }
    Some(ReportLine {
        line,
        kind: OrderKind::Collection,
        network: method?.network.into(),
        network_order_id: order.into(),
        reference: Some(reference.into()),
        code: None,
        status,
        amount: amount?,
        fee: None,
        paid_at: (status == crate::NetworkStatus::Paid)
            .then_some(at)
            .flatten(),
        settlement_date: None,
    })
}
