//! Rate limits (`[rate_limits]`), on governor's GCRA: requests per API key, and failed
//! authentications per client address. Every authenticated answer carries the key's budget in
//! the `RateLimit-Policy` and `RateLimit` headers (IETF draft-ietf-httpapi-ratelimit-headers);
//! a refusal is 429 `rate_limited` with `Retry-After`.
//!
//! Limits are per instance (in memory): behind a balancer of N instances a key gets up to N
//! times its budget.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use cajero_domain::id::ApiKeyId;
use governor::clock::{Clock as _, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::{Quota, RateLimiter};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ErrorType};

/// `[rate_limits]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitsConfig {
    /// Requests per second one API key may make, sustained (0: no limit).
    pub per_key_per_second: u32,
    /// Requests one API key may make at once before the sustained rate applies.
    pub per_key_burst: u32,
    /// Failed authentications per minute from one client address, sustained (0: no limit).
    /// Beyond it, that address's requests with a bad key are answered 429 without a lookup.
    pub failed_auth_per_minute: u32,
    /// Failed authentications one client address may make at once.
    pub failed_auth_burst: u32,
    /// A header set by the proxy in front of cajero that carries the client's address
    /// (`x-forwarded-for`: its right-most address is taken). Unset: the connection's peer.
    pub client_address_header: Option<String>,
}

impl Default for RateLimitsConfig {
    fn default() -> Self {
        RateLimitsConfig {
            per_key_per_second: 100,
            per_key_burst: 200,
            failed_auth_per_minute: 20,
            failed_auth_burst: 10,
            client_address_header: None,
        }
    }
}

/// Bounds of the configured rates.
pub const RATE_MAX: u32 = 1_000_000;

impl RateLimitsConfig {
    /// Checks the values; the error names the key.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        for (key, rate, burst) in [
            (
                "rate_limits.per_key_burst",
                self.per_key_per_second,
                self.per_key_burst,
            ),
            (
                "rate_limits.failed_auth_burst",
                self.failed_auth_per_minute,
                self.failed_auth_burst,
            ),
        ] {
            if rate > RATE_MAX || burst > RATE_MAX {
                return Err((key, format!("rates and bursts are at most {RATE_MAX}")));
            }
            if rate != 0 && burst == 0 {
                return Err((key, "must be at least 1 when its rate is set".into()));
            }
        }
        if let Some(header) = &self.client_address_header
            && axum::http::HeaderName::from_bytes(header.as_bytes()).is_err()
        {
            return Err((
                "rate_limits.client_address_header",
                format!("{header:?} is not a header name"),
            ));
        }
        Ok(())
    }
}

type Keyed<K> = RateLimiter<
    K,
    governor::state::keyed::DefaultKeyedStateStore<K>,
    DefaultClock,
    StateInformationMiddleware,
>;

/// One key's budget after a request it was allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// The burst (the policy's quota).
    pub quota: u32,
    /// The window the quota refills in, in seconds.
    pub window_s: u64,
    /// Requests left right now.
    pub remaining: u32,
    /// Seconds until the whole quota is back.
    pub reset_s: u64,
}

impl Budget {
    /// Adds `RateLimit-Policy` and `RateLimit` to `headers`.
    pub fn write(&self, headers: &mut HeaderMap) {
        let policy = format!("\"per-key\";q={};w={}", self.quota, self.window_s);
        let state = format!("\"per-key\";r={};t={}", self.remaining, self.reset_s);
        if let (Ok(policy), Ok(state)) = (
            HeaderValue::from_str(&policy),
            HeaderValue::from_str(&state),
        ) {
            headers.insert("ratelimit-policy", policy);
            headers.insert("ratelimit", state);
        }
    }
}

/// The slot the auth extractor fills with the key's budget for the middleware to answer with.
#[derive(Debug, Clone, Default)]
pub struct BudgetSlot(pub Arc<Mutex<Option<Budget>>>);

impl BudgetSlot {
    /// Records the budget.
    pub fn set(&self, budget: Budget) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(budget);
    }

    /// The budget recorded, if any.
    pub fn get(&self) -> Option<Budget> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The limiters of one instance.
