//! The Kushki dialect through HTTP on loopback: authentication, tokens, inits, status, delete,
//! magic values, webhooks and the report.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use hmac::{Hmac, KeyInit, Mac};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use sha2::Sha256;

use super::*;
use crate::config::{CallbackConfig, ClockConfig, SimConfig};
use crate::{SimHandle, spawn};

const PUBLIC: &str = "kushki-public-0001";
const PRIVATE: &str = "kushki-private-0001";
const WEBHOOK_KEY: &str = "kushki-webhook-key-0001";
/// Wednesday 25 November 2026, 10:00 in Bogotá.
const START: &str = "2026-11-25T15:00:00Z";

fn merchant() -> MerchantConfig {
    MerchantConfig {
        id: "m-kushki".into(),
        secret: "sim-secret".into(),
        kushki: Some(Credentials {
            public_merchant_id: PUBLIC.into(),
            private_merchant_id: PRIVATE.into(),
            webhook_secret: WEBHOOK_KEY.into(),
        }),
        ..MerchantConfig::demo()
    }
}

struct Kushki {
    handle: SimHandle,
    http: reqwest::Client,
}

async fn start() -> Kushki {
    let handle = spawn(SimConfig {
        seed: Some(11),
        clock: ClockConfig {
            start: Some(START.parse().unwrap()),
            frozen: true,
            ..ClockConfig::default()
        },
        merchants: vec![merchant()],
        callbacks: CallbackConfig {
            worker: false,
            ..CallbackConfig::default()
        },
        ..SimConfig::default()
    })
    .await
    .unwrap();
    Kushki {
        handle,
        http: reqwest::Client::new(),
    }
}

impl Kushki {
    async fn call(
        &self,
        method: &str,
        path: &str,
        key: (&str, &str),
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = format!("{}/kushki{path}", self.handle.base_url());
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method, url).header(key.0, key.1);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// A counter operation (`pay` or `collect`) at the simulator's counter API.
    async fn counter(&self, operation: &str, body: Value) -> Value {
        let url = format!("{}/counter/v1/{operation}", self.handle.base_url());
        let response = self.http.post(url).json(&body).send().await.unwrap();
        response.json().await.unwrap()
    }

    /// The bodies of the callbacks the simulator wrote about `ticket`.
    async fn callback_bodies(&self, ticket: &str) -> Vec<String> {
        let ticket = ticket.to_owned();
        self.handle
            .sim()
            .run(move |state, _| {
                state
                    .callbacks(None, Some(&ticket))
                    .into_iter()
                    .map(|c| c.body.clone())
                    .collect()
            })
            .await
            .unwrap()
    }

    async fn private(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call(method, path, ("Private-Merchant-Id", PRIVATE), body)
            .await
    }

    async fn token(&self, kind: OrderKind, identification: &str, amount: i64) -> String {
        let (path, body) = match kind {
            OrderKind::Collection => (
                "/cash/v1/tokens",
                json!({"name": "Ana", "lastName": "Gómez", "identification": identification,
                       "documentType": "CC", "totalAmount": amount, "currency": "COP"}),
            ),
            OrderKind::Payout => (
                "/payouts/cash/v1/tokens",
                json!({"name": "Luis", "lastName": "Pérez", "documentNumber": identification,
                       "documentType": "CC", "totalAmount": amount, "currency": "COP",
                       "email": "ops@example.co", "phoneNumber": "3001234567"}),
            ),
        };
        let (status, answer) = self
            .call("POST", path, ("Public-Merchant-Id", PUBLIC), Some(body))
            .await;
        assert_eq!(status, 200, "{answer}");
        answer["token"].as_str().unwrap().to_owned()
    }

    async fn init(
        &self,
        kind: OrderKind,
        identification: &str,
        amount: i64,
        reference: &str,
    ) -> (u16, Value) {
        let token = self.token(kind, identification, amount).await;
        let expires: Timestamp =
            START.parse::<Timestamp>().unwrap() + SignedDuration::from_hours(72);
        let body = json!({
            "token": token,
            "amount": {"subtotalIva": 0, "subtotalIva0": amount, "iva": 0},
            "expirationDate": expires.strftime("%Y-%m-%d %H:%M:%S").to_string(),
            "metadata": {"reference": reference},
        });
        let path = match kind {
            OrderKind::Collection => "/cash/v1/charges/init",
            OrderKind::Payout => "/payouts/cash/v1/init",
        };
        self.private("POST", path, Some(body)).await
    }
}

