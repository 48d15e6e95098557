//! `GET /v1/balance`, `GET /v1/balance_transactions[/{id}]`.

use axum::Json;
use axum::extract::{Path, State};
use cajero_domain::id::TransferId;
use cajero_domain::ledger::TransferCode;
use cajero_domain::money::Currency;
use cajero_store::ledger;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Query;
use crate::funds::{self, BalanceTransaction};
use crate::list::{List, ListParams};

/// One currency's amount in a balance bucket.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BalanceAmount {
    #[schema(schema_with = crate::openapi::currency)]
    currency: Currency,
    /// In the currency's unit.
    amount: i64,
}

/// The `balance` object of API.md.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Balance {
    /// `balance`.
    object: &'static str,
    /// False in test mode.
    livemode: bool,
    /// Usable now: payouts draw on it.
    available: Vec<BalanceAmount>,
    /// Collected, available on its settlement date.
    pending: Vec<BalanceAmount>,
    /// Held for payouts not yet collected.
    reserved: Vec<BalanceAmount>,
}

/// The caller's balance in its mode, from the ledger; COP is always listed.
#[utoipa::path(
    get,
    path = "/balance",
    operation_id = "retrieve_balance",
    tag = "Balance",
    summary = "Retrieve the balance",
    responses(
        (status = 200, description = "OK.", body = Balance),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero or the network failed; retry with the same `Idempotency-Key`.", body = crate::error::Body),
    ),
)]
pub async fn retrieve(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Balance>, ApiError> {
    let (merchant, mode) = (caller.merchant_id, caller.mode);
    let mut balances = state
        .store
        .read(move |mut c| {
            Box::pin(async move { ledger::merchant_balances(&mut c, merchant, mode).await })
        })
        .await?;
    if !balances.iter().any(|b| b.currency == Currency::Cop) {
        balances.insert(
            0,
            ledger::MerchantBalance {
                currency: Currency::Cop,
                available: 0,
                pending: 0,
                reserved: 0,
            },
        );
    }
    let bucket = |f: fn(&ledger::MerchantBalance) -> i64| {
        balances
            .iter()
            .map(|b| BalanceAmount {
                currency: b.currency,
                amount: f(b),
            })
            .collect()
    };
    Ok(Json(Balance {
        object: "balance",
        livemode: mode.is_live(),
        available: bucket(|b| b.available),
        pending: bucket(|b| b.pending),
        reserved: bucket(|b| b.reserved),
    }))
}

/// `GET /v1/balance_transactions` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(flatten)]
    list: ListParams,
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// Lists the caller's balance transactions, newest first.
#[utoipa::path(
    get,
    path = "/balance_transactions",
    operation_id = "list_balance_transactions",
    tag = "Balance",
    summary = "List balance transactions",
    params(
        crate::list::ListParams,
        ("type" = Option<String>, Query, description = "`payin`, `payout`, `payout_reversal`, `refund`, `fee`, `topup`, `settlement` or `adjustment`."),
    ),
    responses(
        (status = 200, description = "OK.", body = crate::list::List<crate::funds::BalanceTransaction>),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero or the network failed; retry with the same `Idempotency-Key`.", body = crate::error::Body),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> Result<Json<List<BalanceTransaction>>, ApiError> {
    let page = query.list.page::<cajero_domain::id::Transfer>()?;
    let code = query
        .kind
        .map(|k| {
            k.parse::<TransferCode>().map_err(|_| {
                ApiError::invalid(
                    "parameter_invalid",
                    format!("unknown type {}", crate::error::quoted(&k)),
                )
                .with_param("type")
            })
        })
        .transpose()?;
    let (merchant, mode) = (caller.merchant_id, caller.mode);
    let batches = state
        .store
        .read(move |mut c| {
            Box::pin(async move { ledger::list_batches(&mut c, merchant, mode, code, &page).await })
        })
        .await?;
    let today = cajero_domain::calendar::bogota_date(state.clock.now());
    Ok(Json(List::from_page(
        "/v1/balance_transactions",
        batches,
        |b| funds::balance_transaction(&b, merchant, mode, today),
    )))
}

/// One balance transaction.
#[utoipa::path(
    get,
    path = "/balance_transactions/{id}",
    operation_id = "retrieve_balance_transaction",
    tag = "Balance",
    summary = "Retrieve a balance transaction",
    params(
        ("id" = String, Path, description = "The balance transaction's id."),
    ),
    responses(
        (status = 200, description = "OK.", body = crate::funds::BalanceTransaction),
        (status = "4XX", description = "Refused: see `error.code` (API.md, Errors).", body = crate::error::Body),
        (status = "5XX", description = "cajero or the network failed; retry with the same `Idempotency-Key`.", body = crate::error::Body),
    ),
)]
pub async fn retrieve_transaction(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<BalanceTransaction>, ApiError> {
    let missing = || {
        ApiError::not_found(format!(
            "No such balance transaction: {}",
            crate::error::quoted(&id)
        ))
    };
    let id: TransferId = id.parse().map_err(|_| missing())?;
    let (merchant, mode) = (caller.merchant_id, caller.mode);
    let key = id.to_string();
    let batch = state
        .store
        .read(move |mut c| {
            Box::pin(async move { ledger::get_batch(&mut c, merchant, mode, &key).await })
        })
        .await?
        .ok_or_else(missing)?;
    let today = cajero_domain::calendar::bogota_date(state.clock.now());
    Ok(Json(funds::balance_transaction(
        &batch, merchant, mode, today,
    )))
}
