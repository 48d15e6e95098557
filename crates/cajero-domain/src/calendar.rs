//! The Colombian business calendar: public holidays, business days and settlement T+N.
//!
//! Settlement ("available after T+N business days"), voucher expiry notices and report cut-offs
//! all count Colombian business days: Monday to Friday and not a public holiday. The holidays
//! are computed from their legal rules (fixed dates, Easter-based dates, and the Monday moves
//! of Ley 51 de 1983, the "Ley Emiliani"), not read from a hand-typed list; the tests check
//! the result against an independent implementation for every year 2000–2040.
//!
//! Everything here is pure: the current date or instant always comes in as an argument
//! (see [`bogota_date`] to turn an instant into a Bogotá calendar date).

use std::sync::LazyLock;

use jiff::Span;
use jiff::Timestamp;
use jiff::civil::{Date, Weekday};
use jiff::tz::{Offset, TimeZone};

/// IANA name of Colombia's (only) time zone.
pub const BOGOTA_TZ_NAME: &str = "America/Bogota";

/// Colombia's offset from UTC, in hours. Used only if the bundled time-zone database somehow
/// lacks [`BOGOTA_TZ_NAME`]; that is safe because Colombia has observed no daylight saving time
/// since 1993, so the fixed offset is exact for every instant the calendar supports.
const BOGOTA_UTC_OFFSET_HOURS: i8 = -5;

/// First year with holiday rules: the Ley Emiliani (Ley 51 de 1983) applies from 1984.
pub const YEAR_MIN: i16 = 1984;

/// Last year with holiday rules. Laws change (9 July was added from 2026), so rather than
/// pretend to know the far future, the calendar refuses to answer past this year.
pub const YEAR_MAX: i16 = 2100;

/// Largest N accepted by [`add_business_days`]. Settlement terms are days or weeks; about
/// fourteen years of business days means a bug upstream, and the bound keeps the day-by-day
/// walk short (at most ~5,200 calendar days).
pub const BUSINESS_DAYS_MAX: u32 = 3660;

/// First year in which 9 July (Nuestra Señora del Rosario de Chiquinquirá) is a public holiday.
const CHIQUINQUIRA_FIRST_YEAR: i16 = 2026;

/// Why a calendar question has no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The year has no known holiday rules.
    #[error("year {year} is outside the supported calendar years {min}..={max}", min = YEAR_MIN, max = YEAR_MAX)]
    YearOutOfRange {
        /// The year asked about.
        year: i16,
    },
    /// Counting business days from `start` would go past the last supported year.
    #[error(
        "{business_days} business days from {start} goes past {max}-12-31, the end of the supported calendar",
        max = YEAR_MAX
    )]
    LeavesSupportedRange {
        /// The date counted from.
        start: Date,
        /// How many business days were asked for.
        business_days: u32,
    },
    /// More business days were asked for than [`BUSINESS_DAYS_MAX`].
    #[error("{business_days} business days is more than the maximum of {max}", max = BUSINESS_DAYS_MAX)]
    TooManyBusinessDays {
        /// How many business days were asked for.
        business_days: u32,
    },
}

/// One Colombian public holiday as observed (that is, after any move to Monday).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Holiday {
    /// The day it is observed, serialized as `YYYY-MM-DD`.
    #[serde(serialize_with = "serialize_date")]
    pub date: Date,
    /// Its usual Spanish name, e.g. `"Día de la Independencia"`.
    pub name: &'static str,
}

/// Writes a date as `YYYY-MM-DD` (jiff's `Display`), without needing jiff's `serde` feature.
fn serialize_date<S: serde::Serializer>(date: &Date, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(date)
}

/// Colombia's time zone, `America/Bogota`, from the time-zone database bundled into the binary.
pub fn bogota() -> TimeZone {
    static BOGOTA: LazyLock<TimeZone> = LazyLock::new(|| {
        TimeZone::get(BOGOTA_TZ_NAME)
            .unwrap_or_else(|_| TimeZone::fixed(Offset::constant(BOGOTA_UTC_OFFSET_HOURS)))
    });
    BOGOTA.clone()
}

/// The calendar date in Bogotá at the instant `at`.
pub fn bogota_date(at: Timestamp) -> Date {
    bogota().to_datetime(at).date()
}

/// Whether the calendar has holiday rules for `year` ([`YEAR_MIN`]..=[`YEAR_MAX`]).
pub const fn is_supported_year(year: i16) -> bool {
    YEAR_MIN <= year && year <= YEAR_MAX
}

