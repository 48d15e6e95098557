//! `cajero bench payouts|payins`: the public API under load, against a hollow pipeline.
//!
//! One run starts, in this process, a network stand-in ([`super::netstub`]: answers creates at
//! once, keeps nothing, sends each order's `paid` callback signed as the simulator does) and
//! one or more cajero servers on loopback (a temporary SQLite database unless
//! `--database-url` says otherwise), configured to reach the stand-in exactly as they reach
//! the simulator (the same connector, another base URL). It seeds a merchant, a test key and,
//! for payouts, a balance topped up through the API, then `--concurrency` tasks send `POST
//! /v1/payouts` (or `/v1/payins`) until `--duration-s` has passed. `--network sim` puts the
//! full embedded simulator in the stand-in's place (end to end, no callbacks: nobody goes to
//! a counter).
//!
//! Then, in the same run, the same load drives a **hollow pipeline** ([`super::hollow`]) that
//! calls the same stand-in. Business ÷ hollow is DESIGN.md's "business-logic overhead" figure.
//!
//! The load generator, each server instance and the network run on runtimes of their own
//! ([`super::threads`]), so each phase reports where the CPU time went. The targets are goals
//! to compare with, never assertions.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_server::clock::{Clock, SystemClock};
use cajero_server::config::{Config, Overrides};
use cajero_server::networks::{EmbeddedOptions, Networks, SIM_MERCHANT_ID};
use cajero_server::{AppState, admin};
use cajero_store::{Engine, Store, StoreError};
use clap::{Args, ValueEnum};
use serde_json::{Value, json};
use tokio::runtime::Handle;
use tokio::sync::oneshot;

use super::hollow;
use super::load::{self, Driven, Load, Target};
use super::netstub::{NetStub, StubOptions, StubReport};
use super::report::{self, Judged, Machine, Phase, Report, Storage};
use super::threads::{self, CpuSplit, Runtimes, on, on_thread};
use crate::output;

/// The longest one phase (business or hollow) may run, in seconds.
pub const BENCH_DURATION_S_MAX: u64 = 600;
/// The most client tasks (each with its own keep-alive connection).
pub const BENCH_CONCURRENCY_MAX: usize = 1_024;
/// The most requests one phase sends, whatever the duration.
pub const BENCH_REQUESTS_MAX: u64 = 10_000_000;
/// The highest offered load `--rate-per-s` accepts, in requests per second.
pub const BENCH_RATE_PER_S_MAX: u32 = 100_000;
/// The most server instances `--instances` starts in the process (each has its own pool of
/// PostgreSQL connections).
pub const BENCH_INSTANCES_MAX: usize = 8;
/// One request's time limit on the client, in seconds.
pub const BENCH_REQUEST_TIMEOUT_S: u64 = 30;
/// After the business phase, how long the stand-in may take to deliver the callbacks still
/// due, in seconds (what is left is reported as unsent).
pub const BENCH_CALLBACK_DRAIN_S_MAX: u64 = 30;
/// The amount of each payout, in pesos (the simulated networks' minimum is 1,000).
pub const PAYOUT_AMOUNT_COP: i64 = 2_000;
/// The amount of each pay-in's voucher, in pesos.
const PAYIN_AMOUNT_COP: i64 = 50_000;
/// The balance is funded for this many payouts per second over the whole phase.
pub const FUNDED_PAYOUTS_PER_S: u64 = 20_000;

