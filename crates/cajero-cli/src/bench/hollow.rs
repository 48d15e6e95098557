//! The hollow pipeline: the same hops as a create and one durable commit, nothing else. An
//! axum server takes the client's request, makes the network call to the same stand-in the
//! business phase uses (signed the same way, the same create), then INSERTs one row through
//! [`Store::write`] on the same kind of database. Business ÷ hollow is DESIGN.md's
//! "business-logic overhead".

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use cajero_server::config::Config;
use cajero_server::networks::SIM_MERCHANT_ID;
use cajero_sim::signing::{HEADER_MERCHANT, HEADER_SIGNATURE, HEADER_TIMESTAMP, sign_request};
use cajero_store::{Engine, Store, StoreError};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::load::Target;
use super::orders::{self, Kind, Setup};
use super::report::Phase;
use super::threads::{on, on_thread};

/// The hollow pipeline's scratch table: one row per request.
const HOLLOW_CREATE: &str = "CREATE TABLE bench_hollow (id TEXT PRIMARY KEY, body TEXT NOT NULL, \
                             network_response TEXT NOT NULL, created_at BIGINT NOT NULL)";
const HOLLOW_DROP: &str = "DROP TABLE IF EXISTS bench_hollow";
const HOLLOW_INSERT: &str =
    "INSERT INTO bench_hollow (id, body, network_response, created_at) VALUES ($1, $2, $3, $4)";
/// The network every hollow create goes to (any the stand-in knows would do).
const HOLLOW_NETWORK: &str = "efecty";
/// A create's validity at the network, as cajero asks for a payout's.
const HOLLOW_EXPIRES_IN_S: i64 = 7 * 24 * 3_600;

/// One hollow server's state.
#[derive(Debug, Clone)]
pub struct Hollow {
    http: reqwest::Client,
    /// The stand-in's create URL for the kind.
    network_url: String,
    /// Path and query, as signed.
    network_path: &'static str,
    merchant_id: Arc<str>,
    secret: Arc<str>,
    store: Store,
}

impl Hollow {
    /// A hollow server's state over `store`, calling the stand-in at `network_base`.
    pub fn new(
        store: Store,
        network_base: &str,
        merchant_id: &str,
        secret: &str,
        kind: Kind,
    ) -> anyhow::Result<Hollow> {
        let network_path = match kind {
            Kind::Payouts => "/v1/payouts",
            Kind::Payins => "/v1/collections",
        };
        Ok(Hollow {
            http: reqwest::Client::builder()
                .no_proxy()
                .tcp_nodelay(true)
                .build()?,
            network_url: format!("{network_base}{network_path}"),
            network_path,
            merchant_id: merchant_id.into(),
            secret: secret.into(),
            store,
        })
    }
}

/// Makes the scratch table, empty.
pub async fn create_table(store: &Store) -> Result<(), StoreError> {
    store
        .write(|mut conn| {
            Box::pin(async move {
                cajero_store::execute!(&mut conn, HOLLOW_DROP)?;
                cajero_store::execute!(&mut conn, HOLLOW_CREATE)?;
                Ok::<_, StoreError>(())
            })
        })
        .await
}

/// Drops the scratch table.
pub async fn drop_table(store: &Store) -> Result<(), StoreError> {
    store
        .write(|mut conn| {
            Box::pin(async move {
                cajero_store::execute!(&mut conn, HOLLOW_DROP)?;
                Ok::<_, StoreError>(())
            })
        })
        .await
}

/// Serves `POST /v1/hollow` on `listener` until `stop` turns true.
pub async fn serve(
    state: Hollow,
    listener: tokio::net::TcpListener,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let app = axum::Router::new()
        .route("/v1/hollow", axum::routing::post(create))
        .with_state(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await
}

/// The one route: the network call, then one durable single-row INSERT.
async fn create(
    State(state): State<Hollow>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, Json<Value>) {
    let Some(id) = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
    else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "idempotency key missing"})),
        );
    };
    let Ok(mut request) = serde_json::from_slice::<Value>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "body is not JSON"})),
        );
    };
    let Some(network) = call_network(&state, &id, &mut request).await else {
        return (StatusCode::BAD_GATEWAY, Json(json!({"error": "network"})));
    };
    let created_at = jiff::Timestamp::now().as_microsecond();
    let row_id = id.clone();
    let body_text = request.to_string();
    let written = state
        .store
        .write(move |mut conn| {
            Box::pin(async move {
                cajero_store::execute!(
                    &mut conn,
                    HOLLOW_INSERT,
                    row_id,
                    body_text,
                    network,
                    created_at
                )?;
                Ok::<_, StoreError>(())
            })
        })
        .await;
    match written {
        Ok(()) => (
            StatusCode::CREATED,
            Json(json!({"id": id, "object": "hollow"})),
        ),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": "store"})),
        ),
    }
}

