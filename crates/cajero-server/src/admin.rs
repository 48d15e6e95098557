//! Operator actions on merchants and API keys, shared by the CLI and (later) the dashboard.
//!
//! Servers cache keys and merchants' statuses in memory; the store functions that change them
//! bump the cache version in the same transaction ([`cajero_store::cache_version`]), so a
//! revocation or suspension made here (from any process) applies to the very next request.

use cajero_domain::document::{Document, DocumentType, ParseDocumentError};
use cajero_domain::id::{ApiKeyId, MerchantId};
use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_store::merchants::{self, ApiKeyRecord, MerchantRecord};
use cajero_store::{Store, StoreError, stored_secrets};
use rand::RngExt;

use crate::auth::{KeyHasher, NewSecret};
use crate::clock::{Clock, new_id};
use crate::config::Config;

/// Longest merchant name, in characters.
pub const MERCHANT_NAME_CHARS_MAX: usize = 120;
/// Merchants listed at most by one call.
pub const MERCHANT_LIST_MAX: i64 = 1_000;
/// The instance setting holding the generated key-hash secret.
const KEY_HASH_SECRET_SETTING: &str = "api_key_hash_secret";
/// How the generated key-hash secret is stored: `hex:` and its bytes in hex, a form no secret
/// scanner takes for an API key (earlier versions stored an `sk_live_…`-shaped text).
const KEY_HASH_SECRET_HEX_PREFIX: &str = "hex:";
/// Random bytes in a generated key-hash secret.
const KEY_HASH_SECRET_BYTES: usize = 32;

