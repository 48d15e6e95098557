//! Money integrity when a payout's create is interrupted (issue 10): a server that dies between
//! reserving the funds and hearing from the network leaves a `pending` payout without a code.
//! The poller resolves it, the client's retry with the same key replays what the poller
//! decided, no network order is left without exactly one owning payout, and no event is
//! emitted twice for one change.
//!
//! The crash is reproduced by running the create's first step alone
//! (`payouts::accept`, committed) and dropping the request there, as `kill -9` would.

use cajero_connect::{ConnectError, CreatePickup, DocumentRef, NetworkStatus, OrderKind};
use cajero_domain::id::{MerchantId, PayoutId};
use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_server::auth::Caller;
use cajero_server::idempotency::{IdempotencyKey, fingerprint};
use cajero_server::payouts::{self, Acceptance, Accepted, CreatePayout};
use cajero_store::exceptions;
use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::helpers::TestApp;

crate::both_engines!(
    a_payout_failed_by_the_poller_replays_its_failure_and_is_never_sent_to_the_network,
    a_payout_issued_by_the_poller_emits_its_events_once_and_the_retry_replays_it,
    an_order_issued_for_a_payout_that_failed_meanwhile_is_canceled_and_raised,
    a_callback_for_an_unknown_order_becomes_an_exception_after_the_grace_period,
    canceling_an_expired_code_at_the_network_is_kept_as_evidence,
    a_signing_secret_in_a_stored_answer_is_sealed_and_replays_in_clear,
    an_order_another_payout_holds_is_never_attached_to_a_second,
    a_stuck_payout_answered_with_another_payouts_order_fails_and_frees_its_funds,
    an_orphan_order_canceled_only_by_the_poller_resolves_its_overdue_alert,
);

struct Shop {
    id: MerchantId,
    key: String,
    caller: Caller,
}

async fn shop(app: &TestApp) -> Shop {
    let id = app.merchant("Giros", MerchantStatus::Active).await;
    let (key_id, key) = app.key(id, Mode::Test).await;
    let shop = Shop {
        id,
        key,
        caller: Caller {
            merchant_id: id,
            mode: Mode::Test,
            key_id: Some(key_id),
        },
    };
    let topup = post(
        app,
        &shop,
        "/v1/topups",
        "topup-1",
        &json!({"amount": 1_000_000, "currency": "COP"}),
    )
    .await;
    assert!(topup.0 == 201 || topup.0 == 200, "{topup:?}");
    shop
}

