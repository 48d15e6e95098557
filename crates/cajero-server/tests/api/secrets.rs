//! Secrets at rest: webhook signing secrets are stored sealed under the instance key, a wrong
//! or missing key stops the server with a message naming `secrets_key`, rotating the key keeps
//! every secret readable, and the generated key-hash secret no longer looks like an API key.

use std::sync::Arc;

use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_server::clock::{Clock, ManualClock};
use cajero_server::config::{Config, Secret};
use cajero_server::secrets::{self, Reseal};
use cajero_server::workers::webhooks::WebhookWorker;
use cajero_server::{Running, admin};
use cajero_store::secret_box::InstanceKey;
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::helpers::Engine;
use crate::receiver::Receiver;

macro_rules! secrets_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let site = super::Site::new($crate::helpers::Engine::Sqlite).await.unwrap();
                    super::$name(site).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(site) = super::Site::new($crate::helpers::Engine::Postgres).await else {
                        eprintln!("skipped: set CAJERO_TEST_POSTGRES_URL to run the PostgreSQL suite");
                        return;
                    };
                    super::$name(site).await;
                }
            )*
        }
    };
}

secrets_tests!(
    stored_signing_secrets_hold_no_plaintext_and_deliveries_verify_with_the_returned_secret,
    a_wrong_key_stops_the_server_with_a_message_naming_secrets_key,
    a_missing_key_stops_the_server_with_a_message_naming_secrets_key,
    rotating_the_key_keeps_old_rows_readable_and_deliveries_verifiable,
    a_key_created_under_the_old_key_hash_secret_format_still_authenticates,
);

/// One database that servers are started on, one after another, with different keys.
struct Site {
    engine: Engine,
    database_url: String,
    clock: ManualClock,
    dir: tempfile::TempDir,
}

impl Site {
    async fn new(engine: Engine) -> Option<Site> {
        let dir = tempfile::tempdir().unwrap();
        let database_url = match engine {
            Engine::Sqlite => format!("sqlite://{}", dir.path().join("cajero.db").display()),
            Engine::Postgres => cajero_store::testing::fresh_postgres_url().await.unwrap()?,
        };
        // The real time, so that the receiver's library accepts the signature's timestamp.
        let start = Timestamp::from_second(Timestamp::now().as_second()).unwrap();
        Some(Site {
            engine,
            database_url,
            clock: ManualClock::new(start),
            dir,
        })
    }

    fn config(&self, key: Option<&InstanceKey>, retired: &[&InstanceKey]) -> Config {
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            database_url: Secret::new(self.database_url.clone()),
            secrets_key: key.map(|k| Secret::new(k.to_hex())),
            secrets_retired_keys: retired.iter().map(|k| Secret::new(k.to_hex())).collect(),
            ..Config::default()
        };
        config.webhooks.worker_enabled = false;
        config
    }

    async fn start(&self, config: Config) -> anyhow::Result<Running> {
        let clock: Arc<dyn Clock> = Arc::new(self.clock.clone());
        cajero_server::spawn(config, clock).await
    }

    /// The raw `secret` and `previous_secret` columns of every endpoint.
    async fn raw_secrets(&self, server: &Running) -> Vec<String> {
        let rows = server
            .state
            .store
            .read(|mut c| {
                Box::pin(async move {
                    let rows = cajero_store::fetch!(
                        all,
                        &mut c,
                        (String, Option<String>),
                        "SELECT secret, previous_secret FROM webhook_endpoints",
                    )?;
                    Ok::<_, cajero_store::StoreError>(rows)
                })
            })
            .await
            .unwrap();
        rows.into_iter()
            .flat_map(|(s, p)| std::iter::once(s).chain(p))
            .collect()
    }
}

/// A merchant with a test key on `server`.
async fn test_key(server: &Running) -> String {
    let state = &server.state;
    let merchant = admin::create_merchant(&state.store, state.clock.as_ref(), "Tienda", None)
        .await
        .unwrap();
    admin::force_merchant_status(
        &state.store,
        state.clock.as_ref(),
        merchant.id,
        MerchantStatus::Active,
    )
    .await
    .unwrap();
    let (_, secret) = admin::create_api_key(
        &state.store,
        state.clock.as_ref(),
        &state.keys,
        merchant.id,
        Mode::Test,
    )
    .await
    .unwrap();
    secret.expose().to_string()
}

