//! Risk rules: what decides whether a pay-in or payout goes ahead (`allow`), waits for an
//! operator (`review`) or is refused (`deny`), before any money is reserved or any network
//! is called.
//!
//! Three kinds of check, each pure:
//! - **limits** ([`rules`]): an amount or a count per operation, per Bogotá day or per Bogotá
//!   month, of a network, a merchant, a document or a phone;
//! - **velocity** ([`rules`]): an amount or a count within a sliding window (a minute to 31
//!   days), whatever the calendar says;
//! - **blocklists** ([`blocklist`]): documents, names and phones the operator (for everyone)
//!   or a merchant (for its own operations) refuses, and counters watched.
//!
//! Rules and blocklist entries on **counters** judge an operation when it completes (the
//! network names the counter where a pay-in was paid or a payout collected), not when it is
//! created: [`Operation::counter`] is set only then, and then only counter rules apply. They
//! can only alert. Every other rule judges creates.
//!
//! The totals a rule compares come from [`Tally`]s kept by the store per [`Scope`]: the
//! operations of one flow, one subject value (a document, a merchant, …), and the rule's
//! merchant and network filters. [`Engine::scopes`] says which ones an operation needs, the
//! store reads their totals *before* the operation and [`Engine::evaluate`] adds the
//! operation itself. A rule fires when the total with the operation is **above** its maximum:
//! an operation that brings the total exactly to the maximum passes.

pub mod blocklist;
pub mod rules;

use std::collections::BTreeSet;
use std::fmt;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;

pub use rules::{Action, Flow, Measure, Period, Rule, RuleSet, RuleSetError, Subject};

use crate::money::Amount;

/// What the checks decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Go ahead.
    Allow,
    /// Hold for an operator.
    Review,
    /// Refuse.
    Deny,
}

impl Outcome {
    /// The fixed code stored with a decision.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::Review => "review",
            Outcome::Deny => "deny",
        }
    }

    /// The outcome of a rule's action.
    pub const fn of(action: Action) -> Outcome {
        match action {
            Action::Review => Outcome::Review,
            Action::Deny => Outcome::Deny,
            Action::Alert => Outcome::Allow,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The operation being decided, in the terms the rules use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// Pay-in or payout.
    pub flow: Flow,
    /// Live or test: the two are counted apart.
    pub live: bool,
    /// The merchant's id (`mer_…`).
    pub merchant: String,
    /// The network it would go to first (`efecty`).
    pub network: String,
    /// Its amount.
    pub amount: Amount,
    /// The person's document, as [`blocklist::document_key`] writes it (`CC:79876543`).
    pub document: Option<String>,
    /// The person's phone in E.164 (`+573001234567`).
    pub phone: Option<String>,
    /// Where the cash moved, as [`blocklist::counter_key`] writes it (`efecty:EF-BOG-001`):
    /// set when a completed operation is judged, and then only counter rules apply.
    pub counter: Option<String>,
    /// When it happens: Bogotá's calendar decides its day and month.
    pub at: Timestamp,
}

impl Operation {
    fn subject_value(&self, subject: Subject) -> Option<&str> {
        match subject {
            Subject::Network => Some(self.network.as_str()),
            Subject::Merchant => Some(self.merchant.as_str()),
            Subject::Document => self.document.as_deref(),
            Subject::Phone => self.phone.as_deref(),
            Subject::Counter => self.counter.as_deref(),
        }
    }
}

/// The operations a rule adds up: one flow's, of one subject value, narrowed by the rule's
/// merchant and network filters. Written as one string, the key the store keeps totals under
/// (`live|payout|document=CC:79876543|network=efecty`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope(String);

impl Scope {
    fn new(live: bool, flow: Flow, rule: &Rule, value: &str) -> Scope {
        let mut key = format!(
            "{}|{}|{}={value}",
            if live { "live" } else { "test" },
            flow.as_str(),
            rule.subject.as_str()
        );
        if let Some(merchant) = &rule.merchant {
            key.push_str("|merchant=");
            key.push_str(merchant);
        }
        if let Some(network) = &rule.network {
            key.push_str("|network=");
            key.push_str(network);
        }
        Scope(key)
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where in time a total is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Span {
    /// A Bogotá calendar day.
    Day(Date),
    /// A Bogotá calendar month, by its first day.
    Month(Date),
    /// From `from` (excluded) to now: a velocity window, whose store keeps its operations in
    /// buckets of `bucket_s` seconds besides one row each (see [`bucket_s`]).
    Window {
        /// The window's start, excluded.
        from: Timestamp,
        /// The bucket size of the rule's window.
        bucket_s: u32,
    },
}

/// A total to read: a scope over a span.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TallyKey {
    /// Whose operations.
    pub scope: Scope,
    /// When.
    pub span: Span,
}

/// The operations of a scope over a span, before the one being decided.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// How many.
    pub count: u64,
    /// Their amounts added up, in whole pesos.
    pub amount: i64,
}

/// What an accepted operation adds to the store's totals: the scopes of its calendar totals
/// and of its velocity rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recording {
    /// Scopes whose day and month totals the operation adds to.
    pub calendar: Vec<Scope>,
    /// Scopes the operation is a velocity row of.
    pub velocity: Vec<Scope>,
    /// (scope, bucket size) of the velocity buckets it adds to: one per window size.
    pub buckets: Vec<(Scope, u32)>,
    /// The Bogotá day of the operation.
    pub day: Date,
    /// The first day of its Bogotá month.
    pub month: Date,
}

