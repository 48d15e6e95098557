//! Onboarding (KYC): the merchant fills in its application, uploads its documents and
//! submits it; an operator reviews it and approves, rejects or asks for more information.
//! Approval makes the merchant `active` — the state in which live keys can be created and live
//! cash moves — in the same unit of work. Every step is evented (`merchant.kyc.*`, in both
//! modes, so that any of the merchant's endpoints hears of it) and audited; the operator's
//! steps are e-mailed to the merchant's owners after they commit ([`decide_and_notify`]).
//!
//! Documents are kept in the database or as files (`[kyc]`, [`crate::config::KycConfig`]);
//! either way every read checks the SHA-256 recorded at upload. An application is submitted
//! only with each kind of document uploaded and a Cámara de Comercio certificate issued at
//! most [`CHAMBER_CERTIFICATE_AGE_DAYS_MAX`] days before (Bogotá calendar days), checked again
//! at approval.
//!
//! Screening of the company, its representative and its owners belongs to the risk issue;
//! until it lands every submission records `not_screened`.
//!
//! The application's rules (what a complete application is, which step follows which) are
//! `cajero_domain::kyc`; this module runs them against the store.

use std::path::PathBuf;

use cajero_domain::calendar::bogota_date;
use cajero_domain::id::{EventId, MerchantId};
use cajero_domain::kyc::{self, Application, KycAction, KycStatus, Problem};
use cajero_domain::merchant::MerchantStatus;
use cajero_domain::webhook::EventType;
use cajero_store::dashboard::{self, AuditRow};
use cajero_store::kyc::{self as rows, DocumentContent, KycRow, Step, files};
use cajero_store::{Conn, Micros, Store, StoreError, events, merchants};
use jiff::civil::Date;
use serde::Serialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::clock::{Clock, new_id};
use crate::config::{DocumentStorage, KycConfig};

/// What a screening records until the risk issue's sanctions screening lands.
pub const NOT_SCREENED: &str = "not_screened";

/// Screens a submitted application's company, representative and owners (sanctions lists),
/// answering what is recorded with the submission (`screening`, also in the
/// `merchant.kyc.*` events). The risk issue's sanctions screening plugs in here
/// ([`crate::AppState::screening`]); until it lands, [`NotScreened`] records
/// [`NOT_SCREENED`].
pub trait Screening: Send + Sync + std::fmt::Debug {
    /// The outcome to record for `application` (at most 200 characters, no personal data:
    /// it goes out in events).
    fn screen(&self, application: &Application) -> String;
}

/// No screening: every submission records [`NOT_SCREENED`].
#[derive(Debug, Clone, Copy, Default)]
pub struct NotScreened;

impl Screening for NotScreened {
    fn screen(&self, _application: &Application) -> String {
        NOT_SCREENED.to_owned()
    }
}
/// Longest operator's reason or questions.
pub const NOTE_CHARS_MAX: usize = 2_000;
/// Applications listed per status in the review queue.
pub const QUEUE_MAX: i64 = 200;

/// Largest document accepted: 10 MiB.
pub const DOCUMENT_BYTES_MAX: usize = 10 * 1024 * 1024;
/// The Cámara de Comercio certificate's kind.
pub const CHAMBER_CERTIFICATE: &str = "chamber_certificate";
/// The documents an application asks for (each at least once before it is submitted).
pub const DOCUMENT_KINDS: [&str; 4] = [
    "rut",
    CHAMBER_CERTIFICATE,
    "representative_id",
    "bank_certificate",
];
/// Documents a merchant may hold (a replacement is a new upload; the old ones stay as
/// evidence).
pub const DOCUMENTS_MAX: i64 = 40;
/// Oldest a Cámara de Comercio certificate may be, in Bogotá calendar days from its issue
/// date (fecha de expedición), when the application is submitted and when it is approved:
/// the "no more than 30 days" Colombian banks and payment companies ask of it.
pub const CHAMBER_CERTIFICATE_AGE_DAYS_MAX: i32 = 30;

/// The content type of a document, read from its first bytes (PDF, JPEG, PNG), or `None`.
pub fn sniff(content: &[u8]) -> Option<&'static str> {
    if content.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if content.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if content.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else {
        None
    }
}

/// The usual extension of a document's content type.
pub fn extension(content_type: &str) -> &'static str {
    match content_type {
        "application/pdf" => "pdf",
        "image/png" => "png",
        _ => "jpg",
    }
}

/// A document as listed (its content is read only to be served).
pub type Document = rows::DocumentRow;

/// A document as the merchant uploads it.
#[derive(Debug, Clone)]
pub struct Upload {
    /// One of [`DOCUMENT_KINDS`].
    pub kind: String,
    /// The uploaded file's name: shown only, never used to store it.
    pub file_name: String,
    /// The bytes.
    pub content: Vec<u8>,
    /// A Cámara de Comercio certificate's issue date (required for that kind, ignored for the
    /// others).
    pub issued_on: Option<Date>,
}

/// Today in Bogotá, the calendar certificates are dated in.
pub fn today(clock: &dyn Clock) -> Date {
    bogota_date(clock.now())
}

/// The oldest issue date a Cámara de Comercio certificate may have on `today`.
pub fn oldest_certificate_date(today: Date) -> Date {
    today
        .checked_sub(jiff::Span::new().days(CHAMBER_CERTIFICATE_AGE_DAYS_MAX))
        .unwrap_or(Date::MIN)
}

