//! dLocal refunds of cash pay-ins (paid by bank transfer): the request, the refund object and
//! its statuses over documented examples, the refund notification verified as payment
//! notifications are, and the production connector end to end against the simulator's dLocal
//! dialect (refund of a paid ticket → SUCCESS notification; the magic 300 pesos → REJECTED).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/dlocal.rs"]
#[allow(dead_code)]
mod dlocal_support;
#[allow(dead_code)]
mod support;

use cajero_connect::dlocal::signing::{authorization, signature};
use cajero_connect::dlocal::{
    DlocalConfig, DlocalConnector, REFUND_STATUS_CODES, parse_refund, refund_request,
    refund_status_of,
};
use cajero_connect::{
    CallbackError, ConnectError, Connector, REFUND_NOT_SUPPORTED, RefundRequest, RefundStatus,
};
use dlocal_support::{assert_no_secret, start};
use jiff::Timestamp;
use serde_json::Value;
use support::{COUNTER, cop};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/dlocal/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn request(reference: &str, payment: &str, amount: i64) -> RefundRequest {
    RefundRequest {
        reference: reference.into(),
        network_order_id: payment.into(),
        amount: cop(amount),
        bank: None,
    }
}

#[test]
fn the_refund_request_has_the_documented_fields() {
    let documented: Value = serde_json::from_slice(&fixture("refund_request.json")).unwrap();
    let ours = refund_request(
        &request("re_1", "D-4-1", 50_000),
        Some("https://c.example/callbacks/dlocal"),
    )
    .unwrap();
    let ours: Value = serde_json::from_slice(&ours).unwrap();
    for field in documented.as_object().unwrap().keys() {
        assert!(ours.get(field).is_some(), "{field} missing from {ours}");
    }
    assert_eq!(ours["currency"], "COP");
    assert_eq!(ours["amount"], 50_000);
    assert_eq!(ours["description"], "re_1");
}

#[test]
fn documented_refund_objects_read_into_ours() {
    let pending = parse_refund(&fixture("refund_efecty_pending.json")).unwrap();
    assert_eq!(pending.status, RefundStatus::Pending);
    assert_eq!(pending.network_refund_id, "REF-42342");
    assert_eq!(
        pending.network_order_id,
        "D-4-2bdd1e3c-a64b-48ce-a2b5-22cab4ad5f5f"
    );
    assert_eq!(pending.amount, cop(50_000));
    assert_eq!(
        pending.reference.as_deref(),
        Some("re_01JF3Z0Q7W9N5T2R8X4C6V1B3M")
    );
    let success = parse_refund(&fixture("refund_efecty_success.json")).unwrap();
    assert_eq!(success.status, RefundStatus::Succeeded);
    assert_eq!(success.network_status, "SUCCESS 200");
    let rejected = parse_refund(&fixture("refund_efecty_rejected.json")).unwrap();
    assert_eq!(rejected.status, RefundStatus::Failed);
}

#[test]
fn every_documented_refund_status_maps_and_others_are_unrecognized() {
    for (status, code, _, ours) in REFUND_STATUS_CODES {
        assert_eq!(refund_status_of(&code.to_string(), status), *ours);
    }
    assert_eq!(
        refund_status_of("500", "EXPIRED"),
        RefundStatus::Unrecognized
    );
    assert_eq!(refund_status_of("200", "PAID"), RefundStatus::Unrecognized);
    let mut body: Value = serde_json::from_slice(&fixture("refund_efecty_success.json")).unwrap();
    body["status"] = "REVERSED".into();
    let odd = parse_refund(&serde_json::to_vec(&body).unwrap()).unwrap();
    assert_eq!(odd.status, RefundStatus::Unrecognized);
}

fn connector() -> DlocalConnector {
    DlocalConnector::new(DlocalConfig::new(
        "http://127.0.0.1:1",
        "sak223k2wdksdl2",
        "fm12O7G9",
        "cajero-documented-example-secret",
    ))
    .unwrap()
}

#[test]
fn refund_notifications_are_verified_as_payment_notifications_are() {
    let body = fixture("refund_efecty_success.json");
    let x_date = "2020-02-20T15:46:00.000Z";
    let sig = signature(
        "cajero-documented-example-secret",
        "sak223k2wdksdl2",
        x_date,
        &body,
    );
    let headers = vec![
        ("x-date".to_string(), x_date.to_string()),
        ("authorization".to_string(), authorization(&sig)),
    ];
    let now: Timestamp = "2020-02-20T15:46:10Z".parse().unwrap();
    let refund = connector()
        .verify_refund_callback(&headers, &body, now)
        .unwrap();
    assert_eq!(refund.status, RefundStatus::Succeeded);
    let mut tampered = body.clone();
    let at = tampered.windows(5).position(|w| w == b"50000").unwrap();
    tampered[at] = b'9';
    assert_eq!(
        connector().verify_refund_callback(&headers, &tampered, now),
        Err(CallbackError::BadSignature)
    );
    let late: Timestamp = "2020-02-20T18:00:00Z".parse().unwrap();
    assert_eq!(
        connector().verify_refund_callback(&headers, &body, late),
        Err(CallbackError::StaleTimestamp)
    );
}

