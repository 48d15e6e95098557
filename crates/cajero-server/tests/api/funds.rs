//! Balances, top-ups, balance transactions and idempotency through the HTTP API.

use cajero_domain::merchant::{MerchantStatus, Mode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error};

crate::both_engines!(
    a_test_topup_is_on_the_balance_at_once,
    a_retried_topup_is_replayed_and_credited_once,
    concurrent_duplicates_create_one_topup,
    a_reused_key_with_another_body_is_refused,
    a_topup_without_an_idempotency_key_is_refused,
    a_live_topup_waits_for_the_operator,
    invalid_topups_get_specific_errors_and_leave_nothing_behind,
    merchants_and_modes_never_see_each_others_money,
);

async fn post_topup(app: &TestApp, key: &str, idem: &str, body: &Value) -> reqwest::Response {
    app.http
        .post(app.url("/v1/topups"))
        .bearer_auth(key)
        .header("idempotency-key", idem)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn get_json(app: &TestApp, key: &str, path: &str) -> Value {
    let response = app.get_with_key(path, key).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

async fn test_key(app: &TestApp) -> String {
    let m = app.merchant("A", MerchantStatus::Active).await;
    app.key(m, Mode::Test).await.1
}

async fn a_test_topup_is_on_the_balance_at_once(app: &TestApp) {
    let key = test_key(app).await;
    let response = post_topup(
        app,
        &key,
        "k1",
        &json!({"amount": 100000, "currency": "COP"}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let topup: Value = response.json().await.unwrap();
    assert_eq!(topup["object"], "topup");
    assert_eq!(topup["status"], "succeeded");
    assert_eq!(topup["livemode"], false);
    assert!(topup["id"].as_str().unwrap().starts_with("tu_"));
    let balance = get_json(app, &key, "/v1/balance").await;
    assert_eq!(
        balance["available"][0],
        json!({"currency": "COP", "amount": 100000})
    );
    let txns = get_json(app, &key, "/v1/balance_transactions").await;
    let txn = &txns["data"][0];
    assert_eq!(txn["id"], topup["balance_transaction"]);
    assert_eq!(txn["type"], "topup");
    assert_eq!(
        (
            txn["amount"].as_i64(),
            txn["fee"].as_i64(),
            txn["net"].as_i64()
        ),
        (Some(100000), Some(0), Some(100000))
    );
    assert_eq!(txn["status"], "available");
    assert_eq!(txn["source"], topup["id"]);
    let one = get_json(
        app,
        &key,
        &format!("/v1/balance_transactions/{}", txn["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(&one, txn);
    let again = get_json(
        app,
        &key,
        &format!("/v1/topups/{}", topup["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(again, topup);
}

async fn a_retried_topup_is_replayed_and_credited_once(app: &TestApp) {
    let key = test_key(app).await;
    let body = json!({"amount": 5000, "currency": "COP", "description": "prefund"});
    let first = post_topup(app, &key, "same", &body).await;
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();
    // The same JSON with its keys in another order is the same request.
    let reordered = json!({"description": "prefund", "currency": "COP", "amount": 5000});
    let second = post_topup(app, &key, "same", &reordered).await;
    assert_eq!(second.status(), 201);
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    let second: Value = second.json().await.unwrap();
    assert_eq!(first, second);
    let balance = get_json(app, &key, "/v1/balance").await;
    assert_eq!(balance["available"][0]["amount"], 5000);
}

async fn concurrent_duplicates_create_one_topup(app: &TestApp) {
    let key = test_key(app).await;
    let body = json!({"amount": 700, "currency": "COP"});
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let http = app.http.clone();
        let (url, key, body) = (app.url("/v1/topups"), key.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .bearer_auth(key)
                .header("idempotency-key", "race")
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }));
    }
    let mut ids = std::collections::HashSet::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        // Each request either got the one result or was told the first is still running.
        match status {
            201 => {
                ids.insert(body["id"].as_str().unwrap().to_string());
            }
            409 => assert_eq!(body["error"]["code"], "idempotency_request_in_progress"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(ids.len(), 1, "one top-up for one key");
    let balance = get_json(app, &key, "/v1/balance").await;
    assert_eq!(balance["available"][0]["amount"], 700);
    let list = get_json(app, &key, "/v1/topups").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
}

async fn a_reused_key_with_another_body_is_refused(app: &TestApp) {
    let key = test_key(app).await;
    post_topup(app, &key, "k", &json!({"amount": 1, "currency": "COP"})).await;
    let response = post_topup(app, &key, "k", &json!({"amount": 2, "currency": "COP"})).await;
    assert_error(response, 422, "idempotency_error", "idempotency_key_reused").await;
    let balance = get_json(app, &key, "/v1/balance").await;
    assert_eq!(balance["available"][0]["amount"], 1);
}

async fn a_topup_without_an_idempotency_key_is_refused(app: &TestApp) {
    let key = test_key(app).await;
    let response = app
        .http
        .post(app.url("/v1/topups"))
        .bearer_auth(&key)
        .json(&json!({"amount": 1, "currency": "COP"}))
        .send()
        .await
        .unwrap();
    assert_error(
        response,
        400,
        "invalid_request_error",
        "idempotency_key_missing",
    )
    .await;
    let long = "x".repeat(256);
    let response = post_topup(app, &key, &long, &json!({"amount": 1, "currency": "COP"})).await;
    assert_error(
        response,
        400,
        "invalid_request_error",
        "idempotency_key_invalid",
    )
    .await;
}

async fn a_live_topup_waits_for_the_operator(app: &TestApp) {
    let m = app.merchant("A", MerchantStatus::Active).await;
    let (_, live) = app.key(m, Mode::Live).await;
    let response = post_topup(
        app,
        &live,
        "k",
        &json!({"amount": 250000, "currency": "COP"}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let topup: Value = response.json().await.unwrap();
    assert_eq!(topup["status"], "pending");
    assert_eq!(topup["balance_transaction"], Value::Null);
    let balance = get_json(app, &live, "/v1/balance").await;
    assert_eq!(balance["available"][0]["amount"], 0);
    let id: cajero_domain::id::TopupId = topup["id"].as_str().unwrap().parse().unwrap();
    let now = app.server.state.clock.now();
    for _ in 0..2 {
        let confirmed = app
            .server
            .state
            .store
            .write(move |mut c| {
                Box::pin(async move { cajero_server::funds::confirm_topup(&mut c, id, now).await })
            })
            .await
            .unwrap();
        assert_eq!(
            confirmed.status,
            cajero_store::topups::TopupStatus::Succeeded
        );
    }
    let balance = get_json(app, &live, "/v1/balance").await;
    assert_eq!(balance["available"][0]["amount"], 250000);
    assert_eq!(balance["livemode"], true);
}

async fn invalid_topups_get_specific_errors_and_leave_nothing_behind(app: &TestApp) {
    let key = test_key(app).await;
    let cases = [
        (
            json!({"amount": 0, "currency": "COP"}),
            "amount_invalid",
            Some("amount"),
        ),
        (
            json!({"amount": -5, "currency": "COP"}),
            "amount_invalid",
            Some("amount"),
        ),
        (
            json!({"amount": 10_000_000_001i64, "currency": "COP"}),
            "amount_invalid",
            Some("amount"),
        ),
        (
            json!({"amount": "100", "currency": "COP"}),
            "parameter_invalid",
            None,
        ),
        (
            json!({"amount": 10.5, "currency": "COP"}),
            "parameter_invalid",
            None,
        ),
        (
            json!({"amount": 100, "currency": "EUR"}),
            "currency_invalid",
            Some("currency"),
        ),
        (
            json!({"amount": 100, "currency": "cop"}),
            "currency_invalid",
            Some("currency"),
        ),
        (
            json!({"amount": 100}),
            "parameter_missing",
            Some("currency"),
        ),
        (
            json!({"amount": 100, "currency": "COP", "extra": 1}),
            "parameter_unknown",
            Some("extra"),
        ),
        (
            json!({"amount": 100, "currency": "COP", "description": "x".repeat(501)}),
            "description_invalid",
            Some("description"),
        ),
        (json!([1, 2]), "parameter_invalid", None),
    ];
    for (n, (body, code, param)) in cases.into_iter().enumerate() {
        let response = post_topup(app, &key, &format!("bad-{n}"), &body).await;
        let error = assert_error(response, 400, "invalid_request_error", code).await;
        if let Some(param) = param {
            assert_eq!(error["error"]["param"], param, "{body}");
        }
    }
    let not_json = app
        .http
        .post(app.url("/v1/topups"))
        .bearer_auth(&key)
        .header("idempotency-key", "nj")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_error(not_json, 400, "invalid_request_error", "body_malformed").await;
    let no_type = app
        .http
        .post(app.url("/v1/topups"))
        .bearer_auth(&key)
        .header("idempotency-key", "nt")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_error(
        no_type,
        415,
        "invalid_request_error",
        "content_type_unsupported",
    )
    .await;
    let list = get_json(app, &key, "/v1/topups").await;
    assert!(list["data"].as_array().unwrap().is_empty());
    let txns = get_json(app, &key, "/v1/balance_transactions").await;
    assert!(txns["data"].as_array().unwrap().is_empty());
}

async fn merchants_and_modes_never_see_each_others_money(app: &TestApp) {
    let a = app.merchant("A", MerchantStatus::Active).await;
    let b = app.merchant("B", MerchantStatus::Active).await;
    let (_, a_test) = app.key(a, Mode::Test).await;
    let (_, a_live) = app.key(a, Mode::Live).await;
    let (_, b_test) = app.key(b, Mode::Test).await;
    let topup: Value = post_topup(
        app,
        &a_test,
        "k",
        &json!({"amount": 900, "currency": "COP"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let topup_path = format!("/v1/topups/{}", topup["id"].as_str().unwrap());
    let txn_path = format!(
        "/v1/balance_transactions/{}",
        topup["balance_transaction"].as_str().unwrap()
    );
    for key in [&b_test, &a_live] {
        for path in [&topup_path, &txn_path] {
            let response = app.get_with_key(path, key).await;
            assert_error(response, 404, "invalid_request_error", "resource_missing").await;
        }
        let balance = get_json(app, key, "/v1/balance").await;
        assert_eq!(balance["available"][0]["amount"], 0);
        assert!(
            get_json(app, key, "/v1/topups").await["data"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        assert!(
            get_json(app, key, "/v1/balance_transactions").await["data"]
                .as_array()
                .unwrap()
                .is_empty()
        );
    }
    // The same Idempotency-Key is a different key for another merchant.
    let other = post_topup(
        app,
        &b_test,
        "k",
        &json!({"amount": 900, "currency": "COP"}),
    )
    .await;
    assert_eq!(other.status(), 201);
    assert!(other.headers().get("idempotent-replayed").is_none());
}
