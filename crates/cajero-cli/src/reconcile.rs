//! `cajero reconcile …`: the operator's side of daily reconciliation — check or import a
//! network's file, run the daily job now, read a day's tie-outs or a merchant's report, list
//! and resolve exceptions. Each calls the server's reconciliation service.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::{Context as _, bail};
use cajero_domain::id::MerchantId;
use cajero_domain::merchant::Mode;
use cajero_server::AppState;
use cajero_server::reconciliation::view::{ExceptionView, ReportView, imported_json, report_csv};
use cajero_server::reconciliation::{self, Format, Import, Imported, Resolution, Resolve, Source};
use cajero_store::exceptions::{self, ExceptionFilter};
use cajero_store::reconciliation as records;
use clap::{Subcommand, ValueEnum};
use jiff::civil::Date;
use serde_json::json;

use crate::DatabaseArgs;
use crate::admin::{open, open_serving};
use crate::output::print;

/// A file's format on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    /// Asobancaria 2001 collection file.
    Asobancaria,
    /// The simulator's CSV.
    Csv,
    /// dLocal's settlement report.
    Dlocal,
    /// PayU Latam's sales report.
    Payu,
    /// Kushki's transactions report.
    Kushki,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Asobancaria => Format::Asobancaria,
            FormatArg::Csv => Format::Csv,
            FormatArg::Dlocal => Format::Dlocal,
            FormatArg::Payu => Format::Payu,
            FormatArg::Kushki => Format::Kushki,
        }
    }
}

/// Test or live.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModeArg {
    /// Test mode (the simulator).
    Test,
    /// Live mode.
    Live,
}

impl From<ModeArg> for Mode {
    fn from(m: ModeArg) -> Mode {
        match m {
            ModeArg::Test => Mode::Test,
            ModeArg::Live => Mode::Live,
        }
    }
}

/// How an exception is closed.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ResolutionArg {
    /// Understood and accepted as it is.
    Accepted,
    /// The money goes back to whoever paid it.
    Refund,
    /// A balanced ledger correction (`--amount`).
    Adjusted,
    /// Written off.
    WrittenOff,
}

