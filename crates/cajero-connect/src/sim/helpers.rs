//! Calls that exist **only for the simulator**: what a cashier does at a counter, the
//! simulated clock, the counter directory, callback delivery on demand and merchant
//! enrolment. cajero's test mode and `cajero demo` use them; a real network has none of them
//! (its customers pay at real counters), so they are methods of [`SimConnector`] and never
//! part of the [`Connector`](crate::Connector) trait.
//!
//! These endpoints are unsigned and leave no [`Evidence`](crate::Evidence): they stand for
//! what happens physically at a counter or in the test harness, not for an exchange cajero
//! would have to prove.

use cajero_domain::money::Amount;
use jiff::Timestamp;
use reqwest::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::wire::{AttemptWire, ListWire, OrderWire};
use super::{SimConnector, error_from};
use crate::{ConnectError, NetworkAttempt, NetworkOrder};

/// What a counter decided on a payment or a collection (the attempt happened either way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterOutcome {
    /// Whether money moved.
    pub approved: bool,
    /// `approved`, `unknown_code`, `wrong_code`, `document_mismatch`, `counter_closed`, …
    pub outcome: String,
    /// The cashier's message, in Spanish.
    pub message: String,
    /// The attempt the network recorded.
    pub attempt: NetworkAttempt,
    /// The order concerned, when the code identified one.
    pub order: Option<NetworkOrder>,
    /// Pick-ups: the name the cashier checks against the document.
    pub beneficiary_name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CounterOutcomeWire {
    approved: bool,
    outcome: String,
    message: String,
    attempt: AttemptWire,
    order: Option<OrderWire>,
    beneficiary_name: Option<String>,
}

impl TryFrom<CounterOutcomeWire> for CounterOutcome {
    type Error = ConnectError;

    fn try_from(w: CounterOutcomeWire) -> Result<Self, Self::Error> {
        Ok(CounterOutcome {
            approved: w.approved,
            outcome: w.outcome,
            message: w.message,
            attempt: w.attempt.into(),
            order: w.order.map(OrderWire::into_order).transpose()?,
            beneficiary_name: w.beneficiary_name,
        })
    }
}

/// The simulated clock.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SimClock {
    /// Simulated now.
    pub now: Timestamp,
    /// The same in Bogotá, RFC 3339 with offset.
    pub now_bogota: String,
    /// Seconds the clock has been advanced.
    pub offset_seconds: i64,
    /// Whether it moves only when advanced.
    pub frozen: bool,
}

/// A counter in the network's directory.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SimCounter {
    /// `EF-BOG-001`.
    pub id: String,
    /// Network code.
    pub network: String,
    /// City.
    pub city: String,
    /// Department.
    pub department: String,
    /// Street address.
    pub address: String,
    /// Open until 22:00 every day, Sundays and holidays included.
    pub extended_hours: bool,
    /// Hours Monday to Friday, as the network words them.
    pub hours_weekdays: String,
    /// Hours on Saturday.
    pub hours_saturday: String,
    /// Hours on Sundays and holidays.
    pub hours_sundays_and_holidays: String,
    /// Whether it serves at the simulated now.
    pub open_now: bool,
    /// Cash in the drawer (limits payouts).
    pub cash: Amount,
}

#[derive(Debug, Deserialize)]
struct TestClockWire {
    frozen_time: Timestamp,
}

#[derive(Debug, Deserialize)]
struct Flushed {
    attempted: u64,
}

