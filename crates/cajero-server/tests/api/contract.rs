//! The schema is the contract: what `/openapi.json` allows is accepted, what it refuses is
//! refused with an error a person can act on (the field's path, plain words, a `doc_url` to an
//! entry that exists), and the limits it documents are the ones enforced.

use cajero_domain::merchant::{MerchantStatus, Mode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error};

crate::both_engines!(
    a_whole_number_float_is_the_integer_and_a_fraction_is_refused_plainly,
    refusals_name_the_json_path_of_the_field_never_its_value,
    a_key_given_twice_is_refused_naming_its_path,
    empty_query_parameters_are_parameters_not_given,
    a_null_body_is_no_body_where_the_body_is_optional,
    a_webhook_endpoint_without_a_url_is_refused_as_the_schema_says,
    every_error_code_has_an_entry_on_the_docs_page,
    a_refund_with_nothing_left_says_so,
    the_documented_amount_limits_are_the_enforced_ones,
    the_documented_page_size_and_reference_length_are_the_enforced_ones,
);

/// Words that give away Rust's types in a message.
const RUST_WORDS: [&str; 9] = [
    "i64",
    "u32",
    "u64",
    "f64",
    "struct ",
    "Option",
    "::",
    "expected",
    "invalid type",
];

fn assert_plain(body: &Value) {
    let message = body["error"]["message"].as_str().unwrap_or("");
    for word in RUST_WORDS {
        assert!(!message.contains(word), "{word:?} in {message:?}");
    }
}

async fn test_key(app: &TestApp) -> String {
    let m = app.merchant("Tienda", MerchantStatus::Active).await;
    app.key(m, Mode::Test).await.1
}

async fn post_raw(app: &TestApp, key: &str, path: &str, body: &str) -> reqwest::Response {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    app.http
        .post(app.url(path))
        .bearer_auth(key)
        .header(
            "idempotency-key",
            format!("c-{}", N.fetch_add(1, Ordering::Relaxed)),
        )
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

async fn post_json(app: &TestApp, key: &str, path: &str, body: &Value) -> reqwest::Response {
    post_raw(app, key, path, &body.to_string()).await
}

async fn created(response: reqwest::Response) -> Value {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert!(status == 200 || status == 201, "{status} {body}");
    body
}

async fn a_whole_number_float_is_the_integer_and_a_fraction_is_refused_plainly(app: &TestApp) {
    let key = test_key(app).await;
    let payin = created(
        post_raw(
            app,
            &key,
            "/v1/payins",
            r#"{"amount": 113000.0, "currency": "COP"}"#,
        )
        .await,
    )
    .await;
    assert_eq!(payin["amount"], 113_000);
    let payin = created(
        post_raw(
            app,
            &key,
            "/v1/payins",
            r#"{"amount": 1.5e4, "currency": "COP"}"#,
        )
        .await,
    )
    .await;
    assert_eq!(payin["amount"], 15_000);

    let response = post_raw(
        app,
        &key,
        "/v1/payins",
        r#"{"amount": 113000.5, "currency": "COP"}"#,
    )
    .await;
    let body = assert_error(response, 400, "invalid_request_error", "parameter_invalid").await;
    assert_eq!(body["error"]["param"], "amount");
    assert_eq!(
        body["error"]["message"],
        "`amount` must be a whole number, not a number with a fraction."
    );
}

async fn refusals_name_the_json_path_of_the_field_never_its_value(app: &TestApp) {
    let key = test_key(app).await;
    let payout = |beneficiary: Value| json!({"amount": 20_000, "currency": "COP", "beneficiary": beneficiary});
    let cases = [
        (
            payout(json!({"name": "Luis Pérez", "document": {"type": "CC", "number": 1020304050}})),
            "parameter_invalid",
            "beneficiary.document.number",
        ),
        (
            payout(json!({"name": "Luis Pérez", "document": {"type": "CC", "numero": "1"}})),
            "parameter_unknown",
            "beneficiary.document.numero",
        ),
        (
            payout(json!({"name": "Luis Pérez", "document": {"type": "CC"}})),
            "parameter_missing",
            "beneficiary.document.number",
        ),
        (
            payout(json!({"name": "Luis Pérez", "document": "CC 1020304050"})),
            "parameter_invalid",
            "beneficiary.document",
        ),
        (
            payout(
                json!({"name": "Luis Pérez", "document": {"type": "CC", "number": "10203O4050"}}),
            ),
            "document_number_invalid",
            "beneficiary.document.number",
        ),
        (
            json!({"amount": "20000", "currency": "COP"}),
            "parameter_invalid",
            "amount",
        ),
    ];
    for (body, code, param) in cases {
        let response = post_json(app, &key, "/v1/payouts", &body).await;
        let error = assert_error(response, 400, "invalid_request_error", code).await;
        assert_eq!(error["error"]["param"], param, "{body} → {error}");
        assert_plain(&error);
    }
    let response = app.get_with_key("/v1/payins?limit=many", &key).await;
    let error = assert_error(response, 400, "invalid_request_error", "parameter_invalid").await;
    assert_eq!(error["error"]["param"], "limit");
    assert_plain(&error);
}

async fn a_key_given_twice_is_refused_naming_its_path(app: &TestApp) {
    let key = test_key(app).await;
    for (body, param) in [
        (
            r#"{"amount": 1000, "amount": 6000000, "currency": "COP"}"#,
            "amount",
        ),
        (
            r#"{"amount": 20000, "currency": "COP", "beneficiary": {"name": "Luis Pérez",
                "document": {"type": "CC", "number": "1020304050", "number": "1111111111"}}}"#,
            "beneficiary.document.number",
        ),
    ] {
        let response = post_raw(app, &key, "/v1/payouts", body).await;
        let error = assert_error(
            response,
            400,
            "invalid_request_error",
            "parameter_duplicated",
        )
        .await;
        assert_eq!(error["error"]["param"], param);
    }
    let response = app.get_with_key("/v1/payins?limit=1&limit=100", &key).await;
    let error = assert_error(
        response,
        400,
        "invalid_request_error",
        "parameter_duplicated",
    )
    .await;
    assert_eq!(error["error"]["param"], "limit");
}

