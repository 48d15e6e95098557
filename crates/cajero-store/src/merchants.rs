//! Merchants, their API keys, and the instance's own settings.
//!
//! Every function takes the [`Conn`] of a unit of work, so callers compose them inside one
//! [`crate::Store::write`] transaction.

use cajero_domain::id::{ApiKeyId, MerchantId};
use cajero_domain::merchant::MerchantStatus;
use jiff::Timestamp;

use sqlx::AssertSqlSafe;

use crate::{Conn, Micros, StoreError, execute, fetch};

/// A merchant as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantRecord {
    /// `mer_…`
    pub id: MerchantId,
    /// Display name.
    pub name: String,
    /// Canonical NIT (`900123456-8`), when given.
    pub nit: Option<String>,
    /// Onboarding state.
    pub status: MerchantStatus,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// An API key as stored: never the secret, only its keyed hash (not loaded) and a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// `key_…`
    pub id: ApiKeyId,
    /// The merchant the key acts for.
    pub merchant_id: MerchantId,
    /// `sk_live_…` keys are live, `sk_test_…` keys are not.
    pub livemode: bool,
    /// The start of the secret, to recognise the key in lists (`sk_test_AbCd`).
    pub display_prefix: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was revoked; a revoked key authenticates nothing.
    pub revoked_at: Option<Timestamp>,
    /// When it last authenticated a request (recorded at most once a minute).
    pub last_used_at: Option<Timestamp>,
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct MerchantRow {
    id: String,
    name: String,
    nit: Option<String>,
    status: String,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<MerchantRow> for MerchantRecord {
    type Error = StoreError;

    fn try_from(row: MerchantRow) -> Result<Self, Self::Error> {
        Ok(MerchantRecord {
            id: row.id.parse().map_err(|e| corrupt("merchants", e))?,
            name: row.name,
            nit: row.nit,
            status: row.status.parse().map_err(|e| corrupt("merchants", e))?,
            created_at: Micros(row.created_at).to_timestamp(),
            updated_at: Micros(row.updated_at).to_timestamp(),
        })
    }
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct ApiKeyRow {
    id: String,
    merchant_id: String,
    livemode: bool,
    display_prefix: String,
    created_at: i64,
    revoked_at: Option<i64>,
    last_used_at: Option<i64>,
}

impl TryFrom<ApiKeyRow> for ApiKeyRecord {
    type Error = StoreError;

    fn try_from(row: ApiKeyRow) -> Result<Self, Self::Error> {
        Ok(ApiKeyRecord {
            id: row.id.parse().map_err(|e| corrupt("api_keys", e))?,
            merchant_id: row
                .merchant_id
                .parse()
                .map_err(|e| corrupt("api_keys", e))?,
            livemode: row.livemode,
            display_prefix: row.display_prefix,
            created_at: Micros(row.created_at).to_timestamp(),
            revoked_at: row.revoked_at.map(|t| Micros(t).to_timestamp()),
            last_used_at: row.last_used_at.map(|t| Micros(t).to_timestamp()),
        })
    }
}

fn corrupt(table: &'static str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        table,
        detail: error.to_string(),
    }
}

const SELECT_MERCHANT: &str = "SELECT id, name, nit, status, created_at, updated_at FROM merchants";
const SELECT_KEY: &str = "SELECT id, merchant_id, livemode, display_prefix, created_at, revoked_at, \
                          last_used_at FROM api_keys";

/// Inserts a new merchant.
pub async fn insert_merchant(conn: &mut Conn<'_>, m: &MerchantRecord) -> Result<(), StoreError> {
    execute!(
        conn,
        "INSERT INTO merchants (id, name, nit, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        m.id.to_string(),
        &m.name,
        &m.nit,
        m.status.as_str(),
        Micros::from(m.created_at).0,
        Micros::from(m.updated_at).0,
    )?;
    Ok(())
}

/// The merchant with this id.
pub async fn get_merchant(
    conn: &mut Conn<'_>,
    id: MerchantId,
) -> Result<Option<MerchantRecord>, StoreError> {
    let sql = AssertSqlSafe(format!("{SELECT_MERCHANT} WHERE id = $1"));
    let row = fetch!(optional, conn, MerchantRow, sql, id.to_string())?;
    row.map(MerchantRecord::try_from).transpose()
}

/// Merchants in id (creation) order, at most `limit` (operators' listing).
pub async fn list_merchants(
    conn: &mut Conn<'_>,
    limit: i64,
) -> Result<Vec<MerchantRecord>, StoreError> {
    let sql = AssertSqlSafe(format!("{SELECT_MERCHANT} ORDER BY id LIMIT $1"));
    let rows = fetch!(all, conn, MerchantRow, sql, limit)?;
    rows.into_iter().map(MerchantRecord::try_from).collect()
}

/// Moves a merchant to `status`; `None` when there is no such merchant. Servers' cached
/// copies are invalidated with the change ([`crate::cache_version`]).
pub async fn set_merchant_status(
    conn: &mut Conn<'_>,
    id: MerchantId,
    status: MerchantStatus,
    now: Timestamp,
) -> Result<Option<MerchantRecord>, StoreError> {
    let changed = execute!(
        conn,
        "UPDATE merchants SET status = $1, updated_at = $2 WHERE id = $3",
        status.as_str(),
        Micros::from(now).0,
        id.to_string(),
    )?;
    if changed == 0 {
        return Ok(None);
    }
    crate::cache_version::bump(conn).await?;
    get_merchant(conn, id).await
}

/// Inserts a new key with the keyed hash of its secret.
pub async fn insert_api_key(
    conn: &mut Conn<'_>,
    key: &ApiKeyRecord,
    secret_hash: &str,
) -> Result<(), StoreError> {
    execute!(
        conn,
        "INSERT INTO api_keys (id, merchant_id, livemode, secret_hash, display_prefix, \
         created_at, revoked_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        key.id.to_string(),
        key.merchant_id.to_string(),
        key.livemode,
        secret_hash,
        &key.display_prefix,
        Micros::from(key.created_at).0,
        key.revoked_at.map(|t| Micros::from(t).0),
        key.last_used_at.map(|t| Micros::from(t).0),
    )?;
    Ok(())
}

/// The key whose secret hashes to `secret_hash`, with its merchant's status, revoked or not.
pub async fn find_api_key_by_hash(
    conn: &mut Conn<'_>,
    secret_hash: &str,
) -> Result<Option<(ApiKeyRecord, MerchantStatus)>, StoreError> {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Row {
        #[sqlx(flatten)]
        #[serde(flatten)]
        key: ApiKeyRow,
        merchant_status: String,
    }
    let row = fetch!(
        optional,
        conn,
        Row,
        "SELECT k.id, k.merchant_id, k.livemode, k.display_prefix, k.created_at, k.revoked_at, \
         k.last_used_at, m.status AS merchant_status \
         FROM api_keys k JOIN merchants m ON m.id = k.merchant_id WHERE k.secret_hash = $1",
        secret_hash,
    )?;
    row.map(|r| {
        let status = r
            .merchant_status
            .parse()
            .map_err(|e| corrupt("merchants", e))?;
        Ok((ApiKeyRecord::try_from(r.key)?, status))
    })
    .transpose()
}

/// The key with this id, whoever owns it (operators' commands).
pub async fn get_api_key(
    conn: &mut Conn<'_>,
    id: ApiKeyId,
) -> Result<Option<ApiKeyRecord>, StoreError> {
    let sql = AssertSqlSafe(format!("{SELECT_KEY} WHERE id = $1"));
    let row = fetch!(optional, conn, ApiKeyRow, sql, id.to_string())?;
    row.map(ApiKeyRecord::try_from).transpose()
}

/// The keys of one merchant in one mode, newest first.
pub async fn list_api_keys(
    conn: &mut Conn<'_>,
    merchant_id: MerchantId,
    livemode: bool,
) -> Result<Vec<ApiKeyRecord>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "{SELECT_KEY} WHERE merchant_id = $1 AND livemode = $2 ORDER BY id DESC"
    ));
    let rows = fetch!(all, conn, ApiKeyRow, sql, merchant_id.to_string(), livemode)?;
    rows.into_iter().map(ApiKeyRecord::try_from).collect()
}

