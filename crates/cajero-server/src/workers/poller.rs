//! Asks the networks about orders they have gone quiet on.
//!
//! * An open voucher or pick-up code whose network said nothing for `orders.poll_after_ms` is
//!   re-queried: a late or lost callback must not leave money unseen.
//! * A payout accepted but without a code for `orders.stuck_create_after_ms` (the server died
//!   between reserving funds and hearing from the network) is looked up by our reference:
//!   issued if the network has it, failed with its funds released if not.
//! * An order the network issued for a payout that could no longer take it, and that the
//!   network did not confirm canceled, is canceled again.
//!
//! (Old evidence is deleted by the purge worker, [`super::purge`].)

use std::time::Duration;

use cajero_connect::OrderKind;
use cajero_domain::lifecycle::PayoutStatus;
use cajero_store::{payins, payouts};
use jiff::SignedDuration;

use crate::AppState;

/// Orders looked at per step at most.
pub const POLL_BATCH_MAX: i64 = 50;

/// Pacing: a look every 30 s when idle.
pub const PACING: super::LoopPacing = super::LoopPacing {
    idle_sleep: Duration::from_secs(30),
    error_backoff: Duration::from_secs(30),
};

/// The poller.
#[derive(Debug)]
pub struct PollerWorker {
    /// Shared state.
    pub state: AppState,
}

impl super::Worker for PollerWorker {
    fn name(&self) -> &'static str {
        "poller"
    }

    async fn step(&self) -> anyhow::Result<usize> {
        run_once(&self.state).await
    }
}

fn ago(state: &AppState, ms: u64) -> jiff::Timestamp {
    let now = state.clock.now();
    let back = SignedDuration::from_millis(i64::try_from(ms).unwrap_or(i64::MAX));
    now.checked_sub(back).unwrap_or(now)
}

/// One look at quiet orders; returns how many it asked the networks about.
pub async fn run_once(state: &AppState) -> anyhow::Result<usize> {
    let quiet = ago(state, state.config.orders.poll_after_ms);
    let stuck = ago(state, state.config.orders.stuck_create_after_ms);
    let open_payins = state
        .store
        .read(move |mut c| {
            Box::pin(async move { payins::open_older_than(&mut c, quiet, POLL_BATCH_MAX).await })
        })
        .await?;
    let stuck_payouts = state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                payouts::stale(&mut c, PayoutStatus::Pending, stuck, POLL_BATCH_MAX).await
            })
        })
        .await?;
    let open_payouts = state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                payouts::stale(&mut c, PayoutStatus::Available, quiet, POLL_BATCH_MAX).await
            })
        })
        .await?;
    let looked = open_payins.len() + stuck_payouts.len() + open_payouts.len();
    let public_url = state.config.public_url();
    for payin in open_payins {
        let Some(connector) = state
            .networks
            .connector(payin.mode, &payin.route, &payin.network)
        else {
            continue;
        };
        let exchange = connector
            .get(OrderKind::Collection, &payin.network_order_id)
            .await;
        let late = late_callback(
            state,
            &exchange.result,
            payin.mode,
            &payin.route,
            &payin.network,
        );
        let (clock, url, risk) = (state.clock.clone(), public_url.clone(), state.risk.clone());
        state
            .store
            .write(move |mut c| {
                Box::pin(async move {
                    store(&mut c, clock.as_ref(), &payin.network, payin.merchant_id, payin.mode, &payin.id.to_string(), &exchange.evidence).await?;
                    if let Some((key, by)) = &late {
                        crate::health::alerting::callbacks_late(&mut c, clock.now(), key, *by).await?;
                    }
                    match exchange.result {
                        Ok(order) => crate::payins::apply_network_order(&mut c, clock.as_ref(), &risk, &url, &payin, &order).await?,
                        Err(e) => tracing::warn!(payin = %payin.id, error = %e, "could not re-query a quiet voucher"),
                    }
                    payins::touch(&mut c, payin.id, clock.now()).await
                })
            })
            .await?;
    }
    for payout in stuck_payouts {
        let Some(connector) = state
            .networks
            .connector(payout.mode, &payout.route, &payout.network)
        else {
            continue;
        };
        let exchange = connector
            .find_by_reference(OrderKind::Payout, &payout.id.to_string())
            .await;
        let (clock, url) = (state.clock.clone(), public_url.clone());
        state
            .store
            .write(move |mut c| {
                Box::pin(async move {
                    store(
                        &mut c,
                        clock.as_ref(),
                        &payout.network,
                        payout.merchant_id,
                        payout.mode,
                        &payout.id.to_string(),
                        &exchange.evidence,
                    )
                    .await?;
                    crate::payouts::resolve_stuck(
                        &mut c,
                        clock.as_ref(),
                        &url,
                        &payout,
                        exchange.result,
                    )
                    .await
                })
            })
            .await?;
    }
    for payout in open_payouts {
        let (Some(order_id), Some(connector)) = (
            payout.network_order_id.clone(),
            state
                .networks
                .connector(payout.mode, &payout.route, &payout.network),
        ) else {
            continue;
        };
        let exchange = connector.get(OrderKind::Payout, &order_id).await;
        let late = late_callback(
            state,
            &exchange.result,
            payout.mode,
            &payout.route,
            &payout.network,
        );
        let (clock, url, risk) = (state.clock.clone(), public_url.clone(), state.risk.clone());
        state
            .store
            .write(move |mut c| {
                Box::pin(async move {
                    if let Some((key, by)) = &late {
                        crate::health::alerting::callbacks_late(&mut c, clock.now(), key, *by)
                            .await?;
                    }
                    store(
                        &mut c,
                        clock.as_ref(),
                        &payout.network,
                        payout.merchant_id,
                        payout.mode,
                        &payout.id.to_string(),
                        &exchange.evidence,
                    )
                    .await?;
                    if let Ok(order) = exchange.result {
                        crate::payouts::apply_network_order(
                            &mut c,
                            clock.as_ref(),
                            &risk,
                            &url,
                            &payout,
                            &order,
                        )
                        .await?;
                    }
                    payouts::touch(&mut c, payout.id, clock.now()).await
                })
            })
            .await?;
    }
    Ok(looked + retry_orphan_cancels(state).await?)
}

