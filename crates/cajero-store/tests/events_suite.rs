//! The outbox on both engines: events commit with the change that causes them or not at all,
//! fan out to the right endpoints, and are claimed under leases.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use cajero_domain::id::{EventId, MerchantId, WebhookEndpointId};
use cajero_domain::merchant::MerchantStatus;
use cajero_domain::webhook::{EventPattern, EventType};
use cajero_store::merchants::{self, MerchantRecord};
use cajero_store::webhook_deliveries::{self, ClaimRequest};
use cajero_store::webhooks::{self, EndpointRecord, EndpointStatus, SealedSecret};
use cajero_store::{Store, StoreError, events, fetch, instances};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite_file {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    let url = format!("sqlite://{}", dir.path().join("t.db").display());
                    let store = cajero_store::Store::open(&url, &cajero_store::StoreOptions::default())
                        .await
                        .unwrap();
                    super::$name(store.clone()).await;
                    store.close().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    match cajero_store::testing::fresh_postgres().await.unwrap() {
                        Some((store, _)) => {
                            super::$name(store.clone()).await;
                            store.close().await;
                        }
                        None => eprintln!("skipped: set CAJERO_TEST_POSTGRES_URL"),
                    }
                }
            )*
        }
    };
}

suite!(
    an_event_commits_with_its_change_or_not_at_all,
    an_event_fans_out_to_matching_endpoints_of_its_merchant_and_mode,
    events_of_one_change_each_fan_out_to_the_endpoints_that_want_them,
    a_leased_delivery_is_not_claimed_again_until_its_lease_runs_out,
    leases_end_with_their_holders_life_and_last_while_renewed,
);

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_764_000_000 + seconds).unwrap()
}

async fn merchant(store: &Store, n: u64) -> MerchantId {
    let record = MerchantRecord {
        id: MerchantId::from_parts(1_764_000_000_000 + n, u128::from(n)),
        name: format!("M{n}"),
        nit: None,
        status: MerchantStatus::Active,
        created_at: at(0),
        updated_at: at(0),
    };
    let id = record.id;
    store
        .write(move |mut c| {
            Box::pin(async move { merchants::insert_merchant(&mut c, &record).await })
        })
        .await
        .unwrap();
    id
}

async fn endpoint(
    store: &Store,
    merchant_id: MerchantId,
    livemode: bool,
    n: u64,
    events: &[&str],
    status: EndpointStatus,
) -> WebhookEndpointId {
    let record = EndpointRecord {
        id: WebhookEndpointId::from_parts(1_764_000_000_000 + n, u128::from(n)),
        merchant_id,
        livemode,
        url: "http://127.0.0.1:9/".into(),
        description: None,
        enabled_events: events
            .iter()
            .map(|e| e.parse::<EventPattern>().unwrap())
            .collect(),
        metadata: BTreeMap::new(),
        status,
        disabled_reason: None,
        secret: SealedSecret("whsec_x".into()),
        previous_secret: None,
        previous_secret_expires_at: None,
        failing_since: None,
        created_at: at(0),
        updated_at: at(0),
    };
    let id = record.id;
    store
        .write(move |mut c| {
            Box::pin(async move { webhooks::insert_endpoint(&mut c, &record).await })
        })
        .await
        .unwrap();
    id
}

fn event_id(n: u64) -> EventId {
    EventId::from_parts(1_764_000_000_000 + n, u128::from(n))
}

async fn emit(store: &Store, merchant_id: MerchantId, livemode: bool, n: u64, t: EventType) {
    store
        .write(move |mut c| {
            Box::pin(async move {
                events::emit(
                    &mut c,
                    merchant_id,
                    livemode,
                    t,
                    &json!({"n": n}),
                    event_id(n),
                    at(0),
                )
                .await
            })
        })
        .await
        .unwrap();
}

async fn deliveries(store: &Store) -> Vec<(String, String, String)> {
    store
        .read(|mut c| {
            Box::pin(async move {
                fetch!(
                    all,
                    &mut c,
                    (String, String, String),
                    "SELECT event_id, endpoint_id, status FROM webhook_deliveries \
                     ORDER BY event_id, endpoint_id"
                )
                .map_err(StoreError::from)
            })
        })
        .await
        .unwrap()
}

