-- The complaint path finished: the category (投诉分类), the day filed and the month it counts
-- in, the working days to acceptance and to the close (kept at the act, so the dashboard
-- averages without a calendar in SQL); the notices of decisions to the complainant; the
-- enterprises' statements on their statistics before publication; per-county monthly
-- counters for the officers' dashboard (maintained in the transaction of each act).

ALTER TABLE complaints ADD COLUMN category TEXT;
ALTER TABLE complaints ADD COLUMN filed_on TEXT;
-- YYYYMM of filed_on
ALTER TABLE complaints ADD COLUMN month INTEGER;
ALTER TABLE complaints ADD COLUMN accepted_on TEXT;
-- working days from filed_on to acceptance / to the close
ALTER TABLE complaints ADD COLUMN accept_wd INTEGER;
ALTER TABLE complaints ADD COLUMN close_wd INTEGER;
-- YYYYMM of the close counted in complaint_monthly (so a reopening takes it back)
ALTER TABLE complaints ADD COLUMN closed_month INTEGER;
-- the money counted as recovered at that close (fen)
ALTER TABLE complaints ADD COLUMN counted_fen INTEGER;

UPDATE complaints SET filed_on = date(created_at, '+8 hours'),
    month = CAST(strftime('%Y%m', created_at, '+8 hours') AS INTEGER),
    closed_month = CASE WHEN closed_at IS NULL THEN NULL
        ELSE CAST(strftime('%Y%m', closed_at, '+8 hours') AS INTEGER) END,
    counted_fen = CASE WHEN closed_at IS NULL THEN NULL
        ELSE COALESCE(recovered_fen, 0) + COALESCE(
            CASE WHEN outcome = 'odr_settled' THEN settlement_fen END, 0) END;

CREATE INDEX complaints_uscc_month ON complaints (uscc, month);
-- The officers' queue reads open matters only: a year's 1.65 million rows hold a few
-- thousand open ones.
CREATE INDEX complaints_open ON complaints (due_on, id) WHERE closed_at IS NULL;

-- One row per decision the complainant is told of (shown on the tracking page; sms_sent_at
-- is for an SMS gateway a deployment wires, none is built).
CREATE TABLE complaint_notices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    matter_number TEXT NOT NULL,
    what TEXT NOT NULL,
    zh TEXT NOT NULL,
    en TEXT NOT NULL,
    created_at TEXT NOT NULL,
    sms_sent_at TEXT
);
CREATE INDEX complaint_notices_matter ON complaint_notices (matter_number, id);

-- An enterprise's answer to its statistics of one period (2026-09, 2026-Q3, 2026), given in
-- the review window before publication and shown beside the figures after.
CREATE TABLE complaint_statements (
    uscc TEXT NOT NULL,
    period TEXT NOT NULL,
    statement TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (uscc, period)
);

-- Per county and month: received (filed that month), accepted and closed that month with
-- the sums of their working days, money recovered at the closes of that month (fen).
CREATE TABLE complaint_monthly (
    division TEXT NOT NULL,
    month INTEGER NOT NULL,
    received INTEGER NOT NULL,
    accepted INTEGER NOT NULL,
    accept_wd_sum INTEGER NOT NULL,
    closed INTEGER NOT NULL,
    close_wd_sum INTEGER NOT NULL,
    close_wd_n INTEGER NOT NULL,
    recovered_fen INTEGER NOT NULL,
    PRIMARY KEY (division, month)
);
CREATE INDEX complaint_monthly_month ON complaint_monthly (month, division);

INSERT INTO complaint_monthly (division, month, received, accepted, accept_wd_sum, closed,
    close_wd_sum, close_wd_n, recovered_fen)
SELECT division, month, SUM(n), 0, 0, SUM(c), 0, 0, SUM(r) FROM (
    SELECT division, month, COUNT(*) AS n, 0 AS c, 0 AS r FROM complaints GROUP BY division, month
    UNION ALL
    SELECT division, closed_month, 0, COUNT(*), SUM(counted_fen)
    FROM complaints WHERE closed_month IS NOT NULL GROUP BY division, closed_month
) t GROUP BY division, month;
