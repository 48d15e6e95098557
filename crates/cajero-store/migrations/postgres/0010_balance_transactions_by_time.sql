-- Balance transactions list in the order they happened (`created_at`, then `id`). A batch's id
-- derives from the object it moves money for (a payout's release carries the payout's time),
-- so id order is not time order.
CREATE INDEX ledger_batches_by_merchant_created ON ledger_batches (merchant_id, livemode, created_at, id);