/// DESIGN.md: payout create end to end on embedded SQLite, per second, on 2 cores shared
/// with the client (it states no absolute figure for PostgreSQL).
pub const TARGET_SQLITE_PAYOUTS_PER_S: f64 = 4_000.0;
/// DESIGN.md: payouts (and pay-ins) on SQLite as a share of the hollow pipeline, at least.
pub const TARGET_SQLITE_RATIO_MIN: f64 = 0.70;
/// DESIGN.md: payouts on PostgreSQL as a share of its hollow pipeline, at least (it states no
/// ratio for pay-ins on PostgreSQL).
pub const TARGET_POSTGRES_PAYOUTS_RATIO_MIN: f64 = 0.50;
/// DESIGN.md: p99 of payouts on SQLite at 1,000 requests/s offered, in milliseconds
/// (measured with `--rate-per-s 1000`).
pub const TARGET_P99_MS: f64 = 25.0;
/// DESIGN.md: the offered load the p99 target is stated at, in requests per second.
pub const TARGET_P99_RATE_PER_S: u32 = 1_000;

/// What a run's business phase measured, as the targets read it.
#[derive(Debug, Clone, Copy)]
struct Figures {
    ok_per_s: f64,
    ratio: f64,
    p99_ms: f64,
    errors: u64,
    unsent: u64,
}

