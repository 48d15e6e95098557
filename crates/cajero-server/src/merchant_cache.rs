//! Hot reads from memory: API keys with their merchant's status, and merchants' fee plans,
//! kept in this process instead of read from the database on every request.
//!
//! A revoked key, a suspended merchant or a changed setting must take effect on the very next
//! request, on every instance, whoever made the change (an instance, or the CLI in a process
//! of its own). So an entry is trusted only under the version it was read under:
//!
//! * every store function that changes keys, merchants or settings bumps one row
//!   ([`cajero_store::cache_version`]) in the same transaction as the change;
//! * a request reads that version ([`VersionGate`]) with a read that **starts after the request
//!   arrived**, so it sees every change committed before; an entry cached under another version
//!   is read again. The version is read before the entry, so an entry is never newer than what
//!   it is tagged with.
//!
//! One point read of one row replaces the key lookup (a join) and the fee-plan reads (one or
//! two, inside the payout's write unit), and requests that arrive while a read is in flight
//! share the next one, so under load it costs a fraction of a read per request. Notifications
//! (PostgreSQL `LISTEN`) were not chosen: one arrives some milliseconds after the commit, so
//! the very next request could still pass, and closing that gap needs acknowledgements from
//! every instance and timing assumptions about silent connections; the version read needs
//! neither, and works the same on SQLite, where the CLI changes keys from another process.
//!
//! Entries hold the key's keyed hash, never the secret. The cache is bounded
//! ([`CACHE_ENTRIES_MAX`]) and entries expire after [`CACHE_ENTRY_TTL_MS`] as a safety net.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use cajero_domain::id::{ApiKeyId, MerchantId};
use cajero_domain::ledger::fees::FeePlan;
use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_store::{Store, StoreError, cache_version, merchant_settings, merchants};
use jiff::Timestamp;
use subtle::ConstantTimeEq as _;

/// Entries of each kind (keys; fee plans per merchant and mode) kept at most.
pub const CACHE_ENTRIES_MAX: usize = 10_000;
/// An entry is read again after this long even when no change was recorded: a safety net
/// against a change made behind cajero's back (by hand, in SQL).
pub const CACHE_ENTRY_TTL_MS: u64 = 60_000;
/// Hex digits of a key's hash that index the cache (64 bits: distinct for distinct keys in
/// practice); the whole hash is then compared in constant time.
const KEY_INDEX_HEX_CHARS: usize = 16;
/// When the cache is full of fresh entries, this fraction of it (1/8) is dropped at once, so
/// that the next inserts do not each scan it.
const EVICT_FRACTION_DIVISOR: usize = 8;

/// An API key as authentication needs it, with its merchant's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedKey {
    /// The key.
    pub id: ApiKeyId,
    /// The merchant it acts for.
    pub merchant_id: MerchantId,
    /// Whether it is a live key.
    pub livemode: bool,
    /// Whether it was revoked.
    pub revoked: bool,
    /// Its merchant's status.
    pub merchant_status: MerchantStatus,
    /// When it last authenticated a request, as last read or recorded.
    pub last_used_at: Option<Timestamp>,
}

struct KeyEntry {
    /// The keyed hash of the secret (hex), compared in constant time.
    secret_hash: String,
    key: CachedKey,
    loaded_at: Instant,
}

struct PlanEntry {
    plan: Arc<FeePlan>,
    loaded_at: Instant,
}

/// What is cached, all of it read under `version`.
struct Entries {
    version: i64,
    keys: HashMap<u64, KeyEntry>,
    plans: HashMap<(MerchantId, bool), PlanEntry>,
}

impl Entries {
    /// Whether entries of `version` may be used and stored: a newer version empties the cache,
    /// an older one (a request that read it before another's newer read) uses nothing.
    fn at(&mut self, version: i64) -> bool {
        if version > self.version {
            self.keys.clear();
            self.plans.clear();
            self.version = version;
        }
        version == self.version
    }
}

/// In-memory keys and settings, valid under the version read by each request.
pub struct MerchantCache {
    gate: VersionGate,
    entries: Mutex<Entries>,
    ttl: Duration,
}

impl std::fmt::Debug for MerchantCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let entries = self.entries();
        f.debug_struct("MerchantCache")
            .field("version", &entries.version)
            .field("keys", &entries.keys.len())
            .field("plans", &entries.plans.len())
            .finish()
    }
}

impl Default for MerchantCache {
    fn default() -> Self {
        MerchantCache::new()
    }
}

