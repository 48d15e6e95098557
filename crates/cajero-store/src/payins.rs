//! Pay-ins (cash vouchers) as stored.

use cajero_domain::id::{MerchantId, PayinId, TestClockId};
use cajero_domain::lifecycle::PayinStatus;
use cajero_domain::merchant::Mode;
use cajero_domain::money::{Amount, Currency};
use jiff::Timestamp;
use sqlx::AssertSqlSafe;

use crate::page::{Page, PageRequest};
use crate::sqlite::Query;
use crate::{Conn, Micros, StoreError, execute, fetch};

/// A pay-in as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayinRecord {
    /// `pi_…`
    pub id: PayinId,
    /// Owner.
    pub merchant_id: MerchantId,
    /// Test or live.
    pub mode: Mode,
    /// Lifecycle status.
    pub status: PayinStatus,
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
    /// The merchant's description.
    pub description: Option<String>,
    /// The customer as given (JSON).
    pub customer: Option<serde_json::Value>,
    /// Merchant metadata (JSON object).
    pub metadata: serde_json::Value,
    /// The network's id.
    pub network_order_id: String,
    /// The code the customer says at the counter.
    pub payment_code: String,
    /// The network's agreement ("convenio") code.
    pub agreement_code: Option<String>,
    /// GS1-128 human-readable data.
    pub barcode_data: Option<String>,
    /// The voucher page's unguessable token.
    pub page_token: String,
    /// When the voucher closes.
    pub expires_at: Timestamp,
    /// When it was paid.
    pub paid_at: Option<Timestamp>,
    /// Refunded so far.
    pub amount_refunded: Amount,
    /// Fee charged (with its IVA) when paid.
    pub fee: Amount,
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
    description: Option<String>,
    customer: Option<String>,
    metadata: String,
    network_order_id: String,
    payment_code: String,
    agreement_code: Option<String>,
    barcode_data: Option<String>,
    page_token: String,
    expires_at: i64,
    paid_at: Option<i64>,
    amount_refunded: i64,
    fee: i64,
    created_at: i64,
    updated_at: i64,
    test_clock: Option<String>,
    routing_reason: Option<String>,
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        table: "payins",
        detail: e.to_string(),
    }
}

impl TryFrom<Row> for PayinRecord {
    type Error = StoreError;

    fn try_from(r: Row) -> Result<Self, StoreError> {
        Ok(PayinRecord {
            id: r.id.parse().map_err(corrupt)?,
            merchant_id: r.merchant_id.parse().map_err(corrupt)?,
            mode: Mode::from_livemode(r.livemode),
            status: r.status.parse().map_err(corrupt)?,
            amount: Amount::new(r.amount).map_err(corrupt)?,
            currency: r.currency.parse().map_err(corrupt)?,
            network: r.network,
            route: r.route,
            reference: r.reference,
            description: r.description,
            customer: r
                .customer
                .map(|c| serde_json::from_str(&c))
                .transpose()
                .map_err(corrupt)?,
            metadata: serde_json::from_str(&r.metadata).map_err(corrupt)?,
            network_order_id: r.network_order_id,
            payment_code: r.payment_code,
            agreement_code: r.agreement_code,
            barcode_data: r.barcode_data,
            page_token: r.page_token,
            expires_at: Micros(r.expires_at).to_timestamp(),
            paid_at: r.paid_at.map(|t| Micros(t).to_timestamp()),
            amount_refunded: Amount::new(r.amount_refunded).map_err(corrupt)?,
            fee: Amount::new(r.fee).map_err(corrupt)?,
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

/// A pay-in row's columns, as [`Row`] reads them (a `SELECT` or an `UPDATE … RETURNING`).
macro_rules! columns {
    () => {
        "id, merchant_id, livemode, status, amount, currency, network, route, reference, \
         description, customer, metadata, network_order_id, payment_code, agreement_code, \
         barcode_data, page_token, expires_at, paid_at, amount_refunded, fee, created_at, \
         updated_at, test_clock, routing_reason"
    };
}

const SELECT: &str = concat!("SELECT ", columns!(), " FROM payins");

/// Stores a new pay-in.
pub async fn insert(conn: &mut Conn<'_>, p: &PayinRecord) -> Result<(), StoreError> {
    execute!(
        conn,
        "INSERT INTO payins (id, merchant_id, livemode, status, amount, currency, network, \
         reference, description, customer, metadata, network_order_id, payment_code, \
         agreement_code, barcode_data, page_token, expires_at, paid_at, amount_refunded, fee, \
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
        &p.description,
        p.customer.as_ref().map(|c| c.to_string()),
        p.metadata.to_string(),
        &p.network_order_id,
        &p.payment_code,
        &p.agreement_code,
        &p.barcode_data,
        &p.page_token,
        Micros::from(p.expires_at).0,
        p.paid_at.map(|t| Micros::from(t).0),
        p.amount_refunded.minor(),
        p.fee.minor(),
        Micros::from(p.created_at).0,
        Micros::from(p.updated_at).0,
        p.test_clock.map(|c| c.to_string()),
        &p.route,
        &p.routing_reason,
    )?;
    Ok(())
}

/// A merchant's pay-in in one mode.
pub async fn get(
    conn: &mut Conn<'_>,
    merchant: MerchantId,
    mode: Mode,
    id: PayinId,
) -> Result<Option<PayinRecord>, StoreError> {
    // By the primary key alone, the owner compared here: with `merchant_id` in the `WHERE`,
    // PostgreSQL's planner, caching a generic plan while the table is still small and without
    // statistics, could pick one of the merchant's indexes and scan all their orders on every
    // call from then on (issue 12).
    let sql = AssertSqlSafe(format!("{SELECT} WHERE id = $1"));
    let row = fetch!(optional, conn, Row, sql, id.to_string())?;
    Ok(row
        .map(PayinRecord::try_from)
        .transpose()?
        .filter(|payin| payin.merchant_id == merchant && payin.mode == mode))
}

/// The pay-in behind a voucher page token (public pages; no merchant scope by design: the
/// token is the capability).
pub async fn get_by_token(
    conn: &mut Conn<'_>,
    token: &str,
) -> Result<Option<PayinRecord>, StoreError> {
    let sql = AssertSqlSafe(format!("{SELECT} WHERE page_token = $1"));
    let row = fetch!(optional, conn, Row, sql, token)?;
    row.map(PayinRecord::try_from).transpose()
}

/// The pay-in a network order belongs to (callbacks; the network's id is the key).
pub async fn get_by_network_order(
    conn: &mut Conn<'_>,
    network: &str,
    network_order_id: &str,
) -> Result<Option<PayinRecord>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "{SELECT} WHERE network = $1 AND network_order_id = $2"
    ));
    let row = fetch!(optional, conn, Row, sql, network, network_order_id)?;
    row.map(PayinRecord::try_from).transpose()
}

/// List filters.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this status.
    pub status: Option<PayinStatus>,
    /// Created at or after.
    pub created_gte: Option<Timestamp>,
    /// Created at or before.
    pub created_lte: Option<Timestamp>,
}

