//! Onboarding (KYC) through its service and the dashboard, on both engines: an incomplete
//! application cannot be submitted (every kind of document, a Cámara de Comercio certificate
//! at most 30 Bogotá days old); the review moves along its arrows only; a certificate that
//! aged during the review blocks approval; every step is evented and audited; approval opens
//! live mode, and before it live keys are refused. Documents, kept in the database or as
//! files, survive a restart, are checked by content, size and hash, and are served to their
//! merchant's owners only. The operator's steps are e-mailed to the owners in their language.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cajero_domain::id::MerchantId;
use cajero_domain::kyc::{Application, KycAction, KycStatus, Person};
use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_server::clock::{Clock, ManualClock};
use cajero_server::config::{Config, DocumentStorage, KycConfig, Secret};
use cajero_server::kyc::{self, Actor, KycError};
use cajero_server::{Running, admin, users};
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION};

use crate::helpers::{Engine, TestApp};

crate::both_engines!(
    an_application_is_submitted_questioned_answered_and_approved_opening_live_mode,
    submission_waits_for_every_document_and_a_chamber_certificate_at_most_30_bogota_days_old,
    approval_is_refused_when_the_certificate_aged_past_30_days_during_the_review,
);

/// Monday 24 November 2025, 11:00 in Bogotá (16:00 UTC): the test servers' clock.
pub(crate) const START: i64 = 1_764_000_000;
/// The instance key of the restarted servers (a throwaway database's).
const SECRETS_KEY: &str = "6a1f0e7d2c3b4a5968778695a4b3c2d1e0f1a2b3c4d5e6f708192a3b4c5d6e7f";
const PASSWORD: &str = "correct horse battery staple";
const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";

pub(crate) fn complete() -> Application {
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

pub(crate) fn merchant_actor() -> Actor {
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

fn date(text: &str) -> Date {
    text.parse().unwrap()
}

fn pdf_of(kind: &str, issued_on: Option<Date>) -> kyc::Upload {
    kyc::Upload {
        kind: kind.into(),
        file_name: format!("{kind}.pdf"),
        content: [PDF, kind.as_bytes()].concat(),
        issued_on,
    }
}

async fn add(
    app: &TestApp,
    merchant: MerchantId,
    upload: kyc::Upload,
) -> Result<kyc::Document, KycError> {
    let state = &app.server.state;
    kyc::add_document(
        &state.store,
        state.clock.as_ref(),
        &state.config.kyc,
        merchant,
        upload,
        merchant_actor(),
    )
    .await
}

/// The four documents, the certificate issued today (Bogotá).
pub(crate) async fn add_all_documents(app: &TestApp, merchant: MerchantId) {
    let today = kyc::today(app.server.state.clock.as_ref());
    for kind in kyc::DOCUMENT_KINDS {
        let issued_on = (kind == kyc::CHAMBER_CERTIFICATE).then_some(today);
        add(app, merchant, pdf_of(kind, issued_on)).await.unwrap();
    }
}

fn fields(problems: &[cajero_domain::kyc::Problem]) -> Vec<&str> {
    problems.iter().map(|p| p.field.as_str()).collect()
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
    add_all_documents(app, merchant).await;
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
        "merchant.kyc.document_added",
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

/// A session of a new merchant's owner, signed up through the service: (cookie value, CSRF
/// token, merchant).
async fn owner_session(app: &TestApp, email: &str, locale: &str) -> (String, String, MerchantId) {
    let state = &app.server.state;
    let opened = users::sign_up(
        &state.store,
        state.clock.as_ref(),
        users::SignUp {
            company: format!("Tienda de {email}"),
            name: "Ana Gómez".into(),
            email: email.into(),
            password: PASSWORD.into(),
            locale: Some(locale.into()),
        },
        &users::Origin::default(),
    )
    .await
    .unwrap();
    let csrf = opened.session.row.csrf_token.clone();
    (opened.token, csrf, opened.session.merchant_id)
}

/// A browser without a cookie jar that does not follow redirects.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn get(base: &str, session: &str, path: &str) -> reqwest::Response {
    browser()
        .get(format!("{base}{path}"))
        .header(COOKIE, format!("cajero_session={session}"))
        .send()
        .await
        .unwrap()
}

async fn set_locale(app: &TestApp, email: &str, locale: &str) {
    let (email, locale) = (email.to_owned(), locale.to_owned());
    let now = app.clock.now();
    app.server
        .state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                let user = cajero_store::dashboard::user_by_email(&mut c, &email)
                    .await?
                    .unwrap();
                cajero_store::dashboard::set_locale(&mut c, &user.id, Some(&locale), now).await
            })
        })
        .await
        .unwrap();
}

