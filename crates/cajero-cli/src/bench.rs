//! `cajero bench`: measurements against DESIGN.md's targets.

use clap::{Args, Subcommand};

use crate::output;

mod dashboard;
mod hollow;
mod load;
mod netstub;
pub mod orders;
mod reconcile;
mod report;
mod threads;

/// What to measure.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// `POST /v1/payouts` under load against a network stand-in (or `--network sim`), and a
    /// hollow pipeline in the same run (target ≥ 5,000/s on SQLite).
    Payouts(orders::OrdersArgs),
    /// `POST /v1/payins` under load against a network stand-in (or `--network sim`), and a
    /// hollow pipeline in the same run.
    Payins(orders::OrdersArgs),
    /// A network's daily file of `--lines` lines imported and matched against as many paid
    /// orders already in the database (target ≤ 5 s and ≤ 500 MB peak for 1,000,000 on SQLite).
    Reconcile(reconcile::ReconcileArgs),
    /// Signed webhook deliveries per second to a local receiver (target ≥ 5,000/s).
    Webhooks(WebhooksArgs),
    /// The dashboard's pay-ins list with `--payins` pay-ins in the books (target: the first
    /// page of 10,000 in < 100 ms on SQLite).
    Dashboard(dashboard::DashboardArgs),
}

/// `cajero bench webhooks`.
#[derive(Debug, Args)]
pub struct WebhooksArgs {
    /// Events to deliver.
    #[arg(long, default_value_t = 50_000)]
    pub events: usize,
    /// Deliveries in flight at once.
    #[arg(long, default_value_t = 256)]
    pub concurrency: u32,
    /// Database URL; a fresh SQLite file in the temporary directory by default.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs a benchmark and prints its report.
pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Payouts(args) => orders::run(orders::Kind::Payouts, args).await,
        BenchCommand::Payins(args) => orders::run(orders::Kind::Payins, args).await,
        BenchCommand::Reconcile(args) => reconcile::run(args).await,
        BenchCommand::Dashboard(args) => dashboard::run(args).await,
        BenchCommand::Webhooks(args) => {
            // As `bench payouts` does: what the store logs (a failed write batch) is seen.
            cajero_server::telemetry::init(
                cajero_server::config::LogFormat::Human,
                &std::env::var("CAJERO_LOG_LEVEL").unwrap_or_else(|_| "warn".into()),
            );
            let report =
                cajero_server::webhook::bench::run(cajero_server::webhook::bench::BenchOptions {
                    events: args.events,
                    database_url: args.database_url,
                    concurrency: args.concurrency,
                })
                .await?;
            output::print(args.json, &serde_json::to_value(&report)?, || {
                format!(
                    "webhooks ({}): {} deliveries in {:.2} s = {:.0}/s (target {:.0}/s: {})",
                    report.engine,
                    report.events,
                    report.seconds,
                    report.per_second,
                    report.target_per_second,
                    if report.meets_target {
                        "met"
                    } else {
                        "NOT met"
                    }
                )
            });
            Ok(())
        }
    }
}
