//! `/v1/webhook_endpoints`: create, list, retrieve, update, delete, rotate the secret, and
//! recover the failed deliveries of a time range.
//!
//! These requests move no money, so `Idempotency-Key` is optional here; when sent, the
//! request is served exactly once per key like any other.

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use cajero_domain::id::{WebhookEndpoint, WebhookEndpointId};
use cajero_store::webhooks;
use cajero_store::{Conn, Work};
use serde_json::Value;

use crate::AppState;
use crate::auth::Caller;
use crate::clock::new_id;
use crate::error::ApiError;
use crate::extract::{self, Query};
use crate::idempotency::{self, IdempotencyKey, Outcome};
use crate::list::{List, ListParams};
use crate::webhook::endpoints::{self, CreateEndpointParams, EndpointParams, RecoverParams};
use crate::webhook::{WebhookError, endpoint_json};

/// An `Idempotency-Key` that may be absent.
#[derive(Debug)]
pub struct OptionalIdempotencyKey(pub Option<IdempotencyKey>);

impl FromRequestParts<AppState> for OptionalIdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if !parts.headers.contains_key(idempotency::HEADER) {
            return Ok(OptionalIdempotencyKey(None));
        }
        IdempotencyKey::from_request_parts(parts, state)
            .await
            .map(|k| OptionalIdempotencyKey(Some(k)))
    }
}

/// Runs `work` in one unit of work, exactly once per key when a key was sent.
pub async fn write_once<F>(
    state: &AppState,
    caller: Caller,
    key: OptionalIdempotencyKey,
    fingerprint: String,
    work: F,
) -> Result<Response, ApiError>
where
    F: for<'c> FnOnce(&'c mut Conn<'_>) -> Work<'c, Outcome, ApiError> + Send + 'static,
{
    match key.0 {
        Some(key) => Ok(
            idempotency::run_in_one_transaction(state, caller, key, fingerprint, work)
                .await?
                .into_response(),
        ),
        None => {
            let outcome = state
                .store
                .write(move |mut conn| Box::pin(async move { work(&mut conn).await }))
                .await?;
            Ok((outcome.status, Json(outcome.body)).into_response())
        }
    }
}

fn parse_id(raw: &str) -> Result<WebhookEndpointId, ApiError> {
    raw.parse()
        .map_err(|_| WebhookError::EndpointMissing(raw.to_string()).into())
}

fn ok(body: Value) -> Outcome {
    Outcome {
        status: StatusCode::OK,
        body,
    }
}

/// `POST /v1/webhook_endpoints`.
#[utoipa::path(
    post,
    path = "/webhook_endpoints",
    operation_id = "create_webhook_endpoint",
    tag = "Webhooks",
    summary = "Create a webhook endpoint",
    params(
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]([ -~]{0,253}[!-~])?$", description = "Optional: 1–255 printable ASCII characters; a retry with the same key and body replays the first answer."),
    ),
    request_body = crate::webhook::endpoints::CreateEndpointParams,
    responses(
        (status = 201, description = "Created.", body = crate::webhook::EndpointView),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero or the network failed; retry with the same `Idempotency-Key`.", body = crate::error::Body),
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    key: OptionalIdempotencyKey,
    extract::Json(body): extract::Json<Value>,
) -> Result<Response, ApiError> {
    let fingerprint = idempotency::fingerprint("POST", "/v1/webhook_endpoints", &body);
    let params: EndpointParams = extract::from_value::<CreateEndpointParams>(body)?.into();
    let livemode = caller.mode.is_live();
    if let Some(url) = &params.url {
        let allow_loopback = state.config.webhooks.allow_loopback_in_test_mode;
        endpoints::check_url(url, livemode, allow_loopback).await?;
    }
    let id: WebhookEndpointId = new_id(state.clock.as_ref());
    let now = state.clock.now();
    let secrets = state.secrets.clone();
    write_once(&state, caller, key, fingerprint, move |conn| {
        Box::pin(async move {
            let body = endpoints::create(
                conn,
                &secrets,
                caller.merchant_id,
                livemode,
                id,
                params,
                now,
            )
            .await?;
            Ok(Outcome {
                status: StatusCode::CREATED,
                body,
            })
        })
    })
    .await
}

