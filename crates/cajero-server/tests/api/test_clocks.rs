//! Test clocks (issue 11): a merchant's own time that moves only what lives on it, and
//! payments made in time that always end `paid`, whatever the order of the sweep and the
//! network's callbacks.

use cajero_domain::merchant::{MerchantStatus, Mode};
use futures::StreamExt as _;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error};

crate::both_engines!(
    a_thousand_vouchers_paid_in_their_last_seconds_end_paid_though_their_callbacks_come_late,
    payouts_collected_in_their_last_seconds_end_paid_though_their_callbacks_come_late,
    a_payment_made_in_time_wins_over_an_expiry_that_got_there_first,
    a_collection_made_in_time_wins_over_an_expiry_and_is_posted_again,
    a_collection_in_time_that_the_balance_no_longer_covers_is_fronted_from_suspense,
    a_test_clock_moves_only_the_objects_that_live_on_it,
    test_clocks_refuse_what_they_cannot_do_and_say_why,
    a_test_clock_is_deleted_only_when_nothing_open_lives_on_it,
    a_voucher_whose_network_is_silent_stays_open_then_closes_after_a_day,
    a_payin_on_a_test_clock_settles_when_its_date_comes_on_the_clock,
    an_object_left_open_on_a_deleted_clock_expires_on_real_time,
    webhook_timestamps_and_ids_carry_real_time_after_an_advance,
    creating_a_test_clock_is_idempotent,
);

/// Creates and pays run this many at once.
const CONCURRENCY: usize = 8;

struct Merchant {
    id: cajero_domain::id::MerchantId,
    key: String,
}

async fn merchant(app: &TestApp, name: &str) -> Merchant {
    let m = app.merchant(name, MerchantStatus::Active).await;
    Merchant {
        id: m,
        key: app.key(m, Mode::Test).await.1,
    }
}

fn next_key() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!("tc-{}", N.fetch_add(1, Ordering::Relaxed))
}

/// A POST as a well-behaved client sends it: on 429 it waits `Retry-After` and sends the same
/// request again with the same key (a thousand creates can outrun the per-key rate limit).
async fn post(app: &TestApp, key: &str, path: &str, body: &Value) -> reqwest::Response {
    post_keyed(app, key, path, body, &next_key()).await
}

/// [`post`] with the caller's `Idempotency-Key`.
async fn post_keyed(
    app: &TestApp,
    key: &str,
    path: &str,
    body: &Value,
    idempotency_key: &str,
) -> reqwest::Response {
    loop {
        let response = app
            .http
            .post(app.url(path))
            .bearer_auth(key)
            .header("idempotency-key", idempotency_key)
            .json(body)
            .send()
            .await
            .unwrap();
        if response.status() != 429 {
            return response;
        }
        let wait_s: u64 = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        tokio::time::sleep(std::time::Duration::from_secs(wait_s.max(1))).await;
    }
}

async fn post_ok(app: &TestApp, m: &Merchant, path: &str, body: &Value) -> Value {
    let response = post(app, &m.key, path, body).await;
    let status = response.status().as_u16();
    let value: Value = response.json().await.unwrap();
    assert!(status == 200 || status == 201, "{path}: {status} {value}");
    value
}

