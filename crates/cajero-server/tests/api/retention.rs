//! The data lifecycle: what the purge worker deletes once its retention ends, and what it
//! keeps (accounting records, pending deliveries, idempotency records within their window).

use cajero_server::workers::purge::{self, PurgeReport};
use serde_json::{Value, json};

use crate::receiver::{Behaviour, Receiver};
use crate::webhook_support::{Ctx, post_ok};

crate::webhook_tests!(
    idempotency_records_replay_within_their_window_and_are_purged_after_it,
    events_past_retention_are_purged_unless_a_delivery_is_pending,
    network_evidence_outlives_events_and_orders_outlive_everything,
);

const HOUR_S: i64 = 3_600;
const DAY_S: i64 = 24 * HOUR_S;

async fn purge(ctx: &Ctx) -> PurgeReport {
    let report = purge::run_once(&ctx.app.server.state).await.unwrap();
    assert!(report.leased, "the only instance holds the purge lease");
    report
}

async fn topup(ctx: &Ctx, key: &str) -> reqwest::Response {
    ctx.app
        .http
        .post(ctx.app.url("/v1/topups"))
        .bearer_auth(&ctx.key)
        .header("idempotency-key", key)
        .json(&json!({"amount": 50_000, "currency": "COP"}))
        .send()
        .await
        .unwrap()
}

async fn available(ctx: &Ctx) -> i64 {
    ctx.get("/v1/balance").await["available"][0]["amount"]
        .as_i64()
        .unwrap()
}

async fn event_status(ctx: &Ctx, id: &str) -> u16 {
    ctx.app
        .get_with_key(&format!("/v1/events/{id}"), &ctx.key)
        .await
        .status()
        .as_u16()
}

async fn idempotency_records_replay_within_their_window_and_are_purged_after_it(ctx: &Ctx) {
    let first = topup(ctx, "topup-1").await;
    assert_eq!(first.status(), 201);
    let first_body = first.bytes().await.unwrap();

    // 23 hours later the record is within its 24-hour window: kept, and replayed byte for byte.
    ctx.advance(23 * HOUR_S);
    assert_eq!(purge(ctx).await.idempotency_keys, 0);
    let replay = topup(ctx, "topup-1").await;
    assert_eq!(replay.status(), 201);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.bytes().await.unwrap(), first_body);
    assert_eq!(available(ctx).await, 50_000);

    // Past the window the record is purged, and the same key runs as a new request.
    ctx.advance(2 * HOUR_S);
    assert_eq!(purge(ctx).await.idempotency_keys, 1);
    let again = topup(ctx, "topup-1").await;
    assert_eq!(again.status(), 201);
    assert!(again.headers().get("idempotent-replayed").is_none());
    let again: Value = again.json().await.unwrap();
    let first: Value = serde_json::from_slice(&first_body).unwrap();
    assert_ne!(again["id"], first["id"]);
    assert_eq!(available(ctx).await, 100_000);

    // The top-ups themselves (accounting records) are never purged.
    ctx.advance(400 * DAY_S);
    purge(ctx).await;
    let kept = ctx
        .get(&format!("/v1/topups/{}", first["id"].as_str().unwrap()))
        .await;
    assert_eq!(kept["amount"], 50_000);
    assert_eq!(available(ctx).await, 100_000);
}

async fn events_past_retention_are_purged_unless_a_delivery_is_pending(ctx: &Ctx) {
    let receiver = Receiver::start(false).await;
    ctx.receiver_endpoint(&receiver, &["*"]).await;
    let delivered = ctx.emit("payout.paid").await;
    assert_eq!(ctx.run().await.succeeded, 1);
    receiver.behave(Behaviour::Status(500, None));
    let retrying = ctx.emit("payout.paid").await;
    assert_eq!(ctx.run().await.failed, 1);

    // 89 days on, both are within the 90-day retention.
    ctx.advance(89 * DAY_S);
    assert_eq!(purge(ctx).await.events.total(), 0);
    assert_eq!(event_status(ctx, &delivered).await, 200);

    // 91 days on: the delivered event goes with its delivery and attempt; the one still
    // retrying stays, with its attempts, until its delivery ends.
    ctx.advance(2 * DAY_S);
    let report = purge(ctx).await;
    assert_eq!(report.events.events, 1, "{report:?}");
    assert_eq!(report.events.deliveries, 1, "{report:?}");
    assert_eq!(report.events.attempts, 1, "{report:?}");
    assert_eq!(event_status(ctx, &delivered).await, 404);
    let kept = ctx.get(&format!("/v1/events/{retrying}")).await;
    assert_eq!(kept["deliveries"][0]["status"], "pending", "{kept}");
    assert_eq!(
        kept["deliveries"][0]["attempts"].as_array().unwrap().len(),
        1
    );

    // Once delivered, it is past its retention too.
    receiver.behave(Behaviour::Accept);
    assert_eq!(ctx.run().await.succeeded, 1);
    let report = purge(ctx).await;
    assert_eq!(report.events.events, 1, "{report:?}");
    assert_eq!(report.events.attempts, 2, "{report:?}");
    assert_eq!(event_status(ctx, &retrying).await, 404);
    assert_eq!(purge(ctx).await.total(), 0, "nothing left to purge");
}

async fn network_evidence_outlives_events_and_orders_outlive_everything(ctx: &Ctx) {
    let clock = crate::webhook_support::daytime_clock(ctx).await;
    let body = json!({"amount": 150_000, "currency": "COP", "reference": "order-1",
        "customer": {"name": "Ana Gómez", "email": "ana@example.com", "phone": "+573001234567",
                     "document": {"type": "CC", "number": "1020304050"}}, "test_clock": clock});
    let payin = post_ok(ctx, "/v1/payins", "payin-1", body).await;
    let id = payin["id"].as_str().unwrap().to_string();
    let path = format!("/v1/test_helpers/payins/{id}/pay");
    let paid = post_ok(ctx, &path, "pay-1", json!({})).await;
    assert_eq!(paid["payin"]["status"], "paid", "{paid}");
    let evidence = || {
        let id = id.clone();
        ctx.app.server.state.store.read(move |mut c| {
            Box::pin(async move { cajero_store::network::messages_for(&mut c, &id).await })
        })
    };
    let exchanges = evidence().await.unwrap();
    assert!(!exchanges.is_empty());
    assert!(
        exchanges
            .iter()
            .any(|(_, _, request, _, _)| request.contains(&id)),
        "evidence reads back whole: {exchanges:?}"
    );

    // 91 days: events are gone, evidence is kept (395 days).
    ctx.advance(91 * DAY_S);
    let report = purge(ctx).await;
    assert!(report.events.events >= 2, "{report:?}");
    assert_eq!(report.evidence, 0, "{report:?}");
    assert_eq!(evidence().await.unwrap(), exchanges);

    // 396 days: the evidence is gone too; the pay-in and the books are not.
    ctx.advance(305 * DAY_S);
    assert!(purge(ctx).await.evidence >= exchanges.len() as u64);
    assert!(evidence().await.unwrap().is_empty());
    let kept = ctx.get(&format!("/v1/payins/{id}")).await;
    assert_eq!(kept["status"], "paid");
    assert_eq!(kept["amount"], 150_000);
    let store = &ctx.app.server.state.store;
    let report = cajero_server::ledger_workers::check_once(store, ctx.now())
        .await
        .unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert!(report.transfers > 0);
}
