//! The HTTP transport every network connector shares: one client with explicit timeouts and no
//! redirects, a checked base URL (a path prefix is kept), one exchange read in full and bounded,
//! transport failures mapped once, and the exchange kept as [`Evidence`].
//!
//! What differs between networks stays in their modules: how a request is signed, which headers
//! it carries and how evidence shows them (each connector writes its own request text, with its
//! credentials redacted), its wire format and its error codes. This module sends what it is
//! given and reads what comes back.
//!
//! A lost answer is mapped the same way for every network: a connection that never opened sent
//! nothing ([`ConnectError::Unavailable`]); any other lost answer may have been acted on
//! ([`ConnectError::Timeout`]: query by reference before retrying).

use std::time::{Duration, Instant};

use jiff::Timestamp;
use reqwest::Url;

use crate::{ConnectError, Evidence};

/// Default total time for one exchange: long enough for a loaded network, short enough that a
/// merchant's API call does not hang (the create is then resolved by reference).
pub const REQUEST_TIMEOUT_MS_DEFAULT: u64 = 10_000;
/// Default time to open a connection; a connect failure means nothing was sent.
pub const CONNECT_TIMEOUT_MS_DEFAULT: u64 = 2_000;
/// Default largest distance between a callback's timestamp and our clock: five minutes, the
/// simulator's own tolerance for requests (dLocal and Kushki document none).
pub const CALLBACK_TOLERANCE_SECONDS_DEFAULT: u64 = 300;
/// Largest body kept in [`Evidence`] (request or response); the rest is cut and counted.
pub const EVIDENCE_BODY_BYTES_MAX: usize = 64 * 1024;
/// Largest answer read from a network (settlement reports are the largest; a day of a busy
/// merchant is well under this, and PayU caps its Sales Report at 20,000 rows).
pub const RESPONSE_BYTES_MAX: usize = 16 * 1024 * 1024;
/// What evidence, errors and `Debug` output show in place of a secret.
pub const REDACTED: &str = "[redacted]";

/// [`REQUEST_TIMEOUT_MS_DEFAULT`], for `#[serde(default = …)]`.
pub(crate) fn request_timeout_ms_default() -> u64 {
    REQUEST_TIMEOUT_MS_DEFAULT
}
/// [`CONNECT_TIMEOUT_MS_DEFAULT`], for `#[serde(default = …)]`.
pub(crate) fn connect_timeout_ms_default() -> u64 {
    CONNECT_TIMEOUT_MS_DEFAULT
}
/// [`CALLBACK_TOLERANCE_SECONDS_DEFAULT`], for `#[serde(default = …)]`.
pub(crate) fn callback_tolerance_seconds_default() -> u64 {
    CALLBACK_TOLERANCE_SECONDS_DEFAULT
}

/// The configured base URL, checked: `http(s)://host[:port][/prefix]`, without a query or a
/// fragment. The error is the reason, for the connector's own `InvalidBaseUrl`.
pub(crate) fn base_url(configured: &str) -> Result<Url, String> {
    let base = Url::parse(configured).map_err(|e| e.to_string())?;
    if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
        return Err("not an http(s) URL".into());
    }
    if base.query().is_some() || base.fragment().is_some() {
        return Err("has a query or a fragment".into());
    }
    Ok(base)
}

/// The HTTP client of one connector: no redirects (a redirect is a misconfigured base URL, and
/// would carry credentials elsewhere), explicit connect and total timeouts.
pub(crate) fn client(
    connect_timeout_ms: u64,
    request_timeout_ms: u64,
) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_millis(connect_timeout_ms))
        .timeout(Duration::from_millis(request_timeout_ms))
        .build()
}

/// `base` + percent-encoded `segments` + `query`.
pub(crate) fn join(base: &Url, segments: &[&str], query: &[(&str, &str)]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        // Checked by `base_url`: an http(s) URL always has path segments.
        path.pop_if_empty().extend(segments);
    }
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    url
}

/// The path and query of `url` (`/v1/orders?reference=…`), as signed and shown in evidence.
pub(crate) fn target(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

/// The path of a target, without its query.
pub(crate) fn path_of(target: &str) -> &str {
    target.split('?').next().unwrap_or(target)
}

/// How a lost answer is worded, as each connector has always worded it: the simulator's and
/// Kushki's errors carry reqwest's own text (which names the URL), dLocal's and PayU's do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Wording {
    /// The message of [`ConnectError::Unavailable`] when no connection opened.
    pub(crate) cannot_connect: &'static str,
    /// Whether reqwest's error follows the message (`cannot connect: …`).
    pub(crate) with_cause: bool,
}

impl Wording {
    /// `cannot connect: <reqwest's error>`.
    pub(crate) const WITH_CAUSE: Wording = Wording {
        cannot_connect: "cannot connect",
        with_cause: true,
    };

    /// `cannot_connect` alone, reqwest's error left out.
    pub(crate) const fn without_cause(cannot_connect: &'static str) -> Wording {
        Wording {
            cannot_connect,
            with_cause: false,
        }
    }

    /// The transport error as the connector reports it.
    fn lost(self, e: &reqwest::Error) -> ConnectError {
        let text = |message: &str| match self.with_cause {
            true => format!("{message}: {e}"),
            false => message.to_owned(),
        };
        if e.is_connect() {
            ConnectError::Unavailable(text(self.cannot_connect))
        } else if e.is_builder() {
            ConnectError::Protocol(text("cannot build the request"))
        } else {
            ConnectError::Timeout
        }
    }
}

