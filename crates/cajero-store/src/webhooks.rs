//! Webhook endpoints: where a merchant receives events, with the secrets that sign them.
//!
//! Every function is scoped to a merchant and a mode, and takes the [`Conn`] of a unit of
//! work. Deleting is soft (`deleted_at`), so the delivery log keeps its endpoint.

use std::collections::BTreeMap;
use std::fmt;

use cajero_domain::id::{MerchantId, WebhookEndpointId};
use cajero_domain::webhook::EventPattern;
use jiff::Timestamp;
use sqlx::AssertSqlSafe;

use crate::events::corrupt;
use crate::page::{Page, PageRequest};
use crate::sqlite::Query;
use crate::{Conn, Micros, StoreError, execute, fetch};

/// A signing secret (`whsec_…`) in clear: only in memory, while it is shown once or signs.
/// `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(pub String);

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret([redacted])")
    }
}

/// What signing secrets are sealed as (the associated data of [`crate::secret_box`]).
pub const SIGNING_SECRET_CONTEXT: &str = "webhook_signing_secret";

/// A signing secret as stored: sealed under the instance key (`enc:v1:…`, see
/// [`crate::secret_box`]); rows written before secrets were sealed hold the plaintext until
/// the server's start (or `cajero secrets rotate`) seals them. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret(pub String);

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealedSecret([redacted])")
    }
}

/// Whether an endpoint receives events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointStatus {
    /// Receives events.
    Enabled,
    /// Receives nothing; its events are recorded as skipped.
    Disabled,
}

impl EndpointStatus {
    /// The stored code.
    pub const fn as_str(self) -> &'static str {
        match self {
            EndpointStatus::Enabled => "enabled",
            EndpointStatus::Disabled => "disabled",
        }
    }
}

/// Why an endpoint was disabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisabledReason {
    /// The receiver answered `410 Gone`.
    Gone,
    /// Five days of only failed attempts.
    Failing,
    /// The merchant disabled it.
    Requested,
}

impl DisabledReason {
    /// The stored and shown code.
    pub const fn as_str(self) -> &'static str {
        match self {
            DisabledReason::Gone => "gone",
            DisabledReason::Failing => "failing",
            DisabledReason::Requested => "requested",
        }
    }

    fn parse(s: &str) -> Result<DisabledReason, StoreError> {
        match s {
            "gone" => Ok(DisabledReason::Gone),
            "failing" => Ok(DisabledReason::Failing),
            "requested" => Ok(DisabledReason::Requested),
            other => Err(corrupt("webhook_endpoints", format!("reason {other}"))),
        }
    }
}

/// An endpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointRecord {
    /// `we_…`
    pub id: WebhookEndpointId,
    /// Its merchant.
    pub merchant_id: MerchantId,
    /// Live or test.
    pub livemode: bool,
    /// Where events are POSTed.
    pub url: String,
    /// The merchant's note.
    pub description: Option<String>,
    /// Which events it receives.
    pub enabled_events: Vec<EventPattern>,
    /// The merchant's key-value pairs.
    pub metadata: BTreeMap<String, String>,
    /// Enabled or disabled.
    pub status: EndpointStatus,
    /// Why it is disabled, when it is.
    pub disabled_reason: Option<DisabledReason>,
    /// The current signing secret, sealed.
    pub secret: SealedSecret,
    /// The secret before the last rotation (sealed), still signing until
    /// `previous_secret_expires_at`.
    pub previous_secret: Option<SealedSecret>,
    /// When the previous secret stops signing.
    pub previous_secret_expires_at: Option<Timestamp>,
    /// The first failure since the last success.
    pub failing_since: Option<Timestamp>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl EndpointRecord {
    /// The secrets that sign a delivery at `now`: the current one, and the previous one while
    /// its overlap lasts.
    pub fn signing_secrets(&self, now: Timestamp) -> Vec<SealedSecret> {
        let mut secrets = vec![self.secret.clone()];
        if let (Some(previous), Some(until)) =
            (&self.previous_secret, self.previous_secret_expires_at)
            && now < until
        {
            secrets.push(previous.clone());
        }
        secrets
    }
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct EndpointRow {
    id: String,
    merchant_id: String,
    livemode: bool,
    url: String,
    description: Option<String>,
    enabled_events: String,
    metadata: String,
    status: String,
    disabled_reason: Option<String>,
    secret: String,
    previous_secret: Option<String>,
    previous_secret_expires_at: Option<i64>,
    failing_since: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<EndpointRow> for EndpointRecord {
    type Error = StoreError;

    fn try_from(row: EndpointRow) -> Result<Self, Self::Error> {
        let bad = |e: &dyn fmt::Display| corrupt("webhook_endpoints", e);
        Ok(EndpointRecord {
            id: row.id.parse().map_err(|e| bad(&e))?,
            merchant_id: row.merchant_id.parse().map_err(|e| bad(&e))?,
            livemode: row.livemode,
            url: row.url,
            description: row.description,
            enabled_events: serde_json::from_str(&row.enabled_events).map_err(|e| bad(&e))?,
            metadata: serde_json::from_str(&row.metadata).map_err(|e| bad(&e))?,
            status: match row.status.as_str() {
                "enabled" => EndpointStatus::Enabled,
                "disabled" => EndpointStatus::Disabled,
                other => return Err(bad(&format!("status {other}"))),
            },
            disabled_reason: row
                .disabled_reason
                .as_deref()
                .map(DisabledReason::parse)
                .transpose()?,
            secret: SealedSecret(row.secret),
            previous_secret: row.previous_secret.map(SealedSecret),
            previous_secret_expires_at: row.previous_secret_expires_at.map(to_ts),
            failing_since: row.failing_since.map(to_ts),
            created_at: to_ts(row.created_at),
            updated_at: to_ts(row.updated_at),
        })
    }
}

fn to_ts(us: i64) -> Timestamp {
    Micros(us).to_timestamp()
}

fn us(t: Timestamp) -> i64 {
    Micros::from(t).0
}

const SELECT_ENDPOINT: &str = "SELECT id, merchant_id, livemode, url, description, \
    enabled_events, metadata, status, disabled_reason, secret, previous_secret, \
    previous_secret_expires_at, failing_since, created_at, updated_at FROM webhook_endpoints";

fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| corrupt("webhook_endpoints", e))
}

