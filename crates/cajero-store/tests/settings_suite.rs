//! Fee plans, settlement terms, monthly volume and settlement lines on every engine.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cajero_domain::calendar;
use cajero_domain::id::{ApiKeyId, MerchantId, SettlementId};
use cajero_domain::ledger::fees::{FeeBreakdown, FeePlan, FeeRule, FeeRuleError, Tier};
use cajero_domain::ledger::settlement::SettlementTerms;
use cajero_domain::ledger::{AccountKey, AccountKind, Transfer, TransferCode, TransferMode};
use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_domain::money::{Amount, BasisPoints, Currency};
use cajero_store::ledger::{self, NewBatch};
use cajero_store::merchant_settings::{self, PlanSource, SettingsError};
use cajero_store::merchants::{self, ApiKeyRecord, MerchantRecord};
use cajero_store::settlements::{self, SettlementRecord, SettlementStatus};
use cajero_store::sqlx::AssertSqlSafe;
use cajero_store::verify::{self, Problem, Report};
use cajero_store::{Conn, Engine, Store, StoreError, cache_version, execute, fetch};
use jiff::Timestamp;
use jiff::civil::date;

cajero_store::store_suite!(
    defaults_are_free_in_test_mode_and_the_default_plan_in_live_mode,
    a_stored_plan_charges_its_tiers_and_minimum_at_their_edges,
    invalid_plans_and_terms_are_refused_and_nothing_is_stored,
    monthly_volume_counts_this_bogota_month_only,
    a_payouts_volume_counts_once_collected_and_the_verifier_checks_the_count,
    the_migrations_backfill_counts_what_was_posted_before_it,
    a_payin_batch_can_be_a_line_of_one_settlement_only,
    only_a_batch_with_a_date_enters_the_settlement_index_and_the_due_scan_uses_it,
    every_change_servers_cache_moves_the_cache_version,
);

fn a(minor: i64) -> Amount {
    Amount::new(minor).unwrap()
}

fn bp(v: u32) -> BasisPoints {
    BasisPoints::new(v).unwrap()
}

fn bogota(y: i16, m: i8, d: i8, h: i8, min: i8) -> Timestamp {
    date(y, m, d)
        .at(h, min, 0, 0)
        .to_zoned_datetime(calendar::bogota())
        .unwrap()
        .timestamp()
}

async fn merchant(store: &Store, n: u128) -> MerchantId {
    let now = bogota(2026, 11, 1, 0, 0);
    let m = MerchantRecord {
        id: MerchantId::from_parts(1_764_000_000_000, n),
        name: "A".into(),
        nit: None,
        status: MerchantStatus::Active,
        created_at: now,
        updated_at: now,
    };
    let id = m.id;
    store
        .write(move |mut c| Box::pin(async move { merchants::insert_merchant(&mut c, &m).await }))
        .await
        .unwrap();
    id
}

fn tiered() -> FeePlan {
    FeePlan {
        payin: FeeRule {
            tiers: vec![
                Tier {
                    monthly_volume_from: a(0),
                    rate: bp(300),
                    fixed: a(500),
                },
                Tier {
                    monthly_volume_from: a(10_000_000),
                    rate: bp(200),
                    fixed: a(300),
                },
            ],
            minimum: a(2_000),
        },
        payout: FeeRule::flat(bp(100), a(0), a(0)),
        gmf_on_payouts: true,
    }
}

async fn plan(store: &Store, m: MerchantId, mode: Mode) -> (FeePlan, PlanSource) {
    store
        .read(move |mut c| {
            Box::pin(async move { merchant_settings::fee_plan_with_source(&mut c, m, mode).await })
        })
        .await
        .unwrap()
}

