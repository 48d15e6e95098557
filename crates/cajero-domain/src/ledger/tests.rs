//! The ledger's rules: every refusal, and random operation sequences against a reference model.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use proptest::prelude::*;

use super::fees::{FeePlan, FeeRule};
use super::*;
use crate::money::BasisPoints;

fn a(minor: i64) -> Amount {
    Amount::new(minor).unwrap()
}

fn merchant(n: u64) -> MerchantId {
    MerchantId::from_parts(1_000 + n, u128::from(n))
}

fn available(m: MerchantId) -> AccountKey {
    AccountKey::merchant(AccountKind::MerchantAvailable, m, Mode::Test, Currency::Cop)
}

fn pending_acct(m: MerchantId) -> AccountKey {
    AccountKey::merchant(AccountKind::MerchantPending, m, Mode::Test, Currency::Cop)
}

fn platform(kind: AccountKind) -> AccountKey {
    AccountKey::platform(kind, Mode::Test, Currency::Cop)
}

fn network(kind: AccountKind) -> AccountKey {
    AccountKey::network(kind, "efecty", Mode::Test, Currency::Cop)
}

/// A minimal in-memory ledger on top of [`apply`], as the store is on top of SQL.
#[derive(Default)]
struct Memory {
    totals: HashMap<AccountKey, Totals>,
    transfers: HashMap<String, (Transfer, PendingState)>,
}

impl Memory {
    /// Applies a linked batch: all or nothing.
    fn post(&mut self, batch: &[Transfer]) -> Result<(), TransferError> {
        let mut totals = self.totals.clone();
        let mut transfers = self.transfers.clone();
        for t in batch {
            if let Some((existing, _)) = transfers.get(&t.id) {
                if existing == t {
                    continue;
                }
                return Err(TransferError::ExistsWithDifferentFields { id: t.id.clone() });
            }
            let pending_id = match &t.mode {
                TransferMode::PostPending(p) | TransferMode::VoidPending(p) => Some(p.clone()),
                _ => None,
            };
            let record = pending_id.as_deref().and_then(|p| {
                transfers.get(p).map(|(pt, state)| PendingRecord {
                    debit: pt.debit.clone(),
                    credit: pt.credit.clone(),
                    amount: pt.amount,
                    is_pending: pt.mode == TransferMode::Pending,
                    state: *state,
                })
            });
            let mut d = totals.get(&t.debit).copied().unwrap_or_default();
            let mut c = totals.get(&t.credit).copied().unwrap_or_default();
            apply(t, &mut d, &mut c, record.as_ref())?;
            totals.insert(t.debit.clone(), d);
            totals.insert(t.credit.clone(), c);
            if let Some(p) = pending_id
                && let Some(entry) = transfers.get_mut(&p)
            {
                entry.1 = match t.mode {
                    TransferMode::PostPending(_) => PendingState::Posted,
                    _ => PendingState::Voided,
                };
            }
            transfers.insert(t.id.clone(), (t.clone(), PendingState::Pending));
        }
        self.totals = totals;
        self.transfers = transfers;
        Ok(())
    }

    fn get(&self, key: &AccountKey) -> Totals {
        self.totals.get(key).copied().unwrap_or_default()
    }

    fn check_invariants(&self) {
        let (mut debits, mut credits) = (0i128, 0i128);
        for (key, t) in &self.totals {
            assert!(t.within(key.kind.limit()), "{key} broke its limit: {t:?}");
            assert!(t.debits_pending >= 0 && t.credits_pending >= 0);
            debits += i128::from(t.debits_posted) + i128::from(t.debits_pending);
            credits += i128::from(t.credits_posted) + i128::from(t.credits_pending);
        }
        assert_eq!(debits, credits, "debits and credits must balance");
    }
}

fn single(
    id: &str,
    debit: AccountKey,
    credit: AccountKey,
    amount: i64,
    code: TransferCode,
) -> Transfer {
    Transfer {
        id: id.into(),
        debit,
        credit,
        amount: a(amount),
        mode: TransferMode::Single,
        code,
    }
}

