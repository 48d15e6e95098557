//! Cleans up `Idempotency-Key` claims that crashed requests left `running` and nobody retried.
//!
//! A request that calls a network commits its claim (`running`, held by this instance's
//! incarnation) before the call. If the instance dies before the result commits, the claim
//! stays `running`. A retry of the request may take it over at once (its holder is dead) and
//! continues the same order under the same id; this worker settles the claims nobody retried
//! within [`RETRY_FIRST_S`] (and those whose lock ran out), each taken over first so that no
//! retry runs meanwhile:
//!
//! * no resource id: the request died before choosing one; the claim is deleted.
//! * a pay-in (`pi_…`) that does not exist: the network may have issued a voucher under that
//!   reference that nobody ever got. Every network of the mode is asked for it by reference;
//!   an open one is canceled; then the claim is deleted (the exchanges are kept as evidence).
//!   When a network cannot answer, or cannot cancel, the claim is kept, locked for
//!   [`LOCK_S`] seconds, and looked at again then.
//! * payouts (`po_…`) and existing pay-ins are not touched: their own resolution (the poller's
//!   stuck payouts, the pay-in's lifecycle) settles them.

use std::sync::Arc;
use std::time::Duration;

use cajero_connect::{ConnectError, Connector, Evidence, NetworkStatus, OrderKind};
use cajero_store::idempotency::{self, AbandonedClaim};
use jiff::SignedDuration;

use crate::AppState;
use crate::idempotency::LOCK_S;

/// Claims settled per step at most.
pub const BATCH_MAX: i64 = 20;

/// A claim whose holder died is left this long after it was made to a retry of its request
/// (which continues the same order under the same id) before it is cleaned up.
pub const RETRY_FIRST_S: i64 = 15;

/// Pacing: a look every 5 s when idle (a dead holder is known dead 10 s after its last
/// heartbeat).
pub const PACING: super::LoopPacing = super::LoopPacing {
    idle_sleep: Duration::from_secs(5),
    error_backoff: Duration::from_secs(10),
};

/// The cleaner.
#[derive(Debug)]
pub struct ClaimsWorker {
    /// Shared state.
    pub state: AppState,
}

impl super::Worker for ClaimsWorker {
    fn name(&self) -> &'static str {
        "claims"
    }

    async fn step(&self) -> anyhow::Result<usize> {
        run_once(&self.state).await.map(|r| r.taken)
    }
}

/// What one step came to.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CleanupStats {
    /// Abandoned claims taken over.
    pub taken: usize,
    /// Claims deleted (settled).
    pub deleted: usize,
    /// Orders canceled at a network.
    pub orders_canceled: usize,
    /// Claims kept for a later look (a network could not answer or cancel).
    pub kept: usize,
}

/// Takes over a batch of abandoned claims and settles each; tests call this with a manual
/// clock.
pub async fn run_once(state: &AppState) -> anyhow::Result<CleanupStats> {
    let instance = state.instance.clone();
    if !instance.is_registered() {
        return Ok(CleanupStats::default());
    }
    let now = state.clock.now();
    let created_before = now
        .checked_sub(SignedDuration::from_secs(RETRY_FIRST_S))
        .unwrap_or(now);
    let locked_until = now
        .checked_add(SignedDuration::from_secs(LOCK_S))
        .unwrap_or(now);
    let holder = instance.incarnation().to_string();
    let taken = state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                idempotency::take_abandoned(
                    &mut c,
                    &holder,
                    now,
                    created_before,
                    locked_until,
                    BATCH_MAX,
                )
                .await
            })
        })
        .await?;
    let mut stats = CleanupStats {
        taken: taken.len(),
        ..CleanupStats::default()
    };
    for claim in taken {
        let settled = match claim.resource_id.as_deref() {
            None => Settled::default(),
            Some(id) if id.starts_with("pi_") => cancel_open_voucher(state, claim.mode, id).await,
            // take_abandoned takes no others; keep it as it is.
            Some(_) => Settled {
                keep: true,
                ..Settled::default()
            },
        };
        stats.orders_canceled += settled.canceled;
        if settled.keep {
            stats.kept += 1;
        }
        if finish(state, claim, settled).await? {
            stats.deleted += 1;
        }
    }
    Ok(stats)
}

/// What asking the networks about an order that nothing here owns gave.
#[derive(Debug, Default)]
pub(crate) struct Settled {
    /// Orders canceled.
    pub(crate) canceled: usize,
    /// Undecided, or money moved: nothing may be concluded (look again later).
    pub(crate) keep: bool,
    /// (network, exchange) of every call, to keep as evidence.
    pub(crate) evidence: Vec<(String, Evidence)>,
}

