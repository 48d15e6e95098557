//! The PayU Latam connector: cash pay-ins at Efecty (`EFECTY`) and SuRed (`OTHERS_CASH`)
//! through PayU Colombia's Payments API, queried through its Queries API, confirmed by its
//! confirmation page. PayU has no cash payouts: [`PayuConnector`] serves collections only.
//!
//! - Create: `POST {base}/payments-api/4.0/service.cgi`, `SUBMIT_TRANSACTION`
//!   (`AUTHORIZATION_AND_CAPTURE`), signed in the body (see [`signing`]); our reference is the
//!   order's `referenceCode`, PayU's `orderId` the network order id.
//! - Read: `POST {base}/reports-api/4.0/service.cgi`, `ORDER_DETAIL` (by PayU's order id) and
//!   `ORDER_DETAIL_BY_REFERENCE_CODE` (by ours, after a timed-out create or a lost
//!   confirmation); `PING` is [`Connector::check`].
//! - Cancel: PayU documents no way to void a cash voucher (voids and refunds are for cards), so
//!   `cancel` answers [`ConnectError::NotCancelable`] without calling; the voucher expires.
//! - Confirmations: a form posted for final states only, verified in [`confirmation`].
//! - Reports: the Sales Report, read by [`parse_report`]; PayU offers it in its module only,
//!   so [`Connector::settlement_file`] fetches it from `sales_report_url` when one is
//!   configured (the simulator serves it).
//!
//! The API key travels in the body of every request and the signature in every create: the
//! evidence keeps the body with both replaced by `[redacted]`, and no error text carries
//! either. Answers are mapped once: HTTP 200 with `code: SUCCESS` → the order; `code: ERROR` →
//! `Rejected { code: "payu_error" }`; a create in a state other than `PENDING` →
//! `Rejected { code: <responseCode in lower case> }`; 5xx or a refused connection →
//! `Unavailable`; no answer in time → `Timeout`; anything else → `Protocol`.

use std::fmt;
use std::sync::Arc;

use jiff::Timestamp;
use reqwest::Url;
use serde_json::{Value, json};

use crate::http::{self, Reply, Shown, Wording, evidence_text};
use crate::{
    BoxFuture, Callback, CallbackError, ConnectError, Connector, CreatePickup, CreateVoucher,
    Evidence, Exchange, NetworkOrder, OrderKind,
};

pub mod codes;
mod config;
pub mod confirmation;
pub mod report;
pub mod signing;
pub mod wire;

pub use codes::limits;
pub use config::{PayuConfig, PayuContact};
pub use confirmation::redact_confirmation;
pub use report::parse_report;
pub use signing::SignatureAlgorithm;

pub use http::{
    CONNECT_TIMEOUT_MS_DEFAULT, EVIDENCE_BODY_BYTES_MAX, REDACTED, REQUEST_TIMEOUT_MS_DEFAULT,
    RESPONSE_BYTES_MAX,
};

/// Path of the Payments API under the base URL.
pub const PAYMENTS_PATH: &str = "payments-api/4.0/service.cgi";
/// Path of the Queries API under the base URL.
pub const QUERIES_PATH: &str = "reports-api/4.0/service.cgi";
/// Production base URL.
pub const BASE_URL_PRODUCTION: &str = "https://api.payulatam.com";
/// Sandbox base URL.
pub const BASE_URL_SANDBOX: &str = "https://sandbox.api.payulatam.com";
/// How a lost answer is worded: without reqwest's text (which names the URL), as PayU's errors
/// have always been worded.
const WORDING: Wording = Wording::without_cause("cannot connect");

