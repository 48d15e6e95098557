//! `cajero bench payouts|payins`: the public API under load, against a hollow pipeline.
//!
//! One run starts a fresh server and an embedded simulator on loopback (a temporary SQLite
//! database unless `--database-url` says otherwise), seeds a merchant, a test key and, for
//! payouts, a balance topped up through the API, then `--concurrency` tasks send `POST
//! /v1/payouts` (or `/v1/payins`) over keep-alive connections, each with its own
//! Idempotency-Key, until `--duration-s` has passed.
//!
//! Then, in the same run, the same load drives a **hollow pipeline**: the same HTTP hops
//! (client → an axum server → an HTTP call to a loopback responder standing in for the
//! network) and one durable commit (a single-row INSERT through [`Store::write`] on the same
//! kind of database), with no business logic. Business ÷ hollow is DESIGN.md's "business-logic
//! overhead" figure. The targets are goals to compare with, never assertions.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_server::clock::{Clock, SystemClock};
use cajero_server::config::{Config, Overrides, Secret};
use cajero_server::networks::{EmbeddedOptions, Networks};
use cajero_server::{AppState, admin};
use cajero_store::{Engine, Store, StoreError, StoreOptions};
use clap::Args;
use serde::Serialize;
use serde_json::{Value, json};

use crate::output;

/// The longest one phase (business or hollow) may run, in seconds.
pub const BENCH_DURATION_S_MAX: u64 = 600;
/// The most client tasks (each with its own keep-alive connection).
pub const BENCH_CONCURRENCY_MAX: usize = 1_024;
/// The most requests one phase sends, whatever the duration.
pub const BENCH_REQUESTS_MAX: u64 = 10_000_000;
/// The highest offered load `--rate-per-s` accepts, in requests per second.
pub const BENCH_RATE_PER_S_MAX: u32 = 100_000;
/// One request's time limit on the client, in seconds.
pub const BENCH_REQUEST_TIMEOUT_S: u64 = 30;
/// The amount of each payout, in pesos (the simulated networks' minimum is 1,000).
const PAYOUT_AMOUNT_COP: i64 = 2_000;
/// The amount of each pay-in's voucher, in pesos.
const PAYIN_AMOUNT_COP: i64 = 50_000;
/// The balance is funded for this many payouts per second over the whole phase.
const FUNDED_PAYOUTS_PER_S: u64 = 20_000;

/// DESIGN.md: payout create end to end on embedded SQLite, per second, sustained.
pub const TARGET_SQLITE_PER_S: f64 = 5_000.0;
/// DESIGN.md: the same on PostgreSQL.
pub const TARGET_POSTGRES_PER_S: f64 = 2_500.0;
/// DESIGN.md: business throughput as a share of the hollow pipeline's, at least.
pub const TARGET_RATIO_MIN: f64 = 0.70;
/// DESIGN.md: p99 at 1,000 requests/s offered, in milliseconds (measured with `--rate-per-s`).
pub const TARGET_P99_MS: f64 = 25.0;
/// DESIGN.md: the offered load the p99 target is stated at, in requests per second.
pub const TARGET_P99_RATE_PER_S: u32 = 1_000;

/// Which order the business phase creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `POST /v1/payouts`.
    Payouts,
    /// `POST /v1/payins`.
    Payins,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Payouts => "payouts",
            Kind::Payins => "payins",
        }
    }

    /// A valid, distinct request body.
    fn body(self, task: usize, n: u64) -> Value {
        match self {
            Kind::Payouts => json!({
                "amount": PAYOUT_AMOUNT_COP, "currency": "COP",
                "reference": format!("bench-{task}-{n}"),
                "beneficiary": {"name": "Luis Pérez", "document": {"type": "CC", "number": "79876543"}},
            }),
            Kind::Payins => json!({
                "amount": PAYIN_AMOUNT_COP, "currency": "COP",
                "reference": format!("bench-{task}-{n}"),
                "description": "Pedido de prueba",
                "customer": {"name": "Ana Gómez"},
            }),
        }
    }
}

