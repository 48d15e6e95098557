//! PayU's Payments API: `SUBMIT_TRANSACTION` for cash, and `PING`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cajero_domain::{Amount, Document, DocumentType};
use jiff::Timestamp;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use super::{
    Caller, Credentials, Method, Proof, Refused, VALIDITY_DAYS_DEFAULT, authenticate, md5_hex,
    method_by_name, method_by_network, order_number, states, success, transaction_id,
};
use crate::dialect::Dialect;
use crate::engine::{CreateCollection, PartyInput, SimError, State as Engine};
use crate::model::{Order, OrderKind, OrderStatus};
use crate::sim::Sim;

/// `POST /payu/payments-api/4.0/service.cgi`.
pub(super) async fn handle(State(sim): State<Arc<Sim>>, bytes: Bytes) -> Response {
    let answer = async {
        let (body, caller) = authenticate(&sim, &bytes, Proof::LoginAndKey).await?;
        match body.get("command").and_then(Value::as_str) {
            Some("PING") => Ok(success("transactionResponse", Value::Null)),
            Some("SUBMIT_TRANSACTION") => submit(&sim, &caller, &body).await,
            other => Err(Refused::error(format!("Invalid command {other:?}"))),
        }
    };
    answer.await.unwrap_or_else(IntoResponse::into_response)
}

/// A create as the engine takes it, or PayU's refusal.
struct Submit {
    request: CreateCollection,
    /// `None`: PayU's default (7 days).
    expires_at: Option<Timestamp>,
}

/// The text of the field at `pointer` (a string, or a number as written), PayU's refusal when
/// it is missing.
fn text(body: &Value, pointer: &str) -> Result<String, String> {
    body.pointer(pointer)
        .and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            format!(
                "Invalid request format: {} is required",
                pointer.trim_start_matches('/').replace('/', ".")
            )
        })
}

const ORDER: &str = "/transaction/order";

/// The order is the merchant's account's and signed with its key:
/// `md5(apiKey~merchantId~referenceCode~value~currency)`, `value` as written.
fn check_signature(credentials: &Credentials, body: &Value) -> Result<(), String> {
    if text(body, &format!("{ORDER}/accountId"))? != credentials.account_id {
        return Err("The account does not belong to the merchant".into());
    }
    let expected = md5_hex(&format!(
        "{}~{}~{}~{}~{}",
        credentials.api_key,
        credentials.merchant_id,
        text(body, &format!("{ORDER}/referenceCode"))?,
        text(body, &format!("{ORDER}/additionalValues/TX_VALUE/value"))?,
        text(body, &format!("{ORDER}/additionalValues/TX_VALUE/currency"))?,
    ));
    let signature = text(body, &format!("{ORDER}/signature"))?.to_ascii_lowercase();
    if bool::from(expected.as_bytes().ct_eq(signature.as_bytes())) {
        Ok(())
    } else {
        Err("Invalid signature".into())
    }
}

/// The cash method and the amount, within PayU's limits for it.
fn method_and_amount(body: &Value) -> Result<(&'static Method, Amount), String> {
    let currency = text(body, &format!("{ORDER}/additionalValues/TX_VALUE/currency"))?;
    if currency != "COP" {
        return Err(format!(
            "Currency {currency} is not valid for the payment method"
        ));
    }
    if text(body, "/transaction/type")? != "AUTHORIZATION_AND_CAPTURE" {
        return Err("Cash payments take transaction type AUTHORIZATION_AND_CAPTURE only".into());
    }
    if text(body, "/transaction/paymentCountry")? != "CO" {
        return Err("Invalid paymentCountry".into());
    }
    let payment_method = text(body, "/transaction/paymentMethod")?;
    let method = method_by_name(&payment_method)
        .ok_or_else(|| format!("The payment method {payment_method} is not available"))?;
    let value = text(body, &format!("{ORDER}/additionalValues/TX_VALUE/value"))?;
    let amount = value
        .parse::<i64>()
        .ok()
        .and_then(|v| Amount::new(v).ok())
        .ok_or_else(|| format!("Invalid TX_VALUE {value}"))?;
    if amount.minor() < method.amount_min || amount.minor() > method.amount_max {
        return Err(format!(
            "The value {} is outside the limits of {} ({} - {} COP)",
            amount.minor(),
            method.payment_method,
            method.amount_min,
            method.amount_max
        ));
    }
    Ok((method, amount))
}

/// The buyer's (else the payer's) name and document.
fn customer(body: &Value) -> Result<PartyInput, String> {
    let name = text(body, &format!("{ORDER}/buyer/fullName"))
        .or_else(|_| text(body, "/transaction/payer/fullName"))?;
    let number = text(body, &format!("{ORDER}/buyer/dniNumber"))
        .or_else(|_| text(body, "/transaction/payer/dniNumber"))?;
    let kind = match body
        .pointer("/transaction/payer/dniType")
        .and_then(Value::as_str)
    {
        None | Some("CC") => DocumentType::Cc,
        Some("CE") => DocumentType::Ce,
        Some("TI") => DocumentType::Ti,
        Some("NIT") => DocumentType::Nit,
        Some("PP") => DocumentType::Pa,
        Some(other) => return Err(format!("Invalid dniType {other}")),
    };
    let document = Document::parse(kind, &number).map_err(|e| format!("Invalid dniNumber: {e}"))?;
    Ok(PartyInput {
        name: Some(name),
        document: Some(document),
    })
}

