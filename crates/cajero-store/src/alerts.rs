//! Alerts: durable records of a problem someone must hear about, with a lifecycle
//! (open → resolved, reopened within the cool-down) and the operator's notification outbox in
//! the row itself. The rules (de-duplication, cool-down, who is told) live in the server's
//! `alerts` service; this module only reads and writes rows, each change a compare-and-set.
//!
//! An alert's key is (livemode, code, subject, merchant): the partial unique index
//! `alerts_one_open` keeps at most one open alert per key, also across instances.

use jiff::Timestamp;
use sqlx::AssertSqlSafe;

use crate::page::{Page, PageRequest};
use crate::sqlite::Query;
use crate::{Conn, Micros, StoreError, execute, fetch};

/// How far back an order makes its merchant concerned by a platform-wide alert about its
/// network: a week covers a merchant's usual traffic without reaching long-gone ones.
pub const CONCERNED_WINDOW_DAYS: i64 = 7;
const CONCERNED_WINDOW_US: i64 = CONCERNED_WINDOW_DAYS * 24 * 3_600 * 1_000_000;

/// An alert as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct AlertRow {
    /// `alr_…`.
    pub id: String,
    /// Live or test.
    pub livemode: bool,
    /// What kind of problem (`network_down`, …).
    pub code: String,
    /// What it is about (`efecty`, `efecty/counter:CTR123`, `we_…`, …).
    pub subject: String,
    /// The merchant; `None` for a platform-wide alert.
    pub merchant_id: Option<String>,
    /// The network its subject names, if any.
    pub network: Option<String>,
    /// `critical`, `warning` or `info`.
    pub severity: String,
    /// `open` or `resolved`.
    pub status: String,
    /// For people.
    pub message: String,
    /// A JSON object, for machines.
    pub details: String,
    /// 1, then one more at every reopening (event ids derive from it).
    pub generation: i64,
    /// When it was first raised (µs).
    pub raised_at: i64,
    /// When it was last raised (µs).
    pub last_seen_at: i64,
    /// How many times it was raised while open (or reopened).
    pub occurrences: i64,
    /// When it was resolved (µs), while resolved.
    pub resolved_at: Option<i64>,
    /// Why it was resolved.
    pub resolution: Option<String>,
    /// The operator's notification: `pending`, `sent` or `failed`.
    pub notify_status: String,
    /// Failed attempts of the pending notification.
    pub notify_attempts: i64,
    /// When the pending notification is due (µs).
    pub notify_next_at: Option<i64>,
    /// The last attempt's error.
    pub notify_error: Option<String>,
    /// Channels that took the pending notification (comma-separated).
    pub notify_done: String,
    /// When the operator was last told (µs).
    pub notified_at: Option<i64>,
    /// The status the operator was last told.
    pub notified_status: Option<String>,
}

const COLUMNS: &str = "id, livemode, code, subject, merchant_id, network, severity, status, \
    message, details, generation, raised_at, last_seen_at, occurrences, resolved_at, resolution, \
    notify_status, notify_attempts, notify_next_at, notify_error, notify_done, notified_at, \
    notified_status";

/// An alert's key: at most one open alert per key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertKey<'a> {
    /// Live or test.
    pub livemode: bool,
    /// The code.
    pub code: &'a str,
    /// The subject.
    pub subject: &'a str,
    /// The merchant (`mer_…`), or `None` for platform-wide.
    pub merchant_id: Option<&'a str>,
}

impl AlertKey<'_> {
    fn merchant(&self) -> &str {
        self.merchant_id.unwrap_or("")
    }
}

/// A new alert.
#[derive(Debug, Clone)]
pub struct NewAlert<'a> {
    /// `alr_…`.
    pub id: &'a str,
    /// Its key.
    pub key: AlertKey<'a>,
    /// The network the subject names, if any.
    pub network: Option<&'a str>,
    /// `critical`, `warning` or `info`.
    pub severity: &'a str,
    /// For people.
    pub message: &'a str,
    /// A JSON object.
    pub details: &'a str,
}

