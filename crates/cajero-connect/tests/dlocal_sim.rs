//! The production `DlocalConnector` end to end against the simulator's dLocal dialect on
//! loopback: create → a counter collects → the signed notification → get and find by
//! reference → cancel → expiry → the settlement report → create-once after a timeout, with no
//! configured secret in any evidence.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/dlocal.rs"]
mod dlocal_support;
#[allow(dead_code)]
mod support;

use cajero_connect::dlocal::{DlocalConfig, DlocalConnector, parse_report};
use cajero_connect::{
    CallbackError, CallbackKind, ConnectError, Connector, NetworkStatus, OrderKind, create_once,
};
use cajero_sim::config::Faults;
use dlocal_support::{LOGIN, SECRET_KEY, TRANS_KEY, assert_no_secret, start, start_with, voucher};
use jiff::Timestamp;
use support::{COUNTER, START_DATE, cop};

#[tokio::test]
async fn a_voucher_is_created_paid_notified_found_and_settled_through_dlocal() {
    let f = start().await;
    let mut evidence = Vec::new();

    let created = f
        .connector
        .create_voucher(&voucher("pi_dl_1", 125_000))
        .await;
    evidence.extend(created.evidence.clone());
    let order = created.result.unwrap();
    assert_eq!(order.status, NetworkStatus::Pending);
    assert_eq!(
        (order.network.as_str(), order.reference.as_str()),
        ("efecty", "pi_dl_1")
    );
    assert_eq!(order.amount, cop(125_000));
    assert_eq!(order.code.len(), 8, "Efecty codes have 8 digits");
    assert_eq!(order.agreement_code.as_deref(), Some("111571"));
    assert!(
        order
            .barcode_data
            .as_deref()
            .is_some_and(|b| b.starts_with("415"))
    );

    let paid = f
        .control
        .pay(COUNTER, &order.code, cop(125_000))
        .await
        .unwrap();
    assert!(paid.approved, "{paid:?}");

    let received = f.flushed_callbacks().await;
    assert_eq!(received.len(), 1, "one notification for the payment");
    let (headers, body) = &received[0];
    let callback = f
        .connector
        .verify_callback(headers, body, Timestamp::now())
        .unwrap();
    assert_eq!(callback.kind, CallbackKind::Paid);
    assert_eq!(callback.id, format!("{}:200", order.network_order_id));
    assert_eq!(callback.order.status, NetworkStatus::Paid);
    assert!(callback.order.paid_at.is_some());
    assert_eq!(callback.order.reference, "pi_dl_1");
    let mut tampered = body.clone();
    let at = tampered.windows(6).position(|w| w == b"125000").unwrap();
    tampered[at] = b'9';
    assert_eq!(
        f.connector
            .verify_callback(headers, &tampered, Timestamp::now()),
        Err(CallbackError::BadSignature)
    );

    let got = f
        .connector
        .get(OrderKind::Collection, &order.network_order_id)
        .await;
    evidence.extend(got.evidence.clone());
    assert_eq!(got.result.unwrap().status, NetworkStatus::Paid);
    let found = f
        .connector
        .find_by_reference(OrderKind::Collection, "pi_dl_1")
        .await;
    evidence.extend(found.evidence.clone());
    let found = found.result.unwrap();
    assert_eq!(found.network_order_id, order.network_order_id);
    assert_eq!(found.status, NetworkStatus::Paid);
    let missing = f
        .connector
        .find_by_reference(OrderKind::Collection, "pi_never")
        .await;
    assert_eq!(missing.result, Err(ConnectError::NotFound));
    let check = f.connector.check().await;
    evidence.extend(check.evidence.clone());
    assert_eq!(check.result, Ok(()));

    let file = f
        .connector
        .settlement_file("efecty", START_DATE, "csv")
        .await;
    evidence.extend(file.evidence.clone());
    let lines = parse_report(&file.result.unwrap()).unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].reference.as_deref(), Some("pi_dl_1"));
    assert_eq!(lines[0].network_order_id, order.network_order_id);
    assert_eq!(lines[0].amount, cop(125_000));
    assert_eq!(lines[0].status, NetworkStatus::Paid);
    assert!(lines[0].settlement_date.is_some());

    assert_no_secret(&evidence);
    for e in &evidence {
        assert!(e.request.contains("[redacted]"), "{e:?}");
    }
}

