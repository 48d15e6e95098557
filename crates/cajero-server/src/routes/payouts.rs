//! `/v1/payouts`.

use axum::Json;
use axum::extract::{Path, State};
use cajero_domain::id::{Payout, PayoutId};
use cajero_domain::lifecycle::PayoutStatus;
use cajero_store::payouts::{self, PayoutRecord};
use serde::Deserialize;
use serde_json::Value;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{self, Query};
use crate::idempotency::{self, Answer, IdempotencyKey};
use crate::list::{List, ListParams};
use crate::payouts::{self as service, CreatePayout};

/// `POST /v1/payouts`.
#[utoipa::path(
    post,
    path = "/payouts",
    operation_id = "create_payout",
    tag = "Payouts",
    summary = "Create a payout (cash pick-up code)",
    params(
        ("Idempotency-Key" = String, Header, pattern = "^[!-~]([ -~]{0,253}[!-~])?$", description = "Required: 1–255 printable ASCII characters; a retry with the same key and body replays the first answer."),
    ),
    request_body = crate::payouts::CreatePayout,
    responses(
        (status = 201, description = "Created.", body = crate::payouts::PayoutView),
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
    let fingerprint = idempotency::fingerprint("POST", "/v1/payouts", &body);
    let request = extract::from_value::<CreatePayout>(body)?.parse()?;
    service::create(&state, caller, key, fingerprint, request).await
}

/// Loads one of the caller's payouts or answers 404.
pub async fn load(state: &AppState, caller: Caller, id: &str) -> Result<PayoutRecord, ApiError> {
    let missing = || ApiError::not_found(format!("No such payout: {}", crate::error::quoted(id)));
    let id: PayoutId = id.parse().map_err(|_| missing())?;
    let (merchant, mode) = (caller.merchant_id, caller.mode);
    state
        .store
        .read(move |mut c| Box::pin(async move { payouts::get(&mut c, merchant, mode, id).await }))
        .await?
        .ok_or_else(missing)
}

/// The payout's JSON with its attempts.
pub async fn render(state: &AppState, payout: &PayoutRecord) -> Result<Value, ApiError> {
    let id = payout.id;
    let attempts = state
        .store
        .read(move |mut c| Box::pin(async move { payouts::attempts(&mut c, id).await }))
        .await?;
    Ok(service::payout_json(
        payout,
        &attempts,
        &state.config.public_url(),
    ))
}

/// `GET /v1/payouts/{id}`.
#[utoipa::path(
    get,
    path = "/payouts/{id}",
    operation_id = "retrieve_payout",
    tag = "Payouts",
    summary = "Retrieve a payout",
    params(
        ("id" = String, Path, description = "The payout's id."),
    ),
    responses(
        (status = 200, description = "OK.", body = crate::payouts::PayoutView),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero or the network failed; retry with the same `Idempotency-Key`.", body = crate::error::Body),
    ),
)]
pub async fn retrieve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let payout = load(&state, caller, &id).await?;
    Ok(Json(render(&state, &payout).await?))
}

/// `GET /v1/payouts` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(flatten)]
    list: ListParams,
    status: Option<String>,
}

/// `GET /v1/payouts`.
#[utoipa::path(
    get,
    path = "/payouts",
    operation_id = "list_payouts",
    tag = "Payouts",
    summary = "List payouts",
    params(
        crate::list::ListParams,
        ("status" = Option<String>, Query, description = "A payout status (`pending`, `available`, `paid`, …)."),
    ),
    responses(
        (status = 200, description = "OK.", body = crate::list::List<crate::payouts::PayoutView>),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero or the network failed; retry with the same `Idempotency-Key`.", body = crate::error::Body),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> Result<Json<List<Value>>, ApiError> {
    let page = query.list.page::<Payout>()?;
    let status = query
        .status
        .map(|s| {
            s.parse::<PayoutStatus>().map_err(|e| {
                ApiError::invalid("parameter_invalid", e.to_string()).with_param("status")
            })
        })
        .transpose()?;
    let (merchant, mode) = (caller.merchant_id, caller.mode);
    // Each payout with its attempts, as `GET /v1/payouts/{id}` shows it: one object, one shape.
    let records = state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                let page = payouts::list(&mut c, merchant, mode, status, &page).await?;
                let mut data = Vec::with_capacity(page.data.len());
                for payout in page.data {
                    let attempts = payouts::attempts(&mut c, payout.id).await?;
                    data.push((payout, attempts));
                }
                Ok::<_, cajero_store::StoreError>(cajero_store::page::Page {
                    data,
                    has_more: page.has_more,
                })
            })
        })
        .await?;
    let public_url = state.config.public_url();
    Ok(Json(List::from_page(
        "/v1/payouts",
        records,
        |(p, attempts)| service::payout_json(&p, &attempts, &public_url),
    )))
}

/// `POST /v1/payouts/{id}/cancel`: cancels the code at the network first (so it can no longer
/// be collected), then releases the funds.
#[utoipa::path(
    post,
    path = "/payouts/{id}/cancel",
    operation_id = "cancel_payout",
    tag = "Payouts",
    summary = "Cancel a payout not yet collected",
    params(
        ("id" = String, Path, description = "The payout's id."),
        ("Idempotency-Key" = String, Header, pattern = "^[!-~]([ -~]{0,253}[!-~])?$", description = "Required: 1–255 printable ASCII characters; a retry with the same key and body replays the first answer."),
    ),
    responses(
        (status = 200, description = "OK.", body = crate::payouts::PayoutView),
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
    let payout = load(&state, caller, &id).await?;
    service::cancel(&state, caller, key, payout).await
}
