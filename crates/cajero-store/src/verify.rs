//! `cajero ledger verify`: recompute every account from its transfers and check the books.
//!
//! Checks, over the whole ledger: each account's stored totals (its row plus its buckets, as
//! every reader sees them) equal the totals recomputed from its transfers; each account
//! respects its limit; debits equal credits per currency and mode (posted and pending); every
//! post or void matches its pending transfer; every batch has transfers; every merchant's
//! counted monthly volume (what volume-tiered fees read) equals its posted transfers'.
//! Transfers are read in pages, so memory stays bounded by the number of accounts.

use std::collections::BTreeMap;
use std::fmt;

use cajero_domain::ledger::{AccountKey, Totals, TransferMode};

use sqlx::AssertSqlSafe;

use crate::ledger::get_transfer;
use crate::{Conn, StoreError, fetch};

/// Transfers read per query while verifying.
pub const VERIFY_PAGE_ROWS: i64 = 10_000;

/// One thing wrong with the books.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Stored totals differ from the recomputed ones.
    TotalsMismatch {
        /// The account.
        account: String,
        /// As stored.
        stored: Totals,
        /// As recomputed from transfers.
        recomputed: Totals,
    },
    /// An account breaks its limit.
    LimitBroken {
        /// The account.
        account: String,
        /// Its stored totals.
        totals: Totals,
    },
    /// Debits ≠ credits in one currency and mode.
    Unbalanced {
        /// `COP test`, …
        ledger: String,
        /// Σ debits (posted + pending).
        debits: i128,
        /// Σ credits (posted + pending).
        credits: i128,
    },
    /// A post or void differs from its pending transfer, or names a missing one.
    BadResolution {
        /// The post or void.
        transfer: String,
        /// What is wrong.
        detail: String,
    },
    /// A row that does not parse.
    Unreadable {
        /// Which row.
        row: String,
        /// Why.
        detail: String,
    },
    /// A batch without transfers.
    EmptyBatch {
        /// The batch.
        batch: String,
    },
    /// A merchant's monthly volume (what volume-tiered fees are priced by) differs from its
    /// posted transfers.
    VolumeMismatch {
        /// The merchant (`mer_…`).
        merchant: String,
        /// Live or test.
        livemode: bool,
        /// `currency code month`, e.g. `COP payout 2026-11`.
        volume: String,
        /// As counted.
        stored: i64,
        /// As recomputed from the transfers.
        recomputed: i64,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::TotalsMismatch {
                account,
                stored,
                recomputed,
            } => write!(
                f,
                "{account}: stored totals {stored:?} but its transfers add up to {recomputed:?}"
            ),
            Problem::LimitBroken { account, totals } => {
                write!(f, "{account}: debits exceed credits: {totals:?}")
            }
            Problem::Unbalanced {
                ledger,
                debits,
                credits,
            } => {
                write!(f, "{ledger}: debits {debits} ≠ credits {credits}")
            }
            Problem::BadResolution { transfer, detail } => write!(f, "{transfer}: {detail}"),
            Problem::Unreadable { row, detail } => write!(f, "{row}: unreadable: {detail}"),
            Problem::EmptyBatch { batch } => write!(f, "batch {batch} has no transfers"),
            Problem::VolumeMismatch {
                merchant,
                livemode,
                volume,
                stored,
                recomputed,
            } => {
                let mode = if *livemode { "live" } else { "test" };
                write!(
                    f,
                    "monthly volume {merchant} {mode} {volume}: counted {stored} but its \
                     transfers add up to {recomputed}"
                )
            }
        }
    }
}

/// What the verification saw and found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Accounts checked.
    pub accounts: u64,
    /// Transfers read.
    pub transfers: u64,
    /// Everything wrong; empty when the books are right.
    pub problems: Vec<Problem>,
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct Row {
    id: String,
    debit_account_id: String,
    credit_account_id: String,
    amount: i64,
    mode: String,
    pending_id: Option<String>,
}

