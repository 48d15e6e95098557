//! `cajero alerts list`, `cajero alerts resolve`: the operator's view of every alert (all
//! merchants, platform-wide ones included) and closing one by hand.

use anyhow::Context as _;
use cajero_domain::id::AlertId;
use cajero_domain::merchant::Mode;
use cajero_server::alerts::{self, AlertView};
use cajero_store::alerts::{self as store, AlertFilter};
use cajero_store::page::{Cursor, PageRequest};
use clap::Subcommand;
use serde_json::json;

use crate::DatabaseArgs;
use crate::admin::open;
use crate::output::print;

/// Alerts listed at most.
const LIST_LIMIT_MAX: u32 = 100;

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Alerts, newest first.
    List {
        /// Only the open ones.
        #[arg(long)]
        open: bool,
        /// Only this mode (test or live).
        #[arg(long)]
        mode: Option<Mode>,
        /// Only this code (`network_down`, `webhook_endpoint_failing`, …).
        #[arg(long)]
        code: Option<String>,
        /// How many at most (1–100).
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Resolve an open alert (`alert.resolved` to whom it was raised).
    Resolve {
        /// The alert (`alr_…`).
        id: AlertId,
        /// Why it is resolved.
        #[arg(long)]
        note: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

pub async fn run(command: AlertsCommand) -> anyhow::Result<()> {
    match command {
        AlertsCommand::List {
            open: only_open,
            mode,
            code,
            limit,
            db,
        } => {
            if !(1..=LIST_LIMIT_MAX).contains(&limit) {
                anyhow::bail!("--limit must be 1 to {LIST_LIMIT_MAX}, not {limit}");
            }
            if let Some(code) = &code
                && !alerts::codes::ALL.contains(&code.as_str())
            {
                anyhow::bail!(
                    "{code:?} is not an alert code; the codes are {}",
                    alerts::codes::ALL.join(", ")
                );
            }
            let filter = AlertFilter {
                merchant_id: None,
                livemode: mode.map(Mode::is_live),
                status: only_open.then(|| "open".to_string()),
                code,
            };
            let page = PageRequest {
                limit,
                cursor: Cursor::Newest,
            };
            let state = open(&db).await?;
            let rows = state
                .store
                .read(move |mut c| {
                    Box::pin(async move { store::list(&mut c, &filter, &page).await })
                })
                .await
                .context("reading the alerts")?;
            state.store.close().await;
            let views: Vec<AlertView> = rows.data.iter().map(AlertView::from).collect();
            print(
                db.json,
                &json!({ "data": views, "has_more": rows.has_more }),
                || {
                    if views.is_empty() {
                        return "no alerts".to_string();
                    }
                    views
                        .iter()
                        .map(|a| {
                            format!(
                                "{}  {:<8} {:<8} {} on {} ({}, {}) ×{} since {}: {}",
                                a.id,
                                a.status,
                                a.severity,
                                a.code,
                                a.subject,
                                a.merchant.as_deref().unwrap_or("platform-wide"),
                                if a.livemode { "live" } else { "test" },
                                a.occurrences,
                                a.raised_at,
                                a.message
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                },
            );
            Ok(())
        }
        AlertsCommand::Resolve { id, note, db } => {
            let note = note.trim().to_string();
            if note.is_empty() {
                anyhow::bail!("--note must say why the alert is resolved");
            }
            let state = open(&db).await?;
            let now = state.clock.now();
            let resolved = state
                .store
                .write(move |mut c| {
                    Box::pin(async move {
                        let done = alerts::resolve_by_id(&mut c, now, id, &note).await?;
                        let row = store::get(&mut c, &id.to_string()).await?;
                        Ok::<_, cajero_store::StoreError>((done, row))
                    })
                })
                .await
                .context("resolving the alert")?;
            state.store.close().await;
            match resolved {
                (Some(_), Some(row)) => {
                    let view = AlertView::from(&row);
                    print(db.json, &alerts::alert_json(&row), || {
                        format!(
                            "alert {} ({} on {}) resolved",
                            view.id, view.code, view.subject
                        )
                    });
                    Ok(())
                }
                (None, Some(row)) => anyhow::bail!("alert {id} is {}, not open", row.status),
                (_, None) => anyhow::bail!("no such alert: {id}"),
            }
        }
    }
}
