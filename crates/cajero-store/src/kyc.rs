//! Merchants' KYC applications (migration 0022). Rows only; the rules are
//! `cajero_domain::kyc`, the steps the server's `kyc` service.

use sqlx::AssertSqlSafe;

use crate::{Conn, StoreError, execute, fetch};

/// A merchant's application as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct KycRow {
    /// `mer_…`.
    pub merchant_id: String,
    /// draft, submitted, in_review, approved, rejected, needs_info.
    pub status: String,
    /// JSON.
    pub application: String,
    /// The operator's questions (needs_info).
    pub questions: Option<String>,
    /// Why it was approved or rejected.
    pub decision_reason: Option<String>,
    /// `not_screened`, or the screening's outcome.
    pub screening: String,
    /// µs.
    pub submitted_at: Option<i64>,
    /// µs.
    pub decided_at: Option<i64>,
    /// Who decided (an operator's name).
    pub decided_by: Option<String>,
    /// µs.
    pub created_at: i64,
    /// µs.
    pub updated_at: i64,
}

const COLUMNS: &str = "merchant_id, status, application, questions, decision_reason, screening, \
    submitted_at, decided_at, decided_by, created_at, updated_at";

/// The merchant's application, if it has one.
pub async fn get(conn: &mut Conn<'_>, merchant_id: &str) -> Result<Option<KycRow>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM merchant_kyc WHERE merchant_id = $1"
    ));
    Ok(fetch!(optional, conn, KycRow, sql, merchant_id)?)
}

/// Saves the application's text while it is editable (a new one starts as `draft`); false
/// when it is not editable any more.
pub async fn save(
    conn: &mut Conn<'_>,
    merchant_id: &str,
    application: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let changed = execute!(
        conn,
        "INSERT INTO merchant_kyc (merchant_id, status, application, screening, created_at, \
         updated_at) VALUES ($1, 'draft', $2, 'not_screened', $3, $3) \
         ON CONFLICT (merchant_id) DO UPDATE SET application = excluded.application, \
         updated_at = excluded.updated_at \
         WHERE merchant_kyc.status IN ('draft', 'needs_info')",
        merchant_id,
        application,
        now,
    )?;
    Ok(changed == 1)
}

/// What a step changes besides the status.
#[derive(Debug, Clone, Default)]
pub struct Step<'a> {
    /// The operator's questions (request_info).
    pub questions: Option<&'a str>,
    /// Why (approve, reject).
    pub reason: Option<&'a str>,
    /// Who decided.
    pub decided_by: Option<&'a str>,
    /// The screening's outcome (submit).
    pub screening: Option<&'a str>,
    /// A submission.
    pub submitted: bool,
}

/// Moves the application from `from` to `to` (compare-and-set); false when it was no longer
/// in `from`.
pub async fn transition(
    conn: &mut Conn<'_>,
    merchant_id: &str,
    from: &str,
    to: &str,
    step: &Step<'_>,
    now: i64,
) -> Result<bool, StoreError> {
    let decided = matches!(to, "approved" | "rejected");
    let changed = execute!(
        conn,
        "UPDATE merchant_kyc SET status = $3, updated_at = $4, \
         questions = CASE WHEN $5 IS NULL THEN questions ELSE $5 END, \
         decision_reason = CASE WHEN $6 IS NULL THEN decision_reason ELSE $6 END, \
         decided_by = CASE WHEN $7 IS NULL THEN decided_by ELSE $7 END, \
         screening = CASE WHEN $8 IS NULL THEN screening ELSE $8 END, \
         submitted_at = CASE WHEN $9 THEN $4 ELSE submitted_at END, \
         decided_at = CASE WHEN $10 THEN $4 ELSE decided_at END \
         WHERE merchant_id = $1 AND status = $2",
        merchant_id,
        from,
        to,
        now,
        step.questions,
        step.reason,
        step.decided_by,
        step.screening,
        step.submitted,
        decided,
    )?;
    Ok(changed == 1)
}

/// Applications in one of `statuses`, oldest submission first (the review queue).
pub async fn queue(
    conn: &mut Conn<'_>,
    status: &str,
    limit: i64,
) -> Result<Vec<KycRow>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM merchant_kyc WHERE status = $1 \
         ORDER BY submitted_at, merchant_id LIMIT $2"
    ));
    Ok(fetch!(all, conn, KycRow, sql, status, limit)?)
}

/// A document of an application, without its content.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct DocumentRow {
    /// `doc_…`.
    pub id: String,
    /// `mer_…`.
    pub merchant_id: String,
    /// rut, chamber_certificate, representative_id, bank_certificate.
    pub kind: String,
    /// As uploaded (shown only).
    pub file_name: String,
    /// application/pdf, image/jpeg or image/png, from the content.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// Who uploaded it.
    pub uploaded_by: String,
    /// µs.
    pub created_at: i64,
}

const DOCUMENT_COLUMNS: &str =
    "id, merchant_id, kind, file_name, content_type, size, sha256, uploaded_by, created_at";

/// Stores a document with its content.
pub async fn insert_document(
    conn: &mut Conn<'_>,
    d: &DocumentRow,
    content: Vec<u8>,
) -> Result<(), StoreError> {
    execute!(
        conn,
        "INSERT INTO kyc_documents (id, merchant_id, kind, file_name, content_type, size, \
         sha256, content, uploaded_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &d.id,
        &d.merchant_id,
        &d.kind,
        &d.file_name,
        &d.content_type,
        d.size,
        &d.sha256,
        content,
        &d.uploaded_by,
        d.created_at,
    )?;
    Ok(())
}

/// The merchant's documents, newest first.
pub async fn documents(
    conn: &mut Conn<'_>,
    merchant_id: &str,
    limit: i64,
) -> Result<Vec<DocumentRow>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "SELECT {DOCUMENT_COLUMNS} FROM kyc_documents WHERE merchant_id = $1 \
         ORDER BY created_at DESC, id DESC LIMIT $2"
    ));
    Ok(fetch!(all, conn, DocumentRow, sql, merchant_id, limit)?)
}

/// One of the merchant's documents with its content.
pub async fn document(
    conn: &mut Conn<'_>,
    merchant_id: &str,
    id: &str,
) -> Result<Option<(DocumentRow, Vec<u8>)>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "SELECT {DOCUMENT_COLUMNS} FROM kyc_documents WHERE merchant_id = $1 AND id = $2"
    ));
    let Some(row) = fetch!(optional, conn, DocumentRow, sql, merchant_id, id)? else {
        return Ok(None);
    };
    let (content,) = fetch!(
        one,
        conn,
        (Vec<u8>,),
        "SELECT content FROM kyc_documents WHERE id = $1",
        id,
    )?;
    Ok(Some((row, content)))
}
