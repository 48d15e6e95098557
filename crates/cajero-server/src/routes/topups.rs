//! `POST /v1/topups`, `GET /v1/topups[/{id}]`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cajero_domain::id::{Topup, TopupId};
use cajero_store::topups;
use serde_json::Value;

use crate::AppState;
use crate::auth::Caller;
use crate::clock::new_id;
use crate::error::ApiError;
use crate::extract::{self, Query};
use crate::funds::{self, CreateTopup};
use crate::idempotency::{self, IdempotencyKey, Outcome};
use crate::list::{List, ListParams};

/// Funds the caller's balance: immediately in test mode; pending until the operator confirms
/// the transfer in live mode.
#[utoipa::path(
    post,
    path = "/topups",
    operation_id = "create_topup",
    tag = "Top-ups",
    summary = "Fund the balance",
    params(
        ("Idempotency-Key" = String, Header, pattern = "^[!-~]([ -~]{0,253}[!-~])?$", description = "Required: 1–255 printable ASCII characters; a retry with the same key and body replays the first answer."),
    ),
    request_body = crate::funds::CreateTopup,
    responses(
        (status = 201, description = "Created.", body = crate::funds::TopupView),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero or the network failed; retry with the same `Idempotency-Key`.", body = crate::error::Body),
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    extract::Json(body): extract::Json<Value>,
) -> Result<Response, ApiError> {
    let fingerprint = idempotency::fingerprint("POST", "/v1/topups", &body);
    let request = extract::from_value::<CreateTopup>(body)?.parse()?;
    let id: TopupId = new_id(state.clock.as_ref());
    let now = state.clock.now();
    idempotency::run_in_one_transaction(&state, caller, key, fingerprint, move |conn| {
        Box::pin(async move {
            let body = funds::create_topup(conn, caller.merchant_id, caller.mode, id, request, now)
                .await?;
            Ok(Outcome {
                status: StatusCode::CREATED,
                body,
            })
        })
    })
    .await
    .map(IntoResponse::into_response)
}

/// One of the caller's top-ups.
#[utoipa::path(
    get,
    path = "/topups/{id}",
    operation_id = "retrieve_topup",
    tag = "Top-ups",
    summary = "Retrieve a top-up",
    params(
        ("id" = String, Path, description = "The top-up's id."),
    ),
    responses(
        (status = 200, description = "OK.", body = crate::funds::TopupView),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero or the network failed; retry with the same `Idempotency-Key`.", body = crate::error::Body),
    ),
)]
pub async fn retrieve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let missing = || ApiError::not_found(format!("No such top-up: {}", crate::error::quoted(&id)));
    let id: TopupId = id.parse().map_err(|_| missing())?;
    let (merchant, mode) = (caller.merchant_id, caller.mode);
    let record = state
        .store
        .read(move |mut c| Box::pin(async move { topups::get(&mut c, merchant, mode, id).await }))
        .await?
        .ok_or_else(missing)?;
    Ok(Json(funds::topup_json(&record)))
}

/// The caller's top-ups, newest first.
#[utoipa::path(
    get,
    path = "/topups",
    operation_id = "list_topups",
    tag = "Top-ups",
    summary = "List top-ups",
    params(
        crate::list::ListParams,
    ),
    responses(
        (status = 200, description = "OK.", body = crate::list::List<crate::funds::TopupView>),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero or the network failed; retry with the same `Idempotency-Key`.", body = crate::error::Body),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<ListParams>,
) -> Result<Json<List<Value>>, ApiError> {
    let page = params.page::<Topup>()?;
    let (merchant, mode) = (caller.merchant_id, caller.mode);
    let records = state
        .store
        .read(move |mut c| {
            Box::pin(async move { topups::list(&mut c, merchant, mode, &page).await })
        })
        .await?;
    Ok(Json(List::from_page("/v1/topups", records, |t| {
        funds::topup_json(&t)
    })))
}
