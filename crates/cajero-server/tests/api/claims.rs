//! `Idempotency-Key` claims across crashes (issue 10, fault 6): a claim held by a dead
//! incarnation may be retried at once, and one nobody retries is cleaned up, canceling the
//! voucher the network may have issued for it. Through HTTP and the embedded simulator, with
//! the manual clock.

use std::time::Duration;

use cajero_connect::{CreateVoucher, NetworkStatus, OrderKind};
use cajero_domain::id::{MerchantId, PayinId, PayoutId};
use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_domain::money::Amount;
use cajero_server::clock::{Clock, new_id};
use cajero_server::instance::Instance;
use cajero_server::workers::claims;
use cajero_store::idempotency::{self, KeyScope};
use cajero_store::instances::DEAD_AFTER_MS;
use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error};

crate::both_engines!(
    a_dead_instances_claim_is_retried_at_once,
    a_restarted_instances_earlier_claim_is_retried_at_once,
    an_abandoned_payin_claim_has_its_voucher_canceled_and_is_deleted,
);

const DEAD_AFTER_S: i64 = DEAD_AFTER_MS / 1_000;

struct Merchant {
    id: MerchantId,
    key: String,
}

async fn merchant(app: &TestApp) -> Merchant {
    let id = app.merchant("Tienda", MerchantStatus::Active).await;
    Merchant {
        id,
        key: app.key(id, Mode::Test).await.1,
    }
}

fn payin_body() -> Value {
    json!({"amount": 30_000, "currency": "COP", "reference": "order-7",
           "customer": {"name": "Ana Gómez", "document": {"type": "CC", "number": "1020304050"}}})
}

async fn create_payin(app: &TestApp, m: &Merchant, key: &str) -> reqwest::Response {
    app.http
        .post(app.url("/v1/payins"))
        .bearer_auth(&m.key)
        .header("idempotency-key", key)
        .json(&payin_body())
        .send()
        .await
        .unwrap()
}

/// Another instance, registered now.
async fn instance(app: &TestApp, id: &str) -> Instance {
    let state = &app.server.state;
    let instance = Instance::new(id);
    instance
        .register(&state.store, state.clock.as_ref())
        .await
        .unwrap();
    instance
}

/// What a request that `holder` was serving left when it died: a running claim of `key`
/// (locked for a minute) that was to create `resource`.
async fn crashed_claim(
    app: &TestApp,
    m: &Merchant,
    holder: &Instance,
    key: &str,
    fingerprint: String,
    resource: Option<String>,
) {
    let scope = KeyScope {
        merchant_id: m.id,
        mode: Mode::Test,
        key: key.to_string(),
        fingerprint,
        holder: Some(holder.incarnation().to_string()),
    };
    let now = app.clock.now();
    let until = now.checked_add(SignedDuration::from_secs(60)).unwrap();
    app.server
        .state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                let begun = idempotency::begin(&mut c, &scope, now, until).await?;
                assert_eq!(begun, idempotency::Begin::Proceed);
                if let Some(resource) = resource {
                    idempotency::resource_id(&mut c, &scope, &resource).await?;
                }
                Ok::<_, cajero_store::StoreError>(())
            })
        })
        .await
        .unwrap();
}

async fn key_state(app: &TestApp, m: &Merchant, key: &str) -> Option<String> {
    let (merchant, key) = (m.id, key.to_string());
    app.server
        .state
        .store
        .read(move |mut c| {
            Box::pin(async move { idempotency::state_of(&mut c, merchant, Mode::Test, &key).await })
        })
        .await
        .unwrap()
        .map(|(state, _)| state)
}

fn payin_fingerprint() -> String {
    cajero_server::idempotency::fingerprint("POST", "/v1/payins", &payin_body())
}

async fn a_dead_instances_claim_is_retried_at_once(app: &TestApp) {
    let m = merchant(app).await;
    let crashed = instance(app, "host-d/10.0.0.4:8080").await;
    let id: PayinId = new_id(app.server.state.clock.as_ref());
    crashed_claim(
        app,
        &m,
        &crashed,
        "order-7",
        payin_fingerprint(),
        Some(id.to_string()),
    )
    .await;

    // While its instance may be alive, a retry waits.
    let waiting = create_payin(app, &m, "order-7").await;
    assert_error(
        waiting,
        409,
        "idempotency_error",
        "idempotency_request_in_progress",
    )
    .await;

    // Its heartbeat lapsed: the retry takes the claim over at once (the lock had most of a
    // minute to run) and creates the pay-in the crashed request was creating, under its id.
    app.clock
        .advance(SignedDuration::from_secs(DEAD_AFTER_S + 1));
    let retried = create_payin(app, &m, "order-7").await;
    assert_eq!(retried.status(), 201);
    let body: Value = retried.json().await.unwrap();
    assert_eq!(body["id"], id.to_string());
    assert_eq!(key_state(app, &m, "order-7").await.as_deref(), Some("done"));
    let again = create_payin(app, &m, "order-7").await;
    assert_eq!(again.headers()["idempotent-replayed"], "true");
}

