//! The request middleware: request ids, error bodies in the documented shape, access logs.

use std::any::Any;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cajero_domain::id::RequestId;
use tracing::Instrument;

use crate::AppState;
use crate::clock::new_id;
use crate::error::{self, ApiError};

/// The response header carrying the request id.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("request-id");

/// Gives the request an id, runs it in a span, and makes every error response carry the
/// documented JSON shape with that id.
pub async fn request_context(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let request_id: RequestId = new_id(state.clock.as_ref());
    let id_text = request_id.to_string();
    request.extensions_mut().insert(request_id);
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let budget = crate::rate_limit::BudgetSlot::default();
    request.extensions_mut().insert(budget.clone());
    let span = tracing::info_span!("request", request_id = %id_text, %method, %path);
    let started = Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let mut response = with_error_body(response, &id_text).await;
    if let Ok(value) = HeaderValue::from_str(&id_text) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    if let Some(budget) = budget.get() {
        budget.write(response.headers_mut());
    }
    let status = response.status().as_u16();
    crate::metrics::http_request(method.as_str(), &route, status, started.elapsed());
    let elapsed_ms = started.elapsed().as_secs_f64() * 1_000.0;
    span.in_scope(|| match response.extensions().get::<ApiError>() {
        Some(e) if e.status.is_server_error() => tracing::error!(
            status,
            elapsed_ms,
            code = e.code,
            detail = e.log_detail.as_deref().unwrap_or(""),
            "request failed"
        ),
        Some(e) => tracing::info!(status, elapsed_ms, code = e.code, "request refused"),
        None => tracing::info!(status, elapsed_ms, "request served"),
    });
    response
}

/// Renders the error body with the request id; turns bare error statuses from layers (405,
/// 413, timeouts) into the documented shape too.
async fn with_error_body(response: Response, request_id: &str) -> Response {
    if let Some(error) = response.extensions().get::<ApiError>().cloned() {
        return error.to_response(Some(request_id));
    }
    if response
        .extensions()
        .get::<crate::idempotency::StoredError>()
        .is_some()
    {
        return with_request_id(response, request_id).await;
    }
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if (status.is_client_error() || status.is_server_error()) && !is_json {
        return error::for_bare_status(status).to_response(Some(request_id));
    }
    response
}

/// A stored error answer (an idempotent replay, or the first answer written by the unit of
/// work) with `error.request_id` set to this request's id.
async fn with_request_id(response: Response, request_id: &str) -> Response {
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, crate::REQUEST_BODY_BYTES_MAX).await else {
        return error::for_bare_status(parts.status).to_response(Some(request_id));
    };
    let mut json: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(json) => json,
        Err(_) => return Response::from_parts(parts, Body::from(bytes)),
    };
    if let Some(error) = json.get_mut("error").and_then(|e| e.as_object_mut()) {
        error.insert("request_id".into(), request_id.into());
    }
    let mut parts = parts;
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(json.to_string()))
}

/// A panicking handler answers 500 without internals; the panic message goes to the log.
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let detail = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".to_string());
    ApiError::internal(format!("handler panicked: {detail}")).into_response()
}
