//! Idempotency-Key records (API.md, "Idempotency").
//!
//! A request claims its key with [`begin`] and stores its result with [`finish`] in the same
//! transaction as the change it made. A request that only touches the database does both in
//! one unit of work, so there is never a half-finished record. A request that must call a
//! network in between commits the claim first (state `running`, locked for a while, held by
//! the serving instance's incarnation), and [`release`]s it if it fails before changing
//! anything. A claim whose lock ran out, or whose holder is dead (see [`crate::instances`]: a
//! killed instance, or an earlier incarnation of a restarted one), belongs to a crashed request
//! and may be taken over at once by a retry; one that nobody retries is found by
//! [`take_abandoned`] and cleaned up.

use cajero_domain::id::MerchantId;
use cajero_domain::merchant::Mode;
use jiff::Timestamp;
use sqlx::AssertSqlSafe;

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
    /// The incarnation of the instance serving the request: it holds the claim while the
    /// request runs. `None` (tools): only the lock's end frees the claim.
    pub holder: Option<String>,
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
    /// The key is new (or its crashed owner's lock ran out, or its owner is dead): go ahead.
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

#[derive(sqlx::FromRow, serde::Deserialize)]
struct Row {
    fingerprint: String,
    state: String,
    response_status: Option<i64>,
    response_body: Option<String>,
    locked_until: i64,
    holder: Option<String>,
    /// 1 when `holder` is a live incarnation, else 0.
    holder_alive: i64,
}

/// Claims `scope.key` for `scope.holder` until `locked_until`.
pub async fn begin(
    conn: &mut Conn<'_>,
    scope: &KeyScope,
    now: Timestamp,
    locked_until: Timestamp,
) -> Result<Begin, StoreError> {
    Ok(claim(conn, scope, now, locked_until, None).await?.0)
}

/// [`begin`] for a request that creates an object, with the id it would give it: `Ok(id)`
/// to go ahead, creating `id` (what [`resource_id`] answers, in fewer statements), or what
/// was found instead (never [`Begin::Proceed`]). A new claim stores `proposed` as the key's
/// resource in its own `INSERT`; a claim taken over from a holder that died keeps the id that
/// holder stored, if it got that far.
pub async fn begin_creating(
    conn: &mut Conn<'_>,
    scope: &KeyScope,
    now: Timestamp,
    locked_until: Timestamp,
    proposed: &str,
) -> Result<Result<String, Begin>, StoreError> {
    match claim(conn, scope, now, locked_until, Some(proposed)).await? {
        (Begin::Proceed, true) => Ok(Ok(proposed.to_owned())),
        (Begin::Proceed, false) => Ok(Ok(resource_id(conn, scope, proposed).await?)),
        (other, _) => Ok(Err(other)),
    }
}

/// What [`begin`] found, and whether the claim is a new row (else one taken over).
async fn claim(
    conn: &mut Conn<'_>,
    scope: &KeyScope,
    now: Timestamp,
    locked_until: Timestamp,
    resource: Option<&str>,
) -> Result<(Begin, bool), StoreError> {
    let inserted = execute!(
        conn,
        "INSERT INTO idempotency_keys (merchant_id, livemode, idempotency_key, fingerprint, \
         state, locked_until, created_at, holder, resource_id) \
         VALUES ($1, $2, $3, $4, 'running', $5, $6, $7, $8) \
         ON CONFLICT (merchant_id, livemode, idempotency_key) DO NOTHING",
        scope.merchant_id.to_string(),
        scope.mode.is_live(),
        &scope.key,
        &scope.fingerprint,
        Micros::from(locked_until).0,
        Micros::from(now).0,
        &scope.holder,
        resource,
    )?;
    if inserted == 1 {
        return Ok((Begin::Proceed, true));
    }
    let row = fetch!(
        one,
        conn,
        Row,
        "SELECT fingerprint, state, response_status, response_body, locked_until, holder, \
         (SELECT COUNT(*) FROM instances WHERE incarnation = k.holder AND heartbeat_at > $4) \
         AS holder_alive \
         FROM idempotency_keys k \
         WHERE merchant_id = $1 AND livemode = $2 AND idempotency_key = $3",
        scope.merchant_id.to_string(),
        scope.mode.is_live(),
        &scope.key,
        Micros::from(crate::instances::dead_before(now)).0,
    )?;
    if row.fingerprint != scope.fingerprint {
        return Ok((Begin::Mismatch, false));
    }
    if row.state == "done" {
        let status = row
            .response_status
            .and_then(|s| u16::try_from(s).ok())
            .ok_or_else(|| StoreError::Corrupt {
                table: "idempotency_keys",
                detail: format!("key {} is done without a status", scope.key),
            })?;
        let stored = StoredResponse {
            status,
            body: row.response_body.unwrap_or_default(),
        };
        return Ok((Begin::Replay(stored), false));
    }
    let held_until = Micros(row.locked_until).to_timestamp();
    // A holder other than the claimer that is no longer alive crashed with the request (the
    // claimer's own incarnation is alive: it is running this).
    let holder_dead = row.holder.is_some() && row.holder != scope.holder && row.holder_alive == 0;
    if held_until > now && !holder_dead {
        let running = Begin::InProgress {
            locked_until: held_until,
        };
        return Ok((running, false));
    }
    // The owner crashed: take the key over, unless another retry just did.
    let taken = execute!(
        conn,
        "UPDATE idempotency_keys SET locked_until = $1, holder = $2 \
         WHERE merchant_id = $3 AND livemode = $4 AND idempotency_key = $5 AND state = 'running' \
         AND COALESCE(holder, '') = $6 AND locked_until = $7",
        Micros::from(locked_until).0,
        &scope.holder,
        scope.merchant_id.to_string(),
        scope.mode.is_live(),
        &scope.key,
        row.holder.as_deref().unwrap_or(""),
        row.locked_until,
    )?;
    if taken == 0 {
        return Ok((Begin::InProgress { locked_until }, false));
    }
    Ok((Begin::Proceed, false))
}