/// Why an operator action was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The name is empty, too long or has control characters.
    #[error(
        "merchant name must be 1 to {MERCHANT_NAME_CHARS_MAX} characters without control characters"
    )]
    InvalidName,
    /// The NIT does not parse.
    #[error("invalid NIT")]
    InvalidNit(#[from] ParseDocumentError),
    /// No merchant with that id.
    #[error("no merchant {0}")]
    UnknownMerchant(MerchantId),
    /// No key with that id.
    #[error("no API key {0}")]
    UnknownKey(ApiKeyId),
    /// Live keys need an active (KYC-approved) merchant.
    #[error("merchant {merchant} is {status}: live keys need an active merchant (KYC approved)")]
    LiveModeNotAllowed {
        /// The merchant.
        merchant: MerchantId,
        /// Its status.
        status: MerchantStatus,
    },
    /// A suspended merchant gets no new keys.
    #[error("merchant {0} is suspended")]
    Suspended(MerchantId),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The hasher for API keys: the configured secret, or the one this database generated for
/// itself on first use (so that the CLI and the server agree without configuration).
pub async fn key_hasher(
    store: &Store,
    config: &Config,
    clock: &dyn Clock,
) -> Result<KeyHasher, StoreError> {
    if let Some(secret) = &config.api_key_hash_secret {
        return Ok(KeyHasher::new(secret.expose().as_bytes()));
    }
    let bytes: [u8; KEY_HASH_SECRET_BYTES] = rand::rng().random();
    let generated = format!("{KEY_HASH_SECRET_HEX_PREFIX}{}", to_hex(&bytes));
    let now = clock.now();
    let secret = store
        .write(move |mut c| {
            Box::pin(async move {
                let stored = merchants::instance_setting_or_insert(
                    &mut c,
                    KEY_HASH_SECRET_SETTING,
                    &generated,
                    now,
                )
                .await?;
                if let Some(hex) = stored.strip_prefix(KEY_HASH_SECRET_HEX_PREFIX) {
                    return from_hex(hex).ok_or_else(|| StoreError::Corrupt {
                        table: "instance_settings",
                        detail: format!("{KEY_HASH_SECRET_SETTING} is not hex"),
                    });
                }
                // An earlier version's `sk_live_…`-shaped text: keep its bytes (so every key
                // hashed with it still authenticates) in the neutral form.
                let neutral = format!("{KEY_HASH_SECRET_HEX_PREFIX}{}", to_hex(stored.as_bytes()));
                stored_secrets::replace_setting(&mut c, KEY_HASH_SECRET_SETTING, &stored, &neutral)
                    .await?;
                Ok(stored.into_bytes())
            })
        })
        .await?;
    Ok(KeyHasher::new(&secret))
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Creates a merchant in `onboarding`.
pub async fn create_merchant(
    store: &Store,
    clock: &dyn Clock,
    name: &str,
    nit: Option<&str>,
) -> Result<MerchantRecord, AdminError> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MERCHANT_NAME_CHARS_MAX || name.chars().any(char::is_control) {
        return Err(AdminError::InvalidName);
    }
    let nit = nit
        .map(|n| Document::parse(DocumentType::Nit, n).map(|d| d.number().to_string()))
        .transpose()?;
    let now = clock.now();
    let merchant = MerchantRecord {
        id: new_id(clock),
        name: name.to_string(),
        nit,
        status: MerchantStatus::Onboarding,
        created_at: now,
        updated_at: now,
    };
    let stored = merchant.clone();
    store
        .write(move |mut c| {
            Box::pin(async move { merchants::insert_merchant(&mut c, &stored).await })
        })
        .await?;
    Ok(merchant)
}

/// Moves a merchant to another status without the KYC gate or the audit log: for test
/// fixtures, the demo's own merchant and benchmarks. Operators change a merchant's status with
/// [`crate::platform::set_merchant_status`] (console and CLI), which requires an approved
/// application for `active` and a reason.
pub async fn force_merchant_status(
    store: &Store,
    clock: &dyn Clock,
    merchant: MerchantId,
    status: MerchantStatus,
) -> Result<MerchantRecord, AdminError> {
    let now = clock.now();
    store
        .write(move |mut c| {
            Box::pin(
                async move { merchants::set_merchant_status(&mut c, merchant, status, now).await },
            )
        })
        .await?
        .ok_or(AdminError::UnknownMerchant(merchant))
}

/// The merchants, oldest first.
pub async fn list_merchants(store: &Store) -> Result<Vec<MerchantRecord>, AdminError> {
    Ok(store
        .read(|mut c| {
            Box::pin(async move { merchants::list_merchants(&mut c, MERCHANT_LIST_MAX).await })
        })
        .await?)
}

/// A merchant's keys (secrets are never stored, so never shown), newest first: both modes, or
/// one.
pub async fn list_api_keys(
    store: &Store,
    merchant: MerchantId,
    mode: Option<Mode>,
) -> Result<Vec<ApiKeyRecord>, AdminError> {
    store
        .read(move |mut c| {
            Box::pin(async move {
                merchants::get_merchant(&mut c, merchant)
                    .await?
                    .ok_or(AdminError::UnknownMerchant(merchant))?;
                let mut keys = Vec::new();
                for m in [Mode::Live, Mode::Test] {
                    if mode.is_none_or(|wanted| wanted == m) {
                        keys.extend(merchants::list_api_keys(&mut c, merchant, m.is_live()).await?);
                    }
                }
                keys.sort_by_key(|k| std::cmp::Reverse(k.id.to_u128()));
                Ok(keys)
            })
        })
        .await
}

/// Whether `merchant` may hold a key of `mode`: not when suspended; live only when approved.
async fn may_hold_keys(
    c: &mut cajero_store::Conn<'_>,
    merchant: MerchantId,
    mode: Mode,
) -> Result<(), AdminError> {
    let owner = merchants::get_merchant(c, merchant)
        .await?
        .ok_or(AdminError::UnknownMerchant(merchant))?;
    match owner.status {
        MerchantStatus::Suspended => Err(AdminError::Suspended(merchant)),
        status if mode.is_live() && !status.allows_live_mode() => {
            Err(AdminError::LiveModeNotAllowed { merchant, status })
        }
        _ => Ok(()),
    }
}

/// Creates a key; the secret is in the returned [`NewSecret`] and nowhere else.
pub async fn create_api_key(
    store: &Store,
    clock: &dyn Clock,
    hasher: &KeyHasher,
    merchant: MerchantId,
    mode: Mode,
) -> Result<(ApiKeyRecord, NewSecret), AdminError> {
    let secret = NewSecret::generate(mode);
    let hash = hasher.hash(secret.expose());
    let key = ApiKeyRecord {
        id: new_id(clock),
        merchant_id: merchant,
        livemode: mode.is_live(),
        display_prefix: secret.display_prefix(),
        created_at: clock.now(),
        revoked_at: None,
        last_used_at: None,
    };
    let stored = key.clone();
    store
        .write(move |mut c| {
            Box::pin(async move {
                may_hold_keys(&mut c, merchant, mode).await?;
                merchants::insert_api_key(&mut c, &stored, &hash).await?;
                Ok::<_, AdminError>(())
            })
        })
        .await?;
    Ok((key, secret))
}

/// Revokes one of `merchant`'s keys (the dashboard): another merchant's key is unknown.
pub async fn revoke_merchant_api_key(
    store: &Store,
    clock: &dyn Clock,
    merchant: MerchantId,
    key: ApiKeyId,
) -> Result<ApiKeyRecord, AdminError> {
    let now = clock.now();
    store
        .write(move |mut c| {
            Box::pin(async move {
                match merchants::get_api_key(&mut c, key).await? {
                    Some(k) if k.merchant_id == merchant => {}
                    _ => return Err(AdminError::UnknownKey(key)),
                }
                merchants::revoke_api_key(&mut c, key, now)
                    .await?
                    .ok_or(AdminError::UnknownKey(key))
            })
        })
        .await
}

/// Rolls one of `merchant`'s keys: a new key of the same mode, and the old one revoked, in
/// one unit of work (a crash leaves either both as they were or the new one alone). The
/// secret is in the returned [`NewSecret`] and nowhere else.
pub async fn roll_api_key(
    store: &Store,
    clock: &dyn Clock,
    hasher: &KeyHasher,
    merchant: MerchantId,
    old: ApiKeyId,
) -> Result<(ApiKeyRecord, NewSecret), AdminError> {
    let now = clock.now();
    let id = new_id(clock);
    let result = store
        .write(move |mut c| {
            Box::pin(async move {
                let previous = match merchants::get_api_key(&mut c, old).await? {
                    Some(k) if k.merchant_id == merchant && k.revoked_at.is_none() => k,
                    _ => return Err(AdminError::UnknownKey(old)),
                };
                Ok(previous)
            })
        })
        .await?;
    let mode = if result.livemode {
        Mode::Live
    } else {
        Mode::Test
    };
    let secret = NewSecret::generate(mode);
    let hash = hasher.hash(secret.expose());
    let key = ApiKeyRecord {
        id,
        merchant_id: merchant,
        livemode: result.livemode,
        display_prefix: secret.display_prefix(),
        created_at: now,
        revoked_at: None,
        last_used_at: None,
    };
    let stored = key.clone();
    store
        .write(move |mut c| {
            Box::pin(async move {
                may_hold_keys(&mut c, merchant, mode).await?;
                // Revoked in the same unit: a key rolled twice at once rolls once.
                let revoked = merchants::revoke_api_key(&mut c, old, now).await?;
                if revoked.is_none_or(|k| k.revoked_at != Some(now)) {
                    return Err(AdminError::UnknownKey(old));
                }
                merchants::insert_api_key(&mut c, &stored, &hash).await?;
                Ok(())
            })
        })
        .await?;
    Ok((key, secret))
}

/// Revokes a key; revoking twice is harmless.
pub async fn revoke_api_key(
    store: &Store,
    clock: &dyn Clock,
    key: ApiKeyId,
) -> Result<ApiKeyRecord, AdminError> {
    let now = clock.now();
    store
        .write(move |mut c| {
            Box::pin(async move { merchants::revoke_api_key(&mut c, key, now).await })
        })
        .await?
        .ok_or(AdminError::UnknownKey(key))
}
