//! `cajero uiaf report --month YYYY-MM`: the UIAF's monthly report of cash operations;
//! `cajero uiaf flags --month YYYY-MM`: the month's operations the server flagged as they
//! happened (the same ones, once the month is over and read).

use anyhow::Context as _;
use clap::Subcommand;
use serde_json::json;

use crate::DatabaseArgs;
use crate::admin::open;
use crate::output::{print, timestamp};

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
    /// The month's flagged cash operations (live mode), in time order: order, merchant, why
    /// (`single` or `monthly_aggregate`), type, amount, document, when.
    Flags {
        /// The Bogotá calendar month, YYYY-MM.
        #[arg(long)]
        month: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

pub async fn uiaf(command: UiafCommand) -> anyhow::Result<()> {
    match command {
        UiafCommand::Report { month, out, db } => report(month, out, db).await,
        UiafCommand::Flags { month, db } => flags(month, db).await,
    }
}

fn first_day(month: &str) -> anyhow::Result<jiff::civil::Date> {
    format!("{month}-01")
        .parse()
        .with_context(|| format!("--month must be YYYY-MM, not {month:?}"))
}

async fn flags(month: String, db: DatabaseArgs) -> anyhow::Result<()> {
    let day = first_day(&month)?;
    let state = open(&db).await?;
    let flags = cajero_server::uiaf::flags::month(&state.store, day).await;
    state.store.close().await;
    let flags = flags?;
    let data: Vec<_> = flags
        .iter()
        .map(|f| {
            json!({
                "order": f.order_id,
                "merchant": f.merchant_id,
                "month": f.month,
                "why": f.why.as_str(),
                "direction": f.direction,
                "amount": f.amount,
                "document_type": f.document.as_ref().map(|d| d.0.as_str()),
                "document_number": f.document.as_ref().map(|d| d.1.as_str()),
                "completed_at": timestamp(f.completed_at),
                "flagged_at": timestamp(f.flagged_at),
            })
        })
        .collect();
    print(db.json, &json!({"month": month, "data": data}), || {
        if flags.is_empty() {
            return format!("{month}: no flagged cash operations");
        }
        flags
            .iter()
            .map(|f| {
                let document = f
                    .document
                    .as_ref()
                    .map_or_else(|| "no document".to_owned(), |d| format!("{} {}", d.0, d.1));
                format!(
                    "{}  {}  {:<17} {:<8} {:>14}  {:<20} {}",
                    f.order_id,
                    f.merchant_id,
                    f.why.as_str(),
                    f.direction,
                    cajero_domain::network::thousands(f.amount),
                    document,
                    cajero_domain::calendar::bogota()
                        .to_datetime(f.completed_at)
                        .strftime("%Y-%m-%d %H:%M Bogotá")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}

async fn report(
    month: String,
    out: Option<std::path::PathBuf>,
    db: DatabaseArgs,
) -> anyhow::Result<()> {
    let day = first_day(&month)?;
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
