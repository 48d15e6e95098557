//! Kushki's bodies at the simulator: errors, tokens, the translation of an init into the
//! engine's create, the answers, the order as Kushki shows it, the report and the webhook
//! signature.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cajero_domain::calendar::bogota_date;
use cajero_domain::{Amount, Document, DocumentType};
use hmac::{Hmac, KeyInit, Mac};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, civil::DateTime};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::{DIALECT, MAGIC_DECLINED_IDENTIFICATION, TOKEN_VALIDITY_SECONDS, state_of};
use crate::config::MerchantConfig;
use crate::engine::{CreateCollection, CreatePayout, Created, PartyInput, SimError, State};
use crate::model::{Order, OrderKind, OrderStatus};

/// `expirationDate`: `YYYY-MM-DD HH:mm:ss`, UTC.
const EXPIRATION_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// An error as Kushki answers it: `{"code": "C00n", "message": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KushkiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// Kushki's documented code.
    pub code: &'static str,
    /// The message.
    pub message: String,
}

impl KushkiError {
    /// An error of `status`, `code`, `message`.
    pub fn new(status: StatusCode, code: &'static str, message: &str) -> KushkiError {
        KushkiError {
            status,
            code,
            message: message.to_owned(),
        }
    }

    /// `C004`: no merchant with these credentials.
    pub fn credentials() -> KushkiError {
        KushkiError::new(
            StatusCode::UNAUTHORIZED,
            "C004",
            "ID de comercio o credencial no válido",
        )
    }

    /// `C001`: the body is not what Kushki takes.
    pub fn body(detail: &str) -> KushkiError {
        KushkiError::new(
            StatusCode::BAD_REQUEST,
            "C001",
            &format!("Cuerpo de la petición inválido: {detail}"),
        )
    }

    /// `C003`: the token is not valid (unknown, expired, of the other kind).
    pub fn token(detail: &str) -> KushkiError {
        KushkiError::new(
            StatusCode::BAD_REQUEST,
            "C003",
            &format!("Token inválido: {detail}"),
        )
    }

    /// A create that hung (fault knob) after creating the order.
    pub fn timeout() -> KushkiError {
        KushkiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "C002",
            "Tiempo de espera agotado",
        )
    }

    /// The engine's refusal, in Kushki's codes (`kind` picks the not-found code: `C005` for a
    /// cash-in transaction, `C021` for a cash-out ticket).
    pub fn of(e: SimError, kind: OrderKind) -> KushkiError {
        let message = e.to_string();
        let (status, code) = match e {
            SimError::UnknownMerchant => return KushkiError::credentials(),
            SimError::AmountOutOfRange { .. } => (StatusCode::BAD_REQUEST, "C006"),
            SimError::ValidityOutOfRange { .. } => (StatusCode::BAD_REQUEST, "C017"),
            SimError::NotFound => match kind {
                OrderKind::Collection => (StatusCode::NOT_FOUND, "C005"),
                OrderKind::Payout => (StatusCode::NOT_FOUND, "C021"),
            },
            SimError::NotCancelable { .. } => (StatusCode::BAD_REQUEST, "C008"),
            SimError::NetworkUnavailable | SimError::NetworkDown { .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, "C002")
            }
            SimError::CodeSpaceExhausted => (StatusCode::INTERNAL_SERVER_ERROR, "C002"),
            SimError::UnknownNetwork(_)
            | SimError::InvalidRequest { .. }
            | SimError::BeneficiaryRejected
            | SimError::NetworkDiscontinued { .. }
            | SimError::ReferenceConflict { .. }
            | SimError::UnknownCounter => (StatusCode::BAD_REQUEST, "C001"),
        };
        KushkiError::new(status, code, &message)
    }
}

impl IntoResponse for KushkiError {
    fn into_response(self) -> Response {
        let body = json!({"code": self.code, "message": self.message});
        (self.status, Json(body)).into_response()
    }
}

/// `hex(HMAC-SHA256(key, body + "." + id))`.
pub fn sign_webhook(key: &str, body: &[u8], id: &str) -> String {
    hex::encode(hmac(key, &[body, b".", id.as_bytes()]))
}

