//! Refunds of pay-ins. Cash cannot go back the way it came: a `cash_pickup` refund is paid out
//! as a payout against the merchant's balance (linked by `payout`); a `bank_transfer` refund
//! of a pay-in collected through a network that pays such refunds itself (dLocal) is sent to
//! it and stays `pending` until the network says ([`crate::network_refunds`]); any other
//! `bank_transfer` refund records a transfer the merchant made outside cajero. The refunds of a pay-in never add up to
//! more than was paid.

use axum::http::StatusCode;
use cajero_domain::id::{PayinId, PayoutId, RefundId};
use cajero_domain::lifecycle::{PayinStatus, PayoutStatus, RefundStatus};
use cajero_domain::money::{Amount, Currency};
use cajero_domain::webhook::EventType;
use cajero_store::payins::{self, PayinRecord};
use cajero_store::payouts::PayoutRecord;
use cajero_store::refunds::{self, RefundRecord};
use cajero_store::{Conn, StoreError, events};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Caller;
use crate::clock::{Clock, new_id};
use crate::error::ApiError;
use crate::idempotency::{self, Answer, IdempotencyKey, Outcome};
use crate::payouts::{BeneficiaryIn, CreatePayout};
use crate::validate;

/// `POST /v1/payins/{id}/refunds` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRefund {
    /// In whole pesos; by default what is left to refund.
    #[schema(schema_with = crate::openapi::refund_amount)]
    amount: Option<i64>,
    /// Why.
    reason: Option<String>,
    /// `cash_pickup` (paid out as a payout; needs `beneficiary`) or `bank_transfer` (sent to
    /// dLocal for a pay-in it collected, `pending` until it pays; otherwise the merchant
    /// transferred the money itself).
    #[schema(schema_with = crate::openapi::refund_method)]
    method: String,
    /// For `cash_pickup`: who collects the cash.
    beneficiary: Option<BeneficiaryIn>,
    /// For `cash_pickup`: the pick-up code's validity, as for payouts.
    #[schema(schema_with = crate::openapi::payout_expires_in_seconds)]
    expires_in_seconds: Option<i64>,
    /// Your key-value pairs.
    #[schema(schema_with = crate::openapi::metadata)]
    metadata: Option<Map<String, Value>>,
}

/// What a refund's payout needs to know about it.
#[derive(Debug, Clone)]
pub struct RefundLink {
    /// The refund being paid.
    pub refund_id: RefundId,
    /// The pay-in refunded.
    pub payin_id: PayinId,
    /// Why.
    pub reason: Option<String>,
    /// Merchant metadata of the refund.
    pub metadata: Value,
}