/// Why a [`PayuConnector`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayuConnectorError {
    /// The base URL is not an `http(s)://host[:port][/prefix]` URL.
    #[error("invalid PayU base URL {url:?}: {reason}")]
    InvalidBaseUrl {
        /// As configured.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A configured network is not one PayU collects at.
    #[error("PayU does not collect at {0:?} (it collects at efecty and sured)")]
    UnknownNetwork(String),
    /// HMAC-SHA256 confirmations without their key.
    #[error("confirmation_signature = \"hmac_sha256\" needs confirmation_hmac_key")]
    MissingHmacKey,
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// The clock a connector reads (PayU's `expirationDate` is an instant, computed from it).
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The connector to PayU Latam.
#[derive(Clone)]
pub struct PayuConnector {
    config: PayuConfig,
    base: Url,
    http: reqwest::Client,
    clock: Clock,
}

impl fmt::Debug for PayuConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayuConnector")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl PayuConnector {
    /// Checks the configuration and builds the HTTP client (no redirects, explicit timeouts).
    pub fn new(config: PayuConfig) -> Result<PayuConnector, PayuConnectorError> {
        let base = http::base_url(&config.base_url).map_err(|reason| {
            PayuConnectorError::InvalidBaseUrl {
                url: config.base_url.clone(),
                reason,
            }
        })?;
        if let Some(unknown) = config
            .networks
            .iter()
            .find(|n| codes::method_for_network(n).is_none())
        {
            return Err(PayuConnectorError::UnknownNetwork(unknown.clone()));
        }
        if config.confirmation_signature == SignatureAlgorithm::HmacSha256
            && config.confirmation_hmac_key.is_none()
        {
            return Err(PayuConnectorError::MissingHmacKey);
        }
        let http = http::client(config.connect_timeout_ms, config.request_timeout_ms)
            .map_err(|e| PayuConnectorError::Client(e.to_string()))?;
        Ok(PayuConnector {
            config,
            base,
            http,
            clock: Arc::new(Timestamp::now),
        })
    }

    /// The same connector reading `clock` instead of the host's (tests against a simulator
    /// whose clock is not the host's).
    pub fn with_clock(mut self, clock: Clock) -> PayuConnector {
        self.clock = clock;
        self
    }

    /// The configuration in force.
    pub fn config(&self) -> &PayuConfig {
        &self.config
    }

    fn url(&self, path: &str) -> Url {
        let segments: Vec<&str> = path.split('/').collect();
        http::join(&self.base, &segments, &[])
    }

    /// `text` with every configured secret replaced.
    fn scrub(&self, text: &str) -> String {
        http::scrub(text, &self.config.secrets())
    }

    /// Posts `body` as JSON to `url`, reads the answer, and records the exchange with the body
    /// redacted.
    async fn post(
        &self,
        operation: &str,
        url: Url,
        body: &Value,
    ) -> (Result<Reply, ConnectError>, Evidence) {
        let at = Timestamp::now();
        let shown = wire::redacted(body);
        let request_text = format!(
            "POST {}\ncontent-type: application/json\naccept: application/json\n\n{}",
            url.path(),
            self.scrub(&evidence_text(shown.to_string().as_bytes()))
        );
        let request = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(body.to_string());
        let shown = Shown {
            operation: operation.into(),
            request: request_text,
            at,
        };
        let (result, mut evidence) = http::exchange(request, shown, WORDING).await;
        // The answer or the error, as kept, with any secret echoed back scrubbed.
        evidence.response = self.scrub(&evidence.response);
        let result = result.and_then(|reply| match reply.status {
            200 => Ok(reply),
            500..=599 => Err(ConnectError::Unavailable(format!("HTTP {}", reply.status))),
            status => Err(ConnectError::Protocol(format!(
                "HTTP {status}: {}",
                self.scrub(&evidence_text(reply.body.get(..256).unwrap_or(&reply.body)))
            ))),
        });
        (result, evidence)
    }

    async fn query_order(&self, command: &str, details: Value) -> Exchange<NetworkOrder> {
        let body = wire::query(&self.config, command, Some(details));
        let (reply, evidence) = self.post(command, self.url(QUERIES_PATH), &body).await;
        let result = reply.and_then(|r| wire::parse_order_detail(&r.body));
        Exchange::new(result.map_err(|e| self.scrub_error(e)), vec![evidence])
    }

    fn scrub_error(&self, error: ConnectError) -> ConnectError {
        http::scrub_error(error, &self.config.secrets())
    }
}

/// The refusal of anything but a collection: PayU has no cash payouts.
fn method_not_supported() -> ConnectError {
    ConnectError::Rejected {
        code: "method_not_supported".into(),
        message: "PayU Latam has no cash pick-up payouts".into(),
    }
}

impl Connector for PayuConnector {
    fn networks(&self) -> Vec<String> {
        self.config.networks.clone()
    }

    fn serves(&self, kind: OrderKind, network: &str) -> bool {
        kind == OrderKind::Collection && self.config.networks.iter().any(|n| n == network)
    }

