//! The privacy page: whether the merchant's events carry full personal data or masked (the
//! default), and, for owners, the switch. The rules are the [`crate::privacy`] service's.

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::i18n::Texts;
use super::{Nav, SignedIn, csrf_ok, internal, message, redirect, render};
use crate::AppState;
use crate::privacy::{self, Changer, PrivacyError};

#[derive(Template)]
#[template(path = "dashboard/privacy.html")]
struct PrivacyPage {
    t: &'static Texts,
    nav: Nav,
    /// Events carry full personal data.
    full: bool,
    /// A change was just saved.
    saved: bool,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Shown {
    #[serde(default)]
    saved: Option<String>,
}

/// `GET /dashboard/privacy`.
pub(super) async fn privacy_page(
    State(state): State<AppState>,
    SignedIn {
        session, locale, ..
    }: SignedIn,
    Query(shown): Query<Shown>,
) -> Response {
    match privacy::full_personal_data_in_events(&state.store, session.merchant_id).await {
        Ok(full) => render(
            StatusCode::OK,
            &PrivacyPage {
                t: locale.texts(),
                nav: Nav::of(&session),
                full,
                saved: shown.saved.is_some(),
            },
        ),
        Err(e) => internal(locale, e),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct EventsForm {
    #[serde(default)]
    csrf: String,
    /// `full` or `masked`.
    #[serde(default)]
    events: String,
}

/// `POST /dashboard/privacy`: an owner turns full personal data in events on or off.
pub(super) async fn set_events(
    State(state): State<AppState>,
    SignedIn {
        request,
        session,
        locale,
    }: SignedIn,
    Form(form): Form<EventsForm>,
) -> Response {
    if !csrf_ok(&session.row.csrf_token, &form.csrf) {
        return message(StatusCode::FORBIDDEN, locale, "error.csrf");
    }
    // Anything but `full` masks: the safe side, and the default.
    let full = form.events == "full";
    let by = Changer::User {
        session: &session,
        origin: &request.origin,
    };
    let merchant = session.merchant_id;
    match privacy::set_full_personal_data_in_events(
        &state.store,
        state.clock.as_ref(),
        merchant,
        full,
        by,
    )
    .await
    {
        Ok(_) => redirect("/dashboard/privacy?saved=1"),
        Err(PrivacyError::NotOwner) => message(StatusCode::FORBIDDEN, locale, "error.forbidden"),
        Err(e) => internal(locale, e),
    }
}
