-- Test clocks (issue 11): a merchant's own simulated time in test mode, as Stripe's.
--
-- * A pay-in or payout created with `test_clock` lives on that clock: its `created`,
--   `expires_at` and expiry follow the clock's `frozen_time`, and so do the network's orders for
--   it. Everything else (other merchants, live mode, objects without a clock, ids, events,
--   webhook timestamps) runs on real time.
-- * A clock is deleted softly (`deleted_at`): the money objects that lived on it never vanish,
--   and still name it. Deleting is refused while the clock has open objects.
CREATE TABLE test_clocks (
    id                TEXT PRIMARY KEY,             -- clock_…
    merchant_id       TEXT NOT NULL REFERENCES merchants (id),
    name              TEXT,
    frozen_time       BIGINT NOT NULL,              -- the clock's now (µs)
    created_at        BIGINT NOT NULL,              -- real time
    updated_at        BIGINT NOT NULL,              -- real time of the last advance
    deleted_at        BIGINT
);
CREATE INDEX test_clocks_by_merchant ON test_clocks (merchant_id, id);

ALTER TABLE payins ADD COLUMN test_clock TEXT REFERENCES test_clocks (id);
ALTER TABLE payouts ADD COLUMN test_clock TEXT REFERENCES test_clocks (id);
-- What expired on one clock is found without scanning the others' objects.
CREATE INDEX payins_on_test_clock ON payins (test_clock, status, expires_at);
CREATE INDEX payouts_on_test_clock ON payouts (test_clock, status, expires_at);
