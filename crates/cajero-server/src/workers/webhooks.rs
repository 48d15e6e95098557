//! The webhook worker: claims due deliveries from the outbox under a lease, sends them, and
//! records each attempt with what comes next (API.md's retry schedule, `Retry-After`, `410`
//! disabling the endpoint, five days of only failures disabling it with a
//! `webhook_endpoint.disabled` event).
//!
//! [`WebhookWorker::run_once`] does one batch start to finish at a given instant, for tests
//! driven by a manual clock. [`WebhookWorker::start`] runs the production loop: deliveries are
//! pipelined (a slow receiver holds one slot, not the batch) within
//! `webhooks.delivery_concurrency_max`, and finished attempts are recorded in batches.
//!
//! Leases are short (`webhooks.lease_ms`) and held by this instance's incarnation: the worker
//! renews them every third of a lease while their deliveries are in flight, so a dead
//! instance's deliveries are taken over within seconds (at once when its heartbeat lapses or
//! when it restarts). An attempt is never sent from two instances at once: an attempt whose
//! lease this worker could not renew in time, or made while this instance could not renew its
//! heartbeat, is abandoned before another instance may take the delivery over.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cajero_domain::id::{EventId, MerchantId, WebhookEndpointId};
use cajero_domain::webhook::{FAILING_DISABLE_AFTER_S, next_attempt_delay};
use cajero_store::webhook_deliveries::{
    self, AttemptOutcome, AttemptRecord, ClaimRequest, ClaimedDelivery, NextStep,
};
use cajero_store::webhooks::{self, DisabledReason};
use cajero_store::{Store, StoreError, events};
use futures::StreamExt;
use jiff::{SignedDuration, Timestamp};
use rand::RngExt;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;

use super::{LoopPacing, ShutdownSignal, Worker, run_loop};
use crate::AppState;
use crate::clock::Clock;
use crate::config::WebhooksConfig;
use crate::instance::Instance;
use crate::webhook::send::{SendResult, Sender};
use crate::webhook::{ENDPOINT_DISABLED, endpoint_json};

/// When free delivery slots are few, wait this long at most for more before claiming, so that
/// claims come in batches rather than one per finished delivery.
const CLAIM_GATHER_MS: u64 = 5;
/// Pause after a failed step (the database is down, say).
const ERROR_BACKOFF_MS: u64 = 1_000;

/// What one batch came to.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RunStats {
    /// Deliveries claimed and attempted.
    pub attempted: usize,
    /// Attempts the receiver accepted (2xx).
    pub succeeded: usize,
    /// Attempts that failed.
    pub failed: usize,
    /// Endpoints disabled by this batch (410, or five days of only failures).
    pub endpoints_disabled: usize,
    /// Attempts abandoned in flight because their lease could not be kept.
    pub abandoned: usize,
}

/// An attempt made, waiting to be recorded.
#[derive(Debug)]
struct Finished {
    delivery: ClaimedDelivery,
    token: Arc<str>,
    result: SendResult,
    /// Keeps the lease renewed until the attempt is recorded.
    lease: LeaseGuard,
}

/// The webhook worker; cheap to clone.
#[derive(Debug, Clone)]
pub struct WebhookWorker {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    clock: Arc<dyn Clock>,
    sender: Sender,
    config: WebhooksConfig,
    instance: Arc<Instance>,
    /// Tells this worker's claim tokens from those of other workers of the same incarnation.
    worker: u32,
    claims: AtomicU64,
    leases: Arc<Leases>,
}

/// The leases a worker holds: the claim tokens whose deliveries are not yet recorded (with how
/// many), and when the last renewal of them that the database accepted started.
#[derive(Debug, Default)]
struct Leases {
    held: Mutex<HashMap<Arc<str>, usize>>,
    renewed: Mutex<Option<Instant>>,
}

impl Leases {
    fn tokens(&self) -> Vec<String> {
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.keys().map(|t| t.to_string()).collect()
    }

