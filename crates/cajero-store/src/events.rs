//! Events and the outbox (API.md, "Webhooks").
//!
//! A change that merchants should hear about calls [`emit`] inside the unit of work that makes
//! the change. The event and one delivery row per subscribed endpoint commit with the change
//! or not at all: an event is never lost, and never sent for a change that rolled back. The
//! webhook worker delivers the rows later (see [`crate::webhook_deliveries`]).
//!
//! Events are copies of objects sent to, and kept by, more systems than need a person's data:
//! [`emit`] stores them with their people masked (`cajero_domain::privacy`) unless the merchant
//! opted in to full personal data in events ([`crate::privacy`]).

use cajero_domain::id::{EventId, MerchantId};
use cajero_domain::privacy;
use cajero_domain::webhook::{EventPattern, EventType};
use jiff::Timestamp;
use sqlx::AssertSqlSafe;

use crate::page::{Page, PageRequest};
use crate::sqlite::Query;
use crate::{Conn, Micros, StoreError, fetch};

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    /// `evt_…`: also the `webhook-id` of every delivery of it.
    pub id: EventId,
    /// The merchant it belongs to.
    pub merchant_id: MerchantId,
    /// Live or test.
    pub livemode: bool,
    /// What happened.
    pub event_type: EventType,
    /// The object as the API shows it, as JSON text (the webhook's `data.object`), its people
    /// masked unless the merchant opted in to full personal data in events.
    pub data: String,
    /// When it happened.
    pub created_at: Timestamp,
}

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct EventRow {
    pub(crate) id: String,
    pub(crate) merchant_id: String,
    pub(crate) livemode: bool,
    #[sqlx(rename = "type")]
    #[serde(rename = "type")]
    pub(crate) event_type: String,
    pub(crate) data: String,
    pub(crate) created_at: i64,
}

impl TryFrom<EventRow> for EventRecord {
    type Error = StoreError;

    fn try_from(row: EventRow) -> Result<Self, Self::Error> {
        Ok(EventRecord {
            id: row.id.parse().map_err(|e| corrupt("events", e))?,
            merchant_id: row.merchant_id.parse().map_err(|e| corrupt("events", e))?,
            livemode: row.livemode,
            event_type: row.event_type.parse().map_err(|e| corrupt("events", e))?,
            data: row.data,
            created_at: Micros(row.created_at).to_timestamp(),
        })
    }
}

pub(crate) fn corrupt(table: &'static str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        table,
        detail: error.to_string(),
    }
}

const SELECT_EVENT: &str = "SELECT id, merchant_id, livemode, type, data, created_at FROM events";

/// Records that `event_type` happened to `object` and enqueues its webhook deliveries, in the
/// caller's unit of work.
///
/// Call it inside the [`crate::Store::write`] that makes the change, so that both commit
/// together:
///
/// ```ignore
/// store.write(move |mut c| Box::pin(async move {
///     payouts::mark_paid(&mut c, …).await?;
///     events::emit(&mut c, merchant_id, livemode, EventType::PayoutPaid,
///                  &serde_json::to_value(&payout_object)?, new_id(clock), now).await?;
///     Ok(())
/// })).await
/// ```
///
/// * `object` is the object as the API shows it (`data.object` of the webhook body), whole: it
///   is masked here.
/// * `id` is a fresh `evt_…` made by the caller (time-sortable: make it from `now`).
///
/// One delivery row is enqueued, due at `now`, for every endpoint of the merchant in that mode
/// whose `enabled_events` match; endpoints that are disabled get a `skipped` row, which
/// `recover` can resend later. Only the database is touched.
///
/// The event keeps the people in `object` masked ([`cajero_domain::privacy`]) unless the
/// merchant opted in to full personal data in events: every event is made here (or in
/// [`emit_to`]), so this is the one place that decides. The setting is read with the endpoints,
/// in the same statement: no query of its own, and a change applies to the next event.
pub async fn emit(
    conn: &mut Conn<'_>,
    merchant_id: MerchantId,
    livemode: bool,
    event_type: EventType,
    object: &serde_json::Value,
    id: EventId,
    now: Timestamp,
) -> Result<EventRecord, StoreError> {
    let mut records = emit_each(
        conn,
        merchant_id,
        livemode,
        &[(event_type, id)],
        object,
        now,
    )
    .await?;
    records
        .pop()
        .ok_or_else(|| corrupt("events", "no event recorded"))
}