/// A page of a merchant's pay-ins, newest first.
///
/// The time bounds are in the SQL only when asked for: with them always there (as
/// `created_at` between the smallest and the largest instant), the planners chose the
/// `(merchant_id, livemode, created_at)` index and sorted every pay-in of the merchant for
/// each first page (`cajero bench dashboard`: 83 ms with 100,000 pay-ins, growing with
/// them); without them the `(merchant_id, livemode, id)` index serves the page in order.
pub async fn list(
    conn: &mut Conn<'_>,
    merchant: MerchantId,
    mode: Mode,
    filter: &Filter,
    page: &PageRequest,
) -> Result<Page<PayinRecord>, StoreError> {
    let (cursor_sql, order, limit) = page.sql(5);
    let mut next = if page.cursor_id().is_some() { 6 } else { 5 };
    let mut time_sql = String::new();
    let mut bounds = Vec::new();
    for (bound, op) in [(filter.created_gte, ">="), (filter.created_lte, "<=")] {
        if let Some(t) = bound {
            time_sql.push_str(&format!(" AND created_at {op} ${next}"));
            bounds.push(Micros::from(t).0);
            next += 1;
        }
    }
    let sql = format!(
        "{SELECT} WHERE merchant_id = $1 AND livemode = $2 AND ($3 = '' OR status = $3) \
         {time_sql} AND {cursor_sql} ORDER BY id {order} LIMIT $4"
    );
    let status = filter.status.map(|s| s.as_str()).unwrap_or("");
    let mut query = Query::new(sql)
        .bind(merchant.to_string())
        .bind(mode.is_live())
        .bind(status)
        .bind(limit);
    if let Some(cursor) = page.cursor_id() {
        query = query.bind(cursor.to_owned());
    }
    for bound in bounds {
        query = query.bind(bound);
    }
    let rows: Vec<Row> = query.fetch_all(conn).await?;
    let page = page.finish(rows);
    Ok(Page {
        data: page
            .data
            .into_iter()
            .map(PayinRecord::try_from)
            .collect::<Result<_, _>>()?,
        has_more: page.has_more,
    })
}

/// What a move to `paid` records with the status.
#[derive(Debug, Clone, Copy)]
pub struct Payment<'a> {
    /// When the customer paid.
    pub at: Timestamp,
    /// The fee charged, IVA included.
    pub fee: Amount,
    /// The counter that collected it, recorded with the move (what
    /// [`crate::analytics::record_paid_counter`] records later otherwise): one row version,
    /// not two.
    pub counter: Option<&'a str>,
}

