//! Fuzzing what Kushki sends us with proptest: any webhook (headers and body), any status
//! answer and any transactions report give a named error or a parsed value, never a panic; a
//! correctly signed webhook is never refused for its signature, whatever its body.
//!
//! Short by default (256 cases per property); for a long run:
//! `PROPTEST_CASES=100000 cargo test -p cajero-connect --test kushki_fuzz`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cajero_connect::kushki::codes::error_from;
use cajero_connect::kushki::webhook::{self, HEADER_ID, HEADER_SIGNATURE};
use cajero_connect::kushki::wire::order_from_status;
use cajero_connect::kushki::{REPORT_COLUMNS, parse_report};
use cajero_connect::report::REPORT_PROBLEMS_MAX;
use cajero_connect::{CallbackError, OrderKind};
use jiff::Timestamp;
use proptest::prelude::*;

const KEY: &str = "fuzz-webhook-key";
const NOW_S: i64 = 1_764_000_000;

fn now() -> Timestamp {
    Timestamp::from_second(NOW_S).unwrap()
}

/// JSON-ish bodies: Kushki's field names and states among arbitrary values.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let field = prop_oneof![
        Just("ticketNumber".to_string()),
        Just("pin".to_string()),
        Just("status".to_string()),
        Just("transactionStatus".to_string()),
        Just("transactionType".to_string()),
        Just("totalAmount".to_string()),
        Just("expiration".to_string()),
        Just("completedAt".to_string()),
        Just("metadata".to_string()),
        "[a-zA-Z]{1,8}",
    ];
    let value = prop_oneof![
        Just("\"approvedTransaction\"".to_string()),
        Just("\"expiredTransaction\"".to_string()),
        Just("\"PAYOUT\"".to_string()),
        Just("{\"reference\":\"pi_1\"}".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| format!("{n:?}")),
        "\"[ -~]{0,12}\"",
        Just("null".to_string()),
    ];
    let pairs = proptest::collection::vec((field, value), 0..10);
    prop_oneof![
        pairs.prop_map(|pairs| {
            let inner: Vec<String> = pairs
                .into_iter()
                .map(|(k, v)| format!("\"{k}\":{v}"))
                .collect();
            format!("{{{}}}", inner.join(",")).into_bytes()
        }),
        proptest::collection::vec(any::<u8>(), 0..200),
    ]
}

proptest! {
    #[test]
    fn any_webhook_is_parsed_or_refused_by_name(
        body in body(),
        // Header values carry no surrounding white space (RFC 9110, 5.5).
        id in prop_oneof![Just(NOW_S.to_string()), "[0-9]{0,14}", "[!-~]{0,10}"],
        signed in any::<bool>(),
    ) {
        let signature = if signed { webhook::sign(KEY, &body, &id) } else { "00".repeat(32) };
        let headers = vec![
            (HEADER_ID.to_owned(), id.clone()),
            (HEADER_SIGNATURE.to_owned(), signature),
        ];
        let got = webhook::verify(KEY, 300, &headers, &body, now());
        let fresh = id.trim().parse::<i64>().map_or(true, |n| {
            let s = if n > webhook::MILLIS_THRESHOLD { n / 1_000 } else { n };
            (NOW_S - s).unsigned_abs() <= 300
        });
        if signed && !id.trim().is_empty() {
            // Signed: never refused for its signature; stale only when its id says so.
            prop_assert_ne!(got.clone().err(), Some(CallbackError::BadSignature));
            if !fresh {
                prop_assert_eq!(got.err(), Some(CallbackError::StaleTimestamp));
            }
        } else {
            prop_assert_eq!(got.err(), Some(CallbackError::BadSignature));
        }
    }

    #[test]
    fn any_status_answer_or_error_body_is_read_without_panicking(body in body(), status in 100u16..600) {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) {
            let _ = order_from_status(&v, OrderKind::Collection);
            let _ = order_from_status(&v, OrderKind::Payout);
        }
        let _ = error_from(status, &body);
    }

    #[test]
    fn any_report_gives_lines_or_at_most_the_problem_limit(
        rows in proptest::collection::vec(proptest::collection::vec("[ -~]{0,12}", 0..10), 0..300),
    ) {
        let mut text = REPORT_COLUMNS.join(",");
        for row in rows {
            text.push('\n');
            text.push_str(&row.join(","));
        }
        if let Err(problems) = parse_report(text.as_bytes()) {
            prop_assert!(!problems.is_empty() && problems.len() <= REPORT_PROBLEMS_MAX);
            prop_assert!(problems.iter().all(|p| p.line >= 1));
        }
    }
}
