//! `/v1/test_helpers/…` (test keys only): act through the simulated network — a customer paying
//! at a counter, a beneficiary collecting, time passing — never by writing cajero's tables.

use axum::Json;
use axum::extract::{Path, State};
use jiff::SignedDuration;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract;

/// The longest single clock advance: 31 days.
pub const CLOCK_ADVANCE_S_MAX: i64 = 31 * 24 * 3600;

fn test_only(caller: Caller) -> Result<(), ApiError> {
    if caller.mode.is_live() {
        return Err(ApiError::forbidden(
            "test_mode_only",
            "Test helpers work with test keys only.",
        ));
    }
    Ok(())
}

fn simulator(state: &AppState) -> Result<&cajero_connect::sim::SimConnector, ApiError> {
    state.networks.sim().ok_or_else(|| {
        crate::networks::network_unavailable("no simulator is configured for test mode")
    })
}

fn sim_error(e: cajero_connect::ConnectError) -> ApiError {
    crate::networks::network_unavailable(format!("simulator: {e}"))
}

/// An open counter of `network` (with at least `cash` in its drawer), or 409.
async fn open_counter(state: &AppState, network: &str, cash: i64) -> Result<String, ApiError> {
    let sim = simulator(state)?;
    let counters = sim.counters(Some(network), None).await.map_err(sim_error)?;
    counters
        .into_iter()
        .find(|c| c.open_now && c.cash.minor() >= cash)
        .map(|c| c.id)
        .ok_or_else(|| {
            ApiError::invalid(
                "no_counter_open",
                "No counter of this network is open right now in the simulated time; advance the test clock.",
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
    let counter = open_counter(&state, &payin.network, 0).await?;
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

/// The test clock after a move.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestClock {
    /// `test_clock`.
    object: &'static str,
    /// This instance's time now.
    #[schema(schema_with = crate::openapi::timestamp)]
    now: String,
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
    let counter = open_counter(&state, &payout.network, payout.amount.minor()).await?;
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

/// `POST /v1/test_helpers/clock/advance` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Advance {
    /// How far forward.
    #[schema(schema_with = crate::openapi::clock_advance_seconds)]
    seconds: i64,
}

/// `POST /v1/test_helpers/clock/advance`: moves this instance's clock and the simulator's, then
/// runs the expiry worker once so that what expired is closed when this answers.
#[utoipa::path(
    post,
    path = "/test_helpers/clock/advance",
    operation_id = "test_advance_clock",
    tag = "Test helpers",
    summary = "Move the instance's and the simulator's clock forward",
    request_body = Advance,
    responses(
        (status = 200, description = "OK.", body = TestClock),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero or the network failed; retry with the same `Idempotency-Key`.", body = crate::error::Body),
    ),
)]
pub async fn advance_clock(
    State(state): State<AppState>,
    caller: Caller,
    extract::Json(body): extract::Json<Value>,
) -> Result<Json<TestClock>, ApiError> {
    test_only(caller)?;
    let Advance { seconds } = extract::from_value(body)?;
    if !(1..=CLOCK_ADVANCE_S_MAX).contains(&seconds) {
        return Err(ApiError::invalid(
            "parameter_invalid",
            format!("seconds must be between 1 and {CLOCK_ADVANCE_S_MAX}"),
        )
        .with_param("seconds"));
    }
    if state.networks.has_live() || !state.clock.advance(SignedDuration::from_secs(seconds)) {
        return Err(ApiError::forbidden(
            "test_clock_unavailable",
            "This instance's clock cannot be moved (it serves live networks).",
        ));
    }
    let sim = simulator(&state)?;
    sim.advance_clock(seconds).await.map_err(sim_error)?;
    sim.flush_callbacks(true).await.map_err(sim_error)?;
    crate::workers::expiry::run_once(&state)
        .await
        .map_err(|e| ApiError::internal(format!("expiry after clock advance: {e:#}")))?;
    Ok(Json(TestClock {
        object: "test_clock",
        now: crate::time::rfc3339(state.clock.now()),
    }))
}
