-- Risk, continued (issue 18). The twin in the other engine's folder does the same with
-- SQLite's statements.
--
-- 1. Counters on blocklists (`efecty:EF-BOG-001`). A counter is known only once cash has moved
--    there, so an operation completed at a blocked counter is recorded as a decision and
--    raises an operator alert; nothing is refused.
ALTER TABLE risk_blocklist DROP CONSTRAINT risk_blocklist_kind_check;
ALTER TABLE risk_blocklist ADD CONSTRAINT risk_blocklist_kind_check
    CHECK (kind IN ('document', 'name', 'phone', 'counter'));

-- 2. A held pay-in's release claims it before the network is asked for the voucher: the
--    claim's token, until the release records the pay-in (or gives the claim back when the
--    network issued nothing). A claimed hold cannot be refused: the network may already hold
--    a voucher under its id, which only the release (or a second one, under a new claim:
--    the network answers a repeated reference with the same voucher) can record.
ALTER TABLE payin_holds ADD COLUMN releasing TEXT;
