//! `cajero sim …`: serve the simulator, print settlement files, play a counter.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::{Value, json};

use crate::config::SimConfig;
use crate::engine::State;
use crate::settlement::{SettlementFormat, settlement_file};
use crate::store::Store;

/// `cajero sim [--listen …] [--database-url …] [COMMAND]`: without a command, serves.
#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// What to do; serving when absent.
    #[command(subcommand)]
    pub command: Option<SimCommand>,
    /// Serving options.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// Options of the simulator's configuration shared by every command.
#[derive(Debug, Clone, clap::Args)]
pub struct ConfigArgs {
    /// TOML configuration (profiles, merchants, faults…); defaults otherwise.
    #[arg(long, env = "CAJERO_SIM_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// `sqlite://sim.db` to persist; in memory when absent.
    #[arg(long, env = "CAJERO_SIM_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
}

impl ConfigArgs {
    fn load(&self) -> anyhow::Result<SimConfig> {
        let mut config = match &self.config {
            Some(path) => SimConfig::from_toml_file(path)
                .with_context(|| format!("reading {}", path.display()))?,
            None => SimConfig::default(),
        };
        if self.database_url.is_some() {
            config.database_url.clone_from(&self.database_url);
        }
        Ok(config)
    }
}

/// Serving options.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7070", env = "CAJERO_SIM_LISTEN")]
    pub listen: SocketAddr,
    /// Configuration and database.
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Seed of every random choice; a run replays (ids included) only with one. Without it,
    /// ids and codes never repeat across restarts, even in memory.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Start the simulated clock at this instant (RFC 3339).
    #[arg(long)]
    pub clock_start: Option<Timestamp>,
    /// Freeze the clock: it moves only with `POST /sim/v1/clock/advance`.
    #[arg(long)]
    pub frozen_clock: bool,
    /// Simulated customers pay vouchers and collect payouts.
    #[arg(long)]
    pub autopilot: bool,
}

/// The `cajero sim` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum SimCommand {
    /// Print the settlement file of one Bogotá day from the simulator's database.
    SettlementFile {
        /// Bogotá day, YYYY-MM-DD.
        #[arg(long)]
        date: Date,
        /// `asobancaria` (pay-ins, fixed width) or `csv` (everything that moved).
        #[arg(long, value_enum, default_value = "asobancaria")]
        format: SettlementFormat,
        /// One merchant; without it, the whole network (one batch per merchant).
        #[arg(long)]
        merchant: Option<String>,
        /// Network profile; the default network when absent.
        #[arg(long)]
        network: Option<String>,
    },
    /// Play a counter of a running simulator.
    #[command(subcommand)]
    Counter(CounterCommand),
}

/// `cajero sim counter …`.
#[derive(Debug, clap::Subcommand)]
pub enum CounterCommand {
    /// A customer pays a voucher.
    Pay {
        /// Base URL of the running simulator.
        #[arg(long, default_value = "http://127.0.0.1:7070", env = "CAJERO_SIM_URL")]
        sim_url: String,
        /// Counter id (`EF-BOG-001`).
        #[arg(long)]
        counter: String,
        /// Payment code.
        #[arg(long)]
        code: String,
        /// Cash handed over, COP.
        #[arg(long)]
        amount: i64,
    },
    /// A beneficiary collects a payout.
    Collect {
        /// Base URL of the running simulator.
        #[arg(long, default_value = "http://127.0.0.1:7070", env = "CAJERO_SIM_URL")]
        sim_url: String,
        /// Counter id.
        #[arg(long)]
        counter: String,
        /// Pick-up code.
        #[arg(long)]
        code: String,
        /// Document number shown.
        #[arg(long)]
        document: String,
    },
}

/// Runs a `cajero sim` invocation.
pub async fn run(args: SimArgs) -> anyhow::Result<()> {
    match args.command {
        None => serve(args.serve).await,
        Some(SimCommand::SettlementFile {
            date,
            format,
            merchant,
            network,
        }) => {
            let config = args.serve.config.load()?;
            let text = settlement_text(config, date, format, merchant, network).await?;
            print!("{text}");
            Ok(())
        }
        Some(SimCommand::Counter(command)) => counter(command).await,
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = args.config.load()?;
    if args.seed.is_some() {
        config.seed = args.seed;
    }
    if args.clock_start.is_some() {
        config.clock.start = args.clock_start;
    }
    config.clock.frozen |= args.frozen_clock;
    config.autopilot.enabled |= args.autopilot;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    let storage = config
        .database_url
        .clone()
        .unwrap_or_else(|| "memory".into());
    println!(
        "cajero sim listening on http://{addr} (state: {storage}); cashier page: http://{addr}/ventanilla"
    );
    for m in &config.merchants {
        println!("merchant {:?} enrolled (secret in the configuration)", m.id);
    }
    crate::serve(config, listener).await
}

/// The settlement file from the state stored at `config.database_url`.
pub async fn settlement_text(
    config: SimConfig,
    date: Date,
    format: SettlementFormat,
    merchant: Option<String>,
    network: Option<String>,
) -> anyhow::Result<String> {
    let url = config
        .database_url
        .clone()
        .context("--database-url is required: the file is read from the simulator's database")?;
    let store = Store::open(&url).await?;
    let loaded = store.load().await?;
    let mut state = State::new(&config);
    state.restore(
        loaded.meta,
        loaded.merchants,
        loaded.orders,
        loaded.attempts,
        loaded.callbacks,
        loaded.drawers,
    );
    let network = network.unwrap_or_else(|| config.default_network.clone());
    Ok(settlement_file(
        &state,
        &network,
        date,
        merchant.as_deref(),
        format,
    )?)
}

async fn counter(command: CounterCommand) -> anyhow::Result<()> {
    let (url, body) = match command {
        CounterCommand::Pay {
            sim_url,
            counter,
            code,
            amount,
        } => (
            format!("{}/counter/v1/pay", sim_url.trim_end_matches('/')),
            json!({"counter_id": counter, "code": code, "amount": amount}),
        ),
        CounterCommand::Collect {
            sim_url,
            counter,
            code,
            document,
        } => (
            format!("{}/counter/v1/collect", sim_url.trim_end_matches('/')),
            json!({"counter_id": counter, "code": code, "document_number": document}),
        ),
    };
    let response = reqwest::Client::new()
        .post(&url)
        .json(&body)
        .send()
        .await
        .with_context(|| format!("calling {url}"))?;
    let status = response.status();
    let answer: Value = response.json().await.context("reading the answer")?;
    println!("{}", serde_json::to_string_pretty(&answer)?);
    if !status.is_success() {
        anyhow::bail!("the simulator refused the request ({status})");
    }
    if answer["approved"] != json!(true) {
        anyhow::bail!(
            "counter refused: {}",
            answer["outcome"].as_str().unwrap_or("unknown")
        );
    }
    Ok(())
}
