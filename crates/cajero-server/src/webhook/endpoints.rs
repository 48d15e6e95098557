//! The endpoints API's service functions: requests parsed into checked values, then one
//! function per action over a unit of work's [`Conn`].

use std::collections::BTreeMap;

use cajero_domain::id::{EventId, MerchantId, WebhookEndpointId};
use cajero_domain::webhook::EventPattern;
use cajero_store::secret_box::SecretBox;
use cajero_store::webhooks::{
    self, DisabledReason, EndpointRecord, EndpointStatus, SIGNING_SECRET_CONTEXT, SealedSecret,
    SigningSecret,
};
use cajero_store::{Conn, webhook_deliveries};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::url_policy::UrlPolicy;
use super::{WebhookError, endpoint_json, signing};

/// Endpoints a merchant may have in one mode.
pub const ENDPOINTS_PER_MODE_MAX: i64 = 16;
/// Entries in `enabled_events` at most.
pub const ENABLED_EVENTS_MAX: usize = 32;
/// Longest description, in characters.
pub const DESCRIPTION_CHARS_MAX: usize = 500;
/// Metadata limits (API.md): keys, key length, value length (characters).
pub const METADATA_KEYS_MAX: usize = 50;
/// Longest metadata key, in characters.
pub const METADATA_KEY_CHARS_MAX: usize = 40;
/// Longest metadata value, in characters.
pub const METADATA_VALUE_CHARS_MAX: usize = 500;
/// How long the previous secret keeps signing after a rotation (API.md: 24 h).
pub const SECRET_OVERLAP_S: i64 = 24 * 3_600;
/// The widest time range one recovery covers.
pub const RECOVER_RANGE_DAYS_MAX: i64 = 31;

/// The answer to `DELETE /v1/webhook_endpoints/{id}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = DeletedWebhookEndpoint)]
pub struct Deleted {
    /// `we_…`.
    id: String,
    /// `webhook_endpoint`.
    object: &'static str,
    /// Always true.
    deleted: bool,
}

/// The answer to `POST /v1/webhook_endpoints/{id}/recover`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = WebhookRecovery)]
pub struct Recovery {
    /// `webhook_recovery`.
    object: &'static str,
    /// `we_…`.
    webhook_endpoint: String,
    #[schema(schema_with = crate::openapi::timestamp)]
    since: String,
    #[schema(schema_with = crate::openapi::timestamp)]
    until: String,
    /// Failed or skipped deliveries queued for a new round of attempts.
    deliveries_queued: u64,
}

/// The answer to `POST /v1/events/{id}/resend`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = EventResend)]
pub struct Resend {
    /// `event_resend`.
    object: &'static str,
    /// `evt_…`.
    event: String,
    /// Deliveries queued.
    deliveries_queued: u64,
}

/// `POST /v1/webhook_endpoints` and `POST /v1/webhook_endpoints/{id}` bodies (every field
/// optional on update).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = WebhookEndpointParams)]
pub struct EndpointParams {
    /// Where to POST events.
    pub url: Option<String>,
    /// Event types, `family.*` or `*`.
    #[schema(schema_with = crate::openapi::enabled_events_or_null)]
    pub enabled_events: Option<Vec<String>>,
    /// A note.
    pub description: Option<String>,
    /// Key-value pairs.
    #[schema(schema_with = crate::openapi::metadata)]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Update only: `true` disables, `false` re-enables.
    pub disabled: Option<bool>,
}

/// `POST /v1/webhook_endpoints` body: the same fields as an update, with `url` and
/// `enabled_events` required and no `disabled` (a new endpoint is enabled).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = WebhookEndpointCreateParams)]
pub struct CreateEndpointParams {
    /// Where to POST events: https (http only to loopback in test mode, when the instance
    /// allows it), a public address.
    pub url: String,
    /// Event types, `family.*` or `*`.
    #[schema(schema_with = crate::openapi::enabled_events)]
    pub enabled_events: Vec<String>,
    /// A note.
    pub description: Option<String>,
    /// Key-value pairs.
    #[schema(schema_with = crate::openapi::metadata)]
    pub metadata: Option<BTreeMap<String, String>>,
}

