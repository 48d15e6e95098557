//! Sanctions lists in service, on both engines: OFAC's and the UN's files load (a broken one is
//! refused whole, the same files again change nothing); an onboarding application naming a
//! listed person is submitted with the hit recorded for the reviewer, one naming nobody listed
//! is recorded clear, and without a list it is recorded not screened.

use cajero_domain::kyc::{Application, Person};
use cajero_domain::merchant::MerchantStatus;
use cajero_server::kyc;
use cajero_server::operators::{Acting, Reason};
use cajero_server::sanctions::{self, Files};

use crate::helpers::TestApp;
use crate::kyc::{add_all_documents, complete, merchant_actor};

crate::both_engines!(a_submission_is_screened_against_the_lists_in_force);

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../cajero-domain/tests/fixtures/sanctions")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

async fn submitted(app: &TestApp, name: &str, application: Application) -> String {
    let state = &app.server.state;
    let merchant = app.merchant(name, MerchantStatus::Onboarding).await;
    kyc::save(&state.store, state.clock.as_ref(), merchant, application)
        .await
        .unwrap();
    add_all_documents(app, merchant).await;
    state.sanctions.refresh(&state.store, true).await.unwrap();
    kyc::submit_screened(
        &state.store,
        state.clock.as_ref(),
        state.screening.clone(),
        merchant,
        merchant_actor(),
    )
    .await
    .unwrap()
    .screening
}

