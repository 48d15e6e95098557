//! dLocal: cash pay-ins at Efecty through dLocal's Payins API (`payment_method_id` `EY`, a
//! `TICKET` in the `DIRECT` flow). dLocal does no cash payouts in Colombia, so this connector
//! takes vouchers only.
//!
//! - Every request is signed `V2-HMAC-SHA256` ([`signing`]); notifications are verified the
//!   same way, in constant time, and refused when their `X-Date` is stale.
//! - A create is `POST /payments` with our reference as `order_id`; the ticket's number,
//!   barcode and expiry become the voucher. A create answered "order id duplicated" (5009) is
//!   resolved by looking the payment up by `order_id`, so creating is idempotent by reference.
//! - By our reference: `GET /orders/{order_id}` (the documented order lookup) gives the payment
//!   id, then `GET /payments/{id}` the payment with its ticket. Cancel:
//!   `POST /payments/{id}/cancel` (documented for pending alternative-method payments).
//! - Statuses and errors are read through the two tables of [`codes`]; anything else is
//!   [`NetworkStatus::Unrecognized`](crate::NetworkStatus::Unrecognized) or a protocol error,
//!   never a guess.
//! - Evidence keeps every exchange with `X-Login`, `X-Trans-Key` and the signature redacted;
//!   the secret key is never sent.
//! - Refunds of cash pay-ins are paid by dLocal by bank transfer ([`REFUND_METHOD`]).

use std::fmt;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use reqwest::{Method, Url};
use serde::Deserialize;

use crate::{
    BoxFuture, Callback, CallbackError, ConnectError, Connector, CreatePickup, CreateVoucher,
    Evidence, Exchange, NetworkOrder, OrderKind,
};

pub mod codes;
mod report;
pub mod signing;
pub mod wire;

pub use report::{COLUMNS as REPORT_COLUMNS, parse_report};

use codes::{ErrorMeaning, error_meaning};
use wire::ErrorWire;

/// Our refund method for a dLocal cash pay-in: dLocal pays refunds of alternative payment
/// methods by bank transfer to the customer (<https://docs.dlocal.com/docs/refunds>).
pub const REFUND_METHOD: &str = "bank_transfer";
/// Default total time for one exchange.
pub const REQUEST_TIMEOUT_MS_DEFAULT: u64 = 10_000;
/// Default time to open a connection.
pub const CONNECT_TIMEOUT_MS_DEFAULT: u64 = 2_000;
/// Default largest distance between a notification's `X-Date` and our clock. dLocal documents
/// none; five minutes, as for the simulator's callbacks.
pub const CALLBACK_TOLERANCE_SECONDS_DEFAULT: u64 = 300;
/// Largest body kept in [`Evidence`]; the rest is cut and counted.
pub const EVIDENCE_BODY_BYTES_MAX: usize = 64 * 1024;
/// Largest answer read (settlement reports are the largest).
pub const RESPONSE_BYTES_MAX: usize = 16 * 1024 * 1024;
/// dLocal's production API.
pub const BASE_URL_LIVE: &str = "https://api.dlocal.com";
/// dLocal's sandbox.
pub const BASE_URL_SANDBOX: &str = "https://sandbox.dlocal.com";
/// What evidence shows instead of a credential or a signature.
const REDACTED: &str = "[redacted]";

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
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// Time to connect.
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// Largest distance between a notification's `X-Date` and our clock.
    #[serde(default = "default_callback_tolerance_seconds")]
    pub callback_tolerance_seconds: u64,
    /// Sent with every create as `notification_url`: `{public_url}/callbacks/{name}`, set by
    /// the server. `None`: the URL configured in dLocal's merchant dashboard.
    #[serde(default)]
    pub notification_url: Option<String>,
}