async fn submission_waits_for_every_document_and_a_chamber_certificate_at_most_30_bogota_days_old(
    app: &TestApp,
) {
    let state = &app.server.state;
    let (store, clock) = (&state.store, state.clock.as_ref());
    let (_, _, merchant) = owner_session(app, "ana@example.co", "es-CO").await;
    kyc::save(store, clock, merchant, complete()).await.unwrap();
    let submit = || kyc::submit(store, clock, merchant, merchant_actor());

    // A complete application without its documents: each kind is missing.
    match submit().await {
        Err(KycError::Incomplete(problems)) => assert_eq!(
            fields(&problems),
            [
                "documents.rut",
                "documents.chamber_certificate",
                "documents.representative_id",
                "documents.bank_certificate"
            ]
        ),
        other => panic!("submitted without documents: {other:?}"),
    }
    for kind in ["rut", "representative_id", "bank_certificate"] {
        add(app, merchant, pdf_of(kind, None)).await.unwrap();
    }
    match submit().await {
        Err(KycError::Incomplete(problems)) => {
            assert_eq!(fields(&problems), ["documents.chamber_certificate"]);
        }
        other => panic!("submitted without a chamber certificate: {other:?}"),
    }

    // The certificate needs its issue date: given, not after today, at most 30 days before
    // (today is 2025-11-24 in Bogotá).
    let chamber = |issued_on: Option<&str>| pdf_of(kyc::CHAMBER_CERTIFICATE, issued_on.map(date));
    assert!(matches!(
        add(app, merchant, chamber(None)).await,
        Err(KycError::IssuedOn { .. })
    ));
    assert!(matches!(
        add(app, merchant, chamber(Some("2025-11-25"))).await,
        Err(KycError::IssuedOn { .. })
    ));
    match add(app, merchant, chamber(Some("2025-10-24"))).await {
        Err(e @ KycError::CertificateTooOld { .. }) => {
            assert!(e.to_string().contains("2025-10-24"), "{e}");
        }
        other => panic!("kept a certificate of 31 days: {other:?}"),
    }
    let kept = add(app, merchant, chamber(Some("2025-10-25")))
        .await
        .unwrap();
    assert_eq!(kept.issued_on.as_deref(), Some("2025-10-25"));

    // 22:00 in Bogotá is already the 25th in UTC; the certificate is 30 Bogotá days old.
    app.clock.advance(SignedDuration::from_hours(11));
    let shown = kyc::show_with_documents(store, clock, merchant)
        .await
        .unwrap();
    assert!(shown.problems.is_empty(), "{:?}", shown.problems);
    // Midnight in Bogotá: 31 days, and the submission is refused with a named problem.
    app.clock.advance(SignedDuration::from_hours(2));
    match submit().await {
        Err(KycError::Incomplete(problems)) => {
            assert_eq!(
                fields(&problems),
                ["documents.chamber_certificate.issued_on"]
            );
            assert!(problems[0].message.contains("2025-10-25"), "{problems:?}");
        }
        other => panic!("submitted with a certificate of 31 days: {other:?}"),
    }
    // The page lists it like the application's other problems, in each language (signed in
    // again: the first session lapsed while the clock moved).
    let session = users::sign_in(
        store,
        clock,
        "ana@example.co",
        PASSWORD,
        &users::Origin::default(),
    )
    .await
    .unwrap()
    .token;
    for (locale, tag) in [
        (cajero_server::web::i18n::Locale::Es, "es-CO"),
        (cajero_server::web::i18n::Locale::En, "en"),
        (cajero_server::web::i18n::Locale::Zh, "zh-CN"),
    ] {
        set_locale(app, "ana@example.co", tag).await;
        let html = get(&app.server.url(), &session, "/dashboard/onboarding")
            .await
            .text()
            .await
            .unwrap();
        let missing = html
            .split(locale.texts().get("kyc.missing"))
            .nth(1)
            .unwrap_or_else(|| panic!("{tag}: nothing listed as missing: {html}"));
        assert!(
            missing.contains(locale.texts().get("kyc.chamber_age")),
            "{tag}: {html}"
        );
        assert!(
            html.contains("2025-10-25"),
            "the issue date is listed: {html}"
        );
    }
    // A recent certificate (the newest upload counts): submitted.
    add(app, merchant, chamber(Some("2025-11-20")))
        .await
        .unwrap();
    assert_eq!(submit().await.unwrap().status, KycStatus::Submitted);
}

