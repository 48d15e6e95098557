//! The ledger's storage: the one place that writes accounts and transfers.
//!
//! [`post_batch`] is the only writer. Inside the caller's unit of work it locks every account
//! the batch touches (in id order, so two batches never deadlock), reads their totals, lets
//! [`cajero_domain::ledger::apply`] decide each transfer, and writes the transfers and the new
//! totals. A batch is all or nothing, and a retry of a stored batch answers
//! [`Posted::AlreadyExists`].

use std::collections::{BTreeMap, BTreeSet};

use cajero_domain::id::MerchantId;
use cajero_domain::ledger::{
    self, AccountKey, AccountKind, PendingRecord, PendingState, Totals, Transfer, TransferCode,
    TransferError, TransferMode,
};
use cajero_domain::merchant::Mode;
use cajero_domain::money::{Amount, Currency};
use jiff::Timestamp;
use jiff::civil::Date;
use sqlx::AssertSqlSafe;

use crate::{Conn, Micros, StoreError, execute, fetch};

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

/// Applies a batch inside the caller's unit of work.
pub async fn post_batch(
    conn: &mut Conn<'_>,
    batch: &NewBatch,
    now: Timestamp,
) -> Result<Posted, LedgerError> {
    if batch.transfers.is_empty() || batch.transfers.len() > BATCH_TRANSFERS_MAX {
        return Err(LedgerError::BatchSize);
    }
    let existing = fetch!(
        optional,
        conn,
        (String,),
        "SELECT id FROM ledger_batches WHERE id = $1",
        &batch.id
    )?;
    if existing.is_some() {
        let stored = batch_transfers(conn, &batch.id).await?;
        return if stored == batch.transfers {
            Ok(Posted::AlreadyExists)
        } else {
            Err(LedgerError::BatchExistsWithDifferentFields(
                batch.id.clone(),
            ))
        };
    }
    for t in &batch.transfers {
        ledger::validate(t)?;
        if get_transfer(conn, &t.id).await?.is_some() {
            return Err(TransferError::ExistsWithDifferentFields { id: t.id.clone() }.into());
        }
    }
    let accounts: BTreeSet<&AccountKey> = batch
        .transfers
        .iter()
        .flat_map(|t| [&t.debit, &t.credit])
        .collect();
    let mut totals = lock_accounts(conn, &accounts, now).await?;
    let mut resolved: BTreeMap<String, PendingState> = BTreeMap::new();
    for t in &batch.transfers {
        let record = match &t.mode {
            TransferMode::PostPending(p) | TransferMode::VoidPending(p) => {
                pending_record(conn, p, &resolved).await?
            }
            _ => None,
        };
        let mut debit = totals.get(&t.debit).copied().unwrap_or_default();
        let mut credit = totals.get(&t.credit).copied().unwrap_or_default();
        ledger::apply(t, &mut debit, &mut credit, record.as_ref())?;
        totals.insert(t.debit.clone(), debit);
        totals.insert(t.credit.clone(), credit);
        if let TransferMode::PostPending(p) | TransferMode::VoidPending(p) = &t.mode {
            let state = if matches!(t.mode, TransferMode::PostPending(_)) {
                PendingState::Posted
            } else {
                PendingState::Voided
            };
            resolved.insert(p.clone(), state);
        }
    }
    insert_batch(conn, batch, now).await?;
    for (key, t) in &totals {
        execute!(
            conn,
            "UPDATE ledger_accounts SET debits_pending = $1, debits_posted = $2, \
             credits_pending = $3, credits_posted = $4, updated_at = $5 WHERE id = $6",
            t.debits_pending,
            t.debits_posted,
            t.credits_pending,
            t.credits_posted,
            Micros::from(now).0,
            key.to_string(),
        )?;
    }
    Ok(Posted::Created)
}

