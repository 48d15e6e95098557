//! Risk and compliance decisions in service: the rule set in force (versioned, every change
//! audited with its diff and reason), blocklists (the operator's and each merchant's), and
//! [`decide`], which every pay-in and payout create runs inside its unit of work before any
//! money is reserved or any network is called.
//!
//! A decision reads the totals its rules compare by key (calendar totals by primary key,
//! velocity rows by an index range over the window), the blocklists by value, and takes the
//! sanctions screening done before the unit. Anything that fires is stored in
//! `risk_decisions` with its inputs; an operation that is not refused is then added to the
//! totals its rules count, in the same unit. On PostgreSQL the scopes read are locked for the
//! transaction (advisory locks), so that two instances cannot both pass a limit with the same
//! last peso.
//!
//! Limits: a rule counts operations from when a rule with its scope is first in force (history
//! is not backfilled); a payout that then fails for lack of balance still counts; velocity
//! windows are at most 31 days (older rows are purged).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use cajero_domain::id::{BlockEntryId, MerchantId};
use cajero_domain::risk::blocklist::{self, Kind};
use cajero_domain::risk::{
    Action, Decision, Engine, Fired, Flow, Operation, Outcome, RuleSet, RuleSetError, Span, Tally,
    TallyKey,
};
use cajero_domain::{Amount, Document, Mode};
use cajero_store::risk::{self as rows, BlockRow, DecisionRow, RuleVersionRow};
use cajero_store::{Conn, Micros, Store, StoreError};
use jiff::Timestamp;
use serde_json::json;

use crate::clock::{Clock, new_id};
use crate::error::ApiError;
use crate::operators::{Acting, audit_row};

/// Blocklist entries listed at most.
pub const BLOCKLIST_PAGE_MAX: i64 = 500;
/// How long velocity rows are kept: the longest window.
pub const VELOCITY_KEPT_S: i64 = cajero_domain::risk::rules::WINDOW_S_MAX as i64;

/// The rule set this instance decides with, and its version (0: none was ever set).
#[derive(Debug, Default)]
pub struct RiskRules {
    current: RwLock<(i64, Arc<Engine>)>,
}

impl RiskRules {
    /// No rules yet (read from the database on the first decision).
    pub fn new() -> RiskRules {
        RiskRules::default()
    }

