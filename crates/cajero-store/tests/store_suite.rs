//! The store suite: every test runs on SQLite (a fresh file, WAL, group commit) and on
//! PostgreSQL (a fresh schema) when `CAJERO_TEST_POSTGRES_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use cajero_domain::id::{ApiKeyId, MerchantId};
use cajero_domain::merchant::MerchantStatus;
use cajero_store::merchants::{self, ApiKeyRecord, MerchantRecord};
use cajero_store::{Conn, Engine, Store, StoreError, StoreOptions, execute, fetch};
use jiff::Timestamp;

cajero_store::store_suite!(
    merchants_round_trip,
    merchant_status_changes_are_recorded,
    keys_are_found_by_their_hash_and_carry_the_merchant_status,
    revoking_a_key_keeps_its_first_revocation_time,
    key_listings_are_scoped_to_one_merchant_and_one_mode,
    last_use_is_recorded_at_most_once_per_resolution,
    a_duplicate_id_is_a_unique_violation,
    a_failed_unit_of_work_rolls_back_only_itself,
    many_concurrent_writes_all_land_exactly_once,
    the_first_instance_setting_wins,
    evidence_is_stored_compressed_and_rows_from_before_still_read,
    a_worker_lease_has_one_live_holder_at_a_time,
    a_unit_changing_thousands_of_pages_commits,
);

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_764_000_000 + seconds).unwrap()
}

fn merchant(n: u64, name: &str) -> MerchantRecord {
    MerchantRecord {
        id: MerchantId::from_parts(1_764_000_000_000 + n, u128::from(n)),
        name: name.to_string(),
        nit: Some("900123456-8".to_string()),
        status: MerchantStatus::Onboarding,
        created_at: at(0),
        updated_at: at(0),
    }
}

fn key(n: u64, merchant_id: MerchantId, livemode: bool) -> ApiKeyRecord {
    ApiKeyRecord {
        id: ApiKeyId::from_parts(1_764_000_000_000 + n, u128::from(n)),
        merchant_id,
        livemode,
        display_prefix: format!("sk_{}_k{n}", if livemode { "live" } else { "test" }),
        created_at: at(1),
        revoked_at: None,
        last_used_at: None,
    }
}

async fn insert_merchant(store: &Store, m: MerchantRecord) {
    store
        .write(move |mut conn| {
            Box::pin(async move { merchants::insert_merchant(&mut conn, &m).await })
        })
        .await
        .unwrap();
}

async fn insert_key(store: &Store, k: ApiKeyRecord, hash: &str) {
    let hash = hash.to_string();
    store
        .write(move |mut conn| {
            Box::pin(async move { merchants::insert_api_key(&mut conn, &k, &hash).await })
        })
        .await
        .unwrap();
}

async fn merchants_round_trip(store: Store) {
    let m = merchant(1, "Tienda Ñandú");
    insert_merchant(&store, m.clone()).await;
    let id = m.id;
    let got = store
        .read(move |mut conn| Box::pin(async move { merchants::get_merchant(&mut conn, id).await }))
        .await
        .unwrap();
    assert_eq!(got, Some(m));
    let missing = merchant(2, "x").id;
    let none = store
        .read(move |mut c| Box::pin(async move { merchants::get_merchant(&mut c, missing).await }))
        .await
        .unwrap();
    assert_eq!(none, None);
}

