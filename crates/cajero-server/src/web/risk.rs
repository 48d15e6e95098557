//! The merchant's risk page (`/dashboard/risk`): the decisions that held or refused its
//! pay-ins and payouts in the session's mode, each with the checks that fired — where the
//! merchant learns which rule a `risk_denied` refusal was — and its own blocklist, which
//! owners change. The operator's list is the platform's and is not shown.
//!
//! Every change is a [`crate::risk::block`] or [`crate::risk::unblock`] call with the user as
//! the actor and the reason from the form; the service checks the value and audits it. A
//! refusal is shown on the page in the user's language with what was typed kept.

use std::collections::HashSet;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use cajero_domain::id::{PayinId, PayoutId};
use cajero_domain::merchant::Mode;
use cajero_domain::risk::blocklist::{EntryError, Kind};
use cajero_store::risk::{BlockRow, DecisionRow};
use cajero_store::{Micros, StoreError, payins, payouts};
use serde::Deserialize;

use super::i18n::{Locale, Texts};
use super::{Nav, SignedIn, bounded, csrf_ok, internal, message, mode, redirect, render, when};
use crate::AppState;
use crate::operators::{Acting, Reason};
use crate::risk::{self, RiskError};
use crate::users::{Origin, Session};

/// Decisions shown, newest first (a merchant with more reads the newest).
pub const DECISIONS_SHOWN: i64 = 100;

/// The kinds of entry, with their text keys, in the order the form offers them.
const KINDS: [(Kind, &str); 3] = [
    (Kind::Document, "risk.kind_document"),
    (Kind::Phone, "risk.kind_phone"),
    (Kind::Name, "risk.kind_name"),
];

/// A check that fired, as the page shows it.
struct FiredLine {
    rule: String,
    action_key: &'static str,
    reason: String,
}

/// A decision, as the page shows it.
struct DecisionLine {
    at: String,
    flow_key: &'static str,
    object_id: String,
    /// The object's dashboard page, when the object exists (a refused one was never made; a
    /// held pay-in has no page until released).
    link: Option<String>,
    outcome: String,
    outcome_key: &'static str,
    rules_version: Option<i64>,
    fired: Vec<FiredLine>,
}

/// A removed entry's who, when and why.
struct Removal {
    at: String,
    by: String,
    reason: String,
}

/// A blocklist entry, as the page shows it.
struct EntryLine {
    id: String,
    kind_key: &'static str,
    value: String,
    reason: String,
    by: String,
    at: String,
    removed: Option<Removal>,
}

/// What was typed in the add form, kept when it is refused.
#[derive(Debug, Default)]
struct Typed {
    kind: String,
    value: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "dashboard/risk.html")]
struct RiskPage {
    t: &'static Texts,
    nav: Nav,
    decisions: Vec<DecisionLine>,
    entries: Vec<EntryLine>,
    /// The user may add and remove entries.
    may_change: bool,
    kinds: Vec<(&'static str, &'static str)>,
    typed: Typed,
    /// What was just done (`risk.done_added`, `risk.done_removed`).
    done: Option<&'static str>,
    error: Option<&'static str>,
}

/// Who may change the merchant's blocklist: it refuses the merchant's customers' orders, the
/// same authority as refunding or canceling them (owners).
fn may_change(session: &Session) -> bool {
    session.role.may_act_on_orders()
}

/// A dashboard user acting on a blocklist: the user's id and address, their address on the
/// network, and the reason they gave.
fn acting(session: &Session, origin: &Origin, reason: Reason) -> Acting {
    Acting {
        operator_id: Some(session.user.id.clone()),
        name: session.user.email.clone(),
        ip: origin.ip.clone(),
        reason,
    }
}

fn kind_key(kind: &str) -> &'static str {
    KINDS
        .iter()
        .find(|(k, _)| k.as_str() == kind)
        .map_or("risk.kind_other", |(_, key)| key)
}

fn outcome_key(outcome: &str) -> &'static str {
    match outcome {
        "review" => "risk.outcome_review",
        "deny" => "risk.outcome_deny",
        _ => "risk.outcome_allow",
    }
}

fn action_key(action: &str) -> &'static str {
    match action {
        "review" => "risk.action_review",
        "alert" => "risk.action_alert",
        _ => "risk.action_deny",
    }
}

/// A check as stored in a decision's `fired` (the domain's `Fired`, read back).
#[derive(Debug, Deserialize)]
struct StoredFired {
    #[serde(default)]
    rule: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    reason: String,
}

