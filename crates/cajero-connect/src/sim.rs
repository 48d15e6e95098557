//! The simulator connector: [`SimConnector`] speaks `cajero-sim`'s HTTP protocol (see that
//! crate's README) exactly as a connector to a real network would, over HTTP only.
//!
//! Every request under `/v1` is signed (`Sim-Merchant`, `Sim-Timestamp`, `Sim-Signature`).
//! Answers are mapped once: 201/200 → the order; 422/409 → [`ConnectError::Rejected`] (but
//! `order_not_cancelable` → [`ConnectError::NotCancelable`]); 404 → `NotFound`; 503 →
//! `Unavailable`; 504 or no answer in time → `Timeout`; anything else → `Protocol`. Every
//! exchange comes back as [`Evidence`] without the signature (the secret never leaves the
//! process in any form that could be stored).
//!
//! The simulator also has control and counter endpoints for tests and demos; the calls for
//! them live in [`helpers`] and exist only on this connector, never on the [`Connector`] trait.

use std::fmt;

use jiff::Timestamp;
use reqwest::{Method, Url};
use serde::Deserialize;

use crate::http::{self, Reply, Shown, Wording, evidence_text};
use crate::{
    BoxFuture, Callback, CallbackError, ConnectError, Connector, CreatePickup, CreateVoucher,
    Evidence, Exchange, NetworkOrder, OrderKind,
};

mod callback;
pub mod helpers;
mod signing;
mod wire;

pub use helpers::{CounterOutcome, SimClock, SimCounter};

use signing::{HEADER_MERCHANT, HEADER_TIMESTAMP, sign_request};
use wire::{CreateCollectionBody, CreatePayoutBody, ErrorWire, OrderWire, kind_segment};

pub use http::{
    CALLBACK_TOLERANCE_SECONDS_DEFAULT, CONNECT_TIMEOUT_MS_DEFAULT, EVIDENCE_BODY_BYTES_MAX,
    REQUEST_TIMEOUT_MS_DEFAULT, RESPONSE_BYTES_MAX,
};

/// How to reach the simulator and who we are there.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimConnectorConfig {
    /// `http://127.0.0.1:7070` (a path prefix is kept).
    pub base_url: String,
    /// Our merchant id at the network.
    pub merchant_id: String,
    /// The shared secret (never printed, never stored in evidence).
    pub secret: String,
    /// The network codes this connector serves.
    #[serde(default = "default_networks")]
    pub networks: Vec<String>,
    /// Total time of one exchange.
    #[serde(default = "http::request_timeout_ms_default")]
    pub request_timeout_ms: u64,
    /// Time to connect.
    #[serde(default = "http::connect_timeout_ms_default")]
    pub connect_timeout_ms: u64,
    /// Largest distance between a callback's timestamp and our clock.
    #[serde(default = "http::callback_tolerance_seconds_default")]
    pub callback_tolerance_seconds: u64,
    /// Sent with every create as the order's `callback_url` (as real gateways take a
    /// `notification_url` per payment): where the network calls back about that order. It
    /// should be the shared address in front of every instance, so that any instance gets the
    /// callbacks while another is down. `None`: the merchant's URL configured at the network.
    #[serde(default)]
    pub callback_url: Option<String>,
}

fn default_networks() -> Vec<String> {
    // The simulator's built-in profiles that still take orders (`baloto` is discontinued).
    vec!["efecty".into(), "sured".into()]
}

impl SimConnectorConfig {
    /// A configuration with the default networks, timeouts and tolerance.
    pub fn new(
        base_url: impl Into<String>,
        merchant_id: impl Into<String>,
        secret: impl Into<String>,
    ) -> SimConnectorConfig {
        SimConnectorConfig {
            base_url: base_url.into(),
            merchant_id: merchant_id.into(),
            secret: secret.into(),
            networks: default_networks(),
            request_timeout_ms: REQUEST_TIMEOUT_MS_DEFAULT,
            connect_timeout_ms: CONNECT_TIMEOUT_MS_DEFAULT,
            callback_tolerance_seconds: CALLBACK_TOLERANCE_SECONDS_DEFAULT,
            callback_url: None,
        }
    }
}

