//! Refunds paid by the network that collected the pay-in (dLocal pays refunds of cash pay-ins
//! by bank transfer). The refund is stored `pending` with its amount reserved against the
//! pay-in in the request's one unit of work; only then, once per refund (a retried request
//! replays the stored answer), it is sent to the network with our refund id as the reference.
//! The network's answer or its notification closes it: paid → `refund.succeeded`; refused,
//! rejected or canceled → `refund.failed` and the amount can be refunded again. A timeout, a
//! pending answer or an undocumented state leaves it pending for the notification (or review):
//! never guessed. Every exchange is stored as evidence, secrets redacted by the connector.
//!
//! Ledger: the network pays the customer out of what it owes us for the pay-in, so the refund
//! moves money from the merchant's available balance to the network's receivable (it owes us
//! that much less): a pending transfer when the refund is stored (refused with
//! `refund_insufficient_balance` when the available balance is short, as a payout would be),
//! posted when the refund succeeds, voided when it fails — every movement balanced.

use std::sync::Arc;

use cajero_connect::{
    ConnectError, Connector, Evidence, NetworkRefund, RefundRequest, RefundStatus as NetStatus,
};
use cajero_domain::id::{RefundId, TransferId};
use cajero_domain::ledger::{
    AccountKey, AccountKind, Transfer, TransferCode, TransferError, TransferMode,
};
use cajero_domain::lifecycle::RefundStatus;
use cajero_domain::merchant::Mode;
use cajero_domain::webhook::EventType;
use cajero_store::exceptions::{REFUND_AMOUNT_MISMATCH, UNRECOGNIZED_NETWORK_STATE};
use cajero_store::ledger::{self, LedgerError, NewBatch};
use cajero_store::payins::{self, PayinRecord};
use cajero_store::refunds::{self, RefundRecord};
use cajero_store::{Conn, StoreError, events};

use crate::AppState;
use crate::clock::{Clock, new_id};
use crate::error::ApiError;
use crate::networks::{EvidenceLink, store_evidence};
use crate::refunds::refund_json;

/// The connector that pays `method` refunds of `payin` itself, if its route has one.
pub fn connector_for(
    state: &AppState,
    payin: &PayinRecord,
    method: &str,
) -> Option<Arc<dyn Connector>> {
    state
        .networks
        .connector(payin.mode, &payin.route, &payin.network)
        .filter(|c| c.refund_method() == Some(method))
}

/// Reserves a network-paid refund's amount: merchant available → the network's receivable,
/// pending. `Ok(false)`: the available balance is short (nothing posted).
pub async fn reserve(
    conn: &mut Conn<'_>,
    payin: &PayinRecord,
    refund: &RefundRecord,
    now: jiff::Timestamp,
) -> Result<bool, StoreError> {
    let (m, mode, cur) = (payin.merchant_id, payin.mode, payin.currency);
    let batch_id = TransferId::derived(refund.id, "reserve");
    let batch = NewBatch {
        id: batch_id.to_string(),
        merchant_id: Some(m),
        mode,
        currency: cur,
        code: TransferCode::Refund,
        source_id: Some(refund.id.to_string()),
        available_on: None,
        transfers: vec![Transfer {
            id: format!("{batch_id}.0"),
            debit: AccountKey::merchant(AccountKind::MerchantAvailable, m, mode, cur),
            credit: AccountKey::network(AccountKind::NetworkReceivable, &payin.network, mode, cur),
            amount: refund.amount,
            mode: TransferMode::Pending,
            code: TransferCode::Refund,
        }],
    };
    match ledger::post_batch(conn, &batch, now).await {
        Ok(_) => Ok(true),
        Err(LedgerError::Transfer(TransferError::ExceedsCredits { .. })) => Ok(false),
        Err(LedgerError::Store(e)) => Err(e),
        Err(other) => Err(StoreError::Corrupt {
            table: "ledger",
            detail: other.to_string(),
        }),
    }
}

