-- A counter is judged by its own network's attempts in one mode. The twin in the other
-- engine's folder does the same.
--
-- A counter's health (`counter_out_of_cash`, `counter_failure_spike`) was judged from every
-- attempt recorded under its id, whatever the network or the mode: a test-mode collection at a
-- counter id that a live counter also has could resolve, or keep from being raised, the live
-- counter's alert, and test failures counted towards a live spike. Each attempt now carries its
-- payout's network and mode, and the lookups name them. The columns keep their defaults, so
-- that an instance still on the previous release (during a rolling upgrade) records its
-- attempts, unjudged, instead of failing the callback's unit.
ALTER TABLE payout_attempts ADD COLUMN network TEXT NOT NULL DEFAULT '';
ALTER TABLE payout_attempts ADD COLUMN livemode BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE payout_attempts a
   SET network = p.network, livemode = p.livemode
  FROM payouts p
 WHERE p.id = a.payout_id;
DROP INDEX payout_attempts_by_counter;
CREATE INDEX payout_attempts_by_counter
    ON payout_attempts (network, livemode, counter_id, outcome, at);
