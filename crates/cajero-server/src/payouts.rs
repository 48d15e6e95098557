//! Payouts: cash pick-up codes, from the reservation of funds to collection, expiry or
//! cancelation.
//!
//! The funds (amount + fee + IVA + GMF) are reserved on the merchant's balance, as pending
//! ledger transfers, in the same unit of work that accepts the payout and before the network
//! is asked for a code: a code never exists without the money behind it. Collection posts the
//! reservation; expiry, cancelation and failure void it. Cash collected after we closed the
//! payout is accounted for in [`late`].

use axum::http::StatusCode;
use cajero_connect::{
    Callback, CallbackKind, ConnectError, CreatePickup, DocumentRef, NetworkOrder, OrderKind,
    TestClockRef,
};
use cajero_domain::document::Document;
use cajero_domain::id::{PayoutId, RefundId, TestClockId, TransferId};
use cajero_domain::ledger::fees::{FeeBreakdown, FeePlan};
use cajero_domain::ledger::{
    AccountKey, AccountKind, Transfer, TransferCode, TransferError, TransferMode,
};
use cajero_domain::lifecycle::{PayoutEvent, PayoutStatus, Step};
use cajero_domain::merchant::Mode;
use cajero_domain::money::{Amount, Currency};
use cajero_domain::name::PersonName;
use cajero_domain::webhook::EventType;
use cajero_store::idempotency::KeyScope;
use cajero_store::ledger::{self, LedgerError, NewBatch};
use cajero_store::payouts::{self, AttemptRecord, PayoutRecord};
use cajero_store::{Conn, StoreError, events, merchant_settings};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Caller;
use crate::clock::{Clock, new_id};
use crate::error::ApiError;
use crate::idempotency::{Answer, IdempotencyKey};
use crate::orders::{self, Claimed, ClaimedIn, NetworkCall, UnitOutcome};
use crate::refunds::RefundLink;
use crate::validate::{self, DocumentIn};

mod late;
mod orphan;
mod release;
mod request;
mod view;

pub use orphan::cancel_orphan;
use orphan::record_orphan;
pub use release::release;
pub use request::{BeneficiaryIn, CreatePayout, PayoutRequest};
pub use view::{AttemptView, PayoutView, PickupView, payout_json, payout_view};

/// Pick-up validity by default: 7 days (API.md).
pub const EXPIRES_IN_S_DEFAULT: i64 = 7 * 24 * 3600;
/// Shortest: 1 h.
pub const EXPIRES_IN_S_MIN: i64 = 3600;
/// Longest: 30 days.
pub const EXPIRES_IN_S_MAX: i64 = 30 * 24 * 3600;

/// Creates a payout: reserve, then ask the network for a code, then record the outcome.
pub async fn create(
    state: &AppState,
    caller: Caller,
    key: IdempotencyKey,
    fingerprint: String,
    request: PayoutRequest,
) -> Result<Answer, ApiError> {
    create_with(state, caller, key, fingerprint, request, None).await
}

/// Creates a payout, for a refund when `refund` is given (then the answer is the refund).
pub async fn create_with(
    state: &AppState,
    caller: Caller,
    key: IdempotencyKey,
    fingerprint: String,
    request: PayoutRequest,
    refund: Option<RefundLink>,
) -> Result<Answer, ApiError> {
    match accept(state, caller, key, fingerprint, request, refund).await? {
        Acceptance::Ready(accepted) => issue(state, *accepted).await,
        Acceptance::Answered(response) => Ok(response),
    }
}

/// A payout accepted with its funds reserved, committed, not yet sent to the network.
#[derive(Debug)]
pub struct Accepted {
    caller: Caller,
    scope: KeyScope,
    payout: Box<PayoutRecord>,
    plan: crate::routing::Plan,
    request: PayoutRequest,
    refund_id: Option<RefundId>,
    test_clock: Option<TestClockRef>,
}

impl Accepted {
    /// The payout's id (also our reference at the network).
    pub fn payout_id(&self) -> PayoutId {
        self.payout.id
    }
}

/// What accepting a payout request gave.
#[derive(Debug)]
pub enum Acceptance {
    /// Reserved and committed: send it to the network with [`issue`].
    Ready(Box<Accepted>),
    /// Answered without calling the network: a replay, a lack of funds, or a payout that was
    /// resolved meanwhile (a retry after a crash finds it issued or failed).
    Answered(Answer),
}

