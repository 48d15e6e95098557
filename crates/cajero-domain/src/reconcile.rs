//! Reconciliation: a network's file for one day, line by line, against cajero's books.
//!
//! The store finds the orders a file's lines name and the orders cajero holds paid that day;
//! this module decides, for every line and every such order, what it is ([`Outcome`]), and sums
//! the day's three figures (file, matched orders, ledger) into a [`TieOut`]. No I/O: the
//! caller brings both sides in, this answers.
//!
//! A line finds its order by our id when the file carries it, else by the network's order id,
//! else by the payment code (Asobancaria files carry only the code). An order is matched by at
//! most one line: a second line for it — in the same file, or an order an earlier file already
//! matched — is a [`Outcome::Duplicate`].

use std::collections::HashMap;

use foldhash::fast::RandomState;

use jiff::civil::Date;

/// Voucher (money in) or pick-up (money out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A pay-in voucher paid at a counter.
    Collection,
    /// A payout collected at a counter.
    Payout,
}

impl Kind {
    /// `collection` or `payout`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Collection => "collection",
            Kind::Payout => "payout",
        }
    }
}

/// What a file line says happened to the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineStatus {
    /// Paid (voucher) or collected (pick-up): money moved.
    Paid,
    /// Still open at the network.
    Open,
    /// Closed without money moving (expired, canceled, rejected).
    Closed,
}

/// One line of a network's file, as compact as a million of them must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// 1-based line (record) number in its file.
    pub line: u32,
    /// Voucher or pick-up.
    pub kind: Kind,
    /// Our id (`pi_…`, `po_…`), when the file carries it.
    pub our_id: Option<Box<str>>,
    /// The network's order id, when the file carries it.
    pub network_order_id: Option<Box<str>>,
    /// The payment code or pick-up code, when the file carries it.
    pub code: Option<Box<str>>,
    /// Whole pesos.
    pub amount: i64,
    /// What the network says.
    pub status: LineStatus,
    /// The counter (or branch) where it happened, when stated.
    pub counter: Option<Box<str>>,
}

/// An order's state in cajero's books, as far as reconciliation cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookStatus {
    /// Waiting for the customer or beneficiary (pending, available, on hold).
    Open,
    /// Paid or collected.
    Paid,
    /// Expired unpaid.
    Expired,
    /// Canceled or failed.
    Canceled,
}

/// One of cajero's orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// `pi_…` or `po_…`.
    pub id: Box<str>,
    /// Voucher or pick-up.
    pub kind: Kind,
    /// The network's order id.
    pub network_order_id: Option<Box<str>>,
    /// Payment code (vouchers).
    pub code: Option<Box<str>>,
    /// Whole pesos.
    pub amount: i64,
    /// Its state.
    pub status: BookStatus,
    /// The Bogotá day it was paid, when paid.
    pub paid_on: Option<Date>,
    /// What the ledger posted for its collection or payout (whole pesos; 0 when nothing).
    pub ledger_amount: i64,
    /// An earlier file already matched it (file id and line).
    pub reconciled_in: Option<(Box<str>, u32)>,
}

/// What reconciliation found for a line or an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// The line and the order agree.
    Matched,
    /// The network reports money for an order cajero does not have.
    MissingInCajero,
    /// Cajero holds the order paid that day; the file does not have it.
    MissingInNetwork,
    /// Both have it, for different amounts.
    AmountMismatch,
    /// Both have it, in states that disagree (paid at the network, open or canceled here; or
    /// paid here, closed at the network).
    StatusMismatch,
    /// Paid at the network after cajero expired it.
    PaidAfterExpiry,
    /// A second line for an order already matched (in this file or an earlier one).
    Duplicate,
}

impl Outcome {
    /// Every outcome.
    pub const ALL: [Outcome; 7] = [
        Outcome::Matched,
        Outcome::MissingInCajero,
        Outcome::MissingInNetwork,
        Outcome::AmountMismatch,
        Outcome::StatusMismatch,
        Outcome::PaidAfterExpiry,
        Outcome::Duplicate,
    ];

