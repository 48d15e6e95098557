//! Payment exceptions: money or orders at a network that have no open object of ours to land
//! on. Each is recorded once (by kind and object), stays `open` until someone acts on it, and
//! is never silently dropped.
//!
//! | kind | what happened | who closes it |
//! |---|---|---|
//! | `paid_after_expiry`, `paid_after_cancel` | cash paid for a voucher we had closed | an operator (honour or refund) |
//! | `orphan_network_order` | the network issued an order we could not attach to an object we own (its payout had failed meanwhile) | the poller, once the network canceled the order (`resolved`) |
//! | `missing_in_cajero` | the network called back about an order we never recorded | an operator |
//! | `unrecognized_network_state` | the network reported a state its documentation does not list; the order (or refund) is held as it was | an operator |
//! | `refund_amount_mismatch` | the network reported a refund of another amount than ours; the refund is held as it was | an operator |

use cajero_domain::id::MerchantId;
use cajero_domain::merchant::Mode;
use cajero_domain::money::{Amount, Currency};
use jiff::Timestamp;

use crate::{Conn, Micros, StoreError, execute, fetch};

/// A network order issued for a payout that could no longer take it.
pub const ORPHAN_NETWORK_ORDER: &str = "orphan_network_order";
/// A callback about an order that is not in our books.
pub const MISSING_IN_CAJERO: &str = "missing_in_cajero";
/// The network reported a state of an order that its documentation does not list: the order
/// is left as it was, for an operator to decide.
pub const UNRECOGNIZED_NETWORK_STATE: &str = "unrecognized_network_state";
/// The network reported a refund of another amount than ours: the refund is left as it was.
pub const REFUND_AMOUNT_MISMATCH: &str = "refund_amount_mismatch";

/// An exception to record.
#[derive(Debug, Clone)]
pub struct NewException<'a> {
    /// `exc_…`, derived from what it is about so that it is recorded once.
    pub id: &'a str,
    /// The merchant, when known.
    pub merchant_id: Option<MerchantId>,
    /// Test or live.
    pub mode: Mode,
    /// See the module's table.
    pub kind: &'a str,
    /// Our object, or `network:order` when we have none.
    pub object_id: &'a str,
    /// The money concerned.
    pub amount: Amount,
    /// Its currency.
    pub currency: Currency,
    /// The network, when the exception is about one of its orders.
    pub network: Option<&'a str>,
    /// The network's order id.
    pub network_order_id: Option<&'a str>,
    /// What happened, for the operator.
    pub detail: Option<&'a str>,
}

/// Records an exception once per kind and object; false when it was already recorded.
pub async fn record(
    conn: &mut Conn<'_>,
    e: &NewException<'_>,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let inserted = execute!(
        conn,
        "INSERT INTO payment_exceptions (id, merchant_id, livemode, kind, object_id, amount, \
         currency, status, network, network_order_id, detail, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $9, $10, $11, $11) \
         ON CONFLICT (kind, object_id) DO NOTHING",
        e.id,
        e.merchant_id.map(|m| m.to_string()),
        e.mode.is_live(),
        e.kind,
        e.object_id,
        e.amount.minor(),
        e.currency.code(),
        e.network,
        e.network_order_id,
        e.detail,
        Micros::from(now).0,
    )?;
    Ok(inserted == 1)
}

/// An open exception about a network order.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct OrderException {
    /// `exc_…`.
    pub id: String,
    /// The merchant, when known.
    pub merchant_id: Option<String>,
    /// Live or test.
    pub livemode: bool,
    /// Our object (or `network:order`).
    pub object_id: String,
    /// The network.
    pub network: Option<String>,
    /// Its order id.
    pub network_order_id: Option<String>,
    /// The money concerned.
    pub amount: i64,
    /// Open, resolved, …
    pub status: String,
}

/// Exceptions of `kind`, oldest first, at most `limit`; `open_only` keeps the open ones.
pub async fn of_kind(
    conn: &mut Conn<'_>,
    kind: &str,
    open_only: bool,
    limit: i64,
) -> Result<Vec<OrderException>, StoreError> {
    Ok(fetch!(
        all,
        conn,
        OrderException,
        "SELECT id, merchant_id, livemode, object_id, network, network_order_id, amount, status \
         FROM payment_exceptions WHERE kind = $1 AND ($2 = FALSE OR status = 'open') \
         ORDER BY created_at, id LIMIT $3",
        kind,
        open_only,
        limit,
    )?)
}