async fn merchant_status_changes_are_recorded(store: Store) {
    let m = merchant(1, "A");
    insert_merchant(&store, m.clone()).await;
    let id = m.id;
    let updated = store
        .write(move |mut c| {
            Box::pin(async move {
                merchants::set_merchant_status(&mut c, id, MerchantStatus::Active, at(50)).await
            })
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.status, MerchantStatus::Active);
    assert_eq!(updated.updated_at, at(50));
    assert_eq!(updated.created_at, at(0));
    let nobody = merchant(9, "nobody").id;
    let none = store
        .write(move |mut c| {
            Box::pin(async move {
                merchants::set_merchant_status(&mut c, nobody, MerchantStatus::Active, at(50)).await
            })
        })
        .await
        .unwrap();
    assert_eq!(none, None);
}

async fn keys_are_found_by_their_hash_and_carry_the_merchant_status(store: Store) {
    let m = merchant(1, "A");
    insert_merchant(&store, m.clone()).await;
    let k = key(1, m.id, false);
    insert_key(&store, k.clone(), "hash-one").await;
    let found = store
        .read(|mut c| {
            Box::pin(async move { merchants::find_api_key_by_hash(&mut c, "hash-one").await })
        })
        .await
        .unwrap();
    assert_eq!(found, Some((k, MerchantStatus::Onboarding)));
    let missing = store
        .read(|mut c| {
            Box::pin(async move { merchants::find_api_key_by_hash(&mut c, "hash-two").await })
        })
        .await
        .unwrap();
    assert_eq!(missing, None);
}

async fn revoking_a_key_keeps_its_first_revocation_time(store: Store) {
    let m = merchant(1, "A");
    insert_merchant(&store, m.clone()).await;
    let k = key(1, m.id, false);
    insert_key(&store, k.clone(), "h").await;
    let id = k.id;
    for (when, expected) in [(at(10), at(10)), (at(20), at(10))] {
        let revoked = store
            .write(move |mut c| {
                Box::pin(async move { merchants::revoke_api_key(&mut c, id, when).await })
            })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(revoked.revoked_at, Some(expected));
    }
    let unknown = key(2, m.id, false).id;
    let none = store
        .write(move |mut c| {
            Box::pin(async move { merchants::revoke_api_key(&mut c, unknown, at(5)).await })
        })
        .await
        .unwrap();
    assert_eq!(none, None);
}

async fn key_listings_are_scoped_to_one_merchant_and_one_mode(store: Store) {
    let a = merchant(1, "A");
    let b = merchant(2, "B");
    insert_merchant(&store, a.clone()).await;
    insert_merchant(&store, b.clone()).await;
    let a_test = key(1, a.id, false);
    let a_live = key(2, a.id, true);
    let b_test = key(3, b.id, false);
    insert_key(&store, a_test.clone(), "1").await;
    insert_key(&store, a_live.clone(), "2").await;
    insert_key(&store, b_test.clone(), "3").await;
    let list = |merchant_id, livemode| {
        let store = store.clone();
        async move {
            store
                .read(move |mut c| {
                    Box::pin(async move {
                        merchants::list_api_keys(&mut c, merchant_id, livemode).await
                    })
                })
                .await
                .unwrap()
        }
    };
    assert_eq!(list(a.id, false).await, vec![a_test]);
    assert_eq!(list(a.id, true).await, vec![a_live]);
    assert_eq!(list(b.id, false).await, vec![b_test]);
    assert_eq!(list(b.id, true).await, vec![]);
}

async fn last_use_is_recorded_at_most_once_per_resolution(store: Store) {
    let m = merchant(1, "A");
    insert_merchant(&store, m.clone()).await;
    let k = key(1, m.id, false);
    insert_key(&store, k.clone(), "h").await;
    let id = k.id;
    let minute_us = 60_000_000;
    for (now, expected) in [(at(100), at(100)), (at(130), at(100)), (at(161), at(161))] {
        let got = store
            .write(move |mut c| {
                Box::pin(async move {
                    merchants::touch_api_key(&mut c, id, now, minute_us).await?;
                    merchants::get_api_key(&mut c, id).await
                })
            })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.last_used_at, Some(expected), "touched at {now}");
    }
}

async fn a_duplicate_id_is_a_unique_violation(store: Store) {
    let m = merchant(1, "A");
    insert_merchant(&store, m.clone()).await;
    let again = m.clone();
    let err = store
        .write(move |mut c| {
            Box::pin(async move { merchants::insert_merchant(&mut c, &again).await })
        })
        .await
        .unwrap_err();
    assert!(err.is_unique_violation(), "{err}");
}

/// A unit of work that inserts a merchant and then fails must leave nothing behind, while
/// the units committed in the same batch keep their rows.
async fn a_failed_unit_of_work_rolls_back_only_itself(store: Store) {
    let mut tasks = Vec::new();
    for n in 0..20u64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let m = merchant(n, &format!("M{n}"));
            store
                .write(move |mut c| {
                    Box::pin(async move {
                        merchants::insert_merchant(&mut c, &m).await?;
                        if n % 2 == 1 {
                            return Err(StoreError::Corrupt {
                                table: "merchants",
                                detail: "deliberate failure".into(),
                            });
                        }
                        Ok(())
                    })
                })
                .await
        }));
    }
    for (n, task) in tasks.into_iter().enumerate() {
        let result = task.await.unwrap();
        assert_eq!(result.is_ok(), n % 2 == 0, "unit {n}: {result:?}");
    }
    let stored = store
        .read(|mut c| Box::pin(async move { merchants::list_merchants(&mut c, 100).await }))
        .await
        .unwrap();
    let names: Vec<String> = stored.into_iter().map(|m| m.name).collect();
    let expected: Vec<String> = (0..20)
        .filter(|n| n % 2 == 0)
        .map(|n| format!("M{n}"))
        .collect();
    assert_eq!(names, expected);
}