    fn create_voucher(&self, request: &CreateVoucher) -> BoxFuture<'_, Exchange<NetworkOrder>> {
        let request = request.clone();
        Box::pin(async move {
            let method = match codes::method_for_network(&request.network)
                .filter(|_| self.serves(OrderKind::Collection, &request.network))
            {
                Some(method) => method,
                None => {
                    let error = ConnectError::Rejected {
                        code: "network_not_supported".into(),
                        message: format!(
                            "this PayU account does not collect at {}",
                            request.network
                        ),
                    };
                    return Exchange::new(Err(error), Vec::new());
                }
            };
            let body =
                match wire::submit_transaction(&self.config, method, &request, (self.clock)()) {
                    Ok(body) => body,
                    Err(e) => return Exchange::new(Err(e), Vec::new()),
                };
            let (reply, evidence) = self
                .post("SUBMIT_TRANSACTION", self.url(PAYMENTS_PATH), &body)
                .await;
            let result = reply.and_then(|r| wire::parse_submit(&r.body, method, &request));
            Exchange::new(result.map_err(|e| self.scrub_error(e)), vec![evidence])
        })
    }

    fn create_pickup(&self, _request: &CreatePickup) -> BoxFuture<'_, Exchange<NetworkOrder>> {
        Box::pin(async { Exchange::new(Err(method_not_supported()), Vec::new()) })
    }

    fn find_by_reference(
        &self,
        kind: OrderKind,
        reference: &str,
    ) -> BoxFuture<'_, Exchange<NetworkOrder>> {
        let reference = reference.to_owned();
        Box::pin(async move {
            if kind != OrderKind::Collection {
                return Exchange::new(Err(method_not_supported()), Vec::new());
            }
            self.query_order(
                "ORDER_DETAIL_BY_REFERENCE_CODE",
                json!({"referenceCode": reference}),
            )
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
            if kind != OrderKind::Collection {
                return Exchange::new(Err(method_not_supported()), Vec::new());
            }
            // PayU's order ids are numbers; anything else cannot be one of its orders.
            let Ok(order_id) = id.parse::<u64>() else {
                return Exchange::new(Err(ConnectError::NotFound), Vec::new());
            };
            self.query_order("ORDER_DETAIL", json!({"orderId": order_id}))
                .await
        })
    }

    fn cancel(
        &self,
        kind: OrderKind,
        _network_order_id: &str,
    ) -> BoxFuture<'_, Exchange<NetworkOrder>> {
        Box::pin(async move {
            let error = if kind == OrderKind::Collection {
                // PayU documents no void of a cash voucher: it stays payable until it expires.
                ConnectError::NotCancelable
            } else {
                method_not_supported()
            };
            Exchange::new(Err(error), Vec::new())
        })
    }

    fn verify_callback(
        &self,
        _headers: &[(String, String)],
        body: &[u8],
        _now: Timestamp,
    ) -> Result<Callback, CallbackError> {
        confirmation::Verifier {
            merchant_id: &self.config.merchant_id,
            api_key: &self.config.api_key,
            algorithm: self.config.confirmation_signature,
            hmac_key: self.config.confirmation_hmac_key.as_deref(),
        }
        .verify(body)
        .map_err(|e| match e {
            CallbackError::Malformed(m) => CallbackError::Malformed(self.scrub(&m)),
            other => other,
        })
    }

    fn settlement_file(
        &self,
        _network: &str,
        date: &str,
        format: &str,
    ) -> BoxFuture<'_, Exchange<Vec<u8>>> {
        let date = date.to_owned();
        let format = format.to_owned();
        Box::pin(async move {
            let Some(url) = self.config.sales_report_url.as_deref() else {
                let error = ConnectError::Rejected {
                    code: "report_not_available".into(),
                    message: "PayU offers the Sales Report in its module only; no sales_report_url is configured".into(),
                };
                return Exchange::new(Err(error), Vec::new());
            };
            if format != "csv" {
                let error = ConnectError::Rejected {
                    code: "format_not_supported".into(),
                    message: format!("the Sales Report comes as csv, not {format}"),
                };
                return Exchange::new(Err(error), Vec::new());
            }
            let url = match Url::parse(url) {
                Ok(url) => url,
                Err(e) => {
                    let error = ConnectError::Protocol(format!("sales_report_url: {e}"));
                    return Exchange::new(Err(error), Vec::new());
                }
            };
            // Not a PayU endpoint: the API key is never sent there, only the login.
            let body = json!({
                "command": "SALES_REPORT",
                "merchant": {"apiLogin": self.config.api_login},
                "details": {"date": date, "accountId": self.config.account_id},
            });
            let (reply, evidence) = self.post("SALES_REPORT", url, &body).await;
            Exchange::new(reply.map(|r| r.body), vec![evidence])
        })
    }

    fn check(&self) -> BoxFuture<'_, Exchange<()>> {
        Box::pin(async move {
            let body = wire::query(&self.config, "PING", None);
            let (reply, evidence) = self.post("PING", self.url(PAYMENTS_PATH), &body).await;
            let result = reply.and_then(|r| wire::parse_ping(&r.body));
            Exchange::new(result.map_err(|e| self.scrub_error(e)), vec![evidence])
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn contact() -> PayuContact {
        PayuContact {
            email: "pagos@example.co".into(),
            phone: "6015555555".into(),
            street1: "Cra 7 # 71-21".into(),
            city: "Bogotá".into(),
            state: "Bogotá D.C.".into(),
            postal_code: "110231".into(),
            ip_address: "127.0.0.1".into(),
        }
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let mut config = PayuConfig::new(
            "http://h:1",
            "508029",
            "512321",
            "login",
            "very-secret-key",
            contact(),
        );
        config.confirmation_hmac_key = Some("hmac-secret".into());
        let connector = PayuConnector::new(config).unwrap();
        let shown = format!("{connector:?}");
        assert!(!shown.contains("very-secret-key"), "{shown}");
        assert!(!shown.contains("hmac-secret"), "{shown}");
    }

    #[test]
    fn configurations_that_cannot_work_are_refused() {
        let base = PayuConfig::new("http://h:1/payu", "1", "2", "l", "k", contact());
        let mut unknown = base.clone();
        unknown.networks = vec!["baloto".into()];
        assert_eq!(
            PayuConnector::new(unknown).unwrap_err(),
            PayuConnectorError::UnknownNetwork("baloto".into())
        );
        let mut hmac = base.clone();
        hmac.confirmation_signature = SignatureAlgorithm::HmacSha256;
        assert_eq!(
            PayuConnector::new(hmac).unwrap_err(),
            PayuConnectorError::MissingHmacKey
        );
        let mut url = base;
        url.base_url = "ftp://x".into();
        assert!(PayuConnector::new(url).is_err());
    }

    #[test]
    fn paths_are_appended_to_the_base_url() {
        let connector = PayuConnector::new(PayuConfig::new(
            "http://h:1/payu/",
            "1",
            "2",
            "l",
            "k",
            contact(),
        ))
        .unwrap();
        assert_eq!(
            connector.url(PAYMENTS_PATH).as_str(),
            "http://h:1/payu/payments-api/4.0/service.cgi"
        );
        assert_eq!(
            connector.url(QUERIES_PATH).as_str(),
            "http://h:1/payu/reports-api/4.0/service.cgi"
        );
    }

    #[test]
    fn a_configuration_reads_with_its_defaults() {
        let config: PayuConfig = serde_json::from_value(serde_json::json!({
            "base_url": BASE_URL_SANDBOX,
            "merchant_id": "508029",
            "account_id": "512321",
            "api_login": "pRRXKOl8ikMmt9u",
            "api_key": "k",
            "confirmation_signature": "hmac_sha256",
            "confirmation_hmac_key": "h",
            "contact": {
                "email": "pagos@example.co", "phone": "6015555555", "street1": "Cra 7",
                "city": "Bogotá", "state": "Bogotá D.C."
            }
        }))
        .unwrap();
        assert_eq!(config.networks, ["efecty", "sured"]);
        assert_eq!(
            config.confirmation_signature,
            SignatureAlgorithm::HmacSha256
        );
        assert_eq!(config.request_timeout_ms, REQUEST_TIMEOUT_MS_DEFAULT);
        assert_eq!(config.contact.ip_address, "127.0.0.1");
        assert!(!config.test);
        assert!(PayuConnector::new(config).is_ok());
    }

    #[test]
    fn payouts_are_not_served() {
        let connector =
            PayuConnector::new(PayuConfig::new("http://h:1", "1", "2", "l", "k", contact()))
                .unwrap();
        assert!(connector.serves(OrderKind::Collection, "efecty"));
        assert!(connector.serves(OrderKind::Collection, "sured"));
        assert!(!connector.serves(OrderKind::Payout, "efecty"));
        assert!(!connector.serves(OrderKind::Collection, "baloto"));
    }
}