async fn approval_is_refused_when_the_certificate_aged_past_30_days_during_the_review(
    app: &TestApp,
) {
    let state = &app.server.state;
    let (store, clock) = (&state.store, state.clock.as_ref());
    let merchant = app.merchant("Tienda Ana", MerchantStatus::Onboarding).await;
    kyc::save(store, clock, merchant, complete()).await.unwrap();
    add_all_documents(app, merchant).await; // the certificate issued 2025-11-24
    kyc::submit(store, clock, merchant, merchant_actor())
        .await
        .unwrap();
    let decide = |action, note| kyc::decide(store, clock, merchant, action, note, operator());
    decide(KycAction::StartReview, None).await.unwrap();

    // 31 days later the certificate is stale: approval is refused, naming its date, and
    // nothing changes.
    app.clock.advance(SignedDuration::from_hours(31 * 24));
    match decide(KycAction::Approve, Some("Todo en orden")).await {
        Err(e @ KycError::Documents(_)) => {
            let text = e.to_string();
            assert!(text.contains("issued on 2025-11-24"), "{text}");
            assert!(
                text.contains("2025-11-25"),
                "the oldest date accepted: {text}"
            );
        }
        other => panic!("approved with a stale certificate: {other:?}"),
    }
    assert_eq!(
        kyc::show(store, merchant).await.unwrap().status,
        KycStatus::InReview
    );
    let record = admin::list_merchants(store)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.id == merchant)
        .unwrap();
    assert_eq!(record.status, MerchantStatus::Onboarding);

    // The operator asks for a new one; the merchant uploads it and submits; approved.
    decide(
        KycAction::RequestInfo,
        Some("El certificado de Cámara de Comercio venció: suba uno reciente."),
    )
    .await
    .unwrap();
    let today = kyc::today(clock);
    add(app, merchant, pdf_of(kyc::CHAMBER_CERTIFICATE, Some(today)))
        .await
        .unwrap();
    kyc::submit(store, clock, merchant, merchant_actor())
        .await
        .unwrap();
    let approved = decide(KycAction::Approve, Some("Todo en orden"))
        .await
        .unwrap();
    assert_eq!(approved.status, KycStatus::Approved);
}

// ---------------------------------------------------------------------------------------------
// Documents across a restart, in the database and as files
// ---------------------------------------------------------------------------------------------

/// A test server's configuration over `database_url`, its documents kept as `kyc` says.
pub(crate) fn restartable_config(database_url: &str, kyc: KycConfig) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: Secret::new(database_url),
        secrets_key: Some(Secret::new(SECRETS_KEY)),
        rate_limits: crate::helpers::roomy_rate_limits(),
        reconciliation: crate::helpers::quiet_reconciliation(),
        kyc,
        ..Config::default()
    }
}

pub(crate) async fn spawn(config: Config, clock: &ManualClock) -> Running {
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    cajero_server::spawn(config, shared).await.unwrap()
}

