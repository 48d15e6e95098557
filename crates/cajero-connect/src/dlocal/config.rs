//! What the dLocal connector is configured with, and why a configuration is refused.

use std::fmt;

use serde::Deserialize;

use crate::http::{self, REDACTED};

/// dLocal's production API.
pub const BASE_URL_LIVE: &str = "https://api.dlocal.com";
/// dLocal's sandbox.
pub const BASE_URL_SANDBOX: &str = "https://sandbox.dlocal.com";

/// The default timeouts, and the default largest distance between a notification's `X-Date`
/// and our clock (dLocal documents none; five minutes, as for the simulator's callbacks).
pub use http::{
    CALLBACK_TOLERANCE_SECONDS_DEFAULT, CONNECT_TIMEOUT_MS_DEFAULT, REQUEST_TIMEOUT_MS_DEFAULT,
};

/// How to reach dLocal and who we are there.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DlocalConfig {
    /// [`BASE_URL_LIVE`], [`BASE_URL_SANDBOX`] or the simulator's `http://…/dlocal`.
    pub base_url: String,
    /// `X-Login` (never printed, never in evidence).
    pub login: String,
    /// `X-Trans-Key` (never printed, never in evidence).
    pub trans_key: String,
    /// The secret key that signs requests and notifications (never sent, never printed).
    pub secret_key: String,
    /// The cash networks it collects at: `efecty` (the only one dLocal offers). It pays out
    /// at none.
    #[serde(default = "default_collection_networks")]
    pub collection_networks: Vec<String>,
    /// Total time of one exchange.
    #[serde(default = "http::request_timeout_ms_default")]
    pub request_timeout_ms: u64,
    /// Time to connect.
    #[serde(default = "http::connect_timeout_ms_default")]
    pub connect_timeout_ms: u64,
    /// Largest distance between a notification's `X-Date` and our clock.
    #[serde(default = "http::callback_tolerance_seconds_default")]
    pub callback_tolerance_seconds: u64,
    /// Sent with every create as `notification_url`: `{public_url}/callbacks/{name}`, set by
    /// the server. `None`: the URL configured in dLocal's merchant dashboard.
    #[serde(default)]
    pub notification_url: Option<String>,
}

fn default_collection_networks() -> Vec<String> {
    vec!["efecty".into()]
}

impl DlocalConfig {
    /// A configuration collecting at Efecty with the default timeouts and tolerance.
    pub fn new(
        base_url: impl Into<String>,
        login: impl Into<String>,
        trans_key: impl Into<String>,
        secret_key: impl Into<String>,
    ) -> DlocalConfig {
        DlocalConfig {
            base_url: base_url.into(),
            login: login.into(),
            trans_key: trans_key.into(),
            secret_key: secret_key.into(),
            collection_networks: default_collection_networks(),
            request_timeout_ms: REQUEST_TIMEOUT_MS_DEFAULT,
            connect_timeout_ms: CONNECT_TIMEOUT_MS_DEFAULT,
            callback_tolerance_seconds: CALLBACK_TOLERANCE_SECONDS_DEFAULT,
            notification_url: None,
        }
    }
}

impl fmt::Debug for DlocalConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DlocalConfig")
            .field("base_url", &self.base_url)
            .field("login", &REDACTED)
            .field("trans_key", &REDACTED)
            .field("secret_key", &REDACTED)
            .field("collection_networks", &self.collection_networks)
            .field("request_timeout_ms", &self.request_timeout_ms)
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .field(
                "callback_tolerance_seconds",
                &self.callback_tolerance_seconds,
            )
            .field("notification_url", &self.notification_url)
            .finish()
    }
}

/// Why a [`DlocalConnector`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DlocalConfigError {
    /// The base URL is not an `http(s)://host[:port][/prefix]` URL.
    #[error("invalid dLocal base URL {url:?}: {reason}")]
    InvalidBaseUrl {
        /// As configured.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A cash network dLocal does not collect at.
    #[error("dLocal collects no cash at {0:?} (only efecty)")]
    UnsupportedNetwork(String),
    /// A credential is empty.
    #[error("the dLocal {0} is empty")]
    MissingCredential(&'static str),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}
