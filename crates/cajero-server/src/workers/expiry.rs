//! Closes vouchers and pick-up codes whose `expires_at` has passed — after asking the network.
//!
//! A customer may pay in the last seconds before expiry, and the network's callback may arrive
//! after this sweep. So an order is never closed on our clock alone: the network is asked
//! first. If it says paid (or collected), that is recorded instead; if the order is still open
//! there, it is canceled there first, so that it can no longer be paid or collected once we
//! close it (a payout's funds are released only then). If the network does not answer, the
//! order is left open and asked again on the next pass; a voucher whose network stays silent
//! for [`NETWORK_SILENCE_S_MAX`] past its expiry is closed locally, and a payment made in time
//! that the network reports later still wins (`payins::record_payment`). A payout is never
//! released without the network's word: its code could still be collected.
//!
//! Objects on real time are due at the instance's now; objects on a test clock when their
//! clock passes their expiry (`crate::test_clocks`: an advance runs
//! [`close_due_on_test_clocks`] for its clock before answering; this worker catches up on
//! whatever an advance could not close).

use cajero_connect::{ConnectError, Connector, Evidence, NetworkOrder, NetworkStatus, OrderKind};
use cajero_domain::id::TestClockId;
use cajero_domain::lifecycle::{PayinEvent, PayoutEvent};
use cajero_store::payins::PayinRecord;
use cajero_store::payouts::PayoutRecord;
use cajero_store::{payins, payouts};
use futures::StreamExt as _;
use jiff::{SignedDuration, Timestamp};

use crate::AppState;

/// Orders closed per step at most (of each kind).
pub const EXPIRY_BATCH_MAX: i64 = 100;

/// Orders whose network is asked at once.
pub const NETWORK_CALLS_IN_FLIGHT_MAX: usize = 8;

/// How long past its expiry a voucher stays open while its network does not answer: one day
/// (on the voucher's own timeline). Then it closes; a payment made in time still wins later.
pub const NETWORK_SILENCE_S_MAX: i64 = 24 * 3600;

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

/// Which objects are due.
#[derive(Debug, Clone, Copy)]
enum Due {
    /// Objects on real time, at this instant.
    RealTime(Timestamp),
    /// Objects on test clocks (one clock, or all), each at its clock's time.
    TestClocks(Option<TestClockId>),
}

/// Closes what expired by now, on real time and on every test clock; returns how many orders
/// it closed (or found paid).
pub async fn run_once(state: &AppState) -> anyhow::Result<usize> {
    let now = state.clock.now();
    let real = close_due(state, Due::RealTime(now)).await?;
    let clocks = close_due(state, Due::TestClocks(None)).await?;
    Ok(real + clocks)
}

/// Closes what expired on one test clock (or on all, with `None`); one batch.
pub async fn close_due_on_test_clocks(
    state: &AppState,
    clock: Option<TestClockId>,
) -> anyhow::Result<usize> {
    close_due(state, Due::TestClocks(clock)).await
}

async fn close_due(state: &AppState, due: Due) -> anyhow::Result<usize> {
    let (due_payins, due_payouts) = state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                let limit = EXPIRY_BATCH_MAX;
                Ok::<_, cajero_store::StoreError>(match due {
                    Due::RealTime(now) => (
                        payins::due_for_expiry(&mut c, now, limit).await?,
                        payouts::due_for_expiry(&mut c, now, limit).await?,
                    ),
                    Due::TestClocks(clock) => (
                        payins::due_on_test_clocks(&mut c, clock, limit).await?,
                        payouts::due_on_test_clocks(&mut c, clock, limit).await?,
                    ),
                })
            })
        })
        .await?;
    let payins = futures::stream::iter(due_payins)
        .map(|p| expire_payin(state, p))
        .buffer_unordered(NETWORK_CALLS_IN_FLIGHT_MAX)
        .collect::<Vec<_>>();
    let payouts = futures::stream::iter(due_payouts)
        .map(|p| expire_payout(state, p))
        .buffer_unordered(NETWORK_CALLS_IN_FLIGHT_MAX)
        .collect::<Vec<_>>();
    let (payins, payouts) = tokio::join!(payins, payouts);
    let mut closed = 0;
    for result in payins.into_iter().chain(payouts) {
        if result? {
            closed += 1;
        }
    }
    Ok(closed)
}

/// What the network's word means for an order past its expiry.
#[derive(Debug)]
enum Verdict {
    /// It was paid or collected: record that.
    Paid(Box<NetworkOrder>),
    /// It is closed there (expired, canceled, or canceled by us now, or unknown there).
    Close,
    /// No answer: ask again later.
    RetryLater,
}

