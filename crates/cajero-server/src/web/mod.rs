//! The merchant dashboard (`/dashboard`): server-rendered HTML (askama templates in
//! `templates/dashboard/`), usable without JavaScript, in English, Spanish and Chinese.
//!
//! A face, like the `/v1` API: every page calls the same services and store reads the API
//! calls ([`crate::users`] for people and sessions, [`crate::funds`] for balances); no rule
//! lives here.
//!
//! Security:
//! - the session cookie (`cajero_session`) is HttpOnly, SameSite=Lax, scoped to `/dashboard`,
//!   and Secure when the public URL is https; the database keeps only its token's hash;
//! - every form carries a CSRF token: the session's own, or before sign-in the
//!   `cajero_csrf` cookie's (double submit), compared in constant time;
//! - sign-in failures count per user (lock-out, [`crate::users::LOGIN_FAILURES_MAX`]) and per
//!   client address (the API's failed-authentication limit);
//! - every object is read under the session's merchant: another merchant's id is a 404;
//! - every page is `Cache-Control: no-store`, framed by nobody, and refers nowhere.

pub mod actions;
pub mod charts;
pub mod console;
pub mod i18n;
pub mod lists;
mod onboarding;
mod privacy;
mod risk;
mod team;
mod webhook_log;

use std::net::SocketAddr;

use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, Form, Path, Query, State};
use axum::http::header::{
    ACCEPT_LANGUAGE, CACHE_CONTROL, CONTENT_SECURITY_POLICY, COOKIE, LOCATION, REFERRER_POLICY,
    SET_COOKIE, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode, request::Parts};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use cajero_domain::id::{ApiKeyId, AuditId, PayinId, PayoutId};
use cajero_domain::lifecycle::{PayinStatus, PayoutStatus};
use cajero_domain::merchant::Mode;
use cajero_store::dashboard::{self, AuditRow};
use cajero_store::page::{Cursor, PageRequest};
use cajero_store::payins::{self, Filter, PayinRecord};
use cajero_store::payouts::{self, PayoutRecord};
use cajero_store::{Micros, StoreError, ledger, network};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Deserialize;
use subtle::ConstantTimeEq as _;

use crate::AppState;
use crate::admin::{self, AdminError};
use crate::users::{self, Origin, Session, SignUp, UsersError};
use i18n::{Locale, Texts};

/// The session cookie.
pub const SESSION_COOKIE: &str = "cajero_session";
/// The pre-session CSRF cookie (sign-in and sign-up forms).
pub const CSRF_COOKIE: &str = "cajero_csrf";
/// Rows per page of a list.
pub const PAGE_ROWS: u32 = 25;
/// Pay-ins on the home page.
pub const HOME_ROWS: u32 = 5;
/// Ledger transfers shown on an order's page.
pub const LEDGER_ROWS_MAX: i64 = 200;
/// Network messages shown on an order's page (an order has a handful; a retry storm more).
pub const EVIDENCE_ROWS_MAX: usize = 100;
/// Characters of a network message's request or response shown (evidence can be large).
pub const EVIDENCE_CHARS_MAX: usize = 16_384;
/// Counter attempts shown on a payout's page.
pub const ATTEMPT_ROWS_MAX: usize = 200;
/// Audit entries per page.
pub const AUDIT_ROWS: i64 = 100;
/// The longest form field read (a password is at most 128 characters; nothing here needs
/// more).
pub const FORM_FIELD_CHARS_MAX: usize = 512;

/// The dashboard's upload of KYC documents: merged with its own body limit (a document is
/// larger than any form).
pub fn uploads() -> Router<AppState> {
    Router::new().route("/dashboard/onboarding/documents", post(onboarding::upload))
}

/// The dashboard's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(home))
        .route("/dashboard/login", get(sign_in_page).post(sign_in))
        .route("/dashboard/signup", get(sign_up_page).post(sign_up))
        .route("/dashboard/logout", post(sign_out))
        .route("/dashboard/language", post(language))
        .route("/dashboard/payins", get(payins_page))
        .route("/dashboard/payins/{id}", get(payin_page))
        .route("/dashboard/payins/{id}/refund", post(actions::refund_payin))
        .route(
            "/dashboard/payouts/{id}/cancel",
            post(actions::cancel_payout),
        )
        .route("/dashboard/events/{id}/resend", post(actions::resend_event))
        .route(
            "/dashboard/onboarding",
            get(onboarding::onboarding_page).post(onboarding::save_onboarding),
        )
        .route(
            "/dashboard/onboarding/documents/{id}",
            get(onboarding::download),
        )
        .route("/dashboard/team", get(team::team_page))
        .route("/dashboard/team/invite", post(team::invite))
        .route("/dashboard/team/users/{id}/role", post(team::change_role))
        .route("/dashboard/team/users/{id}/remove", post(team::remove))
        .route(
            "/dashboard/team/invitations/{id}/revoke",
            post(team::revoke),
        )
        .route(
            "/dashboard/invitations/{token}",
            get(team::invitation_page).post(team::accept),
        )
        .route("/dashboard/refunds", get(lists::refunds_page))
        .route("/dashboard/events", get(lists::events_page))
        .route(
            "/dashboard/balance_transactions",
            get(lists::balance_transactions_page),
        )
        .route("/dashboard/settlements", get(lists::settlements_page))
        .route("/dashboard/settlements/{file}", get(lists::settlement_csv))
        .route("/dashboard/payouts", get(payouts_page))
        .route("/dashboard/payouts/{id}", get(payout_page))
        .route("/dashboard/audit", get(audit_page))
        .route("/dashboard/analytics", get(analytics_page))
        .route("/dashboard/keys", get(keys_page).post(create_key))
        .route("/dashboard/keys/{id}/roll", post(roll_key))
        .route("/dashboard/keys/{id}/revoke", post(revoke_key))
        .route("/dashboard/mode", post(switch_mode))
        .route(
            "/dashboard/webhooks",
            get(webhooks_page).post(create_webhook),
        )
        .route("/dashboard/webhooks/{id}", get(webhook_log::endpoint_page))
        .route(
            "/dashboard/webhooks/{id}/test",
            post(webhook_log::send_test),
        )
        .route("/dashboard/webhooks/{id}/rotate", post(rotate_webhook))
        .route("/dashboard/webhooks/{id}/delete", post(delete_webhook))
        .route("/dashboard/login/totp", get(totp_page).post(totp_submit))
        .route("/dashboard/security", get(security_page))
        .route(
            "/dashboard/privacy",
            get(privacy::privacy_page).post(privacy::set_events),
        )
        .route("/dashboard/risk", get(risk::risk_page))
        .route("/dashboard/risk/blocklist", post(risk::block))
        .route("/dashboard/risk/blocklist/{id}/remove", post(risk::unblock))
        .route("/dashboard/security/totp", post(begin_totp))
        .route("/dashboard/security/totp/confirm", post(confirm_totp))
}

// ---------------------------------------------------------------------------------------------
// Requests and responses

/// What every page needs to know about its request.
struct Request {
    headers: HeaderMap,
    origin: Origin,
}

impl Request {
    fn of(state: &AppState, parts: &Parts) -> Request {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        let ip = state.rate_limits.client(&parts.headers, peer);
        Request {
            headers: parts.headers.clone(),
            origin: Origin {
                ip: ip.map(|i| i.to_string()),
            },
        }
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
    }

    /// The user's language, else the browser's.
    fn locale(&self, session: Option<&Session>) -> Locale {
        session
            .and_then(|s| s.user.locale.as_deref())
            .and_then(Locale::parse)
            .unwrap_or_else(|| {
                Locale::from_accept_language(
                    self.headers
                        .get(ACCEPT_LANGUAGE)
                        .and_then(|v| v.to_str().ok()),
                )
            })
    }
}

fn secure(state: &AppState) -> &'static str {
    if state.config.public_url().starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

fn set_cookie(response: &mut Response, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().append(SET_COOKIE, v);
    }
}

fn harden(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    response
}

fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => harden((status, Html(html)).into_response()),
        Err(e) => {
            tracing::error!(error = %e, "rendering a dashboard page failed");
            harden((StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response())
        }
    }
}

fn redirect(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        response.headers_mut().insert(LOCATION, v);
    }
    harden(response)
}

#[derive(Template)]
#[template(path = "dashboard/message.html")]
struct MessagePage {
    t: &'static Texts,
    key: &'static str,
}

fn message(status: StatusCode, locale: Locale, key: &'static str) -> Response {
    render(
        status,
        &MessagePage {
            t: locale.texts(),
            key,
        },
    )
}

fn internal(locale: Locale, error: impl std::fmt::Display) -> Response {
    tracing::error!(error = %error, "a dashboard request failed");
    message(StatusCode::INTERNAL_SERVER_ERROR, locale, "error.internal")
}

fn csrf_ok(expected: &str, given: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

/// A page's request from a signed-in user whose second factor is done: the request, the
/// session and the user's language, read once for every handler. Without such a session the
/// answer is the redirect to the sign-in page (or to the code's page).
pub(super) struct SignedIn {
    request: Request,
    session: Session,
    locale: Locale,
}

impl axum::extract::FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let request = Request::of(state, parts);
        let session = signed_in(state, &request).await?;
        let locale = request.locale(Some(&session));
        Ok(SignedIn {
            request,
            session,
            locale,
        })
    }
}