/// Hundreds of concurrent writers: each row lands once, and every caller hears success only
/// for a row that is really there.
async fn many_concurrent_writes_all_land_exactly_once(store: Store) {
    let writers = 400u64;
    let mut tasks = Vec::new();
    for n in 0..writers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            insert_merchant(&store, merchant(n, "concurrent")).await;
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let (count,) = store
        .read(|mut c: Conn<'_>| {
            Box::pin(async move {
                fetch!(one, &mut c, (i64,), "SELECT COUNT(*) FROM merchants")
                    .map_err(StoreError::from)
            })
        })
        .await
        .unwrap();
    assert_eq!(count, i64::try_from(writers).unwrap());
}

async fn the_first_instance_setting_wins(store: Store) {
    for candidate in ["first", "second"] {
        let value = store
            .write(move |mut c| {
                Box::pin(async move {
                    merchants::instance_setting_or_insert(&mut c, "pepper", candidate, at(0)).await
                })
            })
            .await
            .unwrap();
        assert_eq!(value, "first");
    }
}

/// A committed write survives closing and reopening the file.
#[tokio::test]
async fn sqlite_writes_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = Store::open(&url, &StoreOptions::default()).await.unwrap();
    assert_eq!(store.engine(), Engine::Sqlite);
    insert_merchant(&store, merchant(1, "Durable")).await;
    store.close().await;
    let reopened = Store::open(&url, &StoreOptions::default()).await.unwrap();
    let all = reopened
        .read(|mut c| Box::pin(async move { merchants::list_merchants(&mut c, 10).await }))
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].name, "Durable");
}

/// SQLite runs in WAL mode with synchronous=FULL and foreign keys enforced.
#[tokio::test]
async fn sqlite_is_durable_and_enforces_foreign_keys() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = Store::open(&url, &StoreOptions::default()).await.unwrap();
    let (mode, sync, fk) = store
        .write(|mut c| {
            Box::pin(async move {
                let (mode,) = fetch!(one, &mut c, (String,), "PRAGMA journal_mode")?;
                let (sync,) = fetch!(one, &mut c, (i64,), "PRAGMA synchronous")?;
                let (fk,) = fetch!(one, &mut c, (i64,), "PRAGMA foreign_keys")?;
                Ok::<_, StoreError>((mode, sync, fk))
            })
        })
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(sync, 2, "synchronous=FULL is 2");
    assert_eq!(fk, 1);
    let orphan = key(1, merchant(1, "ghost").id, false);
    let err = store
        .write(move |mut c| {
            Box::pin(async move { merchants::insert_api_key(&mut c, &orphan, "h").await })
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("FOREIGN KEY"), "{err}");
}

/// The two migration sets must define the same tables and columns.
#[tokio::test]
async fn both_engines_define_the_same_tables_and_columns() {
    let Some((pg, _schema)) = cajero_store::testing::fresh_postgres().await.unwrap() else {
        eprintln!("skipped: PostgreSQL not configured");
        return;
    };
    let sqlite = Store::open("sqlite::memory:", &StoreOptions::default())
        .await
        .unwrap();
    let sqlite_columns = sqlite
        .read(|mut c| {
            Box::pin(async move {
                fetch!(
                    all,
                    &mut c,
                    (String, String),
                    "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p \
                     WHERE m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite_%' \
                     AND m.name NOT LIKE '_sqlx%'"
                )
                .map_err(StoreError::from)
            })
        })
        .await
        .unwrap();
    let pg_columns = pg
        .read(|mut c| {
            Box::pin(async move {
                fetch!(
                    all,
                    &mut c,
                    (String, String),
                    "SELECT table_name::TEXT, column_name::TEXT FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name NOT LIKE '_sqlx%'"
                )
                .map_err(StoreError::from)
            })
        })
        .await
        .unwrap();
    let group = |rows: Vec<(String, String)>| {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (table, column) in rows {
            map.entry(table).or_default().push(column);
        }
        map.values_mut().for_each(|v| v.sort());
        map
    };
    assert_eq!(group(sqlite_columns), group(pg_columns));
}

