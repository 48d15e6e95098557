//! The ledger's storage on every engine: posting, retries, concurrency limits, verification.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cajero_domain::id::MerchantId;
use cajero_domain::ledger::{
    AccountKey, AccountKind, Transfer, TransferCode, TransferError, TransferMode,
};
use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_domain::money::{Amount, Currency};
use cajero_store::ledger::{self, LedgerError, NewBatch, Posted};
use cajero_store::merchants::{self, MerchantRecord};
use cajero_store::verify::{self, Problem};
use cajero_store::{Store, StoreError, execute};
use jiff::Timestamp;

cajero_store::store_suite!(
    a_topup_then_a_reservation_then_its_post_moves_the_balances,
    a_voided_reservation_returns_the_money,
    a_reservation_is_resolved_from_its_stored_transfers_once,
    a_retried_batch_changes_nothing_and_a_changed_one_is_refused,
    a_batch_reusing_another_batchs_transfer_ids_is_refused_naming_the_first,
    an_overdraft_is_refused_and_leaves_nothing_behind,
    concurrent_reservations_never_overdraw_one_balance,
    verify_passes_on_good_books_and_reports_a_corrupted_row,
    a_shared_account_is_the_sum_of_its_buckets_for_every_reader,
    a_pending_credit_to_a_merchant_and_its_post_keep_the_books,
    a_batch_may_spend_what_it_credits_to_the_same_account_and_no_more,
    a_refused_batch_leaves_its_unit_of_work_going,
);

fn now() -> Timestamp {
    Timestamp::from_second(1_764_000_000).unwrap()
}

async fn merchant(store: &Store) -> MerchantId {
    let m = MerchantRecord {
        id: MerchantId::from_parts(1_764_000_000_000, 7),
        name: "A".into(),
        nit: None,
        status: MerchantStatus::Active,
        created_at: now(),
        updated_at: now(),
    };
    let id = m.id;
    store
        .write(move |mut c| Box::pin(async move { merchants::insert_merchant(&mut c, &m).await }))
        .await
        .unwrap();
    id
}

fn available(m: MerchantId) -> AccountKey {
    AccountKey::merchant(AccountKind::MerchantAvailable, m, Mode::Test, Currency::Cop)
}

fn payable() -> AccountKey {
    AccountKey::network(
        AccountKind::NetworkPayable,
        "efecty",
        Mode::Test,
        Currency::Cop,
    )
}

fn batch(m: MerchantId, id: &str, code: TransferCode, transfers: Vec<Transfer>) -> NewBatch {
    NewBatch {
        id: id.into(),
        merchant_id: Some(m),
        mode: Mode::Test,
        currency: Currency::Cop,
        code,
        source_id: None,
        available_on: None,
        transfers,
    }
}

fn topup(m: MerchantId, id: &str, amount: i64) -> NewBatch {
    batch(
        m,
        id,
        TransferCode::Topup,
        vec![Transfer {
            id: format!("{id}.0"),
            debit: AccountKey::platform(AccountKind::Funding, Mode::Test, Currency::Cop),
            credit: available(m),
            amount: Amount::new(amount).unwrap(),
            mode: TransferMode::Single,
            code: TransferCode::Topup,
        }],
    )
}

fn reserve(m: MerchantId, id: &str, amount: i64) -> NewBatch {
    batch(
        m,
        id,
        TransferCode::Payout,
        vec![Transfer {
            id: format!("{id}.0"),
            debit: available(m),
            credit: payable(),
            amount: Amount::new(amount).unwrap(),
            mode: TransferMode::Pending,
            code: TransferCode::Payout,
        }],
    )
}

