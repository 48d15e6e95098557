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

use cajero_domain::id::MerchantId;
use cajero_domain::ledger::AccountKey;
use cajero_domain::merchant::Mode;
use cajero_store::verify::{self, Problem, Report};
use cajero_store::{Store, StoreError};
use jiff::Timestamp;
use tokio::task::JoinHandle;

use crate::AppState;
use crate::alerts;
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

/// The subject of the ledger check's alerts.
const LEDGER_SUBJECT: &str = "ledger";

/// Verifies the whole ledger once. When anything is off it logs every problem (up to
/// [`PROBLEMS_LOGGED_MAX`]) at error and raises `ledger_check_failed`: a platform-wide alert
/// for the operator, and one to each merchant whose accounts are involved (each stays open,
/// counted, until a check passes again, which resolves them all).
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
        resolve_check_alerts(store, now).await?;
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
    let count = report.problems.len();
    let mut raises: Vec<(Option<MerchantId>, Mode)> = merchants_involved(&report.problems)
        .into_iter()
        .map(|(m, mode)| (Some(m), mode))
        .collect();
    raises.push((None, Mode::Live));
    store
        .write(move |mut c| {
            Box::pin(async move {
                for (merchant, mode) in raises {
                    let message = match merchant {
                        Some(_) => format!(
                            "The periodic ledger check found {count} problem(s) involving this \
                             account's books; the operator has been alerted."
                        ),
                        None => format!("The periodic ledger check found {count} problem(s)."),
                    };
                    let spec = alerts::AlertSpec {
                        mode,
                        code: alerts::codes::LEDGER_CHECK_FAILED,
                        subject: LEDGER_SUBJECT.to_string(),
                        merchant,
                        severity: alerts::Severity::Critical,
                        message,
                        details: serde_json::json!({ "problems": count }),
                    };
                    alerts::raise(&mut c, now, spec).await?;
                }
                Ok::<_, StoreError>(())
            })
        })
        .await?;
    Ok(report)
}

/// A check passed: every open `ledger_check_failed` alert is resolved.
async fn resolve_check_alerts(store: &Store, now: Timestamp) -> Result<(), StoreError> {
    store
        .write(move |mut c| {
            Box::pin(async move {
                let open = cajero_store::alerts::open_of_code(
                    &mut c,
                    alerts::codes::LEDGER_CHECK_FAILED,
                    1_000,
                )
                .await?;
                for alert in open {
                    let merchant = alert.merchant_id.as_deref().and_then(|m| m.parse().ok());
                    alerts::resolve(
                        &mut c,
                        now,
                        Mode::from_livemode(alert.livemode),
                        alerts::codes::LEDGER_CHECK_FAILED,
                        &alert.subject,
                        merchant,
                        "the periodic ledger check passed",
                    )
                    .await?;
                }
                Ok::<_, StoreError>(())
            })
        })
        .await
}

/// The merchants (and modes) owning an account a problem names.
fn merchants_involved(problems: &[Problem]) -> BTreeSet<(MerchantId, Mode)> {
    problems
        .iter()
        .filter_map(|p| match p {
            Problem::TotalsMismatch { account, .. } | Problem::LimitBroken { account, .. } => {
                let key = account.parse::<AccountKey>().ok()?;
                key.merchant_id().map(|m| (m, key.mode))
            }
            // Its fees may be priced on the wrong tier.
            Problem::VolumeMismatch {
                merchant, livemode, ..
            } => Some((merchant.parse().ok()?, Mode::from_livemode(*livemode))),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use cajero_domain::ledger::{AccountKind, Totals};
    use cajero_domain::money::Currency;

    use super::*;

    /// A merchant whose counted monthly volume is off is told, as one whose balances are: its
    /// volume-tiered fees may be priced on the wrong tier.
    #[test]
    fn the_merchants_of_mismatched_balances_and_volumes_are_involved() {
        let (a, b) = (
            MerchantId::from_parts(1_764_000_000_000, 1),
            MerchantId::from_parts(1_764_000_000_000, 2),
        );
        let account =
            AccountKey::merchant(AccountKind::MerchantAvailable, a, Mode::Test, Currency::Cop);
        let problems = [
            Problem::TotalsMismatch {
                account: account.to_string(),
                stored: Totals::default(),
                recomputed: Totals::default(),
            },
            Problem::VolumeMismatch {
                merchant: b.to_string(),
                livemode: true,
                volume: "COP payout 2026-11".into(),
                stored: 7,
                recomputed: 0,
            },
            Problem::EmptyBatch {
                batch: "txn_x".into(),
            },
        ];
        assert_eq!(
            merchants_involved(&problems),
            BTreeSet::from([(a, Mode::Test), (b, Mode::Live)])
        );
    }
}