/// A statement either engine refuses surfaces as an error, not a panic or a hang.
#[tokio::test]
async fn a_bad_statement_is_an_error() {
    let store = Store::open("sqlite::memory:", &StoreOptions::default())
        .await
        .unwrap();
    let err = store
        .write(|mut c| {
            Box::pin(async move {
                execute!(&mut c, "UPDATE no_such_table SET x = 1").map_err(StoreError::from)
            })
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no_such_table"), "{err}");
    // The writer is still alive afterwards.
    store.ping().await.unwrap();
}

#[tokio::test]
async fn unsupported_urls_are_refused_with_the_password_hidden() {
    let err = Store::open(
        "mysql://root:hunter2@localhost/db",
        &StoreOptions::default(),
    )
    .await
    .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("sqlite:"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

async fn evidence_is_stored_compressed_and_rows_from_before_still_read(store: Store) {
    use cajero_domain::id::MessageId;
    use cajero_domain::merchant::Mode;
    use cajero_store::network::{self, MessageRecord};
    let request = format!(
        "POST /v1/collections\ncontent-type: application/json\n\n{{\"reference\": \"pi_1\", \
         \"amount\": 150000, \"customer\": \"{}\"}}",
        "Ana Gómez ".repeat(20)
    );
    let response = format!("{{\"id\": \"ord_1\", \"echo\": {request:?}}}");
    let message = MessageRecord {
        id: MessageId::from_parts(1_764_000_000_000, 1),
        merchant_id: None,
        mode: Mode::Test,
        network: "efecty".into(),
        object_id: Some("pi_1".into()),
        direction: "outbound",
        operation: "POST /v1/collections".into(),
        exchange: network::Packed::new(&request, &response).unwrap(),
        response_status: Some(201),
        at: at(0),
        duration_ms: 12,
    };
    let (stored, raw) = (message.clone(), request.len() + response.len());
    let packed: i64 = store
        .write(move |mut c| {
            Box::pin(async move {
                network::insert_message(&mut c, &stored).await?;
                // A row as written before compression: text columns, no encoding given.
                execute!(
                    &mut c,
                    "INSERT INTO network_messages (id, livemode, network, object_id, direction, \
                     operation, request, response_status, response, at, duration_ms, created_at) \
                     VALUES ($1, FALSE, 'efecty', 'pi_1', 'inbound', 'callback', 'old request', \
                     200, 'old response', $2, 0, $2)",
                    MessageId::from_parts(1_764_000_001_000, 2).to_string(),
                    1_764_000_001_000_000_i64,
                )?;
                let (packed,) = fetch!(
                    one,
                    &mut c,
                    (i64,),
                    "SELECT SUM(LENGTH(packed) + LENGTH(request) + LENGTH(response)) \
                     FROM network_messages WHERE encoding <> 'plain'"
                )?;
                Ok::<_, StoreError>(packed)
            })
        })
        .await
        .unwrap();
    assert!(
        packed * 2 < i64::try_from(raw).unwrap(),
        "{packed} bytes stored for {raw}"
    );
    let read = store
        .read(|mut c| Box::pin(async move { network::messages_for(&mut c, "pi_1").await }))
        .await
        .unwrap();
    assert_eq!(
        read,
        vec![
            (
                message.operation.clone(),
                "outbound".to_string(),
                request,
                Some(201),
                response
            ),
            (
                "callback".to_string(),
                "inbound".to_string(),
                "old request".to_string(),
                Some(200),
                "old response".to_string()
            ),
        ]
    );
}

async fn a_worker_lease_has_one_live_holder_at_a_time(store: Store) {
    use cajero_store::instances;
    use jiff::SignedDuration;
    let take = |holder: &'static str, now: Timestamp, until: Timestamp| {
        store.write(move |mut c| {
            Box::pin(async move {
                instances::take_worker_lease(&mut c, "purge", holder, now, until).await
            })
        })
    };
    let register = |instance: &'static str, incarnation: &'static str, now: Timestamp| {
        store.write(move |mut c| {
            Box::pin(async move {
                instances::register(&mut c, instance, incarnation, now).await?;
                Ok::<_, StoreError>(())
            })
        })
    };
    register("a", "inc-a", at(0)).await.unwrap();
    register("b", "inc-b", at(0)).await.unwrap();
    assert!(take("inc-a", at(0), at(600)).await.unwrap(), "free: taken");
    assert!(
        !take("inc-b", at(1), at(601)).await.unwrap(),
        "held by a live holder"
    );
    assert!(
        take("inc-a", at(2), at(602)).await.unwrap(),
        "its holder renews it"
    );
    // a restarts: its previous incarnation is dead at once, and its lease free.
    register("a", "inc-a2", at(3)).await.unwrap();
    assert!(
        take("inc-b", at(3), at(603)).await.unwrap(),
        "a dead holder's lease is taken"
    );
    assert!(!take("inc-a2", at(4), at(604)).await.unwrap());
    // b's heartbeat lapses and its lease runs out: anyone may take it.
    let later = at(603) + SignedDuration::from_secs(1);
    register("a", "inc-a3", later).await.unwrap();
    assert!(take("inc-a3", later, at(1_200)).await.unwrap());
    let holder = store
        .read(|mut c| Box::pin(async move { instances::worker_lease(&mut c, "purge").await }))
        .await
        .unwrap();
    assert_eq!(holder, Some(("inc-a3".to_string(), at(1_200))));
}

/// PostgreSQL caches a generic plan for a statement after a few executions, and one made
/// while a table is small and has no statistics sees every index whose leading columns the
/// statement names as equally good. The lookups every order makes must then still have only
/// their own index to take, or the plan scans a whole network's or merchant's history on
/// every call until the table is analyzed (issue 12: payouts/s fell from ≈ 580 to ≈ 100 in a
/// minute on a new database with autovacuum off).
#[tokio::test]
async fn hot_lookups_have_one_index_to_take_without_statistics() {
    use sqlx::Connection;
    let Some(url) = cajero_store::testing::fresh_postgres_url().await.unwrap() else {
        eprintln!("skipped: PostgreSQL not configured");
        return;
    };
    let store = Store::open(&url, &StoreOptions::default()).await.unwrap();
    drop(store);
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql("SET plan_cache_mode = force_generic_plan")
        .execute(&mut conn)
        .await
        .unwrap();
    let cases = [
        (
            "SELECT * FROM payouts WHERE id = $1",
            "'po_x'",
            "payouts_pkey",
        ),
        (
            "SELECT * FROM payins WHERE id = $1",
            "'pi_x'",
            "payins_pkey",
        ),
        (
            "SELECT * FROM payouts WHERE network = $1 AND network_order_id = $2",
            "'efecty', 'o'",
            "payouts_by_network_order",
        ),
        (
            "SELECT * FROM payins WHERE network = $1 AND network_order_id = $2",
            "'efecty', 'o'",
            "payins_network_network_order_id_key",
        ),
        (
            "UPDATE idempotency_keys SET state = 'done', response_status = $1, \
             response_body = $2, holder = NULL \
             WHERE merchant_id = $3 AND livemode = $4 AND idempotency_key = $5",
            "200, '{}', 'mer_x', false, 'k'",
            "idempotency_keys_pkey",
        ),
        (
            "SELECT * FROM payouts WHERE test_clock = $1 AND status = 'available'",
            "'clock_x'",
            "payouts_on_test_clock",
        ),
        (
            "SELECT * FROM payins WHERE test_clock = $1 AND status = 'pending'",
            "'clock_x'",
            "payins_on_test_clock",
        ),
    ];
    for (i, (sql, args, index)) in cases.into_iter().enumerate() {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("PREPARE lookup_{i} AS {sql}")))
            .execute(&mut conn)
            .await
            .unwrap();
        let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "EXPLAIN (COSTS OFF) EXECUTE lookup_{i}({args})"
        )))
        .fetch_all(&mut conn)
        .await
        .unwrap();
        let plan = plan.join("\n");
        assert!(
            plan.contains(&format!("Index Scan using {index} ")),
            "{sql}\n{plan}"
        );
    }
    conn.close().await.unwrap();
}