/// [`emit`] for several events about one object at once (`payout.created` then
/// `payout.available`, say), in the order given: the endpoints are looked up and the object
/// masked and encoded once for all of them.
pub async fn emit_each(
    conn: &mut Conn<'_>,
    merchant_id: MerchantId,
    livemode: bool,
    events: &[(EventType, EventId)],
    object: &serde_json::Value,
    now: Timestamp,
) -> Result<Vec<EventRecord>, StoreError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let now_us = Micros::from(now).0;
    // One row per endpoint, or one row of NULLs without any; none for an unknown merchant.
    let (endpoints, data) = match conn {
        Conn::Postgres(_) => {
            // One round trip: the statement that writes the events reads the setting and the
            // endpoints, and is given the object both masked and whole to pick from.
            let masked = shown(object, false);
            let whole = privacy::holds_personal_data(object).then(|| object.to_string());
            let endpoints = insert_events_reading_endpoints(
                conn,
                merchant_id,
                livemode,
                events,
                (&masked, whole.as_deref()),
                object,
                now_us,
            )
            .await?;
            let full = endpoints.first().is_some_and(|(full, ..)| *full);
            let data = match whole {
                Some(whole) if full => whole,
                _ => masked,
            };
            (endpoints, data)
        }
        Conn::Sqlite(_) => {
            let endpoints = fetch!(
                all,
                conn,
                EndpointRow,
                "SELECT m.full_personal_data_in_events, e.id, e.enabled_events, e.status \
                 FROM merchants m LEFT JOIN webhook_endpoints e ON e.merchant_id = m.id \
                 AND e.livemode = $2 AND e.deleted_at IS NULL WHERE m.id = $1",
                merchant_id.to_string(),
                livemode,
            )?;
            let full = endpoints.first().is_some_and(|(full, ..)| *full);
            let data = shown(object, full);
            insert_events(conn, merchant_id, livemode, events, &data, object, now_us).await?;
            (endpoints, data)
        }
    };
    let mut subscribed = Vec::new();
    for (_, endpoint_id, enabled_events, status) in endpoints {
        let (Some(endpoint_id), Some(enabled_events), Some(status)) =
            (endpoint_id, enabled_events, status)
        else {
            continue;
        };
        let patterns: Vec<EventPattern> =
            serde_json::from_str(&enabled_events).map_err(|e| corrupt("webhook_endpoints", e))?;
        subscribed.push((endpoint_id, status, patterns));
    }
    let records: Vec<EventRecord> = events
        .iter()
        .map(|&(event_type, id)| EventRecord {
            id,
            merchant_id,
            livemode,
            event_type,
            data: data.clone(),
            created_at: now,
        })
        .collect();
    let deliveries: Vec<(&EventRecord, &str, &str)> = records
        .iter()
        .flat_map(|record| {
            subscribed
                .iter()
                .filter(|(_, _, patterns)| EventPattern::any_matches(patterns, record.event_type))
                .map(move |(endpoint_id, status, _)| {
                    (record, endpoint_id.as_str(), status.as_str())
                })
        })
        .collect();
    enqueue_all(conn, &deliveries, now_us).await?;
    Ok(records)
}

/// Records an event for one endpoint only (a test delivery from the dashboard): the event is
/// stored like any other (people masked as in [`emit`]) and one delivery is enqueued, due at `now`, for `endpoint_id` — or
/// `skipped` when the endpoint is disabled. Nothing when the endpoint is not the merchant's
/// in that mode (false).
#[allow(clippy::too_many_arguments)]
pub async fn emit_to(
    conn: &mut Conn<'_>,
    merchant_id: MerchantId,
    livemode: bool,
    event_type: EventType,
    object: &serde_json::Value,
    id: EventId,
    now: Timestamp,
    endpoint_id: &str,
) -> Result<bool, StoreError> {
    let status = fetch!(
        optional,
        conn,
        (String, bool),
        "SELECT e.status, m.full_personal_data_in_events FROM webhook_endpoints e \
         JOIN merchants m ON m.id = e.merchant_id WHERE e.id = $1 AND e.merchant_id = $2 \
         AND e.livemode = $3 AND e.deleted_at IS NULL",
        endpoint_id,
        merchant_id.to_string(),
        livemode,
    )?;
    let Some((status, full)) = status else {
        return Ok(false);
    };
    let record = EventRecord {
        id,
        merchant_id,
        livemode,
        event_type,
        data: shown(object, full),
        created_at: now,
    };
    let now_us = Micros::from(now).0;
    insert_events(
        conn,
        merchant_id,
        livemode,
        &[(event_type, id)],
        &record.data,
        object,
        now_us,
    )
    .await?;
    enqueue_all(conn, &[(&record, endpoint_id, &status)], now_us).await?;
    Ok(true)
}

