//! The team page (owners): the merchant's users and open invitations, inviting by e-mail
//! address, withdrawing an invitation; and the public page of an invitation's one-time link,
//! where the invited person chooses a name and a password. The rules are the
//! [`crate::invitations`] service's.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use serde::Deserialize;

use super::i18n::{Locale, Texts};
use super::{
    CSRF_COOKIE, Nav, Request, SignedIn, bounded, csrf_ok, internal, login_csrf, message, redirect,
    render, start_session, when, with_cookie,
};
use crate::AppState;
use crate::invitations::{self, InvitationError};
use crate::users::{self, Role, Session, UsersError};
use cajero_store::Micros;

/// A user on the team page.
#[derive(Debug)]
struct Member {
    id: String,
    role_code: String,
    email: String,
    name: String,
    role: &'static str,
    two_factor: bool,
    since: String,
}

/// An open invitation on the team page.
#[derive(Debug)]
struct Pending {
    id: String,
    email: String,
    role: &'static str,
    expires: String,
}

#[derive(Template)]
#[template(path = "dashboard/team.html")]
struct TeamPage {
    t: &'static Texts,
    nav: Nav,
    members: Vec<Member>,
    pending: Vec<Pending>,
    roles: [(&'static str, &'static str); 3],
    /// The link of the invitation just made, when no SMTP relay sent it.
    shown_link: Option<String>,
    /// The address an invitation was just e-mailed to.
    sent_to: Option<String>,
    error: Option<&'static str>,
}

fn role_key(role: &str) -> &'static str {
    match Role::parse(role) {
        Some(Role::Owner) => "team.role_owner",
        Some(Role::Developer) => "team.role_developer",
        _ => "team.role_analyst",
    }
}

/// The team page with an outcome.
async fn team_response(
    state: &AppState,
    session: &Session,
    locale: Locale,
    status: StatusCode,
    shown_link: Option<String>,
    sent_to: Option<String>,
    error: Option<&'static str>,
) -> Response {
    let (users, pending) =
        match invitations::team(&state.store, state.clock.as_ref(), session).await {
            Ok(found) => found,
            Err(InvitationError::NotOwner) => {
                return message(StatusCode::FORBIDDEN, locale, "error.forbidden");
            }
            Err(e) => return internal(locale, e),
        };
    render(
        status,
        &TeamPage {
            t: locale.texts(),
            nav: Nav::of(session),
            members: users
                .iter()
                .map(|u| Member {
                    id: u.id.clone(),
                    role_code: u.role.clone(),
                    email: u.email.clone(),
                    name: u.name.clone(),
                    role: role_key(&u.role),
                    two_factor: u.totp_enabled_at.is_some(),
                    since: when(session, Micros(u.created_at).to_timestamp()),
                })
                .collect(),
            pending: pending
                .iter()
                .map(|i| Pending {
                    id: i.id.clone(),
                    email: i.email.clone(),
                    role: role_key(&i.role),
                    expires: when(session, Micros(i.expires_at).to_timestamp()),
                })
                .collect(),
            roles: [
                ("analyst", "team.role_analyst"),
                ("developer", "team.role_developer"),
                ("owner", "team.role_owner"),
            ],
            shown_link,
            sent_to,
            error,
        },
    )
}

/// `GET /dashboard/team`.
pub(super) async fn team_page(
    State(state): State<AppState>,
    SignedIn {
        session, locale, ..
    }: SignedIn,
) -> Response {
    team_response(&state, &session, locale, StatusCode::OK, None, None, None).await
}

#[derive(Debug, Deserialize)]
pub(super) struct InviteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

