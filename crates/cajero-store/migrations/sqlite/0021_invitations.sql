-- Invitations of a merchant's owners to new dashboard users: one-time links, kept as the
-- SHA-256 of their token. Keep this file and its twin in the other engine's folder the same.
CREATE TABLE dashboard_invitations (
    id           TEXT PRIMARY KEY,                      -- inv_…
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    email        TEXT NOT NULL,                         -- lower case
    role         TEXT NOT NULL CHECK (role IN ('owner', 'developer', 'analyst')),
    token_hash   TEXT NOT NULL UNIQUE,
    invited_by   TEXT NOT NULL,                         -- usr_…
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    accepted_at  BIGINT,
    revoked_at   BIGINT
);

CREATE INDEX dashboard_invitations_by_merchant ON dashboard_invitations (merchant_id, created_at);
