//! The merchant's onboarding (KYC) page: the application as a form (owners edit it while it
//! is a draft or needs information; everyone else reads it), its documents (one upload form
//! per kind; the Cámara de Comercio certificate's with its issue date), what is missing, the
//! operator's questions, and the submission. The rules are the [`crate::kyc`] service's.

use askama::Template;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::Response;
use cajero_domain::kyc::{Application, COMPANY_TYPES, KycStatus, OWNERS_MAX, Person};
use serde::Deserialize;

use super::i18n::Texts;
use super::{Nav, SignedIn, bounded, csrf_ok, internal, message, redirect, render, when};
use crate::AppState;
use crate::kyc::{self, Actor, KycError, KycView};
use cajero_store::Micros;

/// Document types a person of the application may show.
const DOCUMENT_TYPES: [&str; 5] = ["CC", "CE", "PA", "PPT", "TI"];

/// One owner's row of the form.
#[derive(Debug, Default)]
struct OwnerRow {
    index: usize,
    name: String,
    document_type: String,
    document_number: String,
    nationality: String,
    share_pct: String,
}

#[derive(Template)]
#[template(path = "dashboard/onboarding.html")]
struct OnboardingPage {
    t: &'static Texts,
    nav: Nav,
    status: &'static str,
    status_key: &'static str,
    editable: bool,
    may_edit: bool,
    a: Application,
    owners: Vec<OwnerRow>,
    company_types: Vec<(&'static str, String)>,
    document_types: [&'static str; 5],
    /// Field label keys with a problem.
    problems: Vec<&'static str>,
    questions: Option<String>,
    decision: Option<String>,
    submitted: String,
    notice: Option<&'static str>,
    documents: Vec<DocumentLine>,
    /// One upload form per kind: (kind, its label key, whether it asks for an issue date).
    document_kinds: Vec<(&'static str, String, bool)>,
    may_read_documents: bool,
    /// Today in Bogotá (`YYYY-MM-DD`): the latest issue date a certificate may have.
    today: String,
    /// The earliest issue date a certificate may have today.
    oldest_issued_on: String,
}

/// A document on the page.
#[derive(Debug)]
struct DocumentLine {
    id: String,
    kind: String,
    file_name: String,
    size_kib: i64,
    sha256: String,
    when: String,
    /// A certificate's issue date; empty for the other kinds.
    issued_on: String,
}

fn status_key(s: KycStatus) -> &'static str {
    match s {
        KycStatus::Draft => "kyc.status_draft",
        KycStatus::Submitted => "kyc.status_submitted",
        KycStatus::InReview => "kyc.status_in_review",
        KycStatus::Approved => "kyc.status_approved",
        KycStatus::Rejected => "kyc.status_rejected",
        KycStatus::NeedsInfo => "kyc.status_needs_info",
    }
}

/// The label of a problem's field (`owners.1.share_bps` → the owners' share label).
fn field_key(field: &str) -> &'static str {
    let last = field.rsplit('.').next().unwrap_or(field);
    match (field.split('.').next().unwrap_or(""), last) {
        ("legal_name", _) => "kyc.legal_name",
        ("nit", _) => "kyc.nit",
        ("company_type", _) => "kyc.company_type",
        ("address", _) => "kyc.address",
        ("municipality", _) => "kyc.municipality",
        ("representative", _) => "kyc.representative",
        ("owners", _) => "kyc.owners",
        ("monthly_payins_cop" | "average_payin_cop", _) => "kyc.payins",
        ("monthly_payouts_cop" | "average_payout_cop", _) => "kyc.payouts",
        ("activity", _) => "kyc.activity",
        ("website", _) => "kyc.website",
        ("documents", "issued_on") => "kyc.chamber_age",
        ("documents", "rut") => "kyc.doc_rut",
        ("documents", "chamber_certificate") => "kyc.doc_chamber_certificate",
        ("documents", "representative_id") => "kyc.doc_representative_id",
        ("documents", "bank_certificate") => "kyc.doc_bank_certificate",
        _ => "kyc.application",
    }
}

/// What the page shows besides the application.
struct Shown {
    documents: Vec<kyc::Document>,
    notice: Option<&'static str>,
    today: jiff::civil::Date,
}

fn page(signed: &SignedIn, v: KycView, shown: Shown, status: StatusCode) -> Response {
    let Shown {
        documents,
        notice,
        today,
    } = shown;
    let t = signed.locale.texts();
    let mut owners: Vec<OwnerRow> = v
        .application
        .owners
        .iter()
        .enumerate()
        .map(|(index, o)| OwnerRow {
            index,
            name: o.name.clone(),
            document_type: o.document_type.clone(),
            document_number: o.document_number.clone(),
            nationality: o.nationality.clone(),
            share_pct: o
                .share_bps
                .map(|b| format!("{}", f64::from(b) / 100.0))
                .unwrap_or_default(),
        })
        .collect();
    while owners.len() < OWNERS_MAX {
        owners.push(OwnerRow {
            index: owners.len(),
            ..OwnerRow::default()
        });
    }
    let mut problems: Vec<&'static str> = v.problems.iter().map(|p| field_key(&p.field)).collect();
    problems.dedup();
    render(
        status,
        &OnboardingPage {
            t,
            nav: Nav::of(&signed.session),
            status: v.status.as_str(),
            status_key: status_key(v.status),
            editable: v.status.editable(),
            may_edit: signed.session.role.may_manage_users(),
            owners,
            company_types: COMPANY_TYPES
                .iter()
                .map(|c| (*c, format!("kyc.company_{c}")))
                .collect(),
            document_types: DOCUMENT_TYPES,
            problems,
            questions: v.questions,
            decision: v.decision_reason,
            submitted: v
                .submitted_at
                .map(|at| when(&signed.session, Micros(at).to_timestamp()))
                .unwrap_or_default(),
            a: v.application,
            notice,
            documents: documents
                .into_iter()
                .map(|d| DocumentLine {
                    id: d.id,
                    kind: format!("kyc.doc_{}", d.kind),
                    file_name: d.file_name,
                    size_kib: (d.size + 1023) / 1024,
                    sha256: d.sha256.chars().take(16).collect(),
                    when: when(&signed.session, Micros(d.created_at).to_timestamp()),
                    issued_on: d.issued_on.unwrap_or_default(),
                })
                .collect(),
            document_kinds: kyc::DOCUMENT_KINDS
                .iter()
                .map(|k| (*k, format!("kyc.doc_{k}"), *k == kyc::CHAMBER_CERTIFICATE))
                .collect(),
            may_read_documents: signed.session.role.may_manage_users(),
            today: today.to_string(),
            oldest_issued_on: kyc::oldest_certificate_date(today).to_string(),
        },
    )
}

/// The page with the merchant's current application and documents.
async fn current(
    state: &AppState,
    signed: &SignedIn,
    notice: Option<&'static str>,
    status: StatusCode,
) -> Response {
    let merchant = signed.session.merchant_id;
    let clock = state.clock.as_ref();
    let found = match kyc::show_with_documents(&state.store, clock, merchant).await {
        Ok(v) => v,
        Err(e) => return internal(signed.locale, e),
    };
    match kyc::documents(&state.store, merchant).await {
        Ok(documents) => {
            let shown = Shown {
                documents,
                notice,
                today: kyc::today(clock),
            };
            page(signed, found, shown, status)
        }
        Err(e) => internal(signed.locale, e),
    }
}

/// `GET /dashboard/onboarding`.
pub(super) async fn onboarding_page(
    signed: SignedIn,
    State(state): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<super::actions::Outcome>,
) -> Response {
    let notice = match (q.done.as_deref(), q.refused.as_deref()) {
        (Some("saved"), _) => Some("kyc.saved"),
        (Some("submitted"), _) => Some("kyc.submitted"),
        (Some("uploaded"), _) => Some("kyc.uploaded"),
        (_, Some("file_type")) => Some("kyc.file_type"),
        (_, Some("file_size")) => Some("kyc.file_size"),
        (_, Some("document_kind")) => Some("kyc.document_kind"),
        (_, Some("issued_on")) => Some("kyc.issued_on_refused"),
        (_, Some("certificate_too_old")) => Some("kyc.certificate_too_old"),
        (_, Some("not_editable")) => Some("kyc.not_editable"),
        _ => None,
    };
    current(&state, &signed, notice, StatusCode::OK).await
}

/// The form, as posted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct OnboardingForm {
    csrf: String,
    intent: String,
    legal_name: String,
    nit: String,
    company_type: String,
    address: String,
    municipality: String,
    rep_name: String,
    rep_document_type: String,
    rep_document_number: String,
    rep_nationality: String,
    owner0_name: String,
    owner0_document_type: String,
    owner0_document_number: String,
    owner0_nationality: String,
    owner0_share_pct: String,
    owner1_name: String,
    owner1_document_type: String,
    owner1_document_number: String,
    owner1_nationality: String,
    owner1_share_pct: String,
    owner2_name: String,
    owner2_document_type: String,
    owner2_document_number: String,
    owner2_nationality: String,
    owner2_share_pct: String,
    owner3_name: String,
    owner3_document_type: String,
    owner3_document_number: String,
    owner3_nationality: String,
    owner3_share_pct: String,
    monthly_payins_cop: String,
    average_payin_cop: String,
    monthly_payouts_cop: String,
    average_payout_cop: String,
    activity: String,
    website: String,
}

