//! Pay-ins: cash vouchers, from creation at the network to payment, expiry or cancelation.

use axum::http::StatusCode;
use base64::Engine as _;
use cajero_connect::{ConnectError, CreateVoucher, DocumentRef, NetworkOrder, OrderKind};
use cajero_domain::document::Document;
use cajero_domain::id::{Id, IdKind, PayinId, TestClockId, TransferId};
use cajero_domain::ledger::fees::FeeBreakdown;
use cajero_domain::ledger::{
    AccountKey, AccountKind, Transfer, TransferCode, TransferMode, settlement,
};
use cajero_domain::lifecycle::{PayinEvent, PayinStatus, Step};
use cajero_domain::money::{Amount, BasisPoints, Currency};
use cajero_domain::webhook::EventType;
use cajero_store::ledger::{self, NewBatch};
use cajero_store::payins::{self, PayinRecord};
use cajero_store::{Conn, StoreError, events, merchant_settings, network};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Caller;
use crate::clock::{Clock, new_id};
use crate::error::ApiError;
use crate::idempotency::{Answer, IdempotencyKey};
use crate::orders::{self, Claimed, NetworkCall};
use crate::validate::{self, DocumentIn};

mod holds;

pub use holds::{
    HoldError, RELEASE_CLAIM_S, held, held_json, open_holds, refuse as refuse_held,
    release as release_held,
};

/// Voucher validity by default: 72 h (API.md).
pub const EXPIRES_IN_S_DEFAULT: i64 = 72 * 3600;
/// Shortest voucher validity: 1 h.
pub const EXPIRES_IN_S_MIN: i64 = 3600;
/// Longest voucher validity: 7 days.
pub const EXPIRES_IN_S_MAX: i64 = 7 * 24 * 3600;

/// `POST /v1/payins` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePayin {
    /// In whole pesos, within the network's limits.
    #[schema(schema_with = crate::openapi::payin_amount)]
    amount: i64,
    /// `COP` (cash networks pay and collect pesos).
    #[schema(schema_with = crate::openapi::cop_only)]
    currency: String,
    /// The merchant's own reference (printable characters).
    reference: Option<String>,
    /// Shown on the voucher.
    description: Option<String>,
    /// Who pays; optional.
    customer: Option<CustomerIn>,
    /// A network code (`efecty`); by default the merchant's routing picks one.
    network: Option<String>,
    /// The voucher's validity.
    #[schema(schema_with = crate::openapi::payin_expires_in_seconds)]
    expires_in_seconds: Option<i64>,
    /// Your key-value pairs.
    #[schema(schema_with = crate::openapi::metadata)]
    metadata: Option<Map<String, Value>>,
    /// Test mode only: the caller's test clock (`clock_…`) the pay-in lives on (its `created`,
    /// `expires_at` and expiry follow that clock).
    test_clock: Option<String>,
}

/// The customer as sent.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Customer)]
pub struct CustomerIn {
    /// Full name.
    name: Option<String>,
    /// Email address.
    email: Option<String>,
    /// Colombian mobile number.
    phone: Option<String>,
    /// Identity document.
    document: Option<DocumentIn>,
}

/// A validated pay-in request (kept as JSON while the pay-in is held for review).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PayinRequest {
    amount: Amount,
    reference: Option<String>,
    description: Option<String>,
    customer: Option<Value>,
    customer_name: Option<String>,
    customer_document: Option<Document>,
    network: Option<String>,
    expires_in_s: i64,
    metadata: Value,
    test_clock: Option<String>,
}

