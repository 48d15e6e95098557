//! `cajero sanctions load|status|screen`: the sanctions lists names are screened against.

use anyhow::Context as _;
use cajero_server::operators::{Acting, Reason};
use cajero_server::sanctions::{self, Files};
use clap::Subcommand;
use serde_json::json;

use crate::DatabaseArgs;
use crate::admin::open;
use crate::output::{print, timestamp};

#[derive(Debug, Subcommand)]
pub enum SanctionsCommand {
    /// Load a publisher's files as its list in force: OFAC's `sdn.csv` and `alt.csv`, or the UN
    /// Security Council's consolidated XML. A file that does not parse is refused whole; the
    /// same files again change nothing. Every instance screens with it within a minute.
    Load {
        /// OFAC's `sdn.csv`.
        #[arg(long, requires = "ofac_alt", conflicts_with = "un")]
        ofac_sdn: Option<std::path::PathBuf>,
        /// OFAC's `alt.csv`.
        #[arg(long, requires = "ofac_sdn")]
        ofac_alt: Option<std::path::PathBuf>,
        /// When OFAC published them (RFC 3339), if known: the CSV files carry no date.
        #[arg(long)]
        published: Option<jiff::Timestamp>,
        /// The UN's consolidated list (XML).
        #[arg(long, required_unless_present = "ofac_sdn")]
        un: Option<std::path::PathBuf>,
        /// Why (required; written to the audit log).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// The lists in force.
    Status {
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Screen one name against the lists in force; exits 1 when it hits.
    Screen {
        /// The name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

fn read(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    anyhow::ensure!(
        size <= u64::try_from(cajero_domain::sanctions::LIST_FILE_BYTES_MAX).unwrap_or(u64::MAX),
        "{} is {size} bytes: a list file is at most {} bytes",
        path.display(),
        cajero_domain::sanctions::LIST_FILE_BYTES_MAX
    );
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

pub async fn sanctions(command: SanctionsCommand) -> anyhow::Result<()> {
    match command {
        SanctionsCommand::Load {
            ofac_sdn,
            ofac_alt,
            published,
            un,
            reason,
            db,
        } => {
            let acting = Acting::cli(Reason::parse(&reason)?);
            let files = match (ofac_sdn, ofac_alt, un) {
                (Some(sdn), Some(alt), None) => Files::Ofac {
                    sdn: read(&sdn)?,
                    alt: read(&alt)?,
                },
                (None, None, Some(xml)) => Files::Un { xml: read(&xml)? },
                _ => anyhow::bail!("give --ofac-sdn and --ofac-alt, or --un"),
            };
            let state = open(&db).await?;
            let loaded = sanctions::load(
                &state.store,
                state.clock.as_ref(),
                files,
                published,
                &acting,
            )
            .await;
            state.store.close().await;
            let l = loaded?;
            print(
                db.json,
                &json!({"id": l.id, "source": l.source, "version": l.version, "entries": l.entries}),
                || {
                    format!(
                        "{} in force: {} ({} entries) — {}",
                        l.source, l.id, l.entries, l.version
                    )
                },
            );
        }
        SanctionsCommand::Status { db } => {
            let state = open(&db).await?;
            let newest = state
                .store
                .read(|mut c| {
                    Box::pin(async move { cajero_store::sanctions::newest(&mut c).await })
                })
                .await;
            state.store.close().await;
            let newest = newest?;
            let data: Vec<_> = newest
                .iter()
                .map(|l| {
                    json!({"id": l.id, "source": l.source, "version": l.version, "entries": l.entries,
                           "loaded_by": l.loaded_by,
                           "loaded_at": timestamp(cajero_store::Micros(l.loaded_at).to_timestamp())})
                })
                .collect();
            print(db.json, &json!({"data": data}), || {
                if newest.is_empty() {
                    return "no sanctions list loaded: names are not screened".to_string();
                }
                newest
                    .iter()
                    .map(|l| {
                        format!(
                            "{}  {}  {} entries  {}",
                            l.source, l.id, l.entries, l.version
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        SanctionsCommand::Screen { name, db } => {
            let state = open(&db).await?;
            let refreshed = state.sanctions.refresh(&state.store, true).await;
            state.store.close().await;
            refreshed?;
            let in_force = state
                .sanctions
                .current()
                .context("no sanctions list loaded (cajero sanctions load)")?;
            let hits = in_force
                .list
                .screen(&name, state.config.sanctions.threshold())?;
            let data: Vec<_> = hits
                .iter()
                .map(|h| {
                    json!({"source": h.entry.source.code(), "uid": h.entry.uid,
                           "matched_name": h.matched_name, "score_bps": h.score.basis_points(),
                           "programs": h.entry.programs, "reason": h.reason.to_string()})
                })
                .collect();
            print(
                db.json,
                &json!({"hits": data, "lists": in_force.ids}),
                || {
                    if hits.is_empty() {
                        return format!("no hit against {}", in_force.ids.join(" "));
                    }
                    hits.iter()
                        .map(|h| {
                            format!(
                                "{} {} {}% {} — {}",
                                h.entry.source.code(),
                                h.entry.uid,
                                h.score.basis_points() / 100,
                                h.matched_name,
                                h.reason
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                },
            );
            anyhow::ensure!(hits.is_empty(), "{} hit(s)", hits.len());
        }
    }
    Ok(())
}
