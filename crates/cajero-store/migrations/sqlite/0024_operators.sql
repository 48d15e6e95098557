-- The operator's console (issue 17): the platform's own staff, apart from merchants' users.
-- Keep this file and its twin in the other engine's folder the same.
--
-- * An operator has no merchant; it signs in at /console with a password (argon2id) and a
--   TOTP code, always: a session is `verified` only after a code, and an operator without
--   two-factor must set it up before anything else opens.
-- * Lock-out, one use per code and the secret sealed with the instance key work as for the
--   dashboard's users (0019). A disabled operator signs in no more.
-- * Every operator action is written to `audit_log` with its reason (new column `reason`);
--   the console searches that log by actor, action, object and merchant.
CREATE TABLE operators (
    id              TEXT PRIMARY KEY,              -- opr_…
    email           TEXT NOT NULL UNIQUE,          -- lower case
    name            TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    failed_logins   BIGINT NOT NULL,
    locked_until    BIGINT,
    totp_secret     TEXT,                          -- sealed; NULL: never set up
    totp_enabled_at BIGINT,
    totp_last_step  BIGINT,
    disabled_at     BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE operator_sessions (
    id            TEXT PRIMARY KEY,                -- hex SHA-256 of the cookie's token
    operator_id   TEXT NOT NULL REFERENCES operators (id),
    csrf_token    TEXT NOT NULL,
    verified      BOOLEAN NOT NULL,                -- the TOTP code was given
    ip            TEXT,
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL
);

CREATE INDEX operator_sessions_by_operator ON operator_sessions (operator_id);

ALTER TABLE audit_log ADD COLUMN reason TEXT;