/// Step 1 of a payout: claims the key, accepts the request and reserves its funds, in one unit
/// committed before the network is called. A server that dies after this step leaves a
/// `pending` payout without a code, which the poller resolves (and a retry with the same key
/// continues, or replays what the poller decided).
pub async fn accept(
    state: &AppState,
    caller: Caller,
    key: IdempotencyKey,
    fingerprint: String,
    request: PayoutRequest,
    refund: Option<RefundLink>,
) -> Result<Acceptance, ApiError> {
    // A clock that cannot be used refuses the request after the claim, like an unroutable
    // one, so that a replay answers as the first time.
    let (test_clock, clock_refusal) =
        match crate::test_clocks::resolve(state, caller, request.test_clock.as_deref()).await {
            Ok(clock) => (clock, None),
            Err(e) => (None, Some(e)),
        };
    let scope = crate::idempotency::scope(caller, key, fingerprint);
    let plan = crate::routing::plan_order(
        state,
        caller,
        cajero_connect::OrderKind::Payout,
        request.network.as_deref(),
        request.amount,
    );
    let first = plan.as_ref().ok().and_then(|p| p.candidates.first());
    let first_network = (
        first.map(|n| n.code.clone()).unwrap_or_default(),
        first
            .map(|n| n.route.clone())
            .unwrap_or_else(|| crate::networks::SIMULATOR_ROUTE.to_string()),
    );
    // Sanctions screening of the beneficiary, outside the unit (CPU only): a hit holds the
    // payout for review in the unit's risk decision. A refund's pick-up is screened too.
    let screened = crate::sanctions::screen_person(state, request.name.as_str()).await;
    let accepted = reserve(
        state,
        caller,
        &scope,
        clock_refusal.or_else(|| plan.as_ref().err().cloned()),
        &request,
        &first_network,
        refund.clone(),
        screened,
    )
    .await?;
    let (payout, plan) = match accepted {
        Reserved::Ready(payout) => (payout, plan?),
        Reserved::Resume(payout) => {
            let plan = crate::routing::resume(
                &state.networks,
                payout.mode,
                &payout.network,
                &payout.route,
            );
            (payout, plan)
        }
        Reserved::Answered(outcome) => {
            return Ok(Acceptance::Answered(outcome.into_answer()?));
        }
        Reserved::Replay(response) => return Ok(Acceptance::Answered(response)),
    };
    Ok(Acceptance::Ready(Box::new(Accepted {
        caller,
        scope,
        payout,
        plan,
        request,
        refund_id: refund.map(|r| r.refund_id),
        test_clock,
    })))
}

/// Steps 2 and 3 of a payout: asks the routed networks for a code, then records what they
/// said in one unit with its events and the key's stored answer. The code is attached only to
/// a payout still waiting for one; an order the network issued for a payout that was resolved
/// meanwhile is canceled at the network and recorded as an exception.
pub async fn issue(state: &AppState, accepted: Accepted) -> Result<Answer, ApiError> {
    let Accepted {
        caller,
        scope,
        payout,
        plan,
        request,
        refund_id,
        test_clock,
    } = accepted;
    let id = payout.id;
    let recorded_route = (payout.network.clone(), payout.route.clone());
    let call = NetworkCall::run(state, &plan, |net| {
        // Falling over: the payout names the route about to be asked before it is asked, so
        // that a crash now leaves the poller (and a retry) asking the network that may hold
        // the order, by our reference.
        let falls_over = (net.code.as_str(), net.route.as_str())
            != (recorded_route.0.as_str(), recorded_route.1.as_str());
        let (store, route) = (state.store.clone(), (net.code.clone(), net.route.clone()));
        let pickup = CreatePickup {
            network: net.code.clone(),
            reference: id.to_string(),
            amount: request.amount,
            beneficiary_name: request.name.as_str().to_string(),
            beneficiary_document: DocumentRef {
                kind: request.document.kind().as_str().to_string(),
                number: request.document.number().to_string(),
            },
            expires_in_seconds: request.expires_in_s,
            test_clock: test_clock.clone(),
        };
        let connector = net.connector.clone();
        async move {
            if falls_over {
                let moved = store
                    .write(move |mut c| {
                        Box::pin(async move { payouts::set_route(&mut c, id, &route.0, &route.1).await })
                    })
                    .await;
                if let Err(error) = moved {
                    tracing::error!(payout = %id, %error, "could not record the route a payout falls over to; not asking it");
                    return cajero_connect::Exchange::new(
                        Err(cajero_connect::ConnectError::Protocol(
                            "the route could not be recorded".into(),
                        )),
                        Vec::new(),
                    );
                }
            }
            cajero_connect::create_once(connector.as_ref(), &pickup).await
        }
    })
    .await;
    let evidence = call.packed_evidence()?;
    let clock = state.clock.clone();
    let public_url = state.config.public_url();
    let recorded = state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                orders::store_call_evidence(
                    &mut c,
                    clock.as_ref(),
                    caller,
                    &id.to_string(),
                    &evidence,
                )
                .await?;
                let recorded = match call.result {
                    Ok((network, order)) => {
                        let at = payouts::IssuedAt {
                            network: &network.code,
                            route: &network.route,
                            routing_reason: call.reason.as_deref(),
                        };
                        record_issued(
                            &mut c,
                            clock.as_ref(),
                            &public_url,
                            &payout,
                            at,
                            &network,
                            &order,
                        )
                        .await?
                    }
                    Err(error) => {
                        let (code, message) = match &error {
                            cajero_connect::ConnectError::Rejected { message, .. } => {
                                ("network_rejected", message.clone())
                            }
                            _ => (
                                "network_unavailable",
                                "the cash network was unavailable".to_string(),
                            ),
                        };
                        fail_unissued(&mut c, clock.as_ref(), &public_url, &payout, code, &message)
                            .await?;
                        Recorded::Settled
                    }
                };
                // Whatever happened, the key answers with the payout as it now stands: as
                // its code was just attached (with the JSON its events carry), or read again.
                let (recorded, answer) = match recorded {
                    Recorded::Issued { body, .. } if refund_id.is_none() => {
                        (Recorded::Settled, (StatusCode::CREATED, body))
                    }
                    Recorded::Issued { payout, .. } => {
                        let answer =
                            settled_answer(&mut c, &public_url, &payout, refund_id).await?;
                        (Recorded::Settled, answer)
                    }
                    other => {
                        let current = payouts::get(&mut c, caller.merchant_id, caller.mode, id)
                            .await?
                            .ok_or_else(|| StoreError::Corrupt {
                                table: "payouts",
                                detail: format!("payout {id} vanished"),
                            })?;
                        (
                            other,
                            settled_answer(&mut c, &public_url, &current, refund_id).await?,
                        )
                    }
                };
                let (status, body) = answer;
                let outcome = orders::finish_in(&mut c, &scope, status, &body).await?;
                Ok::<_, ApiError>((outcome, recorded))
            })
        })
        .await?;
    let (outcome, recorded) = recorded;
    if let Recorded::Orphan { network, order_id } = recorded {
        cancel_orphan(
            state,
            caller.mode,
            &id.to_string(),
            &network.code,
            network.connector.as_ref(),
            &order_id,
        )
        .await;
    }
    outcome.into_answer()
}