async fn post(app: &TestApp, shop: &Shop, path: &str, key: &str, body: &Value) -> (u16, Value) {
    let response = app
        .http
        .post(app.url(path))
        .bearer_auth(&shop.key)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn get(app: &TestApp, shop: &Shop, path: &str) -> Value {
    let response = app.get_with_key(path, &shop.key).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

fn payout_body() -> Value {
    json!({"amount": 50_000, "currency": "COP", "reference": "giro-1",
           "beneficiary": {"name": "Luis Pérez", "document": {"type": "CC", "number": "1020304050"}}})
}

/// Runs the first step of `POST /v1/payouts` with `key` (claim, accept, reserve: committed)
/// and stops there, as a server killed before it called the network.
async fn accept_then_crash(app: &TestApp, shop: &Shop, key: &str) -> Accepted {
    let body = payout_body();
    let request = cajero_server::extract::from_value::<CreatePayout>(body.clone())
        .unwrap()
        .parse()
        .unwrap();
    let accepted = payouts::accept(
        &app.server.state,
        shop.caller,
        IdempotencyKey {
            key: key.to_string(),
            holder: Some(app.server.state.instance.incarnation().to_string()),
        },
        fingerprint("POST", "/v1/payouts", &body),
        request,
        None,
    )
    .await
    .unwrap();
    match accepted {
        Acceptance::Ready(accepted) => *accepted,
        Acceptance::Answered(_) => panic!("a fresh key is accepted"),
    }
}

/// Past `orders.stuck_create_after_ms`, then one poller step.
async fn poller_after_the_stuck_window(app: &TestApp) {
    app.clock.advance(SignedDuration::from_secs(3 * 60));
    cajero_server::workers::poller::run_once(&app.server.state)
        .await
        .unwrap();
}

/// The embedded simulator's Efecty, as cajero reaches it in test mode.
fn simulated_efecty(app: &TestApp) -> std::sync::Arc<dyn cajero_connect::Connector> {
    app.server
        .state
        .networks
        .connector(Mode::Test, "simulator", "efecty")
        .unwrap()
}

async fn network_order_for(
    app: &TestApp,
    payout: PayoutId,
) -> Result<cajero_connect::NetworkOrder, ConnectError> {
    simulated_efecty(app)
        .find_by_reference(OrderKind::Payout, &payout.to_string())
        .await
        .result
}

/// The reconciliation exceptions of `kind` (the open ones only, or all), at most ten.
async fn exceptions_of_kind(
    app: &TestApp,
    kind: &'static str,
    open_only: bool,
) -> Vec<exceptions::OrderException> {
    app.server
        .state
        .store
        .read(move |mut c| {
            Box::pin(async move { exceptions::of_kind(&mut c, kind, open_only, 10).await })
        })
        .await
        .unwrap()
}

/// The network issues an order for payout `id` (by its reference, as a create that reached it
/// would), behind cajero's back.
async fn order_at_the_network(app: &TestApp, id: PayoutId) -> cajero_connect::NetworkOrder {
    simulated_efecty(app)
        .create_pickup(&CreatePickup {
            network: "efecty".into(),
            reference: id.to_string(),
            amount: cajero_domain::money::Amount::new(50_000).unwrap(),
            beneficiary_name: "Luis Pérez".into(),
            beneficiary_document: DocumentRef {
                kind: "CC".into(),
                number: "1020304050".into(),
            },
            expires_in_seconds: 7 * 24 * 3600,
            test_clock: None,
        })
        .await
        .result
        .unwrap()
}

/// How many events of each type name this payout.
async fn events_of(app: &TestApp, shop: &Shop, id: PayoutId) -> Vec<String> {
    let events = get(app, shop, "/v1/events?limit=100").await;
    let mut types: Vec<String> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["data"]["object"]["id"] == id.to_string().as_str())
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect();
    types.sort();
    types
}

async fn available(app: &TestApp, shop: &Shop) -> (i64, i64) {
    let b = get(app, shop, "/v1/balance").await;
    (
        b["available"][0]["amount"].as_i64().unwrap(),
        b["reserved"][0]["amount"].as_i64().unwrap(),
    )
}

async fn ledger_balances(app: &TestApp) {
    let report = app
        .server
        .state
        .store
        .read(|mut c| Box::pin(async move { cajero_store::verify::verify(&mut c).await }))
        .await
        .unwrap();
    assert!(report.problems.is_empty(), "{report:?}");
}

/// The fault found under `kill -9`: the poller failed the stuck payout and released its funds,
/// but the key stayed `running`; the retry then sent the payout to the network, which issued
/// a live code for a failed payout with no money behind it.
async fn a_payout_failed_by_the_poller_replays_its_failure_and_is_never_sent_to_the_network(
    app: &TestApp,
) {
    let shop = shop(app).await;
    let id = accept_then_crash(app, &shop, "giro-crash-1")
        .await
        .payout_id();
    assert_eq!(available(app, &shop).await, (950_000, 50_000));

    poller_after_the_stuck_window(app).await;
    let payout = get(app, &shop, &format!("/v1/payouts/{id}")).await;
    assert_eq!(payout["status"], "failed");
    assert_eq!(available(app, &shop).await, (1_000_000, 0));

    let (status, body) = post(app, &shop, "/v1/payouts", "giro-crash-1", &payout_body()).await;
    assert_eq!(status, 424, "the retry replays the failure: {body}");
    assert_eq!(body["error"]["code"], "network_unavailable");
    assert_eq!(body["error"]["payout"], id.to_string().as_str());
    assert!(
        matches!(
            network_order_for(app, id).await,
            Err(ConnectError::NotFound)
        ),
        "the failed payout was never sent to the network"
    );
    assert_eq!(
        get(app, &shop, &format!("/v1/payouts/{id}")).await["status"],
        "failed"
    );
    assert_eq!(available(app, &shop).await, (1_000_000, 0));
    assert_eq!(
        events_of(app, &shop, id).await,
        ["payout.created", "payout.failed"]
    );
    ledger_balances(app).await;
}

/// The network took the order before the crash; the poller finds it by reference and issues
/// the payout (one `payout.created`, one `payout.available`); the retry replays that answer
/// and emits nothing.
async fn a_payout_issued_by_the_poller_emits_its_events_once_and_the_retry_replays_it(
    app: &TestApp,
) {
    let shop = shop(app).await;
    let id = accept_then_crash(app, &shop, "giro-crash-2")
        .await
        .payout_id();
    let order = order_at_the_network(app, id).await;

    poller_after_the_stuck_window(app).await;
    let payout = get(app, &shop, &format!("/v1/payouts/{id}")).await;
    assert_eq!(payout["status"], "available");
    let code = payout["pickup"]["code"].as_str().unwrap().replace(' ', "");
    assert_eq!(code, order.code);

    let (status, body) = post(app, &shop, "/v1/payouts", "giro-crash-2", &payout_body()).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["id"], id.to_string().as_str());
    assert_eq!(body["status"], "available");
    assert_eq!(
        events_of(app, &shop, id).await,
        ["payout.available", "payout.created"],
        "one event per change, however often the create is retried"
    );
    assert_eq!(available(app, &shop).await, (950_000, 50_000));
    ledger_balances(app).await;
}

