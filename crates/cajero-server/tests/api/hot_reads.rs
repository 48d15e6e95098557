//! Hot reads from memory (issue 12): API keys, merchants' statuses and fee plans are served
//! from each instance's memory, yet a change takes effect on the very next request, on every
//! instance sharing the database.

use std::sync::Arc;

use cajero_domain::id::MerchantId;
use cajero_domain::ledger::fees::FeePlan;
use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_server::clock::{Clock, ManualClock};
use cajero_server::config::{Config, Secret};
use cajero_server::{AppState, Running, admin};
use cajero_store::merchant_settings;
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::helpers::{Engine, TestApp, assert_error, roomy_rate_limits, secrets_key_for};

crate::both_engines!(
    a_revoked_key_fails_on_the_very_next_request,
    a_suspended_merchants_key_gets_403_on_the_very_next_request,
    a_changed_fee_plan_applies_to_the_very_next_payout,
    keys_are_served_from_memory_until_a_change_is_recorded,
);

/// Requests that fill the instance's memory with the key and its merchant.
const WARM_REQUESTS: usize = 3;

async fn balance_status(server: &Running, key: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}/v1/balance", server.url()))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
}

async fn warm(server: &Running, key: &str) {
    for _ in 0..WARM_REQUESTS {
        assert_eq!(balance_status(server, key).await.status(), 200);
    }
}

async fn active_merchant_key(
    state: &AppState,
) -> (MerchantId, cajero_domain::id::ApiKeyId, String) {
    let clock = state.clock.as_ref();
    let m = admin::create_merchant(&state.store, clock, "Tienda", None)
        .await
        .unwrap();
    admin::force_merchant_status(&state.store, clock, m.id, MerchantStatus::Active)
        .await
        .unwrap();
    let (key, secret) = admin::create_api_key(&state.store, clock, &state.keys, m.id, Mode::Test)
        .await
        .unwrap();
    (m.id, key.id, secret.expose().to_string())
}

async fn a_revoked_key_fails_on_the_very_next_request(app: &TestApp) {
    let state = &app.server.state;
    let (_, key_id, key) = active_merchant_key(state).await;
    warm(&app.server, &key).await;

    admin::revoke_api_key(&state.store, state.clock.as_ref(), key_id)
        .await
        .unwrap();

    let response = balance_status(&app.server, &key).await;
    assert_error(response, 401, "authentication_error", "api_key_revoked").await;
}

async fn a_suspended_merchants_key_gets_403_on_the_very_next_request(app: &TestApp) {
    let state = &app.server.state;
    let (merchant, _, key) = active_merchant_key(state).await;
    warm(&app.server, &key).await;

    admin::force_merchant_status(
        &state.store,
        state.clock.as_ref(),
        merchant,
        MerchantStatus::Suspended,
    )
    .await
    .unwrap();

    let response = balance_status(&app.server, &key).await;
    assert_error(response, 403, "permission_error", "account_suspended").await;
}

/// A plan charging a fixed fee of `fixed` pesos per payout (plus IVA), nothing on pay-ins.
fn payout_plan(fixed: i64) -> FeePlan {
    serde_json::from_value(json!({
        "payin": {"tiers": [{"monthly_volume_from": 0, "rate": 0, "fixed": 0}], "minimum": 0},
        "payout": {"tiers": [{"monthly_volume_from": 0, "rate": 0, "fixed": fixed}], "minimum": 0},
        "gmf_on_payouts": false
    }))
    .unwrap()
}

/// Sets the plan the way `cajero merchant fees set` does.
async fn set_plan(state: &AppState, merchant: MerchantId, plan: FeePlan) {
    let now = state.clock.now();
    state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                merchant_settings::set_fee_plan(&mut c, merchant, Mode::Test, &plan, now).await
            })
        })
        .await
        .unwrap();
}

async fn post(server: &Running, key: &str, path: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", server.url()))
        .bearer_auth(key)
        .header("idempotency-key", format!("k-{}", rand::random::<u64>()))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let value: Value = response.json().await.unwrap();
    assert!(status == 200 || status == 201, "{path}: {status} {value}");
    value
}

/// The fee of a new payout of 10,000 pesos.
async fn payout_fee(server: &Running, key: &str) -> i64 {
    let body = json!({"amount": 10_000, "currency": "COP", "reference": "giro-1",
        "beneficiary": {"name": "Luis Pérez", "document": {"type": "CC", "number": "79876543"}}});
    let payout = post(server, key, "/v1/payouts", body).await;
    payout["fee"].as_i64().unwrap()
}

