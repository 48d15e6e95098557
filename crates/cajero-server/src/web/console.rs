//! The operator's console (`/console`): the platform's staff run merchants, their KYC reviews,
//! fees, settlement terms, FX rates, top-ups, alerts, reconciliation exceptions and held
//! payouts from here, and search the audit log. A face only: every action is a service call
//! ([`crate::platform`], [`crate::operators`], [`crate::payouts`]) with the operator's reason.
//!
//! Apart from the merchants' dashboard: its own accounts (`cajero operator add`), cookie (path
//! `/console`) and sign-in; two-factor is required (an operator sets it up at the first sign-in,
//! before anything else opens). Every form carries the session's CSRF token and a reason; every
//! action is audited with it. The console is in English.

use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::{Form, Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode, request::Parts};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use cajero_domain::id::{AlertId, MerchantId, PayoutId, TopupId};
use cajero_domain::kyc::{KycAction, KycStatus};
use cajero_domain::ledger::fees::FeePlan;
use cajero_domain::ledger::settlement::CopPerUsd;
use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_domain::money::{BasisPoints, Currency};
use cajero_store::exceptions::ExceptionFilter;
use cajero_store::operators::{AuditEntry, AuditSearch, MerchantOverview};
use cajero_store::{Micros, StoreError, merchant_settings};
use jiff::Timestamp;
use serde::Deserialize;

use super::{Request, bounded, csrf_ok, harden, redirect, render, secure, set_cookie};
use crate::AppState;
use crate::operators::{self, Acting, OperatorSession, Reason};
use crate::users::{Origin, UsersError};

/// The console's session cookie.
pub const SESSION_COOKIE: &str = "cajero_operator";
/// The console's pre-session CSRF cookie.
pub const CSRF_COOKIE: &str = "cajero_console_csrf";
/// Rows a console list shows.
pub const LIST_ROWS: i64 = 200;
/// The newest open alerts, as many as a page of the alerts' listing holds.
const NEWEST_ALERTS: cajero_store::page::PageRequest = cajero_store::page::PageRequest {
    limit: 100,
    cursor: cajero_store::page::Cursor::Newest,
};

mod risk;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(home))
        .route("/console/login", get(sign_in_page).post(sign_in))
        .route("/console/totp", get(totp_page).post(totp_submit))
        .route("/console/logout", post(sign_out))
        .route("/console/merchants", get(merchants_page))
        .route("/console/merchants/{id}", get(merchant_page))
        .route("/console/merchants/{id}/status", post(set_status))
        .route("/console/merchants/{id}/kyc", post(kyc_step))
        .route("/console/merchants/{id}/fees", post(set_fees))
        .route("/console/merchants/{id}/terms", post(set_terms))
        .route("/console/merchants/{id}/documents/{doc}", get(document))
        .route(
            "/console/merchants/{id}/payouts/cancel",
            post(cancel_payout),
        )
        .route("/console/kyc", get(kyc_queue))
        .route("/console/fx", get(fx_page).post(set_fx))
        .route("/console/topups", get(topups_page))
        .route("/console/topups/{id}/confirm", post(confirm_topup))
        .route("/console/alerts", get(alerts_page))
        .route("/console/alerts/{id}/resolve", post(resolve_alert))
        .route("/console/exceptions", get(exceptions_page))
        .route("/console/exceptions/{id}/resolve", post(resolve_exception))
        .route("/console/payouts/held", get(held_page))
        .route("/console/payouts/{id}/release", post(release_payout))
        .route("/console/payins/{id}/release", post(risk::release_payin))
        .route("/console/payins/{id}/refuse", post(risk::refuse_payin))
        .route("/console/risk", get(risk::risk_page))
        .route("/console/risk/rules", post(risk::set_rules))
        .route("/console/risk/blocklist", post(risk::block))
        .route("/console/risk/blocklist/{id}/remove", post(risk::unblock))
        .route("/console/audit", get(audit_page))
}

// ---------------------------------------------------------------------------------------------
// Sessions

/// A console request from a signed-in operator whose code is given.
struct Operator {
    request: Request,
    session: OperatorSession,
}

impl axum::extract::FromRequestParts<AppState> for Operator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let request = Request::of(state, parts);
        let session = signed_in(state, &request).await?;
        if !session.row.verified {
            return Err(redirect("/console/totp"));
        }
        Ok(Operator { request, session })
    }
}

async fn signed_in(state: &AppState, request: &Request) -> Result<OperatorSession, Response> {
    let Some(token) = request.cookie(SESSION_COOKIE) else {
        return Err(redirect("/console/login"));
    };
    match operators::authenticate(&state.store, state.clock.as_ref(), &token).await {
        Ok(Some(session)) => Ok(session),
        Ok(None) => {
            let mut response = redirect("/console/login");
            set_cookie(&mut response, expired(SESSION_COOKIE));
            Err(response)
        }
        Err(e) => Err(failure(e)),
    }
}

