//! Kushki's documented examples as tests: every request, answer, notification and error code
//! in its public documentation, read by the production code. Each fixture's source is in
//! `tests/fixtures/kushki/SOURCES.md`: the cash-in API reference
//! (https://api-docs.kushkipagos.com/docs/online-payments/cash-in/…), the cash-out one
//! (https://docs.kushki.com/co/en/payouts/cash/cash-out), the webhook pages
//! (https://docs.kushki.com/co/en/notifications/payment-distribution/webhook-cash-out/,
//! https://docs.kushki.com/ec/en/notifications/one-time-payments/webhook-cash-in) and the cash
//! error codes (https://docs.kushki.com/co/en/cash-payments/declined-cash-transaction).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use cajero_connect::kushki::codes::{
    self, ERROR_TABLE, ErrorMeaning, STATUS_TABLE, error_from, status_of,
};
use cajero_connect::kushki::webhook::{self, HEADER_ID, HEADER_SIGNATURE};
use cajero_connect::kushki::wire::{
    self, Asked, expiration_date, order_from_init, order_from_status, split_name,
};
use cajero_connect::kushki::{limits, parse_report};
use cajero_connect::{
    CallbackError, CallbackKind, ConnectError, CreatePickup, CreateVoucher, DocumentRef,
    NetworkStatus, OrderKind,
};
use cajero_domain::money::Amount;
use jiff::Timestamp;
use serde_json::Value;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/kushki/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn json(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).unwrap()
}

fn cop(pesos: i64) -> Amount {
    Amount::new(pesos).unwrap()
}

fn ms(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

fn asked(kind: OrderKind, reference: &str, amount: i64) -> Asked<'_> {
    Asked {
        kind,
        network: "efecty",
        reference,
        amount: cop(amount),
        expires_at: "2019-04-17T23:59:59Z".parse().unwrap(),
    }
}

#[test]
fn the_documented_cash_in_init_answer_is_a_pending_voucher_with_pin_barcode_and_efecty_agreement() {
    let order = order_from_init(
        &fixture("cash_in_init_response.json"),
        &asked(OrderKind::Collection, "pi_1", 10_000),
    )
    .unwrap();
    assert_eq!(order.kind, OrderKind::Collection);
    assert_eq!(order.network_order_id, "193222411482");
    assert_eq!(order.code, "1554244909");
    assert_eq!(order.status, NetworkStatus::Pending);
    assert_eq!(
        order.barcode_data.as_deref(),
        Some("4150000000054244802015549183763900100009620190417")
    );
    assert_eq!(order.agreement_code.as_deref(), Some("110342"));
    assert_eq!(order.reference, "pi_1");
    assert_eq!(order.amount, cop(10_000));
}

#[test]
fn the_documented_cash_out_init_answer_is_an_available_pick_up() {
    let order = order_from_init(
        &fixture("cash_out_init_response.json"),
        &asked(OrderKind::Payout, "po_1", 50_000),
    )
    .unwrap();
    assert_eq!(order.network_order_id, "481580406256842218");
    assert_eq!(order.code, "1406256866");
    assert_eq!(order.status, NetworkStatus::Available);
    assert_eq!((order.agreement_code, order.barcode_data), (None, None));
}

#[test]
fn the_documented_cash_in_status_answer_is_a_paid_voucher() {
    let order =
        order_from_status(&json("cash_in_status_response.json"), OrderKind::Collection).unwrap();
    assert_eq!(order.network_order_id, "2372673199478413");
    assert_eq!(order.status, NetworkStatus::Paid);
    assert_eq!(order.amount, cop(300));
    assert_eq!(order.code, "2673220823");
    assert_eq!(order.paid_at, Some(ms(1_672_673_403_649)));
    assert_eq!(order.expires_at, ms(1_673_816_400_000));
    // The documented answer carries no metadata of ours: the ticket identifies the order.
    assert_eq!(order.reference, "");
}

#[test]
fn the_documented_cash_out_status_answer_is_an_available_pick_up_of_its_total_amount() {
    let order =
        order_from_status(&json("cash_out_status_response.json"), OrderKind::Payout).unwrap();
    assert_eq!(order.network_order_id, "481580406256842218");
    assert_eq!(order.status, NetworkStatus::Available);
    // The example's `amount` parts (44,000) disagree with its `totalAmount`: the total wins.
    assert_eq!(order.amount, cop(50_000));
    assert_eq!(order.code, "1406256866");
    assert_eq!(order.paid_at, None);
}