/// Inserts an open alert unless one with the same key is open; false when one was.
pub async fn insert(
    conn: &mut Conn<'_>,
    alert: &NewAlert<'_>,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let now_us = Micros::from(now).0;
    let inserted = execute!(
        conn,
        "INSERT INTO alerts (id, livemode, code, subject, merchant_id, network, severity, status, \
         message, details, generation, raised_at, last_seen_at, occurrences, notify_status, \
         notify_attempts, notify_next_at, notify_done) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $9, 1, $10, $10, 1, 'pending', 0, $10, '') \
         ON CONFLICT DO NOTHING",
        alert.id,
        alert.key.livemode,
        alert.key.code,
        alert.key.subject,
        alert.key.merchant_id,
        alert.network,
        alert.severity,
        alert.message,
        alert.details,
        now_us,
    )?;
    Ok(inserted == 1)
}

/// The open alert with this key, if any.
pub async fn find_open(
    conn: &mut Conn<'_>,
    key: &AlertKey<'_>,
) -> Result<Option<AlertRow>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM alerts WHERE livemode = $1 AND code = $2 AND subject = $3 \
         AND COALESCE(merchant_id, '') = $4 AND status = 'open'"
    ));
    Ok(fetch!(
        optional,
        conn,
        AlertRow,
        sql,
        key.livemode,
        key.code,
        key.subject,
        key.merchant(),
    )?)
}

/// The open alerts about `subject` (for `merchant_id`, `None`: platform-wide) whose code is
/// one of `codes`, in one statement, in the order of `codes`. Nothing is read for no codes.
pub async fn find_open_among(
    conn: &mut Conn<'_>,
    livemode: bool,
    codes: &[&str],
    subject: &str,
    merchant_id: Option<&str>,
) -> Result<Vec<AlertRow>, StoreError> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let listed: Vec<String> = (0..codes.len()).map(|i| format!("${}", 4 + i)).collect();
    let sql = format!(
        "SELECT {COLUMNS} FROM alerts WHERE livemode = $1 AND subject = $2 \
         AND COALESCE(merchant_id, '') = $3 AND status = 'open' AND code IN ({})",
        listed.join(", ")
    );
    let mut rows: Vec<AlertRow> = {
        let mut query = crate::sqlite::Query::new(sql)
            .bind(livemode)
            .bind(subject)
            .bind(merchant_id.unwrap_or(""));
        for code in codes {
            query = query.bind(*code);
        }
        query.fetch_all(conn).await
    }?;
    rows.sort_by_key(|row| codes.iter().position(|c| *c == row.code));
    Ok(rows)
}

/// The alert with this key resolved most recently, if it was resolved at or after `since`.
pub async fn resolved_since(
    conn: &mut Conn<'_>,
    key: &AlertKey<'_>,
    since: Timestamp,
) -> Result<Option<AlertRow>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM alerts WHERE livemode = $1 AND code = $2 AND subject = $3 \
         AND resolved_at >= $5 AND COALESCE(merchant_id, '') = $4 AND status = 'resolved' \
         ORDER BY resolved_at DESC LIMIT 1"
    ));
    Ok(fetch!(
        optional,
        conn,
        AlertRow,
        sql,
        key.livemode,
        key.code,
        key.subject,
        key.merchant(),
        Micros::from(since).0,
    )?)
}

/// A raise of an open alert: one more occurrence, seen now, with the latest message and
/// details. False when it is not open (any more).
pub async fn touch(
    conn: &mut Conn<'_>,
    id: &str,
    message: &str,
    details: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let changed = execute!(
        conn,
        "UPDATE alerts SET last_seen_at = $1, occurrences = occurrences + 1, message = $2, \
         details = $3 WHERE id = $4 AND status = 'open'",
        Micros::from(now).0,
        message,
        details,
        id,
    )?;
    Ok(changed == 1)
}