/// Asks the network about an order past its expiry: its status, and if it is still open there,
/// cancels it there so that nobody can pay or collect it any more.
async fn ask_network(
    connector: &dyn Connector,
    kind: OrderKind,
    order_id: &str,
    evidence: &mut Vec<Evidence>,
) -> Verdict {
    let read = |result: Result<NetworkOrder, ConnectError>| match result {
        Ok(order) if order.status == NetworkStatus::Paid => Some(Verdict::Paid(Box::new(order))),
        Ok(order)
            if matches!(
                order.status,
                NetworkStatus::Expired | NetworkStatus::Canceled
            ) =>
        {
            Some(Verdict::Close)
        }
        Ok(_) => None,
        Err(ConnectError::NotFound) => Some(Verdict::Close),
        Err(_) => Some(Verdict::RetryLater),
    };
    let got = connector.get(kind, order_id).await;
    evidence.extend(got.evidence);
    if let Some(verdict) = read(got.result) {
        return verdict;
    }
    let canceled = connector.cancel(kind, order_id).await;
    evidence.extend(canceled.evidence);
    match canceled.result {
        Ok(_) | Err(ConnectError::NotFound) => Verdict::Close,
        Err(ConnectError::NotCancelable) => {
            // Paid, collected or expired between our two calls.
            let again = connector.get(kind, order_id).await;
            evidence.extend(again.evidence);
            read(again.result).unwrap_or(Verdict::RetryLater)
        }
        Err(e) => {
            tracing::warn!(order = order_id, error = %e, "could not cancel an expired order at the network; will retry");
            Verdict::RetryLater
        }
    }
}

/// Whether `expires_at` is more than [`NETWORK_SILENCE_S_MAX`] behind the object's time.
async fn silent_too_long(
    state: &AppState,
    test_clock: Option<TestClockId>,
    expires_at: Timestamp,
) -> anyhow::Result<bool> {
    let clock = state.clock.clone();
    let now = state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                crate::test_clocks::object_now(&mut c, clock.as_ref(), test_clock).await
            })
        })
        .await?;
    Ok(now.duration_since(expires_at) > SignedDuration::from_secs(NETWORK_SILENCE_S_MAX))
}

/// Closes (or records as paid) one voucher past its expiry; false when left for later.
async fn expire_payin(state: &AppState, payin: PayinRecord) -> anyhow::Result<bool> {
    let mut evidence = Vec::new();
    let verdict = match state
        .networks
        .connector(payin.mode, &payin.route, &payin.network)
    {
        // No way to ask any more (the network left the configuration): close here; a payment
        // made in time that it reports later still wins.
        None => Verdict::Close,
        Some(connector) => {
            let kind = OrderKind::Collection;
            ask_network(
                connector.as_ref(),
                kind,
                &payin.network_order_id,
                &mut evidence,
            )
            .await
        }
    };
    let verdict = match verdict {
        Verdict::RetryLater
            if silent_too_long(state, payin.test_clock, payin.expires_at).await? =>
        {
            tracing::warn!(payin = %payin.id, "the network has not answered for a day past expiry; closing the voucher here");
            Verdict::Close
        }
        other => other,
    };
    let done = !matches!(verdict, Verdict::RetryLater);
    let clock = state.clock.clone();
    let risk = state.risk.clone();
    let public_url = state.config.public_url();
    state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                let object_id = payin.id.to_string();
                let link = crate::networks::EvidenceLink {
                    merchant: Some(payin.merchant_id),
                    mode: payin.mode,
                    network: &payin.network,
                    object_id: Some(&object_id),
                    direction: "outbound",
                };
                crate::networks::store_evidence(&mut c, clock.as_ref(), link, &evidence).await?;
                // Re-read inside the unit: a callback may have paid it meanwhile.
                let Some(current) =
                    payins::get(&mut c, payin.merchant_id, payin.mode, payin.id).await?
                else {
                    return Ok::<_, cajero_store::StoreError>(());
                };
                let (clock, url) = (clock.as_ref(), public_url.as_str());
                match verdict {
                    Verdict::Paid(order) => {
                        crate::payins::apply_network_order(
                            &mut c, clock, &risk, url, &current, &order,
                        )
                        .await
                    }
                    Verdict::Close => {
                        crate::payins::close(&mut c, clock, url, &current, PayinEvent::Expire).await
                    }
                    Verdict::RetryLater => Ok(()),
                }
            })
        })
        .await?;
    Ok(done)
}

/// Closes (or records as collected) one pick-up code past its expiry; false when left for
/// later. The funds are released only once the network has confirmed the code is dead.
async fn expire_payout(state: &AppState, payout: PayoutRecord) -> anyhow::Result<bool> {
    let mut evidence = Vec::new();
    let verdict = match (
        &payout.network_order_id,
        state
            .networks
            .connector(payout.mode, &payout.route, &payout.network),
    ) {
        (Some(order_id), Some(connector)) => {
            ask_network(
                connector.as_ref(),
                OrderKind::Payout,
                order_id,
                &mut evidence,
            )
            .await
        }
        // No code at the network, or no network to reach: nothing can be collected.
        _ => Verdict::Close,
    };
    let done = !matches!(verdict, Verdict::RetryLater);
    let clock = state.clock.clone();
    let risk = state.risk.clone();
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
                crate::networks::store_evidence(&mut c, clock.as_ref(), link, &evidence).await?;
                let Some(current) =
                    payouts::get(&mut c, payout.merchant_id, payout.mode, payout.id).await?
                else {
                    return Ok::<_, cajero_store::StoreError>(());
                };
                let (clock, url) = (clock.as_ref(), public_url.as_str());
                match verdict {
                    Verdict::Paid(order) => {
                        crate::payouts::apply_network_order(
                            &mut c, clock, &risk, url, &current, &order,
                        )
                        .await
                    }
                    Verdict::Close => {
                        let expire = PayoutEvent::Expire;
                        let closing = cajero_store::payouts::Closing::default();
                        crate::payouts::close(&mut c, clock, url, &current, expire, closing)
                            .await
                            .map(|_| ())
                    }
                    Verdict::RetryLater => Ok(()),
                }
            })
        })
        .await?;
    Ok(done)
}
