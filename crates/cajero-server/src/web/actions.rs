//! What the dashboard does to orders, and every order's timeline.
//!
//! The actions call the services the `/v1` API calls ([`crate::refunds::create`],
//! [`crate::payouts::cancel`], [`crate::webhook::endpoints::resend`]), as the signed-in
//! merchant in the session's mode ([`Caller::dashboard`]), under the key of the form they were
//! sent from ([`IdempotencyKey::of_form`]): a form sent twice acts once. Each needs the
//! owner's role (resending an event: a developer's too), a confirmation box, and is audited.
//! The outcome is shown on the order's page after a redirect (`?done=…` or `?refused=…`, each
//! a known text key, never free text from the request).

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use cajero_domain::id::{EventId, MerchantId, PayinId, PayoutId};
use cajero_store::{Conn, Micros, StoreError, events, payins, payouts, refunds};
use serde::Deserialize;
use serde_json::{Value, json};

use super::i18n::Locale;
use super::{Request, csrf_ok, internal, message, mode, redirect, signed_in, when};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::idempotency::{Answer, IdempotencyKey};
use crate::users::{self, Session};
use crate::webhook::endpoints::{self, ResendParams};

/// Events shown on an order's timeline (an order has about ten; more is a retry storm).
pub const TIMELINE_EVENTS_MAX: i64 = 100;
/// Characters of a webhook receiver's answer shown.
pub const DELIVERY_ANSWER_CHARS_MAX: usize = 512;

/// The outcome keys a page may be asked to show after an action (`?done=…`).
pub const DONE_KEYS: &[&str] = &[
    "action.refunded",
    "action.canceled",
    "action.resent",
    "action.test_sent",
];

/// The text shown for a refusal the services gave (by its stable error code); a code without
/// a text of its own shows `action.refused` with the code.
pub const REFUSAL_KEYS: &[(&str, &str)] = &[
    (
        "refund_exceeds_remaining",
        "refusal.refund_exceeds_remaining",
    ),
    ("payin_fully_refunded", "refusal.refund_exceeds_remaining"),
    ("payin_not_refundable", "refusal.payin_not_refundable"),
    ("amount_invalid", "refusal.amount_invalid"),
    (
        "refund_insufficient_balance",
        "refusal.insufficient_balance",
    ),
    ("insufficient_balance", "refusal.insufficient_balance"),
    ("risk_denied", "refusal.risk_denied"),
    ("parameter_missing", "refusal.parameter_missing"),
    ("parameter_invalid", "refusal.parameter_invalid"),
    ("document_invalid", "refusal.parameter_invalid"),
    ("name_invalid", "refusal.parameter_invalid"),
    ("payout_not_cancelable", "refusal.payout_not_cancelable"),
    ("network_unavailable", "refusal.network_unavailable"),
    ("idempotency_request_in_progress", "refusal.in_progress"),
    ("event_missing", "error.not_found"),
    ("confirm_needed", "refusal.confirm_needed"),
    ("test_mode_only", "refusal.test_mode_only"),
];

/// The text key for a refusal's code.
pub fn refusal_key(code: &str) -> &'static str {
    REFUSAL_KEYS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, k)| *k)
        .unwrap_or("action.refused")
}

/// What a page shows after an action, read from its query.
#[derive(Debug, Default, Deserialize)]
pub struct Outcome {
    /// A [`DONE_KEYS`] key.
    pub done: Option<String>,
    /// A refusal's code.
    pub refused: Option<String>,
}

impl Outcome {
    /// The text key to show as a notice, if the query named a known one.
    pub fn notice(&self) -> Option<&'static str> {
        let done = self.done.as_deref()?;
        DONE_KEYS.iter().copied().find(|k| *k == done)
    }

    /// The text key to show as an error, and the code when it has no text of its own.
    pub fn refusal(&self) -> Option<(&'static str, String)> {
        let code = self.refused.as_deref()?;
        let code: String = code
            .chars()
            .filter(|c| c.is_ascii_lowercase() || *c == '_')
            .take(64)
            .collect();
        let key = refusal_key(&code);
        let shown = if key == "action.refused" {
            code
        } else {
            String::new()
        };
        Some((key, shown))
    }
}

// ---------------------------------------------------------------------------------------------
// Timelines

/// An event on an order's timeline, with where it was delivered.
#[derive(Debug)]
pub struct TimelineEvent {
    /// `evt_…`.
    pub id: String,
    /// In the user's time zone.
    pub when: String,
    /// `payin.paid`, …
    pub kind: String,
    /// One per endpoint it was meant for.
    pub deliveries: Vec<DeliveryLine>,
}

