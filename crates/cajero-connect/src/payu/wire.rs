//! PayU Latam's JSON: the requests we build and the answers we read, as pure functions (the
//! documented examples are tested against them without a network).

use cajero_domain::money::Amount;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

use super::codes::{self, CashMethod};
use super::signing::request_signature;
use super::{PayuConfig, PayuContact, REDACTED};
use crate::{ConnectError, CreateVoucher, DocumentRef, NetworkOrder, NetworkStatus, OrderKind};

/// The only currency of PayU Colombia's cash methods.
pub const CURRENCY: &str = "COP";
/// PayU's `paymentCountry` for Colombia.
pub const COUNTRY: &str = "CO";
/// The only transaction type of cash payments ("la única transacción disponible").
pub const TRANSACTION_TYPE: &str = "AUTHORIZATION_AND_CAPTURE";

/// `expirationDate` as PayU takes it: `YYYY-MM-DDTHH:MM:SS`, in UTC (the documented example
/// sends `2021-06-24T20:58:35.804` and gets back `EXPIRATION_DATE` 1624568315804, the same
/// instant read as UTC).
pub fn expiration_date(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S").to_string()
}

/// The `merchant` object every request carries (the API key travels in the body).
fn merchant(config: &PayuConfig) -> Value {
    json!({"apiLogin": config.api_login, "apiKey": config.api_key})
}

/// The `buyer` and the `payer` PayU requires: the customer's name and document with the
/// merchant's contact data (cajero has no e-mail, phone or address of its customers).
fn people(contact: &PayuContact, name: &str, document: &DocumentRef) -> (Value, Value) {
    let address = json!({
        "street1": contact.street1,
        "city": contact.city,
        "state": contact.state,
        "country": COUNTRY,
        "postalCode": contact.postal_code,
        "phone": contact.phone,
    });
    let buyer = json!({
        "fullName": name,
        "emailAddress": contact.email,
        "contactPhone": contact.phone,
        "dniNumber": document.number,
        "shippingAddress": address,
    });
    let mut payer = json!({
        "fullName": name,
        "emailAddress": contact.email,
        "contactPhone": contact.phone,
        "dniNumber": document.number,
        "billingAddress": address,
    });
    if let Some(kind) = codes::document_type(&document.kind) {
        payer["dniType"] = json!(kind);
    }
    (buyer, payer)
}

/// The body of `SUBMIT_TRANSACTION` for a cash voucher, signed; `now` fixes
/// `expirationDate`. Refuses up front (no call made) what PayU would refuse: an amount
/// outside the method's limits, a customer without name or document.
pub fn submit_transaction(
    config: &PayuConfig,
    method: &CashMethod,
    request: &CreateVoucher,
    now: Timestamp,
) -> Result<Value, ConnectError> {
    let amount = request.amount.minor();
    if amount < method.amount_min || amount > method.amount_max {
        return Err(ConnectError::Rejected {
            code: "amount_outside_limits".into(),
            message: format!(
                "PayU takes {} from {} to {} COP; asked {amount}",
                method.payment_method, method.amount_min, method.amount_max
            ),
        });
    }
    let name = request
        .customer_name
        .as_deref()
        .ok_or(ConnectError::Rejected {
            code: "customer_name_required".into(),
            message: "PayU requires the buyer's and payer's full name".into(),
        })?;
    let document = request
        .customer_document
        .as_ref()
        .ok_or(ConnectError::Rejected {
            code: "customer_document_required".into(),
            message: "PayU requires the buyer's and payer's dniNumber".into(),
        })?;
    let value = amount.to_string();
    let signature = request_signature(
        &config.api_key,
        &config.merchant_id,
        &request.reference,
        &value,
        CURRENCY,
    );
    let expires_at = now
        .saturating_add(jiff::SignedDuration::from_secs(request.expires_in_seconds))
        .unwrap_or(now);
    let (buyer, payer) = people(&config.contact, name, document);
    let mut order = json!({
        "accountId": config.account_id,
        "referenceCode": request.reference,
        "description": format!("{} {}", config.description_prefix, request.reference),
        "language": config.language,
        "signature": signature,
        "additionalValues": {
            "TX_VALUE": {"value": amount, "currency": CURRENCY},
            // Cash collections for the merchant carry no IVA of theirs; without TX_TAX PayU
            // would apply 19 % by default.
            "TX_TAX": {"value": 0, "currency": CURRENCY},
            "TX_TAX_RETURN_BASE": {"value": 0, "currency": CURRENCY},
        },
        "buyer": buyer,
    });
    if let Some(url) = &config.notification_url {
        order["notifyUrl"] = json!(url);
    }
    Ok(json!({
        "language": config.language,
        "command": "SUBMIT_TRANSACTION",
        "merchant": merchant(config),
        "transaction": {
            "order": order,
            "payer": payer,
            "type": TRANSACTION_TYPE,
            "paymentMethod": method.payment_method,
            "expirationDate": expiration_date(expires_at),
            "paymentCountry": COUNTRY,
            "ipAddress": config.contact.ip_address,
        },
        "test": config.test,
    }))
}

