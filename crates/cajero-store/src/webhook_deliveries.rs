//! The webhook outbox's queue side: claiming due deliveries under a lease, recording attempts,
//! resending and recovering, and the delivery log.
//!
//! A delivery is one (event, endpoint) row. Workers claim due rows with a lease
//! (`locked_until`; `locked_by`, the claim's token; `holder`, the claiming instance's
//! incarnation): on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so instances sharing a database
//! never claim the same row; on SQLite the single writer serializes claims. Leases are short
//! and [`renew`]ed while a delivery is in flight. A lease is taken over when it runs out, or
//! at once when its holder is dead (see [`crate::instances`]): a killed instance's deliveries
//! wait seconds, not a minute. Delivery is at least once, always with the same `webhook-id`.

use cajero_domain::id::{EventId, MerchantId, WebhookEndpointId};
use jiff::Timestamp;
use sqlx::AssertSqlSafe;

use crate::events::{EventRecord, EventRow, corrupt};
use crate::sqlite::Query;
use crate::webhooks::SealedSecret;
use crate::{Conn, Micros, StoreError, execute, fetch};

fn us(t: Timestamp) -> i64 {
    Micros::from(t).0
}

fn to_ts(us: i64) -> Timestamp {
    Micros(us).to_timestamp()
}

/// What a claim asks for.
#[derive(Debug, Clone)]
pub struct ClaimRequest<'a> {
    /// Now: rows due at or before it whose lease (if any) ran out are claimable.
    pub now: Timestamp,
    /// The lease's end; set it well beyond the delivery timeout.
    pub lease_until: Timestamp,
    /// Identifies this claim; recording an attempt needs it, so that a worker whose lease ran
    /// out (and whose row someone else claimed) cannot overwrite the newer state.
    pub token: &'a str,
    /// The claiming instance's incarnation. Leases of other incarnations that are dead are
    /// taken over; `None` (tools) holds the claim without an incarnation: only its lease's end
    /// frees it.
    pub holder: Option<&'a str>,
    /// Rows to claim at most.
    pub limit: u32,
    /// Deliveries in flight per endpoint at most, across every worker sharing the database.
    pub per_endpoint_max: u32,
}

/// A claimed delivery: everything needed to send it.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    /// The event (its id is the `webhook-id`).
    pub event: EventRecord,
    /// The endpoint.
    pub endpoint_id: WebhookEndpointId,
    /// Where to POST.
    pub url: String,
    /// The secrets that sign it now, sealed (the sender opens them).
    pub secrets: Vec<SealedSecret>,
    /// Attempts made before this one, in every round (this attempt is number `+ 1`).
    pub attempt_count: u32,
    /// Attempts made before this one in this round (the retry schedule's position).
    pub round_attempts: u32,
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct ClaimRow {
    #[sqlx(flatten)]
    #[serde(flatten)]
    event: EventRow,
    endpoint_id: String,
    url: String,
    secret: String,
    previous_secret: Option<String>,
    previous_secret_expires_at: Option<i64>,
    attempt_count: i64,
    round_attempts: i64,
}

const CLAIM_SELECT: &str = "SELECT e.id, e.merchant_id, e.livemode, e.type, e.data, e.created_at, \
    d.endpoint_id, w.url, w.secret, w.previous_secret, w.previous_secret_expires_at, \
    d.attempt_count, d.round_attempts \
    FROM webhook_deliveries d \
    JOIN events e ON e.id = d.event_id \
    JOIN webhook_endpoints w ON w.id = d.endpoint_id \
    WHERE d.status = 'pending' AND d.next_attempt_at <= $1 \
    AND (d.locked_until IS NULL OR d.locked_until <= $1) \
    AND d.endpoint_id NOT IN (SELECT endpoint_id FROM webhook_deliveries \
        WHERE locked_until > $1 GROUP BY endpoint_id HAVING COUNT(*) >= $3) \
    ORDER BY d.next_attempt_at LIMIT $2";

/// The PostgreSQL advisory lock key that serializes claims ("cajero webhook claims").
const CLAIM_LOCK_KEY: i64 = 0x6361_6a65_726f_7768;

