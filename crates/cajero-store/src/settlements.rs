//! Settlements (`set_…`): which pay-in ledger batches were made available to a merchant, when,
//! for how much, and at what rate.
//!
//! The settlement worker (in the server) finds the due lines with [`due_lines`], posts one
//! ledger batch and records it here with [`insert`], all in one unit of work. The unique
//! `settlement_lines.batch_id` makes settling a pay-in batch twice impossible, even when two
//! workers race; [`lock_merchant`] makes the loser of such a race wait and then find nothing.

use cajero_domain::id::{MerchantId, SettlementId, TestClockId};
use cajero_domain::ledger::settlement::CopPerUsd;
use cajero_domain::ledger::{AccountKey, AccountKind, TransferCode};
use cajero_domain::merchant::Mode;
use cajero_domain::money::{Amount, BasisPoints, Currency};
use jiff::Timestamp;
use jiff::civil::Date;
use sqlx::AssertSqlSafe;

use crate::page::{Page, PageRequest};
use crate::{Conn, Micros, StoreError, execute, fetch};

/// Lines one settlement holds at most; more due batches go into further settlements of the
/// same day, so one statement stays a bounded size.
pub const SETTLEMENT_LINES_MAX: i64 = 2_000;

/// Where a settlement stands. Settlements are recorded when their money moves, so the only
/// state so far is `paid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettlementStatus {
    /// The net is on the merchant's available balance.
    Paid,
}

impl SettlementStatus {
    /// The stored code.
    pub const fn as_str(self) -> &'static str {
        match self {
            SettlementStatus::Paid => "paid",
        }
    }
}

/// The conversion applied to a USD settlement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FxApplied {
    /// The operator's COP per USD rate of the settlement day.
    pub rate: CopPerUsd,
    /// Taken off the rate.
    pub markup: BasisPoints,
}

/// A settlement as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementRecord {
    /// `set_…`
    pub id: SettlementId,
    /// Whose.
    pub merchant_id: MerchantId,
    /// Test or live.
    pub mode: Mode,
    /// The Bogotá business day it ran for.
    pub settlement_date: Date,
    /// Where it stands.
    pub status: SettlementStatus,
    /// Σ collected (COP).
    pub gross: Amount,
    /// Σ fees and taxes charged on the collections (COP).
    pub fees: Amount,
    /// gross − fees (COP).
    pub net: Amount,
    /// What the merchant was paid in.
    pub currency: Currency,
    /// What reached the available balance, in `currency`.
    pub amount: Amount,
    /// The conversion, when settled in USD.
    pub fx: Option<FxApplied>,
    /// How many pay-in batches it covers.
    pub line_count: i64,
    /// The ledger batch that moved the money (none when the net was zero).
    pub ledger_batch_id: Option<String>,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

/// One pay-in ledger batch covered by a settlement.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct SettlementLine {
    /// The pay-in's ledger batch (`txn_…`).
    pub batch_id: String,
    /// The pay-in (`pi_…`).
    pub source_id: Option<String>,
    /// `YYYY-MM-DD`: when it was due.
    pub available_on: String,
    /// Collected (COP).
    pub gross: i64,
    /// Fees and taxes on it (COP).
    pub fees: i64,
    /// gross − fees (COP).
    pub net: i64,
}

fn corrupt(detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        table: "settlements",
        detail: detail.to_string(),
    }
}

/// The merchant's pending (COP) account: what settlement drains.
pub fn pending_account(merchant: MerchantId, mode: Mode) -> AccountKey {
    AccountKey::merchant(AccountKind::MerchantPending, merchant, mode, Currency::Cop)
}

/// Merchants (and modes) with pay-in batches due on or before `today` and not yet settled.
pub async fn due_merchants(
    conn: &mut Conn<'_>,
    today: Date,
    clock: Option<TestClockId>,
    limit: i64,
) -> Result<Vec<(MerchantId, Mode)>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "SELECT DISTINCT b.merchant_id, b.livemode FROM ledger_batches b \
         WHERE b.code = $1 AND b.available_on <= $2 AND b.merchant_id IS NOT NULL \
         AND NOT EXISTS (SELECT 1 FROM settlement_lines l WHERE l.batch_id = b.id) \
         AND {ON_CLOCK} ORDER BY b.merchant_id, b.livemode LIMIT $3"
    ));
    let rows = fetch!(
        all,
        conn,
        (String, bool),
        sql,
        TransferCode::Payin.as_str(),
        today.to_string(),
        limit,
        clock_param(clock),
    )?;
    rows.into_iter()
        .map(|(m, live)| Ok((m.parse().map_err(corrupt)?, Mode::from_livemode(live))))
        .collect()
}

