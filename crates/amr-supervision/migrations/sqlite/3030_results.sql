-- Inspection results, attachments and follow-ups (SQLite). Mirrors ../postgres/3030_results.sql.

-- One result per visit and item. `outcome`: normal | problems_corrected | problems |
-- no_activity | not_found | refused | closed. `publish_due`: 20 working days after
-- `inspected_on`; `published_at` set when it is public.
CREATE TABLE insp_results (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id INTEGER NOT NULL REFERENCES insp_plans (id),
    visit_no INTEGER NOT NULL,
    uscc TEXT NOT NULL,
    division TEXT NOT NULL,
    item_code TEXT NOT NULL,
    department TEXT NOT NULL,
    outcome TEXT NOT NULL,
    findings TEXT NOT NULL,
    inspected_on TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_by_name TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    publish_due TEXT NOT NULL,
    published_at TEXT,
    UNIQUE (plan_id, visit_no, item_code)
);
CREATE INDEX insp_results_uscc ON insp_results (uscc, id);
CREATE INDEX insp_results_division ON insp_results (division, id);
CREATE INDEX insp_results_due ON insp_results (publish_due) WHERE published_at IS NULL;

CREATE TABLE insp_attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    result_id INTEGER NOT NULL REFERENCES insp_results (id),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    data BLOB NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at TEXT NOT NULL
);
CREATE INDEX insp_attachments_result ON insp_attachments (result_id);

-- Follow-ups a result opens: `kind` problem (后续处置) or not_found (to the abnormal-list
-- process); `state` open | closed.
CREATE TABLE insp_followups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    result_id INTEGER NOT NULL REFERENCES insp_results (id),
    uscc TEXT NOT NULL,
    division TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    note TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    closed_at TEXT,
    closed_by TEXT
);
CREATE INDEX insp_followups_division ON insp_followups (division, state, id);
