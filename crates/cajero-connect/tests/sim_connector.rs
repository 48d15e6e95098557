//! The simulator connector against a real simulator over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)] // the helpers the gateway tests share are not all used here
mod support;

use cajero_connect::sim::{SimConnector, SimConnectorConfig};
use cajero_connect::{
    CallbackError, CallbackKind, ConnectError, Connector, Evidence, NetworkStatus, OrderKind,
    create_once,
};
use cajero_domain::asobancaria::{Strictness, parse};
use cajero_sim::config::Faults;
use jiff::{SignedDuration, Timestamp};
use support::{
    COUNTER, MERCHANT, Received, SECRET, START, START_DATE, cop, pickup, spawn_receiver, start,
    start_with, voucher,
};

fn assert_clean(evidence: &[Evidence]) {
    for e in evidence {
        for text in [&e.request, &e.response] {
            assert!(!text.contains(SECRET), "secret in evidence: {e:?}");
            assert!(!text.to_lowercase().contains("sim-signature"), "{e:?}");
            assert!(!text.contains("v1="), "signature in evidence: {e:?}");
        }
    }
}

#[tokio::test]
async fn a_voucher_is_created_with_its_payment_code_agreement_and_barcode() {
    let f = start().await;

    let got = f.connector.create_voucher(&voucher("pi_1", 150_000)).await;

    let order = got.result.unwrap();
    assert_eq!(order.kind, OrderKind::Collection);
    assert_eq!(order.reference, "pi_1");
    assert_eq!(order.network, "efecty");
    assert_eq!(order.status, NetworkStatus::Pending);
    assert_eq!(order.amount, cop(150_000));
    assert!(order.network_order_id.starts_with("col_"));
    assert_eq!(order.code.len(), 8, "Efecty payment codes have 8 digits");
    assert!(order.code.chars().all(|c| c.is_ascii_digit()));
    assert_eq!(order.agreement_code.as_deref(), Some("111571"));
    let barcode = order.barcode_data.unwrap();
    assert!(
        barcode.contains(&format!("(8020){}", order.code)),
        "{barcode}"
    );
    let start: Timestamp = START.parse().unwrap();
    assert_eq!(order.expires_at, start + SignedDuration::from_hours(72));
    assert_eq!((order.paid_at, order.paid_counter_id), (None, None));
    let [evidence] = got.evidence.as_slice() else {
        panic!("one exchange: {:?}", got.evidence)
    };
    assert_eq!(evidence.operation, "POST /v1/collections");
    assert_eq!(evidence.response_status, Some(201));
    assert!(evidence.request.contains("\"reference\":\"pi_1\""));
    assert!(
        evidence
            .request
            .contains(&format!("sim-merchant: {MERCHANT}"))
    );
    assert!(evidence.response.contains(&order.network_order_id));
    assert_clean(&got.evidence);
}

#[tokio::test]
async fn a_pickup_is_created_with_its_pickup_code() {
    let f = start().await;

    let order = f
        .connector
        .create_pickup(&pickup("po_1", 200_000, "79876543"))
        .await
        .result
        .unwrap();

    assert_eq!(order.kind, OrderKind::Payout);
    assert_eq!(order.status, NetworkStatus::Available);
    assert!(order.network_order_id.starts_with("giro_"));
    assert_eq!(order.code.len(), 10, "Efecty pick-up codes have 10 digits");
    assert_eq!((order.agreement_code, order.barcode_data), (None, None));
}

#[tokio::test]
async fn repeating_a_create_with_the_same_reference_answers_the_same_order() {
    let f = start().await;
    let request = pickup("po_1", 200_000, "79876543");

    let first = f.connector.create_pickup(&request).await;
    let again = f.connector.create_pickup(&request).await;

    assert_eq!(again.result.unwrap(), first.result.unwrap());
    assert_eq!(again.evidence[0].response_status, Some(200));
    assert_eq!(f.listed("payouts", "po_1").await.len(), 1);
}

