//! `cajero networks …`: the gateways configured in `[[networks]]`, and whether each answers.

use std::path::PathBuf;

use anyhow::Context;
use cajero_server::config::{Config, Overrides};
use cajero_server::network_config::{NetworkKind, OrderKind, Source};
use cajero_server::networks::Networks;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::output::print;

#[derive(Debug, Subcommand)]
pub enum NetworksCommand {
    /// Every configured network: its kind, mode, priority, what it serves, its limits, and where
    /// each credential comes from (never a secret's value).
    List(NetworksArgs),
    /// Reach each configured network with a harmless authenticated call and report the
    /// latency and the result; exits with failure when one does not answer well.
    Check(NetworksArgs),
    /// How each route to each network is doing, as every running instance last published it:
    /// circuit breaker state and since when, failures in the window, latency and callback
    /// delay percentiles, the last error.
    Health {
        #[command(flatten)]
        db: crate::DatabaseArgs,
    },
}

#[derive(Debug, Clone, Args)]
pub struct NetworksArgs {
    /// Configuration file (TOML); defaults to `$CAJERO_CONFIG`.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What a kind serves when the entry does not narrow it.
fn served(kind: NetworkKind, order: OrderKind) -> Vec<String> {
    kind.serves(order).iter().map(|n| n.to_string()).collect()
}

fn env(var: &str) -> Option<String> {
    std::env::var(var).ok()
}

pub async fn run(command: NetworksCommand) -> anyhow::Result<()> {
    match command {
        NetworksCommand::List(args) => list(&args),
        NetworksCommand::Check(args) => check(&args).await,
        NetworksCommand::Health { db } => health(&db).await,
    }
}

fn load(args: &NetworksArgs) -> anyhow::Result<Config> {
    Config::load(args.config.as_deref(), Overrides::default()).context("loading the configuration")
}

fn list(args: &NetworksArgs) -> anyhow::Result<()> {
    let config = load(args)?;
    let entries: Vec<serde_json::Value> = config
        .networks
        .iter()
        .map(|e| {
            let sources: serde_json::Map<String, serde_json::Value> = e
                .sources(&env)
                .into_iter()
                .map(|(key, source)| {
                    let shown = match source {
                        Source::Missing => format!("MISSING: set {}", e.secret_var(key)),
                        other => other.as_str().to_string(),
                    };
                    (key.to_string(), json!(shown))
                })
                .collect();
            json!({
                "name": e.name(),
                "kind": e.kind.as_str(),
                "mode": cajero_domain::merchant::Mode::from(e.mode).as_str(),
                "base_url": e.base_url,
                "priority": e.priority,
                "collections": e.collections.clone().unwrap_or_else(|| served(e.kind, OrderKind::Collection)),
                "payouts": e.payouts.clone().unwrap_or_else(|| served(e.kind, OrderKind::Payout)),
                "collection_limits": e.limits(OrderKind::Collection).map(|r| r.to_string()),
                "payout_limits": e.limits(OrderKind::Payout).map(|r| r.to_string()),
                "credentials": sources,
            })
        })
        .collect();
    print(args.json, &json!(entries), || {
        if entries.is_empty() {
            return "no [[networks]] configured: live mode has no network (test mode uses the simulator)".into();
        }
        let mut lines = Vec::new();
        for e in &entries {
            let served = |v: &serde_json::Value| {
                let list: Vec<&str> = v
                    .as_array()
                    .map(|l| l.iter().filter_map(|n| n.as_str()).collect())
                    .unwrap_or_default();
                if list.is_empty() {
                    "none".to_string()
                } else {
                    list.join(", ")
                }
            };
            lines.push(format!(
                "{} ({}, {}) priority {} at {}",
                e["name"].as_str().unwrap_or_default(),
                e["kind"].as_str().unwrap_or_default(),
                e["mode"].as_str().unwrap_or_default(),
                e["priority"],
                e["base_url"].as_str().unwrap_or_default(),
            ));
            lines.push(format!("  pay-ins at: {}", served(&e["collections"])));
            lines.push(format!("  payouts at: {}", served(&e["payouts"])));
            for (what, key) in [
                ("pay-in limits", "collection_limits"),
                ("payout limits", "payout_limits"),
            ] {
                if let Some(limits) = e[key].as_str() {
                    lines.push(format!("  {what}: {limits}"));
                }
            }
            if let Some(credentials) = e["credentials"].as_object() {
                let text: Vec<String> = credentials
                    .iter()
                    .map(|(k, v)| match v.as_str().unwrap_or_default() {
                        missing if missing.starts_with("MISSING") => format!("{k} {missing}"),
                        source => format!("{k} from {source}"),
                    })
                    .collect();
                lines.push(format!("  credentials: {}", text.join(", ")));
            }
        }
        lines.join("\n")
    });
    Ok(())
}

async fn check(args: &NetworksArgs) -> anyhow::Result<()> {
    let config = load(args)?;
    let public_url = config.public_url();
    let mut networks = match &config.simulator {
        Some(sim) => {
            Networks::simulator(&sim.url, &sim.merchant_id, sim.secret.expose(), &public_url)?
        }
        None => Networks::default(),
    };
    networks = networks.with_configured(&config.networks, &public_url, &env)?;
    let reports = networks.check().await;
    let value: Vec<serde_json::Value> = reports
        .iter()
        .map(|r| {
            json!({
                "name": r.route,
                "mode": r.mode.as_str(),
                "networks": r.networks,
                "ok": r.result.is_ok(),
                "error": r.result.as_ref().err(),
                "latency_ms": r.latency_ms,
            })
        })
        .collect();
    print(args.json, &json!(value), || {
        if reports.is_empty() {
            return "no network configured to check".into();
        }
        reports
            .iter()
            .map(|r| {
                let verdict = match &r.result {
                    Ok(()) => "ok".to_string(),
                    Err(e) => format!("FAILED: {e}"),
                };
                format!(
                    "{} ({}; {}): {verdict} in {} ms",
                    r.route,
                    r.mode.as_str(),
                    r.networks.join(", "),
                    r.latency_ms
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    let failed = reports.iter().filter(|r| r.result.is_err()).count();
    if failed > 0 {
        anyhow::bail!("{failed} of {} networks did not answer well", reports.len());
    }
    Ok(())
}

async fn health(db: &crate::DatabaseArgs) -> anyhow::Result<()> {
    let state = crate::admin::open(db).await?;
    let rows = cajero_server::health::published(&state).await?;
    state.store.close().await;
    let opt = |v: Option<i64>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
    let json_rows: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            json!({
                "instance": r.instance_id,
                "mode": if r.livemode { "live" } else { "test" },
                "route": r.route,
                "network": r.network,
                "state": r.state,
                "since": crate::output::timestamp(r.since),
                "window_requests": r.window_requests,
                "window_failures": r.window_failures,
                "latency_ms": {"p50": r.latency_ms[0], "p95": r.latency_ms[1], "p99": r.latency_ms[2]},
                "callback_delay_s": {"p50": r.callback_delay_s[0], "p95": r.callback_delay_s[1]},
                "last_error": r.last_error,
                "probed_at": r.probed_at.map(crate::output::timestamp),
                "created_total": r.created_total,
                "failed_total": r.failed_total,
                "updated_at": crate::output::timestamp(r.updated_at),
            })
        })
        .collect();
    print(db.json, &json!({ "routes": json_rows }), || {
        if rows.is_empty() {
            return "no instance has published network health in the last 5 minutes (is a server running?)".to_string();
        }
        let mut out = String::from(
            "MODE  ROUTE        NETWORK  STATE      SINCE                 FAILED/CALLS  P50MS  P95MS  P99MS  INSTANCE\n",
        );
        for r in &rows {
            out.push_str(&format!(
                "{:<5} {:<12} {:<8} {:<10} {:<21} {:>12}  {:>5}  {:>5}  {:>5}  {}{}\n",
                if r.livemode { "live" } else { "test" },
                r.route,
                r.network,
                r.state,
                crate::output::timestamp(r.since),
                format!("{}/{}", r.window_failures, r.window_requests),
                opt(r.latency_ms[0]),
                opt(r.latency_ms[1]),
                opt(r.latency_ms[2]),
                r.instance_id,
                r.last_error
                    .as_deref()
                    .map(|e| format!("\n      last error: {e}"))
                    .unwrap_or_default(),
            ));
        }
        out.trim_end().to_string()
    });
    Ok(())
}