/// The signed-in session whose second factor is done, or the response to send instead (to
/// the sign-in page, or to the code's page).
async fn signed_in(state: &AppState, request: &Request) -> Result<Session, Response> {
    let session = signed_in_unverified(state, request).await?;
    if !session.row.verified {
        return Err(redirect("/dashboard/login/totp"));
    }
    Ok(session)
}

/// The signed-in session, its second factor done or not (the code's own page).
async fn signed_in_unverified(state: &AppState, request: &Request) -> Result<Session, Response> {
    let Some(token) = request.cookie(SESSION_COOKIE) else {
        return Err(redirect("/dashboard/login"));
    };
    match users::authenticate(&state.store, state.clock.as_ref(), &token).await {
        Ok(Some(session)) => Ok(session),
        Ok(None) => {
            let mut response = redirect("/dashboard/login");
            set_cookie(&mut response, expired_cookie(SESSION_COOKIE));
            Err(response)
        }
        Err(e) => Err(internal(request.locale(None), e)),
    }
}

/// Gives the browser a session just opened (and drops the pre-session CSRF cookie).
fn start_session(state: &AppState, response: &mut Response, opened: &users::Opened) {
    set_cookie(
        response,
        format!(
            "{SESSION_COOKIE}={}; Path=/dashboard; HttpOnly; SameSite=Lax; Max-Age={}{}",
            opened.token,
            users::SESSION_ABSOLUTE.as_secs(),
            secure(state)
        ),
    );
    set_cookie(response, expired_cookie(CSRF_COOKIE));
}

fn expired_cookie(name: &str) -> String {
    format!("{name}=; Path=/dashboard; HttpOnly; SameSite=Lax; Max-Age=0")
}

fn mode(session: &Session) -> Mode {
    if session.row.livemode {
        Mode::Live
    } else {
        Mode::Test
    }
}

/// A time in the user's time zone.
fn when(session: &Session, at: Timestamp) -> String {
    let tz = TimeZone::get(&session.user.time_zone)
        .unwrap_or_else(|_| cajero_domain::calendar::bogota());
    tz.to_datetime(at).strftime("%Y-%m-%d %H:%M").to_string()
}

/// The navigation bar's values.
struct Nav {
    user: String,
    user_name: String,
    csrf: String,
    livemode: bool,
    owner: bool,
    languages: [(&'static str, &'static str); 3],
}

impl Nav {
    fn of(session: &Session) -> Nav {
        Nav {
            user: session.user.email.clone(),
            user_name: session.user.name.clone(),
            csrf: session.row.csrf_token.clone(),
            livemode: session.row.livemode,
            owner: session.role.may_manage_users(),
            languages: Locale::ALL.map(|l| (l.tag(), l.name())),
        }
    }
}

fn bounded(field: &str) -> &str {
    match field.char_indices().nth(FORM_FIELD_CHARS_MAX) {
        Some((i, _)) => field.get(..i).unwrap_or(field),
        None => field,
    }
}

// ---------------------------------------------------------------------------------------------
// Sign-in, sign-up, sign-out

#[derive(Template)]
#[template(path = "dashboard/signin.html")]
struct SignInPage {
    t: &'static Texts,
    csrf: String,
    email: String,
    error: Option<&'static str>,
    until: Option<String>,
}

#[derive(Template)]
#[template(path = "dashboard/signup.html")]
struct SignUpPage {
    t: &'static Texts,
    csrf: String,
    company: String,
    name: String,
    email: String,
    error: Option<&'static str>,
}

/// The pre-session CSRF token: the cookie's, or a new one (set on the response).
fn login_csrf(state: &AppState, request: &Request) -> (String, Option<String>) {
    match request.cookie(CSRF_COOKIE).filter(|c| c.len() >= 32) {
        Some(token) => (token, None),
        None => {
            let token = users::random_token();
            let cookie = format!(
                "{CSRF_COOKIE}={token}; Path=/dashboard; HttpOnly; SameSite=Strict{}",
                secure(state)
            );
            (token, Some(cookie))
        }
    }
}

fn with_cookie(mut response: Response, cookie: Option<String>) -> Response {
    if let Some(c) = cookie {
        set_cookie(&mut response, c);
    }
    response
}

async fn sign_in_page(State(state): State<AppState>, parts: Parts) -> Response {
    let request = Request::of(&state, &parts);
    let (csrf, cookie) = login_csrf(&state, &request);
    let page = SignInPage {
        t: request.locale(None).texts(),
        csrf,
        email: String::new(),
        error: None,
        until: None,
    };
    with_cookie(render(StatusCode::OK, &page), cookie)
}

#[derive(Debug, Deserialize)]
struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

async fn sign_in(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<SignInForm>,
) -> Response {
    let request = Request::of(&state, &parts);
    let locale = request.locale(None);
    let expected = request.cookie(CSRF_COOKIE).unwrap_or_default();
    if !csrf_ok(&expected, &form.csrf) {
        return message(StatusCode::FORBIDDEN, locale, "error.csrf");
    }
    let ip = request.origin.ip.as_deref().and_then(|i| i.parse().ok());
    let again = |error: &'static str, until: Option<String>, status: StatusCode| {
        render(
            status,
            &SignInPage {
                t: locale.texts(),
                csrf: expected.clone(),
                email: bounded(&form.email).to_owned(),
                error: Some(error),
                until,
            },
        )
    };
    if state.rate_limits.check_blocked(ip).is_err() {
        return again("signin.throttled", None, StatusCode::TOO_MANY_REQUESTS);
    }
    let result = users::sign_in(
        &state.store,
        state.clock.as_ref(),
        bounded(&form.email),
        bounded(&form.password),
        &request.origin,
    )
    .await;
    match result {
        Ok(opened) => {
            let mut response = redirect(if opened.session.row.verified {
                "/dashboard"
            } else {
                "/dashboard/login/totp"
            });
            start_session(&state, &mut response, &opened);
            response
        }
        Err(UsersError::InvalidCredentials) => {
            if state.rate_limits.record_failure(ip).is_some() {
                again("signin.throttled", None, StatusCode::TOO_MANY_REQUESTS)
            } else {
                again("signin.invalid", None, StatusCode::UNAUTHORIZED)
            }
        }
        Err(UsersError::Locked { until }) => {
            let tz = cajero_domain::calendar::bogota();
            let until = tz.to_datetime(until).strftime("%H:%M").to_string();
            again("signin.locked", Some(until), StatusCode::TOO_MANY_REQUESTS)
        }
        Err(UsersError::Suspended) => again("signin.suspended", None, StatusCode::FORBIDDEN),
        Err(e) => internal(locale, e),
    }
}

async fn sign_up_page(State(state): State<AppState>, parts: Parts) -> Response {
    let request = Request::of(&state, &parts);
    let (csrf, cookie) = login_csrf(&state, &request);
    let page = SignUpPage {
        t: request.locale(None).texts(),
        csrf,
        company: String::new(),
        name: String::new(),
        email: String::new(),
        error: None,
    };
    with_cookie(render(StatusCode::OK, &page), cookie)
}

#[derive(Debug, Deserialize)]
struct SignUpForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    company: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

async fn sign_up(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<SignUpForm>,
) -> Response {
    let request = Request::of(&state, &parts);
    let locale = request.locale(None);
    let expected = request.cookie(CSRF_COOKIE).unwrap_or_default();
    if !csrf_ok(&expected, &form.csrf) {
        return message(StatusCode::FORBIDDEN, locale, "error.csrf");
    }
    // Every sign-up creates a merchant: an address gets as many per minute as it gets failed
    // sign-ins (`rate_limits.failed_auth_per_minute`), counted on the same limiter.
    let ip = request.origin.ip.as_deref().and_then(|i| i.parse().ok());
    if state.rate_limits.check_blocked(ip).is_err()
        || state.rate_limits.record_failure(ip).is_some()
    {
        return message(StatusCode::TOO_MANY_REQUESTS, locale, "signin.throttled");
    }
    let result = users::sign_up(
        &state.store,
        state.clock.as_ref(),
        SignUp {
            company: bounded(&form.company).to_owned(),
            name: bounded(&form.name).to_owned(),
            email: bounded(&form.email).to_owned(),
            password: bounded(&form.password).to_owned(),
            locale: Some(locale.tag().to_owned()),
        },
        &request.origin,
    )
    .await;
    let error = match result {
        Ok(opened) => {
            let mut response = redirect("/dashboard");
            start_session(&state, &mut response, &opened);
            return response;
        }
        Err(UsersError::EmailTaken) => "signup.email_taken",
        Err(UsersError::InvalidEmail) => "signup.invalid_email",
        Err(UsersError::InvalidName { .. }) => "signup.invalid_name",
        Err(UsersError::BadPassword) => "signup.bad_password",
        Err(e) => return internal(locale, e),
    };
    render(
        StatusCode::UNPROCESSABLE_ENTITY,
        &SignUpPage {
            t: locale.texts(),
            csrf: expected,
            company: bounded(&form.company).to_owned(),
            name: bounded(&form.name).to_owned(),
            email: bounded(&form.email).to_owned(),
            error: Some(error),
        },
    )
}

