//! Live mode through the gateways (issue 13): a server configured with `[[networks]]` entries
//! whose base URLs are the simulator's gateway dialects, so that the production connectors
//! (dLocal, PayU, Kushki) run end to end — create, counter, the gateway's own signed
//! notification to `/callbacks/{name}`, the order paid — on SQLite and PostgreSQL. Also: what
//! live mode answers without a network, routing by priority with failover that never passes an
//! order on after the first network may have accepted it, and secrets that appear nowhere.

use std::path::Path;

use cajero_connect::sim::{SimConnector, SimConnectorConfig};
use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_domain::money::Amount;
use cajero_server::network_config::{NetworkEntry, NetworkKind};
use cajero_sim::config::{CallbackConfig, ClockConfig};
use cajero_sim::{MerchantConfig, SimConfig, SimHandle};
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::helpers::{Engine, TestApp, assert_error, spawn_app_with};

/// Runs each test once per engine with a [`Live`] fixture; PostgreSQL only when configured.
macro_rules! live_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let live = super::Live::start(crate::helpers::Engine::Sqlite, super::Routes::Dlocal).await.unwrap();
                    super::$name(&live).await;
                    live.app.server.stop().await.unwrap();
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(live) = super::Live::start(crate::helpers::Engine::Postgres, super::Routes::Dlocal).await else {
                        eprintln!("skipped: set CAJERO_TEST_POSTGRES_URL to run the PostgreSQL suite");
                        return;
                    };
                    super::$name(&live).await;
                    live.app.server.stop().await.unwrap();
                }
            )*
        }
    };
}

live_engines!(
    a_live_payin_through_dlocal_is_paid_by_dlocals_notification,
    live_mode_names_the_network_it_lacks,
);

/// The simulator's merchant for this instance.
const SIM_MERCHANT: &str = "cajero-live";
const SIM_SECRET: &str = "sim-secret-live-4e1d0b";
/// dLocal credentials (the two secrets travel only through files).
const DLOCAL_LOGIN: &str = "dl-login-live-77a1";
const DLOCAL_TRANS_KEY: &str = "dl-trans-key-SECRET-5c2e";
const DLOCAL_SECRET_KEY: &str = "dl-secret-key-SECRET-9b04";
/// Every secret configured: none may appear in evidence, answers or metrics.
const SECRETS: &[&str] = &[DLOCAL_TRANS_KEY, DLOCAL_SECRET_KEY];
/// Wednesday 25 November 2026, 10:00 in Bogotá: counters are open.
const START: &str = "2026-11-25T15:00:00Z";
/// A regular-hours Efecty counter in Bogotá.
const COUNTER: &str = "EF-BOG-001";

/// Which `[[networks]]` the server gets.
#[derive(Debug, Clone, Copy)]
pub enum Routes {
    /// One live dLocal entry.
    Dlocal,
}

/// A simulator speaking the gateways' dialects, and a server whose live mode reaches it.
pub struct Live {
    pub app: TestApp,
    /// Kept running for the server.
    pub _sim: SimHandle,
    /// The simulator's own controls (counters, callbacks, clock).
    pub control: SimConnector,
    /// A live key of an active merchant.
    pub key: String,
    _secrets: tempfile::TempDir,
}

impl Live {
    pub async fn start(engine: Engine, routes: Routes) -> Option<Live> {
        let sim = cajero_sim::spawn(SimConfig {
            merchants: vec![MerchantConfig {
                id: SIM_MERCHANT.into(),
                secret: SIM_SECRET.into(),
                callback_url: None,
                dlocal: Some(cajero_sim::dialect::dlocal::Credentials {
                    login: DLOCAL_LOGIN.into(),
                    trans_key: DLOCAL_TRANS_KEY.into(),
                    secret_key: DLOCAL_SECRET_KEY.into(),
                }),
                ..MerchantConfig::demo()
            }],
            clock: ClockConfig {
                start: Some(START.parse().unwrap()),
                frozen: true,
                ..ClockConfig::default()
            },
            callbacks: CallbackConfig {
                worker: false,
                ..CallbackConfig::default()
            },
            ..Default::default()
        })
        .await
        .unwrap();
        let secrets = tempfile::tempdir().unwrap();
        let entries = match routes {
            Routes::Dlocal => vec![dlocal_entry(
                "dlocal",
                &format!("{}/dlocal", sim.base_url()),
                10,
                secrets.path(),
            )],
        };
        let start: Timestamp = START.parse().unwrap();
        let app = spawn_app_with(engine, start, |config| {
            config.networks = entries;
        })
        .await?;
        let merchant = app.merchant("Tienda", MerchantStatus::Active).await;
        let (_, key) = app.key(merchant, Mode::Live).await;
        let control = SimConnector::new(SimConnectorConfig::new(
            sim.base_url(),
            SIM_MERCHANT,
            SIM_SECRET,
        ))
        .unwrap();
        Some(Live {
            app,
            _sim: sim,
            control,
            key,
            _secrets: secrets,
        })
    }

    pub async fn post(&self, path: &str, key: &str, body: Value) -> reqwest::Response {
        self.app
            .http
            .post(self.app.url(path))
            .bearer_auth(&self.key)
            .header("idempotency-key", key)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> Value {
        let response = self.app.get_with_key(path, &self.key).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    /// Every exchange stored for `object_id`, as text.
    pub async fn evidence(&self, object_id: &str) -> Vec<String> {
        let id = object_id.to_string();
        let messages = self
            .app
            .server
            .state
            .store
            .read(move |mut c| {
                Box::pin(async move { cajero_store::network::messages_for(&mut c, &id).await })
            })
            .await
            .unwrap();
        messages
            .into_iter()
            .map(|(direction, operation, request, _, response)| {
                format!("{direction} {operation} {request} {response}")
            })
            .collect()
    }

    /// Asserts that no configured secret appears in `text`.
    pub fn assert_no_secret(what: &str, text: &str) {
        for secret in SECRETS {
            assert!(!text.contains(secret), "{what} holds a secret: {text}");
        }
    }
}

/// A live dLocal entry named `name` at `base_url`, its secrets in files under `dir`.
fn dlocal_entry(name: &str, base_url: &str, priority: u32, dir: &Path) -> NetworkEntry {
    let file = |key: &str, value: &str| {
        let path = dir.join(format!("{name}-{key}"));
        std::fs::write(&path, format!("{value}\n")).unwrap();
        (key.to_string(), path)
    };
    NetworkEntry {
        name: Some(name.into()),
        kind: NetworkKind::Dlocal,
        mode: Default::default(),
        base_url: base_url.into(),
        priority,
        collections: None,
        payouts: None,
        collection_amount_min: None,
        collection_amount_max: None,
        payout_amount_min: None,
        payout_amount_max: None,
        credentials: [("login".to_string(), DLOCAL_LOGIN.to_string())].into(),
        secret_files: [
            file("trans_key", DLOCAL_TRANS_KEY),
            file("secret_key", DLOCAL_SECRET_KEY),
        ]
        .into(),
        request_timeout_ms: Some(2_000),
        connect_timeout_ms: Some(500),
    }
}

fn payin_body(amount: i64) -> Value {
    json!({"amount": amount, "currency": "COP", "reference": "order-live-1",
           "customer": {"name": "Ana Gómez", "document": {"type": "CC", "number": "1020304050"}}})
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