/// Whole pesos as typed (`50.000.000`, `$ 80,000`): digits only; nothing or junk is 0 and
/// shows as a problem where 0 is not allowed.
fn pesos(text: &str) -> i64 {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    digits.parse().unwrap_or(0)
}

/// A share typed as a percentage (`25`, `33,5`) in basis points.
fn share_bps(text: &str) -> Option<u32> {
    let text = text.trim().replace(',', ".");
    if text.is_empty() {
        return None;
    }
    let pct: f64 = text.parse().ok()?;
    // Whole basis points; 0–100 % (the rules say what is too little).
    (0.0..=100.0)
        .contains(&pct)
        .then(|| (pct * 100.0).round() as u32)
}

fn person(name: &str, kind: &str, number: &str, nationality: &str, share: Option<u32>) -> Person {
    Person {
        name: bounded(name).trim().to_owned(),
        document_type: bounded(kind).trim().to_owned(),
        document_number: bounded(number).trim().to_owned(),
        nationality: bounded(nationality).trim().to_uppercase(),
        share_bps: share,
    }
}

impl OnboardingForm {
    fn application(&self) -> Application {
        let f = |s: &str| bounded(s).trim().to_owned();
        let owner_fields = [
            (
                &self.owner0_name,
                &self.owner0_document_type,
                &self.owner0_document_number,
                &self.owner0_nationality,
                &self.owner0_share_pct,
            ),
            (
                &self.owner1_name,
                &self.owner1_document_type,
                &self.owner1_document_number,
                &self.owner1_nationality,
                &self.owner1_share_pct,
            ),
            (
                &self.owner2_name,
                &self.owner2_document_type,
                &self.owner2_document_number,
                &self.owner2_nationality,
                &self.owner2_share_pct,
            ),
            (
                &self.owner3_name,
                &self.owner3_document_type,
                &self.owner3_document_number,
                &self.owner3_nationality,
                &self.owner3_share_pct,
            ),
        ];
        let owners = owner_fields
            .into_iter()
            // A row left empty is no owner.
            .filter(|(name, _, number, _, share)| {
                !(name.trim().is_empty() && number.trim().is_empty() && share.trim().is_empty())
            })
            .map(|(name, kind, number, nationality, share)| {
                // A share that is not a number counts as none (a problem the rules name).
                person(name, kind, number, nationality, share_bps(share))
            })
            .collect();
        Application {
            legal_name: f(&self.legal_name),
            nit: f(&self.nit),
            company_type: f(&self.company_type),
            address: f(&self.address),
            municipality: f(&self.municipality),
            representative: person(
                &self.rep_name,
                &self.rep_document_type,
                &self.rep_document_number,
                &self.rep_nationality,
                None,
            ),
            owners,
            monthly_payins_cop: pesos(&self.monthly_payins_cop),
            average_payin_cop: pesos(&self.average_payin_cop),
            monthly_payouts_cop: pesos(&self.monthly_payouts_cop),
            average_payout_cop: pesos(&self.average_payout_cop),
            activity: f(&self.activity),
            website: f(&self.website),
        }
    }
}

