//! `/v1/payins`.

use axum::Json;
use axum::extract::{Path, State};
use cajero_domain::id::{Payin, PayinId};
use cajero_domain::lifecycle::PayinStatus;
use cajero_store::payins::{self, Filter, PayinRecord};
use serde::Deserialize;
use serde_json::Value;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{self, Query};
use crate::idempotency::{self, Answer, IdempotencyKey};
use crate::list::{List, ListParams};
use crate::payins::{self as service, CreatePayin};

/// `POST /v1/payins`.
#[utoipa::path(
    post,
    path = "/payins",
    operation_id = "create_payin",
    tag = "Pay-ins",
    summary = "Create a pay-in (cash voucher)",
    params(
        ("Idempotency-Key" = String, Header, pattern = "^[!-~]([ -~]{0,253}[!-~])?$", description = "Required: 1–255 printable ASCII characters; a retry with the same key and body replays the first answer."),
    ),
    request_body = crate::payins::CreatePayin,
    responses(
        (status = 201, description = "Created.", body = crate::payins::PayinView),
        (status = 202, description = "Held for review by the risk checks: `status` is `on_hold`, no voucher yet (`voucher` null) until an operator releases it (`payin.created`) or refuses it (`payin.canceled`).", body = crate::payins::PayinView),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero or the network failed; retry with the same `Idempotency-Key`.", body = crate::error::Body),
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    extract::Json(body): extract::Json<Value>,
) -> Result<Answer, ApiError> {
    let fingerprint = idempotency::fingerprint("POST", "/v1/payins", &body);
    let request = extract::from_value::<CreatePayin>(body)?.parse()?;
    service::create(&state, caller, key, fingerprint, request).await
}

/// Loads one of the caller's pay-ins or answers 404.
pub async fn load(state: &AppState, caller: Caller, id: &str) -> Result<PayinRecord, ApiError> {
    let missing = || ApiError::not_found(format!("No such payin: {}", crate::error::quoted(id)));
    let id: PayinId = id.parse().map_err(|_| missing())?;
    let (merchant, mode) = (caller.merchant_id, caller.mode);
    state
        .store
        .read(move |mut c| Box::pin(async move { payins::get(&mut c, merchant, mode, id).await }))
        .await?
        .ok_or_else(missing)
}

/// `GET /v1/payins/{id}`.
#[utoipa::path(
    get,
    path = "/payins/{id}",
    operation_id = "retrieve_payin",
    tag = "Pay-ins",
    summary = "Retrieve a pay-in",
    params(
        ("id" = String, Path, description = "The pay-in's id."),
    ),
    responses(
        (status = 200, description = "OK.", body = crate::payins::PayinView),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero or the network failed; retry with the same `Idempotency-Key`.", body = crate::error::Body),
    ),
)]
pub async fn retrieve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    // A pay-in held for review has no voucher yet, hence no row in `payins`.
    if let Ok(pid) = id.parse::<PayinId>()
        && let Some(held) = service::held(&state, caller, pid).await?
    {
        return Ok(Json(held));
    }
    let payin = load(&state, caller, &id).await?;
    Ok(Json(service::payin_json(
        &payin,
        &state.config.public_url(),
    )))
}

/// `GET /v1/payins` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(flatten)]
    list: ListParams,
    status: Option<String>,
    #[serde(rename = "created[gte]")]
    created_gte: Option<String>,
    #[serde(rename = "created[lte]")]
    created_lte: Option<String>,
}

/// An instant given as Unix seconds or RFC 3339.
pub fn instant(
    value: Option<String>,
    param: &'static str,
) -> Result<Option<jiff::Timestamp>, ApiError> {
    let Some(text) = value else { return Ok(None) };
    let parsed = match text.parse::<i64>() {
        Ok(seconds) => jiff::Timestamp::from_second(seconds).ok(),
        Err(_) => text.parse::<jiff::Timestamp>().ok(),
    };
    parsed.map(Some).ok_or_else(|| {
        ApiError::invalid(
            "parameter_invalid",
            format!("{param} is Unix seconds or RFC 3339"),
        )
        .with_param(param)
    })
}

