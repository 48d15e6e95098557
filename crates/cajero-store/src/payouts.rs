//! Payouts (cash pick-ups) and their counter attempts, as stored.

use cajero_domain::id::{MerchantId, PayoutId, TestClockId};
use cajero_domain::lifecycle::PayoutStatus;
use cajero_domain::merchant::Mode;
use cajero_domain::money::{Amount, Currency};
use jiff::Timestamp;
use sqlx::AssertSqlSafe;

use crate::page::{Page, PageRequest};
use crate::{Conn, Micros, StoreError, execute, fetch};

/// A payout as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutRecord {
    /// `po_…`
    pub id: PayoutId,
    /// Owner.
    pub merchant_id: MerchantId,
    /// Test or live.
    pub mode: Mode,
    /// Lifecycle status.
    pub status: PayoutStatus,
    /// Whole pesos.
    pub amount: Amount,
    /// COP.
    pub currency: Currency,
    /// The network's code.
    pub network: String,
    /// The configured connection that made it (`simulator`, or a `[[networks]]` entry's name).
    pub route: String,
    /// The merchant's reference.
    pub reference: Option<String>,
    /// The beneficiary as given (JSON).
    pub beneficiary: serde_json::Value,
    /// Merchant metadata (JSON object).
    pub metadata: serde_json::Value,
    /// The network's id, once issued.
    pub network_order_id: Option<String>,
    /// The pick-up code, once issued.
    pub pickup_code: Option<String>,
    /// The pick-up page's unguessable token.
    pub page_token: String,
    /// Requested validity.
    pub expires_in_s: i64,
    /// When the code closes (once issued).
    pub expires_at: Option<Timestamp>,
    /// When it was collected.
    pub paid_at: Option<Timestamp>,
    /// Why it failed.
    pub failure_code: Option<String>,
    /// Why it failed, for humans.
    pub failure_message: Option<String>,
    /// Fee + IVA + GMF reserved with it.
    pub fee: Amount,
    /// The refund it pays, if any.
    pub refund_id: Option<String>,
    /// Created (on its test clock's time when it has one).
    pub created_at: Timestamp,
    /// Last changed (real time: the record's own history).
    pub updated_at: Timestamp,
    /// The test clock it lives on (test mode only).
    pub test_clock: Option<TestClockId>,
    /// Why it went to its network ([`crate`] stores what routing said; `None` before it was
    /// issued, and for orders made before routing recorded it).
    pub routing_reason: Option<String>,
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct Row {
    id: String,
    merchant_id: String,
    livemode: bool,
    status: String,
    amount: i64,
    currency: String,
    network: String,
    route: String,
    reference: Option<String>,
    beneficiary: String,
    metadata: String,
    network_order_id: Option<String>,
    pickup_code: Option<String>,
    page_token: String,
    expires_in_s: i64,
    expires_at: Option<i64>,
    paid_at: Option<i64>,
    failure_code: Option<String>,
    failure_message: Option<String>,
    fee: i64,
    refund_id: Option<String>,
    created_at: i64,
    updated_at: i64,
    test_clock: Option<String>,
    routing_reason: Option<String>,
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        table: "payouts",
        detail: e.to_string(),
    }
}

impl TryFrom<Row> for PayoutRecord {
    type Error = StoreError;

    fn try_from(r: Row) -> Result<Self, StoreError> {
        Ok(PayoutRecord {
            id: r.id.parse().map_err(corrupt)?,
            merchant_id: r.merchant_id.parse().map_err(corrupt)?,
            mode: Mode::from_livemode(r.livemode),
            status: r.status.parse().map_err(corrupt)?,
            amount: Amount::new(r.amount).map_err(corrupt)?,
            currency: r.currency.parse().map_err(corrupt)?,
            network: r.network,
            route: r.route,
            reference: r.reference,
            beneficiary: serde_json::from_str(&r.beneficiary).map_err(corrupt)?,
            metadata: serde_json::from_str(&r.metadata).map_err(corrupt)?,
            network_order_id: r.network_order_id,
            pickup_code: r.pickup_code,
            page_token: r.page_token,
            expires_in_s: r.expires_in_s,
            expires_at: r.expires_at.map(|t| Micros(t).to_timestamp()),
            paid_at: r.paid_at.map(|t| Micros(t).to_timestamp()),
            failure_code: r.failure_code,
            failure_message: r.failure_message,
            fee: Amount::new(r.fee).map_err(corrupt)?,
            refund_id: r.refund_id,
            created_at: Micros(r.created_at).to_timestamp(),
            updated_at: Micros(r.updated_at).to_timestamp(),
            test_clock: r
                .test_clock
                .map(|c| c.parse())
                .transpose()
                .map_err(corrupt)?,
            routing_reason: r.routing_reason,
        })
    }
}

