-- Risk rules, blocklists and decisions (issue 18). Keep this file and its twin in the other
-- engine's folder the same.

-- Every version of the rule set: the newest is in force. Who, when, why and what changed.
CREATE TABLE risk_rule_versions (
    version     BIGINT PRIMARY KEY,                 -- 1, 2, … (no gaps)
    rules       TEXT NOT NULL,                      -- the canonical JSON document
    diff        TEXT NOT NULL,                      -- one line per rule added (+), removed (-), changed (~)
    reason      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- Calendar totals a rule compares: one row per scope (flow, subject value, the rule's
-- filters, live or test) and Bogotá day (`d:2026-11-30`) or month (`m:2026-11-01`), added to
-- by every operation a rule in force counts. Read by primary key: no scan of history.
CREATE TABLE risk_totals (
    scope   TEXT NOT NULL,
    span    TEXT NOT NULL,
    count   BIGINT NOT NULL,
    amount  BIGINT NOT NULL,
    PRIMARY KEY (scope, span)
);

-- Velocity rows: one per operation and scope a velocity rule counts, read by an index range
-- over the window (31 days at most); older rows are purged.
CREATE TABLE risk_velocity (
    scope      TEXT NOT NULL,
    at         BIGINT NOT NULL,
    amount     BIGINT NOT NULL,
    object_id  TEXT NOT NULL
);
CREATE INDEX risk_velocity_by_scope ON risk_velocity (scope, at);
CREATE INDEX risk_velocity_by_time ON risk_velocity (at);

-- Velocity buckets: per scope and bucket size (a sixtieth of a rule's window), the operations
-- of each bucket added up. A window is read as the buckets wholly inside it plus the single
-- rows of the one bucket its start cuts: at most 61 bucket rows and one bucket's rows,
-- however busy the scope.
CREATE TABLE risk_velocity_buckets (
    scope     TEXT NOT NULL,
    bucket_s  BIGINT NOT NULL,
    start     BIGINT NOT NULL,                      -- µs, a multiple of bucket_s
    count     BIGINT NOT NULL,
    amount    BIGINT NOT NULL,
    PRIMARY KEY (scope, bucket_s, start)
);
CREATE INDEX risk_velocity_buckets_by_time ON risk_velocity_buckets (start);

-- Blocklists: the operator's (merchant_id NULL, for every merchant) and each merchant's own.
-- Removed entries are kept, with who removed them and why.
CREATE TABLE risk_blocklist (
    id              TEXT PRIMARY KEY,               -- rbl_…
    merchant_id     TEXT REFERENCES merchants (id),
    kind            TEXT NOT NULL CHECK (kind IN ('document', 'name', 'phone')),
    value           TEXT NOT NULL,                  -- the compared form (CC:79876543, +57…, sorted words)
    reason          TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    removed_by      TEXT,
    removed_at      BIGINT,
    removed_reason  TEXT
);
CREATE UNIQUE INDEX risk_blocklist_active ON risk_blocklist (kind, value, COALESCE(merchant_id, ''))
    WHERE removed_at IS NULL;
CREATE INDEX risk_blocklist_by_merchant ON risk_blocklist (merchant_id, id);

-- Decisions that held or refused an operation, with the checks that fired and their inputs.
-- An operation allowed with nothing fired is not written here: the order is its record.
CREATE TABLE risk_decisions (
    id               TEXT PRIMARY KEY,              -- rdc_…
    merchant_id      TEXT NOT NULL REFERENCES merchants (id),
    livemode         BOOLEAN NOT NULL,
    flow             TEXT NOT NULL CHECK (flow IN ('payin', 'payout')),
    object_id        TEXT NOT NULL,                 -- pi_…/po_… (a refused one's id was never used)
    outcome          TEXT NOT NULL CHECK (outcome IN ('allow', 'review', 'deny')),
    fired            TEXT NOT NULL,                 -- JSON: [{rule, action, reason, observed}]
    inputs           TEXT NOT NULL,                 -- JSON: amount, network, document, phone, name
    rules_version    BIGINT,                        -- NULL: no rules were in force
    sanctions_lists  TEXT,                          -- sal_… screened with, NULL: none loaded
    at               BIGINT NOT NULL
);
CREATE INDEX risk_decisions_by_merchant ON risk_decisions (merchant_id, livemode, id);
CREATE INDEX risk_decisions_by_object ON risk_decisions (object_id);

-- Pay-ins held for review: the accepted request waits here, no voucher issued, until an
-- operator releases it (the voucher is then issued under the same id) or refuses it.
CREATE TABLE payin_holds (
    id            TEXT PRIMARY KEY,                 -- pi_… (the pay-in's id once released)
    merchant_id   TEXT NOT NULL REFERENCES merchants (id),
    livemode      BOOLEAN NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('on_hold', 'released', 'refused')),
    request       TEXT NOT NULL,                    -- JSON: the accepted request
    decision_id   TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    decided_by    TEXT,
    decided_at    BIGINT,
    reason        TEXT
);
CREATE INDEX payin_holds_open ON payin_holds (status, id);
CREATE INDEX payin_holds_by_merchant ON payin_holds (merchant_id, livemode, id);
