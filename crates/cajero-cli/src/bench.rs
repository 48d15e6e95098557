//! `cajero bench`: measurements against DESIGN.md's targets.

use clap::Subcommand;

pub mod orders;

/// What to measure.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// `POST /v1/payouts` under load, against a hollow pipeline (target ≥ 5,000/s on SQLite).
    Payouts(orders::OrdersArgs),
    /// `POST /v1/payins` under load, against a hollow pipeline.
    Payins(orders::OrdersArgs),
}

/// Runs a benchmark and prints its report.
pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Payouts(args) => orders::run(orders::Kind::Payouts, args).await,
        BenchCommand::Payins(args) => orders::run(orders::Kind::Payins, args).await,
    }
}
