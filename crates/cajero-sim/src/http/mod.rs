//! The simulator's HTTP surface: the signed network API (`/v1`), the counter API
//! (`/counter/v1`), controls (`/sim/v1`) and the cashier page (`/ventanilla`).

pub mod admin;
pub mod counter;
pub mod error;
pub mod network;
pub mod signed;
pub mod ventanilla;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};

use crate::sim::Sim;

/// Every route.
pub fn router(sim: Arc<Sim>) -> Router {
    let body_limit = sim.config().request_body_bytes_max;
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        // Network API (signed).
        .route(
            "/v1/collections",
            post(network::create_collection).get(network::list_collections),
        )
        .route(
            "/v1/payouts",
            post(network::create_payout).get(network::list_payouts),
        )
        .route("/v1/{kind}/{id}", get(network::get_order))
        .route(
            "/v1/{kind}/by_reference/{reference}",
            get(network::get_by_reference),
        )
        .route("/v1/{kind}/{id}/cancel", post(network::cancel))
        .route(
            "/v1/settlement_files/{date}",
            get(network::merchant_settlement_file),
        )
        .route("/v1/merchant/callback_url", post(network::set_callback_url))
        .route(
            "/v1/test_clocks/{id}",
            get(network::get_test_clock).delete(network::delete_test_clock),
        )
        .route(
            "/v1/test_clocks/{id}/advance",
            post(network::advance_test_clock),
        )
        // Counter API.
        .route("/counter/v1/counters", get(counter::list_counters))
        .route("/counter/v1/counters/{id}", get(counter::get_counter))
        .route("/counter/v1/pay", post(counter::pay))
        .route("/counter/v1/collect", post(counter::collect))
        .route("/counter/v1/attempts", get(counter::list_attempts))
        // Controls.
        .route("/sim/v1/clock", get(admin::clock))
        .route("/sim/v1/clock/advance", post(admin::advance))
        .route(
            "/sim/v1/faults",
            get(admin::get_faults).put(admin::put_faults),
        )
        .route(
            "/sim/v1/settlement_faults",
            get(admin::get_settlement_faults)
                .put(admin::put_settlement_faults)
                .delete(admin::delete_settlement_faults),
        )
        .route(
            "/sim/v1/autopilot",
            get(admin::get_autopilot).put(admin::put_autopilot),
        )
        .route("/sim/v1/merchants", post(admin::register_merchant))
        .route("/sim/v1/callbacks", get(admin::list_callbacks))
        .route("/sim/v1/callbacks/flush", post(admin::flush))
        .route("/sim/v1/counters/{id}/cash", put(admin::set_cash))
        .route(
            "/sim/v1/settlement_files/{date}",
            get(admin::settlement_file),
        )
        .route("/sim/v1/orders/{id}", get(admin::get_order))
        .route("/sim/v1/networks", get(admin::networks))
        // Cashier page.
        .route("/ventanilla", get(ventanilla::index))
        .route("/ventanilla/pagar", post(ventanilla::pay))
        .route("/ventanilla/retirar", post(ventanilla::collect))
        // Gateway dialects (dLocal, PayU, Kushki), each under its prefix.
        .merge(crate::dialect::router())
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(sim)
}
