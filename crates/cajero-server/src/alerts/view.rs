//! The alert object, as the API, events and the CLI show it.

use cajero_store::Micros;
use cajero_store::alerts::AlertRow;
use serde::Serialize;
use serde_json::Value;

use crate::time::rfc3339;

/// An alert (`docs/alerts.md`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AlertView {
    /// `alert`.
    pub object: &'static str,
    /// `alr_…`.
    pub id: String,
    /// Live or test.
    pub livemode: bool,
    /// What kind of problem (`network_down`, `webhook_endpoint_failing`, …).
    pub code: String,
    /// What it is about: a network (`efecty`), a counter (`efecty/counter:CTR123`), a webhook
    /// endpoint (`we_…`), a file, …
    pub subject: String,
    /// The merchant it concerns; `null` for a platform-wide alert (a network down).
    pub merchant: Option<String>,
    /// `critical`, `warning` or `info`.
    pub severity: String,
    /// `open` or `resolved`.
    pub status: String,
    /// For people.
    pub message: String,
    /// For machines: what was observed.
    #[schema(value_type = Object)]
    pub details: Value,
    /// When it was first raised (RFC 3339).
    pub raised_at: String,
    /// The same instant, as on every object.
    pub created: String,
    /// When it was last raised.
    pub last_seen_at: String,
    /// How many times it was raised.
    pub occurrences: i64,
    /// When it was resolved; `null` while open.
    pub resolved_at: Option<String>,
    /// Why it was resolved; `null` while open.
    pub resolution: Option<String>,
}

impl From<&AlertRow> for AlertView {
    fn from(row: &AlertRow) -> AlertView {
        let at = |us: i64| rfc3339(Micros(us).to_timestamp());
        AlertView {
            object: "alert",
            id: row.id.clone(),
            livemode: row.livemode,
            code: row.code.clone(),
            subject: row.subject.clone(),
            merchant: row.merchant_id.clone(),
            severity: row.severity.clone(),
            status: row.status.clone(),
            message: row.message.clone(),
            details: serde_json::from_str(&row.details).unwrap_or(Value::Null),
            raised_at: at(row.raised_at),
            created: at(row.raised_at),
            last_seen_at: at(row.last_seen_at),
            occurrences: row.occurrences,
            resolved_at: row.resolved_at.map(at),
            resolution: row.resolution.clone(),
        }
    }
}

/// The alert object as JSON (events' `data.object`).
pub fn alert_json(row: &AlertRow) -> Value {
    serde_json::to_value(AlertView::from(row)).unwrap_or(Value::Null)
}
