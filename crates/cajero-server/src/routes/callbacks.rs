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
    let pairs = header_pairs(&headers);
    let now = state.clock.now();
    let verified = connector.verify_callback(&pairs, &body, jiff::Timestamp::now());
    let raw = redact_body(&String::from_utf8_lossy(&body));
    let headers_text = evidence_headers(&pairs);
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
    // Packed here, off the writer's thread; repacked in the unit on the rare other answer.
    let e = crate::networks::PackedEvidence::pack(&evidence(200, "{\"received\":true}"))?;
    let grace = jiff::SignedDuration::from_millis(
        i64::try_from(state.config.orders.unknown_callback_grace_ms).unwrap_or(i64::MAX),
    );
    let health = state.networks.health().config().clone();
    let risk = state.risk.clone();
    let paid = (callback.order.status == cajero_connect::NetworkStatus::Paid)
        .then_some(callback.order.paid_at)
        .flatten()
        .map(|at| (callback.order.network.clone(), at));
    let applied = state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                let received = Received {
                    mode,
                    grace,
                    evidence: e,
                    health,
                    risk,
                };
                apply(&mut c, clock.as_ref(), &public_url, &callback, received).await
            })
        })
        .await?;
    match applied {
        Applied::Done => {
            if let Some((network, paid_at)) = paid {
                callback_delay(&state, mode, &name, network, paid_at);
            }
            Ok((StatusCode::OK, axum::Json(json!({"received": true}))).into_response())
        }
        Applied::UnknownOrder => Err(ApiError::unavailable(
            "callback for an order not on record yet",
        )
        .with_code("order_not_found_retry")),
    }
}

/// Counts how long the network took to call back about a payment or collection; one in time
/// resolves the network's `callbacks_late` alert (looked at most once a minute).
fn callback_delay(
    state: &AppState,
    mode: cajero_domain::merchant::Mode,
    receiver: &str,
    network: String,
    paid_at: jiff::Timestamp,
) {
    let now = state.clock.now();
    let route = if receiver == crate::networks::SIM_CALLBACK_RECEIVER {
        crate::networks::SIMULATOR_ROUTE.to_string()
    } else {
        receiver.to_string()
    };
    let key = crate::health::RouteKey {
        mode,
        route,
        network,
    };
    let since = now.duration_since(paid_at);
    let delay = if since.is_negative() {
        std::time::Duration::ZERO
    } else {
        since.unsigned_abs()
    };
    let health = state.networks.health();
    let in_time = delay.as_secs() < u64::from(health.config().callback_late_s);
    if health.record_callback_delay(key.clone(), now, delay, in_time) {
        crate::health::alerting::callbacks_on_time(state, key);
    }
}

/// A verified callback as it arrived.
struct Received {
    /// Counter alert thresholds.
    health: crate::health::HealthConfig,
    /// The risk rules (counters are watched once an order is paid).
    risk: std::sync::Arc<crate::risk::RiskRules>,
    mode: cajero_domain::merchant::Mode,
    /// How long an unknown order is given to appear (`orders.unknown_callback_grace_ms`).
    grace: jiff::SignedDuration,
    evidence: crate::networks::PackedEvidence,
}

