-- Personal data (issue 18, Colombia's Ley 1581 de 2012). Keep this file and its twin in the
-- other engine's folder the same but for the JSON expressions of the indexes.
--
-- * Events (webhooks, `GET /v1/events`) show people's document numbers, phones, names and
--   e-mail addresses masked (`cajero_domain::privacy`) unless the merchant opts in to full
--   personal data in events: one setting per merchant, both modes, off by default. The outbox
--   reads it with the merchant's webhook endpoints, in the same statement, so it costs no query
--   of its own and a change applies to the very next event.
-- * `cajero privacy export --document TYPE:NUMBER` finds a person's pay-ins and payouts across
--   every merchant by the document number inside the `customer` / `beneficiary` JSON: these
--   expression indexes make that a search, not a scan of every order. Queries must use the
--   exact same expression (`cajero_store::privacy`). Numbers are stored canonical (the API
--   parses them), so an equality finds every way a person wrote theirs.
-- * The audit entries that name an order (or an earlier export of the same person) are found by
--   `object_id`.
ALTER TABLE merchants ADD COLUMN full_personal_data_in_events BOOLEAN NOT NULL DEFAULT FALSE;

CREATE INDEX payins_by_customer_document
    ON payins (json_extract(customer, '$.document.number'));
CREATE INDEX payouts_by_beneficiary_document
    ON payouts (json_extract(beneficiary, '$.document.number'));

CREATE INDEX audit_log_by_object ON audit_log (object_id);