fn decision_line(session: &Session, d: DecisionRow, linked: &HashSet<String>) -> DecisionLine {
    let fired: Vec<StoredFired> = serde_json::from_str(&d.fired).unwrap_or_else(|e| {
        tracing::warn!(decision = %d.id, error = %e, "a stored decision's checks do not parse");
        Vec::new()
    });
    let (flow_key, page) = if d.flow == "payin" {
        ("risk.flow_payin", "payins")
    } else {
        ("risk.flow_payout", "payouts")
    };
    DecisionLine {
        at: when(session, Micros(d.at).to_timestamp()),
        flow_key,
        link: linked
            .contains(&d.object_id)
            .then(|| format!("/dashboard/{page}/{}", d.object_id)),
        object_id: d.object_id,
        outcome_key: outcome_key(&d.outcome),
        outcome: d.outcome,
        rules_version: d.rules_version,
        fired: fired
            .into_iter()
            .map(|f| FiredLine {
                action_key: action_key(&f.action),
                rule: f.rule,
                reason: f.reason,
            })
            .collect(),
    }
}

fn entry_line(session: &Session, e: BlockRow) -> EntryLine {
    let removed = match (e.removed_at, e.removed_by) {
        (Some(at), Some(by)) => Some(Removal {
            at: when(session, Micros(at).to_timestamp()),
            by,
            reason: e.removed_reason.unwrap_or_default(),
        }),
        _ => None,
    };
    EntryLine {
        kind_key: kind_key(&e.kind),
        at: when(session, Micros(e.created_at).to_timestamp()),
        id: e.id,
        value: e.value,
        reason: e.reason,
        by: e.created_by,
        removed,
    }
}

/// The held operations of `decisions` that exist as objects of the merchant in `mode` (a
/// held payout always does; a held pay-in once released): those get a link.
async fn existing_objects(
    state: &AppState,
    session: &Session,
    mode: Mode,
    decisions: &[DecisionRow],
) -> Result<HashSet<String>, StoreError> {
    let held: Vec<(String, String)> = decisions
        .iter()
        .filter(|d| d.outcome == "review")
        .map(|d| (d.flow.clone(), d.object_id.clone()))
        .collect();
    if held.is_empty() {
        return Ok(HashSet::new());
    }
    let merchant = session.merchant_id;
    state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                let mut found = HashSet::new();
                for (flow, id) in held {
                    let exists = match flow.as_str() {
                        "payout" => match id.parse::<PayoutId>() {
                            Ok(p) => payouts::get(&mut c, merchant, mode, p).await?.is_some(),
                            Err(_) => false,
                        },
                        "payin" => match id.parse::<PayinId>() {
                            Ok(p) => payins::get(&mut c, merchant, mode, p).await?.is_some(),
                            Err(_) => false,
                        },
                        _ => false,
                    };
                    if exists {
                        found.insert(id);
                    }
                }
                Ok(found)
            })
        })
        .await
}

