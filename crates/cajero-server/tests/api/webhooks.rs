//! The webhook endpoints and events API (API.md, "Webhooks"), on both engines.

use cajero_domain::merchant::{MerchantStatus, Mode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error};

crate::both_engines!(
    an_endpoint_is_created_with_its_secret_shown_once,
    invalid_endpoints_are_refused_with_the_field_named,
    live_endpoints_must_use_https_on_public_addresses,
    endpoints_are_kept_apart_by_merchant_and_mode,
    an_endpoint_can_be_updated_disabled_reenabled_and_deleted,
    a_merchant_has_a_bounded_number_of_endpoints,
    events_are_listed_newest_first_and_filtered_by_type,
    an_idempotency_key_replays_the_creation,
    unknown_ids_are_404,
);

async fn post(app: &TestApp, key: &str, path: &str, body: Value) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn test_key(app: &TestApp) -> String {
    let merchant = app.merchant("Tienda", MerchantStatus::Active).await;
    app.key(merchant, Mode::Test).await.1
}

const URL: &str = "http://127.0.0.1:9/hooks";

async fn an_endpoint_is_created_with_its_secret_shown_once(app: &TestApp) {
    let key = test_key(app).await;
    let response = post(
        app,
        &key,
        "/v1/webhook_endpoints",
        json!({"url": URL, "enabled_events": ["payin.paid", "payout.*", "payout.*"],
               "description": "orders", "metadata": {"team": "pagos"}}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert!(created["id"].as_str().unwrap().starts_with("we_"));
    assert_eq!(created["object"], "webhook_endpoint");
    assert_eq!(created["livemode"], false);
    assert_eq!(created["status"], "enabled");
    assert_eq!(created["enabled_events"], json!(["payin.paid", "payout.*"]));
    assert_eq!(created["metadata"]["team"], "pagos");
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"));
    assert!(standardwebhooks::Webhook::new(secret).is_ok());

    let id = created["id"].as_str().unwrap();
    let fetched: Value = app
        .get_with_key(&format!("/v1/webhook_endpoints/{id}"), &key)
        .await
        .json()
        .await
        .unwrap();
    assert!(fetched.get("secret").is_none());
    assert_eq!(fetched["url"], URL);
    let listed: Value = app
        .get_with_key("/v1/webhook_endpoints", &key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["object"], "list");
    assert_eq!(listed["data"][0]["id"], id);
    assert!(listed["data"][0].get("secret").is_none());
}

async fn invalid_endpoints_are_refused_with_the_field_named(app: &TestApp) {
    let key = test_key(app).await;
    let cases = [
        (json!({"enabled_events": ["*"]}), "parameter_missing", "url"),
        (
            json!({"url": "not a url", "enabled_events": ["*"]}),
            "url_invalid",
            "url",
        ),
        (
            json!({"url": "ftp://example.com", "enabled_events": ["*"]}),
            "url_invalid",
            "url",
        ),
        (
            json!({"url": "http://10.0.0.1/x", "enabled_events": ["*"]}),
            "url_not_allowed",
            "url",
        ),
        (
            json!({"url": "http://169.254.169.254/", "enabled_events": ["*"]}),
            "url_not_allowed",
            "url",
        ),
        (json!({"url": URL}), "parameter_missing", "enabled_events"),
        (
            json!({"url": URL, "enabled_events": []}),
            "enabled_events_invalid",
            "enabled_events",
        ),
        (
            json!({"url": URL, "enabled_events": ["payout.exploded"]}),
            "enabled_events_invalid",
            "enabled_events",
        ),
        (
            json!({"url": URL, "enabled_events": ["payouts.*"]}),
            "enabled_events_invalid",
            "enabled_events",
        ),
        (
            json!({"url": URL, "enabled_events": ["*"], "description": "x".repeat(501)}),
            "parameter_invalid",
            "description",
        ),
        (
            json!({"url": URL, "enabled_events": ["*"], "metadata": {"k": "v".repeat(501)}}),
            "parameter_invalid",
            "metadata",
        ),
        (
            json!({"url": URL, "enabled_events": ["*"], "secret": "mine"}),
            "parameter_unknown",
            "secret",
        ),
    ];
    for (body, code, param) in cases {
        let response = post(app, &key, "/v1/webhook_endpoints", body.clone()).await;
        let error = assert_error(response, 400, "invalid_request_error", code).await;
        assert_eq!(error["error"]["param"], param, "{body}");
    }
}

async fn live_endpoints_must_use_https_on_public_addresses(app: &TestApp) {
    let merchant = app.merchant("Viva", MerchantStatus::Active).await;
    let (_, live) = app.key(merchant, Mode::Live).await;
    for url in ["http://127.0.0.1:9/hooks", "http://hooks.example.com/x"] {
        let response = post(
            app,
            &live,
            "/v1/webhook_endpoints",
            json!({"url": url, "enabled_events": ["*"]}),
        )
        .await;
        assert_error(response, 400, "invalid_request_error", "url_invalid").await;
    }
    for url in [
        "https://127.0.0.1:9/hooks",
        "https://localhost/hooks",
        "https://[::1]/x",
        "https://192.168.0.10/x",
    ] {
        let response = post(
            app,
            &live,
            "/v1/webhook_endpoints",
            json!({"url": url, "enabled_events": ["*"]}),
        )
        .await;
        assert_error(response, 400, "invalid_request_error", "url_not_allowed").await;
    }
}

async fn endpoints_are_kept_apart_by_merchant_and_mode(app: &TestApp) {
    let a = app.merchant("A", MerchantStatus::Active).await;
    let b = app.merchant("B", MerchantStatus::Active).await;
    let (_, a_test) = app.key(a, Mode::Test).await;
    let (_, a_live) = app.key(a, Mode::Live).await;
    let (_, b_test) = app.key(b, Mode::Test).await;
    let created: Value = post(
        app,
        &a_test,
        "/v1/webhook_endpoints",
        json!({"url": URL, "enabled_events": ["*"]}),
    )
    .await
    .json()
    .await
    .unwrap();
    let id = created["id"].as_str().unwrap();
    for key in [&a_live, &b_test] {
        let response = app
            .get_with_key(&format!("/v1/webhook_endpoints/{id}"), key)
            .await;
        assert_error(response, 404, "invalid_request_error", "resource_missing").await;
        let listed: Value = app
            .get_with_key("/v1/webhook_endpoints", key)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(listed["data"], json!([]));
        let response = app
            .http
            .delete(app.url(&format!("/v1/webhook_endpoints/{id}")))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
    }
    // Events too: a test event of A is not B's, nor A's live mode's.
    let event: Value = post(
        app,
        &a_test,
        "/v1/test_helpers/events",
        json!({"type": "payin.paid"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let event_id = event["id"].as_str().unwrap();
    for key in [&a_live, &b_test] {
        let response = app
            .get_with_key(&format!("/v1/events/{event_id}"), key)
            .await;
        assert_eq!(response.status(), 404);
    }
    let response = post(
        app,
        &a_live,
        "/v1/test_helpers/events",
        json!({"type": "payin.paid"}),
    )
    .await;
    assert_error(response, 403, "permission_error", "test_mode_only").await;
}

async fn an_endpoint_can_be_updated_disabled_reenabled_and_deleted(app: &TestApp) {
    let key = test_key(app).await;
    let created: Value = post(
        app,
        &key,
        "/v1/webhook_endpoints",
        json!({"url": URL, "enabled_events": ["*"]}),
    )
    .await
    .json()
    .await
    .unwrap();
    let path = format!("/v1/webhook_endpoints/{}", created["id"].as_str().unwrap());
    let updated: Value = post(
        app,
        &key,
        &path,
        json!({"enabled_events": ["refund.*"], "disabled": true}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(updated["enabled_events"], json!(["refund.*"]));
    assert_eq!(updated["status"], "disabled");
    assert_eq!(updated["disabled_reason"], "requested");
    let enabled: Value = post(app, &key, &path, json!({"disabled": false}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(enabled["status"], "enabled");
    assert_eq!(enabled["disabled_reason"], Value::Null);

    let response = app
        .http
        .delete(app.url(&path))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let deleted: Value = response.json().await.unwrap();
    assert_eq!(deleted["deleted"], true);
    let response = app.get_with_key(&path, &key).await;
    assert_error(response, 404, "invalid_request_error", "resource_missing").await;
}

async fn a_merchant_has_a_bounded_number_of_endpoints(app: &TestApp) {
    let key = test_key(app).await;
    let max = cajero_server::webhook::endpoints::ENDPOINTS_PER_MODE_MAX;
    for _ in 0..max {
        let response = post(
            app,
            &key,
            "/v1/webhook_endpoints",
            json!({"url": URL, "enabled_events": ["*"]}),
        )
        .await;
        assert_eq!(response.status(), 201);
    }
    let response = post(
        app,
        &key,
        "/v1/webhook_endpoints",
        json!({"url": URL, "enabled_events": ["*"]}),
    )
    .await;
    assert_error(
        response,
        400,
        "invalid_request_error",
        "webhook_endpoint_limit_reached",
    )
    .await;
}

async fn events_are_listed_newest_first_and_filtered_by_type(app: &TestApp) {
    let key = test_key(app).await;
    let mut ids = Vec::new();
    for t in [
        "payin.paid",
        "payout.paid",
        "payout.failed",
        "refund.created",
    ] {
        let event: Value = post(
            app,
            &key,
            "/v1/test_helpers/events",
            json!({"type": t, "object": {"n": t}}),
        )
        .await
        .json()
        .await
        .unwrap();
        assert_eq!(event["object"], "event");
        assert_eq!(event["data"]["object"]["n"], t);
        ids.push(event["id"].as_str().unwrap().to_string());
        app.clock.advance(jiff::SignedDuration::from_secs(1));
    }
    let all: Value = app
        .get_with_key("/v1/events", &key)
        .await
        .json()
        .await
        .unwrap();
    let listed: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    let newest_first: Vec<&str> = ids.iter().rev().map(String::as_str).collect();
    assert_eq!(listed, newest_first);

    let payouts: Value = app
        .get_with_key("/v1/events?type=payout.*", &key)
        .await
        .json()
        .await
        .unwrap();
    let types: Vec<&str> = payouts["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, vec!["payout.failed", "payout.paid"]);
    let two: Value = app
        .get_with_key("/v1/events?type=payin.paid,refund.created&limit=1", &key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(two["data"][0]["type"], "refund.created");
    assert_eq!(two["has_more"], true);
    let after: Value = app
        .get_with_key(&format!("/v1/events?starting_after={}", ids[1]), &key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["data"].as_array().unwrap().len(), 1);
    let response = app
        .get_with_key("/v1/events?type=payout.exploded", &key)
        .await;
    assert_error(response, 400, "invalid_request_error", "parameter_invalid").await;
}

async fn an_idempotency_key_replays_the_creation(app: &TestApp) {
    let key = test_key(app).await;
    let send = || {
        app.http
            .post(app.url("/v1/webhook_endpoints"))
            .bearer_auth(&key)
            .header("idempotency-key", "create-endpoint-1")
            .json(&json!({"url": URL, "enabled_events": ["*"]}))
            .send()
    };
    let first: Value = send().await.unwrap().json().await.unwrap();
    let again = send().await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(first["id"], again["id"]);
    let listed: Value = app
        .get_with_key("/v1/webhook_endpoints", &key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
}

async fn unknown_ids_are_404(app: &TestApp) {
    let key = test_key(app).await;
    for path in [
        "/v1/webhook_endpoints/we_nope",
        "/v1/events/evt_nope",
        "/v1/events/evt_01jh3q9y8x7w6v5t4s3r2q1p0n",
    ] {
        let response = app.get_with_key(path, &key).await;
        assert_error(response, 404, "invalid_request_error", "resource_missing").await;
    }
    let response = post(app, &key, "/v1/events/evt_nope/resend", json!({})).await;
    assert_error(response, 404, "invalid_request_error", "resource_missing").await;
}
