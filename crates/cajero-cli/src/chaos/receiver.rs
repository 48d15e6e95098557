//! The chaos process's own HTTP face: the merchant's webhook receiver, which records every
//! delivery by `webhook-id` (and can be made slow to build a backlog), and the simulator's
//! callback URL, which forwards each callback to whichever cajero instance is up — the network
//! calls one URL, whatever instance was just killed.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;

/// Headers of a simulator callback that cajero needs to verify it.
const CALLBACK_HEADERS: [&str; 4] = [
    "content-type",
    "sim-callback-id",
    "sim-timestamp",
    "sim-signature",
];

/// The cajero instances: the base URL of each, `None` while it is down.
#[derive(Debug, Default)]
pub struct Cluster {
    bases: RwLock<Vec<Option<String>>>,
    next: AtomicU64,
}

impl Cluster {
    /// A cluster of `instances` instances, all down.
    pub fn new(instances: usize) -> Cluster {
        Cluster {
            bases: RwLock::new(vec![None; instances]),
            next: AtomicU64::new(0),
        }
    }

    /// Marks instance `index` up at `base`, or down.
    pub fn set(&self, index: usize, base: Option<String>) {
        let mut bases = self.bases.write().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = bases.get_mut(index) {
            *slot = base;
        }
    }

    /// The base URL of an instance that is up, taking turns; `None` when all are down.
    pub fn any(&self) -> Option<String> {
        let bases = self.bases.read().unwrap_or_else(|p| p.into_inner());
        let n = bases.len() as u64;
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..n)
            .filter_map(|i| bases[((start + i) % n) as usize].clone())
            .next()
    }
}

/// What the webhook receiver saw.
#[derive(Debug, Default)]
pub struct Deliveries {
    /// Requests per `webhook-id`.
    pub by_id: BTreeMap<String, u32>,
    /// Requests in all.
    pub requests: u64,
}

/// The receiver's shared state.
#[derive(Debug, Default)]
pub struct Receiver {
    /// Every delivery, by event id.
    pub deliveries: Mutex<Deliveries>,
    /// Each delivery is held this long before its 2xx (0: answer at once).
    pub delay_ms: AtomicU64,
    /// The instances callbacks are forwarded to.
    pub cluster: Arc<Cluster>,
    /// Forwards callbacks.
    pub http: reqwest::Client,
}

impl Receiver {
    /// The event ids received at least once.
    pub fn received(&self) -> BTreeMap<String, u32> {
        self.deliveries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .by_id
            .clone()
    }
}

async fn hook(State(receiver): State<Arc<Receiver>>, headers: HeaderMap) -> StatusCode {
    let Some(id) = headers.get("webhook-id").and_then(|v| v.to_str().ok()) else {
        return StatusCode::BAD_REQUEST;
    };
    {
        let mut log = receiver
            .deliveries
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        *log.by_id.entry(id.to_string()).or_default() += 1;
        log.requests += 1;
    }
    let delay = receiver.delay_ms.load(Ordering::Relaxed);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    StatusCode::NO_CONTENT
}

async fn callback(
    State(receiver): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let Some(base) = receiver.cluster.any() else {
        return StatusCode::SERVICE_UNAVAILABLE;
    };
    let mut request = receiver.http.post(format!("{base}/callbacks/sim"));
    for name in CALLBACK_HEADERS {
        if let Some(value) = headers.get(name) {
            request = request.header(name, value);
        }
    }
    match request.body(body).send().await {
        Ok(r) => StatusCode::from_u16(r.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY),
        Err(_) => StatusCode::BAD_GATEWAY,
    }
}

/// Serves `/hooks` (webhooks) and `/callbacks/sim` (forwarded) on a loopback port; answers the
/// base URL.
pub async fn serve(receiver: Arc<Receiver>) -> anyhow::Result<String> {
    let app = axum::Router::new()
        .route("/hooks", post(hook))
        .route("/callbacks/sim", post(callback))
        .with_state(receiver);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            eprintln!("chaos: the receiver stopped: {error}");
        }
    });
    Ok(base)
}
