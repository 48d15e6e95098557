//! Network health end to end against the embedded simulator: SuRed taken down mid-load opens
//! its circuit breaker, new orders go to Efecty with none lost and none duplicated, one alert
//! is raised and resolved when SuRed returns; an Efecty counter whose drawer collections
//! emptied raises `counter_out_of_cash` for that counter only.

use std::collections::{HashMap, HashSet};

use cajero_domain::merchant::{MerchantStatus, Mode};
use futures::StreamExt as _;
use serde_json::{Value, json};

use crate::helpers::{Engine, TestApp, spawn_app_with};

/// Monday 2025-11-24 11:00 in Bogotá, when counters are open.
const MONDAY_11H: i64 = 1_764_000_000;

/// SuRed first for every payout and pay-in; a breaker that judges by 5 calls at 50 % over a
/// minute, waits 30 s, and closes after one good probe; no periodic probe (the test probes).
fn configure(config: &mut cajero_server::config::Config) {
    config.routing.rules = vec![cajero_server::routing::RoutingRule {
        name: Some("sured first".into()),
        prefer: vec!["sured".into(), "efecty".into()],
        ..Default::default()
    }];
    config.health = cajero_server::health::HealthConfig {
        window_s: 60,
        min_requests: 5,
        failure_rate_bps: 5_000,
        open_s: 30,
        half_open_successes: 1,
        probe_interval_s: 0,
        ..Default::default()
    };
}

macro_rules! health_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let start = jiff::Timestamp::from_second(super::MONDAY_11H).unwrap();
                    let app = super::spawn_app_with(super::Engine::Sqlite, start, super::configure).await.unwrap();
                    super::$name(&app).await;
                    app.server.stop().await.unwrap();
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let start = jiff::Timestamp::from_second(super::MONDAY_11H).unwrap();
                    let Some(app) = super::spawn_app_with(super::Engine::Postgres, start, super::configure).await else {
                        eprintln!("skipped: set CAJERO_TEST_POSTGRES_URL to run the PostgreSQL suite");
                        return;
                    };
                    super::$name(&app).await;
                    app.server.stop().await.unwrap();
                }
            )*
        }
    };
}

health_tests!(
    sured_down_mid_load_opens_its_breaker_orders_go_to_efecty_and_it_closes_when_sured_returns,
    an_explicit_network_that_is_down_is_refused_at_once_naming_it,
    a_drawer_emptied_by_collections_raises_counter_out_of_cash_for_that_counter_only,
    an_empty_drawer_reported_after_a_later_approval_there_leaves_no_alert_open,
    a_counter_is_judged_by_its_own_networks_attempts_in_its_own_mode,
    the_uiaf_report_reminder_comes_once_a_month_until_the_operator_closes_it,
    a_payment_the_poller_found_before_its_callback_raises_callbacks_late_until_one_comes_in_time,
);

fn sim_url(app: &TestApp) -> String {
    app.server.state.networks.simulator_url().unwrap()
}

async fn key(app: &TestApp, name: &str) -> String {
    let m = app.merchant(name, MerchantStatus::Active).await;
    app.key(m, Mode::Test).await.1
}

fn payout_body(amount: i64) -> Value {
    json!({"amount": amount, "currency": "COP", "reference": "giro",
           "beneficiary": {"name": "Luis Pérez", "document": {"type": "CC", "number": "79876543"}}})
}

