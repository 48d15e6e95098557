-- Risk, continued (issue 18). The twin in the other engine's folder does the same with
-- PostgreSQL's statements.
--
-- 1. Counters on blocklists (`efecty:EF-BOG-001`). A counter is known only once cash has moved
--    there, so an operation completed at a blocked counter is recorded as a decision and
--    raises an operator alert; nothing is refused. SQLite keeps a CHECK inside its table, so
--    the table is rebuilt with the same rows and indexes.
CREATE TABLE risk_blocklist_new (
    id              TEXT PRIMARY KEY,               -- rbl_…
    merchant_id     TEXT REFERENCES merchants (id),
    kind            TEXT NOT NULL CHECK (kind IN ('document', 'name', 'phone', 'counter')),
    value           TEXT NOT NULL,                  -- the compared form (CC:79876543, +57…, sorted words, efecty:EF-BOG-001)
    reason          TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    removed_by      TEXT,
    removed_at      BIGINT,
    removed_reason  TEXT
);
INSERT INTO risk_blocklist_new
    SELECT id, merchant_id, kind, value, reason, created_by, created_at, removed_by, removed_at,
           removed_reason
    FROM risk_blocklist;
DROP TABLE risk_blocklist;
ALTER TABLE risk_blocklist_new RENAME TO risk_blocklist;
CREATE UNIQUE INDEX risk_blocklist_active ON risk_blocklist (kind, value, COALESCE(merchant_id, ''))
    WHERE removed_at IS NULL;
CREATE INDEX risk_blocklist_by_merchant ON risk_blocklist (merchant_id, id);

-- 2. A held pay-in's release claims it before the network is asked for the voucher: the
--    claim's token, until the release records the pay-in (or gives the claim back when the
--    network issued nothing). A claimed hold cannot be refused: the network may already hold
--    a voucher under its id, which only the release (or a second one, under a new claim:
--    the network answers a repeated reference with the same voucher) can record.
ALTER TABLE payin_holds ADD COLUMN releasing TEXT;