/// What step 3 did with the network's answer.
#[derive(Debug)]
enum Recorded {
    /// The order's code was attached to the payout now.
    Issued {
        /// The payout as it now stands.
        payout: Box<PayoutRecord>,
        /// Its JSON, as its events carry it.
        body: Value,
    },
    /// The payout now stands as the network left it (failed, or already resolved).
    Settled,
    /// The network issued an order that no payout of ours can take: cancel it there.
    Orphan {
        /// Its connector's network.
        network: crate::networks::Network,
        /// The order.
        order_id: String,
    },
}

/// Attaches the network's order to the payout if it still waits for one (emitting
/// `payout.created` and `payout.available` once); recognises an order the poller attached
/// already; anything else is an orphan, recorded as an exception with an alert.
async fn record_issued(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    public_url: &str,
    payout: &PayoutRecord,
    at: payouts::IssuedAt<'_>,
    network: &crate::networks::Network,
    order: &NetworkOrder,
) -> Result<Recorded, StoreError> {
    let id = payout.id;
    if let Some((issued, body)) = attach_code(conn, clock, public_url, payout, at, order).await? {
        return Ok(Recorded::Issued {
            payout: Box::new(issued),
            body,
        });
    }
    if refuse_taken_order(conn, clock, public_url, payout, &network.code, order).await? {
        return Ok(Recorded::Settled);
    }
    let current = payouts::get(conn, payout.merchant_id, payout.mode, id).await?;
    if current.as_ref().and_then(|p| p.network_order_id.as_deref())
        == Some(order.network_order_id.as_str())
    {
        return Ok(Recorded::Settled); // the poller attached this very order first
    }
    let status = current.map_or_else(|| "missing".to_string(), |p| p.status.to_string());
    record_orphan(
        conn,
        clock,
        payout,
        &network.code,
        &order.network_order_id,
        &status,
    )
    .await?;
    Ok(Recorded::Orphan {
        network: network.clone(),
        order_id: order.network_order_id.clone(),
    })
}

/// When another payout holds the order the network answered with (a network that forgot its
/// own ids), fails this one if it still waits for its code: never attach one order twice, and
/// never let this payout's code be that one. True when another payout holds it.
async fn refuse_taken_order(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    public_url: &str,
    payout: &PayoutRecord,
    network: &str,
    order: &NetworkOrder,
) -> Result<bool, StoreError> {
    let Some(owner) = payouts::get_by_network_order(conn, network, &order.network_order_id)
        .await?
        .filter(|owner| owner.id != payout.id)
    else {
        return Ok(false);
    };
    tracing::error!(payout = %payout.id, owner = %owner.id, network, order = %order.network_order_id, "the network reused an order id");
    fail_unissued(
        conn,
        clock,
        public_url,
        payout,
        "network_error",
        "the network answered with an order that belongs to another payout",
    )
    .await?;
    Ok(true)
}

/// Attaches the network's order to a payout still waiting for its code (on `network`, which
/// may be a fallback of the routed one) and emits `payout.created` then `payout.available`;
/// the payout as it now stands and its JSON, or `None`, with nothing changed, when the payout
/// no longer waits for one or another payout holds that order.
async fn attach_code(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    public_url: &str,
    payout: &PayoutRecord,
    at: payouts::IssuedAt<'_>,
    order: &NetworkOrder,
) -> Result<Option<(PayoutRecord, Value)>, StoreError> {
    let (id, now) = (payout.id, clock.now());
    let Some(issued) = payouts::mark_issued(
        conn,
        id,
        at,
        &order.network_order_id,
        &order.code,
        order.expires_at,
        now,
    )
    .await?
    else {
        return Ok(None);
    };
    let types = [EventType::PayoutCreated, EventType::PayoutAvailable];
    // No attempt can be recorded before the code is attached: a callback finds its payout by
    // the network's order, which the payout had no id of until this statement.
    let body = emit_with(conn, clock, public_url, &issued, &[], &types).await?;
    Ok(Some((issued, body)))
}

/// The answer a payout's key gives once the payout stands as it is: 424 for a payout that
/// failed because no network could serve it (API.md), 201 with the payout (or its refund)
/// otherwise.
pub async fn settled_answer(
    conn: &mut Conn<'_>,
    public_url: &str,
    payout: &PayoutRecord,
    refund_id: Option<RefundId>,
) -> Result<(StatusCode, Value), StoreError> {
    if payout.status == PayoutStatus::Failed
        && let Some(error) = failed_at_network(payout)
    {
        let mut body = error.to_json();
        body["error"]["payout"] = payout.id.to_string().into();
        return Ok((error.status, body));
    }
    let body = match refund_id {
        Some(r) => crate::refunds::json_of(conn, payout.merchant_id, payout.mode, r).await?,
        None => {
            let attempts = payouts::attempts(conn, payout.id).await?;
            payout_json(payout, &attempts, public_url)
        }
    };
    Ok((StatusCode::CREATED, body))
}

