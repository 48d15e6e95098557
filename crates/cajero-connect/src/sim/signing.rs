//! The simulator's signature scheme, written from its README (the connector never links the
//! simulator): `v1=` + lower-case hex of HMAC-SHA256(secret, parts joined by `.`).
//!
//! - requests: `"{timestamp}.{METHOD}.{path?query}.{body}"`;
//! - callbacks: `"{timestamp}.{body}"`.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Header naming the merchant of a request.
pub(crate) const HEADER_MERCHANT: &str = "sim-merchant";
/// Header with the Unix seconds (host clock) the signature was made at.
pub(crate) const HEADER_TIMESTAMP: &str = "sim-timestamp";
/// Header with `v1=<hex>`.
pub(crate) const HEADER_SIGNATURE: &str = "sim-signature";
/// Header with a callback's stable id.
pub(crate) const HEADER_CALLBACK_ID: &str = "sim-callback-id";
/// Version tag of the scheme.
const SCHEME: &str = "v1";

/// `v1=<hex HMAC-SHA256(secret, parts joined by ".")>`.
pub(crate) fn sign(secret: &str, parts: &[&[u8]]) -> String {
    // HMAC takes keys of any length, so this never fails; an empty signature would simply
    // never match.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            mac.update(b".");
        }
        mac.update(part);
    }
    format!("{SCHEME}={}", hex::encode(mac.finalize().into_bytes()))
}

/// `Sim-Signature` of a request.
pub(crate) fn sign_request(
    secret: &str,
    timestamp: i64,
    method: &str,
    path_and_query: &str,
    body: &[u8],
) -> String {
    let ts = timestamp.to_string();
    sign(
        secret,
        &[
            ts.as_bytes(),
            method.as_bytes(),
            path_and_query.as_bytes(),
            body,
        ],
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn request_signatures_match_the_simulators_reference_code() {
        let ours = sign_request("s", 1_764_082_800, "POST", "/v1/payouts?x=1", b"{}");
        let theirs =
            cajero_sim::signing::sign_request("s", 1_764_082_800, "POST", "/v1/payouts?x=1", b"{}");
        assert_eq!(ours, theirs);
        assert_eq!(
            sign("k", &[b"1", b"{}"]),
            cajero_sim::signing::sign_callback("k", 1, b"{}")
        );
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231_test_case_2() {
        let sig = sign("Jefe", &[b"what do ya want for nothing?"]);
        assert_eq!(
            sig,
            "v1=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