/// Closes an open exception as `resolved` (compare-and-set); false when it was not open.
pub async fn resolve(
    conn: &mut Conn<'_>,
    id: &str,
    detail: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let changed = execute!(
        conn,
        "UPDATE payment_exceptions SET status = 'resolved', detail = $1, updated_at = $2 \
         WHERE id = $3 AND status = 'open'",
        detail,
        Micros::from(now).0,
        id,
    )?;
    Ok(changed == 1)
}

/// When a callback about this unknown order was first seen (recording `now` the first time).
pub async fn unknown_order_first_seen(
    conn: &mut Conn<'_>,
    network: &str,
    network_order_id: &str,
    now: Timestamp,
) -> Result<Timestamp, StoreError> {
    execute!(
        conn,
        "INSERT INTO unknown_callbacks (network, network_order_id, first_seen_at) \
         VALUES ($1, $2, $3) ON CONFLICT (network, network_order_id) DO NOTHING",
        network,
        network_order_id,
        Micros::from(now).0,
    )?;
    let (at,) = fetch!(
        one,
        conn,
        (i64,),
        "SELECT first_seen_at FROM unknown_callbacks WHERE network = $1 AND network_order_id = $2",
        network,
        network_order_id,
    )?;
    Ok(Micros(at).to_timestamp())
}

/// Cash paid for a voucher (or collected on a code) we had expired.
pub const PAID_AFTER_EXPIRY: &str = "paid_after_expiry";
/// Cash paid for a voucher we had canceled.
pub const PAID_AFTER_CANCEL: &str = "paid_after_cancel";
/// Reconciliation found a line whose order we hold paid for another amount.
pub const AMOUNT_MISMATCH: &str = "amount_mismatch";
/// Reconciliation found a line whose state disagrees with our order's.
pub const STATUS_MISMATCH: &str = "status_mismatch";
/// Cajero holds an order paid that the network's file lacks.
pub const MISSING_IN_NETWORK: &str = "missing_in_network";
/// A second line for an order already matched.
pub const DUPLICATE: &str = "duplicate";
/// A day whose file, orders and ledger do not tie out by more than the exceptions explain.
pub const TIE_OUT_DIFFERENCE: &str = "tie_out_difference";

/// An exception as shown to merchants and operators.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct ExceptionRecord {
    /// `exc_…`.
    pub id: String,
    /// The merchant, when known.
    pub merchant_id: Option<String>,
    /// Live or test.
    pub livemode: bool,
    /// What happened (see the module's table).
    pub kind: String,
    /// Our object, or `network:order`.
    pub object_id: String,
    /// The money concerned.
    pub amount: i64,
    /// Its currency.
    pub currency: String,
    /// open, resolved (honored, refunded: older resolutions of closed-voucher payments).
    pub status: String,
    /// The network.
    pub network: Option<String>,
    /// Its order id.
    pub network_order_id: Option<String>,
    /// What happened, for people.
    pub detail: Option<String>,
    /// accepted, refund, adjusted, written_off.
    pub resolution: Option<String>,
    /// Why, in the resolver's words.
    pub resolution_note: Option<String>,
    /// Who resolved it.
    pub resolved_by: Option<String>,
    /// When (µs).
    pub resolved_at: Option<i64>,
    /// The ledger batch an `adjusted` resolution posted.
    pub adjustment_id: Option<String>,
    /// The reconciliation file it came from.
    pub file_id: Option<String>,
    /// That file's line.
    pub line: Option<i64>,
    /// When recorded (µs).
    pub created_at: i64,
}

const EXCEPTION_COLUMNS: &str = "id, merchant_id, livemode, kind, object_id, amount, currency, \
     status, network, network_order_id, detail, resolution, resolution_note, resolved_by, \
     resolved_at, adjustment_id, file_id, line, created_at";

/// One exception.
pub async fn get(conn: &mut Conn<'_>, id: &str) -> Result<Option<ExceptionRecord>, StoreError> {
    Ok(fetch!(
        optional,
        conn,
        ExceptionRecord,
        sqlx::AssertSqlSafe(format!(
            "SELECT {EXCEPTION_COLUMNS} FROM payment_exceptions WHERE id = $1"
        )),
        id,
    )?)
}

/// Which exceptions a listing shows.
#[derive(Debug, Clone, Default)]
pub struct ExceptionFilter {
    /// One merchant's (`None`: everyone's, for operators).
    pub merchant_id: Option<String>,
    /// Live or test (`None`: both, for operators).
    pub livemode: Option<bool>,
    /// Only this status.
    pub status: Option<String>,
    /// Only this kind.
    pub kind: Option<String>,
    /// Only ids before this one (newest first pages).
    pub before: Option<String>,
}

