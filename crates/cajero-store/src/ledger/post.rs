//! Posting a batch, so that no account row is held for longer than one statement and the
//! commit after it.
//!
//! The ledger decides in memory what each transfer changes ([`ledger::effect`]), from reads
//! that take no lock. Then everything is written, and the accounts that carry a balance limit
//! (a merchant's available and pending balances) come last: each is changed by one conditional
//! `UPDATE` that adds the batch's change and checks the limit in the same statement. Two
//! instances reserving one merchant's balance at once queue on its row for that statement and
//! their commits, not for a transaction of many round trips, and the limit still holds: the
//! second `UPDATE` waits for the first to commit and re-checks against the new totals.
//!
//! Accounts without a limit (a network's payable, fee revenue, IVA, GMF…) are shared by every
//! merchant, so their changes are not written to their row at all but added to one of
//! [`ACCOUNT_BUCKETS`] bucket rows picked from the transfer's id: concurrent payouts of
//! different merchants rarely meet on one. An account's totals are its row's plus its
//! buckets' (the `ledger_account_totals` view, which every reader uses).
//!
//! An account with a limit is changed in its row only by its debits (pending + posted), the
//! terms that can break the limit. The rest goes to its buckets like any shared account's
//! change: credits, pending and posted, and the posting of a reservation (a pending debit
//! becoming posted, which is what every paid payout does; the sum the limit reads is the
//! same). So neither the unit that settles a payout nor a paid pay-in or a top-up crediting a
//! merchant locks the merchant's row. The conditional `UPDATE` compares the row's debits with
//! the row's posted credits plus its buckets' as the statement sees them: posted credits only
//! ever grow, so a credit not yet committed can make the check refuse what it would have
//! allowed a moment later, never allow more than there is.
//!
//! Writing a posted (`single` or `post_pending`) `payin` or `payout` transfer also adds its
//! amount to its merchant's month in `ledger_monthly_volume`, by a trigger in the same
//! statement (migration 0035), for volume-tiered fees. On PostgreSQL that row is one of 16 per
//! merchant, code and month (by `hashtext` of the transfer id, not [`bucket_of`]), held to the
//! commit: two collections of one merchant meet there one time in sixteen.
//!
//! A batch that could break a limit writes under a savepoint: when the limit refuses it, what
//! it wrote is rolled back and the caller's unit of work carries on (a payout refused for its
//! balance is still recorded, as failed). On PostgreSQL a batch with one limited account (a
//! payout's reservation, a refund) is one statement instead: the account's conditional
//! `UPDATE` first, and the batch's rows inserted only from the row it returned, so a refusal
//! writes nothing and no savepoint is needed (three round trips become one; the row is still
//! held from that statement to the commit).

use std::collections::{BTreeMap, BTreeSet};

use cajero_domain::ledger::{
    self, AccountKey, Limit, PendingRecord, PendingState, Totals, Transfer, TransferError,
    TransferMode,
};
use jiff::Timestamp;
use sqlx::AssertSqlSafe;

use super::{LedgerError, NewBatch, Posted, TransferRow, batch_transfers, mode_code};
use crate::sqlite::Query;
use crate::{Conn, Micros, StoreError, execute, fetch};

/// Buckets each account without a limit spreads its changes over: enough that the payouts in
/// flight at once (64 in `cajero bench payouts`) seldom meet on one row, few enough that an
/// account's totals stay a sum of a handful of index entries.
pub const ACCOUNT_BUCKETS: u64 = 16;

/// Marks the start of a batch that a limit may refuse (savepoint names stack on both engines,
/// so a unit of work may post several such batches). It is not released on success: that
/// would cost a round trip while the account row is locked, and it ends with the transaction.
const SAVEPOINT: &str = "SAVEPOINT cajero_ledger_batch";
const ROLLBACK_TO_SAVEPOINT: &str = "ROLLBACK TO SAVEPOINT cajero_ledger_batch";

/// The bucket of a limitless account that `transfer_id`'s change goes to (FNV-1a: stable
/// across versions and instances, which `std`'s hasher does not promise).
pub fn bucket_of(transfer_id: &str) -> i64 {
    const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = transfer_id.bytes().fold(FNV_OFFSET, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(FNV_PRIME)
    });
    // Below ACCOUNT_BUCKETS, so it fits.
    i64::try_from(hash % ACCOUNT_BUCKETS).unwrap_or(0)
}