fn default_collection_networks() -> Vec<String> {
    vec!["efecty".into()]
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

/// The connector to dLocal's Payins API.
#[derive(Debug, Clone)]
pub struct DlocalConnector {
    config: DlocalConfig,
    base: Url,
    http: reqwest::Client,
}

/// An answer read in full.
#[derive(Debug)]
struct Reply {
    status: u16,
    body: Vec<u8>,
}

/// Which call an error answer came to (5002 and 5009 mean different things to each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Create,
    Cancel,
    Other,
}

impl DlocalConnector {
    /// Checks the configuration and builds the HTTP client (no redirects, explicit timeouts).
    pub fn new(config: DlocalConfig) -> Result<DlocalConnector, DlocalConfigError> {
        let invalid = |reason: &str| DlocalConfigError::InvalidBaseUrl {
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
        for (name, value) in [
            ("login", &config.login),
            ("trans key", &config.trans_key),
            ("secret key", &config.secret_key),
        ] {
            if value.trim().is_empty() {
                return Err(DlocalConfigError::MissingCredential(name));
            }
        }
        if let Some(network) = config
            .collection_networks
            .iter()
            .find(|n| wire::method_for(n).is_none())
        {
            return Err(DlocalConfigError::UnsupportedNetwork(network.clone()));
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_millis(config.connect_timeout_ms))
            .timeout(Duration::from_millis(config.request_timeout_ms))
            .build()
            .map_err(|e| DlocalConfigError::Client(e.to_string()))?;
        Ok(DlocalConnector { config, base, http })
    }

    /// The configuration in force.
    pub fn config(&self) -> &DlocalConfig {
        &self.config
    }

    /// `base` + percent-encoded `segments` + `query`.
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

    /// Sends one signed request, reads the answer and records the exchange.
    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Vec<u8>,
    ) -> (Result<Reply, ConnectError>, Evidence) {
        let target = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let at = Timestamp::now();
        let x_date = signing::x_date(at);
        let signature =
            signing::signature(&self.config.secret_key, &self.config.login, &x_date, &body);
        let mut request = self
            .http
            .request(method.clone(), url)
            .header("x-date", &x_date)
            .header("x-login", &self.config.login)
            .header("x-trans-key", &self.config.trans_key)
            .header("x-version", signing::API_VERSION)
            .header("authorization", signing::authorization(&signature));
        if !body.is_empty() {
            request = request.header("content-type", "application/json");
        }
        let content_type = if body.is_empty() {
            ""
        } else {
            "content-type: application/json\n"
        };
        let request_text = format!(
            "{method} {target}\nx-date: {x_date}\nx-login: {REDACTED}\nx-trans-key: {REDACTED}\n\
             x-version: {}\n{content_type}authorization: {}, Signature: {REDACTED}\n\n{}",
            signing::API_VERSION,
            signing::SCHEME,
            evidence_text(&body)
        );
        let started = Instant::now();
        let result = read_reply(request.body(body).send().await).await;
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (response_status, response) = match &result {
            Ok(reply) => (Some(reply.status), evidence_text(&reply.body)),
            Err((status, error)) => (*status, error.to_string()),
        };
        let evidence = Evidence {
            operation: format!("{method} {}", url_template(&target)),
            request: request_text,
            response_status,
            response,
            at,
            duration_ms,
        };
        (result.map_err(|(_, e)| e), evidence)
    }

    /// `GET /payments/{id}`, with the evidence gathered so far.
    async fn payment(&self, id: &str, mut evidence: Vec<Evidence>) -> Exchange<NetworkOrder> {
        let url = self.url(&["payments", id], &[]);
        let (reply, e) = self.send(Method::GET, url, Vec::new()).await;
        evidence.push(e);
        let result = reply.and_then(|reply| order_from(&reply, Call::Other));
        Exchange::new(result, evidence)
    }

