//! The routes, one module per area.

use axum::Router;
use axum::routing::{get, post};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

mod alerts;
mod analytics;
mod balance;
mod callbacks;
mod docs;
mod events;
mod operations;
mod pages;
mod payins;
mod payouts;
mod reconciliation;
mod refund_callbacks;
mod refunds;
mod settlements;
mod test_clocks;
mod test_helpers;
mod topups;
mod webhook_endpoints;

/// What is not part of the merchant API: metrics, network callbacks, customer pages and the
/// API's own description.
pub fn operations() -> Router<AppState> {
    Router::new()
        .route("/metrics", get(crate::metrics::render))
        .route("/callbacks/{network}", post(callbacks::receive))
        .route(
            "/callbacks/{network}/refunds",
            post(refund_callbacks::receive),
        )
        .route("/v/{token}", get(pages::voucher))
        .route("/p/{token}", get(pages::pickup))
        .route("/openapi.json", get(docs::openapi_json))
        .route("/docs", get(docs::page))
}

/// The operator's uploads of networks' files (larger bodies than the API takes).
pub fn uploads() -> Router<AppState> {
    Router::new().route(
        "/operator/reconciliation/files",
        post(reconciliation::upload),
    )
}

/// The documented API: the probes and `/v1`, each handler registered with its OpenAPI path.
pub fn v1() -> Router<AppState> {
    v1_documented().split_for_parts().0
}

/// The probes and the merchant API under `/v1`, with their OpenAPI description.
pub fn v1_documented() -> OpenApiRouter<AppState> {
    let v1 = OpenApiRouter::new()
        .routes(routes!(balance::retrieve))
        .routes(routes!(balance::list))
        .routes(routes!(balance::retrieve_transaction))
        .routes(routes!(topups::list, topups::create))
        .routes(routes!(topups::retrieve))
        .routes(routes!(settlements::list))
        .routes(routes!(settlements::retrieve))
        .routes(routes!(reconciliation::list_exceptions))
        .routes(routes!(reconciliation::retrieve_exception))
        .routes(routes!(reconciliation::report))
        .routes(routes!(analytics::success))
        .routes(routes!(alerts::list))
        .routes(routes!(alerts::retrieve))
        .merge(orders())
        .merge(webhooks());
    OpenApiRouter::new()
        .routes(routes!(operations::healthz))
        .routes(routes!(operations::readyz))
        .routes(routes!(operations::index))
        .nest("/v1", v1)
}

/// Pay-ins, payouts, refunds and their test helpers.
fn orders() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(payins::list, payins::create))
        .routes(routes!(payins::retrieve))
        .routes(routes!(payins::cancel))
        .routes(routes!(refunds::for_payin, payins::refund))
        .routes(routes!(refunds::list))
        .routes(routes!(refunds::retrieve))
        .routes(routes!(payouts::list, payouts::create))
        .routes(routes!(payouts::retrieve))
        .routes(routes!(payouts::cancel))
        .routes(routes!(test_helpers::pay_payin))
        .routes(routes!(test_helpers::collect_payout))
        .routes(routes!(test_clocks::list, test_clocks::create))
        .routes(routes!(test_clocks::retrieve, test_clocks::delete))
        .routes(routes!(test_clocks::advance))
}

/// Webhook endpoints and events.
fn webhooks() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(webhook_endpoints::list, webhook_endpoints::create))
        .routes(routes!(
            webhook_endpoints::retrieve,
            webhook_endpoints::update,
            webhook_endpoints::delete
        ))
        .routes(routes!(webhook_endpoints::rotate_secret))
        .routes(routes!(webhook_endpoints::recover))
        .routes(routes!(events::list))
        .routes(routes!(events::retrieve))
        .routes(routes!(events::resend))
        .routes(routes!(events::create_test_event))
}