/// A payout row's columns, as [`Row`] reads them (a `SELECT` or an `UPDATE … RETURNING`).
macro_rules! columns {
    () => {
        "id, merchant_id, livemode, status, amount, currency, network, route, reference, \
         beneficiary, metadata, network_order_id, pickup_code, page_token, expires_in_s, \
         expires_at, paid_at, failure_code, failure_message, fee, refund_id, created_at, \
         updated_at, test_clock, routing_reason"
    };
}

const SELECT: &str = concat!("SELECT ", columns!(), " FROM payouts");

/// Stores a new payout.
pub async fn insert(conn: &mut Conn<'_>, p: &PayoutRecord) -> Result<(), StoreError> {
    execute!(
        conn,
        "INSERT INTO payouts (id, merchant_id, livemode, status, amount, currency, network, \
         reference, beneficiary, metadata, network_order_id, pickup_code, page_token, \
         expires_in_s, expires_at, paid_at, failure_code, failure_message, fee, refund_id, \
         created_at, updated_at, test_clock, route, routing_reason) VALUES ($1, $2, $3, $4, $5, $6, \
         $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, \
         $25)",
        p.id.to_string(),
        p.merchant_id.to_string(),
        p.mode.is_live(),
        p.status.as_str(),
        p.amount.minor(),
        p.currency.code(),
        &p.network,
        &p.reference,
        p.beneficiary.to_string(),
        p.metadata.to_string(),
        &p.network_order_id,
        &p.pickup_code,
        &p.page_token,
        p.expires_in_s,
        p.expires_at.map(|t| Micros::from(t).0),
        p.paid_at.map(|t| Micros::from(t).0),
        &p.failure_code,
        &p.failure_message,
        p.fee.minor(),
        &p.refund_id,
        Micros::from(p.created_at).0,
        Micros::from(p.updated_at).0,
        p.test_clock.map(|c| c.to_string()),
        &p.route,
        &p.routing_reason,
    )?;
    Ok(())
}

/// A merchant's payout in one mode.
pub async fn get(
    conn: &mut Conn<'_>,
    merchant: MerchantId,
    mode: Mode,
    id: PayoutId,
) -> Result<Option<PayoutRecord>, StoreError> {
    // By the primary key alone, the owner compared here: with `merchant_id` in the `WHERE`,
    // PostgreSQL's planner, caching a generic plan while the table is still small and without
    // statistics, could pick one of the merchant's indexes and scan all their orders on every
    // call from then on (issue 12).
    Ok(get_any(conn, id)
        .await?
        .filter(|payout| payout.merchant_id == merchant && payout.mode == mode))
}

/// Any payout by id (workers, which then act within its own merchant and mode).
pub async fn get_any(
    conn: &mut Conn<'_>,
    id: PayoutId,
) -> Result<Option<PayoutRecord>, StoreError> {
    let sql = AssertSqlSafe(format!("{SELECT} WHERE id = $1"));
    let row = fetch!(optional, conn, Row, sql, id.to_string())?;
    row.map(PayoutRecord::try_from).transpose()
}

/// The payout behind a pick-up page token.
pub async fn get_by_token(
    conn: &mut Conn<'_>,
    token: &str,
) -> Result<Option<PayoutRecord>, StoreError> {
    let sql = AssertSqlSafe(format!("{SELECT} WHERE page_token = $1"));
    let row = fetch!(optional, conn, Row, sql, token)?;
    row.map(PayoutRecord::try_from).transpose()
}

/// The payout a network order belongs to.
pub async fn get_by_network_order(
    conn: &mut Conn<'_>,
    network: &str,
    network_order_id: &str,
) -> Result<Option<PayoutRecord>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "{SELECT} WHERE network = $1 AND network_order_id = $2"
    ));
    let row = fetch!(optional, conn, Row, sql, network, network_order_id)?;
    row.map(PayoutRecord::try_from).transpose()
}

