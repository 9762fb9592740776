-- Inspection plans, their frozen lists and their visits (PostgreSQL). Mirrors
-- ../sqlite/3020_plans.sql.

CREATE TABLE insp_plans (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL,
    period TEXT NOT NULL,
    scope TEXT COLLATE "C" NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('draft', 'published', 'drawn')),
    plan_json TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    published_at TIMESTAMPTZ,
    published_by TEXT,
    targets_hash TEXT,
    targets_count BIGINT,
    inspectors_hash TEXT,
    inspectors_count BIGINT,
    seed_commitment TEXT,
    seed_secret TEXT,
    public_value_source TEXT,
    public_value TEXT,
    seed TEXT,
    drawn_at TIMESTAMPTZ,
    drawn_by TEXT,
    report_json TEXT
);
CREATE INDEX insp_plans_scope ON insp_plans (scope, id);

CREATE TABLE insp_plan_chunks (
    plan_id BIGINT NOT NULL REFERENCES insp_plans (id),
    kind TEXT NOT NULL,
    chunk INTEGER NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (plan_id, kind, chunk)
);

CREATE TABLE insp_visits (
    plan_id BIGINT NOT NULL REFERENCES insp_plans (id),
    visit_no BIGINT NOT NULL,
    uscc TEXT COLLATE "C" NOT NULL,
    division TEXT COLLATE "C" NOT NULL,
    tasks TEXT NOT NULL,
    departments TEXT NOT NULL,
    crews TEXT NOT NULL,
    unstaffed TEXT NOT NULL,
    joint BOOLEAN NOT NULL,
    PRIMARY KEY (plan_id, visit_no)
);
CREATE INDEX insp_visits_uscc ON insp_visits (uscc);
CREATE INDEX insp_visits_division ON insp_visits (plan_id, division, visit_no);
