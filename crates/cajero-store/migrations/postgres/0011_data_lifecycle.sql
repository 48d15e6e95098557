-- Less written, and a data lifecycle (issue 12). Keep this file and
-- ../sqlite/0011_data_lifecycle.sql defining the same tables and columns.

-- Network evidence stored compressed. `encoding` says how each row is stored, so rows written
-- before this migration (`plain`: request and response as text) still read back, and a later
-- encoding (a zstd dictionary, say) can be added beside these without rebuilding the table (the
-- code refuses a value it does not know, so no CHECK here):
-- * plain: `request` and `response` hold the text; `packed` is NULL.
-- * zstd, zstd_d1: `request` and `response` are empty; `packed` is one zstd frame of the
--   request's length (4 bytes, little-endian), the request, then the response (both UTF-8),
--   without a dictionary (zstd) or against dictionary v1 (zstd_d1, what is written). One
--   frame for both, because a response repeats much of its request. See
--   cajero_store::evidence_codec.
ALTER TABLE network_messages ADD COLUMN encoding TEXT NOT NULL DEFAULT 'plain';
ALTER TABLE network_messages ADD COLUMN packed BYTEA;

-- Leases of singleton workers (the purge): the worker named `name` runs on the instance whose
-- incarnation `holder` holds it until `locked_until`; a dead holder's lease is taken over at
-- once (see cajero_store::instances).
CREATE TABLE worker_leases (
    name          TEXT PRIMARY KEY,
    holder        TEXT NOT NULL,
    locked_until  BIGINT NOT NULL
);

-- The purge finds what is past its retention by age: events by their time-sortable id,
-- idempotency records and evidence by their existing age indexes, and processed callbacks
-- (kept as long as the evidence) by this one.
CREATE INDEX network_callbacks_by_age ON network_callbacks (received_at);
