//! The PayU Latam dialect: the simulated cash networks reached as PayU Colombia's Payments
//! and Queries APIs are (developers.payulatam.com: "API de Pagos - Colombia", "API de
//! Consultas", "URL de confirmación").
//!
//! - `POST /payu/payments-api/4.0/service.cgi`: `SUBMIT_TRANSACTION` with `paymentMethod`
//!   `EFECTY` (network `efecty`) or `OTHERS_CASH` (network `sured`), and `PING`.
//! - `POST /payu/reports-api/4.0/service.cgi`: `ORDER_DETAIL`, `ORDER_DETAIL_BY_REFERENCE_CODE`
//!   and `PING`.
//! - `POST /payu/reports/sales`: the day's Sales Report as CSV (PayU offers it in its module
//!   only; this path is the simulator's, with the same credentials in the body).
//!
//! Requests authenticate as PayU's do: `merchant.apiLogin` and `merchant.apiKey` in the body
//! name the merchant (the one whose `[merchants.payu]` matches), and a create carries
//! `md5(apiKey~merchantId~referenceCode~value~currency)`. Every refusal is PayU's envelope
//! `{"code": "ERROR", "error": "…"}` with HTTP 200; the network being down is HTTP 503.
//! PayU's rules are kept: its per-method amount limits, and an `expirationDate` absent or later
//! than 7 days from now replaced by 7 days. Confirmations are posted as a form, for final
//! states only (paid → `state_pol` 4, expired → 5), signed as the account is configured; PayU
//! cannot cancel a cash voucher, so a cancel (through the simulator's own API) confirms
//! nothing. PayU documents no magic values for cash in its sandbox; the simulator's own
//! (API.md: amount 66666 → unavailable, 77777 → confirmed twice, 88888 → confirmation lost)
//! apply.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use cajero_domain::calendar::{bogota, bogota_date};
use cajero_domain::{Amount, Document, DocumentType};
use hmac::{KeyInit, Mac};
use jiff::Timestamp;
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::{Change, Dialect};
use crate::config::MerchantConfig;
use crate::engine::{CreateCollection, PartyInput, SimError, State as Engine};
use crate::model::{Order, OrderKind, OrderStatus};
use crate::sim::Sim;

/// Delivery attempts of a confirmation: "up to 9" (PayU's confirmation page, D10).
pub const ATTEMPTS_MAX: u32 = 9;

/// Validity PayU gives a voucher without `expirationDate`, and the longest it takes ("its
/// default value is seven (7) days … a later date is ignored and the default set").
pub const VALIDITY_DAYS_DEFAULT: i64 = 7;

/// PayU's numbers for orders start here (the documented examples are around 1.4 billion).
const ORDER_ID_BASE: u64 = 1_400_000_000;

/// How the account's confirmations are signed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureAlgorithm {
    /// `md5(…)` (the default).
    #[default]
    Md5,
    /// `sha256(…)`.
    Sha256,
    /// `HMAC-SHA256(hmac_key, …)`.
    HmacSha256,
}

/// A merchant's PayU Latam credentials at the simulator (`[merchants.payu]`).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// PayU's merchant id (signs requests and confirmations).
    pub merchant_id: String,
    /// The Colombian account (`accountId`).
    pub account_id: String,
    /// API login.
    pub api_login: String,
    /// API key (secret).
    pub api_key: String,
    /// How confirmations are signed.
    #[serde(default)]
    pub confirmation_signature: SignatureAlgorithm,
    /// Key of HMAC-SHA256 confirmations (secret).
    #[serde(default)]
    pub confirmation_hmac_key: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("merchant_id", &self.merchant_id)
            .field("account_id", &self.account_id)
            .field("api_login", &self.api_login)
            .finish_non_exhaustive()
    }
}

/// A cash method of PayU Colombia and the simulated network it collects at.
struct Method {
    network: &'static str,
    payment_method: &'static str,
    amount_min: i64,
    amount_max: i64,
}

