-- UIAF flags (issue 18): cash operations flagged as they happen, not only when the monthly
-- report is made. Keep this file and its twin in the other engine's folder the same.
--
-- The `uiaf_flags` worker (one instance at a time, under its lease) reads the completed live
-- pay-ins and payouts in the order cajero recorded them (`updated_at`, then `id`), from its
-- cursor, in bounded batches; the rules are `cajero_domain::uiaf`'s:
-- * a single operation of COP 10,000,000 or more is flagged `single` at once;
-- * a person's (document's) operations of a Bogotá calendar month are added up in
--   `uiaf_person_months`; when they reach COP 50,000,000, every one of that month is flagged
--   `monthly_aggregate` (the earlier ones are found in `uiaf_person_operations` by person and
--   month), and so is each later one.
-- The cursor moves in the unit of work that flags (a compare-and-set), and an operation is
-- counted and flagged at most once (primary keys on the order): a restart, a second instance
-- or a re-read never flags or counts twice.

-- One row per flagged operation, for good.
CREATE TABLE uiaf_flags (
    order_id         TEXT PRIMARY KEY,                 -- pi_… or po_…
    merchant_id      TEXT NOT NULL,
    livemode         BOOLEAN NOT NULL CHECK (livemode = TRUE),   -- test mode is never flagged
    month            TEXT NOT NULL,                    -- YYYY-MM of completed_at, in Bogotá
    why              TEXT NOT NULL CHECK (why IN ('single', 'monthly_aggregate')),
    direction        TEXT NOT NULL CHECK (direction IN ('cash_in', 'cash_out')),
    document_type    TEXT,                             -- normalised; NULL: no document (single only)
    document_number  TEXT,                             -- normalised: no dots, dashes or spaces
    amount           BIGINT NOT NULL,                  -- pesos
    completed_at     BIGINT NOT NULL,                  -- paid_at (µs)
    flagged_at       BIGINT NOT NULL
);

CREATE INDEX uiaf_flags_by_month ON uiaf_flags (month, completed_at, order_id);

-- Each person's month so far: the indexed aggregate the monthly rule reads (one row per
-- person and month, not a scan of the month).
CREATE TABLE uiaf_person_months (
    month            TEXT NOT NULL,
    document_type    TEXT NOT NULL,
    document_number  TEXT NOT NULL,
    total            BIGINT NOT NULL,                  -- pesos, in and out together
    operations       BIGINT NOT NULL,
    reached_at       BIGINT,                           -- when the total reached the threshold
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (month, document_type, document_number)
);

-- The operations counted in a person's month (so that a re-read does not count one twice, and
-- the month's earlier operations are found when it reaches the threshold).
CREATE TABLE uiaf_person_operations (
    order_id         TEXT PRIMARY KEY,
    merchant_id      TEXT NOT NULL,
    month            TEXT NOT NULL,
    document_type    TEXT NOT NULL,
    document_number  TEXT NOT NULL,
    direction        TEXT NOT NULL,
    amount           BIGINT NOT NULL,
    completed_at     BIGINT NOT NULL,
    counted_at       BIGINT NOT NULL
);

CREATE INDEX uiaf_person_operations_by_person
    ON uiaf_person_operations (month, document_type, document_number, completed_at, order_id);

-- Where the worker resumes: the last operation read, by (updated_at, id).
CREATE TABLE uiaf_flag_cursor (
    name             TEXT PRIMARY KEY,
    after_at         BIGINT NOT NULL,
    after_id         TEXT NOT NULL,
    updated_at       BIGINT NOT NULL
);

INSERT INTO uiaf_flag_cursor (name, after_at, after_id, updated_at) VALUES ('completed', 0, '', 0);

-- The completed live operations in the order cajero recorded them. A paid order is final, so
-- its updated_at moves again only for a refund's bookkeeping: it is then read again, and
-- counted and flagged nothing twice. (status and livemode lead so that SQLite's planner, without
-- statistics, prefers this index to `*_open_by_expiry (status, …)` for the worker's query.)
CREATE INDEX payins_completed_live ON payins (status, livemode, updated_at, id)
    WHERE livemode = TRUE AND status = 'paid';
CREATE INDEX payouts_completed_live ON payouts (status, livemode, updated_at, id)
    WHERE livemode = TRUE AND status = 'paid';