/// `cajero bench payouts|payins`.
#[derive(Debug, Args)]
pub struct OrdersArgs {
    /// How long each phase (business, then hollow) sends requests, in seconds.
    #[arg(long, default_value_t = 30)]
    pub duration_s: u64,
    /// Client tasks sending at once, each over its own keep-alive connection.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Offered load in requests per second, spread over the tasks (latency is then counted
    /// from each request's scheduled start); without it every task sends as fast as it can.
    #[arg(long)]
    pub rate_per_s: Option<u32>,
    /// Database URL; a fresh SQLite file in a temporary folder by default. A PostgreSQL
    /// database given here gets the bench's merchant, orders and a scratch table (dropped after).
    #[arg(long)]
    pub database_url: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Latency percentiles, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Slowest.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

/// One phase's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    /// Requests answered or failed.
    pub requests: u64,
    /// Answered with 2xx.
    pub ok: u64,
    /// Everything else.
    pub errors: u64,
    /// Errors by HTTP status, or `transport` when no response arrived.
    pub errors_by_status: BTreeMap<String, u64>,
    /// From the first request to the last answer, in seconds.
    pub seconds: f64,
    /// All requests per second.
    pub requests_per_s: f64,
    /// 2xx answers per second.
    pub ok_per_s: f64,
    /// 2xx answers in each second of the phase (a falling series means it slows down as data
    /// grows).
    pub ok_by_second: Vec<u64>,
    /// With an offered load: requests scheduled but not sent by the end (the server fell
    /// behind); 0 otherwise.
    pub unsent: u64,
    /// Latency of the 2xx answers.
    pub latency_ms: Latency,
}

/// Where and how it ran.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// Logical CPUs this process may use (`nproc`).
    pub cpus: usize,
    /// `uname -m`.
    pub arch: &'static str,
    /// The operating system.
    pub os: &'static str,
    /// `release` or `debug` (debug builds are several times slower).
    pub build: &'static str,
    /// The 1-minute load average when the run started (`/proc/loadavg`; `null` where there is
    /// none): the cores may be shared with other work.
    pub load_average_1m: Option<f64>,
}

/// DESIGN.md's targets and whether this run met them.
#[derive(Debug, Clone, Serialize)]
pub struct Targets {
    /// 2xx per second wanted on this engine.
    pub ok_per_s: f64,
    /// Whether the business phase reached it.
    pub ok_per_s_met: bool,
    /// Business ÷ hollow wanted, at least.
    pub ratio_min: f64,
    /// Whether the ratio reached it.
    pub ratio_met: bool,
    /// p99 wanted at `p99_rate_per_s` offered, in milliseconds.
    pub p99_ms: f64,
    /// The offered load the p99 target is stated at.
    pub p99_rate_per_s: u32,
    /// Whether p99 met it; `null` unless this run offered that load (`--rate-per-s`).
    pub p99_met: Option<bool>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `payouts` or `payins`.
    pub bench: &'static str,
    /// When it ran (UTC).
    pub date: String,
    /// The machine.
    pub machine: Machine,
    /// `sqlite` or `postgres`.
    pub database: &'static str,
    /// Seconds each phase sent for.
    pub duration_s: u64,
    /// Client tasks.
    pub concurrency: usize,
    /// Offered load, or `null` for as fast as possible.
    pub rate_per_s: Option<u32>,
    /// The real thing: the public API end to end.
    pub business: Phase,
    /// The same HTTP hops and one durable commit, nothing else.
    pub hollow: Phase,
    /// `business.ok_per_s ÷ hollow.ok_per_s`.
    pub ratio: f64,
    /// DESIGN.md's targets.
    pub targets: Targets,
}

/// Runs both phases and prints the report.
pub async fn run(kind: Kind, args: OrdersArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=BENCH_DURATION_S_MAX).contains(&args.duration_s),
        "--duration-s must be between 1 and {BENCH_DURATION_S_MAX}"
    );
    anyhow::ensure!(
        (1..=BENCH_CONCURRENCY_MAX).contains(&args.concurrency),
        "--concurrency must be between 1 and {BENCH_CONCURRENCY_MAX}"
    );
    if let Some(rate) = args.rate_per_s {
        anyhow::ensure!(
            (1..=BENCH_RATE_PER_S_MAX).contains(&rate),
            "--rate-per-s must be between 1 and {BENCH_RATE_PER_S_MAX}"
        );
    }
    let report = measure(kind, &args).await?;
    output::print(args.json, &serde_json::to_value(&report)?, || {
        human(&report)
    });
    Ok(())
}

