//! Every rule kind at, just below and just above its maximum, and windows across Bogotá's
//! midnight and month, against an in-memory copy of what the store keeps.
#![allow(clippy::unwrap_used)]

use jiff::Timestamp;

use super::*;
use crate::calendar::bogota_date;

/// What the store keeps: one row per recorded operation and scope.
#[derive(Default)]
struct Books {
    rows: Vec<(Scope, Timestamp, i64)>,
}

impl Books {
    fn tally(&self, key: &TallyKey) -> Tally {
        let mut tally = Tally::default();
        for (scope, at, amount) in &self.rows {
            let inside = match key.span {
                Span::Day(day) => bogota_date(*at) == day,
                Span::Month(first) => bogota_date(*at).first_of_month() == first,
                Span::Window { from, .. } => *at > from,
            };
            if scope == &key.scope && inside {
                tally.count += 1;
                tally.amount += amount;
            }
        }
        tally
    }

    /// Decides `op` and records it unless denied, as the service does.
    fn decide(&mut self, engine: &Engine, op: &Operation) -> Decision {
        let decision = Decision::of(engine.evaluate(op, |k| self.tally(k)));
        if decision.outcome != Outcome::Deny {
            let recording = engine.recording(op);
            for scope in recording.calendar.iter().chain(&recording.velocity) {
                self.rows.push((scope.clone(), op.at, op.amount.minor()));
            }
        }
        decision
    }
}

fn engine(rule: &str) -> Engine {
    Engine::new(RuleSet::parse(&format!("{{\"rules\": [{rule}]}}")).unwrap())
}

fn at(bogota: &str) -> Timestamp {
    // Bogotá is UTC−5 all year.
    format!("{bogota}-05:00").parse().unwrap()
}

fn op(flow: Flow, amount: i64, when: &str) -> Operation {
    Operation {
        flow,
        live: true,
        merchant: "mer_a".into(),
        network: "efecty".into(),
        amount: Amount::new(amount).unwrap(),
        document: Some("CC:79876543".into()),
        phone: Some("+573001234567".into()),
        counter: None,
        at: at(when),
    }
}

/// `op` completed at `counter`: what a counter rule judges.
fn completed(flow: Flow, amount: i64, when: &str, counter: &str) -> Operation {
    Operation {
        counter: Some(blocklist::counter_key("efecty", counter)),
        ..op(flow, amount, when)
    }
}

fn outcome(books: &mut Books, engine: &Engine, op: &Operation) -> Outcome {
    books.decide(engine, op).outcome
}

#[test]
fn a_per_operation_limit_fires_only_above_its_amount() {
    let e = engine(
        r#"{"id": "op", "kind": "limit", "subject": "network", "network": "efecty", "period": "operation", "amount_max": 1000000, "action": "deny"}"#,
    );
    let mut books = Books::default();
    let t = "2026-11-30T10:00:00";
    assert_eq!(
        outcome(&mut books, &e, &op(Flow::Payout, 999_999, t)),
        Outcome::Allow
    );
    assert_eq!(
        outcome(&mut books, &e, &op(Flow::Payout, 1_000_000, t)),
        Outcome::Allow
    );
    let above = books.decide(&e, &op(Flow::Payout, 1_000_001, t));
    assert_eq!(above.outcome, Outcome::Deny);
    assert_eq!(above.fired[0].rule, "op");
    let mut elsewhere = op(Flow::Payout, 1_000_001, t);
    elsewhere.network = "sured".into();
    assert_eq!(
        outcome(&mut books, &e, &elsewhere),
        Outcome::Allow,
        "another network's operations are not judged"
    );
    assert!(
        e.tallies(&op(Flow::Payout, 1, t)).is_empty(),
        "a per-operation limit reads no totals"
    );
}

