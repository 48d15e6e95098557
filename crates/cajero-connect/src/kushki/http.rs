//! Talking to Kushki: one request with one credential header, sent through the shared
//! [`transport`](crate::http), and the exchange kept as evidence with every credential
//! and signature redacted.

use jiff::Timestamp;
use reqwest::{Method, Url};

use super::KushkiConnector;
use super::webhook::HEADER_SIGNATURE;
use crate::http::{self as transport, REDACTED, Shown, Wording};
use crate::{ConnectError, Evidence};

pub use transport::{EVIDENCE_BODY_BYTES_MAX, RESPONSE_BYTES_MAX};
pub(super) use transport::{Reply, evidence_text};
const HEADER_PUBLIC: &str = "public-merchant-id";
const HEADER_PRIVATE: &str = "private-merchant-id";

/// Which credential a call carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Credential {
    Public,
    Private,
}

impl KushkiConnector {
    /// `base` + percent-encoded `segments` + `query`.
    pub(super) fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        transport::join(&self.base, segments, query)
    }

    /// Sends one request with one credential, reads the answer, records the exchange with the
    /// credential redacted.
    pub(super) async fn send(
        &self,
        method: Method,
        url: Url,
        credential: Credential,
        body: Vec<u8>,
    ) -> (Result<Reply, ConnectError>, Evidence) {
        let target = transport::target(&url);
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
        let shown = Shown {
            operation: format!("{method} {}", transport::path_of(&target)),
            request: request_text,
            at: Timestamp::now(),
        };
        transport::exchange(request.body(body), shown, Wording::WITH_CAUSE).await
    }
}

/// A webhook as evidence, as the server stores it: its headers (the signature redacted) and its
/// raw body.
pub fn callback_evidence(headers: &[(String, String)], body: &[u8], at: Timestamp) -> Evidence {
    let mut request = String::new();
    for (name, value) in headers {
        let shown = if name.eq_ignore_ascii_case(HEADER_SIGNATURE) {
            REDACTED
        } else {
            value.as_str()
        };
        request.push_str(&format!("{name}: {shown}\n"));
    }
    request.push('\n');
    request.push_str(&evidence_text(body));
    Evidence {
        operation: "callback".into(),
        request,
        response_status: None,
        response: String::new(),
        at,
        duration_ms: 0,
    }
}