/// `POST /v1/webhook_endpoints/{id}`: change the URL, events, description, metadata, or
/// `disabled`.
#[utoipa::path(
    post,
    path = "/webhook_endpoints/{id}",
    operation_id = "update_webhook_endpoint",
    tag = "Webhooks",
    summary = "Update a webhook endpoint",
    params(
        ("id" = String, Path, description = "The webhook endpoint's id."),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]([ -~]{0,253}[!-~])?$", description = "Optional: 1–255 printable ASCII characters; a retry with the same key and body replays the first answer."),
    ),
    request_body = crate::webhook::endpoints::EndpointParams,
    responses(
        (status = 200, description = "OK.", body = crate::webhook::EndpointView),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero or the network failed; retry with the same `Idempotency-Key`.", body = crate::error::Body),
    ),
)]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    key: OptionalIdempotencyKey,
    Path(raw_id): Path<String>,
    extract::Json(body): extract::Json<Value>,
) -> Result<Response, ApiError> {
    let path = format!("/v1/webhook_endpoints/{raw_id}");
    let fingerprint = idempotency::fingerprint("POST", &path, &body);
    let id = parse_id(&raw_id)?;
    let params: EndpointParams = extract::from_value(body)?;
    let livemode = caller.mode.is_live();
    if let Some(url) = &params.url {
        let allow_loopback = state.config.webhooks.allow_loopback_in_test_mode;
        endpoints::check_url(url, livemode, allow_loopback).await?;
    }
    let now = state.clock.now();
    write_once(&state, caller, key, fingerprint, move |conn| {
        Box::pin(async move {
            Ok(ok(endpoints::update(
                conn,
                caller.merchant_id,
                livemode,
                id,
                params,
                now,
            )
            .await?))
        })
    })
    .await
}

/// `POST /v1/webhook_endpoints/{id}/rotate_secret`.
#[utoipa::path(
    post,
    path = "/webhook_endpoints/{id}/rotate_secret",
    operation_id = "rotate_webhook_endpoint_secret",
    tag = "Webhooks",
    summary = "Rotate an endpoint's signing secret",
    params(
        ("id" = String, Path, description = "The webhook endpoint's id."),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]([ -~]{0,253}[!-~])?$", description = "Optional: 1–255 printable ASCII characters; a retry with the same key and body replays the first answer."),
    ),
    responses(
        (status = 200, description = "OK.", body = crate::webhook::EndpointView),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero or the network failed; retry with the same `Idempotency-Key`.", body = crate::error::Body),
    ),
)]
pub async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller,
    key: OptionalIdempotencyKey,
    Path(raw_id): Path<String>,
) -> Result<Response, ApiError> {
    let path = format!("/v1/webhook_endpoints/{raw_id}/rotate_secret");
    let fingerprint = idempotency::fingerprint("POST", &path, &Value::Null);
    let id = parse_id(&raw_id)?;
    let now = state.clock.now();
    let livemode = caller.mode.is_live();
    let secrets = state.secrets.clone();
    write_once(&state, caller, key, fingerprint, move |conn| {
        Box::pin(async move {
            Ok(ok(endpoints::rotate_secret(
                conn,
                &secrets,
                caller.merchant_id,
                livemode,
                id,
                now,
            )
            .await?))
        })
    })
    .await
}

