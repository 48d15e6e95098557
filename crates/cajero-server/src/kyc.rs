//! Onboarding (KYC): the merchant fills in its application and submits it; an operator
//! reviews it and approves, rejects or asks for more information. Approval makes the merchant
//! `active` — the state in which live keys can be created and live cash moves — in the same
//! unit of work. Every step is evented (`merchant.kyc.*`, in both modes, so that any of the
//! merchant's endpoints hears of it) and audited.
//!
//! Screening of the company, its representative and its owners belongs to the risk issue;
//! until it lands every submission records `not_screened`.
//!
//! The rules (what a complete application is, which step follows which) are
//! `cajero_domain::kyc`; this module runs them against the store.

use cajero_domain::id::{EventId, MerchantId};
use cajero_domain::kyc::{self, Application, KycAction, KycStatus, Problem};
use cajero_domain::merchant::MerchantStatus;
use cajero_domain::webhook::EventType;
use cajero_store::dashboard::{self, AuditRow};
use cajero_store::kyc::{self as rows, KycRow, Step};
use cajero_store::{Conn, Micros, Store, StoreError, events, merchants};
use serde::Serialize;
use serde_json::{Value, json};

use crate::clock::{Clock, new_id};

/// What a screening records until the risk issue's sanctions screening lands.
pub const NOT_SCREENED: &str = "not_screened";
/// Longest operator's reason or questions.
pub const NOTE_CHARS_MAX: usize = 2_000;
/// Applications listed per status in the review queue.
pub const QUEUE_MAX: i64 = 200;

/// Largest document accepted: 10 MiB.
pub const DOCUMENT_BYTES_MAX: usize = 10 * 1024 * 1024;
/// The documents an application asks for.
pub const DOCUMENT_KINDS: [&str; 4] = [
    "rut",
    "chamber_certificate",
    "representative_id",
    "bank_certificate",
];
/// Documents a merchant may hold (a replacement is a new upload; the old ones stay as
/// evidence).
pub const DOCUMENTS_MAX: i64 = 40;

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

/// A document as listed (its content is read only to be served).
pub type Document = rows::DocumentRow;

/// Stores a document of the merchant's application: checked by content and size, hashed,
/// audited. Only while the application can be changed.
pub async fn add_document(
    store: &Store,
    clock: &dyn Clock,
    merchant: MerchantId,
    kind: &str,
    file_name: &str,
    content: Vec<u8>,
    actor: Actor,
) -> Result<Document, KycError> {
    let kind = DOCUMENT_KINDS
        .iter()
        .copied()
        .find(|k| *k == kind)
        .ok_or(KycError::DocumentKind)?;
    if content.is_empty() || content.len() > DOCUMENT_BYTES_MAX {
        return Err(KycError::FileSize);
    }
    let content_type = sniff(&content).ok_or(KycError::FileType)?;
    let sha256: String = {
        use sha2::Digest as _;
        sha2::Sha256::digest(&content)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let name: String = file_name
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
        sha256,
        uploaded_by: actor.name.clone(),
        created_at: now,
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
    let stored = row.clone();
    store
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
                rows::insert_document(&mut c, &stored, content).await?;
                dashboard::insert_audit(&mut c, &audit).await?;
                Ok(())
            })
        })
        .await?;
    Ok(row)
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

/// One of the merchant's documents with its content (`None`: not the merchant's).
pub async fn document(
    store: &Store,
    merchant: MerchantId,
    id: &str,
) -> Result<Option<(Document, Vec<u8>)>, KycError> {
    let (merchant, id) = (merchant.to_string(), id.to_owned());
    Ok(store
        .read(move |mut c| Box::pin(async move { rows::document(&mut c, &merchant, &id).await }))
        .await?)
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

/// The merchant's application (an empty draft when it has none yet).
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

/// The merchant submits its application: it must be complete.
pub async fn submit(
    store: &Store,
    clock: &dyn Clock,
    merchant: MerchantId,
    actor: Actor,
) -> Result<KycView, KycError> {
    step(store, clock, merchant, KycAction::Submit, None, actor).await
}

/// An operator's step: start the review, approve, reject (with a reason) or ask for more
/// information (with the questions). Approval makes the merchant `active`.
pub async fn decide(
    store: &Store,
    clock: &dyn Clock,
    merchant: MerchantId,
    action: KycAction,
    note: Option<&str>,
    actor: Actor,
) -> Result<KycView, KycError> {
    step(store, clock, merchant, action, note, actor).await
}

async fn step(
    store: &Store,
    clock: &dyn Clock,
    merchant: MerchantId,
    action: KycAction,
    note: Option<&str>,
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
                if action == KycAction::Submit && !current.problems.is_empty() {
                    return Err(KycError::Incomplete(current.problems));
                }
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
                    screening: (action == KycAction::Submit).then_some(NOT_SCREENED),
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
                dashboard::insert_audit(
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
                )
                .await?;
                Ok(updated)
            })
        })
        .await
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
