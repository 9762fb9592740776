-- Address service schema (SQLite). Mirrors ../postgres/2000_address.sql; keep both in step.
-- Dates are `YYYY-MM-DD` text here and DATE on PostgreSQL; timestamps are UTC.

-- The standard address library (标准地址库), per prefecture city (4-digit code). `match_key`
-- is `city|road|number|building` built from the parsed entry (see `amr_address::key`); an
-- active key is unique. `road_num` is the number's digits, for the nearest-number search.
CREATE TABLE address_library (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    city TEXT NOT NULL,
    county_code TEXT NOT NULL,
    town_code TEXT,
    road TEXT NOT NULL,
    road_no TEXT NOT NULL,
    road_num INTEGER,
    building TEXT,
    address_type TEXT,
    full_address TEXT NOT NULL,
    match_key TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    retired_at TEXT,
    retired_by TEXT,
    retired_reason TEXT
);
CREATE UNIQUE INDEX address_library_key ON address_library (match_key) WHERE retired_at IS NULL;
CREATE INDEX address_library_road ON address_library (city, road, road_num);
CREATE INDEX address_library_building ON address_library (city, building);
CREATE INDEX address_library_county ON address_library (county_code, id);

-- The negative list (负面清单). `kind`: division | road | building | pattern | type.
-- `division` is the division-code prefix the rule applies in ('' = everywhere); for a
-- division rule it is the rule's value. `industries`: comma-separated GB/T 4754 code prefixes
-- the rule is limited to (NULL = every industry).
CREATE TABLE address_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    division TEXT NOT NULL,
    industries TEXT,
    reason TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_until TEXT,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    ended_at TEXT,
    ended_by TEXT
);
CREATE INDEX address_rules_division ON address_rules (division, id);

-- Declaration-commitment (承诺制): the applicant commits an address that is not in the
-- library is true; it waits for verification (status pending | verified | false).
CREATE TABLE address_commitments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    address TEXT NOT NULL,
    normalized TEXT,
    match_key TEXT NOT NULL,
    division TEXT NOT NULL,
    applicant TEXT NOT NULL,
    uscc TEXT,
    committed_at TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    status TEXT NOT NULL,
    verified_at TEXT,
    verified_by TEXT,
    note TEXT
);
CREATE INDEX address_commitments_status ON address_commitments (status, division, id);

-- False-address risk: one row per registered entity (what the registry told us), and one
-- row per address key with the counts. `abnormal` stays false until the abnormal-operations
-- list (经营异常名录) exists.
CREATE TABLE address_risk_entities (
    uscc TEXT PRIMARY KEY,
    risk_key TEXT NOT NULL,
    city TEXT NOT NULL,
    address TEXT NOT NULL,
    division TEXT NOT NULL,
    registered_on TEXT NOT NULL,
    status TEXT NOT NULL,
    abnormal INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);
CREATE INDEX address_risk_entities_key ON address_risk_entities (risk_key);

CREATE TABLE address_risk (
    risk_key TEXT PRIMARY KEY,
    city TEXT NOT NULL,
    division TEXT NOT NULL,
    address TEXT NOT NULL,
    entity_count INTEGER NOT NULL DEFAULT 0,
    first_registered TEXT,
    last_registered TEXT,
    inactive_count INTEGER NOT NULL DEFAULT 0,
    abnormal_count INTEGER NOT NULL DEFAULT 0,
    cluster INTEGER NOT NULL DEFAULT 0,
    cluster_note TEXT,
    review_state TEXT NOT NULL DEFAULT 'none',
    reviewed_count INTEGER NOT NULL DEFAULT 0,
    review_note TEXT,
    reviewed_by TEXT,
    reviewed_at TEXT
);
CREATE INDEX address_risk_city ON address_risk (city, entity_count);
CREATE INDEX address_risk_review ON address_risk (review_state, division);

-- Settings of the address service (`risk_threshold`).
CREATE TABLE address_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