/// A retry that had passed its claim before the poller failed the payout: the network issues
/// an order that no payout can take. It is canceled at the network at once, recorded as an
/// `orphan_network_order` exception with an alert, and the payout stays failed.
async fn an_order_issued_for_a_payout_that_failed_meanwhile_is_canceled_and_raised(app: &TestApp) {
    let shop = shop(app).await;
    let accepted = accept_then_crash(app, &shop, "giro-crash-3").await;
    let id = accepted.payout_id();
    poller_after_the_stuck_window(app).await;
    assert_eq!(
        get(app, &shop, &format!("/v1/payouts/{id}")).await["status"],
        "failed"
    );

    let response = payouts::issue(&app.server.state, accepted).await.unwrap();
    assert_eq!(
        response.status().as_u16(),
        424,
        "answers the payout as it stands"
    );

    let order = network_order_for(app, id).await.unwrap();
    assert_eq!(
        order.status,
        NetworkStatus::Canceled,
        "the orphan code can no longer be collected"
    );
    let orphans = exceptions_of_kind(app, exceptions::ORPHAN_NETWORK_ORDER, false).await;
    assert_eq!(orphans.len(), 1, "{orphans:?}");
    assert_eq!(orphans[0].object_id, id.to_string());
    assert_eq!(
        orphans[0].network_order_id.as_deref(),
        Some(order.network_order_id.as_str())
    );
    assert_eq!(orphans[0].status, "resolved");
    let events = get(app, &shop, "/v1/events?limit=100").await;
    assert!(
        events["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "alert.raised"
                && e["data"]["object"]["code"] == "orphan_network_order"),
        "{events}"
    );
    assert_eq!(
        events_of(app, &shop, id).await,
        ["payout.created", "payout.failed"]
    );
    assert_eq!(
        get(app, &shop, &format!("/v1/payouts/{id}")).await["status"],
        "failed"
    );
    assert_eq!(available(app, &shop).await, (1_000_000, 0));
    // The poller has nothing left to cancel.
    cajero_server::workers::poller::retry_orphan_cancels(&app.server.state)
        .await
        .unwrap();
    ledger_balances(app).await;
}

