//! Gateway dialects: the same simulated networks spoken as dLocal, PayU Latam and Kushki speak
//! (their URLs, field names, signing, notification format and retry pattern), so that the
//! production connectors run end to end against the simulator on loopback.
//!
//! Every dialect is a façade over the one engine: an order created through a dialect is an
//! ordinary order (counters pay and collect it, it expires, it settles) that remembers its
//! [`Dialect`], and its callbacks are written and signed the way that gateway writes and signs
//! them. Orders created through the simulator's own API (`/v1`) speak [`Dialect::Cajero`].

pub mod dlocal;
pub mod kushki;
pub mod payu;

use std::sync::Arc;

use axum::Router;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::config::MerchantConfig;
use crate::model::{Attempt, Order};
use crate::sim::Sim;
use crate::views::AttemptView;

/// The protocol an order was created in, and its callbacks are sent in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dialect {
    /// The simulator's own API (`/v1`, `Sim-Signature`).
    #[default]
    Cajero,
    /// dLocal's Payins API.
    Dlocal,
    /// PayU Latam's Payments API.
    Payu,
    /// Kushki's cash-in and cash-out APIs.
    Kushki,
}

/// What a dialect is told about a change to write its callback.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    /// The simulator's callback id (`cb_…`): stable across retries.
    pub id: &'a str,
    /// `paid`, `expired`, `canceled`, `attempt_failed`, `locked`.
    pub suffix: &'a str,
    /// The order after the change.
    pub order: &'a Order,
    /// Every counter attempt on the order, oldest first.
    pub attempts: &'a [AttemptView],
    /// The attempt that caused the change, if any.
    pub attempt: Option<&'a Attempt>,
    /// The merchant the order belongs to.
    pub merchant: &'a MerchantConfig,
    /// The simulated clock's now.
    pub now: Timestamp,
}

/// The callback a gateway sends for `change`, or `None` when that gateway sends none for it
/// (PayU confirms final states only; Kushki and dLocal say nothing of failed counter
/// attempts). [`Dialect::Cajero`] is written by the engine itself and never asked here.
pub fn callback_body(dialect: Dialect, change: &Change<'_>) -> Option<String> {
    match dialect {
        Dialect::Cajero => None,
        Dialect::Dlocal => dlocal::callback_body(change),
        Dialect::Payu => payu::callback_body(change),
        Dialect::Kushki => kushki::callback_body(change),
    }
}

/// The `Content-Type` of a dialect's callbacks: PayU posts a form, the others JSON.
pub fn content_type(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Payu => "application/x-www-form-urlencoded",
        Dialect::Cajero | Dialect::Dlocal | Dialect::Kushki => "application/json",
    }
}

/// The headers a gateway sends a callback with (signature included), at host time `now`.
/// `id` is the simulator's callback id, `body` the exact body.
pub fn callback_headers(
    dialect: Dialect,
    merchant: &MerchantConfig,
    id: &str,
    body: &str,
    now: Timestamp,
) -> Vec<(String, String)> {
    match dialect {
        Dialect::Cajero => Vec::new(),
        Dialect::Dlocal => dlocal::callback_headers(merchant, id, body, now),
        Dialect::Payu => payu::callback_headers(merchant, id, body, now),
        Dialect::Kushki => kushki::callback_headers(merchant, id, body, now),
    }
}

/// How many delivery attempts a dialect's callback gets: PayU's confirmation page documents
/// "up to 9 attempts" (gateway-apis.md §1, D10); the others follow the simulator's schedule
/// (`default`, dLocal's).
pub fn attempts_max(dialect: Dialect, default: u32) -> u32 {
    match dialect {
        Dialect::Payu => payu::ATTEMPTS_MAX,
        Dialect::Cajero | Dialect::Dlocal | Dialect::Kushki => default,
    }
}

/// Every dialect's routes, each under its own prefix (`/dlocal`, `/payu`, `/kushki`).
pub fn router() -> Router<Arc<Sim>> {
    Router::new()
        .nest("/dlocal", dlocal::routes())
        .nest("/payu", payu::routes())
        .nest("/kushki", kushki::routes())
}
