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

/// Everything this instance logs while it works with every gateway (at TRACE, on the test's
/// thread: a current-thread runtime runs the server, the simulator and their tasks there)
/// holds no configured secret; nor does any configuration or connector printed for a panic.
mod logs {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn no_secret_is_logged_or_printed() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let live = Live::start(Engine::Sqlite, Routes::All).await.unwrap();
        live.fund(500_000).await;
        let payin = live
            .created("/v1/payins", "logs-1", payin_body(150_000))
            .await;
        live.pay(COUNTER, &payin, 150_000).await;
        let mut sured = payin_body(40_000);
        sured["network"] = json!("sured");
        let sured = live.created("/v1/payins", "logs-2", sured).await;
        live.pay("SR-BOG-001", &sured, 40_000).await;
        live.created(
            "/v1/payouts",
            "logs-3",
            json!({"amount": 100_000, "currency": "COP",
                   "beneficiary": {"name": "Luis Pérez",
                                   "document": {"type": "CC", "number": "79876543"}}}),
        )
        .await;
        // A callback with a bad signature is refused (and logged).
        let forged = live
            .app
            .http
            .post(live.app.url("/callbacks/kushki"))
            .header("x-kushki-signature", "00")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 401);
        let printed = format!(
            "{:?} {:?}",
            live.app.server.state.config, live.app.server.state.networks
        );
        live.app.server.stop().await.unwrap();
        let logs = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
        assert!(
            logs.contains("TRACE") || logs.contains("DEBUG"),
            "nothing was captured"
        );
        assert!(logs.len() > 1_000, "{logs}");
        Live::assert_no_secret("the logs", &logs);
        Live::assert_no_secret("Debug of the configuration and networks", &printed);
    }
}

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

/// The simulator's merchant for this instance.
const SIM_MERCHANT: &str = "cajero-live";
const SIM_SECRET: &str = "sim-secret-live-4e1d0b";
/// dLocal credentials (the two secrets travel only through files).
const DLOCAL_LOGIN: &str = "dl-login-live-77a1";
const DLOCAL_TRANS_KEY: &str = "dl-trans-key-SECRET-5c2e";
const DLOCAL_SECRET_KEY: &str = "dl-secret-key-SECRET-9b04";
/// PayU credentials.
const PAYU_MERCHANT: &str = "508029";
const PAYU_ACCOUNT: &str = "512321";
const PAYU_LOGIN: &str = "payu-login-live";
const PAYU_API_KEY: &str = "payu-api-key-SECRET-0d3f";
/// Kushki credentials.
const KUSHKI_PUBLIC: &str = "kushki-public-live";
const KUSHKI_PRIVATE: &str = "kushki-private-SECRET-7a2c";
const KUSHKI_WEBHOOK: &str = "kushki-webhook-SECRET-11e9";
/// Every secret configured: none may appear in evidence, answers or metrics.
const SECRETS: &[&str] = &[
    DLOCAL_TRANS_KEY,
    DLOCAL_SECRET_KEY,
    PAYU_API_KEY,
    KUSHKI_PRIVATE,
    KUSHKI_WEBHOOK,
];
/// Wednesday 25 November 2026, 10:00 in Bogotá: counters are open.
const START: &str = "2026-11-25T15:00:00Z";
/// A regular-hours Efecty counter in Bogotá.
const COUNTER: &str = "EF-BOG-001";

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
        settings: Default::default(),
        request_timeout_ms: Some(2_000),
        connect_timeout_ms: Some(500),
    }
}

/// `http://127.0.0.1:PORT`, where connections are accepted and never answered.
async fn hanging_listener() -> String {
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
fn payu_entry(base_url: &str, priority: u32, dir: &Path) -> NetworkEntry {
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
fn kushki_entry(base_url: &str, priority: u32, dir: &Path) -> NetworkEntry {
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