    fn cached(&self) -> (i64, Arc<Engine>) {
        self.current
            .read()
            .map(|c| c.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    fn replace(&self, version: i64, engine: Arc<Engine>) {
        let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
        if version >= current.0 {
            *current = (version, engine);
        }
    }

    /// The rules in force, checked against the database's newest version in the caller's unit
    /// (one read by primary key; the set is reparsed only when it changed), so that a change
    /// on any instance applies to the very next decision everywhere.
    pub async fn in_force(&self, conn: &mut Conn<'_>) -> Result<(i64, Arc<Engine>), StoreError> {
        let newest = cajero_store::fetch!(
            optional,
            conn,
            (i64,),
            "SELECT version FROM risk_rule_versions ORDER BY version DESC LIMIT 1",
        )?
        .map_or(0, |(v,)| v);
        self.at_version(conn, newest).await
    }

    /// [`RiskRules::in_force`] when the caller read the newest version itself (with the
    /// blocklists, say): the cached set when it is that version, else read again.
    async fn at_version(
        &self,
        conn: &mut Conn<'_>,
        newest: i64,
    ) -> Result<(i64, Arc<Engine>), StoreError> {
        let cached = self.cached();
        if cached.0 == newest {
            return Ok(cached);
        }
        let Some(row) = rows::current_rules(conn).await? else {
            return Ok((0, Arc::new(Engine::default())));
        };
        let set = RuleSet::parse(&row.rules).map_err(|e| StoreError::Corrupt {
            table: "risk_rule_versions",
            detail: format!("version {}: {e}", row.version),
        })?;
        let engine = Arc::new(Engine::new(set));
        self.replace(row.version, engine.clone());
        Ok((row.version, engine))
    }
}

/// The sanctions screening of a named person, done before the unit of work.
#[derive(Debug, Clone, Default)]
pub struct Screened {
    /// The hits, for a person (`None`: clear, or nothing to screen).
    pub hits: Option<String>,
    /// The lists screened with (`sal_… sal_…`); `None`: none is loaded.
    pub lists: Option<String>,
}

/// An operation to decide.
#[derive(Debug, Clone)]
pub struct Check {
    /// Pay-in or payout.
    pub flow: Flow,
    /// Whose.
    pub merchant: MerchantId,
    /// Live or test.
    pub mode: Mode,
    /// The pay-in's or payout's id.
    pub object_id: String,
    /// The network it goes to first.
    pub network: String,
    /// How much.
    pub amount: Amount,
    /// The customer's or beneficiary's document.
    pub document: Option<Document>,
    /// Their phone (E.164).
    pub phone: Option<String>,
    /// Their name.
    pub name: Option<String>,
    /// The operation's time (its test clock's, on one).
    pub at: Timestamp,
    /// The sanctions screening of the name.
    pub screened: Screened,
}

/// What [`decide`] decided.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// Allow, review or deny.
    pub outcome: Outcome,
    /// The stored decision (`rdc_…`), when something fired.
    pub decision_id: Option<String>,
    /// What fired.
    pub fired: Vec<Fired>,
}

impl Verdict {
    /// Why, in one line: each check that fired.
    pub fn why(&self) -> String {
        self.fired
            .iter()
            .map(|f| format!("{} ({}): {}", f.rule, f.action.as_str(), f.reason))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The refusal a denied operation answers: neutral (the merchant's dashboard names the rule).
pub fn denied() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        crate::error::ErrorType::InvalidRequestError,
        "risk_denied",
        "This operation cannot be processed. The decision is shown in your dashboard's risk page.",
    )
}

fn span_key(span: Span) -> Option<String> {
    match span {
        Span::Day(d) => Some(format!("d:{d}")),
        Span::Month(m) => Some(format!("m:{m}")),
        Span::Window { .. } => None,
    }
}

/// Decides `check` in the caller's unit of work: rules, blocklists and the screening; stores
/// the decision when anything fired (an alert-only decision also raises `risk_alert`); adds
/// the operation to its rules' totals unless denied.
pub async fn decide(
    conn: &mut Conn<'_>,
    rules: &RiskRules,
    clock: &dyn Clock,
    check: &Check,
) -> Result<Verdict, StoreError> {
    let op = operation(check);
    let document = op.document.clone();
    let merchant = check.merchant.to_string();
    let blockable = [
        (Kind::Document, document.clone()),
        (Kind::Phone, check.phone.clone()),
        (
            Kind::Name,
            check
                .name
                .as_deref()
                .map(blocklist::name_key)
                .filter(|k| !k.is_empty()),
        ),
    ];
    let wanted: Vec<(Kind, &str)> = blockable
        .iter()
        .filter_map(|(kind, value)| Some((*kind, value.as_deref()?)))
        .collect();
    // The blocklists and the rules' version in one read; the rules fire first, as listed.
    let (newest, blocks) = blocked(conn, &merchant, &wanted, Action::Deny).await?;
    let (version, engine) = rules.at_version(conn, newest).await?;
    let judged = !engine.is_idle_for(check.flow);
    let mut fired = if judged {
        rule_fires(conn, &engine, &op).await?
    } else {
        Vec::new()
    };
    fired.extend(blocks);
    if let Some(hits) = &check.screened.hits {
        fired.push(Fired {
            rule: "sanctions".into(),
            action: Action::Review,
            reason: hits.clone(),
            observed: None,
        });
    }
    let decision = Decision::of(fired);
    let inputs = json!({
        "amount": check.amount.minor(),
        "network": check.network,
        "document": document,
        "phone": check.phone,
        "name": check.name,
        "at": Micros::from(check.at).0,
    });
    let stored = Stored {
        merchant: check.merchant,
        mode: check.mode,
        flow: check.flow,
        object_id: &check.object_id,
        version,
        sanctions_lists: check.screened.lists.as_deref(),
        inputs,
    };
    let decision_id = store_decision(conn, clock, &stored, &decision, "flagged").await?;
    if decision.outcome != Outcome::Deny && judged {
        record(conn, &engine, &op, &check.object_id).await?;
    }
    Ok(Verdict {
        outcome: decision.outcome,
        decision_id,
        fired: decision.fired,
    })
}

/// A completed operation: a pay-in paid or a payout collected at a network's counter.
#[derive(Debug, Clone)]
pub struct Completed<'a> {
    /// Pay-in or payout.
    pub flow: Flow,
    /// Whose.
    pub merchant: MerchantId,
    /// Live or test.
    pub mode: Mode,
    /// `pi_…` or `po_…`.
    pub object_id: &'a str,
    /// The network that moved the cash.
    pub network: &'a str,
    /// Its counter there, as the network names it.
    pub counter: &'a str,
    /// How much.
    pub amount: Amount,
    /// When the cash moved (as the network says).
    pub at: Timestamp,
}

/// Watches the counter where an operation completed, in the unit of work that records it
/// (once per operation: when the counter is first recorded): the counter rules (velocity and
/// limits per counter) and the counters on blocklists. The cash has moved, so nothing is
/// refused: what fires is stored as a decision (`allow`, the checks with action `alert`),
/// written to the audit log and raised as a `risk_alert` for the operator. Returns the stored
/// decision's id when something fired.
pub async fn watch_counter(
    conn: &mut Conn<'_>,
    rules: &RiskRules,
    clock: &dyn Clock,
    done: &Completed<'_>,
) -> Result<Option<String>, StoreError> {
    let counter = blocklist::counter_key(done.network, done.counter);
    let merchant = done.merchant.to_string();
    // The blocklists and the rules' version in one read; the rules fire first, as listed.
    let (newest, blocks) =
        blocked(conn, &merchant, &[(Kind::Counter, &counter)], Action::Alert).await?;
    let (version, engine) = rules.at_version(conn, newest).await?;
    let op = Operation {
        flow: done.flow,
        live: done.mode.is_live(),
        merchant: done.merchant.to_string(),
        network: done.network.to_owned(),
        amount: done.amount,
        document: None,
        phone: None,
        counter: Some(counter.clone()),
        at: done.at,
    };
    let watched = engine.watches_counters_for(done.flow);
    let mut fired = if watched {
        rule_fires(conn, &engine, &op).await?
    } else {
        Vec::new()
    };
    fired.extend(blocks);
    if watched {
        record(conn, &engine, &op, done.object_id).await?;
    }
    let stored = Stored {
        merchant: done.merchant,
        mode: done.mode,
        flow: done.flow,
        object_id: done.object_id,
        version,
        sanctions_lists: None,
        inputs: json!({
            "amount": done.amount.minor(),
            "network": done.network,
            "counter": counter,
            "at": Micros::from(done.at).0,
        }),
    };
    store_decision(
        conn,
        clock,
        &stored,
        &Decision::of(fired),
        "counter_flagged",
    )
    .await
}

/// The rules that fire for `op`, reading (and on PostgreSQL locking) the totals they compare.
async fn rule_fires(
    conn: &mut Conn<'_>,
    engine: &Engine,
    op: &Operation,
) -> Result<Vec<Fired>, StoreError> {
    let keys = engine.tallies(op);
    let recording = engine.recording(op);
    let scopes: Vec<&str> = keys
        .iter()
        .map(|k| k.scope.as_str())
        .chain(recording.calendar.iter().map(|s| s.as_str()))
        .chain(recording.velocity.iter().map(|s| s.as_str()))
        .collect();
    cajero_store::lock_scopes(conn, &scopes).await?;
    let mut tallies: HashMap<TallyKey, Tally> = HashMap::with_capacity(keys.len());
    for key in keys {
        let (count, amount) = match (span_key(key.span), key.span) {
            (Some(span), _) => rows::total(conn, key.scope.as_str(), &span).await?,
            (None, Span::Window { from, bucket_s }) => {
                rows::velocity(
                    conn,
                    key.scope.as_str(),
                    Micros::from(from).0,
                    i64::from(bucket_s) * 1_000_000,
                )
                .await?
            }
            (None, _) => (0, 0),
        };
        tallies.insert(
            key,
            Tally {
                count: u64::try_from(count).unwrap_or(0),
                amount,
            },
        );
    }
    Ok(engine.evaluate(op, |k| tallies.get(k).copied().unwrap_or_default()))
}

/// Adds `op` to the totals its rules count.
async fn record(
    conn: &mut Conn<'_>,
    engine: &Engine,
    op: &Operation,
    object_id: &str,
) -> Result<(), StoreError> {
    let recording = engine.recording(op);
    let amount = op.amount.minor();
    for scope in &recording.calendar {
        rows::add_total(
            conn,
            scope.as_str(),
            &format!("d:{}", recording.day),
            amount,
        )
        .await?;
        rows::add_total(
            conn,
            scope.as_str(),
            &format!("m:{}", recording.month),
            amount,
        )
        .await?;
    }
    let at = Micros::from(op.at).0;
    for scope in &recording.velocity {
        rows::add_velocity(conn, scope.as_str(), at, amount, object_id).await?;
    }
    for (scope, bucket_s) in &recording.buckets {
        let bucket_us = i64::from(*bucket_s) * 1_000_000;
        rows::add_to_bucket(conn, scope.as_str(), bucket_us, at, amount, 1).await?;
    }
    Ok(())
}

/// The entries of the operator's and `merchant`'s blocklists that hold any of `wanted`
/// (one statement, which also reads the newest rule version), as checks that fired with
/// `action`; the version first.
async fn blocked(
    conn: &mut Conn<'_>,
    merchant: &str,
    wanted: &[(Kind, &str)],
    action: Action,
) -> Result<(i64, Vec<Fired>), StoreError> {
    let keys: Vec<(&str, &str)> = wanted.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let blocking = rows::blocking(conn, merchant, &keys).await?;
    let fired = blocking
        .entries
        .into_iter()
        .filter_map(|entry| {
            let (kind, value) = wanted
                .iter()
                .find(|(k, v)| k.as_str() == entry.kind && *v == entry.value)?;
            let whose = if entry.merchant_id.is_some() {
                "the merchant's"
            } else {
                "the operator's"
            };
            // A counter is no person's: shown whole.
            let shown = if *kind == Kind::Counter {
                (*value).to_owned()
            } else {
                blocklist::masked(value)
            };
            Some(Fired {
                rule: "blocklist".into(),
                action,
                reason: format!(
                    "{kind} {shown} is on {whose} blocklist ({}: {})",
                    entry.id, entry.reason
                ),
                observed: None,
            })
        })
        .collect();
    Ok((blocking.newest_rules, fired))
}

/// What a stored decision is about.
struct Stored<'a> {
    merchant: MerchantId,
    mode: Mode,
    flow: Flow,
    object_id: &'a str,
    version: i64,
    sanctions_lists: Option<&'a str>,
    inputs: serde_json::Value,
}

