//! The PayU Latam dialect over HTTP: authentication, PayU's refusals and rules, queries, and
//! the confirmation's signature.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};

use super::*;
use crate::config::{ClockConfig, SimConfig};
use crate::{SimHandle, spawn};

/// PayU's public sandbox test account, as its documented examples use it.
const API_KEY: &str = "4Vj8eK4rloUd272L48hsrarnUA";
const API_LOGIN: &str = "pRRXKOl8ikMmt9u";

fn credentials() -> Credentials {
    Credentials {
        merchant_id: "508029".into(),
        account_id: "512321".into(),
        api_login: API_LOGIN.into(),
        api_key: API_KEY.into(),
        confirmation_signature: SignatureAlgorithm::Md5,
        confirmation_hmac_key: None,
    }
}

/// A simulator frozen at the documented request's time, whose merchant has PayU's sandbox
/// credentials.
async fn sim() -> SimHandle {
    spawn(SimConfig {
        merchants: vec![MerchantConfig {
            id: "m1".into(),
            payu: Some(credentials()),
            ..MerchantConfig::demo()
        }],
        clock: ClockConfig {
            start: Some("2021-06-23T19:58:37Z".parse().unwrap()),
            frozen: true,
            ..ClockConfig::default()
        },
        ..Default::default()
    })
    .await
    .unwrap()
}

