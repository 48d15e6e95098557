-- The version of everything the servers keep in memory about merchants (issue 12, "Hot reads
-- from memory"): API keys, merchants' statuses, fee plans and settlement terms. Every change
-- to them bumps this one row in the same transaction, and a server trusts what it cached only
-- under the version it reads back, so a revoked key or a suspended merchant is refused on the
-- very next request, on every instance and after any process (the CLI too) changed it.
-- Written only by operators' changes, so never a hot row for writes.
-- Keep this file and ../postgres/0013_cache_version.sql alike.
CREATE TABLE cache_version (
    id       BIGINT PRIMARY KEY CHECK (id = 1),      -- one row
    version  BIGINT NOT NULL
);
INSERT INTO cache_version (id, version) VALUES (1, 0);
