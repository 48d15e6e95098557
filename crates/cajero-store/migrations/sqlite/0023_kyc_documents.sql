-- The documents of a merchant's KYC application (RUT, chamber of commerce certificate, the
-- representative's ID, bank certificate): kept in the database, outside any web root, with
-- their SHA-256. Keep this file and ../postgres/0023_kyc_documents.sql the same but for the
-- type of `content`.
CREATE TABLE kyc_documents (
    id            TEXT PRIMARY KEY,                     -- doc_…
    merchant_id   TEXT NOT NULL REFERENCES merchants (id),
    kind          TEXT NOT NULL CHECK (kind IN
                  ('rut', 'chamber_certificate', 'representative_id', 'bank_certificate')),
    file_name     TEXT NOT NULL,
    content_type  TEXT NOT NULL,                        -- from the content, not the name
    size          BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    content       BLOB NOT NULL,
    uploaded_by   TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE INDEX kyc_documents_by_merchant ON kyc_documents (merchant_id, created_at);
