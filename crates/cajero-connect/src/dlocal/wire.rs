//! dLocal's JSON, both ways: the create request for an Efecty ticket, and the payment object
//! (create answer, `GET /payments/{id}`, notifications) and order object (`GET /orders/{id}`)
//! read into ours. Pure functions, so the documented examples test them without a network.
//!
//! Shapes from <https://docs.dlocal.com/docs/cash-payments>,
//! <https://docs.dlocal.com/reference/the-ticket-object>,
//! <https://docs.dlocal.com/reference/the-order-object> and the Colombian Efecty example in
//! github.com/fmazzoli-dlocal/documentation
//! (`api-documentation/payins-api-reference/payment-methods/colombia.md`).

use cajero_domain::money::Amount;
use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

use super::codes::status_of;
use super::signing::parse_date;
use crate::{
    Callback, CallbackError, CallbackKind, ConnectError, CreateVoucher, NetworkOrder,
    NetworkStatus, OrderKind,
};

/// dLocal's payment method for Efecty (a `TICKET`, flows `DIRECT` and `REDIRECT`).
pub const EFECTY_METHOD: &str = "EY";
/// The Efecty agreement ("convenio") dLocal tells merchants to print on the ticket
/// ("Convenio: 111571", the Colombian Efecty example's user-interface tips).
pub const EFECTY_AGREEMENT_CODE: &str = "111571";
/// Shortest and longest payer document dLocal takes in Colombia ("CC o NIT", 6–11 digits,
/// <https://docs.dlocal.com/docs/colombia>).
pub const DOCUMENT_DIGITS: (usize, usize) = (6, 11);

/// Our cash network for a dLocal payment method, and back.
const METHOD_NETWORKS: &[(&str, &str)] = &[(EFECTY_METHOD, "efecty")];

/// dLocal's payment method for our cash network `network`, if it has one.
pub fn method_for(network: &str) -> Option<&'static str> {
    METHOD_NETWORKS
        .iter()
        .find(|(_, n)| *n == network)
        .map(|(m, _)| *m)
}

/// Our cash network for dLocal's payment method `method`, if it is one of ours.
pub fn network_for(method: &str) -> Option<&'static str> {
    METHOD_NETWORKS
        .iter()
        .find(|(m, _)| *m == method)
        .map(|(_, n)| *n)
}

#[derive(Debug, Serialize)]
struct PaymentRequest<'a> {
    amount: i64,
    currency: &'static str,
    country: &'static str,
    payment_method_id: &'static str,
    payment_method_flow: &'static str,
    payer: Payer<'a>,
    order_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    notification_url: Option<&'a str>,
}

#[derive(Debug, Serialize)]
struct Payer<'a> {
    name: &'a str,
    document: String,
}

fn refuse(code: &str, message: impl Into<String>) -> ConnectError {
    ConnectError::Rejected {
        code: code.into(),
        message: message.into(),
    }
}

/// The body of `POST /payments` for a voucher: an Efecty ticket in the `DIRECT` flow, in COP
/// (0 decimals), with our reference as `order_id`. Refused before anything is sent when the
/// network is not one dLocal collects at, or the payer's name or document (CC or NIT, 6–11
/// digits) is missing.
pub fn payment_request(
    request: &CreateVoucher,
    notification_url: Option<&str>,
) -> Result<Vec<u8>, ConnectError> {
    let method = method_for(&request.network).ok_or_else(|| {
        refuse(
            "method_not_supported",
            format!("dLocal collects no cash at {:?}", request.network),
        )
    })?;
    let name = request
        .customer_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| refuse("customer_name_required", "dLocal requires the payer's name"))?;
    let document = request.customer_document.as_ref().ok_or_else(|| {
        refuse(
            "customer_document_required",
            "dLocal requires the payer's CC or NIT for Efecty",
        )
    })?;
    if !matches!(document.kind.as_str(), "CC" | "NIT") {
        return Err(refuse(
            "customer_document_not_supported",
            format!("dLocal takes a CC or a NIT, not a {}", document.kind),
        ));
    }
    // A NIT is kept as `900123456-8`; dLocal takes the digits, check digit included.
    let digits: String = document.number.chars().filter(|c| *c != '-').collect();
    let (min, max) = DOCUMENT_DIGITS;
    if !(min..=max).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(refuse(
            "customer_document_invalid",
            format!("dLocal takes {min}–{max} digits for a {}", document.kind),
        ));
    }
    let body = PaymentRequest {
        amount: request.amount.minor(),
        currency: "COP",
        country: "CO",
        payment_method_id: method,
        payment_method_flow: "DIRECT",
        payer: Payer {
            name,
            document: digits,
        },
        order_id: &request.reference,
        notification_url,
    };
    serde_json::to_vec(&body).map_err(|e| ConnectError::Protocol(format!("request body: {e}")))
}

/// The ticket of a `DIRECT` cash payment.
#[derive(Debug, Deserialize)]
struct TicketWire {
    number: Option<String>,
    barcode: Option<String>,
    expiration_date: Option<String>,
}

/// The payment object (only what we read; everything else is kept raw in the evidence).
#[derive(Debug, Deserialize)]
struct PaymentWire {
    id: String,
    amount: Number,
    currency: Option<String>,
    payment_method_id: Option<String>,
    status: String,
    status_code: Value,
    status_detail: Option<String>,
    order_id: Option<String>,
    ticket: Option<TicketWire>,
    approved_date: Option<String>,
}

