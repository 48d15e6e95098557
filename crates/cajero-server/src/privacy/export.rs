//! `cajero privacy export`: everything cajero holds about one person, named by their document,
//! across every merchant and both modes — for a person's request under Ley 1581 (access,
//! correction, deletion) or an authority's.
//!
//! The export is a list of named [`Section`]s. The first ones find the person's own records by
//! their document (pay-ins where they are the customer, payouts where they are the beneficiary,
//! KYC applications where they are the legal representative or an owner); the later ones read
//! what is held about the orders found (audit entries, events). [`read_sections`] lists them in
//! order: a new kind of record is one more section function and one more line there.
//!
//! Every section is bounded ([`SECTION_ROWS_MAX`] rows, and per order
//! [`EVENTS_PER_ORDER_MAX`], [`AUDIT_PER_OBJECT_MAX`]); a section cut short says so
//! (`truncated`), so that an export is never silently incomplete.

use cajero_domain::document::Document;
use cajero_domain::id::{MerchantId, PayinId, PayoutId};
use cajero_domain::kyc::{Application, Person};
use cajero_domain::merchant::Mode;
use cajero_domain::privacy::document_as_written;
use cajero_store::operators::{AuditEntry, insert_audit};
use cajero_store::privacy::{self as rows, OrderOfPerson, PersonIn};
use cajero_store::{Conn, Micros, Store, events, kyc};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};

use super::{ACTION_EXPORT, PrivacyError, document_key};
use crate::clock::Clock;
use crate::operators::{Acting, audit_row};
use crate::time::rfc3339;

/// Rows of one section at most (orders of one kind, applications, audit entries, events); a
/// section that holds more is cut there and marked `truncated`.
pub const SECTION_ROWS_MAX: usize = 10_000;
/// Events of one order at most (an order has a handful; a resent one a few more).
pub const EVENTS_PER_ORDER_MAX: i64 = 100;
/// Audit entries about one order (or one person's earlier exports) at most.
pub const AUDIT_PER_OBJECT_MAX: i64 = 100;
/// KYC applications read per query while looking for the person in them.
pub const KYC_PAGE_ROWS: i64 = 500;
/// Documents of one KYC application listed at most (an application has four or five).
const KYC_DOCUMENTS_MAX: i64 = 50;
/// The kind of KYC document that is the legal representative's own identity document.
const REPRESENTATIVE_ID_KIND: &str = "representative_id";

/// One named part of an export: the records of one kind held about the person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Section {
    /// `payins`, `payouts`, `kyc_applications`, `audit_log`, `events`, …
    pub name: &'static str,
    /// What it holds, for whoever reads the file.
    pub about: &'static str,
    /// Cut at a bound: more is held than listed.
    pub truncated: bool,
    /// The records, as JSON objects.
    pub rows: Vec<Value>,
}

/// Everything held about one person.
#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    /// The person's document, canonical.
    pub document: Document,
    /// Why the operator exported it.
    pub reason: String,
    /// The audit entry that records the export (`aud_…`).
    pub audit_id: String,
    /// When.
    pub generated_at: Timestamp,
    /// The sections, in order.
    pub sections: Vec<Section>,
}

impl Export {
    /// The section called `name`.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The export as one JSON document (what `cajero privacy export` writes).
    pub fn to_json(&self) -> Value {
        json!({
            "object": "privacy_export",
            "document": {"type": self.document.kind().as_str(), "number": self.document.number()},
            "generated_at": rfc3339(self.generated_at),
            "reason": self.reason,
            "audit_entry": self.audit_id,
            "sections": self.sections,
        })
    }
}