/// Every public holiday of `year`, sorted by date.
///
/// Two holidays that land on the same Monday are two entries (2025-06-30 is both Sagrado
/// Corazón and San Pedro y San Pablo), so the number of distinct dates can be smaller than the
/// number of entries. There are 18 holidays a year until 2025 and 19 from 2026.
///
/// # Errors
///
/// [`CalendarError::YearOutOfRange`] outside [`YEAR_MIN`]..=[`YEAR_MAX`].
pub fn holidays(year: i16) -> Result<Vec<Holiday>, CalendarError> {
    let easter = easter_sunday(year)?;
    let mut holidays: Vec<Holiday> = RULES
        .iter()
        .filter(|rule| year >= rule.first_year)
        .map(|rule| Holiday {
            date: rule.observed_in(year, easter),
            name: rule.name,
        })
        .collect();
    // Stable: same-day holidays keep the order of `RULES`.
    holidays.sort_by_key(|holiday| holiday.date);
    Ok(holidays)
}

/// Easter Sunday of `year` in the Gregorian calendar, by the anonymous algorithm published by
/// Meeus (also known as the Meeus/Jones/Butcher algorithm).
///
/// # Errors
///
/// [`CalendarError::YearOutOfRange`] outside [`YEAR_MIN`]..=[`YEAR_MAX`].
pub fn easter_sunday(year: i16) -> Result<Date, CalendarError> {
    if !is_supported_year(year) {
        return Err(CalendarError::YearOutOfRange { year });
    }
    let y = i32::from(year);
    let a = y % 19;
    let b = y / 100;
    let c = y % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    // Meeus gives month = n / 31 and day = n % 31 + 1 for n = h + l - 7m + 114; counting from
    // 1 March instead (n - 93 days after it) avoids building a date from computed parts.
    let days_after_first_of_march = h + l - 7 * m + 21;
    Ok(plus_days(
        jiff::civil::date(year, 3, 1),
        days_after_first_of_march,
    ))
}

/// Whether `date` is a Colombian public holiday.
///
/// Outside [`YEAR_MIN`]..=[`YEAR_MAX`] no holiday rules are known and this returns `false`;
/// use [`is_supported_year`] or [`holidays`] where that difference matters.
pub fn is_holiday(date: Date) -> bool {
    YearHolidays::for_year(date.year()).is_ok_and(|year| year.contains(date))
}

/// Whether `date` is a Colombian business day: Monday to Friday and not a public holiday.
///
/// Outside [`YEAR_MIN`]..=[`YEAR_MAX`] only weekends count as non-business days (no holiday
/// rules are known there). This keeps the predicate a plain `bool` for everyday use; the
/// counting functions ([`add_business_days`] and friends) refuse unsupported years instead.
pub fn is_business_day(date: Date) -> bool {
    is_weekday(date) && !is_holiday(date)
}

/// The first business day strictly after `date` (T+1).
///
/// # Errors
///
/// As [`add_business_days`].
pub fn next_business_day(date: Date) -> Result<Date, CalendarError> {
    add_business_days(date, 1)
}

/// `date` itself if it is a business day, otherwise the first business day after it (T+0).
///
/// # Errors
///
/// As [`add_business_days`].
pub fn business_day_on_or_after(date: Date) -> Result<Date, CalendarError> {
    add_business_days(date, 0)
}