/// Inserts a new endpoint.
pub async fn insert_endpoint(conn: &mut Conn<'_>, e: &EndpointRecord) -> Result<(), StoreError> {
    execute!(
        conn,
        "INSERT INTO webhook_endpoints (id, merchant_id, livemode, url, description, \
         enabled_events, metadata, status, disabled_reason, secret, previous_secret, \
         previous_secret_expires_at, failing_since, deleted_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, NULL, $14, $15)",
        e.id.to_string(),
        e.merchant_id.to_string(),
        e.livemode,
        &e.url,
        &e.description,
        json(&e.enabled_events)?,
        json(&e.metadata)?,
        e.status.as_str(),
        e.disabled_reason.map(DisabledReason::as_str),
        &e.secret.0,
        e.previous_secret.as_ref().map(|s| s.0.clone()),
        e.previous_secret_expires_at.map(us),
        e.failing_since.map(us),
        us(e.created_at),
        us(e.updated_at),
    )?;
    Ok(())
}

/// The merchant's endpoint with this id in that mode (deleted ones are gone).
pub async fn get_endpoint(
    conn: &mut Conn<'_>,
    merchant_id: MerchantId,
    livemode: bool,
    id: WebhookEndpointId,
) -> Result<Option<EndpointRecord>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "{SELECT_ENDPOINT} WHERE id = $1 AND merchant_id = $2 AND livemode = $3 \
         AND deleted_at IS NULL"
    ));
    let row = fetch!(
        optional,
        conn,
        EndpointRow,
        sql,
        id.to_string(),
        merchant_id.to_string(),
        livemode
    )?;
    row.map(EndpointRecord::try_from).transpose()
}

/// Endpoints the merchant has in that mode (not deleted).
pub async fn count_endpoints(
    conn: &mut Conn<'_>,
    merchant_id: MerchantId,
    livemode: bool,
) -> Result<i64, StoreError> {
    let (count,) = fetch!(
        one,
        conn,
        (i64,),
        "SELECT COUNT(*) FROM webhook_endpoints \
         WHERE merchant_id = $1 AND livemode = $2 AND deleted_at IS NULL",
        merchant_id.to_string(),
        livemode,
    )?;
    Ok(count)
}

/// A page of the merchant's endpoints in one mode, newest first.
pub async fn list_endpoints(
    conn: &mut Conn<'_>,
    merchant_id: MerchantId,
    livemode: bool,
    page: &PageRequest,
) -> Result<Page<EndpointRecord>, StoreError> {
    let (cursor_sql, order, limit) = page.sql(4);
    let sql = format!(
        "{SELECT_ENDPOINT} WHERE merchant_id = $1 AND livemode = $2 AND deleted_at IS NULL \
         AND {cursor_sql} ORDER BY id {order} LIMIT $3"
    );
    let cursor = page.cursor_id().map(str::to_string);
    let mut query = Query::new(sql)
        .bind(merchant_id.to_string())
        .bind(livemode)
        .bind(limit);
    if let Some(cursor) = &cursor {
        query = query.bind(cursor);
    }
    let rows: Vec<EndpointRow> = query.fetch_all(conn).await?;
    let rows = rows
        .into_iter()
        .map(EndpointRecord::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page.finish(rows))
}