fn expired(name: &str) -> String {
    format!("{name}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// The navigation bar's values.
struct Nav {
    operator: String,
    csrf: String,
}

impl Nav {
    fn of(session: &OperatorSession) -> Nav {
        Nav {
            operator: session.operator.email.clone(),
            csrf: session.row.csrf_token.clone(),
        }
    }
}

fn when(at: i64) -> String {
    cajero_domain::calendar::bogota()
        .to_datetime(Micros(at).to_timestamp())
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
}

#[derive(Template)]
#[template(path = "console/outcome.html")]
struct OutcomePage {
    nav: Option<Nav>,
    title: String,
    message: String,
    back: String,
    ok: bool,
}

/// A page saying what happened, with the way back.
fn outcome(
    status: StatusCode,
    session: Option<&OperatorSession>,
    title: &str,
    message: String,
    back: &str,
) -> Response {
    render(
        status,
        &OutcomePage {
            nav: session.map(Nav::of),
            title: title.to_owned(),
            message,
            back: back.to_owned(),
            ok: status.is_success(),
        },
    )
}

fn failure(error: impl std::fmt::Display) -> Response {
    tracing::error!(error = %error, "a console request failed");
    outcome(
        StatusCode::INTERNAL_SERVER_ERROR,
        None,
        "Something went wrong",
        "The request failed; nothing was changed by this page. The server's log has the details."
            .into(),
        "/console",
    )
}

// ---------------------------------------------------------------------------------------------
// Sign-in and two-factor

#[derive(Template)]
#[template(path = "console/signin.html")]
struct SignInPage {
    csrf: String,
    email: String,
    error: Option<String>,
}

fn login_csrf(state: &AppState, request: &Request) -> (String, Option<String>) {
    match request.cookie(CSRF_COOKIE).filter(|c| c.len() >= 32) {
        Some(token) => (token, None),
        None => {
            let token = crate::users::random_token();
            let cookie = format!(
                "{CSRF_COOKIE}={token}; Path=/console; HttpOnly; SameSite=Strict{}",
                secure(state)
            );
            (token, Some(cookie))
        }
    }
}

async fn sign_in_page(State(state): State<AppState>, parts: Parts) -> Response {
    let request = Request::of(&state, &parts);
    let (csrf, cookie) = login_csrf(&state, &request);
    let mut response = render(
        StatusCode::OK,
        &SignInPage {
            csrf,
            email: String::new(),
            error: None,
        },
    );
    if let Some(c) = cookie {
        set_cookie(&mut response, c);
    }
    response
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
    let expected = request.cookie(CSRF_COOKIE).unwrap_or_default();
    if !csrf_ok(&expected, &form.csrf) {
        return forbidden();
    }
    let ip = request.origin.ip.as_deref().and_then(|i| i.parse().ok());
    let again = |error: String, status: StatusCode| {
        render(
            status,
            &SignInPage {
                csrf: expected.clone(),
                email: bounded(&form.email).to_owned(),
                error: Some(error),
            },
        )
    };
    let throttled = "Too many failed sign-ins from here: wait a few minutes.".to_owned();
    if state.rate_limits.check_blocked(ip).is_err() {
        return again(throttled, StatusCode::TOO_MANY_REQUESTS);
    }
    let result = operators::sign_in(
        &state.store,
        state.clock.as_ref(),
        bounded(&form.email),
        bounded(&form.password),
        &request.origin,
    )
    .await;
    match result {
        Ok(opened) => {
            let mut response = redirect("/console/totp");
            set_cookie(
                &mut response,
                format!(
                    "{SESSION_COOKIE}={}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{}",
                    opened.token,
                    crate::users::SESSION_ABSOLUTE.as_secs(),
                    secure(&state)
                ),
            );
            set_cookie(&mut response, expired(CSRF_COOKIE));
            response
        }
        Err(UsersError::InvalidCredentials) => {
            if state.rate_limits.record_failure(ip).is_some() {
                again(throttled, StatusCode::TOO_MANY_REQUESTS)
            } else {
                again(
                    "Wrong e-mail address or password.".into(),
                    StatusCode::UNAUTHORIZED,
                )
            }
        }
        Err(UsersError::Locked { until }) => again(
            format!("Too many failed attempts: this account is locked until {until} (UTC)."),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Err(e) => failure(e),
    }
}

fn forbidden() -> Response {
    outcome(
        StatusCode::FORBIDDEN,
        None,
        "Form expired",
        "This form's security token is missing or out of date. Go back, reload the page and try again."
            .into(),
        "/console",
    )
}

#[derive(Template)]
#[template(path = "console/totp.html")]
struct TotpPage {
    csrf: String,
    setup: Option<(String, String)>,
    error: Option<String>,
}

async fn totp_page(State(state): State<AppState>, parts: Parts) -> Response {
    let request = Request::of(&state, &parts);
    let session = match signed_in(&state, &request).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    if session.row.verified {
        return redirect("/console");
    }
    let setup = if session.operator.totp_enabled_at.is_none() {
        // First sign-in: two-factor is set up before anything else opens.
        match operators::begin_totp(&state.store, state.clock.as_ref(), &state.secrets, &session)
            .await
        {
            Ok(setup) => match cajero_pages::qr_svg(&setup.otpauth_url, "Two-factor QR code") {
                Ok(svg) => Some((setup.secret_base32, svg)),
                Err(e) => return failure(e),
            },
            Err(e) => return failure(e),
        }
    } else {
        None
    };
    render(
        StatusCode::OK,
        &TotpPage {
            csrf: session.row.csrf_token.clone(),
            setup,
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

async fn totp_submit(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<CodeForm>,
) -> Response {
    let request = Request::of(&state, &parts);
    let session = match signed_in(&state, &request).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    if !csrf_ok(&session.row.csrf_token, &form.csrf) {
        return forbidden();
    }
    let verified = operators::verify_totp(
        &state.store,
        state.clock.as_ref(),
        &state.secrets,
        &session,
        bounded(&form.code),
        &request.origin,
    )
    .await;
    let again = |error: String, status: StatusCode| {
        render(
            status,
            &TotpPage {
                csrf: session.row.csrf_token.clone(),
                setup: None,
                error: Some(error),
            },
        )
    };
    match verified {
        Ok(()) => redirect("/console"),
        Err(UsersError::InvalidCode) => again(
            "Wrong or already used code. Enter the current code from your authenticator app."
                .into(),
            StatusCode::UNAUTHORIZED,
        ),
        Err(UsersError::Locked { until }) => again(
            format!("Too many failed attempts: this account is locked until {until} (UTC)."),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Err(e) => failure(e),
    }
}

#[derive(Debug, Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn sign_out(
    State(state): State<AppState>,
    Operator { request, session }: Operator,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !csrf_ok(&session.row.csrf_token, &form.csrf) {
        return forbidden();
    }
    if let Err(e) = operators::sign_out(
        &state.store,
        state.clock.as_ref(),
        &session,
        &request.origin,
    )
    .await
    {
        return failure(e);
    }
    let mut response = redirect("/console/login");
    set_cookie(&mut response, expired(SESSION_COOKIE));
    response
}

// ---------------------------------------------------------------------------------------------
// Actions: every one with the CSRF token and a reason

/// The fields every action's form carries.
#[derive(Debug, Deserialize)]
struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    /// The form's one-time token (actions that go through an idempotency key).
    #[serde(default)]
    form_token: String,
    /// What to do, for forms with several buttons.
    #[serde(default)]
    action: String,
    /// A rule set's JSON document.
    #[serde(default)]
    rules: String,
    /// A blocklist entry's kind.
    #[serde(default)]
    kind: String,
    /// A blocklist entry's value.
    #[serde(default)]
    value: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    plan: String,
    #[serde(default)]
    delay_business_days: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    fx_markup_bps: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    cop_per_usd: String,
    #[serde(default)]
    resolution: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    merchant: String,
    #[serde(default)]
    payout: String,
}

/// The acting operator with the form's reason, or the page refusing the form.
#[allow(clippy::result_large_err)] // The error is the page to answer, made once per request.
fn acting(
    session: &OperatorSession,
    origin: &Origin,
    form: &ActionForm,
    back: &str,
) -> Result<Acting, Response> {
    if !csrf_ok(&session.row.csrf_token, &form.csrf) {
        return Err(forbidden());
    }
    match Reason::parse(&form.reason) {
        Ok(reason) => Ok(Acting::of(session, origin, reason)),
        Err(e) => Err(outcome(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(session),
            "A reason is required",
            e.to_string(),
            back,
        )),
    }
}

/// The page after an action: done, or refused with why.
fn done<T, E: std::fmt::Display>(
    session: &OperatorSession,
    result: Result<T, E>,
    what: &str,
    back: &str,
) -> Response {
    match result {
        Ok(_) => outcome(StatusCode::OK, Some(session), "Done", what.to_owned(), back),
        Err(e) => outcome(
            StatusCode::CONFLICT,
            Some(session),
            "Refused",
            e.to_string(),
            back,
        ),
    }
}

/// The merchant a form acts on, who acts and why, and the merchant's page to go back to; or
/// the page refusing the form.
#[allow(clippy::result_large_err)] // The error is the page to answer, made once per request.
fn merchant_form(
    session: &OperatorSession,
    origin: &Origin,
    id: &str,
    form: &ActionForm,
) -> Result<(MerchantId, Acting, String), Response> {
    let back = format!("/console/merchants/{id}");
    let merchant = merchant_id(id).ok_or_else(|| not_found(session))?;
    let acting = acting(session, origin, form, &back)?;
    Ok((merchant, acting, back))
}

/// The page refusing a form's values, saying why.
fn refused(session: &OperatorSession, message: String, back: &str) -> Response {
    outcome(
        StatusCode::UNPROCESSABLE_ENTITY,
        Some(session),
        "Refused",
        message,
        back,
    )
}

fn merchant_id(text: &str) -> Option<MerchantId> {
    text.parse().ok()
}

fn not_found(session: &OperatorSession) -> Response {
    outcome(
        StatusCode::NOT_FOUND,
        Some(session),
        "Not found",
        "There is no such object.".into(),
        "/console",
    )
}

fn mode_of(text: &str) -> Mode {
    if text == "live" {
        Mode::Live
    } else {
        Mode::Test
    }
}

async fn set_status(
    State(state): State<AppState>,
    Operator { request, session }: Operator,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Response {
    let (merchant, acting, back) = match merchant_form(&session, &request.origin, &id, &form) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let status = match form.status.as_str() {
        "active" => MerchantStatus::Active,
        "suspended" => MerchantStatus::Suspended,
        _ => {
            return refused(
                &session,
                "The status must be active or suspended.".into(),
                &back,
            );
        }
    };
    let result = crate::platform::set_merchant_status(
        &state.store,
        state.clock.as_ref(),
        merchant,
        status,
        &acting,
    )
    .await;
    done(
        &session,
        result,
        &format!("Merchant {merchant} is now {status}."),
        &back,
    )
}

async fn kyc_step(
    State(state): State<AppState>,
    Operator { request, session }: Operator,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Response {
    let (merchant, acting, back) = match merchant_form(&session, &request.origin, &id, &form) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let action = match form.action.as_str() {
        "start_review" => KycAction::StartReview,
        "request_info" => KycAction::RequestInfo,
        "approve" => KycAction::Approve,
        "reject" => KycAction::Reject,
        _ => {
            return refused(&session, "Unknown KYC step.".into(), &back);
        }
    };
    let result = crate::platform::decide_kyc(&state, merchant, action, &acting).await;
    let what = match &result {
        Ok(view) => format!("The application of {merchant} is now {}.", view.status),
        Err(_) => String::new(),
    };
    done(&session, result, &what, &back)
}

async fn set_fees(
    State(state): State<AppState>,
    Operator { request, session }: Operator,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Response {
    let (merchant, acting, back) = match merchant_form(&session, &request.origin, &id, &form) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let plan: FeePlan = match serde_json::from_str(&form.plan) {
        Ok(plan) => plan,
        Err(e) => {
            return refused(
                &session,
                format!("The fee plan is not valid JSON of a plan: {e}"),
                &back,
            );
        }
    };
    let mode = mode_of(&form.mode);
    let result = crate::platform::set_fee_plan(
        &state.store,
        state.clock.as_ref(),
        merchant,
        mode,
        plan,
        &acting,
    )
    .await;
    done(
        &session,
        result,
        &format!("The {mode} fee plan of {merchant} is set."),
        &back,
    )
}

async fn set_terms(
    State(state): State<AppState>,
    Operator { request, session }: Operator,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Response {
    let (merchant, acting, back) = match merchant_form(&session, &request.origin, &id, &form) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let Ok(delay) = form.delay_business_days.trim().parse::<u32>() else {
        return refused(
            &session,
            "The delay must be a whole number of business days (0–30).".into(),
            &back,
        );
    };
    let currency = match form.currency.as_str() {
        "COP" => Currency::Cop,
        "USD" => Currency::Usd,
        _ => return refused(&session, "The currency must be COP or USD.".into(), &back),
    };
    let markup = match form
        .fx_markup_bps
        .trim()
        .parse::<u32>()
        .ok()
        .and_then(|b| BasisPoints::new(b).ok())
    {
        Some(m) => m,
        None => {
            return refused(
                &session,
                "The FX markup must be 0 to 10,000 basis points.".into(),
                &back,
            );
        }
    };
    let mode = mode_of(&form.mode);
    let terms = cajero_domain::ledger::settlement::SettlementTerms {
        delay_business_days: delay,
        currency,
        fx_markup: markup,
    };
    let result = crate::platform::set_settlement_terms(
        &state.store,
        state.clock.as_ref(),
        merchant,
        mode,
        terms,
        &acting,
    )
    .await;
    done(
        &session,
        result,
        &format!("The {mode} settlement terms of {merchant} are set."),
        &back,
    )
}

/// Cancels one of the merchant's open payouts (held, pending or with its code out): the
/// operator services a suspended merchant's orders, or refuses a held payout. Through the same
/// service and idempotency as the API (the form's token is the key).
async fn cancel_payout(
    State(state): State<AppState>,
    Operator { request, session }: Operator,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Response {
    let (merchant, acting, back) = match merchant_form(&session, &request.origin, &id, &form) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let Ok(payout_id) = form.payout.trim().parse::<PayoutId>() else {
        return not_found(&session);
    };
    let found = state
        .store
        .read(move |mut c| {
            Box::pin(async move { cajero_store::payouts::get_any(&mut c, payout_id).await })
        })
        .await;
    let payout = match found {
        Ok(Some(p)) if p.merchant_id == merchant => p,
        Ok(_) => return not_found(&session),
        Err(e) => return failure(e),
    };
    let caller = crate::auth::Caller::dashboard(merchant, payout.mode);
    let key = crate::idempotency::IdempotencyKey::of_form(&state, &form.form_token);
    let answer = crate::payouts::cancel(&state, caller, key, payout).await;
    let result = match answer {
        Ok(answer) => match answer.refusal() {
            None => Ok(()),
            Some((code, message)) => {
                Err(format!("The payout was not canceled: {message} ({code})."))
            }
        },
        Err(e) => Err(format!(
            "The payout was not canceled: {} ({}).",
            e.message, e.code
        )),
    };
    if result.is_ok() {
        let audit = operators::audit_row(
            state.clock.as_ref(),
            &acting,
            "payout.canceled_by_operator",
            Some(merchant.to_string()),
            Some(payout_id.to_string()),
        );
        let reason = acting.reason.clone();
        let recorded = state
            .store
            .write(move |mut c| {
                Box::pin(async move {
                    cajero_store::operators::insert_audit(&mut c, &audit, Some(reason.as_str()))
                        .await
                })
            })
            .await;
        if let Err(e) = recorded {
            return failure(e);
        }
    }
    done(
        &session,
        result,
        &format!("Payout {payout_id} is canceled; its reserved funds are back on the balance."),
        &back,
    )
}

/// Releases a held payout: its code is asked of the network as for a new payout.
async fn release_payout(
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
    let Ok(payout_id) = id.parse::<PayoutId>() else {
        return not_found(&session);
    };
    let found = state
        .store
        .read(move |mut c| {
            Box::pin(async move { cajero_store::payouts::get_any(&mut c, payout_id).await })
        })
        .await;
    let payout = match found {
        Ok(Some(p)) => p,
        Ok(None) => return not_found(&session),
        Err(e) => return failure(e),
    };
    let audit = operators::audit_row(
        state.clock.as_ref(),
        &acting,
        "payout.released",
        Some(payout.merchant_id.to_string()),
        Some(payout_id.to_string()),
    );
    let key = crate::idempotency::IdempotencyKey::of_form(&state, &form.form_token);
    let answer = crate::payouts::release(
        &state,
        key,
        payout,
        audit,
        acting.reason.as_str().to_owned(),
    )
    .await;
    let result = match answer {
        Ok(answer) => match answer.refusal() {
            None => Ok(answer
                .object()
                .and_then(|o| o.get("status").and_then(|s| s.as_str()).map(str::to_owned))
                .unwrap_or_default()),
            Some((code, message)) => Err(format!("Not released: {message} ({code}).")),
        },
        Err(e) => Err(format!("Not released: {} ({}).", e.message, e.code)),
    };
    let what = match &result {
        Ok(status) => format!("Payout {payout_id} is released; it is now {status}."),
        Err(_) => String::new(),
    };
    done(&session, result, &what, back)
}

async fn set_fx(
    State(state): State<AppState>,
    Operator { request, session }: Operator,
    Form(form): Form<ActionForm>,
) -> Response {
    let back = "/console/fx";
    let acting = match acting(&session, &request.origin, &form, back) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Ok(date) = form.date.trim().parse::<jiff::civil::Date>() else {
        return refused(&session, "The day must be a date, YYYY-MM-DD.".into(), back);
    };
    let rate = match CopPerUsd::parse(form.cop_per_usd.trim()) {
        Ok(r) => r,
        Err(e) => return refused(&session, format!("The rate is not valid: {e}"), back),
    };
    let result =
        crate::platform::set_fx_rate(&state.store, state.clock.as_ref(), date, rate, &acting).await;
    done(
        &session,
        result,
        &format!("{date}: 1 USD = {rate} COP."),
        back,
    )
}

async fn confirm_topup(
    State(state): State<AppState>,
    Operator { request, session }: Operator,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Response {
    let back = "/console/topups";
    let acting = match acting(&session, &request.origin, &form, back) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Ok(topup) = id.parse::<TopupId>() else {
        return not_found(&session);
    };
    let result =
        crate::platform::confirm_topup(&state.store, state.clock.as_ref(), topup, &acting).await;
    done(
        &session,
        result,
        &format!("Top-up {topup} is confirmed: its money is on the merchant's balance."),
        back,
    )
}

async fn resolve_alert(
    State(state): State<AppState>,
    Operator { request, session }: Operator,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Response {
    let back = "/console/alerts";
    let acting = match acting(&session, &request.origin, &form, back) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Ok(alert) = id.parse::<AlertId>() else {
        return not_found(&session);
    };
    let result =
        crate::platform::resolve_alert(&state.store, state.clock.as_ref(), alert, &acting).await;
    done(
        &session,
        result,
        &format!("Alert {alert} is resolved."),
        back,
    )
}

async fn resolve_exception(
    State(state): State<AppState>,
    Operator { request, session }: Operator,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Response {
    let back = "/console/exceptions";
    let acting = match acting(&session, &request.origin, &form, back) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Some(resolution) = crate::reconciliation::Resolution::parse(&form.resolution) else {
        return refused(
            &session,
            "Choose how the exception is resolved.".into(),
            back,
        );
    };
    let amount = match form.amount.trim() {
        "" => None,
        text => match text.parse::<i64>() {
            Ok(a) => Some(a),
            Err(_) => {
                return refused(
                    &session,
                    "The amount must be whole pesos (+ credits the merchant).".into(),
                    back,
                );
            }
        },
    };
    let merchant = match form.merchant.trim() {
        "" => None,
        text => match merchant_id(text) {
            Some(m) => Some(m),
            None => return refused(&session, "The merchant must be an id (mer_…).".into(), back),
        },
    };
    let result = crate::platform::resolve_exception(
        &state.store,
        &state.clock,
        bounded(&id),
        resolution,
        amount,
        merchant,
        &acting,
    )
    .await;
    done(
        &session,
        result,
        &format!(
            "Exception {} is resolved ({}).",
            bounded(&id),
            resolution.as_str()
        ),
        back,
    )
}

// ---------------------------------------------------------------------------------------------
// Pages

#[derive(Template)]
#[template(path = "console/home.html")]
struct HomePage {
    nav: Nav,
    to_review: usize,
    in_review: usize,
    open_alerts: usize,
    open_exceptions: i64,
    pending_topups: usize,
    held_payouts: usize,
    health: Vec<HealthLine>,
}

struct HealthLine {
    mode: &'static str,
    route: String,
    network: String,
    state: String,
    failures: String,
    latency: String,
    last_error: String,
}

async fn home(State(state): State<AppState>, Operator { session, .. }: Operator) -> Response {
    let now = state.clock.now();
    let counted = state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                let to_review =
                    cajero_store::kyc::queue(&mut c, "submitted", crate::kyc::QUEUE_MAX).await?;
                let in_review =
                    cajero_store::kyc::queue(&mut c, "in_review", crate::kyc::QUEUE_MAX).await?;
                let alerts = cajero_store::alerts::list(
                    &mut c,
                    &cajero_store::alerts::AlertFilter {
                        status: Some("open".into()),
                        ..Default::default()
                    },
                    &NEWEST_ALERTS,
                )
                .await?;
                let exceptions = cajero_store::exceptions::count_open(&mut c, Mode::Live).await?
                    + cajero_store::exceptions::count_open(&mut c, Mode::Test).await?;
                let topups = cajero_store::topups::pending_live(&mut c, LIST_ROWS).await?;
                let held = cajero_store::payouts::on_hold(&mut c, LIST_ROWS).await?;
                let health = cajero_store::network_health::list(
                    &mut c,
                    now - jiff::SignedDuration::from_mins(10),
                )
                .await?;
                Ok::<_, StoreError>((
                    to_review.len(),
                    in_review.len(),
                    alerts.data.len(),
                    exceptions,
                    topups.len(),
                    held.len(),
                    health,
                ))
            })
        })
        .await;
    let (to_review, in_review, open_alerts, open_exceptions, pending_topups, held_payouts, health) =
        match counted {
            Ok(c) => c,
            Err(e) => return failure(e),
        };
    let health = health
        .into_iter()
        .map(|h| HealthLine {
            mode: if h.livemode { "live" } else { "test" },
            route: h.route,
            network: h.network,
            state: h.state,
            failures: format!("{} of {}", h.window_failures, h.window_requests),
            latency: h.latency_ms[1]
                .map(|ms| format!("{ms} ms"))
                .unwrap_or_else(|| "—".into()),
            last_error: h.last_error.unwrap_or_default(),
        })
        .collect();
    render(
        StatusCode::OK,
        &HomePage {
            nav: Nav::of(&session),
            to_review,
            in_review,
            open_alerts,
            open_exceptions,
            pending_topups,
            held_payouts,
            health,
        },
    )
}

#[derive(Debug, Deserialize, Default)]
struct MerchantsQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    q: String,
}

#[derive(Template)]
#[template(path = "console/merchants.html")]
struct MerchantsPage {
    nav: Nav,
    status: String,
    q: String,
    rows: Vec<MerchantLine>,
}

struct MerchantLine {
    id: String,
    name: String,
    status: String,
    kyc: String,
    submitted: String,
    created: String,
}

fn merchant_line(m: MerchantOverview) -> MerchantLine {
    MerchantLine {
        id: m.id,
        name: m.name,
        status: m.status,
        kyc: m.kyc_status.unwrap_or_else(|| "draft".into()),
        submitted: m.submitted_at.map(when).unwrap_or_default(),
        created: when(m.created_at),
    }
}

async fn merchants_page(
    State(state): State<AppState>,
    Operator { session, .. }: Operator,
    Query(query): Query<MerchantsQuery>,
) -> Response {
    let status = ["onboarding", "active", "suspended"]
        .into_iter()
        .find(|s| *s == query.status);
    let q = bounded(query.q.trim()).to_owned();
    let text = (!q.is_empty()).then(|| q.clone());
    let found = state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                cajero_store::operators::merchants_overview(
                    &mut c,
                    status,
                    text.as_deref(),
                    LIST_ROWS,
                )
                .await
            })
        })
        .await;
    match found {
        Ok(rows) => render(
            StatusCode::OK,
            &MerchantsPage {
                nav: Nav::of(&session),
                status: status.unwrap_or("").to_owned(),
                q,
                rows: rows.into_iter().map(merchant_line).collect(),
            },
        ),
        Err(e) => failure(e),
    }
}

#[derive(Template)]
#[template(path = "console/kyc.html")]
struct KycQueuePage {
    nav: Nav,
    queues: Vec<(&'static str, Vec<MerchantLine>)>,
}

async fn kyc_queue(State(state): State<AppState>, Operator { session, .. }: Operator) -> Response {
    let mut queues = Vec::new();
    for (title, status) in [
        ("Submitted, waiting for review", KycStatus::Submitted),
        ("In review", KycStatus::InReview),
        ("Waiting for the merchant's answers", KycStatus::NeedsInfo),
    ] {
        let views = match crate::kyc::queue(&state.store, status).await {
            Ok(v) => v,
            Err(e) => return failure(e),
        };
        let lines = views
            .into_iter()
            .map(|v| MerchantLine {
                id: v.merchant.clone(),
                name: v.application.legal_name.clone(),
                status: String::new(),
                kyc: v.status.to_string(),
                submitted: v.submitted_at.map(when).unwrap_or_default(),
                created: String::new(),
            })
            .collect();
        queues.push((title, lines));
    }
    render(
        StatusCode::OK,
        &KycQueuePage {
            nav: Nav::of(&session),
            queues,
        },
    )
}

#[derive(Template)]
#[template(path = "console/merchant.html")]
struct MerchantPage {
    nav: Nav,
    form_token: String,
    id: String,
    name: String,
    status: String,
    created: String,
    kyc: crate::kyc::KycView,
    submitted: String,
    decided: String,
    documents: Vec<DocumentLine>,
    owners: Vec<cajero_domain::kyc::Person>,
    fee_plans: Vec<(&'static str, String, &'static str)>,
    terms: Vec<(&'static str, String, String, u32)>,
    audit: Vec<AuditLine>,
}

struct DocumentLine {
    id: String,
    kind: String,
    file_name: String,
    content_type: String,
    size: i64,
    sha256: String,
    uploaded_by: String,
    at: String,
}

async fn merchant_page(
    State(state): State<AppState>,
    Operator { session, .. }: Operator,
    Path(id): Path<String>,
) -> Response {
    let Some(merchant) = merchant_id(&id) else {
        return not_found(&session);
    };
    let found = state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                let Some(record) = cajero_store::merchants::get_merchant(&mut c, merchant).await?
                else {
                    return Ok(None);
                };
                let mut plans = Vec::new();
                let mut terms = Vec::new();
                for mode in [Mode::Test, Mode::Live] {
                    let (plan, source) =
                        merchant_settings::fee_plan_with_source(&mut c, merchant, mode).await?;
                    plans.push((mode, plan, source.as_str()));
                    terms.push((
                        mode,
                        merchant_settings::settlement_terms(&mut c, merchant, mode).await?,
                    ));
                }
                let audit = cajero_store::operators::search_audit(
                    &mut c,
                    &AuditSearch {
                        merchant_id: Some(merchant.to_string()),
                        ..Default::default()
                    },
                    50,
                )
                .await?;
                Ok::<_, merchant_settings::SettingsError>(Some((record, plans, terms, audit)))
            })
        })
        .await;
    let (record, plans, terms, audit) = match found {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(&session),
        Err(e) => return failure(e),
    };
    let kyc =
        match crate::kyc::show_with_documents(&state.store, state.clock.as_ref(), merchant).await {
            Ok(v) => v,
            Err(e) => return failure(e),
        };
    let documents = match crate::kyc::documents(&state.store, merchant).await {
        Ok(d) => d,
        Err(e) => return failure(e),
    };
    let mode_name = |m: Mode| if m.is_live() { "live" } else { "test" };
    render(
        StatusCode::OK,
        &MerchantPage {
            nav: Nav::of(&session),
            form_token: crate::users::random_token(),
            id: record.id.to_string(),
            name: record.name.clone(),
            status: record.status.to_string(),
            created: record.created_at.strftime("%Y-%m-%d").to_string(),
            submitted: kyc.submitted_at.map(when).unwrap_or_default(),
            decided: kyc.decided_at.map(when).unwrap_or_default(),
            owners: kyc.application.owners.clone(),
            kyc,
            documents: documents
                .into_iter()
                .map(|d| DocumentLine {
                    id: d.id,
                    kind: d.kind,
                    file_name: d.file_name,
                    content_type: d.content_type,
                    size: d.size,
                    sha256: d.sha256,
                    uploaded_by: d.uploaded_by,
                    at: when(d.created_at),
                })
                .collect(),
            fee_plans: plans
                .into_iter()
                .map(|(m, plan, source)| {
                    (
                        mode_name(m),
                        serde_json::to_string_pretty(&plan).unwrap_or_default(),
                        source,
                    )
                })
                .collect(),
            terms: terms
                .into_iter()
                .map(|(m, t)| {
                    (
                        mode_name(m),
                        t.delay_business_days.to_string(),
                        t.currency.to_string(),
                        t.fx_markup.get(),
                    )
                })
                .collect(),
            audit: audit.into_iter().map(audit_line).collect(),
        },
    )
}

/// A document of a merchant's application, shown in the browser (PDF, JPEG or PNG, as
/// sniffed at upload) in a sandbox: no script runs, nothing is fetched. Each view is audited.
async fn document(
    State(state): State<AppState>,
    Operator { request, session }: Operator,
    Path((id, doc)): Path<(String, String)>,
) -> Response {
    let Some(merchant) = merchant_id(&id) else {
        return not_found(&session);
    };
    let found = match crate::kyc::document(&state.store, merchant, bounded(&doc)).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(&session),
        Err(e) => return failure(e),
    };
    let (row, content) = found;
    let audit = cajero_store::dashboard::AuditRow {
        id: crate::clock::new_id::<cajero_domain::id::Audit>(state.clock.as_ref()).to_string(),
        merchant_id: Some(merchant.to_string()),
        user_id: Some(session.operator.id.clone()),
        actor: session.operator.email.clone(),
        action: "merchant.kyc.document_viewed".into(),
        object_id: Some(row.id.clone()),
        ip: request.origin.ip.clone(),
        at: Micros::from(state.clock.now()).0,
    };
    if let Err(e) = state
        .store
        .write(move |mut c| {
            Box::pin(async move { cajero_store::dashboard::insert_audit(&mut c, &audit).await })
        })
        .await
    {
        return failure(e);
    }
    // Only the three types sniffed at upload are ever served, and never as HTML.
    let content_type: &'static str = match row.content_type.as_str() {
        "application/pdf" => "application/pdf",
        "image/jpeg" => "image/jpeg",
        "image/png" => "image/png",
        _ => "application/octet-stream",
    };
    let file_name: String = row
        .file_name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .take(100)
        .collect();
    let mut response = harden(Body::from(content).into_response());
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{file_name}\"")) {
        headers.insert(CONTENT_DISPOSITION, v);
    }
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'",
        ),
    );
    response
}

