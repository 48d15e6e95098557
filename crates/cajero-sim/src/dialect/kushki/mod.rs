//! The Kushki dialect: cash-in (`/cash/v1/…`) and cash-out (`/payouts/cash/v1/…`) as Kushki
//! speaks them, under `/kushki`, over the one engine.
//!
//! - Authentication as Kushki's: tokens with `Public-Merchant-Id`, everything else with
//!   `Private-Merchant-Id`; the merchant is the one whose `[merchants.kushki]` credentials match
//!   (compared in constant time). Unknown or missing: HTTP 401 `C004`.
//! - A token is stateless here: the person and the amount, signed with the merchant's simulator
//!   secret, valid 30 minutes of simulated time (Kushki: 30 min, single use — single use is not
//!   enforced; the engine's reference deduplication answers a repeated init instead).
//! - An init becomes the engine's `CreateCollection`/`CreatePayout` (cash-out at the engine's
//!   `efecty` network), reference from `metadata.reference`, callbacks to `webhooks[0].urls[0]`,
//!   validity `expirationDate` − the simulated now; the ticket number is the engine's order id.
//! - Status answers and webhooks in Kushki's bodies (`status` for cash-in, `transactionStatus`
//!   for cash-out),
//!   signed `X-Kushki-Signature = hex(HMAC-SHA256(webhook signature key, body + "." +
//!   X-Kushki-Id))`, `X-Kushki-Id` the host's Unix seconds, for approved and expired orders
//!   (Kushki notifies no deletion and no counter attempt) and declined ones.
//! - Sandbox magic: identification `1000000000` is declined right after the init (a
//!   `declinedTransaction` webhook); `9999999999` stays initialized — nothing to do here, since
//!   only a counter (or the autopilot, off by default) pays an order.
//! - Not Kushki's, marked as assumptions in `docs/networks.md`: the lookups by our reference
//!   (`GET …/status/by-reference/{reference}`) and the transactions report
//!   (`GET /cash/v1/reports/transactions?date=&format=csv`).

mod wire;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use subtle::ConstantTimeEq;

use super::{Change, Dialect};
use crate::config::MerchantConfig;
use crate::engine::{SimError, State as Engine};
use crate::model::{OrderKind, OrderStatus};
use crate::sim::Sim;

pub use wire::{KushkiError, sign_webhook};
use wire::{Token, order_json};

/// Sandbox identification whose charge Kushki declines (gateway-apis.md D20).
pub const MAGIC_DECLINED_IDENTIFICATION: &str = "1000000000";
/// Sandbox identification whose charge stays initialized.
pub const MAGIC_INITIALIZED_IDENTIFICATION: &str = "9999999999";
/// A token lives 30 minutes (D20, D32).
pub const TOKEN_VALIDITY_SECONDS: i64 = 30 * 60;

/// A merchant's Kushki credentials at the simulator (`[merchants.kushki]`).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// `Public-Merchant-Id` (tokens).
    pub public_merchant_id: String,
    /// `Private-Merchant-Id` (inits, status, delete, report).
    pub private_merchant_id: String,
    /// The console's "webhook signature" key, that signs webhooks.
    pub webhook_secret: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").finish_non_exhaustive()
    }
}

/// The callback Kushki sends for `change`, if any.
pub fn callback_body(change: &Change<'_>) -> Option<String> {
    let order = change.order;
    let declined_magic = order
        .party
        .document
        .as_ref()
        .is_some_and(|d| d.number() == MAGIC_DECLINED_IDENTIFICATION);
    match change.suffix {
        "paid" | "expired" => {}
        "canceled" if declined_magic => {}
        _ => return None,
    }
    let mut body = order_json(order, change.merchant);
    if let Value::Object(map) = &mut body {
        map.insert(
            "merchantId".into(),
            Value::String(change.merchant.id.clone()),
        );
        map.insert("transactionId".into(), Value::String(change.id.to_owned()));
    }
    Some(body.to_string())
}