/// The create at the network, signed as cajero's connector signs it; its answer's text.
async fn call_network(state: &Hollow, id: &str, request: &mut Value) -> Option<String> {
    if let Some(fields) = request.as_object_mut() {
        fields.insert("network".into(), json!(HOLLOW_NETWORK));
        fields.insert("reference".into(), json!(id));
        fields.insert("expires_in_seconds".into(), json!(HOLLOW_EXPIRES_IN_S));
    }
    let payload = serde_json::to_vec(request).ok()?;
    let timestamp = jiff::Timestamp::now().as_second();
    let signature = sign_request(
        &state.secret,
        timestamp,
        "POST",
        state.network_path,
        &payload,
    );
    let response = state
        .http
        .post(&state.network_url)
        .header("content-type", "application/json")
        .header(HEADER_MERCHANT, state.merchant_id.as_ref())
        .header(HEADER_TIMESTAMP, timestamp.to_string())
        .header(HEADER_SIGNATURE, signature)
        .body(payload)
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.text().await.ok()
}

/// The hollow phase: the same hops, one durable commit, nothing else; one hollow server per
/// instance.
pub(super) async fn phase(
    setup: &Setup,
    engine: Engine,
    database_url: &str,
    dir: &tempfile::TempDir,
    config: &Config,
) -> anyhow::Result<Phase> {
    let url = match engine {
        Engine::Sqlite => format!("sqlite://{}", dir.path().join("hollow.db").display()),
        Engine::Postgres => database_url.to_string(),
    };
    let options = config.store_options();
    let mut stores = Vec::with_capacity(setup.instances);
    for runtime in &setup.runtimes.servers {
        let (url, options) = (url.clone(), options.clone());
        let store = on_thread(runtime, move || async move {
            Store::open(&url, &options)
                .await
                .context("opening the hollow pipeline's database")
        })
        .await?;
        stores.push(store);
    }
    let first = stores.first().context("no server instance")?.clone();
    let created = first.clone();
    on(&setup.runtimes.servers[0], async move {
        Ok(create_table(&created).await?)
    })
    .await?;
    let (stop, stopped) = watch::channel(false);
    let mut urls = Vec::with_capacity(stores.len());
    let mut tasks = Vec::with_capacity(stores.len());
    for (runtime, store) in setup.runtimes.servers.iter().zip(&stores) {
        let state = Hollow::new(
            store.clone(),
            &setup.stub.base_url,
            SIM_MERCHANT_ID,
            &setup.secret,
            setup.kind,
        )?;
        let listener = on(runtime, async {
            Ok(tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?)
        })
        .await?;
        urls.push(format!("http://{}/v1/hollow", listener.local_addr()?));
        tasks.push(runtime.spawn(serve(state, listener, stopped.clone())));
    }
    let stub_before = setup.stub.report();
    let target = Target {
        urls,
        key: None,
        kind: setup.kind,
    };
    let driven = orders::drive_measured(setup, target).await;
    let network = setup.stub.report().since(&stub_before);
    let _ = stop.send(true);
    for task in tasks {
        let _ = task.await;
    }
    if engine == Engine::Postgres {
        // The scratch table goes; SQLite's goes with the temporary folder.
        let dropped = first.clone();
        on(&setup.runtimes.servers[0], async move {
            Ok(drop_table(&dropped).await?)
        })
        .await?;
    }
    for (runtime, store) in setup.runtimes.servers.iter().zip(stores) {
        on(runtime, async move {
            store.close().await;
            Ok(())
        })
        .await?;
    }
    let (driven, cpu) = driven?;
    Ok(orders::phase(driven, cpu, Some(network)))
}
