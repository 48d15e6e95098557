//! The PayU Latam dialect (to be written).

use std::sync::Arc;

use axum::Router;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::Change;
use crate::config::MerchantConfig;
use crate::sim::Sim;

/// Delivery attempts of a confirmation: "up to 9" (PayU's confirmation page, D10).
pub const ATTEMPTS_MAX: u32 = 9;

/// A merchant's PayU Latam credentials at the simulator (`[merchants.payu]`).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").finish_non_exhaustive()
    }
}

/// The callback PayU Latam sends for `change`, if any.
pub fn callback_body(_change: &Change<'_>) -> Option<String> {
    None
}

/// The headers PayU Latam sends a callback with.
pub fn callback_headers(
    _merchant: &MerchantConfig,
    _id: &str,
    _body: &str,
    _now: Timestamp,
) -> Vec<(String, String)> {
    Vec::new()
}

/// PayU Latam's routes, nested under `/payu`.
pub fn routes() -> Router<Arc<Sim>> {
    Router::new()
}