fn hmac(key: &str, parts: &[&[u8]]) -> Vec<u8> {
    // HMAC takes keys of any length: this never fails.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key.as_bytes()) else {
        return Vec::new();
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// What a token stands for: the person, the amount, when it was issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    kind: OrderKind,
    name: String,
    last_name: String,
    document_type: String,
    document_number: String,
    total_amount: i64,
    issued_ms: i64,
}

fn field(v: &Value, name: &str) -> Result<String, KushkiError> {
    match v.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => Err(KushkiError::body(&format!("{name} is required"))),
    }
}

/// Whole pesos of a JSON number (`50000` or `50000.0`; a fraction of a peso is refused).
fn pesos(v: Option<&Value>, name: &str) -> Result<i64, KushkiError> {
    let bad = || {
        KushkiError::new(
            StatusCode::BAD_REQUEST,
            "C006",
            &format!("{name}: monto inválido"),
        )
    };
    match v {
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) => Ok(i),
            None => {
                let text = n.to_string();
                let (int, frac) = text.split_once('.').ok_or_else(bad)?;
                if frac.bytes().all(|b| b == b'0') {
                    int.parse().map_err(|_| bad())
                } else {
                    Err(bad())
                }
            }
        },
        None | Some(Value::Null) => Ok(0),
        Some(_) => Err(bad()),
    }
}

impl Token {
    /// A token request's person and amount (cash-in: `identification`; cash-out:
    /// `documentNumber`; `email` and `phoneNumber` optional, as Kushki documents).
    pub fn from_request(v: &Value, kind: OrderKind, now: Timestamp) -> Result<Token, KushkiError> {
        let document_number = match kind {
            OrderKind::Collection => field(v, "identification")?,
            OrderKind::Payout => field(v, "documentNumber")?,
        };
        if field(v, "currency")? != "COP" {
            return Err(KushkiError::body("currency: only COP"));
        }
        Ok(Token {
            kind,
            name: field(v, "name")?,
            last_name: field(v, "lastName")?,
            document_type: field(v, "documentType")?,
            document_number,
            total_amount: pesos(v.get("totalAmount"), "totalAmount")?,
            issued_ms: now.as_millisecond(),
        })
    }

    /// `{hex payload}.{hex HMAC(secret, hex payload)}`.
    pub fn seal(&self, secret: &str) -> String {
        let payload = hex::encode(serde_json::to_string(self).unwrap_or_default());
        let tag = hex::encode(hmac(secret, &[payload.as_bytes()]));
        format!("{payload}.{tag}")
    }

    /// The token sealed with `secret`, if it is one.
    pub fn open(text: &str, secret: &str) -> Result<Token, KushkiError> {
        let (payload, tag) = text
            .split_once('.')
            .ok_or_else(|| KushkiError::token("format"))?;
        let expected = hex::encode(hmac(secret, &[payload.as_bytes()]));
        if !bool::from(expected.as_bytes().ct_eq(tag.as_bytes())) {
            return Err(KushkiError::token("unknown token"));
        }
        let bytes = hex::decode(payload).map_err(|_| KushkiError::token("format"))?;
        serde_json::from_slice(&bytes).map_err(|_| KushkiError::token("format"))
    }
}

/// Kushki's document type as ours: `CC`, `NIT`, `CE`, `TI`, `PP` (passport).
fn document(kind: &str, number: &str) -> Result<Document, KushkiError> {
    let kind = match kind {
        "CC" => DocumentType::Cc,
        "NIT" => DocumentType::Nit,
        "CE" => DocumentType::Ce,
        "TI" => DocumentType::Ti,
        "PP" => DocumentType::Pa,
        other => return Err(KushkiError::body(&format!("documentType {other:?}"))),
    };
    Document::parse(kind, number).map_err(|e| KushkiError::body(&format!("document: {e}")))
}

