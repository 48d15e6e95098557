//! `cajero bench reconcile`: a network's file of N lines imported and matched against N orders
//! already in the database (DESIGN.md, issue 14: 1,000,000 lines in ≤ 5 s and ≤ 500 MB peak
//! on SQLite).
//!
//! One run:
//! 1. seeds a merchant and N paid test pay-ins of route `simulator`, network `efecty`, paid on
//!    one Bogotá day, each with its ledger batch (network receivable → merchant pending), in
//!    big transactions of bulk inserts (timed apart: seeding is not the target);
//! 2. writes the day's file for those orders (Asobancaria 2001 or the simulator's CSV);
//! 3. times a plain pass over the file (read it, split its lines): the floor for any import;
//! 4. runs `reconciliation::import` on it **in a child process** (`--phase import`), so that
//!    the child's peak RSS (`VmHWM`) is the import's and not the seed's;
//! 5. reports, and fails unless every line matched and the tie-out has nothing unexplained.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use cajero_domain::asobancaria::{
    self, AccountType, Batch, Cents, CollectionFile, Detail, FileHeader, FileTime, LineEnding,
};
use cajero_domain::calendar;
use cajero_domain::id::{MerchantId, PayinId, TransferId};
use cajero_domain::ledger::{AccountKey, AccountKind, TransferCode};
use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_domain::money::{Amount, Currency};
use cajero_server::admin;
use cajero_server::clock::{Clock, SystemClock};
use cajero_server::reconciliation::{self, Format, Import, Imported, Source};
use cajero_store::{Conn, Micros, Store, StoreOptions};
use clap::{Args, ValueEnum};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::report::Machine;
use crate::output;

/// The most lines `--lines` accepts: an Asobancaria line is 164 bytes with its CRLF, and the
/// import refuses files over `reconciliation::FILE_BYTES_MAX` (256 MiB, about 1.6 M lines).
pub const BENCH_LINES_MAX: usize = 1_500_000;
/// Pay-ins (with their ledger batches) inserted per unit of work while seeding.
const SEED_ORDERS_PER_UNIT: usize = 50_000;
/// The file size DESIGN.md's targets are stated for: smaller runs are not judged by them.
pub const TARGET_LINES: usize = 1_000_000;
/// DESIGN.md: import and match 1,000,000 lines in at most this many seconds.
pub const TARGET_SECONDS: f64 = 5.0;
/// DESIGN.md: with a peak resident set of at most this many bytes (500 MB).
pub const TARGET_PEAK_BYTES: u64 = 500_000_000;
/// The route and network the orders and the file belong to.
const ROUTE: &str = "simulator";
const NETWORK: &str = "efecty";
/// Payment codes are this number plus the order's index: distinct, numeric, 8 digits.
const CODE_BASE: u64 = 10_000_000;
/// Microseconds in a day.
const DAY_US: i64 = 86_400_000_000;

/// The file format to import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    /// Asobancaria 2001 (fixed-width, 162 characters a record).
    Asobancaria,
    /// The simulator's CSV.
    Csv,
}

impl FileFormat {
    fn format(self) -> Format {
        match self {
            FileFormat::Asobancaria => Format::Asobancaria,
            FileFormat::Csv => Format::Csv,
        }
    }
}

/// Which part of the run this process does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunPhase {
    /// Seed, write the file, start the import in a child process, report.
    All,
    /// The child: import `--file` into `--database-url` and print its figures as JSON.
    Import,
}

/// `cajero bench reconcile`.
#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// File lines, and orders in the database (at most 1,500,000).
    #[arg(long, default_value_t = 1_000_000)]
    pub lines: usize,
    /// The file's format.
    #[arg(long, value_enum, default_value_t = FileFormat::Asobancaria)]
    pub format: FileFormat,
    /// SQLite database URL; a fresh file in a temporary folder by default. The bench adds a
    /// merchant and its orders to it, so it must hold no `efecty` pay-ins paid yesterday.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Internal: `import` runs only the measured import (the parent starts it so).
    #[arg(long, value_enum, default_value_t = RunPhase::All, hide = true)]
    pub phase: RunPhase,
    /// Internal: the file the `import` phase reads.
    #[arg(long, hide = true)]
    pub file: Option<PathBuf>,
    /// Internal: the day the file reports (YYYY-MM-DD).
    #[arg(long, hide = true)]
    pub date: Option<String>,
}