async fn empty_query_parameters_are_parameters_not_given(app: &TestApp) {
    let key = test_key(app).await;
    for path in [
        "/v1/payins?limit=&starting_after=&ending_before=&status=&created[gte]=",
        "/v1/payouts?limit=",
        "/v1/events?type=&limit=",
        "/v1/balance_transactions?type=",
        "/v1/webhook_endpoints?limit=",
        "/v1/payins?limit=5.0",
    ] {
        let response = app.get_with_key(path, &key).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body["object"], "list");
    }
}

async fn a_null_body_is_no_body_where_the_body_is_optional(app: &TestApp) {
    let key = test_key(app).await;
    let event = created(
        post_json(
            app,
            &key,
            "/v1/test_helpers/events",
            &json!({"type": "payin.paid"}),
        )
        .await,
    )
    .await;
    let path = format!("/v1/events/{}/resend", event["id"].as_str().unwrap());
    for body in ["null", "{}", ""] {
        let response = post_raw(app, &key, &path, body).await;
        assert_eq!(response.status(), 200, "body {body:?}");
    }
}

async fn a_webhook_endpoint_without_a_url_is_refused_as_the_schema_says(app: &TestApp) {
    let key = test_key(app).await;
    for (body, code) in [
        (
            json!({"url": null, "enabled_events": ["*"]}),
            "parameter_invalid",
        ),
        (json!({"enabled_events": ["*"]}), "parameter_missing"),
    ] {
        let response = post_json(app, &key, "/v1/webhook_endpoints", &body).await;
        let error = assert_error(response, 400, "invalid_request_error", code).await;
        assert_eq!(error["error"]["param"], "url");
        assert_plain(&error);
    }
    let spec: Value = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let create = &spec["components"]["schemas"]["WebhookEndpointCreateParams"];
    assert_eq!(create["properties"]["url"]["type"], "string", "{create}");
    assert!(
        create["required"]
            .as_array()
            .unwrap()
            .contains(&json!("url"))
    );
}

