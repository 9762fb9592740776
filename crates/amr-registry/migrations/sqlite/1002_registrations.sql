-- Online registration (SQLite). Mirrors ../postgres/1002_registrations.sql; keep both in step.
-- (PostgreSQL also gives entities.name the "C" collation there; SQLite compares text
-- byte-wise already, so the name-check's prefix ranges use entities_name as they are.)

-- One filing per application: filed → returned → filed (refiled) ... → approved.
-- `division` is the domicile's county or town code (the examining jurisdiction);
-- `application` is the canonical JSON of the latest filing and `filing_hash` its SHA-256;
-- `token_hash` is the SHA-256 of the applicant's private link token.
CREATE TABLE registrations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    filing_no TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    name TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    division TEXT NOT NULL,
    application TEXT NOT NULL,
    filing_hash TEXT NOT NULL,
    address_outcome TEXT NOT NULL,
    commitment_id INTEGER,
    round INTEGER NOT NULL,
    reasons TEXT,
    uscc TEXT,
    licence_version INTEGER,
    filed_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    decided_at TEXT,
    decided_by TEXT
);
CREATE INDEX registrations_queue ON registrations (status, division, id);
CREATE INDEX registrations_name ON registrations (name);

-- Every step of a filing, for the applicant's and the officer's timeline.
CREATE TABLE registration_steps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    registration_id INTEGER NOT NULL,
    at TEXT NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    round INTEGER NOT NULL,
    note TEXT
);
CREATE INDEX registration_steps_registration ON registration_steps (registration_id, id);
