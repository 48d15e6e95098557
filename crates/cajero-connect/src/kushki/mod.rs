//! Kushki: cash-in (vouchers payable at Efecty) and cash-out (cash pick-up at Efecty), the one
//! gateway in Colombia with cash pick-up payouts.
//!
//! Every create is two calls: a token (`POST /cash/v1/tokens` or `/payouts/cash/v1/tokens`,
//! `Public-Merchant-Id`, the person and the amount) and an init (`POST /cash/v1/charges/init` or
//! `/payouts/cash/v1/init`, `Private-Merchant-Id`, the token, the amount, `expirationDate`, our
//! reference in `metadata`, our notification URL in `webhooks`). A token creates nothing, so a
//! token that times out is `Unavailable`; an init that times out is `Timeout` (it may have
//! created the order). Status and delete go by Kushki's ticket number.
//!
//! **Lookup by our reference.** Kushki documents none. Live, [`KushkiConnector`] answers
//! `find_by_reference` with `Unavailable`, so [`crate::create_once`] never sends a second create
//! after a timed-out init: the order stays unknown (the poller and the webhook, which carries our
//! reference in `metadata`, resolve it; an operator can search Kushki's console). With
//! [`KushkiConfig::lookup_by_reference`] the connector calls
//! `GET /cash/v1/status/by-reference/{reference}` (and `/payouts/cash/v1/…`): a path *the
//! simulator's dialect offers and Kushki does not document* — an assumption, for tests.
//!
//! Secrets (both merchant ids and the webhook signature key) never appear in [`Evidence`], in
//! errors or in `Debug` output: evidence shows `[redacted]` in their place.

use std::fmt;
use std::time::{Duration, Instant};

use cajero_domain::money::Amount;
use cajero_domain::network;
use jiff::{SignedDuration, Timestamp};
use reqwest::{Method, Url};
use serde::{Deserialize, Serialize};

use crate::{
    BoxFuture, Callback, CallbackError, ConnectError, Connector, CreatePickup, CreateVoucher,
    Evidence, Exchange, NetworkOrder, NetworkStatus, OrderKind,
};

mod report;
pub mod webhook;
pub mod wire;

pub use report::{COLUMNS as REPORT_COLUMNS, parse_report};
use wire::{Asked, order_from_init, order_from_status};

/// Kushki's production API.
pub const BASE_URL_LIVE: &str = "https://api.kushkipagos.com";
/// Kushki's sandbox ("UAT").
pub const BASE_URL_SANDBOX: &str = "https://api-uat.kushkipagos.com";
/// Default total time for one exchange.
pub const REQUEST_TIMEOUT_MS_DEFAULT: u64 = 10_000;
/// Default time to open a connection.
pub const CONNECT_TIMEOUT_MS_DEFAULT: u64 = 2_000;
/// Default largest distance between a webhook's `X-Kushki-Id` timestamp and our clock.
pub const CALLBACK_TOLERANCE_SECONDS_DEFAULT: u64 = 300;
/// Largest body kept in evidence; the rest is cut and counted.
pub const EVIDENCE_BODY_BYTES_MAX: usize = 64 * 1024;
/// Largest answer read (reports are the largest).
pub const RESPONSE_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Kushki wants a cash-in `expirationDate` at least one day ahead (gateway-apis.md D20).
pub const COLLECTION_VALIDITY_SECONDS_MIN: i64 = 24 * 3_600;
/// Largest cash-in at Efecty through Kushki (docs.kushki.com/co/en/cash-payments/authorized-locations).
pub const EFECTY_COLLECTION_MAX: i64 = 1_000_000;
/// SuRed (and Gana, Apostar, SuSuerte) through Kushki: COP 3,000–3,000,000 (same page).
pub const SURED_COLLECTION: (i64, i64) = (3_000, 3_000_000);
/// The ticket number `check` asks about: never one of Kushki's (they are digits).
pub const CHECK_TICKET: &str = "cajero-networks-check";
/// Shown in evidence in place of a credential.
const REDACTED: &str = "[redacted]";