/// Claims up to `limit` due deliveries with a lease, oldest due first, at most
/// `per_endpoint_max` in flight per endpoint.
pub async fn claim_due(
    conn: &mut Conn<'_>,
    request: &ClaimRequest<'_>,
) -> Result<Vec<ClaimedDelivery>, StoreError> {
    let now = us(request.now);
    let per_endpoint_max = i64::from(request.per_endpoint_max.max(1));
    if let Conn::Postgres(_) = conn {
        // Claims from several instances take turns (each is a few milliseconds), so that the
        // per-endpoint bound holds across instances; SQLite's single writer does this already.
        // A statement of its own: the claim that follows must see the claims committed while
        // it waited.
        execute!(conn, "SELECT pg_advisory_xact_lock($1)", CLAIM_LOCK_KEY)?;
        let rows = claim_postgres(conn, request).await?;
        return rows.into_iter().map(|row| to_delivery(row, now)).collect();
    }
    // SQLite: statements cost microseconds in process, so the claim takes several.
    // Leases held by dead incarnations end now (never the claimer's own: it knows what it has
    // in flight, and its own leases run out if it lost track).
    release_dead(conn, request.holder.unwrap_or(""), request.now).await?;
    // Endpoints part-way to their limit: count what they have in flight.
    let in_flight = fetch!(
        all,
        conn,
        (String, i64),
        "SELECT endpoint_id, COUNT(*) FROM webhook_deliveries WHERE locked_until > $1 \
         GROUP BY endpoint_id",
        now,
    )?;
    let mut in_flight: std::collections::HashMap<String, i64> = in_flight.into_iter().collect();
    // Look a little past the limit, so that one busy endpoint does not leave the batch short.
    let window = i64::from(request.limit.max(1)) * 2;
    let rows = fetch!(
        all,
        conn,
        ClaimRow,
        CLAIM_SELECT,
        now,
        window,
        per_endpoint_max
    )?;
    let mut claimed = Vec::new();
    for row in rows {
        if claimed.len() >= request.limit as usize {
            break;
        }
        let busy = in_flight.entry(row.endpoint_id.clone()).or_insert(0);
        if *busy >= per_endpoint_max {
            continue;
        }
        *busy += 1;
        claimed.push(row);
    }
    lease(conn, &claimed, request).await?;
    claimed
        .into_iter()
        .map(|row| to_delivery(row, now))
        .collect()
}