/// Locks the merchant's pending account until the unit of work ends (PostgreSQL; SQLite's
/// single writer serializes anyway), so that concurrent settlement runs take turns and the
/// second sees the first's lines.
pub async fn lock_merchant(
    conn: &mut Conn<'_>,
    merchant: MerchantId,
    mode: Mode,
) -> Result<(), StoreError> {
    execute!(
        conn,
        "UPDATE ledger_accounts SET updated_at = updated_at WHERE id = $1",
        pending_account(merchant, mode).to_string()
    )?;
    Ok(())
}

/// The merchant's unsettled COP pay-in batches due on or before `today`, oldest first, at
/// most `limit`, each with what it put on the pending balance.
pub async fn due_lines(
    conn: &mut Conn<'_>,
    merchant: MerchantId,
    mode: Mode,
    today: Date,
    clock: Option<TestClockId>,
    limit: i64,
) -> Result<Vec<SettlementLine>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "SELECT b.id AS batch_id, b.source_id, b.available_on, \
         CAST(COALESCE(SUM(CASE WHEN t.credit_account_id = $3 THEN t.amount ELSE 0 END), 0) \
              AS BIGINT) AS gross, \
         CAST(COALESCE(SUM(CASE WHEN t.debit_account_id = $3 THEN t.amount ELSE 0 END), 0) \
              AS BIGINT) AS fees, \
         CAST(COALESCE(SUM(CASE WHEN t.credit_account_id = $3 THEN t.amount \
                                WHEN t.debit_account_id = $3 THEN -t.amount ELSE 0 END), 0) \
              AS BIGINT) AS net \
         FROM ledger_batches b JOIN ledger_transfers t ON t.batch_id = b.id \
         WHERE b.merchant_id = $1 AND b.livemode = $2 AND b.code = $4 AND b.currency = $5 \
         AND b.available_on <= $6 AND t.mode = 'single' \
         AND NOT EXISTS (SELECT 1 FROM settlement_lines l WHERE l.batch_id = b.id) \
         AND {} \
         GROUP BY b.id, b.source_id, b.available_on ORDER BY b.id LIMIT $7",
        ON_CLOCK.replace("$4", "$8")
    ));
    fetch!(
        all,
        conn,
        SettlementLine,
        sql,
        merchant.to_string(),
        mode.is_live(),
        pending_account(merchant, mode).to_string(),
        TransferCode::Payin.as_str(),
        Currency::Cop.code(),
        today.to_string(),
        limit,
        clock_param(clock),
    )
    .map_err(StoreError::from)
}

/// Which pay-in batches a settlement run covers (`$4` is [`clock_param`]): with no clock, those
/// of pay-ins on real time, or on a test clock since deleted (they fall back to real time, so
/// nothing stays pending forever); with a test clock, only those of its pay-ins, settled when
/// their date comes on that clock (`crate::test_clocks` of the server).
const ON_CLOCK: &str = "(($4 = '' AND NOT EXISTS (SELECT 1 FROM payins p \
     JOIN test_clocks c ON c.id = p.test_clock \
     WHERE p.id = b.source_id AND c.deleted_at IS NULL)) \
     OR ($4 <> '' AND EXISTS (SELECT 1 FROM payins p \
     WHERE p.id = b.source_id AND p.test_clock = $4)))";

fn clock_param(clock: Option<TestClockId>) -> String {
    clock.map(|c| c.to_string()).unwrap_or_default()
}

