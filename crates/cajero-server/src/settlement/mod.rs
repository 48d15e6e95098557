//! Settlement: collected pay-ins become available to merchants on the Colombian business
//! calendar (T+N, see `cajero_domain::ledger::settlement`), in COP or in USD at the operator's
//! rate of the day less the merchant's markup.
//!
//! [`run_once`] is one step of the worker and a pure function of the store and the instant it
//! is given: for every merchant with pay-in batches due on or before today (Bogotá), it posts
//! one ledger batch (code `settlement`) moving the net from the pending balance to the
//! available one, records the settlement with its lines and emits `settlement.paid`, all in one
//! unit of work. Ids are derived from the day, the merchant and the batches, and a pay-in batch
//! can be a line of one settlement only (a unique constraint), so running it twice, or on two
//! servers at once, settles nothing twice.
//!
//! Pay-ins on a test clock settle on that clock's date, when it is advanced
//! ([`run_on_test_clock`]); the worker on real time leaves them alone.

use cajero_domain::calendar;
use cajero_domain::id::{EventId, MerchantId, SettlementId, TestClockId, TransferId};
use cajero_domain::ledger::settlement::cop_to_usd_cents;
use cajero_domain::ledger::{AccountKey, AccountKind, Transfer, TransferCode, TransferMode};
use cajero_domain::merchant::Mode;
use cajero_domain::money::{Amount, Currency, MoneyError};
use cajero_domain::webhook::EventType;
use cajero_store::ledger::{self, LedgerError, NewBatch};
use cajero_store::settlements::{
    self, FxApplied, SETTLEMENT_LINES_MAX, SettlementLine, SettlementRecord, SettlementStatus,
};
use cajero_store::{Conn, Store, StoreError, events, fx, merchant_settings};
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::json;

pub mod view;

/// Merchants settled per [`run_once`] at most; the rest wait for the next step.
pub const SETTLEMENT_MERCHANTS_PER_RUN_MAX: i64 = 500;

/// Why one merchant's settlement failed.
#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    /// The ledger refused the batch (a bug or corrupted books: the pending balance does not
    /// hold what its pay-ins put there).
    #[error("the ledger refused the settlement: {0}")]
    Ledger(#[from] LedgerError),
    /// An amount overflowed (absurd volume).
    #[error("settlement amount: {0}")]
    Money(#[from] MoneyError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one merchant's turn did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A settlement was made.
    Settled(SettlementRecord),
    /// Nothing was due (another run settled it first).
    NothingDue,
    /// Settled in USD, but the operator has not set today's rate: nothing was settled and an
    /// alert was raised.
    AwaitingRate {
        /// The day without a rate.
        date: Date,
    },
}

/// What a [`run_once`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunReport {
    /// Settlements made.
    pub settled: Vec<SettlementId>,
    /// Merchants (and modes) waiting for the day's FX rate.
    pub awaiting_rate: Vec<(MerchantId, Mode)>,
    /// Merchants whose settlement failed, with why (logged at error too).
    pub failed: Vec<(MerchantId, Mode, String)>,
}

/// One step of the settlement worker at the instant `now`, for pay-ins on real time.
pub async fn run_once(store: &Store, now: Timestamp) -> Result<RunReport, StoreError> {
    run(store, now, calendar::bogota_date(now), None).await
}

/// Settles the pay-ins of one test clock whose date has come on that clock (`today`, its
/// Bogotá date); records and events carry the real time `now`.
pub async fn run_on_test_clock(
    store: &Store,
    now: Timestamp,
    clock: TestClockId,
    clock_time: Timestamp,
) -> Result<RunReport, StoreError> {
    run(store, now, calendar::bogota_date(clock_time), Some(clock)).await
}