async fn apply(
    c: &mut cajero_store::Conn<'_>,
    clock: &dyn crate::clock::Clock,
    public_url: &str,
    callback: &Callback,
    received: Received,
) -> Result<Applied, cajero_store::StoreError> {
    let Received {
        mode,
        grace,
        mut evidence,
        health,
        risk,
    } = received;
    let order = &callback.order;
    let now = clock.now();
    // The order's object, read once: the callback is applied to it in this same unit.
    let object = match order.kind {
        OrderKind::Collection => {
            payins::get_by_network_order(c, &order.network, &order.network_order_id)
                .await?
                .map(Object::Payin)
        }
        OrderKind::Payout => {
            payouts::get_by_network_order(c, &order.network, &order.network_order_id)
                .await?
                .map(Object::Payout)
        }
    };
    let (merchant, object_id) = match &object {
        Some(Object::Payin(p)) => (Some(p.merchant_id), Some(p.id.to_string())),
        Some(Object::Payout(p)) => (Some(p.merchant_id), Some(p.id.to_string())),
        None => (None, None),
    };
    let mut missing = false;
    if object_id.is_none() {
        let first_seen = cajero_store::exceptions::unknown_order_first_seen(
            c,
            &order.network,
            &order.network_order_id,
            now,
        )
        .await?;
        if now < first_seen.checked_add(grace).unwrap_or(first_seen) {
            evidence.answer(503, "order not on record yet: retry later")?;
        } else {
            missing = true;
            evidence.answer(200, "order not on record: recorded as missing_in_cajero")?;
        }
    }
    let link = crate::networks::EvidenceLink {
        merchant,
        mode,
        network: &order.network,
        object_id: object_id.as_deref(),
        direction: "inbound",
    };
    // About an order of ours, the callback is marked as seen with its evidence (one statement
    // on PostgreSQL); otherwise only after the checks below.
    let first_time = match object_id {
        Some(_) => Some(
            crate::networks::store_callback_evidence(c, clock, link, &evidence, &callback.id, now)
                .await?,
        ),
        None => {
            crate::networks::store_packed_evidence(c, clock, link, &[evidence]).await?;
            None
        }
    };
    if missing {
        // An order that closed without money moving (a voucher we canceled after its create
        // died, say) leaves nothing to chase; anything else is raised.
        let closed_unpaid = matches!(
            order.status,
            cajero_connect::NetworkStatus::Canceled | cajero_connect::NetworkStatus::Expired
        );
        if network::first_time_callback(c, &order.network, &callback.id, now).await?
            && !closed_unpaid
        {
            record_missing(c, clock, mode, order).await?;
        }
        return Ok(Applied::Done);
    }
    if object_id.is_none() {
        // Not ours yet (its create has not committed) or not ours at all: never mark it as
        // seen, so that the network's retry is applied once the order exists.
        tracing::warn!(network = %order.network, order = %order.network_order_id, reference = %order.reference, "callback for an order not on record; asking for a retry");
        return Ok(Applied::UnknownOrder);
    }
    if first_time == Some(false) {
        return Ok(Applied::Done); // a duplicate: already applied
    }
    if let Some(attempt) = &callback.attempt {
        // Once per callback id; should this unit of work fail to commit, the network's retry
        // counts it again (a rare overcount, never a missed attempt).
        crate::metrics::counter_attempt(&order.network, &attempt.outcome);
    }
    match object {
        Some(Object::Payin(payin)) => {
            crate::payins::apply_network_order(c, clock, &risk, public_url, &payin, order).await?;
        }
        Some(Object::Payout(payout)) => {
            crate::payouts::apply_callback(c, clock, &risk, public_url, &payout, callback).await?;
            if let Some(attempt) = &callback.attempt {
                // Judged in the mode and network the attempt was recorded under: the payout's.
                let network = order.network.as_str();
                crate::health::counters::on_attempt(c, now, &health, payout.mode, network, attempt)
                    .await?;
            }
        }
        None => {} // answered above: an order not on record is never applied
    }
    Ok(Applied::Done)
}

/// The object a callback's order belongs to.
enum Object {
    Payin(payins::PayinRecord),
    Payout(payouts::PayoutRecord),
}

/// What became of a verified callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Applied {
    /// Applied (or a duplicate of one that was).
    Done,
    /// About an order we do not have (yet): the network should retry.
    UnknownOrder,
}

/// Records a network order we have no object for, past the grace period: a
/// `missing_in_cajero` exception (once per order), logged at error for the operator. Money the
/// network says moved is held in suspense, so that the books still tie out to the network's:
/// a payment collected is receivable from the network, cash paid out is payable to it.
async fn record_missing(
    c: &mut cajero_store::Conn<'_>,
    clock: &dyn crate::clock::Clock,
    mode: cajero_domain::merchant::Mode,
    order: &cajero_connect::NetworkOrder,
) -> Result<(), cajero_store::StoreError> {
    use cajero_domain::ledger::{AccountKey, AccountKind, Transfer, TransferCode, TransferMode};
    use cajero_domain::money::Currency;
    let now = clock.now();
    let object_id = format!("{}:{}", order.network, order.network_order_id);
    let exception_id = format!("exc_missing_{}_{}", order.network, order.network_order_id);
    let detail = format!(
        "the network reported {:?} {} (our reference {:?}, {:?}) which is not in our books",
        order.kind, order.network_order_id, order.reference, order.status
    );
    let exception = cajero_store::exceptions::NewException {
        id: &exception_id,
        merchant_id: None,
        mode,
        kind: cajero_store::exceptions::MISSING_IN_CAJERO,
        object_id: &object_id,
        amount: order.amount,
        currency: Currency::Cop,
        network: Some(&order.network),
        network_order_id: Some(&order.network_order_id),
        detail: Some(&detail),
    };
    if !cajero_store::exceptions::record(c, &exception, now).await? {
        return Ok(());
    }
    tracing::error!(network = %order.network, order = %order.network_order_id, reference = %order.reference, status = ?order.status, "ALERT missing_in_cajero: a network order with no owner in our books");
    if order.status != cajero_connect::NetworkStatus::Paid || order.amount.is_zero() {
        return Ok(());
    }
    let network_account = |kind| AccountKey::network(kind, &order.network, mode, Currency::Cop);
    let suspense = AccountKey::platform(AccountKind::Suspense, mode, Currency::Cop);
    let (debit, credit, code) = match order.kind {
        OrderKind::Collection => (
            network_account(AccountKind::NetworkReceivable),
            suspense,
            TransferCode::Payin,
        ),
        OrderKind::Payout => (
            suspense,
            network_account(AccountKind::NetworkPayable),
            TransferCode::Payout,
        ),
    };
    // Posted once: only the first recording of the exception gets here.
    let batch_id: cajero_domain::id::TransferId = crate::clock::new_id(clock);
    let batch = cajero_store::ledger::NewBatch {
        id: batch_id.to_string(),
        merchant_id: None,
        mode,
        currency: Currency::Cop,
        code,
        source_id: Some(object_id),
        available_on: None,
        transfers: vec![Transfer {
            id: format!("{batch_id}.0"),
            debit,
            credit,
            amount: order.amount,
            mode: TransferMode::Single,
            code,
        }],
    };
    cajero_store::ledger::post_batch(c, &batch, now)
        .await
        .map(|_| ())
        .map_err(|e| match e {
            cajero_store::ledger::LedgerError::Store(s) => s,
            other => cajero_store::StoreError::Corrupt {
                table: "ledger",
                detail: other.to_string(),
            },
        })
}

