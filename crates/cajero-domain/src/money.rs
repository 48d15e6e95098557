//! Money: currencies, amounts in integer minor units, and basis-point fee arithmetic.
//!
//! Amounts are counted the way cash networks count them: COP in whole pesos (exponent 0, the
//! networks print no decimals), USD in cents. Arithmetic is checked and returns errors; there
//! is no `impl Add` and no float anywhere on a money path.
//!
//! **Rounding rule** (the only one in cajero): a percentage of an amount is rounded to the
//! currency's unit *half up* — a remainder of exactly one half goes to the larger amount, less
//! than one half goes down. Amounts are never negative, so "half up" and "half away from zero"
//! coincide. Example: 2.65 % of COP 150,001 is 3,975.0265 → 3,975; 0.4 % of COP 125 is
//! 0.5 → 1.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The largest amount cajero accepts in any currency, in minor units.
///
/// 10^15 minor units (a thousand trillion pesos) is far above any real movement and keeps
/// every sum of a few thousand amounts, and every `amount × basis points` product, well inside
/// `i64` / `i128`, so that overflow is a bug to assert on rather than a state to handle.
pub const AMOUNT_MINOR_MAX: i64 = 1_000_000_000_000_000;

/// Basis points in one whole (100 %).
pub const BASIS_POINTS_PER_WHOLE: u32 = 10_000;

/// A currency cajero moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Currency {
    /// Colombian peso, counted in whole pesos.
    #[serde(rename = "COP")]
    Cop,
    /// United States dollar, counted in cents.
    #[serde(rename = "USD")]
    Usd,
}

impl Currency {
    /// Every currency, for exhaustive tests and listings.
    pub const ALL: [Currency; 2] = [Currency::Cop, Currency::Usd];

    /// The ISO 4217 code in upper case.
    pub const fn code(self) -> &'static str {
        match self {
            Currency::Cop => "COP",
            Currency::Usd => "USD",
        }
    }

    /// How many decimal digits one unit of `amount` stands for: COP 0 (whole pesos, as the cash
    /// networks count them), USD 2 (cents).
    pub const fn exponent(self) -> u32 {
        match self {
            Currency::Cop => 0,
            Currency::Usd => 2,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The currency code is not one cajero moves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown currency {}: use one of COP, USD (upper case)", crate::shown_text(.0))]
pub struct ParseCurrencyError(pub String);

impl FromStr for Currency {
    type Err = ParseCurrencyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::ALL
            .into_iter()
            .find(|c| c.code() == s)
            .ok_or_else(|| ParseCurrencyError(s.chars().take(16).collect()))
    }
}

/// A rejected money operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Amounts are never negative; direction is carried by the ledger, not by a sign.
    #[error("amount {got} is negative")]
    Negative { got: i64 },
    /// Above [`AMOUNT_MINOR_MAX`].
    #[error("amount {got} is larger than the maximum {max}")]
    TooLarge { got: i128, max: i64 },
    /// A subtraction would go below zero.
    #[error("cannot subtract {subtrahend} from {minuend}: the result would be negative")]
    Underflow { minuend: i64, subtrahend: i64 },
    /// Two amounts in different currencies were combined.
    #[error("cannot combine {left} with {right}")]
    CurrencyMismatch { left: Currency, right: Currency },
    /// A rate above 100 %.
    #[error("{got} basis points is more than 100 % ({max})")]
    BasisPointsTooLarge { got: u32, max: u32 },
}

/// A non-negative amount in a currency's minor unit, at most [`AMOUNT_MINOR_MAX`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(try_from = "i64", into = "i64")]
pub struct Amount(i64);

impl Amount {
    /// Zero.
    pub const ZERO: Amount = Amount(0);
    /// The largest amount, [`AMOUNT_MINOR_MAX`].
    pub const MAX: Amount = Amount(AMOUNT_MINOR_MAX);

