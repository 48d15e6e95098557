//! Webhook delivery through real HTTP to a receiver that checks every request with the
//! official Standard Webhooks library, driven by `run_once` and the manual clock.

use std::collections::BTreeMap;

use cajero_domain::webhook::RETRY_SCHEDULE_S;
use cajero_server::workers::webhooks::WebhookWorker;
use cajero_store::webhook_deliveries::{self, ClaimRequest};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::receiver::{Behaviour, Receiver, verifies};
use crate::webhook_support::Ctx;

crate::webhook_tests!(
    every_delivery_is_signed_and_verifies_with_the_official_library,
    a_tampered_body_or_a_stale_timestamp_fails_verification,
    failures_follow_the_retry_schedule_with_jitter_then_stop,
    retry_after_lengthens_the_wait_within_bounds,
    gone_disables_the_endpoint_and_announces_it,
    five_days_of_only_failures_disable_the_endpoint,
    a_success_resets_the_five_day_count,
    a_flaky_receiver_gets_every_event,
    two_workers_never_deliver_the_same_attempt_at_once,
    a_crashed_workers_lease_runs_out_and_another_takes_over,
    after_a_rotation_both_secrets_sign_for_a_day,
    deliveries_in_flight_to_one_endpoint_are_bounded,
    live_deliveries_are_refused_at_delivery_time_for_private_addresses,
    resend_and_recover_start_new_rounds,
    metrics_count_deliveries_per_endpoint,
);

fn at(raw: &Value) -> Timestamp {
    raw.as_str().unwrap().parse().unwrap()
}

async fn every_delivery_is_signed_and_verifies_with_the_official_library(ctx: &Ctx) {
    let receiver = Receiver::start(true).await;
    let endpoint = ctx.receiver_endpoint(&receiver, &["payout.*"]).await;
    let paid = ctx.emit("payout.paid").await;
    let failed = ctx.emit("payout.failed").await;
    ctx.emit("payin.paid").await; // not subscribed

    let stats = ctx.run().await;

    assert_eq!((stats.attempted, stats.succeeded), (2, 2));
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert!(received.iter().all(|r| r.verified), "{received:?}");
    let ids: Vec<&str> = received.iter().map(|r| r.id.as_str()).collect();
    assert!(ids.contains(&paid.as_str()) && ids.contains(&failed.as_str()));
    for r in &received {
        // The real time of sending (here the manual clock starts at the real time).
        let real = Timestamp::now().as_second();
        assert!((real - 60..=real).contains(&r.timestamp), "{}", r.timestamp);
        assert_eq!(r.headers["content-type"], "application/json");
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["id"], r.id.as_str());
        assert_eq!(body["livemode"], false);
        assert_eq!(body["data"]["object"]["object"], "payout");
        assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
    }
    let delivery = ctx.delivery(&paid, &endpoint).await;
    assert_eq!(delivery["status"], "succeeded");
    let attempt = &delivery["attempts"][0];
    assert_eq!(attempt["status_code"], 200);
    assert_eq!(attempt["response_body"], "answered 200");
    assert!(attempt["duration_ms"].as_i64().unwrap() >= 0);
    // Nothing more is due.
    assert_eq!(ctx.run().await.attempted, 0);
}

async fn a_tampered_body_or_a_stale_timestamp_fails_verification(ctx: &Ctx) {
    let receiver = Receiver::start(true).await;
    let (_, secret) = ctx.endpoint(&receiver.url, &["*"]).await;
    receiver.trust(&secret);
    ctx.emit("payin.paid").await;
    ctx.run().await;
    let good = receiver.received().pop().unwrap();
    let secrets = vec![secret.clone()];
    assert!(verifies(&secrets, &good.headers, &good.body, true));

    let mut tampered = good.body.to_vec();
    let at = tampered.iter().position(|b| *b == b'{').unwrap() + 1;
    tampered.insert(at, b' ');
    assert!(!verifies(&secrets, &good.headers, &tampered, true));
    assert!(!verifies(
        &["whsec_".to_string() + "A".repeat(43).as_str() + "="],
        &good.headers,
        &good.body,
        true
    ));

    // The same delivery replayed ten minutes later (cajero always stamps the real time of
    // sending, so only a replay can be stale): the signature is right, the timestamp refused.
    let stale_at = good.timestamp - 600;
    let signature = standardwebhooks::Webhook::new(&secret)
        .unwrap()
        .sign(&good.id, stale_at, &good.body)
        .unwrap();
    let mut stale = good.headers.clone();
    stale.insert("webhook-timestamp", stale_at.to_string().parse().unwrap());
    stale.insert("webhook-signature", signature.parse().unwrap());
    assert!(!verifies(&secrets, &stale, &good.body, true));
    assert!(verifies(&secrets, &stale, &good.body, false));
}

