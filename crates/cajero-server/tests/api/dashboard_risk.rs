//! The dashboard's Risk page, on both engines: a payout refused or held by a rule shows the
//! rule and its reason to its merchant (and to no other); an owner blocks a phone for the
//! merchant's own payouts through the form and removes it with a reason; other roles read the
//! list but cannot change it; a bad value, a missing reason or a value already listed is shown
//! on the page; another list's entry cannot be removed.

use cajero_domain::id::MerchantId;
use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_domain::risk::blocklist::Kind;
use cajero_server::operators::{Acting, Reason};
use cajero_server::{risk, users};
use jiff::SignedDuration;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION};
use serde_json::{Value, json};

use crate::dashboard::{PipeForm, browser, csrf_field};
use crate::helpers::{TestApp, assert_error};

crate::both_engines!(
    a_payout_refused_by_a_rule_shows_the_rule_on_the_risk_page_in_spanish,
    an_owner_blocks_a_phone_for_its_own_payouts_and_removes_it_with_a_reason,
    other_roles_read_the_blocklist_but_cannot_change_it,
    a_bad_value_a_missing_reason_or_a_value_already_listed_is_shown_on_the_page,
    another_lists_entry_cannot_be_removed_nor_is_it_shown,
);

const PASSWORD: &str = "correct horse battery staple";
const PHONE: &str = "+573001234567";

fn acting(reason: &str) -> Acting {
    Acting::cli(Reason::parse(reason).unwrap())
}

/// A new merchant and its owner, who speaks Spanish: the session cookie's value and the
/// merchant.
async fn owner(app: &TestApp, company: &str, email: &str) -> (String, MerchantId) {
    let state = &app.server.state;
    let opened = users::sign_up(
        &state.store,
        state.clock.as_ref(),
        users::SignUp {
            company: company.into(),
            name: "Ana Gómez".into(),
            email: email.into(),
            password: PASSWORD.into(),
            locale: Some("es-CO".into()),
        },
        &users::Origin::default(),
    )
    .await
    .unwrap();
    (opened.token, opened.session.merchant_id)
}

/// A user of `merchant` with `role`, signed in: the session cookie's value.
async fn member(app: &TestApp, merchant: MerchantId, email: &str, role: users::Role) -> String {
    let state = &app.server.state;
    let clock = state.clock.as_ref();
    users::create_user(&state.store, clock, merchant, email, "Luis", role, PASSWORD)
        .await
        .unwrap();
    let origin = users::Origin::default();
    users::sign_in(&state.store, clock, email, PASSWORD, &origin)
        .await
        .unwrap()
        .token
}

/// A funded test key of `merchant`.
async fn funded_key(app: &TestApp, merchant: MerchantId) -> String {
    let (_, key) = app.key(merchant, Mode::Test).await;
    let topup = json!({"amount": 5_000_000, "currency": "COP"});
    let response = post_api(app, &key, "/v1/topups", "fund", &topup).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    key
}

async fn post_api(
    app: &TestApp,
    key: &str,
    path: &str,
    idem: &str,
    body: &Value,
) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .bearer_auth(key)
        .header("idempotency-key", idem)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// `POST /v1/payouts` of `amount` to Luis, with his phone.
async fn payout(app: &TestApp, key: &str, idem: &str, amount: i64) -> reqwest::Response {
    let body = json!({"amount": amount, "currency": "COP", "network": "efecty",
        "beneficiary": {"name": "Luis Pérez", "document": {"type": "CC", "number": "79876543"},
                        "phone": PHONE}});
    post_api(app, key, "/v1/payouts", idem, &body).await
}

