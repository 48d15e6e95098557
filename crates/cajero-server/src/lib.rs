//! cajero's server: the merchant API (`/v1`), the merchant dashboard (`/dashboard`), the
//! networks' callbacks, the payment pages, operations endpoints and the background workers,
//! in one binary.
//!
//! # Its shape
//!
//! Two faces over one service layer, and the workers beside them:
//!
//! | part | modules | speaks |
//! |---|---|---|
//! | **services** (the rules) | [`payins`], [`payouts`], [`refunds`], [`funds`], [`settlement`], [`reconciliation`], [`analytics`], [`users`], [`invitations`], [`admin`], [`privacy`], [`risk`], [`webhook`], [`alerts`], [`health`], [`routing`], [`test_clocks`] | the domain: records, [`idempotency::Answer`], [`error::ApiError`] codes |
//! | **HTTP API** (`/v1`, callbacks, pages) | `routes` (private), [`openapi`], [`api_docs`], [`extract`], [`auth`] | JSON over HTTP |
//! | **dashboard** (`/dashboard`) | [`web`] | HTML forms, in three languages |
//! | **workers** | [`workers`], [`ledger_workers`] | the clock and the store |
//! | plumbing | [`config`], [`clock`], [`networks`], [`orders`], [`secrets`], [`metrics`], [`telemetry`], [`rate_limit`], [`instance`] | — |
//!
//! A state-changing service answers an [`idempotency::Answer`] (the status and object kept
//! with the `Idempotency-Key` for replays): the API renders it as HTTP, the dashboard reads
//! its object or refusal. The dashboard acts as [`auth::Caller::dashboard`], under the key of
//! the form it posted, so a form sent twice acts once. No rule lives in a face.
//!
//! Handlers stay thin: extract → parse into domain types → one service call → respond. Every
//! API error goes through [`error::ApiError`]; every request gets a `Request-Id`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use cajero_store::Store;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

pub mod admin;
pub mod alerts;
pub mod analytics;
pub mod api_docs;
pub mod audit_chain;
pub mod auth;
pub mod clock;
pub mod config;
pub mod error;
pub mod error_codes;
pub mod extract;
pub mod funds;
pub mod health;
pub mod idempotency;
pub mod instance;
pub mod invitations;
pub mod kyc;
pub mod ledger_workers;
pub mod list;
pub mod merchant_cache;
pub mod metrics;
mod middleware;
pub mod network_config;
pub mod network_refunds;
pub mod networks;
pub mod openapi;
pub mod operators;
pub mod orders;
pub mod payins;
pub mod payouts;
pub mod platform;
pub mod privacy;
pub mod rate_limit;
pub mod reconciliation;
pub mod refunds;
pub mod risk;
mod routes;
pub mod routing;
pub mod sanctions;
pub mod secrets;
pub mod settlement;
pub mod telemetry;
pub mod test_clocks;
pub mod time;
pub mod uiaf;
pub mod users;
pub mod validate;
pub mod web;
pub mod webhook;
pub mod workers;

use clock::Clock;
use config::Config;

/// Request bodies larger than this are refused with 413 (API.md: 64 KiB).
pub const REQUEST_BODY_BYTES_MAX: usize = 64 * 1024;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The time source.
    pub clock: Arc<dyn Clock>,
    /// Hashes presented API keys.
    pub keys: auth::KeyHasher,
    /// The validated configuration.
    pub config: Arc<Config>,
    /// The cash networks this instance reaches.
    pub networks: networks::Networks,
    /// This instance's id and incarnation (registered when it serves).
    pub instance: Arc<instance::Instance>,
    /// Seals and opens stored secrets (webhook signing secrets) with the instance key.
    pub secrets: cajero_store::secret_box::SecretBox,
    /// Requests per key, failed authentications per address.
    pub rate_limits: Arc<rate_limit::RateLimits>,
    /// API keys and merchants' settings in memory, checked against the database's version on
    /// every request.
    pub cache: Arc<merchant_cache::MerchantCache>,
    /// Screens KYC submissions against the sanctions lists in force.
    pub screening: Arc<dyn kyc::Screening>,
    /// The sanctions lists in force, as this instance last read them.
    pub sanctions: Arc<sanctions::Sanctions>,
    /// The risk rules in force, as this instance last read them.
    pub risk: Arc<risk::RiskRules>,
}

