//! Payouts: cash pick-up codes, from the reservation of funds to collection, expiry or
//! cancelation.
//!
//! The funds (amount + fee + IVA + GMF) are reserved on the merchant's balance, as pending
//! ledger transfers, in the same unit of work that accepts the payout and before the network
//! is asked for a code: a code never exists without the money behind it. Collection posts the
//! reservation; expiry, cancelation and failure void it.

use axum::http::StatusCode;
use axum::response::Response;
use cajero_connect::{Callback, CallbackKind, CreatePickup, DocumentRef, NetworkOrder};
use cajero_domain::document::Document;
use cajero_domain::id::{PayoutId, TransferId};
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
use crate::idempotency::IdempotencyKey;
use crate::orders::{self, ClaimedIn, NetworkCall, UnitOutcome};
use crate::refunds::RefundLink;
use crate::validate::{self, DocumentIn};

/// Pick-up validity by default: 7 days (API.md).
pub const EXPIRES_IN_S_DEFAULT: i64 = 7 * 24 * 3600;
/// Shortest: 1 h.
pub const EXPIRES_IN_S_MIN: i64 = 3600;
/// Longest: 30 days.
pub const EXPIRES_IN_S_MAX: i64 = 30 * 24 * 3600;

/// `POST /v1/payouts` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePayout {
    /// In whole pesos, within the network's limits (Efecty: 10,000–3,000,000 COP).
    #[schema(minimum = 1)]
    amount: i64,
    /// `COP` (cash networks pay and collect pesos).
    #[schema(schema_with = crate::openapi::cop_only)]
    currency: String,
    /// The merchant's own reference (1–64 printable characters).
    #[schema(min_length = 1, max_length = 64)]
    reference: Option<String>,
    /// Who collects the cash.
    beneficiary: BeneficiaryIn,
    /// A network code (`efecty`); by default the merchant's routing picks one.
    network: Option<String>,
    /// 3,600–2,592,000 (1 hour to 30 days); default 604,800 (7 days).
    #[schema(minimum = 3600, maximum = 2592000)]
    expires_in_seconds: Option<i64>,
    /// Up to 50 keys of at most 40 characters, string values of at most 500.
    #[schema(value_type = Option<Object>)]
    metadata: Option<Map<String, Value>>,
}

/// The beneficiary as sent.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Beneficiary)]
pub struct BeneficiaryIn {
    /// Full name as on the document.
    name: String,
    /// The document the beneficiary shows at the counter.
    document: DocumentIn,
    /// Colombian mobile number.
    phone: Option<String>,
    /// Email address.
    email: Option<String>,
}

/// A validated payout request.
#[derive(Debug, Clone)]
pub struct PayoutRequest {
    /// Whole pesos.
    pub amount: Amount,
    reference: Option<String>,
    name: PersonName,
    document: Document,
    beneficiary: Value,
    network: Option<String>,
    expires_in_s: i64,
    metadata: Value,
}

impl CreatePayout {
    /// The payout that pays a cash pick-up refund.
    pub fn for_refund(
        amount: Amount,
        beneficiary: BeneficiaryIn,
        expires_in_seconds: Option<i64>,
    ) -> CreatePayout {
        CreatePayout {
            amount: amount.minor(),
            currency: Currency::Cop.code().to_string(),
            reference: None,
            beneficiary,
            network: None,
            expires_in_seconds,
            metadata: None,
        }
    }

