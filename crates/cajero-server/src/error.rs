//! The one API error type, mapped once to an HTTP status, an error `type` and a stable `code`
//! (API.md, "Errors").
//!
//! Handlers return `Result<_, ApiError>`. The error renders its JSON body and also travels in
//! the response's extensions, where the request middleware adds the request id to the body and
//! logs it. Internal details (`log_detail`) go to the log only: no 5xx body ever contains them.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cajero_store::StoreError;
use serde::Serialize;

/// The `type` of an error, as API.md lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorType {
    /// 400, 404, 405, 413, 415, 422: the request itself is wrong.
    InvalidRequestError,
    /// 401: missing, malformed, unknown or revoked key.
    AuthenticationError,
    /// 403: a valid key that may not do this.
    PermissionError,
    /// 409/422: an `Idempotency-Key` problem.
    IdempotencyError,
    /// 429.
    RateLimitError,
    /// 424: the cash network failed or is unavailable.
    NetworkError,
    /// 5xx: our fault.
    ApiError,
}

/// An error answered to an API client.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The error type.
    pub kind: ErrorType,
    /// Stable snake_case code (documented; never renamed).
    pub code: &'static str,
    /// For humans; may change.
    pub message: String,
    /// The request field at fault, in dotted path form.
    pub param: Option<String>,
    /// Seconds for a `Retry-After` header.
    pub retry_after_s: Option<u64>,
    /// What went wrong inside, for the log only.
    pub log_detail: Option<String>,
}

/// The JSON body of every error: `{"error": {...}}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct Body<'a> {
    error: BodyInner<'a>,
}

/// What went wrong.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = ErrorDetail)]
pub struct BodyInner<'a> {
    #[serde(rename = "type")]
    kind: ErrorType,
    /// Stable snake_case code; each is explained at `doc_url`.
    #[schema(schema_with = crate::openapi::error_code)]
    code: &'a str,
    /// For humans; may change.
    message: &'a str,
    /// The request field at fault, as its path in the body or the query string
    /// (`beneficiary.document.number`, `items[0].amount`, `limit`); never its value.
    #[serde(skip_serializing_if = "Option::is_none")]
    param: Option<&'a str>,
    /// The code's entry in the reference: what it means and what to do
    /// (`…/docs#error-amount_invalid` on this instance).
    doc_url: String,
    /// The request's id (also in the `Request-Id` header).
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
}

