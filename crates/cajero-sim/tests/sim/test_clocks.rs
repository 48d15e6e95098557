//! Test clocks: orders that live on a merchant's own clock expire, get paid and collected at
//! that clock's time, and only its merchant moves it.

use serde_json::{Value, json};

use crate::common::*;

/// One hour after [`START`].
const HOUR_LATER: &str = "2026-11-25T16:00:00Z";

fn on_clock(reference: &str, clock: &str, frozen_time: &str) -> Value {
    json!({"reference": reference, "amount": 20_000, "expires_in_seconds": 3_600,
           "test_clock": {"id": clock, "frozen_time": frozen_time}})
}

impl TestSim {
    async fn get_owned(&self, path: String) -> Reply {
        self.get(&path).await
    }
}

async fn advance_clock(sim: &TestSim, merchant: (&str, &str), clock: &str, to: &str) -> Reply {
    let path = format!("/v1/test_clocks/{clock}/advance");
    let body = json!({"frozen_time": to});
    sim.signed_as(merchant.0, merchant.1, "POST", &path, Some(&body), 0)
        .await
}

#[tokio::test]
async fn an_order_on_a_test_clock_expires_when_its_clock_passes_expiry_and_only_then() {
    let sim = start().await;
    let r = sim
        .signed(
            "POST",
            "/v1/collections",
            Some(&on_clock("c-1", "clock_a", START)),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["test_clock"], "clock_a");
    assert_eq!(r.body["expires_at"], HOUR_LATER);
    let on_clock_id = r.body["id"].as_str().unwrap().to_string();
    let plain = json!({"reference": "c-2", "amount": 20_000, "expires_in_seconds": 3_600});
    let r = sim.signed("POST", "/v1/collections", Some(&plain)).await;
    let plain_id = r.body["id"].as_str().unwrap().to_string();

    // The network's own clock passes both expiries: only the order on real time expires.
    sim.advance(2 * 3_600).await;
    let status = |id: &str| sim.get_owned(format!("/sim/v1/orders/{id}"));
    assert_eq!(status(&plain_id).await.body["status"], "expired");
    assert_eq!(status(&on_clock_id).await.body["status"], "pending");

    // Its clock passes it: now it expires, at the clock's instant.
    let r = advance_clock(&sim, (MERCHANT, SECRET), "clock_a", "2026-11-25T16:00:01Z").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["frozen_time"], "2026-11-25T16:00:01Z");
    let order = sim.get(&format!("/sim/v1/orders/{on_clock_id}")).await.body;
    assert_eq!(order["status"], "expired");
    assert_eq!(order["expired_at"], HOUR_LATER);
}

#[tokio::test]
async fn counters_serve_an_order_at_its_clocks_time() {
    let sim = start().await;
    // Created at 22:30 in Bogotá on the clock: ordinary counters are closed then.
    let late = "2026-11-26T03:30:00Z";
    let mut body = on_clock("c-1", "clock_n", late);
    body["expires_in_seconds"] = json!(86_400);
    let r = sim.signed("POST", "/v1/collections", Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let code = r.body["payment_code"].as_str().unwrap().to_string();
    let closed = sim.pay("EF-BOG-001", &code, 20_000).await;
    assert_eq!(closed["outcome"], "counter_closed", "{closed}");
    let listed = sim
        .get("/counter/v1/counters?network=efecty&city=bogota&test_clock=clock_n")
        .await;
    let ordinary = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "EF-BOG-001")
        .unwrap()
        .clone();
    assert_eq!(ordinary["open_now"], false, "closed at the clock's 22:30");

    // The next morning on the clock, the same counter takes it, at the clock's time.
    let r = advance_clock(&sim, (MERCHANT, SECRET), "clock_n", "2026-11-26T13:10:00Z").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let paid = sim.pay("EF-BOG-001", &code, 20_000).await;
    assert_eq!(paid["approved"], true, "{paid}");
    assert_eq!(paid["order"]["paid_at"], "2026-11-26T13:10:00Z");
}

#[tokio::test]
async fn a_merchants_test_clock_is_its_own() {
    let sim = start().await;
    let r = advance_clock(&sim, (MERCHANT, SECRET), "clock_m", START).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let other = (OTHER_MERCHANT, OTHER_SECRET);
    assert_eq!(
        advance_clock(&sim, other, "clock_m", HOUR_LATER)
            .await
            .status,
        404
    );
    let r = sim
        .signed_as(
            OTHER_MERCHANT,
            OTHER_SECRET,
            "GET",
            "/v1/test_clocks/clock_m",
            None,
            0,
        )
        .await;
    assert_eq!(r.status, 404);
    let r = sim
        .signed_as(
            OTHER_MERCHANT,
            OTHER_SECRET,
            "POST",
            "/v1/collections",
            Some(&on_clock("o-1", "clock_m", START)),
            0,
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    // An earlier time leaves the clock where it is.
    let r = advance_clock(&sim, (MERCHANT, SECRET), "clock_m", "2026-11-25T14:00:00Z").await;
    assert_eq!(r.body["frozen_time"], START);
}

#[tokio::test]
async fn a_test_clock_with_open_orders_is_not_forgotten() {
    let sim = start().await;
    let r = sim
        .signed("POST", "/v1/payouts", Some(&json!({"reference": "p-1", "amount": 20_000,
            "expires_in_seconds": 3_600, "test_clock": {"id": "clock_d", "frozen_time": START},
            "beneficiary": {"name": "Luis Pérez", "document": {"type": "CC", "number": "79876543"}}})))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = sim.signed("DELETE", "/v1/test_clocks/clock_d", None).await;
    assert_eq!(r.status, 422, "{}", r.body);
    advance_clock(&sim, (MERCHANT, SECRET), "clock_d", "2026-11-25T16:00:01Z").await;
    let r = sim.signed("DELETE", "/v1/test_clocks/clock_d", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = sim.signed("GET", "/v1/test_clocks/clock_d", None).await;
    assert_eq!(r.status, 404);
}
