//! The completed live cash operations the UIAF cares about (Colombia's financial intelligence
//! unit), and what the server flagged of them:
//!
//! * for the monthly report, a month's paid pay-ins and collected payouts, read per network by
//!   their `(network, paid_at)` indexes ([`completed`]);
//! * for flagging them as they happen, the same operations in the order cajero recorded them
//!   (`(updated_at, id)`, partial indexes of migration 0029) from a cursor ([`completed_since`],
//!   [`cursor`], [`advance_cursor`]), each person's month so far ([`add_to_person_month`]), the
//!   operations counted in it ([`count_person_operation`], [`person_month_operations`]) and
//!   the flags ([`insert_flag`], [`flags_of_month`]).
//!
//! The rules are the server's (`cajero_server::uiaf::flags`, from `cajero_domain::uiaf`); this
//! module only reads and writes rows, each insert keyed by the order so that nothing is
//! counted or flagged twice.

use jiff::Timestamp;

use crate::{Conn, Micros, StoreError, execute, fetch};

/// A completed live operation as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct CashOperation {
    /// `pi_…` or `po_…`.
    pub id: String,
    /// Whose.
    pub merchant_id: String,
    /// Pesos.
    pub amount: i64,
    /// The cash network.
    pub network: String,
    /// When the cash changed hands (µs).
    pub paid_at: i64,
    /// The pay-in's customer or the payout's beneficiary (JSON), when given.
    pub person: Option<String>,
    /// The counter, when the network said.
    pub paid_counter_id: Option<String>,
    /// When cajero recorded it (µs; the flagging worker's order).
    pub updated_at: i64,
}

/// Paid live pay-ins (`payouts = false`) or collected live payouts (`true`) of `network` with
/// `from <= paid_at < to`, in time order.
pub async fn completed(
    conn: &mut Conn<'_>,
    network: &str,
    payouts: bool,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<CashOperation>, StoreError> {
    let (from, to) = (Micros::from(from).0, Micros::from(to).0);
    Ok(if payouts {
        fetch!(
            all,
            conn,
            CashOperation,
            "SELECT id, merchant_id, amount, network, paid_at, beneficiary AS person, \
             paid_counter_id, updated_at FROM payouts WHERE network = $1 AND paid_at >= $2 AND paid_at < $3 \
             AND livemode = TRUE AND status = 'paid' ORDER BY paid_at, id",
            network,
            from,
            to,
        )?
    } else {
        fetch!(
            all,
            conn,
            CashOperation,
            "SELECT id, merchant_id, amount, network, paid_at, customer AS person, \
             paid_counter_id, updated_at FROM payins WHERE network = $1 AND paid_at >= $2 AND paid_at < $3 \
             AND livemode = TRUE AND status = 'paid' ORDER BY paid_at, id",
            network,
            from,
            to,
        )?
    })
}

/// Where the flagging worker resumes: the last operation it read, by `(updated_at, id)`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct FlagCursor {
    /// The last operation's `updated_at` (µs); 0 before the first.
    pub after_at: i64,
    /// The last operation's id; empty before the first.
    pub after_id: String,
}

/// The cursor's row (migration 0029 inserts it).
const CURSOR: &str = "completed";

/// The flagging worker's cursor.
pub async fn cursor(conn: &mut Conn<'_>) -> Result<FlagCursor, StoreError> {
    fetch!(
        optional,
        conn,
        FlagCursor,
        "SELECT after_at, after_id FROM uiaf_flag_cursor WHERE name = $1",
        CURSOR,
    )?
    .ok_or_else(|| StoreError::Corrupt {
        table: "uiaf_flag_cursor",
        detail: format!("the row {CURSOR:?} is missing"),
    })
}

/// Moves the cursor from `from` to `to` (compare-and-set); false when someone else moved it
/// first (then nothing of this batch must be written).
pub async fn advance_cursor(
    conn: &mut Conn<'_>,
    from: &FlagCursor,
    to: &FlagCursor,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let changed = execute!(
        conn,
        "UPDATE uiaf_flag_cursor SET after_at = $1, after_id = $2, updated_at = $3 \
         WHERE name = $4 AND after_at = $5 AND after_id = $6",
        to.after_at,
        to.after_id.as_str(),
        Micros::from(now).0,
        CURSOR,
        from.after_at,
        from.after_id.as_str(),
    )?;
    Ok(changed == 1)
}