#[test]
fn a_daily_amount_limit_per_document_is_reached_then_passed_and_resets_at_bogota_midnight() {
    let e = engine(
        r#"{"id": "doc-day", "kind": "limit", "subject": "document", "period": "day", "amount_max": 5000000, "action": "review"}"#,
    );
    let mut books = Books::default();
    assert_eq!(
        outcome(
            &mut books,
            &e,
            &op(Flow::Payout, 3_000_000, "2026-11-30T09:00:00")
        ),
        Outcome::Allow
    );
    // 3,000,000 + 1,999,999: just below.
    assert_eq!(
        outcome(
            &mut books,
            &e,
            &op(Flow::Payout, 1_999_999, "2026-11-30T10:00:00")
        ),
        Outcome::Allow
    );
    // + 1: exactly at the maximum.
    assert_eq!(
        outcome(&mut books, &e, &op(Flow::Payout, 1, "2026-11-30T11:00:00")),
        Outcome::Allow
    );
    // + 1 more: just above.
    let above = books.decide(&e, &op(Flow::Payout, 1, "2026-11-30T23:59:59"));
    assert_eq!(above.outcome, Outcome::Review);
    assert_eq!(
        above.fired[0].observed,
        Some(Tally {
            count: 4,
            amount: 5_000_001
        })
    );
    assert!(
        above.fired[0].reason.contains("day 2026-11-30"),
        "{}",
        above.fired[0].reason
    );
    // 00:00 in Bogotá is 05:00 UTC: a new day.
    assert_eq!(
        outcome(
            &mut books,
            &e,
            &op(Flow::Payout, 5_000_000, "2026-12-01T00:00:00")
        ),
        Outcome::Allow
    );
    // Another person is counted apart.
    let mut other = op(Flow::Payout, 5_000_000, "2026-11-30T12:00:00");
    other.document = Some("CC:1020304050".into());
    assert_eq!(outcome(&mut books, &e, &other), Outcome::Allow);
    // Without a document the rule has nothing to count.
    let mut none = op(Flow::Payin, 9_000_000, "2026-11-30T12:00:00");
    none.document = None;
    assert_eq!(outcome(&mut books, &e, &none), Outcome::Allow);
}

#[test]
fn a_daily_count_limit_per_phone_counts_payins_and_payouts_together_unless_narrowed() {
    let both = engine(
        r#"{"id": "phone-day", "kind": "limit", "subject": "phone", "period": "day", "count_max": 2, "action": "deny"}"#,
    );
    let mut books = Books::default();
    let t = "2026-11-30T10:00:00";
    assert_eq!(
        outcome(&mut books, &both, &op(Flow::Payin, 10, t)),
        Outcome::Allow
    );
    assert_eq!(
        outcome(&mut books, &both, &op(Flow::Payout, 10, t)),
        Outcome::Allow,
        "2 of 2: at the maximum"
    );
    assert_eq!(
        outcome(&mut books, &both, &op(Flow::Payin, 10, t)),
        Outcome::Deny,
        "3 of 2"
    );
    assert_eq!(
        outcome(&mut books, &both, &op(Flow::Payout, 10, t)),
        Outcome::Deny,
        "a denied operation is not counted, the total stays 2"
    );

    let payouts_only = engine(
        r#"{"id": "phone-day", "kind": "limit", "subject": "phone", "period": "day", "count_max": 1, "flows": ["payout"], "action": "deny"}"#,
    );
    let mut books = Books::default();
    assert_eq!(
        outcome(&mut books, &payouts_only, &op(Flow::Payin, 10, t)),
        Outcome::Allow
    );
    assert_eq!(
        outcome(&mut books, &payouts_only, &op(Flow::Payin, 10, t)),
        Outcome::Allow,
        "pay-ins are not judged nor counted"
    );
    assert_eq!(
        outcome(&mut books, &payouts_only, &op(Flow::Payout, 10, t)),
        Outcome::Allow
    );
    assert_eq!(
        outcome(&mut books, &payouts_only, &op(Flow::Payout, 10, t)),
        Outcome::Deny
    );
}