impl ApiError {
    /// An error of any kind.
    pub fn new(
        status: StatusCode,
        kind: ErrorType,
        code: &'static str,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            kind,
            code,
            message: message.into(),
            param: None,
            retry_after_s: None,
            log_detail: None,
        }
    }

    /// 400 `invalid_request_error`.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorType::InvalidRequestError,
            code,
            message,
        )
    }

    /// 404 `resource_missing`.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorType::InvalidRequestError,
            "resource_missing",
            message,
        )
    }

    /// 401 `authentication_error`.
    pub fn unauthenticated(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorType::AuthenticationError,
            code,
            message,
        )
    }

    /// 403 `permission_error`.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorType::PermissionError,
            code,
            message,
        )
    }

    /// 500 `api_error` with an internal detail for the log.
    pub fn internal(detail: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorType::ApiError,
            "internal_error",
            "Something went wrong on our side. The request was not applied; it is safe to retry \
             with the same Idempotency-Key.",
        )
        .with_log_detail(detail)
    }

    /// 503 `api_error`: a dependency (the database) is not available right now.
    pub fn unavailable(detail: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorType::ApiError,
            "service_unavailable",
            "The service is temporarily unavailable. Retry after a short wait, with the same \
             Idempotency-Key.",
        )
        .with_log_detail(detail)
        .with_retry_after(1)
    }

    /// Names the request field at fault.
    pub fn with_param(mut self, param: impl Into<String>) -> ApiError {
        self.param = Some(param.into());
        self
    }

    /// Adds a `Retry-After` header.
    pub fn with_retry_after(mut self, seconds: u64) -> ApiError {
        self.retry_after_s = Some(seconds);
        self
    }

    /// Adds a detail for the log (never sent to the client).
    pub fn with_log_detail(mut self, detail: impl Into<String>) -> ApiError {
        self.log_detail = Some(detail.into());
        self
    }

    /// The error body as JSON, without a request id (stored answers; the middleware adds the
    /// id of the request that receives it).
    pub fn to_json(&self) -> serde_json::Value {
        let body = Body {
            error: BodyInner {
                kind: self.kind,
                code: self.code,
                message: &self.message,
                param: self.param.as_deref(),
                request_id: None,
                doc_url: doc_url("", self.code),
            },
        };
        serde_json::to_value(&body).unwrap_or_default()
    }

    /// The response with the body carrying `request_id`, and `doc_url` under `public_url`
    /// (this instance's address as clients see it).
    pub fn to_response(&self, request_id: Option<&str>, public_url: &str) -> Response {
        let body = Body {
            error: BodyInner {
                kind: self.kind,
                code: self.code,
                message: &self.message,
                param: self.param.as_deref(),
                request_id,
                doc_url: doc_url(public_url, self.code),
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after_s {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response.extensions_mut().insert(self.clone());
        response
    }
}

impl IntoResponse for ApiError {
    /// A provisional rendering: the request middleware renders the error again from the
    /// response's extensions with the request id and this instance's public URL.
    fn into_response(self) -> Response {
        self.to_response(None, "")
    }
}

/// Where a code is explained: its entry in the errors section of `/docs` (the section's top
/// for a code without an entry, which a test prevents).
pub fn doc_url(public_url: &str, code: &str) -> String {
    let anchor = match crate::error_codes::lookup(code) {
        Some(entry) => crate::error_codes::anchor(entry.code),
        None => "errors".to_string(),
    };
    format!("{public_url}/docs#{anchor}")
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        if error.is_unavailable() {
            ApiError::unavailable(error.to_string())
        } else if error.is_unique_violation() {
            // Two writers raced to create the same thing; the unit rolled back whole. Never a
            // 500 for it: the client's retry with the same key finds the winner.
            ApiError::new(
                StatusCode::CONFLICT,
                ErrorType::ApiError,
                "conflict",
                "A concurrent change to the same object won; nothing was applied by this \
                 request. Retry with the same Idempotency-Key.",
            )
            .with_log_detail(error.to_string())
            .with_retry_after(1)
        } else {
            ApiError::internal(error.to_string())
        }
    }
}

/// The API's answer for routes that do not exist.
pub async fn route_not_found() -> ApiError {
    ApiError::not_found("Unrecognized request URL. See the API reference at /docs.")
        .with_code("route_not_found")
}

impl ApiError {
    /// Replaces the code.
    pub fn with_code(mut self, code: &'static str) -> ApiError {
        self.code = code;
        self
    }
}

/// The error for a bare error status produced below the handlers (a layer's 405, 408, 413 or
/// panic), so that every error the API answers has the documented shape.
pub fn for_bare_status(status: StatusCode) -> ApiError {
    match status {
        StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
            status,
            ErrorType::InvalidRequestError,
            "method_not_allowed",
            "This URL does not accept this HTTP method.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => request_too_large(),
        StatusCode::NOT_FOUND => ApiError::not_found("Not found.").with_code("route_not_found"),
        StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorType::ApiError,
            "request_timeout",
            "The request took too long and was abandoned. Retry with the same Idempotency-Key.",
        ),
        s if s.is_client_error() => ApiError::new(
            s,
            ErrorType::InvalidRequestError,
            "invalid_request",
            "The request could not be processed.",
        ),
        s => ApiError::new(
            s,
            ErrorType::ApiError,
            "internal_error",
            "Something went wrong on our side.",
        ),
    }
}

/// A value the client sent, quoted for a message the way JSON writes it (`"abc"`, `"\u0013"`),
/// cut at 64 characters: Rust's `{:?}` would show its own escapes (`\u{13}`).
pub fn quoted(value: &str) -> String {
    const CHARS_SHOWN: usize = 64;
    let shown: String = value.chars().take(CHARS_SHOWN).collect();
    let mut text = serde_json::to_string(&shown).unwrap_or_default();
    if value.chars().count() > CHARS_SHOWN {
        text.insert(text.len() - 1, '…');
    }
    text
}

/// 413 with the documented limit.
pub fn request_too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorType::InvalidRequestError,
        "request_too_large",
        format!(
            "Request bodies are limited to {} bytes.",
            crate::REQUEST_BODY_BYTES_MAX
        ),
    )
}