fn to_delivery(row: ClaimRow, now: i64) -> Result<ClaimedDelivery, StoreError> {
    let mut secrets = vec![SealedSecret(row.secret)];
    if let (Some(previous), Some(until)) = (row.previous_secret, row.previous_secret_expires_at)
        && now < until
    {
        secrets.push(SealedSecret(previous));
    }
    Ok(ClaimedDelivery {
        endpoint_id: row
            .endpoint_id
            .parse()
            .map_err(|e| corrupt("webhook_deliveries", e))?,
        event: EventRecord::try_from(row.event)?,
        url: row.url,
        secrets,
        attempt_count: u32::try_from(row.attempt_count).unwrap_or(u32::MAX),
        round_attempts: u32::try_from(row.round_attempts).unwrap_or(u32::MAX),
    })
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct PgClaimRow {
    #[sqlx(flatten)]
    #[serde(flatten)]
    claim: ClaimRow,
    next_attempt_at: i64,
}

/// The claim on PostgreSQL in one statement: the due rows not locked by another claim are
/// locked (`SKIP LOCKED`), at most `per_endpoint_max` per endpoint counting those in flight are
/// leased, and the leased rows come back with their event and endpoint. A lease held by a dead
/// incarnation (never the claimer's own) counts as ended: such a row is neither in flight nor
/// kept from the claim, and the claim takes it over.
async fn claim_postgres(
    conn: &mut Conn<'_>,
    request: &ClaimRequest<'_>,
) -> Result<Vec<ClaimRow>, StoreError> {
    let now = us(request.now);
    let dead_held = format!(
        "(holder IS NOT NULL AND holder <> $2 AND holder NOT IN ({}))",
        crate::instances::live_incarnations(3)
    );
    let sql = format!(
        "WITH busy AS ( \
             SELECT endpoint_id, COUNT(*) AS n FROM webhook_deliveries \
             WHERE locked_until > $1 AND NOT {dead_held} GROUP BY endpoint_id), \
         due AS ( \
             SELECT event_id, endpoint_id, next_attempt_at FROM webhook_deliveries \
             WHERE status = 'pending' AND next_attempt_at <= $1 \
             AND (locked_until IS NULL OR locked_until <= $1 OR {dead_held}) \
             ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED), \
         ranked AS ( \
             SELECT event_id, endpoint_id, next_attempt_at, ROW_NUMBER() OVER \
             (PARTITION BY endpoint_id ORDER BY next_attempt_at, event_id) AS n FROM due), \
         chosen AS ( \
             SELECT r.event_id, r.endpoint_id FROM ranked r \
             LEFT JOIN busy b ON b.endpoint_id = r.endpoint_id \
             WHERE r.n + COALESCE(b.n, 0) <= $5 \
             ORDER BY r.next_attempt_at, r.event_id LIMIT $6) \
         UPDATE webhook_deliveries d SET locked_until = $7, locked_by = $8, holder = $9 \
         FROM chosen c, events e, webhook_endpoints w \
         WHERE d.event_id = c.event_id AND d.endpoint_id = c.endpoint_id \
         AND e.id = d.event_id AND w.id = d.endpoint_id \
         RETURNING e.id, e.merchant_id, e.livemode, e.type, e.data, e.created_at, \
         d.endpoint_id, w.url, w.secret, w.previous_secret, w.previous_secret_expires_at, \
         d.attempt_count, d.round_attempts, d.next_attempt_at"
    );
    let limit = i64::from(request.limit.max(1));
    let mut rows = fetch!(
        all,
        conn,
        PgClaimRow,
        AssertSqlSafe(sql),
        now,
        request.holder.unwrap_or(""),
        us(crate::instances::dead_before(request.now)),
        // Look a little past the limit, so that one busy endpoint does not leave the batch short.
        limit * 2,
        i64::from(request.per_endpoint_max.max(1)),
        limit,
        us(request.lease_until),
        request.token,
        request.holder,
    )?;
    // Oldest due first, as on SQLite (RETURNING keeps no order).
    rows.sort_by(|a, b| {
        (a.next_attempt_at, &a.claim.event.id).cmp(&(b.next_attempt_at, &b.claim.event.id))
    });
    Ok(rows.into_iter().map(|r| r.claim).collect())
}

/// Sets the lease on the claimed rows, in one statement.
async fn lease(
    conn: &mut Conn<'_>,
    rows: &[ClaimRow],
    request: &ClaimRequest<'_>,
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let keys: Vec<String> = (0..rows.len())
        .map(|i| format!("(${}, ${})", 4 + 2 * i, 5 + 2 * i))
        .collect();
    let sql = format!(
        "UPDATE webhook_deliveries SET locked_until = $1, locked_by = $2, holder = $3 \
         WHERE (event_id, endpoint_id) IN ({})",
        keys.join(", ")
    );
    let mut query = Query::new(sql)
        .bind(us(request.lease_until))
        .bind(request.token)
        .bind(request.holder);
    for row in rows {
        query = query.bind(&row.event.id).bind(&row.endpoint_id);
    }
    query.execute(conn).await?;
    Ok(())
}

/// Ends the leases held by incarnations that are dead at `now`, except `except`'s. Returns how
/// many ended.
async fn release_dead(
    conn: &mut Conn<'_>,
    except: &str,
    now: Timestamp,
) -> Result<u64, StoreError> {
    let sql = format!(
        "UPDATE webhook_deliveries SET locked_until = NULL, locked_by = NULL, holder = NULL \
         WHERE locked_by IS NOT NULL AND holder IS NOT NULL AND holder <> $1 \
         AND holder NOT IN ({})",
        crate::instances::live_incarnations(2)
    );
    Ok(execute!(
        conn,
        AssertSqlSafe(sql),
        except,
        us(crate::instances::dead_before(now)),
    )?)
}

/// Ends every lease `holder` holds (a restarted instance's previous incarnation). Returns how
/// many ended.
pub async fn release_holder(
    conn: &mut Conn<'_>,
    holder: &str,
    now: Timestamp,
) -> Result<u64, StoreError> {
    Ok(execute!(
        conn,
        "UPDATE webhook_deliveries SET locked_until = NULL, locked_by = NULL, holder = NULL, \
         updated_at = $1 WHERE locked_by IS NOT NULL AND holder = $2",
        us(now),
        holder,
    )?)
}

/// Extends, to `lease_until`, the leases of the claims `tokens` that are still held (their
/// attempts not yet recorded, and not taken over). Returns how many were extended.
pub async fn renew(
    conn: &mut Conn<'_>,
    tokens: &[String],
    lease_until: Timestamp,
) -> Result<u64, StoreError> {
    let mut renewed = 0;
    for chunk in tokens.chunks(RENEW_CHUNK_MAX) {
        let params: Vec<String> = (0..chunk.len()).map(|i| format!("${}", 2 + i)).collect();
        let sql = format!(
            "UPDATE webhook_deliveries SET locked_until = $1 \
             WHERE locked_by IN ({}) AND status = 'pending'",
            params.join(", ")
        );
        let mut query = Query::new(sql).bind(us(lease_until));
        for token in chunk {
            query = query.bind(token);
        }
        renewed += query.execute(conn).await?;
    }
    Ok(renewed)
}

/// Claim tokens renewed per statement at most.
const RENEW_CHUNK_MAX: usize = 500;

/// What comes after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// Delivered.
    Succeeded,
    /// Try again at this instant.
    RetryAt(Timestamp),
    /// No more attempts in this round.
    Failed,
}