#[tokio::test]
async fn a_wrong_merchant_id_is_refused_with_kushkis_c004() {
    let k = start().await;
    let (status, answer) = k
        .call(
            "POST",
            "/cash/v1/tokens",
            ("Public-Merchant-Id", "nope"),
            Some(json!({})),
        )
        .await;
    assert_eq!((status, answer["code"].as_str()), (401, Some("C004")));
    // The public id is not the private one.
    let (status, answer) = k
        .call(
            "GET",
            "/cash/v1/status/col_1",
            ("Private-Merchant-Id", PUBLIC),
            None,
        )
        .await;
    assert_eq!((status, answer["code"].as_str()), (401, Some("C004")));
}

#[tokio::test]
async fn a_cash_in_init_answers_a_pin_a_ticket_a_barcode_and_the_efecty_agreement() {
    let k = start().await;
    let (status, answer) = k
        .init(OrderKind::Collection, "1020304050", 50_000, "pi_1")
        .await;
    assert_eq!(status, 200, "{answer}");
    let ticket = answer["ticketNumber"].as_str().unwrap();
    assert!(
        answer["pin"]
            .as_str()
            .unwrap()
            .chars()
            .all(|c| c.is_ascii_digit())
    );
    assert!(answer["getPinBarCode"].as_str().unwrap().starts_with("415"));
    assert!(answer["agreementDetails"][0]["efecty"][0]["agreementNumber"].is_string());
    let (status, order) = k
        .private("GET", &format!("/cash/v1/status/{ticket}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(order["status"], "initializedTransaction");
    assert_eq!(order["totalAmount"], 50_000);
    assert_eq!(order["metadata"]["reference"], "pi_1");
    assert_eq!(
        order["expiration"],
        json!(START.parse::<Timestamp>().unwrap().as_millisecond() + 72 * 3_600_000)
    );
    let (status, by_ref) = k
        .private("GET", "/cash/v1/status/by-reference/pi_1", None)
        .await;
    assert_eq!((status, &by_ref["ticketNumber"]), (200, &json!(ticket)));
    let (status, missing) = k.private("GET", "/cash/v1/status/col_nope", None).await;
    assert_eq!((status, missing["code"].as_str()), (404, Some("C005")));
}

#[tokio::test]
async fn a_cash_out_is_a_pick_up_at_efecty_and_a_delete_closes_it_once() {
    let k = start().await;
    let (status, answer) = k.init(OrderKind::Payout, "79876543", 200_000, "po_1").await;
    assert_eq!(status, 200, "{answer}");
    let ticket = answer["ticketNumber"].as_str().unwrap().to_owned();
    let network = k
        .handle
        .sim()
        .run(|state, _| {
            state
                .order_any(&ticket)
                .map(|o| (o.network.clone(), o.dialect))
        })
        .await
        .unwrap();
    assert_eq!(network, Some(("efecty".to_owned(), Dialect::Kushki)));
    let path = format!("/payouts/cash/v1/charges/{ticket}");
    let (status, _) = k.private("DELETE", &path, None).await;
    assert_eq!(status, 204);
    let (_, order) = k
        .private("GET", &format!("/payouts/cash/v1/status/{ticket}"), None)
        .await;
    assert_eq!(order["transactionStatus"], "declinedTransaction");
    let (status, again) = k.private("DELETE", &path, None).await;
    assert_eq!((status, again["code"].as_str()), (400, Some("C008")));
    let (status, missing) = k
        .private("GET", "/payouts/cash/v1/status/giro_nope", None)
        .await;
    assert_eq!((status, missing["code"].as_str()), (404, Some("C021")));
}

#[tokio::test]
async fn tokens_are_checked_for_amount_kind_expiry_and_forgery() {
    let k = start().await;
    let token = k.token(OrderKind::Collection, "1020304050", 50_000).await;
    let init = |token: &str, amount: i64| {
        json!({"token": token, "amount": {"subtotalIva": 0, "subtotalIva0": amount, "iva": 0},
               "metadata": {"reference": "pi_t"}})
    };
    let (_, answer) = k
        .private("POST", "/cash/v1/charges/init", Some(init(&token, 49_000)))
        .await;
    assert_eq!(answer["code"], "C006");
    let (_, answer) = k
        .private("POST", "/payouts/cash/v1/init", Some(init(&token, 50_000)))
        .await;
    assert_eq!(answer["code"], "C003");
    let forged = format!("{}0", token);
    let (_, answer) = k
        .private("POST", "/cash/v1/charges/init", Some(init(&forged, 50_000)))
        .await;
    assert_eq!(answer["code"], "C003");
    k.handle
        .sim()
        .run(|state, _| state.advance_clock(TOKEN_VALIDITY_SECONDS + 1))
        .await
        .unwrap();
    let (_, answer) = k
        .private("POST", "/cash/v1/charges/init", Some(init(&token, 50_000)))
        .await;
    assert_eq!(answer["code"], "C003");
}

#[tokio::test]
async fn the_sandbox_declined_identification_is_declined_with_a_webhook() {
    let k = start().await;
    let (status, answer) = k
        .init(
            OrderKind::Collection,
            MAGIC_DECLINED_IDENTIFICATION,
            20_000,
            "pi_declined",
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let ticket = answer["ticketNumber"].as_str().unwrap().to_owned();
    let (_, order) = k
        .private("GET", &format!("/cash/v1/status/{ticket}"), None)
        .await;
    assert_eq!(order["status"], "declinedTransaction");
    let bodies = k.callback_bodies(&ticket).await;
    assert_eq!(bodies.len(), 1);
    let body: Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(body["status"], "declinedTransaction");
}

#[tokio::test]
async fn webhooks_are_written_and_signed_as_kushki_does_and_deletions_are_not_notified() {
    let k = start().await;
    let (_, answer) = k.init(OrderKind::Payout, "79876543", 200_000, "po_w").await;
    let ticket = answer["ticketNumber"].as_str().unwrap().to_owned();
    let pin = answer["pin"].as_str().unwrap().to_owned();
    let collected = k
        .counter(
            "collect",
            json!({"counter_id": "EF-BOG-001", "code": pin, "document_number": "79876543"}),
        )
        .await;
    assert_eq!(collected["approved"], true, "{collected}");
    let bodies = k.callback_bodies(&ticket).await;
    assert_eq!(bodies.len(), 1);
    let body: Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(body["transactionStatus"], "approvedTransaction");
    assert_eq!(body["transactionType"], "PAYOUT");
    assert_eq!(body["pin"], json!(pin));
    assert!(body["completedAt"].is_i64());

    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let headers = callback_headers(&merchant(), "cb_1", &bodies[0], now);
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(get("x-kushki-id"), "1800000000");
    // Independently: HMAC-SHA256(key, body + "." + id), lower-case hex.
    let mut mac = Hmac::<Sha256>::new_from_slice(WEBHOOK_KEY.as_bytes()).unwrap();
    mac.update(format!("{}.1800000000", bodies[0]).as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(get("x-kushki-signature"), expected);

    let (_, other) = k
        .init(OrderKind::Collection, "1020304050", 30_000, "pi_del")
        .await;
    let other_ticket = other["ticketNumber"].as_str().unwrap().to_owned();
    k.private("DELETE", &format!("/cash/v1/charges/{other_ticket}"), None)
        .await;
    let count = k
        .handle
        .sim()
        .run(|state, _| state.callbacks(None, Some(&other_ticket)).len())
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn the_report_lists_the_days_closed_kushki_orders() {
    let k = start().await;
    let (_, answer) = k
        .init(OrderKind::Collection, "1020304050", 50_000, "pi_r")
        .await;
    let pin = answer["pin"].as_str().unwrap().to_owned();
    let paid = k
        .counter(
            "pay",
            json!({"counter_id": "EF-BOG-001", "code": pin, "amount": 50_000}),
        )
        .await;
    assert_eq!(paid["approved"], true, "{paid}");
    let (status, text) = k
        .private(
            "GET",
            "/cash/v1/reports/transactions?date=2026-11-25&format=csv",
            None,
        )
        .await;
    assert_eq!(status, 200);
    let text = text.as_str().unwrap().to_owned();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(
            "ticketNumber,transactionType,transactionStatus,pin,reference,currency,totalAmount,completedAt"
        )
    );
    let line = lines.next().unwrap();
    assert!(
        line.contains(&format!(",SALE,approvedTransaction,{pin},pi_r,COP,50000,")),
        "{line}"
    );
    assert_eq!(lines.next(), None);
    let (status, _) = k
        .private(
            "GET",
            "/cash/v1/reports/transactions?date=2026-11-25&format=xlsx",
            None,
        )
        .await;
    assert_eq!(status, 400);
}
