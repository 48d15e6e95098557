//! Placeholder for the alerts service (being built on the `alerts` branch): the interface the
//! network-health code calls, so that it compiles before the merge. Replaced whole by it.

use cajero_domain::id::MerchantId;
use cajero_domain::merchant::Mode;
use cajero_store::{Conn, StoreError};
use jiff::Timestamp;

/// How bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Money stops moving.
    Critical,
    /// Something degrades.
    Warning,
    /// For the record.
    Info,
}

/// An alert to raise.
#[derive(Debug, Clone)]
pub struct AlertSpec {
    /// Mode.
    pub mode: Mode,
    /// Code.
    pub code: &'static str,
    /// What it is about.
    pub subject: String,
    /// Whose; `None`: platform-wide.
    pub merchant: Option<MerchantId>,
    /// How bad.
    pub severity: Severity,
    /// For humans.
    pub message: String,
    /// For machines.
    pub details: serde_json::Value,
}

/// What raising did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Raised {
    /// A new alert.
    New(String),
    /// A resolved one opened again.
    Reopened(String),
    /// One was open already.
    AlreadyOpen(String),
}

/// Raises `spec` in the caller's unit of work.
pub async fn raise(
    _conn: &mut Conn<'_>,
    _now: Timestamp,
    spec: AlertSpec,
) -> Result<Raised, StoreError> {
    tracing::error!(code = spec.code, subject = %spec.subject, "ALERT {}", spec.message);
    Ok(Raised::New(String::new()))
}

/// Resolves the open alert of that key, if any.
pub async fn resolve(
    _conn: &mut Conn<'_>,
    _now: Timestamp,
    _mode: Mode,
    _code: &str,
    _subject: &str,
    _merchant: Option<MerchantId>,
    _message: &str,
) -> Result<Option<String>, StoreError> {
    Ok(None)
}

/// Alert codes.
pub mod codes {
    /// A network's breaker opened.
    pub const NETWORK_DOWN: &str = "network_down";
    /// A failure-rate spike.
    pub const NETWORK_DEGRADED: &str = "network_degraded";
    /// A counter's drawer is empty.
    pub const COUNTER_OUT_OF_CASH: &str = "counter_out_of_cash";
    /// A counter's failures spike.
    pub const COUNTER_FAILURE_SPIKE: &str = "counter_failure_spike";
    /// Callbacks late.
    pub const CALLBACKS_LATE: &str = "callbacks_late";
}
