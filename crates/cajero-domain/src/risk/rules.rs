//! The rules an operator configures: limits and velocity windows, parsed whole from one JSON
//! document and checked before a version is stored. A rule set that does not parse is never in
//! force; every problem is named with the rule's position and field.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::money::Amount;

/// Rules in one set at most: each costs the write path a few indexed reads.
pub const RULES_MAX: usize = 100;
/// A rule id's length at most.
pub const RULE_ID_CHARS_MAX: usize = 64;
/// The shortest velocity window: a minute.
pub const WINDOW_S_MIN: u32 = 60;
/// The longest velocity window: 31 days (what the velocity table keeps).
pub const WINDOW_S_MAX: u32 = 31 * 24 * 3600;
/// A rule set document's size at most.
pub const RULES_JSON_BYTES_MAX: usize = 256 * 1024;

/// Which operations a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    /// Pay-ins: cash the customer pays in.
    Payin,
    /// Payouts: cash a beneficiary picks up.
    Payout,
}

impl Flow {
    /// The fixed code.
    pub const fn as_str(self) -> &'static str {
        match self {
            Flow::Payin => "payin",
            Flow::Payout => "payout",
        }
    }
}

/// Whose operations are added up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// The network's, across every merchant of the instance.
    Network,
    /// The merchant's.
    Merchant,
    /// The person's identity document (the customer's or the beneficiary's), across merchants.
    Document,
    /// The person's phone, across merchants.
    Phone,
    /// The network's counter where the cash moved, across merchants. Known only once a pay-in
    /// is paid or a payout collected: a counter rule judges completed operations and can only
    /// `alert` (nothing can be refused after the cash has moved).
    Counter,
}

impl Subject {
    /// The fixed code.
    pub const fn as_str(self) -> &'static str {
        match self {
            Subject::Network => "network",
            Subject::Merchant => "merchant",
            Subject::Document => "document",
            Subject::Phone => "phone",
            Subject::Counter => "counter",
        }
    }
}

/// A limit's period, in Bogotá's calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// The operation alone.
    Operation,
    /// The Bogotá calendar day (from midnight).
    Day,
    /// The Bogotá calendar month (from the 1st).
    Month,
}

impl Period {
    /// The fixed code.
    pub const fn as_str(self) -> &'static str {
        match self {
            Period::Operation => "operation",
            Period::Day => "day",
            Period::Month => "month",
        }
    }
}

/// What a rule that fires does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Hold for an operator: a payout is `on_hold` with its funds reserved; a pay-in's voucher
    /// is not issued until released.
    Review,
    /// Refuse the request (`risk_denied`).
    Deny,
    /// Let it go ahead, and tell the operator: the decision is stored and an alert
    /// (`risk_alert`) raised. The only action of counter rules.
    Alert,
}

impl Action {
    /// The fixed code.
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::Review => "review",
            Action::Deny => "deny",
            Action::Alert => "alert",
        }
    }
}

/// What a rule measures over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Measure {
    /// A limit over a calendar period.
    Limit {
        /// Which period.
        period: Period,
    },
    /// A velocity rule: the operations of the last `window_s` seconds, whatever the calendar.
    Velocity {
        /// The window's length in seconds ([`WINDOW_S_MIN`]..=[`WINDOW_S_MAX`]).
        window_s: u32,
    },
}

/// One rule, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// Unique in its set: what a decision names.
    pub id: String,
    /// Limit or velocity, and over what.
    #[serde(flatten)]
    pub measure: Measure,
    /// Whose operations are added up.
    pub subject: Subject,
    /// The operations it looks at (both when not given).
    pub flows: Vec<Flow>,
    /// Only operations of this merchant (`mer_…`); every merchant's when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant: Option<String>,
    /// Only operations on this network (`efecty`); every network's when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// Fires when the total, this operation included, is above it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_max: Option<Amount>,
    /// Fires when the number of operations, this one included, is above it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count_max: Option<u32>,
    /// What happens when it fires.
    pub action: Action,
}

