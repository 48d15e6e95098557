//! `cajero audit verify|seal`: the audit log's SHA-256 chain.

use clap::Subcommand;
use serde_json::json;

use crate::DatabaseArgs;
use crate::admin::open;
use crate::output::print;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the audit log's chain from its first entry; exits 1 naming the first entry
    /// that was changed, removed or slipped in. Prints the head (keep it elsewhere to compare).
    Verify {
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Seal the entries not sealed yet now (the server's worker does it every 2 seconds).
    Seal {
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

pub async fn audit(command: AuditCommand) -> anyhow::Result<()> {
    match command {
        AuditCommand::Verify { db } => {
            let state = open(&db).await?;
            let report = cajero_server::audit_chain::verify(&state.store).await;
            state.store.close().await;
            let report = report?;
            let broken = report
                .broken
                .as_ref()
                .map(|b| json!({"seq": b.seq, "id": b.id, "why": b.why}));
            print(
                db.json,
                &json!({
                    "ok": broken.is_none(),
                    "sealed": report.sealed,
                    "unsealed": report.unsealed,
                    "head": report.head.as_ref().map(|(seq, hash)| json!({"seq": seq, "hash": hash})),
                    "broken": broken,
                }),
                || {
                    let mut text = format!(
                        "{} entries chained, {} not sealed yet",
                        report.sealed, report.unsealed
                    );
                    if let Some((seq, hash)) = &report.head {
                        text.push_str(&format!("; head {seq} {hash}"));
                    }
                    if let Some(b) = &report.broken {
                        text.push_str(&format!(
                            "\nBROKEN at entry {}{}: {}",
                            b.seq,
                            b.id.as_deref()
                                .map(|id| format!(" ({id})"))
                                .unwrap_or_default(),
                            b.why
                        ));
                    }
                    text
                },
            );
            if let Some(b) = report.broken {
                anyhow::bail!(
                    "the audit log's chain is broken at entry {}: {}",
                    b.seq,
                    b.why
                );
            }
        }
        AuditCommand::Seal { db } => {
            let state = open(&db).await?;
            let mut sealed = 0;
            let result = loop {
                match cajero_server::audit_chain::seal_pending(&state.store).await {
                    Ok(0) => break Ok(()),
                    Ok(n) => sealed += n,
                    Err(e) => break Err(e),
                }
            };
            state.store.close().await;
            result?;
            print(db.json, &json!({"sealed": sealed}), || {
                format!("{sealed} entries sealed")
            });
        }
    }
    Ok(())
}