/// Stores `decision` when anything fired and returns its id. One that only alerts (nothing
/// held or refused) is also written to the audit log (`{flow}.{alerted}`) and raised as a
/// `risk_alert` for the operator, in the same unit; a hold or a refusal is audited by the
/// caller, which knows what became of the operation.
async fn store_decision(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    about: &Stored<'_>,
    decision: &Decision,
    alerted: &str,
) -> Result<Option<String>, StoreError> {
    if decision.fired.is_empty() {
        return Ok(None);
    }
    let id = new_id::<cajero_domain::id::RiskDecision>(clock).to_string();
    let row = DecisionRow {
        id: id.clone(),
        merchant_id: about.merchant.to_string(),
        livemode: about.mode.is_live(),
        flow: about.flow.as_str().into(),
        object_id: about.object_id.to_owned(),
        outcome: decision.outcome.as_str().into(),
        fired: serde_json::to_string(&decision.fired).unwrap_or_else(|_| "[]".into()),
        inputs: about.inputs.to_string(),
        rules_version: (about.version > 0).then_some(about.version),
        sanctions_lists: about.sanctions_lists.map(str::to_owned),
        at: Micros::from(clock.now()).0,
    };
    rows::insert_decision(conn, &row).await?;
    if decision.outcome == Outcome::Allow {
        let verdict = Verdict {
            outcome: decision.outcome,
            decision_id: Some(id.clone()),
            fired: decision.fired.clone(),
        };
        let action = format!("{}.{alerted}", about.flow.as_str());
        audit_decision(
            conn,
            clock,
            about.merchant,
            &action,
            about.object_id,
            &verdict,
        )
        .await?;
        // What fired, by rule id (the reasons name people: they stay in the decision).
        let rules: Vec<&str> = decision.fired.iter().map(|f| f.rule.as_str()).collect();
        let counter = about.inputs.get("counter").and_then(|c| c.as_str());
        let spec = crate::alerts::AlertSpec {
            mode: about.mode,
            code: crate::alerts::codes::RISK_ALERT,
            // One open alert per watched counter, or per merchant and rules: a busy counter
            // refreshes its alert (the newest decision) instead of raising one per operation.
            subject: counter.map_or_else(
                || format!("risk:{}:{}", about.merchant, rules.join("+")),
                |c| format!("risk:counter:{c}"),
            ),
            merchant: None,
            severity: crate::alerts::Severity::Warning,
            message: format!(
                "{} of merchant {}{}: {} fired (decision {id})",
                about.object_id,
                about.merchant,
                counter
                    .map(|c| format!(", completed at counter {c}"))
                    .unwrap_or_default(),
                rules.join(", "),
            ),
            details: json!({
                "decision": id,
                "object": about.object_id,
                "merchant": about.merchant.to_string(),
                "rules": rules,
                "counter": counter,
            }),
        };
        crate::alerts::raise(conn, clock.now(), spec).await?;
    }
    Ok(Some(id))
}