/// The headers Kushki sends a callback with: `X-Kushki-Key` (the merchant), `X-Kushki-Id` (host
/// Unix seconds) and `X-Kushki-Signature`.
pub fn callback_headers(
    merchant: &MerchantConfig,
    _id: &str,
    body: &str,
    now: Timestamp,
) -> Vec<(String, String)> {
    let Some(credentials) = &merchant.kushki else {
        return Vec::new();
    };
    let id = now.as_second().to_string();
    vec![
        ("x-kushki-key".into(), merchant.id.clone()),
        (
            "x-kushki-signature".into(),
            sign_webhook(&credentials.webhook_secret, body.as_bytes(), &id),
        ),
        ("x-kushki-id".into(), id),
    ]
}

/// Kushki's routes, nested under `/kushki`.
pub fn routes() -> Router<Arc<Sim>> {
    Router::new()
        .route("/cash/v1/tokens", post(cash_in_token))
        .route("/cash/v1/charges/init", post(cash_in_init))
        .route("/cash/v1/status/{ticket}", get(cash_in_status))
        .route(
            "/cash/v1/status/by-reference/{reference}",
            get(cash_in_by_reference),
        )
        .route("/cash/v1/charges/{ticket}", delete(cash_in_delete))
        .route("/payouts/cash/v1/tokens", post(cash_out_token))
        .route("/payouts/cash/v1/init", post(cash_out_init))
        .route("/payouts/cash/v1/status/{ticket}", get(cash_out_status))
        .route(
            "/payouts/cash/v1/status/by-reference/{reference}",
            get(cash_out_by_reference),
        )
        .route("/payouts/cash/v1/charges/{ticket}", delete(cash_out_delete))
        .route("/cash/v1/reports/transactions", get(report))
}

type Answer = Result<Response, KushkiError>;

/// Which credential header a route wants.
#[derive(Debug, Clone, Copy)]
enum Key {
    Public,
    Private,
}

/// The merchant whose Kushki credential of `key` is in `headers`.
fn merchant_of(
    state: &Engine,
    headers: &HeaderMap,
    key: Key,
) -> Result<MerchantConfig, KushkiError> {
    let name = match key {
        Key::Public => "public-merchant-id",
        Key::Private => "private-merchant-id",
    };
    let given = headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .ok_or(KushkiError::credentials())?;
    state
        .merchants
        .values()
        .map(|m| &m.config)
        .find(|m| {
            m.kushki.as_ref().is_some_and(|c| {
                let expected = match key {
                    Key::Public => &c.public_merchant_id,
                    Key::Private => &c.private_merchant_id,
                };
                bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
            })
        })
        .cloned()
        .ok_or(KushkiError::credentials())
}

fn json_of(body: &Bytes) -> Result<Value, KushkiError> {
    serde_json::from_slice(body).map_err(|e| KushkiError::body(&e.to_string()))
}

async fn token(sim: &Sim, headers: HeaderMap, body: Bytes, kind: OrderKind) -> Answer {
    let v = json_of(&body)?;
    let token = sim
        .run(move |state, now| {
            let merchant = merchant_of(state, &headers, Key::Public)?;
            let token = Token::from_request(&v, kind, now)?;
            Ok::<_, KushkiError>(token.seal(&merchant.secret))
        })
        .await??;
    Ok(axum::Json(serde_json::json!({ "token": token })).into_response())
}

async fn cash_in_token(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes) -> Answer {
    token(&sim, headers, body, OrderKind::Collection).await
}

async fn cash_out_token(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes) -> Answer {
    token(&sim, headers, body, OrderKind::Payout).await
}

async fn cash_in_init(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes) -> Answer {
    init(&sim, headers, body, OrderKind::Collection).await
}

async fn cash_out_init(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes) -> Answer {
    init(&sim, headers, body, OrderKind::Payout).await
}

/// An init: the create faults, the engine's create, the magic decline, Kushki's answer.
async fn init(sim: &Sim, headers: HeaderMap, body: Bytes, kind: OrderKind) -> Answer {
    let v = json_of(&body)?;
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
        return Err(KushkiError::from(SimError::NetworkUnavailable));
    }
    let answer = sim
        .run(move |state, now| {
            let merchant = merchant_of(state, &headers, Key::Private)?;
            let created = wire::create(state, &merchant, &v, kind, now)?;
            Ok::<_, KushkiError>(wire::init_answer(&created))
        })
        .await??;
    if hang {
        tokio::time::sleep(Duration::from_millis(timeout_ms)).await;
        return Err(KushkiError::timeout());
    }
    Ok(axum::Json(answer).into_response())
}

