//! The instance key and the secrets it seals: which keys this instance has, whether they are
//! the ones the database's secrets were sealed under, sealing rows left in clear by older
//! versions, and re-sealing everything under a new key (`cajero secrets rotate`).
//!
//! Where the key comes from, in order: `secrets_key` (`CAJERO_SECRETS_KEY`), or
//! `secrets_key_file` (first line the key, further lines retired keys), plus
//! `secrets_retired_keys`. With none of them:
//! - a SQLite file database gets a key generated once into `<database>.secrets-key` beside it
//!   (mode 0600), with a warning: a copy of the database file alone still opens nothing, and
//!   `cajero demo` and tests need no setup;
//! - an in-memory SQLite database gets a key for the life of the process (so does its data);
//! - PostgreSQL refuses to start: its instances share one database from several machines, so
//!   a key generated on one would strand the others, and its backups travel without files.
//!
//! A known value sealed under the key (the canary, an instance setting) tells at start
//! whether the configured keys are the right ones: a wrong or missing key stops the server
//! with a message naming `secrets_key`, never a panic or a lost secret.

use std::path::{Path, PathBuf};

use cajero_store::secret_box::{self, InstanceKey, OpenError, SecretBox};
use cajero_store::stored_secrets::{self, SECRETS_CANARY_SETTING, StoredSecret, setting_context};
use cajero_store::{Engine, Store, StoreError, merchants};

use crate::clock::Clock;
use crate::config::Config;

/// What the canary seals.
const CANARY_PLAINTEXT: &str = "cajero secrets canary v1";
/// The file name suffix of a generated key beside a SQLite database.
pub const GENERATED_KEY_FILE_SUFFIX: &str = ".secrets-key";