impl CreatePayin {
    /// Parses every field into domain types, naming the field at fault.
    pub fn parse(self) -> Result<PayinRequest, ApiError> {
        let amount = validate::cop_amount(self.amount, &self.currency)?;
        let (customer, customer_name, customer_document) = match self.customer {
            None => (None, None, None),
            Some(c) => {
                let name = c
                    .name
                    .as_deref()
                    .map(|n| validate::person_name(n, "customer.name"))
                    .transpose()?;
                let email = c
                    .email
                    .as_deref()
                    .map(|e| validate::email(e, "customer.email"))
                    .transpose()?;
                let phone = c
                    .phone
                    .as_deref()
                    .map(|p| validate::phone(p, "customer.phone"))
                    .transpose()?;
                let document = c
                    .document
                    .map(|d| validate::document(d, "customer.document"))
                    .transpose()?;
                let json = json!({
                    "name": name.as_ref().map(|n| n.as_str()),
                    "email": email,
                    "phone": phone.as_ref().map(|p| p.as_str()),
                    "document": document.as_ref().map(validate::document_json),
                });
                (Some(json), name.map(|n| n.as_str().to_string()), document)
            }
        };
        Ok(PayinRequest {
            amount,
            reference: validate::reference(self.reference)?,
            description: validate::text(
                self.description,
                validate::DESCRIPTION_CHARS_MAX,
                "description",
            )?,
            customer,
            customer_name,
            customer_document,
            network: self.network,
            expires_in_s: validate::expiry(
                self.expires_in_seconds,
                EXPIRES_IN_S_DEFAULT,
                EXPIRES_IN_S_MIN,
                EXPIRES_IN_S_MAX,
            )?,
            metadata: validate::metadata(self.metadata)?,
            test_clock: self.test_clock,
        })
    }
}

/// The characters of an id's encoded part that hold its Unix milliseconds (48 bits: the first
/// character carries 3, the next nine 5 each; `cajero_domain::id`).
const ID_TIME_CHARS: usize = 10;

