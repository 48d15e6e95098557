//! dLocal's `V2-HMAC-SHA256` signature (<https://docs.dlocal.com/docs/generate-signature>,
//! <https://docs.dlocal.com/reference/payins-security>): lower-case hex of
//! HMAC-SHA256(secret key, `X-Login` + `X-Date` + body), sent as
//! `Authorization: V2-HMAC-SHA256, Signature: <hex>`. Notifications are signed the same way
//! with the merchant's own `X-Login`, the notification's `X-Date` and its body.

use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The scheme prefix of the `Authorization` header.
pub const SCHEME: &str = "V2-HMAC-SHA256";
/// The API version sent as `X-Version`.
pub const API_VERSION: &str = "2.1";

/// Lower-case hex of HMAC-SHA256(`secret`, `login` + `x_date` + `body`).
pub fn signature(secret: &str, login: &str, x_date: &str, body: &[u8]) -> String {
    // HMAC takes keys of any length, so this never fails; an empty signature never matches.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(login.as_bytes());
    mac.update(x_date.as_bytes());
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The `Authorization` header for `signature`.
pub fn authorization(signature: &str) -> String {
    format!("{SCHEME}, Signature: {signature}")
}

/// The signature in an `Authorization` header, if it is in dLocal's form.
pub fn signature_in(authorization: &str) -> Option<&str> {
    let rest = authorization.trim().strip_prefix(SCHEME)?;
    let rest = rest.trim_start().strip_prefix(',')?.trim_start();
    let value = rest.strip_prefix("Signature:")?.trim();
    (!value.is_empty()).then_some(value)
}

/// Whether `authorization` carries the signature of (`login`, `x_date`, `body`) under
/// `secret`, compared in constant time.
pub fn verify(secret: &str, login: &str, x_date: &str, body: &[u8], authorization: &str) -> bool {
    let Some(received) = signature_in(authorization) else {
        return false;
    };
    let expected = signature(secret, login, x_date, body);
    bool::from(
        expected
            .as_bytes()
            .ct_eq(received.to_ascii_lowercase().as_bytes()),
    )
}

/// `X-Date` as dLocal shows it: ISO 8601 in UTC with milliseconds (`2018-07-12T13:46:28.629Z`).
pub fn x_date(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A dLocal date: RFC 3339 (`2018-07-12T13:46:28.629Z`) or with a colon-less offset as in
/// their payment objects (`2020-02-24T02:59:00.000+0000`).
pub fn parse_date(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if let Ok(at) = text.parse::<Timestamp>() {
        return Some(at);
    }
    let split = text.len().checked_sub(5)?;
    let (head, offset) = (text.get(..split)?, text.get(split..)?);
    let bytes = offset.as_bytes();
    let signed = matches!(bytes.first(), Some(b'+' | b'-'));
    if !signed || !bytes.iter().skip(1).all(u8::is_ascii_digit) {
        return None;
    }
    let (hours, minutes) = (offset.get(..3)?, offset.get(3..)?);
    format!("{head}{hours}:{minutes}").parse().ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn authorization_headers_round_trip_and_compare_case_insensitively() {
        let sig = signature("s", "login", "2018-07-12T13:46:28.629Z", b"{}");
        let header = authorization(&sig);
        assert_eq!(signature_in(&header), Some(sig.as_str()));
        assert!(verify(
            "s",
            "login",
            "2018-07-12T13:46:28.629Z",
            b"{}",
            &header
        ));
        let upper = authorization(&sig.to_ascii_uppercase());
        assert!(verify(
            "s",
            "login",
            "2018-07-12T13:46:28.629Z",
            b"{}",
            &upper
        ));
        for bad in [
            "",
            "V2-HMAC-SHA256",
            "Signature: x",
            "V1-HMAC, Signature: ab",
        ] {
            assert!(!verify("s", "login", "x", b"{}", bad), "{bad}");
        }
        assert!(!verify(
            "other",
            "login",
            "2018-07-12T13:46:28.629Z",
            b"{}",
            &header
        ));
    }

    #[test]
    fn dates_are_read_in_both_documented_forms() {
        let want: Timestamp = "2020-02-24T02:59:00Z".parse().unwrap();
        assert_eq!(parse_date("2020-02-24T02:59:00.000+0000"), Some(want));
        assert_eq!(parse_date("2020-02-23T21:59:00.000-0500"), Some(want));
        assert_eq!(parse_date("2020-02-24T02:59:00Z"), Some(want));
        assert_eq!(parse_date("2018-07-012T21:42:27.000+0000"), None);
        assert_eq!(parse_date("yesterday"), None);
        let at: Timestamp = "2018-07-12T13:46:28.629123Z".parse().unwrap();
        assert_eq!(x_date(at), "2018-07-12T13:46:28.629Z");
    }
}