/// Records a settlement and its lines. A pay-in batch already settled, or the same settlement
/// id, is a unique violation ([`StoreError::is_unique_violation`]).
pub async fn insert(
    conn: &mut Conn<'_>,
    s: &SettlementRecord,
    lines: &[SettlementLine],
) -> Result<(), StoreError> {
    let rate =
        s.fx.map(|fx| i64::try_from(fx.rate.micros()))
            .transpose()
            .map_err(corrupt)?;
    execute!(
        conn,
        "INSERT INTO settlements (id, merchant_id, livemode, settlement_date, status, gross, \
         fees, net, currency, amount, fx_rate_micros, fx_markup_bps, line_count, \
         ledger_batch_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        s.id.to_string(),
        s.merchant_id.to_string(),
        s.mode.is_live(),
        s.settlement_date.to_string(),
        s.status.as_str(),
        s.gross.minor(),
        s.fees.minor(),
        s.net.minor(),
        s.currency.code(),
        s.amount.minor(),
        rate,
        s.fx.map(|fx| i64::from(fx.markup.get())),
        s.line_count,
        &s.ledger_batch_id,
        Micros::from(s.created_at).0,
        Micros::from(s.updated_at).0,
    )?;
    for l in lines {
        execute!(
            conn,
            "INSERT INTO settlement_lines (settlement_id, batch_id, source_id, available_on, \
             gross, fees, net) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            s.id.to_string(),
            &l.batch_id,
            &l.source_id,
            &l.available_on,
            l.gross,
            l.fees,
            l.net,
        )?;
    }
    Ok(())
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct Row {
    id: String,
    merchant_id: String,
    livemode: bool,
    settlement_date: String,
    status: String,
    gross: i64,
    fees: i64,
    net: i64,
    currency: String,
    amount: i64,
    fx_rate_micros: Option<i64>,
    fx_markup_bps: Option<i64>,
    line_count: i64,
    ledger_batch_id: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<Row> for SettlementRecord {
    type Error = StoreError;

    fn try_from(r: Row) -> Result<Self, StoreError> {
        let amount = |v: i64| Amount::new(v).map_err(corrupt);
        let fx = match (r.fx_rate_micros, r.fx_markup_bps) {
            (Some(rate), Some(markup)) => Some(FxApplied {
                rate: u64::try_from(rate)
                    .map_err(corrupt)
                    .and_then(|m| CopPerUsd::from_micros(m).map_err(corrupt))?,
                markup: u32::try_from(markup)
                    .map_err(corrupt)
                    .and_then(|b| BasisPoints::new(b).map_err(corrupt))?,
            }),
            (None, None) => None,
            _ => return Err(corrupt(format!("{}: half an FX record", r.id))),
        };
        if r.status != SettlementStatus::Paid.as_str() {
            return Err(corrupt(format!("{}: status {}", r.id, r.status)));
        }
        Ok(SettlementRecord {
            id: r.id.parse().map_err(corrupt)?,
            merchant_id: r.merchant_id.parse().map_err(corrupt)?,
            mode: Mode::from_livemode(r.livemode),
            settlement_date: r.settlement_date.parse().map_err(corrupt)?,
            status: SettlementStatus::Paid,
            gross: amount(r.gross)?,
            fees: amount(r.fees)?,
            net: amount(r.net)?,
            currency: r.currency.parse().map_err(corrupt)?,
            amount: amount(r.amount)?,
            fx,
            line_count: r.line_count,
            ledger_batch_id: r.ledger_batch_id,
            created_at: Micros(r.created_at).to_timestamp(),
            updated_at: Micros(r.updated_at).to_timestamp(),
        })
    }
}

const SELECT: &str = "SELECT id, merchant_id, livemode, settlement_date, status, gross, fees, \
                      net, currency, amount, fx_rate_micros, fx_markup_bps, line_count, \
                      ledger_batch_id, created_at, updated_at FROM settlements";

/// A merchant's settlement (`None` for another merchant's or mode's).
pub async fn get(
    conn: &mut Conn<'_>,
    merchant: MerchantId,
    mode: Mode,
    id: SettlementId,
) -> Result<Option<SettlementRecord>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "{SELECT} WHERE id = $1 AND merchant_id = $2 AND livemode = $3"
    ));
    let row = fetch!(
        optional,
        conn,
        Row,
        sql,
        id.to_string(),
        merchant.to_string(),
        mode.is_live()
    )?;
    row.map(SettlementRecord::try_from).transpose()
}

/// The lines of a settlement the caller already loaded (so already scoped), by batch id.
pub async fn lines(
    conn: &mut Conn<'_>,
    settlement: &SettlementRecord,
) -> Result<Vec<SettlementLine>, StoreError> {
    fetch!(
        all,
        conn,
        SettlementLine,
        "SELECT batch_id, source_id, available_on, gross, fees, net FROM settlement_lines \
         WHERE settlement_id = $1 ORDER BY batch_id",
        settlement.id.to_string()
    )
    .map_err(StoreError::from)
}

/// A page of a merchant's settlements, newest first.
pub async fn list(
    conn: &mut Conn<'_>,
    merchant: MerchantId,
    mode: Mode,
    page: &PageRequest,
) -> Result<Page<SettlementRecord>, StoreError> {
    let (cursor_sql, order, limit) = page.sql(4);
    let sql = AssertSqlSafe(format!(
        "{SELECT} WHERE merchant_id = $1 AND livemode = $2 AND {cursor_sql} \
         ORDER BY id {order} LIMIT $3"
    ));
    let rows = match page.cursor_id() {
        Some(c) => fetch!(
            all,
            conn,
            Row,
            sql,
            merchant.to_string(),
            mode.is_live(),
            limit,
            c
        )?,
        None => fetch!(
            all,
            conn,
            Row,
            sql,
            merchant.to_string(),
            mode.is_live(),
            limit
        )?,
    };
    let page = page.finish(rows);
    Ok(Page {
        data: page
            .data
            .into_iter()
            .map(SettlementRecord::try_from)
            .collect::<Result<_, _>>()?,
        has_more: page.has_more,
    })
}
