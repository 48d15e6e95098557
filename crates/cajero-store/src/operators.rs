//! The operator's console's people: operators, their sessions, and the search of the audit
//! log (migration 0024). Rows only; the rules (passwords, lock-out, two-factor, reasons) live
//! in the server's `operators` service.

use jiff::Timestamp;

use crate::dashboard::AuditRow;
use crate::{Conn, Micros, StoreError, execute, fetch};

/// An operator as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct OperatorRow {
    /// `opr_…`.
    pub id: String,
    /// Lower case.
    pub email: String,
    /// How the console greets it.
    pub name: String,
    /// argon2id, PHC string.
    pub password_hash: String,
    /// Failed sign-ins since the last success or lock.
    pub failed_logins: i64,
    /// No sign-in before this (µs).
    pub locked_until: Option<i64>,
    /// The TOTP secret, sealed with the instance key.
    pub totp_secret: Option<String>,
    /// When two-factor was confirmed (µs); `None`: not yet.
    pub totp_enabled_at: Option<i64>,
    /// The time step of the last code accepted.
    pub totp_last_step: Option<i64>,
    /// When it was disabled (µs); `None`: it may sign in.
    pub disabled_at: Option<i64>,
    /// µs.
    pub created_at: i64,
    /// µs.
    pub updated_at: i64,
}

const COLUMNS: &str = "id, email, name, password_hash, failed_logins, locked_until, \
    totp_secret, totp_enabled_at, totp_last_step, disabled_at, created_at, updated_at";

/// Inserts an operator unless its address is taken; false when it was.
pub async fn insert(conn: &mut Conn<'_>, o: &OperatorRow) -> Result<bool, StoreError> {
    let inserted = execute!(
        conn,
        "INSERT INTO operators (id, email, name, password_hash, failed_logins, locked_until, \
         totp_secret, totp_enabled_at, totp_last_step, disabled_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (email) DO NOTHING",
        &o.id,
        &o.email,
        &o.name,
        &o.password_hash,
        o.failed_logins,
        o.locked_until,
        &o.totp_secret,
        o.totp_enabled_at,
        o.totp_last_step,
        o.disabled_at,
        o.created_at,
        o.updated_at,
    )?;
    Ok(inserted == 1)
}

/// The operator with this address (lower case).
pub async fn by_email(conn: &mut Conn<'_>, email: &str) -> Result<Option<OperatorRow>, StoreError> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM operators WHERE email = $1"));
    Ok(fetch!(optional, conn, OperatorRow, sql, email)?)
}

/// The operator with this id.
pub async fn get(conn: &mut Conn<'_>, id: &str) -> Result<Option<OperatorRow>, StoreError> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM operators WHERE id = $1"));
    Ok(fetch!(optional, conn, OperatorRow, sql, id)?)
}

/// Every operator, by address.
pub async fn all(conn: &mut Conn<'_>) -> Result<Vec<OperatorRow>, StoreError> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM operators ORDER BY email"));
    Ok(fetch!(all, conn, OperatorRow, sql)?)
}

/// Counts a failed sign-in; the `max`-th locks the operator until `lock_until`. Returns the
/// operator as it is now.
pub async fn record_failed_login(
    conn: &mut Conn<'_>,
    id: &str,
    max: i64,
    lock_until: Timestamp,
    now: Timestamp,
) -> Result<Option<OperatorRow>, StoreError> {
    execute!(
        conn,
        "UPDATE operators SET \
         locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3 ELSE locked_until END, \
         failed_logins = CASE WHEN failed_logins + 1 >= $2 THEN 0 ELSE failed_logins + 1 END, \
         updated_at = $4 WHERE id = $1",
        id,
        max,
        Micros::from(lock_until).0,
        Micros::from(now).0,
    )?;
    get(conn, id).await
}

/// A sign-in (or code) succeeded: the failure count starts again.
pub async fn record_login(conn: &mut Conn<'_>, id: &str, now: Timestamp) -> Result<(), StoreError> {
    execute!(
        conn,
        "UPDATE operators SET failed_logins = 0, locked_until = NULL, updated_at = $2 \
         WHERE id = $1",
        id,
        Micros::from(now).0,
    )?;
    Ok(())
}

