//! The routes, one module per area.

use axum::Router;
use axum::routing::{get, post};

use crate::AppState;

mod balance;
mod events;
mod operations;
mod topups;
mod webhook_endpoints;

/// `/healthz`, `/readyz`.
pub fn operations() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(operations::healthz))
        .route("/readyz", get(operations::readyz))
        .route("/metrics", get(crate::metrics::render))
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
        .merge(webhooks())
}

/// Webhook endpoints and events.
fn webhooks() -> Router<AppState> {
    Router::new()
        .route(
            "/webhook_endpoints",
            get(webhook_endpoints::list).post(webhook_endpoints::create),
        )
        .route(
            "/webhook_endpoints/{id}",
            get(webhook_endpoints::retrieve)
                .post(webhook_endpoints::update)
                .delete(webhook_endpoints::delete),
        )
        .route(
            "/webhook_endpoints/{id}/rotate_secret",
            post(webhook_endpoints::rotate_secret),
        )
        .route(
            "/webhook_endpoints/{id}/recover",
            post(webhook_endpoints::recover),
        )
        .route("/events", get(events::list))
        .route("/events/{id}", get(events::retrieve))
        .route("/events/{id}/resend", post(events::resend))
        .route("/test_helpers/events", post(events::create_test_event))
}
