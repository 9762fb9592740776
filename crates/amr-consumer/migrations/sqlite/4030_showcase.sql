-- Demonstration units (放心消费示范单位): application, review, public notice with objections,
-- award, yearly re-check, removal. The unit's state lives on its row; every step is a row of
-- showcase_history (the unit's timeline).

CREATE TABLE showcase_units (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uscc TEXT NOT NULL,
    name TEXT NOT NULL,
    division TEXT NOT NULL,
    category TEXT NOT NULL,
    address TEXT NOT NULL,
    statement TEXT NOT NULL,
    -- applied | notice | rejected | awarded | removed
    state TEXT NOT NULL,
    notice_from TEXT,
    notice_until TEXT,
    award_year INTEGER,
    award_seq INTEGER,
    award_no TEXT UNIQUE,
    awarded_on TEXT,
    recheck_due TEXT,
    last_recheck TEXT,
    ended_on TEXT,
    end_reason TEXT,
    -- complaint matter numbers named by a removal, joined with ","
    removal_complaints TEXT,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (award_year, award_seq)
);
-- one application or title in progress per business
CREATE UNIQUE INDEX showcase_units_open ON showcase_units (uscc) WHERE state IN ('applied', 'notice', 'awarded');
CREATE INDEX showcase_units_state ON showcase_units (state, division, id);
CREATE INDEX showcase_units_recheck ON showcase_units (recheck_due) WHERE state = 'awarded';

CREATE TABLE showcase_objections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    unit_id INTEGER NOT NULL REFERENCES showcase_units (id),
    reason TEXT NOT NULL,
    -- the objector's contact (personal data: officers only)
    contact TEXT,
    -- open | upheld | dismissed
    status TEXT NOT NULL,
    resolution TEXT,
    resolved_by TEXT,
    resolved_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX showcase_objections_unit ON showcase_objections (unit_id, id);

CREATE TABLE showcase_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    unit_id INTEGER NOT NULL REFERENCES showcase_units (id),
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    detail TEXT NOT NULL,
    on_day TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX showcase_history_unit ON showcase_history (unit_id, id);