async fn get(app: &TestApp, m: &Merchant, path: &str) -> Value {
    let response = app.get_with_key(path, &m.key).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

fn now_s(app: &TestApp) -> i64 {
    use cajero_server::clock::Clock as _;
    app.clock.now().as_second()
}

/// A test clock of `m` at `frozen_time`; its id.
async fn clock_at(app: &TestApp, m: &Merchant, frozen_time: i64) -> String {
    let clock = post_ok(
        app,
        m,
        "/v1/test_helpers/test_clocks",
        &json!({"frozen_time": frozen_time, "name": "pruebas"}),
    )
    .await;
    assert_eq!(clock["object"], "test_clock");
    assert_eq!(clock["status"], "ready");
    clock["id"].as_str().unwrap().to_string()
}

async fn advance(app: &TestApp, m: &Merchant, clock: &str, frozen_time: i64) -> Value {
    post_ok(
        app,
        m,
        &format!("/v1/test_helpers/test_clocks/{clock}/advance"),
        &json!({"frozen_time": frozen_time}),
    )
    .await
}

fn payin_body(amount: i64, clock: Option<&str>) -> Value {
    json!({"amount": amount, "currency": "COP", "expires_in_seconds": 3600, "test_clock": clock})
}

fn payout_body(amount: i64, clock: Option<&str>) -> Value {
    json!({"amount": amount, "currency": "COP", "expires_in_seconds": 3600, "test_clock": clock,
           "beneficiary": {"name": "Luis Pérez", "document": {"type": "CC", "number": "79876543"}}})
}

async fn balance(app: &TestApp, m: &Merchant) -> (i64, i64, i64) {
    let b = get(app, m, "/v1/balance").await;
    let amount = |bucket: &str| b[bucket][0]["amount"].as_i64().unwrap_or(0);
    (amount("available"), amount("pending"), amount("reserved"))
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

/// Every object of a list, following the cursor.
async fn all(app: &TestApp, m: &Merchant, path: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let page_path = match &after {
            Some(id) => format!("{path}{sep}limit=100&starting_after={id}"),
            None => format!("{path}{sep}limit=100"),
        };
        let page = get(app, m, &page_path).await;
        let data = page["data"].as_array().unwrap().clone();
        after = data.last().map(|o| o["id"].as_str().unwrap().to_string());
        out.extend(data);
        if page["has_more"] != true {
            return out;
        }
    }
}

/// The embedded simulator's base URL.
fn sim_url(app: &TestApp) -> String {
    app.server.state.networks.simulator_url().unwrap()
}

/// Every callback the simulator sends is held back for an hour of real time: the network is
/// slower than the expiry sweep.
async fn delay_every_callback(app: &TestApp) {
    let answer = app
        .http
        .put(format!("{}/sim/v1/faults", sim_url(app)))
        .json(&json!({"callback_delay_bps": 10000, "callback_delay_ms": 3_600_000}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
}

/// An Efecty counter open at the clock's time, with a drawer that never runs out.
async fn open_counter(app: &TestApp, clock: &str) -> String {
    let list: Value = app
        .http
        .get(format!(
            "{}/counter/v1/counters?network=efecty&test_clock={clock}",
            sim_url(app)
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let counter = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["open_now"] == true)
        .expect("a counter open at the clock's time")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let filled = app
        .http
        .put(format!("{}/sim/v1/counters/{counter}/cash", sim_url(app)))
        .json(&json!({"cash": 1_000_000_000}))
        .send()
        .await
        .unwrap();
    assert_eq!(filled.status(), 200);
    counter
}

/// At a counter of the simulated network, directly (cajero's helper would push the callbacks
/// through at once).
async fn at_counter(app: &TestApp, operation: &str, body: Value) -> Value {
    let answer: Value = app
        .http
        .post(format!("{}/counter/v1/{operation}", sim_url(app)))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["approved"], true, "{answer}");
    answer
}

/// Monday 2025-11-24 11:00 in Bogotá, when counters are open.
const MONDAY_11H: i64 = 1_764_000_000;

async fn a_thousand_vouchers_paid_in_their_last_seconds_end_paid_though_their_callbacks_come_late(
    app: &TestApp,
) {
    const VOUCHERS: usize = 1_000;
    let m = merchant(app, "Tienda").await;
    let clock = clock_at(app, &m, MONDAY_11H).await;
    let body = payin_body(20_000, Some(&clock));
    let payins: Vec<Value> = futures::stream::iter(0..VOUCHERS)
        .map(|_| post_ok(app, &m, "/v1/payins", &body))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    for p in &payins {
        assert_eq!(p["test_clock"], clock.as_str());
        assert_eq!(p["created"], "2025-11-24T16:00:00Z");
        assert_eq!(p["expires_at"], "2025-11-24T17:00:00Z");
    }
    delay_every_callback(app).await;
    // Five seconds before they expire, every customer pays.
    advance(app, &m, &clock, MONDAY_11H + 3_600 - 5).await;
    let counter = open_counter(app, &clock).await;
    futures::stream::iter(&payins)
        .map(|p| {
            at_counter(
                app,
                "pay",
                json!({"counter_id": counter, "code": p["voucher"]["payment_code"], "amount": 20_000}),
            )
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    assert!(
        all(app, &m, "/v1/payins?status=paid").await.is_empty(),
        "the callbacks are late: nothing is known to be paid yet"
    );

    // The clock passes their expiry before any callback arrives.
    let advanced = advance(app, &m, &clock, MONDAY_11H + 3_600 + 60).await;

    assert_eq!(advanced["status"], "ready", "{advanced}");
    assert_eq!(advanced["open_objects"], 0, "{advanced}");
    let paid = all(app, &m, "/v1/payins?status=paid").await;
    assert_eq!(paid.len(), VOUCHERS, "every voucher paid in time ends paid");
    assert!(all(app, &m, "/v1/payins?status=expired").await.is_empty());
    assert!(paid.iter().all(|p| p["paid_at"] == "2025-11-24T16:59:55Z"));
    let exceptions = |types: Vec<String>| {
        types
            .iter()
            .filter(|t| *t == "reconciliation.exception.created")
            .count()
    };
    assert_eq!(exceptions(event_types(app, &m).await), 0);
    let fees: i64 = paid.iter().map(|p| p["fee"].as_i64().unwrap()).sum();
    let collected = 20_000 * VOUCHERS as i64;
    assert_eq!(balance(app, &m).await, (0, collected - fees, 0));

    // The late callbacks arrive at last: they change nothing.
    let sim = app.server.state.networks.sim().unwrap();
    while sim.flush_callbacks(true).await.unwrap() > 0 {}
    assert_eq!(all(app, &m, "/v1/payins?status=paid").await.len(), VOUCHERS);
    assert_eq!(exceptions(event_types(app, &m).await), 0);
    assert_eq!(balance(app, &m).await, (0, collected - fees, 0));
}

/// The same race as the vouchers', for 1,000 pick-up codes collected in their last seconds.
async fn payouts_collected_in_their_last_seconds_end_paid_though_their_callbacks_come_late(
    app: &TestApp,
) {
    const PAYOUTS: usize = 1_000;
    let m = merchant(app, "Giros").await;
    post_ok(
        app,
        &m,
        "/v1/topups",
        &json!({"amount": 100_000_000, "currency": "COP"}),
    )
    .await;
    let clock = clock_at(app, &m, MONDAY_11H).await;
    let body = payout_body(50_000, Some(&clock));
    let payouts: Vec<Value> = futures::stream::iter(0..PAYOUTS)
        .map(|_| post_ok(app, &m, "/v1/payouts", &body))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    assert!(payouts.iter().all(|p| p["status"] == "available"));
    let reserved: i64 = payouts
        .iter()
        .map(|p| 50_000 + p["fee"].as_i64().unwrap())
        .sum();
    assert_eq!(
        balance(app, &m).await,
        (100_000_000 - reserved, 0, reserved)
    );
    delay_every_callback(app).await;
    advance(app, &m, &clock, MONDAY_11H + 3_600 - 5).await;
    let counter = open_counter(app, &clock).await;
    futures::stream::iter(&payouts)
        .map(|p| {
            at_counter(
                app,
                "collect",
                json!({"counter_id": counter, "code": p["pickup"]["code"], "document_number": "79876543"}),
            )
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await;

    let advanced = advance(app, &m, &clock, MONDAY_11H + 3_600 + 60).await;

    assert_eq!(advanced["status"], "ready", "{advanced}");
    let paid = all(app, &m, "/v1/payouts?status=paid").await;
    assert_eq!(
        paid.len(),
        PAYOUTS,
        "every code collected in time ends paid"
    );
    assert!(all(app, &m, "/v1/payouts?status=expired").await.is_empty());
    assert!(
        !event_types(app, &m)
            .await
            .contains(&"reconciliation.exception.created".to_string())
    );
    assert_eq!(
        balance(app, &m).await,
        (100_000_000 - reserved, 0, 0),
        "the reservations were posted, never released"
    );
}

/// The network's signed callback for one of our orders, as the simulator would send it, with
/// the order changed by `change`.
async fn callback(app: &TestApp, order_id: &str, event: &str, change: impl FnOnce(&mut Value)) {
    let mut order: Value = app
        .http
        .get(format!("{}/sim/v1/orders/{order_id}", sim_url(app)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    change(&mut order);
    let sim = app.server.state.networks.sim().unwrap().config().clone();
    let id = format!("cb_test_{order_id}_{event}");
    let body = json!({"id": id, "type": event, "created_at": order["updated_at"],
        "network": order["network"], "merchant_id": sim.merchant_id,
        "data": {"order": order, "attempt": null}})
    .to_string();
    let ts = jiff::Timestamp::now().as_second();
    let signature = cajero_sim::signing::sign_callback(&sim.secret, ts, body.as_bytes());
    let answer = app
        .http
        .post(app.url("/callbacks/sim"))
        .header("content-type", "application/json")
        .header("sim-callback-id", &id)
        .header("sim-timestamp", ts.to_string())
        .header("sim-signature", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
}

/// The network's id for one of our pay-ins or payouts.
async fn network_order_id(app: &TestApp, m: &Merchant, object_id: &str) -> String {
    let (merchant, id) = (m.id, object_id.to_string());
    app.server
        .state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                let order = if id.starts_with("pi_") {
                    let payin = id.parse().unwrap();
                    cajero_store::payins::get(&mut c, merchant, Mode::Test, payin)
                        .await?
                        .map(|p| p.network_order_id)
                } else {
                    let payout = id.parse().unwrap();
                    cajero_store::payouts::get(&mut c, merchant, Mode::Test, payout)
                        .await?
                        .and_then(|p| p.network_order_id)
                };
                Ok::<_, cajero_store::StoreError>(order.unwrap())
            })
        })
        .await
        .unwrap()
}

async fn a_payment_made_in_time_wins_over_an_expiry_that_got_there_first(app: &TestApp) {
    let m = merchant(app, "Tienda").await;
    let clock = clock_at(app, &m, MONDAY_11H).await;
    let on_time = post_ok(app, &m, "/v1/payins", &payin_body(30_000, Some(&clock))).await;
    let too_late = post_ok(app, &m, "/v1/payins", &payin_body(40_000, Some(&clock))).await;
    advance(app, &m, &clock, MONDAY_11H + 3_601).await;
    for p in [&on_time, &too_late] {
        let id = p["id"].as_str().unwrap();
        assert_eq!(
            get(app, &m, &format!("/v1/payins/{id}")).await["status"],
            "expired"
        );
    }

    // The network reports a payment made five seconds before expiry: it wins.
    let on_time_id = on_time["id"].as_str().unwrap();
    let order = network_order_id(app, &m, on_time_id).await;
    callback(app, &order, "collection.paid", |o| {
        o["status"] = json!("paid");
        o["paid_at"] = json!("2025-11-24T16:59:55Z");
        o["paid_counter_id"] = json!("EF-BOG-001");
    })
    .await;
    let paid = get(app, &m, &format!("/v1/payins/{on_time_id}")).await;
    assert_eq!(paid["status"], "paid", "{paid}");
    assert_eq!(paid["paid_at"], "2025-11-24T16:59:55Z");
    let types = event_types(app, &m).await;
    assert!(types.contains(&"payin.paid".to_string()), "{types:?}");
    assert!(!types.contains(&"reconciliation.exception.created".to_string()));
    assert_eq!(
        balance(app, &m).await.1,
        30_000 - paid["fee"].as_i64().unwrap()
    );

    // A payment after expiry does not reopen the voucher: it is an exception, never lost.
    let late_id = too_late["id"].as_str().unwrap();
    let order = network_order_id(app, &m, late_id).await;
    callback(app, &order, "collection.paid", |o| {
        o["status"] = json!("paid");
        o["paid_at"] = json!("2025-11-24T17:00:05Z");
        o["paid_counter_id"] = json!("EF-BOG-001");
    })
    .await;
    assert_eq!(
        get(app, &m, &format!("/v1/payins/{late_id}")).await["status"],
        "expired"
    );
    assert!(
        event_types(app, &m)
            .await
            .contains(&"reconciliation.exception.created".to_string())
    );
}

async fn a_collection_made_in_time_wins_over_an_expiry_and_is_posted_again(app: &TestApp) {
    let m = merchant(app, "Giros").await;
    post_ok(
        app,
        &m,
        "/v1/topups",
        &json!({"amount": 500_000, "currency": "COP"}),
    )
    .await;
    let clock = clock_at(app, &m, MONDAY_11H).await;
    let payout = post_ok(app, &m, "/v1/payouts", &payout_body(100_000, Some(&clock))).await;
    let cost = 100_000 + payout["fee"].as_i64().unwrap();
    advance(app, &m, &clock, MONDAY_11H + 3_601).await;
    let id = payout["id"].as_str().unwrap();
    assert_eq!(
        get(app, &m, &format!("/v1/payouts/{id}")).await["status"],
        "expired"
    );
    assert_eq!(balance(app, &m).await, (500_000, 0, 0), "released");

    let order = network_order_id(app, &m, id).await;
    callback(app, &order, "payout.paid", |o| {
        o["status"] = json!("paid");
        o["paid_at"] = json!("2025-11-24T16:59:55Z");
        o["paid_counter_id"] = json!("EF-BOG-001");
    })
    .await;

    let paid = get(app, &m, &format!("/v1/payouts/{id}")).await;
    assert_eq!(paid["status"], "paid", "{paid}");
    assert_eq!(
        balance(app, &m).await,
        (500_000 - cost, 0, 0),
        "the cash handed out is paid from the balance again"
    );
    assert!(
        !event_types(app, &m)
            .await
            .contains(&"reconciliation.exception.created".to_string())
    );
    assert_ledger_balances(app).await;
}

async fn a_collection_in_time_that_the_balance_no_longer_covers_is_fronted_from_suspense(
    app: &TestApp,
) {
    let m = merchant(app, "Giros").await;
    post_ok(
        app,
        &m,
        "/v1/topups",
        &json!({"amount": 150_000, "currency": "COP"}),
    )
    .await;
    let clock = clock_at(app, &m, MONDAY_11H).await;
    let payout = post_ok(app, &m, "/v1/payouts", &payout_body(100_000, Some(&clock))).await;
    advance(app, &m, &clock, MONDAY_11H + 3_601).await;
    let id = payout["id"].as_str().unwrap();
    // The released funds are spent on another payout (on real time).
    let other = post_ok(app, &m, "/v1/payouts", &payout_body(120_000, None)).await;
    assert_eq!(other["status"], "available", "{other}");
    let before = balance(app, &m).await;

    let order = network_order_id(app, &m, id).await;
    callback(app, &order, "payout.paid", |o| {
        o["status"] = json!("paid");
        o["paid_at"] = json!("2025-11-24T16:59:55Z");
        o["paid_counter_id"] = json!("EF-BOG-001");
    })
    .await;

    assert_eq!(
        get(app, &m, &format!("/v1/payouts/{id}")).await["status"],
        "paid"
    );
    assert_eq!(
        balance(app, &m).await,
        before,
        "the merchant's balance never goes below zero"
    );
    let events = get(app, &m, "/v1/events?limit=100").await;
    let kinds: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "reconciliation.exception.created")
        .map(|e| e["data"]["object"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["collected_after_expiry_unfunded"]);
    assert_ledger_balances(app).await;
}

/// Debits equal credits in every currency and mode, and no account breaks its limit.
async fn assert_ledger_balances(app: &TestApp) {
    let report = app
        .server
        .state
        .store
        .read(|mut c| Box::pin(async move { cajero_store::verify::verify(&mut c).await }))
        .await
        .unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

async fn a_test_clock_moves_only_the_objects_that_live_on_it(app: &TestApp) {
    let a = merchant(app, "Tienda A").await;
    let b = merchant(app, "Tienda B").await;
    let start = now_s(app);
    let clock = clock_at(app, &a, start).await;
    let on_clock = post_ok(app, &a, "/v1/payins", &payin_body(20_000, Some(&clock))).await;
    let a_real = post_ok(app, &a, "/v1/payins", &payin_body(20_000, None)).await;
    let b_real = post_ok(app, &b, "/v1/payins", &payin_body(20_000, None)).await;

    let advanced = advance(app, &a, &clock, start + 2 * 24 * 3600).await;

    assert_eq!(advanced["frozen_time"], "2025-11-26T16:00:00Z");
    let get_a = |id: &Value| format!("/v1/payins/{}", id.as_str().unwrap());
    assert_eq!(
        get(app, &a, &get_a(&on_clock["id"])).await["status"],
        "expired"
    );
    assert_eq!(
        get(app, &a, &get_a(&a_real["id"])).await["status"],
        "pending"
    );
    assert_eq!(
        get(app, &b, &get_a(&b_real["id"])).await["status"],
        "pending"
    );
    // The expiry worker of real time sees nothing due either.
    cajero_server::workers::expiry::run_once(&app.server.state)
        .await
        .unwrap();
    assert_eq!(
        get(app, &a, &get_a(&a_real["id"])).await["status"],
        "pending"
    );
    assert_eq!(
        get(app, &b, &get_a(&b_real["id"])).await["status"],
        "pending"
    );
    // New objects without the clock are created at real time, in test and in live mode, and
    // request ids carry real time too.
    let later = post_ok(app, &a, "/v1/payins", &payin_body(20_000, None)).await;
    assert_eq!(later["created"], "2025-11-24T16:00:00Z");
    assert_eq!(later["test_clock"], Value::Null);
    let live_merchant = app.merchant("Viva", MerchantStatus::Active).await;
    let (_, live) = app.key(live_merchant, Mode::Live).await;
    let topup = post(
        app,
        &live,
        "/v1/topups",
        &json!({"amount": 50_000, "currency": "COP"}),
    )
    .await;
    let request_id: cajero_domain::id::RequestId = topup.headers()["request-id"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let instance_ms = 1_764_000_000_000;
    assert!(
        (instance_ms..instance_ms + 60_000).contains(&request_id.unix_ms()),
        "{request_id}: not the instance's time, two days before the clock's"
    );
    let topup: Value = topup.json().await.unwrap();
    assert_eq!(topup["livemode"], true, "{topup}");
    assert_eq!(topup["created"], "2025-11-24T16:00:00Z");
    // Another merchant neither sees the clock nor can put objects on it.
    let path = format!("/v1/test_helpers/test_clocks/{clock}");
    assert_error(
        app.get_with_key(&path, &b.key).await,
        404,
        "invalid_request_error",
        "resource_missing",
    )
    .await;
    let foreign = post(app, &b.key, "/v1/payins", &payin_body(20_000, Some(&clock))).await;
    let body = assert_error(foreign, 400, "invalid_request_error", "test_clock_missing").await;
    assert_eq!(body["error"]["param"], "test_clock");
    let moved = post(
        app,
        &b.key,
        &format!("{path}/advance"),
        &json!({"frozen_time": start + 3 * 24 * 3600}),
    )
    .await;
    assert_error(moved, 404, "invalid_request_error", "resource_missing").await;
    // The clock is listed for its merchant only.
    let listed = get(app, &a, "/v1/test_helpers/test_clocks").await;
    assert_eq!(listed["data"][0]["id"], clock.as_str());
    let none = get(app, &b, "/v1/test_helpers/test_clocks").await;
    assert!(none["data"].as_array().unwrap().is_empty());
}

async fn test_clocks_refuse_what_they_cannot_do_and_say_why(app: &TestApp) {
    let m = merchant(app, "Tienda").await;
    let start = now_s(app);
    let clock = clock_at(app, &m, start).await;
    let path = format!("/v1/test_helpers/test_clocks/{clock}/advance");
    let cases = [
        (json!({"frozen_time": start - 1}), "test_clock_not_forward"),
        (
            json!({"frozen_time": start + 31 * 24 * 3600 + 1}),
            "test_clock_advance_too_far",
        ),
        (json!({"frozen_time": "tomorrow"}), "parameter_invalid"),
    ];
    for (body, code) in cases {
        let answer = post(app, &m.key, &path, &body).await;
        let error = assert_error(answer, 400, "invalid_request_error", code).await;
        assert!(
            error["error"]["param"] == "frozen_time" || code == "parameter_invalid",
            "{error}"
        );
    }
    // The same time again is a retry: it changes nothing.
    let same = advance(app, &m, &clock, start).await;
    assert_eq!(same["frozen_time"], "2025-11-24T16:00:00Z");
    for (body, code) in [
        (
            json!({"frozen_time": start + 3 * 366 * 24 * 3600}),
            "test_clock_time_out_of_range",
        ),
        (
            json!({"frozen_time": start, "name": "x".repeat(101)}),
            "parameter_invalid",
        ),
    ] {
        let answer = post(app, &m.key, "/v1/test_helpers/test_clocks", &body).await;
        assert_error(answer, 400, "invalid_request_error", code).await;
    }
    // Live keys: test clocks do not exist in live mode, and live objects never use one.
    let live_merchant = app.merchant("Viva", MerchantStatus::Active).await;
    let (_, live) = app.key(live_merchant, Mode::Live).await;
    let answer = post(
        app,
        &live,
        "/v1/test_helpers/test_clocks",
        &json!({"frozen_time": start}),
    )
    .await;
    assert_error(answer, 403, "permission_error", "test_mode_only").await;
    let answer = post(app, &live, "/v1/payins", &payin_body(20_000, Some(&clock))).await;
    assert_error(answer, 400, "invalid_request_error", "test_clock_live_mode").await;
    for bogus in [
        "nope",
        "clock_00000000000000000000000000",
        "pi_00000000000000000000000000",
    ] {
        let creates = [
            ("/v1/payins", payin_body(20_000, Some(bogus))),
            ("/v1/payouts", payout_body(20_000, Some(bogus))),
        ];
        for (path, body) in creates {
            let answer = post(app, &m.key, path, &body).await;
            let error =
                assert_error(answer, 400, "invalid_request_error", "test_clock_missing").await;
            assert_eq!(error["error"]["param"], "test_clock", "{path} {bogus}");
        }
    }
    let unknown = post(
        app,
        &m.key,
        "/v1/test_helpers/test_clocks/clock_00000000000000000000000000/advance",
        &json!({"frozen_time": start + 1}),
    )
    .await;
    assert_error(unknown, 404, "invalid_request_error", "resource_missing").await;
}

async fn a_test_clock_is_deleted_only_when_nothing_open_lives_on_it(app: &TestApp) {
    let m = merchant(app, "Tienda").await;
    let start = now_s(app);
    let clock = clock_at(app, &m, start).await;
    let create = payin_body(20_000, Some(&clock));
    let payin: Value = post_keyed(app, &m.key, "/v1/payins", &create, "create-on-clock")
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/v1/test_helpers/test_clocks/{clock}");
    let delete = || app.http.delete(app.url(&path)).bearer_auth(&m.key).send();

    let refused = delete().await.unwrap();
    let body = assert_error(refused, 409, "invalid_request_error", "test_clock_in_use").await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1 open"),
        "{body}"
    );

    advance(app, &m, &clock, start + 3_601).await;
    let deleted = delete().await.unwrap();
    assert_eq!(deleted.status(), 200);
    let deleted: Value = deleted.json().await.unwrap();
    assert_eq!(deleted["deleted"], true);
    assert_error(
        app.get_with_key(&path, &m.key).await,
        404,
        "invalid_request_error",
        "resource_missing",
    )
    .await;
    // Its objects remain, and still name it.
    let id = payin["id"].as_str().unwrap();
    let kept = get(app, &m, &format!("/v1/payins/{id}")).await;
    assert_eq!(kept["status"], "expired");
    assert_eq!(kept["test_clock"], clock.as_str());
    // No new object can live on it; a retry of the first create still replays its answer.
    let answer = post(app, &m.key, "/v1/payins", &payin_body(20_000, Some(&clock))).await;
    assert_error(answer, 400, "invalid_request_error", "test_clock_missing").await;
    let replay = post_keyed(app, &m.key, "/v1/payins", &create, "create-on-clock").await;
    let status = replay.status();
    let headers = replay.headers().clone();
    let replayed: Value = replay.json().await.unwrap();
    assert_eq!(status, 201, "{replayed}");
    assert_eq!(headers["idempotent-replayed"], "true");
    assert_eq!(replayed["id"], payin["id"]);
}

/// The instance's clock here is a year behind the real time (the harness's manual clock), and
/// the test clock is moved days ahead: webhook timestamps must still be the real time of
/// sending, which the official Standard Webhooks library checks (within 5 minutes).
async fn webhook_timestamps_and_ids_carry_real_time_after_an_advance(app: &TestApp) {
    let m = merchant(app, "Tienda").await;
    let receiver = crate::receiver::Receiver::start(true).await;
    let endpoint = post_ok(
        app,
        &m,
        "/v1/webhook_endpoints",
        &json!({"url": receiver.url, "enabled_events": ["payin.expired"]}),
    )
    .await;
    receiver.trust(endpoint["secret"].as_str().unwrap());
    let start = now_s(app);
    let clock = clock_at(app, &m, start).await;
    post_ok(app, &m, "/v1/payins", &payin_body(20_000, Some(&clock))).await;

    advance(app, &m, &clock, start + 3 * 24 * 3600).await;
    // The background worker delivers it (bounded wait, not a timing assertion).
    for _ in 0..200 {
        if !receiver.received().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let received = receiver.received();
    assert_eq!(received.len(), 1, "{received:?}");
    let real = jiff::Timestamp::now().as_second();
    assert!(
        (real - 300..=real + 300).contains(&received[0].timestamp),
        "webhook-timestamp {} is not the real time {real}",
        received[0].timestamp
    );
    assert!(
        received[0].verified,
        "the official library verifies it, timestamp included"
    );
    // The event's id embeds the instance's time, not the test clock's three days later.
    let event_id: cajero_domain::id::EventId = received[0].id.parse().unwrap();
    let clock_ms = u64::try_from((start + 3 * 24 * 3600) * 1_000).unwrap();
    assert!(event_id.unix_ms() < clock_ms, "{event_id}");
}

/// The network stops answering (the embedded simulator is shut down): an advance says the clock
/// moved but the network did not follow; nothing is closed without the network's word until it
/// has been silent for a day past expiry on the voucher's clock.
async fn a_voucher_whose_network_is_silent_stays_open_then_closes_after_a_day(app: &TestApp) {
    let m = merchant(app, "Tienda").await;
    let start = now_s(app);
    let clock = clock_at(app, &m, start).await;
    let payin = post_ok(app, &m, "/v1/payins", &payin_body(20_000, Some(&clock))).await;
    let id = payin["id"].as_str().unwrap();
    app.server.state.networks.shutdown().await;
    let path = format!("/v1/test_helpers/test_clocks/{clock}/advance");

    let answer = post(app, &m.key, &path, &json!({"frozen_time": start + 3_601})).await;

    let error = assert_error(answer, 424, "network_error", "network_unavailable").await;
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains("2025-11-24T17:00:01Z"), "{message}");
    let state = &app.server.state;
    cajero_server::workers::expiry::run_once(state)
        .await
        .unwrap();
    let current = get(app, &m, &format!("/v1/test_helpers/test_clocks/{clock}")).await;
    assert_eq!(current["frozen_time"], "2025-11-24T17:00:01Z");
    assert_eq!(current["status"], "advancing", "{current}");
    let open = get(app, &m, &format!("/v1/payins/{id}")).await;
    assert_eq!(
        open["status"], "pending",
        "never closed without the network's word"
    );

    // A day and a minute of silence past its expiry on its clock: closed here.
    let answer = post(
        app,
        &m.key,
        &path,
        &json!({"frozen_time": start + 3_600 + 86_460}),
    )
    .await;
    assert_error(answer, 424, "network_error", "network_unavailable").await;
    cajero_server::workers::expiry::run_once(state)
        .await
        .unwrap();
    let closed = get(app, &m, &format!("/v1/payins/{id}")).await;
    assert_eq!(closed["status"], "expired");
    let current = get(app, &m, &format!("/v1/test_helpers/test_clocks/{clock}")).await;
    assert_eq!(current["status"], "ready", "{current}");
}

async fn a_payin_on_a_test_clock_settles_when_its_date_comes_on_the_clock(app: &TestApp) {
    let owner = merchant(app, "Tienda").await;
    let m = &owner;
    let clock = clock_at(app, m, MONDAY_11H).await;
    let pay = |p: &Value| {
        let path = format!("/v1/test_helpers/payins/{}/pay", p["id"].as_str().unwrap());
        async move { post_ok(app, m, &path, &json!({})).await }
    };
    let payin = post_ok(app, m, "/v1/payins", &payin_body(20_000, Some(&clock))).await;
    let paid = pay(&payin).await;
    assert_eq!(paid["payin"]["paid_at"], "2025-11-24T16:00:00Z", "{paid}");
    let net = 20_000 - paid["payin"]["fee"].as_i64().unwrap();
    assert_eq!(balance(app, m).await, (0, net, 0));

    // Real time, however far it goes, leaves the clock's pay-ins to the clock.
    let store = &app.server.state.store;
    let next_year = jiff::Timestamp::from_second(MONDAY_11H + 400 * 86_400).unwrap();
    cajero_server::settlement::run_once(store, next_year)
        .await
        .unwrap();
    assert_eq!(balance(app, m).await, (0, net, 0));

    // A week later on the clock, its settlement date has come.
    advance(app, m, &clock, MONDAY_11H + 7 * 86_400).await;
    assert_eq!(balance(app, m).await, (net, 0, 0));
    let settlements = get(app, m, "/v1/settlements").await;
    assert_eq!(
        settlements["data"].as_array().unwrap().len(),
        1,
        "{settlements}"
    );
    assert!(
        event_types(app, m)
            .await
            .contains(&"settlement.paid".to_string())
    );

    // Paid on the clock, then the clock is deleted: its pay-in settles on real time.
    let second = post_ok(app, m, "/v1/payins", &payin_body(30_000, Some(&clock))).await;
    let paid = pay(&second).await;
    let net2 = 30_000 - paid["payin"]["fee"].as_i64().unwrap();
    let path = format!("/v1/test_helpers/test_clocks/{clock}");
    let deleted = app.http.delete(app.url(&path)).bearer_auth(&m.key).send();
    assert_eq!(deleted.await.unwrap().status(), 200);
    assert_eq!(balance(app, m).await, (net, net2, 0));
    cajero_server::settlement::run_once(store, next_year)
        .await
        .unwrap();
    assert_eq!(balance(app, m).await, (net + net2, 0, 0));
    assert_ledger_balances(app).await;
}

/// A standalone simulator (`cajero sim`, shared by instances) follows test clocks the same way:
/// the clock and the orders on it are kept per merchant at the network, over the signed API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_clocks_work_against_a_standalone_simulator() {
    use cajero_server::config::{Config, Secret, SimulatorConfig};
    let dir = tempfile::tempdir().unwrap();
    let start = jiff::Timestamp::from_second(MONDAY_11H).unwrap();
    let secret = "standalone-simulator-secret";
    let sim = cajero_sim::spawn(cajero_sim::SimConfig {
        merchants: vec![cajero_sim::MerchantConfig {
            id: "cajero".into(),
            secret: secret.into(),
            ..cajero_sim::MerchantConfig::demo()
        }],
        clock: cajero_sim::config::ClockConfig {
            start: Some(start),
            frozen: true,
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .unwrap();
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: Secret::new(format!(
            "sqlite://{}",
            dir.path().join("cajero.db").display()
        )),
        simulator: Some(SimulatorConfig {
            url: sim.base_url(),
            merchant_id: "cajero".into(),
            secret: Secret::new(secret),
        }),
        ..Config::default()
    };
    let clock = cajero_server::clock::ManualClock::new(start);
    let shared: std::sync::Arc<dyn cajero_server::clock::Clock> =
        std::sync::Arc::new(clock.clone());
    let server = cajero_server::spawn(config, shared).await.unwrap();
    let app = TestApp::from_parts(server, clock, dir);
    let m = merchant(&app, "Tienda").await;
    let test_clock = clock_at(&app, &m, MONDAY_11H).await;
    let payin = post_ok(
        &app,
        &m,
        "/v1/payins",
        &payin_body(20_000, Some(&test_clock)),
    )
    .await;
    let id = payin["id"].as_str().unwrap();
    let order = network_order_id(&app, &m, id).await;
    let at_network = |order: String| {
        let url = format!("{}/sim/v1/orders/{order}", sim.base_url());
        async move {
            reqwest::get(url)
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        at_network(order.clone()).await["test_clock"],
        test_clock.as_str()
    );

    advance(&app, &m, &test_clock, MONDAY_11H + 3_601).await;

    assert_eq!(at_network(order).await["status"], "expired");
    let closed = get(&app, &m, &format!("/v1/payins/{id}")).await;
    assert_eq!(closed["status"], "expired");
    app.server.stop().await.unwrap();
    sim.shutdown().await.unwrap();
}

/// Only a create racing the delete can leave an open object on a deleted clock (the delete
/// checks and marks in one statement): such an object falls back to real time.
async fn an_object_left_open_on_a_deleted_clock_expires_on_real_time(app: &TestApp) {
    let m = merchant(app, "Tienda").await;
    let start = now_s(app);
    let clock = clock_at(app, &m, start).await;
    let payin = post_ok(app, &m, "/v1/payins", &payin_body(20_000, Some(&clock))).await;
    let state = &app.server.state;
    let id = clock.clone();
    state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                cajero_store::execute!(
                    &mut c,
                    "UPDATE test_clocks SET deleted_at = created_at WHERE id = $1",
                    id
                )
                .map_err(cajero_store::StoreError::from)
            })
        })
        .await
        .unwrap();
    app.clock.advance(jiff::SignedDuration::from_secs(3_601));

    cajero_server::workers::expiry::run_once(state)
        .await
        .unwrap();

    let id = payin["id"].as_str().unwrap();
    assert_eq!(
        get(app, &m, &format!("/v1/payins/{id}")).await["status"],
        "expired"
    );
}

async fn creating_a_test_clock_is_idempotent(app: &TestApp) {
    let m = merchant(app, "Tienda").await;
    let body = json!({"frozen_time": now_s(app), "name": "una vez"});
    let path = "/v1/test_helpers/test_clocks";
    let first = post_keyed(app, &m.key, path, &body, "clock-once").await;
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    let again = post_keyed(app, &m.key, path, &body, "clock-once").await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"], "the retry answers the same clock");
    let listed = get(app, &m, path).await;
    assert_eq!(
        listed["data"].as_array().unwrap().len(),
        1,
        "one clock made"
    );
    let other = post_keyed(
        app,
        &m.key,
        path,
        &json!({"frozen_time": now_s(app)}),
        "clock-once",
    )
    .await;
    assert_error(other, 422, "idempotency_error", "idempotency_key_reused").await;
    let unkeyed = app
        .http
        .post(app.url(path))
        .bearer_auth(&m.key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_error(
        unkeyed,
        400,
        "invalid_request_error",
        "idempotency_key_missing",
    )
    .await;
}
