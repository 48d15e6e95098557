//! Configuration: built-in defaults, then an optional TOML file, then `CAJERO_*` environment
//! variables, then command-line flags; validated once at start with messages that name the
//! key. Secrets are wrapped in [`Secret`], whose `Debug` prints `[redacted]`, so logging the
//! configuration never leaks them.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// The variable naming a configuration file.
pub const CONFIG_FILE_VAR: &str = "CAJERO_CONFIG";
/// The prefix of every configuration variable; nested keys use `__` (`CAJERO_DATABASE__POOL_CONNECTIONS_MAX`).
pub const ENV_PREFIX: &str = "CAJERO_";

/// A secret value: shown as `[redacted]` in every debug print and log.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Readable lines for a terminal.
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Database pool settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// Read connections (SQLite) or all connections (PostgreSQL).
    pub pool_connections_max: u32,
    /// How long a request waits for a connection.
    pub acquire_timeout_ms: u64,
    /// PostgreSQL statement timeout; SQLite busy timeout.
    pub statement_timeout_ms: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        let store = cajero_store::StoreOptions::default();
        DatabaseConfig {
            pool_connections_max: store.pool_connections_max,
            acquire_timeout_ms: store.acquire_timeout_ms,
            statement_timeout_ms: store.statement_timeout_ms,
        }
    }
}

/// Outgoing webhook settings (`[webhooks]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// Whether this instance runs the delivery worker (several instances may).
    pub worker_enabled: bool,
    /// A delivery's whole exchange: connect, send, answer (API.md: 15 s).
    pub timeout_ms: u64,
    /// How long a claimed delivery is held before another worker may take it over. The
    /// worker renews the lease every third of it while the delivery is in flight (which may
    /// take `timeout_ms`), so a short lease only bounds how long a stalled instance's
    /// deliveries wait; a dead instance's are taken over as soon as its heartbeat lapses.
    pub lease_ms: u64,
    /// Deliveries in flight at once, per instance.
    pub delivery_concurrency_max: u32,
    /// Deliveries in flight at once to one endpoint, across instances.
    pub endpoint_concurrency_max: u32,
    /// Deliveries claimed (and attempts recorded) per database round trip at most.
    pub batch_max: u32,
    /// Sleep when nothing is due.
    pub idle_poll_ms: u64,
    /// Whether test-mode endpoints may be on loopback (`http://127.0.0.1:…`, `localhost`).
    pub allow_loopback_in_test_mode: bool,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        WebhooksConfig {
            worker_enabled: true,
            timeout_ms: 15_000,
            lease_ms: 6_000,
            delivery_concurrency_max: 256,
            endpoint_concurrency_max: 32,
            batch_max: 256,
            idle_poll_ms: 200,
            allow_loopback_in_test_mode: true,
        }
    }
}

/// Bounds of the webhook settings.
const WEBHOOK_CONCURRENCY_MAX: u32 = 10_000;
const WEBHOOK_LEASE_MS_MIN: u64 = 1_000;
const WEBHOOK_BATCH_MAX: u32 = 5_000;

impl WebhooksConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        for (key, value) in [
            ("webhooks.timeout_ms", self.timeout_ms),
            ("webhooks.lease_ms", self.lease_ms),
            ("webhooks.idle_poll_ms", self.idle_poll_ms),
        ] {
            if value == 0 || value > TIMEOUT_MS_MAX {
                return Err(invalid(
                    key,
                    format!("must be between 1 and {TIMEOUT_MS_MAX} milliseconds, not {value}"),
                ));
            }
        }
        if self.lease_ms < WEBHOOK_LEASE_MS_MIN {
            return Err(invalid(
                "webhooks.lease_ms",
                format!(
                    "must be at least {WEBHOOK_LEASE_MS_MIN} milliseconds (it is renewed every \
                     third of it), not {}",
                    self.lease_ms
                ),
            ));
        }
        for (key, value, max) in [
            (
                "webhooks.delivery_concurrency_max",
                self.delivery_concurrency_max,
                WEBHOOK_CONCURRENCY_MAX,
            ),
            (
                "webhooks.endpoint_concurrency_max",
                self.endpoint_concurrency_max,
                WEBHOOK_CONCURRENCY_MAX,
            ),
            ("webhooks.batch_max", self.batch_max, WEBHOOK_BATCH_MAX),
        ] {
            if value == 0 || value > max {
                return Err(invalid(
                    key,
                    format!("must be between 1 and {max}, not {value}"),
                ));
            }
        }
        Ok(())
    }
}