async fn post(server: &Running, key: &str, path: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", server.url()))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "POST {path}");
    response.json().await.unwrap()
}

/// Creates an endpoint at the receiver: (endpoint id, the secret the API returned).
async fn endpoint(server: &Running, key: &str, receiver: &Receiver) -> (String, String) {
    let body = post(
        server,
        key,
        "/v1/webhook_endpoints",
        json!({"url": receiver.url, "enabled_events": ["*"]}),
    )
    .await;
    let secret = body["secret"].as_str().unwrap().to_string();
    (body["id"].as_str().unwrap().to_string(), secret)
}

/// Emits an event and runs the worker once: whether the receiver verified what it got.
async fn deliver_one(server: &Running, key: &str, receiver: &Receiver) -> bool {
    let before = receiver.received().len();
    post(
        server,
        key,
        "/v1/test_helpers/events",
        json!({"type": "payout.paid", "object": {"id": "po_test", "object": "payout"}}),
    )
    .await;
    let worker = WebhookWorker::new(&server.state).unwrap();
    worker.run_once(server.state.clock.now()).await.unwrap();
    let received = receiver.received();
    assert_eq!(received.len(), before + 1, "one delivery arrived");
    received.last().unwrap().verified
}

async fn stored_signing_secrets_hold_no_plaintext_and_deliveries_verify_with_the_returned_secret(
    site: Site,
) {
    let key = InstanceKey::generate();
    let server = site.start(site.config(Some(&key), &[])).await.unwrap();
    let api_key = test_key(&server).await;
    let receiver = Receiver::start(false).await;
    let (id, first) = endpoint(&server, &api_key, &receiver).await;
    let rotated = post(
        &server,
        &api_key,
        &format!("/v1/webhook_endpoints/{id}/rotate_secret"),
        json!({}),
    )
    .await;
    let second = rotated["secret"].as_str().unwrap().to_string();

    let raw = site.raw_secrets(&server).await;
    assert_eq!(raw.len(), 2, "the secret and the previous one");
    for column in &raw {
        assert!(
            column.starts_with(&format!("enc:v1:{}:", key.id())),
            "{column}"
        );
        for secret in [&first, &second] {
            let key_part = secret.trim_start_matches("whsec_");
            assert!(!column.contains(key_part), "a plaintext secret in the row");
        }
    }
    receiver.trust(&second);
    assert!(deliver_one(&server, &api_key, &receiver).await);
    server.stop().await.unwrap();
}

async fn a_wrong_key_stops_the_server_with_a_message_naming_secrets_key(site: Site) {
    let right = InstanceKey::generate();
    let server = site.start(site.config(Some(&right), &[])).await.unwrap();
    let api_key = test_key(&server).await;
    endpoint(&server, &api_key, &Receiver::start(false).await).await;
    server.stop().await.unwrap();

    let wrong = InstanceKey::generate();
    let error = site
        .start(site.config(Some(&wrong), &[]))
        .await
        .unwrap_err();
    let message = format!("{error:#}");
    assert!(message.contains("`secrets_key`"), "{message}");
    assert!(
        message.contains(right.id()),
        "names the key needed: {message}"
    );

    // Nothing was changed: the right key still opens everything.
    let server = site.start(site.config(Some(&right), &[])).await.unwrap();
    server.stop().await.unwrap();
}

async fn a_missing_key_stops_the_server_with_a_message_naming_secrets_key(site: Site) {
    match site.engine {
        Engine::Postgres => {
            let error = site.start(site.config(None, &[])).await.unwrap_err();
            assert!(format!("{error:#}").contains("`secrets_key`"), "{error:#}");
        }
        Engine::Sqlite => {
            // No key configured: one is generated beside the database and used again.
            let server = site.start(site.config(None, &[])).await.unwrap();
            let api_key = test_key(&server).await;
            endpoint(&server, &api_key, &Receiver::start(false).await).await;
            server.stop().await.unwrap();
            let key_file = site.dir.path().join("cajero.db.secrets-key");
            assert!(key_file.exists());
            let server = site.start(site.config(None, &[])).await.unwrap();
            server.stop().await.unwrap();

            std::fs::remove_file(&key_file).unwrap();
            let error = site.start(site.config(None, &[])).await.unwrap_err();
            assert!(format!("{error:#}").contains("`secrets_key`"), "{error:#}");
            assert!(!key_file.exists(), "no new key replaces the lost one");
        }
    }
}