/// `POST /dashboard/onboarding`: saves the application, and submits it when asked to.
pub(super) async fn save_onboarding(
    signed: SignedIn,
    State(state): State<AppState>,
    Form(form): Form<OnboardingForm>,
) -> Response {
    let locale = signed.locale;
    if !csrf_ok(&signed.session.row.csrf_token, &form.csrf) {
        return message(StatusCode::FORBIDDEN, locale, "error.csrf");
    }
    if !signed.session.role.may_manage_users() {
        return message(StatusCode::FORBIDDEN, locale, "error.forbidden");
    }
    let merchant = signed.session.merchant_id;
    let (store, clock) = (&state.store, state.clock.as_ref());
    let saved = match kyc::save(store, clock, merchant, form.application()).await {
        Ok(v) => v,
        Err(KycError::NotEditable(_)) => {
            return current(
                &state,
                &signed,
                Some("kyc.not_editable"),
                StatusCode::CONFLICT,
            )
            .await;
        }
        Err(e) => return internal(locale, e),
    };
    if form.intent != "submit" {
        return redirect("/dashboard/onboarding?done=saved");
    }
    let actor = Actor {
        user_id: Some(signed.session.user.id.clone()),
        name: signed.session.user.email.clone(),
        ip: signed.request.origin.ip.clone(),
    };
    // The lists in force, reread if a newer one was loaded (an instance's copy may be a minute
    // old); without them the submission records that it was not screened.
    if let Err(e) = state.sanctions.refresh(store, false).await {
        tracing::error!(error = %e, "reading the sanctions lists failed; screening with the copy in memory");
    }
    match kyc::submit_screened(store, clock, state.screening.clone(), merchant, actor).await {
        Ok(_) => redirect("/dashboard/onboarding?done=submitted"),
        Err(KycError::Incomplete(_)) => {
            let _ = saved;
            current(
                &state,
                &signed,
                Some("kyc.incomplete"),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => internal(locale, e),
    }
}

/// `POST /dashboard/onboarding/documents` (multipart: `csrf`, `kind`, a Cámara de Comercio
/// certificate's `issued_on` (`YYYY-MM-DD`), then `file`): owners upload a document while the
/// application can be changed. Its own body limit ([`kyc::DOCUMENT_BYTES_MAX`] and the form's
/// overhead).
pub(crate) async fn upload(
    signed: SignedIn,
    State(state): State<AppState>,
    mut form: axum::extract::Multipart,
) -> Response {
    let locale = signed.locale;
    let (mut csrf, mut kind, mut issued_on, mut file) =
        (String::new(), String::new(), String::new(), None);
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return redirect("/dashboard/onboarding?refused=file_size");
            }
            Err(_) => return message(StatusCode::BAD_REQUEST, locale, "error.csrf"),
        };
        match field.name().unwrap_or("") {
            "csrf" => csrf = field.text().await.unwrap_or_default(),
            "kind" => kind = field.text().await.unwrap_or_default(),
            "issued_on" => issued_on = field.text().await.unwrap_or_default(),
            "file" => {
                // CSRF first: nothing of an unchecked form is read into memory.
                if !csrf_ok(&signed.session.row.csrf_token, &csrf) {
                    return message(StatusCode::FORBIDDEN, locale, "error.csrf");
                }
                let name = field.file_name().unwrap_or("").to_owned();
                match field.bytes().await {
                    Ok(bytes) => file = Some((name, bytes.to_vec())),
                    Err(_) => return redirect("/dashboard/onboarding?refused=file_size"),
                }
            }
            _ => {}
        }
    }
    if !csrf_ok(&signed.session.row.csrf_token, &csrf) {
        return message(StatusCode::FORBIDDEN, locale, "error.csrf");
    }
    if !signed.session.role.may_manage_users() {
        return message(StatusCode::FORBIDDEN, locale, "error.forbidden");
    }
    let Some((name, content)) = file else {
        return redirect("/dashboard/onboarding?refused=file_size");
    };
    let actor = Actor {
        user_id: Some(signed.session.user.id.clone()),
        name: signed.session.user.email.clone(),
        ip: signed.request.origin.ip.clone(),
    };
    let upload = kyc::Upload {
        kind: bounded(&kind).trim().to_owned(),
        file_name: name,
        content,
        // Not a date (or none): the service refuses a certificate without one.
        issued_on: bounded(&issued_on).trim().parse().ok(),
    };
    let added = kyc::add_document(
        &state.store,
        state.clock.as_ref(),
        &state.config.kyc,
        signed.session.merchant_id,
        upload,
        actor,
    )
    .await;
    let refused = match added {
        Ok(_) => return redirect("/dashboard/onboarding?done=uploaded"),
        Err(KycError::FileType) => "file_type",
        Err(KycError::FileSize) => "file_size",
        Err(KycError::DocumentKind) => "document_kind",
        Err(KycError::NotEditable(_)) => "not_editable",
        Err(KycError::IssuedOn { .. }) => "issued_on",
        Err(KycError::CertificateTooOld { .. }) => "certificate_too_old",
        Err(e) => return internal(locale, e),
    };
    redirect(&format!("/dashboard/onboarding?refused={refused}"))
}

