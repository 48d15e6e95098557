//! The risk gate of a pay-in, and pay-ins held for review.
//!
//! Every create is decided ([`gate`]) after its key is claimed and before the network is
//! called. A refusal answers `risk_denied` (the decision stored, the claim released); a review
//! keeps the accepted request in `payin_holds`, answers `202` with the pay-in `on_hold` (no
//! voucher) and emits `payin.on_hold`. An operator then releases it — the voucher is issued
//! under the same id, `payin.created` — or refuses it — `payin.canceled`. A held pay-in is read
//! by `GET /v1/payins/{id}`; it is not listed by `GET /v1/payins` until released.

use super::*;
use crate::operators::Acting;
use crate::risk::{self, Check, Screened, Verdict};
use cajero_domain::risk::{Flow, Outcome};
use cajero_store::risk::{self as rows, PayinHoldRow};

/// What the gate let through.
pub(super) enum Gate {
    /// Allowed: call the network (the check is kept to take it back if the network refuses).
    Go(Box<Check>),
    /// Refused or held: answered.
    Answered(Answer),
}

/// Decides a pay-in in a unit of its own, after the claim and before the network call.
#[allow(clippy::too_many_arguments)] // One unit's inputs, each from a different step of `create`.
pub(super) async fn gate(
    state: &AppState,
    caller: Caller,
    scope: &cajero_store::idempotency::KeyScope,
    id: PayinId,
    request: &PayinRequest,
    network: String,
    screened: Screened,
) -> Result<Gate, ApiError> {
    let clock = state.clock.clone();
    let risk_rules = state.risk.clone();
    let public_url = state.config.public_url();
    let scope = scope.clone();
    let request = request.clone();
    let test_clock: Option<TestClockId> =
        request.test_clock.as_deref().and_then(|c| c.parse().ok());
    let outcome = state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                let at = crate::test_clocks::object_now(&mut c, clock.as_ref(), test_clock).await?;
                let check = Check {
                    flow: Flow::Payin,
                    merchant: caller.merchant_id,
                    mode: caller.mode,
                    object_id: id.to_string(),
                    network,
                    amount: request.amount,
                    document: request.customer_document.clone(),
                    phone: request
                        .customer
                        .as_ref()
                        .and_then(|c| c.get("phone"))
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    name: request.customer_name.clone(),
                    at,
                    screened,
                };
                let verdict = risk::decide(&mut c, &risk_rules, clock.as_ref(), &check).await?;
                match verdict.outcome {
                    Outcome::Allow => Ok::<_, ApiError>(Err(Box::new(check))),
                    Outcome::Deny => {
                        risk::audit_decision(
                            &mut c,
                            clock.as_ref(),
                            caller.merchant_id,
                            "payin.denied",
                            &check.object_id,
                            &verdict,
                        )
                        .await?;
                        Ok(Ok(orders::release_in(&mut c, &scope, risk::denied()).await?))
                    }
                    Outcome::Review => {
                        let body = hold(
                            &mut c,
                            clock.as_ref(),
                            &public_url,
                            caller,
                            id,
                            &request,
                            &verdict,
                            at,
                        )
                        .await?;
                        Ok(Ok(orders::finish_in(
                            &mut c,
                            &scope,
                            StatusCode::ACCEPTED,
                            &body,
                        )
                        .await?))
                    }
                }
            })
        })
        .await?;
    match outcome {
        Err(check) => Ok(Gate::Go(check)),
        Ok(answered) => Ok(Gate::Answered(answered.into_answer()?)),
    }
}

#[allow(clippy::too_many_arguments)] // The held pay-in's parts, from the gate's unit.
async fn hold(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    public_url: &str,
    caller: Caller,
    id: PayinId,
    request: &PayinRequest,
    verdict: &Verdict,
    at: Timestamp,
) -> Result<Value, ApiError> {
    let row = PayinHoldRow {
        id: id.to_string(),
        merchant_id: caller.merchant_id.to_string(),
        livemode: caller.mode.is_live(),
        status: PayinStatus::OnHold.as_str().into(),
        request: serde_json::to_string(request)
            .map_err(|e| ApiError::internal(format!("storing a held pay-in's request: {e}")))?,
        decision_id: verdict.decision_id.clone().unwrap_or_default(),
        created_at: cajero_store::Micros::from(at).0,
        decided_by: None,
        decided_at: None,
        reason: None,
        releasing: None,
    };
    rows::insert_payin_hold(conn, &row).await?;
    let body = held_json(&row, public_url)?;
    events::emit(
        conn,
        caller.merchant_id,
        caller.mode.is_live(),
        EventType::PayinOnHold,
        &body,
        new_id(clock),
        clock.now(),
    )
    .await?;
    risk::audit_decision(
        conn,
        clock,
        caller.merchant_id,
        "payin.held",
        &row.id,
        verdict,
    )
    .await?;
    Ok(body)
}