/// The 424 for a payout that exists but failed because no network could issue it: it names
/// the payout (`error.payout`) and what to do.
fn failed_at_network(payout: &PayoutRecord) -> Option<ApiError> {
    let (code, reason) = match payout.failure_code.as_deref() {
        Some("network_unavailable") => ("network_unavailable", "the cash network was unavailable"),
        Some("network_error") => (
            "network_order_conflict",
            "the cash network answered with an order that belongs to another object",
        ),
        _ => return None,
    };
    Some(ApiError::new(
        StatusCode::FAILED_DEPENDENCY,
        crate::error::ErrorType::NetworkError,
        code,
        format!(
            "Payout {} was created but not issued: {reason}. It is `failed` and its funds are \
             back in the balance; retry with a new Idempotency-Key.",
            payout.id
        ),
    ))
}

enum Reserved {
    Ready(Box<PayoutRecord>),
    /// A retry after a crash of a payout still waiting for its code: it goes back to the route
    /// its last attempt went to, which finds that attempt's order by our reference.
    Resume(Box<PayoutRecord>),
    Answered(UnitOutcome),
    Replay(Answer),
}

/// Step 1: claims the key, then inserts the payout (or finds it, on a retry after a crash) and
/// reserves its funds; without enough balance the payout is recorded as failed and the request
/// answered. `unroutable` refuses the request after the claim (so that a replay still wins)
/// and rolls the claim back with the unit.
#[allow(clippy::too_many_arguments)] // One unit's inputs, each from a different step of `accept`.
async fn reserve(
    state: &AppState,
    caller: Caller,
    scope: &KeyScope,
    unroutable: Option<ApiError>,
    request: &PayoutRequest,
    (network, route): &(String, String),
    refund: Option<RefundLink>,
    screened: crate::risk::Screened,
) -> Result<Reserved, ApiError> {
    let clock = state.clock.clone();
    let public_url = state.config.public_url();
    let scope = scope.clone();
    let request = request.clone();
    let (network, route) = (network.clone(), route.clone());
    let proposed: PayoutId = new_id(state.clock.as_ref());
    // Resolved by `accept` (a clock that cannot be used arrives as the `unroutable` refusal,
    // answered before this is read).
    let test_clock: Option<TestClockId> =
        request.test_clock.as_deref().and_then(|c| c.parse().ok());
    // From memory, checked against the settings' current version: outside the unit of work,
    // which then has one read fewer.
    let plan = state
        .cache
        .fee_plan(&state.store, caller.merchant_id, caller.mode)
        .await?;
    let risk = state.risk.clone();
    let outcome = state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                let now = clock.now();
                let id: PayoutId = match orders::claim_in(&mut c, &scope, now, &proposed.to_string()).await? {
                    ClaimedIn::Replay(response) => return Ok(Reserved::Replay(response)),
                    ClaimedIn::Proceed { resource_id } => resource_id
                        .parse()
                        .map_err(|e| ApiError::internal(format!("stored resource id: {e}")))?,
                };
                if let Some(error) = unroutable {
                    return Err(error);
                }
                // A fresh claim creates the id proposed just now, which nothing holds: only a
                // claim taken over from an earlier attempt can find its payout.
                let earlier = if id == proposed {
                    None
                } else {
                    payouts::get(&mut c, caller.merchant_id, caller.mode, id).await?
                };
                if let Some(existing) = earlier {
                    // A retry after a crash. Only a payout still waiting for its code may go to
                    // the network (which finds the first attempt's order by our reference);
                    // one that was resolved meanwhile answers as it stands.
                    if existing.status == PayoutStatus::Pending && existing.network_order_id.is_none() {
                        return Ok(Reserved::Resume(Box::new(existing)));
                    }
                    let refund_id = refund.as_ref().map(|r| r.refund_id);
                    let (status, body) = settled_answer(&mut c, &public_url, &existing, refund_id).await?;
                    return Ok(Reserved::Answered(orders::finish_in(&mut c, &scope, status, &body).await?));
                }
                let created_at = crate::test_clocks::object_now(&mut c, clock.as_ref(), test_clock).await?;
                // The risk decision, before any money is reserved: a refusal changes nothing
                // but the stored decision (the claim is released), a review holds the payout.
                let check = crate::risk::Check {
                    flow: cajero_domain::risk::Flow::Payout,
                    merchant: caller.merchant_id,
                    mode: caller.mode,
                    object_id: id.to_string(),
                    network: network.clone(),
                    amount: request.amount,
                    document: Some(request.document.clone()),
                    phone: request.phone().map(str::to_owned),
                    name: Some(request.name.as_str().to_owned()),
                    at: created_at,
                    screened,
                };
                let verdict = crate::risk::decide(&mut c, &risk, clock.as_ref(), &check).await?;
                if verdict.outcome == cajero_domain::risk::Outcome::Deny {
                    crate::risk::audit_decision(&mut c, clock.as_ref(), caller.merchant_id, "payout.denied", &check.object_id, &verdict).await?;
                    return Ok(Reserved::Answered(orders::release_in(&mut c, &scope, crate::risk::denied()).await?));
                }
                if let Some(link) = &refund
                    && !crate::refunds::reserve_amount(&mut c, clock.as_ref(), link, request.amount).await?
                {
                    let error = crate::refunds::exceeds_left(link.payin_id, request.amount);
                    return Ok(Reserved::Answered(orders::release_in(&mut c, &scope, error).await?));
                }
                // The month's volume only matters to a plan with volume tiers (one read of its
                // count, kept as transfers post); a flat plan skips it.
                let volume = if plan.payout.tiers.len() > 1 {
                    merchant_settings::monthly_volume(&mut c, caller.merchant_id, caller.mode, TransferCode::Payout, now).await?
                } else {
                    Amount::ZERO
                };
                let fees = payout_fees(&plan, request.amount, volume);
                let record = PayoutRecord {
                    id,
                    merchant_id: caller.merchant_id,
                    mode: caller.mode,
                    status: PayoutStatus::Pending,
                    amount: request.amount,
                    currency: Currency::Cop,
                    network: network.clone(),
                    route: route.clone(),
                    reference: request.reference.clone(),
                    beneficiary: request.beneficiary.clone(),
                    metadata: request.metadata.clone(),
                    network_order_id: None,
                    pickup_code: None,
                    page_token: crate::payins::page_token(&id),
                    expires_in_s: request.expires_in_s,
                    expires_at: None,
                    paid_at: None,
                    failure_code: None,
                    failure_message: None,
                    fee: fees.total().unwrap_or(Amount::ZERO),
                    refund_id: refund.as_ref().map(|r| r.refund_id.to_string()),
                    created_at,
                    updated_at: now,
                    test_clock,
                    routing_reason: None,
                };
                payouts::insert(&mut c, &record).await?;
                if let Some(link) = &refund {
                    crate::refunds::open(&mut c, clock.as_ref(), caller, link, &record).await?;
                }
                match ledger::post_batch(&mut c, &reservation(&record, &fees), now).await {
                    Ok(_) => match verdict.outcome {
                        cajero_domain::risk::Outcome::Allow | cajero_domain::risk::Outcome::Deny => Ok(Reserved::Ready(Box::new(record))),
                        cajero_domain::risk::Outcome::Review => {
                            // Held: the funds stay reserved, nothing goes to the network until an
                            // operator releases it; the key answers with the held payout.
                            payouts::transition(&mut c, id, PayoutStatus::Pending, PayoutStatus::OnHold, payouts::Closing::default(), now).await?;
                            let body = emit_current(&mut c, clock.as_ref(), &public_url, caller.merchant_id, caller.mode, id, &[EventType::PayoutOnHold]).await?;
                            crate::risk::audit_decision(&mut c, clock.as_ref(), caller.merchant_id, "payout.held", &check.object_id, &verdict).await?;
                            Ok(Reserved::Answered(orders::finish_in(&mut c, &scope, StatusCode::CREATED, &body).await?))
                        }
                    },
                    Err(LedgerError::Transfer(TransferError::ExceedsCredits { spendable, .. })) => {
                        let message = format!(
                            "available balance {spendable} is less than the payout and its fees ({})",
                            request.amount.minor() + record.fee.minor()
                        );
                        payouts::transition(&mut c, id, PayoutStatus::Pending, PayoutStatus::Failed, payouts::Closing { failure: Some(("insufficient_balance", &message)), ..Default::default() }, now).await?;
                        let body = emit_current(&mut c, clock.as_ref(), &public_url, caller.merchant_id, caller.mode, id, &[EventType::PayoutCreated, EventType::PayoutFailed]).await?;
                        crate::refunds::payout_closed(&mut c, clock.as_ref(), &record, PayoutStatus::Failed).await?;
                        let body = match &refund {
                            Some(link) => crate::refunds::current_json(&mut c, caller, link.refund_id).await?,
                            None => body,
                        };
                        Ok(Reserved::Answered(orders::finish_in(&mut c, &scope, StatusCode::CREATED, &body).await?))
                    }
                    Err(LedgerError::Store(e)) => Err(e.into()),
                    Err(other) => Err(StoreError::Corrupt { table: "ledger", detail: other.to_string() }.into()),
                }
            })
        })
        .await?;
    Ok(outcome)
}