/// Disables (or, with `None`, enables again) an operator; disabling ends its sessions.
pub async fn set_disabled(
    conn: &mut Conn<'_>,
    id: &str,
    disabled_at: Option<Timestamp>,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let changed = execute!(
        conn,
        "UPDATE operators SET disabled_at = $2, updated_at = $3 WHERE id = $1",
        id,
        disabled_at.map(|t| Micros::from(t).0),
        Micros::from(now).0,
    )?;
    if disabled_at.is_some() {
        execute!(
            conn,
            "DELETE FROM operator_sessions WHERE operator_id = $1",
            id
        )?;
    }
    Ok(changed == 1)
}

/// Stores a new (unconfirmed) TOTP secret, sealed.
pub async fn set_totp_secret(
    conn: &mut Conn<'_>,
    id: &str,
    sealed: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    execute!(
        conn,
        "UPDATE operators SET totp_secret = $2, totp_enabled_at = NULL, totp_last_step = NULL, \
         updated_at = $3 WHERE id = $1",
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
        "UPDATE operators SET totp_last_step = $2, \
         totp_enabled_at = COALESCE(totp_enabled_at, $3), updated_at = $3 \
         WHERE id = $1 AND totp_secret IS NOT NULL \
         AND (totp_last_step IS NULL OR totp_last_step < $2)",
        id,
        step,
        Micros::from(now).0,
    )?;
    Ok(changed == 1)
}

/// An operator's session as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct OperatorSessionRow {
    /// Hex SHA-256 of the cookie's token.
    pub id: String,
    /// `opr_…`.
    pub operator_id: String,
    /// Every form's CSRF token.
    pub csrf_token: String,
    /// The TOTP code was given.
    pub verified: bool,
    /// Where it was opened from.
    pub ip: Option<String>,
    /// µs.
    pub created_at: i64,
    /// µs.
    pub last_seen_at: i64,
}

/// Inserts a session.
pub async fn insert_session(conn: &mut Conn<'_>, s: &OperatorSessionRow) -> Result<(), StoreError> {
    execute!(
        conn,
        "INSERT INTO operator_sessions (id, operator_id, csrf_token, verified, ip, created_at, \
         last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &s.id,
        &s.operator_id,
        &s.csrf_token,
        s.verified,
        &s.ip,
        s.created_at,
        s.last_seen_at,
    )?;
    Ok(())
}

/// The session with this id.
pub async fn session(
    conn: &mut Conn<'_>,
    id: &str,
) -> Result<Option<OperatorSessionRow>, StoreError> {
    Ok(fetch!(
        optional,
        conn,
        OperatorSessionRow,
        "SELECT id, operator_id, csrf_token, verified, ip, created_at, last_seen_at \
         FROM operator_sessions WHERE id = $1",
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
        "UPDATE operator_sessions SET last_seen_at = $2 WHERE id = $1",
        id,
        Micros::from(now).0,
    )?;
    Ok(())
}

/// Marks a session's code given.
pub async fn set_session_verified(conn: &mut Conn<'_>, id: &str) -> Result<(), StoreError> {
    execute!(
        conn,
        "UPDATE operator_sessions SET verified = TRUE WHERE id = $1",
        id
    )?;
    Ok(())
}

/// Ends a session.
pub async fn delete_session(conn: &mut Conn<'_>, id: &str) -> Result<(), StoreError> {
    execute!(conn, "DELETE FROM operator_sessions WHERE id = $1", id)?;
    Ok(())
}

/// Up to `limit` sessions idle since before `idle_before` or opened before
/// `created_before` (the purge); how many went.
pub async fn delete_expired_sessions(
    conn: &mut Conn<'_>,
    idle_before: Timestamp,
    created_before: Timestamp,
    limit: i64,
) -> Result<u64, StoreError> {
    Ok(execute!(
        conn,
        "DELETE FROM operator_sessions WHERE id IN (SELECT id FROM operator_sessions \
         WHERE last_seen_at < $1 OR created_at < $2 LIMIT $3)",
        Micros::from(idle_before).0,
        Micros::from(created_before).0,
        limit,
    )?)
}

/// An entry of the audit log with its reason.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct AuditEntry {
    /// `aud_…`.
    pub id: String,
    /// The merchant concerned; `None`: the platform's.
    pub merchant_id: Option<String>,
    /// The merchant's user who acted, when one did.
    pub user_id: Option<String>,
    /// Who acted (an address, or `operator (cli)`).
    pub actor: String,
    /// What was done.
    pub action: String,
    /// What it was done to.
    pub object_id: Option<String>,
    /// From where.
    pub ip: Option<String>,
    /// µs.
    pub at: i64,
    /// Why (operators' actions).
    pub reason: Option<String>,
}

