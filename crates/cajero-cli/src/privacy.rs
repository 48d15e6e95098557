//! Personal data (Ley 1581 de 2012): `cajero privacy export`, everything held about one person,
//! and `cajero merchant privacy`, whether a merchant's events carry full personal data. The
//! rules are `cajero_server::privacy`'s; this is only the command line's face.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use cajero_domain::id::MerchantId;
use cajero_server::operators::{Acting, Reason};
use cajero_server::privacy::{self, Changer};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

use crate::DatabaseArgs;
use crate::admin::open;
use crate::output::print;

#[derive(Debug, Subcommand)]
pub enum PrivacyCommand {
    /// Everything held about one person — pay-ins where they are the customer, payouts where
    /// they are the beneficiary, KYC applications that name them, audit entries and events
    /// about those orders — across every merchant and both modes, as JSON. The export is
    /// written to the audit log with its reason before anything is read.
    Export {
        /// The person's document as TYPE:NUMBER (CC:79876543); dots, spaces and dashes in the
        /// number are ignored (a NIT keeps the dash before its check digit).
        #[arg(long)]
        document: String,
        /// Why (required; written to the audit log).
        #[arg(long)]
        reason: String,
        /// Write the JSON to this file (readable by its owner only) instead of standard output;
        /// a summary is printed.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

/// What a merchant's events carry about people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EventsData {
    /// Document and phone numbers by their last four digits, names by initials (the default).
    Masked,
    /// Everything, as the API shows the order to its merchant.
    Full,
}

/// `cajero merchant privacy`.
#[derive(Debug, Args)]
pub struct MerchantPrivacyArgs {
    /// The merchant (`mer_…`).
    #[arg(long)]
    merchant: MerchantId,
    /// Change what its events carry; without it, the setting is shown.
    #[arg(long, value_enum)]
    events: Option<EventsData>,
    /// Why (required with --events; written to the audit log).
    #[arg(long)]
    reason: Option<String>,
    #[command(flatten)]
    db: DatabaseArgs,
}

pub async fn run(command: PrivacyCommand) -> anyhow::Result<()> {
    let PrivacyCommand::Export {
        document,
        reason,
        out,
        db,
    } = command;
    let document = privacy::parse_document(&document)?;
    let acting = Acting::cli(Reason::parse(&reason)?);
    let state = open(&db).await?;
    let public_url = state.config.public_url();
    let exported = privacy::export(
        &state.store,
        state.clock.as_ref(),
        &public_url,
        document,
        &acting,
    )
    .await;
    state.store.close().await;
    let exported = exported?;
    let text = serde_json::to_string_pretty(&exported.to_json())?;
    let Some(path) = out else {
        println!("{text}");
        return Ok(());
    };
    write_private(&path, &text)?;
    let counts: serde_json::Map<String, serde_json::Value> = exported
        .sections
        .iter()
        .map(|s| (s.name.to_owned(), json!(s.rows.len())))
        .collect();
    let truncated: Vec<&str> = exported
        .sections
        .iter()
        .filter(|s| s.truncated)
        .map(|s| s.name)
        .collect();
    print(
        db.json,
        &json!({"file": path.display().to_string(), "audit_entry": exported.audit_id,
                "rows": counts, "truncated": truncated}),
        || {
            let rows: Vec<String> = exported
                .sections
                .iter()
                .map(|s| format!("{} {}", s.rows.len(), s.name))
                .collect();
            format!(
                "exported {} to {} (audit entry {}){}",
                rows.join(", "),
                path.display(),
                exported.audit_id,
                if truncated.is_empty() {
                    String::new()
                } else {
                    format!("; cut at the limit: {}", truncated.join(", "))
                }
            )
        },
    );
    Ok(())
}

/// Writes personal data to a file only its owner can read.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

pub async fn merchant(args: MerchantPrivacyArgs) -> anyhow::Result<()> {
    let MerchantPrivacyArgs {
        merchant,
        events,
        reason,
        db,
    } = args;
    let acting = match (&events, &reason) {
        (Some(_), Some(reason)) => Some(Acting::cli(Reason::parse(reason)?)),
        (Some(_), None) => anyhow::bail!("--reason is required to change a merchant's events"),
        (None, _) => None,
    };
    let state = open(&db).await?;
    let result = match (events, &acting) {
        (Some(events), Some(acting)) => privacy::set_full_personal_data_in_events(
            &state.store,
            state.clock.as_ref(),
            merchant,
            events == EventsData::Full,
            Changer::Operator(acting),
        )
        .await
        .map(|change| change.after),
        _ => privacy::full_personal_data_in_events(&state.store, merchant).await,
    };
    state.store.close().await;
    let full = result?;
    let shown = if full { "full" } else { "masked" };
    print(
        db.json,
        &json!({"merchant": merchant.to_string(), "personal_data_in_events": shown}),
        || format!("merchant {merchant}: personal data in events {shown}"),
    );
    Ok(())
}
