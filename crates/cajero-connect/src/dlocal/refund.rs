//! dLocal refunds of cash pay-ins: `POST /refunds` for a paid payment, paid by dLocal to the
//! customer by bank transfer (<https://docs.dlocal.com/docs/refunds>), and the refund object
//! read back from the answer, from `GET /refunds/{id}` and from the notification dLocal posts
//! to the refund's `notification_url`.
//!
//! - Our refund id goes as `description` (a documented field of the refund object; dLocal
//!   documents no merchant reference of its own for refunds), so the refund can be told apart
//!   at dLocal; a refund is sent once per refund id by the server (a retried request replays
//!   the stored answer).
//! - The refund's `notification_url` is the connector's payment notification URL with
//!   `/refunds` appended: refund notifications arrive apart from payment notifications.
//! - Statuses read through [`REFUND_STATUS_CODES`] (the one table, from
//!   <https://docs.dlocal.com/reference/refund-status-codes>); anything else is
//!   [`RefundStatus::Unrecognized`], never guessed. The error `5012` ("Insufficient funds.",
//!   documented on that page) is refused as `insufficient_funds`; the other errors read
//!   through the payments table.

use cajero_domain::money::Amount;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

use super::DlocalConnector;
use super::transport::{Call, Reply, error_from};
use super::wire::whole_pesos;
use crate::{CallbackError, ConnectError, Exchange, NetworkRefund, RefundRequest, RefundStatus};

/// The path appended to the payment notification URL for refund notifications.
pub const NOTIFICATION_PATH: &str = "refunds";

/// The refund error dLocal documents besides the payments' ones.
pub const INSUFFICIENT_FUNDS: u32 = 5012;

/// One documented refund status code: dLocal's `status`, `status_code`, description, ours.
pub type RefundStatusRow = (&'static str, u16, &'static str, RefundStatus);

/// Every documented refund status (<https://docs.dlocal.com/reference/refund-status-codes>).
/// `CANCELLED` leaves no money with the customer, as `REJECTED`: both are a failed refund.
pub const REFUND_STATUS_CODES: &[RefundStatusRow] = &[
    (
        "PENDING",
        100,
        "The refund is pending.",
        RefundStatus::Pending,
    ),
    (
        "SUCCESS",
        200,
        "The refund was paid.",
        RefundStatus::Succeeded,
    ),
    (
        "REJECTED",
        300,
        "The refund was rejected.",
        RefundStatus::Failed,
    ),
    (
        "CANCELLED",
        400,
        "The refund was cancelled.",
        RefundStatus::Failed,
    ),
];

/// Our status for a refund reported as `status` with `status_code`: the table's when the code
/// is documented with that status, [`RefundStatus::Unrecognized`] otherwise.
pub fn refund_status_of(status_code: &str, status: &str) -> RefundStatus {
    let Ok(code) = status_code.trim().parse::<u16>() else {
        return RefundStatus::Unrecognized;
    };
    REFUND_STATUS_CODES
        .iter()
        .find(|(name, c, _, _)| *c == code && name.eq_ignore_ascii_case(status.trim()))
        .map_or(RefundStatus::Unrecognized, |row| row.3)
}

#[derive(Debug, Serialize)]
struct RefundBody<'a> {
    payment_id: &'a str,
    amount: i64,
    currency: &'static str,
    description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    notification_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    beneficiary_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bank: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bank_account: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bank_account_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bank_branch: Option<&'a str>,
}

/// dLocal's account type for ours: `C` current (checking), `S` savings.
fn account_type(ours: &str) -> Option<&'static str> {
    match ours {
        "checking" | "current" | "C" => Some("C"),
        "savings" | "S" => Some("S"),
        _ => None,
    }
}

/// The body of `POST /refunds`, in COP. Bank details dLocal cannot take are left out (dLocal
/// then asks the buyer by e-mail).
pub fn refund_request(
    request: &RefundRequest,
    notification_url: Option<&str>,
) -> Result<Vec<u8>, ConnectError> {
    let bank = request.bank.as_ref();
    let body = RefundBody {
        payment_id: &request.network_order_id,
        amount: request.amount.minor(),
        currency: "COP",
        description: &request.reference,
        notification_url: notification_url
            .map(|u| format!("{}/{NOTIFICATION_PATH}", u.trim_end_matches('/'))),
        beneficiary_name: bank.and_then(|b| b.beneficiary_name.as_deref()),
        bank: bank.and_then(|b| b.bank.as_deref()),
        bank_account: bank.and_then(|b| b.account.as_deref()),
        bank_account_type: bank.and_then(|b| b.account_type.as_deref().and_then(account_type)),
        bank_branch: bank.and_then(|b| b.branch.as_deref()),
    };
    serde_json::to_vec(&body).map_err(|e| ConnectError::Protocol(format!("request body: {e}")))
}

