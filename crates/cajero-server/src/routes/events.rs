//! `/v1/events`: list (with `type` and `created` filters), retrieve with the delivery log, and
//! resend.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use cajero_domain::id::{Event, EventId};
use cajero_domain::webhook::EventPattern;
use cajero_store::events::{self, EventFilter};
use cajero_store::webhook_deliveries;
use serde::Deserialize;
use serde_json::Value;

use super::webhook_endpoints::{OptionalIdempotencyKey, write_once};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{self, Query};
use crate::idempotency::{self, Outcome};
use crate::list::{List, ListParams};
use crate::webhook::endpoints::{self, ResendParams, TimeParam};
use crate::webhook::{WebhookError, event_detail_json, event_json};

/// `GET /v1/events` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    #[serde(flatten)]
    page: ListParams,
    /// An event type or wildcard (`payout.*`); several separated by commas.
    #[serde(rename = "type")]
    event_type: Option<String>,
    #[serde(rename = "created[gte]")]
    created_gte: Option<String>,
    #[serde(rename = "created[lt]")]
    created_lt: Option<String>,
}

fn time_param(
    raw: &Option<String>,
    param: &'static str,
) -> Result<Option<jiff::Timestamp>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    let value = match raw.parse::<i64>() {
        Ok(seconds) => TimeParam::Seconds(seconds),
        Err(_) => TimeParam::Text(raw.clone()),
    };
    Ok(Some(value.parse(param)?))
}

/// The caller's events, newest first.
#[utoipa::path(
    get,
    path = "/events",
    operation_id = "list_events",
    tag = "Webhooks",
    summary = "List events",
    params(
        crate::list::ListParams,
        ("type" = Option<String>, Query, description = "An event type or wildcard (`payout.*`); several separated by commas."),
        ("created[gte]" = Option<String>, Query, description = "Created at or after: Unix seconds or RFC 3339."),
        ("created[lt]" = Option<String>, Query, description = "Created before: Unix seconds or RFC 3339."),
    ),
    responses(
        (status = 200, description = "OK.", body = crate::list::List<crate::webhook::EventView>),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero or the network failed; retry with the same `Idempotency-Key`.", body = crate::error::Body),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<EventQuery>,
) -> Result<Json<List<Value>>, ApiError> {
    let page = query.page.page::<Event>()?;
    let mut filter = EventFilter {
        created_gte: time_param(&query.created_gte, "created[gte]")?,
        created_lt: time_param(&query.created_lt, "created[lt]")?,
        ..EventFilter::default()
    };
    if let Some(types) = &query.event_type {
        for t in types.split(',').map(str::trim) {
            let pattern: EventPattern =
                t.parse()
                    .map_err(|e: cajero_domain::webhook::ParseEventPatternError| {
                        ApiError::invalid("parameter_invalid", e.to_string()).with_param("type")
                    })?;
            filter.types.push(pattern);
        }
    }
    let (merchant, livemode) = (caller.merchant_id, caller.mode.is_live());
    let records = state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                events::list_events(&mut c, merchant, livemode, &filter, &page).await
            })
        })
        .await?;
    Ok(Json(List::from_page("/v1/events", records, |e| {
        event_json(&e)
    })))
}

fn parse_id(raw: &str) -> Result<EventId, ApiError> {
    raw.parse()
        .map_err(|_| WebhookError::EventMissing(raw.to_string()).into())
}

/// One event with its deliveries and their attempts.
#[utoipa::path(
    get,
    path = "/events/{id}",
    operation_id = "retrieve_event",
    tag = "Webhooks",
    summary = "Retrieve an event with its deliveries",
    params(
        ("id" = String, Path, description = "The event's id."),
    ),
    responses(
        (status = 200, description = "OK.", body = crate::webhook::EventView),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero or the network failed; retry with the same `Idempotency-Key`.", body = crate::error::Body),
    ),
)]
pub async fn retrieve(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&raw_id)?;
    let (merchant, livemode) = (caller.merchant_id, caller.mode.is_live());
    let found = state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                let Some(event) = events::get_event(&mut c, merchant, livemode, id).await? else {
                    return Ok(None);
                };
                let (deliveries, attempts) =
                    webhook_deliveries::deliveries_of_event(&mut c, merchant, livemode, id).await?;
                Ok::<_, cajero_store::StoreError>(Some(event_detail_json(
                    &event,
                    &deliveries,
                    &attempts,
                )))
            })
        })
        .await?;
    found
        .map(Json)
        .ok_or_else(|| WebhookError::EventMissing(raw_id).into())
}