/// What a batch changes, account by account (keyed by the stored id, the order rows are
/// locked in on every path).
#[derive(Default)]
struct Changes<'b> {
    /// Every account the batch names.
    accounts: BTreeMap<String, &'b AccountKey>,
    /// Changes of an account's limit terms: in place, checked by the statement that changes
    /// them.
    limited: BTreeMap<String, (&'b AccountKey, Totals)>,
    /// Every other change (all of a limitless account's): (account, bucket) → change.
    buckets: BTreeMap<(String, i64), Totals>,
}

/// Applies a batch inside the caller's unit of work.
pub async fn post_batch(
    conn: &mut Conn<'_>,
    batch: &NewBatch,
    now: Timestamp,
) -> Result<Posted, LedgerError> {
    post(conn, batch, None, now).await
}

/// Posts (`post`) or voids every transfer of the pending batch `pending_batch_id` (a
/// reservation) as the batch `resolution`, whose transfers are made here: `{id}.{n}` for the
/// n-th pending transfer, between the same accounts, for the same amount and code. The pending
/// transfers are read once, with what became of each, for both the batch and the ledger's
/// checks ([`post_batch`] would read them again). `None` when that batch has no transfers.
pub async fn resolve_batch(
    conn: &mut Conn<'_>,
    pending_batch_id: &str,
    mut resolution: NewBatch,
    post_them: bool,
    now: Timestamp,
) -> Result<Option<Posted>, LedgerError> {
    let rows: Vec<PendingRow> = fetch!(
        all,
        conn,
        PendingRow,
        AssertSqlSafe(format!(
            "{SELECT_PENDING} WHERE p.batch_id = $1 ORDER BY p.created_at, p.id"
        )),
        pending_batch_id
    )?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut pending = BTreeMap::new();
    resolution.transfers = Vec::with_capacity(rows.len());
    for (n, row) in rows.into_iter().enumerate() {
        let (t, record) = row.into_record()?;
        resolution.transfers.push(Transfer {
            id: format!("{}.{n}", resolution.id),
            mode: if post_them {
                TransferMode::PostPending(t.id.clone())
            } else {
                TransferMode::VoidPending(t.id.clone())
            },
            ..t.clone()
        });
        pending.insert(t.id, record);
    }
    post(conn, &resolution, Some(pending), now).await.map(Some)
}

/// [`post_batch`], with the pending transfers it resolves when the caller read them already.
async fn post(
    conn: &mut Conn<'_>,
    batch: &NewBatch,
    pending: Option<BTreeMap<String, PendingRecord>>,
    now: Timestamp,
) -> Result<Posted, LedgerError> {
    if batch.transfers.is_empty() || batch.transfers.len() > super::BATCH_TRANSFERS_MAX {
        return Err(LedgerError::BatchSize);
    }
    let stored = look(conn, batch).await?;
    if stored.batch {
        return already_posted(conn, batch).await;
    }
    for t in &batch.transfers {
        ledger::validate(t)?;
    }
    // A transfer id taken (by another batch): the smallest is named.
    if let Some(id) = stored.transfers.into_iter().next() {
        return Err(TransferError::ExistsWithDifferentFields { id }.into());
    }
    let pending = match pending {
        Some(pending) => pending,
        None => pending_records(conn, batch).await?,
    };
    let changes = decide(batch, &pending)?;
    ensure_accounts(conn, &changes.accounts, &stored.accounts, now).await?;
    if let (Conn::Postgres(_), Some((id, (key, delta))), 1) =
        (&conn, changes.limited.iter().next(), changes.limited.len())
    {
        let own_credits = changes
            .buckets
            .iter()
            .filter(|((account, _), _)| account == id)
            .try_fold(0_i64, |sum, (_, d)| sum.checked_add(d.credits_posted))
            .ok_or_else(|| TransferError::Overflow {
                id: batch
                    .transfers
                    .first()
                    .map(|t| t.id.clone())
                    .unwrap_or_default(),
            })?;
        let limit = key.kind.limit();
        if !write_batch_with_limited(
            conn,
            batch,
            &changes.buckets,
            id,
            limit,
            delta,
            own_credits,
            now,
        )
        .await?
        {
            return Err(refusal(conn, batch, id, delta).await);
        }
        return Ok(Posted::Created);
    }
    let guarded = changes
        .limited
        .values()
        .any(|(key, delta)| delta.could_break(key.kind.limit()));
    if guarded {
        execute!(conn, SAVEPOINT)?;
    }
    write_batch(conn, batch, &changes.buckets, now).await?;
    for (id, (key, delta)) in &changes.limited {
        if !change_limited(conn, id, key.kind.limit(), delta, now).await? {
            if guarded {
                execute!(conn, ROLLBACK_TO_SAVEPOINT)?;
            }
            return Err(refusal(conn, batch, id, delta).await);
        }
    }
    Ok(Posted::Created)
}

