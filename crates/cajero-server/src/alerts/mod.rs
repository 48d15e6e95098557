//! Alerts: a problem someone must hear about (a network down, the ledger not verifying, a
//! webhook endpoint failing, …) as a durable record with a lifecycle (see `docs/alerts.md`).
//!
//! * [`raise`] and [`resolve`] run in the caller's unit of work, so an alert commits with the
//!   observation that raised it, or not at all.
//! * **De-duplication**: raising while an alert with the same key (mode, code, subject,
//!   merchant) is open only counts one more occurrence: no event, no notification. The store's
//!   unique index keeps it so across instances.
//! * **Cool-down** ([`set_cooldown`], `[alerts] cooldown_minutes`): an alert resolved less than
//!   the cool-down ago and raised again is *reopened* (same id, a new `alert.raised`), and the
//!   operator's channels hear of it no sooner than the cool-down after they last did.
//! * **Who is told**: `alert.raised` / `alert.resolved` go to the alert's merchant, or, for a
//!   platform-wide alert about a network, to the merchants concerned (those with an order
//!   routed to that network in the 7 days before it was raised); the operator is told by the
//!   notifier ([`notify`]): a log line, e-mail and an incoming webhook.

use std::sync::atomic::{AtomicI64, Ordering};

use cajero_domain::id::{AlertId, EventId, MerchantId};
use cajero_domain::merchant::Mode;
use cajero_domain::webhook::EventType;
use cajero_store::alerts::{self as store, AlertKey, AlertRow, NewAlert};
use cajero_store::{Conn, Micros, StoreError, events};
use jiff::{SignedDuration, Timestamp};
use rand::RngExt;
use serde_json::Value;

pub mod config;
pub mod notify;
mod view;

pub use config::AlertsConfig;
pub use view::{AlertView, alert_json};

/// The codes alerts are raised with (`docs/alerts.md` says what each is about).
pub mod codes {
    /// A network does not answer (its circuit breaker opened).
    pub const NETWORK_DOWN: &str = "network_down";
    /// A network's failure rate spiked.
    pub const NETWORK_DEGRADED: &str = "network_degraded";
    /// A counter turned customers away for lack of cash.
    pub const COUNTER_OUT_OF_CASH: &str = "counter_out_of_cash";
    /// A counter's failure rate spiked.
    pub const COUNTER_FAILURE_SPIKE: &str = "counter_failure_spike";
    /// A network's callbacks arrive late.
    pub const CALLBACKS_LATE: &str = "callbacks_late";
    /// A merchant's webhook endpoint keeps failing (or was disabled).
    pub const WEBHOOK_ENDPOINT_FAILING: &str = "webhook_endpoint_failing";
    /// A network's file, our orders and our ledger do not tie out.
    pub const RECONCILIATION_DIFFERENCE: &str = "reconciliation_difference";
    /// A network's file does not add up: nothing of it was imported.
    pub const RECONCILIATION_FILE_REJECTED: &str = "reconciliation_file_rejected";
    /// A reconciliation exception stayed open too long (the code events carried before).
    pub const RECONCILIATION_EXCEPTION_OVERDUE: &str = "exception_overdue";
    /// The periodic ledger check found problems.
    pub const LEDGER_CHECK_FAILED: &str = "ledger_check_failed";
    /// A USD settlement waits for the day's COP/USD rate.
    pub const FX_RATE_MISSING: &str = "fx_rate_missing";
    /// A network issued an order we could not attach to anything of ours.
    pub const ORPHAN_NETWORK_ORDER: &str = "orphan_network_order";
    /// A UIAF report is due.
    pub const UIAF_REPORT_DUE: &str = "uiaf_report_due";
    /// A cash operation was flagged for the UIAF's report (`crate::uiaf::flags`).
    pub const UIAF_OPERATION_FLAGGED: &str = "uiaf_operation_flagged";
    /// A risk check that only alerts fired: a rule with action `alert`, or an operation
    /// completed at a counter a rule watches or a blocklist holds (`crate::risk`).
    pub const RISK_ALERT: &str = "risk_alert";

    /// Every code, for validation (the CLI's and the API's `code` filter).
    pub const ALL: &[&str] = &[
        NETWORK_DOWN,
        NETWORK_DEGRADED,
        COUNTER_OUT_OF_CASH,
        COUNTER_FAILURE_SPIKE,
        CALLBACKS_LATE,
        WEBHOOK_ENDPOINT_FAILING,
        RECONCILIATION_DIFFERENCE,
        RECONCILIATION_FILE_REJECTED,
        RECONCILIATION_EXCEPTION_OVERDUE,
        LEDGER_CHECK_FAILED,
        FX_RATE_MISSING,
        ORPHAN_NETWORK_ORDER,
        UIAF_REPORT_DUE,
        UIAF_OPERATION_FLAGGED,
        RISK_ALERT,
    ];
}