impl fmt::Debug for SimConnectorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimConnectorConfig")
            .field("base_url", &self.base_url)
            .field("merchant_id", &self.merchant_id)
            .field("secret", &http::REDACTED)
            .field("networks", &self.networks)
            .field("request_timeout_ms", &self.request_timeout_ms)
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .field(
                "callback_tolerance_seconds",
                &self.callback_tolerance_seconds,
            )
            .field("callback_url", &self.callback_url)
            .finish()
    }
}

/// Why a [`SimConnector`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimConnectorError {
    /// The base URL is not an `http(s)://host[:port][/prefix]` URL.
    #[error("invalid simulator base URL {url:?}: {reason}")]
    InvalidBaseUrl {
        /// As configured.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// The connector to `cajero-sim`.
#[derive(Debug, Clone)]
pub struct SimConnector {
    config: SimConnectorConfig,
    base: Url,
    http: reqwest::Client,
}

impl SimConnector {
    /// Checks the base URL and builds the HTTP client (no redirects, explicit timeouts).
    pub fn new(config: SimConnectorConfig) -> Result<SimConnector, SimConnectorError> {
        let base = http::base_url(&config.base_url).map_err(|reason| {
            SimConnectorError::InvalidBaseUrl {
                url: config.base_url.clone(),
                reason,
            }
        })?;
        let http = http::client(config.connect_timeout_ms, config.request_timeout_ms)
            .map_err(|e| SimConnectorError::Client(e.to_string()))?;
        Ok(SimConnector { config, base, http })
    }

    /// The configuration in force.
    pub fn config(&self) -> &SimConnectorConfig {
        &self.config
    }

    /// `base` + percent-encoded `segments` + `query`.
    pub(crate) fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        http::join(&self.base, segments, query)
    }

    /// Sends one request (signed when `signed`), reads the answer, and records the exchange.
    pub(crate) async fn send(
        &self,
        method: Method,
        url: Url,
        body: Vec<u8>,
        signed: bool,
    ) -> (Result<Reply, ConnectError>, Evidence) {
        let target = http::target(&url);
        let at = Timestamp::now();
        // Headers kept as evidence: everything we send except the signature.
        let mut shown: Vec<(&str, String)> = Vec::new();
        let mut request = self.http.request(method.clone(), url);
        if !body.is_empty() {
            shown.push(("content-type", "application/json".into()));
        }
        if signed {
            shown.push((HEADER_MERCHANT, self.config.merchant_id.clone()));
            shown.push((HEADER_TIMESTAMP, at.as_second().to_string()));
            let signature = sign_request(
                &self.config.secret,
                at.as_second(),
                method.as_str(),
                &target,
                &body,
            );
            request = request.header(signing::HEADER_SIGNATURE, signature);
        }
        for (name, value) in &shown {
            request = request.header(*name, value);
        }
        let mut request_text = format!("{method} {target}\n");
        for (name, value) in &shown {
            request_text.push_str(&format!("{name}: {value}\n"));
        }
        request_text.push('\n');
        request_text.push_str(&evidence_text(&body));
        let shown = Shown {
            operation: format!("{method} {}", http::path_of(&target)),
            request: request_text,
            at,
        };
        http::exchange(request.body(body), shown, Wording::WITH_CAUSE).await
    }

    async fn call_order(
        &self,
        method: Method,
        segments: &[&str],
        body: Result<Vec<u8>, ConnectError>,
        expected: OrderKind,
    ) -> Exchange<NetworkOrder> {
        let body = match body {
            Ok(body) => body,
            Err(e) => return Exchange::new(Err(e), Vec::new()),
        };
        let url = self.url(segments, &[]);
        let (reply, evidence) = self.send(method, url, body, true).await;
        let result = reply.and_then(|reply| order_from(&reply, expected));
        Exchange::new(result, vec![evidence])
    }
}

