//! Onboarding (KYC) through its service, on both engines: an incomplete application cannot be
//! submitted; the review moves along its arrows only; every step is evented and audited;
//! approval opens live mode, and before it live keys are refused.

use cajero_domain::kyc::{Application, KycAction, KycStatus, Person};
use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_server::admin;
use cajero_server::kyc::{self, Actor, KycError};

use crate::helpers::TestApp;

crate::both_engines!(
    an_application_is_submitted_questioned_answered_and_approved_opening_live_mode
);

fn complete() -> Application {
    let ana = Person {
        name: "Ana Gómez".into(),
        document_type: "CC".into(),
        document_number: "1020304050".into(),
        nationality: "CO".into(),
        share_bps: None,
    };
    Application {
        legal_name: "Tienda Ana SAS".into(),
        nit: "900123456-8".into(),
        company_type: "sas".into(),
        address: "Calle 10 # 20-30".into(),
        municipality: "11001".into(),
        representative: ana.clone(),
        owners: vec![Person {
            share_bps: Some(10_000),
            ..ana
        }],
        monthly_payins_cop: 50_000_000,
        average_payin_cop: 80_000,
        monthly_payouts_cop: 0,
        average_payout_cop: 0,
        activity: "Venta de ropa en línea".into(),
        website: "https://tienda.example.co".into(),
    }
}

fn merchant_actor() -> Actor {
    Actor {
        user_id: None,
        name: "ana@example.co".into(),
        ip: Some("203.0.113.7".into()),
    }
}

fn operator() -> Actor {
    Actor {
        user_id: None,
        name: "operador Luis".into(),
        ip: None,
    }
}

async fn an_application_is_submitted_questioned_answered_and_approved_opening_live_mode(
    app: &TestApp,
) {
    let state = &app.server.state;
    let (store, clock) = (&state.store, state.clock.as_ref());
    let merchant = app.merchant("Tienda Ana", MerchantStatus::Onboarding).await;
    let live_key = || admin::create_api_key(store, clock, &state.keys, merchant, Mode::Live);

    // A new merchant has an empty draft listing what is missing; it cannot be submitted.
    let draft = kyc::show(store, merchant).await.unwrap();
    assert_eq!(draft.status, KycStatus::Draft);
    assert!(draft.problems.iter().any(|p| p.field == "nit"), "{draft:?}");
    match kyc::submit(store, clock, merchant, merchant_actor()).await {
        Err(KycError::Incomplete(problems)) => assert!(problems.len() > 5, "{problems:?}"),
        other => panic!("submitted an empty application: {other:?}"),
    }
    // Before approval, no live key (the service refuses, whoever asks).
    assert!(live_key().await.is_err());

    let saved = kyc::save(store, clock, merchant, complete()).await.unwrap();
    assert!(saved.problems.is_empty(), "{:?}", saved.problems);
    let submitted = kyc::submit(store, clock, merchant, merchant_actor())
        .await
        .unwrap();
    assert_eq!(submitted.status, KycStatus::Submitted);
    assert_eq!(submitted.screening, "not_screened");
    // Submitted: the merchant cannot change it, and it cannot be approved without a reason.
    assert!(matches!(
        kyc::save(store, clock, merchant, complete()).await,
        Err(KycError::NotEditable(KycStatus::Submitted))
    ));
    assert!(matches!(
        kyc::decide(
            store,
            clock,
            merchant,
            KycAction::Approve,
            Some("  "),
            operator()
        )
        .await,
        Err(KycError::ReasonRequired("approve"))
    ));
    let reviewing = kyc::decide(
        store,
        clock,
        merchant,
        KycAction::StartReview,
        None,
        operator(),
    )
    .await
    .unwrap();
    assert_eq!(reviewing.status, KycStatus::InReview);
    let asked = kyc::decide(
        store,
        clock,
        merchant,
        KycAction::RequestInfo,
        Some("Adjunte el certificado de Cámara de Comercio de menos de 30 días."),
        operator(),
    )
    .await
    .unwrap();
    assert_eq!(asked.status, KycStatus::NeedsInfo);
    assert!(asked.questions.as_deref().unwrap().contains("Cámara"));
    // The merchant answers: edits, then submits again.
    let mut answered = complete();
    answered.address = "Carrera 7 # 71-21".into();
    kyc::save(store, clock, merchant, answered).await.unwrap();
    kyc::submit(store, clock, merchant, merchant_actor())
        .await
        .unwrap();
    let approved = kyc::decide(
        store,
        clock,
        merchant,
        KycAction::Approve,
        Some("Documentos completos y vigentes"),
        operator(),
    )
    .await
    .unwrap();
    assert_eq!(approved.status, KycStatus::Approved);
    assert_eq!(approved.decided_by.as_deref(), Some("operador Luis"));
    assert_eq!(approved.application.address, "Carrera 7 # 71-21");
    // Approved: the merchant is active and may have live keys; the decision is final.
    let record = admin::list_merchants(store)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.id == merchant)
        .unwrap();
    assert_eq!(record.status, MerchantStatus::Active);
    assert!(live_key().await.is_ok());
    assert!(matches!(
        kyc::decide(
            store,
            clock,
            merchant,
            KycAction::Reject,
            Some("no"),
            operator()
        )
        .await,
        Err(KycError::Transition(_))
    ));

    // Every step evented in both modes (without the application's personal data) and
    // audited.
    let m = merchant;
    let (kinds, audited) = store
        .read(move |mut c| {
            Box::pin(async move {
                let mut kinds = Vec::new();
                for livemode in [false, true] {
                    let page = cajero_store::page::PageRequest {
                        limit: 100,
                        cursor: cajero_store::page::Cursor::Newest,
                    };
                    let found = cajero_store::events::list_events(
                        &mut c,
                        m,
                        livemode,
                        &Default::default(),
                        &page,
                    )
                    .await?;
                    for e in found.data {
                        assert!(!e.data.contains("1020304050"), "{}", e.data);
                        kinds.push(e.event_type.as_str().to_owned());
                    }
                }
                let audited =
                    cajero_store::dashboard::audit_of_merchant(&mut c, &m.to_string(), None, 100)
                        .await?;
                Ok::<_, cajero_store::StoreError>((kinds, audited))
            })
        })
        .await
        .unwrap();
    for kind in [
        "merchant.kyc.submitted",
        "merchant.kyc.in_review",
        "merchant.kyc.needs_info",
        "merchant.kyc.approved",
    ] {
        assert_eq!(
            kinds.iter().filter(|k| *k == kind).count(),
            if kind == "merchant.kyc.submitted" {
                4
            } else {
                2
            },
            "{kind}: {kinds:?}"
        );
    }
    let actions: Vec<&str> = audited.iter().map(|a| a.action.as_str()).collect();
    for action in [
        "merchant.kyc.submit",
        "merchant.kyc.start_review",
        "merchant.kyc.request_info",
        "merchant.kyc.approve",
    ] {
        assert!(actions.contains(&action), "{action}: {actions:?}");
    }
    assert!(audited.iter().any(|a| a.actor == "operador Luis"));
    // An unknown merchant is named.
    let mut other = merchant.to_string();
    let last = other.pop().unwrap();
    other.push(if last == '0' { '1' } else { '0' });
    assert!(matches!(
        kyc::show(store, other.parse().unwrap()).await,
        Err(KycError::UnknownMerchant(_))
    ));
}
