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
ALTER TABLE payment_exceptions ALTER COLUMN merchant_id DROP NOT NULL;
ALTER TABLE payment_exceptions DROP CONSTRAINT payment_exceptions_status_check;
ALTER TABLE payment_exceptions ADD CONSTRAINT payment_exceptions_status_check
    CHECK (status IN ('open', 'honored', 'refunded', 'resolved'));
ALTER TABLE payment_exceptions ADD COLUMN network TEXT;
ALTER TABLE payment_exceptions ADD COLUMN network_order_id TEXT;
ALTER TABLE payment_exceptions ADD COLUMN detail TEXT;
CREATE INDEX payment_exceptions_by_kind ON payment_exceptions (kind, status);

CREATE INDEX idempotency_keys_by_resource ON idempotency_keys (merchant_id, livemode, resource_id);

CREATE TABLE unknown_callbacks (
    network           TEXT NOT NULL,
    network_order_id  TEXT NOT NULL,
    first_seen_at     BIGINT NOT NULL,
    PRIMARY KEY (network, network_order_id)
);
