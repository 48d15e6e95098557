//! Personal data (migration 0030): each merchant's choice of full personal data in events, and
//! the reads of `cajero privacy export`, which finds everything held about one person.
//!
//! The export's reads span every merchant and both modes on purpose — a person's data is
//! asked for across the whole instance, by the platform operator — so, unlike the rest of the
//! store, they are not scoped to one merchant. Each is bounded by its caller's `limit`.

use cajero_domain::id::MerchantId;
use sqlx::AssertSqlSafe;

use crate::operators::AuditEntry;
use crate::{Conn, Micros, StoreError, execute, fetch};

/// Whether the merchant opted in to full personal data in its events (`None`: no such
/// merchant). The outbox reads the same column with the endpoints
/// ([`crate::events::emit`]); this read is for the pages that show the setting.
pub async fn full_personal_data_in_events(
    conn: &mut Conn<'_>,
    merchant: MerchantId,
) -> Result<Option<bool>, StoreError> {
    let row = fetch!(
        optional,
        conn,
        (bool,),
        "SELECT full_personal_data_in_events FROM merchants WHERE id = $1",
        merchant.to_string(),
    )?;
    Ok(row.map(|(full,)| full))
}

/// Sets the merchant's choice, in the caller's unit of work (with its audit entry): events
/// made after it commits follow it. False for an unknown merchant.
pub async fn set_full_personal_data_in_events(
    conn: &mut Conn<'_>,
    merchant: MerchantId,
    full: bool,
    now: jiff::Timestamp,
) -> Result<bool, StoreError> {
    let changed = execute!(
        conn,
        "UPDATE merchants SET full_personal_data_in_events = $1, updated_at = $2 WHERE id = $3",
        full,
        Micros::from(now).0,
        merchant.to_string(),
    )?;
    Ok(changed == 1)
}

/// An order of a person: enough to load it as its merchant sees it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct OrderOfPerson {
    /// `pi_…` or `po_…`.
    pub id: String,
    /// Whose.
    pub merchant_id: String,
    /// Live or test.
    pub livemode: bool,
}

/// Where a person is in an order's JSON: the pay-in's customer or the payout's beneficiary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonIn {
    /// `payins.customer`.
    PayinCustomer,
    /// `payouts.beneficiary`.
    PayoutBeneficiary,
}

impl PersonIn {
    fn table_and_column(self) -> (&'static str, &'static str) {
        match self {
            PersonIn::PayinCustomer => ("payins", "customer"),
            PersonIn::PayoutBeneficiary => ("payouts", "beneficiary"),
        }
    }
}

/// The orders whose customer or beneficiary holds this document (`number` canonical, as the
/// API stores it), every merchant's in both modes, oldest first, at most `limit`.
///
/// The number is inside a JSON column: the search goes through migration 0030's expression
/// index on it (`payins_by_customer_document`, `payouts_by_beneficiary_document`), so the
/// expression here must stay exactly the index's. The type is then checked on the few rows
/// found.
pub async fn orders_of_person(
    conn: &mut Conn<'_>,
    person_in: PersonIn,
    document_type: &str,
    number: &str,
    limit: i64,
) -> Result<Vec<OrderOfPerson>, StoreError> {
    let (table, column) = person_in.table_and_column();
    let (number_expr, type_expr) = match conn {
        Conn::Sqlite(_) => (
            format!("json_extract({column}, '$.document.number')"),
            format!("json_extract({column}, '$.document.type')"),
        ),
        Conn::Postgres(_) => (
            format!("((({column}::jsonb) -> 'document') ->> 'number')"),
            format!("((({column}::jsonb) -> 'document') ->> 'type')"),
        ),
    };
    let sql = AssertSqlSafe(format!(
        "SELECT id, merchant_id, livemode FROM {table} WHERE {number_expr} = $1 \
         AND {type_expr} = $2 ORDER BY id LIMIT $3"
    ));
    Ok(fetch!(
        all,
        conn,
        OrderOfPerson,
        sql,
        number,
        document_type,
        limit
    )?)
}

/// A merchant's KYC application, as the export reads it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct KycApplicationRow {
    /// `mer_…`.
    pub merchant_id: String,
    /// draft, submitted, in_review, approved, rejected, needs_info.
    pub status: String,
    /// JSON: `cajero_domain::kyc::Application`.
    pub application: String,
    /// µs.
    pub submitted_at: Option<i64>,
    /// µs.
    pub decided_at: Option<i64>,
}

