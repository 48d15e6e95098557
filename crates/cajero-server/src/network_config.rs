//! `[[networks]]`: the gateways (and simulators) this instance reaches, as configured.
//!
//! ```toml
//! [[networks]]
//! name = "kushki"                 # callbacks arrive at {public_url}/callbacks/kushki
//! kind = "kushki"                 # dlocal | payu | kushki | simulator
//! mode = "live"                   # live (default) or test (a gateway's sandbox)
//! base_url = "https://api.kushkipagos.com"
//! priority = 10                   # lower is tried first (default 100)
//! collections = ["efecty"]        # cash networks to collect at (default: all it serves)
//! payouts = ["efecty"]            # cash networks to pay out at (default: all it serves)
//! payout_amount_max = 1000000     # optional narrower limits (whole pesos)
//! credentials = { public_merchant_id = "…" }  # values that are not secret
//! secret_files = { private_merchant_id = "/run/secrets/kushki-private" }
//! ```
//!
//! Secrets never come from the configuration file: each comes from the environment
//! (`CAJERO_NETWORK_<NAME>_<KEY>`, e.g. `CAJERO_NETWORK_KUSHKI_PRIVATE_MERCHANT_ID`) or from the
//! first line of the file named in `secret_files`. A secret written under `credentials` is
//! refused, and no message, log line or listing ever prints a secret's value: only whether it
//! is set and where from.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use cajero_connect::Connector;
pub use cajero_connect::OrderKind;
use cajero_domain::merchant::Mode;
use cajero_domain::network::AmountRange;
use serde::{Deserialize, Serialize};

/// Longest entry name.
pub const NAME_CHARS_MAX: usize = 32;
/// Names no entry may take: the simulator's callback receiver and route.
pub const RESERVED_NAMES: &[&str] = &[
    crate::networks::SIM_CALLBACK_RECEIVER,
    crate::networks::SIMULATOR_ROUTE,
];
/// The prefix of the environment variables that carry a network's secrets.
pub const SECRET_ENV_PREFIX: &str = "CAJERO_NETWORK_";
/// Priority of an entry that names none (lower is tried first).
pub const PRIORITY_DEFAULT: u32 = 100;
/// Longest request timeout an entry may set.
pub const TIMEOUT_MS_MAX: u64 = 120_000;

/// The protocol an entry speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkKind {
    /// dLocal's Payins API (Efecty vouchers).
    Dlocal,
    /// PayU Latam's Payments API (Efecty and SuRed vouchers).
    Payu,
    /// Kushki's cash-in and cash-out (Efecty vouchers and pick-ups).
    Kushki,
    /// cajero's network simulator (`cajero sim`): test mode only.
    Simulator,
}

