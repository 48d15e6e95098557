//! The `analytics.success` report: its shape (the API's, the CLI's `--json`) and how the
//! engine's counts become it — sums over networks, rates in basis points, the buckets of times
//! and the percentiles they allow, the busiest counters. Integers only.

use std::collections::BTreeMap;

use cajero_domain::money::Amount;
use cajero_store::StoreError;
use cajero_store::analytics::{
    CounterRow, DURATION_BUCKET_BOUNDS_S, DayRow, FailedAttemptsRow, TotalsRow,
};
use jiff::Span;
use jiff::civil::Date;
use serde::Serialize;
use utoipa::ToSchema;

use super::SuccessQuery;

/// Counters listed at most in `by_counter` (the busiest; `has_more` says when there are more).
pub const COUNTERS_MAX: usize = 100;
/// Rows read at most from each per-counter query before merging: enough for every counter of
/// both networks, and a bound all the same.
pub(super) const COUNTER_ROWS_MAX: i64 = 10_000;
/// 100 % in basis points.
const BPS_WHOLE: i64 = 10_000;
/// The percentiles reported, in basis points.
const P50_BPS: i64 = 5_000;
const P90_BPS: i64 = 9_000;

/// The success report (`analytics.success`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = AnalyticsSuccess)]
pub struct SuccessReport {
    /// `analytics.success`.
    #[schema(value_type = String, example = "analytics.success")]
    pub object: &'static str,
    /// Live or test orders.
    pub livemode: bool,
    /// The first Bogotá day of the range.
    #[schema(value_type = String, format = Date)]
    pub from: Date,
    /// The last Bogotá day of the range (included).
    #[schema(value_type = String, format = Date)]
    pub to: Date,
    /// The network asked for, or null for all.
    pub network: Option<String>,
    /// The currency of every amount (`COP`); amounts are integers in whole pesos.
    pub currency: &'static str,
    /// Vouchers created in the range, every network.
    pub payins: PayinFigures,
    /// Pick-up codes created in the range, every network.
    pub payouts: PayoutFigures,
    /// The same figures per network (networks with orders only), by network code.
    pub by_network: Vec<NetworkFigures>,
    /// Per counter that paid or collected an order, or refused a pick-up.
    pub by_counter: CounterList,
    /// Per Bogotá day of creation and network, for charts (days without orders left out).
    pub by_day: Vec<DayFigures>,
}

/// How the vouchers ended.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct PayinFigures {
    /// Vouchers created.
    pub created: i64,
    /// Paid.
    pub paid: i64,
    /// Expired unpaid.
    pub expired: i64,
    /// Canceled.
    pub canceled: i64,
    /// Still open (pending).
    pub open: i64,
    /// paid ÷ (created − open) in basis points, rounded down; null when nothing has closed.
    pub rate_bps: Option<i64>,
    /// Whole pesos of every voucher created.
    #[schema(value_type = i64)]
    pub created_amount: Amount,
    /// Whole pesos of the paid ones.
    #[schema(value_type = i64)]
    pub paid_amount: Amount,
    /// From creation to payment, for the paid ones.
    pub time_to_pay: Durations,
}

/// How the pick-up codes ended.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct PayoutFigures {
    /// Payouts created.
    pub created: i64,
    /// Collected at a counter.
    pub collected: i64,
    /// Expired uncollected.
    pub expired: i64,
    /// Canceled.
    pub canceled: i64,
    /// Failed (never issued, or refused by the network).
    pub failed: i64,
    /// Still open (pending, on hold or available).
    pub open: i64,
    /// collected ÷ (created − open) in basis points, rounded down; null when nothing has
    /// closed.
    pub rate_bps: Option<i64>,
    /// Whole pesos of every payout created.
    #[schema(value_type = i64)]
    pub created_amount: Amount,
    /// Whole pesos of the collected ones.
    #[schema(value_type = i64)]
    pub collected_amount: Amount,
    /// From creation to collection, for the collected ones.
    pub time_to_collect: Durations,
}