/// Creates a refund of one of the caller's pay-ins.
pub async fn create(
    state: &AppState,
    caller: Caller,
    key: IdempotencyKey,
    payin: PayinRecord,
    body: Value,
) -> Result<Answer, ApiError> {
    let path = format!("/v1/payins/{}/refunds", payin.id);
    let fingerprint = idempotency::fingerprint("POST", &path, &body);
    let request: CreateRefund = crate::extract::from_value(body)?;
    if payin.status != PayinStatus::Paid {
        return Err(ApiError::invalid(
            "payin_not_refundable",
            format!(
                "payin {} is {}: only paid pay-ins can be refunded",
                payin.id, payin.status
            ),
        ));
    }
    let remaining = payin.amount.minor() - payin.amount_refunded.minor();
    if remaining <= 0 {
        return Err(fully_refunded(&payin));
    }
    let amount = Amount::new(request.amount.unwrap_or(remaining))
        .ok()
        .filter(|a| !a.is_zero())
        .ok_or_else(|| {
            ApiError::invalid(
                "amount_invalid",
                format!(
                    "amount must be a positive whole number of pesos, at most the {remaining} \
                     left to refund"
                ),
            )
            .with_param("amount")
        })?;
    let reason = validate::text(request.reason, validate::DESCRIPTION_CHARS_MAX, "reason")?;
    let metadata = validate::metadata(request.metadata)?;
    if request.expires_in_seconds.is_some() {
        use crate::payouts::{EXPIRES_IN_S_DEFAULT, EXPIRES_IN_S_MAX, EXPIRES_IN_S_MIN};
        validate::expiry(
            request.expires_in_seconds,
            EXPIRES_IN_S_DEFAULT,
            EXPIRES_IN_S_MIN,
            EXPIRES_IN_S_MAX,
        )?;
    }
    match request.method.as_str() {
        "bank_transfer" => {
            if request.beneficiary.is_some() {
                return Err(ApiError::invalid(
                    "parameter_unknown",
                    "a bank transfer refund takes no beneficiary",
                )
                .with_param("beneficiary"));
            }
            if request.expires_in_seconds.is_some() {
                return Err(ApiError::invalid(
                    "parameter_unknown",
                    "a bank transfer refund has no pick-up code to expire: leave out \
                     expires_in_seconds",
                )
                .with_param("expires_in_seconds"));
            }
            let id: RefundId = new_id(state.clock.as_ref());
            let now = state.clock.now();
            let clock = state.clock.clone();
            // A network that pays bank transfer refunds itself (dLocal) is sent the refund;
            // otherwise the merchant made the transfer and the refund is recorded as done.
            let network = crate::network_refunds::connector_for(state, &payin, "bank_transfer");
            let (status, event_types) = match network {
                Some(_) => (RefundStatus::Pending, &[EventType::RefundCreated][..]),
                None => (
                    RefundStatus::Succeeded,
                    &[EventType::RefundCreated, EventType::RefundSucceeded][..],
                ),
            };
            let sent_payin = payin.clone();
            let network_paid = network.is_some();
            let answer =
                idempotency::run_in_one_transaction(state, caller, key, fingerprint, move |c| {
                    Box::pin(async move {
                        if !payins::add_refunded(c, payin.id, amount, now).await? {
                            return Err(exceeds(&payin, amount));
                        }
                        let record = RefundRecord {
                            id,
                            merchant_id: caller.merchant_id,
                            mode: caller.mode,
                            payin_id: payin.id,
                            amount,
                            currency: payin.currency,
                            status,
                            method: "bank_transfer".into(),
                            reason,
                            payout_id: None,
                            metadata,
                            created_at: now,
                            updated_at: now,
                        };
                        refunds::insert(c, &record).await?;
                        if network_paid
                            && !crate::network_refunds::reserve(c, &payin, &record, now).await?
                        {
                            return Err(ApiError::invalid(
                                "refund_insufficient_balance",
                                format!(
                                    "the available balance is less than the refund's {amount}: \
                                     the network pays it out of what it owes for the pay-in"
                                ),
                            )
                            .with_param("amount"));
                        }
                        let body = refund_json(&record);
                        for t in event_types {
                            events::emit(
                                c,
                                caller.merchant_id,
                                caller.mode.is_live(),
                                *t,
                                &body,
                                new_id(clock.as_ref()),
                                now,
                            )
                            .await?;
                        }
                        Ok(Outcome {
                            status: StatusCode::CREATED,
                            body,
                        })
                    })
                })
                .await?;
            let replayed = answer.is_replay();
            match network {
                // Sent once: by the request that stored the refund, never by a replay.
                Some(connector) if !replayed && answer.status() == StatusCode::CREATED => {
                    let body =
                        crate::network_refunds::send(state, connector, &sent_payin, id).await?;
                    Ok(Answer::created(&body))
                }
                _ => Ok(answer),
            }
        }
        "cash_pickup" => {
            let Some(beneficiary) = request.beneficiary else {
                return Err(ApiError::invalid(
                    "parameter_missing",
                    "a cash pick-up refund needs the beneficiary who collects it",
                )
                .with_param("beneficiary"));
            };
            if amount.minor() > remaining {
                return Err(exceeds(&payin, amount));
            }
            let payout = CreatePayout::for_refund(amount, beneficiary, request.expires_in_seconds)
                .parse()?;
            let link = RefundLink {
                refund_id: new_id(state.clock.as_ref()),
                payin_id: payin.id,
                reason,
                metadata,
            };
            crate::payouts::create_with(state, caller, key, fingerprint, payout, Some(link)).await
        }
        other => Err(ApiError::invalid(
            "refund_method_invalid",
            format!(
                "method {} is not one of cash_pickup, bank_transfer",
                crate::error::quoted(other)
            ),
        )
        .with_param("method")),
    }
}

/// A refund that lost a race for what was left (found when its payout reserves the amount).
pub(crate) fn exceeds_left(payin_id: PayinId, amount: Amount) -> ApiError {
    ApiError::invalid(
        "refund_exceeds_remaining",
        format!(
            "refunding {amount} would exceed what is left to refund of payin {payin_id}: \
             retrieve it to see `amount_refunded`"
        ),
    )
    .with_param("amount")
}

fn exceeds(payin: &PayinRecord, amount: Amount) -> ApiError {
    let left = payin.amount.minor() - payin.amount_refunded.minor();
    ApiError::invalid(
        "refund_exceeds_remaining",
        format!(
            "only {left} {currency} is left to refund of payin {id} ({paid} paid, {refunded} \
             refunded or being refunded); {amount} is more than that",
            currency = payin.currency,
            id = payin.id,
            paid = payin.amount,
            refunded = payin.amount_refunded,
        ),
    )
    .with_param("amount")
}

fn fully_refunded(payin: &PayinRecord) -> ApiError {
    ApiError::invalid(
        "payin_fully_refunded",
        format!(
            "nothing is left to refund of payin {}: all of its {} {} is refunded or being \
             refunded",
            payin.id, payin.amount, payin.currency
        ),
    )
}

/// Inside the payout's first unit of work, before the payout is stored: counts the refund
/// against the pay-in; false when the pay-in has not that much left to refund.
pub async fn reserve_amount(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    link: &RefundLink,
    amount: Amount,
) -> Result<bool, StoreError> {
    payins::add_refunded(conn, link.payin_id, amount, clock.now()).await
}