/// What the child measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportFigures {
    /// Reading the file from disk into memory, ms.
    pub read_file_ms: f64,
    /// `reconciliation::import`'s parse of the bytes into lines, ms.
    pub parse_ms: f64,
    /// Loading the day's orders and matching every line, ms.
    pub match_ms: f64,
    /// Writing lines, exceptions, tie-out and completion, ms.
    pub write_ms: f64,
    /// The whole `import` call (parse + match + write + hashing and bookkeeping), ms.
    pub import_ms: f64,
    /// Read file + import: what the target is checked against, ms.
    pub total_ms: f64,
    /// The child's resident set when it started, before opening the store, bytes.
    pub rss_at_start_bytes: u64,
    /// The child's peak resident set (`VmHWM`) after the import, bytes.
    pub peak_rss_bytes: u64,
    /// Lines and absent orders per outcome.
    pub outcomes: BTreeMap<String, u64>,
    /// Σ |unexplained| over the tie-outs.
    pub unexplained: i64,
    /// The tie-outs' ledger totals (whole pesos).
    pub ledger_total: i64,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct ReconcileReport {
    /// `reconcile`.
    pub bench: &'static str,
    /// When it ran (UTC).
    pub date: String,
    /// The machine.
    pub machine: Machine,
    /// `/proc/cpuinfo`'s model name.
    pub cpu_model: Option<String>,
    /// `sqlite`.
    pub database: &'static str,
    /// `asobancaria` or `csv`.
    pub format: FileFormat,
    /// File lines (= orders seeded).
    pub lines: usize,
    /// The file's size.
    pub file_bytes: u64,
    /// Seeding the merchant, orders and ledger batches, ms (not part of the target).
    pub seed_ms: f64,
    /// Writing the file, ms (not part of the target).
    pub write_file_ms: f64,
    /// The floor: reading the file and splitting its lines, nothing else, ms.
    pub plain_pass_ms: f64,
    /// The import, measured in a child process.
    pub import: ImportFigures,
    /// File lines per second over the import's total.
    pub lines_per_s: f64,
    /// Seconds wanted at most.
    pub target_seconds: f64,
    /// Whether the total was within it; `null` below [`TARGET_LINES`] lines.
    pub seconds_met: Option<bool>,
    /// Peak bytes wanted at most.
    pub target_peak_bytes: u64,
    /// Whether the peak was within it; `null` below [`TARGET_LINES`] lines.
    pub peak_met: Option<bool>,
}

/// Runs the bench (or, as the child, its import) and prints the report.
pub async fn run(args: ReconcileArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=BENCH_LINES_MAX).contains(&args.lines),
        "--lines must be between 1 and {BENCH_LINES_MAX}"
    );
    if let Some(url) = &args.database_url {
        anyhow::ensure!(
            url.starts_with("sqlite:"),
            "--database-url: the reconciliation bench seeds with SQLite bulk inserts (the target \
             is stated for SQLite); give a sqlite: URL"
        );
    }
    match args.phase {
        RunPhase::Import => {
            let figures = import_phase(&args).await?;
            println!("{}", serde_json::to_string(&figures)?);
            Ok(())
        }
        RunPhase::All => {
            let report = measure(&args).await?;
            output::print(args.json, &serde_json::to_value(&report)?, || {
                human(&report)
            });
            verify(&report)
        }
    }
}

