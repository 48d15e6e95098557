//! The load: client tasks sending pay-ins and payouts with Idempotency-Keys, paying and
//! collecting some at the simulator's counters (so that money really moves), canceling others;
//! and the resend of every request left without an answer, with the same key and body.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Semaphore;

use super::journal::{Journal, Kind, Request, Sent};
use super::receiver::Cluster;
use super::rng::Rng;

/// One request's time limit on the client.
pub const REQUEST_TIMEOUT_MS: u64 = 15_000;
/// A `Retry-After` longer than this is cut to it (the resend loop has its own deadline).
const RETRY_AFTER_MS_MAX: u64 = 10_000;
/// Pause after a lost send, doubling up to [`LOST_BACKOFF_MS_MAX`].
const LOST_BACKOFF_MS_MIN: u64 = 100;
const LOST_BACKOFF_MS_MAX: u64 = 2_000;
/// Sends of one key in one resend pass at most.
const RESEND_ATTEMPTS_MAX: u32 = 500;
/// Keys resent at once.
const RESEND_CONCURRENCY: usize = 16;
/// The beneficiary document every payout is collected with.
pub const BENEFICIARY_DOCUMENT: &str = "79876543";

/// What every client shares.
#[derive(Debug)]
pub struct Load {
    /// HTTP client (keep-alive).
    pub http: reqwest::Client,
    /// Where the instances are.
    pub cluster: Arc<Cluster>,
    /// The merchant's test key.
    pub api_key: String,
    /// Every keyed request.
    pub journal: Journal,
    /// The run's seed (in every key, so that runs never collide).
    pub seed: u64,
    next_key: AtomicU64,
    /// Counter operations sent (pay and collect helpers), and those that approved.
    pub counter_ops: AtomicU64,
    /// Counter operations the counter approved.
    pub counter_approved: AtomicU64,
}

impl Load {
    /// Shared state for a run.
    pub fn new(http: reqwest::Client, cluster: Arc<Cluster>, api_key: String, seed: u64) -> Load {
        Load {
            http,
            cluster,
            api_key,
            journal: Journal::default(),
            seed,
            next_key: AtomicU64::new(0),
            counter_ops: AtomicU64::new(0),
            counter_approved: AtomicU64::new(0),
        }
    }

    /// A fresh Idempotency-Key.
    pub fn key(&self, what: &str) -> String {
        let n = self.next_key.fetch_add(1, Ordering::Relaxed);
        format!("chaos-{}-{what}-{n}", self.seed)
    }

    /// Sends `request` once to `base`.
    pub async fn send(&self, base: &str, request: &Request) -> Sent {
        let result = self
            .http
            .post(format!("{base}{}", request.path))
            .bearer_auth(&self.api_key)
            .header("Idempotency-Key", &request.key)
            .json(&request.body)
            .send()
            .await;
        let response = match result {
            Ok(r) => r,
            Err(error) => return Sent::Lost(error.to_string()),
        };
        let status = response.status().as_u16();
        let replayed = response
            .headers()
            .get("idempotent-replayed")
            .is_some_and(|v| v == "true");
        let retry_after_s = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status == 409 && body["error"]["code"] == "idempotency_request_in_progress" {
            let ms = retry_after_s.unwrap_or(1).saturating_mul(1_000);
            return Sent::InProgress(Duration::from_millis(ms.clamp(100, RETRY_AFTER_MS_MAX)));
        }
        if status >= 500 {
            return Sent::Lost(format!("{status} {}", body["error"]["code"]));
        }
        Sent::Answered {
            status,
            body,
            replayed,
        }
    }

    /// Sends a new keyed request once to any live instance, recording it; answers the body of
    /// a 2xx.
    pub async fn send_new(&self, request: Request) -> Option<Value> {
        self.journal.open(&request);
        let sent = match self.cluster.any() {
            Some(base) => self.send(&base, &request).await,
            None => Sent::Lost("no instance is up".into()),
        };
        self.journal.record(&request.key, &sent);
        match sent {
            Sent::Answered { status, body, .. } if (200..300).contains(&status) => Some(body),
            _ => None,
        }
    }

