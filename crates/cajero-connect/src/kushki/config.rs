//! How a [`super::KushkiConnector`] is configured, and the limits Kushki documents.

use std::fmt;

use cajero_domain::money::Amount;
use cajero_domain::network;
use serde::Deserialize;

use super::wire;
use crate::OrderKind;
use crate::http::{self, REDACTED};

/// Kushki's production API.
pub const BASE_URL_LIVE: &str = "https://api.kushkipagos.com";
/// Kushki's sandbox ("UAT").
pub const BASE_URL_SANDBOX: &str = "https://api-uat.kushkipagos.com";
pub use http::{
    CALLBACK_TOLERANCE_SECONDS_DEFAULT, CONNECT_TIMEOUT_MS_DEFAULT, REQUEST_TIMEOUT_MS_DEFAULT,
};
/// Kushki wants a cash-in `expirationDate` at least one day ahead (gateway-apis.md D20).
pub const COLLECTION_VALIDITY_SECONDS_MIN: i64 = 24 * 3_600;
/// Largest cash-in at Efecty through Kushki
/// (docs.kushki.com/co/en/cash-payments/authorized-locations).
pub const EFECTY_COLLECTION_MAX: i64 = 1_000_000;
/// SuRed (and Gana, Apostar, SuSuerte) through Kushki: COP 3,000–3,000,000 (same page).
pub const SURED_COLLECTION: (i64, i64) = (3_000, 3_000_000);
/// The ticket number `check` asks about: never one of Kushki's (they are digits).
pub const CHECK_TICKET: &str = "cajero-networks-check";

/// The amounts Kushki takes for `kind` at `network`, both included, or `None` when it does not
/// take that kind there. Efecty cash-in: at most COP 1,000,000 (Kushki), at least Efecty's
/// own minimum; SuRed cash-in: COP 3,000–3,000,000 (Kushki); Efecty cash-out: Kushki states no
/// range, so Efecty's own (`cajero_domain::network::EFECTY`).
pub fn limits(kind: OrderKind, network: &str) -> Option<(Amount, Amount)> {
    let (min, max) = match (kind, network) {
        (OrderKind::Collection, "efecty") => {
            (network::EFECTY.collection.min, EFECTY_COLLECTION_MAX)
        }
        (OrderKind::Collection, "sured") => SURED_COLLECTION,
        (OrderKind::Payout, "efecty") => (network::EFECTY.payout.min, network::EFECTY.payout.max),
        _ => return None,
    };
    Some((Amount::new(min).ok()?, Amount::new(max).ok()?))
}

/// How to reach Kushki and who we are there. Secrets come from the environment or a file (the
/// server's configuration), never printed.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KushkiConfig {
    /// [`BASE_URL_LIVE`] or [`BASE_URL_SANDBOX`] (a path prefix is kept).
    pub base_url: String,
    /// The public merchant id (`Public-Merchant-Id`, tokens).
    pub public_merchant_id: String,
    /// The private merchant id (`Private-Merchant-Id`, inits, status, delete, reports).
    pub private_merchant_id: String,
    /// The "webhook signature" key from Kushki's console, for `X-Kushki-Signature`.
    pub webhook_secret: String,
    /// Cash networks where Kushki's vouchers are paid, of `efecty`, `sured`.
    #[serde(default = "default_networks")]
    pub collection_networks: Vec<String>,
    /// Cash networks where Kushki's pick-ups are paid: only `efecty`.
    #[serde(default = "default_networks")]
    pub payout_networks: Vec<String>,
    /// A contact email sent on cash-out tokens (optional at Kushki; cajero does not ask
    /// beneficiaries for one, so the merchant's operations address may go).
    #[serde(default)]
    pub payout_contact_email: Option<String>,
    /// Likewise a contact phone on cash-out tokens.
    #[serde(default)]
    pub payout_contact_phone: Option<String>,
    /// Total time of one exchange.
    #[serde(default = "http::request_timeout_ms_default")]
    pub request_timeout_ms: u64,
    /// Time to connect.
    #[serde(default = "http::connect_timeout_ms_default")]
    pub connect_timeout_ms: u64,
    /// Largest distance between a webhook's timestamp and our clock.
    #[serde(default = "http::callback_tolerance_seconds_default")]
    pub callback_tolerance_seconds: u64,
    /// Sent in every init's `webhooks`: `{public_url}/callbacks/{name}` (set by the server).
    #[serde(default)]
    pub notification_url: Option<String>,
    /// Query by our reference at the simulator's assumed path (not Kushki's; see the module
    /// documentation). Off for the real Kushki.
    #[serde(default)]
    pub lookup_by_reference: bool,
}

fn default_networks() -> Vec<String> {
    vec![wire::DEFAULT_NETWORK.into()]
}

impl KushkiConfig {
    /// A configuration with Efecty for both kinds, default timeouts, no notification URL and
    /// no payout contacts.
    pub fn new(
        base_url: impl Into<String>,
        public_merchant_id: impl Into<String>,
        private_merchant_id: impl Into<String>,
        webhook_secret: impl Into<String>,
    ) -> KushkiConfig {
        KushkiConfig {
            base_url: base_url.into(),
            public_merchant_id: public_merchant_id.into(),
            private_merchant_id: private_merchant_id.into(),
            webhook_secret: webhook_secret.into(),
            collection_networks: default_networks(),
            payout_networks: default_networks(),
            payout_contact_email: None,
            payout_contact_phone: None,
            request_timeout_ms: REQUEST_TIMEOUT_MS_DEFAULT,
            connect_timeout_ms: CONNECT_TIMEOUT_MS_DEFAULT,
            callback_tolerance_seconds: CALLBACK_TOLERANCE_SECONDS_DEFAULT,
            notification_url: None,
            lookup_by_reference: false,
        }
    }
}

impl fmt::Debug for KushkiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KushkiConfig")
            .field("base_url", &self.base_url)
            .field("public_merchant_id", &REDACTED)
            .field("private_merchant_id", &REDACTED)
            .field("webhook_secret", &REDACTED)
            .field("collection_networks", &self.collection_networks)
            .field("payout_networks", &self.payout_networks)
            .field("payout_contact_email", &self.payout_contact_email)
            .field("payout_contact_phone", &self.payout_contact_phone)
            .field("request_timeout_ms", &self.request_timeout_ms)
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .field(
                "callback_tolerance_seconds",
                &self.callback_tolerance_seconds,
            )
            .field("notification_url", &self.notification_url)
            .field("lookup_by_reference", &self.lookup_by_reference)
            .finish()
    }
}

/// Why a [`super::KushkiConnector`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KushkiConfigError {
    /// The base URL is not an `http(s)://host[:port][/prefix]` URL.
    #[error("invalid Kushki base URL {url:?}: {reason}")]
    InvalidBaseUrl {
        /// As configured.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A network Kushki does not serve for that kind.
    #[error("Kushki does not take {kind:?} orders at {network:?}")]
    UnsupportedNetwork {
        /// Voucher or pick-up.
        kind: OrderKind,
        /// As configured.
        network: String,
    },
    /// A required field is empty.
    #[error("{0} must not be empty")]
    Empty(&'static str),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}