/// An order the network reports paid (or collected) longer than `health.callback_late_s` ago
/// that our books still hold open: its callback is late or lost. The route and by how much.
fn late_callback(
    state: &AppState,
    found: &Result<cajero_connect::NetworkOrder, cajero_connect::ConnectError>,
    mode: cajero_domain::merchant::Mode,
    route: &str,
    network: &str,
) -> Option<(crate::health::RouteKey, Duration)> {
    let order = found.as_ref().ok()?;
    let paid_at = order.paid_at?;
    if order.status != cajero_connect::NetworkStatus::Paid {
        return None;
    }
    let by = state.clock.now().duration_since(paid_at);
    let limit = i64::from(state.networks.health().config().callback_late_s);
    (by.as_secs() >= limit).then(|| {
        (
            crate::health::RouteKey {
                mode,
                route: route.to_string(),
                network: network.to_string(),
            },
            by.unsigned_abs(),
        )
    })
}

/// Cancels again, at the network, orders that no payout of ours could take and that the
/// network did not confirm canceled the first time; returns how many it tried.
pub async fn retry_orphan_cancels(state: &AppState) -> anyhow::Result<usize> {
    use cajero_store::exceptions;
    let orphans = state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                exceptions::of_kind(
                    &mut c,
                    exceptions::ORPHAN_NETWORK_ORDER,
                    true,
                    POLL_BATCH_MAX,
                )
                .await
            })
        })
        .await?;
    let tried = orphans.len();
    for orphan in orphans {
        let mode = cajero_domain::merchant::Mode::from_livemode(orphan.livemode);
        let (Some(network), Some(order_id)) = (orphan.network, orphan.network_order_id) else {
            continue;
        };
        let Some(connector) = state.networks.only_route(mode, &network) else {
            tracing::error!(exception = %orphan.id, network, "orphan network order on a network this instance does not reach through exactly one route; an operator must cancel it at the gateway");
            continue;
        };
        crate::payouts::cancel_orphan(
            state,
            mode,
            &orphan.object_id,
            &network,
            connector.as_ref(),
            &order_id,
        )
        .await;
    }
    Ok(tried)
}

async fn store(
    c: &mut cajero_store::Conn<'_>,
    clock: &dyn crate::clock::Clock,
    network: &str,
    merchant: cajero_domain::id::MerchantId,
    mode: cajero_domain::merchant::Mode,
    object_id: &str,
    evidence: &[cajero_connect::Evidence],
) -> Result<(), cajero_store::StoreError> {
    let link = crate::networks::EvidenceLink {
        merchant: Some(merchant),
        mode,
        network,
        object_id: Some(object_id),
        direction: "outbound",
    };
    crate::networks::store_evidence(c, clock, link, evidence).await
}
