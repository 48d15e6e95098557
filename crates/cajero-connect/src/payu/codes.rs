//! PayU Latam's codes and limits, each mapped once: transaction states, order statuses,
//! confirmation `state_pol` values, cash payment methods and their amount limits.
//!
//! Every value PayU's documentation lists ("Response codes and variables",
//! developers.payulatam.com/latam/es/docs/getting-started/response-codes-and-variables.html)
//! is in one of these tables, mapped to one of our [`NetworkStatus`]es; a value not in a table
//! maps to [`NetworkStatus::Unrecognized`] (never guessed: the order is held for review).
//! docs/networks.md shows the same tables, and a test checks that they agree.

use cajero_domain::money::Amount;

use crate::NetworkStatus;

/// `transactionResponse.state` (payments and queries APIs), "Estados de la transacción".
pub const TRANSACTION_STATES: &[(&str, NetworkStatus)] = &[
    // "Transacción aprobada": for a cash voucher, paid at the counter.
    ("APPROVED", NetworkStatus::Paid),
    // "Transacción rechazada": closed unpaid by the gateway, not by us.
    ("DECLINED", NetworkStatus::Canceled),
    // "Error procesando la transacción": its confirmation `state_pol` is 6, a rejection.
    ("ERROR", NetworkStatus::Canceled),
    // "Transacción expirada".
    ("EXPIRED", NetworkStatus::Expired),
    // "Transacción pendiente o en validación": a voucher waiting for payment.
    ("PENDING", NetworkStatus::Pending),
    // "Enviada a la entidad financiera y … no terminó su procesamiento" (queries API only):
    // not final, so still open.
    ("SUBMITTED", NetworkStatus::Pending),
];

/// `status` of an order (queries API and the Sales Report), "Estados de la orden".
pub const ORDER_STATUSES: &[(&str, NetworkStatus)] = &[
    ("NEW", NetworkStatus::Pending),
    // "La orden está siendo procesada": a cash voucher waiting for payment.
    ("IN_PROGRESS", NetworkStatus::Pending),
    // An approved authorization not yet captured: no money moved yet.
    ("AUTHORIZED", NetworkStatus::Pending),
    // "El último estado de la orden es una captura aprobada": paid.
    ("CAPTURED", NetworkStatus::Paid),
    // "Cancelación aprobada"; the merchant panel adds "or the payment time expired".
    ("CANCELLED", NetworkStatus::Canceled),
    ("DECLINED", NetworkStatus::Canceled),
    // Paid, then refunded: no status of ours says that; held for review.
    ("REFUNDED", NetworkStatus::Unrecognized),
];

/// `state_pol` of a confirmation (and `polTransactionState`), with the states of the response
/// page's table. PayU confirms final states only (4, 5, 6); the pending ones are listed so
/// that a query or report carrying them maps too.
pub const POL_STATES: &[(&str, NetworkStatus)] = &[
    ("4", NetworkStatus::Paid),
    ("5", NetworkStatus::Expired),
    ("6", NetworkStatus::Canceled),
    ("7", NetworkStatus::Pending),
    ("10", NetworkStatus::Pending),
    ("12", NetworkStatus::Pending),
    ("14", NetworkStatus::Pending),
    ("15", NetworkStatus::Pending),
    ("18", NetworkStatus::Pending),
];

/// `responseCode` values of a refused create, as documented ("Códigos de respuesta de las
/// transacciones"): the code of ours is the same name in lower case, so it is stable. A
/// create answered with a state other than `PENDING` becomes
/// `ConnectError::Rejected { code: <this>, … }`.
pub const RESPONSE_CODES: &[&str] = &[
    "ERROR",
    "APPROVED",
    "ANTIFRAUD_REJECTED",
    "BANK_FRAUD_REJECTED",
    "PAYMENT_NETWORK_REJECTED",
    "ENTITY_DECLINED",
    "INTERNAL_PAYMENT_PROVIDER_ERROR",
    "INACTIVE_PAYMENT_PROVIDER",
    "DIGITAL_CERTIFICATE_NOT_FOUND",
    "INVALID_EXPIRATION_DATE_OR_SECURITY_CODE",
    "INVALID_RESPONSE_PARTIAL_APPROVAL",
    "INSUFFICIENT_FUNDS",
    "CREDIT_CARD_NOT_AUTHORIZED_FOR_INTERNET_TRANSACTIONS",
    "INVALID_TRANSACTION",
    "INVALID_CARD",
    "EXPIRED_CARD",
    "RESTRICTED_CARD",
    "CONTACT_THE_ENTITY",
    "REPEAT_TRANSACTION",
    "ENTITY_MESSAGING_ERROR",
    "BANK_UNREACHABLE",
    "EXCEEDED_AMOUNT",
    "NOT_ACCEPTED_TRANSACTION",
    "ERROR_CONVERTING_TRANSACTION_AMOUNTS",
    "EXPIRED_TRANSACTION",
    "PENDING_TRANSACTION_REVIEW",
    "PENDING_TRANSACTION_CONFIRMATION",
    "PENDING_TRANSACTION_TRANSMISSION",
    "PAYMENT_NETWORK_BAD_RESPONSE",
    "PAYMENT_NETWORK_NO_CONNECTION",
    "PAYMENT_NETWORK_NO_RESPONSE",
    "FIX_NOT_REQUIRED",
    "AUTOMATICALLY_FIXED_AND_SUCCESS_REVERSAL",
    "AUTOMATICALLY_FIXED_AND_UNSUCCESS_REVERSAL",
    "AUTOMATIC_FIXED_NOT_SUPPORTED",
    "NOT_FIXED_FOR_ERROR_STATE",
    "ERROR_FIXING_AND_REVERSING",
    "ERROR_FIXING_INCOMPLETE_DATA",
    "ABANDONED_TRANSACTION",
    "PENDING_PAYMENT_IN_ENTITY",
    "PENDING_PAYMENT_IN_BANK",
    "PENDING_SENT_TO_FINANCIAL_ENTITY",
    "PENDING_AWAITING_PSE_CONFIRMATION",
    "PENDING_NOTIFYING_ENTITY",
];

