//! dLocal's endpoints: authentication as dLocal does it, dLocal's request and answer shapes,
//! and its error bodies (`{"code": 5009, "message": "…", "param": "…"}`) over the one engine.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use cajero_domain::Amount;
use cajero_domain::calendar::{bogota_date, next_business_day};
use cajero_domain::document::{Document, DocumentType};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Deserialize;
use serde_json::{Number, json};
use subtle::ConstantTimeEq;

use super::{Credentials, EFECTY_METHOD, NETWORK, SCHEME, payment_json, signature};
use crate::dialect::Dialect;
use crate::engine::{CreateCollection, PartyInput, SimError, State as Engine};
use crate::model::{OrderKind, OrderStatus};
use crate::sim::Sim;

/// dLocal's shortest and longest payer document in Colombia ("CC o NIT", 6–11 digits).
const DOCUMENT_DIGITS: (usize, usize) = (6, 11);
/// The only API version served.
const API_VERSION: &str = "2.1";

pub(super) fn routes() -> Router<Arc<Sim>> {
    Router::new()
        .route("/payments", post(create))
        .route("/payments/{id}", get(payment))
        .route("/payments/{id}/status", get(payment_status))
        .route("/payments/{id}/cancel", post(cancel))
        .route("/orders/{order_id}", get(order))
        .route("/reports/settlement", get(settlement_report))
        .route("/refunds", post(super::refunds::create))
        .route("/refunds/{id}", get(super::refunds::get))
}

/// A refused request, as dLocal answers it.
#[derive(Debug)]
pub(super) struct DlocalError {
    status: StatusCode,
    code: u32,
    message: String,
    param: Option<&'static str>,
}

pub(super) fn fail(status: StatusCode, code: u32, message: impl Into<String>) -> DlocalError {
    DlocalError {
        status,
        code,
        message: message.into(),
        param: None,
    }
}

pub(super) fn invalid(param: &'static str, message: impl Into<String>) -> DlocalError {
    DlocalError {
        param: Some(param),
        ..fail(StatusCode::BAD_REQUEST, 5001, message)
    }
}

fn credentials_refused() -> DlocalError {
    fail(StatusCode::FORBIDDEN, 3001, "Invalid credentials.")
}

fn internal() -> DlocalError {
    fail(
        StatusCode::INTERNAL_SERVER_ERROR,
        7000,
        "Failed to process the request.",
    )
}

impl IntoResponse for DlocalError {
    fn into_response(self) -> Response {
        let mut body = json!({"code": self.code, "message": self.message});
        if let Some(param) = self.param {
            body["param"] = json!(param);
        }
        (self.status, Json(body)).into_response()
    }
}

impl From<crate::store::StoreError> for DlocalError {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "dLocal dialect: the store failed");
        internal()
    }
}

/// The engine's refusal in dLocal's words.
impl From<SimError> for DlocalError {
    fn from(e: SimError) -> Self {
        let bad = StatusCode::BAD_REQUEST;
        match e {
            SimError::UnknownMerchant => credentials_refused(),
            SimError::NotFound | SimError::UnknownCounter => {
                fail(StatusCode::NOT_FOUND, 4000, "Payment not found.")
            }
            SimError::InvalidRequest { param, message } => invalid(param, message),
            SimError::AmountOutOfRange { min, got, .. } if got < min => {
                fail(bad, 5016, "Amount too low.")
            }
            SimError::AmountOutOfRange { .. } => fail(bad, 5007, "Amount exceeded."),
            SimError::ValidityOutOfRange { .. } | SimError::UnknownNetwork(_) => {
                fail(bad, 5000, "Invalid request.")
            }
            SimError::BeneficiaryRejected => fail(bad, 5014, "User blacklisted."),
            SimError::NetworkDiscontinued { .. } => fail(bad, 5010, "Method not available."),
            SimError::ReferenceConflict { .. } => fail(bad, 5009, "Order ID is duplicated."),
            SimError::NotCancelable { .. } => fail(bad, 5002, "Invalid transaction status."),
            SimError::NetworkUnavailable
            | SimError::NetworkDown { .. }
            | SimError::CodeSpaceExhausted => internal(),
        }
    }
}

