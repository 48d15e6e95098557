//! `/v1/refunds`: every refund of the caller's pay-ins (they are created under the pay-in,
//! `POST /v1/payins/{id}/refunds`).

use axum::Json;
use axum::extract::{Path, State};
use cajero_domain::id::{PayinId, Refund, RefundId};
use cajero_domain::lifecycle::RefundStatus;
use cajero_store::refunds::{self, RefundFilter, RefundRecord};
use serde::Deserialize;
use serde_json::Value;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Query;
use crate::list::{List, ListParams};

/// Loads one of the caller's refunds or answers 404.
pub async fn load(state: &AppState, caller: Caller, id: &str) -> Result<RefundRecord, ApiError> {
    let missing = || ApiError::not_found(format!("No such refund: {id:?}"));
    let id: RefundId = id.parse().map_err(|_| missing())?;
    let (merchant, mode) = (caller.merchant_id, caller.mode);
    state
        .store
        .read(move |mut c| Box::pin(async move { refunds::get(&mut c, merchant, mode, id).await }))
        .await?
        .ok_or_else(missing)
}

/// `GET /v1/refunds/{id}`.
#[utoipa::path(
    get,
    path = "/refunds/{id}",
    operation_id = "retrieve_refund",
    tag = "Refunds",
    summary = "Retrieve a refund",
    params(
        ("id" = String, Path, description = "The refund's id (`re_…`)."),
    ),
    responses(
        (status = 200, description = "OK.", body = crate::refunds::RefundView),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero failed; retry.", body = crate::error::Body),
    ),
)]
pub async fn retrieve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let refund = load(&state, caller, &id).await?;
    Ok(Json(crate::refunds::refund_json(&refund)))
}

/// `GET /v1/refunds` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(flatten)]
    list: ListParams,
    payin: Option<String>,
    status: Option<String>,
}

/// `GET /v1/payins/{id}/refunds` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayinListQuery {
    #[serde(flatten)]
    list: ListParams,
    status: Option<String>,
}

fn status(text: Option<String>) -> Result<Option<RefundStatus>, ApiError> {
    text.filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<RefundStatus>().map_err(|_| {
                ApiError::invalid(
                    "parameter_invalid",
                    format!(
                        "status must be one of pending, succeeded, failed, canceled (not {s:?})"
                    ),
                )
                .with_param("status")
            })
        })
        .transpose()
}

/// A page of the caller's refunds as the list object at `url`.
pub async fn page(
    state: &AppState,
    caller: Caller,
    url: String,
    list: &ListParams,
    filter: RefundFilter,
) -> Result<Json<List<Value>>, ApiError> {
    let page = list.page::<Refund>()?;
    let (merchant, mode) = (caller.merchant_id, caller.mode);
    let records = state
        .store
        .read(move |mut c| {
            Box::pin(async move { refunds::list(&mut c, merchant, mode, filter, &page).await })
        })
        .await?;
    Ok(Json(List::from_page(url, records, |r| {
        crate::refunds::refund_json(&r)
    })))
}

/// `GET /v1/refunds`.
#[utoipa::path(
    get,
    path = "/refunds",
    operation_id = "list_refunds",
    tag = "Refunds",
    summary = "List refunds",
    params(
        crate::list::ListParams,
        ("payin" = Option<String>, Query, description = "Only the refunds of this pay-in (`pi_…`)."),
        ("status" = Option<String>, Query, description = "A refund status: `pending`, `succeeded`, `failed` or `canceled`."),
    ),
    responses(
        (status = 200, description = "OK, newest first.", body = crate::list::List<crate::refunds::RefundView>),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero failed; retry.", body = crate::error::Body),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> Result<Json<List<Value>>, ApiError> {
    let payin = query
        .payin
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<PayinId>().map_err(|e| {
                ApiError::invalid("parameter_invalid", format!("payin: {e}")).with_param("payin")
            })
        })
        .transpose()?;
    let filter = RefundFilter {
        payin,
        status: status(query.status)?,
    };
    page(&state, caller, "/v1/refunds".into(), &query.list, filter).await
}

/// `GET /v1/payins/{id}/refunds`: a pay-in's refunds, newest first.
#[utoipa::path(
    get,
    path = "/payins/{id}/refunds",
    operation_id = "list_payin_refunds",
    tag = "Refunds",
    summary = "List a pay-in's refunds",
    params(
        ("id" = String, Path, description = "The pay-in's id."),
        crate::list::ListParams,
        ("status" = Option<String>, Query, description = "A refund status: `pending`, `succeeded`, `failed` or `canceled`."),
    ),
    responses(
        (status = 200, description = "OK, newest first.", body = crate::list::List<crate::refunds::RefundView>),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero failed; retry.", body = crate::error::Body),
    ),
)]
pub async fn for_payin(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<PayinListQuery>,
) -> Result<Json<List<Value>>, ApiError> {
    let payin = super::payins::load(&state, caller, &id).await?;
    let filter = RefundFilter {
        payin: Some(payin.id),
        status: status(query.status)?,
    };
    let url = format!("/v1/payins/{}/refunds", payin.id);
    page(&state, caller, url, &query.list, filter).await
}
