//! The magic values of API.md's test-mode table.

use crate::common::*;

#[tokio::test]
async fn document_1111111111_is_rejected_at_creation() {
    let sim = start().await;
    let r = sim.create_payout("m-1", 10_000, "1111111111").await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (422, Some("beneficiary_rejected"))
    );
    let r = sim
        .signed("GET", "/v1/payouts/by_reference/m-1", None)
        .await;
    assert_eq!(r.status, 404, "nothing was created");
}

#[tokio::test]
async fn document_2222222222_fails_every_collection_with_document_mismatch() {
    let sim = start().await;
    let r = sim.create_payout("m-2", 10_000, "2222222222").await;
    assert_eq!(r.status, 201);
    let code = r.body["pickup_code"].as_str().unwrap();
    for document in ["2222222222", "2.222.222.222", "79876543"] {
        let a = sim.collect(REGULAR_COUNTER, code, document).await;
        assert_eq!(a["outcome"], "document_mismatch", "{document}");
    }
}

#[tokio::test]
async fn amount_66666_makes_the_network_unavailable_on_create() {
    let sim = start().await;
    let r = sim.create_collection("m-3", 66_666).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (503, Some("network_unavailable"))
    );
    let r = sim.create_payout("m-3p", 66_666, "79876543").await;
    assert_eq!(r.status, 503);
    assert_eq!(
        sim.signed("GET", "/v1/collections/by_reference/m-3", None)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn amount_77777_is_confirmed_twice() {
    let sim = start().await;
    let (url, receiver) = receiver(0).await;
    sim.set_callback_url(MERCHANT, SECRET, &url).await;
    let v = sim.voucher("m-4", 77_777).await;
    sim.pay(REGULAR_COUNTER, v["payment_code"].as_str().unwrap(), 77_777)
        .await;
    sim.flush(true).await;
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert_ne!(
        got[0].id, got[1].id,
        "two confirmations, each its own callback"
    );
    for r in &got {
        let body = r.json();
        assert_eq!(body["type"], "collection.paid");
        assert_eq!(body["data"]["order"]["id"], v["id"]);
    }
}

#[tokio::test]
async fn amount_88888_loses_the_payment_callback_but_not_the_settlement_line() {
    let sim = start().await;
    let (url, receiver) = receiver(0).await;
    sim.set_callback_url(MERCHANT, SECRET, &url).await;
    let v = sim.voucher("m-5", 88_888).await;
    let code = v["payment_code"].as_str().unwrap();
    sim.pay(REGULAR_COUNTER, code, 88_888).await;
    sim.flush(true).await;
    assert!(receiver.received().is_empty());
    let cbs = sim.callbacks_of(v["id"].as_str().unwrap()).await;
    assert_eq!(cbs[0]["status"], "lost");
    let r = sim
        .signed("GET", "/v1/collections/by_reference/m-5", None)
        .await;
    assert_eq!(
        r.body["status"], "paid",
        "a status query still tells the truth"
    );
    let (status, csv) = sim
        .text(&format!(
            "/sim/v1/settlement_files/2026-11-25?format=csv&merchant_id={MERCHANT}"
        ))
        .await;
    assert_eq!(status, 200);
    assert!(csv.contains(&format!(",{code},88888,COP,")), "{csv}");
}