#[derive(Debug, Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn sign_out(
    State(state): State<AppState>,
    SignedIn {
        request,
        session,
        locale,
    }: SignedIn,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !csrf_ok(&session.row.csrf_token, &form.csrf) {
        return message(StatusCode::FORBIDDEN, locale, "error.csrf");
    }
    if let Err(e) = users::sign_out(
        &state.store,
        state.clock.as_ref(),
        &session,
        &request.origin,
    )
    .await
    {
        return internal(locale, e);
    }
    let mut response = redirect("/dashboard/login");
    set_cookie(&mut response, expired_cookie(SESSION_COOKIE));
    response
}

#[derive(Debug, Deserialize)]
struct LanguageForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    locale: String,
}

async fn language(
    State(state): State<AppState>,
    SignedIn {
        request,
        session,
        locale,
    }: SignedIn,
    Form(form): Form<LanguageForm>,
) -> Response {
    if !csrf_ok(&session.row.csrf_token, &form.csrf) {
        return message(StatusCode::FORBIDDEN, locale, "error.csrf");
    }
    let chosen = Locale::parse(&form.locale).map(Locale::tag);
    if let Err(e) = users::set_locale(&state.store, state.clock.as_ref(), &session, chosen).await {
        return internal(locale, e);
    }
    // Back where the form was, when that was the dashboard.
    let back = request
        .headers
        .get(axum::http::header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.find("/dashboard").and_then(|i| r.get(i..)))
        .filter(|p| !p.contains("//"))
        .unwrap_or("/dashboard")
        .to_owned();
    redirect(&back)
}

// ---------------------------------------------------------------------------------------------
// Home, pay-ins, audit

/// A pay-in as a list row.
struct PayinRow {
    id: String,
    status: &'static str,
    status_key: &'static str,
    amount: String,
    reference: String,
    network: String,
    created: String,
}

fn status_key(status: PayinStatus) -> &'static str {
    match status {
        PayinStatus::Pending => "status.pending",
        PayinStatus::Paid => "status.paid",
        PayinStatus::Expired => "status.expired",
        PayinStatus::Canceled => "status.canceled",
        PayinStatus::OnHold => "status.on_hold",
    }
}

fn payin_row(session: &Session, locale: Locale, p: &PayinRecord) -> PayinRow {
    PayinRow {
        id: p.id.to_string(),
        status: p.status.as_str(),
        status_key: status_key(p.status),
        amount: locale.money(p.amount.minor(), p.currency.code()),
        reference: p.reference.clone().unwrap_or_default(),
        network: p.network.clone(),
        created: when(session, p.created_at),
    }
}

#[derive(Template)]
#[template(path = "dashboard/home.html")]
struct HomePage {
    t: &'static Texts,
    nav: Nav,
    available: String,
    pending: String,
    reserved: String,
    rows: Vec<PayinRow>,
    /// Today's and this month's figures: (label key, vouchers paid of created, pesos paid,
    /// codes collected of created, pesos collected).
    volumes: Vec<(&'static str, String, String, String, String)>,
    alerts: Vec<HomeAlert>,
    exceptions: Vec<HomeException>,
    /// The merchant's onboarding is not approved yet.
    onboarding_todo: bool,
}

/// An open alert on the home page.
struct HomeAlert {
    when: String,
    severity: String,
    code: String,
    message: String,
}

/// An open reconciliation exception on the home page.
struct HomeException {
    when: String,
    kind: String,
    object: String,
    href: Option<String>,
    amount: String,
}

/// Open alerts and exceptions shown on the home page (the rest: `GET /v1/alerts`, the
/// reconciliation report).
pub const HOME_OPEN_ROWS: u32 = 5;

async fn home(
    State(state): State<AppState>,
    SignedIn {
        session, locale, ..
    }: SignedIn,
) -> Response {
    let (merchant, mode) = (session.merchant_id, mode(&session));
    let page = PageRequest {
        limit: HOME_ROWS,
        cursor: Cursor::Newest,
    };
    let read = state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                let balances = ledger::merchant_balances(&mut c, merchant, mode).await?;
                let recent =
                    payins::list(&mut c, merchant, mode, &Filter::default(), &page).await?;
                let alerts = cajero_store::alerts::list(
                    &mut c,
                    &cajero_store::alerts::AlertFilter {
                        merchant_id: Some(merchant.to_string()),
                        livemode: Some(mode.is_live()),
                        status: Some("open".into()),
                        code: None,
                    },
                    &PageRequest {
                        limit: HOME_OPEN_ROWS,
                        cursor: Cursor::Newest,
                    },
                )
                .await?;
                let exceptions = cajero_store::exceptions::list(
                    &mut c,
                    &cajero_store::exceptions::ExceptionFilter {
                        merchant_id: Some(merchant.to_string()),
                        livemode: Some(mode.is_live()),
                        status: Some("open".into()),
                        kind: None,
                        before: None,
                    },
                    i64::from(HOME_OPEN_ROWS),
                )
                .await?;
                Ok::<_, StoreError>((balances, recent, alerts.data, exceptions))
            })
        })
        .await;
    let (balances, recent, alerts, exceptions) = match read {
        Ok(r) => r,
        Err(e) => return internal(locale, e),
    };
    // A merchant still onboarding (not yet approved, nor made active by an operator).
    let status = state
        .store
        .read(move |mut c| {
            Box::pin(async move { cajero_store::merchants::get_merchant(&mut c, merchant).await })
        })
        .await;
    let onboarding_todo = match status {
        Ok(m) => m.is_some_and(|m| m.status == cajero_domain::merchant::MerchantStatus::Onboarding),
        Err(e) => return internal(locale, e),
    };
    let today = crate::analytics::bogota_today(state.clock.now());
    let month_start = today.first_of_month();
    let mut volumes = Vec::with_capacity(2);
    for (label, from) in [("home.today", today), ("home.this_month", month_start)] {
        let range = match crate::analytics::DateRange::new(from, today) {
            Ok(r) => r,
            Err(e) => return internal(locale, e),
        };
        match crate::analytics::volume(&state.store, merchant, mode, range).await {
            Ok(v) => volumes.push((
                label,
                format!("{} / {}", v.payins_paid, v.payins_created),
                locale.money(v.payins_paid_amount, "COP"),
                format!("{} / {}", v.payouts_paid, v.payouts_created),
                locale.money(v.payouts_paid_amount, "COP"),
            )),
            Err(e) => return internal(locale, e),
        }
    }
    let cop = balances
        .iter()
        .find(|b| b.currency.code() == "COP")
        .map_or((0, 0, 0), |b| (b.available, b.pending, b.reserved));
    render(
        StatusCode::OK,
        &HomePage {
            t: locale.texts(),
            available: locale.money(cop.0, "COP"),
            pending: locale.money(cop.1, "COP"),
            reserved: locale.money(cop.2, "COP"),
            rows: recent
                .data
                .iter()
                .map(|p| payin_row(&session, locale, p))
                .collect(),
            volumes,
            onboarding_todo,
            alerts: alerts
                .into_iter()
                .map(|a| HomeAlert {
                    when: when(&session, Micros(a.raised_at).to_timestamp()),
                    severity: a.severity,
                    code: a.code,
                    message: a.message,
                })
                .collect(),
            exceptions: exceptions
                .into_iter()
                .map(|e| HomeException {
                    when: when(&session, Micros(e.created_at).to_timestamp()),
                    kind: e.kind,
                    href: lists::page_of(&e.object_id),
                    object: e.object_id,
                    amount: locale.money(e.amount, &e.currency),
                })
                .collect(),
            nav: Nav::of(&session),
        },
    )
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    status: Option<String>,
    starting_after: Option<String>,
    ending_before: Option<String>,
}

/// Where a list page starts, and which pages lie beside it.
struct Paging {
    backwards: bool,
    had_cursor: bool,
}

impl Paging {
    /// The page a list's query asks for; a cursor that is not an id of the list's kind starts
    /// from the newest rather than failing.
    fn of<K: cajero_domain::id::IdKind>(query: &ListQuery) -> (PageRequest, Paging) {
        let valid = |c: &Option<String>| {
            c.clone()
                .filter(|c| c.parse::<cajero_domain::id::Id<K>>().is_ok())
        };
        let cursor = match (valid(&query.starting_after), valid(&query.ending_before)) {
            (Some(after), _) => Cursor::After(after),
            (None, Some(before)) => Cursor::Before(before),
            (None, None) => Cursor::Newest,
        };
        let paging = Paging {
            backwards: matches!(cursor, Cursor::Before(_)),
            had_cursor: !matches!(cursor, Cursor::Newest),
        };
        (
            PageRequest {
                limit: PAGE_ROWS,
                cursor,
            },
            paging,
        )
    }

