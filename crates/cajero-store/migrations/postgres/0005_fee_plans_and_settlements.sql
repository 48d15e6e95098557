-- Fee plans, settlement terms, FX rates and settlements (the ledger issue, part two).
-- Keep this file and ../sqlite/0005_fee_plans_and_settlements.sql defining the same tables
-- and columns.

-- A merchant's fee plan in one mode, as the JSON of cajero-domain's `FeePlan` (validated by
-- the domain before it is written and again when it is read). No row: test mode is free; live
-- mode uses the default plan below, else free.
CREATE TABLE fee_plans (
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    livemode     BOOLEAN NOT NULL,
    plan         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, livemode)
);

-- The operator's default plan for live merchants without their own (one row at most: live).
CREATE TABLE default_fee_plans (
    livemode     BOOLEAN PRIMARY KEY,
    plan         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

-- How a merchant is settled in one mode. No row: T+1 business day, in COP, no markup.
CREATE TABLE settlement_terms (
    merchant_id          TEXT NOT NULL REFERENCES merchants (id),
    livemode             BOOLEAN NOT NULL,
    delay_business_days  BIGINT NOT NULL CHECK (delay_business_days BETWEEN 0 AND 30),
    currency             TEXT NOT NULL CHECK (currency IN ('COP', 'USD')),
    fx_markup_bps        BIGINT NOT NULL CHECK (fx_markup_bps BETWEEN 0 AND 10000),
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, livemode)
);

-- The operator's COP per USD rate for a Bogotá calendar day, in micro-pesos (4012.345678 is
-- 4012345678). USD settlements of a day use that day's rate and never guess one.
CREATE TABLE fx_rates (
    rate_date          TEXT PRIMARY KEY,        -- YYYY-MM-DD (Bogotá)
    cop_per_usd_micros BIGINT NOT NULL CHECK (cop_per_usd_micros > 0),
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);

-- A settlement: collected pay-ins (their ledger batches, the lines) made available to the
-- merchant on a business day by one ledger batch. Totals are in COP (what was collected);
-- `amount` is what reached the available balance, in `currency` (COP, or USD at `fx_rate`
-- less `fx_markup_bps`).
CREATE TABLE settlements (
    id                      TEXT PRIMARY KEY,   -- set_…
    merchant_id             TEXT NOT NULL REFERENCES merchants (id),
    livemode                BOOLEAN NOT NULL,
    settlement_date         TEXT NOT NULL,      -- YYYY-MM-DD (Bogotá business day it ran for)
    status                  TEXT NOT NULL CHECK (status IN ('paid')),
    gross                   BIGINT NOT NULL CHECK (gross >= 0),
    fees                    BIGINT NOT NULL CHECK (fees >= 0),
    net                     BIGINT NOT NULL CHECK (net >= 0),
    currency                TEXT NOT NULL CHECK (currency IN ('COP', 'USD')),
    amount                  BIGINT NOT NULL CHECK (amount >= 0),
    fx_rate_micros          BIGINT,             -- COP per USD, when settled in USD
    fx_markup_bps           BIGINT,             -- when settled in USD
    line_count              BIGINT NOT NULL CHECK (line_count > 0),
    ledger_batch_id         TEXT REFERENCES ledger_batches (id),  -- none when nothing moved
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL
);

CREATE INDEX settlements_by_merchant ON settlements (merchant_id, livemode, id);

-- The pay-in ledger batches a settlement covers. The unique batch_id is what guarantees that
-- a pay-in batch is settled exactly once, whatever runs concurrently.
CREATE TABLE settlement_lines (
    settlement_id  TEXT NOT NULL REFERENCES settlements (id),
    batch_id       TEXT NOT NULL UNIQUE REFERENCES ledger_batches (id),
    source_id      TEXT,                        -- pi_…
    available_on   TEXT NOT NULL,               -- YYYY-MM-DD
    gross          BIGINT NOT NULL CHECK (gross >= 0),
    fees           BIGINT NOT NULL CHECK (fees >= 0),
    net            BIGINT NOT NULL CHECK (net >= 0),
    PRIMARY KEY (settlement_id, batch_id)
);

-- Finding due pay-in batches, and a merchant's monthly volume.
CREATE INDEX ledger_batches_by_code_available_on ON ledger_batches (code, available_on);
CREATE INDEX ledger_batches_by_merchant_code_created ON ledger_batches (merchant_id, livemode, code, created_at);