/// PayU's per-method limits ("API de Pagos - Colombia", Consideraciones).
const METHODS: [Method; 2] = [
    Method {
        network: "efecty",
        payment_method: "EFECTY",
        amount_min: 20_000,
        amount_max: 6_000_000,
    },
    Method {
        network: "sured",
        payment_method: "OTHERS_CASH",
        amount_min: 1_000,
        amount_max: 4_000_000,
    },
];

fn method_by_name(payment_method: &str) -> Option<&'static Method> {
    METHODS.iter().find(|m| m.payment_method == payment_method)
}

fn method_by_network(network: &str) -> Option<&'static Method> {
    METHODS.iter().find(|m| m.network == network)
}

fn md5_hex(text: &str) -> String {
    hex_lower(&Md5::digest(text.as_bytes()))
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `new_value` of a confirmation's signature: one decimal when the second is 0.
fn new_value(value: &str) -> String {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    let mut digits = fraction.chars();
    let first = digits.next().unwrap_or('0');
    match digits.next() {
        Some(second) if second != '0' => format!("{whole}.{first}{second}"),
        _ => format!("{whole}.{first}"),
    }
}

/// The `sign` of a confirmation with `credentials`.
fn confirmation_sign(
    credentials: &Credentials,
    reference_sale: &str,
    value: &str,
    state_pol: &str,
) -> String {
    let text = format!(
        "{}~{}~{reference_sale}~{}~COP~{state_pol}",
        credentials.api_key,
        credentials.merchant_id,
        new_value(value)
    );
    match credentials.confirmation_signature {
        SignatureAlgorithm::Md5 => md5_hex(&text),
        SignatureAlgorithm::Sha256 => hex_lower(&Sha256::digest(text.as_bytes())),
        SignatureAlgorithm::HmacSha256 => {
            let key = credentials
                .confirmation_hmac_key
                .as_deref()
                .unwrap_or_default();
            match hmac::Hmac::<Sha256>::new_from_slice(key.as_bytes()) {
                Ok(mut mac) => {
                    mac.update(text.as_bytes());
                    hex_lower(&mac.finalize().into_bytes())
                }
                Err(_) => String::new(),
            }
        }
    }
}

/// PayU's number for an order (`orderId`): from the simulator's sequence in its id.
pub fn order_number(order: &Order) -> Option<u64> {
    let digits = order.id.split_once('_')?.1.get(..10)?;
    Some(ORDER_ID_BASE + digits.parse::<u64>().ok()?)
}

/// PayU's `transactionId` for an order: UUID-shaped, derived from its id (one transaction per
/// voucher).
pub fn transaction_id(order: &Order) -> String {
    let h = hex_lower(&Sha256::digest(order.id.as_bytes()));
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A date as PayU's forms write it: `YYYY-MM-DD HH:MM:SS` in Colombia's time.
fn local_text(at: Timestamp) -> String {
    bogota()
        .to_datetime(at)
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// (transaction state, responseCode, order status, `state_pol`, response_code_pol) of an
/// order, per PayU's "Códigos de respuesta".
fn states(
    status: OrderStatus,
) -> (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
) {
    match status {
        OrderStatus::Paid => ("APPROVED", "APPROVED", "CAPTURED", "4", "1"),
        OrderStatus::Expired => ("EXPIRED", "EXPIRED_TRANSACTION", "CANCELLED", "5", "20"),
        OrderStatus::Canceled => ("DECLINED", "ENTITY_DECLINED", "CANCELLED", "6", "5"),
        OrderStatus::Pending | OrderStatus::Available | OrderStatus::Locked => (
            "PENDING",
            "PENDING_TRANSACTION_CONFIRMATION",
            "IN_PROGRESS",
            "14",
            "25",
        ),
    }
}

/// The confirmation PayU posts for `change`: final states only (paid, expired).
pub fn callback_body(change: &Change<'_>) -> Option<String> {
    let order = change.order;
    let credentials = change.merchant.payu.as_ref()?;
    let method = method_by_network(&order.network)?;
    let final_state = match change.suffix {
        "paid" | "expired" => order.status,
        // PayU cannot cancel a cash voucher and says nothing of counter attempts.
        _ => return None,
    };
    let (_, response_code, _, state_pol, response_code_pol) = states(final_state);
    let value = format!("{}.00", order.amount.minor());
    let at = match final_state {
        OrderStatus::Paid => order.paid_at.unwrap_or(change.now),
        _ => order.expired_at.unwrap_or(change.now),
    };
    let sign = confirmation_sign(credentials, &order.reference, &value, state_pol);
    let reference_pol = order_number(order)?.to_string();
    let fields: Vec<(&str, String)> = vec![
        ("merchant_id", credentials.merchant_id.clone()),
        ("state_pol", state_pol.into()),
        ("risk", "0.0".into()),
        ("response_code_pol", response_code_pol.into()),
        ("reference_sale", order.reference.clone()),
        ("reference_pol", reference_pol),
        ("sign", sign),
        ("extra1", String::new()),
        ("extra2", String::new()),
        ("payment_method", "7".into()),
        ("payment_method_type", "7".into()),
        ("installments_number", "1".into()),
        ("value", value),
        ("tax", "0.00".into()),
        ("additional_value", "0.00".into()),
        ("transaction_date", local_text(at)),
        ("currency", "COP".into()),
        ("email_buyer", String::new()),
        ("test", "1".into()),
        ("description", format!("Pago {}", order.reference)),
        ("payment_method_id", "7".into()),
        ("payment_method_name", method.payment_method.into()),
        ("response_message_pol", response_code.into()),
        ("transaction_id", transaction_id(order)),
        ("expiration_date", local_text(order.expires_at)),
        ("date", local_text(at)),
    ];
    serde_urlencoded::to_string(fields).ok()
}

/// PayU sends confirmations without headers of its own (the signature is in the form).
pub fn callback_headers(
    _merchant: &MerchantConfig,
    _id: &str,
    _body: &str,
    _now: Timestamp,
) -> Vec<(String, String)> {
    Vec::new()
}

/// PayU Latam's routes, nested under `/payu`.
pub fn routes() -> Router<Arc<Sim>> {
    Router::new()
        .route("/payments-api/4.0/service.cgi", post(payments))
        .route("/reports-api/4.0/service.cgi", post(queries))
        .route("/reports/sales", post(sales_report))
}

/// PayU's refusal: HTTP 200, `code: ERROR`.
fn refused(message: impl Into<String>) -> Response {
    let body = json!({"code": "ERROR", "error": message.into(), "transactionResponse": null});
    (StatusCode::OK, axum::Json(body)).into_response()
}

fn success(key: &str, value: Value) -> Response {
    let mut body = json!({"code": "SUCCESS", "error": null});
    body[key] = value;
    (StatusCode::OK, axum::Json(body)).into_response()
}

fn unavailable() -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, "service unavailable").into_response()
}

fn internal() -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
}

