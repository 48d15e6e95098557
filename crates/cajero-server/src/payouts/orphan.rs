//! Orders a network issued for a payout that can no longer take them: recorded as exceptions
//! and canceled at the network.

// The parent module's imports: these lines were part of it.
use super::*;

/// Records an order the network issued for `payout` that it cannot take (it is `status`), as
/// an `orphan_network_order` exception with an `alert.raised` to the merchant.
pub(super) async fn record_orphan(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    payout: &PayoutRecord,
    network: &str,
    order_id: &str,
    status: &str,
) -> Result<(), StoreError> {
    let now = clock.now();
    let exception_id = orphan_exception_id(&payout.id.to_string());
    let object_id = payout.id.to_string();
    let detail = format!(
        "the network issued order {order_id} for payout {} after it was {status}; canceling it at the network",
        payout.id
    );
    let exception = cajero_store::exceptions::NewException {
        id: &exception_id,
        merchant_id: Some(payout.merchant_id),
        mode: payout.mode,
        kind: cajero_store::exceptions::ORPHAN_NETWORK_ORDER,
        object_id: &object_id,
        amount: payout.amount,
        currency: payout.currency,
        network: Some(network),
        network_order_id: Some(order_id),
        detail: Some(&detail),
    };
    if cajero_store::exceptions::record(conn, &exception, now).await? {
        tracing::error!(payout = %payout.id, network, order = order_id, status, "network order without an owning payout: canceling it");
        let spec = crate::alerts::AlertSpec {
            mode: payout.mode,
            code: crate::alerts::codes::ORPHAN_NETWORK_ORDER,
            subject: exception_id.clone(),
            merchant: Some(payout.merchant_id),
            severity: crate::alerts::Severity::Warning,
            message: detail.clone(),
            details: serde_json::json!({
                "payout": payout.id.to_string(), "network": network, "network_order_id": order_id,
            }),
        };
        crate::alerts::raise(conn, now, spec).await?;
    }
    Ok(())
}

/// The exception recording an orphan order issued for `payout_id` (one per payout: the
/// network creates at most one order per reference).
pub(super) fn orphan_exception_id(payout_id: &str) -> String {
    format!("exc_orphan_{payout_id}")
}

/// Cancels an orphan order at the network, keeping the exchange as evidence, and resolves its
/// exception when the network confirms. A failure leaves the exception open for the poller.
pub async fn cancel_orphan(
    state: &AppState,
    mode: Mode,
    payout_id: &str,
    network: &str,
    connector: &dyn cajero_connect::Connector,
    order_id: &str,
) {
    let exchange = connector.cancel(OrderKind::Payout, order_id).await;
    let canceled = match &exchange.result {
        Ok(order) => order.status == cajero_connect::NetworkStatus::Canceled,
        Err(cajero_connect::ConnectError::NotFound) => true,
        Err(_) => false,
    };
    let outcome = match &exchange.result {
        Ok(order) => format!("network answered {:?}", order.status),
        Err(e) => e.to_string(),
    };
    let (clock, code) = (state.clock.clone(), network.to_string());
    let exception_id = orphan_exception_id(payout_id);
    let object_id = payout_id.to_string();
    let answer = outcome.clone();
    let result = state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                let link = crate::networks::EvidenceLink {
                    merchant: None,
                    mode,
                    network: &code,
                    object_id: Some(&object_id),
                    direction: "outbound",
                };
                crate::networks::store_evidence(&mut c, clock.as_ref(), link, &exchange.evidence)
                    .await?;
                if canceled {
                    let detail = format!("canceled at the network: {answer}");
                    cajero_store::exceptions::resolve(&mut c, &exception_id, &detail, clock.now())
                        .await?;
                    let exception = cajero_store::exceptions::get(&mut c, &exception_id).await?;
                    let merchant = exception
                        .as_ref()
                        .and_then(|e| e.merchant_id.as_deref())
                        .and_then(|m| m.parse().ok());
                    crate::alerts::resolve(
                        &mut c,
                        clock.now(),
                        mode,
                        crate::alerts::codes::ORPHAN_NETWORK_ORDER,
                        &exception_id,
                        merchant,
                        &detail,
                    )
                    .await?;
                    if let Some(exception) = &exception {
                        crate::reconciliation::resolve_overdue_alert(
                            &mut c,
                            clock.now(),
                            exception,
                            &detail,
                        )
                        .await?;
                    }
                }
                Ok::<_, StoreError>(())
            })
        })
        .await;
    if let Err(error) = result {
        tracing::error!(%error, order = order_id, "could not record the cancelation of an orphan network order");
    } else if !canceled {
        tracing::error!(order = order_id, %outcome, "could not cancel an orphan network order; the poller retries");
    }
}