/// The event's object as JSON text: whole when the merchant opted in to `full` personal data in
/// events, else with its people masked.
fn shown(object: &serde_json::Value, full: bool) -> String {
    if full || !privacy::holds_personal_data(object) {
        return object.to_string();
    }
    let mut masked = object.clone();
    privacy::mask_personal_data(&mut masked);
    masked.to_string()
}

/// A merchant's setting for personal data in events, with one of its endpoints (its id, the
/// events it takes as JSON, its status), or `NULL`s when it has none.
type EndpointRow = (bool, Option<String>, Option<String>, Option<String>);

/// Binds each event's id and type, in order, after the parameters every event shares.
fn bind_events(mut query: Query, events: &[(EventType, EventId)]) -> Query {
    for (event_type, id) in events {
        query = query.bind(id.to_string()).bind(event_type.as_str());
    }
    query
}

/// Writes events about one object made by one change (same merchant, data and time), each
/// with the object's id for the object's timeline: one statement, however many.
async fn insert_events(
    conn: &mut Conn<'_>,
    merchant_id: MerchantId,
    livemode: bool,
    events: &[(EventType, EventId)],
    data: &str,
    object: &serde_json::Value,
    now_us: i64,
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let rows: Vec<String> = (0..events.len())
        .map(|i| format!("(${}, $1, $2, ${}, $3, $4, $5)", 6 + 2 * i, 7 + 2 * i))
        .collect();
    let query = Query::new(format!(
        "INSERT INTO events (id, merchant_id, livemode, type, data, created_at, object_id) \
         VALUES {}",
        rows.join(", ")
    ))
    .bind(merchant_id.to_string())
    .bind(livemode)
    .bind(data)
    .bind(now_us)
    .bind(object.get("id").and_then(serde_json::Value::as_str));
    bind_events(query, events).execute(conn).await?;
    Ok(())
}

/// PostgreSQL: [`insert_events`] and the read of the merchant's setting and endpoints in one
/// statement. The events' data is `data.1` (the object whole) when the merchant opted in to
/// full personal data in events and it differs from `data.0` (masked), else `data.0`; the rows
/// are what the read before the insert returned.
async fn insert_events_reading_endpoints(
    conn: &mut Conn<'_>,
    merchant_id: MerchantId,
    livemode: bool,
    events: &[(EventType, EventId)],
    data: (&str, Option<&str>),
    object: &serde_json::Value,
    now_us: i64,
) -> Result<Vec<EndpointRow>, StoreError> {
    let sql = format!(
        "WITH m AS (SELECT full_personal_data_in_events AS full_data FROM merchants \
         WHERE id = $1), \
         ins AS (INSERT INTO events (id, merchant_id, livemode, type, data, created_at, \
         object_id) SELECT v.id, $1, $2, v.type, \
         COALESCE(CASE WHEN m.full_data THEN $6 END, $3), $4, $5 \
         FROM (VALUES {}) AS v (id, type) LEFT JOIN m ON true) \
         SELECT m.full_data, e.id, e.enabled_events, e.status FROM m \
         LEFT JOIN webhook_endpoints e ON e.merchant_id = $1 AND e.livemode = $2 \
         AND e.deleted_at IS NULL",
        (0..events.len())
            .map(|i| format!("(${}, ${})", 7 + 2 * i, 8 + 2 * i))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let query = Query::new(sql)
        .bind(merchant_id.to_string())
        .bind(livemode)
        .bind(data.0)
        .bind(now_us)
        .bind(object.get("id").and_then(serde_json::Value::as_str))
        .bind(data.1);
    Ok(bind_events(query, events).fetch_all(conn).await?)
}

/// Enqueues events' deliveries, each (event, endpoint, the endpoint's status): due now when
/// the endpoint is enabled, else `skipped` (a later recovery can resend it). One statement,
/// however many.
async fn enqueue_all(
    conn: &mut Conn<'_>,
    deliveries: &[(&EventRecord, &str, &str)],
    now_us: i64,
) -> Result<(), StoreError> {
    let Some((first, ..)) = deliveries.first() else {
        return Ok(());
    };
    let rows: Vec<String> = (0..deliveries.len())
        .map(|i| {
            let n = 4 + 4 * i;
            format!(
                "(${n}, ${}, $1, $2, ${}, 0, 0, ${}, $3, $3)",
                n + 1,
                n + 2,
                n + 3
            )
        })
        .collect();
    let mut query = Query::new(format!(
        "INSERT INTO webhook_deliveries (event_id, endpoint_id, merchant_id, livemode, \
         status, attempt_count, round_attempts, next_attempt_at, created_at, updated_at) \
         VALUES {}",
        rows.join(", ")
    ))
    .bind(first.merchant_id.to_string())
    .bind(first.livemode)
    .bind(now_us);
    for (record, endpoint_id, endpoint_status) in deliveries {
        let (status, due) = if *endpoint_status == "enabled" {
            ("pending", Some(now_us))
        } else {
            ("skipped", None)
        };
        query = query
            .bind(record.id.to_string())
            .bind(*endpoint_id)
            .bind(status)
            .bind(due);
    }
    query.execute(conn).await?;
    Ok(())
}

/// The event with this id, if it belongs to the merchant in that mode.
pub async fn get_event(
    conn: &mut Conn<'_>,
    merchant_id: MerchantId,
    livemode: bool,
    id: EventId,
) -> Result<Option<EventRecord>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "{SELECT_EVENT} WHERE id = $1 AND merchant_id = $2 AND livemode = $3"
    ));
    let row = fetch!(
        optional,
        conn,
        EventRow,
        sql,
        id.to_string(),
        merchant_id.to_string(),
        livemode
    )?;
    row.map(EventRecord::try_from).transpose()
}

