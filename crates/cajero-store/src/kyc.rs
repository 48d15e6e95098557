//! Merchants' KYC applications (migration 0022) and their documents (0023, 0025): rows, and
//! the files of documents kept outside the database ([`files`]). The rules are
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

/// An owner of a merchant to tell of a KYC step: the address and the language.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct OwnerContact {
    /// Lower case.
    pub email: String,
    /// en, es-CO, zh-CN; `None`: never chosen.
    pub locale: Option<String>,
}

/// The merchant's dashboard users with the owner role, oldest first.
pub async fn owner_contacts(
    conn: &mut Conn<'_>,
    merchant_id: &str,
    limit: i64,
) -> Result<Vec<OwnerContact>, StoreError> {
    Ok(fetch!(
        all,
        conn,
        OwnerContact,
        "SELECT email, locale FROM dashboard_users WHERE merchant_id = $1 AND role = 'owner' \
         ORDER BY created_at, id LIMIT $2",
        merchant_id,
        limit,
    )?)
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
    /// Where its content is kept: [`STORAGE_DATABASE`] or [`STORAGE_FILE`] (migration 0025).
    pub storage: String,
    /// A Cámara de Comercio certificate's issue date as the merchant entered it (YYYY-MM-DD).
    pub issued_on: Option<String>,
}

/// The content is in the row.
pub const STORAGE_DATABASE: &str = "database";
/// The content is in a file of the documents directory.
pub const STORAGE_FILE: &str = "file";

const DOCUMENT_COLUMNS: &str = "id, merchant_id, kind, file_name, content_type, size, sha256, \
    uploaded_by, created_at, storage, issued_on";

/// Where a document's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentContent {
    /// In the row.
    Database(Vec<u8>),
    /// In this file (an absolute path).
    File(String),
}

/// Stores a document's row: with its content, or with the path of the file that holds it.
pub async fn insert_document(
    conn: &mut Conn<'_>,
    d: &DocumentRow,
    content: DocumentContent,
) -> Result<(), StoreError> {
    let (storage, content, path) = match content {
        DocumentContent::Database(bytes) => (STORAGE_DATABASE, Some(bytes), None),
        DocumentContent::File(path) => (STORAGE_FILE, None, Some(path)),
    };
    execute!(
        conn,
        "INSERT INTO kyc_documents (id, merchant_id, kind, file_name, content_type, size, \
         sha256, content, uploaded_by, created_at, storage, storage_path, issued_on) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
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
        storage,
        path,
        &d.issued_on,
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

/// The merchant's newest document of `kind`, if any.
pub async fn newest_document(
    conn: &mut Conn<'_>,
    merchant_id: &str,
    kind: &str,
) -> Result<Option<DocumentRow>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "SELECT {DOCUMENT_COLUMNS} FROM kyc_documents WHERE merchant_id = $1 AND kind = $2 \
         ORDER BY created_at DESC, id DESC LIMIT 1"
    ));
    Ok(fetch!(optional, conn, DocumentRow, sql, merchant_id, kind)?)
}

/// The kinds of which the merchant has at least one document.
pub async fn document_kinds(
    conn: &mut Conn<'_>,
    merchant_id: &str,
) -> Result<Vec<String>, StoreError> {
    let kinds = fetch!(
        all,
        conn,
        (String,),
        "SELECT DISTINCT kind FROM kyc_documents WHERE merchant_id = $1",
        merchant_id,
    )?;
    Ok(kinds.into_iter().map(|(k,)| k).collect())
}

/// Whether a row with this id exists (whoever's it is): after a write whose outcome is
/// unknown, says whether its file is still needed.
pub async fn document_exists(conn: &mut Conn<'_>, id: &str) -> Result<bool, StoreError> {
    let found = fetch!(
        optional,
        conn,
        (String,),
        "SELECT id FROM kyc_documents WHERE id = $1",
        id,
    )?;
    Ok(found.is_some())
}

#[derive(Debug, sqlx::FromRow, serde::Deserialize)]
struct Stored {
    storage: String,
    content: Option<Vec<u8>>,
    storage_path: Option<String>,
}

