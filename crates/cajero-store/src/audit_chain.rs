//! The audit log's chain (migration 0026): the unsealed entries, the head, sealing, and the
//! walk that verification reads. Rows only; what a hash covers is the server's
//! `audit_chain` module.

use crate::{Conn, StoreError, execute, fetch};

/// An entry with its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct Link {
    /// `aud_…`.
    pub id: String,
    /// The merchant concerned.
    pub merchant_id: Option<String>,
    /// The merchant's user or the operator who acted.
    pub user_id: Option<String>,
    /// Who acted.
    pub actor: String,
    /// What was done.
    pub action: String,
    /// To what.
    pub object_id: Option<String>,
    /// From where.
    pub ip: Option<String>,
    /// µs.
    pub at: i64,
    /// Why.
    pub reason: Option<String>,
    /// Its place in the chain; `None`: not sealed yet.
    pub seq: Option<i64>,
    /// The previous entry's hash.
    pub prev_hash: Option<String>,
    /// Its own.
    pub hash: Option<String>,
}

const COLUMNS: &str =
    "id, merchant_id, user_id, actor, action, object_id, ip, at, reason, seq, prev_hash, hash";

/// The last sealed entry's place and hash.
pub async fn head(conn: &mut Conn<'_>) -> Result<Option<(i64, String)>, StoreError> {
    Ok(fetch!(
        optional,
        conn,
        (i64, String),
        "SELECT seq, hash FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1",
    )?)
}

/// Up to `limit` entries not sealed yet, in id order (by the partial index).
pub async fn unsealed(conn: &mut Conn<'_>, limit: i64) -> Result<Vec<Link>, StoreError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM audit_log WHERE seq IS NULL ORDER BY id LIMIT $1"
    ));
    Ok(fetch!(all, conn, Link, sql, limit)?)
}

/// How many entries wait to be sealed.
pub async fn count_unsealed(conn: &mut Conn<'_>) -> Result<i64, StoreError> {
    let (n,) = fetch!(
        one,
        conn,
        (i64,),
        "SELECT COUNT(*) FROM audit_log WHERE seq IS NULL",
    )?;
    Ok(n)
}

/// Seals entry `id` at `seq`; false when it was sealed meanwhile (nothing changed).
pub async fn seal(
    conn: &mut Conn<'_>,
    id: &str,
    seq: i64,
    prev_hash: &str,
    hash: &str,
) -> Result<bool, StoreError> {
    let changed = execute!(
        conn,
        "UPDATE audit_log SET seq = $2, prev_hash = $3, hash = $4 WHERE id = $1 AND seq IS NULL",
        id,
        seq,
        prev_hash,
        hash,
    )?;
    Ok(changed == 1)
}

/// Up to `limit` sealed entries after place `after`, in chain order.
pub async fn after(conn: &mut Conn<'_>, after: i64, limit: i64) -> Result<Vec<Link>, StoreError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"
    ));
    Ok(fetch!(all, conn, Link, sql, after, limit)?)
}
