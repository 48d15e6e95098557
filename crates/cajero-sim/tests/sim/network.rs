//! The connector's side: creating, reading, listing, canceling; signatures; limits; expiry;
//! profiles; persistence.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn an_efecty_voucher_has_an_8_digit_code_the_agreement_and_gs1_data() {
    let sim = start().await;
    let v = sim.voucher("order-1042", 150_000).await;
    let code = v["payment_code"].as_str().unwrap();
    assert_eq!(code.len(), 8);
    assert!(code.chars().all(|c| c.is_ascii_digit()));
    assert_eq!(
        v["payment_code_display"],
        format!("{} {}", &code[..4], &code[4..])
    );
    assert_eq!(v["agreement_code"], "111571");
    assert_eq!(v["status"], "pending");
    assert_eq!(v["network"], "efecty");
    assert_eq!(v["expires_at"], "2026-11-26T15:00:00Z");
    assert_eq!(
        v["barcode"]["data"],
        format!("(415)7709998000018(8020){code}(3900)150000(96)20261126")
    );
    assert!(v["id"].as_str().unwrap().starts_with("col_"));
}

#[tokio::test]
async fn sured_codes_and_every_pickup_code_have_10_digits() {
    let sim = start().await;
    let body = json!({"network": "sured", "reference": "s-1", "amount": 50_000});
    let r = sim.signed("POST", "/v1/collections", Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["payment_code"].as_str().unwrap().len(), 10);
    let p = sim.payout("p-1", 200_000).await;
    assert_eq!(p["pickup_code"].as_str().unwrap().len(), 10);
    assert_eq!(p["status"], "available");
    assert_eq!(p["beneficiary"]["name"], "Luis Pérez");
}

#[tokio::test]
async fn amounts_outside_the_profile_limits_are_refused() {
    let sim = start().await;
    let r = sim.create_collection("low", 999).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (422, Some("amount_out_of_range"))
    );
    let r = sim.create_collection("high", 6_000_001).await;
    assert_eq!(r.status, 422);
    assert_eq!(sim.create_collection("max", 6_000_000).await.status, 201);
    let body = json!({"network": "sured", "reference": "s-high", "amount": 4_000_001});
    let r = sim.signed("POST", "/v1/collections", Some(&body)).await;
    assert_eq!(r.body["error"]["code"], "amount_out_of_range");
    let body = json!({"reference": "v", "amount": 10_000, "expires_in_seconds": 60});
    let r = sim.signed("POST", "/v1/collections", Some(&body)).await;
    assert_eq!(r.body["error"]["code"], "expiry_out_of_range");
}

#[tokio::test]
async fn a_repeated_create_answers_the_same_order_and_a_different_one_conflicts() {
    let sim = start().await;
    let first = sim.voucher("dup", 10_000).await;
    let again = sim.create_collection("dup", 10_000).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.headers["sim-replayed"], "true");
    assert_eq!(again.body["id"], first["id"]);
    let other = sim.create_collection("dup", 20_000).await;
    assert_eq!(other.status, 409);
    assert_eq!(other.body["error"]["existing_id"], first["id"]);
}

#[tokio::test]
async fn orders_are_found_by_id_and_reference_only_by_their_merchant() {
    let sim = start().await;
    let v = sim.voucher("ref/with spaces", 10_000).await;
    let id = v["id"].as_str().unwrap();
    let r = sim
        .signed("GET", &format!("/v1/collections/{id}"), None)
        .await;
    assert_eq!((r.status, &r.body["id"]), (200, &v["id"]));
    let r = sim
        .signed(
            "GET",
            "/v1/collections/by_reference/ref%2Fwith%20spaces",
            None,
        )
        .await;
    assert_eq!((r.status, &r.body["id"]), (200, &v["id"]));
    let r = sim
        .signed_as(
            OTHER_MERCHANT,
            OTHER_SECRET,
            "GET",
            &format!("/v1/collections/{id}"),
            None,
            0,
        )
        .await;
    assert_eq!(r.status, 404);
    let r = sim.signed("GET", &format!("/v1/payouts/{id}"), None).await;
    assert_eq!(r.status, 404, "a collection is not a payout");
}

