//! Standard Webhooks signing (<https://www.standardwebhooks.com>), exactly:
//! `webhook-signature: v1,<base64 HMAC-SHA256(secret bytes, "{id}.{timestamp}.{body}")>`,
//! space-separated when several secrets sign (during a rotation).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cajero_store::webhooks::SigningSecret;
use hmac::{KeyInit, Mac};
use rand::RngExt;
use sha2::Sha256;

/// The prefix of a signing secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a new secret (API.md: 32).
pub const SECRET_BYTES: usize = 32;

/// A new secret: `whsec_` + base64 of 32 bytes from the thread RNG (seeded from the OS).
pub fn generate_secret() -> SigningSecret {
    let bytes: [u8; SECRET_BYTES] = rand::rng().random();
    SigningSecret(format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes)))
}

/// The key bytes of a secret: the base64 after `whsec_`. A secret that does not decode (only
/// a corrupted row could hold one) signs with its raw text, which no receiver will accept.
fn key_bytes(secret: &SigningSecret) -> Vec<u8> {
    let encoded = secret.0.strip_prefix(SECRET_PREFIX).unwrap_or(&secret.0);
    STANDARD
        .decode(encoded)
        .unwrap_or_else(|_| encoded.as_bytes().to_vec())
}

/// The `webhook-signature` header value for one message signed by every secret given.
pub fn signature_header(
    secrets: &[SigningSecret],
    msg_id: &str,
    timestamp_s: i64,
    body: &[u8],
) -> String {
    let mut header = String::new();
    for secret in secrets {
        // HMAC takes keys of any length: `new_from_slice` cannot fail here.
        let Ok(mut mac) = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&key_bytes(secret))
        else {
            continue;
        };
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp_s.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        if !header.is_empty() {
            header.push(' ');
        }
        header.push_str("v1,");
        header.push_str(&STANDARD.encode(mac.finalize().into_bytes()));
    }
    header
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_specification_test_vector_signs_as_published() {
        // The example of the Standard Webhooks specification and its reference libraries.
        let secret = SigningSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into());
        let header = signature_header(
            &[secret],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(header, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn new_secrets_are_32_random_bytes_in_base64() {
        let a = generate_secret();
        let b = generate_secret();
        assert_ne!(a, b);
        assert_eq!(key_bytes(&a).len(), SECRET_BYTES);
        assert!(a.0.starts_with(SECRET_PREFIX));
    }

    #[test]
    fn several_secrets_sign_space_separated() {
        let header = signature_header(&[generate_secret(), generate_secret()], "evt_x", 1, b"{}");
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.starts_with("v1,")));
        assert_ne!(parts[0], parts[1]);
    }
}