/// PostgreSQL's pool does not ping a connection it hands out straight after its last unit (a
/// round trip per unit saved), but does ping one that sat idle past
/// `POOL_PING_AFTER_IDLE`: a connection the server dropped while the pool was quiet is
/// replaced, and the next unit runs on a live one instead of failing.
#[tokio::test]
async fn a_connection_dropped_while_the_pool_was_idle_is_replaced_before_use() {
    use sqlx::Connection;
    let Some(url) = cajero_store::testing::fresh_postgres_url().await.unwrap() else {
        eprintln!("skipped: PostgreSQL not configured");
        return;
    };
    let options = StoreOptions {
        pool_connections_max: 1,
        ..StoreOptions::default()
    };
    let store = Store::open(&url, &options).await.unwrap();
    let backend = || {
        store.read(|mut c| {
            Box::pin(async move {
                let (pid,) = fetch!(one, &mut c, (i32,), "SELECT pg_backend_pid()")?;
                Ok::<_, StoreError>(pid)
            })
        })
    };
    let first = backend().await.unwrap();
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    let (terminated,): (bool,) = sqlx::query_as("SELECT pg_terminate_backend($1)")
        .bind(first)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert!(terminated);
    tokio::time::sleep(cajero_store::POOL_PING_AFTER_IDLE + std::time::Duration::from_millis(200))
        .await;
    let second = backend()
        .await
        .expect("the dropped connection is found by its ping and replaced");
    assert_ne!(first, second);
    // The replacement, handed out again at once, is the same live connection.
    assert_eq!(backend().await.unwrap(), second);
}