impl NetworkKind {
    /// Its name in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkKind::Dlocal => "dlocal",
            NetworkKind::Payu => "payu",
            NetworkKind::Kushki => "kushki",
            NetworkKind::Simulator => "simulator",
        }
    }

    /// The credentials it takes. Secrets come only from the environment or a file.
    pub fn credentials(self) -> &'static [Credential] {
        const fn c(key: &'static str, secret: bool, required: bool) -> Credential {
            Credential {
                key,
                secret,
                required,
            }
        }
        const DLOCAL: &[Credential] = &[
            c("login", false, true),
            c("trans_key", true, true),
            c("secret_key", true, true),
        ];
        const PAYU: &[Credential] = &[
            c("merchant_id", false, true),
            c("account_id", false, true),
            c("api_login", false, true),
            c("api_key", true, true),
            // Only for confirmations signed with HMAC-SHA256.
            c("confirmation_hmac_key", true, false),
        ];
        const KUSHKI: &[Credential] = &[
            c("public_merchant_id", false, true),
            c("private_merchant_id", true, true),
            c("webhook_secret", true, true),
        ];
        const SIMULATOR: &[Credential] = &[c("merchant_id", false, true), c("secret", true, true)];
        match self {
            NetworkKind::Dlocal => DLOCAL,
            NetworkKind::Payu => PAYU,
            NetworkKind::Kushki => KUSHKI,
            NetworkKind::Simulator => SIMULATOR,
        }
    }

    /// The cash networks it can serve for `kind` (what its connector says, for listings made
    /// without the secrets a connector needs).
    pub fn serves(self, kind: OrderKind) -> &'static [&'static str] {
        match (self, kind) {
            (NetworkKind::Dlocal, OrderKind::Collection) => &["efecty"],
            (NetworkKind::Payu, OrderKind::Collection) => &["efecty", "sured"],
            (NetworkKind::Dlocal | NetworkKind::Payu, OrderKind::Payout) => &[],
            (NetworkKind::Kushki, _) => &["efecty"],
            (NetworkKind::Simulator, _) => &["efecty", "sured"],
        }
    }

    /// The settings (not credentials, never secret) it takes: (key, required?).
    pub fn settings(self) -> &'static [(&'static str, bool)] {
        match self {
            // PayU requires a buyer's e-mail, phone and address on every transaction; cajero
            // has no such data per customer, so the merchant's own are sent.
            NetworkKind::Payu => &[
                ("contact_email", true),
                ("contact_phone", true),
                ("contact_street1", true),
                ("contact_city", true),
                ("contact_state", true),
                ("contact_postal_code", false),
                ("contact_ip_address", false),
                ("confirmation_signature", false),
                ("sales_report_url", false),
            ],
            // Kushki's cash-out token asks for the beneficiary's e-mail and phone; cajero sends
            // the merchant's when the payout has none. `lookup_by_reference` turns on a lookup
            // Kushki does not document (the simulator's): keep it off in live mode.
            NetworkKind::Kushki => &[
                ("payout_contact_email", false),
                ("payout_contact_phone", false),
                ("lookup_by_reference", false),
            ],
            NetworkKind::Dlocal | NetworkKind::Simulator => &[],
        }
    }

    fn is_secret(self, key: &str) -> bool {
        self.credentials().iter().any(|c| c.key == key && c.secret)
    }
}

/// One credential a kind takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credential {
    /// Its key (`api_key`).
    pub key: &'static str,
    /// Only from the environment or a file.
    pub secret: bool,
    /// The entry cannot be used without it.
    pub required: bool,
}

/// Test or live, as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryMode {
    /// Real money.
    #[default]
    Live,
    /// A gateway's sandbox (or a simulator), for test keys.
    Test,
}

impl From<EntryMode> for Mode {
    fn from(mode: EntryMode) -> Mode {
        match mode {
            EntryMode::Live => Mode::Live,
            EntryMode::Test => Mode::Test,
        }
    }
}

/// One `[[networks]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkEntry {
    /// Its name: the route recorded on its orders and its callback receiver
    /// (`/callbacks/{name}`). Default: the kind.
    #[serde(default)]
    pub name: Option<String>,
    /// The protocol.
    pub kind: NetworkKind,
    /// Live (default) or test.
    #[serde(default)]
    pub mode: EntryMode,
    /// The gateway's API base URL.
    pub base_url: String,
    /// Lower is tried first; entries of equal priority in the order written.
    #[serde(default = "priority_default")]
    pub priority: u32,
    /// Cash networks to collect at; absent: every one the gateway collects at.
    #[serde(default)]
    pub collections: Option<Vec<String>>,
    /// Cash networks to pay out at; absent: every one the gateway pays out at.
    #[serde(default)]
    pub payouts: Option<Vec<String>>,
    /// Narrower limits for vouchers (whole pesos), on top of the network's and the gateway's.
    #[serde(default)]
    pub collection_amount_min: Option<i64>,
    /// See `collection_amount_min`.
    #[serde(default)]
    pub collection_amount_max: Option<i64>,
    /// Narrower limits for pick-ups (whole pesos).
    #[serde(default)]
    pub payout_amount_min: Option<i64>,
    /// See `payout_amount_min`.
    #[serde(default)]
    pub payout_amount_max: Option<i64>,
    /// Credentials that are not secret (ids, logins).
    #[serde(default)]
    pub credentials: BTreeMap<String, String>,
    /// Files holding secrets (first line), by credential key.
    #[serde(default)]
    pub secret_files: BTreeMap<String, PathBuf>,
    /// Settings of the kind that are not credentials (PayU's `contact_*`, …).
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    /// Total time of one exchange.
    #[serde(default)]
    pub request_timeout_ms: Option<u64>,
    /// Time to connect.
    #[serde(default)]
    pub connect_timeout_ms: Option<u64>,
}

