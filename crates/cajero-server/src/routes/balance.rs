//! `GET /v1/balance`.

use axum::Json;
use cajero_domain::money::Currency;
use serde::Serialize;

use crate::auth::Caller;
use crate::error::ApiError;

/// One currency's amount in a balance bucket.
#[derive(Debug, Serialize)]
pub struct BalanceAmount {
    currency: Currency,
    amount: i64,
}

/// The `balance` object of API.md.
#[derive(Debug, Serialize)]
pub struct Balance {
    object: &'static str,
    livemode: bool,
    available: Vec<BalanceAmount>,
    pending: Vec<BalanceAmount>,
    reserved: Vec<BalanceAmount>,
}

/// The caller's balance in its mode. Until the ledger lands every bucket is zero in COP.
pub async fn retrieve(caller: Caller) -> Result<Json<Balance>, ApiError> {
    let zero = || {
        vec![BalanceAmount {
            currency: Currency::Cop,
            amount: 0,
        }]
    };
    Ok(Json(Balance {
        object: "balance",
        livemode: caller.mode.is_live(),
        available: zero(),
        pending: zero(),
        reserved: zero(),
    }))
}