    fn renewed_at(&self) -> Option<Instant> {
        *self.renewed.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One claimed delivery's share of its claim's lease: while any guard of a claim lives, the
/// worker renews the claim's leases. Dropped once the attempt is recorded or abandoned (or
/// when a batch is dropped), so a lease this worker lost track of runs out.
#[derive(Debug, Default)]
struct LeaseGuard {
    held: Option<(Arc<Leases>, Arc<str>)>,
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        let Some((leases, token)) = self.held.take() else {
            return;
        };
        let mut held = leases.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = held.get_mut(&token) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                held.remove(&token);
            }
        }
    }
}

/// When a claim was made: the lease it took runs from `started`; renewals that started after
/// `held_since` cover it.
#[derive(Debug, Clone, Copy)]
struct ClaimTimes {
    started: Instant,
    held_since: Instant,
}

impl WebhookWorker {
    /// A worker over the server's store, clock, instance and `webhooks` settings.
    pub fn new(state: &AppState) -> anyhow::Result<WebhookWorker> {
        let config = state.config.webhooks.clone();
        let sender = Sender::new(
            Duration::from_millis(config.timeout_ms),
            config.allow_loopback_in_test_mode,
            config.delivery_concurrency_max as usize,
            state.secrets.clone(),
        )?;
        // Install the metrics recorder before the first attempt counts.
        let _ = crate::metrics::handle();
        Ok(WebhookWorker {
            inner: Arc::new(Inner {
                store: state.store.clone(),
                clock: state.clock.clone(),
                sender,
                config,
                instance: state.instance.clone(),
                worker: rand::rng().random(),
                claims: AtomicU64::new(0),
                leases: Arc::new(Leases::default()),
            }),
        })
    }

    fn token(&self) -> Arc<str> {
        let n = self.inner.claims.fetch_add(1, Ordering::Relaxed);
        Arc::from(format!(
            "{}-{:08x}-{n}",
            self.inner.instance.incarnation(),
            self.inner.worker
        ))
    }

    async fn claim(
        &self,
        now: Timestamp,
        limit: usize,
        token: &Arc<str>,
    ) -> Result<(Vec<(ClaimedDelivery, LeaseGuard)>, ClaimTimes), StoreError> {
        let started = Instant::now();
        let instance = &self.inner.instance;
        // Leases are held by this incarnation once it is registered (an unregistered worker, a
        // tool, holds them by their end alone). While its heartbeat is in doubt, others may
        // count it dead and take its deliveries: claim nothing then.
        if instance
            .surely_alive_until()
            .is_some_and(|until| until <= started)
        {
            tracing::warn!(
                instance = instance.id(),
                "this instance's heartbeat is late: claiming no webhook deliveries"
            );
            let times = ClaimTimes {
                started,
                held_since: started,
            };
            return Ok((Vec::new(), times));
        }
        let holder = instance
            .is_registered()
            .then(|| instance.incarnation().to_string());
        let lease = self.inner.lease();
        let token_text = token.to_string();
        let limit = u32::try_from(limit).unwrap_or(u32::MAX);
        let per_endpoint_max = self.inner.config.endpoint_concurrency_max;
        let claimed = self
            .inner
            .store
            .write(move |mut c| {
                Box::pin(async move {
                    let request = ClaimRequest {
                        now,
                        lease_until: now.checked_add(lease).unwrap_or(now),
                        token: &token_text,
                        holder: holder.as_deref(),
                        limit,
                        per_endpoint_max,
                    };
                    webhook_deliveries::claim_due(&mut c, &request).await
                })
            })
            .await?;
        if !claimed.is_empty() {
            let mut held = self
                .inner
                .leases
                .held
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            *held.entry(token.clone()).or_default() += claimed.len();
        }
        let claimed = claimed
            .into_iter()
            .map(|delivery| {
                let guard = LeaseGuard {
                    held: Some((self.inner.leases.clone(), token.clone())),
                };
                (delivery, guard)
            })
            .collect();
        // After the tokens are in `held`: a renewal that starts from now on covers them.
        let held_since = Instant::now();
        Ok((
            claimed,
            ClaimTimes {
                started,
                held_since,
            },
        ))
    }

