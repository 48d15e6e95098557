//! Checks the Colombian business calendar against an independent source.
//!
//! `tests/fixtures/holidays-co-2000-2040.json` holds the distinct holiday dates of every year
//! 2000–2040 as produced by the Python package `holidays` (written by
//! `scripts/gen-holidays-fixture.py`, which CI also runs with `--check`). Nothing here reuses
//! the calendar's own rules: business days and T+N are recomputed from the fixture by the
//! plainest possible day-by-day walk.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use cajero_domain::calendar::{
    YEAR_MAX, YEAR_MIN, add_business_days, holidays, is_business_day, is_holiday, next_business_day,
};
use jiff::civil::{Date, Weekday, date};
use proptest::prelude::*;

const FIXTURE: &str = include_str!("fixtures/holidays-co-2000-2040.json");
const FIRST_YEAR: i16 = 2000;
const LAST_YEAR: i16 = 2040;
const _: () = assert!(YEAR_MIN <= FIRST_YEAR && LAST_YEAR <= YEAR_MAX);

/// The fixture's holiday dates, by year.
fn fixture() -> BTreeMap<i16, BTreeSet<Date>> {
    let json: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
    assert_eq!(json["first_year"], i64::from(FIRST_YEAR));
    assert_eq!(json["last_year"], i64::from(LAST_YEAR));
    let years = json["years"].as_object().unwrap();
    let parsed: BTreeMap<i16, BTreeSet<Date>> = years
        .iter()
        .map(|(year, dates)| {
            let dates = dates
                .as_array()
                .unwrap()
                .iter()
                .map(|day| day.as_str().unwrap().parse::<Date>().unwrap())
                .collect();
            (year.parse().unwrap(), dates)
        })
        .collect();
    let expected_years: Vec<i16> = (FIRST_YEAR..=LAST_YEAR).collect();
    assert_eq!(parsed.keys().copied().collect::<Vec<_>>(), expected_years);
    parsed
}

/// Every fixture holiday in one set.
fn fixture_dates() -> BTreeSet<Date> {
    fixture().into_values().flatten().collect()
}

/// Every day from 1 January `FIRST_YEAR` to 31 December `LAST_YEAR`.
fn every_day() -> impl Iterator<Item = Date> {
    date(FIRST_YEAR, 1, 1)
        .series(jiff::Span::new().days(1))
        .take_while(|day| day.year() <= LAST_YEAR)
}

/// The business-day definition, from the fixture only.
fn naive_is_business_day(day: Date, holidays: &BTreeSet<Date>) -> bool {
    !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) && !holidays.contains(&day)
}

/// T+N by walking one day at a time; `None` when the walk leaves the fixture's years.
fn naive_add_business_days(start: Date, n: u32, holidays: &BTreeSet<Date>) -> Option<Date> {
    let mut day = start;
    if n == 0 {
        while !naive_is_business_day(day, holidays) {
            day = day.tomorrow().ok()?;
        }
    }
    let mut counted = 0;
    while counted < n {
        day = day.tomorrow().ok()?;
        if naive_is_business_day(day, holidays) {
            counted += 1;
        }
    }
    (day.year() <= LAST_YEAR).then_some(day)
}

#[test]
fn fixture_covers_years_inside_the_supported_range() {
    let fixture = fixture();
    // Sanity: the independent source is not empty or truncated.
    assert!(
        fixture.values().all(|dates| dates.len() >= 17),
        "{fixture:?}"
    );
}

#[test]
fn holiday_dates_match_the_independent_source_every_year_2000_to_2040() {
    for (year, expected) in fixture() {
        let got: BTreeSet<Date> = holidays(year)
            .unwrap()
            .into_iter()
            .map(|holiday| holiday.date)
            .collect();
        let missing: Vec<_> = expected.difference(&got).collect();
        let extra: Vec<_> = got.difference(&expected).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{year}: missing {missing:?}, extra {extra:?}"
        );
    }
}

#[test]
fn every_day_2000_to_2040_is_a_business_day_exactly_when_the_source_says_so() {
    let holidays = fixture_dates();
    let mut days = 0;
    for day in every_day() {
        assert_eq!(
            is_holiday(day),
            holidays.contains(&day),
            "is_holiday({day})"
        );
        assert_eq!(
            is_business_day(day),
            naive_is_business_day(day, &holidays),
            "is_business_day({day})"
        );
        days += 1;
    }
    assert_eq!(days, 14_976, "days in 2000..=2040");
}

#[test]
fn t_plus_n_matches_a_day_by_day_walk_over_the_source() {
    let holidays = fixture_dates();
    let mut checked = 0;
    for (index, day) in every_day().enumerate() {
        let ns: &[u32] = if index.is_multiple_of(13) {
            &[0, 1, 2, 3, 4, 5, 10, 20, 60, 250, 1000]
        } else {
            &[0, 1, 2, 3, 4, 5, 10, 20]
        };
        for &n in ns {
            if let Some(expected) = naive_add_business_days(day, n, &holidays) {
                assert_eq!(add_business_days(day, n), Ok(expected), "{day} + {n}");
                checked += 1;
            }
        }
    }
    assert!(checked > 120_000, "only {checked} cases checked");
}

/// Dates from 1984-01-01 to about 2093, leaving room to count forward inside the range.
fn supported_date() -> impl Strategy<Value = Date> {
    (0i32..40_000).prop_map(|offset| {
        date(YEAR_MIN, 1, 1)
            .checked_add(jiff::Span::new().days(offset))
            .unwrap()
    })
}

proptest! {
    #[test]
    fn t_plus_n_is_a_business_day_that_grows_with_n(day in supported_date(), n in 0u32..500) {
        let at_n = add_business_days(day, n).unwrap();
        let at_next = add_business_days(day, n + 1).unwrap();
        prop_assert!(is_business_day(at_n) && is_business_day(at_next));
        prop_assert!(day <= at_n && at_n <= at_next && day < at_next);
        if n >= 1 {
            prop_assert!(at_n < at_next);
            prop_assert_eq!(next_business_day(at_n).unwrap(), at_next);
        }
    }
}