/// The page, with what was just done or refused.
async fn risk_response(
    state: &AppState,
    session: &Session,
    locale: Locale,
    status: StatusCode,
    done: Option<&'static str>,
    refused: Option<(&'static str, Typed)>,
) -> Response {
    let mode = mode(session);
    let decisions =
        match risk::merchant_decisions(&state.store, session.merchant_id, mode, DECISIONS_SHOWN)
            .await
        {
            Ok(d) => d,
            Err(e) => return internal(locale, e),
        };
    let linked = match existing_objects(state, session, mode, &decisions).await {
        Ok(l) => l,
        Err(e) => return internal(locale, e),
    };
    let entries = match risk::blocklist(&state.store, Some(session.merchant_id)).await {
        Ok(e) => e,
        Err(e) => return internal(locale, e),
    };
    let (error, typed) = match refused {
        Some((key, typed)) => (Some(key), typed),
        None => (None, Typed::default()),
    };
    render(
        status,
        &RiskPage {
            t: locale.texts(),
            nav: Nav::of(session),
            decisions: decisions
                .into_iter()
                .map(|d| decision_line(session, d, &linked))
                .collect(),
            entries: entries
                .into_iter()
                .map(|e| entry_line(session, e))
                .collect(),
            may_change: may_change(session),
            kinds: KINDS.iter().map(|(k, key)| (k.as_str(), *key)).collect(),
            typed,
            done,
            error,
        },
    )
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Shown {
    /// `added` or `removed`.
    #[serde(default)]
    done: Option<String>,
}

/// `GET /dashboard/risk`.
pub(super) async fn risk_page(
    State(state): State<AppState>,
    SignedIn {
        session, locale, ..
    }: SignedIn,
    Query(shown): Query<Shown>,
) -> Response {
    let done = match shown.done.as_deref() {
        Some("added") => Some("risk.done_added"),
        Some("removed") => Some("risk.done_removed"),
        _ => None,
    };
    risk_response(&state, &session, locale, StatusCode::OK, done, None).await
}

/// The status and text key of a refused change; `None`: not the user's doing.
fn refusal(error: &RiskError) -> Option<(StatusCode, &'static str)> {
    let invalid = StatusCode::UNPROCESSABLE_ENTITY;
    match error {
        RiskError::Entry(EntryError::Kind(_)) => Some((invalid, "risk.bad_kind")),
        RiskError::Entry(EntryError::Document(_)) => Some((invalid, "risk.bad_document")),
        RiskError::Entry(EntryError::Phone(_)) => Some((invalid, "risk.bad_phone")),
        RiskError::Entry(EntryError::Name) => Some((invalid, "risk.bad_name")),
        RiskError::Entry(EntryError::Counter(_)) => Some((invalid, "risk.bad_counter")),
        RiskError::AlreadyBlocked { .. } => Some((StatusCode::CONFLICT, "risk.already_blocked")),
        RiskError::NoSuchEntry(_) => Some((StatusCode::NOT_FOUND, "risk.no_such_entry")),
        RiskError::Rules(_) | RiskError::Unchanged(_) | RiskError::Store(_) => None,
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct BlockForm {
    #[serde(default)]
    csrf: String,
    /// `document`, `name` or `phone`.
    #[serde(default)]
    kind: String,
    /// As typed (`CC:79.876.543`, `300 123 4567`, `Luis Pérez`).
    #[serde(default)]
    value: String,
    #[serde(default)]
    reason: String,
}

/// `POST /dashboard/risk/blocklist`: an owner adds a value to the merchant's blocklist.
pub(super) async fn block(
    State(state): State<AppState>,
    SignedIn {
        request,
        session,
        locale,
    }: SignedIn,
    Form(form): Form<BlockForm>,
) -> Response {
    if !csrf_ok(&session.row.csrf_token, &form.csrf) {
        return message(StatusCode::FORBIDDEN, locale, "error.csrf");
    }
    if !may_change(&session) {
        return message(StatusCode::FORBIDDEN, locale, "error.forbidden");
    }
    let typed = Typed {
        kind: bounded(&form.kind).to_owned(),
        value: bounded(&form.value).to_owned(),
        reason: bounded(&form.reason).to_owned(),
    };
    let invalid = StatusCode::UNPROCESSABLE_ENTITY;
    let Ok(reason) = Reason::parse(&form.reason) else {
        let refused = ("risk.reason_required", typed);
        return risk_response(&state, &session, locale, invalid, None, Some(refused)).await;
    };
    // A merchant's list is of its own customers: documents, phones and names (counters are
    // the operator's to watch).
    let Some(kind) = typed
        .kind
        .parse::<Kind>()
        .ok()
        .filter(|k| KINDS.iter().any(|(offered, _)| offered == k))
    else {
        let refused = ("risk.bad_kind", typed);
        return risk_response(&state, &session, locale, invalid, None, Some(refused)).await;
    };
    let by = acting(&session, &request.origin, reason);
    match risk::block(&state, Some(session.merchant_id), kind, &typed.value, &by).await {
        Ok(_) => redirect("/dashboard/risk?done=added"),
        Err(e) => match refusal(&e) {
            Some((status, key)) => {
                let refused = Some((key, typed));
                risk_response(&state, &session, locale, status, None, refused).await
            }
            None => internal(locale, e),
        },
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct UnblockForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

/// `POST /dashboard/risk/blocklist/{id}/remove`: an owner takes an entry of the merchant's own
/// list out of force (another list's entry is not found).
pub(super) async fn unblock(
    State(state): State<AppState>,
    SignedIn {
        request,
        session,
        locale,
    }: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<UnblockForm>,
) -> Response {
    if !csrf_ok(&session.row.csrf_token, &form.csrf) {
        return message(StatusCode::FORBIDDEN, locale, "error.csrf");
    }
    if !may_change(&session) {
        return message(StatusCode::FORBIDDEN, locale, "error.forbidden");
    }
    let Ok(reason) = Reason::parse(&form.reason) else {
        let (status, refused) = (
            StatusCode::UNPROCESSABLE_ENTITY,
            ("risk.reason_required", Typed::default()),
        );
        return risk_response(&state, &session, locale, status, None, Some(refused)).await;
    };
    let by = acting(&session, &request.origin, reason);
    match risk::unblock(&state, Some(session.merchant_id), bounded(&id), &by).await {
        Ok(()) => redirect("/dashboard/risk?done=removed"),
        Err(e) => match refusal(&e) {
            Some((status, key)) => {
                let refused = Some((key, Typed::default()));
                risk_response(&state, &session, locale, status, None, refused).await
            }
            None => internal(locale, e),
        },
    }
}