    /// Puts the page newest first (`ending_before` pages come oldest first) and links the
    /// newer and older pages, keeping the status filter.
    fn links<T, I: Ord + std::fmt::Display>(
        &self,
        found: &mut cajero_store::page::Page<T>,
        id: impl Fn(&T) -> I,
        base: &str,
        status: Option<&str>,
    ) -> (Option<String>, Option<String>) {
        if self.backwards {
            found.data.sort_by_key(|row| std::cmp::Reverse(id(row)));
        }
        let (more_older, more_newer) = if self.backwards {
            (true, found.has_more)
        } else {
            (found.has_more, self.had_cursor)
        };
        let status = status.map(|s| format!("&status={s}")).unwrap_or_default();
        let newer = found
            .data
            .first()
            .filter(|_| more_newer)
            .map(|row| format!("{base}?ending_before={}{status}", id(row)));
        let older = found
            .data
            .last()
            .filter(|_| more_older)
            .map(|row| format!("{base}?starting_after={}{status}", id(row)));
        (newer, older)
    }
}

#[derive(Template)]
#[template(path = "dashboard/payins.html")]
struct PayinsPage {
    t: &'static Texts,
    nav: Nav,
    statuses: [(&'static str, &'static str); 4],
    status: String,
    rows: Vec<PayinRow>,
    newer: Option<String>,
    older: Option<String>,
}

async fn payins_page(
    State(state): State<AppState>,
    SignedIn {
        session, locale, ..
    }: SignedIn,
    Query(query): Query<ListQuery>,
) -> Response {
    let status = query
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .and_then(|s| s.parse::<PayinStatus>().ok());
    // A cursor that is not a pay-in id starts from the newest rather than failing.
    let (page, paging) = Paging::of::<cajero_domain::id::Payin>(&query);
    let filter = Filter {
        status,
        ..Filter::default()
    };
    let (merchant, mode) = (session.merchant_id, mode(&session));
    let found = state
        .store
        .read(move |mut c| {
            Box::pin(async move { payins::list(&mut c, merchant, mode, &filter, &page).await })
        })
        .await;
    let mut found = match found {
        Ok(f) => f,
        Err(e) => return internal(locale, e),
    };
    let (newer, older) = paging.links(
        &mut found,
        |p| p.id,
        "/dashboard/payins",
        status.map(|s| s.as_str()),
    );
    render(
        StatusCode::OK,
        &PayinsPage {
            t: locale.texts(),
            statuses: [
                ("pending", "status.pending"),
                ("paid", "status.paid"),
                ("expired", "status.expired"),
                ("canceled", "status.canceled"),
            ],
            status: status.map(|s| s.as_str().to_owned()).unwrap_or_default(),
            rows: found
                .data
                .iter()
                .map(|p| payin_row(&session, locale, p))
                .collect(),
            newer,
            older,
            nav: Nav::of(&session),
        },
    )
}

/// A ledger transfer as a row.
struct LedgerRow {
    when: String,
    code: String,
    debit: String,
    credit: String,
    amount: String,
}

#[derive(Template)]
#[template(path = "dashboard/payin.html")]
struct PayinPage {
    t: &'static Texts,
    nav: Nav,
    id: String,
    status: &'static str,
    status_key: &'static str,
    amount: String,
    reference: String,
    network: String,
    code: String,
    fee: String,
    refunded: String,
    created: String,
    expires: String,
    paid: String,
    voucher_url: String,
    ledger: Vec<LedgerRow>,
    evidence: Vec<EvidenceRow>,
    refunds: Vec<RefundLine>,
    timeline: Vec<actions::TimelineEvent>,
    /// What is left to refund, in whole pesos (the refund form's default).
    refund_left: i64,
    can_refund: bool,
    actions: Actions,
}

/// What an order's page needs for its forms and the outcome of the last action.
struct Actions {
    /// The key of this rendering's forms (a form sent twice acts once).
    idem: String,
    /// Owners act on orders.
    may_act: bool,
    /// Owners and developers resend events.
    may_resend: bool,
    /// The page, for the forms to come back to.
    back: String,
    notice: Option<&'static str>,
    refusal: Option<(&'static str, String)>,
}

impl Actions {
    fn of(session: &Session, back: String, outcome: &actions::Outcome) -> Actions {
        Actions {
            idem: users::random_token(),
            may_act: session.role.may_act_on_orders(),
            may_resend: session.role.may_manage_developer_settings(),
            back,
            notice: outcome.notice(),
            refusal: outcome.refusal(),
        }
    }
}

/// A refund on its pay-in's page.
struct RefundLine {
    id: String,
    when: String,
    amount: String,
    method: String,
    status: String,
    payout: String,
}

fn ledger_rows(
    session: &Session,
    locale: Locale,
    entries: &[dashboard::LedgerEntryRow],
) -> Vec<LedgerRow> {
    entries
        .iter()
        .map(|e| LedgerRow {
            when: when(session, Micros(e.created_at).to_timestamp()),
            code: format!("{} · {}", e.batch_code, e.code),
            debit: e.debit_account_id.clone(),
            credit: e.credit_account_id.clone(),
            amount: locale.money(e.amount, &e.currency),
        })
        .collect()
}

/// A raw exchange with the network (secrets were redacted before it was stored).
struct EvidenceRow {
    direction: String,
    operation: String,
    status: String,
    request: String,
    response: String,
}

fn clipped(text: String) -> String {
    match text.char_indices().nth(EVIDENCE_CHARS_MAX) {
        Some((i, _)) => format!("{}…", text.get(..i).unwrap_or("")),
        None => text,
    }
}

fn evidence_rows(messages: Vec<(String, String, String, Option<i64>, String)>) -> Vec<EvidenceRow> {
    messages
        .into_iter()
        .take(EVIDENCE_ROWS_MAX)
        .map(
            |(operation, direction, request, status, response)| EvidenceRow {
                direction,
                operation,
                status: status.map(|s| s.to_string()).unwrap_or_default(),
                request: clipped(request),
                response: clipped(response),
            },
        )
        .collect()
}

async fn payin_page(
    State(state): State<AppState>,
    SignedIn {
        session, locale, ..
    }: SignedIn,
    Path(id): Path<String>,
    Query(outcome): Query<actions::Outcome>,
) -> Response {
    let Ok(id) = id.parse::<PayinId>() else {
        return message(StatusCode::NOT_FOUND, locale, "error.not_found");
    };
    let (merchant, mode) = (session.merchant_id, mode(&session));
    let found = state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                let Some(payin) = payins::get(&mut c, merchant, mode, id).await? else {
                    return Ok::<_, StoreError>(None);
                };
                let ledger = dashboard::ledger_entries_of(
                    &mut c,
                    &merchant.to_string(),
                    &id.to_string(),
                    LEDGER_ROWS_MAX,
                )
                .await?;
                let evidence = network::messages_for(&mut c, &id.to_string()).await?;
                let refunds = actions::refunds_of(&mut c, merchant, mode, id).await?;
                let mut objects = vec![id.to_string()];
                objects.extend(refunds.iter().map(|r| r.id.to_string()));
                let timeline =
                    actions::timeline(&mut c, merchant, mode.is_live(), &objects).await?;
                Ok(Some((payin, ledger, evidence, refunds, timeline)))
            })
        })
        .await;
    let (p, ledger, evidence, refunds, timeline) = match found {
        Ok(Some(found)) => found,
        Ok(None) => return message(StatusCode::NOT_FOUND, locale, "error.not_found"),
        Err(e) => return internal(locale, e),
    };
    let currency = p.currency.code();
    render(
        StatusCode::OK,
        &PayinPage {
            t: locale.texts(),
            id: p.id.to_string(),
            status: p.status.as_str(),
            status_key: status_key(p.status),
            amount: locale.money(p.amount.minor(), currency),
            reference: p.reference.clone().unwrap_or_default(),
            network: p.network.clone(),
            code: crate::orders::group_code(&p.payment_code),
            fee: locale.money(p.fee.minor(), currency),
            refunded: locale.money(p.amount_refunded.minor(), currency),
            created: when(&session, p.created_at),
            expires: when(&session, p.expires_at),
            paid: p.paid_at.map(|t| when(&session, t)).unwrap_or_default(),
            voucher_url: format!("{}/v/{}", state.config.public_url(), p.page_token),
            ledger: ledger_rows(&session, locale, &ledger),
            evidence: evidence_rows(evidence),
            refunds: refunds
                .iter()
                .map(|r| RefundLine {
                    id: r.id.to_string(),
                    when: when(&session, r.created_at),
                    amount: locale.money(r.amount.minor(), r.currency.code()),
                    method: r.method.clone(),
                    status: r.status.as_str().to_string(),
                    payout: r.payout_id.map(|p| p.to_string()).unwrap_or_default(),
                })
                .collect(),
            timeline: actions::timeline_rows(&session, timeline),
            refund_left: p.amount.minor() - p.amount_refunded.minor(),
            can_refund: p.status == PayinStatus::Paid && p.amount_refunded < p.amount,
            actions: Actions::of(&session, format!("/dashboard/payins/{}", p.id), &outcome),
            nav: Nav::of(&session),
        },
    )
}

