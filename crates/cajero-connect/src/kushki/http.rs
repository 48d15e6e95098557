//! Talking to Kushki: one request with one credential header, the answer read in full and
//! bounded, and the exchange kept as evidence with every credential and signature redacted.

use std::time::Instant;

use jiff::Timestamp;
use reqwest::{Method, Url};

use super::KushkiConnector;
use super::webhook::HEADER_SIGNATURE;
use crate::{ConnectError, Evidence};

/// Largest body kept in evidence; the rest is cut and counted.
pub const EVIDENCE_BODY_BYTES_MAX: usize = 64 * 1024;
/// Largest answer read (reports are the largest).
pub const RESPONSE_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Shown in evidence in place of a credential.
const REDACTED: &str = "[redacted]";
const HEADER_PUBLIC: &str = "public-merchant-id";
const HEADER_PRIVATE: &str = "private-merchant-id";

/// Which credential a call carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Credential {
    Public,
    Private,
}

/// An answer read in full.
#[derive(Debug)]
pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) body: Vec<u8>,
}

impl KushkiConnector {
    /// `base` + percent-encoded `segments` + `query`.
    pub(super) fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
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
    pub(super) async fn send(
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
}

/// The path of a target, without its query.
fn url_path(target: &str) -> &str {
    target.split('?').next().unwrap_or(target)
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
pub(super) fn evidence_text(body: &[u8]) -> String {
    match body.get(..EVIDENCE_BODY_BYTES_MAX) {
        Some(kept) if kept.len() < body.len() => format!(
            "{}\n[{} more bytes not kept]",
            String::from_utf8_lossy(kept),
            body.len() - kept.len()
        ),
        _ => String::from_utf8_lossy(body).into_owned(),
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