/// The `payin` object of a held (or refused) pay-in: no voucher, no expiry yet.
pub fn held_json(row: &PayinHoldRow, _public_url: &str) -> Result<Value, ApiError> {
    let request: PayinRequest = serde_json::from_str(&row.request)
        .map_err(|e| ApiError::internal(format!("a held pay-in's stored request: {e}")))?;
    let status = match row.status.as_str() {
        "refused" => PayinStatus::Canceled,
        "released" => PayinStatus::Pending,
        _ => PayinStatus::OnHold,
    };
    let created = crate::time::rfc3339(cajero_store::Micros(row.created_at).to_timestamp());
    let updated = row.decided_at.map_or_else(
        || created.clone(),
        |d| crate::time::rfc3339(cajero_store::Micros(d).to_timestamp()),
    );
    Ok(json!({
        "id": row.id,
        "object": "payin",
        "livemode": row.livemode,
        "status": status.as_str(),
        "amount": request.amount.minor(),
        "currency": Currency::Cop.code(),
        "network": request.network,
        "routing_reason": Value::Null,
        "reference": request.reference,
        "description": request.description,
        "customer": request.customer,
        "voucher": Value::Null,
        "expires_at": Value::Null,
        "paid_at": Value::Null,
        "amount_refunded": 0,
        "fee": 0,
        "metadata": request.metadata,
        "created": created,
        "updated": updated,
        "test_clock": request.test_clock,
    }))
}

/// A held pay-in of the caller's (`GET /v1/payins/{id}` when no voucher was issued).
pub async fn held(
    state: &AppState,
    caller: Caller,
    id: PayinId,
) -> Result<Option<Value>, ApiError> {
    let merchant = caller.merchant_id.to_string();
    let row = state
        .store
        .read(move |mut c| {
            Box::pin(
                async move { rows::payin_hold(&mut c, &id.to_string(), Some(&merchant)).await },
            )
        })
        .await?;
    match row {
        // A released one is a pay-in like any other: read from `payins`.
        Some(row) if row.livemode == caller.mode.is_live() && row.status != "released" => {
            Ok(Some(held_json(&row, &state.config.public_url())?))
        }
        _ => Ok(None),
    }
}

/// Why a held pay-in cannot be released or refused.
#[derive(Debug, thiserror::Error)]
pub enum HoldError {
    /// No such held pay-in.
    #[error("no held pay-in {0}")]
    NotFound(String),
    /// Already released or refused.
    #[error("pay-in {id} is {status}, not on hold")]
    NotOnHold {
        /// The pay-in.
        id: String,
        /// `released` or `refused`.
        status: String,
    },
    /// Another release is under way (the network may be issuing its voucher now): it cannot
    /// be refused, nor released twice at once.
    #[error(
        "pay-in {0} is being released (since {1}); a release that died is taken over after {RELEASE_CLAIM_S} s"
    )]
    Releasing(String, String),
    /// The network did not issue the voucher (still on hold: try again later).
    #[error("the network did not issue the voucher; the pay-in stays on hold: {0}")]
    Network(String),
    /// The database or the service failed.
    #[error("{0}")]
    Failed(String),
}

impl From<StoreError> for HoldError {
    fn from(e: StoreError) -> Self {
        HoldError::Failed(e.to_string())
    }
}

async fn open_hold(state: &AppState, id: &str) -> Result<PayinHoldRow, HoldError> {
    let key = id.to_owned();
    let row = state
        .store
        .read(move |mut c| Box::pin(async move { rows::payin_hold(&mut c, &key, None).await }))
        .await?
        .ok_or_else(|| HoldError::NotFound(crate::error::quoted(id)))?;
    if row.status != PayinStatus::OnHold.as_str() {
        return Err(HoldError::NotOnHold {
            id: row.id,
            status: row.status,
        });
    }
    Ok(row)
}

/// The pay-ins on hold, oldest first (the operator's queue).
pub async fn open_holds(state: &AppState, limit: i64) -> Result<Vec<PayinHoldRow>, StoreError> {
    state
        .store
        .read(move |mut c| Box::pin(async move { rows::open_payin_holds(&mut c, limit).await }))
        .await
}

/// How long a release's claim keeps others out: well beyond what a release can take (a
/// create with its look-ups by reference takes about a minute at worst at the default
/// timeouts). A release that died holding it is then taken over by the next release, or a
/// refusal cancels at the network what it left behind.
pub const RELEASE_CLAIM_S: i64 = 600;