/// Exports everything held about the person with `document`, every merchant's, in both modes.
///
/// The export is written to the audit log (`privacy.export`, the person's `TYPE:NUMBER` as its
/// object, the operator's reason) **before** anything is read: no export leaves without its
/// entry, even one that fails halfway. The reads then run on a read connection, so a large
/// export holds up no writer.
pub async fn export(
    store: &Store,
    clock: &dyn Clock,
    public_url: &str,
    document: Document,
    acting: &Acting,
) -> Result<Export, PrivacyError> {
    let key = document_key(&document);
    let audit = audit_row(clock, acting, ACTION_EXPORT, None, Some(key));
    let audit_id = audit.id.clone();
    let reason = acting.reason.as_str().to_owned();
    let logged = reason.clone();
    store
        .write(move |mut c| {
            Box::pin(async move { insert_audit(&mut c, &audit, Some(logged.as_str())).await })
        })
        .await?;
    let (person, public_url) = (document.clone(), public_url.to_owned());
    let sections = store
        .read(move |mut c| {
            Box::pin(async move { read_sections(&mut c, person, &public_url).await })
        })
        .await?;
    Ok(Export {
        document,
        reason,
        audit_id,
        generated_at: clock.now(),
        sections,
    })
}

/// What the sections search by: the person, and the orders the first sections found to be
/// theirs.
#[derive(Debug)]
struct Found {
    /// Their document.
    document: Document,
    /// `TYPE:NUMBER`: how the audit log names them (earlier exports).
    key: String,
    /// Their pay-ins and payouts.
    orders: Vec<OrderRef>,
}

/// An order of the person.
#[derive(Debug, Clone)]
struct OrderRef {
    id: String,
    merchant: MerchantId,
    mode: Mode,
}

/// Every section, in order.
async fn read_sections(
    c: &mut Conn<'_>,
    document: Document,
    public_url: &str,
) -> Result<Vec<Section>, PrivacyError> {
    let mut found = Found {
        key: document_key(&document),
        document,
        orders: Vec::new(),
    };
    // The person's own records, found by their document.
    let mut sections = vec![
        payins(c, &mut found, public_url).await?,
        payouts(c, &mut found, public_url).await?,
        kyc_applications(c, &found).await?,
    ];
    // What is held about those records.
    sections.push(audit_log(c, &found).await?);
    sections.push(events_section(c, &found).await?);
    // What the risk and compliance checks hold about the person.
    sections.push(risk_decisions(c, &found).await?);
    sections.push(blocklist_entries(c, &found).await?);
    sections.push(uiaf_flags(c, &found).await?);
    Ok(sections)
}

/// Pay-ins where the person is the customer, as their merchant's API shows them.
async fn payins(
    c: &mut Conn<'_>,
    found: &mut Found,
    public_url: &str,
) -> Result<Section, PrivacyError> {
    let (listed, truncated) = orders(c, PersonIn::PayinCustomer, &found.document).await?;
    let mut out = Vec::with_capacity(listed.len());
    for order in listed {
        let id: PayinId = order.id.parse().map_err(|e| corrupt("payins", e))?;
        if let Some(p) = cajero_store::payins::get(c, order.merchant, order.mode, id).await? {
            out.push(with_merchant(
                crate::payins::payin_json(&p, public_url),
                order.merchant,
            ));
        }
        found.orders.push(order);
    }
    Ok(Section {
        name: "payins",
        about: "Pay-ins (cash vouchers) where the person is the customer, as their merchant's \
                API shows them, with the merchant's id.",
        truncated,
        rows: out,
    })
}

/// Payouts where the person is the beneficiary, with their counter attempts.
async fn payouts(
    c: &mut Conn<'_>,
    found: &mut Found,
    public_url: &str,
) -> Result<Section, PrivacyError> {
    let (listed, truncated) = orders(c, PersonIn::PayoutBeneficiary, &found.document).await?;
    let mut out = Vec::with_capacity(listed.len());
    for order in listed {
        let id: PayoutId = order.id.parse().map_err(|e| corrupt("payouts", e))?;
        if let Some(p) = cajero_store::payouts::get(c, order.merchant, order.mode, id).await? {
            let attempts = cajero_store::payouts::attempts(c, id).await?;
            out.push(with_merchant(
                crate::payouts::payout_json(&p, &attempts, public_url),
                order.merchant,
            ));
        }
        found.orders.push(order);
    }
    Ok(Section {
        name: "payouts",
        about: "Payouts (cash pick-ups) where the person is the beneficiary, as their \
                merchant's API shows them (counter attempts included), with the merchant's id.",
        truncated,
        rows: out,
    })
}