    async fn counter_op(&self, path: String, body: Value) {
        let Some(base) = self.cluster.any() else {
            return;
        };
        self.counter_ops.fetch_add(1, Ordering::Relaxed);
        let sent = self
            .http
            .post(format!("{base}{path}"))
            .bearer_auth(&self.api_key)
            .json(&body)
            .send()
            .await;
        if let Ok(r) = sent
            && let Ok(v) = r.json::<Value>().await
            && v["approved"] == true
        {
            self.counter_approved.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A pay-in request of a seeded amount (multiples of 100 pesos never hit a magic value).
pub fn payin_request(load: &Load, rng: &mut Rng) -> Request {
    let key = load.key("payin");
    Request {
        path: "/v1/payins".into(),
        body: json!({
            "amount": rng.range(10, 5_000) * 100,
            "currency": "COP",
            "reference": key,
            "customer": {"name": "Ana Gómez", "document": {"type": "CC", "number": "1020304050"}},
            "expires_in_seconds": 7 * 24 * 3600,
        }),
        kind: Kind::Payin,
        key,
    }
}

/// A payout request of a seeded amount.
pub fn payout_request(load: &Load, rng: &mut Rng) -> Request {
    let key = load.key("payout");
    Request {
        path: "/v1/payouts".into(),
        body: json!({
            "amount": rng.range(10, 1_000) * 100,
            "currency": "COP",
            "reference": key,
            "beneficiary": {"name": "Luis Pérez",
                            "document": {"type": "CC", "number": BENEFICIARY_DOCUMENT}},
            "expires_in_seconds": 30 * 24 * 3600,
        }),
        kind: Kind::Payout,
        key,
    }
}

/// A top-up of `amount` pesos.
pub fn topup_request(load: &Load, amount: i64) -> Request {
    Request {
        key: load.key("topup"),
        path: "/v1/topups".into(),
        body: json!({"amount": amount, "currency": "COP"}),
        kind: Kind::Topup,
    }
}

fn cancel_request(load: &Load, kind: Kind, id: &str) -> Request {
    let (what, path) = match kind {
        Kind::CancelPayin => ("cancel-payin", format!("/v1/payins/{id}/cancel")),
        _ => ("cancel-payout", format!("/v1/payouts/{id}/cancel")),
    };
    Request {
        key: load.key(what),
        path,
        body: json!({}),
        kind,
    }
}

/// One client: until `until`, a seeded mix of creates (70 %), counter payments and
/// collections (22 %) and cancelations (8 %) of its own objects.
pub async fn client(load: Arc<Load>, mut rng: Rng, until: Instant) {
    let mut payins: Vec<String> = Vec::new();
    let mut payouts: Vec<(String, String)> = Vec::new();
    while Instant::now() < until {
        let roll = rng.range(0, 99);
        match roll {
            70..=81 if !payins.is_empty() => {
                let id = payins.swap_remove(rng.range(0, payins.len() as u64 - 1) as usize);
                let path = format!("/v1/test_helpers/payins/{id}/pay");
                load.counter_op(path, json!({})).await;
            }
            82..=91 if !payouts.is_empty() => {
                let i = rng.range(0, payouts.len() as u64 - 1) as usize;
                let (id, code) = payouts.swap_remove(i);
                let path = format!("/v1/test_helpers/payouts/{id}/collect");
                let body = json!({"code": code, "document_number": BENEFICIARY_DOCUMENT});
                load.counter_op(path, body).await;
            }
            92..=95 if !payins.is_empty() => {
                let id = payins.swap_remove(rng.range(0, payins.len() as u64 - 1) as usize);
                load.send_new(cancel_request(&load, Kind::CancelPayin, &id))
                    .await;
            }
            96..=99 if !payouts.is_empty() => {
                let i = rng.range(0, payouts.len() as u64 - 1) as usize;
                let (id, _) = payouts.swap_remove(i);
                load.send_new(cancel_request(&load, Kind::CancelPayout, &id))
                    .await;
            }
            _ if roll.is_multiple_of(2) => {
                if let Some(body) = load.send_new(payin_request(&load, &mut rng)).await
                    && let Some(id) = body["id"].as_str()
                {
                    payins.push(id.to_string());
                }
            }
            _ => {
                if let Some(body) = load.send_new(payout_request(&load, &mut rng)).await
                    && let (Some(id), Some(code)) =
                        (body["id"].as_str(), body["pickup"]["code"].as_str())
                {
                    payouts.push((id.to_string(), code.to_string()));
                }
            }
        }
        if load.cluster.any().is_none() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Sends `request` again (same key, same body) through any live instance until cajero answers
/// for good, honoring `Retry-After` on 409 `idempotency_request_in_progress`, bounded by
/// `deadline` and [`RESEND_ATTEMPTS_MAX`]; true when it was answered.
pub async fn resend_one(load: &Load, request: &Request, deadline: Instant) -> bool {
    let mut backoff = Duration::from_millis(LOST_BACKOFF_MS_MIN);
    for _ in 0..RESEND_ATTEMPTS_MAX {
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        let pause = match load.cluster.any() {
            None => backoff,
            Some(base) => {
                let sent = load.send(&base, request).await;
                load.journal.record(&request.key, &sent);
                match sent {
                    Sent::Answered { .. } => return true,
                    Sent::InProgress(after) => after,
                    Sent::Lost(_) => {
                        let pause = backoff;
                        backoff = (backoff * 2).min(Duration::from_millis(LOST_BACKOFF_MS_MAX));
                        pause
                    }
                }
            }
        };
        tokio::time::sleep(pause.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
    false
}

/// Resends every request in `requests` (concurrently, bounded); answers how many are still
/// without an answer at `deadline`.
pub async fn resend_all(load: Arc<Load>, requests: Vec<Request>, deadline: Instant) -> usize {
    let permits = Arc::new(Semaphore::new(RESEND_CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for request in requests {
        let (load, permits) = (load.clone(), permits.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            resend_one(&load, &request, deadline).await
        });
    }
    let mut left = 0;
    while let Some(done) = tasks.join_next().await {
        if !matches!(done, Ok(true)) {
            left += 1;
        }
    }
    left
}
