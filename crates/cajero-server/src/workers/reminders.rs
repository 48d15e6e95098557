//! Deadlines the operator must not miss, raised as alerts.
//!
//! * `uiaf_report_due`: the UIAF's monthly report of cash operations for month M is due by the
//!   10th of month M+1 (`../shared/reference/colombia.md`). From the 1st of M+1 (Bogotá), when
//!   any live pay-in or payout was created in M, one live-mode alert (subject `uiaf:YYYY-MM`) tells the operator;
//!   it stays open until the operator closes it once the report is filed (`cajero alerts
//!   resolve`), and is never raised again for that month. The report itself is the risk and
//!   compliance work's (`cajero uiaf report`).
//!
//! Checked every hour by each instance; the alert's key keeps it to one.

use std::time::Duration;

use cajero_domain::merchant::Mode;
use jiff::civil::Date;
use serde_json::json;

use crate::AppState;
use crate::alerts::{self, AlertSpec, Severity, codes};

/// Pacing: once an hour.
pub const PACING: super::LoopPacing = super::LoopPacing {
    idle_sleep: Duration::from_secs(3_600),
    error_backoff: Duration::from_secs(600),
};

/// The day of the month the UIAF report is due by.
pub const UIAF_DUE_DAY: i8 = 10;

/// The reminders.
#[derive(Debug)]
pub struct ReminderWorker {
    /// Shared state.
    pub state: AppState,
}

impl super::Worker for ReminderWorker {
    fn name(&self) -> &'static str {
        "reminders"
    }

    async fn step(&self) -> anyhow::Result<usize> {
        run_once(&self.state).await?;
        Ok(0)
    }
}

/// The month whose UIAF report is due when it is `today` in Bogotá, and by when.
pub fn uiaf_due(today: Date) -> (Date, Date) {
    let month_start = today.first_of_month();
    let previous = month_start
        .checked_sub(jiff::Span::new().months(1))
        .unwrap_or(month_start);
    let due = Date::new(today.year(), today.month(), UIAF_DUE_DAY).unwrap_or(month_start);
    (previous, due)
}

/// Raises this month's `uiaf_report_due` if it was never raised; true when it raised it.
pub async fn run_once(state: &AppState) -> anyhow::Result<bool> {
    let now = state.clock.now();
    let today = cajero_domain::calendar::bogota_date(now);
    let (month, due) = uiaf_due(today);
    let subject = format!("uiaf:{}", month.strftime("%Y-%m"));
    let tz = cajero_domain::calendar::bogota();
    let from = tz.to_timestamp(month.to_datetime(jiff::civil::Time::midnight()))?;
    let to = tz.to_timestamp(
        today
            .first_of_month()
            .to_datetime(jiff::civil::Time::midnight()),
    )?;
    let raised = state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                if cajero_store::alerts::ever_raised(&mut c, true, codes::UIAF_REPORT_DUE, &subject)
                    .await?
                    || !cajero_store::alerts::live_orders_between(&mut c, from, to).await?
                {
                    return Ok::<_, cajero_store::StoreError>(false);
                }
                let month_name = month.strftime("%Y-%m").to_string();
                alerts::raise(
                    &mut c,
                    now,
                    AlertSpec {
                        mode: Mode::Live,
                        code: codes::UIAF_REPORT_DUE,
                        subject,
                        merchant: None,
                        severity: Severity::Warning,
                        message: format!(
                            "The UIAF report of {month_name}'s cash operations is due by {due}; \
                             close this alert once it is filed."
                        ),
                        details: json!({"month": month_name, "due": due.to_string()}),
                    },
                )
                .await?;
                Ok(true)
            })
        })
        .await?;
    Ok(raised)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_report_of_a_month_is_due_by_the_tenth_of_the_next() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        assert_eq!(
            uiaf_due(d("2026-12-05")),
            (d("2026-11-01"), d("2026-12-10"))
        );
        assert_eq!(
            uiaf_due(d("2027-01-01")),
            (d("2026-12-01"), d("2027-01-10"))
        );
        assert_eq!(
            uiaf_due(d("2026-03-31")),
            (d("2026-02-01"), d("2026-03-10"))
        );
    }
}