pub struct RateLimits {
    config: RateLimitsConfig,
    per_key: Option<Keyed<ApiKeyId>>,
    failed_auth: Option<Keyed<IpAddr>>,
    /// Addresses refused for failed authentications, until when.
    blocked: Mutex<HashMap<IpAddr, Instant>>,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn limiter<K: Hash + Eq + Clone>(quota: Option<Quota>) -> Option<Keyed<K>> {
    quota.map(|q| RateLimiter::keyed(q).with_middleware::<StateInformationMiddleware>())
}

impl RateLimits {
    /// The limiters `config` asks for.
    pub fn new(config: &RateLimitsConfig) -> RateLimits {
        let per_key = NonZeroU32::new(config.per_key_per_second).map(|rate| {
            Quota::per_second(rate)
                .allow_burst(NonZeroU32::new(config.per_key_burst).unwrap_or(rate))
        });
        let failed = NonZeroU32::new(config.failed_auth_per_minute).map(|rate| {
            Quota::per_minute(rate)
                .allow_burst(NonZeroU32::new(config.failed_auth_burst).unwrap_or(rate))
        });
        RateLimits {
            config: config.clone(),
            per_key: limiter(per_key),
            failed_auth: limiter(failed),
            blocked: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request of `key`: its budget after it, or 429.
    pub fn check_key(&self, key: ApiKeyId) -> Result<Option<Budget>, ApiError> {
        let Some(limiter) = &self.per_key else {
            return Ok(None);
        };
        let burst = self.config.per_key_burst.max(1);
        let rate = self.config.per_key_per_second.max(1);
        match limiter.check_key(&key) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let missing = u64::from(burst.saturating_sub(remaining));
                Ok(Some(Budget {
                    quota: burst,
                    window_s: u64::from(burst).div_ceil(u64::from(rate)),
                    remaining,
                    reset_s: missing.div_ceil(u64::from(rate)),
                }))
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Err(limited(
                    wait,
                    format!(
                        "Too many requests with this API key: at most {rate} per second (bursts of \
                         {burst}). Retry after the time in `Retry-After`."
                    ),
                ))
            }
        }
    }

    /// Before looking a key up: 429 while `client` is blocked for failing authentication too
    /// often.
    pub fn check_blocked(&self, client: Option<IpAddr>) -> Result<(), ApiError> {
        let Some(ip) = client else {
            return Ok(());
        };
        let now = Instant::now();
        let blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        match blocked.get(&ip) {
            Some(until) if *until > now => Err(self.failed_auth_error(*until - now)),
            _ => Ok(()),
        }
    }

    /// After a failed authentication from `client`: `error` itself, or 429 once the address
    /// has failed too often (then it stays blocked until its budget refills by one).
    pub fn failed(&self, client: Option<IpAddr>, error: ApiError) -> ApiError {
        match self.record_failure(client) {
            Some(wait) => self.failed_auth_error(wait),
            None => error,
        }
    }

    /// Counts a failed authentication from `client` (an API key, or a dashboard sign-in);
    /// `Some(wait)` once the address has failed too often and is blocked for `wait`.
    pub fn record_failure(&self, client: Option<IpAddr>) -> Option<Duration> {
        let (Some(limiter), Some(ip)) = (&self.failed_auth, client) else {
            return None;
        };
        match limiter.check_key(&ip) {
            Ok(_) => None,
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                self.blocked
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(ip, Instant::now() + wait);
                Some(wait)
            }
        }
    }

    fn failed_auth_error(&self, wait: Duration) -> ApiError {
        limited(
            wait,
            format!(
                "Too many failed authentications from this address (at most {} per minute). \
                 Check the API key, then retry after the time in `Retry-After`.",
                self.config.failed_auth_per_minute
            ),
        )
    }

    /// The client's address: the configured header's right-most address, else the peer.
    pub fn client(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> Option<IpAddr> {
        if let Some(name) = &self.config.client_address_header {
            return headers
                .get(name.as_str())
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|v| v.trim().parse().ok());
        }
        peer.map(|p| p.ip())
    }

    /// Forgets idle keys (run now and then: a keyed limiter grows with every key it saw).
    pub fn prune(&self) {
        if let Some(l) = &self.per_key {
            l.retain_recent();
        }
        if let Some(l) = &self.failed_auth {
            l.retain_recent();
        }
        let now = Instant::now();
        self.blocked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, until| *until > now);
    }
}

fn limited(wait: Duration, message: String) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        ErrorType::RateLimitError,
        "rate_limited",
        message,
    )
    .with_retry_after(wait.as_secs_f64().ceil().max(1.0) as u64)
}
