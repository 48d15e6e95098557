//! The counter's side: every outcome of paying a voucher and collecting a payout.

use serde_json::json;

use crate::common::*;

fn code(order: &serde_json::Value, field: &str) -> String {
    order[field].as_str().unwrap().to_owned()
}

async fn cash(sim: &TestSim, counter: &str) -> i64 {
    sim.get(&format!("/counter/v1/counters/{counter}"))
        .await
        .body["cash"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn a_voucher_paid_for_its_exact_amount_is_paid_and_fills_the_drawer() {
    let sim = start().await;
    let v = sim.voucher("pay-1", 150_000).await;
    let before = cash(&sim, REGULAR_COUNTER).await;
    let a = sim
        .pay(REGULAR_COUNTER, &code(&v, "payment_code_display"), 150_000)
        .await;
    assert_eq!(
        (a["approved"].as_bool(), a["outcome"].as_str()),
        (Some(true), Some("approved"))
    );
    assert_eq!(a["order"]["status"], "paid");
    assert_eq!(a["order"]["paid_counter_id"], REGULAR_COUNTER);
    assert_eq!(a["order"]["paid_at"], START);
    assert_eq!(cash(&sim, REGULAR_COUNTER).await, before + 150_000);
    let cbs = sim.callbacks_of(v["id"].as_str().unwrap()).await;
    assert_eq!(cbs.len(), 1);
    assert_eq!(cbs[0]["event_type"], "collection.paid");
}

#[tokio::test]
async fn a_voucher_refuses_wrong_amounts_unknown_codes_and_second_payments() {
    let sim = start().await;
    let v = sim.voucher("pay-2", 150_000).await;
    let c = code(&v, "payment_code");
    assert_eq!(
        sim.pay(REGULAR_COUNTER, &c, 149_999).await["outcome"],
        "wrong_amount"
    );
    assert_eq!(
        sim.pay(REGULAR_COUNTER, &c, 150_001).await["outcome"],
        "wrong_amount"
    );
    assert_eq!(
        sim.pay(REGULAR_COUNTER, "00000001", 150_000).await["outcome"],
        "unknown_code"
    );
    assert_eq!(
        sim.pay(REGULAR_COUNTER, &c, 150_000).await["outcome"],
        "approved"
    );
    assert_eq!(
        sim.pay(EXTENDED_COUNTER, &c, 150_000).await["outcome"],
        "already_paid"
    );
    let attempts = sim
        .get(&format!(
            "/counter/v1/attempts?order_id={}",
            v["id"].as_str().unwrap()
        ))
        .await;
    let outcomes: Vec<_> = attempts.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].clone())
        .collect();
    assert_eq!(
        outcomes,
        vec![
            json!("already_paid"),
            json!("approved"),
            json!("wrong_amount"),
            json!("wrong_amount")
        ]
    );
}

