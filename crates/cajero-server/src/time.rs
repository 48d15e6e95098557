//! How the API writes instants: RFC 3339 in UTC, second precision (`2026-11-25T19:00:00Z`).

use jiff::Timestamp;

/// `2026-11-25T19:00:00Z`.
pub fn rfc3339(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}
