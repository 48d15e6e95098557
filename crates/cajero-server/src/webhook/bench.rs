//! `cajero bench webhooks`: deliveries per second to a local receiver, signed, through the
//! production loop (claims with leases, pipelined sends, batched recording) on a real store.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use cajero_domain::id::{EventId, MerchantId, WebhookEndpointId};
use cajero_domain::merchant::MerchantStatus;
use cajero_domain::webhook::{EventPattern, EventType};
use cajero_store::merchants::{self, MerchantRecord};
use cajero_store::webhooks::{self, EndpointRecord, EndpointStatus};
use cajero_store::{StoreError, events, webhook_deliveries};
use serde::Serialize;
use serde_json::json;

use crate::AppState;
use crate::clock::{Clock, SystemClock, new_id};
use crate::config::{Config, Secret};
use crate::webhook::signing;
use crate::workers::webhooks::WebhookWorker;

/// The DESIGN.md target: deliveries per second to a local receiver, signed.
pub const TARGET_PER_S: f64 = 5_000.0;
/// Events emitted per unit of work while seeding.
const SEED_BATCH: usize = 1_000;
/// The longest the bench waits for the outbox to drain.
const DRAIN_TIMEOUT_S: u64 = 300;

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Events to deliver.
    pub events: usize,
    /// The database (a fresh SQLite file when `None`).
    pub database_url: Option<String>,
    /// Deliveries in flight at once.
    pub concurrency: u32,
}

/// The result.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// `sqlite` or `postgres`.
    pub engine: String,
    /// Events delivered.
    pub events: usize,
    /// Requests the receiver answered.
    pub received: u64,
    /// Wall time from the worker's start to an empty outbox, in seconds.
    pub seconds: f64,
    /// Deliveries per second.
    pub per_second: f64,
    /// The target.
    pub target_per_second: f64,
    /// Whether the target was met.
    pub meets_target: bool,
}

/// Seeds `options.events` events for one endpoint at a local receiver, then runs the
/// delivery loop until every one is delivered.
pub async fn run(options: BenchOptions) -> anyhow::Result<BenchReport> {
    let dir = tempfile_dir()?;
    let url = options
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.join("bench.db").display()));
    let mut config = Config {
        database_url: Secret::new(url),
        // PostgreSQL needs an instance key to seal the endpoint's secret, as any server there.
        secrets_key: std::env::var("CAJERO_SECRETS_KEY").ok().map(Secret::new),
        ..Config::default()
    };
    config.webhooks.worker_enabled = false;
    config.webhooks.delivery_concurrency_max = options.concurrency;
    config.webhooks.endpoint_concurrency_max = options.concurrency;
    config.webhooks.batch_max = 512;
    config.webhooks.idle_poll_ms = 10;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let state = AppState::open(config, clock.clone()).await?;
    let (receiver_url, received) = start_receiver().await?;
    seed(&state, &receiver_url, options.events).await?;

    let (stop, signal) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let worker = WebhookWorker::new(&state)?.start(signal);
    let deadline = started + Duration::from_secs(DRAIN_TIMEOUT_S);
    // Watch the receiver's count (cheap) until every event arrived, then the outbox until
    // every attempt is recorded.
    let expected = u64::try_from(options.events).unwrap_or(u64::MAX);
    while received.load(Ordering::Relaxed) < expected {
        tokio::time::sleep(Duration::from_millis(2)).await;
        if Instant::now() > deadline {
            anyhow::bail!("the receiver got too few deliveries in {DRAIN_TIMEOUT_S} s");
        }
    }
    loop {
        let pending = state
            .store
            .read(|mut c| Box::pin(async move { webhook_deliveries::count_pending(&mut c).await }))
            .await?;
        if pending == 0 {
            break;
        }
        if Instant::now() > deadline {
            anyhow::bail!("{pending} deliveries still pending after {DRAIN_TIMEOUT_S} s");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let _ = stop.send(true);
    let _ = worker.await;
    state.store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    #[allow(clippy::cast_precision_loss)] // a count of events, far below 2^52
    let per_second = options.events as f64 / seconds;
    Ok(BenchReport {
        engine: format!("{:?}", state.store.engine()).to_lowercase(),
        events: options.events,
        received: received.load(Ordering::Relaxed),
        seconds,
        per_second,
        target_per_second: TARGET_PER_S,
        meets_target: per_second >= TARGET_PER_S,
    })
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("cajero-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// A receiver on loopback that answers 200 and counts.
async fn start_receiver() -> anyhow::Result<(String, Arc<AtomicU64>)> {
    let count = Arc::new(AtomicU64::new(0));
    let counter = count.clone();
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::Relaxed);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hooks", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((url, count))
}

async fn seed(state: &AppState, receiver_url: &str, count: usize) -> anyhow::Result<()> {
    let now = state.clock.now();
    let merchant = MerchantRecord {
        id: new_id(state.clock.as_ref()),
        name: "Bench".into(),
        nit: None,
        status: MerchantStatus::Active,
        created_at: now,
        updated_at: now,
    };
    let merchant_id: MerchantId = merchant.id;
    let endpoint_id: WebhookEndpointId = new_id(state.clock.as_ref());
    let endpoint = EndpointRecord {
        id: endpoint_id,
        merchant_id,
        livemode: false,
        url: receiver_url.to_string(),
        description: Some("bench".into()),
        enabled_events: vec![EventPattern::All],
        metadata: BTreeMap::new(),
        status: EndpointStatus::Enabled,
        disabled_reason: None,
        secret: super::endpoints::seal(&state.secrets, &signing::generate_secret()),
        previous_secret: None,
        previous_secret_expires_at: None,
        failing_since: None,
        created_at: now,
        updated_at: now,
    };
    state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                merchants::insert_merchant(&mut c, &merchant).await?;
                webhooks::insert_endpoint(&mut c, &endpoint).await
            })
        })
        .await?;
    let mut left = count;
    while left > 0 {
        let batch = left.min(SEED_BATCH);
        left -= batch;
        let ids: Vec<EventId> = (0..batch).map(|_| new_id(state.clock.as_ref())).collect();
        state
            .store
            .write(move |mut c| {
                Box::pin(async move {
                    for (n, id) in ids.into_iter().enumerate() {
                        let object = json!({"id": format!("po_bench_{n}"), "object": "payout",
                                            "amount": 200_000, "currency": "COP", "status": "paid"});
                        events::emit(&mut c, merchant_id, false, EventType::PayoutPaid, &object, id, now)
                            .await?;
                    }
                    Ok::<_, StoreError>(())
                })
            })
            .await?;
    }
    Ok(())
}
