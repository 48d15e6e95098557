//! The counter side as JSON: the directory, paying vouchers, collecting payouts, attempts.
//! Unsigned: it stands for what happens physically at a counter.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use cajero_domain::Amount;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::error::ApiError;
use crate::engine::{CounterResult, SimError};
use crate::sim::Sim;
use crate::views::{AttemptView, CounterView, OrderView, order_view};

/// Directory filter.
#[derive(Debug, Deserialize)]
pub struct CounterQuery {
    /// Only this network.
    pub network: Option<String>,
    /// Only this city (accents and case ignored).
    pub city: Option<String>,
    /// `open_now` at this test clock's time instead of the network's.
    pub test_clock: Option<String>,
}

/// `GET /counter/v1/counters?network=&city=&test_clock=`.
pub async fn list_counters(
    State(sim): State<Arc<Sim>>,
    Query(q): Query<CounterQuery>,
) -> Result<Json<Value>, ApiError> {
    let data = sim
        .run(|state, _| {
            let now = state.clock_now(q.test_clock.as_deref());
            state
                .counters(q.network.as_deref(), q.city.as_deref())
                .into_iter()
                .filter_map(|c| {
                    let profile = state.profile(&c.network).ok()?;
                    Some(CounterView::new(profile, c, now))
                })
                .collect::<Vec<_>>()
        })
        .await?;
    Ok(Json(json!({"object": "list", "data": data})))
}

/// `GET /counter/v1/counters/{id}`.
pub async fn get_counter(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
) -> Result<Json<CounterView>, ApiError> {
    let view = sim
        .run(|state, now| {
            let counter = state.counter(&id).ok_or(SimError::UnknownCounter)?;
            let profile = state.profile(&counter.network)?;
            Ok::<_, SimError>(CounterView::new(profile, counter, now))
        })
        .await??;
    Ok(Json(view))
}

/// `POST /counter/v1/pay`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayRequest {
    /// Where.
    pub counter_id: String,
    /// Payment code as typed.
    pub code: String,
    /// Cash handed over, COP.
    pub amount: Amount,
}

/// `POST /counter/v1/collect`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectRequest {
    /// Where.
    pub counter_id: String,
    /// Pick-up code as typed.
    pub code: String,
    /// Document number shown by the beneficiary.
    pub document_number: String,
}

/// What a counter operation answers (always 200: the attempt happened).
#[derive(Debug, Clone, Serialize)]
pub struct CounterAnswer {
    /// Whether money moved.
    pub approved: bool,
    /// The outcome code.
    pub outcome: &'static str,
    /// For the cashier, in Spanish.
    pub message: &'static str,
    /// The attempt recorded.
    pub attempt: AttemptView,
    /// The order concerned, when identified.
    pub order: Option<OrderView>,
    /// Payouts: the name to check against the document (shown to the cashier).
    pub beneficiary_name: Option<String>,
}

fn answer(state: &crate::engine::State, result: &CounterResult) -> CounterAnswer {
    let outcome = result.attempt.outcome;
    CounterAnswer {
        approved: outcome == crate::model::Outcome::Approved,
        outcome: outcome.code(),
        message: outcome.spanish(),
        attempt: AttemptView::from(&result.attempt),
        order: result.order.as_ref().map(|o| order_view(state, o)),
        beneficiary_name: result
            .order
            .as_ref()
            .filter(|o| o.kind == crate::model::OrderKind::Payout)
            .and_then(|o| o.party.name.clone()),
    }
}

/// Pays a voucher at a counter.
pub async fn pay_at(sim: &Sim, req: PayRequest) -> Result<CounterAnswer, ApiError> {
    Ok(sim
        .run(|state, now| {
            state
                .pay(&req.counter_id, &req.code, req.amount, now)
                .map(|r| answer(state, &r))
        })
        .await??)
}

/// Collects a payout at a counter.
pub async fn collect_at(sim: &Sim, req: CollectRequest) -> Result<CounterAnswer, ApiError> {
    Ok(sim
        .run(|state, now| {
            state
                .collect(&req.counter_id, &req.code, &req.document_number, now)
                .map(|r| answer(state, &r))
        })
        .await??)
}

/// `POST /counter/v1/pay`.
pub async fn pay(
    State(sim): State<Arc<Sim>>,
    Json(req): Json<PayRequest>,
) -> Result<Json<CounterAnswer>, ApiError> {
    Ok(Json(pay_at(&sim, req).await?))
}

/// `POST /counter/v1/collect`.
pub async fn collect(
    State(sim): State<Arc<Sim>>,
    Json(req): Json<CollectRequest>,
) -> Result<Json<CounterAnswer>, ApiError> {
    Ok(Json(collect_at(&sim, req).await?))
}

/// Attempts filter.
#[derive(Debug, Deserialize)]
pub struct AttemptQuery {
    /// Only attempts on this order.
    pub order_id: Option<String>,
    /// Only attempts at this counter.
    pub counter_id: Option<String>,
}

/// `GET /counter/v1/attempts?order_id=&counter_id=`, newest first.
pub async fn list_attempts(
    State(sim): State<Arc<Sim>>,
    Query(q): Query<AttemptQuery>,
) -> Result<Json<Value>, ApiError> {
    let data = sim
        .run(|state, _| {
            state
                .attempts(q.order_id.as_deref(), q.counter_id.as_deref())
                .into_iter()
                .map(AttemptView::from)
                .collect::<Vec<_>>()
        })
        .await?;
    Ok(Json(json!({"object": "list", "data": data})))
}
