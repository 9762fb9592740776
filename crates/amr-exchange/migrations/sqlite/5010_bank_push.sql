-- Bank push (政银合作): enterprises' consent to share their registration data with banks,
-- each bank's criteria, push runs, the current list per bank, and the loans banks report.

-- One row per enterprise that ever answered; granted = 1 while it consents.
CREATE TABLE bank_consents (
    uscc TEXT PRIMARY KEY,
    granted INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    -- the actor's label (account or key)
    updated_by TEXT NOT NULL
);
CREATE INDEX bank_consents_granted ON bank_consents (granted, uscc);

-- Every grant and withdrawal, in order.
CREATE TABLE bank_consent_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uscc TEXT NOT NULL,
    -- granted | withdrawn
    action TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL
);
CREATE INDEX bank_consent_history_uscc ON bank_consent_history (uscc, id);

-- A bank agency's criteria (JSON, see docs/EXCHANGE.md).
CREATE TABLE bank_criteria (
    agency_id INTEGER PRIMARY KEY REFERENCES exchange_agencies (id),
    criteria TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);

CREATE TABLE bank_push_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_id INTEGER NOT NULL REFERENCES exchange_agencies (id),
    -- manual | schedule | cli
    origin TEXT NOT NULL,
    -- running | finished | failed
    status TEXT NOT NULL,
    -- the first run of a bank sends the full list
    full_list INTEGER NOT NULL,
    criteria TEXT NOT NULL,
    consents_seen INTEGER NOT NULL,
    matched INTEGER NOT NULL,
    added INTEGER NOT NULL,
    removed INTEGER NOT NULL,
    messages INTEGER NOT NULL,
    error TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX bank_push_runs_agency ON bank_push_runs (agency_id, id);
-- at most one run of a bank at a time
CREATE UNIQUE INDEX bank_push_runs_one ON bank_push_runs (agency_id) WHERE status = 'running';

-- What each bank has been sent: listed = 1 while on its list; a row stays after removal (a
-- loan for an entity once pushed is still accepted).
CREATE TABLE bank_pushed (
    agency_id INTEGER NOT NULL REFERENCES exchange_agencies (id),
    uscc TEXT NOT NULL,
    division TEXT NOT NULL,
    listed INTEGER NOT NULL,
    first_run_id INTEGER NOT NULL,
    last_run_id INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (agency_id, uscc)
);
CREATE INDEX bank_pushed_listed ON bank_pushed (agency_id, listed, uscc);

CREATE TABLE bank_loan_reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_id INTEGER NOT NULL REFERENCES exchange_agencies (id),
    report_id TEXT NOT NULL,
    -- the SHA-256 of the body, to tell a repeat from a different report under the same id
    body_sha256 TEXT NOT NULL,
    evidence_id INTEGER NOT NULL,
    loans INTEGER NOT NULL,
    amount_fen INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    UNIQUE (agency_id, report_id)
);

CREATE TABLE bank_loans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id INTEGER NOT NULL REFERENCES bank_loan_reports (id),
    agency_id INTEGER NOT NULL REFERENCES exchange_agencies (id),
    uscc TEXT NOT NULL,
    division TEXT NOT NULL,
    amount_fen INTEGER NOT NULL,
    granted_on TEXT NOT NULL,
    product TEXT NOT NULL,
    term_months INTEGER NOT NULL
);
CREATE INDEX bank_loans_agency ON bank_loans (agency_id, division);
CREATE INDEX bank_loans_division ON bank_loans (division);

-- Deliveries of push messages belong to a run (NULL for deliveries of events).
ALTER TABLE exchange_deliveries ADD COLUMN push_run_id INTEGER;