/// How urgent an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Money or cash is not moving: act now.
    Critical,
    /// Something is off and may get worse.
    Warning,
    /// Worth knowing.
    Info,
}

impl Severity {
    /// As stored and shown.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// An alert to raise.
#[derive(Debug, Clone)]
pub struct AlertSpec {
    /// Test or live.
    pub mode: Mode,
    /// One of [`codes`].
    pub code: &'static str,
    /// What it is about: a network code (`efecty`), `efecty/counter:CTR123`, an endpoint id, a
    /// file id, … A subject that starts with a network code (up to the first `/`) makes a
    /// platform-wide alert reach the merchants using that network.
    pub subject: String,
    /// The merchant it concerns; `None`: platform-wide.
    pub merchant: Option<MerchantId>,
    /// How urgent.
    pub severity: Severity,
    /// For people.
    pub message: String,
    /// For machines (a JSON object).
    pub details: Value,
}

/// What a [`raise`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raised {
    /// A new alert: `alert.raised` sent, the operator told.
    New(AlertId),
    /// An alert resolved within the cool-down was reopened: `alert.raised` sent; the operator
    /// is told once the cool-down since the last notification has passed.
    Reopened(AlertId),
    /// It was open already: one more occurrence, nobody told again.
    AlreadyOpen(AlertId),
}

impl Raised {
    /// The alert, whatever happened.
    pub fn id(self) -> AlertId {
        match self {
            Raised::New(id) | Raised::Reopened(id) | Raised::AlreadyOpen(id) => id,
        }
    }
}

/// The cool-down when none is configured.
pub const COOLDOWN_MINUTES_DEFAULT: u32 = 15;

/// The cool-down in seconds. Process-wide because [`raise`] and [`resolve`] are called from
/// deep inside units of work that carry no configuration; the server sets it at start.
static COOLDOWN_S: AtomicI64 = AtomicI64::new(COOLDOWN_MINUTES_DEFAULT as i64 * 60);

/// Sets the cool-down (from `[alerts] cooldown_minutes`).
pub fn set_cooldown(minutes: u32) {
    COOLDOWN_S.store(i64::from(minutes) * 60, Ordering::Relaxed);
}

/// The cool-down in force.
pub fn cooldown() -> SignedDuration {
    SignedDuration::from_secs(COOLDOWN_S.load(Ordering::Relaxed))
}

/// Raises an alert, in the caller's unit of work (transaction).
pub async fn raise(
    conn: &mut Conn<'_>,
    now: Timestamp,
    spec: AlertSpec,
) -> Result<Raised, StoreError> {
    let merchant = spec.merchant.map(|m| m.to_string());
    let key = AlertKey {
        livemode: spec.mode.is_live(),
        code: spec.code,
        subject: &spec.subject,
        merchant_id: merchant.as_deref(),
    };
    let details = spec.details.to_string();
    // Raises of one key one at a time (PostgreSQL; SQLite's writer runs one unit at a time
    // anyway): each then sees what the one before committed. Without it, one raise could
    // reopen the resolved alert while another, whose clock put it past the cool-down,
    // inserted a new one: two open, refused by the index as a unique violation that failed
    // the whole unit (a payout's create, a network's callback).
    cajero_store::lock_scopes(
        conn,
        &[&format!(
            "alert:{}:{}:{}:{}",
            key.livemode,
            key.code,
            key.subject,
            key.merchant_id.unwrap_or("")
        )],
    )
    .await?;
    if let Some(id) = touch_open(conn, &key, &spec.message, &details, now).await? {
        return Ok(Raised::AlreadyOpen(id));
    }
    let cooldown = cooldown();
    let since = now.checked_sub(cooldown).unwrap_or(now);
    if let Some(resolved) = store::resolved_since(conn, &key, since).await? {
        let notify_at = notify_at(&resolved, now, cooldown);
        let severity = spec.severity.as_str();
        if store::reopen(
            conn,
            &resolved.id,
            severity,
            &spec.message,
            &details,
            now,
            notify_at,
        )
        .await?
        {
            let row = reload(conn, &resolved.id).await?;
            tell_merchants(conn, &row, EventType::AlertRaised, now).await?;
            return Ok(Raised::Reopened(parse_id(&row.id)?));
        }
    }
    let unix_ms = u64::try_from(now.as_millisecond()).unwrap_or(0);
    let id = AlertId::from_parts(unix_ms, rand::rng().random::<u128>());
    let id_text = id.to_string();
    let new = NewAlert {
        id: &id_text,
        key: key.clone(),
        network: network_of(&spec.subject),
        severity: spec.severity.as_str(),
        message: &spec.message,
        details: &details,
    };
    if store::insert(conn, &new, now).await? {
        let row = reload(conn, &id_text).await?;
        tell_merchants(conn, &row, EventType::AlertRaised, now).await?;
        return Ok(Raised::New(id));
    }
    // Another unit opened it between our look and our insert (one that raised it without
    // this function's lock: none does today).
    match touch_open(conn, &key, &spec.message, &details, now).await? {
        Some(id) => Ok(Raised::AlreadyOpen(id)),
        None => Err(corrupt(format!(
            "alert {} on {} neither open nor insertable",
            spec.code, spec.subject
        ))),
    }
}

