-- Daily reconciliation (issue 14): the networks' files, every line's outcome against our
-- orders, each file's tie-out, and exceptions with a resolution.
-- Keep this file and ../postgres/0015_reconciliation.sql defining the same tables and columns.
--
-- * A file is known by the SHA-256 of its bytes (for its mode, route, network and day: an
--   empty CSV is the same bytes every day): importing it again changes nothing. A file
--   refused by its parser is remembered as `rejected` with its problems (nothing of it is
--   imported); a later import of the same bytes parses it again (the parser's leniency may
--   have been configured since). `importing` marks an import that has not finished: its lines
--   are written in chunks, each idempotent, and a new import of the same bytes finishes it.
-- * reconciliation_lines holds one row per file line (`seq` = the line's number) and one per
--   order cajero holds paid that day that the file lacks (`seq` after the last line, `line`
--   NULL). The matched row of an order is how a later file recognises a line already seen.
-- * payment_exceptions gain a resolution (accepted, refund, adjusted, written_off), its note,
--   who resolved it, when, the ledger correction an `adjusted` one posted, and the file line
--   it came from.
CREATE TABLE reconciliation_files (
    id             TEXT PRIMARY KEY,              -- rcf_…
    sha256         TEXT NOT NULL,
    livemode       BOOLEAN NOT NULL,
    route          TEXT NOT NULL,
    network        TEXT NOT NULL,
    business_date  TEXT NOT NULL,                 -- YYYY-MM-DD (Bogotá) the file reports
    format         TEXT NOT NULL,                 -- asobancaria, csv, dlocal, payu, kushki
    source         TEXT NOT NULL,                 -- job, cli, upload
    imported_by    TEXT,
    status         TEXT NOT NULL CHECK (status IN ('importing', 'imported', 'rejected')),
    byte_count     BIGINT NOT NULL,
    line_count     BIGINT NOT NULL,
    total          BIGINT NOT NULL,               -- whole pesos of the paid lines
    matched        BIGINT NOT NULL,
    exceptions     BIGINT NOT NULL,
    problems       TEXT NOT NULL,                 -- JSON: a rejected file's problems, or warnings
    created_at     BIGINT NOT NULL,
    completed_at   BIGINT
);

CREATE INDEX reconciliation_files_by_day ON reconciliation_files (livemode, business_date, network);
-- The same bytes can be two days' files (a day without payments is a header alone).
CREATE UNIQUE INDEX reconciliation_files_by_content ON reconciliation_files
    (sha256, livemode, route, network, business_date);

CREATE TABLE reconciliation_lines (
    file_id           TEXT NOT NULL REFERENCES reconciliation_files (id),
    seq               BIGINT NOT NULL,
    line              BIGINT,
    kind              TEXT NOT NULL,              -- collection, payout
    merchant_id       TEXT,
    order_id          TEXT,
    code              TEXT,
    network_order_id  TEXT,
    amount            BIGINT NOT NULL,            -- as the file states; an order it lacks: ours
    network_status    TEXT NOT NULL,              -- paid, open, closed, absent
    counter           TEXT,
    outcome           TEXT NOT NULL,
    exception_id      TEXT,
    PRIMARY KEY (file_id, seq)
) WITHOUT ROWID;  -- one b-tree, not a table and its key: a file is up to a million lines

CREATE INDEX reconciliation_lines_by_order ON reconciliation_lines (order_id);

CREATE TABLE reconciliation_tie_outs (
    file_id            TEXT NOT NULL REFERENCES reconciliation_files (id),
    kind               TEXT NOT NULL,
    livemode           BOOLEAN NOT NULL,
    route              TEXT NOT NULL,
    network            TEXT NOT NULL,
    business_date      TEXT NOT NULL,
    file_total         BIGINT NOT NULL,
    matched_total      BIGINT NOT NULL,
    ledger_total       BIGINT NOT NULL,
    file_difference    BIGINT NOT NULL,
    ledger_difference  BIGINT NOT NULL,
    explained          BIGINT NOT NULL,
    unexplained        BIGINT NOT NULL,
    created_at         BIGINT NOT NULL,
    PRIMARY KEY (file_id, kind)
);

CREATE INDEX reconciliation_tie_outs_by_day ON reconciliation_tie_outs (livemode, business_date);

ALTER TABLE payment_exceptions ADD COLUMN resolution TEXT;
ALTER TABLE payment_exceptions ADD COLUMN resolution_note TEXT;
ALTER TABLE payment_exceptions ADD COLUMN resolved_by TEXT;
ALTER TABLE payment_exceptions ADD COLUMN resolved_at BIGINT;
ALTER TABLE payment_exceptions ADD COLUMN adjustment_id TEXT;
ALTER TABLE payment_exceptions ADD COLUMN file_id TEXT;
ALTER TABLE payment_exceptions ADD COLUMN line BIGINT;
ALTER TABLE payment_exceptions ADD COLUMN alerted_at BIGINT;
CREATE INDEX payment_exceptions_by_merchant ON payment_exceptions (merchant_id, livemode, id);
CREATE INDEX payment_exceptions_open_by_age ON payment_exceptions (status, created_at);

-- Orders by what a file line names them by, and by the day they were paid.
CREATE INDEX payins_by_code ON payins (network, payment_code);
CREATE INDEX payins_paid_by_day ON payins (network, paid_at);
CREATE INDEX payouts_paid_by_day ON payouts (network, paid_at);
