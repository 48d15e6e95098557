//! Callbacks: signed, stable ids, retried until a 2xx on a schedule of days, sent to the
//! order's URL.

use cajero_sim::config::CallbackConfig;
use cajero_sim::engine::{CALLBACK_ATTEMPTS_MAX, retry_delay};
use cajero_sim::signing::sign_callback;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn callbacks_are_signed_with_the_merchants_secret() {
    let sim = start().await;
    let (url, receiver) = receiver(0).await;
    sim.set_callback_url(MERCHANT, SECRET, &url).await;
    let p = sim.payout("cb-1", 10_000).await;
    sim.collect(
        REGULAR_COUNTER,
        p["pickup_code"].as_str().unwrap(),
        "79876543",
    )
    .await;
    assert_eq!(sim.flush(false).await, 1);
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    let expected = sign_callback(SECRET, r.timestamp.parse().unwrap(), r.body.as_bytes());
    assert_eq!(r.signature, expected);
    assert_ne!(
        r.signature,
        sign_callback(
            OTHER_SECRET,
            r.timestamp.parse().unwrap(),
            r.body.as_bytes()
        )
    );
    let body = r.json();
    assert_eq!(body["id"], r.id.as_str());
    assert_eq!(body["type"], "payout.paid");
    assert_eq!(body["merchant_id"], MERCHANT);
    assert_eq!(body["data"]["order"]["status"], "paid");
    assert_eq!(body["data"]["attempt"]["outcome"], "approved");
    let cbs = sim.callbacks_of(p["id"].as_str().unwrap()).await;
    assert_eq!(cbs[0]["status"], "delivered");
}

#[tokio::test]
async fn a_callback_is_retried_with_the_same_id_until_acknowledged() {
    let sim = start().await;
    let (url, receiver) = receiver(2).await;
    sim.set_callback_url(MERCHANT, SECRET, &url).await;
    let v = sim.voucher("cb-2", 10_000).await;
    sim.pay(REGULAR_COUNTER, v["payment_code"].as_str().unwrap(), 10_000)
        .await;
    assert_eq!(sim.flush(false).await, 1);
    // Backoff: not due again yet.
    assert_eq!(sim.flush(false).await, 0);
    assert_eq!(sim.flush(true).await, 1);
    assert_eq!(sim.flush(true).await, 1);
    assert_eq!(sim.flush(true).await, 0, "acknowledged: nothing left");
    let got = receiver.received();
    assert_eq!(
        got.iter().map(|r| r.answered).collect::<Vec<_>>(),
        vec![500, 500, 200]
    );
    assert!(
        got.iter()
            .all(|r| r.id == got[0].id && r.body == got[0].body)
    );
    let cbs = sim.callbacks_of(v["id"].as_str().unwrap()).await;
    assert_eq!(
        (cbs[0]["status"].as_str(), cbs[0]["attempts"].as_u64()),
        (Some("delivered"), Some(3))
    );
}

#[tokio::test]
async fn the_delivery_worker_retries_on_its_own_with_backoff() {
    let mut config = test_config();
    config.callbacks = CallbackConfig {
        worker: true,
        // 5 s, 15 s, 60 s → 5 ms, 15 ms, 60 ms.
        retry_speedup: 1_000,
        ..CallbackConfig::default()
    };
    let sim = start_with(config).await;
    let (url, receiver) = receiver(3).await;
    sim.set_callback_url(MERCHANT, SECRET, &url).await;
    let v = sim.voucher("cb-3", 10_000).await;
    sim.pay(REGULAR_COUNTER, v["payment_code"].as_str().unwrap(), 10_000)
        .await;
    eventually("the fourth delivery is acknowledged", || {
        receiver.received().iter().any(|r| r.answered == 200)
    })
    .await;
    let got = receiver.received();
    assert_eq!(got.len(), 4);
    assert!(got.iter().all(|r| r.id == got[0].id));
}

