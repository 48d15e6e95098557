//! Callbacks: queued with the change that causes them, shaped by the fault knobs and magic
//! values, delivered by a worker (or a flush) that reports back here.

use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::State;
use crate::dialect::Dialect;
use crate::model::{Attempt, Callback, CallbackStatus, Order};
use crate::views::{AttemptView, OrderView};

/// A callback ready to go out.
#[derive(Debug, Clone)]
pub struct DueCallback {
    /// `cb_…`.
    pub id: String,
    /// The order's callback URL, or else the merchant's.
    pub url: String,
    /// The merchant's secret, to sign with.
    pub secret: String,
    /// The exact body.
    pub body: String,
    /// Recipient, to keep each merchant's callbacks in order.
    pub merchant_id: String,
    /// The protocol it is written and signed in.
    pub dialect: Dialect,
    /// The merchant's configuration, for a gateway dialect's signature.
    pub merchant: crate::config::MerchantConfig,
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
        let body = if order.dialect == Dialect::Cajero {
            json!({
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
            .to_string()
        } else {
            let merchant = self.merchants.get(&order.merchant_id).map(|m| &m.config);
            let written = merchant.and_then(|merchant| {
                crate::dialect::callback_body(
                    order.dialect,
                    &crate::dialect::Change {
                        id: &id,
                        suffix,
                        order,
                        attempts: &attempts,
                        attempt,
                        merchant,
                        now,
                    },
                )
            });
            match written {
                Some(body) => body,
                // The gateway says nothing of this change: no callback, and the sequence
                // number spent is only a gap.
                None => return id,
            }
        };
        self.queue_callback(order, (id, seq), event_type, body, None, lost)
    }

    /// Queues a gateway-written callback about `order` (a refund notification) to `url`, with
    /// the delivery faults applied as to any other.
    pub(crate) fn enqueue_written_callback(
        &mut self,
        order: &Order,
        event_type: String,
        body: String,
        url: Option<String>,
    ) -> String {
        self.meta.callback_seq += 1;
        self.dirty.meta = true;
        let seq = self.meta.callback_seq;
        let id = format!("cb_{seq:012}");
        self.queue_callback(order, (id, seq), event_type, body, url, false)
    }

    fn queue_callback(
        &mut self,
        order: &Order,
        (id, seq): (String, u64),
        event_type: String,
        body: String,
        url: Option<String>,
        lost: bool,
    ) -> String {
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
            dialect: order.dialect,
            url,
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
        let any_down = self
            .meta
            .faults
            .as_ref()
            .is_some_and(|f| !f.down.is_empty());
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
            // A network that is down sends nothing, flushed or not; its callbacks keep their
            // place and go out when it is back.
            if any_down
                && self
                    .orders
                    .get(&cb.order_id)
                    .is_some_and(|o| self.is_down(&o.network))
            {
                continue;
            }
            let Some(merchant) = self.merchants.get(&cb.merchant_id) else {
                continue;
            };
            let order_url = cb.url.clone().or_else(|| {
                self.orders
                    .get(&cb.order_id)
                    .and_then(|o| o.callback_url.clone())
            });
            let Some(url) = order_url.or_else(|| merchant.config.callback_url.clone()) else {
                continue;
            };
            due.push(DueCallback {
                id: id.clone(),
                url,
                secret: merchant.config.secret.clone(),
                body: cb.body.clone(),
                merchant_id: cb.merchant_id.clone(),
                dialect: cb.dialect,
                merchant: merchant.config.clone(),
            });
        }
        for d in &due {
            self.in_flight.insert(d.id.clone());
        }
        due
    }

    /// Records one delivery attempt and schedules the next one if needed: a callback is given
    /// up as `failed` only after its last attempt.
    pub fn record_delivery(&mut self, id: &str, result: &DeliveryResult) {
        self.in_flight.remove(id);
        let now_ms = host_ms();
        let attempts_max = self.attempts_max;
        let speedup = self.retry_speedup;
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
        } else if cb.attempts >= crate::dialect::attempts_max(cb.dialect, attempts_max) {
            cb.status = CallbackStatus::Failed;
            true
        } else {
            cb.not_before_ms = now_ms.saturating_add(scaled_ms(retry_delay(cb.attempts), speedup));
            false
        };
        if finished {
            self.callback_queue.remove(&(cb.seq, id.to_owned()));
        }
        self.dirty.callbacks.insert(id.to_owned());
    }

    /// The simulated clock moved `seconds` forward: retries and delayed callbacks waiting on
    /// the host clock are brought forward as much, so a test (or a demo) that advances the
    /// clock sees the retries that fall due in between.
    pub(crate) fn bring_callbacks_forward(&mut self, seconds: i64) {
        let shift_ms = seconds.max(0).saturating_mul(1_000);
        if shift_ms == 0 {
            return;
        }
        let now_ms = host_ms();
        for (_, id) in &self.callback_queue {
            if let Some(cb) = self.callbacks.get_mut(id)
                && cb.not_before_ms > now_ms
            {
                cb.not_before_ms = cb.not_before_ms.saturating_sub(shift_ms).max(now_ms);
                self.dirty.callbacks.insert(id.clone());
                self.dirty.callbacks_ready = true;
            }
        }
    }
}