/// How long the paid (collected) orders took, in whole seconds.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Durations {
    /// Orders measured.
    pub count: i64,
    /// Their mean, rounded down; null when none.
    pub average_seconds: Option<i64>,
    /// The median, estimated as the upper bound of the bucket it falls in; null when none,
    /// or when it falls in the last bucket (72 hours or more).
    pub p50_seconds: Option<i64>,
    /// The 90th percentile, estimated the same way.
    pub p90_seconds: Option<i64>,
    /// How many took under each bound: under 900 s (15 min), 3,600 s (1 h), 21,600 s (6 h),
    /// 86,400 s (24 h), 259,200 s (72 h), and the rest (`under_seconds` null); each bucket
    /// starts where the previous one ends.
    pub buckets: Vec<DurationBucket>,
}

/// One bucket of a distribution of times.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DurationBucket {
    /// The bucket's upper bound in seconds (excluded); null for the last, open-ended one.
    pub under_seconds: Option<i64>,
    /// Orders in it.
    pub count: i64,
}

/// One network's figures.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NetworkFigures {
    /// The network's code (`efecty`, `sured`).
    pub network: String,
    /// Its vouchers.
    pub payins: PayinFigures,
    /// Its pick-up codes.
    pub payouts: PayoutFigures,
}

/// The busiest counters.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CounterList {
    /// At most 100 counters, by orders paid and collected there (most first), then amount,
    /// then failed attempts.
    pub data: Vec<CounterFigures>,
    /// Whether more counters had orders than are listed.
    pub has_more: bool,
}

/// What happened at one counter.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CounterFigures {
    /// The network.
    pub network: String,
    /// The network's counter id.
    pub counter_id: String,
    /// Vouchers paid there.
    pub payins: CounterPayins,
    /// Pick-up codes collected there, and the attempts it refused.
    pub payouts: CounterPayouts,
}

/// Vouchers paid at a counter.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct CounterPayins {
    /// How many.
    pub paid: i64,
    /// Their whole pesos.
    #[schema(value_type = i64)]
    pub paid_amount: Amount,
}

/// Pick-up codes at a counter.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct CounterPayouts {
    /// Collected there.
    pub collected: i64,
    /// Their whole pesos.
    #[schema(value_type = i64)]
    pub collected_amount: Amount,
    /// Attempts it refused, by outcome (`counter_out_of_cash`, `document_mismatch`,
    /// `wrong_code`, …).
    pub failed_attempts: BTreeMap<String, i64>,
}

/// One Bogotá day of one network.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DayFigures {
    /// The Bogotá day the orders were created on.
    #[schema(value_type = String, format = Date)]
    pub date: Date,
    /// The network.
    pub network: String,
    /// Vouchers created that day.
    pub payins: DayCounts,
    /// Pick-up codes created that day.
    pub payouts: DayCounts,
}

/// A day's orders: created, done (paid or collected, whenever) and the rate.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct DayCounts {
    /// Created that day.
    pub created: i64,
    /// Of them, paid (vouchers) or collected (pick-up codes).
    pub succeeded: i64,
    /// Of them, still open.
    pub open: i64,
    /// succeeded ÷ (created − open) in basis points, rounded down; null when none closed.
    pub rate_bps: Option<i64>,
    /// Whole pesos of the succeeded ones (paid in, or collected).
    pub succeeded_amount: i64,
}

impl SuccessReport {
    /// The report of `query` from the engine's counts.
    pub(super) fn build(query: &SuccessQuery, rows: &Rows) -> Result<SuccessReport, StoreError> {
        Ok(SuccessReport {
            object: "analytics.success",
            livemode: query.mode.is_live(),
            from: query.range.from(),
            to: query.range.to(),
            network: query.network.map(|n| n.code.to_string()),
            currency: "COP",
            payins: payin_figures(&sum(&rows.payins))?,
            payouts: payout_figures(&sum(&rows.payouts))?,
            by_network: by_network(&rows.payins, &rows.payouts)?,
            by_counter: by_counter(rows)?,
            by_day: by_day(&rows.payin_days, &rows.payout_days),
        })
    }
}