    /// The stored code, which is also the exception's kind.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Matched => "matched",
            Outcome::MissingInCajero => "missing_in_cajero",
            Outcome::MissingInNetwork => "missing_in_network",
            Outcome::AmountMismatch => "amount_mismatch",
            Outcome::StatusMismatch => "status_mismatch",
            Outcome::PaidAfterExpiry => "paid_after_expiry",
            Outcome::Duplicate => "duplicate",
        }
    }

    /// Reads a stored code.
    pub fn parse(code: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == code)
    }

    /// Whether it needs a person (everything but a match).
    pub const fn is_exception(self) -> bool {
        !matches!(self, Outcome::Matched)
    }
}

/// The result for one line: its outcome and, when found, the index of its order in the
/// orders given to [`reconcile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineResult {
    /// What it is.
    pub outcome: Outcome,
    /// Its order, when one was found.
    pub order: Option<usize>,
    /// For a duplicate of a line in this file: that line's number.
    pub first_line: Option<u32>,
}

/// The day's three figures for one kind and their differences, in whole pesos.
///
/// `file_total` sums the file's paid lines; `matched_total` the orders those lines matched;
/// `ledger_total` what the ledger posted for the orders cajero holds paid that day. Each
/// exception explains part of a difference (a line missing in cajero explains its amount on
/// the file side; a payment missing in the network explains its posting on the ledger side;
/// an order matched today that cajero holds paid another day is a timing difference). What no
/// exception explains is `unexplained`: the ledger disagreeing with the orders, which is itself
/// an exception and an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TieOut {
    /// Σ paid lines.
    pub file_total: i64,
    /// Σ matched orders.
    pub matched_total: i64,
    /// Σ ledger postings of the orders paid that day in cajero's books.
    pub ledger_total: i64,
    /// file − matched.
    pub file_difference: i64,
    /// ledger − matched.
    pub ledger_difference: i64,
    /// The part of both differences that the day's exceptions and timing explain.
    pub explained: i64,
    /// |file − matched − explained on the file side| + |ledger − matched − explained on the
    /// ledger side|: zero when the books tie out.
    pub unexplained: i64,
}

/// Everything decided for one file (or one day of files) and one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciled {
    /// One per line, in the order given.
    pub lines: Vec<LineResult>,
    /// Orders cajero holds paid on the day that no line matched: index into the orders.
    pub missing_in_network: Vec<usize>,
    /// Per kind present on either side.
    pub tie_outs: Vec<(Kind, TieOut)>,
}

/// Decides every line of `lines` (the file of `day`) against `orders` (every order a line
/// names, and every order cajero holds paid on `day`, each once), for the kinds the file
/// `covers` (an Asobancaria file covers vouchers only: payouts paid that day are not missing
/// from it).
pub fn reconcile(lines: &[Line], orders: &[Order], day: Date, covers: &[Kind]) -> Reconciled {
    let index = Index::new(orders, lines);
    let mut matched_by: Vec<Option<u32>> = vec![None; orders.len()];
    let mut results = Vec::with_capacity(lines.len());
    for line in lines {
        let found = index.find(line);
        let result = match found {
            None if line.status == LineStatus::Paid => LineResult {
                outcome: Outcome::MissingInCajero,
                order: None,
                first_line: None,
            },
            // A line of an order we do not have, where no money moved: nothing to settle.
            None => LineResult {
                outcome: Outcome::Matched,
                order: None,
                first_line: None,
            },
            Some(i) => {
                let order = &orders[i];
                let earlier = matched_by[i].or_else(|| order.reconciled_in.as_ref().map(|r| r.1));
                let outcome = if matched_by[i].is_some() || order.reconciled_in.is_some() {
                    Outcome::Duplicate
                } else {
                    judge(line, order)
                };
                if outcome != Outcome::Duplicate {
                    matched_by[i] = Some(line.line);
                }
                LineResult {
                    outcome,
                    order: Some(i),
                    first_line: if outcome == Outcome::Duplicate {
                        earlier
                    } else {
                        None
                    },
                }
            }
        };
        results.push(result);
    }
    let missing_in_network: Vec<usize> = orders
        .iter()
        .enumerate()
        .filter(|(i, o)| {
            covers.contains(&o.kind)
                && o.status == BookStatus::Paid
                && o.paid_on == Some(day)
                && matched_by[*i].is_none()
                && o.reconciled_in.is_none()
        })
        .map(|(i, _)| i)
        .collect();
    let tie_outs = tie_out(lines, orders, &results, day, covers);
    Reconciled {
        lines: results,
        missing_in_network,
        tie_outs,
    }
}