/// A genuine callback about an order we never recorded is answered 503 while its create may
/// still be committing; past `orders.unknown_callback_grace_ms` it is recorded once as a
/// `missing_in_cajero` exception (the cash it reports held in suspense) and answered 200, so
/// the network stops retrying and the operator sees it.
async fn a_callback_for_an_unknown_order_becomes_an_exception_after_the_grace_period(
    app: &TestApp,
) {
    let sim = app.server.state.networks.sim().unwrap().config().clone();
    let body = json!({"id": "cb_ghost", "type": "payout.paid", "created_at": "2025-11-24T16:00:00Z",
        "network": "efecty", "merchant_id": sim.merchant_id,
        "data": {"order": {"id": "pay_ghost", "object": "payout", "network": "efecty",
            "merchant_id": sim.merchant_id, "reference": "po_ghost", "status": "paid", "amount": 20000,
            "currency": "COP", "pickup_code": "1234567890", "pickup_code_display": "1234 5678 90",
            "beneficiary": {"name": "Luis Pérez", "document": {"type": "CC", "number": "1020304050"}},
            "created_at": "2025-11-24T16:00:00Z", "updated_at": "2025-11-24T16:00:00Z",
            "expires_at": "2025-11-27T16:00:00Z", "active_from": "2025-11-24T16:00:00Z",
            "paid_at": "2025-11-24T16:00:00Z", "paid_counter_id": "EF-BOG-001", "canceled_at": null,
            "expired_at": null, "wrong_code_attempts": 0, "attempts": []},
            "attempt": null}})
    .to_string();
    let send = || {
        let ts = jiff::Timestamp::now().as_second();
        let signature = cajero_sim::signing::sign_callback(&sim.secret, ts, body.as_bytes());
        app.http
            .post(app.url("/callbacks/sim"))
            .header("content-type", "application/json")
            .header("sim-callback-id", "cb_ghost")
            .header("sim-timestamp", ts.to_string())
            .header("sim-signature", signature)
            .body(body.clone())
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), 503, "{}", first.text().await.unwrap());
    app.clock.advance(SignedDuration::from_secs(5 * 60));
    assert_eq!(
        send().await.unwrap().status(),
        503,
        "still within the grace period"
    );

    app.clock.advance(SignedDuration::from_secs(6 * 60));
    let recorded = send().await.unwrap();
    assert_eq!(recorded.status(), 200, "{}", recorded.text().await.unwrap());
    assert_eq!(
        send().await.unwrap().status(),
        200,
        "a duplicate changes nothing"
    );
    let missing = exceptions_of_kind(app, exceptions::MISSING_IN_CAJERO, false).await;
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert_eq!(missing[0].network_order_id.as_deref(), Some("pay_ghost"));
    assert_eq!(missing[0].amount, 20_000);
    assert_eq!(missing[0].status, "open");
    assert_eq!(missing[0].merchant_id, None);
    ledger_balances(app).await;
}

/// Canceling an expired pick-up code at the network is an exchange like any other: its raw
/// request and answer are kept as evidence of the payout.
async fn canceling_an_expired_code_at_the_network_is_kept_as_evidence(app: &TestApp) {
    let shop = shop(app).await;
    let (status, payout) = post(app, &shop, "/v1/payouts", "giro-expiring", &payout_body()).await;
    assert_eq!(status, 201, "{payout}");
    let id = payout["id"].as_str().unwrap().to_string();
    app.clock.advance(SignedDuration::from_secs(8 * 24 * 3600));
    cajero_server::workers::expiry::run_once(&app.server.state)
        .await
        .unwrap();
    // `expired`, or `canceled` when the network's callback for our cancelation lands first.
    let status = get(app, &shop, &format!("/v1/payouts/{id}")).await["status"].clone();
    assert!(status == "expired" || status == "canceled", "{status}");
    let messages = app
        .server
        .state
        .store
        .read(move |mut c| {
            Box::pin(async move { cajero_store::network::messages_for(&mut c, &id).await })
        })
        .await
        .unwrap();
    assert!(
        messages
            .iter()
            .any(|(operation, direction, ..)| operation.contains("cancel")
                && direction == "outbound"),
        "{messages:?}"
    );
    let _ = shop.id;
}