/// One webhook delivery of an event.
#[derive(Debug)]
pub struct DeliveryLine {
    /// The endpoint's URL.
    pub url: String,
    /// When the last attempt started, in the user's time zone.
    pub last: String,
    /// pending, succeeded, failed, skipped, canceled.
    pub status: String,
    /// Attempts made, all rounds.
    pub attempts: i64,
    /// The receiver's last answer (status and the start of its body), or why none came.
    pub answer: String,
}

/// The events of `objects` (an order and its refunds), oldest first, each with its webhook
/// deliveries and the receiver's last answer.
pub async fn timeline(
    conn: &mut Conn<'_>,
    merchant: MerchantId,
    livemode: bool,
    objects: &[String],
) -> Result<Vec<(events::EventRecord, Vec<events::DeliveryRow>)>, StoreError> {
    let mut found = Vec::new();
    for object in objects {
        found.extend(
            events::events_of_object(conn, merchant, livemode, object, TIMELINE_EVENTS_MAX).await?,
        );
    }
    found.sort_by_key(|e| e.id);
    found.truncate(usize::try_from(TIMELINE_EVENTS_MAX).unwrap_or(100));
    let mut out = Vec::with_capacity(found.len());
    for event in found {
        let deliveries = events::deliveries_of_event(conn, merchant, &event.id.to_string()).await?;
        out.push((event, deliveries));
    }
    Ok(out)
}