/// Exceptions matching `filter`, newest first, at most `limit`.
pub async fn list(
    conn: &mut Conn<'_>,
    filter: &ExceptionFilter,
    limit: i64,
) -> Result<Vec<ExceptionRecord>, StoreError> {
    Ok(fetch!(
        all,
        conn,
        ExceptionRecord,
        sqlx::AssertSqlSafe(format!(
            "SELECT {EXCEPTION_COLUMNS} FROM payment_exceptions \
             WHERE ($1 IS NULL OR merchant_id = $1) AND ($2 IS NULL OR livemode = $2) \
             AND ($3 IS NULL OR status = $3) AND ($4 IS NULL OR kind = $4) \
             AND ($5 IS NULL OR id < $5) ORDER BY id DESC LIMIT $6"
        )),
        &filter.merchant_id,
        filter.livemode,
        &filter.status,
        &filter.kind,
        &filter.before,
        limit,
    )?)
}

/// Links the exception of `kind` about `object_id` to the file line that found it (the first
/// file wins) and returns its id (it may have been recorded earlier, by a callback, under an
/// id of its own).
pub async fn attach_line(
    conn: &mut Conn<'_>,
    kind: &str,
    object_id: &str,
    file_id: &str,
    line: Option<i64>,
) -> Result<Option<String>, StoreError> {
    execute!(
        conn,
        "UPDATE payment_exceptions SET file_id = $1, line = $2 \
         WHERE kind = $3 AND object_id = $4 AND file_id IS NULL",
        file_id,
        line,
        kind,
        object_id,
    )?;
    let id = fetch!(
        optional,
        conn,
        (String,),
        "SELECT id FROM payment_exceptions WHERE kind = $1 AND object_id = $2",
        kind,
        object_id,
    )?;
    Ok(id.map(|(id,)| id))
}

/// A resolution to record.
#[derive(Debug, Clone)]
pub struct Resolution<'a> {
    /// accepted, refund, adjusted, written_off.
    pub resolution: &'a str,
    /// Why.
    pub note: &'a str,
    /// Who.
    pub by: &'a str,
    /// The ledger correction (adjusted).
    pub adjustment_id: Option<&'a str>,
}

/// Closes an open exception with its resolution (compare-and-set); false when it was not open.
pub async fn resolve_with(
    conn: &mut Conn<'_>,
    id: &str,
    r: &Resolution<'_>,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let changed = execute!(
        conn,
        "UPDATE payment_exceptions SET status = 'resolved', resolution = $1, resolution_note = $2, \
         resolved_by = $3, adjustment_id = $4, resolved_at = $5, updated_at = $5 \
         WHERE id = $6 AND status = 'open'",
        r.resolution,
        r.note,
        r.by,
        r.adjustment_id,
        Micros::from(now).0,
        id,
    )?;
    Ok(changed == 1)
}

/// Open exceptions recorded before `before` and not alerted yet, oldest first; each is marked
/// alerted at `now`. One resolved or taken by another unit between the read and its mark is
/// left out.
pub async fn take_overdue(
    conn: &mut Conn<'_>,
    before: Timestamp,
    now: Timestamp,
    limit: i64,
) -> Result<Vec<ExceptionRecord>, StoreError> {
    let rows = fetch!(
        all,
        conn,
        ExceptionRecord,
        sqlx::AssertSqlSafe(format!(
            "SELECT {EXCEPTION_COLUMNS} FROM payment_exceptions \
             WHERE status = 'open' AND created_at < $1 AND alerted_at IS NULL \
             ORDER BY created_at, id LIMIT $2"
        )),
        Micros::from(before).0,
        limit,
    )?;
    // Marked only while still open and not alerted: an operator may have resolved one (or
    // another instance taken it) since the read, and on PostgreSQL this `UPDATE` waits for
    // that change and re-checks, so no alert is raised for an exception already closed.
    let mut taken = Vec::with_capacity(rows.len());
    for row in rows {
        let changed = execute!(
            conn,
            "UPDATE payment_exceptions SET alerted_at = $1 \
             WHERE id = $2 AND status = 'open' AND alerted_at IS NULL",
            Micros::from(now).0,
            &row.id,
        )?;
        if changed == 1 {
            taken.push(row);
        }
    }
    Ok(taken)
}

/// Open exceptions of every merchant in `mode` (a gauge for `/metrics`). One range of the
/// `(status, created_at)` index.
pub async fn count_open(conn: &mut Conn<'_>, mode: Mode) -> Result<i64, StoreError> {
    let (count,) = fetch!(
        one,
        conn,
        (i64,),
        "SELECT COUNT(*) FROM payment_exceptions WHERE status = 'open' AND livemode = $1",
        mode.is_live(),
    )?;
    Ok(count)
}