const HEADER_PUBLIC: &str = "public-merchant-id";
const HEADER_PRIVATE: &str = "private-merchant-id";

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
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KushkiConfig {
    /// [`BASE_URL_LIVE`] or [`BASE_URL_SANDBOX`] (a path prefix is kept).
    pub base_url: String,
    /// The public merchant id (`Public-Merchant-Id`, tokens).
    pub public_merchant_id: String,
    /// The private merchant id (`Private-Merchant-Id`, inits, status, delete, reports).
    pub private_merchant_id: String,
    /// The "webhook signature" key from Kushki's console, for `X-Kushki-Signature`.
    pub webhook_signature_key: String,
    /// Cash networks where Kushki's vouchers are paid, of `efecty`, `sured`.
    #[serde(default = "default_networks")]
    pub collection_networks: Vec<String>,
    /// Cash networks where Kushki's pick-ups are paid: only `efecty`.
    #[serde(default = "default_networks")]
    pub payout_networks: Vec<String>,
    /// Kushki requires a contact email on cash-out tokens; cajero does not ask beneficiaries
    /// for one, so the merchant's operations address goes.
    pub payout_contact_email: String,
    /// Likewise a contact phone on cash-out tokens.
    pub payout_contact_phone: String,
    /// Total time of one exchange.
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// Time to connect.
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// Largest distance between a webhook's timestamp and our clock.
    #[serde(default = "default_callback_tolerance_seconds")]
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
fn default_request_timeout_ms() -> u64 {
    REQUEST_TIMEOUT_MS_DEFAULT
}
fn default_connect_timeout_ms() -> u64 {
    CONNECT_TIMEOUT_MS_DEFAULT
}
fn default_callback_tolerance_seconds() -> u64 {
    CALLBACK_TOLERANCE_SECONDS_DEFAULT
}

impl KushkiConfig {
    /// A configuration with Efecty for both kinds, default timeouts, no notification URL.
    pub fn new(
        base_url: impl Into<String>,
        public_merchant_id: impl Into<String>,
        private_merchant_id: impl Into<String>,
        webhook_signature_key: impl Into<String>,
    ) -> KushkiConfig {
        KushkiConfig {
            base_url: base_url.into(),
            public_merchant_id: public_merchant_id.into(),
            private_merchant_id: private_merchant_id.into(),
            webhook_signature_key: webhook_signature_key.into(),
            collection_networks: default_networks(),
            payout_networks: default_networks(),
            payout_contact_email: String::new(),
            payout_contact_phone: String::new(),
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
            .field("webhook_signature_key", &REDACTED)
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

/// Why a [`KushkiConnector`] could not be built.
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

/// The connector to Kushki.
#[derive(Debug, Clone)]
pub struct KushkiConnector {
    config: KushkiConfig,
    base: Url,
    http: reqwest::Client,
}

/// Which credential a call carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Credential {
    Public,
    Private,
}

/// An answer read in full.
#[derive(Debug)]
struct Reply {
    status: u16,
    body: Vec<u8>,
}

impl KushkiConnector {
    /// Checks the configuration and builds the HTTP client (no redirects, explicit timeouts).
    pub fn new(config: KushkiConfig) -> Result<KushkiConnector, KushkiConfigError> {
        let invalid = |reason: &str| KushkiConfigError::InvalidBaseUrl {
            url: config.base_url.clone(),
            reason: reason.to_owned(),
        };
        let base = Url::parse(&config.base_url).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(invalid("not an http(s) URL"));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(invalid("has a query or a fragment"));
        }
        for (field, value) in [
            ("public_merchant_id", &config.public_merchant_id),
            ("private_merchant_id", &config.private_merchant_id),
            ("webhook_signature_key", &config.webhook_signature_key),
        ] {
            if value.trim().is_empty() {
                return Err(KushkiConfigError::Empty(field));
            }
        }
        for (kind, list) in [
            (OrderKind::Collection, &config.collection_networks),
            (OrderKind::Payout, &config.payout_networks),
        ] {
            if let Some(network) = list.iter().find(|n| limits(kind, n).is_none()) {
                return Err(KushkiConfigError::UnsupportedNetwork {
                    kind,
                    network: network.clone(),
                });
            }
        }
        if !config.payout_networks.is_empty() {
            if config.payout_contact_email.trim().is_empty() {
                return Err(KushkiConfigError::Empty("payout_contact_email"));
            }
            if config.payout_contact_phone.trim().is_empty() {
                return Err(KushkiConfigError::Empty("payout_contact_phone"));
            }
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_millis(config.connect_timeout_ms))
            .timeout(Duration::from_millis(config.request_timeout_ms))
            .build()
            .map_err(|e| KushkiConfigError::Client(e.to_string()))?;
        Ok(KushkiConnector { config, base, http })
    }

    /// The configuration in force.
    pub fn config(&self) -> &KushkiConfig {
        &self.config
    }

    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            // Checked in `new`: an http(s) URL always has path segments.
            path.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// Sends one request with one credential, reads the answer, records the exchange with the
    /// credential redacted.
    async fn send(
        &self,
        method: Method,
        url: Url,
        credential: Credential,
        body: Vec<u8>,
    ) -> (Result<Reply, ConnectError>, Evidence) {
        let target = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let (name, value) = match credential {
            Credential::Public => (HEADER_PUBLIC, &self.config.public_merchant_id),
            Credential::Private => (HEADER_PRIVATE, &self.config.private_merchant_id),
        };
        let mut request = self.http.request(method.clone(), url).header(name, value);
        let mut request_text = format!("{method} {target}\n{name}: {REDACTED}\n");
        if !body.is_empty() {
            request = request.header("content-type", "application/json");
            request_text.push_str("content-type: application/json\n");
        }
        request_text.push('\n');
        request_text.push_str(&evidence_text(&body));
        let at = Timestamp::now();
        let started = Instant::now();
        let result = read_all(request.body(body).send().await).await;
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (response_status, response) = match &result {
            Ok(reply) => (Some(reply.status), evidence_text(&reply.body)),
            Err((status, error)) => (*status, error.to_string()),
        };
        let evidence = Evidence {
            operation: format!("{method} {}", url_path(&target)),
            request: request_text,
            response_status,
            response,
            at,
            duration_ms,
        };
        (result.map_err(|(_, e)| e), evidence)
    }

    /// Checks what Kushki would refuse, then token then init; the evidence of both. `asked`
    /// gets its expiry here, `expires_in_seconds` from now.
    async fn create(
        &self,
        mut asked: Asked<'_>,
        expires_in_seconds: i64,
        token_body: Result<Vec<u8>, ConnectError>,
    ) -> Exchange<NetworkOrder> {
        let kind = asked.kind;
        let admitted = self
            .admissible(kind, asked.network, asked.amount, expires_in_seconds)
            .and_then(|at| token_body.map(|body| (at, body)));
        let token_body = match admitted {
            Ok((at, body)) => {
                asked.expires_at = at;
                body
            }
            Err(e) => return Exchange::new(Err(e), Vec::new()),
        };
        let (token_path, init_path): (&[&str], &[&str]) = match kind {
            OrderKind::Collection => (
                &["cash", "v1", "tokens"],
                &["cash", "v1", "charges", "init"],
            ),
            OrderKind::Payout => (
                &["payouts", "cash", "v1", "tokens"],
                &["payouts", "cash", "v1", "init"],
            ),
        };
        let mut evidence = Vec::with_capacity(2);
        let (reply, e) = self
            .send(
                Method::POST,
                self.url(token_path, &[]),
                Credential::Public,
                token_body,
            )
            .await;
        evidence.push(e);
        let token = match reply.and_then(|r| token_from(&r)) {
            Ok(token) => token,
            // A token creates nothing at Kushki: a lost answer leaves no order behind.
            Err(ConnectError::Timeout) => {
                let error = ConnectError::Unavailable("the token request timed out".into());
                return Exchange::new(Err(error), evidence);
            }
            Err(error) => return Exchange::new(Err(error), evidence),
        };
        let init = wire::init_body(token, &asked, self.config.notification_url.as_deref());
        let init = match serde_json::to_vec(&init) {
            Ok(b) => b,
            Err(e) => {
                let error = ConnectError::Protocol(format!("init body: {e}"));
                return Exchange::new(Err(error), evidence);
            }
        };
        let (reply, e) = self
            .send(
                Method::POST,
                self.url(init_path, &[]),
                Credential::Private,
                init,
            )
            .await;
        evidence.push(e);
        let result = reply.and_then(|r| match r.status {
            200 | 201 => order_from_init(&r.body, &asked),
            status => Err(wire::error_from(status, &r.body)),
        });
        Exchange::new(result, evidence)
    }

    /// A status query at `segments`, as an order of `kind`.
    async fn status(&self, kind: OrderKind, segments: &[&str]) -> Exchange<NetworkOrder> {
        let url = self.url(segments, &[]);
        let (reply, evidence) = self
            .send(Method::GET, url, Credential::Private, Vec::new())
            .await;
        let result = reply.and_then(|r| match r.status {
            200 => {
                let v: serde_json::Value = serde_json::from_slice(&r.body)
                    .map_err(|e| ConnectError::Protocol(format!("status answer: {e}")))?;
                order_from_status(&v, kind).map_err(ConnectError::Protocol)
            }
            status => Err(wire::error_from(status, &r.body)),
        });
        Exchange::new(result, vec![evidence])
    }

    /// Refuses up front what Kushki would refuse: a network or amount outside its limits, a
    /// cash-in valid less than a day.
    fn admissible(
        &self,
        kind: OrderKind,
        network: &str,
        amount: Amount,
        expires_in_seconds: i64,
    ) -> Result<Timestamp, ConnectError> {
        if !self.serves(kind, network) {
            return Err(ConnectError::Rejected {
                code: "network_not_served".into(),
                message: format!("this Kushki connector takes no {kind:?} at {network}"),
            });
        }
        if let Some((min, max)) = limits(kind, network)
            && (amount < min || amount > max)
        {
            return Err(ConnectError::Rejected {
                code: "amount_outside_limits".into(),
                message: format!("Kushki takes {min}–{max} COP at {network}, not {amount}"),
            });
        }
        if kind == OrderKind::Collection && expires_in_seconds < COLLECTION_VALIDITY_SECONDS_MIN {
            return Err(ConnectError::Rejected {
                code: "expiry_outside_limits".into(),
                message: "Kushki wants a cash-in expiration at least one day ahead".into(),
            });
        }
        // Kushki's `expirationDate` has whole seconds: the order expires at that second.
        let at = Timestamp::now()
            .checked_add(SignedDuration::from_secs(expires_in_seconds))
            .map_err(|e| ConnectError::Protocol(format!("expiry: {e}")))?;
        Timestamp::from_second(at.as_second())
            .map_err(|e| ConnectError::Protocol(format!("expiry: {e}")))
    }
}

/// The path of a target, without its query.
fn url_path(target: &str) -> &str {
    target.split('?').next().unwrap_or(target)
}

fn to_body<T: Serialize>(value: &T) -> Result<Vec<u8>, ConnectError> {
    serde_json::to_vec(value).map_err(|e| ConnectError::Protocol(format!("request body: {e}")))
}

/// The `token` of a token answer.
fn token_from(reply: &Reply) -> Result<String, ConnectError> {
    if !matches!(reply.status, 200 | 201) {
        return Err(wire::error_from(reply.status, &reply.body));
    }
    serde_json::from_slice::<serde_json::Value>(&reply.body)
        .ok()
        .and_then(|v| v.get("token")?.as_str().map(str::to_owned))
        .ok_or_else(|| ConnectError::Protocol("token answer without a token".into()))
}

/// A lost answer: a connection never opened sent nothing (`Unavailable`); anything else may
/// have been acted on (`Timeout`).
fn lost(e: &reqwest::Error) -> ConnectError {
    if e.is_connect() {
        ConnectError::Unavailable(format!("cannot connect: {e}"))
    } else if e.is_builder() {
        ConnectError::Protocol(format!("cannot build the request: {e}"))
    } else {
        ConnectError::Timeout
    }
}

/// Reads a whole answer of at most [`RESPONSE_BYTES_MAX`] bytes; errors carry the status seen.
async fn read_all(
    sent: Result<reqwest::Response, reqwest::Error>,
) -> Result<Reply, (Option<u16>, ConnectError)> {
    let mut response = sent.map_err(|e| (None, lost(&e)))?;
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| (Some(status), lost(&e)))?
    {
        if body.len().saturating_add(chunk.len()) > RESPONSE_BYTES_MAX {
            let too_large = format!("answer larger than {RESPONSE_BYTES_MAX} bytes");
            return Err((Some(status), ConnectError::Protocol(too_large)));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Reply { status, body })
}

/// A body as evidence: UTF-8 (lossy), at most [`EVIDENCE_BODY_BYTES_MAX`] bytes kept.
fn evidence_text(body: &[u8]) -> String {
    match body.get(..EVIDENCE_BODY_BYTES_MAX) {
        Some(kept) if kept.len() < body.len() => format!(
            "{}\n[{} more bytes not kept]",
            String::from_utf8_lossy(kept),
            body.len() - kept.len()
        ),
        _ => String::from_utf8_lossy(body).into_owned(),
    }
}

/// The status path of `kind` (`…/status/{ticket}` or `…/status/by-reference/{reference}`).
fn status_segments<'a>(kind: OrderKind, tail: &[&'a str]) -> Vec<&'a str> {
    let mut segments: Vec<&str> = match kind {
        OrderKind::Collection => vec!["cash", "v1", "status"],
        OrderKind::Payout => vec!["payouts", "cash", "v1", "status"],
    };
    segments.extend_from_slice(tail);
    segments
}

