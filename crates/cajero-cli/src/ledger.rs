//! `cajero ledger verify`, `cajero topup confirm`.

use anyhow::Context as _;
use cajero_domain::id::TopupId;
use cajero_store::verify;
use clap::Subcommand;
use serde_json::json;

use crate::DatabaseArgs;
use crate::admin::open;
use crate::output::print;

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Recompute every balance from the transfers and check the books; exits 1 on any problem.
    Verify {
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum TopupCommand {
    /// Confirm that a live top-up's bank transfer arrived: the money goes on the balance.
    Confirm {
        /// The top-up (`tu_…`).
        #[arg(long)]
        topup: TopupId,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

pub async fn ledger(command: LedgerCommand) -> anyhow::Result<()> {
    let LedgerCommand::Verify { db } = command;
    let state = open(&db).await?;
    let report = state
        .store
        .read(|mut c| Box::pin(async move { verify::verify(&mut c).await }))
        .await
        .context("reading the ledger")?;
    state.store.close().await;
    let problems: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    print(
        db.json,
        &json!({
            "ok": problems.is_empty(),
            "accounts": report.accounts,
            "transfers": report.transfers,
            "problems": problems,
        }),
        || {
            let mut text = format!(
                "checked {} accounts and {} transfers: ",
                report.accounts, report.transfers
            );
            if problems.is_empty() {
                text.push_str("the books balance");
            } else {
                text.push_str(&format!("{} problem(s)", problems.len()));
                for p in &problems {
                    text.push_str(&format!("\n  - {p}"));
                }
            }
            text
        },
    );
    if !problems.is_empty() {
        anyhow::bail!("the ledger does not verify ({} problem(s))", problems.len());
    }
    Ok(())
}

pub async fn topup(command: TopupCommand) -> anyhow::Result<()> {
    let TopupCommand::Confirm { topup, db } = command;
    let state = open(&db).await?;
    let now = state.clock.now();
    let record = state
        .store
        .write(move |mut c| {
            Box::pin(async move { cajero_server::funds::confirm_topup(&mut c, topup, now).await })
        })
        .await?;
    state.store.close().await;
    print(db.json, &cajero_server::funds::topup_json(&record), || {
        format!(
            "top-up {} of {} {} is on merchant {}'s balance",
            record.id, record.amount, record.currency, record.merchant_id
        )
    });
    Ok(())
}