/// Posts (succeeded) or voids (failed) a refund's reservation; nothing when none was made.
async fn resolve_reservation(
    conn: &mut Conn<'_>,
    refund: &RefundRecord,
    post: bool,
    now: jiff::Timestamp,
) -> Result<(), StoreError> {
    let reserved = crate::funds::Reserved {
        owner: refund.id,
        merchant: refund.merchant_id,
        mode: refund.mode,
        currency: refund.currency,
        posted: TransferCode::Refund,
        voided: TransferCode::Refund,
    };
    crate::funds::resolve_reservation(conn, reserved, post, now).await
}

/// What the network's answer means for a pending refund: `Some(to)` closes it.
fn outcome(result: &Result<NetworkRefund, ConnectError>) -> Option<RefundStatus> {
    match result {
        Ok(r) => match r.status {
            NetStatus::Succeeded => Some(RefundStatus::Succeeded),
            NetStatus::Failed => Some(RefundStatus::Failed),
            NetStatus::Pending | NetStatus::Unrecognized => None,
        },
        // Refused for good, or nothing was created: the money goes back.
        Err(ConnectError::Rejected { .. } | ConnectError::NotFound) => Some(RefundStatus::Failed),
        Err(ConnectError::Unavailable(_)) => Some(RefundStatus::Failed),
        // May or may not exist at the network: its notification (or review) decides.
        Err(ConnectError::Timeout | ConnectError::Protocol(_) | ConnectError::NotCancelable) => {
            None
        }
    }
}

/// Sends the stored pending refund `refund_id` of `payin` to the network, stores the evidence
/// and applies a final answer. Returns the refund's JSON as it now stands.
pub async fn send(
    state: &AppState,
    connector: Arc<dyn Connector>,
    payin: &PayinRecord,
    refund_id: RefundId,
) -> Result<serde_json::Value, ApiError> {
    let request = RefundRequest {
        reference: refund_id.to_string(),
        network_order_id: payin.network_order_id.clone(),
        amount: match load(state, payin, refund_id).await? {
            Some(r) => r.amount,
            None => return Ok(serde_json::Value::Null),
        },
        bank: None,
    };
    let exchange = connector.refund(&request).await;
    if let Err(e) = &exchange.result {
        tracing::warn!(refund = %refund_id, error = %e, "the network did not take the refund");
    }
    let to = outcome(&exchange.result);
    let evidence = exchange.evidence;
    let clock = state.clock.clone();
    let (merchant, mode, network) = (payin.merchant_id, payin.mode, payin.network.clone());
    let body = state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                let object = refund_id.to_string();
                store_evidence(
                    &mut c,
                    clock.as_ref(),
                    EvidenceLink {
                        merchant: Some(merchant),
                        mode,
                        network: &network,
                        object_id: Some(&object),
                        direction: "outbound",
                    },
                    &evidence,
                )
                .await?;
                if let Some(to) = to {
                    close(&mut c, clock.as_ref(), merchant, mode, refund_id, to).await?;
                }
                crate::refunds::json_of(&mut c, merchant, mode, refund_id).await
            })
        })
        .await?;
    Ok(body)
}

async fn load(
    state: &AppState,
    payin: &PayinRecord,
    id: RefundId,
) -> Result<Option<RefundRecord>, ApiError> {
    let (merchant, mode) = (payin.merchant_id, payin.mode);
    Ok(state
        .store
        .write(move |mut c| Box::pin(async move { refunds::get(&mut c, merchant, mode, id).await }))
        .await?)
}

