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