/// Writes the merchant-editable fields and the status of `e` (found by id, merchant and
/// mode); `false` when there is no such endpoint.
pub async fn update_endpoint(conn: &mut Conn<'_>, e: &EndpointRecord) -> Result<bool, StoreError> {
    let changed = execute!(
        conn,
        "UPDATE webhook_endpoints SET url = $1, description = $2, enabled_events = $3, \
         metadata = $4, status = $5, disabled_reason = $6, failing_since = $7, \
         secret = $8, previous_secret = $9, previous_secret_expires_at = $10, updated_at = $11 \
         WHERE id = $12 AND merchant_id = $13 AND livemode = $14 AND deleted_at IS NULL",
        &e.url,
        &e.description,
        json(&e.enabled_events)?,
        json(&e.metadata)?,
        e.status.as_str(),
        e.disabled_reason.map(DisabledReason::as_str),
        e.failing_since.map(us),
        &e.secret.0,
        e.previous_secret.as_ref().map(|s| s.0.clone()),
        e.previous_secret_expires_at.map(us),
        us(e.updated_at),
        e.id.to_string(),
        e.merchant_id.to_string(),
        e.livemode,
    )?;
    if changed > 0 && e.status == EndpointStatus::Disabled {
        fail_pending(conn, e.id, "failed", us(e.updated_at)).await?;
    }
    Ok(changed > 0)
}

/// Deletes an endpoint: it receives nothing more and its pending deliveries are canceled.
/// `false` when there is no such endpoint.
pub async fn delete_endpoint(
    conn: &mut Conn<'_>,
    merchant_id: MerchantId,
    livemode: bool,
    id: WebhookEndpointId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let changed = execute!(
        conn,
        "UPDATE webhook_endpoints SET deleted_at = $1, updated_at = $1 \
         WHERE id = $2 AND merchant_id = $3 AND livemode = $4 AND deleted_at IS NULL",
        us(now),
        id.to_string(),
        merchant_id.to_string(),
        livemode,
    )?;
    if changed > 0 {
        fail_pending(conn, id, "canceled", us(now)).await?;
    }
    Ok(changed > 0)
}

/// Disables an endpoint for `reason` and fails its pending deliveries (a recovery can resend
/// them). `None` when it was not enabled (already disabled, deleted, or unknown); otherwise
/// the endpoint as it now is.
pub async fn disable_endpoint(
    conn: &mut Conn<'_>,
    id: WebhookEndpointId,
    reason: DisabledReason,
    now: Timestamp,
) -> Result<Option<EndpointRecord>, StoreError> {
    let changed = execute!(
        conn,
        "UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = $1, updated_at = $2 \
         WHERE id = $3 AND status = 'enabled' AND deleted_at IS NULL",
        reason.as_str(),
        us(now),
        id.to_string(),
    )?;
    if changed == 0 {
        return Ok(None);
    }
    fail_pending(conn, id, "failed", us(now)).await?;
    let sql = AssertSqlSafe(format!("{SELECT_ENDPOINT} WHERE id = $1"));
    let row = fetch!(optional, conn, EndpointRow, sql, id.to_string())?;
    row.map(EndpointRecord::try_from).transpose()
}

/// Ends the pending deliveries of an endpoint with `status`, leases included: a worker that
/// still holds one finds its lease gone and records nothing.
async fn fail_pending(
    conn: &mut Conn<'_>,
    id: WebhookEndpointId,
    status: &'static str,
    now_us: i64,
) -> Result<u64, StoreError> {
    Ok(execute!(
        conn,
        "UPDATE webhook_deliveries SET status = $1, next_attempt_at = NULL, locked_until = NULL, \
         locked_by = NULL, holder = NULL, updated_at = $2 WHERE endpoint_id = $3 AND status = 'pending'",
        status,
        now_us,
        id.to_string(),
    )?)
}

/// An endpoint's health after a batch of attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EndpointHealth {
    /// Since when it has failed without a success in between; `None` when it succeeded.
    pub failing_since: Option<Timestamp>,
    /// Failed deliveries since the last success.
    pub consecutive_failures: i64,
    /// A success ended a run of failures (it was failing before this batch).
    pub recovered: bool,
}

/// Records the outcome of a batch of attempts on the endpoint's health: a success clears
/// `failing_since` and the consecutive failures; failures set `failing_since` when unset and
/// add `failures` to the count.
pub async fn note_attempt(
    conn: &mut Conn<'_>,
    id: WebhookEndpointId,
    succeeded: bool,
    failures: i64,
    now: Timestamp,
) -> Result<EndpointHealth, StoreError> {
    if succeeded {
        let changed = execute!(
            conn,
            "UPDATE webhook_endpoints SET failing_since = NULL, consecutive_failures = 0 \
             WHERE id = $1 AND (failing_since IS NOT NULL OR consecutive_failures > 0)",
            id.to_string(),
        )?;
        return Ok(EndpointHealth {
            recovered: changed == 1,
            ..EndpointHealth::default()
        });
    }
    execute!(
        conn,
        "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $1), \
         consecutive_failures = consecutive_failures + $2 WHERE id = $3",
        us(now),
        failures,
        id.to_string(),
    )?;
    let row = fetch!(
        optional,
        conn,
        (Option<i64>, i64),
        "SELECT failing_since, consecutive_failures FROM webhook_endpoints WHERE id = $1",
        id.to_string(),
    )?;
    Ok(row
        .map(|(since, failures)| EndpointHealth {
            failing_since: since.map(to_ts),
            consecutive_failures: failures,
            recovered: false,
        })
        .unwrap_or_default())
}