#[tokio::test]
async fn open_orders_cancel_once_and_paid_ones_do_not() {
    let sim = start().await;
    let p = sim.payout("c-1", 10_000).await;
    let id = p["id"].as_str().unwrap();
    let r = sim
        .signed("POST", &format!("/v1/payouts/{id}/cancel"), None)
        .await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (200, Some("canceled"))
    );
    let r = sim
        .signed("POST", &format!("/v1/payouts/{id}/cancel"), None)
        .await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (409, Some("order_not_cancelable"))
    );
    let v = sim.voucher("c-2", 10_000).await;
    sim.pay(REGULAR_COUNTER, v["payment_code"].as_str().unwrap(), 10_000)
        .await;
    let r = sim
        .signed(
            "POST",
            &format!("/v1/collections/{}/cancel", v["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(r.status, 409);
}

#[tokio::test]
async fn lists_are_newest_first_with_pages_and_filters() {
    let sim = start().await;
    for i in 0..5 {
        sim.voucher(&format!("l-{i}"), 10_000 + i).await;
    }
    let r = sim.signed("GET", "/v1/collections?limit=2", None).await;
    let data = r.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["reference"], "l-4");
    assert_eq!(r.body["has_more"], true);
    let after = data[1]["id"].as_str().unwrap();
    let r = sim
        .signed(
            "GET",
            &format!("/v1/collections?limit=10&starting_after={after}"),
            None,
        )
        .await;
    let refs: Vec<_> = r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["reference"].clone())
        .collect();
    assert_eq!(refs, vec![json!("l-2"), json!("l-1"), json!("l-0")]);
    assert_eq!(r.body["has_more"], false);
    let r = sim.signed("GET", "/v1/collections?status=paid", None).await;
    assert!(r.body["data"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_request_with_a_wrong_signature_is_refused() {
    let sim = start().await;
    let body = json!({"reference": "x", "amount": 10_000});
    let r = sim
        .signed_as(
            MERCHANT,
            "not-the-secret",
            "POST",
            "/v1/collections",
            Some(&body),
            0,
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (401, Some("signature_invalid"))
    );
    let r = sim
        .signed_as("nobody", SECRET, "POST", "/v1/collections", Some(&body), 0)
        .await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (401, Some("unknown_merchant"))
    );
    let r = sim.post("/v1/collections", &body).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (401, Some("signature_missing"))
    );
    // Signed for another path: refused.
    let ts = jiff::Timestamp::now().as_second();
    let sig = cajero_sim::signing::sign_request(SECRET, ts, "GET", "/v1/payouts", b"");
    let r = reply(
        sim.http
            .get(sim.url("/v1/collections"))
            .header("sim-merchant", MERCHANT)
            .header("sim-timestamp", ts.to_string())
            .header("sim-signature", sig)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 401);
    assert!(sim.signed("GET", "/v1/collections", None).await.status == 200);
}

#[tokio::test]
async fn a_request_more_than_5_minutes_off_is_refused() {
    let sim = start().await;
    for skew in [-301, 301, -3_600] {
        let r = sim
            .signed_as(MERCHANT, SECRET, "GET", "/v1/collections", None, skew)
            .await;
        assert_eq!(
            (r.status, r.body["error"]["code"].as_str()),
            (401, Some("timestamp_out_of_range")),
            "skew {skew}"
        );
    }
    for skew in [-290, 290] {
        let r = sim
            .signed_as(MERCHANT, SECRET, "GET", "/v1/collections", None, skew)
            .await;
        assert_eq!(r.status, 200, "skew {skew}");
    }
}

#[tokio::test]
async fn an_unpaid_voucher_expires_when_the_clock_passes_its_expiry() {
    let sim = start().await;
    let v = sim.voucher("exp", 10_000).await;
    let id = v["id"].as_str().unwrap();
    sim.advance(86_399).await;
    let r = sim
        .signed("GET", &format!("/v1/collections/{id}"), None)
        .await;
    assert_eq!(r.body["status"], "pending");
    sim.advance(1).await;
    let r = sim
        .signed("GET", &format!("/v1/collections/{id}"), None)
        .await;
    assert_eq!(r.body["status"], "expired");
    assert_eq!(r.body["expired_at"], "2026-11-26T15:00:00Z");
    let types: Vec<_> = sim
        .callbacks_of(id)
        .await
        .iter()
        .map(|c| c["event_type"].clone())
        .collect();
    assert_eq!(types, vec![json!("collection.expired")]);
    let paid = sim
        .pay(
            EXTENDED_COUNTER,
            v["payment_code"].as_str().unwrap(),
            10_000,
        )
        .await;
    assert_eq!(paid["outcome"], "expired");
}

#[tokio::test]
async fn baloto_refuses_new_orders_after_its_closure_in_may_2022() {
    let sim = start().await;
    let body = json!({"network": "baloto", "reference": "b", "amount": 10_000});
    let r = sim.signed("POST", "/v1/collections", Some(&body)).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (422, Some("network_discontinued"))
    );
    let counters = sim.get("/counter/v1/counters?network=baloto").await;
    let counter = counters.body["data"][0]["id"].as_str().unwrap().to_owned();
    let answer = sim.pay(&counter, "1234567890", 10_000).await;
    assert_eq!(answer["outcome"], "network_discontinued");
}

