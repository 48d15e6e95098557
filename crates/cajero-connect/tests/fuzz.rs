//! Fuzzing the callback verifier with proptest (stable Rust): any headers and any body get a
//! named [`CallbackError`] or a parsed callback, never a panic; a correctly signed callback
//! is never refused for its signature, whatever its body.
//!
//! Short by default (256 cases per property); for a long run:
//! `PROPTEST_CASES=100000 cargo test -p cajero-connect --test fuzz`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cajero_connect::sim::{SimConnector, SimConnectorConfig};
use cajero_connect::{CallbackError, Connector};
use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use proptest::prelude::*;
use sha2::Sha256;

const SECRET: &str = "fuzz-shared-secret";
const NOW_S: i64 = 1_764_000_000;

fn connector() -> SimConnector {
    SimConnector::new(SimConnectorConfig::new(
        "http://127.0.0.1:9",
        "mer_fuzz",
        SECRET,
    ))
    .unwrap()
}

/// `v1=hex(HMAC-SHA256(secret, "{timestamp}.{body}"))`, as the simulator signs.
fn signature(timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("sim-timestamp".to_string()),
        Just("sim-signature".to_string()),
        Just("sim-callback-id".to_string()),
        Just("SIM-TIMESTAMP".to_string()),
        any::<String>(),
    ]
}

/// Bodies that look like callbacks often enough to reach the parser's deeper branches.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<Vec<u8>>(),
        any::<String>().prop_map(String::into_bytes),
        ("[a-z_.]{0,24}", "[a-z_]{0,12}", any::<i64>(), "\\PC{0,20}").prop_map(
            |(kind, status, amount, id)| {
                serde_json::json!({
                    "id": id, "type": kind, "merchant_id": "mer_fuzz",
                    "data": {"status": status, "amount": amount, "reference": id,
                             "kind": kind, "order_id": id}
                })
                .to_string()
                .into_bytes()
            }
        ),
    ]
}

proptest! {
    #[test]
    fn any_headers_and_body_get_an_answer_not_a_panic(
        headers in proptest::collection::vec((header_name(), any::<String>()), 0..6),
        body in body(),
        now in any::<i32>(),
    ) {
        let now = Timestamp::from_second(i64::from(now)).unwrap();
        let _ = connector().verify_callback(&headers, &body, now);
    }

    #[test]
    fn a_correctly_signed_callback_is_never_refused_for_its_signature(
        body in body(),
        skew in -600i64..600,
        id in proptest::option::of("\\PC{0,30}"),
    ) {
        let timestamp = (NOW_S + skew).to_string();
        let mut headers = vec![
            ("sim-timestamp".to_string(), timestamp.clone()),
            ("sim-signature".to_string(), signature(&timestamp, &body)),
        ];
        if let Some(id) = id {
            headers.push(("sim-callback-id".to_string(), id));
        }
        let now = Timestamp::from_second(NOW_S).unwrap();
        let result = connector().verify_callback(&headers, &body, now);
        prop_assert!(!matches!(result, Err(CallbackError::BadSignature)), "{result:?}");
    }

    #[test]
    fn a_signature_over_another_body_is_refused(body in body(), other in body()) {
        prop_assume!(body != other);
        let timestamp = NOW_S.to_string();
        let headers = vec![
            ("sim-timestamp".to_string(), timestamp.clone()),
            ("sim-signature".to_string(), signature(&timestamp, &other)),
        ];
        let now = Timestamp::from_second(NOW_S).unwrap();
        let result = connector().verify_callback(&headers, &body, now);
        prop_assert!(matches!(result, Err(CallbackError::BadSignature)), "{result:?}");
    }
}