/// Computed independently with Python's hmac/hashlib over the fixture's exact bytes (see
/// SOURCES.md): HMAC-SHA256("kushki-webhook-signature-key", body + "." + "1602087881").
const DOCUMENTED_WEBHOOK_SIGNATURE: &str =
    "13f73972a445fc5e27949da1f36f68e67e1e6ec8cce447ccae96e39600fa1ad3";
const WEBHOOK_KEY: &str = "kushki-webhook-signature-key";
const WEBHOOK_ID: &str = "1602087881";

fn signed_headers(signature: &str) -> Vec<(String, String)> {
    vec![
        (HEADER_ID.into(), WEBHOOK_ID.into()),
        (HEADER_SIGNATURE.into(), signature.into()),
        ("x-kushki-key".into(), "20000000XXXXXXXX2000".into()),
    ]
}

#[test]
fn our_webhook_signature_equals_an_independent_hmac_over_the_documented_notification() {
    let body = fixture("cash_out_webhook_approved.json");
    assert_eq!(
        webhook::sign(WEBHOOK_KEY, &body, WEBHOOK_ID),
        DOCUMENTED_WEBHOOK_SIGNATURE
    );
}

#[test]
fn the_documented_cash_out_notification_verifies_into_a_paid_callback() {
    let body = fixture("cash_out_webhook_approved.json");
    let now = Timestamp::from_second(1_602_087_890).unwrap();
    let callback = webhook::verify(
        WEBHOOK_KEY,
        300,
        &signed_headers(DOCUMENTED_WEBHOOK_SIGNATURE),
        &body,
        now,
    )
    .unwrap();
    assert_eq!(callback.id, "481602087838868847:approvedTransaction");
    assert_eq!(callback.kind, CallbackKind::Paid);
    assert_eq!(callback.order.kind, OrderKind::Payout);
    assert_eq!(callback.order.status, NetworkStatus::Paid);
    assert_eq!(callback.order.amount, cop(50_000));
    assert_eq!(callback.order.code, "2087838888");
    assert_eq!(callback.order.paid_at, Some(ms(1_602_087_880_267)));
    assert_eq!(callback.attempt, None);
}

#[test]
fn a_tampered_stale_or_unsigned_notification_is_refused() {
    let body = fixture("cash_out_webhook_approved.json");
    let now = Timestamp::from_second(1_602_087_890).unwrap();
    let headers = signed_headers(DOCUMENTED_WEBHOOK_SIGNATURE);
    let tampered = String::from_utf8(body.clone())
        .unwrap()
        .replace("50000", "90000");
    assert_eq!(
        webhook::verify(WEBHOOK_KEY, 300, &headers, tampered.as_bytes(), now),
        Err(CallbackError::BadSignature)
    );
    assert_eq!(
        webhook::verify("another-key", 300, &headers, &body, now),
        Err(CallbackError::BadSignature)
    );
    let later = Timestamp::from_second(1_602_087_881 + 301).unwrap();
    assert_eq!(
        webhook::verify(WEBHOOK_KEY, 300, &headers, &body, later),
        Err(CallbackError::StaleTimestamp)
    );
    assert_eq!(
        webhook::verify(WEBHOOK_KEY, 300, &headers[..1], &body, now),
        Err(CallbackError::BadSignature)
    );
}

#[test]
fn the_documented_cash_in_notification_is_refused_for_its_fraction_of_a_peso() {
    // The page's example pays COP 49.99: pesos are whole, and a fraction is never rounded.
    let got = webhook::parse(&fixture("cash_in_webhook_approved.json"));
    assert!(
        matches!(&got, Err(CallbackError::Malformed(m)) if m.contains("whole number of pesos")),
        "{got:?}"
    );
    let whole = String::from_utf8(fixture("cash_in_webhook_approved.json"))
        .unwrap()
        .replace("49.99", "49000");
    let callback = webhook::parse(whole.as_bytes()).unwrap();
    assert_eq!(callback.kind, CallbackKind::Paid);
    assert_eq!(callback.order.kind, OrderKind::Collection);
    assert_eq!(callback.id, "2302011714922359:approvedTransaction");
    assert_eq!(callback.order.amount, cop(49_000));
}