#[tokio::test]
async fn a_canceled_voucher_cannot_be_paid() {
    let sim = start().await;
    let v = sim.voucher("pay-3", 20_000).await;
    sim.signed(
        "POST",
        &format!("/v1/collections/{}/cancel", v["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(
        sim.pay(REGULAR_COUNTER, &code(&v, "payment_code"), 20_000)
            .await["outcome"],
        "canceled"
    );
}

#[tokio::test]
async fn counters_serve_only_in_their_hours_and_extended_ones_until_22() {
    let sim = start().await;
    let v = sim.voucher("hours", 20_000).await;
    let c = code(&v, "payment_code");
    sim.advance(9 * 3_600).await; // 19:00 in Bogotá
    assert_eq!(
        sim.pay(REGULAR_COUNTER, &c, 20_000).await["outcome"],
        "counter_closed"
    );
    let regular = sim
        .get(&format!("/counter/v1/counters/{REGULAR_COUNTER}"))
        .await;
    assert_eq!(regular.body["open_now"], false);
    assert_eq!(regular.body["hours_weekdays"], "08:00–18:00");
    assert_eq!(
        sim.pay(EXTENDED_COUNTER, &c, 20_000).await["outcome"],
        "approved"
    );
    sim.advance(3 * 3_600).await; // 22:00
    let p = sim.payout("hours-p", 10_000).await;
    assert_eq!(
        sim.collect(EXTENDED_COUNTER, &code(&p, "pickup_code"), "79876543")
            .await["outcome"],
        "counter_closed"
    );
}

#[tokio::test]
async fn a_payout_is_collected_with_its_code_and_the_beneficiarys_document() {
    let sim = start().await;
    let p = sim.payout("col-1", 200_000).await;
    let before = cash(&sim, REGULAR_COUNTER).await;
    let a = sim
        .collect(
            REGULAR_COUNTER,
            &code(&p, "pickup_code_display"),
            "79.876.543",
        )
        .await;
    assert_eq!(a["outcome"], "approved");
    assert_eq!(a["beneficiary_name"], "Luis Pérez");
    assert_eq!(a["order"]["status"], "paid");
    assert_eq!(cash(&sim, REGULAR_COUNTER).await, before - 200_000);
    let again = sim
        .collect(REGULAR_COUNTER, &code(&p, "pickup_code"), "79876543")
        .await;
    assert_eq!(again["outcome"], "already_paid");
}

#[tokio::test]
async fn three_wrong_codes_lock_the_payout_even_for_the_right_code() {
    let sim = start().await;
    let p = sim.payout("lock", 50_000).await;
    let id = p["id"].as_str().unwrap();
    for n in 1..=3 {
        let a = sim.collect(REGULAR_COUNTER, "1111222233", "79876543").await;
        assert_eq!(a["outcome"], "wrong_code", "attempt {n}");
        assert_eq!(a["order"]["wrong_code_attempts"], n);
    }
    let r = sim.signed("GET", &format!("/v1/payouts/{id}"), None).await;
    assert_eq!(r.body["status"], "locked");
    let a = sim
        .collect(REGULAR_COUNTER, &code(&p, "pickup_code"), "79876543")
        .await;
    assert_eq!(a["outcome"], "code_locked");
    let types: Vec<_> = sim
        .callbacks_of(id)
        .await
        .iter()
        .map(|c| c["event_type"].clone())
        .collect();
    assert_eq!(
        types
            .iter()
            .filter(|t| **t == json!("payout.attempt_failed"))
            .count(),
        4
    );
    assert!(types.contains(&json!("payout.locked")));
    // A locked payout can still be canceled, so the merchant gets its money back.
    let r = sim
        .signed("POST", &format!("/v1/payouts/{id}/cancel"), None)
        .await;
    assert_eq!(r.body["status"], "canceled");
}

#[tokio::test]
async fn a_payout_is_not_paid_to_another_document() {
    let sim = start().await;
    let p = sim.payout("mismatch", 50_000).await;
    let a = sim
        .collect(REGULAR_COUNTER, &code(&p, "pickup_code"), "12345678")
        .await;
    assert_eq!(a["outcome"], "document_mismatch");
    assert_eq!(a["order"]["status"], "available");
    assert_eq!(a["order"]["wrong_code_attempts"], 0);
    assert_eq!(a["order"]["attempts"][0]["outcome"], "document_mismatch");
}

#[tokio::test]
async fn expired_and_canceled_payouts_are_not_paid() {
    let sim = start().await;
    let expiring = sim.payout("exp", 50_000).await;
    let canceled = sim.payout("can", 50_000).await;
    sim.signed(
        "POST",
        &format!("/v1/payouts/{}/cancel", canceled["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(
        sim.collect(REGULAR_COUNTER, &code(&canceled, "pickup_code"), "79876543")
            .await["outcome"],
        "canceled"
    );
    sim.advance(86_400).await;
    assert_eq!(
        sim.collect(REGULAR_COUNTER, &code(&expiring, "pickup_code"), "79876543")
            .await["outcome"],
        "expired"
    );
}

#[tokio::test]
async fn a_counter_without_enough_cash_cannot_pay_out_and_pay_ins_refill_it() {
    let sim = start().await;
    let p = sim.payout("cash", 100_000).await;
    let r = sim
        .put(
            &format!("/sim/v1/counters/{REGULAR_COUNTER}/cash"),
            &json!({"cash": 99_999}),
        )
        .await;
    assert_eq!(r.status, 200);
    let a = sim
        .collect(REGULAR_COUNTER, &code(&p, "pickup_code"), "79876543")
        .await;
    assert_eq!(a["outcome"], "counter_out_of_cash");
    let v = sim.voucher("refill", 1_000).await;
    sim.pay(REGULAR_COUNTER, &code(&v, "payment_code"), 1_000)
        .await;
    let a = sim
        .collect(REGULAR_COUNTER, &code(&p, "pickup_code"), "79876543")
        .await;
    assert_eq!(a["outcome"], "approved");
    assert_eq!(cash(&sim, REGULAR_COUNTER).await, 999);
}

#[tokio::test]
async fn every_attempt_is_recorded_with_its_counter_and_outcome() {
    let sim = start().await;
    let p = sim.payout("rec", 10_000).await;
    sim.collect(REGULAR_COUNTER, &code(&p, "pickup_code"), "1")
        .await;
    sim.collect(EXTENDED_COUNTER, &code(&p, "pickup_code"), "79876543")
        .await;
    let r = sim
        .get(&format!(
            "/counter/v1/attempts?counter_id={EXTENDED_COUNTER}"
        ))
        .await;
    let data = r.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["outcome"], "approved");
    assert_eq!(data[0]["operation"], "collect");
    let r = sim
        .get(&format!(
            "/counter/v1/attempts?order_id={}",
            p["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(r.body["data"].as_array().unwrap().len(), 2);
    let r = sim.get("/counter/v1/counters/NOPE").await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn the_directory_lists_counters_by_city_across_colombia() {
    let sim = start().await;
    let all = sim.get("/counter/v1/counters?network=efecty").await;
    let data = all.body["data"].as_array().unwrap();
    let cities: std::collections::BTreeSet<_> =
        data.iter().map(|c| c["city"].as_str().unwrap()).collect();
    assert!(cities.len() >= 20, "{cities:?}");
    assert!(data.iter().any(|c| c["extended_hours"] == true));
    let medellin = sim.get("/counter/v1/counters?city=medellin").await;
    let m = medellin.body["data"].as_array().unwrap();
    assert!(!m.is_empty());
    assert!(
        m.iter()
            .all(|c| c["city"] == "Medellín" && c["department"] == "Antioquia")
    );
}