async fn a_restarted_instances_earlier_claim_is_retried_at_once(app: &TestApp) {
    let m = merchant(app).await;
    let id = "host-e/127.0.0.1:8080";
    let first = instance(app, id).await;
    crashed_claim(app, &m, &first, "order-8", payin_fingerprint(), None).await;
    // The same instance restarts: its earlier incarnation's claim is free at once, with no
    // time passing.
    instance(app, id).await;
    let retried = create_payin(app, &m, "order-8").await;
    assert_eq!(retried.status(), 201);
}

async fn an_abandoned_payin_claim_has_its_voucher_canceled_and_is_deleted(app: &TestApp) {
    let state = &app.server.state;
    let m = merchant(app).await;
    let crashed = instance(app, "host-f/10.0.0.6:8080").await;
    // A request created a voucher at the network under its pay-in id and died before
    // recording it.
    let orphan: PayinId = new_id(state.clock.as_ref());
    crashed_claim(
        app,
        &m,
        &crashed,
        "orphan",
        payin_fingerprint(),
        Some(orphan.to_string()),
    )
    .await;
    let connector = state
        .networks
        .connector(Mode::Test, "simulator", "efecty")
        .unwrap();
    let voucher = connector
        .create_voucher(&CreateVoucher {
            network: "efecty".into(),
            reference: orphan.to_string(),
            amount: Amount::new(30_000).unwrap(),
            customer_name: None,
            customer_document: None,
            expires_in_seconds: 3 * 86_400,
            test_clock: None,
        })
        .await
        .result
        .unwrap();
    assert_eq!(voucher.status, NetworkStatus::Pending);
    // Others the crash left: one before it chose an id, one of a payout and one of an
    // existing pay-in (a cancel), which their own resolution settles.
    crashed_claim(app, &m, &crashed, "early", "f1".into(), None).await;
    let payout: PayoutId = new_id(state.clock.as_ref());
    crashed_claim(
        app,
        &m,
        &crashed,
        "payout",
        "f2".into(),
        Some(payout.to_string()),
    )
    .await;
    let existing = create_payin(app, &m, "existing").await;
    assert_eq!(existing.status(), 201);
    let existing: Value = existing.json().await.unwrap();
    let existing = existing["id"].as_str().unwrap().to_string();
    crashed_claim(app, &m, &crashed, "cancel", "f3".into(), Some(existing)).await;

    // A retry gets the first chance: nothing is cleaned up yet.
    app.clock
        .advance(SignedDuration::from_secs(DEAD_AFTER_S + 1));
    assert_eq!(claims::run_once(state).await.unwrap().taken, 0);

    // Nobody retried: the voucher is canceled at the network and the claims deleted.
    app.clock
        .advance(SignedDuration::from_secs(claims::RETRY_FIRST_S));
    let mut canceled = 0;
    for _ in 0..50 {
        let stats = claims::run_once(state).await.unwrap();
        canceled += stats.orders_canceled;
        if key_state(app, &m, "orphan").await.is_none()
            && key_state(app, &m, "early").await.is_none()
        {
            break;
        }
        // The background cleaner (same clock) may be settling them: let it finish.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(key_state(app, &m, "orphan").await, None);
    assert_eq!(key_state(app, &m, "early").await, None);
    let found = connector
        .find_by_reference(OrderKind::Collection, &orphan.to_string())
        .await
        .result
        .unwrap();
    assert_eq!(found.status, NetworkStatus::Canceled);
    assert!(canceled <= 1);
    let orphan_id = orphan.to_string();
    let evidence = state
        .store
        .read(move |mut c| {
            Box::pin(async move { cajero_store::network::count_messages(&mut c, &orphan_id).await })
        })
        .await
        .unwrap();
    assert!(
        evidence >= 2,
        "the look-up and the cancel are kept: {evidence}"
    );
    // The payout's and the existing pay-in's claims are left alone.
    assert_eq!(
        key_state(app, &m, "payout").await.as_deref(),
        Some("running")
    );
    assert_eq!(
        key_state(app, &m, "cancel").await.as_deref(),
        Some("running")
    );
    // A retry of the orphan's key now runs as a new request.
    let retried = create_payin(app, &m, "orphan").await;
    assert_eq!(retried.status(), 201);
    let retried: Value = retried.json().await.unwrap();
    assert_ne!(retried["id"], orphan.to_string());
}
