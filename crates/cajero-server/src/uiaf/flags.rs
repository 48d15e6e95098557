//! UIAF flags: the cash operations the monthly report will carry, flagged as they happen, each
//! with an operator alert (`uiaf_operation_flagged`), instead of being found only when the
//! report is made.
//!
//! The worker (one instance at a time, under the lease [`LEASE_NAME`]) reads the completed live
//! pay-ins and payouts in the order cajero recorded them (`updated_at`, then id: the network's
//! `paid_at` can lie in the past when a callback, the poller or a reconciliation file brings the
//! payment late), [`BATCH_MAX`] at a time from its cursor, and applies
//! [`cajero_domain::uiaf::flagging`]:
//!
//! * a single operation from COP 10,000,000 is flagged `single` at once;
//! * an operation with a document is added to its person's Bogotá month (one indexed row,
//!   `uiaf_person_months`); when the month reaches COP 50,000,000, every operation of it —
//!   the earlier ones too, found by person and month — is flagged `monthly_aggregate` (single
//!   ones stay `single`), and so is each later one.
//!
//! A batch is one unit of work: the cursor moves by compare-and-set before anything is written,
//! so two workers racing for a batch write it once, and an operation is counted and flagged at
//! most once (keys on the order), so a re-read (a refund bumps a paid pay-in's `updated_at`)
//! changes nothing. Rows recorded in the last [`SETTLE_LAG`] are left for the next pass: a unit
//! of work still committing may have stamped them earlier than rows already visible.
//!
//! What the flags are and are not: the flags of a month, once the worker has read it, are the
//! report's rows ([`super::report`]; `Why::flag` maps one reason to the other). The first run
//! on an instance with history flags its past months too; operations recorded more than
//! [`ALERT_AGE_MAX`] before the worker reached them are flagged without an alert, so that this
//! backfill does not flood the operator.

use std::time::Duration;

use cajero_domain::calendar;
use cajero_domain::merchant::Mode;
use cajero_domain::network::thousands;
use cajero_domain::uiaf::{self, Direction, FlagWhy, MONTHLY_PERSON_COP, SINGLE_OPERATION_COP};
use cajero_store::uiaf::{self as rows, CashOperation, FlagCursor, FlagRow, PersonOperation};
use cajero_store::{Conn, Micros, Store, StoreError, instances};
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::UiafError;
use crate::AppState;
use crate::alerts::{self, AlertSpec, Severity, codes};

/// Operations read per unit of work (from each of pay-ins and payouts, of which this many are
/// kept): one writer transaction stays short.
pub const BATCH_MAX: i64 = 200;
/// Rows recorded more recently than this are read at a later pass: a unit of work stamps its
/// rows with its clock before it commits (a statement times out after 10 s; the rest is a
/// margin for the clocks of several instances).
pub const SETTLE_LAG: SignedDuration = SignedDuration::from_secs(60);
/// An operation recorded longer than this before it is flagged (a backfill) raises no alert.
pub const ALERT_AGE_MAX: SignedDuration = SignedDuration::from_hours(31 * 24);
/// How often the worker looks when it found nothing.
pub const INTERVAL: Duration = Duration::from_secs(10);
/// The worker lease's name.
pub const LEASE_NAME: &str = "uiaf_flags";
/// How long the lease holds (renewed at every step).
pub const LEASE_MS: i64 = 60_000;
/// Flags read per query when listing a month.
pub const LIST_BATCH: i64 = 1_000;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Completed operations read.
    pub read: usize,
    /// Operations flagged (new flags).
    pub flagged: usize,
}

/// A flagged operation (live mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// `pi_…` or `po_…`.
    pub order_id: String,
    /// Whose.
    pub merchant_id: String,
    /// `YYYY-MM`, Bogotá.
    pub month: String,
    /// Why.
    pub why: FlagWhy,
    /// `cash_in` or `cash_out`.
    pub direction: String,
    /// The person's normalised document (type, number), when known.
    pub document: Option<(String, String)>,
    /// Pesos.
    pub amount: i64,
    /// When the cash changed hands.
    pub completed_at: Timestamp,
    /// When it was flagged.
    pub flagged_at: Timestamp,
}

/// Flags what is pending if this instance holds (or takes) the `uiaf_flags` lease.
pub async fn run_once(state: &AppState) -> anyhow::Result<Pass> {
    let instance = state.instance.clone();
    if !instance.is_registered() {
        return Ok(Pass::default());
    }
    let now = state.clock.now();
    let holder = instance.incarnation().to_string();
    let until = now
        .checked_add(SignedDuration::from_millis(LEASE_MS))
        .unwrap_or(now);
    let leased = state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                instances::take_worker_lease(&mut c, LEASE_NAME, &holder, now, until).await
            })
        })
        .await?;
    if !leased {
        return Ok(Pass::default());
    }
    Ok(flag_pending(&state.store, now).await?)
}

/// Attempts of a pass when another worker (another instance's, `run_once` beside the loop)
/// took the same batch first.
const CONFLICT_ATTEMPTS: usize = 5;

