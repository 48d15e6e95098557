//! PayU's Queries API (`ORDER_DETAIL`, `ORDER_DETAIL_BY_REFERENCE_CODE`, `PING`) and the
//! day's Sales Report.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use cajero_domain::calendar::bogota_date;
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::{Value, json};

use super::payments::extra_parameters;
use super::{
    Caller, Credentials, Proof, Refused, authenticate, local_text, method_by_network, order_number,
    states, success, transaction_id,
};
use crate::dialect::Dialect;
use crate::engine::{SimError, State as Engine};
use crate::model::{Order, OrderKind, OrderStatus};
use crate::sim::Sim;

/// An order as the Queries API shows it.
fn order_json(order: &Order, credentials: &Credentials) -> Value {
    let (state, response_code, status, ..) = states(order.status);
    let method = method_by_network(&order.network).map_or("EFECTY", |m| m.payment_method);
    let value = json!({"TX_VALUE": {"value": order.amount.minor(), "currency": "COP"}});
    json!({
        "id": order_number(order),
        "accountId": credentials.account_id,
        "status": status,
        "referenceCode": order.reference,
        "description": format!("Pago {}", order.reference),
        "language": "es",
        "notifyUrl": order.callback_url,
        "buyer": {
            "fullName": order.party.name,
            "dniNumber": order.party.document.as_ref().map(|d| d.number().to_owned()),
        },
        "transactions": [{
            "id": transaction_id(order),
            "order": null,
            "type": "AUTHORIZATION_AND_CAPTURE",
            "paymentMethod": method,
            "paymentCountry": "CO",
            "transactionResponse": {
                "state": state,
                "responseCode": response_code,
                "pendingReason": (order.status == OrderStatus::Pending).then_some("AWAITING_NOTIFICATION"),
                "operationDate": order.paid_at.unwrap_or(order.updated_at).as_millisecond(),
            },
            "expirationDate": order.expires_at.strftime("%Y-%m-%dT%H:%M:%S").to_string(),
            "extraParameters": extra_parameters(order),
            "additionalValues": value,
        }],
        "additionalValues": value,
    })
}

/// `POST /payu/reports-api/4.0/service.cgi`: `ORDER_DETAIL`, `ORDER_DETAIL_BY_REFERENCE_CODE`,
/// `PING`. No order is a `null` payload (by id) or an empty list (by reference): PayU does
/// not document its answer for an unknown order.
pub(super) async fn handle(State(sim): State<Arc<Sim>>, bytes: Bytes) -> Response {
    query(&sim, &bytes)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn query(sim: &Sim, bytes: &[u8]) -> Result<Response, Refused> {
    let (body, caller) = authenticate(sim, bytes, Proof::LoginAndKey).await?;
    let Caller {
        merchant_id,
        credentials,
    } = caller;
    let command = body
        .get("command")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let payload = match command {
        "PING" => return Ok(success("transactionResponse", Value::Null)),
        "ORDER_DETAIL" => {
            let number = body
                .pointer("/details/orderId")
                .and_then(Value::as_u64)
                .ok_or_else(|| {
                    Refused::error("Invalid request format: details.orderId is required")
                })?;
            sim.run(|state, _| {
                let found = state.all_orders().find(|o| {
                    o.merchant_id == merchant_id
                        && o.dialect == Dialect::Payu
                        && order_number(o) == Some(number)
                });
                match found {
                    Some(o) if state.is_down(&o.network) => Err(Refused::Unavailable),
                    Some(o) => Ok(order_json(o, &credentials)),
                    None => Ok(Value::Null),
                }
            })
            .await??
        }
        "ORDER_DETAIL_BY_REFERENCE_CODE" => {
            let reference = body
                .pointer("/details/referenceCode")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    Refused::error("Invalid request format: details.referenceCode is required")
                })?;
            sim.run(|state, _| {
                let found = match state.order_by_reference(
                    &merchant_id,
                    OrderKind::Collection,
                    reference,
                ) {
                    Ok(o) => Some(o),
                    Err(SimError::NetworkDown { .. }) => return Err(Refused::Unavailable),
                    Err(_) => None,
                };
                let orders: Vec<Value> = found
                    .filter(|o| o.dialect == Dialect::Payu)
                    .map(|o| order_json(o, &credentials))
                    .into_iter()
                    .collect();
                Ok(Value::Array(orders))
            })
            .await??
        }
        other => return Err(Refused::error(format!("Invalid command {other:?}"))),
    };
    Ok(success("result", json!({"payload": payload})))
}

/// The Sales Report of a Bogotá day for a merchant: vouchers paid that day, and vouchers made
/// that day and not paid, with PayU's order statuses.
pub fn sales_report_csv(state: &Engine, merchant_id: &str, date: Date) -> Result<String, String> {
    let mut rows: Vec<(&Order, Timestamp)> = state
        .all_orders()
        .filter(|o| o.merchant_id == merchant_id && o.dialect == Dialect::Payu)
        .filter_map(|o| match o.paid_at {
            Some(paid) => (bogota_date(paid) == date).then_some((o, paid)),
            None => (bogota_date(o.created_at) == date).then_some((o, o.created_at)),
        })
        .collect();
    rows.sort_by(|a, b| (a.1, &a.0.id).cmp(&(b.1, &b.0.id)));
    let mut out = csv::Writer::from_writer(Vec::new());
    let header = [
        "Order",
        "Date",
        "Reference",
        "Buyer",
        "Amount",
        "Payment method",
        "Status",
    ];
    out.write_record(header).map_err(|e| e.to_string())?;
    for (order, at) in rows {
        let (_, _, status, ..) = states(order.status);
        let method = method_by_network(&order.network).map_or("EFECTY", |m| m.payment_method);
        out.write_record([
            order_number(order).unwrap_or_default().to_string(),
            local_text(at),
            order.reference.clone(),
            order.party.name.clone().unwrap_or_default(),
            format!("{}.00", order.amount.minor()),
            method.into(),
            status.into(),
        ])
        .map_err(|e| e.to_string())?;
    }
    let bytes = out.into_inner().map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

/// `POST /payu/reports/sales` `{"command": "SALES_REPORT", "merchant": {…}, "details":
/// {"date": "YYYY-MM-DD"}}`: the merchant's Sales Report of that day as CSV.
pub(super) async fn sales_report(State(sim): State<Arc<Sim>>, bytes: Bytes) -> Response {
    let answer = async {
        let (body, caller) = authenticate(&sim, &bytes, Proof::LoginOnly).await?;
        let date = body
            .pointer("/details/date")
            .and_then(Value::as_str)
            .and_then(|d| d.parse::<Date>().ok())
            .ok_or_else(|| {
                Refused::error("Invalid request format: details.date must be YYYY-MM-DD")
            })?;
        let text = sim
            .run(|state, _| sales_report_csv(state, &caller.merchant_id, date))
            .await?
            .map_err(|_| Refused::Internal)?;
        Ok::<_, Refused>(
            ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], text).into_response(),
        )
    };
    answer.await.unwrap_or_else(IntoResponse::into_response)
}
