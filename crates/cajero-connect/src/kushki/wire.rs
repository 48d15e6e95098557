//! Kushki's wire format, as pure functions: the bodies we send (tokens and inits of cash-in and
//! cash-out) and the answers and notifications we read (states and error codes are mapped in
//! [`super::codes`]). Nothing here does I/O, so every documented example is a unit test.
//!
//! Sources (summarised with links in `docs/networks.md` and the fixtures' `SOURCES.md`):
//! cash-in token/init/status (api-docs.kushkipagos.com, "Cash In"), cash-out
//! (docs.kushki.com/co/en/payouts/cash/cash-out), the cash-out webhook
//! (docs.kushki.com/co/en/notifications/payment-distribution/webhook-cash-out), the cash-in
//! webhook (docs.kushki.com/…/notifications/one-time-payments/webhook-cash-in) and the error
//! codes for cash (docs.kushki.com/co/en/cash-payments/declined-cash-transaction).

use cajero_domain::money::Amount;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;
use serde_json::{Map, Number, Value};

use super::codes::status_of;
use crate::{ConnectError, CreatePickup, CreateVoucher, NetworkOrder, NetworkStatus, OrderKind};

/// The cash network a Kushki order is at when nothing says otherwise: Efecty is where Kushki
/// both collects and pays out in Colombia.
pub const DEFAULT_NETWORK: &str = "efecty";

/// The metadata key our reference travels under (Kushki's `metadata` is free-form and comes
/// back in the status answer and in the webhook).
pub const METADATA_REFERENCE: &str = "reference";
/// The metadata key of the cash network the order was asked for.
pub const METADATA_NETWORK: &str = "network";

/// Kushki's `expirationDate` format: `YYYY-MM-DD HH:mm:ss`, in UTC (D20).
const EXPIRATION_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// The webhook events we subscribe every order to (the documented cash states).
pub const WEBHOOK_EVENTS: [&str; 3] = [
    "approvedTransaction",
    "declinedTransaction",
    "expiredTransaction",
];

/// `expirationDate` for an instant: UTC, whole seconds.
pub fn expiration_date(at: Timestamp) -> String {
    at.to_zoned_datetime(TimeZone::UTC)
        .strftime(EXPIRATION_FORMAT)
        .to_string()
}

/// The instant of an `expirationDate` (UTC).
pub fn parse_expiration_date(text: &str) -> Option<Timestamp> {
    jiff::civil::DateTime::strptime(EXPIRATION_FORMAT, text)
        .ok()?
        .to_zoned_datetime(TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

/// Splits a full name into Kushki's `name` and `lastName`. Colombians usually carry one or two
/// given names and two surnames: one word is both (Kushki wants both non-empty); two words are
/// name and surname; three are one given name and two surnames ("Ana María Gómez" is read as
/// "Ana" + "María Gómez" — ambiguous either way, and the cashier checks the document, not the
/// split); four or more are two given names and the rest.
pub fn split_name(full: &str) -> (String, String) {
    let words: Vec<&str> = full.split_whitespace().collect();
    let given = match words.len() {
        0 => return (String::new(), String::new()),
        1 => return (words.join(" "), words.join(" ")),
        2 | 3 => 1,
        _ => 2,
    };
    let (first, rest) = words.split_at(given);
    (first.join(" "), rest.join(" "))
}

/// Kushki's `documentType` for ours: Kushki lists CC, NIT, CE, TI and PP (passport, our `PA`);
/// PPT and PEP are not in its list and are refused up front.
pub fn document_type(ours: &str) -> Result<&'static str, ConnectError> {
    match ours {
        "CC" => Ok("CC"),
        "CE" => Ok("CE"),
        "TI" => Ok("TI"),
        "NIT" => Ok("NIT"),
        "PA" | "PASS" | "PP" => Ok("PP"),
        other => Err(ConnectError::Rejected {
            code: "document_type_not_supported".into(),
            message: format!("Kushki takes CC, CE, TI, NIT and PP documents, not {other}"),
        }),
    }
}

/// `amount` of an init: everything in `subtotalIva0` (cash collections and pick-ups carry no
/// VAT of their own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AmountWire {
    /// Taxed base.
    pub subtotal_iva: i64,
    /// Untaxed base: the whole amount.
    pub subtotal_iva0: i64,
    /// VAT.
    pub iva: i64,
}

