-- Credit-risk classes (SQLite). Mirrors ../postgres/3010_credit_risk.sql.
-- An entity without a row is class B (一般) until it is scored.

CREATE TABLE credit_risk (
    uscc TEXT PRIMARY KEY,
    division TEXT NOT NULL,
    class TEXT NOT NULL CHECK (class IN ('A', 'B', 'C', 'D')),
    score REAL NOT NULL,
    reasons TEXT NOT NULL,
    model_version TEXT NOT NULL,
    computed_at TEXT NOT NULL
);
CREATE INDEX credit_risk_division ON credit_risk (division, uscc);

-- The model (weights, windows, thresholds) as the TOML text an administrator set (one row;
-- absent = the shipped default).
CREATE TABLE credit_risk_model (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    toml TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);

-- Dated facts the score counts within its windows (inspection findings, complaints, penalties,
-- late annual reports); `source_ref` makes recording idempotent.
CREATE TABLE credit_risk_observations (
    source_ref TEXT PRIMARY KEY,
    uscc TEXT NOT NULL,
    indicator TEXT NOT NULL,
    observed_on TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX credit_risk_observations_uscc ON credit_risk_observations (uscc);

CREATE TABLE credit_risk_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    trigger TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    entities INTEGER NOT NULL DEFAULT 0,
    by_class TEXT NOT NULL DEFAULT '{}'
);