#[tokio::test]
async fn a_connector_that_does_not_refund_says_so_without_calling() {
    #[derive(Debug)]
    struct NoRefunds;
    impl Connector for NoRefunds {
        fn networks(&self) -> Vec<String> {
            Vec::new()
        }
        fn create_voucher(
            &self,
            _: &cajero_connect::CreateVoucher,
        ) -> cajero_connect::BoxFuture<'_, cajero_connect::Exchange<cajero_connect::NetworkOrder>>
        {
            unimplemented!()
        }
        fn create_pickup(
            &self,
            _: &cajero_connect::CreatePickup,
        ) -> cajero_connect::BoxFuture<'_, cajero_connect::Exchange<cajero_connect::NetworkOrder>>
        {
            unimplemented!()
        }
        fn find_by_reference(
            &self,
            _: cajero_connect::OrderKind,
            _: &str,
        ) -> cajero_connect::BoxFuture<'_, cajero_connect::Exchange<cajero_connect::NetworkOrder>>
        {
            unimplemented!()
        }
        fn get(
            &self,
            _: cajero_connect::OrderKind,
            _: &str,
        ) -> cajero_connect::BoxFuture<'_, cajero_connect::Exchange<cajero_connect::NetworkOrder>>
        {
            unimplemented!()
        }
        fn cancel(
            &self,
            _: cajero_connect::OrderKind,
            _: &str,
        ) -> cajero_connect::BoxFuture<'_, cajero_connect::Exchange<cajero_connect::NetworkOrder>>
        {
            unimplemented!()
        }
        fn verify_callback(
            &self,
            _: &[(String, String)],
            _: &[u8],
            _: Timestamp,
        ) -> Result<cajero_connect::Callback, CallbackError> {
            unimplemented!()
        }
        fn settlement_file(
            &self,
            _: &str,
            _: &str,
            _: &str,
        ) -> cajero_connect::BoxFuture<'_, cajero_connect::Exchange<Vec<u8>>> {
            unimplemented!()
        }
    }
    let answer = NoRefunds.refund(&request("re_1", "x", 1_000)).await;
    assert!(answer.evidence.is_empty());
    assert!(matches!(
        answer.result,
        Err(ConnectError::Rejected { code, .. }) if code == REFUND_NOT_SUPPORTED
    ));
    assert_eq!(NoRefunds.refund_method(), None);
    assert_eq!(connector().refund_method(), Some("bank_transfer"));
}

#[tokio::test]
async fn a_paid_ticket_is_refunded_through_dlocal_and_the_notification_says_success() {
    let f = start().await;
    let order = f.created("pi_rf_1", 90_000).await;
    let mut evidence = Vec::new();

    // Not paid yet: dLocal refuses (5002).
    let early = f
        .connector
        .refund(&request("re_early", &order.network_order_id, 10_000))
        .await;
    assert_eq!(
        early.result.unwrap_err(),
        ConnectError::Rejected {
            code: "invalid_transaction_status".into(),
            message: "Invalid transaction status.".into()
        }
    );

    f.control
        .pay(COUNTER, &order.code, cop(90_000))
        .await
        .unwrap();
    let before = f.flushed_callbacks().await.len();

    let taken = f
        .connector
        .refund(&request("re_1", &order.network_order_id, 60_000))
        .await;
    evidence.extend(taken.evidence.clone());
    let taken = taken.result.unwrap();
    assert_eq!(taken.status, RefundStatus::Pending);
    assert_eq!(taken.reference.as_deref(), Some("re_1"));
    // The same reference again: the same refund, not a second one.
    let again = f
        .connector
        .refund(&request("re_1", &order.network_order_id, 60_000))
        .await;
    evidence.extend(again.evidence.clone());
    assert_eq!(
        again.result.unwrap().network_refund_id,
        taken.network_refund_id
    );
    // Never more than paid in total.
    let over = f
        .connector
        .refund(&request("re_2", &order.network_order_id, 40_000))
        .await;
    assert!(
        matches!(over.result, Err(ConnectError::Rejected { ref code, .. }) if code == "amount_out_of_range"),
        "{:?}",
        over.result
    );

    let received = f.flushed_callbacks().await;
    let refunds: Vec<_> = received[before..].to_vec();
    assert_eq!(refunds.len(), 1, "one refund notification");
    let (headers, body) = &refunds[0];
    let notified = f
        .connector
        .verify_refund_callback(headers, body, Timestamp::now())
        .unwrap();
    assert_eq!(notified.status, RefundStatus::Succeeded);
    assert_eq!(notified.reference.as_deref(), Some("re_1"));
    assert_eq!(notified.amount, cop(60_000));

    let read = f.connector.get_refund(&taken.network_refund_id).await;
    evidence.extend(read.evidence.clone());
    assert_eq!(read.result.unwrap().status, RefundStatus::Succeeded);

    // The magic amount is rejected, and its notification says so.
    let rejected = f
        .connector
        .refund(&request("re_3", &order.network_order_id, 300))
        .await;
    assert_eq!(rejected.result.unwrap().status, RefundStatus::Pending);
    let received = f.flushed_callbacks().await;
    let (headers, body) = received.last().unwrap();
    let notified = f
        .connector
        .verify_refund_callback(headers, body, Timestamp::now())
        .unwrap();
    assert_eq!(notified.status, RefundStatus::Failed);

    assert_no_secret(&evidence);
    for e in &evidence {
        assert!(e.request.contains("[redacted]"), "{e:?}");
    }
}