/// Every line matched, no order missing, and the tie-out explained.
fn verify(report: &ReconcileReport) -> anyhow::Result<()> {
    let outcomes = &report.import.outcomes;
    let matched = outcomes.get("matched").copied().unwrap_or(0);
    let others: u64 = outcomes
        .iter()
        .filter(|(k, _)| *k != "matched")
        .map(|(_, n)| n)
        .sum();
    anyhow::ensure!(
        matched == report.lines as u64 && others == 0,
        "the import matched {matched} of {} lines (outcomes {outcomes:?})",
        report.lines
    );
    anyhow::ensure!(
        report.import.unexplained == 0,
        "the tie-out has {} unexplained",
        report.import.unexplained
    );
    Ok(())
}

async fn measure(args: &ReconcileArgs) -> anyhow::Result<ReconcileReport> {
    let started_at = output::timestamp(jiff::Timestamp::now());
    let load_average_1m = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok());
    let dir = tempfile::tempdir().context("creating a temporary folder for the bench")?;
    let database_url = args
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    // Yesterday in Bogotá: the day a daily file reports.
    let day = calendar::bogota_date(jiff::Timestamp::now())
        .yesterday()
        .context("no yesterday")?;

    let seed_started = Instant::now();
    let orders = Orders::new(args.lines, day);
    let store = Store::open(&database_url, &StoreOptions::default()).await?;
    let merchant = seed(&store, &orders).await?;
    store.close().await;
    drop(store);
    let seed_ms = ms(seed_started.elapsed());

    let write_started = Instant::now();
    let path = dir.path().join(match args.format {
        FileFormat::Asobancaria => "efecty.txt",
        FileFormat::Csv => "efecty.csv",
    });
    let text = match args.format {
        FileFormat::Asobancaria => asobancaria_file(&orders)?,
        FileFormat::Csv => csv_file(&orders, merchant),
    };
    std::fs::write(&path, &text).context("writing the file")?;
    let file_bytes = text.len() as u64;
    drop(text);
    let write_file_ms = ms(write_started.elapsed());

    let plain_pass_ms = plain_pass(&path, args.lines)?;
    let import = run_child(&database_url, &path, args, day)?;
    drop(dir);

    let seconds = import.total_ms / 1_000.0;
    Ok(ReconcileReport {
        bench: "reconcile",
        date: started_at,
        machine: Machine::here(load_average_1m),
        cpu_model: cpu_model(),
        database: "sqlite",
        format: args.format,
        lines: args.lines,
        file_bytes,
        seed_ms,
        write_file_ms,
        plain_pass_ms,
        lines_per_s: if seconds > 0.0 {
            args.lines as f64 / seconds
        } else {
            0.0
        },
        seconds_met: (args.lines >= TARGET_LINES).then_some(seconds <= TARGET_SECONDS),
        peak_met: (args.lines >= TARGET_LINES)
            .then_some(import.peak_rss_bytes <= TARGET_PEAK_BYTES),
        target_seconds: TARGET_SECONDS,
        target_peak_bytes: TARGET_PEAK_BYTES,
        import,
    })
}

/// The orders the bench seeds and the file reports, computed from their index.
struct Orders {
    count: usize,
    day: Date,
    day_start_us: i64,
}

/// One order's values.
struct Order {
    id: PayinId,
    code: String,
    network_order_id: String,
    amount: i64,
    paid_at_us: i64,
}

impl Orders {
    fn new(count: usize, day: Date) -> Orders {
        let (from, _) = reconciliation::day_bounds(day);
        Orders {
            count,
            day,
            day_start_us: Micros::from(from).0,
        }
    }

    /// The `n`th order: paid spread over the day, amounts from 10,000 to 99,000 pesos.
    fn order(&self, n: usize) -> Order {
        let index = n as i64;
        let count = self.count.max(1) as i64;
        let paid_at_us = self.day_start_us + index * (DAY_US / count);
        let paid_ms = u64::try_from(paid_at_us / 1_000).unwrap_or(0);
        Order {
            id: PayinId::from_parts(paid_ms, n as u128),
            code: (CODE_BASE + n as u64).to_string(),
            network_order_id: format!("ef_bench_{n}"),
            amount: 10_000 + (index % 90) * 1_000,
            paid_at_us,
        }
    }
}