/// Asserts that a payout is created; its JSON.
async fn created(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn denied(response: reqwest::Response) {
    assert_error(response, 422, "invalid_request_error", "risk_denied").await;
}

/// The Risk page: its status and HTML.
async fn risk_page(app: &TestApp, session: &str) -> (StatusCode, String) {
    let response = browser()
        .get(app.url("/dashboard/risk"))
        .header(COOKIE, format!("cajero_session={session}"))
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
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

/// Blocks `value` of `kind` through the form; the response.
async fn block(
    app: &TestApp,
    session: &str,
    kind: &str,
    value: &str,
    reason: &str,
) -> reqwest::Response {
    let (_, html) = risk_page(app, session).await;
    let csrf = csrf_field(&html);
    let fields = [
        ("csrf", csrf.as_str()),
        ("kind", kind),
        ("value", value),
        ("reason", reason),
    ];
    post_form(app, session, "/dashboard/risk/blocklist", &fields).await
}

/// Removes entry `id` through the form; the response.
async fn unblock(app: &TestApp, session: &str, id: &str, reason: &str) -> reqwest::Response {
    let (_, html) = risk_page(app, session).await;
    let csrf = csrf_field(&html);
    let path = format!("/dashboard/risk/blocklist/{id}/remove");
    post_form(app, session, &path, &[("csrf", &csrf), ("reason", reason)]).await
}

fn redirected_to(response: &reqwest::Response, to: &str) {
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], to);
}

/// The merchant's own entries in force.
async fn in_force(app: &TestApp, merchant: MerchantId) -> Vec<String> {
    risk::blocklist(&app.server.state.store, Some(merchant))
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.removed_at.is_none())
        .map(|e| e.value)
        .collect()
}

async fn a_payout_refused_by_a_rule_shows_the_rule_on_the_risk_page_in_spanish(app: &TestApp) {
    let (session, merchant) = owner(app, "Remesas SAS", "ana@remesas.co").await;
    let (other_session, _) = owner(app, "Otra SAS", "ana@otra.co").await;
    let key = funded_key(app, merchant).await;
    let rules = json!({"rules": [
        {"id": "tope-por-giro", "kind": "limit", "subject": "merchant",
         "merchant": merchant.to_string(), "period": "operation", "amount_max": 100_000,
         "flows": ["payout"], "action": "deny"},
        {"id": "revisar-giros", "kind": "limit", "subject": "merchant",
         "merchant": merchant.to_string(), "period": "operation", "amount_max": 50_000,
         "flows": ["payout"], "action": "review"}]});
    risk::set_rules(&app.server.state, &rules.to_string(), &acting("límites"))
        .await
        .unwrap();
    let (_, empty) = risk_page(app, &session).await;
    assert!(
        empty.contains("Ninguna operación fue retenida ni rechazada"),
        "{empty}"
    );

    // Above both maxima: refused, with the neutral message. Between them: held.
    denied(payout(app, &key, "big", 150_000).await).await;
    // Decisions are listed by id, ids by time.
    app.clock.advance(SignedDuration::from_secs(1));
    let held = created(payout(app, &key, "mid", 60_000).await).await;
    assert_eq!(held["status"], "on_hold", "{held}");

    let (status, html) = risk_page(app, &session).await;
    assert_eq!(status, StatusCode::OK);
    for text in [
        "<h1>Riesgo</h1>",
        "href=\"/dashboard/risk\"",
        "data-rule=\"tope-por-giro\"",
        "data-rule=\"revisar-giros\"",
        "Rechazado",
        "Retenido para revisión",
        "(no se creó)",
        "risk_denied",
        "Versión de las reglas 1",
    ] {
        assert!(html.contains(text), "{text}: {html}");
    }
    // The reason says what the rule saw; the held payout links to its page, the refused one
    // (never created) to nothing.
    assert!(html.contains("150000"), "{html}");
    let held_id = held["id"].as_str().unwrap();
    assert!(
        html.contains(&format!("href=\"/dashboard/payouts/{held_id}\"")),
        "{html}"
    );
    assert_eq!(html.matches("href=\"/dashboard/payouts/").count(), 1);
    // Newest first: the hold, then the refusal.
    assert!(html.find("data-decision=\"review\"") < html.find("data-decision=\"deny\""));

    // Another merchant sees none of it; neither does live mode.
    let (_, other) = risk_page(app, &other_session).await;
    assert!(!other.contains("tope-por-giro"), "{other}");
    let live = risk::decisions(&app.server.state.store, merchant, Mode::Live, 100)
        .await
        .unwrap();
    assert!(live.is_empty());
}

