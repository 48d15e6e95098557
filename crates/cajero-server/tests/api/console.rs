//! The operator's console over HTTP, on both engines: its own sign-in with two-factor set up
//! before anything opens; every action refused without a reason and audited with it; the audit
//! log searched; suspension stopping live use at once while the operator still services the
//! merchant's open payouts; `active` only after an approved application.

use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_server::operators;
use cajero_store::operators::AuditSearch;
use jiff::SignedDuration;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION};
use serde_json::json;

use crate::dashboard::{PipeForm, browser, cookie_value, csrf_field, set_cookie};
use crate::helpers::{TestApp, assert_error};

crate::both_engines!(
    an_operator_signs_in_with_a_password_and_sets_up_two_factor_before_anything_opens,
    a_disabled_operator_is_signed_out_and_cannot_sign_in,
    operator_actions_need_a_reason_and_are_audited_with_it_and_searchable,
    suspension_stops_live_use_at_once_and_the_operator_still_cancels_open_payouts,
    a_merchant_becomes_active_only_with_an_approved_application,
    live_topups_are_confirmed_and_alerts_resolved_from_the_console,
    a_payout_to_a_listed_name_is_held_then_released_or_refused_by_an_operator,
    a_reconciliation_exception_is_resolved_from_the_console_with_its_reason,
    an_operator_sets_risk_rules_and_the_blocklist_and_decides_held_payins,
);

pub(crate) const OPERATOR_PASSWORD: &str = "operator horse battery staple";

/// A console session: its cookie's value.
pub(crate) struct Console {
    pub session: String,
    pub secret: String,
}

async fn get(app: &TestApp, session: &str, path: &str) -> reqwest::Response {
    browser()
        .get(app.url(path))
        .header(COOKIE, format!("cajero_operator={session}"))
        .send()
        .await
        .unwrap()
}

async fn post(
    app: &TestApp,
    session: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    browser()
        .post(app.url(path))
        .header(COOKIE, format!("cajero_operator={session}"))
        .pipe_form(fields)
        .send()
        .await
        .unwrap()
}

fn code_at(app: &TestApp, secret: &str) -> String {
    let bytes = totp_rs::Secret::try_from_base32(secret).unwrap();
    let totp = totp_rs::Builder::new()
        .with_secret(bytes.as_ref().to_vec())
        .build()
        .unwrap();
    let now = cajero_server::clock::Clock::now(app.server.state.clock.as_ref());
    totp.generate(u64::try_from(now.as_second()).unwrap())
        .to_string()
}