/// The ledger accounts a pay-in's batch moves money between.
fn accounts(merchant: MerchantId) -> (AccountKey, AccountKey) {
    (
        AccountKey::network(
            AccountKind::NetworkReceivable,
            NETWORK,
            Mode::Test,
            Currency::Cop,
        ),
        AccountKey::merchant(
            AccountKind::MerchantPending,
            merchant,
            Mode::Test,
            Currency::Cop,
        ),
    )
}

/// The merchant, the orders and their ledger batches; the accounts' totals raised by the sum.
async fn seed(store: &Store, orders: &Orders) -> anyhow::Result<MerchantId> {
    let clock = SystemClock;
    let merchant =
        admin::create_merchant(store, &clock, "Bench reconciliation", Some("900123456-8"))
            .await?
            .id;
    admin::force_merchant_status(store, &clock, merchant, MerchantStatus::Active).await?;
    let now_us = Micros::from(clock.now()).0;
    let (from, to) = (orders.day_start_us, orders.day_start_us + DAY_US);
    store
        .write(move |c| Box::pin(async move { refuse_a_seeded_day(c, from, to) }))
        .await?;
    store
        .write(move |c| Box::pin(async move { open_accounts(c, merchant, now_us) }))
        .await?;
    let mut total = 0i64;
    for first in (0..orders.count).step_by(SEED_ORDERS_PER_UNIT) {
        let last = (first + SEED_ORDERS_PER_UNIT).min(orders.count);
        let chunk: Vec<Order> = (first..last).map(|n| orders.order(n)).collect();
        total = chunk
            .iter()
            .try_fold(total, |sum, o| sum.checked_add(o.amount))
            .context("the seeded total overflows")?;
        let available_on = orders.day.tomorrow()?.to_string();
        store
            .write(move |c| {
                Box::pin(async move { insert_orders(c, merchant, &chunk, &available_on) })
            })
            .await?;
    }
    store
        .write(move |c| Box::pin(async move { post_totals(c, merchant, total, now_us) }))
        .await?;
    Ok(merchant)
}

/// A database that already holds the network's orders paid that day (an earlier run's) would
/// make them missing from this run's file: refused, naming why.
fn refuse_a_seeded_day(c: Conn<'_>, from_us: i64, to_us: i64) -> anyhow::Result<()> {
    let Conn::Sqlite(c) = c else {
        anyhow::bail!("the reconciliation bench seeds SQLite only");
    };
    let paid: i64 = c.query_row(
        "SELECT COUNT(*) FROM payins WHERE network = ?1 AND paid_at >= ?2 AND paid_at < ?3",
        (NETWORK, from_us, to_us),
        |row| row.get(0),
    )?;
    anyhow::ensure!(
        paid == 0,
        "the database already holds {paid} {NETWORK} pay-ins paid on the bench's day (an earlier \
         run's?): give a new database"
    );
    Ok(())
}

/// The network's receivable and the merchant's pending account, as the ledger opens them.
fn open_accounts(c: Conn<'_>, merchant: MerchantId, now_us: i64) -> anyhow::Result<()> {
    let Conn::Sqlite(c) = c else {
        anyhow::bail!("the reconciliation bench seeds SQLite only");
    };
    let (receivable, pending) = accounts(merchant);
    let mut insert = c.prepare_cached(
        "INSERT INTO ledger_accounts (id, kind, merchant_id, network, livemode, currency, \
         created_at, updated_at) VALUES (?1, ?2, ?3, ?4, 0, 'COP', ?5, ?5) \
         ON CONFLICT (id) DO NOTHING",
    )?;
    insert.execute((
        receivable.to_string(),
        AccountKind::NetworkReceivable.as_str(),
        None::<String>,
        Some(NETWORK),
        now_us,
    ))?;
    insert.execute((
        pending.to_string(),
        AccountKind::MerchantPending.as_str(),
        Some(merchant.to_string()),
        None::<String>,
        now_us,
    ))?;
    Ok(())
}

