//! The dashboard's people: users, sessions and the audit log (migration 0019). Rows only; the
//! rules (passwords, lock-out, timeouts, roles) live in the server's `users` service.

use jiff::Timestamp;
use sqlx::AssertSqlSafe;

use crate::{Conn, Micros, StoreError, execute, fetch};

/// A dashboard user as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct UserRow {
    /// `usr_…`.
    pub id: String,
    /// The merchant it works for.
    pub merchant_id: String,
    /// Lower case.
    pub email: String,
    /// How the dashboard greets it.
    pub name: String,
    /// owner, developer, analyst.
    pub role: String,
    /// argon2id, PHC string.
    pub password_hash: String,
    /// en, es-CO, zh-CN; `None`: the browser's.
    pub locale: Option<String>,
    /// IANA name.
    pub time_zone: String,
    /// Failed sign-ins since the last success or lock.
    pub failed_logins: i64,
    /// No sign-in before this (µs).
    pub locked_until: Option<i64>,
    /// The TOTP secret, sealed with the instance key.
    pub totp_secret: Option<String>,
    /// When two-factor was confirmed (µs); `None`: off.
    pub totp_enabled_at: Option<i64>,
    /// The time step of the last code accepted.
    pub totp_last_step: Option<i64>,
    /// µs.
    pub created_at: i64,
    /// µs.
    pub updated_at: i64,
}

const USER_COLUMNS: &str = "id, merchant_id, email, name, role, password_hash, locale, \
    time_zone, failed_logins, locked_until, totp_secret, totp_enabled_at, totp_last_step, \
    created_at, updated_at";

/// Inserts a user unless its e-mail address is taken; false when it was.
pub async fn insert_user(conn: &mut Conn<'_>, u: &UserRow) -> Result<bool, StoreError> {
    let inserted = execute!(
        conn,
        "INSERT INTO dashboard_users (id, merchant_id, email, name, role, password_hash, locale, \
         time_zone, failed_logins, locked_until, totp_secret, totp_enabled_at, totp_last_step, \
         created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
         ON CONFLICT DO NOTHING",
        &u.id,
        &u.merchant_id,
        &u.email,
        &u.name,
        &u.role,
        &u.password_hash,
        &u.locale,
        &u.time_zone,
        u.failed_logins,
        u.locked_until,
        &u.totp_secret,
        u.totp_enabled_at,
        u.totp_last_step,
        u.created_at,
        u.updated_at,
    )?;
    Ok(inserted == 1)
}

/// The user with this (lower-case) e-mail address.
pub async fn user_by_email(
    conn: &mut Conn<'_>,
    email: &str,
) -> Result<Option<UserRow>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM dashboard_users WHERE email = $1"
    ));
    Ok(fetch!(optional, conn, UserRow, sql, email)?)
}

/// The user with this id.
pub async fn user(conn: &mut Conn<'_>, id: &str) -> Result<Option<UserRow>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM dashboard_users WHERE id = $1"
    ));
    Ok(fetch!(optional, conn, UserRow, sql, id)?)
}

/// A merchant's users, oldest first.
pub async fn users_of_merchant(
    conn: &mut Conn<'_>,
    merchant_id: &str,
    limit: i64,
) -> Result<Vec<UserRow>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM dashboard_users WHERE merchant_id = $1 ORDER BY id LIMIT $2"
    ));
    Ok(fetch!(all, conn, UserRow, sql, merchant_id, limit)?)
}

/// Counts a failed sign-in in one statement; at `max` failures the user is locked until
/// `lock_until` and the count restarts. Returns the user after the change.
pub async fn record_failed_login(
    conn: &mut Conn<'_>,
    id: &str,
    max: i64,
    lock_until: Timestamp,
    now: Timestamp,
) -> Result<Option<UserRow>, StoreError> {
    execute!(
        conn,
        "UPDATE dashboard_users SET \
         locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3 ELSE locked_until END, \
         failed_logins = CASE WHEN failed_logins + 1 >= $2 THEN 0 ELSE failed_logins + 1 END, \
         updated_at = $4 WHERE id = $1",
        id,
        max,
        Micros::from(lock_until).0,
        Micros::from(now).0,
    )?;
    user(conn, id).await
}