async fn run(
    store: &Store,
    now: Timestamp,
    today: Date,
    clock: Option<TestClockId>,
) -> Result<RunReport, StoreError> {
    let due = store
        .read(move |mut c| {
            Box::pin(async move {
                let limit = SETTLEMENT_MERCHANTS_PER_RUN_MAX;
                settlements::due_merchants(&mut c, today, clock, limit).await
            })
        })
        .await?;
    let mut report = RunReport::default();
    for (merchant, mode) in due {
        // Several settlements a day when one would exceed its line limit.
        loop {
            let outcome = store
                .write(move |mut c| {
                    Box::pin(async move {
                        let day = Day { today, clock };
                        settle_merchant_on(&mut c, merchant, mode, now, day).await
                    })
                })
                .await;
            match outcome {
                Ok(Outcome::Settled(s)) => {
                    tracing::info!(settlement = %s.id, %merchant, %mode, amount = s.amount.minor(),
                                   currency = %s.currency, lines = s.line_count, "settled");
                    let full = s.line_count >= SETTLEMENT_LINES_MAX;
                    report.settled.push(s.id);
                    if !full {
                        break;
                    }
                }
                Ok(Outcome::NothingDue) => break,
                Ok(Outcome::AwaitingRate { date }) => {
                    tracing::error!(%merchant, %mode, %date,
                                    "cannot settle in USD: no COP/USD rate for the day (cajero fx set-rate)");
                    report.awaiting_rate.push((merchant, mode));
                    break;
                }
                // Another server settled the same batches first: nothing is lost.
                Err(SettleError::Store(e)) if e.is_unique_violation() => break,
                Err(e) => {
                    tracing::error!(%merchant, %mode, error = %e, "settlement failed");
                    report.failed.push((merchant, mode, e.to_string()));
                    break;
                }
            }
        }
    }
    Ok(report)
}

/// Bogotá midnight of `date` in Unix milliseconds (the time part of settlement ids).
fn day_start_ms(date: Date) -> u64 {
    let ms = date
        .at(0, 0, 0, 0)
        .to_zoned_datetime(calendar::bogota())
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(0);
    u64::try_from(ms).unwrap_or(0)
}

/// The settlement's id: time-sortable by its day, and the same for the same merchant, day and
/// lines, so two runs racing over the same batches collide on the primary key.
pub fn settlement_id(
    merchant: MerchantId,
    mode: Mode,
    date: Date,
    lines: &[SettlementLine],
) -> SettlementId {
    let first = lines.first().map(|l| l.batch_id.as_str()).unwrap_or("");
    let last = lines.last().map(|l| l.batch_id.as_str()).unwrap_or("");
    let purpose = format!("{merchant}:{mode}:{date}:{first}:{last}:{}", lines.len());
    SettlementId::derived(SettlementId::min_at(day_start_ms(date)), &purpose)
}

/// The ledger batch of a settlement: pending → available in COP, or pending (COP) → FX (COP)
/// and FX (USD) → available (USD). Zero legs are left out; `None` when nothing moves.
fn settlement_batch(s: &SettlementRecord) -> Option<NewBatch> {
    let batch_id = TransferId::derived(s.id, "settlement");
    let (m, mode) = (s.merchant_id, s.mode);
    let pending = settlements::pending_account(m, mode);
    let available = AccountKey::merchant(AccountKind::MerchantAvailable, m, mode, s.currency);
    let legs: Vec<(AccountKey, AccountKey, Amount)> = match s.fx {
        None => vec![(pending, available, s.net)],
        Some(_) => vec![
            (
                pending,
                AccountKey::platform(AccountKind::Fx, mode, Currency::Cop),
                s.net,
            ),
            (
                AccountKey::platform(AccountKind::Fx, mode, Currency::Usd),
                available,
                s.amount,
            ),
        ],
    };
    let transfers: Vec<Transfer> = legs
        .into_iter()
        .filter(|(_, _, amount)| !amount.is_zero())
        .enumerate()
        .map(|(n, (debit, credit, amount))| Transfer {
            id: format!("{batch_id}.{n}"),
            debit,
            credit,
            amount,
            mode: TransferMode::Single,
            code: TransferCode::Settlement,
        })
        .collect();
    (!transfers.is_empty()).then(|| NewBatch {
        id: batch_id.to_string(),
        merchant_id: Some(m),
        mode,
        currency: s.currency,
        code: TransferCode::Settlement,
        source_id: Some(s.id.to_string()),
        available_on: Some(s.settlement_date),
        transfers,
    })
}

fn sum(lines: &[SettlementLine], f: fn(&SettlementLine) -> i64) -> Result<Amount, MoneyError> {
    let amounts = lines
        .iter()
        .map(|l| Amount::new(f(l)))
        .collect::<Result<Vec<_>, _>>()?;
    Amount::checked_sum(amounts)
}

