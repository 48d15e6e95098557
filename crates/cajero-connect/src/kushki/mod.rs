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
//! Secrets (both merchant ids and the webhook signature key) never appear in
//! [`crate::Evidence`], in
//! errors or in `Debug` output: evidence shows `[redacted]` in their place (webhooks kept with
//! [`callback_evidence`] have their signature redacted too).

use cajero_domain::money::Amount;
use jiff::{SignedDuration, Timestamp};
use reqwest::{Method, Url};
use serde::Serialize;

use crate::http as transport;
use crate::{
    BoxFuture, Callback, CallbackError, ConnectError, Connector, CreatePickup, CreateVoucher,
    Exchange, NetworkOrder, NetworkStatus, OrderKind,
};

pub mod codes;
mod config;
mod http;
mod report;
pub mod webhook;
pub mod wire;

pub use config::{
    BASE_URL_LIVE, BASE_URL_SANDBOX, CALLBACK_TOLERANCE_SECONDS_DEFAULT, CHECK_TICKET,
    COLLECTION_VALIDITY_SECONDS_MIN, CONNECT_TIMEOUT_MS_DEFAULT, EFECTY_COLLECTION_MAX,
    KushkiConfig, KushkiConfigError, REQUEST_TIMEOUT_MS_DEFAULT, SURED_COLLECTION, limits,
};
use http::{Credential, Reply};
pub use http::{EVIDENCE_BODY_BYTES_MAX, RESPONSE_BYTES_MAX, callback_evidence};
pub use report::{COLUMNS as REPORT_COLUMNS, parse_report};
use wire::{Asked, order_from_init, order_from_status};

/// The connector to Kushki.
#[derive(Debug, Clone)]
pub struct KushkiConnector {
    config: KushkiConfig,
    base: Url,
    http: reqwest::Client,
}

impl KushkiConnector {
    /// Checks the configuration and builds the HTTP client (no redirects, explicit timeouts).
    pub fn new(config: KushkiConfig) -> Result<KushkiConnector, KushkiConfigError> {
        let base = transport::base_url(&config.base_url).map_err(|reason| {
            KushkiConfigError::InvalidBaseUrl {
                url: config.base_url.clone(),
                reason,
            }
        })?;
        for (field, value) in [
            ("public_merchant_id", &config.public_merchant_id),
            ("private_merchant_id", &config.private_merchant_id),
            ("webhook_secret", &config.webhook_secret),
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
        let http = transport::client(config.connect_timeout_ms, config.request_timeout_ms)
            .map_err(|e| KushkiConfigError::Client(e.to_string()))?;
        Ok(KushkiConnector { config, base, http })
    }

    /// The configuration in force.
    pub fn config(&self) -> &KushkiConfig {
        &self.config
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
            status => Err(codes::error_from(status, &r.body)),
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
            status => Err(codes::error_from(status, &r.body)),
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

fn to_body<T: Serialize>(value: &T) -> Result<Vec<u8>, ConnectError> {
    serde_json::to_vec(value).map_err(|e| ConnectError::Protocol(format!("request body: {e}")))
}

/// The `token` of a token answer.
fn token_from(reply: &Reply) -> Result<String, ConnectError> {
    if !matches!(reply.status, 200 | 201) {
        return Err(codes::error_from(reply.status, &reply.body));
    }
    serde_json::from_slice::<serde_json::Value>(&reply.body)
        .ok()
        .and_then(|v| v.get("token")?.as_str().map(str::to_owned))
        .ok_or_else(|| ConnectError::Protocol("token answer without a token".into()))
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

    fn amount_limits(
        &self,
        kind: OrderKind,
        network: &str,
    ) -> Option<cajero_domain::network::AmountRange> {
        limits(kind, network).map(|(min, max)| cajero_domain::network::AmountRange {
            min: min.minor(),
            max: max.minor(),
        })
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
                self.config.payout_contact_email.as_deref(),
                self.config.payout_contact_phone.as_deref(),
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
                status => Err(codes::error_from(status, &r.body)),
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
            &self.config.webhook_secret,
            self.config.callback_tolerance_seconds,
            headers,
            body,
            now,
        )
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
                status => Err(codes::error_from(status, &r.body)),
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
    use super::http::evidence_text;
    use super::*;

    fn config() -> KushkiConfig {
        KushkiConfig {
            payout_contact_email: Some("ops@example.co".into()),
            payout_contact_phone: Some("3001234567".into()),
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
    }

    #[test]
    fn it_serves_cash_in_and_cash_out_at_efecty_only_by_default() {
        let k = KushkiConnector::new(config()).unwrap();
        assert!(k.serves(OrderKind::Collection, "efecty"));
        assert!(k.serves(OrderKind::Payout, "efecty"));
        assert!(!k.serves(OrderKind::Collection, "sured"));
        assert!(!k.serves(OrderKind::Payout, "sured"));
        assert_eq!(k.networks(), vec!["efecty".to_owned()]);
        let efecty_in = k.amount_limits(OrderKind::Collection, "efecty").unwrap();
        assert_eq!((efecty_in.min, efecty_in.max), (1_000, 1_000_000));
        assert_eq!(k.amount_limits(OrderKind::Payout, "sured"), None);
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
        let Err(ConnectError::Rejected { code, .. }) = &got.result else {
            panic!("{:?}", got.result);
        };
        assert_eq!(code, "amount_outside_limits");
    }

    #[tokio::test]
    async fn without_the_assumed_lookup_a_timed_out_create_is_never_sent_twice() {
        let k = KushkiConnector::new(config()).unwrap();
        let got = k.find_by_reference(OrderKind::Payout, "po_1").await;
        assert!(matches!(got.result, Err(ConnectError::Unavailable(_))));
    }
}