impl From<CreateEndpointParams> for EndpointParams {
    fn from(p: CreateEndpointParams) -> Self {
        EndpointParams {
            url: Some(p.url),
            enabled_events: Some(p.enabled_events),
            description: p.description,
            metadata: p.metadata,
            disabled: None,
        }
    }
}

/// `POST /v1/webhook_endpoints/{id}/recover` body: events created in `[since, until)`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = WebhookRecoverParams)]
pub struct RecoverParams {
    /// RFC 3339 or Unix seconds.
    pub since: TimeParam,
    /// RFC 3339 or Unix seconds; now when absent.
    pub until: Option<TimeParam>,
}

/// `POST /v1/events/{id}/resend` body (optional).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = EventResendParams)]
pub struct ResendParams {
    /// Resend to this endpoint only (it gets the event even if it never had it).
    pub webhook_endpoint: Option<String>,
}

/// An instant given as RFC 3339 text or Unix seconds.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum TimeParam {
    /// Unix seconds.
    Seconds(i64),
    /// `2026-11-25T19:00:00Z`.
    Text(String),
}

impl TimeParam {
    /// The instant, or an error naming `param`.
    pub fn parse(&self, param: &'static str) -> Result<Timestamp, WebhookError> {
        let parsed = match self {
            TimeParam::Seconds(s) => Timestamp::from_second(*s).ok(),
            TimeParam::Text(t) => t.parse().ok(),
        };
        parsed.ok_or(WebhookError::Field {
            param,
            message: format!("{param} must be an RFC 3339 time or Unix seconds"),
        })
    }
}

fn field(param: &'static str, message: String) -> WebhookError {
    WebhookError::Field { param, message }
}

/// Parses `enabled_events`: known types and wildcards, deduplicated, 1 to the maximum.
pub fn parse_enabled_events(raw: &[String]) -> Result<Vec<EventPattern>, WebhookError> {
    if raw.is_empty() || raw.len() > ENABLED_EVENTS_MAX {
        return Err(WebhookError::EnabledEvents(format!(
            "enabled_events must list 1 to {ENABLED_EVENTS_MAX} event types or wildcards"
        )));
    }
    let mut patterns = Vec::with_capacity(raw.len());
    for entry in raw {
        let pattern: EventPattern =
            entry
                .parse()
                .map_err(|e: cajero_domain::webhook::ParseEventPatternError| {
                    WebhookError::EnabledEvents(e.to_string())
                })?;
        if !patterns.contains(&pattern) {
            patterns.push(pattern);
        }
    }
    Ok(patterns)
}

fn check_description(d: &Option<String>) -> Result<(), WebhookError> {
    match d {
        Some(d) if d.chars().count() > DESCRIPTION_CHARS_MAX || d.chars().any(char::is_control) => {
            Err(field(
                "description",
                format!(
                    "description is at most {DESCRIPTION_CHARS_MAX} characters, without control characters"
                ),
            ))
        }
        _ => Ok(()),
    }
}

/// Checks metadata against API.md's limits.
pub fn check_metadata(m: &BTreeMap<String, String>) -> Result<(), WebhookError> {
    if m.len() > METADATA_KEYS_MAX {
        return Err(field(
            "metadata",
            format!("metadata has at most {METADATA_KEYS_MAX} keys"),
        ));
    }
    for (k, v) in m {
        if k.is_empty() || k.chars().count() > METADATA_KEY_CHARS_MAX {
            return Err(field(
                "metadata",
                format!("metadata keys are 1 to {METADATA_KEY_CHARS_MAX} characters"),
            ));
        }
        if v.chars().count() > METADATA_VALUE_CHARS_MAX {
            return Err(field(
                "metadata",
                format!("metadata values are at most {METADATA_VALUE_CHARS_MAX} characters"),
            ));
        }
    }
    Ok(())
}

/// A signing secret sealed for storage under the instance key.
pub fn seal(secrets: &SecretBox, secret: &SigningSecret) -> SealedSecret {
    SealedSecret(secrets.seal_str(SIGNING_SECRET_CONTEXT, &secret.0))
}