/// T+N: the `days`-th business day strictly after `date`; for `days == 0`, `date` itself if it
/// is a business day, else the next one (as [`business_day_on_or_after`]).
///
/// `date` need not be a business day: the count starts on the day after it whatever it is.
/// So T+1 from a Friday is the Monday, or the Tuesday if that Monday is a holiday; T+1 from a
/// Saturday is also the Monday, the same day as T+0. A caller that wants to roll a
/// non-business trade date forward before counting writes
/// `add_business_days(business_day_on_or_after(date)?, n)`.
///
/// The result is never before `date`, is always a business day, and grows strictly with
/// `days` from `days == 1` on.
///
/// # Errors
///
/// - [`CalendarError::TooManyBusinessDays`] if `days` exceeds [`BUSINESS_DAYS_MAX`];
/// - [`CalendarError::YearOutOfRange`] if `date` is outside [`YEAR_MIN`]..=[`YEAR_MAX`];
/// - [`CalendarError::LeavesSupportedRange`] if the answer would fall after [`YEAR_MAX`].
pub fn add_business_days(date: Date, days: u32) -> Result<Date, CalendarError> {
    if days > BUSINESS_DAYS_MAX {
        return Err(CalendarError::TooManyBusinessDays {
            business_days: days,
        });
    }
    let leaves_range = CalendarError::LeavesSupportedRange {
        start: date,
        business_days: days,
    };
    let mut year = YearHolidays::for_year(date.year())?;
    let mut current = date;
    let mut remaining = days;
    if days == 0 {
        if year.is_business_day(current) {
            return Ok(current);
        }
        remaining = 1;
    }
    while remaining > 0 {
        current = current.tomorrow().map_err(|_| leaves_range)?;
        if current.year() != year.year {
            year = YearHolidays::for_year(current.year()).map_err(|_| leaves_range)?;
        }
        if year.is_business_day(current) {
            remaining -= 1;
        }
    }
    Ok(current)
}

/// How a holiday's observed date is found in a given year.
#[derive(Debug, Clone, Copy)]
enum Rule {
    /// Always on this day of this month.
    Fixed { month: i8, day: i8 },
    /// On this day of this month if that is a Monday, else on the following Monday
    /// (Ley 51 de 1983, "Ley Emiliani").
    MovedToMonday { month: i8, day: i8 },
    /// This many days after Easter Sunday. The Ley Emiliani moves Ascension, Corpus Christi
    /// and Sacred Heart to Monday; the offsets below (43, 64, 71) already land on Monday.
    Easter { days: i8 },
}

/// A named holiday and the rule that places it.
#[derive(Debug, Clone, Copy)]
struct HolidayRule {
    name: &'static str,
    rule: Rule,
    /// First year the holiday exists (most predate [`YEAR_MIN`]).
    first_year: i16,
}

impl HolidayRule {
    const fn new(name: &'static str, rule: Rule) -> Self {
        Self {
            name,
            rule,
            first_year: YEAR_MIN,
        }
    }

    /// The observed date in `year`, whose Easter Sunday is `easter`.
    ///
    /// `year` must be supported (it is, when `easter` came from [`easter_sunday`]): month and
    /// day come from [`RULES`], which holds only dates that exist in every year, so building
    /// the date cannot fail.
    fn observed_in(self, year: i16, easter: Date) -> Date {
        match self.rule {
            Rule::Fixed { month, day } => jiff::civil::date(year, month, day),
            Rule::MovedToMonday { month, day } => {
                let date = jiff::civil::date(year, month, day);
                plus_days(date, i32::from(date.weekday().until(Weekday::Monday)))
            }
            Rule::Easter { days } => plus_days(easter, i32::from(days)),
        }
    }
}

/// All Colombian public holidays, in calendar order (which orders same-day entries).
const RULES: [HolidayRule; 19] = [
    HolidayRule::new("Año Nuevo", Rule::Fixed { month: 1, day: 1 }),
    HolidayRule::new(
        "Día de los Reyes Magos",
        Rule::MovedToMonday { month: 1, day: 6 },
    ),
    HolidayRule::new("Día de San José", Rule::MovedToMonday { month: 3, day: 19 }),
    HolidayRule::new("Jueves Santo", Rule::Easter { days: -3 }),
    HolidayRule::new("Viernes Santo", Rule::Easter { days: -2 }),
    HolidayRule::new("Día del Trabajo", Rule::Fixed { month: 5, day: 1 }),
    HolidayRule::new("Ascensión del Señor", Rule::Easter { days: 43 }),
    HolidayRule::new("Corpus Christi", Rule::Easter { days: 64 }),
    HolidayRule::new("Sagrado Corazón", Rule::Easter { days: 71 }),
    HolidayRule::new(
        "San Pedro y San Pablo",
        Rule::MovedToMonday { month: 6, day: 29 },
    ),
    HolidayRule {
        name: "Nuestra Señora del Rosario de Chiquinquirá",
        rule: Rule::MovedToMonday { month: 7, day: 9 },
        first_year: CHIQUINQUIRA_FIRST_YEAR,
    },
    HolidayRule::new("Día de la Independencia", Rule::Fixed { month: 7, day: 20 }),
    HolidayRule::new("Batalla de Boyacá", Rule::Fixed { month: 8, day: 7 }),
    HolidayRule::new(
        "Asunción de la Virgen",
        Rule::MovedToMonday { month: 8, day: 15 },
    ),
    HolidayRule::new("Día de la Raza", Rule::MovedToMonday { month: 10, day: 12 }),
    HolidayRule::new(
        "Todos los Santos",
        Rule::MovedToMonday { month: 11, day: 1 },
    ),
    HolidayRule::new(
        "Independencia de Cartagena",
        Rule::MovedToMonday { month: 11, day: 11 },
    ),
    HolidayRule::new("Inmaculada Concepción", Rule::Fixed { month: 12, day: 8 }),
    HolidayRule::new("Navidad", Rule::Fixed { month: 12, day: 25 }),
];

