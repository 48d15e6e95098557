//! The merchant dashboard over HTTP, on both engines: sign-up and sign-in, sessions and their
//! timeouts, CSRF, lock-out, another merchant's objects, roles, languages.

use cajero_domain::merchant::Mode;
use cajero_server::users;
use cajero_store::dashboard::{self, UserRow};
use jiff::SignedDuration;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT_LANGUAGE, COOKIE, LOCATION, SET_COOKIE};
use serde_json::json;

use crate::helpers::TestApp;

crate::both_engines!(
    signing_up_opens_a_session_and_the_home_page_shows_the_merchant,
    a_payin_is_listed_and_shown_to_its_merchant_and_to_no_one_else,
    a_form_without_its_csrf_token_is_refused,
    wrong_passwords_lock_the_user_out_for_a_while,
    sessions_end_when_idle_and_after_their_absolute_lifetime,
    signing_out_ends_the_session,
    only_owners_read_the_audit_log,
    pages_speak_the_language_asked_for,
    the_purge_deletes_expired_sessions_only,
    a_new_key_is_shown_once_and_works_and_rolling_or_revoking_it_stops_the_old_one,
    analysts_see_keys_but_cannot_act_and_live_mode_waits_for_approval,
    a_payout_page_shows_its_beneficiary_route_ledger_and_network_messages,
    two_factor_is_set_up_with_a_first_code_then_asked_at_every_sign_in_once_per_code,
    webhook_endpoints_are_added_rotated_and_deleted_with_the_secret_shown_once,
    the_payins_list_pages_older_and_newer_keeping_its_filter,
    the_payins_api_list_filters_by_creation_time_with_and_without_a_cursor,
    an_owner_refunds_a_paid_payin_once_per_form_and_sees_it_on_the_timeline,
    an_owner_cancels_a_payout_and_events_are_resent_by_owners_and_developers_only,
    refunds_events_balance_transactions_and_settlements_are_listed_with_statements_as_csv,
    an_owner_invites_by_email_and_the_one_time_link_creates_the_user_with_its_role,
    a_merchant_fills_in_its_onboarding_submits_answers_and_once_approved_creates_a_live_key,
    kyc_documents_are_checked_by_content_and_size_and_served_to_their_owners_only,
);

const PASSWORD: &str = "correct horse battery staple";

/// A browser without a cookie jar: cookies are carried by hand, redirects not followed.
pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `application/x-www-form-urlencoded`, as a browser posts a form.
pub(crate) trait PipeForm {
    fn pipe_form(self, fields: &[(&str, &str)]) -> Self;
}

impl PipeForm for reqwest::RequestBuilder {
    fn pipe_form(self, fields: &[(&str, &str)]) -> Self {
        self.header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(fields).unwrap())
    }
}

pub(crate) fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

pub(crate) fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .and_then(|p| p.split_once('='))
        .map(|(_, v)| v.to_owned())
        .unwrap()
}

pub(crate) fn csrf_field(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned()
}

/// The pre-session CSRF cookie and token of a sign-in or sign-up page.
async fn form_token(app: &TestApp, path: &str) -> (String, String) {
    let response = browser().get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = cookie_value(&set_cookie(&response, "cajero_csrf").unwrap());
    let html = response.text().await.unwrap();
    let token = csrf_field(&html);
    assert_eq!(cookie, token);
    (cookie, token)
}