/// DESIGN.md's targets for `kind` on `engine`, each judged from `figures` or said why this
/// run cannot judge it: a ratio or a rate needs the load as fast as it goes (at a fixed
/// offered load both phases serve it all) and a ratio the same network in both phases; the
/// p99 needs exactly the offered load it is stated at.
fn judge(
    kind: Kind,
    engine: Engine,
    network: NetworkMode,
    rate_per_s: Option<u32>,
    instances: usize,
    figures: Figures,
) -> Vec<Judged> {
    const FIXED_LOAD: &str = "a fixed offered load: neither phase was driven to its capacity";
    let as_fast = |wanted: String, measured: String, met: bool| match rate_per_s {
        None => Judged {
            wanted,
            measured,
            met: Some(met),
            not_judged: None,
        },
        Some(_) => Judged {
            wanted,
            measured,
            met: None,
            not_judged: Some(FIXED_LOAD),
        },
    };
    let mut targets = Vec::new();
    let ratio_min = match (kind, engine) {
        (_, Engine::Sqlite) => Some(TARGET_SQLITE_RATIO_MIN),
        (Kind::Payouts, Engine::Postgres) => Some(TARGET_POSTGRES_PAYOUTS_RATIO_MIN),
        (Kind::Payins, Engine::Postgres) => None,
    };
    if let Some(min) = ratio_min {
        let wanted = format!(
            "{} ≥ {:.0} % of hollow on {}",
            kind.name(),
            min * 100.0,
            engine_name(engine)
        );
        let measured = format!("{:.1} %", figures.ratio * 100.0);
        let mut judged = as_fast(wanted, measured, figures.ratio >= min);
        if network == NetworkMode::Sim && judged.met.is_some() {
            judged.met = None;
            judged.not_judged =
                Some("the business phase called the simulator, the hollow one the stand-in");
        }
        targets.push(judged);
    }
    if (kind, engine) == (Kind::Payouts, Engine::Sqlite) {
        targets.push(as_fast(
            format!("payouts ≥ {TARGET_SQLITE_PAYOUTS_PER_S:.0}/s on sqlite"),
            format!("{:.1}/s", figures.ok_per_s),
            figures.ok_per_s >= TARGET_SQLITE_PAYOUTS_PER_S,
        ));
        let wanted = format!(
            "payouts p99 ≤ {TARGET_P99_MS:.0} ms at {TARGET_P99_RATE_PER_S}/s offered on sqlite, \
             nothing unsent, no errors"
        );
        let measured = format!(
            "p99 {:.2} ms, {} unsent, {} errors",
            figures.p99_ms, figures.unsent, figures.errors
        );
        let judged = rate_per_s == Some(TARGET_P99_RATE_PER_S);
        targets.push(Judged {
            wanted,
            measured,
            met: judged.then_some(
                figures.p99_ms <= TARGET_P99_MS && figures.errors == 0 && figures.unsent == 0,
            ),
            not_judged: (!judged).then_some("stated at --rate-per-s 1000"),
        });
    }
    if engine == Engine::Postgres && kind == Kind::Payouts && instances > 1 {
        targets.push(Judged {
            wanted: format!(
                "{instances} instances scale payouts on postgres (issue 12: two ≥ 1.6× one, \
                 with PostgreSQL's CPU to spare)"
            ),
            measured: format!("{:.1}/s", figures.ok_per_s),
            met: None,
            not_judged: Some("needs a one-instance run on the same database to compare"),
        });
    }
    targets
}

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
    pub fn body(self, task: usize, n: u64) -> Value {
        match self {
            Kind::Payouts => json!({
                "amount": PAYOUT_AMOUNT_COP, "currency": "COP",
                "reference": format!("bench-{task}-{n}"),
                "beneficiary": {
                    "name": "Luis Pérez", "document": {"type": "CC", "number": "79876543"},
                },
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

/// What cajero calls as the cash network in the business phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NetworkMode {
    /// The bench's network stand-in: answers at once, keeps nothing, calls back each order's
    /// `paid` (measures cajero).
    #[value(name = "stand-in")]
    StandIn,
    /// The full embedded simulator, end to end (measures cajero and the simulator together;
    /// no callbacks).
    Sim,
}

impl NetworkMode {
    fn name(self) -> &'static str {
        match self {
            NetworkMode::StandIn => "stand-in",
            NetworkMode::Sim => "sim",
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
    /// The network cajero calls: `stand-in` (answers at once, keeps nothing, sends each
    /// order's `paid` callback: measures cajero) or `sim` (the full embedded simulator, end to
    /// end, without callbacks). The hollow pipeline always calls the stand-in.
    #[arg(long, value_enum, default_value_t = NetworkMode::StandIn)]
    pub network: NetworkMode,
    /// Server instances in this process, each with its own runtime, state and pool on the
    /// same database; client connections are spread round-robin over them. PostgreSQL only;
    /// at most 8 (`BENCH_INSTANCES_MAX`).
    #[arg(long, default_value_t = 1)]
    pub instances: usize,
    /// Database URL; a fresh SQLite file in a temporary folder by default. A PostgreSQL
    /// database given here gets the bench's merchant, orders and a scratch table (dropped after);
    /// it needs `CAJERO_SECRETS_KEY` like any server on PostgreSQL.
    #[arg(long)]
    pub database_url: Option<String>,
    /// A risk rule set (JSON, docs/risk.md) put in force before the business phase, to measure
    /// what deciding costs (none by default: the decision then reads only the rule version and
    /// the blocklists). Every payout of the bench is for one beneficiary, so per-document rules
    /// meet their worst case: one hot total.
    #[arg(long)]
    pub risk_rules: Option<std::path::PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Refuses flag values outside their limits, with the limit named.
fn check(args: &OrdersArgs) -> anyhow::Result<()> {
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
    anyhow::ensure!(
        (1..=BENCH_INSTANCES_MAX).contains(&args.instances),
        "--instances must be between 1 and {BENCH_INSTANCES_MAX}"
    );
    let postgres = args
        .database_url
        .as_deref()
        .is_some_and(|url| url.starts_with("postgres://") || url.starts_with("postgresql://"));
    anyhow::ensure!(
        args.instances == 1 || postgres,
        "--instances {} needs PostgreSQL (--database-url postgres://…): on SQLite one process \
         owns the database's single writer, so instances cannot share it",
        args.instances
    );
    anyhow::ensure!(
        args.instances <= args.concurrency,
        "--instances {} is more than --concurrency {}: every instance needs a client task",
        args.instances,
        args.concurrency
    );
    Ok(())
}

/// Runs both phases and prints the report.
pub async fn run(kind: Kind, args: OrdersArgs) -> anyhow::Result<()> {
    check(&args)?;
    let report = measure(kind, &args).await?;
    output::print(args.json, &serde_json::to_value(&report)?, || {
        report::human(&report)
    });
    Ok(())
}

/// What both phases share.
pub(super) struct Setup {
    /// What is created.
    pub(super) kind: Kind,
    /// How hard and how long.
    pub(super) load: Load,
    /// Server instances.
    pub(super) instances: usize,
    /// Who runs where.
    pub(super) runtimes: Runtimes,
    /// The load generator's HTTP client.
    pub(super) client: reqwest::Client,
    /// The network stand-in.
    pub(super) stub: NetStub,
    /// The secret cajero and the stand-in share.
    pub(super) secret: String,
    /// The risk rules put in force before the business phase (`--risk-rules`).
    pub(super) risk_rules: Option<String>,
}

async fn measure(kind: Kind, args: &OrdersArgs) -> anyhow::Result<Report> {
    let dir = tempfile::tempdir().context("creating a temporary folder for the bench database")?;
    let database_url = args
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let date = output::timestamp(jiff::Timestamp::now());
    let load_average_1m = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok());

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

    let runtimes = Runtimes::new(args.instances)?;
    let secret = cajero_server::auth::NewSecret::generate(Mode::Test)
        .expose()
        .to_string();
    let options = StubOptions {
        merchant_id: SIM_MERCHANT_ID.to_string(),
        secret: secret.clone(),
        callbacks: true,
    };
    let stub = on(&runtimes.network, NetStub::start(options))
        .await
        .context("starting the network stand-in")?;
    let setup = Setup {
        kind,
        load: Load {
            duration: Duration::from_secs(args.duration_s),
            concurrency: args.concurrency,
            rate_per_s: args.rate_per_s,
        },
        instances: args.instances,
        runtimes,
        client: load::client(args.concurrency)?,
        stub,
        secret,
        risk_rules: args
            .risk_rules
            .as_ref()
            .map(|p| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display())))
            .transpose()?,
    };

    let (business, storage, engine) = business(&setup, &config, args.network).await?;
    let hollow_phase = hollow::phase(&setup, engine, &database_url, &dir, &config).await?;
    let Setup { stub, runtimes, .. } = setup;
    let network = runtimes.network.clone();
    on(&network, async move { Ok(stub.stop().await) }).await?;
    drop(runtimes);
    drop(dir);

    let ratio = if hollow_phase.ok_per_s > 0.0 {
        business.ok_per_s / hollow_phase.ok_per_s
    } else {
        0.0
    };
    let targets = judge(
        kind,
        engine,
        args.network,
        args.rate_per_s,
        args.instances,
        Figures {
            ok_per_s: business.ok_per_s,
            ratio,
            p99_ms: business.latency_ms.p99,
            errors: business.errors,
            unsent: business.unsent,
        },
    );
    let routing = routing_cost(kind, &business)?;
    Ok(Report {
        routing,
        bench: kind.name(),
        date,
        machine: Machine::here(load_average_1m),
        database: engine_name(engine),
        network: args.network.name(),
        instances: args.instances,
        duration_s: args.duration_s,
        concurrency: args.concurrency,
        rate_per_s: args.rate_per_s,
        targets,
        business,
        hollow: hollow_phase,
        ratio,
        storage,
    })
}

/// Orders the routing loop plans and records.
const ROUTING_ORDERS: u64 = 200_000;

/// Times the create path's routing and health bookkeeping alone: a plan over the simulator's
/// two networks under a preference rule, the chosen route's breaker permit, and its outcome
/// recorded, [`ROUTING_ORDERS`] times.
fn routing_cost(kind: Kind, business: &Phase) -> anyhow::Result<report::RoutingCost> {
    use cajero_server::routing::{self, RouteRequest, RoutingConfig, RoutingRule};
    let networks = Networks::simulator(
        "http://127.0.0.1:9",
        SIM_MERCHANT_ID,
        "secret",
        "http://127.0.0.1:9",
    )?
    .with_health(cajero_server::health::HealthConfig::default());
    let config = RoutingConfig {
        rules: vec![RoutingRule {
            prefer: vec!["sured".into(), "efecty".into()],
            ..RoutingRule::default()
        }],
        ..RoutingConfig::default()
    };
    let order_kind = match kind {
        Kind::Payouts => cajero_server::network_config::OrderKind::Payout,
        Kind::Payins => cajero_server::network_config::OrderKind::Collection,
    };
    let merchant = cajero_domain::id::MerchantId::from_parts(1, 1);
    let request = RouteRequest {
        merchant,
        mode: Mode::Test,
        kind: order_kind,
        requested: None,
        amount: cajero_domain::Amount::new(50_000)?,
    };
    let started = std::time::Instant::now();
    for _ in 0..ROUTING_ORDERS {
        let now = jiff::Timestamp::now();
        let plan = routing::plan(&networks, &config, networks.health(), &request, now)
            .map_err(|e| anyhow::anyhow!("routing: {e:?}"))?;
        let chosen = &plan.candidates[0];
        let _ = networks.health().permit(chosen, now);
        let signals = networks.health().record_create(
            chosen,
            now,
            cajero_server::health::Outcome::Created,
            Duration::from_millis(3),
            None,
        );
        std::hint::black_box((plan.reason(chosen, &[]), signals));
    }
    let ns_per_order = started.elapsed().as_nanos() as f64 / ROUTING_ORDERS as f64;
    let server_cpu_ns_per_order =
        (business.ok > 0).then(|| business.cpu.server_s * 1e9 / business.ok as f64);
    Ok(report::RoutingCost {
        orders: ROUTING_ORDERS,
        ns_per_order,
        server_cpu_ns_per_order,
        share_percent: server_cpu_ns_per_order
            .filter(|cpu| *cpu > 0.0)
            .map(|cpu| ns_per_order / cpu * 100.0),
    })
}

fn engine_name(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => "sqlite",
        Engine::Postgres => "postgres",
    }
}

/// A cajero server ready to serve: its state and its listener.
struct Opened {
    state: AppState,
    listener: tokio::net::TcpListener,
}

/// Opens one instance's state on its own runtime, reaching the network as it would reach a
/// configured simulator: the stand-in by URL, or an embedded simulator started on the
/// network's runtime.
async fn open_instance(
    config: Config,
    mode: NetworkMode,
    stub_url: String,
    secret: String,
    network: Handle,
) -> anyhow::Result<Opened> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .context("listening on loopback")?;
    let mut config = config;
    config.listen = listener.local_addr()?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut state = AppState::open(config, clock).await?;
    let public_url = state.config.public_url();
    state.networks = match mode {
        NetworkMode::StandIn => {
            Networks::simulator(&stub_url, SIM_MERCHANT_ID, &secret, &public_url)?
        }
        // In memory: the benchmark measures cajero, not the simulator's own writes.
        NetworkMode::Sim => network
            .spawn(async move {
                Networks::embedded_simulator(&public_url, &SystemClock, EmbeddedOptions::default())
                    .await
            })
            .await
            .context("the simulator's start panicked")?
            .context("starting the simulated cash network")?,
    };
    Ok(Opened { state, listener })
}

