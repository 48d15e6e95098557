//! API keys: their format, their keyed hash, and the extractor that authenticates a request.
//!
//! A secret key is `sk_test_` or `sk_live_` followed by 43 base62 characters (256 random
//! bits). Only `HMAC-SHA256(instance key-hash secret, whole key)` is stored, with a short
//! display prefix: a leaked database does not leak usable keys, and a lookup is one indexed
//! query. High-entropy keys need no slow password hash. Keys found are kept in memory
//! ([`crate::merchant_cache`]), trusted only under the database's current version of them.

use std::fmt;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine as _;
use cajero_domain::id::{ApiKeyId, MerchantId};
use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_store::merchants;
use hmac::{KeyInit, Mac};
use rand::RngExt;
use sha2::Sha256;

use crate::AppState;
use crate::error::ApiError;

/// Characters of randomness after the `sk_test_` / `sk_live_` prefix: 43 base62 characters
/// carry 256 bits (43 × log2 62 ≈ 256.03), as API.md requires (≥ 32 random bytes).
pub const SECRET_RANDOM_CHARS: usize = 43;
/// Random characters kept in the display prefix (`sk_test_AbCd`), enough to tell keys apart.
pub const DISPLAY_RANDOM_CHARS: usize = 4;
/// Last use is recorded at most once per minute per key, so a busy key does not turn every
/// request into a write.
pub const LAST_USED_RESOLUTION_US: i64 = 60_000_000;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The prefix of a secret key in a mode.
pub fn key_prefix(mode: Mode) -> &'static str {
    match mode {
        Mode::Test => "sk_test_",
        Mode::Live => "sk_live_",
    }
}

/// A freshly generated secret key; shown once, never stored.
pub struct NewSecret(String);

impl NewSecret {
    /// Generates a key for `mode` from the operating system's CSPRNG (via `rand`'s thread RNG,
    /// which is seeded from it and reseeds itself).
    pub fn generate(mode: Mode) -> NewSecret {
        let mut rng = rand::rng();
        let mut key = String::with_capacity(8 + SECRET_RANDOM_CHARS);
        key.push_str(key_prefix(mode));
        for _ in 0..SECRET_RANDOM_CHARS {
            key.push(char::from(BASE62[rng.random_range(0..BASE62.len())]));
        }
        NewSecret(key)
    }

    /// The key to show the merchant, once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The start of the key kept for display.
    pub fn display_prefix(&self) -> String {
        self.0.chars().take(8 + DISPLAY_RANDOM_CHARS).collect()
    }
}

impl fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NewSecret({}…)", self.display_prefix())
    }
}

/// Why a presented key is not even worth looking up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFormatError {
    /// Neither `sk_test_` nor `sk_live_`.
    UnknownPrefix,
    /// Not 43 base62 characters after the prefix.
    Malformed,
}

/// Checks a presented key's shape and returns its mode.
pub fn parse_key(key: &str) -> Result<Mode, KeyFormatError> {
    let (mode, rest) = if let Some(rest) = key.strip_prefix("sk_test_") {
        (Mode::Test, rest)
    } else if let Some(rest) = key.strip_prefix("sk_live_") {
        (Mode::Live, rest)
    } else {
        return Err(KeyFormatError::UnknownPrefix);
    };
    if rest.len() != SECRET_RANDOM_CHARS || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(KeyFormatError::Malformed);
    }
    Ok(mode)
}

/// Hashes keys under the instance's secret.
#[derive(Clone)]
pub struct KeyHasher {
    secret: Vec<u8>,
}

impl fmt::Debug for KeyHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyHasher([redacted])")
    }
}

impl KeyHasher {
    /// A hasher keyed with `secret`.
    pub fn new(secret: &[u8]) -> KeyHasher {
        KeyHasher {
            secret: secret.to_vec(),
        }
    }