/// Resolves the open alert with this key, in the caller's unit of work: `alert.resolved` to
/// whom it was raised, the operator told. `None` (and nothing done) when none is open.
pub async fn resolve(
    conn: &mut Conn<'_>,
    now: Timestamp,
    mode: Mode,
    code: &str,
    subject: &str,
    merchant: Option<MerchantId>,
    message: &str,
) -> Result<Option<AlertId>, StoreError> {
    let resolved = resolve_among(conn, now, mode, &[code], subject, merchant, message).await?;
    Ok(resolved.into_iter().next())
}

/// Resolves every open alert about `subject` whose code is one of `codes` (found in one
/// statement), as [`resolve`] does each; the ids resolved.
pub async fn resolve_among(
    conn: &mut Conn<'_>,
    now: Timestamp,
    mode: Mode,
    codes: &[&str],
    subject: &str,
    merchant: Option<MerchantId>,
    message: &str,
) -> Result<Vec<AlertId>, StoreError> {
    let open = open_among(conn, mode, codes, subject, merchant).await?;
    resolve_rows(conn, now, &open, message).await
}

/// The open alerts about `subject` whose code is one of `codes` (one statement).
pub async fn open_among(
    conn: &mut Conn<'_>,
    mode: Mode,
    codes: &[&str],
    subject: &str,
    merchant: Option<MerchantId>,
) -> Result<Vec<AlertRow>, StoreError> {
    let merchant = merchant.map(|m| m.to_string());
    store::find_open_among(conn, mode.is_live(), codes, subject, merchant.as_deref()).await
}

/// Resolves alerts [`open_among`] found, as [`resolve`] does each (one another unit resolved
/// meanwhile is skipped); the ids resolved.
pub async fn resolve_rows(
    conn: &mut Conn<'_>,
    now: Timestamp,
    open: &[AlertRow],
    message: &str,
) -> Result<Vec<AlertId>, StoreError> {
    let mut resolved = Vec::with_capacity(open.len());
    for row in open {
        resolved.extend(resolve_row(conn, now, row, message).await?);
    }
    Ok(resolved)
}

/// Resolves the alert `id` (an operator closing it by hand); `None` when it is not open.
pub async fn resolve_by_id(
    conn: &mut Conn<'_>,
    now: Timestamp,
    id: AlertId,
    message: &str,
) -> Result<Option<AlertId>, StoreError> {
    match store::get(conn, &id.to_string()).await? {
        Some(row) if row.status == "open" => resolve_row(conn, now, &row, message).await,
        _ => Ok(None),
    }
}

async fn resolve_row(
    conn: &mut Conn<'_>,
    now: Timestamp,
    open: &AlertRow,
    message: &str,
) -> Result<Option<AlertId>, StoreError> {
    let notify_at = notify_at(open, now, cooldown());
    if !store::resolve(conn, &open.id, message, now, notify_at).await? {
        return Ok(None);
    }
    let row = reload(conn, &open.id).await?;
    tell_merchants(conn, &row, EventType::AlertResolved, now).await?;
    Ok(Some(parse_id(&row.id)?))
}

/// Counts one more occurrence of the open alert with `key`, if there is one.
async fn touch_open(
    conn: &mut Conn<'_>,
    key: &AlertKey<'_>,
    message: &str,
    details: &str,
    now: Timestamp,
) -> Result<Option<AlertId>, StoreError> {
    let Some(open) = store::find_open(conn, key).await? else {
        return Ok(None);
    };
    if store::touch(conn, &open.id, message, details, now).await? {
        return Ok(Some(parse_id(&open.id)?));
    }
    Ok(None)
}

/// When the operator may next be told about `alert`: now, or the cool-down after they were
/// last told.
fn notify_at(alert: &AlertRow, now: Timestamp, cooldown: SignedDuration) -> Timestamp {
    alert
        .notified_at
        .map(|at| Micros(at).to_timestamp())
        .and_then(|at| at.checked_add(cooldown).ok())
        .filter(|due| *due > now)
        .unwrap_or(now)
}