async fn defaults_are_free_in_test_mode_and_the_default_plan_in_live_mode(store: Store) {
    let m = merchant(&store, 1).await;
    assert_eq!(
        plan(&store, m, Mode::Live).await,
        (FeePlan::free(), PlanSource::Free)
    );
    let terms = store
        .read(move |mut c| {
            Box::pin(
                async move { merchant_settings::settlement_terms(&mut c, m, Mode::Live).await },
            )
        })
        .await
        .unwrap();
    assert_eq!(terms, SettlementTerms::default());
    assert_eq!(terms.delay_business_days, 1);
    store
        .write(|mut c| {
            Box::pin(async move {
                merchant_settings::set_default_fee_plan(&mut c, &tiered(), Timestamp::UNIX_EPOCH)
                    .await
            })
        })
        .await
        .unwrap();
    assert_eq!(
        plan(&store, m, Mode::Live).await,
        (tiered(), PlanSource::Default)
    );
    assert_eq!(
        plan(&store, m, Mode::Test).await,
        (FeePlan::free(), PlanSource::Free)
    );
    let own = FeePlan {
        gmf_on_payouts: false,
        ..tiered()
    };
    let saved = own.clone();
    store
        .write(move |mut c| {
            Box::pin(async move {
                merchant_settings::set_fee_plan(
                    &mut c,
                    m,
                    Mode::Live,
                    &saved,
                    Timestamp::UNIX_EPOCH,
                )
                .await
            })
        })
        .await
        .unwrap();
    assert_eq!(
        plan(&store, m, Mode::Live).await,
        (own, PlanSource::Merchant)
    );
}

async fn a_stored_plan_charges_its_tiers_and_minimum_at_their_edges(store: Store) {
    let m = merchant(&store, 2).await;
    store
        .write(move |mut c| {
            Box::pin(async move {
                merchant_settings::set_fee_plan(
                    &mut c,
                    m,
                    Mode::Live,
                    &tiered(),
                    Timestamp::UNIX_EPOCH,
                )
                .await
            })
        })
        .await
        .unwrap();
    let stored = store
        .read(move |mut c| {
            Box::pin(async move { merchant_settings::fee_plan(&mut c, m, Mode::Live).await })
        })
        .await
        .unwrap();
    // (amount, volume before it, fee): the minimum wins below 50,000 at 3 % + 500; the second
    // tier starts exactly at 10,000,000 of volume.
    let cases = [
        (a(10_000), a(0), a(2_000)),
        (a(50_000), a(0), a(2_000)),
        (a(50_017), a(0), a(2_001)),
        (a(100_000), a(9_999_999), a(3_500)),
        (a(100_000), a(10_000_000), a(2_300)),
        (a(50_000), a(10_000_000), a(2_000)),
    ];
    for (amount, volume, fee) in cases {
        let got = stored.payin(amount, volume).unwrap();
        assert_eq!(got.fee, fee, "{amount} at volume {volume}");
        assert_eq!(got.iva, fee.percentage(BasisPoints::IVA));
        assert_eq!(got.gmf, a(0));
    }
    assert_eq!(
        stored.payout(a(125), a(0)).unwrap(),
        FeeBreakdown {
            fee: a(1),
            iva: a(0),
            gmf: a(1)
        }
    );
}

async fn invalid_plans_and_terms_are_refused_and_nothing_is_stored(store: Store) {
    let m = merchant(&store, 3).await;
    let mut bad = tiered();
    bad.payout.tiers.push(Tier {
        monthly_volume_from: a(0),
        rate: bp(1),
        fixed: a(0),
    });
    let err = store
        .write(move |mut c| {
            Box::pin(async move {
                merchant_settings::set_fee_plan(&mut c, m, Mode::Live, &bad, Timestamp::UNIX_EPOCH)
                    .await
            })
        })
        .await
        .unwrap_err();
    match err {
        SettingsError::InvalidPlan(e) => {
            assert_eq!(
                (e.rule, e.error),
                ("payout", FeeRuleError::TiersNotAscending)
            );
        }
        other => panic!("{other}"),
    }
    let unknown = MerchantId::from_parts(1, 1);
    let err = store
        .write(move |mut c| {
            Box::pin(async move {
                merchant_settings::set_fee_plan(
                    &mut c,
                    unknown,
                    Mode::Live,
                    &tiered(),
                    Timestamp::UNIX_EPOCH,
                )
                .await
            })
        })
        .await
        .unwrap_err();
    assert!(matches!(err, SettingsError::UnknownMerchant(id) if id == unknown));
    let too_slow = SettlementTerms {
        delay_business_days: 31,
        ..SettlementTerms::default()
    };
    let err = store
        .write(move |mut c| {
            Box::pin(async move {
                merchant_settings::set_settlement_terms(
                    &mut c,
                    m,
                    Mode::Live,
                    &too_slow,
                    Timestamp::UNIX_EPOCH,
                )
                .await
            })
        })
        .await
        .unwrap_err();
    assert!(matches!(err, SettingsError::InvalidTerms(_)), "{err}");
    assert_eq!(plan(&store, m, Mode::Live).await.1, PlanSource::Free);
}

