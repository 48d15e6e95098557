//! Pay-ins and payouts end to end through the HTTP API and the embedded simulator.

use cajero_domain::merchant::{MerchantStatus, Mode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error};

crate::both_engines!(
    a_voucher_is_issued_and_paid_at_a_counter,
    an_unpaid_voucher_expires_when_the_clock_passes_its_expiry,
    a_pending_voucher_can_be_canceled_once,
    a_payout_reserves_funds_and_is_collected_with_the_right_document,
    each_event_shows_its_order_as_it_stood_when_it_happened,
    an_expired_payout_returns_its_money,
    a_canceled_payout_returns_its_money,
    a_payout_without_enough_balance_fails,
    concurrent_payouts_never_overdraw_the_balance,
    magic_document_1111111111_is_rejected_by_the_network,
    magic_amount_66666_makes_the_network_unavailable,
    magic_document_2222222222_never_matches_at_the_counter,
    magic_amount_77777_confirms_twice_but_pays_once,
    magic_amount_88888_loses_the_callback,
    invalid_payins_get_specific_errors_and_leave_nothing_behind,
    a_retried_payin_is_replayed_and_created_once,
    a_callback_with_a_bad_signature_changes_nothing,
    a_bank_transfer_refund_is_recorded_within_the_paid_amount,
    a_cash_refund_is_paid_out_as_a_pickup_and_succeeds_when_collected,
    a_cash_refund_whose_pickup_expires_fails_and_can_be_refunded_again,
    the_poller_finds_a_payment_whose_callback_was_lost,
    a_callback_for_an_order_not_on_record_is_retried_not_dropped,
);

struct Merchant {
    key: String,
}

async fn merchant(app: &TestApp) -> Merchant {
    let m = app.merchant("Tienda", MerchantStatus::Active).await;
    Merchant {
        key: app.key(m, Mode::Test).await.1,
    }
}

async fn post(
    app: &TestApp,
    m: &Merchant,
    path: &str,
    idem: &str,
    body: &Value,
) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .bearer_auth(&m.key)
        .header("idempotency-key", idem)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn post_ok(app: &TestApp, m: &Merchant, path: &str, body: &Value) -> Value {
    let idem = format!("k-{}", rand_key());
    let response = post(app, m, path, &idem, body).await;
    let status = response.status().as_u16();
    let value: Value = response.json().await.unwrap();
    assert!(status == 200 || status == 201, "{path}: {status} {value}");
    value
}

fn rand_key() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