/// Everything the engine counted.
pub(super) struct Rows {
    pub(super) payins: Vec<TotalsRow>,
    pub(super) payouts: Vec<TotalsRow>,
    pub(super) payin_days: Vec<DayRow>,
    pub(super) payout_days: Vec<DayRow>,
    pub(super) payin_counters: Vec<CounterRow>,
    pub(super) payout_counters: Vec<CounterRow>,
    pub(super) failed_attempts: Vec<FailedAttemptsRow>,
}

pub(super) fn corrupt(detail: &dyn std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        table: "analytics",
        detail: detail.to_string(),
    }
}

/// A sum of whole pesos from the engine as an amount.
fn amount(minor: i64) -> Result<Amount, StoreError> {
    Amount::new(minor).map_err(|e| corrupt(&e))
}

/// `part ÷ whole` in basis points, rounded down; `None` when `whole` is not positive.
pub fn rate_bps(part: i64, whole: i64) -> Option<i64> {
    if whole <= 0 {
        return None;
    }
    i64::try_from(i128::from(part) * i128::from(BPS_WHOLE) / i128::from(whole)).ok()
}

/// Every network's totals added up.
fn sum(rows: &[TotalsRow]) -> TotalsRow {
    rows.iter().fold(TotalsRow::default(), |a, r| TotalsRow {
        network: String::new(),
        created: a.created.saturating_add(r.created),
        paid: a.paid.saturating_add(r.paid),
        expired: a.expired.saturating_add(r.expired),
        canceled: a.canceled.saturating_add(r.canceled),
        failed: a.failed.saturating_add(r.failed),
        open: a.open.saturating_add(r.open),
        created_amount: a.created_amount.saturating_add(r.created_amount),
        paid_amount: a.paid_amount.saturating_add(r.paid_amount),
        paid_micros_total: a.paid_micros_total.saturating_add(r.paid_micros_total),
        under_15m: a.under_15m.saturating_add(r.under_15m),
        under_1h: a.under_1h.saturating_add(r.under_1h),
        under_6h: a.under_6h.saturating_add(r.under_6h),
        under_24h: a.under_24h.saturating_add(r.under_24h),
        under_72h: a.under_72h.saturating_add(r.under_72h),
    })
}

fn payin_figures(r: &TotalsRow) -> Result<PayinFigures, StoreError> {
    Ok(PayinFigures {
        created: r.created,
        paid: r.paid,
        expired: r.expired,
        canceled: r.canceled,
        open: r.open,
        rate_bps: rate_bps(r.paid, r.created - r.open),
        created_amount: amount(r.created_amount)?,
        paid_amount: amount(r.paid_amount)?,
        time_to_pay: durations(r),
    })
}

fn payout_figures(r: &TotalsRow) -> Result<PayoutFigures, StoreError> {
    Ok(PayoutFigures {
        created: r.created,
        collected: r.paid,
        expired: r.expired,
        canceled: r.canceled,
        failed: r.failed,
        open: r.open,
        rate_bps: rate_bps(r.paid, r.created - r.open),
        created_amount: amount(r.created_amount)?,
        collected_amount: amount(r.paid_amount)?,
        time_to_collect: durations(r),
    })
}

/// The paid orders' times: the engine's cumulative "under" counts made into buckets.
fn durations(r: &TotalsRow) -> Durations {
    let under = [
        r.under_15m,
        r.under_1h,
        r.under_6h,
        r.under_24h,
        r.under_72h,
    ];
    let mut buckets = Vec::with_capacity(under.len() + 1);
    let mut below = 0;
    for (bound, cumulative) in DURATION_BUCKET_BOUNDS_S.iter().zip(under) {
        buckets.push(DurationBucket {
            under_seconds: Some(*bound),
            count: cumulative - below,
        });
        below = cumulative;
    }
    buckets.push(DurationBucket {
        under_seconds: None,
        count: r.paid - below,
    });
    let average_seconds = (r.paid > 0).then(|| r.paid_micros_total / r.paid / 1_000_000);
    Durations {
        count: r.paid,
        average_seconds,
        p50_seconds: percentile(&buckets, r.paid, P50_BPS),
        p90_seconds: percentile(&buckets, r.paid, P90_BPS),
        buckets,
    }
}