fn resolve(m: MerchantId, reservation: &NewBatch, id: &str, post: bool) -> NewBatch {
    let transfers = reservation
        .transfers
        .iter()
        .map(|t| Transfer {
            id: format!("{id}.{}", t.id),
            mode: if post {
                TransferMode::PostPending(t.id.clone())
            } else {
                TransferMode::VoidPending(t.id.clone())
            },
            ..t.clone()
        })
        .collect();
    let code = if post {
        TransferCode::Payout
    } else {
        TransferCode::PayoutReversal
    };
    batch(m, id, code, transfers)
}

async fn post(store: &Store, b: NewBatch) -> Result<Posted, LedgerError> {
    store
        .write(move |mut c| Box::pin(async move { ledger::post_batch(&mut c, &b, now()).await }))
        .await
}

/// Posts `batch` in a unit of work that then stays open until the returned sender is used (or
/// dropped); returns once the batch is posted, with the unit's task.
async fn posted_and_held_open(
    store: &Store,
    batch: NewBatch,
) -> (
    tokio::task::JoinHandle<Result<(), LedgerError>>,
    tokio::sync::oneshot::Sender<()>,
) {
    let (posted_tx, posted_rx) = tokio::sync::oneshot::channel::<()>();
    let (commit_tx, commit_rx) = tokio::sync::oneshot::channel::<()>();
    let store = store.clone();
    let open = tokio::spawn(async move {
        store
            .write(move |mut c| {
                Box::pin(async move {
                    ledger::post_batch(&mut c, &batch, now()).await?;
                    let _ = posted_tx.send(());
                    let _ = commit_rx.await;
                    Ok::<_, LedgerError>(())
                })
            })
            .await
    });
    posted_rx.await.unwrap();
    (open, commit_tx)
}

/// Posts `batch`, failing the test with `waited` if that takes 5 s (it waits on a lock).
async fn post_without_waiting(
    store: &Store,
    batch: NewBatch,
    waited: &str,
) -> Result<Posted, LedgerError> {
    tokio::time::timeout(std::time::Duration::from_secs(5), post(store, batch))
        .await
        .expect(waited)
}

/// Fails the test unless `result` is the refusal of a debit beyond the account's credits.
fn assert_exceeds_credits(result: &Result<Posted, LedgerError>) {
    assert!(
        matches!(
            result,
            Err(LedgerError::Transfer(TransferError::ExceedsCredits { .. }))
        ),
        "{result:?}"
    );
}

/// Fails the test unless `err` refuses to resolve a pending transfer posted already.
fn assert_already_posted(err: &LedgerError) {
    assert!(
        matches!(
            err,
            LedgerError::Transfer(TransferError::PendingTransferAlreadyPosted { .. })
        ),
        "{err}"
    );
}

async fn balance(store: &Store, m: MerchantId) -> (i64, i64) {
    let balances = store
        .read(move |mut c| {
            Box::pin(async move { ledger::merchant_balances(&mut c, m, Mode::Test).await })
        })
        .await
        .unwrap();
    balances
        .first()
        .map(|b| (b.available, b.reserved))
        .unwrap_or((0, 0))
}

async fn verify_report(store: &Store) -> verify::Report {
    store
        .read(|mut c| Box::pin(async move { verify::verify(&mut c).await }))
        .await
        .unwrap()
}

async fn a_topup_then_a_reservation_then_its_post_moves_the_balances(store: Store) {
    let m = merchant(&store).await;
    assert_eq!(
        post(&store, topup(m, "txn_t", 500_000)).await.unwrap(),
        Posted::Created
    );
    let r = reserve(m, "txn_r", 200_000);
    post(&store, r.clone()).await.unwrap();
    assert_eq!(balance(&store, m).await, (300_000, 200_000));
    post(&store, resolve(m, &r, "txn_p", true)).await.unwrap();
    assert_eq!(balance(&store, m).await, (300_000, 0));
    let err = post(&store, resolve(m, &r, "txn_v", false))
        .await
        .unwrap_err();
    assert_already_posted(&err);
    assert!(verify_report(&store).await.problems.is_empty());
}