    /// Renews the leases of the deliveries this worker has in flight (claimed, attempts not
    /// yet recorded) to a full `webhooks.lease_ms` from now; returns how many. The worker does
    /// this every third of a lease by itself; tests call it to step through time.
    pub async fn renew_leases(&self) -> Result<u64, StoreError> {
        let tokens = self.inner.leases.tokens();
        if tokens.is_empty() {
            return Ok(0);
        }
        let started = Instant::now();
        let now = self.inner.clock.now();
        let lease_until = now.checked_add(self.inner.lease()).unwrap_or(now);
        let renewed = self
            .inner
            .store
            .write(move |mut c| {
                Box::pin(
                    async move { webhook_deliveries::renew(&mut c, &tokens, lease_until).await },
                )
            })
            .await?;
        let mut last = self
            .inner
            .leases
            .renewed
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if last.is_none_or(|l| l < started) {
            *last = Some(started);
        }
        Ok(renewed)
    }

    /// Renews the leases in flight every third of a lease, forever.
    async fn renew_forever(&self) {
        let every = self.inner.lease_duration() / 3;
        loop {
            tokio::time::sleep(every).await;
            if let Err(error) = self.renew_leases().await {
                tracing::warn!(%error, "could not renew webhook delivery leases");
            }
        }
    }

    /// Claims the deliveries due at `now` (one batch), sends them concurrently, records every
    /// attempt, and returns what happened. Tests drive the worker with this and a manual clock.
    pub async fn run_once(&self, now: Timestamp) -> Result<RunStats, StoreError> {
        let batch = self.batch(now);
        tokio::select! {
            stats = batch => stats,
            () = self.renew_forever() => Ok(RunStats::default()),
        }
    }

    async fn batch(&self, now: Timestamp) -> Result<RunStats, StoreError> {
        let token = self.token();
        let (claimed, times) = self
            .claim(now, self.inner.config.batch_max as usize, &token)
            .await?;
        let inner = &self.inner;
        let attempts: Vec<Option<Finished>> = futures::stream::iter(claimed)
            .map(|(delivery, lease)| attempt(inner, delivery, token.clone(), lease, times, now))
            .buffer_unordered(self.inner.config.delivery_concurrency_max as usize)
            .collect()
            .await;
        let abandoned = attempts.iter().filter(|a| a.is_none()).count();
        let finished: Vec<Finished> = attempts.into_iter().flatten().collect();
        let mut stats = record(&self.inner.store, finished, now).await?;
        stats.abandoned = abandoned;
        Ok(stats)
    }

    /// Runs the delivery loop until `shutdown`; the handle completes once attempts in flight
    /// are recorded.
    pub fn start(self, shutdown: ShutdownSignal) -> JoinHandle<()> {
        let (done, finished) = mpsc::channel(self.inner.config.batch_max as usize * 4);
        let recorder = tokio::spawn(recorder(self.inner.clone(), finished));
        let renewer = {
            let worker = self.clone();
            tokio::spawn(async move { worker.renew_forever().await })
        };
        let pacing = LoopPacing {
            idle_sleep: Duration::from_millis(self.inner.config.idle_poll_ms),
            error_backoff: Duration::from_millis(ERROR_BACKOFF_MS),
        };
        let slots = Arc::new(Semaphore::new(
            self.inner.config.delivery_concurrency_max as usize,
        ));
        let pipeline = Pipeline {
            worker: self,
            slots,
            done,
        };
        tokio::spawn(async move {
            run_loop(pipeline, pacing, shutdown).await;
            // The pipeline (and its sender half) is gone; the recorder ends when the last
            // delivery in flight has handed over its result. Leases are renewed until then.
            let _ = recorder.await;
            renewer.abort();
        })
    }
}