/// Creating a webhook endpoint answers its signing secret once; the answer kept for replays
/// of its `Idempotency-Key` holds the secret sealed, like the endpoint's own row, and a replay
/// answers it in clear.
async fn a_signing_secret_in_a_stored_answer_is_sealed_and_replays_in_clear(app: &TestApp) {
    let shop = shop(app).await;
    let body = json!({"url": "http://127.0.0.1:9/hooks", "enabled_events": ["payout.*"]});
    let (status, created) = post(app, &shop, "/v1/webhook_endpoints", "hook-1", &body).await;
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{created}");

    let stored: Vec<(Option<String>,)> = app
        .server
        .state
        .store
        .read(|mut c| {
            Box::pin(async move {
                Ok::<_, cajero_store::StoreError>(cajero_store::fetch!(
                    all,
                    &mut c,
                    (Option<String>,),
                    "SELECT response_body FROM idempotency_keys WHERE idempotency_key = $1",
                    "hook-1"
                )?)
            })
        })
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    let kept = stored[0].0.clone().unwrap();
    let bare = secret.trim_start_matches("whsec_");
    assert!(
        !kept.contains(bare),
        "the stored answer holds the secret in clear: {kept}"
    );

    let response = app
        .http
        .post(app.url("/v1/webhook_endpoints"))
        .bearer_auth(&shop.key)
        .header("idempotency-key", "hook-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["idempotent-replayed"], "true");
    let replayed: Value = response.json().await.unwrap();
    assert_eq!(replayed["secret"], secret.as_str());
    assert_eq!(replayed["id"], created["id"]);
}

/// A network that forgets its own ids may answer a second payout with an order a first one
/// holds: the statement that attaches a code refuses it (an order never has two owners), and
/// attaches a fresh order as usual.
async fn an_order_another_payout_holds_is_never_attached_to_a_second(app: &TestApp) {
    let shop = shop(app).await;
    let (status, first) = post(app, &shop, "/v1/payouts", "giro-held-1", &payout_body()).await;
    assert_eq!(status, 201, "{first}");
    let first_id: PayoutId = first["id"].as_str().unwrap().parse().unwrap();
    let second = accept_then_crash(app, &shop, "giro-held-2")
        .await
        .payout_id();
    let merchant = shop.id;
    let (held, attached, fresh) = app
        .server
        .state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                let first = cajero_store::payouts::get(&mut c, merchant, Mode::Test, first_id)
                    .await?
                    .unwrap();
                let order_id = first.network_order_id.clone().unwrap();
                let at = cajero_store::payouts::IssuedAt {
                    network: &first.network,
                    route: &first.route,
                    routing_reason: None,
                };
                let expires = jiff::Timestamp::now() + SignedDuration::from_hours(24);
                let now = jiff::Timestamp::now();
                let attached = cajero_store::payouts::mark_issued(
                    &mut c,
                    second,
                    at,
                    &order_id,
                    "111122223333",
                    expires,
                    now,
                )
                .await?;
                let held =
                    cajero_store::payouts::get_by_network_order(&mut c, &first.network, &order_id)
                        .await?
                        .map(|p| p.id);
                let fresh = cajero_store::payouts::mark_issued(
                    &mut c,
                    second,
                    at,
                    "another-order",
                    "444455556666",
                    expires,
                    now,
                )
                .await?
                .and_then(|p| p.network_order_id);
                Ok::<_, cajero_store::StoreError>((held, attached.is_some(), fresh))
            })
        })
        .await
        .unwrap();
    assert!(
        !attached,
        "the second payout must not take the first one's order"
    );
    assert_eq!(held, Some(first_id), "the order keeps its one owner");
    assert_eq!(fresh.as_deref(), Some("another-order"));
}

/// The poller looks up a stuck payout by our reference and the network answers with an order
/// another payout already holds (a network that forgot its own ids): the stuck payout fails
/// (`network_error`) and its funds come back, the order keeps its one owner, and the client's
/// retry replays that failure.
async fn a_stuck_payout_answered_with_another_payouts_order_fails_and_frees_its_funds(
    app: &TestApp,
) {
    let shop = shop(app).await;
    let (status, first) = post(app, &shop, "/v1/payouts", "giro-reused-1", &payout_body()).await;
    assert_eq!(status, 201, "{first}");
    let first_id: PayoutId = first["id"].as_str().unwrap().parse().unwrap();
    let second = accept_then_crash(app, &shop, "giro-reused-2")
        .await
        .payout_id();
    assert_eq!(available(app, &shop).await, (900_000, 100_000));
    let taken = network_order_for(app, first_id).await.unwrap();
    let (taken_id, taken_network) = (taken.network_order_id.clone(), taken.network.clone());

    let state = &app.server.state;
    let (clock, url, merchant) = (state.clock.clone(), state.config.public_url(), shop.id);
    state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                let stuck = cajero_store::payouts::get(&mut c, merchant, Mode::Test, second)
                    .await?
                    .unwrap();
                payouts::resolve_stuck(&mut c, clock.as_ref(), &url, &stuck, Ok(taken)).await
            })
        })
        .await
        .unwrap();

    let failed = get(app, &shop, &format!("/v1/payouts/{second}")).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["failure_code"], "network_error", "{failed}");
    assert!(
        failed["pickup"].is_null(),
        "never the other payout's code: {failed}"
    );
    let held = get(app, &shop, &format!("/v1/payouts/{first_id}")).await;
    assert_eq!(held["status"], "available", "{held}");
    assert_eq!(available(app, &shop).await, (950_000, 50_000));
    let owner = state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                cajero_store::payouts::get_by_network_order(&mut c, &taken_network, &taken_id).await
            })
        })
        .await
        .unwrap()
        .map(|p| p.id);
    assert_eq!(owner, Some(first_id), "the order keeps its one owner");

    let (status, body) = post(app, &shop, "/v1/payouts", "giro-reused-2", &payout_body()).await;
    assert_eq!(status, 424, "the retry replays the failure: {body}");
    assert_eq!(body["error"]["code"], "network_order_conflict", "{body}");
    assert_eq!(body["error"]["type"], "network_error", "{body}");
    assert_eq!(body["error"]["payout"], second.to_string().as_str());
    assert!(
        matches!(
            network_order_for(app, second).await,
            Err(ConnectError::NotFound)
        ),
        "the retry did not send the failed payout to the network"
    );
    // The order is still live at the network for its owner, and a later poller pass changes
    // nothing.
    assert_eq!(
        network_order_for(app, first_id).await.unwrap().status,
        NetworkStatus::Available
    );
    poller_after_the_stuck_window(app).await;
    assert_eq!(
        get(app, &shop, &format!("/v1/payouts/{second}")).await["status"],
        "failed"
    );
    assert_eq!(available(app, &shop).await, (950_000, 50_000));
    assert_eq!(
        events_of(app, &shop, second).await,
        ["payout.created", "payout.failed"]
    );
    ledger_balances(app).await;
}

