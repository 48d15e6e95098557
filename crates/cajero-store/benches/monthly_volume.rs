//! Reading a merchant's monthly volume (what a volume-tiered fee plan prices each order by)
//! after N collected payouts this month, on a SQLite file database: the count kept as
//! transfers post (`ledger_monthly_volume`, migration 0035), against the sum over the month's
//! transfers that every order of such a merchant ran before it. Run with
//! `cargo bench -p cajero-store --bench monthly_volume`; seeding the largest book takes a
//! minute.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use cajero_domain::calendar;
use cajero_domain::id::MerchantId;
use cajero_domain::ledger::{AccountKey, AccountKind, Transfer, TransferCode, TransferMode};
use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_domain::money::{Amount, Currency};
use cajero_store::ledger::{self, NewBatch};
use cajero_store::merchant_settings;
use cajero_store::merchants::{self, MerchantRecord};
use cajero_store::{Store, StoreError, StoreOptions, fetch};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use jiff::Timestamp;
use jiff::civil::date;

/// Collected payouts in the month, per book measured.
const BOOKS: [usize; 3] = [1_000, 10_000, 50_000];

/// Payouts seeded per unit of work.
const SEED_UNIT: usize = 500;

/// What every order of a volume-tiered merchant summed before migration 0035.
const SUMMED: &str = "SELECT CAST(COALESCE(SUM(t.amount), 0) AS BIGINT) FROM ledger_transfers t \
     JOIN ledger_batches b ON b.id = t.batch_id \
     WHERE b.merchant_id = $1 AND b.livemode = $2 AND b.created_at >= $3 \
     AND b.created_at < $4 AND t.code = $5 AND t.currency = $6 \
     AND t.mode IN ('single', 'post_pending')";

fn november(day: i8) -> Timestamp {
    date(2026, 11, day)
        .at(12, 0, 0, 0)
        .to_zoned_datetime(calendar::bogota())
        .unwrap()
        .timestamp()
}

fn micros(at: Timestamp) -> i64 {
    at.as_microsecond()
}

fn available(m: MerchantId) -> AccountKey {
    AccountKey::merchant(AccountKind::MerchantAvailable, m, Mode::Live, Currency::Cop)
}

fn batch(m: MerchantId, id: String, code: TransferCode, transfers: Vec<Transfer>) -> NewBatch {
    NewBatch {
        id,
        merchant_id: Some(m),
        mode: Mode::Live,
        currency: Currency::Cop,
        code,
        source_id: None,
        available_on: None,
        transfers,
    }
}

/// A store with one merchant that collected `payouts` payouts of 100,000 this November (each a
/// reservation of its amount and fee, then its post), and its directory.
fn seeded(
    runtime: &tokio::runtime::Runtime,
    payouts: usize,
) -> (Store, MerchantId, tempfile::TempDir) {
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let store = Store::open(&url, &StoreOptions::default()).await.unwrap();
        let at = november(1);
        let m = MerchantId::from_parts(1_764_000_000_000, 1);
        let record = MerchantRecord {
            id: m,
            name: "Bench".into(),
            nit: None,
            status: MerchantStatus::Active,
            created_at: at,
            updated_at: at,
        };
        let funding = batch(
            m,
            "txn_funding".into(),
            TransferCode::Topup,
            vec![Transfer {
                id: "txn_funding.0".into(),
                debit: AccountKey::platform(AccountKind::Funding, Mode::Live, Currency::Cop),
                credit: available(m),
                amount: Amount::new(1_000_000_000_000).unwrap(),
                mode: TransferMode::Single,
                code: TransferCode::Topup,
            }],
        );
        store
            .write(move |mut c| {
                Box::pin(async move {
                    merchants::insert_merchant(&mut c, &record).await?;
                    ledger::post_batch(&mut c, &funding, at)
                        .await
                        .map_err(store_error)?;
                    Ok::<_, StoreError>(())
                })
            })
            .await
            .unwrap();
        for first in (0..payouts).step_by(SEED_UNIT) {
            let last = (first + SEED_UNIT).min(payouts);
            store
                .write(move |mut c| {
                    Box::pin(async move {
                        for n in first..last {
                            let reserve = format!("txn_po{n:08}_reserve");
                            let payable = AccountKey::network(
                                AccountKind::NetworkPayable,
                                "efecty",
                                Mode::Live,
                                Currency::Cop,
                            );
                            let fee = AccountKey::platform(
                                AccountKind::FeeRevenue,
                                Mode::Live,
                                Currency::Cop,
                            );
                            let transfers = [
                                (payable, 100_000, TransferCode::Payout),
                                (fee, 3_000, TransferCode::Fee),
                            ]
                            .into_iter()
                            .enumerate()
                            .map(|(k, (credit, amount, code))| Transfer {
                                id: format!("{reserve}.{k}"),
                                debit: available(m),
                                credit,
                                amount: Amount::new(amount).unwrap(),
                                mode: TransferMode::Pending,
                                code,
                            })
                            .collect();
                            let reservation =
                                batch(m, reserve.clone(), TransferCode::Payout, transfers);
                            ledger::post_batch(&mut c, &reservation, at)
                                .await
                                .map_err(store_error)?;
                            let post = batch(
                                m,
                                format!("txn_po{n:08}_post"),
                                TransferCode::Payout,
                                Vec::new(),
                            );
                            ledger::resolve_batch(&mut c, &reserve, post, true, at)
                                .await
                                .map_err(store_error)?;
                        }
                        Ok::<_, StoreError>(())
                    })
                })
                .await
                .unwrap();
        }
        (store, m, dir)
    })
}

fn store_error(e: ledger::LedgerError) -> StoreError {
    match e {
        ledger::LedgerError::Store(s) => s,
        other => panic!("the bench's books were refused: {other}"),
    }
}

fn monthly_volume(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut group = c.benchmark_group("monthly_volume");
    let now = november(20);
    for payouts in BOOKS {
        let (store, m, _dir) = seeded(&runtime, payouts);
        let expected = Amount::new(i64::try_from(payouts).unwrap() * 100_000).unwrap();
        let counted = || {
            let store = store.clone();
            async move {
                store
                    .read(move |mut c| {
                        Box::pin(async move {
                            merchant_settings::monthly_volume(
                                &mut c,
                                m,
                                Mode::Live,
                                TransferCode::Payout,
                                now,
                            )
                            .await
                        })
                    })
                    .await
                    .unwrap()
            }
        };
        assert_eq!(runtime.block_on(counted()), expected);
        group.bench_with_input(BenchmarkId::new("counted", payouts), &payouts, |b, _| {
            b.iter(|| black_box(runtime.block_on(counted())));
        });
        let summed = || {
            let store = store.clone();
            async move {
                store
                    .read(move |mut c| {
                        Box::pin(async move {
                            let (total,) = fetch!(
                                one,
                                &mut c,
                                (i64,),
                                SUMMED,
                                m.to_string(),
                                true,
                                micros(november(1)) - 43_200_000_000,
                                micros(november(30)) + 43_200_000_000,
                                TransferCode::Payout.as_str(),
                                Currency::Cop.code(),
                            )?;
                            Ok::<_, StoreError>(total)
                        })
                    })
                    .await
                    .unwrap()
            }
        };
        assert_eq!(runtime.block_on(summed()), expected.minor());
        group.bench_with_input(BenchmarkId::new("summed", payouts), &payouts, |b, _| {
            b.iter(|| black_box(runtime.block_on(summed())));
        });
        runtime.block_on(store.close());
    }
    group.finish();
}

criterion_group!(benches, monthly_volume);
criterion_main!(benches);
