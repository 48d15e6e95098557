//! Deletes what is past its retention (`[retention]`, `orders.evidence_retention_days`), in
//! bounded batches, on one instance at a time.
//!
//! * finished `Idempotency-Key` records after `retention.idempotency_keys_hours` (24 h): a
//!   retry after that runs as a new request;
//! * events with their webhook deliveries and attempts after `retention.events_days` (90),
//!   except an event whose delivery is still pending, kept until that delivery ends;
//! * raw network evidence (and the marks of processed callbacks) after
//!   `orders.evidence_retention_days` (395);
//! * dashboard sessions past their idle or absolute timeout (`users::SESSION_IDLE`,
//!   `users::SESSION_ABSOLUTE`; already refused when presented, deleted here), and the
//!   console's operators' sessions likewise.
//!
//! Orders, refunds, settlements and the ledger are accounting records and are never purged
//! (see [`cajero_store::retention`]). Each step takes the `purge` worker lease first, so that
//! several instances sharing a database do not delete the same rows side by side; a dead
//! holder's lease is taken over at once. A step deletes at most `retention.purge_batch_max`
//! rows of each kind, each kind in its own transaction; the loop steps again at once while
//! there is more, then sleeps `retention.purge_interval_ms`.

use std::time::Duration;

use cajero_store::retention::{self, PurgedEvents};
use cajero_store::{dashboard, instances, network};
use jiff::{SignedDuration, Timestamp};

use crate::AppState;

/// The lease's name in `worker_leases`.
pub const LEASE_NAME: &str = "purge";

/// How long a step's lease holds: far longer than a step takes, so that the holder keeps it
/// from one step to the next (each step renews it); a dead holder's is taken over at once.
pub const LEASE_MS: i64 = 10 * 60 * 1_000;

/// The purge.
#[derive(Debug)]
pub struct PurgeWorker {
    /// Shared state.
    pub state: AppState,
}

impl super::Worker for PurgeWorker {
    fn name(&self) -> &'static str {
        "purge"
    }

    async fn step(&self) -> anyhow::Result<usize> {
        let report = run_once(&self.state).await?;
        Ok(usize::try_from(report.total()).unwrap_or(usize::MAX))
    }
}

/// How the purge loop paces itself: `retention.purge_interval_ms` between passes.
pub fn pacing(state: &AppState) -> super::LoopPacing {
    let interval = Duration::from_millis(state.config.retention.purge_interval_ms);
    super::LoopPacing {
        idle_sleep: interval,
        error_backoff: interval,
    }
}

/// What one step deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PurgeReport {
    /// Whether this instance held the lease (and so purged).
    pub leased: bool,
    /// `Idempotency-Key` records.
    pub idempotency_keys: u64,
    /// Events, deliveries and attempts.
    pub events: PurgedEvents,
    /// Network exchanges and processed-callback marks.
    pub evidence: u64,
    /// Expired dashboard and console sessions.
    pub sessions: u64,
    /// Risk totals and velocity rows no rule can read any more.
    pub risk: u64,
}

impl PurgeReport {
    /// Rows deleted in all.
    pub fn total(&self) -> u64 {
        self.idempotency_keys + self.events.total() + self.evidence + self.sessions + self.risk
    }
}

/// `now` less `duration`, or `now` when that is out of range.
fn before(now: Timestamp, duration: SignedDuration) -> Timestamp {
    now.checked_sub(duration).unwrap_or(now)
}

/// One bounded batch of each kind, if this instance holds (or takes) the lease; tests call this
/// with a manual clock.
pub async fn run_once(state: &AppState) -> anyhow::Result<PurgeReport> {
    let instance = state.instance.clone();
    if !instance.is_registered() {
        return Ok(PurgeReport::default());
    }
    let now = state.clock.now();
    let holder = instance.incarnation().to_string();
    let until = now
        .checked_add(SignedDuration::from_millis(LEASE_MS))
        .unwrap_or(now);
    let leased = state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                instances::take_worker_lease(&mut c, LEASE_NAME, &holder, now, until).await
            })
        })
        .await?;
    if !leased {
        return Ok(PurgeReport::default());
    }
    let config = &state.config;
    let limit = i64::from(config.retention.purge_batch_max);
    let hour_s = 3_600;
    let day_s = 24 * hour_s;
    let keys_before = before(
        now,
        SignedDuration::from_secs(i64::from(config.retention.idempotency_keys_hours) * hour_s),
    );
    let events_before = before(
        now,
        SignedDuration::from_secs(i64::from(config.retention.events_days) * day_s),
    );
    let evidence_before = before(
        now,
        SignedDuration::from_secs(i64::from(config.orders.evidence_retention_days) * day_s),
    );
    let idempotency_keys = state
        .store
        .write(move |mut c| {
            Box::pin(
                async move { retention::purge_idempotency_keys(&mut c, keys_before, limit).await },
            )
        })
        .await?;
    let events = state
        .store
        .write(move |mut c| {
            Box::pin(async move { retention::purge_events(&mut c, events_before, limit).await })
        })
        .await?;
    let evidence = state
        .store
        .write(move |mut c| {
            Box::pin(async move { network::purge_messages(&mut c, evidence_before, limit).await })
        })
        .await?;
    let (idle_before, created_before) = (
        before(now, crate::users::SESSION_IDLE),
        before(now, crate::users::SESSION_ABSOLUTE),
    );
    let sessions = state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                let users =
                    dashboard::delete_expired_sessions(&mut c, idle_before, created_before, limit)
                        .await?;
                let operators = cajero_store::operators::delete_expired_sessions(
                    &mut c,
                    idle_before,
                    created_before,
                    limit,
                )
                .await?;
                Ok::<_, cajero_store::StoreError>(users + operators)
            })
        })
        .await?;
    let risk = crate::risk::purge(&state.store, now, limit).await?;
    let report = PurgeReport {
        risk,
        leased: true,
        idempotency_keys,
        events,
        evidence,
        sessions,
    };
    if report.total() > 0 {
        tracing::info!(
            idempotency_keys,
            events = events.events,
            deliveries = events.deliveries,
            attempts = events.attempts,
            evidence,
            sessions,
            "purged records past their retention"
        );
    }
    Ok(report)
}
