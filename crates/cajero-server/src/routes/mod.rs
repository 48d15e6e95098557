//! The routes, one module per area.

use axum::Router;
use axum::routing::{get, post};

use crate::AppState;

mod balance;
mod callbacks;
mod events;
mod operations;
mod pages;
mod payins;
mod payouts;
mod settlements;
mod test_helpers;
mod topups;
mod webhook_endpoints;

/// `/healthz`, `/readyz`.
pub fn operations() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(operations::healthz))
        .route("/readyz", get(operations::readyz))
        .route("/metrics", get(crate::metrics::render))
        .route("/callbacks/{network}", post(callbacks::receive))
        .route("/v/{token}", get(pages::voucher))
        .route("/p/{token}", get(pages::pickup))
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
        .route("/settlements", get(settlements::list))
        .route("/settlements/{id}", get(settlements::retrieve))
        .merge(webhooks())
        .merge(orders())
}

/// Pay-ins, payouts and their test helpers.
fn orders() -> Router<AppState> {
    Router::new()
        .route("/payins", get(payins::list).post(payins::create))
        .route("/payins/{id}", get(payins::retrieve))
        .route("/payins/{id}/cancel", post(payins::cancel))
        .route(
            "/payins/{id}/refunds",
            get(payins::refunds).post(payins::refund),
        )
        .route("/payouts", get(payouts::list).post(payouts::create))
        .route("/payouts/{id}", get(payouts::retrieve))
        .route("/payouts/{id}/cancel", post(payouts::cancel))
        .route(
            "/test_helpers/payins/{id}/pay",
            post(test_helpers::pay_payin),
        )
        .route(
            "/test_helpers/payouts/{id}/collect",
            post(test_helpers::collect_payout),
        )
        .route(
            "/test_helpers/clock/advance",
            post(test_helpers::advance_clock),
        )
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
