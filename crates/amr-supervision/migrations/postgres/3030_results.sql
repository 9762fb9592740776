-- Inspection results, attachments and follow-ups (PostgreSQL). Mirrors ../sqlite/3030_results.sql.

CREATE TABLE insp_results (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plan_id BIGINT NOT NULL REFERENCES insp_plans (id),
    visit_no BIGINT NOT NULL,
    uscc TEXT COLLATE "C" NOT NULL,
    division TEXT COLLATE "C" NOT NULL,
    item_code TEXT COLLATE "C" NOT NULL,
    department TEXT COLLATE "C" NOT NULL,
    outcome TEXT NOT NULL,
    findings TEXT NOT NULL,
    inspected_on DATE NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_by_name TEXT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    publish_due DATE NOT NULL,
    published_at TIMESTAMPTZ,
    UNIQUE (plan_id, visit_no, item_code)
);
CREATE INDEX insp_results_uscc ON insp_results (uscc, id);
CREATE INDEX insp_results_division ON insp_results (division, id);
CREATE INDEX insp_results_due ON insp_results (publish_due) WHERE published_at IS NULL;

CREATE TABLE insp_attachments (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    result_id BIGINT NOT NULL REFERENCES insp_results (id),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    data BYTEA NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX insp_attachments_result ON insp_attachments (result_id);

CREATE TABLE insp_followups (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    result_id BIGINT NOT NULL REFERENCES insp_results (id),
    uscc TEXT COLLATE "C" NOT NULL,
    division TEXT COLLATE "C" NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    note TEXT NOT NULL,
    opened_at TIMESTAMPTZ NOT NULL,
    closed_at TIMESTAMPTZ,
    closed_by TEXT
);
CREATE INDEX insp_followups_division ON insp_followups (division, state, id);