fn payin_batch(m: MerchantId, id: &str, amount: i64, code: TransferCode) -> NewBatch {
    let pending = AccountKey::merchant(AccountKind::MerchantPending, m, Mode::Live, Currency::Cop);
    NewBatch {
        id: id.into(),
        merchant_id: Some(m),
        mode: Mode::Live,
        currency: Currency::Cop,
        code,
        source_id: None,
        available_on: Some(date(2026, 11, 2)),
        transfers: vec![
            Transfer {
                id: format!("{id}.0"),
                debit: AccountKey::network(
                    AccountKind::NetworkReceivable,
                    "efecty",
                    Mode::Live,
                    Currency::Cop,
                ),
                credit: pending.clone(),
                amount: a(amount),
                mode: TransferMode::Single,
                code,
            },
            Transfer {
                id: format!("{id}.1"),
                debit: pending,
                credit: AccountKey::platform(AccountKind::FeeRevenue, Mode::Live, Currency::Cop),
                amount: a(100),
                mode: TransferMode::Single,
                code: TransferCode::Fee,
            },
        ],
    }
}

async fn post(store: &Store, batch: NewBatch, at: Timestamp) {
    store
        .write(move |mut c| Box::pin(async move { ledger::post_batch(&mut c, &batch, at).await }))
        .await
        .unwrap();
}

async fn volume(store: &Store, m: MerchantId, code: TransferCode, now: Timestamp) -> Amount {
    store
        .read(move |mut c| {
            Box::pin(async move {
                merchant_settings::monthly_volume(&mut c, m, Mode::Live, code, now).await
            })
        })
        .await
        .unwrap()
}

async fn monthly_volume_counts_this_bogota_month_only(store: Store) {
    let m = merchant(&store, 4).await;
    // 31 Oct 23:30 Bogotá is already 1 Nov in UTC: it belongs to October.
    post(
        &store,
        payin_batch(m, "txn_oct", 1_000, TransferCode::Payin),
        bogota(2026, 10, 31, 23, 30),
    )
    .await;
    post(
        &store,
        payin_batch(m, "txn_nov1", 20_000, TransferCode::Payin),
        bogota(2026, 11, 1, 0, 0),
    )
    .await;
    post(
        &store,
        payin_batch(m, "txn_nov30", 300_000, TransferCode::Payin),
        bogota(2026, 11, 30, 23, 59),
    )
    .await;
    post(
        &store,
        payin_batch(m, "txn_dec", 4_000_000, TransferCode::Payin),
        bogota(2026, 12, 1, 0, 0),
    )
    .await;
    let november = bogota(2026, 11, 15, 12, 0);
    assert_eq!(
        volume(&store, m, TransferCode::Payin, november).await,
        a(320_000),
        "fees excluded"
    );
    assert_eq!(
        volume(&store, m, TransferCode::Payin, bogota(2026, 10, 1, 0, 0)).await,
        a(1_000)
    );
    assert_eq!(
        volume(&store, m, TransferCode::Payin, bogota(2026, 12, 31, 23, 59)).await,
        a(4_000_000)
    );
    assert_eq!(
        volume(&store, m, TransferCode::Payout, november).await,
        a(0)
    );
    let other = merchant(&store, 5).await;
    assert_eq!(
        volume(&store, other, TransferCode::Payin, november).await,
        a(0)
    );
}

fn live_available(m: MerchantId) -> AccountKey {
    AccountKey::merchant(AccountKind::MerchantAvailable, m, Mode::Live, Currency::Cop)
}