impl AmountWire {
    /// The whole amount untaxed.
    pub fn untaxed(amount: Amount) -> AmountWire {
        AmountWire {
            subtotal_iva: 0,
            subtotal_iva0: amount.minor(),
            iva: 0,
        }
    }
}

/// One webhook subscription of an init.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebhookWire {
    /// The states notified.
    pub events: Vec<&'static str>,
    /// Where.
    pub urls: Vec<String>,
    /// Extra headers Kushki adds (none).
    pub headers: Vec<Value>,
}

/// `webhooks` of an init: our notification URL for every documented state, if we have one.
pub fn webhooks(notification_url: Option<&str>) -> Option<Vec<WebhookWire>> {
    notification_url.map(|url| {
        vec![WebhookWire {
            events: WEBHOOK_EVENTS.to_vec(),
            urls: vec![url.to_owned()],
            headers: Vec::new(),
        }]
    })
}

/// `POST /cash/v1/tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CashInTokenBody {
    /// Given names.
    pub name: String,
    /// Surnames.
    pub last_name: String,
    /// Document number.
    pub identification: String,
    /// `CC`, `NIT`, `CE`, `TI`, `PP`.
    pub document_type: &'static str,
    /// Whole pesos.
    pub total_amount: i64,
    /// `COP`.
    pub currency: &'static str,
    /// The payer's email, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// `POST /payouts/cash/v1/tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CashOutTokenBody {
    /// Given names.
    pub name: String,
    /// Surnames.
    pub last_name: String,
    /// `CC`, `NIT`, `CE`, `TI`, `PP`.
    pub document_type: &'static str,
    /// Digits only.
    pub document_number: String,
    /// A contact email (optional; the merchant's, as cajero does not ask beneficiaries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whole pesos.
    pub total_amount: i64,
    /// `COP`.
    pub currency: &'static str,
    /// A contact phone (optional, as the email).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
}

/// `POST /cash/v1/charges/init` and `POST /payouts/cash/v1/init`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InitBody {
    /// The token of the first step.
    pub token: String,
    /// The amount, split as Kushki wants it.
    pub amount: AmountWire,
    /// `YYYY-MM-DD HH:mm:ss`, UTC.
    pub expiration_date: String,
    /// Our reference and the cash network.
    pub metadata: Map<String, Value>,
    /// Where Kushki notifies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhooks: Option<Vec<WebhookWire>>,
}

/// The metadata of an init: our reference and the cash network.
pub fn metadata(reference: &str, network: &str) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert(
        METADATA_REFERENCE.into(),
        Value::String(reference.to_owned()),
    );
    map.insert(METADATA_NETWORK.into(), Value::String(network.to_owned()));
    map
}

/// Whole pesos of a JSON number: an integer, or a decimal whose fraction is all zeros
/// (`50000.0`). A fraction of a peso is refused, never rounded.
pub fn pesos(n: &Number) -> Result<Amount, String> {
    let whole = match n.as_i64() {
        Some(i) => i,
        None => {
            let text = n.to_string();
            let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
            if frac.is_empty() || !frac.bytes().all(|b| b == b'0') {
                return Err(format!("{text} is not a whole number of pesos"));
            }
            int.parse()
                .map_err(|_| format!("{text} is not a whole number of pesos"))?
        }
    };
    Amount::new(whole).map_err(|e| format!("{whole}: {e}"))
}