/// Why the instance key cannot be used; every message names the configuration key to fix.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// A key in the configuration does not parse.
    #[error("configuration key `{key}`: {source}")]
    BadKey {
        /// `secrets_key`, `secrets_key_file` or `secrets_retired_keys`.
        key: &'static str,
        /// Why.
        source: secret_box::ParseKeyError,
    },
    /// The key file cannot be read or written.
    #[error("configuration key `secrets_key_file`: {path}: {message}")]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// PostgreSQL without a key.
    #[error(
        "configuration key `secrets_key`: PostgreSQL needs an instance key to seal webhook \
         secrets: set `secrets_key` (CAJERO_SECRETS_KEY) or `secrets_key_file` \
         (`cajero secrets generate-key` prints a new key)"
    )]
    Required,
    /// No key is configured or generated, yet the database holds sealed secrets.
    #[error(
        "configuration key `secrets_key`: this database's secrets are sealed under key {key_id}, \
         but no key is configured and the generated key file {path} is missing; set \
         `secrets_key` or `secrets_key_file` to that key (nothing was changed)"
    )]
    KeyMissing {
        /// The key the secrets need.
        key_id: String,
        /// Where a generated key was looked for.
        path: PathBuf,
    },
    /// The configured keys are not the ones the database's secrets were sealed under.
    #[error(
        "configuration key `secrets_key`: this database's secrets are sealed under key {key_id}, \
         which is neither `secrets_key` (key {current}) nor one of `secrets_retired_keys` \
         (nothing was changed)"
    )]
    WrongKey {
        /// The key the secrets need.
        key_id: String,
        /// The configured key.
        current: String,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The instance's keys, checked against the database, with any secret still in clear sealed.
pub async fn open_secret_box(
    store: &Store,
    config: &Config,
    clock: &dyn Clock,
) -> Result<SecretBox, SecretsError> {
    let keys = match configured_keys(config)? {
        Some(keys) => keys,
        None => default_keys(store, config).await?,
    };
    check_canary(store, &keys, clock).await?;
    let report = reseal(store, &keys, Reseal::PlaintextOnly).await?;
    if let Some(key_id) = report.unknown_key_ids.first() {
        return Err(SecretsError::WrongKey {
            key_id: key_id.clone(),
            current: keys.current_key_id().to_string(),
        });
    }
    if report.resealed > 0 {
        tracing::info!(
            sealed = report.resealed,
            key_id = keys.current_key_id(),
            "sealed stored secrets that were in clear"
        );
    }
    Ok(keys)
}

fn parse(key: &'static str, text: &str) -> Result<InstanceKey, SecretsError> {
    InstanceKey::parse(text).map_err(|source| SecretsError::BadKey { key, source })
}

/// The keys the configuration names; `None` when it names no current key.
pub fn configured_keys(config: &Config) -> Result<Option<SecretBox>, SecretsError> {
    let mut retired = config
        .secrets_retired_keys
        .iter()
        .map(|k| parse("secrets_retired_keys", k.expose()))
        .collect::<Result<Vec<_>, _>>()?;
    let current = if let Some(key) = &config.secrets_key {
        parse("secrets_key", key.expose())?
    } else if let Some(path) = &config.secrets_key_file {
        let (current, more) = read_key_file(path)?;
        retired.extend(more);
        current
    } else {
        return Ok(None);
    };
    Ok(Some(SecretBox::new(current, retired)))
}

/// A key file: the current key on the first line, retired keys on the next ones (blank lines
/// and `#` comments skipped).
fn read_key_file(path: &Path) -> Result<(InstanceKey, Vec<InstanceKey>), SecretsError> {
    let text = std::fs::read_to_string(path).map_err(|e| SecretsError::KeyFile {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut keys = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| parse("secrets_key_file", l));
    let current = keys.next().ok_or_else(|| SecretsError::KeyFile {
        path: path.to_path_buf(),
        message: "the file holds no key".into(),
    })??;
    Ok((current, keys.collect::<Result<Vec<_>, _>>()?))
}

/// The file a key is generated into beside a SQLite database; `None` for in-memory ones.
pub fn generated_key_path(database_url: &str) -> Option<PathBuf> {
    let rest = database_url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") || database_url.contains("mode=memory") {
        return None;
    }
    Some(PathBuf::from(format!("{path}{GENERATED_KEY_FILE_SUFFIX}")))
}

async fn default_keys(store: &Store, config: &Config) -> Result<SecretBox, SecretsError> {
    if store.engine() == Engine::Postgres {
        return Err(SecretsError::Required);
    }
    let Some(path) = generated_key_path(config.database_url.expose()) else {
        return Ok(SecretBox::new(InstanceKey::generate(), vec![]));
    };
    if path.exists() {
        let (current, retired) = read_key_file(&path)?;
        return Ok(SecretBox::new(current, retired));
    }
    if let Some(sealed) = canary(store).await?
        && let Some(key_id) = secret_box::sealed_key_id(&sealed)
    {
        return Err(SecretsError::KeyMissing {
            key_id: key_id.to_string(),
            path,
        });
    }
    let key = InstanceKey::generate();
    write_new_key_file(&path, &key)?;
    tracing::warn!(
        path = %path.display(),
        key_id = key.id(),
        "no secrets_key configured: generated an instance key beside the database; back it up \
         apart from the database (without it the webhook secrets cannot be read)"
    );
    Ok(SecretBox::new(key, vec![]))
}

fn write_new_key_file(path: &Path, key: &InstanceKey) -> Result<(), SecretsError> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let fail = |e: std::io::Error| SecretsError::KeyFile {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut file = options.open(path).map_err(fail)?;
    writeln!(
        file,
        "# cajero instance key (secrets_key_file): seals webhook signing secrets.\n{}",
        key.to_hex()
    )
    .map_err(fail)?;
    file.sync_all().map_err(fail)
}

async fn canary(store: &Store) -> Result<Option<String>, StoreError> {
    store
        .read(|mut c| {
            Box::pin(async move {
                let all = stored_secrets::list(&mut c).await?;
                Ok(all
                    .into_iter()
                    .find(|s| s.row == SECRETS_CANARY_SETTING)
                    .map(|s| s.value))
            })
        })
        .await
}

/// Inserts the canary on first use; otherwise it must open with the configured keys.
async fn check_canary(
    store: &Store,
    keys: &SecretBox,
    clock: &dyn Clock,
) -> Result<(), SecretsError> {
    let context = setting_context(SECRETS_CANARY_SETTING);
    let sealed = keys.seal_str(&context, CANARY_PLAINTEXT);
    let now = clock.now();
    let stored = store
        .write(move |mut c| {
            Box::pin(async move {
                merchants::instance_setting_or_insert(&mut c, SECRETS_CANARY_SETTING, &sealed, now)
                    .await
            })
        })
        .await?;
    match keys.open_string(&context, &stored) {
        Ok(_) => Ok(()),
        Err(OpenError::UnknownKey(key_id) | OpenError::Damaged(key_id)) => {
            Err(SecretsError::WrongKey {
                key_id,
                current: keys.current_key_id().to_string(),
            })
        }
        Err(OpenError::NotSealed) => Err(SecretsError::Store(StoreError::Corrupt {
            table: "instance_settings",
            detail: format!("{SECRETS_CANARY_SETTING} is not sealed"),
        })),
    }
}

/// Which stored secrets [`reseal`] rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reseal {
    /// Only those still in clear (at every start).
    PlaintextOnly,
    /// Everything not sealed under the current key (`cajero secrets rotate`).
    AllToCurrentKey,
}

