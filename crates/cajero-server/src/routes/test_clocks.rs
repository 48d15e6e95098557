//! `/v1/test_helpers/test_clocks` (test keys only): a merchant's own simulated time, as
//! Stripe's test clocks (`crate::test_clocks`).

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::Value;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{self, Query};
use crate::idempotency::{Answer, IdempotencyKey};
use crate::list::{List, ListParams};
use crate::test_clocks::{self as service, AdvanceTestClock, CreateTestClock};

/// `POST /v1/test_helpers/test_clocks`.
#[utoipa::path(
    post,
    path = "/test_helpers/test_clocks",
    operation_id = "create_test_clock",
    tag = "Test helpers",
    summary = "Create a test clock",
    params(
        ("Idempotency-Key" = String, Header, pattern = "^[!-~]([ -~]{0,253}[!-~])?$", description = "Required: 1–255 printable ASCII characters; a retry with the same key and body replays the first answer."),
    ),
    request_body = CreateTestClock,
    responses(
        (status = 200, description = "OK.", body = crate::test_clocks::TestClockView),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero or the network failed; retry.", body = crate::error::Body),
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    extract::Json(body): extract::Json<Value>,
) -> Result<Answer, ApiError> {
    let fingerprint =
        crate::idempotency::fingerprint("POST", "/v1/test_helpers/test_clocks", &body);
    let request: CreateTestClock = extract::from_value(body)?;
    service::create(&state, caller, key, fingerprint, request).await
}

/// `GET /v1/test_helpers/test_clocks/{id}`.
#[utoipa::path(
    get,
    path = "/test_helpers/test_clocks/{id}",
    operation_id = "retrieve_test_clock",
    tag = "Test helpers",
    summary = "Retrieve a test clock",
    params(("id" = String, Path, description = "The test clock's id.")),
    responses(
        (status = 200, description = "OK.", body = crate::test_clocks::TestClockView),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero failed; retry.", body = crate::error::Body),
    ),
)]
pub async fn retrieve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(service::retrieve(&state, caller, &id).await?))
}

/// `GET /v1/test_helpers/test_clocks` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(flatten)]
    list: ListParams,
}

/// `GET /v1/test_helpers/test_clocks`, newest first.
#[utoipa::path(
    get,
    path = "/test_helpers/test_clocks",
    operation_id = "list_test_clocks",
    tag = "Test helpers",
    summary = "List test clocks",
    params(crate::list::ListParams),
    responses(
        (status = 200, description = "OK.", body = crate::list::List<crate::test_clocks::TestClockView>),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero failed; retry.", body = crate::error::Body),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> Result<Json<List<Value>>, ApiError> {
    Ok(Json(service::list(&state, caller, &query.list).await?))
}

/// `POST /v1/test_helpers/test_clocks/{id}/advance`: answers once what expired on the clock is
/// closed.
#[utoipa::path(
    post,
    path = "/test_helpers/test_clocks/{id}/advance",
    operation_id = "advance_test_clock",
    tag = "Test helpers",
    summary = "Advance a test clock",
    params(("id" = String, Path, description = "The test clock's id.")),
    request_body = AdvanceTestClock,
    responses(
        (status = 200, description = "OK.", body = crate::test_clocks::TestClockView),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero or the network failed; retry with the same `frozen_time`.", body = crate::error::Body),
    ),
)]
pub async fn advance(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    extract::Json(body): extract::Json<Value>,
) -> Result<Json<Value>, ApiError> {
    let request: AdvanceTestClock = extract::from_value(body)?;
    Ok(Json(service::advance(&state, caller, &id, request).await?))
}

/// `DELETE /v1/test_helpers/test_clocks/{id}`: refused while open objects live on it.
#[utoipa::path(
    delete,
    path = "/test_helpers/test_clocks/{id}",
    operation_id = "delete_test_clock",
    tag = "Test helpers",
    summary = "Delete a test clock with nothing open on it",
    params(("id" = String, Path, description = "The test clock's id.")),
    responses(
        (status = 200, description = "Deleted.", body = crate::test_clocks::DeletedView),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero failed; retry.", body = crate::error::Body),
    ),
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(service::delete(&state, caller, &id).await?))
}