fn priority_default() -> u32 {
    PRIORITY_DEFAULT
}

/// Why an entry cannot be used; never carries a secret's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[[networks]] entry `{name}`: {message}")]
pub struct EntryError {
    /// The entry's name.
    pub name: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// Where a credential's value was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `credentials` in the configuration.
    Config,
    /// An environment variable.
    Env,
    /// A file named in `secret_files`.
    File,
    /// Nowhere, and it is required.
    Missing,
    /// Nowhere; it is optional.
    Unset,
}

impl Source {
    /// How `cajero networks list` says it.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Config => "configuration",
            Source::Env => "environment",
            Source::File => "file",
            Source::Missing => "MISSING",
            Source::Unset => "not set (optional)",
        }
    }
}

/// An entry's credentials, resolved. `Debug` names the keys only.
#[derive(Clone, PartialEq, Eq)]
pub struct Resolved {
    values: BTreeMap<String, String>,
}

impl std::fmt::Debug for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.values.keys()).finish()
    }
}

impl Resolved {
    /// A credential's value; call only where it is used.
    pub fn expose(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// The secret values, for redaction checks.
    pub fn secrets(&self, kind: NetworkKind) -> Vec<&str> {
        self.values
            .iter()
            .filter(|(k, _)| kind.is_secret(k))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

impl NetworkEntry {
    /// Its name: `name`, or the kind.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or(self.kind.as_str())
    }

    fn error(&self, message: impl Into<String>) -> EntryError {
        EntryError {
            name: self.name().to_string(),
            message: message.into(),
        }
    }

    /// The variable that carries the secret `key`: `CAJERO_NETWORK_KUSHKI_PRIVATE_MERCHANT_ID`.
    pub fn secret_var(&self, key: &str) -> String {
        let upper = |s: &str| s.to_ascii_uppercase().replace('-', "_");
        format!("{SECRET_ENV_PREFIX}{}_{}", upper(self.name()), upper(key))
    }

    /// The limits configured for `kind` of order, if any.
    pub fn limits(&self, kind: OrderKind) -> Option<AmountRange> {
        let (min, max) = match kind {
            OrderKind::Collection => (self.collection_amount_min, self.collection_amount_max),
            OrderKind::Payout => (self.payout_amount_min, self.payout_amount_max),
        };
        (min.is_some() || max.is_some()).then(|| AmountRange {
            min: min.unwrap_or(1),
            max: max.unwrap_or(i64::MAX),
        })
    }

    /// Whether orders of `kind` may go to `network` through this entry, by configuration (the
    /// connector also says what it can do).
    pub fn allows(&self, kind: OrderKind, network: &str) -> bool {
        let list = match kind {
            OrderKind::Collection => &self.collections,
            OrderKind::Payout => &self.payouts,
        };
        list.as_ref().is_none_or(|l| l.iter().any(|n| n == network))
    }

    /// Checks everything that can be checked without the secrets.
    pub fn validate(&self) -> Result<(), EntryError> {
        let name = self.name();
        if name.is_empty()
            || name.len() > NAME_CHARS_MAX
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        {
            return Err(self.error(format!(
                "name must be 1 to {NAME_CHARS_MAX} characters of a-z, 0-9, _ and -"
            )));
        }
        if RESERVED_NAMES.contains(&name) {
            return Err(self.error(format!(
                "the name `{name}` is reserved for the built-in simulator; choose another"
            )));
        }
        if self.kind == NetworkKind::Simulator && self.mode == EntryMode::Live {
            return Err(self.error(
                "a simulator moves no real money: it may serve test mode only (mode = \"test\")",
            ));
        }
        match url::Url::parse(&self.base_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && !u.cannot_be_a_base() => {
                if self.mode == EntryMode::Live
                    && u.scheme() == "http"
                    && !matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))
                {
                    return Err(self.error(
                        "base_url must use https:// in live mode (http:// only on loopback)",
                    ));
                }
            }
            _ => {
                return Err(self.error(format!(
                    "base_url must be an http(s) URL, not {:?}",
                    self.base_url
                )));
            }
        }
        for (what, list) in [
            ("collections", &self.collections),
            ("payouts", &self.payouts),
        ] {
            for code in list.iter().flatten() {
                if cajero_domain::network::spec(code).is_none() {
                    let known: Vec<&str> =
                        cajero_domain::network::ALL.iter().map(|s| s.code).collect();
                    return Err(self.error(format!(
                        "{what}: unknown cash network {code:?} (known: {})",
                        known.join(", ")
                    )));
                }
            }
        }
        for (what, min, max) in [
            (
                "collection_amount",
                self.collection_amount_min,
                self.collection_amount_max,
            ),
            (
                "payout_amount",
                self.payout_amount_min,
                self.payout_amount_max,
            ),
        ] {
            if min.is_some_and(|m| m < 1) || max.is_some_and(|m| m < 1) {
                return Err(self.error(format!("{what}_min and _max must be positive")));
            }
            if let (Some(min), Some(max)) = (min, max)
                && min > max
            {
                return Err(self.error(format!("{what}_min must not exceed {what}_max")));
            }
        }
        for (what, value) in [
            ("request_timeout_ms", self.request_timeout_ms),
            ("connect_timeout_ms", self.connect_timeout_ms),
        ] {
            if let Some(ms) = value
                && (ms == 0 || ms > TIMEOUT_MS_MAX)
            {
                return Err(self.error(format!(
                    "{what} must be between 1 and {TIMEOUT_MS_MAX}, not {ms}"
                )));
            }
        }
        let settings: Vec<&str> = self.kind.settings().iter().map(|(k, _)| *k).collect();
        for key in self.settings.keys() {
            if !settings.contains(&key.as_str()) {
                return Err(self.error(format!(
                    "unknown setting `{key}` for kind {} (it takes: {})",
                    self.kind.as_str(),
                    if settings.is_empty() {
                        "none".to_string()
                    } else {
                        settings.join(", ")
                    }
                )));
            }
        }
        for (key, required) in self.kind.settings() {
            if *required && !self.settings.contains_key(*key) {
                return Err(self.error(format!(
                    "setting `{key}` is required for kind {}",
                    self.kind.as_str()
                )));
            }
        }
        let known: Vec<&str> = self.kind.credentials().iter().map(|c| c.key).collect();
        for key in self.credentials.keys().chain(self.secret_files.keys()) {
            if !known.contains(&key.as_str()) {
                return Err(self.error(format!(
                    "unknown credential `{key}` for kind {} (it takes: {})",
                    self.kind.as_str(),
                    known.join(", ")
                )));
            }
        }
        for key in self.credentials.keys() {
            if self.kind.is_secret(key) {
                return Err(self.error(format!(
                    "`{key}` is a secret and must not be written in the configuration: set {} \
                     or secret_files.{key}",
                    self.secret_var(key)
                )));
            }
        }
        Ok(())
    }