#[tokio::test]
async fn a_pending_voucher_is_canceled_once_and_the_notification_says_so() {
    let f = start().await;
    let order = f.created("pi_dl_cancel", 40_000).await;
    let canceled = f
        .connector
        .cancel(OrderKind::Collection, &order.network_order_id)
        .await;
    assert_no_secret(&canceled.evidence);
    assert_eq!(canceled.result.unwrap().status, NetworkStatus::Canceled);
    let again = f
        .connector
        .cancel(OrderKind::Collection, &order.network_order_id)
        .await;
    assert_eq!(again.result, Err(ConnectError::NotCancelable));
    let callback = f.the_one_callback().await;
    assert_eq!(callback.kind, CallbackKind::Canceled);
    assert_eq!(callback.id, format!("{}:400", order.network_order_id));
}

#[tokio::test]
async fn an_unpaid_voucher_expires_with_the_network_clock() {
    let f = start().await;
    let order = f.created("pi_dl_expire", 30_000).await;
    let seconds = order.expires_at.as_second() - f.control.clock().await.unwrap().now.as_second();
    f.control.advance_clock(seconds + 60).await.unwrap();
    let got = f
        .connector
        .get(OrderKind::Collection, &order.network_order_id)
        .await;
    assert_eq!(got.result.unwrap().status, NetworkStatus::Expired);
    let callback = f.the_one_callback().await;
    assert_eq!(callback.kind, CallbackKind::Expired);
    assert_eq!(callback.order.status, NetworkStatus::Expired);
}

#[tokio::test]
async fn a_create_that_timed_out_is_found_by_reference_and_never_made_twice() {
    let faults = Faults {
        create_timeout_bps: 10_000,
        timeout_ms: 1_500,
        ..Faults::default()
    };
    let f = start_with(faults, 400).await;
    let request = voucher("pi_dl_timeout", 55_000);
    let got = create_once(&f.connector, &request).await;
    assert_no_secret(&got.evidence);
    let order = got.result.unwrap();
    assert_eq!(order.reference, "pi_dl_timeout");
    assert_eq!(order.amount, cop(55_000));
    let operations: Vec<&str> = got.evidence.iter().map(|e| e.operation.as_str()).collect();
    assert_eq!(
        operations,
        [
            "POST /dlocal/payments",
            "GET /dlocal/orders/{order_id}",
            "GET /dlocal/payments/{id}"
        ]
    );
    assert_eq!(f.orders_with_reference("pi_dl_timeout").await, 1);
}

#[tokio::test]
async fn a_repeated_create_answers_the_same_voucher_and_another_amount_is_a_conflict() {
    let f = start().await;
    let first = f.created("pi_dl_twice", 20_000).await;
    let second = f
        .connector
        .create_voucher(&voucher("pi_dl_twice", 20_000))
        .await;
    assert_eq!(
        second.evidence.len(),
        3,
        "create, then the lookup by order_id"
    );
    assert_eq!(
        second.result.unwrap().network_order_id,
        first.network_order_id
    );
    let other = f
        .connector
        .create_voucher(&voucher("pi_dl_twice", 21_000))
        .await;
    assert!(
        matches!(&other.result, Err(ConnectError::Rejected { code, .. }) if code == "reference_conflict"),
        "{:?}",
        other.result
    );
    assert_eq!(f.orders_with_reference("pi_dl_twice").await, 1);
}

#[tokio::test]
async fn dlocal_refusals_come_back_as_ours() {
    let f = start().await;
    let too_small = f
        .connector
        .create_voucher(&voucher("pi_dl_small", 10))
        .await;
    assert!(
        matches!(&too_small.result, Err(ConnectError::Rejected { code, .. }) if code == "amount_out_of_range"),
        "{:?}",
        too_small.result
    );
    let wrong = DlocalConnector::new(DlocalConfig::new(
        f.connector.config().base_url.clone(),
        LOGIN,
        TRANS_KEY,
        "not-the-secret-key",
    ))
    .unwrap();
    let refused = wrong.create_voucher(&voucher("pi_dl_wrong", 10_000)).await;
    assert!(
        matches!(&refused.result, Err(ConnectError::Unavailable(m)) if m.contains("3001")),
        "{:?}",
        refused.result
    );
    assert_eq!(refused.evidence[0].response_status, Some(403));
    assert!(!refused.evidence[0].response.contains(SECRET_KEY));
    assert_eq!(f.orders_with_reference("pi_dl_wrong").await, 0);
}
