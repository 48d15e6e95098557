//! What an import found, as rows and exceptions: a line's row, an absent order's row, the
//! exception each non-match raises (recorded once, evented to its merchant), and the tie-out.

use cajero_domain::id::MerchantId;
use cajero_domain::merchant::Mode;
use cajero_domain::money::{Amount, Currency};
use cajero_domain::reconcile::{BookStatus, Order};
use cajero_domain::reconcile::{Kind, Line, LineResult, LineStatus, Outcome, TieOut};
use cajero_domain::webhook::EventType;
use cajero_store::exceptions::{self, NewException};
use cajero_store::reconciliation::{FileRecord, LineRow, TieOutRow};
use cajero_store::{Conn, Micros, StoreError, events};
use jiff::Timestamp;

use crate::clock::{Clock, new_id};

use super::import::Orders;
use super::view;

/// An exception to record for a line, an absent order or a tie-out.
#[derive(Debug, Clone)]
pub(super) struct Found {
    kind: &'static str,
    pub(super) object_id: String,
    merchant: Option<MerchantId>,
    amount: i64,
    network_order_id: Option<String>,
    pub(super) detail: String,
    line: Option<i64>,
}

/// The row of a file line, and its exception when it is not a match.
pub(super) fn line_row(
    file: &FileRecord,
    line: &Line,
    result: &LineResult,
    orders: &Orders,
) -> (LineRow, Option<Found>) {
    let order = result.order.map(|i| (&orders.list[i], orders.merchant(i)));
    let found = result
        .outcome
        .is_exception()
        .then(|| line_exception(file, line, order, result.outcome, result.first_line));
    let (order, merchant) = (order.map(|o| o.0), order.map(|o| o.1));
    // A matched line repeats nothing its order holds (a million of them are written at once):
    // the report takes the code and the network's id from the order.
    let matched = order.is_some() && result.outcome == Outcome::Matched;
    let row = LineRow {
        file_id: file.id.clone(),
        seq: i64::from(line.line),
        line: Some(i64::from(line.line)),
        kind: line.kind.as_str().into(),
        merchant_id: merchant.map(Into::into),
        order_id: order.map(|o| o.id.to_string()),
        code: (!matched)
            .then(|| line.code.as_deref().map(Into::into))
            .flatten(),
        network_order_id: (!matched)
            .then(|| {
                line.network_order_id
                    .as_deref()
                    .map(Into::into)
                    .or_else(|| order.and_then(|o| o.network_order_id.as_deref().map(Into::into)))
            })
            .flatten(),
        amount: line.amount,
        network_status: match line.status {
            LineStatus::Paid => "paid",
            LineStatus::Open => "open",
            LineStatus::Closed => "closed",
        }
        .into(),
        counter: line.counter.as_deref().map(Into::into),
        outcome: result.outcome.as_str().into(),
        exception_id: None,
    };
    (row, found)
}

/// The row of an order cajero holds paid that day and the file lacks, and its exception.
pub(super) fn absent_row(
    file: &FileRecord,
    orders: &Orders,
    i: usize,
    seq: i64,
) -> (LineRow, Option<Found>) {
    let order = &orders.list[i];
    let merchant = orders.merchant(i);
    let found = Found {
        kind: exceptions::MISSING_IN_NETWORK,
        object_id: order.id.to_string(),
        merchant: merchant.parse().ok(),
        amount: order.amount,
        network_order_id: order.network_order_id.as_deref().map(Into::into),
        detail: format!(
            "{} is paid in cajero's books on {}; the network's file {} does not have it",
            order.id, file.business_date, file.id
        ),
        line: None,
    };
    let row = LineRow {
        file_id: file.id.clone(),
        seq,
        line: None,
        kind: order.kind.as_str().into(),
        merchant_id: Some(merchant.into()),
        order_id: Some(order.id.to_string()),
        code: order.code.as_deref().map(Into::into),
        network_order_id: order.network_order_id.as_deref().map(Into::into),
        amount: order.amount,
        network_status: "absent".into(),
        counter: None,
        outcome: Outcome::MissingInNetwork.as_str().into(),
        exception_id: None,
    };
    (row, Some(found))
}

/// The exception of a tie-out that does not tie out.
pub(super) fn tie_out_difference(file: &FileRecord, t: &TieOutRow) -> Found {
    Found {
        kind: exceptions::TIE_OUT_DIFFERENCE,
        object_id: format!("{}:{}", file.id, t.kind),
        merchant: None,
        amount: t.unexplained,
        network_order_id: None,
        detail: format!(
            "{} {} on {}: file {}, matched orders {}, ledger {}; {} not explained by the exceptions",
            t.network,
            t.kind,
            t.business_date,
            t.file_total,
            t.matched_total,
            t.ledger_total,
            t.unexplained
        ),
        line: None,
    }
}

pub(super) fn tie_out_row(file: &FileRecord, kind: Kind, t: &TieOut, now: Timestamp) -> TieOutRow {
    TieOutRow {
        file_id: file.id.clone(),
        kind: kind.as_str().into(),
        livemode: file.livemode,
        route: file.route.clone(),
        network: file.network.clone(),
        business_date: file.business_date.clone(),
        file_total: t.file_total,
        matched_total: t.matched_total,
        ledger_total: t.ledger_total,
        file_difference: t.file_difference,
        ledger_difference: t.ledger_difference,
        explained: t.explained,
        unexplained: t.unexplained,
        created_at: Micros::from(now).0,
    }
}