/// Takes an allowed operation back out of its rules' totals, in the unit that records that
/// the network did not create it (with the rules in force then; a rule changed in between
/// may leave its new scope uncounted, never counted twice).
pub async fn forget(
    conn: &mut Conn<'_>,
    rules: &RiskRules,
    check: &Check,
) -> Result<(), StoreError> {
    let (_, engine) = rules.in_force(conn).await?;
    if engine.is_idle_for(check.flow) {
        return Ok(());
    }
    let op = operation(check);
    let recording = engine.recording(&op);
    let amount = check.amount.minor();
    for scope in &recording.calendar {
        rows::subtract_total(
            conn,
            scope.as_str(),
            &format!("d:{}", recording.day),
            amount,
        )
        .await?;
        rows::subtract_total(
            conn,
            scope.as_str(),
            &format!("m:{}", recording.month),
            amount,
        )
        .await?;
    }
    for scope in &recording.velocity {
        rows::delete_velocity(conn, scope.as_str(), &check.object_id).await?;
    }
    let at = Micros::from(check.at).0;
    for (scope, bucket_s) in &recording.buckets {
        let bucket_us = i64::from(*bucket_s) * 1_000_000;
        rows::add_to_bucket(conn, scope.as_str(), bucket_us, at, amount, -1).await?;
    }
    Ok(())
}

