//! Success analytics as stored: how a merchant's pay-ins and payouts created in a time range
//! ended, grouped in SQL (per network, per Bogotá day, per counter) so that a quarter of
//! orders is summed by the engine and only a few rows per group come back.
//!
//! Every query ranges over `(merchant_id, livemode, created_at)` (the index of migration
//! `0018_analytics`) and is written once for both engines: the sums are cast to BIGINT (a
//! PostgreSQL `SUM(BIGINT)` is NUMERIC), and an absent network filter is the empty string
//! rather than a NULL bind (which PostgreSQL could not type). Turning the rows into rates and
//! percentiles is the server's `analytics` service; this module only counts.

use cajero_domain::id::MerchantId;
use cajero_domain::merchant::Mode;
use sqlx::AssertSqlSafe;

use crate::{Conn, StoreError, execute, fetch};

/// Microseconds in one Bogotá day; Bogotá is UTC−5 all year (no daylight saving time).
pub const DAY_MICROS: i64 = 86_400_000_000;
/// How far Bogotá's clock is behind UTC, in microseconds.
pub const BOGOTA_OFFSET_MICROS: i64 = 5 * 3_600_000_000;

/// The upper bounds (exclusive) of the time-to-pay buckets, in seconds: under 15 minutes,
/// 1 hour, 6 hours, 24 hours and 72 hours; a sixth bucket holds the rest.
pub const DURATION_BUCKET_BOUNDS_S: [i64; 5] = [900, 3_600, 21_600, 86_400, 259_200];

/// Which orders: a merchant's, in one mode, created in `[created_from, created_before)`
/// (Unix microseconds), of one network or all.
#[derive(Debug, Clone)]
pub struct Window {
    /// The merchant.
    pub merchant: MerchantId,
    /// Test or live.
    pub mode: Mode,
    /// First instant included, Unix microseconds.
    pub created_from: i64,
    /// First instant excluded, Unix microseconds.
    pub created_before: i64,
    /// One network's orders only.
    pub network: Option<String>,
}

impl Window {
    fn network_bind(&self) -> String {
        self.network.clone().unwrap_or_default()
    }
}

/// The orders' kind, which names their table and what "open" and "done" mean there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKind {
    /// Vouchers: open while `pending`, done when `paid`.
    Payin,
    /// Pick-up codes: open while `pending`, `on_hold` or `available`, done when `paid`
    /// (collected).
    Payout,
}

impl OrderKind {
    fn table(self) -> &'static str {
        match self {
            OrderKind::Payin => "payins",
            OrderKind::Payout => "payouts",
        }
    }

    fn open_statuses(self) -> &'static str {
        match self {
            OrderKind::Payin => "('pending')",
            OrderKind::Payout => "('pending', 'on_hold', 'available')",
        }
    }
}

/// The orders of one network: how they ended, their amounts, and how long the paid ones took.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct TotalsRow {
    /// The network.
    pub network: String,
    /// Orders created.
    pub created: i64,
    /// Paid (pay-ins) or collected (payouts).
    pub paid: i64,
    /// Expired unpaid.
    pub expired: i64,
    /// Canceled.
    pub canceled: i64,
    /// Failed (payouts only; 0 for pay-ins).
    pub failed: i64,
    /// Still open.
    pub open: i64,
    /// Whole pesos of every order created.
    pub created_amount: i64,
    /// Whole pesos of the paid ones.
    pub paid_amount: i64,
    /// The paid ones' creation-to-payment times added up, in microseconds.
    pub paid_micros_total: i64,
    /// Paid ones that took under each of [`DURATION_BUCKET_BOUNDS_S`] (cumulative counts).
    pub under_15m: i64,
    /// Under 1 hour.
    pub under_1h: i64,
    /// Under 6 hours.
    pub under_6h: i64,
    /// Under 24 hours.
    pub under_24h: i64,
    /// Under 72 hours.
    pub under_72h: i64,
}

