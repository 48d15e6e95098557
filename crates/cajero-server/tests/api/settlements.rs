//! Settlement through the worker's single step and the HTTP API, on both engines: business
//! calendar dates, USD conversion, no double settlement, statements and isolation.

use cajero_domain::calendar;
use cajero_domain::id::{EventId, MerchantId, PayinId, TransferId};
use cajero_domain::ledger::settlement::{self, CopPerUsd, SettlementTerms};
use cajero_domain::ledger::{AccountKey, AccountKind, Transfer, TransferCode, TransferMode};
use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_domain::money::{Amount, BasisPoints, Currency};
use cajero_domain::webhook::EventType;
use cajero_server::clock::Clock;
use cajero_server::ledger_workers::check_once;
use cajero_server::settlement::run_once;
use cajero_store::ledger::{self, NewBatch};
use cajero_store::{events, fx, merchant_settings, verify};
use jiff::Timestamp;
use jiff::civil::date;
use serde_json::Value;

use crate::helpers::{TestApp, assert_error};

crate::both_engines!(
    a_payin_paid_on_christmas_eve_settles_on_monday_28_not_before,
    a_usd_settlement_converts_at_the_days_rate_less_the_markup,
    a_usd_merchant_without_the_days_rate_is_not_settled_and_alerted_once,
    running_twice_or_concurrently_settles_each_payin_once,
    settlements_are_listed_shown_and_exported_to_their_merchant_only,
    the_periodic_ledger_check_alerts_once_when_the_books_are_off,
);

pub(crate) fn bogota(y: i16, m: i8, d: i8, h: i8, min: i8) -> Timestamp {
    date(y, m, d)
        .at(h, min, 0, 0)
        .to_zoned_datetime(calendar::bogota())
        .unwrap()
        .timestamp()
}

/// Posts what the pay-in code posts when a voucher is paid at `paid_at`: the amount to the
/// pending balance, then the fee and its IVA out of it.
pub(crate) async fn paid_payin(
    app: &TestApp,
    merchant: MerchantId,
    mode: Mode,
    amount: i64,
    fee: i64,
    paid_at: Timestamp,
) -> String {
    let store = &app.server.state.store;
    let delay = store
        .read(move |mut c| {
            Box::pin(
                async move { merchant_settings::settlement_terms(&mut c, merchant, mode).await },
            )
        })
        .await
        .unwrap()
        .delay_business_days;
    let payin = PayinId::from_parts(
        u64::try_from(paid_at.as_millisecond()).unwrap(),
        rand_bits(),
    );
    let batch_id = TransferId::derived(payin, "paid").to_string();
    let pending = AccountKey::merchant(AccountKind::MerchantPending, merchant, mode, Currency::Cop);
    let iva = Amount::new(fee).unwrap().percentage(BasisPoints::IVA);
    let mut transfers = vec![Transfer {
        id: format!("{batch_id}.0"),
        debit: AccountKey::network(
            AccountKind::NetworkReceivable,
            "efecty",
            mode,
            Currency::Cop,
        ),
        credit: pending.clone(),
        amount: Amount::new(amount).unwrap(),
        mode: TransferMode::Single,
        code: TransferCode::Payin,
    }];
    if fee > 0 {
        for (n, (kind, a)) in [
            (AccountKind::FeeRevenue, Amount::new(fee).unwrap()),
            (AccountKind::IvaPayable, iva),
        ]
        .into_iter()
        .enumerate()
        {
            transfers.push(Transfer {
                id: format!("{batch_id}.{}", n + 1),
                debit: pending.clone(),
                credit: AccountKey::platform(kind, mode, Currency::Cop),
                amount: a,
                mode: TransferMode::Single,
                code: TransferCode::Fee,
            });
        }
    }
    let batch = NewBatch {
        id: batch_id.clone(),
        merchant_id: Some(merchant),
        mode,
        currency: Currency::Cop,
        code: TransferCode::Payin,
        source_id: Some(payin.to_string()),
        available_on: Some(settlement::available_on(paid_at, delay).unwrap()),
        transfers,
    };
    store
        .write(move |mut c| {
            Box::pin(async move { ledger::post_batch(&mut c, &batch, paid_at).await })
        })
        .await
        .unwrap();
    batch_id
}