/// A live top-up of `m`'s available balance (not volume).
fn topup_batch(m: MerchantId, id: &str, amount: i64) -> NewBatch {
    NewBatch {
        id: id.into(),
        merchant_id: Some(m),
        mode: Mode::Live,
        currency: Currency::Cop,
        code: TransferCode::Topup,
        source_id: None,
        available_on: None,
        transfers: vec![Transfer {
            id: format!("{id}.0"),
            debit: AccountKey::platform(AccountKind::Funding, Mode::Live, Currency::Cop),
            credit: live_available(m),
            amount: a(amount),
            mode: TransferMode::Single,
            code: TransferCode::Topup,
        }],
    }
}

/// A payout's reservation, as the server makes one: its amount to the network and its fee.
fn reservation_batch(m: MerchantId, id: &str, amount: i64) -> NewBatch {
    let pending = |n: usize, credit: AccountKey, amount: i64, code: TransferCode| Transfer {
        id: format!("{id}.{n}"),
        debit: live_available(m),
        credit,
        amount: a(amount),
        mode: TransferMode::Pending,
        code,
    };
    NewBatch {
        id: id.into(),
        merchant_id: Some(m),
        mode: Mode::Live,
        currency: Currency::Cop,
        code: TransferCode::Payout,
        source_id: None,
        available_on: None,
        transfers: vec![
            pending(
                0,
                AccountKey::network(
                    AccountKind::NetworkPayable,
                    "efecty",
                    Mode::Live,
                    Currency::Cop,
                ),
                amount,
                TransferCode::Payout,
            ),
            pending(
                1,
                AccountKey::platform(AccountKind::FeeRevenue, Mode::Live, Currency::Cop),
                1_000,
                TransferCode::Fee,
            ),
        ],
    }
}

/// Posts (collected) or voids (expired) the reservation `reserve_id` as the batch `id`.
async fn resolve(
    store: &Store,
    m: MerchantId,
    reserve_id: &str,
    id: &str,
    post: bool,
    at: Timestamp,
) {
    let (reserve_id, resolution) = (
        reserve_id.to_string(),
        NewBatch {
            id: id.into(),
            merchant_id: Some(m),
            mode: Mode::Live,
            currency: Currency::Cop,
            code: if post {
                TransferCode::Payout
            } else {
                TransferCode::PayoutReversal
            },
            source_id: None,
            available_on: None,
            transfers: Vec::new(),
        },
    );
    store
        .write(move |mut c| {
            Box::pin(async move {
                ledger::resolve_batch(&mut c, &reserve_id, resolution, post, at).await
            })
        })
        .await
        .unwrap()
        .expect("the reservation has transfers");
}

async fn verify_report(store: &Store) -> Report {
    store
        .read(|mut c| Box::pin(async move { verify::verify(&mut c).await }))
        .await
        .unwrap()
}

async fn run(store: &Store, sql: &'static str) {
    store
        .write(move |mut c| {
            Box::pin(async move { execute!(&mut c, sql).map_err(StoreError::from) })
        })
        .await
        .unwrap();
}

/// Only what a collected payout moved counts, once, in the month its collection was booked: not
/// its reservation, not its fee, not a voided one, not another mode's. The count is kept by the
/// database as the transfers are written, and the verifier recomputes it.
async fn a_payouts_volume_counts_once_collected_and_the_verifier_checks_the_count(store: Store) {
    let m = merchant(&store, 8).await;
    let november = bogota(2026, 11, 15, 12, 0);
    post(&store, topup_batch(m, "txn_top", 10_000_000), november).await;
    post(&store, reservation_batch(m, "txn_po1", 200_000), november).await;
    post(&store, reservation_batch(m, "txn_po2", 30_000), november).await;
    post(&store, reservation_batch(m, "txn_po3", 4_000), november).await;
    assert_eq!(
        volume(&store, m, TransferCode::Payout, november).await,
        a(0),
        "a reservation is not volume"
    );
    resolve(&store, m, "txn_po1", "txn_po1_post", true, november).await;
    resolve(&store, m, "txn_po2", "txn_po2_void", false, november).await;
    // Reserved in November, collected in December: December's volume.
    let december = bogota(2026, 12, 1, 0, 0);
    resolve(&store, m, "txn_po3", "txn_po3_post", true, december).await;
    assert_eq!(
        volume(&store, m, TransferCode::Payout, november).await,
        a(200_000),
        "the collected one, without its fee; the voided one never"
    );
    assert_eq!(
        volume(
            &store,
            m,
            TransferCode::Payout,
            bogota(2026, 12, 31, 23, 59)
        )
        .await,
        a(4_000)
    );
    assert_eq!(volume(&store, m, TransferCode::Payin, november).await, a(0));
    let clean = verify_report(&store).await;
    assert!(clean.problems.is_empty(), "{:?}", clean.problems);

    run(
        &store,
        "UPDATE ledger_monthly_volume SET amount = amount + 7 WHERE month = '2026-11'",
    )
    .await;
    let broken = verify_report(&store).await;
    assert_eq!(
        broken.problems,
        vec![Problem::VolumeMismatch {
            merchant: m.to_string(),
            livemode: true,
            volume: "COP payout 2026-11".into(),
            stored: 200_007,
            recomputed: 200_000,
        }]
    );
    run(&store, "DELETE FROM ledger_monthly_volume").await;
    let lost = verify_report(&store).await;
    assert_eq!(lost.problems.len(), 2, "{:?}", lost.problems);
    assert!(
        lost.problems.iter().all(|p| matches!(
            p,
            Problem::VolumeMismatch { stored: 0, recomputed, .. } if *recomputed > 0
        )),
        "{:?}",
        lost.problems
    );
}

