//! Raw evidence of every exchange with a network, callback deduplication, and payment
//! exceptions (money that moved with no open order to land on).
//!
//! Evidence is the largest thing cajero keeps per order and is kept longest (13 months), so it
//! is stored compressed (see [`crate::evidence_codec`]); rows written before compression still
//! read back, by the encoding each row names.

use cajero_domain::id::{MerchantId, MessageId};
use cajero_domain::merchant::Mode;
use cajero_domain::money::{Amount, Currency};
use jiff::Timestamp;

use crate::evidence_codec::{self, Encoding};
use crate::{Conn, Micros, StoreError, execute, fetch};

/// One stored exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord {
    /// `msg_…`
    pub id: MessageId,
    /// The merchant concerned, when known.
    pub merchant_id: Option<MerchantId>,
    /// Test or live.
    pub mode: Mode,
    /// The network's code.
    pub network: String,
    /// The order it concerns (`pi_…`, `po_…`).
    pub object_id: Option<String>,
    /// `outbound` (we called) or `inbound` (a callback).
    pub direction: &'static str,
    /// What it was.
    pub operation: String,
    /// Request (secrets redacted) and response (or our answer to a callback), packed.
    pub exchange: Packed,
    /// HTTP status.
    pub response_status: Option<u16>,
    /// When.
    pub at: Timestamp,
    /// How long.
    pub duration_ms: u64,
}

/// An exchange's request and response compressed together ([`evidence_codec::pack`]), as
/// `network_messages` stores them. Compressing is most of what storing evidence costs, so a
/// request on a hot path packs its evidence before it hands its unit of work to the writer,
/// whose one thread every write waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed(Vec<u8>);

impl Packed {
    /// Packs a request (secrets already redacted) and its response.
    pub fn new(request: &str, response: &str) -> Result<Packed, StoreError> {
        evidence_codec::pack(request, response).map(Packed)
    }
}

/// Stores an exchange.
pub async fn insert_message(conn: &mut Conn<'_>, m: &MessageRecord) -> Result<(), StoreError> {
    with_message!(conn, insert_message_sql!(), m)?;
    Ok(())
}

/// The `INSERT` of a message, its columns `$1…$13` as [`with_message`] binds them.
macro_rules! insert_message_sql {
    () => {
        "INSERT INTO network_messages (id, merchant_id, livemode, network, object_id, direction, \
         operation, request, response_status, response, at, duration_ms, created_at, encoding, \
         packed) VALUES ($1, $2, $3, $4, $5, $6, $7, '', $8, '', $9, $10, $11, $12, $13)"
    };
}
use insert_message_sql;

/// Runs `$sql` with the message `$m`'s columns as `$1…$13` and `$extra` after them.
macro_rules! with_message {
    ($conn:expr, $sql:expr, $m:expr $(, $extra:expr)* $(,)?) => {
        execute!(
            $conn,
            $sql,
            $m.id.to_string(),
            $m.merchant_id.map(|id| id.to_string()),
            $m.mode.is_live(),
            &$m.network,
            &$m.object_id,
            $m.direction,
            &$m.operation,
            $m.response_status.map(i64::from),
            Micros::from($m.at).0,
            i64::try_from($m.duration_ms).unwrap_or(i64::MAX),
            Micros::from($m.at).0,
            Encoding::CURRENT.as_str(),
            &$m.exchange.0,
            $($extra,)*
        )
    };
}
use with_message;

/// [`insert_message`] for a callback, then [`first_time_callback`] for it: whether this is the
/// first time the callback `callback_id` is seen. One statement on PostgreSQL (a round trip
/// fewer on every callback), two on SQLite.
pub async fn insert_callback_message(
    conn: &mut Conn<'_>,
    m: &MessageRecord,
    callback_id: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    if let Conn::Sqlite(_) = conn {
        insert_message(conn, m).await?;
        return first_time_callback(conn, &m.network, callback_id, now).await;
    }
    let inserted = with_message!(
        conn,
        concat!(
            "WITH m AS (",
            insert_message_sql!(),
            ") INSERT INTO network_callbacks (network, callback_id, received_at) \
             VALUES ($4, $14, $15) ON CONFLICT (network, callback_id) DO NOTHING"
        ),
        m,
        callback_id,
        Micros::from(now).0,
    )?;
    Ok(inserted == 1)
}