impl MerchantCache {
    /// An empty cache.
    pub fn new() -> MerchantCache {
        MerchantCache {
            gate: VersionGate::default(),
            entries: Mutex::new(Entries {
                version: i64::MIN,
                keys: HashMap::new(),
                plans: HashMap::new(),
            }),
            ttl: Duration::from_millis(CACHE_ENTRY_TTL_MS),
        }
    }

    fn entries(&self) -> MutexGuard<'_, Entries> {
        // Nothing panics while holding the lock; if something did, the maps are still whole.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The key whose secret hashes to `secret_hash` (revoked or not) with its merchant's
    /// status, as of this request; `None` when no key has that hash.
    pub async fn api_key(
        &self,
        store: &Store,
        secret_hash: &str,
    ) -> Result<Option<CachedKey>, StoreError> {
        let version = self.gate.version(store).await?;
        let index = key_index(secret_hash);
        if let Some(index) = index
            && let Some(key) = self.cached_key(version, index, secret_hash)
        {
            return Ok(Some(key));
        }
        let hash = secret_hash.to_owned();
        let found = store
            .read(move |mut c| {
                Box::pin(async move { merchants::find_api_key_by_hash(&mut c, &hash).await })
            })
            .await?;
        // Unknown keys are not remembered: they are mistakes or guesses, and the failed
        // authentication limit deals with those.
        let Some((record, merchant_status)) = found else {
            return Ok(None);
        };
        let key = CachedKey {
            id: record.id,
            merchant_id: record.merchant_id,
            livemode: record.livemode,
            revoked: record.revoked_at.is_some(),
            merchant_status,
            last_used_at: record.last_used_at,
        };
        if let Some(index) = index {
            let mut entries = self.entries();
            if entries.at(version) {
                let entry = KeyEntry {
                    secret_hash: secret_hash.to_owned(),
                    key: key.clone(),
                    loaded_at: Instant::now(),
                };
                insert_bounded(&mut entries.keys, index, entry, self.ttl, |e| e.loaded_at);
            }
        }
        Ok(Some(key))
    }

    fn cached_key(&self, version: i64, index: u64, secret_hash: &str) -> Option<CachedKey> {
        let mut entries = self.entries();
        if !entries.at(version) {
            return None;
        }
        let entry = entries.keys.get(&index)?;
        let same = entry.secret_hash.as_bytes().ct_eq(secret_hash.as_bytes());
        if !bool::from(same) || entry.loaded_at.elapsed() >= self.ttl {
            return None;
        }
        Some(entry.key.clone())
    }

    /// Records in the cached entry that the key was used at `at` (the store is written
    /// separately), so that the next requests do not record it again.
    pub fn note_last_use(&self, secret_hash: &str, at: Timestamp) {
        let Some(index) = key_index(secret_hash) else {
            return;
        };
        if let Some(entry) = self.entries().keys.get_mut(&index)
            && bool::from(entry.secret_hash.as_bytes().ct_eq(secret_hash.as_bytes()))
        {
            entry.key.last_used_at = Some(at);
        }
    }

    /// The fee plan that applies to `merchant` in `mode`, as of this request.
    pub async fn fee_plan(
        &self,
        store: &Store,
        merchant: MerchantId,
        mode: Mode,
    ) -> Result<Arc<FeePlan>, StoreError> {
        let version = self.gate.version(store).await?;
        let slot = (merchant, mode.is_live());
        {
            let mut entries = self.entries();
            if entries.at(version)
                && let Some(entry) = entries.plans.get(&slot)
                && entry.loaded_at.elapsed() < self.ttl
            {
                return Ok(entry.plan.clone());
            }
        }
        let plan = store
            .read(move |mut c| {
                Box::pin(async move { merchant_settings::fee_plan(&mut c, merchant, mode).await })
            })
            .await?;
        let plan = Arc::new(plan);
        let mut entries = self.entries();
        if entries.at(version) {
            let entry = PlanEntry {
                plan: plan.clone(),
                loaded_at: Instant::now(),
            };
            insert_bounded(&mut entries.plans, slot, entry, self.ttl, |e| e.loaded_at);
        }
        Ok(plan)
    }

    /// Reads of the version this cache made so far (requests that arrived together shared
    /// one): what hot reads cost the database.
    pub fn version_reads(&self) -> u64 {
        self.gate.started.load(Ordering::Relaxed)
    }
}

/// The cache index of a key hash: its first 64 bits. `None` for a hash not in hex (never from
/// [`crate::auth::KeyHasher`]); such a key is simply not cached.
fn key_index(secret_hash: &str) -> Option<u64> {
    u64::from_str_radix(secret_hash.get(..KEY_INDEX_HEX_CHARS)?, 16).ok()
}