#[test]
fn a_monthly_limit_per_merchant_resets_on_the_first_in_bogota() {
    let e = engine(
        r#"{"id": "mer-month", "kind": "limit", "subject": "merchant", "period": "month", "amount_max": 100, "count_max": 3, "action": "deny"}"#,
    );
    let mut books = Books::default();
    assert_eq!(
        outcome(&mut books, &e, &op(Flow::Payout, 40, "2026-11-01T00:00:00")),
        Outcome::Allow
    );
    assert_eq!(
        outcome(&mut books, &e, &op(Flow::Payout, 59, "2026-11-15T12:00:00")),
        Outcome::Allow,
        "99: just below"
    );
    assert_eq!(
        outcome(&mut books, &e, &op(Flow::Payout, 1, "2026-11-30T23:30:00")),
        Outcome::Allow,
        "100 and 3 operations: at both maxima"
    );
    assert_eq!(
        outcome(&mut books, &e, &op(Flow::Payout, 1, "2026-11-30T23:59:00")),
        Outcome::Deny,
        "just above both"
    );
    // 23:30 on the 30th in Bogotá is already December in UTC (04:30Z): still November here.
    assert_eq!(bogota_date(at("2026-11-30T23:30:00")).month(), 11);
    assert_eq!(
        outcome(
            &mut books,
            &e,
            &op(Flow::Payout, 100, "2026-12-01T00:30:00")
        ),
        Outcome::Allow,
        "a new month"
    );
    let mut another = op(Flow::Payout, 100, "2026-11-20T00:00:00");
    another.merchant = "mer_b".into();
    assert_eq!(
        outcome(&mut books, &e, &another),
        Outcome::Allow,
        "another merchant is counted apart"
    );
}

#[test]
fn a_velocity_window_slides_across_midnight_and_the_month() {
    // At most 2 operations per document within 2 hours.
    let e = engine(
        r#"{"id": "doc-2h", "kind": "velocity", "subject": "document", "window_s": 7200, "count_max": 2, "action": "review"}"#,
    );
    let mut books = Books::default();
    assert_eq!(
        outcome(&mut books, &e, &op(Flow::Payin, 10, "2026-11-30T22:45:00")),
        Outcome::Allow
    );
    assert_eq!(
        outcome(&mut books, &e, &op(Flow::Payout, 10, "2026-11-30T23:50:00")),
        Outcome::Allow
    );
    // After midnight and in a new month, but within two hours of both: the window does not
    // care about the calendar.
    let third = books.decide(&e, &op(Flow::Payout, 10, "2026-12-01T00:40:00"));
    assert_eq!(third.outcome, Outcome::Review);
    assert!(third.fired[0].reason.contains("last 7200 s"));
    // 00:46 is more than two hours after 22:45: that one left the window.
    assert_eq!(
        outcome(&mut books, &e, &op(Flow::Payout, 10, "2026-12-01T00:46:00")),
        Outcome::Review,
        "the 23:50 and 00:40 ones are still in it"
    );
    // A window boundary is exclusive: exactly two hours later the first one no longer counts.
    let mut books = Books::default();
    assert_eq!(
        outcome(&mut books, &e, &op(Flow::Payin, 10, "2026-11-30T22:00:00")),
        Outcome::Allow
    );
    assert_eq!(
        outcome(&mut books, &e, &op(Flow::Payin, 10, "2026-11-30T23:00:00")),
        Outcome::Allow
    );
    assert_eq!(
        outcome(&mut books, &e, &op(Flow::Payin, 10, "2026-12-01T00:00:00")),
        Outcome::Allow,
        "22:00 is exactly 2 h before: out"
    );
    assert_eq!(
        outcome(&mut books, &e, &op(Flow::Payin, 10, "2026-12-01T00:59:59")),
        Outcome::Review
    );
}