/// Pay-ins and payouts (`[orders]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OrdersConfig {
    /// An open order whose network has said nothing for this long is re-queried (a late or
    /// lost callback).
    pub poll_after_ms: u64,
    /// A payout accepted but without a code for this long (its create was interrupted) is
    /// resolved by asking the network for it by reference.
    pub stuck_create_after_ms: u64,
    /// How long the raw evidence of network exchanges is kept (13 months by default).
    pub evidence_retention_days: u32,
    /// A callback about an order not on record is answered 503 (the network retries) for this
    /// long after the first one arrived, since its create may still be committing or be
    /// resolved by the poller; after that it is recorded as a `missing_in_cajero` exception
    /// with an alert and answered 200.
    pub unknown_callback_grace_ms: u64,
}

impl Default for OrdersConfig {
    fn default() -> Self {
        OrdersConfig {
            poll_after_ms: 15 * 60 * 1_000,
            stuck_create_after_ms: 2 * 60 * 1_000,
            evidence_retention_days: 395,
            unknown_callback_grace_ms: 10 * 60 * 1_000,
        }
    }
}

/// Evidence is kept at least 30 days and at most 10 years.
const EVIDENCE_RETENTION_DAYS_MIN: u32 = 30;
const EVIDENCE_RETENTION_DAYS_MAX: u32 = 3_650;

impl OrdersConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        for (key, value) in [
            ("orders.poll_after_ms", self.poll_after_ms),
            ("orders.stuck_create_after_ms", self.stuck_create_after_ms),
            (
                "orders.unknown_callback_grace_ms",
                self.unknown_callback_grace_ms,
            ),
        ] {
            if !(LEDGER_INTERVAL_MS_MIN..=LEDGER_INTERVAL_MS_MAX).contains(&value) {
                return Err(invalid(
                    key,
                    format!(
                        "must be between {LEDGER_INTERVAL_MS_MIN} and {LEDGER_INTERVAL_MS_MAX} milliseconds, not {value}"
                    ),
                ));
            }
        }
        let days = self.evidence_retention_days;
        if !(EVIDENCE_RETENTION_DAYS_MIN..=EVIDENCE_RETENTION_DAYS_MAX).contains(&days) {
            return Err(invalid(
                "orders.evidence_retention_days",
                format!(
                    "must be between {EVIDENCE_RETENTION_DAYS_MIN} and {EVIDENCE_RETENTION_DAYS_MAX}, not {days}"
                ),
            ));
        }
        Ok(())
    }
}

/// The ledger's background work (`[ledger]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LedgerConfig {
    /// How often due pay-ins are settled (0: this instance does not settle).
    pub settlement_interval_ms: u64,
    /// How often the whole ledger is verified, alerting when anything is off (0: never).
    pub verify_interval_ms: u64,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        LedgerConfig {
            settlement_interval_ms: 60_000,
            verify_interval_ms: 60 * 60 * 1_000,
        }
    }
}

/// Bounds of the ledger intervals: at least a second (a tighter loop only burns the database),
/// at most a day (settlement is daily).
const LEDGER_INTERVAL_MS_MIN: u64 = 1_000;
const LEDGER_INTERVAL_MS_MAX: u64 = 24 * 60 * 60 * 1_000;