/// `GET /v1/payins`.
#[utoipa::path(
    get,
    path = "/payins",
    operation_id = "list_payins",
    tag = "Pay-ins",
    summary = "List pay-ins",
    params(
        crate::list::ListParams,
        ("status" = Option<String>, Query, description = "`pending`, `paid`, `expired` or `canceled`."),
        ("created[gte]" = Option<String>, Query, description = "Created at or after: Unix seconds or RFC 3339."),
        ("created[lte]" = Option<String>, Query, description = "Created at or before: Unix seconds or RFC 3339."),
    ),
    responses(
        (status = 200, description = "OK.", body = crate::list::List<crate::payins::PayinView>),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero or the network failed; retry with the same `Idempotency-Key`.", body = crate::error::Body),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> Result<Json<List<Value>>, ApiError> {
    let page = query.list.page::<Payin>()?;
    let status = query
        .status
        .map(|s| {
            s.parse::<PayinStatus>().map_err(|e| {
                ApiError::invalid("parameter_invalid", e.to_string()).with_param("status")
            })
        })
        .transpose()?;
    let filter = Filter {
        status,
        created_gte: instant(query.created_gte, "created[gte]")?,
        created_lte: instant(query.created_lte, "created[lte]")?,
    };
    let (merchant, mode) = (caller.merchant_id, caller.mode);
    let records = state
        .store
        .read(move |mut c| {
            Box::pin(async move { payins::list(&mut c, merchant, mode, &filter, &page).await })
        })
        .await?;
    let public_url = state.config.public_url();
    Ok(Json(List::from_page("/v1/payins", records, |p| {
        service::payin_json(&p, &public_url)
    })))
}

/// `POST /v1/payins/{id}/cancel`: cancels the voucher at the network first, so it can no
/// longer be paid, then here.
#[utoipa::path(
    post,
    path = "/payins/{id}/cancel",
    operation_id = "cancel_payin",
    tag = "Pay-ins",
    summary = "Cancel a pending pay-in",
    params(
        ("id" = String, Path, description = "The pay-in's id."),
        ("Idempotency-Key" = String, Header, pattern = "^[!-~]([ -~]{0,253}[!-~])?$", description = "Required: 1–255 printable ASCII characters; a retry with the same key and body replays the first answer."),
    ),
    responses(
        (status = 200, description = "OK.", body = crate::payins::PayinView),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero or the network failed; retry with the same `Idempotency-Key`.", body = crate::error::Body),
    ),
)]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Path(id): Path<String>,
) -> Result<Answer, ApiError> {
    let payin = load(&state, caller, &id).await?;
    service::cancel(&state, caller, key, payin).await
}

/// `POST /v1/payins/{id}/refunds`.
#[utoipa::path(
    post,
    path = "/payins/{id}/refunds",
    operation_id = "create_refund",
    tag = "Refunds",
    summary = "Refund a paid pay-in",
    params(
        ("id" = String, Path, description = "The pay-in's id."),
        ("Idempotency-Key" = String, Header, pattern = "^[!-~]([ -~]{0,253}[!-~])?$", description = "Required: 1–255 printable ASCII characters; a retry with the same key and body replays the first answer."),
    ),
    request_body = crate::refunds::CreateRefund,
    responses(
        (status = 201, description = "Created.", body = crate::refunds::RefundView),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero or the network failed; retry with the same `Idempotency-Key`.", body = crate::error::Body),
    ),
)]
pub async fn refund(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Path(id): Path<String>,
    extract::Json(body): extract::Json<Value>,
) -> Result<Answer, ApiError> {
    let payin = load(&state, caller, &id).await?;
    crate::refunds::create(&state, caller, key, payin, body).await
}
