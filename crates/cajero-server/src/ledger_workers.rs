//! The ledger's background work: settlement every `ledger.settlement_interval_ms`, and the
//! books' check (`cajero ledger verify`) every `ledger.verify_interval_ms`, which raises an
//! alert when anything is off.
//!
//! Both run in the shared worker loop ([`crate::workers::run_loop`]) and each step is a
//! single-step function ([`crate::settlement::run_once`], [`check_once`]) that tests drive
//! directly with a manual clock. Both are safe on several servers at once: settlement cannot
//! settle a batch twice, and the check only reads.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cajero_domain::id::{EventId, MerchantId};
use cajero_domain::ledger::AccountKey;
use cajero_domain::merchant::Mode;
use cajero_store::verify::{self, Problem, Report};
use cajero_store::{Store, StoreError};
use jiff::Timestamp;
use tokio::task::JoinHandle;

use crate::AppState;
use crate::clock::Clock;
use crate::metrics::{self, JobResult};
use crate::settlement;
use crate::workers::{LoopPacing, ShutdownSignal, Worker, run_loop};

/// Ledger problems written to the log per check at most (the count is always logged).
pub const PROBLEMS_LOGGED_MAX: usize = 50;

/// Settles due pay-ins ([`settlement::run_once`]).
#[derive(Debug)]
pub struct SettlementWorker {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl Worker for SettlementWorker {
    fn name(&self) -> &'static str {
        "settlement"
    }

    async fn step(&self) -> anyhow::Result<usize> {
        let now = self.clock.now();
        let report = settlement::run_once(&self.store, now).await;
        let result = match &report {
            Ok(_) => JobResult::Succeeded,
            Err(_) => JobResult::Failed,
        };
        metrics::job_run(metrics::job::SETTLEMENT, result, now);
        Ok(report?.settled.len())
    }
}

/// Verifies the books ([`check_once`]); the first step, at start-up, is skipped so that a
/// large ledger does not slow the start.
#[derive(Debug)]
pub struct LedgerCheckWorker {
    store: Store,
    clock: Arc<dyn Clock>,
    started: AtomicBool,
}

impl Worker for LedgerCheckWorker {
    fn name(&self) -> &'static str {
        "ledger_check"
    }

    async fn step(&self) -> anyhow::Result<usize> {
        if self.started.swap(true, Ordering::Relaxed) {
            let now = self.clock.now();
            let report = check_once(&self.store, now).await;
            let result = match &report {
                Ok(r) if r.problems.is_empty() => JobResult::Succeeded,
                Ok(_) => JobResult::Problems,
                Err(_) => JobResult::Failed,
            };
            if let Ok(r) = &report {
                metrics::ledger_problems(r.problems.len());
            }
            metrics::job_run(metrics::job::LEDGER_CHECK, result, now);
            report?;
        }
        Ok(0)
    }
}

/// Starts the ledger workers the configuration enables (an interval of 0 disables one).
pub fn start(state: &AppState, signal: &ShutdownSignal, workers: &mut Vec<JoinHandle<()>>) {
    let config = &state.config.ledger;
    let pacing = |ms: u64| LoopPacing {
        idle_sleep: Duration::from_millis(ms),
        error_backoff: Duration::from_millis(ms),
    };
    if config.settlement_interval_ms > 0 {
        let worker = SettlementWorker {
            store: state.store.clone(),
            clock: state.clock.clone(),
        };
        workers.push(tokio::spawn(run_loop(
            worker,
            pacing(config.settlement_interval_ms),
            signal.clone(),
        )));
    }
    if config.verify_interval_ms > 0 {
        let worker = LedgerCheckWorker {
            store: state.store.clone(),
            clock: state.clock.clone(),
            started: AtomicBool::new(false),
        };
        workers.push(tokio::spawn(run_loop(
            worker,
            pacing(config.verify_interval_ms),
            signal.clone(),
        )));
    }
}

/// Verifies the whole ledger once. When anything is off it logs every problem (up to
/// [`PROBLEMS_LOGGED_MAX`]) at error and raises `alert.raised` to each merchant whose accounts
/// are involved (once per merchant, mode and Bogotá day).
pub async fn check_once(store: &Store, now: Timestamp) -> Result<Report, StoreError> {
    let report = store
        .read(|mut c| Box::pin(async move { verify::verify(&mut c).await }))
        .await?;
    if report.problems.is_empty() {
        tracing::debug!(
            accounts = report.accounts,
            transfers = report.transfers,
            "ledger verified"
        );
        return Ok(report);
    }
    tracing::error!(
        problems = report.problems.len(),
        accounts = report.accounts,
        transfers = report.transfers,
        "ALERT: the ledger does not verify"
    );
    for problem in report.problems.iter().take(PROBLEMS_LOGGED_MAX) {
        tracing::error!(%problem, "ledger problem");
    }
    let today = cajero_domain::calendar::bogota_date(now);
    let day_ms = u64::try_from(
        today
            .at(0, 0, 0, 0)
            .to_zoned_datetime(cajero_domain::calendar::bogota())
            .map(|z| z.timestamp().as_millisecond())
            .unwrap_or(0),
    )
    .unwrap_or(0);
    for (merchant, mode) in merchants_involved(&report.problems) {
        let count = report.problems.len();
        store
            .write(move |mut c| {
                Box::pin(async move {
                    let id = EventId::derived(
                        EventId::min_at(day_ms),
                        &format!("alert:ledger_unbalanced:{merchant}:{mode}"),
                    );
                    let message = format!(
                        "The periodic ledger check found {count} problem(s) involving this \
                         account's books; the operator has been alerted."
                    );
                    settlement::raise_alert(
                        &mut c,
                        merchant,
                        mode,
                        id,
                        "ledger_check_failed",
                        &message,
                        now,
                    )
                    .await
                })
            })
            .await?;
    }
    Ok(report)
}

/// The merchants (and modes) owning an account a problem names.
fn merchants_involved(problems: &[Problem]) -> BTreeSet<(MerchantId, Mode)> {
    problems
        .iter()
        .filter_map(|p| match p {
            Problem::TotalsMismatch { account, .. } | Problem::LimitBroken { account, .. } => {
                account.parse::<AccountKey>().ok()
            }
            _ => None,
        })
        .filter_map(|key| key.merchant_id().map(|m| (m, key.mode)))
        .collect()
}