/// A queries-API (or `PING`) request: `command` with `details`.
pub fn query(config: &PayuConfig, command: &str, details: Option<Value>) -> Value {
    let mut body = json!({
        "test": config.test,
        "language": config.language,
        "command": command,
        "merchant": merchant(config),
    });
    if let Some(details) = details {
        body["details"] = details;
    }
    body
}

/// `value` with every secret-bearing field (`merchant.apiKey`, `order.signature`) replaced,
/// for evidence.
pub fn redacted(value: &Value) -> Value {
    let mut value = value.clone();
    if let Some(key) = value.pointer_mut("/merchant/apiKey") {
        *key = json!(REDACTED);
    }
    if let Some(signature) = value.pointer_mut("/transaction/order/signature") {
        *signature = json!(REDACTED);
    }
    value
}

/// A number PayU writes as a JSON number or a string (`orderId`, `REFERENCE`).
fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// Whole pesos from a JSON amount (`65000`, `65000.0`, `"65000.00"`): a fraction other than
/// zero is refused (we only ever ask for whole pesos).
pub fn pesos(value: &Value) -> Option<Amount> {
    match value {
        // As written (`6000`, `6000.0`): read as decimal text, never as a float.
        Value::Number(n) => pesos_text(&n.to_string()),
        Value::String(s) => pesos_text(s),
        _ => None,
    }
}

/// Whole pesos from decimal text (`65000`, `65000.00`); `None` for a fraction other than 0.
pub fn pesos_text(text: &str) -> Option<Amount> {
    let (whole, fraction) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b == b'0')
    {
        return None;
    }
    Amount::new(whole.parse().ok()?).ok()
}

/// An instant PayU writes as epoch milliseconds (`EXPIRATION_DATE`, `operationDate`) or as
/// `YYYY-MM-DDTHH:MM:SS[.sss]` in UTC (`expirationDate`).
fn instant(value: &Value) -> Option<Timestamp> {
    match value {
        Value::Number(n) => Timestamp::from_millisecond(n.as_i64()?).ok(),
        Value::String(s) => {
            let civil: jiff::civil::DateTime = s.trim().parse().ok()?;
            jiff::tz::TimeZone::UTC.to_timestamp(civil).ok()
        }
        _ => None,
    }
}

/// The envelope of every answer: `code` `SUCCESS` or `ERROR`, and `error`.
#[derive(Debug, Deserialize)]
struct Envelope {
    code: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// The refusal an `ERROR` envelope stands for.
fn envelope_error(envelope: &Envelope) -> Option<ConnectError> {
    match envelope.code.as_deref() {
        Some("SUCCESS") => None,
        Some("ERROR") => Some(ConnectError::Rejected {
            code: "payu_error".into(),
            message: envelope
                .error
                .clone()
                .unwrap_or_else(|| "ERROR without a message".into()),
        }),
        other => Some(ConnectError::Protocol(format!("answer code {other:?}"))),
    }
}

fn protocol(what: &str) -> ConnectError {
    ConnectError::Protocol(what.into())
}

/// The answer's JSON when its envelope says `SUCCESS`; PayU's refusal otherwise.
fn successful(body: &[u8]) -> Result<Value, ConnectError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ConnectError::Protocol(format!("answer: {e}")))?;
    let envelope: Envelope = serde_json::from_value(value.clone())
        .map_err(|e| ConnectError::Protocol(format!("answer: {e}")))?;
    envelope_error(&envelope).map_or(Ok(value), Err)
}

/// What a voucher's order is made of, wherever PayU reported it.
struct Voucher<'a> {
    order_id: String,
    reference: String,
    method: &'a CashMethod,
    status: NetworkStatus,
    amount: Amount,
    /// The transaction's `extraParameters` (payment code, barcode).
    extra: &'a Value,
    expires_at: Timestamp,
    paid_at: Option<Timestamp>,
}

impl Voucher<'_> {
    fn into_order(self) -> NetworkOrder {
        NetworkOrder {
            kind: OrderKind::Collection,
            // In PayU's examples REFERENCE (the payment code) equals the order id.
            code: self
                .extra
                .get("REFERENCE")
                .and_then(id_text)
                .unwrap_or_else(|| self.order_id.clone()),
            network_order_id: self.order_id,
            reference: self.reference,
            network: self.method.network.into(),
            status: self.status,
            amount: self.amount,
            agreement_code: None,
            barcode_data: self.extra.get("BAR_CODE").and_then(id_text),
            expires_at: self.expires_at,
            paid_at: self.paid_at,
            paid_counter_id: None,
        }
    }
}