/// Appends an entry with its reason.
pub async fn insert_audit(
    conn: &mut Conn<'_>,
    a: &AuditRow,
    reason: Option<&str>,
) -> Result<(), StoreError> {
    execute!(
        conn,
        "INSERT INTO audit_log (id, merchant_id, user_id, actor, action, object_id, ip, at, \
         reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &a.id,
        &a.merchant_id,
        &a.user_id,
        &a.actor,
        &a.action,
        &a.object_id,
        &a.ip,
        a.at,
        reason,
    )?;
    Ok(())
}

/// What to look for in the audit log; every part given must match.
#[derive(Debug, Clone, Default)]
pub struct AuditSearch {
    /// Entries of this merchant.
    pub merchant_id: Option<String>,
    /// Who acted: a part of the address, any case.
    pub actor: Option<String>,
    /// What was done: the action or its start (`merchant.kyc.`).
    pub action: Option<String>,
    /// A part of what it was done to (an id), or of the reason.
    pub text: Option<String>,
    /// From this time on (µs).
    pub from: Option<i64>,
    /// Before this time (µs).
    pub until: Option<i64>,
    /// Older than this entry (`aud_…`): the next page.
    pub before: Option<String>,
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
fn like_escaped(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}

/// The entries matching `search`, newest first, at most `limit`. The newest-first walk uses the
/// primary key (ids are time-ordered); a narrow search over a long log reads many rows, which
/// the page size bounds in what is returned, not in what is read.
pub async fn search_audit(
    conn: &mut Conn<'_>,
    search: &AuditSearch,
    limit: i64,
) -> Result<Vec<AuditEntry>, StoreError> {
    let actor = search
        .actor
        .as_deref()
        .map(|a| format!("%{}%", like_escaped(&a.to_lowercase())));
    let action = search
        .action
        .as_deref()
        .map(|a| format!("{}%", like_escaped(a)));
    let text = search
        .text
        .as_deref()
        .map(|t| format!("%{}%", like_escaped(t)));
    Ok(fetch!(
        all,
        conn,
        AuditEntry,
        "SELECT id, merchant_id, user_id, actor, action, object_id, ip, at, reason \
         FROM audit_log \
         WHERE ($1 IS NULL OR merchant_id = $1) \
         AND ($2 IS NULL OR LOWER(actor) LIKE $2 ESCAPE '\\') \
         AND ($3 IS NULL OR action LIKE $3 ESCAPE '\\') \
         AND ($4 IS NULL OR object_id LIKE $4 ESCAPE '\\' OR reason LIKE $4 ESCAPE '\\') \
         AND ($5 IS NULL OR at >= $5) AND ($6 IS NULL OR at < $6) \
         AND ($7 IS NULL OR id < $7) \
         ORDER BY id DESC LIMIT $8",
        &search.merchant_id,
        &actor,
        &action,
        &text,
        search.from,
        search.until,
        &search.before,
        limit,
    )?)
}

/// A merchant as the console lists it: its status and where its KYC application stands.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct MerchantOverview {
    /// `mer_…`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// onboarding, active, suspended.
    pub status: String,
    /// The application's status; `None`: never saved (a draft).
    pub kyc_status: Option<String>,
    /// When the application was last submitted (µs).
    pub submitted_at: Option<i64>,
    /// µs.
    pub created_at: i64,
}

/// Merchants, newest first, at most `limit`, optionally of one status and with a name or id
/// containing `text`.
pub async fn merchants_overview(
    conn: &mut Conn<'_>,
    status: Option<&str>,
    text: Option<&str>,
    limit: i64,
) -> Result<Vec<MerchantOverview>, StoreError> {
    let text = text.map(|t| format!("%{}%", like_escaped(&t.to_lowercase())));
    Ok(fetch!(
        all,
        conn,
        MerchantOverview,
        "SELECT m.id, m.name, m.status, k.status AS kyc_status, k.submitted_at, m.created_at \
         FROM merchants m LEFT JOIN merchant_kyc k ON k.merchant_id = m.id \
         WHERE ($1 IS NULL OR m.status = $1) \
         AND ($2 IS NULL OR LOWER(m.name) LIKE $2 ESCAPE '\\' OR m.id LIKE $2 ESCAPE '\\') \
         ORDER BY m.id DESC LIMIT $3",
        status,
        &text,
        limit,
    )?)
}
