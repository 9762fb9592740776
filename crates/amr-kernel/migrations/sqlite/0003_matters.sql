-- Matters (事项/台账) (SQLite). Mirrors ../postgres/0003_matters.sql; keep both in step.
-- The kernel's closed-loop ledger: kinds are declared in code (amr_kernel::matter::KindSpec);
-- these tables hold every matter of every kind, its timeline, clocks, escalations and files.

-- Per-prefix-per-year counters: the sequence of a matter number is taken here inside the
-- creating transaction, so a rolled-back creation returns its number (gapless).
CREATE TABLE matter_sequences (
    prefix TEXT NOT NULL,
    year INTEGER NOT NULL,
    last_value INTEGER NOT NULL,
    PRIMARY KEY (prefix, year)
);

CREATE TABLE matters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    division TEXT NOT NULL,
    uscc TEXT,
    assignee_account INTEGER REFERENCES accounts (id),
    assignee_unit TEXT,
    state TEXT NOT NULL,
    version INTEGER NOT NULL,
    payload TEXT NOT NULL,
    outcome TEXT,
    due_on TEXT,
    late INTEGER NOT NULL,
    escalated_to TEXT,
    created_by TEXT NOT NULL,
    created_by_account INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    closed_at TEXT
);
CREATE INDEX matters_division ON matters (division, id);
CREATE INDEX matters_kind_created ON matters (kind, created_at, id);
CREATE INDEX matters_due ON matters (due_on) WHERE due_on IS NOT NULL;
CREATE INDEX matters_uscc ON matters (uscc) WHERE uscc IS NOT NULL;
CREATE INDEX matters_assignee ON matters (assignee_account) WHERE assignee_account IS NOT NULL;

-- Every action, message, clock event and escalation, in order.
CREATE TABLE matter_timeline (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    matter_id INTEGER NOT NULL REFERENCES matters (id),
    at TEXT NOT NULL,
    entry TEXT NOT NULL,
    actor TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    transition TEXT,
    from_state TEXT,
    to_state TEXT,
    body TEXT NOT NULL,
    internal INTEGER NOT NULL
);
CREATE INDEX matter_timeline_matter ON matter_timeline (matter_id, id);

-- Deadlines: one row per started clock (a restarted clock is a new row).
CREATE TABLE matter_clocks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    matter_id INTEGER NOT NULL REFERENCES matters (id),
    name TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('running', 'paused', 'stopped')),
    working_days INTEGER NOT NULL,
    started_on TEXT NOT NULL,
    due_on TEXT NOT NULL,
    paused_on TEXT,
    paused_days INTEGER NOT NULL,
    stopped_on TEXT
);
CREATE INDEX matter_clocks_matter ON matter_clocks (matter_id, id);
CREATE INDEX matter_clocks_running ON matter_clocks (due_on, id) WHERE state = 'running';

-- Escalations of overdue clocks up the jurisdiction, once per clock and level.
CREATE TABLE matter_escalations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    matter_id INTEGER NOT NULL REFERENCES matters (id),
    clock_id INTEGER NOT NULL REFERENCES matter_clocks (id),
    level INTEGER NOT NULL,
    division TEXT NOT NULL,
    escalated_on TEXT NOT NULL,
    at TEXT NOT NULL,
    UNIQUE (clock_id, level)
);
CREATE INDEX matter_escalations_matter ON matter_escalations (matter_id, id);

CREATE TABLE matter_attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    matter_id INTEGER NOT NULL REFERENCES matters (id),
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    bytes BLOB NOT NULL,
    added_by TEXT NOT NULL,
    added_at TEXT NOT NULL
);
CREATE INDEX matter_attachments_matter ON matter_attachments (matter_id, id);
