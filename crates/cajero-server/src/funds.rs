//! Balances, top-ups and balance transactions: the merchant's view of the ledger.
//!
//! Nothing here stores a balance: balances are the ledger accounts' totals, and a balance
//! transaction is a ledger batch whose amount, fee and net are added up from its transfers.

use cajero_domain::id::{MerchantId, TopupId, TransferId};
use cajero_domain::ledger::{
    AccountKey, AccountKind, PendingState, Transfer, TransferCode, TransferMode,
};
use cajero_domain::merchant::Mode;
use cajero_domain::money::{Amount, Currency};
use cajero_store::ledger::{self, BatchRecord, LedgerError, NewBatch};
use cajero_store::topups::{self, TopupRecord, TopupStatus};
use cajero_store::{Conn, StoreError};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::ApiError;

/// The largest top-up accepted, in minor units: COP 10,000,000,000 (ten billion pesos) — far
/// above any prefunding seen, low enough to catch a misplaced zero or two.
pub const TOPUP_AMOUNT_MINOR_MAX: i64 = 10_000_000_000;
/// Longest description, in characters.
pub const DESCRIPTION_CHARS_MAX: usize = 500;

/// `POST /v1/topups` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTopup {
    /// In the currency's unit.
    #[schema(schema_with = crate::openapi::topup_amount)]
    pub amount: i64,
    /// `COP` or `USD`.
    #[schema(schema_with = crate::openapi::currency)]
    pub currency: String,
    /// A note for the merchant's records.
    pub description: Option<String>,
}

/// A validated top-up request.
#[derive(Debug, Clone)]
pub struct TopupRequest {
    amount: Amount,
    currency: Currency,
    description: Option<String>,
}

impl CreateTopup {
    /// Parses into domain types, naming the field at fault.
    pub fn parse(self) -> Result<TopupRequest, ApiError> {
        let amount = Amount::new(self.amount)
            .ok()
            .filter(|a| !a.is_zero() && a.minor() <= TOPUP_AMOUNT_MINOR_MAX)
            .ok_or_else(|| {
                ApiError::invalid(
                    "amount_invalid",
                    format!("amount must be between 1 and {TOPUP_AMOUNT_MINOR_MAX}"),
                )
                .with_param("amount")
            })?;
        let currency: Currency =
            self.currency
                .parse()
                .map_err(|e: cajero_domain::money::ParseCurrencyError| {
                    ApiError::invalid("currency_invalid", e.to_string()).with_param("currency")
                })?;
        if let Some(d) = &self.description
            && (d.chars().count() > DESCRIPTION_CHARS_MAX || d.chars().any(char::is_control))
        {
            return Err(ApiError::invalid(
                "description_invalid",
                format!("description is at most {DESCRIPTION_CHARS_MAX} characters, without control characters"),
            )
            .with_param("description"));
        }
        Ok(TopupRequest {
            amount,
            currency,
            description: self.description,
        })
    }
}

/// The ledger batch of a top-up: funding → the merchant's available balance.
fn topup_batch(t: &TopupRecord) -> NewBatch {
    let batch_id = TransferId::derived(t.id, "topup");
    NewBatch {
        id: batch_id.to_string(),
        merchant_id: Some(t.merchant_id),
        mode: t.mode,
        currency: t.currency,
        code: TransferCode::Topup,
        source_id: Some(t.id.to_string()),
        available_on: None,
        transfers: vec![Transfer {
            id: format!("{batch_id}.0"),
            debit: AccountKey::platform(AccountKind::Funding, t.mode, t.currency),
            credit: AccountKey::merchant(
                AccountKind::MerchantAvailable,
                t.merchant_id,
                t.mode,
                t.currency,
            ),
            amount: t.amount,
            mode: TransferMode::Single,
            code: TransferCode::Topup,
        }],
    }
}

fn ledger_error(e: LedgerError) -> ApiError {
    match e {
        LedgerError::Store(s) => ApiError::from(s),
        other => ApiError::internal(format!("ledger refused a top-up: {other}")),
    }
}

