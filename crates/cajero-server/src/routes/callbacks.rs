//! `POST /callbacks/{network}`: what networks tell us. Verified, stored raw, deduplicated,
//! applied idempotently, answered fast.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use cajero_connect::{Callback, Evidence, OrderKind};
use cajero_store::{network, payins, payouts};
use serde_json::json;

use crate::AppState;
use crate::error::ApiError;

/// Receives one callback.
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
    let pairs: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_ascii_lowercase(), v.to_string()))
        })
        .collect();
    let now = state.clock.now();
    let verified = connector.verify_callback(&pairs, &body, jiff::Timestamp::now());
    let raw = String::from_utf8_lossy(&body).into_owned();
    let headers_text: String = pairs
        .iter()
        .filter(|(k, _)| k.starts_with("sim-") && k != "sim-signature")
        .map(|(k, v)| format!("{k}: {v}\n"))
        .collect();
    let evidence = |status: u16, answer: &str| Evidence {
        operation: "callback".into(),
        request: format!("{headers_text}\n{raw}"),
        response_status: Some(status),
        response: answer.to_string(),
        at: now,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    let callback = match verified {
        Ok(callback) => callback,
        Err(error) => {
            let e = evidence(401, &error.to_string());
            let clock = state.clock.clone();
            let network_name = name.clone();
            state
                .store
                .write(move |mut c| {
                    Box::pin(async move {
                        crate::networks::store_evidence(
                            &mut c,
                            clock.as_ref(),
                            crate::networks::EvidenceLink {
                                merchant: None,
                                mode,
                                network: &network_name,
                                object_id: None,
                                direction: "inbound",
                            },
                            &[e],
                        )
                        .await
                    })
                })
                .await?;
            return Err(ApiError::unauthenticated(
                "callback_signature_invalid",
                error.to_string(),
            ));
        }
    };
    let clock = state.clock.clone();
    let public_url = state.config.public_url();
    let e = evidence(200, "{\"received\":true}");
    let applied = state
        .store
        .write(move |mut c| {
            Box::pin(
                async move { apply(&mut c, clock.as_ref(), &public_url, mode, &callback, e).await },
            )
        })
        .await?;
    match applied {
        Applied::Done => {
            Ok((StatusCode::OK, axum::Json(json!({"received": true}))).into_response())
        }
        Applied::UnknownOrder => Err(ApiError::unavailable(
            "callback for an order not on record yet",
        )
        .with_code("order_not_found_retry")),
    }
}

async fn apply(
    c: &mut cajero_store::Conn<'_>,
    clock: &dyn crate::clock::Clock,
    public_url: &str,
    mode: cajero_domain::merchant::Mode,
    callback: &Callback,
    mut evidence: Evidence,
) -> Result<Applied, cajero_store::StoreError> {
    let order = &callback.order;
    let now = clock.now();
    let (merchant, object_id) = match order.kind {
        OrderKind::Collection => {
            let p =
                payins::get_by_network_order(c, &order.network, &order.network_order_id).await?;
            (
                p.as_ref().map(|p| p.merchant_id),
                p.map(|p| p.id.to_string()),
            )
        }
        OrderKind::Payout => {
            let p =
                payouts::get_by_network_order(c, &order.network, &order.network_order_id).await?;
            (
                p.as_ref().map(|p| p.merchant_id),
                p.map(|p| p.id.to_string()),
            )
        }
    };
    if object_id.is_none() {
        evidence.response_status = Some(503);
        evidence.response = "order not on record yet: retry later".into();
    }
    crate::networks::store_evidence(
        c,
        clock,
        crate::networks::EvidenceLink {
            merchant,
            mode,
            network: &order.network,
            object_id: object_id.as_deref(),
            direction: "inbound",
        },
        &[evidence],
    )
    .await?;
    if object_id.is_none() {
        // Not ours yet (its create has not committed) or not ours at all: never mark it as
        // seen, so that the network's retry is applied once the order exists.
        tracing::warn!(network = %order.network, order = %order.network_order_id, reference = %order.reference, "callback for an order not on record; asking for a retry");
        return Ok(Applied::UnknownOrder);
    }
    if !network::first_time_callback(c, &order.network, &callback.id, now).await? {
        return Ok(Applied::Done); // a duplicate: already applied
    }
    match order.kind {
        OrderKind::Collection => {
            if let Some(payin) =
                payins::get_by_network_order(c, &order.network, &order.network_order_id).await?
            {
                crate::payins::apply_network_order(c, clock, public_url, &payin, order).await?;
            } else {
                tracing::warn!(network = %order.network, order = %order.network_order_id, "callback for an unknown voucher");
            }
        }
        OrderKind::Payout => {
            crate::payouts::apply_callback(c, clock, public_url, callback).await?;
        }
    }
    Ok(Applied::Done)
}

/// What became of a verified callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Applied {
    /// Applied (or a duplicate of one that was).
    Done,
    /// About an order we do not have (yet): the network should retry.
    UnknownOrder,
}
