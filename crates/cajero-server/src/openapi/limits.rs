//! Schemas whose numbers are the limits the code enforces, taken from the same constants, so
//! the reference cannot drift from the behaviour (a test in `tests/api/contract.rs` also sends
//! the documented extremes and checks they are accepted and their neighbours refused).

use cajero_domain::network::{self, AmountRange, NetworkSpec};
use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};

/// `1234567` → `1,234,567`.
pub fn grouped(n: i64) -> String {
    network::thousands(n)
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

/// Each network's range (`Efecty 1,000–6,000,000 COP`) and the overall range, as the server
/// enforces them up front (`networks::Networks::route_amount`).
fn amount_limits(pick: fn(&NetworkSpec) -> AmountRange) -> (String, i64, i64) {
    let each: Vec<String> = network::ALL
        .iter()
        .map(|n| format!("{} {}", n.display_name, pick(n)))
        .collect();
    let min = network::ALL.iter().map(|n| pick(n).min).min().unwrap_or(1);
    let max = network::ALL
        .iter()
        .map(|n| pick(n).max)
        .max()
        .unwrap_or(i64::MAX);
    (each.join(", "), min, max)
}

/// A pay-in's amount: whole pesos within the networks' collection limits.
pub fn payin_amount() -> Object {
    let (each, min, max) = amount_limits(|n| n.collection);
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
    let (each, min, max) = amount_limits(|n| n.payout);
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
    let (each, _, max) = amount_limits(|n| n.payout);
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
    fn durations_are_named() {
        assert_eq!(duration(604_800), "7 days");
        assert_eq!(duration(3_600), "1 hour");
    }

    #[test]
    fn the_payin_amount_names_every_active_network_and_the_enforced_range() {
        let schema = serde_json::to_value(payin_amount()).unwrap_or_default();
        let efecty = network::EFECTY.collection;
        assert_eq!(schema["minimum"], efecty.min as f64);
        assert_eq!(schema["maximum"], efecty.max as f64);
        let text = schema["description"].as_str().unwrap_or("");
        assert!(text.contains("Efecty 1,000–6,000,000 COP"), "{text}");
        assert!(text.contains("SuRed 1,000–4,000,000 COP"), "{text}");
    }
}