/// The person's orders of one kind, every merchant's, at most [`SECTION_ROWS_MAX`]; whether
/// there were more.
async fn orders(
    c: &mut Conn<'_>,
    person_in: PersonIn,
    document: &Document,
) -> Result<(Vec<OrderRef>, bool), PrivacyError> {
    let limit = i64::try_from(SECTION_ROWS_MAX + 1).unwrap_or(i64::MAX);
    let mut listed = rows::orders_of_person(
        c,
        person_in,
        document.kind().as_str(),
        document.number(),
        limit,
    )
    .await?;
    let truncated = listed.len() > SECTION_ROWS_MAX;
    listed.truncate(SECTION_ROWS_MAX);
    let refs = listed
        .into_iter()
        .map(|o: OrderOfPerson| {
            Ok(OrderRef {
                merchant: o.merchant_id.parse().map_err(|e| corrupt("orders", e))?,
                mode: Mode::from_livemode(o.livemode),
                id: o.id,
            })
        })
        .collect::<Result<Vec<_>, PrivacyError>>()?;
    Ok((refs, truncated))
}

/// KYC applications that name the person as legal representative or owner: who they are in
/// it, the person as the merchant entered them, and (for a representative) the identity
/// documents uploaded — their names and hashes, not their content.
async fn kyc_applications(c: &mut Conn<'_>, found: &Found) -> Result<Section, PrivacyError> {
    let mut out = Vec::new();
    let mut after = String::new();
    loop {
        let page = rows::kyc_applications_after(c, &after, KYC_PAGE_ROWS).await?;
        let Some(last) = page.last() else {
            break;
        };
        after = last.merchant_id.clone();
        let full_page = i64::try_from(page.len()).unwrap_or(i64::MAX) >= KYC_PAGE_ROWS;
        for row in page {
            let application: Application = serde_json::from_str(&row.application)
                .map_err(|e| corrupt("merchant_kyc", format!("{}: {e}", row.merchant_id)))?;
            for (role, person) in roles(&application) {
                if document_as_written(&person.document_type, &person.document_number).as_ref()
                    != Some(&found.document)
                {
                    continue;
                }
                let documents = if role == "representative" {
                    representative_documents(c, &row.merchant_id).await?
                } else {
                    Vec::new()
                };
                out.push(json!({
                    "merchant": row.merchant_id,
                    "status": row.status,
                    "role": role,
                    "person": person,
                    "submitted_at": row.submitted_at.map(|t| rfc3339(Micros(t).to_timestamp())),
                    "decided_at": row.decided_at.map(|t| rfc3339(Micros(t).to_timestamp())),
                    "documents": documents,
                }));
            }
        }
        if !full_page || out.len() > SECTION_ROWS_MAX {
            break;
        }
    }
    let truncated = out.len() > SECTION_ROWS_MAX;
    out.truncate(SECTION_ROWS_MAX);
    Ok(Section {
        name: "kyc_applications",
        about: "Merchants' onboarding applications that name the person as legal \
                representative or owner, with the person as entered; for a representative, the \
                identity documents uploaded (names and SHA-256, not content).",
        truncated,
        rows: out,
    })
}

/// The people of an application and who each is in it.
fn roles(application: &Application) -> impl Iterator<Item = (&'static str, &Person)> {
    std::iter::once(("representative", &application.representative))
        .chain(application.owners.iter().map(|o| ("owner", o)))
}