/// Inside the same unit, once the payout is stored: records the refund as pending, paid by
/// `payout`, and emits `refund.created`.
pub async fn open(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    caller: Caller,
    link: &RefundLink,
    payout: &PayoutRecord,
) -> Result<RefundRecord, StoreError> {
    let now = clock.now();
    let record = RefundRecord {
        id: link.refund_id,
        merchant_id: caller.merchant_id,
        mode: caller.mode,
        payin_id: link.payin_id,
        amount: payout.amount,
        currency: payout.currency,
        status: RefundStatus::Pending,
        method: "cash_pickup".into(),
        reason: link.reason.clone(),
        payout_id: Some(payout.id),
        metadata: link.metadata.clone(),
        created_at: now,
        updated_at: now,
    };
    refunds::insert(conn, &record).await?;
    events::emit(
        conn,
        caller.merchant_id,
        caller.mode.is_live(),
        EventType::RefundCreated,
        &refund_json(&record),
        new_id(clock),
        now,
    )
    .await?;
    Ok(record)
}

/// The refund's JSON for the answer to its creation (the payout is linked by id).
pub async fn current_json(
    conn: &mut Conn<'_>,
    caller: Caller,
    id: RefundId,
) -> Result<Value, StoreError> {
    json_of(conn, caller.merchant_id, caller.mode, id).await
}

/// A merchant's refund as JSON (`null` when there is none).
pub async fn json_of(
    conn: &mut Conn<'_>,
    merchant: cajero_domain::id::MerchantId,
    mode: cajero_domain::merchant::Mode,
    id: RefundId,
) -> Result<Value, StoreError> {
    Ok(refunds::get(conn, merchant, mode, id)
        .await?
        .map(|r| refund_json(&r))
        .unwrap_or(Value::Null))
}

/// When a refund's payout ends: collected → the refund succeeded; otherwise it failed and the
/// amount can be refunded again.
pub async fn payout_closed(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    payout: &PayoutRecord,
    to: PayoutStatus,
) -> Result<(), StoreError> {
    // Only a refund's payout has one (both are written in the unit that creates the payout).
    if payout.refund_id.is_none() {
        return Ok(());
    }
    let Some(refund) = refunds::for_payout(conn, payout.id).await? else {
        return Ok(());
    };
    let now = clock.now();
    let (status, event) = match to {
        PayoutStatus::Paid => (RefundStatus::Succeeded, EventType::RefundSucceeded),
        PayoutStatus::Expired | PayoutStatus::Canceled | PayoutStatus::Failed => {
            (RefundStatus::Failed, EventType::RefundFailed)
        }
        _ => return Ok(()),
    };
    if !refunds::transition(conn, refund.id, RefundStatus::Pending, status, now).await? {
        return Ok(());
    }
    if status == RefundStatus::Failed {
        payins::subtract_refunded(conn, refund.payin_id, refund.amount, now).await?;
    }
    if let Some(updated) = refunds::get(conn, refund.merchant_id, refund.mode, refund.id).await? {
        events::emit(
            conn,
            refund.merchant_id,
            refund.mode.is_live(),
            event,
            &refund_json(&updated),
            new_id(clock),
            now,
        )
        .await?;
    }
    Ok(())
}

/// The `refund` object.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Refund)]
pub struct RefundView {
    /// `re_…`.
    #[schema(value_type = String)]
    id: RefundId,
    /// `refund`.
    object: &'static str,
    /// False in test mode.
    livemode: bool,
    /// The pay-in refunded (`pi_…`).
    #[schema(value_type = String)]
    payin: PayinId,
    /// In whole pesos.
    #[schema(value_type = i64)]
    amount: Amount,
    #[schema(schema_with = crate::openapi::currency)]
    currency: Currency,
    #[schema(schema_with = crate::openapi::refund_status)]
    status: RefundStatus,
    /// `cash_pickup` or `bank_transfer`.
    method: String,
    /// Why.
    reason: Option<String>,
    /// For `cash_pickup`: the payout that pays it (`po_…`).
    #[schema(value_type = Option<String>)]
    payout: Option<PayoutId>,
    #[schema(value_type = Object)]
    metadata: Value,
    #[schema(schema_with = crate::openapi::timestamp)]
    created: String,
    #[schema(schema_with = crate::openapi::timestamp)]
    updated: String,
}

/// The `refund` object.
pub fn refund_view(r: &RefundRecord) -> RefundView {
    RefundView {
        id: r.id,
        object: "refund",
        livemode: r.mode.is_live(),
        payin: r.payin_id,
        amount: r.amount,
        currency: r.currency,
        status: r.status,
        method: r.method.clone(),
        reason: r.reason.clone(),
        payout: r.payout_id,
        metadata: r.metadata.clone(),
        created: crate::time::rfc3339(r.created_at),
        updated: crate::time::rfc3339(r.updated_at),
    }
}

/// The `refund` object as JSON (stored replies, events).
pub fn refund_json(r: &RefundRecord) -> Value {
    crate::openapi::to_json(&refund_view(r))
}
