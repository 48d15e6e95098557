-- Instance identity and liveness, and the holders of leases and claims (issue 10, faults 4
-- and 6). Keep this file and ../postgres/0006_instances_and_leases.sql defining the same tables
-- and columns.

-- One row per server instance (a stable id: configured, or derived from the host name and
-- the listen address) with its current incarnation (random, new at every start). A start
-- replaces the incarnation, so everything the previous one held is known dead at once; an
-- incarnation whose heartbeat is older than cajero_store::instances::DEAD_AFTER_MS is dead too.
CREATE TABLE instances (
    instance_id   TEXT PRIMARY KEY,
    incarnation   TEXT NOT NULL UNIQUE,
    started_at    BIGINT NOT NULL,
    heartbeat_at  BIGINT NOT NULL
);

-- The incarnation holding a delivery's lease (locked_by is the claim's token within it).
ALTER TABLE webhook_deliveries ADD COLUMN holder TEXT;

-- Leased deliveries by claim token: renewals, and releases of dead holders' leases.
CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (locked_by)
    WHERE locked_by IS NOT NULL;

-- The incarnation running a request that holds its Idempotency-Key (state 'running').
ALTER TABLE idempotency_keys ADD COLUMN holder TEXT;

CREATE INDEX idempotency_keys_running ON idempotency_keys (created_at) WHERE state = 'running';
