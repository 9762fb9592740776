-- The exchange context: partner agencies, deliveries of events to them, and the evidence
-- (every signed message sent and every signed answer received, kept as sent).

CREATE TABLE exchange_agencies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- short machine name (tax, ss-jinan, ...), unique
    name TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    -- tax | social_security | medical_insurance | housing_fund | bank | other
    kind TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    -- JSON array of event-kind prefixes
    subscriptions TEXT NOT NULL,
    -- the agency's Ed25519 public key (base64)
    public_key TEXT NOT NULL,
    -- the kernel API key its callbacks carry
    api_key_id INTEGER,
    active INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE exchange_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- agency name + ':' + event timepoint: the same event never makes two deliveries
    idempotency_key TEXT NOT NULL UNIQUE,
    agency_id INTEGER NOT NULL REFERENCES exchange_agencies (id),
    timepoint INTEGER NOT NULL,
    kind TEXT NOT NULL,
    uscc TEXT,
    division TEXT,
    -- pending | accepted | rejected | done
    status TEXT NOT NULL,
    reason TEXT,
    attempts INTEGER NOT NULL,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    -- the evidence row of the signed message
    message_evidence_id INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    answered_at TEXT,
    escalated_at TEXT
);
CREATE INDEX exchange_deliveries_due ON exchange_deliveries (status, next_attempt_at);
CREATE INDEX exchange_deliveries_uscc ON exchange_deliveries (uscc, timepoint);
CREATE INDEX exchange_deliveries_timepoint ON exchange_deliveries (timepoint);

CREATE TABLE exchange_evidence (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_id INTEGER NOT NULL REFERENCES exchange_agencies (id),
    delivery_id INTEGER,
    -- out (signed by the deployment) | in (signed by the agency)
    direction TEXT NOT NULL,
    -- message | ack | tax_request | tax_answer
    kind TEXT NOT NULL,
    -- the exact bytes that were signed (after the tag), as UTF-8 JSON
    body TEXT NOT NULL,
    -- the deployment key's id (out) or the agency key's id (in)
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX exchange_evidence_agency ON exchange_evidence (agency_id, id);