/// Settles one merchant's pay-ins on real time in one mode inside the caller's unit of work.
pub async fn settle_merchant(
    conn: &mut Conn<'_>,
    merchant: MerchantId,
    mode: Mode,
    now: Timestamp,
) -> Result<Outcome, SettleError> {
    let day = Day {
        today: calendar::bogota_date(now),
        clock: None,
    };
    settle_merchant_on(conn, merchant, mode, now, day).await
}

/// The settlement day, and the test clock whose pay-ins it covers (none: real time).
#[derive(Debug, Clone, Copy)]
struct Day {
    today: Date,
    clock: Option<TestClockId>,
}

async fn settle_merchant_on(
    conn: &mut Conn<'_>,
    merchant: MerchantId,
    mode: Mode,
    now: Timestamp,
    day: Day,
) -> Result<Outcome, SettleError> {
    let Day { today, clock } = day;
    settlements::lock_merchant(conn, merchant, mode).await?;
    let lines =
        settlements::due_lines(conn, merchant, mode, today, clock, SETTLEMENT_LINES_MAX).await?;
    if lines.is_empty() {
        return Ok(Outcome::NothingDue);
    }
    let terms = merchant_settings::settlement_terms(conn, merchant, mode).await?;
    let (gross, fees, net) = (
        sum(&lines, |l| l.gross)?,
        sum(&lines, |l| l.fees)?,
        sum(&lines, |l| l.net)?,
    );
    let (amount, fx) = match terms.currency {
        Currency::Cop => (net, None),
        Currency::Usd => {
            let Some(rate) = fx::rate_on(conn, today).await? else {
                raise_missing_rate(conn, merchant, mode, today, now).await?;
                return Ok(Outcome::AwaitingRate { date: today });
            };
            resolve_missing_rate(conn, merchant, mode, today, now).await?;
            let markup = terms.fx_markup;
            (
                cop_to_usd_cents(net, rate, markup)?,
                Some(FxApplied { rate, markup }),
            )
        }
    };
    let id = settlement_id(merchant, mode, today, &lines);
    let mut record = SettlementRecord {
        id,
        merchant_id: merchant,
        mode,
        settlement_date: today,
        status: SettlementStatus::Paid,
        gross,
        fees,
        net,
        currency: terms.currency,
        amount,
        fx,
        line_count: i64::try_from(lines.len()).unwrap_or(i64::MAX),
        ledger_batch_id: None,
        created_at: now,
        updated_at: now,
    };
    if let Some(batch) = settlement_batch(&record) {
        ledger::post_batch(conn, &batch, now).await?;
        record.ledger_batch_id = Some(batch.id);
    }
    settlements::insert(conn, &record, &lines).await?;
    events::emit(
        conn,
        merchant,
        mode.is_live(),
        EventType::SettlementPaid,
        &view::settlement_json(&record, None),
        EventId::derived(id, "settlement.paid"),
        now,
    )
    .await?;
    Ok(Outcome::Settled(record))
}

/// The subject of a missing rate's alert: the rate and the day.
fn missing_rate_subject(date: Date) -> String {
    format!("COP/USD:{date}")
}

/// Raises `fx_rate_missing` for a USD settlement without the day's rate (one alert per
/// merchant, mode and day: raising it again while open only counts).
async fn raise_missing_rate(
    conn: &mut Conn<'_>,
    merchant: MerchantId,
    mode: Mode,
    date: Date,
    now: Timestamp,
) -> Result<(), StoreError> {
    let message = format!(
        "Settlement in USD is waiting for the COP/USD rate of {date}; nothing was converted."
    );
    let spec = crate::alerts::AlertSpec {
        mode,
        code: crate::alerts::codes::FX_RATE_MISSING,
        subject: missing_rate_subject(date),
        merchant: Some(merchant),
        severity: crate::alerts::Severity::Warning,
        message,
        details: json!({ "date": date.to_string(), "currency": "USD" }),
    };
    crate::alerts::raise(conn, now, spec).await.map(|_| ())
}

/// Resolves the day's `fx_rate_missing` alert once the merchant's USD settlement went through.
async fn resolve_missing_rate(
    conn: &mut Conn<'_>,
    merchant: MerchantId,
    mode: Mode,
    date: Date,
    now: Timestamp,
) -> Result<(), StoreError> {
    crate::alerts::resolve(
        conn,
        now,
        mode,
        crate::alerts::codes::FX_RATE_MISSING,
        &missing_rate_subject(date),
        Some(merchant),
        "the rate was set and the settlement was made",
    )
    .await
    .map(|_| ())
}
