//! Settlement dates on the Colombian business calendar, and currency conversion for
//! cross-border merchants.
//!
//! **Dates.** Money collected on Bogotá calendar day D (the day closes at 23:59:59 Bogotá, the
//! cut-off) belongs to D's batch. D is first rolled to a business day (a Saturday's collections
//! count as Monday's, or Tuesday's when Monday is a holiday), then N business days are added:
//! T+1 from a Friday is the next Monday; from a Saturday it is Tuesday.
//!
//! **Conversion.** An operator keeps a table of rates, each "COP per USD" with six decimals
//! (`4012.345678` is stored as 4_012_345_678 micro-pesos). A merchant settled in USD receives
//! `COP amount ÷ rate × (1 − markup)`, in cents, rounded half up (the one rounding rule).

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::calendar::{self, CalendarError};
use crate::money::{
    AMOUNT_MINOR_MAX, Amount, BASIS_POINTS_PER_WHOLE, BasisPoints, Currency, MoneyError,
};

/// The default settlement delay: T+1 business day (no public source gives Efecty's own cycle).
pub const SETTLEMENT_DELAY_BUSINESS_DAYS_DEFAULT: u32 = 1;
/// The longest settlement delay a merchant can be configured with.
pub const SETTLEMENT_DELAY_BUSINESS_DAYS_MAX: u32 = 30;
/// Micro-units per unit in a rate.
pub const RATE_SCALE: u64 = 1_000_000;

/// How a merchant is settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettlementTerms {
    /// T+N: business days from the collection day to the day the money is available.
    pub delay_business_days: u32,
    /// What the merchant is paid in: COP, or USD converted at the day's rate.
    pub currency: Currency,
    /// Taken off the rate when converting to USD (ignored for COP).
    pub fx_markup: BasisPoints,
}

impl Default for SettlementTerms {
    /// T+1, in COP, no markup.
    fn default() -> Self {
        SettlementTerms {
            delay_business_days: SETTLEMENT_DELAY_BUSINESS_DAYS_DEFAULT,
            currency: Currency::Cop,
            fx_markup: BasisPoints::default(),
        }
    }
}

/// Settlement terms that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettlementTermsError {
    /// More than [`SETTLEMENT_DELAY_BUSINESS_DAYS_MAX`].
    #[error(
        "delay_business_days must be between 0 and {SETTLEMENT_DELAY_BUSINESS_DAYS_MAX}, not {0}"
    )]
    DelayTooLong(u32),
}

impl SettlementTerms {
    /// Checks the bounds.
    pub fn validate(&self) -> Result<(), SettlementTermsError> {
        if self.delay_business_days > SETTLEMENT_DELAY_BUSINESS_DAYS_MAX {
            return Err(SettlementTermsError::DelayTooLong(self.delay_business_days));
        }
        Ok(())
    }
}

/// The Bogotá business day whose batch money collected at `at` belongs to.
pub fn collection_day(at: Timestamp) -> Result<Date, CalendarError> {
    calendar::business_day_on_or_after(calendar::bogota_date(at))
}

/// When money collected at `at` becomes available: T+`delay` business days.
pub fn available_on(at: Timestamp, delay_business_days: u32) -> Result<Date, CalendarError> {
    calendar::add_business_days(collection_day(at)?, delay_business_days)
}

/// COP per USD, in micro-pesos (six decimals). Always positive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct CopPerUsd(u64);

/// A rate that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    /// Zero or unparseable.
    #[error(
        "a rate must be a positive number of pesos per dollar with at most six decimals, like 4012.345678"
    )]
    Invalid,
    /// Outside [`RATE_COP_PER_USD_MIN`, `RATE_COP_PER_USD_MAX`].
    #[error("a COP per USD rate must be between {RATE_COP_PER_USD_MIN} and {RATE_COP_PER_USD_MAX}")]
    OutOfRange,
}

/// Sanity bounds on a COP/USD rate: a typo (a missing or extra digit) is refused rather than
/// settled. Historic rates stayed between ~700 and ~5,100.
pub const RATE_COP_PER_USD_MIN: u64 = 100;
/// See [`RATE_COP_PER_USD_MIN`].
pub const RATE_COP_PER_USD_MAX: u64 = 100_000;

impl CopPerUsd {
    /// From micro-pesos per dollar.
    pub fn from_micros(micros: u64) -> Result<CopPerUsd, RateError> {
        if micros == 0 {
            return Err(RateError::Invalid);
        }
        if !(RATE_COP_PER_USD_MIN * RATE_SCALE..=RATE_COP_PER_USD_MAX * RATE_SCALE)
            .contains(&micros)
        {
            return Err(RateError::OutOfRange);
        }
        Ok(CopPerUsd(micros))
    }

    /// Parses `4012.345678` (at most six decimals, no sign, no exponent).
    pub fn parse(text: &str) -> Result<CopPerUsd, RateError> {
        let (whole, fraction) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let has_point = text.contains('.');
        if !digits(whole) || (has_point && !digits(fraction)) || fraction.len() > 6 {
            return Err(RateError::Invalid);
        }
        let whole: u64 = whole.parse().map_err(|_| RateError::Invalid)?;
        let padded = format!("{fraction:0<6}");
        let fraction: u64 = padded.parse().map_err(|_| RateError::Invalid)?;
        let micros = whole
            .checked_mul(RATE_SCALE)
            .and_then(|w| w.checked_add(fraction))
            .ok_or(RateError::OutOfRange)?;
        CopPerUsd::from_micros(micros)
    }

    /// Micro-pesos per dollar.
    pub const fn micros(self) -> u64 {
        self.0
    }
}

impl TryFrom<u64> for CopPerUsd {
    type Error = RateError;

