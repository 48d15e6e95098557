//! Personal data under Colombia's Ley 1581 de 2012: where people's data is kept whole, where it
//! is masked, who may change that, and the operator's export of everything held about one
//! person.
//!
//! * **Whole** where the record needs it: the pay-in and payout rows, the API's answers to their
//!   merchant (and the idempotent answers stored for replays), network evidence.
//! * **Masked** in events (webhooks and `GET /v1/events`): document and phone numbers by their
//!   last four characters, names by their initials, e-mail addresses by their first character
//!   and domain ([`cajero_domain::privacy`] says exactly how). Every event is made by
//!   [`cajero_store::events::emit`] (or `emit_to`), which masks — one place, whatever service
//!   emits — unless the merchant opted in to full personal data in events: one setting per
//!   merchant for both modes, off by default, changed by an owner in the dashboard or by the
//!   operator (`cajero merchant privacy`), each change in the audit log
//!   ([`set_full_personal_data_in_events`]). The outbox reads the setting with the merchant's
//!   endpoints, in the statement it already makes, so it costs events nothing and a change
//!   applies to the very next one.
//! * **Logs** never carry people's names, document numbers or phones: they name orders by id.
//! * **Export** ([`export`], `cajero privacy export --document TYPE:NUMBER --reason …`):
//!   everything held about one person, across every merchant and both modes, in named sections
//!   ([`Section`]); the export itself is written to the audit log with its reason before
//!   anything is read.

use cajero_domain::document::Document;
use cajero_domain::id::MerchantId;
use cajero_domain::privacy::ParsePersonDocumentError;
use cajero_store::dashboard::AuditRow;
use cajero_store::operators::insert_audit;
use cajero_store::{Micros, Store, StoreError, privacy as rows};

use crate::clock::{Clock, new_id};
use crate::operators::{Acting, audit_row};
use crate::users::{Origin, Role, Session};

mod export;

pub use export::{
    AUDIT_PER_OBJECT_MAX, EVENTS_PER_ORDER_MAX, Export, KYC_PAGE_ROWS, SECTION_ROWS_MAX, Section,
    export,
};

/// The audit action of turning full personal data in events on.
pub const ACTION_EVENTS_FULL: &str = "merchant.privacy.events_full";
/// The audit action of turning it off (events masked again).
pub const ACTION_EVENTS_MASKED: &str = "merchant.privacy.events_masked";
/// The audit action of an export.
pub const ACTION_EXPORT: &str = "privacy.export";

/// Why a personal-data request was refused.
#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    /// No merchant has this id.
    #[error("no such merchant: {0}")]
    UnknownMerchant(MerchantId),
    /// Only a merchant's owners choose what its events carry.
    #[error("only an owner may change what the merchant's events carry")]
    NotOwner,
    /// The person's document is not one.
    #[error(transparent)]
    Document(#[from] ParsePersonDocumentError),
    /// A stored row does not read (a bug or a hand edit).
    #[error("corrupt {table}: {detail}")]
    Corrupt {
        /// Where.
        table: &'static str,
        /// What.
        detail: String,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether the merchant's events carry full personal data (false: masked, the default).
pub async fn full_personal_data_in_events(
    store: &Store,
    merchant: MerchantId,
) -> Result<bool, PrivacyError> {
    store
        .read(move |mut c| {
            Box::pin(async move { rows::full_personal_data_in_events(&mut c, merchant).await })
        })
        .await?
        .ok_or(PrivacyError::UnknownMerchant(merchant))
}

/// Who changes what a merchant's events carry.
#[derive(Debug, Clone, Copy)]
pub enum Changer<'a> {
    /// One of the merchant's users in the dashboard: an owner, or refused.
    User {
        /// The session.
        session: &'a Session,
        /// From where.
        origin: &'a Origin,
    },
    /// The platform operator (the CLI), with a reason.
    Operator(&'a Acting),
}

/// A setting as it was and as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// Before.
    pub before: bool,
    /// Now.
    pub after: bool,
}

/// Turns full personal data in `merchant`'s events on (`full`) or off, with its audit entry in
/// the same unit of work. Setting what is already set changes and audits nothing. Events made
/// after this returns follow the new setting, on every instance.
pub async fn set_full_personal_data_in_events(
    store: &Store,
    clock: &dyn Clock,
    merchant: MerchantId,
    full: bool,
    by: Changer<'_>,
) -> Result<Change, PrivacyError> {
    let action = if full {
        ACTION_EVENTS_FULL
    } else {
        ACTION_EVENTS_MASKED
    };
    let (audit, reason) = match by {
        Changer::User { session, origin } => {
            if session.role != Role::Owner || session.merchant_id != merchant {
                return Err(PrivacyError::NotOwner);
            }
            (user_audit(clock, session, origin, action), None)
        }
        Changer::Operator(acting) => {
            let row = audit_row(
                clock,
                acting,
                action,
                Some(merchant.to_string()),
                Some(merchant.to_string()),
            );
            (row, Some(acting.reason.as_str().to_owned()))
        }
    };
    let now = clock.now();
    let before = store
        .write(move |mut c| {
            Box::pin(async move {
                let before = rows::full_personal_data_in_events(&mut c, merchant).await?;
                if before.is_some_and(|b| b != full) {
                    rows::set_full_personal_data_in_events(&mut c, merchant, full, now).await?;
                    insert_audit(&mut c, &audit, reason.as_deref()).await?;
                }
                Ok::<_, StoreError>(before)
            })
        })
        .await?
        .ok_or(PrivacyError::UnknownMerchant(merchant))?;
    Ok(Change {
        before,
        after: full,
    })
}

/// The audit entry of a dashboard user's change to their merchant.
fn user_audit(clock: &dyn Clock, session: &Session, origin: &Origin, action: &str) -> AuditRow {
    AuditRow {
        id: new_id::<cajero_domain::id::Audit>(clock).to_string(),
        merchant_id: Some(session.merchant_id.to_string()),
        user_id: Some(session.user.id.clone()),
        actor: session.user.email.clone(),
        action: action.to_owned(),
        object_id: Some(session.merchant_id.to_string()),
        ip: origin.ip.clone(),
        at: Micros::from(clock.now()).0,
    }
}

/// The person named by `TYPE:NUMBER` (`CC:79.876.543`), their number in canonical form.
pub fn parse_document(text: &str) -> Result<Document, PrivacyError> {
    Ok(cajero_domain::privacy::parse_person_document(text)?)
}

/// How a person's document is written in the audit log (the export's `object_id`), so that
/// one person's exports are found together: `CC:79876543`.
pub fn document_key(document: &Document) -> String {
    format!("{}:{}", document.kind(), document.number())
}