fn rand_bits() -> u128 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(1);
    u128::from(h.finish())
}

async fn balance(app: &TestApp, key: &str) -> Value {
    let response = app.get_with_key("/v1/balance", key).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn bucket(balance: &Value, name: &str, currency: &str) -> i64 {
    balance[name]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["currency"] == currency)
        .map_or(0, |b| b["amount"].as_i64().unwrap())
}

async fn get_json(app: &TestApp, key: &str, path: &str) -> Value {
    let response = app.get_with_key(path, key).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

async fn assert_books_balance(app: &TestApp) {
    let report = app
        .server
        .state
        .store
        .read(|mut c| Box::pin(async move { verify::verify(&mut c).await }))
        .await
        .unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

async fn a_payin_paid_on_christmas_eve_settles_on_monday_28_not_before(app: &TestApp) {
    let m = app.merchant("A", MerchantStatus::Active).await;
    let key = app.key(m, Mode::Test).await.1;
    let store = app.server.state.store.clone();
    // Thursday 24 Dec 2026; Friday 25 is Christmas, then the weekend: T+1 is Monday 28.
    paid_payin(
        app,
        m,
        Mode::Test,
        150_000,
        4_675,
        bogota(2026, 12, 24, 15, 0),
    )
    .await;
    for at in [
        bogota(2026, 12, 24, 23, 59),
        bogota(2026, 12, 25, 12, 0),
        bogota(2026, 12, 27, 23, 59),
    ] {
        let report = run_once(&store, at).await.unwrap();
        assert!(report.settled.is_empty(), "settled early at {at}");
    }
    let b = balance(app, &key).await;
    assert_eq!(bucket(&b, "pending", "COP"), 150_000 - 4_675 - 888);
    assert_eq!(bucket(&b, "available", "COP"), 0);

    let monday = bogota(2026, 12, 28, 0, 1);
    let report = run_once(&store, monday).await.unwrap();
    assert_eq!(report.settled.len(), 1);
    let b = balance(app, &key).await;
    assert_eq!(bucket(&b, "pending", "COP"), 0);
    assert_eq!(bucket(&b, "available", "COP"), 144_437);
    let s = get_json(app, &key, &format!("/v1/settlements/{}", report.settled[0])).await;
    assert_eq!(s["settlement_date"], "2026-12-28");
    assert_eq!(
        (s["gross"].as_i64(), s["fees"].as_i64(), s["net"].as_i64()),
        (Some(150_000), Some(5_563), Some(144_437))
    );
    assert_eq!(
        (s["amount"].as_i64(), &s["currency"]),
        (Some(144_437), &Value::from("COP"))
    );
    assert_eq!(s["lines"][0]["available_on"], "2026-12-28");
    assert!(s["fx"].is_null());
    // The settlement is a balance transaction of its own.
    let txn = get_json(
        app,
        &key,
        &format!(
            "/v1/balance_transactions/{}",
            s["balance_transaction"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(txn["type"], "settlement");
    assert_eq!(txn["amount"], 144_437);
    // settlement.paid was emitted with it.
    let event_id = EventId::derived(
        s["id"]
            .as_str()
            .unwrap()
            .parse::<cajero_domain::id::SettlementId>()
            .unwrap(),
        "settlement.paid",
    );
    let event = store
        .read(move |mut c| {
            Box::pin(async move { events::get_event(&mut c, m, false, event_id).await })
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event.event_type, EventType::SettlementPaid);
    assert_books_balance(app).await;
}

async fn set_usd_terms(app: &TestApp, m: MerchantId, markup_bps: u32) {
    let terms = SettlementTerms {
        currency: Currency::Usd,
        fx_markup: BasisPoints::new(markup_bps).unwrap(),
        ..SettlementTerms::default()
    };
    let now = Clock::now(&app.clock);
    app.server
        .state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                merchant_settings::set_settlement_terms(&mut c, m, Mode::Test, &terms, now).await
            })
        })
        .await
        .unwrap();
}

async fn a_usd_settlement_converts_at_the_days_rate_less_the_markup(app: &TestApp) {
    let m = app.merchant("A", MerchantStatus::Active).await;
    let key = app.key(m, Mode::Test).await.1;
    set_usd_terms(app, m, 150).await;
    let store = app.server.state.store.clone();
    // Wed 25 Nov 2026 → Thu 26 Nov; two pay-ins, no fees: net 1,000,000 pesos.
    paid_payin(app, m, Mode::Test, 600_000, 0, bogota(2026, 11, 25, 9, 0)).await;
    paid_payin(app, m, Mode::Test, 400_000, 0, bogota(2026, 11, 25, 18, 0)).await;
    let rate = CopPerUsd::parse("4012.345678").unwrap();
    let day = date(2026, 11, 26);
    store
        .write(move |mut c| {
            Box::pin(async move { fx::set_rate(&mut c, day, rate, Timestamp::UNIX_EPOCH).await })
        })
        .await
        .unwrap();
    let report = run_once(&store, bogota(2026, 11, 26, 8, 0)).await.unwrap();
    assert_eq!(report.settled.len(), 1);
    // 1,000,000 / 4012.345678 × (1 − 0.015) = 245.4934… USD → 24,549 cents.
    let s = get_json(app, &key, &format!("/v1/settlements/{}", report.settled[0])).await;
    assert_eq!(
        (s["amount"].as_i64(), &s["currency"]),
        (Some(24_549), &Value::from("USD"))
    );
    assert_eq!(s["net"], 1_000_000);
    assert_eq!(s["fx"]["rate"], "4012.345678");
    assert_eq!(s["fx"]["markup_bps"], 150);
    assert_eq!(s["line_count"], 2);
    let b = balance(app, &key).await;
    assert_eq!(bucket(&b, "available", "USD"), 24_549);
    assert_eq!(bucket(&b, "pending", "COP"), 0);
    let csv = app
        .get_with_key(
            &format!("/v1/settlements/{}?format=csv", report.settled[0]),
            &key,
        )
        .await
        .text()
        .await
        .unwrap();
    let total = csv.lines().last().unwrap();
    assert!(total.starts_with("total,"), "{csv}");
    assert!(
        total.ends_with(",1000000,24549,USD,4012.345678,150"),
        "{total}"
    );
    assert_books_balance(app).await;
}

async fn a_usd_merchant_without_the_days_rate_is_not_settled_and_alerted_once(app: &TestApp) {
    let m = app.merchant("A", MerchantStatus::Active).await;
    let key = app.key(m, Mode::Test).await.1;
    set_usd_terms(app, m, 0).await;
    let store = app.server.state.store.clone();
    paid_payin(app, m, Mode::Test, 100_000, 0, bogota(2026, 11, 25, 9, 0)).await;
    for minute in [0, 1, 2] {
        let report = run_once(&store, bogota(2026, 11, 26, 8, minute))
            .await
            .unwrap();
        assert!(report.settled.is_empty());
        assert_eq!(report.awaiting_rate, vec![(m, Mode::Test)]);
    }
    let b = balance(app, &key).await;
    assert_eq!(bucket(&b, "pending", "COP"), 100_000);
    let events = store
        .read(move |mut c| {
            Box::pin(async move {
                let page = cajero_store::page::PageRequest {
                    limit: 100,
                    cursor: cajero_store::page::Cursor::Newest,
                };
                events::list_events(&mut c, m, false, &events::EventFilter::default(), &page).await
            })
        })
        .await
        .unwrap();
    let alerts: Vec<_> = events
        .data
        .iter()
        .filter(|e| e.event_type == EventType::AlertRaised)
        .collect();
    assert_eq!(alerts.len(), 1, "{:?}", events.data);
    let object: Value = serde_json::from_str(&alerts[0].data).unwrap();
    assert_eq!(object["code"], "fx_rate_missing");
    // Once the operator sets the rate, the next run settles.
    let rate = CopPerUsd::parse("4000").unwrap();
    store
        .write(move |mut c| {
            Box::pin(async move {
                fx::set_rate(&mut c, date(2026, 11, 26), rate, Timestamp::UNIX_EPOCH).await
            })
        })
        .await
        .unwrap();
    let report = run_once(&store, bogota(2026, 11, 26, 9, 0)).await.unwrap();
    assert_eq!(report.settled.len(), 1);
    assert_eq!(bucket(&balance(app, &key).await, "available", "USD"), 2_500);
}

async fn running_twice_or_concurrently_settles_each_payin_once(app: &TestApp) {
    let store = app.server.state.store.clone();
    let mut merchants = Vec::new();
    for name in ["A", "B", "C"] {
        let m = app.merchant(name, MerchantStatus::Active).await;
        for n in 0..5 {
            paid_payin(
                app,
                m,
                Mode::Test,
                10_000 + n,
                100,
                bogota(2026, 11, 25, 9, 0),
            )
            .await;
        }
        merchants.push(m);
    }
    let at = bogota(2026, 11, 26, 10, 0);
    let runs = (0..4).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { run_once(&store, at).await.unwrap() })
    });
    let reports = futures::future::join_all(runs).await;
    let settled: usize = reports.into_iter().map(|r| r.unwrap().settled.len()).sum();
    assert_eq!(settled, 3, "one settlement per merchant across all runs");
    let again = run_once(&store, at).await.unwrap();
    assert!(again.settled.is_empty());
    for m in merchants {
        let key = app.key(m, Mode::Test).await.1;
        let b = balance(app, &key).await;
        assert_eq!(bucket(&b, "pending", "COP"), 0);
        // 5 pay-ins of 10,000–10,004 less 100 + 19 IVA each.
        assert_eq!(bucket(&b, "available", "COP"), 50_010 - 5 * 119);
        let list = get_json(app, &key, "/v1/settlements").await;
        assert_eq!(list["data"].as_array().unwrap().len(), 1);
        assert_eq!(list["data"][0]["line_count"], 5);
    }
    assert_books_balance(app).await;
}

