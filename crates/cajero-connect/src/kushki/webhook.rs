//! Kushki's webhooks: verifying and reading them.
//!
//! Kushki's own overview says webhooks carry headers "to verify their authenticity" but the
//! scheme itself is documented only in third-party integrations (gateway-apis.md D22):
//! `X-Kushki-Signature = hex(HMAC-SHA256(webhook signature key, raw body + "." + X-Kushki-Id))`,
//! where `X-Kushki-Id` is a Unix timestamp and `X-Kushki-Key` names the merchant. That is what
//! we verify, in constant time; when `X-Kushki-Id` reads as a timestamp (seconds, or
//! milliseconds above [`MILLIS_THRESHOLD`]) it must be within the tolerance of our clock. A
//! retried notification is the same callback to us: its id is `{ticketNumber}:{state}`.

use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use serde_json::Value;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::wire::{order_from_status, webhook_kind};
use crate::http::header;
use crate::{Callback, CallbackError, CallbackKind, NetworkStatus};

/// Header with the signature (lower-case hex).
pub const HEADER_SIGNATURE: &str = "x-kushki-signature";
/// Header with the signed id (a Unix timestamp).
pub const HEADER_ID: &str = "x-kushki-id";
/// Header naming the merchant (not secret; not checked, its value is not documented).
pub const HEADER_KEY: &str = "x-kushki-key";
/// Above this an `X-Kushki-Id` is read as Unix milliseconds (year 5138 in seconds).
pub const MILLIS_THRESHOLD: i64 = 100_000_000_000;

/// `hex(HMAC-SHA256(key, body + "." + id))`.
pub fn sign(key: &str, body: &[u8], id: &str) -> String {
    // HMAC takes keys of any length: this never fails; an empty signature would never match.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key.as_bytes()) else {
        return String::new();
    };
    mac.update(body);
    mac.update(b".");
    mac.update(id.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Checks the signature, then the timestamp, then reads the body.
pub fn verify(
    key: &str,
    tolerance_seconds: u64,
    headers: &[(String, String)],
    body: &[u8],
    now: Timestamp,
) -> Result<Callback, CallbackError> {
    let id = header(headers, HEADER_ID).ok_or(CallbackError::BadSignature)?;
    let received = header(headers, HEADER_SIGNATURE).ok_or(CallbackError::BadSignature)?;
    let expected = sign(key, body, id);
    let received = received.to_ascii_lowercase();
    if !bool::from(expected.as_bytes().ct_eq(received.as_bytes())) {
        return Err(CallbackError::BadSignature);
    }
    if let Ok(number) = id.parse::<i64>() {
        let seconds = if number > MILLIS_THRESHOLD {
            number / 1_000
        } else {
            number
        };
        let skew = now.as_second().saturating_sub(seconds);
        if skew.unsigned_abs() > tolerance_seconds {
            return Err(CallbackError::StaleTimestamp);
        }
    }
    parse(body)
}

/// A webhook body as a [`Callback`]. Kushki notifies approved, declined and expired orders;
/// any other state (initialized, or one Kushki does not document) has no callback kind of its
/// own: it comes as [`CallbackKind::AttemptFailed`] with no attempt, to be applied by the
/// order's status — nothing to do while open, held for review when
/// [`NetworkStatus::Unrecognized`] (never guessed). The same convention as the other gateways.
pub fn parse(body: &[u8]) -> Result<Callback, CallbackError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| CallbackError::Malformed(format!("body: {e}")))?;
    let kind = webhook_kind(&v);
    let order = order_from_status(&v, kind).map_err(CallbackError::Malformed)?;
    let state = v
        .get("transactionStatus")
        .or_else(|| v.get("status"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let event = match order.status {
        NetworkStatus::Paid => CallbackKind::Paid,
        NetworkStatus::Expired => CallbackKind::Expired,
        NetworkStatus::Canceled => CallbackKind::Canceled,
        NetworkStatus::Pending
        | NetworkStatus::Available
        | NetworkStatus::Locked
        | NetworkStatus::Unrecognized => CallbackKind::AttemptFailed,
    };
    Ok(Callback {
        id: format!("{}:{state}", order.network_order_id),
        kind: event,
        order,
        attempt: None,
    })
}