/// A line against the order it names.
fn judge(line: &Line, order: &Order) -> Outcome {
    match (line.status, order.status) {
        (LineStatus::Paid, BookStatus::Paid) if line.amount == order.amount => Outcome::Matched,
        (LineStatus::Paid, BookStatus::Paid) => Outcome::AmountMismatch,
        (LineStatus::Paid, BookStatus::Expired) => Outcome::PaidAfterExpiry,
        (LineStatus::Paid, BookStatus::Open | BookStatus::Canceled) => Outcome::StatusMismatch,
        (LineStatus::Open | LineStatus::Closed, BookStatus::Paid) => Outcome::StatusMismatch,
        (LineStatus::Open, _) | (LineStatus::Closed, _) => Outcome::Matched,
    }
}

fn tie_out(
    lines: &[Line],
    orders: &[Order],
    results: &[LineResult],
    day: Date,
    covers: &[Kind],
) -> Vec<(Kind, TieOut)> {
    const KINDS: [Kind; 2] = [Kind::Collection, Kind::Payout];
    let slot = |kind: Kind| usize::from(kind == Kind::Payout);
    let mut totals = [TieOut::default(); 2];
    let mut present = [false; 2];
    // What the exceptions explain, on the file side and on the ledger side.
    let mut explained_file = [0i64; 2];
    let mut explained_ledger = [0i64; 2];
    for kind in covers {
        present[slot(*kind)] = true;
    }
    // File side: every paid line is matched or explained by its exception.
    let mut matched_orders = vec![false; orders.len()];
    for (line, result) in lines.iter().zip(results) {
        if line.status != LineStatus::Paid {
            continue;
        }
        let k = slot(line.kind);
        present[k] = true;
        totals[k].file_total = totals[k].file_total.saturating_add(line.amount);
        match (result.outcome, result.order) {
            (Outcome::Matched, Some(i)) => {
                totals[k].matched_total = totals[k].matched_total.saturating_add(orders[i].amount);
                matched_orders[i] = true;
            }
            _ => explained_file[k] = explained_file[k].saturating_add(line.amount),
        }
    }
    // Ledger side: the postings of the orders paid that day, against the matched ones.
    for (i, order) in orders.iter().enumerate() {
        let k = slot(order.kind);
        let paid_that_day = order.status == BookStatus::Paid && order.paid_on == Some(day);
        if paid_that_day {
            present[k] = true;
            totals[k].ledger_total = totals[k].ledger_total.saturating_add(order.ledger_amount);
            if !matched_orders[i] {
                // Missing in the network, an amount or status mismatch, or matched by an
                // earlier file: its exception (or that file) accounts for it.
                explained_ledger[k] = explained_ledger[k].saturating_add(order.ledger_amount);
            }
        } else if matched_orders[i] {
            // Matched that day, paid another day in our books: a timing difference.
            explained_ledger[k] = explained_ledger[k].saturating_sub(order.amount);
        }
    }
    let mut out = Vec::new();
    for kind in KINDS {
        let k = slot(kind);
        if !present[k] {
            continue;
        }
        let t = &mut totals[k];
        t.file_difference = t.file_total.saturating_sub(t.matched_total);
        t.ledger_difference = t.ledger_total.saturating_sub(t.matched_total);
        t.explained = explained_file[k].saturating_add(explained_ledger[k]);
        t.unexplained = t
            .file_difference
            .saturating_sub(explained_file[k])
            .saturating_abs()
            .saturating_add(
                t.ledger_difference
                    .saturating_sub(explained_ledger[k])
                    .saturating_abs(),
            );
        out.push((kind, *t));
    }
    out
}

