//! How reconciliation's records are shown: the JSON objects of the API and events, and the
//! CSV report.

use cajero_store::Micros;
use cajero_store::exceptions::ExceptionRecord;
use cajero_store::reconciliation::{FileRecord, ReportRow};
use serde::Serialize;

use super::{Refused, Report};

/// A payment exception, as the API and its events show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExceptionView {
    /// `exc_…`.
    pub id: String,
    /// Always `reconciliation_exception`.
    pub object: &'static str,
    /// Live or test.
    pub livemode: bool,
    /// `missing_in_cajero`, `missing_in_network`, `amount_mismatch`, `status_mismatch`,
    /// `paid_after_expiry`, `paid_after_cancel`, `duplicate`, `tie_out_difference`,
    /// `orphan_network_order`, `unrecognized_network_state`, `refund_amount_mismatch`.
    pub kind: String,
    /// `open` or `resolved` (`honored`, `refunded`: earlier resolutions of payments for closed
    /// vouchers).
    pub status: String,
    /// The order (or object) concerned; `network:order` when it is not ours.
    pub object_id: String,
    /// The money concerned, in minor units.
    pub amount: i64,
    /// Its currency.
    pub currency: String,
    /// The cash network.
    pub network: Option<String>,
    /// The network's order id.
    pub network_order_id: Option<String>,
    /// What happened.
    pub detail: Option<String>,
    /// The reconciliation file that found it (`rec_…`), and its line.
    pub file: Option<String>,
    /// The file's line.
    pub line: Option<i64>,
    /// `accepted`, `refund`, `adjusted` or `written_off`, once resolved.
    pub resolution: Option<String>,
    /// Why, in the resolver's words.
    pub resolution_note: Option<String>,
    /// Who resolved it.
    pub resolved_by: Option<String>,
    /// When (RFC 3339).
    pub resolved_at: Option<String>,
    /// The balance transaction of an `adjusted` resolution's ledger correction.
    pub adjustment: Option<String>,
    /// When recorded (RFC 3339).
    pub created: String,
}

impl From<&ExceptionRecord> for ExceptionView {
    fn from(e: &ExceptionRecord) -> Self {
        ExceptionView {
            id: e.id.clone(),
            object: "reconciliation_exception",
            livemode: e.livemode,
            kind: e.kind.clone(),
            status: e.status.clone(),
            object_id: e.object_id.clone(),
            amount: e.amount,
            currency: e.currency.clone(),
            network: e.network.clone(),
            network_order_id: e.network_order_id.clone(),
            detail: e.detail.clone(),
            file: e.file_id.clone(),
            line: e.line,
            resolution: e.resolution.clone(),
            resolution_note: e.resolution_note.clone(),
            resolved_by: e.resolved_by.clone(),
            resolved_at: e
                .resolved_at
                .map(|t| crate::time::rfc3339(Micros(t).to_timestamp())),
            adjustment: e.adjustment_id.clone(),
            created: crate::time::rfc3339(Micros(e.created_at).to_timestamp()),
        }
    }
}

/// The exception as JSON (events carry it).
pub fn exception_json(e: &ExceptionRecord) -> serde_json::Value {
    serde_json::to_value(ExceptionView::from(e)).unwrap_or(serde_json::Value::Null)
}

/// A refused file's problems, as stored and shown.
#[derive(Debug, Clone, Serialize)]
pub struct ProblemsView<'a> {
    /// The problems.
    pub problems: &'a [super::Problem],
    /// More were found than listed.
    pub more: bool,
}

impl<'a> ProblemsView<'a> {
    /// Of a refusal.
    pub fn of(refused: &'a Refused) -> ProblemsView<'a> {
        ProblemsView {
            problems: &refused.problems,
            more: refused.more,
        }
    }
}

/// An imported file, as the report shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FileView {
    /// `rec_…`.
    pub id: String,
    /// The route it came through.
    pub route: String,
    /// The cash network.
    pub network: String,
    /// Its format.
    pub format: String,
    /// The day it reports.
    pub date: String,
    /// Lines in it.
    pub lines: i64,
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// When imported (RFC 3339).
    pub imported: Option<String>,
}

impl From<&FileRecord> for FileView {
    fn from(f: &FileRecord) -> Self {
        FileView {
            id: f.id.clone(),
            route: f.route.clone(),
            network: f.network.clone(),
            format: f.format.clone(),
            date: f.business_date.clone(),
            lines: f.line_count,
            sha256: f.sha256.clone(),
            imported: f
                .completed_at
                .map(|t| crate::time::rfc3339(Micros(t).to_timestamp())),
        }
    }
}

/// One order in a merchant's report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportRowView {
    /// The file.
    pub file: String,
    /// Its line (`null`: an order the file lacks).
    pub line: Option<i64>,
    /// `collection` or `payout`.
    pub kind: String,
    /// The pay-in or payout (`null` when the line is not ours).
    pub order: Option<String>,
    /// The merchant's own reference.
    pub reference: Option<String>,
    /// The payment code.
    pub payment_code: Option<String>,
    /// The network's order id.
    pub network_order_id: Option<String>,
    /// The network.
    pub network: String,
    /// The counter or branch.
    pub counter: Option<String>,
    /// Gross amount in cajero (the file's when the order is not found).
    pub amount_gross: i64,
    /// Fees charged on it.
    pub amount_fee: i64,
    /// Gross less fees (a payout's net is what left the balance: gross plus fees).
    pub amount_net: i64,
    /// What the network's file states.
    pub amount_network: i64,
    /// Status in cajero.
    pub status: Option<String>,
    /// Status at the network: `paid`, `open`, `closed`, `absent`.
    pub network_status: String,
    /// `matched`, `missing_in_cajero`, `missing_in_network`, `amount_mismatch`,
    /// `status_mismatch`, `paid_after_expiry`, `duplicate`.
    pub result: String,
    /// The exception raised, if any.
    pub exception: Option<String>,
}