async fn a_submission_is_screened_against_the_lists_in_force(app: &TestApp) {
    let state = &app.server.state;
    let (store, clock) = (&state.store, state.clock.as_ref());
    let acting = Acting::cli(Reason::parse("OFAC publication of the week").unwrap());

    // No list yet: recorded as not screened.
    let unscreened = submitted(app, "Tienda Cero", complete()).await;
    assert!(unscreened.starts_with("not_screened"), "{unscreened}");

    // A broken file is refused whole; nothing is in force.
    let broken = sanctions::load(
        store,
        clock,
        Files::Ofac {
            sdn: b"306,\"BANCO\",-0- ,\"CUBA\"\n".to_vec(),
            alt: Vec::new(),
        },
        None,
        &acting,
    )
    .await;
    assert!(broken.is_err(), "{broken:?}");

    let ofac = sanctions::load(
        store,
        clock,
        Files::Ofac {
            sdn: fixture("sdn.csv"),
            alt: fixture("alt.csv"),
        },
        None,
        &acting,
    )
    .await
    .unwrap();
    assert_eq!(ofac.source, "ofac");
    assert!(ofac.entries > 10, "{ofac:?}");
    // The same files again: the same list in force.
    let again = sanctions::load(
        store,
        clock,
        Files::Ofac {
            sdn: fixture("sdn.csv"),
            alt: fixture("alt.csv"),
        },
        None,
        &acting,
    )
    .await
    .unwrap();
    assert_eq!(again.id, ofac.id);
    let un = sanctions::load(
        store,
        clock,
        Files::Un {
            xml: fixture("consolidated.xml"),
        },
        None,
        &acting,
    )
    .await
    .unwrap();
    assert_eq!(un.source, "un");

    // A representative listed by OFAC, written in another order and case.
    let mut listed = complete();
    listed.representative = Person {
        name: "manuel antonio noriega".into(),
        ..listed.representative
    };
    let review = submitted(app, "Tienda Uno", listed).await;
    assert!(review.starts_with("review: "), "{review}");
    assert!(review.contains("ofac 1572"), "{review}");
    assert!(
        review.contains(&ofac.id) && review.contains(&un.id),
        "{review}"
    );

    // Nobody listed.
    let clear = submitted(app, "Tienda Dos", complete()).await;
    assert_eq!(clear, format!("clear against {} {}", ofac.id, un.id));

    // The daily reload of configured files: the files unchanged, nothing new is in force; a
    // missing file is an error for its publisher only.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../cajero-domain/tests/fixtures/sanctions");
    let config = sanctions::SanctionsConfig {
        ofac_sdn_file: Some(dir.join("sdn.csv")),
        ofac_alt_file: Some(dir.join("alt.csv")),
        un_file: Some(dir.join("missing.xml")),
        ..sanctions::SanctionsConfig::default()
    };
    let reloaded = sanctions::reload(store, clock, &config).await;
    assert_eq!(reloaded.len(), 2);
    assert_eq!(reloaded[0].as_ref().unwrap().id, ofac.id);
    assert!(reloaded[1].as_ref().unwrap_err().contains("missing.xml"));

    // The loads are audited with their reason.
    let entries = cajero_server::operators::search_audit(
        store,
        cajero_store::operators::AuditSearch {
            action: Some("sanctions.".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        entries.len(),
        2,
        "only new lists are stored and audited: {entries:?}"
    );
    assert!(
        entries
            .iter()
            .all(|e| e.reason.as_deref() == Some("OFAC publication of the week"))
    );
}

/// A held payout survives a restart on the same database: still on hold, no code, its funds
/// reserved, left alone by the poller; released after the restart, it gets its code; the
/// books balance throughout.
async fn a_held_payout_survives_a_restart(engine: crate::helpers::Engine) {
    use cajero_domain::merchant::Mode;
    use cajero_server::clock::ManualClock;
    use jiff::{SignedDuration, Timestamp};

    let dir = tempfile::tempdir().unwrap();
    let database_url = match engine {
        crate::helpers::Engine::Sqlite => {
            format!("sqlite://{}", dir.path().join("cajero.db").display())
        }
        crate::helpers::Engine::Postgres => {
            let Some(url) = cajero_store::testing::fresh_postgres_url().await.unwrap() else {
                eprintln!("skipped: set CAJERO_TEST_POSTGRES_URL to run the PostgreSQL suite");
                return;
            };
            url
        }
    };
    let config =
        crate::kyc::restartable_config(&database_url, cajero_server::config::KycConfig::default());
    let clock = ManualClock::new(Timestamp::from_second(crate::kyc::START).unwrap());
    let first = crate::kyc::spawn(config.clone(), &clock).await;
    let app = TestApp::from_parts(first, clock.clone(), tempfile::tempdir().unwrap());
    let state = &app.server.state;
    sanctions::load(
        &state.store,
        state.clock.as_ref(),
        Files::Ofac {
            sdn: fixture("sdn.csv"),
            alt: fixture("alt.csv"),
        },
        None,
        &Acting::cli(Reason::parse("weekly list").unwrap()),
    )
    .await
    .unwrap();
    let merchant = app.merchant("Remesas", MerchantStatus::Active).await;
    let (_, key) = app.key(merchant, Mode::Test).await;
    let post = |path: &'static str, idem: &'static str, body: serde_json::Value| {
        let (http, url, key) = (app.http.clone(), app.url(path), key.clone());
        async move {
            http.post(url)
                .bearer_auth(key)
                .header("idempotency-key", idem)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    post(
        "/v1/topups",
        "t1",
        serde_json::json!({"amount": 1_000_000, "currency": "COP"}),
    )
    .await;
    let held = post(
        "/v1/payouts",
        "p1",
        serde_json::json!({"amount": 100_000, "currency": "COP", "network": "efecty",
            "beneficiary": {"name": "Manuel Antonio Noriega", "document": {"type": "CC", "number": "79876543"}}}),
    )
    .await;
    assert_eq!(held["status"], "on_hold", "{held}");
    let id: cajero_domain::id::PayoutId = held["id"].as_str().unwrap().parse().unwrap();
    let balance = |app: &TestApp| {
        let (app_http, url, key) = (app.http.clone(), app.url("/v1/balance"), key.clone());
        async move {
            let b: serde_json::Value = app_http
                .get(url)
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            b["available"][0]["amount"].as_i64().unwrap()
        }
    };
    let reserved_balance = balance(&app).await;
    assert!(reserved_balance < 1_000_000);

    app.server.stop().await.unwrap();
    let second = crate::kyc::spawn(config, &clock).await;
    let app = TestApp::from_parts(second, clock.clone(), tempfile::tempdir().unwrap());
    let state = &app.server.state;
    // Long after: the poller looks at stale payouts and leaves the held one alone.
    clock.advance(SignedDuration::from_hours(2));
    cajero_server::workers::poller::run_once(state)
        .await
        .unwrap();
    let stored = state
        .store
        .read(move |mut c| {
            Box::pin(async move { cajero_store::payouts::get_any(&mut c, id).await })
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status.as_str(), "on_hold");
    assert!(stored.pickup_code.is_none() && stored.network_order_id.is_none());
    assert_eq!(balance(&app).await, reserved_balance, "still reserved");

    // Released after the restart: the code is issued.
    let acting = Acting::cli(Reason::parse("not the listed person").unwrap());
    let audit = cajero_server::operators::audit_row(
        state.clock.as_ref(),
        &acting,
        "payout.released",
        Some(merchant.to_string()),
        Some(id.to_string()),
    );
    let answer = cajero_server::payouts::release(
        state,
        cajero_server::idempotency::IdempotencyKey::of_form(state, "release-after-restart-1"),
        stored,
        audit,
        "not the listed person".into(),
    )
    .await
    .unwrap();
    assert_eq!(answer.object().unwrap()["status"], "available");
    let report = state
        .store
        .read(|mut c| Box::pin(async move { cajero_store::verify::verify(&mut c).await }))
        .await
        .unwrap();
    assert!(report.problems.is_empty(), "{report:?}");
    app.server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_held_payout_survives_a_restart() {
    a_held_payout_survives_a_restart(crate::helpers::Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_held_payout_survives_a_restart() {
    a_held_payout_survives_a_restart(crate::helpers::Engine::Postgres).await;
}
