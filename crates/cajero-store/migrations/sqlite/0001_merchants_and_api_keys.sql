-- Merchants and their API keys: the foundation every tenant-scoped table points at.
-- Times are Unix microseconds (BIGINT) made by the application, the same on both engines.
-- Keep this file and ../postgres/0001_merchants_and_api_keys.sql defining the same tables and
-- columns; a test compares them.

CREATE TABLE merchants (
    id          TEXT PRIMARY KEY,                       -- mer_…
    name        TEXT NOT NULL,
    nit         TEXT,                                   -- canonical 900123456-8, when known
    status      TEXT NOT NULL CHECK (status IN ('onboarding', 'active', 'suspended')),
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id              TEXT PRIMARY KEY,                   -- key_…
    merchant_id     TEXT NOT NULL REFERENCES merchants (id),
    livemode        BOOLEAN NOT NULL,
    -- HMAC-SHA256 of the whole secret under the instance's key-hash secret, hex. The secret
    -- itself is shown once at creation and never stored.
    secret_hash     TEXT NOT NULL UNIQUE,
    display_prefix  TEXT NOT NULL,                      -- sk_test_AbCd, to recognise a key
    created_at      BIGINT NOT NULL,
    revoked_at      BIGINT,
    last_used_at    BIGINT
);

CREATE INDEX api_keys_by_merchant ON api_keys (merchant_id, livemode);

-- Settings the instance generates for itself on first start (e.g. the key-hash secret when
-- none is configured).
CREATE TABLE instance_settings (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