/// Migration 0035 counts the months posted before it: its backfill, run again on books whose
/// counts were lost, restores them as the trigger kept them.
async fn the_migrations_backfill_counts_what_was_posted_before_it(store: Store) {
    let m = merchant(&store, 9).await;
    let payins = [
        ("txn_oct", 1_000, bogota(2026, 10, 31, 23, 30)),
        ("txn_nov", 20_000, bogota(2026, 11, 1, 0, 0)),
    ];
    for (id, amount, at) in payins {
        post(&store, payin_batch(m, id, amount, TransferCode::Payin), at).await;
    }
    let november = bogota(2026, 11, 15, 12, 0);
    post(&store, topup_batch(m, "txn_top", 1_000_000), november).await;
    post(&store, reservation_batch(m, "txn_po", 300_000), november).await;
    resolve(&store, m, "txn_po", "txn_po_post", true, november).await;
    let counted = (
        volume(&store, m, TransferCode::Payin, bogota(2026, 10, 2, 0, 0)).await,
        volume(&store, m, TransferCode::Payin, november).await,
        volume(&store, m, TransferCode::Payout, november).await,
    );
    assert_eq!(counted, (a(1_000), a(20_000), a(300_000)));

    run(&store, "DELETE FROM ledger_monthly_volume").await;
    store
        .write(move |mut c| {
            Box::pin(async move {
                let migration = match &c {
                    Conn::Postgres(_) => {
                        include_str!("../migrations/postgres/0035_ledger_monthly_volume.sql")
                    }
                    Conn::Sqlite(_) => {
                        include_str!("../migrations/sqlite/0035_ledger_monthly_volume.sql")
                    }
                };
                let (_, backfill) = migration
                    .split_once("-- Backfill:")
                    .expect("the migration's backfill is marked");
                let backfill = backfill.split_once('\n').map_or("", |(_, sql)| sql);
                execute!(&mut c, AssertSqlSafe(backfill.to_string())).map_err(StoreError::from)
            })
        })
        .await
        .unwrap();
    let backfilled = (
        volume(&store, m, TransferCode::Payin, bogota(2026, 10, 2, 0, 0)).await,
        volume(&store, m, TransferCode::Payin, november).await,
        volume(&store, m, TransferCode::Payout, november).await,
    );
    assert_eq!(backfilled, counted);
    let report = verify_report(&store).await;
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

async fn a_payin_batch_can_be_a_line_of_one_settlement_only(store: Store) {
    let m = merchant(&store, 6).await;
    post(
        &store,
        payin_batch(m, "txn_a", 10_000, TransferCode::Payin),
        bogota(2026, 10, 30, 9, 0),
    )
    .await;
    let today = date(2026, 11, 2);
    let lines = store
        .read(move |mut c| {
            Box::pin(
                async move { settlements::due_lines(&mut c, m, Mode::Live, today, None, 10).await },
            )
        })
        .await
        .unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(
        (lines[0].gross, lines[0].fees, lines[0].net),
        (10_000, 100, 9_900)
    );
    let record = move |n: u128| SettlementRecord {
        id: SettlementId::from_parts(1_764_000_000_000, n),
        merchant_id: m,
        mode: Mode::Live,
        settlement_date: today,
        status: SettlementStatus::Paid,
        gross: a(10_000),
        fees: a(100),
        net: a(9_900),
        currency: Currency::Cop,
        amount: a(9_900),
        fx: None,
        line_count: 1,
        ledger_batch_id: None,
        created_at: Timestamp::UNIX_EPOCH,
        updated_at: Timestamp::UNIX_EPOCH,
    };
    let (first, again) = (lines.clone(), lines.clone());
    store
        .write(move |mut c| {
            Box::pin(async move { settlements::insert(&mut c, &record(1), &first).await })
        })
        .await
        .unwrap();
    let err: StoreError = store
        .write(move |mut c| {
            Box::pin(async move { settlements::insert(&mut c, &record(2), &again).await })
        })
        .await
        .unwrap_err();
    assert!(err.is_unique_violation(), "{err}");
    let due = store
        .read(move |mut c| {
            Box::pin(
                async move { settlements::due_lines(&mut c, m, Mode::Live, today, None, 10).await },
            )
        })
        .await
        .unwrap();
    assert!(due.is_empty());
}

fn unmoved<T>(result: Result<T, StoreError>) -> Result<(), StoreError> {
    result.map(|_| ())
}

fn settings(result: Result<(), SettingsError>) -> Result<(), StoreError> {
    result.map_err(|e| match e {
        SettingsError::Store(e) => e,
        other => panic!("{other}"),
    })
}

/// Runs `work` and answers whether it moved the cache version on.
async fn moves_the_version<F>(store: &Store, work: F) -> bool
where
    F: for<'c> FnOnce(cajero_store::Conn<'c>) -> cajero_store::Work<'c, (), StoreError>
        + Send
        + 'static,
{
    let read = || store.read(|mut c| Box::pin(async move { cache_version::current(&mut c).await }));
    let before = read().await.unwrap();
    store.write(work).await.unwrap();
    let after = read().await.unwrap();
    assert!(after >= before);
    after > before
}