/// A check that fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fired {
    /// The rule's id, `blocklist` or `sanctions`.
    pub rule: String,
    /// What it does.
    pub action: Action,
    /// What it saw, for a person: `document CC:79876543, day 2026-11-30: 4 operations,
    /// COP 5000001 (at most 3 operations)`.
    pub reason: String,
    /// The totals with the operation, for limits and velocity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<Tally>,
}

/// A decision: its outcome and every check that fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// The strictest action among those fired; `allow` when none fired.
    pub outcome: Outcome,
    /// In rule order; blocklist and sanctions checks after the rules.
    pub fired: Vec<Fired>,
}

impl Decision {
    /// The decision of a list of fired checks.
    pub fn of(fired: Vec<Fired>) -> Decision {
        let outcome = fired
            .iter()
            .map(|f| Outcome::of(f.action))
            .max()
            .unwrap_or(Outcome::Allow);
        Decision { outcome, fired }
    }
}

/// A rule set ready to decide.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    rules: RuleSet,
}

impl Engine {
    /// An engine for `rules`.
    pub fn new(rules: RuleSet) -> Engine {
        Engine { rules }
    }

    /// The rules.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Whether any rule could look at the creation of an operation of `flow` (nothing to read
    /// or record otherwise).
    pub fn is_idle_for(&self, flow: Flow) -> bool {
        !self
            .rules
            .rules
            .iter()
            .any(|r| r.subject != Subject::Counter && r.flows.contains(&flow))
    }

    /// Whether any counter rule could look at a completed operation of `flow`.
    pub fn watches_counters_for(&self, flow: Flow) -> bool {
        self.rules
            .rules
            .iter()
            .any(|r| r.subject == Subject::Counter && r.flows.contains(&flow))
    }