async fn a_changed_fee_plan_applies_to_the_very_next_payout(app: &TestApp) {
    let state = &app.server.state;
    let (merchant, _, key) = active_merchant_key(state).await;
    post(
        &app.server,
        &key,
        "/v1/topups",
        json!({"amount": 1_000_000, "currency": "COP"}),
    )
    .await;
    set_plan(state, merchant, payout_plan(1_000)).await;
    assert_eq!(payout_fee(&app.server, &key).await, 1_190);
    assert_eq!(payout_fee(&app.server, &key).await, 1_190);

    set_plan(state, merchant, payout_plan(2_000)).await;

    // 2,000 and 19 % IVA.
    assert_eq!(payout_fee(&app.server, &key).await, 2_380);
}

/// What the cache holds is really served from memory: a change made behind cajero's back (in
/// SQL, without recording it) goes unseen until any recorded change moves the version on.
async fn keys_are_served_from_memory_until_a_change_is_recorded(app: &TestApp) {
    let state = &app.server.state;
    let (_, key_id, key) = active_merchant_key(state).await;
    warm(&app.server, &key).await;
    let id = key_id.to_string();
    state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                let changed = cajero_store::execute!(
                    &mut c,
                    "UPDATE api_keys SET revoked_at = $1 WHERE id = $2",
                    1_i64,
                    id
                );
                changed.map_err(cajero_store::StoreError::from)
            })
        })
        .await
        .unwrap();
    assert_eq!(balance_status(&app.server, &key).await.status(), 200);

    // Any recorded change, here another merchant's, moves the version on.
    let (other, _, _) = active_merchant_key(state).await;
    admin::force_merchant_status(
        &state.store,
        state.clock.as_ref(),
        other,
        MerchantStatus::Suspended,
    )
    .await
    .unwrap();

    let response = balance_status(&app.server, &key).await;
    assert_error(response, 401, "authentication_error", "api_key_revoked").await;
}

/// Two server instances on one database (on SQLite, two processes' worth of writers on one
/// file, as when the CLI changes keys while a server runs).
struct TwoInstances {
    a: Running,
    b: Running,
    _dir: tempfile::TempDir,
}

async fn two_instances(engine: Engine) -> Option<TwoInstances> {
    let dir = tempfile::tempdir().unwrap();
    let database_url = match engine {
        Engine::Sqlite => format!("sqlite://{}", dir.path().join("cajero.db").display()),
        Engine::Postgres => cajero_store::testing::fresh_postgres_url().await.unwrap()?,
    };
    // Both instances share the instance key, as instances of one installation do.
    let secrets_key = secrets_key_for(engine);
    let config = |name: &str| Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        instance_id: Some(name.to_string()),
        secrets_key: secrets_key.clone(),
        database_url: Secret::new(database_url.clone()),
        rate_limits: roomy_rate_limits(),
        ..Config::default()
    };
    let clock = ManualClock::new(Timestamp::from_second(1_764_000_000).unwrap());
    let shared: Arc<dyn Clock> = Arc::new(clock);
    let a = cajero_server::spawn(config("instance-a"), shared.clone())
        .await
        .unwrap();
    let b = cajero_server::spawn(config("instance-b"), shared)
        .await
        .unwrap();
    Some(TwoInstances { a, b, _dir: dir })
}

impl TwoInstances {
    async fn stop(self) {
        self.a.stop().await.unwrap();
        self.b.stop().await.unwrap();
    }
}

async fn a_key_revoked_through_one_instance_fails_at_once_on_another(engine: Engine) {
    let Some(both) = two_instances(engine).await else {
        eprintln!("skipped: set CAJERO_TEST_POSTGRES_URL to run the PostgreSQL suite");
        return;
    };
    let (_, key_id, key) = active_merchant_key(&both.a.state).await;
    warm(&both.a, &key).await;
    warm(&both.b, &key).await;

    let a = &both.a.state;
    admin::revoke_api_key(&a.store, a.clock.as_ref(), key_id)
        .await
        .unwrap();

    let response = balance_status(&both.b, &key).await;
    assert_error(response, 401, "authentication_error", "api_key_revoked").await;
    let response = balance_status(&both.a, &key).await;
    assert_error(response, 401, "authentication_error", "api_key_revoked").await;
    both.stop().await;
}

async fn a_merchant_suspended_through_one_instance_is_refused_at_once_by_another(engine: Engine) {
    let Some(both) = two_instances(engine).await else {
        eprintln!("skipped: set CAJERO_TEST_POSTGRES_URL to run the PostgreSQL suite");
        return;
    };
    let (merchant, _, key) = active_merchant_key(&both.a.state).await;
    warm(&both.b, &key).await;

    let a = &both.a.state;
    admin::force_merchant_status(
        &a.store,
        a.clock.as_ref(),
        merchant,
        MerchantStatus::Suspended,
    )
    .await
    .unwrap();

    let response = balance_status(&both.b, &key).await;
    assert_error(response, 403, "permission_error", "account_suspended").await;
    both.stop().await;
}