async fn rotating_the_key_keeps_old_rows_readable_and_deliveries_verifiable(site: Site) {
    let old = InstanceKey::generate();
    let new = InstanceKey::generate();
    let server = site.start(site.config(Some(&old), &[])).await.unwrap();
    let api_key = test_key(&server).await;
    let receiver = Receiver::start(false).await;
    let (_, secret) = endpoint(&server, &api_key, &receiver).await;
    receiver.trust(&secret);
    server.stop().await.unwrap();

    // The new key seals, the old one is retired: rows sealed by the old one still sign.
    let server = site.start(site.config(Some(&new), &[&old])).await.unwrap();
    assert!(deliver_one(&server, &api_key, &receiver).await);
    let report = secrets::reseal(
        &server.state.store,
        &server.state.secrets,
        Reseal::AllToCurrentKey,
    )
    .await
    .unwrap();
    assert_eq!(report.resealed, 2, "the endpoint's secret and the canary");
    for column in site.raw_secrets(&server).await {
        assert!(
            column.starts_with(&format!("enc:v1:{}:", new.id())),
            "{column}"
        );
    }
    let status = secrets::status(&server.state.store, &server.state.secrets)
        .await
        .unwrap();
    assert_eq!(status.sealed_by_key.get(new.id()), Some(&2));
    assert_eq!(status.plaintext, 0);
    server.stop().await.unwrap();

    // After the rotation the old key is no longer needed.
    let server = site.start(site.config(Some(&new), &[])).await.unwrap();
    assert!(deliver_one(&server, &api_key, &receiver).await);
    server.stop().await.unwrap();
}

async fn a_key_created_under_the_old_key_hash_secret_format_still_authenticates(site: Site) {
    // An earlier version generated an `sk_live_…`-shaped hash secret and kept it as is.
    let legacy = "sk_live_LegacyHashSecretLegacyHashSecretLegacyHash0";
    let key = InstanceKey::generate();
    let server = site.start(site.config(Some(&key), &[])).await.unwrap();
    let state = server.state.clone();
    let legacy_text = legacy.to_string();
    state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                cajero_store::execute!(
                    &mut c,
                    "UPDATE instance_settings SET value = $1 WHERE name = 'api_key_hash_secret'",
                    legacy_text,
                )?;
                Ok::<_, cajero_store::StoreError>(())
            })
        })
        .await
        .unwrap();
    let legacy_hasher = cajero_server::auth::KeyHasher::new(legacy.as_bytes());
    let merchant = admin::create_merchant(&state.store, state.clock.as_ref(), "Vieja", None)
        .await
        .unwrap();
    let (_, api_key) = admin::create_api_key(
        &state.store,
        state.clock.as_ref(),
        &legacy_hasher,
        merchant.id,
        Mode::Test,
    )
    .await
    .unwrap();
    server.stop().await.unwrap();

    let server = site.start(site.config(Some(&key), &[])).await.unwrap();
    let response = reqwest::Client::new()
        .get(format!("{}/v1/balance", server.url()))
        .bearer_auth(api_key.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (stored,) = server
        .state
        .store
        .read(|mut c| {
            Box::pin(async move {
                let row = cajero_store::fetch!(
                    one,
                    &mut c,
                    (String,),
                    "SELECT value FROM instance_settings WHERE name = 'api_key_hash_secret'",
                )?;
                Ok::<_, cajero_store::StoreError>(row)
            })
        })
        .await
        .unwrap();
    assert!(stored.starts_with("hex:"), "{stored}");
    assert!(!stored.contains("sk_"), "{stored}");
    server.stop().await.unwrap();
}