    fn applying<'a>(&'a self, op: &'a Operation) -> impl Iterator<Item = (&'a Rule, &'a str)> {
        self.rules.rules.iter().filter_map(move |rule| {
            // A completed operation is judged by counter rules only; a create by the others.
            if (rule.subject == Subject::Counter) != op.counter.is_some() {
                return None;
            }
            let value = op.subject_value(rule.subject)?;
            rule.applies(op.flow, &op.merchant, &op.network)
                .then_some((rule, value))
        })
    }

    /// The totals [`Engine::evaluate`] will ask for, without repeats: what the store reads
    /// (and, on engines with concurrent writers, locks) before deciding.
    pub fn tallies(&self, op: &Operation) -> Vec<TallyKey> {
        let (day, month) = calendar(op.at);
        let mut keys = BTreeSet::new();
        for (rule, value) in self.applying(op) {
            let span = match rule.measure {
                Measure::Limit {
                    period: Period::Operation,
                } => continue,
                Measure::Limit {
                    period: Period::Day,
                } => Span::Day(day),
                Measure::Limit {
                    period: Period::Month,
                } => Span::Month(month),
                Measure::Velocity { window_s } => Span::Window {
                    from: window_start(op.at, window_s),
                    bucket_s: bucket_s(window_s),
                },
            };
            for &flow in &rule.flows {
                keys.insert(TallyKey {
                    scope: Scope::new(op.live, flow, rule, value),
                    span,
                });
            }
        }
        keys.into_iter().collect()
    }

    /// What the operation, once accepted, adds to the totals: only the scopes some rule in
    /// force counts (a rule added later counts from then on).
    pub fn recording(&self, op: &Operation) -> Recording {
        let (day, month) = calendar(op.at);
        let mut calendar_scopes = BTreeSet::new();
        let mut velocity_scopes = BTreeSet::new();
        let mut buckets = BTreeSet::new();
        for (rule, value) in self.applying(op) {
            let scope = Scope::new(op.live, op.flow, rule, value);
            match rule.measure {
                Measure::Limit {
                    period: Period::Operation,
                } => {}
                Measure::Limit { .. } => {
                    calendar_scopes.insert(scope);
                }
                Measure::Velocity { window_s } => {
                    buckets.insert((scope.clone(), bucket_s(window_s)));
                    velocity_scopes.insert(scope);
                }
            }
        }
        Recording {
            calendar: calendar_scopes.into_iter().collect(),
            velocity: velocity_scopes.into_iter().collect(),
            buckets: buckets.into_iter().collect(),
            day,
            month,
        }
    }

    /// The rules that fire for `op`, given the totals before it (`tally` answers every key
    /// of [`Engine::tallies`]; an unknown key counts as nothing).
    pub fn evaluate(&self, op: &Operation, tally: impl Fn(&TallyKey) -> Tally) -> Vec<Fired> {
        let (day, month) = calendar(op.at);
        let mut fired = Vec::new();
        for (rule, value) in self.applying(op) {
            let (span, when) = match rule.measure {
                Measure::Limit {
                    period: Period::Operation,
                } => (None, "this operation".to_string()),
                Measure::Limit {
                    period: Period::Day,
                } => (Some(Span::Day(day)), format!("day {day}")),
                Measure::Limit {
                    period: Period::Month,
                } => (
                    Some(Span::Month(month)),
                    format!("month {}", month.strftime("%Y-%m")),
                ),
                Measure::Velocity { window_s } => (
                    Some(Span::Window {
                        from: window_start(op.at, window_s),
                        bucket_s: bucket_s(window_s),
                    }),
                    format!("last {window_s} s"),
                ),
            };
            let mut total = Tally {
                count: 1,
                amount: op.amount.minor(),
            };
            if let Some(span) = span {
                for &flow in &rule.flows {
                    let before = tally(&TallyKey {
                        scope: Scope::new(op.live, flow, rule, value),
                        span,
                    });
                    total.count = total.count.saturating_add(before.count);
                    total.amount = total.amount.saturating_add(before.amount);
                }
            }
            let over_count = rule
                .count_max
                .is_some_and(|max| total.count > u64::from(max));
            let over_amount = rule
                .amount_max
                .is_some_and(|max| total.amount > max.minor());
            if !(over_count || over_amount) {
                continue;
            }
            let mut limits = Vec::new();
            if let Some(max) = rule.count_max {
                limits.push(format!("at most {max} operations"));
            }
            if let Some(max) = rule.amount_max {
                limits.push(format!("at most COP {}", max.minor()));
            }
            fired.push(Fired {
                rule: rule.id.clone(),
                action: rule.action,
                reason: format!(
                    "{} {value}, {when}: {} operations, COP {} ({})",
                    rule.subject.as_str(),
                    total.count,
                    total.amount,
                    limits.join(", ")
                ),
                observed: Some(total),
            });
        }
        fired
    }
}

fn calendar(at: Timestamp) -> (Date, Date) {
    let day = crate::calendar::bogota_date(at);
    (day, day.first_of_month())
}

/// Buckets a window is summed from, at most (plus the rows of one partial bucket at its start).
pub const WINDOW_BUCKETS: u32 = 60;

/// The bucket size of a window of `window_s` seconds: a sixtieth of it, at least a second, so
/// that reading a window costs at most [`WINDOW_BUCKETS`] + 1 bucket rows and the single rows
/// of one bucket, however many operations it holds.
pub const fn bucket_s(window_s: u32) -> u32 {
    let size = window_s.div_ceil(WINDOW_BUCKETS);
    if size == 0 { 1 } else { size }
}

fn window_start(at: Timestamp, window_s: u32) -> Timestamp {
    at.checked_sub(jiff::SignedDuration::from_secs(i64::from(window_s)))
        .unwrap_or(Timestamp::MIN)
}

#[cfg(test)]
mod tests;