async fn measure(kind: Kind, args: &OrdersArgs) -> anyhow::Result<Report> {
    let dir = tempfile::tempdir().context("creating a temporary folder for the bench database")?;
    let database_url = args
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let load = Load {
        duration: Duration::from_secs(args.duration_s),
        concurrency: args.concurrency,
        rate_per_s: args.rate_per_s,
    };
    let date = output::timestamp(jiff::Timestamp::now());
    let load_average_1m = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok());

    // The business phase: the real server, the simulator, the public API.
    let mut config = Config::load(
        None,
        Overrides {
            listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            database_url: Some(database_url.clone()),
            log_format: None,
        },
    )?;
    config.log_level = std::env::var("CAJERO_LOG_LEVEL").unwrap_or_else(|_| "warn".into());
    // The benchmark measures throughput, which a per-key rate limit would cap.
    config.rate_limits.per_key_per_second = 0;
    cajero_server::telemetry::init(config.log_format, &config.log_level);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .context("listening on loopback")?;
    config.listen = listener.local_addr()?;
    config.database_url = Secret::new(database_url.clone());
    let store_options = config.store_options();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut state = AppState::open(config, clock.clone()).await?;
    // The simulator keeps its state in memory: the benchmark measures cajero, not the
    // simulator's own writes.
    state.networks = Networks::embedded_simulator(
        &state.config.public_url(),
        clock.as_ref(),
        EmbeddedOptions::default(),
    )
    .await
    .context("starting the simulated cash network")?;
    let engine = state.store.engine();
    let base = state.config.public_url();
    let merchant =
        admin::create_merchant(&state.store, clock.as_ref(), "Bench", Some("900123456-8")).await?;
    admin::set_merchant_status(
        &state.store,
        clock.as_ref(),
        merchant.id,
        MerchantStatus::Active,
    )
    .await?;
    let (_, secret) = admin::create_api_key(
        &state.store,
        clock.as_ref(),
        &state.keys,
        merchant.id,
        Mode::Test,
    )
    .await?;
    let key = secret.expose().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(cajero_server::serve(state, listener, async move {
        let _ = stopped.await;
    }));
    let client = client(args.concurrency)?;
    let business = async {
        if kind == Kind::Payouts {
            fund(&client, &base, &key, &load).await?;
        }
        let target = Target {
            url: format!("{base}/v1/{}", kind.name()),
            key: Some(key.clone()),
            kind,
        };
        drive(&client, &target, &load).await
    }
    .await;
    let _ = stop.send(());
    let served = server.await.context("the bench server task failed")?;
    let business = business?;
    served?;

    // The hollow phase: same hops, one durable commit, nothing else.
    let hollow = hollow(
        &client,
        engine,
        &database_url,
        &dir,
        &store_options,
        kind,
        &load,
    )
    .await?;
    drop(dir);

    let ratio = if hollow.ok_per_s > 0.0 {
        business.ok_per_s / hollow.ok_per_s
    } else {
        0.0
    };
    let target_per_s = match engine {
        Engine::Sqlite => TARGET_SQLITE_PER_S,
        Engine::Postgres => TARGET_POSTGRES_PER_S,
    };
    let p99_met = (args.rate_per_s == Some(TARGET_P99_RATE_PER_S)).then_some(
        business.latency_ms.p99 <= TARGET_P99_MS && business.errors == 0 && business.unsent == 0,
    );
    Ok(Report {
        bench: kind.name(),
        date,
        machine: Machine {
            cpus: std::thread::available_parallelism().map_or(1, usize::from),
            arch: std::env::consts::ARCH,
            os: std::env::consts::OS,
            build: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
            load_average_1m,
        },
        database: engine_name(engine),
        duration_s: args.duration_s,
        concurrency: args.concurrency,
        rate_per_s: args.rate_per_s,
        targets: Targets {
            ok_per_s: target_per_s,
            ok_per_s_met: business.ok_per_s >= target_per_s,
            ratio_min: TARGET_RATIO_MIN,
            ratio_met: ratio >= TARGET_RATIO_MIN,
            p99_ms: TARGET_P99_MS,
            p99_rate_per_s: TARGET_P99_RATE_PER_S,
            p99_met,
        },
        business,
        hollow,
        ratio,
    })
}

fn engine_name(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => "sqlite",
        Engine::Postgres => "postgres",
    }
}

fn client(concurrency: usize) -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(concurrency)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(BENCH_REQUEST_TIMEOUT_S))
        .build()
        .context("building the HTTP client")
}