fn operation(check: &Check) -> Operation {
    Operation {
        flow: check.flow,
        live: check.mode.is_live(),
        merchant: check.merchant.to_string(),
        network: check.network.clone(),
        amount: check.amount,
        document: check.document.as_ref().map(blocklist::document_key),
        phone: check.phone.clone(),
        counter: None,
        at: check.at,
    }
}

/// Writes a decision to the audit log (tamper-evident), in the operation's unit of work:
/// `action` is `payout.held`, `payin.held`, `payout.denied`, `payin.denied`, or for one that
/// only alerted `*.flagged` / `*.counter_flagged`; the reason every check that fired.
pub async fn audit_decision(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    merchant: MerchantId,
    action: &str,
    object_id: &str,
    verdict: &Verdict,
) -> Result<(), StoreError> {
    let row = cajero_store::dashboard::AuditRow {
        id: new_id::<cajero_domain::id::Audit>(clock).to_string(),
        merchant_id: Some(merchant.to_string()),
        user_id: None,
        actor: "risk".into(),
        action: action.into(),
        object_id: Some(object_id.to_owned()),
        ip: None,
        at: Micros::from(clock.now()).0,
    };
    let why = format!(
        "{}: {}",
        verdict.decision_id.as_deref().unwrap_or("-"),
        verdict.why()
    );
    cajero_store::operators::insert_audit(conn, &row, Some(why.as_str())).await
}