/// Signs up a merchant and its owner; returns the session cookie's value.
async fn sign_up(app: &TestApp, company: &str, email: &str) -> String {
    let (cookie, token) = form_token(app, "/dashboard/signup").await;
    let response = browser()
        .post(app.url("/dashboard/signup"))
        .header(COOKIE, format!("cajero_csrf={cookie}"))
        .pipe_form(&[
            ("csrf", token.as_str()),
            ("company", company),
            ("name", "Ana Gómez"),
            ("email", email),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/dashboard");
    let session = set_cookie(&response, "cajero_session").unwrap();
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    assert!(session.contains("Path=/dashboard"), "{session}");
    cookie_value(&session)
}

/// Signs in; the response.
async fn sign_in(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    let (cookie, token) = form_token(app, "/dashboard/login").await;
    browser()
        .post(app.url("/dashboard/login"))
        .header(COOKIE, format!("cajero_csrf={cookie}"))
        .pipe_form(&[
            ("csrf", token.as_str()),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

async fn session_of(app: &TestApp, email: &str) -> String {
    let response = sign_in(app, email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    cookie_value(&set_cookie(&response, "cajero_session").unwrap())
}

async fn page(app: &TestApp, session: &str, path: &str) -> reqwest::Response {
    browser()
        .get(app.url(path))
        .header(COOKIE, format!("cajero_session={session}"))
        .send()
        .await
        .unwrap()
}

async fn user(app: &TestApp, email: &str) -> UserRow {
    let email = email.to_owned();
    app.server
        .state
        .store
        .read(move |mut c| Box::pin(async move { dashboard::user_by_email(&mut c, &email).await }))
        .await
        .unwrap()
        .unwrap()
}

async fn signing_up_opens_a_session_and_the_home_page_shows_the_merchant(app: &TestApp) {
    let session = sign_up(app, "Tienda Ana SAS", "Ana@Example.co").await;
    let home = page(app, &session, "/dashboard").await;
    assert_eq!(home.status(), StatusCode::OK);
    assert_eq!(home.headers()["cache-control"], "no-store");
    assert_eq!(home.headers()["x-frame-options"], "DENY");
    let html = home.text().await.unwrap();
    assert!(html.contains("Ana Gómez"), "{html}");
    assert!(html.contains("data-figure=\"available\""), "{html}");
    // The session token is in the cookie only, never in the page.
    assert!(!html.contains(&session));
    // Stored lower case, as the owner of a merchant in onboarding.
    let u = user(app, "ana@example.co").await;
    assert_eq!(u.role, "owner");
    assert!(u.password_hash.starts_with("$argon2id$"));
    // The same address cannot sign up twice (and leaves no second merchant).
    let (cookie, token) = form_token(app, "/dashboard/signup").await;
    let again = browser()
        .post(app.url("/dashboard/signup"))
        .header(COOKIE, format!("cajero_csrf={cookie}"))
        .pipe_form(&[
            ("csrf", token.as_str()),
            ("company", "Otra"),
            ("name", "Ana"),
            ("email", "ana@example.co"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("already has an account")
    );
    let merchants = cajero_server::admin::list_merchants(&app.server.state.store)
        .await
        .unwrap();
    assert_eq!(merchants.len(), 1);
    // Without a session, the home page sends the browser to sign in.
    let anonymous = browser().get(app.url("/dashboard")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert_eq!(anonymous.headers()[LOCATION], "/dashboard/login");
}

async fn a_payin_is_listed_and_shown_to_its_merchant_and_to_no_one_else(app: &TestApp) {
    let session = sign_up(app, "Tienda Ana SAS", "ana@example.co").await;
    let merchant = user(app, "ana@example.co")
        .await
        .merchant_id
        .parse()
        .unwrap();
    let (_, key) = app.key(merchant, Mode::Test).await;
    let created: serde_json::Value = app
        .http
        .post(app.url("/v1/payins"))
        .bearer_auth(&key)
        .header("idempotency-key", "dash-1")
        .json(&json!({"amount": 150_000, "currency": "COP", "reference": "ORD-77",
            "customer": {"name": "Luis Pérez", "document": {"type": "CC", "number": "1020304050"}}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let list = page(app, &session, "/dashboard/payins")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains(&id) && list.contains("ORD-77"), "{list}");
    let pending = page(app, &session, "/dashboard/payins?status=pending").await;
    assert!(pending.text().await.unwrap().contains(&id));
    let paid = page(app, &session, "/dashboard/payins?status=paid").await;
    assert!(!paid.text().await.unwrap().contains(&id));
    let detail = page(app, &session, &format!("/dashboard/payins/{id}")).await;
    assert_eq!(detail.status(), StatusCode::OK);
    let html = detail.text().await.unwrap();
    assert!(
        html.contains(created["voucher"]["payment_code"].as_str().unwrap()),
        "{html}"
    );

    // Another merchant's user: the same URL is not found, and the list does not show it.
    let other = sign_up(app, "Otra SAS", "otra@example.co").await;
    let hidden = page(app, &other, &format!("/dashboard/payins/{id}")).await;
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
    assert!(
        !page(app, &other, "/dashboard/payins")
            .await
            .text()
            .await
            .unwrap()
            .contains(&id)
    );
    let nonsense = page(app, &other, "/dashboard/payins/not-an-id").await;
    assert_eq!(nonsense.status(), StatusCode::NOT_FOUND);
}

async fn a_form_without_its_csrf_token_is_refused(app: &TestApp) {
    let session = sign_up(app, "Tienda", "ana@example.co").await;
    // Sign-in without the pre-session token, and with a token that is not the cookie's.
    let bare = browser()
        .post(app.url("/dashboard/login"))
        .pipe_form(&[("email", "ana@example.co"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), StatusCode::FORBIDDEN);
    let (cookie, _) = form_token(app, "/dashboard/login").await;
    let forged = browser()
        .post(app.url("/dashboard/login"))
        .header(COOKIE, format!("cajero_csrf={cookie}"))
        .pipe_form(&[
            ("csrf", "x".repeat(43).as_str()),
            ("email", "ana@example.co"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    // Sign-out with a wrong token leaves the session open.
    let wrong = browser()
        .post(app.url("/dashboard/logout"))
        .header(COOKIE, format!("cajero_session={session}"))
        .pipe_form(&[("csrf", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        page(app, &session, "/dashboard").await.status(),
        StatusCode::OK
    );
    let language = browser()
        .post(app.url("/dashboard/language"))
        .header(COOKIE, format!("cajero_session={session}"))
        .pipe_form(&[("locale", "zh-CN")])
        .send()
        .await
        .unwrap();
    assert_eq!(language.status(), StatusCode::FORBIDDEN);
}

async fn wrong_passwords_lock_the_user_out_for_a_while(app: &TestApp) {
    sign_up(app, "Tienda", "ana@example.co").await;
    for _ in 1..users::LOGIN_FAILURES_MAX {
        let r = sign_in(app, "ana@example.co", "wrong password!").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(set_cookie(&r, "cajero_session").is_none());
    }
    let locking = sign_in(app, "ana@example.co", "wrong password!").await;
    assert_eq!(locking.status(), StatusCode::TOO_MANY_REQUESTS);
    // Locked: even the right password is refused…
    let refused = sign_in(app, "ana@example.co", PASSWORD).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(set_cookie(&refused, "cajero_session").is_none());
    // …until the lock runs out.
    app.clock
        .advance(users::LOCK_OUT + SignedDuration::from_secs(1));
    let opened = sign_in(app, "ana@example.co", PASSWORD).await;
    assert_eq!(opened.status(), StatusCode::SEE_OTHER);
    // An unknown address answers exactly as a wrong password does.
    let unknown = sign_in(app, "nobody@example.co", PASSWORD).await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert!(
        unknown
            .text()
            .await
            .unwrap()
            .contains("Wrong e-mail address or password")
    );
}

async fn sessions_end_when_idle_and_after_their_absolute_lifetime(app: &TestApp) {
    let session = sign_up(app, "Tienda", "ana@example.co").await;
    app.clock
        .advance(users::SESSION_IDLE - SignedDuration::from_secs(60));
    assert_eq!(
        page(app, &session, "/dashboard").await.status(),
        StatusCode::OK
    );
    app.clock.advance(users::SESSION_IDLE);
    let idle = page(app, &session, "/dashboard").await;
    assert_eq!(idle.status(), StatusCode::SEE_OTHER);
    assert!(
        set_cookie(&idle, "cajero_session")
            .unwrap()
            .contains("Max-Age=0")
    );
    // Busy, but past the absolute lifetime.
    let busy = session_of(app, "ana@example.co").await;
    let step = users::SESSION_IDLE - SignedDuration::from_mins(5);
    let mut lived = SignedDuration::ZERO;
    while lived + step < users::SESSION_ABSOLUTE {
        app.clock.advance(step);
        lived += step;
        assert_eq!(
            page(app, &busy, "/dashboard").await.status(),
            StatusCode::OK
        );
    }
    app.clock.advance(step);
    assert_eq!(
        page(app, &busy, "/dashboard").await.status(),
        StatusCode::SEE_OTHER
    );
}

async fn stored_sessions(app: &TestApp) -> i64 {
    app.server
        .state
        .store
        .read(|mut c| {
            Box::pin(async move {
                Ok::<_, cajero_store::StoreError>(cajero_store::fetch!(
                    one,
                    &mut c,
                    (i64,),
                    "SELECT COUNT(*) FROM dashboard_sessions"
                )?)
            })
        })
        .await
        .map(|(n,)| n)
        .unwrap()
}

async fn the_purge_deletes_expired_sessions_only(app: &TestApp) {
    sign_up(app, "Tienda", "ana@example.co").await;
    app.clock
        .advance(users::SESSION_IDLE + SignedDuration::from_secs(1));
    let fresh = session_of(app, "ana@example.co").await;
    assert_eq!(stored_sessions(app).await, 2);
    let report = cajero_server::workers::purge::run_once(&app.server.state)
        .await
        .unwrap();
    assert_eq!(report.sessions, 1);
    assert_eq!(stored_sessions(app).await, 1);
    assert_eq!(
        page(app, &fresh, "/dashboard").await.status(),
        StatusCode::OK
    );
}

async fn signing_out_ends_the_session(app: &TestApp) {
    let session = sign_up(app, "Tienda", "ana@example.co").await;
    let html = page(app, &session, "/dashboard")
        .await
        .text()
        .await
        .unwrap();
    let csrf = csrf_field(&html);
    let out = browser()
        .post(app.url("/dashboard/logout"))
        .header(COOKIE, format!("cajero_session={session}"))
        .pipe_form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        page(app, &session, "/dashboard").await.status(),
        StatusCode::SEE_OTHER
    );
}

async fn only_owners_read_the_audit_log(app: &TestApp) {
    let owner = sign_up(app, "Tienda", "ana@example.co").await;
    let merchant = user(app, "ana@example.co").await.merchant_id;
    let state = &app.server.state;
    users::create_user(
        &state.store,
        state.clock.as_ref(),
        merchant.parse().unwrap(),
        "Luis@Example.co",
        "Luis",
        users::Role::Analyst,
        PASSWORD,
    )
    .await
    .unwrap();
    let analyst = session_of(app, "luis@example.co").await;
    assert_eq!(
        page(app, &analyst, "/dashboard/audit").await.status(),
        StatusCode::FORBIDDEN
    );
    let log = page(app, &owner, "/dashboard/audit").await;
    assert_eq!(log.status(), StatusCode::OK);
    let html = log.text().await.unwrap();
    for action in ["user.signed_up", "session.created"] {
        assert!(html.contains(action), "{action}: {html}");
    }
    assert!(
        html.contains("luis@example.co"),
        "the analyst's sign-in is audited: {html}"
    );
}

async fn pages_speak_the_language_asked_for(app: &TestApp) {
    for (accept, title) in [
        ("es-CO,es;q=0.9", "Iniciar sesión"),
        ("zh-CN", "登录"),
        ("en", "Sign in"),
    ] {
        let html = browser()
            .get(app.url("/dashboard/login"))
            .header(ACCEPT_LANGUAGE, accept)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains(title), "{accept}: {html}");
    }
    // A user's own choice wins over the browser's.
    let session = sign_up(app, "Tienda", "ana@example.co").await;
    let html = page(app, &session, "/dashboard")
        .await
        .text()
        .await
        .unwrap();
    let csrf = csrf_field(&html);
    let switched = browser()
        .post(app.url("/dashboard/language"))
        .header(COOKIE, format!("cajero_session={session}"))
        .pipe_form(&[("csrf", csrf.as_str()), ("locale", "zh-CN")])
        .send()
        .await
        .unwrap();
    assert_eq!(switched.status(), StatusCode::SEE_OTHER);
    let zh = browser()
        .get(app.url("/dashboard"))
        .header(COOKIE, format!("cajero_session={session}"))
        .header(ACCEPT_LANGUAGE, "es")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(zh.contains("lang=\"zh-CN\"") && zh.contains("可用"), "{zh}");
}

/// Spraying passwords over many accounts from one address: the address is throttled (the
/// API's failed-authentication limit), and stays so even for a right password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_failures_from_one_address_are_throttled_across_accounts() {
    let start = jiff::Timestamp::from_second(1_764_000_000).unwrap();
    let app = crate::helpers::spawn_app_with(crate::helpers::Engine::Sqlite, start, |config| {
        config.rate_limits.failed_auth_per_minute = 3;
        config.rate_limits.failed_auth_burst = 3;
    })
    .await
    .unwrap();
    sign_up(&app, "Tienda", "ana@example.co").await;
    let mut statuses = Vec::new();
    for i in 0..4 {
        let r = sign_in(&app, &format!("user{i}@example.co"), "wrong password!").await;
        statuses.push(r.status());
    }
    assert_eq!(statuses.first(), Some(&StatusCode::UNAUTHORIZED));
    assert_eq!(
        statuses.last(),
        Some(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let blocked = sign_in(&app, "ana@example.co", PASSWORD).await;
    assert_eq!(blocked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(blocked.text().await.unwrap().contains("Too many attempts"));
    // Sign-ups from the blocked address are refused too (each would create a merchant).
    let (cookie, token) = form_token(&app, "/dashboard/signup").await;
    let signup = browser()
        .post(app.url("/dashboard/signup"))
        .header(COOKIE, format!("cajero_csrf={cookie}"))
        .pipe_form(&[
            ("csrf", token.as_str()),
            ("company", "Spam"),
            ("name", "Spam"),
            ("email", "spam@example.co"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signup.status(), StatusCode::TOO_MANY_REQUESTS);
    app.server.stop().await.unwrap();
}

fn secret_in(html: &str) -> Option<String> {
    html.split("data-secret")
        .next()
        .and_then(|before| before.rsplit("value=\"").next())
        .and_then(|v| v.split('"').next())
        .filter(|v| v.starts_with("sk_"))
        .map(str::to_owned)
}

async fn post_form(
    app: &TestApp,
    session: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    browser()
        .post(app.url(path))
        .header(COOKIE, format!("cajero_session={session}"))
        .pipe_form(fields)
        .send()
        .await
        .unwrap()
}

async fn csrf_of(app: &TestApp, session: &str) -> String {
    csrf_field(
        &page(app, session, "/dashboard/keys")
            .await
            .text()
            .await
            .unwrap(),
    )
}

async fn balance_status(app: &TestApp, key: &str) -> StatusCode {
    app.get_with_key("/v1/balance", key).await.status()
}

fn key_id_in(html: &str) -> String {
    html.split("/dashboard/keys/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_owned()
}

async fn a_new_key_is_shown_once_and_works_and_rolling_or_revoking_it_stops_the_old_one(
    app: &TestApp,
) {
    let session = sign_up(app, "Tienda", "ana@example.co").await;
    let csrf = csrf_of(app, &session).await;
    let created = post_form(
        app,
        &session,
        "/dashboard/keys",
        &[("csrf", &csrf), ("mode", "test")],
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let html = created.text().await.unwrap();
    let first = secret_in(&html).unwrap();
    assert!(first.starts_with("sk_test_") && first.len() > 40, "{first}");
    assert_eq!(balance_status(app, &first).await, StatusCode::OK);
    // Shown once: the list shows the prefix, never the secret.
    let listed = page(app, &session, "/dashboard/keys")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !listed.contains(&first) && secret_in(&listed).is_none(),
        "{listed}"
    );
    assert!(listed.contains(first.get(..12).unwrap()), "{listed}");
    // Rolling: a new secret, the old one refused at once.
    let id = key_id_in(&listed);
    let rolled = post_form(
        app,
        &session,
        &format!("/dashboard/keys/{id}/roll"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(rolled.status(), StatusCode::CREATED);
    let second = secret_in(&rolled.text().await.unwrap()).unwrap();
    assert_ne!(first, second);
    assert_eq!(balance_status(app, &first).await, StatusCode::UNAUTHORIZED);
    assert_eq!(balance_status(app, &second).await, StatusCode::OK);
    // Revoking needs the confirmation box.
    let listed = page(app, &session, "/dashboard/keys")
        .await
        .text()
        .await
        .unwrap();
    let id = key_id_in(&listed);
    let unconfirmed = post_form(
        app,
        &session,
        &format!("/dashboard/keys/{id}/revoke"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(unconfirmed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(balance_status(app, &second).await, StatusCode::OK);
    let revoked = post_form(
        app,
        &session,
        &format!("/dashboard/keys/{id}/revoke"),
        &[("csrf", &csrf), ("confirm", "yes")],
    )
    .await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    assert_eq!(balance_status(app, &second).await, StatusCode::UNAUTHORIZED);
    // Another merchant cannot touch the keys of this one.
    let other = sign_up(app, "Otra", "otra@example.co").await;
    let other_csrf = csrf_of(app, &other).await;
    let foreign = post_form(
        app,
        &other,
        &format!("/dashboard/keys/{id}/roll"),
        &[("csrf", &other_csrf)],
    )
    .await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    // Every action is audited.
    let audit = page(app, &session, "/dashboard/audit")
        .await
        .text()
        .await
        .unwrap();
    for action in ["api_key.created", "api_key.rolled", "api_key.revoked"] {
        assert!(audit.contains(action), "{action}");
    }
}

async fn analysts_see_keys_but_cannot_act_and_live_mode_waits_for_approval(app: &TestApp) {
    let owner = sign_up(app, "Tienda", "ana@example.co").await;
    let merchant = user(app, "ana@example.co")
        .await
        .merchant_id
        .parse()
        .unwrap();
    let state = &app.server.state;
    users::create_user(
        &state.store,
        state.clock.as_ref(),
        merchant,
        "luis@example.co",
        "Luis",
        users::Role::Analyst,
        PASSWORD,
    )
    .await
    .unwrap();
    let analyst = session_of(app, "luis@example.co").await;
    let html = page(app, &analyst, "/dashboard/keys")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !html.contains("action=\"/dashboard/keys\""),
        "no create form: {html}"
    );
    let csrf = csrf_field(&html);
    let refused = post_form(
        app,
        &analyst,
        "/dashboard/keys",
        &[("csrf", &csrf), ("mode", "test")],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(admin_keys(app, merchant).await.is_empty());
    // A merchant in onboarding: no live key, no live mode.
    let csrf = csrf_of(app, &owner).await;
    let live = post_form(
        app,
        &owner,
        "/dashboard/keys",
        &[("csrf", &csrf), ("mode", "live")],
    )
    .await;
    assert_eq!(live.status(), StatusCode::CONFLICT);
    assert!(secret_in(&live.text().await.unwrap()).is_none());
    let switch = post_form(
        app,
        &owner,
        "/dashboard/mode",
        &[("csrf", &csrf), ("mode", "live")],
    )
    .await;
    assert_eq!(switch.status(), StatusCode::CONFLICT);
    // Approved: both work.
    cajero_server::admin::force_merchant_status(
        &state.store,
        state.clock.as_ref(),
        merchant,
        cajero_domain::merchant::MerchantStatus::Active,
    )
    .await
    .unwrap();
    // Approved, but an owner needs two-factor for live mode.
    let refused = post_form(
        app,
        &owner,
        "/dashboard/mode",
        &[("csrf", &csrf), ("mode", "live")],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    enable_totp(app, &owner).await;
    let switch = post_form(
        app,
        &owner,
        "/dashboard/mode",
        &[("csrf", &csrf), ("mode", "live")],
    )
    .await;
    assert_eq!(switch.status(), StatusCode::SEE_OTHER);
    let home = page(app, &owner, "/dashboard").await.text().await.unwrap();
    assert!(home.contains("mode live"), "{home}");
    let live = post_form(
        app,
        &owner,
        "/dashboard/keys",
        &[("csrf", &csrf), ("mode", "live")],
    )
    .await;
    assert_eq!(live.status(), StatusCode::CREATED);
    assert!(
        secret_in(&live.text().await.unwrap())
            .unwrap()
            .starts_with("sk_live_")
    );
}

async fn admin_keys(
    app: &TestApp,
    merchant: cajero_domain::id::MerchantId,
) -> Vec<cajero_store::merchants::ApiKeyRecord> {
    cajero_server::admin::list_api_keys(&app.server.state.store, merchant, None)
        .await
        .unwrap()
}

async fn api_post(
    app: &TestApp,
    key: &str,
    path: &str,
    idem: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let response = app
        .http
        .post(app.url(path))
        .bearer_auth(key)
        .header("idempotency-key", idem)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

async fn a_payout_page_shows_its_beneficiary_route_ledger_and_network_messages(app: &TestApp) {
    let session = sign_up(app, "Remesas SAS", "ana@example.co").await;
    let merchant = user(app, "ana@example.co")
        .await
        .merchant_id
        .parse()
        .unwrap();
    let (_, key) = app.key(merchant, Mode::Test).await;
    api_post(
        app,
        &key,
        "/v1/topups",
        "t1",
        json!({"amount": 1_000_000, "currency": "COP"}),
    )
    .await;
    let payout = api_post(
        app,
        &key,
        "/v1/payouts",
        "p1",
        json!({"amount": 120_000, "currency": "COP", "network": "efecty", "reference": "GIRO-9",
            "beneficiary": {"name": "Luis Pérez", "document": {"type": "CC", "number": "79876543"}}}),
    )
    .await;
    let id = payout["id"].as_str().unwrap().to_owned();
    let list = page(app, &session, "/dashboard/payouts")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        list.contains(&id) && list.contains("Luis Pérez") && list.contains("GIRO-9"),
        "{list}"
    );
    // The document number is not listed.
    assert!(!list.contains("79876543"));
    let detail = page(app, &session, &format!("/dashboard/payouts/{id}")).await;
    assert_eq!(detail.status(), StatusCode::OK);
    let html = detail.text().await.unwrap();
    // The reservation in the ledger, and the create sent to the network as evidence.
    assert!(html.contains("payout"), "{html}");
    assert!(html.contains("<details class=\"evidence\">"), "{html}");
    let other = sign_up(app, "Otra", "otra@example.co").await;
    let hidden = page(app, &other, &format!("/dashboard/payouts/{id}")).await;
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
    let filtered = page(app, &session, "/dashboard/payouts?status=failed")
        .await
        .text()
        .await
        .unwrap();
    assert!(!filtered.contains(&id));
}

fn code_now(app: &TestApp, secret: &str) -> String {
    let bytes = totp_rs::Secret::try_from_base32(secret).unwrap();
    let totp = totp_rs::Builder::new()
        .with_secret(bytes.as_ref().to_vec())
        .build()
        .unwrap();
    let now = cajero_server::clock::Clock::now(app.server.state.clock.as_ref());
    totp.generate(u64::try_from(now.as_second()).unwrap())
        .to_string()
}

/// Turns two-factor on for the session's user; its base32 secret.
async fn enable_totp(app: &TestApp, session: &str) -> String {
    let csrf = csrf_of(app, session).await;
    let setup = post_form(app, session, "/dashboard/security/totp", &[("csrf", &csrf)]).await;
    assert_eq!(setup.status(), StatusCode::OK);
    let html = setup.text().await.unwrap();
    assert!(html.contains("<svg"), "a QR code: {html}");
    let secret = html
        .split("data-totp-secret>")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap()
        .to_owned();
    let wrong = post_form(
        app,
        session,
        "/dashboard/security/totp/confirm",
        &[("csrf", &csrf), ("code", "000000")],
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let code = code_now(app, &secret);
    let confirmed = post_form(
        app,
        session,
        "/dashboard/security/totp/confirm",
        &[("csrf", &csrf), ("code", &code)],
    )
    .await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    let on = page(app, session, "/dashboard/security")
        .await
        .text()
        .await
        .unwrap();
    assert!(on.contains("data-two-factor=\"on\""), "{on}");
    // The next code must come from a later step.
    app.clock.advance(SignedDuration::from_secs(30));
    secret
}

async fn two_factor_is_set_up_with_a_first_code_then_asked_at_every_sign_in_once_per_code(
    app: &TestApp,
) {
    let first = sign_up(app, "Tienda", "ana@example.co").await;
    let off = page(app, &first, "/dashboard/security")
        .await
        .text()
        .await
        .unwrap();
    assert!(off.contains("data-two-factor=\"off\""), "{off}");
    let secret = enable_totp(app, &first).await;
    // A setup cannot be restarted once on (it would silently turn two-factor off).
    let csrf = csrf_of(app, &first).await;
    let again = post_form(app, &first, "/dashboard/security/totp", &[("csrf", &csrf)]).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);

    // A new sign-in: the password alone opens nothing.
    let signed = sign_in(app, "ana@example.co", PASSWORD).await;
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed.headers()[LOCATION], "/dashboard/login/totp");
    let pending = cookie_value(&set_cookie(&signed, "cajero_session").unwrap());
    let home = page(app, &pending, "/dashboard").await;
    assert_eq!(home.status(), StatusCode::SEE_OTHER);
    assert_eq!(home.headers()[LOCATION], "/dashboard/login/totp");
    let keys = page(app, &pending, "/dashboard/keys").await;
    assert_eq!(keys.status(), StatusCode::SEE_OTHER);
    let form = page(app, &pending, "/dashboard/login/totp")
        .await
        .text()
        .await
        .unwrap();
    let csrf = csrf_field(&form);
    let wrong = post_form(
        app,
        &pending,
        "/dashboard/login/totp",
        &[("csrf", &csrf), ("code", "123456")],
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let code = code_now(app, &secret);
    let right = post_form(
        app,
        &pending,
        "/dashboard/login/totp",
        &[("csrf", &csrf), ("code", &code)],
    )
    .await;
    assert_eq!(right.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        page(app, &pending, "/dashboard").await.status(),
        StatusCode::OK
    );

    // The same code cannot open a second session (replay), the next step's can.
    let second = cookie_value(
        &set_cookie(
            &sign_in(app, "ana@example.co", PASSWORD).await,
            "cajero_session",
        )
        .unwrap(),
    );
    let csrf = csrf_field(
        &page(app, &second, "/dashboard/login/totp")
            .await
            .text()
            .await
            .unwrap(),
    );
    let replay = post_form(
        app,
        &second,
        "/dashboard/login/totp",
        &[("csrf", &csrf), ("code", &code)],
    )
    .await;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    app.clock.advance(SignedDuration::from_secs(30));
    let next = code_now(app, &secret);
    let ok = post_form(
        app,
        &second,
        "/dashboard/login/totp",
        &[("csrf", &csrf), ("code", &next)],
    )
    .await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    // The secret is sealed in the database, not stored as typed.
    let stored = user(app, "ana@example.co").await;
    let sealed = stored.totp_secret.unwrap();
    assert!(!sealed.contains(&secret));
    assert!(stored.totp_enabled_at.is_some());
}

/// The analytics page draws the same figures as `GET /v1/analytics/success`, as SVG with a
/// table of the figures beside each chart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_analytics_page_draws_the_funnel_and_rates_of_the_merchant() {
    let app = crate::helpers::spawn_app(crate::helpers::Engine::Sqlite)
        .await
        .unwrap();
    let session = sign_up(&app, "Tienda", "ana@example.co").await;
    let merchant = user(&app, "ana@example.co")
        .await
        .merchant_id
        .parse()
        .unwrap();
    let (_, key) = app.key(merchant, Mode::Test).await;
    let body = |amount: i64| {
        json!({"amount": amount, "currency": "COP", "network": "efecty", "reference": "r",
            "customer": {"name": "Luis Pérez", "document": {"type": "CC", "number": "1020304050"}}})
    };
    let paid = api_post(&app, &key, "/v1/payins", "a1", body(50_000)).await;
    api_post(&app, &key, "/v1/payins", "a2", body(30_000)).await;
    let pay = api_post(
        &app,
        &key,
        &format!(
            "/v1/test_helpers/payins/{}/pay",
            paid["id"].as_str().unwrap()
        ),
        "a3",
        json!({}),
    )
    .await;
    assert_eq!(pay["approved"], true, "{pay}");
    let html = page(&app, &session, "/dashboard/analytics").await;
    assert_eq!(html.status(), StatusCode::OK);
    let html = html.text().await.unwrap();
    for chart in [
        "per_day",
        "volume_in_per_day",
        "volume_out_per_day",
        "payin_funnel",
        "payout_funnel",
        "rate_by_network",
        "rate_by_counter",
        "time_to_pay",
        "time_to_collect",
    ] {
        assert!(html.contains(&format!("data-chart=\"{chart}\"")), "{chart}");
    }
    assert_eq!(html.matches("<svg class=\"chart\" role=\"img\"").count(), 9);
    // Pesos paid in per day, by network: the paid voucher's 50,000 on its day.
    assert!(html.contains("efecty COP 50,000"), "{html}");
    // Two vouchers, one paid: 50 % of the closed ones is not yet a rate (one is open), but the
    // funnel shows 2 → 1 with their amounts.
    assert!(html.contains("2 · COP 80,000"), "{html}");
    assert!(html.contains("1 · COP 50,000"), "{html}");
    app.server.stop().await.unwrap();
}

async fn webhook_endpoints_are_added_rotated_and_deleted_with_the_secret_shown_once(app: &TestApp) {
    let session = sign_up(app, "Tienda", "ana@example.co").await;
    let csrf = csrf_of(app, &session).await;
    let refused = post_form(
        app,
        &session,
        "/dashboard/webhooks",
        &[("csrf", &csrf), ("url", "ftp://example.co/hook")],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("cannot receive webhooks")
    );
    let created = post_form(
        app,
        &session,
        "/dashboard/webhooks",
        &[
            ("csrf", &csrf),
            ("url", "http://127.0.0.1:9/hook"),
            ("description", "shop"),
        ],
    )
    .await;
    assert_eq!(created.status(), StatusCode::OK);
    let first = secret_in_page(&created.text().await.unwrap()).unwrap();
    assert!(first.starts_with("whsec_"), "{first}");
    let listed = page(app, &session, "/dashboard/webhooks")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        listed.contains("http://127.0.0.1:9/hook") && !listed.contains(&first),
        "{listed}"
    );
    let id = listed
        .split("/dashboard/webhooks/")
        .nth(1)
        .and_then(|r| r.split(['/', '"']).next())
        .unwrap()
        .to_owned();
    let rotated = post_form(
        app,
        &session,
        &format!("/dashboard/webhooks/{id}/rotate"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let second = secret_in_page(&rotated.text().await.unwrap()).unwrap();
    assert_ne!(first, second);
    let unconfirmed = post_form(
        app,
        &session,
        &format!("/dashboard/webhooks/{id}/delete"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(unconfirmed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let deleted = post_form(
        app,
        &session,
        &format!("/dashboard/webhooks/{id}/delete"),
        &[("csrf", &csrf), ("confirm", "yes")],
    )
    .await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    let after = page(app, &session, "/dashboard/webhooks")
        .await
        .text()
        .await
        .unwrap();
    assert!(!after.contains("127.0.0.1:9/hook"), "{after}");
    // Another merchant cannot rotate it (nor see it).
    let other = sign_up(app, "Otra", "otra@example.co").await;
    let other_csrf = csrf_of(app, &other).await;
    let foreign = post_form(
        app,
        &other,
        &format!("/dashboard/webhooks/{id}/rotate"),
        &[("csrf", &other_csrf)],
    )
    .await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    let audit = page(app, &session, "/dashboard/audit")
        .await
        .text()
        .await
        .unwrap();
    for action in [
        "webhook_endpoint.created",
        "webhook_endpoint.secret_rotated",
        "webhook_endpoint.deleted",
    ] {
        assert!(audit.contains(action), "{action}");
    }
}

fn secret_in_page(html: &str) -> Option<String> {
    html.split("data-secret")
        .next()
        .and_then(|before| before.rsplit("value=\"").next())
        .and_then(|v| v.split('"').next())
        .filter(|v| v.starts_with("whsec_"))
        .map(str::to_owned)
}

fn link(html: &str, rel: &str) -> Option<String> {
    html.split(&format!("rel=\"{rel}\" href=\""))
        .nth(1)
        .and_then(|r| r.split('"').next())
        .map(|h| h.replace("&amp;", "&"))
}

fn payin_ids(html: &str) -> Vec<String> {
    html.split("href=\"/dashboard/payins/")
        .skip(1)
        .filter_map(|r| r.split('"').next())
        .map(str::to_owned)
        .collect()
}

async fn the_payins_list_pages_older_and_newer_keeping_its_filter(app: &TestApp) {
    let session = sign_up(app, "Tienda", "ana@example.co").await;
    let merchant = user(app, "ana@example.co")
        .await
        .merchant_id
        .parse()
        .unwrap();
    let (_, key) = app.key(merchant, Mode::Test).await;
    let total = cajero_server::web::PAGE_ROWS as usize + 5;
    for n in 0..total {
        api_post(
            app,
            &key,
            "/v1/payins",
            &format!("page-{n}"),
            json!({"amount": 10_000 + n as i64, "currency": "COP", "reference": format!("R{n}"),
                "customer": {"name": "Luis Pérez", "document": {"type": "CC", "number": "1020304050"}}}),
        )
        .await;
    }
    let first = page(app, &session, "/dashboard/payins?status=pending")
        .await
        .text()
        .await
        .unwrap();
    let first_ids = payin_ids(&first);
    assert_eq!(first_ids.len(), cajero_server::web::PAGE_ROWS as usize);
    assert!(
        link(&first, "prev").is_none(),
        "the newest page has no newer one"
    );
    let older = link(&first, "next").unwrap();
    assert!(older.contains("status=pending"), "{older}");
    let second = page(app, &session, &older).await.text().await.unwrap();
    let second_ids = payin_ids(&second);
    assert_eq!(second_ids.len(), 5);
    assert!(second_ids.iter().all(|id| !first_ids.contains(id)));
    assert!(
        link(&second, "next").is_none(),
        "the oldest page has no older one"
    );
    let back = page(app, &session, &link(&second, "prev").unwrap())
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        payin_ids(&back),
        first_ids,
        "newer goes back to the same page, newest first"
    );
}

/// `GET /v1/payins?created[gte]=…&created[lte]=…`, the list the dashboard shares: the time
/// bounds are in the query only when given (else the planner sorted every pay-in).
async fn the_payins_api_list_filters_by_creation_time_with_and_without_a_cursor(app: &TestApp) {
    sign_up(app, "Tienda", "ana@example.co").await;
    let merchant = user(app, "ana@example.co")
        .await
        .merchant_id
        .parse()
        .unwrap();
    let (_, key) = app.key(merchant, Mode::Test).await;
    let mut created = Vec::new();
    for n in 0..3 {
        let p = api_post(
            app,
            &key,
            "/v1/payins",
            &format!("t-{n}"),
            json!({"amount": 10_000, "currency": "COP", "reference": format!("T{n}"),
                "customer": {"name": "Luis Pérez", "document": {"type": "CC", "number": "1020304050"}}}),
        )
        .await;
        created.push((
            p["id"].as_str().unwrap().to_owned(),
            p["created"].as_str().unwrap().to_owned(),
        ));
        app.clock.advance(SignedDuration::from_hours(1));
    }
    let ids = |v: serde_json::Value| -> Vec<String> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let key = &key;
    let get = |path: String| async move {
        let r = app.get_with_key(&path, key).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        r.json::<serde_json::Value>().await.unwrap()
    };
    let middle = created[1].1.clone();
    let newer = ids(get(format!("/v1/payins?created[gte]={middle}")).await);
    assert_eq!(newer, vec![created[2].0.clone(), created[1].0.clone()]);
    let older = ids(get(format!("/v1/payins?created[lte]={middle}")).await);
    assert_eq!(older, vec![created[1].0.clone(), created[0].0.clone()]);
    let just = ids(get(format!(
        "/v1/payins?created[gte]={middle}&created[lte]={middle}"
    ))
    .await);
    assert_eq!(just, vec![created[1].0.clone()]);
    let after = ids(get(format!(
        "/v1/payins?created[gte]={}&starting_after={}",
        created[0].1, created[2].0
    ))
    .await);
    assert_eq!(after, vec![created[1].0.clone(), created[0].0.clone()]);
    assert_eq!(ids(get("/v1/payins".to_owned()).await).len(), 3);
}

fn field_in(html: &str, name: &str) -> String {
    html.split(&format!("name=\"{name}\" value=\""))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no {name} field in {html}"))
        .to_owned()
}

fn event_ids_in(html: &str) -> Vec<String> {
    html.split("/dashboard/events/")
        .skip(1)
        .filter_map(|rest| rest.split('/').next())
        .map(str::to_owned)
        .collect()
}

async fn api_get(app: &TestApp, key: &str, path: &str) -> serde_json::Value {
    app.get_with_key(path, key).await.json().await.unwrap()
}

/// Refunding from a pay-in's page calls the refunds service: a form sent twice refunds once,
/// a refusal is shown in the user's words, and the refund and its events join the timeline.
async fn an_owner_refunds_a_paid_payin_once_per_form_and_sees_it_on_the_timeline(app: &TestApp) {
    let session = sign_up(app, "Tienda Ana SAS", "ana@example.co").await;
    let merchant = user(app, "ana@example.co")
        .await
        .merchant_id
        .parse()
        .unwrap();
    let (_, key) = app.key(merchant, Mode::Test).await;
    let payin = api_post(
        app,
        &key,
        "/v1/payins",
        "r1",
        json!({"amount": 150_000, "currency": "COP", "network": "efecty", "reference": "ORD-5",
            "customer": {"name": "Luis Pérez", "document": {"type": "CC", "number": "1020304050"}}}),
    )
    .await;
    let id = payin["id"].as_str().unwrap().to_owned();
    let path = format!("/dashboard/payins/{id}");
    // Not paid yet: no refund form.
    let pending = page(app, &session, &path).await.text().await.unwrap();
    assert!(!pending.contains("/refund\""), "{pending}");
    assert!(pending.contains("payin.created"), "the timeline: {pending}");
    api_post(
        app,
        &key,
        &format!("/v1/test_helpers/payins/{id}/pay"),
        "r2",
        json!({}),
    )
    .await;
    let html = page(app, &session, &path).await.text().await.unwrap();
    assert!(html.contains("payin.paid"), "the timeline: {html}");
    // The home page counts it in today's and this month's volume, and shows an open
    // reconciliation exception about it, linked to its page.
    let home = page(app, &session, "/dashboard")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        home.contains("No open alerts or reconciliation exceptions."),
        "{home}"
    );
    for period in ["home.today", "home.this_month"] {
        assert!(
            home.contains(&format!("data-figure=\"{period}-in\">COP 150,000<")),
            "{period}: {home}"
        );
    }
    let exception_payin: cajero_domain::id::PayinId = id.parse().unwrap();
    let object = exception_payin.to_string();
    app.server
        .state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                cajero_store::exceptions::record(
                    &mut c,
                    &cajero_store::exceptions::NewException {
                        id: "exc_dashboard_home",
                        merchant_id: Some(merchant),
                        mode: Mode::Test,
                        kind: "amount_mismatch",
                        object_id: &object,
                        amount: cajero_domain::money::Amount::new(150_000).unwrap(),
                        currency: cajero_domain::money::Currency::Cop,
                        network: Some("efecty"),
                        network_order_id: None,
                        detail: None,
                    },
                    jiff::Timestamp::now(),
                )
                .await
            })
        })
        .await
        .unwrap();
    let home = page(app, &session, "/dashboard")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        home.contains("amount_mismatch") && home.contains(&format!("href=\"{path}\"")),
        "{home}"
    );
    let csrf = field_in(&html, "csrf");
    let idem = field_in(&html, "idem");
    let action = format!("{path}/refund");
    let refund = |csrf: String, idem: String, amount: &'static str, confirm: &'static str| {
        let action = action.clone();
        let session = session.clone();
        async move {
            post_form(
                app,
                &session,
                &action,
                &[
                    ("csrf", &csrf),
                    ("idem", &idem),
                    ("amount", amount),
                    ("method", "bank_transfer"),
                    ("reason", "Cliente devolvió el pedido"),
                    ("confirm", confirm),
                ],
            )
            .await
        }
    };
    let payin_path = format!("/v1/payins/{id}");
    let refunded = |key: String| {
        let payin_path = payin_path.clone();
        async move {
            api_get(app, &key, &payin_path)
                .await
                .get("amount_refunded")
                .and_then(serde_json::Value::as_i64)
                .unwrap()
        }
    };
    // Without its CSRF token: refused, nothing done.
    let forged = refund("x".repeat(43), idem.clone(), "50000", "yes").await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    // Without the confirmation: back to the page, asking for it.
    let unconfirmed = refund(csrf.clone(), idem.clone(), "50000", "").await;
    assert_eq!(unconfirmed.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        unconfirmed.headers()[LOCATION],
        format!("{path}?refused=confirm_needed").as_str()
    );
    // More than was paid: the service's refusal, in the user's words.
    let excessive = refund(csrf.clone(), users::random_token(), "150001", "yes").await;
    let to = excessive.headers()[LOCATION].to_str().unwrap().to_owned();
    assert_eq!(to, format!("{path}?refused=refund_exceeds_remaining"));
    let shown = page(app, &session, &to).await.text().await.unwrap();
    assert!(
        shown.contains("That is more than is left to refund."),
        "{shown}"
    );
    assert_eq!(refunded(key.clone()).await, 0);
    // A partial refund, the form sent twice (a double click): refunded once.
    for _ in 0..2 {
        let done = refund(csrf.clone(), idem.clone(), "50.000", "yes").await;
        assert_eq!(done.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            done.headers()[LOCATION],
            format!("{path}?done=action.refunded").as_str()
        );
    }
    assert_eq!(refunded(key.clone()).await, 50_000);
    let refunds = api_get(app, &key, &format!("/v1/refunds?payin={id}")).await;
    assert_eq!(refunds["data"].as_array().unwrap().len(), 1, "{refunds}");
    let refund_id = refunds["data"][0]["id"].as_str().unwrap().to_owned();
    let after = page(app, &session, &format!("{path}?done=action.refunded"))
        .await
        .text()
        .await
        .unwrap();
    assert!(after.contains("Refund created."), "{after}");
    assert!(after.contains(&refund_id), "the refunds table: {after}");
    assert!(after.contains("refund.created"), "the timeline: {after}");
    // An unknown outcome key is not shown.
    let odd = page(app, &session, &format!("{path}?done=%3Cb%3Ehi"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!odd.contains("<b>hi"));
    // The audit log names the refund.
    let audit = page(app, &session, "/dashboard/audit")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        audit.contains("refund.created") && audit.contains(&refund_id),
        "{audit}"
    );

    // An analyst sees the pay-in but has no form, and a forged one is refused.
    let state = &app.server.state;
    users::create_user(
        &state.store,
        state.clock.as_ref(),
        merchant,
        "luis@example.co",
        "Luis",
        users::Role::Analyst,
        PASSWORD,
    )
    .await
    .unwrap();
    let analyst = session_of(app, "luis@example.co").await;
    let seen = page(app, &analyst, &path).await.text().await.unwrap();
    assert!(!seen.contains("name=\"idem\""), "{seen}");
    let analyst_csrf = field_in(&seen, "csrf");
    let refused = post_form(
        app,
        &analyst,
        &action,
        &[
            ("csrf", &analyst_csrf),
            ("idem", &users::random_token()),
            ("amount", "1000"),
            ("method", "bank_transfer"),
            ("confirm", "yes"),
        ],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    // Another merchant's owner: not found.
    let other = sign_up(app, "Otra SAS", "otra@example.co").await;
    let other_csrf = csrf_of(app, &other).await;
    let hidden = post_form(
        app,
        &other,
        &action,
        &[
            ("csrf", &other_csrf),
            ("idem", &users::random_token()),
            ("amount", "1000"),
            ("method", "bank_transfer"),
            ("confirm", "yes"),
        ],
    )
    .await;
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
    assert_eq!(refunded(key.clone()).await, 50_000);
}

/// Canceling a payout from its page calls the payouts service (the code at the network
/// first); resending an event queues it again; both are refused to the wrong roles and to
/// other merchants.
async fn an_owner_cancels_a_payout_and_events_are_resent_by_owners_and_developers_only(
    app: &TestApp,
) {
    let session = sign_up(app, "Remesas SAS", "ana@example.co").await;
    let merchant = user(app, "ana@example.co")
        .await
        .merchant_id
        .parse()
        .unwrap();
    let (_, key) = app.key(merchant, Mode::Test).await;
    api_post(
        app,
        &key,
        "/v1/topups",
        "c1",
        json!({"amount": 1_000_000, "currency": "COP"}),
    )
    .await;
    api_post(
        app,
        &key,
        "/v1/webhook_endpoints",
        "c2",
        json!({"url": "http://127.0.0.1:9/cajero", "enabled_events": ["*"]}),
    )
    .await;
    let payout = api_post(
        app,
        &key,
        "/v1/payouts",
        "c3",
        json!({"amount": 120_000, "currency": "COP", "network": "efecty",
            "beneficiary": {"name": "Luis Pérez", "document": {"type": "CC", "number": "79876543"}}}),
    )
    .await;
    let id = payout["id"].as_str().unwrap().to_owned();
    let path = format!("/dashboard/payouts/{id}");
    let html = page(app, &session, &path).await.text().await.unwrap();
    assert!(html.contains("payout.created"), "the timeline: {html}");
    assert!(
        html.contains("http://127.0.0.1:9/cajero"),
        "each event's deliveries: {html}"
    );
    let csrf = field_in(&html, "csrf");
    let idem = field_in(&html, "idem");
    let cancel = format!("{path}/cancel");
    let unconfirmed = post_form(app, &session, &cancel, &[("csrf", &csrf), ("idem", &idem)]).await;
    assert_eq!(
        unconfirmed.headers()[LOCATION],
        format!("{path}?refused=confirm_needed").as_str()
    );
    let done = post_form(
        app,
        &session,
        &cancel,
        &[("csrf", &csrf), ("idem", &idem), ("confirm", "yes")],
    )
    .await;
    assert_eq!(
        done.headers()[LOCATION],
        format!("{path}?done=action.canceled").as_str()
    );
    let now = api_get(app, &key, &format!("/v1/payouts/{id}")).await;
    assert_eq!(now["status"], "canceled", "{now}");
    // The reservation is released: the whole top-up is available again.
    let balance = api_get(app, &key, "/v1/balance").await;
    assert!(
        balance.to_string().contains("1000000"),
        "the balance after the cancel: {balance}"
    );
    // A new form for the same payout: it is no longer cancelable.
    let again = post_form(
        app,
        &session,
        &cancel,
        &[
            ("csrf", &csrf),
            ("idem", &users::random_token()),
            ("confirm", "yes"),
        ],
    )
    .await;
    assert_eq!(
        again.headers()[LOCATION],
        format!("{path}?refused=payout_not_cancelable").as_str()
    );
    let html = page(app, &session, &path).await.text().await.unwrap();
    assert!(html.contains("payout.canceled"), "{html}");
    let events = event_ids_in(&html);
    assert!(events.len() >= 2, "{html}");
    let event = &events[0];
    let resend = format!("/dashboard/events/{event}/resend");
    let resent = post_form(app, &session, &resend, &[("csrf", &csrf), ("back", &path)]).await;
    assert_eq!(
        resent.headers()[LOCATION],
        format!("{path}?done=action.resent").as_str()
    );
    // A page elsewhere is not where a resend goes back to.
    let elsewhere = post_form(
        app,
        &session,
        &resend,
        &[("csrf", &csrf), ("back", "https://evil.example/")],
    )
    .await;
    assert_eq!(
        elsewhere.headers()[LOCATION],
        "/dashboard?done=action.resent"
    );
    let audit = page(app, &session, "/dashboard/audit")
        .await
        .text()
        .await
        .unwrap();
    for action in ["payout.canceled", "event.resent"] {
        assert!(audit.contains(action), "{action}: {audit}");
    }
    // A developer resends; an analyst cannot; another merchant does not find the event.
    let state = &app.server.state;
    for (email, role) in [
        ("dev@example.co", users::Role::Developer),
        ("luis@example.co", users::Role::Analyst),
    ] {
        users::create_user(
            &state.store,
            state.clock.as_ref(),
            merchant,
            email,
            "X",
            role,
            PASSWORD,
        )
        .await
        .unwrap();
    }
    let developer = session_of(app, "dev@example.co").await;
    let dev_page = page(app, &developer, &path).await.text().await.unwrap();
    assert!(
        !dev_page.contains("/cancel\""),
        "developers do not cancel: {dev_page}"
    );
    let dev_csrf = field_in(&dev_page, "csrf");
    let by_developer = post_form(
        app,
        &developer,
        &resend,
        &[("csrf", &dev_csrf), ("back", &path)],
    )
    .await;
    assert_eq!(by_developer.status(), StatusCode::SEE_OTHER);
    let analyst = session_of(app, "luis@example.co").await;
    let analyst_csrf = csrf_of(app, &analyst).await;
    let by_analyst = post_form(
        app,
        &analyst,
        &resend,
        &[("csrf", &analyst_csrf), ("back", &path)],
    )
    .await;
    assert_eq!(by_analyst.status(), StatusCode::FORBIDDEN);
    let other = sign_up(app, "Otra", "otra@example.co").await;
    let other_csrf = csrf_of(app, &other).await;
    let by_other = post_form(
        app,
        &other,
        &resend,
        &[("csrf", &other_csrf), ("back", &path)],
    )
    .await;
    assert_eq!(by_other.status(), StatusCode::NOT_FOUND);
    let by_other = post_form(
        app,
        &other,
        &cancel,
        &[
            ("csrf", &other_csrf),
            ("idem", &users::random_token()),
            ("confirm", "yes"),
        ],
    )
    .await;
    assert_eq!(by_other.status(), StatusCode::NOT_FOUND);
}

/// The lists beside pay-ins and payouts show the merchant's own rows, link to the orders'
/// pages, and a settlement's statement downloads as the API's CSV (another merchant: 404).
async fn refunds_events_balance_transactions_and_settlements_are_listed_with_statements_as_csv(
    app: &TestApp,
) {
    let session = sign_up(app, "Tienda Ana SAS", "ana@example.co").await;
    let merchant = user(app, "ana@example.co")
        .await
        .merchant_id
        .parse()
        .unwrap();
    let (_, key) = app.key(merchant, Mode::Test).await;
    let payin = api_post(
        app,
        &key,
        "/v1/payins",
        "l1",
        json!({"amount": 80_000, "currency": "COP", "network": "efecty",
            "customer": {"name": "Luis Pérez", "document": {"type": "CC", "number": "1020304050"}}}),
    )
    .await;
    let id = payin["id"].as_str().unwrap().to_owned();
    api_post(
        app,
        &key,
        &format!("/v1/test_helpers/payins/{id}/pay"),
        "l2",
        json!({}),
    )
    .await;
    let refund = api_post(
        app,
        &key,
        &format!("/v1/payins/{id}/refunds"),
        "l3",
        json!({"amount": 10_000, "method": "bank_transfer"}),
    )
    .await;
    let refund_id = refund["id"].as_str().unwrap();
    let refunds = page(app, &session, "/dashboard/refunds")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        refunds.contains(refund_id) && refunds.contains(&format!("/dashboard/payins/{id}")),
        "{refunds}"
    );
    let events = page(app, &session, "/dashboard/events")
        .await
        .text()
        .await
        .unwrap();
    for kind in ["payin.created", "payin.paid", "refund.created"] {
        assert!(events.contains(kind), "{kind}: {events}");
    }
    assert!(
        events.contains(&format!("/dashboard/payins/{id}")),
        "{events}"
    );
    let moves = page(app, &session, "/dashboard/balance_transactions")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        moves.contains(&format!("/dashboard/payins/{id}")),
        "{moves}"
    );

    // A settled day: listed, and its statement is the API's CSV.
    let paid_at = crate::settlements::bogota(2026, 11, 23, 12, 0);
    crate::settlements::paid_payin(app, merchant, Mode::Test, 50_000, 1_000, paid_at).await;
    let report = cajero_server::settlement::run_once(
        &app.server.state.store,
        crate::settlements::bogota(2026, 11, 24, 12, 0),
    )
    .await
    .unwrap();
    let settlement = report.settled[0].to_string();
    let listed = page(app, &session, "/dashboard/settlements")
        .await
        .text()
        .await
        .unwrap();
    let csv_path = format!("/dashboard/settlements/{settlement}.csv");
    assert!(listed.contains(&csv_path), "{listed}");
    let csv = page(app, &session, &csv_path).await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = csv.text().await.unwrap();
    let from_api = app
        .get_with_key(&format!("/v1/settlements/{settlement}.csv"), &key)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(csv, from_api);
    // Another merchant sees none of it.
    let other = sign_up(app, "Otra", "otra@example.co").await;
    assert_eq!(
        page(app, &other, &csv_path).await.status(),
        StatusCode::NOT_FOUND
    );
    for list in [
        "/dashboard/refunds",
        "/dashboard/events",
        "/dashboard/settlements",
    ] {
        let html = page(app, &other, list).await.text().await.unwrap();
        assert!(
            !html.contains(&id) && !html.contains(&settlement),
            "{list}: {html}"
        );
    }
    assert_eq!(
        page(app, &other, "/dashboard/settlements/nonsense.csv")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

fn invitation_link_in(html: &str) -> String {
    html.split("data-invitation-link")
        .next()
        .and_then(|before| before.rsplit("value=\"").next())
        .and_then(|v| v.split('"').next())
        .filter(|v| v.contains("/dashboard/invitations/"))
        .unwrap_or_else(|| panic!("no invitation link in {html}"))
        .to_owned()
}

/// Accepts an invitation at `path` with a name and password; the response.
async fn accept_invitation(app: &TestApp, path: &str, password: &str) -> reqwest::Response {
    let (cookie, token) = form_token(app, path).await;
    browser()
        .post(app.url(path))
        .header(COOKIE, format!("cajero_csrf={cookie}"))
        .pipe_form(&[
            ("csrf", token.as_str()),
            ("name", "Luis Invitado"),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

/// An owner invites an address with a role; without an SMTP relay the one-time link is shown
/// once (and logged); following it creates the user with that role and signs it in; the link
/// then works no more, nor after it expires or is withdrawn; only owners invite.
async fn an_owner_invites_by_email_and_the_one_time_link_creates_the_user_with_its_role(
    app: &TestApp,
) {
    let owner = sign_up(app, "Tienda Ana SAS", "ana@example.co").await;
    let csrf = csrf_of(app, &owner).await;
    let invite = |email: &'static str, role: &'static str| {
        let (owner, csrf) = (owner.clone(), csrf.clone());
        async move {
            post_form(
                app,
                &owner,
                "/dashboard/team/invite",
                &[("csrf", &csrf), ("email", email), ("role", role)],
            )
            .await
        }
    };
    let made = invite("Luis@Example.co", "analyst").await;
    assert_eq!(made.status(), StatusCode::OK);
    let html = made.text().await.unwrap();
    let link = invitation_link_in(&html);
    let path = link
        .split_once("/dashboard/")
        .map(|(_, p)| format!("/dashboard/{p}"))
        .unwrap();
    // The team page lists it (lower case) but never shows the link again.
    let team = page(app, &owner, "/dashboard/team")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        team.contains("luis@example.co") && !team.contains(&link),
        "{team}"
    );
    // An address that already has an account is refused.
    let taken = invite("ana@example.co", "developer").await;
    assert_eq!(taken.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // A weak password is refused and leaves the link usable.
    let weak = accept_invitation(app, &path, "short").await;
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let joined = accept_invitation(app, &path, PASSWORD).await;
    assert_eq!(
        joined.status(),
        StatusCode::SEE_OTHER,
        "{:?}",
        joined.headers()
    );
    let session = cookie_value(&set_cookie(&joined, "cajero_session").unwrap());
    assert_eq!(
        page(app, &session, "/dashboard").await.status(),
        StatusCode::OK
    );
    let luis = user(app, "luis@example.co").await;
    assert_eq!(luis.role, "analyst");
    assert_eq!(luis.name, "Luis Invitado");
    assert_eq!(
        luis.merchant_id,
        user(app, "ana@example.co").await.merchant_id
    );
    // An analyst cannot see the team page or invite.
    assert_eq!(
        page(app, &session, "/dashboard/team").await.status(),
        StatusCode::FORBIDDEN
    );
    let analyst_csrf = csrf_of(app, &session).await;
    let by_analyst = post_form(
        app,
        &session,
        "/dashboard/team/invite",
        &[
            ("csrf", &analyst_csrf),
            ("email", "x@example.co"),
            ("role", "owner"),
        ],
    )
    .await;
    assert_eq!(by_analyst.status(), StatusCode::FORBIDDEN);
    // The owner changes the new user's role, cannot remove or demote the last owner, and
    // removes the user: its session ends at once.
    let ana = user(app, "ana@example.co").await;
    let role = post_form(
        app,
        &owner,
        &format!("/dashboard/team/users/{}/role", luis.id),
        &[("csrf", &csrf), ("role", "developer")],
    )
    .await;
    assert_eq!(role.status(), StatusCode::SEE_OTHER);
    assert_eq!(user(app, "luis@example.co").await.role, "developer");
    for (path, fields) in [
        (
            format!("/dashboard/team/users/{}/remove", ana.id),
            vec![("csrf", csrf.as_str()), ("confirm", "yes")],
        ),
        (
            format!("/dashboard/team/users/{}/role", ana.id),
            vec![("csrf", csrf.as_str()), ("role", "analyst")],
        ),
    ] {
        let refused = post_form(app, &owner, &path, &fields).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            refused.text().await.unwrap().contains("at least one owner"),
            "{path}"
        );
    }
    assert_eq!(user(app, "ana@example.co").await.role, "owner");
    let removed = post_form(
        app,
        &owner,
        &format!("/dashboard/team/users/{}/remove", luis.id),
        &[("csrf", &csrf), ("confirm", "yes")],
    )
    .await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    let gone = page(app, &session, "/dashboard").await;
    assert_eq!(gone.status(), StatusCode::SEE_OTHER);
    assert_eq!(gone.headers()[LOCATION], "/dashboard/login");
    // Another merchant's owner cannot touch this merchant's users.
    let stranger = sign_up(app, "Otra SAS", "otra@example.co").await;
    let stranger_csrf = csrf_of(app, &stranger).await;
    let foreign = post_form(
        app,
        &stranger,
        &format!("/dashboard/team/users/{}/role", ana.id),
        &[("csrf", &stranger_csrf), ("role", "analyst")],
    )
    .await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    // The link works once.
    assert_eq!(
        browser().get(app.url(&path)).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    // A withdrawn link and an expired one work no more.
    let second = invitation_link_in(
        &invite("dev@example.co", "developer")
            .await
            .text()
            .await
            .unwrap(),
    );
    let second_path = format!("/dashboard/{}", second.split_once("/dashboard/").unwrap().1);
    let team = page(app, &owner, "/dashboard/team")
        .await
        .text()
        .await
        .unwrap();
    let id = team
        .split("/dashboard/team/invitations/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_owned();
    let revoked = post_form(
        app,
        &owner,
        &format!("/dashboard/team/invitations/{id}/revoke"),
        &[("csrf", &csrf), ("confirm", "yes")],
    )
    .await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        browser()
            .get(app.url(&second_path))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    let (cookie, token) = form_token(app, "/dashboard/login").await;
    let posted = browser()
        .post(app.url(&second_path))
        .header(COOKIE, format!("cajero_csrf={cookie}"))
        .pipe_form(&[
            ("csrf", token.as_str()),
            ("name", "X"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::NOT_FOUND);
    let third = invitation_link_in(
        &invite("tres@example.co", "developer")
            .await
            .text()
            .await
            .unwrap(),
    );
    let third_path = format!("/dashboard/{}", third.split_once("/dashboard/").unwrap().1);
    app.clock
        .advance(cajero_server::invitations::TTL + SignedDuration::from_secs(1));
    assert_eq!(
        browser()
            .get(app.url(&third_path))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    // A made-up link is not found either.
    assert_eq!(
        browser()
            .get(app.url(&format!("/dashboard/invitations/{}", users::random_token())))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    // Every step is in the owner's audit log (signed in again: the clock moved a week).
    let owner = session_of(app, "ana@example.co").await;
    let audit = page(app, &owner, "/dashboard/audit")
        .await
        .text()
        .await
        .unwrap();
    for action in [
        "invitation.created",
        "invitation.accepted",
        "invitation.revoked",
    ] {
        assert!(audit.contains(action), "{action}: {audit}");
    }
}

/// An endpoint's page: a test event goes to that endpoint only, signed like every event, and
/// its attempt shows in the delivery log with the receiver's answer.
mod endpoint_pages {
    use super::*;
    use crate::receiver::Receiver;
    use crate::webhook_support::Ctx;

    crate::webhook_tests!(a_test_event_reaches_one_endpoint_and_its_attempt_is_logged);

    async fn a_test_event_reaches_one_endpoint_and_its_attempt_is_logged(ctx: &Ctx) {
        let app = &ctx.app;
        let receiver = Receiver::start(true).await;
        let endpoint = ctx.receiver_endpoint(&receiver, &["*"]).await;
        let (other, _) = ctx.endpoint("http://127.0.0.1:9/other", &["*"]).await;
        let state = &app.server.state;
        for (email, role) in [
            ("ana@example.co", users::Role::Owner),
            ("luis@example.co", users::Role::Analyst),
        ] {
            users::create_user(
                &state.store,
                state.clock.as_ref(),
                ctx.merchant,
                email,
                "X",
                role,
                PASSWORD,
            )
            .await
            .unwrap();
        }
        let owner = session_of(app, "ana@example.co").await;
        let path = format!("/dashboard/webhooks/{endpoint}");
        let html = page(app, &owner, &path).await.text().await.unwrap();
        assert!(html.contains(&receiver.url), "{html}");
        let csrf = field_in(&html, "csrf");
        let sent = post_form(
            app,
            &owner,
            &format!("{path}/test"),
            &[("csrf", &csrf), ("type", "payin.paid")],
        )
        .await;
        assert_eq!(
            sent.headers()[LOCATION],
            format!("{path}?done=action.test_sent").as_str()
        );
        let unknown = post_form(
            app,
            &owner,
            &format!("{path}/test"),
            &[("csrf", &csrf), ("type", "payin.nonsense")],
        )
        .await;
        assert_eq!(
            unknown.headers()[LOCATION],
            format!("{path}?refused=parameter_invalid").as_str()
        );
        ctx.run().await;
        let received = receiver.received();
        assert_eq!(received.len(), 1, "{received:?}");
        let body: serde_json::Value = serde_json::from_slice(&received[0].body).unwrap();
        assert_eq!(body["type"], "payin.paid", "{body}");
        assert_eq!(body["data"]["object"]["object"], "test", "{body}");
        let logged = page(app, &owner, &path).await.text().await.unwrap();
        assert!(
            logged.contains("HTTP 200") && logged.contains("payin.paid"),
            "{logged}"
        );
        // The other endpoint got nothing.
        let quiet = page(app, &owner, &format!("/dashboard/webhooks/{other}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(!quiet.contains("payin.paid</code>"), "{quiet}");
        // An analyst reads the log but sends nothing; another merchant finds nothing.
        let analyst = session_of(app, "luis@example.co").await;
        let analyst_page = page(app, &analyst, &path).await.text().await.unwrap();
        assert!(!analyst_page.contains("/test\""), "{analyst_page}");
        let analyst_csrf = field_in(&analyst_page, "csrf");
        let refused = post_form(
            app,
            &analyst,
            &format!("{path}/test"),
            &[("csrf", &analyst_csrf), ("type", "payin.paid")],
        )
        .await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        let stranger = sign_up(app, "Otra", "otra@example.co").await;
        assert_eq!(
            page(app, &stranger, &path).await.status(),
            StatusCode::NOT_FOUND
        );
    }
}

/// With an SMTP relay configured (`[alerts.smtp]`), the invitation is e-mailed to the address
/// in the inviting owner's language, and the link is not shown on the page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_is_emailed_through_the_relay_in_the_owners_language() {
    let sink = crate::alerts::SmtpSink::start().await;
    let port = sink.port;
    let app = crate::helpers::spawn_app_with(
        crate::helpers::Engine::Sqlite,
        jiff::Timestamp::now(),
        move |config| {
            config.alerts.smtp = Some(cajero_server::alerts::config::SmtpConfig {
                host: "127.0.0.1".into(),
                port: Some(port),
                username: None,
                password: None,
                from: "cajero <no-reply@example.co>".into(),
                to: vec!["ops@example.co".into()],
                security: cajero_server::alerts::config::SmtpSecurity::None,
            });
        },
    )
    .await
    .unwrap();
    let owner = sign_up(&app, "Tienda", "ana@example.co").await;
    let csrf = csrf_of(&app, &owner).await;
    let spanish = post_form(
        &app,
        &owner,
        "/dashboard/language",
        &[("csrf", &csrf), ("locale", "es-CO")],
    )
    .await;
    assert_eq!(spanish.status(), StatusCode::SEE_OTHER);
    let made = post_form(
        &app,
        &owner,
        "/dashboard/team/invite",
        &[
            ("csrf", &csrf),
            ("email", "luis@example.co"),
            ("role", "developer"),
        ],
    )
    .await;
    assert_eq!(made.status(), StatusCode::OK);
    let html = made.text().await.unwrap();
    assert!(!html.contains("data-invitation-link"), "{html}");
    assert!(
        html.contains("Invitación enviada por correo a luis@example.co"),
        "{html}"
    );
    let messages = sink.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    // Quoted-printable: undo the soft line breaks (the token has no `=` of its own).
    let mail = messages[0].replace("=\n", "");
    assert!(mail.contains("To: luis@example.co"), "{mail}");
    assert!(
        mail.contains("Subject: Te invitaron a un panel de cajero"),
        "{mail}"
    );
    let link = mail
        .split_whitespace()
        .find(|w| w.contains("/dashboard/invitations/"))
        .unwrap_or_else(|| panic!("no link in {mail}"));
    let path = format!("/dashboard/{}", link.split_once("/dashboard/").unwrap().1);
    let joined = accept_invitation(&app, &path, PASSWORD).await;
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    assert_eq!(user(&app, "luis@example.co").await.role, "developer");
    app.server.stop().await.unwrap();
}

/// The onboarding page in Spanish: saved as a draft, refused when incomplete, submitted; the
/// operator's questions shown and answered; once approved, a live key can be created (before,
/// the same form is refused).
async fn a_merchant_fills_in_its_onboarding_submits_answers_and_once_approved_creates_a_live_key(
    app: &TestApp,
) {
    use cajero_domain::kyc::KycAction;
    use cajero_server::kyc::{self, Actor};
    let owner = sign_up(app, "Tienda Ana SAS", "ana@example.co").await;
    let csrf = csrf_of(app, &owner).await;
    let spanish = post_form(
        app,
        &owner,
        "/dashboard/language",
        &[("csrf", &csrf), ("locale", "es-CO")],
    )
    .await;
    assert_eq!(spanish.status(), StatusCode::SEE_OTHER);
    let merchant: cajero_domain::id::MerchantId = user(app, "ana@example.co")
        .await
        .merchant_id
        .parse()
        .unwrap();
    let home = page(app, &owner, "/dashboard").await.text().await.unwrap();
    assert!(home.contains("Completa tu vinculación"), "{home}");
    let live_key = || {
        let (owner, csrf) = (owner.clone(), csrf.clone());
        async move {
            post_form(
                app,
                &owner,
                "/dashboard/keys",
                &[("csrf", &csrf), ("mode", "live")],
            )
            .await
        }
    };
    assert_eq!(live_key().await.status(), StatusCode::CONFLICT);
    let draft = page(app, &owner, "/dashboard/onboarding")
        .await
        .text()
        .await
        .unwrap();
    assert!(draft.contains("data-kyc-status=\"draft\""), "{draft}");
    assert!(draft.contains("NIT con dígito de verificación"), "{draft}");
    let mut fields: Vec<(&str, &str)> = vec![
        ("csrf", &csrf),
        ("legal_name", "Tienda Ana SAS"),
        ("nit", "900123456-8"),
        ("company_type", "sas"),
        ("address", "Calle 10 # 20-30"),
        ("municipality", "11001"),
        ("rep_name", "Ana Gómez"),
        ("rep_document_type", "CC"),
        ("rep_document_number", "1020304050"),
        ("rep_nationality", "co"),
        ("owner0_name", "Ana Gómez"),
        ("owner0_document_type", "CC"),
        ("owner0_document_number", "1020304050"),
        ("owner0_nationality", "CO"),
        ("owner0_share_pct", "100"),
        ("monthly_payins_cop", "$ 50.000.000"),
        ("average_payin_cop", "80.000"),
        ("activity", "Venta de ropa en línea"),
        ("website", "https://tienda.example.co"),
    ];
    // Incomplete (no NIT): saved, not submitted, and the page says what is missing.
    let mut incomplete = fields.clone();
    incomplete.retain(|(k, _)| *k != "nit");
    incomplete.push(("intent", "submit"));
    let refused = post_form(app, &owner, "/dashboard/onboarding", &incomplete).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(html.contains("Guardado, pero no enviado"), "{html}");
    assert!(html.contains("Por completar"), "{html}");
    assert_eq!(
        kyc::show(&app.server.state.store, merchant)
            .await
            .unwrap()
            .application
            .legal_name,
        "Tienda Ana SAS"
    );
    let state = &app.server.state;
    for kind in kyc::DOCUMENT_KINDS {
        let upload = kyc::Upload {
            kind: kind.into(),
            file_name: format!("{kind}.pdf"),
            content: b"%PDF-1.7\n%%EOF\n".to_vec(),
            issued_on: (kind == kyc::CHAMBER_CERTIFICATE).then(|| kyc::today(state.clock.as_ref())),
        };
        let actor = Actor {
            user_id: None,
            name: "ana@example.co".into(),
            ip: None,
        };
        kyc::add_document(
            &state.store,
            state.clock.as_ref(),
            &state.config.kyc,
            merchant,
            upload,
            actor,
        )
        .await
        .unwrap();
    }
    fields.push(("intent", "submit"));
    let sent = post_form(app, &owner, "/dashboard/onboarding", &fields).await;
    assert_eq!(
        sent.headers()[LOCATION],
        "/dashboard/onboarding?done=submitted"
    );
    let shown = kyc::show(&app.server.state.store, merchant).await.unwrap();
    assert_eq!(shown.application.representative.nationality, "CO");
    assert_eq!(shown.application.monthly_payins_cop, 50_000_000);
    assert_eq!(shown.application.owners[0].share_bps, Some(10_000));
    // Submitted: read only.
    let again = post_form(app, &owner, "/dashboard/onboarding", &fields).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    // The operator asks; the merchant sees the question and answers.
    let state = &app.server.state;
    let operator = || Actor {
        user_id: None,
        name: "operador".into(),
        ip: None,
    };
    kyc::decide(
        &state.store,
        state.clock.as_ref(),
        merchant,
        KycAction::RequestInfo,
        Some("¿Cuál es la dirección de la bodega?"),
        operator(),
    )
    .await
    .unwrap();
    let asked = page(app, &owner, "/dashboard/onboarding")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        asked.contains("¿Cuál es la dirección de la bodega?"),
        "{asked}"
    );
    let answered = post_form(app, &owner, "/dashboard/onboarding", &fields).await;
    assert_eq!(answered.status(), StatusCode::SEE_OTHER);
    // An analyst cannot change it.
    users::create_user(
        &state.store,
        state.clock.as_ref(),
        merchant,
        "luis@example.co",
        "Luis",
        users::Role::Analyst,
        PASSWORD,
    )
    .await
    .unwrap();
    let analyst = session_of(app, "luis@example.co").await;
    let analyst_csrf = csrf_of(app, &analyst).await;
    let mut by_analyst = fields.clone();
    by_analyst[0] = ("csrf", &analyst_csrf);
    assert_eq!(
        post_form(app, &analyst, "/dashboard/onboarding", &by_analyst)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    kyc::decide(
        &state.store,
        state.clock.as_ref(),
        merchant,
        KycAction::Approve,
        Some("Completo"),
        operator(),
    )
    .await
    .unwrap();
    let home = page(app, &owner, "/dashboard").await.text().await.unwrap();
    assert!(!home.contains("Completa tu vinculación"), "{home}");
    let approved = page(app, &owner, "/dashboard/onboarding")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        approved.contains("data-kyc-status=\"approved\""),
        "{approved}"
    );
    assert_eq!(live_key().await.status(), StatusCode::CREATED);
}

/// A `multipart/form-data` body as a browser sends a file form: (content type, body).
fn multipart(csrf: &str, kind: &str, file_name: &str, content: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----cajeroTestBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in [("csrf", csrf), ("kind", kind)] {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/pdf\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(app: &TestApp, session: &str, form: (String, Vec<u8>)) -> reqwest::Response {
    browser()
        .post(app.url("/dashboard/onboarding/documents"))
        .header(COOKIE, format!("cajero_session={session}"))
        .header("content-type", form.0)
        .body(form.1)
        .send()
        .await
        .unwrap()
}

/// Uploads: a PDF is kept with its hash and served back to the owners; a renamed executable,
/// an empty or oversize file, a missing CSRF token are refused; another merchant cannot fetch
/// a document by its URL; documents are read from the database (they outlive the process).
async fn kyc_documents_are_checked_by_content_and_size_and_served_to_their_owners_only(
    app: &TestApp,
) {
    let owner = sign_up(app, "Tienda Ana SAS", "ana@example.co").await;
    let csrf = csrf_of(app, &owner).await;
    let pdf = b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n".to_vec();
    let sent = upload(app, &owner, multipart(&csrf, "rut", "rut.pdf", &pdf)).await;
    assert_eq!(
        sent.headers()[LOCATION],
        "/dashboard/onboarding?done=uploaded"
    );
    let html = page(app, &owner, "/dashboard/onboarding")
        .await
        .text()
        .await
        .unwrap();
    let id = html
        .split("/dashboard/onboarding/documents/")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    assert!(id.starts_with("doc_"), "{html}");
    use sha2::Digest as _;
    let digest: String = sha2::Sha256::digest(&pdf)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(html.contains(&digest[..16]), "the hash is shown: {html}");
    let fetched = page(
        app,
        &owner,
        &format!("/dashboard/onboarding/documents/{id}"),
    )
    .await;
    assert_eq!(fetched.status(), StatusCode::OK);
    assert_eq!(fetched.headers()["content-type"], "application/pdf");
    assert!(
        fetched.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(fetched.bytes().await.unwrap().to_vec(), pdf);
    // A Windows executable named like a PDF, an empty file, one over 10 MiB: refused.
    let exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff".to_vec();
    let renamed = upload(app, &owner, multipart(&csrf, "rut", "rut.pdf", &exe)).await;
    assert_eq!(
        renamed.headers()[LOCATION],
        "/dashboard/onboarding?refused=file_type"
    );
    let empty = upload(app, &owner, multipart(&csrf, "rut", "rut.pdf", b"")).await;
    assert_eq!(
        empty.headers()[LOCATION],
        "/dashboard/onboarding?refused=file_size"
    );
    let mut big = b"%PDF-1.7\n".to_vec();
    big.resize(cajero_server::kyc::DOCUMENT_BYTES_MAX + 1, b' ');
    let oversize = upload(app, &owner, multipart(&csrf, "rut", "big.pdf", &big)).await;
    assert_ne!(
        oversize
            .headers()
            .get(LOCATION)
            .map(|v| v.to_str().unwrap()),
        Some("/dashboard/onboarding?done=uploaded")
    );
    let unknown = upload(app, &owner, multipart(&csrf, "passport", "p.pdf", &pdf)).await;
    assert_eq!(
        unknown.headers()[LOCATION],
        "/dashboard/onboarding?refused=document_kind"
    );
    let forged = upload(app, &owner, multipart("nope", "rut", "rut.pdf", &pdf)).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let merchant: cajero_domain::id::MerchantId = user(app, "ana@example.co")
        .await
        .merchant_id
        .parse()
        .unwrap();
    let kept = cajero_server::kyc::documents(&app.server.state.store, merchant)
        .await
        .unwrap();
    assert_eq!(kept.len(), 1, "only the PDF was kept: {kept:?}");
    assert_eq!(kept[0].sha256, digest);
    // Another merchant's owner guesses the URL: not found. An analyst: forbidden.
    let other = sign_up(app, "Otra SAS", "otra@example.co").await;
    assert_eq!(
        page(
            app,
            &other,
            &format!("/dashboard/onboarding/documents/{id}")
        )
        .await
        .status(),
        StatusCode::NOT_FOUND
    );
    let state = &app.server.state;
    users::create_user(
        &state.store,
        state.clock.as_ref(),
        merchant,
        "luis@example.co",
        "Luis",
        users::Role::Analyst,
        PASSWORD,
    )
    .await
    .unwrap();
    let analyst = session_of(app, "luis@example.co").await;
    assert_eq!(
        page(
            app,
            &analyst,
            &format!("/dashboard/onboarding/documents/{id}")
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
}