impl From<ResolutionArg> for Resolution {
    fn from(r: ResolutionArg) -> Resolution {
        match r {
            ResolutionArg::Accepted => Resolution::Accepted,
            ResolutionArg::Refund => Resolution::Refund,
            ResolutionArg::Adjusted => Resolution::Adjusted,
            ResolutionArg::WrittenOff => Resolution::WrittenOff,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ReconcileCommand {
    /// Read a file and print its verdict, importing nothing; exits 1 when it is refused.
    Check {
        /// The file.
        #[arg(long)]
        file: PathBuf,
        /// Its format.
        #[arg(long, value_enum, default_value_t = FormatArg::Asobancaria)]
        format: FormatArg,
        /// The cash network whose lines count (CSV and gateway reports carry several).
        #[arg(long, default_value = "efecty")]
        network: String,
        /// Accept a last record short of its blank filler (reported as a warning).
        #[arg(long)]
        lenient: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Import a network's file by hand and reconcile it (the same bytes twice change nothing);
    /// exits 1 when it is refused.
    Import {
        /// The cash network (`efecty`).
        #[arg(long)]
        network: String,
        /// The file.
        #[arg(long)]
        file: PathBuf,
        /// Its format; default: the route's.
        #[arg(long, value_enum)]
        format: Option<FormatArg>,
        /// The route it came from (`simulator` or a `[[networks]]` name); default: the only
        /// one reaching the network in that mode.
        #[arg(long)]
        route: Option<String>,
        /// The day it reports; required when the file does not say.
        #[arg(long)]
        date: Option<Date>,
        /// Whose orders it is about.
        #[arg(long, value_enum, default_value_t = ModeArg::Live)]
        mode: ModeArg,
        /// Read leniently (default: as `[reconciliation.routes.<route>]` says).
        #[arg(long)]
        lenient: bool,
        /// Who imports it, for the record.
        #[arg(long, default_value = "operator")]
        by: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Run the daily job now: fetch and import the files due (or that day's).
    Run {
        /// One day, whatever the hour and whether it was imported.
        #[arg(long)]
        date: Option<Date>,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// A day's files and tie-outs; with `--merchant`, that merchant's report (one row per order).
    Report {
        /// The Bogotá day.
        #[arg(long)]
        date: Date,
        /// One merchant's report.
        #[arg(long)]
        merchant: Option<MerchantId>,
        /// Test or live.
        #[arg(long, value_enum, default_value_t = ModeArg::Live)]
        mode: ModeArg,
        /// The merchant's report as CSV.
        #[arg(long)]
        csv: bool,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// List exceptions, newest first.
    Exceptions {
        /// `open` or `resolved`.
        #[arg(long)]
        status: Option<String>,
        /// One kind.
        #[arg(long)]
        kind: Option<String>,
        /// One merchant's.
        #[arg(long)]
        merchant: Option<MerchantId>,
        /// Test or live (default both).
        #[arg(long, value_enum)]
        mode: Option<ModeArg>,
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Resolve an open exception (an `adjusted` one posts its ledger correction).
    Resolve {
        /// The exception (`exc_…`).
        id: String,
        /// How.
        #[arg(long, value_enum)]
        resolution: ResolutionArg,
        /// Why (required).
        #[arg(long)]
        note: String,
        /// Who (required).
        #[arg(long)]
        by: String,
        /// `adjusted`: whole pesos, credited to the merchant's available balance from the
        /// network's account when positive, debited when negative.
        #[arg(long, allow_hyphen_values = true)]
        amount: Option<i64>,
        /// `adjusted`: the merchant, when the exception has none.
        #[arg(long)]
        merchant: Option<MerchantId>,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

/// Longest list.
const LIST_MAX: u32 = 1_000;

pub async fn run(command: ReconcileCommand) -> anyhow::Result<()> {
    match command {
        ReconcileCommand::Check {
            file,
            format,
            network,
            lenient,
            json,
        } => {
            let bytes = read_file(&file)?;
            match reconciliation::check(&bytes, format.into(), &network, lenient) {
                Ok(read) => {
                    let total: i64 = read.lines.iter().map(|l| l.amount).sum();
                    let count = read.lines.len() + read.fractional.len();
                    print(
                        json,
                        &json!({"verdict": "valid", "lines": count, "total": total,
                                "date": read.date.map(|d| d.to_string()), "warnings": read.warnings,
                                "fractional_amounts": read.fractional}),
                        || {
                            let mut text = format!(
                                "valid: {count} lines of {network}, {total} pesos{}",
                                read.date.map(|d| format!(", day {d}")).unwrap_or_default()
                            );
                            for w in &read.warnings {
                                text.push_str(&format!("\nwarning: {w}"));
                            }
                            for p in &read.fractional {
                                text.push_str(&format!(
                                    "\nwarning: {p} (cajero counts whole pesos: an import refuses this line)"
                                ));
                            }
                            text
                        },
                    );
                    Ok(())
                }
                Err(refused) => {
                    print(
                        json,
                        &json!({"verdict": "refused", "problems": refused.problems, "more_problems": refused.more}),
                        || {
                            let mut text =
                                format!("refused: {} problem(s)", refused.problems.len());
                            for p in &refused.problems {
                                text.push_str(&format!("\n  {p}"));
                            }
                            if refused.more {
                                text.push_str("\n  … more problems were found than are listed");
                            }
                            text
                        },
                    );
                    bail!("the file is refused");
                }
            }
        }
        ReconcileCommand::Import {
            network,
            file,
            format,
            route,
            date,
            mode,
            lenient,
            by,
            db,
        } => {
            let bytes = read_file(&file)?;
            // The networks are reached only to find the route when none is named.
            let state = match &route {
                Some(_) => open(&db).await?,
                None => open_serving(&db).await?,
            };
            let mode: Mode = mode.into();
            let route = match route {
                Some(route) => route,
                None => only_route(&state, mode, &network)?,
            };
            let request = Import {
                mode,
                lenient: lenient || state.config.reconciliation.route(&route).lenient,
                format: format.map_or_else(|| Format::of_route(&state.config, &route), Into::into),
                route,
                network,
                date,
                source: Source::Cli,
                by,
            };
            let outcome = reconciliation::import(&state.store, &state.clock, request, bytes).await;
            state.networks.shutdown().await;
            state.store.close().await;
            let outcome = outcome?;
            print(db.json, &imported_json(&outcome), || describe(&outcome));
            if let Imported::Rejected { .. } = outcome {
                bail!("the file is refused");
            }
            Ok(())
        }
        ReconcileCommand::Run { date, db } => {
            let state = open_serving(&db).await?;
            let attempts = Mutex::new(HashMap::new());
            let done =
                reconciliation::job::run_once(&state, state.clock.now(), date, &attempts).await;
            state.networks.shutdown().await;
            state.store.close().await;
            let done = done?;
            let rows: Vec<serde_json::Value> = done
                .iter()
                .map(|r| {
                    json!({"mode": r.mode.to_string(), "route": r.route, "network": r.network,
                                "date": r.date.to_string(), "result": r.result})
                })
                .collect();
            print(db.json, &json!(rows), || {
                if done.is_empty() {
                    return "nothing due".into();
                }
                done.iter()
                    .map(|r| {
                        format!(
                            "{} {} {} {}: {}",
                            r.mode, r.route, r.network, r.date, r.result
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            Ok(())
        }
        ReconcileCommand::Report {
            date,
            merchant,
            mode,
            csv,
            db,
        } => {
            let state = open(&db).await?;
            let mode: Mode = mode.into();
            let result = match merchant {
                Some(merchant) => {
                    let report = reconciliation::report(&state.store, merchant, mode, date).await?;
                    let view = ReportView::from(&report);
                    if csv {
                        print!("{}", report_csv(&view)?);
                    } else {
                        print(db.json, &serde_json::to_value(&view)?, || {
                            let mut text = format!(
                                "{merchant} on {date}: {} order(s) in {} file(s)",
                                view.data.len(),
                                view.files.len()
                            );
                            for (result, n) in &view.summary {
                                text.push_str(&format!("\n  {result}: {n}"));
                            }
                            text
                        });
                    }
                    Ok(())
                }
                None => day(&state, mode, date, db.json).await,
            };
            state.store.close().await;
            result
        }
        ReconcileCommand::Exceptions {
            status,
            kind,
            merchant,
            mode,
            limit,
            db,
        } => {
            if !(1..=LIST_MAX).contains(&limit) {
                bail!("--limit must be 1 to {LIST_MAX}");
            }
            let state = open(&db).await?;
            let filter = ExceptionFilter {
                merchant_id: merchant.map(|m| m.to_string()),
                livemode: mode.map(|m| Mode::from(m).is_live()),
                status,
                kind,
                before: None,
            };
            let rows = state
                .store
                .read(move |mut c| {
                    Box::pin(
                        async move { exceptions::list(&mut c, &filter, i64::from(limit)).await },
                    )
                })
                .await;
            state.store.close().await;
            let views: Vec<ExceptionView> = rows?.iter().map(ExceptionView::from).collect();
            print(db.json, &serde_json::to_value(&views)?, || {
                if views.is_empty() {
                    return "no exceptions".into();
                }
                views
                    .iter()
                    .map(|e| {
                        format!(
                            "{} {} {} {} {} {}",
                            e.id,
                            e.status,
                            e.kind,
                            e.amount,
                            e.currency,
                            e.detail.as_deref().unwrap_or("")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            Ok(())
        }
        ReconcileCommand::Resolve {
            id,
            resolution,
            note,
            by,
            amount,
            merchant,
            db,
        } => {
            let state = open(&db).await?;
            let outcome = reconciliation::resolve(
                &state.store,
                &state.clock,
                Resolve {
                    id,
                    resolution: resolution.into(),
                    note,
                    by,
                    amount,
                    merchant,
                },
            )
            .await;
            state.store.close().await;
            let resolved = outcome?;
            let view = ExceptionView::from(&resolved);
            print(db.json, &serde_json::to_value(&view)?, || {
                format!(
                    "{} resolved: {}{}",
                    view.id,
                    view.resolution.as_deref().unwrap_or(""),
                    view.adjustment
                        .as_deref()
                        .map(|a| format!(" (ledger correction {a})"))
                        .unwrap_or_default()
                )
            });
            Ok(())
        }
    }
}

/// A day's files and tie-outs, for the operator.
async fn day(state: &AppState, mode: Mode, date: Date, json: bool) -> anyhow::Result<()> {
    let (files, ties) = state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                let day = date.to_string();
                let files = records::files_of_day(&mut c, mode, &day).await?;
                let ties = records::tie_outs_of_day(&mut c, mode, &day).await?;
                Ok::<_, cajero_store::StoreError>((files, ties))
            })
        })
        .await?;
    let value = json!({
        "date": date.to_string(),
        "files": files.iter().map(|f| json!({"id": f.id, "route": f.route, "network": f.network,
            "format": f.format, "status": f.status, "lines": f.line_count, "total": f.total,
            "matched": f.matched, "exceptions": f.exceptions, "sha256": f.sha256})).collect::<Vec<_>>(),
        "tie_outs": ties.iter().map(|t| json!({"file": t.file_id, "network": t.network,
            "kind": t.kind, "file_total": t.file_total, "matched_total": t.matched_total,
            "ledger_total": t.ledger_total, "file_difference": t.file_difference,
            "ledger_difference": t.ledger_difference, "explained": t.explained,
            "unexplained": t.unexplained})).collect::<Vec<_>>(),
    });
    print(json, &value, || {
        let mut text = format!("{date} ({mode}): {} file(s)", files.len());
        for f in &files {
            text.push_str(&format!(
                "\n  {} {} {} {}: {} lines, {} matched, {} exceptions",
                f.id, f.route, f.network, f.status, f.line_count, f.matched, f.exceptions
            ));
        }
        for t in &ties {
            text.push_str(&format!(
                "\n  tie-out {} {}: file {} = matched {} = ledger {}; differences {} / {}, unexplained {}",
                t.network, t.kind, t.file_total, t.matched_total, t.ledger_total,
                t.file_difference, t.ledger_difference, t.unexplained
            ));
        }
        text
    });
    Ok(())
}

fn describe(outcome: &Imported) -> String {
    match outcome {
        Imported::Done(s) => {
            let mut text = format!(
                "imported {} ({} {} {}): {} lines",
                s.file.id, s.file.route, s.file.network, s.file.business_date, s.file.line_count
            );
            for (outcome, n) in &s.outcomes {
                text.push_str(&format!("\n  {outcome}: {n}"));
            }
            for t in &s.tie_outs {
                text.push_str(&format!(
                    "\n  tie-out {}: file {} = matched {} = ledger {}; unexplained {}",
                    t.kind, t.file_total, t.matched_total, t.ledger_total, t.unexplained
                ));
            }
            text
        }
        Imported::AlreadyImported(f) => {
            format!("already imported as {}: nothing changed", f.id)
        }
        Imported::Rejected { file, refused } => {
            let mut text = format!(
                "refused ({}): {} problem(s); nothing was imported",
                file.id,
                refused.problems.len()
            );
            for p in &refused.problems {
                text.push_str(&format!("\n  {p}"));
            }
            if refused.more {
                text.push_str("\n  … more problems were found than are listed");
            }
            text
        }
    }
}

fn read_file(path: &PathBuf) -> anyhow::Result<Vec<u8>> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if size > u64::try_from(reconciliation::FILE_BYTES_MAX).unwrap_or(u64::MAX) {
        bail!(
            "{} has {size} bytes; at most {} are accepted",
            path.display(),
            reconciliation::FILE_BYTES_MAX
        );
    }
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn only_route(state: &AppState, mode: Mode, network: &str) -> anyhow::Result<String> {
    let routes: Vec<String> = state
        .networks
        .all()
        .into_iter()
        .filter(|n| n.mode == mode && n.code == network)
        .map(|n| n.route)
        .collect();
    match routes.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!("no route reaches {network} in {mode} mode: name it with --route"),
        _ => bail!(
            "several routes reach {network} in {mode} mode ({}): name one with --route",
            routes.join(", ")
        ),
    }
}
