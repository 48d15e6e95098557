//! The simulator's JSON, as the README documents it, and its translation into the connector's
//! types. Only the fields a connector needs are read; unknown fields are ignored so that the
//! network may add some without breaking us.

use cajero_domain::money::Amount;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{
    ConnectError, CreatePickup, CreateVoucher, DocumentRef, NetworkAttempt, NetworkOrder,
    NetworkStatus, OrderKind, TestClockRef,
};

/// The only currency the simulator's networks take.
const CURRENCY: &str = "COP";

/// A person on a create request.
#[derive(Debug, Serialize)]
pub(crate) struct PartyBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    document: Option<&'a DocumentRef>,
}

/// `POST /v1/collections`.
#[derive(Debug, Serialize)]
pub(crate) struct CreateCollectionBody<'a> {
    network: &'a str,
    reference: &'a str,
    amount: Amount,
    currency: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer: Option<PartyBody<'a>>,
    expires_in_seconds: i64,
    /// Where the network calls back about this order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) callback_url: Option<&'a str>,
    /// The test clock the order lives on.
    #[serde(skip_serializing_if = "Option::is_none")]
    test_clock: Option<&'a TestClockRef>,
}

impl<'a> From<&'a CreateVoucher> for CreateCollectionBody<'a> {
    fn from(request: &'a CreateVoucher) -> Self {
        let known = request.customer_name.is_some() || request.customer_document.is_some();
        CreateCollectionBody {
            network: &request.network,
            reference: &request.reference,
            amount: request.amount,
            currency: CURRENCY,
            customer: known.then_some(PartyBody {
                name: request.customer_name.as_deref(),
                document: request.customer_document.as_ref(),
            }),
            expires_in_seconds: request.expires_in_seconds,
            callback_url: None,
            test_clock: request.test_clock.as_ref(),
        }
    }
}

/// `POST /v1/payouts`.
#[derive(Debug, Serialize)]
pub(crate) struct CreatePayoutBody<'a> {
    network: &'a str,
    reference: &'a str,
    amount: Amount,
    currency: &'static str,
    beneficiary: PartyBody<'a>,
    expires_in_seconds: i64,
    /// Where the network calls back about this order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) callback_url: Option<&'a str>,
    /// The test clock the order lives on.
    #[serde(skip_serializing_if = "Option::is_none")]
    test_clock: Option<&'a TestClockRef>,
}

impl<'a> From<&'a CreatePickup> for CreatePayoutBody<'a> {
    fn from(request: &'a CreatePickup) -> Self {
        CreatePayoutBody {
            network: &request.network,
            reference: &request.reference,
            amount: request.amount,
            currency: CURRENCY,
            beneficiary: PartyBody {
                name: Some(&request.beneficiary_name),
                document: Some(&request.beneficiary_document),
            },
            expires_in_seconds: request.expires_in_seconds,
            callback_url: None,
            test_clock: request.test_clock.as_ref(),
        }
    }
}

/// The voucher's barcode.
#[derive(Debug, Deserialize)]
pub(crate) struct BarcodeWire {
    data: String,
}

/// An order, both kinds (fields of the other kind are absent).
#[derive(Debug, Deserialize)]
pub(crate) struct OrderWire {
    id: String,
    object: String,
    network: String,
    reference: String,
    status: NetworkStatus,
    amount: Amount,
    payment_code: Option<String>,
    pickup_code: Option<String>,
    agreement_code: Option<String>,
    barcode: Option<BarcodeWire>,
    expires_at: Timestamp,
    paid_at: Option<Timestamp>,
    paid_counter_id: Option<String>,
}

impl OrderWire {
    /// The order as the connector reports it; `Protocol` when the kind or the code is missing.
    pub(crate) fn into_order(self) -> Result<NetworkOrder, ConnectError> {
        let kind = parse_kind(&self.object)?;
        let code = match kind {
            OrderKind::Collection => self.payment_code,
            OrderKind::Payout => self.pickup_code,
        }
        .ok_or_else(|| {
            ConnectError::Protocol(format!("{} {} has no code", self.object, self.id))
        })?;
        Ok(NetworkOrder {
            kind,
            network_order_id: self.id,
            reference: self.reference,
            network: self.network,
            status: self.status,
            amount: self.amount,
            code,
            agreement_code: self.agreement_code,
            barcode_data: self.barcode.map(|b| b.data),
            expires_at: self.expires_at,
            paid_at: self.paid_at,
            paid_counter_id: self.paid_counter_id,
        })
    }
}

/// `collection` or `payout`.
pub(crate) fn parse_kind(object: &str) -> Result<OrderKind, ConnectError> {
    match object {
        "collection" => Ok(OrderKind::Collection),
        "payout" => Ok(OrderKind::Payout),
        other => Err(ConnectError::Protocol(format!(
            "unknown order object {other:?}"
        ))),
    }
}

/// The path segment of a kind: `collections` or `payouts`.
pub(crate) fn kind_segment(kind: OrderKind) -> &'static str {
    match kind {
        OrderKind::Collection => "collections",
        OrderKind::Payout => "payouts",
    }
}

/// A counter attempt.
#[derive(Debug, Deserialize)]
pub(crate) struct AttemptWire {
    id: String,
    at: Timestamp,
    counter_id: String,
    outcome: String,
}

impl From<AttemptWire> for NetworkAttempt {
    fn from(a: AttemptWire) -> Self {
        NetworkAttempt {
            id: a.id,
            at: a.at,
            counter_id: a.counter_id,
            outcome: a.outcome,
        }
    }
}

/// `{"error": {"code", "message"}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorWire {
    pub(crate) error: ErrorDetail,
}

/// The inside of an error answer.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorDetail {
    pub(crate) code: String,
    pub(crate) message: String,
}

/// A callback's body.
#[derive(Debug, Deserialize)]
pub(crate) struct CallbackWire {
    pub(crate) id: Option<String>,
    #[serde(rename = "type")]
    pub(crate) event_type: String,
    pub(crate) merchant_id: String,
    pub(crate) data: CallbackData,
}

/// A callback's `data`.
#[derive(Debug, Deserialize)]
pub(crate) struct CallbackData {
    pub(crate) order: OrderWire,
    pub(crate) attempt: Option<AttemptWire>,
}

/// `{"object": "list", "data": [...]}`.
#[derive(Debug, Deserialize)]
pub(crate) struct ListWire<T> {
    pub(crate) data: Vec<T>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_voucher_without_customer_is_sent_without_the_customer_object() {
        let request = CreateVoucher {
            network: "efecty".into(),
            reference: "pi_1".into(),
            amount: Amount::new(150_000).unwrap(),
            customer_name: None,
            customer_document: None,
            expires_in_seconds: 3_600,
            test_clock: None,
        };
        let body = serde_json::to_value(CreateCollectionBody::from(&request)).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"network": "efecty", "reference": "pi_1", "amount": 150000,
                "currency": "COP", "expires_in_seconds": 3600})
        );
    }

    #[test]
    fn an_order_without_its_code_is_a_protocol_error() {
        let wire: OrderWire = serde_json::from_value(serde_json::json!({
            "id": "giro_1", "object": "payout", "network": "efecty", "reference": "po_1",
            "status": "available", "amount": 1000, "expires_at": "2026-11-25T15:00:00Z"
        }))
        .unwrap();
        assert!(matches!(wire.into_order(), Err(ConnectError::Protocol(_))));
    }
}