/// The merchant a request authenticates as (`merchant.apiLogin` and `merchant.apiKey`), with
/// its credentials, and the fault latency to add.
async fn authenticate(sim: &Sim, body: &Value) -> Result<(String, Credentials, u64), Response> {
    let login = body.pointer("/merchant/apiLogin").and_then(Value::as_str);
    let key = body.pointer("/merchant/apiKey").and_then(Value::as_str);
    let (Some(login), Some(key)) = (login, key) else {
        return Err(refused(
            "Invalid request format: merchant.apiLogin and merchant.apiKey are required",
        ));
    };
    let found = sim
        .run(|state, _| {
            let merchant = state.merchants.values().find_map(|m| {
                let c = m.config.payu.as_ref()?;
                let same_key: bool = c.api_key.as_bytes().ct_eq(key.as_bytes()).into();
                (c.api_login == login && same_key).then(|| (m.config.id.clone(), c.clone()))
            });
            (merchant, state.faults().latency_ms)
        })
        .await
        .map_err(|_| internal())?;
    match found {
        (Some((id, credentials)), latency_ms) => Ok((id, credentials, latency_ms)),
        (None, _) => Err(refused("Invalid credentials")),
    }
}

async fn latency(ms: u64) {
    if ms > 0 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

fn parse_body(bytes: &[u8]) -> Result<Value, Response> {
    serde_json::from_slice(bytes).map_err(|e| refused(format!("Invalid request format: {e}")))
}

/// `POST /payu/payments-api/4.0/service.cgi`.
async fn payments(State(sim): State<Arc<Sim>>, bytes: Bytes) -> Response {
    let body = match parse_body(&bytes) {
        Ok(body) => body,
        Err(response) => return response,
    };
    let (merchant_id, credentials, latency_ms) = match authenticate(&sim, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    latency(latency_ms).await;
    match body.get("command").and_then(Value::as_str) {
        Some("PING") => success("transactionResponse", Value::Null),
        Some("SUBMIT_TRANSACTION") => submit(&sim, &merchant_id, &credentials, &body).await,
        other => refused(format!("Invalid command {other:?}")),
    }
}

/// A create as the engine takes it, or PayU's refusal.
struct Submit {
    request: CreateCollection,
    /// `None`: PayU's default (7 days).
    expires_at: Option<Timestamp>,
}

fn read_submit(credentials: &Credentials, body: &Value) -> Result<Submit, String> {
    let text = |pointer: &str| {
        body.pointer(pointer)
            .and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| {
                format!(
                    "Invalid request format: {} is required",
                    pointer.trim_start_matches('/').replace('/', ".")
                )
            })
    };
    let order = "/transaction/order";
    if text(&format!("{order}/accountId"))? != credentials.account_id {
        return Err("The account does not belong to the merchant".into());
    }
    let reference = text(&format!("{order}/referenceCode"))?;
    let value_text = text(&format!("{order}/additionalValues/TX_VALUE/value"))?;
    let currency = text(&format!("{order}/additionalValues/TX_VALUE/currency"))?;
    let signature = text(&format!("{order}/signature"))?;
    let expected = md5_hex(&format!(
        "{}~{}~{reference}~{value_text}~{currency}",
        credentials.api_key, credentials.merchant_id
    ));
    if !bool::from(
        expected
            .as_bytes()
            .ct_eq(signature.to_ascii_lowercase().as_bytes()),
    ) {
        return Err("Invalid signature".into());
    }
    if currency != "COP" {
        return Err(format!(
            "Currency {currency} is not valid for the payment method"
        ));
    }
    if text("/transaction/type")? != "AUTHORIZATION_AND_CAPTURE" {
        return Err("Cash payments take transaction type AUTHORIZATION_AND_CAPTURE only".into());
    }
    if text("/transaction/paymentCountry")? != "CO" {
        return Err("Invalid paymentCountry".into());
    }
    let payment_method = text("/transaction/paymentMethod")?;
    let method = method_by_name(&payment_method)
        .ok_or_else(|| format!("The payment method {payment_method} is not available"))?;
    let amount = value_text
        .parse::<i64>()
        .ok()
        .and_then(|v| Amount::new(v).ok())
        .ok_or_else(|| format!("Invalid TX_VALUE {value_text}"))?;
    if amount.minor() < method.amount_min || amount.minor() > method.amount_max {
        return Err(format!(
            "The value {} is outside the limits of {} ({} - {} COP)",
            amount.minor(),
            method.payment_method,
            method.amount_min,
            method.amount_max
        ));
    }
    let name = text(&format!("{order}/buyer/fullName"))
        .or_else(|_| text("/transaction/payer/fullName"))?;
    let number = text(&format!("{order}/buyer/dniNumber"))
        .or_else(|_| text("/transaction/payer/dniNumber"))?;
    let kind = match body
        .pointer("/transaction/payer/dniType")
        .and_then(Value::as_str)
    {
        None | Some("CC") => DocumentType::Cc,
        Some("CE") => DocumentType::Ce,
        Some("TI") => DocumentType::Ti,
        Some("NIT") => DocumentType::Nit,
        Some("PP") => DocumentType::Pa,
        Some(other) => return Err(format!("Invalid dniType {other}")),
    };
    let document = Document::parse(kind, &number).map_err(|e| format!("Invalid dniNumber: {e}"))?;
    let expires_at = match body
        .pointer("/transaction/expirationDate")
        .and_then(Value::as_str)
    {
        None => None,
        Some(date) => {
            let civil: jiff::civil::DateTime = date.parse().map_err(|_| {
                format!("Invalid expirationDate {date}: expected YYYY-MM-DDTHH:MM:SS")
            })?;
            Some(
                jiff::tz::TimeZone::UTC
                    .to_timestamp(civil)
                    .map_err(|_| format!("Invalid expirationDate {date}"))?,
            )
        }
    };
    Ok(Submit {
        request: CreateCollection {
            network: Some(method.network.into()),
            reference,
            amount,
            currency: Some(currency),
            customer: Some(PartyInput {
                name: Some(name),
                document: Some(document),
            }),
            expires_in_seconds: None,
            callback_url: body
                .pointer(&format!("{order}/notifyUrl"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            test_clock: None,
            dialect: Dialect::Payu,
        },
        expires_at,
    })
}

/// The validity PayU gives: the requested expiry when it is within the default, else the
/// default; `Err` for an expiry already past.
fn validity_seconds(expires_at: Option<Timestamp>, now: Timestamp) -> Result<i64, String> {
    let default = VALIDITY_DAYS_DEFAULT * 24 * 3_600;
    match expires_at {
        None => Ok(default),
        Some(at) => {
            let seconds = at.duration_since(now).as_secs();
            if seconds <= 0 {
                Err("The expirationDate must be later than the current date".into())
            } else {
                Ok(seconds.min(default))
            }
        }
    }
}

/// Why a create gave no voucher.
enum Refusal {
    /// The network is down (HTTP 503).
    Unavailable,
    /// PayU's `ERROR` with this message.
    Error(String),
}

/// Creates (or finds, for a repeated `referenceCode` with the same amount and method) the
/// voucher.
fn create_or_find(
    state: &mut Engine,
    merchant_id: &str,
    submit: Submit,
    now: Timestamp,
) -> Result<Order, Refusal> {
    if let Ok(existing) = state.order_by_reference(
        merchant_id,
        OrderKind::Collection,
        &submit.request.reference,
    ) {
        let same = existing.amount == submit.request.amount
            && Some(&existing.network) == submit.request.network.as_ref()
            && existing.dialect == Dialect::Payu;
        return if same {
            Ok(existing.clone())
        } else {
            Err(Refusal::Error(format!(
                "The referenceCode {} is already used by another order",
                submit.request.reference
            )))
        };
    }
    let mut request = submit.request;
    request.expires_in_seconds =
        Some(validity_seconds(submit.expires_at, now).map_err(Refusal::Error)?);
    state
        .create_collection(merchant_id, request, now)
        .map(|created| created.order)
        .map_err(|e| match e {
            SimError::NetworkUnavailable => Refusal::Unavailable,
            other => Refusal::Error(other.to_string()),
        })
}

/// A create with the create fault knobs of `/v1`: refused as down before anything is made, or
/// made and then hung past the client's patience.
async fn submit(sim: &Sim, merchant_id: &str, credentials: &Credentials, body: &Value) -> Response {
    let submit = match read_submit(credentials, body) {
        Ok(submit) => submit,
        Err(message) => return refused(message),
    };
    let faults = sim
        .run(|state, _| {
            let faults = state.faults();
            (
                state.chance(faults.create_unavailable_bps),
                state.chance(faults.create_timeout_bps),
                faults.timeout_ms,
            )
        })
        .await;
    let Ok((down, hang, timeout_ms)) = faults else {
        return internal();
    };
    if down {
        return unavailable();
    }
    let created = sim
        .run(|state, now| create_or_find(state, merchant_id, submit, now))
        .await;
    let order = match created {
        Ok(Ok(order)) => order,
        Ok(Err(Refusal::Unavailable)) => return unavailable(),
        Ok(Err(Refusal::Error(message))) => return refused(message),
        Err(_) => return internal(),
    };
    if hang {
        tokio::time::sleep(Duration::from_millis(timeout_ms)).await;
        return (StatusCode::GATEWAY_TIMEOUT, "timeout").into_response();
    }
    success("transactionResponse", transaction_response(&order))
}

/// `transactionResponse` of a create, in the documented shape.
fn transaction_response(order: &Order) -> Value {
    let (state, response_code, ..) = states(order.status);
    let method = method_by_network(&order.network).map_or("EFECTY", |m| m.payment_method);
    json!({
        "orderId": order_number(order),
        "transactionId": transaction_id(order),
        "state": state,
        "paymentNetworkResponseCode": null,
        "paymentNetworkResponseErrorMessage": null,
        "trazabilityCode": transaction_id(order),
        "authorizationCode": null,
        "pendingReason": (order.status == OrderStatus::Pending).then_some("AWAITING_NOTIFICATION"),
        "responseCode": response_code,
        "errorCode": null,
        "responseMessage": null,
        "transactionDate": null,
        "transactionTime": null,
        "operationDate": order.created_at.as_millisecond(),
        "referenceQuestionnaire": null,
        "extraParameters": extra_parameters(order),
        "additionalInfo": {
            "paymentNetwork": method,
            "rejectionType": "NONE",
            "responseNetworkMessage": null,
            "travelAgencyAuthorizationCode": null,
            "cardType": null,
            "transactionType": "AUTHORIZATION_AND_CAPTURE",
        },
    })
}

fn extra_parameters(order: &Order) -> Value {
    json!({
        "EXPIRATION_DATE": order.expires_at.as_millisecond(),
        "REFERENCE": order.code,
        "BAR_CODE": order.barcode_data,
        "URL_PAYMENT_RECEIPT_HTML": format!("/ventanilla?code={}", order.code),
        "URL_PAYMENT_RECEIPT_PDF": format!("/ventanilla?code={}", order.code),
    })
}

/// An order as the Queries API shows it.
fn order_json(order: &Order, credentials: &Credentials) -> Value {
    let (state, response_code, status, ..) = states(order.status);
    let method = method_by_network(&order.network).map_or("EFECTY", |m| m.payment_method);
    let value = json!({"TX_VALUE": {"value": order.amount.minor(), "currency": "COP"}});
    json!({
        "id": order_number(order),
        "accountId": credentials.account_id,
        "status": status,
        "referenceCode": order.reference,
        "description": format!("Pago {}", order.reference),
        "language": "es",
        "notifyUrl": order.callback_url,
        "buyer": {
            "fullName": order.party.name,
            "dniNumber": order.party.document.as_ref().map(|d| d.number().to_owned()),
        },
        "transactions": [{
            "id": transaction_id(order),
            "order": null,
            "type": "AUTHORIZATION_AND_CAPTURE",
            "paymentMethod": method,
            "paymentCountry": "CO",
            "transactionResponse": {
                "state": state,
                "responseCode": response_code,
                "pendingReason": (order.status == OrderStatus::Pending).then_some("AWAITING_NOTIFICATION"),
                "operationDate": order.paid_at.unwrap_or(order.updated_at).as_millisecond(),
            },
            "expirationDate": order.expires_at.strftime("%Y-%m-%dT%H:%M:%S").to_string(),
            "extraParameters": extra_parameters(order),
            "additionalValues": value,
        }],
        "additionalValues": value,
    })
}

/// `POST /payu/reports-api/4.0/service.cgi`.
async fn queries(State(sim): State<Arc<Sim>>, bytes: Bytes) -> Response {
    let body = match parse_body(&bytes) {
        Ok(body) => body,
        Err(response) => return response,
    };
    let (merchant_id, credentials, latency_ms) = match authenticate(&sim, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    latency(latency_ms).await;
    let command = body
        .get("command")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let payload = match command {
        "PING" => return success("transactionResponse", Value::Null),
        "ORDER_DETAIL" => {
            let Some(number) = body.pointer("/details/orderId").and_then(Value::as_u64) else {
                return refused("Invalid request format: details.orderId is required");
            };
            sim.run(|state, _| {
                state
                    .all_orders()
                    .find(|o| {
                        o.merchant_id == merchant_id
                            && o.dialect == Dialect::Payu
                            && order_number(o) == Some(number)
                    })
                    .map_or(Value::Null, |o| order_json(o, &credentials))
            })
            .await
        }
        "ORDER_DETAIL_BY_REFERENCE_CODE" => {
            let Some(reference) = body
                .pointer("/details/referenceCode")
                .and_then(Value::as_str)
            else {
                return refused("Invalid request format: details.referenceCode is required");
            };
            sim.run(|state, _| {
                let orders: Vec<Value> = state
                    .order_by_reference(&merchant_id, OrderKind::Collection, reference)
                    .ok()
                    .filter(|o| o.dialect == Dialect::Payu)
                    .map(|o| order_json(o, &credentials))
                    .into_iter()
                    .collect();
                Value::Array(orders)
            })
            .await
        }
        other => return refused(format!("Invalid command {other:?}")),
    };
    match payload {
        Ok(payload) => success("result", json!({"payload": payload})),
        Err(_) => internal(),
    }
}

/// The Sales Report of a Bogotá day for a merchant: vouchers paid that day, and vouchers made
/// that day and not paid, with PayU's order statuses.
pub fn sales_report_csv(
    state: &Engine,
    merchant_id: &str,
    date: jiff::civil::Date,
) -> Result<String, String> {
    let mut rows: Vec<(&Order, Timestamp)> = state
        .all_orders()
        .filter(|o| o.merchant_id == merchant_id && o.dialect == Dialect::Payu)
        .filter_map(|o| match o.paid_at {
            Some(paid) => (bogota_date(paid) == date).then_some((o, paid)),
            None => (bogota_date(o.created_at) == date).then_some((o, o.created_at)),
        })
        .collect();
    rows.sort_by(|a, b| (a.1, &a.0.id).cmp(&(b.1, &b.0.id)));
    let mut out = csv::Writer::from_writer(Vec::new());
    let header = [
        "Order",
        "Date",
        "Reference",
        "Buyer",
        "Amount",
        "Payment method",
        "Status",
    ];
    out.write_record(header).map_err(|e| e.to_string())?;
    for (order, at) in rows {
        let (_, _, status, ..) = states(order.status);
        let method = method_by_network(&order.network).map_or("EFECTY", |m| m.payment_method);
        out.write_record([
            order_number(order).unwrap_or_default().to_string(),
            local_text(at),
            order.reference.clone(),
            order.party.name.clone().unwrap_or_default(),
            format!("{}.00", order.amount.minor()),
            method.into(),
            status.into(),
        ])
        .map_err(|e| e.to_string())?;
    }
    let bytes = out.into_inner().map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

/// `POST /payu/reports/sales` `{"command": "SALES_REPORT", "merchant": {…}, "details":
/// {"date": "YYYY-MM-DD"}}`.
async fn sales_report_handler(sim: &Sim, body: &Value) -> Response {
    let (merchant_id, _, latency_ms) = match authenticate(sim, body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    latency(latency_ms).await;
    let Some(date) = body
        .pointer("/details/date")
        .and_then(Value::as_str)
        .and_then(|d| d.parse::<jiff::civil::Date>().ok())
    else {
        return refused("Invalid request format: details.date must be YYYY-MM-DD");
    };
    match sim
        .run(|state, _| sales_report_csv(state, &merchant_id, date))
        .await
    {
        Ok(Ok(text)) => ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], text).into_response(),
        _ => internal(),
    }
}

async fn sales_report(State(sim): State<Arc<Sim>>, bytes: Bytes) -> Response {
    match parse_body(&bytes) {
        Ok(body) => sales_report_handler(&sim, &body).await,
        Err(response) => response,
    }
}

#[cfg(test)]
#[path = "payu_tests.rs"]
mod tests;