#[test]
fn every_documented_state_maps_to_ours_and_an_unknown_one_is_unrecognized() {
    // Cash-in status and webhook pages; cash-out status and webhook pages.
    let cash_in = [
        "initializedTransaction",
        "approvedTransaction",
        "expiredTransaction",
        "declinedTransaction",
    ];
    let cash_out = [
        "initializedTransaction",
        "approvedTransaction",
        "declinedTransaction",
        "expiredTransaction",
    ];
    for state in cash_in {
        assert_ne!(
            status_of(OrderKind::Collection, state),
            NetworkStatus::Unrecognized
        );
    }
    for state in cash_out {
        assert_ne!(
            status_of(OrderKind::Payout, state),
            NetworkStatus::Unrecognized
        );
    }
    for state in ["refundedTransaction", "APPROVAL", "", "approvedtransaction"] {
        assert_eq!(
            status_of(OrderKind::Collection, state),
            NetworkStatus::Unrecognized
        );
        assert_eq!(
            status_of(OrderKind::Payout, state),
            NetworkStatus::Unrecognized
        );
    }
    assert_eq!(STATUS_TABLE.len(), 4);
}

#[test]
fn an_undocumented_state_in_a_notification_is_never_guessed() {
    let body = String::from_utf8(fixture("cash_out_webhook_approved.json"))
        .unwrap()
        .replace("approvedTransaction", "refundedTransaction");
    let callback = webhook::parse(body.as_bytes()).unwrap();
    // No kind of its own: applied by the order's status, which holds it for review.
    assert_eq!(callback.kind, CallbackKind::AttemptFailed);
    assert_eq!(callback.order.status, NetworkStatus::Unrecognized);
    assert_eq!(callback.attempt, None);
    assert_eq!(callback.id, "481602087838868847:refundedTransaction");
    let mut status = json("cash_out_status_response.json");
    status["transactionStatus"] = "onHoldTransaction".into();
    let order = order_from_status(&status, OrderKind::Payout).unwrap();
    assert_eq!(order.status, NetworkStatus::Unrecognized);
}

