//! `cajero bench dashboard`: how long the dashboard's pay-ins list takes with `--payins`
//! pay-ins in the merchant's books (issue 16's target: the first page of 10,000 in < 100 ms
//! on SQLite).
//!
//! 1. starts a server on a fresh SQLite file (the embedded simulator, nothing else);
//! 2. seeds `--payins` pay-ins of one merchant straight into the store, 1,000 per unit of
//!    work (a quarter paid), and one dashboard user, signed in;
//! 3. fetches, one after the other, `--requests` times each: the first page, a page deep in the
//!    list (`starting_after` the middle id) and the first page filtered to `paid`, over HTTP
//!    with the session's cookie, as a browser would;
//! 4. reports each page's latency percentiles against the target.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use cajero_domain::Amount;
use cajero_domain::id::PayinId;
use cajero_domain::lifecycle::PayinStatus;
use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_domain::money::Currency;
use cajero_server::clock::{Clock, SystemClock};
use cajero_server::config::{Config, Overrides};
use cajero_server::{admin, users};
use cajero_store::payins::{self, PayinRecord};
use clap::Args;
use serde::Serialize;

use super::report::Machine;
use crate::output;

/// The target: the first page in under this many milliseconds.
pub const TARGET_MS: f64 = 100.0;
/// The pay-ins the target is stated for.
pub const TARGET_PAYINS: usize = 10_000;
/// Pay-ins per unit of work while seeding.
const SEED_PER_UNIT: usize = 1_000;
/// The most pay-ins seeded.
const PAYINS_MAX: usize = 1_000_000;

/// `cajero bench dashboard`.
#[derive(Debug, Args)]
pub struct DashboardArgs {
    /// Pay-ins in the merchant's books.
    #[arg(long, default_value_t = TARGET_PAYINS)]
    pub payins: usize,
    /// Requests of each page.
    #[arg(long, default_value_t = 200)]
    pub requests: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// One page's latencies.
#[derive(Debug, Serialize)]
pub struct PageFigures {
    /// What was asked.
    pub path: String,
    /// Milliseconds.
    pub p50_ms: f64,
    /// Milliseconds.
    pub p90_ms: f64,
    /// Milliseconds.
    pub p99_ms: f64,
    /// Milliseconds.
    pub max_ms: f64,
    /// Bytes of HTML.
    pub bytes: usize,
}

/// What the bench found.
#[derive(Debug, Serialize)]
pub struct DashboardReport {
    /// `dashboard`.
    pub bench: &'static str,
    /// When it ran (UTC).
    pub date: String,
    /// Where.
    pub machine: Machine,
    /// Pay-ins seeded.
    pub payins: usize,
    /// Requests per page.
    pub requests: usize,
    /// Seeding, ms.
    pub seed_ms: f64,
    /// The pages.
    pub pages: Vec<PageFigures>,
    /// The target (first page, p99), ms.
    pub target_ms: f64,
    /// Whether the first page's p99 is under it (judged for at least 10,000 pay-ins).
    pub target_met: Option<bool>,
}

/// Runs the bench and prints its report.
pub async fn run(args: DashboardArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=PAYINS_MAX).contains(&args.payins),
        "--payins must be between 1 and {PAYINS_MAX}"
    );
    anyhow::ensure!(
        (1..=100_000).contains(&args.requests),
        "--requests must be between 1 and 100,000"
    );
    let load_average_1m = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok());
    let date = output::timestamp(jiff::Timestamp::now());
    let dir = tempfile::tempdir().context("creating a temporary folder for the bench")?;
    let mut config = Config::load(
        None,
        Overrides {
            listen: Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0))),
            database_url: Some(format!(
                "sqlite://{}",
                dir.path().join("dashboard.db").display()
            )),
            log_format: None,
        },
    )?;
    config.log_level = std::env::var("CAJERO_LOG_LEVEL").unwrap_or_else(|_| "warn".into());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let server = cajero_server::spawn(config, clock.clone()).await?;
    let state = server.state.clone();

    let seed_started = Instant::now();
    let merchant = admin::create_merchant(&state.store, clock.as_ref(), "Bench dashboard", None)
        .await?
        .id;
    admin::force_merchant_status(
        &state.store,
        clock.as_ref(),
        merchant,
        MerchantStatus::Active,
    )
    .await?;
    let now = clock.now();
    let mut ids = Vec::with_capacity(args.payins);
    for first in (0..args.payins).step_by(SEED_PER_UNIT) {
        let last = (first + SEED_PER_UNIT).min(args.payins);
        let records: Vec<PayinRecord> = (first..last)
            .map(|n| payin(merchant, n, now))
            .collect::<anyhow::Result<_>>()?;
        ids.extend(records.iter().map(|r| r.id));
        state
            .store
            .write(move |mut c| {
                Box::pin(async move {
                    for r in &records {
                        payins::insert(&mut c, r).await?;
                    }
                    Ok::<_, cajero_store::StoreError>(())
                })
            })
            .await?;
    }
    let password = users::random_token();
    users::create_user(
        &state.store,
        clock.as_ref(),
        merchant,
        "bench@example.co",
        "Bench",
        users::Role::Owner,
        &password,
    )
    .await?;
    let opened = users::sign_in(
        &state.store,
        clock.as_ref(),
        "bench@example.co",
        &password,
        &users::Origin::default(),
    )
    .await?;
    let seed_ms = elapsed_ms(seed_started.elapsed());

    ids.sort();
    let middle = ids
        .get(ids.len() / 2)
        .map(ToString::to_string)
        .unwrap_or_default();
    let http = reqwest::Client::new();
    let cookie = format!("cajero_session={}", opened.token);
    let mut pages = Vec::new();
    for path in [
        "/dashboard/payins".to_owned(),
        format!("/dashboard/payins?starting_after={middle}"),
        "/dashboard/payins?status=paid".to_owned(),
    ] {
        let url = format!("{}{path}", server.url());
        // Warm the connection and the page cache.
        for _ in 0..5 {
            http.get(&url).header("cookie", &cookie).send().await?;
        }
        let mut times = Vec::with_capacity(args.requests);
        let mut bytes = 0;
        for _ in 0..args.requests {
            let started = Instant::now();
            let response = http.get(&url).header("cookie", &cookie).send().await?;
            anyhow::ensure!(
                response.status().is_success(),
                "{path}: {}",
                response.status()
            );
            bytes = response.bytes().await?.len();
            times.push(elapsed_ms(started.elapsed()));
        }
        times.sort_by(f64::total_cmp);
        let at = |q: usize| {
            times
                .get((times.len() * q / 100).min(times.len() - 1))
                .copied()
        };
        pages.push(PageFigures {
            path,
            p50_ms: at(50).unwrap_or(0.0),
            p90_ms: at(90).unwrap_or(0.0),
            p99_ms: at(99).unwrap_or(0.0),
            max_ms: times.last().copied().unwrap_or(0.0),
            bytes,
        });
    }
    server.stop().await?;

    let first_p99 = pages.first().map_or(f64::MAX, |p| p.p99_ms);
    let report = DashboardReport {
        bench: "dashboard",
        date,
        machine: Machine::here(load_average_1m),
        payins: args.payins,
        requests: args.requests,
        seed_ms,
        pages,
        target_ms: TARGET_MS,
        target_met: (args.payins >= TARGET_PAYINS).then_some(first_p99 < TARGET_MS),
    };
    output::print(args.json, &serde_json::to_value(&report)?, || {
        human(&report)
    });
    Ok(())
}