/// An init's body into the engine's create; the sandbox decline applied.
pub fn create(
    state: &mut State,
    merchant: &MerchantConfig,
    v: &Value,
    kind: OrderKind,
    now: Timestamp,
) -> Result<Created, KushkiError> {
    let token_text = field(v, "token")?;
    let token = Token::open(&token_text, &merchant.secret)?;
    if token.kind != kind {
        return Err(KushkiError::token("a token of the other kind"));
    }
    if now.as_millisecond() - token.issued_ms > TOKEN_VALIDITY_SECONDS * 1_000 {
        return Err(KushkiError::token("expired"));
    }
    let parts = v
        .get("amount")
        .ok_or_else(|| KushkiError::body("amount is required"))?;
    let mut total = 0i64;
    for part in ["subtotalIva", "subtotalIva0", "iva"] {
        total = total.saturating_add(pesos(parts.get(part), part)?);
    }
    if total != token.total_amount {
        return Err(KushkiError::new(
            StatusCode::BAD_REQUEST,
            "C006",
            "El monto no coincide con el del token",
        ));
    }
    let amount = Amount::new(total).map_err(|_| {
        KushkiError::of(
            SimError::AmountOutOfRange {
                min: 1,
                max: i64::MAX,
                got: total,
            },
            kind,
        )
    })?;
    let expires_in_seconds = match v.get("expirationDate") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => {
            let at = DateTime::strptime(EXPIRATION_FORMAT, text)
                .ok()
                .and_then(|d| d.to_zoned_datetime(TimeZone::UTC).ok())
                .ok_or_else(|| {
                    KushkiError::new(
                        StatusCode::BAD_REQUEST,
                        "C017",
                        "Fecha de expiración inválida",
                    )
                })?;
            Some(at.timestamp().as_second() - now.as_second())
        }
        Some(_) => {
            return Err(KushkiError::new(
                StatusCode::BAD_REQUEST,
                "C017",
                "Fecha de expiración inválida",
            ));
        }
    };
    let metadata = v.get("metadata");
    let reference = metadata
        .and_then(|m| m.get("reference"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        // Kushki needs no reference of ours: the token stands in.
        .unwrap_or_else(|| format!("kushki-{}", token_text.get(..24).unwrap_or(&token_text)));
    let network = match (
        kind,
        metadata
            .and_then(|m| m.get("network"))
            .and_then(Value::as_str),
    ) {
        (OrderKind::Collection, Some("sured")) => "sured",
        _ => "efecty",
    };
    let callback_url = v
        .get("webhooks")
        .and_then(|w| w.get(0))
        .and_then(|w| w.get("urls"))
        .and_then(|u| u.get(0))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let party = PartyInput {
        name: Some(format!("{} {}", token.name, token.last_name)),
        document: Some(document(&token.document_type, &token.document_number)?),
    };
    let created = match kind {
        OrderKind::Collection => state.create_collection(
            &merchant.id,
            CreateCollection {
                network: Some(network.into()),
                reference,
                amount,
                currency: Some("COP".into()),
                customer: Some(party),
                expires_in_seconds,
                callback_url,
                test_clock: None,
                dialect: DIALECT,
            },
            now,
        ),
        OrderKind::Payout => state.create_payout(
            &merchant.id,
            CreatePayout {
                network: Some(network.into()),
                reference,
                amount,
                currency: Some("COP".into()),
                beneficiary: party,
                expires_in_seconds,
                callback_url,
                test_clock: None,
                dialect: DIALECT,
            },
            now,
        ),
    }
    .map_err(|e| KushkiError::of(e, kind))?;
    if token.document_number == MAGIC_DECLINED_IDENTIFICATION && !created.replayed {
        let order = state
            .cancel(&merchant.id, kind, &created.order.id, now)
            .map_err(|e| KushkiError::of(e, kind))?;
        return Ok(Created {
            order,
            replayed: false,
        });
    }
    Ok(created)
}

/// The answer to an init: `{pin, ticketNumber, pdfUrl, …}`.
pub fn init_answer(created: &Created) -> Value {
    let order = &created.order;
    let pdf = format!("https://sim.kushki.invalid/pdf/{}", order.id);
    match order.kind {
        OrderKind::Collection => json!({
            "pin": order.code,
            "ticketNumber": order.id,
            "pdfUrl": pdf,
            "transactionReference": format!("sim-{}", order.id),
            // Kushki's barcode data comes without the parentheses of the application
            // identifiers (D20: "4150000000054244802015549183763900100009620190417").
            "getPinBarCode": order.barcode_data.as_deref().map(|d| d.replace(['(', ')'], "")),
            "agreementNumber": order.agreement_code,
            "agreementDetails": [{
                order.network.as_str(): [{
                    "agreementNumber": order.agreement_code,
                    "processorName": "Simulator",
                }],
            }],
        }),
        OrderKind::Payout => json!({
            "pin": order.code,
            "ticketNumber": order.id,
            "pdfUrl": pdf,
        }),
    }
}

/// An order as Kushki's status answer and webhooks show it.
pub fn order_json(order: &Order, merchant: &MerchantConfig) -> Value {
    let name = order.party.name.clone().unwrap_or_default();
    let (first, last) = name.split_once(' ').unwrap_or((&name, ""));
    let (document_type, document_number) = order
        .party
        .document
        .as_ref()
        .map(|d| {
            let kind = match d.kind() {
                DocumentType::Pa => "PP",
                other => other.as_str(),
            };
            (kind.to_owned(), d.number().to_owned())
        })
        .unwrap_or_default();
    let mut v = json!({
        "ticketNumber": order.id,
        "pin": order.code,
        "totalAmount": order.amount.minor(),
        "amount": {"subtotalIva": 0, "subtotalIva0": order.amount.minor(), "iva": 0},
        "currency": "COP",
        "created": order.created_at.as_millisecond(),
        "expiration": order.expires_at.as_millisecond(),
        "metadata": {"reference": order.reference, "network": order.network},
        "name": first,
        "lastName": last,
        "documentType": document_type,
        "merchantName": merchant.id,
        "processorName": "Simulator",
        "paymentMethod": "cash",
        "country": "Colombia",
    });
    if let Value::Object(map) = &mut v {
        let number = Value::String(document_number);
        match order.kind {
            OrderKind::Collection => {
                map.insert("status".into(), json!(state_of(order.status)));
                map.insert("identification".into(), number);
                map.insert("transactionType".into(), json!("SALE"));
            }
            OrderKind::Payout => {
                // Kushki's cash-out names its state `transactionStatus`.
                map.insert("transactionStatus".into(), json!(state_of(order.status)));
                map.insert("documentNumber".into(), number);
                map.insert("transactionType".into(), json!("PAYOUT"));
            }
        }
        if let (OrderStatus::Paid, Some(paid_at)) = (order.status, order.paid_at) {
            map.insert("completedAt".into(), json!(paid_at.as_millisecond()));
            map.insert(
                "processorAuthorizationNumber".into(),
                json!(order.paid_attempt_id),
            );
        }
    }
    v
}

/// When an order closed, if it did.
fn closed_at(order: &Order) -> Option<Timestamp> {
    match order.status {
        OrderStatus::Paid => order.paid_at,
        OrderStatus::Expired => order.expired_at,
        OrderStatus::Canceled => order.canceled_at,
        OrderStatus::Pending | OrderStatus::Available | OrderStatus::Locked => None,
    }
}

/// The transactions report of a Bogotá day: the merchant's Kushki orders closed that day.
pub fn report_csv(state: &State, merchant_id: &str, date: Date) -> Result<String, KushkiError> {
    let mut orders: Vec<(Timestamp, &Order)> = state
        .all_orders()
        .filter(|o| o.merchant_id == merchant_id && o.dialect == DIALECT)
        .filter_map(|o| closed_at(o).map(|t| (t, o)))
        .filter(|(t, _)| bogota_date(*t) == date)
        .collect();
    orders.sort_by(|a, b| (a.0, &a.1.id).cmp(&(b.0, &b.1.id)));
    let failed =
        |e: csv::Error| KushkiError::new(StatusCode::INTERNAL_SERVER_ERROR, "C002", &e.to_string());
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record([
            "ticketNumber",
            "transactionType",
            "transactionStatus",
            "pin",
            "reference",
            "currency",
            "totalAmount",
            "completedAt",
        ])
        .map_err(failed)?;
    for (_, order) in orders {
        let completed = match order.status {
            OrderStatus::Paid => order.paid_at.map(|t| t.as_millisecond().to_string()),
            _ => None,
        };
        writer
            .write_record([
                order.id.as_str(),
                match order.kind {
                    OrderKind::Collection => "SALE",
                    OrderKind::Payout => "PAYOUT",
                },
                state_of(order.status),
                order.code.as_str(),
                order.reference.as_str(),
                "COP",
                &order.amount.minor().to_string(),
                completed.as_deref().unwrap_or_default(),
            ])
            .map_err(failed)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| KushkiError::new(StatusCode::INTERNAL_SERVER_ERROR, "C002", &e.to_string()))?;
    String::from_utf8(bytes)
        .map_err(|e| KushkiError::new(StatusCode::INTERNAL_SERVER_ERROR, "C002", &e.to_string()))
}
