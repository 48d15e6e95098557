//! The UIAF's monthly report of cash operations (`cajero uiaf report --month 2026-11`): the
//! month's completed live pay-ins and payouts of every merchant, and those the rules of
//! [`cajero_domain::uiaf`] say are reported, as CSV. The reminder worker raises
//! `uiaf_report_due` until the 10th of the next month. The same operations are flagged as they
//! happen by the [`flags`] worker, with an alert each; a month's flags are its report's rows.
//!
//! Limits: the counter's municipality is not known (the networks name the counter, not where
//! it is), so its column is empty; a pay-in whose customer gave no document counts only as a
//! single operation; a month is read whole into memory (one row per completed live operation).

use cajero_domain::calendar;
use cajero_domain::uiaf::{self, Direction, Operation, Why};
use cajero_store::uiaf::CashOperation;
use cajero_store::{Micros, Store, StoreError};
use jiff::civil::Date;

pub mod flags;

/// The report of one month.
#[derive(Debug, Clone)]
pub struct Report {
    /// The month's first day.
    pub month: Date,
    /// Due by.
    pub due_by: Option<Date>,
    /// Completed live operations read.
    pub operations: usize,
    /// What is reported, and why, in time order.
    pub rows: Vec<(Operation, Why)>,
}

/// Why a report cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum UiafError {
    /// The month's bounds are out of range.
    #[error("the month {0} is out of range")]
    Month(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The domain's view of a stored operation: its time in Bogotá, its person's document and name
/// read from the pay-in's customer or the payout's beneficiary.
pub(crate) fn operation(row: CashOperation, direction: Direction) -> Operation {
    let person: Option<serde_json::Value> = row
        .person
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok());
    let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_owned);
    let document = person.as_ref().and_then(|p| p.get("document"));
    Operation {
        at: calendar::bogota()
            .to_datetime(Micros(row.paid_at).to_timestamp())
            .strftime("%Y-%m-%d %H:%M")
            .to_string(),
        order_id: row.id,
        merchant_id: row.merchant_id,
        amount: row.amount,
        direction,
        document_type: text(document.and_then(|d| d.get("type"))),
        document_number: text(document.and_then(|d| d.get("number"))),
        name: text(person.as_ref().and_then(|p| p.get("name"))),
        counter: row.paid_counter_id,
        municipality: None,
        network: row.network,
    }
}

/// The report of the Bogotá calendar month containing `day`.
pub async fn report(store: &Store, day: Date) -> Result<Report, UiafError> {
    let month = day.first_of_month();
    let next = month
        .checked_add(jiff::Span::new().months(1))
        .map_err(|e| UiafError::Month(e.to_string()))?;
    let tz = calendar::bogota();
    let bound = |d: Date| {
        tz.to_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
            .map_err(|e| UiafError::Month(e.to_string()))
    };
    let (from, to) = (bound(month)?, bound(next)?);
    let mut ops = Vec::new();
    for network in cajero_domain::network::ALL {
        for (payouts, direction) in [(false, Direction::CashIn), (true, Direction::CashOut)] {
            let code = network.code;
            let rows = store
                .read(move |mut c| {
                    Box::pin(async move {
                        cajero_store::uiaf::completed(&mut c, code, payouts, from, to).await
                    })
                })
                .await?;
            ops.extend(rows.into_iter().map(|r| operation(r, direction)));
        }
    }
    ops.sort_by(|a, b| {
        (a.at.as_str(), a.order_id.as_str()).cmp(&(b.at.as_str(), b.order_id.as_str()))
    });
    let rows = uiaf::reportable(&ops)
        .into_iter()
        .map(|(op, why)| (op.clone(), why))
        .collect();
    Ok(Report {
        month,
        due_by: uiaf::due_by(month),
        operations: ops.len(),
        rows,
    })
}

/// The report as CSV: one row per reported operation.
pub fn csv(report: &Report) -> Result<String, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "date",
        "amount_cop",
        "type",
        "document_type",
        "document_number",
        "name",
        "municipality",
        "counter",
        "network",
        "merchant",
        "order",
        "reason",
    ])?;
    for (op, why) in &report.rows {
        out.write_record([
            op.at.as_str(),
            &op.amount.to_string(),
            op.direction.as_str(),
            op.document_type.as_deref().unwrap_or(""),
            op.document_number.as_deref().unwrap_or(""),
            op.name.as_deref().unwrap_or(""),
            op.municipality.as_deref().unwrap_or(""),
            op.counter.as_deref().unwrap_or(""),
            op.network.as_str(),
            op.merchant_id.as_str(),
            op.order_id.as_str(),
            why.as_str(),
        ])?;
    }
    let bytes = out.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