#[tokio::test]
async fn retries_follow_the_schedule_and_a_clock_advance_brings_them_forward() {
    let sim = start().await;
    let (url, receiver) = receiver(u32::MAX).await;
    sim.set_callback_url(MERCHANT, SECRET, &url).await;
    let v = sim.voucher("cb-4", 10_000).await;
    sim.pay(REGULAR_COUNTER, v["payment_code"].as_str().unwrap(), 10_000)
        .await;
    assert_eq!(sim.flush(false).await, 1, "the first delivery goes at once");
    // The quick retries: seconds, then minutes.
    for attempt in 1..=6 {
        assert_eq!(sim.flush(false).await, 0, "not due before its delay");
        sim.advance(retry_delay(attempt).as_secs()).await;
        assert_eq!(
            sim.flush(false).await,
            1,
            "due after retry {attempt}'s delay"
        );
    }
    // Then hourly: half an hour is not enough.
    assert_eq!(retry_delay(7).as_secs(), 3_600);
    sim.advance(1_800).await;
    assert_eq!(sim.flush(false).await, 0);
    sim.advance(1_800).await;
    assert_eq!(sim.flush(false).await, 1);
    let cbs = sim.callbacks_of(v["id"].as_str().unwrap()).await;
    assert_eq!(
        (cbs[0]["status"].as_str(), cbs[0]["attempts"].as_u64()),
        (Some("pending"), Some(8))
    );
    assert_eq!(receiver.received().len(), 8);
}

#[tokio::test]
async fn a_callback_fails_only_after_the_last_attempt_of_the_schedule() {
    let sim = start().await;
    let (url, receiver) = receiver(u32::MAX).await;
    sim.set_callback_url(MERCHANT, SECRET, &url).await;
    let p = sim.payout("cb-5", 10_000).await;
    sim.collect(
        REGULAR_COUNTER,
        p["pickup_code"].as_str().unwrap(),
        "79876543",
    )
    .await;
    let id = p["id"].as_str().unwrap();
    for attempt in 1..CALLBACK_ATTEMPTS_MAX {
        assert_eq!(sim.flush(true).await, 1);
        let cbs = sim.callbacks_of(id).await;
        assert_eq!(cbs[0]["status"], "pending", "after attempt {attempt}");
    }
    assert_eq!(sim.flush(true).await, 1);
    let cbs = sim.callbacks_of(id).await;
    assert_eq!(
        (cbs[0]["status"].as_str(), cbs[0]["attempts"].as_u64()),
        (Some("failed"), Some(u64::from(CALLBACK_ATTEMPTS_MAX)))
    );
    assert_eq!(sim.flush(true).await, 0, "nothing after the last attempt");
    assert_eq!(
        receiver.received().len(),
        usize::try_from(CALLBACK_ATTEMPTS_MAX).unwrap()
    );
}

#[tokio::test]
async fn an_order_is_called_back_at_the_url_of_its_create() {
    let sim = start().await;
    let (merchant_url, at_merchant) = receiver(0).await;
    let (order_url, at_order) = receiver(0).await;
    sim.set_callback_url(MERCHANT, SECRET, &merchant_url).await;
    let body = json!({"reference": "cb-6", "amount": 10_000, "callback_url": order_url,
        "expires_in_seconds": 86_400});
    let own = sim.signed("POST", "/v1/collections", Some(&body)).await;
    assert_eq!(own.status, 201, "{}", own.body);
    assert_eq!(own.body["callback_url"], order_url.as_str());
    let plain = sim.voucher("cb-7", 10_000).await;
    assert!(plain.get("callback_url").is_none());
    // Repeating the create without the URL is the same order, not a conflict.
    let mut repeated = body.clone();
    repeated["callback_url"] = json!(null);
    let again = sim.signed("POST", "/v1/collections", Some(&repeated)).await;
    assert_eq!((again.status, &again.body["id"]), (200, &own.body["id"]));
    for v in [&own.body, &plain] {
        sim.pay(REGULAR_COUNTER, v["payment_code"].as_str().unwrap(), 10_000)
            .await;
    }
    assert_eq!(sim.flush(false).await, 2);
    let order_ids = |r: &ReceiverState| -> Vec<String> {
        r.received()
            .iter()
            .map(|c| c.json()["data"]["order"]["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(order_ids(&at_order), [own.body["id"].as_str().unwrap()]);
    assert_eq!(order_ids(&at_merchant), [plain["id"].as_str().unwrap()]);
}

#[tokio::test]
async fn a_callback_url_must_be_http() {
    let sim = start().await;
    for url in ["ftp://x/cb", "/callbacks", "http://", "http://a b/"] {
        let body = json!({"reference": "cb-8", "amount": 10_000, "callback_url": url});
        let r = sim.signed("POST", "/v1/collections", Some(&body)).await;
        assert_eq!(r.status, 422, "{url}: {}", r.body);
        assert_eq!(r.body["error"]["param"], "callback_url");
    }
}