/// A request's headers as (lower-case name, value) pairs, as connectors verify them; values
/// that are not visible ASCII are left out.
pub(super) fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_ascii_lowercase(), v.to_string()))
        })
        .collect()
}

/// Headers worth keeping with a callback's evidence: the network's own (`sim-*`, `x-*`,
/// `content-type`), each credential or signature among them as `[redacted]`.
pub(super) fn evidence_headers(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .filter(|(k, _)| {
            k.starts_with("sim-")
                || k.starts_with("x-")
                || k == "content-type"
                || k == "authorization"
        })
        .map(|(k, v)| {
            if is_sensitive(k) {
                format!("{k}: [redacted]\n")
            } else {
                format!("{k}: {v}\n")
            }
        })
        .collect()
}

/// A header or field that carries a credential or a signature.
fn is_sensitive(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name == "sign"
        || [
            "authorization",
            "signature",
            "key",
            "secret",
            "token",
            "password",
            "private",
        ]
        .iter()
        .any(|s| name.contains(s))
}

/// A callback's body with its signature fields blanked: form fields (`sign=…`) and JSON keys
/// (`"signature": …`) that carry a credential or a signature. Anything else is kept as sent.
pub(super) fn redact_body(raw: &str) -> String {
    if let Ok(mut json) = serde_json::from_str::<serde_json::Value>(raw) {
        if redact_json(&mut json) {
            return json.to_string();
        }
        return raw.to_string();
    }
    if raw.contains('=') && !raw.trim_start().starts_with('{') {
        let mut changed = false;
        let fields: Vec<String> = raw
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if is_sensitive(k) => {
                    changed = true;
                    format!("{k}=[redacted]")
                }
                _ => pair.to_string(),
            })
            .collect();
        if changed {
            return fields.join("&");
        }
    }
    raw.to_string()
}

fn redact_json(value: &mut serde_json::Value) -> bool {
    let mut changed = false;
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_sensitive(k) && !v.is_object() && !v.is_array() {
                    *v = serde_json::Value::String("[redacted]".into());
                    changed = true;
                } else {
                    changed |= redact_json(v);
                }
            }
        }
        serde_json::Value::Array(items) => {
            for v in items {
                changed |= redact_json(v);
            }
        }
        _ => {}
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_and_credentials_are_redacted_from_callback_evidence() {
        let form =
            "merchant_id=508029&state_pol=4&sign=7ffb5e8d2c&value=150.00&reference_sale=pi_1";
        assert_eq!(
            redact_body(form),
            "merchant_id=508029&state_pol=4&sign=[redacted]&value=150.00&reference_sale=pi_1"
        );
        let json = r#"{"id":"D-1","signature":"abc","ticket":{"number":"4280"},"api_key":"k"}"#;
        let redacted = redact_body(json);
        assert!(
            !redacted.contains("abc") && !redacted.contains("\"k\""),
            "{redacted}"
        );
        assert!(redacted.contains("4280"));
        let plain = r#"{"id":"cb_1","type":"collection.paid"}"#;
        assert_eq!(redact_body(plain), plain);
        let headers = vec![
            (
                "authorization".to_string(),
                "V2-HMAC-SHA256, Signature: ff00".to_string(),
            ),
            ("x-date".to_string(), "2026-12-05T10:00:00Z".to_string()),
            ("x-trans-key".to_string(), "tk-secret".to_string()),
            ("x-kushki-signature".to_string(), "beef".to_string()),
            ("sim-signature".to_string(), "v1=00".to_string()),
            ("sim-callback-id".to_string(), "cb_1".to_string()),
            ("user-agent".to_string(), "x".to_string()),
        ];
        let text = evidence_headers(&headers);
        for secret in ["ff00", "tk-secret", "beef", "v1=00"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(text.contains("x-date: 2026-12-05T10:00:00Z"));
        assert!(text.contains("sim-callback-id: cb_1"));
        assert!(!text.contains("user-agent"));
    }
}