/// One attempt, as the delivery log keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    /// The event.
    pub event_id: EventId,
    /// The endpoint.
    pub endpoint_id: WebhookEndpointId,
    /// 1, 2, … across rounds.
    pub attempt: u32,
    /// When it started.
    pub started_at: Timestamp,
    /// How long it took, in milliseconds.
    pub duration_ms: i64,
    /// The receiver's HTTP status, when it answered.
    pub status_code: Option<u16>,
    /// What went wrong before or instead of an answer (`timeout`, `connect`, `url_blocked`…).
    pub error: Option<String>,
    /// The first bytes of the answer's body.
    pub response_body: String,
}

/// Records an attempt made under the lease `token` and moves the delivery to `next`.
/// Returns `false`, recording nothing, when the lease was lost (it ran out and another worker
/// claimed the row, or the endpoint was disabled or deleted meanwhile).
pub async fn record_attempt(
    conn: &mut Conn<'_>,
    attempt: &AttemptRecord,
    token: &str,
    next: NextStep,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let (status, next_at) = match next {
        NextStep::Succeeded => ("succeeded", None),
        NextStep::RetryAt(at) => ("pending", Some(us(at))),
        NextStep::Failed => ("failed", None),
    };
    let changed = execute!(
        conn,
        "UPDATE webhook_deliveries SET status = $1, next_attempt_at = $2, \
         attempt_count = attempt_count + 1, round_attempts = round_attempts + 1, \
         locked_until = NULL, locked_by = NULL, holder = NULL, last_attempt_at = $3, \
         updated_at = $4 WHERE event_id = $5 AND endpoint_id = $6 AND locked_by = $7 AND status = 'pending'",
        status,
        next_at,
        us(attempt.started_at),
        us(now),
        attempt.event_id.to_string(),
        attempt.endpoint_id.to_string(),
        token,
    )?;
    if changed == 0 {
        return Ok(false);
    }
    execute!(
        conn,
        "INSERT INTO webhook_attempts (event_id, endpoint_id, attempt, started_at, duration_ms, \
         status_code, error, response_body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (event_id, endpoint_id, attempt) DO NOTHING",
        attempt.event_id.to_string(),
        attempt.endpoint_id.to_string(),
        i64::from(attempt.attempt),
        us(attempt.started_at),
        attempt.duration_ms,
        attempt.status_code.map(i64::from),
        &attempt.error,
        &attempt.response_body,
    )?;
    Ok(true)
}

/// Attempts recorded per statement at most (eight parameters each, well within both
/// engines' limits on bound parameters).
const RECORD_CHUNK_MAX: usize = 1_000;

