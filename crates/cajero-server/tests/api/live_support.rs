//! The live-mode fixture (issue 13): a simulator speaking the gateways' dialects (dLocal, PayU,
//! Kushki) and a server whose `[[networks]]` reach it, with every secret in files. Shared by
//! the API suite (`live_networks`) and the log test (`tests/logs.rs`).

use std::path::Path;

use cajero_connect::sim::{SimConnector, SimConnectorConfig};
use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_domain::money::Amount;
use cajero_server::network_config::{NetworkEntry, NetworkKind};
use cajero_sim::config::{CallbackConfig, ClockConfig};
use cajero_sim::{MerchantConfig, SimConfig, SimHandle};
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::helpers::{Engine, TestApp, spawn_app_with};

/// The simulator's merchant for this instance.
pub const SIM_MERCHANT: &str = "cajero-live";
pub const SIM_SECRET: &str = "sim-secret-live-4e1d0b";
/// dLocal credentials (the two secrets travel only through files).
pub const DLOCAL_LOGIN: &str = "dl-login-live-77a1";
pub const DLOCAL_TRANS_KEY: &str = "dl-trans-key-SECRET-5c2e";
pub const DLOCAL_SECRET_KEY: &str = "dl-secret-key-SECRET-9b04";
/// PayU credentials.
pub const PAYU_MERCHANT: &str = "508029";
pub const PAYU_ACCOUNT: &str = "512321";
pub const PAYU_LOGIN: &str = "payu-login-live";
pub const PAYU_API_KEY: &str = "payu-api-key-SECRET-0d3f";
/// Kushki credentials.
pub const KUSHKI_PUBLIC: &str = "kushki-public-live";
pub const KUSHKI_PRIVATE: &str = "kushki-private-SECRET-7a2c";
pub const KUSHKI_WEBHOOK: &str = "kushki-webhook-SECRET-11e9";
/// Every secret configured: none may appear in evidence, answers or metrics.
pub const SECRETS: &[&str] = &[
    DLOCAL_TRANS_KEY,
    DLOCAL_SECRET_KEY,
    PAYU_API_KEY,
    KUSHKI_PRIVATE,
    KUSHKI_WEBHOOK,
];
/// Wednesday 25 November 2026, 10:00 in Bogotá: counters are open.
pub const START: &str = "2026-11-25T15:00:00Z";
/// A regular-hours Efecty counter in Bogotá.
pub const COUNTER: &str = "EF-BOG-001";

/// Which `[[networks]]` the server gets.
#[derive(Debug, Clone, Copy)]
pub enum Routes {
    /// One live dLocal entry.
    Dlocal,
    /// A dLocal entry nothing listens at (priority 1), then the real one.
    DeadFirst,
    /// A dLocal entry that accepts connections and never answers (priority 1), then the
    /// real one.
    HangingFirst,
    /// dLocal (priority 10, pay-ins up to 100,000), PayU (20) and Kushki (30, the only one
    /// paying out).
    All,
    /// dLocal's sandbox for test mode (`mode = "test"`), beside the built-in simulator.
    TestSandbox,
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
    /// That merchant.
    pub merchant: cajero_domain::id::MerchantId,
    /// A test key of the same merchant.
    pub test_key: String,
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
                payu: Some(cajero_sim::dialect::payu::Credentials {
                    merchant_id: PAYU_MERCHANT.into(),
                    account_id: PAYU_ACCOUNT.into(),
                    api_login: PAYU_LOGIN.into(),
                    api_key: PAYU_API_KEY.into(),
                    confirmation_signature: Default::default(),
                    confirmation_hmac_key: None,
                }),
                kushki: Some(cajero_sim::dialect::kushki::Credentials {
                    public_merchant_id: KUSHKI_PUBLIC.into(),
                    private_merchant_id: KUSHKI_PRIVATE.into(),
                    webhook_secret: KUSHKI_WEBHOOK.into(),
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
        let real = dlocal_entry(
            "dlocal",
            &format!("{}/dlocal", sim.base_url()),
            10,
            secrets.path(),
        );
        let entries = match routes {
            Routes::Dlocal => vec![real],
            Routes::DeadFirst => {
                let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                let port = closed.local_addr().unwrap().port();
                drop(closed);
                let url = format!("http://127.0.0.1:{port}/down");
                vec![real, dlocal_entry("down", &url, 1, secrets.path())]
            }
            Routes::HangingFirst => {
                let url = format!("{}/hang", hanging_listener().await);
                let mut hang = dlocal_entry("hang", &url, 1, secrets.path());
                hang.request_timeout_ms = Some(300);
                vec![real, hang]
            }
            Routes::TestSandbox => {
                let mut sandbox = real;
                sandbox.mode = cajero_server::network_config::EntryMode::Test;
                vec![sandbox]
            }
            Routes::All => {
                let mut dlocal = real;
                dlocal.collection_amount_max = Some(100_000);
                vec![
                    dlocal,
                    payu_entry(&format!("{}/payu", sim.base_url()), 20, secrets.path()),
                    kushki_entry(&format!("{}/kushki", sim.base_url()), 30, secrets.path()),
                ]
            }
        };
        let start: Timestamp = START.parse().unwrap();
        let app = spawn_app_with(engine, start, |config| {
            config.networks = entries;
        })
        .await?;
        let merchant = app.merchant("Tienda", MerchantStatus::Active).await;
        let (_, key) = app.key(merchant, Mode::Live).await;
        let (_, test_key) = app.key(merchant, Mode::Test).await;
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
            merchant,
            test_key,
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

    /// POSTs and asserts 201; the body.
    pub async fn created(&self, path: &str, key: &str, body: Value) -> Value {
        let response = self.post(path, key, body).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 201, "{path}: {body}");
        body
    }

    /// The customer pays `amount` for `payin`'s voucher at `counter`; the gateway's
    /// notifications go out.
    pub async fn pay(&self, counter: &str, payin: &Value, amount: i64) {
        let code = payin["voucher"]["payment_code"]
            .as_str()
            .unwrap()
            .replace(' ', "");
        let paid = self
            .control
            .pay(counter, &code, Amount::new(amount).unwrap())
            .await
            .unwrap();
        assert!(format!("{paid:?}").contains("pproved"), "{paid:?}");
        self.control.flush_callbacks(true).await.unwrap();
    }

    /// A live top-up of `amount`, confirmed by the operator.
    pub async fn fund(&self, amount: i64) {
        let topup = self
            .created(
                "/v1/topups",
                "live-topup",
                json!({"amount": amount, "currency": "COP"}),
            )
            .await;
        let id: cajero_domain::id::TopupId = topup["id"].as_str().unwrap().parse().unwrap();
        let now = cajero_server::clock::Clock::now(self.app.server.state.clock.as_ref());
        self.app
            .server
            .state
            .store
            .write(move |mut c| {
                Box::pin(async move { cajero_server::funds::confirm_topup(&mut c, id, now).await })
            })
            .await
            .unwrap();
    }

    /// Every exchange stored, of every object, as text.
    pub async fn all_evidence(&self) -> Vec<String> {
        let objects = self
            .app
            .server
            .state
            .store
            .read(|mut c| {
                Box::pin(async move {
                    cajero_store::fetch!(
                        all,
                        &mut c,
                        (Option<String>,),
                        "SELECT DISTINCT object_id FROM network_messages"
                    )
                    .map_err(cajero_store::StoreError::from)
                })
            })
            .await
            .unwrap();
        let mut all = Vec::new();
        for (object,) in objects {
            all.extend(self.evidence(&object.unwrap_or_default()).await);
        }
        all
    }

    /// Asserts that no configured secret appears in `text`.
    pub fn assert_no_secret(what: &str, text: &str) {
        for secret in SECRETS {
            assert!(!text.contains(secret), "{what} holds a secret: {text}");
        }
    }
}

/// A live dLocal entry named `name` at `base_url`, its secrets in files under `dir`.
pub fn dlocal_entry(name: &str, base_url: &str, priority: u32, dir: &Path) -> NetworkEntry {
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
        settings: Default::default(),
        request_timeout_ms: Some(2_000),
        connect_timeout_ms: Some(500),
    }
}

