//! Liveness and readiness for orchestrators and load balancers.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiError;

/// `GET /healthz`: the process is up and serving HTTP. Checks nothing else, so that a slow
/// database never gets a healthy process restarted.
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz`: the database answers; 503 otherwise, so traffic goes elsewhere.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state
        .store
        .ping()
        .await
        .map_err(|e| ApiError::unavailable(format!("database ping failed: {e}")))?;
    Ok(Json(json!({"status": "ready", "database": "ok"})))
}