    /// Where each credential would come from, without reading any secret's value into the
    /// answer.
    pub fn sources(&self, env: &dyn Fn(&str) -> Option<String>) -> Vec<(&'static str, Source)> {
        self.kind
            .credentials()
            .iter()
            .map(|c| {
                let key = c.key;
                let source = if !c.secret && self.credentials.contains_key(key) {
                    Source::Config
                } else if env(&self.secret_var(key)).is_some_and(|v| !v.is_empty()) {
                    Source::Env
                } else if self.secret_files.contains_key(key) {
                    Source::File
                } else if c.required {
                    Source::Missing
                } else {
                    Source::Unset
                };
                (key, source)
            })
            .collect()
    }

    /// Every credential's value: non-secrets from `credentials` (or the environment), secrets
    /// from the environment or their file. A missing one names where to put it.
    pub fn resolve(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<Resolved, EntryError> {
        let mut values = BTreeMap::new();
        for credential in self.kind.credentials() {
            let (key, secret) = (&credential.key, &credential.secret);
            let var = self.secret_var(key);
            let value = if let Some(v) = self.credentials.get(*key).filter(|_| !secret) {
                Some(v.clone())
            } else if let Some(v) = env(&var).filter(|v| !v.is_empty()) {
                Some(v)
            } else if let Some(path) = self.secret_files.get(*key) {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    self.error(format!(
                        "secret_files.{key}: cannot read {}: {}",
                        path.display(),
                        e.kind()
                    ))
                })?;
                let first = text.lines().next().unwrap_or_default().trim().to_string();
                if first.is_empty() {
                    return Err(
                        self.error(format!("secret_files.{key}: {} is empty", path.display()))
                    );
                }
                Some(first)
            } else {
                None
            };
            if value.is_none() && !credential.required {
                continue;
            }
            let Some(value) = value else {
                let hint = if *secret {
                    format!("set {var} or secret_files.{key}")
                } else {
                    format!("set credentials.{key} (or {var})")
                };
                return Err(self.error(format!("`{key}` is missing: {hint}")));
            };
            values.insert((*key).to_string(), value);
        }
        Ok(Resolved { values })
    }
}

