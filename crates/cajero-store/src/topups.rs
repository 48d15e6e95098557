//! Balance top-ups (`tu_…`).

use cajero_domain::id::{MerchantId, TopupId};
use cajero_domain::merchant::Mode;
use cajero_domain::money::{Amount, Currency};
use jiff::Timestamp;
use sqlx::AssertSqlSafe;

use crate::page::{Page, PageRequest};
use crate::{Conn, Micros, StoreError, execute, fetch};

/// Where a top-up stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopupStatus {
    /// Waiting for the operator to confirm the bank transfer (live mode).
    Pending,
    /// On the balance.
    Succeeded,
    /// Never arrived.
    Canceled,
}

impl TopupStatus {
    /// The stored code.
    pub const fn as_str(self) -> &'static str {
        match self {
            TopupStatus::Pending => "pending",
            TopupStatus::Succeeded => "succeeded",
            TopupStatus::Canceled => "canceled",
        }
    }

    fn parse(s: &str) -> Result<TopupStatus, StoreError> {
        match s {
            "pending" => Ok(TopupStatus::Pending),
            "succeeded" => Ok(TopupStatus::Succeeded),
            "canceled" => Ok(TopupStatus::Canceled),
            other => Err(StoreError::Corrupt {
                table: "topups",
                detail: format!("status {other}"),
            }),
        }
    }
}

/// A top-up as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopupRecord {
    /// `tu_…`
    pub id: TopupId,
    /// Whose balance.
    pub merchant_id: MerchantId,
    /// Test or live.
    pub mode: Mode,
    /// How much.
    pub amount: Amount,
    /// In what.
    pub currency: Currency,
    /// Where it stands.
    pub status: TopupStatus,
    /// The merchant's note.
    pub description: Option<String>,
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
    amount: i64,
    currency: String,
    status: String,
    description: Option<String>,
    created_at: i64,
    updated_at: i64,
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        table: "topups",
        detail: e.to_string(),
    }
}

impl TryFrom<Row> for TopupRecord {
    type Error = StoreError;

    fn try_from(r: Row) -> Result<Self, StoreError> {
        Ok(TopupRecord {
            id: r.id.parse().map_err(corrupt)?,
            merchant_id: r.merchant_id.parse().map_err(corrupt)?,
            mode: Mode::from_livemode(r.livemode),
            amount: Amount::new(r.amount).map_err(corrupt)?,
            currency: r.currency.parse().map_err(corrupt)?,
            status: TopupStatus::parse(&r.status)?,
            description: r.description,
            created_at: Micros(r.created_at).to_timestamp(),
            updated_at: Micros(r.updated_at).to_timestamp(),
        })
    }
}

const SELECT: &str = "SELECT id, merchant_id, livemode, amount, currency, status, description, \
                      created_at, updated_at FROM topups";

/// Stores a new top-up.
pub async fn insert(conn: &mut Conn<'_>, t: &TopupRecord) -> Result<(), StoreError> {
    execute!(
        conn,
        "INSERT INTO topups (id, merchant_id, livemode, amount, currency, status, description, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        t.id.to_string(),
        t.merchant_id.to_string(),
        t.mode.is_live(),
        t.amount.minor(),
        t.currency.code(),
        t.status.as_str(),
        &t.description,
        Micros::from(t.created_at).0,
        Micros::from(t.updated_at).0,
    )?;
    Ok(())
}

/// A merchant's top-up (`None` for another merchant's or mode's).
pub async fn get(
    conn: &mut Conn<'_>,
    merchant: MerchantId,
    mode: Mode,
    id: TopupId,
) -> Result<Option<TopupRecord>, StoreError> {
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
    row.map(TopupRecord::try_from).transpose()
}

/// Any top-up by id (the operator's confirmation).
pub async fn get_any(conn: &mut Conn<'_>, id: TopupId) -> Result<Option<TopupRecord>, StoreError> {
    let sql = AssertSqlSafe(format!("{SELECT} WHERE id = $1"));
    let row = fetch!(optional, conn, Row, sql, id.to_string())?;
    row.map(TopupRecord::try_from).transpose()
}

/// Moves a top-up from `from` to `to`; false when it was not in `from` (compare-and-set).
pub async fn transition(
    conn: &mut Conn<'_>,
    id: TopupId,
    from: TopupStatus,
    to: TopupStatus,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let changed = execute!(
        conn,
        "UPDATE topups SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4",
        to.as_str(),
        Micros::from(now).0,
        id.to_string(),
        from.as_str(),
    )?;
    Ok(changed == 1)
}

/// A page of a merchant's top-ups, newest first.
pub async fn list(
    conn: &mut Conn<'_>,
    merchant: MerchantId,
    mode: Mode,
    page: &PageRequest,
) -> Result<Page<TopupRecord>, StoreError> {
    let (cursor_sql, order, limit) = page.sql(4);
    let sql = AssertSqlSafe(format!(
        "{SELECT} WHERE merchant_id = $1 AND livemode = $2 AND {cursor_sql} ORDER BY id {order} LIMIT $3"
    ));
    let rows = match page.cursor_id() {
        Some(c) => fetch!(
            all,
            conn,
            Row,
            sql,
            merchant.to_string(),
            mode.is_live(),
            limit,
            c
        )?,
        None => fetch!(
            all,
            conn,
            Row,
            sql,
            merchant.to_string(),
            mode.is_live(),
            limit
        )?,
    };
    let page = page.finish(rows);
    Ok(Page {
        data: page
            .data
            .into_iter()
            .map(TopupRecord::try_from)
            .collect::<Result<_, _>>()?,
        has_more: page.has_more,
    })
}

/// Live top-ups waiting for the operator to confirm that their money arrived (every merchant's),
/// oldest first, at most `limit`. Pending live top-ups are few (each waits for a bank
/// transfer), so the scan by status is bounded by what is open.
pub async fn pending_live(conn: &mut Conn<'_>, limit: i64) -> Result<Vec<TopupRecord>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "{SELECT} WHERE livemode = TRUE AND status = 'pending' ORDER BY id LIMIT $1"
    ));
    fetch!(all, conn, Row, sql, limit)?
        .into_iter()
        .map(TopupRecord::try_from)
        .collect()
}
