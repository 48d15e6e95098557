//! Transport-level behaviour: request ids, error shapes, limits, health.

use cajero_domain::merchant::{MerchantStatus, Mode};

use crate::helpers::{TestApp, assert_error};

crate::both_engines!(
    health_and_readiness_answer,
    unknown_routes_get_the_documented_404,
    wrong_methods_get_the_documented_405,
    oversized_bodies_are_refused_with_413,
    every_response_has_a_distinct_request_id,
);

async fn health_and_readiness_answer(app: &TestApp) {
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert!(health.headers().contains_key("request-id"));
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["database"], "ok");
}

async fn unknown_routes_get_the_documented_404(app: &TestApp) {
    for path in ["/v1/nothing", "/nothing", "/v1/balance/extra"] {
        let response = app.http.get(app.url(path)).send().await.unwrap();
        assert_error(response, 404, "invalid_request_error", "route_not_found").await;
    }
}

async fn wrong_methods_get_the_documented_405(app: &TestApp) {
    let response = app
        .http
        .delete(app.url("/v1/balance"))
        .send()
        .await
        .unwrap();
    assert_error(response, 405, "invalid_request_error", "method_not_allowed").await;
}

async fn oversized_bodies_are_refused_with_413(app: &TestApp) {
    let merchant = app.merchant("A", MerchantStatus::Onboarding).await;
    let (_, key) = app.key(merchant, Mode::Test).await;
    let body = format!(
        "{{\"pad\": \"{}\"}}",
        "x".repeat(cajero_server::REQUEST_BODY_BYTES_MAX)
    );
    let response = app
        .http
        .post(app.url("/v1/balance"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_error(response, 413, "invalid_request_error", "request_too_large").await;
}

async fn every_response_has_a_distinct_request_id(app: &TestApp) {
    let mut seen = std::collections::HashSet::new();
    for _ in 0..20 {
        let response = app.http.get(app.url("/healthz")).send().await.unwrap();
        let id = response.headers()["request-id"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(id.starts_with("req_"));
        assert!(seen.insert(id));
    }
}
