-- Each event's object (`data.id`: pi_…, po_…, re_…), so that a pay-in's or payout's timeline
-- reads its events and their webhook deliveries by index instead of scanning every event of
-- the merchant. Keep this file and ../postgres/0020_event_objects.sql the same.
ALTER TABLE events ADD COLUMN object_id TEXT;

-- Events recorded before this migration: their object's id from the JSON they carry. Test
-- events whose object has no id keep NULL.
UPDATE events SET object_id = json_extract(data, '$.id')
 WHERE json_valid(data) AND json_type(data, '$.id') = 'text';

CREATE INDEX events_by_object ON events (merchant_id, livemode, object_id, id)
    WHERE object_id IS NOT NULL;

-- An endpoint's delivery log, newest first.
CREATE INDEX webhook_attempts_by_endpoint ON webhook_attempts (endpoint_id, started_at);