/// Signs in with the password: the response (a redirect to the code's page, or the page
/// again with why).
async fn password_step(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    let page = browser()
        .get(app.url("/console/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let cookie = cookie_value(&set_cookie(&page, "cajero_console_csrf").unwrap());
    let token = csrf_field(&page.text().await.unwrap());
    browser()
        .post(app.url("/console/login"))
        .header(COOKIE, format!("cajero_console_csrf={cookie}"))
        .pipe_form(&[("csrf", &token), ("email", email), ("password", password)])
        .send()
        .await
        .unwrap()
}

/// Adds an operator and signs it in, setting up two-factor on the way.
pub(crate) async fn operator_console(app: &TestApp, email: &str) -> Console {
    let state = &app.server.state;
    operators::add(
        &state.store,
        state.clock.as_ref(),
        email,
        "Luis Operador",
        OPERATOR_PASSWORD,
    )
    .await
    .unwrap();
    let signed = password_step(app, email, OPERATOR_PASSWORD).await;
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed.headers()[LOCATION], "/console/totp");
    let cookie = set_cookie(&signed, "cajero_operator").unwrap();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Path=/console"),
        "{cookie}"
    );
    let session = cookie_value(&cookie);
    // Nothing opens before the second factor.
    for path in ["/console", "/console/merchants", "/console/audit"] {
        let refused = get(app, &session, path).await;
        assert_eq!(refused.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(refused.headers()[LOCATION], "/console/totp", "{path}");
    }
    let setup = get(app, &session, "/console/totp")
        .await
        .text()
        .await
        .unwrap();
    assert!(setup.contains("<svg"), "a QR code: {setup}");
    let secret = setup
        .split("id=\"totp-secret\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap()
        .to_owned();
    let csrf = csrf_field(&setup);
    let wrong = post(
        app,
        &session,
        "/console/totp",
        &[("csrf", &csrf), ("code", "000000")],
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let code = code_at(app, &secret);
    let right = post(
        app,
        &session,
        "/console/totp",
        &[("csrf", &csrf), ("code", &code)],
    )
    .await;
    assert_eq!(right.status(), StatusCode::SEE_OTHER);
    assert_eq!(right.headers()[LOCATION], "/console");
    // The next code must come from a later step.
    app.clock.advance(SignedDuration::from_secs(30));
    Console { session, secret }
}

/// The session's CSRF token, read from a page.
async fn csrf_of(app: &TestApp, console: &Console) -> String {
    csrf_field(
        &get(app, &console.session, "/console/merchants")
            .await
            .text()
            .await
            .unwrap(),
    )
}

async fn an_operator_signs_in_with_a_password_and_sets_up_two_factor_before_anything_opens(
    app: &TestApp,
) {
    // No session: the sign-in page.
    let anonymous = browser().get(app.url("/console")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert_eq!(anonymous.headers()[LOCATION], "/console/login");

    let console = operator_console(app, "luis@cajero.example").await;
    let home = get(app, &console.session, "/console").await;
    assert_eq!(home.status(), StatusCode::OK);
    assert_eq!(home.headers()["x-frame-options"], "DENY");
    let html = home.text().await.unwrap();
    assert!(html.contains("Applications to review"), "{html}");

    // A wrong password is refused without saying whether the address exists.
    let wrong = password_step(app, "luis@cajero.example", "not the password at all").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let unknown = password_step(app, "nadie@cajero.example", OPERATOR_PASSWORD).await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("Wrong e-mail address or password"),
        unknown
            .text()
            .await
            .unwrap()
            .contains("Wrong e-mail address or password")
    );

    // The next sign-in asks for a code, shows no new secret, and takes each code once.
    let again = password_step(app, "luis@cajero.example", OPERATOR_PASSWORD).await;
    assert_eq!(again.headers()[LOCATION], "/console/totp");
    let second = cookie_value(&set_cookie(&again, "cajero_operator").unwrap());
    let form = get(app, &second, "/console/totp")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !form.contains("totp-secret"),
        "no new secret once set up: {form}"
    );
    let csrf = csrf_field(&form);
    let code = code_at(app, &console.secret);
    let passed = post(
        app,
        &second,
        "/console/totp",
        &[("csrf", &csrf), ("code", &code)],
    )
    .await;
    assert_eq!(passed.status(), StatusCode::SEE_OTHER);
    let third_signin = password_step(app, "luis@cajero.example", OPERATOR_PASSWORD).await;
    let third = cookie_value(&set_cookie(&third_signin, "cajero_operator").unwrap());
    let csrf = csrf_field(
        &get(app, &third, "/console/totp")
            .await
            .text()
            .await
            .unwrap(),
    );
    let replayed = post(
        app,
        &third,
        "/console/totp",
        &[("csrf", &csrf), ("code", &code)],
    )
    .await;
    assert_eq!(
        replayed.status(),
        StatusCode::UNAUTHORIZED,
        "a code is used once"
    );

    // A merchant's dashboard session opens nothing here (its own cookie, its own people).
    let cross = browser()
        .get(app.url("/console"))
        .header(COOKIE, format!("cajero_session={}", console.session))
        .send()
        .await
        .unwrap();
    assert_eq!(cross.headers()[LOCATION], "/console/login");

    // Signing out ends the session.
    let csrf = csrf_of(app, &console).await;
    let out = post(app, &console.session, "/console/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let after = get(app, &console.session, "/console").await;
    assert_eq!(after.headers()[LOCATION], "/console/login");

    // Sign-ins and codes are in the audit log.
    let state = &app.server.state;
    let entries = operators::search_audit(
        &state.store,
        AuditSearch {
            actor: Some("LUIS@".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    for expected in [
        "operator.session_created",
        "operator.two_factor_enabled",
        "operator.second_factor_passed",
        "operator.second_factor_failed",
        "operator.sign_in_failed",
        "operator.session_ended",
    ] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
}

async fn a_disabled_operator_is_signed_out_and_cannot_sign_in(app: &TestApp) {
    let console = operator_console(app, "luis@cajero.example").await;
    let state = &app.server.state;
    let acting = operators::Acting::cli(operators::Reason::parse("left the company").unwrap());
    assert!(
        operators::set_disabled(
            &state.store,
            state.clock.as_ref(),
            "luis@cajero.example",
            true,
            &acting
        )
        .await
        .unwrap()
    );
    let home = get(app, &console.session, "/console").await;
    assert_eq!(home.headers()[LOCATION], "/console/login");
    let refused = password_step(app, "luis@cajero.example", OPERATOR_PASSWORD).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(
        !operators::set_disabled(
            &state.store,
            state.clock.as_ref(),
            "nadie@cajero.example",
            true,
            &acting
        )
        .await
        .unwrap()
    );
}

async fn operator_actions_need_a_reason_and_are_audited_with_it_and_searchable(app: &TestApp) {
    let merchant = app.merchant("Tienda Uno", MerchantStatus::Onboarding).await;
    let console = operator_console(app, "luis@cajero.example").await;
    let csrf = csrf_of(app, &console).await;
    let page = get(
        app,
        &console.session,
        &format!("/console/merchants/{merchant}"),
    )
    .await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Tienda Uno") && html.contains("Fee plans"),
        "{html}"
    );

    let terms = format!("/console/merchants/{merchant}/terms");
    let fields = |reason: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("mode", "live".to_owned()),
            ("delay_business_days", "2".to_owned()),
            ("currency", "USD".to_owned()),
            ("fx_markup_bps", "150".to_owned()),
            ("reason", reason.to_owned()),
        ]
    };
    // No reason: refused, nothing changed.
    let refused = send_fields(app, &console.session, &terms, fields("   ")).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("reason"));
    // No CSRF token: refused.
    let mut forged = fields("contract signed");
    forged[0].1 = "forged".into();
    assert_eq!(
        send_fields(app, &console.session, &terms, forged)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let state = &app.server.state;
    let before = state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                cajero_store::merchant_settings::settlement_terms(&mut c, merchant, Mode::Live)
                    .await
            })
        })
        .await
        .unwrap();
    assert_eq!(before.delay_business_days, 1, "unchanged by refused forms");
    // With a reason: set, and audited with it.
    let done = send_fields(
        app,
        &console.session,
        &terms,
        fields("contract 2026-12 signed, clause 4: T+2 in USD"),
    )
    .await;
    assert_eq!(done.status(), StatusCode::OK);
    let after = state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                cajero_store::merchant_settings::settlement_terms(&mut c, merchant, Mode::Live)
                    .await
            })
        })
        .await
        .unwrap();
    assert_eq!(after.delay_business_days, 2);
    assert_eq!(after.currency.to_string(), "USD");
    assert_eq!(after.fx_markup.get(), 150);

    // A fee plan: invalid JSON is refused with why; a valid one is set.
    let fees = format!("/console/merchants/{merchant}/fees");
    let bad = post(
        app,
        &console.session,
        &fees,
        &[
            ("csrf", &csrf),
            ("mode", "test"),
            ("plan", "{nope"),
            ("reason", "new plan"),
        ],
    )
    .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let plan = json!({"payin": {"tiers": [{"monthly_volume_from": 0, "rate": 250, "fixed": 600}], "minimum": 0},
        "payout": {"tiers": [{"monthly_volume_from": 0, "rate": 100, "fixed": 1500}], "minimum": 0},
        "gmf_on_payouts": true})
    .to_string();
    let set = post(
        app,
        &console.session,
        &fees,
        &[
            ("csrf", &csrf),
            ("mode", "test"),
            ("plan", &plan),
            ("reason", "negotiated 2.5 %"),
        ],
    )
    .await;
    assert_eq!(
        set.status(),
        StatusCode::OK,
        "{}",
        set.text().await.unwrap()
    );

    // An FX rate; a malformed one is refused.
    let fx = post(
        app,
        &console.session,
        "/console/fx",
        &[
            ("csrf", &csrf),
            ("date", "2026-12-04"),
            ("cop_per_usd", "4012.5"),
            ("reason", "Banco de la República TRM"),
        ],
    )
    .await;
    assert_eq!(fx.status(), StatusCode::OK);
    let fx_page = get(app, &console.session, "/console/fx")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        fx_page.contains("2026-12-04") && fx_page.contains("4012.5"),
        "{fx_page}"
    );
    let bad_fx = post(
        app,
        &console.session,
        "/console/fx",
        &[
            ("csrf", &csrf),
            ("date", "2026-13-40"),
            ("cop_per_usd", "4012.5"),
            ("reason", "x"),
        ],
    )
    .await;
    assert_eq!(bad_fx.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // The audit log finds each action with its reason, by merchant, who, action and text.
    let by_merchant = search(app, &console.session, &format!("merchant={merchant}")).await;
    assert!(
        by_merchant.contains("merchant.settlement_terms.set.live"),
        "{by_merchant}"
    );
    assert!(by_merchant.contains("contract 2026-12 signed, clause 4: T+2 in USD"));
    assert!(by_merchant.contains("negotiated 2.5 %"));
    assert!(
        !by_merchant.contains("Banco de la República TRM"),
        "the FX rate is the platform's"
    );
    let by_action = search(app, &console.session, "action=fx.").await;
    assert!(
        by_action.contains("Banco de la República TRM"),
        "{by_action}"
    );
    assert!(!by_action.contains("negotiated"));
    let by_text = search(app, &console.session, "text=clause+4").await;
    assert!(by_text.contains("merchant.settlement_terms.set.live"));
    assert!(!by_text.contains("fx.rate_set"));
    // LIKE's wildcards are searched for as themselves.
    let wildcard = search(app, &console.session, "text=%25").await;
    assert!(wildcard.contains("negotiated 2.5 %"), "{wildcard}");
    assert!(!wildcard.contains("clause 4"), "{wildcard}");
    let by_actor = search(app, &console.session, "actor=nobody").await;
    assert!(by_actor.contains("No entries."), "{by_actor}");
    let today = cajero_domain::calendar::bogota()
        .to_datetime(cajero_server::clock::Clock::now(state.clock.as_ref()))
        .date();
    let in_range = search(
        app,
        &console.session,
        &format!("from={today}&until={today}&action=merchant."),
    )
    .await;
    assert!(
        in_range.contains("merchant.fee_plan.set.test"),
        "{in_range}"
    );
    let tomorrow = today.tomorrow().unwrap();
    let out_of_range = search(app, &console.session, &format!("from={tomorrow}")).await;
    assert!(out_of_range.contains("No entries."), "{out_of_range}");
    let bad_range = get(app, &console.session, "/console/audit?from=yesterday").await;
    assert_eq!(bad_range.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

async fn send_fields(
    app: &TestApp,
    session: &str,
    path: &str,
    fields: Vec<(&'static str, String)>,
) -> reqwest::Response {
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    post(app, session, path, &pairs).await
}

async fn search(app: &TestApp, session: &str, query: &str) -> String {
    get(app, session, &format!("/console/audit?{query}"))
        .await
        .text()
        .await
        .unwrap()
}

async fn api_post(
    app: &TestApp,
    key: &str,
    path: &str,
    idem: &str,
    body: serde_json::Value,
) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .bearer_auth(key)
        .header("idempotency-key", idem)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn suspension_stops_live_use_at_once_and_the_operator_still_cancels_open_payouts(
    app: &TestApp,
) {
    let merchant = app.merchant("Remesas SAS", MerchantStatus::Active).await;
    let (_, test_key) = app.key(merchant, Mode::Test).await;
    let (_, live_key) = app.key(merchant, Mode::Live).await;
    assert_eq!(
        app.get_with_key("/v1/balance", &live_key).await.status(),
        200
    );
    let topped = api_post(
        app,
        &test_key,
        "/v1/topups",
        "t1",
        json!({"amount": 1_000_000, "currency": "COP"}),
    )
    .await;
    assert!(topped.status().is_success());
    let payout: serde_json::Value = api_post(
        app,
        &test_key,
        "/v1/payouts",
        "p1",
        json!({"amount": 120_000, "currency": "COP", "network": "efecty",
            "beneficiary": {"name": "Luis Pérez", "document": {"type": "CC", "number": "79876543"}}}),
    )
    .await
    .json()
    .await
    .unwrap();
    let payout_id = payout["id"].as_str().unwrap().to_owned();
    assert_eq!(payout["status"], "available", "{payout}");

    let console = operator_console(app, "luis@cajero.example").await;
    let csrf = csrf_of(app, &console).await;
    let status = format!("/console/merchants/{merchant}/status");
    let suspended = post(
        app,
        &console.session,
        &status,
        &[
            ("csrf", &csrf),
            ("status", "suspended"),
            ("reason", "UIAF request 2026-118"),
        ],
    )
    .await;
    assert_eq!(suspended.status(), StatusCode::OK);
    // The very next request with either key is refused.
    let refused = app.get_with_key("/v1/balance", &live_key).await;
    assert_error(refused, 403, "permission_error", "account_suspended").await;
    let refused = app
        .get_with_key(&format!("/v1/payouts/{payout_id}"), &test_key)
        .await;
    assert_error(refused, 403, "permission_error", "account_suspended").await;

    // The operator still cancels its open payout: the code goes, the funds come back.
    let page = get(
        app,
        &console.session,
        &format!("/console/merchants/{merchant}"),
    )
    .await
    .text()
    .await
    .unwrap();
    let token = page
        .split("name=\"form_token\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    let cancel = format!("/console/merchants/{merchant}/payouts/cancel");
    let fields = [
        ("csrf", csrf.as_str()),
        ("form_token", token.as_str()),
        ("payout", payout_id.as_str()),
        (
            "reason",
            "merchant suspended; beneficiary paid by other means",
        ),
    ];
    let canceled = post(app, &console.session, &cancel, &fields).await;
    assert_eq!(
        canceled.status(),
        StatusCode::OK,
        "{}",
        canceled.text().await.unwrap()
    );
    // The same form again acts once.
    let again = post(app, &console.session, &cancel, &fields).await;
    assert_eq!(again.status(), StatusCode::OK);
    // Another merchant's payout id is not found under this merchant.
    let other = app.merchant("Otra", MerchantStatus::Onboarding).await;
    let wrong_owner = post(
        app,
        &console.session,
        &format!("/console/merchants/{other}/payouts/cancel"),
        &[
            ("csrf", &csrf),
            ("form_token", "another-form-token-123"),
            ("payout", &payout_id),
            ("reason", "x"),
        ],
    )
    .await;
    assert_eq!(wrong_owner.status(), StatusCode::NOT_FOUND);

    let state = &app.server.state;
    let id: cajero_domain::id::PayoutId = payout_id.parse().unwrap();
    let record = state
        .store
        .read(move |mut c| {
            Box::pin(async move { cajero_store::payouts::get_any(&mut c, id).await })
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.status.as_str(), "canceled");
    let report = state
        .store
        .read(|mut c| Box::pin(async move { cajero_store::verify::verify(&mut c).await }))
        .await
        .unwrap();
    assert!(report.problems.is_empty(), "{report:?}");

    // Reactivation is refused: its application was never approved.
    let back = post(
        app,
        &console.session,
        &status,
        &[
            ("csrf", &csrf),
            ("status", "active"),
            ("reason", "request answered"),
        ],
    )
    .await;
    assert_eq!(back.status(), StatusCode::CONFLICT);
    assert!(
        back.text()
            .await
            .unwrap()
            .contains("KYC application is draft")
    );
    let entries = operators::search_audit(
        &state.store,
        AuditSearch {
            merchant_id: Some(merchant.to_string()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let suspension = entries
        .iter()
        .find(|e| e.action == "merchant.status.suspended")
        .unwrap();
    assert_eq!(suspension.reason.as_deref(), Some("UIAF request 2026-118"));
    assert_eq!(suspension.actor, "luis@cajero.example");
    assert!(
        entries
            .iter()
            .filter(|e| e.action == "payout.canceled_by_operator")
            .count()
            >= 1
    );
}

async fn a_merchant_becomes_active_only_with_an_approved_application(app: &TestApp) {
    let merchant = app.merchant("Tienda", MerchantStatus::Onboarding).await;
    let state = &app.server.state;
    let acting = operators::Acting::cli(operators::Reason::parse("looks fine").unwrap());
    let refused = cajero_server::platform::set_merchant_status(
        &state.store,
        state.clock.as_ref(),
        merchant,
        MerchantStatus::Active,
        &acting,
    )
    .await;
    match refused {
        Err(e @ cajero_server::platform::PlatformError::KycNotApproved { .. }) => {
            assert!(e.to_string().contains("is draft"), "{e}");
        }
        other => panic!("activated without KYC: {other:?}"),
    }
    let record = cajero_server::admin::list_merchants(&state.store)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.id == merchant)
        .unwrap();
    assert_eq!(record.status, MerchantStatus::Onboarding);
    // Suspension needs no approval.
    cajero_server::platform::set_merchant_status(
        &state.store,
        state.clock.as_ref(),
        merchant,
        MerchantStatus::Suspended,
        &acting,
    )
    .await
    .unwrap();
}

async fn live_topups_are_confirmed_and_alerts_resolved_from_the_console(app: &TestApp) {
    let merchant = app.merchant("Remesas SAS", MerchantStatus::Active).await;
    let (_, live_key) = app.key(merchant, Mode::Live).await;
    let topup: serde_json::Value = api_post(
        app,
        &live_key,
        "/v1/topups",
        "t1",
        json!({"amount": 5_000_000, "currency": "COP", "description": "transfer 8812"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(topup["status"], "pending", "{topup}");
    let topup_id = topup["id"].as_str().unwrap().to_owned();
    let state = &app.server.state;
    let now = cajero_server::clock::Clock::now(state.clock.as_ref());
    state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                cajero_server::alerts::raise(
                    &mut c,
                    now,
                    cajero_server::alerts::AlertSpec {
                        mode: Mode::Live,
                        code: cajero_server::alerts::codes::NETWORK_DOWN,
                        subject: "efecty".into(),
                        merchant: None,
                        severity: cajero_server::alerts::Severity::Critical,
                        message: "efecty is down".into(),
                        details: json!({}),
                    },
                )
                .await
            })
        })
        .await
        .unwrap();

    let console = operator_console(app, "luis@cajero.example").await;
    let csrf = csrf_of(app, &console).await;
    let home = get(app, &console.session, "/console")
        .await
        .text()
        .await
        .unwrap();
    assert!(home.contains("Live top-ups to confirm"), "{home}");
    let topups = get(app, &console.session, "/console/topups")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        topups.contains(&topup_id) && topups.contains("transfer 8812"),
        "{topups}"
    );
    let confirm = format!("/console/topups/{topup_id}/confirm");
    let no_reason = post(
        app,
        &console.session,
        &confirm,
        &[("csrf", &csrf), ("reason", "")],
    )
    .await;
    assert_eq!(no_reason.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let confirmed = post(
        app,
        &console.session,
        &confirm,
        &[
            ("csrf", &csrf),
            ("reason", "seen on Bancolombia statement, ref 8812"),
        ],
    )
    .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let balance: serde_json::Value = app
        .get_with_key("/v1/balance", &live_key)
        .await
        .json()
        .await
        .unwrap();
    assert!(balance.to_string().contains("5000000"), "{balance}");
    let topups = get(app, &console.session, "/console/topups")
        .await
        .text()
        .await
        .unwrap();
    assert!(!topups.contains(&topup_id), "no longer waiting: {topups}");

    let alerts = get(app, &console.session, "/console/alerts")
        .await
        .text()
        .await
        .unwrap();
    assert!(alerts.contains("efecty is down"), "{alerts}");
    let alert_id = alerts
        .split("/console/alerts/")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap()
        .to_owned();
    let resolve = format!("/console/alerts/{alert_id}/resolve");
    let resolved = post(
        app,
        &console.session,
        &resolve,
        &[
            ("csrf", &csrf),
            ("reason", "Efecty confirmed the outage ended at 10:40"),
        ],
    )
    .await;
    assert_eq!(resolved.status(), StatusCode::OK);
    let twice = post(
        app,
        &console.session,
        &resolve,
        &[("csrf", &csrf), ("reason", "again")],
    )
    .await;
    assert_eq!(twice.status(), StatusCode::CONFLICT, "no longer open");
    let audit = get(app, &console.session, "/console/audit?action=topup.")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        audit.contains("seen on Bancolombia statement, ref 8812"),
        "{audit}"
    );

    // The document viewer and the other pages answer.
    for path in [
        "/console/kyc",
        "/console/exceptions",
        "/console/payouts/held",
        "/console/merchants?status=active&q=remesas",
    ] {
        let page = get(app, &console.session, path).await;
        assert_eq!(page.status(), StatusCode::OK, "{path}");
    }
    let listed = get(
        app,
        &console.session,
        "/console/merchants?status=active&q=remesas",
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(listed.contains(&merchant.to_string()), "{listed}");
    let unlisted = get(app, &console.session, "/console/merchants?status=suspended")
        .await
        .text()
        .await
        .unwrap();
    assert!(!unlisted.contains(&merchant.to_string()), "{unlisted}");
}

async fn a_payout_to_a_listed_name_is_held_then_released_or_refused_by_an_operator(app: &TestApp) {
    let state = &app.server.state;
    let merchant = app.merchant("Remesas SAS", MerchantStatus::Active).await;
    let (_, key) = app.key(merchant, Mode::Test).await;
    let key = key.as_str();
    let topped = api_post(
        app,
        key,
        "/v1/topups",
        "t1",
        json!({"amount": 2_000_000, "currency": "COP"}),
    )
    .await;
    assert!(topped.status().is_success());
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../cajero-domain/tests/fixtures/sanctions");
    let read = |name: &str| std::fs::read(fixtures.join(name)).unwrap();
    cajero_server::sanctions::load(
        &state.store,
        state.clock.as_ref(),
        cajero_server::sanctions::Files::Ofac {
            sdn: read("sdn.csv"),
            alt: read("alt.csv"),
        },
        None,
        &operators::Acting::cli(operators::Reason::parse("weekly list").unwrap()),
    )
    .await
    .unwrap();
    let payout = |idem: &'static str, name: &'static str| async move {
        let response = api_post(
            app,
            key,
            "/v1/payouts",
            idem,
            json!({"amount": 100_000, "currency": "COP", "network": "efecty",
                "beneficiary": {"name": name, "document": {"type": "CC", "number": "79876543"}}}),
        )
        .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json::<serde_json::Value>().await.unwrap()
    };
    let balance = || async {
        let b: serde_json::Value = app
            .get_with_key("/v1/balance", key)
            .await
            .json()
            .await
            .unwrap();
        b["available"][0]["amount"].as_i64().unwrap()
    };
    let before = balance().await;

    // A listed name (reordered, lower case): held, funds reserved, no code.
    let held = payout("p1", "manuel antonio noriega").await;
    assert_eq!(held["status"], "on_hold", "{held}");
    assert!(held["pickup"]["code"].is_null(), "{held}");
    assert!(balance().await < before, "the funds are reserved");
    // The same request again answers the same.
    let again = payout("p1", "manuel antonio noriega").await;
    assert_eq!(again["id"], held["id"]);
    assert_eq!(again["status"], "on_hold");
    // Someone not listed goes through.
    let clear = payout("p2", "Ana Gómez").await;
    assert_eq!(clear["status"], "available", "{clear}");
    let second = payout("p3", "NORIEGA Manuel Antonio").await;
    assert_eq!(second["status"], "on_hold");

    let events: serde_json::Value = app
        .get_with_key("/v1/events?limit=100", key)
        .await
        .json()
        .await
        .unwrap();
    assert!(events.to_string().contains("payout.on_hold"), "{events}");

    // The operator sees why, and releases the first.
    let console = operator_console(app, "luis@cajero.example").await;
    let csrf = csrf_of(app, &console).await;
    let page = get(app, &console.session, "/console/payouts/held")
        .await
        .text()
        .await
        .unwrap();
    let held_id = held["id"].as_str().unwrap().to_owned();
    let second_id = second["id"].as_str().unwrap().to_owned();
    assert!(
        page.contains(&held_id) && page.contains(&second_id),
        "{page}"
    );
    assert!(page.contains("ofac 1572"), "why it is held: {page}");
    let release = format!("/console/payouts/{held_id}/release");
    let no_reason = post(
        app,
        &console.session,
        &release,
        &[
            ("csrf", &csrf),
            ("form_token", "release-form-token-0001"),
            ("reason", ""),
        ],
    )
    .await;
    assert_eq!(no_reason.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let fields = [
        ("csrf", csrf.as_str()),
        ("form_token", "release-form-token-0001"),
        (
            "reason",
            "Different person: date of birth 1990, not 1934 (checked ID)",
        ),
    ];
    let released = post(app, &console.session, &release, &fields).await;
    let text = released.text().await.unwrap();
    assert!(text.contains("is now available"), "{text}");
    let now: serde_json::Value = app
        .get_with_key(&format!("/v1/payouts/{held_id}"), key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(now["status"], "available", "{now}");
    assert!(now["pickup"]["code"].is_string(), "{now}");
    // Evented once each: held, released, then accepted by the network with its code (the
    // test clock stands still, so the order of events of one instant is not compared).
    let events: serde_json::Value = app
        .get_with_key("/v1/events?limit=100&type=payout.*", key)
        .await
        .json()
        .await
        .unwrap();
    let mut of_held: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["data"]["object"]["id"] == held_id.as_str())
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    of_held.sort_unstable();
    assert_eq!(
        of_held,
        [
            "payout.available",
            "payout.created",
            "payout.on_hold",
            "payout.released"
        ],
        "{events}"
    );
    // Releasing again: no longer on hold.
    let twice = post(
        app,
        &console.session,
        &release,
        &[
            ("csrf", &csrf),
            ("form_token", "release-form-token-0002"),
            ("reason", "again"),
        ],
    )
    .await;
    assert_eq!(twice.status(), StatusCode::CONFLICT);

    // The second is refused: canceled, its funds back.
    let refused = post(
        app,
        &console.session,
        &format!("/console/merchants/{merchant}/payouts/cancel"),
        &[
            ("csrf", &csrf),
            ("form_token", "refuse-form-token-0001"),
            ("payout", &second_id),
            ("reason", "Confirmed match"),
        ],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::OK);
    let refused_now: serde_json::Value = app
        .get_with_key(&format!("/v1/payouts/{second_id}"), key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(refused_now["status"], "canceled");
    let page = get(app, &console.session, "/console/payouts/held")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("No payout is on hold."), "{page}");

    let report = state
        .store
        .read(|mut c| Box::pin(async move { cajero_store::verify::verify(&mut c).await }))
        .await
        .unwrap();
    assert!(report.problems.is_empty(), "{report:?}");
    let audit = operators::search_audit(
        &state.store,
        AuditSearch {
            action: Some("payout.".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "payout.held").count(),
        2,
        "{actions:?}"
    );
    assert!(actions.contains(&"payout.released"), "{actions:?}");
    let released_entry = audit
        .iter()
        .find(|e| e.action == "payout.released")
        .unwrap();
    assert_eq!(
        released_entry.reason.as_deref(),
        Some("Different person: date of birth 1990, not 1934 (checked ID)")
    );
}

async fn a_reconciliation_exception_is_resolved_from_the_console_with_its_reason(app: &TestApp) {
    let state = &app.server.state;
    let merchant = app.merchant("Tienda", MerchantStatus::Active).await;
    let now = cajero_server::clock::Clock::now(state.clock.as_ref());
    state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                cajero_store::exceptions::record(
                    &mut c,
                    &cajero_store::exceptions::NewException {
                        id: "exc_console_test_1",
                        merchant_id: Some(merchant),
                        mode: Mode::Live,
                        kind: cajero_store::exceptions::UNRECOGNIZED_NETWORK_STATE,
                        object_id: "pi_console_test_1",
                        amount: cajero_domain::money::Amount::new(50_000).unwrap(),
                        currency: cajero_domain::money::Currency::Cop,
                        network: Some("efecty"),
                        network_order_id: Some("EF-1"),
                        detail: Some("state REVERSADO is not documented"),
                    },
                    now,
                )
                .await
            })
        })
        .await
        .unwrap();
    let console = operator_console(app, "luis@cajero.example").await;
    let csrf = csrf_of(app, &console).await;
    let page = get(app, &console.session, "/console/exceptions")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("exc_console_test_1") && page.contains("REVERSADO"),
        "{page}"
    );
    let resolve = "/console/exceptions/exc_console_test_1/resolve";
    let no_reason = post(
        app,
        &console.session,
        resolve,
        &[("csrf", &csrf), ("resolution", "accepted"), ("reason", "")],
    )
    .await;
    assert_eq!(no_reason.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = post(
        app,
        &console.session,
        resolve,
        &[("csrf", &csrf), ("resolution", "shrug"), ("reason", "x")],
    )
    .await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let resolved = post(
        app,
        &console.session,
        resolve,
        &[
            ("csrf", &csrf),
            ("resolution", "accepted"),
            (
                "reason",
                "Efecty confirmed the voucher was reversed at the counter",
            ),
        ],
    )
    .await;
    assert_eq!(
        resolved.status(),
        StatusCode::OK,
        "{}",
        resolved.text().await.unwrap()
    );
    let twice = post(
        app,
        &console.session,
        resolve,
        &[
            ("csrf", &csrf),
            ("resolution", "accepted"),
            ("reason", "again"),
        ],
    )
    .await;
    assert_eq!(twice.status(), StatusCode::CONFLICT);
    let page = get(app, &console.session, "/console/exceptions")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("No open exception."), "{page}");
    let audit = search(app, &console.session, "action=reconciliation.").await;
    assert!(
        audit.contains("Efecty confirmed the voucher was reversed at the counter"),
        "{audit}"
    );
}

/// The risk page: a rule set that does not parse, or comes without a reason, changes nothing;
/// one that does is in force at once with its diff; the operator's blocklist refuses a document
/// for every merchant until removed; held pay-ins are listed with why, released (a voucher) or
/// refused (canceled).
async fn an_operator_sets_risk_rules_and_the_blocklist_and_decides_held_payins(app: &TestApp) {
    let state = &app.server.state;
    let merchant = app.merchant("Cobros SAS", MerchantStatus::Active).await;
    let (_, key) = app.key(merchant, Mode::Test).await;
    let key = key.as_str();
    let console = operator_console(app, "ana@cajero.example").await;
    let csrf = csrf_of(app, &console).await;
    let page = get(app, &console.session, "/console/risk")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("No rules were ever set"), "{page}");

    let rules = r#"{"rules": [{"id": "cash-in-review", "kind": "limit", "subject": "merchant",
        "period": "operation", "amount_max": 500000, "flows": ["payin"], "action": "review"}]}"#;
    let broken = post(
        app,
        &console.session,
        "/console/risk/rules",
        &[
            ("csrf", &csrf),
            ("rules", "{\"rules\": [{\"id\": \"x\"}]}"),
            ("reason", "try"),
        ],
    )
    .await;
    assert_eq!(broken.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let no_reason = post(
        app,
        &console.session,
        "/console/risk/rules",
        &[("csrf", &csrf), ("rules", rules), ("reason", "")],
    )
    .await;
    assert_eq!(no_reason.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let forged = post(
        app,
        &console.session,
        "/console/risk/rules",
        &[("csrf", "forged"), ("rules", rules), ("reason", "x")],
    )
    .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(
        cajero_server::risk::current(&state.store)
            .await
            .unwrap()
            .is_none()
    );
    let set = post(
        app,
        &console.session,
        "/console/risk/rules",
        &[
            ("csrf", &csrf),
            ("rules", rules),
            ("reason", "Large cash deposits are reviewed"),
        ],
    )
    .await;
    let text = set.text().await.unwrap();
    assert!(
        text.contains("Version 1 is in force") && text.contains("+ cash-in-review"),
        "{text}"
    );
    let page = get(app, &console.session, "/console/risk")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Large cash deposits are reviewed") && page.contains("cash-in-review"),
        "{page}"
    );

    // The operator's blocklist: every merchant.
    let blocked = post(
        app,
        &console.session,
        "/console/risk/blocklist",
        &[
            ("csrf", &csrf),
            ("kind", "document"),
            ("value", "CC:52.111.222"),
            ("reason", "identity theft report"),
        ],
    )
    .await;
    assert_eq!(blocked.status(), StatusCode::OK);
    let bad = post(
        app,
        &console.session,
        "/console/risk/blocklist",
        &[
            ("csrf", &csrf),
            ("kind", "document"),
            ("value", "52111222"),
            ("reason", "x"),
        ],
    )
    .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let payin = |idem: &'static str, amount: i64, number: &'static str| async move {
        api_post(app, key, "/v1/payins", idem, json!({"amount": amount, "currency": "COP",
            "network": "efecty", "customer": {"name": "Ana Gómez", "document": {"type": "CC", "number": number}}})).await
    };
    let refused = payin("b1", 10_000, "52111222").await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let entry = cajero_server::risk::blocklist(&state.store, None)
        .await
        .unwrap()[0]
        .id
        .clone();
    let removed = post(
        app,
        &console.session,
        &format!("/console/risk/blocklist/{entry}/remove"),
        &[("csrf", &csrf), ("reason", "report withdrawn")],
    )
    .await;
    assert_eq!(removed.status(), StatusCode::OK);
    assert_eq!(
        payin("b2", 10_000, "52111222").await.status(),
        StatusCode::CREATED
    );

    // Held pay-ins: listed with why, released or refused.
    let first: serde_json::Value = payin("h1", 600_000, "79876543").await.json().await.unwrap();
    let second: serde_json::Value = payin("h2", 700_000, "79876543").await.json().await.unwrap();
    assert_eq!(
        (first["status"].as_str(), second["status"].as_str()),
        (Some("on_hold"), Some("on_hold"))
    );
    let (first, second) = (
        first["id"].as_str().unwrap().to_owned(),
        second["id"].as_str().unwrap().to_owned(),
    );
    let page = get(app, &console.session, "/console/payouts/held")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&first) && page.contains(&second) && page.contains("cash-in-review"),
        "{page}"
    );
    let no_reason = post(
        app,
        &console.session,
        &format!("/console/payins/{first}/release"),
        &[("csrf", &csrf), ("reason", "")],
    )
    .await;
    assert_eq!(no_reason.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let released = post(
        app,
        &console.session,
        &format!("/console/payins/{first}/release"),
        &[("csrf", &csrf), ("reason", "Payroll of a known employer")],
    )
    .await;
    assert_eq!(released.status(), StatusCode::OK);
    let read: serde_json::Value = app
        .get_with_key(&format!("/v1/payins/{first}"), key)
        .await
        .json()
        .await
        .unwrap();
    assert!(read["voucher"]["payment_code"].is_string(), "{read}");
    let refused = post(
        app,
        &console.session,
        &format!("/console/payins/{second}/refuse"),
        &[("csrf", &csrf), ("reason", "Structuring")],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::OK);
    let again = post(
        app,
        &console.session,
        &format!("/console/payins/{second}/release"),
        &[("csrf", &csrf), ("reason", "oops")],
    )
    .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let page = get(app, &console.session, "/console/payouts/held")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("No pay-in is on hold."), "{page}");
    let audit = operators::search_audit(&state.store, AuditSearch::default())
        .await
        .unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    for action in [
        "risk.rules_changed",
        "risk.blocklist_added",
        "risk.blocklist_removed",
        "payin.held",
        "payin.released",
        "payin.refused",
        "payin.denied",
    ] {
        assert!(actions.contains(&action), "{action}: {actions:?}");
    }
}