    async fn by_reference(
        &self,
        reference: &str,
        mut evidence: Vec<Evidence>,
    ) -> Exchange<NetworkOrder> {
        let url = self.url(&["orders", reference], &[]);
        let (reply, e) = self.send(Method::GET, url, Vec::new()).await;
        evidence.push(e);
        let payment_id = reply.and_then(|reply| match reply.status {
            200 => wire::payment_id_of_order(&reply.body),
            _ => Err(error_from(&reply, Call::Other)),
        });
        match payment_id {
            Ok(id) => self.payment(&id, evidence).await,
            Err(error) => Exchange::new(Err(error), evidence),
        }
    }

    async fn create(&self, request: CreateVoucher) -> Exchange<NetworkOrder> {
        if !self.serves(OrderKind::Collection, &request.network) {
            return Exchange::new(
                Err(not_served(OrderKind::Collection, &request.network)),
                Vec::new(),
            );
        }
        let body = match wire::payment_request(&request, self.config.notification_url.as_deref()) {
            Ok(body) => body,
            Err(e) => return Exchange::new(Err(e), Vec::new()),
        };
        let url = self.url(&["payments"], &[]);
        let (reply, evidence) = self.send(Method::POST, url, body).await;
        let result = reply.and_then(|reply| order_from(&reply, Call::Create));
        match result {
            Err(ConnectError::Rejected { code, .. }) if code == DUPLICATE => {
                // The order id is taken: ours, from an earlier create whose answer was lost,
                // unless the amounts differ.
                let found = self.by_reference(&request.reference, vec![evidence]).await;
                let result = found.result.and_then(|order| {
                    if order.amount == request.amount {
                        Ok(order)
                    } else {
                        Err(ConnectError::Rejected {
                            code: "reference_conflict".into(),
                            message: format!(
                                "dLocal holds {} for {} with {} (asked {})",
                                order.network_order_id,
                                request.reference,
                                order.amount,
                                request.amount
                            ),
                        })
                    }
                });
                Exchange::new(result, found.evidence)
            }
            Ok(order) if order.status == crate::NetworkStatus::Expired => Exchange::new(
                Err(ConnectError::Rejected {
                    code: "payment_rejected".into(),
                    message: format!("dLocal created {} already closed", order.network_order_id),
                }),
                vec![evidence],
            ),
            result => Exchange::new(result, vec![evidence]),
        }
    }
}

/// Internal marker of a 5009 answer to a create, resolved by looking the order up.
const DUPLICATE: &str = "__dlocal_duplicate_order_id";

fn not_served(kind: OrderKind, network: &str) -> ConnectError {
    ConnectError::Rejected {
        code: "method_not_supported".into(),
        message: format!("dLocal takes no {kind:?} at {network:?}"),
    }
}

/// The operation of an exchange without ids in it (`GET /payments/{id}`), so that evidence
/// groups by call.
fn url_template(target: &str) -> String {
    let path = target.split('?').next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').collect();
    let mut out = Vec::with_capacity(segments.len());
    for (i, segment) in segments.iter().enumerate() {
        let previous = i.checked_sub(1).and_then(|p| segments.get(p)).copied();
        match previous {
            Some("payments") if !segment.is_empty() => out.push("{id}"),
            Some("orders") => out.push("{order_id}"),
            _ => out.push(segment),
        }
    }
    out.join("/")
}

/// The transport error as the connector reports it: a connection that never opened sent
/// nothing (`Unavailable`); any other lost answer may have been acted on (`Timeout`).
fn transport_error(e: &reqwest::Error) -> ConnectError {
    if e.is_connect() {
        ConnectError::Unavailable("cannot connect to dLocal".into())
    } else if e.is_builder() {
        ConnectError::Protocol("cannot build the request".into())
    } else {
        ConnectError::Timeout
    }
}