impl Rule {
    /// Whether the rule looks at an operation of `flow` by `merchant` on `network`.
    pub fn applies(&self, flow: Flow, merchant: &str, network: &str) -> bool {
        self.flows.contains(&flow)
            && self.merchant.as_deref().is_none_or(|m| m == merchant)
            && self.network.as_deref().is_none_or(|n| n == network)
    }
}

/// A rule set: what is in force after a version is stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RuleSet {
    /// In the order given.
    pub rules: Vec<Rule>,
}

/// Why a rule set was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleSetError {
    /// Not the expected JSON.
    #[error("the rules are not valid JSON of the expected shape: {0}")]
    Json(String),
    /// Too large.
    #[error("the rules are {got} bytes; at most {max}")]
    TooLarge {
        /// Bytes given.
        got: usize,
        /// [`RULES_JSON_BYTES_MAX`].
        max: usize,
    },
    /// Too many rules.
    #[error("{got} rules; at most {max}")]
    TooMany {
        /// Rules given.
        got: usize,
        /// [`RULES_MAX`].
        max: usize,
    },
    /// One rule is wrong.
    #[error("rule {index} ({id}): {field}: {problem}")]
    Rule {
        /// Its position, from 1.
        index: usize,
        /// Its id as given.
        id: String,
        /// The field at fault.
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
}

impl RuleSetError {
    /// A stable code for the refusal.
    pub const fn code(&self) -> &'static str {
        match self {
            RuleSetError::Json(_) => "rules_json_invalid",
            RuleSetError::TooLarge { .. } => "rules_too_large",
            RuleSetError::TooMany { .. } => "rules_too_many",
            RuleSetError::Rule { .. } => "rule_invalid",
        }
    }
}

/// A rule as written, before it is checked.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleIn {
    id: String,
    kind: String,
    subject: Subject,
    #[serde(default)]
    period: Option<Period>,
    #[serde(default)]
    window_s: Option<u32>,
    #[serde(default)]
    flows: Option<Vec<Flow>>,
    #[serde(default)]
    merchant: Option<String>,
    #[serde(default)]
    network: Option<String>,
    #[serde(default)]
    amount_max: Option<i64>,
    #[serde(default)]
    count_max: Option<u32>,
    action: Action,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSetIn {
    rules: Vec<RuleIn>,
}

impl RuleSet {
    /// Parses and checks a rule set document (`{"rules": [...]}`, see `docs/risk.md`).
    pub fn parse(json: &str) -> Result<RuleSet, RuleSetError> {
        if json.len() > RULES_JSON_BYTES_MAX {
            return Err(RuleSetError::TooLarge {
                got: json.len(),
                max: RULES_JSON_BYTES_MAX,
            });
        }
        let input: RuleSetIn =
            serde_json::from_str(json).map_err(|e| RuleSetError::Json(e.to_string()))?;
        if input.rules.len() > RULES_MAX {
            return Err(RuleSetError::TooMany {
                got: input.rules.len(),
                max: RULES_MAX,
            });
        }
        let mut rules: Vec<Rule> = Vec::with_capacity(input.rules.len());
        for (i, raw) in input.rules.into_iter().enumerate() {
            let rule = check(i + 1, raw)?;
            if rules.iter().any(|r| r.id == rule.id) {
                return Err(RuleSetError::Rule {
                    index: i + 1,
                    id: rule.id,
                    field: "id",
                    problem: "used by an earlier rule; ids are unique".into(),
                });
            }
            rules.push(rule);
        }
        Ok(RuleSet { rules })
    }

