-- The lifecycle of an entity (SQLite). Mirrors ../postgres/1010_lifecycle.sql; keep both in step.
-- Dates are `YYYY-MM-DD` text here and DATE on PostgreSQL; timestamps are UTC.

-- Who made each change: the actor's label (`account:12`, `system`) and name (the user name).
ALTER TABLE entity_changes ADD COLUMN actor TEXT;
ALTER TABLE entity_changes ADD COLUMN actor_name TEXT;

-- Suspensions (歇业, 条例 art. 30): one row per filing. `end_date` is the current end (moved by
-- extensions, `original_end_date` is the filed one); `ended_on` is the first day of business
-- again (declared resumption, the day after an expired period, or the deregistration day).
CREATE TABLE entity_suspensions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uscc TEXT NOT NULL,
    division TEXT NOT NULL,
    reason TEXT NOT NULL,
    service_address TEXT NOT NULL,
    start_date TEXT NOT NULL,
    end_date TEXT NOT NULL,
    original_end_date TEXT NOT NULL,
    extensions INTEGER NOT NULL DEFAULT 0,
    ended_on TEXT,
    end_kind TEXT,
    filed_at TEXT NOT NULL,
    filed_by TEXT NOT NULL
);
CREATE INDEX entity_suspensions_uscc ON entity_suspensions (uscc, id);
-- The sweep of expired periods reads only the open ones.
CREATE INDEX entity_suspensions_open ON entity_suspensions (end_date) WHERE ended_on IS NULL;

-- Per-entity facts that bar simplified deregistration. Officers set them in the back office
-- today; the abnormal-operations list, the serious-violation list and the equity
-- freeze/pledge registers will set them when they exist.
CREATE TABLE entity_flags (
    uscc TEXT PRIMARY KEY,
    abnormal_list INTEGER NOT NULL DEFAULT 0,
    serious_list INTEGER NOT NULL DEFAULT 0,
    equity_frozen INTEGER NOT NULL DEFAULT 0,
    equity_pledged INTEGER NOT NULL DEFAULT 0,
    note TEXT,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);

-- Deregistrations: ordinary (liquidation facts) or simplified (20-day public notice first).
-- state: notice (simplified, in or after its notice) | applied | approved | refused |
-- terminated (an objection was upheld) | lapsed (not applied within the window).
CREATE TABLE entity_deregistrations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uscc TEXT NOT NULL,
    division TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT NOT NULL,
    liquidation_group_on TEXT,
    creditor_notice_on TEXT,
    liquidation_report_on TEXT,
    notice_start TEXT,
    notice_end TEXT,
    filed_at TEXT NOT NULL,
    filed_by TEXT NOT NULL,
    applied_at TEXT,
    decided_at TEXT,
    decided_by TEXT,
    decision_note TEXT
);
CREATE INDEX entity_deregistrations_uscc ON entity_deregistrations (uscc, id);
CREATE INDEX entity_deregistrations_queue ON entity_deregistrations (state, division);

-- Objections to a simplified deregistration, filed by anyone during its notice. The
-- objector's name and contact are for officers only.
CREATE TABLE deregistration_objections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    deregistration_id INTEGER NOT NULL,
    uscc TEXT NOT NULL,
    division TEXT NOT NULL,
    objector TEXT NOT NULL,
    contact TEXT NOT NULL,
    reason TEXT NOT NULL,
    state TEXT NOT NULL,
    filed_at TEXT NOT NULL,
    resolved_at TEXT,
    resolved_by TEXT,
    resolution_note TEXT
);
CREATE INDEX deregistration_objections_dereg ON deregistration_objections (deregistration_id, id);

-- Extra business premises (一照多址): recorded, not licensed; same prefecture city as the
-- domicile. `division` is the premises' own county or town code.
CREATE TABLE entity_premises (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uscc TEXT NOT NULL,
    division TEXT NOT NULL,
    city TEXT NOT NULL,
    address TEXT NOT NULL,
    normalized TEXT NOT NULL,
    opened_on TEXT NOT NULL,
    closed_on TEXT,
    filed_at TEXT NOT NULL,
    filed_by TEXT NOT NULL
);
CREATE INDEX entity_premises_uscc ON entity_premises (uscc, id);
