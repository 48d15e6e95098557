//! Transport-level behaviour: request ids, error shapes, limits, health.

use cajero_domain::merchant::{MerchantStatus, Mode};

use crate::helpers::{TestApp, assert_error};

crate::both_engines!(
    health_and_readiness_answer,
    unknown_routes_get_the_documented_404,
    wrong_methods_get_the_documented_405,
    oversized_bodies_are_refused_with_413,
    every_response_has_a_distinct_request_id,
    the_api_describes_itself_at_openapi_json_and_docs,
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

async fn the_api_describes_itself_at_openapi_json_and_docs(app: &TestApp) {
    let response = app.http.get(app.url("/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let text = response.text().await.unwrap();
    assert_eq!(text, cajero_server::openapi::spec_json());
    let spec: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    // Every documented operation is routed: none answers the router's 404 or 405.
    let mut operations = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let url = app.url(&path.replace("{id}", "xx_unknown"));
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response = app.http.request(method.clone(), url).send().await.unwrap();
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            assert_ne!(status, 405, "{method} {path}");
            assert_ne!(body["error"]["code"], "route_not_found", "{method} {path}");
            operations += 1;
        }
    }
    assert!(operations >= 30, "{operations} operations documented");

    let page = app.http.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    for expected in [
        "Create a payout",
        "/v1/payins/{id}/refunds",
        "id=\"schema-Payout\"",
    ] {
        assert!(html.contains(expected), "/docs lacks {expected}");
    }
    assert!(!html.contains("<script"), "/docs runs no scripts");
    // Examples show URLs as text; nothing is loaded from them.
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http") && !html.contains("url(http"),
        "/docs loads nothing"
    );
}
