//! One webhook endpoint's page: its settings, its delivery log (every attempt with the
//! receiver's answer) and a test delivery (test mode: an event of the chosen type, with a
//! `{"object": "test"}` object, to this endpoint only, through the same outbox and signing as
//! every event).

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use cajero_domain::id::{EventId, WebhookEndpointId};
use cajero_domain::webhook::EventType;
use cajero_store::{Micros, events, webhooks};
use serde::Deserialize;
use serde_json::json;

use super::actions::Outcome;
use super::i18n::Texts;
use super::{Nav, SignedIn, csrf_ok, internal, message, redirect, render, when};
use crate::AppState;
use crate::users;

/// Attempts shown in an endpoint's delivery log (newest first).
pub const LOG_ROWS: i64 = 50;
/// Characters of a receiver's answer shown per attempt.
pub const ANSWER_CHARS_MAX: usize = 300;

/// An attempt of the delivery log.
#[derive(Debug)]
struct LogLine {
    when: String,
    event_id: String,
    event_type: String,
    attempt: i64,
    duration_ms: i64,
    outcome: String,
    ok: bool,
    answer: String,
}

#[derive(Template)]
#[template(path = "dashboard/webhook.html")]
struct EndpointPage {
    t: &'static Texts,
    nav: Nav,
    id: String,
    url: String,
    description: String,
    status: String,
    events: String,
    created: String,
    log: Vec<LogLine>,
    may_manage: bool,
    livemode: bool,
    types: Vec<&'static str>,
    notice: Option<&'static str>,
    refusal: Option<(&'static str, String)>,
}

/// `GET /dashboard/webhooks/{id}`.
pub(super) async fn endpoint_page(
    State(state): State<AppState>,
    SignedIn {
        session, locale, ..
    }: SignedIn,
    Path(id): Path<String>,
    Query(outcome): Query<Outcome>,
) -> Response {
    let Ok(id) = id.parse::<WebhookEndpointId>() else {
        return message(StatusCode::NOT_FOUND, locale, "error.not_found");
    };
    let (merchant, livemode) = (session.merchant_id, session.row.livemode);
    let found = state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                let Some(endpoint) = webhooks::get_endpoint(&mut c, merchant, livemode, id).await?
                else {
                    return Ok(None);
                };
                let log = events::attempts_of_endpoint(&mut c, merchant, &id.to_string(), LOG_ROWS)
                    .await?;
                Ok::<_, cajero_store::StoreError>(Some((endpoint, log)))
            })
        })
        .await;
    let (endpoint, log) = match found {
        Ok(Some(found)) => found,
        Ok(None) => return message(StatusCode::NOT_FOUND, locale, "error.not_found"),
        Err(e) => return internal(locale, e),
    };
    render(
        StatusCode::OK,
        &EndpointPage {
            t: locale.texts(),
            nav: Nav::of(&session),
            id: endpoint.id.to_string(),
            url: endpoint.url.clone(),
            description: endpoint.description.clone().unwrap_or_default(),
            status: endpoint.status.as_str().to_owned(),
            events: endpoint
                .enabled_events
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            created: when(&session, endpoint.created_at),
            log: log
                .into_iter()
                .map(|a| LogLine {
                    when: when(&session, Micros(a.started_at).to_timestamp()),
                    event_id: a.event_id,
                    event_type: a.event_type,
                    attempt: a.attempt,
                    duration_ms: a.duration_ms,
                    ok: a.status_code.is_some_and(|c| (200..300).contains(&c)),
                    outcome: match (a.status_code, a.error) {
                        (Some(code), _) => format!("HTTP {code}"),
                        (None, Some(error)) => error,
                        (None, None) => String::new(),
                    },
                    answer: a.response_body.chars().take(ANSWER_CHARS_MAX).collect(),
                })
                .collect(),
            may_manage: session.role.may_manage_developer_settings(),
            livemode,
            types: EventType::ALL.iter().map(|t| t.as_str()).collect(),
            notice: outcome.notice(),
            refusal: outcome.refusal(),
        },
    )
}

#[derive(Debug, Deserialize)]
pub(super) struct TestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default, rename = "type")]
    event_type: String,
}

/// `POST /dashboard/webhooks/{id}/test` (developers and owners, test mode).
pub(super) async fn send_test(
    State(state): State<AppState>,
    SignedIn {
        request,
        session,
        locale,
    }: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<TestForm>,
) -> Response {
    if !csrf_ok(&session.row.csrf_token, &form.csrf) {
        return message(StatusCode::FORBIDDEN, locale, "error.csrf");
    }
    if !session.role.may_manage_developer_settings() {
        return message(StatusCode::FORBIDDEN, locale, "error.forbidden");
    }
    let Ok(id) = id.parse::<WebhookEndpointId>() else {
        return message(StatusCode::NOT_FOUND, locale, "error.not_found");
    };
    let page = format!("/dashboard/webhooks/{id}");
    if session.row.livemode {
        return redirect(&format!("{page}?refused=test_mode_only"));
    }
    let Ok(event_type) = form.event_type.parse::<EventType>() else {
        return redirect(&format!("{page}?refused=parameter_invalid"));
    };
    let merchant = session.merchant_id;
    let event: EventId = crate::clock::new_id(state.clock.as_ref());
    let now = state.clock.now();
    let endpoint = id.to_string();
    let sent = state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                events::emit_to(
                    &mut c,
                    merchant,
                    false,
                    event_type,
                    &json!({"object": "test"}),
                    event,
                    now,
                    &endpoint,
                )
                .await
            })
        })
        .await;
    match sent {
        Ok(true) => {
            if let Err(e) = users::audit(
                &state.store,
                state.clock.as_ref(),
                &session,
                "webhook_endpoint.tested",
                Some(&format!("{id} {event}")),
                &request.origin,
            )
            .await
            {
                return internal(locale, e);
            }
            redirect(&format!("{page}?done=action.test_sent"))
        }
        Ok(false) => message(StatusCode::NOT_FOUND, locale, "error.not_found"),
        Err(e) => internal(locale, e),
    }
}
