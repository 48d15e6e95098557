//! Connectors to cash networks: one [`Connector`] trait, one module per network or gateway.
//!
//! A connector turns cajero's requests into a network's protocol and back. It never decides
//! anything about money: it reports what the network said, and every exchange (request,
//! response, callback) comes back as [`Evidence`] so the caller can store it raw beside the
//! order. Timeouts are explicit. A create that times out is resolved by querying the network by
//! our reference before anything is retried ([`create_once`] does it with
//! [`Connector::find_by_reference`]), so an order is never created twice at the network.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use cajero_domain::money::Amount;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub mod create;
pub mod dlocal;
pub(crate) mod http;
pub mod kushki;
pub mod payu;
pub mod report;
pub mod sim;

pub use create::{NewOrder, create_once};

/// A boxed future, so that connectors can live behind `Arc<dyn Connector>`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What kind of order at the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderKind {
    /// A pay-in voucher.
    Collection,
    /// A cash pick-up.
    Payout,
}

/// A person's identity document as sent to a network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentRef {
    /// `CC`, `CE`, `TI`, `NIT`, `PA`, `PPT`, `PEP`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Canonical number.
    pub number: String,
}

/// The test clock an order lives on (test mode, simulators only): its id and its time now.
/// The network takes the later of that time and what it knew, so an advance it missed is made
/// up by the next create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestClockRef {
    /// The clock's id (`clock_…`).
    pub id: String,
    /// The clock's time.
    pub frozen_time: Timestamp,
}

/// A voucher to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateVoucher {
    /// The network's code (`efecty`).
    pub network: String,
    /// Our reference: the pay-in id. Unique at the network; a retry repeats it.
    pub reference: String,
    /// Whole pesos.
    pub amount: Amount,
    /// Customer's name, if known.
    pub customer_name: Option<String>,
    /// Customer's document, if known.
    pub customer_document: Option<DocumentRef>,
    /// Validity.
    pub expires_in_seconds: i64,
    /// The test clock the voucher lives on, if any.
    pub test_clock: Option<TestClockRef>,
}

/// A pick-up code to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatePickup {
    /// The network's code.
    pub network: String,
    /// Our reference: the payout id.
    pub reference: String,
    /// Whole pesos.
    pub amount: Amount,
    /// Beneficiary's name, as on the document.
    pub beneficiary_name: String,
    /// Beneficiary's document.
    pub beneficiary_document: DocumentRef,
    /// Validity.
    pub expires_in_seconds: i64,
    /// The test clock the code lives on, if any.
    pub test_clock: Option<TestClockRef>,
}

/// An order's status as the network reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkStatus {
    /// Open: waiting for payment (vouchers).
    Pending,
    /// Open: the code can be collected (pick-ups).
    Available,
    /// Open but locked after wrong codes (pick-ups).
    Locked,
    /// Paid at a counter (voucher) or collected (pick-up).
    Paid,
    /// Closed unpaid.
    Expired,
    /// Canceled.
    Canceled,
    /// A state the network's documentation does not list (or one we do not map). Never
    /// guessed: the order is held for review and the raw message is in the evidence.
    Unrecognized,
}

/// An order as the network reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkOrder {
    /// Voucher or pick-up.
    pub kind: OrderKind,
    /// The network's id for it.
    pub network_order_id: String,
    /// Our reference.
    pub reference: String,
    /// The network's code.
    pub network: String,
    /// Its status.
    pub status: NetworkStatus,
    /// Whole pesos.
    pub amount: Amount,
    /// Vouchers: the payment code; pick-ups: the pick-up code (digits only).
    pub code: String,
    /// Vouchers: the agreement ("convenio") code.
    pub agreement_code: Option<String>,
    /// Vouchers: the GS1-128 human-readable data.
    pub barcode_data: Option<String>,
    /// When it expires.
    pub expires_at: Timestamp,
    /// When it was paid or collected.
    pub paid_at: Option<Timestamp>,
    /// Where it was paid or collected.
    pub paid_counter_id: Option<String>,
}

/// A counter attempt on an order, as the network reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkAttempt {
    /// The network's id for the attempt.
    pub id: String,
    /// When.
    pub at: Timestamp,
    /// Which counter.
    pub counter_id: String,
    /// `approved`, `wrong_code`, `document_mismatch`, `counter_out_of_cash`, …
    pub outcome: String,
}

/// What a network callback says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackKind {
    /// Paid or collected.
    Paid,
    /// Expired at the network.
    Expired,
    /// Canceled at the network.
    Canceled,
    /// A failed counter attempt on an open pick-up.
    AttemptFailed,
    /// The pick-up code was locked after wrong codes.
    Locked,
}

