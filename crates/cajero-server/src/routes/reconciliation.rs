//! Reconciliation: a merchant's exceptions and daily report under `/v1/reconciliation`, and the
//! operator's upload of a network's file (`POST /operator/reconciliation/files`, outside the
//! merchant API, behind `reconciliation.operator_token`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use cajero_domain::merchant::Mode;
use cajero_store::exceptions::{self, ExceptionFilter};
use jiff::civil::Date;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, quoted};
use crate::extract::Query;
use crate::reconciliation::view::{ExceptionView, ReportView, report_csv};
use crate::reconciliation::{self, Format, Import, Source};

/// Exceptions per page at most.
pub const EXCEPTIONS_PAGE_MAX: u32 = 100;

/// `GET /v1/reconciliation/exceptions` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExceptionsQuery {
    /// `open` or `resolved` (`honored`, `refunded`: earlier resolutions).
    #[param(inline, value_type = Option<ExceptionStatus>)]
    status: Option<String>,
    /// One kind (`missing_in_network`, `amount_mismatch`, …).
    kind: Option<String>,
    /// 1 to 100 (default 10).
    #[param(value_type = Option<u32>)]
    limit: Option<String>,
    /// An exception id: list the ones recorded before it.
    starting_after: Option<String>,
}

/// The caller's payment exceptions, newest first.
#[utoipa::path(
    get,
    path = "/reconciliation/exceptions",
    operation_id = "list_reconciliation_exceptions",
    tag = "Reconciliation",
    summary = "List reconciliation exceptions",
    params(ExceptionsQuery),
    responses(
        (status = 200, description = "OK.", body = crate::list::List<ExceptionView>),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero failed; retry.", body = crate::error::Body),
    ),
)]
pub async fn list_exceptions(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ExceptionsQuery>,
) -> Result<Response, ApiError> {
    let limit = match query.limit.as_deref() {
        None => 10,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=EXCEPTIONS_PAGE_MAX).contains(n))
            .ok_or_else(|| {
                ApiError::invalid(
                    "parameter_invalid",
                    format!(
                        "limit must be 1 to {EXCEPTIONS_PAGE_MAX}, not {}",
                        quoted(text)
                    ),
                )
                .with_param("limit")
            })?,
    };
    if let Some(status) = query.status.as_deref()
        && !["open", "resolved", "honored", "refunded"].contains(&status)
    {
        return Err(ApiError::invalid(
            "parameter_invalid",
            format!("status must be open or resolved, not {}", quoted(status)),
        )
        .with_param("status"));
    }
    let filter = ExceptionFilter {
        merchant_id: Some(caller.merchant_id.to_string()),
        livemode: Some(caller.mode.is_live()),
        status: query.status,
        kind: query.kind,
        before: query.starting_after,
    };
    let fetch = i64::from(limit) + 1;
    let mut rows = state
        .store
        .read(move |mut c| Box::pin(async move { exceptions::list(&mut c, &filter, fetch).await }))
        .await?;
    let has_more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let data: Vec<ExceptionView> = rows.iter().map(ExceptionView::from).collect();
    Ok(Json(json!({
        "object": "list",
        "data": data,
        "has_more": has_more,
        "url": "/v1/reconciliation/exceptions",
    }))
    .into_response())
}

/// One of the caller's payment exceptions.
#[utoipa::path(
    get,
    path = "/reconciliation/exceptions/{id}",
    operation_id = "retrieve_reconciliation_exception",
    tag = "Reconciliation",
    summary = "Retrieve a reconciliation exception",
    params(("id" = String, Path, description = "The exception's id (`exc_…`).")),
    responses(
        (status = 200, description = "OK.", body = ExceptionView),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero failed; retry.", body = crate::error::Body),
    ),
)]
pub async fn retrieve_exception(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ExceptionView>, ApiError> {
    let missing = || ApiError::not_found(format!("No such exception: {}", quoted(&id)));
    let wanted = id.clone();
    let found = state
        .store
        .read(move |mut c| Box::pin(async move { exceptions::get(&mut c, &wanted).await }))
        .await?
        .filter(|e| {
            e.merchant_id.as_deref() == Some(caller.merchant_id.to_string().as_str())
                && e.livemode == caller.mode.is_live()
        })
        .ok_or_else(missing)?;
    Ok(Json(ExceptionView::from(&found)))
}

/// `GET /v1/reconciliation/reports` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// The Bogotá day (`YYYY-MM-DD`).
    #[param(value_type = String, format = Date)]
    date: String,
    /// `json` (default) or `csv`.
    #[param(inline, value_type = Option<ReportFormat>)]
    format: Option<String>,
}

/// An exception's status, as a filter.
#[derive(Debug, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum ExceptionStatus {
    /// Waiting for someone.
    Open,
    /// Closed with a resolution.
    Resolved,
    /// An earlier resolution of a payment for a closed voucher: honored.
    Honored,
    /// An earlier resolution of a payment for a closed voucher: refunded.
    Refunded,
}

/// How a report is rendered.
#[derive(Debug, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum ReportFormat {
    /// JSON (the default).
    Json,
    /// CSV, one row per order.
    Csv,
}