impl SimConnector {
    /// Every order of `kind` this merchant holds under `reference`, at any network, newest
    /// first (the signed `GET /v1/{collections|payouts}?reference=`): tests count them to
    /// prove that one reference never made two orders.
    pub async fn orders_by_reference(
        &self,
        kind: crate::OrderKind,
        reference: &str,
    ) -> Result<Vec<NetworkOrder>, ConnectError> {
        let segment = match kind {
            crate::OrderKind::Collection => "collections",
            crate::OrderKind::Payout => "payouts",
        };
        let url = self.url(
            &["v1", segment],
            &[("reference", reference), ("limit", "100")],
        );
        let (reply, _evidence) = self.send(Method::GET, url, Vec::new(), true).await;
        let reply = reply?;
        if reply.status != 200 {
            return Err(error_from(&reply));
        }
        let list: ListWire<OrderWire> = serde_json::from_slice(&reply.body)
            .map_err(|e| ConnectError::Protocol(format!("order list: {e}")))?;
        list.data.into_iter().map(OrderWire::into_order).collect()
    }

    /// An unsigned control or counter call answering JSON `T` on 200.
    async fn control<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<serde_json::Value>,
    ) -> Result<T, ConnectError> {
        let body = match body {
            Some(value) => serde_json::to_vec(&value)
                .map_err(|e| ConnectError::Protocol(format!("request body: {e}")))?,
            None => Vec::new(),
        };
        let url = self.url(segments, query);
        let (reply, _evidence) = self.send(method, url, body, false).await;
        let reply = reply?;
        if reply.status != 200 {
            return Err(error_from(&reply));
        }
        serde_json::from_slice(&reply.body)
            .map_err(|e| ConnectError::Protocol(format!("answer: {e}")))
    }

    /// A customer pays `amount` for voucher `code` at `counter_id` (`POST /counter/v1/pay`).
    pub async fn pay(
        &self,
        counter_id: &str,
        code: &str,
        amount: Amount,
    ) -> Result<CounterOutcome, ConnectError> {
        let body = json!({"counter_id": counter_id, "code": code, "amount": amount});
        let wire: CounterOutcomeWire = self
            .control(Method::POST, &["counter", "v1", "pay"], &[], Some(body))
            .await?;
        wire.try_into()
    }

    /// A beneficiary shows `document_number` and asks for pick-up `code` at `counter_id`
    /// (`POST /counter/v1/collect`).
    pub async fn collect(
        &self,
        counter_id: &str,
        code: &str,
        document_number: &str,
    ) -> Result<CounterOutcome, ConnectError> {
        let body =
            json!({"counter_id": counter_id, "code": code, "document_number": document_number});
        let wire: CounterOutcomeWire = self
            .control(Method::POST, &["counter", "v1", "collect"], &[], Some(body))
            .await?;
        wire.try_into()
    }

    /// Moves the simulated clock forward; expiries due in between happen before the answer
    /// (`POST /sim/v1/clock/advance`).
    pub async fn advance_clock(&self, seconds: i64) -> Result<SimClock, ConnectError> {
        let body = json!({"seconds": seconds});
        self.control(
            Method::POST,
            &["sim", "v1", "clock", "advance"],
            &[],
            Some(body),
        )
        .await
    }

    /// The simulated clock now (`GET /sim/v1/clock`).
    pub async fn clock(&self) -> Result<SimClock, ConnectError> {
        self.control(Method::GET, &["sim", "v1", "clock"], &[], None)
            .await
    }

    /// The counter directory, optionally one network's and one city's (case and accents
    /// ignored), open or not at a test clock's time when one is named
    /// (`GET /counter/v1/counters`).
    pub async fn counters(
        &self,
        network: Option<&str>,
        city: Option<&str>,
        test_clock: Option<&str>,
    ) -> Result<Vec<SimCounter>, ConnectError> {
        let mut query = Vec::new();
        if let Some(network) = network {
            query.push(("network", network));
        }
        if let Some(city) = city {
            query.push(("city", city));
        }
        if let Some(clock) = test_clock {
            query.push(("test_clock", clock));
        }
        let list: ListWire<SimCounter> = self
            .control(Method::GET, &["counter", "v1", "counters"], &query, None)
            .await?;
        Ok(list.data)
    }

    /// Creates this merchant's test clock at the network at `frozen_time`, or moves it forward
    /// to it; what falls due on it happens before the answer. Signed: a shared simulator keeps
    /// each merchant's clocks apart (`POST /v1/test_clocks/{id}/advance`).
    pub async fn advance_test_clock(
        &self,
        id: &str,
        frozen_time: Timestamp,
    ) -> Result<Timestamp, ConnectError> {
        let body = serde_json::to_vec(&json!({"frozen_time": frozen_time}))
            .map_err(|e| ConnectError::Protocol(format!("request body: {e}")))?;
        let url = self.url(&["v1", "test_clocks", id, "advance"], &[]);
        let (reply, _evidence) = self.send(Method::POST, url, body, true).await;
        let reply = reply?;
        if reply.status != 200 {
            return Err(error_from(&reply));
        }
        let clock: TestClockWire = serde_json::from_slice(&reply.body)
            .map_err(|e| ConnectError::Protocol(format!("answer: {e}")))?;
        Ok(clock.frozen_time)
    }

    /// Forgets this merchant's test clock at the network (`DELETE /v1/test_clocks/{id}`); a
    /// clock the network never heard of is already gone.
    pub async fn delete_test_clock(&self, id: &str) -> Result<(), ConnectError> {
        let url = self.url(&["v1", "test_clocks", id], &[]);
        let (reply, _evidence) = self.send(Method::DELETE, url, Vec::new(), true).await;
        let reply = reply?;
        match reply.status {
            200 => Ok(()),
            _ => match error_from(&reply) {
                ConnectError::NotFound => Ok(()),
                other => Err(other),
            },
        }
    }

    /// One callback delivery pass now; `force` ignores backoff and delays and releases held
    /// callbacks. Answers how many deliveries were attempted (`POST /sim/v1/callbacks/flush`).
    pub async fn flush_callbacks(&self, force: bool) -> Result<u64, ConnectError> {
        let flushed: Flushed = self
            .control(
                Method::POST,
                &["sim", "v1", "callbacks", "flush"],
                &[],
                Some(json!({"force": force})),
            )
            .await?;
        Ok(flushed.attempted)
    }

    /// Enrols (or updates) this connector's merchant at the simulator with its id and secret,
    /// and where callbacks go (`POST /sim/v1/merchants`). The secret is sent to the simulator
    /// in the body — acceptable only because the simulator is a loopback test tool.
    pub async fn register_merchant(&self, callback_url: Option<&str>) -> Result<(), ConnectError> {
        let body = json!({
            "id": self.config.merchant_id,
            "secret": self.config.secret,
            "callback_url": callback_url,
        });
        let _answer: serde_json::Value = self
            .control(Method::POST, &["sim", "v1", "merchants"], &[], Some(body))
            .await?;
        Ok(())
    }

    /// Delivers every callback about `order_id` now and waits (bounded) until none is still
    /// pending or in flight, so that a test helper answers after cajero has heard of the
    /// change. Callbacks the simulator deliberately lost or dropped are not waited for.
    pub async fn deliver_callbacks_for(&self, order_id: &str) -> Result<(), ConnectError> {
        for _ in 0..DELIVERY_WAIT_POLLS_MAX {
            self.flush_callbacks(true).await?;
            let list: CallbackList = self
                .control(
                    Method::GET,
                    &["sim", "v1", "callbacks"],
                    &[("order_id", order_id)],
                    None,
                )
                .await?;
            if !list.data.iter().any(|c| c.status == "pending") {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(DELIVERY_WAIT_POLL_MS)).await;
        }
        Err(ConnectError::Timeout)
    }
}

/// How many times [`SimConnector::deliver_callbacks_for`] looks before giving up.
pub const DELIVERY_WAIT_POLLS_MAX: u32 = 200;
/// Pause between those looks: 200 × 25 ms bounds the wait at 5 s.
pub const DELIVERY_WAIT_POLL_MS: u64 = 25;

#[derive(Debug, Deserialize)]
struct CallbackList {
    data: Vec<CallbackStatus>,
}

#[derive(Debug, Deserialize)]
struct CallbackStatus {
    status: String,
}