/// Tops the balance up through the API, enough for every payout the phase could send.
async fn fund(client: &reqwest::Client, base: &str, key: &str, load: &Load) -> anyhow::Result<()> {
    let payouts = (load.duration.as_secs() * FUNDED_PAYOUTS_PER_S).min(BENCH_REQUESTS_MAX);
    let mut left = i64::try_from(payouts)?.saturating_mul(PAYOUT_AMOUNT_COP);
    let mut n = 0;
    while left > 0 {
        let amount = left.min(cajero_server::funds::TOPUP_AMOUNT_MINOR_MAX);
        left -= amount;
        n += 1;
        let response = client
            .post(format!("{base}/v1/topups"))
            .basic_auth(key, Some(""))
            .header("idempotency-key", format!("bench-topup-{n}"))
            .json(&json!({"amount": amount, "currency": "COP", "description": "bench funding"}))
            .send()
            .await
            .context("topping up the bench balance")?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            anyhow::bail!("topping up the bench balance: {status}: {body}");
        }
    }
    Ok(())
}

/// How hard and how long.
#[derive(Debug, Clone)]
struct Load {
    duration: Duration,
    concurrency: usize,
    rate_per_s: Option<u32>,
}

/// Where requests go.
#[derive(Debug, Clone)]
struct Target {
    url: String,
    key: Option<String>,
    kind: Kind,
}

/// What one client task saw.
#[derive(Debug, Default)]
struct Tally {
    latencies_us: Vec<u64>,
    errors: BTreeMap<String, u64>,
    /// 2xx answers by the second (since the phase started) they arrived in.
    ok_by_second: Vec<u64>,
    /// Requests scheduled (with an offered load) but not sent before the deadline.
    unsent: u64,
}

