//! The `payout` object as the API shows it.

// The parent module's imports: these lines were part of it.
use super::*;

/// The `payout` object.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Payout)]
pub struct PayoutView {
    /// `po_…`.
    #[schema(value_type = String)]
    id: PayoutId,
    /// `payout`.
    object: &'static str,
    /// False in test mode.
    livemode: bool,
    #[schema(schema_with = crate::openapi::payout_status)]
    status: PayoutStatus,
    /// In whole pesos.
    #[schema(value_type = i64)]
    amount: Amount,
    #[schema(schema_with = crate::openapi::currency)]
    currency: Currency,
    /// The network's code (`efecty`).
    network: String,
    /// Why it went to that network: the routing rule or priority that chose it, and the
    /// networks left out or fallen over from (`sured skipped: circuit open since …`). Null
    /// until a network has the order, and for orders made before routing recorded it.
    routing_reason: Option<String>,
    /// The merchant's reference.
    reference: Option<String>,
    /// The beneficiary as accepted (document normalised).
    #[schema(value_type = Object)]
    beneficiary: Value,
    /// The pick-up code, once the network issued it.
    pickup: Option<PickupView>,
    /// Collection attempts at counters, oldest first.
    attempts: Vec<AttemptView>,
    /// Why the payout failed.
    failure_code: Option<String>,
    /// The failure, for humans.
    failure_message: Option<String>,
    /// The fee charged (with its taxes, reserved with the amount).
    #[schema(value_type = i64)]
    fee: Amount,
    #[schema(schema_with = crate::openapi::timestamp_or_null)]
    paid_at: Option<String>,
    #[schema(value_type = Object)]
    metadata: Value,
    /// When it was created: on its test clock's time when it lives on one.
    #[schema(schema_with = crate::openapi::timestamp)]
    created: String,
    /// When cajero last changed it (real time).
    #[schema(schema_with = crate::openapi::timestamp)]
    updated: String,
    /// The test clock it lives on (test mode), or null: real time.
    test_clock: Option<String>,
}

/// What the beneficiary needs at the counter.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Pickup)]
pub struct PickupView {
    /// The pick-up code, grouped for reading aloud.
    code: String,
    /// The pick-up page for the beneficiary.
    url: String,
    /// The same as a one-page PDF, to print or send.
    pdf_url: String,
    #[schema(schema_with = crate::openapi::timestamp_or_null)]
    expires_at: Option<String>,
}

/// One collection attempt at a counter.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PayoutAttempt)]
pub struct AttemptView {
    #[schema(schema_with = crate::openapi::timestamp)]
    at: String,
    /// The counter's id in the network's directory.
    counter: String,
    /// `paid`, `document_mismatch`, `wrong_code`, `locked`, …
    outcome: String,
}

/// The `payout` object.
pub fn payout_view(p: &PayoutRecord, attempts: &[AttemptRecord], public_url: &str) -> PayoutView {
    PayoutView {
        id: p.id,
        object: "payout",
        livemode: p.mode.is_live(),
        status: p.status,
        amount: p.amount,
        currency: p.currency,
        network: p.network.clone(),
        routing_reason: p.routing_reason.clone(),
        reference: p.reference.clone(),
        beneficiary: p.beneficiary.clone(),
        pickup: p.pickup_code.as_ref().map(|code| PickupView {
            code: orders::group_code(code),
            url: format!("{public_url}/p/{}", p.page_token),
            pdf_url: format!("{public_url}/p/{}.pdf", p.page_token),
            expires_at: p.expires_at.map(crate::time::rfc3339),
        }),
        attempts: attempts
            .iter()
            .map(|a| AttemptView {
                at: crate::time::rfc3339(a.at),
                counter: a.counter_id.clone(),
                outcome: a.outcome.clone(),
            })
            .collect(),
        failure_code: p.failure_code.clone(),
        failure_message: p.failure_message.clone(),
        fee: p.fee,
        paid_at: p.paid_at.map(crate::time::rfc3339),
        metadata: p.metadata.clone(),
        created: crate::time::rfc3339(p.created_at),
        updated: crate::time::rfc3339(p.updated_at),
        test_clock: p.test_clock.map(|c| c.to_string()),
    }
}

/// The `payout` object as JSON (stored replies, events).
pub fn payout_json(p: &PayoutRecord, attempts: &[AttemptRecord], public_url: &str) -> Value {
    crate::openapi::to_json(&payout_view(p, attempts, public_url))
}