async fn a_voided_reservation_returns_the_money(store: Store) {
    let m = merchant(&store).await;
    post(&store, topup(m, "txn_t", 100_000)).await.unwrap();
    let r = reserve(m, "txn_r", 100_000);
    post(&store, r.clone()).await.unwrap();
    assert_eq!(balance(&store, m).await, (0, 100_000));
    post(&store, resolve(m, &r, "txn_v", false)).await.unwrap();
    assert_eq!(balance(&store, m).await, (100_000, 0));
    assert!(verify_report(&store).await.problems.is_empty());
}

async fn resolve_stored(
    store: &Store,
    m: MerchantId,
    reservation: &str,
    id: &str,
    post_them: bool,
) -> Result<Option<Posted>, LedgerError> {
    let (reservation, id) = (reservation.to_string(), id.to_string());
    store
        .write(move |mut c| {
            Box::pin(async move {
                let code = if post_them {
                    TransferCode::Payout
                } else {
                    TransferCode::PayoutReversal
                };
                let resolution = batch(m, &id, code, Vec::new());
                ledger::resolve_batch(&mut c, &reservation, resolution, post_them, now()).await
            })
        })
        .await
}

/// `resolve_batch` reads the reservation's transfers and what became of them in one statement:
/// it posts each one by a transfer of its own, a repeat changes nothing, resolving it the other
/// way afterwards is refused, and a reservation that was never made resolves to nothing.
async fn a_reservation_is_resolved_from_its_stored_transfers_once(store: Store) {
    let m = merchant(&store).await;
    post(&store, topup(m, "txn_t", 500_000)).await.unwrap();
    let mut r = reserve(m, "txn_r", 200_000);
    let mut fee = r.transfers[0].clone();
    fee.id = "txn_r.1".into();
    fee.amount = Amount::new(3_000).unwrap();
    fee.credit = AccountKey::platform(AccountKind::FeeRevenue, Mode::Test, Currency::Cop);
    fee.code = TransferCode::Fee;
    r.transfers.push(fee);
    post(&store, r).await.unwrap();
    assert_eq!(balance(&store, m).await, (297_000, 203_000));

    let posted = resolve_stored(&store, m, "txn_r", "txn_p", true).await;
    assert_eq!(posted.unwrap(), Some(Posted::Created));
    assert_eq!(balance(&store, m).await, (297_000, 0));
    let stored = store
        .read(|mut c| Box::pin(async move { ledger::batch_transfers(&mut c, "txn_p").await }))
        .await
        .unwrap();
    let made: Vec<_> = stored
        .iter()
        .map(|t| (t.id.as_str(), t.mode.clone(), t.amount.minor(), t.code))
        .collect();
    assert_eq!(
        made,
        [
            (
                "txn_p.0",
                TransferMode::PostPending("txn_r.0".into()),
                200_000,
                TransferCode::Payout
            ),
            (
                "txn_p.1",
                TransferMode::PostPending("txn_r.1".into()),
                3_000,
                TransferCode::Fee
            ),
        ]
    );
    let again = resolve_stored(&store, m, "txn_r", "txn_p", true).await;
    assert_eq!(again.unwrap(), Some(Posted::AlreadyExists));
    let err = resolve_stored(&store, m, "txn_r", "txn_v", false)
        .await
        .unwrap_err();
    assert_already_posted(&err);
    let nothing = resolve_stored(&store, m, "txn_never", "txn_nv", false).await;
    assert_eq!(nothing.unwrap(), None);
    assert_eq!(balance(&store, m).await, (297_000, 0));
    assert!(verify_report(&store).await.problems.is_empty());
}

async fn a_retried_batch_changes_nothing_and_a_changed_one_is_refused(store: Store) {
    let m = merchant(&store).await;
    post(&store, topup(m, "txn_t", 100)).await.unwrap();
    assert_eq!(
        post(&store, topup(m, "txn_t", 100)).await.unwrap(),
        Posted::AlreadyExists
    );
    assert_eq!(balance(&store, m).await, (100, 0));
    let err = post(&store, topup(m, "txn_t", 101)).await.unwrap_err();
    assert!(
        matches!(err, LedgerError::BatchExistsWithDifferentFields(_)),
        "{err}"
    );
}