/// A successful sign-in: the failure count restarts.
pub async fn record_login(conn: &mut Conn<'_>, id: &str, now: Timestamp) -> Result<(), StoreError> {
    execute!(
        conn,
        "UPDATE dashboard_users SET failed_logins = 0, locked_until = NULL, updated_at = $2 \
         WHERE id = $1",
        id,
        Micros::from(now).0,
    )?;
    Ok(())
}

/// Changes a user's language (`None`: the browser's).
pub async fn set_locale(
    conn: &mut Conn<'_>,
    id: &str,
    locale: Option<&str>,
    now: Timestamp,
) -> Result<(), StoreError> {
    execute!(
        conn,
        "UPDATE dashboard_users SET locale = $2, updated_at = $3 WHERE id = $1",
        id,
        locale,
        Micros::from(now).0,
    )?;
    Ok(())
}

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct SessionRow {
    /// Hex SHA-256 of the cookie's token.
    pub id: String,
    /// Whose.
    pub user_id: String,
    /// What every form of the session carries.
    pub csrf_token: String,
    /// The test/live switch.
    pub livemode: bool,
    /// Whether the second factor is done (or none is needed).
    pub verified: bool,
    /// Where it signed in from.
    pub ip: Option<String>,
    /// µs.
    pub created_at: i64,
    /// µs.
    pub last_seen_at: i64,
}

/// Inserts a session.
pub async fn insert_session(conn: &mut Conn<'_>, s: &SessionRow) -> Result<(), StoreError> {
    execute!(
        conn,
        "INSERT INTO dashboard_sessions (id, user_id, csrf_token, livemode, verified, ip, \
         created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &s.id,
        &s.user_id,
        &s.csrf_token,
        s.livemode,
        s.verified,
        &s.ip,
        s.created_at,
        s.last_seen_at,
    )?;
    Ok(())
}

/// The session with this id.
pub async fn session(conn: &mut Conn<'_>, id: &str) -> Result<Option<SessionRow>, StoreError> {
    Ok(fetch!(
        optional,
        conn,
        SessionRow,
        "SELECT id, user_id, csrf_token, livemode, verified, ip, created_at, last_seen_at \
         FROM dashboard_sessions WHERE id = $1",
        id,
    )?)
}

/// Records activity on a session.
pub async fn touch_session(
    conn: &mut Conn<'_>,
    id: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    execute!(
        conn,
        "UPDATE dashboard_sessions SET last_seen_at = $2 WHERE id = $1",
        id,
        Micros::from(now).0,
    )?;
    Ok(())
}

/// Flips a session between test and live.
pub async fn set_session_mode(
    conn: &mut Conn<'_>,
    id: &str,
    livemode: bool,
) -> Result<(), StoreError> {
    execute!(
        conn,
        "UPDATE dashboard_sessions SET livemode = $2 WHERE id = $1",
        id,
        livemode,
    )?;
    Ok(())
}

/// Marks a session's second factor done.
pub async fn set_session_verified(conn: &mut Conn<'_>, id: &str) -> Result<(), StoreError> {
    execute!(
        conn,
        "UPDATE dashboard_sessions SET verified = TRUE WHERE id = $1",
        id
    )?;
    Ok(())
}

/// Stores a new (unconfirmed) TOTP secret, sealed; two-factor stays as it was until
/// confirmed.
pub async fn set_totp_secret(
    conn: &mut Conn<'_>,
    id: &str,
    sealed: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    execute!(
        conn,
        "UPDATE dashboard_users SET totp_secret = $2, totp_enabled_at = NULL, \
         totp_last_step = NULL, updated_at = $3 WHERE id = $1",
        id,
        sealed,
        Micros::from(now).0,
    )?;
    Ok(())
}

/// Accepts a code's time step once: true when `step` is later than the last one accepted
/// (and records it, enabling two-factor if it was not), false for a replay.
pub async fn accept_totp_step(
    conn: &mut Conn<'_>,
    id: &str,
    step: i64,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let changed = execute!(
        conn,
        "UPDATE dashboard_users SET totp_last_step = $2, \
         totp_enabled_at = COALESCE(totp_enabled_at, $3), updated_at = $3 \
         WHERE id = $1 AND totp_secret IS NOT NULL \
         AND (totp_last_step IS NULL OR totp_last_step < $2)",
        id,
        step,
        Micros::from(now).0,
    )?;
    Ok(changed == 1)
}

/// Ends a session.
pub async fn delete_session(conn: &mut Conn<'_>, id: &str) -> Result<(), StoreError> {
    execute!(conn, "DELETE FROM dashboard_sessions WHERE id = $1", id)?;
    Ok(())
}