/// `expirationDate` (`YYYY-MM-DDTHH:MM:SS[.sss]`, UTC), if given.
fn expiration(body: &Value) -> Result<Option<Timestamp>, String> {
    let Some(date) = body
        .pointer("/transaction/expirationDate")
        .and_then(Value::as_str)
    else {
        return Ok(None);
    };
    let civil: jiff::civil::DateTime = date
        .parse()
        .map_err(|_| format!("Invalid expirationDate {date}: expected YYYY-MM-DDTHH:MM:SS"))?;
    jiff::tz::TimeZone::UTC
        .to_timestamp(civil)
        .map(Some)
        .map_err(|_| format!("Invalid expirationDate {date}"))
}

/// A `SUBMIT_TRANSACTION` for cash as the engine's create, or PayU's refusal.
fn read_submit(credentials: &Credentials, body: &Value) -> Result<Submit, String> {
    check_signature(credentials, body)?;
    let (method, amount) = method_and_amount(body)?;
    Ok(Submit {
        request: CreateCollection {
            network: Some(method.network.into()),
            reference: text(body, &format!("{ORDER}/referenceCode"))?,
            amount,
            currency: Some("COP".into()),
            customer: Some(customer(body)?),
            expires_in_seconds: None,
            callback_url: body
                .pointer(&format!("{ORDER}/notifyUrl"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            test_clock: None,
            dialect: Dialect::Payu,
        },
        expires_at: expiration(body)?,
    })
}

/// The validity PayU gives: the requested expiry when it is within the default, else the
/// default; `Err` for an expiry already past.
fn validity_seconds(expires_at: Option<Timestamp>, now: Timestamp) -> Result<i64, String> {
    let default = VALIDITY_DAYS_DEFAULT * 24 * 3_600;
    match expires_at {
        None => Ok(default),
        Some(at) => {
            let seconds = at.duration_since(now).as_secs();
            if seconds <= 0 {
                Err("The expirationDate must be later than the current date".into())
            } else {
                Ok(seconds.min(default))
            }
        }
    }
}

/// Creates (or finds, for a repeated `referenceCode` with the same amount and method) the
/// voucher.
fn create_or_find(
    state: &mut Engine,
    merchant_id: &str,
    submit: Submit,
    now: Timestamp,
) -> Result<Order, Refused> {
    if let Ok(existing) = state.order_by_reference(
        merchant_id,
        OrderKind::Collection,
        &submit.request.reference,
    ) {
        let same = existing.amount == submit.request.amount
            && Some(&existing.network) == submit.request.network.as_ref()
            && existing.dialect == Dialect::Payu;
        return if same {
            Ok(existing.clone())
        } else {
            Err(Refused::Error(format!(
                "The referenceCode {} is already used by another order",
                submit.request.reference
            )))
        };
    }
    let mut request = submit.request;
    request.expires_in_seconds =
        Some(validity_seconds(submit.expires_at, now).map_err(Refused::Error)?);
    state
        .create_collection(merchant_id, request, now)
        .map(|created| created.order)
        .map_err(|e| match e {
            SimError::NetworkUnavailable | SimError::NetworkDown { .. } => Refused::Unavailable,
            other => Refused::Error(other.to_string()),
        })
}

/// A create with the create fault knobs of `/v1`: refused as down before anything is made, or
/// made and then hung past the client's patience (504).
async fn submit(sim: &Sim, caller: &Caller, body: &Value) -> Result<Response, Refused> {
    let submit = read_submit(&caller.credentials, body).map_err(Refused::Error)?;
    let (down, hang, timeout_ms) = sim
        .run(|state, _| {
            let faults = state.faults();
            (
                state.chance(faults.create_unavailable_bps),
                state.chance(faults.create_timeout_bps),
                faults.timeout_ms,
            )
        })
        .await?;
    if down {
        return Err(Refused::Unavailable);
    }
    let order = sim
        .run(|state, now| create_or_find(state, &caller.merchant_id, submit, now))
        .await??;
    if hang {
        tokio::time::sleep(Duration::from_millis(timeout_ms)).await;
        return Ok((StatusCode::GATEWAY_TIMEOUT, "timeout").into_response());
    }
    Ok(success("transactionResponse", transaction_response(&order)))
}

/// `transactionResponse` of a create, in the documented shape.
fn transaction_response(order: &Order) -> Value {
    let (state, response_code, ..) = states(order.status);
    let method = method_by_network(&order.network).map_or("EFECTY", |m| m.payment_method);
    json!({
        "orderId": order_number(order),
        "transactionId": transaction_id(order),
        "state": state,
        "paymentNetworkResponseCode": null,
        "paymentNetworkResponseErrorMessage": null,
        "trazabilityCode": transaction_id(order),
        "authorizationCode": null,
        "pendingReason": (order.status == OrderStatus::Pending).then_some("AWAITING_NOTIFICATION"),
        "responseCode": response_code,
        "errorCode": null,
        "responseMessage": null,
        "transactionDate": null,
        "transactionTime": null,
        "operationDate": order.created_at.as_millisecond(),
        "referenceQuestionnaire": null,
        "extraParameters": extra_parameters(order),
        "additionalInfo": {
            "paymentNetwork": method,
            "rejectionType": "NONE",
            "responseNetworkMessage": null,
            "travelAgencyAuthorizationCode": null,
            "cardType": null,
            "transactionType": "AUTHORIZATION_AND_CAPTURE",
        },
    })
}

pub(super) fn extra_parameters(order: &Order) -> Value {
    json!({
        "EXPIRATION_DATE": order.expires_at.as_millisecond(),
        "REFERENCE": order.code,
        "BAR_CODE": order.barcode_data,
        "URL_PAYMENT_RECEIPT_HTML": format!("/ventanilla?code={}", order.code),
        "URL_PAYMENT_RECEIPT_PDF": format!("/ventanilla?code={}", order.code),
    })
}