/// Moves a pay-in from `from` to `to` (compare-and-set); the pay-in as it now stands, or
/// `None` when it was no longer in `from`. Records `payment` when given.
pub async fn transition(
    conn: &mut Conn<'_>,
    id: PayinId,
    from: PayinStatus,
    to: PayinStatus,
    payment: Option<Payment<'_>>,
    now: Timestamp,
) -> Result<Option<PayinRecord>, StoreError> {
    let row = fetch!(
        optional,
        conn,
        Row,
        concat!(
            "UPDATE payins SET status = $1, paid_at = COALESCE($2, paid_at), \
             fee = COALESCE($3, fee), updated_at = $4, \
             paid_counter_id = COALESCE(paid_counter_id, $7) \
             WHERE id = $5 AND status = $6 RETURNING ",
            columns!()
        ),
        to.as_str(),
        payment.map(|p| Micros::from(p.at).0),
        payment.map(|p| p.fee.minor()),
        Micros::from(now).0,
        id.to_string(),
        from.as_str(),
        payment.and_then(|p| p.counter),
    )?;
    row.map(PayinRecord::try_from).transpose()
}

/// Adds to the refunded amount, only while it stays within the paid amount; false otherwise.
pub async fn add_refunded(
    conn: &mut Conn<'_>,
    id: PayinId,
    amount: Amount,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let changed = execute!(
        conn,
        "UPDATE payins SET amount_refunded = amount_refunded + $1, updated_at = $2 \
         WHERE id = $3 AND status = 'paid' AND amount_refunded + $1 <= amount",
        amount.minor(),
        Micros::from(now).0,
        id.to_string(),
    )?;
    Ok(changed == 1)
}

/// Open pay-ins on real time whose expiry has passed at `now`, oldest first, at most `limit`:
/// those without a test clock, and those on a clock deleted since (only a create racing the
/// delete can leave one open there; it falls back to real time).
pub async fn due_for_expiry(
    conn: &mut Conn<'_>,
    now: Timestamp,
    limit: i64,
) -> Result<Vec<PayinRecord>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "{SELECT} WHERE status = 'pending' AND expires_at <= $1 AND (test_clock IS NULL \
         OR EXISTS (SELECT 1 FROM test_clocks c WHERE c.id = test_clock \
                    AND c.deleted_at IS NOT NULL)) \
         ORDER BY expires_at LIMIT $2"
    ));
    let rows = fetch!(all, conn, Row, sql, Micros::from(now).0, limit)?;
    rows.into_iter().map(PayinRecord::try_from).collect()
}

/// Open pay-ins on test clocks whose expiry has passed on their clock (on `clock` only, when
/// given), oldest first, at most `limit`.
pub async fn due_on_test_clocks(
    conn: &mut Conn<'_>,
    clock: Option<TestClockId>,
    limit: i64,
) -> Result<Vec<PayinRecord>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "{SELECT} WHERE status = 'pending' AND test_clock IS NOT NULL \
         AND ($1 = '' OR test_clock = $1) \
         AND expires_at <= (SELECT c.frozen_time FROM test_clocks c WHERE c.id = test_clock) \
         ORDER BY expires_at LIMIT $2"
    ));
    let clock = clock.map(|c| c.to_string()).unwrap_or_default();
    let rows = fetch!(all, conn, Row, sql, clock, limit)?;
    rows.into_iter().map(PayinRecord::try_from).collect()
}

/// Open pay-ins created before `before` (to re-query when callbacks are late), at most `limit`.
pub async fn open_older_than(
    conn: &mut Conn<'_>,
    before: Timestamp,
    limit: i64,
) -> Result<Vec<PayinRecord>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "{SELECT} WHERE status = 'pending' AND updated_at <= $1 ORDER BY updated_at LIMIT $2"
    ));
    let rows = fetch!(all, conn, Row, sql, Micros::from(before).0, limit)?;
    rows.into_iter().map(PayinRecord::try_from).collect()
}

/// Takes back a refunded amount whose refund failed (never below zero); false otherwise.
pub async fn subtract_refunded(
    conn: &mut Conn<'_>,
    id: PayinId,
    amount: Amount,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let changed = execute!(
        conn,
        "UPDATE payins SET amount_refunded = amount_refunded - $1, updated_at = $2 \
         WHERE id = $3 AND amount_refunded >= $1",
        amount.minor(),
        Micros::from(now).0,
        id.to_string(),
    )?;
    Ok(changed == 1)
}

/// Notes that the network was asked about an open pay-in now (the poller's bookmark).
pub async fn touch(conn: &mut Conn<'_>, id: PayinId, now: Timestamp) -> Result<(), StoreError> {
    execute!(
        conn,
        "UPDATE payins SET updated_at = $1 WHERE id = $2 AND status = 'pending'",
        Micros::from(now).0,
        id.to_string(),
    )?;
    Ok(())
}