    /// The set as its canonical JSON document (what a version stores).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&serde_json::json!({ "rules": self.rules_json() }))
            .unwrap_or_else(|_| "{\"rules\": []}".into())
    }

    fn rules_json(&self) -> Vec<serde_json::Value> {
        self.rules.iter().map(rule_json).collect()
    }

    /// What changed from `old` to `self`, one line per rule added, removed or changed (by id),
    /// in id order: what a version records beside the reason.
    pub fn diff(&self, old: &RuleSet) -> Vec<String> {
        let before: BTreeMap<&str, &Rule> = old.rules.iter().map(|r| (r.id.as_str(), r)).collect();
        let after: BTreeMap<&str, &Rule> = self.rules.iter().map(|r| (r.id.as_str(), r)).collect();
        let mut lines = Vec::new();
        for (id, rule) in &before {
            match after.get(id) {
                None => lines.push(format!("- {id}: {}", rule_json(rule))),
                Some(new) if new != rule => {
                    lines.push(format!("~ {id}: {} → {}", rule_json(rule), rule_json(new)));
                }
                Some(_) => {}
            }
        }
        for (id, rule) in &after {
            if !before.contains_key(id) {
                lines.push(format!("+ {id}: {}", rule_json(rule)));
            }
        }
        lines
    }
}

fn rule_json(rule: &Rule) -> serde_json::Value {
    let mut value = serde_json::to_value(rule).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        // `kind` comes from the flattened measure; amounts as plain integers.
        if let Some(amount) = rule.amount_max {
            object.insert("amount_max".into(), amount.minor().into());
        }
    }
    value
}

