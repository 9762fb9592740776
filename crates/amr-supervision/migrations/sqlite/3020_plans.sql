-- Inspection plans, their frozen lists and their visits (SQLite). Mirrors
-- ../postgres/3020_plans.sql.

-- A plan: `state` draft → published (lists frozen, hashes and the seed commitment public) →
-- drawn (seed revealed, visits made). `plan_json` is the plan as `draw::model::Plan`;
-- `scope` its division prefix (the jurisdiction filter). `seed_secret` is never shown before
-- the draw.
CREATE TABLE insp_plans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    period TEXT NOT NULL,
    scope TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('draft', 'published', 'drawn')),
    plan_json TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    published_at TEXT,
    published_by TEXT,
    targets_hash TEXT,
    targets_count INTEGER,
    inspectors_hash TEXT,
    inspectors_count INTEGER,
    seed_commitment TEXT,
    seed_secret TEXT,
    public_value_source TEXT,
    public_value TEXT,
    seed TEXT,
    drawn_at TEXT,
    drawn_by TEXT,
    report_json TEXT
);
CREATE INDEX insp_plans_scope ON insp_plans (scope, id);

-- The frozen lists and the draw's result, as gzip-compressed JSON-lines chunks, so a plan over
-- millions of targets is stored and served without holding it in memory. `kind`: 'targets',
-- 'inspectors', 'items', 'samples'.
CREATE TABLE insp_plan_chunks (
    plan_id INTEGER NOT NULL REFERENCES insp_plans (id),
    kind TEXT NOT NULL,
    chunk INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (plan_id, kind, chunk)
);

-- One visit of a drawn plan: the entity, the tasks that drew it, the departments that go,
-- their inspectors (`crews`: JSON array of draw::model::Crew) and any shortfall (`unstaffed`:
-- JSON array of draw::model::Shortfall; '[]' when fully staffed).
CREATE TABLE insp_visits (
    plan_id INTEGER NOT NULL REFERENCES insp_plans (id),
    visit_no INTEGER NOT NULL,
    uscc TEXT NOT NULL,
    division TEXT NOT NULL,
    tasks TEXT NOT NULL,
    departments TEXT NOT NULL,
    crews TEXT NOT NULL,
    unstaffed TEXT NOT NULL,
    joint INTEGER NOT NULL,
    PRIMARY KEY (plan_id, visit_no)
);
CREATE INDEX insp_visits_uscc ON insp_visits (uscc);
CREATE INDEX insp_visits_division ON insp_visits (plan_id, division, visit_no);
