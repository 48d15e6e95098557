-- Events and outgoing webhooks (API.md, "Webhooks"): the outbox and its delivery log.
-- Keep this file and ../sqlite/0003_events_and_webhooks.sql defining the same tables and
-- columns; a test compares them.

-- An endpoint a merchant receives events at. Soft-deleted (`deleted_at`) so that the delivery
-- log of past events keeps pointing at it.
CREATE TABLE webhook_endpoints (
    id                          TEXT PRIMARY KEY,       -- we_…
    merchant_id                 TEXT NOT NULL REFERENCES merchants (id),
    livemode                    BOOLEAN NOT NULL,
    url                         TEXT NOT NULL,
    description                 TEXT,
    enabled_events              TEXT NOT NULL,          -- JSON array: "payin.paid", "payout.*", "*"
    metadata                    TEXT NOT NULL,          -- JSON object of strings
    status                      TEXT NOT NULL CHECK (status IN ('enabled', 'disabled')),
    -- Why it is disabled: 'gone' (the receiver answered 410), 'failing' (five days of only
    -- failures) or 'requested' (by the merchant).
    disabled_reason             TEXT,
    -- The signing secrets (whsec_…). They must be readable to sign, so they are stored as
    -- they are; protect the database like the secrets it holds. After a rotation the previous
    -- secret keeps signing beside the new one until `previous_secret_expires_at`.
    secret                      TEXT NOT NULL,
    previous_secret             TEXT,
    previous_secret_expires_at  BIGINT,
    -- The first failed attempt since the last success; NULL while the endpoint is healthy.
    failing_since               BIGINT,
    deleted_at                  BIGINT,
    created_at                  BIGINT NOT NULL,
    updated_at                  BIGINT NOT NULL
);

CREATE INDEX webhook_endpoints_by_merchant ON webhook_endpoints (merchant_id, livemode);

-- Every event, written in the same transaction as the change that caused it.
CREATE TABLE events (
    id           TEXT PRIMARY KEY,                      -- evt_… (time-sortable)
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    livemode     BOOLEAN NOT NULL,
    type         TEXT NOT NULL,                         -- payout.paid, …
    data         TEXT NOT NULL,                         -- JSON: the object as the API shows it
    created_at   BIGINT NOT NULL
);

CREATE INDEX events_by_merchant ON events (merchant_id, livemode, id);
CREATE INDEX events_by_type ON events (merchant_id, livemode, type, id);

-- The outbox: one row per (event, endpoint), enqueued with the event. Workers claim due rows
-- with a lease (`locked_until`, `locked_by`); a crashed worker's lease runs out and another
-- takes the row over. A round is the schedule of API.md (8 attempts); a resend or a recovery
-- starts a new round.
CREATE TABLE webhook_deliveries (
    event_id         TEXT NOT NULL REFERENCES events (id),
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id),
    merchant_id      TEXT NOT NULL REFERENCES merchants (id),
    livemode         BOOLEAN NOT NULL,
    -- pending: to be (re)tried at next_attempt_at; succeeded; failed (schedule exhausted, or
    -- the endpoint was disabled); skipped (the endpoint was disabled when the event
    -- happened); canceled (the endpoint was deleted).
    status           TEXT NOT NULL
                     CHECK (status IN ('pending', 'succeeded', 'failed', 'skipped', 'canceled')),
    attempt_count    BIGINT NOT NULL,                   -- attempts made, all rounds
    round_attempts   BIGINT NOT NULL,                   -- attempts made in this round
    next_attempt_at  BIGINT,
    locked_until     BIGINT,
    locked_by        TEXT,
    last_attempt_at  BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (event_id, endpoint_id)
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, status, event_id);
CREATE INDEX webhook_deliveries_in_flight ON webhook_deliveries (endpoint_id, locked_until)
    WHERE locked_until IS NOT NULL;

-- The delivery log: every attempt, with what the receiver answered.
CREATE TABLE webhook_attempts (
    event_id       TEXT NOT NULL REFERENCES events (id),
    endpoint_id    TEXT NOT NULL REFERENCES webhook_endpoints (id),
    attempt        BIGINT NOT NULL,                     -- 1, 2, … across rounds
    started_at     BIGINT NOT NULL,
    duration_ms    BIGINT NOT NULL,
    status_code    BIGINT,                              -- NULL when no response came
    error          TEXT,                                -- timeout, connect, url_blocked, …
    response_body  TEXT NOT NULL,                       -- the first 4 KiB, as UTF-8 (lossy)
    PRIMARY KEY (event_id, endpoint_id, attempt)
);