/// What a [`reseal`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResealReport {
    /// Secrets rewritten under the current key.
    pub resealed: u64,
    /// Secrets left as they were (already current, or sealed by a retired key when only
    /// plaintext was to be sealed).
    pub unchanged: u64,
    /// Keys that seal stored secrets but are not configured (those secrets are left alone).
    pub unknown_key_ids: Vec<String>,
}

/// Seals stored secrets under the current key, in one unit of work; each row is replaced
/// only if it still holds what was read (compare-and-set), so nothing is ever lost.
pub async fn reseal(
    store: &Store,
    keys: &SecretBox,
    which: Reseal,
) -> Result<ResealReport, StoreError> {
    let keys = keys.clone();
    store
        .write(move |mut c| {
            Box::pin(async move {
                let mut report = ResealReport::default();
                for stored in stored_secrets::list(&mut c).await? {
                    match resealed_value(&keys, &stored, which) {
                        Ok(Some(value)) => {
                            if stored_secrets::replace(&mut c, &stored, &value).await? {
                                report.resealed += 1;
                            }
                        }
                        Ok(None) => report.unchanged += 1,
                        Err(key_id) => {
                            if !report.unknown_key_ids.contains(&key_id) {
                                report.unknown_key_ids.push(key_id);
                            }
                        }
                    }
                }
                Ok(report)
            })
        })
        .await
}

/// The new stored value, `None` to leave it, or the key id it cannot be opened with.
fn resealed_value(
    keys: &SecretBox,
    stored: &StoredSecret,
    which: Reseal,
) -> Result<Option<String>, String> {
    let context = stored.context();
    if !secret_box::is_sealed(&stored.value) {
        return Ok(Some(keys.seal_str(&context, &stored.value)));
    }
    match keys.open(&context, &stored.value) {
        Ok(_) if keys.is_current(&stored.value) || which == Reseal::PlaintextOnly => Ok(None),
        Ok(plain) => Ok(Some(keys.seal(&context, &plain))),
        Err(OpenError::UnknownKey(id) | OpenError::Damaged(id)) => Err(id),
        Err(OpenError::NotSealed) => Err("(damaged)".into()),
    }
}

/// How the stored secrets are sealed (`cajero secrets status`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretsStatus {
    /// The key that seals.
    pub current_key_id: String,
    /// Keys that only open.
    pub retired_key_ids: Vec<String>,
    /// Stored secrets per key id that sealed them.
    pub sealed_by_key: std::collections::BTreeMap<String, u64>,
    /// Stored secrets still in clear.
    pub plaintext: u64,
}

/// Counts stored secrets by the key that sealed them.
pub async fn status(store: &Store, keys: &SecretBox) -> Result<SecretsStatus, StoreError> {
    let stored = store
        .read(|mut c| Box::pin(async move { stored_secrets::list(&mut c).await }))
        .await?;
    let mut status = SecretsStatus {
        current_key_id: keys.current_key_id().to_string(),
        retired_key_ids: keys
            .retired_key_ids()
            .into_iter()
            .map(String::from)
            .collect(),
        ..SecretsStatus::default()
    };
    for s in stored {
        match secret_box::sealed_key_id(&s.value) {
            Some(id) => *status.sealed_by_key.entry(id.to_string()).or_default() += 1,
            None => status.plaintext += 1,
        }
    }
    Ok(status)
}
