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
//! - Refunds of cash pay-ins are paid by dLocal by bank transfer ([`REFUND_METHOD`]):
//!   `POST /refunds`, `GET /refunds/{id}` and the refund notification (posted to the payment
//!   notification URL + `/refunds`), read through one status table (`refund`).

use jiff::Timestamp;
use reqwest::{Method, Url};

use crate::http::header;
use crate::{
    BoxFuture, Callback, CallbackError, ConnectError, Connector, CreatePickup, CreateVoucher,
    Evidence, Exchange, NetworkOrder, NetworkRefund, OrderKind, RefundRequest,
};

pub mod codes;
mod config;
mod refund;
mod report;
pub mod signing;
mod transport;
pub mod wire;

pub use config::{
    BASE_URL_LIVE, BASE_URL_SANDBOX, CALLBACK_TOLERANCE_SECONDS_DEFAULT,
    CONNECT_TIMEOUT_MS_DEFAULT, DlocalConfig, DlocalConfigError, REQUEST_TIMEOUT_MS_DEFAULT,
};
pub use refund::{
    INSUFFICIENT_FUNDS, NOTIFICATION_PATH as REFUND_NOTIFICATION_PATH, REFUND_STATUS_CODES,
    parse_refund, parse_refund_notification, refund_request, refund_status_of,
};
pub use report::{COLUMNS as REPORT_COLUMNS, parse_report};
pub use transport::{EVIDENCE_BODY_BYTES_MAX, RESPONSE_BYTES_MAX, error_answer};

use transport::{Call, DUPLICATE, error_from, order_from};

/// Our refund method for a dLocal cash pay-in: dLocal pays refunds of alternative payment
/// methods by bank transfer to the customer (<https://docs.dlocal.com/docs/refunds>).
pub const REFUND_METHOD: &str = "bank_transfer";

/// The connector to dLocal's Payins API.
#[derive(Debug, Clone)]
pub struct DlocalConnector {
    config: DlocalConfig,
    base: Url,
    http: reqwest::Client,
}

impl DlocalConnector {
    /// Checks the configuration and builds the HTTP client (no redirects, explicit timeouts).
    pub fn new(config: DlocalConfig) -> Result<DlocalConnector, DlocalConfigError> {
        let base = crate::http::base_url(&config.base_url).map_err(|reason| {
            DlocalConfigError::InvalidBaseUrl {
                url: config.base_url.clone(),
                reason,
            }
        })?;
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
        let http = crate::http::client(config.connect_timeout_ms, config.request_timeout_ms)
            .map_err(|e| DlocalConfigError::Client(e.to_string()))?;
        Ok(DlocalConnector { config, base, http })
    }

    /// The configuration in force.
    pub fn config(&self) -> &DlocalConfig {
        &self.config
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

    /// `POST /payments/{id}/cancel`; the payment read again when the answer has no ticket.
    async fn cancel_payment(&self, id: &str) -> Exchange<NetworkOrder> {
        let url = self.url(&["payments", id, "cancel"], &[]);
        let (reply, evidence) = self.send(Method::POST, url, Vec::new()).await;
        match reply {
            Ok(reply) if matches!(reply.status, 200 | 201) => {
                match wire::parse_payment(&reply.body) {
                    Ok(payment) => Exchange::new(Ok(payment.order), vec![evidence]),
                    // The cancel answer is not documented as carrying the ticket: read
                    // the payment again.
                    Err(_) => self.payment(id, vec![evidence]).await,
                }
            }
            Ok(reply) => Exchange::new(Err(error_from(&reply, Call::Cancel)), vec![evidence]),
            Err(e) => Exchange::new(Err(e), vec![evidence]),
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

impl DlocalConnector {
    /// Checks a notification's `V2-HMAC-SHA256` signature (constant time) and its `X-Date`.
    fn verify_signed(
        &self,
        headers: &[(String, String)],
        body: &[u8],
        now: Timestamp,
    ) -> Result<(), CallbackError> {
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
        Ok(())
    }
}

/// dLocal holds no pick-ups: a question about one is answered "not found" without asking.
fn collections_only<'a>(
    kind: OrderKind,
    call: impl Future<Output = Exchange<NetworkOrder>> + Send + 'a,
) -> BoxFuture<'a, Exchange<NetworkOrder>> {
    Box::pin(async move {
        match kind {
            OrderKind::Collection => call.await,
            OrderKind::Payout => Exchange::new(Err(ConnectError::NotFound), Vec::new()),
        }
    })
}

fn not_served(kind: OrderKind, network: &str) -> ConnectError {
    ConnectError::Rejected {
        code: "method_not_supported".into(),
        message: format!("dLocal takes no {kind:?} at {network:?}"),
    }
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
        collections_only(kind, async move {
            self.by_reference(&reference, Vec::new()).await
        })
    }

    fn get(
        &self,
        kind: OrderKind,
        network_order_id: &str,
    ) -> BoxFuture<'_, Exchange<NetworkOrder>> {
        let id = network_order_id.to_owned();
        collections_only(kind, async move { self.payment(&id, Vec::new()).await })
    }

    fn cancel(
        &self,
        kind: OrderKind,
        network_order_id: &str,
    ) -> BoxFuture<'_, Exchange<NetworkOrder>> {
        let id = network_order_id.to_owned();
        collections_only(kind, async move { self.cancel_payment(&id).await })
    }

    fn verify_callback(
        &self,
        headers: &[(String, String)],
        body: &[u8],
        now: Timestamp,
    ) -> Result<Callback, CallbackError> {
        self.verify_signed(headers, body, now)?;
        wire::parse_notification(body)
    }

    fn refund_method(&self) -> Option<&'static str> {
        Some(REFUND_METHOD)
    }

    fn refund(&self, request: &RefundRequest) -> BoxFuture<'_, Exchange<NetworkRefund>> {
        let request = request.clone();
        Box::pin(async move { self.send_refund(request).await })
    }

    fn verify_refund_callback(
        &self,
        headers: &[(String, String)],
        body: &[u8],
        now: Timestamp,
    ) -> Result<NetworkRefund, CallbackError> {
        self.verify_signed(headers, body, now)?;
        refund::parse_refund_notification(body)
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
}
