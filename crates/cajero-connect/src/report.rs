//! Settlement and transaction reports, read into one shape whatever their source: the lines
//! reconciliation matches against cajero's orders (by network, reference or code, amount and
//! date). Each gateway module parses its own report format into [`ReportLine`]s; a file that
//! cannot be read gives every problem found, each with its line and field.

use cajero_domain::money::Amount;
use jiff::Timestamp;
use jiff::civil::Date;

use crate::{NetworkStatus, OrderKind};

/// Problems reported per file before giving up listing them.
pub const REPORT_PROBLEMS_MAX: usize = 100;

/// One movement of money a report states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportLine {
    /// 1-based line (or record) number in the file.
    pub line: u32,
    /// Voucher or pick-up.
    pub kind: OrderKind,
    /// The cash network (`efecty`, `sured`).
    pub network: String,
    /// The gateway's id for the order.
    pub network_order_id: String,
    /// Our reference (the pay-in or payout id), when the report carries it.
    pub reference: Option<String>,
    /// The payment code or pick-up PIN, when the report carries it.
    pub code: Option<String>,
    /// What the report says of it (paid, expired, canceled, …).
    pub status: NetworkStatus,
    /// Whole pesos moved (gross).
    pub amount: Amount,
    /// The gateway's fee on it, when the report states one (whole pesos, rounded as the
    /// report rounds).
    pub fee: Option<Amount>,
    /// When it was paid or collected.
    pub paid_at: Option<Timestamp>,
    /// The day the gateway settles it to the merchant, when stated.
    pub settlement_date: Option<Date>,
}

/// One problem in a report file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {field}: {message}")]
pub struct ReportProblem {
    /// 1-based line number.
    pub line: u32,
    /// The column or field.
    pub field: String,
    /// What is wrong, in plain words.
    pub message: String,
}

/// Every line of a report, or every problem found in it (at most [`REPORT_PROBLEMS_MAX`]).
pub type ReportResult = Result<Vec<ReportLine>, Vec<ReportProblem>>;
