//! The dLocal dialect (to be written).

use std::sync::Arc;

use axum::Router;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::Change;
use crate::config::MerchantConfig;
use crate::sim::Sim;

/// A merchant's dLocal credentials at the simulator (`[merchants.dlocal]`).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").finish_non_exhaustive()
    }
}

/// The callback dLocal sends for `change`, if any.
pub fn callback_body(_change: &Change<'_>) -> Option<String> {
    None
}

/// The headers dLocal sends a callback with.
pub fn callback_headers(
    _merchant: &MerchantConfig,
    _id: &str,
    _body: &str,
    _now: Timestamp,
) -> Vec<(String, String)> {
    Vec::new()
}

/// dLocal's routes, nested under `/dlocal`.
pub fn routes() -> Router<Arc<Sim>> {
    Router::new()
}
