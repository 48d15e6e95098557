//! Verifying the simulator's callbacks: `Sim-Signature: v1=hex(HMAC-SHA256(secret,
//! "{Sim-Timestamp}.{raw body}"))`, compared in constant time, with the timestamp within a
//! tolerance of our clock so that a captured callback cannot be replayed later.

use jiff::Timestamp;
use subtle::ConstantTimeEq;

use super::signing::{HEADER_CALLBACK_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, sign};
use super::wire::{CallbackWire, parse_kind};
use crate::http::header;
use crate::{Callback, CallbackError, CallbackKind, OrderKind};

/// What a callback is checked against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Verifier<'a> {
    /// The merchant the callbacks are for.
    pub(crate) merchant_id: &'a str,
    /// The shared secret.
    pub(crate) secret: &'a str,
    /// Largest distance between `Sim-Timestamp` and our clock.
    pub(crate) tolerance_seconds: u64,
}

impl Verifier<'_> {
    /// Checks the signature, then the timestamp, then parses the body.
    pub(crate) fn verify(
        &self,
        headers: &[(String, String)],
        body: &[u8],
        now: Timestamp,
    ) -> Result<Callback, CallbackError> {
        let timestamp_text =
            header(headers, HEADER_TIMESTAMP).ok_or(CallbackError::BadSignature)?;
        let received = header(headers, HEADER_SIGNATURE).ok_or(CallbackError::BadSignature)?;
        let timestamp: i64 = timestamp_text
            .parse()
            .map_err(|_| CallbackError::BadSignature)?;
        let expected = sign(self.secret, &[timestamp_text.as_bytes(), body]);
        // `ct_eq` on slices of different lengths is false without comparing contents; the
        // length of a valid signature is public anyway.
        if !bool::from(expected.as_bytes().ct_eq(received.as_bytes())) {
            return Err(CallbackError::BadSignature);
        }
        let skew = now.as_second().saturating_sub(timestamp);
        if skew.unsigned_abs() > self.tolerance_seconds {
            return Err(CallbackError::StaleTimestamp);
        }
        self.parse(header(headers, HEADER_CALLBACK_ID), body)
    }

    fn parse(&self, header_id: Option<&str>, body: &[u8]) -> Result<Callback, CallbackError> {
        let wire: CallbackWire = serde_json::from_slice(body)
            .map_err(|e| CallbackError::Malformed(format!("body: {e}")))?;
        if wire.merchant_id != self.merchant_id {
            return Err(CallbackError::Malformed(format!(
                "callback for merchant {:?}",
                wire.merchant_id
            )));
        }
        let id = match (wire.id, header_id) {
            (Some(body_id), Some(h)) if body_id != h => {
                return Err(CallbackError::Malformed(format!(
                    "id {body_id:?} differs from {HEADER_CALLBACK_ID} {h:?}"
                )));
            }
            (Some(body_id), _) => body_id,
            (None, Some(h)) => h.to_owned(),
            (None, None) => return Err(CallbackError::Malformed("no callback id".into())),
        };
        let (kind_text, event) = wire
            .event_type
            .split_once('.')
            .ok_or_else(|| CallbackError::Malformed(format!("type {:?}", wire.event_type)))?;
        let kind = parse_kind(kind_text).map_err(|e| CallbackError::Malformed(e.to_string()))?;
        let event = parse_event(kind, event)
            .ok_or_else(|| CallbackError::Malformed(format!("type {:?}", wire.event_type)))?;
        let order = wire
            .data
            .order
            .into_order()
            .map_err(|e| CallbackError::Malformed(e.to_string()))?;
        if order.kind != kind {
            return Err(CallbackError::Malformed(format!(
                "{} callback about a {:?} order",
                wire.event_type, order.kind
            )));
        }
        Ok(Callback {
            id,
            kind: event,
            order,
            attempt: wire.data.attempt.map(Into::into),
        })
    }
}

/// The documented types: `collection.paid|expired|canceled`,
/// `payout.paid|expired|canceled|attempt_failed|locked`.
fn parse_event(kind: OrderKind, event: &str) -> Option<CallbackKind> {
    match (kind, event) {
        (_, "paid") => Some(CallbackKind::Paid),
        (_, "expired") => Some(CallbackKind::Expired),
        (_, "canceled") => Some(CallbackKind::Canceled),
        (OrderKind::Payout, "attempt_failed") => Some(CallbackKind::AttemptFailed),
        (OrderKind::Payout, "locked") => Some(CallbackKind::Locked),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const VERIFIER: Verifier<'static> = Verifier {
        merchant_id: "m1",
        secret: "s1",
        tolerance_seconds: 300,
    };

    fn body(event_type: &str, object: &str) -> String {
        serde_json::json!({
            "id": "cb_000000000001", "type": event_type, "created_at": "2026-11-25T15:00:00Z",
            "network": "efecty", "merchant_id": "m1",
            "data": {"order": {
                "id": "col_1", "object": object, "network": "efecty", "merchant_id": "m1",
                "reference": "pi_1", "status": "paid", "amount": 150000, "currency": "COP",
                "payment_code": "42807357", "pickup_code": "5821093744",
                "expires_at": "2026-11-28T15:00:00Z", "paid_at": "2026-11-25T16:00:00Z",
                "paid_counter_id": "EF-BOG-001"
            }, "attempt": null}
        })
        .to_string()
    }

    fn signed(ts: i64, body: &str) -> Vec<(String, String)> {
        vec![
            (HEADER_TIMESTAMP.into(), ts.to_string()),
            (
                HEADER_SIGNATURE.into(),
                sign("s1", &[ts.to_string().as_bytes(), body.as_bytes()]),
            ),
        ]
    }

    #[test]
    fn event_types_are_mapped_only_for_their_kind() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let cases = [
            ("collection.paid", "collection", Some(CallbackKind::Paid)),
            (
                "collection.expired",
                "collection",
                Some(CallbackKind::Expired),
            ),
            (
                "collection.canceled",
                "collection",
                Some(CallbackKind::Canceled),
            ),
            ("collection.locked", "collection", None),
            ("collection.attempt_failed", "collection", None),
            ("payout.paid", "payout", Some(CallbackKind::Paid)),
            ("payout.expired", "payout", Some(CallbackKind::Expired)),
            ("payout.canceled", "payout", Some(CallbackKind::Canceled)),
            (
                "payout.attempt_failed",
                "payout",
                Some(CallbackKind::AttemptFailed),
            ),
            ("payout.locked", "payout", Some(CallbackKind::Locked)),
            ("payout.paid", "collection", None),
            ("payout.refunded", "payout", None),
            ("paid", "payout", None),
        ];
        for (event_type, object, expected) in cases {
            let b = body(event_type, object);
            let got = VERIFIER.verify(&signed(now.as_second(), &b), b.as_bytes(), now);
            match expected {
                Some(kind) => assert_eq!(got.unwrap().kind, kind, "{event_type}"),
                None => assert!(
                    matches!(got, Err(CallbackError::Malformed(_))),
                    "{event_type} on {object}: {got:?}"
                ),
            }
        }
    }

    #[test]
    fn a_header_id_that_contradicts_the_body_is_refused() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let b = body("collection.paid", "collection");
        let mut headers = signed(now.as_second(), &b);
        headers.push((HEADER_CALLBACK_ID.into(), "cb_999".into()));
        let got = VERIFIER.verify(&headers, b.as_bytes(), now);
        assert!(matches!(got, Err(CallbackError::Malformed(_))), "{got:?}");
    }
}
