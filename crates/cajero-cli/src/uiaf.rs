//! `cajero uiaf report --month YYYY-MM`: the UIAF's monthly report of cash operations.

use anyhow::Context as _;
use clap::Subcommand;
use serde_json::json;

use crate::DatabaseArgs;
use crate::admin::open;
use crate::output::print;

#[derive(Debug, Subcommand)]
pub enum UiafCommand {
    /// The month's reportable cash operations as CSV (single operations from COP 10,000,000;
    /// every operation of a person whose month adds up to COP 50,000,000), every merchant's,
    /// live mode. Due by the 10th of the next month.
    Report {
        /// The Bogotá calendar month, YYYY-MM.
        #[arg(long)]
        month: String,
        /// Write the CSV here instead of standard output.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

pub async fn uiaf(command: UiafCommand) -> anyhow::Result<()> {
    let UiafCommand::Report { month, out, db } = command;
    let day: jiff::civil::Date = format!("{month}-01")
        .parse()
        .with_context(|| format!("--month must be YYYY-MM, not {month:?}"))?;
    let state = open(&db).await?;
    let report = cajero_server::uiaf::report(&state.store, day).await;
    state.store.close().await;
    let report = report?;
    let text = cajero_server::uiaf::csv(&report)?;
    let due = report.due_by.map(|d| d.to_string()).unwrap_or_default();
    match out {
        Some(path) => {
            std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
            print(
                db.json,
                &json!({"month": month, "due_by": due, "operations": report.operations,
                        "reported": report.rows.len(), "file": path.display().to_string()}),
                || {
                    format!(
                        "{month}: {} of {} live cash operations reported, due by {due}; written to {}",
                        report.rows.len(),
                        report.operations,
                        path.display()
                    )
                },
            );
        }
        None => print!("{text}"),
    }
    Ok(())
}
