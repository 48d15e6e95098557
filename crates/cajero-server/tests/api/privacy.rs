//! Personal data (Ley 1581 de 2012), on both engines: events show a person's document, phone,
//! name and e-mail masked while the API shows the merchant its orders whole; an owner who opts
//! in gets full data in the events made after; the operator's export finds one person's
//! pay-ins, payouts and KYC applications across merchants however their number was written,
//! leaves other people out, and is itself in the audit log with its reason.

use cajero_domain::kyc::{Application, Person};
use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_server::operators::{Acting, Reason};
use cajero_server::privacy::{self, Changer, Export, PrivacyError};
use cajero_server::users;
use cajero_store::StoreError;
use jiff::SignedDuration;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION};
use serde_json::{Value, json};

use crate::dashboard::{PipeForm, browser};
use crate::helpers::TestApp;

crate::both_engines!(
    a_payout_event_masks_the_beneficiary_while_the_api_shows_it_whole,
    events_made_after_an_owner_opts_in_carry_full_personal_data,
    the_export_finds_one_persons_orders_across_merchants_and_no_one_elses,
    the_export_is_audited_with_its_reason_before_anything_is_read,
);

const PASSWORD: &str = "correct horse battery staple";

fn beneficiary(name: &str, number: &str) -> Value {
    json!({"name": name, "document": {"type": "CC", "number": number},
           "phone": "+573009876543", "email": "luis@example.com"})
}

