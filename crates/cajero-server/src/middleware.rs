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
    let span = tracing::info_span!("request", request_id = %id_text, %method, %path);
    let started = Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let mut response = with_error_body(response, &id_text, &state.config.public_url());
    if let Ok(value) = HeaderValue::from_str(&id_text) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let status = response.status().as_u16();
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
fn with_error_body(response: Response, request_id: &str, public_url: &str) -> Response {
    if let Some(error) = response.extensions().get::<ApiError>().cloned() {
        return error.to_response(Some(request_id), public_url);
    }
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if (status.is_client_error() || status.is_server_error()) && !is_json {
        return error::for_bare_status(status).to_response(Some(request_id), public_url);
    }
    response
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