/// Units that share a scope run at once; a unit that locks it waits for them, and they for it.
#[tokio::test]
async fn a_shared_scope_admits_sharers_together_and_holds_an_exclusive_locker_back() {
    use std::time::Duration;
    let Some((store, _url)) = cajero_store::testing::fresh_postgres().await.unwrap() else {
        eprintln!("skipped: PostgreSQL not configured");
        return;
    };
    // A unit that takes the scope, says so, and commits when told.
    let hold = |exclusive: bool| {
        let store = store.clone();
        let (taken_tx, taken_rx) = tokio::sync::oneshot::channel::<()>();
        let (end_tx, end_rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            store
                .write(move |mut c| {
                    Box::pin(async move {
                        if exclusive {
                            cajero_store::lock_scopes(&mut c, &["health:x"]).await?;
                        } else {
                            cajero_store::share_scopes(&mut c, &["health:x"]).await?;
                        }
                        let _ = taken_tx.send(());
                        let _ = end_rx.await;
                        Ok::<_, StoreError>(())
                    })
                })
                .await
        });
        (task, taken_rx, end_tx)
    };
    let within = |d: u64| Duration::from_millis(d);
    let (first, first_taken, end_first) = hold(false);
    tokio::time::timeout(within(5_000), first_taken)
        .await
        .unwrap()
        .unwrap();
    let (second, second_taken, end_second) = hold(false);
    tokio::time::timeout(within(5_000), second_taken)
        .await
        .expect("a second sharer runs while the first holds the scope")
        .unwrap();
    let (locker, mut locker_taken, end_locker) = hold(true);
    assert!(
        tokio::time::timeout(within(300), &mut locker_taken)
            .await
            .is_err(),
        "the exclusive locker waits for the sharers"
    );
    end_first.send(()).unwrap();
    first.await.unwrap().unwrap();
    assert!(
        tokio::time::timeout(within(300), &mut locker_taken)
            .await
            .is_err(),
        "and for every one of them"
    );
    end_second.send(()).unwrap();
    second.await.unwrap().unwrap();
    tokio::time::timeout(within(5_000), locker_taken)
        .await
        .expect("the locker runs once the sharers are gone")
        .unwrap();
    let (late, mut late_taken, end_late) = hold(false);
    assert!(
        tokio::time::timeout(within(300), &mut late_taken)
            .await
            .is_err(),
        "a sharer waits for the exclusive locker"
    );
    end_locker.send(()).unwrap();
    locker.await.unwrap().unwrap();
    tokio::time::timeout(within(5_000), late_taken)
        .await
        .unwrap()
        .unwrap();
    end_late.send(()).unwrap();
    late.await.unwrap().unwrap();
}