async fn failures_follow_the_retry_schedule_with_jitter_then_stop(ctx: &Ctx) {
    let receiver = Receiver::start(false).await;
    receiver.behave(Behaviour::Status(500, None));
    let endpoint = ctx.receiver_endpoint(&receiver, &["*"]).await;
    let event = ctx.emit("payout.paid").await;

    for attempt in 1..=RETRY_SCHEDULE_S.len() {
        let stats = ctx.run().await;
        assert_eq!(stats.attempted, 1, "attempt {attempt}");
        let delivery = ctx.delivery(&event, &endpoint).await;
        assert_eq!(delivery["attempt_count"], attempt);
        if attempt == RETRY_SCHEDULE_S.len() {
            assert_eq!(delivery["status"], "failed");
            assert_eq!(delivery["next_attempt_at"], Value::Null);
            break;
        }
        assert_eq!(delivery["status"], "pending");
        let wait = at(&delivery["next_attempt_at"])
            .duration_since(ctx.now())
            .as_secs();
        let scheduled = *RETRY_SCHEDULE_S.get(attempt).unwrap();
        // ±20 % jitter; times are shown to the second.
        assert!(
            wait >= scheduled * 8 / 10 - 1 && wait <= scheduled * 12 / 10 + 1,
            "attempt {attempt}: waited {wait}s for {scheduled}s"
        );
        // Not a moment before it is due.
        ctx.advance(wait - 2);
        assert_eq!(ctx.run().await.attempted, 0, "attempt {attempt} came early");
        ctx.advance(3);
    }
    assert_eq!(receiver.received().len(), RETRY_SCHEDULE_S.len());
    assert!(
        receiver
            .received()
            .iter()
            .all(|r| r.verified && r.id == event)
    );
    ctx.advance(86_400);
    assert_eq!(ctx.run().await.attempted, 0);
}

async fn retry_after_lengthens_the_wait_within_bounds(ctx: &Ctx) {
    let receiver = Receiver::start(false).await;
    let endpoint = ctx.receiver_endpoint(&receiver, &["*"]).await;
    for (retry_after, expected_s) in [("120", 120), ("604800", 36_000), ("1", 5)] {
        receiver.behave(Behaviour::Status(503, Some(retry_after.into())));
        let event = ctx.emit("payin.paid").await;
        ctx.run().await;
        let delivery = ctx.delivery(&event, &endpoint).await;
        let wait = at(&delivery["next_attempt_at"])
            .duration_since(ctx.now())
            .as_secs();
        // After the first failure the schedule says 5 s (4–6 s with jitter).
        let low = if expected_s == 5 { 3 } else { expected_s };
        assert!(
            wait >= low && wait <= expected_s + 2,
            "Retry-After {retry_after}: {wait}s"
        );
        receiver.behave(Behaviour::Accept);
        ctx.advance(wait + 1);
        ctx.run().await;
        assert_eq!(ctx.delivery(&event, &endpoint).await["status"], "succeeded");
    }
}

async fn gone_disables_the_endpoint_and_announces_it(ctx: &Ctx) {
    let gone = Receiver::start(false).await;
    gone.behave(Behaviour::Status(410, None));
    let watcher = Receiver::start(false).await;
    let gone_id = ctx.receiver_endpoint(&gone, &["payin.*"]).await;
    ctx.receiver_endpoint(&watcher, &["webhook_endpoint.disabled"])
        .await;
    let first = ctx.emit("payin.paid").await;
    let second = ctx.emit("payin.expired").await;

    let stats = ctx.run().await;

    assert_eq!(stats.endpoints_disabled, 1);
    let endpoint = ctx.get(&format!("/v1/webhook_endpoints/{gone_id}")).await;
    assert_eq!(endpoint["status"], "disabled");
    assert_eq!(endpoint["disabled_reason"], "gone");
    for event in [&first, &second] {
        assert_eq!(ctx.delivery(event, &gone_id).await["status"], "failed");
    }
    // The announcement goes to the endpoints that subscribe to it.
    ctx.run().await;
    let announced = watcher.received();
    assert_eq!(announced.len(), 1);
    let body: Value = serde_json::from_slice(&announced[0].body).unwrap();
    assert_eq!(body["type"], "webhook_endpoint.disabled");
    assert_eq!(body["data"]["object"]["id"], gone_id.as_str());
    assert_eq!(body["data"]["object"]["disabled_reason"], "gone");
    assert!(body["data"]["object"].get("secret").is_none());
    // Later events skip it.
    let later = ctx.emit("payin.paid").await;
    assert_eq!(ctx.run().await.attempted, 0);
    assert_eq!(ctx.delivery(&later, &gone_id).await["status"], "skipped");
}

