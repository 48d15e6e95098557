-- Fewer index entries per ledger batch (issue 12). The twin in the other engine's folder is the
-- same.
--
-- A batch wrote seven b-trees (its table and six indexes) for a payout's one transfer.
--
-- * `ledger_batches_by_merchant (merchant_id, livemode, id)` served no query that
--   `ledger_batches_by_merchant_created (merchant_id, livemode, created_at, id)` does not: every
--   lookup of a merchant's batches either pages them by `(created_at, id)` or names the batch's
--   id (the primary key) or its code (`ledger_batches_by_merchant_code_created`).
-- * `ledger_batches_by_code_available_on` serves only the settlement's scan for pay-ins due
--   (`available_on <= $today`), and only pay-in and settlement batches have an `available_on`;
--   the reservations, payouts, top-ups and fees of every other batch held a `(code, NULL)` entry
--   nobody reads. Made partial, they write nothing to it.
DROP INDEX ledger_batches_by_merchant;
DROP INDEX ledger_batches_by_code_available_on;
CREATE INDEX ledger_batches_by_code_available_on ON ledger_batches (code, available_on)
    WHERE available_on IS NOT NULL;
