//! Background workers and the loop that runs them.
//!
//! A worker does its work in bounded steps ([`Worker::step`]): claim a batch (with leases, so
//! that several instances share the work and a crashed one's work is taken over), do it,
//! record it. The loop calls `step` again at once while there is work, sleeps when a step
//! found none, backs off after an error, and stops on the shutdown signal. Tests call a
//! worker's own single-step function with a manual clock instead of running the loop.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;

pub mod claims;
pub mod expiry;
pub mod heartbeat;
pub mod poller;
pub mod probe;
pub mod purge;
pub mod reminders;
pub mod webhooks;

/// A background worker.
pub trait Worker: Send + Sync + 'static {
    /// For logs.
    fn name(&self) -> &'static str;

    /// Does one bounded batch of work; returns how many items it handled (0: nothing to do).
    fn step(&self) -> impl Future<Output = anyhow::Result<usize>> + Send;
}

/// Takes (or renews) the worker lease `name` for this instance until `now + seconds`: only
/// one instance at a time runs a leased worker's step; false when another holds it.
pub async fn take_lease(
    state: &crate::AppState,
    name: &'static str,
    now: jiff::Timestamp,
    seconds: i64,
) -> anyhow::Result<bool> {
    let holder = state.instance.id().to_owned();
    let until = now + jiff::SignedDuration::from_secs(seconds);
    Ok(state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                cajero_store::instances::take_worker_lease(&mut c, name, &holder, now, until).await
            })
        })
        .await?)
}

/// How a loop paces itself.
#[derive(Debug, Clone, Copy)]
pub struct LoopPacing {
    /// Sleep after a step that found nothing to do.
    pub idle_sleep: Duration,
    /// Sleep after a step that failed.
    pub error_backoff: Duration,
}

/// The signal that tells loops to stop: send `true`.
pub type ShutdownSignal = watch::Receiver<bool>;

/// Runs `worker` until `shutdown` turns true. A step in progress when the signal comes is
/// dropped: its leases run out and the work is picked up again, which is what at-least-once
/// work must tolerate anyway.
pub async fn run_loop<W: Worker>(worker: W, pacing: LoopPacing, mut shutdown: ShutdownSignal) {
    tracing::info!(worker = worker.name(), "worker started");
    while !*shutdown.borrow() {
        let pause = tokio::select! {
            result = worker.step() => match result {
                Ok(0) => Some(pacing.idle_sleep),
                Ok(_) => None,
                Err(error) => {
                    tracing::error!(worker = worker.name(), error = format!("{error:#}"), "worker step failed");
                    Some(pacing.error_backoff)
                }
            },
            _ = shutdown.changed() => break,
        };
        if let Some(pause) = pause {
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                _ = shutdown.changed() => break,
            }
        }
    }
    tracing::info!(worker = worker.name(), "worker stopped");
}

/// The background tasks of a server: the heartbeat, the workers the configuration enables,
/// and metrics upkeep. The instance must be registered first ([`heartbeat::register`]).
#[derive(Debug)]
pub struct Background {
    shutdown: watch::Sender<bool>,
    workers: Vec<tokio::task::JoinHandle<()>>,
    upkeep: tokio::task::JoinHandle<()>,
}

/// Starts the background tasks for `state`.
pub fn start(state: &crate::AppState) -> anyhow::Result<Background> {
    let (shutdown, signal) = watch::channel(false);
    let mut workers = Vec::new();
    workers.push(tokio::spawn(run_loop(
        heartbeat::HeartbeatWorker {
            state: state.clone(),
        },
        heartbeat::PACING,
        signal.clone(),
    )));
    workers.push(tokio::spawn(run_loop(
        claims::ClaimsWorker {
            state: state.clone(),
        },
        claims::PACING,
        signal.clone(),
    )));
    crate::ledger_workers::start(state, &signal, &mut workers);
    if state.config.webhooks.worker_enabled {
        workers.push(webhooks::WebhookWorker::new(state)?.start(signal.clone()));
    }
    let expiry = expiry::ExpiryWorker {
        state: state.clone(),
    };
    workers.push(tokio::spawn(run_loop(
        expiry,
        expiry::PACING,
        signal.clone(),
    )));
    if state.config.retention.purge_interval_ms > 0 {
        workers.push(tokio::spawn(run_loop(
            purge::PurgeWorker {
                state: state.clone(),
            },
            purge::pacing(state),
            signal.clone(),
        )));
    }
    if state.config.reconciliation.enabled {
        workers.push(tokio::spawn(run_loop(
            crate::reconciliation::job::ReconciliationWorker {
                state: state.clone(),
                attempts: std::sync::Mutex::new(std::collections::HashMap::new()),
            },
            crate::reconciliation::job::PACING,
            signal.clone(),
        )));
    }
    workers.push(tokio::spawn(run_loop(
        probe::ProbeWorker {
            state: state.clone(),
        },
        probe::pacing(state),
        signal.clone(),
    )));
    if state.config.alerts.notifier_enabled {
        workers.push(tokio::spawn(run_loop(
            crate::alerts::notify::NotifierWorker {
                state: state.clone(),
                notifier: crate::alerts::notify::Notifier::new(&state.config.alerts)?,
            },
            crate::alerts::notify::PACING,
            signal.clone(),
        )));
    }
    if state.config.sanctions.reloads() {
        workers.push(tokio::spawn(run_loop(
            crate::sanctions::ReloadWorker {
                state: state.clone(),
            },
            crate::sanctions::pacing(&state.config.sanctions),
            signal.clone(),
        )));
    }
    workers.push(tokio::spawn(run_loop(
        crate::audit_chain::AuditChainWorker {
            state: state.clone(),
        },
        crate::audit_chain::PACING,
        signal.clone(),
    )));
    workers.push(tokio::spawn(run_loop(
        crate::uiaf::flags::FlagWorker {
            state: state.clone(),
        },
        crate::uiaf::flags::PACING,
        signal.clone(),
    )));
    workers.push(tokio::spawn(run_loop(
        reminders::ReminderWorker {
            state: state.clone(),
        },
        reminders::PACING,
        signal.clone(),
    )));
    let poller = poller::PollerWorker {
        state: state.clone(),
    };
    workers.push(tokio::spawn(run_loop(poller, poller::PACING, signal)));
    Ok(Background {
        shutdown,
        workers,
        upkeep: crate::metrics::spawn_upkeep(state),
    })
}

impl Background {
    /// Signals every worker to stop and waits for them (attempts in flight finish and are
    /// recorded) for at most `grace`; what is still running then is abandoned to its leases.
    pub async fn stop(self, grace: Duration) {
        let _ = self.shutdown.send(true);
        self.upkeep.abort();
        let all = futures::future::join_all(self.workers);
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!("workers did not stop within the grace period");
        }
    }
}
