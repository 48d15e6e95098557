//! The one table from Kushki's states and error codes to ours. `docs/networks.md` carries a copy
//! that a test checks against these (tests/kushki_documented.rs).

use serde_json::Value;

use crate::{ConnectError, NetworkStatus, OrderKind};

/// Every state Kushki documents for cash-in and cash-out, and what it means for a voucher and
/// for a pick-up. The one table; `docs/networks.md` carries a copy checked by a test.
///
/// `declinedTransaction` closes an order unpaid by the gateway's decision (sandbox identification
/// `1000000000`, a processor refusal): our nearest state is `Canceled` (closed, not by time).
pub const STATUS_TABLE: &[(&str, NetworkStatus, NetworkStatus)] = &[
    (
        "initializedTransaction",
        NetworkStatus::Pending,
        NetworkStatus::Available,
    ),
    (
        "approvedTransaction",
        NetworkStatus::Paid,
        NetworkStatus::Paid,
    ),
    (
        "expiredTransaction",
        NetworkStatus::Expired,
        NetworkStatus::Expired,
    ),
    (
        "declinedTransaction",
        NetworkStatus::Canceled,
        NetworkStatus::Canceled,
    ),
];

/// Our status for Kushki's `state` of an order of `kind`; [`NetworkStatus::Unrecognized`] for
/// anything the table does not list (never guessed).
pub fn status_of(kind: OrderKind, state: &str) -> NetworkStatus {
    STATUS_TABLE.iter().find(|(s, _, _)| *s == state).map_or(
        NetworkStatus::Unrecognized,
        |(_, collection, payout)| match kind {
            OrderKind::Collection => *collection,
            OrderKind::Payout => *payout,
        },
    )
}

/// What one of Kushki's documented error codes means to us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorMeaning {
    /// A refusal for good, under our stable snake_case code.
    Rejected(&'static str),
    /// No such charge or ticket.
    NotFound,
    /// The charge is no longer in a state that allows it (paid, deleted, expired).
    NotCancelable,
    /// Kushki's own or a third party's failure: nothing to conclude, try later.
    Unavailable,
}

/// Every documented cash error code (`code` of the error body), its documented meaning, and
/// ours. C001–C017 are the cash-payments table (declined-cash-transaction); C005, C018, C023,
/// C040, C066 and K004 are in the cash-in API reference's examples; C009, C021 and C024 in the
/// cash-out API reference's (gateway-apis.md D20, D32).
pub const ERROR_TABLE: &[(&str, &str, ErrorMeaning)] = &[
    (
        "C001",
        "Invalid request body",
        ErrorMeaning::Rejected("invalid_request"),
    ),
    (
        "C002",
        "An unexpected error has occurred",
        ErrorMeaning::Unavailable,
    ),
    (
        "C003",
        "Invalid token",
        ErrorMeaning::Rejected("invalid_token"),
    ),
    (
        "C004",
        "Invalid merchant ID",
        ErrorMeaning::Rejected("invalid_credentials"),
    ),
    ("C005", "Invalid transaction ID", ErrorMeaning::NotFound),
    (
        "C006",
        "Invalid transaction amount",
        ErrorMeaning::Rejected("invalid_amount"),
    ),
    (
        "C007",
        "Pin submitted does not exist",
        ErrorMeaning::NotFound,
    ),
    (
        "C008",
        "Transaction is in an invalid status",
        ErrorMeaning::NotCancelable,
    ),
    (
        "C009",
        "Merchant has insufficient funds",
        ErrorMeaning::Rejected("insufficient_funds_at_network"),
    ),
    (
        "C010",
        "Third party integration error",
        ErrorMeaning::Unavailable,
    ),
    (
        "C011",
        "Error. No attachments in the email",
        ErrorMeaning::Rejected("email_not_sent"),
    ),
    (
        "C012",
        "Invalid transaction status",
        ErrorMeaning::NotCancelable,
    ),
    (
        "C017",
        "The expiration date is not valid",
        ErrorMeaning::Rejected("invalid_expiration"),
    ),
    (
        "C018",
        "The transaction does not exist or has been deleted",
        ErrorMeaning::NotFound,
    ),
    ("C021", "Invalid ticket number", ErrorMeaning::NotFound),
    (
        "C023",
        "Unable to update transaction",
        ErrorMeaning::Rejected("update_refused"),
    ),
    (
        "C024",
        "Merchant does not have an initial balance",
        ErrorMeaning::Rejected("no_payout_balance"),
    ),
    (
        "C040",
        "Merchant ID does not correspond to the credential sent",
        ErrorMeaning::Rejected("invalid_credentials"),
    ),
    (
        "C066",
        "Credentials are not correct or do not match",
        ErrorMeaning::Rejected("invalid_credentials"),
    ),
    (
        "K004",
        "Invalid merchant ID or credential",
        ErrorMeaning::Rejected("invalid_credentials"),
    ),
];

/// What Kushki's error `code` means, if it is documented.
pub fn error_meaning(code: &str) -> Option<ErrorMeaning> {
    ERROR_TABLE
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, _, meaning)| *meaning)
}

/// An answer other than success, as a [`ConnectError`]: the documented `code` through
/// [`ERROR_TABLE`]; then by HTTP status (404 → `NotFound`, 504 → `Timeout`, other 5xx →
/// `Unavailable`); an undocumented code → `Protocol` with the code (never guessed as a refusal).
pub fn error_from(status: u16, body: &[u8]) -> ConnectError {
    let parsed: Option<(String, String)> =
        serde_json::from_slice::<Value>(body).ok().and_then(|v| {
            let code = v.get("code")?.as_str()?.to_owned();
            let message = v
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            Some((code, message))
        });
    if status == 504 {
        return ConnectError::Timeout;
    }
    if let Some((code, message)) = parsed {
        return match error_meaning(&code) {
            Some(ErrorMeaning::Rejected(ours)) => ConnectError::Rejected {
                code: ours.to_owned(),
                message: format!("{code}: {message}"),
            },
            Some(ErrorMeaning::NotFound) => ConnectError::NotFound,
            Some(ErrorMeaning::NotCancelable) => ConnectError::NotCancelable,
            Some(ErrorMeaning::Unavailable) => {
                ConnectError::Unavailable(format!("HTTP {status}: {code}: {message}"))
            }
            None if status >= 500 => {
                ConnectError::Unavailable(format!("HTTP {status}: {code}: {message}"))
            }
            None => ConnectError::Protocol(format!(
                "HTTP {status}: undocumented Kushki error {code}: {message}"
            )),
        };
    }
    match status {
        404 => ConnectError::NotFound,
        500..=599 => ConnectError::Unavailable(format!("HTTP {status}")),
        _ => ConnectError::Protocol(format!("HTTP {status} without a Kushki error body")),
    }
}
