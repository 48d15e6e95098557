//! The end-state checks of a chaos run, each a pure function of the [`Facts`]: PASS, or FAIL
//! with the offending ids (the first few; the count is always given).

use std::collections::{BTreeMap, BTreeSet};

use cajero_sim::model::{OrderKind, OrderStatus};
use serde_json::Value;

use super::facts::Facts;
use super::journal::Kind;

/// Offending items printed per check at most.
const DETAILS_MAX: usize = 10;
/// Event types that legitimately repeat for one object (one per failed counter attempt).
const REPEATABLE_EVENT_TYPES: [&str; 1] = ["payout.attempt_failed"];

/// One check's verdict.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// What was checked.
    pub name: &'static str,
    /// How many items were looked at.
    pub checked: usize,
    /// What was wrong (empty: PASS).
    pub problems: Vec<String>,
}

impl Verdict {
    fn new(name: &'static str, checked: usize, problems: Vec<String>) -> Verdict {
        Verdict {
            name,
            checked,
            problems,
        }
    }

    /// No problem found.
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }

    /// `PASS name (n checked)` or `FAIL name: k problems: …`.
    pub fn line(&self) -> String {
        if self.passed() {
            return format!("PASS {} ({} checked)", self.name, self.checked);
        }
        let shown: Vec<&str> = self
            .problems
            .iter()
            .take(DETAILS_MAX)
            .map(String::as_str)
            .collect();
        format!(
            "FAIL {} ({} checked, {} problems):\n       {}",
            self.name,
            self.checked,
            self.problems.len(),
            shown.join("\n       ")
        )
    }
}

fn ids(objects: &[Value]) -> BTreeMap<String, usize> {
    let mut count = BTreeMap::new();
    for o in objects {
        if let Some(id) = o["id"].as_str() {
            *count.entry(id.to_string()).or_insert(0) += 1;
        }
    }
    count
}

fn amount(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

/// Every acknowledged request's object is listed once, every key got an answer in the end,
/// and every resend of an acknowledged key was a replay.
pub fn acknowledged_present_once(facts: &Facts) -> Verdict {
    let (payins, payouts, topups) = (ids(&facts.payins), ids(&facts.payouts), ids(&facts.topups));
    let mut problems = Vec::new();
    for e in &facts.entries {
        let key = &e.request.key;
        if e.status.is_none() {
            problems.push(format!(
                "{key}: never answered after {} sends, last: {} ({} {})",
                e.sends,
                e.last_error.as_deref().unwrap_or("-"),
                e.request.path,
                e.request.body
            ));
            continue;
        }
        if e.fresh > 1 {
            problems.push(format!(
                "{key}: ran {} times (2xx answers without Idempotent-Replayed)",
                e.fresh
            ));
        }
        if !e.acknowledged() {
            continue;
        }
        let listed = match e.request.kind {
            Kind::Payin | Kind::CancelPayin => &payins,
            Kind::Payout | Kind::CancelPayout => &payouts,
            Kind::Topup => &topups,
        };
        for id in &e.ids {
            match listed.get(id) {
                Some(1) => {}
                Some(n) => problems.push(format!("{key}: {id} listed {n} times")),
                None => problems.push(format!("{key}: {id} acknowledged but not listed")),
            }
        }
    }
    Verdict::new(
        "every acknowledged request's object exists once; every key answered; resends replay",
        facts.entries.len(),
        problems,
    )
}

/// No key answered with two objects, and no reference (each create's reference is its key)
/// carried by two objects.
pub fn no_key_with_two_objects(facts: &Facts) -> Verdict {
    let mut problems: Vec<String> = facts
        .entries
        .iter()
        .filter(|e| e.ids.len() > 1)
        .map(|e| format!("{}: answered with {:?}", e.request.key, e.ids))
        .collect();
    let mut by_reference: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for o in facts.payins.iter().chain(&facts.payouts) {
        if let (Some(reference), Some(id)) = (o["reference"].as_str(), o["id"].as_str()) {
            by_reference.entry(reference).or_default().push(id);
        }
    }
    for (reference, owners) in &by_reference {
        if owners.len() > 1 {
            problems.push(format!("reference/key {reference}: objects {owners:?}"));
        }
    }
    Verdict::new("no key with two objects", facts.entries.len(), problems)
}

/// Every network order has exactly one owner in cajero whose id is the order's reference — or
/// is canceled at the network with an `orphan_network_order` exception; and every network
/// order cajero records exists at the network.
pub fn network_orders_owned_once(facts: &Facts) -> Verdict {
    let orphans: BTreeSet<&str> = facts.orphan_exceptions.iter().map(String::as_str).collect();
    let mut problems = Vec::new();
    for order in &facts.sim_orders {
        let owners = facts
            .owners
            .get(&order.id)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        match owners {
            [one] if *one == order.reference => {}
            [] if order.status == OrderStatus::Canceled && orphans.contains(order.id.as_str()) => {}
            [] => problems.push(format!(
                "{} ({}, {:?}, reference {}): no owner in cajero{}",
                order.id,
                order.kind.as_str(),
                order.status,
                order.reference,
                if orphans.contains(order.id.as_str()) {
                    " (an orphan exception, but the order is not canceled)"
                } else {
                    " and no orphan_network_order exception"
                }
            )),
            many => problems.push(format!(
                "{} (reference {}): owners {many:?}",
                order.id, order.reference
            )),
        }
    }
    let at_network: BTreeSet<&str> = facts.sim_orders.iter().map(|o| o.id.as_str()).collect();
    for (order, owners) in &facts.owners {
        if !at_network.contains(order.as_str()) {
            problems.push(format!(
                "{owners:?}: network order {order} unknown to the network"
            ));
        }
    }
    Verdict::new(
        "every network order has exactly one owning pay-in/payout",
        facts.sim_orders.len(),
        problems,
    )
}

/// What was paid at a counter is paid in cajero, and the reverse.
pub fn paid_agrees_with_the_network(facts: &Facts) -> Verdict {
    let status: BTreeMap<&str, &str> = facts
        .payins
        .iter()
        .chain(&facts.payouts)
        .filter_map(|o| Some((o["id"].as_str()?, o["status"].as_str()?)))
        .collect();
    let mut problems = Vec::new();
    let mut paid_at_network = BTreeSet::new();
    for order in &facts.sim_orders {
        let Some(cajero) = status.get(order.reference.as_str()) else {
            continue; // an orphan: the ownership check reports it
        };
        let paid = order.status == OrderStatus::Paid;
        if paid {
            paid_at_network.insert(order.reference.as_str());
        }
        let what = match order.kind {
            OrderKind::Collection => "pay-in",
            OrderKind::Payout => "payout",
        };
        if paid && *cajero != "paid" && order.kind == OrderKind::Payout {
            problems.push(format!(
                "{what} {} is {cajero}, the network paid {}",
                order.reference, order.id
            ));
        }
        if paid && order.kind == OrderKind::Collection && *cajero != "paid" {
            // A payment after expiry or cancelation is held in suspense, never lost; the
            // voucher stays closed. Anything else is lost money.
            if !matches!(*cajero, "canceled" | "expired") {
                problems.push(format!(
                    "{what} {} is {cajero}, the network was paid at {}",
                    order.reference, order.id
                ));
            }
        }
    }
    for (id, s) in &status {
        if *s == "paid" && !paid_at_network.contains(id) {
            problems.push(format!("{id} is paid in cajero, not at the network"));
        }
    }
    Verdict::new(
        "paid in cajero exactly when paid at the network",
        facts.sim_orders.len(),
        problems,
    )
}

/// No event type emitted twice for one object.
pub fn no_event_twice(facts: &Facts) -> Verdict {
    let mut count: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for e in &facts.events {
        let (Some(kind), Some(object), Some(id)) = (
            e["type"].as_str(),
            e["data"]["object"]["id"].as_str(),
            e["id"].as_str(),
        ) else {
            continue;
        };
        if REPEATABLE_EVENT_TYPES.contains(&kind) {
            continue;
        }
        count
            .entry((object.to_string(), kind.to_string()))
            .or_default()
            .push(id.to_string());
    }
    let problems = count
        .iter()
        .filter(|(_, events)| events.len() > 1)
        .map(|((object, kind), events)| format!("{kind} for {object}: {events:?}"))
        .collect();
    Verdict::new(
        "no event emitted twice for one change",
        facts.events.len(),
        problems,
    )
}

fn cop(balance: &Value, part: &str) -> i64 {
    balance[part]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["currency"] == "COP")
        .map(|b| amount(&b["amount"]))
        .sum()
}