/// An orphan order whose first cancelation failed stays an open exception; past the overdue
/// threshold it raises `exception_overdue`. When the poller's retry cancels the order at the
/// network, the exception is resolved and so is its overdue alert: nothing stays open about an
/// order that no longer exists.
async fn an_orphan_order_canceled_only_by_the_poller_resolves_its_overdue_alert(app: &TestApp) {
    use cajero_domain::money::{Amount, Currency};
    let shop = shop(app).await;
    let id = accept_then_crash(app, &shop, "giro-crash-orphan")
        .await
        .payout_id();
    poller_after_the_stuck_window(app).await;
    assert_eq!(
        get(app, &shop, &format!("/v1/payouts/{id}")).await["status"],
        "failed"
    );
    // The retry's create reached the network after that, and the cancelation that followed
    // did not get through: the order is live and recorded as an open orphan, as
    // `payouts::issue` records it.
    let order = order_at_the_network(app, id).await;
    let exception_id = format!("exc_orphan_{id}");
    let (merchant, order_id, now) = (
        shop.id,
        order.network_order_id.clone(),
        cajero_server::clock::Clock::now(&app.clock),
    );
    let recorded = exception_id.clone();
    app.server
        .state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                let object_id = id.to_string();
                let exception = exceptions::NewException {
                    id: &recorded,
                    merchant_id: Some(merchant),
                    mode: Mode::Test,
                    kind: exceptions::ORPHAN_NETWORK_ORDER,
                    object_id: &object_id,
                    amount: Amount::new(50_000).unwrap(),
                    currency: Currency::Cop,
                    network: Some("efecty"),
                    network_order_id: Some(&order_id),
                    detail: Some("the network issued an order for a failed payout"),
                };
                exceptions::record(&mut c, &exception, now).await
            })
        })
        .await
        .unwrap();

    app.clock.advance(SignedDuration::from_hours(49));
    let state = &app.server.state;
    let after = SignedDuration::from_hours(48);
    assert_eq!(
        cajero_server::reconciliation::alert_overdue(&state.store, &state.clock, after)
            .await
            .unwrap(),
        1
    );
    let overdue = |event_type: &'static str| {
        let exception_id = exception_id.clone();
        let shop = &shop;
        async move {
            get(
                app,
                shop,
                &format!("/v1/events?limit=100&type={event_type}"),
            )
            .await["data"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| {
                    e["data"]["object"]["code"] == "exception_overdue"
                        && e["data"]["object"]["subject"] == exception_id.as_str()
                })
                .count()
        }
    };
    assert_eq!(overdue("alert.raised").await, 1);
    assert_eq!(overdue("alert.resolved").await, 0);

    assert_eq!(
        cajero_server::workers::poller::retry_orphan_cancels(state)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        network_order_for(app, id).await.unwrap().status,
        NetworkStatus::Canceled
    );
    let open = exceptions_of_kind(app, exceptions::ORPHAN_NETWORK_ORDER, true).await;
    assert!(open.is_empty(), "{open:?}");
    assert_eq!(
        overdue("alert.resolved").await,
        1,
        "the overdue alert goes with its exception"
    );
    ledger_balances(app).await;
}