/// A field of a JSON object as text (strings, or numbers written as text).
fn text(v: &Value, field: &str) -> Option<String> {
    match v.get(field)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn missing(field: &str) -> String {
    format!("{field} missing or not a string")
}

/// Unix milliseconds (Kushki's `created`, `expiration`, `completedAt`) as an instant.
fn millis(v: &Value, field: &str) -> Result<Option<Timestamp>, String> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .and_then(|ms| Timestamp::from_millisecond(ms).ok())
            .map(Some)
            .ok_or_else(|| format!("{field}: {n} is not Unix milliseconds")),
        Some(other) => Err(format!("{field}: {other} is not Unix milliseconds")),
    }
}

/// The total of an answer: `totalAmount`, else the sum of `amount`'s parts.
fn total(v: &Value) -> Result<Amount, String> {
    if let Some(Value::Number(n)) = v.get("totalAmount") {
        return pesos(n).map_err(|e| format!("totalAmount: {e}"));
    }
    let parts = v
        .get("amount")
        .ok_or_else(|| "totalAmount and amount missing".to_owned())?;
    let mut sum = 0i64;
    for part in ["subtotalIva", "subtotalIva0", "iva"] {
        if let Some(Value::Number(n)) = parts.get(part) {
            let a = pesos(n).map_err(|e| format!("amount.{part}: {e}"))?;
            sum = sum
                .checked_add(a.minor())
                .ok_or_else(|| "amount overflows".to_owned())?;
        }
    }
    Amount::new(sum).map_err(|e| format!("amount: {e}"))
}

/// The agreement ("convenio") number for Efecty in an init answer's `agreementDetails`: a list
/// of one-key objects, store name → `[{agreementNumber, processorName}]` (D20's example:
/// `[{"efecty": [{"agreementNumber": "110342", "processorName": "Payvalida"}]}, …]`).
pub fn efecty_agreement(answer: &Value) -> Option<String> {
    let details = answer
        .get("agreementDetails")
        .or_else(|| answer.get("details")?.get("agreementDetails"))?;
    details.as_array()?.iter().find_map(|item| {
        let (_, agreements) = item
            .as_object()?
            .iter()
            .find(|(store, _)| store.eq_ignore_ascii_case("efecty"))?;
        text(agreements.as_array()?.first()?, "agreementNumber")
    })
}

/// What we asked for, to complete an init answer (which does not repeat it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked<'a> {
    /// Voucher or pick-up.
    pub kind: OrderKind,
    /// The cash network.
    pub network: &'a str,
    /// Our reference.
    pub reference: &'a str,
    /// Whole pesos.
    pub amount: Amount,
    /// The `expirationDate` sent.
    pub expires_at: Timestamp,
}

/// An init answer (`{pin, ticketNumber, pdfUrl, …}`) as the open order it created.
pub fn order_from_init(answer: &[u8], asked: &Asked<'_>) -> Result<NetworkOrder, ConnectError> {
    let v: Value = serde_json::from_slice(answer)
        .map_err(|e| ConnectError::Protocol(format!("init answer: {e}")))?;
    let field = |f: &str| text(&v, f).ok_or_else(|| ConnectError::Protocol(missing(f)));
    let pin = field("pin")?;
    let ticket = field("ticketNumber")?;
    let (status, agreement_code, barcode_data) = match asked.kind {
        OrderKind::Collection => (
            NetworkStatus::Pending,
            efecty_agreement(&v),
            text(&v, "getPinBarCode"),
        ),
        OrderKind::Payout => (NetworkStatus::Available, None, None),
    };
    Ok(NetworkOrder {
        kind: asked.kind,
        network_order_id: ticket,
        reference: asked.reference.to_owned(),
        network: asked.network.to_owned(),
        status,
        amount: asked.amount,
        code: pin,
        agreement_code,
        barcode_data,
        expires_at: asked.expires_at,
        paid_at: None,
        paid_counter_id: None,
    })
}

