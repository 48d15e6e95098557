-- The double-entry ledger (cajero-domain's `ledger` decides; this stores).
-- Keep this file and ../postgres/0002_ledger.sql defining the same tables and columns.

-- One row per account: its identity and its four running totals, which only the ledger
-- module changes, always together with the transfer that moves them. `cajero ledger verify`
-- recomputes them from the transfers.
CREATE TABLE ledger_accounts (
    id               TEXT PRIMARY KEY,          -- kind:owner:mode:currency
    kind             TEXT NOT NULL,
    merchant_id      TEXT REFERENCES merchants (id),
    network          TEXT,
    livemode         BOOLEAN NOT NULL,
    currency         TEXT NOT NULL,
    debits_pending   BIGINT NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
    debits_posted    BIGINT NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
    credits_pending  BIGINT NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
    credits_posted   BIGINT NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);

CREATE INDEX ledger_accounts_by_merchant ON ledger_accounts (merchant_id, livemode);

-- A batch is one business movement (a top-up, a pay-in with its fees, a payout's reservation
-- with its fees): its transfers commit together. A merchant's balance transactions are its
-- batches (id txn_…), with amounts derived from the transfers.
CREATE TABLE ledger_batches (
    id            TEXT PRIMARY KEY,             -- txn_…
    merchant_id   TEXT REFERENCES merchants (id),
    livemode      BOOLEAN NOT NULL,
    currency      TEXT NOT NULL,
    code          TEXT NOT NULL,                -- payin, payout, payout_reversal, refund, topup, settlement, adjustment
    source_id     TEXT,                         -- the object that caused it (po_…, pi_…, tu_…)
    available_on  TEXT,                         -- YYYY-MM-DD (Bogotá) when its money becomes available
    created_at    BIGINT NOT NULL
);

CREATE INDEX ledger_batches_by_merchant ON ledger_batches (merchant_id, livemode, id);
CREATE INDEX ledger_batches_by_source ON ledger_batches (source_id);

-- Immutable transfers. A post or void names its pending transfer in `pending_id`; the unique
-- index lets each pending transfer be resolved once.
CREATE TABLE ledger_transfers (
    id                 TEXT PRIMARY KEY,        -- chosen by the caller: a retry finds it
    batch_id           TEXT NOT NULL REFERENCES ledger_batches (id),
    debit_account_id   TEXT NOT NULL REFERENCES ledger_accounts (id),
    credit_account_id  TEXT NOT NULL REFERENCES ledger_accounts (id),
    amount             BIGINT NOT NULL CHECK (amount >= 0),
    currency           TEXT NOT NULL,
    livemode           BOOLEAN NOT NULL,
    mode               TEXT NOT NULL CHECK (mode IN ('single', 'pending', 'post_pending', 'void_pending')),
    pending_id         TEXT UNIQUE REFERENCES ledger_transfers (id),
    code               TEXT NOT NULL,
    created_at         BIGINT NOT NULL
);

CREATE INDEX ledger_transfers_by_batch ON ledger_transfers (batch_id);

-- Balance top-ups (POST /v1/topups): immediate in test mode, pending until an operator
-- confirms the bank transfer in live mode.
CREATE TABLE topups (
    id           TEXT PRIMARY KEY,              -- tu_…
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    livemode     BOOLEAN NOT NULL,
    amount       BIGINT NOT NULL CHECK (amount > 0),
    currency     TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'canceled')),
    description  TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

CREATE INDEX topups_by_merchant ON topups (merchant_id, livemode, id);

-- Idempotency-Key records (API.md): the stored result of a state-changing request, written in
-- the same transaction as the change. Kept at least 7 days.
CREATE TABLE idempotency_keys (
    merchant_id      TEXT NOT NULL REFERENCES merchants (id),
    livemode         BOOLEAN NOT NULL,
    idempotency_key  TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,             -- SHA-256 of method, path and canonical body
    state            TEXT NOT NULL CHECK (state IN ('running', 'done')),
    response_status  BIGINT,
    response_body    TEXT,
    locked_until     BIGINT NOT NULL,           -- a running request older than this crashed
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, livemode, idempotency_key)
);

CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