/// `POST /v1/webhook_endpoints/{id}/recover` `{"since": …, "until": …}`.
#[utoipa::path(
    post,
    path = "/webhook_endpoints/{id}/recover",
    operation_id = "recover_webhook_endpoint",
    tag = "Webhooks",
    summary = "Redeliver an endpoint's failed events",
    params(
        ("id" = String, Path, description = "The webhook endpoint's id."),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]([ -~]{0,253}[!-~])?$", description = "Optional: 1–255 printable ASCII characters; a retry with the same key and body replays the first answer."),
    ),
    request_body = crate::webhook::endpoints::RecoverParams,
    responses(
        (status = 200, description = "OK.", body = crate::webhook::endpoints::Recovery),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero or the network failed; retry with the same `Idempotency-Key`.", body = crate::error::Body),
    ),
)]
pub async fn recover(
    State(state): State<AppState>,
    caller: Caller,
    key: OptionalIdempotencyKey,
    Path(raw_id): Path<String>,
    extract::Json(body): extract::Json<Value>,
) -> Result<Response, ApiError> {
    let path = format!("/v1/webhook_endpoints/{raw_id}/recover");
    let fingerprint = idempotency::fingerprint("POST", &path, &body);
    let id = parse_id(&raw_id)?;
    let params: RecoverParams = extract::from_value(body)?;
    let now = state.clock.now();
    let livemode = caller.mode.is_live();
    write_once(&state, caller, key, fingerprint, move |conn| {
        Box::pin(async move {
            Ok(ok(endpoints::recover(
                conn,
                caller.merchant_id,
                livemode,
                id,
                params,
                now,
            )
            .await?))
        })
    })
    .await
}

/// `DELETE /v1/webhook_endpoints/{id}`.
#[utoipa::path(
    delete,
    path = "/webhook_endpoints/{id}",
    operation_id = "delete_webhook_endpoint",
    tag = "Webhooks",
    summary = "Delete a webhook endpoint",
    params(
        ("id" = String, Path, description = "The webhook endpoint's id."),
    ),
    responses(
        (status = 200, description = "OK.", body = crate::webhook::endpoints::Deleted),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero or the network failed; retry with the same `Idempotency-Key`.", body = crate::error::Body),
    ),
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&raw_id)?;
    let now = state.clock.now();
    let (merchant, livemode) = (caller.merchant_id, caller.mode.is_live());
    let body = state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                endpoints::delete(&mut c, merchant, livemode, id, now)
                    .await
                    .map_err(ApiError::from)
            })
        })
        .await?;
    Ok(Json(body))
}

/// `GET /v1/webhook_endpoints/{id}` (without the secret).
#[utoipa::path(
    get,
    path = "/webhook_endpoints/{id}",
    operation_id = "retrieve_webhook_endpoint",
    tag = "Webhooks",
    summary = "Retrieve a webhook endpoint",
    params(
        ("id" = String, Path, description = "The webhook endpoint's id."),
    ),
    responses(
        (status = 200, description = "OK.", body = crate::webhook::EndpointView),
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
    let record = state
        .store
        .read(move |mut c| {
            Box::pin(async move { webhooks::get_endpoint(&mut c, merchant, livemode, id).await })
        })
        .await?
        .ok_or_else(|| ApiError::from(WebhookError::EndpointMissing(raw_id)))?;
    Ok(Json(endpoint_json(&record, None)))
}

/// `GET /v1/webhook_endpoints`, newest first.
#[utoipa::path(
    get,
    path = "/webhook_endpoints",
    operation_id = "list_webhook_endpoints",
    tag = "Webhooks",
    summary = "List webhook endpoints",
    params(
        crate::list::ListParams,
    ),
    responses(
        (status = 200, description = "OK.", body = crate::list::List<crate::webhook::EndpointView>),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero or the network failed; retry with the same `Idempotency-Key`.", body = crate::error::Body),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<ListParams>,
) -> Result<Json<List<Value>>, ApiError> {
    let page = params.page::<WebhookEndpoint>()?;
    let (merchant, livemode) = (caller.merchant_id, caller.mode.is_live());
    let records = state
        .store
        .read(move |mut c| {
            Box::pin(
                async move { webhooks::list_endpoints(&mut c, merchant, livemode, &page).await },
            )
        })
        .await?;
    Ok(Json(List::from_page(
        "/v1/webhook_endpoints",
        records,
        |e| endpoint_json(&e, None),
    )))
}