/// Sends requests from `load.concurrency` tasks until the duration has passed.
async fn drive(client: &reqwest::Client, target: &Target, load: &Load) -> anyhow::Result<Phase> {
    let sent = Arc::new(AtomicU64::new(0));
    let run = std::process::id();
    let started = Instant::now();
    let deadline = started + load.duration;
    // With an offered load, each task sends every `interval`, the tasks evenly staggered.
    let interval = load
        .rate_per_s
        .map(|rate| Duration::from_secs_f64(load.concurrency as f64 / f64::from(rate)));
    let mut tasks = Vec::with_capacity(load.concurrency);
    for task in 0..load.concurrency {
        let client = client.clone();
        let target = target.clone();
        let sent = sent.clone();
        let offset = interval.map(|i| i.mul_f64(task as f64 / load.concurrency as f64));
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut n: u64 = 0;
            loop {
                let scheduled = match (interval, offset) {
                    (Some(interval), Some(offset)) => {
                        let at = started + offset + interval.mul_f64(n as f64);
                        if at >= deadline {
                            break;
                        }
                        if Instant::now() >= deadline {
                            // Behind schedule at the end: what was offered but never sent is
                            // counted, not sent late (the phase stays within its duration).
                            let left = (deadline - at).as_secs_f64() / interval.as_secs_f64();
                            tally.unsent += left.ceil() as u64;
                            break;
                        }
                        tokio::time::sleep_until(at.into()).await;
                        at
                    }
                    _ => Instant::now(),
                };
                if scheduled >= deadline
                    || sent.fetch_add(1, Ordering::Relaxed) >= BENCH_REQUESTS_MAX
                {
                    break;
                }
                let mut request = client
                    .post(&target.url)
                    .header("idempotency-key", format!("bench-{run}-{task}-{n}"))
                    .json(&target.kind.body(task, n));
                if let Some(key) = &target.key {
                    request = request.basic_auth(key, Some(""));
                }
                n += 1;
                let outcome = match request.send().await {
                    Ok(response) => {
                        let status = response.status();
                        match response.bytes().await {
                            Ok(_) if status.is_success() => Ok(()),
                            Ok(_) => Err(status.as_u16().to_string()),
                            Err(_) => Err("transport".to_string()),
                        }
                    }
                    Err(_) => Err("transport".to_string()),
                };
                match outcome {
                    Ok(()) => {
                        let micros =
                            u64::try_from(scheduled.elapsed().as_micros()).unwrap_or(u64::MAX);
                        tally.latencies_us.push(micros);
                        let second = usize::try_from(started.elapsed().as_secs()).unwrap_or(0);
                        if tally.ok_by_second.len() <= second {
                            tally.ok_by_second.resize(second + 1, 0);
                        }
                        tally.ok_by_second[second] += 1;
                    }
                    Err(key) => *tally.errors.entry(key).or_default() += 1,
                }
            }
            tally
        }));
    }
    let mut latencies = Vec::new();
    let mut errors_by_status: BTreeMap<String, u64> = BTreeMap::new();
    let mut ok_by_second: Vec<u64> = Vec::new();
    let mut unsent = 0;
    for task in tasks {
        let tally = task.await.context("a bench client task failed")?;
        latencies.extend(tally.latencies_us);
        unsent += tally.unsent;
        if ok_by_second.len() < tally.ok_by_second.len() {
            ok_by_second.resize(tally.ok_by_second.len(), 0);
        }
        for (total, count) in ok_by_second.iter_mut().zip(tally.ok_by_second) {
            *total += count;
        }
        for (status, count) in tally.errors {
            *errors_by_status.entry(status).or_default() += count;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let ok = latencies.len() as u64;
    let errors: u64 = errors_by_status.values().sum();
    let requests = ok + errors;
    Ok(Phase {
        requests,
        ok,
        errors,
        errors_by_status,
        seconds,
        requests_per_s: requests as f64 / seconds,
        ok_per_s: ok as f64 / seconds,
        ok_by_second,
        unsent,
        latency_ms: latency(&latencies),
    })
}

/// Percentiles of sorted latencies in microseconds, in milliseconds (nearest rank).
fn latency(sorted_us: &[u64]) -> Latency {
    let at = |p: f64| {
        if sorted_us.is_empty() {
            return 0.0;
        }
        let rank = ((p * sorted_us.len() as f64).ceil() as usize).clamp(1, sorted_us.len());
        sorted_us[rank - 1] as f64 / 1_000.0
    };
    let mean = if sorted_us.is_empty() {
        0.0
    } else {
        sorted_us.iter().sum::<u64>() as f64 / sorted_us.len() as f64 / 1_000.0
    };
    Latency {
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        max: sorted_us.last().map_or(0.0, |&us| us as f64 / 1_000.0),
        mean,
    }
}

/// The hollow pipeline's scratch table: one row per request.
const HOLLOW_CREATE: &str = "CREATE TABLE bench_hollow (id TEXT PRIMARY KEY, body TEXT NOT NULL, \
                             network_response TEXT NOT NULL, created_at BIGINT NOT NULL)";
const HOLLOW_DROP: &str = "DROP TABLE IF EXISTS bench_hollow";
const HOLLOW_INSERT: &str =
    "INSERT INTO bench_hollow (id, body, network_response, created_at) VALUES ($1, $2, $3, $4)";

/// The hollow pipeline's state: the network stand-in's URL and the store.
#[derive(Debug, Clone)]
struct Hollow {
    http: reqwest::Client,
    network_url: String,
    store: Store,
}

/// Starts the network stand-in and the hollow server, drives the hollow server with the same
/// load, and tears both down.
async fn hollow(
    client: &reqwest::Client,
    engine: Engine,
    database_url: &str,
    dir: &tempfile::TempDir,
    options: &StoreOptions,
    kind: Kind,
    load: &Load,
) -> anyhow::Result<Phase> {
    let url = match engine {
        Engine::Sqlite => format!("sqlite://{}", dir.path().join("hollow.db").display()),
        Engine::Postgres => database_url.to_string(),
    };
    let store = Store::open(&url, options)
        .await
        .context("opening the hollow pipeline's database")?;
    store
        .write(|mut conn| {
            Box::pin(async move {
                cajero_store::execute!(&mut conn, HOLLOW_DROP)?;
                cajero_store::execute!(&mut conn, HOLLOW_CREATE)?;
                Ok::<_, StoreError>(())
            })
        })
        .await?;

    let network = axum::Router::new().route("/orders", axum::routing::post(network_standin));
    let network_listener =
        tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let network_url = format!("http://{}/orders", network_listener.local_addr()?);
    let state = Hollow {
        http: client.clone(),
        network_url,
        store: store.clone(),
    };
    let app = axum::Router::new()
        .route("/v1/hollow", axum::routing::post(hollow_create))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut stopped_network = stopped.clone();
    let mut stopped_hollow = stopped;
    let network_task = tokio::spawn(async move {
        axum::serve(network_listener, network)
            .with_graceful_shutdown(async move {
                let _ = stopped_network.wait_for(|s| *s).await;
            })
            .await
    });
    let hollow_task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped_hollow.wait_for(|s| *s).await;
            })
            .await
    });
    let target = Target {
        url: format!("{base}/v1/hollow"),
        key: None,
        kind,
    };
    let phase = drive(client, &target, load).await;
    let _ = stop.send(true);
    let _ = hollow_task.await;
    let _ = network_task.await;
    if engine == Engine::Postgres {
        // The scratch table goes; SQLite's goes with the temporary folder.
        store
            .write(|mut conn| {
                Box::pin(async move {
                    cajero_store::execute!(&mut conn, HOLLOW_DROP)?;
                    Ok::<_, StoreError>(())
                })
            })
            .await?;
    }
    store.close().await;
    phase
}

