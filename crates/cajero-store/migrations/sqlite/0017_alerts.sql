-- Alerts (issue 15): durable records with a lifecycle, instead of ad-hoc `alert.raised` events.
-- Keep this file and ../postgres/0017_alerts.sql defining the same tables and columns.
--
-- * An alert is known by (livemode, code, subject, merchant): at most ONE of them is open at a
--   time (the partial unique index below), so two instances raising the same problem at once
--   make one alert; a raise while it is open bumps `last_seen_at` and `occurrences`.
-- * `merchant_id` NULL is a platform-wide alert (a network down concerns every merchant with
--   orders there); `network` is the network its subject names, when it names one, so that
--   the merchants concerned can be found (orders routed there in the 7 days before it was
--   raised, see the two indexes on payins and payouts).
-- * A resolved alert raised again within the cool-down is reopened (same id, `generation`
--   + 1); otherwise a new alert is made.
-- * The operator's channels (log, e-mail, incoming webhook) are an outbox in the row itself:
--   `notify_status` pending → sent (or failed after the attempts allowed), retried at
--   `notify_next_at`; `notified_status` is the state the operator was last told, so a flap
--   inside the cool-down that ends where it started tells nobody anything new. A channel
--   that took a notification is listed in `notify_done` and not sent it again on a retry.
CREATE TABLE alerts (
    id               TEXT PRIMARY KEY,              -- alr_…
    livemode         BOOLEAN NOT NULL,
    code             TEXT NOT NULL,                 -- network_down, ledger_check_failed, …
    subject          TEXT NOT NULL,                 -- efecty, efecty/counter:CTR123, we_…, …
    merchant_id      TEXT,                          -- NULL: platform-wide
    network          TEXT,                          -- the network the subject names, if any
    severity         TEXT NOT NULL CHECK (severity IN ('critical', 'warning', 'info')),
    status           TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
    message          TEXT NOT NULL,
    details          TEXT NOT NULL,                 -- JSON object
    generation       BIGINT NOT NULL,               -- 1, then + 1 at every reopening
    raised_at        BIGINT NOT NULL,
    last_seen_at     BIGINT NOT NULL,
    occurrences      BIGINT NOT NULL,
    resolved_at      BIGINT,
    resolution       TEXT,
    notify_status    TEXT NOT NULL CHECK (notify_status IN ('pending', 'sent', 'failed')),
    notify_attempts  BIGINT NOT NULL,
    notify_next_at   BIGINT,
    notify_error     TEXT,
    notify_done      TEXT NOT NULL,                 -- channels that took this notification: 'email,webhook'
    notified_at      BIGINT,
    notified_status  TEXT
);

-- At most one open alert per key. COALESCE: NULLs are distinct in a unique index, and a
-- platform-wide alert must be unique too.
CREATE UNIQUE INDEX alerts_one_open ON alerts (livemode, code, subject, (COALESCE(merchant_id, '')))
    WHERE status = 'open';
CREATE INDEX alerts_by_key ON alerts (livemode, code, subject, resolved_at);
CREATE INDEX alerts_by_merchant ON alerts (merchant_id, livemode, id);
CREATE INDEX alerts_platform_by_network ON alerts (network, livemode, id) WHERE merchant_id IS NULL;
CREATE INDEX alerts_to_notify ON alerts (notify_next_at) WHERE notify_status = 'pending';

-- The merchants concerned by a network: one index probe per merchant.
CREATE INDEX payins_by_merchant_network ON payins (merchant_id, livemode, network, created_at);
CREATE INDEX payouts_by_merchant_network ON payouts (merchant_id, livemode, network, created_at);

-- Consecutive failed deliveries of an endpoint (a success sets it back to 0): raises
-- `webhook_endpoint_failing`.
ALTER TABLE webhook_endpoints ADD COLUMN consecutive_failures BIGINT NOT NULL DEFAULT 0;