/// Paid pay-ins, each with its batch and transfer as `payins::payin_batch` makes them (no
/// fee: the bench merchant has no fee plan, so the batch is the one transfer).
fn insert_orders(
    c: Conn<'_>,
    merchant: MerchantId,
    orders: &[Order],
    available_on: &str,
) -> anyhow::Result<()> {
    let Conn::Sqlite(c) = c else {
        anyhow::bail!("the reconciliation bench seeds SQLite only");
    };
    let (receivable, pending) = accounts(merchant);
    let (receivable, pending, merchant) = (
        receivable.to_string(),
        pending.to_string(),
        merchant.to_string(),
    );
    let mut payin = c.prepare_cached(
        "INSERT INTO payins (id, merchant_id, livemode, status, amount, currency, network, \
         reference, metadata, network_order_id, payment_code, page_token, expires_at, paid_at, \
         amount_refunded, fee, created_at, updated_at, route) VALUES (?1, ?2, 0, 'paid', ?3, \
         'COP', ?4, ?5, '{}', ?6, ?7, ?8, ?9, ?10, 0, 0, ?11, ?10, ?12)",
    )?;
    let mut batch = c.prepare_cached(
        "INSERT INTO ledger_batches (id, merchant_id, livemode, currency, code, source_id, \
         available_on, created_at) VALUES (?1, ?2, 0, 'COP', ?3, ?4, ?5, ?6)",
    )?;
    let mut transfer = c.prepare_cached(
        "INSERT INTO ledger_transfers (batch_id, id, debit_account_id, credit_account_id, \
         amount, currency, livemode, mode, pending_id, code, created_at) VALUES (?1, ?2, ?3, \
         ?4, ?5, 'COP', 0, 'single', NULL, ?6, ?7)",
    )?;
    for o in orders {
        let id = o.id.to_string();
        payin.execute((
            &id,
            &merchant,
            o.amount,
            NETWORK,
            format!("bench-{}", o.code),
            &o.network_order_id,
            &o.code,
            format!("bench{}{}", o.code, o.paid_at_us),
            o.paid_at_us + 2 * DAY_US,
            o.paid_at_us,
            o.paid_at_us - DAY_US / 24,
            ROUTE,
        ))?;
        let batch_id = TransferId::derived(o.id, "paid").to_string();
        let code = TransferCode::Payin.as_str();
        batch.execute((&batch_id, &merchant, code, &id, available_on, o.paid_at_us))?;
        transfer.execute((
            &batch_id,
            format!("{batch_id}.0"),
            &receivable,
            &pending,
            o.amount,
            code,
            o.paid_at_us,
        ))?;
    }
    Ok(())
}

/// The accounts' totals, raised by what the seeded transfers moved (so `cajero ledger verify`
/// agrees with the transfers).
fn post_totals(c: Conn<'_>, merchant: MerchantId, total: i64, now_us: i64) -> anyhow::Result<()> {
    let Conn::Sqlite(c) = c else {
        anyhow::bail!("the reconciliation bench seeds SQLite only");
    };
    let (receivable, pending) = accounts(merchant);
    c.execute(
        "UPDATE ledger_accounts SET debits_posted = debits_posted + ?1, updated_at = ?3 \
         WHERE id = ?2",
        (total, receivable.to_string(), now_us),
    )?;
    c.execute(
        "UPDATE ledger_accounts SET credits_posted = credits_posted + ?1, updated_at = ?3 \
         WHERE id = ?2",
        (total, pending.to_string(), now_us),
    )?;
    Ok(())
}