/// Reads the next batch after the cursor and flags what it must, in one unit of work; a batch
/// another worker took first is given up and the pass starts again from the new cursor. A pass
/// that reads nothing means the cursor was at the end.
pub async fn flag_pending(store: &Store, now: Timestamp) -> Result<Pass, StoreError> {
    for _ in 0..CONFLICT_ATTEMPTS {
        if let Some(pass) = flag_batch(store, now).await? {
            return Ok(pass);
        }
    }
    Ok(Pass::default())
}

/// One batch; `None` when another worker moved the cursor first (nothing was written).
async fn flag_batch(store: &Store, now: Timestamp) -> Result<Option<Pass>, StoreError> {
    let until = now.checked_sub(SETTLE_LAG).unwrap_or(now);
    store
        .write(move |mut c| {
            Box::pin(async move {
                let from = rows::cursor(&mut c).await?;
                let batch = next_batch(&mut c, &from, until).await?;
                let Some((last, _)) = batch.last() else {
                    return Ok(Some(Pass::default()));
                };
                let to = FlagCursor {
                    after_at: last.updated_at,
                    after_id: last.id.clone(),
                };
                // First, so that of two workers on one batch the second writes nothing.
                if !rows::advance_cursor(&mut c, &from, &to, now).await? {
                    return Ok(None);
                }
                let mut pass = Pass {
                    read: batch.len(),
                    flagged: 0,
                };
                for (row, direction) in batch {
                    pass.flagged += flag_operation(&mut c, row, direction, now).await?;
                }
                Ok(Some(pass))
            })
        })
        .await
}

/// The next [`BATCH_MAX`] completed operations after `from`, pay-ins and payouts merged in
/// `(updated_at, id)` order (each read as far as the batch can reach, so none is skipped).
async fn next_batch(
    conn: &mut Conn<'_>,
    from: &FlagCursor,
    until: Timestamp,
) -> Result<Vec<(CashOperation, Direction)>, StoreError> {
    let payins = rows::completed_since(conn, false, from, until, BATCH_MAX).await?;
    let payouts = rows::completed_since(conn, true, from, until, BATCH_MAX).await?;
    let mut batch: Vec<_> = payins
        .into_iter()
        .map(|r| (r, Direction::CashIn))
        .chain(payouts.into_iter().map(|r| (r, Direction::CashOut)))
        .collect();
    batch.sort_by(|(a, _), (b, _)| (a.updated_at, &a.id).cmp(&(b.updated_at, &b.id)));
    batch.truncate(usize::try_from(BATCH_MAX).unwrap_or(usize::MAX));
    Ok(batch)
}

/// The Bogotá month (`YYYY-MM`) of an instant in µs.
fn month_of(us: i64) -> String {
    calendar::bogota()
        .to_datetime(Micros(us).to_timestamp())
        .strftime("%Y-%m")
        .to_string()
}

/// Counts and flags one newly read operation; how many flags it raised (the month's earlier
/// operations included).
async fn flag_operation(
    conn: &mut Conn<'_>,
    row: CashOperation,
    direction: Direction,
    now: Timestamp,
) -> Result<usize, StoreError> {
    let recorded = Micros(row.updated_at).to_timestamp();
    let alert = now.duration_since(recorded) <= ALERT_AGE_MAX;
    let completed_at = row.paid_at;
    let op = super::operation(row, direction);
    let person = uiaf::person(&op);
    let (document_type, document_number) = person.clone().unwrap_or_default();
    let read = PersonOperation {
        month: month_of(completed_at),
        order_id: op.order_id,
        merchant_id: op.merchant_id,
        document_type,
        document_number,
        direction: direction.as_str().to_owned(),
        amount: op.amount,
        completed_at,
    };
    if person.is_some() {
        return add_up(conn, &read, alert, now).await;
    }
    // Without a document nothing adds up: only a single operation is flagged.
    match uiaf::flagging(read.amount, None).why {
        Some(why) => Ok(usize::from(flag(conn, &read, None, why, alert, now).await?)),
        None => Ok(0),
    }
}

/// Adds an operation with a document to its person's month and flags what that decides: it,
/// and when the month reaches the threshold with it, the month's earlier ones.
async fn add_up(
    conn: &mut Conn<'_>,
    op: &PersonOperation,
    alert: bool,
    now: Timestamp,
) -> Result<usize, StoreError> {
    if !rows::count_person_operation(conn, op, now).await? {
        return Ok(0); // read again: counted (and flagged) when first read
    }
    let (month, kind, number) = (
        op.month.as_str(),
        op.document_type.as_str(),
        op.document_number.as_str(),
    );
    let person_month = rows::add_to_person_month(conn, month, kind, number, op.amount, now).await?;
    let before = person_month.total.saturating_sub(op.amount);
    let decision = uiaf::flagging(op.amount, Some(before));
    let document = Some((kind, number));
    if !decision.month_reached_now {
        return match decision.why {
            Some(why) => Ok(usize::from(
                flag(conn, op, document, why, alert, now).await?,
            )),
            None => Ok(0),
        };
    }
    rows::mark_person_month_reached(conn, month, kind, number, now).await?;
    let mut flagged = 0;
    for earlier in rows::person_month_operations(conn, month, kind, number).await? {
        if let Some(why) = uiaf::flag_why(earlier.amount, true) {
            flagged += usize::from(flag(conn, &earlier, document, why, alert, now).await?);
        }
    }
    Ok(flagged)
}