#[derive(Template)]
#[template(path = "console/fx.html")]
struct FxPage {
    nav: Nav,
    today: String,
    rates: Vec<(String, String)>,
}

async fn fx_page(State(state): State<AppState>, Operator { session, .. }: Operator) -> Response {
    let rates = state
        .store
        .read(|mut c| Box::pin(async move { cajero_store::fx::list_rates(&mut c).await }))
        .await;
    let today = cajero_domain::calendar::bogota()
        .to_datetime(state.clock.now())
        .date()
        .to_string();
    match rates {
        Ok(rates) => render(
            StatusCode::OK,
            &FxPage {
                nav: Nav::of(&session),
                today,
                rates: rates
                    .into_iter()
                    .map(|(d, r)| (d.to_string(), r.to_string()))
                    .collect(),
            },
        ),
        Err(e) => failure(e),
    }
}

#[derive(Template)]
#[template(path = "console/topups.html")]
struct TopupsPage {
    nav: Nav,
    rows: Vec<TopupLine>,
}

struct TopupLine {
    id: String,
    merchant: String,
    amount: String,
    description: String,
    created: String,
}

async fn topups_page(
    State(state): State<AppState>,
    Operator { session, .. }: Operator,
) -> Response {
    let pending = state
        .store
        .read(|mut c| {
            Box::pin(async move { cajero_store::topups::pending_live(&mut c, LIST_ROWS).await })
        })
        .await;
    match pending {
        Ok(rows) => render(
            StatusCode::OK,
            &TopupsPage {
                nav: Nav::of(&session),
                rows: rows
                    .into_iter()
                    .map(|t| TopupLine {
                        id: t.id.to_string(),
                        merchant: t.merchant_id.to_string(),
                        amount: format!("{} {}", t.amount, t.currency),
                        description: t.description.unwrap_or_default(),
                        created: when(Micros::from(t.created_at).0),
                    })
                    .collect(),
            },
        ),
        Err(e) => failure(e),
    }
}