async fn post(app: &TestApp, key: &str, path: &str, body: &Value) -> (u16, Value) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let response = app
        .http
        .post(app.url(path))
        .bearer_auth(key)
        .header(
            "idempotency-key",
            format!("health-{}", N.fetch_add(1, Ordering::Relaxed)),
        )
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn topup(app: &TestApp, key: &str, amount: i64) {
    let (status, body) = post(
        app,
        key,
        "/v1/topups",
        &json!({"amount": amount, "currency": "COP"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

async fn faults(app: &TestApp, body: Value) {
    let answer = app
        .http
        .put(format!("{}/sim/v1/faults", sim_url(app)))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "{}", answer.text().await.unwrap());
}

/// The `alert` objects of `type` events a merchant received, by code.
async fn alert_events(app: &TestApp, key: &str, event_type: &str) -> Vec<Value> {
    let response = app
        .get_with_key(&format!("/v1/events?limit=100&type={event_type}"), key)
        .await;
    assert_eq!(response.status(), 200);
    let events: Value = response.json().await.unwrap();
    events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["data"]["object"].clone())
        .collect()
}

/// Waits (in real time) until `check` holds: alerts are recorded in the background.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("never happened: {what}");
}

/// The `alert` objects of `type` events a merchant received with `code`.
async fn alerts_of(app: &TestApp, key: &str, event_type: &str, code: &str) -> Vec<Value> {
    alert_events(app, key, event_type)
        .await
        .into_iter()
        .filter(|a| a["code"] == code)
        .collect()
}

async fn count_alerts(app: &TestApp, key: &str, event_type: &str, code: &str) -> usize {
    alerts_of(app, key, event_type, code).await.len()
}

async fn sured_down_mid_load_opens_its_breaker_orders_go_to_efecty_and_it_closes_when_sured_returns(
    app: &TestApp,
) {
    let key = key(app, "Remesas").await;
    topup(app, &key, 100_000_000).await;
    let mut created: Vec<Value> = Vec::new();
    for _ in 0..5 {
        let (status, payout) = post(app, &key, "/v1/payouts", &payout_body(10_000)).await;
        assert_eq!(status, 201, "{payout}");
        assert_eq!(payout["network"], "sured");
        assert_eq!(
            payout["routing_reason"],
            "sured (sured first prefers sured, efecty)"
        );
        created.push(payout);
    }

    // SuRed goes down; 40 payouts come in, 8 at a time.
    faults(app, json!({"down": ["sured"]})).await;
    let load: Vec<(u16, Value)> = futures::stream::iter(0..40)
        .map(|_| {
            let key = key.clone();
            async move { post(app, &key, "/v1/payouts", &payout_body(10_000)).await }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    for (status, payout) in &load {
        assert_eq!(*status, 201, "none lost: {payout}");
        assert_eq!(payout["status"], "available", "{payout}");
        assert_eq!(payout["network"], "efecty", "{payout}");
    }
    let reasons: Vec<&str> = load
        .iter()
        .map(|(_, p)| p["routing_reason"].as_str().unwrap())
        .collect();
    let fell_over = reasons
        .iter()
        .filter(|r| r.contains("sured unavailable, fell over"))
        .count();
    let skipped = reasons
        .iter()
        .filter(|r| r.contains("sured skipped: circuit open since"))
        .count();
    // The breaker judges by at least 5 calls: 5 successes and 5 failures open it; the calls
    // already on their way when it opened also fall over.
    assert!((5..=5 + 8).contains(&fell_over), "{reasons:#?}");
    assert_eq!(fell_over + skipped, 40, "{reasons:#?}");
    created.extend(load.into_iter().map(|(_, p)| p));

    // One alert, however many creates saw SuRed down.
    eventually("network_down raised", async || {
        count_alerts(app, &key, "alert.raised", "network_down").await >= 1
    })
    .await;
    let raised = alert_events(app, &key, "alert.raised").await;
    let down: Vec<&Value> = raised
        .iter()
        .filter(|a| a["code"] == "network_down")
        .collect();
    assert_eq!(down.len(), 1, "{raised:#?}");
    assert_eq!(down[0]["subject"], "sured");

    // Still down after the wait: the probe fails and the breaker opens again, no new alert.
    app.clock.advance(jiff::SignedDuration::from_secs(31));
    let state = &app.server.state;
    assert_eq!(cajero_server::workers::probe::probe_once(state).await, 2);
    let (_, payout) = post(app, &key, "/v1/payouts", &payout_body(10_000)).await;
    assert_eq!(payout["network"], "efecty");
    created.push(payout);

    // SuRed returns: after the wait a probe succeeds, the breaker closes, the alert resolves.
    faults(app, json!({"down": []})).await;
    app.clock.advance(jiff::SignedDuration::from_secs(31));
    cajero_server::workers::probe::probe_once(state).await;
    eventually("network_down resolved", async || {
        count_alerts(app, &key, "alert.resolved", "network_down").await == 1
    })
    .await;
    assert_eq!(
        count_alerts(app, &key, "alert.raised", "network_down").await,
        1
    );
    let (_, payout) = post(app, &key, "/v1/payouts", &payout_body(10_000)).await;
    assert_eq!(payout["network"], "sured", "{payout}");
    created.push(payout);

    // Zero duplicates (SuRed's orders are visible again): every payout has exactly one
    // order, at the network it names, with the code it shows.
    let sim = app.server.state.networks.sim().unwrap();
    let mut seen: HashSet<String> = HashSet::new();
    let mut per_network: HashMap<String, usize> = HashMap::new();
    for payout in &created {
        let id = payout["id"].as_str().unwrap();
        assert!(seen.insert(id.to_string()));
        let orders = sim
            .orders_by_reference(cajero_connect::OrderKind::Payout, id)
            .await
            .unwrap();
        assert_eq!(orders.len(), 1, "{id}: {orders:?}");
        assert_eq!(orders[0].network, payout["network"].as_str().unwrap());
        assert_eq!(
            orders[0].code,
            payout["pickup"]["code"].as_str().unwrap().replace(' ', "")
        );
        *per_network.entry(orders[0].network.clone()).or_default() += 1;
    }
    assert_eq!(per_network.get("sured"), Some(&6), "{per_network:?}");
    assert_eq!(per_network.get("efecty"), Some(&41), "{per_network:?}");

    // The operator's view: each route's state, published to the database.
    cajero_server::workers::probe::publish(state).await.unwrap();
    let rows = cajero_server::health::published(state).await.unwrap();
    let sured = rows
        .iter()
        .find(|r| r.network == "sured" && !r.livemode)
        .expect("sured published");
    assert_eq!(sured.state, "closed");
    assert!(sured.failed_total >= 5, "{sured:?}");
    assert!(sured.created_total >= 6, "{sured:?}");
}

async fn an_explicit_network_that_is_down_is_refused_at_once_naming_it(app: &TestApp) {
    let key = key(app, "Tienda").await;
    topup(app, &key, 10_000_000).await;
    faults(app, json!({"down": ["sured"]})).await;
    // Five failures open SuRed's breaker (each falls over to Efecty).
    for _ in 0..5 {
        let (status, payout) = post(app, &key, "/v1/payouts", &payout_body(10_000)).await;
        assert_eq!(status, 201, "{payout}");
        assert_eq!(payout["network"], "efecty");
    }
    let mut body = payout_body(10_000);
    body["network"] = "sured".into();
    let (status, error) = post(app, &key, "/v1/payouts", &body).await;
    assert_eq!(status, 503, "{error}");
    assert_eq!(error["error"]["code"], "network_unavailable");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("sured skipped: circuit open since")
            && message.contains("leave out `network`"),
        "{message}"
    );
    // Nothing was reserved or recorded for it.
    let list: Value = app
        .get_with_key("/v1/payouts?limit=100", &key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"].as_array().unwrap().len(), 5);
    // A pay-in without a network goes to Efecty and says why.
    let (status, payin) = post(
        app,
        &key,
        "/v1/payins",
        &json!({"amount": 50_000, "currency": "COP"}),
    )
    .await;
    assert_eq!(status, 201, "{payin}");
    assert_eq!(payin["network"], "efecty");
    let reason = payin["routing_reason"].as_str().unwrap();
    assert!(
        reason.starts_with(
            "efecty (sured first prefers sured, efecty); sured skipped: circuit open since"
        ),
        "{reason}"
    );
}

/// The counters of `network` open now, with their ids.
async fn open_counters(app: &TestApp, network: &str) -> Vec<String> {
    let list: Value = app
        .http
        .get(format!(
            "{}/counter/v1/counters?network={network}",
            sim_url(app)
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["open_now"] == true)
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

async fn set_cash(app: &TestApp, counter: &str, cash: i64) {
    let answer = app
        .http
        .put(format!("{}/sim/v1/counters/{counter}/cash", sim_url(app)))
        .json(&json!({"cash": cash}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
}

/// A beneficiary tries to collect `payout` at `counter`; its callback is sent at once.
async fn collect(app: &TestApp, counter: &str, payout: &Value) -> Value {
    let answer = try_collect(app, counter, payout).await;
    let sim = app.server.state.networks.sim().unwrap();
    sim.flush_callbacks(true).await.unwrap();
    answer
}

/// A beneficiary tries to collect `payout` at `counter`; its callback goes out as the
/// simulator's faults let it.
async fn try_collect(app: &TestApp, counter: &str, payout: &Value) -> Value {
    // A second between attempts: a counter is judged by its latest attempts, whatever order
    // their callbacks arrive in.
    let sim = app.server.state.networks.sim().unwrap();
    sim.advance_clock(1).await.unwrap();
    app.http
        .post(format!("{}/counter/v1/collect", sim_url(app)))
        .json(&json!({
            "counter_id": counter,
            "code": payout["pickup"]["code"].as_str().unwrap().replace(' ', ""),
            "document_number": "79876543",
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn a_drawer_emptied_by_collections_raises_counter_out_of_cash_for_that_counter_only(
    app: &TestApp,
) {
    let key = key(app, "Giros").await;
    topup(app, &key, 10_000_000).await;
    let mut body = payout_body(100_000);
    body["network"] = "efecty".into();
    let mut payouts = Vec::new();
    for _ in 0..4 {
        let (status, payout) = post(app, &key, "/v1/payouts", &body).await;
        assert_eq!(status, 201, "{payout}");
        payouts.push(payout);
    }
    let counters = open_counters(app, "efecty").await;
    assert!(counters.len() >= 2, "{counters:?}");
    let (poor, rich) = (&counters[0], &counters[1]);
    set_cash(app, poor, 200_000).await;
    set_cash(app, rich, 1_000_000_000).await;

    // Two collections empty the drawer; the third finds it empty.
    for payout in &payouts[..2] {
        assert_eq!(collect(app, poor, payout).await["approved"], true);
    }
    let refused = collect(app, poor, &payouts[2]).await;
    assert_eq!(refused["outcome"], "counter_out_of_cash", "{refused}");
    assert_eq!(collect(app, rich, &payouts[3]).await["approved"], true);

    eventually("counter_out_of_cash raised", async || {
        count_alerts(app, &key, "alert.raised", "counter_out_of_cash").await >= 1
    })
    .await;
    let raised = alerts_of(app, &key, "alert.raised", "counter_out_of_cash").await;
    assert_eq!(raised.len(), 1, "{raised:#?}");
    assert_eq!(raised[0]["subject"], format!("efecty/counter:{poor}"));
    let message = raised[0]["message"].as_str().unwrap();
    assert!(
        message.contains(poor.as_str()) && !message.contains("79876543"),
        "{message}"
    );

    // Another refusal there changes nothing; a refill and a collection resolve it.
    let again = collect(app, poor, &payouts[2]).await;
    assert_eq!(again["outcome"], "counter_out_of_cash");
    set_cash(app, poor, 1_000_000).await;
    assert_eq!(collect(app, poor, &payouts[2]).await["approved"], true);
    eventually("counter_out_of_cash resolved", async || {
        count_alerts(app, &key, "alert.resolved", "counter_out_of_cash").await == 1
    })
    .await;
    // Nothing raised it again: not the refusal before the refill, whatever order the
    // callbacks were applied in.
    let raised = alerts_of(app, &key, "alert.raised", "counter_out_of_cash").await;
    assert_eq!(raised.len(), 1, "{raised:#?}");
}

/// A merchant with 10,000,000 pesos and one 100,000-peso payout through Efecty: its key and
/// the payout.
async fn funded_efecty_payout(app: &TestApp) -> (String, Value) {
    let key = key(app, "Giros").await;
    topup(app, &key, 10_000_000).await;
    let mut body = payout_body(100_000);
    body["network"] = "efecty".into();
    let (status, payout) = post(app, &key, "/v1/payouts", &body).await;
    assert_eq!(status, 201, "{payout}");
    (key, payout)
}

/// The network reports an empty drawer late, after the collection that followed the refill:
/// the counter pays out, and no `counter_out_of_cash` stays open for it.
async fn an_empty_drawer_reported_after_a_later_approval_there_leaves_no_alert_open(app: &TestApp) {
    let (key, payout) = funded_efecty_payout(app).await;
    let counter = open_counters(app, "efecty").await.remove(0);

    // The refusal's callback is held back until the approval's is queued, then sent after it.
    set_cash(app, &counter, 0).await;
    faults(app, json!({"callback_reorder_bps": 10_000})).await;
    let refused = try_collect(app, &counter, &payout).await;
    assert_eq!(refused["outcome"], "counter_out_of_cash", "{refused}");
    faults(app, json!({})).await;
    set_cash(app, &counter, 1_000_000).await;
    assert_eq!(collect(app, &counter, &payout).await["approved"], true);

    let id = payout["id"].as_str().unwrap();
    eventually("both attempts applied", async || {
        let response = app.get_with_key(&format!("/v1/payouts/{id}"), &key).await;
        let payout: Value = response.json().await.unwrap();
        payout["attempts"].as_array().is_some_and(|a| a.len() == 2)
    })
    .await;
    let raised = alerts_of(app, &key, "alert.raised", "counter_out_of_cash").await;
    let resolved = alerts_of(app, &key, "alert.resolved", "counter_out_of_cash").await;
    assert_eq!(raised.len(), resolved.len(), "{raised:#?} {resolved:#?}");
}

/// A counter is a network's, in one mode: attempts recorded under the same counter id at
/// another network, or in the other mode, neither count towards its failure spike nor stand
/// for a later collection there. (The simulator's counter ids never collide; a live network's
/// may match a test one.) And failures are counted from the latest collection there: one
/// reported late from before it counts nothing, and those before it are behind the counter.
/// The attempts are judged as a callback judges them; the simulator reports no attempt on an
/// order when its network is down.
async fn a_counter_is_judged_by_its_own_networks_attempts_in_its_own_mode(app: &TestApp) {
    use cajero_connect::NetworkAttempt;
    use cajero_server::health::{HealthConfig, counters};
    use cajero_store::payouts::{self, AttemptRecord};
    let (_, payout) = funded_efecty_payout(app).await;
    let payout: cajero_domain::id::PayoutId = payout["id"].as_str().unwrap().parse().unwrap();
    let start = cajero_server::clock::Clock::now(&app.clock);
    let at = move |s: i64| start + jiff::SignedDuration::from_secs(s);
    let counter = "EF-BOG-777";
    // The attempt numbered `n` at `counter`, recorded as `network`'s in `mode`, then judged.
    let report = async |n: i64, network: &'static str, mode: Mode, outcome: &'static str| {
        let attempt = NetworkAttempt {
            id: format!("att_other_{n}"),
            at: at(n),
            counter_id: counter.to_string(),
            outcome: outcome.to_string(),
        };
        let now = at(n);
        app.server
            .state
            .store
            .write(move |mut c| {
                Box::pin(async move {
                    let record = AttemptRecord {
                        id: format!("{network}:{}", attempt.id),
                        at: attempt.at,
                        counter_id: attempt.counter_id.clone(),
                        outcome: attempt.outcome.clone(),
                    };
                    payouts::insert_attempt(&mut c, payout, network, mode, &record, now).await?;
                    counters::on_attempt(
                        &mut c,
                        now,
                        &HealthConfig::default(),
                        mode,
                        network,
                        &attempt,
                    )
                    .await
                })
            })
            .await
            .unwrap();
    };
    let open = async |network: &'static str, mode: Mode, code: &'static str| {
        app.server
            .state
            .store
            .read(move |mut c| {
                Box::pin(async move {
                    let subject = counters::subject(network, counter);
                    cajero_server::alerts::open_among(&mut c, mode, &[code], &subject, None).await
                })
            })
            .await
            .unwrap()
    };

    // Two failures elsewhere (SuRed's counter of that id, the live one), one here: no spike.
    report(1, "sured", Mode::Test, counters::SYSTEM_UNAVAILABLE).await;
    report(2, "efecty", Mode::Live, counters::SYSTEM_UNAVAILABLE).await;
    report(3, "efecty", Mode::Test, counters::SYSTEM_UNAVAILABLE).await;
    assert_eq!(
        open("efecty", Mode::Test, "counter_failure_spike")
            .await
            .len(),
        0
    );
    // A collection elsewhere, later than an empty drawer here, does not hide it.
    report(20, "efecty", Mode::Live, counters::APPROVED).await;
    report(10, "efecty", Mode::Test, counters::OUT_OF_CASH).await;
    assert_eq!(
        open("efecty", Mode::Test, "counter_out_of_cash")
            .await
            .len(),
        1
    );
    assert_eq!(
        open("efecty", Mode::Live, "counter_out_of_cash")
            .await
            .len(),
        0
    );
    // Two more failures here make three: the spike is this counter's.
    report(11, "efecty", Mode::Test, counters::SYSTEM_UNAVAILABLE).await;
    report(12, "efecty", Mode::Test, counters::SYSTEM_UNAVAILABLE).await;
    assert_eq!(
        open("efecty", Mode::Test, "counter_failure_spike")
            .await
            .len(),
        1
    );
    assert_eq!(
        open("efecty", Mode::Live, "counter_failure_spike")
            .await
            .len(),
        0
    );
    assert_eq!(
        open("sured", Mode::Test, "counter_failure_spike")
            .await
            .len(),
        0
    );

    // A collection there resolves both; a failure from before it, reported late, raises
    // nothing, though it makes four in the window.
    report(30, "efecty", Mode::Test, counters::APPROVED).await;
    assert_eq!(
        open("efecty", Mode::Test, "counter_failure_spike")
            .await
            .len(),
        0
    );
    assert_eq!(
        open("efecty", Mode::Test, "counter_out_of_cash")
            .await
            .len(),
        0
    );
    report(25, "efecty", Mode::Test, counters::SYSTEM_UNAVAILABLE).await;
    assert_eq!(
        open("efecty", Mode::Test, "counter_failure_spike")
            .await
            .len(),
        0
    );
    // Failures are counted again from that collection: two after it are not a spike, though
    // the window holds six; the third is.
    report(31, "efecty", Mode::Test, counters::SYSTEM_UNAVAILABLE).await;
    report(32, "efecty", Mode::Test, counters::SYSTEM_UNAVAILABLE).await;
    assert_eq!(
        open("efecty", Mode::Test, "counter_failure_spike")
            .await
            .len(),
        0
    );
    report(33, "efecty", Mode::Test, counters::SYSTEM_UNAVAILABLE).await;
    let spike = open("efecty", Mode::Test, "counter_failure_spike").await;
    assert_eq!(spike.len(), 1);
    // It says so: three failures since that collection, not six in the window.
    let details: Value = serde_json::from_str(&spike[0].details).unwrap();
    assert_eq!(details["failures"], 3, "{details}");
    assert_eq!(
        details["counted_since"],
        cajero_server::time::rfc3339(at(30)),
        "{details}"
    );
    assert!(
        spike[0].message.contains("3 collections") && spike[0].message.contains("none approved"),
        "{}",
        spike[0].message
    );
    // An approval from before those failures, reported late, resolves nothing; a later one
    // does.
    report(29, "efecty", Mode::Test, counters::APPROVED).await;
    assert_eq!(
        open("efecty", Mode::Test, "counter_failure_spike")
            .await
            .len(),
        1
    );
    report(34, "efecty", Mode::Test, counters::APPROVED).await;
    assert_eq!(
        open("efecty", Mode::Test, "counter_failure_spike")
            .await
            .len(),
        0
    );
}

async fn uiaf_raised(app: &TestApp, month: &str) -> bool {
    let subject = format!("uiaf:{month}");
    app.server
        .state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                cajero_store::alerts::ever_raised(&mut c, true, "uiaf_report_due", &subject).await
            })
        })
        .await
        .unwrap()
}

async fn a_payment_the_poller_found_before_its_callback_raises_callbacks_late_until_one_comes_in_time(
    app: &TestApp,
) {
    let key = key(app, "Tienda").await;
    // 88,888: the simulated network loses this voucher's callback.
    let (status, lost) = post(
        app,
        &key,
        "/v1/payins",
        &json!({"amount": 88_888, "currency": "COP"}),
    )
    .await;
    assert_eq!(status, 201, "{lost}");
    assert_eq!(lost["network"], "sured");
    let id = lost["id"].as_str().unwrap();
    let (status, _) = post(
        app,
        &key,
        &format!("/v1/test_helpers/payins/{id}/pay"),
        &json!({}),
    )
    .await;
    assert_eq!(status, 200);
    // 16 minutes later the poller asks and finds it paid: the callback is 16 minutes late.
    let state = &app.server.state;
    app.clock.advance(jiff::SignedDuration::from_mins(16));
    let sim = state.networks.sim().unwrap();
    sim.advance_clock(16 * 60).await.unwrap();
    cajero_server::workers::poller::run_once(state)
        .await
        .unwrap();
    let late = alerts_of(app, &key, "alert.raised", "callbacks_late").await;
    assert_eq!(late.len(), 1, "{late:#?}");
    assert_eq!(late[0]["subject"], "sured");
    assert_eq!(
        count_alerts(app, &key, "alert.resolved", "callbacks_late").await,
        0
    );

    // The next payment's callback comes at once: the alert is resolved.
    let (_, payin) = post(
        app,
        &key,
        "/v1/payins",
        &json!({"amount": 50_000, "currency": "COP"}),
    )
    .await;
    let id = payin["id"].as_str().unwrap();
    let (status, _) = post(
        app,
        &key,
        &format!("/v1/test_helpers/payins/{id}/pay"),
        &json!({}),
    )
    .await;
    assert_eq!(status, 200);
    eventually("callbacks_late resolved", async || {
        count_alerts(app, &key, "alert.resolved", "callbacks_late").await == 1
    })
    .await;
}

/// A live voucher of `merchant` created at `at` (a live network is not at hand in tests: the
/// record alone is what the reminder looks at).
async fn live_voucher(app: &TestApp, merchant: cajero_domain::id::MerchantId, at: i64) {
    let at = jiff::Timestamp::from_second(at).unwrap();
    let record = cajero_store::payins::PayinRecord {
        id: cajero_domain::id::PayinId::from_parts(at.as_millisecond() as u64, 7),
        merchant_id: merchant,
        mode: Mode::Live,
        status: cajero_domain::lifecycle::PayinStatus::Pending,
        amount: cajero_domain::Amount::new(50_000).unwrap(),
        currency: cajero_domain::money::Currency::Cop,
        network: "efecty".into(),
        route: "dlocal".into(),
        reference: None,
        description: None,
        customer: None,
        metadata: json!({}),
        network_order_id: format!("D-{}", at.as_second()),
        payment_code: "12345678".into(),
        agreement_code: None,
        barcode_data: None,
        page_token: format!("token-{}", at.as_second()),
        expires_at: at,
        paid_at: None,
        amount_refunded: cajero_domain::Amount::ZERO,
        fee: cajero_domain::Amount::ZERO,
        created_at: at,
        updated_at: at,
        test_clock: None,
        routing_reason: None,
    };
    app.server
        .state
        .store
        .write(move |mut c| {
            Box::pin(async move { cajero_store::payins::insert(&mut c, &record).await })
        })
        .await
        .unwrap();
}

async fn the_uiaf_report_reminder_comes_once_a_month_until_the_operator_closes_it(app: &TestApp) {
    use cajero_server::workers::reminders;
    let state = &app.server.state;
    let merchant = app.merchant("Remesas", MerchantStatus::Active).await;
    // 2025-11-24 in Bogotá: October's report (due 2025-11-10). Test orders, and live ones of
    // November, do not make an October report.
    live_voucher(app, merchant, MONDAY_11H).await;
    assert!(!reminders::run_once(state).await.unwrap());
    assert!(!uiaf_raised(app, "2025-10").await);
    // A live voucher of 2025-10-31 23:30 in Bogotá (04:30 UTC on 11-01): October had cash.
    live_voucher(app, merchant, 1_761_971_400).await;
    // The server's own reminders worker runs once as it starts: on a loaded machine that can
    // be now, and then it is the one that raises it (found by a fresh-clone CI run).
    let _ = reminders::run_once(state).await.unwrap();
    assert!(uiaf_raised(app, "2025-10").await);
    assert!(!reminders::run_once(state).await.unwrap(), "once");
    // The operator closes it: it does not come back that month.
    let closed = state
        .store
        .write(|mut c| {
            Box::pin(async move {
                cajero_server::alerts::resolve(
                    &mut c,
                    jiff::Timestamp::from_second(MONDAY_11H + 60).unwrap(),
                    Mode::Live,
                    "uiaf_report_due",
                    "uiaf:2025-10",
                    None,
                    "filed",
                )
                .await
            })
        })
        .await
        .unwrap();
    assert!(closed.is_some());
    assert!(!reminders::run_once(state).await.unwrap());
    // December: November's (the voucher of the 24th).
    app.clock.advance(jiff::SignedDuration::from_hours(24 * 8));
    let _ = reminders::run_once(state).await.unwrap();
    assert!(uiaf_raised(app, "2025-11").await);
    assert!(!reminders::run_once(state).await.unwrap(), "once");
}

/// Routing decides in memory, the same on either engine: one SQLite server with rules for a
/// merchant's big payouts, narrower limits for SuRed, and Efecty's counters closed at 11:00.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_rules_limits_and_opening_hours_decide_and_say_why() {
    let start = jiff::Timestamp::from_second(MONDAY_11H).unwrap();
    let app = spawn_app_with(Engine::Sqlite, start, |config| {
        config.routing.rules = vec![
            cajero_server::routing::RoutingRule {
                name: Some("big payouts".into()),
                methods: vec![cajero_server::routing::Method::Payout],
                amount_min: Some(1_000_000),
                prefer: vec!["efecty".into()],
                only: true,
                ..Default::default()
            },
            cajero_server::routing::RoutingRule {
                prefer: vec!["sured".into()],
                ..Default::default()
            },
        ];
        config.routing.networks.insert(
            "sured".into(),
            cajero_server::routing::NetworkRouting {
                payout_amount_max: Some(2_000_000),
                ..Default::default()
            },
        );
        config.routing.networks.insert(
            "efecty".into(),
            cajero_server::routing::NetworkRouting {
                opening_hours: Some("12:00-20:00".into()),
                ..Default::default()
            },
        );
    })
    .await
    .unwrap();
    let key = key(&app, "Tienda").await;
    topup(&app, &key, 100_000_000).await;

    // Small payouts: rule 2 prefers SuRed.
    let (status, small) = post(&app, &key, "/v1/payouts", &payout_body(50_000)).await;
    assert_eq!(status, 201, "{small}");
    assert_eq!(small["network"], "sured");
    assert_eq!(
        small["routing_reason"],
        "sured (rule 2 prefers sured); efecty put last: counters closed now (open 12:00-20:00)"
    );
    // Big payouts: only Efecty, closed or not.
    let (_, big) = post(&app, &key, "/v1/payouts", &payout_body(1_500_000)).await;
    assert_eq!(big["network"], "efecty", "{big}");
    assert_eq!(
        big["routing_reason"],
        "efecty (big payouts prefers efecty); efecty put last: counters closed now (open 12:00-20:00)"
    );
    // Above SuRed's configured limit, and outside rule 1 (a pay-in): Efecty.
    let (_, payin) = post(
        &app,
        &key,
        "/v1/payins",
        &json!({"amount": 50_000, "currency": "COP"}),
    )
    .await;
    assert_eq!(payin["network"], "sured", "{payin}");
    // A payout SuRed's limit refuses and the big rule does not match: only Efecty is left.
    let mut body = payout_body(900_000);
    body["network"] = "sured".into();
    let (status, fits) = post(&app, &key, "/v1/payouts", &body).await;
    assert_eq!(status, 201, "{fits}");
    let mut body = payout_body(2_500_000);
    body["network"] = "sured".into();
    let (status, error) = post(&app, &key, "/v1/payouts", &body).await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["error"]["code"], "amount_outside_network_limits");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("SuRed 1,000–2,000,000 COP"),
        "{error}"
    );
    app.server.stop().await.unwrap();
}