impl ReportRowView {
    fn of(row: &ReportRow, network: &str) -> ReportRowView {
        let gross = row.amount.unwrap_or(row.network_amount);
        let fee = row.fee.unwrap_or(0);
        let net = if row.kind == "payout" {
            gross.saturating_add(fee)
        } else {
            gross.saturating_sub(fee)
        };
        ReportRowView {
            file: row.file_id.clone(),
            line: row.line,
            kind: row.kind.clone(),
            order: row.order_id.clone(),
            reference: row.reference.clone(),
            payment_code: row.code.clone(),
            network_order_id: row.network_order_id.clone(),
            network: network.to_owned(),
            counter: row.counter.clone(),
            amount_gross: gross,
            amount_fee: fee,
            amount_net: net,
            amount_network: row.network_amount,
            status: row.status.clone(),
            network_status: row.network_status.clone(),
            result: row.outcome.clone(),
            exception: row.exception_id.clone(),
        }
    }
}

/// A merchant's report of one day.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportView {
    /// Always `reconciliation_report`.
    pub object: &'static str,
    /// The day (Bogotá).
    pub date: String,
    /// The files imported for it.
    pub files: Vec<FileView>,
    /// Orders per result.
    pub summary: std::collections::BTreeMap<String, u64>,
    /// One per order.
    pub data: Vec<ReportRowView>,
}

impl From<&Report> for ReportView {
    fn from(r: &Report) -> Self {
        let network_of = |file: &str| {
            r.files
                .iter()
                .find(|f| f.id == file)
                .map(|f| f.network.clone())
                .unwrap_or_default()
        };
        let data: Vec<ReportRowView> = r
            .rows
            .iter()
            .map(|row| ReportRowView::of(row, &network_of(&row.file_id)))
            .collect();
        let mut summary = std::collections::BTreeMap::new();
        for row in &data {
            *summary.entry(row.result.clone()).or_insert(0) += 1;
        }
        ReportView {
            object: "reconciliation_report",
            date: r.date.to_string(),
            files: r.files.iter().map(FileView::from).collect(),
            summary,
            data,
        }
    }
}

/// The CSV columns of a report.
pub const REPORT_CSV_COLUMNS: [&str; 16] = [
    "date",
    "file",
    "line",
    "kind",
    "order",
    "reference",
    "payment_code",
    "network",
    "counter",
    "amount_gross",
    "amount_fee",
    "amount_net",
    "amount_network",
    "status",
    "network_status",
    "result",
];

/// The report as CSV, one row per order.
pub fn report_csv(view: &ReportView) -> Result<String, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(REPORT_CSV_COLUMNS)?;
    for r in &view.data {
        out.write_record([
            view.date.as_str(),
            &r.file,
            &r.line.map(|l| l.to_string()).unwrap_or_default(),
            &r.kind,
            r.order.as_deref().unwrap_or(""),
            &csv_safe(r.reference.as_deref().unwrap_or("")),
            r.payment_code.as_deref().unwrap_or(""),
            &r.network,
            &csv_safe(r.counter.as_deref().unwrap_or("")),
            &r.amount_gross.to_string(),
            &r.amount_fee.to_string(),
            &r.amount_net.to_string(),
            &r.amount_network.to_string(),
            r.status.as_deref().unwrap_or(""),
            &r.network_status,
            &r.result,
        ])?;
    }
    let bytes = out.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// A merchant's own text, made safe for spreadsheets: a cell starting with `=`, `+`, `-` or
/// `@` would run as a formula, so it gets a leading apostrophe.
fn csv_safe(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// An import's verdict as JSON (the upload's answer, and `cajero reconcile import --json`).
pub fn imported_json(outcome: &super::Imported) -> serde_json::Value {
    match outcome {
        super::Imported::Done(s) => serde_json::json!({
            "status": "imported",
            "file": FileView::from(&s.file),
            "outcomes": s.outcomes,
            "new_exceptions": s.new_exceptions,
            "tie_outs": s.tie_outs.iter().map(|t| serde_json::json!({
                "kind": t.kind, "file_total": t.file_total, "matched_total": t.matched_total,
                "ledger_total": t.ledger_total, "file_difference": t.file_difference,
                "ledger_difference": t.ledger_difference, "explained": t.explained,
                "unexplained": t.unexplained,
            })).collect::<Vec<_>>(),
        }),
        super::Imported::AlreadyImported(f) => serde_json::json!({
            "status": "already_imported",
            "file": FileView::from(f),
            "message": "these bytes were imported before; nothing changed",
        }),
        super::Imported::Rejected { file, refused } => serde_json::json!({
            "status": "rejected",
            "file": file.id,
            "problems": refused.problems,
            "more_problems": refused.more,
            "message": "the file was refused whole; nothing of it was imported",
        }),
    }
}
