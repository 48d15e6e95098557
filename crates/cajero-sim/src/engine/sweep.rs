//! Bringing the network up to the simulated now: expiries and autopilot visits, in the order
//! they happen, each at its own instant (so a clock jump of days replays them faithfully).

use jiff::{SignedDuration, Timestamp};
use rand::RngExt;

use super::State;
use crate::model::{OrderKind, OrderStatus};

/// How long the autopilot waits when no counter can serve it.
const AUTOPILOT_RETRY: SignedDuration = SignedDuration::from_hours(1);

impl State {
    /// Runs every expiry and autopilot visit due at or before `now` on the network's own
    /// clock, oldest first (orders on test clocks move only with their clock).
    pub fn sweep(&mut self, now: Timestamp) {
        self.sweep_timeline(None, now);
    }

    /// Runs every expiry and autopilot visit due at or before `now` on one timeline.
    pub(crate) fn sweep_timeline(&mut self, clock: Option<&str>, now: Timestamp) {
        loop {
            let expiry = self.expiries.first_due(clock, now);
            let visit = self.visits.first_due(clock, now);
            match (expiry, visit) {
                (None, None) => break,
                (Some(e), Some(v)) if v.0 < e.0 => self.autopilot_visit_due(v.0, &v.1),
                (Some(e), _) => self.expire(e.0, &e.1),
                (None, Some(v)) => self.autopilot_visit_due(v.0, &v.1),
            }
        }
    }

    fn expire(&mut self, at: Timestamp, id: &str) {
        match self.close_order(id, OrderStatus::Expired, at) {
            Some(order) => self.enqueue_callback(&order, "expired", None, at),
            None => {
                let clock = self.orders.get(id).and_then(|o| o.test_clock.clone());
                self.expiries.remove(clock.as_deref(), at, id);
            }
        }
    }

    /// A simulated customer or beneficiary goes to a counter that is open and has the cash.
    fn autopilot_visit_due(&mut self, at: Timestamp, id: &str) {
        let Some(order) = self.orders.get_mut(id) else {
            return;
        };
        self.visits.remove(order.test_clock.as_deref(), at, id);
        order.autopilot_at = None;
        let order = order.clone();
        if !order.status.is_open() {
            return;
        }
        let Ok(profile) = self.profile(&order.network).cloned() else {
            return;
        };
        let candidates: Vec<String> = self
            .counters
            .values()
            .filter(|c| c.network == order.network)
            .filter(|c| order.kind == OrderKind::Collection || c.cash >= order.amount)
            .filter(|c| crate::counters::is_open(&profile, c, at))
            .map(|c| c.id.clone())
            .collect();
        // A network that is down turns customers away at the door: they come back later.
        if candidates.is_empty() || at < order.active_from || self.is_down(&order.network) {
            let retry = at.saturating_add(AUTOPILOT_RETRY).unwrap_or(at);
            if retry < order.expires_at
                && let Some(o) = self.orders.get_mut(id)
            {
                o.autopilot_at = Some(retry);
                let clock = o.test_clock.clone();
                self.visits.insert(clock.as_deref(), retry, id);
                self.dirty.orders.insert(id.to_owned());
            }
            return;
        }
        let counter = candidates[self.rng.random_range(0..candidates.len())].clone();
        let result = match order.kind {
            OrderKind::Collection => self.pay(&counter, &order.code, order.amount, at),
            OrderKind::Payout => {
                let document = order
                    .party
                    .document
                    .as_ref()
                    .map(|d| d.number().to_owned())
                    .unwrap_or_default();
                self.collect(&counter, &order.code, &document, at)
            }
        };
        if let Err(e) = result {
            tracing::warn!(order_id = id, error = %e, "autopilot visit failed");
        }
    }
}