/// The `WHERE` every query shares; binds `$1` merchant, `$2` livemode, `$3`/`$4` the creation
/// range and `$5` the network (empty: all). `alias` qualifies the order table's columns.
fn scope(alias: &str) -> String {
    format!(
        "{alias}merchant_id = $1 AND {alias}livemode = $2 AND {alias}created_at >= $3 \
         AND {alias}created_at < $4 AND ($5 = '' OR {alias}network = $5)"
    )
}

/// Orders of `kind` in `window` per network, ordered by network.
pub async fn totals(
    conn: &mut Conn<'_>,
    kind: OrderKind,
    window: &Window,
) -> Result<Vec<TotalsRow>, StoreError> {
    let failed = match kind {
        OrderKind::Payin => "CAST(0 AS BIGINT)",
        OrderKind::Payout => "SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END)",
    };
    let elapsed = "COALESCE(paid_at, created_at) - created_at";
    let [b15m, b1h, b6h, b24h, b72h] = DURATION_BUCKET_BOUNDS_S.map(|s| s * 1_000_000);
    let under = |bound: i64| {
        format!("SUM(CASE WHEN status = 'paid' AND {elapsed} < {bound} THEN 1 ELSE 0 END)")
    };
    let sql = format!(
        "SELECT network, COUNT(*) AS created, \
         SUM(CASE WHEN status = 'paid' THEN 1 ELSE 0 END) AS paid, \
         SUM(CASE WHEN status = 'expired' THEN 1 ELSE 0 END) AS expired, \
         SUM(CASE WHEN status = 'canceled' THEN 1 ELSE 0 END) AS canceled, \
         {failed} AS failed, \
         SUM(CASE WHEN status IN {open} THEN 1 ELSE 0 END) AS open, \
         CAST(SUM(amount) AS BIGINT) AS created_amount, \
         CAST(SUM(CASE WHEN status = 'paid' THEN amount ELSE 0 END) AS BIGINT) AS paid_amount, \
         CAST(SUM(CASE WHEN status = 'paid' THEN {elapsed} ELSE 0 END) AS BIGINT) \
           AS paid_micros_total, \
         {u15m} AS under_15m, {u1h} AS under_1h, {u6h} AS under_6h, {u24h} AS under_24h, \
         {u72h} AS under_72h \
         FROM {table} WHERE {scope} GROUP BY network ORDER BY network",
        open = kind.open_statuses(),
        u15m = under(b15m),
        u1h = under(b1h),
        u6h = under(b6h),
        u24h = under(b24h),
        u72h = under(b72h),
        table = kind.table(),
        scope = scope(""),
    );
    Ok(fetch!(
        all,
        conn,
        TotalsRow,
        AssertSqlSafe(sql),
        window.merchant.to_string(),
        window.mode.is_live(),
        window.created_from,
        window.created_before,
        window.network_bind(),
    )?)
}

/// The orders of one network created on one Bogotá day.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct DayRow {
    /// The Bogotá day, as days since 1970-01-01.
    pub day: i64,
    /// The network.
    pub network: String,
    /// Orders created that day.
    pub created: i64,
    /// Of them, paid or collected (whenever).
    pub paid: i64,
    /// Of them, still open.
    pub open: i64,
    /// Whole pesos of the ones paid or collected.
    pub paid_amount: i64,
}

/// Orders of `kind` in `window` per Bogotá day of creation and network, ordered by day and
/// network; days without orders are absent.
pub async fn days(
    conn: &mut Conn<'_>,
    kind: OrderKind,
    window: &Window,
) -> Result<Vec<DayRow>, StoreError> {
    let sql = format!(
        "SELECT (created_at - {BOGOTA_OFFSET_MICROS}) / {DAY_MICROS} AS day, network, \
         COUNT(*) AS created, SUM(CASE WHEN status = 'paid' THEN 1 ELSE 0 END) AS paid, \
         SUM(CASE WHEN status IN {open} THEN 1 ELSE 0 END) AS open, \
         CAST(SUM(CASE WHEN status = 'paid' THEN amount ELSE 0 END) AS BIGINT) AS paid_amount \
         FROM {table} WHERE {scope} GROUP BY day, network ORDER BY day, network",
        open = kind.open_statuses(),
        table = kind.table(),
        scope = scope(""),
    );
    Ok(fetch!(
        all,
        conn,
        DayRow,
        AssertSqlSafe(sql),
        window.merchant.to_string(),
        window.mode.is_live(),
        window.created_from,
        window.created_before,
        window.network_bind(),
    )?)
}