async fn representative_documents(
    c: &mut Conn<'_>,
    merchant: &str,
) -> Result<Vec<Value>, PrivacyError> {
    Ok(kyc::documents(c, merchant, KYC_DOCUMENTS_MAX)
        .await?
        .into_iter()
        .filter(|d| d.kind == REPRESENTATIVE_ID_KIND)
        .map(|d| {
            json!({
                "id": d.id, "kind": d.kind, "file_name": d.file_name,
                "content_type": d.content_type, "size": d.size, "sha256": d.sha256,
                "uploaded_at": rfc3339(Micros(d.created_at).to_timestamp()),
            })
        })
        .collect())
}

/// Audit entries about the person's orders, and earlier exports of the person (this one's
/// included: it is written first).
async fn audit_log(c: &mut Conn<'_>, found: &Found) -> Result<Section, PrivacyError> {
    let objects = std::iter::once(found.key.as_str()).chain(found.orders.iter().map(|o| &*o.id));
    let (mut out, mut truncated) = (Vec::new(), false);
    for object in objects {
        let mut entries = rows::audit_of_object(c, object, AUDIT_PER_OBJECT_MAX + 1).await?;
        truncated |= entries.len() > usize::try_from(AUDIT_PER_OBJECT_MAX).unwrap_or(usize::MAX);
        entries.truncate(usize::try_from(AUDIT_PER_OBJECT_MAX).unwrap_or(usize::MAX));
        out.extend(entries.iter().map(audit_json));
        if out.len() > SECTION_ROWS_MAX {
            truncated = true;
            out.truncate(SECTION_ROWS_MAX);
            break;
        }
    }
    Ok(Section {
        name: "audit_log",
        about: "Audit log entries about the person's pay-ins and payouts, and the exports of \
                the person's data (this one included).",
        truncated,
        rows: out,
    })
}

fn audit_json(e: &AuditEntry) -> Value {
    json!({
        "id": e.id, "merchant": e.merchant_id, "user": e.user_id, "actor": e.actor,
        "action": e.action, "object": e.object_id, "ip": e.ip,
        "at": rfc3339(Micros(e.at).to_timestamp()), "reason": e.reason,
    })
}

/// The events about the person's orders, as stored (masked or not, as their merchant chose).
async fn events_section(c: &mut Conn<'_>, found: &Found) -> Result<Section, PrivacyError> {
    let (mut out, mut truncated) = (Vec::new(), false);
    let per_order = usize::try_from(EVENTS_PER_ORDER_MAX).unwrap_or(usize::MAX);
    for order in &found.orders {
        let live = order.mode.is_live();
        let mut stored =
            events::events_of_object(c, order.merchant, live, &order.id, EVENTS_PER_ORDER_MAX + 1)
                .await?;
        truncated |= stored.len() > per_order;
        stored.truncate(per_order);
        for e in stored {
            let object: Value = serde_json::from_str(&e.data).unwrap_or(Value::Null);
            out.push(json!({
                "id": e.id.to_string(), "type": e.event_type.as_str(), "livemode": e.livemode,
                "merchant": e.merchant_id.to_string(), "created": rfc3339(e.created_at),
                "data": {"object": object},
            }));
        }
        if out.len() > SECTION_ROWS_MAX {
            truncated = true;
            out.truncate(SECTION_ROWS_MAX);
            break;
        }
    }
    Ok(Section {
        name: "events",
        about: "Events (webhooks) about the person's pay-ins and payouts, as stored and sent.",
        truncated,
        rows: out,
    })
}

/// The order's object with its merchant's id (`merchant`), which the API leaves out (the key
/// says it there).
fn with_merchant(mut object: Value, merchant: MerchantId) -> Value {
    if let Value::Object(fields) = &mut object {
        fields.insert("merchant".to_owned(), Value::from(merchant.to_string()));
    }
    object
}

fn corrupt(table: &'static str, detail: impl std::fmt::Display) -> PrivacyError {
    PrivacyError::Corrupt {
        table,
        detail: detail.to_string(),
    }
}