/// The orders by each key a line may name them by.
/// Keyed by text the network's file names (foldhash: fast, and seeded per process).
struct Index<'a> {
    by_id: HashMap<&'a str, usize, RandomState>,
    by_network_id: HashMap<(Kind, &'a str), usize, RandomState>,
    by_code: HashMap<(Kind, &'a str), usize, RandomState>,
}

impl<'a> Index<'a> {
    /// Indexes the orders by the keys the lines carry only (an Asobancaria file names orders
    /// by code alone: one map, not three, for a million orders).
    fn new(orders: &'a [Order], lines: &[Line]) -> Index<'a> {
        let carried = |key: fn(&Line) -> bool| lines.iter().any(key);
        let (ids, network_ids, codes) = (
            carried(|l| l.our_id.is_some()),
            carried(|l| l.network_order_id.is_some()),
            carried(|l| l.code.is_some()),
        );
        let capacity = |wanted: bool| if wanted { orders.len() } else { 0 };
        let mut by_id = HashMap::with_capacity_and_hasher(capacity(ids), RandomState::default());
        let mut by_network_id =
            HashMap::with_capacity_and_hasher(capacity(network_ids), RandomState::default());
        let mut by_code =
            HashMap::with_capacity_and_hasher(capacity(codes), RandomState::default());
        for (i, o) in orders.iter().enumerate() {
            if ids {
                by_id.insert(&*o.id, i);
            }
            if network_ids && let Some(n) = &o.network_order_id {
                by_network_id.insert((o.kind, &**n), i);
            }
            if codes && let Some(c) = &o.code {
                by_code.insert((o.kind, &**c), i);
            }
        }
        Index {
            by_id,
            by_network_id,
            by_code,
        }
    }

    fn find(&self, line: &Line) -> Option<usize> {
        if let Some(id) = &line.our_id
            && let Some(i) = self.by_id.get(&**id)
        {
            return Some(*i);
        }
        if let Some(n) = &line.network_order_id
            && let Some(i) = self.by_network_id.get(&(line.kind, &**n))
        {
            return Some(*i);
        }
        line.code
            .as_ref()
            .and_then(|c| self.by_code.get(&(line.kind, &**c)).copied())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn day() -> Date {
        jiff::civil::date(2026, 12, 4)
    }

    fn order(id: &str, code: &str, amount: i64, status: BookStatus) -> Order {
        Order {
            id: id.into(),
            kind: Kind::Collection,
            network_order_id: Some(format!("net_{id}").into()),
            code: Some(code.into()),
            amount,
            status,
            paid_on: (status == BookStatus::Paid).then(day),
            ledger_amount: if status == BookStatus::Paid {
                amount
            } else {
                0
            },
            reconciled_in: None,
        }
    }

    fn line(n: u32, code: &str, amount: i64) -> Line {
        Line {
            line: n,
            kind: Kind::Collection,
            our_id: None,
            network_order_id: None,
            code: Some(code.into()),
            amount,
            status: LineStatus::Paid,
            counter: None,
        }
    }

    fn outcomes(r: &Reconciled) -> Vec<Outcome> {
        r.lines.iter().map(|l| l.outcome).collect()
    }

    const COVERS: &[Kind] = &[Kind::Collection];

    #[test]
    fn a_clean_day_matches_every_line_and_ties_out_at_zero() {
        let orders = vec![
            order("pi_1", "111", 10_000, BookStatus::Paid),
            order("pi_2", "222", 25_000, BookStatus::Paid),
        ];
        let lines = vec![line(3, "111", 10_000), line(4, "222", 25_000)];
        let r = reconcile(&lines, &orders, day(), COVERS);
        assert_eq!(outcomes(&r), vec![Outcome::Matched, Outcome::Matched]);
        assert!(r.missing_in_network.is_empty());
        let (kind, t) = r.tie_outs[0];
        assert_eq!(kind, Kind::Collection);
        assert_eq!(
            (t.file_total, t.matched_total, t.ledger_total),
            (35_000, 35_000, 35_000)
        );
        assert_eq!(
            (t.file_difference, t.ledger_difference, t.unexplained),
            (0, 0, 0)
        );
    }

    #[test]
    fn each_fault_gives_its_outcome_and_is_explained() {
        let mut expired = order("pi_4", "444", 7_000, BookStatus::Expired);
        expired.paid_on = None;
        let orders = vec![
            order("pi_1", "111", 10_000, BookStatus::Paid),
            order("pi_2", "222", 25_000, BookStatus::Paid),
            order("pi_3", "333", 5_000, BookStatus::Paid),
            expired,
            order("pi_5", "555", 9_000, BookStatus::Open),
        ];
        let lines = vec![
            line(3, "111", 10_000),
            line(4, "111", 10_000),
            line(5, "222", 25_100),
            line(6, "999", 1_000),
            line(7, "444", 7_000),
            line(8, "555", 9_000),
        ];
        let r = reconcile(&lines, &orders, day(), COVERS);
        assert_eq!(
            outcomes(&r),
            vec![
                Outcome::Matched,
                Outcome::Duplicate,
                Outcome::AmountMismatch,
                Outcome::MissingInCajero,
                Outcome::PaidAfterExpiry,
                Outcome::StatusMismatch,
            ]
        );
        assert_eq!(r.lines[1].first_line, Some(3));
        assert_eq!(r.missing_in_network, vec![2]);
        let t = r.tie_outs[0].1;
        assert_eq!(
            t.file_total,
            10_000 + 10_000 + 25_100 + 1_000 + 7_000 + 9_000
        );
        assert_eq!(t.matched_total, 10_000);
        assert_eq!(t.ledger_total, 10_000 + 25_000 + 5_000);
        assert_eq!(t.unexplained, 0, "{t:?}");
    }

    #[test]
    fn a_ledger_that_disagrees_with_the_orders_is_unexplained() {
        let mut o = order("pi_1", "111", 10_000, BookStatus::Paid);
        o.ledger_amount = 9_000;
        let r = reconcile(&[line(3, "111", 10_000)], &[o], day(), COVERS);
        let t = r.tie_outs[0].1;
        assert_eq!(t.ledger_difference, -1_000);
        assert_eq!(t.unexplained, 1_000);
    }

    #[test]
    fn an_order_matched_by_an_earlier_file_is_a_duplicate_and_not_missing() {
        let mut o = order("pi_1", "111", 10_000, BookStatus::Paid);
        o.reconciled_in = Some(("rcf_1".into(), 3));
        let r = reconcile(
            &[line(9, "111", 10_000)],
            std::slice::from_ref(&o),
            day(),
            COVERS,
        );
        assert_eq!(outcomes(&r), vec![Outcome::Duplicate]);
        assert_eq!(r.lines[0].first_line, Some(3));
        let r = reconcile(&[], &[o], day(), COVERS);
        assert!(r.missing_in_network.is_empty());
        assert_eq!(r.tie_outs[0].1.unexplained, 0);
    }

    #[test]
    fn lines_find_orders_by_our_id_then_network_id_then_code() {
        let orders = vec![order("pi_1", "111", 10_000, BookStatus::Paid)];
        let mut by_id = line(1, "nope", 10_000);
        by_id.our_id = Some("pi_1".into());
        let mut by_network = line(1, "nope", 10_000);
        by_network.network_order_id = Some("net_pi_1".into());
        for l in [by_id, by_network, line(1, "111", 10_000)] {
            let r = reconcile(&[l], &orders, day(), COVERS);
            assert_eq!(r.lines[0].order, Some(0));
        }
        let mut payout = line(1, "111", 10_000);
        payout.kind = Kind::Payout;
        let r = reconcile(&[payout], &orders, day(), COVERS);
        assert_eq!(r.lines[0].outcome, Outcome::MissingInCajero);
    }

    #[test]
    fn payouts_are_not_missing_from_a_file_that_covers_only_vouchers() {
        let mut payout = order("po_1", "", 10_000, BookStatus::Paid);
        payout.kind = Kind::Payout;
        payout.code = None;
        let r = reconcile(&[], std::slice::from_ref(&payout), day(), COVERS);
        assert!(r.missing_in_network.is_empty());
        let r = reconcile(&[], &[payout], day(), &[Kind::Collection, Kind::Payout]);
        assert_eq!(r.missing_in_network, vec![0]);
    }

    #[test]
    fn every_outcome_code_reads_back() {
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
        assert_eq!(Outcome::parse("other"), None);
    }
}