/// What of a batch is stored already, read in one statement before anything is decided.
#[derive(Default)]
struct Stored {
    /// A batch with its id.
    batch: bool,
    /// Which of its transfer ids are taken.
    transfers: BTreeSet<String>,
    /// Which of the accounts it names exist.
    accounts: BTreeSet<String>,
}

/// Reads what of `batch` is stored already: its id, its transfers' ids, its accounts (one
/// statement, no lock).
async fn look(conn: &mut Conn<'_>, batch: &NewBatch) -> Result<Stored, StoreError> {
    let accounts: BTreeSet<String> = batch
        .transfers
        .iter()
        .flat_map(|t| [t.debit.to_string(), t.credit.to_string()])
        .collect();
    let transfers = batch.transfers.len();
    let sql = format!(
        "SELECT 'b' AS what, id FROM ledger_batches WHERE id = $1 \
         UNION ALL SELECT 't', id FROM ledger_transfers WHERE id IN ({}) \
         UNION ALL SELECT 'a', id FROM ledger_accounts WHERE id IN ({})",
        params(2, transfers),
        params(2 + transfers, accounts.len())
    );
    let mut query = Query::new(sql).bind(batch.id.as_str());
    for t in &batch.transfers {
        query = query.bind(t.id.as_str());
    }
    for id in &accounts {
        query = query.bind(id.as_str());
    }
    let rows: Vec<(String, String)> = query.fetch_all(conn).await?;
    let mut stored = Stored::default();
    for (what, id) in rows {
        match what.as_str() {
            "b" => stored.batch = true,
            "t" => {
                stored.transfers.insert(id);
            }
            _ => {
                stored.accounts.insert(id);
            }
        }
    }
    Ok(stored)
}

/// A batch with this id is stored: the same one (nothing to do) or another.
async fn already_posted(conn: &mut Conn<'_>, batch: &NewBatch) -> Result<Posted, LedgerError> {
    let stored = batch_transfers(conn, &batch.id).await?;
    if stored == batch.transfers {
        Ok(Posted::AlreadyExists)
    } else {
        Err(LedgerError::BatchExistsWithDifferentFields(
            batch.id.clone(),
        ))
    }
}