/// A page of a merchant's payouts, newest first, optionally of one status.
pub async fn list(
    conn: &mut Conn<'_>,
    merchant: MerchantId,
    mode: Mode,
    status: Option<PayoutStatus>,
    page: &PageRequest,
) -> Result<Page<PayoutRecord>, StoreError> {
    let (cursor_sql, order, limit) = page.sql(5);
    let sql = AssertSqlSafe(format!(
        "{SELECT} WHERE merchant_id = $1 AND livemode = $2 AND ($3 = '' OR status = $3) \
         AND {cursor_sql} ORDER BY id {order} LIMIT $4"
    ));
    let status = status.map(|s| s.as_str()).unwrap_or("");
    let (m, live) = (merchant.to_string(), mode.is_live());
    let rows = match page.cursor_id() {
        Some(c) => fetch!(all, conn, Row, sql, m, live, status, limit, c)?,
        None => fetch!(all, conn, Row, sql, m, live, status, limit)?,
    };
    let page = page.finish(rows);
    Ok(Page {
        data: page
            .data
            .into_iter()
            .map(PayoutRecord::try_from)
            .collect::<Result<_, _>>()?,
        has_more: page.has_more,
    })
}

/// Where a payout's code was issued: the network, the route, and why routing chose them.
#[derive(Debug, Clone, Copy)]
pub struct IssuedAt<'a> {
    /// The cash network.
    pub network: &'a str,
    /// The route.
    pub route: &'a str,
    /// Why.
    pub routing_reason: Option<&'a str>,
}

/// Records the issued pick-up code and where it was issued, and moves `pending`/`on_hold` →
/// `available`; the payout as it now stands, or `None` (nothing changed) when it was in
/// neither state or another payout holds that order at that network (an order never has two
/// owners; the same statement checks it).
pub async fn mark_issued(
    conn: &mut Conn<'_>,
    id: PayoutId,
    at: IssuedAt<'_>,
    network_order_id: &str,
    pickup_code: &str,
    expires_at: Timestamp,
    now: Timestamp,
) -> Result<Option<PayoutRecord>, StoreError> {
    let row = fetch!(
        optional,
        conn,
        Row,
        concat!(
            "UPDATE payouts SET status = 'available', network_order_id = $1, pickup_code = $2, \
             expires_at = $3, updated_at = $4, network = $5, route = $6, routing_reason = $7 \
             WHERE id = $8 AND status IN ('pending', 'on_hold') AND NOT EXISTS (SELECT 1 \
             FROM payouts o WHERE o.network = $5 AND o.network_order_id = $1 AND o.id <> $8) \
             RETURNING ",
            columns!()
        ),
        network_order_id,
        pickup_code,
        Micros::from(expires_at).0,
        Micros::from(now).0,
        at.network,
        at.route,
        at.routing_reason,
        id.to_string(),
    )?;
    row.map(PayoutRecord::try_from).transpose()
}

/// Records the route a payout still waiting for its code is about to be sent to (routing fell
/// over from the one it named); false when it no longer waits.
pub async fn set_route(
    conn: &mut Conn<'_>,
    id: PayoutId,
    network: &str,
    route: &str,
) -> Result<bool, StoreError> {
    let changed = execute!(
        conn,
        "UPDATE payouts SET network = $1, route = $2 WHERE id = $3 AND status = 'pending' \
         AND network_order_id IS NULL",
        network,
        route,
        id.to_string(),
    )?;
    Ok(changed == 1)
}

/// A counter of one network, in one mode: what a counter's health is judged by. The same id
/// at another network, or the same counter's attempts in the other mode, are another counter.
#[derive(Debug, Clone, Copy)]
pub struct CounterKey<'a> {
    /// The cash network.
    pub network: &'a str,
    /// Live or test.
    pub mode: Mode,
    /// The network's id for the counter.
    pub counter_id: &'a str,
}

