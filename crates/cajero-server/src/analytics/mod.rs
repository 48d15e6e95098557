//! Success analytics: how a merchant's cash flows succeed — vouchers to paid, pick-up codes to
//! collected — as rates and times, per network, per counter and per Bogotá day, for the
//! dashboard's charts, `GET /v1/analytics/success` and `cajero analytics success`, which all
//! call [`success`].
//!
//! The engine does the counting (`cajero_store::analytics`, GROUP BY over the orders created in
//! the range); this module turns its few rows into the report: rates in basis points, average
//! times, a fixed-bucket distribution of times and the percentiles it allows. Integers only.
//!
//! Every figure is about the orders **created** in the range (a cohort): an order created on
//! the range's last day and paid the day after counts as paid.

use cajero_connect::NetworkOrder;
use cajero_domain::calendar;
use cajero_domain::id::MerchantId;
use cajero_domain::merchant::Mode;
use cajero_domain::network::NetworkSpec;
use cajero_store::analytics::{self as records, OrderKind, Window};
use cajero_store::{Conn, Store, StoreError};
use jiff::civil::Date;
use jiff::{Span, Timestamp};

mod report;

use report::{COUNTER_ROWS_MAX, Rows, corrupt};
pub use report::{
    COUNTERS_MAX, CounterFigures, CounterList, CounterPayins, CounterPayouts, DayCounts,
    DayFigures, DurationBucket, Durations, NetworkFigures, PayinFigures, PayoutFigures,
    SuccessReport, percentile, rate_bps,
};

/// The longest range one report covers, in days (a quarter, so that a report stays cheap).
pub const RANGE_DAYS_MAX: i32 = 92;
/// The range when none is asked for: the last 30 Bogotá days, today included.
pub const RANGE_DAYS_DEFAULT: i32 = 30;

/// A range of Bogotá calendar days, both included: `from` ≤ `to`, at most
/// [`RANGE_DAYS_MAX`] days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    from: Date,
    to: Date,
}

/// Why a range was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// `from` is after `to`.
    #[error("from ({from}) must be on or before to ({to})")]
    Reversed {
        /// The first day asked for.
        from: Date,
        /// The last day asked for.
        to: Date,
    },
    /// More days than [`RANGE_DAYS_MAX`].
    #[error("the range covers {days} days; at most {max} are allowed")]
    TooLong {
        /// Days asked for.
        days: i32,
        /// The limit.
        max: i32,
    },
    /// A day outside the calendar's range.
    #[error("the day {0} is out of range")]
    OutOfRange(Date),
}

impl DateRange {
    /// The range `from..=to`, checked.
    pub fn new(from: Date, to: Date) -> Result<DateRange, RangeError> {
        if from > to {
            return Err(RangeError::Reversed { from, to });
        }
        let days = days_between(from, to).ok_or(RangeError::OutOfRange(to))? + 1;
        if days > RANGE_DAYS_MAX {
            return Err(RangeError::TooLong {
                days,
                max: RANGE_DAYS_MAX,
            });
        }
        Ok(DateRange { from, to })
    }

    /// The `days` days ending on `to` (both ends included).
    pub fn ending(to: Date, days: i32) -> Result<DateRange, RangeError> {
        let back = Span::new()
            .try_days(i64::from(days) - 1)
            .map_err(|_| RangeError::OutOfRange(to))?;
        let from = to
            .checked_sub(back)
            .map_err(|_| RangeError::OutOfRange(to))?;
        DateRange::new(from, to)
    }

    /// The first day.
    pub fn from(self) -> Date {
        self.from
    }

    /// The last day.
    pub fn to(self) -> Date {
        self.to
    }

    /// `[start of from, start of the day after to)` in Bogotá, Unix microseconds.
    fn micros(self) -> Result<(i64, i64), RangeError> {
        let start = |day: Date| {
            day.to_zoned_datetime(calendar::bogota())
                .map(|z| z.timestamp().as_microsecond())
                .map_err(|_| RangeError::OutOfRange(day))
        };
        let after = self
            .to
            .tomorrow()
            .map_err(|_| RangeError::OutOfRange(self.to))?;
        Ok((start(self.from)?, start(after)?))
    }
}

/// Whole days from `a` to `b`.
fn days_between(a: Date, b: Date) -> Option<i32> {
    a.until(b).ok().map(|span| span.get_days())
}

/// The Bogotá day `at` falls on.
pub fn bogota_today(at: Timestamp) -> Date {
    calendar::bogota_date(at)
}

/// What to report on.
#[derive(Debug, Clone)]
pub struct SuccessQuery {
    /// Whose orders.
    pub merchant: MerchantId,
    /// Test or live orders.
    pub mode: Mode,
    /// Created on these Bogotá days.
    pub range: DateRange,
    /// One network's orders only.
    pub network: Option<NetworkSpec>,
}