/// A status answer by ticket number or by our reference.
async fn status(
    sim: &Sim,
    headers: HeaderMap,
    kind: OrderKind,
    ticket: Option<String>,
    reference: Option<String>,
) -> Answer {
    let v = sim
        .run(move |state, _| {
            let merchant = merchant_of(state, &headers, Key::Private)?;
            let order = match (&ticket, &reference) {
                (Some(t), _) => state.order(&merchant.id, kind, t),
                (None, Some(r)) => state.order_by_reference(&merchant.id, kind, r),
                (None, None) => Err(SimError::NotFound),
            }
            .map_err(|e| KushkiError::of(e, kind))?;
            Ok::<_, KushkiError>(order_json(order, &merchant))
        })
        .await??;
    Ok(axum::Json(v).into_response())
}

async fn cash_in_status(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(ticket): Path<String>,
) -> Answer {
    status(&sim, headers, OrderKind::Collection, Some(ticket), None).await
}

async fn cash_out_status(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(ticket): Path<String>,
) -> Answer {
    status(&sim, headers, OrderKind::Payout, Some(ticket), None).await
}

async fn cash_in_by_reference(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> Answer {
    status(&sim, headers, OrderKind::Collection, None, Some(reference)).await
}

async fn cash_out_by_reference(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> Answer {
    status(&sim, headers, OrderKind::Payout, None, Some(reference)).await
}

/// `DELETE …/charges/{ticket}`: cancels an open charge. Kushki answers a cash-in delete with
/// 201 and `{}`, a cash-out delete with 204 (D20, D32).
async fn remove(sim: &Sim, headers: HeaderMap, kind: OrderKind, ticket: String) -> Answer {
    sim.run(move |state, now| {
        let merchant = merchant_of(state, &headers, Key::Private)?;
        state
            .cancel(&merchant.id, kind, &ticket, now)
            .map_err(|e| KushkiError::of(e, kind))
    })
    .await??;
    Ok(match kind {
        OrderKind::Collection => {
            (StatusCode::CREATED, axum::Json(serde_json::json!({}))).into_response()
        }
        OrderKind::Payout => StatusCode::NO_CONTENT.into_response(),
    })
}

async fn cash_in_delete(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(ticket): Path<String>,
) -> Answer {
    remove(&sim, headers, OrderKind::Collection, ticket).await
}

async fn cash_out_delete(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(ticket): Path<String>,
) -> Answer {
    remove(&sim, headers, OrderKind::Payout, ticket).await
}

/// Query of the report.
#[derive(Debug, Deserialize)]
struct ReportQuery {
    date: String,
    #[serde(default)]
    format: Option<String>,
}

/// `GET /cash/v1/reports/transactions?date=YYYY-MM-DD&format=csv` (assumed; see the module
/// documentation): the merchant's Kushki orders closed on that Bogotá day.
async fn report(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Query(query): Query<ReportQuery>,
) -> Answer {
    if query.format.as_deref().is_some_and(|f| f != "csv") {
        return Err(KushkiError::body("format: only csv"));
    }
    let date: jiff::civil::Date = query
        .date
        .parse()
        .map_err(|_| KushkiError::body("date: expected YYYY-MM-DD"))?;
    let text = sim
        .run(move |state, _| {
            let merchant = merchant_of(state, &headers, Key::Private)?;
            wire::report_csv(state, &merchant.id, date)
        })
        .await??;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], text).into_response())
}

impl From<crate::store::StoreError> for KushkiError {
    fn from(_: crate::store::StoreError) -> KushkiError {
        KushkiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "C002",
            "Ha ocurrido un error inesperado",
        )
    }
}

impl From<SimError> for KushkiError {
    fn from(e: SimError) -> KushkiError {
        KushkiError::of(e, OrderKind::Collection)
    }
}

/// The dialect an init's order is created in.
const DIALECT: Dialect = Dialect::Kushki;

/// Kinds of engine status as Kushki's states.
fn state_of(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Pending | OrderStatus::Available | OrderStatus::Locked => {
            "initializedTransaction"
        }
        OrderStatus::Paid => "approvedTransaction",
        OrderStatus::Expired => "expiredTransaction",
        OrderStatus::Canceled => "declinedTransaction",
    }
}

#[cfg(test)]
mod tests;
