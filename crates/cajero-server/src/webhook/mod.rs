//! Outgoing webhooks: endpoints, events as the API shows them, signing, URL safety and the
//! HTTP delivery of one attempt. The worker that drives deliveries is
//! [`crate::workers::webhooks`]; the outbox itself is [`cajero_store::events::emit`].

use cajero_domain::webhook::EventType;
use cajero_store::events::EventRecord;
use cajero_store::webhook_deliveries::{AttemptRecord, DeliveryRecord};
use cajero_store::webhooks::{EndpointRecord, EndpointStatus, SigningSecret};
use std::collections::BTreeMap;

use cajero_domain::webhook::EventPattern;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::time::rfc3339;

pub mod bench;
pub mod endpoints;
pub mod send;
pub mod signing;
pub mod url_policy;

/// Why a webhook request was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// No such endpoint for this merchant in this mode.
    #[error("no such webhook endpoint: {}", crate::error::quoted(.0))]
    EndpointMissing(String),
    /// No such event for this merchant in this mode.
    #[error("no such event: {}", crate::error::quoted(.0))]
    EventMissing(String),
    /// The URL is malformed, not allowed, or does not resolve.
    #[error("url: {0}")]
    Url(#[from] url_policy::UrlError),
    /// An entry of `enabled_events` is unknown.
    #[error("{0}")]
    EnabledEvents(String),
    /// A field breaks its limit.
    #[error("{message}")]
    Field {
        /// The field, in dotted form.
        param: &'static str,
        /// What is allowed.
        message: String,
    },
    /// The merchant has as many endpoints as allowed in this mode.
    #[error("at most {0} webhook endpoints per mode")]
    TooManyEndpoints(i64),
    /// The endpoint is disabled: re-enable it before recovering.
    #[error("the webhook endpoint is disabled")]
    EndpointDisabled,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] cajero_store::StoreError),
}

impl From<WebhookError> for ApiError {
    fn from(error: WebhookError) -> Self {
        let message = error.to_string();
        match error {
            WebhookError::EndpointMissing(_) | WebhookError::EventMissing(_) => {
                ApiError::not_found(message)
            }
            WebhookError::Url(url_policy::UrlError::Blocked(_)) => {
                ApiError::invalid("url_not_allowed", message).with_param("url")
            }
            WebhookError::Url(url_policy::UrlError::Unresolvable(_)) => {
                ApiError::invalid("url_unresolvable", message).with_param("url")
            }
            WebhookError::Url(_) => ApiError::invalid("url_invalid", message).with_param("url"),
            WebhookError::EnabledEvents(_) => {
                ApiError::invalid("enabled_events_invalid", message).with_param("enabled_events")
            }
            WebhookError::Field { param, .. } => {
                ApiError::invalid("parameter_invalid", message).with_param(param)
            }
            WebhookError::TooManyEndpoints(_) => {
                ApiError::invalid("webhook_endpoint_limit_reached", message)
            }
            WebhookError::EndpointDisabled => {
                ApiError::invalid("webhook_endpoint_disabled", message)
            }
            WebhookError::Store(e) => ApiError::from(e),
        }
    }
}

/// The `webhook_endpoint` object.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = WebhookEndpoint)]
pub struct EndpointView {
    /// `we_…`.
    id: String,
    /// `webhook_endpoint`.
    object: &'static str,
    /// False for test-mode endpoints.
    livemode: bool,
    /// Where events are POSTed (https; http only to loopback in test mode).
    url: String,
    /// The merchant's note.
    description: Option<String>,
    /// Event types or patterns (`*`, `payin.*`, `payout.paid`).
    #[schema(value_type = Vec<String>)]
    enabled_events: Vec<EventPattern>,
    /// String values only.
    #[schema(value_type = Object)]
    metadata: BTreeMap<String, String>,
    #[schema(schema_with = crate::openapi::endpoint_status)]
    status: &'static str,
    #[schema(schema_with = crate::openapi::disabled_reason)]
    disabled_reason: Option<&'static str>,
    /// The signing secret (`whsec_…`): present only in the answers to creation and rotation.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    #[schema(schema_with = crate::openapi::timestamp)]
    created: String,
    #[schema(schema_with = crate::openapi::timestamp)]
    updated: String,
}

/// The `webhook_endpoint` object; `secret` only when it is being shown once (creation and
/// rotation).
pub fn endpoint_view(e: &EndpointRecord, secret: Option<&SigningSecret>) -> EndpointView {
    EndpointView {
        id: e.id.to_string(),
        object: "webhook_endpoint",
        livemode: e.livemode,
        url: e.url.clone(),
        description: e.description.clone(),
        enabled_events: e.enabled_events.clone(),
        metadata: e.metadata.clone(),
        status: e.status.as_str(),
        disabled_reason: match e.status {
            EndpointStatus::Enabled => None,
            EndpointStatus::Disabled => e.disabled_reason.map(|r| r.as_str()),
        },
        secret: secret.map(|s| s.0.clone()),
        created: rfc3339(e.created_at),
        updated: rfc3339(e.updated_at),
    }
}

/// The `webhook_endpoint` object as JSON.
pub fn endpoint_json(e: &EndpointRecord, secret: Option<&SigningSecret>) -> Value {
    crate::openapi::to_json(&endpoint_view(e, secret))
}