/// A unit PostgreSQL ends as a deadlock's victim is "unavailable, retry", not an internal
/// error: it rolled back whole. A statement over the timeout stays an error of its own (it
/// may be one that is always that slow), and so does a broken statement.
#[tokio::test]
async fn a_deadlock_victim_is_unavailable_and_a_timed_out_statement_is_not() {
    use std::time::Duration;
    let Some((store, _url)) = cajero_store::testing::fresh_postgres().await.unwrap() else {
        eprintln!("skipped: PostgreSQL not configured");
        return;
    };
    // Two units that each take one scope, wait for the other's, then take the other's.
    let (a_tx, a_rx) = tokio::sync::oneshot::channel::<()>();
    let (b_tx, b_rx) = tokio::sync::oneshot::channel::<()>();
    let unit = |first: &'static str,
                second: &'static str,
                took: tokio::sync::oneshot::Sender<()>,
                other: tokio::sync::oneshot::Receiver<()>| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .write(move |mut c| {
                    Box::pin(async move {
                        cajero_store::lock_scopes(&mut c, &[first]).await?;
                        let _ = took.send(());
                        let _ = other.await;
                        cajero_store::lock_scopes(&mut c, &[second]).await?;
                        Ok::<_, StoreError>(())
                    })
                })
                .await
        })
    };
    let a = unit("deadlock:a", "deadlock:b", a_tx, b_rx);
    let b = unit("deadlock:b", "deadlock:a", b_tx, a_rx);
    let (a, b) = tokio::time::timeout(Duration::from_secs(30), async {
        (a.await.unwrap(), b.await.unwrap())
    })
    .await
    .expect("PostgreSQL's deadlock detector ends one of them");
    let victim = match (a, b) {
        (Ok(()), Err(e)) | (Err(e), Ok(())) => e,
        other => panic!("exactly one victim: {other:?}"),
    };
    assert!(victim.is_unavailable(), "{victim}");

    let timed_out = store
        .write(|mut c| {
            Box::pin(async move {
                execute!(&mut c, "SET LOCAL statement_timeout = 50")?;
                execute!(&mut c, "SELECT pg_sleep(5)")?;
                Ok::<_, StoreError>(())
            })
        })
        .await
        .unwrap_err();
    assert!(!timed_out.is_unavailable(), "{timed_out}");
    assert!(
        timed_out.to_string().contains("statement timeout"),
        "{timed_out}"
    );
    // A request's own fault stays what it was.
    let broken = store
        .write(|mut c| {
            Box::pin(async move {
                execute!(&mut c, "UPDATE no_such_table SET x = 1")?;
                Ok::<_, StoreError>(())
            })
        })
        .await
        .unwrap_err();
    assert!(!broken.is_unavailable(), "{broken}");
}

/// A unit queued behind another's lock for half the statement timeout is ended by PostgreSQL's
/// `lock_timeout` as unavailable (retry with the same key), not left to reach the statement
/// timeout, an error of its own; the holder is untouched and commits.
#[tokio::test]
async fn a_unit_waiting_too_long_for_a_lock_is_unavailable() {
    let Some(url) = cajero_store::testing::fresh_postgres_url().await.unwrap() else {
        eprintln!("skipped: PostgreSQL not configured");
        return;
    };
    let options = StoreOptions {
        statement_timeout_ms: 2_000,
        ..StoreOptions::default()
    };
    assert_eq!(options.lock_timeout_ms(), 1_000);
    let store = Store::open(&url, &options).await.unwrap();
    let (took_tx, took_rx) = tokio::sync::oneshot::channel::<()>();
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    let holder = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .write(move |mut c| {
                    Box::pin(async move {
                        cajero_store::lock_scopes(&mut c, &["held"]).await?;
                        let _ = took_tx.send(());
                        let _ = release_rx.await;
                        Ok::<_, StoreError>(())
                    })
                })
                .await
        })
    };
    took_rx.await.unwrap();
    let waiter = store
        .write(|mut c| {
            Box::pin(async move {
                cajero_store::lock_scopes(&mut c, &["held"]).await?;
                Ok::<_, StoreError>(())
            })
        })
        .await
        .unwrap_err();
    assert!(waiter.is_unavailable(), "{waiter}");
    // PostgreSQL says which timeout ended it ("canceling statement due to lock timeout").
    assert!(waiter.to_string().contains("lock timeout"), "{waiter}");
    release_tx.send(()).unwrap();
    holder.await.unwrap().unwrap();
    // A statement slow for its own work keeps the whole statement timeout.
    store
        .write(|mut c| {
            Box::pin(async move {
                execute!(&mut c, "SELECT pg_sleep(1.3)")?;
                Ok::<_, StoreError>(())
            })
        })
        .await
        .unwrap();
}