#[test]
fn a_merchant_cannot_spend_more_than_it_has() {
    let m = merchant(1);
    let mut ledger = Memory::default();
    ledger
        .post(&[single(
            "t1",
            platform(AccountKind::Funding),
            available(m),
            100,
            TransferCode::Topup,
        )])
        .unwrap();
    let reserve = Transfer {
        id: "t2".into(),
        debit: available(m),
        credit: network(AccountKind::NetworkPayable),
        amount: a(101),
        mode: TransferMode::Pending,
        code: TransferCode::Payout,
    };
    let err = ledger.post(&[reserve]).unwrap_err();
    assert!(
        matches!(
            err,
            TransferError::ExceedsCredits {
                spendable: 100,
                requested: 101,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_retry_with_the_same_fields_is_a_no_op_and_with_other_fields_an_error() {
    let m = merchant(1);
    let mut ledger = Memory::default();
    let t = single(
        "t1",
        platform(AccountKind::Funding),
        available(m),
        100,
        TransferCode::Topup,
    );
    ledger.post(std::slice::from_ref(&t)).unwrap();
    ledger.post(std::slice::from_ref(&t)).unwrap();
    assert_eq!(ledger.get(&available(m)).credits_posted, 100);
    let changed = Transfer { amount: a(99), ..t };
    assert!(matches!(
        ledger.post(&[changed]),
        Err(TransferError::ExistsWithDifferentFields { .. })
    ));
}

#[test]
fn a_pending_transfer_is_posted_or_voided_once() {
    let m = merchant(1);
    let mut ledger = Memory::default();
    ledger
        .post(&[single(
            "fund",
            platform(AccountKind::Funding),
            available(m),
            500,
            TransferCode::Topup,
        )])
        .unwrap();
    let reserve = Transfer {
        id: "r".into(),
        debit: available(m),
        credit: network(AccountKind::NetworkPayable),
        amount: a(200),
        mode: TransferMode::Pending,
        code: TransferCode::Payout,
    };
    ledger.post(std::slice::from_ref(&reserve)).unwrap();
    assert_eq!(ledger.get(&available(m)).spendable(), 300);
    let post = Transfer {
        id: "p".into(),
        mode: TransferMode::PostPending("r".into()),
        ..reserve.clone()
    };
    let void = Transfer {
        id: "v".into(),
        mode: TransferMode::VoidPending("r".into()),
        ..reserve.clone()
    };
    ledger.post(std::slice::from_ref(&post)).unwrap();
    assert_eq!(
        ledger
            .get(&available(m))
            .posted_balance(AccountKind::MerchantAvailable),
        300
    );
    assert!(matches!(
        ledger.post(&[void]),
        Err(TransferError::PendingTransferAlreadyPosted { .. })
    ));
    let missing = Transfer {
        id: "x".into(),
        mode: TransferMode::PostPending("nope".into()),
        ..reserve.clone()
    };
    assert!(matches!(
        ledger.post(&[missing]),
        Err(TransferError::PendingTransferNotFound { .. })
    ));
    let not_pending = Transfer {
        id: "y".into(),
        mode: TransferMode::VoidPending("fund".into()),
        ..reserve.clone()
    };
    assert!(matches!(
        ledger.post(&[not_pending]),
        Err(TransferError::PendingTransferNotPending { .. })
    ));
    ledger.post(std::slice::from_ref(&reserve)).unwrap(); // retry of the original: exists
    let reserve2 = Transfer {
        id: "r2".into(),
        ..reserve.clone()
    };
    ledger.post(std::slice::from_ref(&reserve2)).unwrap();
    let wrong_amount = Transfer {
        id: "v2".into(),
        amount: a(1),
        mode: TransferMode::VoidPending("r2".into()),
        ..reserve.clone()
    };
    assert!(matches!(
        ledger.post(&[wrong_amount]),
        Err(TransferError::PendingTransferMismatch { .. })
    ));
    let void2 = Transfer {
        id: "v3".into(),
        mode: TransferMode::VoidPending("r2".into()),
        ..reserve
    };
    ledger.post(&[void2]).unwrap();
    assert_eq!(ledger.get(&available(m)).spendable(), 300);
    ledger.check_invariants();
}

#[test]
fn malformed_transfers_are_refused_by_name() {
    let m = merchant(1);
    let t = single("t", available(m), available(m), 1, TransferCode::Adjustment);
    assert!(matches!(
        validate(&t),
        Err(TransferError::AccountsMustBeDifferent { .. })
    ));
    let usd = AccountKey::merchant(AccountKind::MerchantAvailable, m, Mode::Test, Currency::Usd);
    let t = single(
        "t",
        platform(AccountKind::Funding),
        usd,
        1,
        TransferCode::Topup,
    );
    assert!(matches!(
        validate(&t),
        Err(TransferError::CurrencyMismatch { .. })
    ));
    let live = AccountKey::merchant(AccountKind::MerchantAvailable, m, Mode::Live, Currency::Cop);
    let t = single(
        "t",
        platform(AccountKind::Funding),
        live,
        1,
        TransferCode::Topup,
    );
    assert!(matches!(
        validate(&t),
        Err(TransferError::ModeMismatch { .. })
    ));
    let t = single(
        "t",
        platform(AccountKind::Funding),
        available(m),
        0,
        TransferCode::Topup,
    );
    assert!(matches!(
        validate(&t),
        Err(TransferError::AmountMustNotBeZero { .. })
    ));
}

#[test]
fn a_batch_is_all_or_nothing() {
    let m = merchant(1);
    let mut ledger = Memory::default();
    let ok = single(
        "ok",
        platform(AccountKind::Funding),
        available(m),
        10,
        TransferCode::Topup,
    );
    let bad = single(
        "bad",
        available(m),
        platform(AccountKind::FeeRevenue),
        11,
        TransferCode::Fee,
    );
    assert!(ledger.post(&[ok, bad]).is_err());
    assert_eq!(ledger.get(&available(m)), Totals::default());
}

#[test]
fn account_ids_are_stable_text() {
    let m = MerchantId::from_parts(0, 0);
    assert_eq!(
        available(m).to_string(),
        format!("merchant_available:{m}:test:COP")
    );
    assert_eq!(
        network(AccountKind::NetworkReceivable).to_string(),
        "network_receivable:net.efecty:test:COP"
    );
    for key in [
        available(m),
        network(AccountKind::NetworkReceivable),
        platform(AccountKind::Fx),
    ] {
        assert_eq!(key.to_string().parse::<AccountKey>().unwrap(), key);
    }
    assert!(
        "merchant_available:mer_x:test:COP"
            .parse::<AccountKey>()
            .is_err()
    );
    assert!("fx:platform:test:COP:extra".parse::<AccountKey>().is_err());
    for kind in AccountKind::ALL {
        assert_eq!(kind.as_str().parse::<AccountKind>().unwrap(), kind);
    }
}

// ---- random sequences against a reference model ------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    Topup {
        merchant: usize,
        amount: i64,
    },
    PayinPaid {
        merchant: usize,
        amount: i64,
    },
    Settle {
        merchant: usize,
    },
    Payout {
        merchant: usize,
        amount: i64,
    },
    Collect {
        payout: usize,
    },
    Void {
        payout: usize,
    },
    /// A refund paid out as a cash pick-up and collected at once.
    Refund {
        merchant: usize,
        amount: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3usize, 1..500_000i64).prop_map(|(merchant, amount)| Op::Topup { merchant, amount }),
        (0..3usize, 1..500_000i64)
            .prop_map(|(merchant, amount)| Op::PayinPaid { merchant, amount }),
        (0..3usize).prop_map(|merchant| Op::Settle { merchant }),
        (0..3usize, 1..800_000i64).prop_map(|(merchant, amount)| Op::Payout { merchant, amount }),
        (0..40usize).prop_map(|payout| Op::Collect { payout }),
        (0..40usize).prop_map(|payout| Op::Void { payout }),
        (0..3usize, 1..300_000i64).prop_map(|(merchant, amount)| Op::Refund { merchant, amount }),
    ]
}

/// What a merchant should see, computed by plain arithmetic.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Expected {
    available: i64,
    pending: i64,
    reserved: i64,
}

