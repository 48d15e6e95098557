//! Closes vouchers and pick-up codes at `expires_at`.
//!
//! A pay-in closes here; a payment that still arrives later is an exception, never lost (see
//! `payins::record_payment`). A payout's code is first canceled at the network, so that it can
//! no longer be collected once its funds are released; if the network says it was collected
//! meanwhile, the payout is recorded as paid instead.

use cajero_connect::{ConnectError, OrderKind};
use cajero_domain::lifecycle::{PayinEvent, PayoutEvent};
use cajero_store::{payins, payouts};

use crate::AppState;

/// Orders closed per step at most.
pub const EXPIRY_BATCH_MAX: i64 = 100;

/// How often the worker looks for expired orders when there are none.
pub const PACING: super::LoopPacing = super::LoopPacing {
    idle_sleep: std::time::Duration::from_secs(5),
    error_backoff: std::time::Duration::from_secs(10),
};

/// The expiry worker.
#[derive(Debug, Clone)]
pub struct ExpiryWorker {
    /// Shared state.
    pub state: AppState,
}

impl super::Worker for ExpiryWorker {
    fn name(&self) -> &'static str {
        "expiry"
    }

    async fn step(&self) -> anyhow::Result<usize> {
        run_once(&self.state).await
    }
}

/// Closes what expired by now; returns how many orders it closed.
pub async fn run_once(state: &AppState) -> anyhow::Result<usize> {
    let now = state.clock.now();
    let due_payins = state
        .store
        .read(move |mut c| {
            Box::pin(async move { payins::due_for_expiry(&mut c, now, EXPIRY_BATCH_MAX).await })
        })
        .await?;
    let mut closed = 0;
    for payin in due_payins {
        let clock = state.clock.clone();
        let public_url = state.config.public_url();
        state
            .store
            .write(move |mut c| {
                Box::pin(async move {
                    // Re-read inside the unit: a callback may have paid it meanwhile.
                    let Some(current) =
                        payins::get(&mut c, payin.merchant_id, payin.mode, payin.id).await?
                    else {
                        return Ok::<_, cajero_store::StoreError>(());
                    };
                    crate::payins::close(
                        &mut c,
                        clock.as_ref(),
                        &public_url,
                        &current,
                        PayinEvent::Expire,
                    )
                    .await
                })
            })
            .await?;
        closed += 1;
    }
    let due_payouts = state
        .store
        .read(move |mut c| {
            Box::pin(async move { payouts::due_for_expiry(&mut c, now, EXPIRY_BATCH_MAX).await })
        })
        .await?;
    for payout in due_payouts {
        let mut collected_order = None;
        // Every exchange with the network is kept as evidence, whatever came of it.
        let mut evidence = Vec::new();
        let mut retry_later = false;
        if let (Some(order_id), Some(connector)) = (
            &payout.network_order_id,
            state.networks.get(payout.mode, &payout.network),
        ) {
            let exchange = connector.cancel(OrderKind::Payout, order_id).await;
            evidence.extend(exchange.evidence);
            match &exchange.result {
                Ok(_) | Err(ConnectError::NotFound) => {}
                Err(ConnectError::NotCancelable) => {
                    let order = connector.get(OrderKind::Payout, order_id).await;
                    evidence.extend(order.evidence);
                    collected_order = order.result.ok();
                }
                Err(e) => {
                    tracing::warn!(payout = %payout.id, error = %e, "could not cancel an expired code at the network; will retry");
                    retry_later = true;
                }
            }
        }
        let clock = state.clock.clone();
        let public_url = state.config.public_url();
        state
            .store
            .write(move |mut c| {
                Box::pin(async move {
                    let object_id = payout.id.to_string();
                    let link = crate::networks::EvidenceLink {
                        merchant: Some(payout.merchant_id),
                        mode: payout.mode,
                        network: &payout.network,
                        object_id: Some(&object_id),
                        direction: "outbound",
                    };
                    crate::networks::store_evidence(&mut c, clock.as_ref(), link, &evidence)
                        .await?;
                    if retry_later {
                        return Ok(());
                    }
                    let Some(current) =
                        payouts::get(&mut c, payout.merchant_id, payout.mode, payout.id).await?
                    else {
                        return Ok::<_, cajero_store::StoreError>(());
                    };
                    match collected_order {
                        Some(order) => {
                            crate::payouts::apply_network_order(
                                &mut c,
                                clock.as_ref(),
                                &public_url,
                                &current,
                                &order,
                            )
                            .await
                        }
                        None => {
                            crate::payouts::close(
                                &mut c,
                                clock.as_ref(),
                                &public_url,
                                &current,
                                PayoutEvent::Expire,
                                None,
                            )
                            .await
                        }
                    }
                })
            })
            .await?;
        if !retry_later {
            closed += 1;
        }
    }
    Ok(closed)
}
