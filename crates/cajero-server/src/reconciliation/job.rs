//! The daily job: from `reconciliation.hour:minute` (Bogotá) on, fetch through each route's
//! connector every day's file not imported yet — yesterday's, and the days before it within
//! `lookback_days` (so Monday's run also takes the weekend's, and a day the network was late
//! with is taken the next time) — and import it. One instance at a time runs it (a worker
//! lease). A file that could not be had is asked for again after `retry_minutes`. Exceptions
//! open longer than `exception_alert_after_hours` raise an alert.

use std::collections::HashMap;
use std::sync::Mutex;

use cajero_domain::calendar;
use cajero_domain::merchant::Mode;
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};

use super::{Format, Import, Imported, Source, import};
use crate::AppState;
use crate::metrics::{self, JobResult};
use crate::workers::{LoopPacing, Worker};

/// The job's pace: it checks every few minutes whether a file is due.
pub const PACING: LoopPacing = LoopPacing {
    idle_sleep: std::time::Duration::from_secs(300),
    error_backoff: std::time::Duration::from_secs(300),
};

/// The worker lease's name and length.
const LEASE: &str = "reconciliation";
const LEASE_SECONDS: i64 = 15 * 60;

/// What one run did, per route, network and day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEntry {
    /// Test or live.
    pub mode: Mode,
    /// The route.
    pub route: String,
    /// The cash network.
    pub network: String,
    /// The day.
    pub date: Date,
    /// What happened, in words (`imported`, `rejected`, `already imported`, or why not).
    pub result: String,
}

/// The days due at `now`: from `lookback_days` ago to yesterday (to the day before, before
/// the configured hour).
pub fn days_due(now: Timestamp, hour: u8, minute: u8, lookback_days: u8) -> Vec<Date> {
    let local = calendar::bogota().to_datetime(now);
    let today = local.date();
    let mut latest = today.yesterday().unwrap_or(today);
    let before_hour = (local.hour(), local.minute())
        < (
            i8::try_from(hour).unwrap_or(6),
            i8::try_from(minute).unwrap_or(0),
        );
    if before_hour {
        latest = latest.yesterday().unwrap_or(latest);
    }
    let mut days = Vec::new();
    let mut day = latest;
    for _ in 0..lookback_days {
        days.push(day);
        day = day.yesterday().unwrap_or(day);
    }
    days.reverse();
    days
}

