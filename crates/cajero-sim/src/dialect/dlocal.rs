//! The dLocal dialect: the simulator's Efecty vouchers spoken as dLocal's Payins API speaks
//! (<https://docs.dlocal.com/reference/payins-security>, `/payments`, `/orders`): requests
//! authenticated by `X-Login`, `X-Trans-Key`, `X-Date` and `Authorization: V2-HMAC-SHA256,
//! Signature: <hex of HMAC-SHA256(secret key, X-Login + X-Date + body)>`; Efecty tickets
//! (`EY`, `DIRECT`) created as ordinary collections; the payment object as the answer and as
//! the notification body, signed the same way; dLocal's status codes and error bodies.
//!
//! Routes (under `/dlocal`): `POST /payments`, `GET /payments/{id}`,
//! `GET /payments/{id}/status`, `POST /payments/{id}/cancel`, `GET /orders/{order_id}`,
//! `POST /refunds` and `GET /refunds/{id}` ([`refunds`]), and
//! `GET /reports/settlement?date=YYYY-MM-DD` (the settlement report dLocal delivers by SFTP
//! or e-mail, served here over HTTP — this path is the simulator's, not dLocal's).
//!
//! Sandbox: a `description` of `200` pays the ticket at once and one of `400` cancels it (the
//! status code in `description`, <https://docs.dlocal.com/reference/payment-status-codes>).

mod handlers;
#[cfg(test)]
mod http_tests;
pub mod refunds;

use std::sync::Arc;

use axum::Router;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Change;
use crate::config::MerchantConfig;
use crate::model::{Order, OrderStatus};
use crate::sim::Sim;

/// A merchant's dLocal credentials at the simulator (`[merchants.dlocal]`).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// `X-Login`.
    pub login: String,
    /// `X-Trans-Key`.
    pub trans_key: String,
    /// The secret key requests and notifications are signed with.
    pub secret_key: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").finish_non_exhaustive()
    }
}

/// dLocal's payment method for Efecty.
pub const EFECTY_METHOD: &str = "EY";
/// The cash network the dialect creates tickets at.
pub const NETWORK: &str = "efecty";
/// The scheme of the `Authorization` header.
pub const SCHEME: &str = "V2-HMAC-SHA256";