    /// Parses every field into domain types, naming the field at fault.
    pub fn parse(self) -> Result<PayoutRequest, ApiError> {
        let amount = validate::cop_amount(self.amount, &self.currency)?;
        let name = validate::person_name(&self.beneficiary.name, "beneficiary.name")?;
        let document = validate::document(self.beneficiary.document, "beneficiary.document")?;
        let phone = self
            .beneficiary
            .phone
            .as_deref()
            .map(|p| validate::phone(p, "beneficiary.phone"))
            .transpose()?;
        let email = self
            .beneficiary
            .email
            .as_deref()
            .map(|e| validate::email(e, "beneficiary.email"))
            .transpose()?;
        let beneficiary = json!({
            "name": name.as_str(),
            "document": validate::document_json(&document),
            "phone": phone.as_ref().map(|p| p.as_str()),
            "email": email,
        });
        Ok(PayoutRequest {
            amount,
            reference: validate::reference(self.reference)?,
            name,
            document,
            beneficiary,
            network: self.network,
            expires_in_s: validate::expiry(
                self.expires_in_seconds,
                EXPIRES_IN_S_DEFAULT,
                EXPIRES_IN_S_MIN,
                EXPIRES_IN_S_MAX,
            )?,
            metadata: validate::metadata(self.metadata)?,
        })
    }
}

/// Creates a payout: reserve, then ask the network for a code, then record the outcome.
pub async fn create(
    state: &AppState,
    caller: Caller,
    key: IdempotencyKey,
    fingerprint: String,
    request: PayoutRequest,
) -> Result<Response, ApiError> {
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
) -> Result<Response, ApiError> {
    let scope = crate::idempotency::scope(caller, key, fingerprint);
    let candidates = state
        .networks
        .route(caller.mode, request.network.as_deref());
    let first_network = candidates
        .as_ref()
        .ok()
        .and_then(|c| c.first())
        .map(|n| n.code.clone())
        .unwrap_or_default();
    // Step 1: claim the key, accept and reserve (or fail for lack of funds), in one unit
    // committed before the network call.
    let accepted = reserve(
        state,
        caller,
        &scope,
        candidates.as_ref().err().cloned(),
        &request,
        &first_network,
        refund.clone(),
    )
    .await?;
    let refund_id = refund.as_ref().map(|r| r.refund_id);
    let payout = match accepted {
        Reserved::Ready(payout) => payout,
        Reserved::Answered(outcome) => return outcome.into_response_result(),
        Reserved::Replay(response) => return Ok(response),
    };
    let id = payout.id;
    let candidates = candidates.unwrap_or_default();
    // Step 2: the network.
    let call = NetworkCall::run(&candidates, |net| {
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
        };
        let connector = net.connector.clone();
        async move { cajero_connect::create_once(connector.as_ref(), &pickup).await }
    })
    .await;
    // Step 3: record what the network said.
    let clock = state.clock.clone();
    let public_url = state.config.public_url();
    state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                orders::store_call_evidence(&mut c, clock.as_ref(), caller, &id.to_string(), &call).await?;
                let now = clock.now();
                match call.result {
                    Ok((network, order)) => {
                        payouts::mark_issued(&mut c, id, &order.network_order_id, &order.code, order.expires_at, now).await?;
                        if network.code != payout.network {
                            cajero_store::execute!(&mut c, "UPDATE payouts SET network = $1 WHERE id = $2", &network.code, id.to_string())?;
                        }
                        let body = emit_current(&mut c, clock.as_ref(), &public_url, caller.merchant_id, caller.mode, id, &[EventType::PayoutCreated, EventType::PayoutAvailable]).await?;
                        let body = match refund_id {
                            Some(r) => crate::refunds::current_json(&mut c, caller, r).await?,
                            None => body,
                        };
                        orders::finish_in(&mut c, &scope, StatusCode::CREATED, &body).await
                    }
                    Err(error) => {
                        let api_error = orders::create_error(error.clone());
                        let (code, message) = match &error {
                            cajero_connect::ConnectError::Rejected { message, .. } => ("network_rejected", message.clone()),
                            _ => ("network_unavailable", "the cash network was unavailable".to_string()),
                        };
                        fail(&mut c, clock.as_ref(), &payout, code, &message).await?;
                        let body = emit_current(&mut c, clock.as_ref(), &public_url, caller.merchant_id, caller.mode, id, &[EventType::PayoutCreated, EventType::PayoutFailed]).await?;
                        let body = match refund_id {
                            Some(r) => crate::refunds::current_json(&mut c, caller, r).await?,
                            None => body,
                        };
                        if code == "network_unavailable" {
                            // The payout failed and its funds are back: answer 424 (API.md), and
                            // replay the same answer for this key.
                            let error_body = json!({"error": {"type": "network_error", "code": "network_unavailable", "message": api_error.message, "payout": id.to_string()}});
                            return orders::finish_in(&mut c, &scope, StatusCode::FAILED_DEPENDENCY, &error_body).await;
                        }
                        orders::finish_in(&mut c, &scope, StatusCode::CREATED, &body).await
                    }
                }
            })
        })
        .await?
        .into_response_result()
}