/// An audit entry as a row.
struct AuditLine {
    when: String,
    actor: String,
    action: String,
    object: String,
    ip: String,
}

#[derive(Template)]
#[template(path = "dashboard/audit.html")]
struct AuditPage {
    t: &'static Texts,
    nav: Nav,
    entries: Vec<AuditLine>,
}

#[derive(Debug, Default, Deserialize)]
struct AuditQuery {
    before: Option<String>,
}

async fn audit_page(
    State(state): State<AppState>,
    SignedIn {
        session, locale, ..
    }: SignedIn,
    Query(query): Query<AuditQuery>,
) -> Response {
    if !session.role.may_manage_users() {
        return message(StatusCode::FORBIDDEN, locale, "error.forbidden");
    }
    let before = query.before.and_then(|b| b.parse::<AuditId>().ok());
    let rows: Vec<AuditRow> =
        match users::audit_log(&state.store, session.merchant_id, before, AUDIT_ROWS).await {
            Ok(r) => r,
            Err(e) => return internal(locale, e),
        };
    render(
        StatusCode::OK,
        &AuditPage {
            t: locale.texts(),
            entries: rows
                .into_iter()
                .map(|a| AuditLine {
                    when: when(&session, Micros(a.at).to_timestamp()),
                    actor: a.actor,
                    action: a.action,
                    object: a.object_id.unwrap_or_default(),
                    ip: a.ip.unwrap_or_default(),
                })
                .collect(),
            nav: Nav::of(&session),
        },
    )
}

// ---------------------------------------------------------------------------------------------
// API keys and the test/live switch

/// A key as a row (never its secret: only the display prefix is stored).
struct KeyRow {
    id: String,
    prefix: String,
    mode_key: &'static str,
    created: String,
    last_used: String,
    revoked: bool,
}

#[derive(Template)]
#[template(path = "dashboard/keys.html")]
struct KeysPage {
    t: &'static Texts,
    nav: Nav,
    keys: Vec<KeyRow>,
    may_manage: bool,
    new_secret: Option<String>,
    error: Option<&'static str>,
}

/// The keys page, with a new secret to show once or an error.
async fn keys_response(
    state: &AppState,
    session: &Session,
    locale: Locale,
    status: StatusCode,
    new_secret: Option<String>,
    error: Option<&'static str>,
) -> Response {
    let keys = match admin::list_api_keys(&state.store, session.merchant_id, None).await {
        Ok(k) => k,
        Err(e) => return internal(locale, e),
    };
    render(
        status,
        &KeysPage {
            t: locale.texts(),
            keys: keys
                .iter()
                .map(|k| KeyRow {
                    id: k.id.to_string(),
                    prefix: k.display_prefix.clone(),
                    mode_key: if k.livemode { "mode.live" } else { "mode.test" },
                    created: when(session, k.created_at),
                    last_used: k.last_used_at.map(|t| when(session, t)).unwrap_or_default(),
                    revoked: k.revoked_at.is_some(),
                })
                .collect(),
            may_manage: session.role.may_manage_developer_settings(),
            new_secret,
            error,
            nav: Nav::of(session),
        },
    )
}

fn admin_error_key(error: &AdminError) -> Option<&'static str> {
    match error {
        AdminError::LiveModeNotAllowed { .. } => Some("keys.live_not_allowed"),
        AdminError::Suspended(_) => Some("signin.suspended"),
        AdminError::UnknownKey(_) => Some("error.not_found"),
        _ => None,
    }
}

async fn keys_page(
    State(state): State<AppState>,
    SignedIn {
        session, locale, ..
    }: SignedIn,
) -> Response {
    keys_response(&state, &session, locale, StatusCode::OK, None, None).await
}

/// A signed-in developer or owner whose form carries the session's CSRF token.
async fn developer(
    state: &AppState,
    request: &Request,
    csrf: &str,
) -> Result<(Session, Locale), Response> {
    let session = signed_in(state, request).await?;
    let locale = request.locale(Some(&session));
    if !csrf_ok(&session.row.csrf_token, csrf) {
        return Err(message(StatusCode::FORBIDDEN, locale, "error.csrf"));
    }
    if !session.role.may_manage_developer_settings() {
        return Err(message(StatusCode::FORBIDDEN, locale, "error.forbidden"));
    }
    Ok((session, locale))
}

#[derive(Debug, Deserialize)]
struct CreateKeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    mode: String,
}

async fn create_key(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<CreateKeyForm>,
) -> Response {
    let request = Request::of(&state, &parts);
    let (session, locale) = match developer(&state, &request, &form.csrf).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let mode = if form.mode == "live" {
        Mode::Live
    } else {
        Mode::Test
    };
    let created = admin::create_api_key(
        &state.store,
        state.clock.as_ref(),
        &state.keys,
        session.merchant_id,
        mode,
    )
    .await;
    match created {
        Ok((record, secret)) => {
            let id = record.id.to_string();
            if let Err(e) = users::audit(
                &state.store,
                state.clock.as_ref(),
                &session,
                "api_key.created",
                Some(&id),
                &request.origin,
            )
            .await
            {
                return internal(locale, e);
            }
            let shown = Some(secret.expose().to_owned());
            keys_response(&state, &session, locale, StatusCode::CREATED, shown, None).await
        }
        Err(e) => match admin_error_key(&e) {
            Some(key) => {
                keys_response(
                    &state,
                    &session,
                    locale,
                    StatusCode::CONFLICT,
                    None,
                    Some(key),
                )
                .await
            }
            None => internal(locale, e),
        },
    }
}

async fn roll_key(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let request = Request::of(&state, &parts);
    let (session, locale) = match developer(&state, &request, &form.csrf).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let Ok(id) = id.parse::<ApiKeyId>() else {
        return message(StatusCode::NOT_FOUND, locale, "error.not_found");
    };
    let rolled = admin::roll_api_key(
        &state.store,
        state.clock.as_ref(),
        &state.keys,
        session.merchant_id,
        id,
    )
    .await;
    match rolled {
        Ok((record, secret)) => {
            let new_id = record.id.to_string();
            if let Err(e) = users::audit(
                &state.store,
                state.clock.as_ref(),
                &session,
                "api_key.rolled",
                Some(&format!("{id} -> {new_id}")),
                &request.origin,
            )
            .await
            {
                return internal(locale, e);
            }
            let shown = Some(secret.expose().to_owned());
            keys_response(&state, &session, locale, StatusCode::CREATED, shown, None).await
        }
        Err(AdminError::UnknownKey(_)) => message(StatusCode::NOT_FOUND, locale, "error.not_found"),
        Err(e) => match admin_error_key(&e) {
            Some(key) => {
                keys_response(
                    &state,
                    &session,
                    locale,
                    StatusCode::CONFLICT,
                    None,
                    Some(key),
                )
                .await
            }
            None => internal(locale, e),
        },
    }
}

#[derive(Debug, Deserialize)]
struct RevokeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

async fn revoke_key(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<String>,
    Form(form): Form<RevokeForm>,
) -> Response {
    let request = Request::of(&state, &parts);
    let (session, locale) = match developer(&state, &request, &form.csrf).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let Ok(id) = id.parse::<ApiKeyId>() else {
        return message(StatusCode::NOT_FOUND, locale, "error.not_found");
    };
    if form.confirm != "yes" {
        return keys_response(
            &state,
            &session,
            locale,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some("keys.confirm_needed"),
        )
        .await;
    }
    match admin::revoke_merchant_api_key(
        &state.store,
        state.clock.as_ref(),
        session.merchant_id,
        id,
    )
    .await
    {
        Ok(_) => {
            if let Err(e) = users::audit(
                &state.store,
                state.clock.as_ref(),
                &session,
                "api_key.revoked",
                Some(&id.to_string()),
                &request.origin,
            )
            .await
            {
                return internal(locale, e);
            }
            redirect("/dashboard/keys")
        }
        Err(AdminError::UnknownKey(_)) => message(StatusCode::NOT_FOUND, locale, "error.not_found"),
        Err(e) => internal(locale, e),
    }
}

#[derive(Debug, Deserialize)]
struct ModeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    mode: String,
}

/// The test/live switch: live only for a merchant allowed live mode.
async fn switch_mode(
    State(state): State<AppState>,
    SignedIn {
        request,
        session,
        locale,
    }: SignedIn,
    Form(form): Form<ModeForm>,
) -> Response {
    if !csrf_ok(&session.row.csrf_token, &form.csrf) {
        return message(StatusCode::FORBIDDEN, locale, "error.csrf");
    }
    let live = form.mode == "live";
    match users::switch_mode(
        &state.store,
        state.clock.as_ref(),
        &session,
        live,
        &request.origin,
    )
    .await
    {
        Ok(()) => redirect("/dashboard"),
        Err(UsersError::LiveModeNotAllowed) => {
            message(StatusCode::CONFLICT, locale, "keys.live_not_allowed")
        }
        Err(UsersError::TotpRequired) => {
            message(StatusCode::CONFLICT, locale, "security.required_for_live")
        }
        Err(e) => internal(locale, e),
    }
}

// ---------------------------------------------------------------------------------------------
// Payouts

