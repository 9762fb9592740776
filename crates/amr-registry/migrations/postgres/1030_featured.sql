-- 名特优新: individual businesses classified by type (PostgreSQL). Mirrors ../sqlite/1030_featured.sql.
-- Timestamps are TIMESTAMPTZ here and UTC text on SQLite; dates are DATE here.

-- The criteria per type, as the TOML text an administrator edits (one row; absent = the
-- defaults shipped in data/featured_criteria.toml).
CREATE TABLE featured_criteria (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    toml TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    updated_by TEXT NOT NULL
);

-- One classification of one business as one type: proposed by an officer, confirmed or
-- rejected by another, later perhaps revoked. `division` is the business's, for the
-- jurisdiction filter and the statistics by city. `evidence` and `checks` are JSON arrays.
CREATE TABLE featured_classifications (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uscc TEXT COLLATE "C" NOT NULL,
    division TEXT COLLATE "C" NOT NULL,
    featured_type TEXT NOT NULL,
    status TEXT NOT NULL,
    reasons TEXT NOT NULL,
    evidence TEXT NOT NULL,
    complaints_12m BIGINT,
    checks TEXT NOT NULL,
    proposed_by TEXT NOT NULL,
    proposed_by_name TEXT NOT NULL,
    proposed_at TIMESTAMPTZ NOT NULL,
    decided_by TEXT,
    decided_by_name TEXT,
    decided_at TIMESTAMPTZ,
    decision_note TEXT,
    revoked_by_name TEXT,
    revoked_at TIMESTAMPTZ,
    revoke_reason TEXT
);
-- At most one open (proposed or confirmed) classification per business and type.
CREATE UNIQUE INDEX featured_open ON featured_classifications (uscc, featured_type)
    WHERE status IN ('proposed', 'confirmed');
CREATE INDEX featured_division ON featured_classifications (division, status);
CREATE INDEX featured_uscc ON featured_classifications (uscc, id);

-- Support measures (扶持措施) given to a classified business. Amounts in fen (0.01 yuan).
CREATE TABLE featured_support (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uscc TEXT COLLATE "C" NOT NULL,
    division TEXT COLLATE "C" NOT NULL,
    kind TEXT NOT NULL,
    support_date DATE NOT NULL,
    amount_fen BIGINT,
    note TEXT NOT NULL,
    recorded_by_name TEXT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX featured_support_uscc ON featured_support (uscc, id);
CREATE INDEX featured_support_division ON featured_support (division);