/// Servers keep keys, merchants' statuses and settings in memory and trust them only under the
/// version they read: every change to them moves it on, in its own transaction; what changes
/// nothing cached (a new key, a key's last use, a change that finds nothing) leaves it.
async fn every_change_servers_cache_moves_the_cache_version(store: Store) {
    let m = merchant(&store, 1).await;
    let now = bogota(2026, 11, 2, 9, 0);
    let key = ApiKeyRecord {
        id: ApiKeyId::from_parts(1_764_000_000_000, 1),
        merchant_id: m,
        livemode: false,
        display_prefix: "sk_test_AbCd".into(),
        created_at: now,
        revoked_at: None,
        last_used_at: None,
    };
    let k = key.id;
    let nobody = MerchantId::from_parts(1_764_000_000_000, 99);

    let new_key = moves_the_version(&store, move |mut c| {
        Box::pin(async move { merchants::insert_api_key(&mut c, &key, "hash").await })
    });
    assert!(!new_key.await, "a new key");
    let touched = moves_the_version(&store, move |mut c| {
        Box::pin(async move { merchants::touch_api_key(&mut c, k, now, 1).await })
    });
    assert!(!touched.await, "a key's last use");
    let nobody_moved = moves_the_version(&store, move |mut c| {
        Box::pin(async move {
            unmoved(
                merchants::set_merchant_status(&mut c, nobody, MerchantStatus::Suspended, now)
                    .await,
            )
        })
    });
    assert!(!nobody_moved.await, "a status change of no merchant");

    let suspended = moves_the_version(&store, move |mut c| {
        Box::pin(async move {
            unmoved(merchants::set_merchant_status(&mut c, m, MerchantStatus::Suspended, now).await)
        })
    });
    assert!(suspended.await, "a suspension");
    let revoked = moves_the_version(&store, move |mut c| {
        Box::pin(async move { unmoved(merchants::revoke_api_key(&mut c, k, now).await) })
    });
    assert!(revoked.await, "a revocation");
    let again = moves_the_version(&store, move |mut c| {
        Box::pin(async move { unmoved(merchants::revoke_api_key(&mut c, k, now).await) })
    });
    assert!(!again.await, "revoking a revoked key");
    let plan = moves_the_version(&store, move |mut c| {
        Box::pin(async move {
            settings(merchant_settings::set_fee_plan(&mut c, m, Mode::Live, &tiered(), now).await)
        })
    });
    assert!(plan.await, "a merchant's fee plan");
    let default_plan = moves_the_version(&store, move |mut c| {
        Box::pin(async move {
            settings(merchant_settings::set_default_fee_plan(&mut c, &tiered(), now).await)
        })
    });
    assert!(default_plan.await, "the default fee plan");
    let terms = moves_the_version(&store, move |mut c| {
        Box::pin(async move {
            let terms = SettlementTerms::default();
            settings(
                merchant_settings::set_settlement_terms(&mut c, m, Mode::Live, &terms, now).await,
            )
        })
    });
    assert!(terms.await, "settlement terms");
}