impl LedgerConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        for (key, value) in [
            ("ledger.settlement_interval_ms", self.settlement_interval_ms),
            ("ledger.verify_interval_ms", self.verify_interval_ms),
        ] {
            if value != 0 && !(LEDGER_INTERVAL_MS_MIN..=LEDGER_INTERVAL_MS_MAX).contains(&value) {
                return Err(invalid(
                    key,
                    format!(
                        "must be 0 (off) or between {LEDGER_INTERVAL_MS_MIN} and \
                         {LEDGER_INTERVAL_MS_MAX} milliseconds, not {value}"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// What is kept how long, and the purge that deletes the rest (`[retention]`; see
/// [`crate::workers::purge`]). Accounting records (orders, refunds, settlements, the ledger)
/// are never purged; network evidence has its own `orders.evidence_retention_days`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// How long a finished `Idempotency-Key` record is kept: a retry within this window replays
    /// the first answer; after it, the same key runs as a new request.
    pub idempotency_keys_hours: u32,
    /// How long events, their webhook deliveries and the delivery attempts are kept (an event
    /// whose delivery is still pending is kept until it ends). `GET /v1/events/{id}` of an older
    /// event answers 404.
    pub events_days: u32,
    /// How often the purge looks for what is past its retention (0: this instance never
    /// purges). Only one instance sharing the database purges at a time.
    pub purge_interval_ms: u64,
    /// Rows of each kind deleted per transaction at most.
    pub purge_batch_max: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            idempotency_keys_hours: 24,
            events_days: 90,
            purge_interval_ms: 60 * 60 * 1_000,
            purge_batch_max: 1_000,
        }
    }
}

/// Idempotency records are kept at least an hour (a client's retries of one request) and at
/// most 30 days.
const IDEMPOTENCY_KEYS_HOURS_MIN: u32 = 1;
const IDEMPOTENCY_KEYS_HOURS_MAX: u32 = 30 * 24;
/// Events are kept at least 7 days (past the webhook retry schedule's 3 days, so a merchant
/// can still look a failed delivery up and resend it) and at most 10 years.
const EVENTS_DAYS_MIN: u32 = 7;
const EVENTS_DAYS_MAX: u32 = 3_650;
/// Rows per purge transaction at most: bounded so that a purge never holds the writer long.
const PURGE_BATCH_MAX: u32 = 5_000;

impl RetentionConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let hours = self.idempotency_keys_hours;
        if !(IDEMPOTENCY_KEYS_HOURS_MIN..=IDEMPOTENCY_KEYS_HOURS_MAX).contains(&hours) {
            return Err(invalid(
                "retention.idempotency_keys_hours",
                format!(
                    "must be between {IDEMPOTENCY_KEYS_HOURS_MIN} and \
                     {IDEMPOTENCY_KEYS_HOURS_MAX} hours, not {hours}"
                ),
            ));
        }
        let days = self.events_days;
        if !(EVENTS_DAYS_MIN..=EVENTS_DAYS_MAX).contains(&days) {
            return Err(invalid(
                "retention.events_days",
                format!("must be between {EVENTS_DAYS_MIN} and {EVENTS_DAYS_MAX} days, not {days}"),
            ));
        }
        let interval = self.purge_interval_ms;
        if interval != 0 && !(LEDGER_INTERVAL_MS_MIN..=LEDGER_INTERVAL_MS_MAX).contains(&interval) {
            return Err(invalid(
                "retention.purge_interval_ms",
                format!(
                    "must be 0 (off) or between {LEDGER_INTERVAL_MS_MIN} and \
                     {LEDGER_INTERVAL_MS_MAX} milliseconds, not {interval}"
                ),
            ));
        }
        let batch = self.purge_batch_max;
        if batch == 0 || batch > PURGE_BATCH_MAX {
            return Err(invalid(
                "retention.purge_batch_max",
                format!("must be between 1 and {PURGE_BATCH_MAX}, not {batch}"),
            ));
        }
        Ok(())
    }
}

/// Where KYC documents are kept (`[kyc]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentStorage {
    /// In the database, beside their rows (the default: one thing to back up).
    #[default]
    Database,
    /// As files of `documents_dir`, one per document, named after its id.
    Filesystem,
}

/// Onboarding (`[kyc]`): where the documents merchants upload are kept.
///
/// ```toml
/// [kyc]
/// documents = "filesystem"        # or "database" (the default)
/// documents_dir = "kyc-documents" # absolute, or relative to this file's folder
/// ```
///
/// The directory is created (0700) at load when missing; it must not be served by a web
/// server in front of cajero (cajero itself serves no directory). Each row records where its
/// document is, so switching storage later leaves earlier documents readable where they are.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KycConfig {
    /// `database` or `filesystem`.
    pub documents: DocumentStorage,
    /// The directory of `filesystem` documents (required with it, refused without it).
    pub documents_dir: Option<std::path::PathBuf>,
}