/// The day's Asobancaria file: one batch (one merchant's service) with every order.
fn asobancaria_file(orders: &Orders) -> anyhow::Result<String> {
    let details = (0..orders.count)
        .map(|n| {
            let o = orders.order(n);
            Ok(Detail {
                reference: o.code,
                amount: Cents::from_whole_units(Amount::new(o.amount)?),
                origin: asobancaria::ORIGIN_BANK.into(),
                method: asobancaria::METHOD_CASH_AT_TELLER.into(),
                operation_number: format!("{:06}", n % 1_000_000),
                authorization_number: "000000".into(),
                debited_bank_code: "000".into(),
                branch_code: "0001".into(),
                sequence: u32::try_from(n + 2)?,
                return_reason: String::new(),
            })
        })
        .collect::<anyhow::Result<Vec<Detail>>>()?;
    let file = CollectionFile {
        header: FileHeader {
            nit: "9001234568".into(),
            collection_date: orders.day,
            collector_code: "007".into(),
            account_number: "123456789".into(),
            file_date: orders.day.tomorrow()?,
            file_time: FileTime::new(6, 0).context("06:00 is a time")?,
            modifier: 'A',
            account_type: AccountType::Checking,
        },
        batches: vec![Batch {
            service_code: "7709998000012".into(),
            number: 1,
            details,
        }],
    };
    Ok(asobancaria::write(&file, LineEnding::CrLf)?)
}

/// The day's file in the simulator's CSV columns.
fn csv_file(orders: &Orders, merchant: MerchantId) -> String {
    let mut text = String::from(
        "date,network,merchant_id,type,order_id,reference,code,amount,currency,counter_id,\
         branch_code,attempt_id,occurred_at\n",
    );
    for n in 0..orders.count {
        let o = orders.order(n);
        let occurred = Micros(o.paid_at_us).to_timestamp();
        text.push_str(&format!(
            "{},{NETWORK},{merchant},collection,{},{},{},{},COP,ctr_0001,0001,att_{n},{occurred}\n",
            orders.day, o.network_order_id, o.id, o.code, o.amount
        ));
    }
    text
}

/// The floor: read the file and split its lines, nothing else. Returns ms.
fn plain_pass(path: &Path, expected_lines: usize) -> anyhow::Result<f64> {
    let started = Instant::now();
    let bytes = std::fs::read(path).context("reading the file back")?;
    let lines = bytes
        .split(|b| *b == b'\n')
        .filter(|line| !line.is_empty())
        .count();
    let elapsed = started.elapsed();
    anyhow::ensure!(
        lines >= expected_lines,
        "the file has {lines} lines, fewer than {expected_lines}"
    );
    Ok(ms(elapsed))
}

/// Starts this binary's `--phase import` on the file and reads its figures.
fn run_child(
    database_url: &str,
    path: &Path,
    args: &ReconcileArgs,
    day: Date,
) -> anyhow::Result<ImportFigures> {
    let exe = std::env::current_exe().context("finding this binary")?;
    let output = Command::new(exe)
        .args(["bench", "reconcile", "--phase", "import", "--lines"])
        .arg(args.lines.to_string())
        .arg("--format")
        .arg(match args.format {
            FileFormat::Asobancaria => "asobancaria",
            FileFormat::Csv => "csv",
        })
        .arg("--database-url")
        .arg(database_url)
        .arg("--file")
        .arg(path)
        .arg("--date")
        .arg(day.to_string())
        // Its errors and logs go where this process's go.
        .stderr(Stdio::inherit())
        .output()
        .context("starting the import's child process")?;
    anyhow::ensure!(
        output.status.success(),
        "the import's child process failed ({})",
        output.status
    );
    serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "reading the child's figures: {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// The child: imports the file and measures it.
async fn import_phase(args: &ReconcileArgs) -> anyhow::Result<ImportFigures> {
    let rss_at_start_bytes = status_bytes("VmRSS").unwrap_or(0);
    let url = args
        .database_url
        .as_deref()
        .context("--phase import needs --database-url")?;
    let path = args
        .file
        .as_deref()
        .context("--phase import needs --file")?;
    let date: Date = args
        .date
        .as_deref()
        .context("--phase import needs --date")?
        .parse()
        .context("--date is YYYY-MM-DD")?;
    let store = Store::open(url, &StoreOptions::default()).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let started = Instant::now();
    let bytes = std::fs::read(path).context("reading the file")?;
    let read_file = started.elapsed();
    let request = Import {
        mode: Mode::Test,
        route: ROUTE.into(),
        network: NETWORK.into(),
        format: args.format.format(),
        date: Some(date),
        lenient: false,
        source: Source::Cli,
        by: "cajero bench reconcile".into(),
    };
    let imported = reconciliation::import(&store, &clock, request, bytes).await?;
    let total = started.elapsed();
    let peak_rss_bytes = status_bytes("VmHWM").unwrap_or(0);
    store.close().await;
    let summary = match imported {
        Imported::Done(summary) => summary,
        Imported::AlreadyImported(file) => {
            anyhow::bail!("the file {} was imported before", file.id)
        }
        Imported::Rejected { refused, .. } => {
            anyhow::bail!("the file was refused: {:?}", refused.problems)
        }
    };
    let t = summary.timings;
    Ok(ImportFigures {
        read_file_ms: ms(read_file),
        parse_ms: ms(t.read),
        match_ms: ms(t.matching),
        write_ms: ms(t.write),
        import_ms: ms(total - read_file),
        total_ms: ms(total),
        rss_at_start_bytes,
        peak_rss_bytes,
        outcomes: summary
            .outcomes
            .iter()
            .map(|(k, n)| ((*k).to_owned(), *n))
            .collect(),
        unexplained: summary
            .tie_outs
            .iter()
            .map(|t| t.unexplained.saturating_abs())
            .fold(0i64, i64::saturating_add),
        ledger_total: summary
            .tie_outs
            .iter()
            .map(|t| t.ledger_total)
            .fold(0i64, i64::saturating_add),
    })
}

/// A `kB` line of `/proc/self/status` (`VmHWM`: peak resident set), in bytes.
fn status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status
        .lines()
        .find(|l| l.split(':').next() == Some(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1_024)
}

fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("model name"))?;
    Some(line.split_once(':')?.1.trim().to_owned())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

