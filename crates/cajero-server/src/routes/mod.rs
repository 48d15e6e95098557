//! The routes, one module per area.

use axum::Router;
use axum::routing::get;

use crate::AppState;

mod balance;
mod operations;
mod topups;

/// `/healthz`, `/readyz`.
pub fn operations() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(operations::healthz))
        .route("/readyz", get(operations::readyz))
}

/// The merchant API under `/v1`.
pub fn v1() -> Router<AppState> {
    Router::new()
        .route("/balance", get(balance::retrieve))
        .route("/balance_transactions", get(balance::list))
        .route(
            "/balance_transactions/{id}",
            get(balance::retrieve_transaction),
        )
        .route("/topups", get(topups::list).post(topups::create))
        .route("/topups/{id}", get(topups::retrieve))
}