/// Reopens a resolved alert (one more generation and occurrence), its operator notification
/// due at `notify_at`. False when it was not resolved (any more).
pub async fn reopen(
    conn: &mut Conn<'_>,
    id: &str,
    severity: &str,
    message: &str,
    details: &str,
    now: Timestamp,
    notify_at: Timestamp,
) -> Result<bool, StoreError> {
    let changed = execute!(
        conn,
        "UPDATE alerts SET status = 'open', generation = generation + 1, \
         occurrences = occurrences + 1, last_seen_at = $1, resolved_at = NULL, resolution = NULL, \
         severity = $2, message = $3, details = $4, notify_status = 'pending', \
         notify_attempts = 0, notify_next_at = $5, notify_error = NULL, notify_done = '' \
         WHERE id = $6 AND status = 'resolved'",
        Micros::from(now).0,
        severity,
        message,
        details,
        Micros::from(notify_at).0,
        id,
    )?;
    Ok(changed == 1)
}

/// Resolves an open alert, its operator notification due at `notify_at`. False when it was not
/// open (any more).
pub async fn resolve(
    conn: &mut Conn<'_>,
    id: &str,
    resolution: &str,
    now: Timestamp,
    notify_at: Timestamp,
) -> Result<bool, StoreError> {
    let changed = execute!(
        conn,
        "UPDATE alerts SET status = 'resolved', resolved_at = $1, resolution = $2, \
         notify_status = 'pending', notify_attempts = 0, notify_next_at = $3, \
         notify_error = NULL, notify_done = '' WHERE id = $4 AND status = 'open'",
        Micros::from(now).0,
        resolution,
        Micros::from(notify_at).0,
        id,
    )?;
    Ok(changed == 1)
}

/// The alert with this id, whoever it belongs to (the operator's view).
pub async fn get(conn: &mut Conn<'_>, id: &str) -> Result<Option<AlertRow>, StoreError> {
    let sql = AssertSqlSafe(format!("SELECT {COLUMNS} FROM alerts WHERE id = $1"));
    Ok(fetch!(optional, conn, AlertRow, sql, id)?)
}

/// Open alerts of `code` (all modes and merchants), oldest first, at most `limit`.
pub async fn open_of_code(
    conn: &mut Conn<'_>,
    code: &str,
    limit: i64,
) -> Result<Vec<AlertRow>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM alerts WHERE code = $1 AND status = 'open' ORDER BY id LIMIT $2"
    ));
    Ok(fetch!(all, conn, AlertRow, sql, code, limit)?)
}

/// Which alerts a listing shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertFilter {
    /// A merchant's view: its own alerts and the platform-wide ones that concern it (see
    /// [`concerned_merchants`]); `None`: every alert (the operator's view).
    pub merchant_id: Option<String>,
    /// Live or test; `None`: both.
    pub livemode: Option<bool>,
    /// `open` or `resolved`.
    pub status: Option<String>,
    /// One code.
    pub code: Option<String>,
}

/// The SQL condition "this platform-wide alert concerns merchant `$m` (placeholder `m`)":
/// the merchant had an order routed to the alert's network in the window before it was raised.
fn concerns(m: usize) -> String {
    format!(
        "(merchant_id IS NULL AND network IS NOT NULL AND (\
         EXISTS (SELECT 1 FROM payins p WHERE p.merchant_id = ${m} AND p.livemode = alerts.livemode \
         AND p.network = alerts.network AND p.created_at >= alerts.raised_at - {CONCERNED_WINDOW_US}) \
         OR EXISTS (SELECT 1 FROM payouts o WHERE o.merchant_id = ${m} AND o.livemode = alerts.livemode \
         AND o.network = alerts.network AND o.created_at >= alerts.raised_at - {CONCERNED_WINDOW_US})))"
    )
}