/// `GET /dashboard/onboarding/documents/{id}`: the merchant's owners download a document
/// (never shown inline, never to another merchant).
pub(super) async fn download(
    signed: SignedIn,
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    let locale = signed.locale;
    if !signed.session.role.may_manage_users() {
        return message(StatusCode::FORBIDDEN, locale, "error.forbidden");
    }
    match kyc::document(&state.store, signed.session.merchant_id, bounded(&id)).await {
        Ok(Some((d, content))) => {
            use axum::response::IntoResponse as _;
            super::harden(
                (
                    [
                        (axum::http::header::CONTENT_TYPE, d.content_type.clone()),
                        (
                            axum::http::header::CONTENT_DISPOSITION,
                            format!(
                                "attachment; filename=\"{}.{}\"",
                                d.id,
                                kyc::extension(&d.content_type)
                            ),
                        ),
                    ],
                    content,
                )
                    .into_response(),
            )
        }
        Ok(None) => message(StatusCode::NOT_FOUND, locale, "error.not_found"),
        Err(e) => internal(locale, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_pesos_read_as_people_type_them() {
        assert_eq!(share_bps("25"), Some(2_500));
        assert_eq!(share_bps("33,5"), Some(3_350));
        assert_eq!(share_bps(" "), None);
        assert_eq!(share_bps("120"), None);
        assert_eq!(share_bps("much"), None);
        assert_eq!(pesos("$ 50.000.000"), 50_000_000);
        assert_eq!(pesos(""), 0);
    }

    #[test]
    fn documents_are_known_by_their_first_bytes_not_their_names() {
        assert_eq!(kyc::sniff(b"%PDF-1.7\n"), Some("application/pdf"));
        assert_eq!(kyc::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(
            kyc::sniff(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0]),
            Some("image/png")
        );
        assert_eq!(kyc::sniff(b"MZ\x90\x00"), None);
        assert_eq!(kyc::sniff(b""), None);
        for locale in super::super::i18n::Locale::ALL {
            for k in kyc::DOCUMENT_KINDS {
                assert!(locale.texts().has(&format!("kyc.doc_{k}")), "{k}");
            }
        }
    }

    #[test]
    fn every_problem_field_has_a_label_in_every_language() {
        let fields = [
            "legal_name",
            "nit",
            "company_type",
            "address",
            "municipality",
            "representative.name",
            "owners.2.share_bps",
            "monthly_payins_cop",
            "average_payout_cop",
            "activity",
            "website",
            "documents.rut",
            "documents.chamber_certificate",
            "documents.chamber_certificate.issued_on",
            "documents.representative_id",
            "documents.bank_certificate",
            "something_else",
        ];
        for locale in super::super::i18n::Locale::ALL {
            for field in fields {
                assert!(locale.texts().has(field_key(field)), "{field}");
            }
            for c in COMPANY_TYPES {
                assert!(locale.texts().has(&format!("kyc.company_{c}")), "{c}");
            }
            for s in KycStatus::ALL {
                assert!(locale.texts().has(status_key(s)), "{s}");
            }
        }
    }
}