/// A verified callback from a network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    /// The network's id for this callback: the same on every retry (deduplication key).
    pub id: String,
    /// What happened.
    pub kind: CallbackKind,
    /// The order, as of the change.
    pub order: NetworkOrder,
    /// The counter attempt that caused it, if any.
    pub attempt: Option<NetworkAttempt>,
}

/// A customer's bank account, for a refund paid by bank transfer. Every field optional: a
/// network that lacks them asks the customer itself (dLocal e-mails the buyer).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankDetails {
    /// Bank code or name, as the network takes it.
    pub bank: Option<String>,
    /// Account number.
    pub account: Option<String>,
    /// `checking` or `savings` (`C`/`S` at dLocal).
    pub account_type: Option<String>,
    /// Branch.
    pub branch: Option<String>,
    /// Account holder's name.
    pub beneficiary_name: Option<String>,
    /// Account holder's document.
    pub beneficiary_document: Option<DocumentRef>,
}

/// A refund of a paid order to ask a network for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    /// Our reference: the refund id (`re_…`). Unique at the network; a retry repeats it, so a
    /// refund is never made twice.
    pub reference: String,
    /// The network's id of the paid order (its payment id).
    pub network_order_id: String,
    /// Whole pesos, at most what is left of the order to refund.
    pub amount: Amount,
    /// Where the money goes, when known.
    pub bank: Option<BankDetails>,
}

/// A refund's status at the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    /// Accepted, not paid yet (the outcome comes by notification).
    Pending,
    /// The money reached the customer.
    Succeeded,
    /// Refused or canceled at the network: no money left.
    Failed,
    /// A state the documentation does not list: held, never guessed.
    Unrecognized,
}

/// A refund as the network reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRefund {
    /// The network's id for the refund.
    pub network_refund_id: String,
    /// Our reference (the refund id), when the network echoes it.
    pub reference: Option<String>,
    /// The network's id of the refunded order.
    pub network_order_id: String,
    /// Whole pesos.
    pub amount: Amount,
    /// Its status.
    pub status: RefundStatus,
    /// The network's status and code as sent (`SUCCESS 200`), for evidence and exceptions.
    pub network_status: String,
}

/// One exchange with a network, kept raw as evidence (secrets redacted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// `POST /v1/collections`, `callback`, …
    pub operation: String,
    /// What we sent (headers without secrets, and body).
    pub request: String,
    /// The HTTP status we got, if any.
    pub response_status: Option<u16>,
    /// What we got back (or the transport error).
    pub response: String,
    /// When we sent it.
    pub at: Timestamp,
    /// How long it took.
    pub duration_ms: u64,
}

/// Why a network call did not give an order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    /// The network refused the request for good (amount limits, beneficiary rejected, …).
    #[error("the network refused: {code}: {message}")]
    Rejected {
        /// The network's code.
        code: String,
        /// The network's message.
        message: String,
    },
    /// The network is down or answered 5xx: nothing was created (as far as it said).
    #[error("the network is unavailable: {0}")]
    Unavailable(String),
    /// No answer in time: the order may or may not exist; query by reference.
    #[error("the network did not answer in time")]
    Timeout,
    /// Not found.
    #[error("not found at the network")]
    NotFound,
    /// The order cannot be canceled any more (paid, expired…).
    #[error("the order can no longer be canceled")]
    NotCancelable,
    /// The answer did not make sense (a bug at one end).
    #[error("unexpected answer from the network: {0}")]
    Protocol(String),
}

/// A call's result and the evidence of the exchange (present even on failure).
#[derive(Debug)]
pub struct Exchange<T> {
    /// What came of it.
    pub result: Result<T, ConnectError>,
    /// The raw exchanges made (usually one).
    pub evidence: Vec<Evidence>,
}

impl<T> Exchange<T> {
    /// A result and the exchanges that led to it.
    pub fn new(result: Result<T, ConnectError>, evidence: Vec<Evidence>) -> Exchange<T> {
        Exchange { result, evidence }
    }
}

/// Why a callback was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// Missing or wrong signature headers.
    #[error("callback signature missing or invalid")]
    BadSignature,
    /// Timestamp too far from now (a replay, or a clock problem).
    #[error("callback timestamp outside the tolerance")]
    StaleTimestamp,
    /// Signed, but not a callback we understand.
    #[error("malformed callback: {0}")]
    Malformed(String),
}

/// One network or gateway.
pub trait Connector: Send + Sync + fmt::Debug {
    /// The network codes this connector serves (`efecty`, `sured`, …).
    fn networks(&self) -> Vec<String>;

    /// Creates a voucher. Idempotent by reference at the network.
    fn create_voucher(&self, request: &CreateVoucher) -> BoxFuture<'_, Exchange<NetworkOrder>>;