#[tokio::test]
async fn the_same_reference_with_other_values_is_a_rejected_conflict() {
    let f = start().await;
    f.connector.create_voucher(&voucher("pi_1", 150_000)).await;

    let got = f.connector.create_voucher(&voucher("pi_1", 151_000)).await;

    let Err(ConnectError::Rejected { code, .. }) = got.result else {
        panic!("{:?}", got.result)
    };
    assert_eq!(code, "reference_conflict");
}

#[tokio::test]
async fn an_order_is_found_by_reference_and_read_by_id() {
    let f = start().await;
    // A reference with characters that must be escaped in a path segment.
    let created = f
        .connector
        .create_voucher(&voucher("pi 1/ä?", 150_000))
        .await
        .result
        .unwrap();

    let found = f
        .connector
        .find_by_reference(OrderKind::Collection, "pi 1/ä?")
        .await;
    let read = f
        .connector
        .get(OrderKind::Collection, &created.network_order_id)
        .await;

    assert_eq!(found.result.unwrap(), created);
    assert_eq!(read.result.unwrap(), created);
    assert_clean(&found.evidence);
    let unknown = f
        .connector
        .find_by_reference(OrderKind::Collection, "pi_2")
        .await;
    assert_eq!(unknown.result, Err(ConnectError::NotFound));
    assert_eq!(unknown.evidence[0].response_status, Some(404));
    let other_kind = f
        .connector
        .find_by_reference(OrderKind::Payout, "pi 1/ä?")
        .await;
    assert_eq!(other_kind.result, Err(ConnectError::NotFound));
}

#[tokio::test]
async fn an_open_order_is_canceled_and_a_paid_one_is_not_cancelable() {
    let f = start().await;
    let open = f.connector.create_voucher(&voucher("pi_1", 150_000)).await;
    let open = open.result.unwrap();
    let paid = f.connector.create_voucher(&voucher("pi_2", 150_000)).await;
    let paid = paid.result.unwrap();
    let outcome = f.connector.pay(COUNTER, &paid.code, cop(150_000)).await;
    assert!(outcome.unwrap().approved);

    let canceled = f
        .connector
        .cancel(OrderKind::Collection, &open.network_order_id)
        .await;
    let refused = f
        .connector
        .cancel(OrderKind::Collection, &paid.network_order_id)
        .await;

    assert_eq!(canceled.result.unwrap().status, NetworkStatus::Canceled);
    assert_eq!(refused.result, Err(ConnectError::NotCancelable));
    assert_eq!(refused.evidence[0].response_status, Some(409));
    let paid = f
        .connector
        .get(OrderKind::Collection, &paid.network_order_id)
        .await
        .result
        .unwrap();
    assert_eq!(paid.status, NetworkStatus::Paid);
    assert_eq!(paid.paid_counter_id.as_deref(), Some(COUNTER));
    assert_eq!(paid.paid_at, Some(START.parse().unwrap()));
}

#[tokio::test]
async fn a_rejected_beneficiary_is_a_rejection() {
    let f = start().await;

    let got = f
        .connector
        .create_pickup(&pickup("po_1", 200_000, "1111111111"))
        .await;

    let Err(ConnectError::Rejected { code, message }) = got.result else {
        panic!("{:?}", got.result)
    };
    assert_eq!(code, "beneficiary_rejected");
    assert!(!message.is_empty());
    assert_eq!(got.evidence[0].response_status, Some(422));
}

#[tokio::test]
async fn an_unavailable_network_creates_nothing() {
    let f = start().await;

    let got = f.connector.create_voucher(&voucher("pi_1", 66_666)).await;

    assert!(
        matches!(got.result, Err(ConnectError::Unavailable(_))),
        "{:?}",
        got.result
    );
    assert_eq!(got.evidence[0].response_status, Some(503));
    assert!(f.listed("collections", "pi_1").await.is_empty());
}