/// A page of alerts, newest first.
pub async fn list(
    conn: &mut Conn<'_>,
    filter: &AlertFilter,
    page: &PageRequest,
) -> Result<Page<AlertRow>, StoreError> {
    let (cursor_sql, order, limit) = page.sql(6);
    let merchant_sql = if filter.merchant_id.is_some() {
        format!("(merchant_id = $1 OR {})", concerns(1))
    } else {
        "$1 IS NULL".to_string()
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM alerts WHERE {merchant_sql} AND ($2 IS NULL OR livemode = $2) \
         AND ($3 IS NULL OR status = $3) AND ($4 IS NULL OR code = $4) AND {cursor_sql} \
         ORDER BY id {order} LIMIT $5"
    );
    let mut query = Query::new(sql)
        .bind(filter.merchant_id.clone())
        .bind(filter.livemode)
        .bind(filter.status.clone())
        .bind(filter.code.clone())
        .bind(limit);
    if let Some(cursor) = page.cursor_id() {
        query = query.bind(cursor.to_string());
    }
    let rows: Vec<AlertRow> = query.fetch_all(conn).await?;
    Ok(page.finish(rows))
}

/// The alert with this id if the merchant may see it in that mode: its own, or a
/// platform-wide one that concerns it.
pub async fn get_for_merchant(
    conn: &mut Conn<'_>,
    id: &str,
    merchant_id: &str,
    livemode: bool,
) -> Result<Option<AlertRow>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM alerts WHERE id = $2 AND livemode = $3 \
         AND (merchant_id = $1 OR {})",
        concerns(1)
    ));
    Ok(fetch!(
        optional,
        conn,
        AlertRow,
        sql,
        merchant_id,
        id,
        livemode
    )?)
}

/// The merchants concerned by a platform-wide alert about `network` raised at `at`: those
/// with a pay-in or payout of that mode routed to the network in the
/// [`CONCERNED_WINDOW_DAYS`] before. One index probe per merchant
/// (`payins_by_merchant_network`, `payouts_by_merchant_network`).
pub async fn concerned_merchants(
    conn: &mut Conn<'_>,
    livemode: bool,
    network: &str,
    at: Timestamp,
) -> Result<Vec<String>, StoreError> {
    let since = Micros::from(at).0.saturating_sub(CONCERNED_WINDOW_US);
    let rows = fetch!(
        all,
        conn,
        (String,),
        "SELECT m.id FROM merchants m WHERE \
         EXISTS (SELECT 1 FROM payins p WHERE p.merchant_id = m.id AND p.livemode = $1 \
         AND p.network = $2 AND p.created_at >= $3) \
         OR EXISTS (SELECT 1 FROM payouts o WHERE o.merchant_id = m.id AND o.livemode = $1 \
         AND o.network = $2 AND o.created_at >= $3) ORDER BY m.id",
        livemode,
        network,
        since,
    )?;
    Ok(rows.into_iter().map(|(m,)| m).collect())
}

/// Alerts whose operator notification is due at `now`, oldest due first, at most `limit`.
pub async fn take_pending_notifications(
    conn: &mut Conn<'_>,
    now: Timestamp,
    limit: i64,
) -> Result<Vec<AlertRow>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM alerts WHERE notify_status = 'pending' AND notify_next_at <= $1 \
         ORDER BY notify_next_at, id LIMIT $2"
    ));
    Ok(fetch!(
        all,
        conn,
        AlertRow,
        sql,
        Micros::from(now).0,
        limit
    )?)
}

/// The notification of `alert` (as taken: its status and generation) went out to every
/// channel. It is marked sent unless the alert changed meanwhile (then the new state stays
/// pending); either way the operator was told `alert.status` now.
pub async fn mark_notified(
    conn: &mut Conn<'_>,
    alert: &AlertRow,
    now: Timestamp,
) -> Result<(), StoreError> {
    execute!(
        conn,
        "UPDATE alerts SET notified_at = $1, notified_status = $2, \
         notify_status = CASE WHEN status = $2 AND generation = $3 THEN 'sent' ELSE notify_status END, \
         notify_attempts = CASE WHEN status = $2 AND generation = $3 THEN 0 ELSE notify_attempts END, \
         notify_error = NULL, notify_done = '' \
         WHERE id = $4 AND notify_status = 'pending'",
        Micros::from(now).0,
        &alert.status,
        alert.generation,
        &alert.id,
    )?;
    Ok(())
}