/// What a payout costs on top of its amount.
pub fn payout_fees(plan: &FeePlan, amount: Amount, monthly_volume: Amount) -> FeeBreakdown {
    plan.payout(amount, monthly_volume).unwrap_or_default()
}

/// The pending transfers that reserve a payout's amount and fees.
fn reservation(p: &PayoutRecord, fees: &FeeBreakdown) -> NewBatch {
    let (m, mode, cur) = (p.merchant_id, p.mode, p.currency);
    let batch_id = TransferId::derived(p.id, "reserve");
    let available = AccountKey::merchant(AccountKind::MerchantAvailable, m, mode, cur);
    let parts = [
        (
            p.amount,
            AccountKey::network(AccountKind::NetworkPayable, &p.network, mode, cur),
            TransferCode::Payout,
        ),
        (
            fees.fee,
            AccountKey::platform(AccountKind::FeeRevenue, mode, cur),
            TransferCode::Fee,
        ),
        (
            fees.iva,
            AccountKey::platform(AccountKind::IvaPayable, mode, cur),
            TransferCode::Fee,
        ),
        (
            fees.gmf,
            AccountKey::platform(AccountKind::GmfPayable, mode, cur),
            TransferCode::Fee,
        ),
    ];
    let transfers = parts
        .into_iter()
        .enumerate()
        .filter(|(_, (amount, _, _))| !amount.is_zero())
        .map(|(n, (amount, credit, code))| Transfer {
            id: format!("{batch_id}.{n}"),
            debit: available.clone(),
            credit,
            amount,
            mode: TransferMode::Pending,
            code,
        })
        .collect();
    NewBatch {
        id: batch_id.to_string(),
        merchant_id: Some(m),
        mode,
        currency: cur,
        code: TransferCode::Payout,
        source_id: Some(p.id.to_string()),
        available_on: None,
        transfers,
    }
}

