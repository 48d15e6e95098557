//! `GET /v1/analytics/success`: the caller's success rates and times ([`crate::analytics`]);
//! this handler only reads the parameters into a [`SuccessQuery`] and renders the report.

use axum::Json;
use axum::extract::State;
use cajero_domain::network;
use jiff::civil::Date;
use serde::Deserialize;

use crate::AppState;
use crate::analytics::{
    self, DateRange, RANGE_DAYS_DEFAULT, RANGE_DAYS_MAX, RangeError, SuccessQuery, SuccessReport,
};
use crate::auth::Caller;
use crate::error::{ApiError, quoted};
use crate::extract::Query;

/// `GET /v1/analytics/success` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SuccessParams {
    /// The first Bogotá day of creation (`YYYY-MM-DD`); default: 29 days before `to`.
    #[param(value_type = Option<String>, format = Date)]
    from: Option<String>,
    /// The last Bogotá day of creation, included (`YYYY-MM-DD`); default: today in Bogotá.
    /// At most 92 days from `from`, both included.
    #[param(value_type = Option<String>, format = Date)]
    to: Option<String>,
    /// One network's orders only (`efecty`, `sured`); default: every network.
    network: Option<String>,
}

/// How the caller's vouchers and pick-up codes created in a range of Bogotá days ended: rates,
/// times to pay and collect, per network, per counter and per day.
#[utoipa::path(
    get,
    path = "/analytics/success",
    operation_id = "retrieve_analytics_success",
    tag = "Analytics",
    summary = "Success rates and times of pay-ins and payouts",
    params(SuccessParams),
    responses(
        (status = 200, description = "OK.", body = SuccessReport),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero failed; retry.", body = crate::error::Body),
    ),
)]
pub async fn success(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<SuccessParams>,
) -> Result<Json<SuccessReport>, ApiError> {
    let query = SuccessQuery {
        merchant: caller.merchant_id,
        mode: caller.mode,
        range: range(&params, analytics::bogota_today(state.clock.now()))?,
        network: match params.network.as_deref() {
            None => None,
            Some(code) => Some(network::spec(code).ok_or_else(|| {
                let known: Vec<&str> = network::ALL.iter().map(|n| n.code).collect();
                bad_param(
                    "network",
                    format!(
                        "network must be one of {}, not {}",
                        known.join(", "),
                        quoted(code)
                    ),
                )
            })?),
        },
    };
    Ok(Json(analytics::success(&state.store, &query).await?))
}

fn bad_param(param: &str, message: String) -> ApiError {
    ApiError::invalid("parameter_invalid", message).with_param(param)
}

/// The days asked for: `to` defaults to `today`, `from` to 29 days before `to`.
fn range(params: &SuccessParams, today: Date) -> Result<DateRange, ApiError> {
    let day = |name: &str, value: &Option<String>| -> Result<Option<Date>, ApiError> {
        value
            .as_deref()
            .map(|text| {
                text.parse::<Date>().map_err(|_| {
                    bad_param(
                        name,
                        format!("{name} must be a date YYYY-MM-DD, not {}", quoted(text)),
                    )
                })
            })
            .transpose()
    };
    let from = day("from", &params.from)?;
    let to = day("to", &params.to)?.unwrap_or(today);
    let range = match from {
        Some(from) => DateRange::new(from, to),
        None => DateRange::ending(to, RANGE_DAYS_DEFAULT),
    };
    range.map_err(|e| match e {
        RangeError::Reversed { .. } => bad_param("from", format!("{e}")),
        RangeError::TooLong { .. } => bad_param(
            "to",
            format!("{e}: ask for at most {RANGE_DAYS_MAX} days at a time"),
        ),
        RangeError::OutOfRange(_) => {
            bad_param(if from.is_some() { "from" } else { "to" }, e.to_string())
        }
    })
}
