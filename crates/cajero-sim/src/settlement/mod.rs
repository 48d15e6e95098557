//! Daily settlement files: what really happened at counters on one Bogotá day, independently
//! of callbacks. Pay-ins in Asobancaria 2001; everything that moved in CSV.
//!
//! Discrepancy faults change the *file*, not the state. The share-based knobs of
//! [`Faults`] leave a line out, change its amount or write it twice, decided per order from the
//! seed so the same file comes out every time; the targeted ones of [`SettlementFaults`] do it
//! to named orders, add lines nobody created or paid after expiry, and break Asobancaria
//! control records. [`fate`] is the one place a paid order's line is decided.

pub mod faults;

pub use faults::{LineFault, SettlementFaultError, SettlementFaults};

use cajero_domain::Amount;
use cajero_domain::asobancaria::{
    AccountType, Batch, Cents, CollectionFile, Detail, FileHeader, FileTime, LineEnding,
    METHOD_CASH_AT_TELLER, ORIGIN_BANK, WriteError, write,
};
use cajero_domain::calendar::{bogota, bogota_date};
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};

use crate::config::Faults;
use crate::engine::{SimError, State};
use crate::model::{Merchant, Order, OrderKind, OrderStatus};

/// Which file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SettlementFormat {
    /// Asobancaria 2001 collection file (pay-ins only).
    Asobancaria,
    /// CSV of pay-ins paid and payouts collected.
    Csv,
}

/// Why a file cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum SettlementError {
    /// Unknown network or merchant.
    #[error(transparent)]
    Sim(#[from] SimError),
    /// A value does not fit the fixed-width layout.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// A bug: a constant that does not fit its type.
    #[error("internal error: {0}")]
    Internal(&'static str),
    /// CSV writing failed.
    #[error("csv: {0}")]
    Csv(String),
}

/// One line of money that moved, before formatting.
struct Line {
    kind: OrderKind,
    order_id: String,
    reference: String,
    code: String,
    amount: Amount,
    counter_id: String,
    branch_code: String,
    attempt_id: String,
    operation_number: u64,
    occurred_at: Timestamp,
}

/// Local hour at which the network produces the file, the day after.
const FILE_TIME: (u8, u8) = (6, 0);

/// Local hour given to lines that no counter attempt dates (extra lines, payments after
/// expiry): midday, when counters of every kind are open.
const UNDATED_LINE_HOUR: i8 = 12;

/// Columns of the CSV file.
const CSV_HEADER: [&str; 13] = [
    "date",
    "network",
    "merchant_id",
    "type",
    "order_id",
    "reference",
    "code",
    "amount",
    "currency",
    "counter_id",
    "branch_code",
    "attempt_id",
    "occurred_at",
];

/// The file for `date` at `network`, for one merchant or (without one) the whole network.
pub fn settlement_file(
    state: &State,
    network: &str,
    date: Date,
    merchant_id: Option<&str>,
    format: SettlementFormat,
) -> Result<String, SettlementError> {
    let merchants: Vec<&Merchant> = match merchant_id {
        Some(id) => vec![state.merchant(id).ok_or(SimError::UnknownMerchant)?],
        None => {
            let mut all: Vec<&Merchant> = state.merchants.values().collect();
            all.sort_by_key(|m| m.number);
            all
        }
    };
    let day = Day {
        state,
        network,
        date,
        faults: state.faults(),
        targeted: state.settlement_faults(),
    };
    match format {
        SettlementFormat::Asobancaria => asobancaria_file(&day, &merchants, merchant_id.is_some()),
        SettlementFormat::Csv => csv_file(&day, &merchants),
    }
}

/// Pay-ins, one batch per merchant; the header names the merchant of a one-merchant file, the
/// network otherwise.
fn asobancaria_file(
    day: &Day<'_>,
    merchants: &[&Merchant],
    one_merchant: bool,
) -> Result<String, SettlementError> {
    let profile = day.state.profile(day.network)?;
    let (nit, account) = match merchants.first() {
        Some(m) if one_merchant => (m.config.nit.clone(), m.config.account_number.clone()),
        _ => (profile.nit.clone(), "0".into()),
    };
    let mut batches = Vec::with_capacity(merchants.len());
    for (i, m) in merchants.iter().enumerate() {
        batches.push(Batch {
            service_code: m.service_code(&profile.gln),
            number: u16::try_from(i + 1).unwrap_or(u16::MAX),
            details: day
                .lines(m, &[OrderKind::Collection])?
                .iter()
                .enumerate()
                .map(|(n, l)| detail(l, n))
                .collect(),
        });
    }
    let file = CollectionFile {
        header: FileHeader {
            nit,
            collection_date: day.date,
            collector_code: profile.collector_code.clone(),
            account_number: account,
            file_date: day.date.tomorrow().unwrap_or(day.date),
            file_time: FileTime::new(FILE_TIME.0, FILE_TIME.1)
                .ok_or(SettlementError::Internal("file time"))?,
            modifier: 'A',
            account_type: AccountType::Checking,
        },
        batches,
    };
    let text = write(&file, LineEnding::CrLf)?;
    match &day.targeted.broken_control_totals {
        Some(broken) if broken.applies_to(day.date) => break_control_totals(&text, broken),
        _ => Ok(text),
    }
}

/// Pay-ins and payouts, merchant after merchant. No control records.
fn csv_file(day: &Day<'_>, merchants: &[&Merchant]) -> Result<String, SettlementError> {
    let csv_error = |e: &dyn std::fmt::Display| SettlementError::Csv(e.to_string());
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(CSV_HEADER).map_err(|e| csv_error(&e))?;
    let date_text = day.date.to_string();
    for m in merchants {
        for l in day.lines(m, &[OrderKind::Collection, OrderKind::Payout])? {
            let record = [
                date_text.clone(),
                day.network.to_owned(),
                m.config.id.clone(),
                l.kind.as_str().to_owned(),
                l.order_id,
                l.reference,
                l.code,
                l.amount.minor().to_string(),
                "COP".to_owned(),
                l.counter_id,
                l.branch_code,
                l.attempt_id,
                l.occurred_at.to_string(),
            ];
            out.write_record(&record).map_err(|e| csv_error(&e))?;
        }
    }
    let bytes = out.into_inner().map_err(|e| csv_error(&e))?;
    String::from_utf8(bytes).map_err(|e| csv_error(&e))
}

/// One Bogotá day of one network, with the faults in force.
struct Day<'a> {
    state: &'a State,
    network: &'a str,
    date: Date,
    faults: Faults,
    targeted: SettlementFaults,
}

