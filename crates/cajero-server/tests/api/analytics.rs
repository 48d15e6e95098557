//! `GET /v1/analytics/success` end to end on both engines: pay-ins and payouts made through the
//! API against the embedded simulator, paid and collected at its counters (one with an empty
//! drawer), some left to expire, across a Bogotá midnight; every figure checked exactly, the
//! scoping to the caller's merchant and mode, and the parameters refused.

use std::collections::BTreeMap;

use cajero_domain::id::MerchantId;
use cajero_domain::merchant::{MerchantStatus, Mode};
use serde_json::{Value, json};

use crate::both_engines;
use crate::helpers::{TestApp, assert_error};

both_engines!(
    every_figure_counts_each_order_of_the_caller_once_by_network_counter_and_day,
    bad_parameters_are_refused_naming_the_parameter,
);

/// A merchant's key.
struct Key(String);

/// A merchant and its test key.
async fn merchant(app: &TestApp, name: &str) -> (MerchantId, Key) {
    let m = app.merchant(name, MerchantStatus::Active).await;
    (m, Key(app.key(m, Mode::Test).await.1))
}

/// What `counter` of `network` should show.
fn at<'m>(
    counters: &'m mut BTreeMap<(String, String), Counter>,
    network: &str,
    counter: &str,
) -> &'m mut Counter {
    counters
        .entry((network.to_string(), counter.to_string()))
        .or_default()
}

async fn post_ok(app: &TestApp, key: &Key, path: &str, body: &Value) -> Value {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let response = app
        .http
        .post(app.url(path))
        .bearer_auth(&key.0)
        .header(
            "idempotency-key",
            format!("analytics-{}", N.fetch_add(1, Ordering::Relaxed)),
        )
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let value: Value = response.json().await.unwrap();
    assert!(status == 200 || status == 201, "{path}: {status} {value}");
    value
}

async fn success(app: &TestApp, key: &Key, query: &str) -> Value {
    let path = format!("/v1/analytics/success{query}");
    let response = app.get_with_key(&path, &key.0).await;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{path}: {body}");
    assert_eq!(body["object"], "analytics.success");
    body
}

fn payin_body(amount: i64, network: &str) -> Value {
    json!({"amount": amount, "currency": "COP", "network": network, "reference": "pedido",
           "customer": {"name": "Ana Gómez", "document": {"type": "CC", "number": "1020304050"}}})
}

fn payout_body(amount: i64) -> Value {
    json!({"amount": amount, "currency": "COP", "network": "efecty", "reference": "giro",
           "beneficiary": {"name": "Luis Pérez", "document": {"type": "CC", "number": "79876543"}}})
}

fn id(object: &Value) -> String {
    object["id"].as_str().unwrap().to_string()
}

/// The customer pays `payin` at an open counter (the test helper); the counter.
async fn pay(app: &TestApp, key: &Key, payin: &Value) -> String {
    let paid = post_ok(
        app,
        key,
        &format!("/v1/test_helpers/payins/{}/pay", id(payin)),
        &json!({}),
    )
    .await;
    assert_eq!(paid["approved"], true, "{paid}");
    paid["counter"].as_str().unwrap().to_string()
}

/// The beneficiary shows `document` for `payout` at an open counter; (outcome, counter).
async fn collect(app: &TestApp, key: &Key, payout: &Value, document: &str) -> (String, String) {
    let attempt = post_ok(
        app,
        key,
        &format!("/v1/test_helpers/payouts/{}/collect", id(payout)),
        &json!({"code": payout["pickup"]["code"], "document_number": document}),
    )
    .await;
    (
        attempt["outcome"].as_str().unwrap().to_string(),
        attempt["counter"].as_str().unwrap().to_string(),
    )
}

/// Time passes for the whole instance (cajero's clock and the simulator's), the callbacks go
/// out and the expiry worker runs once.
async fn advance(app: &TestApp, seconds: i64) {
    let state = &app.server.state;
    app.clock.advance(jiff::SignedDuration::from_secs(seconds));
    let sim = state.networks.sim().unwrap();
    sim.advance_clock(seconds).await.unwrap();
    sim.flush_callbacks(true).await.unwrap();
    cajero_server::workers::expiry::run_once(state)
        .await
        .unwrap();
}

