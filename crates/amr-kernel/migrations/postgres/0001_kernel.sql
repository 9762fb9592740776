-- Kernel schema (PostgreSQL). Mirrors ../sqlite/0001_kernel.sql; keep both in step.

CREATE TABLE event_seq (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_timepoint BIGINT NOT NULL
);
INSERT INTO event_seq (id, last_timepoint) VALUES (1, 0);

CREATE TABLE events (
    timepoint BIGINT PRIMARY KEY,
    kind TEXT NOT NULL,
    uscc TEXT,
    division TEXT,
    public BOOLEAN NOT NULL,
    payload TEXT NOT NULL,
    actor TEXT,
    recorded_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX events_public ON events (public, timepoint);
CREATE INDEX events_division ON events (division text_pattern_ops, timepoint);
CREATE INDEX events_uscc ON events (uscc, timepoint);

CREATE TABLE event_cursors (
    consumer TEXT PRIMARY KEY,
    timepoint BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE audit_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id BIGINT,
    actor_name TEXT NOT NULL,
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    division TEXT,
    before_state TEXT,
    after_state TEXT,
    ip TEXT
);
CREATE INDEX audit_log_division ON audit_log (division text_pattern_ops, id);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE accounts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'officer', 'enterprise')),
    department TEXT,
    jurisdiction TEXT NOT NULL,
    uscc TEXT,
    password_hash TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX accounts_jurisdiction ON accounts (jurisdiction text_pattern_ops);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    ip TEXT
);
CREATE INDEX sessions_account ON sessions (account_id);

CREATE TABLE login_failures (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username TEXT NOT NULL,
    ip TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL
);
CREATE INDEX login_failures_username ON login_failures (username, at);
CREATE INDEX login_failures_ip ON login_failures (ip, at);

CREATE TABLE api_keys (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agency TEXT NOT NULL,
    key_prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    jurisdiction TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ
);

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
    imported_at TIMESTAMPTZ NOT NULL,
    source TEXT NOT NULL
);

CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