async fn a_fee_plan_changed_through_one_instance_applies_at_once_on_another(engine: Engine) {
    let Some(both) = two_instances(engine).await else {
        eprintln!("skipped: set CAJERO_TEST_POSTGRES_URL to run the PostgreSQL suite");
        return;
    };
    let (merchant, _, key) = active_merchant_key(&both.a.state).await;
    post(
        &both.b,
        &key,
        "/v1/topups",
        json!({"amount": 1_000_000, "currency": "COP"}),
    )
    .await;
    assert_eq!(payout_fee(&both.b, &key).await, 0);

    set_plan(&both.a.state, merchant, payout_plan(1_000)).await;

    assert_eq!(payout_fee(&both.b, &key).await, 1_190);
    both.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_key_revoked_through_one_instance_fails_at_once_on_another() {
    a_key_revoked_through_one_instance_fails_at_once_on_another(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_key_revoked_through_one_instance_fails_at_once_on_another() {
    a_key_revoked_through_one_instance_fails_at_once_on_another(Engine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_merchant_suspended_through_one_instance_is_refused_at_once_by_another() {
    a_merchant_suspended_through_one_instance_is_refused_at_once_by_another(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_merchant_suspended_through_one_instance_is_refused_at_once_by_another() {
    a_merchant_suspended_through_one_instance_is_refused_at_once_by_another(Engine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_fee_plan_changed_through_one_instance_applies_at_once_on_another() {
    a_fee_plan_changed_through_one_instance_applies_at_once_on_another(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_fee_plan_changed_through_one_instance_applies_at_once_on_another() {
    a_fee_plan_changed_through_one_instance_applies_at_once_on_another(Engine::Postgres).await;
}

/// Times `rounds` of `check` run by `tasks` tasks at once; the time per check.
async fn per_check<F, Fut>(tasks: usize, rounds: usize, check: F) -> std::time::Duration
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let started = std::time::Instant::now();
    let mut running = tokio::task::JoinSet::new();
    for _ in 0..tasks {
        let check = check.clone();
        running.spawn(async move {
            for _ in 0..rounds {
                check().await;
            }
        });
    }
    while let Some(done) = running.join_next().await {
        done.unwrap();
    }
    started.elapsed() / u32::try_from(tasks * rounds).unwrap()
}

/// Not a test: what checking a key and a fee plan costs, read from the database as before
/// against the cache, one request at a time and 64 at once. Run with
/// `cargo test -p cajero-server --test api measure_hot_reads -- --ignored --nocapture`
/// (and `CAJERO_TEST_POSTGRES_URL` for PostgreSQL); use a release build for real numbers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test"]
async fn measure_hot_reads() {
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let Some(app) = crate::helpers::spawn_app(engine).await else {
            continue;
        };
        let state = app.server.state.clone();
        let (merchant, _, key) = active_merchant_key(&state).await;
        let hash = state.keys.hash(&key);
        for (tasks, rounds) in [(1, 2_000), (64, 100)] {
            let (store, h) = (state.store.clone(), hash.clone());
            let database = per_check(tasks, rounds, move || {
                let (store, h) = (store.clone(), h.clone());
                async move {
                    store
                        .read(move |mut c| {
                            Box::pin(async move {
                                cajero_store::merchants::find_api_key_by_hash(&mut c, &h).await?;
                                merchant_settings::fee_plan(&mut c, merchant, Mode::Live).await
                            })
                        })
                        .await
                        .unwrap();
                }
            })
            .await;
            let reads_before = state.cache.version_reads();
            let (s, h) = (state.clone(), hash.clone());
            let cached = per_check(tasks, rounds, move || {
                let (s, h) = (s.clone(), h.clone());
                async move {
                    s.cache.api_key(&s.store, &h).await.unwrap().unwrap();
                    s.cache
                        .fee_plan(&s.store, merchant, Mode::Live)
                        .await
                        .unwrap();
                }
            })
            .await;
            let reads = state.cache.version_reads() - reads_before;
            #[allow(clippy::cast_precision_loss)]
            let per_request = reads as f64 / (tasks * rounds) as f64;
            println!(
                "{engine:?}, {tasks} at once: key + fee plan from the database {database:?}, \
                 from the cache {cached:?} ({per_request:.2} version reads per request)"
            );
        }
        app.server.stop().await.unwrap();
    }
}
