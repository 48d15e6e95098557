//! Test clocks as stored: a merchant's own simulated time in test mode (migration 0009).
//!
//! A clock's `frozen_time` only moves forward, by a compare-and-set on the time seen, so two
//! racing advances cannot both win. A deleted clock keeps its row (`deleted_at`): the pay-ins
//! and payouts that lived on it still name it.

use cajero_domain::id::{MerchantId, TestClockId};
use jiff::Timestamp;
use sqlx::AssertSqlSafe;

use crate::page::{Page, PageRequest};
use crate::{Conn, Micros, StoreError, execute, fetch};

/// A test clock as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestClockRecord {
    /// `clock_…`
    pub id: TestClockId,
    /// Owner (test mode only: clocks have no live counterpart).
    pub merchant_id: MerchantId,
    /// The merchant's name for it.
    pub name: Option<String>,
    /// The clock's now.
    pub frozen_time: Timestamp,
    /// Created (real time).
    pub created_at: Timestamp,
    /// Last advanced (real time).
    pub updated_at: Timestamp,
    /// Deleted (real time); its objects keep naming it.
    pub deleted_at: Option<Timestamp>,
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct Row {
    id: String,
    merchant_id: String,
    name: Option<String>,
    frozen_time: i64,
    created_at: i64,
    updated_at: i64,
    deleted_at: Option<i64>,
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        table: "test_clocks",
        detail: e.to_string(),
    }
}

impl TryFrom<Row> for TestClockRecord {
    type Error = StoreError;

    fn try_from(r: Row) -> Result<Self, StoreError> {
        Ok(TestClockRecord {
            id: r.id.parse().map_err(corrupt)?,
            merchant_id: r.merchant_id.parse().map_err(corrupt)?,
            name: r.name,
            frozen_time: Micros(r.frozen_time).to_timestamp(),
            created_at: Micros(r.created_at).to_timestamp(),
            updated_at: Micros(r.updated_at).to_timestamp(),
            deleted_at: r.deleted_at.map(|t| Micros(t).to_timestamp()),
        })
    }
}

const SELECT: &str = "SELECT id, merchant_id, name, frozen_time, created_at, updated_at, deleted_at FROM test_clocks";

/// Stores a new clock.
pub async fn insert(conn: &mut Conn<'_>, c: &TestClockRecord) -> Result<(), StoreError> {
    execute!(
        conn,
        "INSERT INTO test_clocks (id, merchant_id, name, frozen_time, created_at, updated_at, \
         deleted_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        c.id.to_string(),
        c.merchant_id.to_string(),
        &c.name,
        Micros::from(c.frozen_time).0,
        Micros::from(c.created_at).0,
        Micros::from(c.updated_at).0,
        c.deleted_at.map(|t| Micros::from(t).0),
    )?;
    Ok(())
}

/// A merchant's clock, deleted or not.
pub async fn get(
    conn: &mut Conn<'_>,
    merchant: MerchantId,
    id: TestClockId,
) -> Result<Option<TestClockRecord>, StoreError> {
    let sql = AssertSqlSafe(format!("{SELECT} WHERE id = $1 AND merchant_id = $2"));
    let row = fetch!(
        optional,
        conn,
        Row,
        sql,
        id.to_string(),
        merchant.to_string()
    )?;
    row.map(TestClockRecord::try_from).transpose()
}

