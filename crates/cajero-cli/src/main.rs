//! `cajero`: the server, and the operator's commands, in one binary.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

mod admin;
mod alerts;
mod analytics;
mod audit;
mod bench;
mod calendar;
mod chaos;
mod demo;
mod ledger;
mod networks;
mod output;
mod privacy;
mod reconcile;
mod risk;
mod sanctions;
mod secrets;
mod serve;
mod settings;
mod uiaf;

/// Every allocation of the binary (the server, the workers, the bench) goes through mimalloc:
/// under load glibc's `malloc`/`free` were ~16 % of the SQLite writer thread's time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// cajero — cash pay-ins and payouts through Latin American cash networks.
#[derive(Debug, Parser)]
#[command(name = "cajero", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (migrates the database first).
    Serve(serve::ServeArgs),
    /// Run everything on one machine — server, simulated network, SQLite — seeded with data.
    Demo(demo::DemoArgs),
    /// Bring the database schema up to date and exit.
    Migrate(DatabaseArgs),
    /// Create, list and change merchants.
    #[command(subcommand)]
    Merchant(admin::MerchantCommand),
    /// Invite and list a merchant's dashboard users.
    #[command(subcommand)]
    User(admin::UserCommand),
    /// Add, list, disable and enable the operators of the console.
    #[command(subcommand)]
    Operator(admin::OperatorCommand),
    /// Create, list and revoke API keys.
    #[command(subcommand)]
    Key(admin::KeyCommand),
    /// The Colombian business calendar settlements follow.
    #[command(subcommand)]
    Calendar(calendar::CalendarCommand),
    /// Check the books.
    #[command(subcommand)]
    Ledger(ledger::LedgerCommand),
    /// Verify the audit log's tamper-evident chain.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// The UIAF's monthly report of cash operations.
    #[command(subcommand)]
    Uiaf(uiaf::UiafCommand),
    /// Load sanctions lists and screen names against them.
    #[command(subcommand)]
    Sanctions(sanctions::SanctionsCommand),
    /// Risk rules, blocklists, decisions, and the pay-ins and payouts held for review.
    #[command(subcommand)]
    Risk(risk::RiskCommand),
    /// Personal data (Ley 1581 de 2012): export everything held about one person.
    #[command(subcommand)]
    Privacy(privacy::PrivacyCommand),
    /// Operator actions on balance top-ups.
    #[command(subcommand)]
    Topup(ledger::TopupCommand),
    /// The operator's COP per USD rates for USD settlements.
    #[command(subcommand)]
    Fx(settings::FxCommand),
    /// Run settlement now (the server also runs it every `ledger.settlement_interval_ms`).
    #[command(subcommand)]
    Settlement(settings::SettlementCommand),
    /// Success rates and times of a merchant's pay-ins and payouts.
    #[command(subcommand)]
    Analytics(analytics::AnalyticsCommand),
    /// Daily reconciliation against the networks' files: check, import, run, report, resolve.
    #[command(subcommand)]
    Reconcile(reconcile::ReconcileCommand),
    /// Alerts: list them (every merchant's and the platform-wide ones), resolve one by hand.
    #[command(subcommand)]
    Alerts(alerts::AlertsCommand),
    /// The gateways configured in `[[networks]]`: list them, check that each answers.
    #[command(subcommand)]
    Networks(networks::NetworksCommand),
    /// The instance key that seals stored secrets: status, rotation, a new key.
    #[command(subcommand)]
    Secrets(secrets::SecretsCommand),
    /// Measure throughput against DESIGN.md's targets.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// The crash suite: load, `kill -9`, restart, resend, then check that nothing was lost or
    /// done twice.
    Chaos(chaos::ChaosArgs),
    /// The cash network simulator: serve it, print its settlement files, play a counter.
    Sim(cajero_sim::cli::SimArgs),
    /// Print the API's OpenAPI 3.1 description (the same as `/openapi.json` and
    /// `docs/openapi.json`).
    Openapi,
}

/// Where the database is, for every command that touches it.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Database URL (`sqlite://cajero.db`, `postgres://…`); defaults to `$CAJERO_DATABASE_URL`,
    /// then the configuration file, then `sqlite://cajero.db`.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Configuration file (TOML); defaults to `$CAJERO_CONFIG`.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Demo(args) => demo::run(args).await,
            Command::Migrate(args) => admin::migrate(args).await,
            Command::Merchant(command) => admin::merchant(command).await,
            Command::Key(command) => admin::key(command).await,
            Command::User(command) => admin::user(command).await,
            Command::Operator(command) => admin::operator(command).await,
            Command::Calendar(command) => calendar::run(command),
            Command::Openapi => {
                print!("{}", cajero_server::openapi::spec_json());
                Ok(())
            }
            Command::Ledger(command) => ledger::ledger(command).await,
            Command::Audit(command) => audit::audit(command).await,
            Command::Uiaf(command) => uiaf::uiaf(command).await,
            Command::Sanctions(command) => sanctions::sanctions(command).await,
            Command::Risk(command) => risk::risk_command(command).await,
            Command::Privacy(command) => privacy::run(command).await,
            Command::Topup(command) => ledger::topup(command).await,
            Command::Fx(command) => settings::fx(command).await,
            Command::Settlement(command) => settings::settlement(command).await,
            Command::Sim(args) => cajero_sim::cli::run(args).await,
            Command::Bench(command) => bench::run(command).await,
            Command::Chaos(args) => chaos::run(args).await,
            Command::Secrets(command) => secrets::run(command).await,
            Command::Networks(command) => networks::run(command).await,
            Command::Reconcile(command) => reconcile::run(command).await,
            Command::Analytics(command) => analytics::run(command).await,
            Command::Alerts(command) => alerts::run(command).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