/// The error an answer other than success stands for.
pub(crate) fn error_from(reply: &Reply) -> ConnectError {
    let detail = serde_json::from_slice::<ErrorWire>(&reply.body)
        .ok()
        .map(|w| w.error);
    match (reply.status, detail) {
        (404, _) => ConnectError::NotFound,
        (409, Some(d)) if d.code == "order_not_cancelable" => ConnectError::NotCancelable,
        (409 | 422, Some(d)) => ConnectError::Rejected {
            code: d.code,
            message: d.message,
        },
        (503, Some(d)) => ConnectError::Unavailable(format!("{}: {}", d.code, d.message)),
        (503, None) => ConnectError::Unavailable("HTTP 503".into()),
        (504, _) => ConnectError::Timeout,
        (status, Some(d)) => {
            ConnectError::Protocol(format!("HTTP {status}: {}: {}", d.code, d.message))
        }
        (status, None) => ConnectError::Protocol(format!(
            "HTTP {status}: {}",
            evidence_text(reply.body.get(..256).unwrap_or(&reply.body))
        )),
    }
}

/// A success answer as an order of the `expected` kind.
fn order_from(reply: &Reply, expected: OrderKind) -> Result<NetworkOrder, ConnectError> {
    if !matches!(reply.status, 200 | 201) {
        return Err(error_from(reply));
    }
    let wire: OrderWire = serde_json::from_slice(&reply.body)
        .map_err(|e| ConnectError::Protocol(format!("order: {e}")))?;
    let order = wire.into_order()?;
    if order.kind != expected {
        return Err(ConnectError::Protocol(format!(
            "asked for a {expected:?}, got a {:?}",
            order.kind
        )));
    }
    Ok(order)
}

fn to_body<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, ConnectError> {
    serde_json::to_vec(value).map_err(|e| ConnectError::Protocol(format!("request body: {e}")))
}

impl Connector for SimConnector {
    fn networks(&self) -> Vec<String> {
        self.config.networks.clone()
    }

