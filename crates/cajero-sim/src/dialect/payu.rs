//! The PayU Latam dialect: the simulated cash networks reached as PayU Colombia's Payments
//! and Queries APIs are (developers.payulatam.com: "API de Pagos - Colombia", "API de
//! Consultas", "URL de confirmación").
//!
//! - `POST /payu/payments-api/4.0/service.cgi`: `SUBMIT_TRANSACTION` with `paymentMethod`
//!   `EFECTY` (network `efecty`) or `OTHERS_CASH` (network `sured`), and `PING`.
//! - `POST /payu/reports-api/4.0/service.cgi`: `ORDER_DETAIL`, `ORDER_DETAIL_BY_REFERENCE_CODE`
//!   and `PING`.
//! - `POST /payu/reports/sales`: the day's Sales Report as CSV (PayU offers it in its module
//!   only; this path is the simulator's, and takes the API login without the key).
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

mod payments;
mod queries;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use cajero_domain::calendar::bogota;
use hmac::{KeyInit, Mac};
use jiff::Timestamp;
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::Change;
use crate::config::MerchantConfig;
use crate::model::{Order, OrderStatus};
use crate::sim::Sim;

pub use queries::sales_report_csv;

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
        .route("/payments-api/4.0/service.cgi", post(payments::handle))
        .route("/reports-api/4.0/service.cgi", post(queries::handle))
        .route("/reports/sales", post(queries::sales_report))
}

/// Why a request got no success: PayU's `ERROR` envelope (HTTP 200), the network down (503),
/// or a failure of the simulator itself (500).
#[derive(Debug)]
enum Refused {
    /// PayU's refusal, with its message.
    Error(String),
    /// The network is down (fault knob, magic amount).
    Unavailable,
    /// The simulator's store failed.
    Internal,
}

impl Refused {
    fn error(message: impl Into<String>) -> Refused {
        Refused::Error(message.into())
    }
}

impl From<crate::store::StoreError> for Refused {
    fn from(_: crate::store::StoreError) -> Refused {
        Refused::Internal
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::Error(message) => {
                let body = json!({"code": "ERROR", "error": message, "transactionResponse": null});
                (StatusCode::OK, axum::Json(body)).into_response()
            }
            Refused::Unavailable => {
                (StatusCode::SERVICE_UNAVAILABLE, "service unavailable").into_response()
            }
            Refused::Internal => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
            }
        }
    }
}

/// PayU's success envelope with `value` under `key`.
fn success(key: &str, value: Value) -> Response {
    let mut body = json!({"code": "SUCCESS", "error": null});
    body[key] = value;
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// Who is calling: the merchant whose credentials are in the body.
struct Caller {
    merchant_id: String,
    credentials: Credentials,
}

/// What a request must prove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proof {
    /// `merchant.apiLogin` and `merchant.apiKey`, as every PayU API call.
    LoginAndKey,
    /// `merchant.apiLogin` only: the simulator's Sales Report path, which no real PayU endpoint
    /// stands behind, so the connector never sends the API key there.
    LoginOnly,
}

/// Reads the JSON body and the merchant it authenticates as, after the fault knobs' latency.
async fn authenticate(sim: &Sim, bytes: &[u8], proof: Proof) -> Result<(Value, Caller), Refused> {
    let body: Value = serde_json::from_slice(bytes)
        .map_err(|e| Refused::error(format!("Invalid request format: {e}")))?;
    let login = body.pointer("/merchant/apiLogin").and_then(Value::as_str);
    let key = body.pointer("/merchant/apiKey").and_then(Value::as_str);
    let (login, key) = match (login, key, proof) {
        (Some(login), Some(key), Proof::LoginAndKey) => (login, Some(key)),
        (Some(login), _, Proof::LoginOnly) => (login, None),
        _ => {
            return Err(Refused::error(
                "Invalid request format: merchant.apiLogin and merchant.apiKey are required",
            ));
        }
    };
    let (found, latency_ms) = sim
        .run(|state, _| {
            let merchant = state.merchants.values().find_map(|m| {
                let c = m.config.payu.as_ref()?;
                let same_key =
                    key.is_none_or(|key| c.api_key.as_bytes().ct_eq(key.as_bytes()).into());
                (c.api_login == login && same_key).then(|| Caller {
                    merchant_id: m.config.id.clone(),
                    credentials: c.clone(),
                })
            });
            (merchant, state.faults().latency_ms)
        })
        .await?;
    if latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(latency_ms)).await;
    }
    let caller = found.ok_or_else(|| Refused::error("Invalid credentials"))?;
    Ok((body, caller))
}

#[cfg(test)]
mod tests;
