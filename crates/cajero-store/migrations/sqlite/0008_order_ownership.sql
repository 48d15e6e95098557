-- Every network order has exactly one owner in our books, or an open exception that says why
-- not (issue 10).
--
-- * payment_exceptions also records network orders that we could not attach to an object we
--   own (`orphan_network_order`: canceled at the network at once, retried until it is) and
--   callbacks for orders we never heard of (`missing_in_cajero`: no merchant known, so
--   merchant_id becomes nullable). `resolved` closes an orphan once the network canceled it.
-- * idempotency records are found by the object they created, so that whoever resolves a
--   stuck payout also settles the key its client will retry with.
-- * unknown_callbacks remembers when a callback for an unknown order was first seen: it is
--   answered 503 (retry) during a grace period, then recorded as `missing_in_cajero`.
--
-- SQLite cannot drop NOT NULL or change a CHECK in place: the table is rebuilt.
CREATE TABLE payment_exceptions_rebuilt (
    id                TEXT PRIMARY KEY,
    merchant_id       TEXT REFERENCES merchants (id),
    livemode          BOOLEAN NOT NULL,
    kind              TEXT NOT NULL,   -- paid_after_expiry, paid_after_cancel, orphan_network_order, missing_in_cajero
    object_id         TEXT NOT NULL,   -- our object, or `network:order` when we have none
    amount            BIGINT NOT NULL,
    currency          TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('open', 'honored', 'refunded', 'resolved')),
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    network           TEXT,
    network_order_id  TEXT,
    detail            TEXT,
    UNIQUE (kind, object_id)
);
INSERT INTO payment_exceptions_rebuilt (id, merchant_id, livemode, kind, object_id, amount,
    currency, status, created_at, updated_at)
SELECT id, merchant_id, livemode, kind, object_id, amount, currency, status, created_at,
    updated_at FROM payment_exceptions;
DROP TABLE payment_exceptions;
ALTER TABLE payment_exceptions_rebuilt RENAME TO payment_exceptions;
CREATE INDEX payment_exceptions_by_kind ON payment_exceptions (kind, status);

CREATE INDEX idempotency_keys_by_resource ON idempotency_keys (merchant_id, livemode, resource_id);

CREATE TABLE unknown_callbacks (
    network           TEXT NOT NULL,
    network_order_id  TEXT NOT NULL,
    first_seen_at     BIGINT NOT NULL,
    PRIMARY KEY (network, network_order_id)
);
