//! PayU Latam's signatures, exactly as documented.
//!
//! - A payment request carries `transaction.order.signature =
//!   md5("ApiKey~merchantId~referenceCode~tx_value~currency")`, where `tx_value` is the value
//!   as sent in `TX_VALUE.value` (the documented example signs `65000` for `"value": 65000`).
//! - A confirmation carries `sign`, computed over
//!   `"ApiKey~merchant_id~reference_sale~new_value~currency~state_pol"` with the fields as
//!   posted, where `new_value` is `value` with one decimal when its second decimal is 0
//!   (`150.00` → `150.0`) and two otherwise (`150.26` → `150.26`). The confirmation page
//!   documents MD5 (its PHP example), and HMAC-SHA256 with the account's secret key (its two
//!   worked examples); plain SHA-256 of the same string is offered by its signature generator.

use hmac::{KeyInit, Mac};
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// How PayU signs the confirmations of the account (set in the PayU module).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureAlgorithm {
    /// `md5(string)`, the default.
    #[default]
    Md5,
    /// `sha256(string)`.
    Sha256,
    /// `HMAC-SHA256(secret key, string)`.
    HmacSha256,
}

/// Lower-case hex MD5 of `text`.
pub fn md5_hex(text: &str) -> String {
    hex::encode(Md5::digest(text.as_bytes()))
}

/// The request signature: `md5(api_key~merchant_id~reference~value~currency)`, `value` as
/// sent in `TX_VALUE.value`.
pub fn request_signature(
    api_key: &str,
    merchant_id: &str,
    reference: &str,
    value: &str,
    currency: &str,
) -> String {
    md5_hex(&format!(
        "{api_key}~{merchant_id}~{reference}~{value}~{currency}"
    ))
}

/// `new_value` of the confirmation signature from the posted `value`: one decimal when the
/// second decimal is 0 (or absent), two otherwise. `None` when `value` is not a decimal
/// number.
pub fn new_value(value: &str) -> Option<String> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !(fraction.is_empty() || digits(fraction)) {
        return None;
    }
    let mut decimals = fraction.bytes();
    let first = decimals.next().map_or('0', char::from);
    match decimals.next() {
        Some(second) if second != b'0' => Some(format!("{whole}.{first}{}", char::from(second))),
        _ => Some(format!("{whole}.{first}")),
    }
}

/// The string a confirmation's `sign` is computed over.
pub fn confirmation_string(
    api_key: &str,
    merchant_id: &str,
    reference_sale: &str,
    new_value: &str,
    currency: &str,
    state_pol: &str,
) -> String {
    format!("{api_key}~{merchant_id}~{reference_sale}~{new_value}~{currency}~{state_pol}")
}

/// `sign` over `text` with `algorithm` (`hmac_key` for HMAC-SHA256; `None` when it is
/// missing).
pub fn sign(algorithm: SignatureAlgorithm, text: &str, hmac_key: Option<&str>) -> Option<String> {
    match algorithm {
        SignatureAlgorithm::Md5 => Some(md5_hex(text)),
        SignatureAlgorithm::Sha256 => Some(hex::encode(Sha256::digest(text.as_bytes()))),
        SignatureAlgorithm::HmacSha256 => {
            let mut mac = hmac::Hmac::<Sha256>::new_from_slice(hmac_key?.as_bytes()).ok()?;
            mac.update(text.as_bytes());
            Some(hex::encode(mac.finalize().into_bytes()))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn new_value_keeps_one_decimal_unless_the_second_is_not_zero() {
        let cases = [
            ("150.00", Some("150.0")),
            ("150.26", Some("150.26")),
            ("150.20", Some("150.2")),
            ("150.25", Some("150.25")),
            ("150", Some("150.0")),
            ("150.5", Some("150.5")),
            ("65000.00", Some("65000.0")),
            ("1.999", Some("1.99")),
            ("", None),
            ("-1.00", None),
            ("1,00", None),
            ("1.", Some("1.0")),
        ];
        for (value, expected) in cases {
            assert_eq!(new_value(value).as_deref(), expected, "{value:?}");
        }
    }
}