/// The refund object (what we read of it).
#[derive(Debug, Deserialize)]
struct RefundWire {
    id: String,
    payment_id: String,
    amount: Number,
    currency: Option<String>,
    status: String,
    status_code: Value,
    description: Option<String>,
}

/// A refund object (create answer, `GET /refunds/{id}`, notification) as ours.
pub fn parse_refund(body: &[u8]) -> Result<NetworkRefund, ConnectError> {
    let protocol = |what: String| ConnectError::Protocol(format!("refund: {what}"));
    let wire: RefundWire = serde_json::from_slice(body).map_err(|e| protocol(e.to_string()))?;
    if wire.currency.as_deref().is_some_and(|c| c != "COP") {
        return Err(protocol("currency is not COP".into()));
    }
    let amount = whole_pesos(&wire.amount)
        .and_then(|p| Amount::new(p).ok())
        .ok_or_else(|| protocol(format!("amount {} is not whole pesos", wire.amount)))?;
    let code = match &wire.status_code {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Ok(NetworkRefund {
        status: refund_status_of(&code, &wire.status),
        network_status: format!("{} {code}", wire.status),
        network_refund_id: wire.id,
        reference: wire.description.filter(|d| !d.is_empty()),
        network_order_id: wire.payment_id,
        amount,
    })
}

/// A refund notification body as ours.
pub fn parse_refund_notification(body: &[u8]) -> Result<NetworkRefund, CallbackError> {
    parse_refund(body).map_err(|e| CallbackError::Malformed(e.to_string()))
}

fn refund_from(reply: &Reply) -> Result<NetworkRefund, ConnectError> {
    if matches!(reply.status, 200 | 201) {
        return parse_refund(&reply.body);
    }
    let code = serde_json::from_slice::<Value>(&reply.body)
        .ok()
        .and_then(|v| v.get("code").and_then(Value::as_u64));
    if code == Some(u64::from(INSUFFICIENT_FUNDS)) {
        return Err(ConnectError::Rejected {
            code: "insufficient_funds".into(),
            message: "dLocal: Insufficient funds.".into(),
        });
    }
    Err(error_from(reply, Call::Other))
}

impl DlocalConnector {
    /// `POST /refunds`.
    pub(super) async fn send_refund(&self, request: RefundRequest) -> Exchange<NetworkRefund> {
        let body = match refund_request(&request, self.config.notification_url.as_deref()) {
            Ok(body) => body,
            Err(e) => return Exchange::new(Err(e), Vec::new()),
        };
        let url = self.url(&["refunds"], &[]);
        let (reply, evidence) = self.send(Method::POST, url, body).await;
        let result = reply.and_then(|reply| refund_from(&reply));
        Exchange::new(result, vec![evidence])
    }

    /// `GET /refunds/{id}`.
    pub async fn get_refund(&self, id: &str) -> Exchange<NetworkRefund> {
        let url = self.url(&["refunds", id], &[]);
        let (reply, evidence) = self.send(Method::GET, url, Vec::new()).await;
        let result = reply.and_then(|reply| refund_from(&reply));
        Exchange::new(result, vec![evidence])
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn documented_refund_statuses_map_and_others_are_held() {
        assert_eq!(refund_status_of("100", "PENDING"), RefundStatus::Pending);
        assert_eq!(refund_status_of("200", "SUCCESS"), RefundStatus::Succeeded);
        assert_eq!(refund_status_of("300", "REJECTED"), RefundStatus::Failed);
        assert_eq!(refund_status_of("400", "CANCELLED"), RefundStatus::Failed);
        for (code, status) in [("200", "REJECTED"), ("201", "SUCCESS"), ("", "PAID")] {
            assert_eq!(
                refund_status_of(code, status),
                RefundStatus::Unrecognized,
                "{status} {code}"
            );
        }
    }

    #[test]
    fn the_request_carries_our_reference_and_the_refund_notification_url() {
        let request = RefundRequest {
            reference: "re_1".into(),
            network_order_id: "D-4-1".into(),
            amount: Amount::new(5_000).unwrap(),
            bank: Some(crate::BankDetails {
                account_type: Some("savings".into()),
                account: Some("123".into()),
                ..Default::default()
            }),
        };
        let body = refund_request(&request, Some("https://c.example/callbacks/dlocal")).unwrap();
        let json: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "payment_id": "D-4-1", "amount": 5000, "currency": "COP",
                "description": "re_1",
                "notification_url": "https://c.example/callbacks/dlocal/refunds",
                "bank_account": "123", "bank_account_type": "S",
            })
        );
    }
}
