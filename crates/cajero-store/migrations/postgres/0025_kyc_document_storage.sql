-- KYC documents (issue 17): where each document's content is kept, and the issue date of a
-- Cámara de Comercio certificate. Keep this file and ../sqlite/0025_kyc_document_storage.sql
-- describing the same columns (SQLite rebuilds the table to drop NOT NULL).
--
-- * storage: `database` (the bytes in `content`, as every row written before this migration)
--   or `file` (the bytes in the file at `storage_path`, under `[kyc] documents_dir`, named
--   after the document's id, never after the uploaded name; `content` is NULL). The SHA-256
--   is checked at every read, so a file changed on disk is refused, not served.
-- * issued_on: YYYY-MM-DD, the certificate's fecha de expedición as the merchant entered it
--   (chamber certificates only; NULL for the other kinds and for rows older than this). The
--   newest one must be at most 30 days old (Bogotá) when the application is submitted and
--   when it is approved.
ALTER TABLE kyc_documents ALTER COLUMN content DROP NOT NULL;
ALTER TABLE kyc_documents ADD COLUMN storage TEXT NOT NULL DEFAULT 'database';
ALTER TABLE kyc_documents ADD COLUMN storage_path TEXT;
ALTER TABLE kyc_documents ADD COLUMN issued_on TEXT;
ALTER TABLE kyc_documents ADD CONSTRAINT kyc_documents_stored_once CHECK (
    (storage = 'database' AND content IS NOT NULL AND storage_path IS NULL)
    OR (storage = 'file' AND content IS NULL AND storage_path IS NOT NULL)
);