#[test]
fn a_velocity_amount_fires_just_above() {
    let e = engine(
        r#"{"id": "mer-10m", "kind": "velocity", "subject": "merchant", "window_s": 600, "amount_max": 1000, "action": "deny"}"#,
    );
    let mut books = Books::default();
    assert_eq!(
        outcome(
            &mut books,
            &e,
            &op(Flow::Payout, 999, "2026-11-30T10:00:00")
        ),
        Outcome::Allow
    );
    assert_eq!(
        outcome(&mut books, &e, &op(Flow::Payout, 1, "2026-11-30T10:05:00")),
        Outcome::Allow,
        "1000: at the maximum"
    );
    assert_eq!(
        outcome(&mut books, &e, &op(Flow::Payout, 1, "2026-11-30T10:09:59")),
        Outcome::Deny,
        "1001"
    );
    assert_eq!(
        outcome(
            &mut books,
            &e,
            &op(Flow::Payout, 999, "2026-11-30T10:10:01")
        ),
        Outcome::Allow,
        "the first one left the window: 1 + 999"
    );
}

#[test]
fn test_and_live_operations_are_counted_apart_and_filters_narrow_what_is_counted() {
    let e = engine(
        r#"{"id": "mer-a", "kind": "limit", "subject": "document", "period": "day", "count_max": 1, "merchant": "mer_a", "action": "deny"}"#,
    );
    let mut books = Books::default();
    let t = "2026-11-30T10:00:00";
    let mut test = op(Flow::Payout, 10, t);
    test.live = false;
    assert_eq!(outcome(&mut books, &e, &test), Outcome::Allow);
    assert_eq!(
        outcome(&mut books, &e, &op(Flow::Payout, 10, t)),
        Outcome::Allow,
        "the test operation does not count in live"
    );
    let mut other_merchant = op(Flow::Payout, 10, t);
    other_merchant.merchant = "mer_b".into();
    assert_eq!(
        outcome(&mut books, &e, &other_merchant),
        Outcome::Allow,
        "mer_b is not judged"
    );
    assert_eq!(
        outcome(&mut books, &e, &op(Flow::Payout, 10, t)),
        Outcome::Deny,
        "and was not counted for mer_a either"
    );
}

#[test]
fn the_strictest_action_wins_and_every_fired_rule_is_named() {
    let e = Engine::new(RuleSet::parse(r#"{"rules": [
        {"id": "soft", "kind": "limit", "subject": "merchant", "period": "operation", "amount_max": 10, "action": "review"},
        {"id": "hard", "kind": "limit", "subject": "document", "period": "operation", "amount_max": 20, "action": "deny"}]}"#).unwrap());
    let decision = Decision::of(
        e.evaluate(&op(Flow::Payout, 21, "2026-11-30T10:00:00"), |_| {
            Tally::default()
        }),
    );
    assert_eq!(decision.outcome, Outcome::Deny);
    let names: Vec<&str> = decision.fired.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(names, ["soft", "hard"]);
    assert_eq!(Decision::of(Vec::new()).outcome, Outcome::Allow);
    assert!(!e.is_idle_for(Flow::Payin) && Engine::default().is_idle_for(Flow::Payout));
}

