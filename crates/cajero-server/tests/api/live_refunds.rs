//! dLocal refunds of cash pay-ins by bank transfer (issue 13): a live pay-in through dLocal,
//! paid, refunded with `method: bank_transfer` → sent to dLocal (the simulator's dialect),
//! `pending` until dLocal's signed notification at `/callbacks/{route}/refunds` closes it,
//! on SQLite and PostgreSQL.

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::live_support::*;

crate::live_engines!(
    a_bank_transfer_refund_of_a_dlocal_payin_succeeds_on_dlocals_notification,
    a_refund_dlocal_rejects_fails_and_the_amount_can_be_refunded_again,
    a_refund_notification_unsigned_or_in_an_undocumented_state_changes_nothing,
);

/// A live pay-in through dLocal, paid at the counter.
async fn paid_payin(live: &Live, key: &str, amount: i64) -> String {
    let payin = live.created("/v1/payins", key, payin_body(amount)).await;
    live.pay(COUNTER, &payin, amount).await;
    let id = payin["id"].as_str().unwrap().to_string();
    let now = live.get(&format!("/v1/payins/{id}")).await;
    assert_eq!(now["status"], "paid", "{now}");
    id
}

/// The merchant's live available balance, in pesos.
async fn available(live: &Live) -> i64 {
    let balance = live.get("/v1/balance").await;
    balance["available"][0]["amount"].as_i64().unwrap_or(0)
}

async fn event_types(live: &Live, refund_id: &str) -> Vec<String> {
    let events = live.get("/v1/events?limit=100").await;
    let mut types: Vec<String> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["data"]["object"]["id"] == refund_id || e["data"]["id"] == refund_id)
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect();
    types.sort();
    types
}

async fn a_bank_transfer_refund_of_a_dlocal_payin_succeeds_on_dlocals_notification(live: &Live) {
    live.fund(100_000).await;
    let payin = paid_payin(live, "refund-payin-1", 150_000).await;
    let before = available(live).await;
    let path = format!("/v1/payins/{payin}/refunds");
    let body = json!({"amount": 50_000, "method": "bank_transfer", "reason": "returned"});
    let response = live.post(&path, "refund-1", body.clone()).await;
    assert_eq!(response.status(), 201);
    let refund: Value = response.json().await.unwrap();
    assert_eq!(refund["status"], "pending", "{refund}");
    assert_eq!(refund["method"], "bank_transfer");
    let id = refund["id"].as_str().unwrap().to_string();

    // A retried request replays; nothing more is sent to dLocal.
    let again = live.post(&path, "refund-1", body).await;
    assert_eq!(again.status(), 201);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], id.as_str());
    let sent = live
        .evidence(&id)
        .await
        .iter()
        .filter(|e| e.contains("POST /dlocal/refunds"))
        .count();
    assert_eq!(sent, 1, "one refund sent to dLocal");
    let now = live.get(&format!("/v1/payins/{payin}")).await;
    assert_eq!(now["amount_refunded"], 50_000, "{now}");
    assert_eq!(available(live).await, before - 50_000, "reserved");

    // dLocal pays it and notifies.
    live.control.flush_callbacks(true).await.unwrap();
    let now = live.get(&format!("/v1/refunds/{id}")).await;
    assert_eq!(now["status"], "succeeded", "{now}");
    assert_eq!(
        event_types(live, &id).await,
        ["refund.created", "refund.succeeded"]
    );
    let evidence = live.evidence(&id).await.join("\n");
    assert!(evidence.contains("refund callback"), "{evidence}");
    assert!(
        evidence.contains(&format!("\"description\":\"{id}\"")),
        "{evidence}"
    );
    Live::assert_no_secret("evidence", &evidence);
    let payin_now = live.get(&format!("/v1/payins/{payin}")).await;
    assert_eq!(payin_now["amount_refunded"], 50_000, "{payin_now}");
    assert_eq!(available(live).await, before - 50_000, "paid out by dLocal");
}

