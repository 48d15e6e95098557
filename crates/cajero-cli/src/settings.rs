//! The operator's ledger settings: `cajero merchant fees set|show`, `cajero merchant
//! settlement set|show`, `cajero fx set-rate|rates`, and `cajero settlement run`.

use std::io::Read as _;

use anyhow::Context as _;
use cajero_domain::id::MerchantId;
use cajero_domain::ledger::TransferCode;
use cajero_domain::ledger::fees::FeePlan;
use cajero_domain::ledger::settlement::{CopPerUsd, SettlementTerms};
use cajero_domain::merchant::Mode;
use cajero_domain::money::{BasisPoints, Currency};
use cajero_store::{fx, merchant_settings};
use clap::Subcommand;
use jiff::civil::Date;
use serde_json::json;

use crate::DatabaseArgs;
use crate::admin::open;
use crate::output::print;

/// Largest plan file read, in bytes (a plan with every tier is a few kilobytes).
const PLAN_BYTES_MAX: u64 = 64 * 1024;

#[derive(Debug, Subcommand)]
pub enum FeesCommand {
    /// Set a merchant's fee plan in one mode, or (--default) the plan of live merchants
    /// without their own. The plan is JSON: {"payin": {"tiers": [{"monthly_volume_from": 0,
    /// "rate": 265, "fixed": 700}], "minimum": 0}, "payout": {…}, "gmf_on_payouts": true}
    /// (rates in basis points, amounts in pesos).
    Set {
        /// The merchant (`mer_…`).
        #[arg(long, required_unless_present = "default", conflicts_with = "default")]
        merchant: Option<MerchantId>,
        /// Set the default plan of live merchants instead.
        #[arg(long)]
        default: bool,
        /// test or live.
        #[arg(long, default_value = "live")]
        mode: Mode,
        /// The plan: inline JSON (starting with `{`), a file, or `-` for standard input.
        #[arg(long)]
        plan: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Show the plan that applies to a merchant, where it comes from, and this month's volume.
    Show {
        /// The merchant (`mer_…`).
        #[arg(long)]
        merchant: MerchantId,
        /// test or live.
        #[arg(long, default_value = "live")]
        mode: Mode,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum TermsCommand {
    /// Set how a merchant is settled; options left out keep their current value.
    Set {
        /// The merchant (`mer_…`).
        #[arg(long)]
        merchant: MerchantId,
        /// test or live.
        #[arg(long, default_value = "live")]
        mode: Mode,
        /// T+N: business days from collection to availability (0–30; default 1).
        #[arg(long)]
        delay_business_days: Option<u32>,
        /// COP, or USD at the day's rate (`cajero fx set-rate`) less the markup.
        #[arg(long)]
        currency: Option<Currency>,
        /// Markup taken off the rate for USD settlement, in basis points (0–10000).
        #[arg(long)]
        fx_markup_bps: Option<u32>,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Show how a merchant is settled.
    Show {
        /// The merchant (`mer_…`).
        #[arg(long)]
        merchant: MerchantId,
        /// test or live.
        #[arg(long, default_value = "live")]
        mode: Mode,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum FxCommand {
    /// Set (or correct) the COP per USD rate USD settlements of a Bogotá day use.
    SetRate {
        /// The day, YYYY-MM-DD.
        #[arg(long)]
        date: Date,
        /// Pesos per dollar with at most six decimals, e.g. 4012.345678.
        #[arg(long)]
        cop_per_usd: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// List the latest rates, newest day first.
    Rates {
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum SettlementCommand {
    /// Settle everything due now (what the server's worker does every interval).
    Run {
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

fn read_plan(source: &str) -> anyhow::Result<FeePlan> {
    let text = if source.trim_start().starts_with('{') {
        source.to_string()
    } else {
        let mut text = String::new();
        let reader: Box<dyn std::io::Read> = if source == "-" {
            Box::new(std::io::stdin())
        } else {
            Box::new(std::fs::File::open(source).with_context(|| format!("cannot open {source}"))?)
        };
        reader
            .take(PLAN_BYTES_MAX)
            .read_to_string(&mut text)
            .with_context(|| format!("cannot read the plan from {source}"))?;
        text
    };
    let plan: FeePlan =
        serde_json::from_str(&text).context("the fee plan is not valid JSON of a plan")?;
    plan.validate().context("invalid fee plan")?;
    Ok(plan)
}

pub async fn fees(command: FeesCommand) -> anyhow::Result<()> {
    match command {
        FeesCommand::Set {
            merchant,
            default,
            mode,
            plan,
            db,
        } => {
            let plan = read_plan(&plan)?;
            let state = open(&db).await?;
            let now = state.clock.now();
            let saved = plan.clone();
            state
                .store
                .write(move |mut c| {
                    Box::pin(async move {
                        match merchant {
                            Some(m) if !default => {
                                merchant_settings::set_fee_plan(&mut c, m, mode, &saved, now).await
                            }
                            _ => merchant_settings::set_default_fee_plan(&mut c, &saved, now).await,
                        }
                    })
                })
                .await?;
            state.store.close().await;
            let whom = match merchant {
                Some(m) if !default => format!("merchant {m} ({mode})"),
                _ => "live merchants without their own plan".to_string(),
            };
            print(db.json, &json!({"plan": plan, "set_for": whom}), || {
                format!("fee plan set for {whom}")
            });
        }
        FeesCommand::Show { merchant, mode, db } => {
            let state = open(&db).await?;
            let now = state.clock.now();
            let (plan, source, payin, payout) = state
                .store
                .read(move |mut c| {
                    Box::pin(async move {
                        let (plan, source) =
                            merchant_settings::fee_plan_with_source(&mut c, merchant, mode).await?;
                        let payin = merchant_settings::monthly_volume(
                            &mut c,
                            merchant,
                            mode,
                            TransferCode::Payin,
                            now,
                        )
                        .await?;
                        let payout = merchant_settings::monthly_volume(
                            &mut c,
                            merchant,
                            mode,
                            TransferCode::Payout,
                            now,
                        )
                        .await?;
                        Ok::<_, cajero_store::StoreError>((plan, source, payin, payout))
                    })
                })
                .await?;
            state.store.close().await;
            let value = json!({
                "merchant": merchant,
                "mode": mode,
                "source": source.as_str(),
                "plan": plan,
                "monthly_volume": {"currency": "COP", "payin": payin, "payout": payout},
            });
            // The plan is structured data: people read it as JSON too.
            print(true, &value, String::new);
        }
    }
    Ok(())
}

fn terms_json(merchant: MerchantId, mode: Mode, t: &SettlementTerms) -> serde_json::Value {
    json!({
        "merchant": merchant,
        "mode": mode,
        "delay_business_days": t.delay_business_days,
        "currency": t.currency,
        "fx_markup_bps": t.fx_markup.get(),
    })
}

pub async fn terms(command: TermsCommand) -> anyhow::Result<()> {
    let (merchant, mode, db, change) = match command {
        TermsCommand::Set {
            merchant,
            mode,
            delay_business_days,
            currency,
            fx_markup_bps,
            db,
        } => {
            let markup = fx_markup_bps
                .map(BasisPoints::new)
                .transpose()
                .context("--fx-markup-bps")?;
            (
                merchant,
                mode,
                db,
                Some((delay_business_days, currency, markup)),
            )
        }
        TermsCommand::Show { merchant, mode, db } => (merchant, mode, db, None),
    };
    let state = open(&db).await?;
    let now = state.clock.now();
    let terms = state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                let mut terms = merchant_settings::settlement_terms(&mut c, merchant, mode).await?;
                if let Some((delay, currency, markup)) = change {
                    terms.delay_business_days = delay.unwrap_or(terms.delay_business_days);
                    terms.currency = currency.unwrap_or(terms.currency);
                    terms.fx_markup = markup.unwrap_or(terms.fx_markup);
                    merchant_settings::set_settlement_terms(&mut c, merchant, mode, &terms, now)
                        .await?;
                }
                Ok::<_, merchant_settings::SettingsError>(terms)
            })
        })
        .await?;
    state.store.close().await;
    print(db.json, &terms_json(merchant, mode, &terms), || {
        format!(
            "merchant {merchant} ({mode}) is settled T+{} business day(s) in {}{}",
            terms.delay_business_days,
            terms.currency,
            if terms.currency == Currency::Usd {
                format!(" with a markup of {} bps", terms.fx_markup.get())
            } else {
                String::new()
            }
        )
    });
    Ok(())
}

pub async fn fx(command: FxCommand) -> anyhow::Result<()> {
    match command {
        FxCommand::SetRate {
            date,
            cop_per_usd,
            db,
        } => {
            let rate = CopPerUsd::parse(&cop_per_usd).context("--cop-per-usd")?;
            let state = open(&db).await?;
            let now = state.clock.now();
            state
                .store
                .write(move |mut c| {
                    Box::pin(async move { fx::set_rate(&mut c, date, rate, now).await })
                })
                .await?;
            state.store.close().await;
            print(
                db.json,
                &json!({"date": date.to_string(), "cop_per_usd": rate.to_string(),
                        "cop_per_usd_micros": rate.micros()}),
                || format!("{date}: 1 USD = {rate} COP"),
            );
        }
        FxCommand::Rates { db } => {
            let state = open(&db).await?;
            let rates = state
                .store
                .read(|mut c| Box::pin(async move { fx::list_rates(&mut c).await }))
                .await?;
            state.store.close().await;
            let data: Vec<_> = rates
                .iter()
                .map(|(d, r)| json!({"date": d.to_string(), "cop_per_usd": r.to_string()}))
                .collect();
            print(db.json, &json!({"data": data}), || {
                rates
                    .iter()
                    .map(|(d, r)| format!("{d}  {r}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
    }
    Ok(())
}

pub async fn settlement(command: SettlementCommand) -> anyhow::Result<()> {
    let SettlementCommand::Run { db } = command;
    let state = open(&db).await?;
    let report = cajero_server::settlement::run_once(&state.store, state.clock.now()).await?;
    state.store.close().await;
    let settled: Vec<String> = report.settled.iter().map(ToString::to_string).collect();
    let awaiting: Vec<String> = report
        .awaiting_rate
        .iter()
        .map(|(m, mode)| format!("{m} ({mode})"))
        .collect();
    let failed: Vec<String> = report
        .failed
        .iter()
        .map(|(m, mode, why)| format!("{m} ({mode}): {why}"))
        .collect();
    print(
        db.json,
        &json!({"settled": settled, "awaiting_rate": awaiting, "failed": failed}),
        || {
            let mut text = format!("{} settlement(s) made", settled.len());
            for a in &awaiting {
                text.push_str(&format!("\n  waiting for today's COP/USD rate: {a}"));
            }
            for f in &failed {
                text.push_str(&format!("\n  failed: {f}"));
            }
            text
        },
    );
    if !awaiting.is_empty() || !failed.is_empty() {
        anyhow::bail!(
            "{} merchant(s) could not be settled",
            awaiting.len() + failed.len()
        );
    }
    Ok(())
}
