//! dLocal's documented payment status codes and error codes, and what each means here. These
//! two tables are the only place a dLocal code is interpreted; docs/networks.md shows them and
//! a test keeps the two in step.
//!
//! Sources: <https://docs.dlocal.com/reference/payment-status-codes> (statuses 100–700 and the
//! rejection sub-codes), <https://docs.dlocal.com/reference/http-errors-payments> (errors), and
//! the older reference in github.com/fmazzoli-dlocal/documentation
//! (`api-documentation/payins-api-reference/payments/README.md`: `101` and `EXPIRED 500`,
//! which the current page no longer lists but older integrations still receive).

use crate::NetworkStatus;

/// One documented payment status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusCode {
    /// `status_code` as dLocal sends it (a string of digits).
    pub code: u16,
    /// `status` that goes with it (`PENDING`, `PAID`, …).
    pub status: &'static str,
    /// dLocal's description.
    pub description: &'static str,
    /// Ours.
    pub ours: NetworkStatus,
}

const fn row(
    code: u16,
    status: &'static str,
    description: &'static str,
    ours: NetworkStatus,
) -> StatusCode {
    StatusCode {
        code,
        status,
        description,
        ours,
    }
}

use NetworkStatus::{Canceled, Expired, Paid, Pending, Unrecognized};

/// Every documented payment status code. `REJECTED` (300–3xx) closes a ticket unpaid, which is
/// what [`NetworkStatus::Expired`] means for a voucher; `AUTHORIZED` and `VERIFIED` are card
/// states that a cash ticket never takes, so a ticket reported in one is held for review.
/// A code not in this table, or a code whose `status` is not the one listed, is
/// [`NetworkStatus::Unrecognized`].
pub const STATUS_CODES: &[StatusCode] = &[
    row(100, "PENDING", "The payment is pending.", Pending),
    row(
        101,
        "PENDING",
        "The payment is pending 3D Secure authentication.",
        Pending,
    ),
    row(200, "PAID", "The payment was paid.", Paid),
    row(300, "REJECTED", "The payment was rejected.", Expired),
    row(301, "REJECTED", "Rejected by bank.", Expired),
    row(302, "REJECTED", "Insufficient amount.", Expired),
    row(303, "REJECTED", "Card blacklisted.", Expired),
    row(304, "REJECTED", "Score validation.", Expired),
    row(305, "REJECTED", "Max attempts reached.", Expired),
    row(306, "REJECTED", "Call bank for authorize.", Expired),
    row(307, "REJECTED", "Duplicated payment.", Expired),
    row(308, "REJECTED", "Credit card disabled.", Expired),
    row(309, "REJECTED", "Card expired.", Expired),
    row(310, "REJECTED", "Card reported lost.", Expired),
    row(311, "REJECTED", "Card requested by the bank.", Expired),
    row(312, "REJECTED", "Card restricted by the bank.", Expired),
    row(313, "REJECTED", "Card reported stolen.", Expired),
    row(314, "REJECTED", "Invalid card number.", Expired),
    row(315, "REJECTED", "Invalid security code.", Expired),
    row(316, "REJECTED", "Unsupported operation.", Expired),
    row(317, "REJECTED", "Rejected due to high risk.", Expired),
    row(318, "REJECTED", "Invalid transaction.", Expired),
    row(319, "REJECTED", "Amount exceeded.", Expired),
    row(320, "REJECTED", "3D-Secure is required.", Expired),
    row(321, "REJECTED", "Error in acquirer.", Expired),
    row(322, "REJECTED", "Wallet disabled.", Expired),
    row(323, "REJECTED", "Invalid user account.", Expired),
    row(324, "REJECTED", "Invalid PIN.", Expired),
    row(
        325,
        "REJECTED",
        "Transaction frequency limit exceeded.",
        Expired,
    ),
    row(400, "CANCELLED", "The payment was cancelled.", Canceled),
    row(500, "EXPIRED", "The payment was expired.", Expired),
    row(
        600,
        "AUTHORIZED",
        "The payment was authorized.",
        Unrecognized,
    ),
    row(700, "VERIFIED", "The payment was verified.", Unrecognized),
];

