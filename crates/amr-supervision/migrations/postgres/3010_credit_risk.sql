-- Credit-risk classes (PostgreSQL). Mirrors ../sqlite/3010_credit_risk.sql.
-- An entity without a row is class B (一般) until it is scored.

CREATE TABLE credit_risk (
    uscc TEXT COLLATE "C" PRIMARY KEY,
    division TEXT COLLATE "C" NOT NULL,
    class TEXT NOT NULL CHECK (class IN ('A', 'B', 'C', 'D')),
    score DOUBLE PRECISION NOT NULL,
    reasons TEXT NOT NULL,
    model_version TEXT NOT NULL,
    computed_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX credit_risk_division ON credit_risk (division, uscc);

CREATE TABLE credit_risk_model (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    toml TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    updated_by TEXT NOT NULL
);

CREATE TABLE credit_risk_observations (
    source_ref TEXT PRIMARY KEY,
    uscc TEXT COLLATE "C" NOT NULL,
    indicator TEXT NOT NULL,
    observed_on DATE NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX credit_risk_observations_uscc ON credit_risk_observations (uscc);

CREATE TABLE credit_risk_runs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trigger TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    entities BIGINT NOT NULL DEFAULT 0,
    by_class TEXT NOT NULL DEFAULT '{}'
);