/// A status answer or a webhook body as the order it describes. Kushki's status answer
/// documents `status`, `completedAt` and `processorAuthorizationNumber`; the rest is read under
/// the webhook's documented names (`ticketNumber`, `pin`, `totalAmount`/`amount`, `expiration`,
/// `metadata`), as the API reference's status examples show them. The state is
/// `transactionStatus` (cash-out) or `status` (cash-in). `reference` is empty when the answer
/// does not carry our `metadata.reference`.
pub fn order_from_status(v: &Value, kind: OrderKind) -> Result<NetworkOrder, String> {
    let state = text(v, "transactionStatus")
        .or_else(|| text(v, "status"))
        .ok_or_else(|| missing("status"))?;
    let ticket = text(v, "ticketNumber").ok_or_else(|| missing("ticketNumber"))?;
    let pin = text(v, "pin").ok_or_else(|| missing("pin"))?;
    let metadata = v.get("metadata");
    // Kushki's documented status answers echo the init's metadata (cash-out) or show none
    // (cash-in examples): without our reference, it is empty and the ticket number identifies
    // the order.
    let reference = metadata
        .and_then(|m| text(m, METADATA_REFERENCE))
        .unwrap_or_default();
    let network = metadata
        .and_then(|m| text(m, METADATA_NETWORK))
        .unwrap_or_else(|| DEFAULT_NETWORK.to_owned());
    let expires_at = match millis(v, "expiration")? {
        Some(t) => t,
        None => text(v, "expirationDate")
            .as_deref()
            .and_then(parse_expiration_date)
            .ok_or_else(|| "expiration and expirationDate missing".to_owned())?,
    };
    let status = status_of(kind, &state);
    let paid_at = if status == NetworkStatus::Paid {
        millis(v, "completedAt")?
    } else {
        None
    };
    Ok(NetworkOrder {
        kind,
        network_order_id: ticket,
        reference,
        network,
        status,
        amount: total(v)?,
        code: pin,
        agreement_code: None,
        barcode_data: None,
        expires_at,
        paid_at,
        paid_counter_id: None,
    })
}

/// The kind of a webhook body: cash-out ones carry `transactionType: "PAYOUT"`.
pub fn webhook_kind(v: &Value) -> OrderKind {
    if text(v, "transactionType").as_deref() == Some("PAYOUT") {
        OrderKind::Payout
    } else {
        OrderKind::Collection
    }
}

/// The cash-in token of a voucher: the customer's name (split) and document are required by
/// Kushki, so a voucher without them is refused up front (`customer_details_required`).
pub fn cash_in_token_body(request: &CreateVoucher) -> Result<CashInTokenBody, ConnectError> {
    let missing = |what: &str| ConnectError::Rejected {
        code: "customer_details_required".into(),
        message: format!("Kushki's cash-in token needs the customer's {what}"),
    };
    let name = request
        .customer_name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| missing("name"))?;
    let document = request
        .customer_document
        .as_ref()
        .ok_or_else(|| missing("document"))?;
    let (name, last_name) = split_name(name);
    Ok(CashInTokenBody {
        name,
        last_name,
        identification: document.number.clone(),
        document_type: document_type(&document.kind)?,
        total_amount: request.amount.minor(),
        currency: "COP",
        email: None,
    })
}

/// The cash-out token of a pick-up, with the merchant's contact `email` and `phone` when
/// configured (Kushki requires only name, lastName, documentNumber, totalAmount, currency).
pub fn cash_out_token_body(
    request: &CreatePickup,
    email: Option<&str>,
    phone: Option<&str>,
) -> Result<CashOutTokenBody, ConnectError> {
    let (name, last_name) = split_name(&request.beneficiary_name);
    Ok(CashOutTokenBody {
        name,
        last_name,
        document_type: document_type(&request.beneficiary_document.kind)?,
        document_number: request.beneficiary_document.number.clone(),
        email: email.map(str::to_owned),
        total_amount: request.amount.minor(),
        currency: "COP",
        phone_number: phone.map(str::to_owned),
    })
}

/// The init of either kind for `token`.
pub fn init_body(token: String, asked: &Asked<'_>, notification_url: Option<&str>) -> InitBody {
    InitBody {
        token,
        amount: AmountWire::untaxed(asked.amount),
        expiration_date: expiration_date(asked.expires_at),
        metadata: metadata(asked.reference, asked.network),
        webhooks: webhooks(notification_url),
    }
}