async fn an_event_commits_with_its_change_or_not_at_all(store: Store) {
    let m = merchant(&store, 1).await;
    endpoint(&store, m, false, 1, &["*"], EndpointStatus::Enabled).await;
    // The change fails after emitting: nothing of it, the event included, is kept.
    let failed = store
        .write(move |mut c| {
            Box::pin(async move {
                events::emit(
                    &mut c,
                    m,
                    false,
                    EventType::PayoutPaid,
                    &json!({}),
                    event_id(7),
                    at(0),
                )
                .await?;
                Err::<(), StoreError>(StoreError::Corrupt {
                    table: "payouts",
                    detail: "the change failed".into(),
                })
            })
        })
        .await;
    assert!(failed.is_err());
    let found = store
        .read(move |mut c| {
            Box::pin(async move { events::get_event(&mut c, m, false, event_id(7)).await })
        })
        .await
        .unwrap();
    assert_eq!(found, None);
    assert!(deliveries(&store).await.is_empty());
    // The same change succeeding keeps both.
    emit(&store, m, false, 7, EventType::PayoutPaid).await;
    assert_eq!(deliveries(&store).await.len(), 1);
}

async fn an_event_fans_out_to_matching_endpoints_of_its_merchant_and_mode(store: Store) {
    let m = merchant(&store, 1).await;
    let other = merchant(&store, 2).await;
    let all = endpoint(&store, m, false, 1, &["*"], EndpointStatus::Enabled).await;
    let payouts = endpoint(&store, m, false, 2, &["payout.*"], EndpointStatus::Enabled).await;
    endpoint(
        &store,
        m,
        false,
        3,
        &["payin.paid"],
        EndpointStatus::Enabled,
    )
    .await;
    let off = endpoint(&store, m, false, 4, &["*"], EndpointStatus::Disabled).await;
    endpoint(&store, m, true, 5, &["*"], EndpointStatus::Enabled).await;
    endpoint(&store, other, false, 6, &["*"], EndpointStatus::Enabled).await;

    emit(&store, m, false, 1, EventType::PayoutPaid).await;

    let rows = deliveries(&store).await;
    let expected = vec![
        (
            event_id(1).to_string(),
            all.to_string(),
            "pending".to_string(),
        ),
        (
            event_id(1).to_string(),
            payouts.to_string(),
            "pending".to_string(),
        ),
        (
            event_id(1).to_string(),
            off.to_string(),
            "skipped".to_string(),
        ),
    ];
    let mut expected = expected;
    expected.sort();
    assert_eq!(rows, expected);
}

/// `emit_each` writes the events of one change in one statement and their deliveries in one
/// more: each event still goes to exactly the endpoints that want it.
async fn events_of_one_change_each_fan_out_to_the_endpoints_that_want_them(store: Store) {
    let m = merchant(&store, 1).await;
    let all = endpoint(&store, m, false, 1, &["*"], EndpointStatus::Enabled).await;
    let available = endpoint(
        &store,
        m,
        false,
        2,
        &["payout.available"],
        EndpointStatus::Enabled,
    )
    .await;
    let off = endpoint(&store, m, false, 3, &["*"], EndpointStatus::Disabled).await;
    let types = [
        (EventType::PayoutCreated, event_id(1)),
        (EventType::PayoutAvailable, event_id(2)),
    ];
    let written = store
        .write(move |mut c| {
            Box::pin(async move {
                let object = json!({"id": "po_1", "object": "payout"});
                events::emit_each(&mut c, m, false, &types, &object, at(0)).await
            })
        })
        .await
        .unwrap();
    assert_eq!(written.len(), 2);
    for (event_type, id) in types {
        let found = store
            .read(move |mut c| {
                Box::pin(async move { events::get_event(&mut c, m, false, id).await })
            })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.event_type, event_type);
        let data: serde_json::Value = serde_json::from_str(&found.data).unwrap();
        assert_eq!(data["id"], "po_1");
    }
    let row = |event: u64, endpoint: WebhookEndpointId, status: &str| {
        (
            event_id(event).to_string(),
            endpoint.to_string(),
            status.to_string(),
        )
    };
    let mut expected = vec![
        row(1, all, "pending"),
        row(1, off, "skipped"),
        row(2, all, "pending"),
        row(2, available, "pending"),
        row(2, off, "skipped"),
    ];
    expected.sort();
    assert_eq!(deliveries(&store).await, expected);
    // No events: nothing is written and nothing is refused, on either engine.
    let none = store
        .write(move |mut c| {
            Box::pin(async move {
                let object = json!({"id": "po_2", "object": "payout"});
                events::emit_each(&mut c, m, false, &[], &object, at(0)).await
            })
        })
        .await
        .unwrap();
    assert!(none.is_empty());
    assert_eq!(deliveries(&store).await, expected);
}