fn check(index: usize, raw: RuleIn) -> Result<Rule, RuleSetError> {
    let id = raw.id.clone();
    let fail = |field: &'static str, problem: String| RuleSetError::Rule {
        index,
        id: id.clone(),
        field,
        problem,
    };
    if raw.id.is_empty()
        || raw.id.len() > RULE_ID_CHARS_MAX
        || !raw
            .id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err(fail(
            "id",
            format!("1 to {RULE_ID_CHARS_MAX} of a-z, 0-9, '-' and '_'"),
        ));
    }
    let measure = match raw.kind.as_str() {
        "limit" => {
            if raw.window_s.is_some() {
                return Err(fail("window_s", "only velocity rules have a window".into()));
            }
            let period = raw
                .period
                .ok_or_else(|| fail("period", "a limit needs operation, day or month".into()))?;
            Measure::Limit { period }
        }
        "velocity" => {
            if raw.period.is_some() {
                return Err(fail(
                    "period",
                    "velocity rules have a window_s, not a period".into(),
                ));
            }
            let window_s = raw
                .window_s
                .ok_or_else(|| fail("window_s", "a velocity rule needs its window".into()))?;
            if !(WINDOW_S_MIN..=WINDOW_S_MAX).contains(&window_s) {
                return Err(fail(
                    "window_s",
                    format!("{window_s} s; from {WINDOW_S_MIN} to {WINDOW_S_MAX}"),
                ));
            }
            Measure::Velocity { window_s }
        }
        other => {
            return Err(fail(
                "kind",
                format!("{} is not limit or velocity", crate::shown_text(other)),
            ));
        }
    };
    let amount_max = raw
        .amount_max
        .map(|a| match Amount::new(a) {
            Ok(amount) if !amount.is_zero() => Ok(amount),
            _ => Err(fail(
                "amount_max",
                format!("{a}: a positive amount in whole pesos"),
            )),
        })
        .transpose()?;
    if raw.count_max == Some(0) {
        return Err(fail(
            "count_max",
            "0 would refuse everything; use a blocklist for that".into(),
        ));
    }
    if amount_max.is_none() && raw.count_max.is_none() {
        return Err(fail(
            "amount_max",
            "give amount_max, count_max or both".into(),
        ));
    }
    if matches!(
        measure,
        Measure::Limit {
            period: Period::Operation
        }
    ) && raw.count_max.is_some()
    {
        return Err(fail(
            "count_max",
            "a per-operation limit counts one operation; give amount_max".into(),
        ));
    }
    if raw.subject == Subject::Counter && raw.action != Action::Alert {
        return Err(fail(
            "action",
            format!(
                "{}: a counter is known only once the cash has moved there, so counter rules can only alert",
                raw.action.as_str()
            ),
        ));
    }
    let mut flows = raw.flows.unwrap_or_else(|| vec![Flow::Payin, Flow::Payout]);
    flows.sort_unstable();
    flows.dedup();
    if flows.is_empty() {
        return Err(fail("flows", "at least one of payin and payout".into()));
    }
    let filter = |field: &'static str, v: Option<String>| match v {
        Some(v) if v.trim().is_empty() || v.len() > 64 => {
            Err(fail(field, "1 to 64 characters when given".into()))
        }
        other => Ok(other),
    };
    Ok(Rule {
        merchant: filter("merchant", raw.merchant)?,
        network: filter("network", raw.network)?,
        id: raw.id,
        measure,
        subject: raw.subject,
        flows,
        amount_max,
        count_max: raw.count_max,
        action: raw.action,
    })
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let over = match self.measure {
            Measure::Limit { period } => format!("per {}", period.as_str()),
            Measure::Velocity { window_s } => format!("within {window_s} s"),
        };
        write!(f, "{} per {} {over}", self.id, self.subject.as_str())?;
        if let Some(count) = self.count_max {
            write!(f, ", at most {count} operations")?;
        }
        if let Some(amount) = self.amount_max {
            write!(f, ", at most COP {}", amount.minor())?;
        }
        write!(f, ": {}", self.action.as_str())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn one(rule: &str) -> Result<RuleSet, RuleSetError> {
        RuleSet::parse(&format!("{{\"rules\": [{rule}]}}"))
    }

    #[test]
    fn a_rule_set_parses_with_its_defaults() {
        let set = one(r#"{"id": "doc-day", "kind": "limit", "subject": "document", "period": "day", "amount_max": 5000000, "action": "review"}"#).unwrap();
        let rule = &set.rules[0];
        assert_eq!(rule.flows, vec![Flow::Payin, Flow::Payout]);
        assert_eq!(
            rule.measure,
            Measure::Limit {
                period: Period::Day
            }
        );
        assert_eq!(rule.amount_max, Some(Amount::new(5_000_000).unwrap()));
        let again = RuleSet::parse(&set.to_json()).unwrap();
        assert_eq!(
            again, set,
            "the canonical document parses back to the same set"
        );
    }

    #[test]
    fn every_bad_rule_is_refused_naming_its_field() {
        let cases = [
            (
                r#"{"id": "A", "kind": "limit", "subject": "merchant", "period": "day", "count_max": 1, "action": "deny"}"#,
                "id",
            ),
            (
                r#"{"id": "a", "kind": "cap", "subject": "merchant", "period": "day", "count_max": 1, "action": "deny"}"#,
                "kind",
            ),
            (
                r#"{"id": "a", "kind": "limit", "subject": "merchant", "count_max": 1, "action": "deny"}"#,
                "period",
            ),
            (
                r#"{"id": "a", "kind": "limit", "subject": "merchant", "period": "day", "window_s": 60, "count_max": 1, "action": "deny"}"#,
                "window_s",
            ),
            (
                r#"{"id": "a", "kind": "velocity", "subject": "merchant", "window_s": 59, "count_max": 1, "action": "deny"}"#,
                "window_s",
            ),
            (
                r#"{"id": "a", "kind": "velocity", "subject": "merchant", "window_s": 2678401, "count_max": 1, "action": "deny"}"#,
                "window_s",
            ),
            (
                r#"{"id": "a", "kind": "velocity", "subject": "merchant", "period": "day", "window_s": 60, "count_max": 1, "action": "deny"}"#,
                "period",
            ),
            (
                r#"{"id": "a", "kind": "limit", "subject": "merchant", "period": "day", "action": "deny"}"#,
                "amount_max",
            ),
            (
                r#"{"id": "a", "kind": "limit", "subject": "merchant", "period": "day", "amount_max": 0, "action": "deny"}"#,
                "amount_max",
            ),
            (
                r#"{"id": "a", "kind": "limit", "subject": "merchant", "period": "day", "amount_max": -5, "action": "deny"}"#,
                "amount_max",
            ),
            (
                r#"{"id": "a", "kind": "limit", "subject": "merchant", "period": "day", "count_max": 0, "action": "deny"}"#,
                "count_max",
            ),
            (
                r#"{"id": "a", "kind": "limit", "subject": "merchant", "period": "operation", "count_max": 2, "action": "deny"}"#,
                "count_max",
            ),
            (
                r#"{"id": "a", "kind": "limit", "subject": "merchant", "period": "day", "count_max": 2, "flows": [], "action": "deny"}"#,
                "flows",
            ),
            (
                r#"{"id": "a", "kind": "limit", "subject": "merchant", "period": "day", "count_max": 2, "network": " ", "action": "deny"}"#,
                "network",
            ),
        ];
        for (rule, field) in cases {
            match one(rule) {
                Err(RuleSetError::Rule { field: got, .. }) => assert_eq!(got, field, "{rule}"),
                other => panic!("{rule}: {other:?}"),
            }
        }
        assert!(matches!(
            one(
                r#"{"id": "a", "kind": "limit", "subject": "till", "period": "day", "count_max": 1, "action": "deny"}"#
            ),
            Err(RuleSetError::Json(_))
        ));
        assert!(matches!(
            one(
                r#"{"id": "a", "kind": "limit", "subject": "counter", "period": "day", "count_max": 1, "action": "deny"}"#
            ),
            Err(RuleSetError::Rule {
                field: "action",
                ..
            })
        ));
        assert!(matches!(
            one(
                r#"{"id": "a", "kind": "limit", "subject": "merchant", "period": "day", "count_max": 1, "action": "deny", "extra": 1}"#
            ),
            Err(RuleSetError::Json(_))
        ));
        let twice = r#"{"id": "a", "kind": "limit", "subject": "merchant", "period": "day", "count_max": 1, "action": "deny"}"#;
        assert!(matches!(
            RuleSet::parse(&format!("{{\"rules\": [{twice}, {twice}]}}")),
            Err(RuleSetError::Rule {
                index: 2,
                field: "id",
                ..
            })
        ));
        let many: Vec<String> = (0..=RULES_MAX)
            .map(|i| format!(r#"{{"id": "r{i}", "kind": "limit", "subject": "merchant", "period": "day", "count_max": 1, "action": "deny"}}"#))
            .collect();
        assert!(matches!(
            RuleSet::parse(&format!("{{\"rules\": [{}]}}", many.join(","))),
            Err(RuleSetError::TooMany { .. })
        ));
    }

    #[test]
    fn the_diff_names_rules_added_removed_and_changed() {
        let old = RuleSet::parse(r#"{"rules": [
            {"id": "keep", "kind": "limit", "subject": "merchant", "period": "day", "count_max": 1, "action": "deny"},
            {"id": "gone", "kind": "limit", "subject": "phone", "period": "day", "count_max": 1, "action": "deny"},
            {"id": "moved", "kind": "limit", "subject": "document", "period": "month", "amount_max": 10, "action": "review"}]}"#).unwrap();
        let new = RuleSet::parse(r#"{"rules": [
            {"id": "keep", "kind": "limit", "subject": "merchant", "period": "day", "count_max": 1, "action": "deny"},
            {"id": "moved", "kind": "limit", "subject": "document", "period": "month", "amount_max": 20, "action": "review"},
            {"id": "new", "kind": "velocity", "subject": "document", "window_s": 3600, "count_max": 3, "action": "deny"}]}"#).unwrap();
        let diff = new.diff(&old);
        assert_eq!(diff.len(), 3, "{diff:?}");
        assert!(diff[0].starts_with("- gone: "));
        assert!(
            diff[1].starts_with("~ moved: ") && diff[1].contains("10") && diff[1].contains("20")
        );
        assert!(diff[2].starts_with("+ new: "));
        assert!(new.diff(&new).is_empty());
    }
}
