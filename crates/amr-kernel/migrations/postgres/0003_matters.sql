-- Matters (事项/台账) (PostgreSQL). Mirrors ../sqlite/0003_matters.sql; keep both in step.
-- The kernel's closed-loop ledger: kinds are declared in code (amr_kernel::matter::KindSpec);
-- these tables hold every matter of every kind, its timeline, clocks, escalations and files.

-- Per-prefix-per-year counters: the sequence of a matter number is taken here inside the
-- creating transaction, so a rolled-back creation returns its number (gapless).
CREATE TABLE matter_sequences (
    prefix TEXT NOT NULL,
    year BIGINT NOT NULL,
    last_value BIGINT NOT NULL,
    PRIMARY KEY (prefix, year)
);

CREATE TABLE matters (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number TEXT COLLATE "C" NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    division TEXT COLLATE "C" NOT NULL,
    uscc TEXT,
    assignee_account BIGINT REFERENCES accounts (id),
    assignee_unit TEXT,
    state TEXT NOT NULL,
    version BIGINT NOT NULL,
    payload TEXT NOT NULL,
    outcome TEXT,
    due_on DATE,
    late BOOLEAN NOT NULL,
    escalated_to TEXT COLLATE "C",
    created_by TEXT NOT NULL,
    created_by_account BIGINT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    closed_at TIMESTAMPTZ
);
CREATE INDEX matters_division ON matters (division, id);
CREATE INDEX matters_kind_created ON matters (kind, created_at, id);
CREATE INDEX matters_due ON matters (due_on) WHERE due_on IS NOT NULL;
CREATE INDEX matters_uscc ON matters (uscc) WHERE uscc IS NOT NULL;
CREATE INDEX matters_assignee ON matters (assignee_account) WHERE assignee_account IS NOT NULL;

CREATE TABLE matter_timeline (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    matter_id BIGINT NOT NULL REFERENCES matters (id),
    at TIMESTAMPTZ NOT NULL,
    entry TEXT NOT NULL,
    actor TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    transition TEXT,
    from_state TEXT,
    to_state TEXT,
    body TEXT NOT NULL,
    internal BOOLEAN NOT NULL
);
CREATE INDEX matter_timeline_matter ON matter_timeline (matter_id, id);

CREATE TABLE matter_clocks (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    matter_id BIGINT NOT NULL REFERENCES matters (id),
    name TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('running', 'paused', 'stopped')),
    working_days BIGINT NOT NULL,
    started_on DATE NOT NULL,
    due_on DATE NOT NULL,
    paused_on DATE,
    paused_days BIGINT NOT NULL,
    stopped_on DATE
);
CREATE INDEX matter_clocks_matter ON matter_clocks (matter_id, id);
CREATE INDEX matter_clocks_running ON matter_clocks (due_on, id) WHERE state = 'running';

CREATE TABLE matter_escalations (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    matter_id BIGINT NOT NULL REFERENCES matters (id),
    clock_id BIGINT NOT NULL REFERENCES matter_clocks (id),
    level BIGINT NOT NULL,
    division TEXT NOT NULL,
    escalated_on DATE NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    UNIQUE (clock_id, level)
);
CREATE INDEX matter_escalations_matter ON matter_escalations (matter_id, id);

CREATE TABLE matter_attachments (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    matter_id BIGINT NOT NULL REFERENCES matters (id),
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    bytes BYTEA NOT NULL,
    added_by TEXT NOT NULL,
    added_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX matter_attachments_matter ON matter_attachments (matter_id, id);