/// Up to `limit` paid live pay-ins (`payouts = false`) or collected live payouts (`true`)
/// recorded after `after` and at or before `until`, in `(updated_at, id)` order (their partial
/// index `payins_completed_live` / `payouts_completed_live`).
pub async fn completed_since(
    conn: &mut Conn<'_>,
    payouts: bool,
    after: &FlagCursor,
    until: Timestamp,
    limit: i64,
) -> Result<Vec<CashOperation>, StoreError> {
    let until = Micros::from(until).0;
    let (at, id) = (after.after_at, after.after_id.as_str());
    // `updated_at >= $1` bounds the index range; the OR then skips what was read at `$1`.
    Ok(if payouts {
        fetch!(
            all,
            conn,
            CashOperation,
            "SELECT id, merchant_id, amount, network, paid_at, beneficiary AS person, \
             paid_counter_id, updated_at FROM payouts WHERE livemode = TRUE AND status = 'paid' \
             AND updated_at >= $1 AND (updated_at > $1 OR id > $2) AND updated_at <= $3 \
             AND paid_at IS NOT NULL ORDER BY updated_at, id LIMIT $4",
            at,
            id,
            until,
            limit,
        )?
    } else {
        fetch!(
            all,
            conn,
            CashOperation,
            "SELECT id, merchant_id, amount, network, paid_at, customer AS person, \
             paid_counter_id, updated_at FROM payins WHERE livemode = TRUE AND status = 'paid' \
             AND updated_at >= $1 AND (updated_at > $1 OR id > $2) AND updated_at <= $3 \
             AND paid_at IS NOT NULL ORDER BY updated_at, id LIMIT $4",
            at,
            id,
            until,
            limit,
        )?
    })
}

/// An operation counted in its person's month.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct PersonOperation {
    /// `pi_…` or `po_…`.
    pub order_id: String,
    /// Whose.
    pub merchant_id: String,
    /// `YYYY-MM` (Bogotá) of `completed_at`.
    pub month: String,
    /// The person's document type, normalised.
    pub document_type: String,
    /// Its number, normalised.
    pub document_number: String,
    /// `cash_in` or `cash_out`.
    pub direction: String,
    /// Pesos.
    pub amount: i64,
    /// When the cash changed hands (µs).
    pub completed_at: i64,
}

/// Counts `op` in its person's month; false (and nothing written) when it was counted before.
pub async fn count_person_operation(
    conn: &mut Conn<'_>,
    op: &PersonOperation,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let inserted = execute!(
        conn,
        "INSERT INTO uiaf_person_operations (order_id, merchant_id, month, document_type, \
         document_number, direction, amount, completed_at, counted_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (order_id) DO NOTHING",
        op.order_id.as_str(),
        op.merchant_id.as_str(),
        op.month.as_str(),
        op.document_type.as_str(),
        op.document_number.as_str(),
        op.direction.as_str(),
        op.amount,
        op.completed_at,
        Micros::from(now).0,
    )?;
    Ok(inserted == 1)
}

/// A person's month so far.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct PersonMonth {
    /// Pesos, in and out together.
    pub total: i64,
    /// Operations counted.
    pub operations: i64,
    /// When the total reached the threshold (µs), once it has.
    pub reached_at: Option<i64>,
}

/// Adds `amount` to the person's month (one indexed row) and returns the month as it is now.
pub async fn add_to_person_month(
    conn: &mut Conn<'_>,
    month: &str,
    document_type: &str,
    document_number: &str,
    amount: i64,
    now: Timestamp,
) -> Result<PersonMonth, StoreError> {
    let now = Micros::from(now).0;
    execute!(
        conn,
        "INSERT INTO uiaf_person_months (month, document_type, document_number, total, \
         operations, updated_at) VALUES ($1, $2, $3, $4, 1, $5) \
         ON CONFLICT (month, document_type, document_number) DO UPDATE SET \
         total = uiaf_person_months.total + excluded.total, \
         operations = uiaf_person_months.operations + 1, updated_at = excluded.updated_at",
        month,
        document_type,
        document_number,
        amount,
        now,
    )?;
    fetch!(
        one,
        conn,
        PersonMonth,
        "SELECT total, operations, reached_at FROM uiaf_person_months \
         WHERE month = $1 AND document_type = $2 AND document_number = $3",
        month,
        document_type,
        document_number,
    )
    .map_err(StoreError::from)
}

