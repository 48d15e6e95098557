-- Sanctions lists (issue 18): each publisher's files as loaded by `cajero sanctions load` or
-- the daily reload from `[sanctions]` paths. Every server parses the newest row of each
-- source into memory and screens names against it; the version screened with is recorded
-- with each decision. Keep this file and its twin in the other engine's folder the same
-- (but for BLOB/BYTEA).
CREATE TABLE sanctions_lists (
    id            TEXT PRIMARY KEY,                 -- sal_… (newest last)
    source        TEXT NOT NULL CHECK (source IN ('ofac', 'un')),
    version       TEXT NOT NULL,                    -- source, publication date, SHA-256 of each file
    main_file     BYTEA NOT NULL,                      -- sdn.csv, or the UN's consolidated XML
    alias_file    BYTEA,                               -- alt.csv (OFAC)
    published_at  BIGINT,
    entries       BIGINT NOT NULL,
    loaded_by     TEXT NOT NULL,
    loaded_at     BIGINT NOT NULL
);

CREATE INDEX sanctions_lists_newest ON sanctions_lists (source, id);