/// Releases a held pay-in: the hold is claimed first (no refusal can then come between the
/// network issuing the voucher and cajero recording it), the network issues its voucher, and
/// the pay-in is recorded under its id with `payin.created`, the hold marked released with the
/// operator and reason, in one unit. If the network does not issue it, the claim is given back
/// and nothing else changes (it stays on hold).
pub async fn release(state: &AppState, id: &str, acting: &Acting) -> Result<Value, HoldError> {
    let row = open_hold(state, id).await?;
    let request: PayinRequest = serde_json::from_str(&row.request)
        .map_err(|e| HoldError::Failed(format!("the stored request: {e}")))?;
    let merchant_id = row
        .merchant_id
        .parse()
        .map_err(|e| HoldError::Failed(format!("stored merchant id: {e}")))?;
    let caller = Caller {
        merchant_id,
        mode: cajero_domain::Mode::from_livemode(row.livemode),
        key_id: None,
    };
    let pid: PayinId = row
        .id
        .parse()
        .map_err(|e| HoldError::Failed(format!("stored pay-in id: {e}")))?;
    let test_clock = crate::test_clocks::resolve(state, caller, request.test_clock.as_deref())
        .await
        .map_err(|e| HoldError::Failed(e.message))?;
    let plan = crate::routing::plan_order(
        state,
        caller,
        OrderKind::Collection,
        request.network.as_deref(),
        request.amount,
    )
    .map_err(|e| HoldError::Network(e.message))?;
    // Claimed last, once nothing but the network call can fail before the recording unit.
    let now = cajero_store::Micros::from(state.clock.now()).0;
    let token = rows::release_claim(now, rand::random());
    let claimed = {
        let (id, token) = (row.id.clone(), token.clone());
        let stale_before = now - RELEASE_CLAIM_S * 1_000_000;
        state
            .store
            .write(move |mut c| {
                Box::pin(async move {
                    if rows::claim_payin_hold(&mut c, &id, &token, stale_before).await? {
                        return Ok::<_, StoreError>(Ok(()));
                    }
                    Ok(Err(rows::payin_hold(&mut c, &id, None).await?))
                })
            })
            .await?
    };
    match claimed {
        Ok(()) => {}
        Err(Some(current)) => return Err(not_open(current)),
        Err(None) => return Err(HoldError::NotFound(crate::error::quoted(id))),
    }
    let call = super::call_networks(state, &plan, pid, &request, test_clock).await;
    let released = Released {
        acting: acting.clone(),
        claim: token,
    };
    match super::finish_create(
        state,
        caller,
        super::Finish::Release(released),
        pid,
        request,
        call,
    )
    .await
    {
        Ok(answer) => Ok(answer.object().unwrap_or_default()),
        Err(e) if e.status.is_server_error() || e.kind == crate::error::ErrorType::NetworkError => {
            Err(HoldError::Network(e.message))
        }
        Err(e) => Err(HoldError::Failed(e.message)),
    }
}

/// The operator releasing a held pay-in, recorded with it, and the release's claim.
#[derive(Debug, Clone)]
pub(super) struct Released {
    pub(super) acting: Acting,
    pub(super) claim: String,
}

/// Gives the release's claim back in the unit that records that the network issued nothing.
pub(super) async fn unclaim(
    conn: &mut Conn<'_>,
    id: PayinId,
    released: &Released,
) -> Result<(), StoreError> {
    rows::unclaim_payin_hold(conn, &id.to_string(), &released.claim).await?;
    Ok(())
}

/// Why a hold that is not open for a decision is not.
fn not_open(row: PayinHoldRow) -> HoldError {
    match row.releasing {
        Some(claim) if row.status == PayinStatus::OnHold.as_str() => {
            let since = claim
                .split(':')
                .next()
                .and_then(|us| us.parse::<i64>().ok())
                .map(|us| crate::time::rfc3339(cajero_store::Micros(us).to_timestamp()))
                .unwrap_or(claim);
            HoldError::Releasing(row.id, since)
        }
        _ => HoldError::NotOnHold {
            id: row.id,
            status: row.status,
        },
    }
}

/// Marks the hold released in the unit that records the pay-in; `false` when it was no longer
/// on hold (released or refused meanwhile: the unit must not record the pay-in).
pub(super) async fn mark_released(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    merchant: cajero_domain::id::MerchantId,
    id: PayinId,
    released: &Released,
) -> Result<bool, StoreError> {
    let at = cajero_store::Micros::from(clock.now()).0;
    let reason = released.acting.reason.as_str();
    if !rows::decide_payin_hold(
        conn,
        &id.to_string(),
        "released",
        &released.acting.name,
        at,
        reason,
    )
    .await?
    {
        return Ok(false);
    }
    let audit = crate::operators::audit_row(
        clock,
        &released.acting,
        "payin.released",
        Some(merchant.to_string()),
        Some(id.to_string()),
    );
    cajero_store::operators::insert_audit(conn, &audit, Some(reason)).await?;
    Ok(true)
}

