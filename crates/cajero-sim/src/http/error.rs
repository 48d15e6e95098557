//! The one error type of the simulator's HTTP API: a status, a stable `code`, a message.
//! Internals never reach a response body.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::engine::SimError;
use crate::settlement::{SettlementError, SettlementFaultError};
use crate::store::StoreError;

/// A refused request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A rule of the network said no.
    #[error(transparent)]
    Sim(#[from] SimError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A settlement file could not be made.
    #[error(transparent)]
    Settlement(#[from] SettlementError),
    /// A settlement fault that cannot be put (an unknown order, a bad amount or code).
    #[error(transparent)]
    SettlementFault(#[from] SettlementFaultError),
    /// No `Sim-Merchant`, `Sim-Timestamp` or `Sim-Signature`.
    #[error("missing header {0}")]
    SignatureMissing(&'static str),
    /// The signature does not match.
    #[error("the signature does not match the request")]
    SignatureInvalid,
    /// The timestamp is further than the tolerance from the host's clock.
    #[error("the timestamp is {seconds} s away from the network's clock (tolerance {tolerance} s)")]
    TimestampOutOfRange { seconds: i64, tolerance: u64 },
    /// The body is not the expected JSON.
    #[error("invalid body: {0}")]
    InvalidBody(String),
    /// The body is larger than allowed.
    #[error("request body too large")]
    PayloadTooLarge,
    /// A create that hung (fault knob) and timed out after creating the order.
    #[error("the network did not answer in time")]
    Timeout,
    /// Fault knobs that cannot be put (a network taken down that the simulator does not play).
    #[error("{param}: {message}")]
    InvalidFaults {
        param: &'static str,
        message: String,
    },
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Sim(e) => match e {
                SimError::UnknownMerchant => (StatusCode::UNAUTHORIZED, "unknown_merchant"),
                SimError::UnknownNetwork(_) => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "unknown_network")
                }
                SimError::InvalidRequest { .. } => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "invalid_request")
                }
                SimError::AmountOutOfRange { .. } => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "amount_out_of_range")
                }
                SimError::ValidityOutOfRange { .. } => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "expiry_out_of_range")
                }
                SimError::BeneficiaryRejected => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "beneficiary_rejected")
                }
                SimError::NetworkDiscontinued { .. } => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "network_discontinued")
                }
                SimError::NetworkUnavailable => {
                    (StatusCode::SERVICE_UNAVAILABLE, "network_unavailable")
                }
                SimError::NetworkDown { .. } => {
                    (StatusCode::SERVICE_UNAVAILABLE, "system_unavailable")
                }
                SimError::ReferenceConflict { .. } => (StatusCode::CONFLICT, "reference_conflict"),
                SimError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
                SimError::NotCancelable { .. } => (StatusCode::CONFLICT, "order_not_cancelable"),
                SimError::UnknownCounter => (StatusCode::NOT_FOUND, "unknown_counter"),
                SimError::CodeSpaceExhausted => {
                    (StatusCode::SERVICE_UNAVAILABLE, "code_space_exhausted")
                }
            },
            ApiError::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
            ApiError::Settlement(SettlementError::Sim(SimError::UnknownMerchant)) => {
                (StatusCode::NOT_FOUND, "unknown_merchant")
            }
            ApiError::Settlement(SettlementError::Sim(_)) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "unknown_network")
            }
            ApiError::Settlement(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
            ApiError::SettlementFault(_) => (StatusCode::BAD_REQUEST, "invalid_settlement_faults"),
            ApiError::SignatureMissing(_) => (StatusCode::UNAUTHORIZED, "signature_missing"),
            ApiError::SignatureInvalid => (StatusCode::UNAUTHORIZED, "signature_invalid"),
            ApiError::TimestampOutOfRange { .. } => {
                (StatusCode::UNAUTHORIZED, "timestamp_out_of_range")
            }
            ApiError::InvalidBody(_) => (StatusCode::BAD_REQUEST, "invalid_body"),
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::Timeout => (StatusCode::GATEWAY_TIMEOUT, "timeout"),
            ApiError::InvalidFaults { .. } => (StatusCode::BAD_REQUEST, "invalid_faults"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = if status.is_server_error()
            && status != StatusCode::SERVICE_UNAVAILABLE
            && status != StatusCode::GATEWAY_TIMEOUT
        {
            tracing::error!(error = %self, "simulator request failed");
            "internal error".to_owned()
        } else {
            self.to_string()
        };
        let mut error = json!({"code": code, "message": message});
        match &self {
            ApiError::Sim(SimError::InvalidRequest { param, .. }) => {
                error["param"] = json!(param);
            }
            ApiError::SettlementFault(e) => {
                error["param"] = json!(e.param);
            }
            ApiError::InvalidFaults { param, .. } => {
                error["param"] = json!(param);
            }
            ApiError::Sim(SimError::ReferenceConflict { existing_id }) => {
                error["existing_id"] = json!(existing_id);
            }
            _ => {}
        }
        (status, Json(json!({ "error": error }))).into_response()
    }
}
