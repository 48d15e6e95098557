//! Live mode through the gateways (issue 13): a server configured with `[[networks]]` entries
//! whose base URLs are the simulator's gateway dialects, so that the production connectors
//! (dLocal, PayU, Kushki) run end to end — create, counter, the gateway's own signed
//! notification to `/callbacks/{name}`, the order paid — on SQLite and PostgreSQL. Also: what
//! live mode answers without a network, routing by priority with failover that never passes an
//! order on after the first network may have accepted it, and secrets that appear nowhere.

use cajero_domain::merchant::Mode;
use cajero_domain::money::Amount;
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::helpers::{Engine, assert_error};
pub(crate) use crate::live_support::*;

crate::live_engines!(
    a_live_payin_through_dlocal_is_paid_by_dlocals_notification,
    live_mode_names_the_network_it_lacks,
    a_state_dlocal_does_not_document_holds_the_order_for_review,
);

/// Every gateway at once, on both engines.
mod gateways {
    use super::*;

    async fn each_engine(test: impl AsyncFn(&Live)) {
        for engine in [Engine::Sqlite, Engine::Postgres] {
            let Some(live) = Live::start(engine, Routes::All).await else {
                eprintln!("skipped {engine:?}: set CAJERO_TEST_POSTGRES_URL");
                continue;
            };
            test(&live).await;
            live.app.server.stop().await.unwrap();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_live_payin_at_sured_goes_through_payu_and_its_confirmation_pays_it() {
        each_engine(async |live| {
            let mut body = payin_body(60_000);
            body["network"] = json!("sured");
            let payin = live.created("/v1/payins", "payu-sured-1", body).await;
            assert_eq!(payin["network"], "sured", "{payin}");
            let id = payin["id"].as_str().unwrap();
            live.pay("SR-BOG-001", &payin, 60_000).await;
            let now = live.get(&format!("/v1/payins/{id}")).await;
            assert_eq!(now["status"], "paid", "{now}");
            let evidence = live.evidence(id).await.join("\n");
            assert!(evidence.contains("SUBMIT_TRANSACTION"), "{evidence}");
            assert!(evidence.contains("sign=[redacted]"), "{evidence}");
            Live::assert_no_secret("evidence", &evidence);
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_payin_over_the_first_routes_limit_goes_to_the_next_by_priority() {
        each_engine(async |live| {
            // dLocal (priority 10) takes up to 100,000 here: 80,000 goes to dLocal, 150,000
            // to PayU (20), never to Kushki (30).
            let small = live
                .created("/v1/payins", "small", payin_body(80_000))
                .await;
            let big = live.created("/v1/payins", "big", payin_body(150_000)).await;
            let small_evidence = live
                .evidence(small["id"].as_str().unwrap())
                .await
                .join("\n");
            let big_evidence = live.evidence(big["id"].as_str().unwrap()).await.join("\n");
            assert!(
                small_evidence.contains("/dlocal/payments"),
                "{small_evidence}"
            );
            assert!(
                big_evidence.contains("SUBMIT_TRANSACTION"),
                "{big_evidence}"
            );
            live.pay(COUNTER, &big, 150_000).await;
            let id = big["id"].as_str().unwrap();
            assert_eq!(
                live.get(&format!("/v1/payins/{id}")).await["status"],
                "paid"
            );
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_live_payout_goes_through_kushki_and_its_webhook_pays_it() {
        each_engine(async |live| {
            live.fund(1_000_000).await;
            let payout = live
                .created(
                    "/v1/payouts",
                    "kushki-payout-1",
                    json!({"amount": 200_000, "currency": "COP", "reference": "giro-1",
                           "beneficiary": {"name": "Luis Alberto Pérez Gómez",
                                           "document": {"type": "CC", "number": "79876543"},
                                           "phone": "+573009876543"}}),
                )
                .await;
            assert_eq!(payout["status"], "available", "{payout}");
            let id = payout["id"].as_str().unwrap();
            let code = payout["pickup"]["code"].as_str().unwrap().replace(' ', "");
            let collected = live
                .control
                .collect(COUNTER, &code, "79876543")
                .await
                .unwrap();
            assert!(
                format!("{collected:?}").contains("pproved"),
                "{collected:?}"
            );
            live.control.flush_callbacks(true).await.unwrap();
            let now = live.get(&format!("/v1/payouts/{id}")).await;
            assert_eq!(now["status"], "paid", "{now}");
            let evidence = live.evidence(id).await.join("\n");
            assert!(evidence.contains("/payouts/cash/v1/init"), "{evidence}");
            Live::assert_no_secret("evidence", &evidence);

            // A second payout, canceled by the merchant: canceled at Kushki too.
            let other = live
                .created(
                    "/v1/payouts",
                    "kushki-payout-2",
                    json!({"amount": 50_000, "currency": "COP",
                           "beneficiary": {"name": "Marta Ruiz",
                                           "document": {"type": "CC", "number": "52345678"}}}),
                )
                .await;
            let other_id = other["id"].as_str().unwrap();
            let canceled = live
                .post(
                    &format!("/v1/payouts/{other_id}/cancel"),
                    "cancel-2",
                    json!({}),
                )
                .await;
            assert_eq!(canceled.status(), 200);
            let canceled: Value = canceled.json().await.unwrap();
            assert_eq!(canceled["status"], "canceled", "{canceled}");
            let other_evidence = live.evidence(other_id).await.join("\n");
            assert!(other_evidence.contains("DELETE"), "{other_evidence}");
        })
        .await;
    }
}

/// The routes tests, on SQLite (routing is the same code on both engines).
mod routing {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unreachable_first_route_passes_the_order_to_the_next() {
        let live = Live::start(Engine::Sqlite, Routes::DeadFirst)
            .await
            .unwrap();
        let response = live
            .post("/v1/payins", "failover-1", payin_body(80_000))
            .await;
        assert_eq!(response.status(), 201);
        let payin: Value = response.json().await.unwrap();
        let id = payin["id"].as_str().unwrap().to_string();
        let evidence = live.evidence(&id).await.join("\n");
        assert!(evidence.contains("/down/payments"), "{evidence}");
        assert!(evidence.contains("/dlocal/payments"), "{evidence}");
        // The order lives at the second route: its notification is applied.
        let code = payin["voucher"]["payment_code"]
            .as_str()
            .unwrap()
            .replace(' ', "");
        live.control
            .pay(COUNTER, &code, Amount::new(80_000).unwrap())
            .await
            .unwrap();
        live.control.flush_callbacks(true).await.unwrap();
        let now = live.get(&format!("/v1/payins/{id}")).await;
        assert_eq!(now["status"], "paid", "{now}");
        live.app.server.stop().await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_sandbox_configured_for_test_mode_comes_before_the_simulator() {
        let live = Live::start(Engine::Sqlite, Routes::TestSandbox)
            .await
            .unwrap();
        let response = live
            .app
            .http
            .post(live.app.url("/v1/payins"))
            .bearer_auth(&live.test_key)
            .header("idempotency-key", "sandbox-1")
            .json(&payin_body(80_000))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let payin: Value = response.json().await.unwrap();
        assert_eq!(payin["livemode"], false);
        let id = payin["id"].as_str().unwrap().to_string();
        let evidence = live.evidence(&id).await.join("\n");
        assert!(evidence.contains("/dlocal/payments"), "{evidence}");
        // Its notification is applied in test mode.
        live.pay(COUNTER, &payin, 80_000).await;
        let now = live
            .app
            .get_with_key(&format!("/v1/payins/{id}"), &live.test_key)
            .await;
        let now: Value = now.json().await.unwrap();
        assert_eq!(now["status"], "paid", "{now}");
        // Live mode has no network here.
        let live_payin = live
            .post("/v1/payins", "sandbox-live", payin_body(80_000))
            .await;
        assert_error(
            live_payin,
            400,
            "invalid_request_error",
            "no_network_available",
        )
        .await;
        live.app.server.stop().await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_first_route_that_may_have_accepted_is_never_passed_over() {
        let live = Live::start(Engine::Sqlite, Routes::HangingFirst)
            .await
            .unwrap();
        let response = live.post("/v1/payins", "hang-1", payin_body(80_000)).await;
        assert_error(response, 424, "network_error", "network_unavailable").await;
        let all = live.all_evidence().await.join("\n");
        assert!(
            all.contains("/hang/payments"),
            "the first route was tried: {all}"
        );
        assert!(
            !all.contains("/dlocal/payments"),
            "the order went on to the second route after the first timed out: {all}"
        );
        live.app.server.stop().await.unwrap();
    }
}

async fn a_live_payin_through_dlocal_is_paid_by_dlocals_notification(live: &Live) {
    let response = live
        .post("/v1/payins", "live-payin-1", payin_body(150_000))
        .await;
    assert_eq!(response.status(), 201);
    let payin: Value = response.json().await.unwrap();
    assert_eq!(payin["livemode"], true, "{payin}");
    assert_eq!(payin["network"], "efecty");
    assert_eq!(payin["status"], "pending");
    let id = payin["id"].as_str().unwrap().to_string();
    let code = payin["voucher"]["payment_code"]
        .as_str()
        .or_else(|| payin["voucher"]["code"].as_str())
        .unwrap_or_default()
        .replace(' ', "");
    assert!(!code.is_empty(), "{payin}");

    // The customer pays at a counter; dLocal notifies the order's notification_url.
    let paid = live
        .control
        .pay(COUNTER, &code, Amount::new(150_000).unwrap())
        .await
        .unwrap();
    assert!(format!("{paid:?}").contains("pproved"), "{paid:?}");
    live.control.flush_callbacks(true).await.unwrap();
    let now = live.get(&format!("/v1/payins/{id}")).await;
    assert_eq!(now["status"], "paid", "{now}");

    // Evidence of the create and of the notification, with no secret in it.
    let evidence = live.evidence(&id).await;
    assert!(evidence.len() >= 2, "{evidence:?}");
    assert!(
        evidence.iter().any(|e| e.contains("callback")),
        "{evidence:?}"
    );
    for e in &evidence {
        Live::assert_no_secret("evidence", e);
        for (i, _) in e.match_indices("Signature: ") {
            let after = &e[i + "Signature: ".len()..];
            assert!(after.starts_with("[redacted]"), "a signature was kept: {e}");
        }
    }
    let metrics = live
        .app
        .http
        .get(live.app.url("/metrics"))
        .bearer_auth(crate::helpers::METRICS_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    Live::assert_no_secret("/metrics", &metrics);
}

async fn live_mode_names_the_network_it_lacks(live: &Live) {
    // dLocal pays out no cash in Colombia: a live payout has nowhere to go.
    let topup = live
        .post(
            "/v1/payouts",
            "live-payout-1",
            json!({"amount": 200_000, "currency": "COP",
                   "beneficiary": {"name": "Luis Pérez",
                                   "document": {"type": "CC", "number": "79876543"}}}),
        )
        .await;
    let body = assert_error(topup, 400, "invalid_request_error", "no_network_available").await;
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("pays out"), "{message}");
    assert!(message.contains("kushki"), "{message}");
    Live::assert_no_secret("an error", &body.to_string());
    // A network this instance does not reach live for pay-ins: named too.
    let sured = live
        .post(
            "/v1/payins",
            "live-payin-sured",
            json!({"amount": 50_000, "currency": "COP", "network": "sured",
                   "customer": {"name": "Ana Gómez",
                                "document": {"type": "CC", "number": "1020304050"}}}),
        )
        .await;
    let body = assert_error(sured, 400, "invalid_request_error", "no_network_available").await;
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("\"sured\""), "{message}");
}

async fn a_state_dlocal_does_not_document_holds_the_order_for_review(live: &Live) {
    let payin = live
        .created("/v1/payins", "alien-1", payin_body(150_000))
        .await;
    let id = payin["id"].as_str().unwrap().to_string();
    let record = {
        let (merchant, pid) = (live.merchant, id.parse().unwrap());
        live.app
            .server
            .state
            .store
            .read(move |mut c| {
                Box::pin(async move {
                    cajero_store::payins::get(&mut c, merchant, Mode::Live, pid).await
                })
            })
            .await
            .unwrap()
            .unwrap()
    };
    assert_eq!(record.route, "dlocal");
    // A correctly signed notification in a state dLocal's documentation does not list.
    let body = json!({"id": record.network_order_id, "amount": 150_000, "currency": "COP",
        "country": "CO", "payment_method_id": "EY", "payment_method_type": "TICKET",
        "payment_method_flow": "DIRECT", "order_id": id, "status": "TELEPORTED",
        "status_code": "999", "status_detail": "?", "created_date": "2026-11-25T15:00:00.000+0000",
        "ticket": {"type": "CUSTOM", "format": "Code 128", "number": record.payment_code,
                   "barcode": record.barcode_data, "expiration_date": "2026-11-28T15:00:00.000+0000",
                   "company_name": "Dlocal", "provider_name": "efecty", "amount": 150_000,
                   "currency": "COP"}})
    .to_string();
    let x_date = cajero_connect::dlocal::signing::x_date(Timestamp::now());
    let signature = cajero_connect::dlocal::signing::signature(
        DLOCAL_SECRET_KEY,
        DLOCAL_LOGIN,
        &x_date,
        body.as_bytes(),
    );
    let sent = live
        .app
        .http
        .post(live.app.url("/callbacks/dlocal"))
        .header("content-type", "application/json")
        .header("x-date", &x_date)
        .header("x-login", DLOCAL_LOGIN)
        .header(
            "authorization",
            cajero_connect::dlocal::signing::authorization(&signature),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200, "{}", sent.text().await.unwrap());
    // Not guessed: still pending, an exception open, the merchant told, the raw kept.
    let now = live.get(&format!("/v1/payins/{id}")).await;
    assert_eq!(now["status"], "pending", "{now}");
    let open = live
        .app
        .server
        .state
        .store
        .read({
            let merchant = live.merchant;
            move |mut c| {
                Box::pin(async move {
                    cajero_store::network::open_exceptions(&mut c, merchant, Mode::Live).await
                })
            }
        })
        .await
        .unwrap();
    assert!(
        format!("{open:?}").contains("unrecognized_network_state"),
        "{open:?}"
    );
    let events = live
        .get("/v1/events?type=reconciliation.exception.created")
        .await;
    let event = &events["data"][0];
    assert_eq!(
        event["data"]["object"]["kind"], "unrecognized_network_state",
        "{events}"
    );
    assert_eq!(event["data"]["object"]["object_id"], id.as_str());
    let evidence = live.evidence(&id).await.join("\n");
    assert!(evidence.contains("TELEPORTED"), "{evidence}");
}