/// Posts (collected) or voids (expired, canceled, failed) a payout's reservation.
async fn resolve_reservation(
    conn: &mut Conn<'_>,
    p: &PayoutRecord,
    post: bool,
    now: jiff::Timestamp,
) -> Result<(), StoreError> {
    let reserved = crate::funds::Reserved {
        owner: p.id,
        merchant: p.merchant_id,
        mode: p.mode,
        currency: p.currency,
        posted: TransferCode::Payout,
        voided: TransferCode::PayoutReversal,
    };
    // Nothing when nothing was reserved (insufficient balance).
    crate::funds::resolve_reservation(conn, reserved, post, now).await
}

/// Marks a pending (or held) payout failed and releases its funds; false when it was neither
/// (someone resolved it first), and then nothing changed.
async fn fail(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    p: &PayoutRecord,
    code: &str,
    message: &str,
) -> Result<bool, StoreError> {
    let now = clock.now();
    for from in [PayoutStatus::Pending, PayoutStatus::OnHold] {
        if payouts::transition(
            conn,
            p.id,
            from,
            PayoutStatus::Failed,
            payouts::Closing {
                failure: Some((code, message)),
                ..Default::default()
            },
            now,
        )
        .await?
        .is_some()
        {
            resolve_reservation(conn, p, false, now).await?;
            crate::refunds::payout_closed(conn, clock, p, PayoutStatus::Failed).await?;
            return Ok(true);
        }
    }
    Ok(false)
}

/// Fails a payout that never got its code (funds released) and, if this call failed it,
/// emits `payout.created` then `payout.failed`; nothing when someone resolved it first.
async fn fail_unissued(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    public_url: &str,
    payout: &PayoutRecord,
    code: &str,
    message: &str,
) -> Result<(), StoreError> {
    if fail(conn, clock, payout, code, message).await? {
        let types = [EventType::PayoutCreated, EventType::PayoutFailed];
        emit_current(
            conn,
            clock,
            public_url,
            payout.merchant_id,
            payout.mode,
            payout.id,
            &types,
        )
        .await?;
    }
    Ok(())
}

/// Re-reads a payout and emits `types` with it; returns its JSON.
async fn emit_current(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    public_url: &str,
    merchant: cajero_domain::id::MerchantId,
    mode: Mode,
    id: PayoutId,
    types: &[EventType],
) -> Result<Value, StoreError> {
    let Some(p) = payouts::get(conn, merchant, mode, id).await? else {
        return Ok(Value::Null);
    };
    emit(conn, clock, public_url, &p, types).await
}

/// Emits `types` with a payout as it stands (read or returned in this unit); returns its JSON.
async fn emit(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    public_url: &str,
    p: &PayoutRecord,
    types: &[EventType],
) -> Result<Value, StoreError> {
    let attempts = payouts::attempts(conn, p.id).await?;
    emit_with(conn, clock, public_url, p, &attempts, types).await
}

/// [`emit`] with the payout's attempts known already.
async fn emit_with(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    public_url: &str,
    p: &PayoutRecord,
    attempts: &[AttemptRecord],
    types: &[EventType],
) -> Result<Value, StoreError> {
    let body = payout_json(p, attempts, public_url);
    let events: Vec<_> = types.iter().map(|t| (*t, new_id(clock))).collect();
    events::emit_each(
        conn,
        p.merchant_id,
        p.mode.is_live(),
        &events,
        &body,
        clock.now(),
    )
    .await?;
    Ok(body)
}

/// Applies a callback about `payout` (its order's payout, read in the caller's unit of work)
/// inside that unit.
pub async fn apply_callback(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    risk: &crate::risk::RiskRules,
    public_url: &str,
    payout: &PayoutRecord,
    callback: &Callback,
) -> Result<(), StoreError> {
    let order = &callback.order;
    if let Some(attempt) = &callback.attempt {
        let record = AttemptRecord {
            id: format!("{}:{}", order.network, attempt.id),
            at: attempt.at,
            counter_id: attempt.counter_id.clone(),
            outcome: attempt.outcome.clone(),
        };
        let new = payouts::insert_attempt(
            conn,
            payout.id,
            &order.network,
            payout.mode,
            &record,
            clock.now(),
        )
        .await?;
        if new
            && matches!(
                callback.kind,
                CallbackKind::AttemptFailed | CallbackKind::Locked
            )
        {
            emit_current(
                conn,
                clock,
                public_url,
                payout.merchant_id,
                payout.mode,
                payout.id,
                &[EventType::PayoutAttemptFailed],
            )
            .await?;
        }
    }
    apply_network_order(conn, clock, risk, public_url, payout, order).await
}

