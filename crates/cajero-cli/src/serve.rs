//! `cajero serve`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use cajero_server::clock::{Clock, SystemClock};
use cajero_server::config::{Config, LogFormat, Overrides};
use clap::Args;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; defaults to `$CAJERO_LISTEN`, then 127.0.0.1:8080.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Database URL; defaults to `$CAJERO_DATABASE_URL`, then sqlite://cajero.db.
    #[arg(long)]
    database_url: Option<String>,
    /// Configuration file (TOML); defaults to `$CAJERO_CONFIG`.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Log format: human or json.
    #[arg(long, value_parser = parse_log_format)]
    log_format: Option<LogFormat>,
}

fn parse_log_format(s: &str) -> Result<LogFormat, String> {
    match s {
        "human" => Ok(LogFormat::Human),
        "json" => Ok(LogFormat::Json),
        other => Err(format!("{other:?} is not a log format: use human or json")),
    }
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let config = Config::load(
        args.config.as_deref(),
        Overrides {
            listen: args.listen,
            database_url: args.database_url,
            log_format: args.log_format,
        },
    )?;
    cajero_server::telemetry::init(config.log_format, &config.log_level);
    tracing::info!(?config, "starting cajero");
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let state = cajero_server::AppState::open_serving(config, clock).await?;
    tracing::info!(
        addr = %listener.local_addr()?,
        engine = ?state.store.engine(),
        "ready: GET /healthz, /readyz; API under /v1"
    );
    cajero_server::serve(state, listener, cajero_server::shutdown_signal()).await
}
