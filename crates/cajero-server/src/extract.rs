//! Request extractors whose rejections use the API's error shape, with the field at fault as a
//! path in `param` and messages in JSON's words (see [`plain_errors`]).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{self, ApiError, ErrorType};

mod plain_errors;
pub mod strict_json;

use strict_json::StrictJsonError;

/// JSON body extractor: a missing `Content-Type`, malformed JSON, a repeated key, wrong types,
/// unknown and missing fields become 400/415 with a specific code and the field's path in
/// `param`. Whole-number floats (`113.0`) are the integers they equal.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers()) {
            return Err(content_type_unsupported());
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(bytes_rejection)?;
        let value = read_body(&bytes)?;
        from_value(value).map(Json)
    }
}

/// A JSON body that may be left out: no body, a blank one or `null` is the empty object.
#[derive(Debug, Clone, Default)]
pub struct OptionalJson(pub Value);

impl<S: Send + Sync> FromRequest<S> for OptionalJson {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let has_type = req.headers().contains_key(header::CONTENT_TYPE);
        if has_type && !is_json(req.headers()) {
            return Err(content_type_unsupported());
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(bytes_rejection)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(Value::Object(Map::new())));
        }
        if !has_type {
            return Err(content_type_unsupported());
        }
        match read_body(&bytes)? {
            Value::Null => Ok(OptionalJson(Value::Object(Map::new()))),
            value => Ok(OptionalJson(value)),
        }
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    let essence = essence.to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn content_type_unsupported() -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorType::InvalidRequestError,
        "content_type_unsupported",
        "Send the body as JSON with `Content-Type: application/json`.",
    )
}

fn bytes_rejection(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        error::request_too_large()
    } else {
        ApiError::invalid(
            "body_malformed",
            "The body could not be read; send it again.",
        )
        .with_log_detail(rejection.body_text())
    }
}

/// Reads a body strictly (see [`strict_json`]).
pub fn read_body(bytes: &[u8]) -> Result<Value, ApiError> {
    strict_json::parse(bytes).map_err(|e| match e {
        StrictJsonError::DuplicateKey(path) => ApiError::invalid(
            "parameter_duplicated",
            format!("`{path}` is given twice; send each key once."),
        )
        .with_param(path),
        StrictJsonError::Syntax(e) if e.is_eof() && e.line() == 1 && e.column() == 0 => {
            ApiError::invalid("body_malformed", "The body is empty: send a JSON object.")
        }
        StrictJsonError::Syntax(e) => ApiError::invalid(
            "body_malformed",
            format!("The body is not valid JSON: {e}."),
        ),
    })
}

/// Query-string extractor with the API's error shape. A parameter left empty (`?limit=`) is
/// a parameter not given; one given twice is refused.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        let mut object = Map::new();
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            if value.is_empty() {
                continue;
            }
            if object.contains_key(key.as_ref()) {
                return Err(ApiError::invalid(
                    "parameter_duplicated",
                    format!("`{key}` is given twice in the query string; give it once."),
                )
                .with_param(key.into_owned()));
            }
            object.insert(key.into_owned(), Value::String(value.into_owned()));
        }
        plain_errors::from_value(Value::Object(object), "query string").map(Query)
    }
}

/// Turns an already-read JSON body into a request type, with the API's error shape (unknown
/// fields, wrong types and missing fields name the field's path).
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    plain_errors::from_value(value, "body")
}