/// The rows of a section and whether more were held than listed.
fn bounded<T>(mut rows: Vec<T>) -> (Vec<T>, bool) {
    let truncated = rows.len() > SECTION_ROWS_MAX;
    rows.truncate(SECTION_ROWS_MAX);
    (rows, truncated)
}

fn section_limit() -> i64 {
    i64::try_from(SECTION_ROWS_MAX).unwrap_or(i64::MAX) + 1
}

/// Risk decisions naming the person: those that held or refused an operation (refused ones
/// never became orders, so they are found by the decision's inputs) and those that alerted.
async fn risk_decisions(c: &mut Conn<'_>, found: &Found) -> Result<Section, PrivacyError> {
    let key = cajero_domain::risk::blocklist::document_key(&found.document);
    let (listed, truncated) = bounded(rows::risk_decisions_naming(c, &key, section_limit()).await?);
    Ok(Section {
        name: "risk_decisions",
        about: "Risk decisions about a pay-in or payout naming the person (held, refused, or \
                allowed with an operator alert): the checks that fired and what they saw.",
        truncated,
        rows: listed
            .iter()
            .map(|d| {
                json!({
                    "id": d.id, "merchant": d.merchant_id, "livemode": d.livemode,
                    "flow": d.flow, "object": d.object_id, "outcome": d.outcome,
                    "fired": serde_json::from_str::<Value>(&d.fired).unwrap_or(Value::Null),
                    "inputs": serde_json::from_str::<Value>(&d.inputs).unwrap_or(Value::Null),
                    "rules_version": d.rules_version, "sanctions_lists": d.sanctions_lists,
                    "at": rfc3339(Micros(d.at).to_timestamp()),
                })
            })
            .collect(),
    })
}

/// Blocklist entries of the person's document, the operator's and merchants', removed ones
/// too.
async fn blocklist_entries(c: &mut Conn<'_>, found: &Found) -> Result<Section, PrivacyError> {
    let key = cajero_domain::risk::blocklist::document_key(&found.document);
    let (listed, truncated) = bounded(rows::blocklist_entries_of(c, &key, section_limit()).await?);
    Ok(Section {
        name: "blocklist_entries",
        about: "Blocklist entries of the person's document: the operator's (merchant null) and \
                merchants' own, with who added or removed them and why.",
        truncated,
        rows: listed
            .iter()
            .map(|e| {
                json!({
                    "id": e.id, "merchant": e.merchant_id, "value": e.value,
                    "reason": e.reason, "by": e.created_by,
                    "at": rfc3339(Micros(e.created_at).to_timestamp()),
                    "removed_by": e.removed_by,
                    "removed_at": e.removed_at.map(|t| rfc3339(Micros(t).to_timestamp())),
                    "removed_reason": e.removed_reason,
                })
            })
            .collect(),
    })
}

/// The person's cash operations flagged for the UIAF's report.
async fn uiaf_flags(c: &mut Conn<'_>, found: &Found) -> Result<Section, PrivacyError> {
    let kind = found.document.kind().to_string().to_uppercase();
    let number: String = found
        .document
        .number()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let (listed, truncated) =
        bounded(rows::uiaf_flags_of(c, &kind, &number, section_limit()).await?);
    Ok(Section {
        name: "uiaf_flags",
        about: "The person's cash operations flagged for the UIAF's report (single from COP \
                10,000,000, or a month adding up to COP 50,000,000).",
        truncated,
        rows: listed
            .iter()
            .map(|f| {
                json!({
                    "order": f.order_id, "merchant": f.merchant_id, "month": f.month,
                    "why": f.why, "direction": f.direction, "amount": f.amount,
                    "completed_at": rfc3339(Micros(f.completed_at).to_timestamp()),
                    "flagged_at": rfc3339(Micros(f.flagged_at).to_timestamp()),
                })
            })
            .collect(),
    })
}