/// Why rules or a blocklist entry were refused.
#[derive(Debug, thiserror::Error)]
pub enum RiskError {
    /// The rule set does not parse.
    #[error(transparent)]
    Rules(#[from] RuleSetError),
    /// The blocklist value is not one.
    #[error(transparent)]
    Entry(#[from] blocklist::EntryError),
    /// The same value is already on that list.
    #[error("{kind} {value} is already on this blocklist")]
    AlreadyBlocked {
        /// Its kind.
        kind: Kind,
        /// Its compared form.
        value: String,
    },
    /// No such entry in force on that list.
    #[error("no blocklist entry {0} in force on this list")]
    NoSuchEntry(String),
    /// The set is the one in force.
    #[error("the rules are the same as version {0}: nothing to change")]
    Unchanged(i64),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The rule set in force and its version, if one was ever set.
pub async fn current(store: &Store) -> Result<Option<RuleVersionRow>, StoreError> {
    store
        .read(|mut c| Box::pin(async move { rows::current_rules(&mut c).await }))
        .await
}

/// The newest `limit` versions, newest first.
pub async fn versions(store: &Store, limit: i64) -> Result<Vec<RuleVersionRow>, StoreError> {
    store
        .read(move |mut c| Box::pin(async move { rows::rule_versions(&mut c, limit).await }))
        .await
}

/// Puts a new rule set in force: parsed whole (a set that does not parse changes nothing),
/// stored as the next version with its diff, who and why, audited in the same unit.
pub async fn set_rules(
    state: &crate::AppState,
    json: &str,
    acting: &Acting,
) -> Result<RuleVersionRow, RiskError> {
    let set = RuleSet::parse(json)?;
    let clock = state.clock.clone();
    let acting = acting.clone();
    let row = state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                let previous = rows::current_rules(&mut c).await?;
                let (version, old) = match &previous {
                    Some(p) => (
                        p.version,
                        RuleSet::parse(&p.rules).map_err(|e| StoreError::Corrupt {
                            table: "risk_rule_versions",
                            detail: e.to_string(),
                        })?,
                    ),
                    None => (0, RuleSet::default()),
                };
                let diff = set.diff(&old);
                if diff.is_empty() && previous.is_some() {
                    return Err(RiskError::Unchanged(version));
                }
                let row = RuleVersionRow {
                    version: version + 1,
                    rules: set.to_json(),
                    diff: diff.join("\n"),
                    reason: acting.reason.as_str().to_owned(),
                    created_by: acting.name.clone(),
                    created_at: Micros::from(clock.now()).0,
                };
                rows::insert_rule_version(&mut c, &row).await?;
                let audit = audit_row(
                    clock.as_ref(),
                    &acting,
                    "risk.rules_changed",
                    None,
                    Some(format!("version {}", row.version)),
                );
                let reason = format!("{}\n{}", acting.reason.as_str(), row.diff);
                cajero_store::operators::insert_audit(&mut c, &audit, Some(reason.as_str()))
                    .await?;
                Ok(row)
            })
        })
        .await?;
    if let Ok(set) = RuleSet::parse(&row.rules) {
        state.risk.replace(row.version, Arc::new(Engine::new(set)));
    }
    Ok(row)
}

/// Adds `input` (as typed) to `merchant`'s blocklist (`None`: the operator's, for every
/// merchant), audited with the reason.
pub async fn block(
    state: &crate::AppState,
    merchant: Option<MerchantId>,
    kind: Kind,
    input: &str,
    acting: &Acting,
) -> Result<BlockRow, RiskError> {
    let value = blocklist::value(kind, input)?;
    let clock = state.clock.clone();
    let row = BlockRow {
        id: new_id::<cajero_domain::id::BlockEntry>(clock.as_ref()).to_string(),
        merchant_id: merchant.map(|m| m.to_string()),
        kind: kind.as_str().into(),
        value: value.clone(),
        reason: acting.reason.as_str().to_owned(),
        created_by: acting.name.clone(),
        created_at: Micros::from(clock.now()).0,
        removed_by: None,
        removed_at: None,
        removed_reason: None,
    };
    let audit = audit_row(
        clock.as_ref(),
        acting,
        "risk.blocklist_added",
        row.merchant_id.clone(),
        Some(format!("{} {kind} {}", row.id, blocklist::masked(&value))),
    );
    let reason = acting.reason.as_str().to_owned();
    let stored = row.clone();
    state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                if !rows::insert_block(&mut c, &stored).await? {
                    return Err(RiskError::AlreadyBlocked { kind, value });
                }
                cajero_store::operators::insert_audit(&mut c, &audit, Some(reason.as_str()))
                    .await?;
                Ok(())
            })
        })
        .await?;
    Ok(row)
}