impl KycConfig {
    /// Resolves a relative `documents_dir` against `base` (the configuration file's folder).
    fn resolve(&mut self, base: &Path) {
        if let Some(dir) = &self.documents_dir
            && dir.is_relative()
        {
            self.documents_dir = Some(base.join(dir));
        }
    }

    /// The storage is complete and its directory usable: created (0700) when missing.
    fn validate(&self) -> Result<(), ConfigError> {
        match (self.documents, &self.documents_dir) {
            (DocumentStorage::Database, None) => Ok(()),
            (DocumentStorage::Database, Some(_)) => Err(invalid(
                "kyc.documents_dir",
                "is used only with kyc.documents = \"filesystem\"",
            )),
            (DocumentStorage::Filesystem, None) => Err(invalid(
                "kyc.documents_dir",
                "is required with kyc.documents = \"filesystem\"",
            )),
            (DocumentStorage::Filesystem, Some(dir)) => {
                if !dir.is_absolute() {
                    return Err(invalid(
                        "kyc.documents_dir",
                        format!("must be an absolute path, not {}", dir.display()),
                    ));
                }
                cajero_store::kyc::files::ensure_dir(dir).map_err(|e| {
                    invalid(
                        "kyc.documents_dir",
                        format!("cannot create {}: {e}", dir.display()),
                    )
                })?;
                if !dir.is_dir() {
                    return Err(invalid(
                        "kyc.documents_dir",
                        format!("{} is not a directory", dir.display()),
                    ));
                }
                Ok(())
            }
        }
    }
}

/// The server's whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// This installation's stable name among the instances sharing the database: the same
    /// after a restart, never the same for two running processes. Default: the host name and
    /// the listen address (`host/127.0.0.1:8080`). See [`crate::instance`].
    pub instance_id: Option<String>,
    /// `sqlite://cajero.db`, `sqlite::memory:` or `postgres://…`.
    pub database_url: Secret,
    /// The URL clients reach this server at (for links in pages and webhooks); defaults to
    /// `http://{listen}`.
    pub public_url: Option<String>,
    /// `human` or `json`.
    pub log_format: LogFormat,
    /// A `tracing` filter such as `info` or `cajero=debug,info`.
    pub log_level: String,
    /// The key for hashing API keys. When unset, one is generated and kept in the database.
    pub api_key_hash_secret: Option<Secret>,
    /// The instance key that seals stored secrets (webhook signing secrets): 32 random bytes as
    /// 64 hex characters or base64. Unset (and no `secrets_key_file`): with a SQLite file one
    /// is generated next to it; PostgreSQL refuses to start (see `crate::secrets`).
    pub secrets_key: Option<Secret>,
    /// A file holding the instance key on its first line; further lines are retired keys.
    pub secrets_key_file: Option<std::path::PathBuf>,
    /// Former instance keys: they still open what they sealed, until `cajero secrets rotate`.
    pub secrets_retired_keys: Vec<Secret>,
    /// Longest a request may run before it is abandoned with 503.
    pub request_timeout_ms: u64,
    /// How long in-flight requests may finish after a shutdown signal.
    pub shutdown_grace_ms: u64,
    /// Database pool settings.
    pub database: DatabaseConfig,
    /// Settlement and ledger check intervals.
    pub ledger: LedgerConfig,
    /// Pay-ins and payouts.
    pub orders: OrdersConfig,
    /// What is kept how long, and the purge.
    pub retention: RetentionConfig,
    /// Outgoing webhook settings.
    pub webhooks: WebhooksConfig,
    /// The network simulator test mode talks to; absent: one is started embedded.
    pub simulator: Option<SimulatorConfig>,
    /// The gateways this instance reaches (`[[networks]]`, see [`crate::network_config`]):
    /// live mode has no network without one.
    pub networks: Vec<crate::network_config::NetworkEntry>,
    /// Requests per API key and failed authentications per address.
    pub rate_limits: crate::rate_limit::RateLimitsConfig,
    /// `GET /metrics`: who may read it, and where.
    pub metrics: crate::metrics::MetricsConfig,
    /// The daily reconciliation job and operator uploads (`[reconciliation]`).
    pub reconciliation: crate::reconciliation::ReconciliationConfig,
    /// Circuit breakers, probes and health alert thresholds (`[health]`).
    pub health: crate::health::HealthConfig,
    /// Preferences, limits and opening hours that route new orders (`[routing]`).
    pub routing: crate::routing::RoutingConfig,
    /// Alerts' cool-down and the operator's channels (`[alerts]`).
    pub alerts: crate::alerts::AlertsConfig,
    /// Where KYC documents are kept (`[kyc]`).
    pub kyc: KycConfig,
    /// Sanctions screening: the hit threshold and the files reloaded daily (`[sanctions]`).
    pub sanctions: crate::sanctions::SanctionsConfig,
}

