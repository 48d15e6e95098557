//! Spawning a simulator, signing requests, and a tiny callback receiver.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use cajero_sim::config::{ClockConfig, MerchantConfig, SimConfig};
use cajero_sim::signing::{
    HEADER_CALLBACK_ID, HEADER_MERCHANT, HEADER_SIGNATURE, HEADER_TIMESTAMP, sign_request,
};
use cajero_sim::{SimHandle, spawn};
use jiff::Timestamp;
use serde_json::{Value, json};

pub const MERCHANT: &str = "m1";
pub const SECRET: &str = "s1-secret";
pub const OTHER_MERCHANT: &str = "m2";
pub const OTHER_SECRET: &str = "s2-secret";
/// Wednesday 25 November 2026, 10:00 in Bogotá.
pub const START: &str = "2026-11-25T15:00:00Z";
/// A regular-hours counter in Bogotá (Mon–Fri 08–18, Sat 08–13).
pub const REGULAR_COUNTER: &str = "EF-BOG-001";
/// An extended-hours counter in Bogotá (every day 08–22).
pub const EXTENDED_COUNTER: &str = "EF-BOG-003";

/// A frozen clock at [`START`], callbacks only on flush, two merchants, a fixed seed.
pub fn test_config() -> SimConfig {
    SimConfig {
        seed: Some(7),
        clock: ClockConfig {
            start: Some(START.parse().unwrap()),
            frozen: true,
            ..ClockConfig::default()
        },
        merchants: vec![
            MerchantConfig {
                id: MERCHANT.into(),
                secret: SECRET.into(),
                ..MerchantConfig::demo()
            },
            MerchantConfig {
                id: OTHER_MERCHANT.into(),
                secret: OTHER_SECRET.into(),
                nit: "8110108421".into(),
                ..MerchantConfig::demo()
            },
        ],
        callbacks: cajero_sim::config::CallbackConfig {
            worker: false,
            ..Default::default()
        },
        ..SimConfig::default()
    }
}

pub struct TestSim {
    pub handle: SimHandle,
    pub base: String,
    pub http: reqwest::Client,
}

pub async fn start() -> TestSim {
    start_with(test_config()).await
}

pub async fn start_with(config: SimConfig) -> TestSim {
    let handle = spawn(config).await.unwrap();
    let base = handle.base_url();
    TestSim {
        handle,
        base,
        http: reqwest::Client::new(),
    }
}