/// KYC applications after merchant `after` (by merchant id), at most `limit`.
///
/// The people of an application (its representative and owners) are inside its JSON, as the
/// merchant typed them, so they cannot be searched by index: the export reads the applications
/// page by page and compares each person's number in canonical form. That is a scan of
/// `merchant_kyc`, one row per merchant: its cost grows with the number of merchants of the
/// instance (thousands), not with their orders.
pub async fn kyc_applications_after(
    conn: &mut Conn<'_>,
    after: &str,
    limit: i64,
) -> Result<Vec<KycApplicationRow>, StoreError> {
    Ok(fetch!(
        all,
        conn,
        KycApplicationRow,
        "SELECT merchant_id, status, application, submitted_at, decided_at FROM merchant_kyc \
         WHERE merchant_id > $1 ORDER BY merchant_id LIMIT $2",
        after,
        limit,
    )?)
}

/// The audit entries about `object_id` (an order, or a person's `TYPE:NUMBER` for earlier
/// exports), oldest first, at most `limit` (index `audit_log_by_object`).
pub async fn audit_of_object(
    conn: &mut Conn<'_>,
    object_id: &str,
    limit: i64,
) -> Result<Vec<AuditEntry>, StoreError> {
    Ok(fetch!(
        all,
        conn,
        AuditEntry,
        "SELECT id, merchant_id, user_id, actor, action, object_id, ip, at, reason \
         FROM audit_log WHERE object_id = $1 ORDER BY id LIMIT $2",
        object_id,
        limit,
    )?)
}

/// Risk decisions whose inputs name the document `key` (`TYPE:NUMBER`, as the decision stores
/// it), oldest first, at most `limit`. `risk_decisions` holds only operations where a check
/// fired (held, refused or alerted), and has no index on its inputs: this reads the table (named in docs/risk.md).
pub async fn risk_decisions_naming(
    conn: &mut Conn<'_>,
    key: &str,
    limit: i64,
) -> Result<Vec<crate::risk::DecisionRow>, StoreError> {
    let pattern = format!("%\"document\":\"{}\"%", like_escaped(key));
    Ok(fetch!(
        all,
        conn,
        crate::risk::DecisionRow,
        "SELECT id, merchant_id, livemode, flow, object_id, outcome, fired, inputs, \
         rules_version, sanctions_lists, at FROM risk_decisions \
         WHERE inputs LIKE $1 ESCAPE '\\' ORDER BY id LIMIT $2",
        pattern,
        limit,
    )?)
}

/// Blocklist entries (any list, removed ones too) of the document `key` (`TYPE:NUMBER`).
pub async fn blocklist_entries_of(
    conn: &mut Conn<'_>,
    key: &str,
    limit: i64,
) -> Result<Vec<crate::risk::BlockRow>, StoreError> {
    Ok(fetch!(
        all,
        conn,
        crate::risk::BlockRow,
        "SELECT id, merchant_id, kind, value, reason, created_by, created_at, removed_by, \
         removed_at, removed_reason FROM risk_blocklist WHERE kind = 'document' AND value = $1 \
         ORDER BY id LIMIT $2",
        key,
        limit,
    )?)
}

/// A UIAF flag naming a person.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct UiafFlagRow {
    /// The order.
    pub order_id: String,
    /// Its merchant.
    pub merchant_id: String,
    /// `YYYY-MM`.
    pub month: String,
    /// `single` or `monthly_aggregate`.
    pub why: String,
    /// `cash_in` or `cash_out`.
    pub direction: String,
    /// Pesos.
    pub amount: i64,
    /// µs.
    pub completed_at: i64,
    /// µs.
    pub flagged_at: i64,
}

/// The UIAF flags of the person (document type and number as the flags keep them: upper
/// case, letters and digits only). Flags are few (operations from COP 10M or a month from 50M)
/// and not indexed by person: this reads the table.
pub async fn uiaf_flags_of(
    conn: &mut Conn<'_>,
    document_type: &str,
    document_number: &str,
    limit: i64,
) -> Result<Vec<UiafFlagRow>, StoreError> {
    Ok(fetch!(
        all,
        conn,
        UiafFlagRow,
        "SELECT order_id, merchant_id, month, why, direction, amount, completed_at, flagged_at \
         FROM uiaf_flags WHERE document_type = $1 AND document_number = $2 \
         ORDER BY completed_at LIMIT $3",
        document_type,
        document_number,
        limit,
    )?)
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
fn like_escaped(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}
