//! The JSON the simulator shows: what a connector, a cashier or a test sees of its state.

use cajero_domain::{Amount, Document};
use jiff::Timestamp;
use serde::Serialize;

use crate::codes::display;
use crate::config::NetworkProfile;
use crate::counters::describe;
use crate::model::{
    Attempt, Callback, CallbackStatus, Counter, Operation, Order, OrderKind, Outcome,
};

/// A person on an order.
#[derive(Debug, Clone, Serialize)]
pub struct PartyView {
    /// Full name.
    pub name: Option<String>,
    /// Identity document.
    pub document: Option<Document>,
}

/// The voucher's barcode.
#[derive(Debug, Clone, Serialize)]
pub struct BarcodeView {
    /// Always `gs1-128`.
    pub symbology: &'static str,
    /// Human-readable data with application identifiers in parentheses.
    pub data: String,
}

/// A collection or payout order as a connector sees it.
#[derive(Debug, Clone, Serialize)]
pub struct OrderView {
    /// The network's id.
    pub id: String,
    /// `collection` or `payout`.
    pub object: &'static str,
    /// Network profile.
    pub network: String,
    /// Owner.
    pub merchant_id: String,
    /// Merchant's reference.
    pub reference: String,
    /// Status.
    pub status: &'static str,
    /// COP, whole pesos.
    pub amount: Amount,
    /// Always `COP`.
    pub currency: &'static str,
    /// Collection: who pays.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<PartyView>,
    /// Payout: who collects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beneficiary: Option<PartyView>,
    /// Collection: payment code digits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_code: Option<String>,
    /// Collection: payment code grouped for reading.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_code_display: Option<String>,
    /// Collection: agreement number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agreement_code: Option<String>,
    /// Collection: barcode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub barcode: Option<BarcodeView>,
    /// Payout: pick-up code digits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pickup_code: Option<String>,
    /// Payout: pick-up code grouped for reading.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pickup_code_display: Option<String>,
    /// Created (simulated clock).
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// End of validity.
    pub expires_at: Timestamp,
    /// Payable from (legacy activation windows; otherwise the creation instant).
    pub active_from: Timestamp,
    /// Paid or collected.
    pub paid_at: Option<Timestamp>,
    /// Counter that paid or collected.
    pub paid_counter_id: Option<String>,
    /// Canceled.
    pub canceled_at: Option<Timestamp>,
    /// Expired.
    pub expired_at: Option<Timestamp>,
    /// Wrong codes counted toward the lock (payouts).
    pub wrong_code_attempts: u32,
    /// Counter attempts, oldest first.
    pub attempts: Vec<AttemptView>,
    /// Where this order's callbacks go, when the create named a URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    /// The merchant's test clock it lives on, when it lives on one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_clock: Option<String>,
}

impl OrderView {
    /// The view of `order` with its attempts.
    pub fn new(order: &Order, attempts: Vec<AttemptView>) -> OrderView {
        let party = PartyView {
            name: order.party.name.clone(),
            document: order.party.document.clone(),
        };
        let collection = order.kind == OrderKind::Collection;
        OrderView {
            id: order.id.clone(),
            object: order.kind.as_str(),
            network: order.network.clone(),
            merchant_id: order.merchant_id.clone(),
            reference: order.reference.clone(),
            status: order.status.as_str(),
            amount: order.amount,
            currency: "COP",
            customer: collection.then(|| party.clone()),
            beneficiary: (!collection).then_some(party),
            payment_code: collection.then(|| order.code.clone()),
            payment_code_display: collection.then(|| display(&order.code)),
            agreement_code: collection.then(|| order.agreement_code.clone()),
            barcode: order.barcode_data.clone().map(|data| BarcodeView {
                symbology: "gs1-128",
                data,
            }),
            pickup_code: (!collection).then(|| order.code.clone()),
            pickup_code_display: (!collection).then(|| display(&order.code)),
            created_at: order.created_at,
            updated_at: order.updated_at,
            expires_at: order.expires_at,
            active_from: order.active_from,
            paid_at: order.paid_at,
            paid_counter_id: order.paid_counter_id.clone(),
            canceled_at: order.canceled_at,
            expired_at: order.expired_at,
            wrong_code_attempts: order.wrong_code_attempts,
            attempts,
            callback_url: order.callback_url.clone(),
            test_clock: order.test_clock.clone(),
        }
    }
}