/// The timeline's rows for a page.
pub fn timeline_rows(
    session: &Session,
    found: Vec<(events::EventRecord, Vec<events::DeliveryRow>)>,
) -> Vec<TimelineEvent> {
    found
        .into_iter()
        .map(|(event, deliveries)| TimelineEvent {
            id: event.id.to_string(),
            when: when(session, event.created_at),
            kind: event.event_type.as_str().to_string(),
            deliveries: deliveries
                .into_iter()
                .map(|d| {
                    let answer = match (d.last_status_code, d.last_error) {
                        (Some(code), _) => {
                            let body: String = d
                                .last_response
                                .unwrap_or_default()
                                .chars()
                                .take(DELIVERY_ANSWER_CHARS_MAX)
                                .collect();
                            format!("HTTP {code} {body}")
                        }
                        (None, Some(error)) => error,
                        (None, None) => String::new(),
                    };
                    DeliveryLine {
                        last: d
                            .last_attempt_at
                            .map(|t| when(session, Micros(t).to_timestamp()))
                            .unwrap_or_default(),
                        url: d.url,
                        status: d.status,
                        attempts: d.attempt_count,
                        answer,
                    }
                })
                .collect(),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Actions

/// The session of a user allowed to act on orders, with a valid CSRF token.
async fn acting(
    state: &AppState,
    request: &Request,
    csrf: &str,
    allowed: fn(users::Role) -> bool,
) -> Result<(Session, Locale), Response> {
    let session = signed_in(state, request).await?;
    let locale = request.locale(Some(&session));
    if !csrf_ok(&session.row.csrf_token, csrf) {
        return Err(message(StatusCode::FORBIDDEN, locale, "error.csrf"));
    }
    if !allowed(session.role) {
        return Err(message(StatusCode::FORBIDDEN, locale, "error.forbidden"));
    }
    Ok((session, locale))
}

/// Where an action goes back to, with its outcome.
fn back(page: &str, outcome: Result<&'static str, &str>) -> Response {
    match outcome {
        Ok(done) => redirect(&format!("{page}?done={done}")),
        Err(code) => redirect(&format!("{page}?refused={code}")),
    }
}

/// The outcome of a service call: the object answered, or the refusal's code.
fn answered(result: Result<Answer, ApiError>) -> Result<Value, Result<String, ApiError>> {
    match result {
        Ok(answer) => match answer.refusal() {
            Some((code, _)) => Err(Ok(code)),
            None => answer.object().ok_or_else(|| Ok("action_refused".into())),
        },
        Err(e) if e.status.is_client_error() => Err(Ok(e.code.to_string())),
        Err(e) => Err(Err(e)),
    }
}

/// The order a store read found, or the page to answer instead (404 when it is not the
/// session's merchant's).
#[allow(clippy::result_large_err)] // The error is the page to answer, made once per request.
fn found<T>(locale: Locale, read: Result<Option<T>, StoreError>) -> Result<T, Response> {
    match read {
        Ok(Some(order)) => Ok(order),
        Ok(None) => Err(message(StatusCode::NOT_FOUND, locale, "error.not_found")),
        Err(e) => Err(internal(locale, e)),
    }
}

/// What an action did, told on the page it came from: audited under `action` (about the
/// answered object's id) and shown as `done`; a refusal shown by its code.
async fn conclude(
    state: &AppState,
    (session, request, locale): (&Session, &Request, Locale),
    page: &str,
    result: Result<Answer, ApiError>,
    action: &str,
    done: &'static str,
) -> Response {
    match answered(result) {
        Ok(object) => {
            let id = object.get("id").and_then(Value::as_str).unwrap_or_default();
            if let Err(e) = audit(state, session, request, action, id).await {
                return internal(locale, e);
            }
            back(page, Ok(done))
        }
        Err(Ok(code)) => back(page, Err(&code)),
        Err(Err(e)) => failed(locale, &e),
    }
}

/// A service failure that is not the user's doing (a store or network fault).
fn failed(locale: Locale, e: &ApiError) -> Response {
    internal(
        locale,
        format!(
            "{} {}: {} ({})",
            e.status,
            e.code,
            e.message,
            e.log_detail.as_deref().unwrap_or("")
        ),
    )
}

async fn audit(
    state: &AppState,
    session: &Session,
    request: &Request,
    action: &str,
    object: &str,
) -> Result<(), users::UsersError> {
    users::audit(
        &state.store,
        state.clock.as_ref(),
        session,
        action,
        Some(object),
        &request.origin,
    )
    .await
}

/// The refund form of a pay-in's page.
#[derive(Debug, Deserialize)]
pub struct RefundForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    idem: String,
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    document_type: String,
    #[serde(default)]
    document_number: String,
}

/// `POST /dashboard/payins/{id}/refund`: refunds a paid pay-in through the refunds service.
pub async fn refund_payin(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<String>,
    Form(form): Form<RefundForm>,
) -> Response {
    let request = Request::of(&state, &parts);
    let (session, locale) =
        match acting(&state, &request, &form.csrf, users::Role::may_act_on_orders).await {
            Ok(s) => s,
            Err(response) => return response,
        };
    let Ok(id) = id.parse::<PayinId>() else {
        return message(StatusCode::NOT_FOUND, locale, "error.not_found");
    };
    let page = format!("/dashboard/payins/{id}");
    let (merchant, mode) = (session.merchant_id, mode(&session));
    let read = state
        .store
        .read(move |mut c| Box::pin(async move { payins::get(&mut c, merchant, mode, id).await }))
        .await;
    let payin = match found(locale, read) {
        Ok(p) => p,
        Err(response) => return response,
    };
    if form.confirm != "yes" {
        return back(&page, Err("confirm_needed"));
    }
    let mut body = serde_json::Map::new();
    body.insert("method".into(), json!(super::bounded(form.method.trim())));
    let amount = form.amount.trim().replace(['.', ',', ' ', '$'], "");
    if !amount.is_empty() {
        match amount.parse::<i64>() {
            Ok(a) => body.insert("amount".into(), json!(a)),
            Err(_) => return back(&page, Err("amount_invalid")),
        };
    }
    let reason = super::bounded(form.reason.trim());
    if !reason.is_empty() {
        body.insert("reason".into(), json!(reason));
    }
    if form.method == "cash_pickup" {
        body.insert(
            "beneficiary".into(),
            json!({
                "name": super::bounded(form.name.trim()),
                "document": {
                    "type": super::bounded(form.document_type.trim()),
                    "number": super::bounded(form.document_number.trim()),
                },
            }),
        );
    }
    let caller = Caller::dashboard(session.merchant_id, mode);
    let key = IdempotencyKey::of_form(&state, &form.idem);
    let result = crate::refunds::create(&state, caller, key, payin, Value::Object(body)).await;
    let who = (&session, &request, locale);
    conclude(
        &state,
        who,
        &page,
        result,
        "refund.created",
        "action.refunded",
    )
    .await
}

/// A form that only confirms.
#[derive(Debug, Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    idem: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /dashboard/payouts/{id}/cancel`: cancels a payout not yet collected (its code at the
/// network first), through the payouts service.
pub async fn cancel_payout(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> Response {
    let request = Request::of(&state, &parts);
    let (session, locale) =
        match acting(&state, &request, &form.csrf, users::Role::may_act_on_orders).await {
            Ok(s) => s,
            Err(response) => return response,
        };
    let Ok(id) = id.parse::<PayoutId>() else {
        return message(StatusCode::NOT_FOUND, locale, "error.not_found");
    };
    let page = format!("/dashboard/payouts/{id}");
    let (merchant, mode) = (session.merchant_id, mode(&session));
    let read = state
        .store
        .read(move |mut c| Box::pin(async move { payouts::get(&mut c, merchant, mode, id).await }))
        .await;
    let payout = match found(locale, read) {
        Ok(p) => p,
        Err(response) => return response,
    };
    if form.confirm != "yes" {
        return back(&page, Err("confirm_needed"));
    }
    let caller = Caller::dashboard(session.merchant_id, mode);
    let key = IdempotencyKey::of_form(&state, &form.idem);
    let result = crate::payouts::cancel(&state, caller, key, payout).await;
    let who = (&session, &request, locale);
    conclude(
        &state,
        who,
        &page,
        result,
        "payout.canceled",
        "action.canceled",
    )
    .await
}

/// The resend form of a timeline's event.
#[derive(Debug, Deserialize)]
pub struct ResendForm {
    #[serde(default)]
    csrf: String,
    /// The page to go back to (a pay-in's or payout's, checked).
    #[serde(default)]
    back: String,
}

/// `POST /dashboard/events/{id}/resend`: delivers the event again to every endpoint it was
/// meant for, through the webhook endpoints service. Owners and developers.
pub async fn resend_event(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<String>,
    Form(form): Form<ResendForm>,
) -> Response {
    let request = Request::of(&state, &parts);
    let (session, locale) = match acting(
        &state,
        &request,
        &form.csrf,
        users::Role::may_manage_developer_settings,
    )
    .await
    {
        Ok(s) => s,
        Err(response) => return response,
    };
    let Ok(id) = id.parse::<EventId>() else {
        return message(StatusCode::NOT_FOUND, locale, "error.not_found");
    };
    let page = back_page(&form.back);
    let (merchant, livemode) = (session.merchant_id, session.row.livemode);
    let now = state.clock.now();
    let resent = state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                endpoints::resend(&mut c, merchant, livemode, id, ResendParams::default(), now)
                    .await
                    .map_err(ApiError::from)
            })
        })
        .await;
    match resent {
        Ok(_) => {
            if let Err(e) = audit(&state, &session, &request, "event.resent", &id.to_string()).await
            {
                return internal(locale, e);
            }
            back(&page, Ok("action.resent"))
        }
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            message(StatusCode::NOT_FOUND, locale, "error.not_found")
        }
        Err(e) if e.status.is_client_error() => back(&page, Err(e.code)),
        Err(e) => failed(locale, &e),
    }
}