/// The `event` object.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Event)]
pub struct EventView {
    /// `evt_…`.
    id: String,
    /// `event`.
    object: &'static str,
    #[serde(rename = "type")]
    #[schema(schema_with = crate::openapi::event_type)]
    event_type: EventType,
    /// False for test-mode events.
    livemode: bool,
    #[schema(schema_with = crate::openapi::timestamp)]
    created: String,
    #[schema(schema_with = crate::openapi::timestamp)]
    updated: String,
    /// The object as it was when the event happened.
    data: EventData,
    /// Deliveries to each subscribed endpoint: on retrieval only.
    #[serde(skip_serializing_if = "Option::is_none")]
    deliveries: Option<Vec<DeliveryView>>,
}

/// An event's payload.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventData {
    /// A `payin`, `payout`, `refund`, `topup`, `settlement`, … object. Its people (a pay-in's
    /// `customer`, a payout's `beneficiary`) are masked — document and phone numbers by their
    /// last four characters (`••••6543`), names by their initials (`L. P.`), e-mail addresses by
    /// their first character and domain — unless the merchant opted in to full personal data in
    /// events.
    #[schema(value_type = Object)]
    object: Value,
}

/// An event's delivery to one endpoint.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = EventDelivery)]
pub struct DeliveryView {
    /// `we_…`.
    webhook_endpoint: String,
    /// `pending`, `succeeded`, `failed` or `skipped`.
    status: String,
    attempt_count: u32,
    #[schema(schema_with = crate::openapi::timestamp_or_null)]
    next_attempt_at: Option<String>,
    /// The latest attempts, oldest first.
    attempts: Vec<DeliveryAttemptView>,
}

/// One HTTP attempt of a delivery.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = EventDeliveryAttempt)]
pub struct DeliveryAttemptView {
    /// 1 for the first.
    attempt: u32,
    #[schema(schema_with = crate::openapi::timestamp)]
    started: String,
    duration_ms: i64,
    /// The receiver's status; null when no answer came.
    status_code: Option<u16>,
    /// What went wrong (timeout, connection refused, …).
    error: Option<String>,
    /// The start of the receiver's answer.
    response_body: String,
}

/// The `event` object as lists show it.
pub fn event_view(e: &EventRecord) -> EventView {
    let object: Value = serde_json::from_str(&e.data).unwrap_or(Value::Null);
    EventView {
        id: e.id.to_string(),
        object: "event",
        event_type: e.event_type,
        livemode: e.livemode,
        created: rfc3339(e.created_at),
        updated: rfc3339(e.created_at),
        data: EventData { object },
        deliveries: None,
    }
}

/// The `event` object as JSON.
pub fn event_json(e: &EventRecord) -> Value {
    crate::openapi::to_json(&event_view(e))
}

/// The `event` object with its deliveries and their attempts (`GET /v1/events/{id}`).
pub fn event_detail_view(
    e: &EventRecord,
    deliveries: &[DeliveryRecord],
    attempts: &[AttemptRecord],
) -> EventView {
    let mut view = event_view(e);
    let deliveries = deliveries
        .iter()
        .map(|d| DeliveryView {
            webhook_endpoint: d.endpoint_id.to_string(),
            status: d.status.clone(),
            attempt_count: d.attempt_count,
            next_attempt_at: d.next_attempt_at.map(rfc3339),
            attempts: attempts
                .iter()
                .filter(|a| a.endpoint_id == d.endpoint_id)
                .map(|a| DeliveryAttemptView {
                    attempt: a.attempt,
                    started: rfc3339(a.started_at),
                    duration_ms: a.duration_ms,
                    status_code: a.status_code,
                    error: a.error.clone(),
                    response_body: a.response_body.clone(),
                })
                .collect(),
        })
        .collect();
    view.deliveries = Some(deliveries);
    view
}

/// The detailed `event` object as JSON.
pub fn event_detail_json(
    e: &EventRecord,
    deliveries: &[DeliveryRecord],
    attempts: &[AttemptRecord],
) -> Value {
    crate::openapi::to_json(&event_detail_view(e, deliveries, attempts))
}

/// The body POSTed for an event (API.md): `{"id", "type", "timestamp", "livemode",
/// "data": {"object": …}}`. The stored object is inserted as it is, so the body is the same
/// bytes on every attempt.
pub fn delivery_body(e: &EventRecord) -> String {
    let quoted = |s: &str| Value::String(s.to_string()).to_string();
    format!(
        "{{\"id\":{},\"type\":{},\"timestamp\":{},\"livemode\":{},\"data\":{{\"object\":{}}}}}",
        quoted(&e.id.to_string()),
        quoted(e.event_type.as_str()),
        quoted(&rfc3339(e.created_at)),
        e.livemode,
        e.data
    )
}

/// The event announcing that an endpoint was disabled.
pub const ENDPOINT_DISABLED: EventType = EventType::WebhookEndpointDisabled;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use cajero_domain::id::EventId;
    use jiff::Timestamp;

    #[test]
    fn the_delivery_body_is_the_documented_json() {
        let event = EventRecord {
            id: EventId::from_parts(1_764_000_000_000, 7),
            merchant_id: cajero_domain::id::MerchantId::from_parts(1, 1),
            livemode: false,
            event_type: EventType::PayoutPaid,
            data: r#"{"id":"po_1","object":"payout","note":"a \"quoted\" ñ"}"#.into(),
            created_at: Timestamp::from_second(1_764_000_000).unwrap(),
        };
        let body: Value = serde_json::from_str(&delivery_body(&event)).unwrap();
        assert_eq!(body["id"], event.id.to_string());
        assert_eq!(body["type"], "payout.paid");
        assert_eq!(body["timestamp"], "2025-11-24T16:00:00Z");
        assert_eq!(body["livemode"], false);
        assert_eq!(body["data"]["object"]["note"], "a \"quoted\" ñ");
    }
}
