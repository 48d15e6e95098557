-- A merchant's monthly volume, kept as transfers post, instead of summed for every order. The
-- twin in the other engine's folder does the same (in one bucket).
--
-- A fee plan with volume tiers prices a payout or a pay-in by what the merchant moved this
-- Bogotá calendar month: the posted (`single`, `post_pending`) `payin` or `payout` transfers of
-- its batches made this month. That was a sum over the month's transfers, read on the write
-- path of every order of such a merchant, so each order cost more than the one before it and
-- the month's last orders cost the most. Now a trigger adds each such transfer to its month's
-- row as it is written, in the same statement; the read is one merchant's month, at most
-- sixteen rows. A trigger rather than the ledger's own code, so that nothing that writes a
-- transfer (an instance still on the previous release during an upgrade, a tool) can leave the
-- count behind; `cajero ledger verify` recomputes every row from the transfers.
--
-- Each transfer's amount goes to one of sixteen buckets picked from its id, as the shared
-- ledger accounts' changes do (0012): one row per merchant and month would be locked by each
-- collected payout until its commit, and a merchant's concurrent callbacks would queue on it.
--
-- `month` is the batch's Bogotá month, `YYYY-MM`: Colombia keeps UTC-5 all year (it has not
-- changed its clocks since 1993), so it is the UTC month of `created_at` less five hours.
-- Ledger rows are never updated or deleted, so only an insert changes a count.
CREATE TABLE ledger_monthly_volume (
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    livemode     BOOLEAN NOT NULL,
    currency     TEXT NOT NULL,
    code         TEXT NOT NULL,          -- payin, payout
    month        TEXT NOT NULL,          -- YYYY-MM (Bogotá)
    bucket       BIGINT NOT NULL,        -- 0-15, from the transfer's id
    amount       BIGINT NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (merchant_id, livemode, currency, code, month, bucket)
);

CREATE FUNCTION ledger_monthly_volume_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger_monthly_volume (merchant_id, livemode, currency, code, month, bucket,
                                       amount)
    SELECT b.merchant_id, b.livemode, NEW.currency, NEW.code,
           to_char(to_timestamp(b.created_at / 1000000 - 18000) AT TIME ZONE 'UTC', 'YYYY-MM'),
           hashtext(NEW.id) & 15, NEW.amount
      FROM ledger_batches b
     WHERE b.id = NEW.batch_id AND b.merchant_id IS NOT NULL
    ON CONFLICT (merchant_id, livemode, currency, code, month, bucket)
    DO UPDATE SET amount = ledger_monthly_volume.amount + excluded.amount;
    RETURN NULL;
END
$$;

CREATE TRIGGER ledger_monthly_volume_counts AFTER INSERT ON ledger_transfers
FOR EACH ROW WHEN (NEW.mode IN ('single', 'post_pending') AND NEW.code IN ('payin', 'payout'))
EXECUTE FUNCTION ledger_monthly_volume_count();

-- Backfill: every month's volume so far (the verifier's recomputation, stored).
INSERT INTO ledger_monthly_volume (merchant_id, livemode, currency, code, month, bucket, amount)
SELECT b.merchant_id, b.livemode, t.currency, t.code,
       to_char(to_timestamp(b.created_at / 1000000 - 18000) AT TIME ZONE 'UTC', 'YYYY-MM'), 0,
       SUM(t.amount)
  FROM ledger_transfers t JOIN ledger_batches b ON b.id = t.batch_id
 WHERE t.mode IN ('single', 'post_pending') AND t.code IN ('payin', 'payout')
   AND b.merchant_id IS NOT NULL
 GROUP BY b.merchant_id, b.livemode, t.currency, t.code,
          to_char(to_timestamp(b.created_at / 1000000 - 18000) AT TIME ZONE 'UTC', 'YYYY-MM');