async fn post(sim: &SimHandle, path: &str, body: &Value) -> Value {
    reqwest::Client::new()
        .post(format!("{}/payu/{path}", sim.base_url()))
        .json(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The request of "API de Pagos - Colombia" for cash (EFECTY), as documented (shortened to
/// the fields the dialect reads; the signature is the documented one).
fn documented_request() -> Value {
    json!({
        "language": "es",
        "command": "SUBMIT_TRANSACTION",
        "merchant": {"apiKey": API_KEY, "apiLogin": API_LOGIN},
        "transaction": {
            "order": {
                "accountId": "512321",
                "referenceCode": "PRODUCT_TEST_2021-06-23T19:59:43.229Z",
                "description": "Payment test description",
                "language": "es",
                "signature": "1d6c33aed575c4974ad5c0be7c6a1c87",
                "notifyUrl": "http://www.payu.com/notify",
                "additionalValues": {
                    "TX_VALUE": {"value": 65000, "currency": "COP"},
                    "TX_TAX": {"value": 10378, "currency": "COP"},
                    "TX_TAX_RETURN_BASE": {"value": 54622, "currency": "COP"}
                },
                "buyer": {
                    "fullName": "First name and second buyer name",
                    "emailAddress": "buyer_test@test.com",
                    "contactPhone": "7563126",
                    "dniNumber": "123456789"
                }
            },
            "payer": {"fullName": "First name and second payer name", "dniNumber": "5415668464654"},
            "type": "AUTHORIZATION_AND_CAPTURE",
            "paymentMethod": "EFECTY",
            "expirationDate": "2021-06-24T20:58:35.804",
            "paymentCountry": "CO",
            "ipAddress": "127.0.0.1"
        },
        "test": false
    })
}

/// `request` for another reference and amount, signed again.
fn resigned(mut request: Value, reference: &str, value: i64) -> Value {
    let signature = md5_hex(&format!("{API_KEY}~508029~{reference}~{value}~COP"));
    let order = &mut request["transaction"]["order"];
    order["referenceCode"] = json!(reference);
    order["additionalValues"]["TX_VALUE"]["value"] = json!(value);
    order["signature"] = json!(signature);
    request
}

#[tokio::test]
async fn the_documented_request_creates_a_pending_voucher_in_the_documented_shape() {
    let sim = sim().await;
    let answer = post(&sim, "payments-api/4.0/service.cgi", &documented_request()).await;
    assert_eq!(answer["code"], "SUCCESS", "{answer}");
    let response = &answer["transactionResponse"];
    assert_eq!(response["state"], "PENDING");
    assert_eq!(response["pendingReason"], "AWAITING_NOTIFICATION");
    assert_eq!(response["responseCode"], "PENDING_TRANSACTION_CONFIRMATION");
    assert!(response["orderId"].as_u64().unwrap() > ORDER_ID_BASE);
    assert_eq!(response["transactionId"].as_str().unwrap().len(), 36);
    // The requested expiry, as epoch milliseconds (documented: 1624568315804).
    assert_eq!(
        response["extraParameters"]["EXPIRATION_DATE"],
        1_624_568_315_000i64
    );
    assert!(response["extraParameters"]["REFERENCE"].is_string());
    assert_eq!(response["additionalInfo"]["paymentNetwork"], "EFECTY");

    // Repeated, it answers the same order; with another amount under the same reference, no.
    let again = post(&sim, "payments-api/4.0/service.cgi", &documented_request()).await;
    assert_eq!(again["transactionResponse"]["orderId"], response["orderId"]);
    let other = resigned(
        documented_request(),
        "PRODUCT_TEST_2021-06-23T19:59:43.229Z",
        70_000,
    );
    let conflict = post(&sim, "payments-api/4.0/service.cgi", &other).await;
    assert_eq!(conflict["code"], "ERROR", "{conflict}");
}

#[tokio::test]
async fn requests_are_authenticated_and_signed_as_payu_does() {
    let sim = sim().await;
    let mut wrong_key = documented_request();
    wrong_key["merchant"]["apiKey"] = json!("nope");
    let answer = post(&sim, "payments-api/4.0/service.cgi", &wrong_key).await;
    assert_eq!(
        answer,
        json!({"code": "ERROR", "error": "Invalid credentials", "transactionResponse": null})
    );

    let mut wrong_signature = documented_request();
    wrong_signature["transaction"]["order"]["signature"] = json!("0".repeat(32));
    let answer = post(&sim, "payments-api/4.0/service.cgi", &wrong_signature).await;
    assert_eq!(answer["error"], "Invalid signature");

    let mut other_account = documented_request();
    other_account["transaction"]["order"]["accountId"] = json!("999999");
    let answer = post(&sim, "payments-api/4.0/service.cgi", &other_account).await;
    assert_eq!(answer["code"], "ERROR");

    let ping = json!({"test": false, "language": "en", "command": "PING",
        "merchant": {"apiLogin": API_LOGIN, "apiKey": API_KEY}});
    for path in [
        "payments-api/4.0/service.cgi",
        "reports-api/4.0/service.cgi",
    ] {
        let answer = post(&sim, path, &ping).await;
        assert_eq!(
            answer,
            json!({"code": "SUCCESS", "error": null, "transactionResponse": null})
        );
    }
}

#[tokio::test]
async fn payus_method_limits_and_expiry_rule_hold() {
    let sim = sim().await;
    // EFECTY takes 20,000 to 6,000,000; OTHERS_CASH 1,000 to 4,000,000.
    for (method, value, accepted) in [
        ("EFECTY", 19_999, false),
        ("EFECTY", 20_000, true),
        ("EFECTY", 6_000_001, false),
        ("OTHERS_CASH", 1_000, true),
        ("OTHERS_CASH", 4_000_001, false),
        ("BALOTO", 50_000, false),
    ] {
        let reference = format!("limits-{method}-{value}");
        let mut request = resigned(documented_request(), &reference, value);
        request["transaction"]["paymentMethod"] = json!(method);
        let answer = post(&sim, "payments-api/4.0/service.cgi", &request).await;
        assert_eq!(
            answer["code"] == "SUCCESS",
            accepted,
            "{method} {value}: {answer}"
        );
    }
    // Later than 7 days, or absent: 7 days from now. In the past: refused.
    let now_ms: i64 = 1_624_478_317_000;
    let week_ms = 7 * 24 * 3_600 * 1_000;
    for (expiration, expected) in [
        (Some("2021-07-23T00:00:00"), Some(now_ms + week_ms)),
        (None, Some(now_ms + week_ms)),
        (Some("2021-06-22T00:00:00"), None),
    ] {
        let reference = format!("expiry-{expiration:?}");
        let mut request = resigned(documented_request(), &reference, 50_000);
        match expiration {
            Some(date) => request["transaction"]["expirationDate"] = json!(date),
            None => {
                request["transaction"]
                    .as_object_mut()
                    .unwrap()
                    .remove("expirationDate");
            }
        }
        let answer = post(&sim, "payments-api/4.0/service.cgi", &request).await;
        let got = answer["transactionResponse"]["extraParameters"]["EXPIRATION_DATE"].as_i64();
        assert_eq!(got, expected, "{expiration:?}: {answer}");
    }
}

#[tokio::test]
async fn orders_are_queried_by_payu_id_and_by_reference() {
    let sim = sim().await;
    let created = post(&sim, "payments-api/4.0/service.cgi", &documented_request()).await;
    let order_id = created["transactionResponse"]["orderId"].clone();
    let query = |command: &str, details: Value| {
        json!({"test": false, "language": "en", "command": command,
            "merchant": {"apiLogin": API_LOGIN, "apiKey": API_KEY}, "details": details})
    };
    let by_id = post(
        &sim,
        "reports-api/4.0/service.cgi",
        &query("ORDER_DETAIL", json!({"orderId": order_id})),
    )
    .await;
    let order = &by_id["result"]["payload"];
    assert_eq!(order["id"], order_id);
    assert_eq!(order["status"], "IN_PROGRESS");
    assert_eq!(
        order["referenceCode"],
        "PRODUCT_TEST_2021-06-23T19:59:43.229Z"
    );
    assert_eq!(order["transactions"][0]["paymentMethod"], "EFECTY");
    assert_eq!(
        order["transactions"][0]["transactionResponse"]["state"],
        "PENDING"
    );
    assert_eq!(order["additionalValues"]["TX_VALUE"]["value"], 65_000);

    let by_reference = post(
        &sim,
        "reports-api/4.0/service.cgi",
        &query(
            "ORDER_DETAIL_BY_REFERENCE_CODE",
            json!({"referenceCode": "PRODUCT_TEST_2021-06-23T19:59:43.229Z"}),
        ),
    )
    .await;
    assert_eq!(by_reference["result"]["payload"][0]["id"], order_id);

    let unknown = post(
        &sim,
        "reports-api/4.0/service.cgi",
        &query(
            "ORDER_DETAIL_BY_REFERENCE_CODE",
            json!({"referenceCode": "nope"}),
        ),
    )
    .await;
    assert_eq!(unknown["result"]["payload"], json!([]));
    let unknown = post(
        &sim,
        "reports-api/4.0/service.cgi",
        &query("ORDER_DETAIL", json!({"orderId": 1})),
    )
    .await;
    assert_eq!(unknown["result"]["payload"], Value::Null);
}

#[test]
fn the_confirmation_signature_follows_the_new_value_rule() {
    assert_eq!(new_value("150.00"), "150.0");
    assert_eq!(new_value("150.26"), "150.26");
    assert_eq!(new_value("150.20"), "150.2");
    // Computed independently with python3 over
    // "4Vj8eK4rloUd272L48hsrarnUA~508029~pi_1~150000.0~COP~4": hashlib.md5, hashlib.sha256,
    // hmac.new(b"test123", …, "sha256").
    let mut c = credentials();
    assert_eq!(
        confirmation_sign(&c, "pi_1", "150000.00", "4"),
        "e5d5c8602f6b9839cd4e0b2ce52a3f36"
    );
    c.confirmation_signature = SignatureAlgorithm::Sha256;
    assert_eq!(
        confirmation_sign(&c, "pi_1", "150000.00", "4"),
        "3f38d39a9af2926e31c6c442618a9db6209d42cceb3ec5fc09400bef227c9818"
    );
    c.confirmation_signature = SignatureAlgorithm::HmacSha256;
    c.confirmation_hmac_key = Some("test123".into());
    assert_eq!(
        confirmation_sign(&c, "pi_1", "150000.00", "4"),
        "4d365ed811266426dd4e369a38b262c0ef6e8825b77b99371be8d0d31395450a"
    );
}

#[test]
fn credentials_never_show_their_secrets() {
    let mut c = credentials();
    c.confirmation_hmac_key = Some("hmac-secret".into());
    let shown = format!("{c:?}");
    assert!(
        !shown.contains(API_KEY) && !shown.contains("hmac-secret"),
        "{shown}"
    );
}