/// Revokes a key. Revoking a revoked key keeps its first revocation time. `None` when there
/// is no such key. Servers' cached copies are invalidated with the change
/// ([`crate::cache_version`]): the key fails on the very next request.
pub async fn revoke_api_key(
    conn: &mut Conn<'_>,
    id: ApiKeyId,
    now: Timestamp,
) -> Result<Option<ApiKeyRecord>, StoreError> {
    let changed = execute!(
        conn,
        "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        Micros::from(now).0,
        id.to_string(),
    )?;
    if changed > 0 {
        crate::cache_version::bump(conn).await?;
    }
    get_api_key(conn, id).await
}

/// Records that a key authenticated a request at `now`, unless it was already recorded
/// less than `resolution_us` earlier (so that a busy key does not write on every request).
pub async fn touch_api_key(
    conn: &mut Conn<'_>,
    id: ApiKeyId,
    now: Timestamp,
    resolution_us: i64,
) -> Result<(), StoreError> {
    let now = Micros::from(now).0;
    execute!(
        conn,
        "UPDATE api_keys SET last_used_at = $1 \
         WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)",
        now,
        id.to_string(),
        now.saturating_sub(resolution_us),
    )?;
    Ok(())
}

/// The instance setting `name`; when missing, stores `default` and returns it. Two instances
/// racing here both end up with the first value stored.
pub async fn instance_setting_or_insert(
    conn: &mut Conn<'_>,
    name: &str,
    default: &str,
    now: Timestamp,
) -> Result<String, StoreError> {
    execute!(
        conn,
        "INSERT INTO instance_settings (name, value, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO NOTHING",
        name,
        default,
        Micros::from(now).0,
    )?;
    let (value,) = fetch!(
        one,
        conn,
        (String,),
        "SELECT value FROM instance_settings WHERE name = $1",
        name,
    )?;
    Ok(value)
}
