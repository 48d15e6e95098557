//! Controls for tests and demos: the clock, fault knobs, autopilot, merchants, callbacks,
//! drawers and whole-network settlement files. Unsigned: the simulator is a test tool on a
//! loopback port.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use cajero_domain::Amount;
use cajero_domain::calendar::bogota;
use rand::RngExt;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use super::network::{FileQuery, file_response};
use crate::config::{AutopilotConfig, Faults, MerchantConfig};
use crate::engine::SimError;
use crate::settlement::SettlementFaults;
use crate::sim::Sim;
use crate::views::{CallbackView, order_view};

fn clock_json(now: jiff::Timestamp, offset: i64, frozen: bool) -> Value {
    json!({
        "now": now,
        "now_bogota": now.to_zoned_datetime(bogota()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        "offset_seconds": offset,
        "frozen": frozen,
    })
}

/// `GET /sim/v1/clock`.
pub async fn clock(State(sim): State<Arc<Sim>>) -> Result<Json<Value>, ApiError> {
    let frozen = sim.config().clock.frozen;
    let (now, offset) = sim
        .run(|state, now| (now, state.meta.clock_offset_seconds))
        .await?;
    Ok(Json(clock_json(now, offset, frozen)))
}

/// Body of a clock advance.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Advance {
    /// Seconds forward (the clock never goes back).
    pub seconds: i64,
}

/// `POST /sim/v1/clock/advance` `{"seconds": n}`: expiries and autopilot visits due in
/// between happen, each at its own instant, before the answer.
pub async fn advance(
    State(sim): State<Arc<Sim>>,
    Json(body): Json<Advance>,
) -> Result<Json<Value>, ApiError> {
    if body.seconds < 0 {
        return Err(SimError::InvalidRequest {
            param: "seconds",
            message: "the clock only moves forward".into(),
        }
        .into());
    }
    let frozen = sim.config().clock.frozen;
    let (now, offset) = sim
        .run(|state, _| {
            let now = state.advance_clock(body.seconds);
            state.sweep(now);
            (now, state.meta.clock_offset_seconds)
        })
        .await?;
    Ok(Json(clock_json(now, offset, frozen)))
}

/// `GET /sim/v1/faults`.
pub async fn get_faults(State(sim): State<Arc<Sim>>) -> Result<Json<Faults>, ApiError> {
    Ok(Json(sim.run(|state, _| state.faults()).await?))
}

/// `PUT /sim/v1/faults`: replaces every knob (absent ones are 0).
pub async fn put_faults(
    State(sim): State<Arc<Sim>>,
    Json(faults): Json<Faults>,
) -> Result<Json<Faults>, ApiError> {
    let bps = [
        faults.create_unavailable_bps,
        faults.create_timeout_bps,
        faults.callback_drop_bps,
        faults.callback_duplicate_bps,
        faults.callback_delay_bps,
        faults.callback_reorder_bps,
        faults.settlement_missing_line_bps,
        faults.settlement_changed_amount_bps,
        faults.settlement_duplicate_line_bps,
    ];
    if bps.iter().any(|b| *b > crate::config::BPS_WHOLE) {
        return Err(SimError::InvalidRequest {
            param: "faults",
            message: "shares are basis points, at most 10000".into(),
        }
        .into());
    }
    let set = sim.run(|state, _| state.set_faults(faults)).await?;
    set.map(Json).map_err(|e| ApiError::InvalidFaults {
        param: "down",
        message: format!("{e}; the simulator's networks are listed at GET /sim/v1/networks"),
    })
}

/// `GET /sim/v1/settlement_faults`.
pub async fn get_settlement_faults(
    State(sim): State<Arc<Sim>>,
) -> Result<Json<SettlementFaults>, ApiError> {
    Ok(Json(sim.run(|state, _| state.settlement_faults()).await?))
}

/// `PUT /sim/v1/settlement_faults`: replaces the whole set, once every fault is checked
/// against the state (400 `invalid_settlement_faults` naming the field otherwise).
pub async fn put_settlement_faults(
    State(sim): State<Arc<Sim>>,
    body: Bytes,
) -> Result<Json<SettlementFaults>, ApiError> {
    let faults: SettlementFaults =
        serde_json::from_slice(&body).map_err(|e| ApiError::InvalidBody(e.to_string()))?;
    Ok(Json(
        sim.run(|state, _| state.set_settlement_faults(faults))
            .await??,
    ))
}

/// `DELETE /sim/v1/settlement_faults`: clears the set; answers with it, empty.
pub async fn delete_settlement_faults(
    State(sim): State<Arc<Sim>>,
) -> Result<Json<SettlementFaults>, ApiError> {
    Ok(Json(
        sim.run(|state, _| state.set_settlement_faults(SettlementFaults::default()))
            .await??,
    ))
}