/// Up to `limit` sessions idle since before `idle_before` or created before
/// `created_before`: the purge of expired ones (they are already refused when presented).
/// Returns how many went.
pub async fn delete_expired_sessions(
    conn: &mut Conn<'_>,
    idle_before: Timestamp,
    created_before: Timestamp,
    limit: i64,
) -> Result<u64, StoreError> {
    Ok(execute!(
        conn,
        "DELETE FROM dashboard_sessions WHERE id IN (SELECT id FROM dashboard_sessions \
         WHERE last_seen_at < $1 OR created_at < $2 LIMIT $3)",
        Micros::from(idle_before).0,
        Micros::from(created_before).0,
        limit,
    )?)
}

/// An audit log entry.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct AuditRow {
    /// `aud_…`.
    pub id: String,
    /// The merchant whose objects it concerns; `None`: the platform's.
    pub merchant_id: Option<String>,
    /// The user who acted, when one did.
    pub user_id: Option<String>,
    /// The user's e-mail address, or who else acted.
    pub actor: String,
    /// What was done (`session.created`, `api_key.created`, …).
    pub action: String,
    /// What it was done to.
    pub object_id: Option<String>,
    /// From where.
    pub ip: Option<String>,
    /// µs.
    pub at: i64,
}

/// Appends an entry.
pub async fn insert_audit(conn: &mut Conn<'_>, a: &AuditRow) -> Result<(), StoreError> {
    execute!(
        conn,
        "INSERT INTO audit_log (id, merchant_id, user_id, actor, action, object_id, ip, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &a.id,
        &a.merchant_id,
        &a.user_id,
        &a.actor,
        &a.action,
        &a.object_id,
        &a.ip,
        a.at,
    )?;
    Ok(())
}

/// A merchant's audit log, newest first, at most `limit` entries older than `before` (an
/// `aud_…` id; `None`: from the newest).
pub async fn audit_of_merchant(
    conn: &mut Conn<'_>,
    merchant_id: &str,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<AuditRow>, StoreError> {
    Ok(fetch!(
        all,
        conn,
        AuditRow,
        "SELECT id, merchant_id, user_id, actor, action, object_id, ip, at FROM audit_log \
         WHERE merchant_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
        merchant_id,
        before,
        limit,
    )?)
}

/// A ledger transfer of an object's timeline.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct LedgerEntryRow {
    /// The transfer.
    pub id: String,
    /// Its batch's code (payin, refund, …).
    pub batch_code: String,
    /// The transfer's code.
    pub code: String,
    /// The account debited.
    pub debit_account_id: String,
    /// The account credited.
    pub credit_account_id: String,
    /// In the currency's unit.
    pub amount: i64,
    /// The currency.
    pub currency: String,
    /// single, pending, post_pending, void_pending.
    pub mode: String,
    /// µs.
    pub created_at: i64,
}

/// The transfers of the batches an object caused (`pi_…`, `po_…`), of one merchant, oldest
/// first, at most `limit` (by the index on the batches' source).
pub async fn ledger_entries_of(
    conn: &mut Conn<'_>,
    merchant_id: &str,
    source_id: &str,
    limit: i64,
) -> Result<Vec<LedgerEntryRow>, StoreError> {
    Ok(fetch!(
        all,
        conn,
        LedgerEntryRow,
        "SELECT t.id, b.code AS batch_code, t.code, t.debit_account_id, t.credit_account_id, \
         t.amount, t.currency, t.mode, t.created_at FROM ledger_batches b \
         JOIN ledger_transfers t ON t.batch_id = b.id \
         WHERE b.source_id = $1 AND b.merchant_id = $2 ORDER BY t.created_at, t.id LIMIT $3",
        source_id,
        merchant_id,
        limit,
    )?)
}

/// An invitation to become a user of a merchant.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct InvitationRow {
    /// `inv_…`.
    pub id: String,
    /// The merchant the new user will work for.
    pub merchant_id: String,
    /// Lower case.
    pub email: String,
    /// owner, developer, analyst.
    pub role: String,
    /// SHA-256 (hex) of the link's token.
    pub token_hash: String,
    /// The owner who invited (`usr_…`).
    pub invited_by: String,
    /// µs.
    pub created_at: i64,
    /// µs; the link works before this.
    pub expires_at: i64,
    /// µs; when the link was used.
    pub accepted_at: Option<i64>,
    /// µs; when an owner withdrew it.
    pub revoked_at: Option<i64>,
}