/// Creates a top-up inside the caller's unit of work: immediate in test mode, pending until an
/// operator confirms it in live mode.
pub async fn create_topup(
    conn: &mut Conn<'_>,
    merchant: MerchantId,
    mode: Mode,
    id: TopupId,
    request: TopupRequest,
    now: Timestamp,
) -> Result<Value, ApiError> {
    let record = TopupRecord {
        id,
        merchant_id: merchant,
        mode,
        amount: request.amount,
        currency: request.currency,
        status: if mode.is_live() {
            TopupStatus::Pending
        } else {
            TopupStatus::Succeeded
        },
        description: request.description,
        created_at: now,
        updated_at: now,
    };
    topups::insert(conn, &record).await?;
    if record.status == TopupStatus::Succeeded {
        ledger::post_batch(conn, &topup_batch(&record), now)
            .await
            .map_err(ledger_error)?;
    }
    Ok(topup_json(&record))
}

/// Why an operator could not confirm a top-up.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    /// No such top-up.
    #[error("no top-up {0}")]
    Unknown(TopupId),
    /// Canceled top-ups stay canceled.
    #[error("top-up {0} is canceled")]
    Canceled(TopupId),
    /// The ledger or database failed.
    #[error("{0}")]
    Ledger(#[from] LedgerError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Confirms that a live top-up's money arrived: posts it to the balance. Confirming twice is
/// harmless.
pub async fn confirm_topup(
    conn: &mut Conn<'_>,
    id: TopupId,
    now: Timestamp,
) -> Result<TopupRecord, ConfirmError> {
    let mut record = topups::get_any(conn, id)
        .await?
        .ok_or(ConfirmError::Unknown(id))?;
    match record.status {
        TopupStatus::Succeeded => return Ok(record),
        TopupStatus::Canceled => return Err(ConfirmError::Canceled(id)),
        TopupStatus::Pending => {}
    }
    if topups::transition(conn, id, TopupStatus::Pending, TopupStatus::Succeeded, now).await? {
        ledger::post_batch(conn, &topup_batch(&record), now).await?;
    }
    record.status = TopupStatus::Succeeded;
    record.updated_at = now;
    Ok(record)
}

/// The `topup` object.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Topup)]
pub struct TopupView {
    /// `tu_…`.
    #[schema(value_type = String)]
    id: TopupId,
    /// `topup`.
    object: &'static str,
    /// False in test mode.
    livemode: bool,
    /// In the currency's unit.
    #[schema(value_type = i64)]
    amount: Amount,
    #[schema(schema_with = crate::openapi::currency)]
    currency: Currency,
    #[schema(schema_with = crate::openapi::topup_status)]
    status: &'static str,
    /// The merchant's note.
    description: Option<String>,
    /// The balance transaction that credited it, once succeeded.
    balance_transaction: Option<String>,
    #[schema(schema_with = crate::openapi::timestamp)]
    created: String,
    #[schema(schema_with = crate::openapi::timestamp)]
    updated: String,
}

/// The `topup` object.
pub fn topup_view(t: &TopupRecord) -> TopupView {
    let posted = t.status == TopupStatus::Succeeded;
    TopupView {
        id: t.id,
        object: "topup",
        livemode: t.mode.is_live(),
        amount: t.amount,
        currency: t.currency,
        status: t.status.as_str(),
        description: t.description.clone(),
        balance_transaction: posted.then(|| TransferId::derived(t.id, "topup").to_string()),
        created: crate::time::rfc3339(t.created_at),
        updated: crate::time::rfc3339(t.updated_at),
    }
}

/// The `topup` object as JSON (stored replies, events).
pub fn topup_json(t: &TopupRecord) -> Value {
    crate::openapi::to_json(&topup_view(t))
}

/// The `balance_transaction` object.
#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceTransaction {
    /// `txn_…`.
    id: String,
    /// `balance_transaction`.
    object: &'static str,
    /// False in test mode.
    livemode: bool,
    #[serde(rename = "type")]
    #[schema(schema_with = crate::openapi::transfer_code)]
    kind: TransferCode,
    /// Signed: credits to the balance are positive.
    amount: i64,
    /// Fees and their taxes charged.
    fee: i64,
    /// `amount - fee`.
    net: i64,
    #[schema(schema_with = crate::openapi::currency)]
    currency: Currency,
    /// `pending` (reserved, or not yet available) or `available`.
    #[schema(pattern = "^(pending|available)$")]
    status: &'static str,
    #[schema(schema_with = crate::openapi::date)]
    available_on: String,
    /// The object that moved the money (`pi_…`, `po_…`, `tu_…`, `set_…`).
    source: Option<String>,
    #[schema(schema_with = crate::openapi::timestamp)]
    created: String,
}