/// The exception id of `kind` about `object_id`: the same every time, so it is recorded once.
pub fn exception_id(kind: &str, object_id: &str) -> String {
    let object: String = object_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("exc_{kind}_{object}")
}

pub(super) fn line_exception(
    file: &FileRecord,
    line: &Line,
    order: Option<(&Order, &str)>,
    outcome: Outcome,
    first_line: Option<u32>,
) -> Found {
    let n = line.line;
    let names = line
        .our_id
        .as_deref()
        .or(line.network_order_id.as_deref())
        .or(line.code.as_deref())
        .unwrap_or("?");
    let merchant = order.and_then(|o| o.1.parse().ok());
    let order = order.map(|o| o.0);
    let (kind, object_id, detail) = match (outcome, order) {
        (Outcome::Duplicate, _) => (
            exceptions::DUPLICATE,
            format!("{}:{n}", file.id),
            match first_line {
                Some(first) => format!(
                    "line {n} reports {names} again ({} pesos); it was matched at line {first}",
                    line.amount
                ),
                None => format!("line {n} reports {names} again ({} pesos)", line.amount),
            },
        ),
        (Outcome::AmountMismatch, Some(o)) => (
            exceptions::AMOUNT_MISMATCH,
            o.id.to_string(),
            format!(
                "line {n}: the network reports {} pesos for {}; cajero holds {}",
                line.amount, o.id, o.amount
            ),
        ),
        (Outcome::PaidAfterExpiry, Some(o)) => (
            exceptions::PAID_AFTER_EXPIRY,
            o.id.to_string(),
            format!(
                "line {n}: the network reports {} paid; cajero expired it",
                o.id
            ),
        ),
        (Outcome::StatusMismatch, Some(o))
            if o.status == BookStatus::Canceled
                && o.kind == Kind::Collection
                && line.status == LineStatus::Paid =>
        {
            (
                exceptions::PAID_AFTER_CANCEL,
                o.id.to_string(),
                format!(
                    "line {n}: the network reports {} paid; cajero canceled it",
                    o.id
                ),
            )
        }
        (Outcome::StatusMismatch, Some(o)) => (
            exceptions::STATUS_MISMATCH,
            o.id.to_string(),
            format!(
                "line {n}: the network reports {} {}; cajero holds it {}",
                o.id,
                match line.status {
                    LineStatus::Paid => "paid",
                    LineStatus::Open => "open",
                    LineStatus::Closed => "closed",
                },
                book_status(o.status)
            ),
        ),
        _ => (
            exceptions::MISSING_IN_CAJERO,
            format!(
                "{}:{}",
                file.network,
                line.network_order_id
                    .as_deref()
                    .or(line.code.as_deref())
                    .or(line.our_id.as_deref())
                    .unwrap_or("?")
            ),
            format!(
                "line {n}: the network reports {} pesos for {names}, an order cajero does not have",
                line.amount
            ),
        ),
    };
    Found {
        kind,
        object_id,
        merchant,
        amount: line.amount,
        network_order_id: line
            .network_order_id
            .as_deref()
            .map(Into::into)
            .or_else(|| order.and_then(|o| o.network_order_id.as_deref().map(Into::into))),
        detail,
        line: Some(i64::from(n)),
    }
}

fn book_status(status: BookStatus) -> &'static str {
    match status {
        BookStatus::Open => "open",
        BookStatus::Paid => "paid",
        BookStatus::Expired => "expired",
        BookStatus::Canceled => "canceled",
    }
}

/// Records the exception once and links it to its file line; when new, events it to the
/// merchant. Returns its id (an earlier one's, when a callback recorded it first) and whether
/// it is new.
pub(super) async fn raise(
    c: &mut Conn<'_>,
    clock: &dyn Clock,
    mode: Mode,
    network: &str,
    file_id: &str,
    found: &Found,
) -> Result<(String, bool), StoreError> {
    let id = exception_id(found.kind, &found.object_id);
    let amount = Amount::new(found.amount.saturating_abs()).unwrap_or(Amount::ZERO);
    let now = clock.now();
    let new = exceptions::record(
        c,
        &NewException {
            id: &id,
            merchant_id: found.merchant,
            mode,
            kind: found.kind,
            object_id: &found.object_id,
            amount,
            currency: Currency::Cop,
            network: Some(network),
            network_order_id: found.network_order_id.as_deref(),
            detail: Some(&found.detail),
        },
        now,
    )
    .await?;
    // Linked even when an earlier path (a callback) recorded it: the file is the evidence.
    let id = exceptions::attach_line(c, found.kind, &found.object_id, file_id, found.line)
        .await?
        .unwrap_or(id);
    if new
        && let Some(merchant) = found.merchant
        && let Some(record) = exceptions::get(c, &id).await?
    {
        events::emit(
            c,
            merchant,
            mode.is_live(),
            EventType::ReconciliationExceptionCreated,
            &view::exception_json(&record),
            new_id(clock),
            now,
        )
        .await?;
    }
    Ok((id, new))
}