async fn settlements_are_listed_shown_and_exported_to_their_merchant_only(app: &TestApp) {
    let a = app.merchant("A", MerchantStatus::Active).await;
    let b = app.merchant("B", MerchantStatus::Active).await;
    let key_a = app.key(a, Mode::Test).await.1;
    let key_a_live = app.key(a, Mode::Live).await.1;
    let key_b = app.key(b, Mode::Test).await.1;
    let store = app.server.state.store.clone();
    let mut ids = Vec::new();
    for day in [23, 24] {
        paid_payin(
            app,
            a,
            Mode::Test,
            50_000,
            1_000,
            bogota(2026, 11, day, 12, 0),
        )
        .await;
        let report = run_once(&store, bogota(2026, 11, day + 1, 12, 0))
            .await
            .unwrap();
        ids.push(report.settled[0].to_string());
    }
    let list = get_json(app, &key_a, "/v1/settlements?limit=1").await;
    assert_eq!(list["object"], "list");
    assert_eq!(list["has_more"], true);
    assert_eq!(list["data"][0]["id"], ids[1].as_str(), "newest first");
    assert!(list["data"][0].get("lines").is_none());
    let next = get_json(
        app,
        &key_a,
        &format!("/v1/settlements?limit=1&starting_after={}", ids[1]),
    )
    .await;
    assert_eq!(next["data"][0]["id"], ids[0].as_str());
    assert_eq!(next["has_more"], false);

    let one = get_json(app, &key_a, &format!("/v1/settlements/{}", ids[0])).await;
    assert_eq!(one["object"], "settlement");
    assert_eq!(one["status"], "paid");
    assert_eq!(one["livemode"], false);
    assert_eq!(one["lines"].as_array().unwrap().len(), 1);
    let line = &one["lines"][0];
    assert!(line["source"].as_str().unwrap().starts_with("pi_"));
    assert_eq!(
        (
            line["gross"].as_i64(),
            line["fees"].as_i64(),
            line["net"].as_i64()
        ),
        (Some(50_000), Some(1_190), Some(48_810))
    );

    let csv = app
        .get_with_key(&format!("/v1/settlements/{}.csv", ids[0]), &key_a)
        .await;
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert!(rows[0].starts_with("row_type,settlement,balance_transaction"));
    assert!(rows[1].starts_with(&format!("line,{},", ids[0])));
    assert!(rows[1].contains(",50000,1190,48810,"), "{text}");
    assert!(rows[2].contains(",50000,1190,48810,48810,COP,,"), "{text}");

    for (key, path) in [
        (&key_b, format!("/v1/settlements/{}", ids[0])),
        (&key_b, format!("/v1/settlements/{}.csv", ids[0])),
        (&key_a_live, format!("/v1/settlements/{}", ids[0])),
        (&key_a, "/v1/settlements/set_nonsense".to_string()),
    ] {
        let response = app.get_with_key(&path, key).await;
        assert_error(response, 404, "invalid_request_error", "resource_missing").await;
    }
    for key in [&key_b, &key_a_live] {
        let list = get_json(app, key, "/v1/settlements").await;
        assert_eq!(list["data"].as_array().unwrap().len(), 0);
    }
    let bad = app
        .get_with_key(&format!("/v1/settlements/{}?format=pdf", ids[0]), &key_a)
        .await;
    assert_error(bad, 400, "invalid_request_error", "parameter_invalid").await;
}