pub(super) type Answer = Result<Response, DlocalError>;

fn header_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The merchant whose dLocal credentials signed this request, after the latency fault.
pub(super) async fn authenticate(
    sim: &Sim,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<String, DlocalError> {
    let login = header_value(headers, "x-login").ok_or_else(credentials_refused)?;
    let trans_key = header_value(headers, "x-trans-key").ok_or_else(credentials_refused)?;
    let date = header_value(headers, "x-date").ok_or_else(credentials_refused)?;
    let authorization = header_value(headers, "authorization").ok_or_else(credentials_refused)?;
    if header_value(headers, "x-version").is_some_and(|v| v != API_VERSION) {
        return Err(fail(StatusCode::BAD_REQUEST, 5017, "Invalid API version."));
    }
    let sent_at: Timestamp = date.parse().map_err(|_| credentials_refused())?;
    let tolerance = sim.config().signature_tolerance_seconds;
    let skew = Timestamp::now()
        .as_second()
        .saturating_sub(sent_at.as_second());
    if skew.unsigned_abs() > tolerance {
        return Err(credentials_refused());
    }
    let (merchant, latency_ms) = sim
        .run(|state, _| {
            let merchant = state.merchants.values().find_map(|m| {
                let credentials = m.config.dlocal.as_ref()?;
                (credentials.login == login).then(|| (m.config.id.clone(), credentials.clone()))
            });
            (merchant, state.faults().latency_ms)
        })
        .await?;
    let (merchant_id, credentials): (String, Credentials) =
        merchant.ok_or_else(credentials_refused)?;
    let expected = format!(
        "{SCHEME}, Signature: {}",
        signature(&credentials.secret_key, login, date, body)
    );
    let key_ok = bool::from(credentials.trans_key.as_bytes().ct_eq(trans_key.as_bytes()));
    let signature_ok = bool::from(expected.as_bytes().ct_eq(authorization.as_bytes()));
    if !(key_ok && signature_ok) {
        return Err(credentials_refused());
    }
    if latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(latency_ms)).await;
    }
    Ok(merchant_id)
}

/// `POST /payments` as dLocal takes it (only what a cash ticket needs).
#[derive(Debug, Deserialize)]
struct PaymentRequest {
    amount: Number,
    currency: String,
    country: String,
    payment_method_id: Option<String>,
    payment_method_flow: String,
    payer: PayerRequest,
    order_id: String,
    #[serde(default)]
    notification_url: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PayerRequest {
    name: Option<String>,
    document: Option<String>,
}

/// Whole pesos from a JSON number (`10000` or `10000.00`).
pub(super) fn whole_pesos(number: &Number) -> Option<i64> {
    if let Some(n) = number.as_i64() {
        return Some(n);
    }
    let text = number.to_string();
    let (int, fraction) = text.split_once('.')?;
    fraction
        .bytes()
        .all(|b| b == b'0')
        .then(|| int.parse().ok())?
}

/// The payer's document: a CC, or a NIT when it is ten digits with a valid check digit.
fn payer_document(number: &str) -> Result<Document, DlocalError> {
    let (min, max) = DOCUMENT_DIGITS;
    if !(min..=max).contains(&number.len()) || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("payer.document", format!("{min} to {max} digits")));
    }
    Document::parse(DocumentType::Cc, number)
        .or_else(|_| Document::parse(DocumentType::Nit, number))
        .map_err(|e| invalid("payer.document", e.to_string()))
}

