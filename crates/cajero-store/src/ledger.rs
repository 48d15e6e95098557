//! The ledger's storage: the one place that writes accounts and transfers.
//!
//! [`post_batch`] is the only writer (see [`post`] for how it keeps account rows unlocked for
//! all but one statement, and how accounts shared by every merchant keep their totals in
//! buckets). A batch is all or nothing, and a retry of a stored batch answers
//! [`Posted::AlreadyExists`]. Every reader of an account's totals reads the
//! `ledger_account_totals` view: the account's row plus its buckets.

use std::collections::BTreeMap;

use cajero_domain::id::MerchantId;
use cajero_domain::ledger::{
    AccountKey, AccountKind, PendingState, Totals, Transfer, TransferCode, TransferError,
    TransferMode,
};
use cajero_domain::merchant::Mode;
use cajero_domain::money::{Amount, Currency};
use jiff::Timestamp;
use jiff::civil::Date;
use sqlx::AssertSqlSafe;

use crate::{Conn, Micros, StoreError, fetch};

pub mod post;

pub use post::{ACCOUNT_BUCKETS, bucket_of, post_batch, resolve_batch};

/// Transfers one batch may hold at most.
pub const BATCH_TRANSFERS_MAX: usize = 32;

/// One business movement: its transfers commit together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBatch {
    /// `txn_…`, chosen by the caller (derive it from the source object, so a retry repeats it).
    pub id: String,
    /// The merchant whose balance it moves, if any.
    pub merchant_id: Option<MerchantId>,
    /// Test or live.
    pub mode: Mode,
    /// The batch's currency (of its merchant-facing transfers).
    pub currency: Currency,
    /// Why the money moves.
    pub code: TransferCode,
    /// The object that caused it.
    pub source_id: Option<String>,
    /// When its money becomes available (pay-ins).
    pub available_on: Option<Date>,
    /// The transfers, applied in order.
    pub transfers: Vec<Transfer>,
}

/// What [`post_batch`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Posted {
    /// The batch is new and was applied.
    Created,
    /// The same batch was stored before: nothing changed.
    AlreadyExists,
}

/// Why a batch was refused.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The ledger's rules refused a transfer.
    #[error(transparent)]
    Transfer(#[from] TransferError),
    /// A batch with this id exists with other transfers.
    #[error("ledger batch {0} already exists with different transfers")]
    BatchExistsWithDifferentFields(String),
    /// Empty or larger than [`BATCH_TRANSFERS_MAX`].
    #[error("a ledger batch holds 1 to {BATCH_TRANSFERS_MAX} transfers")]
    BatchSize,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for LedgerError {
    fn from(value: sqlx::Error) -> Self {
        LedgerError::Store(StoreError::Database(value))
    }
}

fn mode_code(mode: &TransferMode) -> (&'static str, Option<&str>) {
    match mode {
        TransferMode::Single => ("single", None),
        TransferMode::Pending => ("pending", None),
        TransferMode::PostPending(p) => ("post_pending", Some(p)),
        TransferMode::VoidPending(p) => ("void_pending", Some(p)),
    }
}

fn corrupt(detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        table: "ledger_transfers",
        detail: detail.to_string(),
    }
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct TransferRow {
    id: String,
    debit_account_id: String,
    credit_account_id: String,
    amount: i64,
    mode: String,
    pending_id: Option<String>,
    code: String,
}

impl TransferRow {
    fn into_transfer(self) -> Result<Transfer, StoreError> {
        let mode = match (self.mode.as_str(), self.pending_id) {
            ("single", None) => TransferMode::Single,
            ("pending", None) => TransferMode::Pending,
            ("post_pending", Some(p)) => TransferMode::PostPending(p),
            ("void_pending", Some(p)) => TransferMode::VoidPending(p),
            (other, _) => return Err(corrupt(format!("transfer {} has mode {other}", self.id))),
        };
        Ok(Transfer {
            debit: self.debit_account_id.parse().map_err(corrupt)?,
            credit: self.credit_account_id.parse().map_err(corrupt)?,
            amount: Amount::new(self.amount).map_err(corrupt)?,
            code: self.code.parse().map_err(corrupt)?,
            id: self.id,
            mode,
        })
    }
}

const SELECT_TRANSFER: &str = "SELECT id, debit_account_id, credit_account_id, amount, mode, \
                               pending_id, code FROM ledger_transfers";

/// The transfers of a batch, in the order they were applied.
pub async fn batch_transfers(
    conn: &mut Conn<'_>,
    batch_id: &str,
) -> Result<Vec<Transfer>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "{SELECT_TRANSFER} WHERE batch_id = $1 ORDER BY created_at, id"
    ));
    let rows = fetch!(all, conn, TransferRow, sql, batch_id)?;
    rows.into_iter().map(TransferRow::into_transfer).collect()
}

