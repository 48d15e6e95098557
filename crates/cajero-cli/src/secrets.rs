//! `cajero secrets …`: the instance key that seals stored secrets (webhook signing secrets).

use cajero_server::secrets::{self, Reseal};
use cajero_store::secret_box::InstanceKey;
use clap::Subcommand;
use serde_json::json;

use crate::DatabaseArgs;
use crate::output::print;

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Which key seals, which keys are retired, and how the stored secrets are sealed.
    Status {
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Re-seal every stored secret under the current `secrets_key` (after moving the old key
    /// to `secrets_retired_keys`); the retired key can then be dropped.
    Rotate {
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Print a new random instance key (64 hex characters) for `secrets_key` or a key file.
    GenerateKey,
}

pub async fn run(command: SecretsCommand) -> anyhow::Result<()> {
    match command {
        SecretsCommand::GenerateKey => {
            println!("{}", InstanceKey::generate().to_hex());
        }
        SecretsCommand::Status { db } => {
            let state = crate::admin::open(&db).await?;
            let status = secrets::status(&state.store, &state.secrets).await;
            state.store.close().await;
            let status = status?;
            let value = json!({
                "current_key_id": status.current_key_id,
                "retired_key_ids": status.retired_key_ids,
                "sealed_by_key": status.sealed_by_key,
                "plaintext": status.plaintext,
            });
            print(db.json, &value, || {
                let mut lines = vec![format!("current key: {}", status.current_key_id)];
                if !status.retired_key_ids.is_empty() {
                    lines.push(format!(
                        "retired keys: {}",
                        status.retired_key_ids.join(", ")
                    ));
                }
                for (key, count) in &status.sealed_by_key {
                    lines.push(format!("sealed under {key}: {count}"));
                }
                lines.push(format!("in clear: {}", status.plaintext));
                lines.join("\n")
            });
        }
        SecretsCommand::Rotate { db } => {
            let state = crate::admin::open(&db).await?;
            let report =
                secrets::reseal(&state.store, &state.secrets, Reseal::AllToCurrentKey).await;
            let current = state.secrets.current_key_id().to_string();
            state.store.close().await;
            let report = report?;
            if !report.unknown_key_ids.is_empty() {
                anyhow::bail!(
                    "some secrets are sealed under keys that are not configured ({}): add them to \
                     `secrets_retired_keys` and run again; the others were re-sealed",
                    report.unknown_key_ids.join(", ")
                );
            }
            let value = json!({"current_key_id": current, "resealed": report.resealed,
                               "unchanged": report.unchanged});
            print(db.json, &value, || {
                format!(
                    "re-sealed {} secrets under key {current} ({} already were); retired keys \
                     can now be removed",
                    report.resealed, report.unchanged
                )
            });
        }
    }
    Ok(())
}