/// `POST /v1/events/{id}/resend` (optional body `{"webhook_endpoint": "we_…"}`).
#[utoipa::path(
    post,
    path = "/events/{id}/resend",
    operation_id = "resend_event",
    tag = "Webhooks",
    summary = "Resend an event",
    params(
        ("id" = String, Path, description = "The event's id."),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]([ -~]{0,253}[!-~])?$", description = "Optional: 1–255 printable ASCII characters; a retry with the same key and body replays the first answer."),
    ),
    request_body = Option<crate::webhook::endpoints::ResendParams>,
    responses(
        (status = 200, description = "OK.", body = crate::webhook::endpoints::Resend),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero or the network failed; retry with the same `Idempotency-Key`.", body = crate::error::Body),
    ),
)]
pub async fn resend(
    State(state): State<AppState>,
    caller: Caller,
    key: OptionalIdempotencyKey,
    Path(raw_id): Path<String>,
    extract::OptionalJson(body): extract::OptionalJson,
) -> Result<Response, ApiError> {
    let path = format!("/v1/events/{raw_id}/resend");
    let fingerprint = idempotency::fingerprint("POST", &path, &body);
    let id = parse_id(&raw_id)?;
    let params: ResendParams = extract::from_value(body)?;
    let now = state.clock.now();
    let livemode = caller.mode.is_live();
    write_once(&state, caller, key, fingerprint, move |conn| {
        Box::pin(async move {
            let body =
                endpoints::resend(conn, caller.merchant_id, livemode, id, params, now).await?;
            Ok(Outcome {
                status: StatusCode::OK,
                body,
            })
        })
    })
    .await
}

/// `POST /v1/test_helpers/events` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestEventParams {
    /// The event type to send.
    #[serde(rename = "type")]
    #[schema(schema_with = crate::openapi::event_type)]
    event_type: cajero_domain::webhook::EventType,
    /// The `data.object` to send; `{"object": "test"}` when absent.
    #[schema(value_type = Option<Object>)]
    object: Option<serde_json::Map<String, Value>>,
}

/// `POST /v1/test_helpers/events` (test keys only): records an event of any type with the
/// given object and delivers it to the subscribed endpoints, so that a merchant can check a
/// receiver before real pay-ins and payouts flow.
#[utoipa::path(
    post,
    path = "/test_helpers/events",
    operation_id = "create_test_event",
    tag = "Test helpers",
    summary = "Send a test event",
    request_body = TestEventParams,
    responses(
        (status = 201, description = "Created.", body = crate::webhook::EventView),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero or the network failed; retry with the same `Idempotency-Key`.", body = crate::error::Body),
    ),
)]
pub async fn create_test_event(
    State(state): State<AppState>,
    caller: Caller,
    extract::Json(params): extract::Json<TestEventParams>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if caller.mode.is_live() {
        return Err(ApiError::forbidden(
            "test_mode_only",
            "Test helpers work with test keys only.",
        ));
    }
    let object = Value::Object(params.object.unwrap_or_else(|| {
        let mut object = serde_json::Map::new();
        object.insert("object".into(), Value::String("test".into()));
        object
    }));
    let id: EventId = crate::clock::new_id(state.clock.as_ref());
    let now = state.clock.now();
    let merchant = caller.merchant_id;
    let event = state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                events::emit(&mut c, merchant, false, params.event_type, &object, id, now).await
            })
        })
        .await?;
    Ok((StatusCode::CREATED, Json(event_json(&event))))
}