/// One attempt to record with [`record_attempts`]: the attempt, the lease token it was made
/// under, and what comes next.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    /// The attempt.
    pub attempt: AttemptRecord,
    /// The lease token of the claim.
    pub token: String,
    /// What comes next.
    pub next: NextStep,
}

/// [`record_attempt`] for many attempts. On PostgreSQL, two statements per chunk (one
/// `UPDATE … FROM (VALUES …)` and one multi-row `INSERT`), so that a batch costs a few round
/// trips instead of two per attempt; on SQLite, one statement per attempt. Returns, in order, whether each attempt's lease was
/// still held (and so was recorded).
pub async fn record_attempts(
    conn: &mut Conn<'_>,
    outcomes: &[AttemptOutcome],
    now: Timestamp,
) -> Result<Vec<bool>, StoreError> {
    let mut recorded = Vec::with_capacity(outcomes.len());
    if let Conn::Sqlite(_) = conn {
        // In-process statements cost microseconds, and SQLite plans `UPDATE … FROM (VALUES …)`
        // as a scan of the whole table: one statement per attempt is the fast way here.
        for o in outcomes {
            recorded.push(record_attempt(conn, &o.attempt, &o.token, o.next, now).await?);
        }
        return Ok(recorded);
    }
    for chunk in outcomes.chunks(RECORD_CHUNK_MAX) {
        recorded.extend(record_chunk(conn, chunk, now).await?);
    }
    Ok(recorded)
}

async fn record_chunk(
    conn: &mut Conn<'_>,
    chunk: &[AttemptOutcome],
    now: Timestamp,
) -> Result<Vec<bool>, StoreError> {
    if chunk.is_empty() {
        return Ok(Vec::new());
    }
    // VALUES columns are column1… on both engines. The token is compared with IS NOT DISTINCT
    // FROM (tokens are never NULL), which PostgreSQL cannot join on: with `=`, it merge-joined
    // on the token, which one claim's rows all share, comparing every row with every row
    // (≈ 100 ms for 512). `locked_by IS NOT NULL` lets it read only leased rows (a partial
    // index) and hash-join them on the key.
    let rows: Vec<String> = (0..chunk.len())
        .map(|i| {
            let p = 2 + i * 6;
            format!(
                "(${}, ${}, ${}, ${}, ${}, ${})",
                p,
                p + 1,
                p + 2,
                p + 3,
                p + 4,
                p + 5
            )
        })
        .collect();
    let sql = format!(
        "UPDATE webhook_deliveries SET status = v.column4, next_attempt_at = v.column5, \
         attempt_count = attempt_count + 1, round_attempts = round_attempts + 1, \
         locked_until = NULL, locked_by = NULL, holder = NULL, last_attempt_at = v.column6, \
         updated_at = $1 \
         FROM (VALUES {}) AS v \
         WHERE webhook_deliveries.event_id = v.column1 \
         AND webhook_deliveries.endpoint_id = v.column2 \
         AND webhook_deliveries.locked_by IS NOT NULL \
         AND webhook_deliveries.locked_by IS NOT DISTINCT FROM v.column3 \
         AND webhook_deliveries.status = 'pending' \
         RETURNING webhook_deliveries.event_id, webhook_deliveries.endpoint_id",
        rows.join(", ")
    );
    let mut query = Query::new(sql).bind(us(now));
    for o in chunk {
        let (status, next_at) = match o.next {
            NextStep::Succeeded => ("succeeded", None),
            NextStep::RetryAt(at) => ("pending", Some(us(at))),
            NextStep::Failed => ("failed", None),
        };
        query = query
            .bind(o.attempt.event_id.to_string())
            .bind(o.attempt.endpoint_id.to_string())
            .bind(&o.token)
            .bind(status)
            .bind(next_at)
            .bind(us(o.attempt.started_at));
    }
    let updated: Vec<(String, String)> = query.fetch_all(conn).await?;
    let held: std::collections::HashSet<(String, String)> = updated.into_iter().collect();
    let recorded: Vec<bool> = chunk
        .iter()
        .map(|o| {
            held.contains(&(
                o.attempt.event_id.to_string(),
                o.attempt.endpoint_id.to_string(),
            ))
        })
        .collect();
    let kept: Vec<&AttemptRecord> = chunk
        .iter()
        .zip(&recorded)
        .filter(|(_, r)| **r)
        .map(|(o, _)| &o.attempt)
        .collect();
    if kept.is_empty() {
        return Ok(recorded);
    }
    let rows: Vec<String> = (0..kept.len())
        .map(|i| {
            let p = 1 + i * 8;
            let params: Vec<String> = (p..p + 8).map(|n| format!("${n}")).collect();
            format!("({})", params.join(", "))
        })
        .collect();
    let sql = format!(
        "INSERT INTO webhook_attempts (event_id, endpoint_id, attempt, started_at, duration_ms, \
         status_code, error, response_body) VALUES {} \
         ON CONFLICT (event_id, endpoint_id, attempt) DO NOTHING",
        rows.join(", ")
    );
    let mut query = Query::new(sql);
    for a in &kept {
        query = query
            .bind(a.event_id.to_string())
            .bind(a.endpoint_id.to_string())
            .bind(i64::from(a.attempt))
            .bind(us(a.started_at))
            .bind(a.duration_ms)
            .bind(a.status_code.map(i64::from))
            .bind(&a.error)
            .bind(&a.response_body);
    }
    query.execute(conn).await?;
    Ok(recorded)
}