/// One transfer by id.
pub async fn get_transfer(conn: &mut Conn<'_>, id: &str) -> Result<Option<Transfer>, StoreError> {
    let sql = AssertSqlSafe(format!("{SELECT_TRANSFER} WHERE id = $1"));
    let row = fetch!(optional, conn, TransferRow, sql, id)?;
    row.map(TransferRow::into_transfer).transpose()
}

/// What became of a pending transfer.
pub async fn pending_state(conn: &mut Conn<'_>, id: &str) -> Result<PendingState, StoreError> {
    let row = fetch!(
        optional,
        conn,
        (String,),
        "SELECT mode FROM ledger_transfers WHERE pending_id = $1",
        id
    )?;
    Ok(match row.as_ref().map(|(m,)| m.as_str()) {
        None => PendingState::Pending,
        Some("post_pending") => PendingState::Posted,
        Some(_) => PendingState::Voided,
    })
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct TotalsRow {
    id: String,
    debits_pending: i64,
    debits_posted: i64,
    credits_pending: i64,
    credits_posted: i64,
}

impl TotalsRow {
    fn totals(&self) -> Totals {
        Totals {
            debits_pending: self.debits_pending,
            debits_posted: self.debits_posted,
            credits_pending: self.credits_pending,
            credits_posted: self.credits_posted,
        }
    }
}

/// One currency of a merchant's balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MerchantBalance {
    /// The currency.
    pub currency: Currency,
    /// Usable now: posted credits − posted debits − reservations.
    pub available: i64,
    /// Collected, not yet settled.
    pub pending: i64,
    /// Reserved by outstanding payout codes.
    pub reserved: i64,
}

/// A merchant's balances in one mode, one entry per currency it has accounts in.
pub async fn merchant_balances(
    conn: &mut Conn<'_>,
    merchant: MerchantId,
    mode: Mode,
) -> Result<Vec<MerchantBalance>, StoreError> {
    let rows = fetch!(
        all,
        conn,
        TotalsRow,
        "SELECT id, debits_pending, debits_posted, credits_pending, credits_posted \
         FROM ledger_account_totals WHERE merchant_id = $1 AND livemode = $2 ORDER BY id",
        merchant.to_string(),
        mode.is_live(),
    )?;
    let mut by_currency: BTreeMap<Currency, MerchantBalance> = BTreeMap::new();
    for row in rows {
        let key: AccountKey = row.id.parse().map_err(corrupt)?;
        let entry = by_currency.entry(key.currency).or_insert(MerchantBalance {
            currency: key.currency,
            available: 0,
            pending: 0,
            reserved: 0,
        });
        let t = row.totals();
        match key.kind {
            AccountKind::MerchantAvailable => {
                entry.available = t.spendable();
                entry.reserved = t.debits_pending;
            }
            AccountKind::MerchantPending => entry.pending = t.posted_balance(key.kind),
            _ => {}
        }
    }
    Ok(by_currency.into_values().collect())
}

/// The available balance's totals of one merchant account (for tests and checks).
pub async fn account_totals(conn: &mut Conn<'_>, key: &AccountKey) -> Result<Totals, StoreError> {
    let row = fetch!(
        optional,
        conn,
        TotalsRow,
        "SELECT id, debits_pending, debits_posted, credits_pending, credits_posted \
         FROM ledger_account_totals WHERE id = $1",
        key.to_string()
    )?;
    Ok(row.map(|r| r.totals()).unwrap_or_default())
}

/// A stored batch with its transfers (and, for pending transfers, what became of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRecord {
    /// `txn_…`
    pub id: String,
    /// Why money moved.
    pub code: TransferCode,
    /// Its currency.
    pub currency: Currency,
    /// The object that caused it.
    pub source_id: Option<String>,
    /// When its money becomes available.
    pub available_on: Option<Date>,
    /// When it was posted.
    pub created_at: Timestamp,
    /// Its transfers, each with the state of its reservation when it is a pending transfer.
    pub transfers: Vec<(Transfer, Option<PendingState>)>,
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct BatchRow {
    id: String,
    code: String,
    currency: String,
    source_id: Option<String>,
    available_on: Option<String>,
    created_at: i64,
}

