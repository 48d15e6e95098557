//! One delivery attempt over HTTP: sign, POST, read the first bytes of the answer.
//!
//! No redirects are followed (a 3xx is a failure: the merchant should fix the URL), the whole
//! exchange has one timeout, and names resolve through the [`GuardedResolver`], so the client
//! only ever connects to checked addresses.

use std::time::{Duration, Instant};

use cajero_store::secret_box::SecretBox;
use cajero_store::webhook_deliveries::ClaimedDelivery;
use cajero_store::webhooks::{SIGNING_SECRET_CONTEXT, SigningSecret};
use jiff::Timestamp;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER, USER_AGENT};

use super::url_policy::{GuardedResolver, UrlError, UrlPolicy};
use super::{delivery_body, signing};

/// Bytes of the receiver's answer kept in the delivery log.
pub const RESPONSE_BODY_BYTES_MAX: usize = 4 * 1024;

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResult {
    /// When it started, on the instance's clock (the `webhook-timestamp` header carries the real
    /// time of sending).
    pub started_at: Timestamp,
    /// How long it took, in milliseconds.
    pub duration_ms: i64,
    /// The receiver's status, when it answered.
    pub status: Option<u16>,
    /// What went wrong without an answer: `timeout`, `connect`, `url_blocked`, `request`.
    pub error: Option<String>,
    /// The first [`RESPONSE_BODY_BYTES_MAX`] bytes of the answer, as UTF-8 (lossy).
    pub body: String,
    /// The receiver's `Retry-After`, in seconds.
    pub retry_after_s: Option<i64>,
}

impl SendResult {
    /// A 2xx answer.
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// `410 Gone`: the receiver asks us to stop.
    pub fn gone(&self) -> bool {
        self.status == Some(StatusCode::GONE.as_u16())
    }
}

/// Sends deliveries: one client per mode, each resolving names under its mode's policy.
#[derive(Debug, Clone)]
pub struct Sender {
    live: (reqwest::Client, UrlPolicy),
    test: (reqwest::Client, UrlPolicy),
    secrets: SecretBox,
}

impl Sender {
    /// Clients with `timeout` for the whole exchange, keeping up to `idle_per_host` idle
    /// connections per receiver (as many as deliveries may be in flight, so that keep-alive
    /// connections are reused rather than reopened).
    /// Signing secrets are stored sealed; `secrets` opens them for each attempt.
    pub fn new(
        timeout: Duration,
        allow_loopback_in_test_mode: bool,
        idle_per_host: usize,
        secrets: SecretBox,
    ) -> reqwest::Result<Sender> {
        let client = |policy: UrlPolicy| {
            reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout)
                .redirect(reqwest::redirect::Policy::none())
                .pool_max_idle_per_host(idle_per_host)
                .dns_resolver(std::sync::Arc::new(GuardedResolver { policy }))
                .no_proxy()
                .build()
                .map(|c| (c, policy))
        };
        Ok(Sender {
            live: client(UrlPolicy::for_mode(true, false))?,
            test: client(UrlPolicy::for_mode(false, allow_loopback_in_test_mode))?,
            secrets,
        })
    }

    /// Makes one attempt of `delivery`, signed for `now`.
    pub async fn send(&self, delivery: &ClaimedDelivery, now: Timestamp) -> SendResult {
        let started = Instant::now();
        let (client, policy) = if delivery.event.livemode {
            &self.live
        } else {
            &self.test
        };
        let mut result = SendResult {
            started_at: now,
            duration_ms: 0,
            status: None,
            error: None,
            body: String::new(),
            retry_after_s: None,
        };
        // The URL was checked when saved; check again (addresses in it, scheme) in case the
        // rules tightened since. Names are checked by the resolver on connect.
        let url = match policy.parse(&delivery.url) {
            Ok(url) => url,
            Err(error) => {
                result.error = Some(format!("url_blocked: {error}"));
                return result;
            }
        };
        let id = delivery.event.id.to_string();
        // The real time of sending, never the injected clock: the receiver verifies it against
        // its own clock (Standard Webhooks: within minutes).
        let timestamp = crate::clock::wall_now().as_second();
        let body = delivery_body(&delivery.event);
        let Ok(secrets) = delivery
            .secrets
            .iter()
            .map(|s| self.secrets.open_string(SIGNING_SECRET_CONTEXT, &s.0))
            .map(|opened| opened.map(SigningSecret))
            .collect::<Result<Vec<_>, _>>()
        else {
            // Sealed under a key no longer configured, or damaged: sending unsigned (or
            // signed wrongly) helps nobody; the attempt fails and is retried.
            result.error = Some("secret_unreadable".into());
            return result;
        };
        let signature = signing::signature_header(&secrets, &id, timestamp, body.as_bytes());
        let request = client
            .post(url)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(USER_AGENT, HeaderValue::from_static("cajero-webhooks/1"))
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body);
        match request.send().await {
            Ok(mut response) => {
                result.status = Some(response.status().as_u16());
                result.retry_after_s = response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, now));
                let mut kept = Vec::new();
                while kept.len() < RESPONSE_BODY_BYTES_MAX {
                    match response.chunk().await {
                        Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
                        Ok(None) => break,
                        // The status counts; a body cut short (or slow past the timeout) is
                        // noted but does not turn a 2xx into a failure.
                        Err(error) => {
                            result.error = Some(describe(&error));
                            break;
                        }
                    }
                }
                kept.truncate(RESPONSE_BODY_BYTES_MAX);
                result.body = String::from_utf8_lossy(&kept).into_owned();
            }
            Err(error) => result.error = Some(describe(&error)),
        }
        result.duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        result
    }
}

/// A short, stable description of a failed exchange for the delivery log.
fn describe(error: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = source {
        if let Some(blocked) = e.downcast_ref::<UrlError>() {
            return format!("url_blocked: {blocked}");
        }
        source = e.source();
    }
    let kind = if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else if error.is_body() || error.is_decode() {
        "body"
    } else {
        "request"
    };
    kind.to_string()
}

/// `Retry-After` as seconds from `now`: delta-seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: Timestamp) -> Option<i64> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<i64>() {
        return Some(seconds.max(0));
    }
    let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    Some(at.duration_since(now).as_secs().max(0))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = Timestamp::from_second(1_764_000_000).unwrap();
        assert_eq!(parse_retry_after("120", now), Some(120));
        assert_eq!(parse_retry_after(" 0 ", now), Some(0));
        assert_eq!(parse_retry_after("-3", now), Some(0));
        // 2025-11-24T16:00:00Z + 1 h.
        assert_eq!(
            parse_retry_after("Mon, 24 Nov 2025 17:00:00 GMT", now),
            Some(3_600)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