/// `$first, $first+1, …` for `count` parameters.
fn params(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A pending transfer's columns and the mode of the transfer that resolved it, if one did.
const SELECT_PENDING: &str = "SELECT p.id, p.debit_account_id, p.credit_account_id, p.amount, \
    p.mode, p.pending_id, p.code, \
    (SELECT r.mode FROM ledger_transfers r WHERE r.pending_id = p.id) AS resolved_by \
    FROM ledger_transfers p";

#[derive(sqlx::FromRow, serde::Deserialize)]
struct PendingRow {
    #[sqlx(flatten)]
    #[serde(flatten)]
    transfer: TransferRow,
    /// The mode of the transfer that resolved it, if one did.
    resolved_by: Option<String>,
}

/// The pending transfers the batch posts or voids, by id, as stored (one statement).
async fn pending_records(
    conn: &mut Conn<'_>,
    batch: &NewBatch,
) -> Result<BTreeMap<String, PendingRecord>, StoreError> {
    let named: BTreeSet<&str> = batch
        .transfers
        .iter()
        .filter_map(|t| match &t.mode {
            TransferMode::PostPending(p) | TransferMode::VoidPending(p) => Some(p.as_str()),
            _ => None,
        })
        .collect();
    if named.is_empty() {
        return Ok(BTreeMap::new());
    }
    let sql = format!(
        "{SELECT_PENDING} WHERE p.id IN ({})",
        params(1, named.len())
    );
    let rows: Vec<PendingRow> = {
        let mut query = Query::new(sql);
        for id in &named {
            query = query.bind(*id);
        }
        query.fetch_all(conn).await
    }?;
    rows.into_iter()
        .map(|row| {
            let (t, record) = row.into_record()?;
            Ok((t.id, record))
        })
        .collect()
}

impl PendingRow {
    /// The transfer, and what the ledger needs to know of it to post or void it.
    fn into_record(self) -> Result<(Transfer, PendingRecord), StoreError> {
        let state = match self.resolved_by.as_deref() {
            None => PendingState::Pending,
            Some("post_pending") => PendingState::Posted,
            Some(_) => PendingState::Voided,
        };
        let t = self.transfer.into_transfer()?;
        let record = PendingRecord {
            is_pending: t.mode == TransferMode::Pending,
            debit: t.debit.clone(),
            credit: t.credit.clone(),
            amount: t.amount,
            state,
        };
        Ok((t, record))
    }
}

/// What the batch changes, or the ledger's refusal of one of its transfers.
fn decide<'b>(
    batch: &'b NewBatch,
    pending: &BTreeMap<String, PendingRecord>,
) -> Result<Changes<'b>, TransferError> {
    let mut changes = Changes::default();
    // Pending transfers resolved by an earlier transfer of this same batch.
    let mut resolved: BTreeMap<&str, PendingState> = BTreeMap::new();
    for t in &batch.transfers {
        let record = match &t.mode {
            TransferMode::PostPending(p) | TransferMode::VoidPending(p) => {
                pending.get(p).cloned().map(|mut r| {
                    if let Some(state) = resolved.get(p.as_str()) {
                        r.state = *state;
                    }
                    r
                })
            }
            _ => None,
        };
        let effect = ledger::effect(t, record.as_ref())?;
        add(&mut changes, t, &t.debit, &effect.debit)?;
        add(&mut changes, t, &t.credit, &effect.credit)?;
        match &t.mode {
            TransferMode::PostPending(p) => {
                resolved.insert(p, PendingState::Posted);
            }
            TransferMode::VoidPending(p) => {
                resolved.insert(p, PendingState::Voided);
            }
            _ => {}
        }
    }
    Ok(changes)
}

fn add<'b>(
    changes: &mut Changes<'b>,
    t: &Transfer,
    key: &'b AccountKey,
    delta: &Totals,
) -> Result<(), TransferError> {
    let overflow = || TransferError::Overflow { id: t.id.clone() };
    let id = key.to_string();
    changes.accounts.insert(id.clone(), key);
    let (apart, in_row) = delta.split_by_limit(key.kind.limit());
    if apart != Totals::default() {
        let total = changes
            .buckets
            .entry((id.clone(), bucket_of(&t.id)))
            .or_default();
        *total = total.checked_add(&apart).ok_or_else(overflow)?;
    }
    if in_row != Totals::default() {
        let total = &mut changes
            .limited
            .entry(id)
            .or_insert((key, Totals::default()))
            .1;
        *total = total.checked_add(&in_row).ok_or_else(overflow)?;
    }
    Ok(())
}