/// Lower-case hex of HMAC-SHA256(`secret`, `login` + `x_date` + `body`).
pub fn signature(secret: &str, login: &str, x_date: &str, body: &[u8]) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(login.as_bytes());
    mac.update(x_date.as_bytes());
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `X-Date` as dLocal writes it (`2018-07-12T13:46:28.629Z`).
pub fn x_date(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A date in a payment object, as dLocal writes them (`2020-02-24T02:59:00.000+0000`).
fn payment_date(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

/// dLocal's `status`, `status_code` and `status_detail` for an order's status. An expired
/// ticket is `EXPIRED 500` (dLocal's older reference; the current one lists no expiry code).
pub fn status_of(status: OrderStatus) -> (&'static str, &'static str, &'static str) {
    match status {
        OrderStatus::Pending | OrderStatus::Available | OrderStatus::Locked => {
            ("PENDING", "100", "The payment is pending.")
        }
        OrderStatus::Paid => ("PAID", "200", "The payment was paid."),
        OrderStatus::Canceled => ("CANCELLED", "400", "The payment was cancelled."),
        OrderStatus::Expired => ("EXPIRED", "500", "The payment was expired."),
    }
}

/// The payment object of a ticket (create answer, `GET /payments/{id}`, notification body).
pub fn payment_json(order: &Order) -> Value {
    let (status, code, detail) = status_of(order.status);
    let barcode: Option<String> = order
        .barcode_data
        .as_ref()
        .map(|b| b.chars().filter(char::is_ascii_digit).collect());
    let mut payment = json!({
        "id": order.id,
        "amount": order.amount.minor(),
        "currency": "COP",
        "payment_method_id": EFECTY_METHOD,
        "payment_method_type": "TICKET",
        "payment_method_flow": "DIRECT",
        "country": "CO",
        "ticket": {
            "type": "CUSTOM",
            "format": "Code 128",
            "number": order.code,
            "expiration_date": payment_date(order.expires_at),
            "barcode": barcode,
            "company_name": "Dlocal",
            "provider_name": order.network,
            "amount": order.amount.minor(),
            "currency": "COP",
        },
        "created_date": payment_date(order.created_at),
        "status": status,
        "status_detail": detail,
        "status_code": code,
        "order_id": order.reference,
    });
    if let Some(paid_at) = order.paid_at {
        payment["approved_date"] = json!(payment_date(paid_at));
    }
    if let Some(url) = &order.callback_url {
        payment["notification_url"] = json!(url);
    }
    payment
}

/// The notification dLocal sends for `change`: the whole payment object, on every status
/// change (paid, expired, canceled); nothing for failed counter attempts.
pub fn callback_body(change: &Change<'_>) -> Option<String> {
    match change.suffix {
        "paid" | "expired" | "canceled" => Some(payment_json(change.order).to_string()),
        _ => None,
    }
}

/// The headers dLocal sends a notification with: `X-Date`, `X-Login` and the `Authorization`
/// signature over the merchant's login, that date and the body. A merchant without dLocal
/// credentials gets an unsigned notification (a receiver refuses it).
pub fn callback_headers(
    merchant: &MerchantConfig,
    _id: &str,
    body: &str,
    now: Timestamp,
) -> Vec<(String, String)> {
    let Some(credentials) = &merchant.dlocal else {
        return Vec::new();
    };
    let date = x_date(now);
    let signature = signature(
        &credentials.secret_key,
        &credentials.login,
        &date,
        body.as_bytes(),
    );
    vec![
        ("x-date".into(), date),
        ("x-login".into(), credentials.login.clone()),
        (
            "authorization".into(),
            format!("{SCHEME}, Signature: {signature}"),
        ),
    ]
}

/// dLocal's routes, nested under `/dlocal`.
pub fn routes() -> Router<Arc<Sim>> {
    handlers::routes()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn every_order_status_has_dlocal_s_status_and_code() {
        let cases = [
            (OrderStatus::Pending, ("PENDING", "100")),
            (OrderStatus::Paid, ("PAID", "200")),
            (OrderStatus::Canceled, ("CANCELLED", "400")),
            (OrderStatus::Expired, ("EXPIRED", "500")),
        ];
        for (status, (name, code)) in cases {
            let (got_name, got_code, _) = status_of(status);
            assert_eq!((got_name, got_code), (name, code), "{status:?}");
        }
    }

    #[test]
    fn notifications_are_signed_as_dlocal_signs_them() {
        // Expected value from python3:
        // hmac.new(b'sim-secret', b'sim-login' + b'2026-11-25T15:00:00.000Z'
        //          + b'{"id":"col_1"}', hashlib.sha256).hexdigest()
        let merchant = MerchantConfig {
            dlocal: Some(Credentials {
                login: "sim-login".into(),
                trans_key: "sim-trans-key".into(),
                secret_key: "sim-secret".into(),
            }),
            ..MerchantConfig::demo()
        };
        let now: Timestamp = "2026-11-25T15:00:00Z".parse().unwrap();
        let headers = callback_headers(&merchant, "cb_1", r#"{"id":"col_1"}"#, now);
        let expected = "9cafc59ad0ee7cf833f6dc6cf94475c11ccebdc87b29439fdb029a7e132fb0a3";
        assert_eq!(
            headers,
            vec![
                ("x-date".to_owned(), "2026-11-25T15:00:00.000Z".to_owned()),
                ("x-login".to_owned(), "sim-login".to_owned()),
                (
                    "authorization".to_owned(),
                    format!("V2-HMAC-SHA256, Signature: {expected}")
                ),
            ]
        );
        assert!(callback_headers(&MerchantConfig::demo(), "cb_1", "{}", now).is_empty());
        let shown = format!("{:?}", merchant.dlocal);
        assert!(
            !shown.contains("sim-secret") && !shown.contains("sim-login"),
            "{shown}"
        );
    }
}
