//! Kushki's transactions report, read into [`ReportLine`]s.
//!
//! Kushki documents the report only as a download from its console ("Reports": on-demand per
//! branch, cash included; soporte.kushkipagos.com "Reporting Modules") without a column list.
//! Until a real file is seen, cajero reads a CSV whose columns carry the names of the webhook's
//! documented fields: `ticketNumber`, `transactionType` (`SALE` for cash-in, `PAYOUT` for
//! cash-out), `transactionStatus`, `pin`, `reference` (our `metadata.reference`), `currency`,
//! `totalAmount` and `completedAt` (Unix milliseconds, empty when not completed). Columns may
//! come in any order; others are ignored. This layout is an assumption, marked as such in
//! `docs/networks.md`, and it is what the simulator's dialect serves.

use jiff::Timestamp;
use serde_json::Number;

use super::codes::status_of;
use super::wire::{DEFAULT_NETWORK, pesos};
use crate::report::{REPORT_PROBLEMS_MAX, ReportLine, ReportProblem, ReportResult};
use crate::{NetworkStatus, OrderKind};

/// The columns, in the order the simulator writes them.
pub const COLUMNS: [&str; 8] = [
    "ticketNumber",
    "transactionType",
    "transactionStatus",
    "pin",
    "reference",
    "currency",
    "totalAmount",
    "completedAt",
];

/// Every problem of one file, bounded.
#[derive(Debug, Default)]
struct Problems(Vec<ReportProblem>);

impl Problems {
    fn push(&mut self, line: u32, field: &str, message: impl Into<String>) {
        if self.0.len() < REPORT_PROBLEMS_MAX {
            self.0.push(ReportProblem {
                line,
                field: field.to_owned(),
                message: message.into(),
            });
        }
    }
    fn full(&self) -> bool {
        self.0.len() >= REPORT_PROBLEMS_MAX
    }
}

/// Reads a transactions report.
pub fn parse_report(bytes: &[u8]) -> ReportResult {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let mut problems = Problems::default();
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(str::to_owned).collect(),
        Err(e) => {
            problems.push(1, "header", e.to_string());
            return Err(problems.0);
        }
    };
    let mut index = [0usize; COLUMNS.len()];
    for (slot, column) in index.iter_mut().zip(COLUMNS) {
        match header.iter().position(|h| h == column) {
            Some(i) => *slot = i,
            None => problems.push(1, column, "column missing"),
        }
    }
    if !problems.0.is_empty() {
        return Err(problems.0);
    }
    let mut lines = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let line = u32::try_from(n + 2).unwrap_or(u32::MAX);
        match record {
            Ok(record) => {
                let field = |i: usize| record.get(index[i]).unwrap_or_default();
                if let Some(l) = read_line(line, &field, &mut problems) {
                    lines.push(l);
                }
            }
            Err(e) => problems.push(line, "record", e.to_string()),
        }
        if problems.full() {
            break;
        }
    }
    if problems.0.is_empty() {
        Ok(lines)
    } else {
        Err(problems.0)
    }
}

fn read_line<'r>(
    line: u32,
    field: &dyn Fn(usize) -> &'r str,
    problems: &mut Problems,
) -> Option<ReportLine> {
    let before = problems.0.len();
    let ticket = field(0);
    if ticket.is_empty() {
        problems.push(line, COLUMNS[0], "empty");
    }
    let kind = match field(1) {
        "SALE" => Some(OrderKind::Collection),
        "PAYOUT" => Some(OrderKind::Payout),
        other => {
            problems.push(
                line,
                COLUMNS[1],
                format!("{other:?} is neither SALE nor PAYOUT"),
            );
            None
        }
    };
    let status = kind.map(|k| status_of(k, field(2)));
    if status == Some(NetworkStatus::Unrecognized) {
        problems.push(
            line,
            COLUMNS[2],
            format!("undocumented state {:?}", field(2)),
        );
    }
    if field(5) != "COP" {
        problems.push(line, COLUMNS[5], format!("{:?} is not COP", field(5)));
    }
    let amount = match field(6).parse::<Number>() {
        Ok(n) => pesos(&n)
            .map_err(|e| problems.push(line, COLUMNS[6], e))
            .ok(),
        Err(_) => {
            problems.push(line, COLUMNS[6], format!("{:?} is not a number", field(6)));
            None
        }
    };
    let paid_at = match field(7) {
        "" => None,
        ms => match ms
            .parse::<i64>()
            .ok()
            .and_then(|ms| Timestamp::from_millisecond(ms).ok())
        {
            Some(t) => Some(t),
            None => {
                problems.push(line, COLUMNS[7], format!("{ms:?} is not Unix milliseconds"));
                None
            }
        },
    };
    if problems.0.len() != before {
        return None;
    }
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    Some(ReportLine {
        line,
        kind: kind?,
        network: DEFAULT_NETWORK.to_owned(),
        network_order_id: ticket.to_owned(),
        reference: non_empty(field(4)),
        code: non_empty(field(3)),
        status: status?,
        amount: amount?,
        fee: None,
        paid_at,
        settlement_date: None,
    })
}