/// Emits an event every 12 hours for `days` while the receiver fails, driving the worker.
async fn fail_for(ctx: &Ctx, days: i64) {
    for _ in 0..days * 2 {
        ctx.emit("payin.paid").await;
        for _ in 0..12 {
            ctx.run().await;
            ctx.advance(3_600);
        }
    }
}

async fn five_days_of_only_failures_disable_the_endpoint(ctx: &Ctx) {
    let receiver = Receiver::start(false).await;
    receiver.behave(Behaviour::Status(500, None));
    let endpoint = ctx.receiver_endpoint(&receiver, &["payin.*"]).await;
    let path = format!("/v1/webhook_endpoints/{endpoint}");

    fail_for(ctx, 4).await;
    assert_eq!(ctx.get(&path).await["status"], "enabled");
    fail_for(ctx, 1).await;
    // Five days after the first failure, one more failure disables it.
    ctx.emit("payin.paid").await;
    ctx.run().await;

    let disabled = ctx.get(&path).await;
    assert_eq!(disabled["status"], "disabled");
    assert_eq!(disabled["disabled_reason"], "failing");
    let events = ctx.get("/v1/events?type=webhook_endpoint.disabled").await;
    assert_eq!(events["data"].as_array().unwrap().len(), 1);
    assert_eq!(events["data"][0]["data"]["object"]["id"], endpoint.as_str());
}

async fn a_success_resets_the_five_day_count(ctx: &Ctx) {
    let receiver = Receiver::start(false).await;
    receiver.behave(Behaviour::Status(500, None));
    let endpoint = ctx.receiver_endpoint(&receiver, &["payin.*"]).await;
    fail_for(ctx, 4).await;
    receiver.behave(Behaviour::Accept);
    ctx.emit("payin.paid").await;
    ctx.run().await;
    receiver.behave(Behaviour::Status(500, None));
    fail_for(ctx, 3).await;
    let status = ctx.get(&format!("/v1/webhook_endpoints/{endpoint}")).await;
    assert_eq!(status["status"], "enabled");
}

async fn a_flaky_receiver_gets_every_event(ctx: &Ctx) {
    let receiver = Receiver::start(false).await;
    receiver.behave(Behaviour::Flaky {
        fail_percent: 40,
        hang_percent: 10,
        hang_ms: crate::webhook_support::TEST_TIMEOUT_MS * 3,
    });
    let endpoint = ctx.receiver_endpoint(&receiver, &["*"]).await;
    let start = ctx.now();
    let mut events = std::collections::BTreeSet::new();
    for i in 0..30 {
        let kind = ["payin.paid", "payout.paid", "refund.succeeded"][i % 3];
        events.insert(ctx.emit(kind).await);
    }
    // Drive the worker through the schedule; a delivery whose whole schedule failed is
    // recovered, as a merchant would.
    for _ in 0..50 {
        if receiver.accepted_ids().is_superset(&events) {
            break;
        }
        ctx.run().await;
        ctx.advance(13 * 3_600);
        let recovered = ctx
            .post(
                &format!("/v1/webhook_endpoints/{endpoint}/recover"),
                json!({"since": start.as_second()}),
            )
            .await;
        assert_eq!(recovered.status(), 200);
    }
    assert!(
        receiver.accepted_ids().is_superset(&events),
        "some events were never delivered"
    );
    assert!(receiver.received().iter().all(|r| r.verified));
    let hung = receiver
        .received()
        .iter()
        .filter(|r| r.answered == 0)
        .count();
    let failed = receiver
        .received()
        .iter()
        .filter(|r| r.answered == 500)
        .count();
    eprintln!("flaky receiver: {failed} failures, {hung} hangs past the timeout");
}

async fn two_workers_never_deliver_the_same_attempt_at_once(ctx: &Ctx) {
    let receiver = Receiver::start(true).await;
    ctx.receiver_endpoint(&receiver, &["*"]).await;
    for _ in 0..40 {
        ctx.emit("payout.paid").await;
    }
    let other = WebhookWorker::new(&ctx.app.server.state).unwrap();
    let mut attempted = 0;
    for _ in 0..10 {
        let now = ctx.now();
        let (a, b) = tokio::join!(ctx.worker.run_once(now), other.run_once(now));
        let round = a.unwrap().attempted + b.unwrap().attempted;
        if round == 0 {
            break;
        }
        attempted += round;
    }
    assert_eq!(attempted, 40);
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for r in receiver.received() {
        assert!(r.verified);
        *seen.entry(r.id).or_default() += 1;
    }
    assert_eq!(seen.len(), 40);
    assert!(seen.values().all(|n| *n == 1), "{seen:?}");
}

