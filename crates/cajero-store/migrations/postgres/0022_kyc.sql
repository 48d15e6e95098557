-- Know your customer (issue 17): each merchant's onboarding application and where its review
-- stands. Keep this file and its twin in the other engine's folder the same.
CREATE TABLE merchant_kyc (
    merchant_id      TEXT PRIMARY KEY REFERENCES merchants (id),
    status           TEXT NOT NULL CHECK (status IN
                     ('draft', 'submitted', 'in_review', 'approved', 'rejected', 'needs_info')),
    application      TEXT NOT NULL,                     -- JSON: cajero_domain::kyc::Application
    questions        TEXT,                              -- the operator's, when needs_info
    decision_reason  TEXT,                              -- why approved or rejected
    screening        TEXT NOT NULL,                     -- not_screened until the risk issue lands
    submitted_at     BIGINT,
    decided_at       BIGINT,
    decided_by       TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);

-- The operator's review queue: applications of a status, oldest submission first.
CREATE INDEX merchant_kyc_queue ON merchant_kyc (status, submitted_at);
