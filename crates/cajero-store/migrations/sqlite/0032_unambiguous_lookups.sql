-- Lookups PostgreSQL's planner cannot mistake (issue 12). The twin in the other engine's folder
-- is the same; SQLite plans these lookups right either way, and keeps its schema the same as
-- PostgreSQL's.
--
-- A connection caches a generic plan for a statement after a few executions. Made while a table
-- is small and has no statistics (a new database; or autovacuum off), every index whose leading
-- columns the statement names costs the same, and the plan could take an index that names only
-- some of them: the payout or pay-in of a network order found by scanning every order of that
-- network on (network, paid_at) or (network, payment_code), an idempotency record settled by
-- scanning every record of the merchant on (merchant_id, livemode, resource_id). Kept until the
-- table is next analyzed, such a plan made each call slower as the table grew (a bench on a new
-- database, autovacuum off: payouts/s falling from ≈ 580 in the first second to ≈ 100 after a
-- minute).
--
-- These indexes become partial: the searches they serve name the column they end on (a day's
-- range of paid_at, a payment code, a resource id), which implies it is not null; a lookup that
-- does not name it cannot use them, so it has only the index made for it. Rows still pending
-- (no paid_at, no code yet) or claims that created nothing (no resource id) no longer take room
-- in them.
DROP INDEX payins_paid_by_day;
CREATE INDEX payins_paid_by_day ON payins (network, paid_at) WHERE paid_at IS NOT NULL;
DROP INDEX payins_by_code;
CREATE INDEX payins_by_code ON payins (network, payment_code) WHERE payment_code IS NOT NULL;
DROP INDEX payouts_paid_by_day;
CREATE INDEX payouts_paid_by_day ON payouts (network, paid_at) WHERE paid_at IS NOT NULL;
DROP INDEX idempotency_keys_by_resource;
CREATE INDEX idempotency_keys_by_resource ON idempotency_keys (merchant_id, livemode, resource_id)
    WHERE resource_id IS NOT NULL;