/// When the latest attempt with `outcome` at `counter` happened, if any (indexed): a counter's
/// state is judged by its latest attempts, whatever order they are reported in.
pub async fn latest_counter_attempt(
    conn: &mut Conn<'_>,
    counter: CounterKey<'_>,
    outcome: &str,
) -> Result<Option<Timestamp>, StoreError> {
    let (at,): (Option<i64>,) = fetch!(
        one,
        conn,
        (Option<i64>,),
        "SELECT MAX(at) FROM payout_attempts \
         WHERE network = $1 AND livemode = $2 AND counter_id = $3 AND outcome = $4",
        counter.network,
        counter.mode.is_live(),
        counter.counter_id,
        outcome,
    )?;
    Ok(at.map(|t| Micros(t).to_timestamp()))
}

/// Failed counter attempts with `outcome` at `counter` since `since` (a counter's failure rate
/// over a window; indexed).
pub async fn counter_attempts_since(
    conn: &mut Conn<'_>,
    counter: CounterKey<'_>,
    outcome: &str,
    since: Timestamp,
) -> Result<i64, StoreError> {
    let (count,): (i64,) = fetch!(
        one,
        conn,
        (i64,),
        "SELECT COUNT(*) FROM payout_attempts \
         WHERE network = $1 AND livemode = $2 AND counter_id = $3 AND outcome = $4 AND at >= $5",
        counter.network,
        counter.mode.is_live(),
        counter.counter_id,
        outcome,
        Micros::from(since).0,
    )?;
    Ok(count)
}

/// What a transition records besides the new status.
#[derive(Debug, Clone, Copy, Default)]
pub struct Closing<'a> {
    /// When the cash was collected (a move to `paid`).
    pub paid_at: Option<Timestamp>,
    /// The counter that paid it, recorded with the move to `paid` (what
    /// [`crate::analytics::record_paid_counter`] records later otherwise): one row version, not
    /// two. Ignored for any other move.
    pub paid_counter: Option<&'a str>,
    /// Why it failed: code and message.
    pub failure: Option<(&'a str, &'a str)>,
}

/// Moves a payout from `from` to `to` (compare-and-set); the payout as it now stands, or `None`
/// (nothing changed) when it was no longer in `from`.
pub async fn transition(
    conn: &mut Conn<'_>,
    id: PayoutId,
    from: PayoutStatus,
    to: PayoutStatus,
    closing: Closing<'_>,
    now: Timestamp,
) -> Result<Option<PayoutRecord>, StoreError> {
    let paid_counter = closing.paid_counter.filter(|_| to == PayoutStatus::Paid);
    let row = fetch!(
        optional,
        conn,
        Row,
        concat!(
            "UPDATE payouts SET status = $1, paid_at = COALESCE($2, paid_at), \
             failure_code = COALESCE($3, failure_code), \
             failure_message = COALESCE($4, failure_message), updated_at = $5, \
             paid_counter_id = COALESCE(paid_counter_id, $8) \
             WHERE id = $6 AND status = $7 RETURNING ",
            columns!()
        ),
        to.as_str(),
        closing.paid_at.map(|t| Micros::from(t).0),
        closing.failure.map(|f| f.0),
        closing.failure.map(|f| f.1),
        Micros::from(now).0,
        id.to_string(),
        from.as_str(),
        paid_counter,
    )?;
    row.map(PayoutRecord::try_from).transpose()
}

/// Sets the fee reserved with the payout.
pub async fn set_fee(conn: &mut Conn<'_>, id: PayoutId, fee: Amount) -> Result<(), StoreError> {
    execute!(
        conn,
        "UPDATE payouts SET fee = $1 WHERE id = $2",
        fee.minor(),
        id.to_string()
    )?;
    Ok(())
}

/// Open payouts on real time whose expiry has passed at `now`, oldest first, at most `limit`:
/// those without a test clock, and those on a clock deleted since (only a create racing the
/// delete can leave one open there; it falls back to real time).
pub async fn due_for_expiry(
    conn: &mut Conn<'_>,
    now: Timestamp,
    limit: i64,
) -> Result<Vec<PayoutRecord>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "{SELECT} WHERE status = 'available' AND expires_at <= $1 AND (test_clock IS NULL \
         OR EXISTS (SELECT 1 FROM test_clocks c WHERE c.id = test_clock \
                    AND c.deleted_at IS NOT NULL)) \
         ORDER BY expires_at LIMIT $2"
    ));
    let rows = fetch!(all, conn, Row, sql, Micros::from(now).0, limit)?;
    rows.into_iter().map(PayoutRecord::try_from).collect()
}