/// Creates the accounts that do not exist yet (`existing` as [`look`] read them). Which exist
/// is read first, with a plain `SELECT`: an `INSERT … ON CONFLICT DO NOTHING` that meets an existing row another
/// transaction is changing waits for that transaction to end (PostgreSQL must know whether
/// the conflicting version is live), which queued every payout of a merchant on its
/// account's row again.
async fn ensure_accounts(
    conn: &mut Conn<'_>,
    accounts: &BTreeMap<String, &AccountKey>,
    existing: &BTreeSet<String>,
    now: Timestamp,
) -> Result<(), StoreError> {
    let missing: Vec<(&String, &&AccountKey)> = accounts
        .iter()
        .filter(|(id, _)| !existing.contains(*id))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let rows: Vec<String> = (0..missing.len())
        .map(|i| format!("({}, $1, $1)", params(2 + i * 6, 6)))
        .collect();
    let sql = format!(
        "INSERT INTO ledger_accounts (id, kind, merchant_id, network, livemode, currency, \
         created_at, updated_at) VALUES {} ON CONFLICT (id) DO NOTHING",
        rows.join(", ")
    );
    {
        let mut query = Query::new(sql).bind(Micros::from(now).0);
        for (id, key) in &missing {
            let network = match &key.owner {
                ledger::Owner::Network(code) => Some(code.as_str()),
                _ => None,
            };
            query = query
                .bind(*id)
                .bind(key.kind.as_str())
                .bind(key.merchant_id().map(|m| m.to_string()))
                .bind(network)
                .bind(key.mode.is_live())
                .bind(key.currency.code());
        }
        query.execute(conn).await.map(|_| ())
    }?;
    Ok(())
}

/// The columns of a batch's rows, in the order [`BatchRows::bind`] binds them.
const BATCH_COLUMNS: &str = "ledger_batches (id, merchant_id, livemode, currency, code, \
    source_id, available_on, created_at)";
const TRANSFER_COLUMNS: &str = "ledger_transfers (batch_id, id, debit_account_id, \
    credit_account_id, amount, currency, livemode, mode, pending_id, code, created_at)";
const BUCKET_COLUMNS: &str = "ledger_account_buckets (account_id, bucket, debits_pending, \
    debits_posted, credits_pending, credits_posted)";
const BUCKET_CONFLICT: &str = "ON CONFLICT (account_id, bucket) DO UPDATE SET \
    debits_pending = ledger_account_buckets.debits_pending + excluded.debits_pending, \
    debits_posted = ledger_account_buckets.debits_posted + excluded.debits_posted, \
    credits_pending = ledger_account_buckets.credits_pending + excluded.credits_pending, \
    credits_posted = ledger_account_buckets.credits_posted + excluded.credits_posted";

/// The rows a batch writes (itself, its transfers, its changes to buckets) as `VALUES` lists
/// over one numbering of parameters: `$1…$8` the batch (`$8` the time), then ten per
/// transfer, then six per bucket change.
struct BatchRows<'a> {
    batch: &'a NewBatch,
    buckets: &'a BTreeMap<(String, i64), Totals>,
    /// `($1, …, $8)`.
    batch_values: String,
    /// The transfers' rows, comma-separated.
    transfer_values: String,
    /// The bucket changes' rows, comma-separated; `None` when there are none.
    bucket_values: Option<String>,
    /// The first parameter number after the rows'.
    next_param: usize,
}

impl<'a> BatchRows<'a> {
    fn new(batch: &'a NewBatch, buckets: &'a BTreeMap<(String, i64), Totals>) -> BatchRows<'a> {
        let first_transfer = 9;
        let transfer_values = (0..batch.transfers.len())
            .map(|i| format!("($1, {})", params(first_transfer + i * 10, 10)))
            .collect::<Vec<_>>()
            .join(", ");
        let first_bucket = first_transfer + batch.transfers.len() * 10;
        let bucket_values = (!buckets.is_empty()).then(|| {
            (0..buckets.len())
                .map(|i| format!("({})", params(first_bucket + i * 6, 6)))
                .collect::<Vec<_>>()
                .join(", ")
        });
        BatchRows {
            batch,
            buckets,
            batch_values: format!("({})", params(1, 8)),
            transfer_values,
            bucket_values,
            next_param: first_bucket + buckets.len() * 6,
        }
    }

    /// Binds every row's parameters, in their numbering.
    fn bind(&self, mut query: Query, now_us: i64) -> Query {
        let batch = self.batch;
        query = query
            .bind(batch.id.as_str())
            .bind(batch.merchant_id.map(|m| m.to_string()))
            .bind(batch.mode.is_live())
            .bind(batch.currency.code())
            .bind(batch.code.as_str())
            .bind(batch.source_id.clone())
            .bind(batch.available_on.map(|d| d.to_string()))
            .bind(now_us);
        for (n, t) in batch.transfers.iter().enumerate() {
            let (mode, pending_id) = mode_code(&t.mode);
            // Transfers of one batch keep their order through created_at (microsecond steps).
            let created = now_us + i64::try_from(n).unwrap_or(0);
            query = query
                .bind(t.id.as_str())
                .bind(t.debit.to_string())
                .bind(t.credit.to_string())
                .bind(t.amount.minor())
                .bind(t.debit.currency.code())
                .bind(t.debit.mode.is_live())
                .bind(mode)
                .bind(pending_id)
                .bind(t.code.as_str())
                .bind(created);
        }
        for ((account, bucket), d) in self.buckets {
            query = query
                .bind(account.as_str())
                .bind(*bucket)
                .bind(d.debits_pending)
                .bind(d.debits_posted)
                .bind(d.credits_pending)
                .bind(d.credits_posted);
        }
        query
    }
}

