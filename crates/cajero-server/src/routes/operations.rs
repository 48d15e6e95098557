//! Liveness and readiness for orchestrators and load balancers.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::ApiError;

/// `GET /healthz`: the process is up and serving HTTP. Checks nothing else, so that a slow
/// database never gets a healthy process restarted.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "Operations",
    summary = "Liveness",
    responses((status = 200, description = "The process serves HTTP.", body = Health)),
    security(()),
)]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok",
        database: None,
    })
}

/// A probe's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` (liveness) or `ready` (readiness).
    status: &'static str,
    /// `ok` when the database answered (readiness only).
    #[serde(skip_serializing_if = "Option::is_none")]
    database: Option<&'static str>,
}

/// `GET /readyz`: the database answers; 503 otherwise, so traffic goes elsewhere.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "Operations",
    summary = "Readiness",
    responses(
        (status = 200, description = "The database answers.", body = Health),
        (status = 503, description = "The database does not answer.", body = crate::error::Body),
    ),
    security(()),
)]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state
        .store
        .ping()
        .await
        .map_err(|e| ApiError::unavailable(format!("database ping failed: {e}")))?;
    Ok(Json(Health {
        status: "ready",
        database: Some("ok"),
    }))
}

/// `GET /v1`: what the API offers, with links, so that the base URL a person is given answers
/// something useful. Needs no key.
#[utoipa::path(
    get,
    path = "/v1",
    operation_id = "api_index",
    tag = "Operations",
    summary = "The API's index",
    responses((status = 200, description = "The API's resources and documentation.", body = ApiIndex)),
    security(()),
)]
pub async fn index() -> Json<ApiIndex> {
    const RESOURCES: &[(&str, &str)] = &[
        ("balance", "/v1/balance"),
        ("balance_transactions", "/v1/balance_transactions"),
        ("payins", "/v1/payins"),
        ("payouts", "/v1/payouts"),
        ("refunds", "/v1/refunds"),
        ("topups", "/v1/topups"),
        ("settlements", "/v1/settlements"),
        ("events", "/v1/events"),
        ("webhook_endpoints", "/v1/webhook_endpoints"),
    ];
    Json(ApiIndex {
        object: "api",
        version: "v1",
        documentation: "/docs",
        openapi: "/openapi.json",
        authentication: "Authorization: Bearer sk_test_… (or sk_live_…)",
        resources: RESOURCES
            .iter()
            .map(|(name, path)| ((*name).to_string(), (*path).to_string()))
            .collect(),
    })
}

/// The API's index.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiIndex {
    /// `api`.
    object: &'static str,
    /// `v1`.
    version: &'static str,
    /// The reference for people.
    documentation: &'static str,
    /// The OpenAPI 3.1 description.
    openapi: &'static str,
    /// How to authenticate.
    authentication: &'static str,
    /// Each resource's collection path.
    resources: std::collections::BTreeMap<String, String>,
}
