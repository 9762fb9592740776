-- Complaints (投诉), reports (举报) and requests for help (咨询求助): each is also a matter of
-- kind complaint / report / help in the kernel's matter tables; this row holds what the
-- complainant gave (personal data: officers and the complainant only, never public) and the
-- figures the statistics and the ODR response rates are counted from.

CREATE TABLE complaints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    matter_number TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    -- form | api | open311
    source TEXT NOT NULL,
    -- the matter's jurisdiction (a county), kept in step with the matter
    division TEXT NOT NULL,
    uscc TEXT,
    business_name TEXT NOT NULL,
    business_address TEXT,
    complainant_name TEXT NOT NULL,
    phone TEXT NOT NULL,
    purchase TEXT NOT NULL,
    purchase_date TEXT,
    amount_fen INTEGER,
    facts TEXT NOT NULL,
    claim TEXT NOT NULL,
    -- SHA-256 of phone + business + normalized facts; open_dup_key holds it while open
    dup_key TEXT NOT NULL,
    open_dup_key TEXT UNIQUE,
    -- mirrors of the matter's state and earliest due date (the queue sorts by them)
    state TEXT NOT NULL,
    due_on TEXT,
    odr INTEGER NOT NULL,
    odr_due_on TEXT,
    -- settled | refused | timeout (the business's answer in ODR)
    odr_result TEXT,
    odr_answered_on TEXT,
    settlement TEXT,
    settlement_fen INTEGER,
    consumer_refused INTEGER NOT NULL,
    outcome TEXT,
    recovered_fen INTEGER,
    year INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    closed_at TEXT
);
CREATE INDEX complaints_queue ON complaints (division, due_on);
CREATE INDEX complaints_uscc ON complaints (uscc, year);
CREATE INDEX complaints_created ON complaints (created_at);
CREATE INDEX complaints_odr_open ON complaints (odr_due_on) WHERE state = 'odr';

-- Enterprises that joined online dispute resolution (ODR): complaints about them go to them
-- first.
CREATE TABLE odr_enterprises (
    uscc TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    division TEXT NOT NULL,
    active INTEGER NOT NULL,
    joined_on TEXT NOT NULL,
    left_on TEXT,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX odr_enterprises_division ON odr_enterprises (division, uscc);