/// Applies the network's view of an order to its payout.
pub async fn apply_network_order(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    risk: &crate::risk::RiskRules,
    public_url: &str,
    payout: &PayoutRecord,
    order: &NetworkOrder,
) -> Result<(), StoreError> {
    use cajero_connect::NetworkStatus as N;
    let in_time = order
        .paid_at
        .is_some_and(|at| payout.expires_at.is_none_or(|expires| at <= expires));
    let event = match order.status {
        N::Paid if in_time => PayoutEvent::CollectInTime,
        N::Paid => PayoutEvent::Collect,
        N::Expired => PayoutEvent::Expire,
        // The network reports as canceled the codes our expiry sweep canceled there: past its
        // expiry, a cancelation is the expiry (the merchant's own cancel closed it first).
        N::Canceled
            if crate::test_clocks::past_expiry(
                conn,
                clock,
                payout.test_clock,
                payout.expires_at,
            )
            .await? =>
        {
            PayoutEvent::Expire
        }
        N::Canceled => PayoutEvent::Cancel,
        N::Unrecognized => {
            let id = payout.id.to_string();
            return crate::networks::hold_unrecognized(
                conn,
                clock,
                payout.merchant_id,
                payout.mode,
                &id,
                order,
            )
            .await;
        }
        N::Pending | N::Available | N::Locked => return Ok(()),
    };
    let counter = order.paid_counter_id.as_deref();
    let closing = payouts::Closing {
        paid_at: order.paid_at,
        paid_counter: counter,
        failure: None,
    };
    let counter_recorded = close(conn, clock, public_url, payout, event, closing).await?;
    if order.status == N::Paid {
        let kind = cajero_store::analytics::OrderKind::Payout;
        let id = payout.id.to_string();
        // Recorded with the move to paid, or now (a repeated callback, a late counter).
        let counter = if counter_recorded {
            counter
        } else {
            crate::analytics::record_paid_counter(conn, kind, &id, order).await?
        };
        if let Some(counter) = counter {
            let done = crate::risk::Completed {
                flow: cajero_domain::risk::Flow::Payout,
                merchant: payout.merchant_id,
                mode: payout.mode,
                object_id: &id,
                network: &order.network,
                counter,
                amount: payout.amount,
                at: order.paid_at.unwrap_or_else(|| clock.now()),
            };
            crate::risk::watch_counter(conn, risk, clock, &done).await?;
        }
    }
    Ok(())
}

/// Moves an open payout to paid, expired or canceled, settling its reservation, and emits. A
/// collection made in time also moves an expired payout to paid (the money is posted again,
/// [`late`]); cash collected for a payout closed otherwise is held in suspense as an exception.
/// True when the move to paid recorded `closing.paid_counter` too (a payout gets its counter
/// only once paid, so one that moves to paid has none yet).
pub async fn close(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    public_url: &str,
    payout: &PayoutRecord,
    event: PayoutEvent,
    closing: payouts::Closing<'_>,
) -> Result<bool, StoreError> {
    let now = clock.now();
    let to = match payout.status.apply(event) {
        Ok(Step::To(to)) => to,
        Ok(Step::Stay) => return Ok(false),
        Err(e) => {
            if matches!(event, PayoutEvent::Collect | PayoutEvent::CollectInTime)
                && matches!(
                    payout.status,
                    PayoutStatus::Expired | PayoutStatus::Canceled
                )
            {
                // Cash left a counter for a payout we had closed: never unaccounted.
                tracing::error!(payout = %payout.id, status = %payout.status, "collected after it was closed: {e}");
                late::hold_collected_after_close(conn, clock, payout, now).await?;
            }
            return Ok(false);
        }
    };
    let paid = to == PayoutStatus::Paid;
    let closing = payouts::Closing {
        paid_at: paid.then(|| closing.paid_at.unwrap_or(now)),
        paid_counter: closing.paid_counter.filter(|_| paid),
        failure: None,
    };
    let Some(closed) =
        payouts::transition(conn, payout.id, payout.status, to, closing, now).await?
    else {
        return Ok(false);
    };
    if payout.status == PayoutStatus::Expired {
        // Collected in time after our expiry voided the reservation.
        late::post_collected_in_time(conn, clock, payout, now).await?;
        if payout.refund_id.is_some() {
            // Its refund was failed when it expired; the customer got the cash after all.
            let kind = "refund_collected_after_failure";
            late::raise(conn, clock, payout, kind, payout.amount, now).await?;
        }
    } else {
        resolve_reservation(conn, payout, to == PayoutStatus::Paid, now).await?;
    }
    crate::refunds::payout_closed(conn, clock, payout, to).await?;
    let event_type = match to {
        PayoutStatus::Paid => EventType::PayoutPaid,
        PayoutStatus::Expired => EventType::PayoutExpired,
        _ => EventType::PayoutCanceled,
    };
    // Nothing since the transition changed the payout's row: its returned state is current.
    emit(conn, clock, public_url, &closed, &[event_type]).await?;
    Ok(closing.paid_counter.is_some())
}

