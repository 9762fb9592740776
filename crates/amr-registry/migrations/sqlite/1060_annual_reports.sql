-- Annual reports (年度报告, 企业信息公示暂行条例 arts. 8, 9) and the abnormal-operation list
-- (经营异常名录, art. 17) with the serious-violation list (SQLite). Mirrors
-- ../postgres/1060_annual_reports.sql; keep both in step. Dates are `YYYY-MM-DD` text here.

-- One report per entity and year; a correction replaces `content` and keeps the earlier one in
-- `annual_report_versions`. `content` is the whole report as filed (JSON, see
-- amr_registry::annual::model::Report); `published` the optional item keys the entity chose to
-- publish (JSON array); `form` is `enterprise` or `individual`.
CREATE TABLE annual_reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uscc TEXT NOT NULL,
    division TEXT NOT NULL,
    year INTEGER NOT NULL,
    form TEXT NOT NULL,
    content TEXT NOT NULL,
    published TEXT NOT NULL,
    late INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 1,
    filed_on TEXT NOT NULL,
    filed_at TEXT NOT NULL,
    filed_by TEXT NOT NULL,
    corrected_at TEXT
);
CREATE UNIQUE INDEX annual_reports_entity_year ON annual_reports (uscc, year);
CREATE INDEX annual_reports_year ON annual_reports (year, uscc);

CREATE TABLE annual_report_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id INTEGER NOT NULL REFERENCES annual_reports (id),
    version INTEGER NOT NULL,
    content TEXT NOT NULL,
    published TEXT NOT NULL,
    filed_at TEXT NOT NULL,
    filed_by TEXT NOT NULL
);
CREATE INDEX annual_report_versions_report ON annual_report_versions (report_id, version);

-- Listings on the abnormal-operation list. ground: no_annual_report | instant_info |
-- false_info | unreachable. state: listed | removed | transferred (moved to the
-- serious-violation list). `year` is the report year for the first ground.
CREATE TABLE abnormal_listings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uscc TEXT NOT NULL,
    division TEXT NOT NULL,
    name TEXT NOT NULL,
    ground TEXT NOT NULL,
    year INTEGER,
    reason TEXT NOT NULL,
    basis TEXT NOT NULL,
    decision_no TEXT NOT NULL,
    listed_on TEXT NOT NULL,
    listed_by TEXT NOT NULL,
    state TEXT NOT NULL,
    warned_on TEXT,
    removal_ground TEXT,
    removal_note TEXT,
    removal_decision_no TEXT,
    removed_on TEXT,
    removed_by TEXT,
    transferred_on TEXT
);
-- The sweep lists an entity once per report year, however often it runs.
CREATE UNIQUE INDEX abnormal_listings_report_year ON abnormal_listings (uscc, year)
    WHERE ground = 'no_annual_report';
CREATE INDEX abnormal_listings_uscc ON abnormal_listings (uscc, id);
CREATE INDEX abnormal_listings_listed ON abnormal_listings (state, listed_on);
CREATE UNIQUE INDEX abnormal_listings_decision ON abnormal_listings (decision_no);

-- The serious-violation list (严重违法失信名单): entities still on the abnormal list 3 years on.
CREATE TABLE serious_violations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uscc TEXT NOT NULL,
    division TEXT NOT NULL,
    listing_id INTEGER NOT NULL REFERENCES abnormal_listings (id),
    reason TEXT NOT NULL,
    basis TEXT NOT NULL,
    decision_no TEXT NOT NULL,
    listed_on TEXT NOT NULL,
    state TEXT NOT NULL
);
CREATE UNIQUE INDEX serious_violations_listing ON serious_violations (listing_id);
CREATE INDEX serious_violations_uscc ON serious_violations (uscc, id);

-- Gapless decision numbers per kind and year.
CREATE TABLE abnormal_numbers (
    kind TEXT NOT NULL,
    year INTEGER NOT NULL,
    last INTEGER NOT NULL,
    PRIMARY KEY (kind, year)
);

-- The no-report sweep of each report year: where it got to (`cursor`, the last USCC done, so
-- a restarted server resumes) and when it finished (a finished year is not scanned again).
CREATE TABLE abnormal_sweeps (
    year INTEGER PRIMARY KEY,
    cursor TEXT NOT NULL,
    listed INTEGER NOT NULL,
    started_on TEXT NOT NULL,
    completed_on TEXT
);
