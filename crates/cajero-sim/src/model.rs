//! What the simulated network keeps: orders, counter attempts, callbacks, merchants, counters.
//!
//! These are stored as they are (JSON documents when persisted); the HTTP views in
//! `crate::views` decide what a connector sees.

use cajero_domain::{Amount, Document};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::config::MerchantConfig;

/// A pay-in voucher or a cash pick-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderKind {
    /// A voucher a customer pays at a counter (pay-in).
    Collection,
    /// A code a beneficiary collects cash with (payout).
    Payout,
}

impl OrderKind {
    /// `collection` / `payout`, as in event types and JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            OrderKind::Collection => "collection",
            OrderKind::Payout => "payout",
        }
    }

    /// Prefix of the network's ids for this kind.
    pub const fn id_prefix(self) -> &'static str {
        match self {
            OrderKind::Collection => "col",
            OrderKind::Payout => "giro",
        }
    }
}

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// A voucher waiting to be paid.
    Pending,
    /// A pick-up code waiting to be collected.
    Available,
    /// A pick-up code locked after too many wrong codes; only cancel or expiry end it.
    Locked,
    /// Paid at a counter (voucher) or collected (pick-up).
    Paid,
    /// Not paid or collected in time.
    Expired,
    /// Canceled by the merchant while open.
    Canceled,
}

impl OrderStatus {
    /// Whether a counter or the merchant can still act on it.
    pub const fn is_open(self) -> bool {
        matches!(
            self,
            OrderStatus::Pending | OrderStatus::Available | OrderStatus::Locked
        )
    }

    /// snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Available => "available",
            OrderStatus::Locked => "locked",
            OrderStatus::Paid => "paid",
            OrderStatus::Expired => "expired",
            OrderStatus::Canceled => "canceled",
        }
    }
}

/// The customer of a voucher or the beneficiary of a pick-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    /// Full name (required for a beneficiary).
    pub name: Option<String>,
    /// Identity document (required for a beneficiary).
    pub document: Option<Document>,
}

/// What the magic values of API.md's test-mode table make this order do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Magic {
    /// Beneficiary document 2222222222: every collection attempt fails `document_mismatch`.
    pub always_document_mismatch: bool,
    /// Amount 77777: the network confirms the payment twice (two callbacks, two ids).
    pub confirm_twice: bool,
    /// Amount 88888: the payment callback is lost; only the settlement file shows it.
    pub payment_callback_lost: bool,
}

/// A collection or payout order at the network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// The network's id (`col_…`, `giro_…`).
    pub id: String,
    /// Collection or payout.
    pub kind: OrderKind,
    /// Network profile name.
    pub network: String,
    /// Owner.
    pub merchant_id: String,
    /// The merchant's reference, unique per merchant and kind.
    pub reference: String,
    /// COP, whole pesos.
    pub amount: Amount,
    /// Where it is.
    pub status: OrderStatus,
    /// Payment code (collection) or pick-up code (payout), digits.
    pub code: String,
    /// Agreement ("convenio") number printed on the voucher.
    pub agreement_code: String,
    /// Collection: GS1-128 data of the voucher's barcode.
    pub barcode_data: Option<String>,
    /// Customer (collection) or beneficiary (payout).
    pub party: Party,
    /// When the network created it (simulated clock).
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// After this instant it cannot be paid or collected.
    pub expires_at: Timestamp,
    /// Before this instant counters refuse it (legacy activation windows).
    pub active_from: Timestamp,
    /// Paid or collected at.
    pub paid_at: Option<Timestamp>,
    /// Counter that paid or collected it.
    pub paid_counter_id: Option<String>,
    /// Attempt that paid or collected it.
    pub paid_attempt_id: Option<String>,
    /// Canceled at.
    pub canceled_at: Option<Timestamp>,
    /// Expired at.
    pub expired_at: Option<Timestamp>,
    /// Wrong codes entered with this beneficiary's document since the last success.
    pub wrong_code_attempts: u32,
    /// Counter attempts on this order, oldest first.
    pub attempt_ids: Vec<String>,
    /// Magic behaviour decided at creation.
    pub magic: Magic,
    /// Canonical form of the create request, to answer a repeated create.
    pub fingerprint: String,
    /// When the autopilot visits a counter for it, if it will.
    pub autopilot_at: Option<Timestamp>,
    /// Where its callbacks go, as given on the create; the merchant's URL when absent.
    #[serde(default)]
    pub callback_url: Option<String>,
    /// The merchant's test clock it lives on, if any (its time instead of the network's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_clock: Option<String>,
    /// The protocol it was created in: its callbacks are written in it.
    #[serde(default)]
    pub dialect: crate::dialect::Dialect,
    /// Refunds of it made through a gateway dialect (dLocal's `POST /refunds`), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refunds: Vec<Refund>,
}