    fn try_from(value: u64) -> Result<Self, Self::Error> {
        CopPerUsd::from_micros(value)
    }
}

impl From<CopPerUsd> for u64 {
    fn from(value: CopPerUsd) -> Self {
        value.0
    }
}

impl std::fmt::Display for CopPerUsd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:06}", self.0 / RATE_SCALE, self.0 % RATE_SCALE)
    }
}

/// Converts whole pesos to US cents at `rate` less `markup`, rounded half up.
///
/// cents = pesos × 100 × 10⁶ × (10⁴ − markup) ÷ (rate_micros × 10⁴)
pub fn cop_to_usd_cents(
    pesos: Amount,
    rate: CopPerUsd,
    markup: BasisPoints,
) -> Result<Amount, MoneyError> {
    let numerator = i128::from(pesos.minor())
        * 100
        * i128::from(RATE_SCALE)
        * i128::from(BASIS_POINTS_PER_WHOLE - markup.get());
    let denominator = i128::from(rate.micros()) * i128::from(BASIS_POINTS_PER_WHOLE);
    let cents = (2 * numerator + denominator) / (2 * denominator);
    if cents > i128::from(AMOUNT_MINOR_MAX) {
        return Err(MoneyError::TooLarge {
            got: cents,
            max: AMOUNT_MINOR_MAX,
        });
    }
    Amount::new(i64::try_from(cents).map_err(|_| MoneyError::TooLarge {
        got: cents,
        max: AMOUNT_MINOR_MAX,
    })?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn bogota(y: i16, m: i8, d: i8, h: i8, min: i8) -> Timestamp {
        date(y, m, d)
            .at(h, min, 0, 0)
            .to_zoned_datetime(calendar::bogota())
            .unwrap()
            .timestamp()
    }

    #[test]
    fn settlement_dates_follow_the_business_calendar() {
        let cases = [
            // (collected at Bogotá time, T+N, available on)
            (bogota(2026, 11, 25, 10, 0), 1, date(2026, 11, 26)), // Wed → Thu
            (bogota(2026, 11, 27, 23, 59), 1, date(2026, 11, 30)), // Fri before cut-off → Mon
            (bogota(2026, 11, 28, 0, 0), 1, date(2026, 12, 1)),   // Sat → Mon's batch → Tue
            (bogota(2026, 12, 24, 12, 0), 1, date(2026, 12, 28)), // Christmas, weekend
            (bogota(2026, 12, 31, 12, 0), 1, date(2027, 1, 4)), // year end: Jan 1 holiday, weekend
            (bogota(2027, 1, 8, 9, 0), 1, date(2027, 1, 12)),   // Mon 11 Jan is Epiphany (moved)
            (bogota(2026, 4, 1, 9, 0), 1, date(2026, 4, 6)),    // Holy Thursday and Good Friday
            (bogota(2026, 11, 25, 10, 0), 0, date(2026, 11, 25)),
            (bogota(2026, 11, 25, 10, 0), 3, date(2026, 11, 30)),
        ];
        for (at, n, expected) in cases {
            assert_eq!(available_on(at, n).unwrap(), expected, "{at} T+{n}");
        }
    }

    #[test]
    fn the_cut_off_is_midnight_in_bogota_not_utc() {
        // 23:30 Bogotá on Wednesday is 04:30 UTC on Thursday: still Wednesday's batch.
        let at = bogota(2026, 11, 25, 23, 30);
        assert_eq!(collection_day(at).unwrap(), date(2026, 11, 25));
    }

    #[test]
    fn rates_parse_with_up_to_six_decimals() {
        assert_eq!(
            CopPerUsd::parse("4012.345678").unwrap().micros(),
            4_012_345_678
        );
        assert_eq!(CopPerUsd::parse("4000").unwrap().micros(), 4_000_000_000);
        assert_eq!(
            CopPerUsd::parse("4000.5").unwrap().to_string(),
            "4000.500000"
        );
        for bad in [
            "",
            "-4000",
            "4000.1234567",
            "4e3",
            "abc",
            "4000.",
            ".5",
            "0",
        ] {
            assert!(CopPerUsd::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(CopPerUsd::parse("40"), Err(RateError::OutOfRange));
        assert_eq!(CopPerUsd::parse("400000"), Err(RateError::OutOfRange));
    }

    #[test]
    fn conversion_rounds_half_up_after_the_markup() {
        let rate = CopPerUsd::parse("4000").unwrap();
        let none = BasisPoints::new(0).unwrap();
        // 4,000 pesos = 1 USD = 100 cents.
        assert_eq!(
            cop_to_usd_cents(Amount::new(4_000).unwrap(), rate, none)
                .unwrap()
                .minor(),
            100
        );
        // 20 pesos = 0.5 cent → 1; 19 pesos = 0.475 → 0.
        assert_eq!(
            cop_to_usd_cents(Amount::new(20).unwrap(), rate, none)
                .unwrap()
                .minor(),
            1
        );
        assert_eq!(
            cop_to_usd_cents(Amount::new(19).unwrap(), rate, none)
                .unwrap()
                .minor(),
            0
        );
        // 1.5 % markup on 1,000,000 pesos: 250 USD × 0.985 = 246.25 USD.
        let markup = BasisPoints::new(150).unwrap();
        assert_eq!(
            cop_to_usd_cents(Amount::new(1_000_000).unwrap(), rate, markup)
                .unwrap()
                .minor(),
            24_625
        );
        // Odd rate: 150,000 / 4012.345678 = 37.38462… USD → 3,738 cents.
        let odd = CopPerUsd::parse("4012.345678").unwrap();
        assert_eq!(
            cop_to_usd_cents(Amount::new(150_000).unwrap(), odd, none)
                .unwrap()
                .minor(),
            3_738
        );
    }
}