async fn a_refund_dlocal_rejects_fails_and_the_amount_can_be_refunded_again(live: &Live) {
    live.fund(100_000).await;
    let payin = paid_payin(live, "refund-payin-2", 80_000).await;
    let before = available(live).await;
    let path = format!("/v1/payins/{payin}/refunds");
    // 300 pesos: the simulator's dLocal rejects the refund (status code 300).
    let refund = live
        .created(
            &path,
            "refund-2",
            json!({"amount": 300, "method": "bank_transfer"}),
        )
        .await;
    assert_eq!(refund["status"], "pending", "{refund}");
    assert_eq!(available(live).await, before - 300);
    let id = refund["id"].as_str().unwrap().to_string();
    live.control.flush_callbacks(true).await.unwrap();
    let now = live.get(&format!("/v1/refunds/{id}")).await;
    assert_eq!(now["status"], "failed", "{now}");
    assert_eq!(
        event_types(live, &id).await,
        ["refund.created", "refund.failed"]
    );
    let payin_now = live.get(&format!("/v1/payins/{payin}")).await;
    assert_eq!(
        payin_now["amount_refunded"], 0,
        "the amount is back: {payin_now}"
    );
    // The whole amount can be refunded again.
    let all = live
        .created(&path, "refund-3", json!({"method": "bank_transfer"}))
        .await;
    assert_eq!(all["amount"], 80_000, "{all}");
    assert_eq!(all["status"], "pending", "{all}");
}

/// Posts `body` to the dLocal route's refund notification URL, signed with `secret`.
async fn notify_refund(live: &Live, body: &str, secret: &str) -> reqwest::StatusCode {
    let x_date = cajero_connect::dlocal::signing::x_date(Timestamp::now());
    let signature =
        cajero_connect::dlocal::signing::signature(secret, DLOCAL_LOGIN, &x_date, body.as_bytes());
    live.app
        .http
        .post(live.app.url("/callbacks/dlocal/refunds"))
        .header("content-type", "application/json")
        .header("x-date", &x_date)
        .header("x-login", DLOCAL_LOGIN)
        .header(
            "authorization",
            cajero_connect::dlocal::signing::authorization(&signature),
        )
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .status()
}

async fn a_refund_notification_unsigned_or_in_an_undocumented_state_changes_nothing(live: &Live) {
    let payin = paid_payin(live, "refund-payin-4", 70_000).await;
    // Nothing available yet (the pay-in has not settled): refused, nothing reserved or sent.
    let short = live
        .post(
            &format!("/v1/payins/{payin}/refunds"),
            "refund-short",
            json!({"amount": 20_000, "method": "bank_transfer"}),
        )
        .await;
    crate::helpers::assert_error(
        short,
        400,
        "invalid_request_error",
        "refund_insufficient_balance",
    )
    .await;
    let record = live.get(&format!("/v1/payins/{payin}")).await;
    assert_eq!(record["amount_refunded"], 0);
    live.fund(100_000).await;
    let refund = live
        .created(
            &format!("/v1/payins/{payin}/refunds"),
            "refund-4",
            json!({"amount": 20_000, "method": "bank_transfer"}),
        )
        .await;
    let id = refund["id"].as_str().unwrap().to_string();
    let payment_id = live
        .evidence(&id)
        .await
        .iter()
        .find_map(|e| {
            let at = e.find("\"payment_id\":\"")? + 14;
            Some(e[at..].split('"').next()?.to_string())
        })
        .unwrap();
    let notification = |status: &str, code: &str| {
        json!({"id": "REF-x", "payment_id": payment_id, "amount": 20_000, "currency": "COP",
               "status": status, "status_code": code, "status_detail": "?",
               "description": id})
        .to_string()
    };
    // Signed with another key: refused, nothing changes.
    let forged = notify_refund(live, &notification("SUCCESS", "200"), "not-the-key").await;
    assert_eq!(forged, 401);
    // Correctly signed, in a state dLocal does not document: held, still pending.
    let alien = notify_refund(live, &notification("TELEPORTED", "999"), DLOCAL_SECRET_KEY).await;
    assert_eq!(alien, 200);
    let now = live.get(&format!("/v1/refunds/{id}")).await;
    assert_eq!(now["status"], "pending", "{now}");
    assert_eq!(record["amount_refunded"], 0);
    // … and the merchant is told it is held for review.
    let events = live
        .get("/v1/events?type=reconciliation.exception.created")
        .await;
    let held = &events["data"][0]["data"]["object"];
    assert_eq!(held["kind"], "unrecognized_network_state", "{events}");
    assert_eq!(held["object_id"], id.as_str(), "{events}");
    // dLocal's own notification then closes it.
    live.control.flush_callbacks(true).await.unwrap();
    let now = live.get(&format!("/v1/refunds/{id}")).await;
    assert_eq!(now["status"], "succeeded", "{now}");
}