#[tokio::test]
async fn a_create_answered_504_after_creating_leaves_exactly_one_order() {
    // The network creates the order, hangs 200 ms and answers 504; we wait longer than that.
    let faults = Faults {
        create_timeout_bps: 10_000,
        timeout_ms: 200,
        ..Faults::default()
    };
    let f = start_with(faults, 10_000).await;
    let request = pickup("po_1", 200_000, "79876543");

    let got = create_once(&f.connector, &request).await;

    let order = got.result.unwrap();
    assert_eq!(order.reference, "po_1");
    let statuses: Vec<_> = got.evidence.iter().map(|e| e.response_status).collect();
    assert_eq!(
        statuses,
        [Some(504), Some(200)],
        "create, then find by reference"
    );
    assert_eq!(
        got.evidence[1].operation,
        "GET /v1/payouts/by_reference/po_1"
    );
    assert_clean(&got.evidence);
    assert_eq!(f.listed("payouts", "po_1").await.len(), 1);
}

#[tokio::test]
async fn a_create_whose_answer_never_comes_leaves_exactly_one_order() {
    // The network creates the order and hangs longer than we are willing to wait (our wait
    // is generous so that the order surely exists when we look it up, even on a busy host).
    let faults = Faults {
        create_timeout_bps: 10_000,
        timeout_ms: 4_000,
        ..Faults::default()
    };
    let f = start_with(faults, 1_000).await;
    let request = voucher("pi_1", 150_000);

    let got = create_once(&f.connector, &request).await;

    assert_eq!(got.result.unwrap().reference, "pi_1");
    assert_eq!(got.evidence[0].response_status, None, "no answer in time");
    assert_eq!(got.evidence.len(), 2);
    assert_eq!(f.listed("collections", "pi_1").await.len(), 1);
}

#[tokio::test]
async fn a_real_callback_is_verified_and_parsed() {
    let f = start().await;
    let order = f.connector.create_voucher(&voucher("pi_1", 150_000)).await;
    let order = order.result.unwrap();
    f.connector
        .pay(COUNTER, &order.code, cop(150_000))
        .await
        .unwrap();

    let received = f.flushed_callbacks().await;

    let [(headers, body)] = received.as_slice() else {
        panic!("one callback: {received:?}")
    };
    let callback = f
        .connector
        .verify_callback(headers, body, Timestamp::now())
        .unwrap();
    let header_id = headers
        .iter()
        .find(|(n, _)| n == "sim-callback-id")
        .unwrap();
    assert_eq!(callback.id, header_id.1);
    assert_eq!(callback.kind, CallbackKind::Paid);
    assert_eq!(callback.order.network_order_id, order.network_order_id);
    assert_eq!(callback.order.status, NetworkStatus::Paid);
    let attempt = callback.attempt.unwrap();
    assert_eq!(
        (attempt.counter_id.as_str(), attempt.outcome.as_str()),
        (COUNTER, "approved")
    );
}

#[tokio::test]
async fn each_order_is_called_back_at_the_url_sent_with_its_create() {
    let f = start().await;
    let elsewhere = Received::default();
    let url = spawn_receiver(elsewhere.clone()).await;
    let config = SimConnectorConfig {
        callback_url: Some(url.clone()),
        ..f.connector.config().clone()
    };
    let connector = SimConnector::new(config).unwrap();
    let order = connector
        .create_voucher(&voucher("pi_1", 150_000))
        .await
        .result
        .unwrap();
    assert!(
        connector
            .create_voucher(&voucher("pi_1", 150_000))
            .await
            .evidence[0]
            .request
            .contains(&format!("\"callback_url\":\"{url}\"")),
        "the URL goes with every create"
    );
    // A repeat of the create from an instance without the URL is still the same order.
    let again = f.connector.create_voucher(&voucher("pi_1", 150_000)).await;
    assert_eq!(again.evidence[0].response_status, Some(200));
    assert_eq!(
        again.result.unwrap().network_order_id,
        order.network_order_id
    );
    connector
        .pay(COUNTER, &order.code, cop(150_000))
        .await
        .unwrap();

    let at_merchant_url = f.flushed_callbacks().await;

    assert!(at_merchant_url.is_empty(), "{at_merchant_url:?}");
    let got = elsewhere.lock().unwrap().clone();
    let [(headers, body)] = got.as_slice() else {
        panic!("one callback at the order's URL: {got:?}")
    };
    let callback = connector
        .verify_callback(headers, body, Timestamp::now())
        .unwrap();
    assert_eq!(callback.order.network_order_id, order.network_order_id);
}

