-- Fewer index entries per order (issue 12). The twin in the other engine's folder is the same.
--
-- Only test-mode orders on a test clock are ever looked up by their clock (advancing it, asking
-- what it holds), and those lookups name the clock (`test_clock = $1`, or `test_clock IS NOT
-- NULL`), so the index needs no row without one. Made partial, a payout or pay-in on real time
-- (nearly every order) writes nothing to it: not when inserted and not at each change of status,
-- which, in PostgreSQL, writes a new entry into every index of the row that is not partial or
-- whose condition the new version meets.
DROP INDEX payins_on_test_clock;
CREATE INDEX payins_on_test_clock ON payins (test_clock, status, expires_at)
    WHERE test_clock IS NOT NULL;
DROP INDEX payouts_on_test_clock;
CREATE INDEX payouts_on_test_clock ON payouts (test_clock, status, expires_at)
    WHERE test_clock IS NOT NULL;