struct Payout {
    merchant: usize,
    transfers: Vec<Transfer>,
    total: i64,
    /// `None` while open; `Some(true)` once collected, `Some(false)` once voided.
    closed_by_collect: Option<bool>,
}

fn plan() -> FeePlan {
    FeePlan {
        payin: FeeRule::flat(BasisPoints::new(265).unwrap(), a(700), a(0)),
        payout: FeeRule::flat(BasisPoints::new(100).unwrap(), a(2_000), a(2_500)),
        gmf_on_payouts: true,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_operations_keep_the_books_balanced_and_match_the_model(ops in proptest::collection::vec(op(), 1..60)) {
        let merchants: Vec<MerchantId> = (0..3).map(merchant).collect();
        let mut ledger = Memory::default();
        let mut model = [Expected::default(); 3];
        let mut payouts: Vec<Payout> = Vec::new();
        let fees = plan();
        for (n, op) in ops.into_iter().enumerate() {
            match op {
                Op::Topup { merchant: i, amount } => {
                    let t = single(&format!("{n}"), platform(AccountKind::Funding), available(merchants[i]), amount, TransferCode::Topup);
                    ledger.post(&[t]).unwrap();
                    model[i].available += amount;
                }
                Op::PayinPaid { merchant: i, amount } => {
                    let f = fees.payin(a(amount), Amount::ZERO).unwrap();
                    let m = merchants[i];
                    let mut batch = vec![single(&format!("{n}.in"), network(AccountKind::NetworkReceivable), pending_acct(m), amount, TransferCode::Payin)];
                    // The fee can exceed a tiny pay-in: then it is charged in full only if the
                    // pending balance covers it, which this batch refuses otherwise.
                    batch.push(single(&format!("{n}.fee"), pending_acct(m), platform(AccountKind::FeeRevenue), f.fee.minor(), TransferCode::Fee));
                    if !f.iva.is_zero() {
                        batch.push(single(&format!("{n}.iva"), pending_acct(m), platform(AccountKind::IvaPayable), f.iva.minor(), TransferCode::Fee));
                    }
                    let net = amount - f.fee.minor() - f.iva.minor();
                    let result = ledger.post(&batch);
                    if model[i].pending + net >= 0 {
                        result.unwrap();
                        model[i].pending += net;
                    } else {
                        let refused = matches!(result, Err(TransferError::ExceedsCredits { .. }));
                        prop_assert!(refused);
                    }
                }
                Op::Settle { merchant: i } => {
                    let amount = model[i].pending;
                    if amount > 0 {
                        let m = merchants[i];
                        ledger.post(&[single(&format!("{n}"), pending_acct(m), available(m), amount, TransferCode::Settlement)]).unwrap();
                        model[i].pending = 0;
                        model[i].available += amount;
                    }
                }
                Op::Payout { merchant: i, amount } => {
                    let f = fees.payout(a(amount), Amount::ZERO).unwrap();
                    let m = merchants[i];
                    let parts = [
                        (network(AccountKind::NetworkPayable), amount, TransferCode::Payout),
                        (platform(AccountKind::FeeRevenue), f.fee.minor(), TransferCode::Fee),
                        (platform(AccountKind::IvaPayable), f.iva.minor(), TransferCode::Fee),
                        (platform(AccountKind::GmfPayable), f.gmf.minor(), TransferCode::Fee),
                    ];
                    let transfers: Vec<Transfer> = parts
                        .iter()
                        .enumerate()
                        .filter(|(_, (_, amt, _))| *amt > 0)
                        .map(|(k, (credit, amt, code))| Transfer {
                            id: format!("{n}.{k}"),
                            debit: available(m),
                            credit: credit.clone(),
                            amount: a(*amt),
                            mode: TransferMode::Pending,
                            code: *code,
                        })
                        .collect();
                    let total: i64 = transfers.iter().map(|t| t.amount.minor()).sum();
                    let result = ledger.post(&transfers);
                    if total <= model[i].available - model[i].reserved {
                        result.unwrap();
                        model[i].reserved += total;
                        payouts.push(Payout { merchant: i, transfers, total, closed_by_collect: None });
                    } else {
                        let refused = matches!(result, Err(TransferError::ExceedsCredits { .. }));
                        prop_assert!(refused);
                    }
                }
                Op::Refund { merchant: i, amount } => {
                    let m = merchants[i];
                    let reserve = Transfer {
                        id: format!("{n}.refund"),
                        debit: available(m),
                        credit: network(AccountKind::NetworkPayable),
                        amount: a(amount),
                        mode: TransferMode::Pending,
                        code: TransferCode::Refund,
                    };
                    let post = Transfer {
                        id: format!("{n}.refund.post"),
                        mode: TransferMode::PostPending(reserve.id.clone()),
                        ..reserve.clone()
                    };
                    let result = ledger.post(&[reserve, post]);
                    if amount <= model[i].available - model[i].reserved {
                        result.unwrap();
                        model[i].available -= amount;
                    } else {
                        let refused = matches!(result, Err(TransferError::ExceedsCredits { .. }));
                        prop_assert!(refused);
                    }
                }
                Op::Collect { payout } | Op::Void { payout } => {
                    let collect = matches!(op, Op::Collect { .. });
                    let Some(p) = payouts.get_mut(payout) else { continue };
                    let batch: Vec<Transfer> = p.transfers.iter().map(|t| Transfer {
                        id: format!("{}.{}", t.id, if collect { "post" } else { "void" }),
                        mode: if collect { TransferMode::PostPending(t.id.clone()) } else { TransferMode::VoidPending(t.id.clone()) },
                        ..t.clone()
                    }).collect();
                    let result = ledger.post(&batch);
                    if p.closed_by_collect.is_none() {
                        result.unwrap();
                        p.closed_by_collect = Some(collect);
                        model[p.merchant].reserved -= p.total;
                        if collect {
                            model[p.merchant].available -= p.total;
                        }
                    } else if p.closed_by_collect == Some(collect) {
                        // The same post (or void) again: the same transfer ids, a no-op.
                        prop_assert!(result.is_ok(), "a retry answers 'already exists'");
                    } else {
                        prop_assert!(result.is_err(), "a posted payout cannot be voided, nor the reverse");
                    }
                }
            }
            ledger.check_invariants();
            for (i, m) in merchants.iter().enumerate() {
                let avail = ledger.get(&available(*m));
                let got = Expected {
                    available: avail.posted_balance(AccountKind::MerchantAvailable),
                    pending: ledger.get(&pending_acct(*m)).posted_balance(AccountKind::MerchantPending),
                    reserved: avail.debits_pending,
                };
                prop_assert_eq!(got, model[i]);
                prop_assert!(model[i].available - model[i].reserved >= 0);
            }
        }
    }
}

#[test]
fn only_what_a_limit_compares_is_changed_in_the_row() {
    let t = |dp, dpo, cp, cpo| Totals {
        debits_pending: dp,
        debits_posted: dpo,
        credits_pending: cp,
        credits_posted: cpo,
    };
    let zero = Totals::default();
    let limit = Limit::DebitsMustNotExceedCredits;
    // Posting a reservation: pending debit becomes posted, the sum the limit reads is the same.
    assert_eq!(
        t(-500, 500, 0, 0).split_by_limit(limit),
        (t(-500, 500, 0, 0), zero)
    );
    // Credits, pending or posted, are apart: the check reads posted ones from the buckets.
    assert_eq!(
        t(0, 0, 700, 0).split_by_limit(limit),
        (t(0, 0, 700, 0), zero)
    );
    assert_eq!(
        t(0, 0, -700, 700).split_by_limit(limit),
        (t(0, 0, -700, 700), zero)
    );
    assert_eq!(
        t(0, 0, 0, 700).split_by_limit(limit),
        (t(0, 0, 0, 700), zero)
    );
    // A debit and a credit of one account in one batch: only the debit in the row.
    assert_eq!(
        t(500, 0, 0, 700).split_by_limit(limit),
        (t(0, 0, 0, 700), t(500, 0, 0, 0))
    );
    // A reservation, a void, a direct debit: the limit must see them.
    assert_eq!(
        t(500, 0, 0, 0).split_by_limit(limit),
        (zero, t(500, 0, 0, 0))
    );
    assert_eq!(
        t(-500, 0, 0, 0).split_by_limit(limit),
        (zero, t(-500, 0, 0, 0))
    );
    assert_eq!(
        t(0, 500, 0, 0).split_by_limit(limit),
        (zero, t(0, 500, 0, 0))
    );
    // Without a limit everything is apart.
    assert_eq!(
        t(500, 0, 3, 9).split_by_limit(Limit::None),
        (t(500, 0, 3, 9), zero)
    );
}