/// The network a subject names: its part before the first `/`, when that is a network code.
pub fn network_of(subject: &str) -> Option<&str> {
    let head = subject.split('/').next().unwrap_or(subject);
    cajero_domain::network::spec(head).map(|_| head)
}

/// Emits `event_type` about `alert` to its merchant, or to every merchant concerned by a
/// platform-wide one. Event ids derive from the alert, its generation and the merchant, so a
/// unit of work that runs again does not emit twice.
async fn tell_merchants(
    conn: &mut Conn<'_>,
    alert: &AlertRow,
    event_type: EventType,
    now: Timestamp,
) -> Result<(), StoreError> {
    let recipients: Vec<String> = match (&alert.merchant_id, &alert.network) {
        (Some(merchant), _) => vec![merchant.clone()],
        (None, Some(network)) => {
            let raised = Micros(alert.raised_at).to_timestamp();
            store::concerned_merchants(conn, alert.livemode, network, raised).await?
        }
        (None, None) => Vec::new(),
    };
    if recipients.is_empty() {
        return Ok(());
    }
    let object = alert_json(alert);
    let base = EventId::min_at(u64::try_from(now.as_millisecond()).unwrap_or(0));
    for merchant in recipients {
        let merchant_id: MerchantId = merchant
            .parse()
            .map_err(|e| corrupt(format!("alert {}: merchant {merchant}: {e}", alert.id)))?;
        let id = EventId::derived(
            base,
            &format!(
                "{}:{}:{}:{merchant}",
                alert.id,
                event_type.as_str(),
                alert.generation
            ),
        );
        if events::get_event(conn, merchant_id, alert.livemode, id)
            .await?
            .is_some()
        {
            continue;
        }
        events::emit(
            conn,
            merchant_id,
            alert.livemode,
            event_type,
            &object,
            id,
            now,
        )
        .await?;
        if alert.code == codes::WEBHOOK_ENDPOINT_FAILING {
            store::skip_delivery(conn, &id.to_string(), &alert.subject).await?;
        }
    }
    Ok(())
}

async fn reload(conn: &mut Conn<'_>, id: &str) -> Result<AlertRow, StoreError> {
    store::get(conn, id)
        .await?
        .ok_or_else(|| corrupt(format!("alert {id} vanished in its own unit of work")))
}

fn parse_id(id: &str) -> Result<AlertId, StoreError> {
    id.parse()
        .map_err(|e| corrupt(format!("alert id {id}: {e}")))
}

fn corrupt(detail: String) -> StoreError {
    StoreError::Corrupt {
        table: "alerts",
        detail,
    }
}

/// A details object for the common case of a few named values.
pub fn details(pairs: &[(&str, Value)]) -> Value {
    let mut map = serde_json::Map::new();
    for (k, v) in pairs {
        map.insert((*k).to_string(), v.clone());
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subject_names_a_network_by_its_first_segment() {
        assert_eq!(network_of("efecty"), Some("efecty"));
        assert_eq!(network_of("sured/counter:CTR123"), Some("sured"));
        assert_eq!(network_of("we_01abc"), None);
        assert_eq!(network_of("ledger"), None);
    }

    #[test]
    fn the_operator_hears_again_only_after_the_cooldown() {
        let now = Timestamp::from_second(10_000).unwrap_or(Timestamp::UNIX_EPOCH);
        let mut alert = AlertRow {
            id: "alr_x".into(),
            livemode: false,
            code: "c".into(),
            subject: "s".into(),
            merchant_id: None,
            network: None,
            severity: "warning".into(),
            status: "resolved".into(),
            message: String::new(),
            details: "{}".into(),
            generation: 1,
            raised_at: 0,
            last_seen_at: 0,
            occurrences: 1,
            resolved_at: None,
            resolution: None,
            notify_status: "sent".into(),
            notify_attempts: 0,
            notify_next_at: None,
            notify_error: None,
            notify_done: String::new(),
            notified_at: None,
            notified_status: None,
        };
        let fifteen = SignedDuration::from_mins(15);
        assert_eq!(notify_at(&alert, now, fifteen), now);
        alert.notified_at = Some(Micros::from(now).0 - 60_000_000);
        let due = notify_at(&alert, now, fifteen);
        assert_eq!(due.duration_since(now), SignedDuration::from_mins(14));
        alert.notified_at = Some(Micros::from(now).0 - 3_600_000_000);
        assert_eq!(notify_at(&alert, now, fifteen), now);
    }
}