/// Open payouts on test clocks whose expiry has passed on their clock (on `clock` only, when
/// given), oldest first, at most `limit`.
pub async fn due_on_test_clocks(
    conn: &mut Conn<'_>,
    clock: Option<TestClockId>,
    limit: i64,
) -> Result<Vec<PayoutRecord>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "{SELECT} WHERE status = 'available' AND test_clock IS NOT NULL \
         AND ($1 = '' OR test_clock = $1) \
         AND expires_at <= (SELECT c.frozen_time FROM test_clocks c WHERE c.id = test_clock) \
         ORDER BY expires_at LIMIT $2"
    ));
    let clock = clock.map(|c| c.to_string()).unwrap_or_default();
    let rows = fetch!(all, conn, Row, sql, clock, limit)?;
    rows.into_iter().map(PayoutRecord::try_from).collect()
}

/// A counter attempt on a payout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    /// `network:attempt-id`.
    pub id: String,
    /// When.
    pub at: Timestamp,
    /// Which counter.
    pub counter_id: String,
    /// `wrong_code`, `document_mismatch`, `approved`, …
    pub outcome: String,
}

/// Records an attempt on `payout` (of `network`, in `mode`: the counter's, see [`CounterKey`])
/// once; false when it was already recorded.
pub async fn insert_attempt(
    conn: &mut Conn<'_>,
    payout: PayoutId,
    network: &str,
    mode: Mode,
    a: &AttemptRecord,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let inserted = execute!(
        conn,
        "INSERT INTO payout_attempts (id, payout_id, at, counter_id, outcome, created_at, \
         network, livemode) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING",
        &a.id,
        payout.to_string(),
        Micros::from(a.at).0,
        &a.counter_id,
        &a.outcome,
        Micros::from(now).0,
        network,
        mode.is_live(),
    )?;
    Ok(inserted == 1)
}

/// A payout's attempts, oldest first.
pub async fn attempts(
    conn: &mut Conn<'_>,
    payout: PayoutId,
) -> Result<Vec<AttemptRecord>, StoreError> {
    let rows = fetch!(
        all,
        conn,
        (String, i64, String, String),
        "SELECT id, at, counter_id, outcome FROM payout_attempts WHERE payout_id = $1 ORDER BY at, id",
        payout.to_string()
    )?;
    Ok(rows
        .into_iter()
        .map(|(id, at, counter_id, outcome)| AttemptRecord {
            id,
            at: Micros(at).to_timestamp(),
            counter_id,
            outcome,
        })
        .collect())
}

/// Payouts in `status` not changed since `before`, oldest first, at most `limit` (the poller).
pub async fn stale(
    conn: &mut Conn<'_>,
    status: PayoutStatus,
    before: Timestamp,
    limit: i64,
) -> Result<Vec<PayoutRecord>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "{SELECT} WHERE status = $1 AND updated_at <= $2 ORDER BY updated_at LIMIT $3"
    ));
    let rows = fetch!(
        all,
        conn,
        Row,
        sql,
        status.as_str(),
        Micros::from(before).0,
        limit
    )?;
    rows.into_iter().map(PayoutRecord::try_from).collect()
}

/// Notes that the network was asked about a payout now (the poller's bookmark).
pub async fn touch(conn: &mut Conn<'_>, id: PayoutId, now: Timestamp) -> Result<(), StoreError> {
    execute!(
        conn,
        "UPDATE payouts SET updated_at = $1 WHERE id = $2",
        Micros::from(now).0,
        id.to_string(),
    )?;
    Ok(())
}

/// Payouts on hold (every merchant's, both modes), oldest first, at most `limit`: the
/// operator's review list (by the `(status, expires_at)` index).
pub async fn on_hold(conn: &mut Conn<'_>, limit: i64) -> Result<Vec<PayoutRecord>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "{SELECT} WHERE status = 'on_hold' ORDER BY expires_at, id LIMIT $1"
    ));
    let rows = fetch!(all, conn, Row, sql, limit)?;
    rows.into_iter().map(PayoutRecord::try_from).collect()
}