/// The caller's reconciliation of one day: one row per order the day's files report (or lack),
/// with its amounts, both statuses and the match result.
#[utoipa::path(
    get,
    path = "/reconciliation/reports",
    operation_id = "retrieve_reconciliation_report",
    tag = "Reconciliation",
    summary = "A day's reconciliation report (JSON or CSV)",
    params(ReportQuery),
    responses(
        (status = 200, description = "The report as JSON, or as CSV (RFC 4180) with one row per order.", content(
            (ReportView = "application/json"),
            (String = "text/csv"),
        )),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero failed; retry.", body = crate::error::Body),
    ),
)]
pub async fn report(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Query(query): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let date: Date = query.date.parse().map_err(|_| {
        ApiError::invalid(
            "parameter_invalid",
            format!("date must be YYYY-MM-DD, not {}", quoted(&query.date)),
        )
        .with_param("date")
    })?;
    let wants_csv_header = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/csv"));
    let csv = match query.format.as_deref() {
        None => wants_csv_header,
        Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::invalid(
                "parameter_invalid",
                format!("format must be json or csv, not {}", quoted(other)),
            )
            .with_param("format"));
        }
    };
    let report =
        reconciliation::report(&state.store, caller.merchant_id, caller.mode, date).await?;
    let view = ReportView::from(&report);
    if csv {
        let body = report_csv(&view).map_err(|e| ApiError::internal(format!("report csv: {e}")))?;
        let disposition = format!("attachment; filename=\"reconciliation-{date}.csv\"");
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            body,
        )
            .into_response());
    }
    Ok(Json(view).into_response())
}

/// `POST /operator/reconciliation/files` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// The cash network (`efecty`).
    network: String,
    /// The route; default: the only one reaching the network in that mode.
    route: Option<String>,
    /// The format; default: the route's.
    format: Option<String>,
    /// The day; required when the file does not say.
    date: Option<String>,
    /// `test` or `live` (default `live`).
    mode: Option<String>,
    /// Who uploads, for the record.
    by: Option<String>,
}

/// An operator uploads a network's file: the same import as the daily job's, answered with
/// the verdict (`imported`, `already_imported` or `rejected` with every problem).
pub async fn upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<UploadQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    use subtle::ConstantTimeEq as _;
    let Some(token) = &state.config.reconciliation.operator_token else {
        return Err(ApiError::forbidden(
            "operator_token_invalid",
            "Uploads are off: set `reconciliation.operator_token`, or import with `cajero reconcile import`.",
        ));
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !bool::from(presented.as_bytes().ct_eq(token.expose().as_bytes())) {
        return Err(ApiError::unauthenticated(
            "operator_token_invalid",
            "Send `Authorization: Bearer <reconciliation.operator_token>`.",
        ));
    }
    let mode = match query.mode.as_deref() {
        None | Some("live") => Mode::Live,
        Some("test") => Mode::Test,
        Some(other) => {
            return Err(ApiError::invalid(
                "parameter_invalid",
                format!("mode must be test or live, not {}", quoted(other)),
            )
            .with_param("mode"));
        }
    };
    let request = import_request(&state, mode, &query)?;
    let outcome = reconciliation::import(&state.store, &state.clock, request, body.to_vec())
        .await
        .map_err(|e| match e {
            reconciliation::ImportError::Invalid(message) => {
                ApiError::invalid("parameter_invalid", message)
            }
            reconciliation::ImportError::Store(s) => s.into(),
        })?;
    Ok(Json(crate::reconciliation::view::imported_json(&outcome)).into_response())
}

fn import_request(state: &AppState, mode: Mode, q: &UploadQuery) -> Result<Import, ApiError> {
    let route = match &q.route {
        Some(route) => route.clone(),
        None => {
            let routes: Vec<String> = state
                .networks
                .all()
                .into_iter()
                .filter(|n| n.mode == mode && n.code == q.network)
                .map(|n| n.route)
                .collect();
            match routes.as_slice() {
                [one] => one.clone(),
                [] => {
                    return Err(ApiError::invalid(
                        "parameter_invalid",
                        format!("no route reaches {} in {mode} mode", quoted(&q.network)),
                    )
                    .with_param("network"));
                }
                _ => {
                    return Err(ApiError::invalid(
                        "parameter_invalid",
                        format!(
                            "several routes reach {}: name one ({})",
                            quoted(&q.network),
                            routes.join(", ")
                        ),
                    )
                    .with_param("route"));
                }
            }
        }
    };
    let format = match &q.format {
        None => Format::of_route(&state.config, &route),
        Some(name) => Format::parse(name).ok_or_else(|| {
            ApiError::invalid(
                "parameter_invalid",
                format!(
                    "format must be asobancaria, csv, dlocal, payu or kushki, not {}",
                    quoted(name)
                ),
            )
            .with_param("format")
        })?,
    };
    let date = match &q.date {
        None => None,
        Some(text) => Some(text.parse::<Date>().map_err(|_| {
            ApiError::invalid(
                "parameter_invalid",
                format!("date must be YYYY-MM-DD, not {}", quoted(text)),
            )
            .with_param("date")
        })?),
    };
    Ok(Import {
        mode,
        lenient: state.config.reconciliation.route(&route).lenient,
        route,
        network: q.network.clone(),
        format,
        date,
        source: Source::Upload,
        by: q.by.clone().unwrap_or_else(|| "operator".into()),
    })
}
