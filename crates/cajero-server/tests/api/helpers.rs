//! `spawn_app`: a real server on a loopback port over a fresh database.

use std::sync::Arc;

use cajero_domain::id::MerchantId;
use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_server::clock::{Clock, ManualClock};
use cajero_server::config::{Config, Secret};
use cajero_server::{Running, admin};
use jiff::Timestamp;

/// Which engine a test runs on.
#[derive(Debug, Clone, Copy)]
pub enum Engine {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub server: Running,
    pub clock: ManualClock,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// Runs each test function once per engine; PostgreSQL only when configured.
#[macro_export]
macro_rules! both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::helpers::spawn_app($crate::helpers::Engine::Sqlite).await.unwrap();
                    super::$name(&app).await;
                    app.server.stop().await.unwrap();
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(app) = $crate::helpers::spawn_app($crate::helpers::Engine::Postgres).await else {
                        eprintln!("skipped: set CAJERO_TEST_POSTGRES_URL to run the PostgreSQL suite");
                        return;
                    };
                    super::$name(&app).await;
                    app.server.stop().await.unwrap();
                }
            )*
        }
    };
}

/// The instance key a test server gets: PostgreSQL needs one configured; SQLite generates its
/// own beside the database file (so both paths run).
pub fn secrets_key_for(engine: Engine) -> Option<Secret> {
    match engine {
        Engine::Sqlite => None,
        Engine::Postgres => Some(Secret::new(
            cajero_store::secret_box::InstanceKey::generate().to_hex(),
        )),
    }
}

/// The `metrics.token` of test servers.
pub const METRICS_TOKEN: &str = "metrics-token-for-tests-0123456789abcdef";

/// Rate limits no test's bursts reach (the rate limit tests set their own).
pub fn roomy_rate_limits() -> cajero_server::rate_limit::RateLimitsConfig {
    cajero_server::rate_limit::RateLimitsConfig {
        per_key_per_second: 100_000,
        per_key_burst: 100_000,
        failed_auth_per_minute: 100_000,
        failed_auth_burst: 100_000,
        client_address_header: None,
    }
}

/// The daily reconciliation job off: test servers would otherwise fetch the last days' files
/// at start; the reconciliation tests run its step themselves.
pub fn quiet_reconciliation() -> cajero_server::reconciliation::ReconciliationConfig {
    cajero_server::reconciliation::ReconciliationConfig {
        enabled: false,
        ..Default::default()
    }
}

/// A server on 127.0.0.1 with a manual clock; `None` for PostgreSQL when not configured.
pub async fn spawn_app(engine: Engine) -> Option<TestApp> {
    let dir = tempfile::tempdir().unwrap();
    let database_url = match engine {
        Engine::Sqlite => format!("sqlite://{}", dir.path().join("cajero.db").display()),
        Engine::Postgres => cajero_store::testing::fresh_postgres_url().await.unwrap()?,
    };
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        secrets_key: secrets_key_for(engine),
        database_url: Secret::new(database_url),
        rate_limits: roomy_rate_limits(),
        metrics: cajero_server::metrics::MetricsConfig {
            token: Some(Secret::new(METRICS_TOKEN)),
            listen: None,
        },
        reconciliation: quiet_reconciliation(),
        ..Config::default()
    };
    let clock = ManualClock::new(Timestamp::from_second(1_764_000_000).unwrap());
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let server = cajero_server::spawn(config, shared).await.unwrap();
    Some(TestApp {
        server,
        clock,
        http: reqwest::Client::new(),
        _dir: dir,
    })
}

/// Like [`spawn_app`], with the manual clock at `start` and the configuration adjusted by
/// `configure` (the webhook tests turn the background worker off and drive it by hand).
pub async fn spawn_app_with(
    engine: Engine,
    start: Timestamp,
    configure: impl FnOnce(&mut Config),
) -> Option<TestApp> {
    let dir = tempfile::tempdir().unwrap();
    let database_url = match engine {
        Engine::Sqlite => format!("sqlite://{}", dir.path().join("cajero.db").display()),
        Engine::Postgres => cajero_store::testing::fresh_postgres_url().await.unwrap()?,
    };
    let mut config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        secrets_key: secrets_key_for(engine),
        database_url: Secret::new(database_url),
        rate_limits: roomy_rate_limits(),
        metrics: cajero_server::metrics::MetricsConfig {
            token: Some(Secret::new(METRICS_TOKEN)),
            listen: None,
        },
        reconciliation: quiet_reconciliation(),
        ..Config::default()
    };
    configure(&mut config);
    let clock = ManualClock::new(start);
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let server = cajero_server::spawn(config, shared).await.unwrap();
    Some(TestApp {
        server,
        clock,
        http: reqwest::Client::new(),
        _dir: dir,
    })
}

impl TestApp {
    /// A test app around a server started by the test itself (its database in `dir`).
    pub fn from_parts(server: Running, clock: ManualClock, dir: tempfile::TempDir) -> TestApp {
        TestApp {
            server,
            clock,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.server.url(), path)
    }

    /// A merchant in `status`.
    pub async fn merchant(&self, name: &str, status: MerchantStatus) -> MerchantId {
        let state = &self.server.state;
        let m = admin::create_merchant(&state.store, state.clock.as_ref(), name, None)
            .await
            .unwrap();
        if status != MerchantStatus::Onboarding {
            admin::force_merchant_status(&state.store, state.clock.as_ref(), m.id, status)
                .await
                .unwrap();
        }
        m.id
    }

    /// A key of `merchant` in `mode`: (key id, secret).
    pub async fn key(
        &self,
        merchant: MerchantId,
        mode: Mode,
    ) -> (cajero_domain::id::ApiKeyId, String) {
        let state = &self.server.state;
        let (record, secret) = admin::create_api_key(
            &state.store,
            state.clock.as_ref(),
            &state.keys,
            merchant,
            mode,
        )
        .await
        .unwrap();
        (record.id, secret.expose().to_string())
    }

    pub async fn get_with_key(&self, path: &str, key: &str) -> reqwest::Response {
        let send = || self.http.get(self.url(path)).bearer_auth(key).send();
        match send().await {
            Ok(response) => response,
            // A pooled keep-alive connection the server closed as it was reused (after an
            // error answer that left a request body unread): a GET is safe to send again.
            Err(e) if e.is_request() => send().await.unwrap(),
            Err(e) => panic!("GET {path}: {e}"),
        }
    }
}

/// Asserts the API.md error shape and returns the body.
pub async fn assert_error(
    response: reqwest::Response,
    status: u16,
    kind: &str,
    code: &str,
) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status);
    let request_id = response
        .headers()
        .get("request-id")
        .expect("every response has a Request-Id")
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: serde_json::Value = response.json().await.unwrap();
    let error = &body["error"];
    assert_eq!(error["type"], kind, "{body}");
    assert_eq!(error["code"], code, "{body}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(error["request_id"], request_id.as_str(), "{body}");
    assert!(request_id.starts_with("req_"));
    assert_documented(&body);
    body
}

/// Asserts that an error body's `code` has an entry on `/docs` and that `doc_url` points at it.
pub fn assert_documented(body: &serde_json::Value) {
    let code = body["error"]["code"].as_str().unwrap_or("");
    assert!(
        cajero_server::error_codes::lookup(code).is_some(),
        "{code} has no entry in error_codes::ERROR_CODES: {body}"
    );
    let doc_url = body["error"]["doc_url"].as_str().unwrap_or("");
    assert!(
        doc_url.starts_with("http") && doc_url.ends_with(&format!("/docs#error-{code}")),
        "doc_url {doc_url:?} for {code}"
    );
}