/// Finds and cancels an open voucher issued under `payin_id` at any network of `mode` (asking
/// each connector once): what a crashed request (an abandoned claim) or a release of a held
/// pay-in that died left behind.
pub(crate) async fn cancel_open_voucher(
    state: &AppState,
    mode: cajero_domain::merchant::Mode,
    payin_id: &str,
) -> Settled {
    let mut settled = Settled::default();
    let candidates = match state
        .networks
        .route(mode, cajero_connect::OrderKind::Collection, None)
    {
        Ok(candidates) => candidates,
        Err(_) => {
            tracing::warn!(payin = payin_id, %mode, "an order nothing owns cannot be settled: no network is configured for its mode");
            settled.keep = true;
            return settled;
        }
    };
    let mut asked: Vec<Arc<dyn Connector>> = Vec::new();
    for network in candidates {
        if asked.iter().any(|c| Arc::ptr_eq(c, &network.connector)) {
            continue;
        }
        asked.push(network.connector.clone());
        let found = network
            .connector
            .find_by_reference(OrderKind::Collection, payin_id)
            .await;
        let at = |order_network: Option<&str>| {
            order_network.map_or_else(|| network.code.clone(), str::to_string)
        };
        let order = match found.result {
            Ok(order) => order,
            Err(ConnectError::NotFound) => {
                keep_evidence(&mut settled, at(None), found.evidence);
                continue;
            }
            Err(error) => {
                tracing::warn!(payin = payin_id, network = %network.code, %error, "could not look up the order of an abandoned pay-in claim; looking again later");
                keep_evidence(&mut settled, at(None), found.evidence);
                settled.keep = true;
                continue;
            }
        };
        keep_evidence(&mut settled, at(Some(&order.network)), found.evidence);
        match order.status {
            NetworkStatus::Expired | NetworkStatus::Canceled => {}
            NetworkStatus::Paid => {
                tracing::error!(payin = payin_id, network = %order.network, order = %order.network_order_id, "a voucher issued for a crashed request was paid, and no pay-in records it; keeping its claim for a retry of the request (or an operator)");
                settled.keep = true;
            }
            NetworkStatus::Unrecognized => {
                tracing::error!(payin = payin_id, network = %order.network, order = %order.network_order_id, "the network reports a state it does not document for the order of an abandoned pay-in claim; keeping the claim for an operator (the raw answer is in the evidence)");
                settled.keep = true;
            }
            NetworkStatus::Pending | NetworkStatus::Available | NetworkStatus::Locked => {
                let canceled = network
                    .connector
                    .cancel(OrderKind::Collection, &order.network_order_id)
                    .await;
                keep_evidence(&mut settled, order.network.clone(), canceled.evidence);
                match canceled.result {
                    Ok(_) => {
                        tracing::info!(payin = payin_id, network = %order.network, order = %order.network_order_id, "canceled a voucher that a crashed request left behind");
                        settled.canceled += 1;
                    }
                    Err(error) => {
                        tracing::warn!(payin = payin_id, network = %order.network, %error, "could not cancel a voucher that a crashed request left behind; trying again later");
                        settled.keep = true;
                    }
                }
            }
        }
    }
    settled
}

fn keep_evidence(settled: &mut Settled, network: String, evidence: Vec<Evidence>) {
    settled
        .evidence
        .extend(evidence.into_iter().map(|e| (network.clone(), e)));
}

/// Stores the evidence and, unless the claim is kept, deletes it. Returns whether it was
/// deleted.
async fn finish(
    state: &AppState,
    claim: AbandonedClaim,
    settled: Settled,
) -> Result<bool, cajero_store::StoreError> {
    let clock = state.clock.clone();
    let holder = state.instance.incarnation().to_string();
    state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                for (network, evidence) in &settled.evidence {
                    crate::networks::store_evidence(
                        &mut c,
                        clock.as_ref(),
                        crate::networks::EvidenceLink {
                            merchant: Some(claim.merchant_id),
                            mode: claim.mode,
                            network,
                            object_id: claim.resource_id.as_deref(),
                            direction: "outbound",
                        },
                        std::slice::from_ref(evidence),
                    )
                    .await?;
                }
                if settled.keep {
                    return Ok(false);
                }
                let deleted = idempotency::delete_held(&mut c, &claim, &holder).await?;
                if deleted {
                    tracing::info!(merchant = %claim.merchant_id, mode = %claim.mode, resource = ?claim.resource_id, "deleted an Idempotency-Key claim that a crashed request left running");
                }
                Ok(deleted)
            })
        })
        .await
}
