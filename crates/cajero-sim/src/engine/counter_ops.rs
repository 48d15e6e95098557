//! What a cashier does: take a voucher payment, hand out a payout. Every attempt is recorded
//! with its counter and outcome, whatever the outcome.

use cajero_domain::Amount;
use cajero_domain::calendar::bogota;
use jiff::Timestamp;

use super::{SimError, State};
use crate::codes::normalize_document_number;
use crate::model::{Attempt, Counter, Operation, Order, OrderKind, OrderStatus, Outcome};

/// What the counter decided, and the order it concerned.
#[derive(Debug, Clone)]
pub struct CounterResult {
    /// The recorded attempt.
    pub attempt: Attempt,
    /// The order after the attempt, when one was identified.
    pub order: Option<Order>,
}

struct AttemptInput<'a> {
    counter: &'a Counter,
    operation: Operation,
    order_id: Option<String>,
    code: String,
    document: Option<String>,
    amount: Option<Amount>,
    outcome: Outcome,
    at: Timestamp,
}

impl State {
    /// A customer pays a voucher at a counter: exact amount, open counter, payable code.
    pub fn pay(
        &mut self,
        counter_id: &str,
        code: &str,
        amount: Amount,
        at: Timestamp,
    ) -> Result<CounterResult, SimError> {
        let at = self.time_for_code(counter_id, OrderKind::Collection, code, at);
        let (counter, gate) = self.counter_gate(counter_id, at)?;
        let code: String = code.chars().filter(char::is_ascii_digit).collect();
        let order_id = self
            .by_code
            .get(&(counter.network.clone(), OrderKind::Collection, code.clone()))
            .cloned();
        let order = order_id.as_ref().and_then(|id| self.orders.get(id));
        let outcome = match (gate, order) {
            (Some(outcome), _) => outcome,
            (None, None) => Outcome::UnknownCode,
            (None, Some(o)) => match final_outcome(o, at) {
                Some(outcome) => outcome,
                None if at < o.active_from => Outcome::NotYetActive,
                None if amount != o.amount => Outcome::WrongAmount,
                None => Outcome::Approved,
            },
        };
        let attempt = self.record_attempt(AttemptInput {
            counter: &counter,
            operation: Operation::Pay,
            order_id: order_id.clone(),
            code,
            document: None,
            amount: Some(amount),
            outcome,
            at,
        });
        if outcome == Outcome::Approved {
            let id = order_id.unwrap_or_default();
            self.adjust_drawer(&counter.id, amount, true);
            let order = self.settle(&id, &counter.id, &attempt.id, at);
            if let Some(order) = &order {
                self.enqueue_callback(order, "paid", Some(&attempt), at);
            }
            return Ok(CounterResult { attempt, order });
        }
        let order = order_id.and_then(|id| self.orders.get(&id).cloned());
        Ok(CounterResult { attempt, order })
    }

    /// A beneficiary collects cash with a pick-up code and an identity document.
    pub fn collect(
        &mut self,
        counter_id: &str,
        code: &str,
        document_number: &str,
        at: Timestamp,
    ) -> Result<CounterResult, SimError> {
        let at = self.time_for_code(counter_id, OrderKind::Payout, code, at);
        let (counter, gate) = self.counter_gate(counter_id, at)?;
        let code: String = code.chars().filter(char::is_ascii_digit).collect();
        let document = normalize_document_number(document_number);
        let found = self
            .by_code
            .get(&(counter.network.clone(), OrderKind::Payout, code.clone()))
            .cloned();
        let Some(order_id) = found.filter(|_| gate.is_none()) else {
            return Ok(self.wrong_code(&counter, code, document, gate, at));
        };
        let Some(order) = self.orders.get(&order_id) else {
            return Err(SimError::NotFound);
        };
        let beneficiary = order
            .party
            .document
            .as_ref()
            .map(|d| normalize_document_number(d.number()));
        let outcome = match final_outcome(order, at) {
            Some(outcome) => outcome,
            None if order.status == OrderStatus::Locked => Outcome::CodeLocked,
            None if order.magic.always_document_mismatch => Outcome::DocumentMismatch,
            None if beneficiary.as_deref() != Some(document.as_str()) => Outcome::DocumentMismatch,
            None if counter.cash < order.amount => Outcome::CounterOutOfCash,
            None => Outcome::Approved,
        };
        let was_open = order.status.is_open();
        let amount = order.amount;
        let attempt = self.record_attempt(AttemptInput {
            counter: &counter,
            operation: Operation::Collect,
            order_id: Some(order_id.clone()),
            code,
            document: Some(document),
            amount: None,
            outcome,
            at,
        });
        let order = if outcome == Outcome::Approved {
            self.adjust_drawer(&counter.id, amount, false);
            let order = self.settle(&order_id, &counter.id, &attempt.id, at);
            if let Some(order) = &order {
                self.enqueue_callback(order, "paid", Some(&attempt), at);
            }
            order
        } else {
            let order = self.orders.get(&order_id).cloned();
            if let Some(order) = order.as_ref().filter(|_| was_open) {
                self.enqueue_callback(order, "attempt_failed", Some(&attempt), at);
            }
            order
        };
        Ok(CounterResult { attempt, order })
    }