    /// The only constructor: checks the sign and the maximum.
    pub fn new(minor: i64) -> Result<Amount, MoneyError> {
        if minor < 0 {
            Err(MoneyError::Negative { got: minor })
        } else if minor > AMOUNT_MINOR_MAX {
            Err(MoneyError::TooLarge {
                got: i128::from(minor),
                max: AMOUNT_MINOR_MAX,
            })
        } else {
            Ok(Amount(minor))
        }
    }

    fn from_i128(value: i128) -> Result<Amount, MoneyError> {
        if value > i128::from(AMOUNT_MINOR_MAX) {
            return Err(MoneyError::TooLarge {
                got: value,
                max: AMOUNT_MINOR_MAX,
            });
        }
        // In range: 0 ≤ value ≤ AMOUNT_MINOR_MAX < i64::MAX, callers never pass negatives.
        Amount::new(i64::try_from(value).map_err(|_| MoneyError::TooLarge {
            got: value,
            max: AMOUNT_MINOR_MAX,
        })?)
    }

    /// The amount in minor units.
    pub const fn minor(self) -> i64 {
        self.0
    }

    /// Whether this is zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `self + other`, or [`MoneyError::TooLarge`].
    pub fn checked_add(self, other: Amount) -> Result<Amount, MoneyError> {
        Amount::from_i128(i128::from(self.0) + i128::from(other.0))
    }

    /// `self − other`, or [`MoneyError::Underflow`] when `other` is larger.
    pub fn checked_sub(self, other: Amount) -> Result<Amount, MoneyError> {
        if other.0 > self.0 {
            return Err(MoneyError::Underflow {
                minuend: self.0,
                subtrahend: other.0,
            });
        }
        Ok(Amount(self.0 - other.0))
    }

    /// `self × factor`, or [`MoneyError::TooLarge`].
    pub fn checked_mul(self, factor: u32) -> Result<Amount, MoneyError> {
        Amount::from_i128(i128::from(self.0) * i128::from(factor))
    }

    /// The sum of many amounts, or [`MoneyError::TooLarge`] as soon as it passes the maximum.
    pub fn checked_sum<I: IntoIterator<Item = Amount>>(amounts: I) -> Result<Amount, MoneyError> {
        amounts
            .into_iter()
            .try_fold(Amount::ZERO, |sum, a| sum.checked_add(a))
    }

    /// `rate` of this amount, rounded half up to the unit (see the module docs).
    pub fn percentage(self, rate: BasisPoints) -> Amount {
        let product = i128::from(self.0) * i128::from(rate.0);
        let whole = i128::from(BASIS_POINTS_PER_WHOLE);
        let rounded = (product + whole / 2) / whole;
        // rate ≤ 100 %, so the result is ≤ self and always fits.
        debug_assert!(rounded <= i128::from(self.0));
        Amount(i64::try_from(rounded).unwrap_or(self.0))
    }
}

impl TryFrom<i64> for Amount {
    type Error = MoneyError;

    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Amount::new(value)
    }
}

impl From<Amount> for i64 {
    fn from(value: Amount) -> Self {
        value.0
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A rate in basis points (1 bp = 0.01 %), at most 100 %.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(try_from = "u32", into = "u32")]
pub struct BasisPoints(u32);

impl BasisPoints {
    /// IVA, Colombia's VAT, charged on fees: 19 % (colombia.md).
    pub const IVA: BasisPoints = BasisPoints(1_900);
    /// GMF, the "4 por mil" tax on financial movements: 0.4 % (colombia.md).
    pub const GMF: BasisPoints = BasisPoints(40);

    /// The only constructor: at most [`BASIS_POINTS_PER_WHOLE`].
    pub fn new(bps: u32) -> Result<BasisPoints, MoneyError> {
        if bps > BASIS_POINTS_PER_WHOLE {
            Err(MoneyError::BasisPointsTooLarge {
                got: bps,
                max: BASIS_POINTS_PER_WHOLE,
            })
        } else {
            Ok(BasisPoints(bps))
        }
    }