async fn alerts_of(app: &TestApp, m: MerchantId) -> Vec<Value> {
    app.server
        .state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                let page = cajero_store::page::PageRequest {
                    limit: 100,
                    cursor: cajero_store::page::Cursor::Newest,
                };
                events::list_events(&mut c, m, false, &events::EventFilter::default(), &page).await
            })
        })
        .await
        .unwrap()
        .data
        .into_iter()
        .filter(|e| e.event_type == EventType::AlertRaised)
        .map(|e| serde_json::from_str(&e.data).unwrap())
        .collect()
}

async fn the_periodic_ledger_check_alerts_once_when_the_books_are_off(app: &TestApp) {
    let m = app.merchant("A", MerchantStatus::Active).await;
    let store = app.server.state.store.clone();
    paid_payin(app, m, Mode::Test, 10_000, 0, bogota(2026, 11, 25, 9, 0)).await;
    let now = bogota(2026, 11, 26, 9, 0);
    run_once(&store, now).await.unwrap();
    let good = check_once(&store, now).await.unwrap();
    assert!(good.problems.is_empty(), "{:?}", good.problems);
    assert!(alerts_of(app, m).await.is_empty());

    let account =
        AccountKey::merchant(AccountKind::MerchantAvailable, m, Mode::Test, Currency::Cop)
            .to_string();
    store
        .write(move |mut c| {
            Box::pin(async move {
                cajero_store::execute!(
                    &mut c,
                    "UPDATE ledger_accounts SET credits_posted = credits_posted + 1 WHERE id = $1",
                    account
                )
                .map_err(cajero_store::StoreError::from)
            })
        })
        .await
        .unwrap();
    for _ in 0..2 {
        let report = check_once(&store, now).await.unwrap();
        assert!(!report.problems.is_empty());
    }
    let alerts = alerts_of(app, m).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["code"], "ledger_check_failed");
}