/// What becomes of a paid order's line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Left out of the file.
    LeftOut,
    /// Written `copies` times with `amount`.
    Written { amount: Amount, copies: u8 },
}

impl Day<'_> {
    /// The merchant's lines of these kinds, in the order they happened: the orders paid that
    /// day as their [`fate`] has it, then the lines the targeted faults add.
    fn lines(
        &self,
        merchant: &Merchant,
        kinds: &[OrderKind],
    ) -> Result<Vec<Line>, SettlementError> {
        let in_file = |o: &&Order| {
            o.network == self.network
                && o.merchant_id == merchant.config.id
                && kinds.contains(&o.kind)
        };
        let mut lines = Vec::new();
        let paid = self
            .state
            .all_orders()
            .filter(in_file)
            .filter(|o| o.status == OrderStatus::Paid)
            .filter_map(|o| Some((o, o.paid_at.filter(|t| bogota_date(*t) == self.date)?)));
        for (order, paid_at) in paid {
            if let Fate::Written { amount, copies } =
                fate(self.state, &self.faults, &self.targeted, order)
            {
                for _ in 0..copies {
                    lines.push(self.paid_line(order, amount, paid_at));
                }
            }
        }
        for late in &self.targeted.paid_after_expiry {
            if let Some(order) = self.state.order_any(&late.order_id).filter(in_file) {
                lines.extend(self.paid_after_expiry_line(order, late.date)?);
            }
        }
        for extra in &self.targeted.extra_line {
            if extra.merchant_id == merchant.config.id && kinds.contains(&extra.kind) {
                lines.extend(self.extra_line(extra)?);
            }
        }
        // Stable: the two copies of a duplicated line stay together.
        lines.sort_by(|a, b| (a.occurred_at, &a.order_id).cmp(&(b.occurred_at, &b.order_id)));
        Ok(lines)
    }

    /// An expired order shown paid, at midday of this day (or just after it expired, if
    /// later), when the fault is for this day: its `date`, or any day from its expiry on.
    fn paid_after_expiry_line(
        &self,
        order: &Order,
        date: Option<Date>,
    ) -> Result<Option<Line>, SettlementError> {
        let expiry = bogota_date(order.expires_at);
        let today = date.map_or(self.date >= expiry, |d| d == self.date);
        if order.status != OrderStatus::Expired || !today {
            return Ok(None);
        }
        let after_expiry = order
            .expires_at
            .saturating_add(SignedDuration::from_secs(1))
            .unwrap_or(order.expires_at);
        let at = self.midday()?.max(after_expiry);
        Ok(Some(self.counter_line(
            order.kind,
            &order.id,
            &order.reference,
            &order.code,
            order.amount,
            at,
        )))
    }

    /// A line for an order nobody created, when it is for this day and network.
    fn extra_line(&self, extra: &faults::ExtraLine) -> Result<Option<Line>, SettlementError> {
        let network = extra
            .network
            .as_deref()
            .unwrap_or(&self.state.default_network);
        if extra.date != self.date || network != self.network {
            return Ok(None);
        }
        let code = extra.code.as_str();
        let id = format!("{}_extra_{code}", extra.kind.id_prefix());
        let at = self.midday()?;
        Ok(Some(self.counter_line(
            extra.kind,
            &id,
            "",
            code,
            extra.amount,
            at,
        )))
    }

    /// The line of a paid order, from the attempt that paid it.
    fn paid_line(&self, order: &Order, amount: Amount, paid_at: Timestamp) -> Line {
        let counter = order
            .paid_counter_id
            .as_deref()
            .and_then(|id| self.state.counter(id));
        let attempt = order
            .paid_attempt_id
            .as_deref()
            .and_then(|id| self.state.attempt(id));
        Line {
            kind: order.kind,
            order_id: order.id.clone(),
            reference: order.reference.clone(),
            code: order.code.clone(),
            amount,
            counter_id: order.paid_counter_id.clone().unwrap_or_default(),
            branch_code: counter.map_or_else(|| "0000".into(), |c| c.branch_code.clone()),
            attempt_id: order.paid_attempt_id.clone().unwrap_or_default(),
            operation_number: attempt.map_or(0, |a| a.seq),
            occurred_at: paid_at,
        }
    }

    /// A line no attempt of the simulator backs, at the network's first counter.
    fn counter_line(
        &self,
        kind: OrderKind,
        order_id: &str,
        reference: &str,
        code: &str,
        amount: Amount,
        occurred_at: Timestamp,
    ) -> Line {
        let counter = self
            .state
            .counters(Some(self.network), None)
            .into_iter()
            .next();
        Line {
            kind,
            order_id: order_id.to_owned(),
            reference: reference.to_owned(),
            code: code.to_owned(),
            amount,
            counter_id: counter.map(|c| c.id.clone()).unwrap_or_default(),
            branch_code: counter.map_or_else(|| "0000".into(), |c| c.branch_code.clone()),
            attempt_id: String::new(),
            operation_number: 0,
            occurred_at,
        }
    }

    /// Midday of the day in Bogotá.
    fn midday(&self) -> Result<Timestamp, SettlementError> {
        let midday = jiff::civil::time(UNDATED_LINE_HOUR, 0, 0, 0);
        self.date
            .to_datetime(midday)
            .to_zoned_datetime(bogota())
            .map(|z| z.timestamp())
            .map_err(|_| SettlementError::Internal("midday in Bogotá"))
    }
}

