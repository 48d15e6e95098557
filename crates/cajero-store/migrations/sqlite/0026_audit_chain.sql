-- A tamper-evident audit log (issue 18): every entry is sealed into a SHA-256 chain.
-- Keep this file and its twin in the other engine's folder the same.
--
-- * Entries are inserted as before (cheaply, by whoever acts); the `audit_chain` worker, one
--   instance at a time, seals the unsealed ones in id order: `seq` is the entry's place in the
--   chain (1, 2, 3, … without gaps), `prev_hash` the hash of entry `seq - 1` (64 zeros for the
--   first), `hash` = SHA-256 of `prev_hash` and the entry's canonical text
--   (`cajero_server::audit_chain::canonical`).
-- * A sealed entry is never updated again; `cajero audit verify` recomputes the chain and names
--   the first entry that was changed, removed or inserted.
ALTER TABLE audit_log ADD COLUMN seq BIGINT;
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;

CREATE UNIQUE INDEX audit_log_by_seq ON audit_log (seq);
CREATE INDEX audit_log_unsealed ON audit_log (id) WHERE seq IS NULL;
