//! The network API a connector calls: signed, per merchant.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::signed::Signed;
use crate::engine::{self, Created, ListFilter, SimError};
use crate::model::OrderKind;
use crate::settlement::{SettlementFormat, settlement_file};
use crate::sim::Sim;
use crate::views::{OrderView, order_view};

type Answer = Result<Response, ApiError>;

/// `POST /v1/collections`.
pub async fn create_collection(State(sim): State<Arc<Sim>>, signed: Signed) -> Answer {
    let req: engine::CreateCollection = signed.json()?;
    create(&sim, move |state, now| {
        state.create_collection(&signed.merchant_id, req, now)
    })
    .await
}

/// `POST /v1/payouts`.
pub async fn create_payout(State(sim): State<Arc<Sim>>, signed: Signed) -> Answer {
    let req: engine::CreatePayout = signed.json()?;
    create(&sim, move |state, now| {
        state.create_payout(&signed.merchant_id, req, now)
    })
    .await
}

/// Applies the create faults around a create.
async fn create(
    sim: &Sim,
    f: impl FnOnce(&mut engine::State, jiff::Timestamp) -> Result<Created, SimError>,
) -> Answer {
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
        return Err(SimError::NetworkUnavailable.into());
    }
    let (view, replayed) = sim
        .run(|state, now| {
            f(state, now).map(|created| (order_view(state, &created.order), created.replayed))
        })
        .await??;
    if hang {
        tokio::time::sleep(Duration::from_millis(timeout_ms)).await;
        return Err(ApiError::Timeout);
    }
    let status = if replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut response = (status, Json(view)).into_response();
    if replayed {
        response
            .headers_mut()
            .insert("sim-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

fn kind_of(plural: &str) -> Result<OrderKind, ApiError> {
    match plural {
        "collections" => Ok(OrderKind::Collection),
        "payouts" => Ok(OrderKind::Payout),
        _ => Err(SimError::NotFound.into()),
    }
}

/// `GET /v1/{collections|payouts}/{id}`.
pub async fn get_order(
    State(sim): State<Arc<Sim>>,
    Path((kind, id)): Path<(String, String)>,
    signed: Signed,
) -> Answer {
    let kind = kind_of(&kind)?;
    let view = sim
        .run(|state, _| {
            state
                .order(&signed.merchant_id, kind, &id)
                .map(|o| order_view(state, o))
        })
        .await??;
    Ok(Json(view).into_response())
}

/// Query of a lookup by reference.
#[derive(Debug, Deserialize)]
pub struct ByReferenceQuery {
    /// Only at this network: 503 while it is down, 404 for an order at another network (how
    /// cajero's health probe asks one network at a time).
    pub network: Option<String>,
}

/// `GET /v1/{collections|payouts}/by_reference/{reference}[?network=]`.
pub async fn get_by_reference(
    State(sim): State<Arc<Sim>>,
    Path((kind, reference)): Path<(String, String)>,
    Query(query): Query<ByReferenceQuery>,
    signed: Signed,
) -> Answer {
    let kind = kind_of(&kind)?;
    let view = sim
        .run(|state, _| {
            if let Some(network) = &query.network {
                state.ensure_up(network)?;
            }
            state
                .order_by_reference(&signed.merchant_id, kind, &reference)
                .and_then(|o| match &query.network {
                    Some(network) if &o.network != network => Err(SimError::NotFound),
                    _ => Ok(o),
                })
                .map(|o| order_view(state, o))
        })
        .await??;
    Ok(Json(view).into_response())
}

/// `POST /v1/{collections|payouts}/{id}/cancel`.
pub async fn cancel(
    State(sim): State<Arc<Sim>>,
    Path((kind, id)): Path<(String, String)>,
    signed: Signed,
) -> Answer {
    let kind = kind_of(&kind)?;
    let view = sim
        .run(|state, now| {
            state
                .cancel(&signed.merchant_id, kind, &id, now)
                .map(|o| order_view(state, &o))
        })
        .await??;
    Ok(Json(view).into_response())
}

/// `GET /v1/collections?status=&reference=&limit=&starting_after=`, newest first.
pub async fn list_collections(
    State(sim): State<Arc<Sim>>,
    Query(filter): Query<ListFilter>,
    signed: Signed,
) -> Answer {
    list(&sim, OrderKind::Collection, filter, signed).await
}

/// `GET /v1/payouts?status=&reference=&limit=&starting_after=`, newest first.
pub async fn list_payouts(
    State(sim): State<Arc<Sim>>,
    Query(filter): Query<ListFilter>,
    signed: Signed,
) -> Answer {
    list(&sim, OrderKind::Payout, filter, signed).await
}

async fn list(sim: &Sim, kind: OrderKind, filter: ListFilter, signed: Signed) -> Answer {
    let (data, has_more) = sim
        .run(|state, _| {
            let (orders, has_more) = state.list(&signed.merchant_id, kind, &filter)?;
            let views: Vec<OrderView> = orders.into_iter().map(|o| order_view(state, o)).collect();
            Ok::<_, SimError>((views, has_more))
        })
        .await??;
    Ok(Json(json!({"object": "list", "data": data, "has_more": has_more})).into_response())
}

/// Query of a settlement file.
#[derive(Debug, Deserialize)]
pub struct FileQuery {
    /// `asobancaria` (default) or `csv`.
    pub format: Option<SettlementFormat>,
    /// Network; the default network when absent.
    pub network: Option<String>,
    /// Admin only: one merchant (absent: the whole network).
    pub merchant_id: Option<String>,
}

/// `GET /v1/settlement_files/{date}`: the merchant's file for a Bogotá day.
pub async fn merchant_settlement_file(
    State(sim): State<Arc<Sim>>,
    Path(date): Path<String>,
    Query(query): Query<FileQuery>,
    signed: Signed,
) -> Answer {
    let network = query
        .network
        .clone()
        .unwrap_or_else(|| sim.config().default_network.clone());
    sim.run(|state, _| state.ensure_up(&network)).await??;
    file_response(&sim, &date, query, Some(signed.merchant_id)).await
}

/// Renders a settlement file as a download.
pub async fn file_response(
    sim: &Sim,
    date: &str,
    query: FileQuery,
    merchant_id: Option<String>,
) -> Answer {
    let date: Date = date.parse().map_err(|_| SimError::InvalidRequest {
        param: "date",
        message: "expected YYYY-MM-DD".into(),
    })?;
    let format = query.format.unwrap_or(SettlementFormat::Asobancaria);
    let network = query
        .network
        .unwrap_or_else(|| sim.config().default_network.clone());
    let text = sim
        .run(|state, _| settlement_file(state, &network, date, merchant_id.as_deref(), format))
        .await??;
    let content_type = match format {
        SettlementFormat::Asobancaria => "text/plain; charset=us-ascii",
        SettlementFormat::Csv => "text/csv; charset=utf-8",
    };
    Ok(([(header::CONTENT_TYPE, content_type)], text).into_response())
}

/// Body of a test clock advance.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvanceTestClock {
    frozen_time: jiff::Timestamp,
}

fn test_clock_json(id: &str, clock: &engine::TestClock) -> serde_json::Value {
    json!({"id": id, "object": "test_clock", "frozen_time": clock.now})
}

/// `POST /v1/test_clocks/{id}/advance` `{"frozen_time": "…"}`: creates the merchant's test
/// clock at that time or moves it forward to it (never back); what falls due on it in between
/// happens, each at its own instant, before the answer.
pub async fn advance_test_clock(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    signed: Signed,
) -> Answer {
    let body: AdvanceTestClock = signed.json()?;
    let clock = sim
        .run(|state, _| state.advance_test_clock(&signed.merchant_id, &id, body.frozen_time))
        .await??;
    Ok(Json(test_clock_json(&id, &clock)).into_response())
}

/// `GET /v1/test_clocks/{id}`.
pub async fn get_test_clock(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    signed: Signed,
) -> Answer {
    let clock = sim
        .run(|state, _| state.test_clock(&signed.merchant_id, &id).cloned())
        .await??;
    Ok(Json(test_clock_json(&id, &clock)).into_response())
}

/// `DELETE /v1/test_clocks/{id}`: refused while orders on it are open.
pub async fn delete_test_clock(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    signed: Signed,
) -> Answer {
    sim.run(|state, _| state.delete_test_clock(&signed.merchant_id, &id))
        .await??;
    Ok(Json(json!({"id": id, "object": "test_clock", "deleted": true})).into_response())
}

/// `POST /v1/merchant/callback_url` `{"callback_url": "http://…" | null}`.
pub async fn set_callback_url(State(sim): State<Arc<Sim>>, signed: Signed) -> Answer {
    #[derive(Deserialize)]
    struct Body {
        callback_url: Option<String>,
    }
    let body: Body = signed.json()?;
    let merchant = sim
        .run(|state, _| {
            let mut config = state
                .merchant(&signed.merchant_id)
                .map(|m| m.config.clone())
                .ok_or(SimError::UnknownMerchant)?;
            config.callback_url = body.callback_url;
            Ok::<_, SimError>(state.upsert_merchant(config))
        })
        .await??;
    Ok(Json(json!({
        "id": merchant.config.id,
        "callback_url": merchant.config.callback_url,
    }))
    .into_response())
}