/// The one place a paid order's line is decided: a targeted fault on the order wins; else
/// the share-based knobs, each decided per order from the seed.
fn fate(state: &State, faults: &Faults, targeted: &SettlementFaults, order: &Order) -> Fate {
    let changed = |delta: i64| {
        let minor = order.amount.minor().saturating_add(delta);
        Amount::new(minor.max(0)).unwrap_or(order.amount)
    };
    match targeted.fault_on(&order.id) {
        Some(LineFault::Missing) => return Fate::LeftOut,
        Some(LineFault::Duplicated) => {
            return Fate::Written {
                amount: order.amount,
                copies: 2,
            };
        }
        Some(LineFault::AmountChanged { delta }) => {
            return Fate::Written {
                amount: changed(delta),
                copies: 1,
            };
        }
        None => {}
    }
    let seeded = |purpose: &str, bps: u16| decides(state.seed, &order.id, purpose, bps);
    if seeded("missing", faults.settlement_missing_line_bps) {
        return Fate::LeftOut;
    }
    let amount = if seeded("amount", faults.settlement_changed_amount_bps) {
        changed(faults.settlement_amount_delta)
    } else {
        order.amount
    };
    let copies = if seeded("duplicate", faults.settlement_duplicate_line_bps) {
        2
    } else {
        1
    };
    Fate::Written { amount, copies }
}