/// A merchant's view of one batch: the signed amount moved on its balance (credits positive),
/// the fees and taxes charged, and whether the money is usable yet.
pub fn balance_transaction(
    batch: &BatchRecord,
    merchant: MerchantId,
    mode: Mode,
    today: jiff::civil::Date,
) -> BalanceTransaction {
    let mine = |k: &AccountKey| k.merchant_id() == Some(merchant);
    let (mut amount, mut fee, mut reserved) = (0i64, 0i64, false);
    for (t, state) in &batch.transfers {
        let a = t.amount.minor();
        let base = match t.mode {
            TransferMode::Single | TransferMode::Pending => a,
            TransferMode::PostPending(_) => 0,
            TransferMode::VoidPending(_) => -a,
        };
        let signed = if mine(&t.credit) { base } else { 0 } - if mine(&t.debit) { base } else { 0 };
        if batch.code == TransferCode::Settlement {
            if t.credit.kind == AccountKind::MerchantAvailable && mine(&t.credit) {
                amount += a;
            }
        } else if t.code == TransferCode::Fee {
            fee -= signed;
        } else {
            amount += signed;
        }
        reserved |= *state == Some(PendingState::Pending);
    }
    let available_on = batch
        .available_on
        .unwrap_or_else(|| cajero_domain::calendar::bogota_date(batch.created_at));
    let pending = reserved || available_on > today;
    BalanceTransaction {
        id: batch.id.clone(),
        object: "balance_transaction",
        livemode: mode.is_live(),
        kind: batch.code,
        amount,
        fee,
        net: amount - fee,
        currency: batch.currency,
        status: if pending { "pending" } else { "available" },
        available_on: available_on.to_string(),
        source: batch.source_id.clone(),
        created: crate::time::rfc3339(batch.created_at),
    }
}

/// Whose reservation [`resolve_reservation`] posts or voids, and under which codes.
#[derive(Debug, Clone, Copy)]
pub struct Reserved<S: cajero_domain::id::IdKind> {
    /// The object the funds were reserved for (`po_…`, `re_…`): its reservation is the batch
    /// derived from it as `reserve`.
    pub owner: cajero_domain::id::Id<S>,
    /// Its merchant.
    pub merchant: MerchantId,
    /// Test or live.
    pub mode: Mode,
    /// The currency reserved.
    pub currency: Currency,
    /// The batch's code when the money goes (posted).
    pub posted: TransferCode,
    /// The batch's code when the money comes back (voided).
    pub voided: TransferCode,
}

/// Posts (`post`: the money leaves) or voids (it comes back) every pending transfer of a
/// reservation, in one balanced batch derived from the owner (so a repeat is the same batch);
/// nothing when no reservation was made.
pub async fn resolve_reservation<S: cajero_domain::id::IdKind>(
    conn: &mut Conn<'_>,
    reserved: Reserved<S>,
    post: bool,
    now: Timestamp,
) -> Result<(), StoreError> {
    let reserve_id = TransferId::derived(reserved.owner, "reserve").to_string();
    let batch_id = TransferId::derived(reserved.owner, if post { "post" } else { "void" });
    let resolution = NewBatch {
        id: batch_id.to_string(),
        merchant_id: Some(reserved.merchant),
        mode: reserved.mode,
        currency: reserved.currency,
        code: if post {
            reserved.posted
        } else {
            reserved.voided
        },
        source_id: Some(reserved.owner.to_string()),
        available_on: None,
        transfers: Vec::new(),
    };
    // Nothing when nothing was reserved.
    ledger::resolve_batch(conn, &reserve_id, resolution, post, now)
        .await
        .map(|_| ())
        .map_err(|e| match e {
            LedgerError::Store(s) => s,
            other => StoreError::Corrupt {
                table: "ledger",
                detail: other.to_string(),
            },
        })
}