impl AppState {
    /// Opens the store named by the configuration and prepares the key hasher.
    pub async fn open(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<AppState> {
        let store = Store::open(config.database_url.expose(), &config.store_options())
            .await
            .with_context(|| {
                format!(
                    "opening the database {}",
                    cajero_store::redact_url(config.database_url.expose())
                )
            })?;
        let keys = admin::key_hasher(&store, &config, clock.as_ref())
            .await
            .context("preparing the API key hasher")?;
        let instance = instance::Instance::for_config(config.instance_id.as_deref(), config.listen);
        // Not wrapped in context: the message already names the configuration key to fix.
        let secrets = secrets::open_secret_box(&store, &config, clock.as_ref()).await?;
        let config_rate_limits = config.rate_limits.clone();
        alerts::set_cooldown(config.alerts.cooldown_minutes);
        let lists = Arc::new(sanctions::Sanctions::new());
        let threshold = config.sanctions.threshold();
        Ok(AppState {
            store,
            clock,
            keys,
            config: Arc::new(config),
            networks: networks::Networks::default(),
            instance: Arc::new(instance),
            secrets,
            rate_limits: Arc::new(rate_limit::RateLimits::new(&config_rate_limits)),
            cache: Arc::new(merchant_cache::MerchantCache::new()),
            screening: Arc::new(sanctions::SanctionsScreening {
                sanctions: lists.clone(),
                threshold,
            }),
            sanctions: lists,
            risk: Arc::new(risk::RiskRules::new()),
        })
    }

    /// Like [`AppState::open`], and reaches the cash networks: the configured simulator, or
    /// one started embedded on a loopback port (its state next to a SQLite database), for
    /// test mode; and the gateways of `[[networks]]`.
    pub async fn open_serving(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<AppState> {
        let mut state = AppState::open(config, clock).await?;
        let public_url = state.config.public_url();
        state.networks = match &state.config.simulator {
            Some(sim) => networks::Networks::simulator(
                &sim.url,
                &sim.merchant_id,
                sim.secret.expose(),
                &public_url,
            )?,
            None => networks::Networks::embedded_simulator(
                &public_url,
                state.clock.as_ref(),
                networks::EmbeddedOptions {
                    state_url: networks::embedded_state_url(state.config.database_url.expose()),
                    autopilot: false,
                },
            )
            .await
            .context("starting the embedded network simulator")?,
        };
        state.networks = std::mem::take(&mut state.networks)
            .with_configured(&state.config.networks, &public_url, &|var| {
                std::env::var(var).ok()
            })?
            .with_health(state.config.health.clone());
        Ok(state)
    }
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let timeout = Duration::from_millis(state.config.request_timeout_ms);
    Router::new()
        .merge(routes::operations())
        .merge(routes::v1())
        .merge(web::router())
        .merge(web::console::router())
        .fallback(error::route_not_found)
        .layer(DefaultBodyLimit::max(REQUEST_BODY_BYTES_MAX))
        .layer(RequestBodyLimitLayer::new(REQUEST_BODY_BYTES_MAX))
        // A network's file is larger than any API request: the upload has its own limit.
        .merge(
            routes::uploads()
                .layer(DefaultBodyLimit::max(reconciliation::FILE_BYTES_MAX))
                .layer(RequestBodyLimitLayer::new(reconciliation::FILE_BYTES_MAX)),
        )
        // A KYC document: up to 10 MiB, and the form around it.
        .merge(
            web::uploads()
                .layer(DefaultBodyLimit::max(kyc::DOCUMENT_BYTES_MAX + 64 * 1024))
                .layer(RequestBodyLimitLayer::new(
                    kyc::DOCUMENT_BYTES_MAX + 64 * 1024,
                )),
        )
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            timeout,
        ))
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::request_context,
        ))
        .with_state(state)
}

/// A running server.
#[derive(Debug)]
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its state (tests reach the store and clock through it).
    pub state: AppState,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// The base URL (`http://127.0.0.1:port`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets in-flight requests finish, closes the store.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(());
        self.task.await.context("the server task failed")?
    }
}

/// Serves on `listener` until `shutdown` completes, then drains (within the configured grace
/// period) and closes the store. Registers this incarnation first: what an earlier
/// incarnation of the same instance held is released before anything else runs.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let grace = Duration::from_millis(state.config.shutdown_grace_ms);
    let store = state.store.clone();
    let networks = state.networks.clone();
    if !state.instance.is_registered() {
        workers::heartbeat::register(&state)
            .await
            .context("registering this instance")?;
    }
    let _ = metrics::handle();
    let metrics_server = match state.config.metrics.listen {
        Some(addr) => {
            let listener = TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding metrics.listen {addr}"))?;
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let task = tokio::spawn(metrics::serve_own(listener, async move {
                let _ = stopped.await;
            }));
            Some((stop, task))
        }
        None => None,
    };
    let background = workers::start(&state)?;
    let (draining_tx, draining_rx) = tokio::sync::oneshot::channel::<()>();
    let app = router(state);
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!("shutting down: draining in-flight requests");
        let _ = draining_tx.send(());
    });
    let server = async move { server.await.context("the HTTP server failed") };
    tokio::pin!(server);
    let result = tokio::select! {
        result = &mut server => result,
        () = async {
            let _ = draining_rx.await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(grace_ms = grace.as_millis() as u64, "grace period over; closing with requests in flight");
            Ok(())
        }
    };
    if let Some((stop, task)) = metrics_server {
        let _ = stop.send(());
        let _ = task.await;
    }
    background.stop(grace).await;
    networks.shutdown().await;
    store.close().await;
    result
}

/// Starts a server on `listen` in the background (tests, `cajero demo`).
pub async fn spawn(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Running> {
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    let mut config = config;
    config.listen = addr;
    let state = AppState::open_serving(config, clock).await?;
    // Registered before it returns, so that callers' work is held by a live incarnation from
    // the start.
    workers::heartbeat::register(&state)
        .await
        .context("registering this instance")?;
    let (shutdown, signal) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(state.clone(), listener, async move {
        let _ = signal.await;
    }));
    Ok(Running {
        addr,
        state,
        shutdown,
        task,
    })
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