    /// Lower-case hex of HMAC-SHA256(secret, key).
    pub fn hash(&self, key: &str) -> String {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = match <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret) {
            Ok(mac) => mac,
            Err(_) => unreachable_hmac(),
        };
        mac.update(key.as_bytes());
        let digest = mac.finalize().into_bytes();
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cold]
fn unreachable_hmac() -> ! {
    // HMAC's `new_from_slice` only fails for fixed-size-key MACs; HMAC is not one.
    panic!("HMAC-SHA256 refused a key, which it never does")
}

/// The caller of an authenticated request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// The merchant the key acts for.
    pub merchant_id: MerchantId,
    /// The key's mode: every query of the request is scoped to it.
    pub mode: Mode,
    /// The key used; `None` when a signed-in dashboard user acts (the audit log records who).
    pub key_id: Option<ApiKeyId>,
}

impl Caller {
    /// A dashboard user acting for their merchant in the session's mode.
    pub fn dashboard(merchant_id: MerchantId, mode: Mode) -> Caller {
        Caller {
            merchant_id,
            mode,
            key_id: None,
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(*caller);
        }
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0);
        let client = state.rate_limits.client(&parts.headers, peer);
        state.rate_limits.check_blocked(client)?;
        let caller = match authenticate(parts, state).await {
            Ok(caller) => caller,
            Err(e) if e.status == axum::http::StatusCode::UNAUTHORIZED => {
                return Err(state.rate_limits.failed(client, e));
            }
            Err(e) => return Err(e),
        };
        let Some(key_id) = caller.key_id else {
            return Err(ApiError::internal("an API caller without its key"));
        };
        if let Some(budget) = state.rate_limits.check_key(key_id)?
            && let Some(slot) = parts.extensions.get::<crate::rate_limit::BudgetSlot>()
        {
            slot.set(budget);
        }
        if let Some(last_used) = parts.extensions.get::<LastUsed>() {
            record_last_use(state, key_id, last_used);
        }
        parts.extensions.insert(caller);
        Ok(caller)
    }
}

/// The key's last use as the lookup found it, and the key's hash (kept in the request's
/// extensions).
#[derive(Debug, Clone)]
struct LastUsed {
    at: Option<jiff::Timestamp>,
    secret_hash: String,
}

/// Looks the presented key up and checks its merchant may act in its mode.
async fn authenticate(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
    let key = presented_key(parts)?;
    let mode = parse_key(&key).map_err(|e| match e {
        KeyFormatError::UnknownPrefix => ApiError::unauthenticated(
            "api_key_invalid",
            "Invalid API key: secret keys start with sk_test_ or sk_live_.",
        ),
        KeyFormatError::Malformed => {
            ApiError::unauthenticated("api_key_invalid", "Invalid API key provided.")
        }
    })?;
    let hash = state.keys.hash(&key);
    let Some(record) = state.cache.api_key(&state.store, &hash).await? else {
        return Err(ApiError::unauthenticated(
            "api_key_invalid",
            "Invalid API key provided.",
        ));
    };
    if record.revoked {
        return Err(ApiError::unauthenticated(
            "api_key_revoked",
            "This API key was revoked. Use another key or create a new one.",
        ));
    }
    if record.livemode != mode.is_live() {
        // The hash covers the prefix, so this means a corrupted row.
        return Err(ApiError::internal(format!(
            "api key {} has livemode={} but a {mode} prefix",
            record.id, record.livemode
        )));
    }
    match record.merchant_status {
        MerchantStatus::Suspended => {
            return Err(ApiError::forbidden(
                "account_suspended",
                "This merchant account is suspended. Contact the platform operator.",
            ));
        }
        status if mode.is_live() && !status.allows_live_mode() => {
            return Err(ApiError::forbidden(
                "live_mode_not_enabled",
                "Live mode is enabled once onboarding (KYC) is approved.",
            ));
        }
        _ => {}
    }
    parts.extensions.insert(LastUsed {
        at: record.last_used_at,
        secret_hash: hash,
    });
    Ok(Caller {
        merchant_id: record.merchant_id,
        mode,
        key_id: Some(record.id),
    })
}