/// The connector an entry describes, calling back `{public_url}/callbacks/{name}`.
pub fn connect(
    entry: &NetworkEntry,
    public_url: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Arc<dyn Connector>> {
    entry.validate()?;
    let credentials = entry.resolve(env)?;
    let callback_url = format!(
        "{}/callbacks/{}",
        public_url.trim_end_matches('/'),
        entry.name()
    );
    let need = |key: &str| -> Result<String, EntryError> {
        credentials
            .expose(key)
            .map(str::to_string)
            .ok_or_else(|| entry.error(format!("`{key}` is missing")))
    };
    let connector: Arc<dyn Connector> = match entry.kind {
        NetworkKind::Simulator => {
            let mut config = cajero_connect::sim::SimConnectorConfig::new(
                entry.base_url.clone(),
                need("merchant_id")?,
                need("secret")?,
            );
            config.callback_url = Some(callback_url);
            if let Some(ms) = entry.request_timeout_ms {
                config.request_timeout_ms = ms;
            }
            if let Some(ms) = entry.connect_timeout_ms {
                config.connect_timeout_ms = ms;
            }
            Arc::new(
                cajero_connect::sim::SimConnector::new(config)
                    .map_err(|e| entry.error(e.to_string()))?,
            )
        }
        NetworkKind::Dlocal => {
            use cajero_connect::dlocal::{DlocalConfig, DlocalConnector};
            let mut config = DlocalConfig::new(
                entry.base_url.clone(),
                need("login")?,
                need("trans_key")?,
                need("secret_key")?,
            );
            config.notification_url = Some(callback_url);
            if let Some(list) = &entry.collections {
                config.collection_networks = list.clone();
            }
            if let Some(ms) = entry.request_timeout_ms {
                config.request_timeout_ms = ms;
            }
            if let Some(ms) = entry.connect_timeout_ms {
                config.connect_timeout_ms = ms;
            }
            Arc::new(DlocalConnector::new(config).map_err(|e| entry.error(e.to_string()))?)
        }
        NetworkKind::Payu => {
            use cajero_connect::payu::{PayuConfig, PayuConnector, PayuContact};
            let setting = |key: &str| entry.settings.get(key).cloned();
            let required = |key: &str| {
                setting(key).ok_or_else(|| entry.error(format!("setting `{key}` is missing")))
            };
            let contact: PayuContact = serde_json::from_value(serde_json::json!({
                "email": required("contact_email")?,
                "phone": required("contact_phone")?,
                "street1": required("contact_street1")?,
                "city": required("contact_city")?,
                "state": required("contact_state")?,
                "postal_code": setting("contact_postal_code").unwrap_or_default(),
                "ip_address": setting("contact_ip_address").unwrap_or_else(|| "127.0.0.1".into()),
            }))
            .map_err(|e| entry.error(format!("contact settings: {e}")))?;
            let mut config = PayuConfig::new(
                entry.base_url.clone(),
                need("merchant_id")?,
                need("account_id")?,
                need("api_login")?,
                need("api_key")?,
                contact,
            );
            if let Some(algorithm) = setting("confirmation_signature") {
                config.confirmation_signature =
                    serde_json::from_value(serde_json::Value::String(algorithm)).map_err(|_| {
                        entry.error(
                            "setting `confirmation_signature` must be md5, sha256 or hmac_sha256",
                        )
                    })?;
            }
            config.confirmation_hmac_key = credentials
                .expose("confirmation_hmac_key")
                .map(str::to_string);
            config.sales_report_url = setting("sales_report_url");
            config.test = entry.mode == EntryMode::Test;
            config.notification_url = Some(callback_url);
            if let Some(list) = &entry.collections {
                config.networks = list.clone();
            }
            if let Some(ms) = entry.request_timeout_ms {
                config.request_timeout_ms = ms;
            }
            if let Some(ms) = entry.connect_timeout_ms {
                config.connect_timeout_ms = ms;
            }
            Arc::new(PayuConnector::new(config).map_err(|e| entry.error(e.to_string()))?)
        }
        NetworkKind::Kushki => {
            use cajero_connect::kushki::{KushkiConfig, KushkiConnector};
            let mut config = KushkiConfig::new(
                entry.base_url.clone(),
                need("public_merchant_id")?,
                need("private_merchant_id")?,
                need("webhook_secret")?,
            );
            config.notification_url = Some(callback_url);
            if let Some(list) = &entry.collections {
                config.collection_networks = list.clone();
            }
            if let Some(list) = &entry.payouts {
                config.payout_networks = list.clone();
            }
            config.payout_contact_email = entry.settings.get("payout_contact_email").cloned();
            config.payout_contact_phone = entry.settings.get("payout_contact_phone").cloned();
            config.lookup_by_reference = match entry.settings.get("lookup_by_reference") {
                None => false,
                Some(v) if v == "true" => true,
                Some(v) if v == "false" => false,
                Some(_) => {
                    return Err(entry
                        .error("setting `lookup_by_reference` must be \"true\" or \"false\"")
                        .into());
                }
            };
            if let Some(ms) = entry.request_timeout_ms {
                config.request_timeout_ms = ms;
            }
            if let Some(ms) = entry.connect_timeout_ms {
                config.connect_timeout_ms = ms;
            }
            Arc::new(KushkiConnector::new(config).map_err(|e| entry.error(e.to_string()))?)
        }
    };
    Ok(connector)
}

/// Checks a list of entries: each valid, names unique.
pub fn validate_all(entries: &[NetworkEntry]) -> Result<(), EntryError> {
    let mut seen = std::collections::BTreeSet::new();
    for entry in entries {
        entry.validate()?;
        if !seen.insert(entry.name()) {
            return Err(
                entry.error("two [[networks]] entries have this name: give each its own `name`")
            );
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn entry(toml_text: &str) -> NetworkEntry {
        #[derive(Deserialize)]
        struct File {
            networks: Vec<NetworkEntry>,
        }
        use figment::providers::Format;
        let file: File = figment::Figment::from(figment::providers::Toml::string(toml_text))
            .extract()
            .unwrap();
        file.networks.into_iter().next().unwrap()
    }

    const KUSHKI: &str = r#"
        [[networks]]
        kind = "kushki"
        base_url = "https://api.kushkipagos.com"
        credentials = { public_merchant_id = "pub-123" }
    "#;

    #[test]
    fn secrets_come_from_the_environment_or_a_file_never_the_configuration() {
        let e = entry(KUSHKI);
        assert_eq!(e.name(), "kushki");
        assert_eq!(
            e.secret_var("private_merchant_id"),
            "CAJERO_NETWORK_KUSHKI_PRIVATE_MERCHANT_ID"
        );
        e.validate().unwrap();
        let none = |_: &str| None;
        let err = e.resolve(&none).unwrap_err();
        assert!(
            err.message
                .contains("set CAJERO_NETWORK_KUSHKI_PRIVATE_MERCHANT_ID"),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("webhook");
        std::fs::write(&file, "whsec-from-file\nretired\n").unwrap();
        let mut e2 = e.clone();
        e2.secret_files.insert("webhook_secret".into(), file);
        let env = |k: &str| {
            (k == "CAJERO_NETWORK_KUSHKI_PRIVATE_MERCHANT_ID").then(|| "priv-secret-9".to_string())
        };
        let resolved = e2.resolve(&env).unwrap();
        assert_eq!(
            resolved.expose("private_merchant_id"),
            Some("priv-secret-9")
        );
        assert_eq!(resolved.expose("webhook_secret"), Some("whsec-from-file"));
        assert_eq!(resolved.expose("public_merchant_id"), Some("pub-123"));
        let printed = format!("{resolved:?} {e2:?}");
        assert!(!printed.contains("priv-secret-9") && !printed.contains("whsec-from-file"));
        let sources = e2.sources(&env);
        assert!(sources.contains(&("private_merchant_id", Source::Env)));
        assert!(sources.contains(&("webhook_secret", Source::File)));

        let mut inline = e.clone();
        inline
            .credentials
            .insert("private_merchant_id".into(), "oops-secret".into());
        let err = inline.validate().unwrap_err();
        assert!(err.message.contains("must not be written"), "{err}");
        assert!(!err.to_string().contains("oops-secret"));
    }

    #[test]
    fn bad_entries_are_refused_with_the_reason() {
        let base = entry(KUSHKI);
        type Change = Box<dyn Fn(&mut NetworkEntry)>;
        let cases: Vec<(Change, &str)> = vec![
            (
                Box::new(|e| e.name = Some("Kushki!".into())),
                "name must be",
            ),
            (Box::new(|e| e.name = Some("sim".into())), "reserved"),
            (Box::new(|e| e.base_url = "ftp://x".into()), "base_url"),
            (
                Box::new(|e| e.base_url = "http://api.example.com".into()),
                "https://",
            ),
            (
                Box::new(|e| e.payouts = Some(vec!["baloto2".into()])),
                "unknown cash network",
            ),
            (
                Box::new(|e| {
                    e.payout_amount_min = Some(10);
                    e.payout_amount_max = Some(5);
                }),
                "must not exceed",
            ),
            (Box::new(|e| e.request_timeout_ms = Some(0)), "between 1"),
            (
                Box::new(|e| {
                    e.credentials.insert("pin".into(), "1".into());
                }),
                "unknown credential",
            ),
            (
                Box::new(|e| {
                    e.kind = NetworkKind::Simulator;
                    e.name = Some("sandbox".into());
                    e.credentials.clear();
                }),
                "test mode only",
            ),
        ];
        for (change, expected) in cases {
            let mut e = base.clone();
            change(&mut e);
            let err = e.validate().unwrap_err();
            assert!(err.message.contains(expected), "{expected}: {err}");
        }
        let mut loopback = base.clone();
        loopback.base_url = "http://127.0.0.1:7070/kushki".into();
        loopback.validate().unwrap();
        let twice = vec![base.clone(), base];
        assert!(validate_all(&twice).unwrap_err().message.contains("two"));
    }

    #[test]
    fn limits_and_lists_narrow_what_an_entry_takes() {
        let mut e = entry(KUSHKI);
        assert!(e.allows(OrderKind::Payout, "efecty"));
        assert_eq!(e.limits(OrderKind::Payout), None);
        e.payouts = Some(vec!["efecty".into()]);
        e.collections = Some(Vec::new());
        e.payout_amount_max = Some(1_000_000);
        assert!(e.allows(OrderKind::Payout, "efecty"));
        assert!(!e.allows(OrderKind::Payout, "sured"));
        assert!(!e.allows(OrderKind::Collection, "efecty"));
        assert_eq!(
            e.limits(OrderKind::Payout),
            Some(AmountRange {
                min: 1,
                max: 1_000_000
            })
        );
    }
}