/// Writes the batch, its transfers and its changes to buckets: three statements on SQLite (each
/// a few microseconds on the writer's thread), one on PostgreSQL, where every statement is a
/// round trip and the round trip costs more than the statement (the inserts are chained as
/// data-modifying `WITH` clauses; the transfers' foreign key on their batch is checked at the
/// end of the statement, when the batch is there).
async fn write_batch(
    conn: &mut Conn<'_>,
    batch: &NewBatch,
    buckets: &BTreeMap<(String, i64), Totals>,
    now: Timestamp,
) -> Result<(), StoreError> {
    let now_us = Micros::from(now).0;
    let rows = BatchRows::new(batch, buckets);
    let batch_sql = format!("INSERT INTO {BATCH_COLUMNS} VALUES {}", rows.batch_values);
    let transfers_sql = format!(
        "INSERT INTO {TRANSFER_COLUMNS} VALUES {}",
        rows.transfer_values
    );
    let buckets_sql = rows
        .bucket_values
        .as_ref()
        .map(|values| format!("INSERT INTO {BUCKET_COLUMNS} VALUES {values} {BUCKET_CONFLICT}"));
    match conn {
        Conn::Postgres(_) => {
            let sql = match &buckets_sql {
                Some(buckets_sql) => {
                    format!("WITH b AS ({batch_sql}), t AS ({transfers_sql}) {buckets_sql}")
                }
                None => format!("WITH b AS ({batch_sql}) {transfers_sql}"),
            };
            rows.bind(Query::new(sql), now_us).execute(conn).await?;
        }
        Conn::Sqlite(c) => {
            // SQLite binds each statement's `$k` from the whole list: one list for the three.
            let query = rows.bind(Query::new(String::new()), now_us);
            for sql in [Some(batch_sql), Some(transfers_sql), buckets_sql]
                .into_iter()
                .flatten()
            {
                query.execute_text(c, &sql)?;
            }
        }
    }
    Ok(())
}

/// PostgreSQL: the batch and the change of its one limited account `id` in one statement,
/// instead of a savepoint, the batch and the account's `UPDATE` (three round trips, the last
/// one holding the account's row). The account's `UPDATE` comes first in the statement and
/// the batch's rows are inserted only from what it returned, so a batch the limit refuses
/// writes nothing and needs no savepoint to undo. The limit counts the posted credits this
/// same batch gives the account (`own_credits`, in its buckets): the statement does not see
/// its own inserts. `false` when the limit refused it.
#[allow(clippy::too_many_arguments)]
async fn write_batch_with_limited(
    conn: &mut Conn<'_>,
    batch: &NewBatch,
    buckets: &BTreeMap<(String, i64), Totals>,
    id: &str,
    limit: Limit,
    delta: &Totals,
    own_credits: i64,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let now_us = Micros::from(now).0;
    let rows = BatchRows::new(batch, buckets);
    let p = rows.next_param;
    let (dp, dpo, cp, cpo, account, own) = (p, p + 1, p + 2, p + 3, p + 4, p + 5);
    let within_limit = if delta.could_break(limit) {
        format!(
            " AND debits_pending + ${dp} + debits_posted + ${dpo} <= credits_posted + ${cpo} \
             + ${own} + (SELECT COALESCE(SUM(s.credits_posted), 0) \
             FROM ledger_account_buckets s WHERE s.account_id = ${account})"
        )
    } else {
        String::new()
    };
    let mut sql = format!(
        "WITH held AS (UPDATE ledger_accounts SET debits_pending = debits_pending + ${dp}, \
         debits_posted = debits_posted + ${dpo}, credits_pending = credits_pending + ${cp}, \
         credits_posted = credits_posted + ${cpo}, updated_at = $8 \
         WHERE id = ${account}{within_limit} RETURNING id), \
         nb AS (INSERT INTO {BATCH_COLUMNS} SELECT v.* FROM held, (VALUES {}) AS v), \
         nt AS (INSERT INTO {TRANSFER_COLUMNS} SELECT v.* FROM held, (VALUES {}) AS v)",
        rows.batch_values, rows.transfer_values
    );
    if let Some(values) = &rows.bucket_values {
        sql.push_str(&format!(
            ", nk AS (INSERT INTO {BUCKET_COLUMNS} SELECT v.* FROM held, (VALUES {values}) AS v \
             WHERE true {BUCKET_CONFLICT})"
        ));
    }
    sql.push_str(" SELECT id FROM held");
    let held: Option<(String,)> = rows
        .bind(Query::new(sql), now_us)
        .bind(delta.debits_pending)
        .bind(delta.debits_posted)
        .bind(delta.credits_pending)
        .bind(delta.credits_posted)
        .bind(id)
        .bind(own_credits)
        .fetch_optional(conn)
        .await?;
    Ok(held.is_some())
}