/// Verifies the whole ledger (read-only).
pub async fn verify(conn: &mut Conn<'_>) -> Result<Report, StoreError> {
    let mut report = Report::default();
    let mut recomputed: BTreeMap<String, Totals> = BTreeMap::new();
    let mut after = String::new();
    loop {
        let rows = fetch!(
            all,
            conn,
            Row,
            "SELECT id, debit_account_id, credit_account_id, amount, mode, pending_id \
             FROM ledger_transfers WHERE id > $1 ORDER BY id LIMIT $2",
            &after,
            VERIFY_PAGE_ROWS
        )?;
        let Some(last) = rows.last() else { break };
        after = last.id.clone();
        for row in rows {
            report.transfers += 1;
            check_transfer(conn, &row, &mut recomputed, &mut report.problems).await?;
        }
    }
    check_accounts(conn, &recomputed, &mut report).await?;
    let empty = fetch!(
        all,
        conn,
        (String,),
        "SELECT b.id FROM ledger_batches b WHERE NOT EXISTS \
         (SELECT 1 FROM ledger_transfers t WHERE t.batch_id = b.id)"
    )?;
    report.problems.extend(
        empty
            .into_iter()
            .map(|(batch,)| Problem::EmptyBatch { batch }),
    );
    check_monthly_volume(conn, &mut report.problems).await?;
    Ok(report)
}

/// A month's volume that differs from its transfers: merchant, live, currency, code, month,
/// as counted, as recomputed.
type VolumeRow = (String, bool, String, String, String, i64, i64);

/// Compares every merchant's counted monthly volume (`ledger_monthly_volume`, summed over its
/// buckets) with the sums of the posted `payin` and `payout` transfers of its batches, by the
/// batches' Bogotá month (UTC-5, 18,000 s, as migration 0035's trigger computes it). One
/// statement, so both sides are read in one snapshot: a collection committed while the check
/// runs cannot make them differ.
async fn check_monthly_volume(
    conn: &mut Conn<'_>,
    problems: &mut Vec<Problem>,
) -> Result<(), StoreError> {
    let month = match conn {
        Conn::Postgres(_) => {
            "to_char(to_timestamp(b.created_at / 1000000 - 18000) AT TIME ZONE 'UTC', 'YYYY-MM')"
        }
        Conn::Sqlite(_) => "strftime('%Y-%m', b.created_at / 1000000 - 18000, 'unixepoch')",
    };
    let sql = format!(
        "SELECT merchant_id, livemode, currency, code, month, \
         CAST(SUM(counted) AS BIGINT), CAST(SUM(recomputed) AS BIGINT) FROM ( \
         SELECT merchant_id, livemode, currency, code, month, amount AS counted, \
         0 AS recomputed FROM ledger_monthly_volume \
         UNION ALL SELECT b.merchant_id, b.livemode, t.currency, t.code, {month}, 0, t.amount \
         FROM ledger_transfers t JOIN ledger_batches b ON b.id = t.batch_id \
         WHERE t.mode IN ('single', 'post_pending') AND t.code IN ('payin', 'payout') \
         AND b.merchant_id IS NOT NULL) v \
         GROUP BY merchant_id, livemode, currency, code, month \
         HAVING SUM(counted) <> SUM(recomputed) \
         ORDER BY merchant_id, livemode, currency, code, month"
    );
    let differing = fetch!(all, conn, VolumeRow, AssertSqlSafe(sql))?;
    problems.extend(differing.into_iter().map(
        |(merchant, livemode, currency, code, month, stored, recomputed)| Problem::VolumeMismatch {
            merchant,
            livemode,
            volume: format!("{currency} {code} {month}"),
            stored,
            recomputed,
        },
    ));
    Ok(())
}

