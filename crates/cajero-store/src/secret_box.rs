//! Secrets at rest: values that let someone act as this instance (webhook signing secrets
//! today; network credentials when a connector keeps any in the database) are sealed under an
//! instance key that lives outside the database, so a copy of the database alone cannot sign
//! as us.
//!
//! A sealed value reads `enc:v1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`, with
//! XChaCha20-Poly1305 (random 192-bit nonces, so no nonce bookkeeping) and the value's
//! *context* (what it is, e.g. `webhook_signing_secret`) as associated data, so a sealed value
//! copied into another kind of column does not open. The key id is derived from the key
//! itself (a hash prefix), so operators never name keys: rotating means configuring a new
//! `secrets_key` and moving the old one to `secrets_retired_keys`, which still open what they
//! sealed until `cajero secrets rotate` has re-sealed everything under the new key.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use rand::RngExt;
use sha2::{Digest, Sha256};

/// Every sealed value starts with this (version 1 of the format).
pub const SEALED_PREFIX: &str = "enc:v1:";
/// Bytes in an instance key.
pub const KEY_BYTES: usize = 32;
/// Bytes of random nonce in front of each ciphertext (XChaCha20).
const NONCE_BYTES: usize = 24;
/// Hex characters of a key id: 32 bits tell a handful of keys apart and reveal nothing useful.
const KEY_ID_HEX_CHARS: usize = 8;
/// Domain separation for the key id hash.
const KEY_ID_LABEL: &[u8] = b"cajero secrets key id\0";

/// Why a key given in the configuration is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseKeyError {
    /// Neither 64 hex characters nor base64 of 32 bytes.
    #[error(
        "an instance key is {KEY_BYTES} random bytes written as 64 hex characters or in base64 \
         (generate one with `cajero secrets generate-key`)"
    )]
    Malformed,
}

/// Why a sealed value did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Not in the `enc:v1:` format (a plaintext value, or damaged).
    #[error("the value is not sealed (no enc:v1: prefix, or damaged)")]
    NotSealed,
    /// Sealed under a key that is neither the current one nor a retired one.
    #[error("sealed under key {0}, which is not configured")]
    UnknownKey(String),
    /// The key is known but the value does not authenticate (damaged, or another context).
    #[error("sealed under key {0} but does not authenticate (damaged or moved)")]
    Damaged(String),
}

/// One instance key: its id and bytes. `Debug` shows the id only.
#[derive(Clone)]
pub struct InstanceKey {
    id: String,
    bytes: [u8; KEY_BYTES],
}

impl fmt::Debug for InstanceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InstanceKey({}, [redacted])", self.id)
    }
}

impl InstanceKey {
    /// A key from its bytes.
    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> InstanceKey {
        let digest = Sha256::new()
            .chain_update(KEY_ID_LABEL)
            .chain_update(bytes)
            .finalize();
        let id: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        InstanceKey {
            id: id[..KEY_ID_HEX_CHARS].to_string(),
            bytes,
        }
    }

    /// A key as written in the configuration: 64 hex characters, or base64 (standard or
    /// URL-safe, padded or not) of 32 bytes; surrounding white space is ignored.
    pub fn parse(text: &str) -> Result<InstanceKey, ParseKeyError> {
        let text = text.trim();
        let bytes = if text.len() == KEY_BYTES * 2 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            decode_hex(text)
        } else {
            STANDARD
                .decode(text)
                .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
                .ok()
        };
        let bytes = bytes.ok_or(ParseKeyError::Malformed)?;
        let bytes: [u8; KEY_BYTES] = bytes.try_into().map_err(|_| ParseKeyError::Malformed)?;
        Ok(InstanceKey::from_bytes(bytes))
    }

    /// A new random key (from the thread RNG, seeded by the operating system).
    pub fn generate() -> InstanceKey {
        InstanceKey::from_bytes(rand::rng().random())
    }

    /// The key as 64 hex characters, for writing it to a key file once.
    pub fn to_hex(&self) -> String {
        self.bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Its id, as it appears in sealed values.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.bytes.into())
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The instance's keys: one current key that seals, and retired keys that still open what
/// they sealed. `Debug` shows key ids only.
#[derive(Debug, Clone)]
pub struct SecretBox {
    current: InstanceKey,
    retired: Vec<InstanceKey>,
}

impl SecretBox {
    /// A box sealing under `current` and opening with it or any of `retired`.
    pub fn new(current: InstanceKey, retired: Vec<InstanceKey>) -> SecretBox {
        let retired = retired.into_iter().filter(|k| k.id != current.id).collect();
        SecretBox { current, retired }
    }

    /// The id of the key that seals.
    pub fn current_key_id(&self) -> &str {
        &self.current.id
    }

    /// The ids of the keys that only open.
    pub fn retired_key_ids(&self) -> Vec<&str> {
        self.retired.iter().map(|k| k.id.as_str()).collect()
    }

