//! Server instances and their liveness.
//!
//! Every server instance has a stable id (`instance_id`: the same when the same installation
//! restarts) and, for each start, a random **incarnation**. Leases on webhook deliveries and
//! claims on `Idempotency-Key`s record the incarnation that holds them. An incarnation is
//! **alive** while its row in `instances` names it and its heartbeat is fresher than
//! [`DEAD_AFTER_MS`]; what a dead incarnation holds may be taken over at once:
//!
//! * a start [`register`]s the new incarnation in place of the previous one of the same
//!   instance, so a restarted instance takes over what its previous incarnation held at once;
//! * a killed instance's heartbeat lapses, so other instances take over what it held within
//!   [`DEAD_AFTER_MS`].
//!
//! Liveness is judged with the clock of the instance that looks, against the heartbeats other
//! instances wrote with theirs: the margin between [`HEARTBEAT_EVERY_MS`] and
//! [`DEAD_AFTER_MS`] absorbs a few seconds of clock skew. Both are constants rather than
//! settings because every instance sharing a database must judge the others alike.

use jiff::{SignedDuration, Timestamp};

use crate::{Conn, Micros, StoreError, execute, fetch};

/// How often a running instance renews its heartbeat.
pub const HEARTBEAT_EVERY_MS: u64 = 2_000;

/// An incarnation whose heartbeat is this old (five missed heartbeats) is dead.
pub const DEAD_AFTER_MS: i64 = 10_000;

/// Incarnation ids are at most this long (they are generated: 32 hex digits).
pub const INCARNATION_CHARS_MAX: usize = 64;

/// Instance ids are at most this long.
pub const INSTANCE_ID_CHARS_MAX: usize = 200;

/// The instant before which a heartbeat no longer keeps its incarnation alive, seen at `now`.
pub fn dead_before(now: Timestamp) -> Timestamp {
    now.checked_sub(SignedDuration::from_millis(DEAD_AFTER_MS))
        .unwrap_or(now)
}

/// The SQL of the set of live incarnations, with the `dead_before` instant bound to `$param`
/// (for `holder IN (…)` / `holder NOT IN (…)`; `incarnation` is never NULL).
pub(crate) fn live_incarnations(param: usize) -> String {
    format!("SELECT incarnation FROM instances WHERE heartbeat_at > ${param}")
}

/// What a start found and released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The incarnation of the same instance that ran before this one, if any.
    pub previous: Option<String>,
    /// Webhook deliveries whose leases the previous incarnation held, now released.
    pub deliveries_released: u64,
}

/// Registers `incarnation` as the running incarnation of `instance_id` (its heartbeat at
/// `now`), replacing the previous one, whose webhook leases are released at once; its
/// `Idempotency-Key` claims may be taken over by a retry from now on (it is no longer alive).
pub async fn register(
    conn: &mut Conn<'_>,
    instance_id: &str,
    incarnation: &str,
    now: Timestamp,
) -> Result<Registration, StoreError> {
    let previous = fetch!(
        optional,
        conn,
        (String,),
        "SELECT incarnation FROM instances WHERE instance_id = $1",
        instance_id,
    )?
    .map(|(p,)| p)
    .filter(|p| p != incarnation);
    execute!(
        conn,
        "INSERT INTO instances (instance_id, incarnation, started_at, heartbeat_at) \
         VALUES ($1, $2, $3, $3) \
         ON CONFLICT (instance_id) DO UPDATE SET incarnation = excluded.incarnation, \
         started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at",
        instance_id,
        incarnation,
        Micros::from(now).0,
    )?;
    let deliveries_released = match &previous {
        Some(previous) => crate::webhook_deliveries::release_holder(conn, previous, now).await?,
        None => 0,
    };
    Ok(Registration {
        previous,
        deliveries_released,
    })
}

/// Renews the heartbeat of `incarnation`. `false` when it is no longer the registered
/// incarnation of `instance_id` (another process started with the same instance id): what it
/// holds counts as dead, and it must stop taking work.
pub async fn heartbeat(
    conn: &mut Conn<'_>,
    instance_id: &str,
    incarnation: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let changed = execute!(
        conn,
        "UPDATE instances SET heartbeat_at = $1 WHERE instance_id = $2 AND incarnation = $3",
        Micros::from(now).0,
        instance_id,
        incarnation,
    )?;
    Ok(changed == 1)
}

/// Whether `incarnation` is alive at `now`.
pub async fn is_alive(
    conn: &mut Conn<'_>,
    incarnation: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let (count,) = fetch!(
        one,
        conn,
        (i64,),
        "SELECT COUNT(*) FROM instances WHERE incarnation = $1 AND heartbeat_at > $2",
        incarnation,
        Micros::from(dead_before(now)).0,
    )?;
    Ok(count > 0)
}

/// Forgets instances silent since before `before` (instance ids derived from host names that
/// never come back). What they held already counted as dead.
pub async fn forget_silent(conn: &mut Conn<'_>, before: Timestamp) -> Result<u64, StoreError> {
    Ok(execute!(
        conn,
        "DELETE FROM instances WHERE heartbeat_at < $1",
        Micros::from(before).0
    )?)
}

/// Takes (or renews) the lease of the singleton worker `name` for `holder` until
/// `locked_until`: true when `holder` now holds it. It is free when nobody took it yet, when its
/// lease ran out, or when its holder is dead; a live holder keeps it until its lease ends.
pub async fn take_worker_lease(
    conn: &mut Conn<'_>,
    name: &str,
    holder: &str,
    now: Timestamp,
    locked_until: Timestamp,
) -> Result<bool, StoreError> {
    let sql = format!(
        "INSERT INTO worker_leases (name, holder, locked_until) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
         locked_until = excluded.locked_until \
         WHERE worker_leases.holder = excluded.holder OR worker_leases.locked_until <= $4 \
         OR worker_leases.holder NOT IN ({})",
        live_incarnations(5)
    );
    let changed = execute!(
        conn,
        sqlx::AssertSqlSafe(sql),
        name,
        holder,
        Micros::from(locked_until).0,
        Micros::from(now).0,
        Micros::from(dead_before(now)).0,
    )?;
    Ok(changed == 1)
}

/// The holder of the worker `name`'s lease and its end, if anyone took it (tests, operators).
pub async fn worker_lease(
    conn: &mut Conn<'_>,
    name: &str,
) -> Result<Option<(String, Timestamp)>, StoreError> {
    let row = fetch!(
        optional,
        conn,
        (String, i64),
        "SELECT holder, locked_until FROM worker_leases WHERE name = $1",
        name,
    )?;
    Ok(row.map(|(holder, until)| (holder, Micros(until).to_timestamp())))
}