/// The events of one object (`data.id`), oldest first, at most `limit` (index
/// `events_by_object`).
pub async fn events_of_object(
    conn: &mut Conn<'_>,
    merchant_id: MerchantId,
    livemode: bool,
    object_id: &str,
    limit: i64,
) -> Result<Vec<EventRecord>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "{SELECT_EVENT} WHERE merchant_id = $1 AND livemode = $2 AND object_id = $3 \
         ORDER BY id LIMIT $4"
    ));
    let rows = fetch!(
        all,
        conn,
        EventRow,
        sql,
        merchant_id.to_string(),
        livemode,
        object_id,
        limit,
    )?;
    rows.into_iter().map(EventRecord::try_from).collect()
}

/// One webhook delivery of an event, with its endpoint and the last attempt's answer.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct DeliveryRow {
    /// `evt_…`.
    pub event_id: String,
    /// `we_…`.
    pub endpoint_id: String,
    /// Where it goes.
    pub url: String,
    /// pending, succeeded, failed, skipped, canceled.
    pub status: String,
    /// Attempts made, all rounds.
    pub attempt_count: i64,
    /// When the last attempt started (µs).
    pub last_attempt_at: Option<i64>,
    /// The HTTP status of the last attempt; `None` when no response came.
    pub last_status_code: Option<i64>,
    /// Why the last attempt failed without a response (timeout, connect, …).
    pub last_error: Option<String>,
    /// The first 4 KiB of the last response.
    pub last_response: Option<String>,
}

/// The webhook deliveries of an event, with the last attempt of each (the merchant's own).
pub async fn deliveries_of_event(
    conn: &mut Conn<'_>,
    merchant_id: MerchantId,
    event_id: &str,
) -> Result<Vec<DeliveryRow>, StoreError> {
    Ok(fetch!(
        all,
        conn,
        DeliveryRow,
        "SELECT d.event_id, d.endpoint_id, e.url, d.status, d.attempt_count, \
         d.last_attempt_at, a.status_code AS last_status_code, a.error AS last_error, \
         a.response_body AS last_response \
         FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
         LEFT JOIN webhook_attempts a ON a.event_id = d.event_id \
         AND a.endpoint_id = d.endpoint_id AND a.attempt = d.attempt_count \
         WHERE d.event_id = $1 AND d.merchant_id = $2 ORDER BY d.endpoint_id",
        event_id,
        merchant_id.to_string(),
    )?)
}

