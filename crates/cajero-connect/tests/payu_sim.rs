//! The production PayU Latam connector end to end against the simulator speaking PayU's
//! dialect (`/payu`) on loopback: create, pay at a counter, confirmation, queries, cancel,
//! expiry, Sales Report, create-once after a timeout, and no secret in any evidence.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/payu.rs"]
mod payu_support;
#[allow(dead_code)]
mod support;

use cajero_connect::payu::{SignatureAlgorithm, parse_report};
use cajero_connect::{
    CallbackError, CallbackKind, ConnectError, Connector, NetworkStatus, OrderKind, create_once,
};
use cajero_sim::config::Faults;
use jiff::{SignedDuration, Timestamp};
use payu_support::{assert_no_secrets, cash_voucher, start_payu};
use support::{COUNTER, START, START_DATE, cop};

fn start() -> Timestamp {
    START.parse().unwrap()
}

#[tokio::test]
async fn a_voucher_is_paid_confirmed_read_back_and_reported() {
    let f = start_payu(Faults::default(), 10_000, SignatureAlgorithm::Md5).await;

    let created = f
        .connector
        .create_voucher(&cash_voucher("efecty", "pi_payu_1", 150_000))
        .await;
    assert_no_secrets(&created.evidence);
    let order = created.result.unwrap();
    assert_eq!(order.status, NetworkStatus::Pending);
    assert_eq!(order.network, "efecty");
    assert_eq!(order.reference, "pi_payu_1");
    assert_eq!(order.amount, cop(150_000));
    assert_eq!(order.expires_at, start() + SignedDuration::from_hours(72));
    assert!(order.network_order_id.parse::<u64>().is_ok());
    assert_eq!(created.evidence[0].operation, "SUBMIT_TRANSACTION");
    assert!(created.evidence[0].request.contains("[redacted]"));

    // A customer pays the voucher's code at an Efecty counter.
    let paid = f
        .helpers
        .pay(COUNTER, &order.code, cop(150_000))
        .await
        .unwrap();
    assert!(paid.approved, "{paid:?}");

    // PayU's confirmation arrives as a signed form and is verified.
    let received = f.flushed().await;
    assert_eq!(
        received.len(),
        1,
        "one confirmation, for the final state only"
    );
    let (headers, body) = &received[0];
    assert!(
        headers
            .iter()
            .any(|(n, v)| n == "content-type" && v == "application/x-www-form-urlencoded")
    );
    let callback = f
        .connector
        .verify_callback(headers, body, Timestamp::now())
        .unwrap();
    assert_eq!(callback.kind, CallbackKind::Paid);
    assert!(callback.id.ends_with(":4"), "{}", callback.id);
    assert_eq!(callback.order.network_order_id, order.network_order_id);
    assert_eq!(callback.order.reference, "pi_payu_1");
    assert_eq!(callback.order.amount, cop(150_000));
    assert_eq!(callback.order.status, NetworkStatus::Paid);
    assert_eq!(callback.order.expires_at, order.expires_at);
    assert_eq!(callback.order.paid_at, Some(start()));
    // The same form with another amount is refused.
    let tampered = String::from_utf8(body.clone())
        .unwrap()
        .replace("value=150000.00", "value=1500000.00");
    assert_eq!(
        f.connector
            .verify_callback(headers, tampered.as_bytes(), Timestamp::now()),
        Err(CallbackError::BadSignature)
    );

    // Read back by PayU's id and by our reference.
    let by_id = f
        .connector
        .get(OrderKind::Collection, &order.network_order_id)
        .await;
    assert_no_secrets(&by_id.evidence);
    let by_id = by_id.result.unwrap();
    assert_eq!(by_id.status, NetworkStatus::Paid);
    assert_eq!(by_id.code, order.code);
    assert_eq!(by_id.paid_at, Some(start()));
    let by_reference = f
        .connector
        .find_by_reference(OrderKind::Collection, "pi_payu_1")
        .await;
    assert_no_secrets(&by_reference.evidence);
    assert_eq!(
        by_reference.result.unwrap().network_order_id,
        order.network_order_id
    );
    let missing = f
        .connector
        .find_by_reference(OrderKind::Collection, "pi_never")
        .await;
    assert_eq!(missing.result, Err(ConnectError::NotFound));

    // The day's Sales Report lists the payment.
    let file = f
        .connector
        .settlement_file("efecty", START_DATE, "csv")
        .await;
    assert_no_secrets(&file.evidence);
    let lines = parse_report(&file.result.unwrap()).unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].reference.as_deref(), Some("pi_payu_1"));
    assert_eq!(lines[0].network_order_id, order.network_order_id);
    assert_eq!(lines[0].status, NetworkStatus::Paid);
    assert_eq!(lines[0].amount, cop(150_000));
    assert_eq!(lines[0].paid_at, Some(start()));

    // The harmless authenticated call.
    let check = f.connector.check().await;
    assert_no_secrets(&check.evidence);
    assert_eq!(check.result, Ok(()));
}

