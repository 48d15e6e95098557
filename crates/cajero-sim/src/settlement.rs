//! Daily settlement files: what really happened at counters on one Bogotá day, independently
//! of callbacks. Pay-ins in Asobancaria 2001; everything that moved in CSV.
//!
//! The discrepancy fault knobs change the *file*, not the state: a line left out or an
//! amount changed, decided per order from the seed so the same file comes out every time.

use cajero_domain::Amount;
use cajero_domain::asobancaria::{
    AccountType, Batch, Cents, CollectionFile, Detail, FileHeader, FileTime, LineEnding,
    METHOD_CASH_AT_TELLER, ORIGIN_BANK, WriteError, write,
};
use cajero_domain::calendar::bogota_date;
use jiff::civil::Date;

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
struct Line<'a> {
    order: &'a Order,
    amount: Amount,
    branch_code: String,
    operation_number: u64,
}

/// Local hour at which the network produces the file, the day after.
const FILE_TIME: (u8, u8) = (6, 0);

/// The file for `date` at `network`, for one merchant or (without one) the whole network.
pub fn settlement_file(
    state: &State,
    network: &str,
    date: Date,
    merchant_id: Option<&str>,
    format: SettlementFormat,
) -> Result<String, SettlementError> {
    let profile = state.profile(network)?.clone();
    let merchants: Vec<&Merchant> = match merchant_id {
        Some(id) => vec![state.merchant(id).ok_or(SimError::UnknownMerchant)?],
        None => {
            let mut all: Vec<&Merchant> = state.merchants.values().collect();
            all.sort_by_key(|m| m.number);
            all
        }
    };
    let faults = state.faults();
    let lines_of = |merchant: &Merchant, kinds: &[OrderKind]| -> Vec<Line<'_>> {
        let mut orders: Vec<&Order> = state
            .all_orders()
            .filter(|o| o.network == network && o.merchant_id == merchant.config.id)
            .filter(|o| kinds.contains(&o.kind) && o.status == OrderStatus::Paid)
            .filter(|o| o.paid_at.is_some_and(|t| bogota_date(t) == date))
            .collect();
        orders.sort_by(|a, b| (a.paid_at, &a.id).cmp(&(b.paid_at, &b.id)));
        orders
            .into_iter()
            .filter_map(|order| line(state, &faults, order))
            .collect()
    };
    match format {
        SettlementFormat::Asobancaria => {
            let (nit, account) = match merchant_id {
                Some(_) => merchants
                    .first()
                    .map(|m| (m.config.nit.clone(), m.config.account_number.clone()))
                    .unwrap_or_default(),
                None => (profile.nit.clone(), "0".into()),
            };
            let batches = merchants
                .iter()
                .enumerate()
                .map(|(i, m)| Batch {
                    service_code: m.service_code(&profile.gln),
                    number: u16::try_from(i + 1).unwrap_or(u16::MAX),
                    details: lines_of(m, &[OrderKind::Collection])
                        .iter()
                        .enumerate()
                        .map(|(n, l)| detail(l, n))
                        .collect(),
                })
                .collect();
            let file = CollectionFile {
                header: FileHeader {
                    nit,
                    collection_date: date,
                    collector_code: profile.collector_code.clone(),
                    account_number: account,
                    file_date: date.tomorrow().unwrap_or(date),
                    file_time: FileTime::new(FILE_TIME.0, FILE_TIME.1)
                        .ok_or(SettlementError::Internal("file time"))?,
                    modifier: 'A',
                    account_type: AccountType::Checking,
                },
                batches,
            };
            Ok(write(&file, LineEnding::CrLf)?)
        }
        SettlementFormat::Csv => {
            let mut out = csv::Writer::from_writer(Vec::new());
            let header = [
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
            out.write_record(header)
                .map_err(|e| SettlementError::Csv(e.to_string()))?;
            let date_text = date.to_string();
            for m in &merchants {
                for l in lines_of(m, &[OrderKind::Collection, OrderKind::Payout]) {
                    let o = l.order;
                    let record = [
                        date_text.clone(),
                        o.network.clone(),
                        o.merchant_id.clone(),
                        o.kind.as_str().to_owned(),
                        o.id.clone(),
                        o.reference.clone(),
                        o.code.clone(),
                        l.amount.minor().to_string(),
                        "COP".to_owned(),
                        o.paid_counter_id.clone().unwrap_or_default(),
                        l.branch_code.clone(),
                        o.paid_attempt_id.clone().unwrap_or_default(),
                        o.paid_at.map(|t| t.to_string()).unwrap_or_default(),
                    ];
                    out.write_record(&record)
                        .map_err(|e| SettlementError::Csv(e.to_string()))?;
                }
            }
            let bytes = out
                .into_inner()
                .map_err(|e| SettlementError::Csv(e.to_string()))?;
            String::from_utf8(bytes).map_err(|e| SettlementError::Csv(e.to_string()))
        }
    }
}

/// The line of one paid order, after the discrepancy faults (`None`: left out).
fn line<'a>(state: &State, faults: &Faults, order: &'a Order) -> Option<Line<'a>> {
    if decides(
        state.seed,
        &order.id,
        "missing",
        faults.settlement_missing_line_bps,
    ) {
        return None;
    }
    let mut amount = order.amount;
    if decides(
        state.seed,
        &order.id,
        "amount",
        faults.settlement_changed_amount_bps,
    ) {
        let changed = order
            .amount
            .minor()
            .saturating_add(faults.settlement_amount_delta);
        amount = Amount::new(changed.max(0)).unwrap_or(order.amount);
    }
    let counter = order
        .paid_counter_id
        .as_deref()
        .and_then(|id| state.counter(id));
    let operation_number = order
        .paid_attempt_id
        .as_deref()
        .and_then(|id| state.attempt(id))
        .map_or(0, |a| a.seq);
    Some(Line {
        order,
        amount,
        branch_code: counter.map_or_else(|| "0000".into(), |c| c.branch_code.clone()),
        operation_number,
    })
}

fn detail(l: &Line<'_>, index: usize) -> Detail {
    Detail {
        reference: l.order.code.clone(),
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