#[test]
fn every_documented_error_code_maps_to_one_of_ours() {
    let documented = json("errors.json");
    for example in documented.as_array().unwrap() {
        let code = example["code"].as_str().unwrap();
        assert!(
            codes::error_meaning(code).is_some(),
            "{code} is documented but not in ERROR_TABLE"
        );
        let got = error_from(400, example.to_string().as_bytes());
        assert!(!matches!(got, ConnectError::Protocol(_)), "{code}: {got:?}");
    }
    let rejected = |code: &str| {
        error_from(
            400,
            format!(r#"{{"code":"{code}","message":"m"}}"#).as_bytes(),
        )
    };
    let ours = |code: &str| match rejected(code) {
        ConnectError::Rejected { code, .. } => code,
        other => panic!("{other:?}"),
    };
    assert_eq!(ours("C009"), "insufficient_funds_at_network");
    assert_eq!(ours("C024"), "no_payout_balance");
    assert_eq!(rejected("C021"), ConnectError::NotFound);
    assert_eq!(rejected("C005"), ConnectError::NotFound);
    assert_eq!(rejected("C008"), ConnectError::NotCancelable);
    assert!(matches!(rejected("C002"), ConnectError::Unavailable(_)));
    assert!(matches!(rejected("C999"), ConnectError::Protocol(m) if m.contains("C999")));
    assert_eq!(error_from(504, b""), ConnectError::Timeout);
    assert_eq!(error_from(404, b"<html>"), ConnectError::NotFound);
    assert!(matches!(error_from(502, b""), ConnectError::Unavailable(_)));
}

fn voucher() -> CreateVoucher {
    CreateVoucher {
        network: "efecty".into(),
        reference: "pi_1".into(),
        amount: cop(3_700),
        customer_name: Some("John Doe".into()),
        customer_document: Some(DocumentRef {
            kind: "CC".into(),
            number: "123456789".into(),
        }),
        expires_in_seconds: 86_400,
        test_clock: None,
    }
}

#[test]
fn the_cash_in_token_we_build_has_the_documented_fields() {
    let documented = json("cash_in_token_request.json");
    let ours = serde_json::to_value(wire::cash_in_token_body(&voucher()).unwrap()).unwrap();
    let optional: BTreeSet<String> = ["email", "description"].map(String::from).into();
    let expected: BTreeSet<String> = keys(&documented).difference(&optional).cloned().collect();
    assert_eq!(keys(&ours), expected);
    for field in [
        "name",
        "lastName",
        "identification",
        "documentType",
        "totalAmount",
        "currency",
    ] {
        assert_eq!(ours[field], documented[field], "{field}");
    }
}

#[test]
fn the_cash_out_token_we_build_has_the_documented_fields() {
    let documented = json("cash_out_token_request.json");
    let pickup = CreatePickup {
        network: "efecty".into(),
        reference: "po_1".into(),
        amount: cop(50_000),
        beneficiary_name: "John Doe".into(),
        beneficiary_document: DocumentRef {
            kind: "CC".into(),
            number: "123456789".into(),
        },
        expires_in_seconds: 2 * 86_400,
        test_clock: None,
    };
    let ours = serde_json::to_value(
        wire::cash_out_token_body(&pickup, Some("user@example.com"), Some("+593912345678"))
            .unwrap(),
    )
    .unwrap();
    let mut expected = keys(&documented);
    expected.remove("description");
    assert_eq!(keys(&ours), expected);
    for field in expected {
        assert_eq!(ours[&field], documented[&field], "{field}");
    }
}

#[test]
fn the_init_we_build_has_the_documented_shape() {
    let documented_in = json("cash_in_init_request.json");
    let documented_out = json("cash_out_init_request.json");
    let a = asked(OrderKind::Collection, "pi_1", 200);
    let ours = serde_json::to_value(wire::init_body(
        "5c786b972ad54ab39b0aad0774434c4d".into(),
        &a,
        Some("https://cajero.example/callbacks/kushki"),
    ))
    .unwrap();
    let documented_keys: BTreeSet<String> = keys(&documented_in)
        .union(&keys(&documented_out))
        .cloned()
        .collect();
    assert_eq!(keys(&ours), documented_keys);
    assert_eq!(ours["amount"], documented_in["amount"]);
    assert_eq!(
        keys(&ours["webhooks"][0]),
        keys(&documented_in["webhooks"][0])
    );
    assert_eq!(ours["expirationDate"], "2019-04-17 23:59:59");
    assert_eq!(ours["metadata"]["reference"], "pi_1");
    assert_eq!(
        ours["webhooks"][0]["urls"][0],
        "https://cajero.example/callbacks/kushki"
    );
    let without_url = serde_json::to_value(wire::init_body("t".into(), &a, None)).unwrap();
    assert!(without_url.get("webhooks").is_none());
}

#[test]
fn expiration_dates_are_utc_whole_seconds_in_kushkis_format() {
    let at: Timestamp = "2022-12-26T21:00:00.999Z".parse().unwrap();
    assert_eq!(expiration_date(at), "2022-12-26 21:00:00");
    assert_eq!(
        wire::parse_expiration_date("2022-12-26 21:00:00"),
        Some("2022-12-26T21:00:00Z".parse().unwrap())
    );
    assert_eq!(wire::parse_expiration_date("2022-12-26T21:00:00"), None);
}

#[test]
fn full_names_are_split_into_kushkis_name_and_last_name() {
    let cases = [
        ("Ana", ("Ana", "Ana")),
        ("John Doe", ("John", "Doe")),
        ("Ana Gómez Ruiz", ("Ana", "Gómez Ruiz")),
        ("Luis Carlos Pérez Gómez", ("Luis Carlos", "Pérez Gómez")),
        (
            "  María   de los Ángeles Pérez ",
            ("María de", "los Ángeles Pérez"),
        ),
    ];
    for (full, (name, last)) in cases {
        assert_eq!(
            split_name(full),
            (name.to_owned(), last.to_owned()),
            "{full}"
        );
    }
}

#[test]
fn document_types_follow_kushkis_list() {
    for (ours, theirs) in [
        ("CC", "CC"),
        ("CE", "CE"),
        ("TI", "TI"),
        ("NIT", "NIT"),
        ("PA", "PP"),
    ] {
        assert_eq!(wire::document_type(ours).unwrap(), theirs);
    }
    for unsupported in ["PPT", "PEP"] {
        assert!(matches!(
            wire::document_type(unsupported),
            Err(ConnectError::Rejected { code, .. }) if code == "document_type_not_supported"
        ));
    }
}

#[test]
fn amount_limits_are_kushkis() {
    assert_eq!(
        limits(OrderKind::Collection, "efecty"),
        Some((cop(1_000), cop(1_000_000)))
    );
    assert_eq!(
        limits(OrderKind::Collection, "sured"),
        Some((cop(3_000), cop(3_000_000)))
    );
    assert_eq!(
        limits(OrderKind::Payout, "efecty"),
        Some((cop(1_000), cop(6_000_000)))
    );
    assert_eq!(limits(OrderKind::Payout, "sured"), None);
}

#[test]
fn the_transactions_report_is_read_into_report_lines() {
    let lines = parse_report(&fixture("transactions_report.csv")).unwrap();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0].line, 2);
    assert_eq!(lines[0].kind, OrderKind::Collection);
    assert_eq!(lines[0].network_order_id, "2302011714922359");
    assert_eq!(lines[0].reference.as_deref(), Some("pi_0000000001"));
    assert_eq!(lines[0].code.as_deref(), Some("2011731304"));
    assert_eq!(lines[0].status, NetworkStatus::Paid);
    assert_eq!(lines[0].amount, cop(50_000));
    assert_eq!(lines[0].paid_at, Some(ms(1_602_011_733_626)));
    assert_eq!(lines[1].kind, OrderKind::Payout);
    assert_eq!(lines[2].status, NetworkStatus::Expired);
    assert_eq!(lines[2].paid_at, None);
}

