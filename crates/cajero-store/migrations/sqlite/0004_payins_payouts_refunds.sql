-- Pay-ins (cash vouchers), payouts (cash pick-ups), refunds, and the raw evidence of every
-- exchange with a network. Keep this file and ../postgres/0004_payins_payouts_refunds.sql
-- defining the same tables and columns.

-- The id a network-calling request will create, remembered with its Idempotency-Key so that a
-- retry after a crash reuses it (and the network, which deduplicates by our reference, answers
-- with the same order).
ALTER TABLE idempotency_keys ADD COLUMN resource_id TEXT;

CREATE TABLE payins (
    id                TEXT PRIMARY KEY,             -- pi_…
    merchant_id       TEXT NOT NULL REFERENCES merchants (id),
    livemode          BOOLEAN NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'expired', 'canceled')),
    amount            BIGINT NOT NULL CHECK (amount > 0),
    currency          TEXT NOT NULL,
    network           TEXT NOT NULL,
    reference         TEXT,                         -- the merchant's own reference
    description       TEXT,
    customer          TEXT,                         -- JSON
    metadata          TEXT NOT NULL,                -- JSON object
    network_order_id  TEXT NOT NULL,
    payment_code      TEXT NOT NULL,
    agreement_code    TEXT,
    barcode_data      TEXT,
    page_token        TEXT NOT NULL UNIQUE,         -- /v/<token>: unguessable
    expires_at        BIGINT NOT NULL,
    paid_at           BIGINT,
    amount_refunded   BIGINT NOT NULL DEFAULT 0,
    fee               BIGINT NOT NULL DEFAULT 0,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    UNIQUE (network, network_order_id)
);

CREATE INDEX payins_by_merchant ON payins (merchant_id, livemode, id);
CREATE INDEX payins_open_by_expiry ON payins (status, expires_at);

CREATE TABLE payouts (
    id                TEXT PRIMARY KEY,             -- po_…
    merchant_id       TEXT NOT NULL REFERENCES merchants (id),
    livemode          BOOLEAN NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'on_hold', 'available', 'paid', 'expired', 'canceled', 'failed')),
    amount            BIGINT NOT NULL CHECK (amount > 0),
    currency          TEXT NOT NULL,
    network           TEXT NOT NULL,
    reference         TEXT,
    beneficiary       TEXT NOT NULL,                -- JSON
    metadata          TEXT NOT NULL,                -- JSON object
    network_order_id  TEXT,
    pickup_code       TEXT,
    page_token        TEXT NOT NULL UNIQUE,         -- /p/<token>
    expires_in_s      BIGINT NOT NULL,
    expires_at        BIGINT,
    paid_at           BIGINT,
    failure_code      TEXT,
    failure_message   TEXT,
    fee               BIGINT NOT NULL DEFAULT 0,    -- fee + IVA + GMF reserved with it
    refund_id         TEXT,                         -- set when the payout pays a refund
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);

CREATE INDEX payouts_by_merchant ON payouts (merchant_id, livemode, id);
CREATE INDEX payouts_open_by_expiry ON payouts (status, expires_at);
CREATE INDEX payouts_by_network_order ON payouts (network, network_order_id);

-- Counter attempts on payouts, as the network reported them; each once.
CREATE TABLE payout_attempts (
    id                  TEXT PRIMARY KEY,           -- the network's attempt id, prefixed by network
    payout_id           TEXT NOT NULL REFERENCES payouts (id),
    at                  BIGINT NOT NULL,
    counter_id          TEXT NOT NULL,
    outcome             TEXT NOT NULL,
    created_at          BIGINT NOT NULL
);

CREATE INDEX payout_attempts_by_payout ON payout_attempts (payout_id, at);

CREATE TABLE refunds (
    id           TEXT PRIMARY KEY,                  -- re_…
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    livemode     BOOLEAN NOT NULL,
    payin_id     TEXT NOT NULL REFERENCES payins (id),
    amount       BIGINT NOT NULL CHECK (amount > 0),
    currency     TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'canceled')),
    method       TEXT NOT NULL CHECK (method IN ('cash_pickup', 'bank_transfer')),
    reason       TEXT,
    payout_id    TEXT REFERENCES payouts (id),
    metadata     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

CREATE INDEX refunds_by_merchant ON refunds (merchant_id, livemode, id);
CREATE INDEX refunds_by_payin ON refunds (payin_id);

-- Every request cajero sends to a network, its response, and every callback, raw (secrets
-- redacted), linked to the order, kept for the configured retention (default 13 months).
CREATE TABLE network_messages (
    id               TEXT PRIMARY KEY,              -- msg_…
    merchant_id      TEXT REFERENCES merchants (id),
    livemode         BOOLEAN NOT NULL,
    network          TEXT NOT NULL,
    object_id        TEXT,                          -- pi_… / po_…
    direction        TEXT NOT NULL CHECK (direction IN ('outbound', 'inbound')),
    operation        TEXT NOT NULL,
    request          TEXT NOT NULL,
    response_status  BIGINT,
    response         TEXT NOT NULL,
    at               BIGINT NOT NULL,
    duration_ms      BIGINT NOT NULL,
    created_at       BIGINT NOT NULL
);

CREATE INDEX network_messages_by_object ON network_messages (object_id, at);
CREATE INDEX network_messages_by_age ON network_messages (created_at);

-- Callbacks already processed, by the network's callback id: a duplicate changes nothing.
CREATE TABLE network_callbacks (
    network      TEXT NOT NULL,
    callback_id  TEXT NOT NULL,
    received_at  BIGINT NOT NULL,
    PRIMARY KEY (network, callback_id)
);

-- Money that really moved but has no open order to land on (a payment after expiry): never
-- lost, held in suspense until an operator honours or refunds it.
CREATE TABLE payment_exceptions (
    id           TEXT PRIMARY KEY,
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    livemode     BOOLEAN NOT NULL,
    kind         TEXT NOT NULL,                     -- paid_after_expiry, paid_after_cancel
    object_id    TEXT NOT NULL,
    amount       BIGINT NOT NULL,
    currency     TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('open', 'honored', 'refunded')),
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (kind, object_id)
);