    /// Creates a pick-up code. Idempotent by reference at the network.
    fn create_pickup(&self, request: &CreatePickup) -> BoxFuture<'_, Exchange<NetworkOrder>>;

    /// Finds an order by our reference (after a timeout, before any retry).
    fn find_by_reference(
        &self,
        kind: OrderKind,
        reference: &str,
    ) -> BoxFuture<'_, Exchange<NetworkOrder>>;

    /// Reads an order by the network's id.
    fn get(&self, kind: OrderKind, network_order_id: &str)
    -> BoxFuture<'_, Exchange<NetworkOrder>>;

    /// Cancels an open order.
    fn cancel(
        &self,
        kind: OrderKind,
        network_order_id: &str,
    ) -> BoxFuture<'_, Exchange<NetworkOrder>>;

    /// Verifies and parses a callback: `headers` as (lower-case name, value) pairs, the raw body.
    fn verify_callback(
        &self,
        headers: &[(String, String)],
        body: &[u8],
        now: Timestamp,
    ) -> Result<Callback, CallbackError>;

    /// The settlement file of a Bogotá day (`YYYY-MM-DD`) for the cash network `network`, as
    /// the network delivers it. A gateway whose report covers all its networks at once ignores
    /// `network` (the lines say theirs).
    fn settlement_file(
        &self,
        network: &str,
        date: &str,
        format: &str,
    ) -> BoxFuture<'_, Exchange<Vec<u8>>>;

    /// Whether this connector takes orders of `kind` at the cash network `network` (a gateway
    /// may collect at a network it cannot pay out at). Default: every kind at each of
    /// [`Connector::networks`].
    fn serves(&self, kind: OrderKind, network: &str) -> bool {
        let _ = kind;
        self.networks().iter().any(|n| n == network)
    }

    /// The refund method (`bank_transfer`, …) by which this network pays refunds of the
    /// orders it collected, when it pays any ([`Connector::refund`]). Default: `None`.
    fn refund_method(&self) -> Option<&'static str> {
        None
    }

    /// Refunds (part of) a paid order through the network. Idempotent by `request.reference`.
    /// Default: the network refunds nothing, refused without any call.
    fn refund(&self, request: &RefundRequest) -> BoxFuture<'_, Exchange<NetworkRefund>> {
        let _ = request;
        Box::pin(async move {
            Exchange::new(
                Err(ConnectError::Rejected {
                    code: REFUND_NOT_SUPPORTED.into(),
                    message: "this network takes no refunds".into(),
                }),
                Vec::new(),
            )
        })
    }

    /// Verifies and parses a refund notification (posted to the refund's own notification
    /// URL), as [`Connector::verify_callback`] does for orders. Default: the network sends
    /// none, so anything posted there is refused.
    fn verify_refund_callback(
        &self,
        headers: &[(String, String)],
        body: &[u8],
        now: Timestamp,
    ) -> Result<NetworkRefund, CallbackError> {
        let _ = (headers, body, now);
        Err(CallbackError::Malformed(
            "this network sends no refund notifications".into(),
        ))
    }

    /// The amounts this connector takes for `kind` at `network` (whole pesos), when the
    /// gateway documents limits narrower than the network's own; `None`: no limits of its own.
    /// Routing skips a connector whose limits do not take an amount.
    fn amount_limits(
        &self,
        kind: OrderKind,
        network: &str,
    ) -> Option<cajero_domain::network::AmountRange> {
        let _ = (kind, network);
        None
    }

    /// A harmless authenticated call about the cash network `network` (the health probe):
    /// `Ok` when it answers as it should. Default: [`Connector::check`], for a connector whose
    /// networks stand or fall together.
    fn probe(&self, network: &str) -> BoxFuture<'_, Exchange<()>> {
        let _ = network;
        self.check()
    }

    /// A harmless authenticated call, to tell that the network is reachable and takes our
    /// credentials (`cajero networks check`). Default: a query by a reference that never
    /// exists, where "not found" is the healthy answer.
    fn check(&self) -> BoxFuture<'_, Exchange<()>> {
        Box::pin(async move {
            let found = self
                .find_by_reference(OrderKind::Collection, CHECK_REFERENCE)
                .await;
            let result = match found.result {
                Ok(_) | Err(ConnectError::NotFound) => Ok(()),
                Err(e) => Err(e),
            };
            Exchange::new(result, found.evidence)
        })
    }
}

/// The code of [`ConnectError::Rejected`] from a connector that cannot refund.
pub const REFUND_NOT_SUPPORTED: &str = "refund_not_supported";

/// The reference [`Connector::check`] looks up by default: never one of ours (our references
/// are object ids such as `pi_…` and `po_…`).
pub const CHECK_REFERENCE: &str = "cajero-networks-check";