/// The upper bound of the bucket holding the `q_bps` percentile of `count` orders (the
/// ⌈count·q⌉-th fastest); `None` when there are none or it is in the open-ended bucket.
pub fn percentile(buckets: &[DurationBucket], count: i64, q_bps: i64) -> Option<i64> {
    if count <= 0 {
        return None;
    }
    let whole = i128::from(BPS_WHOLE);
    let rank = (i128::from(count) * i128::from(q_bps) + whole - 1) / whole;
    let mut seen: i128 = 0;
    for b in buckets {
        seen += i128::from(b.count);
        if seen >= rank {
            return b.under_seconds;
        }
    }
    None
}

fn by_network(
    payins: &[TotalsRow],
    payouts: &[TotalsRow],
) -> Result<Vec<NetworkFigures>, StoreError> {
    let mut networks: Vec<&str> = payins
        .iter()
        .chain(payouts)
        .map(|r| r.network.as_str())
        .collect();
    networks.sort_unstable();
    networks.dedup();
    let find = |rows: &[TotalsRow], n: &str| {
        rows.iter()
            .find(|r| r.network == n)
            .cloned()
            .unwrap_or_default()
    };
    networks
        .into_iter()
        .map(|n| {
            Ok(NetworkFigures {
                network: n.to_string(),
                payins: payin_figures(&find(payins, n))?,
                payouts: payout_figures(&find(payouts, n))?,
            })
        })
        .collect()
}

fn by_counter(rows: &Rows) -> Result<CounterList, StoreError> {
    let mut counters: BTreeMap<(String, String), CounterFigures> = BTreeMap::new();
    for r in &rows.payin_counters {
        let c = counter_entry(&mut counters, &r.network, &r.counter_id);
        c.payins = CounterPayins {
            paid: r.paid,
            paid_amount: amount(r.paid_amount)?,
        };
    }
    for r in &rows.payout_counters {
        let c = counter_entry(&mut counters, &r.network, &r.counter_id);
        c.payouts.collected = r.paid;
        c.payouts.collected_amount = amount(r.paid_amount)?;
    }
    for r in &rows.failed_attempts {
        let c = counter_entry(&mut counters, &r.network, &r.counter_id);
        c.payouts
            .failed_attempts
            .insert(r.outcome.clone(), r.attempts);
    }
    let truncated = [
        rows.payin_counters.len(),
        rows.payout_counters.len(),
        rows.failed_attempts.len(),
    ]
    .iter()
    .any(|n| i64::try_from(*n).unwrap_or(i64::MAX) >= COUNTER_ROWS_MAX);
    let mut data: Vec<CounterFigures> = counters.into_values().collect();
    data.sort_by_key(|c| {
        let done = c.payins.paid.saturating_add(c.payouts.collected);
        let pesos = c
            .payins
            .paid_amount
            .minor()
            .saturating_add(c.payouts.collected_amount.minor());
        let failed: i64 = c.payouts.failed_attempts.values().sum();
        (
            std::cmp::Reverse(done),
            std::cmp::Reverse(pesos),
            std::cmp::Reverse(failed),
            c.network.clone(),
            c.counter_id.clone(),
        )
    });
    let has_more = truncated || data.len() > COUNTERS_MAX;
    data.truncate(COUNTERS_MAX);
    Ok(CounterList { data, has_more })
}

fn counter_entry<'m>(
    counters: &'m mut BTreeMap<(String, String), CounterFigures>,
    network: &str,
    counter: &str,
) -> &'m mut CounterFigures {
    counters
        .entry((network.to_string(), counter.to_string()))
        .or_insert_with(|| CounterFigures {
            network: network.to_string(),
            counter_id: counter.to_string(),
            payins: CounterPayins::default(),
            payouts: CounterPayouts::default(),
        })
}