/// A unit that changes more pages than SQLite keeps a unit's statement journal in memory for
/// (an import, a purge: the journal moves to a temporary file) commits, and so do the units
/// after it. It failed as "database or disk is full" while the spill size was over what
/// SQLite can write to that file in one call.
async fn a_unit_changing_thousands_of_pages_commits(store: Store) {
    let body = |c: char| c.to_string().repeat(3_000);
    let (first, second) = (body('a'), body('b'));
    store
        .write(move |mut c| {
            Box::pin(async move {
                execute!(
                    &mut c,
                    "CREATE TABLE spill_probe (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"
                )?;
                execute!(
                    &mut c,
                    "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 2000) \
                     INSERT INTO spill_probe SELECT i, $1 FROM s",
                    first,
                )?;
                Ok::<_, StoreError>(())
            })
        })
        .await
        .unwrap();
    // Every page of the table changes in one unit: about 8 MB of statement journal.
    store
        .write(move |mut c| {
            Box::pin(async move {
                execute!(&mut c, "UPDATE spill_probe SET body = $1", second)?;
                Ok::<_, StoreError>(())
            })
        })
        .await
        .unwrap();
    let (changed,): (i64,) = store
        .read(|mut c| {
            Box::pin(async move {
                fetch!(
                    one,
                    &mut c,
                    (i64,),
                    "SELECT COUNT(*) FROM spill_probe WHERE body LIKE 'b%'"
                )
                .map_err(StoreError::from)
            })
        })
        .await
        .unwrap();
    assert_eq!(changed, 2_000);
}

/// The overdue-exception sweep reads the open exceptions, then marks each as alerted. One an
/// operator resolves in between is not taken (on PostgreSQL the mark waits for the resolution
/// and checks again), so no alert is raised for an exception already closed.
#[tokio::test]
async fn an_exception_resolved_during_the_overdue_sweep_is_not_taken() {
    use cajero_domain::merchant::Mode;
    use cajero_domain::money::{Amount, Currency};
    use cajero_store::exceptions::{self, NewException, Resolution};
    use std::time::Duration;
    let Some((store, _url)) = cajero_store::testing::fresh_postgres().await.unwrap() else {
        eprintln!("skipped: PostgreSQL not configured");
        return;
    };
    store
        .write(|mut c| {
            Box::pin(async move {
                for n in 1..=2 {
                    let (id, object) = (format!("exc_sweep_{n}"), format!("pi_sweep_{n}"));
                    let new = NewException {
                        id: &id,
                        merchant_id: None,
                        mode: Mode::Test,
                        kind: exceptions::UNRECOGNIZED_NETWORK_STATE,
                        object_id: &object,
                        amount: Amount::new(1_000).unwrap(),
                        currency: Currency::Cop,
                        network: Some("efecty"),
                        network_order_id: None,
                        detail: None,
                    };
                    exceptions::record(&mut c, &new, at(0)).await?;
                }
                Ok::<_, StoreError>(())
            })
        })
        .await
        .unwrap();
    // The operator's resolution of the first, held open until told.
    let (resolved_tx, resolved_rx) = tokio::sync::oneshot::channel::<()>();
    let (end_tx, end_rx) = tokio::sync::oneshot::channel::<()>();
    let resolution = tokio::spawn({
        let store = store.clone();
        async move {
            store
                .write(move |mut c| {
                    Box::pin(async move {
                        let r = Resolution {
                            resolution: "accepted",
                            note: "checked",
                            by: "ops",
                            adjustment_id: None,
                        };
                        let done =
                            exceptions::resolve_with(&mut c, "exc_sweep_1", &r, at(10)).await?;
                        let _ = resolved_tx.send(());
                        let _ = end_rx.await;
                        Ok::<_, StoreError>(done)
                    })
                })
                .await
        }
    });
    tokio::time::timeout(Duration::from_secs(10), resolved_rx)
        .await
        .unwrap()
        .unwrap();
    let sweep = tokio::spawn({
        let store = store.clone();
        async move {
            store
                .write(|mut c| {
                    Box::pin(async move {
                        exceptions::take_overdue(&mut c, at(3_600), at(3_600), 500).await
                    })
                })
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    end_tx.send(()).unwrap();
    assert!(resolution.await.unwrap().unwrap());
    let taken: Vec<String> = sweep
        .await
        .unwrap()
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(taken, ["exc_sweep_2"], "the resolved one is not taken");
}
