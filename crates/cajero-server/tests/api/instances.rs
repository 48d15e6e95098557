//! Restarts and several instances: the embedded simulator remembers across a restart (and
//! never repeats an id), and a callback reaches whichever instance `public_url` leads to.

use std::net::SocketAddr;
use std::sync::Arc;

use cajero_domain::id::{MerchantId, PayinId};
use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_server::clock::{Clock, ManualClock};
use cajero_server::config::{Config, Secret, SimulatorConfig};
use cajero_server::{Running, admin};
use cajero_store::payins;
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::helpers::Engine;

/// Monday 24 November 2025, 11:00 in Bogotá: regular counters are open.
const START: i64 = 1_764_000_000;

/// The instance key every instance of these tests shares (a throwaway database's).
const SECRETS_KEY: &str = "6a1f0e7d2c3b4a5968778695a4b3c2d1e0f1a2b3c4d5e6f708192a3b4c5d6e7f";

fn config(database_url: &str, listen: SocketAddr) -> Config {
    Config {
        listen,
        database_url: Secret::new(database_url),
        secrets_key: Some(Secret::new(SECRETS_KEY)),
        ..Config::default()
    }
}

async fn spawn(config: Config, clock: &ManualClock) -> Running {
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    cajero_server::spawn(config, shared).await.unwrap()
}

/// An active merchant and its test key.
async fn test_key(server: &Running) -> (MerchantId, String) {
    let state = &server.state;
    let m = admin::create_merchant(&state.store, state.clock.as_ref(), "Tienda", None)
        .await
        .unwrap();
    admin::force_merchant_status(
        &state.store,
        state.clock.as_ref(),
        m.id,
        MerchantStatus::Active,
    )
    .await
    .unwrap();
    let (_, secret) = admin::create_api_key(
        &state.store,
        state.clock.as_ref(),
        &state.keys,
        m.id,
        Mode::Test,
    )
    .await
    .unwrap();
    (m.id, secret.expose().to_string())
}