#[tokio::test]
async fn a_voucher_cannot_be_canceled_and_its_expiry_is_confirmed() {
    let f = start_payu(Faults::default(), 10_000, SignatureAlgorithm::HmacSha256).await;
    let kept = f
        .connector
        .create_voucher(&cash_voucher("sured", "pi_payu_2", 30_000))
        .await
        .result
        .unwrap();
    assert_eq!(kept.network, "sured");

    let canceled = f
        .connector
        .cancel(OrderKind::Collection, &kept.network_order_id)
        .await;
    assert_eq!(canceled.result, Err(ConnectError::NotCancelable));
    let still = f
        .connector
        .get(OrderKind::Collection, &kept.network_order_id)
        .await
        .result
        .unwrap();
    assert_eq!(still.status, NetworkStatus::Pending);

    // Past its expiry (72 h), the voucher expires and PayU confirms that final state.
    f.helpers.advance_clock(73 * 3_600).await.unwrap();
    let received = f.flushed().await;
    assert_eq!(received.len(), 1);
    let (headers, body) = &received[0];
    let callback = f
        .connector
        .verify_callback(headers, body, Timestamp::now())
        .unwrap();
    assert_eq!(callback.kind, CallbackKind::Expired);
    assert!(callback.id.ends_with(":5"), "{}", callback.id);
    assert_eq!(callback.order.expires_at, kept.expires_at);
    let expired = f
        .connector
        .find_by_reference(OrderKind::Collection, "pi_payu_2")
        .await
        .result
        .unwrap();
    assert_eq!(expired.status, NetworkStatus::Expired);
}

#[tokio::test]
async fn an_expiry_later_than_seven_days_is_replaced_by_the_default() {
    let f = start_payu(Faults::default(), 10_000, SignatureAlgorithm::Md5).await;
    let mut long = cash_voucher("efecty", "pi_payu_3", 50_000);
    long.expires_in_seconds = 10 * 24 * 3_600;
    let order = f.connector.create_voucher(&long).await.result.unwrap();
    assert_eq!(
        order.expires_at,
        start() + SignedDuration::from_hours(7 * 24)
    );
}

#[tokio::test]
async fn payus_limits_and_wrong_credentials_are_refused_by_the_gateway() {
    let f = start_payu(Faults::default(), 10_000, SignatureAlgorithm::Md5).await;
    // Below Efecty's minimum: the connector refuses before calling.
    let small = f
        .connector
        .create_voucher(&cash_voucher("efecty", "pi_payu_4", 10_000))
        .await;
    assert!(small.evidence.is_empty());
    // The same amount at SuRed is taken.
    let sured = f
        .connector
        .create_voucher(&cash_voucher("sured", "pi_payu_4", 10_000))
        .await;
    assert_eq!(sured.result.unwrap().network, "sured");

    let mut config = f.connector.config().clone();
    config.api_key = "not-the-key".into();
    let wrong = cajero_connect::payu::PayuConnector::new(config).unwrap();
    let got = wrong
        .create_voucher(&cash_voucher("efecty", "pi_payu_5", 50_000))
        .await;
    assert!(
        matches!(&got.result, Err(ConnectError::Rejected { code, message }) if code == "payu_error" && message == "Invalid credentials"),
        "{:?}",
        got.result
    );
    assert!(!format!("{:?}", got.evidence).contains("not-the-key"));
    assert!(wrong.check().await.result.is_err());
    assert_eq!(f.orders_under("pi_payu_5").await, 0);
}

#[tokio::test]
async fn a_create_whose_answer_never_comes_is_found_by_reference_and_made_once() {
    // The gateway creates the voucher and hangs past our patience.
    let faults = Faults {
        create_timeout_bps: 10_000,
        timeout_ms: 4_000,
        ..Faults::default()
    };
    let f = start_payu(faults, 1_000, SignatureAlgorithm::Md5).await;
    let request = cash_voucher("efecty", "pi_payu_6", 80_000);

    let got = create_once(&f.connector, &request).await;

    assert_no_secrets(&got.evidence);
    let order = got.result.unwrap();
    assert_eq!(order.reference, "pi_payu_6");
    let operations: Vec<_> = got
        .evidence
        .iter()
        .map(|e| (e.operation.as_str(), e.response_status))
        .collect();
    assert_eq!(
        operations,
        [
            ("SUBMIT_TRANSACTION", None),
            ("ORDER_DETAIL_BY_REFERENCE_CODE", Some(200))
        ]
    );
    assert_eq!(f.orders_under("pi_payu_6").await, 1);
}

#[tokio::test]
async fn a_confirmation_delivered_twice_has_one_id() {
    // PayU retries a confirmation until it gets a 200; the simulator delivers this one twice.
    let faults = Faults {
        callback_duplicate_bps: 10_000,
        ..Faults::default()
    };
    let f = start_payu(faults, 10_000, SignatureAlgorithm::Sha256).await;
    let order = f
        .connector
        .create_voucher(&cash_voucher("efecty", "pi_payu_7", 45_000))
        .await
        .result
        .unwrap();
    assert!(
        f.helpers
            .pay(COUNTER, &order.code, cop(45_000))
            .await
            .unwrap()
            .approved
    );
    f.helpers.flush_callbacks(true).await.unwrap();
    let received = f.flushed().await;
    assert_eq!(received.len(), 2, "delivered twice");
    let ids: Vec<String> = received
        .iter()
        .map(|(headers, body)| {
            f.connector
                .verify_callback(headers, body, Timestamp::now())
                .unwrap()
                .id
        })
        .collect();
    assert_eq!(ids[0], ids[1]);
}