/// A page of a merchant's clocks that are not deleted, newest first.
pub async fn list(
    conn: &mut Conn<'_>,
    merchant: MerchantId,
    page: &PageRequest,
) -> Result<Page<TestClockRecord>, StoreError> {
    let (cursor_sql, order, limit) = page.sql(3);
    let sql = AssertSqlSafe(format!(
        "{SELECT} WHERE merchant_id = $1 AND deleted_at IS NULL AND {cursor_sql} \
         ORDER BY id {order} LIMIT $2"
    ));
    let m = merchant.to_string();
    let rows = match page.cursor_id() {
        Some(c) => fetch!(all, conn, Row, sql, m, limit, c)?,
        None => fetch!(all, conn, Row, sql, m, limit)?,
    };
    let page = page.finish(rows);
    Ok(Page {
        data: page
            .data
            .into_iter()
            .map(TestClockRecord::try_from)
            .collect::<Result<_, _>>()?,
        has_more: page.has_more,
    })
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct Count {
    n: i64,
}

/// How many clocks a merchant has that are not deleted.
pub async fn count(conn: &mut Conn<'_>, merchant: MerchantId) -> Result<i64, StoreError> {
    let row = fetch!(
        one,
        conn,
        Count,
        "SELECT COUNT(*) AS n FROM test_clocks WHERE merchant_id = $1 AND deleted_at IS NULL",
        merchant.to_string()
    )?;
    Ok(row.n)
}

/// Moves a clock from `from` to `to` (compare-and-set on the time seen, never on a deleted
/// clock); false when someone moved or deleted it first.
pub async fn advance(
    conn: &mut Conn<'_>,
    id: TestClockId,
    from: Timestamp,
    to: Timestamp,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let changed = execute!(
        conn,
        "UPDATE test_clocks SET frozen_time = $1, updated_at = $2 \
         WHERE id = $3 AND frozen_time = $4 AND deleted_at IS NULL",
        Micros::from(to).0,
        Micros::from(now).0,
        id.to_string(),
        Micros::from(from).0,
    )?;
    Ok(changed == 1)
}

/// Marks a clock deleted if it has no open object; false when it has one (or was deleted).
pub async fn delete_if_idle(
    conn: &mut Conn<'_>,
    id: TestClockId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let changed = execute!(
        conn,
        "UPDATE test_clocks SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL \
         AND NOT EXISTS (SELECT 1 FROM payins WHERE test_clock = $2 AND status = 'pending') \
         AND NOT EXISTS (SELECT 1 FROM payouts WHERE test_clock = $2 \
             AND status IN ('pending', 'on_hold', 'available'))",
        Micros::from(now).0,
        id.to_string(),
    )?;
    Ok(changed == 1)
}

/// What lives on a clock: open objects, and how many of them are past their expiry on it (the
/// clock is still `advancing` while any is).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Occupancy {
    /// Pending pay-ins and payouts not yet paid, expired, canceled or failed.
    pub open: i64,
    /// Of those, the ones whose `expires_at` is at or before the clock's time.
    pub due: i64,
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct OccupancyRow {
    open: i64,
    due: i64,
}

/// Open objects on a clock, and how many of them are due for expiry.
pub async fn occupancy(
    conn: &mut Conn<'_>,
    id: TestClockId,
    frozen_time: Timestamp,
) -> Result<Occupancy, StoreError> {
    let row = fetch!(
        one,
        conn,
        OccupancyRow,
        "SELECT \
           (SELECT COUNT(*) FROM payins WHERE test_clock = $1 AND status = 'pending') \
         + (SELECT COUNT(*) FROM payouts WHERE test_clock = $1 \
              AND status IN ('pending', 'on_hold', 'available')) AS open, \
           (SELECT COUNT(*) FROM payins WHERE test_clock = $1 AND status = 'pending' \
              AND expires_at <= $2) \
         + (SELECT COUNT(*) FROM payouts WHERE test_clock = $1 AND status = 'available' \
              AND expires_at <= $2) AS due",
        id.to_string(),
        Micros::from(frozen_time).0,
    )?;
    Ok(Occupancy {
        open: row.open,
        due: row.due,
    })
}

/// The time on a clock, for an object that lives on it; `None` for a deleted clock (what is
/// left open or unsettled on it goes on on real time).
pub async fn frozen_time(
    conn: &mut Conn<'_>,
    id: TestClockId,
) -> Result<Option<Timestamp>, StoreError> {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Time {
        frozen_time: i64,
    }
    let row = fetch!(
        optional,
        conn,
        Time,
        "SELECT frozen_time FROM test_clocks WHERE id = $1 AND deleted_at IS NULL",
        id.to_string()
    )?;
    Ok(row.map(|r| Micros(r.frozen_time).to_timestamp()))
}