/// A fresh unguessable page token for the order `id`: its id's time (the first
/// [`ID_TIME_CHARS`] characters after the prefix, Crockford base32, so tokens sort by when
/// their order was made) and then 256 random bits, URL-safe base64. The random part is the
/// capability; the time only orders the token's unique index, so that a new token goes to
/// the index's right edge instead of a leaf of its own: a random token cost 1.5 WAL pages of
/// each payout (README, "Where an order's WAL goes"). Tokens made before are 43 random
/// characters and keep working: a token is looked up as it is.
pub fn page_token<K: IdKind>(id: &Id<K>) -> String {
    let bytes: [u8; 32] = rand::random();
    let id = id.to_string();
    let encoded = id
        .split_once('_')
        .map_or(id.as_str(), |(_, encoded)| encoded);
    let time = encoded.get(..ID_TIME_CHARS).unwrap_or(encoded);
    format!(
        "{time}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// Creates a pay-in: the voucher is issued by the network first; the pay-in exists once the
/// network has it. Exactly once per `Idempotency-Key`, even across crashes.
pub async fn create(
    state: &AppState,
    caller: Caller,
    key: IdempotencyKey,
    fingerprint: String,
    request: PayinRequest,
) -> Result<Answer, ApiError> {
    let proposed: PayinId = new_id(state.clock.as_ref());
    let (resource_id, scope) =
        match orders::claim(state, caller, key, fingerprint, proposed.to_string()).await? {
            Claimed::Replay(response) => return Ok(response),
            Claimed::Proceed { resource_id, scope } => (resource_id, scope),
        };
    // After the claim, so that a replay answers as the first time even if the clock was
    // deleted since.
    let test_clock =
        match crate::test_clocks::resolve(state, caller, request.test_clock.as_deref()).await {
            Ok(clock) => clock,
            Err(e) => return orders::release_with(state, scope, e).await,
        };
    let id: PayinId = resource_id
        .parse()
        .map_err(|e| ApiError::internal(format!("stored resource id: {e}")))?;
    let plan = match crate::routing::plan_order(
        state,
        caller,
        OrderKind::Collection,
        request.network.as_deref(),
        request.amount,
    ) {
        Ok(plan) => plan,
        Err(e) => return orders::release_with(state, scope, e).await,
    };
    let network = plan
        .candidates
        .first()
        .map(|n| n.code.clone())
        .unwrap_or_default();
    let screened = match request.customer_name.as_deref() {
        Some(name) => crate::sanctions::screen_person(state, name).await,
        None => crate::risk::Screened::default(),
    };
    let check = match holds::gate(state, caller, &scope, id, &request, network, screened).await? {
        holds::Gate::Go(check) => check,
        holds::Gate::Answered(answer) => return Ok(answer),
    };
    let call = call_networks(state, &plan, id, &request, test_clock).await;
    finish_create(
        state,
        caller,
        Finish::Create {
            scope,
            check: Some(check),
        },
        id,
        request,
        call,
    )
    .await
}

/// Asks the planned networks, in turn, for the pay-in's voucher under its id.
async fn call_networks(
    state: &AppState,
    plan: &crate::routing::Plan,
    id: PayinId,
    request: &PayinRequest,
    test_clock: Option<cajero_connect::TestClockRef>,
) -> NetworkCall {
    NetworkCall::run(state, plan, |net| {
        let voucher = CreateVoucher {
            network: net.code.clone(),
            reference: id.to_string(),
            amount: request.amount,
            customer_name: request.customer_name.clone(),
            customer_document: request.customer_document.as_ref().map(|d| DocumentRef {
                kind: d.kind().as_str().to_string(),
                number: d.number().to_string(),
            }),
            expires_in_seconds: request.expires_in_s,
            test_clock: test_clock.clone(),
        };
        let connector = net.connector.clone();
        async move { cajero_connect::create_once(connector.as_ref(), &voucher).await }
    })
    .await
}

/// Whose pay-in [`finish_create`] records.
enum Finish {
    /// A create under its key; the risk check to take back if the network issued nothing.
    Create {
        scope: cajero_store::idempotency::KeyScope,
        check: Option<Box<crate::risk::Check>>,
    },
    /// An operator's release of a held pay-in.
    Release(holds::Released),
}

impl Finish {
    /// `issued_nothing`: the network said for certain that it created nothing (a release's
    /// claim is then given back; after a timeout or an answer that made no sense, a voucher
    /// may exist, and the claim is kept: see `holds::refuse`).
    async fn refuse(
        &self,
        conn: &mut Conn<'_>,
        risk: &crate::risk::RiskRules,
        id: PayinId,
        issued_nothing: bool,
        error: ApiError,
    ) -> Result<orders::UnitOutcome, ApiError> {
        match self {
            Finish::Create { scope, check } => {
                if let Some(check) = check {
                    crate::risk::forget(conn, risk, check).await?;
                }
                Ok(orders::release_in(conn, scope, error).await?)
            }
            Finish::Release(released) => {
                if issued_nothing {
                    holds::unclaim(conn, id, released).await?;
                }
                Ok(orders::UnitOutcome::Failed(error))
            }
        }
    }
}

async fn finish_create(
    state: &AppState,
    caller: Caller,
    finish: Finish,
    id: PayinId,
    request: PayinRequest,
    call: NetworkCall,
) -> Result<Answer, ApiError> {
    let evidence = call.packed_evidence()?;
    let risk = state.risk.clone();
    let clock = state.clock.clone();
    let public_url = state.config.public_url();
    let now = clock.now();
    // Resolved by `create` before the network was called.
    let test_clock: Option<TestClockId> =
        request.test_clock.as_deref().and_then(|c| c.parse().ok());
    let outcome = state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                orders::store_call_evidence(&mut c, clock.as_ref(), caller, &id.to_string(), &evidence)
                    .await?;
                let created_at =
                    crate::test_clocks::object_now(&mut c, clock.as_ref(), test_clock).await?;
                let routing_reason = call.reason.clone();
                let (network, order) = match call.result {
                    Ok(created) => created,
                    Err(error) => {
                        let issued_nothing = matches!(
                            error,
                            cajero_connect::ConnectError::Rejected { .. }
                                | cajero_connect::ConnectError::Unavailable(_)
                        );
                        let error = orders::create_error(error);
                        return finish.refuse(&mut c, &risk, id, issued_nothing, error).await;
                    }
                };
                if let Finish::Release(released) = &finish
                    && !holds::mark_released(&mut c, clock.as_ref(), caller.merchant_id, id, released).await?
                {
                    // Released meanwhile (by a release that took over this one's claim): the
                    // same voucher is already recorded. A refusal cannot come while claimed.
                    tracing::warn!(payin = %id, "a held pay-in was decided while this release held its claim");
                    return Ok(orders::UnitOutcome::Failed(ApiError::new(
                        StatusCode::CONFLICT,
                        crate::error::ErrorType::InvalidRequestError,
                        "payin_not_on_hold",
                        format!("pay-in {id} is no longer on hold"),
                    )));
                }
                if let Some(owner) =
                    payins::get_by_network_order(&mut c, &order.network, &order.network_order_id).await?
                {
                    // The network answered with an order that is already another pay-in's (a
                    // network that forgot its own ids): never attach one order twice.
                    tracing::error!(payin = %id, owner = %owner.id, network = %order.network, order = %order.network_order_id, "the network reused an order id");
                    return finish.refuse(&mut c, &risk, id, true, orders::order_conflict()).await;
                }
                let record = PayinRecord {
                    id,
                    merchant_id: caller.merchant_id,
                    mode: caller.mode,
                    status: PayinStatus::Pending,
                    amount: request.amount,
                    currency: Currency::Cop,
                    network: order.network.clone(),
                    route: network.route.clone(),
                    reference: request.reference,
                    description: request.description,
                    customer: request.customer,
                    metadata: request.metadata,
                    network_order_id: order.network_order_id.clone(),
                    payment_code: order.code.clone(),
                    agreement_code: order.agreement_code.clone(),
                    barcode_data: order.barcode_data.clone(),
                    page_token: page_token(&id),
                    expires_at: order.expires_at,
                    paid_at: None,
                    amount_refunded: Amount::ZERO,
                    fee: Amount::ZERO,
                    created_at,
                    updated_at: now,
                    test_clock,
                    routing_reason,
                };
                payins::insert(&mut c, &record).await?;
                let body = payin_json(&record, &public_url);
                events::emit(
                    &mut c,
                    caller.merchant_id,
                    caller.mode.is_live(),
                    EventType::PayinCreated,
                    &body,
                    new_id(clock.as_ref()),
                    now,
                )
                .await?;
                match &finish {
                    Finish::Create { scope, .. } => Ok(orders::finish_in(&mut c, scope, StatusCode::CREATED, &body).await?),
                    Finish::Release(_) => Ok(orders::UnitOutcome::Done(cajero_store::idempotency::StoredResponse {
                        status: StatusCode::CREATED.as_u16(),
                        body: body.to_string(),
                    })),
                }
            })
        })
        .await?;
    outcome.into_answer()
}