/// A merchant, active, and its test key; the risk rules, when given, in force.
async fn seed(state: AppState, risk_rules: Option<String>) -> anyhow::Result<String> {
    if let Some(rules) = risk_rules {
        let acting = cajero_server::operators::Acting::cli(
            cajero_server::operators::Reason::parse("cajero bench --risk-rules")?,
        );
        cajero_server::risk::set_rules(&state, &rules, &acting)
            .await
            .map_err(|e| anyhow::anyhow!("--risk-rules: {e}"))?;
    }
    let clock = state.clock.clone();
    let merchant =
        admin::create_merchant(&state.store, clock.as_ref(), "Bench", Some("900123456-8")).await?;
    admin::force_merchant_status(
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
    Ok(secret.expose().to_string())
}

/// The database's size now, in bytes: SQLite's pages in use (WAL included: what the file
/// holds once checkpointed), PostgreSQL's tables with their indexes and TOAST in the current
/// schema.
async fn database_bytes(store: Store) -> anyhow::Result<i64> {
    let sql = match store.engine() {
        Engine::Sqlite => {
            "SELECT (SELECT page_count FROM pragma_page_count()) * \
             (SELECT page_size FROM pragma_page_size())"
        }
        Engine::Postgres => {
            "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::BIGINT FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'm')"
        }
    };
    let bytes = store
        .read(move |mut conn| {
            Box::pin(async move {
                let (bytes,) = cajero_store::fetch!(one, &mut conn, (i64,), sql)?;
                Ok::<_, StoreError>(bytes)
            })
        })
        .await?;
    Ok(bytes)
}

/// Drives the load from the client's runtime and splits the CPU time it took.
pub(super) async fn drive_measured(
    setup: &Setup,
    target: Target,
) -> anyhow::Result<(Driven, CpuSplit)> {
    let client = setup.client.clone();
    let load = setup.load.clone();
    let instances = setup.instances;
    on(&setup.runtimes.client, async move {
        let before = threads::snapshot();
        let driven = load::drive(&client, &target, &load).await?;
        let after = threads::snapshot();
        Ok((driven, CpuSplit::between(&before, &after, instances)))
    })
    .await
}

/// The figures of a phase.
pub(super) fn phase(driven: Driven, cpu: CpuSplit, network: Option<StubReport>) -> Phase {
    let mut by_instance = driven.by_instance;
    for figures in &mut by_instance {
        figures.cpu_s = cpu
            .server_by_instance_s
            .get(figures.instance)
            .copied()
            .unwrap_or(0.0);
    }
    Phase {
        requests: driven.requests,
        ok: driven.ok,
        errors: driven.errors,
        errors_by_status: driven.errors_by_status,
        seconds: driven.seconds,
        requests_per_s: driven.requests as f64 / driven.seconds,
        ok_per_s: driven.ok as f64 / driven.seconds,
        ok_by_second: driven.ok_by_second,
        unsent: driven.unsent,
        latency_ms: driven.latency_ms,
        by_instance,
        cpu,
        network,
    }
}

/// The business phase's servers, serving.
struct Serving {
    /// Each instance's base URL.
    bases: Vec<String>,
    /// The first instance's store.
    store: Store,
    /// The merchant's test key.
    key: String,
    stops: Vec<oneshot::Sender<()>>,
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Serving {
    /// Stops every instance and waits until each has drained and closed its store.
    async fn stop(self) -> anyhow::Result<()> {
        for stop in self.stops {
            let _ = stop.send(());
        }
        for task in self.tasks {
            task.await.context("a bench server panicked")??;
        }
        Ok(())
    }
}

/// Opens every instance, seeds the merchant through the first, and serves.
async fn start_servers(
    setup: &Setup,
    config: &Config,
    mode: NetworkMode,
) -> anyhow::Result<Serving> {
    let mut opened = Vec::with_capacity(setup.instances);
    for runtime in &setup.runtimes.servers {
        let config = config.clone();
        let stub_url = setup.stub.base_url.clone();
        let secret = setup.secret.clone();
        let network = setup.runtimes.network.clone();
        let work = move || open_instance(config, mode, stub_url, secret, network);
        opened.push(on_thread(runtime, work).await?);
    }
    let first = opened.first().context("no server instance")?;
    let store = first.state.store.clone();
    let key = on(
        &setup.runtimes.servers[0],
        seed(first.state.clone(), setup.risk_rules.clone()),
    )
    .await?;
    let mut serving = Serving {
        bases: Vec::with_capacity(opened.len()),
        store,
        key,
        stops: Vec::with_capacity(opened.len()),
        tasks: Vec::with_capacity(opened.len()),
    };
    for (runtime, Opened { state, listener }) in setup.runtimes.servers.iter().zip(opened) {
        serving.bases.push(state.config.public_url());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = runtime.spawn(cajero_server::serve(state, listener, async move {
            let _ = stopped.await;
        }));
        serving.stops.push(stop);
        serving.tasks.push(task);
    }
    Ok(serving)
}

/// The business phase: the real servers, the public API.
async fn business(
    setup: &Setup,
    config: &Config,
    mode: NetworkMode,
) -> anyhow::Result<(Phase, Storage, Engine)> {
    let serving = start_servers(setup, config, mode).await?;
    let engine = serving.store.engine();
    let outcome = measure_business(setup, &serving, mode).await;
    serving.stop().await?;
    let (phase, storage) = outcome?;
    Ok((phase, storage, engine))
}

/// Funds the balance (payouts), then drives the load, waits for the callbacks due, and
/// measures what the orders cost in the database.
async fn measure_business(
    setup: &Setup,
    serving: &Serving,
    mode: NetworkMode,
) -> anyhow::Result<(Phase, Storage)> {
    let first = &setup.runtimes.servers[0];
    if setup.kind == Kind::Payouts {
        let client = setup.client.clone();
        let base = serving.bases[0].clone();
        let (key, load) = (serving.key.clone(), setup.load.clone());
        on(&setup.runtimes.client, async move {
            load::fund(&client, &base, &key, &load).await
        })
        .await?;
    }
    let before = on(first, database_bytes(serving.store.clone())).await?;
    let stub_before = setup.stub.report();
    let target = Target {
        urls: serving
            .bases
            .iter()
            .map(|base| format!("{base}/v1/{}", setup.kind.name()))
            .collect(),
        key: Some(serving.key.clone()),
        kind: setup.kind,
    };
    let (driven, cpu) = drive_measured(setup, target).await?;
    setup
        .stub
        .drain(Duration::from_secs(BENCH_CALLBACK_DRAIN_S_MAX))
        .await;
    let after = on(first, database_bytes(serving.store.clone())).await?;
    let network = (mode == NetworkMode::StandIn).then(|| setup.stub.report().since(&stub_before));
    let storage = Storage {
        orders: driven.ok,
        database_bytes_before: before,
        database_bytes_after: after,
        bytes_per_order: (driven.ok > 0).then(|| (after - before) as f64 / driven.ok as f64),
    };
    Ok((phase(driven, cpu, network), storage))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn bodies_differ_by_task_and_request() {
        assert_ne!(Kind::Payouts.body(0, 1), Kind::Payouts.body(1, 0));
        assert_eq!(Kind::Payins.body(2, 3)["reference"], "bench-2-3");
    }

    fn args(instances: usize, database_url: Option<&str>) -> OrdersArgs {
        OrdersArgs {
            duration_s: 1,
            concurrency: 4,
            rate_per_s: None,
            network: NetworkMode::StandIn,
            instances,
            database_url: database_url.map(str::to_string),
            risk_rules: None,
            json: false,
        }
    }

    fn figures(ok_per_s: f64, ratio: f64, p99_ms: f64) -> Figures {
        Figures {
            ok_per_s,
            ratio,
            p99_ms,
            errors: 0,
            unsent: 0,
        }
    }

    fn verdicts(targets: &[Judged]) -> Vec<(&str, Option<bool>)> {
        targets.iter().map(|t| (t.wanted.as_str(), t.met)).collect()
    }

    #[test]
    fn each_engine_is_judged_by_its_own_targets() {
        let sqlite = judge(
            Kind::Payouts,
            Engine::Sqlite,
            NetworkMode::StandIn,
            None,
            1,
            figures(3_300.0, 0.16, 50.0),
        );
        assert_eq!(
            verdicts(&sqlite),
            [
                ("payouts ≥ 70 % of hollow on sqlite", Some(false)),
                ("payouts ≥ 4000/s on sqlite", Some(false)),
                (
                    "payouts p99 ≤ 25 ms at 1000/s offered on sqlite, nothing unsent, no errors",
                    None
                ),
            ]
        );
        // PostgreSQL's ratio is 50 %, and DESIGN.md states no rate and no p99 for it.
        let postgres = judge(
            Kind::Payouts,
            Engine::Postgres,
            NetworkMode::StandIn,
            None,
            1,
            figures(3_000.0, 0.55, 50.0),
        );
        assert_eq!(
            verdicts(&postgres),
            [("payouts ≥ 50 % of hollow on postgres", Some(true))]
        );
        assert_eq!(postgres[0].measured, "55.0 %");
        let payins = judge(
            Kind::Payins,
            Engine::Sqlite,
            NetworkMode::StandIn,
            None,
            1,
            figures(3_000.0, 0.71, 5.0),
        );
        assert_eq!(
            verdicts(&payins),
            [("payins ≥ 70 % of hollow on sqlite", Some(true))]
        );
        let payins = judge(
            Kind::Payins,
            Engine::Postgres,
            NetworkMode::StandIn,
            None,
            1,
            figures(3_000.0, 0.71, 5.0),
        );
        assert!(payins.is_empty(), "{payins:?}");
        // Several instances: the scaling is named, and one run cannot judge it.
        let two = judge(
            Kind::Payouts,
            Engine::Postgres,
            NetworkMode::StandIn,
            None,
            2,
            figures(3_000.0, 0.55, 50.0),
        );
        assert_eq!(two.len(), 2, "{two:?}");
        assert_eq!(two[1].met, None);
        assert!(two[1].not_judged.unwrap().contains("one-instance run"));
    }

    #[test]
    fn a_fixed_load_judges_the_p99_and_not_the_ratio_or_the_rate() {
        let run = |p99_ms: f64, unsent: u64| {
            judge(
                Kind::Payouts,
                Engine::Sqlite,
                NetworkMode::StandIn,
                Some(TARGET_P99_RATE_PER_S),
                1,
                Figures {
                    unsent,
                    ..figures(1_000.0, 1.0, p99_ms)
                },
            )
        };
        let met = run(16.2, 0);
        assert_eq!(
            met.iter().map(|t| t.met).collect::<Vec<_>>(),
            [None, None, Some(true)]
        );
        assert!(met[0].not_judged.unwrap().contains("fixed offered load"));
        assert_eq!(met[2].measured, "p99 16.20 ms, 0 unsent, 0 errors");
        assert_eq!(run(25.1, 0)[2].met, Some(false));
        assert_eq!(run(10.0, 3)[2].met, Some(false));
        // Another offered load is not the one the p99 is stated at.
        let other = judge(
            Kind::Payouts,
            Engine::Sqlite,
            NetworkMode::StandIn,
            Some(500),
            1,
            figures(500.0, 1.0, 5.0),
        );
        assert_eq!(other[2].met, None);
    }

    #[test]
    fn the_ratio_is_not_judged_against_another_network() {
        let sim = judge(
            Kind::Payouts,
            Engine::Sqlite,
            NetworkMode::Sim,
            None,
            1,
            figures(2_000.0, 0.9, 5.0),
        );
        assert_eq!(sim[0].met, None);
        assert!(sim[0].not_judged.unwrap().contains("simulator"));
        assert_eq!(sim[1].met, Some(false));
    }

    #[test]
    fn several_instances_need_postgresql_and_stay_within_their_limit() {
        assert!(check(&args(1, None)).is_ok());
        assert!(check(&args(2, Some("postgres://db/cajero"))).is_ok());
        let sqlite = check(&args(2, Some("sqlite://b.db"))).unwrap_err();
        assert!(sqlite.to_string().contains("needs PostgreSQL"), "{sqlite}");
        assert!(check(&args(2, None)).is_err());
        assert!(check(&args(0, Some("postgres://db/cajero"))).is_err());
        let many = check(&args(BENCH_INSTANCES_MAX + 1, Some("postgres://db/c"))).unwrap_err();
        assert!(
            many.to_string().contains("--instances must be between"),
            "{many}"
        );
    }
}