/// Creates an endpoint with a new secret (stored sealed under the instance key) and answers
/// it with the secret, shown this once. The URL must have been checked (and resolved) by the
/// caller, outside the unit of work.
pub async fn create(
    conn: &mut Conn<'_>,
    secrets: &SecretBox,
    merchant_id: MerchantId,
    livemode: bool,
    id: WebhookEndpointId,
    params: EndpointParams,
    now: Timestamp,
) -> Result<Value, WebhookError> {
    let url = params
        .url
        .ok_or_else(|| field("url", "url is required".into()))?;
    let enabled_events = parse_enabled_events(
        params
            .enabled_events
            .as_deref()
            .ok_or_else(|| WebhookError::EnabledEvents("enabled_events is required".into()))?,
    )?;
    check_description(&params.description)?;
    let metadata = params.metadata.unwrap_or_default();
    check_metadata(&metadata)?;
    if params.disabled.is_some() {
        return Err(field(
            "disabled",
            "disabled can only be set on update".into(),
        ));
    }
    if webhooks::count_endpoints(conn, merchant_id, livemode).await? >= ENDPOINTS_PER_MODE_MAX {
        return Err(WebhookError::TooManyEndpoints(ENDPOINTS_PER_MODE_MAX));
    }
    let secret = signing::generate_secret();
    let record = EndpointRecord {
        id,
        merchant_id,
        livemode,
        url,
        description: params.description,
        enabled_events,
        metadata,
        status: EndpointStatus::Enabled,
        disabled_reason: None,
        secret: seal(secrets, &secret),
        previous_secret: None,
        previous_secret_expires_at: None,
        failing_since: None,
        created_at: now,
        updated_at: now,
    };
    webhooks::insert_endpoint(conn, &record).await?;
    Ok(endpoint_json(&record, Some(&secret)))
}

async fn load(
    conn: &mut Conn<'_>,
    merchant_id: MerchantId,
    livemode: bool,
    id: WebhookEndpointId,
) -> Result<EndpointRecord, WebhookError> {
    webhooks::get_endpoint(conn, merchant_id, livemode, id)
        .await?
        .ok_or_else(|| WebhookError::EndpointMissing(id.to_string()))
}

/// Changes the given fields; `disabled: false` re-enables (and forgets past failures).
pub async fn update(
    conn: &mut Conn<'_>,
    merchant_id: MerchantId,
    livemode: bool,
    id: WebhookEndpointId,
    params: EndpointParams,
    now: Timestamp,
) -> Result<Value, WebhookError> {
    let mut record = load(conn, merchant_id, livemode, id).await?;
    if let Some(url) = params.url {
        record.url = url;
    }
    if let Some(events) = &params.enabled_events {
        record.enabled_events = parse_enabled_events(events)?;
    }
    if params.description.is_some() {
        check_description(&params.description)?;
        record.description = params.description;
    }
    if let Some(metadata) = params.metadata {
        check_metadata(&metadata)?;
        record.metadata = metadata;
    }
    match params.disabled {
        Some(true) if record.status == EndpointStatus::Enabled => {
            record.status = EndpointStatus::Disabled;
            record.disabled_reason = Some(DisabledReason::Requested);
        }
        Some(false) => {
            record.status = EndpointStatus::Enabled;
            record.disabled_reason = None;
            record.failing_since = None;
        }
        _ => {}
    }
    record.updated_at = now;
    webhooks::update_endpoint(conn, &record).await?;
    Ok(endpoint_json(&record, None))
}