#[test]
fn a_counter_velocity_rule_judges_completed_operations_at_below_and_above_and_only_alerts() {
    let e = engine(
        r#"{"id": "ctr-burst", "kind": "velocity", "subject": "counter", "window_s": 3600, "count_max": 3, "flows": ["payout"], "action": "alert"}"#,
    );
    assert!(e.is_idle_for(Flow::Payout), "creates are not judged by it");
    assert!(e.watches_counters_for(Flow::Payout));
    assert!(!e.watches_counters_for(Flow::Payin));
    assert!(
        e.tallies(&op(Flow::Payout, 10_000, "2026-11-30T10:00:00"))
            .is_empty(),
        "a create knows no counter: nothing to read"
    );
    let mut books = Books::default();
    // Two, then the third (at the maximum) pass; the fourth within the hour fires.
    for minute in ["10:00", "10:20", "10:40"] {
        let done = completed(
            Flow::Payout,
            10_000,
            &format!("2026-11-30T{minute}:00"),
            "EF-BOG-001",
        );
        assert!(books.decide(&e, &done).fired.is_empty(), "{minute}");
    }
    let above = books.decide(
        &e,
        &completed(Flow::Payout, 10_000, "2026-11-30T10:59:59", "ef-bog-001"),
    );
    assert_eq!(above.outcome, Outcome::Allow, "an alert refuses nothing");
    assert_eq!(above.fired.len(), 1);
    assert_eq!(above.fired[0].action, Action::Alert);
    assert!(
        above.fired[0]
            .reason
            .starts_with("counter efecty:EF-BOG-001, last 3600 s: 4 operations"),
        "{}",
        above.fired[0].reason
    );
    // Another counter is counted apart; an hour after the first the window has moved on.
    assert!(
        books
            .decide(
                &e,
                &completed(Flow::Payout, 10_000, "2026-11-30T11:00:00", "EF-BOG-002")
            )
            .fired
            .is_empty()
    );
    assert!(
        books
            .decide(
                &e,
                &completed(Flow::Payout, 10_000, "2026-11-30T11:20:01", "EF-BOG-001")
            )
            .fired
            .is_empty(),
        "10:00 and 10:20 have left the window: 10:40, 10:59:59 and this one"
    );
}

#[test]
fn a_completed_operation_is_judged_by_counter_rules_only() {
    let e = engine(
        r#"{"id": "doc-day", "kind": "limit", "subject": "document", "period": "day", "count_max": 1, "action": "deny"},
           {"id": "ctr-day", "kind": "limit", "subject": "counter", "period": "day", "amount_max": 50000, "action": "alert"}"#,
    );
    let mut books = Books::default();
    let t = "2026-11-30T10:00:00";
    assert!(
        books
            .decide(&e, &op(Flow::Payin, 40_000, t))
            .fired
            .is_empty()
    );
    // Its completion is not a second operation of the document's day.
    let done = books.decide(&e, &completed(Flow::Payin, 40_000, t, "EF-MED-007"));
    assert!(done.fired.is_empty());
    let second = books.decide(&e, &completed(Flow::Payin, 10_001, t, "EF-MED-007"));
    assert_eq!(
        second
            .fired
            .iter()
            .map(|f| f.rule.as_str())
            .collect::<Vec<_>>(),
        ["ctr-day"]
    );
    assert_eq!(second.outcome, Outcome::Allow);
}

#[test]
fn counter_rules_can_only_alert_and_other_rules_may() {
    let refused = RuleSet::parse(
        r#"{"rules": [{"id": "c", "kind": "limit", "subject": "counter", "period": "day", "count_max": 5, "action": "deny"}]}"#,
    )
    .unwrap_err();
    assert!(
        matches!(
            &refused,
            RuleSetError::Rule {
                field: "action",
                ..
            }
        ),
        "{refused}"
    );
    assert!(refused.to_string().contains("can only alert"), "{refused}");
    let e = engine(
        r#"{"id": "watch", "kind": "limit", "subject": "merchant", "period": "operation", "amount_max": 100000, "action": "alert"}"#,
    );
    let mut books = Books::default();
    let d = books.decide(&e, &op(Flow::Payout, 100_001, "2026-11-30T10:00:00"));
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(d.fired[0].action, Action::Alert);
    // The strictest action wins: alert and review together hold.
    assert_eq!(
        Decision::of(vec![
            Fired {
                rule: "a".into(),
                action: Action::Alert,
                reason: String::new(),
                observed: None
            },
            Fired {
                rule: "r".into(),
                action: Action::Review,
                reason: String::new(),
                observed: None
            },
        ])
        .outcome,
        Outcome::Review
    );
}
