//! Fault knobs (by API and by configuration) and the autopilot.

use std::time::Instant;

use cajero_sim::config::{AutopilotConfig, Faults};
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn added_latency_delays_network_answers() {
    let sim = start().await;
    sim.set_faults(json!({"latency_ms": 300})).await;
    let started = Instant::now();
    let r = sim.signed("GET", "/v1/collections", None).await;
    assert_eq!(r.status, 200);
    // A lower bound only: sleeping can never be shorter than asked.
    assert!(started.elapsed().as_millis() >= 300);
    let faults = sim.get("/sim/v1/faults").await;
    assert_eq!(faults.body["latency_ms"], 300);
}

#[tokio::test]
async fn a_share_of_creates_fails_with_503_and_creates_nothing() {
    let sim = start().await;
    sim.set_faults(json!({"create_unavailable_bps": 10_000}))
        .await;
    let r = sim.create_collection("f-1", 10_000).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (503, Some("network_unavailable"))
    );
    sim.set_faults(json!({})).await;
    assert_eq!(
        sim.signed("GET", "/v1/collections/by_reference/f-1", None)
            .await
            .status,
        404
    );
    assert_eq!(sim.create_collection("f-1", 10_000).await.status, 201);
}

#[tokio::test]
async fn a_timed_out_create_still_creates_the_order() {
    let sim = start().await;
    sim.set_faults(json!({"create_timeout_bps": 10_000, "timeout_ms": 50}))
        .await;
    let r = sim.create_payout("f-2", 10_000, "79876543").await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (504, Some("timeout"))
    );
    let found = sim
        .signed("GET", "/v1/payouts/by_reference/f-2", None)
        .await;
    assert_eq!(
        (found.status, found.body["status"].as_str()),
        (200, Some("available"))
    );
}

#[tokio::test]
async fn fault_knobs_can_be_set_in_the_configuration() {
    let mut config = test_config();
    config.faults = Faults {
        create_unavailable_bps: 10_000,
        ..Faults::default()
    };
    let sim = start_with(config).await;
    assert_eq!(sim.create_collection("f-3", 10_000).await.status, 503);
    let r = sim
        .put("/sim/v1/faults", &json!({"callback_drop_bps": 10_001}))
        .await;
    assert_eq!(r.status, 422, "shares are at most 10 000 basis points");
}

async fn paid_voucher(sim: &TestSim, reference: &str) -> String {
    let v = sim.voucher(reference, 10_000).await;
    sim.pay(REGULAR_COUNTER, v["payment_code"].as_str().unwrap(), 10_000)
        .await;
    v["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn dropped_callbacks_are_never_sent() {
    let sim = start().await;
    let (url, receiver) = receiver(0).await;
    sim.set_callback_url(MERCHANT, SECRET, &url).await;
    sim.set_faults(json!({"callback_drop_bps": 10_000})).await;
    let id = paid_voucher(&sim, "f-4").await;
    sim.flush(true).await;
    assert!(receiver.received().is_empty());
    let cbs = sim.callbacks_of(&id).await;
    assert_eq!(cbs[0]["status"], "dropped");
}

#[tokio::test]
async fn duplicated_callbacks_arrive_twice_with_one_id() {
    let sim = start().await;
    let (url, receiver) = receiver(0).await;
    sim.set_callback_url(MERCHANT, SECRET, &url).await;
    sim.set_faults(json!({"callback_duplicate_bps": 10_000}))
        .await;
    paid_voucher(&sim, "f-5").await;
    sim.flush(true).await;
    sim.flush(true).await;
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].id, got[1].id);
    assert_eq!(got[0].body, got[1].body);
}