/// A payout as a list row.
struct PayoutRow {
    id: String,
    status: &'static str,
    status_key: &'static str,
    amount: String,
    reference: String,
    beneficiary: String,
    network: String,
    created: String,
}

fn payout_status_key(status: PayoutStatus) -> &'static str {
    match status {
        PayoutStatus::Pending => "status.pending",
        PayoutStatus::OnHold => "status.on_hold",
        PayoutStatus::Available => "status.available",
        PayoutStatus::Paid => "status.collected",
        PayoutStatus::Expired => "status.expired",
        PayoutStatus::Canceled => "status.canceled",
        PayoutStatus::Failed => "status.failed",
    }
}

/// The beneficiary's name (the document number is not listed).
fn beneficiary_name(p: &PayoutRecord) -> String {
    p.beneficiary
        .get("name")
        .and_then(|n| n.as_str())
        .unwrap_or_default()
        .to_owned()
}

fn payout_row(session: &Session, locale: Locale, p: &PayoutRecord) -> PayoutRow {
    PayoutRow {
        id: p.id.to_string(),
        status: p.status.as_str(),
        status_key: payout_status_key(p.status),
        amount: locale.money(p.amount.minor(), p.currency.code()),
        reference: p.reference.clone().unwrap_or_default(),
        beneficiary: beneficiary_name(p),
        network: p.network.clone(),
        created: when(session, p.created_at),
    }
}

#[derive(Template)]
#[template(path = "dashboard/payouts.html")]
struct PayoutsPage {
    t: &'static Texts,
    nav: Nav,
    statuses: [(&'static str, &'static str); 7],
    status: String,
    rows: Vec<PayoutRow>,
    newer: Option<String>,
    older: Option<String>,
}

async fn payouts_page(
    State(state): State<AppState>,
    SignedIn {
        session, locale, ..
    }: SignedIn,
    Query(query): Query<ListQuery>,
) -> Response {
    let status = query
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .and_then(|s| s.parse::<PayoutStatus>().ok());
    let (page, paging) = Paging::of::<cajero_domain::id::Payout>(&query);
    let (merchant, mode) = (session.merchant_id, mode(&session));
    let found = state
        .store
        .read(move |mut c| {
            Box::pin(async move { payouts::list(&mut c, merchant, mode, status, &page).await })
        })
        .await;
    let mut found = match found {
        Ok(f) => f,
        Err(e) => return internal(locale, e),
    };
    let (newer, older) = paging.links(
        &mut found,
        |p| p.id,
        "/dashboard/payouts",
        status.map(|s| s.as_str()),
    );
    render(
        StatusCode::OK,
        &PayoutsPage {
            t: locale.texts(),
            statuses: [
                ("pending", "status.pending"),
                ("on_hold", "status.on_hold"),
                ("available", "status.available"),
                ("paid", "status.collected"),
                ("expired", "status.expired"),
                ("canceled", "status.canceled"),
                ("failed", "status.failed"),
            ],
            status: status.map(|s| s.as_str().to_owned()).unwrap_or_default(),
            rows: found
                .data
                .iter()
                .map(|p| payout_row(&session, locale, p))
                .collect(),
            newer,
            older,
            nav: Nav::of(&session),
        },
    )
}

/// A counter attempt as a row.
struct AttemptRow {
    when: String,
    counter: String,
    outcome: String,
}

#[derive(Template)]
#[template(path = "dashboard/payout.html")]
struct PayoutPage {
    t: &'static Texts,
    nav: Nav,
    id: String,
    status: &'static str,
    status_key: &'static str,
    amount: String,
    reference: String,
    beneficiary: String,
    network: String,
    routing_reason: String,
    fee: String,
    created: String,
    expires: String,
    paid: String,
    failure: String,
    attempts: Vec<AttemptRow>,
    ledger: Vec<LedgerRow>,
    evidence: Vec<EvidenceRow>,
    timeline: Vec<actions::TimelineEvent>,
    /// The refund this payout pays, if any.
    refund: String,
    can_cancel: bool,
    actions: Actions,
}

async fn payout_page(
    State(state): State<AppState>,
    SignedIn {
        session, locale, ..
    }: SignedIn,
    Path(id): Path<String>,
    Query(outcome): Query<actions::Outcome>,
) -> Response {
    let Ok(id) = id.parse::<PayoutId>() else {
        return message(StatusCode::NOT_FOUND, locale, "error.not_found");
    };
    let (merchant, mode) = (session.merchant_id, mode(&session));
    let found = state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                let Some(payout) = payouts::get(&mut c, merchant, mode, id).await? else {
                    return Ok::<_, StoreError>(None);
                };
                let attempts = payouts::attempts(&mut c, id).await?;
                let ledger = dashboard::ledger_entries_of(
                    &mut c,
                    &merchant.to_string(),
                    &id.to_string(),
                    LEDGER_ROWS_MAX,
                )
                .await?;
                let evidence = network::messages_for(&mut c, &id.to_string()).await?;
                let refund = cajero_store::refunds::for_payout(&mut c, id).await?;
                let mut objects = vec![id.to_string()];
                objects.extend(refund.iter().map(|r| r.id.to_string()));
                let timeline =
                    actions::timeline(&mut c, merchant, mode.is_live(), &objects).await?;
                Ok(Some((payout, attempts, ledger, evidence, refund, timeline)))
            })
        })
        .await;
    let (p, attempts, ledger, evidence, refund, timeline) = match found {
        Ok(Some(found)) => found,
        Ok(None) => return message(StatusCode::NOT_FOUND, locale, "error.not_found"),
        Err(e) => return internal(locale, e),
    };
    let currency = p.currency.code();
    render(
        StatusCode::OK,
        &PayoutPage {
            t: locale.texts(),
            id: p.id.to_string(),
            status: p.status.as_str(),
            status_key: payout_status_key(p.status),
            amount: locale.money(p.amount.minor(), currency),
            reference: p.reference.clone().unwrap_or_default(),
            beneficiary: beneficiary_name(&p),
            network: p.network.clone(),
            routing_reason: p.routing_reason.clone().unwrap_or_default(),
            fee: locale.money(p.fee.minor(), currency),
            created: when(&session, p.created_at),
            expires: p.expires_at.map(|t| when(&session, t)).unwrap_or_default(),
            paid: p.paid_at.map(|t| when(&session, t)).unwrap_or_default(),
            failure: match (&p.failure_code, &p.failure_message) {
                (Some(code), Some(text)) => format!("{code}: {text}"),
                (Some(code), None) => code.clone(),
                _ => String::new(),
            },
            attempts: attempts
                .iter()
                .take(ATTEMPT_ROWS_MAX)
                .map(|a| AttemptRow {
                    when: when(&session, a.at),
                    counter: a.counter_id.clone(),
                    outcome: a.outcome.clone(),
                })
                .collect(),
            ledger: ledger_rows(&session, locale, &ledger),
            evidence: evidence_rows(evidence),
            timeline: actions::timeline_rows(&session, timeline),
            refund: refund.map(|r| r.id.to_string()).unwrap_or_default(),
            can_cancel: matches!(
                p.status,
                PayoutStatus::Available | PayoutStatus::Pending | PayoutStatus::OnHold
            ),
            actions: Actions::of(&session, format!("/dashboard/payouts/{}", p.id), &outcome),
            nav: Nav::of(&session),
        },
    )
}

// ---------------------------------------------------------------------------------------------
// Two-factor

#[derive(Template)]
#[template(path = "dashboard/totp.html")]
struct TotpPage {
    t: &'static Texts,
    csrf: String,
    error: Option<&'static str>,
}

async fn totp_page(State(state): State<AppState>, parts: Parts) -> Response {
    let request = Request::of(&state, &parts);
    let session = match signed_in_unverified(&state, &request).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    if session.row.verified {
        return redirect("/dashboard");
    }
    let locale = request.locale(Some(&session));
    render(
        StatusCode::OK,
        &TotpPage {
            t: locale.texts(),
            csrf: session.row.csrf_token.clone(),
            error: None,
        },
    )
}

#[derive(Debug, Deserialize)]
struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

fn code_error(error: &UsersError) -> Option<(StatusCode, &'static str)> {
    match error {
        UsersError::InvalidCode => Some((StatusCode::UNAUTHORIZED, "totp.invalid")),
        UsersError::Locked { .. } => Some((StatusCode::TOO_MANY_REQUESTS, "totp.locked")),
        _ => None,
    }
}

async fn totp_submit(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<CodeForm>,
) -> Response {
    let request = Request::of(&state, &parts);
    let session = match signed_in_unverified(&state, &request).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let locale = request.locale(Some(&session));
    if !csrf_ok(&session.row.csrf_token, &form.csrf) {
        return message(StatusCode::FORBIDDEN, locale, "error.csrf");
    }
    let verified = users::verify_totp(
        &state.store,
        state.clock.as_ref(),
        &state.secrets,
        &session,
        bounded(&form.code),
        &request.origin,
    )
    .await;
    match verified {
        Ok(()) => redirect("/dashboard"),
        Err(e) => match code_error(&e) {
            Some((status, key)) => render(
                status,
                &TotpPage {
                    t: locale.texts(),
                    csrf: session.row.csrf_token.clone(),
                    error: Some(key),
                },
            ),
            None => internal(locale, e),
        },
    }
}