/// Closes a pending refund as `to` (compare-and-set; a repeat changes nothing): a failed one
/// gives its amount back to what is left to refund of the pay-in. Emits the event.
pub async fn close(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    merchant: cajero_domain::id::MerchantId,
    mode: Mode,
    id: RefundId,
    to: RefundStatus,
) -> Result<bool, StoreError> {
    let Some(refund) = refunds::get(conn, merchant, mode, id).await? else {
        return Ok(false);
    };
    let now = clock.now();
    if !refunds::transition(conn, id, RefundStatus::Pending, to, now).await? {
        return Ok(false);
    }
    let event = match to {
        RefundStatus::Failed => {
            payins::subtract_refunded(conn, refund.payin_id, refund.amount, now).await?;
            resolve_reservation(conn, &refund, false, now).await?;
            EventType::RefundFailed
        }
        _ => {
            resolve_reservation(conn, &refund, true, now).await?;
            EventType::RefundSucceeded
        }
    };
    if let Some(updated) = refunds::get(conn, merchant, mode, id).await? {
        events::emit(
            conn,
            merchant,
            mode.is_live(),
            event,
            &refund_json(&updated),
            new_id(clock),
            now,
        )
        .await?;
    }
    Ok(true)
}

/// Applies a verified refund notification from the route `route` (whose connector collects at
/// `networks`) in one unit of work: finds our refund by the reference the network echoes (our
/// refund id) under the pay-in of the network's payment,
/// stores the evidence and closes the refund when the state is final. Answers whether the
/// refund was found.
pub async fn apply_notification(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    mode: Mode,
    (route, networks): (&str, &[String]),
    refund: &NetworkRefund,
    evidence: Evidence,
) -> Result<bool, StoreError> {
    let mut payin = None;
    for network in networks {
        payin = payins::get_by_network_order(conn, network, &refund.network_order_id)
            .await?
            .filter(|p| p.mode == mode && p.route == route);
        if payin.is_some() {
            break;
        }
    }
    let network = payin.as_ref().map_or(route, |p| p.network.as_str());
    let id = refund
        .reference
        .as_deref()
        .and_then(|r| r.parse::<RefundId>().ok());
    let found = match (&payin, id) {
        (Some(p), Some(id)) => refunds::get(conn, p.merchant_id, mode, id)
            .await?
            .filter(|r| r.payin_id == p.id),
        _ => None,
    };
    let object = found.as_ref().map(|r| r.id.to_string());
    store_evidence(
        conn,
        clock,
        EvidenceLink {
            merchant: payin.as_ref().map(|p| p.merchant_id),
            mode,
            network,
            object_id: object.as_deref(),
            direction: "inbound",
        },
        &[evidence],
    )
    .await?;
    let Some(found) = found else {
        return Ok(false);
    };
    let to = match refund.status {
        NetStatus::Succeeded => RefundStatus::Succeeded,
        NetStatus::Failed => RefundStatus::Failed,
        NetStatus::Pending => return Ok(true),
        NetStatus::Unrecognized => {
            let detail = format!(
                "{route} reported refund {} (our {}) in a state its documentation does not list \
                 ({:?}); the refund is held as it was: see its evidence",
                refund.network_refund_id, found.id, refund.network_status
            );
            hold_refund(
                conn,
                clock,
                &found,
                network,
                refund,
                UNRECOGNIZED_NETWORK_STATE,
                &detail,
            )
            .await?;
            return Ok(true);
        }
    };
    if found.amount != refund.amount {
        let detail = format!(
            "{route} reported refund {} (our {}) for {} COP, not the {} COP asked; the refund is \
             held as it was",
            refund.network_refund_id, found.id, refund.amount, found.amount
        );
        hold_refund(
            conn,
            clock,
            &found,
            network,
            refund,
            REFUND_AMOUNT_MISMATCH,
            &detail,
        )
        .await?;
        return Ok(true);
    }
    close(conn, clock, found.merchant_id, mode, found.id, to).await?;
    Ok(true)
}

/// Holds a refund for review (see [`crate::networks::hold_for_review`]).
async fn hold_refund(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    found: &RefundRecord,
    network: &str,
    refund: &NetworkRefund,
    kind: &'static str,
    detail: &str,
) -> Result<(), StoreError> {
    let object_id = found.id.to_string();
    crate::networks::hold_for_review(
        conn,
        clock,
        crate::networks::Held {
            merchant: found.merchant_id,
            mode: found.mode,
            kind,
            object_id: &object_id,
            amount: found.amount,
            network,
            network_order_id: &refund.network_refund_id,
            detail,
        },
    )
    .await
}
