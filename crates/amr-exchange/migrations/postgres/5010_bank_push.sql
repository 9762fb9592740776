-- Bank push (政银合作): enterprises' consent to share their registration data with banks,
-- each bank's criteria, push runs, the current list per bank, and the loans banks report.

-- One row per enterprise that ever answered; granted = 1 while it consents.
CREATE TABLE bank_consents (
    uscc TEXT PRIMARY KEY,
    granted BOOLEAN NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    -- the actor's label (account or key)
    updated_by TEXT NOT NULL
);
CREATE INDEX bank_consents_granted ON bank_consents (granted, uscc);

-- Every grant and withdrawal, in order.
CREATE TABLE bank_consent_history (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uscc TEXT NOT NULL,
    -- granted | withdrawn
    action TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    actor TEXT NOT NULL
);
CREATE INDEX bank_consent_history_uscc ON bank_consent_history (uscc, id);

-- A bank agency's criteria (JSON, see docs/EXCHANGE.md).
CREATE TABLE bank_criteria (
    agency_id BIGINT PRIMARY KEY REFERENCES exchange_agencies (id),
    criteria TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    updated_by TEXT NOT NULL
);

CREATE TABLE bank_push_runs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agency_id BIGINT NOT NULL REFERENCES exchange_agencies (id),
    -- manual | schedule | cli
    origin TEXT NOT NULL,
    -- running | finished | failed
    status TEXT NOT NULL,
    -- the first run of a bank sends the full list
    full_list BOOLEAN NOT NULL,
    criteria TEXT NOT NULL,
    consents_seen BIGINT NOT NULL,
    matched BIGINT NOT NULL,
    added BIGINT NOT NULL,
    removed BIGINT NOT NULL,
    messages BIGINT NOT NULL,
    error TEXT,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ
);
CREATE INDEX bank_push_runs_agency ON bank_push_runs (agency_id, id);
-- at most one run of a bank at a time
CREATE UNIQUE INDEX bank_push_runs_one ON bank_push_runs (agency_id) WHERE status = 'running';

-- What each bank has been sent: listed = 1 while on its list; a row stays after removal (a
-- loan for an entity once pushed is still accepted).
CREATE TABLE bank_pushed (
    agency_id BIGINT NOT NULL REFERENCES exchange_agencies (id),
    uscc TEXT NOT NULL,
    division TEXT NOT NULL,
    listed BOOLEAN NOT NULL,
    first_run_id BIGINT NOT NULL,
    last_run_id BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (agency_id, uscc)
);
CREATE INDEX bank_pushed_listed ON bank_pushed (agency_id, listed, uscc);

CREATE TABLE bank_loan_reports (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agency_id BIGINT NOT NULL REFERENCES exchange_agencies (id),
    report_id TEXT NOT NULL,
    -- the SHA-256 of the body, to tell a repeat from a different report under the same id
    body_sha256 TEXT NOT NULL,
    evidence_id BIGINT NOT NULL,
    loans BIGINT NOT NULL,
    amount_fen BIGINT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    UNIQUE (agency_id, report_id)
);

CREATE TABLE bank_loans (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    report_id BIGINT NOT NULL REFERENCES bank_loan_reports (id),
    agency_id BIGINT NOT NULL REFERENCES exchange_agencies (id),
    uscc TEXT NOT NULL,
    division TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    granted_on DATE NOT NULL,
    product TEXT NOT NULL,
    term_months BIGINT NOT NULL
);
CREATE INDEX bank_loans_agency ON bank_loans (agency_id, division);
CREATE INDEX bank_loans_division ON bank_loans (division);

-- Deliveries of push messages belong to a run (NULL for deliveries of events).
ALTER TABLE exchange_deliveries ADD COLUMN push_run_id BIGINT;