/// Stands in for the cash network: answers a create with a small JSON object.
async fn network_standin(Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    let reference = body.get("reference").cloned().unwrap_or(Value::Null);
    (
        StatusCode::CREATED,
        Json(json!({"status": "created", "reference": reference, "code": "5821093744"})),
    )
}

/// The hollow pipeline's one route: the network call, then one durable single-row INSERT.
async fn hollow_create(
    State(state): State<Hollow>,
    headers: HeaderMap,
    Json(body): Json<Value>,
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
    let network = match state.http.post(&state.network_url).json(&body).send().await {
        Ok(response) if response.status().is_success() => match response.text().await {
            Ok(text) => text,
            Err(_) => return (StatusCode::BAD_GATEWAY, Json(json!({"error": "network"}))),
        },
        _ => return (StatusCode::BAD_GATEWAY, Json(json!({"error": "network"}))),
    };
    let created_at = jiff::Timestamp::now().as_microsecond();
    let row_id = id.clone();
    let body_text = body.to_string();
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

fn human(r: &Report) -> String {
    let phase = |name: &str, p: &Phase| {
        let errors = if p.errors == 0 {
            "no errors".to_string()
        } else {
            let by: Vec<String> = p
                .errors_by_status
                .iter()
                .map(|(s, n)| format!("{s}: {n}"))
                .collect();
            format!("{} errors ({})", p.errors, by.join(", "))
        };
        let unsent = if p.unsent == 0 {
            String::new()
        } else {
            format!(", {} offered but not sent in time", p.unsent)
        };
        let trend = match (p.ok_by_second.first(), p.ok_by_second.len()) {
            (Some(first), n) if n >= 3 => format!(
                "; {first}/s in the first second, {}/s in the last full one",
                p.ok_by_second[n - 2]
            ),
            _ => String::new(),
        };
        format!(
            "  {name:<9} {:>9.0} req/s ok   ({} ok in {:.1} s, {errors}{unsent}{trend})\n            \
             latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
            p.ok_per_s,
            p.ok,
            p.seconds,
            p.latency_ms.p50,
            p.latency_ms.p90,
            p.latency_ms.p99,
            p.latency_ms.max
        )
    };
    let met = |yes: bool| if yes { "met" } else { "NOT met" };
    let load = match r.rate_per_s {
        Some(rate) => format!("{rate} req/s offered over {} tasks", r.concurrency),
        None => format!("{} tasks as fast as they can", r.concurrency),
    };
    let mut text = format!(
        "cajero bench {} — {} — {} CPUs {} (load {}) {} build — {} — {} s per phase, {load}\n{}\n{}\n",
        r.bench,
        r.date,
        r.machine.cpus,
        r.machine.arch,
        r.machine
            .load_average_1m
            .map_or_else(|| "unknown".to_string(), |l| format!("{l:.2}")),
        r.machine.build,
        r.database,
        r.duration_s,
        phase("business", &r.business),
        phase("hollow", &r.hollow),
    );
    text.push_str(&format!(
        "  business/hollow {:.0} %\n  targets: {:.0}/s on {}: {}; ratio ≥ {:.0} %: {}; p99 ≤ {:.0} ms at {}/s offered: {}",
        r.ratio * 100.0,
        r.targets.ok_per_s,
        r.database,
        met(r.targets.ok_per_s_met),
        r.targets.ratio_min * 100.0,
        met(r.targets.ratio_met),
        r.targets.p99_ms,
        r.targets.p99_rate_per_s,
        match r.targets.p99_met {
            Some(yes) => met(yes),
            None => "not measured (use --rate-per-s 1000)",
        },
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let us: Vec<u64> = (1..=100).map(|n| n * 1_000).collect();
        let l = latency(&us);
        assert_eq!(l.p50, 50.0);
        assert_eq!(l.p90, 90.0);
        assert_eq!(l.p99, 99.0);
        assert_eq!(l.max, 100.0);
        assert_eq!(latency(&[]).p99, 0.0);
    }

    #[test]
    fn bodies_differ_by_task_and_request() {
        assert_ne!(Kind::Payouts.body(0, 1), Kind::Payouts.body(1, 0));
        assert_eq!(Kind::Payins.body(2, 3)["reference"], "bench-2-3");
    }
}