/// An open Efecty counter other than the ones the test helpers pick first, its drawer emptied.
async fn empty_counter(app: &TestApp) -> String {
    let sim = app.server.state.networks.sim().unwrap();
    let counters = sim.counters(Some("efecty"), None, None).await.unwrap();
    let counter = counters
        .iter()
        .rev()
        .find(|c| c.open_now)
        .expect("an open Efecty counter")
        .id
        .clone();
    let emptied = app
        .http
        .put(format!(
            "{}/sim/v1/counters/{counter}/cash",
            app.server.state.networks.simulator_url().unwrap()
        ))
        .json(&json!({"cash": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(emptied.status(), 200);
    counter
}

/// What one counter should show.
#[derive(Default)]
struct Counter {
    paid: i64,
    paid_amount: i64,
    collected: i64,
    collected_amount: i64,
    failed: BTreeMap<String, i64>,
}

/// `by_counter.data` as the API orders it: by orders paid and collected, then pesos, then
/// failed attempts, then network and counter.
fn expected_counters(counters: BTreeMap<(String, String), Counter>) -> Value {
    let mut list: Vec<((String, String), Counter)> = counters.into_iter().collect();
    list.sort_by_key(|((network, counter), c)| {
        (
            std::cmp::Reverse(c.paid + c.collected),
            std::cmp::Reverse(c.paid_amount + c.collected_amount),
            std::cmp::Reverse(c.failed.values().sum::<i64>()),
            network.clone(),
            counter.clone(),
        )
    });
    Value::Array(
        list.into_iter()
            .map(|((network, counter), c)| {
                json!({"network": network, "counter_id": counter,
                       "payins": {"paid": c.paid, "paid_amount": c.paid_amount},
                       "payouts": {"collected": c.collected, "collected_amount": c.collected_amount,
                                   "failed_attempts": c.failed}})
            })
            .collect(),
    )
}

fn buckets(counts: [i64; 6]) -> Value {
    let bounds = [
        json!(900),
        json!(3_600),
        json!(21_600),
        json!(86_400),
        json!(259_200),
        Value::Null,
    ];
    Value::Array(
        bounds
            .into_iter()
            .zip(counts)
            .map(|(b, n)| json!({"under_seconds": b, "count": n}))
            .collect(),
    )
}

fn no_time() -> Value {
    json!({"count": 0, "average_seconds": null, "p50_seconds": null, "p90_seconds": null,
           "buckets": buckets([0; 6])})
}

fn no_payouts() -> Value {
    json!({"created": 0, "collected": 0, "expired": 0, "canceled": 0, "failed": 0, "open": 0,
           "rate_bps": null, "created_amount": 0, "collected_amount": 0,
           "time_to_collect": no_time()})
}

fn no_payins() -> Value {
    json!({"created": 0, "paid": 0, "expired": 0, "canceled": 0, "open": 0, "rate_bps": null,
           "created_amount": 0, "paid_amount": 0, "time_to_pay": no_time()})
}

/// Starting Monday 2025-11-24 11:00 in Bogotá (the test servers' clock): seven vouchers and
/// five pick-up codes of one merchant, paid, collected, refused at an empty counter, expired,
/// canceled or left open, the last ones created after Bogotá's midnight; another merchant's
/// voucher; then the report in full, filtered by network and by day, and in live mode.
async fn every_figure_counts_each_order_of_the_caller_once_by_network_counter_and_day(
    app: &TestApp,
) {
    let (tienda, a) = merchant(app, "Tienda").await;
    let mut counters: BTreeMap<(String, String), Counter> = BTreeMap::new();

    // 11:00: vouchers paid at once (Efecty and SuRed), one paid two hours later, one canceled,
    // one expiring in an hour.
    let p1 = post_ok(app, &a, "/v1/payins", &payin_body(50_000, "efecty")).await;
    let p2 = post_ok(app, &a, "/v1/payins", &payin_body(30_000, "efecty")).await;
    let p3 = post_ok(app, &a, "/v1/payins", &payin_body(20_000, "efecty")).await;
    let mut short = payin_body(10_000, "efecty");
    short["expires_in_seconds"] = json!(3_600);
    let _p4 = post_ok(app, &a, "/v1/payins", &short).await;
    let p5 = post_ok(app, &a, "/v1/payins", &payin_body(40_000, "sured")).await;
    assert_eq!(p5["network"], "sured", "{p5}");
    let c = pay(app, &a, &p1).await;
    at(&mut counters, "efecty", &c).paid += 1;
    at(&mut counters, "efecty", &c).paid_amount += 50_000;
    let c = pay(app, &a, &p5).await;
    at(&mut counters, "sured", &c).paid += 1;
    at(&mut counters, "sured", &c).paid_amount += 40_000;
    post_ok(
        app,
        &a,
        &format!("/v1/payins/{}/cancel", id(&p3)),
        &json!({}),
    )
    .await;

    // Pick-up codes: one refused for a wrong document then collected at once, one refused by
    // an empty drawer and collected two hours later, one expiring, one left open.
    post_ok(
        app,
        &a,
        "/v1/topups",
        &json!({"amount": 1_000_000, "currency": "COP"}),
    )
    .await;
    let o1 = post_ok(app, &a, "/v1/payouts", &payout_body(100_000)).await;
    let mut short = payout_body(60_000);
    short["expires_in_seconds"] = json!(3_600);
    let _o2 = post_ok(app, &a, "/v1/payouts", &short).await;
    let o3 = post_ok(app, &a, "/v1/payouts", &payout_body(70_000)).await;
    let _o4 = post_ok(app, &a, "/v1/payouts", &payout_body(80_000)).await;
    let (outcome, c) = collect(app, &a, &o1, "11111112").await;
    assert_eq!(outcome, "document_mismatch");
    *at(&mut counters, "efecty", &c)
        .failed
        .entry(outcome)
        .or_default() += 1;
    let (outcome, c) = collect(app, &a, &o1, "79876543").await;
    assert_eq!(outcome, "approved");
    at(&mut counters, "efecty", &c).collected += 1;
    at(&mut counters, "efecty", &c).collected_amount += 100_000;
    let empty = empty_counter(app).await;
    let sim = app.server.state.networks.sim().unwrap();
    let code: String = o3["pickup"]["code"]
        .as_str()
        .unwrap()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let refused = sim.collect(&empty, &code, "79876543").await.unwrap();
    assert_eq!(refused.outcome, "counter_out_of_cash", "{refused:?}");
    sim.flush_callbacks(true).await.unwrap();
    *at(&mut counters, "efecty", &empty)
        .failed
        .entry("counter_out_of_cash".into())
        .or_default() += 1;

    // 13:00: the short ones have expired; a voucher is paid and a code collected.
    advance(app, 2 * 3_600).await;
    let c = pay(app, &a, &p2).await;
    at(&mut counters, "efecty", &c).paid += 1;
    at(&mut counters, "efecty", &c).paid_amount += 30_000;
    let (outcome, c) = collect(app, &a, &o3, "79876543").await;
    assert_eq!(outcome, "approved");
    at(&mut counters, "efecty", &c).collected += 1;
    at(&mut counters, "efecty", &c).collected_amount += 70_000;

    // Another merchant's voucher, paid.
    let (_, b) = merchant(app, "Otra tienda").await;
    let other = post_ok(app, &b, "/v1/payins", &payin_body(99_000, "efecty")).await;
    pay(app, &b, &other).await;

    // 23:50 on Monday, then 00:10 on Tuesday in Bogotá: vouchers and a code left open.
    advance(app, 10 * 3_600 + 50 * 60).await;
    post_ok(app, &a, "/v1/payins", &payin_body(15_000, "efecty")).await;
    advance(app, 20 * 60).await;
    post_ok(app, &a, "/v1/payins", &payin_body(25_000, "efecty")).await;
    post_ok(app, &a, "/v1/payouts", &payout_body(90_000)).await;

    let report = success(app, &a, "?from=2025-11-24&to=2025-11-25").await;

    let efecty_payins = json!({"created": 6, "paid": 2, "expired": 1, "canceled": 1, "open": 2,
        "rate_bps": 5_000, "created_amount": 150_000, "paid_amount": 80_000,
        "time_to_pay": {"count": 2, "average_seconds": 3_600, "p50_seconds": 900,
                        "p90_seconds": 21_600, "buckets": buckets([1, 0, 1, 0, 0, 0])}});
    let sured_payins = json!({"created": 1, "paid": 1, "expired": 0, "canceled": 0, "open": 0,
        "rate_bps": 10_000, "created_amount": 40_000, "paid_amount": 40_000,
        "time_to_pay": {"count": 1, "average_seconds": 0, "p50_seconds": 900,
                        "p90_seconds": 900, "buckets": buckets([1, 0, 0, 0, 0, 0])}});
    let efecty_payouts = json!({"created": 5, "collected": 2, "expired": 1, "canceled": 0,
        "failed": 0, "open": 2, "rate_bps": 6_666, "created_amount": 400_000,
        "collected_amount": 170_000,
        "time_to_collect": {"count": 2, "average_seconds": 3_600, "p50_seconds": 900,
                            "p90_seconds": 21_600, "buckets": buckets([1, 0, 1, 0, 0, 0])}});
    let expected = json!({
        "object": "analytics.success", "livemode": false, "from": "2025-11-24",
        "to": "2025-11-25", "network": null, "currency": "COP",
        "payins": {"created": 7, "paid": 3, "expired": 1, "canceled": 1, "open": 2,
            "rate_bps": 6_000, "created_amount": 190_000, "paid_amount": 120_000,
            "time_to_pay": {"count": 3, "average_seconds": 2_400, "p50_seconds": 900,
                            "p90_seconds": 21_600, "buckets": buckets([2, 0, 1, 0, 0, 0])}},
        "payouts": efecty_payouts,
        "by_network": [
            {"network": "efecty", "payins": efecty_payins, "payouts": efecty_payouts},
            {"network": "sured", "payins": sured_payins, "payouts": no_payouts()},
        ],
        "by_counter": {"data": expected_counters(counters), "has_more": false},
        "by_day": [
            {"date": "2025-11-24", "network": "efecty",
             "payins": {"created": 5, "succeeded": 2, "open": 1, "rate_bps": 5_000,
                        "succeeded_amount": 80_000},
             "payouts": {"created": 4, "succeeded": 2, "open": 1, "rate_bps": 6_666,
                         "succeeded_amount": 170_000}},
            {"date": "2025-11-24", "network": "sured",
             "payins": {"created": 1, "succeeded": 1, "open": 0, "rate_bps": 10_000,
                        "succeeded_amount": 40_000},
             "payouts": {"created": 0, "succeeded": 0, "open": 0, "rate_bps": null,
                         "succeeded_amount": 0}},
            {"date": "2025-11-25", "network": "efecty",
             "payins": {"created": 1, "succeeded": 0, "open": 1, "rate_bps": null,
                        "succeeded_amount": 0},
             "payouts": {"created": 1, "succeeded": 0, "open": 1, "rate_bps": null,
                         "succeeded_amount": 0}},
        ],
    });
    assert_eq!(report, expected);

    // The default range is the last 30 Bogotá days, today (Tuesday) included.
    let default = success(app, &a, "").await;
    assert_eq!(
        (&default["from"], &default["to"]),
        (&json!("2025-10-27"), &json!("2025-11-25"))
    );
    assert_eq!(default["payins"], report["payins"]);
    assert_eq!(default["by_day"], report["by_day"]);
    // Empty parameters are parameters not given.
    assert_eq!(success(app, &a, "?from=&to=&network=").await, default);

    // One network.
    let sured = success(app, &a, "?from=2025-11-24&to=2025-11-25&network=sured").await;
    assert_eq!(sured["network"], "sured");
    assert_eq!(sured["payins"], sured_payins);
    assert_eq!(sured["payouts"], no_payouts());
    assert_eq!(sured["by_network"], json!([report["by_network"][1]]));
    assert_eq!(sured["by_day"], json!([report["by_day"][1]]));
    let sured_counters: Vec<&Value> = report["by_counter"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["network"] == "sured")
        .collect();
    assert_eq!(sured["by_counter"]["data"], json!(sured_counters));

    // One day: Tuesday's orders only.
    let tuesday = success(app, &a, "?from=2025-11-25&to=2025-11-25").await;
    assert_eq!(tuesday["payins"]["created"], 1);
    assert_eq!(tuesday["payins"]["created_amount"], 25_000);
    assert_eq!(tuesday["payouts"]["created"], 1);
    assert_eq!(tuesday["payouts"]["open"], 1);
    assert_eq!(
        tuesday["by_counter"],
        json!({"data": [], "has_more": false})
    );
    assert_eq!(tuesday["by_day"], json!([report["by_day"][2]]));

    // The other merchant sees its own voucher only.
    let theirs = success(app, &b, "?from=2025-11-24&to=2025-11-25").await;
    assert_eq!(theirs["payins"]["created"], 1);
    assert_eq!(theirs["payins"]["paid_amount"], 99_000);
    assert_eq!(theirs["payouts"], no_payouts());

    // The live key of the same merchant sees none of its test orders.
    let live_key = Key(app.key(tienda, Mode::Live).await.1);
    let live = success(app, &live_key, "?from=2025-11-24&to=2025-11-25").await;
    assert_eq!(live["livemode"], true);
    assert_eq!(live["payins"], no_payins());
    assert_eq!(live["payouts"], no_payouts());
    assert_eq!(live["by_network"], json!([]));
    assert_eq!(live["by_counter"], json!({"data": [], "has_more": false}));
    assert_eq!(live["by_day"], json!([]));
}

async fn bad_parameters_are_refused_naming_the_parameter(app: &TestApp) {
    let (_, a) = merchant(app, "Tienda").await;
    for (query, param) in [
        ("?from=2025-13-01&to=2025-12-31", "from"),
        ("?from=2025-11-01&to=yesterday", "to"),
        ("?from=2025-11-25&to=2025-11-24", "from"),
        ("?from=2025-01-01&to=2025-04-03", "to"),
        ("?to=2025-11-24&network=baloto", "network"),
    ] {
        let response = app
            .get_with_key(&format!("/v1/analytics/success{query}"), &a.0)
            .await;
        let body = assert_error(response, 400, "invalid_request_error", "parameter_invalid").await;
        assert_eq!(body["error"]["param"], param, "{query}: {body}");
    }
    // 92 days, both ends included, is the longest range.
    success(app, &a, "?from=2025-01-01&to=2025-04-02").await;
}