/// The code of ours for a refusal with PayU's `responseCode`: its lower-case name when it is
/// documented, `unrecognized_response_code` otherwise.
pub fn rejection_code(response_code: &str) -> String {
    if RESPONSE_CODES.contains(&response_code) {
        response_code.to_ascii_lowercase()
    } else {
        "unrecognized_response_code".into()
    }
}

fn lookup(table: &[(&str, NetworkStatus)], code: &str) -> NetworkStatus {
    table
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(NetworkStatus::Unrecognized, |(_, s)| *s)
}

/// Our status for a `transactionResponse.state`.
pub fn transaction_state(state: &str) -> NetworkStatus {
    lookup(TRANSACTION_STATES, state)
}

/// Our status for an order `status`.
pub fn order_status(status: &str) -> NetworkStatus {
    lookup(ORDER_STATUSES, status)
}

/// Our status for a confirmation's `state_pol`.
pub fn pol_state(state_pol: &str) -> NetworkStatus {
    lookup(POL_STATES, state_pol)
}

/// A cash payment method of PayU Colombia: the cash network it collects at and PayU's
/// documented amount limits for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CashMethod {
    /// Our cash network code.
    pub network: &'static str,
    /// PayU's `paymentMethod`.
    pub payment_method: &'static str,
    /// Smallest amount PayU takes, whole pesos.
    pub amount_min: i64,
    /// Largest amount PayU takes, whole pesos.
    pub amount_max: i64,
}

/// The cash methods this connector uses, with the limits of "API de Pagos - Colombia",
/// Consideraciones: "EFECTY > Min: $20.000 COP - Max: $6.000.000 COP", "OTHERS_CASH (Su Red)
/// > Min: $1.000 COP - Max: $4.000.000 COP". (BALOTO is listed too; Baloto stopped in 2022.)
pub const CASH_METHODS: &[CashMethod] = &[
    CashMethod {
        network: "efecty",
        payment_method: "EFECTY",
        amount_min: 20_000,
        amount_max: 6_000_000,
    },
    CashMethod {
        network: "sured",
        payment_method: "OTHERS_CASH",
        amount_min: 1_000,
        amount_max: 4_000_000,
    },
];

/// The cash method for our network code.
pub fn method_for_network(network: &str) -> Option<&'static CashMethod> {
    CASH_METHODS.iter().find(|m| m.network == network)
}

/// The cash method for PayU's `paymentMethod`.
pub fn method_for_payment_method(payment_method: &str) -> Option<&'static CashMethod> {
    CASH_METHODS
        .iter()
        .find(|m| m.payment_method.eq_ignore_ascii_case(payment_method))
}

/// PayU's amount limits at a cash network (whole pesos, both inclusive), if PayU collects
/// there.
pub fn limits(network: &str) -> Option<(Amount, Amount)> {
    let method = method_for_network(network)?;
    Some((
        Amount::new(method.amount_min).ok()?,
        Amount::new(method.amount_max).ok()?,
    ))
}

/// PayU's document type for ours (`dniType`, "Tipos de documento"): `None` when PayU lists
/// no equivalent (the field is optional, then left out).
pub fn document_type(kind: &str) -> Option<&'static str> {
    match kind {
        "CC" => Some("CC"),
        "CE" => Some("CE"),
        "TI" => Some("TI"),
        "NIT" => Some("NIT"),
        "PA" => Some("PP"),
        _ => None,
    }
}