/// A refund of a paid collection, as a gateway dialect took it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    /// The gateway's refund id (`REF-…`).
    pub id: String,
    /// The merchant's reference for it (dLocal: `description`), unique per order.
    pub reference: String,
    /// Whole pesos.
    pub amount: Amount,
    /// Whether it was (or will be) paid; false: rejected.
    pub succeeds: bool,
    /// Where its notification goes.
    pub notification_url: Option<String>,
    /// When it was taken.
    pub created_at: Timestamp,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// A customer pays a voucher.
    Pay,
    /// A beneficiary collects a payout.
    Collect,
}

/// What a counter decided. Every attempt has exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Money moved.
    Approved,
    /// No voucher has this payment code.
    UnknownCode,
    /// No payout has this pick-up code (counts toward the lock of the document's payouts).
    WrongCode,
    /// The pick-up code is locked after too many wrong codes.
    CodeLocked,
    /// The document shown is not the beneficiary's.
    DocumentMismatch,
    /// Vouchers are paid for their exact amount only.
    WrongAmount,
    /// Past its expiry.
    Expired,
    /// Already paid or collected.
    AlreadyPaid,
    /// Canceled by the merchant.
    Canceled,
    /// Not enough cash in this counter's drawer.
    CounterOutOfCash,
    /// The counter is closed at this hour.
    CounterClosed,
    /// A legacy code not yet activated (next activation window).
    NotYetActive,
    /// The network no longer operates.
    NetworkDiscontinued,
    /// The network's system is down (`faults.down`): the counter can do nothing.
    SystemUnavailable,
}

impl Outcome {
    /// snake_case code, stable.
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Approved => "approved",
            Outcome::UnknownCode => "unknown_code",
            Outcome::WrongCode => "wrong_code",
            Outcome::CodeLocked => "code_locked",
            Outcome::DocumentMismatch => "document_mismatch",
            Outcome::WrongAmount => "wrong_amount",
            Outcome::Expired => "expired",
            Outcome::AlreadyPaid => "already_paid",
            Outcome::Canceled => "canceled",
            Outcome::CounterOutOfCash => "counter_out_of_cash",
            Outcome::CounterClosed => "counter_closed",
            Outcome::NotYetActive => "not_yet_active",
            Outcome::NetworkDiscontinued => "network_discontinued",
            Outcome::SystemUnavailable => "system_unavailable",
        }
    }

    /// What the cashier page says, in Spanish.
    pub fn spanish(self) -> &'static str {
        match self {
            Outcome::Approved => "Operación aprobada.",
            Outcome::UnknownCode => "No existe un recibo con ese código de pago.",
            Outcome::WrongCode => "El código de retiro no es válido para ese documento.",
            Outcome::CodeLocked => {
                "El código está bloqueado por intentos fallidos. El beneficiario debe contactar a quien envió el giro."
            }
            Outcome::DocumentMismatch => {
                "El documento no corresponde al beneficiario. No entregue el dinero."
            }
            Outcome::WrongAmount => {
                "El valor no coincide: solo se recibe el valor exacto del recibo."
            }
            Outcome::Expired => "El código está vencido.",
            Outcome::AlreadyPaid => "Esta operación ya fue pagada.",
            Outcome::Canceled => "La operación fue anulada por el comercio.",
            Outcome::CounterOutOfCash => {
                "No hay efectivo suficiente en este punto. Intente en otro punto."
            }
            Outcome::CounterClosed => "El punto está cerrado a esta hora.",
            Outcome::NotYetActive => {
                "El código aún no está activo; se activa en la próxima ventana del día."
            }
            Outcome::NetworkDiscontinued => "Esta red ya no presta el servicio.",
            Outcome::SystemUnavailable => {
                "El sistema no está disponible. No reciba ni entregue dinero; intente más tarde."
            }
        }
    }
}

