//! A network taken down (`faults.down`): everything about it answers 503 and does nothing,
//! its counters refuse, its callbacks wait; the other networks carry on.

use serde_json::{Value, json};

use crate::common::*;

/// A regular-hours SuRed counter in Bogotá.
const SURED_COUNTER: &str = "SR-BOG-001";

async fn sured_voucher(sim: &TestSim, reference: &str) -> Reply {
    let body = json!({"network": "sured", "reference": reference, "amount": 20_000,
        "customer": {"name": "Ana Gómez", "document": {"type": "CC", "number": "1020304050"}}});
    sim.signed("POST", "/v1/collections", Some(&body)).await
}

fn code(order: &Value, field: &str) -> String {
    order[field].as_str().unwrap().to_owned()
}

fn refused_as_down(reply: &Reply, what: &str) {
    assert_eq!(
        (reply.status, reply.body["error"]["code"].as_str()),
        (503, Some("system_unavailable")),
        "{what}: {}",
        reply.body
    );
}

#[tokio::test]
async fn a_network_taken_down_answers_503_about_everything_of_its_own_and_creates_nothing() {
    let sim = start().await;
    let before = sured_voucher(&sim, "s-before").await;
    assert_eq!(before.status, 201, "{}", before.body);
    let sured_id = code(&before.body, "id");
    sim.voucher("e-1", 10_000).await;

    sim.set_faults(json!({"down": ["sured"]})).await;

    refused_as_down(&sured_voucher(&sim, "s-new").await, "create");
    refused_as_down(&sured_voucher(&sim, "s-before").await, "a replay");
    let get = sim
        .signed("GET", &format!("/v1/collections/{sured_id}"), None)
        .await;
    refused_as_down(&get, "get");
    let by_reference = sim
        .signed("GET", "/v1/collections/by_reference/s-before", None)
        .await;
    refused_as_down(&by_reference, "get by reference");
    let cancel = sim
        .signed("POST", &format!("/v1/collections/{sured_id}/cancel"), None)
        .await;
    refused_as_down(&cancel, "cancel");
    let listed = sim
        .signed("GET", "/v1/collections?network=sured", None)
        .await;
    refused_as_down(&listed, "a list of its orders");
    let file = sim
        .signed("GET", "/v1/settlement_files/2026-11-25?network=sured", None)
        .await;
    refused_as_down(&file, "its settlement file");
    // Efecty carries on; a list of every network leaves the one that is down out.
    assert_eq!(sim.create_collection("e-2", 10_000).await.status, 201);
    let all = sim.signed("GET", "/v1/collections", None).await;
    let networks: Vec<&str> = all.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["network"].as_str().unwrap())
        .collect();
    assert_eq!(networks, ["efecty", "efecty"]);
    let efecty_file = sim
        .signed(
            "GET",
            "/v1/settlement_files/2026-11-25?network=efecty",
            None,
        )
        .await;
    assert_eq!(efecty_file.status, 200);
    assert_eq!(
        sim.get("/sim/v1/faults").await.body["down"],
        json!(["sured"])
    );

    sim.set_faults(json!({})).await;

    let created = sured_voucher(&sim, "s-new").await;
    assert_eq!(created.status, 201, "nothing was created while down");
    let back = sim
        .signed("GET", &format!("/v1/collections/{sured_id}"), None)
        .await;
    assert_eq!(
        (back.status, back.body["status"].as_str()),
        (200, Some("pending"))
    );
}

#[tokio::test]
async fn only_the_simulators_networks_can_be_taken_down() {
    let sim = start().await;

    let r = sim
        .put("/sim/v1/faults", &json!({"down": ["sured", "nequi"]}))
        .await;

    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (400, Some("invalid_faults"))
    );
    assert_eq!(r.body["error"]["param"], "down");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nequi")
    );
    assert_eq!(sim.get("/sim/v1/faults").await.body["down"], json!([]));
}

#[tokio::test]
async fn counters_of_a_network_that_is_down_refuse_with_system_unavailable() {
    let sim = start().await;
    let body = json!({"network": "sured", "reference": "sp-1", "amount": 50_000,
        "beneficiary": {"name": "Luis Pérez", "document": {"type": "CC", "number": "79876543"}}});
    let payout = sim.signed("POST", "/v1/payouts", Some(&body)).await.body;
    let voucher = sured_voucher(&sim, "sv-1").await.body;

    sim.set_faults(json!({"down": ["sured"]})).await;

    let collect = sim
        .collect(SURED_COUNTER, &code(&payout, "pickup_code"), "79876543")
        .await;
    assert_eq!(collect["outcome"], "system_unavailable");
    let pay = sim
        .pay(SURED_COUNTER, &code(&voucher, "payment_code"), 20_000)
        .await;
    assert_eq!(pay["outcome"], "system_unavailable");
    let efecty = sim.voucher("ev-1", 10_000).await;
    let paid = sim
        .pay(REGULAR_COUNTER, &code(&efecty, "payment_code"), 10_000)
        .await;
    assert_eq!(paid["outcome"], "approved", "Efecty's counters still work");

    sim.set_faults(json!({})).await;

    let collect = sim
        .collect(SURED_COUNTER, &code(&payout, "pickup_code"), "79876543")
        .await;
    assert_eq!(collect["outcome"], "approved");
}

#[tokio::test]
async fn callbacks_of_a_network_that_is_down_wait_until_it_is_back() {
    let sim = start().await;
    let (url, receiver) = receiver(0).await;
    sim.set_callback_url(MERCHANT, SECRET, &url).await;
    let sured = sured_voucher(&sim, "sc-1").await.body;
    let efecty = sim.voucher("ec-1", 10_000).await;
    sim.pay(SURED_COUNTER, &code(&sured, "payment_code"), 20_000)
        .await;
    sim.pay(REGULAR_COUNTER, &code(&efecty, "payment_code"), 10_000)
        .await;

    sim.set_faults(json!({"down": ["sured"]})).await;
    sim.flush(true).await;

    let networks = |receiver: &ReceiverState| -> Vec<String> {
        receiver
            .received()
            .iter()
            .map(|r| r.json()["network"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(networks(&receiver), ["efecty"], "SuRed's callback is held");
    assert_eq!(
        sim.callbacks_of(&code(&sured, "id")).await[0]["status"],
        "pending"
    );

    sim.set_faults(json!({})).await;
    sim.flush(true).await;

    assert_eq!(networks(&receiver), ["efecty", "sured"]);
}

#[tokio::test]
async fn the_autopilots_customers_come_back_when_the_network_is_up_again() {
    let mut config = test_config();
    config.autopilot = cajero_sim::config::AutopilotConfig {
        enabled: true,
        collection_pay_bps: 10_000,
        payout_collect_bps: 10_000,
        delay_seconds_min: 600,
        delay_seconds_max: 600,
    };
    let sim = start_with(config).await;
    let voucher = sured_voucher(&sim, "sa-1").await.body;
    let order = format!("/sim/v1/orders/{}", code(&voucher, "id"));

    sim.set_faults(json!({"down": ["sured"]})).await;
    sim.advance(1_200).await;

    let waiting = sim.get(&order).await.body;
    assert_eq!(waiting["status"], "pending", "{waiting}");
    assert_eq!(waiting["attempts"], json!([]), "turned away at the door");

    sim.set_faults(json!({})).await;
    sim.advance(3_600).await;

    assert_eq!(sim.get(&order).await.body["status"], "paid");
}
