//! A real simulator in the test's runtime, a connector to it, a tiny callback receiver, and
//! the sim's own list endpoint (signed here with the simulator's reference code) to count
//! what really exists at the network.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use cajero_connect::sim::{SimConnector, SimConnectorConfig};
use cajero_connect::{CreatePickup, CreateVoucher, DocumentRef, Evidence};
use cajero_domain::money::Amount;
use cajero_sim::config::{CallbackConfig, ClockConfig, Faults};
use cajero_sim::signing::{HEADER_MERCHANT, HEADER_SIGNATURE, HEADER_TIMESTAMP, sign_request};
use cajero_sim::{MerchantConfig, SimConfig, SimHandle};
use jiff::Timestamp;
use serde_json::Value;

pub const MERCHANT: &str = "cajero-test";
pub const SECRET: &str = "connector-test-secret-7d1f0c";
/// Wednesday 25 November 2026, 10:00 in Bogotá: regular counters are open.
pub const START: &str = "2026-11-25T15:00:00Z";
/// Its Bogotá date, for settlement files.
pub const START_DATE: &str = "2026-11-25";
/// A regular-hours Efecty counter in Bogotá.
pub const COUNTER: &str = "EF-BOG-001";

/// What the callback receiver got: lower-case headers and the raw body.
pub type Received = Arc<Mutex<Vec<(Vec<(String, String)>, Vec<u8>)>>>;

pub struct Fixture {
    pub sim: SimHandle,
    pub connector: SimConnector,
    pub received: Received,
}

/// A simulator with a frozen clock at [`START`], callbacks only on flush, our merchant with
/// its callbacks going to a receiver in this process, and `faults`.
pub async fn start_with(faults: Faults, request_timeout_ms: u64) -> Fixture {
    let received = Received::default();
    let callback_url = spawn_receiver(received.clone()).await;
    let merchant = MerchantConfig {
        id: MERCHANT.into(),
        secret: SECRET.into(),
        callback_url: Some(callback_url),
        ..MerchantConfig::demo()
    };
    let sim = cajero_sim::spawn(frozen_sim(merchant, START.parse().unwrap(), faults))
        .await
        .unwrap();
    let config = SimConnectorConfig {
        request_timeout_ms,
        ..SimConnectorConfig::new(sim.base_url(), MERCHANT, SECRET)
    };
    let connector = SimConnector::new(config).unwrap();
    Fixture {
        sim,
        connector,
        received,
    }
}

pub async fn start() -> Fixture {
    start_with(
        Faults::default(),
        cajero_connect::sim::REQUEST_TIMEOUT_MS_DEFAULT,
    )
    .await
}

/// A simulator with one merchant, its clock frozen at `start`, callbacks delivered only on
/// flush, and `faults`.
pub fn frozen_sim(merchant: MerchantConfig, start: Timestamp, faults: Faults) -> SimConfig {
    SimConfig {
        merchants: vec![merchant],
        clock: ClockConfig {
            start: Some(start),
            frozen: true,
            ..ClockConfig::default()
        },
        callbacks: CallbackConfig {
            worker: false,
            ..CallbackConfig::default()
        },
        faults,
        ..SimConfig::default()
    }
}

/// The simulator's own connector as `merchant`, for its control and counter endpoints.
pub fn control(sim: &SimHandle, merchant: &str, secret: &str) -> SimConnector {
    SimConnector::new(SimConnectorConfig::new(sim.base_url(), merchant, secret)).unwrap()
}

/// How many orders `sim` holds that `matches` (in-process inspection, no HTTP).
pub async fn count_orders(
    sim: &SimHandle,
    matches: impl Fn(&cajero_sim::model::Order) -> bool,
) -> usize {
    sim.sim()
        .run(move |state, _| state.all_orders().filter(|o| matches(o)).count())
        .await
        .unwrap()
}

/// Panics if any of `secrets` is in `evidence` (operation, request or response).
pub fn assert_no_secret_in(evidence: &[Evidence], secrets: &[&str]) {
    for e in evidence {
        for secret in secrets {
            for (what, text) in [
                ("operation", &e.operation),
                ("request", &e.request),
                ("response", &e.response),
            ] {
                assert!(!text.contains(secret), "{secret} in the {what} of {e:?}");
            }
        }
    }
}

async fn receive(
    State(received): State<Received>,
    headers: HeaderMap,
    body: Bytes,
) -> &'static str {
    let headers = headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    received.lock().unwrap().push((headers, body.to_vec()));
    "ok"
}

/// Serves `POST /callbacks` (and `/callbacks/refunds`, where dLocal's refund notifications
/// go) on a loopback port; answers the URL.
pub async fn spawn_receiver(received: Received) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/callbacks", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .route("/callbacks", post(receive))
        .route("/callbacks/refunds", post(receive))
        .with_state(received);
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

impl Fixture {
    /// The orders of `kind` (`collections`/`payouts`) with `reference`, from the network's own
    /// list endpoint.
    pub async fn listed(&self, kind: &str, reference: &str) -> Vec<Value> {
        let path = format!("/v1/{kind}?reference={reference}&limit=100");
        let ts = Timestamp::now().as_second();
        let answer: Value = reqwest::Client::new()
            .get(format!("{}{path}", self.sim.base_url()))
            .header(HEADER_MERCHANT, MERCHANT)
            .header(HEADER_TIMESTAMP, ts.to_string())
            .header(
                HEADER_SIGNATURE,
                sign_request(SECRET, ts, "GET", &path, b""),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["data"].as_array().unwrap().clone()
    }

    /// Delivers every due callback now and answers what the receiver holds.
    pub async fn flushed_callbacks(&self) -> Vec<(Vec<(String, String)>, Vec<u8>)> {
        self.connector.flush_callbacks(true).await.unwrap();
        self.received.lock().unwrap().clone()
    }
}

pub fn cop(pesos: i64) -> Amount {
    Amount::new(pesos).unwrap()
}

pub fn voucher(reference: &str, amount: i64) -> CreateVoucher {
    CreateVoucher {
        network: "efecty".into(),
        reference: reference.into(),
        amount: cop(amount),
        customer_name: Some("Ana Gómez".into()),
        customer_document: Some(DocumentRef {
            kind: "CC".into(),
            number: "1020304050".into(),
        }),
        expires_in_seconds: 72 * 3_600,
        test_clock: None,
    }
}

pub fn pickup(reference: &str, amount: i64, document: &str) -> CreatePickup {
    CreatePickup {
        network: "efecty".into(),
        reference: reference.into(),
        amount: cop(amount),
        beneficiary_name: "Luis Pérez".into(),
        beneficiary_document: DocumentRef {
            kind: "CC".into(),
            number: document.into(),
        },
        expires_in_seconds: 7 * 24 * 3_600,
        test_clock: None,
    }
}