async fn call(method: &str, url: String, key: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method.parse().unwrap(), url)
        .bearer_auth(key);
    if let Some(body) = body {
        request = request
            .header("idempotency-key", format!("k-{}", rand::random::<u64>()))
            .json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn create_payin(server: &Running, key: &str, reference: &str) -> Value {
    let body = json!({"amount": 150_000, "currency": "COP", "reference": reference,
        "customer": {"name": "Ana Gómez", "document": {"type": "CC", "number": "1020304050"}}});
    let (status, payin) = call(
        "POST",
        format!("{}/v1/payins", server.url()),
        key,
        Some(body),
    )
    .await;
    assert_eq!(status, 201, "{payin}");
    payin
}

async fn payin_status(server: &Running, key: &str, id: &str) -> String {
    let (status, payin) = call("GET", format!("{}/v1/payins/{id}", server.url()), key, None).await;
    assert_eq!(status, 200, "{payin}");
    payin["status"].as_str().unwrap().to_owned()
}

async fn network_order_id(server: &Running, merchant: MerchantId, id: &str) -> String {
    let id: PayinId = id.parse().unwrap();
    let record = server
        .state
        .store
        .read(move |mut c| {
            Box::pin(async move { payins::get(&mut c, merchant, Mode::Test, id).await })
        })
        .await
        .unwrap();
    record.unwrap().network_order_id
}

async fn restarts_never_repeat_an_order_and_remember_the_old_ones(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let database_url = match engine {
        Engine::Sqlite => format!("sqlite://{}", dir.path().join("cajero.db").display()),
        Engine::Postgres => {
            let Some(url) = cajero_store::testing::fresh_postgres_url().await.unwrap() else {
                eprintln!("skipped: set CAJERO_TEST_POSTGRES_URL to run the PostgreSQL suite");
                return;
            };
            url
        }
    };
    let clock = ManualClock::new(Timestamp::from_second(START).unwrap());
    let first = spawn(
        config(&database_url, "127.0.0.1:0".parse().unwrap()),
        &clock,
    )
    .await;
    let addr = first.addr;
    let (merchant, key) = test_key(&first).await;
    let mut payins = Vec::new();
    for i in 0..3 {
        payins.push(create_payin(&first, &key, &format!("before-{i}")).await);
    }
    first.stop().await.unwrap();

    // The same address: public_url, where the simulator calls back, does not change.
    let second = spawn(config(&database_url, addr), &clock).await;
    for i in 0..3 {
        payins.push(create_payin(&second, &key, &format!("after-{i}")).await);
    }
    let mut network_ids = Vec::new();
    let mut codes = Vec::new();
    for p in &payins {
        network_ids.push(network_order_id(&second, merchant, p["id"].as_str().unwrap()).await);
        codes.push(p["voucher"]["payment_code"].as_str().unwrap().to_owned());
    }
    for list in [&mut network_ids, &mut codes] {
        list.sort();
        list.dedup();
        assert_eq!(
            list.len(),
            payins.len(),
            "repeated after a restart: {list:?}"
        );
    }
    if let Engine::Sqlite = engine {
        assert!(dir.path().join("cajero.db.sim.db").exists());
        // The restarted simulator still knows a voucher issued before: paying it at a counter
        // reaches this instance as a callback.
        let old = payins[0]["id"].as_str().unwrap();
        let (status, attempt) = call(
            "POST",
            format!("{}/v1/test_helpers/payins/{old}/pay", second.url()),
            &key,
            Some(json!({})),
        )
        .await;
        assert_eq!(
            (status, &attempt["approved"]),
            (200, &json!(true)),
            "{attempt}"
        );
        assert_eq!(payin_status(&second, &key, old).await, "paid");
    }
    second.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_restarts_never_repeat_an_order_and_remember_the_old_ones() {
    restarts_never_repeat_an_order_and_remember_the_old_ones(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarts_never_repeat_an_order() {
    restarts_never_repeat_an_order_and_remember_the_old_ones(Engine::Postgres).await;
}

async fn any_instance_applies_a_callback_about_an_order_of_another(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let database_url = match engine {
        Engine::Sqlite => format!("sqlite://{}", dir.path().join("cajero.db").display()),
        Engine::Postgres => {
            let Some(url) = cajero_store::testing::fresh_postgres_url().await.unwrap() else {
                eprintln!("skipped: set CAJERO_TEST_POSTGRES_URL to run the PostgreSQL suite");
                return;
            };
            url
        }
    };
    let start = Timestamp::from_second(START).unwrap();
    let clock = ManualClock::new(start);
    let secret = "shared-simulator-secret-for-two-instances";
    let b_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let b_addr = b_listener.local_addr().unwrap();
    drop(b_listener);
    let a_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let a_addr = a_listener.local_addr().unwrap();
    drop(a_listener);
    // One network for both instances. Its configured URL for the merchant is instance A's,
    // the single address of old: only a URL sent with the order can lead elsewhere.
    let sim = cajero_sim::spawn(cajero_sim::SimConfig {
        merchants: vec![cajero_sim::MerchantConfig {
            id: "cajero".into(),
            secret: secret.into(),
            callback_url: Some(format!("http://{a_addr}/callbacks/sim")),
            ..cajero_sim::MerchantConfig::demo()
        }],
        clock: cajero_sim::config::ClockConfig {
            start: Some(start),
            frozen: true,
            ..Default::default()
        },
        callbacks: cajero_sim::config::CallbackConfig {
            worker: false,
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .unwrap();
    let with_simulator = |listen: SocketAddr| Config {
        // The shared address in front of every instance; here it leads to B.
        public_url: Some(format!("http://{b_addr}")),
        simulator: Some(SimulatorConfig {
            url: sim.base_url(),
            merchant_id: "cajero".into(),
            secret: Secret::new(secret),
        }),
        ..config(&database_url, listen)
    };
    let b = spawn(with_simulator(b_addr), &clock).await;
    let a = spawn(with_simulator(a_addr), &clock).await;
    let (merchant, key) = test_key(&a).await;
    let payin = create_payin(&a, &key, "two-instances").await;
    let id = payin["id"].as_str().unwrap().to_owned();
    let code = payin["voucher"]["payment_code"]
        .as_str()
        .unwrap()
        .replace(' ', "");
    // A goes down; the customer pays meanwhile.
    a.stop().await.unwrap();
    let http = reqwest::Client::new();
    let paid: Value = http
        .post(format!("{}/counter/v1/pay", sim.base_url()))
        .json(&json!({"counter_id": "EF-BOG-001", "code": code, "amount": 150_000}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(paid["approved"], true, "{paid}");
    let flushed: Value = http
        .post(format!("{}/sim/v1/callbacks/flush", sim.base_url()))
        .json(&json!({"force": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(flushed["attempted"], 1, "{flushed}");

    assert_eq!(payin_status(&b, &key, &id).await, "paid");
    let order = network_order_id(&b, merchant, &id).await;
    let callbacks: Value = http
        .get(format!(
            "{}/sim/v1/callbacks?order_id={order}",
            sim.base_url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(callbacks["data"][0]["status"], "delivered", "{callbacks}");
    assert_eq!(callbacks["data"][0]["attempts"], 1, "{callbacks}");
    b.stop().await.unwrap();
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_any_instance_applies_a_callback_about_an_order_of_another() {
    any_instance_applies_a_callback_about_an_order_of_another(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_any_instance_applies_a_callback_about_an_order_of_another() {
    any_instance_applies_a_callback_about_an_order_of_another(Engine::Postgres).await;
}