#[derive(Template)]
#[template(path = "console/alerts.html")]
struct AlertsPage {
    nav: Nav,
    rows: Vec<AlertLine>,
}

struct AlertLine {
    id: String,
    mode: &'static str,
    severity: String,
    code: String,
    subject: String,
    merchant: String,
    message: String,
    raised: String,
    occurrences: i64,
}

async fn alerts_page(
    State(state): State<AppState>,
    Operator { session, .. }: Operator,
) -> Response {
    let open = state
        .store
        .read(|mut c| {
            Box::pin(async move {
                cajero_store::alerts::list(
                    &mut c,
                    &cajero_store::alerts::AlertFilter {
                        status: Some("open".into()),
                        ..Default::default()
                    },
                    &NEWEST_ALERTS,
                )
                .await
            })
        })
        .await;
    match open {
        Ok(page) => render(
            StatusCode::OK,
            &AlertsPage {
                nav: Nav::of(&session),
                rows: page
                    .data
                    .into_iter()
                    .map(|a| AlertLine {
                        id: a.id,
                        mode: if a.livemode { "live" } else { "test" },
                        severity: a.severity,
                        code: a.code,
                        subject: a.subject,
                        merchant: a.merchant_id.unwrap_or_default(),
                        message: a.message,
                        raised: when(a.raised_at),
                        occurrences: a.occurrences,
                    })
                    .collect(),
            },
        ),
        Err(e) => failure(e),
    }
}

