//! An operator releases a held payout: it leaves `on_hold` for `pending` (audited with the
//! reason, `payout.released`) and goes to the network as a new payout would, through the same [`issue`] step; a
//! crash in between leaves a `pending` payout without a code, which the poller resolves by our
//! reference as it does any other.

use super::*;

/// Releases `payout` from its hold and asks the network for its code, once per `key` (the
/// console form's). A payout no longer on hold is refused (`409 conflict`).
pub async fn release(
    state: &AppState,
    key: IdempotencyKey,
    payout: PayoutRecord,
    audit: cajero_store::dashboard::AuditRow,
    reason: String,
) -> Result<Answer, ApiError> {
    let caller = Caller::dashboard(payout.merchant_id, payout.mode);
    let path = format!("/v1/payouts/{}/release", payout.id);
    let fingerprint = crate::idempotency::fingerprint("POST", &path, &Value::Null);
    let scope = match orders::claim(state, caller, key, fingerprint, payout.id.to_string()).await? {
        Claimed::Replay(response) => return Ok(response),
        Claimed::Proceed { scope, .. } => scope,
    };
    if payout.status != PayoutStatus::OnHold {
        return orders::release_with(state, scope, not_on_hold(&payout)).await;
    }
    // The request as the merchant sent it, from what the payout stored.
    let sent = json!({
        "amount": payout.amount.minor(),
        "currency": payout.currency.code(),
        "reference": payout.reference,
        "beneficiary": payout.beneficiary,
        "network": payout.network,
        "expires_in_seconds": payout.expires_in_s,
        "metadata": payout.metadata,
        "test_clock": payout.test_clock.map(|c| c.to_string()),
    });
    let request = match serde_json::from_value::<CreatePayout>(sent)
        .map_err(|e| ApiError::internal(format!("stored payout {}: {e}", payout.id)))
        .and_then(CreatePayout::parse)
    {
        Ok(request) => request,
        Err(error) => return orders::release_with(state, scope, error).await,
    };
    let test_clock =
        match crate::test_clocks::resolve(state, caller, request.test_clock.as_deref()).await {
            Ok(clock) => clock,
            Err(error) => return orders::release_with(state, scope, error).await,
        };
    let (id, now) = (payout.id, state.clock.now());
    let (clock, public_url) = (state.clock.clone(), state.config.public_url());
    let (merchant, mode) = (payout.merchant_id, payout.mode);
    let moved = state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                let moved = payouts::transition(
                    &mut c,
                    id,
                    PayoutStatus::OnHold,
                    PayoutStatus::Pending,
                    payouts::Closing::default(),
                    now,
                )
                .await?
                .is_some();
                if moved {
                    cajero_store::operators::insert_audit(&mut c, &audit, Some(&reason)).await?;
                    emit_current(
                        &mut c,
                        clock.as_ref(),
                        &public_url,
                        merchant,
                        mode,
                        id,
                        &[EventType::PayoutReleased],
                    )
                    .await?;
                }
                Ok::<_, StoreError>(moved)
            })
        })
        .await?;
    if !moved {
        // Refused or released by someone else meanwhile.
        return orders::release_with(state, scope, not_on_hold(&payout)).await;
    }
    let plan = crate::routing::resume(&state.networks, payout.mode, &payout.network, &payout.route);
    let mut payout = payout;
    payout.status = PayoutStatus::Pending;
    issue(
        state,
        Accepted {
            caller,
            scope,
            payout: Box::new(payout),
            plan,
            request,
            refund_id: None,
            test_clock,
        },
    )
    .await
}

/// The payout was released or refused by someone else first (`409 conflict`).
fn not_on_hold(payout: &PayoutRecord) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        crate::error::ErrorType::ApiError,
        "conflict",
        format!(
            "payout {} is no longer on hold: someone else released or refused it",
            payout.id
        ),
    )
}