/// The balance equals what the listed top-ups, pay-ins and payouts imply (test mode charges
/// what `fee` says: nothing unless a plan is set).
pub fn balance_matches_objects(facts: &Facts) -> Verdict {
    let topped_up: i64 = facts
        .topups
        .iter()
        .filter(|t| t["status"] == "succeeded")
        .map(|t| amount(&t["amount"]))
        .sum();
    let collected: i64 = facts
        .payins
        .iter()
        .filter(|p| p["status"] == "paid")
        .map(|p| amount(&p["amount"]) - amount(&p["fee"]))
        .sum();
    let paid_out: i64 = facts
        .payouts
        .iter()
        .filter(|p| p["status"] == "paid")
        .map(|p| amount(&p["amount"]) + amount(&p["fee"]))
        .sum();
    let reserved: i64 = facts
        .payouts
        .iter()
        .filter(|p| {
            matches!(
                p["status"].as_str(),
                Some("pending" | "available" | "on_hold")
            )
        })
        .map(|p| amount(&p["amount"]) + amount(&p["fee"]))
        .sum();
    let b = &facts.balance;
    let (available, pending, held) = (cop(b, "available"), cop(b, "pending"), cop(b, "reserved"));
    let mut problems = Vec::new();
    let total = available + pending + held;
    let expected = topped_up + collected - paid_out;
    if total != expected {
        problems.push(format!(
            "available {available} + pending {pending} + reserved {held} = {total}, but top-ups \
             {topped_up} + paid pay-ins {collected} − paid payouts {paid_out} = {expected} \
             (off by {})",
            total - expected
        ));
    }
    if held != reserved {
        problems.push(format!(
            "reserved {held}, but the open payouts hold {reserved} (off by {})",
            held - reserved
        ));
    }
    Verdict::new(
        "balances equal what the API lists",
        facts.payins.len() + facts.payouts.len() + facts.topups.len(),
        problems,
    )
}

/// Every listed event reached the webhook receiver at least once.
pub fn every_event_delivered(facts: &Facts) -> Verdict {
    let problems = facts
        .events
        .iter()
        .filter_map(|e| {
            let id = e["id"].as_str()?;
            (!facts.received.contains_key(id))
                .then(|| format!("{id} ({}) never delivered", e["type"]))
        })
        .collect();
    Verdict::new(
        "every event delivered at least once",
        facts.events.len(),
        problems,
    )
}

/// Every check but `ledger verify` (a process of its own).
pub fn all(facts: &Facts) -> Vec<Verdict> {
    vec![
        acknowledged_present_once(facts),
        no_key_with_two_objects(facts),
        network_orders_owned_once(facts),
        paid_agrees_with_the_network(facts),
        no_event_twice(facts),
        balance_matches_objects(facts),
        every_event_delivered(facts),
    ]
}