async fn a_crashed_workers_lease_runs_out_and_another_takes_over(ctx: &Ctx) {
    let receiver = Receiver::start(false).await;
    let endpoint = ctx.receiver_endpoint(&receiver, &["*"]).await;
    let event = ctx.emit("payout.paid").await;
    // A worker claims the delivery and dies before sending it.
    let now = ctx.now();
    let lease_until = now.checked_add(SignedDuration::from_secs(60)).unwrap();
    let claimed = ctx
        .app
        .server
        .state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                let request = ClaimRequest {
                    now,
                    lease_until,
                    token: "crashed",
                    holder: None,
                    limit: 10,
                    per_endpoint_max: 10,
                };
                webhook_deliveries::claim_due(&mut c, &request).await
            })
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);

    assert_eq!(ctx.run().await.attempted, 0, "a live lease is respected");
    ctx.advance(61);
    assert_eq!(ctx.run().await.attempted, 1);

    assert_eq!(receiver.accepted_ids().len(), 1);
    assert_eq!(ctx.delivery(&event, &endpoint).await["status"], "succeeded");
}

async fn after_a_rotation_both_secrets_sign_for_a_day(ctx: &Ctx) {
    let receiver = Receiver::start(false).await;
    let (endpoint, old) = ctx.endpoint(&receiver.url, &["*"]).await;
    let rotated = ctx
        .post(
            &format!("/v1/webhook_endpoints/{endpoint}/rotate_secret"),
            json!({}),
        )
        .await;
    assert_eq!(rotated.status(), 200);
    let new = rotated.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(old, new);

    ctx.emit("payin.paid").await;
    ctx.run().await;
    let r = receiver.received().pop().unwrap();
    assert_eq!(r.signature.split(' ').count(), 2);
    assert!(verifies(
        std::slice::from_ref(&old),
        &r.headers,
        &r.body,
        false
    ));
    assert!(verifies(
        std::slice::from_ref(&new),
        &r.headers,
        &r.body,
        false
    ));

    ctx.advance(24 * 3_600 + 1);
    ctx.emit("payin.paid").await;
    ctx.run().await;
    let r = receiver.received().pop().unwrap();
    assert_eq!(r.signature.split(' ').count(), 1);
    assert!(!verifies(&[old], &r.headers, &r.body, false));
    assert!(verifies(&[new], &r.headers, &r.body, false));
}

async fn deliveries_in_flight_to_one_endpoint_are_bounded(ctx: &Ctx) {
    let busy = Receiver::start(false).await;
    busy.behave(Behaviour::Slow(crate::webhook_support::TEST_TIMEOUT_MS / 3));
    let quiet = Receiver::start(false).await;
    ctx.receiver_endpoint(&busy, &["payout.*"]).await;
    ctx.receiver_endpoint(&quiet, &["payin.*"]).await;
    let per_endpoint = ctx
        .app
        .server
        .state
        .config
        .webhooks
        .endpoint_concurrency_max as usize;
    for _ in 0..per_endpoint + 10 {
        ctx.emit("payout.paid").await;
    }
    ctx.emit("payin.paid").await;
    // Two workers claim at once: together they never hold more than the endpoint's bound in
    // flight, and the other endpoint is not starved behind the busy one.
    let other = WebhookWorker::new(&ctx.app.server.state).unwrap();
    for _ in 0..10 {
        let now = ctx.now();
        let (a, b) = tokio::join!(ctx.worker.run_once(now), other.run_once(now));
        if a.unwrap().attempted + b.unwrap().attempted == 0 {
            break;
        }
    }
    assert_eq!(quiet.received().len(), 1);
    assert_eq!(busy.accepted_ids().len(), per_endpoint + 10);
    let most = busy.in_flight_max();
    assert!(
        most <= per_endpoint,
        "{most} in flight at once, bound {per_endpoint}"
    );
    assert!(
        most > 1,
        "the deliveries were not concurrent: the test proves nothing"
    );
}