async fn every_error_code_has_an_entry_on_the_docs_page(app: &TestApp) {
    let page = app
        .http
        .get(app.url("/docs"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for entry in cajero_server::error_codes::ERROR_CODES {
        let anchor = format!("id=\"error-{}\"", entry.code);
        assert!(page.contains(&anchor), "no {anchor} on /docs");
    }
    let spec: Value = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let codes = &spec["components"]["schemas"]["ErrorDetail"]["properties"]["code"]["enum"];
    assert_eq!(
        codes.as_array().map(Vec::len),
        Some(cajero_server::error_codes::ERROR_CODES.len())
    );
    // An error's doc_url leads to its entry on this very server.
    let response = app.http.get(app.url("/v1/payins")).send().await.unwrap();
    let body = assert_error(response, 401, "authentication_error", "api_key_missing").await;
    let doc_url = body["error"]["doc_url"].as_str().unwrap();
    let (page_url, anchor) = doc_url.split_once('#').unwrap();
    assert!(page_url.ends_with("/docs"));
    assert!(page.contains(&format!("id=\"{anchor}\"")));
}

async fn paid_payin(app: &TestApp, key: &str, amount: i64) -> String {
    let payin = created(
        post_json(
            app,
            key,
            "/v1/payins",
            &json!({"amount": amount, "currency": "COP"}),
        )
        .await,
    )
    .await;
    let id = payin["id"].as_str().unwrap().to_string();
    let attempt = created(
        post_json(
            app,
            key,
            &format!("/v1/test_helpers/payins/{id}/pay"),
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(attempt["payin"]["status"], "paid");
    id
}

async fn a_refund_with_nothing_left_says_so(app: &TestApp) {
    let key = test_key(app).await;
    let id = paid_payin(app, &key, 50_000).await;
    let path = format!("/v1/payins/{id}/refunds");
    created(
        post_json(
            app,
            &key,
            &path,
            &json!({"amount": 30_000, "method": "bank_transfer"}),
        )
        .await,
    )
    .await;
    let response = post_json(
        app,
        &key,
        &path,
        &json!({"amount": 30_000, "method": "bank_transfer"}),
    )
    .await;
    let error = assert_error(
        response,
        400,
        "invalid_request_error",
        "refund_exceeds_remaining",
    )
    .await;
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains("only 20000 COP is left"), "{message}");
    for (expires, code) in [
        (3_599, "expires_in_seconds_invalid"),
        (3_600, "parameter_unknown"),
    ] {
        let body = json!({"amount": 1, "method": "bank_transfer", "expires_in_seconds": expires});
        let response = post_json(app, &key, &path, &body).await;
        let error = assert_error(response, 400, "invalid_request_error", code).await;
        assert_eq!(error["error"]["param"], "expires_in_seconds");
    }
    created(post_json(app, &key, &path, &json!({"method": "bank_transfer"})).await).await;
    for body in [
        json!({"method": "bank_transfer"}),
        json!({"amount": 1, "method": "bank_transfer"}),
    ] {
        let response = post_json(app, &key, &path, &body).await;
        let error = assert_error(
            response,
            400,
            "invalid_request_error",
            "payin_fully_refunded",
        )
        .await;
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains("nothing is left to refund"), "{message}");
    }
}

async fn the_documented_amount_limits_are_the_enforced_ones(app: &TestApp) {
    let key = test_key(app).await;
    let spec: Value = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let amount = &spec["components"]["schemas"]["CreatePayin"]["properties"]["amount"];
    let min = amount["minimum"].as_f64().unwrap() as i64;
    let max = amount["maximum"].as_f64().unwrap() as i64;
    let description = amount["description"].as_str().unwrap();
    assert!(
        description.contains(&cajero_server::openapi::grouped(max)),
        "{description}"
    );
    for inside in [min, max] {
        let body = json!({"amount": inside, "currency": "COP", "network": "efecty"});
        created(post_json(app, &key, "/v1/payins", &body).await).await;
    }
    for outside in [min - 1, max + 1] {
        let body = json!({"amount": outside, "currency": "COP", "network": "efecty"});
        let response = post_json(app, &key, "/v1/payins", &body).await;
        let error = assert_error(
            response,
            400,
            "invalid_request_error",
            "amount_outside_network_limits",
        )
        .await;
        assert_eq!(error["error"]["param"], "amount");
    }
}

async fn the_documented_page_size_and_reference_length_are_the_enforced_ones(app: &TestApp) {
    let key = test_key(app).await;
    let spec: Value = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let limit = spec["paths"]["/v1/payins"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap()
        .clone();
    let max = limit["schema"]["maximum"].as_i64().unwrap();
    let response = app
        .get_with_key(&format!("/v1/payins?limit={max}"), &key)
        .await;
    assert_eq!(response.status(), 200);
    let response = app
        .get_with_key(&format!("/v1/payins?limit={}", max + 1), &key)
        .await;
    assert_error(response, 400, "invalid_request_error", "parameter_invalid").await;

    let reference = &spec["components"]["schemas"]["CreatePayin"]["properties"]["reference"];
    let max = reference["maxLength"].as_u64().unwrap() as usize;
    let body = json!({"amount": 10_000, "currency": "COP", "reference": "r".repeat(max)});
    created(post_json(app, &key, "/v1/payins", &body).await).await;
    let body = json!({"amount": 10_000, "currency": "COP", "reference": "r".repeat(max + 1)});
    let response = post_json(app, &key, "/v1/payins", &body).await;
    let error = assert_error(response, 400, "invalid_request_error", "reference_invalid").await;
    assert_eq!(error["error"]["param"], "reference");
}