/// The issue date kept with an upload of `kind`: required, not after `today` and recent
/// enough for a Cámara de Comercio certificate; none for the other kinds.
fn issued_on_for(
    kind: &str,
    issued_on: Option<Date>,
    today: Date,
) -> Result<Option<Date>, KycError> {
    if kind != CHAMBER_CERTIFICATE {
        return Ok(None);
    }
    let issued_on = issued_on
        .filter(|d| *d <= today)
        .ok_or(KycError::IssuedOn { today })?;
    let oldest = oldest_certificate_date(today);
    if issued_on < oldest {
        return Err(KycError::CertificateTooOld {
            issued_on,
            today,
            oldest,
        });
    }
    Ok(Some(issued_on))
}

/// What keeps the documents from allowing a submission (or an approval) on `today`: a kind
/// never uploaded, and the newest Cámara de Comercio certificate (the last uploaded) without
/// an issue date or issued more than [`CHAMBER_CERTIFICATE_AGE_DAYS_MAX`] days before.
pub fn document_problems(
    kinds_uploaded: &[String],
    newest_certificate: Option<&Document>,
    today: Date,
) -> Vec<Problem> {
    let mut problems: Vec<Problem> = DOCUMENT_KINDS
        .iter()
        .filter(|k| !kinds_uploaded.iter().any(|u| u == *k))
        .map(|k| Problem {
            field: format!("documents.{k}"),
            message: "upload it (PDF, JPEG or PNG)".into(),
        })
        .collect();
    let Some(certificate) = newest_certificate else {
        return problems;
    };
    let field = format!("documents.{CHAMBER_CERTIFICATE}.issued_on");
    let oldest = oldest_certificate_date(today);
    match certificate.issued_on.as_deref().map(str::parse::<Date>) {
        Some(Ok(issued_on)) if issued_on >= oldest => {}
        Some(Ok(issued_on)) => problems.push(Problem {
            field,
            message: format!(
                "the Cámara de Comercio certificate was issued on {issued_on}, more than \
                 {CHAMBER_CERTIFICATE_AGE_DAYS_MAX} days before {today} (Bogotá): upload one \
                 issued on or after {oldest}"
            ),
        }),
        None | Some(Err(_)) => problems.push(Problem {
            field,
            message: "the Cámara de Comercio certificate has no issue date: upload it again \
                      with its fecha de expedición"
                .into(),
        }),
    }
    problems
}

/// The document problems of `merchant` on `today`, in the caller's unit of work.
async fn documents_in_order(
    c: &mut Conn<'_>,
    merchant: &str,
    today: Date,
) -> Result<Vec<Problem>, StoreError> {
    let kinds = rows::document_kinds(c, merchant).await?;
    let certificate = rows::newest_document(c, merchant, CHAMBER_CERTIFICATE).await?;
    Ok(document_problems(&kinds, certificate.as_ref(), today))
}

/// The file a document is kept in: named after its id (never the uploaded name).
fn file_name_of(d: &Document) -> String {
    format!("{}.{}", d.id, extension(&d.content_type))
}

/// Stores a document of the merchant's application: checked by content and size (and a
/// certificate by its issue date), hashed, kept where `config` says, audited. Only while the
/// application can be changed.
///
/// A file is written (whole, durably) before its row commits; when the row does not commit
/// the file is removed, so no file outlives its upload's refusal (a crash in between leaves a
/// file no row names, which is never served).
pub async fn add_document(
    store: &Store,
    clock: &dyn Clock,
    config: &KycConfig,
    merchant: MerchantId,
    upload: Upload,
    actor: Actor,
) -> Result<Document, KycError> {
    let kind = DOCUMENT_KINDS
        .iter()
        .copied()
        .find(|k| *k == upload.kind)
        .ok_or(KycError::DocumentKind)?;
    let content = upload.content;
    if content.is_empty() || content.len() > DOCUMENT_BYTES_MAX {
        return Err(KycError::FileSize);
    }
    let content_type = sniff(&content).ok_or(KycError::FileType)?;
    let issued_on = issued_on_for(kind, upload.issued_on, today(clock))?;
    let name: String = upload
        .file_name
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let now = Micros::from(clock.now()).0;
    let row = Document {
        id: new_id::<cajero_domain::id::KycDocument>(clock).to_string(),
        merchant_id: merchant.to_string(),
        kind: kind.to_owned(),
        file_name: name,
        content_type: content_type.to_owned(),
        size: i64::try_from(content.len()).unwrap_or(i64::MAX),
        sha256: sha256_hex(&content),
        uploaded_by: actor.name.clone(),
        created_at: now,
        storage: match config.documents {
            DocumentStorage::Database => rows::STORAGE_DATABASE,
            DocumentStorage::Filesystem => rows::STORAGE_FILE,
        }
        .to_owned(),
        issued_on: issued_on.map(|d| d.to_string()),
    };
    let audit = AuditRow {
        id: new_id::<cajero_domain::id::Audit>(clock).to_string(),
        merchant_id: Some(row.merchant_id.clone()),
        user_id: actor.user_id.clone(),
        actor: actor.name.clone(),
        action: "merchant.kyc.document_added".into(),
        object_id: Some(format!("{} {} {}", row.id, row.kind, row.sha256)),
        ip: actor.ip.clone(),
        at: now,
    };
    let (stored, file) = match config.documents {
        DocumentStorage::Database => (DocumentContent::Database(content), None),
        DocumentStorage::Filesystem => {
            let dir = config.documents_dir.clone().ok_or_else(|| {
                KycError::DocumentFile("kyc.documents_dir is not configured".into())
            })?;
            let path = write_file(dir, file_name_of(&row), content).await?;
            let text = path.to_str().map(str::to_owned).ok_or_else(|| {
                KycError::DocumentFile("the documents directory's path is not UTF-8".into())
            })?;
            (DocumentContent::File(text), Some(path))
        }
    };
    let inserted = row.clone();
    let written = store
        .write(move |mut c| {
            Box::pin(async move {
                known_merchant(&mut c, merchant).await?;
                let id = merchant.to_string();
                let status = view(merchant, rows::get(&mut c, &id).await?)?.status;
                if !status.editable() {
                    return Err(KycError::NotEditable(status));
                }
                if i64::try_from(rows::documents(&mut c, &id, DOCUMENTS_MAX).await?.len())
                    .unwrap_or(i64::MAX)
                    >= DOCUMENTS_MAX
                {
                    return Err(KycError::FileSize);
                }
                rows::insert_document(&mut c, &inserted, stored).await?;
                dashboard::insert_audit(&mut c, &audit).await?;
                Ok(())
            })
        })
        .await;
    if written.is_err()
        && let Some(path) = file
    {
        discard_orphan(store, &row.id, path).await;
    }
    written.map(|()| row)
}