/// A setup in progress, as the page shows it.
struct SetupView {
    secret: String,
    qr_svg: String,
}

#[derive(Template)]
#[template(path = "dashboard/security.html")]
struct SecurityPage {
    t: &'static Texts,
    nav: Nav,
    enabled: bool,
    setup: Option<SetupView>,
    error: Option<&'static str>,
}

fn security(
    session: &Session,
    locale: Locale,
    status: StatusCode,
    setup: Option<SetupView>,
    error: Option<&'static str>,
) -> Response {
    render(
        status,
        &SecurityPage {
            t: locale.texts(),
            enabled: session.user.totp_enabled_at.is_some(),
            setup,
            error,
            nav: Nav::of(session),
        },
    )
}

async fn security_page(
    State(_state): State<AppState>,
    SignedIn {
        session, locale, ..
    }: SignedIn,
) -> Response {
    security(&session, locale, StatusCode::OK, None, None)
}

async fn begin_totp(
    State(state): State<AppState>,
    SignedIn {
        session, locale, ..
    }: SignedIn,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !csrf_ok(&session.row.csrf_token, &form.csrf) {
        return message(StatusCode::FORBIDDEN, locale, "error.csrf");
    }
    match users::begin_totp(&state.store, state.clock.as_ref(), &state.secrets, &session).await {
        Ok(setup) => {
            let qr_svg =
                match cajero_pages::qr_svg(&setup.otpauth_url, locale.texts().get("security.qr")) {
                    Ok(svg) => svg,
                    Err(e) => return internal(locale, e),
                };
            let view = SetupView {
                secret: setup.secret_base32,
                qr_svg,
            };
            security(&session, locale, StatusCode::OK, Some(view), None)
        }
        Err(UsersError::TotpAlreadyEnabled) => {
            security(&session, locale, StatusCode::CONFLICT, None, None)
        }
        Err(e) => internal(locale, e),
    }
}

async fn confirm_totp(
    State(state): State<AppState>,
    SignedIn {
        request,
        session,
        locale,
    }: SignedIn,
    Form(form): Form<CodeForm>,
) -> Response {
    if !csrf_ok(&session.row.csrf_token, &form.csrf) {
        return message(StatusCode::FORBIDDEN, locale, "error.csrf");
    }
    let verified = users::verify_totp(
        &state.store,
        state.clock.as_ref(),
        &state.secrets,
        &session,
        bounded(&form.code),
        &request.origin,
    )
    .await;
    match verified {
        Ok(()) => redirect("/dashboard/security"),
        Err(e) => match code_error(&e) {
            Some((status, key)) => security(&session, locale, status, None, Some(key)),
            None => internal(locale, e),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Analytics: the figures of `GET /v1/analytics/success`, drawn

/// One chart and its figures as a table.
struct ChartView {
    id: &'static str,
    title: String,
    svg: String,
    table: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "dashboard/analytics.html")]
struct AnalyticsPage {
    t: &'static Texts,
    nav: Nav,
    from: String,
    to: String,
    charts: Vec<ChartView>,
}

fn percent(locale: Locale, bps: Option<i64>) -> String {
    match bps {
        None => String::from("—"),
        Some(b) => {
            let point = if locale == Locale::Es { ',' } else { '.' };
            format!("{}{point}{} %", b / 100, (b % 100) / 10)
        }
    }
}

fn bar_chart(id: &'static str, title: String, bars: Vec<charts::Bar>) -> ChartView {
    ChartView {
        id,
        svg: charts::bars(&title, &bars),
        table: bars.into_iter().map(|b| (b.label, b.shown)).collect(),
        title,
    }
}

fn duration_bars(t: &Texts, durations: &crate::analytics::Durations) -> Vec<charts::Bar> {
    durations
        .buckets
        .iter()
        .map(|b| {
            let label = match b.under_seconds {
                Some(900) => t.get("analytics.under_15m"),
                Some(3_600) => t.get("analytics.under_1h"),
                Some(21_600) => t.get("analytics.under_6h"),
                Some(86_400) => t.get("analytics.under_24h"),
                Some(259_200) => t.get("analytics.under_72h"),
                Some(_) => t.get("analytics.under_other"),
                None => t.get("analytics.over_72h"),
            };
            charts::Bar {
                label: label.to_owned(),
                value: b.count,
                shown: b.count.to_string(),
            }
        })
        .collect()
}

/// A figure of the report per day of `range`, stacked by network, with its table (days with
/// nothing left out of the table).
fn per_day_chart(
    report: &crate::analytics::SuccessReport,
    range: crate::analytics::DateRange,
    id: &'static str,
    title: String,
    figure: impl Fn(&crate::analytics::DayFigures) -> i64,
    shown: &dyn Fn(i64) -> String,
) -> ChartView {
    let networks: Vec<String> = {
        let mut n: Vec<String> = report.by_day.iter().map(|d| d.network.clone()).collect();
        n.sort();
        n.dedup();
        n
    };
    let mut columns = Vec::new();
    let mut day = range.from();
    while day <= range.to() {
        let values = networks
            .iter()
            .map(|n| {
                report
                    .by_day
                    .iter()
                    .find(|d| d.date == day && &d.network == n)
                    .map_or(0, &figure)
            })
            .collect();
        columns.push(charts::Column {
            label: day.strftime("%m-%d").to_string(),
            values,
        });
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }
    ChartView {
        id,
        svg: charts::stacked_columns(&title, &networks, &columns),
        table: columns
            .iter()
            .filter(|c| c.values.iter().any(|v| *v > 0))
            .map(|c| {
                let parts: Vec<String> = networks
                    .iter()
                    .zip(&c.values)
                    .map(|(n, v)| format!("{n} {}", shown(*v)))
                    .collect();
                (c.label.clone(), parts.join(" · "))
            })
            .collect(),
        title,
    }
}

async fn analytics_page(
    State(state): State<AppState>,
    SignedIn {
        session, locale, ..
    }: SignedIn,
) -> Response {
    let t = locale.texts();
    let today = crate::analytics::bogota_today(state.clock.now());
    let range =
        match crate::analytics::DateRange::ending(today, crate::analytics::RANGE_DAYS_DEFAULT) {
            Ok(r) => r,
            Err(e) => return internal(locale, e),
        };
    let query = crate::analytics::SuccessQuery {
        merchant: session.merchant_id,
        mode: mode(&session),
        range,
        network: None,
    };
    let report = match crate::analytics::success(&state.store, &query).await {
        Ok(r) => r,
        Err(e) => return internal(locale, e),
    };
    let money = |a: cajero_domain::money::Amount| locale.money(a.minor(), "COP");
    let mut charts = Vec::new();

    // Vouchers per day, and pesos paid in and collected per day, stacked by network.
    charts.push(per_day_chart(
        &report,
        range,
        "per_day",
        t.get("analytics.per_day").to_owned(),
        |d| d.payins.created,
        &|v| v.to_string(),
    ));
    charts.push(per_day_chart(
        &report,
        range,
        "volume_in_per_day",
        t.get("analytics.volume_in_per_day").to_owned(),
        |d| d.payins.succeeded_amount,
        &|v| locale.money(v, "COP"),
    ));
    charts.push(per_day_chart(
        &report,
        range,
        "volume_out_per_day",
        t.get("analytics.volume_out_per_day").to_owned(),
        |d| d.payouts.succeeded_amount,
        &|v| locale.money(v, "COP"),
    ));

    // The two funnels.
    let p = &report.payins;
    charts.push(bar_chart(
        "payin_funnel",
        t.get("analytics.payin_funnel").to_owned(),
        vec![
            charts::Bar {
                label: t.get("analytics.vouchers").to_owned(),
                value: p.created,
                shown: format!("{} · {}", p.created, money(p.created_amount)),
            },
            charts::Bar {
                label: t.get("status.paid").to_owned(),
                value: p.paid,
                shown: format!("{} · {}", p.paid, money(p.paid_amount)),
            },
        ],
    ));
    let q = &report.payouts;
    charts.push(bar_chart(
        "payout_funnel",
        t.get("analytics.payout_funnel").to_owned(),
        vec![
            charts::Bar {
                label: t.get("analytics.codes").to_owned(),
                value: q.created,
                shown: format!("{} · {}", q.created, money(q.created_amount)),
            },
            charts::Bar {
                label: t.get("status.collected").to_owned(),
                value: q.collected,
                shown: format!("{} · {}", q.collected, money(q.collected_amount)),
            },
        ],
    ));

    // Success rate per network and per counter.
    let mut rate_bars = Vec::new();
    for n in &report.by_network {
        rate_bars.push(charts::Bar {
            label: format!("{} · {}", n.network, t.get("nav.payins")),
            value: n.payins.rate_bps.unwrap_or(0),
            shown: percent(locale, n.payins.rate_bps),
        });
        rate_bars.push(charts::Bar {
            label: format!("{} · {}", n.network, t.get("nav.payouts")),
            value: n.payouts.rate_bps.unwrap_or(0),
            shown: percent(locale, n.payouts.rate_bps),
        });
    }
    charts.push(bar_chart(
        "rate_by_network",
        t.get("analytics.rate_by_network").to_owned(),
        rate_bars,
    ));
    let counter_bars = report
        .by_counter
        .data
        .iter()
        .take(COUNTERS_CHARTED)
        .map(|c| {
            let refused: i64 = c.payouts.failed_attempts.values().sum();
            let done = c.payins.paid + c.payouts.collected;
            let rate = crate::analytics::rate_bps(done, done + refused);
            charts::Bar {
                label: format!("{} · {}", c.network, c.counter_id),
                value: rate.unwrap_or(0),
                shown: format!("{} ({done}/{})", percent(locale, rate), done + refused),
            }
        })
        .collect();
    charts.push(bar_chart(
        "rate_by_counter",
        t.get("analytics.rate_by_counter").to_owned(),
        counter_bars,
    ));

    // How long paying and collecting took.
    charts.push(bar_chart(
        "time_to_pay",
        t.get("analytics.time_to_pay").to_owned(),
        duration_bars(t, &p.time_to_pay),
    ));
    charts.push(bar_chart(
        "time_to_collect",
        t.get("analytics.time_to_collect").to_owned(),
        duration_bars(t, &q.time_to_collect),
    ));

    render(
        StatusCode::OK,
        &AnalyticsPage {
            t,
            from: range.from().to_string(),
            to: range.to().to_string(),
            charts,
            nav: Nav::of(&session),
        },
    )
}

/// Counters on the success-rate chart (the busiest first).
pub const COUNTERS_CHARTED: usize = 10;

// ---------------------------------------------------------------------------------------------
// Webhook endpoints (the same `webhook::endpoints` service as `/v1/webhook_endpoints`)

/// Endpoints listed (a merchant has at most a few per mode).
pub const ENDPOINT_ROWS: u32 = 100;

struct EndpointRow {
    id: String,
    url: String,
    events: String,
    status: String,
    created: String,
}

#[derive(Template)]
#[template(path = "dashboard/webhooks.html")]
struct WebhooksPage {
    t: &'static Texts,
    nav: Nav,
    endpoints: Vec<EndpointRow>,
    may_manage: bool,
    new_secret: Option<String>,
    error: Option<&'static str>,
    detail: Option<String>,
}

async fn webhooks_response(
    state: &AppState,
    session: &Session,
    locale: Locale,
    status: StatusCode,
    new_secret: Option<String>,
    error: Option<(&'static str, Option<String>)>,
) -> Response {
    let (merchant, livemode) = (session.merchant_id, session.row.livemode);
    let page = PageRequest {
        limit: ENDPOINT_ROWS,
        cursor: Cursor::Newest,
    };
    let found = state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                cajero_store::webhooks::list_endpoints(&mut c, merchant, livemode, &page).await
            })
        })
        .await;
    let found = match found {
        Ok(f) => f,
        Err(e) => return internal(locale, e),
    };
    let (error, detail) = match error {
        Some((key, detail)) => (Some(key), detail),
        None => (None, None),
    };
    render(
        status,
        &WebhooksPage {
            t: locale.texts(),
            endpoints: found
                .data
                .iter()
                .map(|e| EndpointRow {
                    id: e.id.to_string(),
                    url: e.url.clone(),
                    events: e
                        .enabled_events
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                    status: e.status.as_str().to_owned(),
                    created: when(session, e.created_at),
                })
                .collect(),
            may_manage: session.role.may_manage_developer_settings(),
            new_secret,
            error,
            detail,
            nav: Nav::of(session),
        },
    )
}