/// The `payin` object.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Payin)]
pub struct PayinView {
    /// `pi_…`.
    #[schema(value_type = String)]
    id: PayinId,
    /// `payin`.
    object: &'static str,
    /// False in test mode.
    livemode: bool,
    #[schema(schema_with = crate::openapi::payin_status)]
    status: PayinStatus,
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
    /// Shown on the voucher.
    description: Option<String>,
    /// The customer as accepted (document normalised).
    #[schema(value_type = Option<Object>)]
    customer: Option<Value>,
    /// What the customer needs at the counter; null while the pay-in is `on_hold` (no voucher
    /// issued yet) and when it was refused.
    voucher: Option<VoucherView>,
    /// Null while `on_hold`.
    #[schema(schema_with = crate::openapi::timestamp_or_null)]
    expires_at: Option<String>,
    #[schema(schema_with = crate::openapi::timestamp_or_null)]
    paid_at: Option<String>,
    /// Refunded so far (pending and succeeded refunds).
    #[schema(value_type = i64)]
    amount_refunded: Amount,
    /// The fee charged when paid (0 until then).
    #[schema(value_type = i64)]
    fee: Amount,
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

/// What the customer needs to pay at a counter.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Voucher)]
pub struct VoucherView {
    /// The code the customer reads out, grouped for reading aloud.
    payment_code: String,
    /// The merchant's agreement (convenio) at the network.
    agreement_code: Option<String>,
    /// The barcode the counter scans.
    barcode: Option<BarcodeView>,
    /// The voucher page.
    url: String,
    /// The voucher as a one-page PDF.
    pdf_url: String,
}

/// A GS1-128 barcode's content.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Barcode)]
pub struct BarcodeView {
    /// `gs1-128`.
    symbology: &'static str,
    /// The element string, application identifiers in parentheses.
    data: String,
}

/// The `payin` object.
pub fn payin_view(p: &PayinRecord, public_url: &str) -> PayinView {
    PayinView {
        id: p.id,
        object: "payin",
        livemode: p.mode.is_live(),
        status: p.status,
        amount: p.amount,
        currency: p.currency,
        network: p.network.clone(),
        routing_reason: p.routing_reason.clone(),
        reference: p.reference.clone(),
        description: p.description.clone(),
        customer: p.customer.clone(),
        voucher: Some(VoucherView {
            payment_code: orders::group_code(&p.payment_code),
            agreement_code: p.agreement_code.clone(),
            barcode: p.barcode_data.as_ref().map(|d| BarcodeView {
                symbology: "gs1-128",
                data: d.clone(),
            }),
            url: format!("{public_url}/v/{}", p.page_token),
            pdf_url: format!("{public_url}/v/{}.pdf", p.page_token),
        }),
        expires_at: Some(crate::time::rfc3339(p.expires_at)),
        paid_at: p.paid_at.map(crate::time::rfc3339),
        amount_refunded: p.amount_refunded,
        fee: p.fee,
        metadata: p.metadata.clone(),
        created: crate::time::rfc3339(p.created_at),
        updated: crate::time::rfc3339(p.updated_at),
        test_clock: p.test_clock.map(|c| c.to_string()),
    }
}

/// The `payin` object as JSON (stored replies, events).
pub fn payin_json(p: &PayinRecord, public_url: &str) -> Value {
    crate::openapi::to_json(&payin_view(p, public_url))
}

/// What the merchant is charged for a paid pay-in. The fee and its IVA never exceed the
/// amount collected: on a tiny pay-in they are capped so that the merchant's pending balance
/// never goes negative (IVA keeps its 19 % share of the capped total).
pub fn payin_fees(
    plan: &cajero_domain::ledger::fees::FeePlan,
    amount: Amount,
    volume: Amount,
) -> FeeBreakdown {
    let f = plan.payin(amount, volume).unwrap_or_default();
    let total = f.fee.minor() + f.iva.minor();
    if total <= amount.minor() {
        return f;
    }
    let iva = Amount::new((amount.minor() * 1_900 + 5_950) / 11_900).unwrap_or(Amount::ZERO);
    FeeBreakdown {
        fee: amount.checked_sub(iva).unwrap_or(Amount::ZERO),
        iva,
        gmf: Amount::ZERO,
    }
}

/// Records that the customer paid, inside the caller's unit of work. A payment for a pending
/// voucher marks it paid, posts it to the ledger (pending until its settlement date) and emits
/// `payin.paid`; a repeat changes nothing. A payment made at or before `expires_at` wins over a
/// local expiry that got there first (the callback was slower than the expiry sweep; nothing
/// moved in the ledger when it expired): the voucher ends `paid`. A payment for a canceled
/// voucher, or made after expiry, is never lost: it is held in suspense as an exception and
/// evented. `counter`, the counter that collected it, is recorded with the move to paid; true
/// when it was (a pay-in gets its counter only once paid, so one that moves to paid has none
/// yet).
pub async fn record_payment(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    public_url: &str,
    payin: &PayinRecord,
    paid_at: Timestamp,
    counter: Option<&str>,
) -> Result<bool, StoreError> {
    let now = clock.now();
    let (merchant, mode) = (payin.merchant_id, payin.mode);
    let event = if paid_at <= payin.expires_at {
        PayinEvent::PayInTime
    } else {
        PayinEvent::Pay
    };
    match payin.status.apply(event) {
        Ok(Step::Stay) => Ok(false),
        Ok(Step::To(to)) => {
            let counter = counter.filter(|_| to == PayinStatus::Paid);
            let plan = merchant_settings::fee_plan(conn, merchant, mode).await?;
            // Only a plan with volume tiers needs the month's volume (one read of its count).
            let volume = if plan.payin.tiers.len() > 1 {
                merchant_settings::monthly_volume(
                    conn,
                    merchant,
                    mode,
                    TransferCode::Payin,
                    paid_at,
                )
                .await?
            } else {
                Amount::ZERO
            };
            let fees = payin_fees(&plan, payin.amount, volume);
            let fee_total = fees.fee.checked_add(fees.iva).unwrap_or(Amount::ZERO);
            let Some(updated) = payins::transition(
                conn,
                payin.id,
                payin.status,
                to,
                Some(payins::Payment {
                    at: paid_at,
                    fee: fee_total,
                    counter,
                }),
                now,
            )
            .await?
            else {
                return Ok(false); // another writer moved it first
            };
            let terms = merchant_settings::settlement_terms(conn, merchant, mode).await?;
            let available_on = settlement::available_on(paid_at, terms.delay_business_days).ok();
            ledger::post_batch(conn, &payin_batch(payin, &fees, available_on), now)
                .await
                .map_err(ledger_store_error)?;
            // The ledger does not touch the pay-in's row: as the transition returned it.
            let body = payin_json(&updated, public_url);
            events::emit(
                conn,
                merchant,
                mode.is_live(),
                EventType::PayinPaid,
                &body,
                new_id(clock),
                now,
            )
            .await?;
            Ok(counter.is_some())
        }
        Err(_) => {
            let exception_id = format!("exc_{}", payin.id);
            let kind = if payin.status == PayinStatus::Canceled {
                "paid_after_cancel"
            } else {
                "paid_after_expiry"
            };
            if network::record_exception(
                conn,
                &exception_id,
                merchant,
                mode,
                kind,
                &payin.id.to_string(),
                payin.amount,
                payin.currency,
                now,
            )
            .await?
            {
                let batch_id = TransferId::derived(payin.id, "suspense");
                let batch = NewBatch {
                    id: batch_id.to_string(),
                    merchant_id: None,
                    mode,
                    currency: payin.currency,
                    code: TransferCode::Payin,
                    source_id: Some(payin.id.to_string()),
                    available_on: None,
                    transfers: vec![Transfer {
                        id: format!("{batch_id}.0"),
                        debit: AccountKey::network(
                            AccountKind::NetworkReceivable,
                            &payin.network,
                            mode,
                            payin.currency,
                        ),
                        credit: AccountKey::platform(AccountKind::Suspense, mode, payin.currency),
                        amount: payin.amount,
                        mode: TransferMode::Single,
                        code: TransferCode::Payin,
                    }],
                };
                ledger::post_batch(conn, &batch, now)
                    .await
                    .map_err(ledger_store_error)?;
                let object = crate::reconciliation::exception_object(conn, &exception_id).await?;
                events::emit(
                    conn,
                    merchant,
                    mode.is_live(),
                    EventType::ReconciliationExceptionCreated,
                    &object,
                    new_id(clock),
                    now,
                )
                .await?;
                tracing::warn!(payin = %payin.id, kind, "payment for a closed voucher held in suspense");
            }
            Ok(false)
        }
    }
}

fn ledger_store_error(e: ledger::LedgerError) -> StoreError {
    match e {
        ledger::LedgerError::Store(s) => s,
        other => StoreError::Corrupt {
            table: "ledger",
            detail: other.to_string(),
        },
    }
}

fn payin_batch(
    payin: &PayinRecord,
    fees: &FeeBreakdown,
    available_on: Option<jiff::civil::Date>,
) -> NewBatch {
    let (m, mode, cur) = (payin.merchant_id, payin.mode, payin.currency);
    let batch_id = TransferId::derived(payin.id, "paid");
    let pending = AccountKey::merchant(AccountKind::MerchantPending, m, mode, cur);
    let mut transfers = vec![Transfer {
        id: format!("{batch_id}.0"),
        debit: AccountKey::network(AccountKind::NetworkReceivable, &payin.network, mode, cur),
        credit: pending.clone(),
        amount: payin.amount,
        mode: TransferMode::Single,
        code: TransferCode::Payin,
    }];
    for (n, (amount, kind)) in [
        (fees.fee, AccountKind::FeeRevenue),
        (fees.iva, AccountKind::IvaPayable),
    ]
    .into_iter()
    .enumerate()
    {
        if !amount.is_zero() {
            transfers.push(Transfer {
                id: format!("{batch_id}.{}", n + 1),
                debit: pending.clone(),
                credit: AccountKey::platform(kind, mode, cur),
                amount,
                mode: TransferMode::Single,
                code: TransferCode::Fee,
            });
        }
    }
    NewBatch {
        id: batch_id.to_string(),
        merchant_id: Some(m),
        mode,
        currency: cur,
        code: TransferCode::Payin,
        source_id: Some(payin.id.to_string()),
        available_on,
        transfers,
    }
}

/// Applies what the network says about an order to its pay-in (callbacks, polling, test
/// helpers), inside the caller's unit of work.
pub async fn apply_network_order(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    risk: &crate::risk::RiskRules,
    public_url: &str,
    payin: &PayinRecord,
    order: &NetworkOrder,
) -> Result<(), StoreError> {
    use cajero_connect::NetworkStatus as N;
    use cajero_store::analytics::OrderKind as Kind;
    match order.status {
        N::Paid => {
            let counter = order.paid_counter_id.as_deref();
            let paid_at = order.paid_at.unwrap_or_else(|| clock.now());
            let recorded = record_payment(conn, clock, public_url, payin, paid_at, counter).await?;
            let id = payin.id.to_string();
            // Recorded with the payment, or now (a repeated callback, a late counter).
            let counter = if recorded {
                counter
            } else {
                crate::analytics::record_paid_counter(conn, Kind::Payin, &id, order).await?
            };
            if let Some(counter) = counter {
                let done = crate::risk::Completed {
                    flow: cajero_domain::risk::Flow::Payin,
                    merchant: payin.merchant_id,
                    mode: payin.mode,
                    object_id: &id,
                    network: &order.network,
                    counter,
                    amount: payin.amount,
                    at: order.paid_at.unwrap_or_else(|| clock.now()),
                };
                crate::risk::watch_counter(conn, risk, clock, &done).await?;
            }
            Ok(())
        }
        N::Expired => close(conn, clock, public_url, payin, PayinEvent::Expire).await,
        // The network reports as canceled the vouchers our expiry sweep canceled there: past
        // its expiry, a cancelation is the expiry (the merchant's own cancel closed it first).
        N::Canceled => {
            let event = if crate::test_clocks::past_expiry(
                conn,
                clock,
                payin.test_clock,
                Some(payin.expires_at),
            )
            .await?
            {
                PayinEvent::Expire
            } else {
                PayinEvent::Cancel
            };
            close(conn, clock, public_url, payin, event).await
        }
        N::Unrecognized => {
            let id = payin.id.to_string();
            crate::networks::hold_unrecognized(
                conn,
                clock,
                payin.merchant_id,
                payin.mode,
                &id,
                order,
            )
            .await
        }
        N::Pending | N::Available | N::Locked => Ok(()),
    }
}

/// Expires or cancels a pending pay-in and emits the event; anything else changes nothing.
pub async fn close(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    public_url: &str,
    payin: &PayinRecord,
    event: PayinEvent,
) -> Result<(), StoreError> {
    let now = clock.now();
    let Ok(Step::To(to)) = payin.status.apply(event) else {
        return Ok(());
    };
    let Some(updated) = payins::transition(conn, payin.id, payin.status, to, None, now).await?
    else {
        return Ok(());
    };
    let event_type = if to == PayinStatus::Expired {
        EventType::PayinExpired
    } else {
        EventType::PayinCanceled
    };
    let body = payin_json(&updated, public_url);
    events::emit(
        conn,
        payin.merchant_id,
        payin.mode.is_live(),
        event_type,
        &body,
        new_id(clock),
        now,
    )
    .await?;
    Ok(())
}

/// The IVA rate, re-exported for the fee cap's documentation.
pub const IVA: BasisPoints = BasisPoints::IVA;
/// Cancels a pending voucher: at the network first, then in our books, once per key (a retry
/// replays the first answer).
pub async fn cancel(
    state: &AppState,
    caller: Caller,
    key: IdempotencyKey,
    payin: PayinRecord,
) -> Result<Answer, ApiError> {
    let path = format!("/v1/payins/{}/cancel", payin.id);
    let fingerprint = crate::idempotency::fingerprint("POST", &path, &Value::Null);
    let scope = match orders::claim(state, caller, key, fingerprint, payin.id.to_string()).await? {
        Claimed::Replay(response) => return Ok(response),
        Claimed::Proceed { scope, .. } => scope,
    };
    if payin.status != PayinStatus::Pending {
        return orders::release_with(state, scope, not_cancelable(&payin)).await;
    }
    let Some(connector) = state
        .networks
        .connector(payin.mode, &payin.route, &payin.network)
    else {
        return orders::release_with(
            state,
            scope,
            crate::networks::network_unavailable("network not configured"),
        )
        .await;
    };
    let exchange = connector
        .cancel(OrderKind::Collection, &payin.network_order_id)
        .await;
    let clock = state.clock.clone();
    let public_url = state.config.public_url();
    let outcome = state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                crate::networks::store_evidence(
                    &mut c,
                    clock.as_ref(),
                    crate::networks::EvidenceLink {
                        merchant: Some(caller.merchant_id),
                        mode: caller.mode,
                        network: &payin.network,
                        object_id: Some(&payin.id.to_string()),
                        direction: "outbound",
                    },
                    &exchange.evidence,
                )
                .await?;
                match exchange.result {
                    Ok(_) => {
                        close(
                            &mut c,
                            clock.as_ref(),
                            &public_url,
                            &payin,
                            PayinEvent::Cancel,
                        )
                        .await?
                    }
                    Err(ConnectError::NotCancelable) => {
                        return orders::release_in(&mut c, &scope, not_cancelable(&payin)).await;
                    }
                    Err(e) => {
                        return orders::release_in(&mut c, &scope, orders::create_error(e)).await;
                    }
                }
                let updated =
                    payins::get(&mut c, caller.merchant_id, caller.mode, payin.id).await?;
                let body = updated
                    .map(|p| payin_json(&p, &public_url))
                    .unwrap_or(Value::Null);
                orders::finish_in(&mut c, &scope, StatusCode::OK, &body).await
            })
        })
        .await?;
    outcome.into_answer()
}