/// Adds `delta` to a limited account's row if the result keeps within `limit`, in one
/// statement (on PostgreSQL a concurrent change waits for this one's commit and re-checks).
/// `false` when the limit refused it.
async fn change_limited(
    conn: &mut Conn<'_>,
    id: &str,
    limit: Limit,
    delta: &Totals,
    now: Timestamp,
) -> Result<bool, StoreError> {
    const CHANGE: &str = "UPDATE ledger_accounts SET debits_pending = debits_pending + $1, \
        debits_posted = debits_posted + $2, credits_pending = credits_pending + $3, \
        credits_posted = credits_posted + $4, updated_at = $5 WHERE id = $6";
    const CHANGE_WITHIN_LIMIT: &str = "UPDATE ledger_accounts SET \
        debits_pending = debits_pending + $1, debits_posted = debits_posted + $2, \
        credits_pending = credits_pending + $3, credits_posted = credits_posted + $4, \
        updated_at = $5 WHERE id = $6 \
        AND debits_pending + $1 + debits_posted + $2 <= credits_posted + $4 \
            + (SELECT COALESCE(SUM(b.credits_posted), 0) FROM ledger_account_buckets b \
               WHERE b.account_id = $6)";
    let sql = if delta.could_break(limit) {
        CHANGE_WITHIN_LIMIT
    } else {
        CHANGE
    };
    let changed = execute!(
        conn,
        sql,
        delta.debits_pending,
        delta.debits_posted,
        delta.credits_pending,
        delta.credits_posted,
        Micros::from(now).0,
        id,
    )?;
    Ok(changed == 1)
}

/// The refusal of a batch whose change of account `id` the limit did not allow: the first
/// transfer debiting it, what the batch asked of it, and what it has.
async fn refusal(conn: &mut Conn<'_>, batch: &NewBatch, id: &str, delta: &Totals) -> LedgerError {
    let totals = match fetch!(
        optional,
        conn,
        super::TotalsRow,
        "SELECT id, debits_pending, debits_posted, credits_pending, credits_posted \
         FROM ledger_account_totals WHERE id = $1",
        id
    ) {
        Ok(Some(row)) => row.totals(),
        Ok(None) => {
            return StoreError::Corrupt {
                table: "ledger_accounts",
                detail: format!("account {id} missing right after its insert"),
            }
            .into();
        }
        Err(e) => return StoreError::from(e).into(),
    };
    let transfer = batch
        .transfers
        .iter()
        .find(|t| t.debit.to_string() == id)
        .map(|t| t.id.clone())
        .unwrap_or_default();
    TransferError::ExceedsCredits {
        id: transfer,
        account: id.to_string(),
        spendable: totals.spendable(),
        requested: delta.debits_pending + delta.debits_posted - delta.credits_posted,
    }
    .into()
}
