//! "Ventanilla": the cashier's page, in Spanish, plain HTML forms that work without
//! JavaScript. It calls the same counter operations as the JSON API.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use cajero_domain::Amount;
use cajero_domain::calendar::bogota;
use serde::Deserialize;

use super::counter::{CollectRequest, CounterAnswer, PayRequest, collect_at, pay_at};
use super::error::ApiError;
use crate::codes::display;
use crate::sim::Sim;

/// One option of the counter selector.
#[derive(Debug)]
struct CounterOption {
    id: String,
    label: String,
}

#[derive(Template)]
#[template(path = "ventanilla.html")]
struct IndexPage {
    now_bogota: String,
    counters: Vec<CounterOption>,
}

#[derive(Template)]
#[template(path = "resultado.html")]
struct ResultPage {
    now_bogota: String,
    title: String,
    approved: bool,
    message: String,
    outcome: String,
    beneficiary_name: Option<String>,
    amount: Option<String>,
    code: Option<String>,
    counter: Option<String>,
    attempt_id: Option<String>,
}

fn render<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "ventanilla template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "error interno").into_response()
        }
    }
}

fn bogota_text(now: jiff::Timestamp) -> String {
    now.to_zoned_datetime(bogota())
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
}

/// Pesos with dots every three digits: `1500000` → `1.500.000`.
pub fn pesos(amount: Amount) -> String {
    let digits = amount.minor().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// `GET /ventanilla`.
pub async fn index(State(sim): State<Arc<Sim>>) -> Result<Response, ApiError> {
    let page = sim
        .run(|state, now| IndexPage {
            now_bogota: bogota_text(now),
            counters: state
                .counters(None, None)
                .into_iter()
                .map(|c| {
                    let open = state
                        .profile(&c.network)
                        .is_ok_and(|p| crate::counters::is_open(p, c, now));
                    CounterOption {
                        id: c.id.clone(),
                        label: format!(
                            "{} · {} · {}{}",
                            c.id,
                            c.city,
                            c.address,
                            if open { "" } else { " (cerrado)" }
                        ),
                    }
                })
                .collect(),
        })
        .await?;
    Ok(render(StatusCode::OK, &page))
}

/// Form of a voucher payment.
#[derive(Debug, Deserialize)]
pub struct PayForm {
    punto: String,
    codigo: String,
    valor: String,
}

/// Form of a payout collection.
#[derive(Debug, Deserialize)]
pub struct CollectForm {
    punto: String,
    codigo: String,
    documento: String,
}

fn result_page(now: String, title: &str, counter_id: &str, answer: &CounterAnswer) -> ResultPage {
    ResultPage {
        now_bogota: now,
        title: title.into(),
        approved: answer.approved,
        message: answer.message.into(),
        outcome: answer.outcome.into(),
        beneficiary_name: answer.beneficiary_name.clone(),
        amount: answer.order.as_ref().map(|o| pesos(o.amount)),
        code: answer.order.as_ref().and_then(|o| {
            o.payment_code
                .as_deref()
                .or(o.pickup_code.as_deref())
                .map(display)
        }),
        counter: Some(counter_id.to_owned()),
        attempt_id: Some(answer.attempt.id.clone()),
    }
}

fn refusal(now: String, title: &str, message: &str) -> Response {
    let page = ResultPage {
        now_bogota: now,
        title: title.into(),
        approved: false,
        message: message.into(),
        outcome: String::new(),
        beneficiary_name: None,
        amount: None,
        code: None,
        counter: None,
        attempt_id: None,
    };
    render(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

async fn now_text(sim: &Sim) -> Result<String, ApiError> {
    Ok(sim.run(|_, now| bogota_text(now)).await?)
}

/// `POST /ventanilla/pagar`.
pub async fn pay(
    State(sim): State<Arc<Sim>>,
    Form(form): Form<PayForm>,
) -> Result<Response, ApiError> {
    const TITLE: &str = "Pago de recibo";
    let digits: String = form.valor.chars().filter(char::is_ascii_digit).collect();
    let amount = digits.parse::<i64>().ok().and_then(|v| Amount::new(v).ok());
    let Some(amount) = amount.filter(|_| !digits.is_empty()) else {
        let now = now_text(&sim).await?;
        return Ok(refusal(
            now,
            TITLE,
            "Escriba el valor en pesos, solo números.",
        ));
    };
    let request = PayRequest {
        counter_id: form.punto.clone(),
        code: form.codigo,
        amount,
    };
    match pay_at(&sim, request).await {
        Ok(answer) => {
            let now = now_text(&sim).await?;
            let status = if answer.approved {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            Ok(render(
                status,
                &result_page(now, TITLE, &form.punto, &answer),
            ))
        }
        Err(ApiError::Sim(crate::engine::SimError::UnknownCounter)) => {
            let now = now_text(&sim).await?;
            Ok(refusal(now, TITLE, "El punto no existe."))
        }
        Err(e) => Err(e),
    }
}

/// `POST /ventanilla/retirar`.
pub async fn collect(
    State(sim): State<Arc<Sim>>,
    Form(form): Form<CollectForm>,
) -> Result<Response, ApiError> {
    const TITLE: &str = "Pago de giro";
    let request = CollectRequest {
        counter_id: form.punto.clone(),
        code: form.codigo,
        document_number: form.documento,
    };
    match collect_at(&sim, request).await {
        Ok(answer) => {
            let now = now_text(&sim).await?;
            let status = if answer.approved {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            Ok(render(
                status,
                &result_page(now, TITLE, &form.punto, &answer),
            ))
        }
        Err(ApiError::Sim(crate::engine::SimError::UnknownCounter)) => {
            let now = now_text(&sim).await?;
            Ok(refusal(now, TITLE, "El punto no existe."))
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pesos_are_grouped_with_dots() {
        let a = |v| Amount::new(v).unwrap_or(Amount::ZERO);
        assert_eq!(pesos(a(0)), "0");
        assert_eq!(pesos(a(999)), "999");
        assert_eq!(pesos(a(1_000)), "1.000");
        assert_eq!(pesos(a(1_500_000)), "1.500.000");
    }
}