/// Starts a new round for the event's deliveries (to one endpoint, or to all it had), due at
/// `now`. An endpoint given that never had the event gets a delivery when it is enabled.
/// Deliveries in flight and those of disabled or deleted endpoints are left alone. Returns the
/// number of deliveries queued.
pub async fn resend(
    conn: &mut Conn<'_>,
    merchant_id: MerchantId,
    livemode: bool,
    event_id: EventId,
    endpoint: Option<WebhookEndpointId>,
    now: Timestamp,
) -> Result<u64, StoreError> {
    let now_us = us(now);
    if let Some(endpoint_id) = endpoint {
        execute!(
            conn,
            "INSERT INTO webhook_deliveries (event_id, endpoint_id, merchant_id, livemode, \
             status, attempt_count, round_attempts, next_attempt_at, created_at, updated_at) \
             SELECT $1, w.id, w.merchant_id, w.livemode, 'failed', 0, 0, NULL, $2, $2 \
             FROM webhook_endpoints w WHERE w.id = $3 AND w.merchant_id = $4 \
             AND w.livemode = $5 AND w.deleted_at IS NULL \
             ON CONFLICT (event_id, endpoint_id) DO NOTHING",
            event_id.to_string(),
            now_us,
            endpoint_id.to_string(),
            merchant_id.to_string(),
            livemode,
        )?;
    }
    let endpoint = endpoint.map(|id| id.to_string());
    Ok(execute!(
        conn,
        "UPDATE webhook_deliveries SET status = 'pending', round_attempts = 0, \
         next_attempt_at = $1, locked_until = NULL, locked_by = NULL, holder = NULL, \
         updated_at = $1 \
         WHERE event_id = $2 AND merchant_id = $3 AND livemode = $4 \
         AND ($5 IS NULL OR endpoint_id = $5) \
         AND (status <> 'pending' OR next_attempt_at > $1) \
         AND (locked_until IS NULL OR locked_until <= $1) \
         AND endpoint_id IN (SELECT id FROM webhook_endpoints \
             WHERE status = 'enabled' AND deleted_at IS NULL)",
        now_us,
        event_id.to_string(),
        merchant_id.to_string(),
        livemode,
        endpoint,
    )?)
}

/// Starts a new round, due at `now`, for every failed or skipped delivery to `endpoint_id` of
/// the events created in `[since, until)`. Returns the number queued.
pub async fn recover(
    conn: &mut Conn<'_>,
    merchant_id: MerchantId,
    livemode: bool,
    endpoint_id: WebhookEndpointId,
    since: Timestamp,
    until: Timestamp,
    now: Timestamp,
) -> Result<u64, StoreError> {
    let bound =
        |t: Timestamp| EventId::min_at(u64::try_from(t.as_millisecond()).unwrap_or(0)).to_string();
    Ok(execute!(
        conn,
        "UPDATE webhook_deliveries SET status = 'pending', round_attempts = 0, \
         next_attempt_at = $1, locked_until = NULL, locked_by = NULL, holder = NULL, \
         updated_at = $1 \
         WHERE endpoint_id = $2 AND merchant_id = $3 AND livemode = $4 \
         AND status IN ('failed', 'skipped') AND event_id >= $5 AND event_id < $6",
        us(now),
        endpoint_id.to_string(),
        merchant_id.to_string(),
        livemode,
        bound(since),
        bound(until),
    )?)
}

