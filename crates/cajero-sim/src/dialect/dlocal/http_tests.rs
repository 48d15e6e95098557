//! The dLocal dialect over HTTP: authentication, refusals in dLocal's words, and a ticket's
//! life (create, read, status, lookup by order id, cancel, sandbox statuses, settlement report).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use jiff::Timestamp;
use serde_json::{Value, json};

use super::{Credentials, SCHEME, signature, x_date};
use crate::config::{CallbackConfig, ClockConfig, MerchantConfig, SimConfig};

const LOGIN: &str = "unit-login";
const KEY: &str = "unit-trans-key";
const SECRET: &str = "unit-secret-key";

async fn sim() -> crate::SimHandle {
    crate::spawn(SimConfig {
        merchants: vec![MerchantConfig {
            id: "m1".into(),
            dlocal: Some(Credentials {
                login: LOGIN.into(),
                trans_key: KEY.into(),
                secret_key: SECRET.into(),
            }),
            ..MerchantConfig::demo()
        }],
        clock: ClockConfig {
            start: Some("2026-11-25T15:00:00Z".parse().unwrap()),
            frozen: true,
            ..ClockConfig::default()
        },
        callbacks: CallbackConfig {
            worker: false,
            ..CallbackConfig::default()
        },
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

/// Sends a request signed with `secret` (and `version`), answers status and JSON (or text).
async fn call(
    sim: &crate::SimHandle,
    method: reqwest::Method,
    path: &str,
    body: &str,
    secret: &str,
    version: &str,
) -> (u16, Value) {
    let date = x_date(Timestamp::now());
    let sig = signature(secret, LOGIN, &date, body.as_bytes());
    let response = reqwest::Client::new()
        .request(method, format!("{}/dlocal{path}", sim.base_url()))
        .header("x-date", &date)
        .header("x-login", LOGIN)
        .header("x-trans-key", KEY)
        .header("x-version", version)
        .header("authorization", format!("{SCHEME}, Signature: {sig}"))
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn payment(order_id: &str, amount: i64, description: &str) -> String {
    json!({
        "amount": amount, "currency": "COP", "country": "CO",
        "payment_method_id": "EY", "payment_method_flow": "DIRECT",
        "payer": {"name": "Ana Gómez", "email": "ana@example.com", "document": "1020304050"},
        "order_id": order_id, "description": description,
    })
    .to_string()
}

#[tokio::test]
async fn requests_are_authenticated_as_dlocal_does_and_refused_in_its_words() {
    let sim = sim().await;
    let post = reqwest::Method::POST;
    let body = payment("o1", 10_000, "");
    let (status, error) = call(&sim, post.clone(), "/payments", &body, "wrong", "2.1").await;
    assert_eq!((status, error["code"].as_u64()), (403, Some(3001)));
    let (status, error) = call(&sim, post.clone(), "/payments", &body, SECRET, "3.0").await;
    assert_eq!((status, error["code"].as_u64()), (400, Some(5017)));
    let stale = "2020-01-01T00:00:00.000Z";
    let sig = signature(SECRET, LOGIN, stale, body.as_bytes());
    let old = reqwest::Client::new()
        .post(format!("{}/dlocal/payments", sim.base_url()))
        .header("x-date", stale)
        .header("x-login", LOGIN)
        .header("x-trans-key", KEY)
        .header("authorization", format!("{SCHEME}, Signature: {sig}"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(old.status().as_u16(), 403, "a stale X-Date is refused");
    let unsigned = reqwest::Client::new()
        .post(format!("{}/dlocal/payments", sim.base_url()))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status().as_u16(), 403);

    let cases = [
        (body.replace("\"CO\"", "\"MX\""), 5003),
        (body.replace("\"COP\"", "\"USD\""), 5004),
        (body.replace("\"EY\"", "\"PC\""), 5010),
        (body.replace("1020304050", "12345"), 5001),
        (body.replace("10000", "100.5"), 5001),
        (payment("o1", 10, ""), 5016),
        (payment("o1", 60_000_000, ""), 5007),
    ];
    for (body, code) in cases {
        let (status, error) = call(&sim, post.clone(), "/payments", &body, SECRET, "2.1").await;
        assert_eq!(
            (status, error["code"].as_u64()),
            (400, Some(code)),
            "{body}"
        );
    }
}

#[tokio::test]
async fn a_ticket_is_created_read_looked_up_canceled_and_reported() {
    let sim = sim().await;
    let (post, get) = (reqwest::Method::POST, reqwest::Method::GET);
    let body = payment("o1", 10_000, "");
    let (status, created) = call(&sim, post.clone(), "/payments", &body, SECRET, "2.1").await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["status_code"], "100");
    assert_eq!(created["ticket"]["number"].as_str().unwrap().len(), 8);
    assert!(
        created["ticket"]["barcode"]
            .as_str()
            .unwrap()
            .bytes()
            .all(|b| b.is_ascii_digit())
    );
    let id = created["id"].as_str().unwrap().to_owned();

    let (status, again) = call(&sim, post.clone(), "/payments", &body, SECRET, "2.1").await;
    assert_eq!((status, again["code"].as_u64()), (400, Some(5009)));
    let (_, read) = call(
        &sim,
        get.clone(),
        &format!("/payments/{id}"),
        "",
        SECRET,
        "2.1",
    )
    .await;
    assert_eq!(read, created);
    let (_, status_only) = call(
        &sim,
        get.clone(),
        &format!("/payments/{id}/status"),
        "",
        SECRET,
        "2.1",
    )
    .await;
    assert_eq!(status_only["status"], "PENDING");
    let (_, order) = call(&sim, get.clone(), "/orders/o1", "", SECRET, "2.1").await;
    assert_eq!(order["payment_id"], id.as_str());
    let (status, missing) = call(&sim, get.clone(), "/orders/nope", "", SECRET, "2.1").await;
    assert_eq!((status, missing["code"].as_u64()), (404, Some(4000)));

    let cancel = format!("/payments/{id}/cancel");
    let (_, canceled) = call(&sim, post.clone(), &cancel, "", SECRET, "2.1").await;
    assert_eq!(canceled["status"], "CANCELLED");
    let (status, error) = call(&sim, post.clone(), &cancel, "", SECRET, "2.1").await;
    assert_eq!((status, error["code"].as_u64()), (400, Some(5002)));

    // Sandbox: the status code in `description` forces the outcome.
    let (_, paid) = call(
        &sim,
        post.clone(),
        "/payments",
        &payment("o2", 20_000, "200"),
        SECRET,
        "2.1",
    )
    .await;
    assert_eq!(
        (paid["status"].as_str(), paid["status_code"].as_str()),
        (Some("PAID"), Some("200"))
    );
    assert!(paid.get("approved_date").is_some());
    let (_, forced) = call(
        &sim,
        post.clone(),
        "/payments",
        &payment("o3", 20_000, "400"),
        SECRET,
        "2.1",
    )
    .await;
    assert_eq!(forced["status"], "CANCELLED");

    let (status, report) = call(
        &sim,
        get,
        "/reports/settlement?date=2026-11-25",
        "",
        SECRET,
        "2.1",
    )
    .await;
    assert_eq!(status, 200);
    let report = report.as_str().unwrap().to_owned();
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 2, "{report}");
    assert!(lines[0].starts_with("ROW_TYPE,TRANSACTION_ID,DLOCAL_TRANSACTION_ID"));
    assert!(lines[1].starts_with("PAYMENT,o2,"), "{report}");
    assert!(
        lines[1].ends_with(",2026-11-26"),
        "settled the next business day: {report}"
    );
}