    /// A lookup of a reference that never exists at that network: "not found" is healthy, a
    /// network the simulator has taken down answers 503.
    fn probe(&self, network: &str) -> BoxFuture<'_, Exchange<()>> {
        let network = network.to_owned();
        Box::pin(async move {
            let url = self.url(
                &["v1", "collections", "by_reference", crate::CHECK_REFERENCE],
                &[("network", network.as_str())],
            );
            let (reply, evidence) = self.send(Method::GET, url, Vec::new(), true).await;
            let result = match reply {
                Ok(reply) if reply.status == 404 || (200..300).contains(&reply.status) => Ok(()),
                Ok(reply) => Err(error_from(&reply)),
                Err(e) => Err(e),
            };
            Exchange::new(result, vec![evidence])
        })
    }

    fn create_voucher(&self, request: &CreateVoucher) -> BoxFuture<'_, Exchange<NetworkOrder>> {
        let mut body = CreateCollectionBody::from(request);
        body.callback_url = self.config.callback_url.as_deref();
        let body = to_body(&body);
        Box::pin(async move {
            self.call_order(
                Method::POST,
                &["v1", "collections"],
                body,
                OrderKind::Collection,
            )
            .await
        })
    }

    fn create_pickup(&self, request: &CreatePickup) -> BoxFuture<'_, Exchange<NetworkOrder>> {
        let mut body = CreatePayoutBody::from(request);
        body.callback_url = self.config.callback_url.as_deref();
        let body = to_body(&body);
        Box::pin(async move {
            self.call_order(Method::POST, &["v1", "payouts"], body, OrderKind::Payout)
                .await
        })
    }

    fn find_by_reference(
        &self,
        kind: OrderKind,
        reference: &str,
    ) -> BoxFuture<'_, Exchange<NetworkOrder>> {
        let reference = reference.to_owned();
        Box::pin(async move {
            let segments = ["v1", kind_segment(kind), "by_reference", &reference];
            self.call_order(Method::GET, &segments, Ok(Vec::new()), kind)
                .await
        })
    }

    fn get(
        &self,
        kind: OrderKind,
        network_order_id: &str,
    ) -> BoxFuture<'_, Exchange<NetworkOrder>> {
        let id = network_order_id.to_owned();
        Box::pin(async move {
            let segments = ["v1", kind_segment(kind), &id];
            self.call_order(Method::GET, &segments, Ok(Vec::new()), kind)
                .await
        })
    }

    fn cancel(
        &self,
        kind: OrderKind,
        network_order_id: &str,
    ) -> BoxFuture<'_, Exchange<NetworkOrder>> {
        let id = network_order_id.to_owned();
        Box::pin(async move {
            let segments = ["v1", kind_segment(kind), &id, "cancel"];
            self.call_order(Method::POST, &segments, Ok(Vec::new()), kind)
                .await
        })
    }

    fn verify_callback(
        &self,
        headers: &[(String, String)],
        body: &[u8],
        now: Timestamp,
    ) -> Result<Callback, CallbackError> {
        callback::Verifier {
            merchant_id: &self.config.merchant_id,
            secret: &self.config.secret,
            tolerance_seconds: self.config.callback_tolerance_seconds,
        }
        .verify(headers, body, now)
    }

    fn settlement_file(
        &self,
        network: &str,
        date: &str,
        format: &str,
    ) -> BoxFuture<'_, Exchange<Vec<u8>>> {
        let (network, date, format) = (network.to_owned(), date.to_owned(), format.to_owned());
        Box::pin(async move {
            let url = self.url(
                &["v1", "settlement_files", &date],
                &[("format", &format), ("network", &network)],
            );
            let (reply, evidence) = self.send(Method::GET, url, Vec::new(), true).await;
            let result = reply.and_then(|reply| match reply.status {
                200 => Ok(reply.body),
                _ => Err(error_from(&reply)),
            });
            Exchange::new(result, vec![evidence])
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let config = SimConnectorConfig::new("http://127.0.0.1:1", "m1", "very-secret-value");
        let connector = SimConnector::new(config).unwrap();
        assert!(!format!("{connector:?}").contains("very-secret-value"));
    }

    #[test]
    fn base_urls_that_cannot_carry_paths_are_refused() {
        for url in ["mailto:a@b.c", "ftp://x", "http://h/?q=1", "nonsense"] {
            let got = SimConnector::new(SimConnectorConfig::new(url, "m", "s"));
            assert!(got.is_err(), "{url}");
        }
    }

    #[test]
    fn references_are_percent_encoded_as_one_segment() {
        let connector =
            SimConnector::new(SimConnectorConfig::new("http://h:1/prefix/", "m", "s")).unwrap();
        let url = connector.url(&["v1", "payouts", "by_reference", "a/b c?"], &[]);
        assert_eq!(url.path(), "/prefix/v1/payouts/by_reference/a%2Fb%20c%3F");
        let url = connector.url(
            &["v1", "settlement_files", "2026-11-25"],
            &[("format", "csv")],
        );
        assert_eq!(
            url.as_str(),
            "http://h:1/prefix/v1/settlement_files/2026-11-25?format=csv"
        );
    }

    #[test]
    fn long_bodies_are_cut_in_evidence() {
        let text = evidence_text(&vec![b'a'; EVIDENCE_BODY_BYTES_MAX + 10]);
        assert!(text.ends_with("[10 more bytes not kept]"));
    }

    #[test]
    fn error_answers_map_to_connect_errors() {
        let reply = |status: u16, code: &str| Reply {
            status,
            body: format!(r#"{{"error":{{"code":"{code}","message":"m"}}}}"#).into_bytes(),
        };
        let rejected = |code: &str| ConnectError::Rejected {
            code: code.into(),
            message: "m".into(),
        };
        let cases = [
            (
                reply(422, "beneficiary_rejected"),
                rejected("beneficiary_rejected"),
            ),
            (
                reply(409, "reference_conflict"),
                rejected("reference_conflict"),
            ),
            (
                reply(409, "order_not_cancelable"),
                ConnectError::NotCancelable,
            ),
            (reply(404, "not_found"), ConnectError::NotFound),
            (
                reply(503, "network_unavailable"),
                ConnectError::Unavailable("network_unavailable: m".into()),
            ),
            (reply(504, "timeout"), ConnectError::Timeout),
            (
                reply(401, "signature_invalid"),
                ConnectError::Protocol("HTTP 401: signature_invalid: m".into()),
            ),
            (
                Reply {
                    status: 422,
                    body: b"<html>".to_vec(),
                },
                ConnectError::Protocol("HTTP 422: <html>".into()),
            ),
        ];
        for (reply, expected) in cases {
            assert_eq!(error_from(&reply), expected, "{}", reply.status);
        }
    }
}