fn detail(l: &Line, index: usize) -> Detail {
    Detail {
        reference: l.code.clone(),
        amount: Cents::from_whole_units(l.amount),
        origin: ORIGIN_BANK.into(),
        method: METHOD_CASH_AT_TELLER.into(),
        operation_number: format!("{:06}", l.operation_number % 1_000_000),
        authorization_number: "000000".into(),
        debited_bank_code: "000".into(),
        branch_code: l.branch_code.clone(),
        // Restarting at 2 in every batch, as the DNX writer (asobancaria-2001.md §6.3).
        sequence: u32::try_from(index + 2).unwrap_or(u32::MAX),
        return_reason: String::new(),
    }
}

/// Where the count and the total sit in both control records, 08 and 09 alike
/// (asobancaria-2001.md §6.1, §6.2): count at 3–11, total (two implied decimals) at 12–29.
const CONTROL_COUNT: std::ops::Range<usize> = 2..11;
const CONTROL_TOTAL: std::ops::Range<usize> = 11..29;

/// Shifts the first batch's 08 and the file's 09 by the fault's deltas. The writer computes
/// control records from the details (a written file always balances), so breaking them is
/// done to the text it wrote.
fn break_control_totals(
    text: &str,
    broken: &faults::BrokenControlTotals,
) -> Result<String, SettlementError> {
    let mut out = String::with_capacity(text.len());
    let mut first_batch_broken = false;
    for record in text.split_inclusive('\n') {
        let first_08 = record.starts_with("08") && !first_batch_broken;
        if first_08 || record.starts_with("09") {
            first_batch_broken |= first_08;
            out.push_str(&shift_control(record, broken)?);
        } else {
            out.push_str(record);
        }
    }
    Ok(out)
}

fn shift_control(
    record: &str,
    broken: &faults::BrokenControlTotals,
) -> Result<String, SettlementError> {
    let field = |range: std::ops::Range<usize>| -> Result<u64, SettlementError> {
        record
            .get(range)
            .and_then(|digits| digits.parse().ok())
            .ok_or(SettlementError::Internal("control record layout"))
    };
    let count = field(CONTROL_COUNT)?.saturating_add(u64::from(broken.count_delta));
    let cents = Cents::from_whole_units(
        Amount::new(i64::from(broken.total_delta))
            .map_err(|_| SettlementError::Internal("total delta"))?,
    );
    let total = field(CONTROL_TOTAL)?.saturating_add(cents.get());
    let (Some(kind), Some(rest)) = (
        record.get(..CONTROL_COUNT.start),
        record.get(CONTROL_TOTAL.end..),
    ) else {
        return Err(SettlementError::Internal("control record layout"));
    };
    let shifted = format!(
        "{kind}{count:0count_width$}{total:0total_width$}{rest}",
        count_width = CONTROL_COUNT.len(),
        total_width = CONTROL_TOTAL.len(),
    );
    if shifted.len() != record.len() {
        return Err(SettlementError::Internal("control field overflow"));
    }
    Ok(shifted)
}

/// A stable per-order decision: FNV-1a of seed, order id and purpose, under `bps` of 10 000.
fn decides(seed: u64, order_id: &str, purpose: &str, bps: u16) -> bool {
    if bps == 0 {
        return false;
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in seed
        .to_le_bytes()
        .iter()
        .chain(order_id.as_bytes())
        .chain(purpose.as_bytes())
    {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash % u64::from(crate::config::BPS_WHOLE) < u64::from(bps)
}
