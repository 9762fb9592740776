-- Registry schema (SQLite). Mirrors ../postgres/1000_entities.sql; keep both in step.
-- Dates are `YYYY-MM-DD` text here and DATE on PostgreSQL; timestamps are UTC.

-- Registered business entities. `division` is the 6-digit county or 9-digit town code of the
-- domicile; jurisdiction filters and the officer lists go by its prefix, through
-- entities_division (a range on division, then keyset on (division, uscc)).
CREATE TABLE entities (
    uscc TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    legal_rep TEXT NOT NULL,
    legal_rep_id TEXT,
    phone TEXT,
    capital_yuan INTEGER,
    established TEXT NOT NULL,
    address TEXT NOT NULL,
    division TEXT NOT NULL,
    scope TEXT NOT NULL,
    industry TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX entities_division ON entities (division, uscc);
CREATE INDEX entities_status ON entities (status);
CREATE INDEX entities_type ON entities (entity_type);
CREATE INDEX entities_name ON entities (name);

-- Change history: one row per changed field, with the timepoint of the change's event.
CREATE TABLE entity_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uscc TEXT NOT NULL,
    timepoint INTEGER NOT NULL,
    changed_at TEXT NOT NULL,
    field TEXT NOT NULL,
    before_value TEXT,
    after_value TEXT
);
CREATE INDEX entity_changes_uscc ON entity_changes (uscc, id);

-- Resumable bulk imports: `rows_done` is written in the same transaction as the rows it
-- counts, so a killed import resumes exactly where its last commit left it.
CREATE TABLE import_jobs (
    job_key TEXT PRIMARY KEY,
    file_name TEXT NOT NULL,
    rows_done INTEGER NOT NULL,
    rows_failed INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT
);