/// The simulator's own quick retries, in seconds, before the gateways' schedule: a merchant
/// instance that is restarting (or a load balancer that has not yet taken it out of rotation)
/// gets its callbacks within seconds and minutes, not an hour later. Gateways do not document
/// retries this early; they stand for a network that retries as soon as it sees a failure.
const QUICK_RETRY_DELAYS_SECONDS: [i64; 6] = [5, 15, 60, 300, 900, 1_800];
/// dLocal retries a notification until a 2xx "hourly for 6 h" … (docs.dlocal.com,
/// receive-notifications; /work/shared/reference/gateway-apis.md §1, source D7).
const HOURLY_RETRIES: u32 = 6;
/// One hour.
const HOUR_SECONDS: i64 = 3_600;
/// … "then every 12 h for 4 days" (same source): 8 more.
const TWELVE_HOURLY_RETRIES: u32 = 8;
/// Twelve hours.
const TWELVE_HOURS_SECONDS: i64 = 12 * HOUR_SECONDS;

/// Every attempt of the schedule: the first delivery, the quick retries, the hourly ones and
/// the 12-hourly ones — 21 attempts over about 4 days 7 hours. dLocal's page also says "at
/// most 12 attempts", which would end its own "4 days" after 2.5; the simulator keeps the four
/// days, so that an instance down over a long weekend still gets its callbacks.
pub const CALLBACK_ATTEMPTS_MAX: u32 =
    1 + QUICK_RETRY_DELAYS_SECONDS.len() as u32 + HOURLY_RETRIES + TWELVE_HOURLY_RETRIES;

/// How long after its `attempt`-th failed attempt (1 = the first delivery) a callback is sent
/// again: the quick retries, then hourly, then every 12 hours (also past the schedule's end,
/// when `callbacks.attempts_max` asks for more attempts).
pub fn retry_delay(attempt: u32) -> SignedDuration {
    let quick = QUICK_RETRY_DELAYS_SECONDS.len();
    let n = usize::try_from(attempt.max(1)).unwrap_or(usize::MAX);
    let hourly_end = quick.saturating_add(usize::try_from(HOURLY_RETRIES).unwrap_or(0));
    let seconds = match QUICK_RETRY_DELAYS_SECONDS.get(n - 1) {
        Some(s) => *s,
        None if n <= hourly_end => HOUR_SECONDS,
        None => TWELVE_HOURS_SECONDS,
    };
    SignedDuration::from_secs(seconds)
}

/// `delay` in milliseconds, divided by `speedup` (at least 1).
fn scaled_ms(delay: SignedDuration, speedup: u32) -> i64 {
    let ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
    ms / i64::from(speedup.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delays() -> Vec<i64> {
        (1..CALLBACK_ATTEMPTS_MAX)
            .map(|n| retry_delay(n).as_secs())
            .collect()
    }

    #[test]
    fn the_first_retries_come_within_seconds() {
        assert_eq!(retry_delay(1).as_secs(), 5);
        assert_eq!(retry_delay(2).as_secs(), 15);
        assert_eq!(
            retry_delay(0),
            retry_delay(1),
            "attempt 0 reads as the first"
        );
        let first_hour: i64 = delays().iter().take(6).sum();
        assert!(first_hour < HOUR_SECONDS, "{first_hour}");
    }

    #[test]
    fn then_hourly_for_six_hours_then_every_twelve_hours_for_four_days() {
        let d = delays();
        assert_eq!(d.len(), 20, "21 attempts: 20 waits between them");
        assert_eq!(d[6..12], [HOUR_SECONDS; 6]);
        assert_eq!(d[12..], [TWELVE_HOURS_SECONDS; 8]);
        let total: i64 = d.iter().sum();
        let quick: i64 = QUICK_RETRY_DELAYS_SECONDS.iter().sum();
        assert_eq!(total, quick + 6 * HOUR_SECONDS + 4 * 24 * HOUR_SECONDS);
        assert_eq!(retry_delay(1_000).as_secs(), TWELVE_HOURS_SECONDS);
        assert_eq!(retry_delay(u32::MAX).as_secs(), TWELVE_HOURS_SECONDS);
    }

    #[test]
    fn a_speedup_divides_the_delays() {
        assert_eq!(scaled_ms(retry_delay(7), 1), 3_600_000);
        assert_eq!(scaled_ms(retry_delay(7), 3_600), 1_000);
        assert_eq!(scaled_ms(retry_delay(1), 0), 5_000, "0 reads as 1");
    }
}