/// Inserts into a map of at most [`CACHE_ENTRIES_MAX`] entries: when full, expired entries go
/// first, then an arbitrary eighth of the rest.
fn insert_bounded<K: Hash + Eq + Clone, V>(
    map: &mut HashMap<K, V>,
    key: K,
    value: V,
    ttl: Duration,
    loaded_at: impl Fn(&V) -> Instant,
) {
    if map.len() >= CACHE_ENTRIES_MAX && !map.contains_key(&key) {
        map.retain(|_, v| loaded_at(v).elapsed() < ttl);
        if map.len() >= CACHE_ENTRIES_MAX {
            let doomed: Vec<K> = map
                .keys()
                .take(CACHE_ENTRIES_MAX / EVICT_FRACTION_DIVISOR)
                .cloned()
                .collect();
            for k in doomed {
                map.remove(&k);
            }
        }
    }
    map.insert(key, value);
}

/// Reads the cache version so that each caller sees a read that started after it arrived,
/// while callers that arrive together share one read: one read is in flight at a time, and
/// whoever arrived during it uses the next.
#[derive(Debug, Default)]
struct VersionGate {
    /// Reads started so far.
    started: AtomicU64,
    /// The last read: its number (in start order) and what it found. Locked for the whole
    /// read, so reads never overlap.
    last: tokio::sync::Mutex<Option<(u64, ReadOutcome)>>,
}

/// What a read of the version found; a failure is shared too, so that callers waiting behind
/// a read that timed out fail together instead of each waiting out a timeout in turn.
#[derive(Debug, Clone)]
enum ReadOutcome {
    Version(i64),
    Failed { unavailable: bool, message: String },
}

impl ReadOutcome {
    fn into_result(self) -> Result<i64, StoreError> {
        match self {
            ReadOutcome::Version(version) => Ok(version),
            // The same class of error as the read's own: unavailable (503, retry) or not.
            ReadOutcome::Failed {
                unavailable: true, ..
            } => Err(StoreError::Database(
                cajero_store::sqlx::Error::PoolTimedOut,
            )),
            ReadOutcome::Failed { message, .. } => Err(StoreError::Database(
                cajero_store::sqlx::Error::Protocol(message),
            )),
        }
    }
}

impl VersionGate {
    async fn version(&self, store: &Store) -> Result<i64, StoreError> {
        // Any read numbered above `arrived` starts after this line, so it sees every change
        // committed before this request arrived.
        let arrived = self.started.load(Ordering::SeqCst);
        let mut last = self.last.lock().await;
        if let Some((read, outcome)) = &*last
            && *read > arrived
        {
            return outcome.clone().into_result();
        }
        let read = self.started.fetch_add(1, Ordering::SeqCst) + 1;
        let result = store
            .read(|mut c| Box::pin(async move { cache_version::current(&mut c).await }))
            .await;
        let outcome = match &result {
            Ok(version) => ReadOutcome::Version(*version),
            Err(error) => ReadOutcome::Failed {
                unavailable: error.is_unavailable(),
                message: format!("reading the cache version: {error}"),
            },
        };
        *last = Some((read, outcome));
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_version_empties_the_cache_and_an_older_one_uses_nothing() {
        let mut entries = Entries {
            version: 3,
            keys: HashMap::new(),
            plans: HashMap::new(),
        };
        entries.plans.insert(
            (MerchantId::from_u128(7), false),
            PlanEntry {
                plan: Arc::new(FeePlan::free()),
                loaded_at: Instant::now(),
            },
        );
        assert!(!entries.at(2));
        assert_eq!(entries.plans.len(), 1);
        assert!(entries.at(3));
        assert_eq!(entries.plans.len(), 1);
        assert!(entries.at(4));
        assert!(entries.plans.is_empty());
        assert!(!entries.at(3));
    }

    #[test]
    fn a_full_cache_stays_within_its_limit() {
        let mut map = HashMap::new();
        let ttl = Duration::from_secs(60);
        for i in 0..(CACHE_ENTRIES_MAX as u64 * 2) {
            insert_bounded(&mut map, i, Instant::now(), ttl, |v| *v);
            assert!(map.len() <= CACHE_ENTRIES_MAX);
        }
        assert!(map.contains_key(&(CACHE_ENTRIES_MAX as u64 * 2 - 1)));
    }

    #[test]
    fn keys_are_indexed_by_the_start_of_their_hash() {
        let hash = "00000000000000ff".to_string() + &"a".repeat(48);
        assert_eq!(key_index(&hash), Some(255));
        assert_eq!(key_index("short"), None);
        assert_eq!(key_index(&"z".repeat(64)), None);
    }
}
