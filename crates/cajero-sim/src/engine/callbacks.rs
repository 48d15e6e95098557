//! Callbacks: queued with the change that causes them, shaped by the fault knobs and magic
//! values, delivered by a worker (or a flush) that reports back here.

use jiff::Timestamp;
use serde_json::json;

use super::State;
use crate::model::{Attempt, Callback, CallbackStatus, Order};
use crate::views::{AttemptView, OrderView};

/// A callback ready to go out.
#[derive(Debug, Clone)]
pub struct DueCallback {
    /// `cb_…`.
    pub id: String,
    /// The merchant's callback URL.
    pub url: String,
    /// The merchant's secret, to sign with.
    pub secret: String,
    /// The exact body.
    pub body: String,
    /// Recipient, to keep each merchant's callbacks in order.
    pub merchant_id: String,
}

/// What one delivery attempt got.
#[derive(Debug, Clone)]
pub struct DeliveryResult {
    /// HTTP status, when a response came.
    pub status: Option<u16>,
    /// Transport error, when none came.
    pub error: Option<String>,
}

impl DeliveryResult {
    fn acknowledged(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Host time in Unix milliseconds: delivery scheduling runs on real time, not on the
/// simulated clock (a frozen clock must not freeze retries).
pub fn host_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

impl State {
    /// Queues the callback for `order`'s event `suffix` (`paid`, `expired`, …).
    pub(crate) fn enqueue_callback(
        &mut self,
        order: &Order,
        suffix: &str,
        attempt: Option<&Attempt>,
        now: Timestamp,
    ) {
        let is_payment = suffix == "paid";
        let lost = is_payment && order.magic.payment_callback_lost;
        let copies = if is_payment && order.magic.confirm_twice {
            2
        } else {
            1
        };
        for copy in 0..copies {
            let id = self.push_callback(order, suffix, attempt, now, lost);
            if copy == 1
                && let Some(cb) = self.callbacks.get_mut(&id)
            {
                cb.faults.push("magic_confirm_twice".into());
            }
        }
    }

    fn push_callback(
        &mut self,
        order: &Order,
        suffix: &str,
        attempt: Option<&Attempt>,
        now: Timestamp,
        lost: bool,
    ) -> String {
        self.meta.callback_seq += 1;
        self.dirty.meta = true;
        let seq = self.meta.callback_seq;
        let id = format!("cb_{seq:012}");
        let event_type = format!("{}.{suffix}", order.kind.as_str());
        let attempts: Vec<AttemptView> = order
            .attempt_ids
            .iter()
            .filter_map(|a| self.attempts.get(a))
            .map(AttemptView::from)
            .collect();
        let body = json!({
            "id": id,
            "type": event_type,
            "created_at": now,
            "network": order.network,
            "merchant_id": order.merchant_id,
            "data": {
                "order": OrderView::new(order, attempts),
                "attempt": attempt.map(AttemptView::from),
            },
        })
        .to_string();
        let faults = self.faults();
        let mut callback = Callback {
            id: id.clone(),
            seq,
            merchant_id: order.merchant_id.clone(),
            order_id: order.id.clone(),
            event_type,
            body,
            status: CallbackStatus::Pending,
            attempts: 0,
            not_before_ms: host_ms(),
            held: false,
            duplicates_remaining: 0,
            faults: Vec::new(),
            last_status: None,
            last_error: None,
            delivered_at_ms: None,
        };
        if lost {
            callback.status = CallbackStatus::Lost;
            callback.faults.push("magic_payment_callback_lost".into());
        } else if self.chance(faults.callback_drop_bps) {
            callback.status = CallbackStatus::Dropped;
            callback.faults.push("dropped".into());
        } else {
            if self.chance(faults.callback_duplicate_bps) {
                callback.duplicates_remaining = 1;
                callback.faults.push("duplicated".into());
            }
            if self.chance(faults.callback_delay_bps) {
                let delay = i64::try_from(faults.callback_delay_ms).unwrap_or(i64::MAX);
                callback.not_before_ms = callback.not_before_ms.saturating_add(delay);
                callback
                    .faults
                    .push(format!("delayed_{}ms", faults.callback_delay_ms));
            }
            if self.chance(faults.callback_reorder_bps) {
                callback.held = true;
                callback.faults.push("reordered".into());
            }
        }
        let merchant_id = callback.merchant_id.clone();
        let releases = callback.status == CallbackStatus::Pending && !callback.held;
        if callback.status == CallbackStatus::Pending {
            if callback.held {
                self.held_callbacks.insert(id.clone());
            } else {
                self.callback_queue.insert((seq, id.clone()));
                self.dirty.callbacks_ready = true;
            }
        }
        self.callbacks.insert(id.clone(), callback);
        self.dirty.callbacks.insert(id.clone());
        if releases {
            self.release_held(Some(&merchant_id));
        }
        id
    }

    /// Puts held (reordered) callbacks back in the queue after everything queued so far.
    fn release_held(&mut self, merchant_id: Option<&str>) {
        let held: Vec<String> = self
            .held_callbacks
            .iter()
            .filter(|id| {
                self.callbacks
                    .get(*id)
                    .is_some_and(|c| merchant_id.is_none_or(|m| c.merchant_id == m))
            })
            .cloned()
            .collect();
        for id in held {
            self.held_callbacks.remove(&id);
            self.meta.callback_seq += 1;
            let seq = self.meta.callback_seq;
            if let Some(cb) = self.callbacks.get_mut(&id) {
                cb.held = false;
                cb.seq = seq;
                self.callback_queue.insert((seq, id.clone()));
                self.dirty.callbacks.insert(id);
                self.dirty.callbacks_ready = true;
            }
        }
    }

    /// Callbacks to send now, in order, at most `limit`. `force` ignores backoff and delays
    /// and releases held callbacks. Callbacks being delivered are not handed out twice.
    pub fn due_callbacks(&mut self, force: bool, limit: usize) -> Vec<DueCallback> {
        if force {
            self.release_held(None);
        }
        let now_ms = host_ms();
        let mut due = Vec::new();
        for (_, id) in &self.callback_queue {
            if due.len() >= limit {
                break;
            }
            if self.in_flight.contains(id) {
                continue;
            }
            let Some(cb) = self.callbacks.get(id) else {
                continue;
            };
            if !force && cb.not_before_ms > now_ms {
                continue;
            }
            let Some(merchant) = self.merchants.get(&cb.merchant_id) else {
                continue;
            };
            let Some(url) = merchant.config.callback_url.clone() else {
                continue;
            };
            due.push(DueCallback {
                id: id.clone(),
                url,
                secret: merchant.config.secret.clone(),
                body: cb.body.clone(),
                merchant_id: cb.merchant_id.clone(),
            });
        }
        for d in &due {
            self.in_flight.insert(d.id.clone());
        }
        due
    }

    /// Records one delivery attempt and schedules the next one if needed.
    pub fn record_delivery(&mut self, id: &str, result: &DeliveryResult) {
        self.in_flight.remove(id);
        let now_ms = host_ms();
        let base = self.retry_base_ms;
        let max = self.retry_max_ms;
        let attempts_max = self.attempts_max;
        let Some(cb) = self.callbacks.get_mut(id) else {
            return;
        };
        cb.attempts += 1;
        cb.last_status = result.status;
        cb.last_error = result.error.clone();
        let finished = if result.acknowledged() {
            if cb.duplicates_remaining > 0 {
                cb.duplicates_remaining -= 1;
                false
            } else {
                cb.status = CallbackStatus::Delivered;
                cb.delivered_at_ms = Some(now_ms);
                true
            }
        } else if cb.attempts >= attempts_max {
            cb.status = CallbackStatus::Failed;
            true
        } else {
            cb.not_before_ms = now_ms.saturating_add(retry_delay_ms(base, max, cb.attempts));
            false
        };
        if finished {
            self.callback_queue.remove(&(cb.seq, id.to_owned()));
        }
        self.dirty.callbacks.insert(id.to_owned());
    }
}

/// Delay before the next attempt after `attempts` failures: `base × 2^(attempts−1)`, at most
/// `max`.
pub fn retry_delay_ms(base: u64, max: u64, attempts: u32) -> i64 {
    let exponent = attempts.saturating_sub(1).min(32);
    let delay = base.saturating_mul(1u64 << exponent).min(max);
    i64::try_from(delay).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_double_up_to_the_maximum() {
        assert_eq!(retry_delay_ms(1_000, 600_000, 1), 1_000);
        assert_eq!(retry_delay_ms(1_000, 600_000, 2), 2_000);
        assert_eq!(retry_delay_ms(1_000, 600_000, 5), 16_000);
        assert_eq!(retry_delay_ms(1_000, 600_000, 20), 600_000);
        assert_eq!(retry_delay_ms(1_000, 600_000, 1_000), 600_000);
    }
}