/// Refuses a held pay-in: no voucher will be issued; `payin.canceled`, audited with the reason.
///
/// A hold a release has claimed cannot be refused while the release may be running (the
/// network may be issuing its voucher). Once the claim is older than [`RELEASE_CLAIM_S`] (the
/// release died), the networks of its mode are asked for a voucher under the pay-in's id and
/// an open one is canceled there (the exchanges kept as evidence) before the refusal; when a
/// network cannot answer or cancel, or the voucher was paid, nothing is refused.
pub async fn refuse(state: &AppState, id: &str, acting: &Acting) -> Result<Value, HoldError> {
    let row = open_hold(state, id).await?;
    let mut evidence = Vec::new();
    let claim = match row.releasing.clone() {
        None => None,
        Some(claim) => {
            let now = cajero_store::Micros::from(state.clock.now()).0;
            let stale_before = rows::release_claim(now - RELEASE_CLAIM_S * 1_000_000, 0);
            if claim >= stale_before {
                return Err(not_open(row));
            }
            let mode = cajero_domain::Mode::from_livemode(row.livemode);
            let settled = crate::workers::claims::cancel_open_voucher(state, mode, &row.id).await;
            evidence = settled.evidence;
            if settled.keep {
                store_evidence(state, &row, evidence).await?;
                return Err(HoldError::Network(format!(
                    "a release of {} died after asking the network for its voucher, and the network could not confirm that no voucher is open under it (or it was paid): release it instead, or try again",
                    row.id
                )));
            }
            Some(claim)
        }
    };
    let clock = state.clock.clone();
    let public_url = state.config.public_url();
    let acting = acting.clone();
    state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                link_evidence(&mut c, clock.as_ref(), &row, &evidence).await?;
                let at = cajero_store::Micros::from(clock.now()).0;
                let reason = acting.reason.as_str();
                let refused = match &claim {
                    None => {
                        rows::decide_payin_hold(
                            &mut c,
                            &row.id,
                            "refused",
                            &acting.name,
                            at,
                            reason,
                        )
                        .await?
                    }
                    Some(claim) => {
                        rows::refuse_claimed_payin_hold(
                            &mut c,
                            &row.id,
                            claim,
                            &acting.name,
                            at,
                            reason,
                        )
                        .await?
                    }
                };
                if !refused {
                    // Decided meanwhile, or a release holds it (the network may be issuing
                    // its voucher: refusing now could leave that voucher without an owner).
                    let current = rows::payin_hold(&mut c, &row.id, None)
                        .await?
                        .ok_or_else(|| HoldError::NotFound(row.id.clone()))?;
                    return Err(not_open(current));
                }
                let decided = rows::payin_hold(&mut c, &row.id, None)
                    .await?
                    .ok_or_else(|| HoldError::NotFound(row.id.clone()))?;
                let body =
                    held_json(&decided, &public_url).map_err(|e| HoldError::Failed(e.message))?;
                let merchant = row
                    .merchant_id
                    .parse()
                    .map_err(|e| HoldError::Failed(format!("stored merchant id: {e}")))?;
                events::emit(
                    &mut c,
                    merchant,
                    row.livemode,
                    EventType::PayinCanceled,
                    &body,
                    new_id(clock.as_ref()),
                    clock.now(),
                )
                .await?;
                let audit = crate::operators::audit_row(
                    clock.as_ref(),
                    &acting,
                    "payin.refused",
                    Some(row.merchant_id.clone()),
                    Some(row.id.clone()),
                );
                cajero_store::operators::insert_audit(&mut c, &audit, Some(reason)).await?;
                Ok(body)
            })
        })
        .await
}

/// Keeps the exchanges with the networks about a held pay-in as evidence, in their own unit.
async fn store_evidence(
    state: &AppState,
    row: &PayinHoldRow,
    evidence: Vec<(String, cajero_connect::Evidence)>,
) -> Result<(), HoldError> {
    if evidence.is_empty() {
        return Ok(());
    }
    let clock = state.clock.clone();
    let row = row.clone();
    state
        .store
        .write(move |mut c| {
            Box::pin(async move { link_evidence(&mut c, clock.as_ref(), &row, &evidence).await })
        })
        .await
}

async fn link_evidence(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    row: &PayinHoldRow,
    evidence: &[(String, cajero_connect::Evidence)],
) -> Result<(), HoldError> {
    let merchant = row
        .merchant_id
        .parse()
        .map_err(|e| HoldError::Failed(format!("stored merchant id: {e}")))?;
    let mode = cajero_domain::Mode::from_livemode(row.livemode);
    for (network, exchange) in evidence {
        crate::networks::store_evidence(
            conn,
            clock,
            crate::networks::EvidenceLink {
                merchant: Some(merchant),
                mode,
                network,
                object_id: Some(&row.id),
                direction: "outbound",
            },
            std::slice::from_ref(exchange),
        )
        .await?;
    }
    Ok(())
}