#[tokio::test]
async fn a_legacy_baloto_code_is_payable_only_from_the_next_activation_window() {
    let mut config = test_config();
    // Tuesday 11 January 2022, 08:30 in Bogotá: counters are open, the next window is 10:00.
    config.clock.start = Some("2022-01-11T13:30:00Z".parse().unwrap());
    let sim = start_with(config).await;
    let body = json!({"network": "baloto", "reference": "b", "amount": 25_000});
    let r = sim.signed("POST", "/v1/collections", Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["active_from"], "2022-01-11T15:00:00Z");
    assert_eq!(
        r.body["expires_at"], "2022-01-16T13:30:00Z",
        "about five days"
    );
    let code = r.body["payment_code"].as_str().unwrap();
    assert_eq!(code.len(), 10);
    let counters = sim
        .get("/counter/v1/counters?network=baloto&city=Bogota")
        .await;
    let counter = counters.body["data"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        sim.pay(&counter, code, 25_000).await["outcome"],
        "not_yet_active"
    );
    sim.advance(5_400).await;
    assert_eq!(sim.pay(&counter, code, 25_000).await["outcome"], "approved");
}

#[tokio::test]
async fn state_persists_across_restarts_with_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sim.db").display());
    let mut config = test_config();
    config.database_url = Some(url.clone());
    let sim = start_with(config.clone()).await;
    let v = sim.voucher("persist", 30_000).await;
    sim.pay(REGULAR_COUNTER, v["payment_code"].as_str().unwrap(), 30_000)
        .await;
    let p = sim.payout("persist-p", 40_000).await;
    sim.advance(600).await;
    sim.handle.shutdown().await.unwrap();

    let sim = start_with(config).await;
    let r = sim
        .signed("GET", "/v1/collections/by_reference/persist", None)
        .await;
    assert_eq!(r.body["status"], "paid");
    assert_eq!(r.body["attempts"].as_array().unwrap().len(), 1);
    let r = sim
        .signed(
            "GET",
            &format!("/v1/payouts/{}", p["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(r.body["status"], "available");
    let clock = sim.get("/sim/v1/clock").await;
    assert_eq!(clock.body["now"], "2026-11-25T15:10:00Z");
    let counter = sim
        .get(&format!("/counter/v1/counters/{REGULAR_COUNTER}"))
        .await;
    assert_eq!(counter.body["cash"], 20_030_000);
    // New codes do not collide with the ones issued before the restart.
    let again = sim.voucher("persist-2", 30_000).await;
    assert_ne!(again["payment_code"], v["payment_code"]);
    assert_ne!(again["id"], v["id"]);
}
