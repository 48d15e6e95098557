-- Accounts without a balance limit (a network's payable and receivable, fee revenue, IVA, GMF,
-- funding, FX, suspense) are touched by every merchant's transfers. Updating their one row in
-- place made every payout of every merchant queue on it (on PostgreSQL, for the rest of the
-- transaction). Their changes now go to one of a few buckets instead, picked from the
-- transfer's id, and an account's totals are its row's plus the sum of its buckets.
-- Keep this file and ../sqlite/0012_ledger_account_buckets.sql the same.
--
-- A bucket's pending totals may go below zero (a reservation and its post or void may land in
-- different buckets); only the sum is an account's, and `cajero ledger verify` checks it.
CREATE TABLE ledger_account_buckets (
    account_id       TEXT NOT NULL REFERENCES ledger_accounts (id),
    bucket           BIGINT NOT NULL,
    debits_pending   BIGINT NOT NULL DEFAULT 0,
    debits_posted    BIGINT NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
    credits_pending  BIGINT NOT NULL DEFAULT 0,
    credits_posted   BIGINT NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
    PRIMARY KEY (account_id, bucket)
);

-- Every account's totals, as every reader (balances, settlement, the verifier) must see them.
-- Correlated sums rather than a grouped join, so that a filter on the view (one merchant's
-- accounts) reaches the accounts' index on both engines.
CREATE VIEW ledger_account_totals AS
SELECT a.id, a.kind, a.merchant_id, a.network, a.livemode, a.currency,
    CAST(a.debits_pending + COALESCE((SELECT SUM(b.debits_pending) FROM ledger_account_buckets b
        WHERE b.account_id = a.id), 0) AS BIGINT) AS debits_pending,
    CAST(a.debits_posted + COALESCE((SELECT SUM(b.debits_posted) FROM ledger_account_buckets b
        WHERE b.account_id = a.id), 0) AS BIGINT) AS debits_posted,
    CAST(a.credits_pending + COALESCE((SELECT SUM(b.credits_pending) FROM ledger_account_buckets b
        WHERE b.account_id = a.id), 0) AS BIGINT) AS credits_pending,
    CAST(a.credits_posted + COALESCE((SELECT SUM(b.credits_posted) FROM ledger_account_buckets b
        WHERE b.account_id = a.id), 0) AS BIGINT) AS credits_posted
FROM ledger_accounts a;