/// Records the key's last use in the background when the stored time is older than the
/// resolution. Losing this write (a crash) loses nothing of value; it never delays the request.
fn record_last_use(state: &AppState, key_id: ApiKeyId, last_used: &LastUsed) {
    let now = state.clock.now();
    let stale = last_used
        .at
        .is_none_or(|at| now.as_microsecond() - at.as_microsecond() >= LAST_USED_RESOLUTION_US);
    if !stale {
        return;
    }
    // The cached key remembers it at once, so the next requests do not write it again.
    state.cache.note_last_use(&last_used.secret_hash, now);
    let store = state.store.clone();
    tokio::spawn(async move {
        let result = store
            .write(move |mut c| {
                Box::pin(async move {
                    merchants::touch_api_key(&mut c, key_id, now, LAST_USED_RESOLUTION_US).await
                })
            })
            .await;
        if let Err(error) = result {
            tracing::warn!(%error, %key_id, "could not record the key's last use");
        }
    });
}

/// The key from `Authorization: Bearer <key>` or `Basic base64(<key>:)`.
fn presented_key(parts: &Parts) -> Result<String, ApiError> {
    let malformed = || {
        ApiError::unauthenticated(
            "authorization_header_malformed",
            "Malformed Authorization header: use `Authorization: Bearer sk_…`, or Basic auth \
             with the key as the user name and an empty password.",
        )
    };
    let Some(value) = parts.headers.get(AUTHORIZATION) else {
        return Err(ApiError::unauthenticated(
            "api_key_missing",
            "No API key provided: send `Authorization: Bearer sk_…`.",
        ));
    };
    let value = value.to_str().map_err(|_| malformed())?.trim();
    let (scheme, credentials) = value.split_once(' ').ok_or_else(malformed)?;
    let credentials = credentials.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        if credentials.is_empty() {
            return Err(malformed());
        }
        return Ok(credentials.to_string());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(credentials)
            .map_err(|_| malformed())?;
        let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
        let (user, _password) = decoded.split_once(':').unwrap_or((decoded.as_str(), ""));
        if user.is_empty() {
            return Err(malformed());
        }
        return Ok(user.to_string());
    }
    Err(malformed())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_the_documented_shape() {
        for mode in [Mode::Test, Mode::Live] {
            let key = NewSecret::generate(mode);
            assert_eq!(parse_key(key.expose()), Ok(mode));
            assert_eq!(key.expose().len(), 8 + SECRET_RANDOM_CHARS);
            assert!(key.display_prefix().starts_with(key_prefix(mode)));
            assert!(!format!("{key:?}").contains(&key.expose()[12..]));
        }
        assert_ne!(
            NewSecret::generate(Mode::Test).expose(),
            NewSecret::generate(Mode::Test).expose()
        );
    }

    #[test]
    fn malformed_keys_are_refused_before_any_lookup() {
        let good = "a".repeat(SECRET_RANDOM_CHARS);
        assert_eq!(
            parse_key(&format!("pk_test_{good}")),
            Err(KeyFormatError::UnknownPrefix)
        );
        assert_eq!(
            parse_key(&format!("sk_test_{good}x")),
            Err(KeyFormatError::Malformed)
        );
        let bad = format!("sk_test_{}-", "a".repeat(SECRET_RANDOM_CHARS - 1));
        assert_eq!(parse_key(&bad), Err(KeyFormatError::Malformed));
        let accented = format!("sk_live_{}é", "a".repeat(SECRET_RANDOM_CHARS - 2));
        assert_eq!(parse_key(&accented), Err(KeyFormatError::Malformed));
    }

    #[test]
    fn hashes_depend_on_the_instance_secret() {
        let a = KeyHasher::new(b"one secret").hash("sk_test_x");
        let b = KeyHasher::new(b"another").hash("sk_test_x");
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(a, KeyHasher::new(b"one secret").hash("sk_test_x"));
    }
}
