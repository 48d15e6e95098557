//! The directory of counters and their opening hours.

use cajero_domain::Amount;
use cajero_domain::calendar::{bogota, is_holiday};
use jiff::Timestamp;
use jiff::civil::Weekday;

use crate::config::{NetworkProfile, Span, WeeklyHours};
use crate::model::Counter;

/// Streets used to make plausible addresses.
const STREETS: [&str; 8] = [
    "Calle",
    "Carrera",
    "Avenida",
    "Diagonal",
    "Transversal",
    "Calle",
    "Carrera",
    "Avenida",
];

/// The counters of a network, made deterministically from its profile.
pub fn directory(profile: &NetworkProfile) -> Vec<Counter> {
    let mut counters = Vec::new();
    let cash = Amount::new(profile.counter_cash_initial).unwrap_or(Amount::ZERO);
    let extended_every = profile.extended_every.max(1);
    let mut branch = 0u32;
    for city in &profile.cities {
        for n in 1..=city.counters {
            branch += 1;
            let street = STREETS[(branch as usize) % STREETS.len()];
            counters.push(Counter {
                id: format!("{}-{}-{n:03}", profile.counter_prefix, city.code),
                network: profile.name.clone(),
                city: city.city.clone(),
                department: city.department.clone(),
                address: format!(
                    "{street} {} # {}-{}",
                    10 + (branch * 7) % 90,
                    1 + (branch * 13) % 80,
                    10 + (branch * 31) % 89
                ),
                extended_hours: n % extended_every == 0
                    || (city.counters == 1 && n == 1 && branch.is_multiple_of(2)),
                branch_code: format!("{:04}", branch % 10_000),
                cash,
            });
        }
    }
    counters
}

/// The hours that apply to this counter.
pub fn hours(profile: &NetworkProfile, counter: &Counter) -> WeeklyHours {
    if counter.extended_hours {
        profile.extended_hours
    } else {
        profile.regular_hours
    }
}

/// Whether the counter serves customers at `now` (Bogotá time, holidays included).
pub fn is_open(profile: &NetworkProfile, counter: &Counter, now: Timestamp) -> bool {
    let local = now.to_zoned_datetime(bogota());
    let date = local.date();
    let week = hours(profile, counter);
    let span: Option<Span> = if is_holiday(date) || date.weekday() == Weekday::Sunday {
        week.sunday_and_holidays
    } else if date.weekday() == Weekday::Saturday {
        week.saturday
    } else {
        week.weekdays
    };
    span.is_some_and(|s| local.time() >= s.open && local.time() < s.close)
}

/// Human form of a day's hours: `08:00–18:00` or `cerrado`.
pub fn describe(span: Option<Span>) -> String {
    match span {
        Some(s) => format!("{}–{}", s.open.strftime("%H:%M"), s.close.strftime("%H:%M")),
        None => "cerrado".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap_or(Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn regular_counters_keep_efecty_hours_and_extended_ones_open_on_sundays() {
        let profile = NetworkProfile::efecty();
        let counters = directory(&profile);
        let regular = counters.iter().find(|c| !c.extended_hours);
        let extended = counters.iter().find(|c| c.extended_hours);
        let (Some(regular), Some(extended)) = (regular, extended) else {
            panic!("the directory has both kinds of counters");
        };
        // Wednesday 2026-11-25 10:00 and 19:00 Bogotá (UTC-5).
        assert!(is_open(&profile, regular, at("2026-11-25T15:00:00Z")));
        assert!(!is_open(&profile, regular, at("2026-11-26T00:00:00Z")));
        assert!(is_open(&profile, extended, at("2026-11-26T00:00:00Z")));
        // Sunday 2026-11-29 10:00.
        assert!(!is_open(&profile, regular, at("2026-11-29T15:00:00Z")));
        assert!(is_open(&profile, extended, at("2026-11-29T15:00:00Z")));
        // Holiday Monday 2026-11-16 (Independence of Cartagena), 10:00.
        assert!(!is_open(&profile, regular, at("2026-11-16T15:00:00Z")));
    }

    #[test]
    fn counter_ids_are_unique_and_cover_many_cities() {
        let counters = directory(&NetworkProfile::efecty());
        let ids: std::collections::BTreeSet<_> = counters.iter().map(|c| &c.id).collect();
        assert_eq!(ids.len(), counters.len());
        let cities: std::collections::BTreeSet<_> = counters.iter().map(|c| &c.city).collect();
        assert!(cities.len() >= 20);
    }
}