impl Inner {
    fn lease_duration(&self) -> Duration {
        Duration::from_millis(self.config.lease_ms)
    }

    fn lease(&self) -> SignedDuration {
        SignedDuration::from_millis(i64::try_from(self.config.lease_ms).unwrap_or(i64::MAX))
    }

    /// Until when an attempt of a claim made at `times` may run: a quarter of a lease before
    /// the lease (as last renewed) runs out, and no later than this incarnation surely counts
    /// as alive. Past it another instance may take the delivery over.
    fn fence(&self, times: ClaimTimes) -> Instant {
        let lease = self.lease_duration();
        let renewed = self.leases.renewed_at().filter(|r| *r >= times.held_since);
        let from = renewed.map_or(times.started, |r| r.max(times.started));
        let deadline = from + (lease - lease / 4);
        match self.instance.surely_alive_until() {
            Some(alive) => deadline.min(alive),
            None => deadline,
        }
    }
}

/// Completes once the fence of a claim made at `times` has passed.
async fn lease_lost(inner: &Inner, times: ClaimTimes) {
    loop {
        let deadline = inner.fence(times);
        if Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)).await;
    }
}

/// Sends one claimed delivery, unless its lease is lost first (then `None`: the attempt is
/// abandoned, unrecorded, and its lease left to run out).
async fn attempt(
    inner: &Inner,
    delivery: ClaimedDelivery,
    token: Arc<str>,
    lease: LeaseGuard,
    times: ClaimTimes,
    now: Timestamp,
) -> Option<Finished> {
    let result = tokio::select! {
        result = inner.sender.send(&delivery, now) => result,
        () = lease_lost(inner, times) => {
            tracing::warn!(
                event = %delivery.event.id,
                endpoint = %delivery.endpoint_id,
                "a webhook delivery's lease could not be kept: attempt abandoned in flight"
            );
            return None;
        }
    };
    crate::metrics::webhook_attempt(&delivery.endpoint_id, &result);
    Some(Finished {
        delivery,
        token,
        result,
        lease,
    })
}

/// The production loop's step: claim as many deliveries as there are free slots, and send
/// each in its own task.
struct Pipeline {
    worker: WebhookWorker,
    slots: Arc<Semaphore>,
    done: mpsc::Sender<Finished>,
}

impl Worker for Pipeline {
    fn name(&self) -> &'static str {
        "webhooks"
    }

    async fn step(&self) -> anyhow::Result<usize> {
        let config = &self.worker.inner.config;
        let first = self.slots.clone().acquire_owned().await?;
        let low_water = (config.delivery_concurrency_max as usize / 4).clamp(1, 64);
        let gather_until = Instant::now() + Duration::from_millis(CLAIM_GATHER_MS);
        while self.slots.available_permits() + 1 < low_water && Instant::now() < gather_until {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let limit = (self.slots.available_permits() + 1).min(config.batch_max as usize);
        let token = self.worker.token();
        let now = self.worker.inner.clock.now();
        let (claimed, times) = self.worker.claim(now, limit, &token).await?;
        let count = claimed.len();
        let mut first = Some(first);
        for (delivery, lease) in claimed {
            let slot = match first.take() {
                Some(slot) => slot,
                None => self.slots.clone().acquire_owned().await?,
            };
            let inner = self.worker.inner.clone();
            let done = self.done.clone();
            let token = token.clone();
            tokio::spawn(async move {
                let now = inner.clock.now();
                if let Some(finished) = attempt(&inner, delivery, token, lease, times, now).await {
                    let _ = done.send(finished).await;
                }
                drop(slot);
            });
        }
        Ok(count)
    }
}