/// Migration 0036: the settlement's scan for pay-ins due reads a partial index that only batches
/// with an `available_on` enter, and the batches' redundant index by merchant and id is gone.
async fn only_a_batch_with_a_date_enters_the_settlement_index_and_the_due_scan_uses_it(
    store: Store,
) {
    let (due, undated) = (merchant(&store, 8).await, merchant(&store, 9).await);
    post(
        &store,
        payin_batch(due, "txn_due", 10_000, TransferCode::Payin),
        bogota(2026, 10, 30, 9, 0),
    )
    .await;
    let mut batch = payin_batch(undated, "txn_undated", 10_000, TransferCode::Payin);
    batch.available_on = None;
    post(&store, batch, bogota(2026, 10, 30, 9, 0)).await;
    let today = date(2026, 11, 2);
    let merchants = store
        .read(move |mut c| {
            Box::pin(async move { settlements::due_merchants(&mut c, today, None, 10).await })
        })
        .await
        .unwrap();
    assert_eq!(merchants, vec![(due, Mode::Live)]);

    let engine = store.engine();
    let (indexes, plan) = store
        .write(move |mut c| {
            Box::pin(async move {
                let scan = "SELECT DISTINCT b.merchant_id, b.livemode FROM ledger_batches b \
                            WHERE b.code = 'payin' AND b.available_on <= '2026-11-02'";
                let (indexes, plan): (Vec<(String, String)>, Vec<String>) = match engine {
                    Engine::Sqlite => (
                        fetch!(
                            all,
                            &mut c,
                            (String, String),
                            "SELECT name, COALESCE(sql, '') FROM sqlite_master \
                             WHERE type = 'index' AND tbl_name = 'ledger_batches'"
                        )?,
                        fetch!(
                            all,
                            &mut c,
                            (i64, i64, i64, String),
                            AssertSqlSafe(format!("EXPLAIN QUERY PLAN {scan}"))
                        )?
                        .into_iter()
                        .map(|row| row.3)
                        .collect(),
                    ),
                    Engine::Postgres => {
                        let indexes = fetch!(
                            all,
                            &mut c,
                            (String, String),
                            "SELECT indexname::TEXT, indexdef FROM pg_indexes \
                             WHERE schemaname = current_schema() AND tablename = 'ledger_batches'"
                        )?;
                        execute!(&mut c, "SET LOCAL enable_seqscan = off")?;
                        let plan = fetch!(
                            all,
                            &mut c,
                            (String,),
                            AssertSqlSafe(format!("EXPLAIN (COSTS OFF) {scan}"))
                        )?;
                        (indexes, plan.into_iter().map(|row| row.0).collect())
                    }
                };
                Ok::<_, StoreError>((indexes, plan))
            })
        })
        .await
        .unwrap();
    assert!(
        !indexes
            .iter()
            .any(|(name, _)| name == "ledger_batches_by_merchant"),
        "{indexes:?}"
    );
    let (_, definition) = indexes
        .iter()
        .find(|(name, _)| name == "ledger_batches_by_code_available_on")
        .expect("the settlement's index");
    assert!(
        definition.contains("available_on IS NOT NULL"),
        "{definition}"
    );
    assert!(
        plan.iter()
            .any(|line| line.contains("ledger_batches_by_code_available_on")),
        "{plan:?}"
    );
}
