//! Request extractors whose rejections use the API's error shape.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::{self, ApiError, ErrorType};

/// JSON body extractor: malformed JSON, wrong types, unknown fields and a missing
/// `Content-Type` become 400/415 with a specific code and the offending field in `param`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorType::InvalidRequestError,
            "content_type_unsupported",
            "Send the body as JSON with `Content-Type: application/json`.",
        ),
        JsonRejection::JsonSyntaxError(e) => ApiError::invalid(
            "body_malformed",
            format!("The body is not valid JSON: {}", source_text(&e)),
        ),
        JsonRejection::JsonDataError(e) => {
            let text = source_text(&e);
            let param = text
                .split_once(':')
                .map(|(path, _)| path.trim().to_string())
                .filter(|p| !p.is_empty() && !p.contains(' ') && p != ".");
            let error = ApiError::invalid("parameter_invalid", format!("Invalid request: {text}"));
            match param {
                Some(p) => error.with_param(p),
                None => error,
            }
        }
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            error::request_too_large()
        }
        other => ApiError::invalid("body_malformed", other.body_text()),
    }
}

/// The innermost message of a rejection (serde's, with the field path).
fn source_text(error: &dyn std::error::Error) -> String {
    let mut current: &dyn std::error::Error = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

/// Query-string extractor with the API's error shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => Err(ApiError::invalid(
                "parameter_invalid",
                format!("Invalid query string: {}", source_text(&e)),
            )),
            Err(other) => Err(ApiError::invalid("parameter_invalid", other.body_text())),
        }
    }
}

/// Turns an already-parsed JSON body into a request type, with the API's error shape (unknown
/// fields, wrong types and missing fields name the field where serde does).
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_json::from_value(value).map_err(|e| {
        let text = e.to_string();
        let param = text
            .split('`')
            .nth(1)
            .filter(|f| !f.is_empty() && f.len() <= 64)
            .map(str::to_string);
        let code = if text.starts_with("unknown field") {
            "parameter_unknown"
        } else if text.starts_with("missing field") {
            "parameter_missing"
        } else {
            "parameter_invalid"
        };
        let error = ApiError::invalid(code, format!("Invalid request: {text}"));
        match param {
            Some(p) => error.with_param(p),
            None => error,
        }
    })
}