async fn read_reply(
    sent: Result<reqwest::Response, reqwest::Error>,
) -> Result<Reply, (Option<u16>, ConnectError)> {
    let mut response = sent.map_err(|e| (None, transport_error(&e)))?;
    let status = response.status().as_u16();
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) if body.len() + chunk.len() > RESPONSE_BYTES_MAX => {
                let error =
                    ConnectError::Protocol(format!("answer over {RESPONSE_BYTES_MAX} bytes"));
                return Err((Some(status), error));
            }
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => return Ok(Reply { status, body }),
            Err(e) => return Err((Some(status), transport_error(&e))),
        }
    }
}

fn evidence_text(body: &[u8]) -> String {
    let kept = body.get(..EVIDENCE_BODY_BYTES_MAX).unwrap_or(body);
    let mut text = String::from_utf8_lossy(kept).into_owned();
    if kept.len() < body.len() {
        text.push_str(&format!(
            "\n[{} more bytes not kept]",
            body.len() - kept.len()
        ));
    }
    text
}

/// The error an answer other than success stands for, by [`codes::ERROR_CODES`].
fn error_from(reply: &Reply, call: Call) -> ConnectError {
    let detail = serde_json::from_slice::<ErrorWire>(&reply.body).ok();
    let Some(detail) = detail else {
        return match reply.status {
            404 => ConnectError::NotFound,
            504 => ConnectError::Timeout,
            s if s >= 500 => ConnectError::Unavailable(format!("dLocal answered HTTP {s}")),
            s => ConnectError::Protocol(format!(
                "HTTP {s}: {}",
                evidence_text(reply.body.get(..256).unwrap_or(&reply.body))
            )),
        };
    };
    let message = match &detail.param {
        Some(param) => format!("{} ({param})", detail.message),
        None => detail.message.clone(),
    };
    let rejected = |code: &str| ConnectError::Rejected {
        code: code.to_owned(),
        message: message.clone(),
    };
    match error_meaning(detail.code) {
        Some(ErrorMeaning::Rejected(code)) => rejected(code),
        Some(ErrorMeaning::NotFound) => ConnectError::NotFound,
        Some(ErrorMeaning::InvalidStatus) if call == Call::Cancel => ConnectError::NotCancelable,
        Some(ErrorMeaning::InvalidStatus) => rejected("invalid_transaction_status"),
        Some(ErrorMeaning::DuplicateOrderId) if call == Call::Create => rejected(DUPLICATE),
        Some(ErrorMeaning::DuplicateOrderId) => rejected("reference_conflict"),
        Some(ErrorMeaning::Unavailable) => {
            ConnectError::Unavailable(format!("dLocal error {}: {message}", detail.code))
        }
        None if reply.status == 504 => ConnectError::Timeout,
        None if reply.status >= 500 => {
            ConnectError::Unavailable(format!("dLocal error {}: {message}", detail.code))
        }
        None => ConnectError::Protocol(format!(
            "HTTP {}: undocumented dLocal error {}: {message}",
            reply.status, detail.code
        )),
    }
}

/// What an error answer to a query (not a create or a cancel) means: the documented code
/// through [`codes::ERROR_CODES`], else by HTTP status.
pub fn error_answer(http_status: u16, body: &[u8]) -> ConnectError {
    error_from(
        &Reply {
            status: http_status,
            body: body.to_vec(),
        },
        Call::Other,
    )
}