#[derive(Template)]
#[template(path = "console/exceptions.html")]
struct ExceptionsPage {
    nav: Nav,
    rows: Vec<ExceptionLine>,
}

struct ExceptionLine {
    id: String,
    mode: &'static str,
    kind: String,
    merchant: String,
    object: String,
    amount: String,
    detail: String,
    created: String,
}

async fn exceptions_page(
    State(state): State<AppState>,
    Operator { session, .. }: Operator,
) -> Response {
    let open = state
        .store
        .read(|mut c| {
            Box::pin(async move {
                cajero_store::exceptions::list(
                    &mut c,
                    &ExceptionFilter {
                        status: Some("open".into()),
                        ..Default::default()
                    },
                    LIST_ROWS,
                )
                .await
            })
        })
        .await;
    match open {
        Ok(rows) => render(
            StatusCode::OK,
            &ExceptionsPage {
                nav: Nav::of(&session),
                rows: rows
                    .into_iter()
                    .map(|e| ExceptionLine {
                        id: e.id,
                        mode: if e.livemode { "live" } else { "test" },
                        kind: e.kind,
                        merchant: e.merchant_id.unwrap_or_default(),
                        object: e.object_id,
                        amount: format!("{} {}", e.amount, e.currency),
                        detail: e.detail.unwrap_or_default(),
                        created: when(e.created_at),
                    })
                    .collect(),
            },
        ),
        Err(e) => failure(e),
    }
}

