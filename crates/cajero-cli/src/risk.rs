//! `cajero risk`: the rule set (show, set, history), the operator's and merchants' blocklists,
//! the decisions taken, and the pay-ins and payouts held for review (list, release, refuse).
//! Every change needs `--reason` and is written to the audit log.

use anyhow::Context as _;
use cajero_domain::id::{MerchantId, PayinId, PayoutId};
use cajero_domain::merchant::Mode;
use cajero_domain::risk::blocklist::Kind;
use cajero_server::operators::{Acting, Reason};
use cajero_server::risk;
use clap::Subcommand;
use serde_json::json;

use crate::DatabaseArgs;
use crate::admin::{open, open_serving};
use crate::output::{print, timestamp};

/// Decisions listed at most.
const DECISIONS_LIMIT_MAX: i64 = 500;

#[derive(Debug, Subcommand)]
pub enum RiskCommand {
    /// The rule set in force (its JSON document and version).
    Rules {
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Put a new rule set in force from a JSON file (`{"rules": [...]}`, see docs/risk.md).
    /// A set that does not parse changes nothing; every instance decides with it at once.
    SetRules {
        /// The JSON document.
        #[arg(long)]
        file: std::path::PathBuf,
        /// Why (required; stored with the version and in the audit log).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// The rule set's versions, newest first: who, when, why and what changed.
    History {
        /// Versions shown at most.
        #[arg(long, default_value_t = 20)]
        limit: i64,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Add a document (`CC:79876543`), name, phone or counter (`efecty:EF-BOG-001`: watched,
    /// an operation completed there alerts) to the operator's blocklist (every merchant), or
    /// to one merchant's with `--merchant`.
    Block {
        /// `document`, `name`, `phone` or `counter`.
        #[arg(long)]
        kind: String,
        /// The value as written; it is kept normalised.
        #[arg(long)]
        value: String,
        /// The merchant whose own list it goes on (`mer_…`).
        #[arg(long)]
        merchant: Option<MerchantId>,
        /// Why (required).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Remove an entry (`rbl_…`) from the operator's blocklist, or from a merchant's with
    /// `--merchant`.
    Unblock {
        /// The entry.
        id: String,
        /// The merchant whose list it is on.
        #[arg(long)]
        merchant: Option<MerchantId>,
        /// Why (required).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// The operator's blocklist, or a merchant's with `--merchant` (removed entries last).
    Blocklist {
        /// The merchant.
        #[arg(long)]
        merchant: Option<MerchantId>,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// A merchant's decisions that held or refused an operation, newest first.
    Decisions {
        /// The merchant.
        #[arg(long)]
        merchant: MerchantId,
        /// Live mode's (test mode's by default).
        #[arg(long)]
        live: bool,
        /// Shown at most (1–500).
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// The pay-ins and payouts on hold, oldest first.
    Held {
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Release a held pay-in (`pi_…`: its voucher is issued) or payout (`po_…`: its code is
    /// asked of the network).
    Release {
        /// The pay-in or payout.
        id: String,
        /// Why (required).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Refuse a held pay-in (canceled, no voucher) or payout (canceled, funds returned).
    Refuse {
        /// The pay-in or payout.
        id: String,
        /// Why (required).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

pub async fn risk_command(command: RiskCommand) -> anyhow::Result<()> {
    match command {
        RiskCommand::Rules { db } => {
            let state = open(&db).await?;
            let current = risk::current(&state.store).await;
            state.store.close().await;
            match current? {
                None => print(db.json, &json!({"version": 0, "rules": []}), || {
                    "no rules are in force: every operation is allowed (blocklists and sanctions screening still apply)".into()
                }),
                Some(v) => {
                    let rules: serde_json::Value = serde_json::from_str(&v.rules)?;
                    print(
                        db.json,
                        &json!({"version": v.version, "rules": rules["rules"]}),
                        || {
                            format!(
                                "version {} (by {}, {}):\n{}",
                                v.version,
                                v.created_by,
                                timestamp(cajero_store::Micros(v.created_at).to_timestamp()),
                                v.rules
                            )
                        },
                    );
                }
            }
        }
        RiskCommand::SetRules { file, reason, db } => {
            let acting = Acting::cli(Reason::parse(&reason)?);
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let state = open(&db).await?;
            let set = risk::set_rules(&state, &text, &acting).await;
            state.store.close().await;
            let v = set?;
            print(
                db.json,
                &json!({"version": v.version, "diff": v.diff.lines().collect::<Vec<_>>()}),
                || format!("version {} in force:\n{}", v.version, v.diff),
            );
        }
        RiskCommand::History { limit, db } => {
            let state = open(&db).await?;
            let versions = risk::versions(&state.store, limit.clamp(1, 1000)).await;
            state.store.close().await;
            let versions = versions?;
            let data: Vec<_> = versions
                .iter()
                .map(|v| {
                    json!({"version": v.version, "by": v.created_by, "reason": v.reason,
                        "at": timestamp(cajero_store::Micros(v.created_at).to_timestamp()),
                        "diff": v.diff.lines().collect::<Vec<_>>()})
                })
                .collect();
            print(db.json, &json!({"data": data}), || {
                if versions.is_empty() {
                    return "no rules were ever set".into();
                }
                versions
                    .iter()
                    .map(|v| {
                        format!(
                            "version {} by {} at {}: {}\n{}",
                            v.version,
                            v.created_by,
                            timestamp(cajero_store::Micros(v.created_at).to_timestamp()),
                            v.reason,
                            v.diff
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n\n")
            });
        }
        RiskCommand::Block {
            kind,
            value,
            merchant,
            reason,
            db,
        } => {
            let acting = Acting::cli(Reason::parse(&reason)?);
            let kind: Kind = kind.parse()?;
            let state = open(&db).await?;
            let added = risk::block(&state, merchant, kind, &value, &acting).await;
            state.store.close().await;
            let entry = added?;
            print(
                db.json,
                &json!({"id": entry.id, "kind": entry.kind, "value": entry.value, "merchant": entry.merchant_id}),
                || format!("{} blocks {} {}", entry.id, entry.kind, entry.value),
            );
        }
        RiskCommand::Unblock {
            id,
            merchant,
            reason,
            db,
        } => {
            let acting = Acting::cli(Reason::parse(&reason)?);
            let state = open(&db).await?;
            let removed = risk::unblock(&state, merchant, &id, &acting).await;
            state.store.close().await;
            removed?;
            print(db.json, &json!({"id": id, "removed": true}), || {
                format!("{id} removed")
            });
        }
        RiskCommand::Blocklist { merchant, db } => {
            let state = open(&db).await?;
            let list = risk::blocklist(&state.store, merchant).await;
            state.store.close().await;
            let list = list?;
            let data: Vec<_> = list
                .iter()
                .map(|e| {
                    json!({"id": e.id, "kind": e.kind, "value": e.value, "reason": e.reason,
                        "by": e.created_by, "at": timestamp(cajero_store::Micros(e.created_at).to_timestamp()),
                        "removed_at": e.removed_at.map(|t| timestamp(cajero_store::Micros(t).to_timestamp())),
                        "removed_reason": e.removed_reason})
                })
                .collect();
            print(db.json, &json!({"data": data}), || {
                if list.is_empty() {
                    return "the blocklist is empty".into();
                }
                list.iter()
                    .map(|e| {
                        let removed = if e.removed_at.is_some() {
                            " (removed)"
                        } else {
                            ""
                        };
                        format!("{}  {}  {}  {}{removed}", e.id, e.kind, e.value, e.reason)
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        RiskCommand::Decisions {
            merchant,
            live,
            limit,
            db,
        } => {
            let mode = if live { Mode::Live } else { Mode::Test };
            let state = open(&db).await?;
            let decisions = risk::decisions(
                &state.store,
                merchant,
                mode,
                limit.clamp(1, DECISIONS_LIMIT_MAX),
            )
            .await;
            state.store.close().await;
            let decisions = decisions?;
            let data: Vec<_> = decisions
                .iter()
                .map(|d| {
                    json!({"id": d.id, "object": d.object_id, "flow": d.flow, "outcome": d.outcome,
                        "fired": serde_json::from_str::<serde_json::Value>(&d.fired).unwrap_or_default(),
                        "rules_version": d.rules_version, "sanctions_lists": d.sanctions_lists,
                        "at": timestamp(cajero_store::Micros(d.at).to_timestamp())})
                })
                .collect();
            print(db.json, &json!({"data": data}), || {
                if decisions.is_empty() {
                    return "no operation was held or refused".into();
                }
                decisions
                    .iter()
                    .map(|d| {
                        format!(
                            "{}  {}  {}  {}  {}",
                            d.id, d.outcome, d.flow, d.object_id, d.fired
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        RiskCommand::Held { db } => {
            let state = open(&db).await?;
            let payins = cajero_server::payins::open_holds(&state, 500).await;
            let payouts = state
                .store
                .read(|mut c| {
                    Box::pin(async move { cajero_store::payouts::on_hold(&mut c, 500).await })
                })
                .await;
            state.store.close().await;
            let (payins, payouts) = (payins?, payouts?);
            let mut data: Vec<_> = payins
                .iter()
                .map(|h| json!({"id": h.id, "merchant": h.merchant_id, "livemode": h.livemode, "decision": h.decision_id}))
                .collect();
            data.extend(payouts.iter().map(|p| {
                json!({"id": p.id.to_string(), "merchant": p.merchant_id.to_string(),
                    "livemode": p.mode.is_live(), "amount": p.amount.minor()})
            }));
            print(db.json, &json!({"data": data}), || {
                if data.is_empty() {
                    return "nothing is on hold".into();
                }
                data.iter()
                    .map(|d| {
                        format!(
                            "{}  {}",
                            d["id"].as_str().unwrap_or_default(),
                            d["merchant"].as_str().unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        RiskCommand::Release { id, reason, db } => {
            let acting = Acting::cli(Reason::parse(&reason)?);
            let state = open_serving(&db).await?;
            let released = release(&state, &id, &acting).await;
            state.store.close().await;
            let status = released?;
            print(db.json, &json!({"id": id, "status": status}), || {
                format!("{id} is released; it is now {status}")
            });
        }
        RiskCommand::Refuse { id, reason, db } => {
            let acting = Acting::cli(Reason::parse(&reason)?);
            let state = open_serving(&db).await?;
            let refused = refuse(&state, &id, &acting).await;
            state.store.close().await;
            refused?;
            print(db.json, &json!({"id": id, "status": "canceled"}), || {
                format!("{id} is refused: canceled")
            });
        }
    }
    Ok(())
}

async fn held_payout(
    state: &cajero_server::AppState,
    id: PayoutId,
) -> anyhow::Result<cajero_store::payouts::PayoutRecord> {
    let payout = state
        .store
        .read(move |mut c| {
            Box::pin(async move { cajero_store::payouts::get_any(&mut c, id).await })
        })
        .await?
        .with_context(|| format!("no payout {id}"))?;
    anyhow::ensure!(
        payout.status.as_str() == "on_hold",
        "payout {id} is {}, not on hold",
        payout.status
    );
    Ok(payout)
}

async fn release(
    state: &cajero_server::AppState,
    id: &str,
    acting: &Acting,
) -> anyhow::Result<String> {
    if id.parse::<PayinId>().is_ok() {
        let payin = cajero_server::payins::release_held(state, id, acting).await?;
        return Ok(payin["status"].as_str().unwrap_or_default().to_owned());
    }
    let payout_id: PayoutId = id
        .parse()
        .context("give a pay-in (pi_…) or payout (po_…) id")?;
    let payout = held_payout(state, payout_id).await?;
    let audit = cajero_server::operators::audit_row(
        state.clock.as_ref(),
        acting,
        "payout.released",
        Some(payout.merchant_id.to_string()),
        Some(id.to_owned()),
    );
    let key =
        cajero_server::idempotency::IdempotencyKey::of_form(state, &format!("cli-release-{id}"));
    let answer = cajero_server::payouts::release(
        state,
        key,
        payout,
        audit,
        acting.reason.as_str().to_owned(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{} ({})", e.message, e.code))?;
    if let Some((code, message)) = answer.refusal() {
        anyhow::bail!("not released: {message} ({code})");
    }
    Ok(answer
        .object()
        .and_then(|o| o["status"].as_str().map(str::to_owned))
        .unwrap_or_default())
}

async fn refuse(state: &cajero_server::AppState, id: &str, acting: &Acting) -> anyhow::Result<()> {
    if id.parse::<PayinId>().is_ok() {
        cajero_server::payins::refuse_held(state, id, acting).await?;
        return Ok(());
    }
    let payout_id: PayoutId = id
        .parse()
        .context("give a pay-in (pi_…) or payout (po_…) id")?;
    let payout = held_payout(state, payout_id).await?;
    let merchant = payout.merchant_id;
    let caller = cajero_server::auth::Caller::dashboard(merchant, payout.mode);
    let key =
        cajero_server::idempotency::IdempotencyKey::of_form(state, &format!("cli-refuse-{id}"));
    let answer = cajero_server::payouts::cancel(state, caller, key, payout)
        .await
        .map_err(|e| anyhow::anyhow!("{} ({})", e.message, e.code))?;
    if let Some((code, message)) = answer.refusal() {
        anyhow::bail!("not refused: {message} ({code})");
    }
    let audit = cajero_server::operators::audit_row(
        state.clock.as_ref(),
        acting,
        "payout.refused",
        Some(merchant.to_string()),
        Some(id.to_owned()),
    );
    let reason = acting.reason.as_str().to_owned();
    state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                cajero_store::operators::insert_audit(&mut c, &audit, Some(reason.as_str())).await
            })
        })
        .await?;
    Ok(())
}