/// The last `limit` attempts to deliver to one of the merchant's endpoints, newest first:
/// the endpoint's delivery log.
pub async fn attempts_of_endpoint(
    conn: &mut Conn<'_>,
    merchant_id: MerchantId,
    endpoint_id: &str,
    limit: i64,
) -> Result<Vec<AttemptRow>, StoreError> {
    Ok(fetch!(
        all,
        conn,
        AttemptRow,
        "SELECT a.event_id, v.type AS event_type, a.attempt, a.started_at, a.duration_ms, \
         a.status_code, a.error, a.response_body FROM webhook_attempts a \
         JOIN webhook_endpoints e ON e.id = a.endpoint_id \
         JOIN events v ON v.id = a.event_id \
         WHERE a.endpoint_id = $1 AND e.merchant_id = $2 \
         ORDER BY a.started_at DESC, a.attempt DESC LIMIT $3",
        endpoint_id,
        merchant_id.to_string(),
        limit,
    )?)
}

/// One attempt of the delivery log.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct AttemptRow {
    /// `evt_…`.
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// 1, 2, … across rounds.
    pub attempt: i64,
    /// µs.
    pub started_at: i64,
    /// How long it took.
    pub duration_ms: i64,
    /// `None` when no response came.
    pub status_code: Option<i64>,
    /// timeout, connect, url_blocked, …
    pub error: Option<String>,
    /// The first 4 KiB of the response.
    pub response_body: String,
}

/// Which events a listing shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only events matching these patterns (any of them); all when empty.
    pub types: Vec<EventPattern>,
    /// Only events created at or after this instant.
    pub created_gte: Option<Timestamp>,
    /// Only events created before this instant.
    pub created_lt: Option<Timestamp>,
}

/// A page of the merchant's events in one mode, newest first.
pub async fn list_events(
    conn: &mut Conn<'_>,
    merchant_id: MerchantId,
    livemode: bool,
    filter: &EventFilter,
    page: &PageRequest,
) -> Result<Page<EventRecord>, StoreError> {
    // Ids are time-sortable, so a time range is an id range: the same index serves both.
    let bound =
        |t: Timestamp| EventId::min_at(u64::try_from(t.as_millisecond()).unwrap_or(0)).to_string();
    let low = filter.created_gte.map(bound).unwrap_or_default();
    let high = filter.created_lt.map(bound);
    let (cursor_sql, order, limit) = page.sql(6);
    let types: Vec<&'static str> = type_codes(&filter.types);
    let type_sql = if types.is_empty() {
        "TRUE".to_string()
    } else {
        let placeholders: Vec<String> = (0..types.len())
            .map(|i| format!("${}", i + 6 + usize::from(page.cursor_id().is_some())))
            .collect();
        format!("type IN ({})", placeholders.join(", "))
    };
    let sql = format!(
        "{SELECT_EVENT} WHERE merchant_id = $1 AND livemode = $2 AND id >= $3 \
         AND ($4 IS NULL OR id < $4) AND {cursor_sql} AND {type_sql} \
         ORDER BY id {order} LIMIT $5"
    );
    let cursor = page.cursor_id().map(str::to_string);
    let mut query = Query::new(sql)
        .bind(merchant_id.to_string())
        .bind(livemode)
        .bind(&low)
        .bind(&high)
        .bind(limit);
    if let Some(cursor) = &cursor {
        query = query.bind(cursor);
    }
    for t in &types {
        query = query.bind(*t);
    }
    let rows: Vec<EventRow> = query.fetch_all(conn).await?;
    let rows = rows
        .into_iter()
        .map(EventRecord::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page.finish(rows))
}

/// The event type codes the patterns cover; empty when they cover everything (or nothing
/// was asked).
fn type_codes(patterns: &[EventPattern]) -> Vec<&'static str> {
    if patterns.is_empty() || patterns.contains(&EventPattern::All) {
        return Vec::new();
    }
    EventType::ALL
        .iter()
        .filter(|t| EventPattern::any_matches(patterns, **t))
        .map(|t| t.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_filters_expand_wildcards_to_codes() {
        assert!(type_codes(&[]).is_empty());
        assert!(type_codes(&[EventPattern::All, EventPattern::Family("payout")]).is_empty());
        let payin = type_codes(&[EventPattern::Family("payin")]);
        assert_eq!(
            payin,
            vec![
                "payin.created",
                "payin.paid",
                "payin.expired",
                "payin.canceled",
                "payin.on_hold"
            ]
        );
    }
}