    /// No payout has the code typed: count it against the open payouts of the document shown,
    /// and lock them when the count reaches the profile's maximum.
    fn wrong_code(
        &mut self,
        counter: &Counter,
        code: String,
        document: String,
        gate: Option<Outcome>,
        at: Timestamp,
    ) -> CounterResult {
        let open: Vec<String> = if gate.is_some() {
            Vec::new()
        } else {
            self.payouts_by_document
                .get(&(counter.network.clone(), document.clone()))
                .into_iter()
                .flatten()
                .filter(|id| {
                    self.orders
                        .get(*id)
                        .is_some_and(|o| o.status == OrderStatus::Available)
                })
                .cloned()
                .collect()
        };
        let attempt = self.record_attempt(AttemptInput {
            counter,
            operation: Operation::Collect,
            order_id: open.first().cloned(),
            code,
            document: Some(document),
            amount: None,
            outcome: gate.unwrap_or(Outcome::WrongCode),
            at,
        });
        let limit = self
            .profiles
            .get(&counter.network)
            .map_or(3, |p| p.wrong_code_attempts_max);
        let mut first = None;
        for id in open {
            let Some(order) = self.orders.get_mut(&id) else {
                continue;
            };
            if !order.attempt_ids.contains(&attempt.id) {
                order.attempt_ids.push(attempt.id.clone());
            }
            order.wrong_code_attempts += 1;
            order.updated_at = at;
            let locks = order.wrong_code_attempts >= limit;
            if locks {
                order.status = OrderStatus::Locked;
            }
            let snapshot = order.clone();
            self.dirty.orders.insert(id);
            self.enqueue_callback(&snapshot, "attempt_failed", Some(&attempt), at);
            if locks {
                self.enqueue_callback(&snapshot, "locked", Some(&attempt), at);
            }
            first.get_or_insert(snapshot);
        }
        CounterResult {
            attempt,
            order: first,
        }
    }

    /// The time at the counter for whoever brings `code`: the time of the test clock its order
    /// lives on, or the network's (`at`).
    fn time_for_code(
        &self,
        counter_id: &str,
        kind: OrderKind,
        code: &str,
        at: Timestamp,
    ) -> Timestamp {
        let Some(counter) = self.counters.get(counter_id) else {
            return at;
        };
        let code: String = code.chars().filter(char::is_ascii_digit).collect();
        self.by_code
            .get(&(counter.network.clone(), kind, code))
            .and_then(|id| self.orders.get(id))
            .filter(|o| o.test_clock.is_some())
            .map_or(at, |o| self.order_now(o))
    }

    /// The counter, and the outcome that stops everything before a code is looked at.
    fn counter_gate(
        &self,
        counter_id: &str,
        at: Timestamp,
    ) -> Result<(Counter, Option<Outcome>), SimError> {
        let counter = self
            .counters
            .get(counter_id)
            .cloned()
            .ok_or(SimError::UnknownCounter)?;
        let profile = self.profile(&counter.network)?;
        let gate = if profile
            .discontinued_on
            .is_some_and(|since| at.to_zoned_datetime(bogota()).date() >= since)
        {
            Some(Outcome::NetworkDiscontinued)
        } else if self.is_down(&counter.network) {
            Some(Outcome::SystemUnavailable)
        } else if !crate::counters::is_open(profile, &counter, at) {
            Some(Outcome::CounterClosed)
        } else {
            None
        };
        Ok((counter, gate))
    }

    fn record_attempt(&mut self, input: AttemptInput<'_>) -> Attempt {
        self.meta.attempt_seq += 1;
        self.dirty.meta = true;
        let seq = self.meta.attempt_seq;
        let attempt = Attempt {
            id: format!("att_{seq:012}"),
            seq,
            at: input.at,
            counter_id: input.counter.id.clone(),
            network: input.counter.network.clone(),
            operation: input.operation,
            order_id: input.order_id.clone(),
            code_entered: input.code,
            document_entered: input.document,
            amount_entered: input.amount,
            outcome: input.outcome,
        };
        if let Some(order) = input.order_id.and_then(|id| self.orders.get_mut(&id)) {
            order.attempt_ids.push(attempt.id.clone());
            self.dirty.orders.insert(order.id.clone());
        }
        self.attempts.insert(attempt.id.clone(), attempt.clone());
        self.dirty.attempts.insert(attempt.id.clone());
        attempt
    }

    fn settle(
        &mut self,
        id: &str,
        counter_id: &str,
        attempt_id: &str,
        at: Timestamp,
    ) -> Option<Order> {
        self.close_order(id, OrderStatus::Paid, at)?;
        let order = self.orders.get_mut(id)?;
        order.paid_counter_id = Some(counter_id.to_owned());
        order.paid_attempt_id = Some(attempt_id.to_owned());
        order.wrong_code_attempts = 0;
        Some(order.clone())
    }

    fn adjust_drawer(&mut self, counter_id: &str, amount: Amount, fill: bool) {
        if let Some(counter) = self.counters.get_mut(counter_id) {
            let next = if fill {
                counter.cash.checked_add(amount)
            } else {
                counter.cash.checked_sub(amount)
            };
            // Callers check the cash first; a failure here would be a bug, so keep the drawer.
            if let Ok(cash) = next {
                counter.cash = cash;
            }
            self.dirty.counters.insert(counter_id.to_owned());
        }
    }
}

/// The outcome when the order is already final or past its expiry.
fn final_outcome(order: &Order, at: Timestamp) -> Option<Outcome> {
    match order.status {
        OrderStatus::Paid => Some(Outcome::AlreadyPaid),
        OrderStatus::Canceled => Some(Outcome::Canceled),
        OrderStatus::Expired => Some(Outcome::Expired),
        _ if at >= order.expires_at => Some(Outcome::Expired),
        _ => None,
    }
}
