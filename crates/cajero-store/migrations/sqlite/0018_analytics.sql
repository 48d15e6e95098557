-- Success analytics (`GET /v1/analytics/success`): where each order was paid or collected, and
-- the index its GROUP BY queries range over. Keep this file and ../postgres/0018_analytics.sql
-- the same.

-- The counter the network says took the payment or paid the cash (NULL until then, and for
-- networks that do not say).
ALTER TABLE payins ADD COLUMN paid_counter_id TEXT;
ALTER TABLE payouts ADD COLUMN paid_counter_id TEXT;

-- A merchant's orders of one mode created in a time range: every analytics query starts here.
CREATE INDEX payins_by_merchant_created ON payins (merchant_id, livemode, created_at);
CREATE INDEX payouts_by_merchant_created ON payouts (merchant_id, livemode, created_at);