/// What one counter paid or collected of the orders.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct CounterRow {
    /// The network.
    pub network: String,
    /// The network's counter id.
    pub counter_id: String,
    /// Orders paid or collected there.
    pub paid: i64,
    /// Their whole pesos.
    pub paid_amount: i64,
}

/// Orders of `kind` in `window` paid or collected per counter, the most first (then the
/// largest amount), at most `limit` counters.
pub async fn counters(
    conn: &mut Conn<'_>,
    kind: OrderKind,
    window: &Window,
    limit: i64,
) -> Result<Vec<CounterRow>, StoreError> {
    let sql = format!(
        "SELECT network, paid_counter_id AS counter_id, COUNT(*) AS paid, \
         CAST(SUM(amount) AS BIGINT) AS paid_amount \
         FROM {table} WHERE {scope} AND status = 'paid' AND paid_counter_id IS NOT NULL \
         GROUP BY network, paid_counter_id \
         ORDER BY paid DESC, paid_amount DESC, network, counter_id LIMIT $6",
        table = kind.table(),
        scope = scope(""),
    );
    Ok(fetch!(
        all,
        conn,
        CounterRow,
        AssertSqlSafe(sql),
        window.merchant.to_string(),
        window.mode.is_live(),
        window.created_from,
        window.created_before,
        window.network_bind(),
        limit,
    )?)
}

/// Failed counter attempts of one outcome at one counter.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct FailedAttemptsRow {
    /// The network.
    pub network: String,
    /// The network's counter id.
    pub counter_id: String,
    /// What the counter answered (`counter_out_of_cash`, `document_mismatch`, …).
    pub outcome: String,
    /// How many times.
    pub attempts: i64,
}

/// The failed counter attempts (every outcome but `approved`) on the payouts in `window`, per
/// network, counter and outcome, the most first, at most `limit` rows.
pub async fn payout_failed_attempts(
    conn: &mut Conn<'_>,
    window: &Window,
    limit: i64,
) -> Result<Vec<FailedAttemptsRow>, StoreError> {
    let sql = format!(
        "SELECT p.network AS network, a.counter_id AS counter_id, a.outcome AS outcome, \
         COUNT(*) AS attempts \
         FROM payouts p JOIN payout_attempts a ON a.payout_id = p.id \
         WHERE {scope} AND a.outcome <> 'approved' \
         GROUP BY p.network, a.counter_id, a.outcome \
         ORDER BY attempts DESC, network, counter_id, outcome LIMIT $6",
        scope = scope("p."),
    );
    Ok(fetch!(
        all,
        conn,
        FailedAttemptsRow,
        AssertSqlSafe(sql),
        window.merchant.to_string(),
        window.mode.is_live(),
        window.created_from,
        window.created_before,
        window.network_bind(),
        limit,
    )?)
}

/// Records the counter that paid or collected an order, once: only on a paid order that has
/// none yet (a repeated callback changes nothing). True when it was recorded now.
pub async fn record_paid_counter(
    conn: &mut Conn<'_>,
    kind: OrderKind,
    order_id: &str,
    counter_id: &str,
) -> Result<bool, StoreError> {
    let sql = format!(
        "UPDATE {table} SET paid_counter_id = $1 \
         WHERE id = $2 AND status = 'paid' AND paid_counter_id IS NULL",
        table = kind.table(),
    );
    Ok(execute!(conn, AssertSqlSafe(sql), counter_id, order_id)? == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bogota_day_starts_at_five_in_the_morning_utc() {
        // 2025-11-25T05:00:00Z is midnight in Bogotá: one microsecond before is the 24th.
        let midnight = 1_764_046_800_000_000_i64;
        let day = |at: i64| (at - BOGOTA_OFFSET_MICROS) / DAY_MICROS;
        assert_eq!(day(midnight) - day(midnight - 1), 1);
        assert_eq!(day(midnight), 20_417); // 2025-11-25 is day 20,417 since 1970-01-01
    }
}