#[derive(Template)]
#[template(path = "console/held.html")]
struct HeldPage {
    nav: Nav,
    form_token: String,
    rows: Vec<HeldLine>,
    payins: Vec<risk::HeldPayinLine>,
}

struct HeldLine {
    id: String,
    why: String,
    merchant: String,
    mode: &'static str,
    amount: String,
    network: String,
    created: String,
    expires: String,
}

async fn held_page(State(state): State<AppState>, Operator { session, .. }: Operator) -> Response {
    let payins = match risk::held_payins(&state).await {
        Ok(lines) => lines,
        Err(e) => return failure(e),
    };
    let held = state
        .store
        .read(|mut c| {
            Box::pin(async move {
                let held = cajero_store::payouts::on_hold(&mut c, LIST_ROWS).await?;
                let mut lines = Vec::with_capacity(held.len());
                for p in held {
                    // The decision that held it (the screening's hits), from the audit log.
                    let why = cajero_store::risk::decisions_of(&mut c, &p.id.to_string())
                        .await?
                        .last()
                        .map(|d| format!("{}: {}", d.id, d.fired))
                        .unwrap_or_default();
                    lines.push((p, why));
                }
                Ok::<_, StoreError>(lines)
            })
        })
        .await;
    match held {
        Ok(rows) => render(
            StatusCode::OK,
            &HeldPage {
                nav: Nav::of(&session),
                form_token: crate::users::random_token(),
                payins,
                rows: rows
                    .into_iter()
                    .map(|(p, why)| HeldLine {
                        id: p.id.to_string(),
                        why,
                        merchant: p.merchant_id.to_string(),
                        mode: if p.mode.is_live() { "live" } else { "test" },
                        amount: format!("{} {}", p.amount, p.currency),
                        network: p.network.clone(),
                        created: when(Micros::from(p.created_at).0),
                        expires: p
                            .expires_at
                            .map(|t| when(Micros::from(t).0))
                            .unwrap_or_default(),
                    })
                    .collect(),
            },
        ),
        Err(e) => failure(e),
    }
}

