//! `/v1/test_helpers/…` (test keys only): act through the simulated network — a customer paying
//! at a counter, a beneficiary collecting — never by writing cajero's tables. Time passes with
//! test clocks (`routes::test_clocks`), for the objects that live on them only.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract;

fn test_only(caller: Caller) -> Result<(), ApiError> {
    if caller.mode.is_live() {
        return Err(ApiError::forbidden(
            "test_mode_only",
            "Test helpers work with test keys only.",
        ));
    }
    Ok(())
}

use crate::networks::{sim_error, simulator};

/// A counter of `network` open at the time the object lives on (its test clock's, or the
/// network's), with at least `cash` in its drawer; or 400.
async fn open_counter(
    state: &AppState,
    network: &str,
    cash: i64,
    test_clock: Option<cajero_domain::id::TestClockId>,
) -> Result<String, ApiError> {
    let sim = simulator(state)?;
    let clock = test_clock.map(|c| c.to_string());
    let counters = sim
        .counters(Some(network), None, clock.as_deref())
        .await
        .map_err(sim_error)?;
    counters
        .into_iter()
        .find(|c| c.open_now && c.cash.minor() >= cash)
        .map(|c| c.id)
        .ok_or_else(|| {
            ApiError::invalid(
                "no_counter_open",
                "No counter of this network is open at this time (counters keep opening hours in \
                 Bogotá); retry later, or create the object on a test clock and advance it.",
            )
        })
}

/// `POST /v1/test_helpers/payins/{id}/pay`.
#[utoipa::path(
    post,
    path = "/test_helpers/payins/{id}/pay",
    operation_id = "test_pay_payin",
    tag = "Test helpers",
    summary = "Pay a pay-in at a simulated counter",
    params(
        ("id" = String, Path, description = "The pay-in's id."),
    ),
    responses(
        (status = 200, description = "OK.", body = CounterAttempt),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero or the network failed; retry with the same `Idempotency-Key`.", body = crate::error::Body),
    ),
)]
pub async fn pay_payin(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CounterAttempt>, ApiError> {
    test_only(caller)?;
    let payin = super::payins::load(&state, caller, &id).await?;
    let counter = open_counter(&state, &payin.network, 0, payin.test_clock).await?;
    let sim = simulator(&state)?;
    let outcome = sim
        .pay(&counter, &payin.payment_code, payin.amount)
        .await
        .map_err(sim_error)?;
    sim.deliver_callbacks_for(&payin.network_order_id)
        .await
        .map_err(sim_error)?;
    let payin = super::payins::load(&state, caller, &id).await?;
    Ok(Json(CounterAttempt {
        object: "counter_attempt",
        approved: outcome.approved,
        outcome: outcome.outcome,
        message: outcome.message,
        counter,
        payin: Some(crate::payins::payin_json(
            &payin,
            &state.config.public_url(),
        )),
        payout: None,
    }))
}

/// What a simulated counter decided.
#[derive(Debug, Serialize, ToSchema)]
pub struct CounterAttempt {
    /// `counter_attempt`.
    object: &'static str,
    /// Whether money moved.
    approved: bool,
    /// `approved`, `unknown_code`, `wrong_code`, `document_mismatch`, `counter_closed`, …
    outcome: String,
    /// The cashier's message, in Spanish.
    message: String,
    /// The simulated counter used.
    counter: String,
    /// The pay-in after the attempt (pay-in helper).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::payins::PayinView>)]
    payin: Option<Value>,
    /// The payout after the attempt (payout helper).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::payouts::PayoutView>)]
    payout: Option<Value>,
}

/// `POST /v1/test_helpers/payouts/{id}/collect` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Collect {
    /// The pick-up code (spaces allowed).
    code: String,
    /// The number on the document the beneficiary shows.
    document_number: String,
}

/// `POST /v1/test_helpers/payouts/{id}/collect`: the outcome is what the counter decides.
#[utoipa::path(
    post,
    path = "/test_helpers/payouts/{id}/collect",
    operation_id = "test_collect_payout",
    tag = "Test helpers",
    summary = "Collect a payout at a simulated counter",
    params(
        ("id" = String, Path, description = "The payout's id."),
    ),
    request_body = Collect,
    responses(
        (status = 200, description = "OK.", body = CounterAttempt),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero or the network failed; retry with the same `Idempotency-Key`.", body = crate::error::Body),
    ),
)]
pub async fn collect_payout(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    extract::Json(body): extract::Json<Value>,
) -> Result<Json<CounterAttempt>, ApiError> {
    test_only(caller)?;
    let request: Collect = extract::from_value(body)?;
    let payout = super::payouts::load(&state, caller, &id).await?;
    let counter = open_counter(
        &state,
        &payout.network,
        payout.amount.minor(),
        payout.test_clock,
    )
    .await?;
    let sim = simulator(&state)?;
    let code: String = request.code.chars().filter(char::is_ascii_digit).collect();
    let outcome = sim
        .collect(&counter, &code, &request.document_number)
        .await
        .map_err(sim_error)?;
    if let Some(order_id) = &payout.network_order_id {
        sim.deliver_callbacks_for(order_id)
            .await
            .map_err(sim_error)?;
    }
    let payout = super::payouts::load(&state, caller, &id).await?;
    Ok(Json(CounterAttempt {
        object: "counter_attempt",
        approved: outcome.approved,
        outcome: outcome.outcome,
        message: outcome.message,
        counter,
        payin: None,
        payout: Some(super::payouts::render(&state, &payout).await?),
    }))
}