/// The report for `query`, read in one unit of work.
pub async fn success(store: &Store, query: &SuccessQuery) -> Result<SuccessReport, StoreError> {
    let (created_from, created_before) = query.range.micros().map_err(|e| corrupt(&e))?;
    let window = Window {
        merchant: query.merchant,
        mode: query.mode,
        created_from,
        created_before,
        network: query.network.map(|n| n.code.to_string()),
    };
    let rows = store
        .read(move |mut c| Box::pin(async move { read(&mut c, &window).await }))
        .await?;
    SuccessReport::build(query, &rows)
}

/// What a merchant's orders created in a range came to: the dashboard's home figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Volume {
    /// Vouchers created.
    pub payins_created: i64,
    /// Of them, paid.
    pub payins_paid: i64,
    /// Whole pesos paid at counters.
    pub payins_paid_amount: i64,
    /// Pick-up codes created.
    pub payouts_created: i64,
    /// Of them, collected.
    pub payouts_paid: i64,
    /// Whole pesos collected.
    pub payouts_paid_amount: i64,
}

/// The volume of the orders created on `range`'s Bogotá days (the same counts as
/// [`success`], summed over the networks).
pub async fn volume(
    store: &Store,
    merchant: MerchantId,
    mode: Mode,
    range: DateRange,
) -> Result<Volume, StoreError> {
    let (created_from, created_before) = range.micros().map_err(|e| corrupt(&e))?;
    let window = Window {
        merchant,
        mode,
        created_from,
        created_before,
        network: None,
    };
    let (payins, payouts) = store
        .read(move |mut c| {
            Box::pin(async move {
                let payins = records::totals(&mut c, OrderKind::Payin, &window).await?;
                let payouts = records::totals(&mut c, OrderKind::Payout, &window).await?;
                Ok::<_, StoreError>((payins, payouts))
            })
        })
        .await?;
    let add = |rows: &[records::TotalsRow]| {
        rows.iter().fold((0i64, 0i64, 0i64), |(c, p, a), r| {
            (
                c.saturating_add(r.created),
                p.saturating_add(r.paid),
                a.saturating_add(r.paid_amount),
            )
        })
    };
    let (payins_created, payins_paid, payins_paid_amount) = add(&payins);
    let (payouts_created, payouts_paid, payouts_paid_amount) = add(&payouts);
    Ok(Volume {
        payins_created,
        payins_paid,
        payins_paid_amount,
        payouts_created,
        payouts_paid,
        payouts_paid_amount,
    })
}

/// Every count the report needs, from the engine.
async fn read(c: &mut Conn<'_>, w: &Window) -> Result<Rows, StoreError> {
    Ok(Rows {
        payins: records::totals(c, OrderKind::Payin, w).await?,
        payouts: records::totals(c, OrderKind::Payout, w).await?,
        payin_days: records::days(c, OrderKind::Payin, w).await?,
        payout_days: records::days(c, OrderKind::Payout, w).await?,
        payin_counters: records::counters(c, OrderKind::Payin, w, COUNTER_ROWS_MAX).await?,
        payout_counters: records::counters(c, OrderKind::Payout, w, COUNTER_ROWS_MAX).await?,
        failed_attempts: records::payout_failed_attempts(c, w, COUNTER_ROWS_MAX).await?,
    })
}

/// Remembers where the network says an order was paid or collected (the `by_counter`
/// figures), inside the caller's unit of work; nothing when the network does not say. Only a
/// paid order without a counter yet is changed: the counter is returned when it was recorded
/// now (once per order), for the risk checks on counters.
pub async fn record_paid_counter<'o>(
    conn: &mut Conn<'_>,
    kind: OrderKind,
    order_id: &str,
    order: &'o NetworkOrder,
) -> Result<Option<&'o str>, StoreError> {
    match order.paid_counter_id.as_deref() {
        Some(counter) => Ok(records::record_paid_counter(conn, kind, order_id, counter)
            .await?
            .then_some(counter)),
        None => Ok(None),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn day(text: &str) -> Date {
        text.parse().unwrap()
    }

    #[test]
    fn a_range_is_ordered_and_at_most_92_days() {
        assert!(DateRange::new(day("2026-01-01"), day("2026-04-02")).is_ok()); // 92 days
        assert_eq!(
            DateRange::new(day("2026-01-01"), day("2026-04-03")),
            Err(RangeError::TooLong { days: 93, max: 92 })
        );
        assert!(matches!(
            DateRange::new(day("2026-01-02"), day("2026-01-01")),
            Err(RangeError::Reversed { .. })
        ));
        let last_30 = DateRange::ending(day("2026-03-01"), 30).unwrap();
        assert_eq!(last_30.from(), day("2026-01-31"));
    }

    #[test]
    fn a_range_spans_bogota_midnight_to_midnight() {
        let range = DateRange::new(day("2025-11-24"), day("2025-11-24")).unwrap();
        // 2025-11-24T05:00:00Z to 2025-11-25T05:00:00Z.
        assert_eq!(
            range.micros().unwrap(),
            (1_763_960_400_000_000, 1_764_046_800_000_000)
        );
    }
}