/// How many exchanges are stored for an object (tests and the dashboard's evidence view).
pub async fn count_messages(conn: &mut Conn<'_>, object_id: &str) -> Result<i64, StoreError> {
    let (n,) = fetch!(
        one,
        conn,
        (i64,),
        "SELECT COUNT(*) FROM network_messages WHERE object_id = $1",
        object_id
    )?;
    Ok(n)
}

/// One stored exchange as read back, whatever its encoding.
#[derive(sqlx::FromRow, serde::Deserialize)]
struct StoredMessageRow {
    operation: String,
    direction: String,
    request: String,
    response_status: Option<i64>,
    response: String,
    encoding: String,
    packed: Option<Vec<u8>>,
}

/// An object's exchanges, oldest first: (operation, direction, request, status, response).
pub async fn messages_for(
    conn: &mut Conn<'_>,
    object_id: &str,
) -> Result<Vec<(String, String, String, Option<i64>, String)>, StoreError> {
    let rows = fetch!(
        all,
        conn,
        StoredMessageRow,
        "SELECT operation, direction, request, response_status, response, encoding, packed \
         FROM network_messages WHERE object_id = $1 ORDER BY at, id",
        object_id
    )?;
    rows.into_iter()
        .map(|row| {
            let (request, response) = evidence_codec::unpack(
                &row.encoding,
                row.request,
                row.response,
                row.packed.as_deref(),
            )?;
            Ok((
                row.operation,
                row.direction,
                request,
                row.response_status,
                response,
            ))
        })
        .collect()
}

/// Deletes up to `limit` exchanges older than `before` (the retention period), oldest first,
/// and up to `limit` processed-callback marks of the same age (a network stops retrying a
/// callback within days); returns how many rows were deleted.
pub async fn purge_messages(
    conn: &mut Conn<'_>,
    before: Timestamp,
    limit: i64,
) -> Result<u64, StoreError> {
    let before = Micros::from(before).0;
    let callbacks = execute!(
        conn,
        "DELETE FROM network_callbacks WHERE (network, callback_id) IN (SELECT network, \
         callback_id FROM network_callbacks WHERE received_at < $1 ORDER BY received_at LIMIT $2)",
        before,
        limit,
    )?;
    let messages = execute!(
        conn,
        "DELETE FROM network_messages WHERE id IN (SELECT id FROM network_messages \
         WHERE created_at < $1 ORDER BY created_at LIMIT $2)",
        before,
        limit,
    )?;
    Ok(messages + callbacks)
}

/// Marks a callback as processed; false when it already was (a duplicate).
pub async fn first_time_callback(
    conn: &mut Conn<'_>,
    network: &str,
    callback_id: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let inserted = execute!(
        conn,
        "INSERT INTO network_callbacks (network, callback_id, received_at) VALUES ($1, $2, $3) \
         ON CONFLICT (network, callback_id) DO NOTHING",
        network,
        callback_id,
        Micros::from(now).0,
    )?;
    Ok(inserted == 1)
}

/// Records money that moved with no open order (once per kind and object); false when it was
/// already recorded.
#[allow(clippy::too_many_arguments)]
pub async fn record_exception(
    conn: &mut Conn<'_>,
    id: &str,
    merchant_id: MerchantId,
    mode: Mode,
    kind: &str,
    object_id: &str,
    amount: Amount,
    currency: Currency,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let exception = crate::exceptions::NewException {
        id,
        merchant_id: Some(merchant_id),
        mode,
        kind,
        object_id,
        amount,
        currency,
        network: None,
        network_order_id: None,
        detail: None,
    };
    crate::exceptions::record(conn, &exception, now).await
}

/// Open exceptions of a merchant: (id, kind, object_id, amount).
pub async fn open_exceptions(
    conn: &mut Conn<'_>,
    merchant_id: MerchantId,
    mode: Mode,
) -> Result<Vec<(String, String, String, i64)>, StoreError> {
    Ok(fetch!(
        all,
        conn,
        (String, String, String, i64),
        "SELECT id, kind, object_id, amount FROM payment_exceptions \
         WHERE merchant_id = $1 AND livemode = $2 AND status = 'open' ORDER BY created_at",
        merchant_id.to_string(),
        mode.is_live()
    )?)
}