#[tokio::test]
async fn a_failed_collection_attempt_arrives_as_attempt_failed() {
    let f = start().await;
    let order = f
        .connector
        .create_pickup(&pickup("po_1", 200_000, "79876543"))
        .await
        .result
        .unwrap();
    let outcome = f.connector.collect(COUNTER, &order.code, "12345678").await;
    let outcome = outcome.unwrap();
    assert!(!outcome.approved);
    assert_eq!(outcome.outcome, "document_mismatch");

    f.connector
        .deliver_callbacks_for(&order.network_order_id)
        .await
        .unwrap();

    let received = f.received.lock().unwrap().clone();

    let (headers, body) = &received[0];
    let callback = f
        .connector
        .verify_callback(headers, body, Timestamp::now())
        .unwrap();
    assert_eq!(callback.kind, CallbackKind::AttemptFailed);
    assert_eq!(callback.order.status, NetworkStatus::Available);
    assert_eq!(callback.attempt.unwrap().outcome, "document_mismatch");
}

#[tokio::test]
async fn tampered_stale_unsigned_and_malformed_callbacks_are_refused() {
    let f = start().await;
    let order = f.connector.create_voucher(&voucher("pi_1", 150_000)).await;
    let order = order.result.unwrap();
    f.connector
        .pay(COUNTER, &order.code, cop(150_000))
        .await
        .unwrap();
    let received = f.flushed_callbacks().await;
    let (headers, body) = received[0].clone();
    let now = Timestamp::now();
    let verify = |headers: &[(String, String)], body: &[u8], now| {
        f.connector.verify_callback(headers, body, now)
    };
    let replace = |name: &str, value: &str| -> Vec<(String, String)> {
        headers
            .iter()
            .map(|(n, v)| (n.clone(), if n == name { value.into() } else { v.clone() }))
            .collect()
    };
    let without = |name: &str| -> Vec<(String, String)> {
        headers.iter().filter(|(n, _)| n != name).cloned().collect()
    };
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    let ts: i64 = headers
        .iter()
        .find(|(n, _)| n == "sim-timestamp")
        .unwrap()
        .1
        .parse()
        .unwrap();
    let signed_by_us = |body: &str| {
        let sig = cajero_sim::signing::sign_callback(SECRET, ts, body.as_bytes());
        (replace("sim-signature", &sig), body.to_owned())
    };
    let (garbage_headers, garbage) = signed_by_us("{\"id\": \"cb_1\"}");
    let (other_headers, other_merchant) = signed_by_us(
        &String::from_utf8(body.clone())
            .unwrap()
            .replace(MERCHANT, "other"),
    );
    let wrong_key = cajero_sim::signing::sign_callback("not-the-secret", ts, &body);

    let bad_signature = Err(CallbackError::BadSignature);
    assert_eq!(verify(&headers, &tampered, now), bad_signature);
    assert_eq!(
        verify(&replace("sim-signature", &wrong_key), &body, now),
        bad_signature
    );
    assert_eq!(
        verify(&replace("sim-timestamp", &(ts + 1).to_string()), &body, now),
        bad_signature
    );
    assert_eq!(verify(&without("sim-signature"), &body, now), bad_signature);
    assert_eq!(verify(&without("sim-timestamp"), &body, now), bad_signature);
    let late = now + SignedDuration::from_secs(301);
    assert_eq!(
        verify(&headers, &body, late),
        Err(CallbackError::StaleTimestamp)
    );
    let early = now - SignedDuration::from_secs(301);
    assert_eq!(
        verify(&headers, &body, early),
        Err(CallbackError::StaleTimestamp)
    );
    assert!(matches!(
        verify(&garbage_headers, garbage.as_bytes(), now),
        Err(CallbackError::Malformed(_))
    ));
    assert!(matches!(
        verify(&other_headers, other_merchant.as_bytes(), now),
        Err(CallbackError::Malformed(_))
    ));
    assert!(
        verify(&headers, &body, now).is_ok(),
        "the original still verifies"
    );
}