async fn a_leased_delivery_is_not_claimed_again_until_its_lease_runs_out(store: Store) {
    let m = merchant(&store, 1).await;
    endpoint(&store, m, false, 1, &["*"], EndpointStatus::Enabled).await;
    for n in 1..=3 {
        emit(&store, m, false, n, EventType::PayinPaid).await;
    }
    let claim = |token: &'static str, now: Timestamp| {
        let store = store.clone();
        async move {
            store
                .write(move |mut c| {
                    Box::pin(async move {
                        let request = ClaimRequest {
                            now,
                            lease_until: now.checked_add(SignedDuration::from_secs(60)).unwrap(),
                            token,
                            holder: None,
                            limit: 2,
                            per_endpoint_max: 10,
                        };
                        webhook_deliveries::claim_due(&mut c, &request).await
                    })
                })
                .await
                .unwrap()
                .len()
        }
    };
    assert_eq!(claim("a", at(0)).await, 2);
    assert_eq!(claim("b", at(0)).await, 1);
    assert_eq!(claim("c", at(30)).await, 0);
    assert_eq!(claim("d", at(61)).await, 2);
}

/// A claim made by `holder` (an incarnation) at `now` with a 10 s lease; the number claimed.
async fn claim_held(
    store: &Store,
    holder: &'static str,
    token: &'static str,
    now: Timestamp,
) -> usize {
    store
        .write(move |mut c| {
            Box::pin(async move {
                let request = ClaimRequest {
                    now,
                    lease_until: now.checked_add(SignedDuration::from_secs(10)).unwrap(),
                    token,
                    holder: Some(holder),
                    limit: 1,
                    per_endpoint_max: 10,
                };
                webhook_deliveries::claim_due(&mut c, &request).await
            })
        })
        .await
        .unwrap()
        .len()
}

async fn beat(store: &Store, instance: &'static str, incarnation: &'static str, now: Timestamp) {
    store
        .write(move |mut c| {
            Box::pin(async move {
                instances::register(&mut c, instance, incarnation, now).await?;
                Ok::<_, StoreError>(())
            })
        })
        .await
        .unwrap();
}

async fn leases_end_with_their_holders_life_and_last_while_renewed(store: Store) {
    let m = merchant(&store, 1).await;
    endpoint(&store, m, false, 1, &["*"], EndpointStatus::Enabled).await;
    emit(&store, m, false, 1, EventType::PayinPaid).await;
    emit(&store, m, false, 2, EventType::PayinPaid).await;
    beat(&store, "a", "a-1", at(0)).await;
    beat(&store, "b", "b-1", at(0)).await;
    assert_eq!(claim_held(&store, "a-1", "a-1-0", at(0)).await, 1);
    assert_eq!(claim_held(&store, "b-1", "b-1-0", at(5)).await, 1);
    // Renewed at 8 s: a's lease lasts until 18 s.
    let renewed = store
        .write(|mut c| {
            Box::pin(async move {
                webhook_deliveries::renew(&mut c, &["a-1-0".to_string()], at(18)).await
            })
        })
        .await
        .unwrap();
    assert_eq!(renewed, 1);
    // At 9 s both are alive and leased.
    beat(&store, "b", "b-1", at(9)).await;
    assert_eq!(claim_held(&store, "c-1", "c-1-0", at(9)).await, 0);
    // a's heartbeat lapses at 10 s: its delivery is free at once, though its lease runs to
    // 18 s; b, alive, keeps its own until its lease runs out at 15 s.
    let alive = |incarnation: &'static str, t: i64| {
        let store = store.clone();
        async move {
            store
                .read(move |mut c| {
                    Box::pin(async move { instances::is_alive(&mut c, incarnation, at(t)).await })
                })
                .await
                .unwrap()
        }
    };
    assert!(alive("a-1", 9).await && !alive("a-1", 10).await && alive("b-1", 10).await);
    assert_eq!(claim_held(&store, "c-1", "c-1-1", at(10)).await, 1);
    assert_eq!(claim_held(&store, "c-1", "c-1-2", at(14)).await, 0);
    assert_eq!(claim_held(&store, "c-1", "c-1-3", at(15)).await, 1);
    // A restart of b (a new incarnation) releases whatever b-1 still held.
    let registration = store
        .write(|mut c| {
            Box::pin(async move { instances::register(&mut c, "b", "b-2", at(12)).await })
        })
        .await
        .unwrap();
    assert_eq!(registration.previous.as_deref(), Some("b-1"));
    assert_eq!(registration.deliveries_released, 0);
}