#[tokio::test]
async fn delayed_callbacks_wait_until_their_time() {
    let sim = start().await;
    let (url, receiver) = receiver(0).await;
    sim.set_callback_url(MERCHANT, SECRET, &url).await;
    sim.set_faults(json!({"callback_delay_bps": 10_000, "callback_delay_ms": 3_600_000}))
        .await;
    let id = paid_voucher(&sim, "f-6").await;
    assert_eq!(sim.flush(false).await, 0, "an hour early");
    assert!(receiver.received().is_empty());
    let cbs = sim.callbacks_of(&id).await;
    assert_eq!(cbs[0]["faults"][0], "delayed_3600000ms");
    assert_eq!(sim.flush(true).await, 1);
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn reordered_callbacks_arrive_after_the_next_one() {
    let sim = start().await;
    let (url, receiver) = receiver(0).await;
    sim.set_callback_url(MERCHANT, SECRET, &url).await;
    sim.set_faults(json!({"callback_reorder_bps": 10_000}))
        .await;
    let first = paid_voucher(&sim, "f-7a").await;
    sim.set_faults(json!({})).await;
    let second = paid_voucher(&sim, "f-7b").await;
    sim.flush(false).await;
    let order: Vec<_> = receiver
        .received()
        .iter()
        .map(|r| r.json()["data"]["order"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(order, vec![second, first]);
}

#[tokio::test]
async fn settlement_files_can_miss_a_line_change_an_amount_or_write_it_twice() {
    let sim = start().await;
    let v = sim.voucher("f-8", 50_000).await;
    let code = v["payment_code"].as_str().unwrap().to_owned();
    sim.pay(REGULAR_COUNTER, &code, 50_000).await;
    let path = format!("/sim/v1/settlement_files/2026-11-25?format=csv&merchant_id={MERCHANT}");
    assert!(sim.text(&path).await.1.contains(&format!(",{code},50000,")));
    sim.set_faults(
        json!({"settlement_changed_amount_bps": 10_000, "settlement_amount_delta": 1_000}),
    )
    .await;
    assert!(sim.text(&path).await.1.contains(&format!(",{code},51000,")));
    let (_, aso) = sim
        .text(&format!(
            "/sim/v1/settlement_files/2026-11-25?merchant_id={MERCHANT}"
        ))
        .await;
    let parsed =
        cajero_domain::asobancaria::parse(&aso, cajero_domain::asobancaria::Strictness::Strict)
            .unwrap();
    assert_eq!(
        parsed.file.total().unwrap().get(),
        5_100_000,
        "the file stays balanced"
    );
    sim.set_faults(json!({"settlement_missing_line_bps": 10_000}))
        .await;
    assert!(!sim.text(&path).await.1.contains(&code));
    sim.set_faults(json!({"settlement_duplicate_line_bps": 10_000}))
        .await;
    assert_eq!(sim.text(&path).await.1.matches(&code).count(), 2);
    sim.set_faults(json!({})).await;
    assert!(sim.text(&path).await.1.contains(&code));
}

async fn autopilot_sim(seed: u64) -> (TestSim, Vec<serde_json::Value>) {
    let mut config = test_config();
    config.seed = Some(seed);
    config.autopilot = AutopilotConfig {
        enabled: true,
        collection_pay_bps: 10_000,
        payout_collect_bps: 10_000,
        delay_seconds_min: 600,
        delay_seconds_max: 3_600,
    };
    let sim = start_with(config).await;
    let mut orders = vec![
        sim.voucher("ap-1", 10_000).await,
        sim.payout("ap-2", 20_000).await,
    ];
    sim.advance(7_200).await;
    for o in &mut orders {
        *o = sim
            .get(&format!("/sim/v1/orders/{}", o["id"].as_str().unwrap()))
            .await
            .body;
    }
    (sim, orders)
}

#[tokio::test]
async fn the_autopilot_pays_and_collects_after_a_seeded_random_delay() {
    let (_sim, orders) = autopilot_sim(42).await;
    for o in &orders {
        assert_eq!(o["status"], "paid", "{o}");
        let paid_at: jiff::Timestamp = o["paid_at"].as_str().unwrap().parse().unwrap();
        let start: jiff::Timestamp = START.parse().unwrap();
        let delay = paid_at.duration_since(start).as_secs();
        assert!((600..=3_600).contains(&delay), "delay {delay}");
    }
    let (_again, replay) = autopilot_sim(42).await;
    for (a, b) in orders.iter().zip(&replay) {
        assert_eq!(a["paid_at"], b["paid_at"]);
        assert_eq!(a["paid_counter_id"], b["paid_counter_id"]);
    }
}