async fn post(app: &TestApp, key: &str, path: &str, idem: &str, body: &Value) -> Value {
    let response = app
        .http
        .post(app.url(path))
        .bearer_auth(key)
        .header("idempotency-key", idem)
        .json(body)
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

async fn get(app: &TestApp, key: &str, path: &str) -> Value {
    let response = app.get_with_key(path, key).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

/// A funded test key of `merchant`.
async fn funded_key(app: &TestApp, merchant: cajero_domain::id::MerchantId) -> String {
    let (_, key) = app.key(merchant, Mode::Test).await;
    let topup = json!({"amount": 5_000_000, "currency": "COP"});
    post(app, &key, "/v1/topups", "fund", &topup).await;
    key
}

async fn payout(app: &TestApp, key: &str, idem: &str, person: Value) -> Value {
    let body = json!({"amount": 120_000, "currency": "COP", "network": "efecty",
                      "beneficiary": person});
    post(app, key, "/v1/payouts", idem, &body).await
}

/// The objects of the events about `id`, oldest first.
async fn event_objects(app: &TestApp, key: &str, id: &str) -> Vec<Value> {
    let events = get(app, key, "/v1/events?limit=100").await;
    let mut objects: Vec<Value> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["data"]["object"]["id"] == id)
        .map(|e| e["data"]["object"].clone())
        .collect();
    objects.reverse();
    assert!(!objects.is_empty(), "no event about {id}: {events}");
    objects
}

async fn a_payout_event_masks_the_beneficiary_while_the_api_shows_it_whole(app: &TestApp) {
    let merchant = app.merchant("Remesas SAS", MerchantStatus::Active).await;
    let key = funded_key(app, merchant).await;
    let created = payout(app, &key, "p1", beneficiary("Luis Pérez", "79.876.543")).await;
    let id = created["id"].as_str().unwrap();

    // The merchant's own answers keep the beneficiary whole: the create, a replay, the GET.
    let whole = beneficiary("Luis Pérez", "79876543");
    assert_eq!(created["beneficiary"], whole, "{created}");
    let replay = payout(app, &key, "p1", beneficiary("Luis Pérez", "79.876.543")).await;
    assert_eq!(replay["beneficiary"], whole);
    let fetched = get(app, &key, &format!("/v1/payouts/{id}")).await;
    assert_eq!(fetched["beneficiary"], whole);

    // Its events (what webhooks carry) show the document's last four digits, the initials.
    let events = event_objects(app, &key, id).await;
    for object in &events {
        assert_eq!(
            object["beneficiary"],
            json!({"name": "L. P.", "document": {"type": "CC", "number": "••••6543"},
                   "phone": "••••6543", "email": "l•••@example.com"}),
            "{object}"
        );
        assert_eq!(object["amount"], 120_000);
    }
    let stored = serde_json::to_string(&events).unwrap();
    assert!(
        !stored.contains("79876543") && !stored.contains("Pérez"),
        "{stored}"
    );
}

/// A session of a new merchant's owner, signed up through the service: its cookie's value and
/// the session.
async fn owner_session(app: &TestApp, email: &str) -> (String, users::Session) {
    let state = &app.server.state;
    let opened = users::sign_up(
        &state.store,
        state.clock.as_ref(),
        users::SignUp {
            company: "Nómina SAS".into(),
            name: "Ana Gómez".into(),
            email: email.into(),
            password: PASSWORD.into(),
            locale: Some("es-CO".into()),
        },
        &users::Origin::default(),
    )
    .await
    .unwrap();
    (opened.token, opened.session)
}

async fn privacy_page(app: &TestApp, session: &str) -> String {
    let response = browser()
        .get(app.url("/dashboard/privacy"))
        .header(COOKIE, format!("cajero_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

async fn choose(app: &TestApp, session: &str, csrf: &str, events: &str) {
    let response = browser()
        .post(app.url("/dashboard/privacy"))
        .header(COOKIE, format!("cajero_session={session}"))
        .pipe_form(&[("csrf", csrf), ("events", events)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/dashboard/privacy?saved=1");
}

async fn events_made_after_an_owner_opts_in_carry_full_personal_data(app: &TestApp) {
    let (session, owner) = owner_session(app, "ana@nomina.co").await;
    let merchant = owner.merchant_id;
    let key = funded_key(app, merchant).await;
    let before = payout(app, &key, "before", beneficiary("Luis Pérez", "79876543")).await;
    let html = privacy_page(app, &session).await;
    assert!(
        html.contains("data-personal-data-in-events=\"masked\""),
        "{html}"
    );
    assert!(html.contains("Datos personales en los eventos"), "{html}");

    // Without the session's CSRF token nothing changes.
    let forged = browser()
        .post(app.url("/dashboard/privacy"))
        .header(COOKIE, format!("cajero_session={session}"))
        .pipe_form(&[("csrf", "forged"), ("events", "full")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let csrf = crate::dashboard::csrf_field(&html);
    choose(app, &session, &csrf, "full").await;
    // Audit entries are ordered by id, ids by time.
    app.clock.advance(SignedDuration::from_secs(1));
    let html = privacy_page(app, &session).await;
    assert!(
        html.contains("data-personal-data-in-events=\"full\""),
        "{html}"
    );

    // The very next event carries the beneficiary whole; the earlier ones stay masked.
    let after = payout(app, &key, "after", beneficiary("Luis Pérez", "79876543")).await;
    let whole = beneficiary("Luis Pérez", "79876543");
    for object in event_objects(app, &key, after["id"].as_str().unwrap()).await {
        assert_eq!(object["beneficiary"], whole, "{object}");
    }
    for object in event_objects(app, &key, before["id"].as_str().unwrap()).await {
        assert_eq!(object["beneficiary"]["document"]["number"], "••••6543");
    }

    // Masked again from the next event on.
    choose(app, &session, &csrf, "masked").await;
    let last = payout(app, &key, "last", beneficiary("Luis Pérez", "79876543")).await;
    for object in event_objects(app, &key, last["id"].as_str().unwrap()).await {
        assert_eq!(object["beneficiary"]["name"], "L. P.", "{object}");
    }

    // A developer of the merchant may not change it.
    let mut developer = owner.clone();
    developer.role = users::Role::Developer;
    let state = &app.server.state;
    let refused = privacy::set_full_personal_data_in_events(
        &state.store,
        state.clock.as_ref(),
        merchant,
        true,
        Changer::User {
            session: &developer,
            origin: &users::Origin::default(),
        },
    )
    .await;
    assert!(
        matches!(refused, Err(PrivacyError::NotOwner)),
        "{refused:?}"
    );

    // Both changes are in the merchant's audit log, by the owner.
    let log = users::audit_log(&app.server.state.store, merchant, None, 100)
        .await
        .unwrap();
    let changes: Vec<(&str, &str)> = log
        .iter()
        .filter(|e| e.action.starts_with("merchant.privacy."))
        .map(|e| (e.action.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(
        changes,
        [
            ("merchant.privacy.events_masked", "ana@nomina.co"),
            ("merchant.privacy.events_full", "ana@nomina.co"),
        ]
    );
}

/// A KYC application of `merchant` whose legal representative has this document number.
async fn application_naming(app: &TestApp, merchant: cajero_domain::id::MerchantId, number: &str) {
    let application = Application {
        legal_name: "Remesas del Norte SAS".into(),
        representative: Person {
            name: "Luis Pérez".into(),
            document_type: "CC".into(),
            document_number: number.into(),
            nationality: "CO".into(),
            share_bps: None,
        },
        ..Application::default()
    };
    let text = serde_json::to_string(&application).unwrap();
    let merchant = merchant.to_string();
    app.server
        .state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                cajero_store::kyc::save(&mut c, &merchant, &text, 1).await?;
                Ok::<_, StoreError>(())
            })
        })
        .await
        .unwrap();
}

async fn export(app: &TestApp, document: &str, reason: &str) -> Export {
    let state = &app.server.state;
    privacy::export(
        &state.store,
        state.clock.as_ref(),
        &state.config.public_url(),
        privacy::parse_document(document).unwrap(),
        &Acting::cli(Reason::parse(reason).unwrap()),
    )
    .await
    .unwrap()
}

fn ids(export: &Export, section: &str) -> Vec<String> {
    let mut ids: Vec<String> = export
        .section(section)
        .unwrap()
        .rows
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

async fn the_export_finds_one_persons_orders_across_merchants_and_no_one_elses(app: &TestApp) {
    let shop = app.merchant("Tienda Uno", MerchantStatus::Active).await;
    let remittances = app.merchant("Remesas Dos", MerchantStatus::Active).await;
    let shop_key = funded_key(app, shop).await;
    let remittances_key = funded_key(app, remittances).await;
    // Luis pays a voucher at the shop (his number written with dots) and collects a payout
    // from the remittance company; he is also the legal representative in its application.
    let customer = json!({"amount": 50_000, "currency": "COP", "network": "efecty",
        "customer": {"name": "Luis Pérez", "document": {"type": "CC", "number": "79.876.543"}}});
    let payin = post(app, &shop_key, "/v1/payins", "in", &customer).await;
    let luis = payout(
        app,
        &remittances_key,
        "out",
        beneficiary("Luis Pérez", "79876543"),
    )
    .await;
    application_naming(app, remittances, "79 876 543").await;
    // Other people: another number at the shop, the same digits as a CE at the remittances.
    let ana = payout(
        app,
        &shop_key,
        "ana",
        beneficiary("Ana Gómez", "1020304050"),
    )
    .await;
    let mut foreigner = beneficiary("Jean Dupont", "79876543");
    foreigner["document"]["type"] = json!("CE");
    let jean = payout(app, &remittances_key, "jean", foreigner).await;

    let found = export(app, "CC:79.876.543", "habeas data request 17").await;
    let (payin_id, luis_id) = (payin["id"].as_str().unwrap(), luis["id"].as_str().unwrap());
    assert_eq!(ids(&found, "payins"), [payin_id]);
    assert_eq!(ids(&found, "payouts"), [luis_id]);
    let payins = &found.section("payins").unwrap().rows;
    assert_eq!(payins[0]["merchant"], shop.to_string().as_str());
    // The export holds the person whole: it is for the operator, not a webhook.
    assert_eq!(payins[0]["customer"]["document"]["number"], "79876543");
    let payouts = &found.section("payouts").unwrap().rows;
    assert_eq!(payouts[0]["merchant"], remittances.to_string().as_str());
    assert_eq!(payouts[0]["beneficiary"]["name"], "Luis Pérez");
    let kyc = &found.section("kyc_applications").unwrap().rows;
    assert_eq!(kyc.len(), 1, "{kyc:?}");
    assert_eq!(kyc[0]["merchant"], remittances.to_string().as_str());
    assert_eq!(kyc[0]["role"], "representative");
    // The events about his orders, and none about anyone else's.
    let about: Vec<&str> = found
        .section("events")
        .unwrap()
        .rows
        .iter()
        .map(|e| e["data"]["object"]["id"].as_str().unwrap())
        .collect();
    assert!(
        about.contains(&payin_id) && about.contains(&luis_id),
        "{about:?}"
    );
    assert!(
        about.iter().all(|id| *id == payin_id || *id == luis_id),
        "{about:?}"
    );
    assert!(found.sections.iter().all(|s| !s.truncated));
    let text = found.to_json().to_string();
    for other in [&ana["id"], &jean["id"]] {
        assert!(
            !text.contains(other.as_str().unwrap()),
            "{other} leaked: {text}"
        );
    }
    assert!(
        !text.contains("Gómez") && !text.contains("Dupont"),
        "{text}"
    );

    // Nobody with that document: every section empty.
    let nobody = export(app, "CC:11223344", "habeas data request 18").await;
    for section in ["payins", "payouts", "kyc_applications", "events"] {
        assert!(
            nobody.section(section).unwrap().rows.is_empty(),
            "{section}"
        );
    }
}

async fn the_export_is_audited_with_its_reason_before_anything_is_read(app: &TestApp) {
    let merchant = app.merchant("Remesas SAS", MerchantStatus::Active).await;
    let key = funded_key(app, merchant).await;
    payout(app, &key, "p1", beneficiary("Luis Pérez", "79876543")).await;

    let first = export(app, "CC:79876543", "Requerimiento Fiscalía 2026-118").await;
    let store = &app.server.state.store;
    let entries = store
        .read(|mut c| {
            Box::pin(async move {
                cajero_store::privacy::audit_of_object(&mut c, "CC:79876543", 10).await
            })
        })
        .await
        .unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];
    assert_eq!(entry.id, first.audit_id);
    assert_eq!(entry.action, "privacy.export");
    assert_eq!(entry.actor, cajero_server::operators::CLI_ACTOR);
    assert_eq!(
        entry.reason.as_deref(),
        Some("Requerimiento Fiscalía 2026-118")
    );
    assert_eq!(entry.merchant_id, None, "an export spans merchants");

    // The export lists itself, and a later one lists both.
    let exports = |e: &Export| -> Vec<String> {
        e.section("audit_log")
            .unwrap()
            .rows
            .iter()
            .filter(|r| r["action"] == "privacy.export")
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(exports(&first), [first.audit_id.as_str()]);
    app.clock.advance(SignedDuration::from_secs(1));
    let second = export(app, "CC:79.876.543", "second request").await;
    // In id order. Ids follow one clock; the tests of this process each have their own, and
    // the id generator's memory is the process's, so two ids of one test need not be in the
    // order they were made when another test's clock is far ahead (CI, 2026-12-07).
    let mut both = [first.audit_id.as_str(), second.audit_id.as_str()];
    both.sort_unstable();
    assert_eq!(exports(&second), both);
}