fn elapsed_ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

/// Pay-in `n`: a quarter of them paid, the rest pending; created a second apart, newest last.
fn payin(
    merchant: cajero_domain::id::MerchantId,
    n: usize,
    now: jiff::Timestamp,
) -> anyhow::Result<PayinRecord> {
    let n64 = i64::try_from(n)?;
    let created = now - jiff::SignedDuration::from_secs(1_000_000 - n64.min(999_999));
    let paid = n.is_multiple_of(4);
    Ok(PayinRecord {
        id: PayinId::from_parts(u64::try_from(created.as_millisecond())?, u128::try_from(n)?),
        merchant_id: merchant,
        mode: Mode::Test,
        status: if paid {
            PayinStatus::Paid
        } else {
            PayinStatus::Pending
        },
        amount: Amount::new(10_000 + n64 % 500 * 1_000)?,
        currency: Currency::Cop,
        network: "efecty".into(),
        route: "simulator".into(),
        reference: Some(format!("ORD-{n}")),
        description: None,
        customer: None,
        metadata: serde_json::json!({}),
        network_order_id: format!("BENCH-{n}"),
        payment_code: format!("{:08}", n),
        agreement_code: None,
        barcode_data: None,
        page_token: format!("bench-token-{n}"),
        expires_at: now + jiff::SignedDuration::from_hours(72),
        paid_at: paid.then_some(created + jiff::SignedDuration::from_mins(30)),
        amount_refunded: Amount::ZERO,
        fee: Amount::ZERO,
        created_at: created,
        updated_at: created,
        test_clock: None,
        routing_reason: None,
    })
}

fn human(r: &DashboardReport) -> String {
    let mut out = format!(
        "cajero bench dashboard — {} — {} CPUs {} (load {}) {} build — sqlite, {} pay-ins of one \
         merchant, {} requests per page, one at a time\n  seed {:.1} s\n",
        r.date,
        r.machine.cpus,
        r.machine.arch,
        r.machine
            .load_average_1m
            .map_or("?".into(), |l| format!("{l:.2}")),
        r.machine.build,
        r.payins,
        r.requests,
        r.seed_ms / 1_000.0,
    );
    for p in &r.pages {
        out.push_str(&format!(
            "  {:<60} p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms  ({} bytes)\n",
            p.path, p.p50_ms, p.p90_ms, p.p99_ms, p.max_ms, p.bytes
        ));
    }
    out.push_str(&match r.target_met {
        Some(true) => format!("  target: first page p99 < {} ms: met\n", r.target_ms),
        Some(false) => format!("  target: first page p99 < {} ms: NOT met\n", r.target_ms),
        None => format!("  target: not judged (stated for {TARGET_PAYINS} pay-ins or more)\n"),
    });
    out
}