/// Our status for a payment reported as `status` with `status_code`: the table's, when the
/// code is documented and goes with that status; [`NetworkStatus::Unrecognized`] otherwise.
pub fn status_of(status_code: &str, status: &str) -> NetworkStatus {
    status_code
        .trim()
        .parse::<u16>()
        .ok()
        .and_then(|code| STATUS_CODES.iter().find(|row| row.code == code))
        .filter(|row| row.status.eq_ignore_ascii_case(status.trim()))
        .map_or(Unrecognized, |row| row.ours)
}

/// What a documented error code means for the call that got it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorMeaning {
    /// Refused for good: [`crate::ConnectError::Rejected`] with this code of ours.
    Rejected(&'static str),
    /// [`crate::ConnectError::NotFound`].
    NotFound,
    /// The payment is not in a state for this: [`crate::ConnectError::NotCancelable`] on a
    /// cancel, `Rejected("invalid_transaction_status")` elsewhere.
    InvalidStatus,
    /// The `order_id` is taken: on a create, the payment is looked up by it (the create is
    /// idempotent by reference); elsewhere `Rejected("reference_conflict")`.
    DuplicateOrderId,
    /// Nothing was done and we cannot use dLocal now (credentials, IP, rate, their fault):
    /// [`crate::ConnectError::Unavailable`], so routing may pass the order to another network.
    Unavailable,
}

/// One documented error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode {
    /// dLocal's `code`.
    pub code: u32,
    /// The HTTP status it comes with.
    pub http_status: u16,
    /// dLocal's message.
    pub message: &'static str,
    /// Ours.
    pub meaning: ErrorMeaning,
}

const fn error(
    code: u32,
    http_status: u16,
    message: &'static str,
    meaning: ErrorMeaning,
) -> ErrorCode {
    ErrorCode {
        code,
        http_status,
        message,
        meaning,
    }
}

use ErrorMeaning::{DuplicateOrderId, InvalidStatus, NotFound, Rejected, Unavailable};

/// Every documented error code of the Payins API.
pub const ERROR_CODES: &[ErrorCode] = &[
    error(3001, 403, "Invalid credentials.", Unavailable),
    error(3002, 403, "Unregistered IP address.", Unavailable),
    error(
        3003,
        403,
        "Merchant has no authorization to use this API.",
        Unavailable,
    ),
    error(4000, 404, "Payment not found.", NotFound),
    error(5000, 400, "Invalid request.", Rejected("invalid_request")),
    error(
        5001,
        400,
        "Invalid parameter.",
        Rejected("invalid_parameter"),
    ),
    error(5002, 400, "Invalid transaction status.", InvalidStatus),
    error(
        5003,
        400,
        "Country not supported.",
        Rejected("country_not_supported"),
    ),
    error(
        5004,
        400,
        "Currency not allowed for this country.",
        Rejected("currency_not_allowed"),
    ),
    error(
        5005,
        400,
        "User unauthorized due to cadastral situation.",
        Rejected("payer_unauthorized"),
    ),
    error(
        5006,
        400,
        "User limit exceeded.",
        Rejected("payer_limit_exceeded"),
    ),
    error(
        5007,
        400,
        "Amount exceeded.",
        Rejected("amount_out_of_range"),
    ),
    error(
        5008,
        400,
        "Token not found or inactive.",
        Rejected("token_not_found"),
    ),
    error(5009, 400, "Order ID is duplicated.", DuplicateOrderId),
    error(
        5010,
        400,
        "Method not available.",
        Rejected("method_not_available"),
    ),
    error(
        5011,
        400,
        "Enrollment not found.",
        Rejected("enrollment_not_found"),
    ),
    error(
        5013,
        400,
        "Unsupported operation.",
        Rejected("unsupported_operation"),
    ),
    error(
        5014,
        400,
        "User blacklisted.",
        Rejected("payer_blacklisted"),
    ),
    error(
        5016,
        400,
        "Amount too low.",
        Rejected("amount_out_of_range"),
    ),
    error(
        5017,
        400,
        "Invalid API version.",
        Rejected("invalid_api_version"),
    ),
    error(
        5018,
        400,
        "Chargeback in place for this transaction.",
        Rejected("chargeback_in_place"),
    ),
    error(6000, 429, "Too many requests to the API.", Unavailable),
    error(7000, 500, "Failed to process the request.", Unavailable),
];

/// The documented meaning of error `code`, if it is documented.
pub fn error_meaning(code: u32) -> Option<ErrorMeaning> {
    ERROR_CODES
        .iter()
        .find(|row| row.code == code)
        .map(|row| row.meaning)
}