const INVITATION_COLUMNS: &str = "id, merchant_id, email, role, token_hash, invited_by, \
    created_at, expires_at, accepted_at, revoked_at";

/// Records an invitation.
pub async fn insert_invitation(conn: &mut Conn<'_>, i: &InvitationRow) -> Result<(), StoreError> {
    execute!(
        conn,
        "INSERT INTO dashboard_invitations (id, merchant_id, email, role, token_hash, \
         invited_by, created_at, expires_at, accepted_at, revoked_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &i.id,
        &i.merchant_id,
        &i.email,
        &i.role,
        &i.token_hash,
        &i.invited_by,
        i.created_at,
        i.expires_at,
        i.accepted_at,
        i.revoked_at,
    )?;
    Ok(())
}

/// The invitation whose token hashes to `token_hash`, whatever its state.
pub async fn invitation_by_token(
    conn: &mut Conn<'_>,
    token_hash: &str,
) -> Result<Option<InvitationRow>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "SELECT {INVITATION_COLUMNS} FROM dashboard_invitations WHERE token_hash = $1"
    ));
    Ok(fetch!(optional, conn, InvitationRow, sql, token_hash)?)
}

/// A merchant's invitations still usable at `now` (µs), newest first, at most `limit`.
pub async fn pending_invitations(
    conn: &mut Conn<'_>,
    merchant_id: &str,
    now: i64,
    limit: i64,
) -> Result<Vec<InvitationRow>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "SELECT {INVITATION_COLUMNS} FROM dashboard_invitations WHERE merchant_id = $1 \
         AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2 \
         ORDER BY created_at DESC, id DESC LIMIT $3"
    ));
    Ok(fetch!(
        all,
        conn,
        InvitationRow,
        sql,
        merchant_id,
        now,
        limit
    )?)
}

/// Uses the invitation if it is still usable at `now`; false when it was used, withdrawn or
/// expired meanwhile (so a link works once, even when two people click it at once).
pub async fn accept_invitation(
    conn: &mut Conn<'_>,
    id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let changed = execute!(
        conn,
        "UPDATE dashboard_invitations SET accepted_at = $2 WHERE id = $1 \
         AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2",
        id,
        now,
    )?;
    Ok(changed == 1)
}

/// Withdraws one of the merchant's usable invitations; false when there was none.
pub async fn revoke_invitation(
    conn: &mut Conn<'_>,
    merchant_id: &str,
    id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let changed = execute!(
        conn,
        "UPDATE dashboard_invitations SET revoked_at = $3 WHERE id = $1 AND merchant_id = $2 \
         AND accepted_at IS NULL AND revoked_at IS NULL",
        id,
        merchant_id,
        now,
    )?;
    Ok(changed == 1)
}

/// Removes one of the merchant's users and every session of it (signed out at once); false
/// when it is not the merchant's. The audit log keeps what it did (by address).
pub async fn delete_user(
    conn: &mut Conn<'_>,
    merchant_id: &str,
    id: &str,
) -> Result<bool, StoreError> {
    execute!(
        conn,
        "DELETE FROM dashboard_sessions WHERE user_id IN \
         (SELECT id FROM dashboard_users WHERE id = $1 AND merchant_id = $2)",
        id,
        merchant_id,
    )?;
    let deleted = execute!(
        conn,
        "DELETE FROM dashboard_users WHERE id = $1 AND merchant_id = $2",
        id,
        merchant_id,
    )?;
    Ok(deleted == 1)
}

/// Gives one of the merchant's users another role; false when it is not the merchant's.
pub async fn set_role(
    conn: &mut Conn<'_>,
    merchant_id: &str,
    id: &str,
    role: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let changed = execute!(
        conn,
        "UPDATE dashboard_users SET role = $3, updated_at = $4 WHERE id = $1 AND merchant_id = $2",
        id,
        merchant_id,
        role,
        Micros::from(now).0,
    )?;
    Ok(changed == 1)
}

/// How many owners the merchant has.
pub async fn count_owners(conn: &mut Conn<'_>, merchant_id: &str) -> Result<i64, StoreError> {
    let (n,) = fetch!(
        one,
        conn,
        (i64,),
        "SELECT COUNT(*) FROM dashboard_users WHERE merchant_id = $1 AND role = 'owner'",
        merchant_id,
    )?;
    Ok(n)
}