async fn a_batch_reusing_another_batchs_transfer_ids_is_refused_naming_the_first(store: Store) {
    let m = merchant(&store).await;
    post(&store, topup(m, "txn_a", 100)).await.unwrap();
    post(&store, topup(m, "txn_b", 100)).await.unwrap();
    // A new batch whose second and third transfers carry the ids of the two above.
    let mut reuse = topup(m, "txn_c", 1);
    let mut second = reuse.transfers[0].clone();
    second.id = "txn_b.0".into();
    let mut third = reuse.transfers[0].clone();
    third.id = "txn_a.0".into();
    reuse.transfers.extend([second, third]);
    let err = post(&store, reuse).await.unwrap_err();
    assert!(
        matches!(
            &err,
            LedgerError::Transfer(TransferError::ExistsWithDifferentFields { id }) if id == "txn_a.0"
        ),
        "{err}"
    );
    assert_eq!(balance(&store, m).await, (200, 0));
    assert_eq!(verify_report(&store).await.transfers, 2);
}

async fn an_overdraft_is_refused_and_leaves_nothing_behind(store: Store) {
    let m = merchant(&store).await;
    post(&store, topup(m, "txn_t", 1_000)).await.unwrap();
    let err = post(&store, reserve(m, "txn_r", 1_001)).await.unwrap_err();
    assert!(
        matches!(
            err,
            LedgerError::Transfer(TransferError::ExceedsCredits {
                spendable: 1_000,
                ..
            })
        ),
        "{err}"
    );
    assert_eq!(balance(&store, m).await, (1_000, 0));
    let report = verify_report(&store).await;
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.transfers, 1);
}

/// Fifty concurrent reservations of 30,000 against 1,000,000: exactly 33 fit.
async fn concurrent_reservations_never_overdraw_one_balance(store: Store) {
    let m = merchant(&store).await;
    post(&store, topup(m, "txn_t", 1_000_000)).await.unwrap();
    let mut tasks = Vec::new();
    for n in 0..50 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            post(&store, reserve(m, &format!("txn_r{n}"), 30_000)).await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(LedgerError::Transfer(TransferError::ExceedsCredits { .. })) => {}
            Err(other) => panic!("unexpected refusal: {other}"),
        }
    }
    assert_eq!(ok, 33);
    assert_eq!(balance(&store, m).await, (10_000, 990_000));
    assert!(verify_report(&store).await.problems.is_empty());
}

async fn verify_passes_on_good_books_and_reports_a_corrupted_row(store: Store) {
    let m = merchant(&store).await;
    post(&store, topup(m, "txn_t", 5_000)).await.unwrap();
    post(&store, reserve(m, "txn_r", 2_000)).await.unwrap();
    let clean = verify_report(&store).await;
    assert!(clean.problems.is_empty(), "{:?}", clean.problems);
    assert_eq!((clean.accounts, clean.transfers), (3, 2));
    let account = available(m).to_string();
    store
        .write(move |mut c| {
            Box::pin(async move {
                execute!(
                    &mut c,
                    "UPDATE ledger_accounts SET credits_posted = credits_posted + 1 WHERE id = $1",
                    &account
                )
                .map_err(StoreError::from)
            })
        })
        .await
        .unwrap();
    let broken = verify_report(&store).await;
    assert!(
        broken.problems.iter().any(|p| matches!(p, Problem::TotalsMismatch { account, .. } if account.starts_with("merchant_available"))),
        "{:?}",
        broken.problems
    );
    assert!(
        broken
            .problems
            .iter()
            .any(|p| matches!(p, Problem::Unbalanced { .. })),
        "{:?}",
        broken.problems
    );
}