/// The holiday dates of one supported year, computed once and reused while walking day by day
/// (no allocation).
#[derive(Debug, Clone, Copy)]
struct YearHolidays {
    year: i16,
    /// One slot per entry of [`RULES`]; `None` for a holiday that does not exist yet that year.
    dates: [Option<Date>; RULES.len()],
}

impl YearHolidays {
    fn for_year(year: i16) -> Result<Self, CalendarError> {
        let easter = easter_sunday(year)?;
        let dates =
            RULES.map(|rule| (year >= rule.first_year).then(|| rule.observed_in(year, easter)));
        Ok(Self { year, dates })
    }

    fn contains(&self, date: Date) -> bool {
        self.dates.contains(&Some(date))
    }

    fn is_business_day(&self, date: Date) -> bool {
        is_weekday(date) && !self.contains(date)
    }
}

/// Monday to Friday.
fn is_weekday(date: Date) -> bool {
    !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
}

/// `date` moved by `days` calendar days. Only called with supported years and offsets of at
/// most a few months, far from jiff's limits (years -9999..=9999), so it never saturates.
fn plus_days(date: Date, days: i32) -> Date {
    date.saturating_add(Span::new().days(days))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn holidays_on(day: Date) -> Vec<&'static str> {
        holidays(day.year())
            .unwrap()
            .into_iter()
            .filter(|holiday| holiday.date == day)
            .map(|holiday| holiday.name)
            .collect()
    }

    #[test]
    fn easter_sunday_matches_published_dates() {
        for (year, expected) in [
            (1984, date(1984, 4, 22)),
            (2000, date(2000, 4, 23)),
            (2008, date(2008, 3, 23)),
            (2011, date(2011, 4, 24)),
            (2024, date(2024, 3, 31)),
            (2025, date(2025, 4, 20)),
            (2026, date(2026, 4, 5)),
            (2038, date(2038, 4, 25)),
            (2100, date(2100, 3, 28)),
        ] {
            assert_eq!(easter_sunday(year).unwrap(), expected, "Easter {year}");
        }
    }

    #[test]
    fn easter_is_always_a_sunday_between_22_march_and_25_april() {
        for year in YEAR_MIN..=YEAR_MAX {
            let easter = easter_sunday(year).unwrap();
            assert_eq!(easter.weekday(), Weekday::Sunday, "{easter}");
            assert!(
                date(year, 3, 22) <= easter && easter <= date(year, 4, 25),
                "{easter}"
            );
        }
    }

    #[test]
    fn holidays_of_2025_are_the_official_list() {
        let got: Vec<(String, &str)> = holidays(2025)
            .unwrap()
            .into_iter()
            .map(|holiday| (holiday.date.to_string(), holiday.name))
            .collect();
        let expected = [
            ("2025-01-01", "Año Nuevo"),
            ("2025-01-06", "Día de los Reyes Magos"),
            ("2025-03-24", "Día de San José"),
            ("2025-04-17", "Jueves Santo"),
            ("2025-04-18", "Viernes Santo"),
            ("2025-05-01", "Día del Trabajo"),
            ("2025-06-02", "Ascensión del Señor"),
            ("2025-06-23", "Corpus Christi"),
            ("2025-06-30", "Sagrado Corazón"),
            ("2025-06-30", "San Pedro y San Pablo"),
            ("2025-07-20", "Día de la Independencia"),
            ("2025-08-07", "Batalla de Boyacá"),
            ("2025-08-18", "Asunción de la Virgen"),
            ("2025-10-13", "Día de la Raza"),
            ("2025-11-03", "Todos los Santos"),
            ("2025-11-17", "Independencia de Cartagena"),
            ("2025-12-08", "Inmaculada Concepción"),
            ("2025-12-25", "Navidad"),
        ]
        .map(|(day, name)| (day.to_string(), name));
        assert_eq!(got, expected);
    }

    #[test]
    fn two_holidays_on_one_monday_are_two_entries() {
        assert_eq!(
            holidays_on(date(2025, 6, 30)),
            ["Sagrado Corazón", "San Pedro y San Pablo"]
        );
        let all = holidays(2025).unwrap();
        let mut distinct: Vec<Date> = all.iter().map(|holiday| holiday.date).collect();
        distinct.dedup();
        assert_eq!((all.len(), distinct.len()), (18, 17));
    }

    #[test]
    fn a_year_has_18_holidays_until_2025_and_19_from_2026() {
        for year in YEAR_MIN..=YEAR_MAX {
            let expected = if year < 2026 { 18 } else { 19 };
            assert_eq!(holidays(year).unwrap().len(), expected, "{year}");
        }
    }

    #[test]
    fn holidays_are_sorted_and_within_their_year() {
        for year in YEAR_MIN..=YEAR_MAX {
            let all = holidays(year).unwrap();
            assert!(
                all.windows(2).all(|pair| pair[0].date <= pair[1].date),
                "{year}"
            );
            assert!(
                all.iter().all(|holiday| holiday.date.year() == year),
                "{year}"
            );
        }
    }

    #[test]
    fn chiquinquira_is_a_holiday_from_2026_only() {
        let name = "Nuestra Señora del Rosario de Chiquinquirá";
        assert!(holidays(2025).unwrap().iter().all(|h| h.name != name));
        assert_eq!(holidays_on(date(2026, 7, 13)), [name]);
        // 9 July 2029 is a Monday: it stays.
        assert_eq!(holidays_on(date(2029, 7, 9)), [name]);
    }

    #[test]
    fn a_moved_holiday_stays_on_monday_and_otherwise_goes_to_the_next_monday() {
        // Already Monday: stays.
        assert_eq!(holidays_on(date(2026, 10, 12)), ["Día de la Raza"]);
        assert_eq!(holidays_on(date(2026, 6, 29)), ["San Pedro y San Pablo"]);
        // Tuesday: six days later.
        assert_eq!(
            holidays_on(date(2025, 11, 17)),
            ["Independencia de Cartagena"]
        );
        assert!(!is_holiday(date(2025, 11, 11)));
        // Sunday: the next day.
        assert_eq!(holidays_on(date(2027, 8, 16)), ["Asunción de la Virgen"]);
        assert!(!is_holiday(date(2027, 8, 15)));
        // Saturday: two days later.
        assert_eq!(holidays_on(date(2024, 1, 8)), ["Día de los Reyes Magos"]);
    }

    #[test]
    fn fixed_holidays_stay_on_a_weekend() {
        // 20 July 2025 is a Sunday and is not moved.
        assert_eq!(holidays_on(date(2025, 7, 20)), ["Día de la Independencia"]);
        assert!(!is_holiday(date(2025, 7, 21)));
    }

    #[test]
    fn every_moved_holiday_is_observed_on_a_monday() {
        for year in YEAR_MIN..=YEAR_MAX {
            let easter = easter_sunday(year).unwrap();
            for rule in RULES {
                if let Rule::MovedToMonday { .. } | Rule::Easter { days: 43.. } = rule.rule {
                    let day = rule.observed_in(year, easter);
                    assert_eq!(day.weekday(), Weekday::Monday, "{} {day}", rule.name);
                }
            }
        }
    }

    #[test]
    fn unsupported_years_are_refused_with_the_range_in_the_message() {
        for year in [YEAR_MIN - 1, YEAR_MAX + 1, -9999, 9999] {
            assert_eq!(holidays(year), Err(CalendarError::YearOutOfRange { year }));
        }
        assert!(holidays(YEAR_MIN).is_ok() && holidays(YEAR_MAX).is_ok());
        let message = CalendarError::YearOutOfRange { year: 1983 }.to_string();
        assert!(
            message.contains("1983") && message.contains("1984..=2100"),
            "{message}"
        );
    }

    #[test]
    fn outside_supported_years_only_weekends_are_non_business_days() {
        assert!(!is_holiday(date(1983, 12, 25)));
        assert!(is_business_day(date(1983, 12, 26)));
        assert!(!is_business_day(date(2101, 1, 1)));
        assert!(is_business_day(date(2101, 1, 3)));
    }

    #[test]
    fn business_days_are_weekdays_that_are_not_holidays() {
        assert!(is_business_day(date(2025, 6, 27))); // Friday
        assert!(!is_business_day(date(2025, 6, 28))); // Saturday
        assert!(!is_business_day(date(2025, 6, 29))); // Sunday
        assert!(!is_business_day(date(2025, 6, 30))); // holiday Monday
        assert!(is_business_day(date(2025, 7, 1)));
    }

    #[test]
    fn t_plus_1_from_a_friday_is_monday_or_tuesday_after_a_holiday_monday() {
        assert_eq!(
            add_business_days(date(2025, 6, 20), 1),
            Ok(date(2025, 6, 24))
        );
        assert_eq!(add_business_days(date(2025, 7, 4), 1), Ok(date(2025, 7, 7)));
        assert_eq!(
            add_business_days(date(2025, 6, 27), 1),
            Ok(date(2025, 7, 1))
        );
        assert_eq!(next_business_day(date(2025, 6, 27)), Ok(date(2025, 7, 1)));
    }

    #[test]
    fn t_plus_0_is_the_day_itself_or_the_next_business_day() {
        assert_eq!(
            business_day_on_or_after(date(2025, 7, 1)),
            Ok(date(2025, 7, 1))
        );
        assert_eq!(
            business_day_on_or_after(date(2025, 6, 28)),
            Ok(date(2025, 7, 1))
        );
        // From a Saturday, T+0 and T+1 are the same Monday.
        assert_eq!(add_business_days(date(2025, 7, 5), 0), Ok(date(2025, 7, 7)));
        assert_eq!(add_business_days(date(2025, 7, 5), 1), Ok(date(2025, 7, 7)));
    }

    #[test]
    fn counting_crosses_holy_week_and_the_new_year() {
        // Wednesday before Easter 2025 + 1 skips Thursday, Friday and the weekend.
        assert_eq!(
            add_business_days(date(2025, 4, 16), 1),
            Ok(date(2025, 4, 21))
        );
        // 31 Dec 2025 (Wednesday) + 2 skips 1 Jan; 2 Jan is Friday, then 5 Jan Monday.
        assert_eq!(
            add_business_days(date(2025, 12, 31), 2),
            Ok(date(2026, 1, 5))
        );
        // 6 Jan 2026 is a Tuesday, so the Reyes Magos move to Monday 12 Jan: Friday 9 + 1 is 13.
        assert_eq!(
            add_business_days(date(2026, 1, 9), 1),
            Ok(date(2026, 1, 13))
        );
    }

    #[test]
    fn counting_refuses_unsupported_starts_too_many_days_and_leaving_the_range() {
        assert_eq!(
            add_business_days(date(1983, 12, 30), 1),
            Err(CalendarError::YearOutOfRange { year: 1983 })
        );
        assert_eq!(
            add_business_days(date(2025, 1, 2), BUSINESS_DAYS_MAX + 1),
            Err(CalendarError::TooManyBusinessDays {
                business_days: BUSINESS_DAYS_MAX + 1
            })
        );
        assert!(add_business_days(date(2025, 1, 2), BUSINESS_DAYS_MAX).is_ok());
        assert_eq!(
            next_business_day(date(2100, 12, 31)),
            Err(CalendarError::LeavesSupportedRange {
                start: date(2100, 12, 31),
                business_days: 1
            })
        );
        assert_eq!(
            next_business_day(date(2100, 12, 30)),
            Ok(date(2100, 12, 31))
        );
    }

    #[test]
    fn bogota_is_utc_minus_5_with_the_date_changing_at_05_00_utc() {
        assert_eq!(bogota().iana_name(), Some(BOGOTA_TZ_NAME));
        let before: Timestamp = "2025-01-01T04:59:59Z".parse().unwrap();
        let after: Timestamp = "2025-01-01T05:00:00Z".parse().unwrap();
        assert_eq!(bogota_date(before), date(2024, 12, 31));
        assert_eq!(bogota_date(after), date(2025, 1, 1));
    }

    #[test]
    fn a_holiday_serializes_its_date_as_yyyy_mm_dd() {
        let holiday = Holiday {
            date: date(2025, 6, 30),
            name: "Sagrado Corazón",
        };
        assert_eq!(
            serde_json::to_string(&holiday).unwrap(),
            r#"{"date":"2025-06-30","name":"Sagrado Corazón"}"#
        );
    }
}