#[derive(Debug, Deserialize, Default)]
struct AuditQuery {
    #[serde(default)]
    merchant: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    before: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    nav: Nav,
    query: AuditQuery,
    error: Option<String>,
    audit: Vec<AuditLine>,
    next: Option<String>,
}

struct AuditLine {
    id: String,
    at: String,
    actor: String,
    action: String,
    merchant: String,
    object: String,
    reason: String,
    ip: String,
}

fn audit_line(e: AuditEntry) -> AuditLine {
    AuditLine {
        id: e.id,
        at: when(e.at),
        actor: e.actor,
        action: e.action,
        merchant: e.merchant_id.unwrap_or_default(),
        object: e.object_id.unwrap_or_default(),
        reason: e.reason.unwrap_or_default(),
        ip: e.ip.unwrap_or_default(),
    }
}

/// The start of a Bogotá day (`YYYY-MM-DD`), in µs.
fn day_start(text: &str) -> Result<Option<i64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let date: jiff::civil::Date = text
        .parse()
        .map_err(|_| format!("{text:?} is not a date (YYYY-MM-DD)"))?;
    let at: Timestamp = cajero_domain::calendar::bogota()
        .to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
        .map_err(|e| e.to_string())?;
    Ok(Some(Micros::from(at).0))
}

