//! The console's risk page (`/console/risk`): the rule set in force and its editor, the
//! versions with who, when, why and the diff, and the operator's blocklist; and the pay-ins
//! held for review (on the held page) with their release and refusal. Every action is a
//! [`crate::risk`] or [`crate::payins`] service call with the operator's reason.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use cajero_domain::risk::blocklist::Kind;

use super::{ActionForm, LIST_ROWS, Nav, Operator, acting, done, failure, refused, render, when};
use crate::AppState;

/// Versions shown on the page.
const VERSIONS_SHOWN: i64 = 20;

#[derive(Template)]
#[template(path = "console/risk.html")]
struct RiskPage {
    nav: Nav,
    version: i64,
    rules: String,
    versions: Vec<VersionLine>,
    entries: Vec<EntryLine>,
}

struct VersionLine {
    version: i64,
    by: String,
    at: String,
    reason: String,
    diff: String,
}

struct EntryLine {
    id: String,
    kind: String,
    value: String,
    reason: String,
    by: String,
    at: String,
    removed: String,
}

/// A blocklist entry as the pages show it.
fn entry_line(e: cajero_store::risk::BlockRow) -> EntryLine {
    EntryLine {
        removed: match (&e.removed_at, &e.removed_by) {
            (Some(at), Some(by)) => format!(
                "removed {} by {by}: {}",
                when(*at),
                e.removed_reason.clone().unwrap_or_default()
            ),
            _ => String::new(),
        },
        id: e.id,
        kind: e.kind,
        value: e.value,
        reason: e.reason,
        by: e.created_by,
        at: when(e.created_at),
    }
}

pub(super) async fn risk_page(
    State(state): State<AppState>,
    Operator { session, .. }: Operator,
) -> Response {
    let versions = crate::risk::versions(&state.store, VERSIONS_SHOWN).await;
    let entries = crate::risk::blocklist(&state.store, None).await;
    match (versions, entries) {
        (Ok(versions), Ok(entries)) => render(
            StatusCode::OK,
            &RiskPage {
                nav: Nav::of(&session),
                version: versions.first().map_or(0, |v| v.version),
                rules: versions
                    .first()
                    .map_or_else(|| "{\"rules\": []}".to_owned(), |v| v.rules.clone()),
                versions: versions
                    .into_iter()
                    .map(|v| VersionLine {
                        version: v.version,
                        by: v.created_by,
                        at: when(v.created_at),
                        reason: v.reason,
                        diff: v.diff,
                    })
                    .collect(),
                entries: entries.into_iter().map(entry_line).collect(),
            },
        ),
        (Err(e), _) | (_, Err(e)) => failure(e),
    }
}

pub(super) async fn set_rules(
    State(state): State<AppState>,
    Operator { request, session }: Operator,
    Form(form): Form<ActionForm>,
) -> Response {
    let back = "/console/risk";
    let acting = match acting(&session, &request.origin, &form, back) {
        Ok(a) => a,
        Err(r) => return r,
    };
    match crate::risk::set_rules(&state, &form.rules, &acting).await {
        Ok(v) => done(
            &session,
            Ok::<_, String>(()),
            &format!("Version {} is in force:\n{}", v.version, v.diff),
            back,
        ),
        Err(crate::risk::RiskError::Store(e)) => failure(e),
        Err(e) => refused(&session, e.to_string(), back),
    }
}

pub(super) async fn block(
    State(state): State<AppState>,
    Operator { request, session }: Operator,
    Form(form): Form<ActionForm>,
) -> Response {
    let back = "/console/risk";
    let acting = match acting(&session, &request.origin, &form, back) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let kind: Kind = match form.kind.parse() {
        Ok(k) => k,
        Err(e) => return refused(&session, format!("{e}"), back),
    };
    match crate::risk::block(&state, None, kind, &form.value, &acting).await {
        Ok(e) => done(
            &session,
            Ok::<_, String>(()),
            &format!("{} blocks {} {} for every merchant.", e.id, e.kind, e.value),
            back,
        ),
        Err(crate::risk::RiskError::Store(e)) => failure(e),
        Err(e) => refused(&session, e.to_string(), back),
    }
}

pub(super) async fn unblock(
    State(state): State<AppState>,
    Operator { request, session }: Operator,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Response {
    let back = "/console/risk";
    let acting = match acting(&session, &request.origin, &form, back) {
        Ok(a) => a,
        Err(r) => return r,
    };
    match crate::risk::unblock(&state, None, &id, &acting).await {
        Ok(()) => done(
            &session,
            Ok::<_, String>(()),
            &format!("{id} is removed from the blocklist."),
            back,
        ),
        Err(crate::risk::RiskError::Store(e)) => failure(e),
        Err(e) => refused(&session, e.to_string(), back),
    }
}

/// A held pay-in as the held page shows it.
pub(super) struct HeldPayinLine {
    pub(super) id: String,
    pub(super) merchant: String,
    pub(super) mode: &'static str,
    pub(super) amount: String,
    pub(super) created: String,
    pub(super) why: String,
}

/// The pay-ins on hold, with why (their decision).
pub(super) async fn held_payins(state: &AppState) -> Result<Vec<HeldPayinLine>, String> {
    let holds = crate::payins::open_holds(state, LIST_ROWS)
        .await
        .map_err(|e| e.to_string())?;
    let mut lines = Vec::with_capacity(holds.len());
    for h in holds {
        let object = crate::payins::held_json(&h, "").map_err(|e| e.message)?;
        let id = h.id.clone();
        let decisions = state
            .store
            .read(move |mut c| {
                Box::pin(async move { cajero_store::risk::decisions_of(&mut c, &id).await })
            })
            .await
            .map_err(|e| e.to_string())?;
        lines.push(HeldPayinLine {
            why: decisions
                .last()
                .map(|d| format!("{}: {}", d.id, d.fired))
                .unwrap_or_default(),
            id: h.id,
            merchant: h.merchant_id,
            mode: if h.livemode { "live" } else { "test" },
            amount: format!("{} COP", object["amount"]),
            created: when(h.created_at),
        });
    }
    Ok(lines)
}

pub(super) async fn release_payin(
    State(state): State<AppState>,
    Operator { request, session }: Operator,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Response {
    let back = "/console/payouts/held";
    let acting = match acting(&session, &request.origin, &form, back) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let result = crate::payins::release_held(&state, &id, &acting).await;
    done(
        &session,
        result,
        &format!("Pay-in {id} is released: its voucher is issued."),
        back,
    )
}

pub(super) async fn refuse_payin(
    State(state): State<AppState>,
    Operator { request, session }: Operator,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Response {
    let back = "/console/payouts/held";
    let acting = match acting(&session, &request.origin, &form, back) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let result = crate::payins::refuse_held(&state, &id, &acting).await;
    done(
        &session,
        result,
        &format!("Pay-in {id} is refused: canceled, no voucher will be issued."),
        back,
    )
}