/// The value of header `name` (any case) in a received request, trimmed; `None` when absent or
/// blank.
pub(crate) fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// An answer read in full.
#[derive(Debug)]
pub(crate) struct Reply {
    /// The HTTP status.
    pub(crate) status: u16,
    /// The whole body, at most [`RESPONSE_BYTES_MAX`] bytes.
    pub(crate) body: Vec<u8>,
}

/// What evidence shows of a request, written by the connector before it is sent (credentials
/// and signatures already redacted).
#[derive(Debug)]
pub(crate) struct Shown {
    /// The call, without ids where the connector groups by call (`GET /payments/{id}`).
    pub(crate) operation: String,
    /// The request line, the headers as shown and the body as [`evidence_text`].
    pub(crate) request: String,
    /// When the exchange started.
    pub(crate) at: Timestamp,
}

/// Sends `request`, reads the answer (at most [`RESPONSE_BYTES_MAX`] bytes) and records the
/// exchange: the reply or the transport error, and its evidence.
pub(crate) async fn exchange(
    request: reqwest::RequestBuilder,
    shown: Shown,
    wording: Wording,
) -> (Result<Reply, ConnectError>, Evidence) {
    let started = Instant::now();
    let result = read_reply(request.send().await, wording).await;
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let (response_status, response) = match &result {
        Ok(reply) => (Some(reply.status), evidence_text(&reply.body)),
        Err((status, error)) => (*status, error.to_string()),
    };
    let evidence = Evidence {
        operation: shown.operation,
        request: shown.request,
        response_status,
        response,
        at: shown.at,
        duration_ms,
    };
    (result.map_err(|(_, e)| e), evidence)
}

/// Reads the whole answer, at most [`RESPONSE_BYTES_MAX`]. The error side carries the status
/// when one was received.
async fn read_reply(
    sent: Result<reqwest::Response, reqwest::Error>,
    wording: Wording,
) -> Result<Reply, (Option<u16>, ConnectError)> {
    let mut response = sent.map_err(|e| (None, wording.lost(&e)))?;
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| (Some(status), wording.lost(&e)))?
    {
        if body.len().saturating_add(chunk.len()) > RESPONSE_BYTES_MAX {
            let too_large = format!("answer larger than {RESPONSE_BYTES_MAX} bytes");
            return Err((Some(status), ConnectError::Protocol(too_large)));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Reply { status, body })
}

/// A body as evidence text: UTF-8 (lossy), at most [`EVIDENCE_BODY_BYTES_MAX`] bytes kept and
/// the rest counted.
pub(crate) fn evidence_text(body: &[u8]) -> String {
    match body.get(..EVIDENCE_BODY_BYTES_MAX) {
        Some(kept) if kept.len() < body.len() => format!(
            "{}\n[{} more bytes not kept]",
            String::from_utf8_lossy(kept),
            body.len() - kept.len()
        ),
        _ => String::from_utf8_lossy(body).into_owned(),
    }
}

/// `text` with every one of `secrets` replaced by [`REDACTED`] (empty secrets are skipped by
/// the caller: replacing "" would insert everywhere).
pub(crate) fn scrub(text: &str, secrets: &[&str]) -> String {
    secrets
        .iter()
        .fold(text.to_owned(), |t, s| t.replace(s, REDACTED))
}

/// `error` with every one of `secrets` scrubbed from its message.
pub(crate) fn scrub_error(error: ConnectError, secrets: &[&str]) -> ConnectError {
    match error {
        ConnectError::Rejected { code, message } => ConnectError::Rejected {
            code,
            message: scrub(&message, secrets),
        },
        ConnectError::Unavailable(m) => ConnectError::Unavailable(scrub(&m, secrets)),
        ConnectError::Protocol(m) => ConnectError::Protocol(scrub(&m, secrets)),
        other => other,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_base_url_keeps_its_prefix_and_refuses_queries() {
        let base = base_url("http://127.0.0.1:7070/dlocal").unwrap();
        let url = join(&base, &["payments", "D 1"], &[("a", "b")]);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:7070/dlocal/payments/D%201?a=b"
        );
        assert_eq!(target(&url), "/dlocal/payments/D%201?a=b");
        assert_eq!(path_of(&target(&url)), "/dlocal/payments/D%201");
        assert_eq!(
            base_url("http://h/?x=1").unwrap_err(),
            "has a query or a fragment"
        );
        assert_eq!(base_url("ftp://h/").unwrap_err(), "not an http(s) URL");
        assert!(base_url("not a url").is_err());
    }

    #[test]
    fn evidence_keeps_a_bounded_body_and_counts_the_rest() {
        assert_eq!(evidence_text(b"{}"), "{}");
        let body = vec![b'a'; EVIDENCE_BODY_BYTES_MAX + 3];
        let text = evidence_text(&body);
        assert!(text.ends_with("\n[3 more bytes not kept]"));
        assert_eq!(
            text.len(),
            EVIDENCE_BODY_BYTES_MAX + "\n[3 more bytes not kept]".len()
        );
    }

    #[test]
    fn scrubbing_replaces_every_secret_in_every_message() {
        let secrets = ["k3y", "hm4c"];
        assert_eq!(
            scrub("a k3y and hm4c", &secrets),
            "a [redacted] and [redacted]"
        );
        assert_eq!(
            scrub_error(ConnectError::Protocol("k3y".into()), &secrets),
            ConnectError::Protocol(REDACTED.into())
        );
        assert_eq!(
            scrub_error(ConnectError::Timeout, &secrets),
            ConnectError::Timeout
        );
    }
}