fn by_day(payins: &[DayRow], payouts: &[DayRow]) -> Vec<DayFigures> {
    let mut days: BTreeMap<(i64, String), (DayCounts, DayCounts)> = BTreeMap::new();
    let counts = |r: &DayRow| DayCounts {
        created: r.created,
        succeeded: r.paid,
        open: r.open,
        rate_bps: rate_bps(r.paid, r.created - r.open),
        succeeded_amount: r.paid_amount,
    };
    for r in payins {
        days.entry((r.day, r.network.clone())).or_default().0 = counts(r);
    }
    for r in payouts {
        days.entry((r.day, r.network.clone())).or_default().1 = counts(r);
    }
    let epoch = Date::constant(1970, 1, 1);
    days.into_iter()
        .filter_map(|((day, network), (payins, payouts))| {
            let date = epoch.checked_add(Span::new().try_days(day).ok()?).ok()?;
            Some(DayFigures {
                date,
                network,
                payins,
                payouts,
            })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_basis_points_rounded_down_and_null_without_closed_orders() {
        assert_eq!(rate_bps(2, 3), Some(6_666));
        assert_eq!(rate_bps(3, 3), Some(10_000));
        assert_eq!(rate_bps(0, 0), None);
    }

    #[test]
    fn percentiles_are_the_upper_bound_of_their_bucket() {
        let row = TotalsRow {
            paid: 10,
            under_15m: 4,
            under_1h: 5,
            under_6h: 9,
            under_24h: 9,
            under_72h: 9,
            paid_micros_total: 10 * 600_000_000,
            ..TotalsRow::default()
        };
        let d = durations(&row);
        let counts: Vec<i64> = d.buckets.iter().map(|b| b.count).collect();
        assert_eq!(counts, [4, 1, 4, 0, 0, 1]);
        assert_eq!(d.average_seconds, Some(600));
        assert_eq!(d.p50_seconds, Some(3_600)); // the 5th fastest
        assert_eq!(d.p90_seconds, Some(21_600)); // the 9th fastest
        assert_eq!(percentile(&d.buckets, 10, 9_500), None); // the 10th: 72 h or more
        assert_eq!(durations(&TotalsRow::default()).p50_seconds, None);
    }

    fn counter(network: &str, id: &str, paid: i64, paid_amount: i64) -> CounterRow {
        CounterRow {
            network: network.into(),
            counter_id: id.into(),
            paid,
            paid_amount,
        }
    }

    fn rows(
        payins: Vec<CounterRow>,
        payouts: Vec<CounterRow>,
        failed: Vec<FailedAttemptsRow>,
    ) -> Rows {
        Rows {
            payins: vec![],
            payouts: vec![],
            payin_days: vec![],
            payout_days: vec![],
            payin_counters: payins,
            payout_counters: payouts,
            failed_attempts: failed,
        }
    }

    #[test]
    fn a_counter_shows_its_vouchers_codes_and_refusals_together() {
        let failed = |id: &str, outcome: &str, attempts| FailedAttemptsRow {
            network: "efecty".into(),
            counter_id: id.into(),
            outcome: outcome.into(),
            attempts,
        };
        let list = by_counter(&rows(
            vec![counter("efecty", "EF-1", 1, 10_000)],
            vec![counter("efecty", "EF-1", 2, 70_000)],
            vec![
                failed("EF-1", "document_mismatch", 1),
                failed("EF-2", "counter_out_of_cash", 3),
            ],
        ))
        .unwrap();
        assert!(!list.has_more);
        assert_eq!(list.data.len(), 2);
        let busiest = &list.data[0];
        assert_eq!(
            (busiest.counter_id.as_str(), busiest.payins.paid),
            ("EF-1", 1)
        );
        assert_eq!(busiest.payouts.collected_amount.minor(), 70_000);
        assert_eq!(busiest.payouts.failed_attempts["document_mismatch"], 1);
        assert_eq!(
            list.data[1].payouts.failed_attempts["counter_out_of_cash"],
            3
        );
    }

    #[test]
    fn only_the_100_busiest_counters_are_listed_and_has_more_says_so() {
        let payins = (0..=100)
            .map(|n| counter("efecty", &format!("EF-{n:03}"), 1, 1_000 + n))
            .collect();
        let list = by_counter(&rows(payins, vec![], vec![])).unwrap();
        assert!(list.has_more);
        assert_eq!(list.data.len(), COUNTERS_MAX);
        assert_eq!(
            list.data[0].counter_id, "EF-100",
            "the most pesos first among equals"
        );
        assert!(list.data.iter().all(|c| c.counter_id != "EF-000"));
    }
}