/// A success answer as an order.
fn order_from(reply: &Reply, call: Call) -> Result<NetworkOrder, ConnectError> {
    if !matches!(reply.status, 200 | 201) {
        return Err(error_from(reply, call));
    }
    wire::parse_payment(&reply.body).map(|p| p.order)
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

impl Connector for DlocalConnector {
    fn networks(&self) -> Vec<String> {
        self.config.collection_networks.clone()
    }

    fn serves(&self, kind: OrderKind, network: &str) -> bool {
        kind == OrderKind::Collection
            && self.config.collection_networks.iter().any(|n| n == network)
    }

    fn create_voucher(&self, request: &CreateVoucher) -> BoxFuture<'_, Exchange<NetworkOrder>> {
        let request = request.clone();
        Box::pin(async move { self.create(request).await })
    }

    fn create_pickup(&self, request: &CreatePickup) -> BoxFuture<'_, Exchange<NetworkOrder>> {
        // dLocal has no cash pick-up in Colombia: refused without calling.
        let error = not_served(OrderKind::Payout, &request.network);
        Box::pin(async move { Exchange::new(Err(error), Vec::new()) })
    }

    fn find_by_reference(
        &self,
        kind: OrderKind,
        reference: &str,
    ) -> BoxFuture<'_, Exchange<NetworkOrder>> {
        let reference = reference.to_owned();
        Box::pin(async move {
            match kind {
                OrderKind::Collection => self.by_reference(&reference, Vec::new()).await,
                OrderKind::Payout => Exchange::new(Err(ConnectError::NotFound), Vec::new()),
            }
        })
    }

    fn get(
        &self,
        kind: OrderKind,
        network_order_id: &str,
    ) -> BoxFuture<'_, Exchange<NetworkOrder>> {
        let id = network_order_id.to_owned();
        Box::pin(async move {
            match kind {
                OrderKind::Collection => self.payment(&id, Vec::new()).await,
                OrderKind::Payout => Exchange::new(Err(ConnectError::NotFound), Vec::new()),
            }
        })
    }

    fn cancel(
        &self,
        kind: OrderKind,
        network_order_id: &str,
    ) -> BoxFuture<'_, Exchange<NetworkOrder>> {
        let id = network_order_id.to_owned();
        Box::pin(async move {
            if kind == OrderKind::Payout {
                return Exchange::new(Err(ConnectError::NotFound), Vec::new());
            }
            let url = self.url(&["payments", &id, "cancel"], &[]);
            let (reply, evidence) = self.send(Method::POST, url, Vec::new()).await;
            match reply {
                Ok(reply) if matches!(reply.status, 200 | 201) => {
                    match wire::parse_payment(&reply.body) {
                        Ok(payment) => Exchange::new(Ok(payment.order), vec![evidence]),
                        // The cancel answer is not documented as carrying the ticket: read
                        // the payment again.
                        Err(_) => self.payment(&id, vec![evidence]).await,
                    }
                }
                Ok(reply) => Exchange::new(Err(error_from(&reply, Call::Cancel)), vec![evidence]),
                Err(e) => Exchange::new(Err(e), vec![evidence]),
            }
        })
    }

    fn verify_callback(
        &self,
        headers: &[(String, String)],
        body: &[u8],
        now: Timestamp,
    ) -> Result<Callback, CallbackError> {
        let x_date = header(headers, "x-date").ok_or(CallbackError::BadSignature)?;
        let authorization = header(headers, "authorization").ok_or(CallbackError::BadSignature)?;
        if !signing::verify(
            &self.config.secret_key,
            &self.config.login,
            x_date,
            body,
            authorization,
        ) {
            return Err(CallbackError::BadSignature);
        }
        let sent_at = signing::parse_date(x_date).ok_or(CallbackError::BadSignature)?;
        let skew = now.as_second().saturating_sub(sent_at.as_second());
        if skew.unsigned_abs() > self.config.callback_tolerance_seconds {
            return Err(CallbackError::StaleTimestamp);
        }
        wire::parse_notification(body)
    }

    fn settlement_file(&self, date: &str, format: &str) -> BoxFuture<'_, Exchange<Vec<u8>>> {
        let date = date.to_owned();
        let format = format.to_owned();
        Box::pin(async move {
            // ASSUMPTION: dLocal delivers settlement reports by SFTP or e-mail; this path is
            // the simulator's, and live dLocal answers it 404 (`NotFound`).
            let url = self.url(
                &["reports", "settlement"],
                &[("date", &date), ("format", &format)],
            );
            let (reply, evidence) = self.send(Method::GET, url, Vec::new()).await;
            let result = reply.and_then(|reply| match reply.status {
                200 => Ok(reply.body),
                _ => Err(error_from(&reply, Call::Other)),
            });
            Exchange::new(result, vec![evidence])
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn config() -> DlocalConfig {
        DlocalConfig::new(
            "http://h:1/dlocal",
            "the-login",
            "the-trans-key",
            "the-secret",
        )
    }

    #[test]
    fn no_credential_shows_in_debug_output() {
        let text = format!("{:?}", DlocalConnector::new(config()).unwrap());
        for secret in ["the-login", "the-trans-key", "the-secret"] {
            assert!(!text.contains(secret), "{text}");
        }
    }

    #[test]
    fn configurations_dlocal_cannot_serve_are_refused() {
        let sured = DlocalConfig {
            collection_networks: vec!["efecty".into(), "sured".into()],
            ..config()
        };
        assert_eq!(
            DlocalConnector::new(sured).unwrap_err(),
            DlocalConfigError::UnsupportedNetwork("sured".into())
        );
        let empty = DlocalConfig {
            secret_key: " ".into(),
            ..config()
        };
        assert!(DlocalConnector::new(empty).is_err());
        for url in ["mailto:a@b.c", "http://h/?q=1", "nonsense"] {
            let bad = DlocalConfig {
                base_url: url.into(),
                ..config()
            };
            assert!(DlocalConnector::new(bad).is_err(), "{url}");
        }
    }

    #[test]
    fn it_collects_at_efecty_and_pays_out_nowhere() {
        let connector = DlocalConnector::new(config()).unwrap();
        assert!(connector.serves(OrderKind::Collection, "efecty"));
        assert!(!connector.serves(OrderKind::Collection, "sured"));
        assert!(!connector.serves(OrderKind::Payout, "efecty"));
    }

    #[test]
    fn operations_name_the_call_without_ids() {
        assert_eq!(url_template("/dlocal/payments"), "/dlocal/payments");
        assert_eq!(
            url_template("/dlocal/payments/D-4-1/cancel"),
            "/dlocal/payments/{id}/cancel"
        );
        assert_eq!(url_template("/orders/po_1"), "/orders/{order_id}");
    }

    #[test]
    fn error_answers_map_through_the_table() {
        let reply = |status: u16, code: u32| Reply {
            status,
            body: format!(r#"{{"code":{code},"message":"m"}}"#).into_bytes(),
        };
        let rejected = |code: &str| ConnectError::Rejected {
            code: code.into(),
            message: "m".into(),
        };
        assert_eq!(
            error_from(&reply(400, 5007), Call::Create),
            rejected("amount_out_of_range")
        );
        assert_eq!(
            error_from(&reply(400, 5002), Call::Cancel),
            ConnectError::NotCancelable
        );
        assert_eq!(
            error_from(&reply(400, 5002), Call::Other),
            rejected("invalid_transaction_status")
        );
        assert_eq!(
            error_from(&reply(400, 5009), Call::Create),
            rejected(DUPLICATE)
        );
        assert_eq!(
            error_from(&reply(400, 5009), Call::Other),
            rejected("reference_conflict")
        );
        assert_eq!(
            error_from(&reply(404, 4000), Call::Other),
            ConnectError::NotFound
        );
        assert!(matches!(
            error_from(&reply(403, 3001), Call::Other),
            ConnectError::Unavailable(_)
        ));
        assert!(matches!(
            error_from(&reply(400, 9999), Call::Other),
            ConnectError::Protocol(_)
        ));
        assert!(matches!(
            error_from(&reply(502, 9999), Call::Other),
            ConnectError::Unavailable(_)
        ));
        let html = Reply {
            status: 504,
            body: b"<html>".to_vec(),
        };
        assert_eq!(error_from(&html, Call::Create), ConnectError::Timeout);
    }
}
