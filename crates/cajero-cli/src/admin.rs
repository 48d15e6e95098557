//! `cajero migrate`, `cajero merchant …`, `cajero key …`, `cajero user …`.

use std::sync::Arc;

use anyhow::Context as _;
use cajero_domain::id::{ApiKeyId, MerchantId};
use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_server::AppState;
use cajero_server::clock::SystemClock;
use cajero_server::config::{Config, Overrides};
use cajero_server::operators::{Acting, Reason};
use cajero_store::merchants::{ApiKeyRecord, MerchantRecord};
use clap::Subcommand;
use serde_json::json;

use crate::DatabaseArgs;
use crate::output::{print, timestamp};

#[derive(Debug, Subcommand)]
pub enum MerchantCommand {
    /// Create a merchant (status `onboarding`: test keys only until KYC is approved).
    Create {
        /// Display name.
        #[arg(long)]
        name: String,
        /// Tax id, with or without the dash: 900123456-8.
        #[arg(long)]
        nit: Option<String>,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// List merchants.
    List {
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Change a merchant's status (`active` approves KYC and allows live keys).
    SetStatus {
        /// The merchant (`mer_…`).
        #[arg(long)]
        merchant: MerchantId,
        /// onboarding, active or suspended. `active` needs an approved KYC application
        /// (`cajero merchant kyc approve`): it brings back a suspended merchant.
        #[arg(long)]
        status: MerchantStatus,
        /// Why (required; written to the audit log).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// A merchant's fee plan (and the default plan of live merchants).
    #[command(subcommand)]
    Fees(crate::settings::FeesCommand),
    /// How a merchant is settled: T+N business days, COP or USD, FX markup.
    #[command(subcommand)]
    Settlement(crate::settings::TermsCommand),
    /// A merchant's onboarding (KYC): show it, review it, decide.
    #[command(subcommand)]
    Kyc(KycCommand),
    /// Whether a merchant's events carry full personal data or masked (the default): show it,
    /// or change it with a reason (audited).
    Privacy(crate::privacy::MerchantPrivacyArgs),
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create a secret key; it is printed once and never again.
    Create {
        /// The merchant (`mer_…`).
        #[arg(long)]
        merchant: MerchantId,
        /// test or live (live needs an active merchant).
        #[arg(long)]
        mode: Mode,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// List a merchant's keys: id, mode, display prefix, created, last used, revoked (the
    /// secrets themselves are never stored).
    List {
        /// The merchant (`mer_…`).
        #[arg(long)]
        merchant: MerchantId,
        /// Only test or only live keys.
        #[arg(long)]
        mode: Option<Mode>,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Revoke a key: it stops working at once.
    Revoke {
        /// The key (`key_…`).
        #[arg(long)]
        key: ApiKeyId,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum KycCommand {
    /// Show a merchant's application, its problems and where its review stands.
    Show {
        #[command(flatten)]
        target: KycTarget,
    },
    /// List the applications waiting in a state (default: submitted), oldest first.
    Queue {
        /// draft, submitted, in_review, approved, rejected or needs_info.
        #[arg(long, default_value = "submitted")]
        status: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Take a submitted application into review.
    StartReview {
        #[command(flatten)]
        target: KycTarget,
    },
    /// Approve it: the merchant becomes active and may use live mode.
    Approve {
        #[command(flatten)]
        target: KycTarget,
        /// Why (kept with the decision and audited).
        #[arg(long)]
        reason: String,
    },
    /// Reject it.
    Reject {
        #[command(flatten)]
        target: KycTarget,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Send it back to the merchant with questions.
    RequestInfo {
        #[command(flatten)]
        target: KycTarget,
        /// What the merchant must answer.
        #[arg(long)]
        questions: String,
    },
}

/// Which merchant, who acts, and where the database is.
#[derive(Debug, clap::Args)]
pub struct KycTarget {
    /// The merchant (`mer_…`).
    #[arg(long)]
    merchant: MerchantId,
    /// The operator's name for the audit log.
    #[arg(long, default_value = "operator (cli)")]
    operator: String,
    #[command(flatten)]
    db: DatabaseArgs,
}

/// `cajero merchant kyc …`.
pub async fn kyc(command: KycCommand) -> anyhow::Result<()> {
    use cajero_domain::kyc::{KycAction, KycStatus};
    use cajero_server::kyc as service;
    let (target, action, note) = match command {
        KycCommand::Queue { status, db } => {
            let status: KycStatus = status.parse().map_err(anyhow::Error::msg)?;
            let state = open(&db).await?;
            let found = service::queue(&state.store, status).await;
            state.store.close().await;
            let found = found?;
            let value = json!({"object": "list", "data": found});
            print(db.json, &value, || {
                if found.is_empty() {
                    return format!("no application is {status}");
                }
                found
                    .iter()
                    .map(|v| format!("{}  {}  {}", v.merchant, v.status, v.application.legal_name))
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            return Ok(());
        }
        KycCommand::Show { target } => (target, None, None),
        KycCommand::StartReview { target } => (target, Some(KycAction::StartReview), None),
        KycCommand::Approve { target, reason } => (target, Some(KycAction::Approve), Some(reason)),
        KycCommand::Reject { target, reason } => (target, Some(KycAction::Reject), Some(reason)),
        KycCommand::RequestInfo { target, questions } => {
            (target, Some(KycAction::RequestInfo), Some(questions))
        }
    };
    let state = open(&target.db).await?;
    let result = match action {
        None => {
            service::show_with_documents(&state.store, state.clock.as_ref(), target.merchant).await
        }
        Some(action) => {
            let actor = service::Actor {
                user_id: None,
                name: target.operator.clone(),
                ip: None,
            };
            service::decide_and_notify(&state, target.merchant, action, note.as_deref(), actor)
                .await
        }
    };
    state.store.close().await;
    let view = result?;
    print(target.db.json, &json!(view), || {
        let mut text = format!(
            "{}  KYC {}  (screening: {})",
            view.merchant, view.status, view.screening
        );
        if let Some(q) = &view.questions {
            text.push_str(&format!("\nquestions: {q}"));
        }
        if let Some(r) = &view.decision_reason {
            text.push_str(&format!("\ndecision: {r}"));
        }
        for p in &view.problems {
            text.push_str(&format!("\nmissing: {}: {}", p.field, p.message));
        }
        text
    });
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Invite a person to a merchant's dashboard: prints the one-time link (7 days) to pass
    /// on, e.g. the first owner of a merchant made with `cajero merchant create`.
    Invite {
        /// The merchant (`mer_…`).
        #[arg(long)]
        merchant: MerchantId,
        /// The person's e-mail address (they sign in with it).
        #[arg(long)]
        email: String,
        /// owner, developer or analyst.
        #[arg(long, default_value = "owner")]
        role: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// List a merchant's dashboard users.
    List {
        /// The merchant (`mer_…`).
        #[arg(long)]
        merchant: MerchantId,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Add an operator of the console (/console). Prints a one-time password unless one is
    /// given on standard input (--password-stdin); the operator sets up two-factor (TOTP) at
    /// the first sign-in, before anything else opens.
    Add {
        /// The operator's e-mail address (they sign in with it).
        #[arg(long)]
        email: String,
        /// How the console greets them.
        #[arg(long)]
        name: String,
        /// Read the password from standard input (12–128 characters) instead.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// List the operators.
    List {
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Disable an operator: its sessions end at once and it signs in no more.
    Disable {
        /// The operator's e-mail address.
        #[arg(long)]
        email: String,
        /// Why (required; written to the audit log).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Enable a disabled operator again.
    Enable {
        /// The operator's e-mail address.
        #[arg(long)]
        email: String,
        /// Why (required; written to the audit log).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

/// `cajero operator …`.
pub async fn operator(command: OperatorCommand) -> anyhow::Result<()> {
    use cajero_server::operators;
    match command {
        OperatorCommand::Add {
            email,
            name,
            password_stdin,
            db,
        } => {
            let (password, generated) = if password_stdin {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                    .context("reading the password from standard input")?;
                (text.trim_end_matches(['\r', '\n']).to_owned(), false)
            } else {
                (cajero_server::users::random_token(), true)
            };
            let state = open(&db).await?;
            let added =
                operators::add(&state.store, state.clock.as_ref(), &email, &name, &password).await;
            state.store.close().await;
            let added = added.with_context(|| format!("adding operator {email}"))?;
            let console = format!(
                "{}/console",
                state.config.public_url().trim_end_matches('/')
            );
            let mut value = json!({
                "object": "operator", "id": added.id, "email": added.email, "name": added.name,
                "console": console,
            });
            if generated {
                value["password"] = json!(password);
            }
            print(db.json, &value, || {
                let mut text = format!(
                    "operator {} ({}) added; console: {console}",
                    added.email, added.id
                );
                if generated {
                    text.push_str(&format!(
                        "\n\n    password: {password}\n\nShown once: pass it on now. Two-factor is set up at the first sign-in."
                    ));
                }
                text
            });
        }
        OperatorCommand::List { db } => {
            let state = open(&db).await?;
            let all = operators::list(&state.store).await;
            state.store.close().await;
            let all = all?;
            let data: Vec<_> = all
                .iter()
                .map(|o| {
                    json!({
                        "object": "operator", "id": o.id, "email": o.email, "name": o.name,
                        "two_factor": o.totp_enabled_at.is_some(),
                        "disabled": o.disabled_at.is_some(),
                    })
                })
                .collect();
            print(db.json, &json!({"object": "list", "data": data}), || {
                all.iter()
                    .map(|o| {
                        format!(
                            "{}  {}  {}{}{}",
                            o.id,
                            o.email,
                            o.name,
                            if o.totp_enabled_at.is_some() {
                                ""
                            } else {
                                "  (two-factor not set up)"
                            },
                            if o.disabled_at.is_some() {
                                "  (disabled)"
                            } else {
                                ""
                            }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        OperatorCommand::Disable { email, reason, db } => {
            set_operator_disabled(&email, true, &reason, &db).await?;
        }
        OperatorCommand::Enable { email, reason, db } => {
            set_operator_disabled(&email, false, &reason, &db).await?;
        }
    }
    Ok(())
}

async fn set_operator_disabled(
    email: &str,
    disabled: bool,
    reason: &str,
    db: &DatabaseArgs,
) -> anyhow::Result<()> {
    let acting = Acting::cli(Reason::parse(reason)?);
    let state = open(db).await?;
    let done = cajero_server::operators::set_disabled(
        &state.store,
        state.clock.as_ref(),
        email,
        disabled,
        &acting,
    )
    .await;
    state.store.close().await;
    anyhow::ensure!(done?, "no operator {email}");
    let status = if disabled { "disabled" } else { "enabled" };
    print(db.json, &json!({"email": email, "status": status}), || {
        format!("operator {email} is {status}")
    });
    Ok(())
}

/// `cajero user …`.
pub async fn user(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Invite {
            merchant,
            email,
            role,
            db,
        } => {
            let role = cajero_server::users::Role::parse(&role).with_context(|| {
                format!("--role must be owner, developer or analyst, not {role:?}")
            })?;
            let state = open(&db).await?;
            let invited = cajero_server::invitations::invite_as_operator(
                &state.store,
                state.clock.as_ref(),
                merchant,
                &email,
                role,
            )
            .await;
            state.store.close().await;
            let invited = invited.with_context(|| format!("inviting {email} to {merchant}"))?;
            let link = cajero_server::invitations::link(&state.config.public_url(), &invited.token);
            let i = &invited.invitation;
            let value = json!({
                "object": "invitation", "id": i.id, "merchant": i.merchant_id,
                "email": i.email, "role": i.role, "expires": timestamp(cajero_store::Micros(i.expires_at).to_timestamp()), "link": link,
            });
            print(db.json, &value, || {
                format!(
                    "invited {} as {} to {}\n\n    {}\n\nThe link works once, until {}: pass it on now.",
                    i.email,
                    i.role,
                    i.merchant_id,
                    link,
                    timestamp(cajero_store::Micros(i.expires_at).to_timestamp())
                )
            });
        }
        UserCommand::List { merchant, db } => {
            let state = open(&db).await?;
            let merchant_id = merchant.to_string();
            let users = state
                .store
                .read(move |mut c| {
                    Box::pin(async move {
                        cajero_store::dashboard::users_of_merchant(
                            &mut c,
                            &merchant_id,
                            cajero_server::users::USERS_PER_MERCHANT_MAX,
                        )
                        .await
                    })
                })
                .await;
            state.store.close().await;
            let users = users?;
            let data: Vec<_> = users
                .iter()
                .map(|u| {
                    json!({"id": u.id, "email": u.email, "name": u.name, "role": u.role,
                        "two_factor": u.totp_enabled_at.is_some(), "created": timestamp(cajero_store::Micros(u.created_at).to_timestamp())})
                })
                .collect();
            print(db.json, &json!({"object": "list", "data": data}), || {
                if users.is_empty() {
                    return format!("{merchant} has no dashboard users");
                }
                users
                    .iter()
                    .map(|u| format!("{}  {}  {}  {}", u.id, u.email, u.role, u.name))
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
    }
    Ok(())
}

/// Opens the configured database (migrating it) without serving.
pub async fn open(db: &DatabaseArgs) -> anyhow::Result<AppState> {
    AppState::open(load_config(db)?, Arc::new(SystemClock)).await
}

/// Like [`open`], and reaches the networks: the simulator for test mode (embedded unless
/// configured) and the gateways of `[[networks]]` for live mode.
pub async fn open_serving(db: &DatabaseArgs) -> anyhow::Result<AppState> {
    AppState::open_serving(load_config(db)?, Arc::new(SystemClock)).await
}

fn load_config(db: &DatabaseArgs) -> anyhow::Result<Config> {
    Ok(Config::load(
        db.config.as_deref(),
        Overrides {
            database_url: db.database_url.clone(),
            ..Overrides::default()
        },
    )?)
}

pub async fn migrate(db: DatabaseArgs) -> anyhow::Result<()> {
    let state = open(&db).await?;
    state.store.close().await;
    print(db.json, &json!({"migrated": true}), || {
        "the database schema is up to date".to_string()
    });
    Ok(())
}

pub async fn merchant(command: MerchantCommand) -> anyhow::Result<()> {
    match command {
        MerchantCommand::Fees(command) => crate::settings::fees(command).await?,
        MerchantCommand::Settlement(command) => crate::settings::terms(command).await?,
        MerchantCommand::Kyc(command) => kyc(command).await?,
        MerchantCommand::Privacy(args) => crate::privacy::merchant(args).await?,
        MerchantCommand::Create { name, nit, db } => {
            let state = open(&db).await?;
            let merchant = cajero_server::admin::create_merchant(
                &state.store,
                state.clock.as_ref(),
                &name,
                nit.as_deref(),
            )
            .await?;
            state.store.close().await;
            print(db.json, &merchant_json(&merchant), || {
                format!(
                    "created merchant {} ({}), status {}\nnext: cajero key create --merchant {} --mode test",
                    merchant.id, merchant.name, merchant.status, merchant.id
                )
            });
        }
        MerchantCommand::List { db } => {
            let state = open(&db).await?;
            let all = cajero_server::admin::list_merchants(&state.store).await?;
            state.store.close().await;
            let data: Vec<_> = all.iter().map(merchant_json).collect();
            print(db.json, &json!({"object": "list", "data": data}), || {
                all.iter()
                    .map(|m| format!("{}  {:<10}  {}", m.id, m.status.as_str(), m.name))
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        MerchantCommand::SetStatus {
            merchant,
            status,
            reason,
            db,
        } => {
            let acting = Acting::cli(Reason::parse(&reason)?);
            let state = open(&db).await?;
            let updated = cajero_server::platform::set_merchant_status(
                &state.store,
                state.clock.as_ref(),
                merchant,
                status,
                &acting,
            )
            .await;
            state.store.close().await;
            let updated = updated?;
            print(db.json, &merchant_json(&updated), || {
                format!("merchant {} is now {}", updated.id, updated.status)
            });
        }
    }
    Ok(())
}

pub async fn key(command: KeyCommand) -> anyhow::Result<()> {
    match command {
        KeyCommand::Create { merchant, mode, db } => {
            let state = open(&db).await?;
            let (key, secret) = cajero_server::admin::create_api_key(
                &state.store,
                state.clock.as_ref(),
                &state.keys,
                merchant,
                mode,
            )
            .await
            .context("creating the key")?;
            let audited = audit_cli(
                &state,
                "api_key.created",
                Some(key.merchant_id),
                &key.id.to_string(),
            )
            .await;
            state.store.close().await;
            audited?;
            let mut value = key_json(&key);
            value["secret"] = json!(secret.expose());
            print(db.json, &value, || {
                format!(
                    "created {} key {} for {}\n\n    {}\n\nThis secret is shown once: store it now.",
                    mode,
                    key.id,
                    key.merchant_id,
                    secret.expose()
                )
            });
        }
        KeyCommand::List { merchant, mode, db } => {
            let state = open(&db).await?;
            let keys = cajero_server::admin::list_api_keys(&state.store, merchant, mode).await;
            state.store.close().await;
            let keys = keys?;
            let data: Vec<_> = keys.iter().map(key_json).collect();
            print(db.json, &json!({"object": "list", "data": data}), || {
                if keys.is_empty() {
                    return format!("{merchant} has no keys");
                }
                keys.iter()
                    .map(|k| {
                        let state = match (k.revoked_at, k.last_used_at) {
                            (Some(at), _) => format!("revoked {}", timestamp(at)),
                            (None, Some(at)) => format!("last used {}", timestamp(at)),
                            (None, None) => "never used".to_string(),
                        };
                        format!(
                            "{}  {}  {}…  created {}  {}",
                            k.id,
                            if k.livemode { "live" } else { "test" },
                            k.display_prefix,
                            timestamp(k.created_at),
                            state
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        KeyCommand::Revoke { key, db } => {
            let state = open(&db).await?;
            let revoked =
                cajero_server::admin::revoke_api_key(&state.store, state.clock.as_ref(), key)
                    .await?;
            let audited = audit_cli(
                &state,
                "api_key.revoked",
                Some(revoked.merchant_id),
                &revoked.id.to_string(),
            )
            .await;
            state.store.close().await;
            audited?;
            print(db.json, &key_json(&revoked), || {
                format!("revoked key {} ({})", revoked.id, revoked.display_prefix)
            });
        }
    }
    Ok(())
}

/// Writes what the command line did to the audit log (tamper-evident once sealed).
async fn audit_cli(
    state: &AppState,
    action: &str,
    merchant: Option<MerchantId>,
    object: &str,
) -> anyhow::Result<()> {
    let row = cajero_store::dashboard::AuditRow {
        id: cajero_server::clock::new_id::<cajero_domain::id::Audit>(state.clock.as_ref())
            .to_string(),
        merchant_id: merchant.map(|m| m.to_string()),
        user_id: None,
        actor: cajero_server::operators::CLI_ACTOR.to_owned(),
        action: action.to_owned(),
        object_id: Some(object.to_owned()),
        ip: None,
        at: cajero_store::Micros::from(state.clock.now()).0,
    };
    state
        .store
        .write(move |mut c| {
            Box::pin(async move { cajero_store::dashboard::insert_audit(&mut c, &row).await })
        })
        .await
        .context("writing the audit log")?;
    Ok(())
}

fn merchant_json(m: &MerchantRecord) -> serde_json::Value {
    json!({
        "id": m.id,
        "object": "merchant",
        "name": m.name,
        "nit": m.nit,
        "status": m.status,
        "created": timestamp(m.created_at),
        "updated": timestamp(m.updated_at),
    })
}

fn key_json(k: &ApiKeyRecord) -> serde_json::Value {
    json!({
        "id": k.id,
        "object": "api_key",
        "merchant": k.merchant_id,
        "livemode": k.livemode,
        "display_prefix": k.display_prefix,
        "created": timestamp(k.created_at),
        "revoked": k.revoked_at.map(timestamp),
        "last_used": k.last_used_at.map(timestamp),
    })
}