/// `GET /sim/v1/autopilot`.
pub async fn get_autopilot(State(sim): State<Arc<Sim>>) -> Result<Json<AutopilotConfig>, ApiError> {
    Ok(Json(sim.run(|state, _| state.autopilot()).await?))
}

/// `PUT /sim/v1/autopilot`: applies to orders created from now on.
pub async fn put_autopilot(
    State(sim): State<Arc<Sim>>,
    Json(autopilot): Json<AutopilotConfig>,
) -> Result<Json<AutopilotConfig>, ApiError> {
    Ok(Json(
        sim.run(|state, _| {
            state.set_autopilot(autopilot);
            state.autopilot()
        })
        .await?,
    ))
}

/// Body of a merchant registration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMerchant {
    /// Id; generated when absent.
    pub id: Option<String>,
    /// Secret; generated when absent.
    pub secret: Option<String>,
    /// Where callbacks go.
    pub callback_url: Option<String>,
    /// NIT with check digit, for settlement files.
    pub nit: Option<String>,
    /// Account credited, for settlement files.
    pub account_number: Option<String>,
}

fn random_token(prefix: &str) -> String {
    let mut rng = rand::rng();
    let bytes: [u8; 24] = rng.random();
    let mut out = String::from(prefix);
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// `POST /sim/v1/merchants`: enrolls (or updates) a merchant; answers with its secret.
pub async fn register_merchant(
    State(sim): State<Arc<Sim>>,
    Json(body): Json<NewMerchant>,
) -> Result<Json<Value>, ApiError> {
    let defaults = MerchantConfig::demo();
    let config = MerchantConfig {
        id: body.id.unwrap_or_else(|| random_token("m_")),
        secret: body.secret.unwrap_or_else(|| random_token("simsk_")),
        callback_url: body.callback_url,
        nit: body.nit.unwrap_or(defaults.nit),
        account_number: body.account_number.unwrap_or(defaults.account_number),
        ..defaults
    };
    let merchant = sim.run(|state, _| state.upsert_merchant(config)).await?;
    Ok(Json(json!({
        "id": merchant.config.id,
        "secret": merchant.config.secret,
        "callback_url": merchant.config.callback_url,
        "number": merchant.number,
    })))
}

/// Callback filter.
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    /// One merchant.
    pub merchant_id: Option<String>,
    /// One order.
    pub order_id: Option<String>,
}

/// `GET /sim/v1/callbacks?merchant_id=&order_id=`, oldest first.
pub async fn list_callbacks(
    State(sim): State<Arc<Sim>>,
    Query(q): Query<CallbackQuery>,
) -> Result<Json<Value>, ApiError> {
    let data = sim
        .run(|state, _| {
            state
                .callbacks(q.merchant_id.as_deref(), q.order_id.as_deref())
                .into_iter()
                .map(CallbackView::from)
                .collect::<Vec<_>>()
        })
        .await?;
    Ok(Json(json!({"object": "list", "data": data})))
}

/// Body of a flush.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flush {
    /// Ignore backoff and delays; release held callbacks.
    #[serde(default)]
    pub force: bool,
}

/// `POST /sim/v1/callbacks/flush`: one delivery pass now, answered when it is done.
pub async fn flush(
    State(sim): State<Arc<Sim>>,
    body: Option<Json<Flush>>,
) -> Result<Json<Value>, ApiError> {
    let force = body.is_some_and(|b| b.force);
    let attempted = sim.deliver_due(force).await?;
    Ok(Json(json!({"attempted": attempted})))
}

/// Body of a drawer change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cash {
    /// New cash in the drawer, COP.
    pub cash: Amount,
}

/// `PUT /sim/v1/counters/{id}/cash` `{"cash": n}`.
pub async fn set_cash(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    Json(body): Json<Cash>,
) -> Result<Json<Value>, ApiError> {
    let counter = sim
        .run(|state, _| state.set_counter_cash(&id, body.cash))
        .await??;
    Ok(Json(json!({"id": counter.id, "cash": counter.cash})))
}

/// `GET /sim/v1/settlement_files/{date}?format=&network=&merchant_id=`: without a merchant,
/// the whole network's file (one batch per merchant).
pub async fn settlement_file(
    State(sim): State<Arc<Sim>>,
    Path(date): Path<String>,
    Query(query): Query<FileQuery>,
) -> Result<Response, ApiError> {
    let merchant = query.merchant_id.clone();
    file_response(&sim, &date, query, merchant).await
}

/// `GET /sim/v1/orders/{id}`: any order (tests, the cashier page).
pub async fn get_order(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let view = sim
        .run(|state, _| {
            state
                .order_any(&id)
                .map(|o| order_view(state, o))
                .ok_or(SimError::NotFound)
        })
        .await??;
    Ok(Json(json!(view)))
}

/// `GET /sim/v1/networks`: the profiles in force.
pub async fn networks(State(sim): State<Arc<Sim>>) -> Json<Value> {
    Json(json!({"object": "list", "data": sim.config().networks}))
}
