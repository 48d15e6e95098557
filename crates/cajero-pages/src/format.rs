//! Colombian formatting: money ("$ 150.000"), codes grouped for reading aloud ("4280 7357"),
//! and times in Bogotá.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::{Lang, PagesError};

/// Digits per group when a code is read aloud at the counter (as Efecty prints them).
pub(crate) const CODE_GROUP_DIGITS: usize = 4;

/// The time zone that cash networks in Colombia count in (no daylight saving time).
pub(crate) const BOGOTA: &str = "America/Bogota";

/// An amount as Colombians write it: `$ 150.000` for COP (whole pesos), `US$ 1.234,56` for USD
/// (cents). Dots group thousands, a comma separates decimals.
pub(crate) fn money(amount: i64, currency: &str) -> Result<String, PagesError> {
    let (symbol, decimals) = match currency {
        "COP" => ("$", 0),
        "USD" => ("US$", 2),
        other => {
            return Err(PagesError::UnsupportedCurrency {
                currency: other.to_owned(),
            });
        }
    };
    let sign = if amount < 0 { "-" } else { "" };
    let magnitude = amount.unsigned_abs();
    let divisor = 10u64.pow(decimals);
    let units = group_thousands(magnitude / divisor);
    let text = if decimals == 0 {
        format!("{sign}{symbol} {units}")
    } else {
        let cents = magnitude % divisor;
        format!(
            "{sign}{symbol} {units},{cents:0width$}",
            width = decimals as usize
        )
    };
    Ok(text)
}

fn group_thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// A code in groups of four from the left, the way a cashier asks for it: `4280 7357`,
/// `5821 0937 44`. Spaces already in the code are ignored.
pub(crate) fn group_code(code: &str) -> String {
    let chars: Vec<char> = code.chars().filter(|c| !c.is_whitespace()).collect();
    chars
        .chunks(CODE_GROUP_DIGITS)
        .map(|group| group.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The code as a screen reader should say it: one digit at a time, groups separated by a pause.
pub(crate) fn spoken_code(code: &str) -> String {
    group_code(code)
        .split(' ')
        .map(|group| {
            group
                .chars()
                .map(String::from)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `text` with no-break spaces, so a code or an amount quoted in a sentence never splits
/// across lines ("4280" at the end of one, "7357" at the start of the next).
pub(crate) fn unbreakable(text: &str) -> String {
    text.replace(' ', "\u{a0}")
}

/// The code without spaces, as it sits in the barcode.
pub(crate) fn code_digits(code: &str) -> String {
    code.chars().filter(|c| !c.is_whitespace()).collect()
}

/// A moment as a Bogotá date and time of day, in the page's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LocalTime {
    /// `28/11/2026` (Spanish) or `28 November 2026` (English, where 28/11 could be misread).
    pub date: String,
    /// `23:59`, 24-hour clock.
    pub time: String,
}

pub(crate) fn bogota(at: Timestamp, lang: Lang) -> Result<LocalTime, PagesError> {
    let tz = TimeZone::get(BOGOTA).map_err(|e| PagesError::TimeZone(e.to_string()))?;
    let zoned = at.to_zoned_datetime(tz);
    let date = match lang {
        Lang::Es => zoned.strftime("%d/%m/%Y").to_string(),
        Lang::En => zoned.strftime("%-d %B %Y").to_string(),
    };
    Ok(LocalTime {
        date,
        time: zoned.strftime("%H:%M").to_string(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn pesos_use_dots_for_thousands_and_no_decimals() {
        let cases = [
            (0, "$ 0"),
            (999, "$ 999"),
            (1_000, "$ 1.000"),
            (150_000, "$ 150.000"),
            (6_000_000, "$ 6.000.000"),
            (-20_000, "-$ 20.000"),
            (i64::MIN, "-$ 9.223.372.036.854.775.808"),
        ];
        for (amount, expected) in cases {
            assert_eq!(money(amount, "COP").unwrap(), expected);
        }
    }

    #[test]
    fn dollars_are_cents_with_a_decimal_comma() {
        assert_eq!(money(123_456, "USD").unwrap(), "US$ 1.234,56");
        assert_eq!(money(5, "USD").unwrap(), "US$ 0,05");
    }

    #[test]
    fn unknown_currencies_are_refused() {
        assert!(matches!(
            money(1, "EUR"),
            Err(PagesError::UnsupportedCurrency { currency }) if currency == "EUR"
        ));
    }

    #[test]
    fn codes_are_grouped_in_fours_from_the_left() {
        assert_eq!(group_code("42807357"), "4280 7357");
        assert_eq!(group_code("4280 7357"), "4280 7357");
        assert_eq!(group_code("5821093744"), "5821 0937 44");
        assert_eq!(group_code("123"), "123");
        assert_eq!(spoken_code("5821093744"), "5 8 2 1, 0 9 3 7, 4 4");
    }

    #[test]
    fn expiry_is_shown_in_bogota_time() {
        // 04:59 UTC on the 29th is 23:59 on the 28th in Bogotá (UTC-5, no DST).
        let at: Timestamp = "2026-11-29T04:59:00Z".parse().unwrap();
        let es = bogota(at, Lang::Es).unwrap();
        assert_eq!(
            (es.date.as_str(), es.time.as_str()),
            ("28/11/2026", "23:59")
        );
        let en = bogota(at, Lang::En).unwrap();
        assert_eq!(en.date, "28 November 2026");
    }
}
