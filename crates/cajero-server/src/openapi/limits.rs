//! Schemas whose numbers are the limits the code enforces, taken from the same constants, so
//! the reference cannot drift from the behaviour (a test in `tests/api/contract.rs` also sends
//! the documented extremes and checks they are accepted and their neighbours refused).

use cajero_sim::config::NetworkProfile;
use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};

/// The networks the embedded simulator serves that still operate (what routing can choose).
fn active_networks() -> Vec<NetworkProfile> {
    cajero_sim::SimConfig::default()
        .networks
        .into_iter()
        .filter(|n| n.discontinued_on.is_none())
        .collect()
}

/// `1234567` → `1,234,567`.
pub fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// `604800` → `7 days`, `3600` → `1 hour`.
fn duration(seconds: i64) -> String {
    let (n, unit) = if seconds % 86_400 == 0 {
        (seconds / 86_400, "day")
    } else if seconds % 3_600 == 0 {
        (seconds / 3_600, "hour")
    } else {
        (seconds, "second")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

fn integer(min: i64, max: i64, nullable: bool, description: String) -> Object {
    let kind = if nullable {
        SchemaType::from_iter([Type::Integer, Type::Null])
    } else {
        SchemaType::Type(Type::Integer)
    };
    ObjectBuilder::new()
        .schema_type(kind)
        .minimum(Some(min as f64))
        .maximum(Some(max as f64))
        .description(Some(description))
        .build()
}

/// Each active network's `(name, min, max)` and the overall range.
fn amount_limits(pick: fn(&NetworkProfile) -> (i64, i64)) -> (String, i64, i64) {
    let networks = active_networks();
    let each: Vec<String> = networks
        .iter()
        .map(|n| {
            let (min, max) = pick(n);
            format!("{} {}–{} COP", n.display_name, grouped(min), grouped(max))
        })
        .collect();
    let min = networks.iter().map(|n| pick(n).0).min().unwrap_or(1);
    let max = networks.iter().map(|n| pick(n).1).max().unwrap_or(i64::MAX);
    (each.join(", "), min, max)
}

/// A pay-in's amount: whole pesos within the networks' collection limits.
pub fn payin_amount() -> Object {
    let (each, min, max) = amount_limits(|n| (n.collection_amount_min, n.collection_amount_max));
    integer(
        min,
        max,
        false,
        format!(
            "In whole pesos, within the network's limits: {each}. Outside them: \
             `amount_outside_network_limits`."
        ),
    )
}

/// A payout's amount: whole pesos within the networks' payout limits.
pub fn payout_amount() -> Object {
    let (each, min, max) = amount_limits(|n| (n.payout_amount_min, n.payout_amount_max));
    integer(
        min,
        max,
        false,
        format!(
            "In whole pesos, within the network's limits: {each}. Outside them: \
             `amount_outside_network_limits`."
        ),
    )
}

/// A refund's amount: by default what is left; a cash pick-up within the payout limits.
pub fn refund_amount() -> Object {
    let (each, _, max) = amount_limits(|n| (n.payout_amount_min, n.payout_amount_max));
    integer(
        1,
        max,
        true,
        format!(
            "In whole pesos, at most what is left to refund of the pay-in; by default all of \
             it. A `cash_pickup` refund is a payout, within the network's limits: {each}."
        ),
    )
}

fn expiry(min: i64, max: i64, default: i64) -> Object {
    integer(
        min,
        max,
        true,
        format!(
            "{}–{} ({} to {}); default {} ({}).",
            grouped(min),
            grouped(max),
            duration(min),
            duration(max),
            grouped(default),
            duration(default)
        ),
    )
}

/// A voucher's validity in seconds.
pub fn payin_expires_in_seconds() -> Object {
    use crate::payins::{EXPIRES_IN_S_DEFAULT, EXPIRES_IN_S_MAX, EXPIRES_IN_S_MIN};
    expiry(EXPIRES_IN_S_MIN, EXPIRES_IN_S_MAX, EXPIRES_IN_S_DEFAULT)
}

/// A pick-up code's validity in seconds.
pub fn payout_expires_in_seconds() -> Object {
    use crate::payouts::{EXPIRES_IN_S_DEFAULT, EXPIRES_IN_S_MAX, EXPIRES_IN_S_MIN};
    expiry(EXPIRES_IN_S_MIN, EXPIRES_IN_S_MAX, EXPIRES_IN_S_DEFAULT)
}

/// How far a test clock moves.
pub fn clock_advance_seconds() -> Object {
    let max = crate::routes::CLOCK_ADVANCE_S_MAX;
    integer(
        1,
        max,
        false,
        format!(
            "How far forward: 1 second to {} ({} seconds).",
            duration(max),
            grouped(max)
        ),
    )
}

/// A top-up's amount.
pub fn topup_amount() -> Object {
    let max = crate::funds::TOPUP_AMOUNT_MINOR_MAX;
    integer(
        1,
        max,
        false,
        format!(
            "In the currency's unit (whole pesos for COP), 1 to {}.",
            grouped(max)
        ),
    )
}

/// Metadata: string values under limits.
pub fn metadata() -> Object {
    use crate::validate::{METADATA_KEY_CHARS_MAX, METADATA_KEYS_MAX, METADATA_VALUE_CHARS_MAX};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
        .max_properties(Some(METADATA_KEYS_MAX))
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(METADATA_KEY_CHARS_MAX)),
        ))
        .additional_properties(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(METADATA_VALUE_CHARS_MAX)),
        ))
        .description(Some(format!(
            "Your key-value pairs: up to {METADATA_KEYS_MAX} keys of 1–{METADATA_KEY_CHARS_MAX} \
             characters, string values of at most {METADATA_VALUE_CHARS_MAX}."
        )))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_and_durations_named() {
        assert_eq!(grouped(6_000_000), "6,000,000");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(duration(604_800), "7 days");
        assert_eq!(duration(3_600), "1 hour");
    }

    #[test]
    fn the_payin_amount_names_every_active_network_and_the_enforced_range() {
        let schema = serde_json::to_value(payin_amount()).unwrap_or_default();
        let efecty = NetworkProfile::efecty();
        assert_eq!(schema["minimum"], efecty.collection_amount_min as f64);
        assert_eq!(schema["maximum"], efecty.collection_amount_max as f64);
        let text = schema["description"].as_str().unwrap_or("");
        assert!(text.contains("Efecty 1,000–6,000,000 COP"), "{text}");
        assert!(!text.contains("Baloto"), "{text}");
    }
}
