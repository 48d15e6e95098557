//! What is deleted when its retention ends, in bounded batches (the server's purge worker
//! calls these; see `cajero_server::workers::purge`).
//!
//! * `Idempotency-Key` records that are `done`, once their replay window has passed. A
//!   `running` claim is never purged by age: it belongs to a request that may still be retried
//!   (the claims worker and the poller settle those).
//! * Events with their webhook deliveries and attempts, once the event retention has passed,
//!   unless a delivery of the event is still `pending` (due, retrying or in flight): those stay
//!   until it ends, and are purged at a later pass.
//! * Network evidence ([`crate::network::purge_messages`]), after its own, longer retention.
//!
//! Never purged: merchants, keys, pay-ins, payouts, refunds, top-ups, settlements, the ledger,
//! payment exceptions — the accounting records.

use cajero_domain::id::EventId;
use jiff::Timestamp;

use crate::sqlite::Query;
use crate::{Conn, Micros, StoreError, execute, fetch};

/// Deletes up to `limit` finished `Idempotency-Key` records created before `before`, oldest
/// first; returns how many.
pub async fn purge_idempotency_keys(
    conn: &mut Conn<'_>,
    before: Timestamp,
    limit: i64,
) -> Result<u64, StoreError> {
    Ok(execute!(
        conn,
        "DELETE FROM idempotency_keys WHERE state = 'done' \
         AND (merchant_id, livemode, idempotency_key) IN (SELECT merchant_id, livemode, \
         idempotency_key FROM idempotency_keys WHERE state = 'done' AND created_at < $1 \
         ORDER BY created_at LIMIT $2)",
        Micros::from(before).0,
        limit,
    )?)
}

/// What one pass over old events deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PurgedEvents {
    /// Events.
    pub events: u64,
    /// Their deliveries (one per endpoint).
    pub deliveries: u64,
    /// Their delivery attempts.
    pub attempts: u64,
}

impl PurgedEvents {
    /// Rows deleted in all.
    pub fn total(&self) -> u64 {
        self.events + self.deliveries + self.attempts
    }
}

/// Deletes up to `limit` events that happened before `before`, oldest first, with their
/// deliveries and attempts; an event with a `pending` delivery is kept whole.
pub async fn purge_events(
    conn: &mut Conn<'_>,
    before: Timestamp,
    limit: i64,
) -> Result<PurgedEvents, StoreError> {
    let limit = limit.clamp(1, EVENTS_PER_PASS_MAX);
    // Event ids sort by time, so the primary key finds what is old.
    let bound = EventId::min_at(u64::try_from(before.as_millisecond()).unwrap_or(0)).to_string();
    let ids: Vec<String> = fetch!(
        all,
        conn,
        (String,),
        "SELECT id FROM events e WHERE id < $1 AND NOT EXISTS (SELECT 1 FROM \
         webhook_deliveries d WHERE d.event_id = e.id AND d.status = 'pending') \
         ORDER BY id LIMIT $2",
        &bound,
        limit,
    )?
    .into_iter()
    .map(|(id,)| id)
    .collect();
    if ids.is_empty() {
        return Ok(PurgedEvents::default());
    }
    // Each statement re-checks its guard, so that a delivery that became pending meanwhile (a
    // resend, on another instance) keeps its event, its attempts and itself.
    let deliveries = delete_in(
        conn,
        "DELETE FROM webhook_deliveries WHERE status <> 'pending' AND event_id IN",
        &ids,
    )
    .await?;
    let attempts = delete_in(
        conn,
        "DELETE FROM webhook_attempts WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries d \
         WHERE d.event_id = webhook_attempts.event_id) AND event_id IN",
        &ids,
    )
    .await?;
    let events = delete_in(
        conn,
        "DELETE FROM events WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries d \
         WHERE d.event_id = events.id) AND id IN",
        &ids,
    )
    .await?;
    Ok(PurgedEvents {
        events,
        deliveries,
        attempts,
    })
}

/// Runs `{statement} ($1, …, $n)` with `ids` bound; returns the rows it deleted.
async fn delete_in(
    conn: &mut Conn<'_>,
    statement: &str,
    ids: &[String],
) -> Result<u64, StoreError> {
    let params: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!("{statement} ({})", params.join(", "));
    let mut query = Query::new(sql);
    for id in ids {
        query = query.bind(id);
    }
    Ok(query.execute(conn).await?)
}

/// Events purged per pass at most, whatever the caller asks: each is bound as a parameter of
/// three statements, well within both engines' limits on bound parameters.
pub const EVENTS_PER_PASS_MAX: i64 = 5_000;