enum Reserved {
    Ready(Box<PayoutRecord>),
    Answered(UnitOutcome),
    Replay(Response),
}

/// Step 1: claims the key, then inserts the payout (or finds it, on a retry after a crash) and
/// reserves its funds; without enough balance the payout is recorded as failed and the request
/// answered. `unroutable` refuses the request after the claim (so that a replay still wins)
/// and rolls the claim back with the unit.
async fn reserve(
    state: &AppState,
    caller: Caller,
    scope: &KeyScope,
    unroutable: Option<ApiError>,
    request: &PayoutRequest,
    network: &str,
    refund: Option<RefundLink>,
) -> Result<Reserved, ApiError> {
    let clock = state.clock.clone();
    let public_url = state.config.public_url();
    let scope = scope.clone();
    let request = request.clone();
    let network = network.to_string();
    let proposed: PayoutId = new_id(state.clock.as_ref());
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
                if let Some(existing) = payouts::get(&mut c, caller.merchant_id, caller.mode, id).await? {
                    return Ok(Reserved::Ready(Box::new(existing)));
                }
                if let Some(link) = &refund
                    && !crate::refunds::reserve_amount(&mut c, clock.as_ref(), link, request.amount).await?
                {
                    let error = crate::refunds::exceeds_left(link.payin_id, request.amount);
                    return Ok(Reserved::Answered(orders::release_in(&mut c, &scope, error).await?));
                }
                let plan = merchant_settings::fee_plan(&mut c, caller.merchant_id, caller.mode).await?;
                // The month's volume only matters to a plan with volume tiers; summing it is
                // the costliest read of a payout, so a flat plan skips it.
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
                    reference: request.reference.clone(),
                    beneficiary: request.beneficiary.clone(),
                    metadata: request.metadata.clone(),
                    network_order_id: None,
                    pickup_code: None,
                    page_token: crate::payins::page_token(),
                    expires_in_s: request.expires_in_s,
                    expires_at: None,
                    paid_at: None,
                    failure_code: None,
                    failure_message: None,
                    fee: fees.total().unwrap_or(Amount::ZERO),
                    refund_id: refund.as_ref().map(|r| r.refund_id.to_string()),
                    created_at: now,
                    updated_at: now,
                };
                payouts::insert(&mut c, &record).await?;
                if let Some(link) = &refund {
                    crate::refunds::open(&mut c, clock.as_ref(), caller, link, &record).await?;
                }
                match ledger::post_batch(&mut c, &reservation(&record, &fees), now).await {
                    Ok(_) => Ok(Reserved::Ready(Box::new(record))),
                    Err(LedgerError::Transfer(TransferError::ExceedsCredits { spendable, .. })) => {
                        let message = format!(
                            "available balance {spendable} is less than the payout and its fees ({})",
                            request.amount.minor() + record.fee.minor()
                        );
                        payouts::transition(&mut c, id, PayoutStatus::Pending, PayoutStatus::Failed, None, Some(("insufficient_balance", &message)), now).await?;
                        let body = emit_current(&mut c, clock.as_ref(), &public_url, caller.merchant_id, caller.mode, id, &[EventType::PayoutCreated, EventType::PayoutFailed]).await?;
                        crate::refunds::payout_closed(&mut c, clock.as_ref(), id, PayoutStatus::Failed).await?;
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
    let reserve_id = TransferId::derived(p.id, "reserve").to_string();
    let reserved = ledger::batch_transfers(conn, &reserve_id).await?;
    if reserved.is_empty() {
        return Ok(()); // nothing was reserved (insufficient balance)
    }
    let purpose = if post { "post" } else { "void" };
    let batch_id = TransferId::derived(p.id, purpose);
    let transfers = reserved
        .iter()
        .enumerate()
        .map(|(n, t)| Transfer {
            id: format!("{batch_id}.{n}"),
            mode: if post {
                TransferMode::PostPending(t.id.clone())
            } else {
                TransferMode::VoidPending(t.id.clone())
            },
            ..t.clone()
        })
        .collect();
    let batch = NewBatch {
        id: batch_id.to_string(),
        merchant_id: Some(p.merchant_id),
        mode: p.mode,
        currency: p.currency,
        code: if post {
            TransferCode::Payout
        } else {
            TransferCode::PayoutReversal
        },
        source_id: Some(p.id.to_string()),
        available_on: None,
        transfers,
    };
    ledger::post_batch(conn, &batch, now)
        .await
        .map(|_| ())
        .map_err(|e| match e {
            LedgerError::Store(s) => s,
            other => StoreError::Corrupt {
                table: "ledger",
                detail: other.to_string(),
            },
        })
}

/// Marks a pending payout failed and releases its funds.
async fn fail(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    p: &PayoutRecord,
    code: &str,
    message: &str,
) -> Result<(), StoreError> {
    let now = clock.now();
    for from in [PayoutStatus::Pending, PayoutStatus::OnHold] {
        if payouts::transition(
            conn,
            p.id,
            from,
            PayoutStatus::Failed,
            None,
            Some((code, message)),
            now,
        )
        .await?
        {
            resolve_reservation(conn, p, false, now).await?;
            crate::refunds::payout_closed(conn, clock, p.id, PayoutStatus::Failed).await?;
            break;
        }
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
    let attempts = payouts::attempts(conn, id).await?;
    let body = payout_json(&p, &attempts, public_url);
    let now = clock.now();
    for t in types {
        events::emit(
            conn,
            merchant,
            mode.is_live(),
            *t,
            &body,
            new_id(clock),
            now,
        )
        .await?;
    }
    Ok(body)
}

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
    /// The merchant's reference.
    reference: Option<String>,
    /// The beneficiary as accepted (document normalised).
    #[schema(value_type = Object)]
    beneficiary: Value,
    /// The pick-up code, once the network issued it.
    pickup: Option<PickupView>,
    /// Collection attempts at counters (listed on retrieval; empty in lists).
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
    #[schema(schema_with = crate::openapi::timestamp)]
    created: String,
    #[schema(schema_with = crate::openapi::timestamp)]
    updated: String,
}

/// What the beneficiary needs at the counter.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Pickup)]
pub struct PickupView {
    /// The pick-up code, grouped for reading aloud.
    code: String,
    /// The pick-up page for the beneficiary.
    url: String,
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
        reference: p.reference.clone(),
        beneficiary: p.beneficiary.clone(),
        pickup: p.pickup_code.as_ref().map(|code| PickupView {
            code: orders::group_code(code),
            url: format!("{public_url}/p/{}", p.page_token),
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
    }
}

/// The `payout` object as JSON (stored replies, events).
pub fn payout_json(p: &PayoutRecord, attempts: &[AttemptRecord], public_url: &str) -> Value {
    crate::openapi::to_json(&payout_view(p, attempts, public_url))
}

/// Applies a payout callback inside the caller's unit of work.
pub async fn apply_callback(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    public_url: &str,
    callback: &Callback,
) -> Result<(), StoreError> {
    let order = &callback.order;
    let Some(payout) =
        payouts::get_by_network_order(conn, &order.network, &order.network_order_id).await?
    else {
        tracing::warn!(network = %order.network, order = %order.network_order_id, "callback for an unknown payout");
        return Ok(());
    };
    if let Some(attempt) = &callback.attempt {
        let record = AttemptRecord {
            id: format!("{}:{}", order.network, attempt.id),
            at: attempt.at,
            counter_id: attempt.counter_id.clone(),
            outcome: attempt.outcome.clone(),
        };
        let new = payouts::insert_attempt(conn, payout.id, &record, clock.now()).await?;
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
    apply_network_order(conn, clock, public_url, &payout, order).await
}

/// Applies the network's view of an order to its payout.
pub async fn apply_network_order(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    public_url: &str,
    payout: &PayoutRecord,
    order: &NetworkOrder,
) -> Result<(), StoreError> {
    use cajero_connect::NetworkStatus as N;
    let event = match order.status {
        N::Paid => PayoutEvent::Collect,
        N::Expired => PayoutEvent::Expire,
        N::Canceled => PayoutEvent::Cancel,
        N::Pending | N::Available | N::Locked => return Ok(()),
    };
    close(conn, clock, public_url, payout, event, order.paid_at).await
}

/// Moves an open payout to paid, expired or canceled, settling its reservation, and emits.
pub async fn close(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    public_url: &str,
    payout: &PayoutRecord,
    event: PayoutEvent,
    paid_at: Option<jiff::Timestamp>,
) -> Result<(), StoreError> {
    let now = clock.now();
    let to = match payout.status.apply(event) {
        Ok(Step::To(to)) => to,
        Ok(Step::Stay) => return Ok(()),
        Err(e) => {
            if event == PayoutEvent::Collect {
                // Cash left a counter for a payout we had closed: an exception to investigate.
                tracing::error!(payout = %payout.id, status = %payout.status, "collected after it was closed: {e}");
            }
            return Ok(());
        }
    };
    let paid = if to == PayoutStatus::Paid {
        Some(paid_at.unwrap_or(now))
    } else {
        None
    };
    if !payouts::transition(conn, payout.id, payout.status, to, paid, None, now).await? {
        return Ok(());
    }
    resolve_reservation(conn, payout, to == PayoutStatus::Paid, now).await?;
    crate::refunds::payout_closed(conn, clock, payout.id, to).await?;
    let event_type = match to {
        PayoutStatus::Paid => EventType::PayoutPaid,
        PayoutStatus::Expired => EventType::PayoutExpired,
        _ => EventType::PayoutCanceled,
    };
    emit_current(
        conn,
        clock,
        public_url,
        payout.merchant_id,
        payout.mode,
        payout.id,
        &[event_type],
    )
    .await?;
    Ok(())
}

/// Resolves a payout whose create was interrupted after its funds were reserved (the poller):
/// the network's order under our reference, if it has one, issues it; if the network has none,
/// the payout fails and its funds are released. Anything else leaves it for the next look.
pub async fn resolve_stuck(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    public_url: &str,
    payout: &PayoutRecord,
    found: Result<NetworkOrder, cajero_connect::ConnectError>,
) -> Result<(), StoreError> {
    let now = clock.now();
    match found {
        Ok(order) => {
            if payouts::mark_issued(
                conn,
                payout.id,
                &order.network_order_id,
                &order.code,
                order.expires_at,
                now,
            )
            .await?
            {
                emit_current(
                    conn,
                    clock,
                    public_url,
                    payout.merchant_id,
                    payout.mode,
                    payout.id,
                    &[EventType::PayoutCreated, EventType::PayoutAvailable],
                )
                .await?;
            }
            Ok(())
        }
        Err(cajero_connect::ConnectError::NotFound) => {
            fail(
                conn,
                clock,
                payout,
                "network_unavailable",
                "the network never issued the code",
            )
            .await?;
            emit_current(
                conn,
                clock,
                public_url,
                payout.merchant_id,
                payout.mode,
                payout.id,
                &[EventType::PayoutCreated, EventType::PayoutFailed],
            )
            .await?;
            Ok(())
        }
        Err(_) => payouts::touch(conn, payout.id, now).await,
    }
}