/// The network's payable account is credited by every reservation, into buckets picked from
/// the transfer ids; its totals (as readers and the verifier see them) are the sums, and a
/// corrupted bucket is caught like a corrupted row.
async fn a_shared_account_is_the_sum_of_its_buckets_for_every_reader(store: Store) {
    let m = merchant(&store).await;
    post(&store, topup(m, "txn_t", 1_000_000)).await.unwrap();
    let mut reservations = Vec::new();
    for n in 0..40 {
        let r = reserve(m, &format!("txn_r{n}"), 1_000 + n);
        post(&store, r.clone()).await.unwrap();
        reservations.push(r);
    }
    let buckets: std::collections::BTreeSet<i64> = reservations
        .iter()
        .map(|r| ledger::bucket_of(&r.transfers[0].id))
        .collect();
    assert!(buckets.len() > 1, "forty transfers landed in one bucket");
    // Post the even ones, void the odd ones: every reservation resolved, wherever its
    // resolution's bucket is.
    for (n, r) in reservations.iter().enumerate() {
        post(&store, resolve(m, r, &format!("txn_x{n}"), n % 2 == 0))
            .await
            .unwrap();
    }
    let posted: i64 = (0..40).filter(|n| n % 2 == 0).map(|n| 1_000 + n).sum();
    let totals = store
        .read(|mut c| Box::pin(async move { ledger::account_totals(&mut c, &payable()).await }))
        .await
        .unwrap();
    assert_eq!(
        totals,
        cajero_domain::ledger::Totals {
            debits_pending: 0,
            debits_posted: 0,
            credits_pending: 0,
            credits_posted: posted,
        }
    );
    assert_eq!(balance(&store, m).await, (1_000_000 - posted, 0));
    let clean = verify_report(&store).await;
    assert!(clean.problems.is_empty(), "{:?}", clean.problems);
    assert_eq!(clean.accounts, 3);
    let account = payable().to_string();
    store
        .write(move |mut c| {
            Box::pin(async move {
                execute!(
                    &mut c,
                    "UPDATE ledger_account_buckets SET credits_posted = credits_posted + 1 \
                     WHERE account_id = $1 AND bucket = (SELECT MIN(bucket) \
                     FROM ledger_account_buckets WHERE account_id = $1)",
                    &account
                )
                .map_err(StoreError::from)
            })
        })
        .await
        .unwrap();
    let broken = verify_report(&store).await;
    assert!(
        broken.problems.iter().any(|p| matches!(p, Problem::TotalsMismatch { account, .. } if account.starts_with("network_payable"))),
        "{:?}",
        broken.problems
    );
}