async fn an_owner_blocks_a_phone_for_its_own_payouts_and_removes_it_with_a_reason(app: &TestApp) {
    let (session, merchant) = owner(app, "Remesas SAS", "ana@remesas.co").await;
    let key = funded_key(app, merchant).await;
    let stranger = app.merchant("Otra SAS", MerchantStatus::Active).await;
    let stranger_key = funded_key(app, stranger).await;

    // Typed as people type it, kept as it is compared.
    let added = block(app, &session, "phone", "300 123 4567", "contracargo").await;
    redirected_to(&added, "/dashboard/risk?done=added");
    assert_eq!(in_force(app, merchant).await, [PHONE]);
    let (_, html) = risk_page(app, &session).await;
    for text in [PHONE, "contracargo", "Vigente", "ana@remesas.co"] {
        assert!(html.contains(text), "{text}: {html}");
    }

    // The merchant's next payout to that phone is refused; another merchant's goes.
    denied(payout(app, &key, "p1", 10_000).await).await;
    let theirs = created(payout(app, &stranger_key, "p1", 10_000).await).await;
    assert_eq!(theirs["status"], "available", "{theirs}");
    // The page names the list (the value masked in the reason).
    let (_, html) = risk_page(app, &session).await;
    assert!(html.contains("data-rule=\"blocklist\""), "{html}");
    assert!(html.contains("…4567"), "{html}");

    // Removing needs a reason: without one nothing changes.
    let id = risk::blocklist(&app.server.state.store, Some(merchant))
        .await
        .unwrap()[0]
        .id
        .clone();
    let no_reason = unblock(app, &session, &id, "  ").await;
    assert_eq!(no_reason.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = no_reason.text().await.unwrap();
    assert!(html.contains("Indica un motivo"), "{html}");
    assert_eq!(in_force(app, merchant).await, [PHONE]);
    denied(payout(app, &key, "p2", 10_000).await).await;

    let removed = unblock(app, &session, &id, "cliente verificado").await;
    redirected_to(&removed, "/dashboard/risk?done=removed");
    assert!(in_force(app, merchant).await.is_empty());
    let again = created(payout(app, &key, "p3", 10_000).await).await;
    assert_eq!(again["status"], "available", "{again}");
    let (_, html) = risk_page(app, &session).await;
    assert!(
        html.contains("Retirado") && html.contains("cliente verificado"),
        "{html}"
    );

    // Both changes are in the merchant's audit log, by the owner, with the reason.
    let log = users::audit_log(&app.server.state.store, merchant, None, 100)
        .await
        .unwrap();
    let changes: Vec<(&str, &str)> = log
        .iter()
        .filter(|e| e.action.starts_with("risk.blocklist"))
        .map(|e| (e.action.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(changes.len(), 2, "{changes:?}");
    for action in ["risk.blocklist_added", "risk.blocklist_removed"] {
        assert!(
            changes.contains(&(action, "ana@remesas.co")),
            "{action}: {changes:?}"
        );
    }
}

async fn other_roles_read_the_blocklist_but_cannot_change_it(app: &TestApp) {
    let (session, merchant) = owner(app, "Remesas SAS", "ana@remesas.co").await;
    let added = block(app, &session, "document", "CC:79.876.543", "fraude").await;
    redirected_to(&added, "/dashboard/risk?done=added");
    let id = risk::blocklist(&app.server.state.store, Some(merchant))
        .await
        .unwrap()[0]
        .id
        .clone();

    for (email, role) in [
        ("dev@remesas.co", users::Role::Developer),
        ("luis@remesas.co", users::Role::Analyst),
    ] {
        let user = member(app, merchant, email, role).await;
        let (status, html) = risk_page(app, &user).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("CC:79876543"), "{email}: {html}");
        assert!(
            html.contains("Only owners can change the blocklist."),
            "{email}: {html}"
        );
        assert!(
            !html.contains("action=\"/dashboard/risk/blocklist"),
            "{email}: {html}"
        );
        let refused = block(app, &user, "phone", "3001234567", "por si acaso").await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{email}");
        let refused = unblock(app, &user, &id, "por si acaso").await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{email}");
    }
    assert_eq!(in_force(app, merchant).await, ["CC:79876543"]);

    // Nor does the owner's form go without the session's CSRF token.
    let forged = post_form(
        app,
        &session,
        "/dashboard/risk/blocklist",
        &[
            ("csrf", "forged"),
            ("kind", "phone"),
            ("value", PHONE),
            ("reason", "x"),
        ],
    )
    .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(in_force(app, merchant).await, ["CC:79876543"]);
}

async fn a_bad_value_a_missing_reason_or_a_value_already_listed_is_shown_on_the_page(
    app: &TestApp,
) {
    let (session, merchant) = owner(app, "Remesas SAS", "ana@remesas.co").await;
    // (kind, value, reason) → status and the Spanish text shown.
    let cases = [
        ("document", "79876543", "fraude", 422, "TIPO:NÚMERO"),
        ("document", "XX:79876543", "fraude", 422, "TIPO:NÚMERO"),
        ("phone", "12", "fraude", 422, "colombiano"),
        ("name", " ... ", "fraude", 422, "necesita letras"),
        ("counter", "efecty-123", "fraude", 422, "Elige documento"),
        ("phone", PHONE, "   ", 422, "Indica un motivo"),
    ];
    for (kind, value, reason, status, text) in cases {
        let response = block(app, &session, kind, value, reason).await;
        assert_eq!(response.status().as_u16(), status, "{kind} {value:?}");
        let html = response.text().await.unwrap();
        assert!(html.contains("data-risk-error"), "{kind} {value:?}: {html}");
        assert!(html.contains(text), "{kind} {value:?}: {html}");
        // The page is whole, and what was typed is kept.
        assert!(html.contains("<h1>Riesgo</h1>"), "{html}");
        let shown = format!("value=\"{value}\"");
        assert!(html.contains(&shown), "{shown}: {html}");
    }
    assert!(in_force(app, merchant).await.is_empty());

    // The same phone written another way is the same entry.
    let first = block(app, &session, "phone", "300-123-4567", "fraude").await;
    redirected_to(&first, "/dashboard/risk?done=added");
    let again = block(app, &session, "phone", PHONE, "otra vez").await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let html = again.text().await.unwrap();
    assert!(html.contains("ya está en tu lista de bloqueo"), "{html}");
    assert_eq!(in_force(app, merchant).await, [PHONE]);
}

async fn another_lists_entry_cannot_be_removed_nor_is_it_shown(app: &TestApp) {
    let (session_a, a) = owner(app, "Tienda A", "ana@a.co").await;
    let (session_b, b) = owner(app, "Tienda B", "ana@b.co").await;
    let key_a = funded_key(app, a).await;
    redirected_to(
        &block(app, &session_a, "phone", PHONE, "contracargo").await,
        "/dashboard/risk?done=added",
    );
    let entry_a = risk::blocklist(&app.server.state.store, Some(a))
        .await
        .unwrap()[0]
        .id
        .clone();
    // The operator's list is the platform's: not on any merchant's page, not theirs to remove.
    let operators = risk::block(
        &app.server.state,
        None,
        Kind::Document,
        "CC:52111222",
        &acting("lista del operador"),
    )
    .await
    .unwrap();

    let (_, page_b) = risk_page(app, &session_b).await;
    assert!(
        !page_b.contains(PHONE) && !page_b.contains(&entry_a),
        "{page_b}"
    );
    let (_, page_a) = risk_page(app, &session_a).await;
    assert!(
        !page_a.contains("CC:52111222") && !page_a.contains(&operators.id),
        "{page_a}"
    );

    let refused = unblock(app, &session_b, &entry_a, "no es mío").await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    let html = refused.text().await.unwrap();
    assert!(html.contains("no está vigente en tu lista"), "{html}");
    for (session, id) in [
        (&session_a, &operators.id),
        (&session_a, &"bli_nope".to_owned()),
    ] {
        let refused = unblock(app, session, id, "no es mío").await;
        assert_eq!(refused.status(), StatusCode::NOT_FOUND, "{id}");
    }
    assert_eq!(in_force(app, a).await, [PHONE]);
    assert!(in_force(app, b).await.is_empty());
    denied(payout(app, &key_a, "p1", 10_000).await).await;
    let operators_list = risk::blocklist(&app.server.state.store, None)
        .await
        .unwrap();
    assert!(operators_list[0].removed_at.is_none());
}
