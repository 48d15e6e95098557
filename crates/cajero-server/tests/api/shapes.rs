//! One object, one shape: lists show what retrieval shows, every list is newest first and
//! honours `limit`, refunds can be read on their own, and errors that name an object say what
//! became of it.

use cajero_domain::merchant::{MerchantStatus, Mode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error};

crate::both_engines!(
    a_listed_payout_has_the_attempts_its_retrieval_shows,
    a_payout_the_network_could_not_issue_answers_424_naming_it_with_a_request_id,
    refunds_are_retrieved_and_listed_newest_first_with_cursors_and_filters,
    balance_transactions_list_in_the_order_they_happened,
    amounts_outside_the_networks_limits_are_refused_before_anything_is_created,
    the_api_base_url_answers_with_an_index_whose_links_answer,
);

struct Merchant {
    key: String,
}

async fn merchant(app: &TestApp) -> Merchant {
    let m = app.merchant("Tienda", MerchantStatus::Active).await;
    Merchant {
        key: app.key(m, Mode::Test).await.1,
    }
}

async fn post(app: &TestApp, m: &Merchant, path: &str, idem: &str, body: &Value) -> (u16, Value) {
    let response = app
        .http
        .post(app.url(path))
        .bearer_auth(&m.key)
        .header("idempotency-key", idem)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn post_ok(app: &TestApp, m: &Merchant, path: &str, body: &Value) -> Value {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let idem = format!("shape-{}", N.fetch_add(1, Ordering::Relaxed));
    let (status, value) = post(app, m, path, &idem, body).await;
    assert!(status == 200 || status == 201, "{path}: {status} {value}");
    value
}

async fn get(app: &TestApp, m: &Merchant, path: &str) -> Value {
    let response = app.get_with_key(path, &m.key).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

fn ids(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect()
}

fn payout_body(amount: i64, document: &str) -> Value {
    json!({"amount": amount, "currency": "COP", "reference": "giro-9",
           "beneficiary": {"name": "Luis Pérez", "document": {"type": "CC", "number": document}}})
}

fn payin_body(amount: i64) -> Value {
    json!({"amount": amount, "currency": "COP", "reference": "order-9",
           "customer": {"name": "Ana Gómez", "document": {"type": "CC", "number": "1020304050"}}})
}

async fn topup(app: &TestApp, m: &Merchant, amount: i64) -> Value {
    post_ok(
        app,
        m,
        "/v1/topups",
        &json!({"amount": amount, "currency": "COP"}),
    )
    .await
}

async fn a_listed_payout_has_the_attempts_its_retrieval_shows(app: &TestApp) {
    let m = merchant(app).await;
    topup(app, &m, 100_000).await;
    let payout = post_ok(app, &m, "/v1/payouts", &payout_body(50_000, "2222222222")).await;
    let id = payout["id"].as_str().unwrap();
    let code = payout["pickup"]["code"].as_str().unwrap();
    for _ in 0..2 {
        post_ok(
            app,
            &m,
            &format!("/v1/test_helpers/payouts/{id}/collect"),
            &json!({"code": code, "document_number": "2222222222"}),
        )
        .await;
    }
    let one = get(app, &m, &format!("/v1/payouts/{id}")).await;
    assert_eq!(one["attempts"].as_array().unwrap().len(), 2, "{one}");
    let list = get(app, &m, "/v1/payouts").await;
    assert_eq!(
        list["data"][0], one,
        "the list shows the payout as retrieval does"
    );
}

async fn a_payout_the_network_could_not_issue_answers_424_naming_it_with_a_request_id(
    app: &TestApp,
) {
    let m = merchant(app).await;
    topup(app, &m, 100_000).await;
    for attempt in 0..5 {
        let idem = format!("unavailable-{attempt}");
        let (status, body) = post(
            app,
            &m,
            "/v1/payouts",
            &idem,
            &payout_body(66_666, "79876543"),
        )
        .await;
        assert_eq!(status, 424, "{body}");
        let error = &body["error"];
        assert_eq!(error["code"], "network_unavailable");
        let request_id = error["request_id"].as_str().unwrap_or_default();
        assert!(request_id.starts_with("req_"), "{body}");
        let id = error["payout"].as_str().unwrap().to_string();
        let message = error["message"].as_str().unwrap();
        assert!(!message.contains("Nothing was created"), "{message}");
        assert!(
            message.contains(&id),
            "the message names the payout: {message}"
        );
        let payout = get(app, &m, &format!("/v1/payouts/{id}")).await;
        assert_eq!(payout["status"], "failed");

        // The retry replays the answer, with its own request id.
        let (status, replay) = post(
            app,
            &m,
            "/v1/payouts",
            &idem,
            &payout_body(66_666, "79876543"),
        )
        .await;
        assert_eq!(status, 424);
        assert_eq!(replay["error"]["payout"], id.as_str());
        let replay_id = replay["error"]["request_id"].as_str().unwrap_or_default();
        assert!(
            replay_id.starts_with("req_") && replay_id != request_id,
            "{replay}"
        );

        // Events of one change list newest first in the order they happened.
        let events = get(app, &m, "/v1/events?limit=100").await;
        let of_payout: Vec<&str> = events["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["data"]["object"]["id"] == id.as_str())
            .map(|e| e["type"].as_str().unwrap())
            .collect();
        assert_eq!(of_payout, ["payout.failed", "payout.created"], "{events}");
    }
}

async fn refunds_are_retrieved_and_listed_newest_first_with_cursors_and_filters(app: &TestApp) {
    let m = merchant(app).await;
    let paid = |amount: i64| {
        let m = &m;
        async move {
            let payin = post_ok(app, m, "/v1/payins", &payin_body(amount)).await;
            let id = payin["id"].as_str().unwrap().to_string();
            post_ok(
                app,
                m,
                &format!("/v1/test_helpers/payins/{id}/pay"),
                &json!({}),
            )
            .await;
            id
        }
    };
    let first = paid(90_000).await;
    let second = paid(20_000).await;
    let mut made = Vec::new();
    for _ in 0..3 {
        let refund = post_ok(
            app,
            &m,
            &format!("/v1/payins/{first}/refunds"),
            &json!({"amount": 10_000, "method": "bank_transfer"}),
        )
        .await;
        made.push(refund["id"].as_str().unwrap().to_string());
    }
    let other = post_ok(
        app,
        &m,
        &format!("/v1/payins/{second}/refunds"),
        &json!({"amount": 5_000, "method": "bank_transfer"}),
    )
    .await;
    let other_id = other["id"].as_str().unwrap().to_string();

    let one = get(app, &m, &format!("/v1/refunds/{}", made[0])).await;
    assert_eq!(one["object"], "refund");
    assert_eq!(one["payin"], first.as_str());
    assert_eq!(one["amount"], 10_000);
    let missing = app
        .get_with_key("/v1/refunds/re_0000000000000000000000000000", &m.key)
        .await;
    assert_error(missing, 404, "invalid_request_error", "resource_missing").await;

    let all = get(app, &m, "/v1/refunds").await;
    assert_eq!(
        ids(&all),
        [
            other_id.clone(),
            made[2].clone(),
            made[1].clone(),
            made[0].clone()
        ]
    );
    assert_eq!(all["url"], "/v1/refunds");

    let of_first = format!("/v1/payins/{first}/refunds");
    let page = get(app, &m, &format!("{of_first}?limit=2")).await;
    assert_eq!(
        ids(&page),
        [made[2].clone(), made[1].clone()],
        "newest first, two"
    );
    assert_eq!(page["has_more"], true);
    let rest = get(
        app,
        &m,
        &format!("{of_first}?limit=2&starting_after={}", made[1]),
    )
    .await;
    assert_eq!(ids(&rest), [made[0].clone()]);
    assert_eq!(rest["has_more"], false);
    let back = get(app, &m, &format!("{of_first}?ending_before={}", made[0])).await;
    assert_eq!(ids(&back), [made[2].clone(), made[1].clone()]);

    let filtered = get(app, &m, &format!("/v1/refunds?payin={second}")).await;
    assert_eq!(ids(&filtered), [other_id]);
    let succeeded = get(app, &m, "/v1/refunds?status=succeeded&limit=1").await;
    assert_eq!(succeeded["data"].as_array().unwrap().len(), 1);
    assert!(
        get(app, &m, "/v1/refunds?status=pending").await["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let bad = app.get_with_key("/v1/refunds?status=lost", &m.key).await;
    assert_error(bad, 400, "invalid_request_error", "parameter_invalid").await;

    // Another merchant sees none of them.
    let stranger = merchant(app).await;
    assert!(ids(&get(app, &stranger, "/v1/refunds").await).is_empty());
    let theirs = app
        .get_with_key(&format!("/v1/refunds/{}", made[0]), &stranger.key)
        .await;
    assert_eq!(theirs.status(), 404);
}

async fn balance_transactions_list_in_the_order_they_happened(app: &TestApp) {
    let m = merchant(app).await;
    let tick = || app.clock.advance(jiff::SignedDuration::from_secs(1));
    topup(app, &m, 100_000).await;
    tick();
    let payout = post_ok(app, &m, "/v1/payouts", &payout_body(30_000, "79876543")).await;
    let id = payout["id"].as_str().unwrap();
    tick();
    let later = topup(app, &m, 5_000).await;
    tick();
    post_ok(app, &m, &format!("/v1/payouts/{id}/cancel"), &json!({})).await;

    let list = get(app, &m, "/v1/balance_transactions?limit=100").await;
    let data = list["data"].as_array().unwrap();
    let created: Vec<&str> = data
        .iter()
        .map(|t| t["created"].as_str().unwrap())
        .collect();
    let mut newest_first = created.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(created, newest_first, "{list}");
    // The cancellation's reversal came after the second top-up, though its id carries the
    // payout's time.
    assert_eq!(data[0]["source"], id, "{list}");
    assert_eq!(data[0]["type"], "payout_reversal", "{list}");
    assert_eq!(data[1]["source"], later["id"], "{list}");

    // Paging by cursor walks the same order.
    let first = get(app, &m, "/v1/balance_transactions?limit=1").await;
    let next = get(
        app,
        &m,
        &format!(
            "/v1/balance_transactions?limit=1&starting_after={}",
            first["data"][0]["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(next["data"][0]["id"], data[1]["id"]);
    let prev = get(
        app,
        &m,
        &format!(
            "/v1/balance_transactions?ending_before={}",
            data[1]["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(ids(&prev), [data[0]["id"].as_str().unwrap().to_string()]);
}

async fn amounts_outside_the_networks_limits_are_refused_before_anything_is_created(app: &TestApp) {
    let m = merchant(app).await;
    topup(app, &m, 10_000_000).await;
    let before = get(app, &m, "/v1/balance").await;
    for (amount, idem) in [(999, "low"), (6_000_001, "high")] {
        let (status, body) = post(
            app,
            &m,
            "/v1/payouts",
            idem,
            &payout_body(amount, "79876543"),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"]["code"], "amount_outside_network_limits");
        assert_eq!(body["error"]["param"], "amount");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("Efecty 1,000–6,000,000 COP"), "{message}");
        assert!(message.contains("SuRed 1,000–4,000,000 COP"), "{message}");
    }
    let mut to_sured = payout_body(5_000_000, "79876543");
    to_sured["network"] = json!("sured");
    let (status, body) = post(app, &m, "/v1/payouts", "sured", &to_sured).await;
    assert_eq!(status, 400, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("SuRed 1,000–4,000,000 COP") && !message.contains("Efecty"),
        "{message}"
    );
    assert!(
        get(app, &m, "/v1/payouts").await["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        get(app, &m, "/v1/balance").await,
        before,
        "nothing was reserved"
    );

    // A payout that fits one of the networks goes to it.
    let big = post_ok(app, &m, "/v1/payouts", &payout_body(5_000_000, "79876543")).await;
    assert_eq!(big["network"], "efecty", "{big}");

    // Pay-ins alike.
    let (status, body) = post(app, &m, "/v1/payins", "payin-high", &payin_body(6_000_001)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "amount_outside_network_limits");
    let mut to_sured = payin_body(4_000_001);
    to_sured["network"] = json!("sured");
    let (status, body) = post(app, &m, "/v1/payins", "payin-sured", &to_sured).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        get(app, &m, "/v1/payins").await["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

async fn the_api_base_url_answers_with_an_index_whose_links_answer(app: &TestApp) {
    let index = app.http.get(app.url("/v1")).send().await.unwrap();
    assert_eq!(index.status(), 200, "no key needed");
    let index: Value = index.json().await.unwrap();
    assert_eq!(index["object"], "api");
    let m = merchant(app).await;
    let resources = index["resources"].as_object().unwrap();
    assert!(resources.contains_key("refunds") && resources.contains_key("payouts"));
    for path in resources.values() {
        get(app, &m, path.as_str().unwrap()).await;
    }
    for path in [&index["documentation"], &index["openapi"]] {
        let response = app
            .http
            .get(app.url(path.as_str().unwrap()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
}