/// A counter attempt.
#[derive(Debug, Clone, Serialize)]
pub struct AttemptView {
    /// `att_…`.
    pub id: String,
    /// When.
    pub at: Timestamp,
    /// Where.
    pub counter_id: String,
    /// Network.
    pub network: String,
    /// `pay` or `collect`.
    pub operation: Operation,
    /// Order concerned.
    pub order_id: Option<String>,
    /// Outcome code.
    pub outcome: Outcome,
}

impl From<&Attempt> for AttemptView {
    fn from(a: &Attempt) -> Self {
        AttemptView {
            id: a.id.clone(),
            at: a.at,
            counter_id: a.counter_id.clone(),
            network: a.network.clone(),
            operation: a.operation,
            order_id: a.order_id.clone(),
            outcome: a.outcome,
        }
    }
}

/// A counter in the directory.
#[derive(Debug, Clone, Serialize)]
pub struct CounterView {
    /// `EF-BOG-001`.
    pub id: String,
    /// Network.
    pub network: String,
    /// City.
    pub city: String,
    /// Department.
    pub department: String,
    /// Address.
    pub address: String,
    /// Extended hours (until 22:00, Sundays and holidays).
    pub extended_hours: bool,
    /// Hours Monday to Friday.
    pub hours_weekdays: String,
    /// Hours on Saturday.
    pub hours_saturday: String,
    /// Hours on Sundays and holidays.
    pub hours_sundays_and_holidays: String,
    /// Whether it serves now.
    pub open_now: bool,
    /// Cash in the drawer.
    pub cash: Amount,
}

impl CounterView {
    /// The view of `counter` at `now`.
    pub fn new(profile: &NetworkProfile, counter: &Counter, now: Timestamp) -> CounterView {
        let hours = crate::counters::hours(profile, counter);
        CounterView {
            id: counter.id.clone(),
            network: counter.network.clone(),
            city: counter.city.clone(),
            department: counter.department.clone(),
            address: counter.address.clone(),
            extended_hours: counter.extended_hours,
            hours_weekdays: describe(hours.weekdays),
            hours_saturday: describe(hours.saturday),
            hours_sundays_and_holidays: describe(hours.sunday_and_holidays),
            open_now: crate::counters::is_open(profile, counter, now),
            cash: counter.cash,
        }
    }
}

/// A callback and its delivery state.
#[derive(Debug, Clone, Serialize)]
pub struct CallbackView {
    /// `cb_…`.
    pub id: String,
    /// Event type.
    pub event_type: String,
    /// Order.
    pub order_id: String,
    /// Recipient.
    pub merchant_id: String,
    /// Delivery state.
    pub status: CallbackStatus,
    /// Attempts so far.
    pub attempts: u32,
    /// Faults and magic applied.
    pub faults: Vec<String>,
    /// Held by the reorder fault.
    pub held: bool,
    /// Not before this host time (Unix ms).
    pub not_before_ms: i64,
    /// Last HTTP status.
    pub last_status: Option<u16>,
    /// Last transport error.
    pub last_error: Option<String>,
    /// The body sent.
    pub body: serde_json::Value,
}

impl From<&Callback> for CallbackView {
    fn from(c: &Callback) -> Self {
        CallbackView {
            id: c.id.clone(),
            event_type: c.event_type.clone(),
            order_id: c.order_id.clone(),
            merchant_id: c.merchant_id.clone(),
            status: c.status,
            attempts: c.attempts,
            faults: c.faults.clone(),
            held: c.held,
            not_before_ms: c.not_before_ms,
            last_status: c.last_status,
            last_error: c.last_error.clone(),
            body: serde_json::from_str(&c.body).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// The view of `order` with its attempts from `state`.
pub fn order_view(state: &crate::engine::State, order: &Order) -> OrderView {
    let attempts = order
        .attempt_ids
        .iter()
        .filter_map(|id| state.attempt(id))
        .map(AttemptView::from)
        .collect();
    OrderView::new(order, attempts)
}
