//! Refunds of pay-ins (`re_…`).

use cajero_domain::id::{MerchantId, PayinId, PayoutId, RefundId};
use cajero_domain::lifecycle::RefundStatus;
use cajero_domain::merchant::Mode;
use cajero_domain::money::{Amount, Currency};
use jiff::Timestamp;
use sqlx::AssertSqlSafe;

use crate::{Conn, Micros, StoreError, execute, fetch};

/// A refund as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRecord {
    /// `re_…`
    pub id: RefundId,
    /// Owner.
    pub merchant_id: MerchantId,
    /// Test or live.
    pub mode: Mode,
    /// The pay-in refunded.
    pub payin_id: PayinId,
    /// How much.
    pub amount: Amount,
    /// COP.
    pub currency: Currency,
    /// Lifecycle status.
    pub status: RefundStatus,
    /// `cash_pickup` or `bank_transfer`.
    pub method: String,
    /// Why.
    pub reason: Option<String>,
    /// The payout that pays it (cash pick-up).
    pub payout_id: Option<PayoutId>,
    /// Merchant metadata.
    pub metadata: serde_json::Value,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct Row {
    id: String,
    merchant_id: String,
    livemode: bool,
    payin_id: String,
    amount: i64,
    currency: String,
    status: String,
    method: String,
    reason: Option<String>,
    payout_id: Option<String>,
    metadata: String,
    created_at: i64,
    updated_at: i64,
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        table: "refunds",
        detail: e.to_string(),
    }
}

impl TryFrom<Row> for RefundRecord {
    type Error = StoreError;

    fn try_from(r: Row) -> Result<Self, StoreError> {
        Ok(RefundRecord {
            id: r.id.parse().map_err(corrupt)?,
            merchant_id: r.merchant_id.parse().map_err(corrupt)?,
            mode: Mode::from_livemode(r.livemode),
            payin_id: r.payin_id.parse().map_err(corrupt)?,
            amount: Amount::new(r.amount).map_err(corrupt)?,
            currency: r.currency.parse().map_err(corrupt)?,
            status: r.status.parse().map_err(corrupt)?,
            method: r.method,
            reason: r.reason,
            payout_id: r
                .payout_id
                .map(|p| p.parse())
                .transpose()
                .map_err(corrupt)?,
            metadata: serde_json::from_str(&r.metadata).map_err(corrupt)?,
            created_at: Micros(r.created_at).to_timestamp(),
            updated_at: Micros(r.updated_at).to_timestamp(),
        })
    }
}

const SELECT: &str = "SELECT id, merchant_id, livemode, payin_id, amount, currency, status, method, \
    reason, payout_id, metadata, created_at, updated_at FROM refunds";

/// Stores a new refund. The payout it names must already exist.
pub async fn insert(conn: &mut Conn<'_>, r: &RefundRecord) -> Result<(), StoreError> {
    execute!(
        conn,
        "INSERT INTO refunds (id, merchant_id, livemode, payin_id, amount, currency, status, \
         method, reason, payout_id, metadata, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        r.id.to_string(),
        r.merchant_id.to_string(),
        r.mode.is_live(),
        r.payin_id.to_string(),
        r.amount.minor(),
        r.currency.code(),
        r.status.as_str(),
        &r.method,
        &r.reason,
        r.payout_id.map(|p| p.to_string()),
        r.metadata.to_string(),
        Micros::from(r.created_at).0,
        Micros::from(r.updated_at).0,
    )?;
    Ok(())
}

/// A merchant's refund in one mode.
pub async fn get(
    conn: &mut Conn<'_>,
    merchant: MerchantId,
    mode: Mode,
    id: RefundId,
) -> Result<Option<RefundRecord>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "{SELECT} WHERE id = $1 AND merchant_id = $2 AND livemode = $3"
    ));
    let row = fetch!(
        optional,
        conn,
        Row,
        sql,
        id.to_string(),
        merchant.to_string(),
        mode.is_live()
    )?;
    row.map(RefundRecord::try_from).transpose()
}

/// Which refunds a list shows: all of a merchant's in one mode, or narrowed.
#[derive(Debug, Clone, Copy, Default)]
pub struct RefundFilter {
    /// Only this pay-in's.
    pub payin: Option<PayinId>,
    /// Only in this status.
    pub status: Option<RefundStatus>,
}

/// A page of a merchant's refunds, newest first.
pub async fn list(
    conn: &mut Conn<'_>,
    merchant: MerchantId,
    mode: Mode,
    filter: RefundFilter,
    page: &crate::page::PageRequest,
) -> Result<crate::page::Page<RefundRecord>, StoreError> {
    let (cursor_sql, order, limit) = page.sql(6);
    let sql = AssertSqlSafe(format!(
        "{SELECT} WHERE merchant_id = $1 AND livemode = $2 AND ($3 = '' OR payin_id = $3) \
         AND ($4 = '' OR status = $4) AND {cursor_sql} ORDER BY id {order} LIMIT $5"
    ));
    let payin = filter.payin.map(|p| p.to_string()).unwrap_or_default();
    let status = filter.status.map(|s| s.as_str()).unwrap_or("");
    let (m, live) = (merchant.to_string(), mode.is_live());
    let rows = match page.cursor_id() {
        Some(c) => fetch!(all, conn, Row, sql, m, live, payin, status, limit, c)?,
        None => fetch!(all, conn, Row, sql, m, live, payin, status, limit)?,
    };
    let page = page.finish(rows);
    Ok(crate::page::Page {
        data: page
            .data
            .into_iter()
            .map(RefundRecord::try_from)
            .collect::<Result<_, _>>()?,
        has_more: page.has_more,
    })
}

/// The refund a payout pays, if any.
pub async fn for_payout(
    conn: &mut Conn<'_>,
    payout: PayoutId,
) -> Result<Option<RefundRecord>, StoreError> {
    let sql = AssertSqlSafe(format!("{SELECT} WHERE payout_id = $1"));
    let row = fetch!(optional, conn, Row, sql, payout.to_string())?;
    row.map(RefundRecord::try_from).transpose()
}

/// Moves a refund from `from` to `to` (compare-and-set); false when it was no longer in `from`.
pub async fn transition(
    conn: &mut Conn<'_>,
    id: RefundId,
    from: RefundStatus,
    to: RefundStatus,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let changed = execute!(
        conn,
        "UPDATE refunds SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4",
        to.as_str(),
        Micros::from(now).0,
        id.to_string(),
        from.as_str(),
    )?;
    Ok(changed == 1)
}
