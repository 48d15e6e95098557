-- The simulator's own state, separate from cajero's store: a network is another system.
-- Each row keeps its object as a JSON document (`doc`); the other columns are for people
-- and ad-hoc queries. Instants are Unix microseconds (UTC).

CREATE TABLE sim_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE sim_merchants (
    id  TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);

CREATE TABLE sim_orders (
    id          TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL,
    network     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    reference   TEXT NOT NULL,
    status      TEXT NOT NULL,
    paid_at_us  BIGINT,
    doc         TEXT NOT NULL
);
CREATE INDEX sim_orders_paid ON sim_orders (network, paid_at_us);

CREATE TABLE sim_attempts (
    id       TEXT PRIMARY KEY,
    order_id TEXT,
    at_us    BIGINT NOT NULL,
    doc      TEXT NOT NULL
);

CREATE TABLE sim_callbacks (
    id     TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    doc    TEXT NOT NULL
);

-- Cash in each counter's drawer (the directory itself comes from the configuration).
CREATE TABLE sim_drawers (
    counter_id TEXT PRIMARY KEY,
    cash       BIGINT NOT NULL
);