/// A payment as dLocal reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// It, as ours.
    pub order: NetworkOrder,
    /// dLocal's `status` (`PENDING`, …).
    pub status: String,
    /// dLocal's `status_code` (`100`, …).
    pub status_code: String,
    /// dLocal's `status_detail`.
    pub status_detail: String,
}

fn protocol(what: &str) -> ConnectError {
    ConnectError::Protocol(format!("payment: {what}"))
}

/// Whole pesos from a JSON number: COP has 0 decimals at dLocal, but amounts may come as
/// `10000` or `10000.00`; anything with a fraction is refused, never rounded.
pub fn whole_pesos(number: &Number) -> Option<i64> {
    if let Some(n) = number.as_i64() {
        return Some(n);
    }
    whole_pesos_text(&number.to_string())
}

/// Whole pesos from text (`10000`, `10000.00`).
pub fn whole_pesos_text(text: &str) -> Option<i64> {
    let text = text.trim();
    let (int, fraction) = text.split_once('.').unwrap_or((text, ""));
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !fraction.bytes().all(|b| b == b'0') {
        return None;
    }
    int.parse().ok()
}

fn code_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A payment object (answer to a create, `GET /payments/{id}`, a cancel, or a notification's
/// body) as ours. A cash payment carries its ticket: number, barcode and expiry.
pub fn parse_payment(body: &[u8]) -> Result<Payment, ConnectError> {
    let wire: PaymentWire = serde_json::from_slice(body).map_err(|e| protocol(&e.to_string()))?;
    let method = wire
        .payment_method_id
        .as_deref()
        .ok_or_else(|| protocol("no payment_method_id"))?;
    let network = network_for(method).ok_or_else(|| {
        protocol(&format!(
            "payment method {method:?} is not a cash network of ours"
        ))
    })?;
    if wire.currency.as_deref().is_some_and(|c| c != "COP") {
        return Err(protocol("currency is not COP"));
    }
    let amount = whole_pesos(&wire.amount)
        .and_then(|p| Amount::new(p).ok())
        .ok_or_else(|| protocol(&format!("amount {} is not whole pesos", wire.amount)))?;
    let ticket = wire.ticket.ok_or_else(|| protocol("no ticket"))?;
    let expires_at = ticket
        .expiration_date
        .as_deref()
        .and_then(parse_date)
        .ok_or_else(|| protocol("ticket without a readable expiration_date"))?;
    let code = ticket
        .number
        .filter(|n| !n.is_empty())
        .ok_or_else(|| protocol("ticket without a number"))?;
    let status_code = code_text(&wire.status_code);
    let status = status_of(&status_code, &wire.status);
    let paid_at = match status {
        NetworkStatus::Paid => wire.approved_date.as_deref().and_then(parse_date),
        _ => None,
    };
    let order = NetworkOrder {
        kind: OrderKind::Collection,
        network_order_id: wire.id,
        reference: wire.order_id.ok_or_else(|| protocol("no order_id"))?,
        network: network.to_owned(),
        status,
        amount,
        code,
        agreement_code: (method == EFECTY_METHOD).then(|| EFECTY_AGREEMENT_CODE.to_owned()),
        barcode_data: ticket.barcode.filter(|b| !b.is_empty()),
        expires_at,
        paid_at,
        paid_counter_id: None,
    };
    Ok(Payment {
        order,
        status: wire.status,
        status_code,
        status_detail: wire.status_detail.unwrap_or_default(),
    })
}

/// The order object of `GET /orders/{order_id}`: only the payment's id is needed from it.
#[derive(Debug, Deserialize)]
struct OrderWire {
    payment_id: String,
}

/// The dLocal payment id in an order object.
pub fn payment_id_of_order(body: &[u8]) -> Result<String, ConnectError> {
    serde_json::from_slice::<OrderWire>(body)
        .map(|w| w.payment_id)
        .map_err(|e| ConnectError::Protocol(format!("order: {e}")))
}

/// A notification body (the whole payment object) as a callback. Its id, the same on every
/// retry of the same change, is the payment's id and its status code (`D-4-…:200`). PENDING,
/// AUTHORIZED, VERIFIED and unrecognized states have no callback kind of their own: they come
/// as [`CallbackKind::AttemptFailed`] with no attempt, and must be applied by the order's
/// status (nothing to do when pending; held for review when unrecognized).
pub fn parse_notification(body: &[u8]) -> Result<Callback, CallbackError> {
    let payment = parse_payment(body).map_err(|e| CallbackError::Malformed(e.to_string()))?;
    let kind = match payment.order.status {
        NetworkStatus::Paid => CallbackKind::Paid,
        NetworkStatus::Expired => CallbackKind::Expired,
        NetworkStatus::Canceled => CallbackKind::Canceled,
        NetworkStatus::Pending
        | NetworkStatus::Available
        | NetworkStatus::Locked
        | NetworkStatus::Unrecognized => CallbackKind::AttemptFailed,
    };
    Ok(Callback {
        id: format!("{}:{}", payment.order.network_order_id, payment.status_code),
        kind,
        order: payment.order,
        attempt: None,
    })
}

/// dLocal's error body.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorWire {
    pub(crate) code: u32,
    #[serde(default)]
    pub(crate) message: String,
    #[serde(default)]
    pub(crate) param: Option<String>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn pesos_come_whole_or_not_at_all() {
        for (text, want) in [
            ("10000", Some(10_000)),
            ("10000.00", Some(10_000)),
            ("72.0", Some(72)),
            ("72.5", None),
            ("-3", None),
            ("", None),
            ("1e3", None),
        ] {
            assert_eq!(whole_pesos_text(text), want, "{text}");
        }
    }
}