async fn live_deliveries_are_refused_at_delivery_time_for_private_addresses(ctx: &Ctx) {
    use cajero_store::webhooks::{EndpointRecord, EndpointStatus, SigningSecret};
    let receiver = Receiver::start(false).await;
    // An endpoint saved before the rules refused it (written to the store directly): live,
    // pointing at loopback.
    let id = cajero_server::clock::new_id(ctx.app.server.state.clock.as_ref());
    let record = EndpointRecord {
        id,
        merchant_id: ctx.merchant,
        livemode: true,
        url: receiver
            .url
            .replace("http://127.0.0.1", "https://127.0.0.1"),
        description: None,
        enabled_events: vec!["*".parse().unwrap()],
        metadata: BTreeMap::new(),
        status: EndpointStatus::Enabled,
        disabled_reason: None,
        secret: cajero_server::webhook::endpoints::seal(
            &ctx.app.server.state.secrets,
            &SigningSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()),
        ),
        previous_secret: None,
        previous_secret_expires_at: None,
        failing_since: None,
        created_at: ctx.now(),
        updated_at: ctx.now(),
    };
    let (merchant, now) = (ctx.merchant, ctx.now());
    let event_id = cajero_server::clock::new_id(ctx.app.server.state.clock.as_ref());
    ctx.app
        .server
        .state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                cajero_store::webhooks::insert_endpoint(&mut c, &record).await?;
                cajero_store::events::emit(
                    &mut c,
                    merchant,
                    true,
                    cajero_domain::webhook::EventType::PayoutPaid,
                    &json!({"object": "payout"}),
                    event_id,
                    now,
                )
                .await
            })
        })
        .await
        .unwrap();
    let stats = ctx.run().await;
    assert_eq!((stats.attempted, stats.failed), (1, 1));
    assert!(receiver.received().is_empty());
    let (_, attempts) = ctx
        .app
        .server
        .state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                webhook_deliveries::deliveries_of_event(&mut c, merchant, true, event_id).await
            })
        })
        .await
        .unwrap();
    let error = attempts[0].error.clone().unwrap();
    assert!(error.starts_with("url_blocked"), "{error}");
}

async fn resend_and_recover_start_new_rounds(ctx: &Ctx) {
    let receiver = Receiver::start(false).await;
    receiver.behave(Behaviour::Status(500, None));
    let endpoint = ctx.receiver_endpoint(&receiver, &["*"]).await;
    let early = ctx.emit("payin.paid").await;
    ctx.advance(3_600);
    let middle = ctx.now();
    let late = ctx.emit("payin.paid").await;
    // Exhaust both schedules (eight attempts; well within five days of failures).
    for _ in 0..8 {
        ctx.run().await;
        ctx.advance(13 * 3_600);
    }
    assert_eq!(ctx.delivery(&early, &endpoint).await["status"], "failed");
    assert_eq!(ctx.delivery(&late, &endpoint).await["status"], "failed");
    receiver.behave(Behaviour::Accept);

    // Recover only the later event's range.
    let recovered = ctx
        .post(
            &format!("/v1/webhook_endpoints/{endpoint}/recover"),
            json!({"since": middle.to_string(), "until": middle.checked_add(SignedDuration::from_secs(60)).unwrap().to_string()}),
        )
        .await;
    assert_eq!(recovered.status(), 200);
    assert_eq!(
        recovered.json::<Value>().await.unwrap()["deliveries_queued"],
        1
    );
    ctx.run().await;
    assert_eq!(ctx.delivery(&late, &endpoint).await["status"], "succeeded");
    assert_eq!(ctx.delivery(&early, &endpoint).await["status"], "failed");

    // Resend the other one.
    let resent = ctx
        .post(&format!("/v1/events/{early}/resend"), json!({}))
        .await;
    assert_eq!(resent.status(), 200);
    ctx.run().await;
    let delivery = ctx.delivery(&early, &endpoint).await;
    assert_eq!(delivery["status"], "succeeded");
    assert_eq!(delivery["attempt_count"], RETRY_SCHEDULE_S.len() + 1);
    let last = delivery["attempts"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["attempt"], RETRY_SCHEDULE_S.len() + 1);
    assert_eq!(last["status_code"], 200);
}

async fn metrics_count_deliveries_per_endpoint(ctx: &Ctx) {
    let receiver = Receiver::start(false).await;
    let endpoint = ctx.receiver_endpoint(&receiver, &["*"]).await;
    ctx.emit("payin.paid").await;
    ctx.run().await;
    let text = ctx
        .app
        .http
        .get(ctx.app.url("/metrics"))
        .bearer_auth(crate::helpers::METRICS_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = text
        .lines()
        .find(|l| {
            l.starts_with("cajero_webhook_deliveries_total")
                && l.contains(&endpoint)
                && l.contains("succeeded")
        })
        .unwrap_or_else(|| panic!("no delivery counter for {endpoint} in:\n{text}"));
    assert!(line.ends_with(" 1"), "{line}");
    assert!(text.contains("cajero_webhook_delivery_duration_seconds_bucket"));
}