/// Notes when the person's month reached the threshold (the first time only).
pub async fn mark_person_month_reached(
    conn: &mut Conn<'_>,
    month: &str,
    document_type: &str,
    document_number: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    execute!(
        conn,
        "UPDATE uiaf_person_months SET reached_at = $1 WHERE month = $2 AND document_type = $3 \
         AND document_number = $4 AND reached_at IS NULL",
        Micros::from(now).0,
        month,
        document_type,
        document_number,
    )?;
    Ok(())
}

/// The operations counted in a person's month, in time order (its index
/// `uiaf_person_operations_by_person`; a person's month of cash is a handful of rows).
pub async fn person_month_operations(
    conn: &mut Conn<'_>,
    month: &str,
    document_type: &str,
    document_number: &str,
) -> Result<Vec<PersonOperation>, StoreError> {
    Ok(fetch!(
        all,
        conn,
        PersonOperation,
        "SELECT order_id, merchant_id, month, document_type, document_number, direction, amount, \
         completed_at FROM uiaf_person_operations \
         WHERE month = $1 AND document_type = $2 AND document_number = $3 \
         ORDER BY completed_at, order_id",
        month,
        document_type,
        document_number,
    )?)
}

/// A flagged operation (always live mode).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct FlagRow {
    /// `pi_…` or `po_…`.
    pub order_id: String,
    /// Whose.
    pub merchant_id: String,
    /// `YYYY-MM` (Bogotá) of `completed_at`.
    pub month: String,
    /// `single` or `monthly_aggregate`.
    pub why: String,
    /// `cash_in` or `cash_out`.
    pub direction: String,
    /// The person's document type, normalised; `None` without a document.
    pub document_type: Option<String>,
    /// Its number, normalised.
    pub document_number: Option<String>,
    /// Pesos.
    pub amount: i64,
    /// When the cash changed hands (µs).
    pub completed_at: i64,
    /// When it was flagged (µs).
    pub flagged_at: i64,
}

/// Flags an operation; false (and nothing written) when it was flagged before.
pub async fn insert_flag(conn: &mut Conn<'_>, flag: &FlagRow) -> Result<bool, StoreError> {
    let inserted = execute!(
        conn,
        "INSERT INTO uiaf_flags (order_id, merchant_id, livemode, month, why, direction, \
         document_type, document_number, amount, completed_at, flagged_at) \
         VALUES ($1, $2, TRUE, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (order_id) DO NOTHING",
        flag.order_id.as_str(),
        flag.merchant_id.as_str(),
        flag.month.as_str(),
        flag.why.as_str(),
        flag.direction.as_str(),
        flag.document_type.as_deref(),
        flag.document_number.as_deref(),
        flag.amount,
        flag.completed_at,
        flag.flagged_at,
    )?;
    Ok(inserted == 1)
}

/// Flags of the month `YYYY-MM` (Bogotá) after `after` (`(completed_at, order_id)`; `None`:
/// from the first), at most `limit`, in time order (the index `uiaf_flags_by_month`).
pub async fn flags_of_month(
    conn: &mut Conn<'_>,
    month: &str,
    after: Option<(i64, &str)>,
    limit: i64,
) -> Result<Vec<FlagRow>, StoreError> {
    let (at, id) = after.unwrap_or((i64::MIN, ""));
    Ok(fetch!(
        all,
        conn,
        FlagRow,
        "SELECT order_id, merchant_id, month, why, direction, document_type, document_number, \
         amount, completed_at, flagged_at FROM uiaf_flags WHERE livemode = TRUE AND month = $1 \
         AND completed_at >= $2 AND (completed_at > $2 OR order_id > $3) \
         ORDER BY completed_at, order_id LIMIT $4",
        month,
        at,
        id,
        limit,
    )?)
}
