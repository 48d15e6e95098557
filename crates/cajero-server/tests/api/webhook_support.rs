//! Shared set-up of the webhook tests: an app whose background worker is off (tests drive
//! `WebhookWorker::run_once` with the manual clock), a merchant with a test key, and a
//! receiver.

use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_server::workers::webhooks::{RunStats, WebhookWorker};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::helpers::{Engine, TestApp, spawn_app_with};
use crate::receiver::Receiver;

/// The delivery timeout the tests use (a hanging receiver takes this long).
pub const TEST_TIMEOUT_MS: u64 = 400;

/// Runs each test once per engine with a [`Ctx`]; PostgreSQL only when configured.
#[macro_export]
macro_rules! webhook_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let ctx = $crate::webhook_support::Ctx::new($crate::helpers::Engine::Sqlite).await.unwrap();
                    super::$name(&ctx).await;
                    ctx.app.server.stop().await.unwrap();
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(ctx) = $crate::webhook_support::Ctx::new($crate::helpers::Engine::Postgres).await else {
                        eprintln!("skipped: set CAJERO_TEST_POSTGRES_URL to run the PostgreSQL suite");
                        return;
                    };
                    super::$name(&ctx).await;
                    ctx.app.server.stop().await.unwrap();
                }
            )*
        }
    };
}

pub struct Ctx {
    pub app: TestApp,
    pub worker: WebhookWorker,
    pub key: String,
    pub merchant: cajero_domain::id::MerchantId,
}

impl Ctx {
    /// The manual clock starts at the real time, so that the official library's timestamp
    /// check (±5 minutes of the system clock) passes until a test moves it.
    pub async fn new(engine: Engine) -> Option<Ctx> {
        Ctx::with(engine, |_| {}).await
    }

    pub async fn with(
        engine: Engine,
        configure: impl FnOnce(&mut cajero_server::config::Config),
    ) -> Option<Ctx> {
        let start = Timestamp::from_second(Timestamp::now().as_second()).unwrap();
        let app = spawn_app_with(engine, start, |config| {
            config.webhooks.worker_enabled = false;
            config.webhooks.timeout_ms = TEST_TIMEOUT_MS;
            config.webhooks.lease_ms = 60_000;
            configure(config);
        })
        .await?;
        let worker = WebhookWorker::new(&app.server.state).unwrap();
        let merchant = app.merchant("Tienda", MerchantStatus::Active).await;
        let (_, key) = app.key(merchant, Mode::Test).await;
        Some(Ctx {
            app,
            worker,
            key,
            merchant,
        })
    }

    pub fn now(&self) -> Timestamp {
        use cajero_server::clock::Clock;
        self.app.clock.now()
    }

    pub fn advance(&self, seconds: i64) {
        self.app.clock.advance(SignedDuration::from_secs(seconds));
    }

    pub async fn run(&self) -> RunStats {
        self.worker.run_once(self.now()).await.unwrap()
    }

    pub async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.app
            .http
            .post(self.app.url(path))
            .bearer_auth(&self.key)
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

    /// A test-mode endpoint at `url`: (id, secret).
    pub async fn endpoint(&self, url: &str, events: &[&str]) -> (String, String) {
        let response = self
            .post(
                "/v1/webhook_endpoints",
                json!({"url": url, "enabled_events": events}),
            )
            .await;
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.unwrap();
        (
            body["id"].as_str().unwrap().to_string(),
            body["secret"].as_str().unwrap().to_string(),
        )
    }

    /// An endpoint at the receiver, trusted by it.
    pub async fn receiver_endpoint(&self, receiver: &Receiver, events: &[&str]) -> String {
        let (id, secret) = self.endpoint(&receiver.url, events).await;
        receiver.trust(&secret);
        id
    }

    /// Records an event through the test helper; returns its id.
    pub async fn emit(&self, event_type: &str) -> String {
        let response = self
            .post(
                "/v1/test_helpers/events",
                json!({"type": event_type, "object": {"id": "po_test", "object": "payout"}}),
            )
            .await;
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.unwrap();
        body["id"].as_str().unwrap().to_string()
    }

    /// The event's delivery to `endpoint` as `GET /v1/events/{id}` shows it.
    pub async fn delivery(&self, event: &str, endpoint: &str) -> Value {
        let body = self.get(&format!("/v1/events/{event}")).await;
        body["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["webhook_endpoint"] == endpoint)
            .cloned()
            .unwrap_or(Value::Null)
    }
}

/// POSTs `body` with `key` as the Idempotency-Key and returns the 200/201 answer's body.
pub async fn post_ok(ctx: &Ctx, path: &str, key: &str, body: Value) -> Value {
    let response = ctx
        .app
        .http
        .post(ctx.app.url(path))
        .bearer_auth(&ctx.key)
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert!(status == 200 || status == 201, "{path}: {status} {body}");
    body
}

/// A test clock at the next 10:00 in Bogotá (15:00 UTC), when counters are open whatever the
/// day: orders made on it can be paid and collected at any hour the suite runs (the instance's
/// clock starts at the real time, and at night every counter is closed).
pub async fn daytime_clock(ctx: &Ctx) -> String {
    let now = ctx.now().as_second();
    let day = 86_400;
    let ten_bogota = now - now.rem_euclid(day) + 15 * 3_600;
    let at = if ten_bogota > now {
        ten_bogota
    } else {
        ten_bogota + day
    };
    let clock = post_ok(
        ctx,
        "/v1/test_helpers/test_clocks",
        "daytime-clock",
        json!({"frozen_time": at}),
    )
    .await;
    clock["id"].as_str().unwrap().to_string()
}