/// A pending credit to a merchant's account is kept apart from the account's row (the limit
/// does not read it) and its post moves it into the row's posted credits: the books balance,
/// the money becomes spendable, and no stored total goes below zero.
async fn a_pending_credit_to_a_merchant_and_its_post_keep_the_books(store: Store) {
    let m = merchant(&store).await;
    let credit = batch(
        m,
        "txn_c",
        TransferCode::Topup,
        vec![Transfer {
            id: "txn_c.0".into(),
            debit: AccountKey::platform(AccountKind::Funding, Mode::Test, Currency::Cop),
            credit: available(m),
            amount: Amount::new(70_000).unwrap(),
            mode: TransferMode::Pending,
            code: TransferCode::Topup,
        }],
    );
    post(&store, credit.clone()).await.unwrap();
    // Not spendable while pending.
    let early = post(&store, reserve(m, "txn_r0", 1)).await;
    assert!(
        matches!(
            early,
            Err(LedgerError::Transfer(TransferError::ExceedsCredits { .. }))
        ),
        "{early:?}"
    );
    let mut settle = resolve(m, &credit, "txn_p", true);
    settle.code = TransferCode::Topup;
    for t in &mut settle.transfers {
        t.code = TransferCode::Topup;
    }
    post(&store, settle).await.unwrap();
    assert_eq!(balance(&store, m).await, (70_000, 0));
    post(&store, reserve(m, "txn_r1", 70_000)).await.unwrap();
    assert_eq!(balance(&store, m).await, (0, 70_000));
    let report = verify_report(&store).await;
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

/// Two servers on one PostgreSQL (two stores, two pools) reserve one merchant's balance at
/// once: 60 reservations of 30,000 against 1,000,000, so exactly 33 fit, and the books balance.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_never_overdraw_one_balance() {
    let Some(url) = cajero_store::testing::fresh_postgres_url().await.unwrap() else {
        eprintln!(
            "skipped: set {} to run the PostgreSQL suite",
            cajero_store::testing::POSTGRES_URL_VAR
        );
        return;
    };
    let options = cajero_store::StoreOptions::default();
    let first = Store::open(&url, &options).await.unwrap();
    let second = Store::open(&url, &options).await.unwrap();
    let m = merchant(&first).await;
    post(&first, topup(m, "txn_t", 1_000_000)).await.unwrap();
    let mut tasks = Vec::new();
    for n in 0..60 {
        let store = if n % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        tasks.push(tokio::spawn(async move {
            post(&store, reserve(m, &format!("txn_r{n}"), 30_000)).await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(LedgerError::Transfer(TransferError::ExceedsCredits { .. })) => {}
            Err(other) => panic!("unexpected refusal: {other}"),
        }
    }
    assert_eq!(ok, 33);
    assert_eq!(balance(&second, m).await, (10_000, 990_000));
    let report = verify_report(&first).await;
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.transfers, 34);
    first.close().await;
    second.close().await;
}

/// A credit to a merchant (a top-up, a paid pay-in) goes to its account's buckets, not its
/// row (issue 12): a reservation never waits for the unit that credits, and cannot spend the
/// credit before that unit commits.
#[tokio::test]
async fn crediting_a_merchant_does_not_hold_its_row() {
    let Some(url) = cajero_store::testing::fresh_postgres_url().await.unwrap() else {
        eprintln!(
            "skipped: set {} to run the PostgreSQL suite",
            cajero_store::testing::POSTGRES_URL_VAR
        );
        return;
    };
    let store = Store::open(&url, &cajero_store::StoreOptions::default())
        .await
        .unwrap();
    let m = merchant(&store).await;
    post(&store, topup(m, "txn_t1", 100_000)).await.unwrap();

    // A unit that credits 50,000 more and then stays open until told to commit.
    let (open, commit_tx) = posted_and_held_open(&store, topup(m, "txn_t2", 50_000)).await;
    // What was there before fits, and must not wait for the open credit.
    let first = post_without_waiting(
        &store,
        reserve(m, "txn_r1", 100_000),
        "the reservation waited for the unit that credits the merchant",
    )
    .await;
    first.unwrap();
    // The open credit is not there yet: refused, without waiting either.
    let over = post_without_waiting(
        &store,
        reserve(m, "txn_r2", 1),
        "the refusal waited for the unit that credits the merchant",
    )
    .await;
    assert_exceeds_credits(&over);
    commit_tx.send(()).unwrap();
    open.await.unwrap().unwrap();
    // Committed, it can be spent, to the last peso and not one more.
    post(&store, reserve(m, "txn_r3", 50_000)).await.unwrap();
    let over = post(&store, reserve(m, "txn_r4", 1)).await;
    assert_exceeds_credits(&over);
    assert_eq!(balance(&store, m).await, (0, 150_000));
    let report = verify_report(&store).await;
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    store.close().await;
}

/// Posting a reservation (what settles every paid payout) leaves the merchant's row alone, so
/// a unit of work that posts one and goes on with other statements does not make the
/// merchant's next reservation wait for it: on PostgreSQL, a reservation completes while a
/// transaction that posted another is still open, and the limit still counts both.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn settling_a_reservation_does_not_hold_the_merchants_row() {
    let Some(url) = cajero_store::testing::fresh_postgres_url().await.unwrap() else {
        eprintln!(
            "skipped: set {} to run the PostgreSQL suite",
            cajero_store::testing::POSTGRES_URL_VAR
        );
        return;
    };
    let store = Store::open(&url, &cajero_store::StoreOptions::default())
        .await
        .unwrap();
    let m = merchant(&store).await;
    post(&store, topup(m, "txn_t", 100_000)).await.unwrap();
    let first = reserve(m, "txn_r1", 60_000);
    post(&store, first.clone()).await.unwrap();

    // A unit that posts the first reservation and then stays open until told to commit.
    let (open, commit_tx) = posted_and_held_open(&store, resolve(m, &first, "txn_p1", true)).await;
    // 40,000 is what is left: it fits, and must not wait for the open unit.
    let second = post_without_waiting(
        &store,
        reserve(m, "txn_r2", 40_000),
        "the reservation waited for the unit that settled another one",
    )
    .await;
    second.unwrap();
    // Nothing is left: one more is refused, the open settlement notwithstanding.
    let over = post_without_waiting(
        &store,
        reserve(m, "txn_r3", 1),
        "the refusal waited for the unit that settled another one",
    )
    .await;
    assert_exceeds_credits(&over);
    commit_tx.send(()).unwrap();
    open.await.unwrap().unwrap();
    assert_eq!(balance(&store, m).await, (0, 40_000));
    let report = verify_report(&store).await;
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    store.close().await;
}