/// One of the merchant's documents and where its content is (the file is not read here).
pub async fn document(
    conn: &mut Conn<'_>,
    merchant_id: &str,
    id: &str,
) -> Result<Option<(DocumentRow, DocumentContent)>, StoreError> {
    let sql = AssertSqlSafe(format!(
        "SELECT {DOCUMENT_COLUMNS} FROM kyc_documents WHERE merchant_id = $1 AND id = $2"
    ));
    let Some(row) = fetch!(optional, conn, DocumentRow, sql, merchant_id, id)? else {
        return Ok(None);
    };
    let stored = fetch!(
        one,
        conn,
        Stored,
        "SELECT storage, content, storage_path FROM kyc_documents WHERE id = $1",
        id,
    )?;
    let corrupt = |detail: String| StoreError::Corrupt {
        table: "kyc_documents",
        detail,
    };
    let content = match (stored.storage.as_str(), stored.content, stored.storage_path) {
        (STORAGE_DATABASE, Some(bytes), _) => DocumentContent::Database(bytes),
        (STORAGE_FILE, _, Some(path)) => DocumentContent::File(path),
        (other, _, _) => return Err(corrupt(format!("document {id} stored as {other:?}"))),
    };
    Ok(Some((row, content)))
}

/// Documents kept as files: written whole or not at all, read back bounded.
///
/// A file is named by the caller (after the document's id, never the uploaded name) and
/// written as a temporary file in the same directory, flushed to disk, renamed into place and
/// the directory flushed too: after a crash the name holds the whole content or nothing. Only
/// the server's user may read the directory (0700) and the files (0600).
pub mod files {
    use std::io::{self, Read as _, Write as _};
    use std::path::{Path, PathBuf};

    /// Creates `dir` (and its parents) readable by this user only, when it is missing.
    pub fn ensure_dir(dir: &Path) -> io::Result<()> {
        if dir.is_dir() {
            return Ok(());
        }
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir)
    }

    /// Writes `content` as `dir/name` atomically and durably; the file's path. Refuses to
    /// replace an existing file (names are unique ids).
    pub fn write(dir: &Path, name: &str, content: &[u8]) -> io::Result<PathBuf> {
        if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\']) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("not a plain file name: {name:?}"),
            ));
        }
        ensure_dir(dir)?;
        let path = dir.join(name);
        if path.exists() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists", path.display()),
            ));
        }
        let temporary = dir.join(format!(".{name}.tmp"));
        let written = write_new(&temporary, content)
            .and_then(|()| std::fs::rename(&temporary, &path))
            .and_then(|()| sync_dir(dir));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&temporary);
            return Err(e);
        }
        Ok(path)
    }

    fn write_new(path: &Path, content: &[u8]) -> io::Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path)?;
        file.write_all(content)?;
        file.sync_all()
    }

    /// Flushes a directory's entries (the rename) to disk.
    fn sync_dir(dir: &Path) -> io::Result<()> {
        #[cfg(unix)]
        std::fs::File::open(dir)?.sync_all()?;
        #[cfg(not(unix))]
        let _ = dir;
        Ok(())
    }

    /// Reads a file of at most `bytes_max` bytes (a larger one is an error, not truncated).
    pub fn read(path: &Path, bytes_max: u64) -> io::Result<Vec<u8>> {
        let file = std::fs::File::open(path)?;
        let mut content = Vec::new();
        file.take(bytes_max.saturating_add(1))
            .read_to_end(&mut content)?;
        if u64::try_from(content.len()).unwrap_or(u64::MAX) > bytes_max {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is larger than {bytes_max} bytes", path.display()),
            ));
        }
        Ok(content)
    }

    /// Removes a file (an orphan whose row did not commit) and flushes the directory.
    pub fn remove(path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)?;
        match path.parent() {
            Some(dir) => sync_dir(dir),
            None => Ok(()),
        }
    }

    #[cfg(test)]
    #[allow(clippy::unwrap_used)]
    mod tests {
        use super::*;

        #[test]
        fn a_file_is_written_whole_under_its_name_and_read_back_bounded() {
            let dir = tempfile::tempdir().unwrap();
            let nested = dir.path().join("kyc").join("documents");
            let path = write(&nested, "doc_1.pdf", b"%PDF-1.7 hello").unwrap();
            assert_eq!(path, nested.join("doc_1.pdf"));
            assert_eq!(read(&path, 14).unwrap(), b"%PDF-1.7 hello");
            assert!(read(&path, 13).is_err(), "a larger file is refused");
            // No temporary file is left; a name is never written twice.
            let names: Vec<_> = std::fs::read_dir(&nested)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(names, vec![std::ffi::OsString::from("doc_1.pdf")]);
            assert!(write(&nested, "doc_1.pdf", b"other").is_err());
            assert_eq!(read(&path, 100).unwrap(), b"%PDF-1.7 hello");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode(&nested), 0o700);
                assert_eq!(mode(&path), 0o600);
            }
            for bad in ["", ".hidden", "../escape", "a/b"] {
                assert!(write(&nested, bad, b"x").is_err(), "{bad:?}");
            }
            remove(&path).unwrap();
            assert!(!path.exists());
        }
    }
}
