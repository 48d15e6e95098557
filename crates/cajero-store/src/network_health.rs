//! Each instance's latest snapshot of each route's health (`network_health`): what the
//! operator's `cajero networks health` and the dashboard read. A circuit breaker lives in its
//! instance's memory; this table is what it last published.

use jiff::Timestamp;

use crate::{Conn, Micros, StoreError, execute, fetch};

/// One instance's view of one route to one network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthRow {
    /// The instance that published it.
    pub instance_id: String,
    /// Live or test.
    pub livemode: bool,
    /// The route's name.
    pub route: String,
    /// The cash network.
    pub network: String,
    /// `closed`, `half_open` or `open`.
    pub state: String,
    /// Since when.
    pub since: Timestamp,
    /// Outcomes in the window.
    pub window_requests: i64,
    /// Failures among them.
    pub window_failures: i64,
    /// Latency percentiles of answered calls in the window, ms.
    pub latency_ms: [Option<i64>; 3],
    /// Callback delay p50 and p95 in the window, seconds.
    pub callback_delay_s: [Option<i64>; 2],
    /// The last failure.
    pub last_error: Option<String>,
    /// Last probed.
    pub probed_at: Option<Timestamp>,
    /// Created through it since the instance started.
    pub created_total: i64,
    /// Failed calls since the instance started.
    pub failed_total: i64,
    /// When published.
    pub updated_at: Timestamp,
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct Row {
    instance_id: String,
    livemode: bool,
    route: String,
    network: String,
    state: String,
    since: i64,
    window_requests: i64,
    window_failures: i64,
    latency_p50_ms: Option<i64>,
    latency_p95_ms: Option<i64>,
    latency_p99_ms: Option<i64>,
    callback_delay_p50_s: Option<i64>,
    callback_delay_p95_s: Option<i64>,
    last_error: Option<String>,
    probed_at: Option<i64>,
    created_total: i64,
    failed_total: i64,
    updated_at: i64,
}

impl From<Row> for HealthRow {
    fn from(r: Row) -> Self {
        HealthRow {
            instance_id: r.instance_id,
            livemode: r.livemode,
            route: r.route,
            network: r.network,
            state: r.state,
            since: Micros(r.since).to_timestamp(),
            window_requests: r.window_requests,
            window_failures: r.window_failures,
            latency_ms: [r.latency_p50_ms, r.latency_p95_ms, r.latency_p99_ms],
            callback_delay_s: [r.callback_delay_p50_s, r.callback_delay_p95_s],
            last_error: r.last_error,
            probed_at: r.probed_at.map(|t| Micros(t).to_timestamp()),
            created_total: r.created_total,
            failed_total: r.failed_total,
            updated_at: Micros(r.updated_at).to_timestamp(),
        }
    }
}

/// Publishes `row`, replacing the instance's previous snapshot of that route.
pub async fn upsert(conn: &mut Conn<'_>, row: &HealthRow) -> Result<(), StoreError> {
    execute!(
        conn,
        "INSERT INTO network_health (instance_id, livemode, route, network, state, since, \
         window_requests, window_failures, latency_p50_ms, latency_p95_ms, latency_p99_ms, \
         callback_delay_p50_s, callback_delay_p95_s, last_error, probed_at, created_total, \
         failed_total, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
         $13, $14, $15, $16, $17, $18) \
         ON CONFLICT (instance_id, livemode, route, network) DO UPDATE SET state = excluded.state, \
         since = excluded.since, window_requests = excluded.window_requests, \
         window_failures = excluded.window_failures, latency_p50_ms = excluded.latency_p50_ms, \
         latency_p95_ms = excluded.latency_p95_ms, latency_p99_ms = excluded.latency_p99_ms, \
         callback_delay_p50_s = excluded.callback_delay_p50_s, \
         callback_delay_p95_s = excluded.callback_delay_p95_s, last_error = excluded.last_error, \
         probed_at = excluded.probed_at, created_total = excluded.created_total, \
         failed_total = excluded.failed_total, updated_at = excluded.updated_at",
        &row.instance_id,
        row.livemode,
        &row.route,
        &row.network,
        &row.state,
        Micros::from(row.since).0,
        row.window_requests,
        row.window_failures,
        row.latency_ms[0],
        row.latency_ms[1],
        row.latency_ms[2],
        row.callback_delay_s[0],
        row.callback_delay_s[1],
        &row.last_error,
        row.probed_at.map(|t| Micros::from(t).0),
        row.created_total,
        row.failed_total,
        Micros::from(row.updated_at).0,
    )?;
    Ok(())
}

/// Every snapshot published since `since`, by mode, route, network and instance.
pub async fn list(conn: &mut Conn<'_>, since: Timestamp) -> Result<Vec<HealthRow>, StoreError> {
    let rows = fetch!(
        all,
        conn,
        Row,
        "SELECT instance_id, livemode, route, network, state, since, window_requests, \
         window_failures, latency_p50_ms, latency_p95_ms, latency_p99_ms, callback_delay_p50_s, \
         callback_delay_p95_s, last_error, probed_at, created_total, failed_total, updated_at \
         FROM network_health WHERE updated_at >= $1 \
         ORDER BY livemode, route, network, instance_id",
        Micros::from(since).0,
    )?;
    Ok(rows.into_iter().map(HealthRow::from).collect())
}