/// The report as text for people.
fn human(r: &ReconcileReport) -> String {
    let met = |judged: Option<bool>| match judged {
        Some(true) => "met",
        Some(false) => "NOT met",
        None => "not judged (stated for 1,000,000 lines)",
    };
    let i = &r.import;
    let outcomes: Vec<String> = i.outcomes.iter().map(|(k, n)| format!("{k} {n}")).collect();
    format!(
        "cajero bench reconcile — {} — {} CPUs {} {} (load {}) {} build — sqlite, {} file of \
         {} lines ({:.1} MB) against {} orders\n  \
         seed {:.1} s, file written in {:.1} s (not measured against the target)\n  \
         plain pass (read + split lines): {:.0} ms\n  \
         import: read file {:.0} ms, parse {:.0} ms, match {:.0} ms, write {:.0} ms; \
         import call {:.0} ms; total {:.0} ms = {:.0} lines/s\n  \
         peak RSS of the import's process {:.0} MB ({:.0} MB at its start)\n  \
         outcomes: {}; tie-out unexplained {}\n  \
         targets: ≤ {:.0} s: {}; ≤ {:.0} MB: {}",
        r.date,
        r.machine.cpus,
        r.cpu_model.as_deref().unwrap_or("unknown CPU"),
        r.machine.arch,
        r.machine
            .load_average_1m
            .map_or_else(|| "unknown".to_string(), |l| format!("{l:.2}")),
        r.machine.build,
        match r.format {
            FileFormat::Asobancaria => "Asobancaria",
            FileFormat::Csv => "CSV",
        },
        r.lines,
        mb(r.file_bytes),
        r.lines,
        r.seed_ms / 1_000.0,
        r.write_file_ms / 1_000.0,
        r.plain_pass_ms,
        i.read_file_ms,
        i.parse_ms,
        i.match_ms,
        i.write_ms,
        i.import_ms,
        i.total_ms,
        r.lines_per_s,
        mb(i.peak_rss_bytes),
        mb(i.rss_at_start_bytes),
        outcomes.join(", "),
        i.unexplained,
        r.target_seconds,
        met(r.seconds_met),
        mb(r.target_peak_bytes),
        met(r.peak_met),
    )
}