async fn check_transfer(
    conn: &mut Conn<'_>,
    row: &Row,
    recomputed: &mut BTreeMap<String, Totals>,
    problems: &mut Vec<Problem>,
) -> Result<(), StoreError> {
    let a = row.amount;
    let mut debit = recomputed
        .get(&row.debit_account_id)
        .copied()
        .unwrap_or_default();
    let mut credit = recomputed
        .get(&row.credit_account_id)
        .copied()
        .unwrap_or_default();
    match (row.mode.as_str(), &row.pending_id) {
        ("single", None) => {
            debit.debits_posted += a;
            credit.credits_posted += a;
        }
        ("pending", None) => {
            debit.debits_pending += a;
            credit.credits_pending += a;
        }
        (mode @ ("post_pending" | "void_pending"), Some(pending_id)) => {
            match get_transfer(conn, pending_id).await {
                Ok(Some(p)) => {
                    let matches = p.mode == TransferMode::Pending
                        && p.amount.minor() == a
                        && p.debit.to_string() == row.debit_account_id
                        && p.credit.to_string() == row.credit_account_id;
                    if !matches {
                        problems.push(Problem::BadResolution {
                            transfer: row.id.clone(),
                            detail: format!("does not match pending transfer {pending_id}"),
                        });
                    }
                }
                Ok(None) => problems.push(Problem::BadResolution {
                    transfer: row.id.clone(),
                    detail: format!("names missing pending transfer {pending_id}"),
                }),
                Err(e) => problems.push(Problem::Unreadable {
                    row: pending_id.clone(),
                    detail: e.to_string(),
                }),
            }
            debit.debits_pending -= a;
            credit.credits_pending -= a;
            if mode == "post_pending" {
                debit.debits_posted += a;
                credit.credits_posted += a;
            }
        }
        (mode, _) => problems.push(Problem::Unreadable {
            row: row.id.clone(),
            detail: format!("mode {mode} with pending_id {:?}", row.pending_id),
        }),
    }
    recomputed.insert(row.debit_account_id.clone(), debit);
    recomputed.insert(row.credit_account_id.clone(), credit);
    Ok(())
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct AccountRow {
    id: String,
    debits_pending: i64,
    debits_posted: i64,
    credits_pending: i64,
    credits_posted: i64,
}

async fn check_accounts(
    conn: &mut Conn<'_>,
    recomputed: &BTreeMap<String, Totals>,
    report: &mut Report,
) -> Result<(), StoreError> {
    let rows = fetch!(
        all,
        conn,
        AccountRow,
        "SELECT id, debits_pending, debits_posted, credits_pending, credits_posted \
         FROM ledger_account_totals ORDER BY id"
    )?;
    let mut sums: BTreeMap<String, (i128, i128)> = BTreeMap::new();
    for row in rows {
        report.accounts += 1;
        let stored = Totals {
            debits_pending: row.debits_pending,
            debits_posted: row.debits_posted,
            credits_pending: row.credits_pending,
            credits_posted: row.credits_posted,
        };
        let expected = recomputed.get(&row.id).copied().unwrap_or_default();
        if stored != expected {
            report.problems.push(Problem::TotalsMismatch {
                account: row.id.clone(),
                stored,
                recomputed: expected,
            });
        }
        match row.id.parse::<AccountKey>() {
            Ok(key) => {
                if !stored.within(key.kind.limit()) {
                    report.problems.push(Problem::LimitBroken {
                        account: row.id.clone(),
                        totals: stored,
                    });
                }
                let sum = sums
                    .entry(format!("{} {}", key.currency, key.mode))
                    .or_default();
                sum.0 += i128::from(stored.debits_posted) + i128::from(stored.debits_pending);
                sum.1 += i128::from(stored.credits_posted) + i128::from(stored.credits_pending);
            }
            Err(e) => report.problems.push(Problem::Unreadable {
                row: row.id.clone(),
                detail: e.to_string(),
            }),
        }
    }
    for account in recomputed.keys() {
        let known = fetch!(
            optional,
            conn,
            (String,),
            "SELECT id FROM ledger_accounts WHERE id = $1",
            account
        )?;
        if known.is_none() {
            report.problems.push(Problem::Unreadable {
                row: account.clone(),
                detail: "transfers name an account that does not exist".into(),
            });
        }
    }
    for (ledger, (debits, credits)) in sums {
        if debits != credits {
            report.problems.push(Problem::Unbalanced {
                ledger,
                debits,
                credits,
            });
        }
    }
    Ok(())
}