/// The notification of `alert` is already what the operator was last told: nothing to send.
pub async fn mark_unchanged(conn: &mut Conn<'_>, alert: &AlertRow) -> Result<(), StoreError> {
    execute!(
        conn,
        "UPDATE alerts SET notify_status = 'sent', notify_attempts = 0, notify_error = NULL, \
         notify_done = '' WHERE id = $1 AND notify_status = 'pending' AND status = $2 \
         AND generation = $3",
        &alert.id,
        &alert.status,
        alert.generation,
    )?;
    Ok(())
}

/// A notification attempt failed on some channel: `done` lists the channels that took it,
/// retried at `next_at`, or given up (`failed`) when `next_at` is `None`.
pub async fn mark_notify_failed(
    conn: &mut Conn<'_>,
    id: &str,
    done: &str,
    error: &str,
    next_at: Option<Timestamp>,
) -> Result<(), StoreError> {
    execute!(
        conn,
        "UPDATE alerts SET notify_attempts = notify_attempts + 1, notify_error = $1, \
         notify_done = $2, notify_next_at = $3, \
         notify_status = CASE WHEN $4 THEN 'pending' ELSE 'failed' END \
         WHERE id = $5 AND notify_status = 'pending'",
        error,
        done,
        next_at.map(|t| Micros::from(t).0),
        next_at.is_some(),
        id,
    )?;
    Ok(())
}

/// Marks the delivery of event `event_id` to endpoint `endpoint_id` `skipped` (an alert about
/// a failing endpoint is not sent to that endpoint: it would only add to its failures; the
/// event stays readable and `resend` can still send it).
pub async fn skip_delivery(
    conn: &mut Conn<'_>,
    event_id: &str,
    endpoint_id: &str,
) -> Result<(), StoreError> {
    execute!(
        conn,
        "UPDATE webhook_deliveries SET status = 'skipped', next_attempt_at = NULL \
         WHERE event_id = $1 AND endpoint_id = $2 AND status = 'pending'",
        event_id,
        endpoint_id,
    )?;
    Ok(())
}

/// Whether an alert with this code and subject was ever raised (open or resolved), platform-wide
/// in `livemode`: reminders that must come once, not again after the operator closed them.
pub async fn ever_raised(
    conn: &mut Conn<'_>,
    livemode: bool,
    code: &str,
    subject: &str,
) -> Result<bool, StoreError> {
    let (count,) = fetch!(
        one,
        conn,
        (i64,),
        "SELECT COUNT(*) FROM alerts WHERE livemode = $1 AND code = $2 AND subject = $3",
        livemode,
        code,
        subject,
    )?;
    Ok(count > 0)
}

/// Whether any live pay-in or payout was created in `[from, to)`: a month with live cash
/// operations has a UIAF report to file. One indexed probe per merchant (merchant, mode,
/// created), not a scan of the orders.
pub async fn live_orders_between(
    conn: &mut Conn<'_>,
    from: Timestamp,
    to: Timestamp,
) -> Result<bool, StoreError> {
    let (count,) = fetch!(
        one,
        conn,
        (i64,),
        "SELECT COUNT(*) FROM (SELECT 1 FROM merchants m WHERE EXISTS (SELECT 1 FROM payins p \
         WHERE p.merchant_id = m.id AND p.livemode = TRUE AND p.created_at >= $1 \
         AND p.created_at < $2) OR EXISTS (SELECT 1 FROM payouts o WHERE o.merchant_id = m.id \
         AND o.livemode = TRUE AND o.created_at >= $1 AND o.created_at < $2) LIMIT 1) x",
        Micros::from(from).0,
        Micros::from(to).0,
    )?;
    Ok(count > 0)
}