/// Removes an entry from `merchant`'s blocklist (`None`: the operator's), audited with the
/// reason. An entry of another list is not found.
pub async fn unblock(
    state: &crate::AppState,
    merchant: Option<MerchantId>,
    id: &str,
    acting: &Acting,
) -> Result<(), RiskError> {
    let _: BlockEntryId = id
        .parse()
        .map_err(|_| RiskError::NoSuchEntry(crate::error::quoted(id)))?;
    let clock = state.clock.clone();
    let merchant = merchant.map(|m| m.to_string());
    let audit = audit_row(
        clock.as_ref(),
        acting,
        "risk.blocklist_removed",
        merchant.clone(),
        Some(id.to_owned()),
    );
    let (id, by, reason) = (
        id.to_owned(),
        acting.name.clone(),
        acting.reason.as_str().to_owned(),
    );
    state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                let at = Micros::from(clock.now()).0;
                if !rows::remove_block(&mut c, &id, merchant.as_deref(), &by, at, &reason).await? {
                    return Err(RiskError::NoSuchEntry(id));
                }
                cajero_store::operators::insert_audit(&mut c, &audit, Some(reason.as_str()))
                    .await?;
                Ok(())
            })
        })
        .await
}

/// `merchant`'s blocklist (`None`: the operator's), entries in force first.
pub async fn blocklist(
    store: &Store,
    merchant: Option<MerchantId>,
) -> Result<Vec<BlockRow>, StoreError> {
    let merchant = merchant.map(|m| m.to_string());
    store
        .read(move |mut c| {
            Box::pin(async move {
                rows::blocklist(&mut c, merchant.as_deref(), BLOCKLIST_PAGE_MAX).await
            })
        })
        .await
}

/// A merchant's decisions in one mode, newest first: every one (the operator's view).
pub async fn decisions(
    store: &Store,
    merchant: MerchantId,
    mode: Mode,
    limit: i64,
) -> Result<Vec<DecisionRow>, StoreError> {
    decisions_where(store, merchant, mode, false, limit).await
}

/// The decisions that held or refused a merchant's operations, newest first: what the
/// merchant is shown. Decisions that only alerted the operator (alert rules, watched counters)
/// are left out, so that what the operator watches is not told to those it watches.
pub async fn merchant_decisions(
    store: &Store,
    merchant: MerchantId,
    mode: Mode,
    limit: i64,
) -> Result<Vec<DecisionRow>, StoreError> {
    decisions_where(store, merchant, mode, true, limit).await
}

async fn decisions_where(
    store: &Store,
    merchant: MerchantId,
    mode: Mode,
    held_or_refused_only: bool,
    limit: i64,
) -> Result<Vec<DecisionRow>, StoreError> {
    let merchant = merchant.to_string();
    store
        .read(move |mut c| {
            Box::pin(async move {
                let live = mode.is_live();
                rows::decisions(&mut c, &merchant, live, None, held_or_refused_only, limit).await
            })
        })
        .await
}

/// Deletes velocity rows older than the longest window, and calendar totals older than the
/// previous month (nothing reads them), at most `limit` of each kind: what the retention
/// worker calls.
pub async fn purge(store: &Store, now: Timestamp, limit: i64) -> Result<u64, StoreError> {
    let before = Micros::from(now).0 - VELOCITY_KEPT_S * 1_000_000;
    let today = cajero_domain::calendar::bogota_date(now);
    let this_month = today.first_of_month();
    let last_month = this_month
        .checked_sub(jiff::Span::new().months(1))
        .unwrap_or(this_month);
    let day_before = format!(
        "d:{}",
        today
            .checked_sub(jiff::Span::new().days(2))
            .unwrap_or(today)
    );
    let month_before = format!("m:{last_month}");
    store
        .write(move |mut c| {
            Box::pin(
                async move { rows::purge(&mut c, before, &day_before, &month_before, limit).await },
            )
        })
        .await
}