fn collection_of(req: PaymentRequest) -> Result<(CreateCollection, Option<u16>), DlocalError> {
    if req.country != "CO" {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            5003,
            "Country not supported.",
        ));
    }
    if req.currency != "COP" {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            5004,
            "Currency not allowed for this country.",
        ));
    }
    if req.payment_method_id.as_deref() != Some(EFECTY_METHOD)
        || req.payment_method_flow != "DIRECT"
    {
        return Err(fail(StatusCode::BAD_REQUEST, 5010, "Method not available."));
    }
    let amount = whole_pesos(&req.amount)
        .and_then(|p| Amount::new(p).ok())
        .ok_or_else(|| invalid("amount", "COP has no decimals"))?;
    let name = req
        .payer
        .name
        .ok_or_else(|| invalid("payer.name", "required"))?;
    let document = req
        .payer
        .document
        .ok_or_else(|| invalid("payer.document", "required"))?;
    let document = payer_document(document.trim())?;
    let forced = req
        .description
        .as_deref()
        .and_then(|d| d.trim().parse::<u16>().ok());
    let create = CreateCollection {
        network: Some(NETWORK.into()),
        reference: req.order_id,
        amount,
        currency: Some("COP".into()),
        customer: Some(PartyInput {
            name: Some(name),
            document: Some(document),
        }),
        expires_in_seconds: None,
        callback_url: req.notification_url,
        test_clock: None,
        dialect: Dialect::Dlocal,
    };
    Ok((create, forced))
}

/// Creates the ticket, then applies a sandbox status forced by `description`.
fn create_in(
    state: &mut Engine,
    merchant_id: &str,
    create: CreateCollection,
    forced: Option<u16>,
    now: Timestamp,
) -> Result<serde_json::Value, SimError> {
    let created = state.create_collection(merchant_id, create, now)?;
    if created.replayed {
        // dLocal takes an order id once.
        return Err(SimError::ReferenceConflict {
            existing_id: created.order.id,
        });
    }
    let id = created.order.id.clone();
    let order = match forced {
        Some(200) => {
            let paid = state
                .close_order(&id, OrderStatus::Paid, now)
                .ok_or(SimError::NotFound)?;
            state.enqueue_callback(&paid, "paid", None, now);
            paid
        }
        Some(400) => state.cancel(merchant_id, OrderKind::Collection, &id, now)?,
        _ => created.order,
    };
    Ok(payment_json(&order))
}

/// `POST /payments`: an Efecty ticket (`EY`, `DIRECT`), with the create faults applied.
async fn create(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes) -> Answer {
    let merchant_id = authenticate(&sim, &headers, &body).await?;
    let req: PaymentRequest = serde_json::from_slice(&body).map_err(|e| {
        fail(
            StatusCode::BAD_REQUEST,
            5000,
            format!("Invalid request: {e}"),
        )
    })?;
    let (create, forced) = collection_of(req)?;
    let (unavailable, hang, timeout_ms) = sim
        .run(|state, _| {
            let faults = state.faults();
            (
                state.chance(faults.create_unavailable_bps),
                state.chance(faults.create_timeout_bps),
                faults.timeout_ms,
            )
        })
        .await?;
    if unavailable {
        return Err(internal());
    }
    let payment = sim
        .run(|state, now| create_in(state, &merchant_id, create, forced, now))
        .await??;
    if hang {
        tokio::time::sleep(Duration::from_millis(timeout_ms)).await;
        return Ok((StatusCode::GATEWAY_TIMEOUT, "gateway timeout").into_response());
    }
    Ok(Json(payment).into_response())
}

/// The payment object of the authenticated merchant's ticket that `find` picks.
async fn read_payment(
    sim: &Sim,
    headers: &HeaderMap,
    find: impl FnOnce(&Engine, &str) -> Result<serde_json::Value, SimError>,
) -> Result<serde_json::Value, DlocalError> {
    let merchant_id = authenticate(sim, headers, b"").await?;
    Ok(sim.run(|state, _| find(state, &merchant_id)).await??)
}

/// Picks the merchant's ticket with dLocal id `id`.
fn by_id(id: &str) -> impl FnOnce(&Engine, &str) -> Result<serde_json::Value, SimError> + '_ {
    move |state, merchant_id| {
        state
            .order(merchant_id, OrderKind::Collection, id)
            .map(payment_json)
    }
}

/// `GET /payments/{id}`.
async fn payment(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    let payment = read_payment(&sim, &headers, by_id(&id)).await?;
    Ok(Json(payment).into_response())
}

/// `GET /payments/{id}/status`.
async fn payment_status(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    let payment = read_payment(&sim, &headers, by_id(&id)).await?;
    let mut status = json!({"id": id});
    for field in ["status", "status_detail", "status_code"] {
        status[field] = payment[field].clone();
    }
    Ok(Json(status).into_response())
}

