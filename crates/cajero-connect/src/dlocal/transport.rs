//! The wire under the dLocal connector: signed requests sent through the shared
//! [`transport`](crate::http), the exchange kept as evidence with credentials and
//! signature redacted, and error answers read through
//! [`codes::ERROR_CODES`](super::codes::ERROR_CODES).

use jiff::Timestamp;
use reqwest::{Method, Url};

use super::codes::{ErrorMeaning, error_meaning};
use super::wire::{self, ErrorWire};
use super::{DlocalConnector, signing};
use crate::http::{self as transport, REDACTED, Shown, Wording, evidence_text};
use crate::{ConnectError, Evidence, NetworkOrder};

pub(super) use transport::Reply;
pub use transport::{EVIDENCE_BODY_BYTES_MAX, RESPONSE_BYTES_MAX};

/// How a lost answer is worded: without reqwest's text (which names the URL), as dLocal's
/// errors have always been worded.
const WORDING: Wording = Wording::without_cause("cannot connect to dLocal");

/// Which call an error answer came to (5002 and 5009 mean different things to each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Call {
    Create,
    Cancel,
    Other,
}

impl DlocalConnector {
    /// `base` + percent-encoded `segments` + `query`.
    pub(super) fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        transport::join(&self.base, segments, query)
    }

    /// Sends one signed request, reads the answer and records the exchange.
    pub(super) async fn send(
        &self,
        method: Method,
        url: Url,
        body: Vec<u8>,
    ) -> (Result<Reply, ConnectError>, Evidence) {
        let target = transport::target(&url);
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
        let shown = Shown {
            operation: format!("{method} {}", url_template(&target)),
            request: request_text,
            at,
        };
        transport::exchange(request.body(body), shown, WORDING).await
    }
}

/// Internal marker of a 5009 answer to a create, resolved by looking the order up.
pub(super) const DUPLICATE: &str = "__dlocal_duplicate_order_id";

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

/// The error an answer other than success stands for, by [`codes::ERROR_CODES`].
pub(super) fn error_from(reply: &Reply, call: Call) -> ConnectError {
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
pub(super) fn order_from(reply: &Reply, call: Call) -> Result<NetworkOrder, ConnectError> {
    if !matches!(reply.status, 200 | 201) {
        return Err(error_from(reply, call));
    }
    wire::parse_payment(&reply.body).map(|p| p.order)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

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