/// `http://127.0.0.1:PORT`, where connections are accepted and never answered.
pub async fn hanging_listener() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("http://{addr}")
}

/// A live PayU entry at `base_url`, collecting at Efecty and SuRed.
pub fn payu_entry(base_url: &str, priority: u32, dir: &Path) -> NetworkEntry {
    let path = dir.join("payu-api-key");
    std::fs::write(&path, PAYU_API_KEY).unwrap();
    let settings = [
        ("contact_email", "pagos@tienda.example"),
        ("contact_phone", "6015551234"),
        ("contact_street1", "Calle 93 # 11-26"),
        ("contact_city", "Bogotá"),
        ("contact_state", "Bogotá D.C."),
    ];
    NetworkEntry {
        name: Some("payu".into()),
        kind: NetworkKind::Payu,
        base_url: base_url.into(),
        priority,
        credentials: [
            ("merchant_id".to_string(), PAYU_MERCHANT.to_string()),
            ("account_id".to_string(), PAYU_ACCOUNT.to_string()),
            ("api_login".to_string(), PAYU_LOGIN.to_string()),
        ]
        .into(),
        secret_files: [("api_key".to_string(), path)].into(),
        settings: settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..dlocal_entry("unused", base_url, priority, dir)
    }
}

/// A live Kushki entry at `base_url`: vouchers and pick-ups at Efecty.
pub fn kushki_entry(base_url: &str, priority: u32, dir: &Path) -> NetworkEntry {
    let file = |key: &str, value: &str| {
        let path = dir.join(format!("kushki-{key}"));
        std::fs::write(&path, value).unwrap();
        (key.to_string(), path)
    };
    NetworkEntry {
        name: Some("kushki".into()),
        kind: NetworkKind::Kushki,
        base_url: base_url.into(),
        priority,
        credentials: [("public_merchant_id".to_string(), KUSHKI_PUBLIC.to_string())].into(),
        secret_files: [
            file("private_merchant_id", KUSHKI_PRIVATE),
            file("webhook_secret", KUSHKI_WEBHOOK),
        ]
        .into(),
        // The simulator's lookup by reference, which Kushki does not document (docs/networks.md).
        settings: [("lookup_by_reference".to_string(), "true".to_string())].into(),
        ..dlocal_entry("unused", base_url, priority, dir)
    }
}

pub fn payin_body(amount: i64) -> Value {
    json!({"amount": amount, "currency": "COP", "reference": "order-live-1",
           "customer": {"name": "Ana Gómez", "document": {"type": "CC", "number": "1020304050"}}})
}

/// Runs each test once per engine with a [`Live`] fixture of one live dLocal route;
/// PostgreSQL only when configured.
#[macro_export]
macro_rules! live_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let live = super::Live::start($crate::helpers::Engine::Sqlite, super::Routes::Dlocal).await.unwrap();
                    super::$name(&live).await;
                    live.app.server.stop().await.unwrap();
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(live) = super::Live::start($crate::helpers::Engine::Postgres, super::Routes::Dlocal).await else {
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