/// Replaces the secret; the previous one keeps signing beside it for [`SECRET_OVERLAP_S`].
/// Answers the endpoint with the new secret, shown this once.
pub async fn rotate_secret(
    conn: &mut Conn<'_>,
    secrets: &SecretBox,
    merchant_id: MerchantId,
    livemode: bool,
    id: WebhookEndpointId,
    now: Timestamp,
) -> Result<Value, WebhookError> {
    let mut record = load(conn, merchant_id, livemode, id).await?;
    let secret = signing::generate_secret();
    record.previous_secret = Some(std::mem::replace(
        &mut record.secret,
        seal(secrets, &secret),
    ));
    record.previous_secret_expires_at = now
        .checked_add(SignedDuration::from_secs(SECRET_OVERLAP_S))
        .ok();
    record.updated_at = now;
    webhooks::update_endpoint(conn, &record).await?;
    Ok(endpoint_json(&record, Some(&secret)))
}

/// Deletes an endpoint; its pending deliveries are canceled.
pub async fn delete(
    conn: &mut Conn<'_>,
    merchant_id: MerchantId,
    livemode: bool,
    id: WebhookEndpointId,
    now: Timestamp,
) -> Result<Value, WebhookError> {
    if !webhooks::delete_endpoint(conn, merchant_id, livemode, id, now).await? {
        return Err(WebhookError::EndpointMissing(id.to_string()));
    }
    Ok(crate::openapi::to_json(&Deleted {
        id: id.to_string(),
        object: "webhook_endpoint",
        deleted: true,
    }))
}

/// Queues every failed or skipped delivery to the endpoint of the events created in
/// `[since, until)` for a new round of attempts.
pub async fn recover(
    conn: &mut Conn<'_>,
    merchant_id: MerchantId,
    livemode: bool,
    id: WebhookEndpointId,
    params: RecoverParams,
    now: Timestamp,
) -> Result<Value, WebhookError> {
    let since = params.since.parse("since")?;
    let until = match &params.until {
        Some(until) => until.parse("until")?,
        None => now,
    };
    if until <= since || until.duration_since(since).as_secs() > RECOVER_RANGE_DAYS_MAX * 86_400 {
        return Err(field(
            "until",
            format!("until must be after since, by at most {RECOVER_RANGE_DAYS_MAX} days"),
        ));
    }
    let record = load(conn, merchant_id, livemode, id).await?;
    if record.status != EndpointStatus::Enabled {
        return Err(WebhookError::EndpointDisabled);
    }
    let queued =
        webhook_deliveries::recover(conn, merchant_id, livemode, id, since, until, now).await?;
    Ok(crate::openapi::to_json(&Recovery {
        object: "webhook_recovery",
        webhook_endpoint: id.to_string(),
        since: crate::time::rfc3339(since),
        until: crate::time::rfc3339(until),
        deliveries_queued: queued,
    }))
}

/// Queues the event again for its endpoints (or one endpoint).
pub async fn resend(
    conn: &mut Conn<'_>,
    merchant_id: MerchantId,
    livemode: bool,
    event_id: EventId,
    params: ResendParams,
    now: Timestamp,
) -> Result<Value, WebhookError> {
    if cajero_store::events::get_event(conn, merchant_id, livemode, event_id)
        .await?
        .is_none()
    {
        return Err(WebhookError::EventMissing(event_id.to_string()));
    }
    let endpoint = match &params.webhook_endpoint {
        Some(raw) => {
            let id: WebhookEndpointId = raw
                .parse()
                .map_err(|_| WebhookError::EndpointMissing(raw.clone()))?;
            let record = load(conn, merchant_id, livemode, id).await?;
            if record.status != EndpointStatus::Enabled {
                return Err(WebhookError::EndpointDisabled);
            }
            Some(id)
        }
        None => None,
    };
    let queued =
        webhook_deliveries::resend(conn, merchant_id, livemode, event_id, endpoint, now).await?;
    Ok(crate::openapi::to_json(&Resend {
        object: "event_resend",
        event: event_id.to_string(),
        deliveries_queued: queued,
    }))
}

/// Checks a URL for an endpoint of this mode, resolving its name now (outside any unit of
/// work: this does network I/O).
pub async fn check_url(
    raw: &str,
    livemode: bool,
    allow_loopback_in_test_mode: bool,
) -> Result<(), WebhookError> {
    UrlPolicy::for_mode(livemode, allow_loopback_in_test_mode)
        .check_resolved(raw)
        .await?;
    Ok(())
}
