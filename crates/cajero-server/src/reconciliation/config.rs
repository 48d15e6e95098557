//! `[reconciliation]`: when the daily job runs, how far back it catches up, how each route's
//! file is read, and who may upload files.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Format;

/// The daily job and operator uploads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReconciliationConfig {
    /// Whether this instance runs the daily job (one instance at a time does, under a lease).
    pub enabled: bool,
    /// Bogotá hour (0–23) from which the job fetches the previous days' files.
    pub hour: u8,
    /// Minute of that hour.
    pub minute: u8,
    /// Days back the job looks for a file it has not imported yet (1: only yesterday's).
    pub lookback_days: u8,
    /// Minutes between two fetches of a file that could not be had (the network had none yet,
    /// or did not answer).
    pub retry_minutes: u32,
    /// Hours an exception may stay open before it raises an alert.
    pub exception_alert_after_hours: u32,
    /// A bearer token (at least 32 characters) for `POST /operator/reconciliation/files`;
    /// unset: uploads are refused (the CLI imports without it).
    pub operator_token: Option<crate::config::Secret>,
    /// Per route (`simulator` or a `[[networks]]` name): the format its file comes in and
    /// whether it is read leniently.
    pub routes: BTreeMap<String, RouteFiles>,
}

/// How one route's file is read.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RouteFiles {
    /// The format fetched; default: the route's own (`csv` for the simulator).
    pub format: Option<Format>,
    /// Accept CRLF or LF, and a last record short of its blank filler (reported as a warning).
    /// Lost data is refused either way.
    pub lenient: bool,
}

/// Longest catch-up.
pub const LOOKBACK_DAYS_MAX: u8 = 31;
/// Shortest operator token.
pub const TOKEN_CHARS_MIN: usize = 32;

impl Default for ReconciliationConfig {
    fn default() -> Self {
        ReconciliationConfig {
            enabled: true,
            hour: 6,
            minute: 0,
            lookback_days: 5,
            retry_minutes: 60,
            exception_alert_after_hours: 48,
            operator_token: None,
            routes: BTreeMap::new(),
        }
    }
}

impl ReconciliationConfig {
    /// Checks the values; the error names the key.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.hour > 23 {
            return Err((
                "reconciliation.hour",
                format!("must be 0 to 23, not {}", self.hour),
            ));
        }
        if self.minute > 59 {
            return Err((
                "reconciliation.minute",
                format!("must be 0 to 59, not {}", self.minute),
            ));
        }
        if !(1..=LOOKBACK_DAYS_MAX).contains(&self.lookback_days) {
            return Err((
                "reconciliation.lookback_days",
                format!(
                    "must be 1 to {LOOKBACK_DAYS_MAX}, not {}",
                    self.lookback_days
                ),
            ));
        }
        if !(1..=24 * 60).contains(&self.retry_minutes) {
            return Err((
                "reconciliation.retry_minutes",
                format!("must be 1 to 1440, not {}", self.retry_minutes),
            ));
        }
        if self.exception_alert_after_hours == 0 {
            return Err((
                "reconciliation.exception_alert_after_hours",
                "must be at least 1".into(),
            ));
        }
        if let Some(token) = &self.operator_token
            && token.expose().chars().count() < TOKEN_CHARS_MIN
        {
            return Err((
                "reconciliation.operator_token",
                format!("must be at least {TOKEN_CHARS_MIN} characters"),
            ));
        }
        Ok(())
    }

    /// How `route`'s file is read.
    pub fn route(&self, route: &str) -> RouteFiles {
        self.routes.get(route).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_name_their_key() {
        assert!(ReconciliationConfig::default().validate().is_ok());
        let bad = ReconciliationConfig {
            hour: 24,
            ..ReconciliationConfig::default()
        };
        assert_eq!(bad.validate().unwrap_err().0, "reconciliation.hour");
        let bad = ReconciliationConfig {
            lookback_days: 0,
            ..ReconciliationConfig::default()
        };
        assert_eq!(
            bad.validate().unwrap_err().0,
            "reconciliation.lookback_days"
        );
        let bad = ReconciliationConfig {
            operator_token: Some(crate::config::Secret::new("short")),
            ..ReconciliationConfig::default()
        };
        assert_eq!(
            bad.validate().unwrap_err().0,
            "reconciliation.operator_token"
        );
    }
}
