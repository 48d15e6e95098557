//! `/v1/alerts`: a merchant's alerts (its own, and the platform-wide ones that concern it),
//! newest first, and one alert.

use axum::Json;
use axum::extract::{Path, State};
use cajero_domain::id::{Alert, AlertId};
use cajero_store::alerts::{self as store, AlertFilter};
use serde::Deserialize;

use crate::AppState;
use crate::alerts::{AlertView, codes};
use crate::auth::Caller;
use crate::error::{ApiError, quoted};
use crate::extract::Query;
use crate::list::{List, ListParams};

/// `GET /v1/alerts` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsQuery {
    #[serde(flatten)]
    page: ListParams,
    /// `open` or `resolved`.
    status: Option<String>,
    /// One code (`network_down`, `webhook_endpoint_failing`, …).
    code: Option<String>,
}

/// The filters of `GET /v1/alerts`, as documented (read through [`AlertsQuery`]).
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct AlertFilterParams {
    /// `open` or `resolved`.
    #[param(inline, value_type = Option<AlertStatus>)]
    status: Option<String>,
    /// One code (`network_down`, `webhook_endpoint_failing`, …; see docs/alerts.md).
    code: Option<String>,
}

/// An alert's status, as a filter.
#[derive(Debug, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum AlertStatus {
    /// Still a problem.
    Open,
    /// No longer a problem.
    Resolved,
}

/// The caller's alerts, newest first.
#[utoipa::path(
    get,
    path = "/alerts",
    operation_id = "list_alerts",
    tag = "Alerts",
    summary = "List alerts",
    params(crate::list::ListParams, AlertFilterParams),
    responses(
        (status = 200, description = "OK.", body = crate::list::List<AlertView>),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero failed; retry.", body = crate::error::Body),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<AlertsQuery>,
) -> Result<Json<List<AlertView>>, ApiError> {
    let page = query.page.page::<Alert>()?;
    if let Some(status) = query.status.as_deref()
        && !["open", "resolved"].contains(&status)
    {
        return Err(ApiError::invalid(
            "parameter_invalid",
            format!("status must be open or resolved, not {}", quoted(status)),
        )
        .with_param("status"));
    }
    if let Some(code) = query.code.as_deref()
        && !codes::ALL.contains(&code)
    {
        return Err(ApiError::invalid(
            "parameter_invalid",
            format!("{} is not an alert code", quoted(code)),
        )
        .with_param("code"));
    }
    let filter = AlertFilter {
        merchant_id: Some(caller.merchant_id.to_string()),
        livemode: Some(caller.mode.is_live()),
        status: query.status,
        code: query.code,
    };
    let rows = state
        .store
        .read(move |mut c| Box::pin(async move { store::list(&mut c, &filter, &page).await }))
        .await?;
    Ok(Json(List::from_page("/v1/alerts", rows, |r| {
        AlertView::from(&r)
    })))
}

/// One of the caller's alerts.
#[utoipa::path(
    get,
    path = "/alerts/{id}",
    operation_id = "retrieve_alert",
    tag = "Alerts",
    summary = "Retrieve an alert",
    params(
        ("id" = String, Path, description = "The alert's id."),
    ),
    responses(
        (status = 200, description = "OK.", body = AlertView),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero failed; retry.", body = crate::error::Body),
    ),
)]
pub async fn retrieve(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw_id): Path<String>,
) -> Result<Json<AlertView>, ApiError> {
    let missing = || ApiError::not_found(format!("No such alert: {}", quoted(&raw_id)));
    let id: AlertId = raw_id.parse().map_err(|_| missing())?;
    let (merchant, livemode) = (caller.merchant_id.to_string(), caller.mode.is_live());
    let found = state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                store::get_for_merchant(&mut c, &id.to_string(), &merchant, livemode).await
            })
        })
        .await?
        .ok_or_else(missing)?;
    Ok(Json(AlertView::from(&found)))
}
