-- The merchant dashboard's people (issue 16): users, their sessions and the audit log.
-- Keep this file and ../sqlite/0019_dashboard.sql defining the same tables and columns.
--
-- * A user belongs to one merchant, with one role: owner, developer (keys and webhooks) or
--   analyst (read only). E-mail addresses are stored in lower case and are unique across
--   cajero (one sign-in, one merchant).
-- * `password_hash` is an argon2id PHC string (salt and parameters inside it).
-- * Failed sign-ins are counted on the user; `locked_until` refuses every sign-in until then
--   (the count restarts after a success or after the lock). Wrong second-factor codes count
--   the same way.
-- * Two-factor (TOTP, RFC 6238): `totp_secret` is sealed with the instance key (as webhook
--   secrets are); it is enabled once a first code confirms it (`totp_enabled_at`).
--   `totp_last_step` is the time step of the last code accepted: a code is accepted once.
-- * A session of a user with two-factor is `verified` only after its code.
-- * A session is known by the SHA-256 of its cookie's token (hex): the table alone opens no
--   session. Idle and absolute timeouts are judged from `last_seen_at` and `created_at`; the
--   CSRF token every form carries is the session's own. `livemode` is the test/live switch.
-- * The audit log records who did what, when and from where; rows are never updated.
CREATE TABLE dashboard_users (
    id              TEXT PRIMARY KEY,              -- usr_…
    merchant_id     TEXT NOT NULL REFERENCES merchants (id),
    email           TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('owner', 'developer', 'analyst')),
    password_hash   TEXT NOT NULL,
    locale          TEXT,                          -- en, es-CO, zh-CN; NULL: the browser's
    time_zone       TEXT NOT NULL,
    failed_logins   BIGINT NOT NULL,
    locked_until    BIGINT,
    totp_secret     TEXT,                          -- sealed; NULL: never set up
    totp_enabled_at BIGINT,                        -- NULL: not (yet) confirmed
    totp_last_step  BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE INDEX dashboard_users_by_merchant ON dashboard_users (merchant_id, id);

CREATE TABLE dashboard_sessions (
    id            TEXT PRIMARY KEY,                -- hex SHA-256 of the cookie's token
    user_id       TEXT NOT NULL REFERENCES dashboard_users (id),
    csrf_token    TEXT NOT NULL,
    livemode      BOOLEAN NOT NULL,
    verified      BOOLEAN NOT NULL,                -- second factor done (or none needed)
    ip            TEXT,
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL
);

CREATE INDEX dashboard_sessions_by_user ON dashboard_sessions (user_id);

CREATE TABLE audit_log (
    id           TEXT PRIMARY KEY,                 -- aud_…
    merchant_id  TEXT,                             -- NULL: the platform's (operator)
    user_id      TEXT,
    actor        TEXT NOT NULL,                    -- the user's e-mail, or who else acted
    action       TEXT NOT NULL,                    -- user.signed_up, session.created, …
    object_id    TEXT,
    ip           TEXT,
    at           BIGINT NOT NULL
);

CREATE INDEX audit_log_by_merchant ON audit_log (merchant_id, id);