/// An external simulator (`cajero sim`) for test mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatorConfig {
    /// Its base URL, e.g. `http://127.0.0.1:7070`.
    pub url: String,
    /// This instance's merchant id there.
    pub merchant_id: String,
    /// The shared secret for signatures.
    pub secret: Secret,
}

/// Bounds that configuration values must respect.
const TIMEOUT_MS_MAX: u64 = 10 * 60 * 1_000;
const POOL_CONNECTIONS_MAX: u32 = 1_000;
const API_KEY_HASH_SECRET_BYTES_MIN: usize = 32;

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            instance_id: None,
            database_url: Secret::new("sqlite://cajero.db"),
            public_url: None,
            log_format: LogFormat::Human,
            log_level: "info".to_string(),
            api_key_hash_secret: None,
            secrets_key: None,
            secrets_key_file: None,
            secrets_retired_keys: Vec::new(),
            request_timeout_ms: 30_000,
            shutdown_grace_ms: 10_000,
            database: DatabaseConfig::default(),
            ledger: LedgerConfig::default(),
            orders: OrdersConfig::default(),
            retention: RetentionConfig::default(),
            webhooks: WebhooksConfig::default(),
            simulator: None,
            networks: Vec::new(),
            rate_limits: crate::rate_limit::RateLimitsConfig::default(),
            metrics: crate::metrics::MetricsConfig::default(),
            reconciliation: crate::reconciliation::ReconciliationConfig::default(),
            health: crate::health::HealthConfig::default(),
            routing: crate::routing::RoutingConfig::default(),
            alerts: crate::alerts::AlertsConfig::default(),
            kyc: KycConfig::default(),
            sanctions: crate::sanctions::SanctionsConfig::default(),
        }
    }
}