fn not_cancelable(payin: &PayinRecord) -> ApiError {
    ApiError::invalid(
        "payin_not_cancelable",
        format!(
            "payin {} is {}: only pending vouchers can be canceled",
            payin.id, payin.status
        ),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use base64::Engine as _;
    use cajero_domain::id::{PayinId, PayoutId};

    use super::{ID_TIME_CHARS, page_token};

    #[test]
    fn page_tokens_sort_by_when_their_order_was_made_and_keep_256_random_bits() {
        let start_ms = 1_764_000_000_000_u64;
        let mut tokens = Vec::new();
        for step in 0..200_u64 {
            // Later ids with smaller random parts (their top bits set): only the time may order
            // the tokens, and none of the id's random bits may reach them.
            let id = PayoutId::from_parts(start_ms + step, u128::MAX - u128::from(step));
            tokens.push(page_token(&id));
        }
        let (lowest, highest) = (
            page_token(&PayoutId::from_parts(start_ms, 0)),
            page_token(&PayoutId::from_parts(start_ms, u128::MAX)),
        );
        assert_eq!(
            lowest[..ID_TIME_CHARS],
            highest[..ID_TIME_CHARS],
            "the prefix is the id's milliseconds and nothing of its random part"
        );
        let mut sorted = tokens.clone();
        sorted.sort();
        assert_eq!(sorted, tokens, "tokens sort by their orders' creation");

        let id = PayinId::from_parts(start_ms, 7);
        let (first, second) = (page_token(&id), page_token(&id));
        assert_ne!(first, second, "two tokens of one order still differ");
        for token in [&first, &second] {
            assert_eq!(token.len(), ID_TIME_CHARS + 43);
            let (time, random) = token.split_at(ID_TIME_CHARS);
            assert_eq!(time, &id.to_string()["pi_".len()..][..ID_TIME_CHARS]);
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(random)
                .unwrap();
            assert_eq!(bytes.len(), 32, "256 random bits after the time");
            assert!(
                token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "URL-safe: {token}"
            );
        }
    }
}