/// A response's status and JSON body (`Null` when not JSON).
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl TestSim {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A request signed by `merchant` with `secret`, at host time + `skew_seconds`.
    pub async fn signed_as(
        &self,
        merchant: &str,
        secret: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
        skew_seconds: i64,
    ) -> Reply {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let ts = Timestamp::now().as_second() + skew_seconds;
        let sig = sign_request(secret, ts, method, path, body.as_bytes());
        let request = self
            .http
            .request(method.parse().unwrap(), self.url(path))
            .header(HEADER_MERCHANT, merchant)
            .header(HEADER_TIMESTAMP, ts.to_string())
            .header(HEADER_SIGNATURE, sig)
            .header("content-type", "application/json")
            .body(body);
        reply(request.send().await.unwrap()).await
    }

    pub async fn signed(&self, method: &str, path: &str, body: Option<&Value>) -> Reply {
        self.signed_as(MERCHANT, SECRET, method, path, body, 0)
            .await
    }

    pub async fn get(&self, path: &str) -> Reply {
        reply(self.http.get(self.url(path)).send().await.unwrap()).await
    }

    pub async fn text(&self, path: &str) -> (u16, String) {
        let r = self.http.get(self.url(path)).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        reply(
            self.http
                .post(self.url(path))
                .json(body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Reply {
        reply(
            self.http
                .put(self.url(path))
                .json(body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        reply(self.http.delete(self.url(path)).send().await.unwrap()).await
    }

    pub async fn create_collection(&self, reference: &str, amount: i64) -> Reply {
        let body = json!({"reference": reference, "amount": amount, "currency": "COP",
            "customer": {"name": "Ana Gómez", "document": {"type": "CC", "number": "1020304050"}},
            "expires_in_seconds": 86_400});
        self.signed("POST", "/v1/collections", Some(&body)).await
    }

    pub async fn create_payout(&self, reference: &str, amount: i64, document: &str) -> Reply {
        let body = json!({"reference": reference, "amount": amount,
            "beneficiary": {"name": "Luis Pérez", "document": {"type": "CC", "number": document}},
            "expires_in_seconds": 86_400});
        self.signed("POST", "/v1/payouts", Some(&body)).await
    }

    /// A voucher that must be created.
    pub async fn voucher(&self, reference: &str, amount: i64) -> Value {
        let r = self.create_collection(reference, amount).await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body
    }

    /// A payout that must be created (beneficiary CC 79876543).
    pub async fn payout(&self, reference: &str, amount: i64) -> Value {
        let r = self.create_payout(reference, amount, "79876543").await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body
    }

    pub async fn pay(&self, counter: &str, code: &str, amount: i64) -> Value {
        let r = self
            .post(
                "/counter/v1/pay",
                &json!({"counter_id": counter, "code": code, "amount": amount}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    pub async fn collect(&self, counter: &str, code: &str, document: &str) -> Value {
        let r = self
            .post(
                "/counter/v1/collect",
                &json!({"counter_id": counter, "code": code, "document_number": document}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    pub async fn advance(&self, seconds: i64) -> Value {
        let r = self
            .post("/sim/v1/clock/advance", &json!({"seconds": seconds}))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    pub async fn set_faults(&self, faults: Value) {
        let r = self.put("/sim/v1/faults", &faults).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }

    pub async fn flush(&self, force: bool) -> u64 {
        let r = self
            .post("/sim/v1/callbacks/flush", &json!({"force": force}))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["attempted"].as_u64().unwrap()
    }

    pub async fn callbacks_of(&self, order_id: &str) -> Vec<Value> {
        let r = self
            .get(&format!("/sim/v1/callbacks?order_id={order_id}"))
            .await;
        r.body["data"].as_array().unwrap().clone()
    }

    pub async fn set_callback_url(&self, merchant: &str, secret: &str, url: &str) {
        let r = self
            .signed_as(
                merchant,
                secret,
                "POST",
                "/v1/merchant/callback_url",
                Some(&json!({"callback_url": url})),
                0,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
}

pub async fn reply(r: reqwest::Response) -> Reply {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    Reply {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        headers,
    }
}

/// One callback as the receiver got it.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
    pub answered: u16,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

#[derive(Clone, Default)]
pub struct ReceiverState {
    pub received: Arc<Mutex<Vec<Received>>>,
    /// How many requests to fail with 500 before answering 200.
    pub failures_left: Arc<Mutex<u32>>,
}

impl ReceiverState {
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// A merchant endpoint that records callbacks and fails the first `failures` of them.
pub async fn receiver(failures: u32) -> (String, ReceiverState) {
    async fn handle(State(s): State<ReceiverState>, headers: HeaderMap, body: Bytes) -> StatusCode {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let status = {
            let mut left = s.failures_left.lock().unwrap();
            if *left > 0 {
                *left -= 1;
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::OK
            }
        };
        s.received.lock().unwrap().push(Received {
            id: header(HEADER_CALLBACK_ID),
            timestamp: header(HEADER_TIMESTAMP),
            signature: header(HEADER_SIGNATURE),
            body: String::from_utf8(body.to_vec()).unwrap(),
            answered: status.as_u16(),
        });
        status
    }
    let state = ReceiverState {
        received: Arc::default(),
        failures_left: Arc::new(Mutex::new(failures)),
    };
    let app = axum::Router::new()
        .route("/callbacks", post(handle))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/callbacks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, state)
}

/// Waits (polling, bounded) until `check` holds; panics with `what` otherwise.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..600 {
        if check() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("never happened: {what}");
}