    /// Seals `plaintext` as a `context` value under the current key.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> String {
        let nonce_bytes: [u8; NONCE_BYTES] = rand::rng().random();
        let nonce = XNonce::from(nonce_bytes);
        let payload = Payload {
            msg: plaintext,
            aad: context.as_bytes(),
        };
        // Encryption fails only for messages past 256 GiB; secrets are a few dozen bytes.
        let ciphertext = self
            .current
            .cipher()
            .encrypt(&nonce, payload)
            .unwrap_or_default();
        let mut sealed = Vec::with_capacity(NONCE_BYTES + ciphertext.len());
        sealed.extend_from_slice(&nonce_bytes);
        sealed.extend_from_slice(&ciphertext);
        format!(
            "{SEALED_PREFIX}{}:{}",
            self.current.id,
            URL_SAFE_NO_PAD.encode(sealed)
        )
    }

    /// Seals text.
    pub fn seal_str(&self, context: &str, plaintext: &str) -> String {
        self.seal(context, plaintext.as_bytes())
    }

    /// Opens a value sealed as `context` by the current key or a retired one.
    pub fn open(&self, context: &str, sealed: &str) -> Result<Vec<u8>, OpenError> {
        let (key_id, body) = split_sealed(sealed).ok_or(OpenError::NotSealed)?;
        let key = std::iter::once(&self.current)
            .chain(&self.retired)
            .find(|k| k.id == key_id)
            .ok_or_else(|| OpenError::UnknownKey(key_id.to_string()))?;
        let damaged = || OpenError::Damaged(key_id.to_string());
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| damaged())?;
        if bytes.len() < NONCE_BYTES {
            return Err(damaged());
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| damaged())?;
        key.cipher()
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| damaged())
    }

    /// Opens sealed text.
    pub fn open_string(&self, context: &str, sealed: &str) -> Result<String, OpenError> {
        let bytes = self.open(context, sealed)?;
        String::from_utf8(bytes).map_err(|_| OpenError::Damaged(self.current.id.clone()))
    }

    /// Whether `sealed` is sealed under the current key (nothing to re-seal on rotation).
    pub fn is_current(&self, sealed: &str) -> bool {
        sealed_key_id(sealed) == Some(self.current.id.as_str())
    }
}

/// The key id of a sealed value; `None` for anything else (a plaintext value).
pub fn sealed_key_id(value: &str) -> Option<&str> {
    split_sealed(value).map(|(id, _)| id)
}

/// Whether the value is in the sealed format (it may still fail to open).
pub fn is_sealed(value: &str) -> bool {
    value.starts_with(SEALED_PREFIX)
}

fn split_sealed(value: &str) -> Option<(&str, &str)> {
    value.strip_prefix(SEALED_PREFIX)?.split_once(':')
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_to_what_was_sealed_and_shows_none_of_it() {
        let keys = SecretBox::new(InstanceKey::generate(), vec![]);
        let sealed = keys.seal_str("ctx", "whsec_plain");
        assert!(sealed.starts_with(&format!("enc:v1:{}:", keys.current_key_id())));
        assert!(!sealed.contains("whsec_plain"));
        assert_eq!(keys.open_string("ctx", &sealed).unwrap(), "whsec_plain");
        assert_ne!(sealed, keys.seal_str("ctx", "whsec_plain"), "nonces differ");
    }

    #[test]
    fn a_value_sealed_for_one_context_does_not_open_in_another() {
        let keys = SecretBox::new(InstanceKey::generate(), vec![]);
        let sealed = keys.seal_str("webhook_signing_secret", "x");
        assert!(matches!(
            keys.open("network_credential", &sealed),
            Err(OpenError::Damaged(_))
        ));
    }

    #[test]
    fn retired_keys_open_and_unknown_keys_are_named() {
        let old = InstanceKey::generate();
        let sealed_by_old = SecretBox::new(old.clone(), vec![]).seal_str("c", "s");
        let rotated = SecretBox::new(InstanceKey::generate(), vec![old.clone()]);
        assert_eq!(rotated.open_string("c", &sealed_by_old).unwrap(), "s");
        assert!(!rotated.is_current(&sealed_by_old));
        let stranger = SecretBox::new(InstanceKey::generate(), vec![]);
        assert_eq!(
            stranger.open("c", &sealed_by_old),
            Err(OpenError::UnknownKey(old.id().to_string()))
        );
        assert_eq!(stranger.open("c", "whsec_x"), Err(OpenError::NotSealed));
    }

    #[test]
    fn keys_parse_from_hex_and_base64_with_the_same_id() {
        let key = InstanceKey::generate();
        let hex = key.to_hex();
        let b64 = STANDARD.encode(key.bytes);
        assert_eq!(InstanceKey::parse(&hex).unwrap().id(), key.id());
        assert_eq!(
            InstanceKey::parse(&format!(" {b64}\n")).unwrap().id(),
            key.id()
        );
        for bad in ["", "short", &hex[..62], &format!("{hex}00")] {
            assert_eq!(
                InstanceKey::parse(bad).unwrap_err(),
                ParseKeyError::Malformed
            );
        }
        assert!(!format!("{key:?}").contains(&hex));
    }
}
