//! A webhook receiver for tests: a real HTTP server on loopback that checks every delivery
//! with the official Standard Webhooks library (`standardwebhooks`) and answers as told.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use rand::RngExt;
use standardwebhooks::Webhook;

/// How the receiver answers.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// 200.
    Accept,
    /// 200 after this many milliseconds (less than the server's timeout).
    Slow(u64),
    /// This status, with an optional `Retry-After`.
    Status(u16, Option<String>),
    /// Fails `fail_percent` of requests with 500 and hangs `hang_percent` for `hang_ms`
    /// (past the server's timeout) before answering 200; accepts the rest.
    Flaky {
        fail_percent: u32,
        hang_percent: u32,
        hang_ms: u64,
    },
}

/// One request received.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: i64,
    pub signature: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Whether one of the known secrets verified it.
    pub verified: bool,
    /// What the receiver answered (0 while hanging).
    pub answered: u16,
}

struct Inner {
    secrets: Mutex<Vec<String>>,
    behaviour: Mutex<Behaviour>,
    log: Mutex<Vec<Received>>,
    strict_time: AtomicBool,
    in_flight: AtomicUsize,
    in_flight_max: AtomicUsize,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    inner: Arc<Inner>,
}

impl Receiver {
    /// Starts a receiver. With `strict_time`, deliveries are checked with
    /// `Webhook::verify` (signature and a timestamp within 5 minutes of the real clock);
    /// tests that move a manual clock by hours check the signature only, with the library's
    /// own `Webhook::sign`.
    pub async fn start(strict_time: bool) -> Receiver {
        let inner = Arc::new(Inner {
            secrets: Mutex::new(Vec::new()),
            behaviour: Mutex::new(Behaviour::Accept),
            log: Mutex::new(Vec::new()),
            strict_time: AtomicBool::new(strict_time),
            in_flight: AtomicUsize::new(0),
            in_flight_max: AtomicUsize::new(0),
        });
        let app = axum::Router::new()
            .route("/hooks", axum::routing::post(receive))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, inner }
    }

    pub fn trust(&self, secret: &str) {
        self.inner.secrets.lock().unwrap().push(secret.to_string());
    }

    pub fn behave(&self, behaviour: Behaviour) {
        *self.inner.behaviour.lock().unwrap() = behaviour;
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.log.lock().unwrap().clone()
    }

    /// The most requests it was answering at once.
    pub fn in_flight_max(&self) -> usize {
        self.inner.in_flight_max.load(Ordering::SeqCst)
    }

    /// Ids of events answered with 2xx.
    pub fn accepted_ids(&self) -> std::collections::BTreeSet<String> {
        self.received()
            .into_iter()
            .filter(|r| (200..300).contains(&r.answered))
            .map(|r| r.id)
            .collect()
    }
}

/// Whether one of `secrets` verifies this delivery.
pub fn verifies(secrets: &[String], headers: &HeaderMap, body: &[u8], strict_time: bool) -> bool {
    secrets.iter().any(|secret| {
        let hook = Webhook::new(secret).unwrap();
        if strict_time {
            return hook.verify(body, headers).is_ok();
        }
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
        };
        let Ok(timestamp) = header("webhook-timestamp").parse::<i64>() else {
            return false;
        };
        let Ok(expected) = hook.sign(header("webhook-id"), timestamp, body) else {
            return false;
        };
        header("webhook-signature")
            .split(' ')
            .any(|s| s == expected)
    })
}

async fn receive(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    let secrets = inner.secrets.lock().unwrap().clone();
    let strict = inner.strict_time.load(Ordering::Relaxed);
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let mut received = Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp").parse().unwrap_or(0),
        signature: header("webhook-signature"),
        verified: verifies(&secrets, &headers, &body, strict),
        headers: headers.clone(),
        body,
        answered: 0,
    };
    let behaviour = inner.behaviour.lock().unwrap().clone();
    let (status, retry_after, hang) = match behaviour {
        Behaviour::Accept => (200, None, None),
        Behaviour::Slow(ms) => {
            let now = inner.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            inner.in_flight_max.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            inner.in_flight.fetch_sub(1, Ordering::SeqCst);
            (200, None, None)
        }
        Behaviour::Status(code, retry_after) => (code, retry_after, None),
        Behaviour::Flaky {
            fail_percent,
            hang_percent,
            hang_ms,
        } => {
            let roll = rand::rng().random_range(0..100u32);
            if roll < hang_percent {
                (200, None, Some(hang_ms))
            } else if roll < hang_percent + fail_percent {
                (500, None, None)
            } else {
                (200, None, None)
            }
        }
    };
    if let Some(ms) = hang {
        // The server gives up first; what it did not wait for does not count.
        inner.log.lock().unwrap().push(received.clone());
        tokio::time::sleep(Duration::from_millis(ms)).await;
        return StatusCode::OK.into_response();
    }
    received.answered = status;
    inner.log.lock().unwrap().push(received);
    let mut response = (
        StatusCode::from_u16(status).unwrap(),
        format!("answered {status}"),
    )
        .into_response();
    if let Some(value) = retry_after {
        response
            .headers_mut()
            .insert("retry-after", value.parse().unwrap());
    }
    response
}