/// `POST /dashboard/team/invite`: invites an address, then e-mails the link (through the
/// `[alerts.smtp]` relay) or, without one, logs it and shows it once to the owner.
pub(super) async fn invite(
    State(state): State<AppState>,
    SignedIn {
        request,
        session,
        locale,
    }: SignedIn,
    Form(form): Form<InviteForm>,
) -> Response {
    if !csrf_ok(&session.row.csrf_token, &form.csrf) {
        return message(StatusCode::FORBIDDEN, locale, "error.csrf");
    }
    let Some(role) = Role::parse(&form.role) else {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return team_response(
            &state,
            &session,
            locale,
            status,
            None,
            None,
            Some("team.invalid_role"),
        )
        .await;
    };
    let invited = invitations::invite(
        &state.store,
        state.clock.as_ref(),
        &session,
        bounded(&form.email),
        role,
        &request.origin,
    )
    .await;
    let invited = match invited {
        Ok(i) => i,
        Err(e) => {
            let key = match e {
                InvitationError::NotOwner => {
                    return message(StatusCode::FORBIDDEN, locale, "error.forbidden");
                }
                InvitationError::TooMany => "team.too_many",
                InvitationError::Users(UsersError::EmailTaken) => "signup.email_taken",
                InvitationError::Users(UsersError::InvalidEmail) => "signup.invalid_email",
                other => return internal(locale, other),
            };
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return team_response(&state, &session, locale, status, None, None, Some(key)).await;
        }
    };
    let link = invitations::link(&state.config.public_url(), &invited.token);
    let email = invited.invitation.email.clone();
    match &state.config.alerts.smtp {
        Some(smtp) => {
            let t = locale.texts();
            let body = format!(
                "{}\n\n{}\n\n{}\n",
                t.get("team.mail_body"),
                link,
                t.get("team.mail_expiry")
            );
            match crate::alerts::notify::send_through(
                smtp,
                &email,
                t.get("team.mail_subject"),
                body,
            )
            .await
            {
                Ok(()) => {
                    team_response(
                        &state,
                        &session,
                        locale,
                        StatusCode::OK,
                        None,
                        Some(email),
                        None,
                    )
                    .await
                }
                Err(e) => {
                    // Not sent: the owner gets the link to pass on by hand.
                    tracing::warn!(error = %e, invitation = %invited.invitation.id,
                        "e-mailing an invitation failed; the link is shown to the owner");
                    team_response(
                        &state,
                        &session,
                        locale,
                        StatusCode::OK,
                        Some(link),
                        None,
                        Some("team.mail_failed"),
                    )
                    .await
                }
            }
        }
        None => {
            tracing::info!(invitation = %invited.invitation.id, email = %email, link = %link,
                "dashboard invitation (no SMTP relay configured: pass the link on by hand)");
            team_response(
                &state,
                &session,
                locale,
                StatusCode::OK,
                Some(link),
                None,
                None,
            )
            .await
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct RevokeInvitationForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /dashboard/team/invitations/{id}/revoke`.
pub(super) async fn revoke(
    State(state): State<AppState>,
    SignedIn {
        request,
        session,
        locale,
    }: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<RevokeInvitationForm>,
) -> Response {
    if !csrf_ok(&session.row.csrf_token, &form.csrf) {
        return message(StatusCode::FORBIDDEN, locale, "error.csrf");
    }
    if form.confirm != "yes" {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return team_response(
            &state,
            &session,
            locale,
            status,
            None,
            None,
            Some("refusal.confirm_needed"),
        )
        .await;
    }
    let id = bounded(&id).to_owned();
    match invitations::revoke(
        &state.store,
        state.clock.as_ref(),
        &session,
        &id,
        &request.origin,
    )
    .await
    {
        Ok(true) => redirect("/dashboard/team"),
        Ok(false) => message(StatusCode::NOT_FOUND, locale, "error.not_found"),
        Err(InvitationError::NotOwner) => message(StatusCode::FORBIDDEN, locale, "error.forbidden"),
        Err(e) => internal(locale, e),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct MemberForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /dashboard/team/users/{id}/role`.
pub(super) async fn change_role(
    SignedIn {
        request,
        session,
        locale,
    }: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<MemberForm>,
) -> Response {
    let Some(role) = Role::parse(&form.role) else {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return team_response(
            &state,
            &session,
            locale,
            status,
            None,
            None,
            Some("team.invalid_role"),
        )
        .await;
    };
    member_change(&state, &request, &session, locale, &form, &id, Some(role)).await
}

/// `POST /dashboard/team/users/{id}/remove`.
pub(super) async fn remove(
    SignedIn {
        request,
        session,
        locale,
    }: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<MemberForm>,
) -> Response {
    if form.confirm != "yes" {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return team_response(
            &state,
            &session,
            locale,
            status,
            None,
            None,
            Some("refusal.confirm_needed"),
        )
        .await;
    }
    member_change(&state, &request, &session, locale, &form, &id, None).await
}

async fn member_change(
    state: &AppState,
    request: &Request,
    session: &Session,
    locale: Locale,
    form: &MemberForm,
    id: &str,
    role: Option<Role>,
) -> Response {
    if !csrf_ok(&session.row.csrf_token, &form.csrf) {
        return message(StatusCode::FORBIDDEN, locale, "error.csrf");
    }
    let id = bounded(id);
    let (store, clock, origin) = (&state.store, state.clock.as_ref(), &request.origin);
    let result = match role {
        Some(r) => users::change_role(store, clock, session, id, r, origin).await,
        None => users::remove_user(store, clock, session, id, origin).await,
    };
    let error = match result {
        Ok(()) => return redirect("/dashboard/team"),
        Err(UsersError::NotOwner) => {
            return message(StatusCode::FORBIDDEN, locale, "error.forbidden");
        }
        Err(UsersError::UnknownUser) => {
            return message(StatusCode::NOT_FOUND, locale, "error.not_found");
        }
        Err(UsersError::LastOwner) => "team.last_owner",
        Err(e) => return internal(locale, e),
    };
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    team_response(state, session, locale, status, None, None, Some(error)).await
}

#[derive(Template)]
#[template(path = "dashboard/invitation.html")]
struct InvitationPage {
    t: &'static Texts,
    csrf: String,
    token: String,
    email: String,
    name: String,
    error: Option<&'static str>,
}

/// Whether a path segment can be a token at all (the form posts back to it).
fn plausible(token: &str) -> bool {
    (16..=64).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `GET /dashboard/invitations/{token}`: the form of a usable link.
pub(super) async fn invitation_page(
    State(state): State<AppState>,
    parts: Parts,
    Path(token): Path<String>,
) -> Response {
    let request = Request::of(&state, &parts);
    let locale = request.locale(None);
    if !plausible(&token) {
        return message(StatusCode::NOT_FOUND, locale, "team.link_invalid");
    }
    let found = invitations::usable(&state.store, state.clock.as_ref(), &token).await;
    let invitation = match found {
        Ok(Some(i)) => i,
        Ok(None) => return message(StatusCode::NOT_FOUND, locale, "team.link_invalid"),
        Err(e) => return internal(locale, e),
    };
    let (csrf, cookie) = login_csrf(&state, &request);
    with_cookie(
        render(
            StatusCode::OK,
            &InvitationPage {
                t: locale.texts(),
                csrf,
                token,
                email: invitation.email,
                name: String::new(),
                error: None,
            },
        ),
        cookie,
    )
}

#[derive(Debug, Deserialize)]
pub(super) struct AcceptForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
}

/// `POST /dashboard/invitations/{token}`: creates the user and signs it in.
pub(super) async fn accept(
    State(state): State<AppState>,
    parts: Parts,
    Path(token): Path<String>,
    Form(form): Form<AcceptForm>,
) -> Response {
    let request = Request::of(&state, &parts);
    let locale = request.locale(None);
    let expected = request.cookie(CSRF_COOKIE).unwrap_or_default();
    if !csrf_ok(&expected, &form.csrf) {
        return message(StatusCode::FORBIDDEN, locale, "error.csrf");
    }
    let ip = request.origin.ip.as_deref().and_then(|i| i.parse().ok());
    if state.rate_limits.check_blocked(ip).is_err() {
        return message(StatusCode::TOO_MANY_REQUESTS, locale, "signin.throttled");
    }
    if !plausible(&token) {
        state.rate_limits.record_failure(ip);
        return message(StatusCode::NOT_FOUND, locale, "team.link_invalid");
    }
    let result = invitations::accept(
        &state.store,
        state.clock.as_ref(),
        &token,
        bounded(&form.name),
        bounded(&form.password),
        &request.origin,
    )
    .await;
    let error = match result {
        Ok(opened) => {
            let mut response = redirect("/dashboard");
            start_session(&state, &mut response, &opened);
            return response;
        }
        Err(InvitationError::Invalid) => {
            // Guessing links costs like guessing passwords.
            state.rate_limits.record_failure(ip);
            return message(StatusCode::NOT_FOUND, locale, "team.link_invalid");
        }
        Err(InvitationError::Users(UsersError::InvalidName { .. })) => "signup.invalid_name",
        Err(InvitationError::Users(UsersError::BadPassword)) => "signup.bad_password",
        Err(InvitationError::Users(UsersError::EmailTaken)) => "signup.email_taken",
        Err(InvitationError::Users(UsersError::TooManyUsers)) => "team.too_many_users",
        Err(e) => return internal(locale, e),
    };
    let email = match invitations::usable(&state.store, state.clock.as_ref(), &token).await {
        Ok(Some(i)) => i.email,
        Ok(None) => return message(StatusCode::NOT_FOUND, locale, "team.link_invalid"),
        Err(e) => return internal(locale, e),
    };
    render(
        StatusCode::UNPROCESSABLE_ENTITY,
        &InvitationPage {
            t: locale.texts(),
            csrf: expected,
            token,
            email,
            name: bounded(&form.name).to_owned(),
            error: Some(error),
        },
    )
}