/// A pay-in's or payout's page named by a form, else the home page (never another site).
fn back_page(given: &str) -> String {
    let ok = |prefix: &str| {
        given.strip_prefix(prefix).is_some_and(|id| {
            !id.is_empty()
                && id.len() <= 64
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
    };
    if ok("/dashboard/payins/") || ok("/dashboard/payouts/") {
        given.to_string()
    } else {
        "/dashboard".to_string()
    }
}

/// The refunds of a pay-in, newest first (a pay-in has few: each takes some of its amount).
pub async fn refunds_of(
    conn: &mut Conn<'_>,
    merchant: MerchantId,
    mode: cajero_domain::merchant::Mode,
    payin: PayinId,
) -> Result<Vec<refunds::RefundRecord>, StoreError> {
    let page = cajero_store::page::PageRequest {
        limit: 100,
        cursor: cajero_store::page::Cursor::Newest,
    };
    let filter = refunds::RefundFilter {
        payin: Some(payin),
        status: None,
    };
    Ok(refunds::list(conn, merchant, mode, filter, &page)
        .await?
        .data)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_key_has_a_text_in_every_language() {
        for locale in Locale::ALL {
            let t = locale.texts();
            for key in DONE_KEYS
                .iter()
                .copied()
                .chain(REFUSAL_KEYS.iter().map(|(_, k)| *k))
                .chain(["action.refused"])
            {
                assert!(t.has(key), "{} lacks {key}", locale.tag());
            }
        }
    }

    #[test]
    fn outcomes_show_only_known_keys_and_tame_codes() {
        let o = Outcome {
            done: Some("<script>".into()),
            refused: Some("Weird <b>code</b>".into()),
        };
        assert_eq!(o.notice(), None);
        assert_eq!(o.refusal(), Some(("action.refused", "eirdbcodeb".into())));
        let o = Outcome {
            done: Some("action.refunded".into()),
            refused: Some("refund_exceeds_remaining".into()),
        };
        assert_eq!(o.notice(), Some("action.refunded"));
        assert_eq!(
            o.refusal(),
            Some(("refusal.refund_exceeds_remaining", String::new()))
        );
    }

    #[test]
    fn actions_go_back_only_to_an_order_page() {
        assert_eq!(
            back_page("/dashboard/payins/pi_01AB"),
            "/dashboard/payins/pi_01AB"
        );
        assert_eq!(
            back_page("/dashboard/payouts/po_01AB"),
            "/dashboard/payouts/po_01AB"
        );
        assert_eq!(back_page("https://evil.example/"), "/dashboard");
        assert_eq!(back_page("/dashboard/payins/../keys"), "/dashboard");
        assert_eq!(back_page("/dashboard/payins/"), "/dashboard");
    }
}