/// A `multipart/form-data` body as a browser sends the upload form: (content type, body).
fn multipart(
    csrf: &str,
    kind: &str,
    issued_on: Option<&str>,
    file_name: &str,
    content: &[u8],
) -> (String, Vec<u8>) {
    let boundary = "----cajeroKycBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    let mut fields = vec![("csrf", csrf), ("kind", kind)];
    fields.extend(issued_on.map(|d| ("issued_on", d)));
    for (name, value) in fields {
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

/// Posts the upload form; the redirect's location (`?done=…` or `?refused=…`) or the status.
async fn upload(base: &str, session: &str, form: (String, Vec<u8>)) -> String {
    let response = browser()
        .post(format!("{base}/dashboard/onboarding/documents"))
        .header(COOKIE, format!("cajero_session={session}"))
        .header("content-type", form.0)
        .body(form.1)
        .send()
        .await
        .unwrap();
    match response.headers().get(LOCATION) {
        Some(to) => to.to_str().unwrap().to_owned(),
        None => response.status().to_string(),
    }
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    };
    found.sort();
    found
}

/// Uploads through the dashboard are checked (a renamed Windows or Linux executable, an
/// oversize file, a certificate without its date are refused), kept where the configuration
/// says (a file named after the document's id, or the row), served to the owners only, and
/// still there, byte for byte, after the server restarts on the same database. A file changed
/// on disk is refused; an upload whose row is refused leaves no file behind.
async fn documents_survive_a_restart(engine: Engine, storage: DocumentStorage) {
    let dir = tempfile::tempdir().unwrap();
    let database_url = match engine {
        Engine::Sqlite => format!("sqlite://{}", dir.path().join("cajero.db").display()),
        Engine::Postgres => {
            let Some(url) = cajero_store::testing::fresh_postgres_url().await.unwrap() else {
                eprintln!("skipped: set CAJERO_TEST_POSTGRES_URL to run the PostgreSQL suite");
                return;
            };
            url
        }
    };
    let documents_dir = dir.path().join("kyc-documents");
    let kyc_config = KycConfig {
        documents: storage,
        documents_dir: (storage == DocumentStorage::Filesystem).then(|| documents_dir.clone()),
    };
    let config = restartable_config(&database_url, kyc_config);
    let clock = ManualClock::new(Timestamp::from_second(START).unwrap());
    let first = spawn(config.clone(), &clock).await;
    let app = TestApp::from_parts(first, clock.clone(), tempfile::tempdir().unwrap());
    let base = app.server.url();
    let (session, csrf, merchant) = owner_session(&app, "ana@example.co", "es-CO").await;

    let rut = [PDF, b"RUT de Tienda Ana"].concat();
    let chamber = [PDF, b"Certificado de existencia"].concat();
    let sent = upload(
        &base,
        &session,
        multipart(&csrf, "rut", None, "mi rut.pdf", &rut),
    )
    .await;
    assert_eq!(sent, "/dashboard/onboarding?done=uploaded");
    let (undated, dated) = (
        multipart(&csrf, kyc::CHAMBER_CERTIFICATE, None, "c.pdf", &chamber),
        multipart(
            &csrf,
            kyc::CHAMBER_CERTIFICATE,
            Some("2025-11-20"),
            "camara.pdf",
            &chamber,
        ),
    );
    assert_eq!(
        upload(&base, &session, undated).await,
        "/dashboard/onboarding?refused=issued_on"
    );
    assert_eq!(
        upload(&base, &session, dated).await,
        "/dashboard/onboarding?done=uploaded"
    );
    // Executables named like PDFs (Windows MZ, Linux ELF) and an oversize file: refused.
    for exe in [
        &b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"[..],
        &b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00"[..],
    ] {
        let renamed = multipart(&csrf, "rut", None, "rut.pdf", exe);
        assert_eq!(
            upload(&base, &session, renamed).await,
            "/dashboard/onboarding?refused=file_type"
        );
    }
    let mut big = PDF.to_vec();
    big.resize(kyc::DOCUMENT_BYTES_MAX + 1, b' ');
    let oversize = upload(
        &base,
        &session,
        multipart(&csrf, "rut", None, "big.pdf", &big),
    )
    .await;
    assert_ne!(oversize, "/dashboard/onboarding?done=uploaded");
    let big_by_service = add(
        &app,
        merchant,
        kyc::Upload {
            kind: "rut".into(),
            file_name: "big.pdf".into(),
            content: big,
            issued_on: None,
        },
    )
    .await;
    assert!(
        matches!(big_by_service, Err(KycError::FileSize)),
        "{big_by_service:?}"
    );

    let state = &app.server.state;
    let kept = kyc::documents(&state.store, merchant).await.unwrap();
    assert_eq!(kept.len(), 2, "only the PDFs were kept: {kept:?}");
    let expected_storage = match storage {
        DocumentStorage::Database => "database",
        DocumentStorage::Filesystem => "file",
    };
    assert!(
        kept.iter().all(|d| d.storage == expected_storage),
        "{kept:?}"
    );
    let stored = files_in(&documents_dir);
    match storage {
        DocumentStorage::Database => assert!(stored.is_empty(), "{stored:?}"),
        DocumentStorage::Filesystem => {
            // One file per document, named after its id, never after the uploaded name.
            let mut names: Vec<String> = kept.iter().map(|d| format!("{}.pdf", d.id)).collect();
            names.sort();
            let on_disk: Vec<String> = stored
                .iter()
                .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
                .collect();
            assert_eq!(on_disk, names);
        }
    }
    let by_kind = |kind: &str| kept.iter().find(|d| d.kind == kind).unwrap().clone();
    let (rut_doc, chamber_doc) = (by_kind("rut"), by_kind(kyc::CHAMBER_CERTIFICATE));
    assert_eq!(chamber_doc.issued_on.as_deref(), Some("2025-11-20"));
    let download = |base: String, id: String, session: String| async move {
        get(
            &base,
            &session,
            &format!("/dashboard/onboarding/documents/{id}"),
        )
        .await
    };
    let fetched = download(base.clone(), rut_doc.id.clone(), session.clone()).await;
    assert_eq!(fetched.status(), StatusCode::OK);
    assert_eq!(fetched.bytes().await.unwrap().to_vec(), rut);
    // Another merchant's owner guessing the URL: not found (the service agrees).
    let (stranger, _, other) = owner_session(&app, "otra@example.co", "es-CO").await;
    let guessed = download(base.clone(), rut_doc.id.clone(), stranger.clone()).await;
    assert_eq!(guessed.status(), StatusCode::NOT_FOUND);
    assert!(
        kyc::document(&state.store, other, &rut_doc.id)
            .await
            .unwrap()
            .is_none()
    );

    // Restarted on the same database and configuration: the same session reads the same
    // bytes, and the stranger still reads nothing.
    app.server.stop().await.unwrap();
    let second = spawn(config, &clock).await;
    let app = TestApp::from_parts(second, clock.clone(), tempfile::tempdir().unwrap());
    let base = app.server.url();
    for (doc, bytes) in [(&rut_doc, &rut), (&chamber_doc, &chamber)] {
        let again = download(base.clone(), doc.id.clone(), session.clone()).await;
        assert_eq!(again.status(), StatusCode::OK, "{}", doc.id);
        assert_eq!(&again.bytes().await.unwrap().to_vec(), bytes);
    }
    let guessed = download(base.clone(), chamber_doc.id.clone(), stranger).await;
    assert_eq!(guessed.status(), StatusCode::NOT_FOUND);

    if storage == DocumentStorage::Filesystem {
        // An upload whose row is refused (the application was submitted meanwhile) leaves no
        // file behind.
        let state = &app.server.state;
        let (store, clock) = (&state.store, state.clock.as_ref());
        kyc::save(store, clock, merchant, complete()).await.unwrap();
        for kind in ["representative_id", "bank_certificate"] {
            add(&app, merchant, pdf_of(kind, None)).await.unwrap();
        }
        kyc::submit(store, clock, merchant, merchant_actor())
            .await
            .unwrap();
        let before = files_in(&documents_dir);
        assert_eq!(before.len(), 4);
        let late = upload(
            &base,
            &session,
            multipart(&csrf, "rut", None, "r.pdf", &rut),
        )
        .await;
        assert_eq!(late, "/dashboard/onboarding?refused=not_editable");
        assert_eq!(
            files_in(&documents_dir),
            before,
            "the orphan file was removed"
        );

        // A file changed on disk is refused (and logged), not served.
        let path = documents_dir.join(format!("{}.pdf", rut_doc.id));
        let mut changed = std::fs::read(&path).unwrap();
        if let Some(last) = changed.last_mut() {
            *last ^= 0x01;
        }
        std::fs::write(&path, &changed).unwrap();
        let tampered = download(base.clone(), rut_doc.id.clone(), session.clone()).await;
        assert_eq!(tampered.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(matches!(
            kyc::document(store, merchant, &rut_doc.id).await,
            Err(KycError::Tampered(id)) if id == rut_doc.id
        ));
        // A missing file is an error, not an empty document.
        std::fs::remove_file(documents_dir.join(format!("{}.pdf", chamber_doc.id))).unwrap();
        assert!(matches!(
            kyc::document(store, merchant, &chamber_doc.id).await,
            Err(KycError::DocumentFile(_))
        ));
    }
    app.server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_documents_in_the_database_survive_a_restart() {
    documents_survive_a_restart(Engine::Sqlite, DocumentStorage::Database).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_documents_as_files_survive_a_restart() {
    documents_survive_a_restart(Engine::Sqlite, DocumentStorage::Filesystem).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_documents_in_the_database_survive_a_restart() {
    documents_survive_a_restart(Engine::Postgres, DocumentStorage::Database).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_documents_as_files_survive_a_restart() {
    documents_survive_a_restart(Engine::Postgres, DocumentStorage::Filesystem).await;
}

// ---------------------------------------------------------------------------------------------
// E-mails to the owners
// ---------------------------------------------------------------------------------------------

fn relay(port: u16) -> cajero_server::alerts::config::SmtpConfig {
    cajero_server::alerts::config::SmtpConfig {
        host: "127.0.0.1".into(),
        port: Some(port),
        username: None,
        password: None,
        from: "cajero <no-reply@example.co>".into(),
        to: vec!["ops@example.co".into()],
        security: cajero_server::alerts::config::SmtpSecurity::None,
    }
}

/// A message's headers (unfolded) and its body decoded from its transfer encoding.
fn read_mail(raw: &str) -> (String, String) {
    let (headers, body) = raw.split_once("\n\n").unwrap_or((raw, ""));
    let headers = headers.replace("\n ", " ");
    let encoding = headers
        .lines()
        .find_map(|l| l.strip_prefix("Content-Transfer-Encoding: "))
        .unwrap_or("7bit")
        .trim()
        .to_ascii_lowercase();
    let bytes = match encoding.as_str() {
        "base64" => {
            use base64::Engine as _;
            let joined: String = body.split_whitespace().collect();
            base64::engine::general_purpose::STANDARD
                .decode(joined)
                .unwrap()
        }
        "quoted-printable" => {
            let text = body.replace("=\n", "");
            let mut out = Vec::new();
            let mut rest = text.as_bytes();
            while let Some((&b, tail)) = rest.split_first() {
                match (b, tail.get(..2)) {
                    (b'=', Some(hex)) => {
                        out.push(
                            u8::from_str_radix(std::str::from_utf8(hex).unwrap(), 16).unwrap(),
                        );
                        rest = &tail[2..];
                    }
                    _ => {
                        out.push(b);
                        rest = tail;
                    }
                }
            }
            out
        }
        _ => body.as_bytes().to_vec(),
    };
    (headers, String::from_utf8(bytes).unwrap())
}

/// The operator's steps reach the merchant's owners (not its developers) through the relay,
/// each in the owner's language (Spanish when never chosen), with the operator's questions;
/// a relay that fails or is missing changes nothing about the step.
async fn kyc_steps_are_emailed_to_the_owners_in_their_language(engine: Engine) {
    let sink = crate::alerts::SmtpSink::start().await;
    let port = sink.port;
    let start = Timestamp::from_second(START).unwrap();
    let Some(app) = crate::helpers::spawn_app_with(engine, start, move |config| {
        config.alerts.smtp = Some(relay(port));
        config.public_url = Some("https://pagos.example.co".into());
    })
    .await
    else {
        eprintln!("skipped: set CAJERO_TEST_POSTGRES_URL to run the PostgreSQL suite");
        return;
    };
    let state = &app.server.state;
    let (store, clock) = (&state.store, state.clock.as_ref());
    let (_, _, merchant) = owner_session(&app, "ana@example.co", "es-CO").await;
    for (email, role) in [
        ("li@example.co", users::Role::Owner),
        ("luis@example.co", users::Role::Owner),
        ("dev@example.co", users::Role::Developer),
    ] {
        users::create_user(store, clock, merchant, email, "Persona", role, PASSWORD)
            .await
            .unwrap();
    }
    set_locale(&app, "li@example.co", "zh-CN").await;
    kyc::save(store, clock, merchant, complete()).await.unwrap();
    add_all_documents(&app, merchant).await;
    kyc::submit(store, clock, merchant, merchant_actor())
        .await
        .unwrap();
    assert!(sink.messages().is_empty(), "a submission is not e-mailed");

    let question = "¿Cuál es la dirección de la bodega?";
    for (action, note) in [
        (KycAction::StartReview, None),
        (KycAction::RequestInfo, Some(question)),
    ] {
        kyc::decide_and_notify(state, merchant, action, note, operator())
            .await
            .unwrap();
    }
    let mails: Vec<(String, String)> = sink.messages().iter().map(|m| read_mail(m)).collect();
    assert_eq!(mails.len(), 6, "two steps, three owners: {mails:?}");
    let to = |email: &str| -> Vec<&(String, String)> {
        mails
            .iter()
            .filter(|(h, _)| h.lines().any(|l| l == format!("To: {email}")))
            .collect()
    };
    assert!(to("dev@example.co").is_empty(), "developers are not told");
    let es = cajero_server::web::i18n::Locale::Es.texts();
    let zh = cajero_server::web::i18n::Locale::Zh.texts();
    for (email, texts) in [
        ("ana@example.co", es),
        ("luis@example.co", es), // never chose a language: Spanish
        ("li@example.co", zh),
    ] {
        let theirs = to(email);
        assert_eq!(theirs.len(), 2, "{email}: {mails:?}");
        let (_, reviewing) = theirs[0];
        assert!(
            reviewing.contains(texts.get("kyc.mail_body_in_review")),
            "{reviewing}"
        );
        let (_, asked) = theirs[1];
        assert!(
            asked.contains(texts.get("kyc.mail_body_needs_info")),
            "{asked}"
        );
        assert!(asked.contains(question), "{email}: {asked}");
        assert!(
            asked.contains("https://pagos.example.co/dashboard/onboarding"),
            "{asked}"
        );
    }

    // A relay that refuses (nothing listens) or no relay at all: the step still happens.
    kyc::submit(store, clock, merchant, merchant_actor())
        .await
        .unwrap();
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut broken = state.clone();
    broken.config = Arc::new(Config {
        alerts: cajero_server::alerts::AlertsConfig {
            smtp: Some(relay(closed)),
            ..state.config.alerts.clone()
        },
        ..(*state.config).clone()
    });
    let approved = kyc::decide_and_notify(
        &broken,
        merchant,
        KycAction::Approve,
        Some("Completo"),
        operator(),
    )
    .await
    .unwrap();
    assert_eq!(approved.status, KycStatus::Approved);
    assert_eq!(
        kyc::notify_owners(&broken, &approved).await,
        kyc::Mailed {
            sent: 0,
            failed: 3,
            unsent: 0
        }
    );
    let mut silent = state.clone();
    silent.config = Arc::new(Config {
        alerts: cajero_server::alerts::AlertsConfig {
            smtp: None,
            ..state.config.alerts.clone()
        },
        ..(*state.config).clone()
    });
    assert_eq!(
        kyc::notify_owners(&silent, &approved).await,
        kyc::Mailed {
            sent: 0,
            failed: 0,
            unsent: 3
        }
    );
    assert_eq!(sink.messages().len(), 6, "nothing more reached the sink");
    app.server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_kyc_steps_are_emailed_to_the_owners_in_their_language() {
    kyc_steps_are_emailed_to_the_owners_in_their_language(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_kyc_steps_are_emailed_to_the_owners_in_their_language() {
    kyc_steps_are_emailed_to_the_owners_in_their_language(Engine::Postgres).await;
}
