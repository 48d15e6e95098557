//! Idempotency-Key records (API.md, "Idempotency").
//!
//! A request claims its key with [`begin`] and stores its result with [`finish`] in the same
//! transaction as the change it made. A request that only touches the database does both in
//! one unit of work, so there is never a half-finished record. A request that must call a
//! network in between commits the claim first (state `running`, locked for a while), and
//! [`release`]s it if it fails before changing anything; a claim whose lock ran out belongs to
//! a crashed request and may be taken over.

use cajero_domain::id::MerchantId;
use cajero_domain::merchant::Mode;
use jiff::Timestamp;

use crate::{Conn, Micros, StoreError, execute, fetch};

/// Who and what a key belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyScope {
    /// The merchant.
    pub merchant_id: MerchantId,
    /// Its mode.
    pub mode: Mode,
    /// The `Idempotency-Key` header.
    pub key: String,
    /// SHA-256 of method, path and canonical body.
    pub fingerprint: String,
}

/// A stored response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: String,
}

/// What [`begin`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// The key is new (or its crashed owner's lock ran out): go ahead.
    Proceed,
    /// Done before: replay this.
    Replay(StoredResponse),
    /// Another request with this key is running.
    InProgress {
        /// Until when its lock holds, for `Retry-After`.
        locked_until: Timestamp,
    },
    /// The key was used with a different request.
    Mismatch,
}

#[derive(sqlx::FromRow)]
struct Row {
    fingerprint: String,
    state: String,
    response_status: Option<i64>,
    response_body: Option<String>,
    locked_until: i64,
}

/// Claims `scope.key` until `locked_until`.
pub async fn begin(
    conn: &mut Conn<'_>,
    scope: &KeyScope,
    now: Timestamp,
    locked_until: Timestamp,
) -> Result<Begin, StoreError> {
    let inserted = execute!(
        conn,
        "INSERT INTO idempotency_keys (merchant_id, livemode, idempotency_key, fingerprint, \
         state, locked_until, created_at) VALUES ($1, $2, $3, $4, 'running', $5, $6) \
         ON CONFLICT (merchant_id, livemode, idempotency_key) DO NOTHING",
        scope.merchant_id.to_string(),
        scope.mode.is_live(),
        &scope.key,
        &scope.fingerprint,
        Micros::from(locked_until).0,
        Micros::from(now).0,
    )?;
    if inserted == 1 {
        return Ok(Begin::Proceed);
    }
    let row = fetch!(
        one,
        conn,
        Row,
        "SELECT fingerprint, state, response_status, response_body, locked_until \
         FROM idempotency_keys WHERE merchant_id = $1 AND livemode = $2 AND idempotency_key = $3",
        scope.merchant_id.to_string(),
        scope.mode.is_live(),
        &scope.key,
    )?;
    if row.fingerprint != scope.fingerprint {
        return Ok(Begin::Mismatch);
    }
    if row.state == "done" {
        let status = row
            .response_status
            .and_then(|s| u16::try_from(s).ok())
            .ok_or_else(|| StoreError::Corrupt {
                table: "idempotency_keys",
                detail: format!("key {} is done without a status", scope.key),
            })?;
        return Ok(Begin::Replay(StoredResponse {
            status,
            body: row.response_body.unwrap_or_default(),
        }));
    }
    let held_until = Micros(row.locked_until).to_timestamp();
    if held_until > now {
        return Ok(Begin::InProgress {
            locked_until: held_until,
        });
    }
    // The owner crashed: take the key over — compare-and-set on the lock we saw, so that of
    // two retries racing for the same dead claim (PostgreSQL, two instances) only one wins;
    // the other sees the winner's lock.
    let taken = execute!(
        conn,
        "UPDATE idempotency_keys SET locked_until = $1 \
         WHERE merchant_id = $2 AND livemode = $3 AND idempotency_key = $4 AND state = 'running' \
         AND locked_until = $5",
        Micros::from(locked_until).0,
        scope.merchant_id.to_string(),
        scope.mode.is_live(),
        &scope.key,
        row.locked_until,
    )?;
    if taken == 1 {
        Ok(Begin::Proceed)
    } else {
        Ok(Begin::InProgress { locked_until })
    }
}

/// Stores the result; call in the same unit of work as the change it describes.
pub async fn finish(
    conn: &mut Conn<'_>,
    scope: &KeyScope,
    response: &StoredResponse,
) -> Result<(), StoreError> {
    execute!(
        conn,
        "UPDATE idempotency_keys SET state = 'done', response_status = $1, response_body = $2 \
         WHERE merchant_id = $3 AND livemode = $4 AND idempotency_key = $5",
        i64::from(response.status),
        &response.body,
        scope.merchant_id.to_string(),
        scope.mode.is_live(),
        &scope.key,
    )?;
    Ok(())
}

/// Forgets a claim whose request failed before changing anything, so a retry can run.
pub async fn release(conn: &mut Conn<'_>, scope: &KeyScope) -> Result<(), StoreError> {
    execute!(
        conn,
        "DELETE FROM idempotency_keys WHERE merchant_id = $1 AND livemode = $2 \
         AND idempotency_key = $3 AND state = 'running'",
        scope.merchant_id.to_string(),
        scope.mode.is_live(),
        &scope.key,
    )?;
    Ok(())
}

/// Deletes records created before `before` (kept at least 7 days by the caller's choice).
pub async fn purge(conn: &mut Conn<'_>, before: Timestamp) -> Result<u64, StoreError> {
    Ok(execute!(
        conn,
        "DELETE FROM idempotency_keys WHERE created_at < $1",
        Micros::from(before).0
    )?)
}

/// The id of the object this claimed key creates: `proposed` the first time, and the same id
/// on every retry after a crash (so the retry finds what the first attempt started).
pub async fn resource_id(
    conn: &mut Conn<'_>,
    scope: &KeyScope,
    proposed: &str,
) -> Result<String, StoreError> {
    let (id,) = fetch!(
        one,
        conn,
        (String,),
        "UPDATE idempotency_keys SET resource_id = COALESCE(resource_id, $1) \
         WHERE merchant_id = $2 AND livemode = $3 AND idempotency_key = $4 RETURNING resource_id",
        proposed,
        scope.merchant_id.to_string(),
        scope.mode.is_live(),
        &scope.key,
    )?;
    Ok(id)
}

/// Settles the `running` claim that is creating `resource_id` with `response`, when the object
/// was resolved by someone other than the request that claimed it (the poller resolving a
/// payout whose create was interrupted): the client's retry then replays this answer instead
/// of running again. Returns how many claims were settled (0 or 1).
pub async fn finish_for_resource(
    conn: &mut Conn<'_>,
    merchant_id: MerchantId,
    mode: Mode,
    resource_id: &str,
    response: &StoredResponse,
) -> Result<u64, StoreError> {
    Ok(execute!(
        conn,
        "UPDATE idempotency_keys SET state = 'done', response_status = $1, response_body = $2 \
         WHERE merchant_id = $3 AND livemode = $4 AND resource_id = $5 AND state = 'running'",
        i64::from(response.status),
        &response.body,
        merchant_id.to_string(),
        mode.is_live(),
        resource_id,
    )?)
}