/// A configuration that cannot be used; the message names the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The sources could not be read or a value has the wrong type.
    #[error("configuration: {0}")]
    Load(String),
    /// A value is out of its allowed range.
    #[error("configuration key `{key}`: {message}")]
    Invalid {
        /// The key, as written in the file (`database.pool_connections_max`).
        key: String,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// A `[[networks]]` entry cannot be used.
    #[error("configuration: {0}")]
    Network(#[from] crate::network_config::EntryError),
}

/// The top-level keys an environment variable may set. Other `CAJERO_*` variables (such as
/// `CAJERO_CONFIG` or the test suites' `CAJERO_TEST_POSTGRES_URL`) are not configuration keys.
const ENV_KEYS: &[&str] = &[
    "listen",
    "instance_id",
    "database_url",
    "public_url",
    "log_format",
    "log_level",
    "api_key_hash_secret",
    "secrets_key",
    "secrets_key_file",
    "secrets_retired_keys",
    "request_timeout_ms",
    "shutdown_grace_ms",
    "database",
    "ledger",
    "orders",
    "retention",
    "webhooks",
    "simulator",
    "networks",
    "rate_limits",
    "metrics",
    "reconciliation",
    "alerts",
    "kyc",
    "sanctions",
];

impl Config {
    /// Defaults ← `file` (or `$CAJERO_CONFIG`) ← `CAJERO_*` variables ← `overrides`.
    pub fn load(file: Option<&Path>, overrides: Overrides) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        let from_env = std::env::var_os(CONFIG_FILE_VAR).map(std::path::PathBuf::from);
        let file = file.map(Path::to_path_buf).or(from_env);
        if let Some(path) = &file {
            if !path.exists() {
                return Err(ConfigError::Load(format!(
                    "configuration file {} does not exist",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment.merge(Env::prefixed(ENV_PREFIX).split("__").filter(|key| {
            let top = key.as_str().split('.').next().unwrap_or_default();
            ENV_KEYS.iter().any(|k| k.eq_ignore_ascii_case(top))
        }));
        figment = figment.merge(Serialized::defaults(overrides));
        let mut config: Config = figment
            .extract()
            .map_err(|e| ConfigError::Load(e.to_string()))?;
        // Relative paths are relative to the file's folder (else the working directory).
        if config
            .kyc
            .documents_dir
            .as_ref()
            .is_some_and(|d| d.is_relative())
            || config.sanctions.has_relative_paths()
        {
            let cwd = std::env::current_dir().map_err(|e| ConfigError::Load(e.to_string()))?;
            let folder = file
                .as_deref()
                .and_then(Path::parent)
                .unwrap_or(Path::new(""));
            config.kyc.resolve(&cwd.join(folder));
            config.sanctions.resolve(&cwd.join(folder));
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks every value against its bounds.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = self.database_url.expose();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(invalid(
                "database_url",
                "must start with sqlite: or postgres:// (e.g. sqlite://cajero.db)",
            ));
        }
        if let Some(id) = &self.instance_id
            && (id.is_empty()
                || id.len() > cajero_store::instances::INSTANCE_ID_CHARS_MAX
                || !id.bytes().all(|b| b.is_ascii_graphic()))
        {
            return Err(invalid(
                "instance_id",
                format!(
                    "must be 1 to {} printable ASCII characters without spaces",
                    cajero_store::instances::INSTANCE_ID_CHARS_MAX
                ),
            ));
        }
        if let Some(public) = &self.public_url
            && !(public.starts_with("http://") || public.starts_with("https://"))
        {
            return Err(invalid("public_url", "must start with http:// or https://"));
        }
        if let Some(secret) = &self.api_key_hash_secret
            && secret.expose().len() < API_KEY_HASH_SECRET_BYTES_MIN
        {
            return Err(invalid(
                "api_key_hash_secret",
                format!("must be at least {API_KEY_HASH_SECRET_BYTES_MIN} characters long"),
            ));
        }
        self.validate_secrets_keys()?;
        if tracing_subscriber::EnvFilter::try_new(&self.log_level).is_err() {
            return Err(invalid(
                "log_level",
                "must be a tracing filter such as `info` or `cajero=debug,info`",
            ));
        }
        for (key, value) in [
            ("request_timeout_ms", self.request_timeout_ms),
            ("shutdown_grace_ms", self.shutdown_grace_ms),
            (
                "database.acquire_timeout_ms",
                self.database.acquire_timeout_ms,
            ),
            (
                "database.statement_timeout_ms",
                self.database.statement_timeout_ms,
            ),
        ] {
            if value == 0 || value > TIMEOUT_MS_MAX {
                return Err(invalid(
                    key,
                    format!("must be between 1 and {TIMEOUT_MS_MAX} milliseconds, not {value}"),
                ));
            }
        }
        crate::network_config::validate_all(&self.networks)?;
        self.webhooks.validate()?;
        self.ledger.validate()?;
        self.orders.validate()?;
        self.retention.validate()?;
        self.rate_limits
            .validate()
            .map_err(|(key, message)| invalid(key, message))?;
        self.metrics
            .validate()
            .map_err(|(key, message)| invalid(key, message))?;
        self.reconciliation
            .validate()
            .map_err(|(key, message)| invalid(key, message))?;
        self.health
            .validate()
            .map_err(|(key, message)| invalid(key, message))?;
        self.routing
            .validate()
            .map_err(|(key, message)| invalid(&key, message))?;
        self.alerts
            .validate()
            .map_err(|(key, message)| invalid(key, message))?;
        self.kyc.validate()?;
        self.sanctions
            .validate()
            .map_err(|(key, message)| invalid(key, message))?;
        let pool = self.database.pool_connections_max;
        if pool == 0 || pool > POOL_CONNECTIONS_MAX {
            return Err(invalid(
                "database.pool_connections_max",
                format!("must be between 1 and {POOL_CONNECTIONS_MAX}, not {pool}"),
            ));
        }
        Ok(())
    }

    /// The instance keys parse, and only one source names the current key.
    fn validate_secrets_keys(&self) -> Result<(), ConfigError> {
        use cajero_store::secret_box::InstanceKey;
        if self.secrets_key.is_some() && self.secrets_key_file.is_some() {
            return Err(invalid(
                "secrets_key",
                "set secrets_key or secrets_key_file, not both",
            ));
        }
        if let Some(key) = &self.secrets_key {
            InstanceKey::parse(key.expose()).map_err(|e| invalid("secrets_key", e.to_string()))?;
        }
        for key in &self.secrets_retired_keys {
            InstanceKey::parse(key.expose())
                .map_err(|e| invalid("secrets_retired_keys", e.to_string()))?;
        }
        Ok(())
    }

    /// The base URL for links to this server.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
            .trim_end_matches('/')
            .to_string()
    }

    /// The store options these settings describe.
    pub fn store_options(&self) -> cajero_store::StoreOptions {
        cajero_store::StoreOptions {
            pool_connections_max: self.database.pool_connections_max,
            acquire_timeout_ms: self.database.acquire_timeout_ms,
            statement_timeout_ms: self.database.statement_timeout_ms,
            ..cajero_store::StoreOptions::default()
        }
    }
}

fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_string(),
        message: message.into(),
    }
}

/// Values given on the command line, which win over every other source.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    /// `--listen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// `--database-url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// `--log-format`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::result_large_err)] // figment::Jail's error type is large
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug_output() {
        let config = Config {
            api_key_hash_secret: Some(Secret::new("x".repeat(40))),
            database_url: Secret::new("postgres://u:hunter2@db/cajero"),
            secrets_key: Some(Secret::new("ab".repeat(32))),
            secrets_retired_keys: vec![Secret::new("cd".repeat(32))],
            ..Config::default()
        };
        let printed = format!("{config:?}");
        assert!(!printed.contains("xxxx"), "{printed}");
        assert!(!printed.contains("abab"), "{printed}");
        assert!(!printed.contains("cdcd"), "{printed}");
        assert!(!printed.contains("hunter2"), "{printed}");
    }

    #[test]
    fn invalid_values_name_their_key() {
        let cases: Vec<(Config, &str)> = vec![
            (
                Config {
                    secrets_key: Some(Secret::new("not a key")),
                    ..Config::default()
                },
                "secrets_key",
            ),
            (
                Config {
                    secrets_key: Some(Secret::new("ab".repeat(32))),
                    secrets_key_file: Some("key".into()),
                    ..Config::default()
                },
                "secrets_key",
            ),
            (
                Config {
                    secrets_retired_keys: vec![Secret::new("ab".repeat(31))],
                    ..Config::default()
                },
                "secrets_retired_keys",
            ),
            (
                Config {
                    database_url: Secret::new("mysql://x"),
                    ..Config::default()
                },
                "database_url",
            ),
            (
                Config {
                    request_timeout_ms: 0,
                    ..Config::default()
                },
                "request_timeout_ms",
            ),
            (
                Config {
                    api_key_hash_secret: Some(Secret::new("short")),
                    ..Config::default()
                },
                "api_key_hash_secret",
            ),
            (
                Config {
                    database: DatabaseConfig {
                        pool_connections_max: 0,
                        ..DatabaseConfig::default()
                    },
                    ..Config::default()
                },
                "database.pool_connections_max",
            ),
            (
                Config {
                    public_url: Some("ftp://x".into()),
                    ..Config::default()
                },
                "public_url",
            ),
            (
                Config {
                    log_level: "[[[".into(),
                    ..Config::default()
                },
                "log_level",
            ),
            (
                Config {
                    instance_id: Some("two words".into()),
                    ..Config::default()
                },
                "instance_id",
            ),
            (
                Config {
                    retention: RetentionConfig {
                        idempotency_keys_hours: 0,
                        ..RetentionConfig::default()
                    },
                    ..Config::default()
                },
                "retention.idempotency_keys_hours",
            ),
            (
                Config {
                    retention: RetentionConfig {
                        events_days: 3,
                        ..RetentionConfig::default()
                    },
                    ..Config::default()
                },
                "retention.events_days",
            ),
            (
                Config {
                    retention: RetentionConfig {
                        purge_interval_ms: 10,
                        ..RetentionConfig::default()
                    },
                    ..Config::default()
                },
                "retention.purge_interval_ms",
            ),
            (
                Config {
                    retention: RetentionConfig {
                        purge_batch_max: 0,
                        ..RetentionConfig::default()
                    },
                    ..Config::default()
                },
                "retention.purge_batch_max",
            ),
            (
                Config {
                    webhooks: WebhooksConfig {
                        lease_ms: 999,
                        ..WebhooksConfig::default()
                    },
                    ..Config::default()
                },
                "webhooks.lease_ms",
            ),
            (
                Config {
                    kyc: KycConfig {
                        documents: DocumentStorage::Filesystem,
                        documents_dir: None,
                    },
                    ..Config::default()
                },
                "kyc.documents_dir",
            ),
            (
                Config {
                    kyc: KycConfig {
                        documents: DocumentStorage::Database,
                        documents_dir: Some("/var/lib/cajero/kyc".into()),
                    },
                    ..Config::default()
                },
                "kyc.documents_dir",
            ),
            (
                Config {
                    kyc: KycConfig {
                        documents: DocumentStorage::Filesystem,
                        documents_dir: Some("relative/kyc".into()),
                    },
                    ..Config::default()
                },
                "kyc.documents_dir",
            ),
        ];
        for (config, key) in cases {
            let err = config.validate().unwrap_err();
            assert!(err.to_string().contains(&format!("`{key}`")), "{err}");
        }
        Config::default().validate().unwrap();
    }

    #[test]
    fn files_environment_and_flags_layer_in_that_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "cajero.toml",
                "listen = \"127.0.0.1:9000\"\nlog_level = \"debug\"\n[database]\npool_connections_max = 3\n",
            )?;
            jail.set_env("CAJERO_LOG_LEVEL", "warn");
            jail.set_env("CAJERO_DATABASE__ACQUIRE_TIMEOUT_MS", "1234");
            jail.set_env("CAJERO_TEST_POSTGRES_URL", "postgres://ignored");
            jail.set_env("CAJERO_INSTANCE_ID", "eu-west-1a");
            let config = Config::load(
                Some(Path::new("cajero.toml")),
                Overrides {
                    database_url: Some("sqlite::memory:".into()),
                    ..Overrides::default()
                },
            )
            .unwrap();
            assert_eq!(config.listen, "127.0.0.1:9000".parse().unwrap());
            assert_eq!(config.log_level, "warn");
            assert_eq!(config.database.pool_connections_max, 3);
            assert_eq!(config.database.acquire_timeout_ms, 1234);
            assert_eq!(config.database_url.expose(), "sqlite::memory:");
            assert_eq!(config.instance_id.as_deref(), Some("eu-west-1a"));
            Ok(())
        });
    }

    #[test]
    fn the_kyc_documents_dir_is_relative_to_the_file_and_created_for_its_user_only() {
        figment::Jail::expect_with(|jail| {
            std::fs::create_dir("conf").map_err(|e| e.to_string())?;
            jail.create_file(
                "conf/cajero.toml",
                "[kyc]\ndocuments = \"filesystem\"\ndocuments_dir = \"kyc-documents\"\n",
            )?;
            let config =
                Config::load(Some(Path::new("conf/cajero.toml")), Overrides::default()).unwrap();
            let dir = config.kyc.documents_dir.unwrap();
            assert!(dir.is_absolute(), "{}", dir.display());
            assert!(dir.ends_with("conf/kyc-documents"), "{}", dir.display());
            assert!(dir.is_dir());
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o700);
            }
            assert_eq!(Config::default().kyc.documents, DocumentStorage::Database);
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_and_wrong_types_in_the_file_are_named() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "lisen = \"127.0.0.1:1\"\n")?;
            let err = Config::load(Some(Path::new("bad.toml")), Overrides::default()).unwrap_err();
            assert!(err.to_string().contains("lisen"), "{err}");
            jail.create_file("bad2.toml", "request_timeout_ms = \"soon\"\n")?;
            let err = Config::load(Some(Path::new("bad2.toml")), Overrides::default()).unwrap_err();
            assert!(err.to_string().contains("request_timeout_ms"), "{err}");
            let err =
                Config::load(Some(Path::new("missing.toml")), Overrides::default()).unwrap_err();
            assert!(err.to_string().contains("missing.toml"), "{err}");
            Ok(())
        });
    }
}