impl Connector for KushkiConnector {
    fn networks(&self) -> Vec<String> {
        let mut all = self.config.collection_networks.clone();
        for n in &self.config.payout_networks {
            if !all.contains(n) {
                all.push(n.clone());
            }
        }
        all
    }

    fn serves(&self, kind: OrderKind, network: &str) -> bool {
        let list = match kind {
            OrderKind::Collection => &self.config.collection_networks,
            OrderKind::Payout => &self.config.payout_networks,
        };
        list.iter().any(|n| n == network) && limits(kind, network).is_some()
    }

    fn create_voucher(&self, request: &CreateVoucher) -> BoxFuture<'_, Exchange<NetworkOrder>> {
        let request = request.clone();
        Box::pin(async move {
            let asked = Asked {
                kind: OrderKind::Collection,
                network: &request.network,
                reference: &request.reference,
                amount: request.amount,
                expires_at: Timestamp::UNIX_EPOCH,
            };
            let token = wire::cash_in_token_body(&request).and_then(|b| to_body(&b));
            self.create(asked, request.expires_in_seconds, token).await
        })
    }

    fn create_pickup(&self, request: &CreatePickup) -> BoxFuture<'_, Exchange<NetworkOrder>> {
        let request = request.clone();
        Box::pin(async move {
            let asked = Asked {
                kind: OrderKind::Payout,
                network: &request.network,
                reference: &request.reference,
                amount: request.amount,
                expires_at: Timestamp::UNIX_EPOCH,
            };
            let token = wire::cash_out_token_body(
                &request,
                &self.config.payout_contact_email,
                &self.config.payout_contact_phone,
            )
            .and_then(|b| to_body(&b));
            self.create(asked, request.expires_in_seconds, token).await
        })
    }

    fn find_by_reference(
        &self,
        kind: OrderKind,
        reference: &str,
    ) -> BoxFuture<'_, Exchange<NetworkOrder>> {
        let reference = reference.to_owned();
        Box::pin(async move {
            if !self.config.lookup_by_reference {
                let error = ConnectError::Unavailable(
                    "Kushki documents no lookup by merchant reference".into(),
                );
                return Exchange::new(Err(error), Vec::new());
            }
            self.status(kind, &status_segments(kind, &["by-reference", &reference]))
                .await
        })
    }

    fn get(
        &self,
        kind: OrderKind,
        network_order_id: &str,
    ) -> BoxFuture<'_, Exchange<NetworkOrder>> {
        let ticket = network_order_id.to_owned();
        Box::pin(async move { self.status(kind, &status_segments(kind, &[&ticket])).await })
    }

    fn cancel(
        &self,
        kind: OrderKind,
        network_order_id: &str,
    ) -> BoxFuture<'_, Exchange<NetworkOrder>> {
        let ticket = network_order_id.to_owned();
        Box::pin(async move {
            // Kushki documents no answer body for a delete: read the order first, so that the
            // answer can say what was canceled (and an order already closed is not deleted).
            let before = self.status(kind, &status_segments(kind, &[&ticket])).await;
            let mut evidence = before.evidence;
            let order = match before.result {
                Ok(order) => order,
                Err(e) => return Exchange::new(Err(e), evidence),
            };
            match order.status {
                NetworkStatus::Pending | NetworkStatus::Available | NetworkStatus::Locked => {}
                NetworkStatus::Canceled => return Exchange::new(Ok(order), evidence),
                NetworkStatus::Paid | NetworkStatus::Expired | NetworkStatus::Unrecognized => {
                    return Exchange::new(Err(ConnectError::NotCancelable), evidence);
                }
            }
            let segments: Vec<&str> = match kind {
                OrderKind::Collection => vec!["cash", "v1", "charges", &ticket],
                OrderKind::Payout => vec!["payouts", "cash", "v1", "charges", &ticket],
            };
            let url = self.url(&segments, &[]);
            let (reply, e) = self
                .send(Method::DELETE, url, Credential::Private, Vec::new())
                .await;
            evidence.push(e);
            let result = reply.and_then(|r| match r.status {
                200..=204 => Ok(NetworkOrder {
                    status: NetworkStatus::Canceled,
                    ..order
                }),
                status => Err(wire::error_from(status, &r.body)),
            });
            Exchange::new(result, evidence)
        })
    }

    fn verify_callback(
        &self,
        headers: &[(String, String)],
        body: &[u8],
        now: Timestamp,
    ) -> Result<Callback, CallbackError> {
        webhook::verify(
            &self.config.webhook_signature_key,
            self.config.callback_tolerance_seconds,
            headers,
            body,
            now,
        )
    }

    fn settlement_file(&self, date: &str, format: &str) -> BoxFuture<'_, Exchange<Vec<u8>>> {
        let date = date.to_owned();
        let format = format.to_owned();
        Box::pin(async move {
            // Assumed path: Kushki documents the report as a console download only.
            let url = self.url(
                &["cash", "v1", "reports", "transactions"],
                &[("date", &date), ("format", &format)],
            );
            let (reply, evidence) = self
                .send(Method::GET, url, Credential::Private, Vec::new())
                .await;
            let result = reply.and_then(|r| match r.status {
                200 => Ok(r.body),
                status => Err(wire::error_from(status, &r.body)),
            });
            Exchange::new(result, vec![evidence])
        })
    }

    fn check(&self) -> BoxFuture<'_, Exchange<()>> {
        Box::pin(async move {
            // A status query for a ticket that never exists: authenticated, harmless, and
            // "not found" is the healthy answer.
            let found = self.get(OrderKind::Collection, CHECK_TICKET).await;
            let result = match found.result {
                Ok(_) | Err(ConnectError::NotFound) => Ok(()),
                Err(e) => Err(e),
            };
            Exchange::new(result, found.evidence)
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn config() -> KushkiConfig {
        KushkiConfig {
            payout_contact_email: "ops@example.co".into(),
            payout_contact_phone: "3001234567".into(),
            ..KushkiConfig::new("http://127.0.0.1:1", "pub-123", "priv-456", "whk-789")
        }
    }

    #[test]
    fn no_credential_shows_in_debug_output() {
        let text = format!("{:?}", KushkiConnector::new(config()).unwrap());
        for secret in ["pub-123", "priv-456", "whk-789"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }

    #[test]
    fn networks_kushki_does_not_serve_are_refused_at_configuration() {
        let mut c = config();
        c.payout_networks = vec!["sured".into()];
        assert!(matches!(
            KushkiConnector::new(c),
            Err(KushkiConfigError::UnsupportedNetwork { .. })
        ));
        let mut c = config();
        c.payout_contact_email = String::new();
        assert!(KushkiConnector::new(c).is_err());
    }

    #[test]
    fn it_serves_cash_in_and_cash_out_at_efecty_only_by_default() {
        let k = KushkiConnector::new(config()).unwrap();
        assert!(k.serves(OrderKind::Collection, "efecty"));
        assert!(k.serves(OrderKind::Payout, "efecty"));
        assert!(!k.serves(OrderKind::Collection, "sured"));
        assert!(!k.serves(OrderKind::Payout, "sured"));
        assert_eq!(k.networks(), vec!["efecty".to_owned()]);
    }

    #[test]
    fn long_bodies_are_cut_in_evidence() {
        let text = evidence_text(&vec![b'a'; EVIDENCE_BODY_BYTES_MAX + 3]);
        assert!(text.ends_with("[3 more bytes not kept]"));
        assert_eq!(evidence_text(b"{}"), "{}");
    }

    #[tokio::test]
    async fn amounts_outside_kushkis_limits_are_refused_before_any_call() {
        let k = KushkiConnector::new(config()).unwrap();
        let request = CreateVoucher {
            network: "efecty".into(),
            reference: "pi_1".into(),
            amount: Amount::new(1_000_001).unwrap(),
            customer_name: Some("Ana Gómez".into()),
            customer_document: None,
            expires_in_seconds: 3 * 86_400,
            test_clock: None,
        };
        let got = k.create_voucher(&request).await;
        assert!(got.evidence.is_empty());
        assert!(
            matches!(&got.result, Err(ConnectError::Rejected { code, .. }) if code == "amount_outside_limits"),
            "{:?}",
            got.result
        );
    }

    #[tokio::test]
    async fn without_the_assumed_lookup_a_timed_out_create_is_never_sent_twice() {
        let k = KushkiConnector::new(config()).unwrap();
        let got = k.find_by_reference(OrderKind::Payout, "po_1").await;
        assert!(matches!(got.result, Err(ConnectError::Unavailable(_))));
    }
}