async fn get(app: &TestApp, m: &Merchant, path: &str) -> Value {
    let response = app.get_with_key(path, &m.key).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

fn payin_body(amount: i64) -> Value {
    json!({"amount": amount, "currency": "COP", "reference": "order-1042", "description": "Pedido 1042",
           "customer": {"name": "Ana Gómez", "email": "ana@example.com", "phone": "+573001234567",
                        "document": {"type": "CC", "number": "1020304050"}},
           "metadata": {"cart": "42"}})
}

fn payout_body(amount: i64, document: &str) -> Value {
    json!({"amount": amount, "currency": "COP", "reference": "giro-77",
           "beneficiary": {"name": "Luis Pérez", "document": {"type": "CC", "number": document},
                           "phone": "+573009876543"}})
}

async fn balance(app: &TestApp, m: &Merchant) -> (i64, i64, i64) {
    let b = get(app, m, "/v1/balance").await;
    let amount = |bucket: &str| b[bucket][0]["amount"].as_i64().unwrap();
    (amount("available"), amount("pending"), amount("reserved"))
}

async fn topup(app: &TestApp, m: &Merchant, amount: i64) {
    post_ok(
        app,
        m,
        "/v1/topups",
        &json!({"amount": amount, "currency": "COP"}),
    )
    .await;
}

/// Real time passes for the whole instance (the test harness moves its manual clock and the
/// embedded simulator's; no API can): the expiry worker then runs once.
async fn advance_real_time(app: &TestApp, seconds: i64) {
    let state = &app.server.state;
    app.clock.advance(jiff::SignedDuration::from_secs(seconds));
    let sim = state.networks.sim().unwrap();
    sim.advance_clock(seconds).await.unwrap();
    sim.flush_callbacks(true).await.unwrap();
    cajero_server::workers::expiry::run_once(state)
        .await
        .unwrap();
}

/// A test clock of `m` at the instance's time now; its id.
async fn test_clock(app: &TestApp, m: &Merchant) -> (String, i64) {
    use cajero_server::clock::Clock as _;
    let now = app.clock.now().as_second();
    let clock = post_ok(
        app,
        m,
        "/v1/test_helpers/test_clocks",
        &json!({"frozen_time": now}),
    )
    .await;
    (clock["id"].as_str().unwrap().to_string(), now)
}

/// Moves a test clock to `frozen_time`.
async fn advance_clock(app: &TestApp, m: &Merchant, clock: &str, frozen_time: i64) -> Value {
    post_ok(
        app,
        m,
        &format!("/v1/test_helpers/test_clocks/{clock}/advance"),
        &json!({"frozen_time": frozen_time}),
    )
    .await
}

async fn event_types(app: &TestApp, m: &Merchant) -> Vec<String> {
    let events = get(app, m, "/v1/events?limit=100").await;
    events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

async fn a_voucher_is_issued_and_paid_at_a_counter(app: &TestApp) {
    let m = merchant(app).await;
    let payin = post_ok(app, &m, "/v1/payins", &payin_body(150_000)).await;
    assert_eq!(payin["object"], "payin");
    assert_eq!(payin["status"], "pending");
    assert_eq!(payin["network"], "efecty");
    assert_eq!(payin["metadata"]["cart"], "42");
    let code = payin["voucher"]["payment_code"].as_str().unwrap();
    assert_eq!(code.len(), 9, "8 digits in two groups: {code}");
    assert_eq!(payin["voucher"]["agreement_code"], "111571");
    let barcode = payin["voucher"]["barcode"]["data"].as_str().unwrap();
    assert!(barcode.starts_with("(415)770"), "{barcode}");
    assert!(
        barcode.contains(&format!("(8020){}", code.replace(' ', ""))),
        "{barcode}"
    );
    assert!(barcode.contains("(3900)150000(96)"), "{barcode}");
    assert!(payin["voucher"]["url"].as_str().unwrap().contains("/v/"));
    let id = payin["id"].as_str().unwrap();

    let attempt = post_ok(
        app,
        &m,
        &format!("/v1/test_helpers/payins/{id}/pay"),
        &json!({}),
    )
    .await;
    assert_eq!(attempt["approved"], true, "{attempt}");
    assert_eq!(attempt["payin"]["status"], "paid");
    let paid = get(app, &m, &format!("/v1/payins/{id}")).await;
    assert_eq!(paid["status"], "paid");
    assert!(paid["paid_at"].is_string());
    assert_eq!(balance(app, &m).await, (0, 150_000, 0));
    let types = event_types(app, &m).await;
    assert!(
        types.contains(&"payin.created".to_string()) && types.contains(&"payin.paid".to_string()),
        "{types:?}"
    );
    let list = get(app, &m, "/v1/payins?status=paid").await;
    assert_eq!(list["data"][0]["id"], id);
    assert!(
        get(app, &m, "/v1/payins?status=pending").await["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

async fn an_unpaid_voucher_expires_when_the_clock_passes_its_expiry(app: &TestApp) {
    let m = merchant(app).await;
    let (clock, start) = test_clock(app, &m).await;
    let mut body = payin_body(20_000);
    body["expires_in_seconds"] = json!(3600);
    body["test_clock"] = json!(clock);
    let payin = post_ok(app, &m, "/v1/payins", &body).await;
    let id = payin["id"].as_str().unwrap();
    advance_clock(app, &m, &clock, start + 3_601).await;
    assert_eq!(
        get(app, &m, &format!("/v1/payins/{id}")).await["status"],
        "expired"
    );
    assert!(
        event_types(app, &m)
            .await
            .contains(&"payin.expired".to_string())
    );
}

async fn a_pending_voucher_can_be_canceled_once(app: &TestApp) {
    let m = merchant(app).await;
    let payin = post_ok(app, &m, "/v1/payins", &payin_body(20_000)).await;
    let id = payin["id"].as_str().unwrap();
    let canceled = post_ok(app, &m, &format!("/v1/payins/{id}/cancel"), &json!({})).await;
    assert_eq!(canceled["status"], "canceled");
    let again = post(
        app,
        &m,
        &format!("/v1/payins/{id}/cancel"),
        "another-key",
        &json!({}),
    )
    .await;
    assert_error(again, 400, "invalid_request_error", "payin_not_cancelable").await;
    let attempt = post_ok(
        app,
        &m,
        &format!("/v1/test_helpers/payins/{id}/pay"),
        &json!({}),
    )
    .await;
    assert_eq!(
        attempt["approved"], false,
        "a canceled voucher cannot be paid: {attempt}"
    );
}

async fn a_payout_reserves_funds_and_is_collected_with_the_right_document(app: &TestApp) {
    let m = merchant(app).await;
    topup(app, &m, 500_000).await;
    let payout = post_ok(app, &m, "/v1/payouts", &payout_body(200_000, "79876543")).await;
    assert_eq!(payout["status"], "available", "{payout}");
    let code = payout["pickup"]["code"].as_str().unwrap().to_string();
    assert_eq!(code.replace(' ', "").len(), 10);
    assert_eq!(balance(app, &m).await, (300_000, 0, 200_000));
    let id = payout["id"].as_str().unwrap();
    let path = format!("/v1/test_helpers/payouts/{id}/collect");

    let wrong = post_ok(
        app,
        &m,
        &path,
        &json!({"code": code, "document_number": "11111112"}),
    )
    .await;
    assert_eq!(wrong["approved"], false);
    assert_eq!(wrong["outcome"], "document_mismatch");
    assert_eq!(wrong["payout"]["status"], "available");
    assert_eq!(
        wrong["payout"]["attempts"][0]["outcome"],
        "document_mismatch"
    );

    let right = post_ok(
        app,
        &m,
        &path,
        &json!({"code": code, "document_number": "79876543"}),
    )
    .await;
    assert_eq!(right["approved"], true, "{right}");
    assert_eq!(right["payout"]["status"], "paid");
    assert_eq!(balance(app, &m).await, (300_000, 0, 0));
    let types = event_types(app, &m).await;
    for t in [
        "payout.created",
        "payout.available",
        "payout.attempt_failed",
        "payout.paid",
    ] {
        assert!(types.contains(&t.to_string()), "{t} missing from {types:?}");
    }
}

/// The events are written from the row the state change itself returned (no read after it):
/// each shows the change it announces.
async fn each_event_shows_its_order_as_it_stood_when_it_happened(app: &TestApp) {
    let m = merchant(app).await;
    topup(app, &m, 500_000).await;
    let payout = post_ok(app, &m, "/v1/payouts", &payout_body(200_000, "79876543")).await;
    let id = payout["id"].as_str().unwrap();
    let code = payout["pickup"]["code"].as_str().unwrap().to_string();
    let collect = format!("/v1/test_helpers/payouts/{id}/collect");
    let right = json!({"code": code, "document_number": "79876543"});
    assert_eq!(post_ok(app, &m, &collect, &right).await["approved"], true);
    let payin = post_ok(app, &m, "/v1/payins", &payin_body(150_000)).await;
    let payin_id = payin["id"].as_str().unwrap();
    let pay = format!("/v1/test_helpers/payins/{payin_id}/pay");
    assert_eq!(post_ok(app, &m, &pay, &json!({})).await["approved"], true);

    let events = get(app, &m, "/v1/events?limit=100").await;
    let object = |event_type: &str| -> Value {
        let found: Vec<&Value> = events["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == event_type)
            .collect();
        assert_eq!(found.len(), 1, "one {event_type}: {events}");
        found[0]["data"]["object"].clone()
    };
    for announced in ["payout.created", "payout.available"] {
        let o = object(announced);
        assert_eq!(o["id"], id);
        assert_eq!(o["status"], "available", "{announced}: {o}");
        assert_eq!(o["pickup"]["code"], code.as_str(), "{announced}: {o}");
        assert!(o["paid_at"].is_null(), "{announced}: {o}");
    }
    let paid = object("payout.paid");
    assert_eq!(paid["status"], "paid", "{paid}");
    assert!(paid["paid_at"].is_string(), "{paid}");
    assert_eq!(paid["attempts"][0]["outcome"], "approved", "{paid}");
    let payin_paid = object("payin.paid");
    assert_eq!(payin_paid["id"], payin_id);
    assert_eq!(payin_paid["status"], "paid", "{payin_paid}");
    assert!(payin_paid["paid_at"].is_string(), "{payin_paid}");
    assert_eq!(object("payin.created")["status"], "pending");
}

async fn an_expired_payout_returns_its_money(app: &TestApp) {
    let m = merchant(app).await;
    topup(app, &m, 100_000).await;
    let (clock, start) = test_clock(app, &m).await;
    let mut body = payout_body(60_000, "79876543");
    body["expires_in_seconds"] = json!(3600);
    body["test_clock"] = json!(clock);
    let payout = post_ok(app, &m, "/v1/payouts", &body).await;
    assert_eq!(balance(app, &m).await, (40_000, 0, 60_000));
    advance_clock(app, &m, &clock, start + 3_601).await;
    let id = payout["id"].as_str().unwrap();
    assert_eq!(
        get(app, &m, &format!("/v1/payouts/{id}")).await["status"],
        "expired"
    );
    assert_eq!(balance(app, &m).await, (100_000, 0, 0));
    let code = payout["pickup"]["code"].as_str().unwrap();
    let late = post_ok(
        app,
        &m,
        &format!("/v1/test_helpers/payouts/{id}/collect"),
        &json!({"code": code, "document_number": "79876543"}),
    )
    .await;
    assert_eq!(
        late["approved"], false,
        "an expired code pays nothing: {late}"
    );
}

async fn a_canceled_payout_returns_its_money(app: &TestApp) {
    let m = merchant(app).await;
    topup(app, &m, 100_000).await;
    let payout = post_ok(app, &m, "/v1/payouts", &payout_body(60_000, "79876543")).await;
    let id = payout["id"].as_str().unwrap();
    let canceled = post_ok(app, &m, &format!("/v1/payouts/{id}/cancel"), &json!({})).await;
    assert_eq!(canceled["status"], "canceled");
    assert_eq!(balance(app, &m).await, (100_000, 0, 0));
    let code = payout["pickup"]["code"].as_str().unwrap();
    let after = post_ok(
        app,
        &m,
        &format!("/v1/test_helpers/payouts/{id}/collect"),
        &json!({"code": code, "document_number": "79876543"}),
    )
    .await;
    assert_eq!(after["outcome"], "canceled");
}

async fn a_payout_without_enough_balance_fails(app: &TestApp) {
    let m = merchant(app).await;
    topup(app, &m, 10_000).await;
    let payout = post_ok(app, &m, "/v1/payouts", &payout_body(10_001, "79876543")).await;
    assert_eq!(payout["status"], "failed");
    assert_eq!(payout["failure_code"], "insufficient_balance");
    assert_eq!(payout["pickup"], Value::Null);
    assert_eq!(balance(app, &m).await, (10_000, 0, 0));
    assert!(
        event_types(app, &m)
            .await
            .contains(&"payout.failed".to_string())
    );
}

/// Twenty concurrent payouts of 100,000 against 1,000,000: exactly ten get codes.
async fn concurrent_payouts_never_overdraw_the_balance(app: &TestApp) {
    let m = merchant(app).await;
    topup(app, &m, 1_000_000).await;
    let mut tasks = Vec::new();
    for n in 0..20 {
        let (http, url, key) = (app.http.clone(), app.url("/v1/payouts"), m.key.clone());
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .bearer_auth(key)
                .header("idempotency-key", format!("race-{n}"))
                .json(&payout_body(100_000, "79876543"))
                .send()
                .await
                .unwrap();
            r.json::<Value>().await.unwrap()
        }));
    }
    let mut available = 0;
    for task in tasks {
        let payout = task.await.unwrap();
        match payout["status"].as_str() {
            Some("available") => available += 1,
            Some("failed") => assert_eq!(payout["failure_code"], "insufficient_balance"),
            other => panic!("unexpected {other:?}: {payout}"),
        }
    }
    assert_eq!(available, 10);
    assert_eq!(balance(app, &m).await, (0, 0, 1_000_000));
}

async fn magic_document_1111111111_is_rejected_by_the_network(app: &TestApp) {
    let m = merchant(app).await;
    topup(app, &m, 100_000).await;
    let payout = post_ok(app, &m, "/v1/payouts", &payout_body(50_000, "1111111111")).await;
    assert_eq!(payout["status"], "failed");
    assert_eq!(payout["failure_code"], "network_rejected");
    assert_eq!(balance(app, &m).await, (100_000, 0, 0));
}

async fn magic_amount_66666_makes_the_network_unavailable(app: &TestApp) {
    let m = merchant(app).await;
    topup(app, &m, 100_000).await;
    let response = post(
        app,
        &m,
        "/v1/payouts",
        "p-66666",
        &payout_body(66_666, "79876543"),
    )
    .await;
    assert_eq!(response.status(), 424);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "network_unavailable");
    assert_eq!(balance(app, &m).await, (100_000, 0, 0));
    let response = post(app, &m, "/v1/payins", "i-66666", &payin_body(66_666)).await;
    assert_error(response, 424, "network_error", "network_unavailable").await;
    assert!(
        get(app, &m, "/v1/payins").await["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

async fn magic_document_2222222222_never_matches_at_the_counter(app: &TestApp) {
    let m = merchant(app).await;
    topup(app, &m, 100_000).await;
    let payout = post_ok(app, &m, "/v1/payouts", &payout_body(50_000, "2222222222")).await;
    let id = payout["id"].as_str().unwrap();
    let code = payout["pickup"]["code"].as_str().unwrap();
    let attempt = post_ok(
        app,
        &m,
        &format!("/v1/test_helpers/payouts/{id}/collect"),
        &json!({"code": code, "document_number": "2222222222"}),
    )
    .await;
    assert_eq!(attempt["outcome"], "document_mismatch");
    assert_eq!(attempt["payout"]["status"], "available");
}

async fn magic_amount_77777_confirms_twice_but_pays_once(app: &TestApp) {
    let m = merchant(app).await;
    let payin = post_ok(app, &m, "/v1/payins", &payin_body(77_777)).await;
    let id = payin["id"].as_str().unwrap();
    post_ok(
        app,
        &m,
        &format!("/v1/test_helpers/payins/{id}/pay"),
        &json!({}),
    )
    .await;
    assert_eq!(
        get(app, &m, &format!("/v1/payins/{id}")).await["status"],
        "paid"
    );
    assert_eq!(balance(app, &m).await, (0, 77_777, 0));
    let paid_events = event_types(app, &m)
        .await
        .into_iter()
        .filter(|t| t == "payin.paid")
        .count();
    assert_eq!(paid_events, 1);
    let txns = get(app, &m, "/v1/balance_transactions?type=payin").await;
    assert_eq!(txns["data"].as_array().unwrap().len(), 1);
}

async fn magic_amount_88888_loses_the_callback(app: &TestApp) {
    let m = merchant(app).await;
    let payin = post_ok(app, &m, "/v1/payins", &payin_body(88_888)).await;
    let id = payin["id"].as_str().unwrap();
    let attempt = post_ok(
        app,
        &m,
        &format!("/v1/test_helpers/payins/{id}/pay"),
        &json!({}),
    )
    .await;
    assert_eq!(attempt["approved"], true);
    assert_eq!(
        attempt["payin"]["status"], "pending",
        "only the settlement file shows this payment"
    );
}

async fn invalid_payins_get_specific_errors_and_leave_nothing_behind(app: &TestApp) {
    let m = merchant(app).await;
    let mut bad_doc = payin_body(10_000);
    bad_doc["customer"]["document"] = json!({"type": "NIT", "number": "900123456-1"});
    let mut letters = payin_body(10_000);
    letters["customer"]["document"] = json!({"type": "CC", "number": "10203O4050"});
    let cases = [
        (
            json!({"amount": 0, "currency": "COP"}),
            400,
            "amount_invalid",
        ),
        (
            json!({"amount": -1, "currency": "COP"}),
            400,
            "amount_invalid",
        ),
        (
            json!({"amount": 1000, "currency": "USD"}),
            400,
            "currency_unsupported",
        ),
        (
            json!({"amount": 1000, "currency": "XYZ"}),
            400,
            "currency_invalid",
        ),
        (
            json!({"amount": 500, "currency": "COP"}),
            400,
            "amount_outside_network_limits",
        ),
        (
            json!({"amount": 6_000_001, "currency": "COP"}),
            400,
            "amount_outside_network_limits",
        ),
        (
            json!({"amount": 1000, "currency": "COP", "expires_in_seconds": 60}),
            400,
            "expires_in_seconds_invalid",
        ),
        (
            json!({"amount": 1000, "currency": "COP", "colour": "red"}),
            400,
            "parameter_unknown",
        ),
        (
            json!({"amount": "1000", "currency": "COP"}),
            400,
            "parameter_invalid",
        ),
        (
            json!({"amount": 1000, "currency": "COP", "network": "moneygram"}),
            400,
            "network_unknown",
        ),
        (
            json!({"amount": 1000, "currency": "COP", "metadata": {"k": 1}}),
            400,
            "metadata_invalid",
        ),
        (bad_doc, 400, "document_number_invalid"),
        (letters, 400, "document_number_invalid"),
    ];
    for (n, (body, status, code)) in cases.into_iter().enumerate() {
        let response = post(app, &m, "/v1/payins", &format!("bad-{n}"), &body).await;
        assert_error(response, status, "invalid_request_error", code).await;
    }
    let huge = json!({"amount": 1000, "currency": "COP", "description": "x".repeat(70_000)});
    let response = post(app, &m, "/v1/payins", "huge", &huge).await;
    assert_eq!(response.status(), 413);
    assert!(
        get(app, &m, "/v1/payins").await["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

async fn a_retried_payin_is_replayed_and_created_once(app: &TestApp) {
    let m = merchant(app).await;
    let first = post(app, &m, "/v1/payins", "same", &payin_body(30_000)).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let second = post(app, &m, "/v1/payins", "same", &payin_body(30_000)).await;
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    let second: Value = second.json().await.unwrap();
    assert_eq!(first, second);
    let different = post(app, &m, "/v1/payins", "same", &payin_body(30_001)).await;
    assert_error(
        different,
        422,
        "idempotency_error",
        "idempotency_key_reused",
    )
    .await;
    assert_eq!(
        get(app, &m, "/v1/payins").await["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn a_callback_with_a_bad_signature_changes_nothing(app: &TestApp) {
    let m = merchant(app).await;
    let payin = post_ok(app, &m, "/v1/payins", &payin_body(30_000)).await;
    let id = payin["id"].as_str().unwrap();
    let forged = json!({"id": "cb_forged", "type": "collection.paid", "created_at": "2026-11-25T00:00:00Z",
                        "network": "efecty", "merchant_id": "cajero", "data": {"order": {}, "attempt": null}});
    let now = jiff::Timestamp::now().as_second().to_string();
    let response = app
        .http
        .post(app.url("/callbacks/sim"))
        .header("sim-callback-id", "cb_forged")
        .header("sim-timestamp", &now)
        .header("sim-signature", "v1=00")
        .json(&forged)
        .send()
        .await
        .unwrap();
    assert_error(
        response,
        401,
        "authentication_error",
        "callback_signature_invalid",
    )
    .await;
    assert_eq!(
        get(app, &m, &format!("/v1/payins/{id}")).await["status"],
        "pending"
    );
}

async fn paid_payin(app: &TestApp, m: &Merchant, amount: i64) -> String {
    let payin = post_ok(app, m, "/v1/payins", &payin_body(amount)).await;
    let id = payin["id"].as_str().unwrap().to_string();
    let attempt = post_ok(
        app,
        m,
        &format!("/v1/test_helpers/payins/{id}/pay"),
        &json!({}),
    )
    .await;
    assert_eq!(attempt["payin"]["status"], "paid");
    id
}

fn refund_beneficiary() -> Value {
    json!({"name": "Ana Gómez", "document": {"type": "CC", "number": "1020304050"}})
}

async fn a_bank_transfer_refund_is_recorded_within_the_paid_amount(app: &TestApp) {
    let m = merchant(app).await;
    let pending = post_ok(app, &m, "/v1/payins", &payin_body(10_000)).await;
    let response = post(
        app,
        &m,
        &format!("/v1/payins/{}/refunds", pending["id"].as_str().unwrap()),
        "r0",
        &json!({"amount": 1000, "method": "bank_transfer"}),
    )
    .await;
    assert_error(
        response,
        400,
        "invalid_request_error",
        "payin_not_refundable",
    )
    .await;

    let id = paid_payin(app, &m, 150_000).await;
    let refund = post_ok(
        app,
        &m,
        &format!("/v1/payins/{id}/refunds"),
        &json!({"amount": 50_000, "method": "bank_transfer", "reason": "devolución"}),
    )
    .await;
    assert_eq!(refund["object"], "refund");
    assert_eq!(refund["status"], "succeeded");
    assert_eq!(refund["payout"], Value::Null);
    assert_eq!(
        get(app, &m, &format!("/v1/payins/{id}")).await["amount_refunded"],
        50_000
    );
    let too_much = post(
        app,
        &m,
        &format!("/v1/payins/{id}/refunds"),
        "r2",
        &json!({"amount": 100_001, "method": "bank_transfer"}),
    )
    .await;
    assert_error(
        too_much,
        400,
        "invalid_request_error",
        "refund_exceeds_remaining",
    )
    .await;
    let bad_method = post(
        app,
        &m,
        &format!("/v1/payins/{id}/refunds"),
        "r3",
        &json!({"amount": 1, "method": "card"}),
    )
    .await;
    assert_error(
        bad_method,
        400,
        "invalid_request_error",
        "refund_method_invalid",
    )
    .await;
    let rest = post_ok(
        app,
        &m,
        &format!("/v1/payins/{id}/refunds"),
        &json!({"method": "bank_transfer"}),
    )
    .await;
    assert_eq!(
        rest["amount"], 100_000,
        "without an amount the rest is refunded"
    );
    let list = get(app, &m, &format!("/v1/payins/{id}/refunds")).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
}

async fn a_cash_refund_is_paid_out_as_a_pickup_and_succeeds_when_collected(app: &TestApp) {
    let m = merchant(app).await;
    topup(app, &m, 200_000).await;
    let id = paid_payin(app, &m, 150_000).await;
    let refund = post_ok(
        app,
        &m,
        &format!("/v1/payins/{id}/refunds"),
        &json!({"amount": 60_000, "method": "cash_pickup", "beneficiary": refund_beneficiary()}),
    )
    .await;
    assert_eq!(refund["status"], "pending", "{refund}");
    let payout_id = refund["payout"].as_str().unwrap().to_string();
    let payout = get(app, &m, &format!("/v1/payouts/{payout_id}")).await;
    assert_eq!(payout["status"], "available");
    assert_eq!(balance(app, &m).await, (140_000, 150_000, 60_000));
    let code = payout["pickup"]["code"].as_str().unwrap();
    let collected = post_ok(
        app,
        &m,
        &format!("/v1/test_helpers/payouts/{payout_id}/collect"),
        &json!({"code": code, "document_number": "1020304050"}),
    )
    .await;
    assert_eq!(collected["payout"]["status"], "paid");
    let refunds = get(app, &m, &format!("/v1/payins/{id}/refunds")).await;
    assert_eq!(refunds["data"][0]["status"], "succeeded");
    let types = event_types(app, &m).await;
    assert!(
        types.contains(&"refund.created".to_string())
            && types.contains(&"refund.succeeded".to_string()),
        "{types:?}"
    );
}

async fn a_cash_refund_whose_pickup_expires_fails_and_can_be_refunded_again(app: &TestApp) {
    let m = merchant(app).await;
    topup(app, &m, 200_000).await;
    let id = paid_payin(app, &m, 150_000).await;
    let refund = post_ok(app, &m, &format!("/v1/payins/{id}/refunds"),
        &json!({"amount": 150_000, "method": "cash_pickup", "beneficiary": refund_beneficiary(), "expires_in_seconds": 3600})).await;
    assert_eq!(
        get(app, &m, &format!("/v1/payins/{id}")).await["amount_refunded"],
        150_000
    );
    advance_real_time(app, 3_601).await;
    let refunds = get(app, &m, &format!("/v1/payins/{id}/refunds")).await;
    assert_eq!(refunds["data"][0]["status"], "failed", "{refunds}");
    assert_eq!(
        get(app, &m, &format!("/v1/payins/{id}")).await["amount_refunded"],
        0
    );
    assert_eq!(
        balance(app, &m).await.0,
        200_000,
        "the pick-up's funds are back"
    );
    assert!(
        event_types(app, &m)
            .await
            .contains(&"refund.failed".to_string())
    );
    let again = post_ok(
        app,
        &m,
        &format!("/v1/payins/{id}/refunds"),
        &json!({"method": "bank_transfer"}),
    )
    .await;
    assert_eq!(again["amount"], 150_000);
    let _ = refund;
}

/// Magic amount 88888 loses the payment callback; the poller re-queries the quiet voucher once
/// `orders.poll_after_ms` passed and records the payment.
async fn the_poller_finds_a_payment_whose_callback_was_lost(app: &TestApp) {
    let m = merchant(app).await;
    let payin = post_ok(app, &m, "/v1/payins", &payin_body(88_888)).await;
    let id = payin["id"].as_str().unwrap();
    post_ok(
        app,
        &m,
        &format!("/v1/test_helpers/payins/{id}/pay"),
        &json!({}),
    )
    .await;
    let state = &app.server.state;
    assert_eq!(
        cajero_server::workers::poller::run_once(state)
            .await
            .unwrap(),
        0,
        "not quiet yet"
    );
    assert_eq!(
        get(app, &m, &format!("/v1/payins/{id}")).await["status"],
        "pending"
    );
    advance_real_time(app, 16 * 60).await;
    assert!(
        cajero_server::workers::poller::run_once(state)
            .await
            .unwrap()
            >= 1
    );
    let paid = get(app, &m, &format!("/v1/payins/{id}")).await;
    assert_eq!(paid["status"], "paid");
    assert_eq!(balance(app, &m).await.1, 88_888);
}

/// A genuine callback about an order cajero has not recorded yet (its create is still
/// committing) is answered 503, so the network retries it, and is not marked as seen.
async fn a_callback_for_an_order_not_on_record_is_retried_not_dropped(app: &TestApp) {
    let sim = app.server.state.networks.sim().unwrap().config().clone();
    let body = json!({"id": "cb_future", "type": "collection.paid", "created_at": "2025-11-24T16:00:00Z",
        "network": "efecty", "merchant_id": sim.merchant_id,
        "data": {"order": {"id": "col_notyet", "object": "collection", "network": "efecty",
            "merchant_id": sim.merchant_id, "reference": "pi_notyet", "status": "paid", "amount": 10000,
            "currency": "COP", "payment_code": "12345678", "payment_code_display": "1234 5678",
            "agreement_code": "111571", "barcode": {"symbology": "gs1-128", "data": "x"},
            "created_at": "2025-11-24T16:00:00Z", "updated_at": "2025-11-24T16:00:00Z",
            "expires_at": "2025-11-27T16:00:00Z", "active_from": "2025-11-24T16:00:00Z",
            "paid_at": "2025-11-24T16:00:00Z", "paid_counter_id": "EF-BOG-001", "canceled_at": null,
            "expired_at": null, "wrong_code_attempts": 0, "attempts": []},
            "attempt": null}}).to_string();
    let ts = jiff::Timestamp::now().as_second();
    let signature = cajero_sim::signing::sign_callback(&sim.secret, ts, body.as_bytes());
    let send = || {
        app.http
            .post(app.url("/callbacks/sim"))
            .header("content-type", "application/json")
            .header("sim-callback-id", "cb_future")
            .header("sim-timestamp", ts.to_string())
            .header("sim-signature", signature.clone())
            .body(body.clone())
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), 503);
    let second = send().await.unwrap();
    assert_eq!(second.status(), 503, "still not marked as seen");
}