const SELECT_BATCH: &str =
    "SELECT id, code, currency, source_id, available_on, created_at FROM ledger_batches";

async fn load_batch(conn: &mut Conn<'_>, row: BatchRow) -> Result<BatchRecord, StoreError> {
    let mut transfers = Vec::new();
    for t in batch_transfers(conn, &row.id).await? {
        let state = if t.mode == TransferMode::Pending {
            Some(pending_state(conn, &t.id).await?)
        } else {
            None
        };
        transfers.push((t, state));
    }
    Ok(BatchRecord {
        code: row.code.parse().map_err(corrupt)?,
        currency: row.currency.parse().map_err(corrupt)?,
        source_id: row.source_id,
        available_on: row
            .available_on
            .map(|d| d.parse::<Date>())
            .transpose()
            .map_err(corrupt)?,
        created_at: Micros(row.created_at).to_timestamp(),
        id: row.id,
        transfers,
    })
}

/// One of a merchant's batches.
pub async fn get_batch(
    conn: &mut Conn<'_>,
    merchant: MerchantId,
    mode: Mode,
    id: &str,
) -> Result<Option<BatchRecord>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "{SELECT_BATCH} WHERE id = $1 AND merchant_id = $2 AND livemode = $3"
    ));
    let row = fetch!(
        optional,
        conn,
        BatchRow,
        sql,
        id,
        merchant.to_string(),
        mode.is_live()
    )?;
    match row {
        Some(row) => Ok(Some(load_batch(conn, row).await?)),
        None => Ok(None),
    }
}

/// A page of a merchant's batches, newest first, optionally of one code. Batches that only
/// post earlier reservations are left out: they change nothing the merchant had not seen.
pub async fn list_batches(
    conn: &mut Conn<'_>,
    merchant: MerchantId,
    mode: Mode,
    code: Option<TransferCode>,
    page: &crate::page::PageRequest,
) -> Result<crate::page::Page<BatchRecord>, StoreError> {
    // In the order they happened: a batch's id carries the time of the object it is for (a
    // payout's release has the payout's), so the key is (created_at, id), and a cursor id
    // stands for its batch's place in that order.
    let (_, order, limit) = page.sql(5);
    let cursor_sql = match page.cursor {
        crate::page::Cursor::Newest => "TRUE",
        crate::page::Cursor::After(_) => {
            "(created_at < (SELECT created_at FROM ledger_batches WHERE id = $5) \
             OR (created_at = (SELECT created_at FROM ledger_batches WHERE id = $5) AND id < $5))"
        }
        crate::page::Cursor::Before(_) => {
            "(created_at > (SELECT created_at FROM ledger_batches WHERE id = $5) \
             OR (created_at = (SELECT created_at FROM ledger_batches WHERE id = $5) AND id > $5))"
        }
    };
    let sql = AssertSqlSafe(format!(
        "{SELECT_BATCH} WHERE merchant_id = $1 AND livemode = $2 \
         AND ($3 = '' OR code = $3) AND {cursor_sql} \
         AND EXISTS (SELECT 1 FROM ledger_transfers t WHERE t.batch_id = ledger_batches.id \
                     AND t.mode <> 'post_pending') \
         ORDER BY created_at {order}, id {order} LIMIT $4"
    ));
    let code = code.map(|c| c.as_str()).unwrap_or("");
    let rows = match page.cursor_id() {
        Some(cursor) => fetch!(
            all,
            conn,
            BatchRow,
            sql,
            merchant.to_string(),
            mode.is_live(),
            code,
            limit,
            cursor
        )?,
        None => fetch!(
            all,
            conn,
            BatchRow,
            sql,
            merchant.to_string(),
            mode.is_live(),
            code,
            limit
        )?,
    };
    let page_rows = page.finish(rows);
    let mut data = Vec::with_capacity(page_rows.data.len());
    for row in page_rows.data {
        data.push(load_batch(conn, row).await?);
    }
    Ok(crate::page::Page {
        data,
        has_more: page_rows.has_more,
    })
}