/// Reads the answer to `SUBMIT_TRANSACTION` for our `request` at `method`: a `PENDING`
/// transaction becomes the voucher; any other state a refusal named after its
/// `responseCode`.
pub fn parse_submit(
    body: &[u8],
    method: &CashMethod,
    request: &CreateVoucher,
) -> Result<NetworkOrder, ConnectError> {
    let value = successful(body)?;
    let response = value
        .get("transactionResponse")
        .filter(|v| !v.is_null())
        .ok_or_else(|| protocol("no transactionResponse"))?;
    let state = response
        .get("state")
        .and_then(Value::as_str)
        .ok_or_else(|| protocol("no transactionResponse.state"))?;
    let status = codes::transaction_state(state);
    if status != NetworkStatus::Pending {
        let response_code = response
            .get("responseCode")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let message = response
            .get("responseMessage")
            .and_then(Value::as_str)
            .unwrap_or(state);
        return Err(ConnectError::Rejected {
            code: codes::rejection_code(response_code),
            message: format!("{state} {response_code}: {message}"),
        });
    }
    let order_id = response
        .get("orderId")
        .and_then(id_text)
        .ok_or_else(|| protocol("no transactionResponse.orderId"))?;
    let extra = response.get("extraParameters").unwrap_or(&Value::Null);
    let expires_at = extra
        .get("EXPIRATION_DATE")
        .and_then(instant)
        .ok_or_else(|| protocol("no extraParameters.EXPIRATION_DATE"))?;
    Ok(Voucher {
        order_id,
        reference: request.reference.clone(),
        method,
        status,
        amount: request.amount,
        extra,
        expires_at,
        paid_at: None,
    }
    .into_order())
}

/// Reads the answer to `ORDER_DETAIL` (`payload` an order) or `ORDER_DETAIL_BY_REFERENCE_CODE`
/// (`payload` a list of orders): no order is [`ConnectError::NotFound`].
pub fn parse_order_detail(body: &[u8]) -> Result<NetworkOrder, ConnectError> {
    let value = successful(body)?;
    let payload = value.pointer("/result/payload").unwrap_or(&Value::Null);
    let order = match payload {
        Value::Null => return Err(ConnectError::NotFound),
        Value::Array(orders) => match orders.as_slice() {
            [] => return Err(ConnectError::NotFound),
            [order] => order,
            more => {
                return Err(ConnectError::Protocol(format!(
                    "{} orders under one reference",
                    more.len()
                )));
            }
        },
        order => order,
    };
    order_from(order)
}

/// The transaction that speaks for an order: an approved one if any (PayU: after an approval
/// for a reference, later reports can be ignored), else the last.
fn deciding_transaction(transactions: &[Value]) -> Option<&Value> {
    transactions
        .iter()
        .find(|t| {
            t.pointer("/transactionResponse/state")
                .and_then(Value::as_str)
                == Some("APPROVED")
        })
        .or_else(|| transactions.last())
}

/// One order of the queries API as ours.
fn order_from(order: &Value) -> Result<NetworkOrder, ConnectError> {
    let order_id = order
        .get("id")
        .and_then(id_text)
        .ok_or_else(|| protocol("order without id"))?;
    let reference = order
        .get("referenceCode")
        .and_then(Value::as_str)
        .ok_or_else(|| protocol("order without referenceCode"))?;
    let transactions = order
        .get("transactions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let transaction =
        deciding_transaction(transactions).ok_or_else(|| protocol("order without transactions"))?;
    let payment_method = transaction
        .get("paymentMethod")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let method = codes::method_for_payment_method(payment_method).ok_or_else(|| {
        ConnectError::Protocol(format!(
            "paymentMethod {payment_method:?} is not a cash method we use"
        ))
    })?;
    let response = transaction
        .get("transactionResponse")
        .unwrap_or(&Value::Null);
    let status = match response.get("state").and_then(Value::as_str) {
        Some(state) => codes::transaction_state(state),
        None => codes::order_status(
            order
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        ),
    };
    let amount = order
        .pointer("/additionalValues/TX_VALUE/value")
        .or_else(|| transaction.pointer("/additionalValues/TX_VALUE/value"))
        .and_then(pesos)
        .ok_or_else(|| protocol("order without a whole-peso TX_VALUE"))?;
    let extra = transaction.get("extraParameters").unwrap_or(&Value::Null);
    let expires_at = transaction
        .get("expirationDate")
        .and_then(instant)
        .or_else(|| extra.get("EXPIRATION_DATE").and_then(instant))
        .ok_or_else(|| protocol("transaction without expirationDate"))?;
    let paid_at = (status == NetworkStatus::Paid)
        .then(|| response.get("operationDate").and_then(instant))
        .flatten();
    Ok(Voucher {
        order_id,
        reference: reference.into(),
        method,
        status,
        amount,
        extra,
        expires_at,
        paid_at,
    }
    .into_order())
}

/// Reads the answer to `PING`.
pub fn parse_ping(body: &[u8]) -> Result<(), ConnectError> {
    successful(body).map(|_| ())
}