async fn audit_page(
    State(state): State<AppState>,
    Operator { session, .. }: Operator,
    Query(query): Query<AuditQuery>,
) -> Response {
    let field = |t: &str| {
        let t = bounded(t.trim());
        (!t.is_empty()).then(|| t.to_owned())
    };
    let range = day_start(&query.from).and_then(|from| {
        // "until" is inclusive of its day.
        let until = day_start(&query.until)?.map(|u| u + 86_400_000_000);
        Ok((from, until))
    });
    let (from, until) = match range {
        Ok(r) => r,
        Err(error) => {
            return render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &AuditPage {
                    nav: Nav::of(&session),
                    query,
                    error: Some(error),
                    audit: Vec::new(),
                    next: None,
                },
            );
        }
    };
    let search = AuditSearch {
        merchant_id: field(&query.merchant),
        actor: field(&query.actor),
        action: field(&query.action),
        text: field(&query.text),
        from,
        until,
        before: field(&query.before).filter(|b| b.starts_with("aud_")),
    };
    match operators::search_audit(&state.store, search).await {
        Ok(rows) => {
            let next = (i64::try_from(rows.len()).unwrap_or(0) >= operators::AUDIT_PAGE_ROWS)
                .then(|| rows.last().map(|r| r.id.clone()))
                .flatten();
            render(
                StatusCode::OK,
                &AuditPage {
                    nav: Nav::of(&session),
                    query,
                    error: None,
                    audit: rows.into_iter().map(audit_line).collect(),
                    next,
                },
            )
        }
        Err(e) => failure(e),
    }
}
