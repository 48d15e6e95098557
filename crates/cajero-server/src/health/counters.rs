//! Counters judged by the attempts networks report on payouts.
//!
//! * `counter_out_of_cash`: a beneficiary could not collect because the counter's drawer was
//!   empty. One such attempt says it all: the alert is raised for that counter (and only that
//!   one), and resolved by the next collection approved there (not by one reported late from
//!   before a later empty drawer).
//! * `counter_failure_spike`: the network blamed itself (`system_unavailable`) at one counter
//!   `health.counter_failures_max` times within `health.counter_window_s` (an indexed count);
//!   resolved by the next collection approved there, and counted again from it. A failure
//!   reported after a later approval there (reports come out of order) counts nothing, and an
//!   approval reported after a later failure resolves nothing.
//!
//! Attempts a beneficiary caused (`wrong_code`, `document_mismatch`) say nothing about the
//! counter. Alerts name the counter and the network, never the payout or the beneficiary: they
//! go to every merchant concerned.

use cajero_connect::NetworkAttempt;
use cajero_domain::merchant::Mode;
use cajero_store::{Conn, StoreError, payouts};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use crate::alerts::{self, AlertSpec, Severity, codes};

/// The attempt outcome of an empty drawer.
pub const OUT_OF_CASH: &str = "counter_out_of_cash";
/// The attempt outcome of a network failing at a counter.
pub const SYSTEM_UNAVAILABLE: &str = "system_unavailable";
/// The attempt outcome of a collection.
pub const APPROVED: &str = "approved";

/// What alerts call a counter: `efecty/counter:EFE-001`.
pub fn subject(network: &str, counter_id: &str) -> String {
    format!("{network}/counter:{counter_id}")
}

fn name(network: &str) -> &str {
    cajero_domain::network::spec(network).map_or(network, |s| s.display_name)
}

/// Judges a new attempt at a counter, in the callback's unit of work.
pub async fn on_attempt(
    c: &mut Conn<'_>,
    now: Timestamp,
    config: &super::HealthConfig,
    mode: Mode,
    network: &str,
    attempt: &NetworkAttempt,
) -> Result<(), StoreError> {
    let subject = subject(network, &attempt.counter_id);
    // Callbacks about one counter are applied concurrently on PostgreSQL. An empty drawer and
    // an approval there are judged one at a time from here on, so that each sees the other's
    // attempt and alerts. Without this, an empty drawer reported just before an approval could
    // read no approval, then find the alert the approval resolved and raise it again.
    // Approvals only share the scope: between themselves they have nothing to order (each may
    // only resolve what an empty drawer raised, and a resolution is made once), so a counter's
    // many approvals never queue on one another's commits.
    // Failures lock the scope as an empty drawer does: two failures applied at once would each
    // count the other's attempt as not there yet, and the threshold could pass with no alert;
    // and an approval committing while a failure raises the spike would not see it to
    // resolve. The one that waited counts, or resolves, after the other's commit.
    let scope = format!("health:{subject}");
    match attempt.outcome.as_str() {
        OUT_OF_CASH | SYSTEM_UNAVAILABLE => cajero_store::lock_scopes(c, &[&scope]).await?,
        APPROVED => cajero_store::share_scopes(c, &[&scope]).await?,
        _ => {}
    }
    match attempt.outcome.as_str() {
        OUT_OF_CASH => {
            if newer_at_counter(c, mode, network, attempt, APPROVED).await? {
                return Ok(());
            }
            alerts::raise(
                c,
                now,
                AlertSpec {
                    mode,
                    code: codes::COUNTER_OUT_OF_CASH,
                    subject,
                    merchant: None,
                    severity: Severity::Warning,
                    message: format!(
                        "{} counter {} has no cash: a beneficiary could not collect there.",
                        name(network),
                        attempt.counter_id
                    ),
                    details: json!({
                        "network": network,
                        "counter_id": attempt.counter_id,
                        "at": crate::time::rfc3339(attempt.at),
                    }),
                },
            )
            .await?;
        }
        SYSTEM_UNAVAILABLE => {
            // Failures are counted over the window, but only since the latest collection
            // there: an approval resolves the spike, and the failures before it are behind
            // the counter. A failure older than that approval, reported late, counts nothing.
            let counter = counter_key(mode, network, attempt);
            let approved = payouts::latest_counter_attempt(c, counter, APPROVED).await?;
            if approved.is_some_and(|at| at > attempt.at) {
                return Ok(());
            }
            let window = SignedDuration::from_secs(i64::from(config.counter_window_s));
            let window_start = now.checked_sub(window).unwrap_or(now);
            let since = approved.map_or(window_start, |at| at.max(window_start));
            let failures =
                payouts::counter_attempts_since(c, counter, SYSTEM_UNAVAILABLE, since).await?;
            if failures >= i64::from(config.counter_failures_max) {
                alerts::raise(
                    c,
                    now,
                    AlertSpec {
                        mode,
                        code: codes::COUNTER_FAILURE_SPIKE,
                        subject,
                        merchant: None,
                        severity: Severity::Warning,
                        message: format!(
                            "{} counter {} failed {failures} collections in the last {} min with none approved in between (system unavailable).",
                            name(network),
                            attempt.counter_id,
                            config.counter_window_s / 60
                        ),
                        details: json!({
                            "network": network,
                            "counter_id": attempt.counter_id,
                            "failures": failures,
                            "window_s": config.counter_window_s,
                            "counted_since": crate::time::rfc3339(since),
                        }),
                    },
                )
                .await?;
            }
        }
        APPROVED => {
            // Nothing open, the usual case, is nothing to resolve, whatever the order of reports.
            let cleared = [codes::COUNTER_OUT_OF_CASH, codes::COUNTER_FAILURE_SPIKE];
            let mut open = alerts::open_among(c, mode, &cleared, &subject, None).await?;
            // Each alert only by an approval later than what raised it: an empty drawer, or a
            // failure (the spike's failures are counted from the latest approval).
            for (code, raised_by) in [
                (codes::COUNTER_OUT_OF_CASH, OUT_OF_CASH),
                (codes::COUNTER_FAILURE_SPIKE, SYSTEM_UNAVAILABLE),
            ] {
                if open.iter().any(|a| a.code == code)
                    && newer_at_counter(c, mode, network, attempt, raised_by).await?
                {
                    open.retain(|a| a.code != code);
                }
            }
            if open.is_empty() {
                return Ok(());
            }
            let message = format!(
                "{} counter {} paid out again.",
                name(network),
                attempt.counter_id
            );
            alerts::resolve_rows(c, now, &open, &message).await?;
        }
        _ => {}
    }
    Ok(())
}

/// Whether the counter reported an attempt with the `opposite` outcome after this one: reports
/// can come out of order, and an attempt older than the latest one of the opposite meaning at
/// that counter says nothing about how it is now.
async fn newer_at_counter(
    c: &mut Conn<'_>,
    mode: Mode,
    network: &str,
    attempt: &NetworkAttempt,
    opposite: &str,
) -> Result<bool, StoreError> {
    Ok(
        payouts::latest_counter_attempt(c, counter_key(mode, network, attempt), opposite)
            .await?
            .is_some_and(|at| at > attempt.at),
    )
}

/// The counter `attempt` was made at: of `network`, in `mode` (the alert's own scope).
fn counter_key<'a>(
    mode: Mode,
    network: &'a str,
    attempt: &'a NetworkAttempt,
) -> payouts::CounterKey<'a> {
    payouts::CounterKey {
        network,
        mode,
        counter_id: &attempt.counter_id,
    }
}