    /// The rate in basis points.
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for BasisPoints {
    type Error = MoneyError;

    fn try_from(value: u32) -> Result<Self, Self::Error> {
        BasisPoints::new(value)
    }
}

impl From<BasisPoints> for u32 {
    fn from(value: BasisPoints) -> Self {
        value.0
    }
}

/// An amount together with its currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// In the currency's minor unit.
    pub amount: Amount,
    /// The currency.
    pub currency: Currency,
}

impl Money {
    /// Money of `amount` minor units of `currency`.
    pub const fn new(amount: Amount, currency: Currency) -> Money {
        Money { amount, currency }
    }

    /// Zero of a currency.
    pub const fn zero(currency: Currency) -> Money {
        Money::new(Amount::ZERO, currency)
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }

    /// `self + other` in the same currency.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        Ok(Money::new(
            self.amount.checked_add(other.amount)?,
            self.currency,
        ))
    }

    /// `self − other` in the same currency, never below zero.
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        Ok(Money::new(
            self.amount.checked_sub(other.amount)?,
            self.currency,
        ))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exp = self.currency.exponent();
        if exp == 0 {
            return write!(f, "{} {}", self.currency, self.amount.minor());
        }
        let unit = 10_i64.pow(exp);
        let minor = self.amount.minor();
        write!(
            f,
            "{} {}.{:0width$}",
            self.currency,
            minor / unit,
            minor % unit,
            width = exp as usize
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn amount(minor: i64) -> Amount {
        Amount::new(minor).unwrap()
    }

    #[test]
    fn amounts_outside_zero_to_max_are_refused() {
        assert_eq!(Amount::new(-1), Err(MoneyError::Negative { got: -1 }));
        assert!(matches!(
            Amount::new(AMOUNT_MINOR_MAX + 1),
            Err(MoneyError::TooLarge { .. })
        ));
        assert_eq!(Amount::new(0), Ok(Amount::ZERO));
        assert_eq!(Amount::new(AMOUNT_MINOR_MAX), Ok(Amount::MAX));
    }

    #[test]
    fn subtraction_never_goes_below_zero() {
        assert_eq!(
            amount(5).checked_sub(amount(6)),
            Err(MoneyError::Underflow {
                minuend: 5,
                subtrahend: 6
            })
        );
        assert_eq!(amount(6).checked_sub(amount(6)), Ok(Amount::ZERO));
    }

    #[test]
    fn money_of_different_currencies_does_not_mix() {
        let cop = Money::new(amount(1), Currency::Cop);
        let usd = Money::new(amount(1), Currency::Usd);
        assert_eq!(
            cop.checked_add(usd),
            Err(MoneyError::CurrencyMismatch {
                left: Currency::Cop,
                right: Currency::Usd
            })
        );
    }

    #[test]
    fn percentages_round_half_up_at_their_edges() {
        // (amount, bps, expected)
        let cases = [
            (150_001, 265, 3_975), // 3975.0265 → down
            (125, 40, 1),          // 0.5 → up
            (124, 40, 0),          // 0.496 → down
            (375, 40, 2),          // 1.5 → 2
            (374, 40, 1),          // 1.496 → 1
            (100, 10_000, 100),    // 100 %
            (100, 0, 0),
            (AMOUNT_MINOR_MAX, 10_000, AMOUNT_MINOR_MAX),
            (AMOUNT_MINOR_MAX, 1, AMOUNT_MINOR_MAX / 10_000),
            (2_500, 1_900, 475), // IVA on a 2,500 fee
            (1, 5_000, 1),       // exactly one half of one peso → 1
            (1, 4_999, 0),
        ];
        for (minor, bps, expected) in cases {
            let got = amount(minor).percentage(BasisPoints::new(bps).unwrap());
            assert_eq!(got.minor(), expected, "{bps} bp of {minor}");
        }
    }

    #[test]
    fn rates_above_one_hundred_percent_are_refused() {
        assert!(BasisPoints::new(10_001).is_err());
        assert_eq!(BasisPoints::IVA.get(), 1_900);
        assert_eq!(BasisPoints::GMF.get(), 40);
    }

    #[test]
    fn currencies_parse_only_their_upper_case_codes() {
        assert_eq!("COP".parse::<Currency>(), Ok(Currency::Cop));
        assert_eq!("USD".parse::<Currency>(), Ok(Currency::Usd));
        assert!("cop".parse::<Currency>().is_err());
        assert!("EUR".parse::<Currency>().is_err());
    }

    #[test]
    fn money_displays_in_major_units() {
        assert_eq!(
            Money::new(amount(150_000), Currency::Cop).to_string(),
            "COP 150000"
        );
        assert_eq!(
            Money::new(amount(1_005), Currency::Usd).to_string(),
            "USD 10.05"
        );
    }

    #[test]
    fn amounts_serialize_as_integers_and_refuse_negatives() {
        assert_eq!(serde_json::to_string(&amount(42)).unwrap(), "42");
        assert!(serde_json::from_str::<Amount>("-1").is_err());
        assert_eq!(serde_json::from_str::<Amount>("7").unwrap(), amount(7));
        assert!(serde_json::from_str::<Amount>("1.5").is_err());
    }

    proptest! {
        #[test]
        fn addition_is_exact_or_refused(a in 0..=AMOUNT_MINOR_MAX, b in 0..=AMOUNT_MINOR_MAX) {
            let exact = i128::from(a) + i128::from(b);
            match amount(a).checked_add(amount(b)) {
                Ok(sum) => prop_assert_eq!(i128::from(sum.minor()), exact),
                Err(_) => prop_assert!(exact > i128::from(AMOUNT_MINOR_MAX)),
            }
        }

        #[test]
        fn subtraction_is_exact_or_refused(a in 0..=AMOUNT_MINOR_MAX, b in 0..=AMOUNT_MINOR_MAX) {
            match amount(a).checked_sub(amount(b)) {
                Ok(diff) => prop_assert_eq!(diff.minor(), a - b),
                Err(_) => prop_assert!(b > a),
            }
        }

        #[test]
        fn multiplication_is_exact_or_refused(a in 0..=AMOUNT_MINOR_MAX, f in any::<u32>()) {
            let exact = i128::from(a) * i128::from(f);
            match amount(a).checked_mul(f) {
                Ok(p) => prop_assert_eq!(i128::from(p.minor()), exact),
                Err(_) => prop_assert!(exact > i128::from(AMOUNT_MINOR_MAX)),
            }
        }

        #[test]
        fn percentage_is_within_half_a_unit_of_the_exact_value(
            a in 0..=AMOUNT_MINOR_MAX, bps in 0..=BASIS_POINTS_PER_WHOLE
        ) {
            let got = i128::from(amount(a).percentage(BasisPoints::new(bps).unwrap()).minor());
            // |got − a·bps/10⁴| ≤ ½, with ties going up: 2·(got·10⁴ − a·bps) ∈ (−10⁴, 10⁴].
            let twice_error = 2 * (got * 10_000 - i128::from(a) * i128::from(bps));
            prop_assert!(twice_error > -10_000 && twice_error <= 10_000);
        }

        #[test]
        fn sums_never_wrap(values in proptest::collection::vec(0..=AMOUNT_MINOR_MAX, 0..50)) {
            let exact: i128 = values.iter().map(|v| i128::from(*v)).sum();
            match Amount::checked_sum(values.iter().map(|v| amount(*v))) {
                Ok(s) => prop_assert_eq!(i128::from(s.minor()), exact),
                Err(_) => prop_assert!(exact > i128::from(AMOUNT_MINOR_MAX)),
            }
        }
    }
}