/// A delivery of an event to one endpoint, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    /// The endpoint.
    pub endpoint_id: WebhookEndpointId,
    /// `pending`, `succeeded`, `failed`, `skipped` or `canceled`.
    pub status: String,
    /// Attempts made, all rounds.
    pub attempt_count: u32,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<Timestamp>,
}

/// Attempts listed at most per event (the newest).
pub const ATTEMPTS_LISTED_MAX: i64 = 100;

/// The deliveries of an event (scoped to its merchant and mode) and their newest attempts,
/// oldest first.
pub async fn deliveries_of_event(
    conn: &mut Conn<'_>,
    merchant_id: MerchantId,
    livemode: bool,
    event_id: EventId,
) -> Result<(Vec<DeliveryRecord>, Vec<AttemptRecord>), StoreError> {
    let deliveries = fetch!(
        all,
        conn,
        (String, String, i64, Option<i64>),
        "SELECT endpoint_id, status, attempt_count, next_attempt_at FROM webhook_deliveries \
         WHERE event_id = $1 AND merchant_id = $2 AND livemode = $3 ORDER BY endpoint_id",
        event_id.to_string(),
        merchant_id.to_string(),
        livemode,
    )?;
    let deliveries = deliveries
        .into_iter()
        .map(|(endpoint_id, status, count, next)| {
            Ok(DeliveryRecord {
                endpoint_id: endpoint_id
                    .parse()
                    .map_err(|e| corrupt("webhook_deliveries", e))?,
                status,
                attempt_count: u32::try_from(count).unwrap_or(u32::MAX),
                next_attempt_at: next.map(to_ts),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    if deliveries.is_empty() {
        return Ok((deliveries, Vec::new()));
    }
    type AttemptRow = (String, i64, i64, i64, Option<i64>, Option<String>, String);
    let mut attempts = fetch!(
        all,
        conn,
        AttemptRow,
        "SELECT endpoint_id, attempt, started_at, duration_ms, status_code, error, response_body \
         FROM webhook_attempts WHERE event_id = $1 ORDER BY started_at DESC, attempt DESC \
         LIMIT $2",
        event_id.to_string(),
        ATTEMPTS_LISTED_MAX,
    )?;
    attempts.reverse();
    let attempts = attempts
        .into_iter()
        .map(
            |(endpoint_id, attempt, started, duration_ms, code, error, body)| {
                Ok(AttemptRecord {
                    event_id,
                    endpoint_id: endpoint_id
                        .parse()
                        .map_err(|e| corrupt("webhook_attempts", e))?,
                    attempt: u32::try_from(attempt).unwrap_or(u32::MAX),
                    started_at: to_ts(started),
                    duration_ms,
                    status_code: code.and_then(|c| u16::try_from(c).ok()),
                    error,
                    response_body: body,
                })
            },
        )
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok((deliveries, attempts))
}

/// Deliveries not yet succeeded or ended, of every merchant (for tests and operators: "is the
/// outbox drained?").
pub async fn count_pending(conn: &mut Conn<'_>) -> Result<i64, StoreError> {
    let (count,) = fetch!(
        one,
        conn,
        (i64,),
        "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'"
    )?;
    Ok(count)
}

/// Pending deliveries already due at `now` (the outbox's backlog: what the workers should be
/// sending right now), of every merchant. One range of the `(status, next_attempt_at)` index.
pub async fn count_due(conn: &mut Conn<'_>, now: Timestamp) -> Result<i64, StoreError> {
    let (count,) = fetch!(
        one,
        conn,
        (i64,),
        "SELECT COUNT(*) FROM webhook_deliveries \
         WHERE status = 'pending' AND next_attempt_at <= $1",
        Micros::from(now).0,
    )?;
    Ok(count)
}