/// Resolves a payout whose create was interrupted after its funds were reserved (the poller):
/// the network's order under our reference, if it has one, issues it; if the network has none,
/// the payout fails and its funds are released. Either way the key the client will retry with
/// is settled with that outcome, so the retry replays it and never calls the network again.
/// Anything else leaves it for the next look.
pub async fn resolve_stuck(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    public_url: &str,
    payout: &PayoutRecord,
    found: Result<NetworkOrder, cajero_connect::ConnectError>,
) -> Result<(), StoreError> {
    let now = clock.now();
    let (merchant, mode, id) = (payout.merchant_id, payout.mode, payout.id);
    match found {
        Ok(order) => {
            let at = payouts::IssuedAt {
                network: &payout.network,
                route: &payout.route,
                routing_reason: Some("found by our reference after its create was interrupted"),
            };
            if attach_code(conn, clock, public_url, payout, at, &order)
                .await?
                .is_none()
            {
                refuse_taken_order(conn, clock, public_url, payout, &payout.network, &order)
                    .await?;
            }
        }
        Err(cajero_connect::ConnectError::NotFound) => {
            fail_unissued(
                conn,
                clock,
                public_url,
                payout,
                "network_unavailable",
                "the network never issued the code",
            )
            .await?;
        }
        Err(_) => return payouts::touch(conn, id, now).await,
    }
    let Some(current) = payouts::get(conn, merchant, mode, id).await? else {
        return Ok(());
    };
    let refund_id = current.refund_id.as_deref().and_then(|r| r.parse().ok());
    let (status, body) = settled_answer(conn, public_url, &current, refund_id).await?;
    let stored = cajero_store::idempotency::StoredResponse {
        status: status.as_u16(),
        body: body.to_string(),
    };
    cajero_store::idempotency::finish_for_resource(conn, merchant, mode, &id.to_string(), &stored)
        .await?;
    Ok(())
}
/// Cancels a payout not yet collected: its code at the network first (found by our reference
/// when none is on record), then the payout and its reservation, once per key.
pub async fn cancel(
    state: &AppState,
    caller: Caller,
    key: IdempotencyKey,
    payout: PayoutRecord,
) -> Result<Answer, ApiError> {
    let path = format!("/v1/payouts/{}/cancel", payout.id);
    let fingerprint = crate::idempotency::fingerprint("POST", &path, &Value::Null);
    let scope = match orders::claim(state, caller, key, fingerprint, payout.id.to_string()).await? {
        Claimed::Replay(response) => return Ok(response),
        Claimed::Proceed { scope, .. } => scope,
    };
    if !matches!(
        payout.status,
        PayoutStatus::Available | PayoutStatus::Pending | PayoutStatus::OnHold
    ) {
        return orders::release_with(state, scope, not_cancelable(&payout)).await;
    }
    let exchange = match (
        &payout.network_order_id,
        state
            .networks
            .connector(payout.mode, &payout.route, &payout.network),
    ) {
        (Some(order_id), Some(connector)) => {
            Some(connector.cancel(OrderKind::Payout, order_id).await)
        }
        (None, Some(connector)) => {
            // No code on record: its create may have reached the network before the server
            // died. Find it by our reference and cancel it there, so that no order is left
            // without its payout (an order created after this look is canceled as an orphan
            // by the create itself).
            let found = connector
                .find_by_reference(OrderKind::Payout, &payout.id.to_string())
                .await;
            match found.result {
                Ok(order) => {
                    let mut cancel = connector
                        .cancel(OrderKind::Payout, &order.network_order_id)
                        .await;
                    let mut evidence = found.evidence;
                    evidence.append(&mut cancel.evidence);
                    cancel.evidence = evidence;
                    Some(cancel)
                }
                Err(ConnectError::NotFound) => Some(cajero_connect::Exchange {
                    result: Err(ConnectError::NotFound),
                    evidence: found.evidence,
                }),
                Err(e) => Some(cajero_connect::Exchange {
                    result: Err(e),
                    evidence: found.evidence,
                }),
            }
        }
        (None, None) => None,
        (Some(_), None) => {
            return orders::release_with(
                state,
                scope,
                crate::networks::network_unavailable("network not configured"),
            )
            .await;
        }
    };
    let clock = state.clock.clone();
    let public_url = state.config.public_url();
    let outcome = state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                if let Some(exchange) = exchange {
                    crate::networks::store_evidence(
                        &mut c,
                        clock.as_ref(),
                        crate::networks::EvidenceLink {
                            merchant: Some(caller.merchant_id),
                            mode: caller.mode,
                            network: &payout.network,
                            object_id: Some(&payout.id.to_string()),
                            direction: "outbound",
                        },
                        &exchange.evidence,
                    )
                    .await?;
                    match exchange.result {
                        Ok(_) | Err(ConnectError::NotFound) => {}
                        Err(ConnectError::NotCancelable) => {
                            return orders::release_in(&mut c, &scope, not_cancelable(&payout))
                                .await;
                        }
                        Err(e) => {
                            return orders::release_in(&mut c, &scope, orders::create_error(e))
                                .await;
                        }
                    }
                }
                close(
                    &mut c,
                    clock.as_ref(),
                    &public_url,
                    &payout,
                    PayoutEvent::Cancel,
                    payouts::Closing::default(),
                )
                .await?;
                let updated =
                    payouts::get(&mut c, caller.merchant_id, caller.mode, payout.id).await?;
                let attempts = payouts::attempts(&mut c, payout.id).await?;
                let body = updated
                    .map(|p| payout_json(&p, &attempts, &public_url))
                    .unwrap_or(Value::Null);
                orders::finish_in(&mut c, &scope, StatusCode::OK, &body).await
            })
        })
        .await?;
    outcome.into_answer()
}

fn not_cancelable(payout: &PayoutRecord) -> ApiError {
    ApiError::invalid(
        "payout_not_cancelable",
        format!(
            "payout {} is {}: only payouts not yet collected can be canceled",
            payout.id, payout.status
        ),
    )
}
