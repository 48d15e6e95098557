//! End to end through the production `KushkiConnector` against the simulator's Kushki dialect
//! on loopback: create → a counter pays or collects → the webhook verifies → get and find →
//! cancel → expiry → the transactions report → create-once after a timeout; no secret in any
//! evidence.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
mod support;

#[path = "support/kushki.rs"]
mod kushki_support;

use cajero_connect::kushki::{callback_evidence, parse_report};
use cajero_connect::{
    CallbackError, CallbackKind, ConnectError, Connector, CreatePickup, CreateVoucher, Evidence,
    NetworkStatus, OrderKind, create_once,
};
use cajero_domain::calendar::bogota_date;
use cajero_sim::Faults;
use jiff::Timestamp;
use kushki_support::{COUNTER, KushkiFixture, Logs, assert_no_secret, start};
use support::{cop, pickup, voucher};

const DAY_SECONDS: i64 = 86_400;

/// Our code of a refusal, if the result is one.
fn rejected_code<T>(result: &Result<T, ConnectError>) -> Option<&str> {
    match result {
        Err(ConnectError::Rejected { code, .. }) => Some(code),
        _ => None,
    }
}

fn pickup_expiring(reference: &str, amount: i64, document: &str, seconds: i64) -> CreatePickup {
    CreatePickup {
        expires_in_seconds: seconds,
        ..pickup(reference, amount, document)
    }
}

/// The one webhook delivered since the last call, verified by the connector.
async fn one_callback(k: &KushkiFixture, evidence: &mut Vec<Evidence>) -> cajero_connect::Callback {
    let delivered = k.delivered().await;
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    let (headers, body) = &delivered[0];
    let callback = k
        .connector
        .verify_callback(headers, body, Timestamp::now())
        .unwrap();
    // The webhook as evidence, as the server keeps it: no secret, no signature either.
    let kept = callback_evidence(headers, body, Timestamp::now());
    let signature = &headers
        .iter()
        .find(|(n, _)| n == "x-kushki-signature")
        .unwrap()
        .1;
    assert!(!kept.request.contains(signature.as_str()));
    evidence.push(kept);
    callback
}

#[tokio::test]
async fn vouchers_and_pick_ups_live_their_whole_life_through_the_kushki_connector() {
    let (logs, _guard) = Logs::capture();
    let k = start(Faults::default(), 5_000, true).await;
    let mut evidence = Vec::new();

    // A voucher: created, paid at a counter, notified.
    let created = create_once(&k.connector, &voucher("pi_k1", 150_000)).await;
    evidence.extend(created.evidence);
    let order = created.result.unwrap();
    assert_eq!(order.status, NetworkStatus::Pending);
    assert_eq!(
        (order.network.as_str(), order.reference.as_str()),
        ("efecty", "pi_k1")
    );
    assert!(order.barcode_data.as_deref().unwrap().starts_with("415"));
    assert_eq!(order.agreement_code.as_deref(), Some("111571"));
    let paid = k
        .control
        .pay(COUNTER, &order.code, cop(150_000))
        .await
        .unwrap();
    assert!(paid.approved, "{paid:?}");

    let delivered = k.delivered().await;
    assert_eq!(delivered.len(), 1);
    let (headers, body) = &delivered[0];
    let callback = k
        .connector
        .verify_callback(headers, body, Timestamp::now())
        .unwrap();
    assert_eq!(callback.kind, CallbackKind::Paid);
    assert_eq!(
        callback.id,
        format!("{}:approvedTransaction", order.network_order_id)
    );
    assert_eq!(callback.order.reference, "pi_k1");
    assert_eq!(callback.order.status, NetworkStatus::Paid);
    assert_eq!(callback.order.amount, cop(150_000));
    let tampered = String::from_utf8_lossy(body).replace("150000", "151000");
    assert_eq!(
        k.connector
            .verify_callback(headers, tampered.as_bytes(), Timestamp::now()),
        Err(CallbackError::BadSignature)
    );

    let got = k
        .connector
        .get(OrderKind::Collection, &order.network_order_id)
        .await;
    evidence.extend(got.evidence);
    let got = got.result.unwrap();
    assert_eq!(got.status, NetworkStatus::Paid);
    assert_eq!(got.paid_at, callback.order.paid_at);
    let found = k
        .connector
        .find_by_reference(OrderKind::Collection, "pi_k1")
        .await;
    evidence.extend(found.evidence);
    assert_eq!(
        found.result.unwrap().network_order_id,
        order.network_order_id
    );
    let late = k
        .connector
        .cancel(OrderKind::Collection, &order.network_order_id)
        .await;
    evidence.extend(late.evidence);
    assert_eq!(late.result, Err(ConnectError::NotCancelable));

    // A pick-up: created at Efecty, collected by its beneficiary, notified.
    let created = create_once(&k.connector, &pickup("po_k1", 200_000, "79876543")).await;
    evidence.extend(created.evidence);
    let payout = created.result.unwrap();
    assert_eq!(payout.status, NetworkStatus::Available);
    let collected = k
        .control
        .collect(COUNTER, &payout.code, "79876543")
        .await
        .unwrap();
    assert!(collected.approved, "{collected:?}");
    let callback = one_callback(&k, &mut evidence).await;
    assert_eq!(callback.kind, CallbackKind::Paid);
    assert_eq!(callback.order.kind, OrderKind::Payout);
    assert_eq!(callback.order.reference, "po_k1");

    // Another voucher, canceled (Kushki notifies no deletion).
    let created = create_once(&k.connector, &voucher("pi_k2", 40_000)).await;
    evidence.extend(created.evidence);
    let other = created.result.unwrap();
    let canceled = k
        .connector
        .cancel(OrderKind::Collection, &other.network_order_id)
        .await;
    evidence.extend(canceled.evidence);
    assert_eq!(canceled.result.unwrap().status, NetworkStatus::Canceled);
    let got = k
        .connector
        .get(OrderKind::Collection, &other.network_order_id)
        .await;
    evidence.extend(got.evidence);
    assert_eq!(got.result.unwrap().status, NetworkStatus::Canceled);
    assert!(k.delivered().await.is_empty());

    // Another pick-up, left to expire.
    let created = create_once(
        &k.connector,
        &pickup_expiring("po_k2", 60_000, "52111222", DAY_SECONDS),
    )
    .await;
    evidence.extend(created.evidence);
    let expiring = created.result.unwrap();
    k.control.advance_clock(2 * DAY_SECONDS).await.unwrap();
    let got = k
        .connector
        .get(OrderKind::Payout, &expiring.network_order_id)
        .await;
    evidence.extend(got.evidence);
    assert_eq!(got.result.unwrap().status, NetworkStatus::Expired);
    let callback = one_callback(&k, &mut evidence).await;
    assert_eq!(callback.kind, CallbackKind::Expired);
    assert_eq!(
        callback.id,
        format!("{}:expiredTransaction", expiring.network_order_id)
    );

    // The day's transactions report lists what was paid and collected.
    let day = bogota_date(k.start).to_string();
    let file = k.connector.settlement_file("efecty", &day, "csv").await;
    evidence.extend(file.evidence);
    let lines = parse_report(&file.result.unwrap()).unwrap();
    let line = lines
        .iter()
        .find(|l| l.network_order_id == order.network_order_id)
        .unwrap();
    assert_eq!(line.reference.as_deref(), Some("pi_k1"));
    assert_eq!(
        (line.status, line.amount),
        (NetworkStatus::Paid, cop(150_000))
    );
    assert!(lines.iter().any(|l| l.reference.as_deref() == Some("po_k1")
        && l.kind == OrderKind::Payout
        && l.status == NetworkStatus::Paid));

    // A health check is a harmless authenticated call.
    let check = k.connector.check().await;
    evidence.extend(check.evidence);
    assert_eq!(check.result, Ok(()));

    assert!(evidence.len() >= 15);
    assert_no_secret(&evidence);
    let logged = logs.text();
    assert!(
        !logged.is_empty(),
        "nothing was logged: the capture is not working"
    );
    for secret in kushki_support::SECRETS {
        assert!(!logged.contains(secret), "{secret} logged");
    }
}