/// Stores the result; call in the same unit of work as the change it describes.
pub async fn finish(
    conn: &mut Conn<'_>,
    scope: &KeyScope,
    response: &StoredResponse,
) -> Result<(), StoreError> {
    execute!(
        conn,
        "UPDATE idempotency_keys SET state = 'done', response_status = $1, response_body = $2, \
         holder = NULL WHERE merchant_id = $3 AND livemode = $4 AND idempotency_key = $5",
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

/// A running claim that its request abandoned (see [`take_abandoned`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbandonedClaim {
    /// The merchant.
    pub merchant_id: MerchantId,
    /// Its mode.
    pub mode: Mode,
    /// The `Idempotency-Key`.
    pub key: String,
    /// The id the request was creating, if it got that far.
    pub resource_id: Option<String>,
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct AbandonedRow {
    merchant_id: String,
    livemode: bool,
    idempotency_key: String,
    resource_id: Option<String>,
    holder: Option<String>,
    locked_until: i64,
}

/// Takes over, for `holder` until `locked_until`, up to `limit` running claims that their
/// requests abandoned and nobody retried: created before `created_before`, and either held by
/// a dead incarnation other than `holder` or with their lock run out.
///
/// Only claims a cleaner may settle are taken: those without a resource id, and those of a
/// pay-in (`pi_…`) whose pay-in does not exist (the request died between claiming and hearing
/// from the network: an order may exist at the network under that reference). Claims of
/// payouts (`po_…`, settled with the payout) and of existing pay-ins are left alone.
pub async fn take_abandoned(
    conn: &mut Conn<'_>,
    holder: &str,
    now: Timestamp,
    created_before: Timestamp,
    locked_until: Timestamp,
    limit: i64,
) -> Result<Vec<AbandonedClaim>, StoreError> {
    let sql = format!(
        "SELECT merchant_id, livemode, idempotency_key, resource_id, holder, locked_until \
         FROM idempotency_keys k WHERE k.state = 'running' AND k.created_at < $1 \
         AND (k.locked_until <= $2 OR (k.holder IS NOT NULL AND k.holder <> $3 \
             AND k.holder NOT IN ({}))) \
         AND (k.resource_id IS NULL OR (substr(k.resource_id, 1, 3) = 'pi_' \
             AND NOT EXISTS (SELECT 1 FROM payins p WHERE p.id = k.resource_id))) \
         ORDER BY k.created_at LIMIT $5",
        crate::instances::live_incarnations(4)
    );
    let rows = fetch!(
        all,
        conn,
        AbandonedRow,
        AssertSqlSafe(sql),
        Micros::from(created_before).0,
        Micros::from(now).0,
        holder,
        Micros::from(crate::instances::dead_before(now)).0,
        limit,
    )?;
    let mut taken = Vec::with_capacity(rows.len());
    for row in rows {
        // Taken only if nobody (a retry, another cleaner) took it meanwhile.
        let changed = execute!(
            conn,
            "UPDATE idempotency_keys SET holder = $1, locked_until = $2 \
             WHERE merchant_id = $3 AND livemode = $4 AND idempotency_key = $5 \
             AND state = 'running' AND COALESCE(holder, '') = $6 AND locked_until = $7",
            holder,
            Micros::from(locked_until).0,
            &row.merchant_id,
            row.livemode,
            &row.idempotency_key,
            row.holder.as_deref().unwrap_or(""),
            row.locked_until,
        )?;
        if changed == 0 {
            continue;
        }
        taken.push(AbandonedClaim {
            merchant_id: row.merchant_id.parse().map_err(|e| StoreError::Corrupt {
                table: "idempotency_keys",
                detail: format!("merchant id {:?}: {e}", row.merchant_id),
            })?,
            mode: Mode::from_livemode(row.livemode),
            key: row.idempotency_key,
            resource_id: row.resource_id,
        });
    }
    Ok(taken)
}

/// Deletes a running claim that `holder` holds (a cleaner settled it): a retry of the key then
/// runs as a new request. Returns whether it was deleted.
pub async fn delete_held(
    conn: &mut Conn<'_>,
    claim: &AbandonedClaim,
    holder: &str,
) -> Result<bool, StoreError> {
    Ok(execute!(
        conn,
        "DELETE FROM idempotency_keys WHERE merchant_id = $1 AND livemode = $2 \
         AND idempotency_key = $3 AND state = 'running' AND holder = $4",
        claim.merchant_id.to_string(),
        claim.mode.is_live(),
        &claim.key,
        holder,
    )? == 1)
}

/// The state of a key as stored: `running` or `done` with its holder, or `None` when there is
/// no record (for tests and operators).
pub async fn state_of(
    conn: &mut Conn<'_>,
    merchant_id: MerchantId,
    mode: Mode,
    key: &str,
) -> Result<Option<(String, Option<String>)>, StoreError> {
    fetch!(
        optional,
        conn,
        (String, Option<String>),
        "SELECT state, holder FROM idempotency_keys WHERE merchant_id = $1 AND livemode = $2 \
         AND idempotency_key = $3",
        merchant_id.to_string(),
        mode.is_live(),
        key,
    )
    .map_err(StoreError::from)
}