/// Flags `op` and raises its alert; false when it was flagged before.
async fn flag(
    conn: &mut Conn<'_>,
    op: &PersonOperation,
    document: Option<(&str, &str)>,
    why: FlagWhy,
    alert: bool,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let row = FlagRow {
        order_id: op.order_id.clone(),
        merchant_id: op.merchant_id.clone(),
        month: op.month.clone(),
        why: why.as_str().to_owned(),
        direction: op.direction.clone(),
        document_type: document.map(|d| d.0.to_owned()),
        document_number: document.map(|d| d.1.to_owned()),
        amount: op.amount,
        completed_at: op.completed_at,
        flagged_at: Micros::from(now).0,
    };
    if !rows::insert_flag(conn, &row).await? {
        return Ok(false);
    }
    if alert {
        alerts::raise(conn, now, alert_spec(&row, why)).await?;
    }
    Ok(true)
}

/// The operator's alert about a flag: platform-wide (the merchant is not told: the report is
/// the operator's duty), named by the order; the document stays out of it.
fn alert_spec(flag: &FlagRow, why: FlagWhy) -> AlertSpec {
    let reason = match why {
        FlagWhy::Single => format!(
            "a single cash operation from COP {}",
            thousands(SINGLE_OPERATION_COP)
        ),
        FlagWhy::MonthlyAggregate => format!(
            "its person's cash operations of {} add up to COP {} or more",
            flag.month,
            thousands(MONTHLY_PERSON_COP)
        ),
    };
    let completed = crate::time::rfc3339(Micros(flag.completed_at).to_timestamp());
    AlertSpec {
        mode: Mode::Live,
        code: codes::UIAF_OPERATION_FLAGGED,
        subject: format!("uiaf:{}", flag.order_id),
        merchant: None,
        severity: Severity::Info,
        message: format!(
            "{} ({}, COP {}, merchant {}, {completed}) goes into the UIAF report of {}: {reason}.",
            flag.order_id,
            flag.direction,
            thousands(flag.amount),
            flag.merchant_id,
            flag.month
        ),
        details: json!({
            "order": flag.order_id,
            "merchant": flag.merchant_id,
            "month": flag.month,
            "why": why.as_str(),
            "direction": flag.direction,
            "amount": flag.amount,
            "completed_at": completed,
        }),
    }
}

/// The flags of the Bogotá calendar month containing `day`, in time order.
pub async fn month(store: &Store, day: Date) -> Result<Vec<Flag>, UiafError> {
    let month = day.first_of_month().strftime("%Y-%m").to_string();
    let mut flags = Vec::new();
    let mut after: Option<(i64, String)> = None;
    loop {
        let (month, from) = (month.clone(), after.clone());
        let page = store
            .read(move |mut c| {
                Box::pin(async move {
                    let from = from.as_ref().map(|(at, id)| (*at, id.as_str()));
                    rows::flags_of_month(&mut c, &month, from, LIST_BATCH).await
                })
            })
            .await?;
        let full = i64::try_from(page.len()).unwrap_or(i64::MAX) >= LIST_BATCH;
        after = page.last().map(|f| (f.completed_at, f.order_id.clone()));
        for row in page {
            flags.push(parse(row)?);
        }
        if !full {
            return Ok(flags);
        }
    }
}

fn parse(row: FlagRow) -> Result<Flag, StoreError> {
    let why = FlagWhy::parse(&row.why).ok_or_else(|| StoreError::Corrupt {
        table: "uiaf_flags",
        detail: format!("{}: why {:?}", row.order_id, row.why),
    })?;
    Ok(Flag {
        why,
        document: row.document_type.zip(row.document_number),
        completed_at: Micros(row.completed_at).to_timestamp(),
        flagged_at: Micros(row.flagged_at).to_timestamp(),
        order_id: row.order_id,
        merchant_id: row.merchant_id,
        month: row.month,
        direction: row.direction,
        amount: row.amount,
    })
}

/// The flagging worker.
#[derive(Debug)]
pub struct FlagWorker {
    /// Shared state.
    pub state: AppState,
}

impl crate::workers::Worker for FlagWorker {
    fn name(&self) -> &'static str {
        "uiaf_flags"
    }

    async fn step(&self) -> anyhow::Result<usize> {
        Ok(run_once(&self.state).await?.read)
    }
}

/// How the worker paces itself.
pub const PACING: crate::workers::LoopPacing = crate::workers::LoopPacing {
    idle_sleep: INTERVAL,
    error_backoff: INTERVAL,
};
