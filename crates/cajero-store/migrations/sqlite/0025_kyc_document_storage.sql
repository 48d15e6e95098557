-- KYC documents (issue 17): where each document's content is kept, and the issue date of a
-- Cámara de Comercio certificate. Keep this file and ../postgres/0025_kyc_document_storage.sql
-- describing the same columns.
--
-- * storage: `database` (the bytes in `content`, as every row written before this migration)
--   or `file` (the bytes in the file at `storage_path`, under `[kyc] documents_dir`, named
--   after the document's id, never after the uploaded name; `content` is NULL). The SHA-256
--   is checked at every read, so a file changed on disk is refused, not served.
-- * issued_on: YYYY-MM-DD, the certificate's fecha de expedición as the merchant entered it
--   (chamber certificates only; NULL for the other kinds and for rows older than this). The
--   newest one must be at most 30 days old (Bogotá) when the application is submitted and
--   when it is approved.
--
-- SQLite cannot drop NOT NULL or add a CHECK in place: the table is rebuilt.
CREATE TABLE kyc_documents_rebuilt (
    id            TEXT PRIMARY KEY,                     -- doc_…
    merchant_id   TEXT NOT NULL REFERENCES merchants (id),
    kind          TEXT NOT NULL CHECK (kind IN
                  ('rut', 'chamber_certificate', 'representative_id', 'bank_certificate')),
    file_name     TEXT NOT NULL,
    content_type  TEXT NOT NULL,                        -- from the content, not the name
    size          BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    content       BLOB,
    uploaded_by   TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    storage       TEXT NOT NULL DEFAULT 'database',
    storage_path  TEXT,
    issued_on     TEXT,
    CONSTRAINT kyc_documents_stored_once CHECK (
        (storage = 'database' AND content IS NOT NULL AND storage_path IS NULL)
        OR (storage = 'file' AND content IS NULL AND storage_path IS NOT NULL)
    )
);
INSERT INTO kyc_documents_rebuilt (id, merchant_id, kind, file_name, content_type, size, sha256,
    content, uploaded_by, created_at)
SELECT id, merchant_id, kind, file_name, content_type, size, sha256, content, uploaded_by,
    created_at FROM kyc_documents;
DROP TABLE kyc_documents;
ALTER TABLE kyc_documents_rebuilt RENAME TO kyc_documents;
CREATE INDEX kyc_documents_by_merchant ON kyc_documents (merchant_id, created_at);