/// `POST /payments/{id}/cancel`: only a pending ticket; otherwise 5002.
async fn cancel(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let merchant_id = authenticate(&sim, &headers, &body).await?;
    let payment = sim
        .run(|state, now| {
            state
                .cancel(&merchant_id, OrderKind::Collection, &id, now)
                .map(|o| payment_json(&o))
        })
        .await??;
    Ok(Json(payment).into_response())
}

/// `GET /orders/{order_id}`: the order object of the merchant's `order_id`.
async fn order(
    State(sim): State<Arc<Sim>>,
    Path(order_id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    let payment = read_payment(&sim, &headers, |state, merchant_id| {
        state
            .order_by_reference(merchant_id, OrderKind::Collection, &order_id)
            .map(payment_json)
    })
    .await?;
    let mut order = json!({
        "order_id": payment["order_id"],
        "payment_id": payment["id"],
        "amount": payment["amount"],
        "currency": payment["currency"],
        "created_date": payment["created_date"],
        "status": payment["status"],
        "status_code": payment["status_code"],
        "status_detail": payment["status_detail"],
    });
    if let Some(approved) = payment.get("approved_date") {
        order["approved_date"] = approved.clone();
    }
    Ok(Json(order).into_response())
}

#[derive(Debug, Deserialize)]
struct ReportQuery {
    date: String,
}

/// `GET /reports/settlement?date=YYYY-MM-DD`: the merchant's tickets paid that Bogotá day, as
/// CSV, each settled the next business day.
async fn settlement_report(
    State(sim): State<Arc<Sim>>,
    Query(query): Query<ReportQuery>,
    headers: HeaderMap,
) -> Answer {
    let merchant_id = authenticate(&sim, &headers, b"").await?;
    let date: Date = query
        .date
        .parse()
        .map_err(|_| invalid("date", "expected YYYY-MM-DD"))?;
    let settles = next_business_day(date).map_err(|_| invalid("date", "out of range"))?;
    sim.run(|state, _| state.ensure_up(NETWORK)).await??;
    let rows = sim
        .run(|state, _| {
            let mut paid: Vec<_> = state
                .all_orders()
                .filter(|o| o.merchant_id == merchant_id && o.kind == OrderKind::Collection)
                .filter(|o| o.dialect == Dialect::Dlocal && o.status == OrderStatus::Paid)
                .filter(|o| o.paid_at.is_some_and(|t| bogota_date(t) == date))
                .map(payment_json)
                .collect();
            paid.sort_by(|a, b| {
                a["approved_date"]
                    .to_string()
                    .cmp(&b["approved_date"].to_string())
            });
            paid
        })
        .await?;
    let bytes = report_csv(&rows, settles).map_err(|_| internal())?;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], bytes).into_response())
}

/// The columns of the settlement report, as the connector reads them (its documentation in
/// docs/networks.md: the first three are the names public mappings of dLocal's report show).
const REPORT_COLUMNS: [&str; 10] = [
    "ROW_TYPE",
    "TRANSACTION_ID",
    "DLOCAL_TRANSACTION_ID",
    "PAYMENT_METHOD_ID",
    "CURRENCY",
    "AMOUNT",
    "FEE",
    "CREATION_DATE",
    "APPROVED_DATE",
    "SETTLEMENT_DATE",
];

/// One `PAYMENT` row a paid ticket (given as its payment object), settled on `settles`; no fee
/// (the simulator charges none).
fn report_csv(payments: &[serde_json::Value], settles: Date) -> Result<Vec<u8>, csv::Error> {
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(REPORT_COLUMNS)?;
    for p in payments {
        writer.write_record([
            "PAYMENT".to_owned(),
            text(&p["order_id"]),
            text(&p["id"]),
            text(&p["payment_method_id"]),
            text(&p["currency"]),
            text(&p["amount"]),
            String::new(),
            text(&p["created_date"]),
            text(&p["approved_date"]),
            settles.to_string(),
        ])?;
    }
    writer
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))
}
