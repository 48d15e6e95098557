-- Network health and routing (issue 15).
--
-- Why each order went where it went: the routing rule or priority that ranked the routes,
-- the routes left out (circuit open, counters closed) and those a create fell over from.
ALTER TABLE payins ADD COLUMN routing_reason TEXT;
ALTER TABLE payouts ADD COLUMN routing_reason TEXT;

-- Counter attempts by counter and outcome, for a counter's failure rate over a window.
CREATE INDEX payout_attempts_by_counter ON payout_attempts (counter_id, outcome, at);

-- Each instance's view of each route's health, published every probe interval for the
-- operator (`cajero networks health`) and the dashboard. A breaker lives in its instance's
-- memory; this is its latest snapshot, not its state.
CREATE TABLE network_health (
    instance_id         TEXT NOT NULL,
    livemode            BOOLEAN NOT NULL,
    route               TEXT NOT NULL,
    network             TEXT NOT NULL,
    state               TEXT NOT NULL,              -- closed | half_open | open
    since               BIGINT NOT NULL,
    window_requests     BIGINT NOT NULL,
    window_failures     BIGINT NOT NULL,
    latency_p50_ms      BIGINT,
    latency_p95_ms      BIGINT,
    latency_p99_ms      BIGINT,
    callback_delay_p50_s BIGINT,
    callback_delay_p95_s BIGINT,
    last_error          TEXT,
    probed_at           BIGINT,
    created_total       BIGINT NOT NULL,
    failed_total        BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    PRIMARY KEY (instance_id, livemode, route, network)
);