/// Records finished attempts in batches, one unit of work per batch.
async fn recorder(inner: Arc<Inner>, mut finished: mpsc::Receiver<Finished>) {
    let batch_max = inner.config.batch_max as usize;
    while let Some(first) = finished.recv().await {
        let mut batch = vec![first];
        while batch.len() < batch_max {
            match finished.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let count = batch.len();
        if let Err(error) = record(&inner.store, batch, inner.clock.now()).await {
            // The leases run out and the deliveries are attempted again: at least once.
            tracing::error!(%error, count, "could not record webhook attempts");
        }
    }
}

/// What an attempt leads to.
fn next_step(
    delivery: &ClaimedDelivery,
    result: &SendResult,
    jitter: i32,
    now: Timestamp,
) -> NextStep {
    if result.succeeded() {
        return NextStep::Succeeded;
    }
    if result.gone() {
        return NextStep::Failed;
    }
    match next_attempt_delay(delivery.round_attempts + 1, jitter, result.retry_after_s) {
        Some(wait) => NextStep::RetryAt(now.checked_add(wait).unwrap_or(now)),
        None => NextStep::Failed,
    }
}

/// How an endpoint fared in one batch.
#[derive(Debug, Clone, Copy)]
struct Health {
    succeeded: bool,
    gone: bool,
    failures: i64,
    merchant: MerchantId,
    livemode: bool,
}

/// Consecutive failed deliveries after which an endpoint's merchant and the operator are
/// alerted (`webhook_endpoint_failing`): a few retries of one event are normal, a run of
/// failures across events is not.
pub const ENDPOINT_FAILING_ALERT_AFTER: i64 = 5;

/// Records a batch of attempts in one unit of work, then the endpoints' health: a `410`
/// disables its endpoint; a failure-only batch on an endpoint failing for five days disables
/// it; either announces itself with a `webhook_endpoint.disabled` event.
async fn record(
    store: &Store,
    finished: Vec<Finished>,
    now: Timestamp,
) -> Result<RunStats, StoreError> {
    if finished.is_empty() {
        return Ok(RunStats::default());
    }
    // The leases stay renewed until the attempts are recorded (or the recording failed: then
    // they run out and the deliveries are attempted again).
    let mut finished = finished;
    let _leases: Vec<LeaseGuard> = finished
        .iter_mut()
        .map(|f| std::mem::take(&mut f.lease))
        .collect();
    let (jitters, event_ids) = {
        let mut rng = rand::rng();
        let jitter_max = cajero_domain::webhook::JITTER_PERMILLE_MAX;
        let jitters: Vec<i32> = finished
            .iter()
            .map(|_| rng.random_range(-jitter_max..=jitter_max))
            .collect();
        let event_ids: Vec<u128> = finished.iter().map(|_| rng.random()).collect();
        (jitters, event_ids)
    };
    store
        .write(move |mut c| {
            Box::pin(async move {
                let mut stats = RunStats::default();
                let outcomes: Vec<AttemptOutcome> = finished
                    .iter()
                    .zip(jitters)
                    .map(|(f, jitter)| AttemptOutcome {
                        attempt: AttemptRecord {
                            event_id: f.delivery.event.id,
                            endpoint_id: f.delivery.endpoint_id,
                            attempt: f.delivery.attempt_count + 1,
                            started_at: f.result.started_at,
                            duration_ms: f.result.duration_ms,
                            status_code: f.result.status,
                            error: f.result.error.clone(),
                            response_body: f.result.body.clone(),
                        },
                        token: f.token.to_string(),
                        next: next_step(&f.delivery, &f.result, jitter, now),
                    })
                    .collect();
                let recorded = webhook_deliveries::record_attempts(&mut c, &outcomes, now).await?;
                let mut health: HashMap<WebhookEndpointId, Health> = HashMap::new();
                for (f, recorded) in finished.iter().zip(recorded) {
                    stats.attempted += 1;
                    if f.result.succeeded() {
                        stats.succeeded += 1;
                    } else {
                        stats.failed += 1;
                    }
                    if recorded {
                        let h = health.entry(f.delivery.endpoint_id).or_insert(Health {
                            succeeded: false,
                            gone: false,
                            failures: 0,
                            merchant: f.delivery.event.merchant_id,
                            livemode: f.delivery.event.livemode,
                        });
                        h.succeeded |= f.result.succeeded();
                        h.gone |= f.result.gone();
                        h.failures += i64::from(!f.result.succeeded());
                    }
                }
                let ms = u64::try_from(now.as_millisecond()).unwrap_or(0);
                for ((endpoint_id, h), random) in health.into_iter().zip(event_ids) {
                    let reason = if h.gone {
                        Some(DisabledReason::Gone)
                    } else {
                        let health = webhooks::note_attempt(
                            &mut c,
                            endpoint_id,
                            h.succeeded,
                            h.failures,
                            now,
                        )
                        .await?;
                        endpoint_alert(&mut c, endpoint_id, &h, &health, None, now).await?;
                        health
                            .failing_since
                            .filter(|s| now.duration_since(*s).as_secs() >= FAILING_DISABLE_AFTER_S)
                            .map(|_| DisabledReason::Failing)
                    };
                    let Some(reason) = reason else { continue };
                    let Some(endpoint) =
                        webhooks::disable_endpoint(&mut c, endpoint_id, reason, now).await?
                    else {
                        continue;
                    };
                    stats.endpoints_disabled += 1;
                    tracing::warn!(%endpoint_id, reason = reason.as_str(), "webhook endpoint disabled");
                    let unknown = webhooks::EndpointHealth::default();
                    endpoint_alert(&mut c, endpoint_id, &h, &unknown, Some(reason), now).await?;
                    events::emit(
                        &mut c,
                        endpoint.merchant_id,
                        endpoint.livemode,
                        ENDPOINT_DISABLED,
                        &endpoint_json(&endpoint, None),
                        EventId::from_parts(ms, random),
                        now,
                    )
                    .await?;
                }
                Ok(stats)
            })
        })
        .await
}

/// Raises `webhook_endpoint_failing` for an endpoint disabled (`disabled`) or past
/// [`ENDPOINT_FAILING_ALERT_AFTER`] consecutive failures, and resolves it when a delivery
/// succeeded again.
async fn endpoint_alert(
    c: &mut cajero_store::Conn<'_>,
    endpoint_id: WebhookEndpointId,
    h: &Health,
    health: &webhooks::EndpointHealth,
    disabled: Option<DisabledReason>,
    now: Timestamp,
) -> Result<(), StoreError> {
    use crate::alerts::{self, AlertSpec, Severity, codes};
    let mode = cajero_domain::merchant::Mode::from_livemode(h.livemode);
    let subject = endpoint_id.to_string();
    if health.recovered {
        alerts::resolve(
            c,
            now,
            mode,
            codes::WEBHOOK_ENDPOINT_FAILING,
            &subject,
            Some(h.merchant),
            "a delivery to the endpoint succeeded",
        )
        .await?;
        return Ok(());
    }
    let (severity, message) = match disabled {
        Some(reason) => (
            Severity::Critical,
            format!(
                "Webhook endpoint {subject} was disabled ({}): events are kept, not sent.",
                reason.as_str()
            ),
        ),
        None if health.consecutive_failures >= ENDPOINT_FAILING_ALERT_AFTER => (
            Severity::Warning,
            format!(
                "Webhook endpoint {subject} failed its last {} deliveries.",
                health.consecutive_failures
            ),
        ),
        None => return Ok(()),
    };
    let spec = AlertSpec {
        mode,
        code: codes::WEBHOOK_ENDPOINT_FAILING,
        subject,
        merchant: Some(h.merchant),
        severity,
        message,
        details: serde_json::json!({
            "endpoint": endpoint_id.to_string(),
            "consecutive_failures": health.consecutive_failures,
            "disabled": disabled.map(DisabledReason::as_str),
        }),
    };
    alerts::raise(c, now, spec).await.map(|_| ())
}
