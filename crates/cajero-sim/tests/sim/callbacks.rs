//! Callbacks: signed, stable ids, retried until a 2xx.

use cajero_sim::config::CallbackConfig;
use cajero_sim::signing::sign_callback;

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
        retry_base_ms: 20,
        retry_max_ms: 100,
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