#[tokio::test]
async fn a_timed_out_init_is_found_by_reference_and_never_created_twice() {
    // Every init creates its order, then hangs longer than the connector waits.
    let faults = Faults {
        create_timeout_bps: 10_000,
        timeout_ms: 4_000,
        ..Faults::default()
    };
    let k = start(faults, 1_000, true).await;
    let got = create_once(&k.connector, &pickup("po_t1", 80_000, "79876543")).await;
    let order = got.result.unwrap();
    assert_eq!(order.reference, "po_t1");
    assert_eq!(k.orders_with_reference(OrderKind::Payout, "po_t1").await, 1);
    let operations: Vec<&str> = got.evidence.iter().map(|e| e.operation.as_str()).collect();
    assert_eq!(
        operations,
        [
            "POST /kushki/payouts/cash/v1/tokens",
            "POST /kushki/payouts/cash/v1/init",
            "GET /kushki/payouts/cash/v1/status/by-reference/po_t1",
        ]
    );
    assert_no_secret(&got.evidence);
}

#[tokio::test]
async fn without_a_lookup_by_reference_a_timed_out_init_stays_unknown_and_is_not_sent_again() {
    let faults = Faults {
        create_timeout_bps: 10_000,
        timeout_ms: 4_000,
        ..Faults::default()
    };
    let k = start(faults, 1_000, false).await;
    let request: CreateVoucher = voucher("pi_t2", 30_000);
    let got = create_once(&k.connector, &request).await;
    assert_eq!(got.result, Err(ConnectError::Timeout));
    assert_eq!(
        k.orders_with_reference(OrderKind::Collection, "pi_t2")
            .await,
        1
    );
    assert_eq!(got.evidence.len(), 2);
}

#[tokio::test]
async fn wrong_credentials_are_a_refusal_that_names_no_secret() {
    let k = start(Faults::default(), 5_000, true).await;
    let mut config = k.connector.config().clone();
    config.private_merchant_id = "priv-wrong-0000".into();
    let wrong = cajero_connect::kushki::KushkiConnector::new(config).unwrap();
    let check = wrong.check().await;
    assert_eq!(rejected_code(&check.result), Some("invalid_credentials"));
    let text = check.result.unwrap_err().to_string();
    assert!(!text.contains("priv-wrong-0000") && !text.contains(kushki_support::PRIVATE_ID));
    assert_no_secret(&check.evidence);
    for e in &check.evidence {
        assert!(!e.request.contains("priv-wrong-0000"));
    }
    // Amounts Kushki does not take are refused before any call.
    let too_much = create_once(&k.connector, &voucher("pi_big", 1_000_001)).await;
    assert!(too_much.evidence.is_empty());
    assert_eq!(
        rejected_code(&too_much.result),
        Some("amount_outside_limits")
    );
}
