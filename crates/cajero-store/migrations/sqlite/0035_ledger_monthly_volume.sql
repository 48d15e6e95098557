-- A merchant's monthly volume, kept as transfers post, instead of summed for every order. The
-- twin in the other engine's folder does the same (it spreads each month over buckets).
--
-- A fee plan with volume tiers prices a payout or a pay-in by what the merchant moved this
-- Bogotá calendar month: the posted (`single`, `post_pending`) `payin` or `payout` transfers of
-- its batches made this month. That was a sum over the month's transfers, read on the write
-- path of every order of such a merchant, so each order cost more than the one before it and
-- the month's last orders cost the most. Now a trigger adds each such transfer to its month's
-- row as it is written, in the same statement; the read is one row. A trigger rather than the
-- ledger's own code, so that nothing that writes a transfer (an instance still on the previous
-- release during an upgrade, a tool) can leave the count behind; `cajero ledger verify`
-- recomputes every row from the transfers.
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
    bucket       BIGINT NOT NULL,        -- always 0 here: SQLite has one writer
    amount       BIGINT NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (merchant_id, livemode, currency, code, month, bucket)
) WITHOUT ROWID;

CREATE TRIGGER ledger_monthly_volume_counts AFTER INSERT ON ledger_transfers
WHEN NEW.mode IN ('single', 'post_pending') AND NEW.code IN ('payin', 'payout')
BEGIN
    INSERT INTO ledger_monthly_volume (merchant_id, livemode, currency, code, month, bucket,
                                       amount)
    SELECT b.merchant_id, b.livemode, NEW.currency, NEW.code,
           strftime('%Y-%m', b.created_at / 1000000 - 18000, 'unixepoch'), 0, NEW.amount
      FROM ledger_batches b
     WHERE b.id = NEW.batch_id AND b.merchant_id IS NOT NULL
    ON CONFLICT (merchant_id, livemode, currency, code, month, bucket)
    DO UPDATE SET amount = amount + excluded.amount;
END;

-- Backfill: every month's volume so far (the verifier's recomputation, stored).
INSERT INTO ledger_monthly_volume (merchant_id, livemode, currency, code, month, bucket, amount)
SELECT b.merchant_id, b.livemode, t.currency, t.code,
       strftime('%Y-%m', b.created_at / 1000000 - 18000, 'unixepoch'), 0, SUM(t.amount)
  FROM ledger_transfers t JOIN ledger_batches b ON b.id = t.batch_id
 WHERE t.mode IN ('single', 'post_pending') AND t.code IN ('payin', 'payout')
   AND b.merchant_id IS NOT NULL
 GROUP BY b.merchant_id, b.livemode, t.currency, t.code,
          strftime('%Y-%m', b.created_at / 1000000 - 18000, 'unixepoch');
