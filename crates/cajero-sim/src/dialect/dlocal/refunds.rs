//! dLocal's refunds (<https://docs.dlocal.com/docs/refunds>): `POST /refunds` of a PAID
//! payment, never more than paid in total, idempotent by the merchant's reference (the
//! `description`, where cajero puts its refund id); `GET /refunds/{id}`; and the refund object
//! posted, signed as payment notifications are, to the refund's `notification_url` when the
//! simulator's callbacks are flushed.
//!
//! The outcome is decided when the refund is taken: SUCCESS (`200`), or REJECTED (`300`) for
//! the magic amount [`MAGIC_REJECTED_AMOUNT`] when magic values are on. The create answers
//! PENDING (`100`), as dLocal does for refunds paid by bank transfer; `GET` shows the outcome.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use cajero_domain::Amount;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Number, Value, json};

use super::handlers::{Answer, DlocalError, authenticate, fail, invalid, whole_pesos};
use crate::engine::{SimError, State as Engine};
use crate::model::{OrderKind, OrderStatus, Refund};
use crate::sim::Sim;

/// A refund of exactly this many pesos is REJECTED (status code 300) when magic values are on.
pub const MAGIC_REJECTED_AMOUNT: i64 = 300;

#[derive(Debug, Deserialize)]
struct RefundRequest {
    payment_id: String,
    amount: Number,
    currency: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    notification_url: Option<String>,
}

/// `(status, status_code, status_detail)` of a refund.
fn status_of(refund: &Refund, final_state: bool) -> (&'static str, &'static str, &'static str) {
    match (final_state, refund.succeeds) {
        (false, _) => ("PENDING", "100", "The refund is pending."),
        (true, true) => ("SUCCESS", "200", "The refund was paid."),
        (true, false) => ("REJECTED", "300", "The refund was rejected."),
    }
}

/// The refund object; `final_state` false shows it as still pending.
pub fn refund_json(payment_id: &str, order_id: &str, refund: &Refund, final_state: bool) -> Value {
    let (status, code, detail) = status_of(refund, final_state);
    let mut body = json!({
        "id": refund.id,
        "payment_id": payment_id,
        "order_id": order_id,
        "amount": refund.amount.minor(),
        "amount_refunded": if final_state && refund.succeeds { refund.amount.minor() } else { 0 },
        "currency": "COP",
        "status": status,
        "status_code": code,
        "status_detail": detail,
        "created_date": refund.created_at.strftime("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string(),
        "description": refund.reference,
    });
    if let Some(url) = &refund.notification_url {
        body["notification_url"] = json!(url);
    }
    body
}

fn take(
    state: &mut Engine,
    merchant_id: &str,
    req: RefundRequest,
    amount: Amount,
    now: Timestamp,
) -> Result<Result<Value, DlocalError>, SimError> {
    let reference = req.description.unwrap_or_default();
    let order = state
        .order(merchant_id, OrderKind::Collection, &req.payment_id)?
        .clone();
    if let Some(existing) = order
        .refunds
        .iter()
        .find(|r| !reference.is_empty() && r.reference == reference)
    {
        if existing.amount != amount {
            return Ok(Err(invalid("description", "refund reference already used")));
        }
        return Ok(Ok(refund_json(
            &order.id,
            &order.reference,
            existing,
            false,
        )));
    }
    if order.status != OrderStatus::Paid {
        return Ok(Err(fail(
            StatusCode::BAD_REQUEST,
            5002,
            "Invalid transaction status.",
        )));
    }
    let refunded: i64 = order
        .refunds
        .iter()
        .filter(|r| r.succeeds)
        .map(|r| r.amount.minor())
        .sum();
    if refunded.saturating_add(amount.minor()) > order.amount.minor() {
        return Ok(Err(fail(StatusCode::BAD_REQUEST, 5007, "Amount exceeded.")));
    }
    let refund = Refund {
        id: format!("REF-{}-{}", order.id, order.refunds.len() + 1),
        reference,
        amount,
        succeeds: !(state.magic_values && amount.minor() == MAGIC_REJECTED_AMOUNT),
        notification_url: req.notification_url,
        created_at: now,
    };
    let answer = refund_json(&order.id, &order.reference, &refund, false);
    let mut updated = order.clone();
    updated.refunds.push(refund.clone());
    state.orders.insert(updated.id.clone(), updated.clone());
    state.dirty.orders.insert(updated.id.clone());
    if refund.notification_url.is_some() {
        let body = refund_json(&updated.id, &updated.reference, &refund, true).to_string();
        let event = if refund.succeeds {
            "refund.succeeded"
        } else {
            "refund.rejected"
        };
        state.enqueue_written_callback(&updated, event.into(), body, refund.notification_url);
    }
    Ok(Ok(answer))
}

/// `POST /refunds`.
pub(super) async fn create(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes) -> Answer {
    let merchant_id = authenticate(&sim, &headers, &body).await?;
    let req: RefundRequest = serde_json::from_slice(&body).map_err(|e| {
        fail(
            StatusCode::BAD_REQUEST,
            5000,
            format!("Invalid request: {e}"),
        )
    })?;
    if req.currency != "COP" {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            5004,
            "Currency not allowed for this country.",
        ));
    }
    let amount = whole_pesos(&req.amount)
        .and_then(|p| Amount::new(p).ok())
        .filter(|a| !a.is_zero())
        .ok_or_else(|| invalid("amount", "a positive whole number of pesos"))?;
    let answer = sim
        .run(|state, now| take(state, &merchant_id, req, amount, now))
        .await??;
    Ok(Json(answer?).into_response())
}

/// `GET /refunds/{id}`: the merchant's refund, as it stands.
pub(super) async fn get(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    let merchant_id = authenticate(&sim, &headers, b"").await?;
    let found = sim
        .run(|state, _| {
            state
                .all_orders()
                .filter(|o| o.merchant_id == merchant_id)
                .find_map(|o| {
                    o.refunds
                        .iter()
                        .find(|r| r.id == id)
                        .map(|r| refund_json(&o.id, &o.reference, r, true))
                })
        })
        .await?;
    let refund = found.ok_or_else(|| fail(StatusCode::NOT_FOUND, 4000, "Refund not found."))?;
    Ok(Json(refund).into_response())
}
