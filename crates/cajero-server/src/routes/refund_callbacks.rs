//! `POST /callbacks/{network}/refunds`: a network's refund notifications (dLocal posts the
//! refund object to the refund's `notification_url`, which is this path). Verified as order
//! callbacks are, stored raw (secrets redacted), applied idempotently
//! ([`crate::network_refunds::apply_notification`]), answered fast.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use cajero_connect::Evidence;
use serde_json::json;

use super::callbacks::{evidence_headers, redact_body};
use crate::AppState;
use crate::error::ApiError;
use crate::networks::{EvidenceLink, store_evidence};

/// Receives one refund notification.
pub async fn receive(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let Some((mode, connector)) = state.networks.callback_receiver(&name) else {
        return Err(ApiError::not_found("No such callback receiver."));
    };
    let pairs = super::callbacks::header_pairs(&headers);
    let now = state.clock.now();
    let verified = connector.verify_refund_callback(&pairs, &body, jiff::Timestamp::now());
    let request = format!(
        "{}\n{}",
        evidence_headers(&pairs),
        redact_body(&String::from_utf8_lossy(&body))
    );
    let evidence = move |status: u16, answer: &str| Evidence {
        operation: "refund callback".into(),
        request,
        response_status: Some(status),
        response: answer.to_string(),
        at: now,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    let clock = state.clock.clone();
    let refund = match verified {
        Ok(refund) => refund,
        Err(error) => {
            let e = evidence(401, &error.to_string());
            state
                .store
                .write(move |mut c| {
                    Box::pin(async move {
                        let link = EvidenceLink {
                            merchant: None,
                            mode,
                            network: &name,
                            object_id: None,
                            direction: "inbound",
                        };
                        store_evidence(&mut c, clock.as_ref(), link, &[e]).await
                    })
                })
                .await?;
            return Err(ApiError::unauthenticated(
                "callback_signature_invalid",
                error.to_string(),
            ));
        }
    };
    let e = evidence(200, "{\"received\":true}");
    let networks = connector.networks();
    let found = state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                crate::network_refunds::apply_notification(
                    &mut c,
                    clock.as_ref(),
                    mode,
                    (&name, &networks),
                    &refund,
                    e,
                )
                .await
            })
        })
        .await?;
    if !found {
        // Kept as evidence; the network is told it was received, since retrying cannot make
        // a refund we never sent appear.
        tracing::warn!("a refund notification for no refund of ours");
    }
    Ok((StatusCode::OK, axum::Json(json!({"received": true}))).into_response())
}
