//! Rate limits per API key and per client address, and who may read `/metrics`.

use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_server::config::Secret;
use cajero_server::rate_limit::RateLimitsConfig;
use jiff::Timestamp;

use crate::helpers::{Engine, METRICS_TOKEN, TestApp, assert_error, spawn_app_with};

crate::both_engines!(metrics_count_requests_by_route_and_status_for_the_token_holder);

#[tokio::test]
async fn a_key_over_its_budget_gets_429_with_retry_after_and_the_ratelimit_headers() {
    let app = limited(RateLimitsConfig {
        per_key_per_second: 1,
        per_key_burst: 3,
        ..RateLimitsConfig::default()
    })
    .await;
    let merchant = app.merchant("Tienda", MerchantStatus::Active).await;
    let (_, key) = app.key(merchant, Mode::Test).await;
    let (_, other) = app.key(merchant, Mode::Test).await;
    for remaining in [2, 1, 0] {
        let response = get(&app, "/v1/balance", &key).await;
        assert_eq!(response.status(), 200);
        let headers = response.headers();
        assert_eq!(headers["ratelimit-policy"], "\"per-key\";q=3;w=3");
        let state = headers["ratelimit"].to_str().unwrap();
        assert!(
            state.starts_with(&format!("\"per-key\";r={remaining};t=")),
            "{state}"
        );
    }
    let refused = get(&app, "/v1/balance", &key).await;
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3).contains(&retry_after), "{retry_after}");
    let body = assert_error(refused, 429, "rate_limit_error", "rate_limited").await;
    assert!(body["error"]["request_id"].is_string());
    // Another key has its own budget.
    assert_eq!(get(&app, "/v1/balance", &other).await.status(), 200);
    app.server.stop().await.unwrap();
}

#[tokio::test]
async fn an_address_that_keeps_failing_authentication_is_refused_even_a_good_key() {
    let app = limited(RateLimitsConfig {
        failed_auth_per_minute: 1,
        failed_auth_burst: 2,
        ..RateLimitsConfig::default()
    })
    .await;
    let merchant = app.merchant("Tienda", MerchantStatus::Active).await;
    let (_, key) = app.key(merchant, Mode::Test).await;
    let wrong = format!("sk_test_{}", "x".repeat(43));
    for _ in 0..2 {
        let response = get(&app, "/v1/balance", &wrong).await;
        assert_error(response, 401, "authentication_error", "api_key_invalid").await;
    }
    let refused = get(&app, "/v1/balance", &wrong).await;
    assert!(refused.headers().contains_key("retry-after"));
    assert_error(refused, 429, "rate_limit_error", "rate_limited").await;
    // Blocked before any lookup, whatever key it presents, until the budget refills.
    let blocked = get(&app, "/v1/balance", &key).await;
    assert_error(blocked, 429, "rate_limit_error", "rate_limited").await;
    app.server.stop().await.unwrap();
}

#[tokio::test]
async fn the_client_address_can_come_from_the_proxy_header() {
    let app = limited(RateLimitsConfig {
        failed_auth_per_minute: 1,
        failed_auth_burst: 1,
        client_address_header: Some("x-forwarded-for".into()),
        ..RateLimitsConfig::default()
    })
    .await;
    let wrong = format!("sk_test_{}", "x".repeat(43));
    let from = |ip: &'static str| {
        app.http
            .get(app.url("/v1/balance"))
            .bearer_auth(&wrong)
            .header("x-forwarded-for", format!("203.0.113.9, {ip}"))
            .send()
    };
    assert_eq!(from("198.51.100.1").await.unwrap().status(), 401);
    assert_eq!(from("198.51.100.1").await.unwrap().status(), 429);
    assert_eq!(
        from("198.51.100.2").await.unwrap().status(),
        401,
        "another client"
    );
    app.server.stop().await.unwrap();
}

#[tokio::test]
async fn metrics_are_not_served_without_a_token_or_an_address_of_their_own() {
    let app = spawn_app_with(Engine::Sqlite, start(), |config| {
        config.metrics.token = None;
    })
    .await
    .unwrap();
    let response = app.http.get(app.url("/metrics")).send().await.unwrap();
    let body = assert_error(response, 404, "invalid_request_error", "resource_missing").await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("metrics.token")
    );
    app.server.stop().await.unwrap();

    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let own = free.local_addr().unwrap();
    drop(free);
    let app = spawn_app_with(Engine::Sqlite, start(), |config| {
        config.metrics.token = None;
        config.metrics.listen = Some(own);
    })
    .await
    .unwrap();
    // The metrics listener is bound as the server starts serving, just after `spawn` returns.
    let mut text = String::new();
    for _ in 0..100 {
        if let Ok(response) = app.http.get(format!("http://{own}/metrics")).send().await {
            text = response.text().await.unwrap();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(text.contains("cajero_http_requests_total"), "{text}");
    assert_eq!(
        app.http
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        404,
        "not on the API's address"
    );
    app.server.stop().await.unwrap();
}

async fn metrics_count_requests_by_route_and_status_for_the_token_holder(app: &TestApp) {
    let merchant = app.merchant("Tienda", MerchantStatus::Active).await;
    let (_, key) = app.key(merchant, Mode::Test).await;
    assert_eq!(get(app, "/v1/balance", &key).await.status(), 200);
    let missing = get(app, "/v1/payouts/po_0000000000000000000000000000", &key).await;
    assert_eq!(missing.status(), 404);

    let refused = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_error(
        refused,
        401,
        "authentication_error",
        "metrics_token_invalid",
    )
    .await;
    let wrong = app
        .http
        .get(app.url("/metrics"))
        .bearer_auth("metrics-token-for-tests-0123456789abcdeX")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    let text = app
        .http
        .get(app.url("/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let counted = |route: &str, status: &str| {
        text.lines().any(|l| {
            l.starts_with("cajero_http_requests_total{")
                && l.contains(&format!("route=\"{route}\""))
                && l.contains(&format!("status=\"{status}\""))
        })
    };
    assert!(counted("/v1/balance", "200"), "{text}");
    assert!(counted("/v1/payouts/{id}", "404"), "{text}");
    assert!(text.contains("cajero_http_request_duration_seconds_bucket"));
}

fn start() -> Timestamp {
    Timestamp::from_second(1_764_000_000).unwrap()
}

async fn limited(limits: RateLimitsConfig) -> TestApp {
    spawn_app_with(Engine::Sqlite, start(), |config| {
        config.rate_limits = limits;
        config.metrics.token = Some(Secret::new(METRICS_TOKEN));
    })
    .await
    .unwrap()
}

async fn get(app: &TestApp, path: &str, key: &str) -> reqwest::Response {
    app.http
        .get(app.url(path))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
}