/// Fetches and imports the files due at `now` (or, with `only`, that day's whatever the
/// hour, even if imported: the same bytes change nothing). `attempts` remembers when each was
/// last asked for.
pub async fn run_once(
    state: &AppState,
    now: Timestamp,
    only: Option<Date>,
    attempts: &Mutex<HashMap<(String, String, Date), Timestamp>>,
) -> anyhow::Result<Vec<RunEntry>> {
    let config = &state.config.reconciliation;
    let days = match only {
        Some(day) => vec![day],
        None => days_due(now, config.hour, config.minute, config.lookback_days),
    };
    let retry = SignedDuration::from_mins(i64::from(config.retry_minutes));
    let mut done = Vec::new();
    for network in state.networks.all() {
        let route = network.route.clone();
        let format = Format::of_route(&state.config, &route);
        let lenient = config.route(&route).lenient;
        for day in &days {
            let key = (route.clone(), network.code.clone(), *day);
            if only.is_none() {
                let imported = {
                    let (route, code, date) =
                        (route.clone(), network.code.clone(), day.to_string());
                    let mode = network.mode;
                    state
                        .store
                        .read(move |mut c| {
                            Box::pin(async move {
                                cajero_store::reconciliation::day_imported(
                                    &mut c, mode, &route, &code, &date,
                                )
                                .await
                            })
                        })
                        .await?
                };
                if imported {
                    continue;
                }
                let last = attempts
                    .lock()
                    .map_err(|_| anyhow::anyhow!("attempts lock poisoned"))?
                    .get(&key)
                    .copied();
                if last.is_some_and(|at| now.duration_since(at) < retry) {
                    continue;
                }
            }
            attempts
                .lock()
                .map_err(|_| anyhow::anyhow!("attempts lock poisoned"))?
                .insert(key, now);
            let fetched = network
                .connector
                .settlement_file(&network.code, &day.to_string(), format.as_str())
                .await;
            let result = match fetched.result {
                Err(e) => {
                    tracing::warn!(route = %route, network = %network.code, date = %day, error = %e,
                                   "reconciliation file not available yet");
                    format!("not fetched: {e}")
                }
                Ok(bytes) => {
                    let request = Import {
                        mode: network.mode,
                        route: route.clone(),
                        network: network.code.clone(),
                        format,
                        date: Some(*day),
                        lenient,
                        source: Source::Job,
                        by: "reconciliation job".into(),
                    };
                    match import(&state.store, &state.clock, request, bytes).await {
                        Ok(Imported::Done(s)) => format!(
                            "imported {}: {} lines, {} matched, {} exceptions",
                            s.file.id, s.file.line_count, s.file.matched, s.file.exceptions
                        ),
                        Ok(Imported::AlreadyImported(f)) => format!("already imported as {}", f.id),
                        Ok(Imported::Rejected { file, refused }) => {
                            tracing::error!(route = %route, network = %network.code, date = %day, file = %file.id,
                                            problems = refused.problems.len(),
                                            "ALERT reconciliation_file_rejected: the network's file does not add up");
                            format!(
                                "rejected as {}: {} problem(s)",
                                file.id,
                                refused.problems.len()
                            )
                        }
                        Err(e) => format!("failed: {e}"),
                    }
                }
            };
            done.push(RunEntry {
                mode: network.mode,
                route: route.clone(),
                network: network.code.clone(),
                date: *day,
                result,
            });
        }
    }
    let after = SignedDuration::from_hours(i64::from(config.exception_alert_after_hours));
    super::alert_overdue(&state.store, &state.clock, after).await?;
    Ok(done)
}

/// The worker around [`run_once`].
#[derive(Debug)]
pub struct ReconciliationWorker {
    /// The server's state.
    pub state: AppState,
    /// When each file was last asked for.
    pub attempts: Mutex<HashMap<(String, String, Date), Timestamp>>,
}

impl Worker for ReconciliationWorker {
    fn name(&self) -> &'static str {
        "reconciliation"
    }

    async fn step(&self) -> anyhow::Result<usize> {
        let now = self.state.clock.now();
        if !crate::workers::take_lease(&self.state, LEASE, now, LEASE_SECONDS).await? {
            return Ok(0);
        }
        let ran = run_once(&self.state, now, None, &self.attempts).await;
        let result = match &ran {
            Ok(_) => JobResult::Succeeded,
            Err(_) => JobResult::Failed,
        };
        metrics::job_run(metrics::job::RECONCILIATION, result, now);
        ran?;
        // Imports are counted in the log; the job sleeps until its next look either way.
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_days_due_end_yesterday_from_the_hour_and_the_day_before_until_then() {
        // 2026-12-07 05:59 Bogotá (10:59 UTC): before 06:00.
        let before: Timestamp = "2026-12-07T10:59:00Z"
            .parse()
            .unwrap_or(Timestamp::UNIX_EPOCH);
        let after: Timestamp = "2026-12-07T11:00:00Z"
            .parse()
            .unwrap_or(Timestamp::UNIX_EPOCH);
        let d = |day| jiff::civil::date(2026, 12, day);
        assert_eq!(days_due(before, 6, 0, 3), vec![d(3), d(4), d(5)]);
        assert_eq!(days_due(after, 6, 0, 3), vec![d(4), d(5), d(6)]);
        assert_eq!(days_due(after, 6, 0, 1), vec![d(6)]);
    }
}
