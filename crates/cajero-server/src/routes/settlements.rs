//! `GET /v1/settlements`, `GET /v1/settlements/{id}` (JSON with lines), and the statement as
//! CSV: `GET /v1/settlements/{id}.csv` or `GET /v1/settlements/{id}?format=csv`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use cajero_domain::id::{Settlement, SettlementId};
use cajero_store::settlements;
use serde::Deserialize;
use serde_json::Value;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Query;
use crate::list::{List, ListParams};
use crate::settlement::view;

/// `GET /v1/settlements/{id}` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrieveQuery {
    /// `json` (default) or `csv`.
    format: Option<String>,
}

/// One of the caller's settlements with its lines, as JSON or as a CSV statement.
#[utoipa::path(
    get,
    path = "/settlements/{id}",
    operation_id = "retrieve_settlement",
    tag = "Settlements",
    summary = "Retrieve a settlement with its lines (JSON or CSV)",
    params(
        ("id" = String, Path, description = "The settlement's id (`set_…`), or `set_….csv` for its CSV statement."),
        ("format" = Option<String>, Query, description = "`json` (default) or `csv`."),
    ),
    responses(
        (status = 200, description = "The settlement as JSON, or its statement as CSV (RFC 4180).", content(
            (crate::settlement::view::SettlementView = "application/json"),
            (String = "text/csv"),
        )),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero or the network failed; retry with the same `Idempotency-Key`.", body = crate::error::Body),
    ),
)]
pub async fn retrieve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<RetrieveQuery>,
) -> Result<Response, ApiError> {
    let (raw, suffix_csv) = match id.strip_suffix(".csv") {
        Some(raw) => (raw.to_string(), true),
        None => (id.clone(), false),
    };
    let csv = match query.format.as_deref() {
        None | Some("json") => suffix_csv,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::invalid(
                "parameter_invalid",
                format!(
                    "format must be json or csv, not {}",
                    crate::error::quoted(other)
                ),
            )
            .with_param("format"));
        }
    };
    let missing = || {
        ApiError::not_found(format!(
            "No such settlement: {}",
            crate::error::quoted(&raw)
        ))
    };
    let id: SettlementId = raw.parse().map_err(|_| missing())?;
    let (merchant, mode) = (caller.merchant_id, caller.mode);
    let found = state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                let Some(s) = settlements::get(&mut c, merchant, mode, id).await? else {
                    return Ok(None);
                };
                let lines = settlements::lines(&mut c, &s).await?;
                Ok::<_, cajero_store::StoreError>(Some((s, lines)))
            })
        })
        .await?;
    let (s, lines) = found.ok_or_else(missing)?;
    if csv {
        let disposition = format!("attachment; filename=\"{}.csv\"", s.id);
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            view::settlement_csv(&s, &lines),
        )
            .into_response());
    }
    Ok(Json(view::settlement_json(&s, Some(&lines))).into_response())
}

/// The caller's settlements, newest first (without lines; see `line_count`).
#[utoipa::path(
    get,
    path = "/settlements",
    operation_id = "list_settlements",
    tag = "Settlements",
    summary = "List settlements",
    params(
        crate::list::ListParams,
    ),
    responses(
        (status = 200, description = "OK.", body = crate::list::List<crate::settlement::view::SettlementView>),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero or the network failed; retry with the same `Idempotency-Key`.", body = crate::error::Body),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<ListParams>,
) -> Result<Json<List<Value>>, ApiError> {
    let page = params.page::<Settlement>()?;
    let (merchant, mode) = (caller.merchant_id, caller.mode);
    let records = state
        .store
        .read(move |mut c| {
            Box::pin(async move { settlements::list(&mut c, merchant, mode, &page).await })
        })
        .await?;
    Ok(Json(List::from_page("/v1/settlements", records, |s| {
        view::settlement_json(&s, None)
    })))
}