/// One counter attempt, successful or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// `att_…`.
    pub id: String,
    /// Sequence number, for operation numbers in files.
    pub seq: u64,
    /// When (simulated clock).
    pub at: Timestamp,
    /// Where.
    pub counter_id: String,
    /// Network of the counter.
    pub network: String,
    /// Pay or collect.
    pub operation: Operation,
    /// The order it concerned, when one was identified.
    pub order_id: Option<String>,
    /// Code typed by the cashier.
    pub code_entered: String,
    /// Document number typed (collect).
    pub document_entered: Option<String>,
    /// Amount typed (pay).
    pub amount_entered: Option<Amount>,
    /// What the counter decided.
    pub outcome: Outcome,
}

/// Delivery state of a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackStatus {
    /// Waiting for a 2xx.
    Pending,
    /// Acknowledged with 2xx.
    Delivered,
    /// Dropped by a fault knob: never sent.
    Dropped,
    /// Lost by magic value 88888: never sent.
    Lost,
    /// Given up after the maximum attempts.
    Failed,
}

/// A signed notification to the merchant about a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Callback {
    /// `cb_…`, the same on every retry.
    pub id: String,
    /// Delivery order.
    pub seq: u64,
    /// Recipient.
    pub merchant_id: String,
    /// Order it is about.
    pub order_id: String,
    /// `collection.paid`, `payout.attempt_failed`, …
    pub event_type: String,
    /// The exact body sent on every attempt.
    pub body: String,
    /// Delivery state.
    pub status: CallbackStatus,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// Not sent before this host time (Unix ms): retry backoff and the delay fault.
    pub not_before_ms: i64,
    /// Held by the reorder fault until the merchant's next callback is queued.
    pub held: bool,
    /// Extra deliveries still owed by the duplicate fault.
    pub duplicates_remaining: u8,
    /// Faults applied, for inspection.
    pub faults: Vec<String>,
    /// Last HTTP status received.
    pub last_status: Option<u16>,
    /// Last transport error.
    pub last_error: Option<String>,
    /// Host time of the acknowledgement (Unix ms).
    pub delivered_at_ms: Option<i64>,
    /// The protocol it is written and signed in (its order's).
    #[serde(default)]
    pub dialect: crate::dialect::Dialect,
    /// Where it goes when not to its order's URL (a refund's own notification URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A merchant enrolled with the network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Merchant {
    /// Credentials, callback URL and file data.
    pub config: MerchantConfig,
    /// Order of enrolment, from 1: the service code in settlement files derives from it.
    pub number: u32,
}

impl Merchant {
    /// The EAN-13 service code of this merchant at a network: the network's GLN company
    /// part (digits 1–9), the merchant number (3 digits), and the check digit.
    pub fn service_code(&self, network_gln: &str) -> String {
        let company: String = network_gln.chars().take(9).collect();
        let twelve = format!("{company:0<9}{:03}", self.number % 1000);
        format!("{twelve}{}", crate::codes::ean13_check_digit(&twelve))
    }
}

/// A point where cash changes hands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counter {
    /// `EF-BOG-001`.
    pub id: String,
    /// Network profile name.
    pub network: String,
    /// City.
    pub city: String,
    /// Department.
    pub department: String,
    /// Street address.
    pub address: String,
    /// Open until 22:00 every day, Sundays and holidays included.
    pub extended_hours: bool,
    /// Branch number in settlement files (4 digits).
    pub branch_code: String,
    /// Cash in the drawer, COP: payouts draw it down, pay-ins fill it up.
    pub cash: Amount,
}