#[test]
fn every_problem_of_a_bad_report_is_named_with_its_line_and_field() {
    let bad = "ticketNumber,transactionType,transactionStatus,pin,reference,currency,totalAmount,completedAt\n\
               1,SALE,approvedTransaction,9,pi_1,COP,10.5,x\n\
               2,REFUND,approvedTransaction,9,pi_2,USD,100,\n\
               3,PAYOUT,weirdTransaction,9,po_3,COP,100,\n";
    let problems = parse_report(bad.as_bytes()).unwrap_err();
    let found: Vec<(u32, &str)> = problems
        .iter()
        .map(|p| (p.line, p.field.as_str()))
        .collect();
    assert_eq!(
        found,
        vec![
            (2, "totalAmount"),
            (2, "completedAt"),
            (3, "transactionType"),
            (3, "currency"),
            (4, "transactionStatus"),
        ]
    );
    let missing = parse_report(b"ticketNumber,pin\n1,2\n").unwrap_err();
    assert!(missing.iter().all(|p| p.line == 1));
    assert_eq!(missing.len(), 6);
}

/// The rows of a markdown table under `heading` in the Kushki section of docs/networks.md.
fn doc_table(heading: &str) -> Vec<Vec<String>> {
    let doc = std::fs::read_to_string(format!(
        "{}/../../docs/networks.md",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let section = doc
        .split("<!-- kushki:begin -->")
        .nth(1)
        .unwrap()
        .split("<!-- kushki:end -->")
        .next()
        .unwrap();
    let after = section.split(heading).nth(1).unwrap();
    after
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().trim_matches('`').to_owned())
                .collect()
        })
        .collect()
}

fn snake(status: NetworkStatus) -> String {
    serde_json::to_value(status)
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn the_mapping_tables_in_the_docs_are_the_codes_tables() {
    let rows = doc_table("### Status mapping");
    let documented: Vec<Vec<String>> = rows
        .into_iter()
        .filter(|r| r[0] != "anything else")
        .collect();
    let ours: Vec<Vec<String>> = STATUS_TABLE
        .iter()
        .map(|(s, c, p)| vec![(*s).to_owned(), snake(*c), snake(*p)])
        .collect();
    assert_eq!(documented, ours);

    let rows = doc_table("### Error mapping");
    let ours: Vec<Vec<String>> = ERROR_TABLE
        .iter()
        .map(|(code, meaning, ours)| {
            let ours = match ours {
                ErrorMeaning::Rejected(c) => format!("rejected: {c}"),
                ErrorMeaning::NotFound => "not_found".into(),
                ErrorMeaning::NotCancelable => "not_cancelable".into(),
                ErrorMeaning::Unavailable => "unavailable".into(),
            };
            vec![(*code).to_owned(), (*meaning).to_owned(), ours]
        })
        .collect();
    assert_eq!(rows, ours);
}