#[tokio::test]
async fn the_settlement_file_of_a_day_lists_its_payments() {
    let f = start().await;
    let order = f.connector.create_voucher(&voucher("pi_1", 150_000)).await;
    let order = order.result.unwrap();
    f.connector
        .pay(COUNTER, &order.code, cop(150_000))
        .await
        .unwrap();

    let asobancaria = f
        .connector
        .settlement_file("efecty", START_DATE, "asobancaria")
        .await;
    let csv = f
        .connector
        .settlement_file("efecty", START_DATE, "csv")
        .await;

    let text = String::from_utf8(asobancaria.result.unwrap()).unwrap();
    let parsed = parse(&text, Strictness::Strict).unwrap();
    let details: Vec<_> = parsed.file.details().collect();
    assert_eq!(details.len(), 1);
    assert_eq!(details[0].reference_significant(), order.code);
    assert_eq!(details[0].amount.to_whole_units().unwrap(), cop(150_000));
    let csv = String::from_utf8(csv.result.unwrap()).unwrap();
    assert!(
        csv.contains(&order.network_order_id) && csv.contains("pi_1"),
        "{csv}"
    );
    assert_eq!(
        asobancaria.evidence[0].operation,
        format!("GET /v1/settlement_files/{START_DATE}")
    );
    assert_clean(&asobancaria.evidence);
}

#[tokio::test]
async fn the_test_helpers_drive_the_clock_the_directory_and_enrolment() {
    let f = start().await;
    let order = f.connector.create_voucher(&voucher("pi_1", 150_000)).await;
    let order = order.result.unwrap();

    let counters = f
        .connector
        .counters(Some("efecty"), Some("bogota"), None)
        .await
        .unwrap();
    let clock = f.connector.advance_clock(73 * 3_600).await.unwrap();
    let expired = f
        .connector
        .get(OrderKind::Collection, &order.network_order_id)
        .await;

    assert!(counters.iter().any(|c| c.id == COUNTER));
    assert!(
        counters
            .iter()
            .all(|c| c.network == "efecty" && c.city == "Bogotá")
    );
    let start: Timestamp = START.parse().unwrap();
    assert_eq!(clock.now, start + SignedDuration::from_hours(73));
    assert!(clock.frozen);
    assert_eq!(expired.result.unwrap().status, NetworkStatus::Expired);

    let newcomer = SimConnector::new(SimConnectorConfig::new(
        f.sim.base_url(),
        "newcomer",
        "newcomer-secret",
    ))
    .unwrap();
    let before = newcomer.create_voucher(&voucher("pi_1", 150_000)).await;
    assert!(
        matches!(before.result, Err(ConnectError::Protocol(_))),
        "unknown merchant: 401"
    );
    newcomer.register_merchant(None).await.unwrap();
    let after = newcomer.create_voucher(&voucher("pi_1", 150_000)).await;
    assert_eq!(after.result.unwrap().reference, "pi_1");
}

#[tokio::test]
async fn a_wrong_secret_is_a_protocol_error_and_a_closed_port_is_unavailable() {
    let f = start().await;
    let wrong = SimConnector::new(SimConnectorConfig::new(
        f.sim.base_url(),
        MERCHANT,
        "not-the-secret",
    ))
    .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let nowhere = SimConnector::new(SimConnectorConfig::new(closed, MERCHANT, SECRET)).unwrap();

    let refused = wrong.create_voucher(&voucher("pi_1", 150_000)).await;
    let unreachable = nowhere.create_voucher(&voucher("pi_1", 150_000)).await;

    assert!(
        matches!(refused.result, Err(ConnectError::Protocol(_))),
        "{:?}",
        refused.result
    );
    assert_eq!(refused.evidence[0].response_status, Some(401));
    assert!(
        matches!(unreachable.result, Err(ConnectError::Unavailable(_))),
        "{:?}",
        unreachable.result
    );
    assert_eq!(unreachable.evidence[0].response_status, None);
    assert!(!format!("{wrong:?}").contains("not-the-secret"));
    assert_clean(&refused.evidence);
    assert_clean(&unreachable.evidence);
}