/// A batch that credits a merchant's balance and debits it in the same batch: the limit counts
/// the batch's own credit (written to the account's buckets, apart from the row the limit's
/// statement changes), so it may spend exactly that and not one peso more; a refused one
/// leaves nothing behind.
async fn a_batch_may_spend_what_it_credits_to_the_same_account_and_no_more(store: Store) {
    let m = merchant(&store).await;
    let credit_then_debit = |id: &str, credit: i64, debit: i64| {
        let mut b = topup(m, id, credit);
        b.transfers.push(Transfer {
            id: format!("{id}.1"),
            debit: available(m),
            credit: payable(),
            amount: Amount::new(debit).unwrap(),
            mode: TransferMode::Pending,
            code: TransferCode::Payout,
        });
        b
    };
    let refused = post(&store, credit_then_debit("txn_a", 1_000, 1_001)).await;
    assert_exceeds_credits(&refused);
    assert_eq!(balance(&store, m).await, (0, 0));
    assert_eq!(verify_report(&store).await.transfers, 0);
    post(&store, credit_then_debit("txn_b", 1_000, 1_000))
        .await
        .unwrap();
    assert_eq!(balance(&store, m).await, (0, 1_000));
    let report = verify_report(&store).await;
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.transfers, 2);
}

/// A batch the limit refuses is undone alone: the unit of work that posted it goes on, and
/// what it writes afterwards commits (a payout refused for its balance is recorded as failed).
async fn a_refused_batch_leaves_its_unit_of_work_going(store: Store) {
    let m = merchant(&store).await;
    post(&store, topup(m, "txn_t", 1_000)).await.unwrap();
    let (refused, second) = store
        .write(move |mut c| {
            Box::pin(async move {
                let refused = ledger::post_batch(&mut c, &reserve(m, "txn_r1", 1_001), now()).await;
                let second = ledger::post_batch(&mut c, &reserve(m, "txn_r2", 400), now()).await?;
                Ok::<_, LedgerError>((refused, second))
            })
        })
        .await
        .unwrap();
    assert_exceeds_credits(&refused);
    assert_eq!(second, Posted::Created);
    assert_eq!(balance(&store, m).await, (600, 400));
    let report = verify_report(&store).await;
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.transfers, 2);
}