async fn insert_batch(
    conn: &mut Conn<'_>,
    batch: &NewBatch,
    now: Timestamp,
) -> Result<(), StoreError> {
    let now_us = Micros::from(now).0;
    execute!(
        conn,
        "INSERT INTO ledger_batches (id, merchant_id, livemode, currency, code, source_id, \
         available_on, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &batch.id,
        batch.merchant_id.map(|m| m.to_string()),
        batch.mode.is_live(),
        batch.currency.code(),
        batch.code.as_str(),
        &batch.source_id,
        batch.available_on.map(|d| d.to_string()),
        now_us,
    )?;
    for (n, t) in batch.transfers.iter().enumerate() {
        let (mode, pending_id) = mode_code(&t.mode);
        // Transfers of one batch keep their order through created_at (microsecond steps).
        let created = now_us + i64::try_from(n).unwrap_or(0);
        execute!(
            conn,
            "INSERT INTO ledger_transfers (id, batch_id, debit_account_id, credit_account_id, \
             amount, currency, livemode, mode, pending_id, code, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &t.id,
            &batch.id,
            t.debit.to_string(),
            t.credit.to_string(),
            t.amount.minor(),
            t.debit.currency.code(),
            t.debit.mode.is_live(),
            mode,
            pending_id,
            t.code.as_str(),
            created,
        )?;
    }
    Ok(())
}

async fn pending_record(
    conn: &mut Conn<'_>,
    id: &str,
    resolved_in_batch: &BTreeMap<String, PendingState>,
) -> Result<Option<PendingRecord>, StoreError> {
    let Some(t) = get_transfer(conn, id).await? else {
        return Ok(None);
    };
    let state = match resolved_in_batch.get(id) {
        Some(state) => *state,
        None => pending_state(conn, id).await?,
    };
    Ok(Some(PendingRecord {
        is_pending: t.mode == TransferMode::Pending,
        debit: t.debit,
        credit: t.credit,
        amount: t.amount,
        state,
    }))
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

/// Creates missing accounts, locks them all in id order (a row lock on PostgreSQL; SQLite's
/// single writer already serializes), and reads their totals.
async fn lock_accounts(
    conn: &mut Conn<'_>,
    accounts: &BTreeSet<&AccountKey>,
    now: Timestamp,
) -> Result<BTreeMap<AccountKey, Totals>, StoreError> {
    let now_us = Micros::from(now).0;
    let mut ordered: Vec<(String, &AccountKey)> =
        accounts.iter().map(|k| (k.to_string(), *k)).collect();
    ordered.sort();
    let mut totals = BTreeMap::new();
    for (id, key) in ordered {
        // Accounts almost always exist: lock and read in one statement, and create only when
        // the row is missing (then lock it the same way).
        if let Some(row) = lock_account(conn, &id).await? {
            totals.insert(key.clone(), row.totals());
            continue;
        }
        let network = match &key.owner {
            ledger::Owner::Network(code) => Some(code.clone()),
            _ => None,
        };
        execute!(
            conn,
            "INSERT INTO ledger_accounts (id, kind, merchant_id, network, livemode, currency, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             ON CONFLICT (id) DO NOTHING",
            &id,
            key.kind.as_str(),
            key.merchant_id().map(|m| m.to_string()),
            network,
            key.mode.is_live(),
            key.currency.code(),
            now_us,
        )?;
        let row = lock_account(conn, &id)
            .await?
            .ok_or_else(|| StoreError::Corrupt {
                table: "ledger_accounts",
                detail: format!("account {id} missing right after its insert"),
            })?;
        totals.insert(key.clone(), row.totals());
    }
    Ok(totals)
}

/// Locks one account row for the rest of the unit of work (a no-op write: PostgreSQL takes its
/// row lock; SQLite's writer is already exclusive) and reads its totals; `None` if missing.
async fn lock_account(conn: &mut Conn<'_>, id: &str) -> Result<Option<TotalsRow>, StoreError> {
    Ok(fetch!(
        optional,
        conn,
        TotalsRow,
        "UPDATE ledger_accounts SET updated_at = updated_at WHERE id = $1 \
         RETURNING id, debits_pending, debits_posted, credits_pending, credits_posted",
        id
    )?)
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
         FROM ledger_accounts WHERE merchant_id = $1 AND livemode = $2 ORDER BY id",
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
         FROM ledger_accounts WHERE id = $1",
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