async fn webhooks_page(
    State(state): State<AppState>,
    SignedIn {
        session, locale, ..
    }: SignedIn,
) -> Response {
    webhooks_response(&state, &session, locale, StatusCode::OK, None, None).await
}

/// The secret in a service's answer (creation and rotation show it once).
fn shown_secret(answer: &serde_json::Value) -> Option<String> {
    answer
        .get("secret")
        .and_then(|s| s.as_str())
        .map(str::to_owned)
}

fn webhook_error(error: &crate::webhook::WebhookError) -> Option<(StatusCode, &'static str)> {
    use crate::webhook::WebhookError as E;
    match error {
        E::EndpointMissing(_) => Some((StatusCode::NOT_FOUND, "error.not_found")),
        E::Url(_) => Some((StatusCode::UNPROCESSABLE_ENTITY, "webhooks.url_refused")),
        E::Field { .. } | E::EnabledEvents(_) => {
            Some((StatusCode::UNPROCESSABLE_ENTITY, "webhooks.invalid"))
        }
        E::TooManyEndpoints(_) => Some((StatusCode::CONFLICT, "webhooks.too_many")),
        _ => None,
    }
}

#[derive(Debug, Deserialize)]
struct WebhookForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    description: String,
}

async fn webhook_outcome(
    state: &AppState,
    request: &Request,
    session: &Session,
    locale: Locale,
    action: &str,
    object: &str,
    result: Result<serde_json::Value, crate::webhook::WebhookError>,
) -> Response {
    match result {
        Ok(answer) => {
            if let Err(e) = users::audit(
                &state.store,
                state.clock.as_ref(),
                session,
                action,
                Some(object),
                &request.origin,
            )
            .await
            {
                return internal(locale, e);
            }
            match shown_secret(&answer) {
                Some(secret) => {
                    webhooks_response(state, session, locale, StatusCode::OK, Some(secret), None)
                        .await
                }
                None => redirect("/dashboard/webhooks"),
            }
        }
        Err(e) => match webhook_error(&e) {
            Some((status, key)) => {
                let detail = matches!(
                    e,
                    crate::webhook::WebhookError::Url(_)
                        | crate::webhook::WebhookError::Field { .. }
                )
                .then(|| e.to_string());
                webhooks_response(state, session, locale, status, None, Some((key, detail))).await
            }
            None => internal(locale, e),
        },
    }
}

async fn create_webhook(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<WebhookForm>,
) -> Response {
    let request = Request::of(&state, &parts);
    let (session, locale) = match developer(&state, &request, &form.csrf).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let livemode = session.row.livemode;
    let url = form.url.trim().to_owned();
    let allow_loopback = state.config.webhooks.allow_loopback_in_test_mode;
    let id: cajero_domain::id::WebhookEndpointId = crate::clock::new_id(state.clock.as_ref());
    let result = match crate::webhook::endpoints::check_url(&url, livemode, allow_loopback).await {
        Err(e) => Err(e),
        Ok(()) => {
            let params = crate::webhook::endpoints::EndpointParams {
                url: Some(url),
                enabled_events: Some(vec![String::from("*")]),
                description: Some(form.description.trim().to_owned()).filter(|d| !d.is_empty()),
                metadata: None,
                disabled: None,
            };
            let (secrets, merchant, now) = (
                state.secrets.clone(),
                session.merchant_id,
                state.clock.now(),
            );
            state
                .store
                .write(move |mut c| {
                    Box::pin(async move {
                        crate::webhook::endpoints::create(
                            &mut c, &secrets, merchant, livemode, id, params, now,
                        )
                        .await
                    })
                })
                .await
        }
    };
    webhook_outcome(
        &state,
        &request,
        &session,
        locale,
        "webhook_endpoint.created",
        &id.to_string(),
        result,
    )
    .await
}

async fn rotate_webhook(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let request = Request::of(&state, &parts);
    let (session, locale) = match developer(&state, &request, &form.csrf).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let Ok(id) = id.parse::<cajero_domain::id::WebhookEndpointId>() else {
        return message(StatusCode::NOT_FOUND, locale, "error.not_found");
    };
    let (secrets, merchant, livemode, now) = (
        state.secrets.clone(),
        session.merchant_id,
        session.row.livemode,
        state.clock.now(),
    );
    let result = state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                crate::webhook::endpoints::rotate_secret(
                    &mut c, &secrets, merchant, livemode, id, now,
                )
                .await
            })
        })
        .await;
    webhook_outcome(
        &state,
        &request,
        &session,
        locale,
        "webhook_endpoint.secret_rotated",
        &id.to_string(),
        result,
    )
    .await
}

async fn delete_webhook(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<String>,
    Form(form): Form<RevokeForm>,
) -> Response {
    let request = Request::of(&state, &parts);
    let (session, locale) = match developer(&state, &request, &form.csrf).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let Ok(id) = id.parse::<cajero_domain::id::WebhookEndpointId>() else {
        return message(StatusCode::NOT_FOUND, locale, "error.not_found");
    };
    if form.confirm != "yes" {
        return webhooks_response(
            &state,
            &session,
            locale,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(("keys.confirm_needed", None)),
        )
        .await;
    }
    let (merchant, livemode, now) = (session.merchant_id, session.row.livemode, state.clock.now());
    let result = state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                crate::webhook::endpoints::delete(&mut c, merchant, livemode, id, now).await
            })
        })
        .await;
    webhook_outcome(
        &state,
        &request,
        &session,
        locale,
        "webhook_endpoint.deleted",
        &id.to_string(),
        result,
    )
    .await
}
