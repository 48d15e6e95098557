//! The extractor that admits a network API request only when it is signed by a known
//! merchant with a fresh timestamp. It also applies the latency fault.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::HeaderMap;
use jiff::Timestamp;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::signing::{
    HEADER_MERCHANT, HEADER_SIGNATURE, HEADER_TIMESTAMP, sign_request, signatures_match,
};
use crate::sim::Sim;

/// A verified request: who sent it and its raw body.
#[derive(Debug)]
pub struct Signed {
    /// The merchant that signed it.
    pub merchant_id: String,
    /// The body exactly as signed.
    pub body: Bytes,
}

impl Signed {
    /// The body as JSON of type `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        serde_json::from_slice(&self.body).map_err(|e| ApiError::InvalidBody(e.to_string()))
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, ApiError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(ApiError::SignatureMissing(name))
}

impl FromRequest<Arc<Sim>> for Signed {
    type Rejection = ApiError;

    async fn from_request(req: Request, sim: &Arc<Sim>) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let limit = sim.config().request_body_bytes_max;
        let body = axum::body::to_bytes(body, limit)
            .await
            .map_err(|_| ApiError::PayloadTooLarge)?;
        let merchant_id = header(&parts.headers, HEADER_MERCHANT)?.to_owned();
        let timestamp_text = header(&parts.headers, HEADER_TIMESTAMP)?;
        let received = header(&parts.headers, HEADER_SIGNATURE)?;
        let timestamp: i64 = timestamp_text
            .parse()
            .map_err(|_| ApiError::SignatureInvalid)?;
        let tolerance = sim.config().signature_tolerance_seconds;
        let skew = Timestamp::now().as_second().saturating_sub(timestamp);
        if skew.unsigned_abs() > tolerance {
            return Err(ApiError::TimestampOutOfRange {
                seconds: skew,
                tolerance,
            });
        }
        // The router is not nested, so the URI is the one the client signed.
        let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let (secret, latency_ms) = sim
            .run(|state, _| {
                (
                    state
                        .merchant(&merchant_id)
                        .map(|m| m.config.secret.clone()),
                    state.faults().latency_ms,
                )
            })
            .await?;
        let secret = secret.ok_or(crate::engine::SimError::UnknownMerchant)?;
        let expected = sign_request(
            &secret,
            timestamp,
            parts.method.as_str(),
            path_and_query,
            &body,
        );
        if !signatures_match(&expected, received) {
            return Err(ApiError::SignatureInvalid);
        }
        if latency_ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(latency_ms)).await;
        }
        Ok(Signed { merchant_id, body })
    }
}
