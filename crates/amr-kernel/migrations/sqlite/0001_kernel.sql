-- Kernel schema (SQLite). Mirrors ../postgres/0001_kernel.sql; keep both in step.

-- Event log (transactional outbox). `timepoint` is gapless: it is taken from event_seq inside
-- the writing transaction, so a rolled-back change leaves no hole and commits happen in order.
CREATE TABLE event_seq (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_timepoint INTEGER NOT NULL
);
INSERT INTO event_seq (id, last_timepoint) VALUES (1, 0);

CREATE TABLE events (
    timepoint INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    uscc TEXT,
    division TEXT,
    public INTEGER NOT NULL,
    payload TEXT NOT NULL,
    actor TEXT,
    recorded_at TEXT NOT NULL
);
CREATE INDEX events_public ON events (public, timepoint);
CREATE INDEX events_division ON events (division, timepoint);
CREATE INDEX events_uscc ON events (uscc, timepoint);

CREATE TABLE event_cursors (
    consumer TEXT PRIMARY KEY,
    timepoint INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);

-- Audit log: append-only, enforced by triggers.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id INTEGER,
    actor_name TEXT NOT NULL,
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    division TEXT,
    before_state TEXT,
    after_state TEXT,
    ip TEXT
);
CREATE INDEX audit_log_division ON audit_log (division, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'officer', 'enterprise')),
    department TEXT,
    jurisdiction TEXT NOT NULL,
    uscc TEXT,
    password_hash TEXT NOT NULL,
    active INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX accounts_jurisdiction ON accounts (jurisdiction);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    ip TEXT
);
CREATE INDEX sessions_account ON sessions (account_id);

CREATE TABLE login_failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL,
    ip TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX login_failures_username ON login_failures (username, at);
CREATE INDEX login_failures_ip ON login_failures (ip, at);

CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    agency TEXT NOT NULL,
    key_prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    jurisdiction TEXT NOT NULL,
    active INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT
);

-- Working-day calendar years imported after the build (they override the embedded data).
CREATE TABLE calendar_days (
    day TEXT PRIMARY KEY,
    year INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('holiday', 'workday')),
    name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL
);
CREATE INDEX calendar_days_year ON calendar_days (year);
CREATE TABLE calendar_years (
    year INTEGER PRIMARY KEY,
    imported_at TEXT NOT NULL,
    source TEXT NOT NULL
);

-- Deployment-wide settings (first-run facts and the like).
CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