fn sha256_hex(content: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(content)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes a document's file off the async threads (fsyncs take a while).
async fn write_file(dir: PathBuf, name: String, content: Vec<u8>) -> Result<PathBuf, KycError> {
    tokio::task::spawn_blocking(move || files::write(&dir, &name, &content))
        .await
        .map_err(|e| KycError::DocumentFile(e.to_string()))?
        .map_err(|e| KycError::DocumentFile(e.to_string()))
}

/// Removes the file of an upload whose row did not commit, unless a row names it after all
/// (a commit whose answer was lost).
async fn discard_orphan(store: &Store, id: &str, path: PathBuf) {
    let key = id.to_owned();
    let named = store
        .read(move |mut c| Box::pin(async move { rows::document_exists(&mut c, &key).await }))
        .await;
    match named {
        Ok(false) => {}
        Ok(true) => return,
        Err(error) => {
            tracing::warn!(document = %id, %error,
                "cannot tell whether a KYC document's row committed: its file is kept");
            return;
        }
    }
    let shown = path.display().to_string();
    match tokio::task::spawn_blocking(move || files::remove(&path)).await {
        Ok(Ok(())) => {
            tracing::info!(document = %id, "removed the file of a KYC upload that did not commit");
        }
        Ok(Err(error)) => tracing::warn!(document = %id, path = %shown, %error,
            "the file of a KYC upload that did not commit could not be removed"),
        Err(error) => tracing::warn!(document = %id, path = %shown, %error,
            "the file of a KYC upload that did not commit could not be removed"),
    }
}

/// The merchant's documents, newest first.
pub async fn documents(store: &Store, merchant: MerchantId) -> Result<Vec<Document>, KycError> {
    let id = merchant.to_string();
    Ok(store
        .read(move |mut c| {
            Box::pin(async move { rows::documents(&mut c, &id, DOCUMENTS_MAX).await })
        })
        .await?)
}

/// One of the merchant's documents with its content (`None`: not the merchant's), wherever it
/// is kept. Content that no longer matches the SHA-256 recorded at upload (a file changed or
/// damaged on disk, a row edited) is refused and logged, never served.
pub async fn document(
    store: &Store,
    merchant: MerchantId,
    id: &str,
) -> Result<Option<(Document, Vec<u8>)>, KycError> {
    let (merchant, id) = (merchant.to_string(), id.to_owned());
    let found = store
        .read(move |mut c| Box::pin(async move { rows::document(&mut c, &merchant, &id).await }))
        .await?;
    let Some((row, stored)) = found else {
        return Ok(None);
    };
    let content = match stored {
        DocumentContent::Database(bytes) => bytes,
        DocumentContent::File(path) => read_file(&row, PathBuf::from(path)).await?,
    };
    let size = i64::try_from(content.len()).unwrap_or(i64::MAX);
    if size != row.size || sha256_hex(&content) != row.sha256 {
        tracing::error!(document = %row.id, merchant = %row.merchant_id, storage = %row.storage,
            "a KYC document does not match the SHA-256 recorded at upload: refused");
        return Err(KycError::Tampered(row.id));
    }
    Ok(Some((row, content)))
}

/// Reads a document's file: only the one named after it, at most [`DOCUMENT_BYTES_MAX`].
async fn read_file(row: &Document, path: PathBuf) -> Result<Vec<u8>, KycError> {
    let expected = file_name_of(row);
    if path.file_name().and_then(|n| n.to_str()) != Some(expected.as_str()) {
        tracing::error!(document = %row.id, merchant = %row.merchant_id,
            "a KYC document's row names a file not named after it: refused");
        return Err(KycError::Tampered(row.id.clone()));
    }
    let bytes_max = u64::try_from(DOCUMENT_BYTES_MAX).unwrap_or(u64::MAX);
    let read = tokio::task::spawn_blocking(move || files::read(&path, bytes_max)).await;
    match read {
        Ok(Ok(content)) => Ok(content),
        Ok(Err(error)) => {
            tracing::error!(document = %row.id, merchant = %row.merchant_id, %error,
                "a KYC document's file cannot be read");
            Err(KycError::DocumentFile(format!(
                "document {}: {error}",
                row.id
            )))
        }
        Err(error) => Err(KycError::DocumentFile(error.to_string())),
    }
}

/// Why a KYC step was refused.
#[derive(Debug, thiserror::Error)]
pub enum KycError {
    /// No such merchant.
    #[error("no such merchant: {0}")]
    UnknownMerchant(String),
    /// The application cannot be changed in its state.
    #[error(
        "the KYC application is {0}: it can be changed only as a draft or when more information was asked for"
    )]
    NotEditable(KycStatus),
    /// The application is not complete.
    #[error("the KYC application is not complete: {}", summary(.0))]
    Incomplete(Vec<Problem>),
    /// The step does not follow from the application's state.
    #[error(transparent)]
    Transition(#[from] kyc::KycTransitionError),
    /// A decision without its reason (or a request without its questions).
    #[error("{0} needs a reason of 1 to {NOTE_CHARS_MAX} characters")]
    ReasonRequired(&'static str),
    /// An upload that is not a PDF, JPEG or PNG by its content (whatever its name says).
    #[error("a document must be a PDF, JPEG or PNG file (its content is checked, not its name)")]
    FileType,
    /// An upload larger than [`DOCUMENT_BYTES_MAX`], or empty.
    #[error("a document must hold 1 byte to {} MiB", DOCUMENT_BYTES_MAX / (1024 * 1024))]
    FileSize,
    /// A document kind the application does not ask for.
    #[error("a document is one of: {}", DOCUMENT_KINDS.join(", "))]
    DocumentKind,
    /// A Cámara de Comercio certificate without its issue date, or dated after today.
    #[error(
        "a Cámara de Comercio certificate needs its issue date (fecha de expedición), on or before {today} (Bogotá)"
    )]
    IssuedOn {
        /// Today in Bogotá.
        today: Date,
    },
    /// A Cámara de Comercio certificate issued more than
    /// [`CHAMBER_CERTIFICATE_AGE_DAYS_MAX`] days ago.
    #[error(
        "the Cámara de Comercio certificate was issued on {issued_on}, more than {CHAMBER_CERTIFICATE_AGE_DAYS_MAX} days before {today} (Bogotá): one issued on or after {oldest} is needed"
    )]
    CertificateTooOld {
        /// Its issue date.
        issued_on: Date,
        /// Today in Bogotá.
        today: Date,
        /// The oldest issue date accepted today.
        oldest: Date,
    },
    /// An approval while the documents are not in order (a kind missing, or the Cámara de
    /// Comercio certificate aged past [`CHAMBER_CERTIFICATE_AGE_DAYS_MAX`] days during the
    /// review): ask for a new one instead.
    #[error("the KYC documents are not in order: {}", summary(.0))]
    Documents(Vec<Problem>),
    /// A document whose content no longer matches its SHA-256 (changed or damaged where it is
    /// kept): refused, never served.
    #[error("KYC document {0} does not match the SHA-256 recorded at upload: it is not served")]
    Tampered(String),
    /// A document's file could not be written or read.
    #[error("a KYC document's file: {0}")]
    DocumentFile(String),
    /// The stored application cannot be read.
    #[error("the stored KYC application is unreadable: {0}")]
    Corrupt(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn summary(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("{}: {}", p.field, p.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A merchant's application as the dashboard, the CLI and the operator see it.
#[derive(Debug, Clone, Serialize)]
pub struct KycView {
    /// `kyc_application`.
    pub object: &'static str,
    /// `mer_…`.
    pub merchant: String,
    /// Where it stands.
    pub status: KycStatus,
    /// What the merchant told.
    pub application: Application,
    /// What keeps it from being submitted (empty when complete).
    pub problems: Vec<Problem>,
    /// The operator's questions, when it came back for more information.
    pub questions: Option<String>,
    /// Why it was approved or rejected.
    pub decision_reason: Option<String>,
    /// `not_screened` until screening lands.
    pub screening: String,
    /// When it was last submitted (µs).
    pub submitted_at: Option<i64>,
    /// When it was decided (µs).
    pub decided_at: Option<i64>,
    /// Who decided.
    pub decided_by: Option<String>,
}

fn view(merchant: MerchantId, row: Option<KycRow>) -> Result<KycView, KycError> {
    let Some(row) = row else {
        let application = Application::default();
        return Ok(KycView {
            object: "kyc_application",
            merchant: merchant.to_string(),
            status: KycStatus::Draft,
            problems: application.problems(),
            application,
            questions: None,
            decision_reason: None,
            screening: NOT_SCREENED.to_owned(),
            submitted_at: None,
            decided_at: None,
            decided_by: None,
        });
    };
    let application: Application =
        serde_json::from_str(&row.application).map_err(|e| KycError::Corrupt(e.to_string()))?;
    let status: KycStatus = row.status.parse().map_err(KycError::Corrupt)?;
    Ok(KycView {
        object: "kyc_application",
        merchant: row.merchant_id,
        status,
        problems: application.problems(),
        application,
        questions: row.questions,
        decision_reason: row.decision_reason,
        screening: row.screening,
        submitted_at: row.submitted_at,
        decided_at: row.decided_at,
        decided_by: row.decided_by,
    })
}

async fn known_merchant(c: &mut Conn<'_>, merchant: MerchantId) -> Result<(), KycError> {
    merchants::get_merchant(c, merchant)
        .await?
        .map(|_| ())
        .ok_or_else(|| KycError::UnknownMerchant(merchant.to_string()))
}

/// The merchant's application as of today (Bogotá): its problems are the application's and
/// its documents' ([`document_problems`]), everything that keeps it from being submitted.
pub async fn show_with_documents(
    store: &Store,
    clock: &dyn Clock,
    merchant: MerchantId,
) -> Result<KycView, KycError> {
    let today = today(clock);
    store
        .read(move |mut c| {
            Box::pin(async move {
                known_merchant(&mut c, merchant).await?;
                let id = merchant.to_string();
                let mut found = view(merchant, rows::get(&mut c, &id).await?)?;
                found
                    .problems
                    .extend(documents_in_order(&mut c, &id, today).await?);
                Ok(found)
            })
        })
        .await
}

/// The merchant's application (an empty draft when it has none yet). Its problems are the
/// application's own; [`show_with_documents`] adds the documents'.
pub async fn show(store: &Store, merchant: MerchantId) -> Result<KycView, KycError> {
    store
        .read(move |mut c| {
            Box::pin(async move {
                known_merchant(&mut c, merchant).await?;
                let row = rows::get(&mut c, &merchant.to_string()).await?;
                view(merchant, row)
            })
        })
        .await
}

/// Saves the application while it is a draft or needs information (incomplete is fine).
pub async fn save(
    store: &Store,
    clock: &dyn Clock,
    merchant: MerchantId,
    application: Application,
) -> Result<KycView, KycError> {
    let text = serde_json::to_string(&application).map_err(|e| KycError::Corrupt(e.to_string()))?;
    let now = Micros::from(clock.now()).0;
    store
        .write(move |mut c| {
            Box::pin(async move {
                known_merchant(&mut c, merchant).await?;
                let id = merchant.to_string();
                if !rows::save(&mut c, &id, &text, now).await? {
                    let row = rows::get(&mut c, &id).await?;
                    return Err(KycError::NotEditable(view(merchant, row)?.status));
                }
                view(merchant, rows::get(&mut c, &id).await?)
            })
        })
        .await
}

/// Who takes a step, for the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The merchant's user (`usr_…`), when the merchant acts.
    pub user_id: Option<String>,
    /// An address or an operator's name.
    pub name: String,
    /// Where from.
    pub ip: Option<String>,
}

/// The merchant submits its application: it must be complete, with every kind of document
/// and a Cámara de Comercio certificate at most [`CHAMBER_CERTIFICATE_AGE_DAYS_MAX`] days old.
pub async fn submit(
    store: &Store,
    clock: &dyn Clock,
    merchant: MerchantId,
    actor: Actor,
) -> Result<KycView, KycError> {
    submit_screened(
        store,
        clock,
        std::sync::Arc::new(NotScreened),
        merchant,
        actor,
    )
    .await
}

/// [`submit`], screened by `screening` (the server's [`crate::AppState::screening`]) in the
/// submission's unit of work: the application screened is the one submitted.
pub async fn submit_screened(
    store: &Store,
    clock: &dyn Clock,
    screening: std::sync::Arc<dyn Screening>,
    merchant: MerchantId,
    actor: Actor,
) -> Result<KycView, KycError> {
    step(
        store,
        clock,
        merchant,
        KycAction::Submit,
        None,
        Some(screening),
        actor,
    )
    .await
}

/// An operator's step: start the review, approve, reject (with a reason) or ask for more
/// information (with the questions). Approval makes the merchant `active`; it is refused
/// ([`KycError::Documents`]) while the documents are not in order, such as a Cámara de
/// Comercio certificate that aged past [`CHAMBER_CERTIFICATE_AGE_DAYS_MAX`] days during the
/// review. Sends no e-mail: [`decide_and_notify`] does.
pub async fn decide(
    store: &Store,
    clock: &dyn Clock,
    merchant: MerchantId,
    action: KycAction,
    note: Option<&str>,
    actor: Actor,
) -> Result<KycView, KycError> {
    step(store, clock, merchant, action, note, None, actor).await
}

/// Takes `action`; a submission is screened by `screening` (none: [`NotScreened`]).
#[allow(clippy::too_many_arguments)] // One step, its note and its screening; a struct would only name them twice.
async fn step(
    store: &Store,
    clock: &dyn Clock,
    merchant: MerchantId,
    action: KycAction,
    note: Option<&str>,
    screening: Option<std::sync::Arc<dyn Screening>>,
    actor: Actor,
) -> Result<KycView, KycError> {
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    let needs_note = matches!(
        action,
        KycAction::Approve | KycAction::Reject | KycAction::RequestInfo
    );
    if needs_note && note.is_none_or(|n| n.chars().count() > NOTE_CHARS_MAX) {
        return Err(KycError::ReasonRequired(action.as_str()));
    }
    let note = note.map(str::to_owned);
    let now = clock.now();
    let event_ids: [EventId; 2] = [new_id(clock), new_id(clock)];
    let audit_id = new_id::<cajero_domain::id::Audit>(clock).to_string();
    store
        .write(move |mut c| {
            Box::pin(async move {
                known_merchant(&mut c, merchant).await?;
                let id = merchant.to_string();
                let current = view(merchant, rows::get(&mut c, &id).await?)?;
                let to = kyc::next(current.status, action)?;
                let screened: Option<String> = screening.map(|s| {
                    s.screen(&current.application)
                        .chars()
                        .filter(|c| !c.is_control())
                        .take(200)
                        .collect()
                });
                ready_for(&mut c, action, &current, bogota_date(now)).await?;
                if action == KycAction::Submit {
                    // A first submission of an application never saved: store it first.
                    let text = serde_json::to_string(&current.application)
                        .map_err(|e| KycError::Corrupt(e.to_string()))?;
                    rows::save(&mut c, &id, &text, Micros::from(now).0).await?;
                }
                let step = Step {
                    questions: (action == KycAction::RequestInfo)
                        .then_some(note.as_deref())
                        .flatten(),
                    reason: matches!(action, KycAction::Approve | KycAction::Reject)
                        .then_some(note.as_deref())
                        .flatten(),
                    decided_by: (action != KycAction::Submit).then_some(actor.name.as_str()),
                    screening: (action == KycAction::Submit)
                        .then_some(screened.as_deref().unwrap_or(NOT_SCREENED)),
                    submitted: action == KycAction::Submit,
                };
                let moved = rows::transition(
                    &mut c,
                    &id,
                    current.status.as_str(),
                    to.as_str(),
                    &step,
                    Micros::from(now).0,
                )
                .await?;
                if !moved {
                    // Someone else moved it meanwhile: the step no longer follows.
                    return Err(KycError::Transition(kyc::KycTransitionError {
                        from: current.status,
                        action,
                    }));
                }
                if to == KycStatus::Approved {
                    merchants::set_merchant_status(&mut c, merchant, MerchantStatus::Active, now)
                        .await?;
                }
                let updated = view(merchant, rows::get(&mut c, &id).await?)?;
                let object = event_object(&updated);
                let kind = event_type(to);
                for (livemode, event) in [(false, event_ids[0]), (true, event_ids[1])] {
                    events::emit(&mut c, merchant, livemode, kind, &object, event, now).await?;
                }
                // The operator's note (the questions, or why) is the step's reason.
                cajero_store::operators::insert_audit(
                    &mut c,
                    &AuditRow {
                        id: audit_id,
                        merchant_id: Some(id.clone()),
                        user_id: actor.user_id.clone(),
                        actor: actor.name.clone(),
                        action: format!("merchant.kyc.{}", action.as_str()),
                        object_id: Some(id),
                        ip: actor.ip.clone(),
                        at: Micros::from(now).0,
                    },
                    note.as_deref(),
                )
                .await?;
                Ok(updated)
            })
        })
        .await
}

/// A submission needs the application complete and the documents in order on `today`; an
/// approval needs the documents in order still (a certificate ages during a review).
async fn ready_for(
    c: &mut Conn<'_>,
    action: KycAction,
    current: &KycView,
    today: Date,
) -> Result<(), KycError> {
    if !matches!(action, KycAction::Submit | KycAction::Approve) {
        return Ok(());
    }
    let documents = documents_in_order(c, &current.merchant, today).await?;
    if action == KycAction::Submit {
        let mut problems = current.problems.clone();
        problems.extend(documents);
        if !problems.is_empty() {
            return Err(KycError::Incomplete(problems));
        }
    } else if !documents.is_empty() {
        return Err(KycError::Documents(documents));
    }
    Ok(())
}

fn event_type(to: KycStatus) -> EventType {
    match to {
        KycStatus::InReview => EventType::MerchantKycInReview,
        KycStatus::NeedsInfo => EventType::MerchantKycNeedsInfo,
        KycStatus::Approved => EventType::MerchantKycApproved,
        KycStatus::Rejected => EventType::MerchantKycRejected,
        KycStatus::Draft | KycStatus::Submitted => EventType::MerchantKycSubmitted,
    }
}

/// The event's object: the state and the operator's words, not the application's personal
/// data (names and document numbers stay out of webhooks).
fn event_object(v: &KycView) -> Value {
    json!({
        "object": "kyc_application",
        "merchant": v.merchant,
        "status": v.status,
        "questions": v.questions,
        "decision_reason": v.decision_reason,
        "screening": v.screening,
    })
}

/// The applications waiting in `status` (the operator's review queue), oldest first.
pub async fn queue(store: &Store, status: KycStatus) -> Result<Vec<KycView>, KycError> {
    let rows = store
        .read(move |mut c| {
            Box::pin(async move { rows::queue(&mut c, status.as_str(), QUEUE_MAX).await })
        })
        .await?;
    rows.into_iter()
        .map(|r| {
            let merchant: MerchantId = r
                .merchant_id
                .parse()
                .map_err(|_| KycError::Corrupt(format!("merchant id {}", r.merchant_id)))?;
            view(merchant, Some(r))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// E-mails to the merchant's owners
// ---------------------------------------------------------------------------------------------

/// Owners e-mailed about one step at most (each send may take the relay's timeout).
pub const MAIL_OWNERS_MAX: i64 = 20;

/// What became of a step's e-mails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mailed {
    /// Messages the relay took.
    pub sent: usize,
    /// Messages it did not (logged; not retried).
    pub failed: usize,
    /// Owners not e-mailed because no `[alerts.smtp]` relay is configured (logged at INFO).
    pub unsent: usize,
}

/// [`decide`], then e-mails the step to the merchant's owners ([`notify_owners`]): what the
/// operator's faces (the CLI, the console) call. The e-mails are sent after the step
/// commits and can neither undo nor fail it.
pub async fn decide_and_notify(
    state: &AppState,
    merchant: MerchantId,
    action: KycAction,
    note: Option<&str>,
    actor: Actor,
) -> Result<KycView, KycError> {
    let decided = decide(
        &state.store,
        state.clock.as_ref(),
        merchant,
        action,
        note,
        actor,
    )
    .await?;
    notify_owners(state, &decided).await;
    Ok(decided)
}

/// The texts of a step's e-mail: (subject key, body key), for the steps the merchant is told
/// of (in review, needs information, approved, rejected).
fn mail_keys(status: KycStatus) -> Option<(&'static str, &'static str)> {
    match status {
        KycStatus::InReview => Some(("kyc.mail_subject_in_review", "kyc.mail_body_in_review")),
        KycStatus::NeedsInfo => Some(("kyc.mail_subject_needs_info", "kyc.mail_body_needs_info")),
        KycStatus::Approved => Some(("kyc.mail_subject_approved", "kyc.mail_body_approved")),
        KycStatus::Rejected => Some(("kyc.mail_subject_rejected", "kyc.mail_body_rejected")),
        KycStatus::Draft | KycStatus::Submitted => None,
    }
}

/// A step's e-mail in `locale`: (subject, body) with the operator's questions or reason and
/// the link to the onboarding page.
fn mail_text(
    view: &KycView,
    locale: crate::web::i18n::Locale,
    public_url: &str,
) -> Option<(String, String)> {
    let (subject, body) = mail_keys(view.status)?;
    let t = locale.texts();
    let mut text = format!("{}\n\n", t.get(body));
    let note = match view.status {
        KycStatus::NeedsInfo => view.questions.as_deref().map(|q| ("kyc.mail_questions", q)),
        KycStatus::Approved | KycStatus::Rejected => view
            .decision_reason
            .as_deref()
            .map(|r| ("kyc.mail_reason", r)),
        _ => None,
    };
    if let Some((label, note)) = note {
        text.push_str(&format!("{}\n{note}\n\n", t.get(label)));
    }
    text.push_str(&format!(
        "{}\n{}/dashboard/onboarding\n",
        t.get("kyc.mail_link"),
        public_url.trim_end_matches('/')
    ));
    Some((t.get(subject).to_owned(), text))
}

/// E-mails the step `view` stands at to each owner of its merchant (at most
/// [`MAIL_OWNERS_MAX`]) in the owner's language (Spanish when never chosen), through the
/// `[alerts.smtp]` relay. Never fails: without a relay, or when the relay refuses, it logs
/// (without the owners' addresses or the operator's words) and goes on; nothing is retried.
pub async fn notify_owners(state: &AppState, view: &KycView) -> Mailed {
    let mut mailed = Mailed::default();
    if mail_keys(view.status).is_none() {
        return mailed;
    }
    let merchant = view.merchant.clone();
    let owners = state
        .store
        .read(move |mut c| {
            Box::pin(async move { rows::owner_contacts(&mut c, &merchant, MAIL_OWNERS_MAX).await })
        })
        .await;
    let owners = match owners {
        Ok(owners) => owners,
        Err(error) => {
            tracing::warn!(merchant = %view.merchant, status = %view.status, %error,
                "the merchant's owners could not be read: the KYC step is not e-mailed");
            return mailed;
        }
    };
    let Some(smtp) = &state.config.alerts.smtp else {
        mailed.unsent = owners.len();
        tracing::info!(merchant = %view.merchant, status = %view.status, owners = owners.len(),
            "KYC step not e-mailed to the merchant's owners: no [alerts.smtp] relay configured");
        return mailed;
    };
    let public_url = state.config.public_url();
    for owner in owners {
        let locale = owner
            .locale
            .as_deref()
            .and_then(crate::web::i18n::Locale::parse)
            .unwrap_or(crate::web::i18n::Locale::Es);
        let Some((subject, body)) = mail_text(view, locale, &public_url) else {
            continue;
        };
        match crate::alerts::notify::send_through(smtp, &owner.email, &subject, body).await {
            Ok(()) => mailed.sent += 1,
            Err(error) => {
                mailed.failed += 1;
                // A relay's refusal may quote the address: it stays out of the log.
                let error = error.replace(&owner.email, "[owner]");
                tracing::warn!(merchant = %view.merchant, status = %view.status, %error,
                    "e-mailing a merchant's owner about a KYC step failed (not retried)");
            }
        }
    }
    mailed
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use jiff::Timestamp;

    use super::*;
    use crate::web::i18n::Locale;

    fn date(text: &str) -> Date {
        text.parse().unwrap()
    }

    fn certificate(issued_on: Option<&str>) -> Document {
        Document {
            id: "doc_1".into(),
            merchant_id: "mer_1".into(),
            kind: CHAMBER_CERTIFICATE.into(),
            file_name: "camara.pdf".into(),
            content_type: "application/pdf".into(),
            size: 10,
            sha256: "00".into(),
            uploaded_by: "ana@example.co".into(),
            created_at: 0,
            storage: "database".into(),
            issued_on: issued_on.map(str::to_owned),
        }
    }

    #[test]
    fn a_certificate_may_be_issued_up_to_30_bogota_days_before() {
        let today = date("2025-11-24");
        assert_eq!(oldest_certificate_date(today), date("2025-10-25"));
        let all: Vec<String> = DOCUMENT_KINDS.iter().map(|k| (*k).to_owned()).collect();
        for (issued_on, fine) in [
            (Some("2025-11-24"), true),
            (Some("2025-10-25"), true),
            (Some("2025-10-24"), false),
            (Some("2024-11-24"), false),
            (None, false),
            (Some("not a date"), false),
        ] {
            let problems = document_problems(&all, Some(&certificate(issued_on)), today);
            assert_eq!(problems.is_empty(), fine, "{issued_on:?}: {problems:?}");
            if let [p] = problems.as_slice() {
                assert_eq!(p.field, "documents.chamber_certificate.issued_on");
            }
        }
        let stale = document_problems(&all, Some(&certificate(Some("2025-10-01"))), today);
        assert!(stale[0].message.contains("2025-10-01"), "{stale:?}");
        assert!(stale[0].message.contains("2025-10-25"), "{stale:?}");
        // Late evening in Bogotá is already tomorrow in UTC: the day is Bogotá's.
        let evening = Timestamp::from_second(1_764_039_600).unwrap(); // 2025-11-25 03:00 UTC
        assert_eq!(bogota_date(evening), date("2025-11-24"));
    }

    #[test]
    fn every_kind_must_be_uploaded_once() {
        let today = date("2025-11-24");
        let problems = document_problems(&[], None, today);
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "documents.rut",
                "documents.chamber_certificate",
                "documents.representative_id",
                "documents.bank_certificate"
            ]
        );
        let some = vec!["rut".to_owned(), CHAMBER_CERTIFICATE.to_owned()];
        let problems = document_problems(&some, Some(&certificate(Some("2025-11-20"))), today);
        assert_eq!(problems.len(), 2, "{problems:?}");
    }

    #[test]
    fn an_upload_of_a_certificate_needs_a_recent_issue_date_not_in_the_future() {
        let today = date("2025-11-24");
        let kind = CHAMBER_CERTIFICATE;
        assert_eq!(
            issued_on_for(kind, Some(date("2025-11-01")), today).unwrap(),
            Some(date("2025-11-01"))
        );
        assert!(matches!(
            issued_on_for(kind, None, today),
            Err(KycError::IssuedOn { .. })
        ));
        assert!(matches!(
            issued_on_for(kind, Some(date("2025-11-25")), today),
            Err(KycError::IssuedOn { .. })
        ));
        let too_old = issued_on_for(kind, Some(date("2025-10-24")), today).unwrap_err();
        assert!(too_old.to_string().contains("2025-10-24"), "{too_old}");
        // Other kinds keep no date.
        assert_eq!(
            issued_on_for("rut", Some(date("2020-01-01")), today).unwrap(),
            None
        );
    }

    fn view_at(status: KycStatus) -> KycView {
        KycView {
            object: "kyc_application",
            merchant: "mer_1".into(),
            status,
            application: Application::default(),
            problems: vec![],
            questions: Some("¿Dónde está la bodega?".into()),
            decision_reason: Some("Documentos vigentes".into()),
            screening: NOT_SCREENED.into(),
            submitted_at: None,
            decided_at: None,
            decided_by: None,
        }
    }

    #[test]
    fn each_step_the_merchant_hears_of_has_its_mail_in_every_language() {
        for locale in Locale::ALL {
            for status in KycStatus::ALL {
                let Some((subject, body)) = mail_keys(status) else {
                    continue;
                };
                for key in [subject, body, "kyc.mail_questions", "kyc.mail_reason"] {
                    assert!(locale.texts().has(key), "{locale:?} {key}");
                }
                assert!(locale.texts().has("kyc.mail_link"));
            }
        }
        let (_, asked) = mail_text(
            &view_at(KycStatus::NeedsInfo),
            Locale::Es,
            "https://pagos.example.co/",
        )
        .unwrap();
        assert!(asked.contains("¿Dónde está la bodega?"), "{asked}");
        assert!(
            asked.contains("https://pagos.example.co/dashboard/onboarding"),
            "{asked}"
        );
        let (_, approved) =
            mail_text(&view_at(KycStatus::Approved), Locale::En, "http://x").unwrap();
        assert!(approved.contains("Documentos vigentes"), "{approved}");
        assert!(!approved.contains("bodega"), "{approved}");
        assert!(mail_text(&view_at(KycStatus::Submitted), Locale::En, "http://x").is_none());
    }
}
